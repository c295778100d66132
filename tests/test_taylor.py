"""Taylor mode (derivative with method="dual", any n): every rule against mpmath at n = 1..8,
honest error bars, identities, arrays, kinks and errors."""

from __future__ import annotations

import math as pymath

import mpmath as mp
import numpy as np
import pytest
import scipy.special as sc
from hypothesis import example, given
from hypothesis import strategies as st

import fastdiff as fd
from fastdiff import Dual
from fastdiff import math as fm
from fastdiff._kernels import _dual, _taylor
from fastdiff._taylor import taylor_derivative
from test_dual import MP_BINARY, MP_UNARY

EPS = float(np.finfo(np.float64).eps)
NMAX = 8
Q = 0.3  # the inner argument x + Q (x - x0)^2 gives every rule a series with u_2 != 0
# A sanity ceiling on the bound itself: it must be a rounding bound, not "anything". The
# recurrences at degree 8 amplify rounding by at most a few thousand ulps of the coefficients'
# magnitude (measured: error bars are 1e-16 .. 1e-12 relative here), so 1e-9 relative to the
# larger of the derivative and the function's scale catches a runaway bound.
CEILING = 1e-9

mp.mp.dps = 50


def points(name: str) -> list[float]:
    """Four points inside the rule's domain, clipped to [-3, 3] (tan to +-1.2)."""
    lo, hi = _dual.RULE_DOMAINS[name][:2]
    lo, hi = max(lo, -3.0), min(hi, 3.0)
    if name == "tan":
        lo, hi = -1.2, 1.2
    return [lo + (hi - lo) * f for f in (0.13, 0.37, 0.61, 0.88)]


def oracle(g, x0: float, n: int = NMAX) -> list[float]:
    """f^(k)(x0), k = 0..n, from mpmath's Taylor coefficients at 50 digits."""
    c = mp.taylor(lambda x: mp.mpf(1) * g(x), mp.mpf(x0), n)  # a float constant is an mpf
    return [float(c[k] * mp.factorial(k)) for k in range(n + 1)]


def check_all_orders(f, x0: float, ref: list[float], label: str) -> None:
    for n in range(1, NMAX + 1):
        r = taylor_derivative(f, x0, n)
        err = abs(r.df - ref[n])
        assert r.success, (label, n, r)
        assert err <= r.error, (label, n, r.df, ref[n], err, r.error)
        assert r.error <= CEILING * max(1.0, abs(ref[n])), (label, n, r.error, ref[n])


UNARY = [name for name in _dual.RULE_NAMES if _dual.RULE_ARITY[name] == 1]
BINARY = [name for name in _dual.RULE_NAMES if _dual.RULE_ARITY[name] == 2]


def test_companion_table_has_exactly_the_rules_of_the_rule_table():
    assert len(_taylor.TAYLOR_RULE_NAMES) == len(set(_taylor.TAYLOR_RULE_NAMES))
    assert set(_taylor.TAYLOR_RULE_NAMES) == set(_dual.RULE_NAMES)
    assert _taylor.RULE_NAMES == _dual.RULE_NAMES


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("inner", [False, True], ids=["x", "composite"])
def test_unary_rule_matches_mpmath_to_order_8_within_its_error_bar(name, inner):
    fn, fmp = getattr(fm, name), MP_UNARY[name]
    for x0 in points(name):
        if inner:
            ref = oracle(lambda x, x0=x0: fmp(x + Q * (x - x0) ** 2), x0)
            check_all_orders(lambda t, x0=x0: fn(t + Q * (t - x0) ** 2), x0, ref, name)
        else:
            check_all_orders(fn, x0, oracle(fmp, x0), name)


def _branch(name, fmp):
    """maximum/minimum: the oracle is the branch taken (mpmath cannot differentiate a
    piecewise function with a constant branch)."""
    if name == "maximum":
        return lambda x, y, pick: x if pick else y
    if name == "minimum":
        return lambda x, y, pick: y if pick else x
    return lambda x, y, pick: fmp(x, y)


