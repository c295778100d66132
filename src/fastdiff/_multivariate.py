"""gradient, jacobian, hessian, hessdiag, jvp: the derivative engine along coordinates.

Each partial derivative is a one-dimensional derivative along a coordinate, so the verbs run
the same C ladder as `derivative` (same steps, extrapolation, error model and status), with
one ladder per coordinate and output entry. The outputs of f along one coordinate form a group
that shares its points, so one evaluation of f feeds every entry of a Jacobian column. Mixed
second derivatives are pair elements whose stencil reuses the axis points of the diagonal.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from fastdiff import _complex, _evaluate, _forward, _sparse, _steps, _structured
from fastdiff import _noise as _noise_est
from fastdiff._derivative import (
    SIDES,
    DerivativeArgs,
    _sides_and_steps,
    _validate_derivative_args,
    all_finite,
    check_dual_args,
    check_dual_workers,
    check_finite_x,
    default_order,
    ladder_config,
    make_config,
    quiet,
)
from fastdiff._evaluate import DEFAULT_BATCH_BYTES
from fastdiff._evaluate import PointEvaluator as _Evaluator
from fastdiff._kernels import _finite_diff
from fastdiff._result import Result, shaped_result
from fastdiff._stencils import Stencil, stencil
from fastdiff._validation import check_real_array, fail

# The mixed-derivative stencil for H_ij that reuses the diagonal's axis points:
#   f(x+a) + f(x-a) - f(x+h_i e_i) - f(x-h_i e_i) - f(x+h_j e_j) - f(x-h_j e_j) + 2 f(x)
#   = 2 h_i h_j H_ij + O(h^4),   a = h_i e_i + h_j e_j,
# an even expansion in the common ladder parameter.  Points: ++, --, +i, -i, +j, -j.
#: the complex Hessian's gradient g: its declared absolute noise per g_i, in units of ECnoise's
#: estimate (a standard deviation: single rounding errors reach a few of it)
GRADIENT_NOISE_SAFETY = 3.0

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
    workers=None,
    progress=False,
) -> DerivativeArgs:
    """derivative()'s validation (n = 1 here; the engine sets n per use), the verb's own method
    rules, and batch_bytes."""
    if method == "dual":  # the public verbs route "dual" before this; hessdiag has no dual
        raise fail("method", f"a finite-difference method for {verb}", method)
    if method == "complex" and verb == "hessdiag":
        _complex.check_order(order, 1, verb)  # the Cauchy contour has no formula order
    if batch_bytes is None:
        batch_bytes = DEFAULT_BATCH_BYTES
    elif isinstance(batch_bytes, bool) or not isinstance(batch_bytes, int | np.integer):
        raise fail("batch_bytes", "a positive integer or None", batch_bytes, TypeError)
    elif batch_bytes <= 0:
        raise fail("batch_bytes", "a positive integer or None", batch_bytes)
    return _validate_derivative_args(
        f, x, 1, method, order, step, rtol, atol, bounds, vectorized, args, kwargs, noise,
        workers, progress, int(batch_bytes),
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# Ladders along coordinates
# --------------------------------------------------------------------------------------------


def _noise(a: DerivativeArgs, eps: float) -> float:
    return eps if a.noise is None else max(a.noise, eps)


def _f0_rows(y0: np.ndarray, ngroups: int) -> np.ndarray:
    """f(x) as (groups, 2 * m): (re, im) for every member of every group."""
    vals = y0.reshape(-1)
    rows = np.empty((ngroups, 2 * vals.size))
    rows[:, 0::2] = vals.real
    rows[:, 1::2] = vals.imag if vals.dtype.kind == "c" else 0.0
    return rows


def _coordinate_ladders(
    a: DerivativeArgs, ev: _Evaluator, n: int, verb: str, noise_abs: np.ndarray | None = None
):
    """Probe f(x), then one ladder per (coordinate, output) for the n-th partial derivatives
    along each axis. Returns df (N, m), error, status, step (N, m) for N coordinates and m
    outputs. noise_abs: an absolute noise of each output's values (m,), beside a.noise (then
    what the ladders learn stays each ladder's own: the caller has measured f's noise)."""
    x = ev.base
    side, h0, flags = _sides_and_steps(a if a.n == n else a._replace(n=n), x)
    config = ladder_config(n, a.method, a.order, a.step is not None, a.rtol, a.atol)
    ride: tuple[np.ndarray, ...] = ()
    if a.vectorized and not ev.parallel:  # the first level's points are known before f is:
        # one call for both (with workers, they go out as the first level's batch instead)
        own0, pts0 = _finite_diff.first_points(config, x, h0, side, flags)
        if (1 + pts0.size) * 8 * x.size <= a.batch_bytes:
            ride = (own0, pts0)
    y0, eps, rows0 = ev.probe(*ride)
    if verb != "jacobian":
        _scalar_output_required(verb, ev.fshape)
    L = _finite_diff.Ladder(config, ev.ncomp, _noise(a, eps), x.size, ev.m)
    L.init(x, h0, side, flags, _f0_rows(y0, x.size))
    if noise_abs is not None:
        L.set_noise_abs(np.ascontiguousarray(np.tile(noise_abs, x.size), dtype=np.float64))
    idx = L.active()
    if rows0 is not None and idx.size:  # idx is all of idx0 unless f(x) was not finite
        idx = idx[: L.update(idx, rows0.reshape(-1))]
    if idx.size:  # each level's points with their coordinates (a group may turn one-sided)
        L.run_levels(idx, ev.at)
    if noise_abs is None:
        # f's noise, declared by nobody, is what its ladders learned, and an output's noise is
        # the same along every coordinate (rounding inside f: a cancelling sum W @ g(x) has
        # noise eps sum_k |W_ik g_k|, up to 100x eps |f_i|): the noise one ladder of output i
        # learned counts in all of output i's ladders (fd_ladder_share_noise; no evaluation).
        # One that saw only a chance agreement of its levels was trusted below its true error
        # (W @ (exp(x) x), seed 24, J[57, 10]: bar 3.8e-14, true 6.8e-14; its row's other
        # ladders had learned the noise).
        L.share_noise()
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


def _jacobian_impl(a: DerivativeArgs, verb: str, noise_abs: np.ndarray | None = None) -> Result:
    S = a.x.shape
    ev = _Evaluator(a)
    with quiet():
        if a.method == "complex":
            ev.probe()
            if verb == "gradient":
                _scalar_output_required("gradient", ev.fshape)
            df, error, status, step = _complex_columns(a, ev)
        else:
            df, error, status, step = _coordinate_ladders(a, ev, 1, verb, noise_abs)
            step = _limiting_step(error, step)
    F = ev.fshape

    def arrange(v):  # (N, m) -> F + S: output axes first (J[i, j] = d f_i / d x_j)
        return v.T.reshape(F + S)

    return shaped_result(
        arrange(df), arrange(error), arrange(status), ev.nfev, step, a.method, F + S, S
    )


def _complex_columns(a: DerivativeArgs, ev: _Evaluator):
    """Complex step along every coordinate at x: (N, m) arrays and the steps.

    f must be real on reals; `order` is the complex-step formula's, a fixed `step` its first
    step (see fastdiff._complex.step_estimates).
    """
    x = ev.base
    N, m = x.size, ev.m
    h0, hc = _complex.default_steps(x)
    if a.step is not None:
        h0 = a.step.ravel().astype(np.float64)
    noise = _noise(a, float(np.finfo(np.float64).eps))
    cols = np.arange(N)

    def imag(hs):  # (levels, N) -> (levels, N, m)
        L = hs.shape[0]
        X = np.repeat(x[:, None].astype(np.complex128), L * N, axis=1)
        X[np.tile(cols, L), np.arange(L * N)] += 1j * hs.reshape(-1)
        return ev.complex_points(X).reshape(L, N, m)

    def real(t, idx):
        X = np.repeat(x[:, None], idx.size, axis=1)
        X[idx, np.arange(idx.size)] = x[idx] + t
        return ev.real_points(X)

    df, error, status = _complex.step_estimates(
        imag, real, x, h0, hc, a.order, noise, m, a.rtol, a.atol
    )
    return df, error, status, h0


def _hessian_impl(a: DerivativeArgs) -> Result:
    S = a.x.shape
    ev = _Evaluator(a)
    with quiet():
        y0, eps, _ = ev.probe()
        _scalar_output_required("hessian", ev.fshape)
        if a.method == "complex":
            H, E, T, step = _complex_hessian(a, ev, eps)
        else:
            H, E, T, step = _hessian_ladders(a, ev, y0, eps)
    return shaped_result(H, E, T, ev.nfev, step, a.method, S + S, S)


_NONFINITE_FLAG = 1  # FD_FLAG_NONFINITE: status DOMAIN_ADAPTED once trusted


@lru_cache(maxsize=8)
def _cached_upper_pairs(N: int) -> tuple[np.ndarray, np.ndarray]:
    pi, pj = np.triu_indices(N, 1)
    pi.flags.writeable = pj.flags.writeable = False
    return pi, pj


def _upper_pairs(N: int) -> tuple[np.ndarray, np.ndarray]:
    """The pairs i < j of N coordinates (row-major, read-only); kept for small N only."""
    return _cached_upper_pairs(N) if N <= 128 else np.triu_indices(N, 1)


def _orders(a: DerivativeArgs) -> tuple[int, ...]:
    return _side_orders(a.method, a.order, a.n)


@lru_cache(maxsize=64)
def _side_orders(method: str, order: int, n: int) -> tuple[int, ...]:
    """The formula order per side (SIDES) of a call with this method, order and n."""
    return tuple(order if s == method else default_order(s, n) for s in SIDES)


@lru_cache(maxsize=64)
def _axis_offsets(n: int, orders: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The n-th derivative stencils' point counts (per side) and offsets (side, point),
    zero-padded, for the formula orders per side (see _orders; read-only)."""
    offs = [stencil(s, n, o).offsets for s, o in zip(SIDES, orders, strict=True)]
    npt = np.array([len(o) for o in offs], dtype=np.intp)
    omat = np.zeros((len(SIDES), npt.max()))
    for k, o in enumerate(offs):
        omat[k, : len(o)] = o
    npt.flags.writeable = omat.flags.writeable = False
    return npt, omat


