"""The compiled scalar paths of derivative() (issue 10 item 3; the dual entry, issue 8 item 4)
are the same computation as the validating array path: same df, error, status, step and nfev,
bit for bit, and the same handling of warnings, errstate, exceptions and bad values of f."""

from __future__ import annotations

import inspect
import math
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastdiff as fd
from fastdiff import math as fm

FUNCTIONS = {
    "np.exp": np.exp,
    "math.sin": math.sin,
    "np.log1p": np.log1p,  # NaN below -1: domain edges
    "abs": abs,  # a kink
    "complex": lambda x: complex(math.cos(x), x**3),
    "np.float32": lambda x: np.float32(math.exp(x)),  # a float32 value: its eps
}


def fields(r):
    return (complex(r.df), float(r.error), int(r.status), bool(r.success), r.nfev, float(r.step))


def array_path(f, x, **kw):
    """The same call through the validating path: a 0-d array x."""
    r = fd.derivative(f, np.array(x), **kw)
    return fields(r)


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(sorted(FUNCTIONS)),
    x=st.floats(-50.0, 50.0, allow_nan=False),
    n=st.integers(1, 5),
    method=st.sampled_from(["central", "forward", "backward"]),
)
def test_scalar_path_equals_array_path(name, x, n, method):
    f = FUNCTIONS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the path itself warns about nothing f does
        fast = fd.derivative(f, x, n=n, method=method)
    assert type(fast.df) in (float, complex)
    assert type(fast.status) is int and type(fast.success) is bool
    assert fast.method == method
    assert fields(fast) == array_path(f, x, n=n, method=method) or (
        math.isnan(fast.df.real if isinstance(fast.df, complex) else fast.df)
        and fields(fast)[1:] == array_path(f, x, n=n, method=method)[1:]
    )


def test_warnings_of_f_are_silenced_and_errstate_restored():
    before = np.geterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = fd.derivative(np.log, 1e-3)  # log of negative points: invalid, divide
    assert r.status == 1
    assert np.geterr() == before
    with np.errstate(all="raise"):  # an outer errstate is neither used nor lost
        r2 = fd.derivative(np.log, 1e-3)
        assert np.geterr()["invalid"] == "raise"
    assert fields(r2) == fields(r)


def test_exceptions_of_f_propagate_and_leave_errstate_alone():
    class Boom(Exception):
        pass

    calls = []

    def f(x):
        calls.append(x)
        if len(calls) == 3:
            raise Boom("from f")
        return x * x

    before = np.geterr()
    with pytest.raises(Boom, match="from f"):
        fd.derivative(f, 1.0)
    assert np.geterr() == before


def test_bad_values_of_f_are_named():
    with pytest.raises(TypeError, match="must return numbers; got str"):
        fd.derivative(lambda x: "a", 1.0)
    with pytest.raises(ValueError, match="one number per point; got an array of shape"):
        fd.derivative(lambda x: np.array([x, x]), 1.0)
    with pytest.raises(TypeError, match="complex value at some points"):
        fd.derivative(lambda x: complex(x, 1.0) if x != 1.0 else 1.0, 1.0)


def test_other_cases_take_the_validating_path():
    # a float subclass, options, non-finite x, bad n: the same results or errors as before
    x64 = np.float64(1.0)
    assert isinstance(fd.derivative(np.exp, x64).df, np.floating)
    assert fields(fd.derivative(np.exp, 1.0, rtol=1e-8)) == array_path(np.exp, 1.0, rtol=1e-8)
    with pytest.raises(ValueError, match="`x`"):
        fd.derivative(np.exp, math.inf)
    with pytest.raises(ValueError, match="`n`"):
        fd.derivative(np.exp, 1.0, n=0)
    with pytest.raises(TypeError, match="`f`"):
        fd.derivative(3, 1.0)
    with pytest.raises(ValueError, match="`method`"):
        fd.derivative(np.exp, 1.0, method="nope")


def test_args_and_kwargs_reach_f():
    r = fd.derivative(lambda x, a, b=1.0: a * math.sin(b * x), 0.5, args=(2.0,), kwargs={"b": 3})
    assert abs(r.df - 6 * math.cos(1.5)) <= r.error
    assert r.success


# --------------------------------------------------------------------------------------------
# The compiled entry of derivative() (issue 8 item 4): derivative(f, float, method="dual") with
# default options is served in one compiled call; it must be the general path, bit for bit.
# --------------------------------------------------------------------------------------------

DUAL_FUNCTIONS = {
    "fastdiff.math": lambda x: fm.sin(x) * fm.exp(x) + x**3,
    "numpy ufuncs": lambda x: np.sin(x) * np.exp(x) + x**3,
    "sqrt": fm.sqrt,  # NaN below 0, an infinite derivative at 0: not success
    "reciprocal": lambda x: 1.0 / x,  # an infinite value at 0
    "abs": abs,  # a kink: abs'(0) = 0
    "constant": lambda x: 2.0,  # the output does not depend on x: df 0
    "np.float64": lambda x: np.float64(3.0) * x + np.float64(1.0),
    "0-d object array": lambda x: np.array(x * x, dtype=object),
}
DUAL_ONLY = {"0-d object array"}  # Taylor numbers do not go into object arrays


