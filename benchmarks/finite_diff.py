"""The derivative engine: fastdiff.derivative side by side with numdifftools and scipy.

Each class is a grid over the implementation (and, for the scalar case, the function f):

* ``fastdiff``: ``fastdiff.derivative`` with its defaults (``vectorized=True`` for arrays);
* ``numdifftools``: ``numdifftools.Derivative(f, n=n, full_output=True)``, built in ``setup``;
  only the call is timed;
* ``scipy``: ``scipy.differentiate.derivative``, which always calls f with arrays. For
  ``f=math.exp`` it gets ``np.vectorize(math.exp)``; it computes first derivatives only, so
  its 4th-derivative benchmark is skipped.

Besides time, every class records

* ``track_abs_error``: the true error against the analytic derivative (max over the points);
* ``track_error_covers``: 1.0 if the reported error bound is at least the true error at every
  point that the implementation reports as successful, else 0.0 (numdifftools reports no
  success flag, so all its points count; its bound is ``error_estimate``);
* ``track_nfev``: evaluations of f counted by a wrapper around it, where a call with an array
  counts its points.

``ScalarFirstDerivative.track_time_over_nfev_cost`` is the time of one derivative divided by
(nfev x the time of one scalar f call), both from ``timeit`` (min of several repeats): the
overhead of the implementation over the evaluations it needs. It is the target metric for
fastdiff, which calls f once per point; the peers call f with arrays of points, whose cost per
point differs from a scalar call, so their values are only indicative.
"""

from __future__ import annotations

import math
import timeit

import numpy as np

import fastdiff

from .common import numdifftools, require, scipy

IMPLEMENTATIONS = ["fastdiff", "numdifftools", "scipy"]

#: Points of the vectorized benchmark.
VECTOR_POINTS = 100_000


class CountingF:
    """Wraps f and counts its evaluations; a call with an array counts its points."""

    def __init__(self, f):
        self.f = f
        self.count = 0

    def __call__(self, x, *args):
        self.count += np.size(x)
        return self.f(x, *args)


def _exp_sin(x):
    return np.exp(x) * np.sin(x)


def _exp_sin_4th(x):
    # (d/dx)^4 e^x sin x = -4 e^x sin x
    return -4.0 * np.exp(x) * np.sin(x)


def make_derivative(impl: str, f, n: int = 1, vectorized: bool = False):
    """A callable x -> (df, error, success) computing the n-th derivative of f with `impl`.

    Peers are constructed here (numdifftools' Derivative object), so a benchmark that builds
    this in ``setup`` times only the call. Missing peers raise NotImplementedError.
    """
    if impl == "fastdiff":

        def run(x):
            r = fastdiff.derivative(f, x, n=n, vectorized=vectorized)
            return r.df, r.error, r.success

        return run
    if impl == "numdifftools":
        nd = require(numdifftools, "numdifftools")
        d = nd.Derivative(f, n=n, full_output=True)

        def run(x):
            out = d(x)
            if isinstance(out, tuple) and len(out) == 2:  # numdifftools < 0.11: (value, info)
                value, info = out
            else:  # numdifftools 0.11: one EstimateResult
                value, info = out.estimate, out
            value = np.asarray(value)
            return value, np.asarray(info.error_estimate), np.ones(value.shape, dtype=bool)

        return run
    if impl == "scipy":
        require(scipy, "scipy.differentiate")
        if n != 1:
            raise NotImplementedError("scipy.differentiate.derivative: first derivatives only")

        def run(x):
            r = scipy.differentiate.derivative(f, x)
            return r.df, r.error, r.success

        return run
    raise ValueError(impl)


def _error_covers(result, exact) -> float:
    df, err, success = (np.asarray(v) for v in result)
    true = np.abs(df - exact)
    return float(np.all((err >= true) | ~success.astype(bool)))


class _DerivativeTracks:
    """time_derivative and the tracks, given self.run, self.x, self.exact, self.counted_run."""

    def time_derivative(self, *params):
        self.run(self.x)

    def track_abs_error(self, *params):
        return float(np.max(np.abs(np.asarray(self.run(self.x)[0]) - self.exact)))

    track_abs_error.unit = "abs error"

    def track_error_covers(self, *params):
        return _error_covers(self.run(self.x), self.exact)

    track_error_covers.unit = "1 = bound holds"

    def track_nfev(self, *params):
        self.counter.count = 0
        self.counted_run(self.x)
        return self.counter.count

    track_nfev.unit = "evaluations"


SCALAR_FUNCTIONS = {"np.exp": np.exp, "math.exp": math.exp}


