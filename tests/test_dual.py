"""Dual numbers: the rule table against mpmath, arithmetic, NumPy interop, conventions, nesting."""

from __future__ import annotations

import math as pymath
import pickle

import mpmath as mp
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import fastdiff as fd
from fastdiff import Dual
from fastdiff import math as fm
from fastdiff._forward import dual_derivative
from fastdiff._kernels import _dual

EPS = float(np.finfo(np.float64).eps)
# The rows evaluate a libm value (<= 1-2 ulp) and a derivative expression of a few more
# roundings, each at most modestly amplified away from the domain edges we sample: 64 ulp
# relative (or absolute below magnitude 1) leaves room for that and still catches any wrong
# formula, which is off by O(1).
RULE_TOL = 64 * EPS

mp.mp.dps = 40

# Independent oracles: mpmath functions for every row (mpmath.diff differentiates them).
MP_UNARY = {
    "sqrt": mp.sqrt,
    "cbrt": lambda x: mp.sign(x) * mp.cbrt(abs(x)),
    "square": lambda x: x * x,
    "reciprocal": lambda x: 1 / x,
    "exp": mp.exp,
    "exp2": lambda x: mp.power(2, x),
    "expm1": mp.expm1,
    "log": mp.log,
    "log2": lambda x: mp.log(x, 2),
    "log10": mp.log10,
    "log1p": lambda x: mp.log(1 + x),
    "sin": mp.sin,
    "cos": mp.cos,
    "tan": mp.tan,
    "arcsin": mp.asin,
    "arccos": mp.acos,
    "arctan": mp.atan,
    "sinh": mp.sinh,
    "cosh": mp.cosh,
    "tanh": mp.tanh,
    "arcsinh": mp.asinh,
    "arccosh": mp.acosh,
    "arctanh": mp.atanh,
    "absolute": mp.fabs,
    "relu": lambda x: x if x > 0 else 0 * x,
    "erf": mp.erf,
    "erfc": mp.erfc,
    "expit": lambda x: 1 / (1 + mp.exp(-x)),
    "softplus": lambda x: mp.log(1 + mp.exp(x)),
}
MP_BINARY = {
    "power": mp.power,
    "arctan2": mp.atan2,
    "hypot": lambda x, y: mp.sqrt(x * x + y * y),
    "logaddexp": lambda x, y: mp.log(mp.exp(x) + mp.exp(y)),
    "maximum": lambda x, y: x if x > y else y,
    "minimum": lambda x, y: x if x < y else y,
}
# Complex-step oracle where the row is real-analytic and NumPy has a complex version.
COMPLEX = {
    "sqrt": np.sqrt,
    "square": np.square,
    "reciprocal": lambda z: 1 / z,
    "exp": np.exp,
    "exp2": np.exp2,
    "expm1": np.expm1,
    "log": np.log,
    "log2": np.log2,
    "log10": np.log10,
    "log1p": np.log1p,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "arcsin": np.arcsin,
    "arccos": np.arccos,
    "arctan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "arcsinh": np.arcsinh,
    "arccosh": np.arccosh,
    "arctanh": np.arctanh,
    "expit": lambda z: 1 / (1 + np.exp(-z)),
    "softplus": lambda z: np.log(1 + np.exp(z)),
}
UNARY = [n for n in _dual.RULE_NAMES if _dual.RULE_ARITY[n] == 1]
BINARY = [n for n in _dual.RULE_NAMES if _dual.RULE_ARITY[n] == 2]


def sample_points(lo: float, hi: float, k: int = 5) -> list[float]:
    """k points inside (lo, hi) clipped to [-3, 3], kept away from the ends and from 0.

    Staying 5% inside keeps clear of the edges where derivatives blow up (sqrt, arccosh);
    avoiding 0 keeps clear of the kinks (abs, relu, cbrt).
    """
    a, b = max(lo, -3.0), min(hi, 3.0)
    pad = 0.05 * (b - a)
    pts = np.linspace(a + pad, b - pad, k)
    return [float(p if abs(p) > 0.05 else p + 0.11) for p in pts]


def close(actual: float, expected: float, tol: float = RULE_TOL) -> bool:
    return abs(actual - expected) <= tol * max(1.0, abs(expected))


