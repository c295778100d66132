"""Sparse Jacobians by column colouring: the colouring against a slow checker, the entries
against analytic and dense Jacobians, honesty per entry, evaluation counts, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastdiff as fd
from fastdiff import _sparse

sp = pytest.importorskip("scipy.sparse")

EPS = np.finfo(np.float64).eps
SLACK = 8 * EPS  # as test_multivariate: rounding slack of order 1e-15 max(1, |df|)


def tridiagonal(n):
    return sp.diags([1, 1, 1], offsets=[-1, 0, 1], shape=(n, n), dtype=bool)


def colours_of(P):
    shape, rows, cols = _sparse.pattern(P)
    return _sparse.colour_columns(shape, rows, cols), shape, rows, cols


def check_colouring(colour, ncolours, shape, rows, cols):
    """The slow obvious checker: within one row, no colour appears twice; colours in range."""
    assert colour.shape == (shape[1],)
    if shape[1]:
        assert colour.min() >= 0 and colour.max() < ncolours
    seen = set()
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        key = (r, int(colour[c]))
        assert key not in seen, f"row {r} has two columns of colour {colour[c]}"
        seen.add(key)


# ------------------------------------------------------------------------------------------
# Colouring
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [3, 4, 10, 2000])
def test_tridiagonal_takes_three_colours(n):
    (colour, ncolours), *rest = colours_of(tridiagonal(n))
    assert ncolours == 3
    check_colouring(colour, ncolours, *rest)


def test_banded_takes_bandwidth_colours():
    n, lo, hi = 60, 2, 3  # a band of width lo + hi + 1: every window of that many columns
    P = sp.diags([1] * (lo + hi + 1), offsets=range(-lo, hi + 1), shape=(n, n), dtype=bool)
    (colour, ncolours), *rest = colours_of(P)
    assert ncolours == lo + hi + 1  # shares a row, so that many colours are necessary
    check_colouring(colour, ncolours, *rest)


def test_dense_and_diagonal_and_empty():
    (colour, nc), *_ = colours_of(np.ones((4, 5), dtype=bool))
    assert nc == 5 and sorted(colour) == list(range(5))
    (colour, nc), *_ = colours_of(np.eye(6, dtype=bool))
    assert nc == 1 and not colour.any()
    (colour, nc), *_ = colours_of(np.zeros((3, 4), dtype=bool))
    assert nc == 1  # the empty columns share colour 0


@settings(max_examples=60, deadline=None)
@given(
    m=st.integers(1, 25),
    n=st.integers(1, 25),
    density=st.floats(0.0, 0.6),
    seed=st.integers(0, 2**31),
)
def test_random_patterns_are_proper(m, n, density, seed):
    A = np.random.default_rng(seed).random((m, n)) < density
    (colour, nc), shape, rows, cols = colours_of(A)
    check_colouring(colour, nc, shape, rows, cols)
    # greedy uses at most (max degree in the intersection graph) + 1 colours
    G = (A.T.astype(int) @ A.astype(int)) > 0
    np.fill_diagonal(G, False)
    assert nc <= G.sum(axis=1).max() + 1


def test_pattern_accepts_sparse_forms_and_drops_zeros():
    dense = np.array([[1, 0, 2], [0, 0, 3]], dtype=float)
    want = (np.array([0, 0, 1]), np.array([0, 2, 2]))
    coo = sp.coo_array(([1.0, 0.0, 2.0, 3.0, 1.0], ([0, 1, 0, 1, 0], [0, 0, 2, 2, 0])), (2, 3))
    for P in (sp.csr_array(dense), sp.csc_matrix(dense), coo, dense != 0):
        shape, rows, cols = _sparse.pattern(P)
        assert shape == (2, 3)
        np.testing.assert_array_equal(rows, want[0])
        np.testing.assert_array_equal(cols, want[1])


# ------------------------------------------------------------------------------------------
# Sparse Jacobians
# ------------------------------------------------------------------------------------------


def bvp(n):
    """Residual of u'' = exp(u) on (0, 1), u(0) = u(1) = 0, n interior nodes; and its
    Jacobian. Looped (x of shape (n,)) or vectorized (x of shape (n, k))."""
    c = (n + 1.0) ** 2

    def residual(u):
        z = np.zeros_like(u[:1])
        up = np.concatenate((z, u, z))
        return (up[:-2] - 2 * u + up[2:]) * c - np.exp(u)

    def jac(u):
        return sp.diags(
            [np.full(n - 1, c), -2 * c - np.exp(u), np.full(n - 1, c)], offsets=[-1, 0, 1]
        ).toarray()

    return residual, jac


def assert_honest_sparse(res, P, exact):
    """Same pattern as P, every stored entry within its error bar where it succeeded."""
    _, rows, cols = _sparse.pattern(P)
    for v in (res.df, res.error, res.success, res.status):
        assert isinstance(v, sp.csr_array)
        assert v.shape == exact.shape
        coo = v.tocoo()
        np.testing.assert_array_equal(coo.row, rows)
        np.testing.assert_array_equal(coo.col, cols)
    df, err, ok = res.df.data, res.error.data, res.success.data
    true = np.abs(df - exact[rows, cols])
    np.testing.assert_array_equal(ok, res.status.data >= 0)
    bad = ok & ~(true <= err + SLACK * np.maximum(1.0, np.abs(df)))
    assert not bad.any(), f"dishonest entries: true={true[bad]}, error={err[bad]}"


@pytest.mark.parametrize("vectorized", [False, True])
def test_bvp_tridiagonal(vectorized):
    n = 50
    f, jac = bvp(n)
    u = np.sin(np.linspace(0.1, 3.0, n))
    P = tridiagonal(n)
    res = fd.jacobian(f, u, sparsity=P, vectorized=vectorized)
    assert_honest_sparse(res, P, jac(u))
    assert res.success.data.all()
    # entry for entry the dense Jacobian's steps and ladders: the same estimates
    dense = fd.jacobian(f, u)
    _, rows, cols = _sparse.pattern(P)
    np.testing.assert_allclose(res.df.data, dense.df[rows, cols], rtol=0, atol=0)
    np.testing.assert_allclose(res.error.data, dense.error[rows, cols], rtol=0, atol=0)
    assert res.method == "central" and res.step.shape == (n,)


def test_nfev_does_not_grow_with_n():
    counts = {}
    for n in (50, 2000):
        f, _ = bvp(n)
        u = np.sin(np.linspace(0.1, 3.0, n))
        res = fd.jacobian(f, u, sparsity=tridiagonal(n), vectorized=True)
        assert res.success.data.all()
        counts[n] = res.nfev
    assert counts[2000] <= 2 * counts[50]
    assert counts[2000] * 50 <= 2 * 2000 + 1  # dense central differences take >= 2 n + 1


def test_banded_with_zero_entries_succeed():
    n = 30
    rng = np.random.default_rng(1)
    A = np.triu(np.tril(rng.normal(size=(n, n)), 2), -1)  # band -1 .. 2
    A[3, 4] = A[5, 5] = 0.0  # in the pattern, true value zero

    def f(x):
        return A @ np.sin(x) + x[::-1] ** 0 * 0.0

    x = rng.uniform(-1, 1, n)
    P = sp.csr_array(np.triu(np.tril(np.ones((n, n)), 2), -1))
    res = fd.jacobian(f, x, sparsity=P)
    exact = A * np.cos(x)[None, :]
    assert_honest_sparse(res, P, exact)
    assert res.success[3, 4] and res.success[5, 5]
    assert abs(res.df[3, 4]) <= res.error[3, 4] + SLACK


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_pattern_against_analytic(seed):
    rng = np.random.default_rng(seed)
    m, n = 40, 30
    mask = rng.random((m, n)) < 0.1
    W = np.where(mask, rng.normal(size=(m, n)), 0.0)

    def f(x):  # f_i = sum_j W_ij exp(x_j) x_j: J_ij = W_ij exp(x_j) (1 + x_j)
        return W @ (np.exp(x) * x)

    x = rng.uniform(-1, 1, n)
    res = fd.jacobian(f, x, sparsity=mask)
    exact = W * (np.exp(x) * (1 + x))[None, :]
    assert_honest_sparse(res, mask, exact)
    assert res.success.data.all()
    (_, nc), *_ = colours_of(mask)
    dense = fd.jacobian(f, x)
    # the same levels as dense, a colour's point index costing one call instead of one per
    # column (a colour runs as long as its slowest column)
    assert nc < n and res.nfev < dense.nfev


def test_complex_method_and_complex_f_and_shapes():
    n = 20
    f, jac = bvp(n)
    u = np.linspace(0.1, 0.9, n)
    P = tridiagonal(n)
    res = fd.jacobian(f, u, sparsity=P, method="complex")
    assert_honest_sparse(res, P, jac(u))
    assert res.success.data.all() and res.method == "complex"
    # a complex-valued f of a 2-D x: flattened indices, (f.size, x.size)
    X = np.linspace(0.2, 1.0, 6).reshape(2, 3)
    g = lambda x: np.exp(1j * x) * x  # noqa: E731
    res = fd.jacobian(g, X, sparsity=sp.csr_array(np.eye(6)))
    x = X.ravel()
    want = np.diag(np.exp(1j * x) * (1 + 1j * x))
    assert res.df.dtype.kind == "c" and res.step.shape == (2, 3)
    assert_honest_sparse(res, sp.csr_array(np.eye(6)), want)


def test_empty_pattern_costs_one_call():
    res = fd.jacobian(np.sin, np.ones(4), sparsity=np.zeros((4, 4), dtype=bool))
    assert res.nfev == 1 and res.df.nnz == 0 and res.df.shape == (4, 4)


def test_bad_sparsity():
    f = np.sin
    x = np.ones(4)
    with pytest.raises(ValueError, match=r"`sparsity`.*shape"):
        fd.jacobian(f, x, sparsity=np.ones((4, 3), dtype=bool))
    with pytest.raises(ValueError, match="`sparsity`"):
        fd.jacobian(f, x, sparsity=sp.csr_array(np.eye(5)))
    for bad in ([[True]], np.ones((4, 4)), np.ones(4, dtype=bool), "dense"):
        with pytest.raises(TypeError, match="`sparsity`"):
            fd.jacobian(f, x, sparsity=bad)
    with pytest.raises(ValueError, match="`method`"):
        fd.jacobian(f, x, sparsity=np.eye(4, dtype=bool), method="backward-complex")
    with pytest.raises(ValueError, match="`bounds`"):
        fd.jacobian(f, x, sparsity=np.eye(4, dtype=bool), bounds=(0, 2))


def test_f_exceptions_propagate():
    def f(x):
        raise KeyError("mine")

    with pytest.raises(KeyError, match="mine"):
        fd.jacobian(f, np.ones(3), sparsity=np.eye(3, dtype=bool))


@pytest.mark.parametrize(
    "kw",
    [
        {"step": 1e-4},
        {"order": 4},
        {"method": "forward"},
        {"method": "backward", "order": 2},
        {"rtol": 1e-6},
        {"vectorized": True, "batch_bytes": 8 * 30 * 2},  # two points per call of f
    ],
)
def test_same_as_dense_entry_for_entry(kw):
    n = 30
    P = tridiagonal(n)

    def f(u):
        z = np.zeros_like(u[:1])
        up = np.concatenate((z, u, z))
        return up[:-2] * up[2:] + np.sin(u)

    u = np.linspace(0.1, 2.0, n)
    res, dense = fd.jacobian(f, u, sparsity=P, **kw), fd.jacobian(f, u, **kw)
    _, rows, cols = _sparse.pattern(P)
    for name in ("df", "error", "status"):
        np.testing.assert_array_equal(getattr(res, name).data, getattr(dense, name)[rows, cols])
    assert res.nfev < dense.nfev / 5


def test_same_as_dense_with_the_noise_one_row_shares():
    # W @ (exp(u) u) cancels in each row; what one ladder of a row learns of that noise counts
    # in all of the row's ladders (test_multivariate's cancelling sums), in both paths alike
    rng = np.random.default_rng(24)
    W = rng.normal(size=(60, 50)) * (rng.random((60, 50)) < 0.1)
    u = rng.normal(size=50)

    def f(z):
        return W @ (np.exp(z) * z)

    P = sp.csr_array(W != 0)
    res, dense = fd.jacobian(f, u, sparsity=P), fd.jacobian(f, u)
    _, rows, cols = _sparse.pattern(P)
    for name in ("df", "error", "status"):
        np.testing.assert_array_equal(getattr(res, name).data, getattr(dense, name)[rows, cols])
    assert dense.error[57, 10] > 1e-13  # shared (3.8e-14 for a true error of 6.8e-14 alone)


def test_empty_columns_and_rows():
    def f(x):  # f_1 is constant; x_1 does not enter
        return np.array([x[0] ** 2 + np.exp(x[2]), 7.0, x[2] * x[0]])

    x = np.array([0.5, 2.0, -0.3])
    P = np.array([[1, 0, 1], [0, 0, 0], [1, 0, 1]], dtype=bool)
    res = fd.jacobian(f, x, sparsity=P)
    exact = np.array([[2 * x[0], 0, np.exp(x[2])], [0, 0, 0], [x[2], 0, x[0]]])
    assert_honest_sparse(res, P, exact)
    assert res.success.data.all() and res.step[1] == 0 and np.all(res.step[[0, 2]] > 0)


def test_jacobian_of_with_sparsity():
    P = np.eye(3, dtype=bool)
    jac = fd.jacobian_of(np.sin, sparsity=P)
    J = jac(np.array([0.1, 0.2, 0.3]))
    assert isinstance(J, sp.csr_array) and J.dtype == np.float64
    np.testing.assert_allclose(J.toarray(), np.diag(np.cos([0.1, 0.2, 0.3])), rtol=1e-12)
    kinked = fd.jacobian_of(np.abs, sparsity=P)
    with pytest.raises(fd.DerivativeError, match="1 of 3 entries"):
        kinked(np.array([0.0, 1.0, 2.0]))
    assert not kinked.last.success[0, 0] and kinked.last.success[1, 1]


def test_jacobian_pattern_columns_checked_before_f_is_called():
    calls = []

    def f(x):
        calls.append(1)
        return np.sin(x)

    with pytest.raises(ValueError, match=r"`sparsity` must be of shape \(f.size, x.size\)"):
        fd.jacobian(f, np.ones(4), sparsity=np.ones((4, 3), dtype=bool))
    assert not calls


# ------------------------------------------------------------------------------------------
# Star colouring (Hessians)
# ------------------------------------------------------------------------------------------


def star_of(mask):
    r, c = np.nonzero(mask)
    r, c = r.astype(np.intp), c.astype(np.intp)
    return (*_sparse.star_colouring(mask.shape[0], r, c), r, c)


def check_star(colour, mask):
    """The slow obvious checker: adjacent vertices differ, and every path on four vertices
    a - b - c - d (distinct, each step an off-diagonal entry) uses at least three colours."""
    n = mask.shape[0]
    adj = [[j for j in range(n) if j != i and mask[i, j]] for i in range(n)]
    for i in range(n):
        for j in adj[i]:
            assert colour[i] != colour[j], f"adjacent {i}, {j} share colour {colour[i]}"
    for b in range(n):
        for c in adj[b]:
            for a in adj[b]:
                for d in adj[c]:
                    if len({a, b, c, d}) == 4:
                        used = {int(colour[v]) for v in (a, b, c, d)}
                        assert len(used) >= 3, f"path {a}-{b}-{c}-{d} has colours {used}"


def check_recovery(colour, unique, rows, cols, mask, rng):
    """Every entry of a random symmetric H with this pattern is one entry of H D, exactly
    (each entry of H D is one entry of H plus exact zeros)."""
    n = mask.shape[0]
    H = np.where(mask, rng.uniform(-3, 3, (n, n)), 0.0)
    H = np.triu(H) + np.triu(H, 1).T
    D = np.zeros((n, max(int(colour.max(initial=-1)) + 1, 1)))
    D[np.arange(n), colour] = 1.0
    B = H @ D
    mirror = _sparse._mirror(n, rows, cols)
    assert np.all(unique | unique[mirror])  # every entry readable from one side
    r, c = _sparse.star_reads(n, rows, cols, colour, unique)
    np.testing.assert_array_equal(B[r, c], H[rows, cols])
    np.testing.assert_array_equal(r[mirror], r)  # (i, j) and (j, i) read the same number


@pytest.mark.parametrize("n", [2, 3, 4, 5, 17, 500])
def test_star_tridiagonal_takes_three_colours(n):
    mask = tridiagonal(n).toarray()
    colour, nc, unique, rows, cols = star_of(mask)
    assert nc == (2 if n <= 3 else 3)  # a path on 3 vertices is a star
    if n <= 17:
        check_star(colour, mask)
    check_recovery(colour, unique, rows, cols, mask, np.random.default_rng(n))


@pytest.mark.parametrize("n", [2, 3, 10, 200])
def test_star_arrowhead_takes_two_colours(n):
    mask = np.eye(n, dtype=bool)
    mask[0, :] = mask[:, 0] = True  # one coordinate coupled to all: n distance-1 colours
    colour, nc, unique, rows, cols = star_of(mask)
    assert nc == 2 and _sparse.colour_columns((n, n), rows, cols)[1] == n
    assert _sparse.hessian_colouring(n, rows, cols)[1] == 2
    if n <= 10:
        check_star(colour, mask)
    check_recovery(colour, unique, rows, cols, mask, np.random.default_rng(n))


def test_star_diagonal_empty_and_dense():
    colour, nc, unique, *_ = star_of(np.eye(5, dtype=bool))
    assert nc == 1 and not colour.any() and unique.all()
    colour, nc, unique, *_ = star_of(np.zeros((4, 4), dtype=bool))
    assert nc == 1 and unique.size == 0
    mask = np.ones((6, 6), dtype=bool)
    colour, nc, unique, rows, cols = star_of(mask)
    assert nc == 6 and unique.all()
    check_recovery(colour, unique, rows, cols, mask, np.random.default_rng(0))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 12), density=st.floats(0.0, 0.6), seed=st.integers(0, 2**31))
def test_star_random_patterns_are_star_colourings_and_recover(n, density, seed):
    rng = np.random.default_rng(seed)
    mask = rng.random((n, n)) < density
    mask |= mask.T
    mask[np.arange(n), np.arange(n)] |= rng.random(n) < 0.5  # diagonal stored or not
    colour, nc, unique, rows, cols = star_of(mask)
    assert colour.shape == (n,) and colour.min() >= 0 and colour.max() < nc
    check_star(colour, mask)
    check_recovery(colour, unique, rows, cols, mask, rng)
    hc, hn, hu = _sparse.hessian_colouring(n, rows, cols)
    assert hn <= nc
    check_recovery(hc, hu, rows, cols, mask, rng)  # either choice recovers every entry


# ------------------------------------------------------------------------------------------
# Sparse Hessians
# ------------------------------------------------------------------------------------------

optimize = pytest.importorskip("scipy.optimize")


def rosen_vec(x):
    """scipy's chained Rosenbrock, for x of shape (n,) or (n, k)."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2, axis=0)


