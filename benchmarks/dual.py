"""Forward-mode derivatives: fastdiff's Dual against ad, jax, autograd and the analytic floor.

Two tasks, parametrised over the implementation (peers behind guarded imports; a missing peer
makes asv skip its cases):

* ScalarDerivative: d/dx of sin(x) exp(x) + x**3 at 0.7, through the public verb, the raw
  Dual arithmetic (the floor the verb is held to: at most about 1.5x), num_dual, jax, ad.
  ScalarDerivativeFixedCost: the same for x * x, where the fixed cost of each path shows.
  JaxScalarCompile times jax's first call (tracing and compiling) on its own.
* MLPGradient: the gradient of a NumPy-written MLP loss with 385 parameters (on DualArrays);
  MLPGradientBatchFirst the same network written batch-first (X @ W1 + b1);
  MLPGradientWide a 5201-parameter one (the gradient in chunks of partials);
  MLPGradientActivation with sigmoid and ReLU layers.
* TanhJacobian: the Jacobian of tanh(W @ x + b), W 100 x 100.
* RosenbrockHessian10: the Hessian of the 10-D Rosenbrock function (num_dual as well);
  RosenbrockHessianSizes the same at n = 10 and 30.
* DualArrayOps: the cost of one operation on the Hessian's DualArrays (first order, second
  order, second order with the bound's magnitude lane) against NumPy on the values.
* JaxFirstCall: jax's trace-and-compile time, apart from its steady state.
* DualArrayEvaluations: calls of f and honesty of the error bars (track_ only).
* TaylorFourthDerivative, TaylorArray: d^4/dx^4 of exp(x) sin(x) by Taylor mode, at 0.7 and
  at 10^4 points, against jax's nested grads; TaylorErrorBar, TaylorArrayErrorBar: the
  rounding bounds (track_ only).
"""

from __future__ import annotations

import math

import numpy as np

import fastdiff as fd
from fastdiff import math as fm
from fastdiff._forward import dual_derivative, dual_gradient

from .common import numdifftools, require

try:
    import ad
    from ad import admath
except ImportError:
    ad = None
try:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
except ImportError:
    jax = None
try:
    import autograd
    import autograd.numpy as anp
except ImportError:
    autograd = None
try:
    import num_dual
except ImportError:
    num_dual = None

X0 = 0.7
EXACT = (math.cos(X0) + math.sin(X0)) * math.exp(X0) + 3 * X0**2


def f_fastdiff(x):
    return fm.sin(x) * fm.exp(x) + x**3


def f_numpy(x):
    return np.sin(x) * np.exp(x) + x**3


def _scalar_impl(impl):
    """A zero-argument callable returning the derivative at X0 for one implementation."""
    if impl == "fastdiff.math Dual":  # .partial(): the derivative as a float, no array built
        return lambda: f_fastdiff(fd.Dual(X0)).partial()
    if impl == "numpy ufuncs on Dual":
        return lambda: f_numpy(fd.Dual(X0)).partial()
    if impl == "fastdiff dual_derivative":
        x = np.array(X0)
        return lambda: dual_derivative(f_fastdiff, x).df
    if impl == "fastdiff derivative(method='dual')":  # the public verb, a full Result
        return lambda: fd.derivative(f_fastdiff, X0, method="dual").df
    if impl == "num_dual":
        if num_dual is None:
            raise NotImplementedError

        def run():
            x = num_dual.Dual64(X0, 1.0)
            return (x.sin() * x.exp() + x**3).first_derivative

        return run
    if impl == "analytic":
        return lambda: (math.cos(X0) + math.sin(X0)) * math.exp(X0) + 3 * X0 * X0
    if impl == "ad":
        if ad is None:
            raise NotImplementedError

        def run():
            x = ad.adnumber(X0)
            return (admath.sin(x) * admath.exp(x) + x**3).d(x)

        return run
    if impl in ("jax.jit(jacfwd)", "jax.jacfwd"):
        if jax is None:
            raise NotImplementedError
        g = jax.jacfwd(lambda x: jnp.sin(x) * jnp.exp(x) + x**3)
        if impl == "jax.jit(jacfwd)":
            g = jax.jit(g)
        x = jnp.asarray(X0)
        g(x).block_until_ready()  # compile outside the timing: steady state
        return lambda: g(x).block_until_ready()
    if impl == "autograd":
        if autograd is None:
            raise NotImplementedError
        g = autograd.grad(lambda x: anp.sin(x) * anp.exp(x) + x**3)
        return lambda: g(X0)
    raise ValueError(impl)


class ScalarDerivative:
    params = [
        [
            "fastdiff derivative(method='dual')",
            "fastdiff.math Dual",
            "numpy ufuncs on Dual",
            "fastdiff dual_derivative",
            "analytic",
            "num_dual",
            "ad",
            "jax.jit(jacfwd)",
            "jax.jacfwd",
            "autograd",
        ]
    ]
    param_names = ["impl"]

    def setup(self, impl):
        self.run = _scalar_impl(impl)

    def time_derivative(self, impl):
        self.run()

    def track_abs_error(self, impl):
        return abs(float(self.run()) - EXACT)

    track_abs_error.unit = "abs error"


class JaxScalarCompile:
    """jax's first call of jit(jacfwd) on the scalar function: tracing plus compilation (a
    fresh function each time, so nothing is cached). fastdiff has no such step."""

    timeout = 120

    def setup(self):
        if jax is None:
            raise NotImplementedError
        self.x = jnp.asarray(X0)

    def time_first_call(self):
        g = jax.jit(jax.jacfwd(lambda x: jnp.sin(x) * jnp.exp(x) + x**3))
        g(self.x).block_until_ready()