def test_every_rule_has_an_oracle():
    assert set(UNARY) == set(MP_UNARY)
    assert set(BINARY) == set(MP_BINARY)


@pytest.mark.parametrize("name", UNARY)
def test_unary_rule_value_and_derivative_match_mpmath(name):
    fn = getattr(fm, name)
    lo, hi = _dual.RULE_DOMAINS[name][:2]
    for x in sample_points(lo, hi):
        y = fn(Dual(x))
        exact = float(mp.diff(MP_UNARY[name], mp.mpf(x)))
        assert close(y.value, float(MP_UNARY[name](mp.mpf(x)))), (name, x)
        assert close(y.partials[0], exact), (name, x, y.partials[0], exact)


@pytest.mark.parametrize("name", UNARY)
def test_unary_rule_second_derivative_matches_mpmath(name):
    # The d2 column, exercised through nesting: d/dx of (d/dy f at y = x).
    fn = getattr(fm, name)
    lo, hi = _dual.RULE_DOMAINS[name][:2]
    for x in sample_points(lo, hi):
        got = dual_derivative(lambda u, fn=fn: dual_derivative(fn, u).df, np.array(x)).df
        exact = float(mp.diff(MP_UNARY[name], mp.mpf(x), 2))
        assert close(got, exact, 4 * RULE_TOL), (name, x, got, exact)


@pytest.mark.parametrize("name", BINARY)
def test_binary_rule_partials_match_mpmath(name):
    fn = getattr(fm, name)
    xlo, xhi, ylo, yhi = _dual.RULE_DOMAINS[name]
    for x, y in zip(sample_points(xlo, xhi), np.roll(sample_points(ylo, yhi), 1), strict=True):
        X, Y = Dual(x, [1.0, 0.0]), Dual(y, [0.0, 1.0])
        r = fn(X, Y)
        px = float(mp.diff(MP_BINARY[name], (mp.mpf(x), mp.mpf(y)), (1, 0)))
        py = float(mp.diff(MP_BINARY[name], (mp.mpf(x), mp.mpf(y)), (0, 1)))
        assert close(r.value, float(MP_BINARY[name](mp.mpf(x), mp.mpf(y))))
        assert close(r.partials[0], px), (name, x, y, r.partials, px)
        assert close(r.partials[1], py), (name, x, y, r.partials, py)
        # Dual with a real operand uses only its own partial.
        assert close(fn(Dual(x), y).partials[0], px)
        assert close(fn(x, Dual(y)).partials[0], py)


@pytest.mark.parametrize("name", BINARY)
def test_binary_rule_second_partials_match_mpmath(name):
    fn = getattr(fm, name)
    xlo, xhi, ylo, yhi = _dual.RULE_DOMAINS[name]
    for x, y in zip(sample_points(xlo, xhi), np.roll(sample_points(ylo, yhi), 1), strict=True):
        h = fd._forward.dual_hessian(lambda v, fn=fn: fn(v[0], v[1]), np.array([x, y])).df
        for (i, j), orders in {(0, 0): (2, 0), (0, 1): (1, 1), (1, 1): (0, 2)}.items():
            exact = float(mp.diff(MP_BINARY[name], (mp.mpf(x), mp.mpf(y)), orders))
            assert close(h[i, j], exact, 4 * RULE_TOL), (name, x, y, orders, h[i, j], exact)


@pytest.mark.parametrize("name", sorted(COMPLEX))
def test_analytic_rules_match_the_complex_step(name):
    # Im f(x + ih) / h has error O(h^2 f'''); h = 1e-20 makes it exact in float64.
    lo, hi = _dual.RULE_DOMAINS[name][:2]
    for x in sample_points(lo, hi):
        cs = (COMPLEX[name](complex(x, 1e-20))).imag / 1e-20
        assert close(getattr(fm, name)(Dual(x)).partials[0], cs), (name, x)


