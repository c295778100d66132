"""Sparse Jacobians: fastdiff.jacobian(sparsity=P) beside scipy's approx_derivative(sparsity=).

The function is the residual of a discretised 1-D boundary-value problem, u'' = exp(u) on
(0, 1) with u(0) = u(1) = 0 and n = 2000 interior nodes (central second differences): its
Jacobian is tridiagonal, so three colours serve any n. Implementations:

* ``fastdiff``: ``jacobian(f, u, sparsity=P)``, an error bar and status per entry;
* ``scipy_approx_derivative``: ``scipy.optimize._numdiff.approx_derivative(f, u,
  method="3-point", sparsity=P)`` (SciPy's colouring, one fixed step, no error estimate; SciPy
  has no public name for it). Looped only: it has no vectorized mode;
* ``fastdiff_dense``: ``jacobian(f, u)`` without the pattern (n columns);
* ``hand_coloured``: the floor, three central differences along the three colour directions
  with one fixed step, written by hand for this pattern (no error estimate).

``track_colours`` and ``track_nfev`` count colours and evaluations (a vectorized call counts
its k points); ``track_max_error`` is the largest |df - exact| over the pattern.
"""

from __future__ import annotations

import numpy as np

import fastdiff

try:
    import scipy.sparse as sp
    from scipy.optimize._numdiff import approx_derivative
except ImportError:
    sp = approx_derivative = None

from .common import require

N = 2000
MODES = ["vectorized", "looped"]
IMPLS = ["fastdiff", "scipy_approx_derivative", "fastdiff_dense", "hand_coloured"]


def residual(u):
    """u of shape (n,) or (n, k): the residual, same shape."""
    c = (u.shape[0] + 1.0) ** 2
    z = np.zeros_like(u[:1])
    up = np.concatenate((z, u, z))
    return (up[:-2] - 2 * u + up[2:]) * c - np.exp(u)


def exact_band(u):
    """The exact Jacobian's (sub, main, super) diagonals."""
    c = (u.size + 1.0) ** 2
    return np.full(u.size - 1, c), -2 * c - np.exp(u), np.full(u.size - 1, c)


class Counting:
    def __init__(self):
        self.count = 0

    def __call__(self, u):
        self.count += 1 if u.ndim == 1 else u.shape[1]
        return residual(u)


def hand_coloured(f, u, vectorized):
    """Three colours j mod 3, one central difference each (step eps^(1/3) max(1, |u|))."""
    h = np.finfo(np.float64).eps ** (1 / 3) * max(1.0, float(np.max(np.abs(u))))
    n = u.size
    D = np.zeros((3, n))
    for c in range(3):
        D[c, c::3] = h
    if vectorized:
        Y = f(np.concatenate((u[:, None] + D.T, u[:, None] - D.T), axis=1))
        diffs = (Y[:, :3] - Y[:, 3:]).T / (2 * h)
    else:
        diffs = np.array([(f(u + D[c]) - f(u - D[c])) / (2 * h) for c in range(3)])
    rows = np.arange(n)
    sub = diffs[(rows[1:] - 1) % 3, rows[1:]]  # J[i, i-1]: colour of column i-1
    main = diffs[rows % 3, rows]
    sup = diffs[(rows[:-1] + 1) % 3, rows[:-1]]
    return sp.diags([sub, main, sup], offsets=[-1, 0, 1], format="csr")


class SparseBVP2000:
    """The tridiagonal Jacobian of a 1-D BVP residual with n = 2000 unknowns."""

    params = (MODES, IMPLS)
    param_names = ["mode", "implementation"]
    timeout = 300

    def setup(self, mode, impl):
        require(sp, "scipy")
        if impl == "scipy_approx_derivative" and mode == "vectorized":
            raise NotImplementedError("approx_derivative has no vectorized mode")
        self.u = np.sin(np.linspace(0.1, 3.0, N))
        self.P = sp.diags([1, 1, 1], offsets=[-1, 0, 1], shape=(N, N), dtype=bool, format="csr")
        self.vec = mode == "vectorized"

    def run(self, f):
        u, P, vec = self.u, self.P, self.vec
        impl = self.impl
        if impl == "fastdiff":
            return fastdiff.jacobian(f, u, sparsity=P, vectorized=vec).df
        if impl == "fastdiff_dense":
            return fastdiff.jacobian(f, u, vectorized=vec).df
        if impl == "hand_coloured":
            return hand_coloured(f, u, vec)
        return approx_derivative(f, u, method="3-point", sparsity=P)

    def time_jacobian(self, mode, impl):
        self.impl = impl
        self.run(residual)

    def track_nfev(self, mode, impl):
        self.impl = impl
        f = Counting()
        self.run(f)
        return f.count

    def track_max_error(self, mode, impl):
        self.impl = impl
        J = self.run(residual)
        exact = sp.diags(list(exact_band(self.u)), offsets=[-1, 0, 1]).toarray()
        J = J.toarray() if hasattr(J, "toarray") else np.asarray(J)
        return float(np.max(np.abs(J - exact)[self.P.toarray()]))

    def track_colours(self, mode, impl):
        if impl != "fastdiff":
            raise NotImplementedError("colours are fastdiff's")
        from fastdiff import _sparse

        shape, rows, cols = _sparse.pattern(self.P)
        return _sparse.colour_columns(shape, rows, cols)[1]
