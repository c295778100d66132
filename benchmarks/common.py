"""Shared inputs and guarded imports of the peers that benchmarks compare against.

Every peer is optional: a missing one is ``None``, and a benchmark that needs it raises
``NotImplementedError`` in ``setup`` so asv reports it as skipped instead of failing.
"""

from __future__ import annotations

from fractions import Fraction
from math import factorial

import numpy as np

try:
    import numdifftools
    import numdifftools.fornberg
except ImportError:
    numdifftools = None

try:
    import findiff
except ImportError:
    findiff = None

try:
    import scipy
    import scipy.differentiate
except ImportError:
    scipy = None

try:
    import jax
except ImportError:
    jax = None

try:
    import autograd
except ImportError:
    autograd = None

try:
    import ad
except ImportError:
    ad = None

try:
    import num_dual
except ImportError:
    num_dual = None

try:
    import jacobi
except ImportError:
    jacobi = None

#: Stencil sizes of the central first-derivative benchmarks (accuracy orders 4, 8, 16).
CENTRAL_POINTS = [5, 9, 17]


def require(module, name: str):
    """Return `module`, or skip the benchmark (asv: NotImplementedError in setup) if missing."""
    if module is None:
        raise NotImplementedError(f"{name} is not installed")
    return module


def central_offsets(points: int) -> np.ndarray:
    """The integer offsets -p..p of a (2p+1)-point central stencil, as float64."""
    p = points // 2
    return np.arange(-p, p + 1, dtype=np.float64)


def exact_central_first_derivative(points: int) -> np.ndarray:
    """Closed-form central first-derivative weights, rounded once from exact fractions.

    w[+-k] = +-(-1)**(k+1) (p!)**2 / (k (p-k)! (p+k)!)   (Fornberg 1988, Table 1)
    """
    p = points // 2
    w = [Fraction(0)] * (2 * p + 1)
    for k in range(1, p + 1):
        wk = Fraction((-1) ** (k + 1) * factorial(p) ** 2, k * factorial(p - k) * factorial(p + k))
        w[p + k], w[p - k] = wk, -wk
    return np.array([float(v) for v in w])


def vandermonde_weights(offsets: np.ndarray, n: int) -> np.ndarray:
    """Pure-NumPy baseline: solve the moment (Vandermonde) system directly."""
    m = offsets.size
    v = offsets[np.newaxis, :] ** np.arange(m)[:, np.newaxis]
    b = np.zeros(m)
    b[n] = factorial(n)
    return np.linalg.solve(v, b)
