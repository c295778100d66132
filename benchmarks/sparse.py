"""Sparse Jacobians and Hessians: fastdiff.jacobian(sparsity=P) beside scipy's
approx_derivative(sparsity=), and fastdiff.hessian(sparsity=P) (see SparseRosenbrockHessian500).

The function is the residual of a discretised 1-D boundary-value problem, u'' = exp(u) on
(0, 1) with u(0) = u(1) = 0 and n = 2000 interior nodes (central second differences): its
Jacobian is tridiagonal, so three colours serve any n. Implementations:

* ``fastdiff``: ``jacobian(f, u, sparsity=P)``, an error bar and status per entry;
* ``fastdiff_dual``: ``jacobian(f, u, sparsity=P, method="dual")``: one call of f on a
  DualArray with one partial per colour gives J D (exact to rounding), one more call its
  rounding bound; looped only (f runs on DualArrays, ``vectorized`` has no meaning);
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
    from scipy.optimize import rosen, rosen_der, rosen_hess
    from scipy.optimize._numdiff import approx_derivative
except ImportError:
    sp = approx_derivative = rosen = rosen_der = rosen_hess = None

from .common import require

N = 2000
MODES = ["vectorized", "looped"]
IMPLS = ["fastdiff", "fastdiff_dual", "scipy_approx_derivative", "fastdiff_dense", "hand_coloured"]


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
        if impl == "fastdiff_dual" and mode == "vectorized":
            raise NotImplementedError("method='dual' calls f on DualArrays: one mode")
        self.u = np.sin(np.linspace(0.1, 3.0, N))
        self.P = sp.diags([1, 1, 1], offsets=[-1, 0, 1], shape=(N, N), dtype=bool, format="csr")
        self.vec = mode == "vectorized"

    def run(self, f):
        u, P, vec = self.u, self.P, self.vec
        impl = self.impl
        if impl == "fastdiff":
            return fastdiff.jacobian(f, u, sparsity=P, vectorized=vec).df
        if impl == "fastdiff_dual":
            return fastdiff.jacobian(f, u, sparsity=P, method="dual").df
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
        if impl not in ("fastdiff", "fastdiff_dual"):
            raise NotImplementedError("colours are fastdiff's")
        from fastdiff import _sparse

        shape, rows, cols = _sparse.pattern(self.P)
        return _sparse.colour_columns(shape, rows, cols)[1]


# --------------------------------------------------------------------------------------------
# Sparse Hessians
# --------------------------------------------------------------------------------------------

N_HESS = 500
HESS_IMPLS = [
    "fastdiff",
    "fastdiff_complex",
    "fastdiff_dual",
    "fastdiff_dense",
    "hand_floor",
    "scipy_approx_derivative_of_gradient",
]


def rosen_vectorized(x):
    """scipy's chained Rosenbrock for x of shape (n,) or (n, k)."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2, axis=0)


class CountingScalar:
    def __init__(self, f):
        self.f = f
        self.count = 0

    def __call__(self, x):
        self.count += 1 if x.ndim == 1 else x.shape[1]
        return self.f(x)


def hand_floor(f, x, vectorized):
    """The floor for a scalar f: one fixed-step central second difference per stored entry of
    the upper triangle, 2 (2n - 1) + 1 points in all (each evaluation of a scalar f gives one
    number, so no colouring needs fewer), step eps^(1/4) max(1, |x|); no error estimate."""
    n = x.size
    h = np.finfo(np.float64).eps ** 0.25 * max(1.0, float(np.max(np.abs(x))))
    i = np.arange(n)
    j = np.arange(n - 1)
    # columns: x, x +- h e_i (n each), x +- h (e_j + e_{j+1}) (n - 1 each)
    D = np.zeros((n, 1 + 2 * n + 2 * (n - 1)))
    D[i, 1 + i], D[i, 1 + n + i] = h, -h
    o = 1 + 2 * n
    D[j, o + j], D[j + 1, o + j] = h, h
    D[j, o + n - 1 + j], D[j + 1, o + n - 1 + j] = -h, -h
    X = x[:, None] + D
    if vectorized:
        y = f(X)
    else:
        y = np.array([f(X[:, c]) for c in range(X.shape[1])])
    f0, fp, fm = y[0], y[1 : 1 + n], y[1 + n : o]
    fpp, fmm = y[o : o + n - 1], y[o + n - 1 :]
    diag = (fp - 2 * f0 + fm) / h**2
    off = (fpp + fmm - fp[:-1] - fm[:-1] - fp[1:] - fm[1:] + 2 * f0) / (2 * h * h)
    return sp.diags([off, diag, off], offsets=[-1, 0, 1], format="csr")


