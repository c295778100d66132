"""fastdiff._noise: ECnoise (Moré and Wild 2011) on a probe's values."""

import numpy as np

from fastdiff import _noise

EPS = np.finfo(np.float64).eps


def test_ecnoise_finds_a_known_noise_level():
    # Gaussian noise of standard deviation s on a smooth line: the estimate, from 7 points,
    # within a factor 3 of s for nearly every draw (it is a standard deviation of a few
    # samples); a smooth part of the size of f leaves the k >= 2 differences untouched
    rng = np.random.default_rng(5)
    s = 1e-10
    t = np.arange(_noise.ECNOISE_POINTS)[:, None] * 1e-9
    vals = 3.0 + 2.0 * t + s * rng.standard_normal((_noise.ECNOISE_POINTS, 400))
    est = _noise.sigma(vals)
    found = est > 0
    assert found.mean() > 0.9
    assert np.mean((est[found] > s / 3) & (est[found] < 3 * s)) > 0.9


def test_ecnoise_sees_no_noise_in_a_smooth_exact_f():
    # a quadratic computed exactly: its second differences are one sign, its higher ones 0
    k = np.arange(_noise.ECNOISE_POINTS, dtype=np.float64)[:, None]
    vals = np.hstack([k**2, 5.0 + 0 * k, 0 * k])
    np.testing.assert_array_equal(_noise.sigma(vals), 0.0)


def test_ecnoise_of_rounding_in_a_cancelling_f_is_that_of_its_terms():
    # f(p) = (B + p) - B, B ~ 1e3: f ~ 0.3 rounds at half an ulp of B (standard deviation
    # ulp(B) / sqrt(12) for a uniform rounding error), 1e3 times eps |f|
    pts = _noise.probe_points(np.array([0.3]), np.array([1.0]))[0]
    B = 1000.0 * (1.0 + np.arange(20) / 7.0)
    vals = (B[None, :] + pts[:, None]) - B[None, :]
    est = _noise.sigma(vals)
    sd = np.spacing(B) / np.sqrt(12.0)
    assert (est > 100 * EPS * np.abs(vals).max(axis=0)).mean() > 0.8  # far above eps |f|
    assert (est < 3 * sd).all()  # and of rounding's size, never far above it


def test_ecnoise_not_finite_is_nan():
    vals = np.ones((_noise.ECNOISE_POINTS, 2))
    vals[3, 1] = np.nan
    out = _noise.sigma(vals)
    assert out[0] == 0 and np.isnan(out[1])
