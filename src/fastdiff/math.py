"""Elementary functions for floats, arrays and :class:`fastdiff.Dual` numbers.

Every function here is one row of the rule table ``csrc/dual_rules.def`` (value, first and
second derivative, domain and edge convention), exported under its NumPy name and under the
Python-`math` / SciPy spellings where they differ (``arcsin`` and ``asin``, ``expit`` and
``sigmoid``, ``absolute``, ``abs`` and ``fabs``, ``power`` and ``pow``). Floats and arrays
follow NumPy: outside the domain the result is NaN or inf, never an exception. On Duals the
result carries the exact derivative; `log` also takes an optional ``base``.

Conventions at kinks and edges: ``abs'(0) = 0``, ``relu'(0) = 0``, ``maximum``/``minimum``
give each side 1/2 at a tie, ``sqrt'(0) = inf``, ``d/dy 0**y = 0`` for ``y > 0``.

Examples
--------
>>> import fastdiff as fd
>>> from fastdiff import math as fm
>>> x = fd.Dual(0.7)
>>> y = fm.sin(x) * fm.exp(x) + x**3
>>> exact = (fm.cos(0.7) + fm.sin(0.7)) * fm.exp(0.7) + 3 * 0.7**2
>>> bool(abs(y.partials[0] - exact) < 1e-15 * exact)
True
>>> fm.log(-1.0)          # floats follow NumPy: NaN outside the domain
nan
"""

from __future__ import annotations

from typing import Any

from fastdiff._kernels import _dual

__all__: list[str] = []


def _example_point(name: str) -> float:
    lo, hi = _dual.RULE_DOMAINS[name][:2]
    return 0.5 if lo < 0.5 < hi else lo + 0.5


def _docstring(name: str, canonical: str) -> str:
    arity = _dual.RULE_ARITY[canonical]
    spellings = [canonical, *sorted(a for a, c in _dual.ALIASES.items() if c == canonical)]
    point = _example_point(canonical)
    if arity == 1:
        params = "x : float, array_like or Dual"
        call, dual_call = f"{name}({point!r})", f"{name}(Dual({point!r}))"
    else:
        params = "x, y : float, array_like or Dual (broadcast together)"
        call, dual_call = f"{name}({point!r}, 2.0)", f"{name}(Dual({point!r}), 2.0)"
    return (
        f"Elementwise ``{canonical}`` for floats, arrays and Duals (also spelled "
        f"{', '.join(spellings)}).\n\n"
        f"Parameters\n----------\n{params}\n\n"
        "Returns\n-------\nfloat, ndarray or Dual\n"
        "    A float for a float, an ndarray for an array (NaN/inf outside the domain, as in\n"
        "    NumPy), a Dual carrying the exact derivative for a Dual.\n\n"
        f"Notes\n-----\nDomain and convention: {_dual.RULE_NOTES[canonical]}.\n"
        "Generated from the row of ``csrc/dual_rules.def``.\n\n"
        "Examples\n--------\n"
        ">>> from fastdiff import Dual\n"
        f">>> from fastdiff.math import {name}\n"
        f">>> {dual_call}.value == {call}\n"
        "True\n"
    )


def _export(name: str, canonical: str) -> None:
    globals()[name] = _dual.rule_function(name, _docstring(name, canonical))
    __all__.append(name)


for _name in _dual.RULE_NAMES:
    _export(_name, _name)
for _alias, _canonical in _dual.ALIASES.items():
    _export(_alias, _canonical)
del _name, _alias, _canonical

_log_natural = globals()["log"]


def log(x: Any, base: Any = None) -> Any:
    """Natural logarithm, or the logarithm to `base`, for floats, arrays and Duals.

    Parameters
    ----------
    x : float, array_like or Dual
        Argument; ``x > 0`` (NaN below 0 and ``-inf`` at 0, as in NumPy).
    base : float or Dual, optional
        The base; ``log(x, base) = log(x) / log(base)``.

    Returns
    -------
    float, ndarray or Dual

    Notes
    -----
    Domain and convention: see ``log`` in ``csrc/dual_rules.def``; log'(x) = 1/x.

    Examples
    --------
    >>> from fastdiff import Dual
    >>> from fastdiff.math import log
    >>> log(Dual(2.0))
    Dual(0.6931471805599453, [0.5])
    >>> log(8.0, 2.0)
    3.0
    """
    if base is None:
        return _log_natural(x)
    return _log_natural(x) / _log_natural(base)


RULE_NAMES: tuple[str, ...] = _dual.RULE_NAMES
"""The canonical (NumPy) names of the rows of the rule table, in table order."""
