"""The compiled scalar path of derivative() (issue 10 item 3) is the same computation as the
validating array path: same df, error, status, step and nfev, bit for bit, and the same
handling of warnings, errstate, exceptions and bad values of f."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastdiff as fd

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
