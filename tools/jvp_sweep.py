"""Sweep ``jvp`` for confident-wrong entries (any method).

Three f over random x and v (60 outputs, 50 inputs): a sparse ``W @ (exp(x) * x)`` (its
outputs cancel internally), ``tanh(W @ x + b)`` and ``sin(x) * x[::-1]``, each with its exact
J @ v. An entry is a *miss* when it is trusted (status 0) and its true error exceeds its bar
plus the contract's rounding slack ``8 eps max(1, |Jv|)``.

    python tools/jvp_sweep.py --method backward --seeds 60
"""

from __future__ import annotations

import argparse

import numpy as np

import fastdiff as fd

EPS = float(np.finfo(np.float64).eps)


def cases(seed: int):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(60, 50)) * (rng.random((60, 50)) < 0.1)
    x, v, b = rng.normal(size=50), rng.normal(size=50), rng.normal(size=60)
    yield "sparse", x, v, lambda z: W @ (np.exp(z) * z), W @ (np.exp(x) * (1 + x) * v)
    yield (
        "tanh",
        x,
        v,
        lambda z: np.tanh(W @ z + b),
        (1 - np.tanh(W @ x + b) ** 2) * (W @ v),
    )
    yield (
        "sin",
        x,
        v,
        lambda z: np.sin(z) * z[::-1],
        np.cos(x) * v * x[::-1] + np.sin(x) * v[::-1],
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--method", default="backward")
    p.add_argument("--seeds", type=int, default=60)
    a = p.parse_args()
    total, misses = 0, []
    for seed in range(a.seeds):
        for name, x, v, f, exact in cases(seed):
            r = fd.jvp(f, x, v, method=a.method)
            true = np.abs(np.asarray(r.df) - exact)
            ok = np.asarray(r.status) == 0
            total += int(ok.sum())
            bad = ok & (true > np.asarray(r.error) + 8 * EPS * np.maximum(1, np.abs(exact)))
            misses += [(seed, name, i, r.df[i], r.error[i], true[i]) for i in np.nonzero(bad)[0]]
    for seed, name, i, df, err, true in misses:
        print(f"seed {seed} {name} [{i}]: df {df:.6g} error {err:.2g} true {true:.2g}")
    print(f"{len(misses)} misses of {total} trusted entries over {a.seeds} seeds ({a.method})")


if __name__ == "__main__":
    main()
