"""Bit-for-bit check of the finite-difference ladder: dump its outputs, or compare with a dump.

    python tools/ladder_bitcheck.py dump FILE.npz      # from the build to compare against
    python tools/ladder_bitcheck.py compare FILE.npz   # from the changed build: exit 1 on a diff

A change to the C ladder that is meant to be a pure speed-up (issue 10) must leave every
output bit alone. The cases run every path of ``csrc/richardson.c``: the honesty study's
functions and points (tests/honesty.py) with n = 1 ... 6, the three stencils and the three
noise variants, once through the scalar entry and once vectorized (the elementwise groups);
complex f (two components); declared noise, tolerances, bounds, a fixed step; domain edges
(one-sided turns, non-finite levels); and the multivariate verbs (groups of outputs, pairs of
a Hessian). Every case records df, error, status, step and nfev; ``compare`` checks their
bytes (NaNs included) and names each case that differs.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import fastdiff
import honesty


def _record(res) -> dict[str, np.ndarray]:
    out = {}
    for k in ("df", "error", "status", "step", "nfev"):
        v = getattr(res, k, None)
        if v is not None:
            out[k] = np.ascontiguousarray(np.asarray(v))
    return out


def cases():
    """(name, thunk) for every case; each thunk returns a Result."""
    d = fastdiff.derivative
    for name, _, points in honesty.FUNCTIONS:
        xs = np.asarray(points, dtype=float)
        for variant in honesty.VARIANTS:
            f = honesty.numpy_f(name, variant)
            noise = honesty.NOISE if variant == "noisy" else None
            fv = np.vectorize(f, otypes=[float])
            for n in range(1, 7):
                for method in honesty.METHODS:
                    for x in points:
                        yield (
                            f"{name}/{variant}/n{n}/{method}/x{x!r}/scalar",
                            lambda f=f, x=x, n=n, m=method, nz=noise: d(
                                f, x, n=n, method=m, noise=nz
                            ),
                        )
                    yield (
                        f"{name}/{variant}/n{n}/{method}/vectorized",
                        lambda fv=fv, xs=xs, n=n, m=method, nz=noise: d(
                            fv, xs, n=n, method=m, noise=nz, vectorized=True
                        ),
                    )
    xs = np.linspace(-3.0, 3.0, 41)
    ufuncs = {
        "sin": np.sin,
        "exp": np.exp,
        "tanh": np.tanh,
        "abs": np.abs,  # a kink at 0
        "cexp": lambda z: np.exp((1 + 2j) * z),  # complex f
        "csin": lambda z: np.sin(z) + 1j * z**3,
    }
    for fname, f in ufuncs.items():
        for n in (1, 2, 3, 4):
            for method in honesty.METHODS:
                for extra in ({}, {"rtol": 1e-6}, {"atol": 1e-12, "rtol": 0.0}, {"noise": 1e-9}):
                    tag = ",".join(f"{k}={v}" for k, v in extra.items())
                    yield (
                        f"{fname}/n{n}/{method}/{tag}/vectorized",
                        lambda f=f, n=n, m=method, e=extra: d(
                            f, xs, n=n, method=m, vectorized=True, **e
                        ),
                    )
                yield (
                    f"{fname}/n{n}/{method}/step/vectorized",
                    lambda f=f, n=n, m=method: d(f, xs, n=n, method=m, step=1e-3, vectorized=True),
                )
    # domain edges: one-sided turns, non-finite levels, bounds
    edge = np.array([0.0, 1e-300, 1e-12, 1e-6, 0.5, 2.0])
    for fname, f in {
        "sqrt": np.sqrt,
        "log": np.log,
        "arcsin": np.arcsin,
        "x^1.5": lambda x: x**1.5,
    }.items():
        for n in (1, 2, 3):
            yield (
                f"{fname}/n{n}/edge/vectorized",
                lambda f=f, n=n: d(f, edge, n=n, vectorized=True),
            )
            yield (
                f"{fname}/n{n}/edge/bounds/vectorized",
                lambda f=f, n=n: d(f, edge, n=n, bounds=(0.0, np.inf), vectorized=True),
            )
            for x in edge:
                yield (
                    f"{fname}/n{n}/edge/x{x!r}/scalar",
                    lambda f=f, n=n, x=x: d(lambda t, f=f: f(np.float64(t)), float(x), n=n),
                )
    # multivariate: groups of outputs, Hessian pairs
    rng = np.random.default_rng(42)
    W = rng.standard_normal((5, 6))

    def rosen(x):
        x = np.asarray(x)
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2, axis=0)

    def tanh_layer(x):
        return np.tanh(W @ x + 0.1)

    for k in range(4):
        x0 = rng.uniform(-1.5, 1.5, 6)
        for method in honesty.METHODS:
            yield (
                f"rosen/grad/{k}/{method}",
                lambda x0=x0, m=method: fastdiff.gradient(rosen, x0, method=m),
            )
            yield (
                f"rosen/grad/{k}/{method}/vectorized",
                lambda x0=x0, m=method: fastdiff.gradient(rosen, x0, method=m, vectorized=True),
            )
            yield (
                f"tanh/jac/{k}/{method}",
                lambda x0=x0, m=method: fastdiff.jacobian(tanh_layer, x0, method=m),
            )
        yield (f"rosen/hess/{k}", lambda x0=x0: fastdiff.hessian(rosen, x0))
        yield (f"rosen/hessdiag/{k}", lambda x0=x0: fastdiff.hessdiag(rosen, x0))
        v = rng.standard_normal(6)
        yield (f"tanh/jvp/{k}", lambda x0=x0, v=v: fastdiff.jvp(tanh_layer, x0, v))


def run() -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for name, thunk in cases():
            for k, v in _record(thunk()).items():
                out[f"{name}::{k}"] = v
    return out


def compare(new: dict[str, np.ndarray], old: dict[str, np.ndarray]) -> list[str]:
    bad = sorted(set(new) ^ set(old))
    for k in sorted(set(new) & set(old)):
        a, b = new[k], old[k]
        if a.dtype != b.dtype or a.shape != b.shape or a.tobytes() != b.tobytes():
            bad.append(k)
    return bad


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=("dump", "compare"))
    p.add_argument("file")
    a = p.parse_args()
    new = run()
    if a.mode == "dump":
        np.savez_compressed(a.file, **new)
        print(f"{len(new)} arrays written to {a.file}")
        return
    with np.load(a.file) as z:
        old = {k: z[k] for k in z.files}
    bad = compare(new, old)
    n_el = sum(v.size for v in new.values())
    print(f"{len(new)} arrays ({n_el} values) compared with {a.file}: {len(bad)} differ")
    for k in bad[:50]:
        print("  DIFF", k)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