class SparseRosenbrockHessian500:
    """The tridiagonal Hessian of scipy's chained Rosenbrock function, n = 500.

    * ``fastdiff``: ``hessian(f, x, sparsity=P)``: every stored entry its own ladder, error
      bar and status (a level costs two points per stored entry of the upper triangle);
    * ``fastdiff_complex``: ``hessian(f, x, sparsity=P, method="complex")``: the central
      ladders of the complex-step gradient along the 3 colours' directions (H D), each value
      of which costs n complex evaluations;
    * ``fastdiff_dual``: ``hessian(f, x, sparsity=P, method="dual")``: H D by second-order
      DualArrays, 8 coordinates and the 3 colour directions per call (63 calls), one more for
      the rounding bound; looped only (f runs on DualArrays);
    * ``fastdiff_dense``: ``hessian(f, x)`` without the pattern (n (n + 1) / 2 ladders);
    * ``hand_floor``: one fixed-step second difference per entry, 2 (2n - 1) + 1 points, the
      least a scalar f allows (no error estimate);
    * ``scipy_approx_derivative_of_gradient``: ``approx_derivative(rosen_der, x,
      sparsity=P)``, SciPy's colouring on the *analytic gradient*: more information than f
      alone gives (n numbers per call), so it is a different problem, shown for scale; looped
      only. numdifftools and scipy.differentiate are dense only (numdifftools' 10-D Hessian
      takes 3001 evaluations; at n = 500 it would take millions): not run.

    ``track_colours``: the colours of H D for complex and dual (star colouring, or the
    column colouring where it is no larger: 3 here). The finite-difference methods have no
    colours: a scalar f known only by its values gives one number per evaluation, so each
    stored entry keeps its own ladder (see fastdiff.hessian's Notes).
    """

    params = (MODES, HESS_IMPLS)
    param_names = ["mode", "implementation"]
    timeout = 600

    def setup(self, mode, impl):
        require(sp, "scipy")
        if impl == "scipy_approx_derivative_of_gradient" and mode == "vectorized":
            raise NotImplementedError("approx_derivative has no vectorized mode")
        if impl == "fastdiff_dual" and mode == "vectorized":
            raise NotImplementedError("method='dual' calls f on DualArrays: one mode")
        self.x = np.random.default_rng(0).uniform(-1.5, 1.5, N_HESS)
        self.P = sp.diags([1, 1, 1], offsets=[-1, 0, 1], shape=(N_HESS,) * 2, dtype=bool)
        self.vec = mode == "vectorized"
        self.f = rosen_vectorized if self.vec else rosen
        self.exact = np.asarray(rosen_hess(self.x))

    def run(self, impl, f=None):
        f = self.f if f is None else f
        x, P, vec = self.x, self.P, self.vec
        if impl == "fastdiff":
            return fastdiff.hessian(f, x, sparsity=P, vectorized=vec)
        if impl == "fastdiff_complex":
            return fastdiff.hessian(f, x, sparsity=P, vectorized=vec, method="complex")
        if impl == "fastdiff_dual":  # plain NumPy: runs on DualArrays (scipy's rosen does not)
            g = rosen_vectorized if f is self.f else f
            return fastdiff.hessian(g, x, sparsity=P, method="dual")
        if impl == "fastdiff_dense":
            return fastdiff.hessian(f, x, vectorized=vec)
        if impl == "hand_floor":
            return hand_floor(f, x, vec)
        return approx_derivative(rosen_der, x, method="3-point", sparsity=P)

    def time_hessian(self, mode, impl):
        self.run(impl)

    def track_nfev(self, mode, impl):
        if impl == "scipy_approx_derivative_of_gradient":
            g = CountingScalar(rosen_der)
            approx_derivative(g, self.x, method="3-point", sparsity=self.P)
            return g.count  # calls of the gradient (each n numbers)
        f = CountingScalar(rosen_vectorized if impl == "fastdiff_dual" else self.f)
        self.run(impl, f)
        return f.count

    def track_colours(self, mode, impl):
        if impl not in ("fastdiff_complex", "fastdiff_dual"):
            raise NotImplementedError("only complex and dual colour a Hessian")
        from fastdiff import _sparse

        _, rows, cols = _sparse.pattern(self.P)
        return _sparse.hessian_colouring(N_HESS, rows, cols)[1]

    def _errors(self, impl):
        out = self.run(impl)
        H = out.df if hasattr(out, "df") else out
        H = H.toarray() if hasattr(H, "toarray") else np.asarray(H)
        mask = self.P.toarray()
        return out, np.abs(H - self.exact)[mask], mask

    def track_max_error(self, mode, impl):
        return float(np.max(self._errors(impl)[1]))

    def track_max_error_over_true(self, mode, impl):
        _, err, mask = self._errors(impl)
        return float(np.max(err / np.abs(self.exact[mask])))  # no entry is zero here

    def track_max_error_over_bar(self, mode, impl):
        if not impl.startswith("fastdiff"):
            raise NotImplementedError("only fastdiff gives an error bar")
        out, err, mask = self._errors(impl)
        E = out.error.toarray() if hasattr(out.error, "toarray") else np.asarray(out.error)
        return float(np.max(err / E[mask]))