def test_math_exports_every_rule_and_alias_under_its_names():
    for name in (*_dual.RULE_NAMES, *_dual.ALIASES):
        assert callable(getattr(fm, name)) and name in fm.__all__
    for alias, canonical in _dual.ALIASES.items():
        lo, hi = _dual.RULE_DOMAINS[canonical][:2]
        args = (Dual(0.5 if lo < 0.5 < hi else lo + 0.5),) * _dual.RULE_ARITY[canonical]
        assert getattr(fm, alias)(*args).partials[0] == getattr(fm, canonical)(*args).partials[0]
    required = (
        "sqrt cbrt exp exp2 expm1 log log2 log10 log1p logaddexp sin cos tan asin "
        "arcsin acos arccos atan arctan atan2 arctan2 hypot sinh cosh tanh asinh "
        "arcsinh acosh arccosh atanh arctanh fabs abs maximum minimum erf erfc sigmoid "
        "expit softplus relu square reciprocal pow"
    )
    assert not set(required.split()) - set(fm.__all__)


@pytest.mark.parametrize(
    "name",
    [
        "sqrt",
        "log",
        "log1p",
        "arcsin",
        "arccosh",
        "arctanh",
        "exp",
        "tan",
        "reciprocal",
        "cbrt",
        "expm1",
        "square",
    ],
)
def test_math_on_arrays_follows_numpy_including_domain_errors(name):
    x = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 800.0, np.inf, -np.inf, np.nan])
    with np.errstate(all="ignore"):
        expected = getattr(np, name)(x)
    got = getattr(fm, name)(x)  # no warning, no exception (pytest turns warnings on)
    np.testing.assert_allclose(got, expected, rtol=4 * EPS, atol=0, equal_nan=True)
    assert isinstance(getattr(fm, name)(0.5), float)


def test_math_special_functions_on_floats():
    assert fm.erf(0.5) == pytest.approx(pymath.erf(0.5), rel=4 * EPS)
    assert fm.expit(-800.0) == 0.0 and fm.expit(800.0) == 1.0  # no overflow
    assert fm.softplus(800.0) == 800.0 and fm.softplus(-800.0) == 0.0
    assert fm.logaddexp(1000.0, 1000.0) == pytest.approx(1000.0 + pymath.log(2), rel=EPS)
    assert fm.log(8.0, 2.0) == pytest.approx(3.0, rel=2 * EPS)
    assert fm.relu(-1.0) == 0.0 and fm.relu(2.5) == 2.5
    np.testing.assert_array_equal(fm.maximum(np.array([1.0, 3.0]), 2.0), [2.0, 3.0])


# ---------------------------------------------------------------------------------------------
# Arithmetic
# ---------------------------------------------------------------------------------------------

reals = st.floats(-1e3, 1e3, allow_nan=False)
nonzero = reals.filter(lambda v: abs(v) > 1e-3)
partials = st.lists(st.floats(-10, 10, allow_nan=False), min_size=1, max_size=6)


def approx_eq(a, b, scale):
    # A handful of roundings of terms up to `scale` in size.
    return np.all(np.abs(np.asarray(a) - np.asarray(b)) <= 8 * EPS * (1 + scale))


@given(reals, reals, partials)
@example(0.0, 0.0, [1.0])
def test_product_rule(a, b, p):
    p = np.array(p)
    q = p[::-1].copy()
    r = Dual(a, p) * Dual(b, q)
    assert r.value == a * b
    assert approx_eq(r.partials, b * p + a * q, np.max(np.abs(b * p)) + np.max(np.abs(a * q)))


@given(reals, nonzero, partials)
def test_quotient_rule(a, b, p):
    p = np.array(p)
    q = p[::-1].copy()
    r = Dual(a, p) / Dual(b, q)
    expected = (p * b - a * q) / (b * b)
    assert approx_eq(r.partials, expected, np.max(np.abs(p / b)) + np.max(np.abs(a * q / b**2)))


@given(st.floats(-3, 3), partials)
def test_chain_rule(a, p):
    p = np.array(p)
    r = fm.sin(fm.exp(Dual(a, p)))
    expected = np.cos(np.exp(a)) * np.exp(a) * p
    assert approx_eq(r.partials, expected, np.exp(a) * np.max(np.abs(p)))


