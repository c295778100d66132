"""Issue 10's throughput workloads: fastdiff beside its peers and the NumPy floor (asv).

Each workload of issue 10's table is one class, parametrised by implementation: fastdiff, the
peers that have an idiom for it (numdifftools, scipy.differentiate or scipy's
approx_derivative, jacobi, jax.jit(grad)), and ``floor``, a bare NumPy (or math) central
difference with a fixed step and no error estimate: the least any differentiation of f at
these points costs. Besides ``time_call``:

* ``track_evaluations_per_element``: evaluations of f per element (a point, a coordinate of
  a gradient, an entry of a Hessian's upper triangle), counted by a wrapper (NaN for
  jax, which traces f);
* ``track_peak_mib``: the tracemalloc peak of one call (NumPy's buffers included);
* ``track_over_floor``: this implementation's time over the floor's, timed interleaved in
  this process (min over rounds): the stable number on a shared machine.

``LadderKernel`` times the C ladder alone: a recorded vectorized ladder (d/dx sin at 8192
points) replayed through ``Ladder.update`` on the same values of f; ``track_ns_per_element_level``
is its cost per element and level.

``python tools/throughput.py`` prints the whole table with ratios from one process.
A peer that is not installed raises NotImplementedError in setup (asv: skipped).
"""

from __future__ import annotations

import itertools
import math
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import fastdiff

from .common import jacobi, jax, numdifftools, scipy

try:  # local names: `import scipy.optimize` would rebind common's guarded `scipy`
    from scipy.optimize import rosen
    from scipy.optimize._numdiff import approx_derivative
except ImportError:
    rosen = approx_derivative = None

scipy_differentiate = None if scipy is None else scipy.differentiate


