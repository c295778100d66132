"""The one result type returned by every verb and method."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from fastdiff._kernels import _dual

_FIELDS = ("df", "error", "success", "status", "nfev", "step", "method")


@dataclass(frozen=True, repr=False)
class Result:
    """A derivative estimate with its error bar and per-element status.

    Attributes
    ----------
    df : float, complex or ndarray
        The derivative estimate (complex where f is complex-valued).
    error : float or ndarray
        Estimated absolute error of `df`, same shape, ``>= 0``. Where `success` is True it is
        built to bound the true error.
    success : bool or ndarray of bool
        ``status >= 0``: True exactly where the estimate is trusted.
    status : int or ndarray of int
        Per-element code, see :class:`fastdiff.Status`.
    nfev : int
        Number of points at which f was evaluated, over the whole call.
    step : float or ndarray
        The step behind each returned estimate (0 for exact methods).
    method : str
        The method used.
    """

    # Slots, so that compiled code builds a Result with seven stores (fastdiff._kernels.
    # _result.pxd) instead of seven attribute look-ups: a third of a scalar dual derivative.
    __slots__ = (*_FIELDS, "__weakref__")

    df: Any
    error: Any
    success: Any
    status: Any
    nfev: int
    step: Any
    method: str

    def __repr__(self) -> str:
        with np.printoptions(precision=17 if np.ndim(self.df) == 0 else 8, threshold=20):
            body = ",\n".join(f"    {k}={_show(getattr(self, k))}" for k in _FIELDS)
        return f"Result(\n{body},\n)"

    # Pickled as before the slots: the state is the dict of the fields, so a pickle made by
    # an earlier fastdiff loads here and one made here loads there (the same bytes).
    def __getstate__(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in _FIELDS}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for k in _FIELDS:
            object.__setattr__(self, k, state[k])


make_result: Callable[[Any, Any, Any, Any, int, Any, str], Result]
make_result = _dual.bind_result(Result)
"""``make_result(df, error, success, status, nfev, step, method)``: the Result, built in
compiled code (no frozen-dataclass __init__ and its seven object.__setattr__ calls; the
microsecond scalar paths build one per call). Same object, same semantics."""


def shaped_result(
    df: Any,
    error: Any,
    status: Any,
    nfev: int,
    step: Any,
    method: str,
    shape: tuple[int, ...],
    step_shape: tuple[int, ...],
) -> Result:
    """A Result from flat engine outputs: df, error, status reshaped to `shape`, step to
    `step_shape`, success derived from status; 0-d results become scalars."""
    status = np.asarray(status).astype(np.int64).reshape(shape)

    def out(v: Any, shp: tuple[int, ...]) -> Any:
        if type(v) is not np.ndarray or v.shape != shp:  # (most engine outputs are shaped)
            v = np.asarray(v).reshape(shp)
        return v[()] if v.ndim == 0 else v

    return make_result(
        out(df, shape),
        out(error, shape),
        out(status >= 0, shape),
        out(status, shape),
        int(nfev),
        out(step, step_shape),
        method,
    )


def _show(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return np.array2string(value, separator=", ", prefix="    ").replace("\n", "\n    ")
    if isinstance(value, np.generic):
        return repr(value.item())
    return repr(value)