@given(reals, reals)
def test_mixed_arithmetic_with_reals_matches_the_derivative(a, c):
    x = Dual(a)
    assert (x + c).partials[0] == 1.0 and (c + x).partials[0] == 1.0
    assert (x - c).partials[0] == 1.0 and (c - x).partials[0] == -1.0
    assert (x * c).partials[0] == c and (c * x).partials[0] == c
    assert (-x).partials[0] == -1.0 and (+x) is x
    if c != 0:
        assert (x / c).partials[0] == pytest.approx(1 / c, rel=2 * EPS)
    if abs(a) > 1e-100:
        assert (c / x).partials[0] == pytest.approx(-c / a**2, rel=4 * EPS)


def test_arithmetic_accepts_ints_numpy_scalars_and_dual_exponents():
    x = Dual(2.0)
    assert (x**3).partials[0] == 12.0 and (x**3).value == 8.0
    assert (x ** np.int64(2)).partials[0] == 4.0
    assert (np.float64(3.0) * x).partials[0] == 3.0
    assert isinstance(np.float64(3.0) * x, Dual)
    assert (x ** Dual(3.0, 0.0)).partials[0] == 12.0
    r = 2.0**x
    assert r.partials[0] == pytest.approx(4.0 * pymath.log(2.0), rel=2 * EPS)
    r = x ** Dual(3.0)  # d/dx + d/dy of x**y
    assert r.partials[0] == pytest.approx(12.0 + 8.0 * pymath.log(2.0), rel=4 * EPS)
    assert (Dual(-2.0) ** 2).partials[0] == -4.0  # constant exponent: any sign of x


def test_comparisons_are_on_values():
    a, b = Dual(1.0, 5.0), Dual(2.0, -1.0)
    assert a < b and a <= b and b > a and b >= a and a != b
    assert a == Dual(1.0, 7.0) and a == 1.0 and 1 == a and a < 2 and 0.5 < a
    assert sorted([b, a])[0] is a
    assert bool(Dual(0.0)) is False and bool(a) is True


def test_repr_is_readable():
    assert repr(Dual(0.5, [1.0, 2.0])) == "Dual(0.5, [1.0, 2.0])"
    assert repr(Dual(1.5)) == "Dual(1.5, [1.0])"
    d = Dual(0.5)
    assert d.value == 0.5 and isinstance(d.value, float)
    assert d.partials.dtype == np.float64 and d.partials.shape == (1,)


def test_many_partials_use_heap_storage_correctly():
    p = np.arange(100.0)
    r = fm.sin(Dual(0.3, p)) * Dual(2.0, p)
    expected = np.cos(0.3) * p * 2.0 + np.sin(0.3) * p
    np.testing.assert_allclose(r.partials, expected, rtol=4 * EPS)


def test_different_numbers_of_partials_raise():
    with pytest.raises(ValueError, match="different numbers of partials"):
        Dual(1.0, [1.0, 0.0]) + Dual(1.0)
    with pytest.raises(ValueError, match="different numbers of partials"):
        fm.hypot(Dual(1.0, [1.0, 0.0]), Dual(1.0))


def test_constructor_validates_its_arguments():
    with pytest.raises(TypeError, match="`value` must be a real number"):
        Dual("a")
    with pytest.raises(ValueError, match="`partials` must be a float or a 1-D array"):
        Dual(1.0, np.ones((2, 2)))


# ---------------------------------------------------------------------------------------------
# NumPy
# ---------------------------------------------------------------------------------------------


def test_numpy_ufuncs_on_dual_scalars_return_duals():
    d = Dual(0.5)
    for name in ["sin", "exp", "tanh", "sqrt", "arcsin", "absolute", "fabs", "square", "log1p"]:
        r = getattr(np, name)(d)
        assert isinstance(r, Dual)
        assert r.partials[0] == getattr(fm, name)(d).partials[0]
    assert np.arctan2(d, 2.0).partials[0] == fm.arctan2(d, 2.0).partials[0]
    assert np.add(d, 1.0).partials[0] == 1.0 and np.less(d, 1.0)


def test_scipy_special_ufuncs_find_their_rows():
    sp = pytest.importorskip("scipy.special")
    d = Dual(0.3)
    assert sp.erf(d).partials[0] == fm.erf(d).partials[0]
    assert sp.expit(d).partials[0] == fm.expit(d).partials[0]


