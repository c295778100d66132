"""derivative() over a dask array: one derivative() per block, lazily (dask.array.map_blocks).

Elements are independent in `derivative`, so a block's result is exactly the numpy result on
those elements: each block runs the ordinary numpy path, and the graph only slices and
reassembles. Nothing here imports dask unless x already is a dask array.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from fastdiff._result import Result, make_result
from fastdiff._validation import check_int, check_real_array, fail


def is_dask_array(x: Any) -> bool:
    """True for a dask array. A dask array cannot exist before `dask.array` is imported, so
    this looks in `sys.modules` and never imports dask itself."""
    da = sys.modules.get("dask.array")
    return da is not None and isinstance(x, da.Array)


def dask_derivative(f: Any, x: Any, options: dict[str, Any]) -> Result:
    """`derivative(f, x, **options)` for a dask array x: a Result of dask arrays.

    The arguments are checked now, as far as they can be without computing x; x's values
    (finite, inside `bounds`) are checked block by block when the result is computed.
    """
    import dask.array as da

    _check_eager(f, x, options)
    options = dict(options)
    # step and bounds may be arrays broadcastable to x: they become dask arrays chunked like
    # x and travel with the blocks; scalars and None stay in the options
    names: list[str] = []
    arrays: list[Any] = []
    if _array(options["step"]):
        names.append("step")
        arrays.append(_like(da, options.pop("step"), x))
    bounds = options["bounds"]
    if bounds is not None and (_array(bounds[0]) or _array(bounds[1])):
        options.pop("bounds")
        names += ["lo", "hi"]
        arrays += [_like(da, bounds[0], x), _like(da, bounds[1], x)]
    df_dtype = _df_dtype(f, options)
    ndim = x.ndim
    parts = da.map_blocks(
        _block,
        x,
        *arrays,
        f=f,
        names=tuple(names),
        options=options,
        df_dtype=df_dtype,
        token="fastdiff-derivative",
        dtype=object,
        meta=np.empty((0,) * ndim, dtype=object),
    )
    dtypes = (df_dtype, np.dtype(np.float64), np.dtype(np.int64), np.dtype(np.float64))
    df, error, status, step = (
        parts.map_blocks(
            _take, k, token=f"fastdiff-{name}", dtype=dt, meta=np.empty((0,) * ndim, dtype=dt)
        )
        for k, (name, dt) in enumerate(zip(("df", "error", "status", "step"), dtypes, strict=True))
    )
    # nfev: one count per block, summed lazily into a 0-d int64 dask array
    counts = parts.map_blocks(
        _count,
        dtype=np.int64,
        chunks=tuple((1,) * len(c) for c in x.chunks),
        token="fastdiff-nfev",
        meta=np.empty((0,) * ndim, dtype=np.int64),
    )
    return make_result(df, error, status >= 0, status, counts.sum(), step, options["method"])


def _check_eager(f: Any, x: Any, options: dict[str, Any]) -> None:
    """What can be checked without x's values, with derivative's own messages."""
    from fastdiff import _complex
    from fastdiff import _derivative as d  # imports this module: imported here, not above

    if x.dtype.kind == "c":
        raise fail("x", "real, not complex", x, TypeError)
    if x.dtype.kind not in "biuf":
        raise fail("x", "a real array_like of numbers", x, TypeError)
    if any(np.isnan(s) for s in x.shape):
        raise fail("x", "a dask array of known shape (call x.compute_chunk_sizes())", x)
    if x.size == 0:
        raise fail("x", "non-empty", x)
    method, n = options["method"], options["n"]
    if method == "dual":
        d.check_dual_args(
            f,
            options["args"],
            options["kwargs"],
            options["vectorized"],
            order=options["order"],
            step=options["step"],
            bounds=options["bounds"],
            noise=options["noise"],
        )
        check_int("n", n, 1, "a positive integer")
        return
    d.check_common(f, options["args"], options["kwargs"], options["vectorized"])
    check_int("n", n, 1, "a positive integer")
    if not isinstance(method, str) or method not in d.METHODS:
        raise fail("method", "one of " + ", ".join(map(repr, d.METHODS)), method)
    if method == "complex":
        _complex.check_order(options["order"], n)
        if options["bounds"] is not None:
            raise fail(
                "bounds",
                "None for method='complex' (its points leave the real axis)",
                options["bounds"],
            )
    else:
        d.check_order(method, options["order"], n)
    d.check_tolerances(options["rtol"], options["atol"])
    d.check_noise(options["noise"])
    step = options["step"]
    if step is not None and not is_dask_array(step):
        s = check_real_array("step", step)
        if not (np.isfinite(s).all() and (s > 0).all()):
            raise fail("step", "a finite number > 0 (or an array of them), or None", step)
        _broadcastable("step", s.shape, x.shape, step)
    bounds = options["bounds"]
    if bounds is not None:
        try:
            lo, hi = bounds
        except (TypeError, ValueError) as exc:
            raise fail("bounds", "a pair (lo, hi)", bounds, TypeError) from exc
        for v in (lo, hi):
            if not is_dask_array(v):
                _broadcastable("bounds", check_real_array("bounds", v).shape, x.shape, bounds)


def _broadcastable(name: str, shape: tuple[int, ...], to: tuple[int, ...], value: Any) -> None:
    try:
        ok = np.broadcast_shapes(shape, to) == tuple(to)
    except ValueError:
        ok = False
    if not ok:
        raise fail(name, f"broadcastable to x's shape {tuple(to)}", value)


def _array(value: Any) -> bool:
    """Whether value goes with the blocks: an array (not a scalar), or any dask array (a
    0-d one too, which a block must not compute inside its task)."""
    return value is not None and (np.ndim(value) > 0 or is_dask_array(value))


def _like(da: Any, value: Any, x: Any) -> Any:
    """value broadcast to x's shape and chunks, as a dask array (no full-size numpy copy)."""
    return da.broadcast_to(da.asarray(value), x.shape).rechunk(x.chunks)


