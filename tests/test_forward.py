"""method="dual" engine (_forward.py): Result contract, shapes, chunking, Hessians, bad input."""

from __future__ import annotations

import math as pymath

import numpy as np
import pytest

import fastdiff as fd
from fastdiff import Dual, Status
from fastdiff import math as fm
from fastdiff._forward import (
    ROUNDING_ULPS,
    dual_derivative,
    dual_gradient,
    dual_hessian,
    dual_jacobian,
    dual_jvp,
)
from mlp import N_PARAMS, backprop, loss, make_problem

EPS = float(np.finfo(np.float64).eps)


def f_scalar(x):
    return fm.sin(x) * fm.exp(x) + x**3


def df_scalar(x):
    return (np.cos(x) + np.sin(x)) * np.exp(x) + 3 * x**2


def rosen(v):
    return (100.0 * (v[1:] - v[:-1] ** 2) ** 2 + (1.0 - v[:-1]) ** 2).sum()


def rosen_grad(v):
    g = np.zeros_like(v)
    g[:-1] = -400.0 * v[:-1] * (v[1:] - v[:-1] ** 2) - 2.0 * (1.0 - v[:-1])
    g[1:] += 200.0 * (v[1:] - v[:-1] ** 2)
    return g


def rosen_hess(v):
    n = v.size
    h = np.zeros((n, n))
    for i in range(n - 1):
        h[i, i] += 1200.0 * v[i] ** 2 - 400.0 * v[i + 1] + 2.0
        h[i, i + 1] = h[i + 1, i] = -400.0 * v[i]
        h[i + 1, i + 1] += 200.0
    return h


def test_derivative_result_contract():
    x = np.array([[0.1, 0.7], [-1.0, 2.0]])
    r = dual_derivative(f_scalar, x)
    assert r.method == "dual" and r.nfev == x.size
    assert r.df.shape == x.shape and r.df.dtype == np.float64
    np.testing.assert_allclose(r.df, df_scalar(x), rtol=8 * EPS)
    np.testing.assert_array_equal(r.error, ROUNDING_ULPS * EPS * np.abs(r.df))
    assert np.all(np.abs(r.df - df_scalar(x)) <= r.error + 8 * EPS * np.abs(r.df))
    assert r.success.all() and (r.status == Status.CONVERGED).all()
    np.testing.assert_array_equal(r.step, np.zeros(x.shape))


def f_numpy(x):
    return np.sin(x) * np.exp(x) + x**3 - np.tanh(2.0 * x + 1.0) / (1.0 + x * x)


def df_numpy(x):
    t = np.tanh(2.0 * x + 1.0)
    u = 1.0 + x * x
    return df_scalar(x) - (2.0 * (1.0 - t * t) * u - t * 2.0 * x) / (u * u)


@pytest.mark.parametrize("shape", [(1,), (7,), (3, 4), (2, 1, 5)])
def test_vectorized_derivative_calls_f_once_on_every_point(shape):
    # vectorized=True with an array x: f (elementwise, NumPy-written) runs once on a DualArray
    # of all the points, whose lane carries the rounding bound: nfev 1 whatever the size
    x = np.random.default_rng(len(shape)).uniform(-2.0, 2.0, size=shape)
    calls = []

    def f(v):
        calls.append(type(v).__name__)
        return f_numpy(v)

    r = fd.derivative(f, x, method="dual", vectorized=True)
    assert calls == ["DualArray"] and r.nfev == 1 and r.method == "dual"
    assert r.df.shape == r.error.shape == r.step.shape == x.shape and not r.step.any()
    exact = df_numpy(x)
    # the bar is a rounding bound (gamma(count) times the magnitudes): it must hold, and it
    # is a rounding-level bar, far below 1e-12 relative for these few operations
    assert r.success.all() and (r.status == Status.CONVERGED).all()
    assert np.all(np.abs(r.df - exact) <= r.error + 8 * EPS * np.abs(exact))  # (the oracle rounds)
    assert np.all(r.error <= 1e-12 * np.maximum(1.0, np.abs(exact)))
    # the same derivatives as one Dual per point, to rounding
    per_point = fd.derivative(f_numpy, x, method="dual")
    assert per_point.nfev == x.size
    np.testing.assert_allclose(r.df, per_point.df, rtol=16 * EPS, atol=16 * EPS)


