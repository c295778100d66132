"""The honesty study: error bars of the real-step ladder against mpmath, case by case.

A case is (function, point, n, variant). Each function is written once over a namespace of
elementary functions, so the same expression runs on floats (NumPy) and on mpmath numbers
(the oracle, 50 digits). Points include domain edges and extremes of scale; variants add
noise to f, declared through ``noise=`` or not.

For every trusted estimate the study records ``ratio = error / true error`` (the true error
floored at the rounding slack the contract allows, ``8 eps max(1, |df|)``: below it a bar
cannot be judged) and counts a *miss* where the true error exceeds ``error`` plus that slack.
``summary()`` reduces the records to one row per method and n: trusted count, failures,
median and 90th percentile of the ratio, the loosest ratio and the misses.

``tools/honesty_table.py`` prints the table; ``tests/test_honesty.py`` asserts on it; the asv
benchmarks in ``benchmarks/finite_diff.py`` track it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cache
from typing import Any

import mpmath
import numpy as np
import scipy.special

import fastdiff as fd

EPS = float(np.finfo(np.float64).eps)
SLACK = 8 * EPS  # DESIGN.md: rounding slack of order 1e-15 max(1, |df|)
DPS = 50


class _NumPy:
    """NumPy under mpmath's names, so one expression serves both."""

    exp, sin, cos, tan, log, log1p, expm1 = (
        np.exp,
        np.sin,
        np.cos,
        np.tan,
        np.log,
        np.log1p,
        np.expm1,
    )
    sqrt, cbrt, sinh, cosh, tanh = np.sqrt, np.cbrt, np.sinh, np.cosh, np.tanh
    atan, asin, acos = np.arctan, np.arcsin, np.arccos
    asinh, acosh, atanh = np.arcsinh, np.arccosh, np.arctanh
    pi = np.pi

    # SciPy's ufuncs, not `math`'s: outside the domain they return NaN, as f may
    erf, erfc, loggamma = scipy.special.erf, scipy.special.erfc, scipy.special.gammaln

    @staticmethod
    def power(x, p):
        return np.power(x, p)


class _MP:
    exp, sin, cos, tan, log, log1p, expm1 = (
        mpmath.exp,
        mpmath.sin,
        mpmath.cos,
        mpmath.tan,
        mpmath.log,
        mpmath.log1p,
        mpmath.expm1,
    )
    sqrt, sinh, cosh, tanh = mpmath.sqrt, mpmath.sinh, mpmath.cosh, mpmath.tanh
    atan, asin, acos = mpmath.atan, mpmath.asin, mpmath.acos
    asinh, acosh, atanh = mpmath.asinh, mpmath.acosh, mpmath.atanh
    erf, erfc, loggamma = mpmath.erf, mpmath.erfc, mpmath.loggamma
    pi = mpmath.pi

    @staticmethod
    def power(x, p):
        return mpmath.power(x, p)

    @staticmethod
    def cbrt(x):  # the real cube root, as NumPy's (mpmath's is the principal complex one)
        return mpmath.cbrt(x) if x >= 0 else -mpmath.cbrt(-x)


