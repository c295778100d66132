"""The safe expression compiler behind the command line: whitelist, NumPy semantics, errors."""

import doctest
import math
import re

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from fastdiff import _expression
from fastdiff._expression import FUNCTIONS, ExpressionError, compile_expression

# (function name, argument(s), value from an independent implementation)
FUNCTION_CASES = [
    ("sin", (0.5,), math.sin(0.5)),
    ("cos", (0.5,), math.cos(0.5)),
    ("tan", (0.5,), math.tan(0.5)),
    ("arcsin", (0.5,), math.asin(0.5)),
    ("asin", (0.5,), math.asin(0.5)),
    ("arccos", (0.5,), math.acos(0.5)),
    ("acos", (0.5,), math.acos(0.5)),
    ("arctan", (0.5,), math.atan(0.5)),
    ("atan", (0.5,), math.atan(0.5)),
    ("arctan2", (0.5, -2.0), math.atan2(0.5, -2.0)),
    ("atan2", (0.5, -2.0), math.atan2(0.5, -2.0)),
    ("sinh", (0.5,), math.sinh(0.5)),
    ("cosh", (0.5,), math.cosh(0.5)),
    ("tanh", (0.5,), math.tanh(0.5)),
    ("arcsinh", (0.5,), math.asinh(0.5)),
    ("asinh", (0.5,), math.asinh(0.5)),
    ("arccosh", (1.5,), math.acosh(1.5)),
    ("acosh", (1.5,), math.acosh(1.5)),
    ("arctanh", (0.5,), math.atanh(0.5)),
    ("atanh", (0.5,), math.atanh(0.5)),
    ("exp", (0.5,), math.exp(0.5)),
    ("exp2", (0.5,), 2**0.5),
    ("expm1", (1e-10,), math.expm1(1e-10)),
    ("log", (0.5,), math.log(0.5)),
    ("log2", (0.5,), -1.0),
    ("log10", (1000.0,), 3.0),
    ("log1p", (1e-10,), math.log1p(1e-10)),
    ("sqrt", (0.5,), math.sqrt(0.5)),
    ("cbrt", (-27.0,), -3.0),
    ("abs", (-0.5,), 0.5),
    ("fabs", (-0.5,), 0.5),
    ("hypot", (3.0, 4.0), 5.0),
    ("floor", (-0.5,), -1.0),
    ("ceil", (-0.5,), 0.0),
    ("sign", (-0.5,), -1.0),
    ("minimum", (0.5, -2.0), -2.0),
    ("maximum", (0.5, -2.0), 0.5),
    ("erf", (0.5,), math.erf(0.5)),
    ("erfc", (0.5,), math.erfc(0.5)),
]


def test_every_whitelisted_function_has_a_case():
    assert sorted(FUNCTIONS) == sorted(name for name, _, _ in FUNCTION_CASES)


@pytest.mark.parametrize(("name", "values", "expected"), FUNCTION_CASES)
def test_whitelisted_function_matches_math(name, values, expected):
    names = ["x", "y"][: len(values)]
    f = compile_expression(f"{name}({', '.join(names)})", names)
    assert f(*values) == pytest.approx(expected, rel=1e-15, abs=1e-300)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("sin(x)*exp(x)", math.sin(2.0) * math.exp(2.0)),
        ("-x + +x - x", -2.0),
        ("x**3 % 5", 3.0),
        ("2*pi + e", 2 * math.pi + math.e),
        ("(1 + 2) * (x - 0.5e1)", -9.0),
        ("2**-1", 0.5),
        ("7 % 3", 1.0),
        ("atan2(sin(x), cos(x))", 2.0),
    ],
)
def test_accepted_expression_evaluates(source, expected):
    assert compile_expression(source)(2.0) == pytest.approx(expected, rel=1e-15)


def test_variables_follow_the_given_order():
    f = compile_expression("a - 2*b", ["b", "a"])
    assert f(1.0, 10.0) == 8.0
    assert f.variables == ("b", "a")


def test_arrays_broadcast_as_in_numpy():
    f = compile_expression("x*y + 1", ["x", "y"])
    np.testing.assert_array_equal(
        f(np.array([1.0, 2.0]), np.array([[1.0], [3.0]])), [[2.0, 3.0], [4.0, 7.0]]
    )


def test_complex_literal_and_argument_stay_complex():
    f = compile_expression("(1+1j)*x**2")
    assert f(1.0 + 1e-20j) == pytest.approx(1 + 1j)
    assert np.iscomplexobj(f(2.0))


def test_numbers_follow_numpy_not_python_arithmetic():
    with np.errstate(all="ignore"):
        assert compile_expression("1/0 + x")(1.0) == np.inf  # Python: ZeroDivisionError
        assert np.isnan(compile_expression("(-8)**(1/3)", ())())  # Python: a complex number
        assert compile_expression("9**9**9**9", ())() == np.inf  # Python: a huge integer


