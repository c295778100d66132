"""The multivariate verbs: fastdiff.gradient and fastdiff.hessian side by side with their peers.

The test function is Rosenbrock's, at a fixed random point in [-1, 1]^n, checked against
``scipy.optimize.rosen_der`` / ``rosen_hess``. Two ways of calling f:

* ``vectorized``: ``rosen_vectorized`` takes shape (n, k) and returns shape (k,), the convention
  of both fastdiff (``vectorized=True``) and ``scipy.differentiate.jacobian`` / ``hessian``;
* ``looped``: ``scipy.optimize.rosen`` gets one point of shape (n,) per call (fastdiff's default,
  ``numdifftools.Gradient`` / ``Hessian``, and ``scipy.optimize._numdiff.approx_derivative``
  with ``method="3-point"``, which SciPy has no public name for).

Combinations an implementation does not offer raise NotImplementedError in ``setup`` (asv:
skipped). ``track_nfev`` counts evaluations of f with a wrapper; a vectorized call counts its
k points. Peak memory: ``peakmem_gradient`` (asv, whole process) and
``track_peak_mb_3000`` (tracemalloc, allocations during one 3000-D gradient only).
"""

from __future__ import annotations

import tracemalloc

import numpy as np

import fastdiff

from .common import numdifftools, require, scipy

try:  # local names: `import scipy.optimize` would rebind common's guarded `scipy`
    from scipy.optimize import rosen, rosen_der, rosen_hess
    from scipy.optimize._numdiff import approx_derivative
except ImportError:
    rosen = rosen_der = rosen_hess = approx_derivative = None

MODES = ["vectorized", "looped"]

#: Skip scipy's 3000-D gradient in track_peak_mb_3000 if its estimated peak exceeds this.
SCIPY_PEAK_LIMIT = 4 << 30