class ScalarDerivativeFixedCost:
    """d/dx of x * x at 0.7: one operation, so the time is the fixed cost of each path (the
    public verb: its compiled entry, tag, seed and Result) against the raw Dual and num_dual."""

    params = [["fastdiff derivative(method='dual')", "fastdiff.math Dual", "num_dual"]]
    param_names = ["impl"]

    def setup(self, impl):
        if impl == "fastdiff derivative(method='dual')":
            self.run = lambda: fd.derivative(lambda x: x * x, X0, method="dual").df
        elif impl == "fastdiff.math Dual":
            self.run = lambda: (lambda x: x * x)(fd.Dual(X0)).partial()
        else:
            if num_dual is None:
                raise NotImplementedError

            def run():
                x = num_dual.Dual64(X0, 1.0)
                return (x * x).first_derivative

            self.run = run

    def time_derivative(self, impl):
        self.run()

    def track_abs_error(self, impl):
        return abs(float(self.run()) - 2 * X0)

    track_abs_error.unit = "abs error"


class ScalarDerivativeElementwise:
    """d/dx of the same function at 1000 points, elementwise: the verb's loop over points
    against the raw Dual loop and num_dual's."""

    params = [["fastdiff derivative(method='dual')", "fastdiff.math Dual loop", "num_dual loop"]]
    param_names = ["impl"]

    def setup(self, impl):
        xs = np.linspace(0.1, 1.0, 1000)
        pts = xs.tolist()
        if impl == "fastdiff derivative(method='dual')":
            self.run = lambda: fd.derivative(f_fastdiff, xs, method="dual").df
        elif impl == "fastdiff.math Dual loop":
            self.run = lambda: [f_fastdiff(fd.Dual(v)).partial() for v in pts]
        else:
            if num_dual is None:
                raise NotImplementedError

            def run():
                out = []
                for v in pts:
                    x = num_dual.Dual64(v, 1.0)
                    out.append((x.sin() * x.exp() + x**3).first_derivative)
                return out

            self.run = run
        self.exact = (np.cos(xs) + np.sin(xs)) * np.exp(xs) + 3 * xs**2

    def time_derivative(self, impl):
        self.run()

    def track_max_rel_error(self, impl):
        return float(np.max(np.abs(np.asarray(self.run()) - self.exact) / np.abs(self.exact)))

    track_max_rel_error.unit = "rel error"


# MLP 10 -> 32 -> 1 with tanh: 385 parameters (the same network as tests/mlp.py).
N_IN, N_HIDDEN = 10, 32
N_PARAMS = N_HIDDEN * N_IN + 2 * N_HIDDEN + 1


def _unpack(theta, xp=np):
    W1 = theta[: N_HIDDEN * N_IN].reshape(N_HIDDEN, N_IN)
    b1 = theta[N_HIDDEN * N_IN : N_HIDDEN * N_IN + N_HIDDEN].reshape(N_HIDDEN, 1)
    W2 = theta[N_HIDDEN * N_IN + N_HIDDEN : N_PARAMS - 1].reshape(1, N_HIDDEN)
    b2 = theta[N_PARAMS - 1 :].reshape(1, 1)
    return W1, b1, W2, b2


def mlp_loss(theta, X, y, xp=np):
    W1, b1, W2, b2 = _unpack(theta)
    r = W2 @ xp.tanh(W1 @ X + b1) + b2 - y
    return (r * r).sum() / r.size


def mlp_backprop(theta, X, y):
    W1, b1, W2, b2 = _unpack(theta)
    h = np.tanh(W1 @ X + b1)
    dr = 2.0 * (W2 @ h + b2 - y) / y.size
    dz = (W2.T @ dr) * (1.0 - h * h)
    return np.concatenate([(dz @ X.T).ravel(), dz.sum(axis=1), (dr @ h.T).ravel(), dr.sum(axis=1)])


def _unpack_batch_first(theta):
    W1 = theta[: N_IN * N_HIDDEN].reshape(N_IN, N_HIDDEN)
    b1 = theta[N_IN * N_HIDDEN : N_IN * N_HIDDEN + N_HIDDEN]
    W2 = theta[N_IN * N_HIDDEN + N_HIDDEN : N_PARAMS - 1].reshape(N_HIDDEN, 1)
    b2 = theta[N_PARAMS - 1 :]
    return W1, b1, W2, b2


def mlp_loss_batch_first(theta, X, y, xp=np):
    """The same network written batch-first, as NumPy NN code often is: X (batch, 10),
    h = tanh(X @ W1 + b1), r = h @ W2 + b2 - y (the structure along the last axis)."""
    W1, b1, W2, b2 = _unpack_batch_first(theta)
    r = xp.tanh(X @ W1 + b1) @ W2 + b2 - y
    return (r * r).sum() / r.size


def mlp_backprop_batch_first(theta, X, y):
    W1, b1, W2, b2 = _unpack_batch_first(theta)
    h = np.tanh(X @ W1 + b1)
    dr = 2.0 * (h @ W2 + b2 - y) / y.size
    dz = (dr @ W2.T) * (1.0 - h * h)
    return np.concatenate([(X.T @ dz).ravel(), dz.sum(axis=0), (h.T @ dr).ravel(), dr.sum(axis=0)])