def assert_symmetric_csr(M):
    assert (M != M.T).nnz == 0


@pytest.mark.parametrize("vectorized", [False, True])
def test_chained_rosenbrock_500(vectorized):
    n = 500
    x = np.random.default_rng(0).uniform(-1.5, 1.5, n)
    P = tridiagonal(n)
    f = rosen_vec if vectorized else optimize.rosen
    res = fd.hessian(f, x, sparsity=P, vectorized=vectorized)
    exact = np.asarray(optimize.rosen_hess(x))  # analytic oracle
    assert_honest_sparse(res, P, exact)
    assert res.success.data.all()
    for M in (res.df, res.error, res.status):
        assert_symmetric_csr(M)
    # a level takes two points per stored entry of the upper triangle, 2 (2n - 1), where the
    # dense Hessian's takes n (n + 1): six levels of the former, half of one of these
    assert res.nfev <= 1 + 6 * 2 * (2 * n - 1) < n * (n + 1) / 2
    assert res.step.shape == (n,) and np.all(res.step > 0)


def tridiagonal_f(u):
    """A scalar with a tridiagonal Hessian whose entries are all nonzero, (n,) or (n, k)."""
    return np.sum(np.sin(u[:-1]) * np.exp(0.3 * u[1:]), axis=0) + np.sum(u**4, axis=0)


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"step": 1e-3},
        {"order": 4},
        {"method": "forward"},
        {"method": "backward", "order": 2},
        {"rtol": 1e-6},
        {"bounds": (0.25, np.inf)},  # the first coordinate sits on its bound: one-sided
        {"vectorized": True},
        {"vectorized": True, "batch_bytes": 8 * 12 * 3},  # three points per call of f
    ],
)
def test_hessian_same_as_dense_entry_for_entry(kw):
    n = 12
    P = tridiagonal(n)
    u = np.linspace(0.25, 2.0, n)
    res, dense = fd.hessian(tridiagonal_f, u, sparsity=P, **kw), fd.hessian(tridiagonal_f, u, **kw)
    _, rows, cols = _sparse.pattern(P)
    for name in ("df", "error", "status"):
        np.testing.assert_array_equal(getattr(res, name).data, getattr(dense, name)[rows, cols])
    np.testing.assert_array_equal(res.step, dense.step)
    assert res.nfev < dense.nfev  # the pairs outside the pattern cost nothing