@pytest.mark.parametrize("name", BINARY)
def test_binary_rule_matches_mpmath_to_order_8_within_its_error_bar(name):
    fn, fmp = getattr(fm, name), MP_BINARY[name]
    branch = _branch(name, fmp)
    for x0 in (0.4, 1.3, 2.2):
        for y0 in (-1.1, 0.3, 1.7):
            pick = x0 > y0
            # both arguments vary: y = y0 + (x - x0)/2 + Q (x - x0)^2
            ref = oracle(
                lambda x, x0=x0, y0=y0, p=pick: branch(x, y0 + (x - x0) / 2 + Q * (x - x0) ** 2, p),
                x0,
            )
            check_all_orders(
                lambda t, x0=x0, y0=y0: fn(t, y0 + 0.5 * (t - x0) + Q * (t - x0) ** 2),
                x0,
                ref,
                name,
            )
            # one constant argument, on either side
            check_all_orders(
                lambda t, y0=y0: fn(t, y0),
                x0,
                oracle(lambda x, y0=y0, p=pick: branch(x, y0, p), x0),
                name,
            )
            check_all_orders(
                lambda t, x0=x0: fn(x0, t),
                y0,
                oracle(lambda y, x0=x0, p=pick: branch(x0, y, p), y0),
                name,
            )


NUMPY_UFUNCS = {name: getattr(np, name) for name in UNARY + BINARY if hasattr(np, name)}
NUMPY_UFUNCS.update(erf=sc.erf, erfc=sc.erfc, expit=sc.expit)


@pytest.mark.parametrize("name", sorted(NUMPY_UFUNCS))
def test_numpy_ufuncs_and_fastdiff_math_give_the_same_taylor_numbers(name):
    ufunc, fn = NUMPY_UFUNCS[name], getattr(fm, name)
    x0 = points(name)[1]
    args = (lambda t: (t,)) if _dual.RULE_ARITY[name] == 1 else (lambda t: (t, 0.5 * t + 0.25))
    a = taylor_derivative(lambda t: ufunc(*args(t)), x0, 5)
    b = taylor_derivative(lambda t: fn(*args(t)), x0, 5)
    assert (a.df, a.error) == (b.df, b.error)


def test_arithmetic_with_integer_real_and_taylor_exponents_matches_mpmath():
    def f(x):
        return (
            (3 - x) * x / (2 + x)
            - 1 / x
            + x**2.5
            + x**3
            + x**-2
            + 2**x
            + x**x
            + (-x) * 0.5
            + abs(x - 5)
            + (x - 4.0) / 3.0
            + np.float64(2.0) * x
            - x
        )

    x0 = 1.3
    ref = oracle(f, x0)
    check_all_orders(f, x0, ref, "arithmetic")


def test_array_constants_broadcast_and_reflected_ufuncs():
    c = np.array([1.0, 2.0, 3.0])
    x = np.array([0.5, 1.0, 1.5])
    r = fd.derivative(
        lambda t: np.add(c, t) * np.multiply(t, c) + c / t + c**t, x, n=3, method="dual"
    )
    for i in range(3):
        ref = oracle(lambda v, i=i: (c[i] + v) * v * c[i] + c[i] / v + c[i] ** v, x[i], 3)[3]
        assert abs(r.df[i] - ref) <= r.error[i]
    # a scalar Taylor number broadcast against an array constant: shape of the result grows
    with pytest.raises(ValueError, match="must return a result of x's shape"):
        fd.derivative(lambda t: t * c, 1.0, n=2, method="dual")


def test_comparisons_act_on_values_and_steer_branches():
    def f(x):
        return x * x if x > 1.0 else -x

    assert fd.derivative(f, 2.0, n=2, method="dual").df == 2.0
    assert fd.derivative(f, 0.5, n=2, method="dual").df == 0.0
    t = _taylor.seed(np.array([0.5, 2.0]), 2)
    assert (t > 1.0).tolist() == [False, True]
    assert np.greater(t, 1.0).tolist() == [False, True]


def test_exp_sin_fourth_derivative_is_exact_to_rounding():
    r = fd.derivative(lambda x: np.exp(x) * np.sin(x), 0.7, n=4, method="dual")
    exact = -4 * pymath.exp(0.7) * pymath.sin(0.7)
    assert abs(r.df - exact) <= 1e-14 * abs(exact)
    assert abs(r.df - exact) <= r.error <= 1e-12 * abs(exact)
    assert (r.nfev, r.step, r.method, r.status, bool(r.success)) == (1, 0.0, "dual", 0, True)