def _hessian_ladders(a: DerivativeArgs, ev: _Evaluator, y0: np.ndarray, eps: float):
    """The dense Hessian: every diagonal and every pair i < j (see _hessian_entries)."""
    N = ev.base.size
    pi, pj = _upper_pairs(N)
    dd, ed, td, sd, dp, ep, tp = _hessian_entries(a, ev, y0, eps, pi, pj, None)
    H = np.zeros((N, N), dtype=dd.dtype)
    E, T = np.zeros((N, N)), np.zeros((N, N), dtype=np.int64)
    for M, diag, off in ((H, dd, dp), (E, ed, ep), (T, td, tp)):
        M.reshape(-1)[:: N + 1] = diag  # the diagonal (M is C-contiguous: a view)
        M[pi, pj] = off
        M[pj, pi] = off  # one estimate per pair: exactly symmetric
    return H, E, T, sd


def _hessian_entries(a: DerivativeArgs, ev: _Evaluator, y0, eps, pi, pj, want_diag):
    """Diagonal ladders (1-D, n = 2) and pair ladders (mixed) for the pairs (pi, pj), pi < pj,
    level by level; want_diag (bool per coordinate, None: all) picks the diagonals estimated.

    Both kinds advance one level per round with the same nominal steps per coordinate, so the
    axis points of a round serve the diagonal i and every pair with i. A coordinate whose
    stencil is one-sided (method, `bounds`, or a domain edge at x) makes its pairs one-sided
    too. Returns the diagonals' df, error, status, step (N,) and the pairs' df, error, status.
    """
    x = ev.base
    N = x.size
    side, h0, flags = _sides_and_steps(a._replace(n=2), x)
    noise = _noise(a, eps)
    fixed = a.step is not None
    # the diagonals turn one-sided as derivative()'s ladders do (a central stencil meeting
    # non-finite values on one side only, AUTO_SIDE_LEVELS in a row: f's domain ends at x);
    # the points here are laid out by side, so the Hessian then restarts with that
    # coordinate one-sided, and its pairs with it
    while True:
        Ld, Lp, turned = _hessian_round(a, ev, y0, noise, fixed, side, h0, flags, pi, pj, want_diag)
        if not turned.size:
            break
        side[turned] = Ld.sides(turned)
        flags[turned] |= _NONFINITE_FLAG
    dd, ed, td, sd = _results(Ld, ev, N)
    dp, ep, tp, _ = _results(Lp, ev, pi.size)
    return dd[:, 0], ed[:, 0], td[:, 0], sd[:, 0], dp[:, 0], ep[:, 0], tp[:, 0]


