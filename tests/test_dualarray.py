"""DualArray: the rule table on arrays vs mpmath, every __array_function__ vs the complex step or
finite differences, broadcasting, indexing, assignment, errors, and method="dual" on it."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastdiff as fd
from fastdiff import Dual, DualArray
from fastdiff._dualarray import NO_UNIT
from fastdiff._forward import dual_gradient, dual_hessian, dual_jacobian, dual_jvp
from fastdiff._kernels import _dual
from mlp import backprop, loss, make_problem
from test_dual import MP_BINARY, MP_UNARY, RULE_TOL, sample_points

EPS = float(np.finfo(np.float64).eps)
UNARY = [n for n in _dual.RULE_NAMES if _dual.RULE_ARITY[n] == 1]
BINARY = [n for n in _dual.RULE_NAMES if _dual.RULE_ARITY[n] == 2]
# ufunc spelling of each row (relu, softplus, erf, erfc, expit have no NumPy ufunc)
NP_UFUNC = {
    n: getattr(np, n) for n in _dual.RULE_NAMES if isinstance(getattr(np, n, None), np.ufunc)
}


def seeded(x, k=3, seed=0):
    """x as a DualArray with k random directions, and the directions (S + (k,))."""
    p = np.random.default_rng(seed).normal(size=(*np.shape(x), k))
    return DualArray(x, p), p


def close(a, b, tol):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.all(np.abs(a - b) <= tol * np.maximum(1.0, np.abs(b)))


# ---------------------------------------------------------------------------------------------
# The rule table on arrays
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", UNARY)
def test_unary_rule_on_arrays_matches_mpmath(name):
    lo, hi = _dual.RULE_DOMAINS[name][:2]
    x = np.array(sample_points(lo, hi)).reshape(5, 1) * np.ones((1, 2))
    d, p = seeded(x)
    fn = NP_UFUNC.get(name) or getattr(fd.math, name)
    y = fn(d) if name in NP_UFUNC else DualArray.__array_ufunc__(d, _FakeUfunc(name), "__call__", d)
    deriv = np.array([float(mp.diff(MP_UNARY[name], mp.mpf(v))) for v in x.ravel()]).reshape(
        x.shape
    )
    value = np.array([float(MP_UNARY[name](mp.mpf(v))) for v in x.ravel()]).reshape(x.shape)
    assert close(y.value, value, RULE_TOL)
    assert close(y.partials, deriv[..., None] * p, 4 * RULE_TOL)


class _FakeUfunc:
    """Stands for scipy.special.<name> (erf, expit, ...): __array_ufunc__ dispatches by name."""

    def __init__(self, name):
        self.__name__ = name


@pytest.mark.parametrize("name", BINARY)
def test_binary_rule_on_arrays_matches_mpmath_with_broadcasting(name):
    xlo, xhi, ylo, yhi = _dual.RULE_DOMAINS[name]
    x = np.array(sample_points(xlo, xhi)).reshape(5, 1)
    y = np.array(np.roll(sample_points(ylo, yhi), 1)[:3]).reshape(1, 3)
    dx, px = seeded(x, seed=1)
    dy, py = seeded(y, seed=2)
    fn = NP_UFUNC.get(name) or _FakeUfunc(name)
    call = (
        fn
        if name in NP_UFUNC
        else (lambda a, b: DualArray.__array_ufunc__(a, fn, "__call__", a, b))
    )
    X, Y = np.broadcast_arrays(x, y)
    fx = np.vectorize(lambda a, b: float(mp.diff(MP_BINARY[name], (mp.mpf(a), mp.mpf(b)), (1, 0))))(
        X, Y
    )
    fy = np.vectorize(lambda a, b: float(mp.diff(MP_BINARY[name], (mp.mpf(a), mp.mpf(b)), (0, 1))))(
        X, Y
    )
    both = call(dx, dy)
    assert both.shape == (5, 3)
    assert close(both.partials, fx[..., None] * px + fy[..., None] * py, 4 * RULE_TOL)
    assert close(call(dx, y).partials, fx[..., None] * px * np.ones((1, 3, 1)), 4 * RULE_TOL)
    assert close(call(x, dy).partials, fy[..., None] * py * np.ones((5, 1, 1)), 4 * RULE_TOL)


def test_arithmetic_with_ndarrays_floats_and_duals_broadcasts_as_numpy():
    x = np.array([[0.5, 1.5, 2.0]])
    d, p = seeded(x, k=2)
    c = np.array([[2.0], [3.0]])
    for op, dop in [
        (lambda a: a + c, lambda v, t: t * np.ones((2, 1, 1))),
        (lambda a: c - a, lambda v, t: -t * np.ones((2, 1, 1))),
        (lambda a: a * c, lambda v, t: c[..., None] * t),
        (lambda a: c / a, lambda v, t: (-c / v**2)[..., None] * t),
        (lambda a: a / c, lambda v, t: t / c[..., None]),
        (lambda a: a**3.0, lambda v, t: (3 * v**2)[..., None] * t),
        (lambda a: 2.0**a, lambda v, t: (np.log(2) * 2.0**v)[..., None] * t),
        (lambda a: a**a, lambda v, t: (v**v * (np.log(v) + 1))[..., None] * t),
        (lambda a: -a + 1.0, lambda v, t: -t),
        (lambda a: abs(a - 1.0), lambda v, t: np.sign(v - 1.0)[..., None] * t),
    ]:
        r = op(d)
        expected = op(x)
        assert isinstance(r, DualArray) and r.shape == np.shape(expected)
        np.testing.assert_allclose(r.value, expected, rtol=4 * EPS)
        np.testing.assert_allclose(
            r.partials, np.broadcast_to(dop(x, p), r.partials.shape), rtol=16 * EPS
        )
    # a Dual operand with the same number of partials
    s = Dual(2.0, [1.0, -1.0])
    r = d * s
    np.testing.assert_allclose(r.partials, 2.0 * p + x[..., None] * np.array([1.0, -1.0]))


def test_comparisons_act_on_values():
    d, _ = seeded(np.array([1.0, 2.0, 3.0]))
    assert (d < 2.5).tolist() == [True, True, False]
    assert (np.greater_equal(d, 2.0)).tolist() == [False, True, True]
    assert (d == np.array([1.0, 0.0, 3.0])).tolist() == [True, False, True]


def test_kink_conventions():
    d = DualArray([0.0, 1.0, 1.0], np.ones((3, 1)))
    assert np.abs(d).partials[:, 0].tolist() == [0.0, 1.0, 1.0]  # abs'(0) = 0
    m = np.maximum(d, np.array([0.0, 1.0, 2.0]))
    assert m.partials[:, 0].tolist() == [0.5, 0.5, 0.0]  # ties 1/2
    assert np.max(DualArray([2.0, 2.0], np.eye(2))).partials.tolist() == [0.5, 0.5]
    relu = DualArray.__array_ufunc__(d - 1.0, _FakeUfunc("relu"), "__call__", d - 1.0)
    assert relu.partials[:, 0].tolist() == [0.0, 0.0, 0.0]  # relu'(0) = 0


# ---------------------------------------------------------------------------------------------
# __array_function__: each function against the complex step (exact for analytic code) or, at
# kinks-free points of the piecewise functions, central differences
# ---------------------------------------------------------------------------------------------

RNG = np.random.default_rng(5)
A = RNG.normal(size=(3, 3)) + 3 * np.eye(3)
B = RNG.normal(size=(3, 4))
C3 = RNG.normal(size=(2, 3, 3))
V3 = RNG.normal(size=3)

# name -> (function of x, shape of x); f uses NumPy only and works on complex arrays
ANALYTIC = {
    "sum": (lambda x: np.sum(x * x, axis=0), (3, 4)),
    "sum_all": (lambda x: np.sum(np.sin(x)), (3, 4)),
    "sum_keepdims": (lambda x: np.sum(x, axis=-1, keepdims=True) * x, (3, 4)),
    "mean": (lambda x: np.mean(x**3, axis=1), (3, 4)),
    "prod": (lambda x: np.prod(x, axis=0), (5, 2)),
    "prod_all": (lambda x: np.prod(x), (7,)),
    "dot_vv": (lambda x: np.dot(x, V3 * x), (3,)),
    "dot_mv": (lambda x: np.dot(A, x) * x, (3,)),
    "dot_mm": (lambda x: np.dot(x, B.T) @ x + np.dot(A, x), (3, 4)),
    "matmul_const_left": (lambda x: A @ x, (3, 4)),
    "matmul_const_right": (lambda x: x @ B.T, (3, 4)),
    "matmul_both": (lambda x: x @ x.T, (3, 4)),
    "matmul_vec": (lambda x: (x @ A) @ x, (3,)),
    "matmul_batched": (lambda x: C3 @ x, (3, 4)),
    "tensordot": (lambda x: np.tensordot(x, B, axes=([1], [1])), (3, 4)),
    "tensordot_both": (lambda x: np.tensordot(x, x, axes=2), (3, 4)),
    "einsum": (lambda x: np.einsum("ij,jk,ik->i", x, B.T @ B, x), (3, 4)),
    "einsum_implicit": (lambda x: np.einsum("ij,ij", x, x), (3, 4)),
    "outer": (lambda x: np.outer(x, V3), (3,)),
    "inner": (lambda x: np.inner(x, x[::-1]), (3,)),
    "reshape": (lambda x: np.reshape(x, (4, 3)) * np.arange(12.0).reshape(4, 3), (3, 4)),
    "transpose": (lambda x: np.transpose(x) @ A, (3, 4)),
    "swapaxes": (lambda x: np.swapaxes(x, 0, 1) * np.arange(3.0), (3, 4)),
    "moveaxis": (lambda x: np.moveaxis(x, 0, -1) ** 2, (2, 3, 4)),
    "squeeze": (lambda x: np.squeeze(x, axis=1) * 2.0, (3, 1)),
    "expand_dims": (lambda x: np.expand_dims(x, 0) * np.ones((2, 1)), (3,)),
    "broadcast_to": (lambda x: np.broadcast_to(x, (2, 3)) * np.arange(6.0).reshape(2, 3), (3,)),
    "concatenate": (lambda x: np.concatenate([x, V3, x * x]), (3,)),
    "stack": (lambda x: np.stack([x, V3, np.exp(x)], axis=1), (3,)),
    "hstack": (lambda x: np.hstack([x, x**2]), (3,)),
    "vstack": (lambda x: np.vstack([x, V3]), (3,)),
    "where": (lambda x: np.where(np.arange(3) > 0, x * x, 1.0), (3,)),
    "diag_of_vector": (lambda x: np.diag(x, 1) @ np.ones(4), (3,)),
    "diag_of_matrix": (lambda x: np.diag(x) ** 2, (3, 3)),
    "trace": (lambda x: np.trace(x @ x), (3, 3)),
    "cumsum": (lambda x: np.cumsum(x * x, axis=0), (3, 2)),
    "cumsum_flat": (lambda x: np.cumsum(x), (2, 2)),
    "diff": (lambda x: np.diff(x**3, n=2), (5,)),
    "solve": (lambda x: np.linalg.solve(A + np.diag(x), V3 * x), (3,)),
    "solve_const_matrix": (lambda x: np.linalg.solve(A, x), (3, 4)),
    "inv": (lambda x: np.linalg.inv(A + x), (3, 3)),
    "det": (lambda x: np.linalg.det(A + x), (3, 3)),
    "ravel_methods": (lambda x: x.T.reshape(-1).sum() * x.ravel(), (2, 3)),
}
PIECEWISE = {
    "clip": (lambda x: np.clip(x, -0.5, 0.5) * x, (6,)),
    "maximum": (lambda x: np.maximum(x, 0.1) + np.minimum(x, -0.1), (6,)),
    "abs": (lambda x: np.abs(x) ** 3, (6,)),
    "max": (lambda x: np.max(x * x, axis=0), (3, 2)),
    "min": (lambda x: np.min(np.sin(x)), (6,)),
    "amax_method": (lambda x: x.max() - x.min(axis=0), (6,)),
    "norm": (lambda x: np.linalg.norm(x), (2, 3)),
    "norm_axis": (lambda x: np.linalg.norm(x, axis=1), (2, 3)),
}
POINTS = {2: lambda s: 0.3 + RNG.uniform(0.2, 1.0, size=s) * RNG.choice([-1, 1], size=s)}


def point(shape):
    return 0.3 + RNG.uniform(0.2, 1.0, size=shape) * RNG.choice([-1.0, 1.0], size=shape)


def complex_step(f, x, p):
    """Directional derivatives of f along each direction p[..., j]: Im f(x + ih p) / h."""
    h = 1e-30
    return np.stack([np.imag(f(x + 1j * h * p[..., j])) / h for j in range(p.shape[-1])], -1)


def central(f, x, p, h=1e-6):
    return np.stack(
        [(f(x + h * p[..., j]) - f(x - h * p[..., j])) / (2 * h) for j in range(p.shape[-1])], -1
    )


@pytest.mark.parametrize("name", sorted(ANALYTIC))
def test_array_function_first_order_matches_the_complex_step(name):
    f, shape = ANALYTIC[name]
    x = point(shape)
    d, p = seeded(x)
    y = f(d)
    yv = np.asarray(y.value if isinstance(y, DualArray | Dual) else y)
    np.testing.assert_allclose(yv, f(x), rtol=64 * EPS, atol=64 * EPS)
    ypart = y.partials if isinstance(y, DualArray | Dual) else np.zeros((*yv.shape, 3))
    exact = complex_step(f, x.astype(complex), p)
    scale = np.max(np.abs(exact)) + 1.0
    # products of a few O(1) factors, sums of <= 12 terms, one LU: rounding of a few hundred eps
    np.testing.assert_allclose(ypart, exact, rtol=0, atol=256 * EPS * scale)


@pytest.mark.parametrize("name", sorted(PIECEWISE))
def test_piecewise_array_function_matches_central_differences(name):
    f, shape = PIECEWISE[name]
    x = point(shape)
    d, p = seeded(x)
    y = f(d)
    np.testing.assert_allclose(y.value, f(x), rtol=16 * EPS)
    # away from kinks, central differences with h = 1e-6 err by h^2 |f'''| + eps/h: 1e-9
    np.testing.assert_allclose(y.partials, central(f, x, p), rtol=1e-7, atol=1e-7)


SECOND = sorted(
    set(ANALYTIC) - {"ravel_methods", "where"}  # (second order covered by the others)
)


def _two_call_hessian(f, x):
    """dual_hessian without its magnitude lane (the bound's evaluation as its own call)."""
    import fastdiff._forward as fw

    lane, fw._hessian_lane = fw._hessian_lane, lambda *a: None
    try:
        return dual_hessian(f, x)
    finally:
        fw._hessian_lane = lane


@pytest.mark.parametrize("name", SECOND)
def test_array_function_second_order_hessian_matches_the_complex_step_of_the_gradient(name):
    f, shape = ANALYTIC[name]
    x = point(shape)
    w = np.random.default_rng(3).normal(size=np.shape(f(x)))

    def scalar(u):
        return np.sum(f(u) * w)

    h = dual_hessian(scalar, x)
    assert h.nfev == 1  # the second-order DualArray path, the bound's lane in the same call
    # the lanes give the numbers of the two separate calls (values, bound) bit for bit
    h2 = _two_call_hessian(scalar, x)
    assert h2.nfev == 3  # the lane's call counted, then the Hessian's and the bound's
    np.testing.assert_array_equal(h.df, h2.df)
    np.testing.assert_array_equal(h.error, h2.error)
    n = x.size
    H = h.df.reshape(n, n)
    np.testing.assert_array_equal(H, H.T)
    # column j of H = the complex step, along e_j, of the (first-order DualArray) gradient is
    # not available (DualArrays are real); the gradient's central difference is, to 1e-7
    g = lambda u: dual_gradient(scalar, u).df.ravel()  # noqa: E731
    e = np.eye(n).reshape(n, *shape)
    fdH = np.stack([(g(x + 1e-6 * e[j]) - g(x - 1e-6 * e[j])) / 2e-6 for j in range(n)], 1)
    np.testing.assert_allclose(H, fdH, rtol=1e-6, atol=1e-6 * (1 + np.abs(H).max()))


# ---------------------------------------------------------------------------------------------
# The container: shape, indexing, assignment, errors
# ---------------------------------------------------------------------------------------------


def test_shape_ndim_size_len_and_the_public_constructor():
    d = DualArray(np.zeros((2, 3)), np.ones((2, 3, 4)))
    assert d.shape == (2, 3) and d.ndim == 2 and d.size == 6 and len(d) == 2 and d.npartials == 4
    assert np.shape(d) == (2, 3) and np.ndim(d) == 2 and np.size(d) == 6
    assert d.partials.shape == (2, 3, 4) and d.value.dtype == np.float64
    with pytest.raises(ValueError, match=r"`partials` must have shape value.shape \+ \(k,\)"):
        DualArray(np.zeros(3), np.zeros((2, 3)))
    with pytest.raises(TypeError, match="`value` must be a real array_like"):
        DualArray(np.array(["a"]), np.zeros((1, 1)))


def test_indexing_slicing_and_one_element_gives_a_dual():
    x = np.arange(12.0).reshape(3, 4)
    d, p = seeded(x)
    np.testing.assert_array_equal(d[1:, ::2].partials, p[1:, ::2])
    np.testing.assert_array_equal(d[..., 1].value, x[..., 1])
    np.testing.assert_array_equal(d[np.array([2, 0])].partials, p[[2, 0]])
    np.testing.assert_array_equal(d[x > 5].partials, p[x > 5])
    np.testing.assert_array_equal(d[None, 1].partials, p[None, 1])
    e = d[1, 2]
    assert isinstance(e, Dual) and e.value == 6.0
    np.testing.assert_array_equal(e.partials, p[1, 2])
    assert [r.shape for r in d] == [(4,)] * 3


def test_assignment_into_a_dualarray():
    d, p = seeded(np.zeros((2, 3)))
    s, q = seeded(np.ones(3), seed=4)
    d[0] = s
    d[1, 1:] = 5.0
    np.testing.assert_array_equal(d.value, [[1, 1, 1], [0, 5, 5]])
    np.testing.assert_array_equal(d.partials[0], q)
    np.testing.assert_array_equal(d.partials[1, 1:], 0.0)
    np.testing.assert_array_equal(d.partials[1, 0], p[1, 0])
    d[1, 0] = Dual(7.0, [1.0, 2.0, 3.0])
    assert d.value[1, 0] == 7.0 and d.partials[1, 0].tolist() == [1.0, 2.0, 3.0]


def test_partials_are_never_dropped_silently():
    d, _ = seeded(np.ones(3))
    for convert in (float, int, complex, np.asarray):
        with pytest.raises(TypeError, match="drop its derivative"):
            convert(d[0:1])
    out = np.zeros(3)
    with pytest.raises(TypeError, match="drop its derivative"):
        out[:] = d


def test_unsupported_numpy_functions_raise_typeerror_naming_them():
    d, _ = seeded(np.ones(3))
    with pytest.raises(TypeError, match=r"np\.sort is not supported"):
        np.sort(d)
    with pytest.raises(TypeError, match=r"np\.linalg\.eig is not supported"):
        np.linalg.eig(d.reshape(3, 1) @ d.reshape(1, 3))
    with pytest.raises(TypeError, match=r"np\.fmod is not supported"):
        np.fmod(d, 2.0)
    with pytest.raises(TypeError, match=r"np\.add\.reduce"):
        np.add.reduce(d)
    with pytest.raises(TypeError, match="does not support out"):
        np.sum(d, out=np.zeros(()))


def test_mixing_partial_counts_or_tags_raises():
    a = DualArray(np.ones(2), np.ones((2, 2)))
    b = DualArray(np.ones(2), np.ones((2, 3)))
    with pytest.raises(ValueError, match="different numbers of partials"):
        a + b
    with pytest.raises(ValueError, match="different numbers of partials"):
        a * Dual(1.0, [1.0, 2.0, 3.0])


# ---------------------------------------------------------------------------------------------
# method="dual" on DualArray: results, calls of f, fallback, honesty of the rounding bound
# ---------------------------------------------------------------------------------------------


def rosen(v):
    return np.sum(100.0 * (v[1:] - v[:-1] ** 2) ** 2 + (1 - v[:-1]) ** 2)


def rosen_grad_mp(v):
    v = [mp.mpf(float(a)) for a in v]
    g = [mp.mpf(0)] * len(v)
    for i in range(len(v) - 1):
        g[i] += -400 * v[i] * (v[i + 1] - v[i] ** 2) - 2 * (1 - v[i])
        g[i + 1] += 200 * (v[i + 1] - v[i] ** 2)
    return g


def misses(df, error, exact):
    err = np.array(
        [float(abs(mp.mpf(float(a)) - b)) for a, b in zip(np.ravel(df), exact, strict=True)]
    )
    return int(np.sum(err > np.ravel(error)))


def test_rosenbrock_gradient_bound_holds_against_mpmath(rng):
    # the issue-9 case: 5-D Rosenbrock, true error 3.1e-14 against a claimed 1.9e-15
    for _ in range(40):
        n = int(rng.integers(2, 12))
        x = rng.normal(size=n) * rng.choice([0.5, 1.0, 3.0, 10.0])
        r = fd.gradient(rosen, x, method="dual")
        assert r.success.all() and r.nfev == 1  # the bound's magnitudes in the same call
        assert misses(r.df, r.error, rosen_grad_mp(x)) == 0


def test_tanh_layer_jacobian_and_jvp_bounds_hold_against_mpmath(rng):
    n = 12
    for scale in (0.3, 1.0, 8.0):  # 8: saturated units, tanh' rounds to 0
        W, b, x = rng.normal(size=(n, n)) * scale, rng.normal(size=n), rng.normal(size=n)
        v = rng.normal(size=n)
        layer = lambda u, W=W, b=b: np.tanh(W @ u + b)  # noqa: E731
        J = fd.jacobian(layer, x, method="dual")
        jv = fd.jvp(layer, x, v, method="dual")
        z = [
            mp.fsum(mp.mpf(W[i, j]) * mp.mpf(x[j]) for j in range(n)) + mp.mpf(b[i])
            for i in range(n)
        ]
        d = [1 - mp.tanh(zi) ** 2 for zi in z]
        exact = [d[i] * mp.mpf(W[i, j]) for i in range(n) for j in range(n)]
        assert misses(J.df, J.error, exact) == 0 and J.nfev == 1  # with the bound's lane
        exact_v = [
            d[i] * mp.fsum(mp.mpf(W[i, j]) * mp.mpf(v[j]) for j in range(n)) for i in range(n)
        ]
        assert misses(jv.df, jv.error, exact_v) == 0 and jv.nfev == 1  # (its lane too)


def test_mlp_gradient_bound_holds_against_an_mpmath_backprop():
    theta, X, y = make_problem()
    r = fd.gradient(loss, theta, method="dual", args=(X, y))
    assert r.nfev == 2  # 385 partials in one call of f, and one call for the bound
    th = [mp.mpf(float(t)) for t in theta]
    W1 = [th[i * 10 : i * 10 + 10] for i in range(32)]
    b1, W2, b2 = th[320:352], th[352:384], th[384]
    g = [mp.mpf(0)] * 385
    B = X.shape[1]
    for c in range(B):
        xc = [mp.mpf(float(X[j, c])) for j in range(10)]
        h = [mp.tanh(mp.fsum(W1[i][j] * xc[j] for j in range(10)) + b1[i]) for i in range(32)]
        dr = 2 * (mp.fsum(W2[i] * h[i] for i in range(32)) + b2 - mp.mpf(float(y[0, c]))) / B
        for i in range(32):
            g[352 + i] += dr * h[i]
            dz = W2[i] * dr * (1 - h[i] ** 2)
            g[320 + i] += dz
            for j in range(10):
                g[i * 10 + j] += dz * xc[j]
        g[384] += dr
    assert misses(r.df, r.error, g) == 0
    np.testing.assert_allclose(r.df, backprop(theta, X, y), rtol=0, atol=64 * EPS)


def test_hessian_is_exact_symmetric_and_bounded():
    x = np.linspace(-1.2, 1.5, 10)
    r = fd.hessian(rosen, x, method="dual")
    np.testing.assert_array_equal(r.df, r.df.T)
    assert r.nfev == 1  # values, Hessian and the bound's magnitudes in one call
    v = [mp.mpf(float(a)) for a in x]
    H = [[mp.mpf(0)] * 10 for _ in range(10)]
    for i in range(9):
        H[i][i] += 1200 * v[i] ** 2 - 400 * v[i + 1] + 2
        H[i][i + 1] += -400 * v[i]
        H[i + 1][i] += -400 * v[i]
        H[i + 1][i + 1] += 200
    assert misses(r.df, r.error, [H[i][j] for i in range(10) for j in range(10)]) == 0


@pytest.mark.parametrize("batch_bytes", [8 * 7 * 1, 8 * 7 * 3, None])
def test_batch_bytes_sets_the_chunk_of_partials(batch_bytes):
    x = np.linspace(-1.2, 1.5, 7)
    r = fd.gradient(rosen, x, method="dual", batch_bytes=batch_bytes)
    chunk = 7 if batch_bytes is None else batch_bytes // (8 * 7)
    assert r.nfev == -(-7 // chunk) + (chunk < 7)  # one call of every partial: the bound's lane
    np.testing.assert_array_equal(r.df, fd.gradient(rosen, x, method="dual").df)


def test_hessian_blocks_when_the_rows_exceed_batch_bytes():
    x = np.linspace(-1.2, 1.5, 7)
    full = fd.hessian(rosen, x, method="dual")
    r = fd.hessian(rosen, x, method="dual", batch_bytes=8 * 7 * (4 + 16))  # blocks of 2
    np.testing.assert_allclose(r.df, full.df, rtol=4 * EPS)
    np.testing.assert_array_equal(r.df, r.df.T)
    assert r.nfev == 4 * 5 // 2 + 1


def test_code_numpy_cannot_reach_falls_back_to_duals():
    import math

    def f(v):  # a Python loop over elements with a float accumulator: the v1 Dual path
        s = 0.0
        for e in v:
            s = s + fd.math.exp(e) * e
        return s

    x = np.array([0.1, 0.2])
    r = fd.gradient(f, x, method="dual")
    np.testing.assert_allclose(r.df, np.exp(x) * (1 + x), rtol=4 * EPS)

    def g(v):  # math.sin cannot be intercepted: TypeError on DualArray and on Dual
        return math.sin(v[0])

    with pytest.raises(TypeError, match=r"fastdiff\.math"):
        fd.gradient(g, x, method="dual")


def test_f_exceptions_propagate_unchanged():
    err = ZeroDivisionError("mine")

    def f(v):
        raise err

    with pytest.raises(ZeroDivisionError) as info:
        fd.gradient(f, np.ones(3), method="dual")
    assert info.value is err


def test_a_dualarray_escaping_its_call_raises():
    kept = []

    def f(v):
        kept.append(v)
        return np.sum(v)

    fd.gradient(f, np.ones(2), method="dual")
    with pytest.raises(RuntimeError, match="escaped"):
        fd.gradient(lambda u: np.sum(u * kept[0]), np.ones(2), method="dual")


def test_private_entry_points_agree_with_the_verbs():
    x = np.array([0.3, -0.7, 1.1])
    f = lambda u: np.sin(u) * u[::-1]  # noqa: E731
    np.testing.assert_array_equal(dual_jacobian(f, x).df, fd.jacobian(f, x, method="dual").df)
    np.testing.assert_array_equal(dual_jvp(f, x, x).df, fd.jvp(f, x, x, method="dual").df)


@pytest.mark.parametrize("name", ["exp", "tanh", "erf", "expit", "relu", "softplus", "hypot"])
def test_fastdiff_math_functions_take_dualarrays(name):
    x = np.array([0.3, 0.8, 1.4])
    d, p = seeded(x)
    fn = getattr(fd.math, name)
    r = fn(d) if _dual.RULE_ARITY[name] == 1 else fn(d, 0.5)
    ref = [
        fn(Dual(v, row)) if _dual.RULE_ARITY[name] == 1 else fn(Dual(v, row), 0.5)
        for v, row in zip(x, p, strict=True)
    ]
    np.testing.assert_allclose(r.partials, [q.partials for q in ref], rtol=4 * EPS)
    h = fd.hessian(
        lambda u: np.sum(fn(u) if _dual.RULE_ARITY[name] == 1 else fn(u, 0.5)), x, method="dual"
    )
    assert h.nfev == 1  # stays on the DualArray path (with the bound's lane)
    h2 = _two_call_hessian(
        lambda u: np.sum(fn(u) if _dual.RULE_ARITY[name] == 1 else fn(u, 0.5)), x
    )
    np.testing.assert_array_equal(h.df, h2.df)
    np.testing.assert_array_equal(h.error, h2.error)


def test_numpy_scalars_dtype_and_zeros_like_for_code_that_fills_an_output():
    d, p = seeded(np.array([1.0, 2.0]))
    r = np.float64(3.0) * d + np.float64(1.0)
    assert isinstance(r, DualArray) and r.dtype == np.float64
    np.testing.assert_array_equal(r.partials, 3.0 * p)

    def f(v):
        out = np.zeros_like(v)
        for i in range(len(v)):
            out[i] = v[i] * v[-1 - i]
        return out

    J = fd.jacobian(f, np.array([1.0, 2.0, 3.0]), method="dual")
    np.testing.assert_array_equal(J.df, [[3.0, 0, 1.0], [0, 4.0, 0], [3.0, 0, 1.0]])
    assert J.nfev == 1  # the assignments carry the bound's lane
    np.testing.assert_array_equal(np.ones_like(d).value, [1.0, 1.0])


def test_bound_covers_rounding_of_the_values_under_cancellation():
    # (x + 1e8) - 1e8 loses 6e-9 of x; the derivative 2 z inherits it
    x = np.array([0.3, 0.7])
    r = fd.gradient(lambda v: np.sum(((v + 1e8) - 1e8) ** 2), x, method="dual")
    assert np.all(np.abs(r.df - 2 * x) <= r.error) and np.all(np.abs(r.df - 2 * x) > 1e-9)
    r = fd.gradient(lambda v: np.sum(np.sin((v + 1e4) - 1e4) * v), x, method="dual")
    assert np.all(np.abs(r.df - (np.cos(x) * x + np.sin(x))) <= r.error)


def test_outputs_assembled_from_scalars_get_the_fallback_rounding_level():
    from fastdiff._forward import FALLBACK_ULPS

    r = fd.jacobian(lambda v: np.array([v[0] * v[1], 3.0]), np.array([2.0, 5.0]), method="dual")
    np.testing.assert_array_equal(r.df, [[5.0, 2.0], [0.0, 0.0]])
    np.testing.assert_array_equal(r.error, FALLBACK_ULPS * EPS * np.abs(r.df))


def test_nested_differentiation_falls_back_to_tagged_duals():
    x0 = np.array([1.0, 2.0])
    r = fd.gradient(
        lambda x: fd.gradient(lambda v: np.sum(v**3), x, method="dual").df.sum(), x0, method="dual"
    )
    np.testing.assert_allclose(r.df, 6.0 * x0, rtol=4 * EPS)
    # d/dt [d/dv0 sum(v t)] = 1: no perturbation confusion between the two calls
    r = fd.derivative(
        lambda t: fd.gradient(lambda v: np.sum(v * t), x0, method="dual").df[0], 0.5, method="dual"
    )
    assert r.df == 1.0


@pytest.mark.parametrize("p", [3, 3.0, 5, -1])
def test_constant_power_of_negative_entries_keeps_its_rounding_bound(p):
    # d/dy x**y = x**y log x is NaN at x < 0; the bound's evaluation once multiplied it by the
    # zero tangent of the constant exponent and reported every entry as non-finite (status -2)
    x = np.array([-1.0, -0.4, 0.3, 1.5])
    res = fd.gradient(lambda v: np.sum(v**p), x, method="dual")
    exact = p * x ** (p - 1)
    assert np.all(res.success) and np.all(np.isfinite(res.error))
    assert np.all(np.abs(res.df - exact) <= res.error)


@pytest.mark.parametrize("rule", ["tanh", "sin", "exp", "log", "sqrt", "arctan", "absolute"])
def test_bound_unary_kernel_is_the_numpy_expression(rule):
    # fd_dualarray_unary_abs fuses the bound's unary step; it must give the same arithmetic,
    # bit for bit, as the NumPy expressions of the magnitude rule it replaced.
    from fastdiff._dualarray import _RULES, _unit
    from fastdiff._kernels import _dualarray

    rng = np.random.default_rng(3)
    xv = rng.uniform(0.1, 2.0, 50)
    xt = rng.uniform(0.0, 1.0, (5, 50))
    xt[-1] *= 1e-15  # the values' error row
    n = 7
    c, u = 2.0 / (n + 4), _unit(n + 2)
    v, dd, t = _dualarray.unary_abs(_RULES[rule], xv, xt, c, u)
    v0, _, dd0, t0 = _dualarray.unary(_RULES[rule], xv, xt, True)
    ref = np.abs(t0) + c * xt
    ref[:-1] += (np.abs(dd0) * xt[-1] * xt[:-1]) * u
    ref[-1] += 2.0 * np.finfo(float).eps * np.abs(v0)
    assert np.array_equal(v, v0) and np.array_equal(dd, dd0, equal_nan=True)
    assert np.array_equal(t, ref, equal_nan=True)


def test_unary_on_element_major_tangents_matches_row_layout():
    from fastdiff._dualarray import _RULES
    from fastdiff._kernels import _dualarray

    rng = np.random.default_rng(4)
    xv = rng.normal(size=30)
    xt = rng.normal(size=(30, 8))  # element-major: the transpose of rows (8, 30)
    v, t = _dualarray.unary_t(_RULES["tanh"], xv, xt)
    v0, _, _, t0 = _dualarray.unary(_RULES["tanh"], xv, np.ascontiguousarray(xt.T), False)
    assert np.array_equal(v, v0) and np.array_equal(t.T, t0)
    # and through a Jacobian, whose whole-x chunk hands tanh the tangents W^T
    W = rng.normal(size=(30, 30))
    r = fd.jacobian(lambda z: np.tanh(W @ z), xv, method="dual")
    exact = (1.0 - np.tanh(W @ xv) ** 2)[:, None] * W  # float64: a few roundings of its own
    assert np.all(np.abs(r.df - exact) <= r.error + 8 * np.finfo(float).eps * np.abs(exact))


def _unit_workload(v, C, D, w):
    A = v[:6].reshape(2, 3)  # unit seeds from row 0, reshaped
    B = v[6:12].reshape(3, 2)  # unit seeds from row 6
    z = np.tanh(v[:4] * w)  # a dense tangent
    out = [
        (A @ C).ravel(),  # dA @ C, 2-d by 2-d
        (D @ B).ravel(),  # D @ dB
        v[2:5] @ C,  # 1-d unit times a matrix
        C.T @ v[3:6],  # a matrix times a 1-d unit slice
        z + v[4:8],  # dense + unit
        v[1:5] - z,  # unit - dense
        z - v[0:4],  # dense - unit
        (A @ B).ravel(),  # both dual, both unit
        (A @ np.tanh(B)).ravel(),  # unit @ dense dual
    ]
    return np.concatenate(out)


def test_unit_seed_structure_gives_the_dense_answer():
    # A whole-x Jacobian chunk marks x (and its contiguous slices and reshapes) as unit seeds;
    # products and sums with it scatter instead of multiplying zeros. The results must be
    # those of the dense tangents, bit for bit (a one-hot product is exact), and the Jacobian
    # must agree with a central-difference-free oracle: the v1 Dual path on object arrays.
    rng = np.random.default_rng(5)
    x = rng.normal(size=12)
    C, D, w = rng.normal(size=(3, 2)), rng.normal(size=(2, 3)), rng.normal(size=4)

    def dense(v):
        v._unit = NO_UNIT  # the same evaluation without the structure
        return _unit_workload(v, C, D, w)

    r = fd.jacobian(lambda v: _unit_workload(v, C, D, w), x, method="dual")
    r0 = fd.jacobian(dense, x, method="dual")
    assert np.array_equal(r.df, r0.df) and np.array_equal(r.error, r0.error)
    ref = dual_jacobian(lambda v: _unit_workload(np.asarray(v), C, D, w), x.astype(object))
    ref_df = np.asarray(ref.df, dtype=float)
    # both exact to rounding: a few eps of each entry's terms
    assert np.allclose(r.df, ref_df, rtol=64 * np.finfo(float).eps, atol=1e-14)


def test_tangents_viewing_a_constant_never_write_into_it():
    # W @ x on a whole-x chunk takes its tangents as a view of W (no product); assigning into
    # the result, or anything built on it, must leave the caller's W untouched.
    rng = np.random.default_rng(6)
    W = rng.normal(size=(4, 4))
    W0 = W.copy()

    def f(v):
        z = W @ v
        z[0] = 5.0 * v[1]
        z[1:3] = z[1:3] + 1.0
        return np.tanh(z)

    x = rng.normal(size=4)
    r = fd.jacobian(f, x, method="dual")
    assert np.array_equal(W, W0)
    z = W @ x
    z[0] = 5.0 * x[1]
    z[1:3] += 1.0
    dz = W.copy()
    dz[0] = [0.0, 5.0, 0.0, 0.0]
    exact = (1.0 - np.tanh(z) ** 2)[:, None] * dz  # float64: a few roundings of its own
    assert np.all(np.abs(r.df - exact) <= r.error + 8 * np.finfo(float).eps * np.abs(exact))


def test_assigning_into_a_sum_with_a_constant_leaves_the_operand_alone():
    # y = v + c is a new array (for ndarrays too): y[0] = ... must not reach v's partials
    def f(v):
        y = v + 1.0
        y[0] = 0.0
        w = v**1
        w[1] = 0.0
        return v.sum() + y.sum() + w.sum()

    r = fd.gradient(f, np.ones(4), method="dual")
    assert r.df.tolist() == [2.0, 2.0, 3.0, 3.0]  # v0: v and w; v1: v and y


def _write_through_views(v):
    c = np.array([1.0, 2.0, 3.0, 4.0])
    w = v + c  # shares v's partials until written
    z = w[1:]
    z[0] = 5.0 * v[0]  # reaches w[1]: value and partials
    u = (v * 2.0).reshape(2, 2).T
    u[1, 0] = v[3] * v[2]  # reaches element 1 of the product
    s = v[1:]
    s[1] = 3.0 * v[0]  # writes into v itself: v[2] = 3 v0 for what follows
    m = np.array([[1.0, 2.0, 3.0, 4.0], [0.0, -1.0, 0.5, 2.0]])
    return np.concatenate([w, (v * 2.0).reshape(2, 2).T.ravel() * 0.0 + u.T.ravel(), m @ v, v])


def test_assignment_into_a_view_reaches_the_base_arrays_partials():
    # NumPy semantics: writing into a slice, reshape or transpose of an array writes into the
    # array. The values did; the partials must too (a derived array's partials shared with an
    # operand are owned before a view is taken), and x's unit-seed structure must stop
    # counting once a view of x is written (m @ v then multiplies the real tangents).
    x = np.array([0.7, -1.3, 2.1, 0.4])
    r = fd.jacobian(_write_through_views, x, method="dual")
    ref = dual_jacobian(lambda v: _write_through_views(np.asarray(v)), x.astype(object))
    ref_df = np.asarray(ref.df, dtype=float)
    assert np.allclose(r.df, ref_df, rtol=16 * EPS, atol=0.0)  # a few roundings each
    # spot checks by hand: d w[1] / d x0 = 5, d v[2] / d x0 = 3 (x itself was written)
    assert r.df[1].tolist() == [5.0, 0.0, 0.0, 0.0]
    assert r.df[-2].tolist() == [3.0, 0.0, 0.0, 0.0]
    assert np.all(np.abs(r.df - ref_df) <= r.error)
    # the same on a DualArray made by hand: (x + c)[1:] written, then the base read
    d, p = seeded(np.zeros(3))
    y, q = seeded(np.ones(1), seed=1)
    base = d + np.arange(3.0)
    base[1:][0] = y[0]
    np.testing.assert_array_equal(base.value, [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(base.partials, [p[0], q[0], p[2]])
    np.testing.assert_array_equal(d.partials, p)  # the operand keeps its own


def test_jacobian_bound_kernel_is_the_numpy_expression():
    # fd_dualarray_bound: gamma * mag[:, groups] + eps |df| on transposed (strided) views, in
    # one pass, counting the entries where df or the bound is not finite
    from fastdiff._kernels import _dualarray

    rng = np.random.default_rng(7)
    df = rng.normal(size=(9, 7)).T  # (7, 9), a transposed view as the verbs pass it
    mag = np.abs(rng.normal(size=(4, 7))).T
    groups = (np.arange(9) * 4) // 9
    gamma = 40 * np.finfo(float).eps
    out, bad = _dualarray.bound(df, mag, groups, gamma)
    assert np.array_equal(out, gamma * mag[:, groups] + np.finfo(float).eps * np.abs(df))
    assert bad == 0 and out.flags.c_contiguous
    df = df.copy()
    df[1, 2], df[3, 4] = np.inf, np.nan
    mag = mag.copy()
    mag[5, 0] = np.inf  # every column of group 0 in row 5
    _, bad = _dualarray.bound(df, mag, groups, gamma)
    assert bad == 2 + int(np.sum(groups == 0))
    with pytest.raises(ValueError, match="group index"):
        _dualarray.bound(df, mag, groups + 4, gamma)


@pytest.mark.parametrize("mode", ["first", "second", "bound", "bound second"])
def test_one_pass_arithmetic_is_the_numpy_arithmetic_bit_for_bit(mode, rng):
    # fd_dualarray_arith (the `_arith` fast path of + - * / and squaring) promises the same
    # expressions in the same order as the NumPy code of `_binop_general`: every tangent row,
    # the second-order rows, the bound's magnitude rows and its error row, and the count
    from fastdiff._dualarray import _arith, _binop, _binop_general, _square, _square_general

    k = 3
    second = "second" in mode
    bound = "bound" in mode
    m = k + (k * k if second else 0) + (1 if bound else 0)
    tag = _dual.open_tag()
    try:
        for shape in [(), (5,), (2, 3)]:

            def make(seed, shape=shape):
                g = np.random.default_rng(seed)
                t = g.normal(size=(m, *shape))
                if bound:
                    t = np.abs(t)
                d = DualArray._make(g.normal(size=shape), t, k, tag, bound)
                d._n = int(g.integers(0, 5))
                return d

            a, b = make(1), make(2)
            c = rng.normal(size=shape)
            pairs = [(a, b), (a, 2.5), (-1.5, b), (a, c), (c, b), (a, 3)]
            if shape == (5,):  # views: rows of 4 elements, 5 apart
                pairs.append((make(3)[1:], make(4)[:-1]))
            for name in ["add", "subtract", "multiply", "divide"]:
                for x, y in pairs:
                    dual_divisor = type(y) is DualArray and name == "divide"
                    assert (_arith(name, x, y) is None) == (second and dual_divisor)
                    r, g = _binop(name, x, y), _binop_general(name, x, y)
                    assert r._n == g._n, (name, shape)
                    np.testing.assert_array_equal(r._v, g._v)
                    np.testing.assert_array_equal(r._t, g._t, err_msg=f"{name} {shape}")
            r, g = _square(a), _square_general(a)
            assert r._n == g._n
            np.testing.assert_array_equal(r._t, g._t)
    finally:
        _dual.close_tag(tag)


def test_hessian_lane_falls_back_to_two_calls_when_an_operation_has_no_lane(monkeypatch):
    # An operation reaching a lane array by neither route (here np.cumsum unwrapped) raises
    # inside f and marks the lane, even when f swallows the exception: the verb then calls f
    # the two-call way and returns exactly its numbers (the wasted call is counted).
    import fastdiff._dualarray as da

    x = np.array([0.3, -1.1, 0.8, 2.0])

    def f(v):
        return np.sum(np.cumsum(v * v) ** 2)

    def swallowing(v):
        try:
            return f(v)
        except Exception:
            return np.sum(v)

    h1, h1_two = dual_hessian(f, x), _two_call_hessian(f, x)
    assert h1.nfev == 1 and h1_two.nfev == 3
    monkeypatch.setitem(da._FUNCTIONS, np.cumsum, da._FUNCTIONS[np.cumsum].__wrapped__)
    for g in (f, swallowing):
        h = dual_hessian(g, x)
        assert h.nfev == 3
        np.testing.assert_array_equal(h.df, h1.df)
        np.testing.assert_array_equal(h.error, h1.error)


def test_hessian_lane_keeps_a_reduced_scalar_on_the_lane():
    # np.max's value is a NumPy scalar; the joined lanes hold an array, so x.max() ** 2 stays
    # in the one-pass kernels and the call stays single
    x = np.array([0.3, -1.1, 0.8, 2.0])

    def f(v):
        return v.max() ** 2 + np.sum(np.sin(v) * v) + np.prod(v[:2])

    h = dual_hessian(f, x)
    assert h.nfev == 1
    h2 = _two_call_hessian(f, x)
    np.testing.assert_array_equal(h.df, h2.df)
    np.testing.assert_array_equal(h.error, h2.error)
    # analytic: d2/dx2 of x3^2 (the max), of sin(x) x, and of x0 x1
    exact = np.diag(2.0 * np.cos(x) - x * np.sin(x))
    exact[3, 3] += 2.0
    exact[0, 1] += 1.0
    exact[1, 0] += 1.0
    assert np.all(np.abs(h.df - exact) <= h.error + 4 * EPS * np.abs(exact))


# The Jacobian's magnitude lane (issue 8): jacobian/gradient carry the rounding bound's
# magnitude rows in the same call of f, with exactly the numbers of the two calls.


def _two_call(verb, *a, **kw):
    """A first-order dual verb without its magnitude lane (the bound as its own call)."""
    import fastdiff._forward as fw

    saved = fw._jacobian_lane
    fw._jacobian_lane = lambda *_: None
    try:
        return verb(*a, **kw)
    finally:
        fw._jacobian_lane = saved


def _lane_cases():
    rng = np.random.default_rng(11)
    W, b = rng.normal(size=(40, 40)), rng.normal(size=40)
    A = rng.normal(size=(4, 4))
    C = rng.normal(size=(3, 5))
    return {
        "tanh layer, n = 40": (lambda v: np.tanh(W @ v + b), rng.normal(size=40)),
        "rosenbrock": (rosen, rng.normal(size=9) * 2.0),
        "elementwise": (lambda v: np.exp(v) / (1.0 + v * v) - np.sin(v) * v**3, rng.normal(size=7)),
        "matrix point": (lambda M: np.cos(M @ M.T).sum(axis=0) * M[0], rng.normal(size=(3, 3))),
        "solve": (lambda v: np.linalg.solve(A @ A.T + np.diag(v * v + 1.0), v), rng.normal(size=4)),
        "broadcast": (lambda v: (np.log1p(v[:, None] ** 2) * C).mean(axis=1), rng.normal(size=3)),
        "filled output": (lambda v: _filled(v), rng.normal(size=5)),
        # dense lanes after an activation: the compiled A @ x, unary and x**c on both lanes
        "two layers": (lambda v: np.tanh(W @ np.tanh(W @ v)) ** 3, rng.normal(size=40)),
        "powers": (lambda v: np.abs(A @ v) ** -1.5 + (v * v + 1.0) ** 0.5, rng.normal(size=4)),
        # elements (0-d views of both lanes, strided rows) through the compiled kernels
        "elements": (
            lambda v: np.stack([v[0] * v[1], np.sin(v[0]), np.exp(v[-1]) ** 3]),
            rng.normal(size=3),
        ),
        # joined on the lane itself (`_joined`), with a constant among the pieces
        "joined": (
            lambda v: np.concatenate(
                [np.hstack([v[:1] * 2.0, np.sin(v[1:])]), np.vstack([v, v**3, C[0, :4]]).ravel()]
            ),
            rng.normal(size=4),
        ),
    }


def _filled(v):
    out = np.zeros_like(v)
    for i in range(len(v)):
        out[i] = v[i] * v[-1 - i] + 1.0
    return out


@pytest.mark.parametrize("name", list(_lane_cases()))
def test_first_order_lane_gives_the_two_call_numbers_bit_for_bit_in_one_call(name):
    f, x = _lane_cases()[name]
    r, two = dual_jacobian(f, x), _two_call(dual_jacobian, f, x)
    assert r.nfev == 1 and two.nfev == 3  # (the stubbed lane's "call" counted)
    np.testing.assert_array_equal(r.df, two.df)
    np.testing.assert_array_equal(r.error, two.error)
    np.testing.assert_array_equal(r.success, two.success)


_LANE_N = 6
_LANE_W = np.random.default_rng(21).normal(size=(_LANE_N, _LANE_N)) / 2.0
_LANE_B = np.random.default_rng(22).normal(size=_LANE_N)
_LANE_OPS = [  # vector -> vector steps: ufuncs, powers, products, A @ z, elements, joins
    lambda z: np.sin(z),
    lambda z: np.tanh(z),
    lambda z: np.exp(z / 4.0),
    lambda z: (1.0 + z * z) ** -1.5,
    lambda z: z**3,
    lambda z: _LANE_W @ z,
    lambda z: z + _LANE_B,
    lambda z: z * z[::-1],
    lambda z: np.concatenate([z[:2] * 2.0, np.sin(z[2:])]),
    # (pieces as 1-element slices: an element of a plain array is a Dual, whose scalar
    # arithmetic rounds a later A @ z's sums in another order than the lane's BLAS does)
    lambda z: np.concatenate(
        [z[i : i + 1] * z[_LANE_N - 1 - i : _LANE_N - i] for i in range(_LANE_N)]
    ),
    lambda z: np.hstack([z[1:], z[:1]]),
    lambda z: np.abs(z) ** 0.5 + z,
]


@settings(max_examples=120, deadline=None)
@given(st.lists(st.integers(0, len(_LANE_OPS) - 1), min_size=1, max_size=6), st.integers(0, 999))
def test_random_compositions_on_lanes_give_the_two_call_numbers(ops, seed):
    # the lanes' compiled kernels and `_joined` in any order: J, J v and their bounds in one
    # call, bit for bit the two calls (each lane its own evaluation's numbers)
    import fastdiff._forward as fw

    rng = np.random.default_rng(seed)
    x, v = rng.normal(size=_LANE_N), rng.normal(size=_LANE_N)

    def f(z):
        for op in ops:
            z = _LANE_OPS[op](z)
        return z

    with np.errstate(all="ignore"):
        J, Jv = dual_jacobian(f, x), dual_jvp(f, x, v)
        two = _two_call(dual_jacobian, f, x)
        with pytest.MonkeyPatch.context() as m:
            m.setattr(fw, "_jvp_lane", lambda *_: None)
            two_v = dual_jvp(f, x, v)
    assert J.nfev == 1 and Jv.nfev == 1
    for a, b in ((J, two), (Jv, two_v)):
        np.testing.assert_array_equal(a.df, b.df)
        np.testing.assert_array_equal(a.error, b.error)
        np.testing.assert_array_equal(a.success, b.success)


def test_mlp_and_tanh_100_lanes_are_bitwise_the_two_call_results(monkeypatch):
    # 385 and 100 partials: by default too large for the lane (LANE_MERGE_BYTES; nfev 2), so
    # the budget is raised here to put them on it and compare
    import fastdiff._forward as fw

    theta, X, y = make_problem()
    rng = np.random.default_rng(8)
    W, b, x = rng.normal(size=(100, 100)), rng.normal(size=100), rng.normal(size=100)
    cases = [(loss, theta, (X, y)), (lambda u: np.tanh(W @ u + b), x, ())]
    two = [dual_jacobian(*c) for c in cases]
    assert [r.nfev for r in two] == [2, 2]
    monkeypatch.setattr(fw, "LANE_MERGE_BYTES", 2**30)
    for c, r in zip(cases, two, strict=True):
        lane = dual_jacobian(*c)
        assert lane.nfev == 1
        np.testing.assert_array_equal(lane.df, r.df)
        np.testing.assert_array_equal(lane.error, r.error)


def test_first_order_lane_falls_back_to_two_calls_when_an_operation_has_no_lane(monkeypatch):
    # as the Hessian's lane (np.cumsum unwrapped reaches the lane array by neither route),
    # also when f swallows the exception: the wasted call is counted, the numbers are the
    # two calls'
    import fastdiff._dualarray as da

    x = np.array([0.3, -1.1, 0.8, 2.0])

    def f(u):
        return np.cumsum(u * u) ** 2

    def swallowing(u):
        try:
            return f(u)
        except Exception:
            return u * 1.0

    J1 = dual_jacobian(f, x)
    assert J1.nfev == 1
    monkeypatch.setitem(da._FUNCTIONS, np.cumsum, da._FUNCTIONS[np.cumsum].__wrapped__)
    for g in (f, swallowing):
        J = dual_jacobian(g, x)
        assert J.nfev == 3
        np.testing.assert_array_equal(J.df, J1.df)
        np.testing.assert_array_equal(J.error, J1.error)


def test_jacobian_lane_gives_up_before_a_large_merge():
    # 16 partials of a 16 x 200 broadcast product: merging the lanes would copy 400 KB of
    # tangents, more than LANE_MERGE_BYTES; the lane stops before computing it (nfev 3)
    import fastdiff._forward as fw

    rng = np.random.default_rng(4)
    C = rng.normal(size=(16, 200))
    x = rng.normal(size=16)

    def f(u):
        return np.tanh(u[:, None] * C).sum(axis=0)

    assert 8 * 16 * C.size > fw.LANE_MERGE_BYTES
    r, two = dual_jacobian(f, x), _two_call(dual_jacobian, f, x)
    assert r.nfev == 3
    np.testing.assert_array_equal(r.df, two.df)
    np.testing.assert_array_equal(r.error, two.error)
    exact = (1.0 - np.tanh(x[:, None] * C) ** 2) * C  # d/du_i sum_i tanh(u_i c_ij)
    np.testing.assert_allclose(r.df, exact.T, rtol=8 * EPS, atol=8 * EPS)


def test_lane_falls_back_for_object_and_constant_outputs():
    # an object array of elements is no lane output: f is called the two-call way, with
    # its numbers; a constant output takes the general path (zeros)
    def f(u):
        return np.array([np.sin(u[i]) * u[-1 - i] for i in range(len(u))])

    x = np.array([0.5, 2.0])
    r, two = dual_jacobian(f, x), _two_call(dual_jacobian, f, x)
    assert r.nfev == 3
    np.testing.assert_array_equal(r.df, two.df)
    np.testing.assert_array_equal(r.error, two.error)
    np.testing.assert_allclose(
        r.df, [[np.cos(0.5) * 2.0, np.sin(0.5)], [np.sin(2.0), np.cos(2.0) * 0.5]], rtol=4 * EPS
    )
    c = dual_jacobian(lambda u: np.ones(2), np.array([0.5, 2.0]))
    np.testing.assert_array_equal(c.df, np.zeros((2, 2)))


def test_lane_jacobian_of_the_identity_is_a_fresh_writeable_array():
    # f returning x itself (or a view) hands back the lane's cached, read-only seed rows:
    # the verb copies them, so df is the caller's own
    # (the same for the cached unit seeds of a one-chunk call beyond the lane, n = 100)
    for x in (np.array([1.0, 2.0, 3.0]), np.linspace(0.0, 1.0, 100)):
        n = x.size
        for f in (lambda u: u, lambda u: u.T, lambda u, n=n: u.reshape(n)):
            r = dual_jacobian(f, x)
            assert r.nfev == (1 if n == 3 else 2) and r.df.flags.writeable
            np.testing.assert_array_equal(r.df, np.eye(n))
            r.df[0, 0] = 5.0
            np.testing.assert_array_equal(dual_jacobian(f, x).df, np.eye(n))


def test_tanh_layer_jacobian_bound_holds_on_the_two_call_path(rng):
    # n = 60 > 45: the chunk call and the bound's call (whose W @ x sums groups of |W|, see
    # `_group_matvec`); every entry's error within the claimed bound, against mpmath
    n = 60
    for scale in (0.3, 1.0, 8.0):
        W, b, x = rng.normal(size=(n, n)) * scale, rng.normal(size=n), rng.normal(size=n)
        J = fd.jacobian(lambda u, W=W, b=b: np.tanh(W @ u + b), x, method="dual")
        assert J.nfev == 2 and J.success.all()
        z = [
            mp.fsum(mp.mpf(W[i, j]) * mp.mpf(x[j]) for j in range(n)) + mp.mpf(b[i])
            for i in range(n)
        ]
        d = [1 - mp.tanh(zi) ** 2 for zi in z]
        exact = [d[i] * mp.mpf(W[i, j]) for i in range(n) for j in range(n)]
        assert misses(J.df, J.error, exact) == 0


def test_hessian_of_an_element_view_returned_as_is():
    # f returning v[3] itself: its tangents are a strided view of the lane's rows (a regression:
    # the lane's magnitude rows went to hessian_bound without a C-order copy); H = 0 exactly
    x = np.arange(1.0, 6.0)
    for f in (lambda v: v[3], lambda v: v.reshape(5, 1)[2, 0]):
        r = fd.hessian(f, x, method="dual")
        assert r.nfev == 1 and r.success.all()
        np.testing.assert_array_equal(r.df, np.zeros((5, 5)))
        np.testing.assert_array_equal(r.error, np.zeros((5, 5)))
    r = fd.hessian(lambda v: v[1, 2] ** 2, np.arange(6.0).reshape(2, 3), method="dual")
    assert r.df.shape == (2, 3, 2, 3) and r.df[1, 2, 1, 2] == 2.0 and r.success.all()
