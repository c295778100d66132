"""Print the honesty study's table: error/true per method and n, and every miss.

Usage: python tools/honesty_table.py [--nmax 6] [--variants plain,noisy,noisy-undeclared]
       [--misses] [--failures]

The study (functions, points, oracle) is tests/honesty.py.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import honesty


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nmax", type=int, default=4)
    p.add_argument("--variants", default=",".join(honesty.VARIANTS))
    p.add_argument("--methods", default=",".join(honesty.METHODS))
    p.add_argument("--misses", action="store_true", help="list every miss")
    p.add_argument("--failures", action="store_true", help="list every untrusted case")
    p.add_argument("--loose", type=float, default=0.0, help="list trusted cases looser than this")
    args = p.parse_args()
    t0 = time.perf_counter()
    recs = honesty.run(args.methods.split(","), args.nmax, tuple(args.variants.split(",")))
    print(honesty.format_table(honesty.summary(recs)))
    print(
        f"\n{len(honesty.FUNCTIONS)} functions, {len(recs)} cases, {time.perf_counter() - t0:.1f} s"
    )
    for r in recs:
        show = (
            (args.misses and r.miss)
            or (args.failures and not r.success)
            or (args.loose and r.success and r.ratio > args.loose)
        )
        if show:
            tag = "MISS" if r.miss else ("fail" if not r.success else "loose")
            print(
                f"{tag} {r.method:8s} n={r.n} {r.variant:16s} {r.name:16s} x={r.x:<9g} "
                f"df={r.df:.6g} err={r.error:.2e} true={r.true_error:.2e} st={r.status} "
                f"ratio={r.ratio:.3g}"
            )


if __name__ == "__main__":
    main()
