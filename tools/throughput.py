"""Issue 10's throughput table, measured side by side and interleaved in one process.

    python tools/throughput.py [--rounds R] [--only NAME ...] [--no-memory]

Every workload of the issue's table runs with fastdiff, the peers that are installed
(numdifftools, scipy.differentiate / scipy's approx_derivative, jacobi, jax) and the *floor*:
a bare NumPy (or math) central difference with a fixed step and no error estimate, the least
any differentiation of f at these points costs. Implementations are timed in rounds, the
order rotating from round to round, and each keeps its minimum time per call (the machine is
shared: ratios measured together are what count). Printed per workload:

* each implementation's best time, ``peer / fastdiff`` (above 1: fastdiff is faster) and
  ``fastdiff / floor`` (how far above the bare arithmetic fastdiff is);
* fastdiff's evaluations of f per element (per point, per coordinate of a gradient, per entry
  of a Hessian's upper triangle), counted by a wrapper;
* for the 1000-D gradient, the tracemalloc peak of one call of each implementation;
* the C ladder's cost per element and level: a recorded vectorized ladder (d/dx sin at 8192
  points) replayed through ``Ladder.update`` on the same values of f, with no f and no Python
  between levels but the loop itself.

A peer that is not installed is left out of the table (it says so).
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import fastdiff

try:
    import numdifftools
except ImportError:
    numdifftools = None
try:
    import scipy.differentiate as scipy_differentiate
    from scipy.optimize import rosen
    from scipy.optimize._numdiff import approx_derivative
except ImportError:
    scipy_differentiate = rosen = approx_derivative = None
try:
    import jacobi
except ImportError:
    jacobi = None
try:
    import jax
except ImportError:
    jax = None


@dataclass
class Workload:
    name: str
    impls: dict[str, Callable[[], object]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    nfev: float | None = None  # fastdiff's evaluations per element
    memory: bool = False  # also report tracemalloc peaks


def counted(f: Callable, per_call: Callable[[np.ndarray], int]):
    """f with a counter of evaluations (per_call(x): points in one call)."""

    def g(x, *args):
        g.count += per_call(x)
        return f(x, *args)

    g.count = 0
    return g


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


def fd_nfev(call, f, per_call, size) -> float:
    """fastdiff's evaluations per element: call(counted f) once."""
    g = counted(f, per_call)
    call(g)
    return g.count / size


# --------------------------------------------------------------------------------------------
# The workloads
# --------------------------------------------------------------------------------------------


def scalar_exp(fname: str) -> Workload:
    f = np.exp if fname == "np.exp" else math.exp
    w = Workload(f"d/dx exp at 1.0 ({fname})")
    x = 1.0
    w.impls["fastdiff"] = lambda: fastdiff.derivative(f, x)
    w.nfev = fd_nfev(lambda g: fastdiff.derivative(g, x), f, points_in, 1)
    if numdifftools is not None:
        d = numdifftools.Derivative(f, full_output=True)
        w.impls["numdifftools"] = lambda: d(x)
    else:
        w.missing.append("numdifftools")
    if scipy_differentiate is not None:
        fv = f if f is np.exp else np.vectorize(math.exp, otypes=[np.float64])
        w.impls["scipy.differentiate"] = lambda: scipy_differentiate.derivative(fv, x)
    else:
        w.missing.append("scipy")
    if jax is not None:
        jax.config.update("jax_enable_x64", True)
        g = jax.jit(jax.grad(jax.numpy.exp))
        float(g(x))
        w.impls["jax.jit(grad)"] = lambda: float(g(x))
    else:
        w.missing.append("jax")
    h = 2.0**-17  # ~eps^(1/3): the central difference's best fixed step at scale 1
    inv2h = 0.5 / h
    w.impls["floor"] = lambda: (f(x + h) - f(x - h)) * inv2h
    return w


