"""gradient_of / jacobian_of / hessian_of: the optimiser-facing callables."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import least_squares, minimize, rosen, rosen_der, rosen_hess

import fastdiff as fd

EPS = np.finfo(np.float64).eps


def test_gradient_of_matches_the_verb_and_the_analytic_gradient():
    x = np.array([0.3, -0.7, 1.1])
    g = fd.gradient_of(rosen)
    out = g(x)
    ref = fd.gradient(rosen, x)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    np.testing.assert_array_equal(out, ref.df)
    # the error bar bounds the true error (rounding slack as in DESIGN: ~1e-15 * max(1, |df|))
    slack = 8 * EPS * np.maximum(1.0, np.abs(out))
    assert np.all(np.abs(out - rosen_der(x)) <= g.last.error + slack)
    assert g.nfev == ref.nfev and g.last.nfev == ref.nfev


def test_args_come_from_the_caller_and_options_are_fixed():
    def f(x, a, b):
        return a * np.sum(x**2) + b

    g = fd.gradient_of(f, method="forward")
    out = g(np.array([1.0, 2.0]), 3.0, 5.0)
    assert g.last.method == "forward"
    np.testing.assert_allclose(out, [6.0, 12.0], rtol=0, atol=float(np.max(g.last.error)) + 1e-12)
    first = g.nfev
    g(np.array([0.5, 0.5]), 1.0, 0.0)
    assert first > 0 and g.nfev == first + g.last.nfev  # accumulates over calls


def test_strict_raises_with_the_result_attached_and_strict_false_returns_it():
    kinked = lambda x: np.sum(np.abs(x))  # noqa: E731
    x = np.array([0.0, 1.0])
    with pytest.raises(fd.DerivativeError, match=r"1 of 2 entries") as info:
        fd.gradient_of(kinked)(x)
    err = info.value
    assert isinstance(err, ArithmeticError)
    np.testing.assert_array_equal(err.result.success, [False, True])
    np.testing.assert_array_equal(err.x, x)
    lenient = fd.gradient_of(kinked, strict=False)
    out = lenient(x)
    np.testing.assert_array_equal(out, lenient.last.df)
    assert not lenient.last.success[0]


def test_f_exceptions_propagate_unchanged():
    boom = ZeroDivisionError("from f")

    def f(x):
        raise boom

    with pytest.raises(ZeroDivisionError) as info:
        fd.hessian_of(f)(np.ones(2))
    assert info.value is boom


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"f": 3.0}, TypeError, "f must be callable"),
        ({"f": rosen, "strict": 1}, TypeError, "strict must be True or False"),
        ({"f": rosen, "args": (1,)}, TypeError, "args must not be given"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        fd.gradient_of(**kwargs)


def test_invalid_verb_options_raise_at_call_time_naming_the_parameter():
    g = fd.gradient_of(rosen, rtol=-1.0)
    with pytest.raises(ValueError, match="rtol"):
        g(np.ones(2))


def test_minimize_with_jac_and_hess():
    x0 = np.array([1.3, 0.7, 0.8, 1.9, 1.2])  # scipy tutorial start
    jac, hess = fd.gradient_of(rosen), fd.hessian_of(rosen)
    res = minimize(rosen, x0, method="trust-exact", jac=jac, hess=hess)
    assert res.success
    # Oracle: the same run with the analytic derivatives. Derivatives within ~1e-10 of the
    # exact ones take the same path (same iterations, same end point to ~1e-9); both stop
    # ~2e-6 from the minimum, where trust-exact's own rule stops.
    exact = minimize(rosen, x0, method="trust-exact", jac=rosen_der, hess=rosen_hess)
    assert res.nit == exact.nit
    np.testing.assert_allclose(res.x, exact.x, rtol=0, atol=1e-9)
    np.testing.assert_allclose(res.x, 1.0, atol=1e-5)
    # the Hessian handed over is the verb's, within its error bar of the analytic one
    H = hess(res.x)
    assert H.shape == (5, 5) and np.array_equal(H, H.T)
    assert np.all(np.abs(H - rosen_hess(res.x)) <= hess.last.error + 1e-9)


def test_least_squares_with_jac_and_args():
    t = np.linspace(0.0, 2.0, 15)
    y = 1.7 * np.exp(-0.4 * t) * np.cos(0.9 * t)

    def resid(p, t, y):
        return p[0] * np.exp(-p[1] * t) * np.cos(p[2] * t) - y

    jac = fd.jacobian_of(resid)
    fit = least_squares(resid, [1.0, 1.0, 1.0], jac=jac, args=(t, y))
    np.testing.assert_allclose(fit.x, [1.7, 0.4, 0.9], rtol=1e-9)
    assert jac.last.df.shape == (15, 3)


def test_repr_names_the_verb_and_options():
    assert repr(fd.jacobian_of(rosen, method="complex")) == (
        "jacobian_of(rosen, strict=True, method='complex')"
    )
