"""Run benchmarks/dual.py's cases with timeit in one process and print medians and ratios."""

from __future__ import annotations

import pathlib
import statistics
import sys
import timeit

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "benchmarks"))
import dual


def median_time(run, target=0.2, repeat=7):
    once = timeit.timeit(run, number=1)
    number = max(1, int(target / max(once, 1e-9)))
    repeat = repeat if once < 1.0 else 3  # a peer taking seconds per call
    return statistics.median(t / number for t in timeit.repeat(run, number=number, repeat=repeat))


def table(cls, ref):
    print(f"\n{cls.__name__}")
    times = {}
    for impl in cls.params[0]:
        bench = cls()
        try:
            bench.setup(impl)
        except NotImplementedError:
            print(f"  {impl:28s} skipped (not installed)")
            continue
        times[impl] = median_time(bench.run)
        err = getattr(bench, next(m for m in dir(bench) if m.startswith("track_")))(impl)
        print(f"  {impl:28s} {times[impl] * 1e6:12.2f} us   abs error {err:.1e}", flush=True)
    for impl, t in times.items():
        ratios = "  ".join(
            f"{other}/this={times[other] / t:7.1f}"
            for other in ref
            if other in times and other != impl
        )
        print(f"  {impl:28s} {ratios}")


if __name__ == "__main__":
    table(dual.ScalarDerivative, ["ad", "jax.jit(jacfwd)", "jax.jacfwd", "autograd", "analytic"])
    table(
        dual.MLPGradient, ["ad", "jax.jit(jacfwd)", "jax.jacfwd", "autograd", "backprop (analytic)"]
    )
