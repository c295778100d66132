"""Default step-size rules, each with its rationale.

The kernels evaluate f at ``x + c*s`` with ``s = (x + h) - x``, the spacing ``x + h`` really
has, and divide by ``s``: the formula then uses the spacing f actually saw.
"""

from __future__ import annotations

import math

import numpy as np

#: Ratio between successive steps of the ladder. 2 keeps steps exact (powers of two) and gives
#: Richardson extrapolation well-separated error terms (q^e - 1 >= 3 for central stencils).
DEFAULT_STEP_RATIO = 1.0 + 2.0**0.5

#: The ratio of central ladders for n >= HIGH_N: sqrt(3), irrational with bounded partial
#: quotients [1; 1, 2, 1, 2, ...] (badly approximable, so the aliasing argument above holds).
#: A fourth to sixth derivative's rounding grows like eps / h^n, so only the first few
#: levels, at steps within about a factor 10 of h_0, are usable: with q = 1 + sqrt(2) they are
#: three or four, too few rows for the extrapolation to confirm a high column on rate twice
#: before rounding takes over. exp at 1, n = 5: true error 2.3e-6 became 1e-10;
#: d^4/dx^4 exp(x) sin(x) at 0.7: 9.8e-9 (bar 3.9e-7) became 1.6e-9 (bar 4e-8). On the honesty
#: study (central, 612 cases per n) trusted cases rose 522 / 479 / 393 -> 580 / 555 / 484 for
#: n = 4 / 5 / 6, the p90 of error/true fell 161 / 447 / 700 -> 98 / 222 / 226, no misses.
#: Not for n <= 3: at n = 3 a plain case missed (cos(x^2) at 2.2), at n = 2 the medians
#: did not improve. The golden ratio trusted a few more at n >= 5 but missed twice on noisy f
#: at n = 6, and 2 missed three times (sin at 1e5 and 1e6, noisy). One-sided ladders keep
#: 1 + sqrt(2): with sqrt(3) they reach 2e-5 instead of 1.7e-3 on exp (n = 5), but their
#: trusted bars then missed on 2-5% of the study's cases (noisy f mostly: more levels in the
#: noise-dominated range give chance agreements more tries).
HIGH_N_STEP_RATIO = 3.0**0.5
HIGH_N = 4


def step_ratio(n: int, method: str) -> float:
    """The ladder's step ratio q for the n-th derivative with `method`'s stencil."""
    return HIGH_N_STEP_RATIO if n >= HIGH_N and method == "central" else DEFAULT_STEP_RATIO


#: Most levels an element may take. From h0 = 2^-3 max(|x|, 1) (n = 1), 30 levels reach 1e-12 |x|,
#: past the rounding optimum of every order supported, and leave room for domain edges and
#: badly scaled functions (sin at 1e6 needs about 14 levels before its steps resolve it).
DEFAULT_MAX_LEVELS = 30

#: Richardson columns. Seven extrapolations take a central order-2 base to order 16: beyond
#: that, rounding amplification outweighs any gain.
DEFAULT_MAX_COLUMNS = 8

#: The accuracy the real-step ladder reaches for the n-th derivative, relative to the scale
#: ``sum|w_j f_j| / h_0^n`` of the first level (about |f| / max(|x|, 1)^n): rounding grows
#: like eps / h^n, so it falls with n. ``success`` requires ``error <= |df|`` by default (an
#: error bar above the value says nothing about it) unless the error is below this times
#: that scale: the derivative is then zero as far as the method can see.
ZERO_RTOL = {1: 1e-8, 2: 1e-6, 3: 1e-4, 4: 1e-3, 5: 1e-2, 6: 1e-1}


def zero_rtol(n: int, method: str | None = None) -> float:
    """ZERO_RTOL for n, and 1 beyond the table (n > 6 reaches a digit at most).

    With `method` (a ladder starting at initial_step_exponent(n, method), derivative()'s):
    rescaled so that
    the threshold stays the same multiple of |f| / max(|x|, 1)^n. ZERO_RTOL was set for the
    first steps 2^-3 (n = 1), 2^-2 (n = 2), 2^-1 (n >= 3), and the scale ~ |f| / h_0^n grows
    by 2^(d n) when h_0 is 2^d smaller. (Unscaled, d^3/dx^3 of 1/(x^2 + 0.01) at 0 forward
    from 2^-3 was "zero to within reach" with df = 0.025, error = 6.1.)
    """
    rtol = ZERO_RTOL.get(n, 1.0)
    if method is None:
        return rtol
    shift = initial_step_exponent(n, method) - initial_step_exponent(n)
    return rtol * 2.0 ** (n * shift)


#: A central element whose stencil meets non-finite values on one side of x only, for this
#: many levels in a row (its step shrank by q^10 ~ 7e3, to ~2e-5 max(|x|, 1), and f is still
#: undefined there), restarts one-sided: f's domain ends at x or within a sliver of it. A
#: domain edge farther away is left to the shrinking central stencil, which is more accurate.
AUTO_SIDE_LEVELS = 10

#: One-sided because of a bound at distance d > 0: the first step is at most about
#: d q^BOUND_REACH_LEVELS, so that the ladder's steps fall below d (where a singularity at the
#: bound stops dominating) with 10 levels to spare.
BOUND_REACH_LEVELS = 20

#: Early stop for the default (no `rtol`/`atol` given): eps**0.75 ~ 2e-12 in float64, two
#: orders below the 1e-10 aimed at for n = 1, where further levels mostly add evaluations.
DEFAULT_RTOL_EXPONENT = 0.75

