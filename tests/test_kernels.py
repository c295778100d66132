"""Kernel fuzzing: every C kernel driven through its Cython crossing with random shapes, strides,
orders, steps, NaN/inf patterns and extreme magnitudes, against the slow oracles of
tests/reference.py (shared/STYLE.md B8.1).  Under `nox -s sanitize` the same examples run with
AddressSanitizer, so a kernel writing outside its buffers aborts the run.

Kernels and how they are reached (public entry points wherever one exists, so that rewrites
behind them keep these tests meaningful):

* fd_fornberg_weights: `fastdiff.fd_weights` and the crossing `fornberg_weights` (all orders
  0..nmax at once, nmax beyond the stencil too);
* the step ladder (fd_ladder_init/points/update/results, the grouped variants): `derivative`
  with a fixed step against `reference.fixed_step_estimate`, looped and vectorized, and with
  the adaptive ladder looped == vectorized bitwise, honest where `success` (the exact
  derivative of exp(a x) is the oracle);
* fd_complex_step and fd_contour: `derivative(method="complex")`, n = 1..4, the same way;
* fd_dual_apply1/apply2 (array loops) and fd_dual_unary/binary (Dual arithmetic, inline and
  heap partials): `fastdiff.math` on strided arrays and on Duals with 0..12 partials.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

import fastdiff as fd
from fastdiff._kernels import _finite_diff
from reference import exact_weights, fixed_step_estimate, stencil_offsets
from test_dual import MP_UNARY

EPS = np.finfo(np.float64).eps


# --------------------------------------------------------------------------------------------
# Fornberg weights
# --------------------------------------------------------------------------------------------


@given(
    ints=st.lists(st.integers(-8, 8), min_size=1, max_size=9, unique=True),
    scale_exp=st.integers(-30, 30),
    extra_orders=st.integers(0, 3),
)
def test_fornberg_weights_match_exact_rational_weights(ints, scale_exp, extra_orders):
    # offsets k * 2^e: the scaling is exact, so the exact weights of the float offsets are
    # known in closed form from the integer ones (w scales by 2^(-e n))
    scale = 2.0**scale_exp
    offsets = np.array(ints, dtype=np.float64) * scale
    m = len(ints)
    nmax = m - 1 + extra_orders
    check, w = _finite_diff.fornberg_weights(offsets, nmax)
    assert check == 0 and w.shape == (nmax + 1, m)
    for n in range(nmax + 1):
        if n >= m:  # a degree m-1 interpolant has no n-th derivative: exactly zero weights
            assert np.all(w[n] == 0.0)
            continue
        exact = np.array([float(v) for v in exact_weights(ints, n)]) / scale**n
        # Fornberg's recursion: each weight carries O(m^2) roundings of terms up to
        # max|exact| (the weights of these short integer stencils are modest), hence the bound
        tol = 8 * m * m * EPS * np.max(np.abs(exact))
        np.testing.assert_allclose(w[n], exact, rtol=0, atol=tol)
    if m > 1:  # the public function agrees with the crossing
        np.testing.assert_array_equal(fd.fd_weights(offsets, m - 1), w[m - 1])


@given(
    ints=st.lists(st.integers(-5, 5), min_size=2, max_size=6, unique=True),
    bad=st.sampled_from([np.nan, np.inf, -np.inf, "repeat"]),
    where=st.integers(0, 5),
)
def test_fornberg_weights_reject_nonfinite_and_repeated_offsets(ints, bad, where):
    offsets = np.array(ints, dtype=np.float64)
    where %= len(ints)
    if bad == "repeat":
        offsets[where] = offsets[(where + 1) % len(ints)]
        expected = _finite_diff.OFFSETS_REPEATED
    else:
        offsets[where] = bad
        expected = _finite_diff.OFFSETS_NONFINITE
    check, _ = _finite_diff.fornberg_weights(offsets, len(ints) + 2)
    assert check == expected


# --------------------------------------------------------------------------------------------
# The ladder, at a fixed step: the formula itself
# --------------------------------------------------------------------------------------------

SIDES = ("central", "forward", "backward")


def _orders(side):
    return st.sampled_from([2, 4, 6] if side == "central" else [1, 2, 3, 4])


def _layout(a, how):
    """a's values as a C-contiguous, strided or Fortran-ordered array."""
    if how == "strided":
        big = np.zeros(tuple(2 * k for k in a.shape) or (1,))
        if a.ndim == 0:
            return a.copy()
        view = big[tuple(slice(None, None, 2) for _ in a.shape)]
        view[...] = a
        return view
    if how == "fortran":
        return np.asfortranarray(a)
    return a.copy()