class ScalarFirstDerivative(_DerivativeTracks):
    """d/dx exp at x = 1.0, with np.exp and math.exp as f."""

    params = (list(SCALAR_FUNCTIONS), IMPLEMENTATIONS)
    param_names = ["f", "implementation"]

    def setup(self, fname, impl):
        f = SCALAR_FUNCTIONS[fname]
        self.f = f
        if impl == "scipy" and f is math.exp:
            f = np.vectorize(math.exp, otypes=[np.float64])  # scipy calls f with arrays
        self.run = make_derivative(impl, f)
        self.counter = CountingF(f)
        self.counted_run = make_derivative(impl, self.counter)
        self.x = 1.0
        self.exact = math.e

    def track_time_over_nfev_cost(self, fname, impl):
        # String statements, so that no lambda's call overhead is added to the (cheap) f.
        names = {"run": self.run, "f": self.f, "x": self.x}

        def best(stmt, number):
            return min(timeit.repeat(stmt, globals=names, number=number, repeat=7)) / number

        t_derivative = best("run(x)", 200)
        t_f = best("f(x)", 100_000)
        return t_derivative / (self.track_nfev(fname, impl) * t_f)

    track_time_over_nfev_cost.unit = "time / (nfev x f cost)"


class VectorizedSin(_DerivativeTracks):
    """d/dx sin at 1e5 points in [0, 10], with one vectorized call per batch of points."""

    params = (IMPLEMENTATIONS,)
    param_names = ["implementation"]
    timeout = 120

    def setup(self, impl):
        vectorized = impl == "fastdiff"  # the peers are vectorized natively
        self.run = make_derivative(impl, np.sin, vectorized=vectorized)
        self.counter = CountingF(np.sin)
        self.counted_run = make_derivative(impl, self.counter, vectorized=vectorized)
        self.x = np.linspace(0.0, 10.0, VECTOR_POINTS)
        self.exact = np.cos(self.x)


class FourthDerivative(_DerivativeTracks):
    """(d/dx)^4 of exp(x) sin(x) at x = 1.0 (scipy: first derivatives only, skipped)."""

    params = (IMPLEMENTATIONS,)
    param_names = ["implementation"]

    def setup(self, impl):
        self.run = make_derivative(impl, _exp_sin, n=4)
        self.counter = CountingF(_exp_sin)
        self.counted_run = make_derivative(impl, self.counter, n=4)
        self.x = 1.0
        self.exact = float(_exp_sin_4th(1.0))


class FifthDerivative(_DerivativeTracks):
    """(d/dx)^5 exp at x = 1.0, FiniteDifferences.jl's 5th-derivative test (atol 2e-7; scipy:
    first derivatives only, skipped)."""

    params = (IMPLEMENTATIONS,)
    param_names = ["implementation"]

    def setup(self, impl):
        self.run = make_derivative(impl, np.exp, n=5)
        self.counter = CountingF(np.exp)
        self.counted_run = make_derivative(impl, self.counter, n=5)
        self.x = 1.0
        self.exact = math.e


def _complex_cases(n: int):
    """(f, x, exact n-th derivative) for method="complex": analytic f with closed-form
    derivatives, at points from near a singularity to large |x|."""
    fall = lambda p: math.prod(p - k for k in range(n))  # noqa: E731 - falling factorial
    rows = []
    for x in (-2.0, 0.0, 0.7, 3.0, 25.0):
        rows.append((np.exp, x, math.exp(x)))
        rows.append((lambda t: np.exp(3 * t), x / 3, 3.0**n * math.exp(x)))
        rows.append((np.sin, x, math.sin(x + n * math.pi / 2)))
        rows.append(
            (
                lambda t: np.exp(t) * np.sin(t),
                x / 5,
                2 ** (n / 2) * math.exp(x / 5) * math.sin(x / 5 + n * math.pi / 4),
            )
        )
    for x in (0.01, 0.3, 1.0, 40.0, 1e4):
        rows.append((np.log, x, (-1) ** (n - 1) * math.factorial(n - 1) / x**n))
        rows.append((lambda t: 1 / (1 + t), x, (-1) ** n * math.factorial(n) / (1 + x) ** (n + 1)))
        rows.append((np.sqrt, x, fall(0.5) * x ** (0.5 - n)))
    return rows


class ComplexStepHonesty:
    """derivative(method="complex") over analytic f and points, per n (1: complex step; 2-4:
    Cauchy contour). ``track_error_over_true``: median of error / true error (true error
    floored at half an ulp of the exact value); ``track_error_over_true_p90``; ``track_misses``:
    trusted estimates whose true error exceeds error + 1e-15 max(1, |df|)."""

    params = ([1, 2, 3, 4],)
    param_names = ["n"]

    def setup(self, n):
        self.cases = _complex_cases(n)

    def _stats(self, n):
        ratios, misses = [], 0
        with np.errstate(all="ignore"):
            for f, x, exact in self.cases:
                r = fastdiff.derivative(f, x, n=n, method="complex")
                if not r.success:
                    continue
                true = abs(float(r.df) - exact)
                misses += true > r.error + 1e-15 * max(1.0, abs(float(r.df)))
                floor = max(true, 2.0**-53 * abs(exact))
                if floor > 0:
                    ratios.append(r.error / floor)
        return np.array(ratios), misses

    def time_sweep(self, n):
        self._stats(n)

    def track_error_over_true(self, n):
        return float(np.median(self._stats(n)[0]))

    track_error_over_true.unit = "error / true error"

    def track_error_over_true_p90(self, n):
        return float(np.percentile(self._stats(n)[0], 90))

    track_error_over_true_p90.unit = "error / true error"

    def track_misses(self, n):
        return int(self._stats(n)[1])

    track_misses.unit = "estimates"


