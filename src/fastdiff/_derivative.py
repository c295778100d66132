"""derivative(): validate -> choose stencils and steps -> evaluate f on the ladder -> Result."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from fastdiff import _complex as _complex_mod
from fastdiff import _evaluate, _forward, _steps, _taylor
from fastdiff._dask import dask_derivative, is_dask_array
from fastdiff._forward import dual_derivative_float
from fastdiff._kernels import _dual, _finite_diff
from fastdiff._kernels._finite_diff import ValueKindError
from fastdiff._result import Result, make_result, shaped_result
from fastdiff._stencils import stencil
from fastdiff._validation import check_int, check_real_array, fail

try:  # NumPy >= 2 keeps errstate in a context variable; setting it directly costs a quarter of
    # np.errstate, which matters on the microsecond scalar path.
    from numpy._core._ufunc_config import (  # type: ignore[attr-defined]
        _extobj_contextvar,
        _make_extobj,
    )
except ImportError:  # pragma: no cover - NumPy 1.x
    _extobj_contextvar = _make_extobj = None

_quiet_pair: tuple[Any, Any] = (None, None)  # (an errstate, it with every error ignored)


class _Quiet:
    """np.errstate(all="ignore") as a context, set through NumPy's context variable (a
    third of np.errstate's cost): the current state with every floating-point error
    ignored, made once per distinct current state (states are immutable), as the compiled
    scalar path does."""

    __slots__ = ("token",)

    def __enter__(self) -> None:
        global _quiet_pair
        cur = _extobj_contextvar.get()
        pair = _quiet_pair
        if pair[0] is not cur or pair[1] is None:
            pair = (cur, _make_extobj(all="ignore"))
            _quiet_pair = pair  # one object: no thread sees one state's pair half-updated
        self.token = _extobj_contextvar.set(pair[1])

    def __exit__(self, *exc: Any) -> None:
        _extobj_contextvar.reset(self.token)


def quiet() -> Any:
    """A context in which NumPy ignores floating-point errors: stencils probe f near domain
    edges on purpose, and non-finite values are handled and reported in `status`."""
    return np.errstate(all="ignore") if _extobj_contextvar is None else _Quiet()


METHODS = ("central", "forward", "backward", "complex", "dual")
SIDES = ("central", "forward", "backward")  # index = fd_side in C
DEFAULT_ORDER = {"central": 2, "forward": 1, "backward": 1}
#: One-sided default order for n >= 5. On the honesty study (n = 5 / 6, 612 cases each), order
#: 3 against 1: forward trusted 362 / 293 -> 367 / 338, misses 2 / 2 -> 0 / 1; backward 365 /
#: 323 -> 374 / 343, misses 3 / 8 -> 0 / 0; median relative error on plain f 2.5-5x smaller
#: (forward n = 5: 2.0e-4 -> 7.6e-5). Orders 4 and 6 were as accurate but missed more
#: (forward: 1 / 1 each). Below n = 5 order 1 stays (the ratchets of tests/test_honesty.py).
HIGH_N_ONE_SIDED_ORDER = 3


def default_order(method: str, n: int) -> int:
    """The default `order` of `method`'s formula for the n-th derivative."""
    if method in ("forward", "backward") and n >= 5:
        return HIGH_N_ONE_SIDED_ORDER
    return DEFAULT_ORDER.get(method, 2)


_BOUNDS_FLAG = 2  # FD_FLAG_BOUNDS


class DerivativeArgs(NamedTuple):
    """Validated arguments of derivative() and the multivariate verbs, as the engine needs
    them (the verbs set `n` per use and add `batch_bytes`)."""

    f: Callable[..., Any]
    x: np.ndarray  # float64, any shape
    n: int
    method: str
    order: int
    step: np.ndarray | None  # float64, broadcast to x
    rtol: float | None
    atol: float | None
    bounds: tuple[np.ndarray, np.ndarray] | None  # broadcast to x
    vectorized: bool
    args: tuple[Any, ...]
    kwargs: dict[str, Any] | None
    noise: float | None
    batch_bytes: int = 0  # multivariate verbs: memory for one batch of a vectorized f
    workers: _evaluate.Runner | None = None  # None: serial, no progress bar


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


#: arrays of at most this many elements are checked element by element in Python
_SMALL = 32


def check_finite_x(x: Any, name: str = "x") -> np.ndarray:
    """`x` as a non-empty, finite float64 array."""
    arr = check_real_array(name, x)
    if arr.size == 0:
        raise fail(name, "non-empty", x)
    if not all_finite(arr):
        raise fail(name, "finite (no NaN or inf)", x)
    return arr


def all_finite(arr: np.ndarray) -> bool:
    """Whether every element of the float array arr is finite."""
    if arr.size <= _SMALL:  # math.isfinite on a short list: a tenth of NumPy's call overhead
        return all(map(math.isfinite, arr.ravel().tolist()))
    return bool(np.isfinite(arr).all())


def check_order(method: str, order: Any, n: int = 1) -> int:
    """The accuracy order of `method`'s formula for the n-th derivative: even for central,
    >= 1 one-sided; None gives default_order(method, n)."""
    if order is None:
        return default_order(method, n)
    if method == "central":
        order = check_int("order", order, 2, "a positive even integer for method='central'")
        if order % 2:
            raise fail("order", "a positive even integer for method='central'", order)
        return order
    if method == "complex":
        return _complex_mod.check_order(order, 1)
    if method == "dual":
        raise fail("order", f"None for method={method!r} (it has no formula order)", order)
    return check_int("order", order, 1, f"a positive integer for method={method!r}")


