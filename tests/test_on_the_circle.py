"""The move onto the circle in C (fd_on_circle) against its NumPy model (contour_reference).

The C sums the discrete Fourier coefficients directly (real, from the conjugate symmetry)
where the model multiplies dense complex matrices, so the two agree to rounding, not bit for
bit. What the contour takes from them, and the tolerance each gets:

* the moved values: the move is f' e per value with e below ulp(|x| + r) / 2, and f' from
  the coefficients to a few ulps of mean|f| / r, so the two differ by an ulp or two of the
  values (plus the same of the last pass's change): 4 eps max|f| per row;
* residual (relative to mean|f|): its terms are bounds, most of them of rounding-level
  quantities (the last pass's change, an ulp or two, sampled differently by the two), so
  1e-3 relative plus 2 eps absolute: the contour's bar adds CONTOUR_ROUNDING_RMS = 6 eps
  of n! rms|f| / (sqrt(N) r^n), about 1 eps of the Cauchy scale n! mean|f| / r^n, of its
  own, so 2 eps more or less is about what is already assumed;
* top and below (rms of coefficients, relative to mean|f|): for an analytic f they are the
  rounding of the coefficients, eps / 2 per term and summed in another order: eps absolute,
  1e-6 relative above that (for noise or slow decay they are the values' own and agree).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastdiff as fd
from contour_reference import on_the_circle_reference
from fastdiff import _complex, _steps

EPS = float(np.finfo(np.float64).eps)
NPTS = _steps.CONTOUR_POINTS
ANG, ANG_LO = _complex.circle_angles(NPTS)  # as contour() builds them

# f real on the real axis (the contour's precondition: its values are conjugate-symmetric)
FUNCTIONS = {
    "exp": np.exp,
    "sin": np.sin,
    "cosh": np.cosh,
    "exp(sin)": lambda z: np.exp(np.sin(z)),
    "rational": lambda z: 1 / (1 + z * z),
    "log": lambda z: np.log(2 + z * z),
    "sqrt": lambda z: np.sqrt(3 + z * z),
    "cubic": lambda z: z**3 - 2 * z,
    "atan": np.arctan,
    "exp(-z^2)": lambda z: np.exp(-(z * z)),
    "one": lambda z: 0 * z + 1,
    "zero": lambda z: 0 * z,
    "nan right": lambda z: np.where(z.real > 0.5, np.nan, np.exp(z)),
    "pole near": lambda z: 1 / (z - 0.9),
}
XS = [0.0, 0.7, -3.1, 12.5, 1e-300, 1e5, -1e5, 1e6, 1e10, -1e10, 1e15, -1e15, 1e300, -1e300]


def _inputs(f, x, level):
    x = np.asarray(x, dtype=np.float64)
    r = _steps.scale_of(x) * 2.0**_steps.CONTOUR_RADIUS_EXPONENT / 2.0**level
    z, err = _complex.circle_points(x, r, ANG, ANG_LO)
    with np.errstate(all="ignore"):
        y = np.asarray(f(z), dtype=np.complex128).reshape(z.shape)
    return y, x, r, err


def _assert_close(y, x, r, z):  # z: err = x + r ang - z
    with np.errstate(all="ignore"):
        m0, res0, top0, below0 = on_the_circle_reference(y, x, r, z, ANG)
    m1, res1, top1, below1 = _complex.on_the_circle(y, x, r, z, ANG)
    assert m1.shape == m0.shape and res1.shape == res0.shape
    big = np.abs(y).max(axis=1, keepdims=True)
    finite = np.isfinite(y).all(axis=1)
    # rows with a value that is not finite are not moved, by either
    np.testing.assert_array_equal(m1[~finite], y[~finite])
    d = np.abs(m1[finite] - m0[finite])
    assert (d <= 4 * EPS * big[finite]).all(), d.max(axis=1) / big[finite, 0]
    # (residual is NaN, for both, where every value is 0: 0 / 0 of mean|f|)
    both_nan = np.isnan(res0) & np.isnan(res1)
    close = np.abs(res1 - res0) <= 1e-3 * np.abs(res0) + 2 * EPS
    assert (close | both_nan).all(), (res0, res1)
    for a, b in ((top0, top1), (below0, below1)):
        assert (np.abs(b - a) <= 1e-6 * np.abs(a) + EPS).all(), (a, b)


@pytest.mark.parametrize("level", [0, 2, 5])
@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_c_move_matches_the_numpy_model(name, level):
    # every x in one call: m > 1 rows, and the global rule (the second-order term is used for
    # all rows where any row needs it) applies across them as in the model
    y, x, r, z = _inputs(FUNCTIONS[name], XS, level)
    _assert_close(y, x, r, z)


@pytest.mark.parametrize("x", XS)
def test_c_move_matches_the_numpy_model_one_row(x):
    for name in ("exp", "sin", "rational", "zero"):
        _assert_close(*_inputs(FUNCTIONS[name], [x], 1))


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(sorted(FUNCTIONS)),
    st.lists(
        st.one_of(
            st.floats(-20, 20, allow_nan=False),
            st.sampled_from([1e5, -1e6, 1e9, 1e15, -1e15, 1e300, 0.0]),
        ),
        min_size=1,
        max_size=5,
    ),
    st.integers(0, 8),
)
def test_c_move_matches_the_numpy_model_hypothesis(name, xs, level):
    _assert_close(*_inputs(FUNCTIONS[name], xs, level))


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6])
@pytest.mark.parametrize("x", [0.7, -2.0, 1e5, 1e6, 1e15, 1e300, 0.0])
def test_contour_results_match_the_numpy_model(monkeypatch, n, x):
    # the user's call through both: same status, estimates within their own bars' rounding
    fs = [np.exp, np.sin, np.cosh, lambda z: 1 / (3 + z * z)]
    with np.errstate(all="ignore"):
        new = [fd.derivative(f, x, n=n, method="complex") for f in fs]
        monkeypatch.setattr(_complex, "on_the_circle", on_the_circle_reference)
        old = [fd.derivative(f, x, n=n, method="complex") for f in fs]
    for a, b in zip(old, new, strict=True):
        assert a.status == b.status
        assert a.step == b.step
        if np.isfinite(a.error):
            # the two estimates differ by rounding of the moved values, far inside the bar
            # (whose rounding part alone is about 1 eps of the Cauchy scale n! mean|f| / r^n)
            assert abs(a.df - b.df) <= 0.5 * (a.error + b.error), (a, b)
            assert b.error <= 2 * a.error and a.error <= 2 * b.error, (a, b)
        else:
            assert not np.isfinite(b.error)


def test_c_move_rejects_bad_shapes():
    y, x, r, err = _inputs(np.exp, [0.7, 1.0], 0)
    from fastdiff._kernels import _finite_diff

    with pytest.raises(ValueError, match="on_circle"):
        _finite_diff.on_circle(y, x, r[:1], err, ANG, 6)
    with pytest.raises(ValueError, match="on_circle"):
        _finite_diff.on_circle(np.ascontiguousarray(y[:, :5]), x, r, err, ANG, 6)
    with pytest.raises(ValueError, match="contour"):
        _finite_diff.contour(2, y.real.copy(), y.imag.copy(), r, np.ascontiguousarray(ANG[:5]))