#: Complex step: the first step h0 = 2^-40 max(|x|, 1) (tiny: no cancellation, and its
#: truncation f''' h^2 / 6 is far below rounding), and hc = 2^-20 max(|x|, 1) for the real
#: central difference that checks f is analytic and kept the imaginary part.
COMPLEX_STEP_EXPONENTS = (-40, -20)

#: One smaller real check, hc / 2^12, where f is not finite at x +- hc (a domain edge within
#: hc) or the check fails (f varies on a scale finer than x: sin at 1e6). Not smaller: the
#: check's own rounding, 100 (noise + 4 eps) |f| / hc, must stay far below the O(1) relative
#: discrepancy of a non-analytic f (at hc / 2^12 it is about 6e-4 |f| / max(|x|, 1)).
COMPLEX_CHECK_SHRINK = 2.0**-12

#: Default points per call of a vectorized f (8 MiB of float64 input per call).
DEFAULT_BATCH_POINTS = 1 << 20

#: Elements whose ladders run together in a vectorized derivative(): their states (~0.5 KB
#: each, 4 MiB in all) are reused block after block, so they stay in cache and their pages
#: fault once; f is then called once per level and block. (1e5 elements at once spent more
#: time faulting in 48 MB of fresh state than on the arithmetic.)
DEFAULT_BLOCK_ELEMENTS = 1 << 13


#: log2 of the first step relative to max(|x|, 1), per n and stencil (n beyond the table:
#: -1). Rounding grows like eps / h^n, so higher derivatives start wider; extrapolation removes
#: the truncation that wider steps bring. Set on the honesty study (tests/honesty.py, 651 cases
#: per method and n, issue 10): where the first levels are spent where truncation dominates
#: (chosen level 4-7 of q = 1 + sqrt(2) on most cases), a first step one or two halvings
#: smaller reaches the same verified estimate a level earlier. Measured against 2^-2 for
#: n = 2 and 2^-1 for n = 3 (evaluations on the study, trusted cases, median error/true, no
#: misses before or after):
#:
#: - n = 2, 2^-3: central 13411 -> 12661 evaluations (622 -> 619 trusted, median 12.4 ->
#:   10.8), forward 15487 -> 14677 (628 -> 632, 14.1 -> 12.4), backward 15641 -> 14809
#:   (626 -> 631, 12.9 -> 12.2). 2^-4 dropped central to 594 trusted.
#: - n = 3, central 2^-2: 25583 -> 23955 (600 -> 605, 16.2 -> 15.3); 2^-3 missed once.
#: - n = 3, one-sided 2^-3: forward 21933 -> 19287 (603 -> 619, 13.4 -> 12.7), backward
#:   21987 -> 19833 (598 -> 610, 13.3 -> 11.5); 2^-2 missed once (backward), 2^-4 raised
#:   the p90 of error/true from 90 to 110.
#:
#: Left as they were: n = 1 (2^-4 saved 3% but central's p90 of error/true went 61 -> 185
#: and backward missed once; 2^-2 cost 3% more and missed twice) and n = 4 (2^-2 saved 7%
#: central but forward missed once; 2^0 cost 5% more).
INITIAL_STEP_EXPONENTS = {
    "central": {1: -3, 2: -3, 3: -2},
    "forward": {1: -3, 2: -3, 3: -3},
    "backward": {1: -3, 2: -3, 3: -3},
}


def initial_step_exponent(n: int, method: str | None = None) -> int:
    """log2 of the first step relative to the scale.

    With `method` (derivative()'s ladders): INITIAL_STEP_EXPONENTS, -1 beyond it. Without
    (the multivariate verbs' coordinate ladders, not yet measured at the tuned steps): 2^-3
    for n = 1, 2^-2 for n = 2, 2^-1 above.
    """
    if method is None:
        return -3 if n == 1 else (-2 if n == 2 else -1)
    return INITIAL_STEP_EXPONENTS.get(method, INITIAL_STEP_EXPONENTS["central"]).get(n, -1)


def levels_at(q: float):
    """Level counts (DEFAULT_MAX_LEVELS, AUTO_SIDE_LEVELS), set for q = DEFAULT_STEP_RATIO,
    converted to ratio q: the same span of steps, q^k' >= DEFAULT_STEP_RATIO^k. (sqrt at 0.01,
    n = 6 central: 10 levels of sqrt(3) shrink the step by 243, not 7e3, and the ladder
    turned one-sided just before its central stencil fitted: 1.5e-2 relative, not 1.4e-5.)"""
    scale = math.log(DEFAULT_STEP_RATIO) / math.log(q)

    def convert(k: int) -> int:
        return k if q == DEFAULT_STEP_RATIO else math.ceil(k * scale - 1e-9)

    return convert


def scale_of(x: np.ndarray) -> np.ndarray:
    """The power of two at or above max(|x|, 1): the unit in which steps are measured."""
    mant, expo = np.frexp(np.maximum(np.abs(x), 1.0))
    return np.ldexp(1.0, expo - (mant == 0.5))


def pow2_floor(v: np.ndarray) -> np.ndarray:
    """The largest power of two <= v (v > 0)."""
    _, expo = np.frexp(v)
    return np.ldexp(1.0, expo - 1)


#: Complex method for n >= 2: points on the circle per radius (k = 0 .. 16 of N = 32; the
#: other half follow by conjugate symmetry). The N/2 = 16-point estimate bounds the error of
#: the 32-point one, whose own error is the square of that relative to f^(n) ((r/R)^32).
CONTOUR_POINTS = 17

#: First radius 2^-1 max(|x|, 1) (rounding grows like n! eps / r^n, so start wide), halved per
#: level while the estimates disagree (a singularity or branch cut inside the circle).
CONTOUR_RADIUS_EXPONENT = -1
CONTOUR_MAX_LEVELS = 40  # from 2^-1 |x| down to 1e-12 |x|: enough for sin at 1e6
