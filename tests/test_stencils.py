"""fastdiff.fd_weights against textbook tables, exact rational solves and the moment conditions.

Tolerances (shared/STYLE.md B8.8) come from ``EPS = finfo(float64).eps``:

* ``table_tol``: on the equispaced and half-grid stencils of Fornberg's tables each weight comes
  out of an m-stage recursion whose terms do not cancel badly, so it is good to about ``m`` ulps
  of the largest weight (the worst seen is 0.55 m ulp). For the 9-point rows that is < 1e-13.
* ``recursion_tol``: on arbitrary stencils the update ``(x_i c - k c') / (x_i - x_j)`` can cancel;
  each of the O(m^2) updates adds at most a few ulps relative to the largest weight, so we allow
  ``4 m^2`` ulps (the worst seen over 6000 random integer stencils is 1.2 m^2 ulp).
* A sum over m terms adds at most ``m`` ulps of the sum of magnitudes (``sum_tol``).
"""

from __future__ import annotations

from fractions import Fraction as F
from math import factorial

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import fastdiff
from reference import central_first_derivative_weights, exact_weights, vandermonde_weights

EPS = np.finfo(np.float64).eps


def table_tol(m: int, w_exact: np.ndarray) -> float:
    return m * EPS * float(np.max(np.abs(w_exact)))


def recursion_tol(m: int, w_exact: np.ndarray) -> float:
    return 4 * m**2 * EPS * float(np.max(np.abs(w_exact)))


def sum_tol(terms: np.ndarray) -> float:
    return terms.size * EPS * float(np.sum(np.abs(terms)))


def as_float(ws: list[F]) -> np.ndarray:
    return np.array([float(w) for w in ws])


