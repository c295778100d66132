"""DualArray's compiled fast paths (fastdiff._kernels._dualarray.DualBase): each must give
bitwise what the Python code it short-cuts gives, and hand every other case to that code."""

from __future__ import annotations

import numpy as np
import pytest

from fastdiff import Dual, DualArray
from fastdiff._dualarray import _sum
from fastdiff._kernels import _dual, _dualarray

EPS = float(np.finfo(np.float64).eps)
SHAPES = [(1,), (5,), (7,), (8,), (9,), (17,), (128,), (129,), (300,), (3, 4), (1, 16), (2, 3, 5)]


@pytest.fixture
def tag():
    t = _dual.open_tag()
    yield t
    _dual.close_tag(t)


def make(shape, m, k, tag, seed, absolute=False, lane=None):
    g = np.random.default_rng(seed)
    v = g.normal(size=shape) * 10.0 ** g.uniform(-3, 3, size=shape)
    t = g.normal(size=(m, *shape))
    if absolute:
        t = np.abs(t)
    d = DualArray._make(v, t, k, tag, absolute)
    d._n = int(g.integers(0, 5))
    d._lane = lane
    return d


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("mode", ["plain", "bound", "lane"])
def test_sum_all_is_the_general_sum_bit_for_bit(shape, mode, tag):
    # fd_dualarray_sum promises NumPy's pairwise order: the value is np.sum of the values, each
    # tangent row the general code's `t.sum(axes)`, and the bound's error row gains the same
    # (L eps) sum |v|; the general code runs for axis=(all axes), which the fast path leaves
    k = 3
    m = {"plain": k, "bound": k + 1, "lane": k + k + 1}[mode]
    lane = (k, k, [False]) if mode == "lane" else None
    x = make(shape, m, k, tag, 1, absolute=mode == "bound", lane=lane)
    axes = tuple(range(len(shape)))
    for d in (x, x[1:] if len(shape) == 1 and shape[0] > 1 else x):
        fast = np.sum(d)
        assert _dualarray.sum_all(d) is not None
        general = _sum(d, axis=axes)
        assert fast._n == general._n
        assert fast._v.shape == general._v.shape == ()
        np.testing.assert_array_equal(fast._v, np.sum(d._v))
        np.testing.assert_array_equal(fast._v, general._v)
        np.testing.assert_array_equal(fast._t, general._t)
        assert fast._lane is d._lane and fast._abs == d._abs
        np.testing.assert_array_equal(d.sum()._t, general._t)


def test_sum_keeps_minus_zero_rules_and_empty_arrays(tag):
    d = DualArray._make(np.array([-0.0, -0.0]), np.array([[-0.0, -0.0]]), 1, tag)
    s = np.sum(d)
    assert np.signbit(s._v) == np.signbit(np.sum(d._v))  # +0, as np.sum gives
    e = DualArray._make(np.zeros(0), np.zeros((2, 0)), 2, tag)
    s = np.sum(e)
    assert float(s._v) == 0.0 and s._t.tolist() == [0.0, 0.0] and s._n == e._n


def test_slices_of_1d_arrays_match_the_general_indexing(tag):
    x = make((10,), 4, 4, tag, 2)
    for key in [
        slice(1, None),
        slice(None, -1),
        slice(2, 7, 2),
        slice(None, None, -1),
        slice(5, 2),
        slice(-3, None),
    ]:
        fast = x[key]
        general = DualArray._getitem_general(x, key)
        np.testing.assert_array_equal(fast._v, general._v)
        np.testing.assert_array_equal(fast._t, general._t)
        assert (fast._unit, fast._n, fast._k) == (general._unit, general._n, general._k)
    y = x[2:5]  # a view: an assignment through it reaches x (values and partials)
    y[0] = _dual.make(7.0, [3.0] * 4, tag)
    assert x._v[2] == 7.0 and x.partials[2].tolist() == [3.0] * 4


