"""grid_derivative: Fornberg stencils on sampled data, the order kept at the ends, an honest
error estimate on smooth data; np.gradient and hand-written formulas are the anchors."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

import fastdiff as fd

EPS = np.finfo(np.float64).eps

SMOOTH = {  # f and an mpmath version for the exact derivatives
    "sin": (np.sin, mpmath.sin),
    "exp": (np.exp, mpmath.exp),
    "gauss": (lambda x: np.exp(-(x**2)), lambda t: mpmath.exp(-(t**2))),
    "runge": (lambda x: 1 / (1 + 25 * x**2), lambda t: 1 / (1 + 25 * t**2)),
    "log": (lambda x: np.log(x + 2.5), lambda t: mpmath.log(t + 2.5)),
    "tanh3": (lambda x: np.tanh(3 * x), lambda t: mpmath.tanh(3 * t)),
}


def exact(mf, x, n):
    with mpmath.workdps(30):
        return np.array([float(mpmath.diff(mf, mpmath.mpf(float(t)), n)) for t in x])


def grid(kind, N, rng):
    if kind == "uniform":
        return np.linspace(-1.0, 1.0, N)
    inner = np.sort(rng.uniform(-1.0, 1.0, N - 2))
    return np.concatenate([[-1.0], inner, [1.0]])


@pytest.mark.parametrize("name", list(SMOOTH))
@pytest.mark.parametrize("kind", ["uniform", "nonuniform"])
def test_error_bounds_the_true_error_on_smooth_data(name, kind, rng):
    f, mf = SMOOTH[name]
    trusted = 0
    for N in (15, 40, 200):
        x = grid(kind, N, rng)
        for n in (1, 2, 3):
            ex = exact(mf, x, n)
            for order in (2, 4, 6):
                if kind == "uniform":
                    res = fd.grid_derivative(f(x), dx=x[1] - x[0], n=n, order=order)
                else:
                    res = fd.grid_derivative(f(x), x, n=n, order=order)
                true = np.abs(res.df - ex)
                ok = res.success
                trusted += ok.sum() if N == 200 else 0
                assert np.all(true[ok] <= res.error[ok]), (N, n, order, np.flatnonzero(
                    ok & (true > res.error)))  # fmt: skip
                assert np.array_equal(res.success, res.status >= 0)
    assert trusted > 0.8 * 3 * 3 * 200  # on the fine grid most of it is trusted


def test_order_2_equals_numpy_gradient_with_second_order_edges(rng):
    x = np.sort(rng.uniform(0, 3, 50))
    y = np.sin(x) * np.exp(x)
    res = fd.grid_derivative(y, x)
    ref = np.gradient(y, x, edge_order=2)
    # two roundings of |y| / h in either formula, h the smallest spacing
    assert np.allclose(res.df, ref, rtol=0, atol=64 * EPS * np.abs(y).max() / np.diff(x).min())
    h = 0.1
    u = np.cos(np.arange(30) * h)
    assert np.allclose(fd.grid_derivative(u, dx=h).df, np.gradient(u, h, edge_order=2),
                       rtol=0, atol=64 * EPS / h)  # fmt: skip


def test_order_4_interior_is_the_five_point_formula():
    h = 0.05
    y = np.exp(np.arange(40) * h)
    res = fd.grid_derivative(y, dx=h, order=4)
    five = (y[:-4] - 8 * y[1:-3] + 8 * y[3:-1] - y[4:]) / (12 * h)
    assert np.allclose(res.df[2:-2], five, rtol=32 * EPS, atol=0)


@pytest.mark.parametrize("order", [2, 4, 6])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_polynomials_up_to_the_stencil_degree_are_exact(n, order, rng):
    # level 0 has n + order nodes near the ends (and as many in the interior of a uniform
    # grid for odd n): exact for degree n + order - 1
    deg = n + order - 1
    c = rng.normal(size=deg + 1)
    u = np.linspace(-1, 1, 41)  # at least 2 (n + order + 4) samples: verified estimates
    jittered = u + rng.uniform(-0.3, 0.3, u.size) * (u[1] - u[0])  # (random nodes can cluster:
    for x in (u, jittered):  # Fornberg's weights then round beyond the model, success False)
        y = np.polyval(c, x)
        dn = np.polyval(np.polyder(c, n), x)
        res = fd.grid_derivative(y, x, n=n, order=order)
        assert np.all(np.abs(res.df - dn) <= res.error)
        assert np.allclose(res.df, dn, rtol=1e-8, atol=1e-8 * np.abs(dn).max())
        # the long one-sided stencils of a jittered grid round beyond the model for n = 3
        # (Fornberg's weights are then ill-conditioned): a sample may be untrusted, never wrong
        assert res.success.all() if x is u else res.success.mean() >= 0.9


@pytest.mark.parametrize("order", [2, 4])
def test_the_order_holds_at_the_boundaries_too(order):
    # halving h divides the error by about 2^order at the first and middle samples
    errs = []
    for N in (41, 81, 161):
        x = np.linspace(0.0, 1.0, N)
        res = fd.grid_derivative(np.exp(x), dx=x[1] - x[0], order=order)
        e = np.abs(res.df - np.exp(x))
        errs.append((e[0], e[N // 2]))
    for k in (0, 1):
        rates = [np.log2(errs[i][k] / errs[i + 1][k]) for i in range(2)]
        assert all(abs(r - order) < 0.4 for r in rates), rates


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2])
def test_any_axis_of_any_ndim_equals_the_1d_result(axis, rng):
    y = rng.normal(size=(7, 9, 11)).cumsum(axis=axis)  # rough data: every status appears
    res = fd.grid_derivative(y, dx=0.3, axis=axis, n=2, order=4)
    moved = np.moveaxis(y, axis, -1)
    for idx in np.ndindex(moved.shape[:-1]):
        one = fd.grid_derivative(moved[idx], dx=0.3, n=2, order=4)
        for field in ("df", "error", "status"):
            got = np.moveaxis(getattr(res, field), axis, -1)[idx]
            assert np.array_equal(got, getattr(one, field)), field
    assert res.df.shape == y.shape and res.success.dtype == bool


def test_non_uniform_any_axis_matches_1d(rng):
    x = np.cumsum(rng.uniform(0.5, 1.5, 12)) * 0.1
    y = np.sin(x)[:, None] * np.arange(1, 4)[None, :]
    res = fd.grid_derivative(y, x, axis=0, order=4)
    for j in range(3):
        one = fd.grid_derivative(y[:, j], x, order=4)
        assert np.array_equal(res.df[:, j], one.df) and np.array_equal(res.error[:, j], one.error)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_long_rows_cross_the_chunks_of_the_contiguous_path(n):
    # a contiguous axis is worked in chunks of 1024 samples (each with two neighbours on
    # either side, a stack buffer overflowed there once); the same row as a column takes the
    # per-row path, whose sums round differently: df within rounding, the same statuses
    h = 2.0**-8  # x = i h exact, so dx is the grid the samples sit on
    x = np.arange(4500) * h
    y = np.sin(x)
    exact = [np.cos(x), -np.sin(x), -np.cos(x)][n - 1]
    res = fd.grid_derivative(y, dx=h, n=n, order=4)
    col = fd.grid_derivative(np.stack([y, 2 * y], axis=1), dx=h, n=n, order=4, axis=0)
    assert res.success.mean() > 0.99
    assert np.all(np.abs(res.df - exact)[res.success] <= res.error[res.success])
    # rounding of two sums of at most 13 terms |W_j y_j|, sum_j |W_j| <= 2^n * 4 / h^n
    atol = 2 * 13 * EPS * 2**n * 4 / h**n
    assert np.allclose(res.df, col.df[:, 0], rtol=0, atol=atol)
    assert np.array_equal(res.status, col.status[:, 0])
    # rough data: the bar is the levels' differences D1, D2 of order 1, rounding ~1e-13 of
    # them; the overflow had shrunk the bar at the chunk starts (67.4 where 78.2 is right)
    walk = np.random.default_rng(1).normal(size=4500).cumsum()
    res = fd.grid_derivative(walk, dx=0.37, n=n, order=2)
    col = fd.grid_derivative(np.stack([walk, walk], axis=1), dx=0.37, n=n, order=2, axis=0)
    assert np.allclose(res.error, col.error[:, 0], rtol=1e-9, atol=0)
    assert np.array_equal(res.status, col.status[:, 0])


def test_decreasing_x_and_float32_samples():
    x = np.linspace(2.0, 0.0, 30)
    res = fd.grid_derivative(np.sin(x), x, order=4)
    assert np.all(np.abs(res.df - np.cos(x)) <= res.error)
    r32 = fd.grid_derivative(np.sin(x[::-1]).astype(np.float32), x[::-1], order=4)
    exact32 = np.cos(x[::-1])
    ok = r32.success
    assert ok.any() and np.all(np.abs(r32.df - exact32)[ok] <= r32.error[ok])


def test_nan_is_local_and_reported():
    y = np.sin(np.linspace(0, 3, 60))
    y[30] = np.nan
    res = fd.grid_derivative(y, dx=3 / 59, order=2)
    assert res.status[30] == fd.Status.NO_FINITE and not res.success[30]
    assert np.isinf(res.error[30])
    assert res.success[:20].all() and res.success[-20:].all()


def test_noisy_data_is_not_trusted(rng):
    x = np.linspace(0, 1, 500)
    y = np.sin(x) + 1e-6 * rng.normal(size=x.size)
    res = fd.grid_derivative(y, dx=x[1] - x[0], order=4)
    true = np.abs(res.df - np.cos(x))
    assert (~res.success).mean() > 0.8  # the levels do not settle on noise
    assert np.all(true[res.success] <= res.error[res.success])


def test_under_resolved_oscillation_is_not_trusted():
    x = np.linspace(0, 1, 60)
    res = fd.grid_derivative(np.sin(150 * x), dx=x[1] - x[0], order=4)
    true = np.abs(res.df - 150 * np.cos(150 * x))
    assert np.all(true[res.success] <= res.error[res.success])
    assert (~res.success).mean() > 0.5


def test_short_data_gives_an_untrusted_estimate_and_too_short_raises():
    y = np.exp(np.linspace(0, 1, 5))
    res = fd.grid_derivative(y, dx=0.25, order=4)  # n + order = 5 samples: no error check
    assert np.all(res.status == fd.Status.NOT_CONVERGED) and not res.success.any()
    with pytest.raises(ValueError, match=r"^`y` must have at least n \+ order = 5 samples"):
        fd.grid_derivative(y[:4], dx=0.25, order=4)


def test_result_fields():
    res = fd.grid_derivative(np.arange(10.0) ** 2, dx=0.5)
    assert res.method == "grid" and res.nfev == 0 and res.step == 0.5
    x = np.array([0.0, 1.0, 3.0, 4.0, 7.0, 8.0, 9.0])
    r = fd.grid_derivative(x**2, x)
    assert np.array_equal(r.step, np.abs(np.gradient(x)))


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"y": [1.0, 2.0, 3.0], "x": [0, 1, 2], "dx": 1.0}, ValueError, r"^`dx` must be None"),
        ({"y": [1.0, 2.0, 3.0], "x": [0, 2, 1]}, ValueError, r"^`x` must be strictly monotonic"),
        ({"y": [1.0, 2.0, 3.0], "x": [0, 1]}, ValueError, r"^`x` must be a 1-D array of y"),
        ({"y": [1.0, 2.0, 3.0], "dx": 0.0}, ValueError, r"^`dx` must be a finite number > 0"),
        ({"y": [1.0, 2.0, 3.0], "order": 3}, ValueError, r"^`order` must be a positive even"),
        ({"y": [1.0, 2.0, 3.0], "n": 0}, ValueError, r"^`n` must be an integer with 1 <= n"),
        ({"y": [1.0, 2.0, 3.0], "axis": 1}, ValueError, r"^`axis` must be an axis of y"),
        ({"y": 3.0}, ValueError, r"^`y` must be a non-empty array"),
        ({"y": ["a", "b"]}, TypeError, r"^`y` must be a real array_like"),
        ({"y": np.zeros(100), "order": 30}, ValueError, r"^`order` must be small enough"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        fd.grid_derivative(**kwargs)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("order", [2, 4, 6])
def test_the_fused_contiguous_and_the_strided_paths_agree(n, order, rng):
    # a contiguous axis runs the fused interior tiles (256 positions, an AVX2 clone where the
    # CPU has one), another axis the row-by-row symmetric sums: the same sums in the same
    # order, so df and status are bitwise the same, NaN included (also at tile edges); the
    # bars differ only in the rounding term rho, the max |y| taken over each tile's reach
    h = 0.01
    y = np.sin(rng.uniform(0.5, 2.0) * np.arange(700) * h)[:, None] * rng.uniform(1, 2, (1, 5))
    y[[17, 256 + 6, 300], [0, 1, 2]] = np.nan
    col = fd.grid_derivative(y, dx=h, n=n, order=order, axis=0)
    row = fd.grid_derivative(np.ascontiguousarray(y.T), dx=h, n=n, order=order)
    assert np.array_equal(col.df, row.df.T, equal_nan=True)
    assert np.array_equal(col.status, row.status.T)
    assert (col.status == -2).any() and (col.status == 0).mean() > 0.9
    for res in (col, row):  # success is written by the kernel, beside status
        assert res.success.dtype == bool and np.array_equal(res.success, res.status >= 0)
    # rho <= (b_2 + 2)^2 eps sum_l sum_j |W_l[j]| max |y| (grid.c), the centred stencils'
    # weights the largest in the interior; then the bar's own rounding, 4 ulps
    wabs = 0.0
    for p in (order, order + 2, order + 4):
        r = (n + 1) // 2 + p // 2 - 1
        wabs += np.abs(fd.fd_weights(np.arange(-r, r + 1.0), n)).sum() / h**n
    rho = (n + order + 6) ** 2 * EPS * wabs * np.nanmax(np.abs(y))
    ok = np.isfinite(col.error)
    assert np.array_equal(ok, np.isfinite(row.error.T))
    a, b = col.error[ok], row.error.T[ok]
    assert np.all(np.abs(a - b) <= rho + 4 * EPS * np.maximum(a, b))


def test_an_inner_axis_wider_than_one_tile_of_rows():
    # across a non-contiguous axis the rows go in strips of at most 4096 lanes (grid.c)
    t = np.arange(30) * 0.1
    y = np.sin(t[:, None] * np.linspace(0.5, 1.5, 4100)[None, :])
    col = fd.grid_derivative(y, dx=0.1, order=2, axis=0)
    row = fd.grid_derivative(np.ascontiguousarray(y.T), dx=0.1, order=2)
    assert np.array_equal(col.df, row.df.T) and np.array_equal(col.status, row.status.T)
    assert np.array_equal(col.success, col.status >= 0) and col.success.mean() > 0.9