def test_hessian_vectorized_takes_one_call_per_level():
    n = 12
    u = np.linspace(0.25, 2.0, n)
    calls = {"sparse": [], "dense": []}

    def counted(name):
        def f(v):
            # distinct points: a lone point is sent twice (fastdiff._evaluate._two_or_more)
            calls[name].append(len(np.unique(v.reshape(-1, v.shape[-1]).T, axis=0)))
            return tridiagonal_f(v)

        return f

    res = fd.hessian(counted("sparse"), u, sparsity=tridiagonal(n), vectorized=True)
    dense = fd.hessian(counted("dense"), u, vectorized=True)
    assert sum(calls["sparse"]) == res.nfev and sum(calls["dense"]) == dense.nfev
    # the same levels (the pairs outside the pattern are zero and converge at once), each
    # one call carrying every entry's points; plus the call at x
    assert len(calls["sparse"]) == len(calls["dense"]) < res.nfev / (2 * n)


def test_hessian_zero_entries_in_the_pattern_succeed():
    n = 10
    P = sp.diags([1] * 5, offsets=range(-2, 3), shape=(n, n), dtype=bool)  # wider than needed
    u = np.linspace(-1.0, 1.0, n)
    res = fd.hessian(optimize.rosen, u, sparsity=P)
    exact = np.asarray(optimize.rosen_hess(u))
    assert_honest_sparse(res, P, exact)
    assert res.success.data.all()
    far = np.abs(res.df.tocoo().row - res.df.tocoo().col) == 2
    assert far.any() and np.all(exact[res.df.tocoo().row[far], res.df.tocoo().col[far]] == 0)


