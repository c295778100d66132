"""derivative(): accuracy against mpmath, honesty of `error`, convergence, status, traps."""

from __future__ import annotations

import gc
import math
import weakref

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastdiff as fd
from cases import SMOOTH, exact, smooth_cases
from fastdiff import Status

EPS = np.finfo(np.float64).eps
# DESIGN.md: `error` bounds the true error up to rounding slack of order 1e-15 max(1, |df|).
SLACK = 8 * EPS


def assert_honest(res, exact_value):
    """Where success is True, the true error is within `error` (plus rounding slack)."""
    df, err, ok = (np.asarray(v) for v in (res.df, res.error, res.success))
    true = np.abs(df - exact_value)
    bound = err + SLACK * np.maximum(1.0, np.abs(df))
    bad = ok & ~(true <= bound)
    assert not bad.any(), f"dishonest: df={df[bad]}, error={err[bad]}, true={true[bad]}"


# ------------------------------------------------------------------------------------------
# Accuracy and honesty on the reference table
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["central", "forward", "backward"])
@pytest.mark.parametrize(("name", "f", "x", "n"), list(smooth_cases(4)), ids=str)
def test_error_bounds_true_error_on_smooth_table(method, name, f, x, n):
    res = fd.derivative(f, x, n=n, method=method)
    assert res.success, res
    assert_honest(res, exact(name, x, n))


@pytest.mark.parametrize(("name", "f", "x", "n"), list(smooth_cases(6)), ids=str)
def test_central_reaches_useful_accuracy_up_to_n6(name, f, x, n):
    res = fd.derivative(f, x, n=n)
    ex = exact(name, x, n)
    assert res.success
    assert_honest(res, ex)
    # "useful accuracy": rounding grows like eps / h^n, so attainable accuracy falls with n.
    # The bounds sit ~10x above the worst case on this table, which is sqrt at 0.01 (a
    # singularity at distance 0.01, so steps must be tiny): 1.4e-5 relative at n = 6 (1.2e-3
    # before n >= 5 central ladders took the step ratio sqrt(3)); n = 5: sqrt at 1, 1e-6.
    rel = {1: 1e-10, 2: 1e-8, 3: 1e-6, 4: 1e-5, 5: 1e-5, 6: 1e-4}[n]
    assert abs(res.df - ex) <= rel * max(1.0, abs(ex))


def test_fifth_derivative_of_exp_meets_finite_differences_jl_tolerance():
    # FiniteDifferences.jl tests the 5th derivative of exp at 1 to atol 2e-7. With the step
    # ratio 1 + sqrt(2), three or four levels were usable before rounding (eps / h^5) took
    # over: 2.3e-6 off. The central ladder for n >= 5 steps by sqrt(3) (_steps.step_ratio).
    for x in (1.0, np.array([1.0, 1.0])):  # the scalar fast path and the array path
        res = fd.derivative(np.exp, x, n=5)
        assert np.all(res.success), res
        assert np.all(np.abs(res.df - np.e) <= 2e-7), res
        assert_honest(res, np.e)


@pytest.mark.parametrize("method", ["forward", "backward"])
def test_one_sided_fifth_derivative_defaults_to_order_3(method):
    # exp at 1, n = 5, one-sided: order 1 gave 1.7e-3 (forward) and 1.1e-3 (backward) off;
    # order 3 gives 3.5e-5 and 5.6e-5 (numdifftools: 5.0e-5 and 6.8e-5). Still short of
    # FiniteDifferences.jl's 2e-7: see how_it_works.md.
    res = fd.derivative(np.exp, 1.0, n=5, method=method)
    assert res.success and abs(res.df - np.e) <= 1e-4, res
    assert_honest(res, np.e)
    assert fd.derivative(np.exp, 1.0, n=5, method=method, order=1).df != res.df


