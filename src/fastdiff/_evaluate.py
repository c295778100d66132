"""The one place that calls f: looped, vectorized, batched under a memory bound, and `workers`.

Every verb asks this module for f's values at a batch of points: one ladder level over every
element, coordinate and pair. Serially, looped f runs in the compiled loops of
`_kernels._finite_diff` (one Python call per point, no array bookkeeping) and vectorized f
in calls of at most `batch_bytes` of input. With `workers`, the same batch is cut into one
block per worker (still under the memory bound), the blocks go out together, and the raw
values come back in order. They are then read by the same compiled code as the serial values
(a "replay" of them), so every check and error message on f's output is shared, and the
result is bitwise the serial one: the points are the same floats, and so are the values.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pickle
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from fastdiff import _steps
from fastdiff._kernels import _finite_diff
from fastdiff._kernels._finite_diff import OutputShapeError, ValueKindError
from fastdiff._validation import fail

#: Default memory for one call of a vectorized f in the multivariate verbs: its input batch
#: of shape S + (k,) is kept under this many bytes, so a gradient in n dimensions needs O(n)
#: memory, not O(n^2).
DEFAULT_BATCH_BYTES = 1 << 24
#: derivative(): the same bound for scalar points, 2**20 float64 points (8 MiB) per call.
SCALAR_BATCH_BYTES = 8 * _steps.DEFAULT_BATCH_POINTS
_FLOAT64 = np.dtype(np.float64)


@lru_cache(maxsize=32)
def value_eps(dt: np.dtype) -> float:
    """The precision f's values of dtype dt carry (numbers: kinds b, i, u, f, c): eps of a
    float or complex dtype, at least float64's; float64's for the others."""
    eps = np.finfo(dt).eps if dt.kind in "fc" else np.finfo(np.float64).eps
    return max(float(eps), float(np.finfo(np.float64).eps))


# --------------------------------------------------------------------------------------------
# The batching policy
# --------------------------------------------------------------------------------------------


def spans(k: int, point_bytes: int, batch_bytes: int, nworkers: int = 1) -> list[tuple[int, int]]:
    """[s, e) spans over k points: at most batch_bytes of input each (at least one point).

    With several workers, the spans are a multiple of nworkers in number (where k allows)
    and differ in size by at most one point, so that every worker gets the same share of
    the batch and no lone short block waits for a round of its own: 10 points on 4 workers
    are 3, 3, 2, 2 (not 3, 3, 3, 1), and 10 points at most 4 a block on 2 workers are 3, 3,
    2, 2 (two rounds of 5 points, where 4, 4, 2 took 4 + 2 on one worker)."""
    per = max(1, batch_bytes // max(point_bytes, 1))
    if nworkers <= 1:
        return [(s, min(s + per, k)) for s in range(0, k, per)]
    rounds = -(-k // per)  # blocks the memory bound needs
    nblocks = min(k, -(-rounds // nworkers) * nworkers)
    if nblocks == 0:
        return []
    size, extra = divmod(k, nblocks)  # the first `extra` blocks get one point more
    bounds = [b * size + min(b, extra) for b in range(nblocks + 1)]
    return list(itertools.pairwise(bounds))


# --------------------------------------------------------------------------------------------
# Work sent to the workers
# --------------------------------------------------------------------------------------------


class Task:
    """f on a block of points, as it would be called serially; picklable when f, args and
    kwargs are (a module-level f for a process pool; Dask sends it with cloudpickle).

    kind: "vectorized" (the block is one input of f), "real" / "complex" (a 1-D block of
    scalar points, f called with a Python float / complex each), "array" (a block (k, *S) of
    points, f called with a fresh array of shape S each). Returns f's raw output(s)."""

    __slots__ = ("args", "f", "kind", "kwargs")

    def __init__(self, f: Callable[..., Any], args: tuple, kwargs: dict | None, kind: str):
        self.f, self.args, self.kwargs, self.kind = f, args, kwargs, kind

    def __getstate__(self) -> tuple:
        return self.f, self.args, self.kwargs, self.kind

    def __setstate__(self, state: tuple) -> None:
        self.f, self.args, self.kwargs, self.kind = state

    def call(self, xin: Any) -> Any:
        if self.kwargs:
            return self.f(xin, *self.args, **self.kwargs)
        return self.f(xin, *self.args)

    def __call__(self, block: np.ndarray) -> Any:
        # as around the serial calls: stencils probe f near domain edges on purpose, and
        # NumPy's error state is per thread (a worker starts from the default)
        with np.errstate(all="ignore"):
            return self._run(block)

    def _run(self, block: np.ndarray) -> Any:
        if self.kind == "vectorized":
            return np.asarray(self.call(block))
        if self.kind == "real":
            return [self.call(float(p)) for p in block]
        if self.kind == "complex":
            return [self.call(complex(p)) for p in block]
        return [self.call(block[c].copy()) for c in range(block.shape[0])]


def _replay(values: Sequence[Any]) -> Callable[..., Any]:
    """A stand-in for f that returns precomputed values in order, whatever it is called with,
    so the compiled loops read values from workers exactly as they read f's own."""
    it = iter(values)

    def f(*_: Any, **__: Any) -> Any:
        return next(it)

    return f


