"""The dashboard's race: fastdiff beside every peer on the headline workloads.

Each workload has one ``time_`` benchmark parametrised by tool (one graph, one line per tool:
fastdiff and each peer) and one ``track_speedup`` parametrised by peer: the peer's time over
fastdiff's, both timed in the same process, interleaved, min over rounds. On a shared machine
the two timings drift together, so the ratio is the stable number; > 1 means fastdiff is
faster.

Each tool is called with its own idiom for the same mathematical task (the AD tools get f
written in their own array language; jax's function is jitted once in setup, float64):

* ``Scalar``: d/dx [exp(x) sin(x)] at x = 1.0, one point;
* ``Gradient``: the gradient of the 100-D Rosenbrock function at a fixed random point;
* ``Weights``: the 9-point central first-derivative stencil weights.

Only correct answers race: ``setup`` checks each tool's result against the analytic one.
Accuracy itself is tracked in finite_diff.py / multivariate.py / stencils.py; here one
process per parameter (asv) makes every extra benchmark cost, so the peers are imported
lazily too.

A peer that is not installed, or that has no idiom for a workload (findiff differentiates
sampled grids, not functions), raises NotImplementedError in setup: asv shows n/a.
"""

from __future__ import annotations

import importlib
import math
import time

import numpy as np

import fastdiff

PEERS = ["numdifftools", "scipy", "jax", "autograd", "num_dual", "jacobi", "findiff"]
TOOLS = ["fastdiff", *PEERS]
X_SCALAR = 1.0
N_GRAD = 100


def speedup(fast, peer, rounds: int = 15, sample: float = 0.01) -> float:
    """min(peer time) / min(fastdiff time) per call, interleaved rounds in this process.

    Each sample repeats its call enough times to last about `sample` seconds (calibrated on
    one warm call), so timer resolution does not matter; interleaving puts both under the
    same load; the minimum is the least disturbed sample.
    """

    def per_call(fn, number):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        return (time.perf_counter() - t0) / number

    numbers = []
    for fn in (fast, peer):
        fn()  # warm (imports, caches, jit)
        numbers.append(max(1, int(sample / max(per_call(fn, 1), 1e-9))))
    best = [math.inf, math.inf]
    for _ in range(rounds):
        for i, fn in enumerate((fast, peer)):
            best[i] = min(best[i], per_call(fn, numbers[i]))
    return best[1] / best[0]


def require(name: str):
    """Import peer `name` here, lazily (asv runs every parameter in its own process: a
    fastdiff run should not pay for importing jax), or skip (NotImplementedError)."""
    try:
        module = importlib.import_module(name)
    except ImportError:
        raise NotImplementedError(f"{name} is not installed") from None
    if name == "jax":
        module.config.update("jax_enable_x64", True)
    return module


# ---------------------------------------------------------------------------- workloads


def _scalar_call(tool: str):
    """A no-argument callable computing d/dx exp(x) sin(x) at X_SCALAR with `tool`."""
    x = X_SCALAR

    def f_np(t):
        return np.exp(t) * np.sin(t)

    if tool == "fastdiff":
        return lambda: fastdiff.derivative(f_np, x).df
    if tool == "numdifftools":
        d = require("numdifftools").Derivative(f_np)
        return lambda: d(x)
    if tool == "scipy":
        deriv = require("scipy.differentiate").derivative
        return lambda: deriv(f_np, x).df
    if tool == "jax":
        jax = require("jax")
        jnp = jax.numpy
        g = jax.jit(jax.grad(lambda t: jnp.exp(t) * jnp.sin(t)))
        return lambda: float(g(x))
    if tool == "autograd":
        autograd = require("autograd")
        anp = autograd.numpy
        g = autograd.grad(lambda t: anp.exp(t) * anp.sin(t))
        return lambda: g(x)
    if tool == "num_dual":
        nd_ = require("num_dual")
        return lambda: nd_.first_derivative(lambda t: t.exp() * t.sin(), x)[1]
    if tool == "jacobi":
        jac = require("jacobi").jacobi
        return lambda: jac(f_np, x)[0]
    raise NotImplementedError(f"{tool} has no idiom for a derivative of a function")


def _scalar_exact() -> float:
    return math.exp(X_SCALAR) * (math.sin(X_SCALAR) + math.cos(X_SCALAR))


def _rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2, axis=0)


def _rosen_der(x):
    g = np.zeros_like(x)
    g[1:-1] = (
        200 * (x[1:-1] - x[:-2] ** 2) - 400 * (x[2:] - x[1:-1] ** 2) * x[1:-1] - 2 * (1 - x[1:-1])
    )
    g[0] = -400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0])
    g[-1] = 200 * (x[-1] - x[-2] ** 2)
    return g