# --------------------------------------------------------------------------------------------
# Kinks: at an exact zero the first nonzero coefficient decides
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("f", "n", "expected"),
    [
        (abs, 1, 0.0),  # abs'(0) = 0 (the table's convention)
        (lambda x: abs(x) + x, 3, 0.0),
        (lambda x: abs(x**2), 2, 2.0),  # x^2 keeps its sign: smooth, exact
        (lambda x: abs(-(x**2)), 2, 2.0),
        (lambda x: abs(x**3), 3, 0.0),  # odd order: a kink, every coefficient 0
        (lambda x: fm.relu(x**2), 2, 2.0),
        (lambda x: fm.relu(-(x**2)), 2, 0.0),
        (lambda x: fm.relu(x), 1, 0.0),  # relu'(0) = 0
        (lambda x: np.maximum(x, -x), 1, 0.0),  # a kink: the mean of both sides
        (lambda x: np.maximum(x**2, 0.0), 2, 2.0),
        (lambda x: np.minimum(x**2, 0.0), 2, 0.0),
        (lambda x: np.maximum(x, x), 1, 1.0),
        (lambda x: np.hypot(x, x), 1, 0.0),  # the origin: gradient 0, as abs
        (lambda x: np.hypot(x**2, 0.0), 2, 2.0),
        (lambda x: np.hypot(3 * x**2, 4 * x**2), 2, 10.0),
    ],
)
def test_kinks_follow_the_first_nonzero_coefficient(f, n, expected):
    r = taylor_derivative(f, 0.0, n)
    assert r.df == expected
    assert r.success


def test_kink_coefficients_use_the_table_convention_at_every_order():
    for n in range(1, 6):
        assert taylor_derivative(abs, 0.0, n).df == 0.0
        assert taylor_derivative(lambda x: np.maximum(x, 2 * x), 0.0, n).df == (
            1.5 if n == 1 else 0.0
        )


# --------------------------------------------------------------------------------------------
# Identities (Hypothesis)
# --------------------------------------------------------------------------------------------


@given(st.floats(-3.0, 3.0), st.integers(1, 8))
@example(0.0, 8)
def test_leibniz_rule_for_products(x, n):
    prod = taylor_derivative(lambda t: np.sin(t) * np.exp(t), x, n)
    parts_f = [taylor_derivative(np.sin, x, k) if k else None for k in range(n + 1)]
    parts_g = [taylor_derivative(np.exp, x, k) if k else None for k in range(n + 1)]
    f = [np.sin(x)] + [p.df for p in parts_f[1:]]
    g = [np.exp(x)] + [p.df for p in parts_g[1:]]
    leibniz = sum(pymath.comb(n, k) * f[k] * g[n - k] for k in range(n + 1))
    bound = sum(
        pymath.comb(n, k)
        * (
            abs(f[k]) * (parts_g[n - k].error if n - k else EPS * abs(g[0]))
            + abs(g[n - k]) * (parts_f[k].error if k else EPS * abs(f[0]))
        )
        for k in range(n + 1)
    )
    assert abs(prod.df - leibniz) <= prod.error + bound + 4 * (n + 1) * EPS * sum(
        pymath.comb(n, k) * abs(f[k] * g[n - k]) for k in range(n + 1)
    )


@given(st.floats(0.01, 50.0))
@example(1.0)
def test_exp_of_log_is_the_identity_coefficientwise(x):
    y = np.exp(np.log(_taylor.seed(x, 8)))
    exact = np.array([x, 1.0] + [0.0] * 7)
    assert np.all(np.abs(y.coefficients - exact) <= y.radii)


@given(st.floats(-10.0, 10.0))
def test_sin_squared_plus_cos_squared_is_one_coefficientwise(x):
    t = _taylor.seed(x, 8)
    t = t * 1.5 + t**2 * 0.25
    y = np.sin(t) ** 2 + np.cos(t) ** 2
    exact = np.array([1.0] + [0.0] * 8)
    assert np.all(np.abs(y.coefficients - exact) <= y.radii)


@given(st.floats(-0.9, 0.9))
def test_inverse_functions_undo_their_functions(x):
    t = _taylor.seed(x, 6)
    for y in (
        np.sin(np.arcsin(t)),
        np.tanh(np.arctanh(t)),
        np.tan(np.arctan(t)),
        np.sinh(np.arcsinh(t)),
    ):
        exact = np.array([x, 1.0] + [0.0] * 5)
        assert np.all(np.abs(y.coefficients - exact) <= y.radii)


