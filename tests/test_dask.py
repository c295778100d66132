"""derivative() with x a dask array: blockwise, lazy, and bitwise the numpy result.

Elements are independent in `derivative`, so the oracle is the numpy call on the whole
array: every field, nfev included, must come back identical from the blocks. The threaded
scheduler runs the blocks on real worker threads (a LocalCluster is another suite's job).
"""

from __future__ import annotations

import doctest
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import fastdiff as fd

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")


@pytest.fixture(autouse=True)
def threads():
    with dask.config.set(scheduler="threads"):
        yield


def computed(res):
    """The Result's fields as numpy (one compute, the blocks shared) and nfev as an int."""
    df, error, success, status, step, nfev = dask.compute(
        res.df, res.error, res.success, res.status, res.step, res.nfev
    )
    return df, error, success, status, step, int(nfev)


def assert_same(res, ref, nfev_expected=None):
    df, error, success, status, step, nfev = computed(res)
    assert df.dtype == np.asarray(ref.df).dtype
    assert np.array_equal(df, ref.df)
    assert np.array_equal(error, ref.error)
    assert np.array_equal(success, ref.success)
    assert np.array_equal(status, ref.status)
    assert np.array_equal(step, np.broadcast_to(ref.step, np.shape(ref.df)))
    assert nfev == (ref.nfev if nfev_expected is None else nfev_expected)
    assert res.method == ref.method


X = np.linspace(0.1, 3.0, 7 * 23).reshape(7, 23)
CHUNKS = ((3, 4), (10, 5, 8))  # uneven blocks


def log1(x, a, *, b):
    return a * np.log(x) + b * x**3