def centred(m: int) -> list[int]:
    return list(range(-(m // 2), m // 2 + 1))


def staggered(m: int) -> list[F]:
    """The half-grid stencil of Fornberg's Table 3: +-1/2, +-3/2, ... (m even)."""
    return [F(2 * k - m + 1, 2) for k in range(m)]


# --------------------------------------------------------------------------------------------
# Fornberg (1988), Math. Comp. 51, 699-706, Table 1 (centred) and Table 3 (staggered), as
# literal fractions: (derivative order n, stencil, weights).
# --------------------------------------------------------------------------------------------
TABLE1_ROWS = [
    (1, centred(3), [F(-1, 2), 0, F(1, 2)]),
    (1, centred(5), [F(1, 12), F(-2, 3), 0, F(2, 3), F(-1, 12)]),
    (1, centred(7), [F(-1, 60), F(3, 20), F(-3, 4), 0, F(3, 4), F(-3, 20), F(1, 60)]),
    (
        1,
        centred(9),
        [F(1, 280), F(-4, 105), F(1, 5), F(-4, 5), 0, F(4, 5), F(-1, 5), F(4, 105), F(-1, 280)],
    ),
    (2, centred(3), [1, -2, 1]),
    (2, centred(5), [F(-1, 12), F(4, 3), F(-5, 2), F(4, 3), F(-1, 12)]),
    (2, centred(7), [F(1, 90), F(-3, 20), F(3, 2), F(-49, 18), F(3, 2), F(-3, 20), F(1, 90)]),
    (
        2,
        centred(9),
        [
            F(-1, 560),
            F(8, 315),
            F(-1, 5),
            F(8, 5),
            F(-205, 72),
            F(8, 5),
            F(-1, 5),
            F(8, 315),
            F(-1, 560),
        ],
    ),
    (3, centred(5), [F(-1, 2), 1, 0, -1, F(1, 2)]),
    (3, centred(7), [F(1, 8), -1, F(13, 8), 0, F(-13, 8), 1, F(-1, 8)]),
    (
        3,
        centred(9),
        [
            F(-7, 240),
            F(3, 10),
            F(-169, 120),
            F(61, 30),
            0,
            F(-61, 30),
            F(169, 120),
            F(-3, 10),
            F(7, 240),
        ],
    ),
    (4, centred(5), [1, -4, 6, -4, 1]),
    (4, centred(7), [F(-1, 6), 2, F(-13, 2), F(28, 3), F(-13, 2), 2, F(-1, 6)]),
    (
        4,
        centred(9),
        [
            F(7, 240),
            F(-2, 5),
            F(169, 60),
            F(-122, 15),
            F(91, 8),
            F(-122, 15),
            F(169, 60),
            F(-2, 5),
            F(7, 240),
        ],
    ),
]

TABLE3_ROWS = [
    (0, staggered(2), [F(1, 2), F(1, 2)]),
    (0, staggered(4), [F(-1, 16), F(9, 16), F(9, 16), F(-1, 16)]),
    (0, staggered(6), [F(3, 256), F(-25, 256), F(75, 128), F(75, 128), F(-25, 256), F(3, 256)]),
    (
        0,
        staggered(8),
        [
            F(-5, 2048),
            F(49, 2048),
            F(-245, 2048),
            F(1225, 2048),
            F(1225, 2048),
            F(-245, 2048),
            F(49, 2048),
            F(-5, 2048),
        ],
    ),
    (1, staggered(2), [-1, 1]),
    (1, staggered(4), [F(1, 24), F(-9, 8), F(9, 8), F(-1, 24)]),
    (1, staggered(6), [F(-3, 640), F(25, 384), F(-75, 64), F(75, 64), F(-25, 384), F(3, 640)]),
    (
        1,
        staggered(8),
        [
            F(5, 7168),
            F(-49, 5120),
            F(245, 3072),
            F(-1225, 1024),
            F(1225, 1024),
            F(-245, 3072),
            F(49, 5120),
            F(-5, 7168),
        ],
    ),
]


def _row_id(row: tuple) -> str:
    n, offsets, _ = row
    return f"n{n}-m{len(offsets)}"


@pytest.mark.parametrize("row", TABLE1_ROWS + TABLE3_ROWS, ids=_row_id)
def test_literal_table_rows_are_the_exact_moment_solution(row):
    n, offsets, weights = row
    assert exact_weights(offsets, n) == [F(w) for w in weights]


@pytest.mark.parametrize("row", TABLE1_ROWS + TABLE3_ROWS, ids=_row_id)
def test_fd_weights_match_fornberg_table_rows(row):
    n, offsets, weights = row
    expected = as_float([F(w) for w in weights])
    got = fastdiff.fd_weights([float(x) for x in offsets], n)
    tol = table_tol(len(offsets), expected)
    assert tol <= 1e-13
    np.testing.assert_allclose(got, expected, rtol=0, atol=tol)


@pytest.mark.parametrize(("m", "n"), [(m, n) for m in (3, 5, 7, 9) for n in range(min(m, 5))])
def test_fd_weights_match_exact_centred_table(m, n):
    expected = as_float(exact_weights(centred(m), n))
    np.testing.assert_allclose(
        fastdiff.fd_weights(centred(m), n), expected, rtol=0, atol=table_tol(m, expected)
    )


@pytest.mark.parametrize(("m", "n"), [(m, n) for m in (2, 4, 6, 8) for n in range(min(m, 4))])
def test_fd_weights_match_exact_staggered_table(m, n):
    offsets = staggered(m)
    expected = as_float(exact_weights(offsets, n))
    got = fastdiff.fd_weights([float(x) for x in offsets], n)
    np.testing.assert_allclose(got, expected, rtol=0, atol=table_tol(m, expected))


@pytest.mark.parametrize("p", range(1, 9))
def test_central_first_derivative_closed_form(p):
    closed = central_first_derivative_weights(p)
    offsets = list(range(-p, p + 1))
    assert exact_weights(offsets, 1) == [closed[k] for k in offsets]
    expected = as_float([closed[k] for k in offsets])
    m = 2 * p + 1
    np.testing.assert_allclose(
        fastdiff.fd_weights(offsets, 1), expected, rtol=0, atol=table_tol(m, expected)
    )


def test_zeroth_derivative_on_a_node_is_the_unit_vector():
    np.testing.assert_array_equal(fastdiff.fd_weights([-2, -1, 0, 1, 2], 0), [0, 0, 1, 0, 0])
    np.testing.assert_array_equal(fastdiff.fd_weights([3.0, 0.0, 1.5], 0), [0, 1, 0])


def test_one_sided_second_derivative():
    np.testing.assert_array_equal(fastdiff.fd_weights([0, 1, 2, 3], 2), [2, -5, 4, -1])


def test_result_is_a_fresh_float64_vector_and_input_is_unchanged():
    offsets = np.array([-1.0, 0.0, 2.0])
    before = offsets.copy()
    w = fastdiff.fd_weights(offsets, 1)
    assert w.dtype == np.float64
    assert w.shape == (3,)
    assert w.flags.c_contiguous
    np.testing.assert_array_equal(offsets, before)
    assert not np.shares_memory(w, offsets)


@pytest.mark.parametrize("dtype", [np.int8, np.int64, np.uint16, np.float32, np.float64, np.bool_])
def test_real_dtypes_are_accepted_and_computed_in_float64(dtype):
    offsets = np.array([0, 1], dtype=dtype)
    np.testing.assert_array_equal(fastdiff.fd_weights(offsets, 1), [-1.0, 1.0])


# --------------------------------------------------------------------------------------------
# Moment conditions and polynomial exactness on a spread of stencil shapes
# --------------------------------------------------------------------------------------------
STENCILS = {
    "centred9": centred(9),
    "one_sided6": list(range(6)),
    "backward5": list(range(-4, 1)),
    "staggered6": [float(x) for x in staggered(6)],
    "irregular": [-1.5, -0.25, 0.0, 0.5, 2.0],
    "not_containing_0": [1.0, 2.0, 3.5, 5.0],
}


@pytest.mark.parametrize("name", STENCILS)
def test_moment_conditions(name):
    x = np.array(STENCILS[name], dtype=np.float64)
    m = x.size
    for n in range(m):
        w = fastdiff.fd_weights(x, n)
        dw = recursion_tol(m, as_float(exact_weights(STENCILS[name], n)))
        for k in range(m):
            terms = w * x**k
            expected = factorial(n) if k == n else 0.0
            # error of each weight (dw) times |x_j|^k, plus the rounding of the sum itself
            tol = dw * float(np.sum(np.abs(x) ** k)) + sum_tol(terms)
            assert abs(terms.sum() - expected) <= tol, (n, k)


@pytest.mark.parametrize("name", STENCILS)
def test_exact_on_polynomials_of_degree_below_m(name, rng):
    x = np.array(STENCILS[name], dtype=np.float64)
    m = x.size
    coeffs = rng.uniform(-1.0, 1.0, size=m)  # degree m - 1
    values = np.polynomial.polynomial.polyval(x, coeffs)
    for n in range(m):
        w = fastdiff.fd_weights(x, n)
        dw = recursion_tol(m, as_float(exact_weights(STENCILS[name], n)))
        terms = w * values
        # evaluating p at the nodes costs ~m ulps of its terms; then the weight errors and the sum
        value_err = m * EPS * np.polynomial.polynomial.polyval(np.abs(x), np.abs(coeffs))
        tol = float(np.sum(dw * np.abs(values) + np.abs(w) * value_err)) + sum_tol(terms)
        assert abs(terms.sum() - factorial(n) * coeffs[n]) <= tol, n


def test_not_exact_on_degree_m_one_sided():
    # The counterpart of exactness: x**m is beyond the stencil's reach. With the exact weights
    # [-11/6, 3, -3/2, 1/3], sum(w * x**4) = 3 - 24 + 27 = 6, while (x**4)'(0) = 0.
    x = np.arange(4.0)
    w = fastdiff.fd_weights(x, 1)
    terms = w * x**4
    dw = recursion_tol(4, as_float(exact_weights([0, 1, 2, 3], 1)))
    assert abs(terms.sum() - 6.0) <= dw * float(np.sum(x**4)) + sum_tol(terms)


@pytest.mark.parametrize("m", [2, 3, 4, 5, 6, 7])
def test_agrees_with_numpy_vandermonde_solve(m):
    x = np.array(centred(m) if m % 2 else [float(v) for v in staggered(m)])
    v = x[np.newaxis, :] ** np.arange(m)[:, np.newaxis]
    for n in range(m):
        ref = vandermonde_weights(x, n)
        # a backward-stable solve is accurate to about cond(V) ulps of the solution
        tol = m * np.linalg.cond(v) * EPS * float(np.max(np.abs(ref)))
        np.testing.assert_allclose(fastdiff.fd_weights(x, n), ref, rtol=0, atol=tol)


# --------------------------------------------------------------------------------------------
# Hypothesis properties on integer stencils (exact rational reference available)
# --------------------------------------------------------------------------------------------
int_stencils = st.lists(st.integers(-16, 16), min_size=1, max_size=9, unique=True)


@st.composite
def stencil_and_order(draw, stencils=int_stencils):
    offsets = draw(stencils)
    return offsets, draw(st.integers(0, len(offsets) - 1))


@st.composite
def symmetric_stencil_and_order(draw):
    half = draw(st.lists(st.integers(1, 12), min_size=1, max_size=4, unique=True))
    offsets = sorted([-h for h in half] + half + ([0] if draw(st.booleans()) else []))
    return offsets, draw(st.integers(0, len(offsets) - 1))


@given(stencil_and_order())
@example(([-11, 10, 11], 1))  # the worst relative error seen in a sweep (1.2 m^2 ulp)
@example(([-3, 3, 4, 19, -19], 3))  # the worst relative to m^2 ulp with |x| <= 20
def test_agrees_with_exact_rational_reference(case):
    offsets, n = case
    expected = as_float(exact_weights(offsets, n))
    got = fastdiff.fd_weights(offsets, n)
    np.testing.assert_allclose(got, expected, rtol=0, atol=recursion_tol(len(offsets), expected))


@given(symmetric_stencil_and_order())
def test_symmetric_stencil_weights_are_symmetric_or_antisymmetric(case):
    offsets, n = case
    w = dict(zip(offsets, fastdiff.fd_weights(offsets, n), strict=True))
    tol = 2 * recursion_tol(len(offsets), as_float(exact_weights(offsets, n)))
    sign = (-1) ** n  # w(-x) = w(x) for even n, -w(x) for odd n
    for x in offsets:
        assert abs(w[-x] - sign * w[x]) <= tol, x
    if n % 2 == 1 and 0 in w:
        assert abs(w[0]) <= tol


@given(stencil_and_order(st.lists(st.integers(-16, 16), min_size=2, max_size=9, unique=True)))
def test_weights_of_a_derivative_sum_to_zero(case):
    offsets, n = case
    w = fastdiff.fd_weights(offsets, n)
    m = len(offsets)
    if n == 0:
        tol = recursion_tol(m, as_float(exact_weights(offsets, 0))) * m + sum_tol(w)
        assert abs(w.sum() - 1.0) <= tol  # interpolation reproduces constants
    else:
        tol = recursion_tol(m, as_float(exact_weights(offsets, n))) * m + sum_tol(w)
        assert abs(w.sum()) <= tol


@given(stencil_and_order(), st.integers(-20, 20))
def test_scaling_by_a_power_of_two_is_exact(case, p):
    # Every quantity in the recursion scales by a power of two, so no rounding differs.
    offsets, n = case
    c = 2.0**p
    scaled = fastdiff.fd_weights(np.array(offsets, dtype=float) * c, n)
    np.testing.assert_array_equal(scaled, fastdiff.fd_weights(offsets, n) / c**n)


@given(stencil_and_order(), st.floats(0.1, 10.0))
def test_scaling_offsets_divides_weights_by_c_to_the_n(case, c):
    offsets, n = case
    m = len(offsets)
    w = fastdiff.fd_weights(offsets, n)
    scaled = fastdiff.fd_weights(np.array(offsets, dtype=float) * c, n)
    # c * x_j is rounded once (1 ulp relative), which perturbs the weights like the recursion
    # does; c**n adds n ulps. Both sides carry recursion_tol.
    expected = as_float(exact_weights(offsets, n))
    tol = (2 * recursion_tol(m, expected) + (n + 1) * EPS * float(np.max(np.abs(expected)))) / c**n
    np.testing.assert_allclose(scaled, w / c**n, rtol=0, atol=tol)


@given(stencil_and_order(), st.integers(-5, 5), st.data())
def test_translation_moves_the_expansion_point(case, t, data):
    # w(offsets - t) differentiates at x = t: exact for every polynomial of degree < m.
    offsets, n = case
    m = len(offsets)
    coeffs = data.draw(st.lists(st.integers(-3, 3), min_size=m, max_size=m))
    x = np.array(offsets, dtype=float)
    w = fastdiff.fd_weights(x - t, n)
    deriv = np.polynomial.polynomial.polyder(np.array(coeffs, dtype=float), n)
    exact = np.polynomial.polynomial.polyval(float(t), deriv) if deriv.size else 0.0
    values = np.polynomial.polynomial.polyval(x, np.array(coeffs, dtype=float))  # exact ints
    dw = recursion_tol(m, as_float(exact_weights([o - t for o in offsets], n)))
    tol = dw * float(np.sum(np.abs(values))) + sum_tol(w * values)
    assert abs(np.sum(w * values) - exact) <= tol


@given(stencil_and_order(), st.randoms())
def test_permuting_offsets_permutes_weights(case, random):
    offsets, n = case
    perm = list(range(len(offsets)))
    random.shuffle(perm)
    w = fastdiff.fd_weights(offsets, n)
    wp = fastdiff.fd_weights([offsets[i] for i in perm], n)
    tol = 2 * recursion_tol(len(offsets), as_float(exact_weights(offsets, n)))
    np.testing.assert_allclose(wp, w[perm], rtol=0, atol=tol)
