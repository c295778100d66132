"""Speedup of `workers=` on the 16-D gradient of a ~5 ms pure-Python f (issue 11).

Runs, interleaved in one process (one round = one call of each, in a rotating order, so a
burst of load from other jobs hits every variant alike):

- ``serial``: ``fd.gradient(simulate, x)``;
- ``workers=2``: a process pool of 2 started and shut down by the call;
- ``executor``: a ``ProcessPoolExecutor(2)`` made once and reused (warmed up first);
- ``dask``: a 2-worker Dask ``LocalCluster`` (processes, one thread each) with the workers'
  statistical profiler off, as docs/expensive.md recommends for CPU-bound pure-Python f;
- ``dask-profiler``: the same cluster with Dask's defaults (with ``--dask-profiler``);
- ``floor``: a bare ``ProcessPoolExecutor(2)`` started per call, mapping simulate over as
  many points as the gradient evaluates, in one chunk per worker: what any pool started per
  call costs, with no ladder;
- ``workers=2 lazy`` (with ``--lazy-pool``): ``workers=2`` with its pool started at the first
  level, as before the pool was started ahead of f(x).

The Dask variants run in a second process with their own serial reference (``--dask-only``),
so that the process-pool variants fork a parent that never imported Dask (it grows the
process several-fold, and each fork with it); f comes from ``benchmarks/model.py``, which
imports NumPy only, for the same reason. It prints the min and median wall time of each, the
speedups against serial (min / min and median / median), nfev, and whether every field of
the result is bitwise the serial one. With ``--overhead`` it also measures the Dask per-task
cost and the per-level round trip.

Usage: ``python tools/parallel_speedup.py [--repeats 7] [--dim 16] [--no-dask]
[--dask-profiler] [--lazy-pool] [--wait] [--overhead] [--dask-only]``. The machine should be
idle: the ratios measure free cores (with ``--wait`` f sleeps, so they show fastdiff's
overheads).
"""

from __future__ import annotations

import argparse
import logging
import os
import pathlib
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.model import simulate  # noqa: E402

import fastdiff as fd  # noqa: E402

FIELDS = ("df", "error", "status", "success", "step", "nfev")


def waits(x):
    """simulate's value after waiting 5 ms instead of computing (--wait): the GIL is free
    and no core is busy, so the speedup shows fastdiff's own overheads even on a loaded
    machine."""
    time.sleep(0.005)
    x = np.asarray(x)
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def bitwise_same(ref, res) -> bool:
    for name in FIELDS:
        a = np.ascontiguousarray(np.atleast_1d(getattr(ref, name)))
        b = np.ascontiguousarray(np.atleast_1d(getattr(res, name)))
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        if not np.array_equal(a.view(np.uint8), b.view(np.uint8)):
            return False
    return True


def dask_cluster(profiler: bool):
    """A 2-worker LocalCluster (processes, one thread each) and its client."""
    import benchmarks.model
    import cloudpickle
    import dask
    import distributed

    # the workers cannot import the benchmark module: send simulate by value
    cloudpickle.register_pickle_by_value(benchmarks.model)
    with dask.config.set({"distributed.worker.profile.enabled": profiler}):
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        )
        client = distributed.Client(cluster)
    return cluster, client


