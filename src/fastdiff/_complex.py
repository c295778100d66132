"""method="complex": the complex step (first derivatives) and the Cauchy contour (higher ones).

Every verb comes here with its own way of evaluating f (elementwise, along coordinates, along
a line); this module owns the steps, the checks and the status rules, so that they are the
same for all:

* `step_estimates`: the complex-step formula of order 2, 4, ... (csrc/complex_step.c) on the
  steps ``h0 / q**k``, its real analyticity check, and the retries of that check near a domain
  edge. `derivative` (n = 1), `gradient`, `jacobian` and `jvp` use it.
* `contour`: the Cauchy integral on shrinking circles (fd_contour), cross-checked against the
  central ladder. `derivative` (n >= 2) and `hessdiag` use it.
* `hessian`: the complex-step gradient differentiated by the central ladder (complex step on
  one direction, central differences on the other), symmetrised with one estimate per pair.

Imports point down: the callers pass their evaluators and their central ladders in.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from fastdiff import _steps
from fastdiff._kernels import _finite_diff
from fastdiff._status import Status
from fastdiff._validation import fail

if TYPE_CHECKING:
    from fastdiff._derivative import DerivativeArgs

EPS = float(np.finfo(np.float64).eps)

#: Contour rounding in the error bar, in eps of the statistical unit n! rms|f| / (sqrt(N) r^n)
#: (see contour()): the rounding of N values, each within about an ulp of f on the circle
#: with signs that do not all line up, adds up like sqrt(N) rms|f|, not the worst case
#: N mean|f| the bar counted before (2 ulps of n! mean|f| / r^n, about 11 of this unit).
#: On the wide study (tools/complex_study.py --wide) the true error of f computed to an ulp
#: is 0.46 of the unit in the median and 6.1 at p99; 6 misses nothing there, the excess over
#: f's decay (below) covering f computed worse (scipy's loggamma: 41 units), nor, with
#: CONTOUR_QUIET_NOISE_ULPS, on four jittered copies (n = 2 ... 6) but where the old bar
#: missed too (erf(30 x) at -0.298, n = 5: scipy's complex erf); 4 misses log(1 + x^2) at 0.1
#: (n = 3).
CONTOUR_ROUNDING_RMS = 6.0

#: A circle's top coefficients (rms of j = 24 .. 31, relative to mean|f|) at or below this
#: many ulps are its values' rounding, and CONTOUR_FLOOR_SAFETY times them (the estimate's
#: noise, unit * top), up to CONTOUR_QUIET_NOISE_CAP ulps of n! mean|f| / r^n, a floor of its
#: rounding: f computed to several ulps missed on jittered copies of the wide study with
#: CONTOUR_ROUNDING_RMS alone, where the old bar held (sin(10 x) at 1.96, n = 6: the argument
#: 10 z rounds, top 2.4 ulps, about 12 ulps per value; true error 5.4e-9, bar 2.6e-9, and with
#: a threshold of 2 ulps and a cap of 2 still 4.1e-9). Above the threshold the top may be
#: f's decay (on a grown circle, mostly), and the cap keeps a top that is f's decay from
#: widening the bar much (acosh at 1.0001: 1.7 ulps, its decay near the branch point).
#: Wide study medians +8-16% (n = 2, 3, 4) over CONTOUR_ROUNDING_RMS alone.
CONTOUR_QUIET_NOISE_ULPS = 3.0
CONTOUR_QUIET_NOISE_CAP = 4.0

#: The noise floor of f's values on a circle is the rms of the top 8 of its 32 Fourier
#: coefficients (j = 24 .. 31; white noise puts the same into every coefficient, an analytic
#: f's decay there to (r/R)^24), in units of the estimate. e16 below CONTOUR_NOISE_LIKE times
#: it is not told apart from noise and is not squared (see contour()).
CONTOUR_NOISE_LIKE = 8.0

#: Safety on that floor as a bound of the estimate's own noise: an rms of 8 samples against
#: one more sample, P(|t_8| > 5) ~ 1e-3.
CONTOUR_FLOOR_SAFETY = 5.0

#: A circle's top coefficients count as its noise floor only where they are flat: no more
#: than 4x below the 8 before them (j = 16 .. 23); an analytic f's decay is faster there.
CONTOUR_FLAT = 0.25

#: An analytic f's top coefficients (j = 24 .. 31) are at most this many times the 8 below
#: them continued at the decay the estimate shows (sqrt(e16 / |full|) per 8 coefficients):
#: where they hold more, the excess is the values' noise (see contour()). scipy's loggamma
#: at 2 holds 9x; on the wide study 1 and 2 took f's decay for noise too (n = 2 median 10.3
#: -> 11.4, 11.0), 4 leaves the medians within 1%.
CONTOUR_CONTENT_SAFETY = 4.0

#: The top coefficients of a circle count as noise where their excess over f's decay
#: (CONTOUR_CONTENT_SAFETY) is at least this fraction of them.
CONTOUR_MOSTLY_NOISE = 0.5

#: The best circle's top coefficients, relative to mean|f|, at or below this many ulps are
#: rounding; above, they may be f's decay hiding the values' noise, and the contour looks at
#: one circle more (3-5% more evaluations on the wide study, plain f; see contour()).
CONTOUR_QUIET_ULPS = 16.0

#: cos(pi j / 16), j = 0 .. 8, as double-double (hi + lo, hi correctly rounded; mpmath at
#: 300 bits; tests/test_complex.py checks them): the N = 32 points of the circle are
#: exp(2 pi i k / 32) = cos(pi k / 16) + i cos(pi (8 - k) / 16), exactly symmetric.
_COS_PI_16 = (
    ("0x1p+0", "0x0p+0"),
    ("0x1.f6297cff75cb0p-1", "0x1.562172a361fd3p-56"),
    ("0x1.d906bcf328d46p-1", "0x1.457e610231ac2p-56"),
    ("0x1.a9b66290ea1a3p-1", "0x1.9f630e8b6dac8p-60"),
    ("0x1.6a09e667f3bcdp-1", "-0x1.bdd3413b26456p-55"),
    ("0x1.1c73b39ae68c8p-1", "0x1.b25dd267f6600p-55"),
    ("0x1.87de2a6aea963p-2", "-0x1.72cedd3d5a610p-57"),
    ("0x1.8f8b83c69a60bp-3", "-0x1.26d19b9ff8d82p-57"),
    ("0x0p+0", "0x0p+0"),
)

#: Where the first circle's estimate is at rounding level (its truncation below its
#: rounding), the radius doubles up to this many times while each circle confirms the one
#: before (agrees within both bars) and improves on it: the rounding n! mean|f| / r^n falls
#: by up to 2^n per doubling. A circle is trusted only when a larger one confirms it.
CONTOUR_GROW = 4

#: ... and only while each doubling at least halves the error: the last few percent of a bar
#: cost a circle each (wide study, plain: 1.7-4% fewer evaluations with the shrinking circles'
#: budget kept at CONTOUR_MAX_LEVELS, medians within 1%).
CONTOUR_GROW_GAIN = 0.5

#: At most this many passes of the move onto the circle (see on_the_circle).
ON_CIRCLE_PASSES = 6

#: Safety on the squared 16-point error as the 32-point rule's truncation (see contour()).
CONTOUR_SQUARE_SAFETY = 100.0

#: Safety on the hc^2 rate of the real check's own truncation (its next term is hc^4).
CHECK_RATE_SAFETY = 4.0

#: Orders of the complex-step formula: even, up to the tableau's columns (2 c for c columns).
MAX_ORDER = 2 * _finite_diff.COMPLEX_MAX_COLS


def check_order(order: Any, n: int, verb: str = "derivative") -> int:
    """The order of the complex-step formula (n = 1), or 2 where the method has none.

    n = 1 (and the complex direction of every first-derivative verb): an even order
    2 ... MAX_ORDER. The Cauchy contour (n >= 2, hessdiag) has no formula order: None only.
    """
    if order is None:
        return 2
    if n >= 2 or verb == "hessdiag":
        where = "hessdiag" if verb == "hessdiag" else "n >= 2"
        raise fail(
            "order",
            f"None for method='complex' with {where} (the Cauchy contour's accuracy is set by "
            "its 32 points, not by a formula order)",
            order,
        )
    rule = f"an even integer 2 ... {MAX_ORDER} for method='complex'"
    if isinstance(order, bool) or not isinstance(order, int | np.integer):
        raise fail("order", rule, order, TypeError)
    if not (2 <= order <= MAX_ORDER and order % 2 == 0):
        raise fail("order", rule, order)
    return int(order)


def default_steps(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(h0, hc): the first complex step and the real check's step, per element of x."""
    scale = _steps.scale_of(x)
    h0, hc = (scale * 2.0**e for e in _steps.COMPLEX_STEP_EXPONENTS)
    return h0, (x + hc) - x