# --------------------------------------------------------------------------------------------
# Workers
# --------------------------------------------------------------------------------------------


def _is_dask_client(obj: Any) -> bool:
    t = type(obj)
    return t.__name__ == "Client" and t.__module__.split(".")[0] == "distributed"


def check_progress(progress: Any) -> bool:
    if not isinstance(progress, bool | np.bool_):
        raise fail("progress", "True or False", progress, TypeError)
    return bool(progress)


def check_workers(workers: Any, progress: Any) -> Runner | None:
    """`workers` and `progress` as a Runner, or None for the plain serial path."""
    if workers is None and progress is False:  # the default: nothing to set up
        return None
    check_progress(progress)
    if workers is None:
        return Runner("serial", None, 1, bool(progress)) if progress else None
    if isinstance(workers, bool):
        raise fail(
            "workers",
            "None, a positive int, a map-like callable, a concurrent.futures.Executor or a "
            "dask.distributed.Client",
            workers,
            TypeError,
        )
    if isinstance(workers, int | np.integer):
        if workers < 1:
            raise fail("workers", "a positive int (the number of processes)", workers)
        return Runner("processes", None, int(workers), bool(progress))
    from concurrent.futures import Executor

    if isinstance(workers, Executor):
        n = getattr(workers, "_max_workers", None)
        return Runner("executor", workers, int(n) if n else os.cpu_count() or 1, bool(progress))
    if _is_dask_client(workers):
        try:
            n = sum(workers.nthreads().values())
        except Exception as exc:  # a closed client
            raise fail("workers", "a running dask.distributed.Client", workers) from exc
        if n < 1:
            raise fail("workers", "a dask.distributed.Client with at least one worker", workers)
        return Runner("dask", workers, n, bool(progress))
    if callable(workers):
        owner = getattr(workers, "__self__", None)
        n = getattr(owner, "_processes", None) or getattr(owner, "_max_workers", None)
        return Runner("map", workers, int(n) if n else os.cpu_count() or 1, bool(progress))
    raise fail(
        "workers",
        "None, a positive int, a map-like callable, a concurrent.futures.Executor or a "
        "dask.distributed.Client",
        workers,
        TypeError,
    )


def _sends_by_pickle(kind: str, obj: Any) -> bool:
    """Whether f reaches the workers through the standard pickle (a process pool)."""
    if kind == "processes":
        return True
    from concurrent.futures import ProcessPoolExecutor

    if kind == "executor":
        return isinstance(obj, ProcessPoolExecutor)
    if kind == "map":
        import multiprocessing.pool

        owner = getattr(obj, "__self__", None)
        return isinstance(owner, multiprocessing.pool.Pool) and not isinstance(
            owner, multiprocessing.pool.ThreadPool
        )
    return False


def _shut_down(pool: Any, wait: bool) -> None:
    """Shut down a pool of workers=n; without `wait` (nothing is pending: the call
    succeeded), return before its processes have exited.

    Without waiting, the workers are told to exit and the pool's management thread joins
    them while the caller goes on: waiting for them cost 4-5 ms of a 16-D gradient's ~175 ms
    with workers=2 (1.77 -> 1.82x serial, tools/parallel_speedup.py). The thread is then
    taken out of concurrent.futures.process's registry of threads to wake at interpreter
    exit: its wakeup pipe is closed by the thread itself (under the pool's lock), and the
    exit hook writes to it without that lock, so a process that ended right after such a
    call could print "Exception ignored ... OSError: [Errno 9] Bad file descriptor" (CPython
    3.11-3.13, seen here in `python -m fastdiff ... --workers 2`). The thread is not a
    daemon, so the interpreter still joins it at exit. Where the registry is not there, or
    the thread is a daemon (the interpreter would not join it), the call waits."""
    from concurrent.futures import process

    registry = getattr(process, "_threads_wakeups", None)
    thread = getattr(pool, "_executor_manager_thread", None)
    if wait or registry is None or thread is None or thread.daemon:
        pool.shutdown(wait=True, cancel_futures=True)
        return
    pool.shutdown(wait=False, cancel_futures=True)  # (wakes the thread, under the lock)
    registry.pop(thread, None)