def _mlp_impl(impl, theta, X, y, loss=mlp_loss, backprop=mlp_backprop):
    if impl == "fastdiff dual_gradient":
        return lambda: dual_gradient(loss, theta, (X, y)).df
    if impl == "backprop (analytic)":
        return lambda: backprop(theta, X, y)
    if impl == "ad":
        if ad is None:
            raise NotImplementedError

        def run():
            t = np.array(ad.adnumber(list(theta)), dtype=object)
            out = loss(t, X, y, xp=admath_np)
            return np.array(out.gradient(list(t)))

        return run
    if impl in ("jax.jit(jacfwd)", "jax.jacfwd"):
        if jax is None:
            raise NotImplementedError
        g = jax.jacfwd(lambda t: loss(t, jnp.asarray(X), jnp.asarray(y), xp=jnp))
        if impl == "jax.jit(jacfwd)":
            g = jax.jit(g)
        t = jnp.asarray(theta)
        g(t).block_until_ready()
        return lambda: g(t).block_until_ready()
    if impl == "autograd":
        if autograd is None:
            raise NotImplementedError
        g = autograd.grad(lambda t: loss(t, X, y, xp=anp))
        return lambda: g(theta)
    raise ValueError(impl)


class _AdNumpy:
    """tanh for object arrays of ad numbers (ad has no NumPy ufunc support)."""

    @staticmethod
    def tanh(a):
        return np.vectorize(admath.tanh, otypes=[object])(a)


admath_np = _AdNumpy()


class MLPGradient:
    # ad is left out of the grid: one gradient took 177 s here (it carries a dict of
    # derivatives per number); run _mlp_impl("ad", ...) by hand to reproduce.
    params = [
        [
            "fastdiff dual_gradient",
            "backprop (analytic)",
            "jax.jit(jacfwd)",
            "jax.jacfwd",
            "autograd",
        ]
    ]
    param_names = ["impl"]
    timeout = 120

    def setup(self, impl):
        rng = np.random.default_rng(0)
        self.theta = rng.normal(scale=0.3, size=N_PARAMS)
        self.X = rng.normal(size=(N_IN, 16))
        self.y = rng.normal(size=(1, 16))
        self.run = _mlp_impl(impl, self.theta, self.X, self.y)

    def time_gradient(self, impl):
        self.run()

    def track_max_abs_error(self, impl):
        exact = mlp_backprop(self.theta, self.X, self.y)
        return float(np.max(np.abs(np.asarray(self.run()) - exact)))

    track_max_abs_error.unit = "abs error"


class MLPGradientBatchFirst(MLPGradient):
    """MLPGradient's network written batch-first (X (16, 10) @ W1 + b1, h @ W2 + b2)."""

    def setup(self, impl):
        rng = np.random.default_rng(0)
        self.theta = rng.normal(scale=0.3, size=N_PARAMS)
        self.X = rng.normal(size=(16, N_IN))
        self.y = rng.normal(size=(16, 1))
        self.run = _mlp_impl(
            impl, self.theta, self.X, self.y, mlp_loss_batch_first, mlp_backprop_batch_first
        )

    def track_max_abs_error(self, impl):
        exact = mlp_backprop_batch_first(self.theta, self.X, self.y)
        return float(np.max(np.abs(np.asarray(self.run()) - exact)))

    track_max_abs_error.unit = "abs error"


def _sigmoid(z, xp=np):
    return 1.0 / (1.0 + xp.exp(-z))


def _relu(z, xp=np):
    return xp.maximum(z, 0.0)


_ACTIVATIONS = {"sigmoid": _sigmoid, "relu": _relu}


def mlp_loss_activation(theta, X, y, act, xp=np):
    """MLPGradient's network with another activation (name in _ACTIVATIONS)."""
    W1, b1, W2, b2 = _unpack(theta)
    r = W2 @ _ACTIVATIONS[act](W1 @ X + b1, xp) + b2 - y
    return (r * r).sum() / r.size


class MLPGradientActivation:
    """MLPGradient with sigmoid (1 / (1 + exp(-z))) and ReLU (np.maximum(z, 0)) layers."""

    params = [["fastdiff dual_gradient", "jax.jit(jacfwd)"], ["sigmoid", "relu"]]
    param_names = ["impl", "activation"]
    timeout = 120

    def setup(self, impl, activation):
        rng = np.random.default_rng(0)
        self.theta = rng.normal(scale=0.3, size=N_PARAMS)
        self.X = rng.normal(size=(N_IN, 16))
        self.y = rng.normal(size=(1, 16))

        def loss(t, X, y, xp=np):
            return mlp_loss_activation(t, X, y, activation, xp)

        self.run = _mlp_impl(impl, self.theta, self.X, self.y, loss, None)

    def time_gradient(self, impl, activation):
        self.run()


# A wider network, 50 -> 100 -> 1 (5201 parameters, batch 32): the dual gradient goes in
# chunks of partials (16 MiB of seeds a call), which keep the layers' structure too.
WIDE_IN, WIDE_HIDDEN, WIDE_BATCH = 50, 100, 32
WIDE_PARAMS = WIDE_HIDDEN * WIDE_IN + 2 * WIDE_HIDDEN + 1


def mlp_loss_wide(theta, X, y, xp=np):
    i, h = WIDE_IN, WIDE_HIDDEN
    W1 = theta[: h * i].reshape(h, i)
    b1 = theta[h * i : h * i + h].reshape(h, 1)
    W2 = theta[h * i + h : h * i + 2 * h].reshape(1, h)
    b2 = theta[h * i + 2 * h :].reshape(1, 1)
    r = W2 @ xp.tanh(W1 @ X + b1) + b2 - y
    return (r * r).sum() / r.size


