"""The public surface: exact __all__, every verb with every method, one Result contract."""

from __future__ import annotations

import numpy as np
import pytest

import fastdiff as fd
from fastdiff import Status

EPS = np.finfo(np.float64).eps


def test_all_is_exact():
    assert sorted(fd.__all__) == sorted(
        [
            "DerivativeError",
            "Dual",
            "DualArray",
            "Result",
            "Status",
            "__version__",
            "check_gradient",
            "check_jacobian",
            "derivative",
            "fd_weights",
            "gradient",
            "grid_derivative",
            "gradient_of",
            "hessdiag",
            "hessian",
            "hessian_of",
            "jacobian",
            "jacobian_of",
            "jvp",
            "math",
            "plot_steps",
        ]
    )
    for name in fd.__all__:
        assert hasattr(fd, name)


def f_scalar(x):  # works for floats, arrays and Duals
    return np.sin(x[0]) * np.exp(x[1]) + x[0] ** 3 * x[1]


def f_vector(x):
    return np.array([np.sin(x[0]) * x[1], np.exp(x[1]) + x[0] ** 2])


X = np.array([0.7, -0.4])
GRAD = np.array([np.cos(0.7) * np.exp(-0.4) + 3 * 0.49 * -0.4, np.sin(0.7) * np.exp(-0.4) + 0.343])
JAC = np.array([[np.cos(0.7) * -0.4, np.sin(0.7)], [1.4, np.exp(-0.4)]])
HESS = np.array(
    [
        [-np.sin(0.7) * np.exp(-0.4) + 6 * 0.7 * -0.4, np.cos(0.7) * np.exp(-0.4) + 3 * 0.49],
        [np.cos(0.7) * np.exp(-0.4) + 3 * 0.49, np.sin(0.7) * np.exp(-0.4)],
    ]
)
V = np.array([1.0, 2.0])

METHODS = {
    "derivative": ["central", "forward", "backward", "complex", "dual"],
    "gradient": ["central", "forward", "backward", "complex", "dual"],
    "jacobian": ["central", "forward", "backward", "complex", "dual"],
    "jvp": ["central", "forward", "backward", "complex", "dual"],
    "hessian": ["central", "forward", "backward", "complex", "dual"],
    "hessdiag": ["central", "forward", "backward", "complex"],
}
CASES = {
    "derivative": (lambda: (np.sin, X), np.cos(X)),
    "gradient": (lambda: (f_scalar, X), GRAD),
    "jacobian": (lambda: (f_vector, X), JAC),
    "jvp": (lambda: (f_vector, X, V), JAC @ V),
    "hessian": (lambda: (f_scalar, X), HESS),
    "hessdiag": (lambda: (f_scalar, X), np.diag(HESS)),
}


@pytest.mark.parametrize(
    ("verb", "method"), [(v, m) for v, ms in METHODS.items() for m in ms], ids=str
)
def test_every_verb_accepts_every_method_and_returns_one_result_type(verb, method):
    make, exact = CASES[verb]
    res = getattr(fd, verb)(*make(), method=method)
    assert isinstance(res, fd.Result) and res.method == method
    assert np.shape(res.df) == np.shape(exact) == np.shape(res.error) == np.shape(res.status)
    assert np.all(res.success) and np.all(np.asarray(res.success) == (np.asarray(res.status) >= 0))
    assert isinstance(res.nfev, int) and res.nfev > 0
    true = np.abs(np.asarray(res.df, dtype=float) - exact)
    assert np.all(true <= res.error + 8 * EPS * np.maximum(1, np.abs(exact)))


@pytest.mark.parametrize(("verb", "method"), [("hessdiag", "dual")])
def test_unsupported_method_is_named(verb, method):
    with pytest.raises(ValueError, match=r"^`method` must be"):
        getattr(fd, verb)(f_scalar, X, method=method)


def test_dual_agrees_with_finite_differences_on_a_shared_table():
    table = [
        np.exp,
        np.sin,
        np.tanh,
        np.sqrt,
        np.log1p,
        lambda t: t**3 - 2 * t,
        lambda t: np.arctan(t) * np.cosh(t),
    ]
    x = np.array([0.3, 0.9, 1.7])
    for f in table:
        d = fd.derivative(f, x, method="dual")
        c = fd.derivative(f, x)
        assert np.all(np.abs(d.df - c.df) <= d.error + c.error + 8 * EPS)


def test_dual_step_is_zero_and_error_is_rounding_level():
    res = fd.derivative(np.exp, 1.0, method="dual")
    assert res.step == 0 and res.status == Status.CONVERGED
    assert 0 < res.error <= 8 * EPS * np.e


def test_nested_derivatives_through_the_public_api():
    # d/dx [x * d/dy (x + y)] = 1: the classic perturbation-confusion check
    inner = lambda x: fd.derivative(lambda y: x + y, 1.0, method="dual").df  # noqa: E731
    res = fd.derivative(lambda x: x * inner(x), 2.0, method="dual")
    assert res.df == 1.0


@pytest.mark.parametrize("name", ["order", "step", "bounds", "noise"])
def test_dual_rejects_finite_difference_options_by_name(name):
    value = {"order": 2, "step": 0.1, "bounds": (0, 1), "noise": 1e-8}[name]
    with pytest.raises(ValueError, match=f"^`{name}` must be None for method='dual'"):
        fd.derivative(np.sin, 0.5, method="dual", **{name: value})