def dual_fields(r):
    """Every field with its type; floats by their bits (NaN equals NaN, -0.0 is not 0.0)."""
    bits = lambda v: v.hex() if type(v) is float else v  # noqa: E731
    return tuple(
        (type(getattr(r, k)), bits(getattr(r, k)))
        for k in ("df", "error", "success", "status", "nfev", "step", "method")
    )


@settings(max_examples=120, deadline=None)
@given(
    name=st.sampled_from(sorted(DUAL_FUNCTIONS)),
    x=st.one_of(st.floats(-50.0, 50.0, allow_nan=False), st.sampled_from([0.0, -0.0, 1e-300])),
    n=st.sampled_from([1, 1, 2, 4, 7]),  # n >= 2: Taylor mode
    vectorized=st.booleans(),
    with_args=st.booleans(),
)
def test_compiled_dual_entry_equals_the_general_path(name, x, n, vectorized, with_args):
    g = DUAL_FUNCTIONS[name]
    if n > 1 and name in DUAL_ONLY:
        n = 1
    f, args, kwargs = g, (), None
    if with_args:  # args and kwargs reach f unchanged
        f = lambda x, a, *, b: g(x) * a + b  # noqa: E731
        args, kwargs = (1.0,), {"b": 0.0}
    general = fd.derivative.__wrapped__  # the Python function: validating path for a 0-d x
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NumPy's own warnings from f (log of 0, ...)
        kw = dict(n=n, method="dual", vectorized=vectorized, args=args, kwargs=kwargs)
        fast = fd.derivative(f, x, **kw)
        slow = general(f, np.array(x), **kw)
        also = general(f, x, **kw)
    assert dual_fields(fast) == dual_fields(slow) == dual_fields(also)


def test_the_compiled_entry_is_the_documented_function():
    python = fd.derivative.__wrapped__
    assert inspect.isfunction(python) and python.__name__ == "derivative"
    own = inspect.signature(fd.derivative, follow_wrapped=False).parameters.values()
    assert [(p.name, p.kind, p.default) for p in own] == [
        (p.name, p.kind, p.default) for p in inspect.signature(python).parameters.values()
    ]
    assert inspect.signature(fd.derivative) == inspect.signature(python)
    assert fd.derivative.__doc__ == python.__doc__ and "Examples" in fd.derivative.__doc__
    assert (fd.derivative.__module__, fd.derivative.__qualname__) == (
        "fastdiff._derivative",
        "derivative",
    )
    assert pickle.loads(pickle.dumps(fd.derivative)) is fd.derivative


PASS_THROUGH = [
    dict(method="central"),
    dict(method="complex"),
    dict(method="dual", n=3),  # Taylor mode
    dict(method="dual", n=1.0),  # not an int: the validating path's message
    dict(method="dual", order=2),  # a finite-difference option: refused by name
    dict(method="dual", step=0.1),
    dict(method="dual", bounds=(0.0, 1.0)),
    dict(method="dual", noise=0.1),
    dict(method="dual", workers=1),
    dict(method="dual", progress=True),
    dict(method="dual", vectorized=1),
    dict(method="dual", args=[1.0]),
    dict(method="dual", kwargs=[("a", 1)]),
    dict(method="dual", rtol=1e-3),  # ignored by dual numbers, as before
    dict(method="Dual"),
]


@pytest.mark.parametrize("x", [0.5, np.float64(0.5), math.inf, np.array([0.5, 1.5])])
@pytest.mark.parametrize("kw", PASS_THROUGH, ids=repr)
def test_every_other_call_reaches_the_general_path_unchanged(kw, x):
    def run(verb):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = verb(lambda t, *a, **k: np.exp(t), x, **kw)
        except Exception as exc:  # the same exception either way
            return type(exc), str(exc)
        return tuple(np.asarray(getattr(r, k)).tolist() for k in ("df", "error", "status"))

    assert run(fd.derivative) == run(fd.derivative.__wrapped__)


def test_the_compiled_entry_checks_its_signature_like_python():
    with pytest.raises(TypeError, match="unexpected keyword argument 'foo'"):
        fd.derivative(np.exp, 1.0, foo=1)
    with pytest.raises(TypeError, match="positional argument"):
        fd.derivative(np.exp, 1.0, 2)
    with pytest.raises(TypeError, match="positional argument"):
        fd.derivative(np.exp)


def test_f_sees_each_point_once_with_its_value_whether_it_keeps_it_or_not():
    # the scalar path passes f one float object per point, re-used for the next point only
    # where f kept no reference to it: f must see the same values in the same order as on
    # the array path, and a float f keeps must keep its value
    def recorder(keep):
        seen = []

        def f(x):
            seen.append(x if keep else x.hex())
            return math.exp(x)

        return f, seen

    for keep in (False, True):
        f_fast, fast = recorder(keep)
        f_slow, slow = recorder(keep)
        r = fd.derivative(f_fast, 1.0)
        fd.derivative(f_slow, np.array(1.0))
        as_hex = [v if type(v) is str else v.hex() for v in fast]
        assert as_hex == [v if type(v) is str else float(v).hex() for v in slow]
        assert len(fast) == r.nfev
        if keep:
            assert len({id(v) for v in fast}) == len(fast)  # distinct objects, all alive
    identity = fd.derivative(lambda x: x, 2.0)  # f returns the point itself
    assert identity.df == 1.0 and identity.success
