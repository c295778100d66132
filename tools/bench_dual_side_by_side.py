"""Run benchmarks/dual.py's cases with timeit in one process, interleaved, and print ratios.

Every implementation of a case is set up first; then each repeat times a batch of every
implementation in turn, so that load from other processes falls on all of them alike. The
table gives min and median per call, and ratio = other / this of both and the median of the
ratios within each round (above 1: this one is faster).
Usage: ``python tools/bench_dual_side_by_side.py [Case ...]`` (default: all).
"""

from __future__ import annotations

import pathlib
import statistics
import sys
import timeit

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from benchmarks import dual

CASES = {
    "ScalarDerivative": ["num_dual", "ad", "jax.jit(jacfwd)", "jax.jacfwd", "autograd", "analytic"],
    "MLPGradient": ["jax.jit(jacfwd)", "jax.jacfwd", "autograd", "backprop (analytic)"],
    "MLPGradientBatchFirst": ["jax.jit(jacfwd)", "jax.jacfwd", "autograd", "backprop (analytic)"],
    "MLPGradientWide": ["jax.jit(jacfwd)", "autograd"],
    "TanhJacobian": ["jax.jit(jacfwd)", "jax.jacfwd", "autograd", "analytic"],
    "TanhJvp": ["jax.jit(jvp)", "analytic"],
    "RosenbrockHessian10": ["num_dual.hessian", "jax.jit(hessian)", "autograd", "analytic"],
    "TaylorFourthDerivative": ["jax.jit(grad^4)"],
    "TaylorArray": ["jax.jit(vmap(grad^4))"],
    "DualArrayDerivative": ["fastdiff dual, per point", "jax.jit(vmap(grad))", "autograd"],
}


def table(cls, ref, target=0.02, repeat=41):
    print(f"\n{cls.__name__}")
    runs, numbers = {}, {}
    for impl in cls.params[0]:
        bench = cls()
        try:
            bench.setup(impl)
        except NotImplementedError:
            print(f"  {impl:34s} skipped (not installed)")
            continue
        once = timeit.timeit(bench.run, number=1)
        runs[impl] = bench
        numbers[impl] = max(1, int(target / max(once, 1e-9)))
    times = {impl: [] for impl in runs}
    for _ in range(repeat):
        for impl, bench in runs.items():
            times[impl].append(timeit.timeit(bench.run, number=numbers[impl]) / numbers[impl])
    best = {impl: min(t) for impl, t in times.items()}
    med = {impl: statistics.median(t) for impl, t in times.items()}
    for impl, bench in runs.items():
        err = getattr(bench, next(m for m in dir(bench) if m.startswith("track_")))(impl)
        print(
            f"  {impl:34s} min {best[impl] * 1e6:10.2f} us  median {med[impl] * 1e6:10.2f} us"
            f"   abs error {err:.1e}",
            flush=True,
        )
    for impl in runs:
        if not impl.startswith("fastdiff"):
            continue
        for other in ref:
            if other in runs:  # the ratio within each round (adjacent timings), then the median
                rounds = [o / f for o, f in zip(times[other], times[impl], strict=True)]
                print(
                    f"  {other:>34s} / {impl}: min {best[other] / best[impl]:6.2f}  "
                    f"median {med[other] / med[impl]:6.2f}  "
                    f"per round {statistics.median(rounds):6.2f}"
                )


if __name__ == "__main__":
    for name in sys.argv[1:] or list(CASES):
        table(getattr(dual, name), CASES[name])