@st.composite
def ladder_problem(draw):
    side = draw(st.sampled_from(SIDES))
    order = draw(_orders(side))
    n = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=3)))
    size = math.prod(shape)
    mags = draw(st.lists(st.sampled_from([1e-3, 0.5, 1.0, 3.0, 1e3]), min_size=size, max_size=size))
    signs = draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=size, max_size=size))
    x = (np.array(mags) * np.array(signs)).reshape(shape)
    rel = draw(st.lists(st.sampled_from([1e-4, 1e-3, 1e-2, 0.1]), min_size=size, max_size=size))
    h = (np.abs(x).reshape(-1) * np.array(rel) + 1e-3).reshape(shape)
    a = draw(st.sampled_from([-2.0, -0.5, 0.25, 1.0, 1.5]))
    # NaN region: f is NaN right of `edge` (a domain edge somewhere among the points, or none)
    edge = draw(st.sampled_from([np.inf, 0.0, 0.6, -0.3]))
    how = draw(st.sampled_from(["contiguous", "strided", "fortran"]))
    vectorized = draw(st.booleans())
    return side, order, n, _layout(x, how), _layout(h, how), a, edge, vectorized


def _f_with_edge(a, edge):
    def f(x):
        with np.errstate(invalid="ignore", over="ignore"):
            return np.where(x > edge, np.nan, np.exp(a * x))

    return f


@given(ladder_problem())
@example(("central", 2, 1, np.array(0.5), np.array(1e-3), 1.0, np.inf, False))
@example(("forward", 4, 4, np.array([[1e3]]), np.array([[0.1]]), -2.0, 0.0, True))
def test_fixed_step_is_the_stencil_formula(problem):
    side, order, n, x, h, a, edge, vectorized = problem
    f = _f_with_edge(a, edge)
    x_before, h_before = x.copy(), h.copy()
    res = fd.derivative(f, x, n=n, method=side, order=order, step=h, vectorized=vectorized)
    assert np.array_equal(x, x_before) and np.array_equal(h, h_before)
    df, success = np.asarray(res.df), np.asarray(res.success)
    assert df.shape == x.shape and np.shape(res.error) == x.shape
    for idx in np.ndindex(x.shape):
        want, bound = fixed_step_estimate(
            lambda t: f(np.float64(t)), float(x[idx]), float(h[idx]), n, side, order
        )
        if np.isnan(want):  # a stencil point is outside f's domain: never trusted
            assert not success[idx]
            continue
        # both sides round the same weighted sum; the library's weights (Fornberg, float)
        # differ from the exact ones by O(m^2 eps) relative (see the test above)
        m = len(stencil_offsets(side, n, order))
        assert abs(df[idx] - want) <= 2 * bound + 8 * m * m * EPS * abs(want) + 1e-300, idx
        if success[idx]:
            assert np.isfinite(res.error[idx]) and res.error[idx] >= 0


# --------------------------------------------------------------------------------------------
# The ladder, adaptive: one kernel for both evaluation paths, honest where trusted
# --------------------------------------------------------------------------------------------


def _assert_equal_and_honest(looped, batched, a, n, x):
    """Looped and vectorized agree in every field, and the bars bound d^n/dx^n exp(a x)."""
    for name in ("df", "error", "status", "step"):
        np.testing.assert_array_equal(getattr(looped, name), getattr(batched, name), err_msg=name)
    success = np.asarray(looped.success)
    df, err = np.asarray(looped.df), np.asarray(looped.error)
    assert np.all(np.isfinite(df[success])) and np.all(err[success] >= 0)
    with np.errstate(over="ignore"):
        exact = a**n * np.exp(a * x)
    # honesty: the error bar bounds the true error, up to rounding slack (DESIGN §3)
    slack = 1e-15 * np.maximum(1.0, np.abs(exact))
    check = success & np.isfinite(exact)
    assert np.all(np.abs(df - exact)[check] <= (err + slack)[check])


@given(ladder_problem())
def test_adaptive_ladder_looped_equals_vectorized_and_is_honest(problem):
    side, order, n, x, _, a, edge, _ = problem
    f = _f_with_edge(a, edge)
    looped = fd.derivative(f, x, n=n, method=side, order=order)
    batched = fd.derivative(f, x, n=n, method=side, order=order, vectorized=True)
    _assert_equal_and_honest(looped, batched, a, n, x)