def test_numpy_ufuncs_on_object_arrays_of_duals():
    xs = np.array([Dual(0.1 * k, [1.0, float(k)]) for k in range(1, 5)], dtype=object)
    for name in ["sin", "tanh", "exp", "sqrt", "square", "absolute", "arctan"]:
        r = getattr(np, name)(xs)
        for k in range(4):
            assert r[k].partials.tolist() == getattr(fm, name)(xs[k]).partials.tolist()
    w = np.array([[1.0, 2.0, 3.0, 4.0], [0.5, 0.0, -1.0, 2.0]])
    y = w @ xs
    assert y.shape == (2,)
    np.testing.assert_allclose(y[0].partials, [1.0 + 2 + 3 + 4, 1 + 4 + 9 + 16], rtol=EPS)
    s = (np.exp(xs) * 2.0).sum()
    np.testing.assert_allclose(s.value, 2 * np.exp(0.1 * np.arange(1, 5)).sum(), rtol=4 * EPS)


def test_numpy_mixes_float_arrays_with_a_dual():
    d = Dual(2.0)
    r = np.array([1.0, 2.0]) * d
    assert r.dtype == object and r[1].partials[0] == 2.0
    r = d * np.array([1.0, 2.0])
    assert r.dtype == object and r[0].partials[0] == 1.0
    r = np.sin(np.array([d, d * 2.0]))
    assert r[1].partials[0] == pytest.approx(2 * np.cos(4.0), rel=2 * EPS)


def test_unsupported_numpy_function_raises_typeerror():
    with pytest.raises(TypeError, match=r"'floor' is not supported on fastdiff\.Dual"):
        np.floor(Dual(0.5))
    with pytest.raises(TypeError, match="called plainly"):
        np.negative(Dual(1.0), out=np.empty((), dtype=object))


# ---------------------------------------------------------------------------------------------
# A derivative is never dropped silently
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "convert",
    [
        float,
        int,
        complex,
        pymath.sin,
        pymath.exp,
        lambda d: [0, 1][d],
        lambda d: np.float64(d),
    ],
)
def test_conversions_that_drop_the_derivative_raise(convert):
    with pytest.raises(TypeError, match=r"fastdiff\.math"):
        convert(Dual(0.5))


def test_storing_a_dual_in_a_float_array_raises():
    a = np.zeros(3)
    with pytest.raises(TypeError, match=r"fastdiff\.math.*dtype=object"):
        a[0] = Dual(0.5)
    with pytest.raises(TypeError, match=r"fastdiff\.math"):
        np.array([Dual(0.5), 1.0], dtype=float)
    with pytest.raises(TypeError, match=r"fastdiff\.math"):
        np.asarray([Dual(0.5)]).astype(float)


def test_duals_cannot_be_pickled():
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(Dual(1.0))


# ---------------------------------------------------------------------------------------------
# Conventions at kinks and domain edges
# ---------------------------------------------------------------------------------------------


def test_kink_conventions():
    assert fm.abs(Dual(0.0)).partials[0] == 0.0
    assert abs(Dual(0.0)).partials[0] == 0.0
    assert abs(Dual(-2.0)).partials[0] == -1.0
    assert fm.relu(Dual(0.0)).partials[0] == 0.0
    assert fm.relu(Dual(1e-300)).partials[0] == 1.0
    tie = fm.maximum(Dual(1.0, [1.0, 0.0]), Dual(1.0, [0.0, 1.0]))
    assert tie.partials.tolist() == [0.5, 0.5]
    tie = fm.minimum(Dual(1.0, [1.0, 0.0]), Dual(1.0, [0.0, 1.0]))
    assert tie.partials.tolist() == [0.5, 0.5]
    assert fm.maximum(Dual(1.0), 1.0).partials[0] == 0.5
    assert fm.hypot(Dual(0.0, [1.0, 0.0]), Dual(0.0, [0.0, 1.0])).partials.tolist() == [0, 0]