class MLPGradientWide:
    """The gradient of a 5201-parameter MLP loss: forward mode in chunks against jax."""

    params = [["fastdiff dual_gradient", "jax.jit(jacfwd)", "autograd"]]
    param_names = ["impl"]
    timeout = 300

    def setup(self, impl):
        rng = np.random.default_rng(0)
        self.theta = rng.normal(scale=0.3, size=WIDE_PARAMS)
        self.X = rng.normal(size=(WIDE_IN, WIDE_BATCH))
        self.y = rng.normal(size=(1, WIDE_BATCH))
        self.run = _mlp_impl(impl, self.theta, self.X, self.y, mlp_loss_wide, None)

    def time_gradient(self, impl):
        self.run()

    def track_max_abs_error_vs_jax(self, impl):
        if jax is None:
            raise NotImplementedError
        exact = _mlp_impl("jax.jit(jacfwd)", self.theta, self.X, self.y, mlp_loss_wide)()
        return float(np.max(np.abs(np.asarray(self.run()) - np.asarray(exact))))

    track_max_abs_error_vs_jax.unit = "abs error"


class MLPGradientEvaluations:
    """Evaluations of the loss behind fastdiff's MLP gradient (chunks of partials).

    Its own class: asv skips a parameter only from setup, and the peers have no such count.
    """

    def setup(self):
        rng = np.random.default_rng(0)
        self.theta = rng.normal(scale=0.3, size=N_PARAMS)
        self.X = rng.normal(size=(N_IN, 16))
        self.y = rng.normal(size=(1, 16))

    def track_nfev(self):
        return dual_gradient(mlp_loss, self.theta, (self.X, self.y)).nfev


class MLPGradientPageFaults:
    """Minor page faults per MLP gradient in steady state (the dual verbs' block pool keeps the
    1.6 MB temporaries' pages; without it glibc hands back fresh pages: ~1100 per call)."""

    def setup(self):
        try:
            import resource
        except ImportError:  # not on Windows
            raise NotImplementedError from None
        self.resource = resource
        rng = np.random.default_rng(0)
        self.theta = rng.normal(scale=0.3, size=N_PARAMS)
        self.X = rng.normal(size=(N_IN, 16))
        self.y = rng.normal(size=(1, 16))
        for _ in range(5):
            dual_gradient(mlp_loss, self.theta, (self.X, self.y))

    def track_minor_faults_per_call(self):
        usage = self.resource.getrusage
        before = usage(self.resource.RUSAGE_SELF).ru_minflt
        for _ in range(20):
            dual_gradient(mlp_loss, self.theta, (self.X, self.y))
        return (usage(self.resource.RUSAGE_SELF).ru_minflt - before) / 20

    track_minor_faults_per_call.unit = "faults"


# ---------------------------------------------------------------------------------------------
# DualArray workloads (issue 8): NumPy code on DualArrays against jax, autograd and num_dual
# ---------------------------------------------------------------------------------------------

try:
    import num_dual
except ImportError:
    num_dual = None

TANH_N = 100


def _tanh_problem():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(TANH_N, TANH_N)) / np.sqrt(TANH_N)
    return W, rng.normal(size=TANH_N), rng.normal(size=TANH_N)


def _tanh_impl(impl, W, b, x):
    f = lambda v: np.tanh(W @ v + b)  # noqa: E731
    if impl == "fastdiff jacobian(method='dual')":
        return lambda: fd.jacobian(f, x, method="dual").df
    if impl == "analytic":
        return lambda: (1.0 - np.tanh(W @ x + b) ** 2)[:, None] * W
    if impl in ("jax.jit(jacfwd)", "jax.jacfwd"):
        if jax is None:
            raise NotImplementedError
        Wj, bj = jnp.asarray(W), jnp.asarray(b)
        g = jax.jacfwd(lambda v: jnp.tanh(Wj @ v + bj))
        if impl == "jax.jit(jacfwd)":
            g = jax.jit(g)
        xj = jnp.asarray(x)
        g(xj).block_until_ready()
        return lambda: g(xj).block_until_ready()
    if impl == "autograd":
        if autograd is None:
            raise NotImplementedError
        g = autograd.jacobian(lambda v: anp.tanh(anp.dot(W, v) + b))
        return lambda: g(x)
    raise ValueError(impl)


class TanhJacobian:
    """Jacobian of tanh(W @ x + b), W 100 x 100 (forward mode: 100 partials in one call)."""

    params = [
        [
            "fastdiff jacobian(method='dual')",
            "analytic",
            "jax.jit(jacfwd)",
            "jax.jacfwd",
            "autograd",
        ]
    ]
    param_names = ["impl"]

    def setup(self, impl):
        self.W, self.b, self.x = _tanh_problem()
        self.run = _tanh_impl(impl, self.W, self.b, self.x)

    def time_jacobian(self, impl):
        self.run()

    def track_max_abs_error(self, impl):
        exact = (1.0 - np.tanh(self.W @ self.x + self.b) ** 2)[:, None] * self.W
        return float(np.max(np.abs(np.asarray(self.run()) - exact)))

    track_max_abs_error.unit = "abs error"


