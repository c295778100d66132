"""Honesty study of method="complex": error / true error over many smooth functions and points.

For each analytic f (written with NumPy so it accepts complex input), each point and each
n = 1 ... 4, ``fastdiff.derivative(f, x, n=n, method="complex")`` is compared with mpmath's
derivative at 40 digits. Reported per n, over the trusted estimates:

* the distribution of ``error / true`` (median, 90th percentile, worst i.e. the largest), where
  ``true = max(|df - exact|, 2**-53 |exact|)``: no float estimate can be closer than half an ulp
  of the exact value, so that is the floor of the true error (exact zeros with ``df == 0`` and
  ``error == 0`` are left out: there is no ratio);
* misses: trusted estimates whose true error exceeds ``error`` (strictly) and with the rounding
  slack 1e-15 max(1, |df|) the tests allow.

The wide study (``wide_cases``, ``study_wide``) adds the 62 functions of the real-step honesty
study (``tests/honesty.py``: the same expressions over a complex-safe NumPy namespace, the same
mpmath oracle), points next to poles, branch points and cuts and at extremes of scale
(``NEAR``), and f with relative noise 1e-10, declared through ``noise=`` or not; there the
ratio's floor is also reported as in ``tests/honesty.py`` (true error floored at the
rounding slack ``8 eps max(1, |df|)``).

Run: ``python tools/complex_study.py [nmax] [--wide]`` (a few seconds; ``--wide`` about a
minute).
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import mpmath
import numpy as np
import scipy.special

import fastdiff as fd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import honesty

mpmath.mp.dps = 40
mp = mpmath

#: name, f for NumPy (complex-safe), f for mpmath, points (edges and extremes of scale included)
FUNCTIONS = [
    ("exp", np.exp, mp.exp, (-20.0, -2.0, 0.0, 1.0, 3.5, 30.0)),
    ("sin", np.sin, mp.sin, (-1.0, 0.3, 2.0, 10.0, 1e3)),
    ("cos", np.cos, mp.cos, (0.0, 0.7, 3.0, 1e-8)),
    ("log", np.log, mp.log, (1e-4, 0.05, 1.0, 7.0, 1e3, 1e8)),
    ("sqrt", np.sqrt, mp.sqrt, (1e-3, 0.01, 1.0, 50.0, 1e6)),
    ("atan", np.arctan, mp.atan, (-3.0, 0.0, 0.5, 40.0)),
    ("tanh", np.tanh, mp.tanh, (-2.0, 0.1, 1.5, 8.0)),
    ("expsin", lambda x: np.exp(x) * np.sin(x), lambda x: mp.exp(x) * mp.sin(x), (-1, 0.5, 2, 0.7)),
    ("runge", lambda x: 1 / (1 + x * x), lambda x: 1 / (1 + x * x), (-2.0, 0.0, 0.3, 4.0, 1e3)),
    ("poly5", lambda x: x**5 - 3 * x**2, lambda x: x**5 - 3 * x**2, (-1.5, 0.0, 2.0, 1.1)),
    ("sigmoid", lambda x: 1 / (1 + np.exp(-x)), lambda x: 1 / (1 + mp.exp(-x)), (-4, 0, 2.5, 20)),
    ("x^2 big", lambda x: x * x, lambda x: x * x, (1e8, -3e7, 1e-9)),
    ("sin big", np.sin, mp.sin, (1e6, 1e5)),
    ("exp(10x)", lambda x: np.exp(10 * x), lambda x: mp.exp(10 * x), (0.0, 1.0, -3.0)),
    ("cosh", np.cosh, mp.cosh, (0.0, 2.0, -5.0)),
    ("sinh/x", lambda x: np.sinh(x) / x, lambda x: mp.sinh(x) / x, (0.5, 3.0, -2.0)),
    ("log1p", np.log1p, mp.log1p, (1e-6, 0.5, 100.0)),
    ("expm1", np.expm1, mp.expm1, (1e-5, -0.5, 4.0)),
    ("tan", np.tan, mp.tan, (0.2, 1.4, -1.0)),
    ("arcsinh", np.arcsinh, mp.asinh, (0.0, 2.0, -30.0)),
    ("x^-3", lambda x: x**-3.0, lambda x: x**-3, (0.1, 2.0, -7.0)),
    ("x^1.5", lambda x: np.power(x, 1.5), lambda x: x**1.5, (0.02, 1.0, 9.0)),
    ("exp(-x^2)", lambda x: np.exp(-x * x), lambda x: mp.exp(-x * x), (0.0, 1.0, 2.5)),
    ("sin(x)^2", lambda x: np.sin(x) ** 2, lambda x: mp.sin(x) ** 2, (0.4, 2.0, 1e2)),
    ("log(1+x^2)", lambda x: np.log(1 + x * x), lambda x: mp.log(1 + x * x), (0.1, -3, 50)),
    ("cos(exp)", lambda x: np.cos(np.exp(x)), lambda x: mp.cos(mp.exp(x)), (0.0, 1.2, -1.0)),
    ("x*exp(-x)", lambda x: x * np.exp(-x), lambda x: x * mp.exp(-x), (1.0, 0.0, 6.0)),
    ("1/x", lambda x: 1 / x, lambda x: 1 / x, (1e-3, -0.7, 1e4)),
    ("rational", lambda x: (x - 1) / (x * x + 3), lambda x: (x - 1) / (x * x + 3), (0.0, 2, -4)),
    (
        "sin(x)/(2+cos)",
        lambda x: np.sin(x) / (2 + np.cos(x)),
        lambda x: mp.sin(x) / (2 + mp.cos(x)),
        (0.0, 1.0, 2.5),
    ),
]


def numpy_scalar(f):
    """f on NumPy scalars (Python floats raise or turn complex where NumPy gives inf or NaN)."""
    return lambda t: f(np.complex128(t) if isinstance(t, complex) else np.float64(t))


def study(nmax: int = 4, verb=None):
    """Per n: (ratios, misses_strict, misses_slack, trusted, total)."""
    out = {}
    for n in range(1, nmax + 1):
        ratios, strict, slack, trusted, total = [], 0, 0, 0, 0
        for _name, f, fm, points in FUNCTIONS:
            for x in points:
                x = float(x)
                ex = float(mp.diff(fm, mp.mpf(x), n))
                res = fd.derivative(numpy_scalar(f), x, n=n, method="complex")
                total += 1
                if not res.success:
                    continue
                trusted += 1
                df, err = complex(res.df).real, float(res.error)
                true = abs(df - ex)
                if true > err:
                    strict += 1
                    if true > err + 1e-15 * max(1.0, abs(df)):
                        slack += 1
                floor = max(true, 2.0**-53 * abs(ex))
                if floor == 0:
                    continue
                ratios.append(err / floor)
        out[n] = (np.array(ratios), strict, slack, trusted, total)
    return out


def table(out) -> str:
    rows = [
        "| n | trusted/total | median | p90 | worst | misses (strict / with slack) |",
        "|---|---|---|---|---|---|",
    ]
    for n, (r, strict, slack, trusted, total) in out.items():
        rows.append(
            f"| {n} | {trusted}/{total} | {np.median(r):.3g} | {np.percentile(r, 90):.3g} | "
            f"{r.max():.3g} | {strict} / {slack} |"
        )
    return "\n".join(rows)


#: Multivariate analytic f for hessian/hessdiag: name, f on arrays (NumPy), f on mpf scalars.
FUNCTIONS_ND = [
    (
        "rosenbrock",
        lambda X: np.sum(100.0 * (X[1:] - X[:-1] ** 2) ** 2 + (1.0 - X[:-1]) ** 2, axis=0),
        lambda *x: sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(2)),
    ),
    (
        "exp sin log",
        lambda X: np.exp(X[0]) * np.sin(X[1]) + X[0] * X[1] ** 3 + np.log(1 + X[2] ** 2) * X[0],
        lambda a, b, c: mp.exp(a) * mp.sin(b) + a * b**3 + mp.log(1 + c**2) * a,
    ),
    (
        "softplus quad",
        lambda X: np.log1p(np.exp(X[0] - 2 * X[1])) + X[2] ** 2 * X[0],
        lambda a, b, c: mp.log1p(mp.exp(a - 2 * b)) + c**2 * a,
    ),
    (
        "cos(x.y)",
        lambda X: np.cos(X[0] * X[1] + X[2]) / (2 + X[0] ** 2),
        lambda a, b, c: mp.cos(a * b + c) / (2 + a**2),
    ),
]


def study_hessians(npoints: int = 6, seed: int = 0):
    """Per verb ("hessian", "hessdiag"): (ratios, misses_strict, misses_slack, trusted, total)
    over FUNCTIONS_ND at random points in [-2, 2]^3, against mpmath's partial derivatives."""
    rng = np.random.default_rng(seed)
    out = {v: ([], 0, 0, 0, 0) for v in ("hessian", "hessdiag")}
    acc = {v: [[], 0, 0, 0, 0] for v in out}
    for _name, f, fm in FUNCTIONS_ND:
        for _ in range(npoints):
            x = rng.uniform(-2, 2, 3)
            H = np.empty((3, 3))
            for i in range(3):
                for j in range(3):
                    o = [0, 0, 0]
                    o[i] += 1
                    o[j] += 1
                    H[i, j] = float(mp.diff(fm, tuple(mp.mpf(float(v)) for v in x), tuple(o)))
            for verb, exact_v in (("hessian", H), ("hessdiag", np.diag(H))):
                res = getattr(fd, verb)(f, x, method="complex")
                a = acc[verb]
                ok = np.asarray(res.success)
                df, err = np.asarray(res.df), np.asarray(res.error)
                true = np.abs(df - exact_v)
                a[4] += ok.size
                a[3] += int(ok.sum())
                a[1] += int((ok & (true > err)).sum())
                a[2] += int((ok & (true > err + 1e-15 * np.maximum(1, np.abs(df)))).sum())
                floor = np.maximum(true, 2.0**-53 * np.abs(exact_v))
                keep = ok & (floor > 0)
                a[0].extend((err[keep] / floor[keep]).tolist())
    return {v: (np.array(a[0]), a[1], a[2], a[3], a[4]) for v, a in acc.items()}