class Runner:
    """How the blocks of a batch reach f: in this thread, or through `workers`. A context
    manager for one verb call: a pool it creates (workers=n) starts on entry, before f(x),
    and is shut down on exit; f scattered to a Dask cluster is released; the progress bar
    is closed."""

    def __init__(self, kind: str, obj: Any, n: int, progress: bool) -> None:
        self.kind, self.obj, self.n = kind, obj, n
        self.parallel = kind != "serial"
        self.want_progress = progress
        self.progress: _Progress | None = None  # made at the first batch
        self._pool: Any = None
        self._checked: set[int] = set()
        # Dask: (f, args, kwargs) by identity -> (the triple, its token, its payload)
        self._shipped: dict[tuple[int, int, int], tuple[tuple, str, Any]] = {}
        # Dask: the futures of the levels run so far, released together on exit. Released
        # level by level, they put a message on the client's batched stream to the scheduler
        # after each level, and the next level's tasks then wait out its 10 ms send interval
        # (distributed.batched.BatchedSend): 16-D gradient, 2 workers, 5 % of the call.
        self._held: list[Any] = []

    def __enter__(self) -> Runner:
        if self.kind == "processes":
            # start every worker now, so that their start-up (a fork, or a fresh interpreter
            # importing fastdiff and NumPy) overlaps f(x) and the set-up of the first level
            # in this process, instead of delaying the first level's blocks
            self._start_pool()
        return self

    def _start_pool(self) -> Any:
        """The process pool of workers=n, started (once per call)."""
        if self._pool is None:
            from concurrent.futures import ProcessPoolExecutor

            # the platform's start method (multiprocessing.set_start_method chooses another)
            self._pool = ProcessPoolExecutor(self.n)
            for _ in range(self.n):  # a process per submit, where processes start on demand
                self._pool.submit(_ready)
        return self._pool

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if self._pool is not None:
            if exc_type is not None:
                # after a failure, stop the blocks still running (they belong to this call
                # alone), so that the error is raised now, not after the slowest block
                _terminate_workers(self._pool)
            # after a failure the error is raised with the call's processes gone
            _shut_down(self._pool, wait=exc_type is not None)
            self._pool = None
        self._shipped.clear()  # drops the scattered payloads: Dask frees them on the workers
        self._held.clear()  # and the levels' results
        if self.progress is not None:
            self.progress.close()

    def count(self, npoints: int) -> None:
        """One level's batch of npoints evaluations (for the progress bar)."""
        if self.want_progress:
            if self.progress is None:
                self.progress = _Progress()
            self.progress.level(npoints)

    def map(self, task: Task, blocks: list[Any]) -> list[Any]:
        """task over blocks, results in order; f's exceptions propagate unchanged."""
        if not self.parallel or not blocks:
            return [task(b) for b in blocks]
        if _sends_by_pickle(self.kind, self.obj) and id(task.f) not in self._checked:
            _check_picklable(task, self.kind)
            self._checked.add(id(task.f))
        if self.kind == "map":
            return list(self.obj(task, blocks))
        if self.kind == "dask":
            return self._dask(task, blocks)
        return self._futures(
            self._start_pool() if self.kind == "processes" else self.obj, task, blocks
        )

    def _futures(self, pool: Any, task: Task, blocks: list[Any]) -> list[Any]:
        from concurrent.futures.process import BrokenProcessPool

        futures = [pool.submit(task, b) for b in blocks]
        try:
            return [fut.result() for fut in futures]
        except BrokenProcessPool as exc:
            raise BrokenProcessPool(
                f"a worker process of `workers`={self._name()} died while evaluating f (killed, "
                "out of memory, a crash in compiled code or os._exit in f); its points are "
                "lost. Run f serially (workers=None) to see what happens to it."
            ) from exc
        finally:
            for fut in futures:
                fut.cancel()

    def _dask(self, task: Task, blocks: list[Any]) -> list[Any]:
        client = self.obj
        # the payload stays out of this frame's locals: a traceback that keeps the frame
        # alive must not keep a scattered payload on the cluster after the call
        futures = client.map(_run_shipped, blocks, kind=task.kind, pure=False, **self._ship(task))
        try:
            values = client.gather(futures)
            self._held.extend(futures)
            return values
        except BaseException:
            # stop the blocks still running, so that the error is raised now; after a
            # success the futures are released on exit, asynchronously (a cancel is a
            # blocking round trip to the scheduler: 1.5 ms a level here)
            client.cancel(futures)
            raise

    def _ship(self, task: Task) -> dict[str, Any]:
        """{token, payload} of task's f, args and kwargs on the Dask cluster, made once per
        verb call. The payload is their cloudpickle bytes, which a worker loads inside the
        task (once per call, then from its cache by token): a worker that cannot load f
        (f's module not installed there) then fails the task with a clear error, where Dask
        itself would drop the message and leave the task pending. A large payload is
        scattered to every worker once, a small one goes with each block, which is cheaper
        than the scatter's extra round trip to the scheduler."""
        key = (id(task.f), id(task.args), id(task.kwargs))
        if key not in self._shipped:
            import uuid

            import cloudpickle

            triple = (task.f, task.args, task.kwargs)  # kept: their ids stay theirs
            payload: Any = cloudpickle.dumps(triple)
            if len(payload) * self.n > DASK_SCATTER_BYTES:
                payload = self.obj.scatter(_Scattered(payload), broadcast=True, hash=False)
            self._shipped[key] = (triple, uuid.uuid4().hex, payload)
        _, token, payload = self._shipped[key]
        return {"token": token, "payload": payload}

    def _name(self) -> str:
        return str(self.n) if self.kind == "processes" else repr(self.obj)


def _ready() -> None:
    """The warm-up task of a process pool's worker (unpickling it imports this module)."""


def _terminate_workers(pool: Any) -> None:
    """Stop the worker processes of a ProcessPoolExecutor this module made."""
    stop = getattr(pool, "terminate_workers", None)  # Python >= 3.14
    if stop is not None:
        stop()
        return
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):  # it may have exited already
            proc.terminate()


#: Dask: f, args and kwargs whose pickle, times the number of workers (the copies one level
#: sends), is larger than this are scattered to the workers once per call; smaller ones go
#: with every block (a scatter costs a round trip to the scheduler before the first level).
DASK_SCATTER_BYTES = 1 << 20