class TanhJvp:
    """J v of tanh(W @ x + b), W 100 x 100: one call of f carrying v and, in a lane of the
    same DualArray, the rounding bound's magnitudes, against jax's jit(jvp)."""

    params = [["fastdiff jvp(method='dual')", "analytic", "jax.jit(jvp)"]]
    param_names = ["impl"]

    def setup(self, impl):
        W, b, x = _tanh_problem()
        v = np.random.default_rng(1).normal(size=x.shape)
        self.exact = (1.0 - np.tanh(W @ x + b) ** 2) * (W @ v)
        if impl == "fastdiff jvp(method='dual')":
            self.run = lambda: fd.jvp(lambda u: np.tanh(W @ u + b), x, v, method="dual").df
        elif impl == "analytic":
            self.run = lambda: (1.0 - np.tanh(W @ x + b) ** 2) * (W @ v)
        else:
            if jax is None:
                raise NotImplementedError
            Wj, bj = jnp.asarray(W), jnp.asarray(b)
            g = jax.jit(lambda u, d: jax.jvp(lambda t: jnp.tanh(Wj @ t + bj), (u,), (d,))[1])
            xj, vj = jnp.asarray(x), jnp.asarray(v)
            g(xj, vj).block_until_ready()
            self.run = lambda: g(xj, vj).block_until_ready()

    def time_jvp(self, impl):
        self.run()

    def track_max_abs_error(self, impl):
        return float(np.max(np.abs(np.asarray(self.run()) - self.exact)))


class JaxFirstCall:
    """jax's first call: tracing and XLA compilation of jit(jacfwd), separate from steady state.

    Each timing builds a new function object, so jax compiles again (its cache is keyed on the
    function). fastdiff has no compilation: its first call costs what later ones do.
    """

    params = [["tanh jacobian", "mlp gradient"]]
    param_names = ["task"]
    number = 1
    repeat = 5
    warmup_time = 0.0

    def setup(self, task):
        if jax is None:
            raise NotImplementedError
        self.W, self.b, self.x = _tanh_problem()
        rng = np.random.default_rng(0)
        self.theta = rng.normal(scale=0.3, size=N_PARAMS)
        self.X = rng.normal(size=(N_IN, 16))
        self.y = rng.normal(size=(1, 16))

    def time_first_call(self, task):
        if task == "tanh jacobian":
            Wj, bj = jnp.asarray(self.W), jnp.asarray(self.b)
            g = jax.jit(jax.jacfwd(lambda v: jnp.tanh(Wj @ v + bj)))
            g(jnp.asarray(self.x)).block_until_ready()
        else:
            X, y = jnp.asarray(self.X), jnp.asarray(self.y)
            g = jax.jit(jax.jacfwd(lambda t: mlp_loss(t, X, y, xp=jnp)))
            g(jnp.asarray(self.theta)).block_until_ready()


class DualArrayEvaluations:
    """Calls of f behind method='dual' on DualArrays (chunks of partials + one for the bound),
    and whether every error bar bounds the true error (1.0 = all of them)."""

    params = [
        ["tanh jacobian", "mlp gradient", "rosenbrock hessian", "tanh jvp", "rosenbrock gradient"]
    ]
    param_names = ["task"]

    def setup(self, task):
        W, b, x = _tanh_problem()
        rng = np.random.default_rng(0)
        theta = rng.normal(scale=0.3, size=N_PARAMS)
        X, y = rng.normal(size=(N_IN, 16)), rng.normal(size=(1, 16))
        if task == "tanh jacobian":
            self.res = fd.jacobian(lambda v: np.tanh(W @ v + b), x, method="dual")
            self.exact = (1.0 - np.tanh(W @ x + b) ** 2)[:, None] * W
        elif task == "mlp gradient":
            self.res = fd.gradient(mlp_loss, theta, method="dual", args=(X, y))
            self.exact = mlp_backprop(theta, X, y)
        elif task == "tanh jvp":  # J v and the bound's lane in one call: nfev 1
            v = rng.normal(size=x.shape)
            self.res = fd.jvp(lambda u: np.tanh(W @ u + b), x, v, method="dual")
            self.exact = (1.0 - np.tanh(W @ x + b) ** 2) * (W @ v)
        elif task == "rosenbrock gradient":  # 10 partials: the bound's lane, nfev 1
            self.res = fd.gradient(rosen, ROSEN_X, method="dual")
            self.exact = rosen_grad(ROSEN_X)
        else:
            self.res = fd.hessian(rosen, ROSEN_X, method="dual")
            self.exact = rosen_hess(ROSEN_X)

    def track_nfev(self, task):
        return self.res.nfev

    def track_max_error_over_bound(self, task):
        # float64 references (not exact themselves): a ratio well below 1 is the margin
        err = np.abs(self.res.df - self.exact)
        return float(np.max(err / np.maximum(self.res.error, 1e-300)))

    def track_median_bound_over_error(self, task):
        err = np.abs(self.res.df - self.exact)
        keep = err > 0
        return float(np.median(self.res.error[keep] / err[keep])) if keep.any() else 0.0


ROSEN_X = np.linspace(-1.2, 1.5, 10)


def rosen(v):
    return np.sum(100.0 * (v[1:] - v[:-1] ** 2) ** 2 + (1 - v[:-1]) ** 2)


def rosen_scalar(v):
    """The same Rosenbrock written on scalars (num_dual's dual numbers have no NumPy arrays)."""
    s = 0.0
    for i in range(len(v) - 1):
        s = s + 100.0 * (v[i + 1] - v[i] ** 2) ** 2 + (1 - v[i]) ** 2
    return s