def random_symmetric_pattern(n, density, rng):
    A = rng.random((n, n)) < density
    A |= A.T
    touched = A.any(axis=1)  # a coupled coordinate has a nonzero diagonal in coupled_f
    A[np.arange(n)[touched], np.arange(n)[touched]] = True
    return A


def coupled_f(mask, c):
    """f(x) = sum_{i<j in mask} c_ij sin(x_i) cos(x_j) + sum_i x_i^2 cosh(x_i) (diagonal of
    mask) and its analytic Hessian."""
    iu, ju = np.nonzero(np.triu(mask, 1))
    dg = np.flatnonzero(np.diag(mask))
    w = c[iu, ju]

    def f(x):
        return np.sum(w * np.sin(x[iu]) * np.cos(x[ju])) + np.sum(x[dg] ** 2 * np.cosh(x[dg]))

    def hess(x):
        n = x.size
        H = np.zeros((n, n))
        off = -w * np.cos(x[iu]) * np.sin(x[ju])
        H[iu, ju] += off
        H[ju, iu] += off
        np.add.at(H, (iu, iu), -w * np.sin(x[iu]) * np.cos(x[ju]))
        np.add.at(H, (ju, ju), -w * np.sin(x[iu]) * np.cos(x[ju]))
        xd = x[dg]
        H[dg, dg] += 2 * np.cosh(xd) + 4 * xd * np.sinh(xd) + xd**2 * np.cosh(xd)
        return H

    return f, hess


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 9), density=st.floats(0.0, 0.7), seed=st.integers(0, 2**31))
def test_hessian_random_pattern_against_analytic(n, density, seed):
    rng = np.random.default_rng(seed)
    mask = random_symmetric_pattern(n, density, rng)
    f, hess = coupled_f(mask, rng.uniform(-2, 2, (n, n)))
    x = rng.uniform(-1.5, 1.5, n)
    res = fd.hessian(f, x, sparsity=mask)
    exact = hess(x)
    assert np.all(exact[~mask] == 0)  # the pattern is f's
    assert_honest_sparse(res, mask, exact)
    assert_symmetric_csr(res.df)