#: On a Dask worker: f, args and kwargs of the last few verb calls that sent them with every
#: block (each pickle under DASK_SCATTER_BYTES / workers), loaded, by the call's token.
_LOADED: OrderedDict[str, tuple] = OrderedDict()
_LOADED_MAX = 8
_LOADED_LOCK = threading.Lock()


class _Scattered:
    """The pickle of f, args and kwargs, scattered to every Dask worker once per call. The
    worker holds this one object for all the call's tasks and keeps the loaded triple on it,
    so it is loaded once per worker and freed with the call (when Dask drops the data)."""

    __slots__ = ("data", "loaded")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.loaded: tuple | None = None

    def __getstate__(self) -> bytes:
        return self.data

    def __setstate__(self, data: bytes) -> None:
        self.data, self.loaded = data, None


def _load(data: bytes) -> tuple:
    try:
        return pickle.loads(data)
    except Exception as exc:
        raise RuntimeError(
            f"a Dask worker could not load `f` ({type(exc).__name__}: {exc}): the modules f "
            "comes from must be importable on every worker (install them there, or have "
            "cloudpickle send f's module by value: cloudpickle.register_pickle_by_value)."
        ) from exc


def _run_shipped(block: Any, token: str, payload: bytes | _Scattered, kind: str) -> Any:
    """On a Dask worker: f, args and kwargs (loaded once per call and worker), on block."""
    if isinstance(payload, _Scattered):
        if payload.loaded is None:
            payload.loaded = _load(payload.data)
        f, args, kwargs = payload.loaded
        return Task(f, args, kwargs, kind)(block)
    with _LOADED_LOCK:
        triple = _LOADED.get(token)
        if triple is not None:
            _LOADED.move_to_end(token)
    if triple is None:
        triple = _load(payload)
        with _LOADED_LOCK:
            _LOADED[token] = triple
            while len(_LOADED) > _LOADED_MAX:
                _LOADED.popitem(last=False)
    f, args, kwargs = triple
    return Task(f, args, kwargs, kind)(block)


def run(runner: Runner | None, fn: Callable[..., Any], *args: Any) -> Any:
    """fn(*args) inside the runner's context (a pool it made is shut down and the progress
    bar closed, even on failure), or plainly when there is no runner."""
    if runner is None:
        return fn(*args)
    with runner:
        return fn(*args)


def _check_picklable(task: Task, kind: str) -> None:
    try:
        pickle.dumps(task)
    except Exception as exc:
        raise TypeError(
            f"`f` (with its args and kwargs) cannot be pickled, so it cannot be sent to a "
            f"process pool (`workers`): {type(exc).__name__}: {exc}. Define f at module level "
            "(not a lambda or a nested function), or pass workers=a "
            "concurrent.futures.ThreadPoolExecutor (f stays in this process) or a "
            "dask.distributed.Client (it sends f with cloudpickle)."
        ) from exc


class _Progress:
    """Evaluations per level on stderr: tqdm when installed, else one plain line per level."""

    def __init__(self) -> None:
        self.levels = 0
        self.total = 0
        self.bar: Any = None
        try:
            from tqdm import tqdm
        except ImportError:
            tqdm = None
        if tqdm is not None:
            self.bar = tqdm(desc="fastdiff", unit="eval", file=sys.stderr, leave=False)

    def level(self, npoints: int) -> None:
        self.levels += 1
        self.total += npoints
        if self.bar is not None:
            self.bar.set_postfix_str(f"level {self.levels}: {npoints}", refresh=False)
            self.bar.update(npoints)
        else:
            sys.stderr.write(
                f"\rfastdiff: level {self.levels}, {npoints} evaluations ({self.total} in all)"
            )
            sys.stderr.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.levels:
            sys.stderr.write("\n")
            sys.stderr.flush()


# --------------------------------------------------------------------------------------------
# Scalar points: derivative()
# --------------------------------------------------------------------------------------------


def reword(exc: ValueKindError, what: str) -> Exception:
    """The compiled loops' ValueKindError as the message users see."""
    detail = exc.args[0]
    if detail == "complex":
        return TypeError(
            f"`f` returned a complex value at some points but a real value at x[0] ({what})."
        )
    if isinstance(detail, tuple):
        return ValueError(
            f"`f` must return one number per point; got an array of shape {detail} ({what}). "
            "For vector-valued f use fastdiff.jacobian."
        )
    return TypeError(f"`f` must return numbers; got {detail} ({what}).")