def _hessian_round(
    a: DerivativeArgs, ev: _Evaluator, y0, noise, fixed, side, h0, flags, pi, pj, want_diag
):
    """One run of the diagonal and pair ladders with the given sides. Returns the ladders
    and the coordinates whose diagonal turned one-sided (the run stops there: its points
    were laid out by the old sides)."""
    x = ev.base
    N = x.size
    pi, pj = np.ascontiguousarray(pi, dtype=np.intp), np.ascontiguousarray(pj, dtype=np.intp)
    Ld = _finite_diff.Ladder(
        ladder_config(2, a.method, a.order, fixed, a.rtol, a.atol), ev.ncomp, noise, N
    )
    Ld.init(x, h0, side, flags, _f0_rows(y0, N))
    # the diagonal stencils' offsets per side; row 0 is +1 (central, forward) or -1 (backward):
    # the point one step in the coordinate's direction, which the pairs use
    npt, omat = _axis_offsets(2, _orders(a))
    # per coordinate its direction (-1 backward, else +1); per pair its side (central unless
    # a coordinate is one-sided, then forward where the directions agree, else backward),
    # flags, x_i, h_i, x_j and h_j / h_i: the bookkeeping in one compiled loop
    direction, pside, pflags, px, ph, px2, pscale = _finite_diff.pair_setup(
        x, h0, side, flags, pi, pj
    )
    Lp = _finite_diff.Ladder(_pair_config(fixed, a.rtol, a.atol), ev.ncomp, noise, pi.size)
    Lp.init(px, ph, pside, pflags, _f0_rows(y0, pi.size))
    Lp.set_pairs(px2, pscale)
    hd, hp = Ld.active(), Lp.active()
    if want_diag is not None:  # a diagonal not wanted is never updated; its axis points are
        hd = hd[want_diag[hd]]  # still made while a pair of its coordinate needs them
    h = h0.copy()
    q = _steps.DEFAULT_STEP_RATIO
    layout = None  # (hd.size, hp.size) the index bookkeeping below was made for
    while hd.size or hp.size:
        if layout != (hd.size, hp.size):  # else hd and hp are unchanged (update only drops)
            layout = (hd.size, hp.size)
            # the level's points: coordinate i1 moved by o1 steps (axis rows, then corners),
            # and for corners coordinate i2 >= 0 by o2 (axis rows: i2 = -1, and their o2 = 0
            # on coordinate 0 makes a value that is never read); g: each pair's rows
            i1, o1, i2, o2, g, drows, A = _finite_diff.hessian_layout(
                hd, hp, pi, pj, side, npt, omat, pside, direction
            )
        # coordinate i1 at x + o1 d and i2 at x + o2 d, d = (x + h) - x the spacing the C
        # kernels divide by
        v1, v2 = _finite_diff.hessian_values(x, h, i1, o1, i2, o2)
        vals = ev.at(i1, v1, i2, v2)
        if hd.size:  # each diagonal's stencil values, back to back
            axis = vals[:A] if drows is None else vals[drows]
            hd = hd[: Ld.update(hd, np.ascontiguousarray(axis).reshape(-1))]
            turned = Ld.turned(side)
            if turned.size:
                return Ld, Lp, turned
        if hp.size:
            hp = hp[: Lp.update(hp, vals[g].reshape(-1))]
        h = h / q
    return Ld, Lp, np.empty(0, dtype=np.intp)


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
    # the pair weights (+-1/2, +-1) are exact; they are not a 1-D formula weight_error knows
    return make_config(2, [_PAIR, *_PAIR_ONE_SIDED], fixed, False, rtol, atol, False, (0.0,) * 3)


def _hessdiag_impl(a: DerivativeArgs) -> Result:
    S = a.x.shape
    ev = _Evaluator(a)
    with quiet():
        if a.method == "complex":
            df, error, status, step = _complex_hessdiag(a, ev)
        else:
            df, error, status, step = _coordinate_ladders(a, ev, 2, "hessdiag")
    return shaped_result(df, error, status, ev.nfev, step, a.method, S, S)