class _ComplexNumPy(honesty._NumPy):
    """tests/honesty.py's namespace, analytic for complex input: log-gamma is SciPy's
    `loggamma` (gammaln is real only); the real cube root continues as the principal
    z^(1/3) for Re z >= 0 and -(-z)^(1/3) otherwise (not analytic across Re z = 0: a circle
    that crosses it must not be trusted)."""

    loggamma = scipy.special.loggamma

    @staticmethod
    def cbrt(z):
        z = np.complex128(z)
        return z ** (1 / 3) if z.real >= 0 else -((-z) ** (1 / 3))


#: Points next to a pole, a branch point or cut, and at extremes of scale: name, f for NumPy,
#: f for mpmath, points.
NEAR = [
    ("1/(x-0.3)", lambda x: 1 / (x - 0.3), lambda x: 1 / (x - 0.3), (0.3001, 0.31, 0.2999)),
    ("tan near pi/2", np.tan, mp.tan, (1.57, 1.5707, -1.5706)),
    ("log near 0", np.log, mp.log, (1e-10, 1e-200, 3e-7)),
    ("sqrt near 0", np.sqrt, mp.sqrt, (1e-9, 1e-150, 2e-5)),
    ("atanh near 1", np.arctanh, mp.atanh, (0.9999, -0.99999, 0.99)),
    ("acosh near 1", np.arccosh, mp.acosh, (1.0001, 1.000001)),
    ("x^-0.5", lambda x: x**-0.5, lambda x: x**-0.5, (1e-6, 1e3)),
    ("1/(1+x^2) far", lambda x: 1 / (1 + x * x), lambda x: 1 / (1 + x * x), (1e6, -3e4, 1e-3)),
    ("exp near overflow", np.exp, mp.exp, (700.0, -700.0, 300.0)),
    ("sin huge x", np.sin, mp.sin, (1e10, 3e8, -1e7)),
    ("x^3 huge", lambda x: x**3, lambda x: x**3, (1e50, -1e80)),
    ("1e-300 cos", lambda x: 1e-300 * np.cos(x), lambda x: mp.mpf(1e-300) * mp.cos(x), (0.5,)),
    ("1e300 sin", lambda x: 1e300 * np.sin(x), lambda x: mp.mpf(1e300) * mp.sin(x), (0.5,)),
    ("log(x) at 1e15", np.log, mp.log, (1e15, 1e300)),
    ("erf steep", lambda x: scipy.special.erf(30 * x), lambda x: mp.erf(30 * x), (0.0, 0.05)),
    ("log1p near -1", np.log1p, mp.log1p, (-0.999, -0.9999999)),
]

