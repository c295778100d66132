"""method="dual": forward-mode derivatives with :class:`fastdiff.DualArray` and :class:`Dual`.

Each function takes f, the point x (a float64 ndarray as validated by the public verb; inside a
nested differentiation an object array or a Dual), and returns the same :class:`Result` as the
finite-difference methods. gradient/jacobian/jvp/hessian call f on DualArrays (chunks of
partials; the rounding bound, see `_rounding_bound`, in the same call as a magnitude lane
where it pays, else one more call) and fall back to object
arrays of Duals when f raises TypeError on a DualArray; `dual_derivative` uses Duals.
Every call draws a fresh tag (so nested calls cannot confuse their
perturbations) and retires it on return (so a Dual that escapes its call raises when used).
Exceptions raised by f propagate unchanged.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from fastdiff._dualarray import DualArray, _LaneMiss
from fastdiff._kernels import _dual, _dualarray
from fastdiff._kernels._dual import Dual
from fastdiff._result import Result, make_result
from fastdiff._status import Status
from fastdiff._validation import check_int, fail

DEFAULT_CHUNK = 512
"""Partials per evaluation of f on the v1 path (object arrays of Duals: nested calls and the
TypeError fallback of gradient/jacobian; DualArray chunks follow `DEFAULT_BATCH_BYTES`).

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
_INF = float("inf")

# The scalar verb in compiled code: the same Result as _result() below builds for a float df.
_dual.result_policy(Result, ROUNDING_ULPS * _EPS, int(Status.CONVERGED), int(Status.NO_FINITE))
dual_derivative_float = _dual.derivative_float
"""``derivative(f, x, method="dual")`` for a float x in one compiled call:
``dual_derivative_float(f, x, n, order, step, bounds, vectorized, args, kwargs, noise)``
returns the Result, or None (nothing evaluated) when an argument needs the validating path."""


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
        return _dual.derivative_point(f, xs.item(), args, kwargs)
    # The loop over points runs in compiled code, on Python floats (or Duals).
    out = _dual.derivative_each(f, xs.reshape(-1).tolist(), args, kwargs)
    return _result(_shape(out, xs.shape), xs.size, np.zeros(xs.shape))


def dual_derivative_vectorized(
    f: Callable[..., Any], x: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
) -> Result:
    """``derivative(f, x, method="dual", vectorized=True)`` for an array x: f, elementwise,
    is called once on a `DualArray` of every point with one partial, 1 everywhere, which
    carries the rounding bound's magnitudes too (`dual_jvp` in the direction of ones: an
    elementwise f has a diagonal Jacobian, so J 1 is its diagonal, the derivative at each
    point). nfev 1 (3 where f meets an operation without lanes, as for `dual_jvp`).

    Examples
    --------
    >>> import numpy as np
    >>> from fastdiff._forward import dual_derivative_vectorized
    >>> r = dual_derivative_vectorized(np.sin, np.array([0.0, np.pi]))
    >>> r.df, r.nfev
    (array([ 1., -1.]), 1)
    """
    xs = _as_points(x)
    res = dual_jvp(f, xs, np.ones(xs.shape), args, kwargs)
    if np.shape(res.df) != xs.shape:
        raise ValueError(
            "`f` must return an array of the same shape as its input when vectorized=True; "
            f"got shape {np.shape(res.df)} for input shape {xs.shape}."
        )
    return res


DEFAULT_BATCH_BYTES = 16 * 2**20
"""Memory for the seeded partials of one evaluation of f on a DualArray (the `batch_bytes`
keyword of the verbs): chunk = batch_bytes // (8 * x.size) partials per call (rows
k + k**2 for the Hessian), at least 1. 16 MiB seeds every partial of a 1400-parameter
gradient in one call; intermediate arrays of f are chunk times its own intermediates."""