def _complex_gradient(a: DerivativeArgs, ev: _Evaluator, eps: float):
    """The complex-step gradient g of _complex_hessian as the arguments of a central-ladder
    Jacobian (f = g, its noise), the status of g's own checks at x, (N, 1), and the absolute
    noise of each g_i, (N,)."""
    x = ev.base
    N, S = x.size, ev.shape
    _, _, gstat, _ = _complex_columns(a._replace(step=None, order=2, rtol=None, atol=None), ev)
    h, _ = _complex.default_steps(x)
    rows = np.arange(N)
    # with workers, the ladder on g asks for every point of a level at once, and each batch
    # of g is one batch of f's points (the same points and values as one at a time)
    vec = a.vectorized or ev.parallel

    def values(Y: np.ndarray) -> np.ndarray:  # g at the points Y[:, c] (N, k): (k, N)
        k = Y.shape[1]
        X = np.repeat(Y, N, axis=1).astype(np.complex128)  # column c * N + i: point c, e_i
        X[np.tile(rows, k), np.arange(k * N)] += 1j * np.tile(h, k)
        vals = ev.complex_points(X)[:, 0].reshape(k, N)
        return np.where(np.isfinite(vals), vals.imag / h, np.nan)  # NaN + 0j is not a slope

    def g(y: Any) -> np.ndarray:
        Y = np.asarray(y, dtype=np.float64).reshape(N, -1)
        if Y.shape[1] == 2 and np.array_equal(Y[:, 0], Y[:, 1]):
            # a lone point sent twice (fastdiff._evaluate._two_or_more): f's points once
            return np.repeat(g(Y[:, :1]), 2, axis=-1)
        out = values(Y)
        return out.T.reshape(*S, Y.shape[1]) if vec else out[0].reshape(S)

    # g's values carry the complex step's rounding: a few eps relative where f's terms are of
    # f's size, but g_i = Im f(x + i h e_i) / h is a sum of terms (the i-th row of A x and
    # A^T x for x^T A x), and rounds at eps times their magnitudes, far above eps |g_i|: its
    # absolute noise, per g_i, from ECnoise on g near x (fastdiff._noise; ECNOISE_POINTS
    # more evaluations of g, N points of f each). Seen without it: x^T A x + sum(x^3) / 3, H[0,
    # 2] trusted at 5.8e-15 for a true error of 7.1e-15 (tests/test_complex.py).
    # Declared only where it exceeds what the relative model counts already (noise |g_i|).
    noise = 2 * _noise(a, eps)
    V = values(_noise_est.probe_points(x, _steps.scale_of(x)))
    sig = GRADIENT_NOISE_SAFETY * np.maximum(_noise_est.sigma(V), _quantum(V))
    noise_abs = np.where(sig > noise * np.abs(V).mean(axis=0), sig, 0.0)  # NaN: not declared
    b = a._replace(
        f=g, method="central", args=(), kwargs=None, noise=noise, vectorized=vec, workers=None
    )
    return b, gstat, noise_abs


def _quantum(values: np.ndarray) -> np.ndarray:
    """A quarter of the largest second difference of g along the probe, per g_i: (k, N) -> (N,).

    g_i = Im f(x + i h e_i) / h rounds to multiples of a quantum Q, the ulp of f's largest
    intermediate term in units of h (13.9 h for an f whose g_i is 0.16: Q = 1.8e-15), not to
    eps |g_i|. Along the probe, g_i's steps can be a near-whole number of quanta; its values
    then round alike, their second differences are zeros and a jump of Q, which changes no
    sign, and ECnoise (fastdiff._noise) finds no noise. The jump is Q: its quarter stands in
    for the noise (uniform in [-Q/2, Q/2]: standard deviation 0.29 Q). For white noise sigma
    it is about 1.2 sigma, for g's smooth part 0 at the probe's spacing.
    """
    d2 = np.diff(values, n=2, axis=0)
    return np.where(np.isfinite(d2).all(axis=0), np.abs(d2).max(axis=0, initial=0.0) / 4, np.nan)


def _complex_hessian(a: DerivativeArgs, ev: _Evaluator, eps: float):
    """method="complex": the central ladder (order `order`, step `step`) on the complex-step
    gradient g(y) = Im f(y + i h e_i) / h, whose values are exact to rounding: J[i, j] is
    d g_i / d x_j with the ladder's own error and status, and one of J[i, j], J[j, i] per pair
    (fastdiff._complex.symmetrise). Complex step on one direction, central differences on
    the other; the gradient's own checks at x (analytic, imaginary part kept) guard each row.
    """
    N = ev.base.size
    b, gstat, noise_abs = _complex_gradient(a, ev, eps)
    J = _jacobian_impl(b, "jacobian", noise_abs)
    shape = (N, N)
    H, E, T = _complex.symmetrise(
        np.asarray(J.df, dtype=np.float64).reshape(shape),
        np.asarray(J.error, dtype=np.float64).reshape(shape),
        np.asarray(J.status).reshape(shape).astype(np.int64),
    )
    # a coordinate whose complex-step slope at x is not trusted (f not analytic along it, the
    # imaginary part dropped, f not finite) takes its row and column with it
    code = np.minimum(gstat[:, 0], 0)
    worst = np.minimum(code[:, None], code[None, :])
    poison = worst < 0
    H = np.where(poison, np.nan, H)
    E = np.where(poison, np.inf, E)
    T = np.where(poison, worst, T)
    return H, E, T, np.asarray(J.step, dtype=np.float64).reshape(-1)


def _complex_hessdiag(a: DerivativeArgs, ev: _Evaluator):
    """method="complex": the second derivative along each coordinate by the Cauchy contour
    (fastdiff._complex.contour), cross-checked by the central ladder. (N, 1) arrays."""
    ev.probe()
    _scalar_output_required("hessdiag", ev.fshape)
    x = ev.base
    N = x.size
    fx = np.full(N, ev.complex_points(x[:, None])[0, 0])

    def on_circles(idx: np.ndarray, z: np.ndarray) -> np.ndarray:
        K = z.size
        X = np.repeat(x[:, None].astype(np.complex128), K, axis=1)
        X[np.repeat(idx, z.shape[1]), np.arange(K)] = z.reshape(-1)
        return ev.complex_points(X)[:, 0]

    def central() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        c = a._replace(method="central", order=2, step=None)
        df, err, st, _ = _coordinate_ladders(c, ev, 2, "hessdiag")
        return df[:, 0].real, err[:, 0], st[:, 0] >= 0

    df, error, status, r = _complex.contour(a, 2, x, on_circles, fx, central)
    return df, error, status, r