def test_vectorized_derivative_keeps_the_scalar_path_and_checks_the_shape():
    # a float or 0-d x is one point: one Dual, as without vectorized
    for x in (0.7, np.array(0.7)):
        r = fd.derivative(f_numpy, x, method="dual", vectorized=True)
        assert r.nfev == 1 and r.df == pytest.approx(float(df_numpy(0.7)), rel=16 * EPS)
    # an f that is not elementwise (a reduction) has no derivative per point: said so
    with pytest.raises(ValueError, match="same shape as its input when vectorized=True"):
        fd.derivative(np.sum, np.array([1.0, 2.0]), method="dual", vectorized=True)
    # non-finite derivatives are reported per element, f's exceptions propagate
    r = fd.derivative(np.sqrt, np.array([0.0, 4.0]), method="dual", vectorized=True)
    assert r.success.tolist() == [False, True] and r.df[1] == 0.25
    assert r.status.tolist() == [Status.NO_FINITE, Status.CONVERGED]

    class Boom(Exception):
        pass

    def boom(v):
        raise Boom("from f")

    with pytest.raises(Boom, match="from f"):
        fd.derivative(boom, np.array([1.0, 2.0]), method="dual", vectorized=True)


def test_derivative_of_a_0d_point_gives_python_scalars():
    r = dual_derivative(f_scalar, np.array(0.7))
    assert isinstance(r.df, float) and isinstance(r.error, float)
    assert r.success is True and r.status == 0 and r.step == 0.0 and r.nfev == 1
    assert r.df == pytest.approx(df_scalar(0.7), rel=8 * EPS)


def test_non_finite_derivative_is_not_success():
    r = dual_derivative(fm.sqrt, np.array([0.0, 4.0]))
    assert r.df[0] == np.inf and r.df[1] == 0.25
    assert r.success.tolist() == [False, True]
    assert r.status.tolist() == [Status.NO_FINITE, Status.CONVERGED]


def test_numpy_ufuncs_work_as_f():
    r = dual_derivative(lambda x: np.sin(x) * np.exp(x) + x**3, np.array([0.7]))
    np.testing.assert_allclose(r.df, df_scalar(0.7), rtol=8 * EPS)


def test_gradient_matches_the_analytic_rosenbrock_gradient():
    v = np.linspace(-1.2, 1.5, 7)
    r = dual_gradient(rosen, v)
    scale = 400 * np.max(np.abs(v)) ** 3  # size of the largest term, for rounding
    np.testing.assert_allclose(r.df, rosen_grad(v), rtol=0, atol=16 * EPS * scale)
    # one call on a DualArray, the rounding bound's magnitudes in its lane
    assert r.nfev == 1 and r.step.shape == v.shape and r.success.all()
    assert np.all(np.abs(r.df - rosen_grad(v)) <= r.error)


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 100])
def test_chunking_gives_the_same_gradient_in_ceil_n_over_chunk_evaluations(chunk):
    v = np.linspace(-1.2, 1.5, 7)
    r = dual_gradient(rosen, v, chunk=chunk)
    np.testing.assert_array_equal(r.df, dual_gradient(rosen, v).df)
    # + the rounding bound's call, unless one call holds every partial (then its lane)
    assert r.nfev == pymath.ceil(7 / min(chunk, 7)) + (chunk < 7)


def test_chunk_must_be_positive():
    with pytest.raises(ValueError, match=r"`chunk` must be a positive integer; got 0\."):
        dual_gradient(rosen, np.ones(3), chunk=0)


def test_gradient_of_a_matrix_shaped_point():
    W = np.arange(6.0).reshape(2, 3) / 10
    r = dual_gradient(lambda w: (np.tanh(w) ** 2).sum(), W)
    expected = 2 * np.tanh(W) * (1 - np.tanh(W) ** 2)
    assert r.df.shape == (2, 3) and r.step.shape == (2, 3)
    np.testing.assert_allclose(r.df, expected, rtol=8 * EPS, atol=8 * EPS)


def test_gradient_rejects_a_vector_valued_f():
    with pytest.raises(ValueError, match="use jacobian"):
        dual_gradient(lambda v: v * 2.0, np.ones(3))