CASES = {
    "sin": (np.sin, {"vectorized": True}),
    "n=2": (np.exp, {"vectorized": True, "n": 2}),
    "forward, order 3": (np.cos, {"vectorized": True, "method": "forward", "order": 3}),
    "complex": (np.sin, {"vectorized": True, "method": "complex"}),
    "looped": (np.tanh, {}),
    "args, kwargs": (log1, {"vectorized": True, "args": (2.0,), "kwargs": {"b": 0.5}}),
    "rtol": (np.sin, {"vectorized": True, "rtol": 1e-6}),
    # an array step and array bounds travel with the blocks
    "step array": (np.sin, {"vectorized": True, "step": np.linspace(1e-3, 1e-2, 23)}),
    "bounds arrays": (np.log, {"vectorized": True, "bounds": (np.zeros((7, 1)), 3.5)}),
    "dual, Taylor": (np.sin, {"method": "dual", "n": 3}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_blockwise_result_is_bitwise_the_numpy_result(case):
    f, opts = CASES[case]
    res = fd.derivative(f, da.from_array(X, chunks=CHUNKS), **opts)
    for field in ("df", "error", "success", "status", "step", "nfev"):
        assert isinstance(getattr(res, field), da.Array), field
    assert res.df.chunks == CHUNKS and res.nfev.shape == ()
    # nfev counts points, but calls of f under method="dual": one call per block
    blocks = res.df.npartitions if opts.get("method") == "dual" else None
    assert_same(res, fd.derivative(f, X, **opts), blocks)


def test_nothing_is_evaluated_before_compute():
    points = []

    def f(x):
        points.append(np.size(x))
        return np.sin(x)

    res = fd.derivative(f, da.from_array(X, chunks=CHUNKS), vectorized=True)
    assert sum(points) == 0  # at most the dtype probe on an empty array
    assert points in ([], [0])
    df, *_, nfev = computed(res)
    assert sum(points) == nfev > X.size
    assert np.array_equal(df, fd.derivative(np.sin, X, vectorized=True).df)


def test_a_complex_valued_f_gives_complex_df():
    def f(x):
        return np.exp(1j * x)

    res = fd.derivative(f, da.from_array(X, chunks=CHUNKS), vectorized=True)
    assert res.df.dtype == np.complex128
    assert_same(res, fd.derivative(f, X, vectorized=True))


def test_a_complex_valued_looped_f_is_refused_not_mistyped():
    # f taking one float at a time is not called before compute, so df is declared float64;
    # a complex block raises rather than deliver an array of another dtype than declared
    res = fd.derivative(lambda t: complex(np.exp(1j * t)), da.from_array(X, chunks=CHUNKS))
    with pytest.raises(TypeError, match=r"`f`.*vectorized=True"):
        res.df.compute()


def test_a_0d_dask_array():
    res = fd.derivative(np.exp, da.from_array(np.array(0.5)), vectorized=True)
    assert res.df.shape == ()
    assert_same(res, fd.derivative(np.exp, np.array(0.5), vectorized=True))


def test_exceptions_of_f_propagate_at_compute():
    class Boom(Exception):
        pass

    def f(x):
        if np.size(x) and np.max(x) > 2.5:
            raise Boom("f failed on purpose")
        return np.sin(x)

    res = fd.derivative(f, da.from_array(X, chunks=CHUNKS), vectorized=True)
    with pytest.raises(Boom, match="f failed on purpose"):
        res.df.compute()


def test_values_of_x_are_checked_per_block_at_compute():
    x = X.copy()
    x[5, 20] = np.nan
    res = fd.derivative(np.sin, da.from_array(x, chunks=CHUNKS), vectorized=True)
    with pytest.raises(ValueError, match="`x` must be finite"):
        res.df.compute()
    res = fd.derivative(np.log, da.from_array(X, chunks=CHUNKS), bounds=(0.2, 4), vectorized=True)
    with pytest.raises(ValueError, match="`x` must be inside bounds"):
        res.df.compute()


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"n": 0}, ValueError, "`n`"),
        ({"method": "bogus"}, ValueError, "`method`"),
        ({"order": 3}, ValueError, "`order`"),
        ({"rtol": -1.0}, ValueError, "`rtol`"),
        ({"noise": 2.0}, ValueError, "`noise`"),
        ({"step": 0.0}, ValueError, "`step`"),
        ({"step": np.ones(5)}, ValueError, "`step` must be broadcastable"),
        ({"bounds": (np.zeros(4), 5.0)}, ValueError, "`bounds` must be broadcastable"),
        ({"bounds": 3.0}, TypeError, "`bounds`"),
        ({"method": "complex", "bounds": (0.0, 5.0)}, ValueError, "`bounds`"),
        ({"method": "dual", "step": 0.1}, ValueError, "`step`"),
        ({"vectorized": "yes"}, TypeError, "`vectorized`"),
        ({"args": [1]}, TypeError, "`args`"),
    ],
)
def test_bad_arguments_raise_at_once_naming_the_parameter(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        fd.derivative(np.sin, da.from_array(X, chunks=CHUNKS), **kwargs)


def test_bad_x_or_f_raise_at_once():
    with pytest.raises(TypeError, match="`x` must be real"):
        fd.derivative(np.sin, da.from_array(X + 1j, chunks=CHUNKS))
    with pytest.raises(ValueError, match="`x` must be non-empty"):
        fd.derivative(np.sin, da.zeros((0, 3)))
    with pytest.raises(TypeError, match="`f` must be callable"):
        fd.derivative("sin", da.from_array(X, chunks=CHUNKS))


def test_dask_is_imported_only_for_a_dask_x():
    code = (
        "import sys, numpy as np, fastdiff as fd\n"
        "fd.derivative(np.sin, 1.0); fd.derivative(np.sin, np.ones(3), vectorized=True)\n"
        "fd.derivative(np.sin, [0.5, 1.0])\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


PAGE = pathlib.Path(__file__).resolve().parent.parent / "docs" / "dask.md"


@pytest.mark.skipif(not PAGE.exists(), reason="docs/ is not beside this tests/ copy")
def test_the_docs_page_examples_run():
    result = doctest.testfile(
        str(PAGE), module_relative=False, optionflags=doctest.ELLIPSIS, verbose=False
    )
    assert result.attempted >= 5 and result.failed == 0


def test_dask_step_and_bounds_go_with_the_blocks():
    step = np.linspace(1e-3, 1e-2, 23)
    lo = np.zeros((7, 1))
    res = fd.derivative(
        np.log,
        da.from_array(X, chunks=CHUNKS),
        vectorized=True,
        step=da.from_array(step, chunks=7),
        bounds=(da.from_array(lo, chunks=2), 3.5),
    )
    assert_same(res, fd.derivative(np.log, X, vectorized=True, step=step, bounds=(lo, 3.5)))


def test_a_0d_dask_step_is_not_computed_inside_a_block():
    res = fd.derivative(np.sin, da.from_array(X, chunks=CHUNKS), step=da.asarray(1e-3))
    assert_same(res, fd.derivative(np.sin, X, step=1e-3))