# --------------------------------------------------------------------------------------------
# The complex step (first derivatives)
# --------------------------------------------------------------------------------------------


def step_estimates(
    imag: Callable[[np.ndarray], np.ndarray],
    real: Callable[[np.ndarray, np.ndarray], np.ndarray],
    x: np.ndarray,
    h0: np.ndarray,
    hc: np.ndarray,
    order: int,
    noise: float,
    m: int,
    rtol: float | None = None,
    atol: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The order-`order` complex step for N groups of m outputs: (df, error, status), (N, m).

    imag(hs): f at x + i hs for hs of shape (levels, N), complex values (levels, N, m), NaN
    where f dropped the imaginary part. real(t, idx): f where the groups idx are moved by the
    real t, complex values (len(idx), m). A group is a point of derivative(), a coordinate of
    a Jacobian column, or the line of a jvp.

    Where f is not finite at x +- hc (a domain edge within hc), the real check is retried
    with smaller steps; an estimate that nothing real could vouch for is not trusted. A
    requested `rtol`/`atol` the estimate does not meet gives NOT_CONVERGED (there is nothing
    to refine: the first step is already at rounding level).
    """
    df, error, status = _step_estimates(imag, real, x, h0, hc, order, noise, m)
    if rtol is not None or atol is not None:
        short = (status >= 0) & (error > (atol or 0.0) + (rtol or 0.0) * np.abs(df))
        status = np.where(short, Status.NOT_CONVERGED, status)
    return df, error, status


def _step_estimates(imag, real, x, h0, hc, order, noise, m):
    N = h0.size
    cols = order // 2
    q = _steps.DEFAULT_STEP_RATIO
    hs = h0 * _level_factors(cols)
    y = np.ascontiguousarray(np.asarray(imag(hs), dtype=np.complex128).reshape(cols + 1, N * m))
    idx = np.arange(N)
    hc = np.array(hc, dtype=np.float64)
    both = np.concatenate([idx, idx])
    fr = np.asarray(real(np.concatenate([hc, -hc]), both), dtype=np.complex128)
    fr = np.ascontiguousarray(fr.reshape(2, N * m))
    per = (lambda v: v) if m == 1 else (lambda v: np.repeat(v, m))
    h0r = np.ascontiguousarray(per(h0), dtype=np.float64)
    no_slack = np.zeros(N * m)
    scale = np.ascontiguousarray(per(np.maximum(np.abs(x), 1.0)), dtype=np.float64)
    df, error, status = _finite_diff.complex_step(
        cols, y, h0r, q, fr, per(hc), no_slack, scale, noise
    )
    if not status.any():  # every check passed at once: the common case
        return df.reshape(N, m), error.reshape(N, m), status.reshape(N, m)
    # the check failed or could not be made, for an estimate that is finite from an f that is
    # real on the real axis: a domain edge within hc, or D's truncation (sin at 1e6): once more,
    # closer (not closer still: the check's rounding must stay far below a non-analytic f's)
    edge = ~np.isfinite(fr[0] - fr[1]).reshape(N, m)
    real_ok = (fr.imag == 0).all(axis=0).reshape(N, m)
    # levels with noise beyond the model (INCONSISTENT) stay so: the check is not the issue
    noisy = (status == Status.INCONSISTENT).reshape(N, m)
    unchecked = (status != Status.CONVERGED).reshape(N, m) & real_ok & ~noisy
    retry = unchecked.any(axis=1) & np.isfinite(df).reshape(N, m).all(axis=1)
    status = status.reshape(N, m)
    if retry.any():
        g = idx[retry]
        # D's truncation falls like hc^2 (a non-analytic f's discrepancy does not): the first
        # check's discrepancy, scaled by that rate, is allowed (f' = 0 while f(3) != 0: x^3 at 0)
        d0 = ((fr[0].real - fr[1].real) / (2 * per(hc))).reshape(N, m)[g]
        disc0 = np.abs(df.reshape(N, m)[g] - d0)
        old = hc[g].copy()
        hc[g] = (x[g] + hc[g] * _steps.COMPLEX_CHECK_SHRINK) - x[g]
        rate = ((hc[g] / old) ** 2)[:, None]
        slack = np.where(np.isfinite(disc0), CHECK_RATE_SAFETY * disc0 * rate, 0.0)
        fr2 = np.asarray(real(np.concatenate([hc[g], -hc[g]]), np.concatenate([g, g])))
        fr2 = np.ascontiguousarray(fr2.reshape(2, g.size * m), dtype=np.complex128)
        rows = np.ascontiguousarray(y.reshape(cols + 1, N, m)[:, g].reshape(cols + 1, -1))
        d2, e2, s2 = _finite_diff.complex_step(
            cols, rows, np.ascontiguousarray(per(h0[g])), q, fr2, per(hc[g]),
            np.ascontiguousarray(slack.reshape(-1)),
            np.ascontiguousarray(scale.reshape(N, m)[g].reshape(-1)), noise,
        )  # fmt: skip
        s2 = s2.reshape(g.size, m)
        s2 = np.where(edge[g] & (s2 == Status.CONVERGED), Status.DOMAIN_ADAPTED, s2)
        df, error = df.reshape(N, m), error.reshape(N, m)
        df[g], error[g], status[g] = d2.reshape(-1, m), e2.reshape(-1, m), s2
        status = np.where(noisy, Status.INCONSISTENT, status)
        error = np.where(noisy, np.inf, error)
    return df.reshape(N, m), error.reshape(N, m), status


@lru_cache(maxsize=16)
def _level_factors(cols: int) -> np.ndarray:
    """(cols + 1, 1): q**-k, the steps of the levels relative to the first (read-only)."""
    f = 1.0 / _steps.DEFAULT_STEP_RATIO ** np.arange(cols + 1)[:, None]
    f.flags.writeable = False
    return f


def derivative_step(
    a: DerivativeArgs, evaluate: Callable[[np.ndarray], np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """derivative(method="complex") for n = 1: (df, error, status, step, nfev), flat.

    evaluate(points): f elementwise at real or complex points, complex values (NaN where f
    returned a real number for a complex point).
    """
    x = a.x.ravel()
    h_default, hc = default_steps(x)
    h0 = h_default if a.step is None else a.step.ravel().astype(np.float64)
    noise = EPS if a.noise is None else max(a.noise, EPS)
    nfev = [0]

    def imag(hs):
        z = x[None, :] + 1j * hs
        nfev[0] += z.size
        return evaluate(z.ravel())

    def real(t, idx):
        nfev[0] += idx.size
        return evaluate(x[idx] + t)

    df, error, status = step_estimates(imag, real, x, h0, hc, a.order, noise, 1, a.rtol, a.atol)
    return df[:, 0], error[:, 0], status[:, 0], h0, nfev[0]


# --------------------------------------------------------------------------------------------
# The Cauchy contour (higher derivatives, Hessian diagonals)
# --------------------------------------------------------------------------------------------


def contour(
    a: DerivativeArgs,
    n: int,
    x: np.ndarray,
    evaluate: Callable[[np.ndarray, np.ndarray], np.ndarray],
    fx: np.ndarray,
    central: Callable[[], tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, ...]:
    """The n-th derivative along N elements by the Cauchy integral on shrinking circles.

    evaluate(idx, z): f where element idx[e] is moved to the complex point z[e, k], complex
    values of z's shape (NaN where f dropped the imaginary part); fx: f(x) per element,
    evaluated at complex input (NaN where f dropped it); central(): the central ladder's
    (df, error, success) per element, the cross-check. Returns (df, error, status, radius).

    An estimate is trusted once the estimates on two consecutive circles agree within their
    error bounds: f is then analytic on both discs (a singularity, a branch cut or a
    non-analytic f gives estimates that depend on the radius). The circles shrink from the
    first; where the first is at rounding level they grow first (CONTOUR_GROW), each
    confirming the one before, so that a circle is trusted only when a larger one agrees. A
    fixed `step` is the radius of the one circle used: its estimate is trusted if resolved,
    analytic and cross-checked.
    """
    N = x.size
    npts = _steps.CONTOUR_POINTS
    ang, ang_lo = circle_angles(npts)
    fixed = a.step is not None
    if a.step is not None:
        r = a.step.ravel().astype(np.float64).copy()
    else:
        r = _steps.scale_of(x) * 2.0**_steps.CONTOUR_RADIUS_EXPONENT
    noise = 0.0 if a.noise is None else float(a.noise)
    user_tol = a.rtol is not None or a.atol is not None
    rtol = (a.rtol or 0.0) if user_tol else EPS**_steps.DEFAULT_RTOL_EXPONENT
    atol = a.atol or 0.0
    best, best_err, best_r = np.full(N, np.nan), np.full(N, np.inf), r.copy()
    best_unit, best_round, floor = np.zeros(N), np.zeros(N), np.full(N, np.inf)
    guess, guess_err = np.full(N, np.nan), np.full(N, np.inf)
    prev, prev_err = np.full(N, np.nan), np.full(N, np.inf)
    lost = np.zeros(N, bool)
    cauchy0 = np.full(N, np.inf)
    nonanalytic = np.zeros(N, bool)
    nonfinite = np.zeros(N, bool)
    finite_seen = np.zeros(N, bool)
    active = np.arange(N)
    lost |= np.isnan(fx) | (fx.imag != 0)  # f must return complex, real on the real axis
    active = active[~lost]
    # the growth of the first circle (see CONTOUR_GROW): per element, the circle before it
    # (the candidate a larger one confirms), the first circle's (base, to shrink from)
    grow, ngrow = np.zeros(N, bool), np.zeros(N, int)
    shrunk = np.zeros(N, int)  # circles not grown: at most CONTOUR_MAX_LEVELS, as before
    cand, cand_err, cand_r = np.full(N, np.nan), np.full(N, np.inf), r.copy()
    cand_unit, cand_round, cand_ok = np.zeros(N), np.zeros(N), np.zeros(N, bool)
    base, base_err, r0, loud0 = np.full(N, np.nan), np.full(N, np.inf), r.copy(), np.zeros(N, bool)
    for it in range(1 if fixed else _steps.CONTOUR_MAX_LEVELS + CONTOUR_GROW + 1):
        if not active.size:
            break
        z, zerr = circle_points(x[active], r[active], ang, ang_lo)
        y = evaluate(active, z).reshape(active.size, npts)
        # f must keep the imaginary part; where it is not real on the real axis (k = 0, N/2),
        # the circle left f's real domain (a branch cut): no estimate at this radius
        dropped = np.isnan(y).all(axis=1)
        lost[active[dropped]] = True
        bad = ~np.isfinite(y).all(axis=1) | (y[:, [0, -1]].imag != 0).any(axis=1)
        nonfinite[active[bad & ~dropped]] = True
        # the points x + r w^k round, by up to ulp(|x| + r) / 2 in the real part: f was
        # evaluated at z, not on the circle. The values are moved back onto the circle (to
        # second order, see on_the_circle); what that leaves is `residual` (of mean|f|)
        y, residual, top, below = on_the_circle(y, x[active], r[active], zerr, ang)
        yr, yi = np.ascontiguousarray(y.real), np.ascontiguousarray(y.imag)
        full, half, rho, q_rms = _finite_diff.contour(n, yr, yi, r[active], ang)
        mean, mean_half, rho0, _ = _finite_diff.contour(0, yr, yi, r[active], ang)
        unit = rho / (4 * 2 * (npts - 1) * EPS)  # the Cauchy scale n! mean|f| / r^n
        # rho is the worst case 4N ulps per value (every rounding of every value adding up
        # with one sign): it steers the radius; the error bar takes CONTOUR_ROUNDING_RMS eps
        # of n! rms|f| / (sqrt(N) r^n), the rounding of N values added up statistically. A
        # declared relative noise adds at most `noise` per value (every one with one sign:
        # noise may be systematic, and is counted in the worst case).
        bar_inputs = unit * residual
        # q_rms: rms|f| / mean|f| on the circle (weighted as in the sum)
        unit_q = unit * q_rms  # n! rms|f| / r^n
        unit_rms = unit_q / np.sqrt(2 * (npts - 1))  # what N roundings of 1 eps add up to
        # a top at rounding level is the values' own rounding (CONTOUR_QUIET_NOISE_ULPS): where
        # f is computed worse than an ulp, that floor is above what the unit assumes
        quiet_noise = np.where(
            top <= CONTOUR_QUIET_NOISE_ULPS * EPS,
            np.minimum(CONTOUR_FLOOR_SAFETY * top, CONTOUR_QUIET_NOISE_CAP * EPS) * unit,
            0.0,
        )
        bar_rho = np.maximum(unit_rms * (CONTOUR_ROUNDING_RMS * EPS), quiet_noise)
        bar_rho = bar_rho + unit * noise + bar_inputs
        rho = rho + unit * (noise + residual)
        # |full - half| is the 16-point rule's error e16 ~ (r/R)^16; the 32-point rule's own is
        # about e16^2 / |f^(n)| ((r/R)^32 for a pole at distance R; up to ~5x more for a branch
        # point's slower coefficients: CONTOUR_SQUARE_SAFETY); consecutive circles that agree
        # within these bars confirm it (see `agree`)
        e16 = np.abs(full - half)
        afull = np.maximum(np.abs(full), np.finfo(float).tiny)
        sq = CONTOUR_SQUARE_SAFETY * e16**2 / afull
        # e16 is the 16-point rule's truncation only where it stands clear of the values'
        # noise floor: otherwise, and above the rounding the bar assumes (f with noise not
        # declared, or computed to worse than the ulps assumed), it is a sample of that
        # noise, whose square says nothing; the bar then takes e16 itself and the floor
        # (CONTOUR_NOISE_LIKE, CONTOUR_FLOOR_SAFETY)
        sigma = unit * top
        noise_like = (e16 < CONTOUR_NOISE_LIKE * sigma) & (e16 > bar_rho)
        rounding = np.where(noise_like, np.maximum(bar_rho, CONTOUR_FLOOR_SAFETY * sigma), bar_rho)
        # the top coefficients hold f's decay and the values' noise; the decay there is at most
        # CONTOUR_CONTENT_SAFETY times the block below continued at the rate the estimate
        # shows (e16 / |full| per 16 coefficients); what the top holds beyond it is noise
        # that no assumed rounding covers (scipy's loggamma near its zero at 2: 4.7 ulps rms)
        decay2 = (CONTOUR_CONTENT_SAFETY * below) ** 2 * np.minimum(e16 / afull, 1.0)
        excess = np.sqrt(np.maximum(top * top - decay2, 0.0))
        rounding = np.maximum(rounding, (CONTOUR_FLOOR_SAFETY * unit) * excess)
        err = np.where(noise_like, e16, np.minimum(e16, sq)) + rounding
        # consecutive circles must agree within the bars of the model alone: a noise-like
        # circle's wider bar (a circle that nearly reaches a branch point has a flat spectrum
        # too) would let its neighbour's squared truncation pass unconfirmed (x^x at 2.05)
        strict = np.minimum(e16, sq) + bar_rho
        # mean-value property, to the accuracy the circle affords
        # (a declared noise moves f(x) and the mean by up to `noise` |f| each)
        noise0 = noise * (rho0 / (4 * 2 * (npts - 1) * EPS) + np.abs(fx[active].real))
        harmonic = np.abs(mean - fx[active].real) <= 2 * (np.abs(mean - mean_half) + rho0 + noise0)
        nonanalytic[active[~bad & ~dropped & ~harmonic]] = True
        ok = ~bad & ~dropped & harmonic
        finite_seen[active[ok]] = True
        e = active
        # consecutive radii agree, and the estimate is resolved (its error below its size, or
        # at the rounding level): a huge circle's estimates can agree within huge errors
        # an estimate resting on rounding alone (an exact zero) counts only while rounding is
        # negligible (1e-6) next to the Cauchy scale n! mean|f| / r^n of the first circle
        # (rho / 4 eps): a non-analytic f can look analytic on circles small enough to hide it
        first = ~bad & ~dropped & np.isinf(cauchy0[e])  # the first finite circle
        cauchy0[e[first]] = rho[first] / (4 * EPS)
        resolved = (err < np.abs(full)) | ((err <= 4 * rho) & (rho <= 1e-6 * cauchy0[e]))
        if fixed:  # one circle: resolved and analytic (the cross-check below confirms it)
            agree = ok & ((err < np.abs(full)) | (err <= 4 * rho))
        else:
            agree = ok & resolved & (np.abs(full - prev[e]) <= strict + prev_err[e])
        # growing: this circle is larger than the one before, and its agreement confirms that
        # one (the candidate), not itself: a circle is trusted only when a larger one agrees
        g = grow[e]
        # the growth's bookkeeping, where it can matter: the first circle, or some growing
        growing = it == 0 or bool(g.any())
        win = agree & ~g & (err < best_err[e])
        best[e[win]], best_err[e[win]], best_r[e[win]] = full[win], err[win], r[e[win]]
        best_unit[e[win]], best_round[e[win]] = unit_q[win], rounding[win]
        if growing:
            confirm = agree & g & cand_ok[e]
            cwin = confirm & (cand_err[e] < best_err[e])
            w = e[cwin]
            best[w], best_err[w], best_r[w] = cand[w], cand_err[w], cand_r[w]
            best_unit[w], best_round[w] = cand_unit[w], cand_round[w]
        # the noise floor, learned on the best circle and the smaller ones after it where
        # their top coefficients are flat (noise, not the decay of an analytic f), or hold
        # mostly noise beyond f's decay (sin at 10, r = 2, noise 1e-10: the top is 40x below
        # the 8 before it, and 1500x above sin's decay); not on a grown circle (its top holds
        # f's decay, or a singularity inside whose share cancels: sigmoid at 0, r = 4 > pi).
        # The floor is counted in units of rms|f| on its circle (top / q_rms), and the best
        # circle's in its own (best_unit, n! rms|f| / r^n): a relative noise of f moves each
        # value by its size, so the estimate's noise follows rms|f|, which grows faster than
        # mean|f| on a large circle (exp, r = 8: 2.2x). In units of mean|f| the floor learned
        # on a small circle fell short on a grown one (undeclared noise: 4 misses more).
        floor[e[win]] = np.inf
        flat = top >= CONTOUR_FLAT * below
        good = ~bad & ~dropped & ~g & (flat | (excess > CONTOUR_MOSTLY_NOISE * top))
        floor[e[good]] = np.minimum(floor[e[good]], (np.where(flat, top, excess) / q_rms)[good])
        better_guess = ok & (err < guess_err[e])
        guess[e[better_guess]], guess_err[e[better_guess]] = full[better_guess], err[better_guess]
        prev[e] = np.where(ok, full, np.nan)
        prev_err[e] = np.where(ok, strict, np.inf)
        loud = top > CONTOUR_QUIET_ULPS * EPS
        if growing:
            # at rounding level: the truncation below the rounding (a larger circle may lower
            # the rounding, n! mean|f| / r^n, by up to 2^n per doubling)
            level_ok = ok & resolved & (np.minimum(e16, sq) <= rounding)
            # growing on while each circle confirms the one before and improves on it (halves
            # its error at least: CONTOUR_GROW_GAIN)
            go_on = confirm & level_ok & (err < CONTOUR_GROW_GAIN * cand_err[e])
            go_on &= ngrow[e] < CONTOUR_GROW
            cand[e], cand_err[e], cand_r[e] = full, err, r[e]
            cand_unit[e], cand_round[e], cand_ok[e] = unit_q, rounding, ok & resolved
            start = level_ok & (it == 0 and not fixed)
        # done: dropped imaginary part, tolerance met, or rounding alone exceeds the best error
        trusted = np.isfinite(best_err[e])
        # ... and the best circle's top coefficients are at rounding level, or it is not this
        # circle (a smaller one has been seen): above it, f's decay there can hide the values'
        # noise, which shows on the next circle (sin at 10, n = 4, noise 1e-10 not declared:
        # 6.8e-12 off under a bar of 9.9e-14 from r = 4; r = 2 shows the noise's excess)
        done = trusted & (
            (best_err[e] <= atol + rtol * np.abs(best[e])) | (bar_rho * 2.0**n > best_err[e])
        )
        done &= ~(win & loud)  # a loud best circle: one more
        if not growing:  # every circle shrinking
            done |= dropped
            shrunk[e] += 1
            done |= shrunk[e] >= _steps.CONTOUR_MAX_LEVELS
            r[e] = r[e] / 2.0
            active = e[~done]
            continue
        # a growth that stops: done where a larger circle confirmed one; else (or where the
        # confirmed one is the first circle, and loud) the circles shrink from the first
        stop = g & ~go_on
        back = stop & ~(trusted & ~((best_r[e] == r0[e]) & loud0[e]))
        done = np.where(g, stop & ~back, done)
        done = np.where(start, False, done)
        done |= dropped
        shrunk[e[~g]] += 1
        done |= (shrunk[e] >= _steps.CONTOUR_MAX_LEVELS) & ~g & ~start
        loud0[e[start]] = loud[start]
        grow[e[start]] = True
        grow[e[back]] = False
        prev[e[back]], prev_err[e[back]] = base[e[back]], base_err[e[back]]
        base[e[start]], base_err[e[start]] = prev[e[start]], prev_err[e[start]]
        ngrow[e[go_on | start]] += 1
        nxt = np.where(grow[e], r[e] * 2.0, np.where(back, r0[e] / 2.0, r[e] / 2.0))
        r[e] = nxt
        active = e[~done]
    if a.step is not None:
        best_r = a.step.ravel().astype(np.float64)
    # an estimate's rounding is at least the noise floor learned on its circle and the smaller
    # ones (f with noise not declared: on the smaller circles the floor is plain to see), in
    # units of rms|f| on each
    learned = np.where(np.isfinite(floor), CONTOUR_FLOOR_SAFETY * floor * best_unit, 0.0)
    grown = learned > best_round
    best_err = best_err + np.maximum(0.0, learned - best_round)
    # ... and an estimate that noise leaves unresolved is no estimate (erf(30 x) at 0, where
    # f reaches 1e24 on the circle: the floor of its values swamps f'' = 0)
    best_err = np.where(grown & ~(best_err < np.abs(best)), np.inf, best_err)
    trusted = np.isfinite(best_err)
    df = np.where(trusted, best, guess)
    error = np.where(trusted, best_err, np.where(np.isfinite(guess), guess_err, np.inf))
    lost |= ~trusted & nonanalytic
    # A non-analytic f (conj(z) z) can pass the circle's own tests at radii where its defect
    # hides below rounding: the estimate must also agree with real steps (the central ladder,
    # whose error is its own honest bound), as the complex step's n = 1 check does.
    if trusted.any():
        c_df, c_err, c_ok = central()
        slack = 8 * EPS * np.maximum(1.0, np.abs(best))
        disagree = trusted & c_ok & (np.abs(best - c_df) > best_err + c_err + slack)
        lost |= disagree
    status = np.where(
        lost,
        Status.COMPLEX_LOST,
        np.where(
            trusted,
            np.where(
                user_tol & (best_err > atol + rtol * np.abs(best)),
                Status.NOT_CONVERGED,
                np.where(nonfinite, Status.DOMAIN_ADAPTED, Status.CONVERGED),
            ),
            np.where(finite_seen, Status.INCONSISTENT, Status.NO_FINITE),
        ),
    )
    df = np.where(lost, np.nan, df)
    error = np.where(lost, np.inf, error)
    return df, error, status, best_r


@lru_cache(maxsize=2)
def circle_angles(npts: int) -> tuple[np.ndarray, np.ndarray]:
    """(hi, lo): exp(2 pi i k / N), k < npts (N = 2 (npts - 1) = 32), as double-double.

    hi is correctly rounded in both parts and exactly symmetric (cos and sin are the same
    table, _COS_PI_16); hi + lo is exact to about 2^-106. Read-only.
    """
    if npts != 17:
        raise ValueError(f"circle_angles: the table is for 17 points (N = 32), not {npts}")
    c = np.array([[float.fromhex(h), float.fromhex(lo)] for h, lo in _COS_PI_16])
    k = np.arange(npts)
    cos = np.where((k <= 8)[:, None], c[np.minimum(k, 8)], -c[np.minimum(16 - k, 8)])
    sin = c[np.abs(8 - k)]
    hi, lo = cos[:, 0] + 1j * sin[:, 0], cos[:, 1] + 1j * sin[:, 1]
    for v in (hi, lo):
        v.flags.writeable = False
    return hi, lo


def circle_points(
    x: np.ndarray, r: np.ndarray, hi: np.ndarray, lo: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(z, err), (m, npts): z = x + r w^k correctly rounded in both parts, err the rest
    (x + r w^k - z, exact to about 2^-104 (|x| + r)), for w^k = hi + lo (circle_angles).

    Before, z was x + r ang with ang = exp(2 pi i k / N) as NumPy rounds it (off by up to an
    ulp, and not symmetric), and only the rounding of the real sum was known (TwoSum): the
    angles' own error, eps r |f'| per value, stayed in the bar. In C (fd_circle_points):
    TwoSum and Dekker's product; tests/contour_reference.py holds the NumPy model.
    """
    return _finite_diff.circle_points(
        np.ascontiguousarray(x, dtype=np.float64),
        np.ascontiguousarray(r, dtype=np.float64),
        np.ascontiguousarray(hi, dtype=np.complex128),
        np.ascontiguousarray(lo, dtype=np.complex128),
    )


def on_the_circle(
    y: np.ndarray, x: np.ndarray, r: np.ndarray, err: np.ndarray, ang: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """f's values moved from the points z it saw onto the circle x + r ang.

    y, err: (m, npts), f(z) and err = x + r ang - z (circle_points). Returns (values,
    residual, top, below): residual (m,), what the move leaves, and top, below (m,), the rms
    of the Fourier coefficients j = 24 .. 31 and 16 .. 23 of the moved values; all three
    relative to mean|f| (weighted as in the Cauchy sum, whose rounding unit is
    n! mean|f| / r^n).

    z rounds by up to ulp(|x| + r) / 2 in its real part, which changes f by f' times that:
    at x = 1e5 (r = 4) 1e-11 |f'| per value, 1e5 times f's own rounding. The rest err is known
    exactly (circle_points), so f on the circle is f(z) + f' err - f'' err^2 / 2 (f' and f''
    on the circle). Both come from the same values: for f analytic in the disc,
    f(x + r w^k) = sum_j c_j w^(jk) with the discrete Fourier coefficients
    c_j = a_j r^j + a_(j+N) r^(j+N) + ... of the N points (Henrici, Applied and Computational
    Complex Analysis vol. 3, 13.3; Fornberg 1981, ACM TOMS 7(4)), so
    r w^k f'(x + r w^k) ~= sum_j j c_j w^(jk), and likewise with j (j - 1) for f''. The
    residual bounds the aliasing of those sums, the next term of the expansion, the last
    pass's change (the coefficients of values not yet moved carry their rounding too) and
    err's own error (2^-104 (|x| + r) |f'| per value). Values whose move does not settle
    (err ~ r / 100: x = 1e15, r = 4) stay as evaluated, with the worst case of their
    rounding, ulp(|x| + r) / r, as residual.
    """
    return _finite_diff.on_circle(
        np.ascontiguousarray(y, dtype=np.complex128),
        np.ascontiguousarray(x, dtype=np.float64),
        np.ascontiguousarray(r, dtype=np.float64),
        np.ascontiguousarray(err, dtype=np.complex128),
        np.ascontiguousarray(ang, dtype=np.complex128),
        ON_CIRCLE_PASSES,
    )


# --------------------------------------------------------------------------------------------
# Hessians: complex step on one direction, the central ladder on the other
# --------------------------------------------------------------------------------------------


def symmetrise(
    J: np.ndarray, E: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One estimate per pair {i, j} from J[i, j] and J[j, i]: exactly symmetric.

    The trusted one with the smaller error wins; two trusted estimates that disagree beyond
    both error bars (and rounding) are INCONSISTENT: one of them is wrong.
    """
    H, err, st = pick_of_pair(J, E, T, J.T, E.T, T.T)
    # exactly symmetric: the upper triangle's choice, mirrored
    iu = np.triu_indices(J.shape[0], 1)
    for M in (H, err, st):
        M[(iu[1], iu[0])] = M[iu]
    return H, err, st


def pick_of_pair(J, E, T, Jm, Em, Tm) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """symmetrise's rule, elementwise: J, E, T of the entries (i, j) and Jm, Em, Tm of their
    mirrors (j, i), as arrays of any one shape (dense, or a sparse pattern's data)."""
    okm, okt = T >= 0, Tm >= 0
    Et, Emt = np.where(okm, E, np.inf), np.where(okt, Em, np.inf)
    take_t = (Emt < Et) | (~okm & okt)  # take J[j, i] for entry (i, j)
    H = np.where(take_t, Jm, J)
    err = np.where(take_t, Em, E)
    st = np.where(take_t, Tm, T)
    both = okm & okt
    slack = 8 * EPS * np.maximum(1.0, np.maximum(np.abs(J), np.abs(Jm)))
    clash = both & (np.abs(J - Jm) > E + Em + slack)
    st = np.where(clash, Status.INCONSISTENT, st)
    err = np.where(clash, np.inf, err)
    return H, err, st