def vectorized_sin() -> Workload:
    w = Workload("d/dx sin at 1e5 points, vectorized=True")
    x = np.linspace(0.0, 10.0, 100_000)
    w.impls["fastdiff"] = lambda: fastdiff.derivative(np.sin, x, vectorized=True)
    w.nfev = fd_nfev(
        lambda g: fastdiff.derivative(g, x, vectorized=True), np.sin, points_in, x.size
    )
    if scipy_differentiate is not None:
        w.impls["scipy.differentiate"] = lambda: scipy_differentiate.derivative(np.sin, x)
    else:
        w.missing.append("scipy")
    h = 2.0**-17 * np.maximum(np.abs(x), 1.0)
    w.impls["floor"] = lambda: (np.sin(x + h) - np.sin(x - h)) / (2.0 * h)
    return w


def looped_sin() -> Workload:
    w = Workload("d/dx math.sin at 1e4 points, looped")
    x = np.linspace(0.0, 10.0, 10_000)
    w.impls["fastdiff"] = lambda: fastdiff.derivative(math.sin, x)
    w.nfev = fd_nfev(lambda g: fastdiff.derivative(g, x), math.sin, points_in, x.size)
    if scipy_differentiate is not None:
        fv = np.vectorize(math.sin, otypes=[np.float64])
        w.impls["scipy.differentiate"] = lambda: scipy_differentiate.derivative(fv, x)
    else:
        w.missing.append("scipy")
    xs = x.tolist()
    h = 2.0**-17
    sin = math.sin

    def floor():
        return [(sin(v + h) - sin(v - h)) / (2 * h) for v in xs]

    w.impls["floor"] = floor
    return w


def gradient_floor_vectorized(n: int, x: np.ndarray):
    """All 2n central points as one (n, 2n) batch, one call of f, one difference."""
    h = 2.0**-17 * np.maximum(np.abs(x), 1.0)
    eye = np.eye(n)

    def floor():
        pts = x[:, None] + np.concatenate([eye * h, -eye * h], axis=1)
        y = rosen_vectorized(pts)
        return (y[:n] - y[n:]) / (2.0 * h)

    return floor


def gradient_vectorized(n: int) -> Workload:
    w = Workload(f"gradient of {n}-D Rosenbrock, vectorized=True", memory=n >= 1000)
    x = np.random.default_rng(1234).uniform(-1.0, 1.0, n)
    w.impls["fastdiff"] = lambda: fastdiff.gradient(rosen_vectorized, x, vectorized=True)
    w.nfev = fd_nfev(
        lambda g: fastdiff.gradient(g, x, vectorized=True), rosen_vectorized, columns_in, n
    )
    if scipy_differentiate is not None:
        w.impls["scipy.differentiate"] = lambda: scipy_differentiate.jacobian(rosen_vectorized, x)
    else:
        w.missing.append("scipy")
    w.impls["floor"] = gradient_floor_vectorized(n, x)
    return w


def gradient_looped(n: int) -> Workload:
    w = Workload(f"gradient of {n}-D Rosenbrock, f called once per point")
    x = np.random.default_rng(1234).uniform(-1.0, 1.0, n)
    w.impls["fastdiff"] = lambda: fastdiff.gradient(rosen_point, x)
    w.nfev = fd_nfev(lambda g: fastdiff.gradient(g, x), rosen_point, columns_in, n)
    if numdifftools is not None:
        g = numdifftools.Gradient(rosen_point)
        w.impls["numdifftools"] = lambda: g(x)
    else:
        w.missing.append("numdifftools")
    if jacobi is not None:
        w.impls["jacobi"] = lambda: jacobi.jacobi(rosen_point, x)
    else:
        w.missing.append("jacobi")
    if approx_derivative is not None:
        w.impls["scipy approx_derivative"] = lambda: approx_derivative(
            rosen_point, x, method="3-point"
        )
    else:
        w.missing.append("scipy")
    h = 2.0**-17 * np.maximum(np.abs(x), 1.0)

    def floor():
        g = np.empty(n)
        for i in range(n):
            xp = x.copy()
            xp[i] += h[i]
            xm = x.copy()
            xm[i] -= h[i]
            g[i] = (rosen_point(xp) - rosen_point(xm)) / (2.0 * h[i])
        return g

    w.impls["floor"] = floor
    return w