# --------------------------------------------------------------------------------------------
# Arrays, results, errors
# --------------------------------------------------------------------------------------------


def test_array_x_equals_the_loop_over_scalars():
    x = np.linspace(-2.0, 2.0, 12).reshape(3, 4)

    def f(t):
        return np.tanh(t) * fm.erf(t) + np.arctan2(t, 2.0) - fm.softplus(t) ** 2

    r = fd.derivative(f, x, n=5, method="dual")
    assert r.df.shape == r.error.shape == r.step.shape == x.shape
    assert r.nfev == 1 and np.all(r.step == 0) and r.success.all()
    for idx in np.ndindex(x.shape):
        s = fd.derivative(f, float(x[idx]), n=5, method="dual")
        assert (s.df, s.error, s.status) == (r.df[idx], r.error[idx], r.status[idx])


@pytest.mark.parametrize(
    "name", ["exp", "sin", "cos", "sinh", "cosh", "tan", "tanh", "arctan", "expm1", "exp2"]
)
@pytest.mark.parametrize("n", [2, 4, 9])
def test_affine_arguments_give_bitwise_what_the_general_recurrence_gives(name, n):
    # An argument affine in t (a seed) runs the integration formula's single term in one pass
    # per coefficient; an array with a non-affine element beside it runs the general sum for
    # every element. Lane 0 is the same series both ways: bitwise the same result.
    g = getattr(np, name)
    x = np.array([0.7, -1.3])
    c = np.array([0.0, 1.0])  # lane 0: t + 0 (t - x)^2, exact zeros from t^2 on
    arr = fd.derivative(lambda t: g(t + c * (t - x) ** 2), x, n=n, method="dual")
    one = fd.derivative(lambda t: g(t + 0.0 * (t - 0.7) ** 2), 0.7, n=n, method="dual")
    assert (one.df, one.error, one.status) == (arr.df[0], arr.error[0], arr.status[0])
    plain = fd.derivative(g, 0.7, n=n, method="dual")  # the same coefficients, radii 0
    assert plain.df == one.df and plain.error <= one.error


def test_constant_f_has_zero_derivatives():
    r = fd.derivative(lambda t: 3.0, 1.0, n=3, method="dual")
    assert (r.df, r.error, r.nfev) == (0.0, 0.0, 1)
    r = fd.derivative(lambda t: np.ones(2), np.array([1.0, 2.0]), n=3, method="dual")
    assert r.df.tolist() == [0.0, 0.0]


def test_outside_the_domain_is_not_trusted():
    r = fd.derivative(np.log, np.array([-1.0, 1.0]), n=2, method="dual")
    assert r.success.tolist() == [False, True]
    assert r.status.tolist() == [int(fd.Status.NO_FINITE), 0]
    assert r.error[0] == np.inf
    r = fd.derivative(np.sqrt, 0.0, n=2, method="dual")
    assert not r.success


def test_n_is_validated_with_the_usual_message():
    for n, shown in [(0, "0"), (-2, "-2"), (1.5, "1.5"), ("2", "'2'")]:
        with pytest.raises(ValueError, match=f"^`n` must be a positive integer; got {shown}\\.$"):
            fd.derivative(np.sin, 0.5, n=n, method="dual")


def test_unsupported_functions_raise_type_error_naming_them():
    with pytest.raises(TypeError, match="'floor'"):
        fd.derivative(np.floor, 0.5, n=2, method="dual")
    with pytest.raises(TypeError, match="'sum'"):
        fd.derivative(np.sum, np.array([0.5, 1.0]), n=2, method="dual")
    with pytest.raises(TypeError, match="float"):
        fd.derivative(lambda t: pymath.sin(t), 0.5, n=2, method="dual")
    with pytest.raises(TypeError, match="float"):
        fd.derivative(lambda t: float(t), 0.5, n=2, method="dual")

    def store(t):
        out = np.zeros(1)
        out[0] = t
        return out[0]

    with pytest.raises(TypeError, match="float"):
        fd.derivative(store, 0.5, n=2, method="dual")


