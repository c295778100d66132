"""grid_derivative: derivatives of sampled data on uniform or non-uniform grids."""

from __future__ import annotations

import itertools
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from fastdiff._derivative import check_order
from fastdiff._kernels import _grid
from fastdiff._result import Result, make_result
from fastdiff._validation import check_int, check_real_array, fail


def grid_derivative(
    y: ArrayLike,
    x: ArrayLike | None = None,
    *,
    dx: float | None = None,
    n: int = 1,
    axis: int = -1,
    order: int = 2,
) -> Result:
    """Derivative of sampled data along one axis, with an error estimate per sample.

    Parameters
    ----------
    y : float array_like
        Samples, any number of dimensions. NaN or inf are allowed; estimates that touch
        them have ``status = -2``.
    x : float array_like, optional
        The sample positions along `axis`: strictly monotonic, ``len(x) == y.shape[axis]``
        (a non-uniform grid). Give `x` or `dx`, not both.
    dx : float, optional
        The spacing of a uniform grid; default 1.
    n : int, default: 1
        Derivative order.
    axis : int, default: -1
        The axis to differentiate along.
    order : int, default: 2
        Accuracy order of the formula, a positive even integer, kept at the boundaries too:
        the error behaves like ``h^order`` everywhere.

    Returns
    -------
    Result
        ``df``, ``error``, ``success``, ``status`` of y's shape; ``nfev`` 0 (no function
        is evaluated); ``step``: `dx`, or for a non-uniform grid the local spacing along
        `axis` (mean of the two neighbouring intervals), shape ``(len(x),)``;
        ``method = "grid"``. Status: 0 converged; -1 too few samples to verify the error
        estimate (fewer than ``2 (n + order + 4)``); -2 non-finite values reached the
        stencil; -3 the data are not resolved (under-sampled or noisy), the estimate is not
        trusted.

    Raises
    ------
    ValueError, TypeError
        For invalid arguments, naming the parameter: fewer than ``n + order`` samples, both
        `x` and `dx`, a non-monotonic or wrong-length `x`, a bad `axis`, `n` or `order`.

    See Also
    --------
    numpy.gradient : second-order interior formula, first or second order at the edges.
    derivative : derivatives of a function you can evaluate anywhere (far more accurate).

    Notes
    -----
    Each sample gets three stencils with Fornberg weights [1]_ (`fd_weights`) of accuracy
    p, p + 2 and p + 4 (p = `order`): centred in the interior (on a uniform grid the
    symmetric formula of ``2 floor((n+1)/2) - 1 + p`` points), and the first or last
    ``n + p`` samples near the ends, so the order holds there too. The first is the
    estimate ``A_0``. With ``D_1 = |A_0 - A_1|`` and ``D_2 = |A_1 - A_2|``, each the largest
    over the sample and its two neighbours (guarding against isolated zeros of the next
    derivative),

    .. math:: \\text{error} = 2 (D_1 + D_2) + \\rho,

    with :math:`\\rho` the rounding bound of the sums (the samples taken exact to their dtype,
    the weights' rounding growing like the square of the stencil length). On resolved smooth
    data the error terms fall by :math:`(h/L)^2` per level, so
    :math:`|A_0 - f^{(n)}| \\le D_1 + |A_1 - f^{(n)}|`, and the second term is within
    :math:`D_2` plus less; the factor 2 covers the pre-asymptotic range of the one-sided end
    stencils (Runge's function on 15 samples needed it). Where the largest :math:`D_2` of the
    neighbourhood exceeds a quarter of its smallest :math:`D_1` and rounding, the levels do
    not settle: the data are under-resolved or noisy (status -3, not trusted). Measurement
    noise is not modelled: smooth noisy data first.

    `dx` means the samples sit exactly at ``x_0 + i dx``. Positions computed in floating
    point (``np.linspace``) are off by up to half an ulp of x, an error of about
    ``ulp(x) |f'| / dx`` that the bar does not include; pass the positions as `x` to have
    them used as they are.

    The stencils are applied in C in one pass over the data: no array is built per stencil
    point.  Calls on at least 2**18 samples run on two threads where there are two cores:
    the rows of the other axes are shared out, or a single uniform line along a contiguous
    axis is split at a boundary of the kernel's tiles; the results are bitwise those of one
    thread.  A single line along an axis with others after it (axis 0 of a 2-D array) or on
    a non-uniform grid runs on one thread.

    References
    ----------
    .. [1] B. Fornberg, "Generation of finite difference formulas on arbitrarily spaced
       grids", Math. Comp. 51 (1988), 699-706.

    Examples
    --------
    Speed and acceleration from sampled positions of a car, ``s(t) = 5 t^2 + 2 t``:

    >>> import numpy as np
    >>> import fastdiff as fd
    >>> t = np.linspace(0.0, 4.0, 41)
    >>> s = 5 * t**2 + 2 * t
    >>> v = fd.grid_derivative(s, dx=t[1] - t[0])
    >>> bool(np.allclose(v.df, 10 * t + 2)), bool(v.success.all())
    (True, True)
    >>> a = fd.grid_derivative(s, dx=t[1] - t[0], n=2)
    >>> bool(np.allclose(a.df, 10.0)), bool(a.success.all())
    (True, True)

    On a non-uniform grid, with an error bar that bounds the true error:

    >>> x = np.sort(np.random.default_rng(0).uniform(0, 3, 200))
    >>> res = fd.grid_derivative(np.sin(x), x, order=4)
    >>> bool(res.success.all()), bool(np.all(np.abs(res.df - np.cos(x)) <= res.error))
    (True, True)
    """
    arr = check_real_array("y", y)
    if arr.ndim == 0 or arr.size == 0:
        raise fail("y", "a non-empty array with at least one dimension", y)
    n = check_int("n", n, 1, f"an integer with 1 <= n <= {_grid.MAX_N}")
    if n > _grid.MAX_N:
        raise fail("n", f"an integer with 1 <= n <= {_grid.MAX_N}", n)
    if order is None:
        raise fail("order", "a positive even integer", order)
    order = check_order("central", order)
    if isinstance(axis, bool) or not isinstance(axis, int | np.integer):
        raise fail("axis", "an integer", axis, TypeError)
    if not -arr.ndim <= axis < arr.ndim:
        raise fail("axis", f"an axis of y, in [-{arr.ndim}, {arr.ndim})", axis)
    axis = int(axis) % arr.ndim
    length = arr.shape[axis]
    nodes, step = _check_grid(x, dx, length)
    levels, interior, boundary = _grid.plan_levels(length, n, order, nodes is None)
    widest = max(max(interior), max(boundary))
    if widest > _grid.MAX_WIDTH:
        raise fail(
            "order",
            f"small enough for stencils of at most {_grid.MAX_WIDTH} points "
            f"(n={n} needs {widest} for its error estimate at this order)",
            order,
        )
    if levels < 1:
        raise ValueError(
            f"`y` must have at least n + order = {n + order} samples along axis {axis} for "
            f"n={n}, order={order}; got {length} (shape {arr.shape})."
        )
    outer = math.prod(arr.shape[:axis])
    inner = math.prod(arr.shape[axis + 1 :])
    in_dtype = np.asarray(y).dtype
    eps = float(np.finfo(in_dtype).eps) if in_dtype.kind == "f" else 0.0
    eps = max(eps, float(np.finfo(np.float64).eps))
    y3 = arr.reshape(outer, length, inner)
    h = step if nodes is None else 0.0
    parts = _split(y3.shape, n, order, nodes is None)
    if parts is None:
        check, df, error, status, success = _grid.grid_derivative(y3, nodes, h, n, order, eps)
    else:
        df, error, status, ok = _grid.outputs(y3.shape)

        def part(o0: int, o1: int, p0: int, p1: int) -> int:
            r = slice(o0, o1)
            return _grid.run(
                y3[r], nodes, h, n, order, eps, df[r], error[r], status[r], ok[r], p0, p1
            )

        # parts are taken in turn by this thread and the helper, whichever is free: a helper
        # that wakes late (an idle core of a loaded machine) takes fewer, never delays more
        # than one part
        turn = itertools.count()  # next() is atomic under the GIL

        def take() -> int:
            found = 0
            while (i := next(turn)) < len(parts):
                c = part(*parts[i])
                found = found or c
            return found

        helper = _executor().submit(take)
        check = take()
        check = helper.result() or check
        success = ok.view(np.bool_)
    if check:  # _check_grid rejects repeated nodes; kept as the kernel's own guard
        raise fail("x", "strictly monotonic (no repeated positions)", x)
    shape = arr.shape
    status = status.reshape(shape)  # int8: the codes fit, and 1e6 samples stay cheap
    success = success.reshape(shape)  # status >= 0, written by the kernel in the same pass
    return make_result(df.reshape(shape), error.reshape(shape), success, status, 0, step, "grid")