# --------------------------------------------------------------------------------------------
# The colourings alone
# --------------------------------------------------------------------------------------------


def _patterns(n):
    """Symmetric (n, n) bool patterns: tridiagonal, an arrowhead (one coordinate coupled to
    all), a band of half-width 2, and the 5-point Laplacian on a sqrt(n) x sqrt(n) grid."""
    i = np.arange(n)
    d = np.abs(i[:, None] - i[None, :])
    arrow = np.eye(n, dtype=bool)
    arrow[0, :] = arrow[:, 0] = True
    m = int(np.sqrt(n))
    g = np.arange(m * m).reshape(m, m)
    grid = np.eye(m * m, dtype=bool)
    for a, b in ((g[:, :-1], g[:, 1:]), (g[:-1, :], g[1:, :])):
        grid[a.ravel(), b.ravel()] = grid[b.ravel(), a.ravel()] = True
    return {"tridiagonal": d <= 1, "arrowhead": arrow, "band2": d <= 2, "grid5": grid}


class Colourings:
    """Colours of the Jacobian's column colouring (distance-1 on the column intersection
    graph) and of the Hessian's colouring for H D (star, or column where that is no
    larger), and the time to colour, for n = 2500 (a 50 x 50 grid)."""

    params = (["tridiagonal", "arrowhead", "band2", "grid5"],)
    param_names = ["pattern"]

    def setup(self, name):
        from fastdiff import _sparse

        self.sparse = _sparse
        mask = _patterns(2500)[name]
        r, c = np.nonzero(mask)
        self.n, self.rows, self.cols = mask.shape[0], r.astype(np.intp), c.astype(np.intp)

    def track_jacobian_colours(self, name):
        return self.sparse.colour_columns((self.n, self.n), self.rows, self.cols)[1]

    def track_star_colours(self, name):
        return self.sparse.star_colouring(self.n, self.rows, self.cols)[1]

    def track_hessian_colours(self, name):
        return self.sparse.hessian_colouring(self.n, self.rows, self.cols)[1]

    def time_star_colouring(self, name):
        self.sparse.star_colouring(self.n, self.rows, self.cols)