def test_hessian_of_a_cancelling_coupled_f_is_honest_without_slack():
    # issue 9: f sums c_ij sin(x_i) cos(x_j) terms (its rounding eps sum|terms|, 20x eps |f|);
    # H[4, 5] was once trusted at 2.92e-11 for a true error of 3.09e-11 (dense and sparse
    # alike); the bar must cover the error itself, not only within the contract's slack
    rng = np.random.default_rng(202)
    mask = random_symmetric_pattern(8, 0.375, rng)
    f, hess = coupled_f(mask, rng.uniform(-2, 2, (8, 8)))
    x = rng.uniform(-1.5, 1.5, 8)
    exact = hess(x)
    dense = fd.hessian(f, x)
    ok = np.asarray(dense.success)
    assert ok[mask].all()
    assert (np.abs(dense.df - exact)[ok] <= dense.error[ok]).all()
    res = fd.hessian(f, x, sparsity=mask)
    true = np.abs(res.df.toarray() - exact)[mask]
    sok = res.success.toarray()[mask]
    assert sok.all() and (true[sok] <= res.error.toarray()[mask][sok]).all()


def test_hessian_structured_x_and_sparse_forms():
    x = np.linspace(0.1, 1.2, 6).reshape(2, 3)

    def g(X):
        v = X.reshape(-1)
        return tridiagonal_f(v)

    dense = fd.hessian(g, x)
    Pd = tridiagonal(6).toarray()
    for P in (Pd, sp.csr_matrix(Pd), sp.coo_array(Pd.astype(float)), sp.csc_array(Pd)):
        res = fd.hessian(g, x, sparsity=P)
        assert res.df.shape == (6, 6) and res.step.shape == (2, 3)
        r, c = np.nonzero(Pd)
        np.testing.assert_array_equal(res.df.toarray()[r, c], dense.df.reshape(6, 6)[r, c])


