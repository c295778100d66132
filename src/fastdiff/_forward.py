"""method="dual": forward-mode derivatives with :class:`fastdiff.Dual` numbers.

Each function takes f, the point x (a float64 ndarray as validated by the public verb; inside a
nested differentiation an object array or a Dual), and returns the same :class:`Result` as the
finite-difference methods. Every call draws a fresh tag (so nested calls cannot confuse their
perturbations) and retires it on return (so a Dual that escapes its call raises when used).
Exceptions raised by f propagate unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from fastdiff._kernels import _dual
from fastdiff._kernels._dual import Dual
from fastdiff._result import Result
from fastdiff._status import Status
from fastdiff._validation import check_int, fail

DEFAULT_CHUNK = 512
"""Partials per evaluation of f in gradient/jacobian (ForwardDiff's chunk size).

A gradient of n variables costs ceil(n / chunk) evaluations of f, each carrying `chunk`
partials through every operation. Unlike ForwardDiff (12, sized for stack allocation), the
Python-level cost of each Dual operation dominates the arithmetic on its partials: for the
385-parameter MLP loss of tests/mlp.py, chunks of 8/64/128/385 took 78/12/8.8/4.2 ms. So the
default seeds up to 512 variables at once (4 KB of partials per Dual) and chunks beyond.
"""

ROUNDING_ULPS = 4.0
"""`error` of a dual derivative: ROUNDING_ULPS * eps * |df|, the rounding level of the
arithmetic (dual numbers have no truncation error)."""

_EPS = float(np.finfo(np.float64).eps)
_ZERO_STEP = np.zeros(())
_INF = float("inf")


def dual_derivative(
    f: Callable[..., Any], x: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
) -> Result:
    """Elementwise first derivative of a scalar function: one Dual evaluation per element.

    Parameters
    ----------
    f : callable
        ``f(x, *args, **kwargs)`` for a scalar x, written with `fastdiff.math` or NumPy.
    x : ndarray
        Points (any shape), each differentiated independently.
    args, kwargs
        Extra arguments for f.

    Returns
    -------
    Result
        ``df`` shaped like x (a float for 0-d x), ``error`` the rounding level, ``step`` 0,
        ``nfev == x.size``, ``method == "dual"``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdiff._forward import dual_derivative
    >>> r = dual_derivative(np.sin, np.array([0.0, np.pi]))
    >>> r.df
    array([ 1., -1.])
    >>> r.nfev, r.success.tolist()
    (2, [True, True])
    """
    _check_f(f)
    kwargs = kwargs or {}
    xs = _as_points(x)
    if xs.shape == ():  # one point: no arrays on the way
        tag = _dual.open_tag()
        try:
            y = _scalar_output(f(_dual.seed_one(xs.item(), tag), *args, **kwargs))
            d = _dual.extract(y, tag, 1)[1][0]
        finally:
            _dual.close_tag(tag)
        return _result(float(d) if isinstance(d, np.floating) else d, 1, _ZERO_STEP)
    flat = xs.reshape(-1).tolist()  # Python floats (or Duals): the fast seed path
    out = np.empty(len(flat), dtype=object)
    tag = _dual.open_tag()
    try:
        for i, xi in enumerate(flat):
            y = _scalar_output(f(_dual.seed_one(xi, tag), *args, **kwargs))
            out[i] = _dual.extract(y, tag, 1)[1][0]
    finally:
        _dual.close_tag(tag)
    return _result(_shape(out, xs.shape), len(flat), np.zeros(xs.shape))


def dual_gradient(
    f: Callable[..., Any],
    x: Any,
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
    chunk: int | None = None,
) -> Result:
    """Gradient of a scalar function of an array x, by chunks of `chunk` partials.

    Parameters
    ----------
    f : callable
        ``f(X, *args, **kwargs)`` with X an object array of Duals shaped like x (a Dual when x
        is 0-d), returning a scalar.
    x : ndarray
        The point, any shape S.
    args, kwargs
        Extra arguments for f.
    chunk : int, optional
        Partials per evaluation; default `DEFAULT_CHUNK`. f is evaluated
        ``ceil(x.size / chunk)`` times.

    Returns
    -------
    Result
        ``df`` of shape S, ``step`` zeros of shape S.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdiff._forward import dual_gradient
    >>> dual_gradient(lambda v: (v * v).sum(), np.array([1.0, 2.0, 3.0])).df
    array([2., 4., 6.])
    """
    jac = dual_jacobian(f, x, args, kwargs, chunk=chunk)
    if np.ndim(jac.df) != np.ndim(x):
        raise ValueError(
            "`f` must return a scalar for gradient; got an output of shape "
            f"{np.shape(jac.df)[: np.ndim(jac.df) - np.ndim(x)]} (use jacobian)."
        )
    return jac


def dual_jacobian(
    f: Callable[..., Any],
    x: Any,
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
    chunk: int | None = None,
) -> Result:
    """Jacobian ``J[i..., j...] = d f_i / d x_j`` of shape F + S, by chunks of partials.

    Parameters
    ----------
    f : callable
        ``f(X, *args, **kwargs)`` with X an object array of Duals shaped like x, returning a
        scalar or an array of shape F.
    x : ndarray
        The point, any shape S.
    args, kwargs
        Extra arguments for f.
    chunk : int, optional
        Partials per evaluation; default `DEFAULT_CHUNK`.

    Returns
    -------
    Result
        ``df`` of shape F + S, ``step`` zeros of shape S, ``nfev`` the number of chunks.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdiff._forward import dual_jacobian
    >>> dual_jacobian(lambda v: v[::-1] * 2.0, np.array([1.0, 2.0])).df
    array([[0., 2.],
           [2., 0.]])
    """
    _check_f(f)
    kwargs = kwargs or {}
    xs = _as_points(x)
    n = xs.size
    width = _chunk(chunk, n)
    flat = xs.reshape(-1)
    jac: np.ndarray | None = None
    nfev = 0
    tag = _dual.open_tag()
    try:
        for start in range(0, max(n, 1), width):
            stop = min(start + width, n)
            seeds = np.zeros((n, width))
            seeds[np.arange(start, stop), np.arange(stop - start)] = 1.0
            X = _shape_input(_seed(flat, seeds, tag), xs.shape)
            y = f(X, *args, **kwargs)
            nfev += 1
            ys = _output_array(y)
            if jac is None:
                jac = np.empty((ys.size, n), dtype=object)
                out_shape = ys.shape
            elif ys.shape != out_shape:
                raise ValueError(
                    f"`f` must return the same shape every time; got outputs of shapes "
                    f"{out_shape} and {ys.shape} on different chunks."
                )
            for i, yi in enumerate(ys.reshape(-1)):
                jac[i, start:stop] = _dual.extract(yi, tag, width)[1][: stop - start]
    finally:
        _dual.close_tag(tag)
    assert jac is not None  # n >= 1: at least one chunk ran
    df = _shape(jac.reshape(out_shape + xs.shape), out_shape + xs.shape)
    return _result(df, nfev, np.zeros(xs.shape))


def dual_jvp(
    f: Callable[..., Any],
    x: Any,
    v: Any,
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
) -> Result:
    """Directional derivative ``J(x) @ v``: one evaluation of f on Duals with partials v.

    Parameters
    ----------
    f : callable
        ``f(X, *args, **kwargs)`` with X an object array of Duals shaped like x.
    x, v : ndarray
        The point and the direction, same shape S (`v` is not normalised).
    args, kwargs
        Extra arguments for f.

    Returns
    -------
    Result
        ``df`` of shape F, ``step`` zeros of shape S, ``nfev == 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdiff._forward import dual_jvp
    >>> dual_jvp(lambda u: u * u, np.array([1.0, 2.0]), np.array([1.0, 0.5])).df
    array([2., 2.])
    """
    _check_f(f)
    kwargs = kwargs or {}
    xs = _as_points(x)
    vs = np.asarray(v)
    if vs.shape != xs.shape:
        raise fail("v", f"an array of the same shape as `x` {xs.shape}", v)
    tag = _dual.open_tag()
    try:
        seeds = vs.reshape(-1, 1)
        X = _shape_input(_seed(xs.reshape(-1), seeds, tag), xs.shape)
        ys = _output_array(f(X, *args, **kwargs))
        df = np.empty(ys.size, dtype=object)
        for i, yi in enumerate(ys.reshape(-1)):
            df[i] = _dual.extract(yi, tag, 1)[1][0]
    finally:
        _dual.close_tag(tag)
    return _result(_shape(df.reshape(ys.shape), ys.shape), 1, np.zeros(xs.shape))


def dual_hessian(
    f: Callable[..., Any],
    x: Any,
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
    chunk: int | None = None,
) -> Result:
    """Hessian of a scalar function by forward-over-forward (nested Duals), shape S + S.

    The point is seeded as ``Dual_outer(Dual_inner(x_k, e_k), [e_j])`` for a block of rows j
    and a block of columns k; one evaluation gives that block of second derivatives. Only blocks
    on and above the diagonal are evaluated; the result is symmetrised.

    Parameters
    ----------
    f : callable
        Scalar function of an object array of Duals shaped like x; it may use every
        `fastdiff.math` function (the rule table has second derivatives) and arithmetic.
    x : ndarray
        The point, any shape S.
    args, kwargs
        Extra arguments for f.
    chunk : int, optional
        Rows (and columns) per block; default ``min(x.size, 16)``: the nested arithmetic
        costs chunk**2 per operation.

    Returns
    -------
    Result
        ``df`` of shape S + S (exactly symmetric), ``step`` zeros of shape S, ``nfev`` the
        number of blocks evaluated.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdiff._forward import dual_hessian
    >>> dual_hessian(lambda v: v[0] ** 2 * v[1], np.array([1.0, 3.0])).df
    array([[6., 2.],
           [2., 0.]])
    """
    _check_f(f)
    kwargs = kwargs or {}
    xs = _as_points(x)
    if xs.dtype == object:
        raise TypeError("dual_hessian takes a real point `x`; nest dual_jacobian for Duals.")
    n = xs.size
    width = _chunk(chunk if chunk is not None else min(n, 16), n)
    flat = xs.reshape(-1)
    hess = np.zeros((n, n))
    nfev = 0
    inner = _dual.open_tag()
    try:
        outer = _dual.open_tag()
        try:
            for r0 in range(0, n, width):
                r1 = min(r0 + width, n)
                for c0 in range(r0, n, width):
                    c1 = min(c0 + width, n)
                    cseed = np.zeros((n, width))
                    cseed[np.arange(c0, c1), np.arange(c1 - c0)] = 1.0
                    values = _dual.seed(flat, cseed, inner)
                    X = np.empty(n, dtype=object)
                    for i in range(n):
                        rseed = [1.0 if r0 + j == i else 0.0 for j in range(width)]
                        X[i] = _dual.make(values[i], rseed, outer)
                    y = _scalar_output(f(_shape_input(list(X), xs.shape), *args, **kwargs))
                    nfev += 1
                    _, rows = _dual.extract(y, outer, width)
                    for j in range(r1 - r0):
                        _, block = _dual.extract(rows[j], inner, width)
                        hess[r0 + j, c0:c1] = block[: c1 - c0]
                        hess[c0:c1, r0 + j] = block[: c1 - c0]
        finally:
            _dual.close_tag(outer)
    finally:
        _dual.close_tag(inner)
    hess = 0.5 * (hess + hess.T)
    return _result(hess.reshape(xs.shape + xs.shape), nfev, np.zeros(xs.shape))


# -------------------------------------------------------------------------------------------
# Helpers
# -------------------------------------------------------------------------------------------


def _check_f(f: Any) -> None:
    if not callable(f):
        raise fail("f", "callable", f, TypeError)


def _chunk(chunk: int | None, n: int) -> int:
    if chunk is None:
        return max(1, min(n, DEFAULT_CHUNK))
    return min(check_int("chunk", chunk, 1, "a positive integer"), max(n, 1))


def _as_points(x: Any) -> np.ndarray:
    """x as a float64 array, or an object array when it holds Duals (nested calls)."""
    if isinstance(x, Dual):
        out = np.empty((), dtype=object)
        out[()] = x
        return out
    arr = np.asarray(x)
    if arr.dtype == object and all(isinstance(e, Dual | float | int) for e in arr.flat):
        return arr
    if arr.dtype.kind not in "biuf":
        raise fail("x", "a real array_like (or Duals, inside a nested derivative)", x, TypeError)
    # the same rules as the finite-difference methods (DESIGN: x must be finite and non-empty)
    if arr.size == 0:
        raise fail("x", "non-empty", x)
    if not np.isfinite(arr).all():
        raise fail("x", "finite (no NaN or inf)", x)
    if type(x) is np.ndarray and x.dtype == np.float64:
        return x
    return np.asarray(arr, dtype=np.float64, order="C")  # ascontiguousarray makes 0-d 1-d


def _seed(flat: np.ndarray, seeds: np.ndarray, tag: int) -> list[Any]:
    if flat.dtype == np.float64:
        return _dual.seed(np.ascontiguousarray(flat), np.ascontiguousarray(seeds, float), tag)
    return [_dual.make(v, row, tag) for v, row in zip(flat, seeds.tolist(), strict=True)]


def _shape_input(duals: list[Any], shape: tuple[int, ...]) -> Any:
    if shape == ():
        return duals[0]
    X = np.empty(len(duals), dtype=object)
    X[:] = duals
    return X.reshape(shape)


def _scalar_output(y: Any) -> Any:
    if isinstance(y, np.ndarray):
        if y.shape != ():
            raise ValueError(
                f"`f` must return a scalar here; got an array of shape {y.shape} (use jacobian)."
            )
        return y[()]
    return y


def _output_array(y: Any) -> np.ndarray:
    if isinstance(y, np.ndarray) and y.dtype == object:
        return y
    if isinstance(y, Dual):
        out = np.empty((), dtype=object)
        out[()] = y
        return out
    arr = np.asarray(y)
    if arr.dtype == object:
        return arr
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"`f` must return real numbers or Duals when called with Duals; got {y!r}.")
    return arr


def _shape(values: np.ndarray, shape: tuple[int, ...]) -> Any:
    """Object results become float64 unless they hold Duals (nested calls); 0-d becomes scalar."""
    if values.dtype == object and not any(isinstance(v, Dual) for v in values.flat):
        values = values.astype(np.float64)
    values = values.reshape(shape)
    if shape != ():
        return values
    v = values[()]
    return float(v) if isinstance(v, np.floating) else v


def _primal(v: Any) -> float:
    while type(v) is Dual:
        v = v.value
    return float(v)


def _result(df: Any, nfev: int, step: np.ndarray) -> Result:
    if isinstance(df, (float, Dual)):
        mag = abs(_primal(df))
        finite = mag < _INF
        return Result(
            df=df,
            error=ROUNDING_ULPS * _EPS * mag if finite else _INF,
            success=finite,
            status=int(Status.CONVERGED if finite else Status.NO_FINITE),
            nfev=nfev,
            step=0.0 if step.shape == () else step,
            method="dual",
        )
    if isinstance(df, np.ndarray) and df.dtype == object:
        mag = np.abs(np.vectorize(_primal, otypes=[np.float64])(df))
    else:
        mag = np.abs(np.asarray(df, dtype=np.float64))
    finite = np.isfinite(mag)
    error = np.where(finite, ROUNDING_ULPS * _EPS * mag, np.inf)
    status = np.where(finite, int(Status.CONVERGED), int(Status.NO_FINITE))
    return Result(
        df=df, error=error, success=finite, status=status, nfev=nfev, step=step, method="dual"
    )