def test_domain_edge_conventions():
    assert fm.sqrt(Dual(0.0)).partials[0] == np.inf
    assert fm.log(Dual(0.0)).value == -np.inf and fm.log(Dual(0.0)).partials[0] == np.inf
    assert np.isnan(fm.log(Dual(-1.0)).value)
    assert fm.arcsin(Dual(1.0)).partials[0] == np.inf
    assert fm.arccosh(Dual(1.0)).partials[0] == np.inf


def test_powers_at_zero_give_no_nan():
    z = Dual(0.0)
    assert (z**2).partials[0] == 0.0 and (z**1).partials[0] == 1.0
    assert (z**0).value == 1.0 and (z**0).partials[0] == 0.0
    assert (Dual(3.0) ** 0).partials[0] == 0.0
    r = 0.0 ** Dual(2.0)  # d/dy 0**y = 0 for y > 0
    assert r.value == 0.0 and r.partials[0] == 0.0
    r = Dual(0.0, [1.0, 0.0]) ** Dual(2.0, [0.0, 1.0])
    assert r.value == 0.0 and r.partials.tolist() == [0.0, 0.0]
    assert (z**0.5).partials[0] == np.inf


# ---------------------------------------------------------------------------------------------
# Nesting: tags
# ---------------------------------------------------------------------------------------------


def D(f, x):
    """Derivative through the dual engine, as the public verbs will call it."""
    return dual_derivative(f, x).df


def test_perturbation_confusion_is_avoided():
    # Siskind & Pearlmutter: d/dx [x * d/dy (x + y)] = 1, not 2.
    assert D(lambda x: x * D(lambda y: x + y, 1.0), 1.0) == 1.0


def test_classic_nesting_cases():
    # d/dx [d/dy (x y)] = 1; the inner derivative is x itself.
    assert D(lambda x: D(lambda y: x * y, 2.0), 3.0) == 1.0
    # The inner point depends on x: d/dx [x * (d/dy x y)|_{y=x}] = d/dx x^2 = 2x.
    assert D(lambda x: x * D(lambda y: x * y, x), 3.0) == 6.0
    # An inner function that ignores its argument has derivative 0, whatever x is.
    assert D(lambda x: D(lambda y: x, 1.0), 1.0) == 0.0
    # d/dx [d/dy (x y^2)|_{y=1}] = d/dx 2x = 2.
    assert D(lambda x: D(lambda y: x * y * y, 1.0), 5.0) == 2.0
    # Both orders of nesting of the same mixed partial agree: d2/dxdy exp(x y) at (1, 2).
    g = D(lambda x: D(lambda y: fm.exp(x * y), 2.0), 1.0)
    h = D(lambda y: D(lambda x: fm.exp(x * y), 1.0), 2.0)
    exact = (1 + 2.0) * np.exp(2.0)
    assert g == pytest.approx(exact, rel=8 * EPS) and h == pytest.approx(exact, rel=8 * EPS)


def test_inner_result_is_a_dual_inside_a_nested_call():
    seen = []

    def outer(x):
        r = dual_derivative(lambda y: x * y * y, 1.0)
        seen.append(r.df)
        return r.df

    assert D(outer, 5.0) == 2.0
    assert isinstance(seen[0], Dual) and seen[0].value == 10.0


def test_third_order_by_nesting():
    third = D(lambda a: D(lambda b: D(lambda c: c**4, b), a), 2.0)
    assert third == 24 * 2.0
    with pytest.raises(NotImplementedError, match="at most two levels"):
        D(lambda a: D(lambda b: D(fm.sin, b), a), 0.5)


def test_an_escaped_dual_raises():
    leaked = []
    D(lambda x: leaked.append(x) or x * x, 1.0)
    with pytest.raises(RuntimeError, match="escaped"):
        leaked[0] * 2.0
    with pytest.raises(RuntimeError, match="escaped"):
        fm.sin(leaked[0])
    with pytest.raises(RuntimeError, match="escaped"):
        D(lambda x: x * leaked[0], 1.0)


def test_a_returned_inner_dual_raises_in_the_outer_call():
    leaked = []

    def outer(x):
        D(lambda y: leaked.append(y) or y, 1.0)
        return x * 1.0 + 0.0 * 1.0 if not leaked else leaked[0]

    with pytest.raises(RuntimeError, match="escaped"):
        D(outer, 1.0)


