"""The block pool behind the dual verbs (fastdiff/_kernels/_dualarray.pyx): NumPy arrays made
while it is on reuse freed large blocks, zeroed where NumPy asks for zeros, and the handler is
the caller's again once a verb returns (raising or not)."""

import threading

import numpy as np
import pytest

from fastdiff._forward import dual_gradient, dual_hessian, dual_jacobian, dual_jvp
from fastdiff._kernels import _dualarray

try:
    from numpy._core.multiarray import get_handler_name
except ImportError:  # numpy < 2
    from numpy.core.multiarray import get_handler_name

BIG = _dualarray.POOL_MIN_BYTES // 8 + 1000  # doubles: above the pool's threshold


@pytest.fixture
def pool():
    _dualarray.pool_clear()
    old = _dualarray.pool_on()
    yield
    _dualarray.pool_restore(old)
    _dualarray.pool_clear()


def test_arrays_made_under_the_pool_use_it(pool):
    a = np.empty(BIG)
    assert get_handler_name(a) == "fastdiff_dual_pool"


def test_freed_blocks_are_kept_and_reused(pool):
    a = np.empty(BIG)
    a[:] = 7.0
    del a
    assert _dualarray.pool_bytes() >= BIG * 8
    b = np.empty(BIG)
    assert _dualarray.pool_bytes() == 0  # the block went back out
    del b


def test_the_pool_keeps_the_live_temporaries_of_a_second_order_square(pool):
    # squaring the second-order arrays of a sparse Hessian block (k = 19, n = 500: 1.5 MB
    # each) frees more than 8 such blocks at once; with 8 slots the rest page-faulted afresh
    # (hessian of chained Rosenbrock n = 500 with 16-coordinate blocks: 187 ms against 35 ms)
    blocks = [np.empty(BIG) for _ in range(_dualarray.POOL_SLOTS)]
    del blocks
    assert _dualarray.pool_bytes() >= _dualarray.POOL_SLOTS * BIG * 8
    assert _dualarray.POOL_SLOTS >= 32


def test_zeros_from_a_dirty_block_are_zero(pool):
    a = np.empty(BIG)
    a[:] = np.nan
    del a
    assert _dualarray.pool_bytes() > 0
    z = np.zeros(BIG)
    assert _dualarray.pool_bytes() == 0
    assert not z.any()


def test_small_and_huge_blocks_are_not_kept(pool):
    small = np.ones(100)
    del small
    assert _dualarray.pool_bytes() == 0
    huge = np.ones(_dualarray.POOL_MAX_BYTES // 8 + 1)
    del huge
    assert _dualarray.pool_bytes() == 0


def test_the_pool_keeps_at_most_its_total(pool):
    n = _dualarray.POOL_MAX_BYTES // 8
    arrays = [np.ones(n) for _ in range(4)]  # 4 x 32 MiB: more than the 64 MiB kept
    del arrays
    assert 0 < _dualarray.pool_bytes() <= _dualarray.POOL_MAX_TOTAL


def test_resize_goes_through_realloc(pool):
    a = np.arange(BIG, dtype=np.float64)
    a.resize(2 * BIG, refcheck=False)
    np.testing.assert_array_equal(a[:BIG], np.arange(BIG))
    assert not a[BIG:].any()  # ndarray.resize zero-fills the new part
    a.resize(10, refcheck=False)
    np.testing.assert_array_equal(a, np.arange(10))


def test_arrays_outlive_the_pool_context():
    _dualarray.pool_clear()
    old = _dualarray.pool_on()
    a = np.full(BIG, 3.0)
    _dualarray.pool_restore(old)
    assert get_handler_name(np.empty(BIG)) != "fastdiff_dual_pool"
    assert a.sum() == 3.0 * BIG
    del a  # freed by the pool's own free: it remembers its handler
    _dualarray.pool_clear()
    assert _dualarray.pool_bytes() == 0


@pytest.mark.parametrize(
    "call",
    [
        lambda f, x: dual_jacobian(f, x),
        lambda f, x: dual_gradient(lambda v: np.sum(f(v)), x),
        lambda f, x: dual_jvp(f, x, np.ones_like(x)),
        lambda f, x: dual_hessian(lambda v: np.sum(f(v)), x),
    ],
)
def test_the_verbs_give_the_handler_back(call):
    before = get_handler_name()
    x = np.linspace(0.1, 1.0, 5)
    call(np.sin, x)
    assert get_handler_name() == before

    def boom(v):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        call(boom, x)
    assert get_handler_name() == before


def test_threads_share_the_pool_and_agree_with_serial():
    rng = np.random.default_rng(3)
    W = rng.normal(size=(200, 200)) / 15.0  # tangents of 320 KB: pooled
    x = rng.normal(size=200)

    def f(v):
        return np.tanh(W @ np.tanh(W @ v)) * v

    serial = dual_jacobian(f, x)
    results: list = [None] * 8

    def work(i):
        for _ in range(5):
            results[i] = dual_jacobian(f, x)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        np.testing.assert_array_equal(r.df, serial.df)
        np.testing.assert_array_equal(r.error, serial.error)


def test_the_pool_is_on_for_large_seeds_only():
    seen = []

    def f(v):
        seen.append(get_handler_name())
        return np.sin(v)

    dual_jacobian(f, np.ones(8))  # 512 bytes of seeds: NumPy's default (and its small cache)
    assert len(seen) == 1  # (the bound's magnitudes in the same call, a lane)
    dual_jacobian(f, np.ones(200))  # 320 KB (too large for the lane: two calls)
    assert seen[0] != "fastdiff_dual_pool"
    assert seen[1] == seen[2] == "fastdiff_dual_pool"


def test_taylor_buffers_come_from_the_pool_and_stay_exact():
    # A degree-4 Taylor number over 2 * 10^4 points holds 1.6 MB: its buffers (and the
    # recurrences' scratch) are pooled blocks, returned on release and reused by the next call.
    import fastdiff as fd

    _dualarray.pool_clear()
    x = np.linspace(-2.0, 2.0, 20_000)
    exact = -4.0 * np.exp(x) * np.sin(x)  # (e^x sin x)'''' = -4 e^x sin x
    for _ in range(3):
        r = fd.derivative(lambda t: np.exp(t) * np.sin(t), x, n=4, method="dual")
        assert bool(
            np.all(np.abs(r.df - exact) <= r.error + 4 * np.finfo(float).eps * np.abs(exact))
        )
        assert _dualarray.pool_bytes() >= 2 * 5 * x.size * 8  # the freed Taylor blocks
    _dualarray.pool_clear()
    assert _dualarray.pool_bytes() == 0