def rosen_grad(v):
    g = np.zeros_like(v)
    d = v[1:] - v[:-1] ** 2
    g[:-1] = -400.0 * v[:-1] * d - 2.0 * (1 - v[:-1])
    g[1:] += 200.0 * d
    return g


def rosen_hess(v):
    n = v.size
    h = np.zeros((n, n))
    for i in range(n - 1):
        h[i, i] += 1200.0 * v[i] ** 2 - 400.0 * v[i + 1] + 2.0
        h[i, i + 1] = h[i + 1, i] = -400.0 * v[i]
        h[i + 1, i + 1] += 200.0
    return h


def _rosen_impl(impl):
    x = ROSEN_X
    if impl == "fastdiff hessian(method='dual')":
        return lambda: fd.hessian(rosen, x, method="dual").df
    if impl == "analytic":
        return lambda: rosen_hess(x)
    if impl == "num_dual.hessian":
        if num_dual is None:
            raise NotImplementedError
        xs = list(x)
        return lambda: np.asarray(num_dual.hessian(rosen_scalar, xs)[2])
    if impl in ("jax.jit(hessian)", "jax.hessian"):
        if jax is None:
            raise NotImplementedError
        g = jax.hessian(lambda v: jnp.sum(100.0 * (v[1:] - v[:-1] ** 2) ** 2 + (1 - v[:-1]) ** 2))
        if impl == "jax.jit(hessian)":
            g = jax.jit(g)
        xj = jnp.asarray(x)
        g(xj).block_until_ready()
        return lambda: g(xj).block_until_ready()
    if impl == "autograd":
        if autograd is None:
            raise NotImplementedError
        g = autograd.hessian(
            lambda v: anp.sum(100.0 * (v[1:] - v[:-1] ** 2) ** 2 + (1 - v[:-1]) ** 2)
        )
        return lambda: g(x)
    raise ValueError(impl)


class RosenbrockHessian10:
    """Hessian of the 10-D Rosenbrock function (forward over forward)."""

    params = [
        [
            "fastdiff hessian(method='dual')",
            "analytic",
            "num_dual.hessian",
            "jax.jit(hessian)",
            "jax.hessian",
            "autograd",
        ]
    ]
    param_names = ["impl"]

    def setup(self, impl):
        self.run = _rosen_impl(impl)

    def time_hessian(self, impl):
        self.run()

    def track_max_abs_error(self, impl):
        return float(np.max(np.abs(np.asarray(self.run()) - rosen_hess(ROSEN_X))))

    track_max_abs_error.unit = "abs error"


class RosenbrockHessianSizes:
    """The Rosenbrock Hessian as n grows: fastdiff's one call carries n + n^2 rows (and the
    bound's lane), num_dual's hyper-dual numbers n + n^2 per scalar operation."""

    params = [["fastdiff hessian(method='dual')", "num_dual.hessian", "jax.jit(hessian)"], [10, 30]]
    param_names = ["impl", "n"]

    def setup(self, impl, n):
        x = np.linspace(-1.2, 1.5, n)
        self.x = x
        if impl == "fastdiff hessian(method='dual')":
            self.run = lambda: fd.hessian(rosen, x, method="dual").df
        elif impl == "num_dual.hessian":
            if num_dual is None:
                raise NotImplementedError
            xs = list(x)
            self.run = lambda: np.asarray(num_dual.hessian(rosen_scalar, xs)[2])
        else:
            if jax is None:
                raise NotImplementedError
            g = jax.jit(
                jax.hessian(
                    lambda v: jnp.sum(100.0 * (v[1:] - v[:-1] ** 2) ** 2 + (1 - v[:-1]) ** 2)
                )
            )
            xj = jnp.asarray(x)
            g(xj).block_until_ready()
            self.run = lambda: g(xj).block_until_ready()

    def time_hessian(self, impl, n):
        self.run()

    def track_max_abs_error(self, impl, n):
        return float(np.max(np.abs(np.asarray(self.run()) - rosen_hess(self.x))))

    track_max_abs_error.unit = "abs error"


class DualArrayOps:
    """One operation on the DualArrays of the 10-D Hessian (9 elements): first order (10
    rows), second order (110 rows), and second order with the bound's magnitude lane (110 +
    73 rows), against the same NumPy operation on the values alone (the floor). Arithmetic,
    slices and sums run in DualBase's compiled fast paths (fastdiff._kernels._dualarray);
    the difference to "values only" is what one operation on the partials costs."""

    params = [
        [
            "x * y",
            "x * x",
            "x ** 2",
            "x - y",
            "x + y",
            "x / y",
            "100 * x",
            "1 - x",
            "x + 1.0",
            "x[1:]",
            "sum(x)",
            "x.sum()",
            "tanh(x)",
        ],
        ["values only", "first", "second", "second + lane"],
    ]
    param_names = ["op", "rows"]

    def setup(self, op, rows):
        from fastdiff import DualArray
        from fastdiff._forward import HESSIAN_BOUND_GROUPS, _bound_seed
        from fastdiff._kernels import _dual

        n = k = 10
        v = np.linspace(-1.2, 1.5, n)
        if rows == "values only":
            x = v
        else:
            self.tag = _dual.open_tag()
            m = k if rows == "first" else k + k * k
            seed = np.eye(m, n)
            if rows == "second + lane":
                groups, brows = _bound_seed(n, HESSIAN_BOUND_GROUPS, True)
                seed = np.concatenate([seed, brows])
            x = DualArray._make(v.copy(), seed, k, self.tag)
            if rows == "second + lane":
                x._lane = (m, int(groups[-1]) + 1, [False])
        a, b = x[1:], x[:-1]
        self.run = {
            "x * y": lambda: a * b,
            "x * x": lambda: a * a,
            "x ** 2": lambda: a**2,
            "x - y": lambda: a - b,
            "x + y": lambda: a + b,
            "x / y": lambda: a / b,
            "100 * x": lambda: 100.0 * a,
            "1 - x": lambda: 1 - a,
            "x + 1.0": lambda: a + 1.0,
            "x[1:]": lambda: x[1:],
            "sum(x)": lambda: np.sum(a),
            "x.sum()": lambda: a.sum(),
            "tanh(x)": lambda: np.tanh(a),
        }[op]

    def teardown(self, op, rows):
        if rows != "values only":
            from fastdiff._kernels import _dual

            _dual.close_tag(self.tag)

    def time_op(self, op, rows):
        self.run()


