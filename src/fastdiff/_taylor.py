"""Taylor mode: ``derivative(f, x, n=k, method="dual")`` for k >= 2 by univariate Taylor series.

f is called once with a Taylor number of degree n seeded at ``x + t`` (one object over the whole
array x); every NumPy ufunc, `fastdiff.math` function and arithmetic operation on it runs one
recurrence of ``csrc/taylor.c`` over all elements. The n-th coefficient times n! is the
derivative, exact up to rounding; its radius (a rounding bound carried through every operation,
ball arithmetic) times n! is `error`. docs/dev/how_it_works.md, "Taylor mode", has the model.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from fastdiff._kernels import _taylor
from fastdiff._kernels._dual import Dual
from fastdiff._kernels._taylor import Taylor
from fastdiff._result import make_result
from fastdiff._status import Status
from fastdiff._validation import check_int, fail

_EPS = float(np.finfo(np.float64).eps)
_FACTORIAL = tuple(float(math.factorial(k)) for k in range(171))  # 171! overflows a double
_CONVERGED = int(Status.CONVERGED)
_NO_FINITE = int(Status.NO_FINITE)


def taylor_derivative(
    f: Callable[..., Any],
    x: Any,
    n: Any,
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
) -> Any:
    """The n-th derivative of an elementwise f at every element of x: one call of f.

    Parameters
    ----------
    f : callable
        ``f(X, *args, **kwargs)``, elementwise, written with NumPy ufuncs, `fastdiff.math` and
        arithmetic; X is one Taylor number of x's shape.
    x : float or array_like of float
        The points.
    n : int
        Derivative order, >= 1.
    args, kwargs
        Extra arguments for f.

    Returns
    -------
    Result
        ``df`` and ``error`` shaped like x (floats for a scalar x), ``step`` 0, ``nfev`` 1,
        ``method`` "dual". Where the value or its bound is not finite, status is ``NO_FINITE``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdiff._taylor import taylor_derivative
    >>> r = taylor_derivative(np.exp, 0.0, 5)
    >>> float(r.df), r.nfev, r.step
    (1.0, 1, 0.0)
    """
    if type(n) is not int or n < 1:
        n = check_int("n", n, 1, "a positive integer")
    if not callable(f):
        raise fail("f", "callable", f, TypeError)
    if type(x) is float:
        t = _taylor.seed(x, n)
        shape: tuple[int, ...] = ()
    else:
        xs = _as_points(x)
        shape = xs.shape
        t = _taylor.seed(float(xs) if shape == () else xs, n)
    y = f(t, *args, **kwargs) if kwargs else f(t, *args)
    if type(y) is Taylor:
        if y.shape != shape:
            raise ValueError(
                f"f must return a result of x's shape {shape} (Taylor mode differentiates "
                f"elementwise); got shape {y.shape}."
            )
        coef, rad = _taylor.top(y, t.tag, n)
    else:
        coef, rad = _constant_output(y, shape)
    # f^(n) = n! c_n; n! is exact up to 18! and within half an ulp beyond (the eps |df| term)
    scale = _FACTORIAL[n] if n <= 170 else math.inf
    if shape == ():
        df = coef * scale if coef != 0.0 else 0.0
        err = (rad * scale) * (1.0 + 4.0 * _EPS) + _EPS * abs(df)
        if math.isfinite(err) and math.isfinite(df):
            return make_result(df, err, True, _CONVERGED, 1, 0.0, "dual")
        return make_result(df, math.inf, False, _NO_FINITE, 1, 0.0, "dual")
    # the scalar arithmetic above, elementwise, in place (fewer passes over large arrays)
    with np.errstate(over="ignore", invalid="ignore"):
        if n <= 170:  # scale >= 1 is finite: the product is 0 exactly where coef is
            df = coef * scale
            df += 0.0  # -0.0 becomes 0.0, as below
        else:
            df = np.where(coef != 0.0, coef * scale, 0.0)
        err = rad * scale
        err *= 1.0 + 4.0 * _EPS
        mag = np.abs(df)
        mag *= _EPS
        err += mag
    ok = np.isfinite(err)  # |df| is in err: an inf or NaN df makes err inf or NaN
    if ok.all():
        status = np.full(shape, _CONVERGED)
    else:
        err[~ok] = np.inf
        status = np.where(ok, _CONVERGED, _NO_FINITE)
    return make_result(df, err, ok, status, 1, np.zeros(shape), "dual")


def _as_points(x: Any) -> np.ndarray:
    if isinstance(x, Dual | Taylor) or (
        isinstance(x, np.ndarray) and x.dtype == object and any(isinstance(v, Dual) for v in x.flat)
    ):
        raise TypeError(
            "derivative with method='dual' and n >= 2 (Taylor mode) takes real points `x`; got "
            f"{type(x).__name__}: it does not nest inside another dual differentiation."
        )
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise fail("x", "a real array_like", x, TypeError)
    return np.asarray(arr, dtype=np.float64)


def _constant_output(y: Any, shape: tuple[int, ...]) -> tuple[Any, Any]:
    """f ignored its argument: every derivative is 0 (after checking y is real, of x's shape)."""
    if isinstance(y, Dual):
        raise TypeError("f returned a Dual in Taylor mode; do not mix Dual and Taylor numbers.")
    arr = np.asarray(y)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"f must return real numbers or Taylor numbers; got {y!r}.")
    try:
        np.broadcast_to(arr, shape)
    except ValueError:
        raise ValueError(
            f"f must return a result of x's shape {shape} (Taylor mode differentiates "
            f"elementwise); got shape {arr.shape}."
        ) from None
    if shape == ():
        return 0.0, 0.0
    return np.zeros(shape), np.zeros(shape)