@given(ladder_problem())
@example(("central", 2, 1, np.array([-0.001, 0.001]), np.array([1e-3, 1e-3]), -2.0, 0.0, False))
def test_complex_step_kernels_looped_equals_vectorized_and_are_honest(problem):
    # fd_complex_step (n = 1) and fd_contour (n >= 2) behind method="complex"
    _, _, n, x, _, a, edge, _ = problem

    def f(z):
        with np.errstate(invalid="ignore", over="ignore"):
            return np.where(np.real(z) > edge, np.nan, np.exp(a * z))

    looped = fd.derivative(f, x, n=n, method="complex")
    batched = fd.derivative(f, x, n=n, method="complex", vectorized=True)
    _assert_equal_and_honest(looped, batched, a, n, x)


# --------------------------------------------------------------------------------------------
# Dual kernels: array loops and Dual arithmetic
# --------------------------------------------------------------------------------------------

UNARY = sorted(MP_UNARY)
DOMAIN = {  # points inside each rule's domain, away from its edges
    "sqrt": (1e-3, 1e3),
    "log": (1e-3, 1e3),
    "log2": (1e-3, 1e3),
    "log10": (1e-3, 1e3),
    "log1p": (-0.9, 1e3),
    "arcsin": (-0.9, 0.9),
    "arccos": (-0.9, 0.9),
    "arctanh": (-0.9, 0.9),
    "arccosh": (1.1, 1e3),
    "reciprocal": (0.1, 1e3),
}


def _points(name, count, seed):
    lo, hi = DOMAIN.get(name, (-20.0, 20.0))
    return np.random.default_rng(seed).uniform(lo, hi, count)


@given(
    name=st.sampled_from(UNARY),
    shape=st.lists(st.integers(1, 4), min_size=0, max_size=3),
    strided=st.booleans(),
    seed=st.integers(0, 2**16),
)
@example(name="sin", shape=[], strided=False, seed=0)  # 0-d stayed 0-d? (it came back (1,))
def test_math_on_arrays_matches_scalar_rules(name, shape, strided, seed):
    size = math.prod(shape)
    v = _points(name, size, seed).reshape(shape)
    if strided and v.ndim:
        big = np.zeros(tuple(2 * k for k in v.shape))
        big[tuple(slice(None, None, 2) for _ in v.shape)] = v
        v = big[tuple(slice(None, None, 2) for _ in v.shape)]
    fn = getattr(fd.math, name)
    out = np.asarray(fn(v))
    assert out.shape == v.shape
    for idx in np.ndindex(v.shape):  # the array loop (apply1) == the scalar rule, bitwise
        assert out[idx] == fn(float(v[idx])) or (np.isnan(out[idx]) and np.isnan(fn(float(v[idx]))))


@given(
    name=st.sampled_from(UNARY),
    k=st.integers(0, 12),  # 0..4 partials live inline, more on the heap
    seed=st.integers(0, 2**16),
    special=st.sampled_from([None, np.nan, np.inf, -np.inf, 1e300, -1e300, 5e-324]),
)
def test_dual_rules_scale_every_partial_by_the_derivative(name, k, seed, special):
    rng = np.random.default_rng(seed)
    v = float(_points(name, 1, seed)[0])
    p = rng.standard_normal(k)
    if special is not None and k:
        p[rng.integers(k)] = special
    fn = getattr(fd.math, name)
    d = fn(fd.Dual(v, p))
    assert isinstance(d, fd.Dual) and d.partials.shape == (k,)
    with mp.workdps(30):
        slope = float(mp.diff(MP_UNARY[name], mp.mpf(v)))
    assume(np.isfinite(slope) and slope != 0.0)
    with np.errstate(all="ignore"):
        want = slope * p
    finite = np.isfinite(want)
    # the rule's derivative is accurate to a few ulp of max(|f'|, 1): forms like
    # 1 - tanh(v)^2 cancel where f' is small, so its relative accuracy there is not 64 eps
    tol = 64 * EPS * max(abs(slope), 1.0) * np.abs(p[finite])
    assert np.all(np.abs(d.partials[finite] - want[finite]) <= tol)
    assert np.all(np.isnan(d.partials[~finite]) | np.isinf(d.partials[~finite]))


