"""grid_derivative on two threads: the parts (rows, or positions split at a tile start of the
uniform contiguous interior) give results bitwise those of one call on one thread."""

from __future__ import annotations

import multiprocessing
import sys

import numpy as np
import pytest

import fastdiff as fd
from fastdiff import _grid
from fastdiff._kernels import _grid as kernel

TILE = 256  # FD_GRID_TILE in csrc/grid.c


def fields(res):
    return res.df, res.error, res.status, res.success


def assert_bitwise(a, b):
    for u, v in zip(fields(a), fields(b), strict=True):
        assert u.dtype == v.dtype and u.shape == v.shape
        # bit patterns, so that NaN == NaN and -0.0 != 0.0
        assert np.array_equal(u.view(np.uint8), v.view(np.uint8))


def samples(shape, axis, rng, nans=()):
    """Smooth data with a little noise (some statuses -3) and NaNs at the given positions."""
    length = shape[axis]
    t = np.linspace(0.0, 6.0, length)
    y = np.sin(3 * t) + 1e-9 * rng.standard_normal(length)
    y = np.moveaxis(np.broadcast_to(y, shape[:axis] + shape[axis + 1 :] + (length,)), -1, axis)
    y = y * (1.0 + np.arange(y.size).reshape(shape) % 7)
    y = np.ascontiguousarray(y)
    flat = np.moveaxis(y, axis, -1)
    for i in nans:
        flat[..., i % length] = np.nan
    return y


def compare(monkeypatch, y, *args, **kw):
    monkeypatch.setattr(_grid, "_THREADS", 1)
    one = fd.grid_derivative(y, *args, **kw)
    monkeypatch.setattr(_grid, "_THREADS", 2)
    monkeypatch.setattr(_grid, "_MIN_SAMPLES", 0)
    two = fd.grid_derivative(y, *args, **kw)
    assert_bitwise(one, two)
    return one


def half_width(n, order):
    """lo: half the widest (level 2, accuracy order + 4) uniform interior stencil."""
    return (n + 1) // 2 + (order + 4) // 2 - 1