def test_integer_indices_of_1d_arrays_match_the_general_indexing(tag):
    # DualBase's x[i] (the 0-d view of lanes, magnitude rows, second-order rows) against
    # DualArray._getitem_general, each on its own copy (taking a view may own the tangents)
    def arrays():
        g = np.random.default_rng(2)
        v = g.normal(size=6)
        plain = DualArray._make(v.copy(), g.normal(size=(3, 6)), 3, tag)
        lane = DualArray._make(v.copy(), g.normal(size=(3 + 2 + 1, 6)), 3, tag)
        lane._lane = (3, 2, [False])
        mag = DualArray._make(v.copy(), np.abs(g.normal(size=(4, 6))), 3, tag, True)
        second = DualArray._make(v.copy(), g.normal(size=(2 + 4, 6)), 2, tag)
        shared = DualArray._make(v.copy(), g.normal(size=(4, 6)), 3, tag, True)
        shared._td.flags.writeable = False  # (read-only tangents: owned before the view)
        return plain, lane, mag, second, shared

    for j in range(5):
        for i in (0, 3, 5, -1, -6):
            a, b = arrays()[j], arrays()[j]
            fast, general = a[i], DualArray._getitem_general(b, i)
            if j == 0:  # a plain first-order element is a Dual, from the general code
                assert (
                    isinstance(fast, Dual) and fast.partials.tolist() == general.partials.tolist()
                )
                continue
            assert type(fast) is DualArray and fast._v.shape == () == general._v.shape
            assert fast._n == general._n and fast._k == general._k and fast._abs == general._abs
            assert fast._lane is a._lane and general._lane is b._lane
            np.testing.assert_array_equal(fast._v, general._v)
            np.testing.assert_array_equal(fast._t, general._t)
            assert fast._t.base is not None and fast._t.flags.writeable  # a view of x's rows
            np.testing.assert_array_equal(a._t, b._t)
    for i in (6, -7, 2**70, -(2**70)):  # out of range: NumPy's IndexError, from the general code
        with pytest.raises(IndexError):
            arrays()[1][i]


def test_slices_keep_the_unit_seed_structure(tag):
    # x itself in a whole-x Jacobian chunk: rows 0 .. n-1 are the unit seeds
    x = DualArray._make(np.arange(6.0), np.eye(6), 6, tag)
    x._eye, x._unit = True, 0
    a = x[2:]
    assert a._unit == 2 and a._family is x._family and x._family == [True]
    assert x[::2]._unit == _dualarray.NO_UNIT  # not a contiguous run
    a[0] = 1.0  # an assignment voids the structure of the whole family
    assert x._family == [False] and x[1:]._unit == _dualarray.NO_UNIT


def test_read_only_tangents_are_owned_before_a_slice_is_taken(tag):
    x = make((6,), 2, 2, tag, 3)
    y = x + 1.0  # shares x's tangents, read-only
    assert not y._t.flags.writeable
    z = y[1:]
    z[0] = 0.0
    assert x._t[:, 1].tolist() != [0.0, 0.0]  # x's own partials untouched


def test_other_operands_go_to_the_general_code(tag):
    x = make((4,), 3, 3, tag, 4)
    assert isinstance(x[1], Dual)  # an integer key: the general code
    assert x[np.array([0, 2])].shape == (2,)
    assert x[1:, None].shape == (3, 1)  # a tuple key: the general code
    m = make((2, 3), 3, 3, tag, 5)
    assert m[1:].shape == (1, 3) and m[:, 1:].shape == (2, 2)
    assert (x**3).shape == (4,) and (2.0**x).shape == (4,)
    np.testing.assert_array_equal((x**2)._t, (x * x)._t)
    assert (x + np.ones((2, 4))).shape == (2, 4)  # broadcasting
    with pytest.raises(TypeError):
        pow(x, 2, 3)


