"""Every public verb with every method it accepts, on small well-behaved problems.

The hardening tests (inputs never modified, hostile f, threads, leaks) run over this one table,
so a method a verb gains later (say ``hessdiag(method="complex")``) is picked up by all of them:
`supported` asks the verb itself instead of keeping a second list.

The test functions are written with NumPy operations only, so the same f works for floats,
complex numbers, Duals, object arrays and vectorized batches (k points on the last axis).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

import fastdiff as fd

VERBS = ("derivative", "gradient", "jacobian", "hessian", "hessdiag", "jvp")
METHODS = ("central", "forward", "backward", "complex", "dual")
FD_METHODS = ("central", "forward", "backward")


def _as_col(a: Any, x: Any) -> Any:
    """a (shape S) broadcast against x of shape S or S + (k,) (a vectorized batch)."""
    a = np.asarray(a)
    return a.reshape(a.shape + (1,) * (np.ndim(x) - a.ndim))


def f_elementwise(x: Any, a: Any, *, c: Any) -> Any:
    """Scalar per element: a[0] sin(x) + c[0] x^2 exp(x / 4) (for derivative)."""
    return a[0] * np.sin(x) + c[0] * x**2 * np.exp(0.25 * x)


def f_scalar(x: Any, a: Any, *, c: Any) -> Any:
    """Scalar of x of shape S: sum(a * sin(x) + c x^2 exp(x / 4)) over S."""
    aa = _as_col(a, x)
    axes = tuple(range(np.ndim(a)))
    return np.sum(aa * np.sin(x) + c[0] * x**2 * np.exp(0.25 * x), axis=axes)


def f_vector(x: Any, a: Any, *, c: Any) -> Any:
    """Two outputs of x of shape S: (sum a sin(x), c sum exp(x / 4) x)."""
    aa = _as_col(a, x)
    axes = tuple(range(np.ndim(a)))
    return np.stack(
        [np.sum(aa * np.sin(x), axis=axes), c[0] * np.sum(np.exp(0.25 * x) * x, axis=axes)]
    )


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "derivative": f_elementwise,
    "gradient": f_scalar,
    "hessian": f_scalar,
    "hessdiag": f_scalar,
    "jacobian": f_vector,
    "jvp": f_vector,
}


def call(verb: str, f: Callable[..., Any], x: Any, method: str, **kw: Any) -> fd.Result:
    """fastdiff.<verb>(f, x[, v], method=method, **kw); `v` is passed positionally for jvp."""
    if verb == "jvp":
        v = kw.pop("v", None)
        if v is None:
            v = np.ones(np.shape(x))
        return fd.jvp(f, x, v, method=method, **kw)
    kw.pop("v", None)
    return getattr(fd, verb)(f, x, method=method, **kw)


def not_for_method(exc: BaseException) -> str | None:
    """The option an error says does not apply to this verb or method ("`bounds` must be None
    for method='dual' ..."), or None when the error is about something else."""
    msg = str(exc)
    if isinstance(exc, ValueError) and msg.startswith("`") and "must be None for " in msg:
        return msg[1 : msg.index("`", 1)]
    return None


def call_applicable(verb: str, f: Callable[..., Any], x: Any, method: str, **kw: Any):
    """Like `call`, dropping the options the method rejects as not applicable to it.

    Returns (result, the options dropped)."""
    dropped: list[str] = []
    while True:
        try:
            return call(verb, f, x, method, **kw), dropped
        except ValueError as e:
            name = not_for_method(e)
            if name is None or name not in kw:
                raise
            del kw[name]
            dropped.append(name)


@functools.cache
def supported(verb: str, method: str) -> bool:
    """Does `verb` accept `method`? (Asks it, on a small problem.)"""
    x = np.array([0.3, -0.2])
    a, c = np.array([1.0, 2.0]), np.array([0.5])
    if verb == "derivative":
        a = np.array([1.0])
    try:
        call(verb, FUNCTIONS[verb], x, method, args=(a,), kwargs={"c": c})
    except ValueError as e:
        if str(e).startswith("`method`"):
            return False
        raise
    return True


def verb_methods() -> list[tuple[str, str]]:
    """Every (verb, method) pair the public API accepts."""
    return [(v, m) for v in VERBS for m in METHODS if supported(v, m)]


def fields(res: fd.Result) -> tuple[Any, ...]:
    """A Result's fields as plain values, for bitwise comparison (see `same`)."""
    return (res.df, res.error, res.status, res.success, res.nfev, res.step, res.method)


def same(r1: fd.Result, r2: fd.Result) -> bool:
    """Bitwise equality of every field (NaN == NaN, -0.0 != 0.0)."""
    for a, b in zip(fields(r1), fields(r2), strict=True):
        if isinstance(a, str) or isinstance(b, str):
            if a != b:
                return False
            continue
        aa, bb = np.asarray(a), np.asarray(b)
        if aa.dtype == object or bb.dtype == object:  # nested duals: compare reprs exactly
            if repr(a) != repr(b):
                return False
            continue
        if aa.shape != bb.shape or aa.dtype != bb.dtype or aa.tobytes() != bb.tobytes():
            return False
    return True