# Taylor mode: d^4/dx^4 of exp(x) sin(x) at 0.7 (derivative with method="dual", n = 4).
TAYLOR_N = 4
TAYLOR_EXACT = -4.0 * math.exp(X0) * math.sin(X0)  # (e^x sin x)'''' = -4 e^x sin x


def _taylor_impl(impl):
    """A zero-argument callable returning d^4/dx^4 exp(x) sin(x) at X0 for one implementation."""
    if impl == "fastdiff dual (fastdiff.math)":
        return lambda: (
            fd.derivative(lambda x: fm.exp(x) * fm.sin(x), X0, n=TAYLOR_N, method="dual").df
        )
    if impl == "fastdiff dual (numpy ufuncs)":
        return lambda: (
            fd.derivative(lambda x: np.exp(x) * np.sin(x), X0, n=TAYLOR_N, method="dual").df
        )
    if impl == "fastdiff central":
        return lambda: fd.derivative(lambda x: np.exp(x) * np.sin(x), X0, n=TAYLOR_N).df
    if impl in ("jax.jit(grad^4)", "jax grad^4"):
        if jax is None:
            raise NotImplementedError
        g = lambda x: jnp.exp(x) * jnp.sin(x)  # noqa: E731
        for _ in range(TAYLOR_N):
            g = jax.grad(g)
        if impl == "jax.jit(grad^4)":
            g = jax.jit(g)
        x = jnp.asarray(X0)
        g(x).block_until_ready()  # compile outside the timing: steady state
        return lambda: g(x).block_until_ready()
    if impl == "numdifftools":
        nd = require(numdifftools, "numdifftools")
        d = nd.Derivative(lambda x: np.exp(x) * np.sin(x), n=TAYLOR_N)
        return lambda: d(X0)
    raise ValueError(impl)


class TaylorFourthDerivative:
    """Taylor mode against nested reverse mode (jax), the central ladder and numdifftools."""

    params = [
        [
            "fastdiff dual (fastdiff.math)",
            "fastdiff dual (numpy ufuncs)",
            "fastdiff central",
            "jax.jit(grad^4)",
            "jax grad^4",
            "numdifftools",
        ]
    ]
    param_names = ["impl"]

    def setup(self, impl):
        self.run = _taylor_impl(impl)

    def time_derivative(self, impl):
        self.run()

    def track_rel_error(self, impl):
        return abs(float(self.run()) - TAYLOR_EXACT) / abs(TAYLOR_EXACT)

    track_rel_error.unit = "rel error"


class TaylorErrorBar:
    """The reported error bar of Taylor mode (a rounding bound) relative to |df|, and nfev."""

    params = [[2, 4, 8]]
    param_names = ["n"]

    def setup(self, n):
        self.res = fd.derivative(lambda x: fm.exp(x) * fm.sin(x), X0, n=n, method="dual")

    def track_rel_error_bar(self, n):
        return float(self.res.error) / abs(float(self.res.df))

    track_rel_error_bar.unit = "rel error bar"

    def track_nfev(self, n):
        return self.res.nfev


def _jax_elementwise(g, x):
    """jax.jit(jax.vmap(g)) over the points x, compiled outside the timing: a zero-argument
    callable of its steady state."""
    g = jax.jit(jax.vmap(g))
    xj = jnp.asarray(x)
    g(xj).block_until_ready()
    return lambda: g(xj).block_until_ready()


class DualArrayDerivative:
    """d/dx of sin(x) exp(x) + x^3 elementwise over 10^4 points, method="dual": one Dual per
    point (vectorized=False), one DualArray of every point and its bound (vectorized=True,
    nfev 2), against jax.jit(vmap(grad)) and autograd's elementwise_grad."""

    params = [
        [
            "fastdiff dual, vectorized",
            "fastdiff dual, per point",
            "jax.jit(vmap(grad))",
            "autograd",
        ]
    ]
    param_names = ["impl"]

    def setup(self, impl):
        x = np.linspace(-2.0, 2.0, 10_000)
        self.exact = (np.cos(x) + np.sin(x)) * np.exp(x) + 3.0 * x * x
        f = lambda t: np.sin(t) * np.exp(t) + t**3  # noqa: E731
        if impl.startswith("fastdiff"):
            vec = impl.endswith("vectorized")
            self.run = lambda: fd.derivative(f, x, method="dual", vectorized=vec).df
        elif impl == "autograd":
            if autograd is None:
                raise NotImplementedError
            g = autograd.elementwise_grad(lambda t: anp.sin(t) * anp.exp(t) + t**3)
            self.run = lambda: g(x)
        else:
            if jax is None:
                raise NotImplementedError
            self.run = _jax_elementwise(jax.grad(lambda t: jnp.sin(t) * jnp.exp(t) + t**3), x)

    def time_derivative(self, impl):
        self.run()

    def track_max_rel_error(self, impl):
        err = np.abs(np.asarray(self.run()) - self.exact)
        return float(np.max(err / np.abs(self.exact)))

    track_max_rel_error.unit = "rel error"


