"""Finite-difference stencils: offsets, weights, and the public `fd_weights` helper."""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from math import factorial
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fastdiff._kernels import _finite_diff
from fastdiff._validation import check_int, check_real_array, fail

__all__ = ["fd_weights"]


def fd_weights(offsets: ArrayLike, n: int = 1) -> NDArray[np.float64]:
    """Finite-difference weights for the n-th derivative on an arbitrary stencil.

    Parameters
    ----------
    offsets : float array_like, shape (m,)
        Distinct, finite stencil offsets in units of the step ``h``.
    n : int, default: 1
        Derivative order, ``0 <= n < m``.

    Returns
    -------
    w : ndarray of float64, shape (m,)
        Weights such that ``sum(w[i] * f(x + offsets[i]*h)) / h**n`` approximates
        ``f^(n)(x)``, exactly for polynomials of degree ``<= m - 1``.

    Raises
    ------
    ValueError
        If `offsets` is empty, not 1-D, non-finite or has duplicates, or if `n` is not an
        integer with ``0 <= n < len(offsets)``.
    TypeError
        If `offsets` is complex or not numeric.

    See Also
    --------
    derivative : adaptive derivatives built on these weights.

    Notes
    -----
    Computed with Fornberg's recursion [1]_, in O(m² n) operations and without solving the
    ill-conditioned Vandermonde system for the moment conditions
    ``sum(w[i] * offsets[i]**k) = k! * (k == n)``, k = 0 .. m-1.

    References
    ----------
    .. [1] B. Fornberg, "Generation of finite difference formulas on arbitrarily spaced
       grids", Math. Comp. 51 (1988), 699-706.

    Examples
    --------
    The classic 5-point central first derivative, and a one-sided second derivative:

    >>> import numpy as np
    >>> import fastdiff as fd
    >>> fd.fd_weights([-2, -1, 0, 1, 2], n=1) * 12
    array([ 1., -8.,  0.,  8., -1.])
    >>> fd.fd_weights([0, 1, 2, 3], n=2)
    array([ 2., -5.,  4., -1.])

    Applied to ``exp`` at 0 with ``h = 1e-2`` (the exact derivative is 1):

    >>> h = 1e-2
    >>> w = fd.fd_weights([-2, -1, 0, 1, 2])
    >>> bool(abs(w @ np.exp(np.array([-2, -1, 0, 1, 2]) * h) / h - 1.0) < 1e-9)
    True
    """
    x = check_real_array("offsets", offsets)
    if x.ndim != 1 or x.size == 0:
        raise fail("offsets", "a non-empty 1-D sequence", offsets)
    n = check_int("n", n, 0, f"an integer with 0 <= n < len(offsets) = {x.size}")
    if n >= x.size:
        raise fail("n", f"an integer with 0 <= n < len(offsets) = {x.size}", n)
    check, w = _finite_diff.fornberg_weights(x, n)
    if check == _finite_diff.OFFSETS_NONFINITE:
        raise fail("offsets", "finite", offsets)
    if check == _finite_diff.OFFSETS_REPEATED:
        raise fail("offsets", "distinct (no repeated offset)", offsets)
    return w[n]


class Stencil(NamedTuple):
    """A finite-difference formula for f^(n): the offsets f is evaluated at (f(x) apart)."""

    offsets: tuple[float, ...]  # in units of h, none zero
    weights: tuple[float, ...]
    w0: float  # weight of f(x)
    order: int  # leading truncation error ~ h^order
    order_step: int  # the error expansion runs order, order + order_step, ...


@lru_cache(maxsize=256)
def stencil(side: str, n: int, order: int) -> Stencil:
    """The shortest `side` stencil of accuracy `order` for the n-th derivative.

    central: offsets -r..r with r = (n + 1) // 2 + order // 2 - 1; the error expansion is even
    in h.  forward/backward: offsets 0..n+order-1 (negated for backward).  Offsets +1 and -1
    come first, as the central kink test reads them there.
    """
    if side == "central":
        r = (n + 1) // 2 + order // 2 - 1
        grid = np.arange(-r, r + 1, dtype=np.float64)
        step = 2
    else:
        grid = np.arange(n + order, dtype=np.float64) * (1.0 if side == "forward" else -1.0)
        step = 1
    w = _finite_diff.fornberg_weights(grid, n)[1][n]
    nonzero = sorted((c for c in grid if c != 0), key=lambda c: (abs(c), -c))
    w0 = 0.0 if side == "central" and n % 2 == 1 else float(w[grid == 0][0])
    by_offset = dict(zip(grid.tolist(), w.tolist(), strict=True))
    return Stencil(
        tuple(float(c) for c in nonzero), tuple(by_offset[c] for c in nonzero), w0, order, step
    )


@lru_cache(maxsize=256)
def weight_error(st: Stencil, n: int) -> float:
    """The largest relative error of st's float weights (w0 included) against the exact
    rational weights of its offsets (the moment system solved in fractions): 0 for the
    common stencils, whose weights are dyadic; a few ulp where Fornberg's recursion rounds.
    Feeds the ladder's rounding bound."""
    pts = [Fraction(0)] + [Fraction(o) for o in st.offsets]
    ws = [st.w0, *st.weights]
    m = len(pts)
    rows = [[p**k for p in pts] + [Fraction(factorial(n) if k == n else 0)] for k in range(m)]
    for col in range(m):  # Gauss-Jordan, exact
        piv = next(r for r in range(col, m) if rows[r][col] != 0)
        rows[col], rows[piv] = rows[piv], rows[col]
        rows[col] = [v / rows[col][col] for v in rows[col]]
        for r in range(m):
            if r != col and rows[r][col] != 0:
                fac = rows[r][col]
                rows[r] = [a - fac * b for a, b in zip(rows[r], rows[col], strict=True)]
    err = 0.0
    for j in range(m):
        exact = rows[j][m]
        if exact != 0:
            err = max(err, float(abs((Fraction(ws[j]) - exact) / exact)))
        elif ws[j] != 0:
            return float("inf")  # a weight that should vanish: not this stencil's formula
    return err