def hessian_vectorized(n: int) -> Workload:
    w = Workload(f"Hessian of {n}-D Rosenbrock, vectorized=True")
    x = np.random.default_rng(1234).uniform(-1.0, 1.0, n)
    w.impls["fastdiff"] = lambda: fastdiff.hessian(rosen_vectorized, x, vectorized=True)
    w.nfev = fd_nfev(
        lambda g: fastdiff.hessian(g, x, vectorized=True),
        rosen_vectorized,
        columns_in,
        n * (n + 1) // 2,
    )
    if numdifftools is not None:
        hs = numdifftools.Hessian(rosen_point)
        w.impls["numdifftools"] = lambda: hs(x)
    else:
        w.missing.append("numdifftools")
    if scipy_differentiate is not None:
        w.impls["scipy.differentiate"] = lambda: scipy_differentiate.hessian(rosen_vectorized, x)
    else:
        w.missing.append("scipy")
    # floor: the 4-point central formula for every pair (i <= j) in one batch
    h = 2.0**-13 * np.maximum(np.abs(x), 1.0)  # ~eps^(1/4)
    iu, ju = np.triu_indices(n)
    E = np.eye(n)
    a = E[:, iu] * h[iu] + E[:, ju] * h[ju]
    b = E[:, iu] * h[iu] - E[:, ju] * h[ju]
    offsets = np.concatenate([a, -a, b, -b], axis=1)
    npair = iu.size

    def floor():
        y = rosen_vectorized(x[:, None] + offsets).reshape(4, npair)
        hij = (y[0] + y[1] - y[2] - y[3]) / (4.0 * h[iu] * h[ju])
        H = np.empty((n, n))
        H[iu, ju] = hij
        H[ju, iu] = hij
        return H

    w.impls["floor"] = floor
    return w


def recorded_ladder(n_points: int = 8192):
    """One vectorized ladder of d/dx sin on n_points in [0, 10], recorded level by level:
    (run, replay, element_levels). replay() re-runs the C update on the recorded values of f
    (the same inputs give the same states), so it times the compiled ladder alone."""
    from fastdiff import _derivative, _steps
    from fastdiff._kernels import _finite_diff

    x = np.linspace(0.0, 10.0, n_points)
    cfg = _derivative.ladder_config(1, "central", 2, False, None, None)
    h0 = _steps.scale_of(x) * 2.0 ** _steps.initial_step_exponent(1)
    h0 = (x + h0) - x
    side = np.zeros(x.size, dtype=np.intc)
    flags = np.zeros(x.size, dtype=np.intc)
    f0 = np.zeros((x.size, 2))
    f0[:, 0] = np.sin(x)
    L = _finite_diff.Ladder(cfg, 1, float(np.finfo(np.float64).eps), x.size)
    L.init(x, h0, side, flags, f0)
    idx = L.active()
    levels = []
    while idx.size:
        fv = np.sin(L.points(idx))
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


def kernel_report(rounds: int) -> None:
    """ns per element and level of the C ladder (update alone; points + update)."""
    replay, with_points, work = recorded_ladder()
    best = interleaved({"update": replay, "points + update": with_points}, rounds, 0.02)
    print(f"\nC ladder, d/dx sin on 8192 points: {work} element-levels ({work / 8192:.2f} a point)")
    for k, t in best.items():
        print(f"  {k:26s} {t * 1e9 / work:9.1f} ns per element and level")


def call_counted(f):
    """f with a counter of its calls (not points)."""

    def g(x, *args):
        g.calls += 1
        return f(x, *args)

    g.calls = 0
    return g


