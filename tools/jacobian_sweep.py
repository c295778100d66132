"""Sweep dense ``jacobian`` (central, default options) for confident-wrong entries.

f(x) = W @ (exp(x) * x) with W a random sparse matrix, so each output is a sum whose terms
can cancel; the exact Jacobian is ``W * (exp(x) * (1 + x))`` column by column.  An entry is a
*miss* when it is trusted (status 0) and its true error exceeds its bar plus the contract's
rounding slack ``8 eps max(1, |J|)``.

    python tools/jacobian_sweep.py --seeds 30 [--density 0.1] [--shape 60 50]
"""

from __future__ import annotations

import argparse

import numpy as np

import fastdiff as fd

EPS = float(np.finfo(np.float64).eps)


def one(seed: int, m: int, n: int, density: float):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(m, n)) * (rng.random((m, n)) < density)
    x = rng.normal(size=n)
    r = fd.jacobian(lambda z: W @ (np.exp(z) * z), x)
    exact = W * (np.exp(x) * (1 + x))
    true = np.abs(np.asarray(r.df) - exact)
    trusted = np.asarray(r.status) == 0
    miss = trusted & (true > np.asarray(r.error) + 8 * EPS * np.maximum(1, np.abs(exact)))
    return int(trusted.sum()), [
        (seed, i, j, float(r.df[i, j]), float(r.error[i, j]), float(true[i, j]))
        for i, j in zip(*np.nonzero(miss), strict=True)
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=30)
    p.add_argument("--first", type=int, default=0)
    p.add_argument("--density", type=float, default=0.1)
    p.add_argument("--shape", type=int, nargs=2, default=(60, 50))
    a = p.parse_args()
    total, misses = 0, []
    for seed in range(a.first, a.first + a.seeds):
        t, ms = one(seed, *a.shape, a.density)
        total += t
        misses += ms
    for seed, i, j, df, err, true in misses:
        print(f"seed {seed} ({i}, {j}): df {df:.6g} error {err:.2g} true {true:.2g}")
    print(f"{len(misses)} misses of {total} trusted entries over {a.seeds} seeds")


if __name__ == "__main__":
    main()