@pytest.mark.parametrize("k", [0, 1, 4, 5, 12])
def test_dual_binary_arithmetic_over_inline_and_heap_partials(k, rng):
    px, py = rng.standard_normal(k), rng.standard_normal(k)
    x, y = fd.Dual(1.5, px), fd.Dual(-0.75, py)
    np.testing.assert_array_equal((x + y).partials, px + py)
    np.testing.assert_array_equal((x - y).partials, px - py)
    np.testing.assert_allclose((x * y).partials, -0.75 * px + 1.5 * py, rtol=4 * EPS)
    np.testing.assert_allclose((x / y).partials, (px * -0.75 - 1.5 * py) / 0.75**2, rtol=8 * EPS)
    h = fd.math.hypot(x, y)
    np.testing.assert_allclose(
        h.partials, (1.5 * px - 0.75 * py) / math.hypot(1.5, 0.75), rtol=8 * EPS
    )


def test_complex_step_is_not_trusted_where_f_is_not_finite_beside_x():
    # f is NaN (as NaN + 0j) right of 0, so at x = 1e-3 Im f(x + ih) = 0 and the real-axis
    # check had nothing to compare with: it returned df = 0 as converged
    def f(z):
        return np.where(np.real(z) > 0, np.nan, np.exp(-2.0 * z))

    res = fd.derivative(f, np.array([-1e-3, 1e-3]), method="complex")
    assert res.success.tolist() == [True, False]
    assert abs(res.df[0] - (-2.0 * np.exp(2e-3))) <= res.error[0]


def test_eval_points_looped_takes_one_coordinate_per_point_without_i2():
    # i2 = v2 = None (the looped gradient's levels) is i2 = -1 everywhere: the same points,
    # the same calls of f, in the same order; one of the two alone is refused
    base = np.array([0.3, -0.7, 1.1])
    i1 = np.array([0, 2, 1, 0], dtype=np.intp)
    v1 = np.array([0.5, 2.0, -1.5, 0.25])
    seen: list[np.ndarray] = []

    def f(x):
        seen.append(x.copy())
        return np.array([x.sum(), x[0] * x[2]])

    none = _finite_diff.eval_points_looped(f, (), None, base, (3,), i1, v1, None, None, (2,), 1)
    calls_none, seen[:] = list(seen), []
    minus = _finite_diff.eval_points_looped(
        f, (), None, base, (3,), i1, v1, np.full(4, -1, dtype=np.intp), np.zeros(4), (2,), 1
    )
    assert np.array_equal(none, minus)
    expect = [np.where(np.arange(3) == i, v, base) for i, v in zip(i1, v1, strict=True)]
    assert all(np.array_equal(a, b) for a, b in zip(calls_none, expect, strict=True))
    assert all(np.array_equal(a, b) for a, b in zip(seen, expect, strict=True))
    with pytest.raises(ValueError, match="same length"):
        _finite_diff.eval_points_looped(f, (), None, base, (3,), i1, v1, None, v1, (2,), 1)
    with pytest.raises(IndexError, match="out of range"):
        _finite_diff.eval_points_looped(
            f, (), None, base, (3,), np.array([3], dtype=np.intp), v1[:1], None, None, (2,), 1
        )


@given(st.integers(1, 6), st.integers(1, 20), st.integers(0, 2**32 - 1))
def test_hessian_values_are_the_numpy_expression_bit_for_bit(N, K, seed):
    # the Hessian level's points, compiled, against the NumPy expression they replaced:
    # x[i] + o * d[i] with d = (x + h) - x (i2 < 0 reads coordinate 0 with o2 = 0)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=N) * 10.0 ** rng.integers(-3, 4, size=N)
    h = np.abs(x) * 2.0 ** -rng.integers(3, 30, size=N) + 1e-300
    i1 = rng.integers(0, N, size=K).astype(np.intp)
    i2 = rng.integers(-1, N, size=K).astype(np.intp)
    o1 = rng.choice([-2.0, -1.0, 1.0, 2.0], size=K)
    o2 = np.where(i2 < 0, 0.0, rng.choice([-1.0, 1.0], size=K))
    v1, v2 = _finite_diff.hessian_values(x, h, i1, o1, i2, o2)
    d = (x + h) - x
    k2 = np.maximum(i2, 0)
    assert np.array_equal(v1, x[i1] + o1 * d[i1])
    assert np.array_equal(v2, x[k2] + o2 * d[k2])


def test_hessian_values_checks_its_indices_and_lengths():
    x, h = np.zeros(2), np.ones(2)
    one, i = np.ones(1), np.zeros(1, dtype=np.intp)
    with pytest.raises(IndexError, match="out of range"):
        _finite_diff.hessian_values(x, h, np.array([2], dtype=np.intp), one, i, one)
    with pytest.raises(ValueError, match="equal lengths"):
        _finite_diff.hessian_values(x, h, i, np.ones(2), i, one)