def test_hessian_bound_is_the_numpy_expression_bit_for_bit():
    # fd_dualarray_hessian_bound: (H + H^T) / 2 and gamma * mag[groups][:, groups] + eps |h|
    g = np.random.default_rng(7)
    for n, ng in [(1, 1), (5, 3), (10, 8), (17, 8)]:
        hess = g.normal(size=(n, n)) * 10.0 ** g.uniform(-5, 5, size=(n, n))
        mag = np.abs(g.normal(size=(ng, ng)))
        groups = (np.arange(n) * ng) // n
        gamma = 37 * np.finfo(float).eps
        h, out, bad = _dualarray.hessian_bound(hess, mag, groups, gamma)
        ref = 0.5 * (hess + hess.T)
        np.testing.assert_array_equal(h, ref)
        np.testing.assert_array_equal(h, h.T)  # exactly symmetric
        np.testing.assert_array_equal(
            out, gamma * mag[groups][:, groups] + np.finfo(float).eps * np.abs(ref)
        )
        assert bad == 0
        # the lane hands the magnitude rows over signed: the kernel takes |mag| itself
        signed = mag * np.where(g.random(size=mag.shape) < 0.5, -1.0, 1.0)
        h2, out2, bad2 = _dualarray.hessian_bound(hess, signed, groups, gamma)
        np.testing.assert_array_equal(h2, h)
        np.testing.assert_array_equal(out2, out)
        assert bad2 == 0
    hess[0, 1] = np.inf
    mag[0, 0] = np.nan
    _, _, bad = _dualarray.hessian_bound(hess, mag, groups, gamma)
    expect = ~(np.isfinite(0.5 * (hess + hess.T)) & np.isfinite(mag[groups][:, groups]))
    assert bad == int(expect.sum())
    with pytest.raises(ValueError, match="group index"):
        _dualarray.hessian_bound(hess, mag, groups + 100, gamma)


def test_finite_float64_accepts_only_finite_contiguous_float64():
    ok = [np.ones(3), np.array(2.0), np.array([1e308, -1e308]), np.zeros((2, 3))]
    bad = [
        np.array([1.0, np.inf]),
        np.array([np.nan, 1.0]),
        np.array([-np.inf]),
        np.zeros(0),
        np.ones((2, 3)).T,  # (not C-contiguous: the general checks run)
        np.ones(3, dtype=np.float32),
        np.ones(3, dtype=">f8"),
    ]
    assert all(_dualarray.finite_float64(a) for a in ok)
    assert not any(_dualarray.finite_float64(a) for a in bad)


def _group_seeded(x, ng, tag):
    """x as `_magnitudes` seeds it for the Jacobian's bound: the group rows and a zero error
    row (read-only, as `_bound_seed` caches them), with the `_groups` structure."""
    from fastdiff._forward import _bound_seed

    groups, rows = _bound_seed(x.size, ng, False)
    t = rows.reshape((rows.shape[0], *x.shape))
    d = DualArray._make(x.copy(), t, rows.shape[0] - 1, tag, True)
    d._groups = (groups, t)
    return d, groups


