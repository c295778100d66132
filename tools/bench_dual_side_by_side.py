"""Run benchmarks/dual.py's cases with timeit in one process and print times and ratios.

The implementations of one table are timed in turn, round after round (interleaved), and each
keeps the minimum over the rounds: on a shared machine the other processes' load then falls on
all of them alike. ``python tools/bench_dual_side_by_side.py [TABLE ...]`` runs the named
tables (default: all).
"""

from __future__ import annotations

import pathlib
import sys
import timeit

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from benchmarks import dual  # a package: dual.py imports .common


def interleaved_min(runs, rounds=25, target=0.004):
    """Seconds per call of each zero-argument callable: the minimum over `rounds` interleaved
    rounds (3 for an implementation taking over 50 ms per call, such as jax without jit).

    In each round every implementation runs three chunks of about `target` seconds and keeps
    its best: the first chunk after another implementation can be slow for reasons that are
    not its own (jax's and OpenBLAS's worker threads spin for a while after a call, on the
    same two cores).
    """
    numbers, limit = {}, {}
    for name, run in runs.items():
        once = timeit.timeit(run, number=1)
        numbers[name] = max(1, int(target / max(once, 1e-9)))
        limit[name] = rounds if once < 0.05 else 3
    best = dict.fromkeys(runs, float("inf"))
    for r in range(rounds):
        for name, run in runs.items():
            if r < limit[name]:
                t = min(timeit.repeat(run, number=numbers[name], repeat=3)) / numbers[name]
                best[name] = min(best[name], t)
    return best


def table(cls, ref):
    print(f"\n{cls.__name__}")
    runs, benches = {}, {}
    for impl in cls.params[0]:
        bench = cls()
        try:
            bench.setup(impl)
        except NotImplementedError:
            print(f"  {impl:36s} skipped (not installed)")
            continue
        runs[impl], benches[impl] = bench.run, bench
    times = interleaved_min(runs)
    for impl, t in times.items():
        bench = benches[impl]
        track = next((m for m in dir(bench) if m.startswith("track_")), None)
        err = f"   error {getattr(bench, track)(impl):.1e}" if track else ""
        print(f"  {impl:36s} {t * 1e6:12.3f} us{err}", flush=True)
    for impl, t in times.items():
        ratios = "  ".join(
            f"{other}/this={times[other] / t:7.2f}"
            for other in ref
            if other in times and other != impl
        )
        print(f"  {impl:36s} {ratios}")


TABLES = {
    "ScalarDerivative": (
        dual.ScalarDerivative,
        ["num_dual", "fastdiff.math Dual", "ad", "jax.jit(jacfwd)", "jax.jacfwd", "autograd"],
    ),
    "TaylorFourthDerivative": (dual.TaylorFourthDerivative, ["jax.jit(grad^4)", "jax grad^4"]),
    "TaylorArray": (dual.TaylorArray, ["jax.jit(vmap(grad^4))"]),
    "MLPGradient": (
        dual.MLPGradient,
        ["jax.jit(jacfwd)", "jax.jacfwd", "autograd", "backprop (analytic)"],
    ),
}

if __name__ == "__main__":
    for name in sys.argv[1:] or TABLES:
        table(*TABLES[name])