def _check_grid(x: Any, dx: Any, length: int) -> tuple[np.ndarray | None, Any]:
    """(nodes or None, step): the grid as the kernel takes it, and `step` for the Result."""
    if x is not None and dx is not None:
        raise fail("dx", "None when x is given (give the positions or the spacing)", dx)
    if x is None:
        if dx is None:
            return None, 1.0
        try:
            h = float(dx)
        except (TypeError, ValueError) as exc:
            raise fail("dx", "a finite number > 0", dx, TypeError) from exc
        if not (math.isfinite(h) and h > 0):
            raise fail("dx", "a finite number > 0", dx)
        return None, h
    nodes = check_real_array("x", x)
    if nodes.ndim != 1 or nodes.size != length:
        raise fail("x", f"a 1-D array of y.shape[axis] = {length} positions", x)
    if not np.isfinite(nodes).all():
        raise fail("x", "finite (no NaN or inf)", x)
    d = np.diff(nodes)
    if not ((d > 0).all() or (d < 0).all()):
        raise fail("x", "strictly monotonic (no repeated positions)", x)
    spacing = np.abs(np.gradient(nodes)) if nodes.size > 1 else np.ones(1)
    return np.ascontiguousarray(nodes), spacing


# Large calls run on two threads: the kernel releases the GIL, and the work splits into parts
# whose results are bitwise those of one call (rows of the outer axes, or along a contiguous
# axis positions split at a tile start of the uniform interior: fd_grid_cut).  The kernel runs
# at about 1.5 ns per sample on one core; the hand-off to the pool costs a 16-30 us round
# trip here plus waking the thread: 2^16 samples ran 0.7x as fast on two threads, 2^17 1.6x
# when the second core was free, hence the threshold one step above.  _THREADS (None:
# min(2, usable cores)) is the private switch the tests use to force one thread.
_MIN_SAMPLES = 1 << 18
_PARTS = 8
_THREADS: int | None = None
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _threads() -> int:
    if _THREADS is not None:
        return _THREADS
    # the cores this process may run on (an affinity mask or a container's cpuset), else all
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(2, cores or 1)