class ScalarEvaluator:
    """f at scalar points (derivative): looped, vectorized in batches, through workers."""

    __slots__ = ("args", "f", "kwargs", "parallel", "runner", "vectorized")

    def __init__(
        self,
        f: Callable[..., Any],
        args: tuple,
        kwargs: dict | None,
        vectorized: bool,
        runner: Runner | None,
    ):
        self.f, self.args, self.kwargs, self.vectorized = f, args, kwargs, vectorized
        self.runner = runner
        self.parallel = runner is not None and runner.parallel

    def call(self, xv: Any) -> Any:
        if self.kwargs:
            return self.f(xv, *self.args, **self.kwargs)
        return self.f(xv, *self.args)

    def _pool(self) -> Runner:
        """The runner of a call through workers or with progress (never None there)."""
        assert self.runner is not None
        return self.runner

    def _checked(self, y: Any, pts: np.ndarray) -> np.ndarray:
        y = np.asarray(y)
        if y.shape != pts.shape:
            raise ValueError(
                "`f` must return an array of the same shape as its input when vectorized=True; "
                f"got shape {y.shape} for input shape {pts.shape}."
            )
        if y.dtype.kind not in "biufc":
            raise TypeError(f"`f` must return numbers; got an array of dtype {y.dtype}.")
        return y

    def vectorized_call(self, pts: np.ndarray) -> np.ndarray:
        """One call of a vectorized f on all of pts, checked."""
        return self._checked(self.call(pts), pts)

    def _vectorized_blocks(self, pts: np.ndarray, batch_bytes: int) -> Iterator[tuple]:
        """(s, e, values) of a vectorized f over pts (1-D) in memory-bounded blocks."""
        nw = self._pool().n if self.parallel else 1
        sp = spans(pts.size, 8 * (2 if pts.dtype.kind == "c" else 1), batch_bytes, nw)
        if not self.parallel:
            for s, e in sp:
                yield s, e, self.vectorized_call(pts[s:e])
            return
        blocks = [pts[s:e] for s, e in sp]
        raw = self._pool().map(Task(self.f, self.args, self.kwargs, "vectorized"), blocks)
        for (s, e), b, y in zip(sp, blocks, raw, strict=True):
            yield s, e, self._checked(y, b)

    def batched(self, pts: np.ndarray, ncomp: int, out: np.ndarray) -> np.ndarray:
        """Vectorized f at pts, in calls of at most SCALAR_BATCH_BYTES of points, into
        out[:pts.size * ncomp] (float64, (re, im) interleaved). out is reused across levels: a
        fresh multi-megabyte array per level costs page faults comparable to the arithmetic."""
        if self.runner is not None:
            self.runner.count(pts.size)
        out = out[: pts.size * ncomp]
        view = out.view(np.complex128) if ncomp == 2 else out
        for s, e, y in self._vectorized_blocks(pts, SCALAR_BATCH_BYTES):
            if ncomp == 1 and y.dtype.kind == "c":
                if np.any(y.imag != 0):
                    raise TypeError("`f` returned complex values at some points but real at x.")
                y = y.real
            view[s:e] = y
        return out

    def level_function(self, ncomp: int) -> Callable[[np.ndarray], np.ndarray]:
        """evaluate(points) -> f's values at the scalar points of one ladder level, float64
        ((re, im) interleaved when ncomp == 2): a vectorized f through `batched`, a looped
        one through `looped_rows`."""
        if not self.vectorized:
            return lambda pts: self.looped_rows(pts, ncomp)
        buffer = [np.empty(0)]

        def batched(pts: np.ndarray) -> np.ndarray:
            if buffer[0].size < pts.size * ncomp:
                buffer[0] = np.empty(pts.size * ncomp)
            return self.batched(pts, ncomp, buffer[0])

        if self.runner is not None or ncomp != 1:
            return batched
        f, args, kwargs = self.f, self.args, self.kwargs
        most = SCALAR_BATCH_BYTES // 8

        def evaluate(pts: np.ndarray) -> np.ndarray:
            # serial, real, one call: f's own array when it is float64 already (the checks
            # and values of `batched`, without its copy and per-block bookkeeping)
            if pts.size > most:
                return batched(pts)
            y = f(pts, *args, **kwargs) if kwargs else f(pts, *args)
            if type(y) is np.ndarray and y.dtype is _FLOAT64 and y.shape == pts.shape:
                return y  # the ladder makes it contiguous if it is not
            y = self._checked(y, pts)
            if y.dtype.kind == "c":
                if np.any(y.imag != 0):
                    raise TypeError("`f` returned complex values at some points but real at x.")
                y = y.real
            return np.ascontiguousarray(y, dtype=np.float64)

        return evaluate

    def looped_raw(self, pts: np.ndarray) -> list[Any]:
        """A looped f's raw values at the scalar points pts, through the runner."""
        kind = "complex" if pts.dtype.kind == "c" else "real"
        nw = self._pool().n if self.parallel else 1
        sp = spans(pts.size, 1, pts.size, nw)
        raw = self._pool().map(
            Task(self.f, self.args, self.kwargs, kind), [pts[s:e] for s, e in sp]
        )
        return [y for block in raw for y in block]

    def looped_rows(self, pts: np.ndarray, ncomp: int, first: Sequence[Any] = ()) -> np.ndarray:
        """A looped f at pts (values `first` already known for the leading points) as
        float64, (re, im) interleaved when ncomp == 2: the level path of a looped f."""
        self._pool().count(pts.size - len(first))
        values = [*first, *self.looped_raw(pts[len(first) :])]
        try:
            z = _finite_diff.eval_real_looped(_replay(values), (), None, pts)
        except ValueKindError as exc:
            raise reword(exc, "vectorized=False") from None
        if ncomp == 2:
            return z.view(np.float64)
        if np.any(z.imag != 0):
            raise reword(ValueKindError("complex"), "vectorized=False")
        return np.ascontiguousarray(z.real)

    def complex_values(self, pts: np.ndarray) -> np.ndarray:
        """f elementwise at real or complex points, as complex values; NaN where f returned a
        real number for a complex point (it dropped the imaginary part)."""
        if self.runner is not None:
            self.runner.count(pts.size)
        if self.vectorized:
            cplx = pts.dtype.kind == "c"
            if not self.parallel:  # one call, as f was always called here
                y = self.vectorized_call(pts)
                if cplx and y.dtype.kind != "c":
                    return np.full(pts.shape, complex(np.nan, np.nan))
                return y.astype(np.complex128)
            out = np.empty(pts.size, dtype=np.complex128)
            for s, e, y in self._vectorized_blocks(pts.reshape(-1), 1 << 62):
                out[s:e] = complex(np.nan, np.nan) if cplx and y.dtype.kind != "c" else y
            return out.reshape(pts.shape)
        f, args, kwargs = self.f, self.args, self.kwargs
        pts = np.ascontiguousarray(pts)
        if self.parallel:
            f, args, kwargs = _replay(self.looped_raw(pts)), (), None
        looped = (
            _finite_diff.eval_complex_looped
            if pts.dtype.kind == "c"
            else _finite_diff.eval_real_looped
        )
        try:
            return looped(f, args, kwargs, pts)
        except ValueKindError as exc:
            raise reword(exc, "vectorized=False") from None


