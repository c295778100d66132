"""Small shared argument checks with uniform messages: "`name` must be <rule>; got <value>."."""

from __future__ import annotations

import numbers
import operator
from typing import Any

import numpy as np


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def fail(name: str, rule: str, value: Any, exc: type[Exception] = ValueError) -> Exception:
    """Build the exception for a parameter that breaks its rule (the caller raises it)."""
    return exc(f"`{name}` must be {rule}; got {_show(value)}.")


def check_int(name: str, value: Any, minimum: int, rule: str | None = None) -> int:
    """Return `value` as an int, requiring an integer type and ``value >= minimum``."""
    if type(value) is int and value >= minimum:  # the common case, without the ABC check
        return value
    rule = rule or ("a non-negative integer" if minimum == 0 else f"an integer >= {minimum}")
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise fail(name, rule, value)
    value = operator.index(value)
    if value < minimum:
        raise fail(name, rule, value)
    return value


def check_real_array(name: str, value: Any) -> np.ndarray:
    """`value` as a float64 array; complex, string and object input raise TypeError."""
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged nested sequences
        raise fail(name, "a real array_like", value, TypeError) from exc
    kind = arr.dtype.kind
    if kind == "c":
        raise fail(name, "real, not complex", value, TypeError)
    if kind not in "biuf":
        raise fail(name, "a real array_like of numbers", value, TypeError)
    return np.asarray(arr, dtype=np.float64, order="C")  # keeps 0-d (ascontiguousarray would not)