class TaylorArray:
    """d^4/dx^4 elementwise over 10^4 points: one Taylor number, one C loop per operation."""

    params = [["fastdiff dual", "jax.jit(vmap(grad^4))"]]
    param_names = ["impl"]

    def setup(self, impl):
        x = np.linspace(-2.0, 2.0, 10_000)
        self.exact = -4.0 * np.exp(x) * np.sin(x)
        if impl == "fastdiff dual":
            self.run = lambda: (
                fd.derivative(lambda t: np.exp(t) * np.sin(t), x, n=TAYLOR_N, method="dual").df
            )
            return
        if jax is None:
            raise NotImplementedError
        g = lambda v: jnp.exp(v) * jnp.sin(v)  # noqa: E731
        for _ in range(TAYLOR_N):
            g = jax.grad(g)
        self.run = _jax_elementwise(g, x)

    def time_derivative(self, impl):
        self.run()

    def track_max_rel_error(self, impl):
        # relative to the largest |exact|: the exact values pass through zero (sin x at 0)
        err = np.abs(np.asarray(self.run()) - self.exact)
        return float(np.max(err) / np.max(np.abs(self.exact)))

    track_max_rel_error.unit = "rel error"


class TaylorArrayErrorBar:
    """Taylor mode over 10^4 points: whether every error bar bounds the true error (max ratio,
    below 1 where they all do) and how tight they are (median bar / error), against the
    float64 closed form -4 e^x sin x (itself within a few ulp)."""

    def setup(self):
        x = np.linspace(-2.0, 2.0, 10_000)
        self.res = fd.derivative(lambda t: np.exp(t) * np.sin(t), x, n=TAYLOR_N, method="dual")
        self.exact = -4.0 * np.exp(x) * np.sin(x)

    def track_max_error_over_bound(self):
        err = np.abs(self.res.df - self.exact)
        return float(np.max(err / np.maximum(self.res.error, 1e-300)))

    def track_median_bound_over_error(self):
        err = np.abs(self.res.df - self.exact)
        keep = err > 0
        return float(np.median(self.res.error[keep] / err[keep])) if keep.any() else 0.0

    def track_nfev(self):
        return self.res.nfev


class TaylorArrayPageFaults:
    """Minor page faults per d^4/dx^4 over 10^4 points in steady state: Taylor numbers take
    their 800 KB buffers from the dual block pool (without it: ~550 per call)."""

    def setup(self):
        try:
            import resource
        except ImportError:  # not on Windows
            raise NotImplementedError from None
        self.resource = resource
        self.x = np.linspace(-2.0, 2.0, 10_000)
        for _ in range(5):
            self.run()

    def run(self):
        return fd.derivative(lambda t: np.exp(t) * np.sin(t), self.x, n=TAYLOR_N, method="dual")

    def track_minor_faults_per_call(self):
        usage = self.resource.getrusage
        before = usage(self.resource.RUSAGE_SELF).ru_minflt
        for _ in range(20):
            self.run()
        return (usage(self.resource.RUSAGE_SELF).ru_minflt - before) / 20

    track_minor_faults_per_call.unit = "faults"


class SparseDualHessianBlocks:
    """hessian(f, x, sparsity=P, method="dual") of chained Rosenbrock, n = 500, with b
    coordinates per call (fastdiff._sparse.SPARSE_HESSIAN_BLOCK, 8 by default; 16 gives
    k = 19 directions, 1.5 MB per array of partials). With a block pool of 8 slots the
    squares of such arrays freed more blocks than it kept and page-faulted afresh: 187 ms at
    b = 16 against 35 ms at b = 8; with 32 slots 44 ms against 33 ms (interleaved, loaded
    machine). Peers: scipy.sparse for the pattern only."""

    params = [[8, 16]]
    param_names = ["block"]
    timeout = 300

    def setup(self, block):
        try:
            import scipy.sparse as sp
        except ImportError:
            raise NotImplementedError from None
        from fastdiff import _sparse

        self.sparse = _sparse
        self.saved = (_sparse.SPARSE_HESSIAN_BLOCK, _sparse.SPARSE_HESSIAN_ARRAY_BYTES)
        _sparse.SPARSE_HESSIAN_BLOCK = block
        _sparse.SPARSE_HESSIAN_ARRAY_BYTES = 1 << 30  # the block as given
        self.x = np.linspace(-1.2, 1.5, 500)
        self.P = sp.diags([1, 1, 1], offsets=[-1, 0, 1], shape=(500, 500), dtype=bool)
        fd.hessian(rosen, self.x, sparsity=self.P, method="dual")  # the pool warm

    def teardown(self, block):
        self.sparse.SPARSE_HESSIAN_BLOCK, self.sparse.SPARSE_HESSIAN_ARRAY_BYTES = self.saved

    def time_hessian(self, block):
        fd.hessian(rosen, self.x, sparsity=self.P, method="dual")

    def track_nfev(self, block):
        return fd.hessian(rosen, self.x, sparsity=self.P, method="dual").nfev