@dataclass
class Workload:
    """Implementations of one task: makers that build a no-argument call from f, so that the
    same call can be made on a counting wrapper of f (evaluations per element)."""

    name: str
    f: Callable
    per_call: Callable[[object], int]  # points in one call of f
    size: int  # elements: points, coordinates, Hessian entries
    makers: dict[str, Callable[[Callable], Callable[[], object]]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    memory: bool = False  # also report tracemalloc peaks
    uncountable: tuple[str, ...] = ("jax.jit(grad)",)  # f is traced, not called
    _impls: dict[str, Callable[[], object]] = field(default_factory=dict)

    def add(self, name: str, available: bool, maker) -> None:
        if available:
            self.makers[name] = maker
        else:
            self.missing.append(name)

    @property
    def impls(self) -> dict[str, Callable[[], object]]:
        if not self._impls:
            self._impls = {k: make(self.f) for k, make in self.makers.items()}
        return self._impls

    def evaluations(self, name: str) -> float:
        """Evaluations of f per element by implementation `name` (NaN where f is traced)."""
        if name in self.uncountable:
            return math.nan
        g = counted(self.f, self.per_call)
        self.makers[name](g)()
        return g.count / self.size


def counted(f: Callable, per_call: Callable[[object], int]):
    """f with a counter of evaluations (per_call(x): points in one call)."""

    def g(x, *args):
        g.count += per_call(x)
        return f(x, *args)

    g.count = 0
    return g


def bind(fn: Callable, *args) -> Callable[[], object]:
    """A no-argument call of fn(*args) (fn built once, outside the timed call)."""
    return lambda: fn(*args)


def points_in(x) -> int:
    return int(np.size(x))


def columns_in(x) -> int:
    x = np.asarray(x)
    return 1 if x.ndim <= 1 else int(np.prod(x.shape[1:]))


def rosen_vectorized(x):
    """Rosenbrock for x of shape (n,) or (n, k): one value per column."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2, axis=0)


def rosen_point(x):
    """Rosenbrock for one point (n,), as scipy.optimize.rosen (its own, when installed)."""
    return rosen_vectorized(x) if rosen is None else rosen(x)


# --------------------------------------------------------------------------------------------
# The workloads
# --------------------------------------------------------------------------------------------


def scalar_exp(fname: str) -> Workload:
    f = np.exp if fname == "np.exp" else math.exp
    x = 1.0
    w = Workload(f"d/dx exp at 1.0 ({fname})", f, points_in, 1)
    w.add("fastdiff", True, lambda f: lambda: fastdiff.derivative(f, x))
    w.add(
        "numdifftools",
        numdifftools is not None,
        lambda f: bind(numdifftools.Derivative(f, full_output=True), x),
    )

    def scipy_call(f):
        fv = f if fname == "np.exp" else np.vectorize(f, otypes=[np.float64])
        return lambda: scipy_differentiate.derivative(fv, x)

    w.add("scipy.differentiate", scipy_differentiate is not None, scipy_call)

    def jax_call(f):
        jax.config.update("jax_enable_x64", True)
        g = jax.jit(jax.grad(jax.numpy.exp))
        float(g(x))
        return lambda: float(g(x))

    w.add("jax.jit(grad)", jax is not None, jax_call)
    h = 2.0**-17  # ~eps^(1/3): the central difference's best fixed step at scale 1
    inv2h = 0.5 / h
    w.add("floor", True, lambda f: lambda: (f(x + h) - f(x - h)) * inv2h)
    return w


def vectorized_sin() -> Workload:
    x = np.linspace(0.0, 10.0, 100_000)
    w = Workload("d/dx sin at 1e5 points, vectorized=True", np.sin, points_in, x.size)
    w.add("fastdiff", True, lambda f: lambda: fastdiff.derivative(f, x, vectorized=True))
    w.add(
        "scipy.differentiate",
        scipy_differentiate is not None,
        lambda f: lambda: scipy_differentiate.derivative(f, x),
    )
    h = 2.0**-17 * np.maximum(np.abs(x), 1.0)
    w.add("floor", True, lambda f: lambda: (f(x + h) - f(x - h)) / (2.0 * h))
    return w


def looped_sin() -> Workload:
    x = np.linspace(0.0, 10.0, 10_000)
    w = Workload("d/dx math.sin at 1e4 points, looped", math.sin, points_in, x.size)
    w.add("fastdiff", True, lambda f: lambda: fastdiff.derivative(f, x))

    def scipy_call(f):
        fv = np.vectorize(f, otypes=[np.float64])
        return lambda: scipy_differentiate.derivative(fv, x)

    w.add("scipy.differentiate", scipy_differentiate is not None, scipy_call)
    xs = x.tolist()
    h = 2.0**-17

    def floor(f):
        return lambda: [(f(v + h) - f(v - h)) / (2 * h) for v in xs]

    w.add("floor", True, floor)
    return w


def gradient_floor_vectorized(n: int, x: np.ndarray):
    """All 2n central points as one (n, 2n) batch, one call of f, one difference."""
    h = 2.0**-17 * np.maximum(np.abs(x), 1.0)
    eye = np.eye(n)

    def make(f):
        def floor():
            pts = x[:, None] + np.concatenate([eye * h, -eye * h], axis=1)
            y = f(pts)
            return (y[:n] - y[n:]) / (2.0 * h)

        return floor

    return make


def gradient_vectorized(n: int) -> Workload:
    x = np.random.default_rng(1234).uniform(-1.0, 1.0, n)
    w = Workload(
        f"gradient of {n}-D Rosenbrock, vectorized=True",
        rosen_vectorized,
        columns_in,
        n,
        memory=n >= 1000,
    )
    w.add("fastdiff", True, lambda f: lambda: fastdiff.gradient(f, x, vectorized=True))
    w.add(
        "scipy.differentiate",
        scipy_differentiate is not None,
        lambda f: lambda: scipy_differentiate.jacobian(f, x),
    )
    w.add("floor", True, gradient_floor_vectorized(n, x))
    return w


def gradient_looped(n: int) -> Workload:
    x = np.random.default_rng(1234).uniform(-1.0, 1.0, n)
    w = Workload(
        f"gradient of {n}-D Rosenbrock, f called once per point", rosen_point, columns_in, n
    )
    w.add("fastdiff", True, lambda f: lambda: fastdiff.gradient(f, x))
    w.add(
        "numdifftools",
        numdifftools is not None,
        lambda f: bind(numdifftools.Gradient(f), x),
    )
    w.add("jacobi", jacobi is not None, lambda f: lambda: jacobi.jacobi(f, x))
    w.add(
        "scipy approx_derivative",
        approx_derivative is not None,
        lambda f: lambda: approx_derivative(f, x, method="3-point"),
    )
    h = 2.0**-17 * np.maximum(np.abs(x), 1.0)

    def floor(f):
        def run():
            g = np.empty(n)
            for i in range(n):
                xp = x.copy()
                xp[i] += h[i]
                xm = x.copy()
                xm[i] -= h[i]
                g[i] = (f(xp) - f(xm)) / (2.0 * h[i])
            return g

        return run

    w.add("floor", True, floor)
    return w


def hessian_vectorized(n: int) -> Workload:
    x = np.random.default_rng(1234).uniform(-1.0, 1.0, n)
    w = Workload(
        f"Hessian of {n}-D Rosenbrock, vectorized=True",
        rosen_vectorized,
        columns_in,
        n * (n + 1) // 2,
    )
    w.add("fastdiff", True, lambda f: lambda: fastdiff.hessian(f, x, vectorized=True))
    # numdifftools calls f once per point: rosen_vectorized takes a point (n,) as well
    w.add(
        "numdifftools",
        numdifftools is not None,
        lambda f: bind(numdifftools.Hessian(f), x),
    )
    w.add(
        "scipy.differentiate",
        scipy_differentiate is not None,
        lambda f: lambda: scipy_differentiate.hessian(f, x),
    )
    # floor: the 4-point central formula for every pair (i <= j) in one batch
    h = 2.0**-13 * np.maximum(np.abs(x), 1.0)  # ~eps^(1/4)
    iu, ju = np.triu_indices(n)
    E = np.eye(n)
    a = E[:, iu] * h[iu] + E[:, ju] * h[ju]
    b = E[:, iu] * h[iu] - E[:, ju] * h[ju]
    offsets = np.concatenate([a, -a, b, -b], axis=1)
    npair = iu.size

    def floor(f):
        def run():
            y = f(x[:, None] + offsets).reshape(4, npair)
            hij = (y[0] + y[1] - y[2] - y[3]) / (4.0 * h[iu] * h[ju])
            H = np.empty((n, n))
            H[iu, ju] = hij
            H[ju, iu] = hij
            return H

        return run

    w.add("floor", True, floor)
    return w


#: LadderKernel's cases: (f, n, method, complex f) of a recorded vectorized ladder
LADDER_CASES = {
    "sin n=1 central": (np.sin, 1, "central", False),
    "exp n=1 forward": (np.exp, 1, "forward", False),
    "sin n=2 central": (np.sin, 2, "central", False),
    "tanh n=4 central": (np.tanh, 4, "central", False),
    "exp(1j x) n=1 central": (lambda x: np.exp(1j * x), 1, "central", True),
}


def recorded_ladder(
    n_points: int = 8192,
    f: Callable = np.sin,
    n: int = 1,
    method: str = "central",
    complex_f: bool = False,
):
    """One vectorized ladder of d^n/dx^n f (default: d/dx sin, central) on n_points in
    [0, 10], recorded level by level: (replay, replay_with_points, element_levels). replay()
    re-runs the C update on the recorded values of f (the same inputs give the same states),
    so it times the compiled ladder alone."""
    from fastdiff import _derivative, _steps
    from fastdiff._kernels import _finite_diff

    x = np.linspace(0.0, 10.0, n_points)
    order = _derivative.default_order(method, n)
    cfg = _derivative.ladder_config(n, method, order, False, None, None)
    h0 = _steps.scale_of(x) * 2.0 ** _steps.initial_step_exponent(n)
    h0 = (x + h0) - x
    side = np.full(x.size, _derivative.SIDES.index(method), dtype=np.intc)
    flags = np.zeros(x.size, dtype=np.intc)
    ncomp = 2 if complex_f else 1

    def values(t):
        v = np.asarray(f(t))
        return np.stack([v.real, v.imag], -1).ravel() if complex_f else v

    f0 = np.zeros((x.size, 2))
    f0[:, :ncomp] = np.reshape(values(x), (x.size, ncomp))
    L = _finite_diff.Ladder(cfg, ncomp, float(np.finfo(np.float64).eps), x.size)
    L.init(x, h0, side, flags, f0)
    idx = L.active()
    levels = []
    while idx.size:
        fv = values(L.points(idx))
        levels.append((idx.copy(), fv))
        idx = idx[: L.update(idx, fv)]

    def replay():
        L.init(x, h0, side, flags, f0)
        for i, fv in levels:
            L.update(i.copy(), fv)

    def replay_with_points():
        L.init(x, h0, side, flags, f0)
        for i, fv in levels:
            L.points(i)
            L.update(i.copy(), fv)

    return replay, replay_with_points, sum(i.size for i, _ in levels)


def ladder_levels(n_points: int = 100_000) -> np.ndarray:
    """Levels each point of d/dx sin at n_points in [0, 10] runs (the workload of
    vectorized_sin), from one vectorized ladder: a point is evaluated at a level only while
    it runs (1 + 2 levels evaluations with the central stencil)."""
    from fastdiff import _derivative, _steps
    from fastdiff._kernels import _finite_diff

    x = np.linspace(0.0, 10.0, n_points)
    cfg = _derivative.ladder_config(1, "central", 2, False, None, None)
    h0 = _steps.scale_of(x) * 2.0 ** _steps.initial_step_exponent(1)
    h0 = (x + h0) - x
    side = np.zeros(x.size, dtype=np.intc)
    f0 = np.zeros((x.size, 2))
    f0[:, 0] = np.sin(x)
    L = _finite_diff.Ladder(cfg, 1, float(np.finfo(np.float64).eps), x.size)
    L.init(x, h0, side, side.copy(), f0)
    idx = L.active()
    levels = np.zeros(x.size, dtype=np.int64)
    while idx.size:
        levels[idx] += 1
        idx = idx[: L.update(idx, np.sin(L.points(idx)))]
    return levels


def overhead_cases() -> dict[str, tuple[Callable[[], object], Callable[[], object]]]:
    """Issue 10 item 3, the fixed cost of a call beyond f's evaluations, on small inputs:
    per case (the verb's call, the same calls of f made directly: one call per point for
    the scalar verb, the same batches for the array verbs, recorded from one call)."""
    x1 = 1.0
    xs = np.array([0.5, 1.0, 1.5, 2.0])
    x2 = np.array([0.3, -0.4])
    x10 = np.linspace(-1.0, 1.2, 10)
    cases = {}
    for name, f in (("math.exp", math.exp), ("np.exp", np.exp)):
        nfev = fastdiff.derivative(f, x1).nfev
        cases[f"derivative({name}, 1.0)"] = (
            lambda f=f: fastdiff.derivative(f, x1),
            lambda f=f, k=nfev: list(map(f, itertools.repeat(x1, k))),  # a C loop, as fastdiff's
        )

    def batches(verb, f, x):
        """The shapes of x f is called with, recorded from one call of verb."""
        shapes = []

        def g(v):
            shapes.append(np.shape(v))
            return f(v)

        verb(g, x)
        arrays = [np.full(s, 0.5) for s in shapes]
        return lambda: list(map(f, arrays))

    def pair(v):
        return np.stack([v[0] * v[1], np.sin(v[0])])

    verbs = {
        "derivative(np.sin, 4 points, vectorized)": (
            lambda f, x: fastdiff.derivative(f, x, vectorized=True),
            np.sin,
            xs,
        ),
        "gradient(rosen, 2-D, vectorized)": (
            lambda f, x: fastdiff.gradient(f, x, vectorized=True),
            rosen_vectorized,
            x2,
        ),
        "jacobian(2 outputs, 2-D, vectorized)": (
            lambda f, x: fastdiff.jacobian(f, x, vectorized=True),
            pair,
            x2,
        ),
        "hessian(rosen, 2-D, vectorized)": (
            lambda f, x: fastdiff.hessian(f, x, vectorized=True),
            rosen_vectorized,
            x2,
        ),
        "gradient(rosen, 2-D, looped)": (
            lambda f, x: fastdiff.gradient(f, x),
            rosen_point,
            x2,
        ),
        "gradient(rosen, 2-D, vectorized, forward)": (
            lambda f, x: fastdiff.gradient(f, x, method="forward", vectorized=True),
            rosen_vectorized,
            x2,
        ),
        "gradient(rosen, 2-D, vectorized, complex)": (
            lambda f, x: fastdiff.gradient(f, x, method="complex", vectorized=True),
            rosen_vectorized,
            x2,
        ),
        "gradient(rosen, 10-D, vectorized)": (
            lambda f, x: fastdiff.gradient(f, x, vectorized=True),
            rosen_vectorized,
            x10,
        ),
        "jvp(2 outputs, 2-D, vectorized)": (
            lambda f, x: fastdiff.jvp(f, x, np.array([1.0, -2.0]), vectorized=True),
            pair,
            x2,
        ),
        "jvp(2 outputs, 2-D, looped)": (
            lambda f, x: fastdiff.jvp(f, x, np.array([1.0, -2.0])),
            pair,
            x2,
        ),
        "hessdiag(rosen, 2-D, vectorized)": (
            lambda f, x: fastdiff.hessdiag(f, x, vectorized=True),
            rosen_vectorized,
            x2,
        ),
        "jacobian(2 outputs, 2-D, looped)": (
            lambda f, x: fastdiff.jacobian(f, x),
            pair,
            x2,
        ),
    }
    for name, (verb, f, x) in verbs.items():
        cases[name] = (lambda verb=verb, f=f, x=x: verb(f, x), batches(verb, f, x))
    return cases


WORKLOADS = {
    "exp_np": lambda: scalar_exp("np.exp"),
    "exp_math": lambda: scalar_exp("math.exp"),
    "sin_vectorized": vectorized_sin,
    "sin_looped": looped_sin,
    "grad100_vectorized": lambda: gradient_vectorized(100),
    "grad100_looped": lambda: gradient_looped(100),
    "grad1000_vectorized": lambda: gradient_vectorized(1000),
    "hess10_vectorized": lambda: hessian_vectorized(10),
}


def calls_for(run: Callable[[], object], target: float) -> int:
    """How many calls of run fill about `target` seconds (at least 1)."""
    t0 = time.perf_counter()
    run()
    once = time.perf_counter() - t0
    return max(1, min(100_000, int(target / max(once, 1e-7))))


def interleaved(
    impls: dict[str, Callable[[], object]], rounds: int, target: float, clock=time.perf_counter
):
    """Min time per call of each implementation over `rounds` rotating rounds (clock:
    time.thread_time for CPU time, which waiting for a busy machine's cores does not add to)."""
    names = list(impls)
    number = {k: calls_for(impls[k], target) for k in names}
    best = dict.fromkeys(names, math.inf)
    for r in range(rounds):
        for k in names[r % len(names) :] + names[: r % len(names)]:
            run, m = impls[k], number[k]
            t0 = clock()
            for _ in range(m):
                run()
            best[k] = min(best[k], (clock() - t0) / m)
    return best


def traced_peak(run: Callable[[], object]) -> float:
    """Peak of memory allocated during one call (tracemalloc sees NumPy's buffers), MiB."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        run()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


class _Throughput:
    """One workload of WORKLOADS, parametrised by implementation (see the module docstring)."""

    workload = ""
    param_names = ["implementation"]
    timeout = 300

    def setup(self, impl):
        w = WORKLOADS[self.workload]()
        if impl not in w.impls:
            raise NotImplementedError(f"{impl} is not installed")
        self.w = w
        self.run = w.impls[impl]
        self.impl = impl

    def time_call(self, impl):
        self.run()

    def track_evaluations_per_element(self, impl):
        return self.w.evaluations(impl)

    track_evaluations_per_element.unit = "evaluations"

    def track_peak_mib(self, impl):
        return traced_peak(self.run)

    track_peak_mib.unit = "MiB"

    def track_over_floor(self, impl):
        best = interleaved({"this": self.run, "floor": self.w.impls["floor"]}, 10, 0.01)
        return best["this"] / best["floor"]

    track_over_floor.unit = "time / floor's"


class ScalarExp(_Throughput):
    """d/dx np.exp at 1.0 with its error bar."""

    workload = "exp_np"
    params = (["fastdiff", "numdifftools", "scipy.differentiate", "jax.jit(grad)", "floor"],)


class ScalarMathExp(_Throughput):
    """d/dx math.exp at 1.0 (scipy gets np.vectorize(math.exp))."""

    workload = "exp_math"
    params = (["fastdiff", "numdifftools", "scipy.differentiate", "jax.jit(grad)", "floor"],)


class SinVectorized(_Throughput):
    """d/dx sin at 1e5 points in [0, 10], f vectorized."""

    workload = "sin_vectorized"
    params = (["fastdiff", "scipy.differentiate", "floor"],)


class SinLooped(_Throughput):
    """d/dx math.sin at 1e4 points, f called once per point (scipy: np.vectorize)."""

    workload = "sin_looped"
    params = (["fastdiff", "scipy.differentiate", "floor"],)


class Gradient100Vectorized(_Throughput):
    """Gradient of 100-D Rosenbrock, f vectorized (shape (n, k) -> (k,))."""

    workload = "grad100_vectorized"
    params = (["fastdiff", "scipy.differentiate", "floor"],)


class Gradient100Looped(_Throughput):
    """Gradient of 100-D Rosenbrock, f (scipy.optimize.rosen) called once per point."""

    workload = "grad100_looped"
    params = (["fastdiff", "numdifftools", "jacobi", "scipy approx_derivative", "floor"],)


class Gradient1000Vectorized(_Throughput):
    """Gradient of 1000-D Rosenbrock, f vectorized: time and tracemalloc peak."""

    workload = "grad1000_vectorized"
    params = (["fastdiff", "scipy.differentiate", "floor"],)


class Hessian10Vectorized(_Throughput):
    """Hessian of 10-D Rosenbrock, f vectorized (numdifftools: looped, its only way)."""

    workload = "hess10_vectorized"
    params = (["fastdiff", "numdifftools", "scipy.differentiate", "floor"],)


class LadderKernel:
    """The C ladder alone: update (and points + update) replayed on recorded values of f, for
    several f, n, stencils and a complex f (issue 10: the per-element, per-level cost)."""

    params = (list(LADDER_CASES),)
    param_names = ("case",)

    def setup(self, case):
        self.update, self.with_points, self.work = recorded_ladder(8192, *LADDER_CASES[case])

    def time_update(self, case):
        self.update()

    def time_points_and_update(self, case):
        self.with_points()

    def track_ns_per_element_level(self, case):
        best = interleaved({"update": self.update}, 10, 0.02)
        return best["update"] * 1e9 / self.work

    track_ns_per_element_level.unit = "ns"

    def track_element_levels_per_point(self, case):
        return self.work / 8192

    track_element_levels_per_point.unit = "levels"


class SinLevels:
    """Where the evaluations of d/dx sin at 1e5 points go: the ladder levels each point
    runs (1 + 2 x levels evaluations a point; converged points are not evaluated again)."""

    timeout = 120

    def setup_cache(self):
        return ladder_levels()

    def track_mean_levels(self, levels):
        return float(levels.mean())

    track_mean_levels.unit = "levels"

    def track_max_levels(self, levels):
        return int(levels.max())

    track_max_levels.unit = "levels"

    def track_evaluations_beyond_levels(self, levels):
        """derivative()'s evaluations per point minus 1 + 2 x its levels: 0 when no point
        is evaluated after it has finished (nor twice in a level)."""
        x = np.linspace(0.0, 10.0, levels.size)
        nfev = fastdiff.derivative(np.sin, x, vectorized=True).nfev
        return (nfev - levels.size - 2 * int(levels.sum())) / levels.size

    track_evaluations_beyond_levels.unit = "evaluations"


class FixedOverhead:
    """Fixed cost of a call beyond f's evaluations on small inputs (issue 10 item 3; target
    about 1 us for the scalar verb and 20 us for the array verbs)."""

    params = (list(overhead_cases()),)
    param_names = ["case"]
    timeout = 120

    def setup(self, case):
        self.run, self.f_alone = overhead_cases()[case]

    def time_call(self, case):
        self.run()

    def track_us_beyond_f(self, case):
        """CPU time of a call minus that of its evaluations alone, min of interleaved rounds."""
        best = interleaved({"verb": self.run, "f": self.f_alone}, 15, 0.01, time.thread_time)
        return (best["verb"] - best["f"]) * 1e6

    track_us_beyond_f.unit = "us"
