"""Finite-difference stencils: offsets, weights, and the public `fd_weights` helper."""

from __future__ import annotations

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