def test_jacobian_has_shape_f_plus_s():
    x = np.array([[0.5, 1.0, 1.5], [2.0, 2.5, 3.0]])
    A = np.arange(8.0).reshape(4, 2)

    def f(w):
        return A @ np.sin(w)  # shape (4, 3)

    r = dual_jacobian(f, x, chunk=4)
    assert r.df.shape == (4, 3, 2, 3) and r.nfev == 2 + 1  # + the rounding bound's call
    # d f[i, k] / d x[l, m] = A[i, l] cos(x[l, m]) [k == m]
    expected = np.einsum("il,km->iklm", A, np.eye(3)) * np.cos(x)[None, None, :, :]
    np.testing.assert_allclose(r.df, expected, rtol=8 * EPS, atol=8 * EPS * A.max())


def test_jacobian_of_outputs_that_ignore_x():
    r = dual_jacobian(lambda v: np.array([v[0] * 2.0, 3.0]), np.array([1.0, 2.0]))
    np.testing.assert_array_equal(r.df, [[2.0, 0.0], [0.0, 0.0]])


def test_jvp_is_one_evaluation_of_j_times_v():
    x = np.array([0.3, -0.2, 0.9])
    v = np.array([1.0, 2.0, -0.5])
    M = np.array([[1.0, 2.0, 0.0], [0.5, -1.0, 3.0]])
    r = dual_jvp(lambda u: M @ np.exp(u), x, v)
    assert r.nfev == 1 and r.df.shape == (2,) and r.step.shape == (3,)  # (the bound's lane)
    np.testing.assert_allclose(r.df, M @ (np.exp(x) * v), rtol=8 * EPS)
    with pytest.raises(ValueError, match="`v` must be an array of the same shape"):
        dual_jvp(np.sin, x, np.ones(2))


@pytest.mark.parametrize(
    "name",
    ["layer", "two layers", "rosenbrock", "elementwise", "matrix point", "solve", "no lane"],
)
def test_jvp_lane_gives_the_two_call_numbers_bit_for_bit_in_one_call(name, monkeypatch):
    # the bound's magnitudes ride in the call of J v (`_jvp_lane`); without it (stubbed) the
    # two calls give the same numbers, the stub's "call" counted (nfev 3). An operation
    # without lanes (np.cumsum unwrapped) falls back to those two calls by itself
    import fastdiff._dualarray as da
    import fastdiff._forward as fw

    rng = np.random.default_rng(3)
    W, A = rng.normal(size=(30, 30)), rng.normal(size=(4, 4))
    fs = {
        "layer": (lambda u: np.tanh(W @ u + 1.0), 30),
        "two layers": (lambda u: np.tanh(W @ np.tanh(W @ u)) ** 3, 30),
        "rosenbrock": (rosen, 9),
        "elementwise": (lambda u: np.exp(u) / (1.0 + u * u) - np.sin(u) * u**3, 7),
        "matrix point": (lambda M: np.cos(M @ M.T).sum(axis=0) * M[0], (3, 3)),
        "solve": (lambda u: np.linalg.solve(A @ A.T + np.diag(u * u + 1.0), u), 4),
        "no lane": (lambda u: np.cumsum(u * u) ** 2, 5),
    }
    f, shape = fs[name]
    x, v = rng.normal(size=shape), rng.normal(size=shape)
    if name == "no lane":
        monkeypatch.setitem(da._FUNCTIONS, np.cumsum, da._FUNCTIONS[np.cumsum].__wrapped__)
    r = dual_jvp(f, x, v)
    monkeypatch.setattr(fw, "_jvp_lane", lambda *_: None)
    two = dual_jvp(f, x, v)
    assert r.nfev == (3 if name == "no lane" else 1) and two.nfev == 3
    np.testing.assert_array_equal(r.df, two.df)
    np.testing.assert_array_equal(r.error, two.error)
    np.testing.assert_array_equal(r.success, two.success)


def test_hessian_by_nested_duals_matches_the_analytic_rosenbrock_hessian():
    v = np.linspace(-1.2, 1.5, 5)
    r = dual_hessian(rosen, v)
    np.testing.assert_allclose(r.df, rosen_hess(v), rtol=0, atol=16 * EPS * 1200 * 1.5**2)
    np.testing.assert_array_equal(r.df, r.df.T)
    assert r.df.shape == (5, 5) and r.step.shape == (5,) and r.nfev == 1  # the bound's lane too