def test_hessian_diagonal_pattern_and_pairs_without_diagonal():
    x = np.array([0.3, -0.7, 1.1])
    f = optimize.rosen
    exact = np.asarray(optimize.rosen_hess(x))
    res = fd.hessian(f, x, sparsity=np.eye(3, dtype=bool))
    assert_honest_sparse(res, np.eye(3, dtype=bool), exact)
    P = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=bool)  # one pair, no diagonal
    res = fd.hessian(f, x, sparsity=P)
    assert_honest_sparse(res, P, exact)
    assert res.success.data.all() and res.step[2] == 0 and np.all(res.step[:2] > 0)


def test_hessian_empty_pattern_costs_one_call():
    res = fd.hessian(optimize.rosen, np.ones(4), sparsity=np.zeros((4, 4), dtype=bool))
    assert res.nfev == 1 and res.df.nnz == 0 and res.df.shape == (4, 4)


def test_hessian_bad_sparsity_raises_before_f_is_called():
    calls = []

    def f(x):
        calls.append(1)
        return float(np.sum(x**2))

    x = np.ones(4)
    asym = np.eye(4, dtype=bool)
    asym[0, 2] = True
    with pytest.raises(ValueError, match=r"`sparsity` must be a symmetric.*\(0, 2\) without"):
        fd.hessian(f, x, sparsity=asym)
    with pytest.raises(ValueError, match=r"`sparsity` must be of shape \(x.size, x.size\)"):
        fd.hessian(f, x, sparsity=np.ones((4, 3), dtype=bool))
    with pytest.raises(ValueError, match=r"`sparsity` must be of shape"):
        fd.hessian(f, x, sparsity=sp.eye_array(5, format="csr"))
    for bad in ([[True]], np.ones((4, 4)), np.ones(4, dtype=bool), "dense"):
        with pytest.raises(TypeError, match=r"`sparsity` must be .* \(x.size, x.size\); got"):
            fd.hessian(f, x, sparsity=bad)
    with pytest.raises(ValueError, match="`method`"):
        fd.hessian(f, x, sparsity=np.eye(4, dtype=bool), method="backward-complex")
    with pytest.raises(ValueError, match="`sparsity` must be a symmetric"):
        fd.hessian(f, x, sparsity=asym, method="dual")
    with pytest.raises(ValueError, match=r"`sparsity` must be of shape \(f.size, x.size\)"):
        fd.jacobian(f, x, sparsity=np.ones((4, 3), dtype=bool), method="dual")
    with pytest.raises(ValueError, match="`bounds`"):
        fd.hessian(f, x, sparsity=np.eye(4, dtype=bool), method="complex", bounds=(0, 2))
    assert not calls


def test_hessian_non_scalar_f_and_f_exceptions():
    with pytest.raises(ValueError, match="scalar"):
        fd.hessian(np.sin, np.ones(3), sparsity=np.eye(3, dtype=bool))

    def f(x):
        raise KeyError("mine")

    with pytest.raises(KeyError, match="mine"):
        fd.hessian(f, np.ones(3), sparsity=np.eye(3, dtype=bool))


def test_hessian_of_with_sparsity():
    n = 20
    H = fd.hessian_of(optimize.rosen, sparsity=tridiagonal(n))
    x = np.linspace(0.0, 1.0, n)
    M = H(x)
    assert isinstance(M, sp.csr_array)
    exact = np.asarray(optimize.rosen_hess(x))
    assert np.all(np.abs(M.toarray() - exact) <= H.last.error.toarray() + SLACK * np.abs(exact))


@pytest.mark.parametrize("vectorized", [False, True])
def test_complex_hessian_same_as_dense_entry_for_entry(vectorized):
    n = 8
    P = tridiagonal(n)
    u = np.linspace(0.25, 2.0, n)
    res = fd.hessian(tridiagonal_f, u, sparsity=P, method="complex", vectorized=vectorized)
    dense = fd.hessian(tridiagonal_f, u, method="complex", vectorized=vectorized)
    _, rows, cols = _sparse.pattern(P)
    for name in ("df", "error", "status"):
        np.testing.assert_array_equal(getattr(res, name).data, getattr(dense, name)[rows, cols])
    np.testing.assert_array_equal(res.step, dense.step)
    assert_symmetric_csr(res.df)
    assert res.nfev < dense.nfev


def test_complex_sparse_hessian_of_chained_rosenbrock():
    n = 60
    x = np.random.default_rng(1).uniform(-1.5, 1.5, n)
    P = tridiagonal(n)
    res = fd.hessian(rosen_vec, x, sparsity=P, method="complex", vectorized=True)
    exact = np.asarray(optimize.rosen_hess(x))
    assert_honest_sparse(res, P, exact)
    assert res.success.data.all()
    assert_symmetric_csr(res.df)


def test_complex_sparse_hessian_poisons_a_non_analytic_coordinate():
    def f(v):  # |v_1| is not analytic: the complex step drops its imaginary part's meaning
        return np.sum(v**3) + np.abs(v[1]) * v[2] ** 2

    x = np.array([0.5, -0.7, 1.1, 0.3])
    P = tridiagonal(4)
    res = fd.hessian(f, x, sparsity=P, method="complex")
    dense = fd.hessian(f, x, method="complex")
    _, rows, cols = _sparse.pattern(P)
    np.testing.assert_array_equal(res.status.data, dense.status[rows, cols])
    touched = (rows == 1) | (cols == 1)
    assert not res.success.data[touched].any() and res.success.data[~touched].all()


