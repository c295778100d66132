"""The compiled level loops and layouts of the array verbs (issue 10, fixed overhead) against
the NumPy constructions they replace, bit for bit: first steps, point columns, the Hessian's
point layout, and whole ladders run level by level in one call."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastdiff as fd
from fastdiff import _derivative, _multivariate, _steps
from fastdiff._kernels import _finite_diff

finite = st.floats(-1e300, 1e300, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(
    x=st.lists(finite | st.sampled_from([0.0, 1.0, -1.0, 2.0, -0.5, 4.0, 5e-324]), max_size=8),
    e=st.integers(-8, 2),
)
def test_scaled_steps_are_scale_of_times_the_factor(x, e):
    x = np.array(x, dtype=np.float64)
    got = _finite_diff.scaled_steps(x, 2.0**e)
    assert got.tobytes() == (_steps.scale_of(x) * 2.0**e).tobytes()


@settings(max_examples=200, deadline=None)
@given(
    x=st.lists(finite | st.sampled_from([0.0, 1.0, -1.0, 1.7e308, -1.7e308, 5e-324]), max_size=8),
    e=st.integers(-8, 2),
)
def test_scaled_steps_with_spacing_are_the_spacing_f_sees(x, e):
    """spacing=True: (x + h) - x in the same doubles as NumPy's two operations."""
    x = np.array(x, dtype=np.float64)
    with np.errstate(all="ignore"):  # near the largest float, h and x + h overflow to inf
        h = _steps.scale_of(x) * 2.0**e
        want = (x + h) - x
    assert _finite_diff.scaled_steps(x, 2.0**e, True).tobytes() == want.tobytes()


def test_point_columns_with_leading_copies_of_the_base():
    rng = np.random.default_rng(4)
    base = rng.normal(size=5)
    i1 = rng.integers(0, 5, 6).astype(np.intp)
    v1 = rng.normal(size=6)
    got = _finite_diff.point_columns(base, i1, v1, lead=2)
    assert got.shape == (5, 8)
    assert np.array_equal(got[:, :2], np.repeat(base[:, None], 2, axis=1))
    assert np.array_equal(got[:, 2:], numpy_columns(base, i1, v1))
    with pytest.raises(ValueError):
        _finite_diff.point_columns(base, i1, v1, lead=-1)


def test_pair_setup_is_the_numpy_bookkeeping():
    """The Hessian pairs' starting state, as _hessian_round computed it with NumPy."""
    rng = np.random.default_rng(5)
    for N in (1, 2, 3, 7):
        x = rng.normal(size=N)
        h0 = 2.0 ** rng.integers(-8, 0, N).astype(np.float64)
        side = rng.integers(0, 3, N).astype(np.intc)
        flags = rng.integers(0, 4, N).astype(np.intc)
        pi, pj = (np.ascontiguousarray(v, dtype=np.intp) for v in np.triu_indices(N, 1))
        direction = np.where(side == 2, -1.0, 1.0)
        one_sided = (side[pi] != 0) | (side[pj] != 0)
        pside = np.where(one_sided, np.where(direction[pi] * direction[pj] > 0, 1, 2), 0)
        want = (direction, pside, flags[pi] | flags[pj], x[pi], h0[pi], x[pj], h0[pj] / h0[pi])
        got = _finite_diff.pair_setup(x, h0, side, flags, pi, pj)
        assert [g.dtype for g in got[1:3]] == [np.intc, np.intc]
        for g, w in zip(got, want, strict=True):
            assert np.array_equal(g, w)
    with pytest.raises(IndexError):
        one = np.zeros(1, dtype=np.intc)
        _finite_diff.pair_setup(
            np.zeros(1), np.ones(1), one, one, np.array([0], np.intp), np.array([1], np.intp)
        )


def test_ladder_turned_lists_the_groups_whose_side_changed():
    """Ladder.turned(side) is (Ladder.sides(all groups) != side).nonzero()[0]."""
    config = _derivative.ladder_config(2, "central", 2, False, None, None)
    N = 4
    L = _finite_diff.Ladder(config, 1, float(np.finfo(float).eps), N)
    side = np.zeros(N, dtype=np.intc)
    f0 = np.zeros((N, 2))
    f0[2, 0] = np.nan  # f(x) not finite: that ladder is done at once
    L.init(np.linspace(0.5, 2.0, N), np.full(N, 0.125), side, np.zeros(N, np.intc), f0)
    all_groups = np.arange(N, dtype=np.intp)
    for s in (side, np.array([0, 1, 0, 2], dtype=np.intc)):
        want = (L.sides(all_groups) != s).nonzero()[0]
        assert np.array_equal(L.turned(s), want)
    with pytest.raises(ValueError):
        L.turned(side[:2])


def numpy_columns(base, i1, v1, i2=None, v2=None):
    X = np.repeat(base[:, None], i1.size, axis=1)
    cols = np.arange(i1.size)
    X[i1, cols] = v1
    if i2 is not None:
        two = i2 >= 0
        X[i2[two], cols[two]] = v2[two]
    return X


