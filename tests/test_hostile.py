"""Hostile input: odd f x odd x x every verb and method, as a fixed table (a fixed seed).

Every case must end in one of three ways, and nothing may be printed:

* a ValueError or TypeError whose message names the parameter in backticks (`f`, `x`, ...);
* f's own exception, propagated as the same object;
* a Result whose `success` never covers a non-finite `df` or `error` (and error >= 0 there).

Warnings are allowed only as RuntimeWarning (a whole-call remark).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import fastdiff as fd
from verbs import FUNCTIONS, call, same, verb_methods


class FsOwnError(Exception):
    """Raised by f itself: must reach the caller as the same object."""


RNG_SEED = 20261201  # the table below is drawn once from this seed: every run is the same


def total(x):
    """The sum of an array's entries; a scalar (float, complex, Dual) itself."""
    return np.sum(x) if isinstance(x, np.ndarray) else x


# Odd functions: each takes x (any of: float, complex, Dual, ndarray, batch) and misbehaves.
def returns_none(x):
    return None


def returns_string(x):
    return "not a number"


def returns_object_array(x):
    return np.array([1.0, "a", None], dtype=object)


def returns_list(x):
    return [1.0, 2.0]


def returns_bool(x):
    return True


def returns_nan(x):
    return total(x) * np.nan


def returns_inf(x):
    return total(x) * 0.0 + np.inf


def nan_right_of_zero(x):  # a domain edge at 0: NaN for x > 0
    s = total(x)
    return np.sqrt(-s) + s if not isinstance(s, float) else (np.sqrt(-s) if s <= 0 else np.nan)


def huge_values(x):
    return 1e300 * np.exp(total(x))


def tiny_values(x):
    return 1e-300 * np.sin(total(x))


def overflows_to_inf(x):
    return np.exp(1e3 * total(x) ** 2)


OWN_ERROR = FsOwnError("f failed")


def raises(x):
    raise OWN_ERROR


class _Changing:
    """Output shape changes from one call to the next."""

    def __init__(self):
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        s = total(x)
        return s if self.calls % 3 else np.stack([s, s])


def returns_complex_for_real(x):
    return total(x) * (1 + 1e-3j)


def returns_float32(x):
    return np.float32(total(np.sin(x)))


def returns_shape_of_x_plus_one(x):
    return np.zeros((*np.shape(x), 1))


ODD_F = {
    "none": lambda: returns_none,
    "string": lambda: returns_string,
    "object_array": lambda: returns_object_array,
    "list": lambda: returns_list,
    "bool": lambda: returns_bool,
    "nan": lambda: returns_nan,
    "inf": lambda: returns_inf,
    "nan_right_of_zero": lambda: nan_right_of_zero,
    "huge": lambda: huge_values,
    "tiny": lambda: tiny_values,
    "overflow": lambda: overflows_to_inf,
    "raises": lambda: raises,
    "changing_shape": _Changing,
    "complex_for_real": lambda: returns_complex_for_real,
    "float32": lambda: returns_float32,
    "extra_axis": lambda: returns_shape_of_x_plus_one,
}


def _odd_x():
    rng = np.random.default_rng(RNG_SEED)
    return {
        "zero": 0.0,
        "minus_zero": -0.0,
        "int": 3,
        "huge": 1e300,
        "tiny": 1e-300,
        "subnormal": 5e-324,
        "negative_huge": -1.7e308,
        "list": [0.5, -1.5],
        "mixed_magnitudes": rng.choice([1e-200, 1.0, 1e200], 3) * rng.choice([-1, 1], 3),
        "matrix": rng.standard_normal((2, 2)),
        "nan": np.array([1.0, np.nan]),
        "inf": np.inf,
        "empty": np.array([]),
        "complex": 1.0 + 1j,
        "string": "1.0",
        "object": np.array([1.0, None], dtype=object),
        "bool": True,
    }


ODD_X = _odd_x()
NAMED = re.compile(r"`[A-Za-z_][A-Za-z_0-9.\[\]']*`")


def raised_inside_f(e: BaseException) -> bool:
    """Was e raised while one of the odd functions above was running?"""
    tb = e.__traceback__
    while tb is not None:
        if (
            tb.tb_frame.f_code.co_filename == __file__
            and tb.tb_frame.f_code.co_name != "check_case"
        ):
            return True
        tb = tb.tb_next
    return False