def test_fourth_derivative_of_exp_sin_is_as_accurate_as_numdifftools():
    # d^4/dx^4 e^x sin(x) = -4 e^x sin(x). numdifftools' default reaches 3e-9 at 0.7; the
    # default ladder gave 9.8e-9 with a bar of 3.9e-7 before central n >= 4 stepped by sqrt(3).
    # order=6 (documented) brings the bar within 10x of the true error: 6.8e-10 under 3.7e-9
    # (it was 3.3e-9 under 3.7e-7).
    def f(x):
        return np.exp(x) * np.sin(x)

    ex = -4.0 * math.exp(0.7) * math.sin(0.7)
    res = fd.derivative(f, 0.7, n=4)
    assert res.success and abs(res.df - ex) <= 3e-9, res
    assert_honest(res, ex)
    # issue 9: the default's bar within 10x of its true error too (1.6e-9 under 1.5e-8; it was
    # 3.5e-8, the whole last difference of a saturating column that is on rate)
    assert res.error <= 10 * abs(res.df - ex), res
    res = fd.derivative(f, 0.7, n=4, order=6)
    assert res.success and abs(res.df - ex) <= 3e-9, res
    assert_honest(res, ex)
    assert res.error <= 10 * abs(res.df - ex), res


def test_sixth_derivative_near_a_domain_edge_keeps_central():
    # sqrt at 0.01, n = 6: the central stencil (offsets +-4 h) first meets NaN at x < 0. The
    # one-sided fallback waits for a shrink of ~7e3 in the step (AUTO_SIDE_LEVELS at
    # q = 1 + sqrt(2)); counted in levels of sqrt(3) that was 243, and the ladder turned
    # one-sided just before its central stencil fitted: 1.5e-2 relative off.
    ex = -(1.0 * 3 * 5 * 7 * 9) / 2**6 * 0.01**-5.5  # (1/2)(-1/2)...(-9/2) x^(-11/2)
    res = fd.derivative(np.sqrt, 0.01, n=6)
    assert res.success, res
    assert abs(res.df - ex) <= 1e-4 * abs(ex), res
    assert_honest(res, ex)


@pytest.mark.parametrize(("name", "f", "_", "points"), SMOOTH, ids=[r[0] for r in SMOOTH])
def test_default_first_derivative_reaches_1e10_with_few_evaluations(name, f, _, points):
    for x in points:
        res = fd.derivative(f, x)
        ex = exact(name, x, 1)
        assert abs(res.df - ex) <= 1e-10 * max(1.0, abs(ex))
        # huge |x| (sin at 1e6) first walks down to sin's scale, and a domain edge (sqrt at
        # 0.01, status 1) first spends levels finding it: the budget is for the smooth case
        if max(abs(x), 1.0) < 1e3 and res.status == 0:
            assert res.nfev <= 21


def test_first_derivative_default_cost_on_exp():
    assert fd.derivative(np.exp, 1.0).nfev == 13  # f(x) + 6 levels of 2 points