def test_taylor_numbers_do_not_mix_with_duals_or_other_calls():
    with pytest.raises(TypeError, match="does not nest"):
        fd.derivative(lambda t: t * Dual(1.0), 0.5, n=2, method="dual")
    with pytest.raises(TypeError, match="takes real points"):
        fd.derivative(lambda d: fd.derivative(np.sin, d, n=2, method="dual").df, 0.5, method="dual")
    kept = []
    fd.derivative(lambda t: kept.append(t) or t, 0.5, n=2, method="dual")
    with pytest.raises(ValueError, match="two different differentiation calls"):
        fd.derivative(lambda t: t * kept[0], 0.5, n=2, method="dual")
    with pytest.raises(ValueError, match="another differentiation call"):
        fd.derivative(lambda t: kept[0], 0.5, n=2, method="dual")


def test_exceptions_of_f_propagate_unchanged():
    class Boom(Exception):
        pass

    def f(t):
        raise Boom("inside f")

    with pytest.raises(Boom, match="inside f"):
        fd.derivative(f, 0.5, n=3, method="dual")


def test_high_orders_stay_exact_for_a_polynomial():
    r = fd.derivative(lambda t: t**12 - 3 * t**5, 1.0, n=12, method="dual")
    assert r.df == pymath.factorial(12)
    assert fd.derivative(lambda t: t**12, 1.0, n=13, method="dual").df == 0.0