# --------------------------------------------------------------------------------------------
# Array points: the multivariate verbs
# --------------------------------------------------------------------------------------------


def _two_or_more(X: np.ndarray) -> np.ndarray:
    """A vectorized f's points X (N, k), with a lone point sent twice (k = 2). NumPy reduces
    the rows of an (N, 1) array pairwise but those of an (N, k >= 2) array one row at a time,
    so a vectorized f that sums over x (a Rosenbrock of 5000 terms) gives f(x) alone and f(x)
    in a batch values that differ by 12 eps |f|, beyond the eps |f| rounding the ladder
    assumes: the difference reads as a signal (hessdiag vectorized missed its bar by 1.8x).
    Every call then sees the same reduction. The copy is dropped and not counted: nfev counts
    the points at which f was evaluated, the same looped, vectorized and through workers
    (whose blocks split a level differently)."""
    return np.repeat(X, 2, axis=1) if X.shape[1] == 1 else X


class PointEvaluator:
    """Calls f at copies of x with one or two coordinates replaced, or along a line, or at
    given points; counts the points in nfev."""

    def __init__(self, a: Any) -> None:
        self.a = a
        self.shape = a.x.shape
        self.base = np.ascontiguousarray(a.x.ravel())
        self.nfev = 0
        self.fshape: tuple[int, ...] = ()
        self.m = 1  # entries of f's output
        self.ncomp = 1
        self.runner: Runner | None = a.workers
        self.parallel = self.runner is not None and self.runner.parallel
        # `at`'s short path: vectorized f, no runner, a level of at most one_batch points
        self.serial_vectorized = bool(a.vectorized) and self.runner is None
        self.one_batch = a.batch_bytes // (8 * max(self.base.size, 1))

    def call(self, xin: np.ndarray) -> Any:
        a = self.a
        if a.kwargs:
            return a.f(xin, *a.args, **a.kwargs)
        return a.f(xin, *a.args)

    def _pool(self) -> Runner:
        """The runner of a call through workers or with progress (never None there)."""
        assert self.runner is not None
        return self.runner

    def _count(self, k: int) -> None:
        self.nfev += k
        if self.runner is not None:
            self.runner.count(k)

    def probe(self, i1=None, v1=None) -> tuple[np.ndarray, float, np.ndarray | None]:
        """f(x): learns F, the output kind and its precision; returns (f(x), eps, extra).

        With vectorized f, points where coordinate i1 is v1 can ride along in the same call
        (the first level's, saving a call of f); extra then holds their rows, else None.
        """
        extra = None
        if self.a.vectorized:
            k = 1 if i1 is None else 1 + len(i1)
            if k > 1:  # column 0 is x itself
                X = _finite_diff.point_columns(
                    self.base,
                    np.ascontiguousarray(i1, dtype=np.intp),
                    np.ascontiguousarray(v1, dtype=np.float64),
                    lead=1,
                )
            else:
                X = np.repeat(self.base[:, None], 2, axis=1)  # see _two_or_more
            y = np.asarray(self.call(X.reshape(*self.shape, X.shape[1])))
            if y.ndim == 0 or y.shape[-1] != X.shape[1]:
                raise ValueError(
                    "`f` must return an array of shape F + (k,) when vectorized=True, for "
                    f"input of shape S + (k,); got shape {y.shape} for input shape "
                    f"{(*self.shape, X.shape[1])}."
                )
            y, rest = y[..., 0], y[..., 1:k]
        else:
            y = np.asarray(self.call(self.a.x.copy()))
        if y.dtype.kind not in "biufc":
            raise TypeError(f"`f` must return numbers; got {y.dtype} from f(x).")
        self._count(1)
        self.fshape = y.shape
        self.m = y.size
        self.ncomp = 2 if y.dtype.kind == "c" else 1
        if i1 is not None and self.a.vectorized:
            extra = self.rows(rest.reshape(self.m, k - 1).T)  # a row per point, (k - 1, m)
            self._count(len(i1))
        return y, value_eps(y.dtype), extra

    def rows(self, y: np.ndarray) -> np.ndarray:
        """Values (..., F) -> float64 rows of m * ncomp, (re, im) interleaved."""
        y = y.reshape(-1, self.m)
        if self.ncomp == 2:
            return np.ascontiguousarray(y.astype(np.complex128)).view(np.float64)
        if y.dtype.kind == "c":
            if np.any(y.imag != 0):
                raise TypeError("`f` returned complex values at some points but real at x.")
            y = y.real
        return np.ascontiguousarray(y, dtype=np.float64)

    def rows_complex(self, rows: np.ndarray) -> np.ndarray:
        """Rows of m * ncomp floats -> (K, m) complex."""
        if self.ncomp == 2:
            return rows.view(np.complex128)
        return rows.astype(np.complex128)

    def _looped_raw(self, X: np.ndarray) -> list[Any]:
        """A looped f's raw values at the points X (k, N), one block per worker."""
        k = X.shape[1]
        P = np.ascontiguousarray(X.T).reshape(k, *self.shape)
        sp = spans(k, 1, k, self._pool().n)
        raw = self._pool().map(
            Task(self.a.f, self.a.args, self.a.kwargs, "array"), [P[s:e] for s, e in sp]
        )
        return [y for block in raw for y in block]

    def at(self, i1, v1, i2=None, v2=None) -> np.ndarray:
        """f where coordinate i1 is v1 (and i2 is v2, where i2 >= 0): rows of m * ncomp."""
        if (
            self.serial_vectorized
            and type(i1) is np.ndarray
            and i1.dtype == np.intp
            and type(v1) is np.ndarray
            and v1.dtype == _FLOAT64
            and i1.size <= self.one_batch
            and (i2 is None or (type(i2) is np.ndarray and i2.dtype == np.intp))
        ):
            # the common small case (one batch, no runner), without the general path's
            # conversions: the same points, the same call of f and the same checks
            k = i1.size
            self.nfev += k
            if i2 is None:
                X = _finite_diff.point_columns(self.base, i1, v1)
            else:
                X = _finite_diff.point_columns(
                    self.base, i1, v1, i2, np.ascontiguousarray(v2, dtype=np.float64)
                )
            return self._one_batch_rows(X, k)
        i1 = np.asarray(i1, dtype=np.intp)
        v1 = np.asarray(v1, dtype=np.float64)
        self._count(i1.size)
        if not self.a.vectorized:
            if i2 is None:  # one coordinate per point, as eval_points_looped takes it
                v2 = None
            else:
                i2 = np.ascontiguousarray(i2, dtype=np.intp)
                v2 = np.ascontiguousarray(v2, dtype=np.float64)
            f, args, kwargs = self.a.f, self.a.args, self.a.kwargs
            if self.parallel:
                X = np.repeat(self.base[:, None], i1.size, axis=1)
                cols = np.arange(i1.size)
                X[i1, cols] = v1
                if i2 is not None:
                    two = i2 >= 0
                    X[i2[two], cols[two]] = v2[two]
                f, args, kwargs = _replay(self._looped_raw(X)), (), None
            try:
                return _finite_diff.eval_points_looped(
                    f,
                    args,
                    kwargs,
                    self.base,
                    self.shape,
                    np.ascontiguousarray(i1),
                    np.ascontiguousarray(v1),
                    i2,
                    v2,
                    self.fshape,
                    self.ncomp,
                )
            except OutputShapeError as exc:
                raise self._shape_error(exc.args[0]) from None
            except ValueKindError as exc:
                raise TypeError(f"`f` must return numbers; got {exc.args[0]}.") from None

        i1 = np.ascontiguousarray(i1)
        v1 = np.ascontiguousarray(v1)
        if i2 is not None:
            i2 = np.ascontiguousarray(i2, dtype=np.intp)
            v2 = np.ascontiguousarray(v2, dtype=np.float64)

        def columns(s: int, e: int) -> np.ndarray:
            if i2 is None:
                return _finite_diff.point_columns(self.base, i1[s:e], v1[s:e])
            return _finite_diff.point_columns(self.base, i1[s:e], v1[s:e], i2[s:e], v2[s:e])

        if not self.parallel and i1.size <= self.a.batch_bytes // (8 * max(self.base.size, 1)):
            return self.rows(self._batch(columns(0, i1.size)))  # one batch (see spans)
        out = np.empty((i1.size, self.m * self.ncomp))
        for s, e, y in self._vectorized(i1.size, columns):
            out[s:e] = self.rows(y)
        return out

    def _one_batch_rows(self, X: np.ndarray, k: int) -> np.ndarray:
        """rows(_batch(X)) for the k points X (N, k) of one batch (the short paths)."""
        if k == 1:
            X = np.repeat(X, 2, axis=1)  # see _two_or_more
        K = X.shape[1]
        y = self.call(X.reshape((*self.shape, K)))
        if (
            type(y) is np.ndarray
            and self.ncomp == 1
            and y.dtype.kind != "c"
            and y.shape == (*self.fshape, K)
        ):  # real output: `rows` of `_checked` without their reshapes and checks
            return np.ascontiguousarray(y.reshape(self.m, K).T[:k], dtype=np.float64)
        return self.rows(self._checked(y, K)[:k])

    def on_line(self, v: np.ndarray, t: np.ndarray, imag: bool = False) -> np.ndarray:
        """f(x + t v) (t real, or imaginary with imag=True): rows, or complex values."""
        if not imag and self.serial_vectorized and t.size <= self.one_batch:
            # the common small case: one batch of real points, as below (1.0 * t is t)
            self.nfev += t.size
            return self._one_batch_rows(self.base[:, None] + v[:, None] * t, t.size)
        self._count(t.size)
        dt = np.complex128 if imag else np.float64
        step = 1j if imag else 1.0
        if not self.a.vectorized:
            xs = [(self.base + (step * tk) * v).astype(dt).reshape(self.shape) for tk in t]
            outs: Iterable[Any] = (
                self._looped_raw(np.stack([p.reshape(-1) for p in xs], axis=1))
                if self.parallel
                else (self.call(xin) for xin in xs)
            )
            vals = []
            for y in outs:
                y = np.asarray(y)
                if y.shape != self.fshape:
                    raise self._shape_error(y.shape)
                vals.append(y)
            y = np.array(vals)
        elif self.serial_vectorized and t.size <= self.one_batch:  # one batch (see spans)
            y = self._batch(self.base[:, None] + v[:, None] * (step * t))
            y = y.reshape(t.size, *self.fshape)
        else:
            parts = [
                y
                for _, _, y in self._vectorized(
                    t.size, lambda s, e: self.base[:, None] + v[:, None] * (step * t[s:e])
                )
            ]
            y = np.concatenate(parts, axis=0).reshape(t.size, *self.fshape)
        return y if imag else self.rows(y)

    def complex_points(self, X: np.ndarray) -> np.ndarray:
        """f at the complex points X[:, c] (N, k): values (k, m), complex; NaN where f
        returned a real value (it dropped the imaginary part)."""
        return self._points(np.asarray(X, dtype=np.complex128))

    def real_points(self, X: np.ndarray) -> np.ndarray:
        """f at the real points X[:, c] (N, k): values (k, m), as complex."""
        return self._points(np.asarray(X, dtype=np.float64))

    def _points(self, X: np.ndarray) -> np.ndarray:
        k = X.shape[1]
        self._count(k)
        cplx = X.dtype.kind == "c"
        out = np.empty((k, self.m), dtype=np.complex128)
        if not self.a.vectorized:
            a = self.a
            f, args, kwargs = a.f, a.args, a.kwargs
            if self.parallel:
                f, args, kwargs = _replay(self._looped_raw(X)), (), None
            try:
                return _finite_diff.eval_rows_looped(
                    f, args, kwargs, np.ascontiguousarray(X.T), self.shape, self.fshape,
                    self.m, cplx,
                )  # fmt: skip
            except OutputShapeError as exc:
                raise self._shape_error(exc.args[0]) from None
            except ValueKindError as exc:
                raise TypeError(f"`f` must return numbers; got {exc.args[0]}.") from None
        for s, e, y in self._vectorized(k, lambda s, e: X[:, s:e]):
            out[s:e] = complex(np.nan, np.nan) if cplx and y.dtype.kind != "c" else y
        return out

    def _vectorized(self, k: int, columns: Callable[[int, int], np.ndarray]) -> Iterator[tuple]:
        """(s, e, values (e - s, m)) of a vectorized f over k points in memory-bounded
        blocks; columns(s, e) builds the block's points (N, e - s)."""
        nw = self._pool().n if self.parallel else 1
        sp = spans(k, 8 * max(self.base.size, 1), self.a.batch_bytes, nw)
        if not self.parallel:
            for s, e in sp:
                yield s, e, self._batch(columns(s, e))
            return
        blocks = [_two_or_more(columns(s, e)) for s, e in sp]
        raw = self._pool().map(
            Task(self.a.f, self.a.args, self.a.kwargs, "vectorized"),
            [b.reshape(*self.shape, b.shape[1]) for b in blocks],
        )
        for (s, e), b, y in zip(sp, blocks, raw, strict=True):
            yield s, e, self._checked(y, b.shape[1])[: e - s]

    def _batch(self, X: np.ndarray) -> np.ndarray:
        """Vectorized f on the columns of X (n, k): returns (k, m)."""
        k = X.shape[1]
        X = _two_or_more(X)
        return self._checked(self.call(X.reshape(*self.shape, X.shape[1])), X.shape[1])[:k]

    def _checked(self, y: Any, k: int) -> np.ndarray:
        y = np.asarray(y)
        if y.shape != (*self.fshape, k):
            raise ValueError(
                "`f` must return an array of shape F + (k,) when vectorized=True; got shape "
                f"{y.shape} for input shape {(*self.shape, k)} (F = {self.fshape})."
            )
        return y.reshape(self.m, k).T

    def _shape_error(self, got: tuple[int, ...]) -> ValueError:
        return ValueError(
            f"`f` must return the same shape at every point; got {got} after {self.fshape} at x."
        )