def _jvp_impl(a: DerivativeArgs, v: Any) -> Result:
    S = a.x.shape
    vv = check_real_array("v", v)
    if vv.shape != S:
        raise fail("v", f"an array of x's shape {S}", f"an array of shape {vv.shape}")
    if not all_finite(vv):
        raise fail("v", "finite (no NaN or inf)", v)
    if a.bounds is not None:
        raise fail("bounds", "None for jvp (the line x + t v crosses coordinates)", a.bounds)
    ev = _Evaluator(a)
    v = np.ascontiguousarray(vv.ravel())
    vl = v.tolist()  # (a few Python floats: cheaper than NumPy's reductions on small v)
    vmax = max(map(abs, vl)) if vl else 0.0
    with quiet():
        y0, eps, _ = ev.probe()
        F = ev.fshape
        if vmax == 0.0:  # J @ 0 is exactly 0
            z = np.zeros(F, dtype=y0.dtype if ev.ncomp == 2 else np.float64)
            return shaped_result(
                z, np.zeros(F), np.zeros(F, np.int64), ev.nfev, np.zeros(S), a.method, F, S
            )
        # the line's unit: the largest coordinate it moves, scaled like derivative()'s steps
        moved = max(abs(b) for b, w in zip(ev.base.tolist(), vl, strict=True) if w != 0)
        mant, expo = math.frexp(max(moved, 1.0))  # _steps.scale_of, on one float
        try:
            scale = math.ldexp(1.0, expo - (mant == 0.5))
        except OverflowError:  # 2**1024 (|x| near the largest float): inf, as np.ldexp's
            scale = math.inf
        unit = scale / vmax
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
    # ulp(x_i) / 2 each: an error in f of up to sum_i |df/dx_i| ulp(x_i) / 2. Counted as
    # extra noise of f, relative: one eps per moving coordinate (they can align), plus the
    # stencil's length in eps, since that error scales with f's conditioning |x f'| / |f|
    # (large for exp(W x) with large values), which eps |f| does not bound.
    moving = int(np.count_nonzero(v))
    npts = len(stencil(a.method, 1, a.order).offsets)
    noise = _noise(a, eps) * (1 + moving) + (npts + 1) * float(np.finfo(np.float64).eps)
    L = _finite_diff.Ladder(config, ev.ncomp, noise, 1, ev.m)
    L.init(np.zeros(1), np.array([t0]), side, np.zeros(1, np.intc), _f0_rows(y0, 1))
    idx = L.active()
    if idx.size:  # level by level, in one compiled loop: f on the line at each level's t
        L.run_levels(idx, lambda _, t: ev.on_line(v, t))
    df, error, status, step = _results(L, ev, 1)
    return df[0], error[0], status[0], float(_limiting_step(error, step)[0])


def _complex_line(a: DerivativeArgs, ev: _Evaluator, v, unit):
    """Complex step along the line x + t v at t = 0 (one group of m outputs)."""
    e0, ec = _steps.COMPLEX_STEP_EXPONENTS
    h0 = np.array([unit * 2.0**e0])
    if a.step is not None:  # absolute, like _line_ladder's: the largest coordinate move
        h0 = np.array([float(np.max(a.step)) / float(np.max(np.abs(v)))])
    hc = np.array([unit * 2.0**ec])
    noise = _noise(a, float(np.finfo(np.float64).eps))

    def imag(hs):  # (levels, 1) -> (levels, 1, m)
        y = ev.on_line(v, hs[:, 0], imag=True).reshape(hs.shape[0], -1)
        if y.dtype.kind != "c":
            return np.full((hs.shape[0], 1, ev.m), complex(np.nan, np.nan))
        return y.reshape(hs.shape[0], 1, ev.m)

    def real(t, idx):
        return ev.rows_complex(ev.on_line(v, np.asarray(t, dtype=np.float64)))

    df, error, status = _complex.step_estimates(
        imag, real, np.zeros(1), h0, hc, a.order, noise, ev.m, a.rtol, a.atol
    )
    return df[0], error[0], status[0], float(h0[0])


# --------------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------------


def _sparse_args(verb: str, f, x, method, *rest) -> DerivativeArgs:
    """The checked arguments of jacobian or hessian with `sparsity` and a finite-difference
    method or "complex" (method="dual" goes through `_sparse_dual_args`)."""
    if not isinstance(method, str) or method not in ("central", "forward", "backward", "complex"):
        raise fail(
            "method",
            "'central', 'forward', 'backward', 'complex' or 'dual' with `sparsity`",
            method,
        )
    return _validate_multi_args(verb, f, x, method, *rest)


def _sparse_dual_args(
    f, x, order, step, rtol, atol, bounds, vectorized, args, kwargs, noise, batch_bytes,
    workers, progress,
) -> np.ndarray:  # fmt: skip
    """method="dual" with `sparsity`: the dual verbs' checks; x as a finite float64 array."""
    check_dual_args(f, args, kwargs, vectorized, order=order, step=step, bounds=bounds, noise=noise)
    check_dual_workers(workers, progress)
    _check_dual_batch_bytes(batch_bytes)
    return check_finite_x(x)