# ------------------------------------------------------------------------------------------
# Formula properties with a fixed step
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "order"),
    [
        ("central", 2),
        ("central", 4),
        ("central", 6),
        ("forward", 1),
        ("forward", 3),
        ("backward", 2),
    ],
)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_fixed_step_is_exact_on_polynomials_of_the_stencil_degree(method, order, n):
    # the formula is exact for degree <= (points - 1); points = n + order for one-sided,
    # 2*((n+1)//2) + order - 1 for central
    npts = n + order if method != "central" else 2 * ((n + 1) // 2) + order - 1
    rng = np.random.default_rng(n * 10 + order)
    coef = rng.uniform(-1, 1, npts)
    p = np.polynomial.Polynomial(coef)
    res = fd.derivative(p, 0.3, n=n, method=method, order=order, step=0.25)
    ex = p.deriv(n)(0.3)
    # exact up to rounding: sum |w f| / h^n eps, with |f| <= sum |coef| (1 + reach)^deg
    assert abs(res.df - ex) <= 1e-10
    assert res.success


@pytest.mark.parametrize(
    ("method", "order"), [("central", 2), ("central", 4), ("forward", 1), ("forward", 2)]
)
def test_fixed_step_error_shrinks_at_the_formula_order(method, order):
    errs = [
        abs(fd.derivative(np.exp, 0.0, method=method, order=order, step=h).df - 1.0)
        for h in (0.1, 0.05)
    ]
    observed = math.log2(errs[0] / errs[1])
    assert abs(observed - order) < 0.2


def test_fixed_step_estimate_bounds_its_truncation_error():
    for h in (0.2, 0.05, 1e-3):
        res = fd.derivative(np.exp, 1.0, step=h)
        s = (1.0 + h) - 1.0  # the spacing 1 + h really has
        assert res.success and res.step == s
        assert_honest(res, np.e)
        # the estimate is the plain 3-point formula at that step
        assert res.df == (np.exp(1.0 + s) * 0.5 + np.exp(1.0 - s) * -0.5) / s


# ------------------------------------------------------------------------------------------
# Vectorization, shapes, evaluation counts
# ------------------------------------------------------------------------------------------


def rational(x):
    """Plain arithmetic: identical bits whether applied to floats or arrays."""
    return (x * x * x - 2.0 * x) / (1.0 + x * x)


@pytest.mark.parametrize("shape", [(), (5,), (2, 3)])
def test_vectorized_and_looped_results_are_identical(shape):
    x = np.linspace(-2.0, 3.0, int(np.prod(shape))).reshape(shape)
    a = fd.derivative(rational, x)
    b = fd.derivative(rational, x, vectorized=True)
    for field in ("df", "error", "success", "status", "step"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert a.nfev == b.nfev
    assert np.shape(a.df) == shape


def test_vectorized_blocks_equal_the_looped_results():
    # more elements than one block (DEFAULT_BLOCK_ELEMENTS), a partial last block included
    from fastdiff._steps import DEFAULT_BLOCK_ELEMENTS

    x = np.linspace(-3.0, 3.0, 2 * DEFAULT_BLOCK_ELEMENTS + 123)
    a = fd.derivative(rational, x)
    b = fd.derivative(rational, x, vectorized=True)
    for field in ("df", "error", "status", "step"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert a.nfev == b.nfev


def test_scalar_fast_path_matches_array_path():
    a = fd.derivative(np.sin, 0.7)
    b = fd.derivative(np.sin, np.array([0.7]))
    assert a.df == b.df[0] and a.error == b.error[0] and a.nfev == b.nfev
    assert a.status == b.status[0] and a.step == b.step[0]


def test_nfev_counts_every_point():
    calls = []

    def f(x):
        calls.append(np.size(x))
        return np.sin(x)

    res = fd.derivative(f, [0.1, 0.5, 2.0])
    assert res.nfev == sum(calls) == len(calls)
    calls.clear()
    res = fd.derivative(f, [0.1, 0.5, 2.0], vectorized=True)
    assert res.nfev == sum(calls) and len(calls) < res.nfev


def test_converged_elements_stop_costing_evaluations():
    seen = []

    def f(x):
        seen.append(np.size(x))
        return np.where(x < 5, x * x, np.sin(x))  # x^2 converges at once, sin needs levels

    fd.derivative(f, [1.0, 10.0], vectorized=True)
    assert seen[0] == 2 and seen[-1] == 2 and min(seen[1:]) == 2 and seen[1] == 4


def test_args_and_kwargs_reach_f():
    res = fd.derivative(lambda x, a, b=0.0: a * x**2 + b, 1.5, args=(3.0,), kwargs={"b": 1.0})
    assert abs(res.df - 9.0) <= res.error


def test_float32_values_get_a_float32_noise_model():
    f = lambda x: np.float32(np.sin(np.float32(x)))  # noqa: E731
    res = fd.derivative(f, 0.7)
    assert res.success
    assert_honest(res, np.cos(0.7))
    assert res.error > 1e-8  # float32 values cannot support a float64-sized claim


# ------------------------------------------------------------------------------------------
# The peers' traps
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("f", "x", "ex", "status"),
    [
        (np.log, 1e-3, 1e3, Status.DOMAIN_ADAPTED),
        (np.sqrt, 1e-4, 50.0, Status.DOMAIN_ADAPTED),
        (lambda x: x * x, 1e8, 2e8, Status.CONVERGED),
        (np.sin, 1e6, math.cos(1e6), Status.CONVERGED),
        (np.cos, 0.0, 0.0, Status.CONVERGED),
        (lambda x: (x - 1.0) ** 3, 1.0, 0.0, Status.CONVERGED),
        (lambda x: np.sin(1000 * x), 0.0, 1000.0, Status.CONVERGED),
    ],
    ids=["log@1e-3", "sqrt@1e-4", "x2@1e8", "sin@1e6", "cos@0", "(x-1)^3@1", "sin1000x@0"],
)
def test_traps_peers_fall_into(f, x, ex, status):
    res = fd.derivative(f, x)
    assert res.status == status
    assert_honest(res, ex)
    assert res.error <= 1e-9 * max(1.0, abs(ex))  # exact zeros: a small absolute error


@pytest.mark.parametrize("x0", [0.0, 0.3, -1.7])
def test_aliasing_never_returns_a_wrong_success(x0):
    for k in (10.0, 100.0, 1000.0, 1e4):
        res = fd.derivative(lambda x, k=k: np.sin(k * x), x0)
        assert_honest(res, k * math.cos(k * x0))


@pytest.mark.parametrize("f", [abs, lambda x: abs(x - 0.5) + x * x], ids=["abs", "shifted"])
def test_kinks_are_not_trusted(f):
    x = 0.0 if f is abs else 0.5
    res = fd.derivative(f, x)
    assert res.status == Status.INCONSISTENT and not res.success


def test_one_sided_power_law_at_a_bound_is_not_trusted():
    # x^1.5 at 0: forward differences behave like h^(1/2), not the h^1 the formula assumes
    res = fd.derivative(lambda x: x**1.5, 0.0, bounds=(0.0, 1.0))
    assert_honest(res, 0.0)


def test_noisy_f_with_declared_noise_is_honest():
    rng = np.random.default_rng(1)
    for level in (1e-12, 1e-9, 1e-6):
        for n in (1, 2):
            f = lambda x, level=level: np.sin(x) + level * rng.standard_normal()  # noqa: E731
            # noise is relative to |f| ~ 0.64 at 0.7; 5 sigma covers the draws
            res = fd.derivative(f, 0.7, n=n, noise=5 * level / 0.64)
            assert_honest(res, math.cos(0.7) if n == 1 else -math.sin(0.7))


def test_noisy_f_error_grows_with_the_noise():
    rng = np.random.default_rng(2)
    errs = []
    for level in (1e-10, 1e-6):
        f = lambda x, level=level: np.sin(x) + level * rng.standard_normal()  # noqa: E731
        errs.append(fd.derivative(f, 0.7, noise=5 * level / 0.64).error)
    assert errs[1] > 100 * errs[0]


# ------------------------------------------------------------------------------------------
# Bounds
# ------------------------------------------------------------------------------------------


def test_bounds_keep_every_evaluation_inside():
    seen = []

    def f(x):
        seen.append(x)
        return np.log(x)

    res = fd.derivative(f, [1e-3, 0.5, 1.0], bounds=(0.0, 1.0))
    assert min(seen) >= 0.0 and max(seen) <= 1.0
    assert_honest(res, 1 / np.array([1e-3, 0.5, 1.0]))
    assert res.status.tolist() == [0, 0, Status.BOUNDS_ADAPTED]


def test_bounds_at_the_edge_use_one_sided_stencils():
    res = fd.derivative(np.exp, [0.0, 1.0], bounds=(0.0, 1.0), n=2)
    assert res.status.tolist() == [2, 2]
    assert_honest(res, np.exp([0.0, 1.0]))


# ------------------------------------------------------------------------------------------
# Complex values and the complex step
# ------------------------------------------------------------------------------------------


def test_complex_valued_f_gives_complex_df():
    res = fd.derivative(lambda x: np.exp(1j * x), 0.5)
    assert np.iscomplexobj(res.df)
    assert_honest(res, 1j * np.exp(0.5j))
    res_v = fd.derivative(lambda x: np.exp(1j * x), [0.5], vectorized=True)
    assert_honest(res_v, 1j * np.exp(0.5j))


@pytest.mark.parametrize("vectorized", [False, True])
def test_complex_step_is_accurate_to_rounding(vectorized):
    x = np.array([-1.0, 0.0, 0.5, 3.0])
    res = fd.derivative(np.sin, x, method="complex", vectorized=vectorized)
    assert res.success.all() and res.nfev == 4 * x.size
    assert_honest(res, np.cos(x))
    assert (res.error <= 8 * EPS * np.maximum(1, np.abs(res.df)) + 1e-15).all()


@pytest.mark.parametrize(
    "f",
    [abs, np.abs, np.real, lambda x: np.abs(x) ** 2, lambda x: float(np.real(x)) * 2.0],
    ids=["abs", "np.abs", "np.real", "abs^2", "float-cast"],
)
def test_complex_step_never_succeeds_when_f_drops_the_imaginary_part(f):
    res = fd.derivative(f, 1.3, method="complex")
    assert res.status == Status.COMPLEX_LOST and not res.success


COMPLEX_HIGHER = [
    ("exp", np.exp, 1.0),
    ("sin", np.sin, 0.3),
    ("log near its branch point", np.log, 0.3),
    ("pole at +-i", lambda x: 1 / (1 + x * x), 0.5),
    ("tan near its pole", np.tan, 1.5),
    ("sqrt", np.sqrt, 1e-4),
    ("sin at 1e6", np.sin, 1e6),
]


@pytest.mark.parametrize("vectorized", [False, True])
@pytest.mark.parametrize("n", [2, 3, 4, 5, 6])
@pytest.mark.parametrize(("name", "f", "x"), COMPLEX_HIGHER, ids=[c[0] for c in COMPLEX_HIGHER])
def test_complex_method_for_higher_derivatives(name, f, x, n, vectorized):
    import mpmath

    fm = {
        "exp": mpmath.exp,
        "sin": mpmath.sin,
        "log near its branch point": mpmath.log,
        "pole at +-i": lambda t: 1 / (1 + t * t),
        "tan near its pole": mpmath.tan,
        "sqrt": mpmath.sqrt,
        "sin at 1e6": mpmath.sin,
    }[name]
    with mpmath.workdps(40):
        ex = float(mpmath.diff(fm, mpmath.mpf(x), n))
    res = fd.derivative(f, x, n=n, method="complex", vectorized=vectorized)
    assert res.success
    assert_honest(res, ex)
    # the circle is far more accurate than real steps at high n (central: ~1e-3 at n = 6)
    assert abs(res.df - ex) <= 1e-8 * max(1.0, abs(ex))


def test_complex_method_exact_zero_derivatives_succeed():
    res = fd.derivative(lambda x: x**3, [1.0, -2.0], n=4, method="complex")
    assert res.success.all()
    assert_honest(res, 0.0)


@pytest.mark.parametrize(
    "f",
    [abs, np.real, lambda z: np.conj(z) * z, lambda z: z * z + 1e-3 * np.abs(z) ** 2],
    ids=["abs", "np.real", "conj(z) z", "z^2 + 1e-3 |z|^2"],
)
def test_complex_method_never_trusts_a_non_analytic_f(f):
    res = fd.derivative(f, 0.7, n=2, method="complex")
    assert res.status == Status.COMPLEX_LOST and not res.success


def test_complex_method_rejects_bounds_by_name():
    with pytest.raises(ValueError, match=r"^`bounds` must be None for method='complex'"):
        fd.derivative(np.exp, 0.5, method="complex", bounds=(0, 1))


def test_complex_step_on_f_not_real_on_reals_fails():
    res = fd.derivative(lambda z: np.exp(1j * z), 0.3, method="complex")
    assert res.status == Status.COMPLEX_LOST


# ------------------------------------------------------------------------------------------
# Status table
# ------------------------------------------------------------------------------------------


def test_status_codes_reachable_in_one_call():
    def f(x):
        out = np.where(x < 5, np.log(x), np.sin(x))  # log near 0: a domain edge
        out = np.where((x > 15) & (x < 25), np.abs(x - 20.0), out)  # a kink at 20
        return np.where(x > 35, np.nan, out)  # nowhere finite

    x = np.array([1e-3, 10.0, 20.0, 30.0, 40.0])
    lo = np.array([-np.inf, -np.inf, -np.inf, 29.0, -np.inf])
    hi = np.array([np.inf, np.inf, np.inf, 30.0, np.inf])
    res = fd.derivative(f, x, vectorized=True, bounds=(lo, hi))
    assert res.status.tolist() == [1, 0, -3, 2, -2]
    np.testing.assert_array_equal(res.success, res.status >= 0)


def test_status_not_converged_when_tolerance_is_out_of_reach():
    rng = np.random.default_rng(3)
    res = fd.derivative(
        lambda x: np.sin(x) + 1e-9 * rng.standard_normal(), 0.7, atol=1e-14, noise=1e-8
    )
    assert res.status == Status.NOT_CONVERGED and not res.success
    assert res.error > 1e-14


def test_requested_tolerance_stops_early():
    loose = fd.derivative(np.exp, 1.0, rtol=1e-4)
    tight = fd.derivative(np.exp, 1.0)
    assert loose.success and loose.nfev < tight.nfev
    assert loose.error <= 1e-4 * abs(loose.df)


def test_every_status_code_is_covered_by_these_tests():
    covered = {0, 1, 2, -1, -2, -3, -4}
    assert covered == {int(s) for s in Status}


# ------------------------------------------------------------------------------------------
# f's exceptions and output checks
# ------------------------------------------------------------------------------------------


class Boom(Exception):
    pass


@pytest.mark.parametrize(
    "kw", [{}, {"vectorized": True}, {"method": "complex"}, {"step": 0.1}], ids=str
)
@pytest.mark.parametrize("x", [0.5, [0.5, 1.0]], ids=["scalar", "array"])
def test_exception_in_f_propagates_unchanged(kw, x):
    err = Boom("from f")

    def f(t):
        if np.any(np.abs(np.real(t) - 0.5) > 1e-9):
            raise err
        return np.sin(t)

    with pytest.raises(Boom) as info:
        fd.derivative(f, x, **kw)
    assert info.value is err


@pytest.mark.parametrize("kw", [{}, {"vectorized": True}, {"method": "complex"}], ids=str)
def test_exception_in_f_keeps_its_traceback_and_leaks_nothing(kw):
    class RaisingF:
        def __call__(self, t):
            raise Boom("inside f")

    f = RaisingF()
    ref = weakref.ref(f)
    with pytest.raises(Boom) as info:
        fd.derivative(f, [0.5, 1.5], **kw)
    assert info.traceback[-1].name == "__call__"  # the frame in f is still there
    del f, info
    gc.collect()
    assert ref() is None  # no reference to f (or its frames) kept by the compiled loop


def test_vector_valued_f_points_to_jacobian():
    with pytest.raises(ValueError, match=r"one number per point.*fastdiff\.jacobian"):
        fd.derivative(lambda x: np.array([x, x]), 1.0)


def test_vectorized_f_of_the_wrong_shape_is_named():
    with pytest.raises(ValueError, match="same shape as its input"):
        fd.derivative(lambda x: np.sum(x), [1.0, 2.0], vectorized=True)


@pytest.mark.parametrize("method", ["central", "forward"])
@pytest.mark.parametrize("x", [1.0, [1.0, 2.0]], ids=["scalar", "array"])
def test_order_too_large_for_the_stencil_limit_is_named(method, x):
    # the C stencil holds at most MAX_POINTS offsets; beyond that, a clear error, no overflow
    with pytest.raises(ValueError, match=r"^`order` must be small enough for a stencil of at"):
        fd.derivative(np.sin, x, order=70, method=method)


def test_non_numeric_f_is_named():
    with pytest.raises(TypeError, match="`f` must return numbers"):
        fd.derivative(lambda x: "a", 1.0)


# ------------------------------------------------------------------------------------------
# Properties
# ------------------------------------------------------------------------------------------

points = st.floats(-3.0, 3.0, allow_nan=False)


@settings(deadline=None, max_examples=40)
@given(points, st.floats(-4, 4), st.floats(-4, 4))
def test_linearity(x, a, b):
    fa = fd.derivative(np.sin, x)
    fb = fd.derivative(np.exp, x)
    fab = fd.derivative(lambda t: a * np.sin(t) + b * np.exp(t), x)
    tol = fab.error + abs(a) * fa.error + abs(b) * fb.error + SLACK * (1 + abs(fab.df))
    assert abs(fab.df - (a * fa.df + b * fb.df)) <= tol


@settings(deadline=None, max_examples=40)
@given(st.floats(0.01, 3.0), st.sampled_from([1, 3, 5]))
def test_central_odd_derivative_of_an_even_function_vanishes_at_zero(c, n):
    # central stencils are antisymmetric for odd n: f(x) = cos(c x) gives exactly 0 at 0
    res = fd.derivative(lambda t: np.cos(c * t), 0.0, n=n)
    assert res.df == 0.0


@settings(deadline=None, max_examples=30)
@given(points)
def test_product_rule(x):
    fg = fd.derivative(lambda t: np.sin(t) * np.exp(t), x)
    ex = math.cos(x) * math.exp(x) + math.sin(x) * math.exp(x)
    assert abs(fg.df - ex) <= fg.error + SLACK * (1 + abs(ex))


# ------------------------------------------------------------------------------------------
# Confident-wrong and useless answers (issue 9), each as a user would call it
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["forward", "backward", "central"])
def test_vanishing_leading_term_is_not_taken_for_noise(method):
    # (x-1)^3 at 1: f'' = 0, so a one-sided base estimate runs like h^2, not h. Its column 0
    # then shrinks faster than predicted, which once counted as noise in f and gave a trusted
    # error bar of 5.9e4 for a true derivative of 0.
    res = fd.derivative(lambda x: (x - 1) ** 3, 1.0, method=method)
    assert res.success
    assert_honest(res, 0.0)
    assert res.error < 1e-15


def _cosc(x):
    # the naive formula (FiniteDifferences.jl's "cosc is hard"): cancels like eps / x^2
    return 0.0 if x == 0 else (math.cos(math.pi * x) - math.sin(math.pi * x) / (math.pi * x)) / x


@pytest.mark.parametrize("method", ["central", "forward", "backward"])
def test_cancelling_f_does_not_walk_down_to_a_false_zero(method):
    # Below h ~ 1e-8, f(+-h) rounds to exactly 0 = f(0): the ladder once took that exact zero
    # as the answer (df = 0, error = 12, trusted) although it had learned that f is noisy
    # there, which makes every finer candidate worthless.
    res = fd.derivative(_cosc, 0.0, method=method)
    assert res.success
    assert_honest(res, -(math.pi**2) / 3)
    assert res.error < 1e-3


@pytest.mark.parametrize("method", ["forward", "backward"])
def test_steps_below_the_resolution_of_f_are_no_evidence_of_zero(method):
    # log(1 + x^2) at 0, n = 6: for h < 1e-8 every value is exactly f(0) = 0, and an exact
    # zero with an error of 0 was trusted; the true derivative is -240.
    res = fd.derivative(lambda x: np.log(1 + x * x), 0.0, n=6, method=method)
    assert_honest(res, -240.0)


@pytest.mark.parametrize("method", ["forward", "backward"])
def test_an_error_bar_above_the_value_is_not_success(method):
    # d^3/dx^3 of 1/(x^2 + 0.01) at 0 is 0; one-sided stencils reach only error 11 (the poles
    # at +-0.1i are close), with df = -+0.35: a bar 30x the value says nothing about it.
    res = fd.derivative(lambda x: 1 / (x * x + 0.01), 0.0, n=3, method=method)
    assert not res.success
    assert res.status == Status.NOT_CONVERGED
    assert res.error > abs(res.df)


def test_zero_derivatives_within_rounding_still_succeed():
    # ... unless the derivative is zero to the accuracy the method reaches at f's scale.
    for f, n in ((np.cos, 1), (np.sin, 2), (lambda x: 1 / (1 + x * x), 3)):
        for method in ("central", "forward", "backward"):
            res = fd.derivative(f, 0.0, n=n, method=method)
            assert res.success, (f, n, method, res)
            assert_honest(res, 0.0)


def _on_0_2(x):
    """exp on [0, 2], NaN outside (an f defined on a closed interval, without `bounds`)."""
    return np.where((x >= 0) & (x <= 2), np.exp(x), np.nan)


@pytest.mark.parametrize("x", [0.0, 2.0])
@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("vectorized", [False, True])
def test_domain_edge_at_x_turns_the_stencil_one_sided(x, n, vectorized):
    # central stencils always meet NaN there: they once ended with status -2
    res = fd.derivative(_on_0_2, np.array([x]) if vectorized else x, n=n, vectorized=vectorized)
    assert np.all(res.success) and np.all(res.status == Status.DOMAIN_ADAPTED), res
    assert_honest(res, np.exp(x))
    assert np.all(res.error < {1: 1e-8, 2: 1e-6, 3: 1e-3}[n])


def test_domain_edge_near_x_keeps_the_central_stencil():
    # a domain edge farther than ~2e-5 away is left to the shrinking central stencil
    res = fd.derivative(np.log, 1e-3)
    assert res.status == Status.DOMAIN_ADAPTED
    assert_honest(res, 1e3)
    assert res.error < 1e-8


@pytest.mark.parametrize("x", [1e-12, 1e-9])
def test_log_next_to_its_bound_converges(x):
    # one-sided from 1e-12 with a first step of 1/8, 30 levels never reached the scale of
    # log's singularity (status -3); the first step now starts within reach of it
    res = fd.derivative(np.log, x, bounds=(0, np.inf))
    assert res.success and res.status == Status.BOUNDS_ADAPTED
    assert_honest(res, 1 / x)
    assert res.error * x < 1e-9


# issue 10: derivative()'s first step per n and stencil (_steps.INITIAL_STEP_EXPONENTS), set
# on the honesty study; the threshold of a "zero" derivative moves with it


@pytest.mark.parametrize("method", ["central", "forward", "backward"])
@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("vectorized", [False, True])
def test_the_first_level_is_at_the_tuned_first_step(method, n, vectorized):
    # the farthest point f sees is the first level's outermost offset times h0 (steps shrink)
    from fastdiff import _steps
    from fastdiff._derivative import default_order
    from fastdiff._stencils import stencil

    x0, seen = 3.0, []

    def f(x):
        seen.append(np.abs(np.asarray(x, dtype=float) - x0).max())
        return np.exp(x)

    res = fd.derivative(
        f, np.array([x0]) if vectorized else x0, n=n, method=method, vectorized=vectorized
    )
    reach = max(abs(c) for c in stencil(method, n, default_order(method, n)).offsets)
    h0 = 4.0 * 2.0 ** _steps.initial_step_exponent(n, method)  # scale: 4 >= max(|x|, 1)
    assert max(seen) == reach * h0
    assert np.all(res.success)


def test_the_zero_threshold_is_one_multiple_of_the_scale_for_every_first_step():
    # ZERO_RTOL times sum|w f| / h0^n, with sum|w f| ~ |f|: zero_rtol(n, method) / h0^n is the
    # same whatever the first step, so "zero to within reach" means the same in units of f
    from fastdiff import _steps

    for n in range(1, 7):
        base = _steps.zero_rtol(n) * 2.0 ** (-n * _steps.initial_step_exponent(n))
        for method in ("central", "forward", "backward"):
            tuned = _steps.zero_rtol(n, method) * 2.0 ** (
                -n * _steps.initial_step_exponent(n, method)
            )
            assert tuned == base, (n, method)
