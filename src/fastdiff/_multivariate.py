"""gradient, jacobian, hessian, hessdiag, jvp: the derivative engine along coordinates.

Each partial derivative is a one-dimensional derivative along a coordinate, so the verbs run
the same C ladder as `derivative` (same steps, extrapolation, error model and status), with
one ladder per coordinate and output entry. The outputs of f along one coordinate form a group
that shares its points, so one evaluation of f feeds every entry of a Jacobian column. Mixed
second derivatives are pair elements whose stencil reuses the axis points of the diagonal.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from fastdiff import _forward, _steps, _structured
from fastdiff._derivative import (
    SIDES,
    DerivativeArgs,
    _order_for,
    _sides_and_steps,
    _validate_derivative_args,
    check_dual_args,
    ladder_config,
    make_config,
)
from fastdiff._kernels import _finite_diff
from fastdiff._kernels._finite_diff import OutputShapeError, ValueKindError
from fastdiff._result import Result, shaped_result
from fastdiff._stencils import Stencil, stencil
from fastdiff._validation import check_real_array, fail

#: Default memory for one call of a vectorized f: its input batch of shape S + (k,) is kept
#: under this many bytes, so a gradient in n dimensions needs O(n) memory, not O(n^2).
DEFAULT_BATCH_BYTES = 1 << 24

# The mixed-derivative stencil for H_ij that reuses the diagonal's axis points:
#   f(x+a) + f(x-a) - f(x+h_i e_i) - f(x-h_i e_i) - f(x+h_j e_j) - f(x-h_j e_j) + 2 f(x)
#   = 2 h_i h_j H_ij + O(h^4),   a = h_i e_i + h_j e_j,
# an even expansion in the common ladder parameter.  Points: ++, --, +i, -i, +j, -j.
_PAIR = Stencil((1.0, -1.0, 1.0, -1.0, 1.0, -1.0), (0.5, 0.5, -0.5, -0.5, -0.5, -0.5), 1.0, 2, 2)


def _validate_multi_args(
    verb,
    f,
    x,
    method,
    order,
    step,
    rtol,
    atol,
    bounds,
    vectorized,
    args,
    kwargs,
    noise,
    batch_bytes,
) -> DerivativeArgs:
    """derivative()'s validation (n = 1 here; the engine sets n per use), the verb's own method
    rules, and batch_bytes."""
    if method == "dual":  # the public verbs route "dual" before this; hessdiag has no dual
        raise fail("method", f"a finite-difference method for {verb}", method)
    if method == "complex" and verb in ("hessian", "hessdiag"):
        alt = " or 'dual'" if verb == "hessian" else ""
        raise fail("method", f"a finite-difference method{alt} for {verb}", method)
    if batch_bytes is None:
        batch_bytes = DEFAULT_BATCH_BYTES
    elif isinstance(batch_bytes, bool) or not isinstance(batch_bytes, int | np.integer):
        raise fail("batch_bytes", "a positive integer or None", batch_bytes, TypeError)
    elif batch_bytes <= 0:
        raise fail("batch_bytes", "a positive integer or None", batch_bytes)
    a = _validate_derivative_args(
        f, x, 1, method, order, step, rtol, atol, bounds, vectorized, args, kwargs, noise
    )
    return a._replace(batch_bytes=int(batch_bytes))


# --------------------------------------------------------------------------------------------
# Evaluating f at modified copies of x
# --------------------------------------------------------------------------------------------


class _Evaluator:
    """Calls f at copies of x with one or two coordinates replaced, or along a line."""

    def __init__(self, a: DerivativeArgs) -> None:
        self.a = a
        self.shape = a.x.shape
        self.base = np.ascontiguousarray(a.x.ravel())
        self.nfev = 0
        self.fshape: tuple[int, ...] = ()
        self.m = 1  # entries of f's output
        self.ncomp = 1

    def call(self, xin: np.ndarray) -> Any:
        a = self.a
        if a.kwargs:
            return a.f(xin, *a.args, **a.kwargs)
        return a.f(xin, *a.args)

    def probe(self, i1=None, v1=None) -> tuple[np.ndarray, float, np.ndarray | None]:
        """f(x): learns F, the output kind and its precision; returns (f(x), eps, extra).

        With vectorized f, points where coordinate i1 is v1 can ride along in the same call
        (the first level's, saving a call of f); extra then holds their rows, else None.
        """
        extra = None
        if self.a.vectorized:
            k = 1 if i1 is None else 1 + len(i1)
            X = np.repeat(self.base[:, None], k, axis=1)
            if k > 1:
                X[i1, np.arange(1, k)] = v1
            y = np.asarray(self.call(X.reshape(*self.shape, k)))
            if y.ndim == 0 or y.shape[-1] != k:
                raise ValueError(
                    "`f` must return an array of shape F + (k,) when vectorized=True, for "
                    f"input of shape S + (k,); got shape {y.shape} for input shape "
                    f"{(*self.shape, k)}."
                )
            y, rest = y[..., 0], np.moveaxis(y[..., 1:], -1, 0)
        else:
            y = np.asarray(self.call(self.a.x.copy()))
        if y.dtype.kind not in "biufc":
            raise TypeError(f"`f` must return numbers; got {y.dtype} from f(x).")
        self.nfev += 1
        self.fshape = y.shape
        self.m = y.size
        self.ncomp = 2 if y.dtype.kind == "c" else 1
        if i1 is not None and self.a.vectorized:
            extra = self.rows(rest)
            self.nfev += len(i1)
        eps = np.finfo(y.dtype).eps if y.dtype.kind in "fc" else np.finfo(np.float64).eps
        return y, max(float(eps), float(np.finfo(np.float64).eps)), extra

    def rows(self, y: np.ndarray) -> np.ndarray:
        """Values (..., F) -> float64 rows of m * ncomp, (re, im) interleaved."""
        y = y.reshape(-1, self.m)
        if self.ncomp == 2:
            return np.ascontiguousarray(y.astype(np.complex128)).view(np.float64)
        if y.dtype.kind == "c":
            if np.any(y.imag != 0):
                raise TypeError("`f` returned complex values at some points but real at x.")
            y = y.real
        return np.ascontiguousarray(y, dtype=np.float64)

    def rows_complex(self, rows: np.ndarray) -> np.ndarray:
        """Rows of m * ncomp floats -> (K, m) complex."""
        if self.ncomp == 2:
            return rows.view(np.complex128)
        return rows.astype(np.complex128)

    def at(self, i1, v1, i2=None, v2=None) -> np.ndarray:
        """f where coordinate i1 is v1 (and i2 is v2, where i2 >= 0): rows of m * ncomp."""
        i1 = np.asarray(i1, dtype=np.intp)
        v1 = np.asarray(v1, dtype=np.float64)
        self.nfev += i1.size
        if not self.a.vectorized:
            if i2 is None:
                i2, v2 = np.full(i1.size, -1, dtype=np.intp), np.zeros(i1.size)
            try:
                return _finite_diff.eval_points_looped(
                    self.a.f,
                    self.a.args,
                    self.a.kwargs,
                    self.base,
                    self.shape,
                    np.ascontiguousarray(i1),
                    np.ascontiguousarray(v1),
                    np.ascontiguousarray(i2, dtype=np.intp),
                    np.ascontiguousarray(v2, dtype=np.float64),
                    self.fshape,
                    self.ncomp,
                )
            except OutputShapeError as exc:
                raise self._shape_error(exc.args[0]) from None
            except ValueKindError as exc:
                raise TypeError(f"`f` must return numbers; got {exc.args[0]}.") from None
        out = np.empty((i1.size, self.m * self.ncomp))
        for s, e in self._chunks(i1.size):
            k = e - s
            X = np.repeat(self.base[:, None], k, axis=1)
            cols = np.arange(k)
            X[i1[s:e], cols] = v1[s:e]
            if i2 is not None:
                two = i2[s:e] >= 0
                X[i2[s:e][two], cols[two]] = v2[s:e][two]
            out[s:e] = self.rows(self._batch(X))
        return out

    def on_line(self, v: np.ndarray, t: np.ndarray, imag: bool = False) -> np.ndarray:
        """f(x + t v) (t real, or imaginary with imag=True): rows, or complex values."""
        self.nfev += t.size
        dt = np.complex128 if imag else np.float64
        step = 1j if imag else 1.0
        if not self.a.vectorized:
            vals = []
            for tk in t:
                xin = (self.base + (step * tk) * v).astype(dt).reshape(self.shape)
                y = np.asarray(self.call(xin))
                if y.shape != self.fshape:
                    raise self._shape_error(y.shape)
                vals.append(y)
            y = np.array(vals)
        else:
            parts = []
            for s, e in self._chunks(t.size):
                parts.append(self._batch(self.base[:, None] + v[:, None] * (step * t[s:e])))
            y = np.concatenate(parts, axis=0).reshape(t.size, *self.fshape)
        return y if imag else self.rows(y)

    def _chunks(self, k: int):
        per = max(1, self.a.batch_bytes // (8 * max(self.base.size, 1)))
        return [(s, min(s + per, k)) for s in range(0, k, per)]

    def _batch(self, X: np.ndarray) -> np.ndarray:
        """Vectorized f on the columns of X (n, k): returns (k, m)."""
        k = X.shape[1]
        y = np.asarray(self.call(X.reshape(*self.shape, k)))
        if y.shape != (*self.fshape, k):
            raise ValueError(
                "`f` must return an array of shape F + (k,) when vectorized=True; got shape "
                f"{y.shape} for input shape {(*self.shape, k)} (F = {self.fshape})."
            )
        return y.reshape(self.m, k).T

    def _shape_error(self, got: tuple[int, ...]) -> ValueError:
        return ValueError(
            f"`f` must return the same shape at every point; got {got} after {self.fshape} at x."
        )


# --------------------------------------------------------------------------------------------
# Ladders along coordinates
# --------------------------------------------------------------------------------------------


def _noise(a: DerivativeArgs, eps: float) -> float:
    return eps if a.noise is None else max(a.noise, eps)


def _f0_rows(y0: np.ndarray, ngroups: int) -> np.ndarray:
    """f(x) as (groups, 2 * m): (re, im) for every member of every group."""
    vals = y0.reshape(-1).astype(np.complex128)
    row = np.empty(2 * vals.size)
    row[0::2], row[1::2] = vals.real, vals.imag
    return np.ascontiguousarray(np.broadcast_to(row, (ngroups, row.size)))


def _coordinate_ladders(a: DerivativeArgs, ev: _Evaluator, n: int, verb: str):
    """Probe f(x), then one ladder per (coordinate, output) for the n-th partial derivatives
    along each axis. Returns df (N, m), error, status, step (N, m) for N coordinates and m
    outputs."""
    x = ev.base
    side, h0, flags = _sides_and_steps(a._replace(n=n), x)
    config = ladder_config(n, a.method, a.order, a.step is not None, a.rtol, a.atol)
    npts = np.array([len(stencil(s, n, _order_for(a, s)).offsets) for s in SIDES], dtype=np.intp)
    ride = ()
    if a.vectorized:  # the first level's points are known before f is: one call for both
        first = _finite_diff.Ladder(config, 1, 0.0, x.size)
        first.init(x, h0, side, flags, np.zeros((x.size, 2)))
        idx0 = first.active()
        pts0 = first.points(idx0)
        if (1 + pts0.size) * 8 * x.size <= a.batch_bytes:
            ride = (np.repeat(idx0, npts[side[idx0]]), pts0)
    y0, eps, rows0 = ev.probe(*ride)
    if verb != "jacobian":
        _scalar_output_required(verb, ev.fshape)
    L = _finite_diff.Ladder(config, ev.ncomp, _noise(a, eps), x.size, ev.m)
    L.init(x, h0, side, flags, _f0_rows(y0, x.size))
    idx = L.active()
    if rows0 is not None and idx.size:  # idx is all of idx0 unless f(x) was not finite
        idx = idx[: L.update(idx, rows0.reshape(-1))]
    while idx.size:
        pts = L.points(idx)
        fv = ev.at(np.repeat(idx, npts[side[idx]]), pts)
        idx = idx[: L.update(idx, fv.reshape(-1))]
    return _results(L, ev, x.size)


def _results(L: Any, ev: _Evaluator, ngroups: int):
    df, error, status, step = L.results()
    df = df[:, 0] + 1j * df[:, 1] if ev.ncomp == 2 else df[:, 0]
    shape = (ngroups, L.group)
    return df.reshape(shape), error.reshape(shape), status.reshape(shape), step.reshape(shape)


def _limiting_step(error: np.ndarray, step: np.ndarray) -> np.ndarray:
    """Per coordinate (axis 0), the step of the output entry with the largest error."""
    if step.shape[1] == 1:
        return step[:, 0]
    worst = np.argmax(np.where(np.isnan(error), np.inf, error), axis=1)
    return step[np.arange(step.shape[0]), worst]


# --------------------------------------------------------------------------------------------
# The verbs
# --------------------------------------------------------------------------------------------


def _scalar_output_required(verb: str, fshape: tuple[int, ...]) -> None:
    if fshape != ():
        raise ValueError(
            f"`f` must return a scalar for {verb}; got an array of shape {fshape}. "
            "For vector-valued f use fastdiff.jacobian."
        )


def _jacobian_impl(a: DerivativeArgs, verb: str) -> Result:
    S = a.x.shape
    ev = _Evaluator(a)
    with np.errstate(all="ignore"):
        if a.method == "complex":
            ev.probe()
            if verb == "gradient":
                _scalar_output_required("gradient", ev.fshape)
            df, error, status, step = _complex_columns(a, ev)
        else:
            df, error, status, step = _coordinate_ladders(a, ev, 1, verb)
            step = _limiting_step(error, step)
    F = ev.fshape

    def arrange(v):  # (N, m) -> F + S: output axes first (J[i, j] = d f_i / d x_j)
        return v.T.reshape(F + S)

    return shaped_result(
        arrange(df), arrange(error), arrange(status), ev.nfev, step, a.method, F + S, S
    )


def _complex_columns(a: DerivativeArgs, ev: _Evaluator):
    """Complex step along every coordinate: (N, m) arrays; f must be real on reals."""
    x = ev.base
    N, m = x.size, ev.m
    scale = _steps.scale_of(x)
    h1, h2, hc = (scale * 2.0**e for e in _steps.COMPLEX_STEP_EXPONENTS)
    hc = (x + hc) - x
    noise = float(np.finfo(np.float64).eps) if a.noise is None else a.noise
    eye = np.eye(N)
    ims = []
    for h in (h1, h2):
        ys = [ev.on_line(eye[i], np.array([h[i]]), imag=True)[0] for i in range(N)]
        ys = np.array(ys).reshape(N, m)
        ims.append(ys.imag if ys.dtype.kind == "c" else np.full((N, m), np.nan))
    coords = np.arange(N)
    fp = ev.rows_complex(ev.at(coords, x + hc))
    fm = ev.rows_complex(ev.at(coords, x - hc))
    rep = lambda v: np.ascontiguousarray(np.repeat(v, m))  # noqa: E731
    c = lambda v: np.ascontiguousarray(v.reshape(-1))  # noqa: E731
    df, error, status = _finite_diff.complex_step(
        c(ims[0]),
        c(ims[1]),
        c(fp.real),
        c(fm.real),
        c(fp.imag),
        c(fm.imag),
        rep(h1),
        rep(h2),
        rep(hc),
        noise,
    )
    shape = (N, m)
    return df.reshape(shape), error.reshape(shape), status.reshape(shape), h1


def _hessian_impl(a: DerivativeArgs) -> Result:
    S = a.x.shape
    ev = _Evaluator(a)
    with np.errstate(all="ignore"):
        y0, eps, _ = ev.probe()
        _scalar_output_required("hessian", ev.fshape)
        H, E, T, step = _hessian_ladders(a, ev, y0, eps)
    return shaped_result(H, E, T, ev.nfev, step, a.method, S + S, S)


def _hessian_ladders(a: DerivativeArgs, ev: _Evaluator, y0: np.ndarray, eps: float):
    """Diagonal ladders (1-D, n = 2) and pair ladders (mixed), level by level.

    Both kinds advance one level per round with the same nominal steps per coordinate, so the
    axis points of a round serve the diagonal i and every pair with i. A coordinate whose
    stencil is one-sided (method, or `bounds`) makes its pairs one-sided too.
    """
    x = ev.base
    N = x.size
    side, h0, flags = _sides_and_steps(a._replace(n=2), x)
    noise = _noise(a, eps)
    fixed = a.step is not None
    Ld = _finite_diff.Ladder(
        ladder_config(2, a.method, a.order, fixed, a.rtol, a.atol), ev.ncomp, noise, N
    )
    Ld.init(x, h0, side, flags, _f0_rows(y0, N))
    # the diagonal stencils' offsets per side; row 0 is +1 (central, forward) or -1 (backward):
    # the point one step in the coordinate's direction, which the pairs use
    offs = [stencil(s, 2, _order_for(a, s)).offsets for s in SIDES]
    npt = np.array([len(o) for o in offs], dtype=np.intp)
    omat = np.zeros((len(SIDES), npt.max()))
    for k, o in enumerate(offs):
        omat[k, : len(o)] = o
    direction = np.where(side == 2, -1.0, 1.0)
    pi, pj = np.triu_indices(N, 1)
    one_sided = (side[pi] != 0) | (side[pj] != 0)
    pside = np.where(one_sided, np.where(direction[pi] * direction[pj] > 0, 1, 2), 0)
    pside = pside.astype(np.intc)
    Lp = _finite_diff.Ladder(_pair_config(fixed, a.rtol, a.atol), ev.ncomp, noise, pi.size)
    Lp.init(x[pi], h0[pi], pside, (flags[pi] | flags[pj]).astype(np.intc), _f0_rows(y0, pi.size))
    Lp.set_pairs(np.ascontiguousarray(x[pj]), np.ascontiguousarray(h0[pj] / h0[pi]))
    hd, hp = Ld.active(), Lp.active()
    h = h0.copy()
    q = _steps.DEFAULT_STEP_RATIO
    width = ev.m * ev.ncomp
    while hd.size or hp.size:
        d = (x + h) - x  # the spacing the C kernels divide by
        need = np.union1d(hd, np.union1d(pi[hp], pj[hp])).astype(np.intp)
        cnt = npt[side[need]]
        start = np.zeros(N, dtype=np.intp)  # first axis row of each needed coordinate
        start[need] = np.cumsum(cnt) - cnt
        ai = np.repeat(need, cnt)
        ac = omat[side[ai], np.arange(ai.size) - start[ai]]
        ii, jj, cen = pi[hp], pj[hp], pside[hp] == 0
        # corners: ++ and -- for central pairs, one (dir_i, dir_j) corner for one-sided ones
        ci = np.concatenate([ii[cen], ii[cen], ii[~cen]])
        cj = np.concatenate([jj[cen], jj[cen], jj[~cen]])
        si = np.concatenate([np.ones(cen.sum()), -np.ones(cen.sum()), direction[ii[~cen]]])
        sj = np.concatenate([np.ones(cen.sum()), -np.ones(cen.sum()), direction[jj[~cen]]])
        vals = ev.at(
            np.concatenate([ai, ci]),
            np.concatenate([x[ai] + ac * d[ai], x[ci] + si * d[ci]]),
            np.concatenate([np.full(ai.size, -1, np.intp), cj]),
            np.concatenate([np.zeros(ai.size), x[cj] + sj * d[cj]]),
        )
        axis, corner = vals[: ai.size], vals[ai.size :]
        if hd.size:  # each diagonal's stencil values, back to back
            cnt_d = npt[side[hd]]
            rows = np.repeat(start[hd] - (np.cumsum(cnt_d) - cnt_d), cnt_d) + np.arange(cnt_d.sum())
            hd = hd[: Ld.update(hd, np.ascontiguousarray(axis[rows]).reshape(-1))]
        if hp.size:
            nc_ = int(cen.sum())
            per = np.where(cen, 6, 3)  # values per pair element, in hp order
            fv = np.empty((int(per.sum()), width))
            at = np.cumsum(per) - per
            c_at, o_at = at[cen], at[~cen]
            pp, mm, oc = corner[:nc_], corner[nc_ : 2 * nc_], corner[2 * nc_ :]
            for k, v in enumerate(
                (
                    pp,
                    mm,
                    axis[start[ii[cen]]],
                    axis[start[ii[cen]] + 1],
                    axis[start[jj[cen]]],
                    axis[start[jj[cen]] + 1],
                )
            ):
                fv[c_at + k] = v
            for k, v in enumerate((oc, axis[start[ii[~cen]]], axis[start[jj[~cen]]])):
                fv[o_at + k] = v
            hp = hp[: Lp.update(hp, fv.reshape(-1))]
        h = h / q
    dd, ed, td, sd = _results(Ld, ev, N)
    dp, ep, tp, _ = _results(Lp, ev, pi.size)
    H = np.zeros((N, N), dtype=dd.dtype)
    E, T = np.zeros((N, N)), np.zeros((N, N), dtype=np.int64)
    for M, diag, off in ((H, dd, dp), (E, ed, ep), (T, td, tp)):
        M[np.arange(N), np.arange(N)] = diag[:, 0]
        M[pi, pj] = off[:, 0]
        M[pj, pi] = off[:, 0]  # one estimate per pair: exactly symmetric
    return H, E, T, sd[:, 0]


# The one-sided mixed stencil, for pairs where a coordinate must stay on one side:
#   f(x + a_i e_i + a_j e_j) - f(x + a_i e_i) - f(x + a_j e_j) + f(x) = a_i a_j H_ij + O(h^3),
# a_i = dir_i h_i; the C kernel divides by h_i h_j, so the weights carry dir_i dir_j (side 1
# for +1, side 2 for -1). Points: the corner, then the two axis points; error runs h, h^2, ...
_PAIR_ONE_SIDED = (
    Stencil((1.0, 1.0, 1.0), (1.0, -1.0, -1.0), 1.0, 1, 1),
    Stencil((1.0, 1.0, 1.0), (-1.0, 1.0, 1.0), -1.0, 1, 1),
)


@lru_cache(maxsize=16)
def _pair_config(fixed: bool, rtol: float | None, atol: float | None) -> Any:
    """Ladder configuration of the mixed-derivative pair stencils: central, one-sided (+, -)."""
    return make_config(2, [_PAIR, *_PAIR_ONE_SIDED], fixed, False, rtol, atol)


def _hessdiag_impl(a: DerivativeArgs) -> Result:
    S = a.x.shape
    ev = _Evaluator(a)
    with np.errstate(all="ignore"):
        df, error, status, step = _coordinate_ladders(a, ev, 2, "hessdiag")
    return shaped_result(df, error, status, ev.nfev, step, a.method, S, S)


def _jvp_impl(a: DerivativeArgs, v: Any) -> Result:
    S = a.x.shape
    vv = check_real_array("v", v)
    if vv.shape != S:
        raise fail("v", f"an array of x's shape {S}", f"an array of shape {vv.shape}")
    if not np.isfinite(vv).all():
        raise fail("v", "finite (no NaN or inf)", v)
    if a.bounds is not None:
        raise fail("bounds", "None for jvp (the line x + t v crosses coordinates)", "bounds")
    ev = _Evaluator(a)
    v = np.ascontiguousarray(vv.ravel())
    vmax = float(np.max(np.abs(v))) if v.size else 0.0
    with np.errstate(all="ignore"):
        y0, eps, _ = ev.probe()
        F = ev.fshape
        if vmax == 0.0:  # J @ 0 is exactly 0
            z = np.zeros(F, dtype=y0.dtype if ev.ncomp == 2 else np.float64)
            return shaped_result(
                z, np.zeros(F), np.zeros(F, np.int64), ev.nfev, np.zeros(S), a.method, F, S
            )
        # the line's unit: the largest coordinate it moves, scaled like derivative()'s steps
        moved = np.abs(ev.base[v != 0])
        unit = float(_steps.scale_of(np.array([moved.max()]))[0]) / vmax
        if a.method == "complex":
            df, error, status, t = _complex_line(a, ev, v, unit)
        else:
            df, error, status, t = _line_ladder(a, ev, y0, eps, v, unit)
    return shaped_result(df, error, status, ev.nfev, np.abs(t * vv), a.method, F, S)


def _line_ladder(a: DerivativeArgs, ev: _Evaluator, y0, eps, v, unit):
    """One group of ladders in t for g(t) = f(x + t v) at t = 0."""
    if a.step is not None:
        t0 = float(np.max(a.step)) / float(np.max(np.abs(v)))
    else:
        t0 = unit * 2.0 ** _steps.initial_step_exponent(1)
    side = np.array([SIDES.index(a.method)], dtype=np.intc)
    config = ladder_config(1, a.method, a.order, a.step is not None, a.rtol, a.atol)
    # x + t v rounds in each moving coordinate, so the points stray from the line by up to
    # ulp(x_i) / 2 each: an error in f of up to sum_i |df/dx_i| ulp(x_i) / 2, which adds up
    # like sqrt(count) for independent roundings. Counted as extra noise of f, relative.
    moving = int(np.count_nonzero(v))
    L = _finite_diff.Ladder(config, ev.ncomp, _noise(a, eps) * (1 + np.sqrt(moving)), 1, ev.m)
    L.init(np.zeros(1), np.array([t0]), side, np.zeros(1, np.intc), _f0_rows(y0, 1))
    idx = L.active()
    while idx.size:
        t = L.points(idx)
        idx = idx[: L.update(idx, ev.on_line(v, t).reshape(-1))]
    df, error, status, step = _results(L, ev, 1)
    return df[0], error[0], status[0], float(_limiting_step(error, step)[0])


def _complex_line(a: DerivativeArgs, ev: _Evaluator, v, unit):
    noise = float(np.finfo(np.float64).eps) if a.noise is None else a.noise
    h1, h2, hc = (unit * 2.0**e for e in _steps.COMPLEX_STEP_EXPONENTS)
    ims = []
    for h in (h1, h2):
        y = ev.on_line(v, np.array([h]), imag=True)[0].reshape(-1)
        ims.append(y.imag if y.dtype.kind == "c" else np.full(ev.m, np.nan))
    fp = ev.rows_complex(ev.on_line(v, np.array([hc])))[0]
    fm = ev.rows_complex(ev.on_line(v, np.array([-hc])))[0]
    m = ev.m
    c = np.ascontiguousarray
    df, error, status = _finite_diff.complex_step(
        c(ims[0]),
        c(ims[1]),
        c(fp.real),
        c(fm.real),
        c(fp.imag),
        c(fm.imag),
        np.full(m, h1),
        np.full(m, h2),
        np.full(m, hc),
        noise,
    )
    return df, error, status, h1


# --------------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------------


def _verb(
    verb,
    f,
    x,
    v,
    method,
    order,
    step,
    rtol,
    atol,
    bounds,
    vectorized,
    args,
    kwargs,
    noise,
    batch_bytes,
) -> Result:
    """The body of every public verb: route method="dual" (whose x may hold Duals, so it is
    validated by _forward), else validate once and run the finite-difference engine."""
    if method == "dual" and verb != "hessdiag":
        check_dual_args(
            f, args, kwargs, vectorized, order=order, step=step, bounds=bounds, noise=noise
        )
        if verb == "jvp":
            return _forward.dual_jvp(f, x, v, args, kwargs)
        return getattr(_forward, f"dual_{verb}")(f, x, args, kwargs)
    a = _validate_multi_args(
        verb,
        f,
        x,
        method,
        order,
        step,
        rtol,
        atol,
        bounds,
        vectorized,
        args,
        kwargs,
        noise,
        batch_bytes,
    )
    if verb in ("gradient", "jacobian"):
        return _jacobian_impl(a, verb)
    if verb == "jvp":
        return _jvp_impl(a, v)
    return _hessian_impl(a) if verb == "hessian" else _hessdiag_impl(a)


def gradient(
    f: Callable[..., Any],
    x: ArrayLike,
    *,
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
    batch_bytes: int | None = None,
) -> Result:
    """Gradient of a scalar function of an array, with an error bound per entry.

    Parameters
    ----------
    f : callable
        ``f(x, *args, **kwargs) -> float``, with x an array of shape S. With
        ``vectorized=True`` it takes an array of shape ``S + (k,)`` holding k points along
        the last axis and returns shape ``(k,)``.
    x : float array_like, or a dict, list or tuple of them
        The point, of any shape S: a vector, a weight matrix, ... or a structure of arrays
        such as ``{"W": W, "b": b}``: f then receives the same structure (views of one flat
        point), and ``df``, ``error``, ``success``, ``status`` and ``step`` come back in it.
        A list or tuple is a structure when one of its items is an ndarray or a dict.
    method : {"central", "forward", "backward", "complex", "dual"}, default: "central"
        As for `derivative`: finite differences on an adaptive step ladder with Richardson
        extrapolation per coordinate, the complex step, or dual numbers.
    order, step, rtol, atol, noise
        As for `derivative`, per coordinate (`step` broadcasts to S). Steps are scaled to
        ``max(|x_i|, 1)`` coordinate by coordinate.
    bounds : (lo, hi), optional
        Per-coordinate domain (broadcastable to S); stencils stay inside.
    vectorized : bool, default: False
        Whether f takes a batch of points (see `f`); otherwise a compiled loop calls f with
        one point (a fresh array of shape S) per call.
    args, kwargs
        Extra arguments for f.
    batch_bytes : int, optional
        Memory limit for one batch passed to a vectorized f; default 16 MiB. Memory use
        grows with the dimension, not its square.

    Returns
    -------
    Result
        ``df``, ``error``, ``success``, ``status`` and ``step`` of shape S; ``nfev``;
        ``method``. Codes as for `derivative`.

    Raises
    ------
    ValueError, TypeError
        For invalid arguments, or a non-scalar f (use `jacobian`).

    See Also
    --------
    jacobian, hessian, derivative

    Notes
    -----
    Entry i is the derivative of ``t -> f(x + (t - x_i) e_i)`` at ``x_i``, computed with the
    same ladder, extrapolation and error model as `derivative` (see there), so every entry
    carries its own verified error bound.

    Examples
    --------
    The gradient of a loss with respect to a (3, 4) weight matrix has shape (3, 4):

    >>> import numpy as np
    >>> import fastdiff as fd
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 4))
    >>> loss = lambda W: 0.5 * np.sum((X @ W - y) ** 2)
    >>> W = rng.normal(size=(3, 4))
    >>> res = fd.gradient(loss, W)
    >>> res.df.shape, bool(res.success.all())
    ((3, 4), True)
    >>> exact = X.T @ (X @ W - y)
    >>> bool(np.all(np.abs(res.df - exact) <= res.error))
    True

    A classic: f = x0 x1 x2 + exp(x0) x1 at (3, 5, 7):

    >>> f = lambda v: v[0] * v[1] * v[2] + np.exp(v[0]) * v[1]
    >>> res = fd.gradient(f, [3.0, 5.0, 7.0])
    >>> exact = [35 + 5 * np.exp(3), 21 + np.exp(3), 15]
    >>> bool(np.all(np.abs(res.df - exact) <= res.error))
    True

    Parameters in a dict: f gets the dict, and the gradient comes back as one:

    >>> params = {"w": np.array([1.0, 2.0]), "b": 0.5}
    >>> res = fd.gradient(lambda p: np.sum(p["w"] ** 2) + 3 * p["b"], params)
    >>> np.round(res.df["w"], 10), round(float(res.df["b"]), 10)
    (array([2., 4.]), 3.0)
    """
    if _structured.is_structured(x):
        return _structured.gradient(gradient, f, x, dict(
            method=method, order=order, step=step, rtol=rtol, atol=atol, bounds=bounds,
            vectorized=vectorized, args=args, kwargs=kwargs, noise=noise,
            batch_bytes=batch_bytes))  # fmt: skip
    return _verb(
        "gradient",
        f,
        x,
        None,
        method,
        order,
        step,
        rtol,
        atol,
        bounds,
        vectorized,
        args,
        kwargs,
        noise,
        batch_bytes,
    )


def jacobian(
    f: Callable[..., Any],
    x: ArrayLike,
    *,
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
    batch_bytes: int | None = None,
) -> Result:
    """Jacobian ``J[i, j] = d f_i / d x_j`` with an error bound per entry.

    Parameters
    ----------
    f : callable
        ``f(x, *args, **kwargs)`` returning an array of any fixed shape F (a scalar gives the
        gradient). With ``vectorized=True`` it takes ``S + (k,)`` and returns ``F + (k,)``.
    x : float array_like
        The point, of any shape S.
    method, order, step, rtol, atol, bounds, vectorized, args, kwargs, noise, batch_bytes
        As for `gradient`.

    Returns
    -------
    Result
        ``df``, ``error``, ``success``, ``status`` of shape ``F + S``; ``step`` of shape S
        (per coordinate, the step of the entry with the largest error); ``nfev``; ``method``.

    Raises
    ------
    ValueError, TypeError
        For invalid arguments, or an f whose output shape changes between calls.

    See Also
    --------
    gradient, jvp

    Notes
    -----
    The outputs along one coordinate share the coordinate's steps and points, so one call of
    f serves a whole column; each entry still has its own tableau, error and status, and
    stops costing evaluations once every entry of its column has converged.

    Examples
    --------
    >>> import numpy as np
    >>> import fastdiff as fd
    >>> f = lambda v: np.array([v[0] ** 2 * v[1], 5 * v[0] + np.sin(v[1])])
    >>> res = fd.jacobian(f, [1.0, 2.0])
    >>> exact = np.array([[4.0, 1.0], [5.0, np.cos(2.0)]])
    >>> res.df.shape, bool(np.all(np.abs(res.df - exact) <= res.error))
    ((2, 2), True)
    """
    return _verb(
        "jacobian",
        f,
        x,
        None,
        method,
        order,
        step,
        rtol,
        atol,
        bounds,
        vectorized,
        args,
        kwargs,
        noise,
        batch_bytes,
    )


def hessian(
    f: Callable[..., Any],
    x: ArrayLike,
    *,
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
    batch_bytes: int | None = None,
) -> Result:
    """Hessian of a scalar function, exactly symmetric, with an error bound per entry.

    Parameters
    ----------
    f : callable
        Scalar function of an array of shape S (see `gradient`).
    x : float array_like
        The point, of any shape S.
    method : {"central", "forward", "backward", "dual"}, default: "central"
        Finite differences with Richardson extrapolation, or nested dual numbers.
    order, step, rtol, atol, bounds, vectorized, args, kwargs, noise, batch_bytes
        As for `gradient`. Near a bound, a coordinate's stencils become one-sided.

    Returns
    -------
    Result
        ``df``, ``error``, ``success``, ``status`` of shape ``S + S``; ``step`` of shape S
        (the diagonal's steps); ``nfev``; ``method``.

    Raises
    ------
    ValueError, TypeError
        For invalid arguments, or a non-scalar f.

    See Also
    --------
    hessdiag : the diagonal alone, much cheaper.
    gradient

    Notes
    -----
    Diagonal entries are second derivatives along each axis. An off-diagonal entry uses

    .. math:: H_{ij} \\approx \\frac{f(x+a) + f(x-a) - f(x \\pm h_i e_i) - f(x \\pm h_j e_j)
              + 2 f(x)}{2 h_i h_j}, \\quad a = h_i e_i + h_j e_j,

    (the sums over both signs), whose axis values are the diagonal's own, so each pair costs
    two new evaluations per level. Its error expansion is even in the common step, so the
    same Richardson ladder, rate tests and error model apply. Where a coordinate is one-sided
    (method, or `bounds`), its pairs use
    ``(f(x + a_i e_i + a_j e_j) - f(x + a_i e_i) - f(x + a_j e_j) + f(x)) / (a_i a_j)`` with
    ``a`` in each coordinate's direction (one new point per level, an expansion in all powers
    of the step). One estimate serves ``H[i, j]``
    and ``H[j, i]``: the result is exactly symmetric. Entries that are structurally zero
    converge at once with an error at the rounding level.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.optimize import rosen, rosen_hess
    >>> import fastdiff as fd
    >>> x = np.array([0.5, 1.2, -0.3, 0.9])
    >>> res = fd.hessian(rosen, x)
    >>> bool(res.success.all()), bool(np.all(res.df == res.df.T))
    (True, True)
    >>> bool(np.all(np.abs(res.df - rosen_hess(x)) <= res.error))
    True
    """
    return _verb(
        "hessian",
        f,
        x,
        None,
        method,
        order,
        step,
        rtol,
        atol,
        bounds,
        vectorized,
        args,
        kwargs,
        noise,
        batch_bytes,
    )


def hessdiag(
    f: Callable[..., Any],
    x: ArrayLike,
    *,
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
    batch_bytes: int | None = None,
) -> Result:
    """Diagonal of the Hessian, ``d^2 f / d x_i^2``, with an error bound per entry.

    Parameters
    ----------
    f : callable
        Scalar function of an array of shape S (see `gradient`).
    x : float array_like
        The point, of any shape S.
    method : {"central", "forward", "backward"}, default: "central"
        Finite differences (one-sided near `bounds` as needed).
    order, step, rtol, atol, bounds, vectorized, args, kwargs, noise, batch_bytes
        As for `gradient`.

    Returns
    -------
    Result
        ``df``, ``error``, ``success``, ``status``, ``step`` of shape S; ``nfev``; ``method``.

    See Also
    --------
    hessian

    Notes
    -----
    N one-dimensional second derivatives: O(N) evaluations of f where the full Hessian
    needs O(N^2).

    Examples
    --------
    >>> import numpy as np
    >>> import fastdiff as fd
    >>> res = fd.hessdiag(lambda v: np.sum(v**4), [1.0, -2.0, 0.5])
    >>> bool(np.all(np.abs(res.df - 12 * np.array([1.0, 4.0, 0.25])) <= res.error))
    True
    """
    return _verb(
        "hessdiag",
        f,
        x,
        None,
        method,
        order,
        step,
        rtol,
        atol,
        bounds,
        vectorized,
        args,
        kwargs,
        noise,
        batch_bytes,
    )


def jvp(
    f: Callable[..., Any],
    x: ArrayLike,
    v: ArrayLike,
    *,
    method: str = "central",
    order: int | None = None,
    step: ArrayLike | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    bounds: None = None,
    vectorized: bool = False,
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
    noise: float | None = None,
    batch_bytes: int | None = None,
) -> Result:
    """Jacobian-vector product ``J(x) @ v``: the directional derivative of f along v.

    Parameters
    ----------
    f : callable
        ``f(x) -> array of shape F`` (see `jacobian`).
    x : float array_like
        The point, of any shape S.
    v : float array_like
        The direction, of shape S. It is not normalised.
    method : {"central", "forward", "backward", "complex", "dual"}, default: "central"
    order, step, rtol, atol, vectorized, args, kwargs, noise, batch_bytes
        As for `jacobian`; a fixed `step` is the largest coordinate's displacement.
    bounds : None
        Not supported for jvp (the line crosses every coordinate).

    Returns
    -------
    Result
        ``df``, ``error``, ``success``, ``status`` of shape F; ``step`` of shape S (the
        displacement of each coordinate, ``|t v|``); ``nfev``; ``method``.

    Notes
    -----
    The derivative of ``g(t) = f(x + t v)`` at 0 on the derivative ladder: evaluations of f
    along one line, not a Jacobian. The step in t is scaled so that the largest moving
    coordinate moves like a `derivative` step of its own, ``2**-3 * max(|x_i|, 1)``.

    Examples
    --------
    >>> import numpy as np
    >>> import fastdiff as fd
    >>> f = lambda x: np.array([x[0] * x[1], np.sin(x[0])])
    >>> res = fd.jvp(f, [1.0, 2.0], [1.0, -1.0])
    >>> exact = np.array([2.0 - 1.0, np.cos(1.0)])
    >>> bool(np.all(np.abs(res.df - exact) <= res.error))
    True
    """
    return _verb(
        "jvp",
        f,
        x,
        v,
        method,
        order,
        step,
        rtol,
        atol,
        bounds,
        vectorized,
        args,
        kwargs,
        noise,
        batch_bytes,
    )