def test_each_call_draws_a_fresh_tag():
    tags = []
    D(lambda x: tags.append(x.tag) or x, 1.0)
    D(lambda x: tags.append(x.tag) or x, 1.0)
    assert 0 < tags[0] < tags[1]


def test_the_verb_on_a_float_matches_the_0d_array_path_field_by_field():
    # derivative(f, float, method="dual") runs in one compiled call; it must build the very
    # Result that the general path builds (same values, same types), for floats, nesting,
    # non-finite derivatives and constant outputs.
    cases = [
        (lambda x: fm.sin(x) * fm.exp(x) + x**3, 0.7, (), None),
        (fm.sqrt, 0.0, (), None),  # derivative inf: not success
        (lambda x: 2.0, 1.5, (), None),  # constant output: df 0
        (lambda x: np.float64(3.0) * x, 2.0, (), None),
        (lambda x: np.array(x * x, dtype=object), 3.0, (), None),  # 0-d array output
        (lambda x, a, *, b: a * x + b * x * x, 2.0, (3.0,), {"b": 0.5}),
    ]
    for f, x, args, kwargs in cases:
        fast = fd.derivative(f, x, method="dual", args=args, kwargs=kwargs)
        slow = dual_derivative(f, np.array(x), args, kwargs)
        for name in ("df", "error", "success", "status", "nfev", "step", "method"):
            a, b = getattr(fast, name), getattr(slow, name)
            assert type(a) is type(b) and (a == b or (a != a and b != b)), (name, a, b)
    inner = []
    fd.derivative(
        lambda x: inner.append(fd.derivative(lambda y: x * y, 2.0, method="dual")) or x,
        1.0,
        method="dual",
    )
    assert isinstance(inner[0].df, Dual) and inner[0].success is True


def test_the_verb_on_a_float_reports_bad_outputs_as_the_general_path_does():
    with pytest.raises(ValueError, match=r"`f` must return a scalar here; got an array of shape"):
        fd.derivative(lambda x: np.array([x, x], dtype=object), 1.0, method="dual")
    with pytest.raises(TypeError, match="`f` must return real numbers or Duals"):
        fd.derivative(lambda x: "nope", 1.0, method="dual")
    err = KeyError("mine")

    def raises(x):
        raise err

    with pytest.raises(KeyError) as info:
        fd.derivative(raises, 1.0, method="dual")
    assert info.value is err
    leaked = []
    fd.derivative(lambda x: leaked.append(x) or x, 1.0, method="dual")
    with pytest.raises(RuntimeError, match="escaped"):
        leaked[0] + 1.0


def _nested_work(x0):
    """Nested dual differentiation through the public verb and the elementwise path."""
    D1 = lambda f, x: fd.derivative(f, x, method="dual").df  # noqa: E731
    a = D1(lambda x: x * D1(lambda y: x + y, 1.0), x0)  # 1: no perturbation confusion
    b = D1(lambda x: D1(lambda y: fm.exp(x * y) * fm.sin(y), x), x0)
    c = D1(lambda u: D1(lambda v: D1(lambda w: w**4 * u, v), u), x0)  # third level
    e = fd.derivative(
        lambda x: x * D1(lambda y: fm.log1p(x * y), x), np.array([x0, 2 * x0]), method="dual"
    ).df
    return [a, b, c, *e.tolist()]


def test_nested_differentiation_in_threads_matches_serial_bitwise():
    # 8 threads start together (a barrier) and run nested dual differentiation while the
    # interpreter switches between them as often as it can; every result must be bitwise
    # the serial one (tags are per call, drawn from one atomic counter).
    import sys
    import threading

    points = [0.05 * k for k in range(1, 61)]
    serial = [[v.hex() for v in _nested_work(p)] for p in points]
    assert serial[19][0] == (1.0).hex()
    n_threads = 8
    barrier = threading.Barrier(n_threads)
    results: dict[int, object] = {}

    def run(i):
        try:
            barrier.wait(timeout=30)
            results[i] = [[v.hex() for v in _nested_work(p)] for p in points]
        except BaseException as exc:  # reported below, in the main thread
            results[i] = exc

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n_threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        sys.setswitchinterval(old)
    assert not any(t.is_alive() for t in threads), "threads did not finish within 60 s"
    for i in range(n_threads):
        assert results[i] == serial, f"thread {i}: {results[i]!r}"