#: Relative noise of the noisy variants, as in tests/honesty.py.
NOISE = honesty.NOISE


def _hash_unit(z: complex) -> float:
    """A deterministic pseudo-random number in [-1, 1] from the bits of z's two parts."""
    (a,) = struct.unpack("<Q", struct.pack("<d", float(z.real)))
    (b,) = struct.unpack("<Q", struct.pack("<d", float(z.imag)))
    mixed = (a ^ (b * 0x9E3779B1)) & 0xFFFFFFFFFFFFFFFF
    return honesty._hash_unit(struct.unpack("<d", struct.pack("<Q", mixed))[0])


def wide_cases(variants=("plain", "noisy", "noisy-undeclared")):
    """(label, f for NumPy scalars, oracle(x, n), x, variant) of the wide study."""
    out = []
    for name, f, fm, points in FUNCTIONS + NEAR:
        for x in points:
            out.append((name, numpy_scalar(f), _mp_oracle(fm), float(x)))
    for name, expr, points in honesty.FUNCTIONS:

        def g(t, expr=expr):
            t = np.complex128(t) if isinstance(t, complex) else np.float64(t)
            return expr(t, _ComplexNumPy)

        for x in points:
            out.append((name, g, lambda x, n, name=name: honesty.exact(name, x, n), float(x)))
    cases = []
    for name, f, oracle, x in out:
        for variant in variants:
            if variant == "plain":
                cases.append((name, f, oracle, x, variant))
            else:
                noisy = lambda t, f=f: f(t) * (1.0 + NOISE * _hash_unit(complex(t)))  # noqa: E731
                cases.append((name, noisy, oracle, x, variant))
    return cases