@pytest.mark.parametrize(
    ("p", "q", "ng"), [(1, 1, 16), (3, 5, 16), (7, 40, 16), (100, 100, 16), (9, 33, 4), (6, 20, 1)]
)
@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_group_matvec_sums_are_the_exact_group_sums_to_rounding(p, q, ng, layout, tag):
    # fd_dualarray_group_matvec_abs against exact rational arithmetic: row r of |A| @ rows is
    # the sum of |A[i, j]| over group r (each sum of L terms within (L - 1) eps of it, as any
    # order of summation is), the error row (q + 1) eps (|A| @ |x|) to the same level; and the
    # general path's GEMM (the fast path off) gives the same numbers to that rounding
    from fractions import Fraction

    from fastdiff import _dualarray as D

    g = np.random.default_rng(p * 1000 + q)
    big = g.normal(size=(2 * p, 2 * q)) * 10.0 ** g.uniform(-3, 3, size=(2 * p, 2 * q))
    A = {"C": big[:p, :q].copy(), "F": np.asfortranarray(big[:p, :q]), "strided": big[::2, ::2]}[
        layout
    ]
    x = g.normal(size=q) * 10.0 ** g.uniform(-2, 2, size=q)
    X, groups = _group_seeded(x, ng, tag)
    assert D._groups_of(X) is groups
    fast = A @ X
    c = (q + 1) * EPS
    assert fast._abs and fast._n == q + 1 and fast._t.shape == (groups[-1] + 2, p)
    np.testing.assert_array_equal(fast._v, A @ x)
    for r in range(int(groups[-1]) + 1):
        cols = np.flatnonzero(groups == r)
        for i in range(p):
            exact = sum(Fraction(abs(float(A[i, j]))) for j in cols)
            got = Fraction(float(fast._t[r, i]))
            assert abs(got - exact) <= Fraction(max(len(cols) - 1, 0) * EPS) * exact
    for i in range(p):
        terms = (Fraction(abs(float(A[i, j]))) * Fraction(abs(x[j])) for j in range(q))
        exact = Fraction(c) * sum(terms)
        assert abs(Fraction(float(fast._t[-1, i])) - exact) <= Fraction((q + 1) * EPS) * exact
    orig = D._groups_of
    D._groups_of = lambda _: None
    try:
        general = A @ X
    finally:
        D._groups_of = orig
    assert general._n == fast._n and general._k == fast._k
    np.testing.assert_array_equal(general._v, fast._v)
    np.testing.assert_allclose(fast._t, general._t, rtol=2 * q * EPS, atol=0)


def test_group_matvec_keeps_non_finite_entries_and_leaves_other_shapes(tag):
    A = np.ones((3, 4))
    A[1, 2] = np.inf
    X, _ = _group_seeded(np.ones(4), 16, tag)
    t = (A @ X)._t
    # the zero error row times an inf is NaN, as the GEMM gives; the group sums keep the inf
    assert np.isnan(t[-1, 1]) and np.isfinite(t[-1, [0, 2]]).all() and t[2, 1] == np.inf
    M, _ = _group_seeded(np.ones(4), 16, tag)
    assert (np.ones(4) @ M)._t.shape == (5,)  # (a 1-d A: the general path)
    assert (np.ones((2, 3, 4)) @ M)._t.shape == (5, 2, 3)  # (3-d A: the general path)
    with pytest.raises(ValueError, match="nondecreasing"):
        _dualarray.group_matvec_abs(A, np.ones(4), np.array([0, 1, 0, 1]), 2, EPS)
    with pytest.raises(ValueError, match="columns"):
        _dualarray.group_matvec_abs(A, np.ones(3), np.array([0, 1, 2]), 3, EPS)


def test_an_assignment_voids_the_group_structure(tag):
    # the structure holds while x's tangents are the seed rows themselves; writing into x, or
    # into a view of x, copies them first (they are read-only), which ends it
    from fastdiff import _dualarray as D

    A = np.random.default_rng(3).normal(size=(5, 6))
    for write in ("item", "view"):
        X, _ = _group_seeded(np.arange(6.0), 3, tag)
        if write == "item":
            X[2] = 7.0  # a constant: its rows become 0
        else:
            X[1:4][0] = 7.0
        assert D._groups_of(X) is None
        expect = X._t[:-1].reshape(X._t.shape[0] - 1, -1) @ np.abs(A).T
        np.testing.assert_allclose((A @ X)._t[:-1], expect, rtol=1e-15)
        assert ((A @ X)._t[:-1, :] <= np.abs(A).sum(axis=1) + 1e-12).all()
    Y, _ = _group_seeded(np.arange(6.0), 3, tag)
    assert D._groups_of(Y + 1.0) is None and D._groups_of(Y[1:]) is None


UNARY_UFUNCS = {
    n: getattr(np, n)
    for n in _dual.RULE_NAMES
    if _dual.RULE_ARITY[n] == 1 and isinstance(getattr(np, n, None), np.ufunc) and n != "square"
}  # (np.square is the product rule of `_square`, not the unary rule)