# name, expression over a namespace m, points. Points near a domain edge or a singularity,
# and at extreme scales, are deliberate: the ladder must notice them, not be fooled.
FUNCTIONS: list[tuple[str, Any, tuple[float, ...]]] = [
    ("exp", lambda x, m: m.exp(x), (-2.0, 0.0, 1.0, 3.5, -30.0, 1e-10)),
    ("sin", lambda x, m: m.sin(x), (-1.0, 0.3, 2.0, 10.0, 1e-9)),
    ("cos", lambda x, m: m.cos(x), (0.0, 0.7, 3.0, -5.5)),
    ("tan", lambda x, m: m.tan(x), (0.0, 0.5, 1.4, -1.2)),
    ("log", lambda x, m: m.log(x), (0.05, 1.0, 7.0, 1e3, 1e-6, 1e12)),
    ("log1p", lambda x, m: m.log1p(x), (-0.5, 0.0, 2.0, 1e-8)),
    ("expm1", lambda x, m: m.expm1(x), (-1.0, 0.0, 1e-7, 2.0)),
    ("sqrt", lambda x, m: m.sqrt(x), (0.01, 1.0, 50.0, 1e-6, 1e10)),
    ("cbrt", lambda x, m: m.cbrt(x), (0.2, 1.0, -8.0, 1e6)),
    ("atan", lambda x, m: m.atan(x), (-3.0, 0.0, 0.5, 40.0)),
    ("asin", lambda x, m: m.asin(x), (0.0, 0.5, -0.9, 0.999)),
    ("acos", lambda x, m: m.acos(x), (0.1, -0.6, 0.99)),
    ("sinh", lambda x, m: m.sinh(x), (0.0, 1.0, -3.0, 20.0)),
    ("cosh", lambda x, m: m.cosh(x), (0.0, 2.0, -0.4)),
    ("tanh", lambda x, m: m.tanh(x), (-2.0, 0.1, 1.5, 6.0)),
    ("asinh", lambda x, m: m.asinh(x), (0.0, 1.0, -20.0)),
    ("acosh", lambda x, m: m.acosh(x), (1.5, 3.0, 1.001)),
    ("atanh", lambda x, m: m.atanh(x), (0.0, 0.5, -0.95)),
    ("erf", lambda x, m: m.erf(x), (0.0, 0.8, -2.0)),
    ("erfc", lambda x, m: m.erfc(x), (0.5, 3.0, -1.0)),
    ("lgamma", lambda x, m: m.loggamma(x), (0.5, 2.0, 10.0, 100.0)),
    ("sigmoid", lambda x, m: 1 / (1 + m.exp(-x)), (-4.0, 0.0, 2.5, 30.0)),
    ("softplus", lambda x, m: m.log1p(m.exp(x)), (-3.0, 0.0, 5.0)),
    ("1/(1+x^2)", lambda x, m: 1 / (1 + x * x), (-2.0, 0.0, 0.3, 4.0)),
    ("1/(x^2+0.01)", lambda x, m: 1 / (x * x + 0.01), (0.0, 0.05, 1.0)),
    ("x^5-3x^2", lambda x, m: x**5 - 3 * x**2, (-1.5, 0.0, 2.0)),
    ("x^4", lambda x, m: x**4, (0.0, 1.0, -3.0)),
    (
        "runge8",
        lambda x, m: (((((((x - 1) * x + 2) * x - 3) * x + 1) * x) - 2) * x + 1) * x,
        (0.5, -1.1),
    ),
    ("exp(x)sin(x)", lambda x, m: m.exp(x) * m.sin(x), (-1.0, 0.5, 0.7, 2.0)),
    ("gauss", lambda x, m: m.exp(-x * x), (0.0, 0.6, 2.0, -3.0)),
    ("x log x", lambda x, m: x * m.log(x), (0.1, 1.0, 5.0)),
    ("x^x", lambda x, m: m.exp(x * m.log(x)), (0.5, 1.0, 2.5)),
    ("sin(x)/x", lambda x, m: m.sin(x) / x, (0.5, 2.0, 9.0)),
    ("log(1+x^2)", lambda x, m: m.log(1 + x * x), (0.0, 0.5, 3.0)),
    ("sqrt(1+x^2)", lambda x, m: m.sqrt(1 + x * x), (0.0, -1.0, 10.0)),
    ("exp(10x)", lambda x, m: m.exp(10 * x), (0.0, 1.0, -2.0)),
    ("sin(10x)", lambda x, m: m.sin(10 * x), (0.0, 0.3, 1.7)),
    ("cos(x^2)", lambda x, m: m.cos(x * x), (0.0, 1.0, 2.2)),
    ("1/x", lambda x, m: 1 / x, (0.5, -2.0, 1e-3, 1e5)),
    ("x^-2.5", lambda x, m: m.power(x, -2.5), (0.3, 1.0, 4.0)),
    ("x^1.5", lambda x, m: m.power(x, 1.5), (0.02, 1.0, 9.0)),
    ("exp(sin x)", lambda x, m: m.exp(m.sin(x)), (0.0, 1.0, 2.5)),
    ("sin(exp x)", lambda x, m: m.sin(m.exp(x)), (-1.0, 0.5, 1.5)),
    ("log cosh", lambda x, m: m.log(m.cosh(x)), (0.0, 1.0, -4.0)),
    ("atan(x^3)", lambda x, m: m.atan(x**3), (0.5, 1.0, -1.5)),
    ("x^3 exp(-x)", lambda x, m: x**3 * m.exp(-x), (0.5, 3.0, 8.0)),
    ("exp(x)/(1+x)", lambda x, m: m.exp(x) / (1 + x), (0.0, 2.0, -0.5)),
    ("sqrt(x)exp(-x)", lambda x, m: m.sqrt(x) * m.exp(-x), (0.1, 1.0, 4.0)),
    ("log log", lambda x, m: m.log(m.log(x)), (1.5, 3.0, 20.0)),
    ("cos cosh", lambda x, m: m.cos(x) * m.cosh(x), (0.0, 1.0, 2.0)),
    ("x sin(1/x)", lambda x, m: x * m.sin(1 / x), (0.5, 1.0, 3.0)),
    ("asinh(10x)", lambda x, m: m.asinh(10 * x), (0.0, 0.1, 1.0)),
    ("tanh^2", lambda x, m: m.tanh(x) ** 2, (0.0, 0.5, 2.0)),
    ("(1+x)^(1/3)", lambda x, m: m.cbrt(1 + x), (0.0, 2.0, -0.5)),
    ("sin^2+x", lambda x, m: m.sin(x) ** 2 + x, (0.0, 1.0, 4.0)),
    ("x^2 at large x", lambda x, m: x * x, (1e8, -3e7)),
    ("sin at large x", lambda x, m: m.sin(x), (1e6, 1e5)),
    ("tiny exp", lambda x, m: 1e-200 * m.exp(x), (0.0, 1.0)),
    ("huge sin", lambda x, m: 1e200 * m.sin(x), (0.5, 2.0)),
    ("exp at tiny x", lambda x, m: m.exp(x), (1e-300, -1e-150)),
    ("cosh-1", lambda x, m: m.cosh(x) - 1, (1e-3, 0.5)),
    ("1/(1+exp(-10x))", lambda x, m: 1 / (1 + m.exp(-10 * x)), (0.0, 0.2, -1.0)),
    # issue 9, a wider study: closer to domain edges, overflow and underflow, steep scales
    ("log near 0", lambda x, m: m.log(x), (1e-12, 3e-9)),
    ("sqrt near 0", lambda x, m: m.sqrt(x), (1e-12, 2e-9)),
    ("exp near overflow", lambda x, m: m.exp(x), (700.0, -700.0)),
    ("atan at large x", lambda x, m: m.atan(x), (1e8, -1e15)),
    ("tanh(100x)", lambda x, m: m.tanh(100 * x), (0.0, 0.01, -0.02)),
    ("x^2 at tiny x", lambda x, m: x * x, (1e-150, -3e-100)),
]

