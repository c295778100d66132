"""The noise of f's values, estimated from f itself.

The ladder's rounding model is eps |f| (or a declared noise times |f|). An f that cancels
internally (a sum of terms much larger than the sum) rounds at eps times its terms, and
that model undercounts it. Its noise shows in high-order differences of f at a tiny spacing,
where f's smooth part contributes nothing: ECnoise (J. J. Moré and S. M. Wild, "Estimating
computational noise", SIAM J. Sci. Comput. 33(3), 2011): the k-th differences of values
with noise of standard deviation sigma have mean square sigma^2 (2k)! / (k!)^2.
"""

from __future__ import annotations

import math

import numpy as np

#: points of one noise probe (its k-th differences for k < ECNOISE_POINTS)
ECNOISE_POINTS = 7
#: estimates of three consecutive orders within this factor of each other agree (Moré and
#: Wild's test)
ECNOISE_AGREE = 4.0
#: the probe's spacing, in units of scale_of(x) (fastdiff._steps): tiny enough that the
#: smooth part of the k >= 2 differences vanishes, far above x's own ulp; irrational, so that
#: points of a short-mantissa x round like a general point (sqrt(5) - 1 times the first
#: golden-ratio direction below is 2^-30 exactly: a dyadic probe that saw no rounding)
ECNOISE_SPACING = 2.0**-30 * math.sqrt(2.0)


def probe_points(x: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """The probe's points (N, ECNOISE_POINTS): x + k delta p, k = 1 .. ECNOISE_POINTS, along
    one direction p with components between 1/2 and 1 (golden-ratio fractions: no coordinate
    left out, none dyadic)."""
    N = x.size
    p = 0.5 + 0.5 * np.modf(np.arange(1, N + 1) * (math.sqrt(5.0) - 1.0) / 2.0)[0]
    k = np.arange(1, ECNOISE_POINTS + 1, dtype=np.float64)
    return x[:, None] + (ECNOISE_SPACING * scale * p)[:, None] * k[None, :]


def sigma(values: np.ndarray) -> np.ndarray:
    """The noise of f along the probe, per output: values (ECNOISE_POINTS, m) -> (m,).

    The order-k estimates are sqrt(gamma_k mean((Delta^k f)^2)), gamma_k = (k!)^2 / (2k)!;
    order k's is taken where its differences change sign (noise does, a smooth part does
    not) and it agrees with orders k + 1 and k + 2 within ECNOISE_AGREE, the lowest such k
    (Moré and Wild 2011, section 3 and their ECnoise). 0 where no order qualifies (no noise
    detected: f is exact along the probe, or smooth at every order the points give), NaN
    where a value is not finite.
    """
    v = np.asarray(values, dtype=np.float64)
    K = v.shape[0] - 1
    est, signs = [], []
    d = v
    for k in range(1, K + 1):
        d = np.diff(d, axis=0)
        gamma = math.factorial(k) ** 2 / math.factorial(2 * k)
        est.append(np.sqrt(gamma * np.mean(d * d, axis=0)))
        signs.append((d.min(axis=0) < 0) & (d.max(axis=0) > 0))
    out = np.zeros(v.shape[1:])
    found = np.zeros(v.shape[1:], dtype=bool)
    for k in range(K - 2):
        three = np.stack(est[k : k + 3])
        agree = ECNOISE_AGREE * three.min(axis=0) >= three.max(axis=0)
        take = ~found & agree & signs[k]
        out = np.where(take, est[k], out)
        found |= take
    return np.where(np.isfinite(v).all(axis=0), out, np.nan)