def _same(fast, general):
    assert type(fast) is DualArray and fast._n == general._n and fast._k == general._k
    assert fast._abs == general._abs and fast._lane is None and not fast._eye
    assert fast._v.shape == general._v.shape and fast._t.shape == general._t.shape
    np.testing.assert_array_equal(fast._v, general._v)
    np.testing.assert_array_equal(fast._t, general._t)


@pytest.mark.parametrize("name", list(UNARY_UFUNCS))
@pytest.mark.parametrize("count", [0, 1, 7, 100])
def test_unary_fast_paths_are_the_general_unary_bit_for_bit(name, count, tag):
    # DualBase's one-call unary (element-major first-order tangents, and the bound's magnitude
    # rows) against fastdiff._dualarray._unary, which the other layouts still take
    from fastdiff._dualarray import _RULES, _unary

    rule = _RULES[name]
    g = np.random.default_rng(count)
    v = g.uniform(0.1, 0.9, size=count)  # (inside every rule's domain)
    em = DualArray._make(v.copy(), np.asfortranarray(g.normal(size=(5, count))), 5, tag)
    em._n = 3
    mag = DualArray._make(v.copy(), np.abs(g.normal(size=(4, count))), 3, tag, True)
    mag._n = 2
    # first-order rows, row-major: a jvp's one row, a dense layer's m rows, values of any shape
    jvp = DualArray._make(v.copy(), g.normal(size=(1, count)), 1, tag)
    rows = DualArray._make(v.copy(), g.normal(size=(6, count)), 6, tag)
    rows._n = 4
    grid = DualArray._make(
        np.resize(v, (2, 3, count)), g.normal(size=(3, 2, 3, count)), 3, tag
    )  # (np.resize repeats v: inside the domain)
    for x in (em, mag, jvp, rows, grid):
        fast = UNARY_UFUNCS[name](x)
        _same(fast, _unary(rule, x))


@pytest.mark.parametrize("c", [3, -1, 0.5, 2.5, -3.0, 7, 1e-3, float("nan")])
@pytest.mark.parametrize("shape", [(0,), (1,), (100,), (3, 4)])
def test_power_of_a_constant_is_the_general_power_bit_for_bit(c, shape, tag):
    # DualBase's x**c (plain first-order rows, the bound's magnitude rows) against
    # fastdiff._dualarray._power_const, the general code it short-cuts
    from fastdiff._dualarray import _power_const

    g = np.random.default_rng(len(shape) + shape[0])
    v = g.uniform(-3.0, 3.0, size=shape)  # (negative bases: NaN for fractional c, as there)
    plain = DualArray._make(v.copy(), g.normal(size=(2, *shape)), 2, tag)
    plain._n = 2
    mag = DualArray._make(v.copy(), np.abs(g.normal(size=(3, *shape))), 2, tag, True)
    mag._n = 4
    for x in (plain, mag):
        with np.errstate(all="ignore"):
            _same(x**c, _power_const(x, x._v, c))
    # 0, 1 and 2, second-order rows and NumPy-scalar exponents: the general code's
    second = DualArray._make(v.copy(), g.normal(size=(2 + 4, *shape)), 2, tag)
    with np.errstate(all="ignore"):
        for x, e in ((plain, 2), (plain, 1.0), (plain, 0), (second, 3), (plain, np.float64(3))):
            np.testing.assert_array_equal((x**e)._t, _power_const(x, x._v, e)._t)