CHAINS = {
    "exp-sin-log-quotient": (
        lambda t: fm.exp(fm.sin(t)) * fm.log(1 + t * t) / (t - 3),
        lambda x: mp.exp(mp.sin(x)) * mp.log(1 + x * x) / (x - 3),
    ),
    "cancellation exp - expm1": (lambda t: fm.exp(t) - fm.expm1(t), lambda x: mp.mpf(1) + 0 * x),
    "tanh-arctan-sqrt-cosh": (
        lambda t: fm.tanh(fm.arctan(t**3 - t)) + fm.sqrt(fm.cosh(t)),
        lambda x: mp.tanh(mp.atan(x**3 - x)) + mp.sqrt(mp.cosh(x)),
    ),
    "taylor exponent and hypot": (
        lambda t: (1 + t * t) ** fm.sin(t) + fm.hypot(t, 2 * t + 1),
        lambda x: (1 + x * x) ** mp.sin(x) + mp.sqrt(x * x + (2 * x + 1) ** 2),
    ),
    "activations": (
        lambda t: fm.softplus(5 * t) - fm.logaddexp(t, -t) + fm.expit(3 * t) * fm.erf(t),
        lambda x: (
            mp.log(1 + mp.exp(5 * x))
            - mp.log(mp.exp(x) + mp.exp(-x))
            + mp.erf(x) / (1 + mp.exp(-3 * x))
        ),
    ),
    "inverse functions": (
        lambda t: (
            fm.arcsin(t / 3) * fm.arccosh(2 + t * t)
            - fm.arctanh(t / 4) ** 2
            + fm.cbrt(t + 5)
            + fm.log10(t + 4)
            - fm.exp2(t)
        ),
        lambda x: (
            mp.asin(x / 3) * mp.acosh(2 + x * x)
            - mp.atanh(x / 4) ** 2
            + mp.cbrt(x + 5)
            + mp.log10(x + 4)
            - mp.power(2, x)
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(CHAINS))
def test_error_bars_stay_honest_through_chains_of_rules(name):
    """Radii propagate through compositions, with cancellation: still bounds at n = 1..8."""
    f, g = CHAINS[name]
    for x0 in (-2.3, -0.75, 0.4, 2.1):
        check_all_orders(f, x0, oracle(g, x0), name)


WIDE = {
    "exp": [30.0, -30.0],
    "expm1": [1e-8, -20.0],
    "log1p": [1e-9, -0.999],
    "tan": [1.5, -1.55],
    "arcsin": [0.999, -0.9999],
    "arctan": [1e3, -1e-4],
    "sinh": [20.0],
    "tanh": [6.0, 12.0, -15.0],  # the table's 1 - tanh^2 cancels here; sech^2 does not
    "arccosh": [1.0001, 1e3],
    "arctanh": [0.9999],
    "erfc": [5.0, 8.0],
    "expit": [20.0, -30.0],
    "softplus": [25.0, -25.0],
}


@pytest.mark.parametrize("name", sorted(WIDE))
def test_far_from_the_origin_and_near_domain_edges_bounds_stay_honest_and_tight(name):
    """Bounds hold, and stay within 1e-12 relative (no cancellation in the recurrences)."""
    fn, fmp = getattr(fm, name), MP_UNARY[name]
    for x0 in WIDE[name]:
        ref = oracle(fmp, x0, 6)
        for n in range(1, 7):
            r = taylor_derivative(fn, x0, n)
            assert r.success and abs(r.df - ref[n]) <= r.error <= 1e-12 * abs(ref[n]), (x0, n)


def test_args_and_kwargs_reach_f():
    def f(t, a, *, b):
        return a * t**3 + b

    r = fd.derivative(f, 2.0, n=3, method="dual", args=(5.0,), kwargs={"b": 1.0})
    assert r.df == 30.0
    assert fd.derivative(f, 2.0, n=2, method="dual", args=(1.0,), kwargs={"b": 0.0}).df == 12.0


def test_points_of_any_real_kind_and_shape():
    assert fd.derivative(np.sin, 1, n=2, method="dual").df == -np.sin(1.0)
    assert fd.derivative(np.sin, np.float32(1.0), n=2, method="dual").df == -np.sin(1.0)
    assert fd.derivative(np.sin, [[0.5, 1.0]], n=2, method="dual").df.shape == (1, 2)
    assert fd.derivative(np.sin, np.array([]), n=2, method="dual").df.shape == (0,)
    assert fd.derivative(np.sin, np.array(1.0), n=2, method="dual").df == -np.sin(1.0)
    with pytest.raises(TypeError, match="`x` must be a real array_like"):
        fd.derivative(np.sin, 1j, n=2, method="dual")


# Random compositions: (fastdiff, mpmath) pairs that are smooth on all reals.
_UN = [
    (fm.sin, mp.sin),
    (fm.tanh, mp.tanh),
    (fm.arctan, mp.atan),
    (fm.erf, mp.erf),
    (fm.arcsinh, mp.asinh),
    (lambda a: fm.exp(a / 4), lambda a: mp.exp(a / 4)),
    (lambda a: fm.log1p(a * a), lambda a: mp.log(1 + a * a)),
    (lambda a: fm.sqrt(1 + a * a), lambda a: mp.sqrt(1 + a * a)),
    (lambda a: fm.softplus(a), lambda a: mp.log(1 + mp.exp(a))),
    (lambda a: 1 / (2 + fm.cos(a)), lambda a: 1 / (2 + mp.cos(a))),
    (lambda a: (1 + a * a) ** 0.75, lambda a: (1 + a * a) ** mp.mpf(0.75)),
    (lambda a: fm.arcsin(fm.tanh(a) * 0.9), lambda a: mp.asin(mp.tanh(a) * mp.mpf(0.9))),
]
_BI = [
    (lambda a, b: a * b, lambda a, b: a * b),
    (lambda a, b: a - b, lambda a, b: a - b),
    (lambda a, b: fm.hypot(a, b + 0.5), lambda a, b: mp.sqrt(a * a + (b + 0.5) ** 2)),
    (lambda a, b: fm.arctan2(a, b + 3), lambda a, b: mp.atan2(a, b + 3)),
    (lambda a, b: fm.logaddexp(a, b), lambda a, b: mp.log(mp.exp(a) + mp.exp(b))),
    (lambda a, b: (2 + fm.sin(a)) ** b, lambda a, b: (2 + mp.sin(a)) ** b),
]


def _random_composition(rnd, depth):
    if depth == 0 or rnd.random() < 0.2:
        c = rnd.choice([0.5, 1.25, -0.75])
        return (lambda t: t * c + 0.25), (lambda x: x * c + mp.mpf(0.25))
    if rnd.random() < 0.55:
        (f, g), (a, ag) = rnd.choice(_UN), _random_composition(rnd, depth - 1)
        return (lambda t: f(a(t))), (lambda x: g(ag(x)))
    (f, g), (a, ag) = rnd.choice(_BI), _random_composition(rnd, depth - 1)
    b, bg = _random_composition(rnd, depth - 1)
    return (lambda t: f(a(t), b(t))), (lambda x: g(ag(x), bg(x)))


@given(st.randoms(use_true_random=False), st.floats(-2.0, 2.0))
def test_error_bars_bound_the_true_error_on_random_compositions(rnd, x):
    f, g = _random_composition(rnd, 3)
    ref = oracle(g, x, 6)
    for n in range(1, 7):
        r = taylor_derivative(f, x, n)
        assert r.success and abs(r.df - ref[n]) <= r.error, (n, r.df, ref[n], r.error)