def _gradient_point() -> np.ndarray:
    return np.random.default_rng(1234).uniform(-1.0, 1.0, N_GRAD)


def _gradient_call(tool: str):
    """A no-argument callable computing the 100-D Rosenbrock gradient with `tool`."""
    x = _gradient_point()
    if tool == "fastdiff":  # f takes (n, k): k points per call
        return lambda: fastdiff.gradient(_rosen, x, vectorized=True).df
    if tool == "numdifftools":
        g = require("numdifftools").Gradient(_rosen)
        return lambda: g(x)
    if tool == "scipy":
        jac = require("scipy.differentiate").jacobian
        return lambda: jac(_rosen, x).df
    if tool == "jax":
        jax = require("jax")
        g = jax.jit(jax.grad(_rosen))  # jax.numpy via the array methods/operators
        return lambda: np.asarray(g(x))
    if tool == "autograd":
        g = require("autograd").grad(_rosen)
        return lambda: g(x)
    if tool == "num_dual":
        nd_ = require("num_dual")

        def rosen_duals(v):  # num_dual passes a list of dual numbers
            return sum(
                100.0 * (v[i + 1] - v[i] ** 2) ** 2 + (1.0 - v[i]) ** 2 for i in range(len(v) - 1)
            )

        xs = list(x)
        return lambda: np.asarray(nd_.gradient(rosen_duals, xs)[1])
    if tool == "jacobi":
        jac = require("jacobi").jacobi
        return lambda: jac(_rosen, x)[0]
    raise NotImplementedError(f"{tool} has no idiom for the gradient of a function")


def _weights_call(tool: str):
    """A no-argument callable computing 9-point central first-derivative weights."""
    offsets = np.arange(-4.0, 5.0)
    if tool == "fastdiff":
        return lambda: fastdiff.fd_weights(offsets, 1)
    if tool == "numdifftools":
        fw = require("numdifftools.fornberg").fd_weights
        return lambda: fw(offsets, 0.0, 1)
    if tool == "findiff":
        coef = require("findiff").coefficients
        return lambda: coef(deriv=1, acc=8)["center"]["coefficients"]
    raise NotImplementedError(f"{tool} has no stencil-weight routine")


def _weights_exact() -> np.ndarray:
    return fastdiff.fd_weights(np.arange(-4.0, 5.0), 1)  # exact to rounding: tests/test_stencils.py


# ---------------------------------------------------------------------------- benchmarks


class _Race:
    make = staticmethod(_scalar_call)
    params = [TOOLS]
    param_names = ["tool"]
    # A race of 8 tools over many commits: fewer, shorter samples than asv's defaults (2
    # rounds of up to 10 repeats). The ratios come from track_speedup, not from these lines.
    rounds = 1
    repeat = (1, 5, 2.0)
    warmup_time = 0.05

    exact = staticmethod(_scalar_exact)

    def setup(self, tool):
        self.run = type(self).make(tool)
        # Only correct answers race: every tool within 1e-6 (relative to max(1, |exact|)) of
        # the analytic value (the worst seen is jacobi's Rosenbrock gradient, 1.3e-8).
        got, want = np.asarray(self.run(), dtype=float), type(self).exact()
        if not np.all(np.abs(got - want) <= 1e-6 * np.maximum(1.0, np.abs(want))):
            raise AssertionError(f"{tool}: wrong answer {got} (exact {want})")

    def time_call(self, tool):
        self.run()


class _Speedup:
    make = staticmethod(_scalar_call)
    params = [PEERS]
    param_names = ["peer"]
    timeout = 120

    def setup(self, peer):
        self.fast = type(self).make("fastdiff")
        self.peer = type(self).make(peer)

    def track_speedup(self, peer):
        return speedup(self.fast, self.peer)

    track_speedup.unit = "x (peer time / fastdiff time)"


class Scalar(_Race):
    """d/dx exp(x) sin(x) at 1.0 (one point) by each tool."""

    make = staticmethod(_scalar_call)


class ScalarSpeedup(_Speedup):
    """fastdiff's speed-up over each peer on Scalar."""

    make = staticmethod(_scalar_call)


class Gradient(_Race):
    """Gradient of the 100-D Rosenbrock function by each tool."""

    make = staticmethod(_gradient_call)
    exact = staticmethod(lambda: _rosen_der(_gradient_point()))


class GradientSpeedup(_Speedup):
    """fastdiff's speed-up over each peer on Gradient."""

    make = staticmethod(_gradient_call)


class Weights(_Race):
    """9-point central first-derivative stencil weights by each tool."""

    make = staticmethod(_weights_call)
    exact = staticmethod(_weights_exact)


class WeightsSpeedup(_Speedup):
    """fastdiff's speed-up over each peer on Weights."""

    make = staticmethod(_weights_call)