def test_namespace_holds_no_builtins():
    f = compile_expression("x")
    assert f.function.__globals__["__builtins__"] == {}
    assert set(f.function.__globals__) <= {"__builtins__", *FUNCTIONS, *_expression.CONSTANTS}


@pytest.mark.parametrize(
    ("source", "message", "token"),
    [
        ("__import__('os')", "unknown function '__import__'", "__import__"),
        ("x.__class__", "attribute access is not allowed: 'x.__class__'", "x.__class__"),
        ("np.sin(x)", "attribute access is not allowed: 'np.sin'", "np.sin"),
        ("open", "unknown name 'open'", "open"),
        ("x + y", "unknown name 'y': not a variable (x)", "y"),
        ("sin", "function 'sin' must be called", "sin"),
        ("x(2)", "'x' is not a function", "x"),
        ("x[0]", "subscripting is not allowed", "x[0]"),
        ("lambda: 1", "lambda is not allowed", "lambda: 1"),
        ("[x for x in x]", "a comprehension is not allowed", "[x for x in x]"),
        ("sum(x for x in x)", "unknown function 'sum'", "sum"),
        ("sin(x, out=x)", "keyword arguments are not allowed: 'out='", "out="),
        ("sin(*x)", "a starred argument is not allowed", "*"),
        ("'abc'", "a string literal is not allowed", "'abc'"),
        ("x + True", "a non-number is not allowed: 'True'", "True"),
        ("x // 2", "operator '//' is not allowed", "//"),
        ("~x", "operator '~' is not allowed", "~"),
        ("x < 1", "a comparison is not allowed", "x < 1"),
        ("x if x else 1", "a conditional expression is not allowed", "x if x else 1"),
        ("(x, x)", "a tuple is not allowed", "(x, x)"),
        ("sin()", "sin() takes 1 argument; got 0", "sin"),
        ("hypot(x)", "hypot() takes 2 arguments; got 1", "hypot"),
        ("sin(x", "syntax error at column 4 near '('", "("),
        ("x +* 2", "syntax error at column 4 near '*'", "*"),
        ("", "the expression is empty", ""),
        ("-" * 100_000 + "x", "the expression is nested too deeply", ""),
    ],
)
def test_rejected_expression_names_the_offending_token(source, message, token):
    with pytest.raises(ExpressionError, match="^" + re.escape(message)) as info:
        compile_expression(source)
    assert info.value.token == token
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (["1x"], "bad variable name '1x'"),
        (["_x"], "bad variable name '_x'"),
        (["for"], "bad variable name 'for'"),
        (["x", "x"], "variable 'x' is given more than once"),
        (["sin"], "variable name 'sin' is taken by the function sin"),
        (["pi"], "variable name 'pi' is taken by the constant pi"),
    ],
)
def test_bad_variable_names_are_rejected(variables, message):
    with pytest.raises(ExpressionError, match="^" + re.escape(message)):
        compile_expression("1", variables)


def test_source_must_be_a_string():
    with pytest.raises(TypeError, match="must be a str"):
        compile_expression(b"x")


def test_docstring_examples():
    results = doctest.testmod(_expression, raise_on_error=False)
    assert results.attempted > 0 and results.failed == 0


class _ComplexIntermediate(Exception):
    pass


def _real_abs(value):
    if isinstance(value, complex):
        raise _ComplexIntermediate
    return abs(value)


_literals = st.floats(0, 10, allow_nan=False).map(repr)
_arithmetic = st.recursive(
    st.just("x") | _literals,
    lambda inner: (
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**", "%"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        )
        | inner.map(lambda s: f"-{s}")
        | inner.map(lambda s: f"abs({s})")
    ),
    max_leaves=10,
)


@given(source=_arithmetic, x=st.floats(-10, 10, allow_nan=False))
@example(source="abs((x % (x ** x)))", x=-1.5)  # complex x**x, then float % complex
def test_arithmetic_evaluates_like_plain_python(source, x):
    try:
        expected = eval(source, {"__builtins__": {}, "abs": _real_abs}, {"x": x})
    except (ZeroDivisionError, OverflowError):
        assume(False)  # Python raises where NumPy returns inf or nan
    except (_ComplexIntermediate, TypeError):
        # Python's negative base to a fractional power is complex (NumPy's nan), and then
        # abs() or % of it is not real arithmetic any more
        assume(False)
    assume(not isinstance(expected, complex))
    with np.errstate(all="ignore"):
        actual = compile_expression(source)(x)
    assert actual == expected or (math.isnan(expected) and np.isnan(actual))