def _check_dual_batch_bytes(batch_bytes: Any) -> None:
    if batch_bytes is not None and (
        isinstance(batch_bytes, bool)
        or not isinstance(batch_bytes, int | np.integer)
        or batch_bytes <= 0
    ):
        raise fail("batch_bytes", "a positive integer or None", batch_bytes, TypeError)


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
    workers=None,
    progress=False,
) -> Result:
    """The body of every public verb: route method="dual" (whose x may hold Duals, so it is
    validated by _forward), else validate once and run the finite-difference engine."""
    if method == "dual" and verb != "hessdiag":
        if not (  # (the common call, all defaults: nothing to check but f and args)
            type(args) is tuple
            and kwargs is None
            and vectorized is False
            and order is None
            and step is None
            and bounds is None
            and noise is None
            and workers is None
            and progress is False
            and callable(f)
        ):
            check_dual_args(
                f, args, kwargs, vectorized, order=order, step=step, bounds=bounds, noise=noise
            )
            check_dual_workers(workers, progress)
        if verb == "jvp":
            return _forward.dual_jvp(f, x, v, args, kwargs)
        _check_dual_batch_bytes(batch_bytes)
        return getattr(_forward, f"dual_{verb}")(f, x, args, kwargs, batch_bytes=batch_bytes)
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
        workers,
        progress,
    )
    return _evaluate.run(a.workers, _run_verb, a, verb, v)