# ------------------------------------------------------------------------------------------
# method="dual" with sparsity
# ------------------------------------------------------------------------------------------


def test_dual_jacobian_of_the_bvp_is_exact_to_its_bound_in_two_calls():
    n = 2000
    f, jac = bvp(n)
    u = np.linspace(0.0, 1.0, n)
    calls = []

    def counted(v):
        calls.append(1)
        return f(v)

    res = fd.jacobian(counted, u, sparsity=tridiagonal(n), method="dual")
    exact = jac(u)
    assert_honest_sparse(res, tridiagonal(n), exact)
    assert res.success.data.all() and res.method == "dual"
    assert res.nfev == len(calls) == 2  # J D in one call, the rounding bound in one more
    # a rounding bound: a few eps relative to the magnitudes (the entries are ~4e6)
    assert np.all(res.error.data <= 1e-13 * np.abs(exact).max())
    np.testing.assert_array_equal(res.step, np.zeros(n))


@settings(max_examples=25, deadline=None)
@given(
    m=st.integers(1, 8),
    n=st.integers(1, 8),
    density=st.floats(0.0, 0.8),
    seed=st.integers(0, 2**31),
)
def test_dual_jacobian_random_pattern_same_as_dense_dual(m, n, density, seed):
    rng = np.random.default_rng(seed)
    mask = rng.random((m, n)) < density
    A = np.where(mask, rng.uniform(-2, 2, (m, n)), 0.0)

    def f(x):  # f_i = sum_j A_ij sin(x_j) x_j^2: J = A (cos(x) x^2 + 2 x sin(x))
        return A @ (np.sin(x) * x**2)

    x = rng.uniform(-1.5, 1.5, n)
    exact = A * (np.cos(x) * x**2 + 2 * x * np.sin(x))
    res = fd.jacobian(f, x, sparsity=mask, method="dual")
    assert_honest_sparse(res, mask, exact)
    assert res.success.data.all()
    dense = fd.jacobian(f, x, method="dual")
    r, c = np.nonzero(mask)
    assert np.all(np.abs(res.df.data - dense.df[r, c]) <= res.error.data + dense.error[r, c])


def test_dual_jacobian_falls_back_to_duals_and_checks_its_arguments():
    def f(v):  # np.sort is not a DualArray function: the v1 Dual path (sorts on values)
        return np.sort(v) ** 2

    x = np.array([0.3, -0.2, 1.5])
    res = fd.jacobian(f, x, sparsity=np.ones((3, 3), dtype=bool), method="dual")
    dense = fd.jacobian(f, x, method="dual")
    np.testing.assert_array_equal(res.df.toarray(), dense.df)
    assert res.success.data.all() and res.nfev == 1

    def h(v):  # an output built from scalars: its bound falls back as the dense one's does
        return np.array([v[0] * v[1], v[1] * v[2], v[2] ** 2])

    Pu = np.array([[1, 1, 0], [0, 1, 1], [0, 0, 1]], dtype=bool)
    res, dense = fd.jacobian(h, x, sparsity=Pu, method="dual"), fd.jacobian(h, x, method="dual")
    r, c = np.nonzero(Pu)
    np.testing.assert_array_equal(res.df.data, dense.df[r, c])
    np.testing.assert_array_equal(res.error.data, dense.error[r, c])
    with pytest.raises(TypeError):  # a complex f is no real derivative: raised, not hidden
        fd.jacobian(lambda v: v * 1j, x, sparsity=np.eye(3, dtype=bool), method="dual")
    P = np.eye(3, dtype=bool)
    for kw in ({"step": 1e-3}, {"order": 4}, {"bounds": (0, 1)}, {"noise": 1e-9}):
        with pytest.raises(ValueError, match=f"`{next(iter(kw))}` must be None"):
            fd.jacobian(np.sin, x, sparsity=P, method="dual", **kw)
    with pytest.raises(ValueError, match="`workers`"):
        fd.jacobian(np.sin, x, sparsity=P, method="dual", workers=2)
    with pytest.raises(TypeError, match="`batch_bytes`"):
        fd.hessian(np.sum, x, sparsity=P, method="dual", batch_bytes=1.5)
    with pytest.raises(ValueError, match="`x`"):
        fd.jacobian(np.sin, [np.nan, 1.0, 2.0], sparsity=P, method="dual")

    def g(v):
        raise KeyError("mine")

    with pytest.raises(KeyError, match="mine"):
        fd.jacobian(g, x, sparsity=P, method="dual")
    with pytest.raises(KeyError, match="mine"):
        fd.hessian(g, x, sparsity=P, method="dual")
    res = fd.jacobian(np.sin, x, sparsity=np.zeros((3, 3), dtype=bool), method="dual")
    assert res.df.nnz == 0 and res.nfev == 1


