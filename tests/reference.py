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

__all__ = ["central_first_derivative_weights", "exact_weights", "vandermonde_weights"]


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