def check_tolerances(rtol: Any, atol: Any) -> tuple[float | None, float | None]:
    if rtol is None and atol is None:  # the default
        return None, None
    out: list[float | None] = []
    for name, value in (("rtol", rtol), ("atol", atol)):
        if value is None:
            out.append(None)
            continue
        try:
            v = float(value)
        except (TypeError, ValueError) as exc:
            raise fail(name, "a non-negative number or None", value, TypeError) from exc
        if not v >= 0 or not np.isfinite(v):
            raise fail(name, "a finite number >= 0", value)
        out.append(v)
    if out[0] is not None and 0 < out[0] < 16 * np.finfo(np.float64).eps:
        warnings.warn(
            f"`rtol`={out[0]:g} is below the attainable precision of finite differences "
            f"(~{16 * np.finfo(np.float64).eps:.1e}); elements will report NOT_CONVERGED.",
            RuntimeWarning,
            stacklevel=4,
        )
    return out[0], out[1]


def check_step(step: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    if step is None:
        return None
    s = check_real_array("step", step)
    if not (np.isfinite(s).all() and (s > 0).all()):
        raise fail("step", "a finite number > 0 (or an array of them), or None", step)
    try:
        return np.ascontiguousarray(np.broadcast_to(s, shape))
    except ValueError as exc:
        raise fail("step", f"broadcastable to x's shape {shape}", step) from exc


def check_bounds(bounds: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    if bounds is None:
        return None
    try:
        lo_in, hi_in = bounds
    except (TypeError, ValueError) as exc:
        raise fail("bounds", "a pair (lo, hi)", bounds, TypeError) from exc
    lo = check_real_array("bounds", lo_in)
    hi = check_real_array("bounds", hi_in)
    try:
        lo = np.ascontiguousarray(np.broadcast_to(lo, x.shape))
        hi = np.ascontiguousarray(np.broadcast_to(hi, x.shape))
    except ValueError as exc:
        raise fail("bounds", f"broadcastable to x's shape {x.shape}", bounds) from exc
    if np.isnan(lo).any() or np.isnan(hi).any() or not (lo < hi).all():
        raise fail("bounds", "a pair (lo, hi) with lo < hi", bounds)
    if not ((lo <= x) & (x <= hi)).all():
        raise fail("x", f"inside bounds=({lo_in!r}, {hi_in!r})", x.tolist() if x.size < 8 else x)
    return lo, hi


def check_common(f: Any, args: Any, kwargs: Any, vectorized: Any) -> None:
    if type(args) is tuple and kwargs is None and type(vectorized) is bool and callable(f):
        return  # the common case, without building the isinstance unions below
    if not callable(f):
        raise fail("f", "callable", f, TypeError)
    if not isinstance(args, tuple):
        raise fail("args", "a tuple", args, TypeError)
    if kwargs is not None and not isinstance(kwargs, dict):
        raise fail("kwargs", "a dict or None", kwargs, TypeError)
    if not isinstance(vectorized, bool | np.bool_):
        raise fail("vectorized", "True or False", vectorized, TypeError)


def check_dual_args(f: Any, args: Any, kwargs: Any, vectorized: Any, **unused: Any) -> None:
    """method="dual": the common checks, and no finite-difference-only option set.

    x is checked by fastdiff._forward, which also accepts Duals (nested differentiation).
    `vectorized` is accepted; only derivative() of an array x uses it (f is then called once
    on a DualArray of every point): the other verbs call f with Duals or DualArrays anyway.
    """
    check_common(f, args, kwargs, vectorized)
    for name, value in unused.items():
        if value is not None:
            raise fail(name, "None for method='dual' (dual numbers are exact to rounding)", value)


def check_dual_workers(workers: Any, progress: Any) -> None:
    """method="dual": `workers` must be None (f runs a few times, on dual numbers in this
    process); `progress` is checked and has nothing to count."""
    _evaluate.check_progress(progress)
    if workers is not None:
        raise fail(
            "workers",
            "None for method='dual' (f is called a few times, with dual numbers, in this "
            "process; use a finite-difference or 'complex' method to spread evaluations)",
            workers,
        )


def check_noise(noise: Any) -> float | None:
    if noise is None:
        return None
    try:
        v = float(noise)
    except (TypeError, ValueError) as exc:
        raise fail("noise", "a number in [0, 1) or None", noise, TypeError) from exc
    if not 0 <= v < 1:
        raise fail("noise", "a number in [0, 1) or None", noise)
    return v


def _validate_derivative_args(
    f, x, n, method, order, step, rtol, atol, bounds, vectorized, args, kwargs, noise,
    workers=None, progress=False, batch_bytes=0,
) -> DerivativeArgs:  # fmt: skip
    check_common(f, args, kwargs, vectorized)
    runner = _evaluate.check_workers(workers, progress)
    x = check_finite_x(x)
    n = check_int("n", n, 1, "a positive integer")
    if not isinstance(method, str) or method not in METHODS:
        raise fail("method", "one of " + ", ".join(map(repr, METHODS)), method)
    order = (
        _complex_mod.check_order(order, n) if method == "complex" else check_order(method, order, n)
    )
    rtol, atol = check_tolerances(rtol, atol)
    if method == "complex" and bounds is not None:
        raise fail("bounds", "None for method='complex' (its points leave the real axis)", bounds)
    return DerivativeArgs(
        f,
        x,
        n,
        method,
        order,
        check_step(step, x.shape),
        rtol,
        atol,
        check_bounds(bounds, x),
        bool(vectorized),
        args,
        kwargs,
        check_noise(noise),
        batch_bytes,
        runner,
    )


# --------------------------------------------------------------------------------------------
# The public verb
# --------------------------------------------------------------------------------------------


def derivative(
    f: Callable[..., Any],
    x: ArrayLike,
    *,
    n: int = 1,
    method: str = "central",
    order: int | None = None,
    step: ArrayLike | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    bounds: tuple[ArrayLike, ArrayLike] | None = None,
    vectorized: bool = False,
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
    noise: float | None = None,
    workers: Any = None,
    progress: bool = False,
) -> Result:
    """Derivative of a scalar function, elementwise, with an error bound and status per element.

    Parameters
    ----------
    f : callable
        ``f(x, *args, **kwargs)``. With ``vectorized=False`` (default) it is called with one
        float at a time from a compiled loop and returns one number (float or complex). With
        ``vectorized=True`` it takes an ndarray of points (any shape) and returns an array of
        the same shape, computed elementwise.
    x : float array_like or dask array
        Where to differentiate; any shape. Each element is independent. A dask array is
        worked block by block, lazily (see Notes).
    n : int, default: 1
        Derivative order. Finite differences reach useful accuracy for n = 1 ... 6, the
        complex method n = 1 ... 6 and beyond (to ~1e-10 at n = 6). ``method="dual"`` takes
        any n: dual numbers for n = 1, univariate Taylor arithmetic (Taylor mode) for n >= 2,
        both exact to rounding.
    method : {"central", "forward", "backward", "complex", "dual"}, default: "central"
        ``"central"``, ``"forward"``, ``"backward"``: finite differences on an adaptive step
        ladder with Richardson extrapolation. ``"complex"``: the complex step
        ``Im f(x + ih) / h`` for n = 1, the Cauchy integral on shrinking circles for n >= 2
        (f must be analytic and real on reals; a non-analytic f is detected). ``"dual"``:
        forward-mode dual numbers for n = 1, Taylor series of degree n for n >= 2 (f must use
        NumPy ufuncs, `fastdiff.math` functions and arithmetic; for n >= 2 it is called once,
        with one Taylor number over the whole array `x`, and must work elementwise). For n = 1
        f gets one Dual per point, or with ``vectorized=True`` and an array `x` one
        `fastdiff.DualArray` of every point, which carries the rounding bound too (nfev 1).
    order : int, optional
        Accuracy order of the finite-difference formula at each step: even for central
        (default 2), any positive integer one-sided (default 1, and 3 for n >= 5). With the
        adaptive step the ladder extrapolates far beyond it; with a fixed `step` it is the
        formula's order.
        ``method="complex"``, n = 1: the error order of the complex-step formula, even,
        2 ... 16 (default 2): order 2 is ``Im f(x + ih) / h``, order ``2c`` its Richardson
        extrapolation over the steps ``h, h/q, ..., h/q**(c-1)`` (error ``O(h**(2c))``);
        the default step is so small that order only matters with a fixed `step`. For
        n >= 2 (the Cauchy contour) `order` must be None.
    step : float array_like, optional
        ``None`` (default): adaptive. A positive number (or array broadcastable to `x`) fixes
        the absolute step: `df` is the order-`order` formula at exactly that step (no
        extrapolation), and two extra levels at ``step/q`` and ``step/q**2`` estimate its error.
        ``method="complex"``: for n = 1 the formula's first step h (default
        ``2**-40 max(|x|, 1)``), with one extra level at ``h/q`` for its error estimate; for
        n >= 2 the radius of the one circle used (default: shrinking circles from
        ``max(|x|, 1) / 2``). Either way it is reported in ``Result.step``.
    rtol, atol : float, optional
        Stop refining an element once ``error <= atol + rtol * |df|``; an element that cannot
        reach it has status ``NOT_CONVERGED``. By default the ladder stops once the error is
        below ``eps**0.75 * |df|`` or cannot improve any more, and that is not an error, as
        long as ``error <= |df|`` or the derivative is zero to the accuracy the method
        reaches (see Notes); otherwise the status is ``NOT_CONVERGED`` too.
    bounds : (lo, hi), optional
        The domain of f (scalars or arrays broadcastable to `x`): f is only evaluated in
        ``[lo, hi]``; near a bound the stencil shrinks or becomes one-sided.
    vectorized : bool, default: False
        Whether f accepts an array of points (see `f`). Then f is called once per ladder level
        with all pending points, in chunks of at most ``2**20`` points.
    args : tuple, default: ()
        Extra positional arguments for f.
    kwargs : dict, optional
        Extra keyword arguments for f.
    noise : float, optional
        Relative accuracy of the values of f, when it is worse than its dtype's ``eps`` (a
        simulation, an iterative solver). Default: ``eps`` of f's output dtype.
    workers : int, map-like callable, concurrent.futures.Executor or dask Client, optional
        Where f is evaluated. ``None`` (default): in this thread. An int n: a pool of n
        processes, started and shut down by this call (f, `args` and `kwargs` must pickle:
        define f at module level). A map-like callable (``pool.map``, SciPy's convention), a
        `concurrent.futures.Executor`, or a ``dask.distributed.Client`` (f travels with
        cloudpickle). The points of each ladder level, over every element, go out as one
        batch in one block per worker (with ``vectorized=True``, each worker's f gets its
        block as one array). The result is bitwise the serial one, `nfev` included.
        ``method="dual"`` takes None only. See the "Expensive functions" page of the docs.
    progress : bool, default: False
        Show a progress bar on stderr counting the evaluations of each level (tqdm if it is
        installed, else plain lines). It never writes to stdout and changes nothing in the
        result.

    Returns
    -------
    Result
        With attributes (arrays of `x`'s shape, or scalars for scalar `x`):

        df : float or complex
            The estimate.
        error : float
            Estimated bound on ``|df - f^(n)(x)|``.
        success : bool
            ``status >= 0``: the estimate is trusted.
        status : int
            ``0`` converged; ``1`` f was non-finite at some steps and smaller or one-sided
            steps were used; ``2`` one-sided because of `bounds`; ``-1`` the requested
            `rtol`/`atol` was not met (by default: the error bar exceeds ``|df|`` and the
            derivative is not zero to within the method's reach); ``-2`` f was non-finite
            everywhere tried; ``-3`` estimates did not settle (a kink, noise, an
            unresolved oscillation); ``-4`` complex step: f dropped the imaginary part or
            is not analytic. See `Status`.
        nfev : int
            Points at which f was evaluated, in total.
        step : float
            The step of the returned estimate.
        method : str
            The method used.

    Raises
    ------
    ValueError, TypeError
        For invalid arguments, naming the parameter, the rule and the value; for an f that
        returns the wrong shape or non-numbers. Exceptions raised by f propagate unchanged.

    See Also
    --------
    gradient, jacobian, hessian, hessdiag, jvp : the same engine for many variables.
    fd_weights : the finite-difference weights behind the stencils.

    Notes
    -----
    Element by element, the step runs down a ladder ``h_k = h_0 / q**k`` with
    ``h_0 = 2**-3 * max(|x|, 1)`` for n = 1 (larger for higher n) and the ratio
    ``q = 1 + sqrt(2)`` (``sqrt(3)`` for central n >= 4, where only steps near ``h_0`` escape
    rounding and more levels must fit there), irrational so that no periodic f can alias
    consistently across levels. f is evaluated at ``x + c*s`` with ``s = (x + h) - x``, the spacing
    ``x + h`` really has, and ``s`` is the divisor. At each level the base formula gives
    ``A_k = f^(n)(x) + a_p h^p + a_{p+2} h^{p+2} + ...``; a Richardson tableau removes one
    term per column. The total error is truncation plus rounding,

    .. math:: |A_k - f^{(n)}| \\lesssim |a_p| h^p + \\epsilon \\sum_j |w_j f_j| / h^n ,

    and `error` is built so that it bounds the true error wherever `success` is True:

    * an extrapolated value is trusted only after its column's differences shrank at the
      predicted rate ``q**e`` on two consecutive levels (a chance agreement of aliased or
      noisy values is then unlikely), or sit at the rounding level;
    * its error is the full correction ``|T[j+1] - T[j]|``, plus the rate test's residual
      (what the leading term leaves unexplained: later terms and noise), plus the rounding
      bound (``noise * sum|w_j f_j| / h**n`` for f's values, and every product, addition
      and the division by ``h**n`` counted at ``eps/2`` of its size) carried through the
      tableau;
    * below the best level, differences that miss their rate reveal noise in f, which is
      added at the best level's step;
    * for n = 1, central, the one-sided slopes must agree as h shrinks, or f has a kink.

    The smallest trusted error wins (counting the noise learned so far). Non-finite values
    of f discard the level and the ladder goes on with smaller steps (status 1); where they
    stay on one side of x for 10 levels in a row, f's domain ends there and the central
    stencil turns one-sided.

    By default `success` also requires ``error <= |df|``: an error bar larger than the
    value says nothing about it. The exception is a derivative that is zero as far as the
    method can see, ``error <= z_n * sum|w_j f_j| / h_0^n`` (the first level's scale, about
    ``|f| / max(|x|, 1)^n``), with ``z_n`` = 1e-8, 1e-6, 1e-4, 1e-3, 1e-2, 1e-1 for
    n = 1 ... 6 and 1 above: what a one-sided ladder reaches for each n.

    ``method="complex"`` with n = 1 evaluates ``g(h) = Im f(x + ih) / h`` at
    ``h, h/q, ..., h/q**c`` for order ``2c``: its Richardson tableau in ``h**2`` gives the
    estimate (levels 0 .. c-1) and the same formula one level finer; their difference, scaled
    by ``q**p / (q**p - 1)`` and a safety of 1.5, bounds the truncation, and one rounding unit
    ``(noise + eps) sum |w_k g_k|`` is added (the irrational q keeps the levels' roundings
    apart, so the difference also samples them). Two real values ``f(x +- hc)``,
    ``hc = 2**-20 max(|x|, 1)``, check that f is analytic and kept the imaginary part; where
    they are not finite or disagree, one closer check at ``hc / 2**12`` is made (status 1 if
    it was a domain edge), allowing the first discrepancy shrunk at the ``hc**2`` rate of the
    central difference's own truncation (a non-analytic f's does not shrink). Any
    non-finite value of f (NaN or inf, in either part) means no trusted estimate: status -2,
    or -4 where the imaginary part is missing. Cost: 4 evaluations per element for the
    default order 2.

    With n >= 2 it evaluates f on circles ``x + r exp(2 pi i k / 32)``
    (17 points by conjugate symmetry) and takes the trapezoid rule of the Cauchy integral,
    whose error falls like ``(r / R)^32`` for a singularity at distance R, about the square
    of the 16-point rule's (times 100 for safety). The rounding bar is 3 ulps per value of
    ``n! mean|f| / r**n`` plus the rounding of the points themselves. The radius halves until
    two consecutive circles agree within these bars; an analytic f must also average to f(x)
    on each circle, and the result must agree with the central ladder within both error
    bars, so a non-analytic f (``abs``, ``conj(z) z``) gets status -4.

    A dask array `x` is differentiated blockwise and lazily (``dask.array.map_blocks``; the
    extra ``fastdiff[dask]``): each block goes through this function on its own, so points
    that do not fit in memory can be spread over a cluster. `df`, `error`, `success`,
    `status` and `step` are then dask arrays chunked like `x`, and `nfev` is a 0-d dask array
    (the blocks' counts summed; ``int(res.nfev)`` computes it). Elements are independent, so
    each field is bitwise the NumPy result (``method="dual"`` counts one call per block).
    The arguments are checked at once, the values of `x` block by block when computed;
    compute the fields together (``dask.compute(res.df, res.error)``) to evaluate each block
    once. With ``vectorized=True`` f is called once on an empty array to find whether it is
    complex-valued; with ``vectorized=False`` `df` is declared float64 and a complex f
    raises TypeError at compute. See the "Derivatives over dask arrays" page.

    Replacing the removed ``scipy.misc.derivative(func, x0, dx, n, order)`` (``order`` =
    number of points): use
    ``derivative(func, x0, n=n, step=dx, order=order - 1).df`` for n = 1 or 2 (central
    ``order - 1`` accuracy on ``order`` points), ``order=order - 3`` for n = 3 or 4.

    Examples
    --------
    The derivative of ``exp`` at 1, with its error bound and the true error:

    >>> import numpy as np
    >>> import fastdiff as fd
    >>> res = fd.derivative(np.exp, 1.0)
    >>> bool(res.success), res.status
    (True, 0)
    >>> bool(abs(res.df - np.e) <= res.error < 1e-11), res.nfev
    (True, 13)

    Elementwise over an array, with f called once per level on all pending points:

    >>> x = np.linspace(0, 3, 4)
    >>> res = fd.derivative(np.sin, x, vectorized=True)
    >>> bool(np.all(np.abs(res.df - np.cos(x)) <= res.error))
    True

    Higher derivatives, and a domain edge: ``log`` at 1e-3 cannot be probed with large
    steps; the non-finite values are noticed and the ladder goes on (status 1):

    >>> res = fd.derivative(np.log, 1e-3)
    >>> round(float(res.df), 6), res.status
    (1000.0, 1)
    >>> res = fd.derivative(np.exp, 0.0, n=4)
    >>> bool(abs(res.df - 1) <= res.error < 1e-6)
    True

    A kink is reported, not averaged away:

    >>> fd.derivative(abs, 0.0).status
    -3

    Any order exactly, by Taylor mode (``method="dual"``, n >= 2): f is called once, and
    `error` is a rounding bound carried through every operation:

    >>> from fastdiff import math as fm
    >>> res = fd.derivative(lambda x: fm.exp(x) * fm.sin(x), 0.7, n=4, method="dual")
    >>> exact = -4 * np.exp(0.7) * np.sin(0.7)
    >>> bool(abs(res.df - exact) <= res.error < 1e-12), res.nfev, res.step
    (True, 1, 0.0)

    The complex step, and a fixed step as in ``scipy.misc.derivative``:

    >>> res = fd.derivative(np.sin, 0.5, method="complex")
    >>> bool(abs(res.df - np.cos(0.5)) <= res.error < 1e-14)
    True
    >>> res = fd.derivative(np.sin, 0.5, method="complex", step=1e-20)
    >>> float(res.step), bool(res.df == np.sin(0.5 + 1e-20j).imag / 1e-20)
    (1e-20, True)
    >>> res = fd.derivative(np.sin, 0.5, method="complex", step=0.1, order=4)
    >>> bool(abs(res.df - np.cos(0.5)) <= res.error < 1e-6)
    True
    >>> res = fd.derivative(np.exp, 0.0, step=1e-3)     # 3-point central formula
    >>> bool(abs(res.df - 1) <= res.error), float(res.step)
    (True, 0.001)
    """
    return _derivative(
        f, x, n, method, order, step, rtol, atol, bounds, vectorized, args, kwargs, noise,
        workers, progress,
    )  # fmt: skip


def _derivative(
    f, x, n, method, order, step, rtol, atol, bounds, vectorized, args, kwargs, noise, workers,
    progress,
) -> Result:  # fmt: skip
    """derivative() with its arguments bound by position (the compiled entry calls this)."""
    if type(x) is float and workers is None and progress is False:
        if method == "dual":
            # checks its arguments; None: not a case it serves
            res = dual_derivative_float(
                f, x, n, order, step, bounds, vectorized, args, kwargs, noise
            )
            if res is not None:
                return res
        else:
            try:
                res = _finite_diff.derivative_float(
                    f, x, n, method, order, step, rtol, atol, bounds, vectorized, args, kwargs,
                    noise,
                )  # fmt: skip
            except ValueKindError as exc:
                raise _reword(exc, "vectorized=False") from None
            if res is not None:
                return res
        if (
            type(method) is str
            and method in _SCALAR_FAST
            and type(n) is int
            and n >= 1
            and step is None
            and bounds is None
            and vectorized is False
            and noise is None
            and type(args) is tuple
            and (kwargs is None or type(kwargs) is dict)
            and math.isfinite(x)
            and callable(f)
        ):
            return _scalar(f, x, n, method, order, rtol, atol, args, kwargs)
    if is_dask_array(x):  # blockwise and lazy; dask is never imported for other x
        for name, value, default in (("workers", workers, None), ("progress", progress, False)):
            if value is not default:  # the blocks run on dask's own scheduler
                raise fail(
                    name, f"{default} with a dask array x (dask schedules its blocks)", value
                )
        options = dict(n=n, method=method, order=order, step=step, rtol=rtol, atol=atol)
        options.update(bounds=bounds, vectorized=vectorized, args=args, kwargs=kwargs)
        return dask_derivative(f, x, dict(options, noise=noise))
    if method == "dual":
        check_dual_args(
            f, args, kwargs, vectorized, order=order, step=step, bounds=bounds, noise=noise
        )
        check_dual_workers(workers, progress)
        if n != 1:  # Taylor mode: any n, one call of f
            return _taylor.taylor_derivative(f, x, n, args, kwargs)
        if vectorized is True and np.ndim(x) > 0:  # one call on a DualArray of every point
            return _forward.dual_derivative_vectorized(f, x, args, kwargs)
        return _forward.dual_derivative(f, x, args, kwargs)
    a = _validate_derivative_args(
        f, x, n, method, order, step, rtol, atol, bounds, vectorized, args, kwargs, noise,
        workers, progress,
    )  # fmt: skip
    # Stencils deliberately probe f near domain edges: non-finite values are handled (and
    # reported in `status`), so NumPy's floating-point warnings from f are noise here.
    with quiet():
        return _evaluate.run(a.workers, _complex if a.method == "complex" else _ladder, a)


def _compiled_entry(python: Callable[..., Result]) -> Callable[..., Result]:
    """The public derivative: a compiled function of the same signature that serves
    derivative(f, float, method="dual") with default options in one call (with n >= 2 it
    goes straight to Taylor mode), tries the compiled scalar ladder (derivative_float) for a
    float x with a finite-difference method, and passes every other call to _derivative. A Python
    function's keyword-only defaults alone (13 dict lookups per call) cost half the arithmetic
    of a small f on Duals; the compiled entry binds them in C. It carries the Python
    function's name, docstring and signature (__wrapped__), so help(), inspect.signature,
    doctest and Sphinx see the same function."""
    entry = _dual.bind_derivative(
        _derivative,
        _taylor.taylor_derivative,
        ValueKindError,
        _evaluate.reword,
    )
    for name in ("__module__", "__name__", "__qualname__", "__doc__", "__annotations__"):
        setattr(entry, name, getattr(python, name))
    entry.__wrapped__ = python  # type: ignore[attr-defined]
    return entry


derivative = _compiled_entry(derivative)


# --------------------------------------------------------------------------------------------
# Finite differences on the step ladder
# --------------------------------------------------------------------------------------------

_SCALAR_FAST = {"central": 0, "forward": 1, "backward": 2}


def _scalar(f, x: float, n: int, method: str, order, rtol, atol, args, kwargs) -> Result:
    """derivative() for one float x with an adaptive step: the whole ladder in one C call.

    The caller has checked every argument this path relies on; this is the same computation
    as _ladder() for a 0-d x, without its array bookkeeping.
    """
    order = check_order(method, order, n)
    if rtol is not None or atol is not None:
        rtol, atol = check_tolerances(rtol, atol)
    config = ladder_config(n, method, order, False, rtol, atol, tuned_h0=True)
    mant, expo = math.frexp(max(abs(x), 1.0))
    h0 = math.ldexp(1.0, expo - (mant == 0.5) + _steps.initial_step_exponent(n, method))
    h0 = (x + h0) - x
    # Stencils probe f near domain edges on purpose: NumPy warnings from f are noise here
    # (the same as np.errstate(all="ignore") in derivative(), built from the current state).
    quiet = np.errstate(all="ignore") if _extobj_contextvar is None else None
    token = _extobj_contextvar.set(_make_extobj(all="ignore")) if quiet is None else None
    try:
        if quiet is not None:
            quiet.__enter__()
        df, err, status, step, nfev = _finite_diff.run_scalar(
            config, f, args, kwargs, x, h0, _SCALAR_FAST[method], -1.0
        )
    except ValueKindError as exc:
        raise _reword(exc, "vectorized=False") from None
    finally:
        if quiet is not None:
            quiet.__exit__(None, None, None)
        else:
            _extobj_contextvar.reset(token)
    return make_result(df, err, status >= 0, status, nfev, step, method)


def _fast_config(n: int, method: str):
    """For the compiled scalar path (`_finite_diff.derivative_float`): the LadderConfig of
    the default options, log2 of the first step relative to the scale, and the side; None
    where that path does not apply."""
    if method not in _SCALAR_FAST or not 1 <= n <= 16:  # beyond 16: not worth a cache entry
        return None
    order = default_order(method, n)
    config = ladder_config(n, method, order, False, None, None, tuned_h0=True)
    return config, _steps.initial_step_exponent(n, method), _SCALAR_FAST[method]


_finite_diff.scalar_policy(Result, _fast_config, _extobj_contextvar, _make_extobj)


def _sides_and_steps(
    a: DerivativeArgs, x: np.ndarray, tuned_h0: bool = False
) -> tuple[np.ndarray, ...]:
    """Per element: the stencil side, the first step, and flags (bounds made it one-sided).

    tuned_h0: the first step of derivative()'s ladders (_steps.INITIAL_STEP_EXPONENTS), not
    the multivariate verbs' (_steps.initial_step_exponent without a method)."""
    expo = _steps.initial_step_exponent(a.n, a.method if tuned_h0 else None)
    if a.step is None and a.bounds is None:  # the default, in one compiled loop
        h0 = _finite_diff.scaled_steps(x, 2.0**expo, True)
        side = np.zeros(x.shape, dtype=np.intc)
        if a.method != "central":
            side.fill(SIDES.index(a.method))
        return side, h0, np.zeros(x.shape, dtype=np.intc)
    if a.step is not None:
        h0 = a.step.ravel().copy()
    else:
        # _steps.scale_of(x) * 2 ** initial_step_exponent, in one compiled loop
        h0 = _finite_diff.scaled_steps(x, 2.0**expo)
    side = np.empty(x.shape, dtype=np.intc)
    side.fill(SIDES.index(a.method))
    flags = np.zeros(x.shape, dtype=np.intc)
    if a.bounds is not None:
        lo, hi = (b.ravel() for b in a.bounds)
        reach = {s: stencil(s, a.n, _order_for(a, s)).offsets for s in SIDES}
        left = {s: -min(min(o), 0.0) for s, o in reach.items()}
        right = {s: max(max(o), 0.0) for s, o in reach.items()}
        room_lo, room_hi = x - lo, hi - x
        s0 = SIDES[side[0]]

        def fits(s: str, h: np.ndarray) -> np.ndarray:
            return (left[s] * h <= room_lo) & (right[s] * h <= room_hi)

        if a.step is None:
            # shrink the first step (by powers of two) until the stencil fits, down to 2^-8 h0
            cap = np.minimum(
                np.where(left[s0] > 0, room_lo / max(left[s0], 1e-300), np.inf),
                np.where(right[s0] > 0, room_hi / max(right[s0], 1e-300), np.inf),
            )
            shrunk = np.where(cap > 0, _steps.pow2_floor(np.maximum(cap, 1e-300)), 0.0)
            ok = shrunk >= h0 * 2.0**-8
            h0 = np.where(fits(s0, h0), h0, np.where(ok, np.minimum(h0, shrunk), h0))
        bad = ~fits(s0, h0)
        if bad.any():
            one = np.where(room_hi >= room_lo, 1, 2)
            side = np.where(bad, one, side).astype(np.intc)
            flags = np.where(bad, _BOUNDS_FLAG, 0).astype(np.intc)
            for k, s in ((1, "forward"), (2, "backward")):
                sel = bad & (side == k)
                room = room_hi if k == 1 else room_lo
                ext = right[s] if k == 1 else left[s]
                if a.step is None:
                    h0 = np.where(sel, np.minimum(h0, _steps.pow2_floor(room / ext)), h0)
                    # the bound avoided lies at distance d: f's features there (log's
                    # singularity at 0) have scale d, which the ladder must reach with levels
                    # to spare (log at 1e-12 from h0 = 1/8 did not)
                    d = room_lo if k == 1 else room_hi
                    reach = d * _steps.step_ratio(a.n, a.method) ** _steps.BOUND_REACH_LEVELS
                    near = sel & (d > 0) & (reach < h0)
                    h0 = np.where(near, _steps.pow2_floor(np.where(near, reach, 1.0)), h0)
                elif (sel & (ext * h0 > room)).any():
                    raise fail(
                        "step",
                        "small enough for the stencil to fit inside `bounds`",
                        a.step if a.step.size < 8 else "array",
                    )
    # the spacing f will see: (x + h) - x, exact for the power-of-two adaptive steps
    h0 = x + h0
    h0 -= x
    if a.bounds is None:  # made contiguous above
        return side, h0, flags
    return np.ascontiguousarray(side), np.ascontiguousarray(h0), np.ascontiguousarray(flags)


def _order_for(a: DerivativeArgs, side: str) -> int:
    return a.order if side == a.method else default_order(side, a.n)


@lru_cache(maxsize=128)
def ladder_config(
    n: int,
    method: str,
    order: int,
    fixed: bool,
    rtol: float | None,
    atol: float | None,
    auto_side: bool = True,
    tuned_h0: bool = False,
) -> _finite_diff.LadderConfig:
    """The compiled configuration for one choice of formula, step mode and tolerance.

    tuned_h0: the ladders start at derivative()'s first step (_sides_and_steps), which the
    threshold of a "zero" derivative is scaled to (_steps.zero_rtol).

    auto_side: central elements may turn one-sided where f is undefined on one side of x
    (off where a caller lays out points by the side it chose, as the Hessian's pairs do)."""
    stencils = [stencil(s, n, order if s == method else default_order(s, n)) for s in SIDES]
    need = len(stencils[SIDES.index(method)].offsets)
    if need > _finite_diff.MAX_POINTS:
        raise fail(
            "order",
            f"small enough for a stencil of at most {_finite_diff.MAX_POINTS} points "
            f"(n={n}, method={method!r} needs {need} at this order)",
            order,
        )
    return make_config(
        n,
        stencils,
        fixed,
        n == 1,
        rtol,
        atol,
        auto_side,
        q=_steps.step_ratio(n, method),
        zero_rtol=_steps.zero_rtol(n, method if tuned_h0 and not fixed else None),
    )


def make_config(
    n: int,
    stencils: list,
    fixed: bool,
    kink_check: bool,
    rtol: float | None,
    atol: float | None,
    auto_side: bool = False,
    weight_err: tuple[float, ...] | None = None,
    q: float = _steps.DEFAULT_STEP_RATIO,
    zero_rtol: float | None = None,
) -> _finite_diff.LadderConfig:
    """A LadderConfig with the package's ladder defaults (_steps) and stopping rule.

    weight_err: per stencil, the relative error of its weights (default: computed against
    the exact rational weights of its offsets). q: the ladder's step ratio. zero_rtol: the
    relative threshold below which an error bar means "zero" (default _steps.zero_rtol(n))."""
    from fastdiff._stencils import weight_error  # here: config building is cached, and the
    # import line above stays as other branches have it

    user_tol = rtol is not None or atol is not None
    default_rtol = float(np.finfo(np.float64).eps) ** _steps.DEFAULT_RTOL_EXPONENT
    # level counts are set for q = DEFAULT_STEP_RATIO: keep the steps they span at another q
    levels = _steps.levels_at(q)
    return _finite_diff.LadderConfig(
        n,
        stencils,
        q,
        levels(_steps.DEFAULT_MAX_LEVELS),
        _steps.DEFAULT_MAX_COLUMNS,
        fixed,
        kink_check,
        (rtol or 0.0) if user_tol else default_rtol,
        atol or 0.0,
        user_tol,
        _steps.zero_rtol(n) if zero_rtol is None else zero_rtol,
        levels(_steps.AUTO_SIDE_LEVELS) if auto_side else 0,
        [weight_error(s, n) for s in stencils] if weight_err is None else list(weight_err),
    )


def _value_info(y: Any, where: str) -> tuple[int, float]:
    """(ncomp, eps) of f's values: complex or real, and the precision they carry."""
    dt = y.dtype if type(y) is np.ndarray else np.asarray(y).dtype
    if dt.kind not in "biufc":
        raise TypeError(f"`f` must return numbers; got {type(y).__name__} {where}.")
    return (2 if dt.kind == "c" else 1), _evaluate.value_eps(dt)


_reword = _evaluate.reword


def _ladder(a: DerivativeArgs) -> Result:
    x = a.x.ravel()
    side, h0, flags = _sides_and_steps(a, x, tuned_h0=True)
    ev = _evaluate.ScalarEvaluator(a.f, a.args, a.kwargs, a.vectorized, a.workers)
    # a looped f goes level by level (one batch of every element's points per level) when
    # its points go to workers or a progress bar counts them; else in one compiled loop
    levels = a.vectorized or a.workers is not None
    if a.vectorized:
        if a.workers is not None:
            a.workers.count(x.size)
        y0 = ev.vectorized_call(a.x)
        ncomp, eps = _value_info(y0, "from f(x)")
        f0 = y0.reshape(-1)
        nfev = x.size
    else:
        y0 = ev.call(float(x[0]))
        ncomp, eps = _value_info(y0, "at x[0]")
        nfev = 1
        if levels:
            rows = ev.looped_rows(x, ncomp, [y0])
            f0 = rows.view(np.complex128) if ncomp == 2 else rows
            nfev = x.size
    config = ladder_config(
        a.n, a.method, a.order, a.step is not None, a.rtol, a.atol, tuned_h0=True
    )
    noise = eps if a.noise is None else max(a.noise, eps)
    L = _finite_diff.Ladder(
        config, ncomp, noise, min(x.size, _steps.DEFAULT_BLOCK_ELEMENTS) if a.vectorized else x.size
    )
    if levels:
        f0v = np.zeros((x.size, 2))
        f0v[:, 0] = f0.real
        if ncomp == 2:
            f0v[:, 1] = f0.imag
        evaluate = ev.level_function(ncomp)
        df, error, status, step, npts = L.run_blocks(x, h0, side, flags, f0v, evaluate)
        nfev += npts
    else:
        try:
            nfev += L.run_looped(a.f, a.args, a.kwargs, x, h0, side, flags, y0)
        except ValueKindError as exc:
            raise _reword(exc, "vectorized=False") from None
        df, error, status, step = L.results()
    df = df[:, 0] + 1j * df[:, 1] if ncomp == 2 else df[:, 0]
    return shaped_result(df, error, status, nfev, step, a.method, a.x.shape, a.x.shape)


# --------------------------------------------------------------------------------------------
# Complex step and contour (fastdiff._complex), with this verb's evaluation of f
# --------------------------------------------------------------------------------------------


def _complex(a: DerivativeArgs) -> Result:
    evaluate = _evaluate.ScalarEvaluator(
        a.f, a.args, a.kwargs, a.vectorized, a.workers
    ).complex_values
    if a.n == 1:
        df, error, status, step, nfev = _complex_mod.derivative_step(a, evaluate)
        return shaped_result(df, error, status, nfev, step, "complex", a.x.shape, a.x.shape)
    x = a.x.ravel()
    count = [x.size]
    fx = evaluate(x.astype(np.complex128))

    def on_circles(idx: np.ndarray, z: np.ndarray) -> np.ndarray:
        count[0] += z.size
        return evaluate(z.ravel())

    def central() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        res = _ladder(a._replace(method="central", order=DEFAULT_ORDER["central"], step=None))
        count[0] += res.nfev
        return np.ravel(res.df), np.ravel(res.error), np.ravel(res.success)

    df, error, status, r = _complex_mod.contour(a, a.n, x, on_circles, fx, central)
    return shaped_result(df, error, status, count[0], r, "complex", a.x.shape, a.x.shape)