@pytest.mark.parametrize("method", ["dual", "complex"])
def test_sparse_hessian_of_chained_rosenbrock_500_takes_three_colours(method):
    n = 500
    x = np.random.default_rng(0).uniform(-1.5, 1.5, n)
    P = tridiagonal(n)
    _, rows, cols = _sparse.pattern(P)
    assert _sparse.hessian_colouring(n, rows, cols)[1] == 3
    kw = {"vectorized": True} if method == "complex" else {}
    res = fd.hessian(rosen_vec, x, sparsity=P, method=method, **kw)
    exact = np.asarray(optimize.rosen_hess(x))
    assert_honest_sparse(res, P, exact)
    assert res.success.data.all()
    for M in (res.df, res.error, res.status):
        assert_symmetric_csr(M)
    if method == "dual":
        # ceil(n / SPARSE_HESSIAN_BLOCK) calls of H D, one for the bound
        assert res.nfev == -(-n // _sparse.SPARSE_HESSIAN_BLOCK) + 1
        assert np.all(res.error.data <= 1e-9 * np.abs(exact).max())


def arrowhead_f(x):
    """sum exp(x_0 x_i) over i >= 1, plus sum x^3: the Hessian is an arrowhead."""
    return np.sum(np.exp(x[0] * x[1:])) + np.sum(x**3)


def arrowhead_hess(x):
    e = np.exp(x[0] * x[1:])
    H = np.diag(6 * x)
    H[0, 0] += np.sum(x[1:] ** 2 * e)
    H[1:, 1:] += np.diag(x[0] ** 2 * e)
    H[0, 1:] += e + x[0] * x[1:] * e
    H[1:, 0] = H[0, 1:]
    return H


@pytest.mark.parametrize("method", ["dual", "complex"])
def test_sparse_hessian_of_an_arrowhead_takes_two_colours(method):
    n = 40
    x = np.linspace(-0.5, 0.6, n)
    P = np.eye(n, dtype=bool)
    P[0, :] = P[:, 0] = True
    res = fd.hessian(arrowhead_f, x, sparsity=P, method=method)
    assert_honest_sparse(res, P, arrowhead_hess(x))
    assert res.success.data.all()
    assert_symmetric_csr(res.df)
    if method == "complex":
        dense = fd.hessian(arrowhead_f, x, method=method)
        # two colours: a level of the complex-step ladder costs 2 directions x points x n
        # evaluations where the dense one costs n directions x points x n
        assert res.nfev < dense.nfev / 5


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 9), density=st.floats(0.0, 0.7), seed=st.integers(0, 2**31))
def test_dual_hessian_random_pattern_against_analytic(n, density, seed):
    rng = np.random.default_rng(seed)
    mask = random_symmetric_pattern(n, density, rng)
    f, hess = coupled_f(mask, rng.uniform(-2, 2, (n, n)))
    x = rng.uniform(-1.5, 1.5, n)
    res = fd.hessian(f, x, sparsity=mask, method="dual")
    assert_honest_sparse(res, mask, hess(x))
    assert res.success.data.all()
    assert_symmetric_csr(res.df)
    dense = fd.hessian(f, x, method="dual")
    r, c = np.nonzero(mask)
    assert np.all(np.abs(res.df.data - dense.df[r, c]) <= res.error.data + dense.error[r, c])


def test_dual_hessian_blocks_fallback_and_empty_pattern():
    n = 30
    x = np.linspace(0.25, 2.0, n)
    P = tridiagonal(n)
    exact = fd.hessian(tridiagonal_f, x, method="dual")
    one = fd.hessian(tridiagonal_f, x, sparsity=P, method="dual")
    # a smaller batch_bytes: blocks of fewer coordinates, the same numbers
    small = fd.hessian(tridiagonal_f, x, sparsity=P, method="dual", batch_bytes=8 * n * 30)
    assert small.nfev > one.nfev
    np.testing.assert_array_equal(small.df.data, one.df.data)
    r, c = np.nonzero(P.toarray())
    assert np.all(np.abs(one.df.data - exact.df[r, c]) <= one.error.data + exact.error[r, c])

    def g(v):  # np.sort: the nested-Dual path
        return np.sum(np.sort(v) ** 3)

    y = np.array([0.3, -0.2, 1.5, 0.9])
    res = fd.hessian(g, y, sparsity=np.eye(4, dtype=bool), method="dual")
    np.testing.assert_array_equal(res.df.diagonal(), 6 * y)
    assert res.success.data.all()
    res = fd.hessian(g, y, sparsity=np.zeros((4, 4), dtype=bool), method="dual")
    assert res.df.nnz == 0 and res.nfev == 1
    with pytest.raises(ValueError, match="scalar"):
        fd.hessian(np.sin, y, sparsity=np.eye(4, dtype=bool), method="dual")


def test_dual_sparse_colours_go_in_chunks_under_batch_bytes():
    n = 12
    rng = np.random.default_rng(3)
    x = rng.uniform(-1.0, 1.0, n)
    mask = np.ones((n, n), dtype=bool)  # n colours: more than one call's partials
    A = rng.uniform(-2, 2, (n, n))

    def f(v):
        return A @ np.sin(v) + v**3

    full = fd.jacobian(f, x, sparsity=mask, method="dual")
    small = fd.jacobian(f, x, sparsity=mask, method="dual", batch_bytes=8 * n * 5)
    assert full.nfev == 2 and small.nfev == 2 * 3  # colours in chunks of 5: 3 chunks
    np.testing.assert_array_equal(small.df.data, full.df.data)
    exact = A * np.cos(x) + np.diag(3 * x**2)
    assert_honest_sparse(small, mask, exact)
    f2, hess = coupled_f(mask, A)
    big = fd.hessian(f2, x, sparsity=mask, method="dual")
    chunked = fd.hessian(f2, x, sparsity=mask, method="dual", batch_bytes=8 * n * 30)
    assert chunked.nfev > big.nfev
    for res in (big, chunked):
        assert_honest_sparse(res, mask, hess(x))
        assert res.success.data.all()
        assert_symmetric_csr(res.df)
    np.testing.assert_array_equal(chunked.df.data, big.df.data)