#: Relative noise of the noisy variants: far above eps, far below the derivative's scale.
NOISE = 1e-10
#: The variants: plain f; f with relative noise NOISE declared through ``noise=``; the same
#: noise undeclared (the ladder must learn it from the estimates).
VARIANTS = ("plain", "noisy", "noisy-undeclared")
METHODS = ("central", "forward", "backward")


def _hash_unit(x: float) -> float:
    """A deterministic pseudo-random number in [-1, 1] from the bits of x."""
    (bits,) = struct.unpack("<Q", struct.pack("<d", float(x)))
    bits = (bits * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF
    bits ^= bits >> 29
    bits = (bits * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    bits ^= bits >> 32
    return (bits / 2.0**64) * 2.0 - 1.0


def numpy_f(name: str, variant: str = "plain"):
    expr = _EXPR[name]
    # np.float64: outside the domain f gives NaN or inf (as NumPy code does), never raises
    if variant == "plain":
        return lambda x: expr(np.float64(x), _NumPy)
    return lambda x: expr(np.float64(x), _NumPy) * (1.0 + NOISE * _hash_unit(x))


_EXPR = {name: expr for name, expr, _ in FUNCTIONS}


@cache
def exact(name: str, x: float, n: int) -> float:
    """d^n f / dx^n at x from mpmath at DPS digits, as a float."""
    with mpmath.workdps(DPS):
        return float(mpmath.diff(lambda t: _EXPR[name](t, _MP), mpmath.mpf(x), n))


@dataclass(frozen=True)
class Record:
    name: str
    x: float
    n: int
    method: str
    variant: str
    df: float
    error: float
    exact: float
    success: bool
    status: int

    @property
    def true_error(self) -> float:
        return abs(self.df - self.exact)

    @property
    def slack(self) -> float:
        return SLACK * max(1.0, abs(self.df))

    @property
    def miss(self) -> bool:
        return self.success and not self.true_error <= self.error + self.slack

    @property
    def ratio(self) -> float:
        """error / true error, the true error floored at the rounding slack."""
        return self.error / max(self.true_error, self.slack)


def cases(nmax: int = 4, variants=VARIANTS):
    for name, _, points in FUNCTIONS:
        for x in points:
            for n in range(1, nmax + 1):
                for variant in variants:
                    yield name, x, n, variant


def run_case(name: str, x: float, n: int, method: str, variant: str) -> Record:
    f = numpy_f(name, variant)
    noise = NOISE if variant == "noisy" else None
    res = fd.derivative(f, x, n=n, method=method, noise=noise)
    return Record(
        name,
        x,
        n,
        method,
        variant,
        float(res.df),
        float(res.error),
        exact(name, x, n),
        bool(res.success),
        int(res.status),
    )


def run(methods=METHODS, nmax: int = 4, variants=VARIANTS) -> list[Record]:
    return [
        run_case(name, x, n, method, variant)
        for method in methods
        for name, x, n, variant in cases(nmax, variants)
    ]


@dataclass(frozen=True)
class Row:
    method: str
    n: int
    cases: int
    trusted: int
    median: float
    p90: float
    loosest: float
    tightest: float
    misses: int


def summary(records: list[Record]) -> list[Row]:
    """One Row per (method, n): the distribution of error/true over trusted estimates."""
    rows = []
    keys = sorted({(r.method, r.n) for r in records}, key=lambda k: (METHODS.index(k[0]), k[1]))
    for method, n in keys:
        sel = [r for r in records if r.method == method and r.n == n]
        ok = [r for r in sel if r.success]
        ratios = np.array([r.ratio for r in ok]) if ok else np.array([np.nan])
        rows.append(
            Row(
                method,
                n,
                len(sel),
                len(ok),
                float(np.median(ratios)),
                float(np.percentile(ratios, 90)),
                float(np.max(ratios)),
                float(np.min(ratios)),
                sum(r.miss for r in sel),
            )
        )
    return rows


def format_table(rows: list[Row]) -> str:
    lines = [
        "| method | n | cases | trusted | median | p90 | loosest | tightest | misses |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.method} | {r.n} | {r.cases} | {r.trusted} | {r.median:.3g} | {r.p90:.3g} | "
            f"{r.loosest:.3g} | {r.tightest:.3g} | {r.misses} |"
        )
    return "\n".join(lines)