def check_case(verb, method, fname, xname, capsys):
    f = ODD_F[fname]()
    x = ODD_X[xname]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with np.errstate(all="ignore"):  # f's own floating-point remarks are f's business
                res = call(verb, f, x, method)
        except FsOwnError as e:
            res = None
            assert fname == "raises" and e is OWN_ERROR  # the same object, unchanged
        except (ValueError, TypeError, ArithmeticError) as e:
            res = None
            if not raised_inside_f(e):  # else f's own (NumPy refusing a Dual in np.sum, ...)
                assert isinstance(e, ValueError | TypeError), repr(e)
                assert NAMED.search(str(e)), f"{type(e).__name__} names no parameter: {e}"
    for w in caught:
        assert issubclass(w.category, RuntimeWarning), (w.category, str(w.message))
    assert capsys.readouterr().out == ""
    if res is None:
        return "raised"
    assert isinstance(res, fd.Result)
    success = np.asarray(res.success, dtype=bool)
    assert np.array_equal(success, np.asarray(res.status) >= 0)
    df = np.asarray(res.df)
    if df.dtype == object:  # nested duals are not produced here: plain numbers only
        pytest.fail(f"object df from {fname}")
    err = np.asarray(res.error, dtype=np.float64)
    assert np.all(np.isfinite(df[success])), "success covers a non-finite df"
    assert np.all(np.isfinite(err[success])) and np.all(err[success] >= 0), "bad error"
    return "trusted" if success.any() else "untrusted"


@pytest.mark.parametrize(("verb", "method"), verb_methods(), ids=str)
def test_hostile_f_and_x_give_a_clear_error_or_an_honest_result(verb, method, capsys):
    outcomes = {}
    for fname in ODD_F:
        for xname in ODD_X:
            try:
                outcomes[fname, xname] = check_case(verb, method, fname, xname, capsys)
            except AssertionError as e:
                raise AssertionError(f"{verb}(method={method!r}), f={fname}, x={xname}: {e}") from e
    # the table exercised all three endings, not only the validation
    assert {"raised", "untrusted"} <= set(outcomes.values())
    # x that is not finite and real never reaches f
    for bad in ("nan", "inf", "empty", "complex", "string", "object"):
        assert all(outcomes[fn, bad] == "raised" for fn in ODD_F), bad


@pytest.mark.parametrize("vectorized", [False, True], ids=["looped", "vectorized"])
@pytest.mark.parametrize(("verb", "method"), verb_methods(), ids=str)
def test_f_returning_0d_arrays_is_f_returning_scalars(verb, method, vectorized):
    # NumPy code often returns 0-d arrays (np.where, np.asarray): they are numbers like any
    # other (seen: method="complex" took a 0-d complex array for a dropped imaginary part)
    f = FUNCTIONS[verb]
    x = np.array([0.4, -0.3])
    a = np.array([1.5]) if verb == "derivative" else np.array([1.5, 0.5])
    kw = {"args": (a,), "kwargs": {"c": np.array([0.25])}, "vectorized": vectorized}
    if verb == "derivative" and not vectorized:
        x = np.array(0.4)
    plain = call(verb, f, x, method, **kw)
    wrapped = call(verb, lambda *p, **k: np.asarray(f(*p, **k)), x, method, **kw)
    assert np.all(plain.success)
    if method == "dual" and (verb != "derivative" or vectorized):
        # np.asarray cannot hold a DualArray's partials (it raises TypeError rather than drop
        # them), so the wrapped f runs on the documented fallback, object arrays of Dual: the
        # same derivative to within both rounding bounds, with other calls and bounds (a
        # vectorized derivative's f gets a DualArray of every point too).
        assert np.all(wrapped.success)
        assert np.all(np.abs(plain.df - wrapped.df) <= plain.error + wrapped.error)
        return
    assert same(plain, wrapped)


NOT_A_METHOD = [np.array(["central"]), ["central"], ("dual",), b"central", 3, None]


@pytest.mark.parametrize("method", NOT_A_METHOD, ids=repr)
@pytest.mark.parametrize(
    "call_verb",
    [
        lambda m: fd.derivative(np.exp, 1.0, method=m),
        lambda m: fd.derivative(np.exp, np.ones(3), method=m, vectorized=True),
        lambda m: fd.gradient(np.sum, [1.0, 2.0], method=m),
        lambda m: fd.hessian(np.sum, [1.0, 2.0], method=m),
        lambda m: fd.jvp(np.sin, [1.0], [1.0], method=m),
        lambda m: fd.jacobian(np.sin, [1.0, 2.0], method=m, sparsity=np.eye(2, dtype=bool)),
    ],
    ids=["derivative", "derivative-vectorized", "gradient", "hessian", "jvp", "sparse"],
)
def test_a_method_that_is_not_a_string_is_named_in_the_error(call_verb, method):
    # an array of one name compares equal to it elementwise, and lists are unhashable: both
    # once slipped past or broke `method in (...)` instead of naming `method`
    with pytest.raises(ValueError, match="`method` must be"):
        call_verb(method)