def rosen_vectorized(x):
    """Rosenbrock's function for x of shape (n, k): one value per column, shape (k,)."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2, axis=0)


class CountingF:
    """Wraps f and counts points: a call with shape (n,) is one, with shape (n, k) is k."""

    def __init__(self, f):
        self.f = f
        self.count = 0

    def __call__(self, x):
        x = np.asarray(x)
        self.count += 1 if x.ndim <= 1 else x[0].size
        return self.f(x)


def random_point(n: int) -> np.ndarray:
    return np.random.default_rng(1234).uniform(-1.0, 1.0, n)


def make_gradient(impl: str, mode: str, f):
    """A callable x -> (gradient, success) for `impl` in `mode` (f matches the mode)."""
    if impl == "fastdiff":
        vectorized = mode == "vectorized"

        def run(x):
            r = fastdiff.gradient(f, x, vectorized=vectorized)
            return r.df, r.success

        return run
    if impl == "scipy_differentiate":
        require(scipy, "scipy.differentiate")
        if mode != "vectorized":
            raise NotImplementedError("scipy.differentiate.jacobian needs a vectorized f")

        def run(x):
            r = scipy.differentiate.jacobian(f, x)
            return r.df, r.success

        return run
    if impl == "scipy_approx_derivative":
        if approx_derivative is None:
            raise NotImplementedError("scipy is not installed")
        if mode != "looped":
            raise NotImplementedError("approx_derivative calls f one point at a time")

        def run(x):
            return approx_derivative(f, x, method="3-point"), np.ones(x.shape, dtype=bool)

        return run
    if impl == "numdifftools":
        nd = require(numdifftools, "numdifftools")
        if mode != "looped":
            raise NotImplementedError("numdifftools.Gradient calls f one point at a time")
        g = nd.Gradient(f)

        def run(x):
            return g(x), np.ones(x.shape, dtype=bool)

        return run
    raise ValueError(impl)


def make_hessian(impl: str, mode: str, f):
    """A callable x -> (hessian, success) for `impl` in `mode` (f matches the mode).

    numdifftools reports no per-entry status; its success is "the entry is finite".
    """
    if impl == "fastdiff":
        vectorized = mode == "vectorized"

        def run(x):
            r = fastdiff.hessian(f, x, vectorized=vectorized)
            return r.df, r.success

        return run
    if impl == "scipy_differentiate":
        require(scipy, "scipy.differentiate")
        if mode != "vectorized":
            raise NotImplementedError("scipy.differentiate.hessian needs a vectorized f")

        def run(x):
            r = scipy.differentiate.hessian(f, x)
            return r.ddf, r.success

        return run
    if impl == "numdifftools":
        nd = require(numdifftools, "numdifftools")
        if mode != "looped":
            raise NotImplementedError("numdifftools.Hessian calls f one point at a time")
        h = nd.Hessian(f)

        def run(x):
            value = h(x)
            return value, np.isfinite(value)

        return run
    raise ValueError(impl)


class _Tracks:
    """time_*, track_max_error and track_nfev, given self.run, self.counted_run, self.x."""

    def track_max_error(self, *params):
        return float(np.max(np.abs(self.run(self.x)[0] - self.exact)))

    track_max_error.unit = "abs error"

    def track_nfev(self, *params):
        self.counter.count = 0
        self.counted_run(self.x)
        return self.counter.count

    track_nfev.unit = "evaluations"


def _setup(self, maker, impl, mode, n):
    require(rosen, "scipy")  # rosen, rosen_der, rosen_hess
    f = rosen_vectorized if mode == "vectorized" else rosen
    self.run = maker(impl, mode, f)
    self.counter = CountingF(f)
    self.counted_run = maker(impl, mode, self.counter)
    self.x = random_point(n)


class Gradient100(_Tracks):
    """Gradient of 100-D Rosenbrock."""

    params = (MODES, ["fastdiff", "scipy_differentiate", "scipy_approx_derivative", "numdifftools"])
    param_names = ["mode", "implementation"]

    def setup(self, mode, impl):
        _setup(self, make_gradient, impl, mode, 100)
        self.exact = rosen_der(self.x)

    def time_gradient(self, mode, impl):
        self.run(self.x)


class Hessian10(_Tracks):
    """Hessian of 10-D Rosenbrock; ``track_success_fraction`` is the share of successful entries."""

    params = (MODES, ["fastdiff", "scipy_differentiate", "numdifftools"])
    param_names = ["mode", "implementation"]

    def setup(self, mode, impl):
        _setup(self, make_hessian, impl, mode, 10)
        self.exact = rosen_hess(self.x)

    def time_hessian(self, mode, impl):
        self.run(self.x)

    def track_success_fraction(self, mode, impl):
        return float(np.mean(self.run(self.x)[1]))

    track_success_fraction.unit = "fraction of entries"


class SmallGradient(_Tracks):
    """Gradient of 2-D and 10-D Rosenbrock: the fixed cost of a call on a small x (issue 10
    item 3), beside the peers on the same f (FixedOverhead in throughput.py subtracts f)."""

    params = (
        MODES,
        ["fastdiff", "scipy_differentiate", "scipy_approx_derivative", "numdifftools"],
        [2, 10],
    )
    param_names = ["mode", "implementation", "n"]

    def setup(self, mode, impl, n):
        _setup(self, make_gradient, impl, mode, n)
        self.exact = rosen_der(self.x)

    def time_gradient(self, mode, impl, n):
        self.run(self.x)


class SmallHessian(_Tracks):
    """Hessian of 2-D Rosenbrock: the fixed cost of a call on a small x, beside the peers."""

    params = (MODES, ["fastdiff", "scipy_differentiate", "numdifftools"])
    param_names = ["mode", "implementation"]

    def setup(self, mode, impl):
        _setup(self, make_hessian, impl, mode, 2)
        self.exact = rosen_hess(self.x)

    def time_hessian(self, mode, impl):
        self.run(self.x)


def traced_peak_mb(run, x) -> float:
    """Peak of the memory allocated (tracemalloc, which sees NumPy's buffers) during run(x)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        run(x)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


class LargeGradient:
    """Vectorized gradient of 1000-D Rosenbrock: time and peak memory; tracemalloc peak at 3000-D.

    fastdiff evaluates f in batches of bounded size (``batch_bytes``), so its memory grows like
    n; scipy.differentiate.jacobian evaluates all n columns at once, so its memory grows like
    n^2. In ``track_peak_mb_3000`` scipy's 3000-D peak is first estimated as 9x its 1000-D peak,
    and skipped (NaN) if the estimate exceeds 4 GiB.
    """

    params = (["fastdiff", "scipy_differentiate"],)
    param_names = ["implementation"]
    timeout = 300

    def setup(self, impl):
        self.run = make_gradient(impl, "vectorized", rosen_vectorized)
        self.x = random_point(1000)

    def time_gradient(self, impl):
        self.run(self.x)

    def peakmem_gradient(self, impl):
        self.run(self.x)

    def track_peak_mb_3000(self, impl):
        if impl == "scipy_differentiate":
            estimate = 9 * traced_peak_mb(self.run, self.x)
            if estimate * 2**20 > SCIPY_PEAK_LIMIT:
                return float("nan")
        return traced_peak_mb(self.run, random_point(3000))

    track_peak_mb_3000.unit = "MiB"


def _rosen_any(X):
    """Rosenbrock for one point (n,) or a batch (n, k): plain arithmetic, so complex-safe."""
    return np.sum(100.0 * (X[1:] - X[:-1] ** 2) ** 2 + (1.0 - X[:-1]) ** 2, axis=0)


def _rosen_hess(x):
    n = x.size
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 2 - 400 * (x[i + 1] - x[i] ** 2) + 800 * x[i] ** 2
        H[i + 1, i + 1] += 200
        H[i, i + 1] = H[i + 1, i] = -400 * x[i]
    return H


def make_complex_hessian(impl: str, mode: str, verb: str, f):
    """x -> (value, error estimate) of the complex-step Hessian or its diagonal."""
    if impl == "fastdiff":
        fn = getattr(fastdiff, verb)

        def run(x):
            r = fn(f, x, method="complex", vectorized=mode == "vectorized")
            return r.df, np.where(r.success, r.error, np.inf)

        return run
    if impl == "numdifftools":
        nd = require(numdifftools, "numdifftools")
        if mode != "looped":
            raise NotImplementedError("numdifftools calls f one point at a time")
        cls = nd.Hessian if verb == "hessian" else nd.Hessdiag
        h = cls(f, method="complex", full_output=True)

        def run(x):
            out = h(x)
            return out[0], np.broadcast_to(out[1], np.shape(out[0]))

        return run
    raise ValueError(impl)


class ComplexHessian10:
    """method="complex" Hessian and Hessian diagonal of 10-D Rosenbrock, beside numdifftools'
    ``Hessian(f, method="complex")`` and ``Hessdiag(f, method="complex")``.

    ``track_error_over_true``: median over the entries of (error estimate) / (true error),
    the true error floored at half an ulp of the exact entry (no float is closer); an honest,
    tight bar is >= 1 and small. ``track_misses``: entries whose true error exceeds the bar.
    """

    params = (["hessian", "hessdiag"], MODES, ["fastdiff", "numdifftools"])
    param_names = ["verb", "mode", "implementation"]

    def setup(self, verb, mode, impl):
        self.x = random_point(10)
        H = _rosen_hess(self.x)
        self.exact = H if verb == "hessian" else np.diag(H).copy()
        self.run = make_complex_hessian(impl, mode, verb, _rosen_any)
        self.counter = CountingF(_rosen_any)
        self.counted_run = make_complex_hessian(impl, mode, verb, self.counter)

    def time_complex(self, verb, mode, impl):
        self.run(self.x)

    def _ratios(self):
        df, err = self.run(self.x)
        true = np.maximum(np.abs(np.asarray(df) - self.exact), 2.0**-53 * np.abs(self.exact))
        keep = true > 0
        return np.asarray(err)[keep] / true[keep], np.asarray(err) < np.abs(df - self.exact)

    def track_error_over_true(self, verb, mode, impl):
        return float(np.median(self._ratios()[0]))

    track_error_over_true.unit = "error / true error"

    def track_misses(self, verb, mode, impl):
        return int(np.sum(self._ratios()[1]))

    track_misses.unit = "entries"

    def track_max_error(self, verb, mode, impl):
        return float(np.max(np.abs(self.run(self.x)[0] - self.exact)))

    track_max_error.unit = "abs error"

    def track_nfev(self, verb, mode, impl):
        self.counter.count = 0
        self.counted_run(self.x)
        return self.counter.count

    track_nfev.unit = "evaluations"


class CancellingSumJacobian:
    """Dense ``jacobian`` of ``W @ (exp(x) x)``, W 60 x 50 with 10% random entries (each
    output a sum whose terms cancel: f's rounding is eps times its terms, not eps |f|),
    over 30 seeds (tests/test_multivariate.py's family; tools/jacobian_sweep.py for more).
    ``track_misses``: trusted entries whose true error exceeds the bar plus the contract's
    slack 8 eps max(1, |J|); ``track_error_over_true``: median of error / true error over the
    trusted structural nonzeros (true error floored at half an ulp of the exact entry);
    ``track_nfev``: evaluations of f over the 30 Jacobians. fastdiff only: the peers give no
    error bar."""

    seeds = range(30)

    def setup(self):
        self.cases = []
        for seed in self.seeds:
            rng = np.random.default_rng(seed)
            W = rng.normal(size=(60, 50)) * (rng.random((60, 50)) < 0.1)
            x = rng.normal(size=50)
            self.cases.append((W, x, W * (np.exp(x) * (1 + x))))

    def _run(self):
        return [
            (fastdiff.jacobian(lambda z, W=W: W @ (np.exp(z) * z), x), exact)
            for W, x, exact in self.cases
        ]

    def time_jacobians(self):
        self._run()

    def track_misses(self):
        eps = float(np.finfo(np.float64).eps)
        return int(
            sum(
                (
                    (r.status == 0) & (abs(r.df - J) > r.error + 8 * eps * np.maximum(1, abs(J)))
                ).sum()
                for r, J in self._run()
            )
        )

    track_misses.unit = "entries"

    def track_error_over_true(self):
        ratios = []
        for r, J in self._run():
            ok = (r.status == 0) & (J != 0)
            true = np.maximum(abs(r.df - J), 2.0**-53 * abs(J))
            ratios.append(r.error[ok] / true[ok])
        return float(np.median(np.concatenate(ratios)))

    track_error_over_true.unit = "error / true error"

    def track_nfev(self):
        return int(sum(r.nfev for r, _ in self._run()))

    track_nfev.unit = "evaluations"
