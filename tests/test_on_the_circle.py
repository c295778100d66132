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


# ------------------------------------------------------------------------------------------
# The circle's points: correctly rounded, and the rest exact (mpmath)
# ------------------------------------------------------------------------------------------


def test_circle_angles_are_correctly_rounded_and_symmetric():
    import mpmath

    hi, lo = _complex.circle_angles(NPTS)
    with mpmath.workprec(300):
        for k in range(NPTS):
            w = mpmath.expjpi(mpmath.mpf(k) / 16)
            for part, h, low in (
                (w.real, hi[k].real, lo[k].real),
                (w.imag, hi[k].imag, lo[k].imag),
            ):
                assert h == float(part)  # hi correctly rounded (mpmath rounds to nearest)
                assert abs(mpmath.mpf(h) + mpmath.mpf(low) - part) <= 2.0**-106
    # exactly symmetric: sin(pi k / 16) = cos(pi (8 - k) / 16), cos(pi - t) = -cos t
    k = np.arange(NPTS)
    assert (hi.imag == hi.real[np.abs(8 - k)]).all()
    assert (hi.real[k] == -hi.real[16 - k]).all() and (hi.imag[k] == hi.imag[16 - k]).all()
    with pytest.raises(ValueError, match="17 points"):
        _complex.circle_angles(9)


@pytest.mark.parametrize(
    ("x", "r"),
    [
        (0.7, 0.5),
        (1.0, 2.0**-3),
        (-3.1, 2.0),
        (1e5, 4.0),
        (1e10, 0.5),
        (-1e15, 8.0),
        (0.0, 1.0),
        (2.5, 0.3),  # a fixed step: r not a power of two (Dekker's product)
        (1e300, 2.0**996),
        (12.5, 1e-7),
    ],
)
def test_circle_points_are_correctly_rounded(x, r):
    # before, z was x + r ang with ang = exp(2 pi i k / N) as NumPy rounds it: neither part
    # correctly rounded (13 of the 34 parts of ang, 10 of z at x = 0.7, r = 0.5, off by an
    # ulp), and only the real sum's rounding known
    import mpmath

    hi, lo = _complex.circle_angles(NPTS)
    z, err = _complex.circle_points(np.array([x]), np.array([r]), hi, lo)
    with mpmath.workprec(400):
        for k in range(NPTS):
            w = mpmath.mpf(x) + mpmath.mpf(r) * mpmath.expjpi(mpmath.mpf(k) / 16)
            for part, zp, ep in (
                (w.real, z[0, k].real, err[0, k].real),
                (w.imag, z[0, k].imag, err[0, k].imag),
            ):
                assert zp == float(part), (k, zp, float(part))
                assert abs(mpmath.mpf(zp) + mpmath.mpf(ep) - part) <= 2.0**-103 * (abs(x) + r)


def test_numpy_points_were_not_correctly_rounded():
    # the points as contour() built them before (the reason for circle_points)
    import mpmath

    ang = np.exp(2j * np.pi * np.arange(NPTS) / (2 * (NPTS - 1)))
    ang[0], ang[-1] = 1.0, -1.0
    z = 0.7 + 0.5 * ang
    with mpmath.workprec(200):
        exact = [0.7 + 0.5 * mpmath.expjpi(mpmath.mpf(k) / 16) for k in range(NPTS)]
    off = sum(
        (zk.real != float(w.real)) + (zk.imag != float(w.imag))
        for zk, w in zip(z, exact, strict=True)
    )
    new, _ = _complex.circle_points(np.array([0.7]), np.array([0.5]), *_complex.circle_angles(NPTS))
    assert off > 0 and all(
        (a.real == float(w.real)) and (a.imag == float(w.imag))
        for a, w in zip(new[0], exact, strict=True)
    )


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(-1e6, 1e6, allow_nan=False),
            st.sampled_from([0.0, 1e15, -1e15, 1e300, -1e300, 5e-324, 1e-300]),
        ),
        min_size=1,
        max_size=6,
    ),
    st.one_of(st.integers(-60, 990).map(lambda e: 2.0**e), st.floats(1e-8, 1e8)),
)
def test_c_circle_points_match_the_numpy_model(xs, r):
    # fd_circle_points against the NumPy model, bit for bit (the same operations; a radius
    # that is a power of two takes the product's exact shortcut in C)
    from contour_reference import circle_points_reference

    x = np.array(xs)
    rr = np.full(x.size, r)
    with np.errstate(all="ignore"):
        z0, e0 = circle_points_reference(x, rr, ANG, ANG_LO)
    z1, e1 = _complex.circle_points(x, rr, ANG, ANG_LO)
    np.testing.assert_array_equal(z1, z0)
    np.testing.assert_array_equal(e1, e0)