@pytest.mark.parametrize("chunk", [1, 2, 4])
def test_hessian_blocks_cover_the_matrix(chunk):
    v = np.linspace(-1.2, 1.5, 5)
    r = dual_hessian(lambda u: fm.exp(u[0] * u[1]) + (fm.sin(u) * u[::-1]).sum(), v, chunk=chunk)
    full = dual_hessian(lambda u: fm.exp(u[0] * u[1]) + (fm.sin(u) * u[::-1]).sum(), v)
    np.testing.assert_allclose(r.df, full.df, rtol=4 * EPS, atol=4 * EPS)
    nb = pymath.ceil(5 / chunk)
    assert r.nfev == nb * (nb + 1) // 2 + 1  # blocks on and above the diagonal, + the bound


def test_hessian_of_a_matrix_shaped_point_has_shape_s_plus_s():
    W = np.array([[0.1, 0.2], [0.3, 0.4]])
    r = dual_hessian(lambda w: (w**3).sum(), W)
    assert r.df.shape == (2, 2, 2, 2)
    np.testing.assert_allclose(r.df.reshape(4, 4), np.diag(6 * W.ravel()), rtol=4 * EPS)


def test_mlp_gradient_matches_hand_written_backprop():
    theta, X, y = make_problem()
    assert theta.size == N_PARAMS == 385
    r = dual_gradient(loss, theta, args=(X, y))
    g = backprop(theta, X, y)
    # Both sides round differently through ~10 sums of 16-32 terms of size O(1).
    np.testing.assert_allclose(r.df, g, rtol=0, atol=64 * EPS * np.max(np.abs(g)))
    assert r.nfev == 2  # one DualArray call with all 385 partials, one for the bound
    r8 = dual_gradient(loss, theta, args=(X, y), chunk=100)
    np.testing.assert_allclose(r8.df, g, rtol=0, atol=64 * EPS * np.max(np.abs(g)))
    assert r8.nfev == 4 + 1


def test_args_and_kwargs_reach_f():
    r = dual_derivative(lambda x, a, *, b: a * x + b * x * x, np.array(2.0), (3.0,), {"b": 0.5})
    assert r.df == 3.0 + 2.0


# ---------------------------------------------------------------------------------------------
# Bad input and f that cannot take Duals
# ---------------------------------------------------------------------------------------------


def test_exceptions_from_f_propagate_unchanged():
    err = KeyError("mine")

    def f(x):
        raise err

    for call in (
        lambda: dual_derivative(f, np.array(1.0)),
        lambda: dual_gradient(f, np.ones(2)),
        lambda: dual_hessian(f, np.ones(2)),
    ):
        with pytest.raises(KeyError) as info:
            call()
        assert info.value is err


def test_f_using_the_math_module_gets_a_helpful_typeerror():
    with pytest.raises(TypeError, match=r"drop its derivative.*fastdiff\.math"):
        dual_derivative(pymath.sin, np.array(0.5))
    with pytest.raises(TypeError, match=r"fastdiff\.math"):
        dual_gradient(lambda v: float(v[0]), np.ones(2))
    with pytest.raises(TypeError, match=r"fastdiff\.math"):
        dual_gradient(lambda v: np.asarray(v, dtype=float).sum(), np.ones(2))


def test_f_returning_garbage_raises_typeerror():
    with pytest.raises(TypeError, match="`f` must return real numbers or Duals"):
        dual_derivative(lambda x: "nope", np.array(1.0))


def test_bad_f_and_x_name_the_parameter():
    with pytest.raises(TypeError, match=r"`f` must be callable; got 3\."):
        dual_derivative(3, np.array(1.0))
    with pytest.raises(TypeError, match="`x` must be a real array_like"):
        dual_gradient(rosen, "abc")
    with pytest.raises(TypeError, match="`x` must be a real array_like"):
        dual_jacobian(rosen, np.array([1j, 2j]))


def test_tags_are_released_after_errors():
    def f(x):
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        dual_derivative(f, np.array(1.0))
    kept = []
    dual_derivative(lambda x: kept.append(x) or x, np.array(1.0))
    with pytest.raises(RuntimeError, match="escaped"):
        kept[0] + 1.0


def test_public_exports():
    assert fd.Dual is Dual and fd.math is fm
    assert {"Dual", "math"} <= set(fd.__all__)