def _mp_oracle(fm):
    def oracle(x, n):
        # steps relative to x where it is tiny (log at 1e-200, a branch point at 0) or huge
        with mp.workdps(80):
            if abs(x) > 1e5:
                return float(mp.re(mp.diff(fm, mp.mpf(x), n, h=abs(mp.mpf(x)) * 1e-25)))
            return float(mp.re(mp.diff(fm, mp.mpf(x), n, relative=0 < abs(x) < 1e-5)))

    return oracle


def study_wide(nmax: int = 4, variants=("plain", "noisy", "noisy-undeclared"), misses=None):
    """Per n: dict(ratios (floor: half an ulp), ratios8 (floor: 8 eps max(1, |df|)),
    misses, trusted, total) over wide_cases; `misses`, a list, receives every miss."""
    out = {}
    cases = wide_cases(variants)
    for n in range(1, nmax + 1):
        acc = {"ratios": [], "ratios8": [], "misses": 0, "trusted": 0, "total": 0}
        for name, f, oracle, x, variant in cases:
            ex = oracle(x, n)
            noise = NOISE if variant == "noisy" else None
            res = fd.derivative(f, x, n=n, method="complex", noise=noise)
            acc["total"] += 1
            if not res.success:
                continue
            acc["trusted"] += 1
            df, err = complex(res.df).real, float(res.error)
            true = abs(df - ex)
            slack = 8 * 2.0**-52 * max(1.0, abs(df))
            if true > err + slack:
                acc["misses"] += 1
                if misses is not None:
                    misses.append((n, name, x, variant, df, err, true))
            floor = max(true, 2.0**-53 * abs(ex))
            if floor > 0:
                acc["ratios"].append(err / floor)
            acc["ratios8"].append(err / max(true, slack))
        out[n] = {k: np.array(v) if k.startswith("ratios") else v for k, v in acc.items()}
    return out


def table_wide(out) -> str:
    rows = [
        "| n | trusted/total | median | p90 | worst | median (8 eps floor) | misses |",
        "|---|---|---|---|---|---|---|",
    ]
    for n, a in out.items():
        r = a["ratios"]
        rows.append(
            f"| {n} | {a['trusted']}/{a['total']} | {np.median(r):.3g} | "
            f"{np.percentile(r, 90):.3g} | {r.max():.3g} | {np.median(a['ratios8']):.3g} | "
            f"{a['misses']} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    nmax = int(args[0]) if args else 4
    with np.errstate(all="ignore"):
        if "--wide" in sys.argv:
            found: list = []
            for variant in ("plain", "noisy", "noisy-undeclared"):
                print(f"\n{variant}:\n")
                print(table_wide(study_wide(nmax, (variant,), misses=found)))
            print()
            for m in found:
                n, name, x, variant, df, err, true = m
                print(f"MISS n={n} {name} x={x:g} {variant} df={df:.17g}", end=" ")
                print(f"err={err:.2e} true={true:.2e}")
        else:
            print(table(study(nmax)))
            print()
            print(table(study_hessians()).replace("| n |", "| verb |"))