#: Points of the vectorized contour benchmark.
CONTOUR_POINTS = 5_000


class ComplexContour:
    """The Cauchy contour's cost: derivative(np.exp, x, n, method="complex") at one point
    (the fixed cost of the circles' bookkeeping and the move onto the circle) and at
    CONTOUR_POINTS points with vectorized f (its cost per point), beside numdifftools'
    complex method (``Derivative(f, n=n, method="complex")``, its error estimate as the
    bar). ``track_nfev``: evaluations of f (a call with an array counts its points)."""

    params = ([2, 4], ["scalar", "vector"], ["fastdiff", "numdifftools"])
    param_names = ["n", "x", "implementation"]

    def setup(self, n, shape, impl):
        self.x = 0.7 if shape == "scalar" else np.linspace(0.1, 3.0, CONTOUR_POINTS)
        if impl == "fastdiff":
            self.run = lambda f, x: fastdiff.derivative(f, x, n=n, method="complex")
        else:
            nd = require(numdifftools, "numdifftools")
            d = nd.Derivative(np.exp, n=n, method="complex")
            self.run = lambda f, x: d(x)
            self.counter = CountingF(np.exp)
            self.counted = nd.Derivative(self.counter, n=n, method="complex")

    def time_contour(self, n, shape, impl):
        self.run(np.exp, self.x)

    def track_nfev(self, n, shape, impl):
        counter = CountingF(np.exp)
        if impl == "fastdiff":
            self.run(counter, self.x)
        else:
            self.counter.count = 0
            self.counted(self.x)
            return self.counter.count
        return counter.count

    track_nfev.unit = "evaluations"


def _honesty():
    """tests/honesty.py (the honesty study), imported from the source tree asv runs from."""
    import sys
    from pathlib import Path

    tests = Path(__file__).resolve().parent.parent / "tests"
    if not (tests / "honesty.py").exists():
        raise NotImplementedError("tests/honesty.py is not next to the benchmarks")
    sys.path.insert(0, str(tests))
    try:
        import honesty
    finally:
        sys.path.remove(str(tests))
    return honesty


class HonestyStudy:
    """The honesty study's distribution of error/true per method and n (tests/honesty.py):
    62 smooth functions at ~200 points (domain edges, extremes of scale), plain and noisy f.

    ``track_median_error_over_true`` is the median over trusted estimates of error / true error
    (lower is tighter; the floor is the rounding slack the contract allows);
    ``track_misses`` counts trusted estimates whose true error exceeds their bar (must be 0
    outside the known cases listed in tests/test_honesty.py).
    """

    params = (["central", "forward", "backward"], [1, 2, 3, 4])
    param_names = ["method", "n"]
    timeout = 300

    def setup_cache(self):
        honesty = _honesty()
        with np.errstate(all="ignore"):
            rows = honesty.summary(honesty.run(nmax=4))
        return {(r.method, r.n): (r.median, r.misses) for r in rows}

    def track_median_error_over_true(self, table, method, n):
        return table[(method, n)][0]

    track_median_error_over_true.unit = "error / true error"

    def track_misses(self, table, method, n):
        return table[(method, n)][1]

    track_misses.unit = "misses"


class ComplexHonestyWide:
    """The wide study of method="complex" (tools/complex_study.py --wide): 349 cases per n,
    108 analytic f (tests/honesty.py's over a complex namespace, poles, branch points,
    extremes of scale), per variant: plain, relative noise 1e-10 declared, or not.

    ``track_median_error_over_true``: median of error / true error over trusted estimates
    (true error floored at half an ulp of the exact value); ``track_misses``: trusted
    estimates whose true error exceeds error + 8 eps max(1, |df|); ``track_trusted``.
    """

    params = (["plain", "noisy", "noisy-undeclared"], [1, 2, 3, 4])
    param_names = ["variant", "n"]
    timeout = 600

    def setup_cache(self):
        import sys
        from pathlib import Path

        tools = Path(__file__).resolve().parent.parent / "tools"
        if not (tools / "complex_study.py").exists():
            raise NotImplementedError("tools/complex_study.py is not next to the benchmarks")
        sys.path.insert(0, str(tools))
        try:
            import complex_study
        finally:
            sys.path.remove(str(tools))
        table = {}
        with np.errstate(all="ignore"):
            for variant in self.params[0]:
                for n, a in complex_study.study_wide(4, (variant,)).items():
                    table[(variant, n)] = (
                        float(np.median(a["ratios"])),
                        int(a["misses"]),
                        int(a["trusted"]),
                    )
        return table

    def track_median_error_over_true(self, table, variant, n):
        return table[(variant, n)][0]

    track_median_error_over_true.unit = "error / true error"

    def track_misses(self, table, variant, n):
        return table[(variant, n)][1]

    track_misses.unit = "misses"

    def track_trusted(self, table, variant, n):
        return table[(variant, n)][2]

    track_trusted.unit = "cases"
