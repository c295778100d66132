"""check_gradient, check_jacobian: a hand-written derivative against fastdiff, entry by entry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from fastdiff import _multivariate, _structured
from fastdiff._result import Result
from fastdiff._validation import fail

#: Floor of the bar, in units of the eps of the user's values: room for the rounding of the
#: user's own gradient, which fastdiff cannot see. A backward pass sums many terms, and its
#: rounding is a few ulps of the largest term, not of the result; 2^8 ulps of the entry plus
#: 2^8 ulps of the largest entry covers that (1e-4 relative errors stay 10^9 times larger).
FLOOR_ULPS = 256.0

#: How many entries the repr lists.
REPR_ENTRIES = 5


@dataclass(frozen=True, repr=False)
class GradientCheck:
    """The verdict of `check_gradient` or `check_jacobian`, entry by entry.

    Attributes
    ----------
    ok : bool
        True exactly when no entry is flagged.
    mismatch : bool ndarray (or structure of them)
        Entries whose analytic value differs from the numerical one by more than `bar`.
    numerical : Result
        The finite-difference (or other method's) reference.
    analytic : ndarray (or structure)
        The values checked, as given.
    difference : ndarray (or structure)
        ``|analytic - numerical.df|``.
    bar : ndarray (or structure)
        The largest difference an entry may have: ``numerical.error`` plus the rounding floor.
    unchecked : bool ndarray (or structure)
        Entries whose reference is not trusted (``numerical.success`` False): never flagged,
        and not vouched for either.
    """

    ok: bool
    mismatch: Any
    numerical: Result
    analytic: Any
    difference: Any
    bar: Any
    unchecked: Any
    _names: tuple[str, ...] = ()
    _flat: tuple[np.ndarray, ...] = ()

    def __repr__(self) -> str:
        a, num, diff, bar, bad, unchecked = self._flat
        total = a.size
        head = (
            f"GradientCheck(ok={self.ok}: {int(bad.sum())} of {total} entries disagree"
            + (f", {int(unchecked.sum())} unchecked" if unchecked.any() else "")
            + ")"
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(unchecked, -1.0, np.where(bar > 0, diff / bar, np.inf))
        ratio = np.where(np.isnan(ratio), np.inf, ratio)
        if bad.any():
            order = np.argsort(-ratio[bad], kind="stable")[:REPR_ENTRIES]
            picks = np.flatnonzero(bad)[order]
            title = "worst entries"
        else:
            picks = np.argsort(-ratio, kind="stable")[:1]
            title = "closest entry"
        lines = [head, f"  {title}: analytic, numerical, |difference| vs bar"]
        width = max(len(self._names[i]) for i in picks)
        for i in picks:
            mark = ">" if bad[i] else "<="
            lines.append(
                f"    {self._names[i]:<{width}}  {a[i]: .12e}  {num[i]: .12e}  "
                f"{diff[i]:.2e} {mark} {bar[i]:.2e}"
            )
        if bad.sum() > len(picks):
            lines.append(f"    ... and {int(bad.sum()) - len(picks)} more")
        return "\n".join(lines)


def _entry_names(shape: tuple[int, ...], prefix: str) -> list[str]:
    if shape == ():
        return [prefix or "x"]
    return [f"{prefix}[{', '.join(map(str, ix))}]" for ix in np.ndindex(*shape)]


def _verdict(
    numerical: Result,
    num: np.ndarray,
    err: np.ndarray,
    success: np.ndarray,
    analytic: Any,
    a: np.ndarray,
    eps: float,
    names: list[str],
    back: Callable[[np.ndarray], Any],
) -> GradientCheck:
    """Compare flat analytic values with the flat reference and build the check."""
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(a - num)
        mag = np.maximum(np.abs(a), np.abs(num))
        finite = mag[np.isfinite(mag)]
        top = float(finite.max()) if finite.size else 0.0
        bar = err + FLOOR_ULPS * eps * (mag + top)
    unchecked = ~success
    bad = ~(diff <= bar) & ~unchecked  # NaN in the user's values is a mismatch
    return GradientCheck(
        ok=not bool(bad.any()),
        mismatch=back(bad),
        numerical=numerical,
        analytic=analytic,
        difference=back(diff),
        bar=back(bar),
        unchecked=back(unchecked),
        _names=tuple(names),
        _flat=(a, num, diff, bar, bad, unchecked),
    )


def _user_values(given: Any, name: str, x: Any, args: tuple, kwargs: dict | None) -> Any:
    if callable(given):
        return given(x, *args, **(kwargs or {}))
    return given


def _as_numbers(value: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise fail(name, "an array of numbers", value, TypeError) from exc
    if arr.dtype.kind not in "biufc":
        raise fail(name, "an array of numbers", value, TypeError)
    return arr


def _eps(arr: np.ndarray) -> float:
    kind = arr.dtype.kind
    e = np.finfo(arr.dtype).eps if kind in "fc" else np.finfo(np.float64).eps
    return float(max(e, np.finfo(np.float64).eps))


def check_gradient(
    f: Callable[..., Any],
    grad: Callable[..., Any] | ArrayLike,
    x: Any,
    **options: Any,
) -> GradientCheck:
    """Check a hand-written gradient against fastdiff's, entry by entry.

    Parameters
    ----------
    f : callable
        The scalar function, ``f(x, *args, **kwargs) -> float``.
    grad : callable or array_like
        The gradient to check: ``grad(x, *args, **kwargs)`` or its values, of x's shape S
        (or in x's structure). A wrong shape raises; it is never reshaped.
    x : float array_like, or a dict, list or tuple of arrays
        The point (see `gradient`).
    **options
        Passed to `gradient` (`method`, `order`, `step`, `rtol`, `atol`, `bounds`,
        `vectorized`, `args`, `kwargs`, `noise`, `batch_bytes`).

    Returns
    -------
    GradientCheck
        ``ok`` (bool: no entry flagged), ``mismatch`` (bool, x's shape or structure),
        ``numerical`` (the reference Result), ``analytic``, ``difference``, ``bar`` and
        ``unchecked``. Its repr names the worst entries with both values and the bar.

    Raises
    ------
    ValueError, TypeError
        For invalid options (as `gradient`), or a `grad` of the wrong shape or structure.

    See Also
    --------
    check_jacobian, gradient

    Notes
    -----
    Entry i is flagged when

    .. math:: |g_i - \\hat g_i| > e_i + 256\\,\\epsilon\\,(\\max(|g_i|, |\\hat g_i|)
              + \\max_j \\max(|g_j|, |\\hat g_j|)),

    with g the analytic values, :math:`\\hat g` and e fastdiff's estimate and error bar, and
    :math:`\\epsilon` the eps of the analytic values' dtype. Where fastdiff's ``success`` is
    True, e bounds the error of :math:`\\hat g`, so a correct entry can only be flagged if its
    own rounding exceeds the floor (256 ulps of the entry plus 256 of the largest entry).
    An entry whose reference is not trusted is reported in ``unchecked`` and never flagged.

    What the check cannot see: an error smaller than the bar. The bar is usually 1e-10 or
    less relative to the entries (see ``chk.bar``); an analytic gradient off by less than
    that passes. Use a tighter `rtol` or ``method="dual"`` for a smaller bar.

    Examples
    --------
    A dense layer's weight gradient with one wrong entry, off by 1e-4 relative:

    >>> import numpy as np
    >>> import fastdiff as fd
    >>> rng = np.random.default_rng(1)
    >>> X, Y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    >>> loss = lambda W: 0.5 * np.sum((X @ W - Y) ** 2)
    >>> backprop = lambda W: X.T @ (X @ W - Y)
    >>> W = rng.normal(size=(3, 2))
    >>> fd.check_gradient(loss, backprop, W).ok
    True
    >>> wrong = backprop(W)
    >>> wrong[2, 1] *= 1 + 1e-4
    >>> chk = fd.check_gradient(loss, wrong, W)
    >>> chk.ok, np.argwhere(chk.mismatch).tolist()
    (False, [[2, 1]])
    >>> print(chk)  # doctest: +ELLIPSIS
    GradientCheck(ok=False: 1 of 6 entries disagree)
      worst entries: analytic, numerical, |difference| vs bar
        [2, 1]   8.9084917153...e-01   8.90760095529...e-01  8.91e-05 > ...e-13
    """
    kwargs = options.get("kwargs")
    args = options.get("args", ())
    numerical = _multivariate.gradient(f, x, **options)
    given = _user_values(grad, "grad", x, args, kwargs)
    if _structured.is_structured(x):
        st = _structured.Structure(x)
        num = st.flatten_like(numerical.df, "df")
        err = st.flatten_like(numerical.error, "error").astype(np.float64)
        success = st.flatten_like(numerical.success, "success").astype(bool)
        a = st.flatten_like(given, "grad")
        names: list[str] = []
        for leaf, path in zip(st.leaves, st.paths, strict=True):
            names.extend(_entry_names(leaf.shape, path))
        eps = _eps(np.asarray(a))
        return _verdict(numerical, num, err, success, given, a, eps, names, st.restore_values)
    S = np.shape(numerical.df)
    arr = _as_numbers(given, "grad")
    if arr.shape != S:
        raise fail("grad", f"an array of x's shape {S} (it is never reshaped)",
                   f"shape {arr.shape}")  # fmt: skip
    return _flat_verdict(numerical, given, arr, S)


def _flat_verdict(numerical: Result, given: Any, arr: np.ndarray, shape: tuple) -> GradientCheck:
    def back(v: np.ndarray) -> Any:
        v = v.reshape(shape)
        return v[()] if v.ndim == 0 else v

    return _verdict(
        numerical,
        np.asarray(numerical.df).reshape(-1),
        np.asarray(numerical.error, dtype=np.float64).reshape(-1),
        np.asarray(numerical.success, dtype=bool).reshape(-1),
        given,
        arr.reshape(-1),
        _eps(arr),
        _entry_names(shape, ""),
        back,
    )


def check_jacobian(
    f: Callable[..., Any],
    jac: Callable[..., Any] | ArrayLike,
    x: ArrayLike,
    **options: Any,
) -> GradientCheck:
    """Check a hand-written Jacobian against fastdiff's, entry by entry.

    Parameters
    ----------
    f : callable
        ``f(x, *args, **kwargs)`` returning an array of shape F.
    jac : callable or array_like
        The Jacobian to check, ``J[i, j] = d f_i / d x_j``: ``jac(x, *args, **kwargs)`` or
        its values, of shape ``F + S``. A wrong shape raises; it is never reshaped.
    x : float array_like
        The point, of any shape S.
    **options
        Passed to `jacobian`.

    Returns
    -------
    GradientCheck
        As for `check_gradient`, with ``mismatch`` (and the other arrays) of shape ``F + S``.

    Raises
    ------
    ValueError, TypeError
        For invalid options (as `jacobian`), or a `jac` of the wrong shape.

    See Also
    --------
    check_gradient, jacobian

    Notes
    -----
    The rule of `check_gradient`, per entry of the Jacobian (the floor's largest entry is
    taken over the whole Jacobian).

    Examples
    --------
    A transposed Jacobian is flagged exactly where it differs from the true one:

    >>> import numpy as np
    >>> import fastdiff as fd
    >>> A = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> f = lambda v: np.tanh(A @ v)
    >>> jac = lambda v: (1 - np.tanh(A @ v) ** 2)[:, None] * A
    >>> x = np.array([0.1, -0.2])
    >>> fd.check_jacobian(f, jac, x).ok
    True
    >>> fd.check_jacobian(f, lambda v: jac(v).T, x).mismatch
    array([[False,  True],
           [ True, False]])
    """
    numerical = _multivariate.jacobian(f, x, **options)
    given = _user_values(jac, "jac", x, options.get("args", ()), options.get("kwargs"))
    shape = np.shape(numerical.df)
    arr = _as_numbers(given, "jac")
    if arr.shape != shape:
        raise fail("jac", f"an array of shape F + S = {shape} (it is never reshaped)",
                   f"shape {arr.shape}")  # fmt: skip
    return _flat_verdict(numerical, given, arr, shape)
