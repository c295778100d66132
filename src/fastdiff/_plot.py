"""plot_steps: the error of a finite-difference formula against its step, on log-log axes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from fastdiff import _steps
from fastdiff._derivative import check_order, derivative
from fastdiff._stencils import stencil
from fastdiff._validation import check_int, fail

#: Steps drawn: 10^(-k/4) times the scale max(|x|, 1), k = 0 .. 64 (down to 1e-16 of it).
#: Decimal, not powers of two: f at x + 2^-k is often exact (2 x^2 at 1 is), which would hide
#: the rounding the picture is about.
PLOT_STEP_EXPONENTS = np.arange(0, 65) / 4.0

_SIDES = ("central", "forward", "backward")


def plot_steps(
    f: Callable[..., Any],
    x: float,
    n: int = 1,
    method: str = "central",
    ax: Any = None,
    *,
    order: int | None = None,
    exact: float | None = None,
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
) -> Any:
    """Plot the error of a finite-difference formula against its step size.

    The picture behind "why not h = 1e-10?": on log-log axes, the error of the
    order-`order` formula at step h falls along the truncation slope ``h^order`` as h
    shrinks, until rounding, growing like ``eps / h^n``, takes over. On it: the levels of
    fastdiff's step ladder, the step it chose, and the error bar of its estimate.

    Parameters
    ----------
    f : callable
        ``f(x, *args, **kwargs) -> float``, called with one float at a time.
    x : float
        The point.
    n : int, default: 1
        Derivative order.
    method : {"central", "forward", "backward"}, default: "central"
        The finite-difference formula.
    ax : matplotlib Axes, optional
        Where to draw; default a new figure's Axes (``plt.subplots()``).
    order : int, optional
        Accuracy order of the formula (default as for `derivative`).
    exact : float, optional
        The exact derivative. Without it the error is measured against fastdiff's
        estimate, which is good to its error bar (drawn as a horizontal line).
    args, kwargs
        Extra arguments for f.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on. `plt.show()` is never called.

    Raises
    ------
    ImportError
        Without matplotlib (``pip install "fastdiff[plot]"``).
    ValueError, TypeError
        For invalid arguments, as `derivative`.

    See Also
    --------
    derivative

    Notes
    -----
    The curve is ``|A(h) - ref|`` with ``A(h) = (w_0 f(x) + sum_j w_j f(x + c_j s)) / s^n``
    the formula at the spacing ``s = (x + h) - x``, for ``h = 10^(-k/4) max(|x|, 1)``; ``ref`` is
    `exact` or ``derivative(f, x, ...).df``. The truncation line ``C h^order`` passes through
    the curve at the ladder's first step; the rounding line is
    ``eps sum_j |w_j f_j| / s^n``. The ladder's levels ``h_0 / q^k`` (as far as that call
    went, read from its evaluation count) are marked on the curve.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> import fastdiff as fd
    >>> ax = fd.plot_steps(np.exp, 1.0, exact=np.e)
    >>> ax.get_xscale(), ax.get_yscale()
    ('log', 'log')
    >>> sorted(line.get_label() for line in ax.get_lines())  # doctest: +NORMALIZE_WHITESPACE
    ['error bar of the estimate', 'formula at step h', 'ladder levels',
     'rounding ~ eps / h^1', 'step chosen', 'truncation ~ h^2']
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError('plot_steps needs matplotlib: pip install "fastdiff[plot]"') from exc
    if not isinstance(method, str) or method not in _SIDES:
        raise fail("method", "one of 'central', 'forward', 'backward' for plot_steps", method)
    n = check_int("n", n, 1, "a positive integer")
    order = check_order(method, order, n)
    if np.ndim(x) != 0:
        raise fail("x", "a single number (plot_steps draws one point)", x)
    res = derivative(f, x, n=n, method=method, order=order, args=args, kwargs=kwargs)
    x = float(x)
    ref = float(res.df) if exact is None else float(exact)
    st = stencil(method, n, order)
    offsets, weights = np.array(st.offsets), np.array(st.weights)

    def call(t: float) -> float:
        return float(f(t, *args, **(kwargs or {})))

    f0 = call(x)
    scale = float(_steps.scale_of(np.array(x)))
    h = scale * 10.0 ** (-PLOT_STEP_EXPONENTS)
    s = (x + h) - x
    with np.errstate(all="ignore"):
        values = np.array([[call(x + c * sk) for c in offsets] for sk in s])
        A = (st.w0 * f0 + values @ weights) / s**n
        err = np.abs(A - ref)
        rounding = (
            np.finfo(np.float64).eps * (abs(st.w0 * f0) + np.abs(values) @ np.abs(weights)) / s**n
        )

    # the ladder's levels: h_0 / q^k, as many as the call's evaluations paid for
    h0 = scale * 2.0 ** _steps.initial_step_exponent(n, method)
    per_level = len(offsets)
    levels = max(1, (res.nfev - 1) // per_level)
    hk = h0 / _steps.step_ratio(n, method) ** np.arange(levels)
    sk = (x + hk) - x
    with np.errstate(all="ignore"):
        vk = np.array([[call(x + c * v) for c in offsets] for v in sk])
        Ak = (st.w0 * f0 + vk @ weights) / sk**n
        errk = np.abs(Ak - ref)
    # truncation ~ C h^order through the first level (where truncation dominates)
    C = errk[0] / sk[0] ** order if errk[0] > 0 else np.nan

    if ax is None:
        _, ax = plt.subplots()
    shown = np.where(err > 0, err, np.nan)  # exact zeros have no place on a log axis
    ax.loglog(s, shown, "-", color="C0", label="formula at step h")
    ax.loglog(s, C * s**order, "--", color="C1", label=f"truncation ~ h^{order}")
    ax.loglog(s, rounding, ":", color="C2", label=f"rounding ~ eps / h^{n}")
    ax.loglog(sk, np.where(errk > 0, errk, np.nan), "o", color="C3", label="ladder levels")
    ax.axvline(float(res.step), color="C4", label="step chosen")
    ax.axhline(max(float(res.error), 1e-300), color="C5", ls="-.",
               label="error bar of the estimate")  # fmt: skip
    ax.set_xlabel("step h")
    ax.set_ylabel("|error|" if exact is not None else "|difference from fastdiff's estimate|")
    ax.set_title(f"{method} formula of order {order} for f^({n}) at x = {x:g}")
    ax.legend(fontsize="small")
    return ax
