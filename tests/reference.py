"""Slow, obvious oracles for the kernels (shared/STYLE.md B8.1).

Nothing here is clever: the finite-difference weights are the solution of the moment system

    sum_j w[j] * offsets[j]**k = k! * (k == n),    k = 0 .. m-1,

solved either exactly in rational arithmetic (``exact_weights``) or with one NumPy solve
(``vandermonde_weights``).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from math import factorial

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "central_first_derivative_weights",
    "exact_weights",
    "fixed_step_estimate",
    "stencil_offsets",
    "vandermonde_weights",
]


def exact_weights(offsets: Sequence[int | float | Fraction], n: int) -> list[Fraction]:
    """Weights of the n-th derivative as exact fractions (Gauss-Jordan on the moment system).

    Float offsets are converted exactly (``Fraction(0.1)`` is the binary value of 0.1).
    """
    x = [Fraction(v) for v in offsets]
    m = len(x)
    if len(set(x)) != m:
        raise ValueError("offsets must be distinct")
    if not 0 <= n < m:
        raise ValueError("need 0 <= n < len(offsets)")
    # Augmented matrix [V | b]: row k is x_j**k, right-hand side k! * (k == n).
    rows = [[xj**k for xj in x] + [Fraction(factorial(n) if k == n else 0)] for k in range(m)]
    for col in range(m):
        pivot = next(r for r in range(col, m) if rows[r][col] != 0)
        rows[col], rows[pivot] = rows[pivot], rows[col]
        p = rows[col][col]
        rows[col] = [v / p for v in rows[col]]
        for r in range(m):
            if r != col and rows[r][col] != 0:
                f = rows[r][col]
                rows[r] = [a - f * b for a, b in zip(rows[r], rows[col], strict=True)]
    return [rows[j][m] for j in range(m)]


def vandermonde_weights(offsets: Sequence[float], n: int) -> NDArray[np.float64]:
    """The same weights from one float64 solve of the (ill-conditioned) Vandermonde system."""
    x = np.asarray(offsets, dtype=np.float64)
    m = x.size
    v = x[np.newaxis, :] ** np.arange(m)[:, np.newaxis]
    b = np.zeros(m)
    b[n] = factorial(n)
    return np.linalg.solve(v, b)


def central_first_derivative_weights(p: int) -> dict[int, Fraction]:
    """Closed form of the (2p+1)-point central first-derivative weights, keyed by offset.

    w[k] = (-1)**(k+1) * (p!)**2 / (k * (p-k)! * (p+k)!) for k = 1..p, w[-k] = -w[k], w[0] = 0
    (Fornberg 1988, Table 1; an oracle independent of any linear solve).
    """
    w = {0: Fraction(0)}
    for k in range(1, p + 1):
        wk = Fraction((-1) ** (k + 1) * factorial(p) ** 2, k * factorial(p - k) * factorial(p + k))
        w[k], w[-k] = wk, -wk
    return w


def stencil_offsets(side: str, n: int, order: int) -> list[int]:
    """The offsets (units of h) of fastdiff's `side` stencil of accuracy `order` for f^(n), as
    its docs state them: central -r..r with r = (n + 1) // 2 + order // 2 - 1, forward
    0..n+order-1, backward the negatives of forward."""
    if side == "central":
        r = (n + 1) // 2 + order // 2 - 1
        return list(range(-r, r + 1))
    sign = 1 if side == "forward" else -1
    return [sign * k for k in range(n + order)]


def fixed_step_estimate(
    f, x: float, h: float, n: int, side: str, order: int
) -> tuple[float, float]:
    """The fixed-step formula at one point, the slow way: exact rational weights on the
    stencil, applied with the spacing s = (x + h) - x that x + h really has (the step fastdiff
    documents as the divisor), and summed in float.

    Returns (estimate, rounding bound of the sum): sum |w_j f_j| * (m + 1) eps / s^n, where
    m is the number of terms; NaN estimate if any f value is not finite."""
    offsets = stencil_offsets(side, n, order)
    w = exact_weights(offsets, n)
    s = (x + h) - x
    vals = [float(f(x + c * s)) if c else float(f(x)) for c in offsets]
    if not all(np.isfinite(vals)):
        return float("nan"), float("nan")
    terms = [float(wj) * v for wj, v in zip(w, vals, strict=True) if wj != 0]
    eps = np.finfo(np.float64).eps
    est = float(np.sum(terms)) / s**n
    bound = (len(terms) + 1) * eps * float(np.sum(np.abs(terms))) / abs(s) ** n
    return est, bound