def _run_verb(a: DerivativeArgs, verb: str, v: Any) -> Result:
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
    workers: Any = None,
    progress: bool = False,
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
        extrapolation per coordinate, the complex step, or dual numbers. With ``"dual"`` f is
        called with a `fastdiff.DualArray` of shape S carrying many partials at once (NumPy
        code runs on it unchanged), and once more for the rounding bound; code NumPy's
        protocols cannot reach (a TypeError on the DualArray) is redone on object arrays of
        `fastdiff.Dual`.
    order, step, rtol, atol, noise
        As for `derivative`, per coordinate (`step` broadcasts to S). Steps are scaled to
        ``max(|x_i|, 1)`` coordinate by coordinate. With ``method="complex"``, `order` is the
        complex-step formula's (2, 4, ..., 16) and a fixed `step` its first step, as in
        `derivative`.
    bounds : (lo, hi), optional
        Per-coordinate domain (broadcastable to S); stencils stay inside.
    vectorized : bool, default: False
        Whether f takes a batch of points (see `f`); otherwise a compiled loop calls f with
        one point (a fresh array of shape S) per call.
    args, kwargs
        Extra arguments for f.
    batch_bytes : int, optional
        Memory limit for one batch passed to a vectorized f; default 16 MiB. Memory use
        grows with the dimension, not its square. With ``method="dual"``: the memory of the
        seeded partials of one call, so a call carries ``batch_bytes // (8 * x.size)``
        partials (all of them, one call, up to about 1400 parameters by default).
    workers : int, map-like callable, concurrent.futures.Executor or dask Client, optional
        Where f is evaluated. ``None`` (default): in this thread. An int n: a pool of n
        processes, started and shut down by this call (f, `args` and `kwargs` must pickle:
        define f at module level). A map-like callable (``pool.map``, SciPy's convention), a
        `concurrent.futures.Executor`, or a ``dask.distributed.Client`` (f travels with
        cloudpickle). The points of each ladder level, over every coordinate (and pair), go
        out as one batch in one block per worker (with ``vectorized=True``, each worker's f
        gets its block as one array). The result is bitwise the serial one, `nfev` included.
        ``method="dual"`` takes None only. See the "Expensive functions" page of the docs.
    progress : bool, default: False
        Show a progress bar on stderr counting the evaluations of each level (tqdm if it is
        installed, else plain lines). It never writes to stdout and changes nothing in the
        result.

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
            batch_bytes=batch_bytes, workers=workers, progress=progress))  # fmt: skip
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
        workers,
        progress,
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
    sparsity: Any = None,
    workers: Any = None,
    progress: bool = False,
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
    sparsity : scipy.sparse matrix or array, or bool ndarray, optional
        The pattern of the Jacobian, of shape ``(f.size, x.size)`` (flattened output and input
        indices): entry ``(i, j)`` is nonzero or True where ``d f_i / d x_j`` may be nonzero.
        Entries outside the pattern are assumed zero: that is the caller's promise. Columns
        that share no row are coloured alike and perturbed together, so f is evaluated along
        one line per colour (greedy largest-first colouring of the column intersection graph)
        and the cost grows with the number of colours, not with ``x.size``. The pattern
        `scipy.optimize.least_squares` takes as ``jac_sparsity`` works as is. Needs scipy
        (``pip install "fastdiff[sparse]"``). With `sparsity`, `bounds` is None and a fixed
        `step` is the step along each colour's line (its largest value). ``method="dual"``
        works with `sparsity` too: one call of f on a `DualArray` carrying one partial per
        colour gives the compressed product ``J D`` (exact to rounding), one more call its
        rounding bound, so ``nfev`` is 2 whatever ``x.size`` (2 per chunk of colours where
        their partials pass `batch_bytes`).

    workers, progress
        As for `gradient` (with `sparsity`, every colour's points of a level form its batch).

    Returns
    -------
    Result
        ``df``, ``error``, ``success``, ``status`` of shape ``F + S``; ``step`` of shape S
        (per coordinate, the step of the entry with the largest error); ``nfev``; ``method``.
        With `sparsity`: ``df``, ``error``, ``success`` and ``status`` are
        ``scipy.sparse.csr_array`` of shape ``(f.size, x.size)`` holding exactly the pattern's
        entries (each with its own error and status, zeros included); ``step`` of shape S is
        the step along the line of each coordinate's colour.

    Raises
    ------
    ValueError, TypeError
        For invalid arguments (a `sparsity` that is not a pattern, or of the wrong shape), or
        an f whose output shape changes between calls.

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

    A sparse Jacobian, with the pattern a `scipy.optimize.least_squares` user passes as
    ``jac_sparsity``: the residual of a discretised boundary-value problem
    ``u'' = exp(u)`` is tridiagonal, so three colours serve any n.

    >>> import scipy.sparse as sp
    >>> n = 200
    >>> def residual(u):
    ...     up = np.concatenate(([0.0], u, [0.0]))  # u = 0 at both ends
    ...     return (up[:-2] - 2 * u + up[2:]) * (n + 1) ** 2 - np.exp(u)
    >>> P = sp.diags([1, 1, 1], offsets=[-1, 0, 1], shape=(n, n), dtype=bool)
    >>> u = np.linspace(0.0, 1.0, n)
    >>> res = fd.jacobian(residual, u, sparsity=P)
    >>> exact = sp.diags([np.full(n - 1, (n + 1.0) ** 2), -2 * (n + 1.0) ** 2 - np.exp(u),
    ...                         np.full(n - 1, (n + 1.0) ** 2)], offsets=[-1, 0, 1])
    >>> err = abs(res.df - exact).toarray()  # the true error of every entry
    >>> bool(np.all(err <= res.error.toarray())), bool(res.success.data.all())
    (True, True)
    >>> res.nfev < 100  # a dense Jacobian takes more than 2 n
    True

    ``least_squares(residual, u0, jac=fd.jacobian_of(residual, sparsity=P))`` then uses it
    in place of scipy's own differences (see the optimisers page of the docs).
    """
    if sparsity is not None and method == "dual":
        xs = _sparse_dual_args(
            f, x, order, step, rtol, atol, bounds, vectorized, args, kwargs, noise,
            batch_bytes, workers, progress,
        )  # fmt: skip
        return _sparse.dual_jacobian(f, xs, args, kwargs, sparsity, batch_bytes)
    if sparsity is not None:
        a = _sparse_args(
            "jacobian", f, x, method, order, step, rtol, atol, bounds, vectorized, args,
            kwargs, noise, batch_bytes, workers, progress,
        )  # fmt: skip
        return _evaluate.run(a.workers, _sparse.sparse_jacobian, a, sparsity)
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
        workers,
        progress,
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
    sparsity: Any = None,
    workers: Any = None,
    progress: bool = False,
) -> Result:
    """Hessian of a scalar function, exactly symmetric, with an error bound per entry.

    Parameters
    ----------
    f : callable
        Scalar function of an array of shape S (see `gradient`).
    x : float array_like
        The point, of any shape S.
    method : {"central", "forward", "backward", "complex", "dual"}, default: "central"
        Finite differences with Richardson extrapolation; ``"complex"``: the complex step on
        one direction and the central ladder on the other (f analytic and real on reals; see
        Notes); or ``"dual"``: second-order dual numbers: f is called with a
        `fastdiff.DualArray` carrying first and second-order partials (the whole Hessian in
        one call while ``8 n (n + n**2) <= batch_bytes``, n = x.size, else in blocks), and once
        more for the rounding bound.
    order, step, rtol, atol, bounds, vectorized, args, kwargs, noise, batch_bytes
        As for `gradient`. Near a bound, a coordinate's stencils become one-sided. With
        ``method="complex"``, `order` (even, default 2) and a fixed `step` are those of the
        central direction, reported in ``Result.step``; the complex direction keeps its tiny
        step ``2**-40 max(|x_i|, 1)``; `bounds` must be None.
    sparsity : scipy.sparse matrix or array, or bool ndarray, optional
        The pattern of the Hessian, symmetric, of shape ``(x.size, x.size)`` (flattened
        indices): entry ``(i, j)`` is nonzero or True where ``d^2 f / dx_i dx_j`` may be
        nonzero. Entries outside the pattern are assumed zero: that is the caller's promise.
        Only the pattern's entries are estimated. The finite-difference methods give each
        its own dense ladder, so a level costs two evaluations per stored entry of the upper
        triangle instead of ``n (n + 1)``; ``"complex"`` and ``"dual"`` colour the pattern
        (a star colouring, 3 colours for a tridiagonal pattern, 2 for an arrowhead) and
        compute ``H D`` for those colours (see Notes for the cost). Needs scipy
        (``pip install "fastdiff[sparse]"``).

    workers, progress
        As for `gradient`.

    Returns
    -------
    Result
        ``df``, ``error``, ``success``, ``status`` of shape ``S + S``; ``step`` of shape S
        (the diagonal's steps); ``nfev``; ``method``. With `sparsity`: ``df``, ``error``,
        ``success`` and ``status`` are ``scipy.sparse.csr_array`` of shape
        ``(x.size, x.size)`` holding exactly the pattern's entries (each with its own error
        and status, zeros included, exactly symmetric); ``step`` is 0 for a coordinate
        outside the pattern.

    Raises
    ------
    ValueError, TypeError
        For invalid arguments (a `sparsity` that is not a pattern, not symmetric or of the
        wrong shape: checked before f is called), or a non-scalar f.

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

    ``method="complex"`` differentiates the complex-step gradient
    ``g_i(y) = Im f(y + i h e_i) / h``, exact to rounding, with the central ladder of
    `jacobian` (its steps, extrapolation, error bars and status): ``H[i, j]`` is
    ``d g_i / d x_j``. Of ``d g_i / d x_j`` and ``d g_j / d x_i`` the trusted one with the
    smaller error serves both entries (exactly symmetric); two trusted ones that disagree
    beyond both bars give status -3. The complex-step gradient at x is checked as in
    `gradient` (analytic, imaginary part kept, finite): a coordinate that fails takes its row
    and column with it. Each level costs N evaluations per point of the central ladder.

    With `sparsity` and a finite-difference method, the pairs outside the pattern are
    skipped. No colouring helps a scalar f known only by its values: each evaluation gives
    one number, so the second differences of any set of points determine at most one linear
    combination of Hessian entries per point, and directions that move a group of
    coordinates together only ever give sums of entries. Two points per stored entry and
    level (central) is the least a second difference can take.

    ``"complex"`` and ``"dual"`` see more than one number per evaluation, so they colour the
    pattern: a star colouring (Gebremedhin, Manne and Pothen, SIAM Review 47, 2005: adjacent
    coordinates differ and every path on four coordinates uses at least three colours), or
    the column colouring of `jacobian` where that takes no more colours. With p colours and
    ``D[k, c] = 1`` where coordinate k has colour c, every entry is one entry of ``H D``:
    ``H[i, j] = (H D)[i, colour(j)]`` when j is i's only neighbour of its colour, else
    ``(H D)[j, colour(i)]`` (Powell and Toint's direct recovery); (i, j) and (j, i) read the
    same number, so the result is exactly symmetric. With ``"complex"``, ``H D`` is the
    central ladder of the complex-step gradient along the p colours (each value of that
    gradient costs ``x.size`` complex evaluations: a level costs p x points x ``x.size``),
    and where an entry is read both ways the rule of the dense complex Hessian picks. With
    ``"dual"``, each call of f seeds b coordinates (8; fewer for n above about 700, so that
    a call's partials stay under 1 MiB per array) and the p colour directions as first-order
    partials of a second-order `DualArray`: ``ceil(n / b)`` calls, plus one for the rounding
    bound (chained Rosenbrock, n = 500: 3 colours, 64 calls); a call carries ``(b + p)**2``
    rows of partials, about the cost of as many evaluations of f.

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

    Complex step on one direction, central differences on the other:

    >>> res = fd.hessian(rosen, x, method="complex")
    >>> bool(res.success.all()), bool(np.all(res.df == res.df.T))
    (True, True)
    >>> bool(np.all(np.abs(res.df - rosen_hess(x)) <= res.error))
    True

    A sparse Hessian: the chained Rosenbrock function couples neighbours only, so its
    Hessian is tridiagonal and 3 n - 2 entries are estimated instead of n**2.

    >>> import scipy.sparse as sp
    >>> n = 100
    >>> x = np.linspace(-1.0, 1.5, n)
    >>> P = sp.diags([1, 1, 1], offsets=[-1, 0, 1], shape=(n, n), dtype=bool)
    >>> res = fd.hessian(rosen, x, sparsity=P)
    >>> err = np.abs(res.df.toarray() - rosen_hess(x))  # the true error of every entry
    >>> bool(np.all(err <= res.error.toarray())), bool(res.success.data.all())
    (True, True)
    >>> bool((res.df != res.df.T).nnz == 0)  # exactly symmetric
    True

    The same with dual numbers (f written with NumPy): exact to rounding, 3 colours,
    ``ceil(n / 8) + 1`` calls of f here.

    >>> def chained(v):
    ...     return np.sum(100.0 * (v[1:] - v[:-1] ** 2) ** 2 + (1.0 - v[:-1]) ** 2)
    >>> res = fd.hessian(chained, x, sparsity=P, method="dual")
    >>> err = np.abs(res.df.toarray() - rosen_hess(x))
    >>> bool(np.all(err <= res.error.toarray())), bool(res.success.data.all()), res.nfev
    (True, True, 14)
    """
    if sparsity is not None and method == "dual":
        xs = _sparse_dual_args(
            f, x, order, step, rtol, atol, bounds, vectorized, args, kwargs, noise,
            batch_bytes, workers, progress,
        )  # fmt: skip
        return _sparse.dual_hessian(f, xs, args, kwargs, sparsity, batch_bytes)
    if sparsity is not None:
        a = _sparse_args(
            "hessian", f, x, method, order, step, rtol, atol, bounds, vectorized, args,
            kwargs, noise, batch_bytes, workers, progress,
        )  # fmt: skip
        return _evaluate.run(a.workers, _sparse.sparse_hessian, a, sparsity)
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
        workers,
        progress,
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
    workers: Any = None,
    progress: bool = False,
) -> Result:
    """Diagonal of the Hessian, ``d^2 f / d x_i^2``, with an error bound per entry.

    Parameters
    ----------
    f : callable
        Scalar function of an array of shape S (see `gradient`).
    x : float array_like
        The point, of any shape S.
    method : {"central", "forward", "backward", "complex"}, default: "central"
        Finite differences (one-sided near `bounds` as needed), or ``"complex"``: the Cauchy
        integral along each coordinate, as ``derivative(..., n=2, method="complex")`` (f
        analytic and real on reals; a non-analytic f gets status -4).
    order, step, rtol, atol, bounds, vectorized, args, kwargs, noise, batch_bytes
        As for `gradient`. With ``method="complex"``, `order` must be None (the contour has
        no formula order) and a fixed `step` is the radius of the one circle used per
        coordinate, reported in ``Result.step``; `bounds` must be None.

    workers, progress
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

    The complex method is accurate to about 1e-12 relative here, and vouches for it:

    >>> f = lambda v: np.exp(v[0]) * np.sin(v[1])
    >>> exact = np.array([np.exp(0.3) * np.sin(1.1), -np.exp(0.3) * np.sin(1.1)])
    >>> res = fd.hessdiag(f, [0.3, 1.1], method="complex")
    >>> bool(res.success.all()), bool(np.all(np.abs(res.df - exact) <= res.error))
    (True, True)
    >>> bool(np.all(res.error < 1e-11))
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
        workers,
        progress,
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
    workers: Any = None,
    progress: bool = False,
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

    workers, progress
        As for `gradient`.

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
        workers,
        progress,
    )
