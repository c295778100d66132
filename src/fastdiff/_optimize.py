"""Derivative callables for optimisers: ``minimize(f, x0, jac=fd.gradient_of(f), ...)``.

SciPy's optimisers (and most others) take the derivative as a callable ``jac(x, *args)``
returning a plain array. The verbs return a :class:`~fastdiff.Result`; these wrappers sit in
between. They check ``success`` on every call (an optimiser cannot read an error bar, so an
untrusted derivative raises :class:`DerivativeError` instead of steering it silently), and keep
the last Result on ``.last`` for stopping rules that want the error bar.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from fastdiff._multivariate import gradient, hessian, jacobian
from fastdiff._result import Result

__all__ = ["DerivativeError", "gradient_of", "hessian_of", "jacobian_of"]


class DerivativeError(ArithmeticError):
    """A derivative that fastdiff cannot vouch for was requested with ``strict=True``.

    Attributes
    ----------
    result : Result
        The full result, untrusted entries included, for inspection.
    x : ndarray
        The point at which it was computed.
    """

    def __init__(self, message: str, result: Result, x: np.ndarray) -> None:
        super().__init__(message)
        self.result = result
        self.x = x


class _DerivativeFunction:
    """``x, *args -> ndarray`` over one verb, with the options fixed once."""

    def __init__(
        self,
        verb: Callable[..., Result],
        f: Callable[..., Any],
        strict: bool,
        options: dict[str, Any],
    ) -> None:
        if not callable(f):
            raise TypeError(f"f must be callable, got {type(f).__name__}")
        if not isinstance(strict, bool):
            raise TypeError(f"strict must be True or False, got {strict!r}")
        if "args" in options:
            raise TypeError(
                "args must not be given here: the optimiser passes its own args on every call"
            )
        self._verb = verb
        self.f = f
        self.strict = strict
        self.options = options
        #: The Result of the most recent call (None before the first).
        self.last: Result | None = None
        #: Evaluations of f over all calls so far (the sum of the Results' nfev).
        self.nfev = 0

    def __call__(self, x: Any, *args: Any) -> np.ndarray:
        res = self._verb(self.f, x, args=args, **self.options)
        self.last = res
        self.nfev += res.nfev
        sparse = hasattr(res.success, "tocsr")  # jacobian(sparsity=P): csr_array results
        success, status = res.success, res.status
        if sparse:
            success, status = success.data, status.data
        if self.strict and not np.all(success):
            bad = ~np.asarray(success)
            codes = sorted({int(s) for s in np.atleast_1d(np.asarray(status)[bad])})
            raise DerivativeError(
                f"{self._verb.__name__} of {getattr(self.f, '__name__', 'f')} is not trusted "
                f"at {int(np.count_nonzero(bad))} of {bad.size} entries (status {codes}, "
                "see fastdiff.Status); pass strict=False to use it anyway",
                res,
                np.asarray(x, dtype=np.float64),
            )
        if sparse:
            return res.df.astype(np.float64)
        return np.asarray(res.df, dtype=np.float64)

    def __repr__(self) -> str:
        opts = "".join(f", {k}={v!r}" for k, v in self.options.items())
        name = getattr(self.f, "__name__", "f")
        return f"{self._verb.__name__}_of({name}, strict={self.strict}{opts})"


def gradient_of(f: Callable[..., Any], *, strict: bool = True, **options: Any) -> Any:
    """The gradient of `f` as a callable ``g(x, *args) -> ndarray``, for ``jac=``.

    Parameters
    ----------
    f : callable
        ``f(x, *args) -> float``, as for :func:`fastdiff.gradient`.
    strict : bool, default: True
        Raise :class:`DerivativeError` when any entry has ``success == False``, instead of
        handing the optimiser a number fastdiff cannot vouch for. With False the estimate is
        returned anyway (check ``.last``).
    **options
        Keywords of :func:`fastdiff.gradient` (``method``, ``rtol``, ``bounds``, ``noise``,
        ...), fixed for every call. ``args`` comes from the optimiser on each call.

    Returns
    -------
    callable
        ``g(x, *args)`` returning ``gradient(f, x, args=args, **options).df`` as a float64
        array. ``g.last`` is the last :class:`~fastdiff.Result` (its ``error`` is the error bar
        of the gradient just returned), ``g.nfev`` counts evaluations of f over all calls.

    See Also
    --------
    jacobian_of, hessian_of

    Examples
    --------
    >>> import numpy as np
    >>> import fastdiff as fd
    >>> from scipy.optimize import minimize, rosen
    >>> x0 = np.array([-1.2, 1.0, 0.8])
    >>> res = minimize(rosen, x0, method="trust-exact",
    ...                jac=fd.gradient_of(rosen), hess=fd.hessian_of(rosen))
    >>> res.success, bool(np.allclose(res.x, 1.0, atol=1e-6))
    (True, True)

    An optimiser cannot read an error bar, so an untrusted derivative fails loudly rather
    than steering it. ``abs`` has a kink at 0, where no derivative exists:

    >>> kinked = lambda x: np.sum(np.abs(x)) + np.sum((x - 1.0) ** 2)
    >>> grad = fd.gradient_of(kinked)
    >>> grad(np.array([0.0, 2.0]))
    Traceback (most recent call last):
        ...
    fastdiff._optimize.DerivativeError: gradient of <lambda> is not trusted at 1 of 2 entries ...
    >>> grad.last.success
    array([False,  True])

    The error bar can drive the stopping rule: stop once the *true* gradient is certainly
    below 1e-6, i.e. ``|df| + error <= 1e-6`` in every entry (a small ``df`` alone proves
    nothing when its error bar is large, as it is for a noisy f). scipy stops when the
    callback raises StopIteration; ``gtol`` is set tiny so that this rule is the one that
    stops BFGS. In BFGS the last gradient evaluated is the one at the accepted point:

    >>> from scipy.optimize import rosen_der
    >>> grad = fd.gradient_of(rosen)
    >>> def certified(intermediate_result):
    ...     g = grad.last
    ...     if np.all(np.abs(g.df) + g.error <= 1e-6):
    ...         raise StopIteration
    >>> res = minimize(rosen, x0, method="BFGS", jac=grad, callback=certified,
    ...                options={"gtol": 1e-12})
    >>> res.message
    '`callback` raised `StopIteration`.'
    >>> bool(np.all(np.abs(rosen_der(res.x)) <= 1e-6))     # the analytic gradient agrees
    True
    """
    return _DerivativeFunction(gradient, f, strict, options)


def jacobian_of(f: Callable[..., Any], *, strict: bool = True, **options: Any) -> Any:
    """The Jacobian of `f` as a callable ``J(x, *args) -> ndarray``, for ``jac=``.

    Parameters
    ----------
    f : callable
        ``f(x, *args) -> array``, as for :func:`fastdiff.jacobian`.
    strict : bool, default: True
        Raise :class:`DerivativeError` when any entry has ``success == False``.
    **options
        Keywords of :func:`fastdiff.jacobian`, fixed for every call.

    Returns
    -------
    callable
        ``J(x, *args)`` returning ``jacobian(f, x, args=args, **options).df``, shape
        ``F + S``; ``.last`` and ``.nfev`` as for :func:`gradient_of`.

    See Also
    --------
    gradient_of, hessian_of

    Examples
    --------
    Fitting ``a * exp(-b t)`` with :func:`scipy.optimize.least_squares`:

    >>> import numpy as np
    >>> import fastdiff as fd
    >>> from scipy.optimize import least_squares
    >>> t = np.linspace(0.0, 3.0, 20)
    >>> y = 2.5 * np.exp(-1.3 * t)
    >>> residuals = lambda p, t, y: p[0] * np.exp(-p[1] * t) - y
    >>> fit = least_squares(residuals, [1.0, 1.0], jac=fd.jacobian_of(residuals), args=(t, y))
    >>> bool(np.allclose(fit.x, [2.5, 1.3], rtol=1e-10))
    True
    """
    return _DerivativeFunction(jacobian, f, strict, options)


def hessian_of(f: Callable[..., Any], *, strict: bool = True, **options: Any) -> Any:
    """The Hessian of `f` as a callable ``H(x, *args) -> ndarray``, for ``hess=``.

    Parameters
    ----------
    f : callable
        ``f(x, *args) -> float``, as for :func:`fastdiff.hessian`.
    strict : bool, default: True
        Raise :class:`DerivativeError` when any entry has ``success == False``.
    **options
        Keywords of :func:`fastdiff.hessian`, fixed for every call.

    Returns
    -------
    callable
        ``H(x, *args)`` returning ``hessian(f, x, args=args, **options).df``, shape
        ``S + S``; ``.last`` and ``.nfev`` as for :func:`gradient_of`.

    See Also
    --------
    gradient_of, jacobian_of

    Examples
    --------
    >>> import numpy as np
    >>> import fastdiff as fd
    >>> from scipy.optimize import minimize, rosen, rosen_der
    >>> res = minimize(rosen, [0.5, 0.5], method="Newton-CG", jac=rosen_der,
    ...                hess=fd.hessian_of(rosen, method="dual"))
    >>> bool(np.allclose(res.x, 1.0, atol=1e-5))
    True
    """
    return _DerivativeFunction(hessian, f, strict, options)