def cut_of(length, n, order):
    return kernel.cut(1, length, 1, n, order, True, length // 2)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("order", [2, 4, 6, 8])
def test_line_split_is_bitwise_single_thread(monkeypatch, rng, n, order):
    # lengths around the smallest splittable line and around tile boundaries of the cut
    r = half_width(n, order)
    smallest = 2 * r + 2 + 2 * TILE
    split = 0
    for length in [
        smallest - 1,
        smallest,
        smallest + 1,
        smallest + 2,
        3 * TILE + 2 * r + 2,
        4 * TILE + 2 * r + 1,
        4 * TILE + 2 * r + 2,
        4 * TILE + 2 * r + 3,
        5003,
    ]:
        cut = cut_of(length, n, order)
        split += cut > 0
        if cut:
            assert (cut - (r + 1)) % TILE == 0
            assert r + 1 + TILE <= cut <= length - r - 1 - TILE
        # NaNs on either side of every cut the split uses (_PARTS parts)
        cuts = {
            kernel.cut(1, length, 1, n, order, True, length * j // _grid._PARTS)
            for j in range(1, _grid._PARTS)
        } - {0}
        nans = [7] + [c + d for c in cuts for d in (-2, -1, 0, 1)]
        for y in (samples((length,), 0, rng), samples((length,), 0, rng, nans)):
            compare(monkeypatch, y, dx=0.01, n=n, order=order)
    assert split >= 7  # the threaded path was taken (all but the two below the smallest)


def test_no_cut_without_room():
    smallest = 2 * half_width(1, 2) + 2 + 2 * TILE  # a tile on either side of the cut
    for length in range(5, smallest):
        assert cut_of(length, 1, 2) == 0
    assert cut_of(smallest, 1, 2) > 0
    # non-uniform, or across an inner axis: no cut (rows only)
    assert kernel.cut(1, 10**5, 1, 1, 4, False, 5 * 10**4) == 0
    assert kernel.cut(1, 10**5, 3, 1, 4, True, 5 * 10**4) == 0


@pytest.mark.parametrize("n", [1, 4])
@pytest.mark.parametrize("order", [2, 8])
def test_every_cut_writes_only_its_range(rng, n, order):
    # both halves of every cut of a line: each writes its own positions only, and the two
    # together are the one call (run sequentially, so this is the kernel's contract)
    length = 6 * TILE + 40
    y = samples((length,), 0, rng, [300, 301, 555]).reshape(1, length, 1)
    eps = float(np.finfo(np.float64).eps)
    ref = kernel.grid_derivative(y, None, 0.01, n, order, eps)
    cuts = sorted({kernel.cut(1, length, 1, n, order, True, near) for near in range(length)})
    assert len(cuts) >= 4 and 0 not in cuts
    for cut in cuts:
        df, error, status, ok = kernel.outputs(y.shape)
        for a in (df, error):
            a.fill(-7.0)
        for a in (status, ok):
            a.fill(-7)
        assert kernel.run(y, None, 0.01, n, order, eps, df, error, status, ok, cut, length) == 0
        for a in (df, error, status, ok):
            assert (a[0, :cut, 0] == -7).all() and (a[0, cut:, 0] != -7).all()
        assert kernel.run(y, None, 0.01, n, order, eps, df, error, status, ok, 0, cut) == 0
        for u, v in zip((df, error, status, ok.view(np.bool_)), ref[1:], strict=True):
            assert np.array_equal(u.view(np.uint8), v.view(np.uint8))


ROWS = {  # shapes with at least two outer rows (and the 1-D line along axis 0)
    0: [(1100,), (700,)],
    1: [(2, 700, 3), (3, 300, 1), (5, 40, 2)],
    -1: [(2, 700), (3, 600), (5, 3, 300)],
}


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_row_split_is_bitwise_single_thread(monkeypatch, rng, axis, n):
    # rows of the outer axes go to the two threads, uniform and non-uniform, with an inner
    # axis or without
    for shape in ROWS[axis]:
        ax = axis % len(shape)
        y = samples(shape, ax, rng, [0, 17, shape[ax] - 1])
        x = np.cumsum(rng.uniform(0.5, 1.5, shape[ax]))
        for order in (2, 6):
            compare(monkeypatch, y, dx=0.3, n=n, order=order, axis=axis)
            compare(monkeypatch, y, x, n=n, order=order, axis=axis)


def test_not_split_where_no_part_is_bitwise_safe():
    # one line that is non-uniform, or along an inner axis: one call (no lane split)
    assert _grid._split((1, 10**6, 1), 1, 4, False) is None
    assert _grid._split((1, 1000, 1000), 1, 4, True) is None
    assert _grid._split((1, 100, 1), 1, 4, True) is None  # below _MIN_SAMPLES


def test_default_threshold(monkeypatch, rng):
    # at the real threshold, with the real thread count
    length = _grid._MIN_SAMPLES
    assert _grid._split((1, length - 1, 1), 1, 4, True) is None
    y = samples((length,), 0, rng, [10, length // 2])
    monkeypatch.setattr(_grid, "_THREADS", 1)
    one = fd.grid_derivative(y, dx=0.01, order=4)
    monkeypatch.setattr(_grid, "_THREADS", None)
    two = fd.grid_derivative(y, dx=0.01, order=4)
    assert_bitwise(one, two)
    if _grid._threads() >= 2:
        assert _grid._split((1, length, 1), 1, 4, True) is not None


def _child(y):
    return fd.grid_derivative(y, dx=0.01, order=4).df


@pytest.mark.skipif(
    sys.platform != "linux", reason="fork start method: a forked child inherits the pool"
)
def test_pool_works_in_a_forked_child(monkeypatch, rng):
    monkeypatch.setattr(_grid, "_THREADS", 2)
    y = samples((_grid._MIN_SAMPLES,), 0, rng)
    expected = fd.grid_derivative(y, dx=0.01, order=4).df  # the parent's pool exists now
    assert _grid._pool is not None
    with multiprocessing.get_context("fork").Pool(1) as pool:
        got = pool.apply_async(_child, (y,)).get(timeout=60)
    assert np.array_equal(got, expected)
