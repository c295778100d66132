"""workers= and progress=: parallel and distributed evaluation through fastdiff._evaluate.

The contract: a result computed through workers (threads, a process pool, any map-like,
a Dask cluster) is bitwise the serial one in every field, nfev included; every point of a
ladder level goes out in one batch, one block per worker; f's exceptions propagate with their
type and message; a dead worker or an unpicklable f gives a clear error within seconds; the
progress bar writes to stderr only and changes nothing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import pytest

import fastdiff as fd
from fastdiff import _evaluate

# CPython >= 3.12 warns when a process with threads forks (the Dask client's, tqdm's monitor):
# the process pools here fork at the platform's default, and their workers only run f
pytestmark = pytest.mark.filterwarnings("ignore:.*multi-threaded.*fork:DeprecationWarning")

X4 = np.array([0.5, 1.2, -0.3, 0.9])
FIELDS = ("df", "error", "status", "success", "step", "nfev", "method")


# --------------------------------------------------------------------------------------------
# Module-level functions: a process pool pickles f by reference
# --------------------------------------------------------------------------------------------


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def ignores_extra(x, extra):
    return np.sin(x)


def rosen_v(X):
    return np.sum(100.0 * (X[1:] - X[:-1] ** 2) ** 2 + (1 - X[:-1]) ** 2, axis=0)


def vec2(x):
    return np.array([np.sin(x[0]) * x[1], np.exp(x[1]) + x[0] ** 2])


def vec2_v(X):
    return np.stack([np.sin(X[0]) * X[1], np.exp(X[1]) + X[0] ** 2])


def scaled_sin(x, a, b=1.0):
    return b * np.sin(a * x)


def raises_at_far_points(x):
    if np.max(np.abs(np.asarray(x) - 0.5)) < 0.1:  # never near x: the ladder's points are
        raise KeyError("f refuses this point")
    return float(np.sum(np.asarray(x) ** 2))


def fails_away_from_x(x):
    if np.any(np.abs(np.asarray(x) - X4) > 0):  # f(x) works, any other point fails
        raise ZeroDivisionError("f failed at a perturbed point")
    return float(np.sum(x))


def dies_away_from_x(x):
    if np.any(np.abs(np.asarray(x) - X4) > 0):
        os._exit(3)
    return float(np.sum(x))


def structured_loss(p):
    return float(np.sum(p["w"] ** 2) * np.exp(p["b"]))


def returns_arrays_away_from_x(x):
    if np.any(np.abs(np.asarray(x) - X4) > 0):
        return np.zeros(3)
    return float(np.sum(x))


# --------------------------------------------------------------------------------------------
# Fixtures: bounded in time, shut down on failure
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def deadline(seconds: int):
    """Fail (instead of hanging) when the body takes longer than `seconds`."""

    def expire(*_):
        raise TimeoutError(f"no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture
def threads():
    with ThreadPoolExecutor(3) as pool:
        yield pool


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), deadline(120):
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: never a clash with other clusters
            silence_logs=logging.ERROR,
        )
        client = distributed.Client(cluster, timeout="60s")
    try:
        yield client
    finally:
        with deadline(60):
            client.close(timeout=30)
            cluster.close(timeout=30)


def same(ref, res):
    """Every field of two Results equal, bit for bit."""
    for name in FIELDS:
        a, b = getattr(ref, name), getattr(res, name)
        if name == "method":
            assert a == b
            continue
        a, b = np.ascontiguousarray(np.atleast_1d(a)), np.ascontiguousarray(np.atleast_1d(b))
        assert a.dtype == b.dtype and a.shape == b.shape, name
        assert np.array_equal(a.view(np.uint8), b.view(np.uint8)), name


CASES = [
    ("derivative", np.sin, np.linspace(-2.0, 3.0, 7), {}),
    ("derivative", np.sin, np.linspace(-2.0, 3.0, 7), {"vectorized": True}),
    ("derivative", np.log, np.array([1e-3, 2.0]), {"n": 3}),
    ("derivative", scaled_sin, 0.7, {"args": (2.0,), "kwargs": {"b": 3.0}}),
    ("derivative", np.sqrt, np.array([0.0, 1.0]), {"bounds": (0.0, np.inf)}),
    ("gradient", rosen, X4, {}),
    ("gradient", rosen_v, X4, {"vectorized": True}),
    ("jacobian", vec2, X4[:2], {}),
    ("jacobian", vec2_v, X4[:2], {"vectorized": True}),
    ("hessian", rosen, X4, {}),
    ("hessian", rosen_v, X4, {"vectorized": True}),
    ("hessdiag", rosen, X4, {}),
    ("jvp", vec2, X4[:2], {"v": np.array([1.0, -2.0])}),
]
METHODS = ("central", "forward", "backward", "complex")


def run(verb, f, x, kw, method, **extra):
    kw = dict(kw)
    v = (kw.pop("v"),) if "v" in kw else ()
    if method == "complex" and "bounds" in kw:
        kw.pop("bounds")
    return getattr(fd, verb)(f, x, *v, method=method, **kw, **extra)


# --------------------------------------------------------------------------------------------
# Bitwise identity
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1].__name__}")
def test_threads_and_map_likes_give_the_serial_result_bitwise(case, method, threads):
    verb, f, x, kw = case
    ref = run(verb, f, x, kw, method)
    same(ref, run(verb, f, x, kw, method, workers=threads))
    same(ref, run(verb, f, x, kw, method, workers=threads.map))


def test_sparse_jacobian_through_workers_is_the_serial_one(threads):
    P = np.array([[True, True], [True, False]])
    ref = fd.jacobian(vec2, X4[:2], sparsity=P)
    res = fd.jacobian(vec2, X4[:2], sparsity=P, workers=threads)
    for name in ("df", "error", "status"):
        a, b = getattr(ref, name).toarray(), getattr(res, name).toarray()
        assert np.array_equal(a, b, equal_nan=True), name
    assert ref.nfev == res.nfev


def test_structured_gradient_through_workers_is_the_serial_one(threads):
    params = {"w": np.array([1.0, 2.0]), "b": 0.5}

    def loss(p):
        return float(np.sum(p["w"] ** 2) * np.exp(p["b"]))

    ref = fd.gradient(loss, params)
    res = fd.gradient(loss, params, workers=threads)
    for k in ("w", "b"):
        assert np.array_equal(ref.df[k], res.df[k]) and np.array_equal(ref.error[k], res.error[k])
    assert ref.nfev == res.nfev


def test_a_process_pool_gives_the_serial_result_bitwise():
    with deadline(60):
        for verb, f, x, kw in CASES[:2] + CASES[5:7] + CASES[9:10]:
            for method in ("central", "complex"):
                same(run(verb, f, x, kw, method), run(verb, f, x, kw, method, workers=2))


def test_structured_x_goes_to_a_process_pool():
    params = {"w": np.array([1.0, 2.0]), "b": 0.5}
    with deadline(60):
        ref, res = (
            fd.gradient(structured_loss, params),
            fd.gradient(structured_loss, params, workers=2),
        )
    assert np.array_equal(ref.df["w"], res.df["w"]) and ref.nfev == res.nfev


def test_a_dask_cluster_gives_the_serial_result_bitwise(dask_client):
    with deadline(60):
        for verb, f, x, kw in CASES[:2] + CASES[5:8] + CASES[9:10]:
            ref = run(verb, f, x, kw, "central")
            same(ref, run(verb, f, x, kw, "central", workers=dask_client))
        # f travels with cloudpickle: a lambda is fine
        ref = fd.gradient(lambda v: float(np.sum(np.sin(v))), X4)
        same(ref, fd.gradient(lambda v: float(np.sum(np.sin(v))), X4, workers=dask_client))


# --------------------------------------------------------------------------------------------
# One batch per level, one block per worker
# --------------------------------------------------------------------------------------------


class RecordingPool(ThreadPoolExecutor):
    """A thread pool that records the blocks it is given, per batch."""

    def __init__(self, n):
        super().__init__(n)
        self.blocks = []
        self.owner = threading.get_ident()

    def submit(self, fn, block, /):
        self.blocks.append(block)
        return super().submit(fn, block)


def test_each_level_goes_out_as_one_batch_in_one_block_per_worker():
    x = np.linspace(-1.0, 1.0, 12)
    calls = []

    def f(v):
        calls.append(1)
        return float(np.sum(np.cos(v) * v))

    ref = fd.gradient(f, x)
    with RecordingPool(3) as pool:
        res = fd.gradient(f, x, workers=pool)
    same(ref, res)
    sizes = [len(b) for b in pool.blocks]
    # a level's points come in groups of 3 blocks (fewer only when a level has < 3 points),
    # balanced to within one point; f(x) itself is evaluated here, once
    assert sum(sizes) == res.nfev - 1
    assert len(calls) == 2 * res.nfev
    for k in range(0, len(sizes) - len(sizes) % 3, 3):
        assert max(sizes[k : k + 3]) - min(sizes[k : k + 3]) <= 1
    # the first level holds every coordinate's two central points
    assert sum(sizes[:3]) == 2 * x.size


@pytest.mark.parametrize("method", ["central", "dual"])
def test_a_float_x_with_workers_goes_through_the_pool(method):
    # the compiled float fast paths serve workers=None only: a float x with workers must not
    # quietly run serially (and method="dual" refuses workers, as for array x)
    with RecordingPool(2) as pool:
        if method == "dual":
            with pytest.raises(ValueError, match="workers"):
                fd.derivative(np.sin, 0.5, method=method, workers=pool)
            return
        res = fd.derivative(np.sin, 0.5, method=method, workers=pool)
    same(fd.derivative(np.sin, 0.5, method=method), res)
    assert sum(len(b) for b in pool.blocks) == res.nfev - 1  # all but f(x) went to the pool


def test_sparse_hessian_through_workers_is_the_serial_one(threads):
    sp = pytest.importorskip("scipy.sparse")
    P = sp.diags([1, 1, 1], offsets=[-1, 0, 1], shape=(4, 4), dtype=bool)
    for method in ("central", "complex"):
        ref = fd.hessian(rosen, X4, sparsity=P, method=method)
        with RecordingPool(2) as pool:
            res = fd.hessian(rosen, X4, sparsity=P, method=method, workers=pool)
        assert pool.blocks, "the pool was not used"
        for name in ("df", "error", "status"):
            a, b = getattr(ref, name).toarray(), getattr(res, name).toarray()
            assert np.array_equal(a, b, equal_nan=True), name
        assert ref.nfev == res.nfev


def test_a_dask_array_x_refuses_workers_and_progress(threads):
    da = pytest.importorskip("dask.array")
    x = da.linspace(0.0, 1.0, 8, chunks=4)
    with pytest.raises(ValueError, match="`workers` must be None with a dask array x"):
        fd.derivative(np.sin, x, vectorized=True, workers=threads)
    with pytest.raises(ValueError, match="`progress` must be False with a dask array x"):
        fd.derivative(np.sin, x, vectorized=True, progress=True)


def test_vectorized_f_gets_one_block_of_points_per_worker():
    with RecordingPool(2) as pool:
        res = fd.gradient(rosen_v, np.linspace(-1.0, 1.0, 10), vectorized=True, workers=pool)
    assert res.success.all()
    assert all(b.shape[0] == 10 and b.ndim == 2 for b in pool.blocks)
    assert len(pool.blocks) % 2 == 0  # every level split in two


def test_vectorized_blocks_respect_the_memory_bound():
    with RecordingPool(2) as pool:
        fd.gradient(rosen_v, np.linspace(-1.0, 1.0, 10), vectorized=True, workers=pool,
                    batch_bytes=8 * 10 * 3)  # fmt: skip
    assert max(b.shape[1] for b in pool.blocks) <= 3


def test_spans_policy():
    assert _evaluate.spans(10, 8, 8 * 4) == [(0, 4), (4, 8), (8, 10)]  # serial: as many as fit
    # with workers: a multiple of the workers in number, sizes within one point of each other
    assert _evaluate.spans(10, 8, 8 * 100, nworkers=3) == [(0, 4), (4, 7), (7, 10)]
    assert _evaluate.spans(10, 1, 10, nworkers=4) == [(0, 3), (3, 6), (6, 8), (8, 10)]
    assert _evaluate.spans(10, 8, 8 * 4, nworkers=2) == [(0, 3), (3, 6), (6, 8), (8, 10)]
    assert _evaluate.spans(2, 8, 8 * 100, nworkers=3) == [(0, 1), (1, 2)]
    assert _evaluate.spans(0, 8, 8, nworkers=3) == []


@pytest.mark.parametrize("nworkers", [2, 3, 4, 7])
def test_spans_cover_the_batch_evenly_under_the_memory_bound(nworkers):
    for k in range(0, 60):
        for per in (1, 2, 3, 5, 8, 100):
            sp = _evaluate.spans(k, 8, 8 * per, nworkers)
            assert [p for s, e in sp for p in range(s, e)] == list(range(k))  # in order, once
            sizes = [e - s for s, e in sp]
            assert all(1 <= z <= per for z in sizes)
            assert not sizes or max(sizes) - min(sizes) <= 1
            # no lone short round: the blocks fill whole rounds of the workers where k allows
            assert len(sp) % nworkers == 0 or len(sp) == k
            # and there are no more rounds than the memory bound needs
            needed = -(-k // per)  # blocks of the memory bound alone
            assert -(-len(sp) // nworkers) == -(-needed // nworkers)


# --------------------------------------------------------------------------------------------
# Failures
# --------------------------------------------------------------------------------------------


def test_f_exceptions_propagate_from_threads(threads):
    with pytest.raises(ZeroDivisionError, match="f failed at a perturbed point"):
        fd.gradient(fails_away_from_x, X4, workers=threads)
    with pytest.raises(ZeroDivisionError, match="f failed at a perturbed point"):
        fd.gradient(fails_away_from_x, X4, workers=threads.map)


def test_f_exceptions_propagate_from_processes():
    with deadline(60), pytest.raises(ZeroDivisionError, match="f failed at a perturbed point"):
        fd.gradient(fails_away_from_x, X4, workers=2)


def test_f_exceptions_propagate_from_dask(dask_client):
    with deadline(60), pytest.raises(ZeroDivisionError, match="f failed at a perturbed point"):
        fd.gradient(fails_away_from_x, X4, workers=dask_client)


def test_bad_output_of_f_gives_the_serial_message(threads):
    with pytest.raises(ValueError) as serial:
        fd.gradient(returns_arrays_away_from_x, X4)
    with pytest.raises(ValueError) as parallel:
        fd.gradient(returns_arrays_away_from_x, X4, workers=threads)
    assert str(parallel.value) == str(serial.value)

    def g(t):
        return np.zeros(2) if t != 0.5 else 1.0

    with pytest.raises(ValueError) as serial:
        fd.derivative(g, np.array([0.5, 0.7]))
    with pytest.raises(ValueError) as parallel:
        fd.derivative(g, np.array([0.5, 0.7]), workers=threads)
    assert str(parallel.value) == str(serial.value)


def test_a_dead_worker_process_gives_a_clear_error_not_a_hang():
    with deadline(60), pytest.raises(BrokenProcessPool, match="died while evaluating f"):
        fd.gradient(dies_away_from_x, X4, workers=2)


def fails_fast_or_sleeps(x):
    d = np.asarray(x) - X4
    if d[0] != 0:  # the first block of the first level (coordinates 0 and 1)
        raise ZeroDivisionError("f failed at a perturbed point")
    if d[3] != 0:  # the second block: would run for half a minute
        time.sleep(30)
    return float(np.sum(x))


def test_a_failure_in_one_process_stops_the_others_blocks():
    # f fails in one worker while the other is in a 30 s block: the error comes at once, and
    # the pool (this call's alone) is stopped rather than waited for
    t0 = time.perf_counter()
    with deadline(25), pytest.raises(ZeroDivisionError, match="f failed at a perturbed point"):
        fd.gradient(fails_fast_or_sleeps, X4, workers=2)
    assert time.perf_counter() - t0 < 20


CHILDREN_AT_FX = []


def counts_children_at_x(x):
    import multiprocessing

    if multiprocessing.parent_process() is None and not CHILDREN_AT_FX:  # f(x), here
        CHILDREN_AT_FX.append({p.pid for p in multiprocessing.active_children()})
    return float(np.sum(np.sin(x)))


def test_workers_n_starts_its_processes_before_f_x():
    # the pool's start-up overlaps f(x), which is evaluated in this process
    import multiprocessing

    ref = fd.gradient(counts_children_at_x, X4)
    before = {p.pid for p in multiprocessing.active_children()}  # a Dask cluster's, ...
    CHILDREN_AT_FX.clear()
    with deadline(60):
        res = fd.gradient(counts_children_at_x, X4, workers=2)
    same(ref, res)
    assert len(CHILDREN_AT_FX) == 1 and len(CHILDREN_AT_FX[0] - before) == 2


def counts_children_then_fails(x):
    if np.array_equal(x, X4):  # f(x), in this process: the pool's processes are running
        return counts_children_at_x(x)
    raise ZeroDivisionError("f failed at a perturbed point")


@pytest.mark.parametrize("fails", [False, True])
def test_workers_n_leaves_no_process_behind(fails):
    # after success the call tells its processes to exit and returns (the pool's own thread
    # reaps them); after a failure it waits for them before raising
    import multiprocessing

    before = {p.pid for p in multiprocessing.active_children()}
    CHILDREN_AT_FX.clear()
    with deadline(60):
        if fails:
            with pytest.raises(ZeroDivisionError, match="f failed at a perturbed point"):
                fd.gradient(counts_children_then_fails, X4, workers=2)
        else:
            fd.gradient(counts_children_at_x, X4, workers=2)
    ours = CHILDREN_AT_FX[0] - before
    assert len(ours) == 2

    def left() -> set[int]:
        return ours & {p.pid for p in multiprocessing.active_children()}

    if fails:
        assert left() == set()
    else:
        t0 = time.perf_counter()
        while left() and time.perf_counter() - t0 < 10:
            time.sleep(0.01)
        assert left() == set()


def test_workers_n_leaves_nothing_for_the_exit_hook_of_concurrent_futures():
    # the pool's management thread, still joining its processes when the call returns, is
    # taken out of the registry that concurrent.futures.process's exit hook wakes without a
    # lock (a process ending right then printed "OSError: [Errno 9] Bad file descriptor")
    from concurrent.futures import process

    before = set(process._threads_wakeups)
    with deadline(60):
        fd.gradient(counts_children_at_x, X4, workers=2)
    assert set(process._threads_wakeups) - before == set()


def test_a_process_that_exits_right_after_workers_n_prints_nothing():
    code = (
        "import numpy as np, fastdiff\n"
        "r = fastdiff.derivative(np.sin, np.array([0.0, 0.5]), workers=2)\n"
        "assert r.success.all()\n"
    )
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
        )
        assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_an_unpicklable_f_for_a_process_pool_says_so():
    with deadline(30), pytest.raises(TypeError, match=r"cannot be pickled.*dask\.distributed"):
        fd.gradient(lambda v: float(np.sum(v)), X4, workers=2)
    lock = threading.Lock()
    with deadline(30), pytest.raises(TypeError, match="cannot be pickled"):
        fd.derivative(ignores_extra, 0.5, args=(lock,), workers=2)


@pytest.mark.parametrize(
    ("workers", "exc", "rule"),
    [
        (0, ValueError, "a positive int"),
        (-3, ValueError, "a positive int"),
        (True, TypeError, "None, a positive int, a map-like callable"),
        (2.5, TypeError, "None, a positive int, a map-like callable"),
        ("threads", TypeError, "None, a positive int, a map-like callable"),
    ],
)
def test_bad_workers_values_name_workers(workers, exc, rule):
    for call in (
        lambda: fd.derivative(np.sin, 0.5, workers=workers),
        lambda: fd.gradient(rosen, X4, workers=workers),
        lambda: fd.hessian(rosen, X4, workers=workers),
        lambda: fd.jvp(vec2, X4[:2], X4[:2], workers=workers),
    ):
        with pytest.raises(exc, match=f"`workers` must be {rule}"):
            call()


def test_dual_rejects_workers_and_checks_progress(threads):
    for call in (
        lambda **k: fd.derivative(np.sin, 0.5, method="dual", **k),
        lambda **k: fd.gradient(rosen, X4, method="dual", **k),
        lambda **k: fd.jvp(vec2, X4[:2], X4[:2], method="dual", **k),
    ):
        with pytest.raises(ValueError, match="`workers` must be None for method='dual'"):
            call(workers=threads)
        with pytest.raises(TypeError, match="`progress` must be True or False"):
            call(progress="yes")
        assert np.all(call(progress=True).success)


def test_bad_progress_values_name_progress():
    with pytest.raises(TypeError, match="`progress` must be True or False"):
        fd.gradient(rosen, X4, progress=1)


# --------------------------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("verb", ["derivative", "gradient", "hessian"])
def test_progress_writes_stderr_only_and_changes_nothing(verb, capsys):
    pytest.importorskip("tqdm")
    f, x = (np.exp, np.array([0.3, 1.0])) if verb == "derivative" else (rosen, X4)
    ref = getattr(fd, verb)(f, x)
    res = getattr(fd, verb)(f, x, progress=True)
    same(ref, res)
    out, err = capsys.readouterr()
    assert out == ""
    assert "fastdiff" in err


def test_progress_without_tqdm_falls_back_to_plain_lines(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now raises ImportError
    ref = fd.gradient(rosen, X4)
    res = fd.gradient(rosen, X4, progress=True)
    same(ref, res)
    out, err = capsys.readouterr()
    assert out == ""
    assert f"({res.nfev} in all)" in err and err.endswith("\n")


def test_nothing_is_printed_to_stdout_by_processes_or_dask(capsys, dask_client):
    with deadline(60):
        fd.gradient(rosen, X4, workers=2, progress=True)
        fd.gradient(rosen, X4, workers=dask_client)
    assert capsys.readouterr().out == ""


DOCS_PAGE = pathlib.Path(__file__).resolve().parent.parent / "docs" / "expensive.md"


@pytest.mark.skipif(not DOCS_PAGE.exists(), reason="docs/ is not beside this tests/ copy")
def test_the_expensive_functions_page_example_runs(tmp_path):
    text = DOCS_PAGE.read_text()
    block = text.split("<!-- expensive-example -->", 1)[1].split("```python\n", 1)[1]
    script = tmp_path / "example.py"
    script.write_text(block.split("```", 1)[0])
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert "bitwise identical: True" in out


def test_honesty_study_cases_are_bitwise_the_same_through_workers(threads):
    # the whole study (n <= 6, every variant, three methods: 22 032 comparisons with threads
    # and threads.map) matched when this was written; here a slice of it stays as a net
    honesty = pytest.importorskip("honesty")
    for method in ("central", "backward"):
        for name, x, n, variant in honesty.cases(nmax=2, variants=("noisy-undeclared",)):
            f = honesty.numpy_f(name, variant)
            same(
                fd.derivative(f, x, n=n, method=method),
                fd.derivative(f, x, n=n, method=method, workers=threads),
            )


def test_an_f_the_dask_workers_cannot_load_fails_clearly_not_a_hang(dask_client, tmp_path):
    # f from a module only this process can import: the workers cannot unpickle it
    (tmp_path / "only_here_mod.py").write_text("def f(x):\n    return float(sum(x))\n")
    sys.path.insert(0, str(tmp_path))
    try:
        import only_here_mod

        with deadline(60), pytest.raises(RuntimeError, match="could not load `f`"):
            fd.gradient(only_here_mod.f, X4, workers=dask_client)
        # the same when f is scattered to the workers (large args) instead of sent with blocks
        big = np.zeros(1 << 18)  # 2 MiB: past DASK_SCATTER_BYTES on two workers
        with deadline(60), pytest.raises(RuntimeError, match="could not load `f`"):
            fd.gradient(ignores_big, X4, args=(only_here_mod.f, big), workers=dask_client)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("only_here_mod", None)


def _count_load():
    """Unpickling a CountsLoads on a Dask worker: one more load on that worker."""
    import distributed

    worker = distributed.get_worker()
    worker.fastdiff_test_loads = getattr(worker, "fastdiff_test_loads", 0) + 1
    return CountsLoads()


class CountsLoads:
    """An argument of f that counts, on each Dask worker, how often it was unpickled."""

    def __reduce__(self):
        return (_count_load, ())


def sum_squares_with(x, counter, big=None):
    return float(np.sum(x**2))


def ignores_big(x, g, big):
    return float(np.sum(x**2))


@pytest.mark.parametrize("scattered", [False, True], ids=["with-blocks", "scattered"])
def test_dask_workers_load_f_once_per_call(dask_client, scattered):
    # f, args and kwargs reach each worker once per verb call: a small pickle rides with the
    # blocks and the worker keeps it loaded by the call's token; a large one (here 2 MiB of
    # args on two workers) is scattered once and freed after the call
    big = np.zeros(1 << 18) if scattered else None
    assert (big is not None and big.nbytes * 2 > _evaluate.DASK_SCATTER_BYTES) == scattered

    def reset(dask_worker):
        dask_worker.fastdiff_test_loads = 0

    def loads(dask_worker):
        return getattr(dask_worker, "fastdiff_test_loads", 0)

    x = np.linspace(-1.0, 1.0, 6)
    with deadline(60):
        ref = fd.gradient(sum_squares_with, x, args=(CountsLoads(), big))
        for _ in range(2):  # a second call loads afresh: nothing is kept across calls
            dask_client.run(reset)
            with RecordingClient(dask_client) as spy:
                res = fd.gradient(sum_squares_with, x, args=(CountsLoads(), big),
                                  workers=dask_client)  # fmt: skip
            same(ref, res)
            per_worker = dask_client.run(loads)
            assert spy.blocks >= 2 * len(per_worker)  # two levels or more, a block per worker
            assert all(n <= 1 for n in per_worker.values()), per_worker
            assert 1 <= sum(per_worker.values()) <= len(per_worker)
        # nothing of the calls stays on the cluster (Dask releases it asynchronously)
        for _ in range(100):
            if not any(dask_client.has_what().values()):
                break
            time.sleep(0.1)
        assert not any(dask_client.has_what().values())


class RecordingClient:
    """Counts the blocks a Dask client is given (wraps client.map for one block)."""

    def __init__(self, client):
        self.client, self.blocks = client, 0

    def __enter__(self):
        self.map = self.client.map

        def recording(func, *iterables, **kwargs):
            self.blocks += len(iterables[0])
            return self.map(func, *iterables, **kwargs)

        self.client.map = recording
        return self

    def __exit__(self, *exc):
        del self.client.map  # the class's method again


def test_a_users_process_pool_executor_and_multiprocessing_pool_map():
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ref = fd.hessian(rosen, X4)
    with deadline(60), ProcessPoolExecutor(2) as pool:
        same(ref, fd.hessian(rosen, X4, workers=pool))
        with pytest.raises(TypeError, match="cannot be pickled"):
            fd.gradient(lambda v: float(np.sum(v)), X4, workers=pool)
    with deadline(60), multiprocessing.get_context().Pool(2) as mpool:
        same(ref, fd.hessian(rosen, X4, workers=mpool.map))
        with pytest.raises(TypeError, match="cannot be pickled"):
            fd.gradient(lambda v: float(np.sum(v)), X4, workers=mpool.map)


def test_a_dead_dask_worker_gives_an_error_naming_it(dask_client):
    # last in the module: the cluster replaces the worker afterwards
    distributed = pytest.importorskip("distributed")
    with deadline(90), pytest.raises(distributed.scheduler.KilledWorker):
        fd.gradient(dies_away_from_x, X4, workers=dask_client)


def test_a_vectorized_sum_is_never_called_on_a_lone_point():
    # NumPy sums the rows of an (n, 1) array pairwise and those of an (n, k >= 2) array one
    # row at a time: f(x) alone differed from f(x) in a batch by 12 eps |f|, which the ladder
    # read as a signal (trusted entries missed their bars by up to 1.8x; 73k evaluations
    # against 30k looped). Oracle: the analytic diagonal of Rosenbrock's Hessian.
    n = 5000

    def rosen_columns(X):
        return np.sum(100.0 * (X[1:] - X[:-1] ** 2) ** 2 + (1.0 - X[:-1]) ** 2, axis=0)

    x = np.random.default_rng(0).uniform(-1.5, 1.5, n)
    exact = np.zeros(n)
    exact[:-1] += 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    exact[1:] += 200.0
    res = fd.hessdiag(rosen_columns, x, vectorized=True)
    assert res.success.all()
    assert np.all(np.abs(res.df - exact) <= res.error)
    assert res.nfev == fd.hessdiag(lambda v: rosen_columns(v[:, None])[0], x).nfev