def overhead_report(rounds: int) -> None:
    """Fixed cost of a call beyond f's evaluations (issue 10 item 3): the verb's time minus
    the time of the same calls of f made directly (one call per point for the scalar verb,
    one array call per level for the vectorized ones, with the same batch sizes)."""
    x1 = 1.0
    xs = np.array([0.5, 1.0, 1.5, 2.0])
    x2 = np.array([0.3, -0.4])
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
    }
    for name, (verb, f, x) in verbs.items():
        cases[name] = (lambda verb=verb, f=f, x=x: verb(f, x), batches(verb, f, x))
    impls = {}
    for name, (run, evals) in cases.items():
        impls[name] = run
        impls[name + " [f alone]"] = evals
    best = interleaved(impls, rounds, 0.02)
    print("\nFixed cost beyond the evaluations of f (verb time - time of the same calls of f)")
    for name in cases:
        t, tf = best[name], best[name + " [f alone]"]
        print(f"  {name:44s} {show(t)} total, {show(tf)} f, {(t - tf) * 1e6:8.2f} us beyond")


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


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------


def calls_for(run: Callable[[], object], target: float) -> int:
    """How many calls of run fill about `target` seconds (at least 1)."""
    t0 = time.perf_counter()
    run()
    once = time.perf_counter() - t0
    return max(1, min(100_000, int(target / max(once, 1e-7))))


def interleaved(impls: dict[str, Callable[[], object]], rounds: int, target: float):
    """Min time per call of each implementation over `rounds` rotating rounds."""
    names = list(impls)
    number = {k: calls_for(impls[k], target) for k in names}
    best = dict.fromkeys(names, math.inf)
    for r in range(rounds):
        for k in names[r % len(names) :] + names[: r % len(names)]:
            run, m = impls[k], number[k]
            t0 = time.perf_counter()
            for _ in range(m):
                run()
            best[k] = min(best[k], (time.perf_counter() - t0) / m)
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


def show(t: float) -> str:
    if t < 1e-3:
        return f"{t * 1e6:9.2f} us"
    return f"{t * 1e3:9.2f} ms"


def report(w: Workload, rounds: int, target: float, memory: bool) -> None:
    print(f"\n{w.name}", flush=True)
    best = interleaved(w.impls, rounds, target)
    t_fd, t_floor = best["fastdiff"], best.get("floor")
    for k, t in best.items():
        if k == "fastdiff":
            extra = f"fastdiff / floor = {t_fd / t_floor:6.1f}" if t_floor else ""
            if w.nfev is not None:
                extra += f"   {w.nfev:.2f} evaluations per element"
        elif k == "floor":
            extra = ""
        else:
            extra = f"peer / fastdiff = {t / t_fd:7.1f}"
        print(f"  {k:26s} {show(t)}   {extra}")
    if w.memory and memory:
        for k, run in w.impls.items():
            print(f"  {k:26s} peak {traced_peak(run):8.1f} MiB (tracemalloc)")
    for k in w.missing:
        print(f"  {k:26s} not installed")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=15, help="interleaved rounds (min is kept)")
    p.add_argument("--target", type=float, default=0.02, help="seconds per timed batch")
    p.add_argument("--only", nargs="*", choices=list(WORKLOADS), help="workloads to run")
    p.add_argument("--overhead", action="store_true", help="the fixed-cost table too")
    p.add_argument("--no-memory", action="store_true", help="skip the tracemalloc peaks")
    opts = p.parse_args(argv)
    print(
        f"fastdiff {fastdiff.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}"
    )
    for key in opts.only or list(WORKLOADS):
        report(WORKLOADS[key](), opts.rounds, opts.target, not opts.no_memory)
    if not opts.only:
        kernel_report(opts.rounds)
    if opts.overhead or not opts.only:
        overhead_report(opts.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