def test_point_columns_are_the_numpy_construction():
    rng = np.random.default_rng(3)
    base = rng.normal(size=7)
    i1 = rng.integers(0, 7, 20).astype(np.intp)
    v1 = rng.normal(size=20)
    i2 = np.where(rng.random(20) < 0.5, -1, (i1 + 1) % 7).astype(np.intp)
    v2 = rng.normal(size=20)
    assert np.array_equal(_finite_diff.point_columns(base, i1, v1), numpy_columns(base, i1, v1))
    got = _finite_diff.point_columns(base, i1, v1, i2, v2)
    assert np.array_equal(got, numpy_columns(base, i1, v1, i2, v2))
    with pytest.raises(IndexError):
        _finite_diff.point_columns(base, np.array([7], dtype=np.intp), np.zeros(1))
    with pytest.raises(ValueError):
        _finite_diff.point_columns(base, i1, v1[:3])


def reference_layout(hd, hp, pi, pj, side, npt, omat, pside, direction):
    """The layout as the Hessian's level loop built it with NumPy before hessian_layout."""
    N = side.size
    need = sorted(set(hd) | set(pi[hp]) | set(pj[hp]))
    start, i1, o1 = {}, [], []
    for c in need:
        start[c] = len(i1)
        for k in range(npt[side[c]]):
            i1.append(c)
            o1.append(omat[side[c], k])
    A = len(i1)
    drows = None
    if len(hd) < len(need):
        drows = [r for r in range(A) if i1[r] in set(hd)]
    cen = [p for p in hp if pside[p] == 0]
    one = [p for p in hp if pside[p] != 0]
    ci = [pi[p] for p in cen] * 2 + [pi[p] for p in one]
    cj = [pj[p] for p in cen] * 2 + [pj[p] for p in one]
    si = [1.0] * len(cen) + [-1.0] * len(cen) + [direction[pi[p]] for p in one]
    sj = [1.0] * len(cen) + [-1.0] * len(cen) + [direction[pj[p]] for p in one]
    g, kc, ko = [], 0, 0
    for p in hp:
        s_i, s_j = start[pi[p]], start[pj[p]]
        if pside[p] == 0:
            g += [A + kc, A + len(cen) + kc, s_i, s_i + 1, s_j, s_j + 1]
            kc += 1
        else:
            g += [A + 2 * len(cen) + ko, s_i, s_j]
            ko += 1
    assert N == direction.size
    return (i1 + ci, o1 + si, [-1] * A + cj, [0.0] * A + sj, g, drows, A)


@settings(max_examples=100, deadline=None)
@given(
    N=st.integers(1, 6),
    sides=st.lists(st.sampled_from([0, 0, 1, 2]), min_size=6, max_size=6),
    keep_d=st.lists(st.booleans(), min_size=6, max_size=6),
    keep_p=st.lists(st.booleans(), min_size=15, max_size=15),
)
def test_hessian_layout_is_the_reference_layout(N, sides, keep_d, keep_p):
    side = np.array(sides[:N], dtype=np.intc)
    pi, pj = np.triu_indices(N, 1)
    pi, pj = pi.astype(np.intp), pj.astype(np.intp)
    hd = np.flatnonzero(keep_d[:N]).astype(np.intp)
    hp = np.flatnonzero(keep_p[: pi.size]).astype(np.intp)
    npt, omat = _multivariate._axis_offsets(2, (2, 1, 1))
    direction = np.where(side == 2, -1.0, 1.0)
    one_sided = (side[pi] != 0) | (side[pj] != 0)
    pside = np.where(one_sided, np.where(direction[pi] * direction[pj] > 0, 1, 2), 0)
    pside = pside.astype(np.intc)
    got = _finite_diff.hessian_layout(hd, hp, pi, pj, side, npt, omat, pside, direction)
    want = reference_layout(hd, hp, pi, pj, side, npt, omat, pside, direction)
    for g, w in zip(got[:5], want[:5], strict=True):
        assert np.asarray(g).tolist() == list(w)
    assert (got[5] is None) == (want[5] is None)
    if want[5] is not None:
        assert got[5].tolist() == want[5]
    assert got[6] == want[6]


def level_by_level(L, x, h0, side, flags, f0, f):
    """Ladder blocks run with the Python loop the compiled run_blocks replaces."""
    out, nfev = [], 0
    for s in range(0, x.size, L.capacity):
        b = slice(s, s + L.capacity)
        L.init(x[b], h0[b], side[b], flags[b], f0[b])
        idx = L.active()
        while idx.size:
            pts = L.points(idx)
            nfev += pts.size
            idx = idx[: L.update(idx, np.ascontiguousarray(f(pts), dtype=np.float64))]
        out.append(L.results())
    return [np.concatenate(v) for v in zip(*out, strict=True)], nfev