def test_matvec_fast_paths_are_the_general_matmul_bit_for_bit(tag):
    from fastdiff._dualarray import _matmul

    g = np.random.default_rng(5)
    for p, q in [(1, 1), (3, 7), (100, 100), (20, 9)]:
        A = g.normal(size=(p, q))
        x = g.normal(size=q)
        eye = DualArray._make(x.copy(), np.eye(q), q, tag)
        eye._eye, eye._unit, eye._n = True, 0, 2
        grouped, _ = _group_seeded(x, 16, tag)
        grouped._n = 1
        for X in (eye, grouped):
            for M in (A, np.asfortranarray(A), A[:, ::-1]):
                fast = M @ X
                general = _matmul(M, X)
                _same(fast, general)
                assert fast._t.flags.writeable == general._t.flags.writeable
    # plain first-order rows (a jvp's one row, m rows of any layout) and the bound's plain
    # magnitude rows (last row: the values' error): the general product, in one call
    for p, q in [(1, 1), (3, 7), (100, 100), (20, 9)]:
        A = g.normal(size=(p, q))
        x = g.normal(size=q)
        one = DualArray._make(x.copy(), g.normal(size=(1, q)), 1, tag)
        many = DualArray._make(x.copy(), np.asfortranarray(g.normal(size=(4, q))), 4, tag)
        many._n = 3
        mag = DualArray._make(x.copy(), np.abs(g.normal(size=(3, q))), 2, tag, True)
        mag._n = 5
        for X in (one, many, mag):
            for M in (A, np.asfortranarray(A), A[:, ::-1]):
                _same(M @ X, _matmul(M, X))
        # second-order rows (a Hessian's) are the general code's
        second = DualArray._make(x.copy(), g.normal(size=(2 + 4, q)), 2, tag)
        np.testing.assert_array_equal((A @ second)._t, _matmul(A, second)._t)
    # x without seed structure, or whose structure an assignment voided, and an integer A:
    # the general path
    X = DualArray._make(np.ones(3), np.ones((2, 3)), 2, tag)
    assert _dualarray.DualBase.__array_ufunc__(
        X, np.matmul, "__call__", np.ones((2, 3)), X
    )._t.shape == (2, 2)
    Y = DualArray._make(np.ones(3), np.eye(3), 3, tag)
    Y._eye, Y._family = True, [False]
    np.testing.assert_array_equal((np.ones((2, 3)) @ Y)._t, np.ones((3, 2)))
    Z = DualArray._make(np.ones(3), np.eye(3), 3, tag)
    Z._eye = True
    np.testing.assert_array_equal((np.arange(6).reshape(2, 3) @ Z)._t, np.arange(6).reshape(2, 3).T)


def test_lane_matvec_is_the_laned_general_matmul_bit_for_bit(tag):
    # the Jacobian's lane (unit seeds, then the bound's group seeds): the compiled A @ x
    # writes both lanes' products into one array, as `_laned` + `_lane_merge` build it
    from fastdiff._dualarray import _LaneMiss, _matmul
    from fastdiff._forward import _lane_seeds

    g = np.random.default_rng(9)
    for p, n in [(1, 1), (7, 5), (40, 40), (90, 30)]:
        A, x = g.normal(size=(p, n)), g.normal(size=n)
        groups, seed = _lane_seeds(n, False, 0)
        X = DualArray._make(x.copy(), seed, n, tag)
        X._eye, X._unit, X._n = True, 0, 1
        X._groups = (groups, X._t)
        for budget in ([False], [False, 2**14]):
            X._lane = (n, int(groups[-1]) + 1, budget)
            if len(budget) > 1 and 8 * n * p > budget[1]:  # over the lane's copy budget
                with pytest.raises(_LaneMiss):  # (the general code's decision)
                    A @ X
                assert budget[0]
                continue
            fast, general = A @ X, _matmul(A, X)
            assert fast._lane is X._lane and general._lane is X._lane
            assert fast._n == general._n and fast._t.shape == general._t.shape
            np.testing.assert_array_equal(fast._v, general._v)
            np.testing.assert_array_equal(fast._t, general._t)
            assert not budget[0]


def test_group_matvec_of_no_columns_is_zero():
    # q = 0 (an empty x): every sum is empty, the tangents all zero, as the GEMM gives
    t = _dualarray.group_matvec_abs(np.ones((3, 0)), np.ones(0), np.zeros(0, np.intp), 2, EPS)
    np.testing.assert_array_equal(t, np.zeros((3, 3)))