def dask_overhead(client, nblocks: int = 400, levels: int = 50) -> None:
    """The Dask costs that do not depend on f: per task (many tiny tasks in flight) and per
    level (one round of one block per worker, as a ladder level sends)."""
    nw = len(client.nthreads())
    x = np.linspace(-0.8, 1.1, 16)

    def tiny(v):
        return float(v[0])

    def best(fn, repeat=5):
        out = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
        return min(out), statistics.median(out)

    def many():
        client.gather(client.map(tiny, [x + k for k in range(nblocks)], pure=False))

    def rounds():
        for k in range(levels):
            client.gather(client.map(tiny, [x + k + j for j in range(nw)], pure=False))

    many()
    lo, med = best(many)
    print(
        f"dask, {nblocks} tiny tasks in flight on {nw} workers: "
        f"{lo / nblocks * 1e6:.0f} us per task (min), {med / nblocks * 1e6:.0f} (median)"
    )
    # CPU time per task, which other jobs on the machine inflate far less than wall time:
    # this process (client, and the LocalCluster's scheduler) and the worker processes
    import psutil

    workers = [psutil.Process(pid) for pid in client.run(os.getpid).values()]

    def cpu(proc):
        t = proc.cpu_times()
        return t.user + t.system

    c0, w0 = time.process_time(), sum(cpu(p) for p in workers)
    reps = 3
    for _ in range(reps):
        many()
    c1, w1 = time.process_time(), sum(cpu(p) for p in workers)
    n = reps * nblocks
    print(
        f"dask, CPU per task: {(c1 - c0) / n * 1e6:.0f} us in the client and scheduler, "
        f"{(w1 - w0) / n * 1e6:.0f} us in the workers"
    )
    lo, med = best(rounds)
    print(
        f"dask, one round of {nw} tasks (a ladder level), submit to gather: "
        f"{lo / levels * 1e3:.2f} ms per round (min), {med / levels * 1e3:.2f} ms (median)"
    )

    # the same through fastdiff: a gradient of a trivial f, 3 levels
    def trivial(v):
        return float(np.sum(v * v))

    def grad():
        fd.gradient(trivial, x, workers=client)

    grad()
    lo, med = best(grad, 9)
    serial = best(lambda: fd.gradient(trivial, x), 9)[0]
    print(
        f"fastdiff, 16-D gradient of a trivial f (3 levels, {nw} blocks each) through dask: "
        f"{lo * 1e3:.1f} ms (min), {med * 1e3:.1f} ms (median); serial {serial * 1e3:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="interleaved rounds (>= 1)")
    parser.add_argument("--dim", type=int, default=16, help="dimension of x (default 16)")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask variants")
    parser.add_argument(
        "--dask-profiler", action="store_true", help="also a cluster with the profiler on"
    )
    parser.add_argument("--overhead", action="store_true", help="measure Dask's per-task cost")
    parser.add_argument(
        "--dask-only",
        action="store_true",
        help="serial and the Dask variants only (what the default run starts in a second "
        "process, so that the process-pool variants fork a parent that never imported Dask)",
    )
    parser.add_argument(
        "--lazy-pool",
        action="store_true",
        help="also workers=2 with its pool started at the first level instead of before f(x) "
        "(a diagnostic: patches fastdiff._evaluate.Runner.__enter__)",
    )
    parser.add_argument(
        "--wait", action="store_true", help="f waits 5 ms instead of computing for 5 ms"
    )
    opts = parser.parse_args()
    f = waits if opts.wait else simulate

    x = np.linspace(-0.8, 1.1, opts.dim)
    ref = fd.gradient(f, x)
    points = [x + 1e-3 * k for k in range(ref.nfev)]
    t0 = time.perf_counter()
    f(x)
    print(
        f"f: {1e3 * (time.perf_counter() - t0):.2f} ms a call; gradient nfev {ref.nfev}; "
        f"cores {os.cpu_count()}; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )

    clusters = []
    runs = {"serial": lambda: fd.gradient(f, x)}
    executor = None
    if not opts.dask_only:
        executor = ProcessPoolExecutor(2)
        list(executor.map(f, points[:8]))  # warm: start both processes, run f there

        def floor():
            with ProcessPoolExecutor(2) as pool:
                list(pool.map(f, points, chunksize=-(-len(points) // 2)))

        runs["workers=2"] = lambda: fd.gradient(f, x, workers=2)
        runs["executor"] = lambda: fd.gradient(f, x, workers=executor)
        runs["floor"] = floor
    if opts.lazy_pool and not opts.dask_only:
        from fastdiff import _evaluate

        def lazy():
            early = _evaluate.Runner.__enter__
            _evaluate.Runner.__enter__ = lambda self: self  # the pool starts at the first map
            try:
                return fd.gradient(f, x, workers=2)
            finally:
                _evaluate.Runner.__enter__ = early

        runs["workers=2 lazy"] = lazy
    if opts.dask_only:
        variants = [("dask", False)] + ([("dask-profiler", True)] if opts.dask_profiler else [])
        for name, profiler in variants:
            cluster, client = dask_cluster(profiler)
            clusters.append((cluster, client))
            fd.gradient(f, x, workers=client)  # warm: imports on the workers
            runs[name] = lambda client=client: fd.gradient(f, x, workers=client)

    try:
        same = {}
        for name, run in runs.items():
            res = run()
            if name != "floor":
                same[name] = bitwise_same(ref, res) and res.nfev == ref.nfev
        times: dict[str, list[float]] = {name: [] for name in runs}
        names = list(runs)
        for r in range(opts.repeats):
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                t0 = time.perf_counter()
                runs[name]()
                times[name].append(time.perf_counter() - t0)
        lo = {n: min(t) for n, t in times.items()}
        med = {n: statistics.median(t) for n, t in times.items()}
        print(f"\n{opts.repeats} interleaved rounds; load average now {os.getloadavg()[0]:.1f}")
        print(f"{'':14s} {'min ms':>8s} {'median':>8s} {'x (min)':>8s} {'x (med)':>8s}  bitwise")
        for n in names:
            print(
                f"{n:14s} {lo[n] * 1e3:8.1f} {med[n] * 1e3:8.1f} "
                f"{lo['serial'] / lo[n]:8.2f} {med['serial'] / med[n]:8.2f}  "
                f"{same.get(n, '-')}"
            )
        if opts.overhead and clusters:
            print()
            dask_overhead(clusters[0][1])
    finally:
        if executor is not None:
            executor.shutdown()
        for cluster, client in reversed(clusters):  # each restores the log level it found
            client.close()
            cluster.close()
    if not opts.dask_only and not opts.no_dask:
        # Dask in a second process: importing dask and distributed (and running a cluster's
        # scheduler in this one) grows this process several-fold, and every fork of the
        # process-pool variants above then costs several times as much
        args = [a for a in sys.argv[1:] if a != "--lazy-pool"] + ["--dask-only"]
        print("\nDask, in a second process (its own serial reference):", flush=True)
        subprocess.run([sys.executable, __file__, *args], check=True)


if __name__ == "__main__":
    main()