def _df_dtype(f: Any, options: dict[str, Any]) -> np.dtype:
    """df's dtype: complex128 where f gives complex values, else float64.

    With vectorized=True, f is asked on an empty array (dask's own way of finding a
    function's output type; no point is evaluated). With vectorized=False f takes one float
    at a time and is not called here: df is declared float64, and a block whose df turns
    out complex raises TypeError (see _block) rather than carry a wrong dtype.
    """
    if options["vectorized"] and options["method"] not in ("complex", "dual"):
        kwargs = options["kwargs"] or {}
        try:
            with np.errstate(all="ignore"):
                out = f(np.empty(0), *options["args"], **kwargs)
            if np.iscomplexobj(out):
                return np.dtype(np.complex128)
        except Exception:  # f may not take an empty array; the blocks will tell
            pass
    return np.dtype(np.float64)


def _block(
    xb: np.ndarray,
    *arrays: np.ndarray,
    f: Any,
    names: tuple[str, ...],
    options: dict[str, Any],
    df_dtype: np.dtype,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """One block: derivative() on a numpy array, its fields shaped like the block."""
    from fastdiff._derivative import derivative

    opts = dict(options)
    given = dict(zip(names, arrays, strict=True))
    if "step" in given:
        opts["step"] = given["step"]
    if "lo" in given:
        opts["bounds"] = (given["lo"], given["hi"])
    res = derivative(f, np.asarray(xb), **opts)
    shape = np.shape(xb)
    df = np.asarray(res.df).reshape(shape)
    if np.iscomplexobj(df) and df_dtype.kind != "c":
        raise fail(
            "f",
            "real-valued, or vectorized=True for a complex-valued f with a dask x (then its "
            "dtype is found from f on an empty array)",
            f,
            TypeError,
        )
    return (
        df.astype(df_dtype, copy=False),
        np.asarray(res.error, dtype=np.float64).reshape(shape),
        np.asarray(res.status, dtype=np.int64).reshape(shape),
        np.broadcast_to(np.asarray(res.step, dtype=np.float64), shape),  # 0.0 for "dual"
        int(res.nfev),
    )


def _take(parts: tuple[Any, ...], k: int) -> np.ndarray:
    return parts[k]


def _count(parts: tuple[Any, ...]) -> np.ndarray:
    return np.full((1,) * np.ndim(parts[0]), parts[4], dtype=np.int64)
