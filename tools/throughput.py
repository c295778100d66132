"""Issue 10's throughput table, measured side by side and interleaved in one process.

    python tools/throughput.py [--rounds R] [--only NAME ...] [--no-memory] [--cpu]

Every workload of the issue's table runs with fastdiff, the peers that are installed
(numdifftools, scipy.differentiate / scipy's approx_derivative, jacobi, jax) and the *floor*:
a bare NumPy (or math) central difference with a fixed step and no error estimate, the least
any differentiation of f at these points costs. Implementations are timed in rounds, the
order rotating from round to round, and each keeps its minimum time per call (the machine is
shared: ratios measured together are what count). Printed per workload:

* each implementation's best time, ``peer / fastdiff`` (above 1: fastdiff is faster) and
  ``fastdiff / floor`` (how far above the bare arithmetic fastdiff is);
* fastdiff's evaluations of f per element (per point, per coordinate of a gradient, per entry
  of a Hessian's upper triangle), counted by a wrapper;
* for the 1000-D gradient, the tracemalloc peak of one call of each implementation;
* the C ladder's cost per element and level: a recorded vectorized ladder (d/dx sin at 8192
  points) replayed through ``Ladder.update`` on the same values of f, with no f and no Python
  between levels but the loop itself.

A peer that is not installed is left out of the table (it says so).
"""

from __future__ import annotations

import argparse
import math
import pathlib
import sys
import time

import numpy as np

import fastdiff

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from benchmarks.throughput import (
    WORKLOADS,
    Workload,
    interleaved,
    ladder_levels,
    overhead_cases,
    recorded_ladder,
    traced_peak,
)


def kernel_report(rounds: int, clock) -> None:
    """ns per element and level of the C ladder (update alone; points + update)."""
    replay, with_points, work = recorded_ladder()
    best = interleaved({"update": replay, "points + update": with_points}, rounds, 0.02, clock)
    print(f"\nC ladder, d/dx sin on 8192 points: {work} element-levels ({work / 8192:.2f} a point)")
    for k, t in best.items():
        print(f"  {k:26s} {t * 1e9 / work:9.1f} ns per element and level")


def call_counted(f):
    """f with a counter of its calls (not points)."""

    def g(x, *args):
        g.calls += 1
        return f(x, *args)

    g.calls = 0
    return g


def overhead_report(rounds: int, clock) -> None:
    """Fixed cost of a call beyond f's evaluations (issue 10 item 3): the verb's time minus
    the time of the same calls of f made directly (one call per point for the scalar verb,
    one array call per level for the vectorized ones, with the same batch sizes)."""
    cases = overhead_cases()
    impls = {}
    for name, (run, evals) in cases.items():
        impls[name] = run
        impls[name + " [f alone]"] = evals
    best = interleaved(impls, rounds, 0.02, clock)
    print("\nFixed cost beyond the evaluations of f (verb time - time of the same calls of f)")
    for name in cases:
        t, tf = best[name], best[name + " [f alone]"]
        print(f"  {name:44s} {show(t)} total, {show(tf)} f, {(t - tf) * 1e6:8.2f} us beyond")


def levels_report() -> None:
    """Where d/dx sin's evaluations per point go: levels per point (issue 10 item 2)."""
    levels = ladder_levels()
    counts = np.bincount(levels)
    share = ", ".join(f"{k}: {c / levels.size:.1%}" for k, c in enumerate(counts) if c)
    print(f"\nd/dx sin at 1e5 points: {levels.mean():.2f} levels a point ({share}),")
    print(f"  {1 + 2 * levels.mean():.2f} evaluations a point (1 + 2 per level; none after a")
    print("  point finishes); the verification needs 4 levels at least (9 evaluations)")


def show(t: float) -> str:
    if t < 1e-3:
        return f"{t * 1e6:9.2f} us"
    return f"{t * 1e3:9.2f} ms"


def report(w: Workload, rounds: int, target: float, memory: bool, clock) -> None:
    print(f"\n{w.name}", flush=True)
    best = interleaved(w.impls, rounds, target, clock)
    t_fd, t_floor = best["fastdiff"], best.get("floor")
    for k, t in best.items():
        if k == "fastdiff":
            extra = f"fastdiff / floor = {t_fd / t_floor:6.1f}" if t_floor else ""
        elif k == "floor":
            extra = " " * 23
        else:
            extra = f"peer / fastdiff = {t / t_fd:7.1f}"
        nfev = w.evaluations(k)
        count = "" if math.isnan(nfev) else f"   {nfev:6.2f} evaluations per element"
        print(f"  {k:26s} {show(t)}   {extra}{count}")
    if w.memory and memory:
        for k, run in w.impls.items():
            print(f"  {k:26s} peak {traced_peak(run):8.1f} MiB (tracemalloc)")
    for k in w.missing:
        print(f"  {k:26s} not installed")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=15, help="interleaved rounds (min is kept)")
    p.add_argument("--target", type=float, default=0.02, help="seconds per timed batch")
    p.add_argument("--only", nargs="*", choices=list(WORKLOADS), help="workloads to run")
    p.add_argument("--overhead", action="store_true", help="the fixed-cost table too")
    p.add_argument("--no-memory", action="store_true", help="skip the tracemalloc peaks")
    p.add_argument(
        "--cpu",
        action="store_true",
        help="time by thread CPU time (a loaded machine's waits for a core do not count)",
    )
    opts = p.parse_args(argv)
    clock = time.thread_time if opts.cpu else time.perf_counter
    print(
        f"fastdiff {fastdiff.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}"
    )
    for key in opts.only or list(WORKLOADS):
        report(WORKLOADS[key](), opts.rounds, opts.target, not opts.no_memory, clock)
    if not opts.only:
        kernel_report(opts.rounds, clock)
        levels_report()
    if opts.overhead or not opts.only:
        overhead_report(opts.rounds, clock)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