@pytest.mark.parametrize("n, method", [(1, "central"), (2, "forward"), (3, "central")])
def test_run_blocks_is_the_level_loop(n, method):
    x = np.linspace(-3.0, 12.0, 301)
    a = _derivative._validate_derivative_args(
        np.sin, x, n, method, None, None, None, None, None, True, (), None, None
    )
    side, h0, flags = _derivative._sides_and_steps(a, x)
    f0 = np.zeros((x.size, 2))
    f0[:, 0] = np.log1p(np.abs(x)) * np.sin(x)

    def f(p):  # a domain edge at -1 (NaN below), a float32 value: both rare paths
        return np.where(p > -1.0, np.log1p(np.abs(p)) * np.sin(p), np.nan).astype(np.float32)

    f0[:, 0] = f(x)
    cfg = _derivative.ladder_config(n, method, a.order, False, None, None)
    L = _finite_diff.Ladder(cfg, 1, 1e-7, 64)  # five blocks
    want, nfev = level_by_level(L, x, h0, side, flags, f0, f)
    *got, got_nfev = L.run_blocks(x, h0, side, flags, f0, f)
    assert got_nfev == nfev
    for g, w in zip(got, want, strict=True):
        assert g.tobytes() == w.tobytes()


def test_run_blocks_never_reads_past_the_values():
    x = np.linspace(0.0, 1.0, 5)
    cfg = _derivative.ladder_config(1, "central", 2, False, None, None)
    L = _finite_diff.Ladder(cfg, 1, 1e-16, 5)
    one = np.ones(5, dtype=np.intc)
    with pytest.raises(ValueError, match="expected 10"):
        L.run_blocks(x, x + 0.1, one * 0, one * 0, np.zeros((5, 2)), lambda p: np.sin(p[:3]))
    with pytest.raises(ValueError, match="expected 10"):
        L.run_levels(np.arange(5), lambda own, p: np.sin(p[:3]))


def test_run_levels_is_the_level_loop_with_owners():
    x = np.array([0.3, -1.2, 2.5])
    cfg = _derivative.ladder_config(1, "central", 2, False, None, None)
    h0 = _steps.scale_of(x) / 8
    side, flags = np.zeros(3, dtype=np.intc), np.zeros(3, dtype=np.intc)

    def F(p):  # two outputs per point: a group of 2
        return np.stack([np.exp(p), np.sin(3 * p)], axis=1)

    f0 = np.ascontiguousarray(np.stack([np.exp(x), 0 * x, np.sin(3 * x), 0 * x], axis=1))
    A = _finite_diff.Ladder(cfg, 1, 1e-16, 3, 2)
    A.init(x, h0, side, flags, f0)
    idx = A.active()
    npts = np.array([2, 1, 1])
    while idx.size:
        pts = A.points(idx)
        assert np.array_equal(np.repeat(idx, npts[A.sides(idx)]).size, pts.size)
        idx = idx[: A.update(idx, F(pts).reshape(-1))]
    B = _finite_diff.Ladder(cfg, 1, 1e-16, 3, 2)
    B.init(x, h0, side, flags, f0)
    owners = []
    B.run_levels(B.active(), lambda own, p: (owners.append(own), F(p))[1])
    assert all(np.array_equal(o, np.repeat(np.unique(o), 2)) for o in owners)
    for a, b in zip(A.results(), B.results(), strict=True):
        assert a.tobytes() == b.tobytes()


def test_first_points_are_the_first_level():
    x = np.array([0.3, -1.2, 2.5, 1e3])
    cfg = _derivative.ladder_config(1, "forward", 1, False, None, None)
    h0 = _steps.scale_of(x) / 8
    side = np.array([0, 1, 2, 0], dtype=np.intc)
    flags = np.zeros(4, dtype=np.intc)
    L = _finite_diff.Ladder(cfg, 1, 0.0, 4)
    L.init(x, h0, side, flags, np.zeros((4, 2)))
    idx = L.active()
    own, pts = _finite_diff.first_points(cfg, x, h0, side, flags)
    assert pts.tobytes() == L.points(idx).tobytes()
    assert own.tolist() == np.repeat(idx, [2, 1, 1, 2]).tolist()


def test_an_f_that_reuses_its_output_array_is_read_before_its_next_call():
    buf = np.empty(0)

    def f(v):  # writes every level's values into one array it owns
        nonlocal buf
        if buf.shape != v.shape:
            buf = np.empty(v.shape)
        return np.sin(v, out=buf)

    x = np.linspace(0.0, 10.0, 999)
    a, b = fd.derivative(f, x, vectorized=True), fd.derivative(np.sin, x, vectorized=True)
    for k in ("df", "error", "status", "step"):
        assert np.asarray(getattr(a, k)).tobytes() == np.asarray(getattr(b, k)).tobytes()
    assert a.nfev == b.nfev