def test_tags_from_many_threads_are_unique_and_live_across_threads():
    import threading

    drawn: list[list[int]] = [[] for _ in range(8)]
    barrier = threading.Barrier(8)

    def draw(i):
        barrier.wait(timeout=30)
        for _ in range(500):
            t = _dual.open_tag()
            drawn[i].append(t)
            _dual.close_tag(t)

    threads = [threading.Thread(target=draw, args=(i,), daemon=True) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    everything = [t for ts in drawn for t in ts]
    assert len(set(everything)) == len(everything) == 8 * 500
    assert all(ts == sorted(ts) for ts in drawn)  # newer calls in one thread: larger tags
    # A Dual of a running call may be used from another thread; once the call returns it
    # cannot, from any thread.
    seen = []

    def f(x):
        worker = threading.Thread(target=lambda: seen.append(fm.sin(x)))
        worker.start()
        worker.join(timeout=30)
        return seen[0]

    assert fd.derivative(f, 0.5, method="dual").df == np.cos(0.5)
    caught = []

    def use_after_return():
        try:
            fm.sin(seen[0])
        except RuntimeError as exc:
            caught.append(exc)

    worker = threading.Thread(target=use_after_return)
    worker.start()
    worker.join(timeout=30)
    assert caught and "escaped" in str(caught[0])


def test_calls_outliving_thousands_of_newer_ones_keep_their_tags():
    # The running calls sit in a 4096-slot table; holding 5000 calls open at once forces
    # collisions into the overflow dict, and every tag must stay live until it is closed.
    outer = _dual.open_tag()
    try:
        held = [_dual.open_tag() for _ in range(5000)]
        assert all(_dual.is_live(t) for t in held) and _dual.is_live(outer)
        assert len(set(held)) == len(held) and min(held) > outer
        x = _dual.seed_one(2.0, outer)
        for t in held[::-1]:
            _dual.close_tag(t)
        assert not any(_dual.is_live(t) for t in held)
        with pytest.raises(RuntimeError, match="escaped"):
            _dual.check_tag(held[0])
        assert (x * x).partial() == 4.0
        inner = fd.derivative(lambda y: x * y * y, 1.0, method="dual").df
        assert isinstance(inner, Dual) and inner.tag == outer and inner.value == 4.0
    finally:
        _dual.close_tag(outer)
    assert not _dual.is_live(outer) and _dual.is_live(0)
    with pytest.raises(RuntimeError, match="escaped"):
        x * 2.0


@pytest.mark.parametrize(
    ("name", "x"), [("tanh", 15.0), ("tanh", -30.0), ("expit", 40.0), ("softplus", 40.0)]
)
def test_saturating_rules_keep_relative_accuracy_of_the_derivatives(name, x):
    # tanh' = 1 - tanh^2 and expit' = s (1 - s) cancel once the value rounds to +-1 (tanh at 15
    # had a relative error of 1.7e-4 against a bar of 9e-16); the table's forms do not cancel.
    mp_f = {
        "tanh": mp.tanh,
        "expit": lambda t: 1 / (1 + mp.exp(-t)),
        "softplus": lambda t: mp.log(1 + mp.exp(t)),
    }[name]
    with mp.workdps(50):
        d1 = float(mp.diff(mp_f, x))
        d2 = float(mp.diff(mp_f, x, 2))
    fn = getattr(fd.math, name)
    res = fd.derivative(fn, x, method="dual")
    assert res.success
    # a few roundings in libm and the rule: 8 eps relative is generous and still 1e11 x tighter
    # than the old cancellation
    assert abs(res.df - d1) <= 8 * EPS * abs(d1)
    assert abs(res.df - d1) <= res.error
    h = fd.hessian(lambda v: fn(v[0]), np.array([x]), method="dual")
    assert abs(h.df[0, 0] - d2) <= 16 * EPS * abs(d2)