def dual_gradient(
    f: Callable[..., Any],
    x: Any,
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
    chunk: int | None = None,
    batch_bytes: int | None = None,
) -> Result:
    """Gradient of a scalar function of an array x, by chunks of partials (see `dual_jacobian`).

    Examples
    --------
    >>> import numpy as np
    >>> from fastdiff._forward import dual_gradient
    >>> dual_gradient(lambda v: (v * v).sum(), np.array([1.0, 2.0, 3.0])).df
    array([2., 4., 6.])
    """
    jac = dual_jacobian(f, x, args, kwargs, chunk=chunk, batch_bytes=batch_bytes)
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
    batch_bytes: int | None = None,
) -> Result:
    """Jacobian ``J[i..., j...] = d f_i / d x_j`` of shape F + S, by chunks of partials.

    f is called with a `DualArray` of shape S carrying `chunk` partials (unit seeds), so
    NumPy-written f costs a few NumPy calls per chunk. If f raises TypeError on a DualArray
    (code NumPy's protocols cannot reach, e.g. ``math.sin`` or a Python loop building a
    float array), the call is redone on object arrays of `Dual` (the v1 path: one Python
    operation per scalar); if that fails too, its exception propagates. Inside a nested
    differentiation (x holding Duals) the v1 path runs directly. When every partial fits
    one call and ``8 n^2 <= LANE_MERGE_BYTES``, that call carries the rounding bound's
    magnitudes too (`_jacobian_lane`): nfev 1. If f meets an operation without lanes there
    (or a large one, see `LANE_MERGE_BYTES`), f is called the two-call way, that call
    counted: nfev 3. Otherwise nfev is the chunks' calls plus one for the bound.

    Parameters
    ----------
    f : callable
        ``f(X, *args, **kwargs)`` returning a scalar or an array of shape F.
    x : ndarray
        The point, any shape S.
    args, kwargs
        Extra arguments for f.
    chunk : int, optional
        Partials per evaluation; default from `batch_bytes`.
    batch_bytes : int, optional
        Memory for the seeded partials of one call; default `DEFAULT_BATCH_BYTES`.

    Returns
    -------
    Result
        ``df`` of shape F + S, ``error`` a rounding bound (see `rounding_bound`), ``step``
        zeros of shape S, ``nfev`` the number of calls of f.

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
    if xs.dtype == object:
        return _scalar_jacobian(f, xs, args, kwargs, chunk=chunk)
    n = xs.size
    width = _array_chunk(chunk, batch_bytes, n, 1)
    value = xs.copy()
    jac: np.ndarray | None = None
    bound: np.ndarray | None = None
    nfev = 0
    wasted = 0  # a call in lanes that met an operation without them
    lane = None
    mag: np.ndarray | None
    tag = _dual.open_tag()
    pool = _pool_on(8 * width * n)
    try:
        if 1 <= n <= width and 8 * n * n <= LANE_MERGE_BYTES:  # J and its bound in one call
            lane = _jacobian_lane(f, value, xs.shape, n, tag, args, kwargs)
            if lane is not None:
                jac, mag, count, groups, out_shape = lane
                nfev = 1
            else:
                nfev = wasted = 1
        for start in range(0, max(n, 1) if lane is None else 0, width):
            stop = min(start + width, n)
            k = stop - start
            if k == n and n <= UNIT_SEED_CACHE_N:  # (read-only: copied before a write)
                X = DualArray._make(value.copy(), _unit_seeds(n).reshape((k, *xs.shape)), k, tag)
            else:  # row p the seed of element start + p, built when some code reads it
                X = DualArray._make(value.copy(), None, k, tag)
                X._src = (None, (start, k, xs.shape))
            X._eye = k == n
            X._unit = -start  # (row p is the seed of element start + p; 0 for the whole x)
            try:
                y = f(X, *args, **kwargs)
            except TypeError:
                if nfev > wasted:
                    raise
                return _scalar_jacobian(f, xs, args, kwargs, chunk=chunk)
            nfev += 1
            yv, yt = _tangents(y, tag, k)
            if jac is None:
                out_shape = yv.shape
                jac = np.empty((yv.size, n))
            elif yv.shape != out_shape:
                raise ValueError(
                    f"f returned outputs of shapes {out_shape} and {yv.shape} on different "
                    "chunks; f must return the same shape every time."
                )
            if k == n:
                jac = yt.reshape(k, -1).T  # (a transposed view: no copy)
                if not jac.flags.writeable:  # f returned X or a view: the cached seeds
                    jac = jac.copy()
            else:
                jac[:, start:stop] = yt.reshape(k, -1).T
        if lane is None:
            groups, rows = _bound_seed(n, BOUND_GROUPS, False)
            mag, count = _magnitudes(f, value, rows, 0, tag, args, kwargs, full=True, groups=groups)
            nfev += 1
    finally:
        _dual.close_tag(tag)
        _pool_off(pool)
    assert jac is not None  # n >= 1: at least one chunk ran
    shape = out_shape + xs.shape
    if mag is None:
        bound = _rounding_bound(jac, None, count)
        return _array_result(jac.reshape(shape), bound.reshape(shape), nfev, np.zeros(xs.shape))
    # _rounding_bound's arithmetic for groups of partials, in one C pass that also finds any
    # entry of df or the bound that is not finite
    bound, bad = _dualarray.bound(jac, mag.reshape(mag.shape[0], -1).T, groups, _gamma(count))
    return _array_result(
        jac.reshape(shape), bound.reshape(shape), nfev, np.zeros(xs.shape), bad == 0
    )


def _jacobian_lane(
    f: Callable[..., Any],
    value: np.ndarray,
    shape: tuple[int, ...],
    n: int,
    tag: int,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray, int, np.ndarray, tuple[int, ...]] | None:
    """The whole Jacobian and its bound's magnitudes in one call of f: the n unit seeds of
    the one-chunk Jacobian (with its `_eye`/`_unit` structure) and, after them, the rows of
    `_magnitudes` (a magnitude lane, as `_hessian_lane` carries them; the same arithmetic
    as the two calls, so the same numbers). Returns (J as (F.size, n), magnitude rows, count,
    groups, F), or None when f met an operation without lanes or raised TypeError (the
    caller then calls f the two-call way)."""
    groups, seed = _lane_seeds(n, False, LANE_SEED_CACHE_JAC_N)
    X = DualArray._make(value.copy(), seed.reshape((seed.shape[0], *shape)), n, tag)
    X._eye = True  # (rows 0 .. n - 1: the plain lane's structure, see `_lane_part`)
    X._unit = 0
    if len(shape) == 1:  # (the bound's rows: the group seeds of `_magnitudes`)
        X._groups = (groups, X._t)
    missed: list[Any] = [False, LANE_MERGE_BYTES]  # (see `_LaneMiss`)
    X._lane = (n, int(groups[-1]) + 1, missed)
    out = _call_laned(f, X, missed, tag, seed.shape[0], args, kwargs)
    if out is None:
        return None
    yv, yt, count = out
    jac = yt[:n].reshape(n, -1).T
    if not jac.flags.writeable:  # f returned X or a view of it: the cached seed rows
        jac = jac.copy()
    return jac, np.abs(yt[n:-1]), count, groups, yv.shape


def _call_laned(
    f: Callable[..., Any],
    X: DualArray,
    missed: list[Any],
    tag: int,
    rows: int,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray, int] | None:
    """f on X, whose magnitude lane `missed` marks (see `_LaneMiss`): (f's values, their
    `rows` tangent rows, the rounding count), or None when f met an operation without lanes,
    raised TypeError, or returned what does not carry the lane (the caller then calls f the
    two-call way, whose general path says what f's output is)."""
    try:
        y = f(X, *args, **kwargs)
    except (_LaneMiss, TypeError):
        return None
    if missed[0] or not isinstance(y, DualArray) or y._lane is None or y._lane[2] is not missed:
        return None
    yv, yt = _tangents(y, tag, rows)
    return yv, yt, y._n


UNIT_SEED_CACHE_N = 512
"""The Jacobian's one-chunk calls beyond the lane take their unit seeds (np.eye(n), read-only)
from a cache up to this size (4 sizes at most, 2 MB each at n = 512): np.eye(100) cost 4 us of
the 90 us tanh(W @ x + b) Jacobian, and np.eye(385) 43 us of the 1.1-1.3 ms gradient of the
385-parameter MLP (benchmarks/dual.py). Beyond it, and for every chunk of a chunked Jacobian, x
starts with no seeds at all (`DualArray._src`): they are built when some code reads them, and
products and sums with the slices of x that keep their structure never do."""


@functools.lru_cache(maxsize=4)
def _unit_seeds(n: int) -> np.ndarray:
    seed = np.eye(n)
    seed.flags.writeable = False
    return seed


LANE_MERGE_BYTES = 2**14
"""The Jacobian's lane (`_jacobian_lane`) runs for n partials with 8 n^2 <= 16 KiB (n <= 45),
and gives up (f is then called the two-call way) at an operation without a compiled lane
(`_laned`: matmul, broadcasting arithmetic, ...) whose plain tangents would exceed it.
Merging the two lanes' results copies those tangents. Measured side by side against the
two-call path (min of repeats): on elementwise code (Rosenbrock, exp/sin products) the one
call was 1.3-1.5x faster for n <= 30 and 1.27x at n = 64; with a matmul (tanh(W @ x + b))
the two were even up to n = 30, the lane 0.97x at n = 64 and 0.93x at n = 100 (hence the
limit); at 1.6 MB of tangents (the MLP of tests/mlp.py, 385 partials) or 0.4 MB (16 partials
of a 16 x 200 array) the copies made the one call 2-3x slower than two. Since `A @ x` on the
seeded x runs compiled (its lane too, `_matvec_c`), tanh(W @ x + b) at n = 45 took 54-55 us
in the lane against 49-54 us in two calls (thread CPU time, min of 31 rounds; the lane's
general matmul took 106-108 us)."""

LANE_SEED_CACHE_JAC_N = 45
"""`_jacobian_lane` keeps the seed rows of problems up to this size (22 KB at n = 45) instead
of building them on every call (`_lane_seeds`)."""


def dual_jvp(
    f: Callable[..., Any],
    x: Any,
    v: Any,
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
) -> Result:
    """Directional derivative ``J(x) @ v``: one evaluation of f on a DualArray with partials v.

    Falls back to the v1 Dual path as `dual_jacobian` does.

    Returns
    -------
    Result
        ``df`` of shape F, ``step`` zeros of shape S, ``nfev == 1``: the rounding bound's
        magnitudes ride in the same call (`_jvp_lane`); 3 where f meets an operation without
        lanes (that call, then the tangents' and the bound's calls).

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
    if xs.dtype == object or vs.dtype.kind not in "biuf":
        return _scalar_jvp(f, xs, vs, args, kwargs)
    tag = _dual.open_tag()
    pool = _pool_on(8 * xs.size)
    mag: np.ndarray | None
    try:
        lane = _jvp_lane(f, xs, vs, tag, args, kwargs)
        if lane is not None:
            yt, mag, count = lane
            nfev = 1
        else:  # an operation without lanes: the two-call way (the lane's call counted)
            seed = np.array(vs, dtype=np.float64).reshape((1, *xs.shape))
            X = DualArray._make(xs.copy(), seed, 1, tag)
            try:
                y = f(X, *args, **kwargs)
            except TypeError:
                return _scalar_jvp(f, xs, vs, args, kwargs)
            _, yt = _tangents(y, tag, 1)
            mag, count = _magnitudes(
                f, xs.copy(), np.abs(seed.reshape(1, -1)), 0, tag, args, kwargs
            )
            nfev = 3
    finally:
        _dual.close_tag(tag)
        _pool_off(pool)
    df = yt[0]
    err = _rounding_bound(df, None if mag is None else mag[0], count)
    if df.shape == ():
        df, err = float(df), float(err)
    return _array_result(df, err, nfev, np.zeros(xs.shape))


def _jvp_lane(
    f: Callable[..., Any],
    xs: np.ndarray,
    vs: np.ndarray,
    tag: int,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray, int] | None:
    """J v and its bound's magnitudes in one call of f: the row v, then the rows of
    `_magnitudes` (|v| and the values' error row) as a lane of one DualArray, as
    `_jacobian_lane` carries them, so the numbers of the two calls. Returns (tangents,
    magnitude rows, count), or None when f met an operation without lanes, raised TypeError
    or returned no lane (the caller then calls f the two-call way).

    (Measured side by side against the two calls, min of 7 interleaved repeats: tanh(W @ u +
    b), n = 100, 0.74x the time; a Rosenbrock of 10, 0.43x; sin(v) exp(v) at 100 points,
    0.59x; the 385-parameter MLP even. An earlier lane, before the compiled lane kernels of
    `A @ x`, unary rules and constant powers, was no faster and was dropped.)"""
    rows = np.zeros((3, xs.size))
    rows[0] = vs.reshape(-1)
    rows[1] = np.abs(rows[0])
    X = DualArray._make(xs.copy(), rows.reshape((3, *xs.shape)), 1, tag)
    missed: list[Any] = [False]  # (no budget: a jvp's lanes are one row each)
    X._lane = (1, 1, missed)
    out = _call_laned(f, X, missed, tag, 3, args, kwargs)
    if out is None:
        return None
    _, yt, count = out
    return yt[:1], np.abs(yt[1:2]), count


def dual_hessian(
    f: Callable[..., Any],
    x: Any,
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
    chunk: int | None = None,
    batch_bytes: int | None = None,
) -> Result:
    """Hessian of a scalar function: second-order DualArrays, shape S + S, exactly symmetric.

    f is called with a DualArray carrying k first-order rows (unit seeds) and k*k
    second-order rows; one call gives the whole Hessian when ``8 n (k + k^2) <= batch_bytes``
    with k = n (n = x.size). Beyond, directions go in blocks of b: each call carries the
    union of two blocks (2b directions) and fills one block of H and its mirror, for
    ``nb (nb + 1) / 2`` calls (nb blocks), and one more for the rounding bound. The one
    call of the whole Hessian carries the bound's rows too (`_hessian_lane`): nfev 1. The
    result is symmetrised, ``(H + H^T) / 2``, so it is exactly symmetric. Falls back to the
    v1 nested-Dual path as `dual_jacobian` does.

    Parameters
    ----------
    f, x, args, kwargs
        As for `dual_jacobian`; f returns a scalar.
    chunk : int, optional
        Directions per block; default from `batch_bytes`.
    batch_bytes : int, optional
        Memory for the seeded rows of one call; default `DEFAULT_BATCH_BYTES`.

    Returns
    -------
    Result
        ``df`` of shape S + S, ``error`` a rounding bound, ``step`` zeros of shape S,
        ``nfev`` the number of calls of f.

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
    if chunk is not None:
        block = _chunk(chunk, n)
    else:
        budget = (DEFAULT_BATCH_BYTES if batch_bytes is None else batch_bytes) // (8 * max(n, 1))
        block = n if n + n * n <= budget else max(1, int((np.sqrt(1 + 4 * budget) - 1) / 4))
    value = xs  # (every call of f gets its own copy)
    nfev = 0
    k2 = 2 * block if block < n else block  # directions of one call
    tag = _dual.open_tag()
    pool = _pool_on(8 * (k2 + k2 * k2) * n)
    wasted = 0  # a call in lanes that met an operation without them
    blocks: list[np.ndarray] = []
    try:
        lane = None
        if block >= n:
            lane = _hessian_lane(f, value, xs.shape, n, tag, args, kwargs)
            if lane is not None:
                hess, mag, count = lane  # the values, the Hessian and its bound in one call
                nfev = 1
            else:
                nfev = wasted = 1
        if lane is None:
            blocks = [np.arange(s, min(s + block, n)) for s in range(0, n, block)]
            hess = np.zeros((n, n))
        for bi, rows in enumerate(blocks):
            for cols in blocks[bi:]:
                dirs = rows if cols is rows else np.concatenate([rows, cols])
                k = dirs.size
                whole = k == n  # one call: directions 0 .. n-1, the unit seeds on top
                if whole:
                    seed = np.eye(k + k * k, n)
                else:
                    seed = np.zeros((k + k * k, n))
                    seed[np.arange(k), dirs] = 1.0
                X = DualArray._make(value.copy(), seed.reshape((k + k * k, *xs.shape)), k, tag)
                try:
                    y = f(X, *args, **kwargs)
                except TypeError:
                    if nfev > wasted:
                        raise
                    return _scalar_hessian(f, xs, args, kwargs, chunk=chunk)
                nfev += 1
                yv, yt = _tangents(y, tag, k + k * k)
                if yv.shape != ():
                    raise ValueError(
                        f"`f` must return a scalar here; got an array of shape {yv.shape}."
                    )
                if whole:
                    hess = yt[k:].reshape(k, k)
                else:
                    hess[dirs[:, None], dirs] = yt[k:].reshape(k, k)  # np.ix_: 20 µs more
        groups, rows = _bound_seed(n, HESSIAN_BOUND_GROUPS, True)
        g = int(groups[-1]) + 1
        if blocks:
            mag, count = _magnitudes(f, value, rows, g * g, tag, args, kwargs, full=True)
            nfev += 1
    finally:
        _dual.close_tag(tag)
        _pool_off(pool)
    shape = xs.shape + xs.shape
    if mag is None:
        hess = 0.5 * (hess + hess.T)
        bound = _rounding_bound(hess, None, count + 1)
        return _array_result(hess.reshape(shape), bound.reshape(shape), nfev, np.zeros(xs.shape))
    # (H + H^T) / 2 and _rounding_bound's gamma * mag2 + eps |H|, mag2[i, j] =
    # |mag[groups[i], groups[j]]| (the kernel takes the magnitudes' absolute values), in one C
    # pass (which also finds any entry that is not finite)
    hess, bound, bad = _dualarray.hessian_bound(
        np.ascontiguousarray(hess), mag if lane else np.ascontiguousarray(mag[g:]).reshape(g, g),
        groups, _gamma(count + 1),
    )  # fmt: skip
    return _array_result(
        hess.reshape(shape), bound.reshape(shape), nfev, np.zeros(xs.shape), bad == 0
    )


def _hessian_lane(
    f: Callable[..., Any],
    value: np.ndarray,
    shape: tuple[int, ...],
    n: int,
    tag: int,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray, int] | None:
    """The whole Hessian and its bound's magnitudes in one call of f: the seed rows of the
    one-block Hessian (n + n^2) and, after them, the bound's rows of `_magnitudes` (a
    magnitude lane). Every operation on such an array carries both, the same arithmetic as
    the two separate calls (so the same numbers); one without lanes raises `_LaneMiss` and
    marks the lane. Returns (H, the g x g second-order magnitude rows before their absolute
    values, count), or None when f met such an operation or raised TypeError (the caller then
    calls f the two-call way)."""
    k = n
    m1 = k + k * k
    # read-only: a DualArray copies read-only tangents before it writes into them or a view
    groups, seed = _lane_seeds(n, True, LANE_SEED_CACHE_N)
    if len(shape) != 1:
        seed = seed.reshape((seed.shape[0], *shape))
    X = DualArray._make(value.copy(), seed, k, tag)
    missed: list[Any] = [False]
    X._lane = (m1, int(groups[-1]) + 1, missed)
    out = _call_laned(f, X, missed, tag, seed.shape[0], args, kwargs)
    if out is None:
        return None
    yv, yt, count = out
    if yv.shape != ():
        raise ValueError(f"`f` must return a scalar here; got an array of shape {yv.shape}.")
    g = int(groups[-1]) + 1  # the second-order magnitude rows, signed: hessian_bound takes |.|
    # (f may return a view, e.g. v[3], whose rows are strided: hessian_bound takes C order)
    return (
        yt[k:m1].reshape(k, k),
        np.ascontiguousarray(yt[m1 + g : m1 + g + g * g]).reshape(g, g),
        count,
    )


LANE_SEED_CACHE_N = 32
"""`_hessian_lane` keeps the seed rows of problems up to this size (0.3 MB at n = 32) instead
of building them on every call (`_lane_seeds`)."""


def _lane_seeds(n: int, second: bool, cache_n: int) -> tuple[np.ndarray, np.ndarray]:
    """(groups, seed rows) of a lane at size n, read-only: the n unit seeds of the first-order
    rows, n^2 zero second-order rows if `second` (the Hessian's), then the bound's rows
    (`_bound_seed`: group indicators and the values' error row). Cached up to n = cache_n."""
    if n <= cache_n:
        return _lane_seed_rows(n, second)
    return _lane_seed_rows.__wrapped__(n, second)


@functools.lru_cache(maxsize=16)  # 8 sizes of each lane at most
def _lane_seed_rows(n: int, second: bool) -> tuple[np.ndarray, np.ndarray]:
    m1 = n + n * n if second else n
    groups, rows = _bound_seed(n, HESSIAN_BOUND_GROUPS if second else BOUND_GROUPS, second)
    seed = np.zeros((m1 + rows.shape[0], n))
    seed[np.arange(n), np.arange(n)] = 1.0
    seed[m1:] = rows
    seed.flags.writeable = False
    return groups, seed


POOL_FROM_BYTES = 2**16
"""The dual verbs allocate from the block pool of `_dualarray` (large temporaries keep their
pages, see docs/dev/how_it_works.md) when one call seeds at least this many bytes of
tangents. Below, it stays off: NumPy's own cache of small blocks serves only its default
handler, and a small problem's temporaries are small."""


def _pool_on(seed_bytes: int) -> Any:
    """The pool for a verb whose calls seed `seed_bytes` of tangents: the handler to restore."""
    return _dualarray.pool_on() if seed_bytes >= POOL_FROM_BYTES else None


def _pool_off(old: Any) -> None:
    if old is not None:
        _dualarray.pool_restore(old)


def _array_chunk(chunk: int | None, batch_bytes: int | None, n: int, rows: int) -> int:
    if chunk is not None:
        return _chunk(chunk, n)
    budget = DEFAULT_BATCH_BYTES if batch_bytes is None else batch_bytes
    return max(1, min(n, budget // (8 * max(n, 1) * rows)))


def _tangents(y: Any, tag: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """(value, tangents (m,) + F) of an output of f with respect to `tag`."""
    if isinstance(y, DualArray):
        if y.tag != tag:
            _dual.check_tag(y.tag)
            raise ValueError(
                f"f returned a DualArray of another differentiation call (tag {y.tag})."
            )
        v, t = y._v, y._t
        if type(v) is not np.ndarray or v.dtype != np.float64:
            v = np.asarray(v, dtype=np.float64)
        if type(t) is not np.ndarray or t.dtype != np.float64:
            t = np.asarray(t, dtype=np.float64)
        return v, t
    if isinstance(y, Dual):
        v, p = _dual.extract(y, tag, m)
        if isinstance(v, Dual) or p.dtype == object:
            raise TypeError("f returned a nested Dual; DualArray results must be first order")
        return np.asarray(v, dtype=np.float64), np.asarray(p, dtype=np.float64)
    arr = np.asarray(y) if not isinstance(y, np.ndarray) else y
    if arr.dtype == object:  # e.g. np.array([x[0] * x[1], ...]) of Duals
        vals = np.empty(arr.shape)
        tans = np.empty((m, *arr.shape))
        for idx in np.ndindex(arr.shape):
            item = arr[idx]
            if isinstance(item, DualArray) and item.shape != ():
                raise TypeError("`f` returned an object array holding DualArrays")
            if not isinstance(item, (DualArray, Dual)) and np.asarray(item).dtype == object:
                raise TypeError(  # None, a list of objects, ...: no number to take apart
                    f"`f` must return real numbers or DualArrays; got {item!r} in an object array."
                )
            v, t = _tangents(item, tag, m)
            vals[idx] = v
            tans[(slice(None), *idx)] = t
        return vals, tans
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"`f` must return real numbers or DualArrays; got {y!r}.")
    arr = np.asarray(arr, dtype=np.float64)
    return arr, np.zeros((m, *arr.shape))


BOUND_GROUPS = 16
"""Magnitude rows of the rounding bound's evaluation (gradient, jacobian): partials are
grouped in up to 16 contiguous groups, each bounded by its group's magnitude (exactly per
partial for x.size <= 16; looser, never smaller, beyond)."""

HESSIAN_BOUND_GROUPS = 8
"""Groups of directions for the Hessian's bound (8 first-order and 64 second-order rows)."""


def _groups(n: int, most: int) -> np.ndarray:
    """Group of each of n partials: `most` contiguous groups (or n of one each)."""
    g = min(n, most)
    return (np.arange(n) * g) // max(n, 1)


FALLBACK_ULPS = 64.0
"""`error` = FALLBACK_ULPS eps |df| where the bound's evaluation cannot run f (f assembles
its output from scalar elements, e.g. ``np.array([x[0] * x[1], ...])``, which works on the
values' Duals but not on the magnitudes' 0-d DualArrays): a rounding level, not a bound."""


@functools.lru_cache(maxsize=8)
def _bound_seeds(n: int, most: int, second: bool) -> tuple[np.ndarray, np.ndarray]:
    groups = _groups(n, most)
    g = int(groups[-1]) + 1
    rows = np.zeros((g + (g * g if second else 0) + 1, n))
    rows[groups, np.arange(n)] = 1.0
    groups.flags.writeable = False
    rows.flags.writeable = False  # DualArray copies read-only tangents before writing
    return groups, rows


def _bound_seed(n: int, most: int, second: bool) -> tuple[np.ndarray, np.ndarray]:
    """(groups, rows) of the bound's evaluation over n partials: `_groups(n, most)` and the
    seed rows for `_magnitudes` (group indicators, g*g zero second-order rows if `second`,
    the zero row of the values' errors). Cached (read-only) up to BOUND_SEED_CACHE_N."""
    if n <= BOUND_SEED_CACHE_N:
        return _bound_seeds(n, most, second)
    return _bound_seeds.__wrapped__(n, most, second)


BOUND_SEED_CACHE_N = 4096
"""Problems up to this many partials keep their bound's seed rows (8 sizes at most)."""


def _magnitudes(
    f: Callable[..., Any],
    value: np.ndarray,
    seed: np.ndarray,
    second_rows: int,
    tag: int,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    full: bool = False,
    groups: np.ndarray | None = None,
) -> tuple[np.ndarray | None, int]:
    """The bound's evaluation: f on a DualArray whose rows are magnitudes.

    Every operation combines magnitudes with absolute values (|f'| t, |y| t_x + |x| t_y,
    |A| t, subtraction as addition, ...), so the rows end as the derivative computed in
    absolute arithmetic: the sum over the computation's paths of |products of local
    derivatives|. One more row carries a bound on the rounding error of the values (each
    operation adds its own rounding, eps |result| or L eps sum|terms|), and where a factor
    depends on a value (f'(v), the other operand of a product) that error's effect on the
    tangents joins the magnitudes. Each array also counts the roundings along its longest
    path (one per product, L - 1 per sum of L terms, about 3n per LU solve). Returns the
    magnitude rows of f's output and that count. f's exceptions propagate. With `full`,
    `seed` holds every row already (`_bound_seed`), else its k first-order rows. `groups`:
    `seed` is `_bound_seed`'s for these groups with no second-order rows, which X then
    carries (`DualArray._groups`: A @ X sums groups of |A| without a product).
    """
    if full:
        t = seed
        m = t.shape[0]
        k = m - second_rows - 1
    else:
        k = seed.shape[0]
        m = k + second_rows + 1  # the last row bounds the values' rounding errors (0 at x)
        t = np.zeros((m, value.size))
        t[:k] = seed
    t = t.reshape((m, *value.shape))
    X = DualArray._make(value.copy(), t, k, tag, True)
    if groups is not None and second_rows == 0 and value.ndim == 1 and not t.flags.writeable:
        X._groups = (groups, t)
    try:
        y = f(X, *args, **kwargs)
        count = y._n if isinstance(y, DualArray) else 0
        _, mag = _tangents(y, tag, m)
    except TypeError:  # e.g. np.array([x[0] * 2, ...]) of scalar pieces: see FALLBACK_ULPS
        return None, 0
    return np.abs(mag[:-1]), count


def _rounding_bound(df: Any, mag: Any, count: int, groups: np.ndarray | None = None) -> Any:
    """A bound on the rounding error of forward-mode derivatives.

    Each computed derivative is a sum over paths of products of local derivatives; with
    ``count`` roundings of relative size eps along the longest path, the error is at most
    ``gamma(count) * M`` (Higham, *Accuracy and Stability of Numerical Algorithms*, 2002,
    §3.1: gamma(n) = n eps / (1 - n eps)), M the same sum over |products| (the magnitude rows
    of `_magnitudes`), plus the final rounding of df itself. Rounding in the values feeds
    the factors f'(v) only to first order in eps, which is covered by twice the count.
    """
    if mag is None:
        return FALLBACK_ULPS * _EPS * np.abs(df)
    bound = _gamma(count) * np.asarray(mag)
    if groups is not None:  # the last axis holds groups of partials: one column per partial
        bound = bound[..., groups]
    bound += _EPS * np.abs(df)
    return bound


def _gamma(count: int) -> float:
    """gamma(2 (count + 2)) of `_rounding_bound`."""
    n = 2 * (count + 2)
    return n * _EPS / max(1.0 - n * _EPS, 0.5)


def _array_result(
    df: Any, error: Any, nfev: int, step: np.ndarray, all_finite: bool = False
) -> Result:
    """The Result of exact derivatives df with rounding bounds `error` (`all_finite`: the
    caller has checked that every entry of both is finite)."""
    shape = df.shape if type(df) is np.ndarray else np.shape(df)
    if all_finite:
        finite = np.empty(shape, dtype=bool)
        finite.fill(True)
    else:
        finite = np.isfinite(df + error)  # inf or NaN in either
    status = np.zeros(shape, dtype=int)
    if not all_finite and not finite.all():
        error = np.where(finite, error, np.inf)
        status[~finite] = int(Status.NO_FINITE)
    if not shape:
        return Result(
            df=float(df),
            error=float(error),
            success=bool(finite),
            status=int(status),
            nfev=nfev,
            step=0.0 if step.shape == () else step,
            method="dual",
        )
    return make_result(df, error, finite, status, nfev, step, "dual")  # (Result, compiled)


def _scalar_jacobian(
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


def _scalar_jvp(
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


def _scalar_hessian(
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
    if type(x) is np.ndarray and _dualarray.finite_float64(x):
        return x  # the common case, checked in one compiled pass (non-empty, finite)
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