def _executor() -> ThreadPoolExecutor:
    """The pool of helper threads, made on first use (one thread: the caller runs a part)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fastdiff-grid")
        return _pool


def _forget_pool() -> None:
    # a forked child inherits the pool object but not its thread: a submit would never run
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _split(
    shape: tuple[int, int, int], n: int, order: int, uniform: bool
) -> list[tuple[int, int, int, int]] | None:
    """Parts (o0, o1, p0, p1) of y (outer, len, inner) for two threads, or None: one call.

    Up to _PARTS parts of similar size (rows, or positions between cuts), so that the two
    threads balance even when one starts late."""
    outer, length, inner = shape
    if outer * length * inner < _MIN_SAMPLES or _threads() < 2:
        return None
    if outer >= 2:  # whole rows: the kernel treats each on its own
        k = min(outer, _PARTS)
        rows = [outer * j // k for j in range(k + 1)]
        return [(rows[j], rows[j + 1], 0, length) for j in range(k)]
    cuts = sorted(
        {
            _grid.cut(outer, length, inner, n, order, uniform, length * j // _PARTS)
            for j in range(1, _PARTS)
        }
        - {0}
    )
    if not cuts:  # not a uniform contiguous line (or too short): left to one thread
        return None
    ends = [0, *cuts, length]
    return [(0, 1, ends[j], ends[j + 1]) for j in range(len(ends) - 1)]
