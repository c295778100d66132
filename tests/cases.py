"""Reference cases for derivative(): (name, f for NumPy, f for mpmath, points, reason).

Exact derivatives come from mpmath.diff at 40 digits, so no constant here is unexplained.
"""

from __future__ import annotations

from functools import cache

import mpmath
import numpy as np

mpmath.mp.dps = 40

# name, numpy f, mpmath f, points
SMOOTH = [
    ("exp", np.exp, mpmath.exp, (-2.0, 0.0, 1.0, 3.5)),
    ("sin", np.sin, mpmath.sin, (-1.0, 0.3, 2.0, 10.0)),
    ("cos", np.cos, mpmath.cos, (0.0, 0.7, 3.0)),
    ("log", np.log, mpmath.log, (0.05, 1.0, 7.0, 1e3)),
    ("sqrt", np.sqrt, mpmath.sqrt, (0.01, 1.0, 50.0)),
    ("atan", np.arctan, mpmath.atan, (-3.0, 0.0, 0.5)),
    ("tanh", np.tanh, mpmath.tanh, (-2.0, 0.1, 1.5)),
    (
        "exp(x)sin(x)",
        lambda x: np.exp(x) * np.sin(x),
        lambda x: mpmath.exp(x) * mpmath.sin(x),
        (-1.0, 0.5, 2.0),
    ),
    ("1/(1+x^2)", lambda x: 1 / (1 + x * x), lambda x: 1 / (1 + x * x), (-2.0, 0.0, 0.3, 4.0)),
    ("x^5-3x^2", lambda x: x**5 - 3 * x**2, lambda x: x**5 - 3 * x**2, (-1.5, 0.0, 2.0)),
    (
        "sigmoid",
        lambda x: 1 / (1 + np.exp(-x)),
        lambda x: 1 / (1 + mpmath.exp(-x)),
        (-4.0, 0.0, 2.5),
    ),
    ("x^2 at 1e8", lambda x: x * x, lambda x: x * x, (1e8, -3e7)),
    ("sin at 1e6", np.sin, mpmath.sin, (1e6, 1e5)),
    ("exp(10x)", lambda x: np.exp(10 * x), lambda x: mpmath.exp(10 * x), (0.0, 1.0)),
    ("cosh", np.cosh, mpmath.cosh, (0.0, 2.0)),
    ("erf", lambda x: np.vectorize(lambda t: float(mpmath.erf(t)))(x), mpmath.erf, (0.0, 0.8)),
]


@cache
def exact(name: str, x: float, n: int) -> float:
    """d^n f / dx^n at x, to 40 digits, as a float."""
    fm = {row[0]: row[2] for row in SMOOTH}[name]
    return float(mpmath.diff(fm, mpmath.mpf(x), n))


def smooth_cases(nmax: int = 4):
    for name, f, _, points in SMOOTH:
        for x in points:
            for n in range(1, nmax + 1):
                yield name, f, x, n
