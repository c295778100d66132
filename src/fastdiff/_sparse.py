"""Sparse Jacobians by column colouring, and sparse Hessians entry by entry: patterns,
colours, compressed directions, csr results.

Columns that share no row of the pattern are perturbed together (Curtis, Powell and Reid
1974): moving every column of colour c at once, output i still sees only its one column j of
that colour, so f_i there is the value J[i, j] needs. Each column keeps the coordinate ladder
of the dense Jacobian (its own step, true spacing (x + h) - x, tableau, error and status),
restricted to its pattern entries; the points of a colour's columns at one level are one
evaluation of f. (One shared step t along d_c = sum of the colour's unit vectors, as `jvp`
does, is not honest here: x_j + t rounds differently in every coordinate, an error of
|J_ij| ulp(x_j) / 2 per point that f's noise does not bound.) With method="complex" the
imaginary move is exact, so each colour is one complex-step line, as in `jvp`. The colouring
is C (csrc/colouring.c).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fastdiff import _steps
from fastdiff._derivative import (
    SIDES,
    DerivativeArgs,
    _order_for,
    _sides_and_steps,
    ladder_config,
)
from fastdiff._kernels import _finite_diff
from fastdiff._result import make_result
from fastdiff._stencils import stencil
from fastdiff._validation import fail

_RULE = "a scipy.sparse matrix or array, or a bool ndarray, of shape (f.size, x.size)"


def scipy_sparse() -> Any:
    """scipy.sparse, imported only on the sparse path."""
    try:
        import scipy.sparse
    except ImportError as exc:
        raise ImportError('`sparsity` needs scipy: pip install "fastdiff[sparse]"') from exc
    return scipy.sparse


def pattern(sparsity: Any, rule: str = _RULE) -> tuple[tuple[int, int], np.ndarray, np.ndarray]:
    """(shape, rows, cols) of the nonzero entries of the pattern, row-major, no duplicates;
    `rule` is the message's rule for something that is not a pattern."""
    if isinstance(sparsity, np.ndarray):
        if sparsity.dtype != np.bool_ or sparsity.ndim != 2:
            raise fail("sparsity", rule, sparsity, TypeError)
        r, c = np.nonzero(sparsity)
        return sparsity.shape, r.astype(np.intp), c.astype(np.intp)
    sparse = scipy_sparse()
    if not sparse.issparse(sparsity):
        raise fail("sparsity", rule, sparsity, TypeError)
    if sparsity.format == "csr" and sparsity.has_canonical_format:  # sorted, no duplicates
        keep = sparsity.data != 0
        counts = np.diff(sparsity.indptr)
        r = np.repeat(np.arange(counts.size, dtype=np.intp), counts)
        return sparsity.shape, r[keep], sparsity.indices[keep].astype(np.intp)
    coo = sparse.coo_array(sparsity)
    if coo.ndim != 2:
        raise fail("sparsity", rule, sparsity, TypeError)
    keep = coo.data != 0
    shape = (int(coo.shape[0]), int(coo.shape[1]))
    lin = np.unique(coo.row[keep].astype(np.int64) * shape[1] + coo.col[keep])
    w = max(shape[1], 1)
    return shape, (lin // w).astype(np.intp), (lin % w).astype(np.intp)


def colour_columns(shape: tuple[int, int], rows: np.ndarray, cols: np.ndarray):
    """(colour per column, number of colours): a greedy distance-1 colouring of the column
    intersection graph, largest-first (csrc/colouring.c)."""
    m, n = shape
    row_ptr = np.zeros(m + 1, dtype=np.intp)
    np.cumsum(np.bincount(rows, minlength=m), out=row_ptr[1:])
    by_col = np.argsort(cols, kind="stable")
    col_ptr = np.zeros(n + 1, dtype=np.intp)
    np.cumsum(np.bincount(cols, minlength=n), out=col_ptr[1:])
    return _finite_diff.colour_columns(
        m,
        col_ptr,
        np.ascontiguousarray(rows[by_col]),
        row_ptr,
        np.ascontiguousarray(cols),
    )


def _coloured_ladders(
    a: DerivativeArgs, ev: Any, y0: np.ndarray, eps: float, rows, cols, colour, noise_abs=None
):
    """The coordinate ladders of the dense Jacobian (same steps, spacing, tableaux), one group
    per column holding only that column's pattern entries, with the points of all columns of
    one colour at one level evaluated together. Returns df, error, status, step of shape
    (n, k), k the most entries of a column, and the slot of every pattern entry. noise_abs:
    an absolute noise of each output's values (as the dense ladders', see
    fastdiff._multivariate._coordinate_ladders)."""
    from fastdiff._multivariate import _noise, _results

    x = ev.base
    n = x.size
    side, h0, flags = _sides_and_steps(a._replace(n=1), x)
    config = ladder_config(1, a.method, a.order, a.step is not None, a.rtol, a.atol)
    npts = np.array([len(stencil(s, 1, _order_for(a, s)).offsets) for s in SIDES], dtype=np.intp)
    counts = np.bincount(cols, minlength=n)
    k = max(int(counts.max()), 1)
    by_col = np.argsort(cols, kind="stable")
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    slot = np.empty(rows.size, dtype=np.intp)
    slot[by_col] = np.arange(rows.size) - starts[cols[by_col]]
    R = np.full((n, k), -1, dtype=np.intp)  # R[j, s]: the output row of column j's slot s
    R[cols, slot] = rows
    pad = R < 0
    Rc = np.where(pad, 0, R)
    f0 = y0.reshape(-1).astype(np.complex128)[Rc]
    f0[pad] = 0.0  # padding is the constant 0: derivative exactly 0, done at once
    F0 = np.empty((n, 2 * k))
    F0[:, 0::2], F0[:, 1::2] = f0.real, f0.imag
    L = _finite_diff.Ladder(config, ev.ncomp, _noise(a, eps), n, k)
    L.init(x, h0, side, flags, F0)
    if noise_abs is not None:
        L.set_noise_abs(np.ascontiguousarray(np.where(pad, 0.0, noise_abs[Rc]).reshape(-1)))
    idx = L.active()
    ncolours = int(colour.max()) + 1
    empty = counts == 0  # a column without entries is never moved (its group is 0)
    if empty.any():
        idx = idx[~empty[idx]]  # their ladders see the constant 0 and need no evaluation
    padded = bool(pad.any())
    while idx.size:
        pts = L.points(idx)
        cnt = npts[L.sides(idx)]
        g = np.repeat(idx, cnt)  # the group (column) of every point
        p = np.arange(g.size) - np.repeat(np.cumsum(cnt) - cnt, cnt)  # its index in the level
        # one evaluation per (colour, point index): every active column of the colour moved
        key = colour[g] * int(cnt.max()) + p
        present = np.zeros(ncolours * int(cnt.max()), dtype=bool)
        present[key] = True
        nuniq = int(np.count_nonzero(present))
        which = (np.cumsum(present) - 1)[key]  # the evaluation of every point
        X = np.repeat(x[:, None], nuniq, axis=1)
        X[g, which] = pts
        vals = ev.rows(ev.real_points(X)).reshape(nuniq, ev.m, ev.ncomp)
        fv = vals[which[:, None], Rc[g]]  # (points, k, ncomp): each group's own rows
        if padded:
            fv[pad[g]] = 0.0
        idx = idx[: L.update(idx, fv.reshape(-1))]
    if noise_abs is None:  # as the dense ladders' (_coordinate_ladders): per output row
        L.share_noise(np.ascontiguousarray(np.where(pad, -1, R).reshape(-1)), ev.m)
    df, error, status, step = _results(L, ev, n)
    return df, error, status, step, slot


def sparse_jacobian(a: DerivativeArgs, sparsity: Any) -> Any:
    """The sparse Jacobian: a Result whose df, error, success, status are csr_arrays."""
    # imported here: _multivariate's jacobian calls this module
    from fastdiff._multivariate import _Evaluator, _limiting_step

    shape, rows, cols = pattern(sparsity)
    sparse = scipy_sparse()
    n = a.x.size
    if a.bounds is not None:
        raise fail("bounds", "None with `sparsity` (a colour's line crosses coordinates)", a.bounds)
    if shape[1] != n:  # checked before any call of f; f.size is known only after the first
        raise fail("sparsity", f"of shape (f.size, x.size) = (f.size, {n})", f"shape {shape}")
    ev = _Evaluator(a)
    with np.errstate(all="ignore"):
        y0, eps, _ = ev.probe()
        if shape != (ev.m, n):
            raise fail("sparsity", f"of shape (f.size, x.size) = {(ev.m, n)}", f"shape {shape}")
        colour, ncolours = colour_columns(shape, rows, cols)
        nnz = rows.size
        if nnz == 0:  # every entry is promised zero: nothing to estimate
            df, error = np.zeros(0, dtype=y0.dtype if ev.ncomp == 2 else np.float64), np.zeros(0)
            status, step = np.zeros(0, dtype=np.int64), np.zeros(n)
        elif a.method == "complex":
            df, error, status, step = _complex_colours(a, ev, rows, cols, colour, ncolours)
        else:
            D, E, St, H, slot = _coloured_ladders(a, ev, y0, eps, rows, cols, colour)
            df, error, status = D[cols, slot], E[cols, slot], St[cols, slot].astype(np.int64)
            step = np.where(np.bincount(cols, minlength=n) > 0, _limiting_step(E, H), 0.0)
    indptr = np.zeros(shape[0] + 1, dtype=np.intp)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])

    def csr(data: np.ndarray) -> Any:
        return sparse.csr_array((data, cols.copy(), indptr.copy()), shape=shape)

    return make_result(
        csr(df),
        csr(error),
        csr(status >= 0),
        csr(status),
        int(ev.nfev),
        step.reshape(a.x.shape),
        a.method,
    )


def _complex_colours(a: DerivativeArgs, ev: Any, rows, cols, colour, ncolours):
    """Complex step along x + i h d_c per colour: the imaginary move h is exact in every
    coordinate, so one line per colour keeps each entry's own estimate and error."""
    from fastdiff._multivariate import _complex_line

    n = ev.base.size
    nnz = rows.size
    df = np.zeros(nnz, dtype=np.complex128 if ev.ncomp == 2 else np.float64)
    error = np.zeros(nnz)
    status = np.zeros(nnz, dtype=np.int64)
    step = np.zeros(n)
    used = np.zeros(n, dtype=bool)
    used[cols] = True
    entry_colour = colour[cols]
    for c in range(ncolours):
        members = used & (colour == c)
        if not members.any():
            continue
        v = members.astype(np.float64)
        # the line's unit, as jvp's: the largest coordinate it moves (|v| = 1)
        unit = float(_steps.scale_of(np.array([np.abs(ev.base[members]).max()]))[0])
        d, e, s, t = _complex_line(a, ev, v, unit)
        sel = np.flatnonzero(entry_colour == c)
        r = rows[sel]
        df[sel] = np.asarray(d).reshape(-1)[r]
        error[sel] = np.asarray(e).reshape(-1)[r]
        status[sel] = np.asarray(s).reshape(-1)[r]
        step[members] = abs(t)
    return df, error, status, step


# --------------------------------------------------------------------------------------------
# Sparse Hessians
# --------------------------------------------------------------------------------------------

_HESS_RULE = "a scipy.sparse matrix or array, or a bool ndarray, of shape (x.size, x.size)"


def hessian_pattern(sparsity: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of a symmetric (n, n) pattern's entries, row-major; checked before f runs."""
    shape, rows, cols = pattern(sparsity, _HESS_RULE)
    if shape != (n, n):
        raise fail("sparsity", f"of shape (x.size, x.size) = {(n, n)}", f"shape {shape}")
    lin = rows.astype(np.int64) * n + cols  # sorted and unique: pattern() is row-major
    mirror = np.sort(cols.astype(np.int64) * n + rows)
    if not np.array_equal(lin, mirror):
        odd = np.setdiff1d(lin, mirror)[0]
        i, j = int(odd // n), int(odd % n)
        raise fail(
            "sparsity",
            "a symmetric pattern (entry (i, j) stored exactly where (j, i) is)",
            f"entry ({i}, {j}) without ({j}, {i})",
        )
    return rows, cols


def _mirror(n: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The index of entry (j, i) for every entry (i, j) of a symmetric row-major pattern."""
    lin = rows.astype(np.int64) * n + cols
    return np.searchsorted(lin, cols.astype(np.int64) * n + rows)


def star_colouring(n: int, rows: np.ndarray, cols: np.ndarray):
    """(colour per coordinate, number of colours, unique per entry) of a symmetric row-major
    pattern: the greedy star colouring of csrc/colouring.c, and for each entry (i, j)
    whether j is the only entry of row i of its colour (then H[i, j] = (H D)[i, colour[j]];
    for a star colouring, unique holds at (i, j) or at (j, i) for every entry)."""
    row_ptr = np.zeros(n + 1, dtype=np.intp)
    np.cumsum(np.bincount(rows, minlength=n), out=row_ptr[1:])
    col_idx = np.ascontiguousarray(cols, dtype=np.intp)
    colour, ncolours = _finite_diff.star_colour(row_ptr, col_idx)
    return colour, ncolours, _finite_diff.star_unique(row_ptr, col_idx, colour).astype(bool)


def hessian_colouring(n: int, rows: np.ndarray, cols: np.ndarray):
    """The colouring of a symmetric pattern for H D, as `star_colouring` returns it: the star
    colouring, or the distance-1 colouring of the column intersection graph (which reads
    every entry twice, from (i, j) and from (j, i)) where that takes no more colours (a
    tridiagonal pattern: 3 each; an arrowhead: 2 stars, n columns)."""
    colour, ncolours, unique = star_colouring(n, rows, cols)
    d1, nd1 = colour_columns((n, n), rows, cols)
    if nd1 <= ncolours:
        return d1, nd1, np.ones(rows.size, dtype=bool)
    return colour, ncolours, unique


def star_reads(n: int, rows: np.ndarray, cols: np.ndarray, colour, unique):
    """(row, colour) of H D that holds each entry, the same for (i, j) and (j, i): the upper
    entry's row when unique there, else its column's row (exactly symmetric recovery)."""
    mirror = _mirror(n, rows, cols)
    up = np.where(rows <= cols, np.arange(rows.size), mirror)
    i, j = rows[up], cols[up]
    from_i = unique[up]
    return np.where(from_i, i, j), colour[np.where(from_i, j, i)]


def sparse_hessian(a: DerivativeArgs, sparsity: Any) -> Any:
    """The sparse Hessian: a Result whose df, error, success, status are csr_arrays.

    f is scalar, so one evaluation gives one number: the second-order information of any set
    of points is one linear functional of H per point, and no colouring of the pattern can
    make fewer evaluations serve more entries (colour groups that move together only ever
    give sums of entries). So each stored entry gets the dense Hessian's own ladder: every
    stored diagonal its axis ladder, every stored pair i < j its mixed ladder on the same
    axis points (fastdiff._multivariate._hessian_entries), and pairs outside the pattern cost
    nothing. A level costs two points per stored entry of the upper triangle (central), the
    least any second difference of f can take; a vectorized f gets every entry's points of a
    level in one call (in `batch_bytes` chunks).
    """
    from fastdiff._multivariate import _Evaluator, _hessian_entries, _scalar_output_required

    n = a.x.size
    rows, cols = hessian_pattern(sparsity, n)
    sparse = scipy_sparse()
    upper = rows < cols
    pi, pj = rows[upper], cols[upper]
    want_diag = np.zeros(n, dtype=bool)
    want_diag[rows[rows == cols]] = True
    ev = _Evaluator(a)
    with np.errstate(all="ignore"):
        y0, eps, _ = ev.probe()
        _scalar_output_required("hessian", ev.fshape)
        if rows.size == 0:  # every entry is promised zero: nothing to estimate
            df = np.zeros(0, dtype=y0.dtype if ev.ncomp == 2 else np.float64)
            error, status, step = np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(n)
        elif a.method == "complex":
            df, error, status, step = _complex_hessian_entries(a, ev, eps, rows, cols)
        else:
            dd, ed, td, sd, dp, ep, tp = _hessian_entries(a, ev, y0, eps, pi, pj, want_diag)
            # entry k of the pattern: its diagonal, or its pair (the lower triangle mirrors
            # the upper one: one estimate serves (i, j) and (j, i), exactly symmetric)
            lo, hi = np.minimum(rows, cols), np.maximum(rows, cols)
            pair = np.searchsorted(pi.astype(np.int64) * n + pj, lo.astype(np.int64) * n + hi)
            on_diag = rows == cols
            pair = np.where(on_diag, 0, pair)

            def pick(diag, off):
                return np.where(on_diag, diag[rows], off[pair] if off.size else diag[rows])

            df, error, status = pick(dd, dp), pick(ed, ep), pick(td, tp).astype(np.int64)
            involved = np.zeros(n, dtype=bool)
            involved[rows] = True
            step = np.where(involved, sd, 0.0)
    indptr = np.zeros(n + 1, dtype=np.intp)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])

    def csr(data: np.ndarray) -> Any:
        return sparse.csr_array((data, cols.copy(), indptr.copy()), shape=(n, n))

    return make_result(
        csr(df),
        csr(error),
        csr(status >= 0),
        csr(status),
        int(ev.nfev),
        step.reshape(a.x.shape),
        a.method,
    )


def _complex_hessian_entries(a: DerivativeArgs, ev: Any, eps: float, rows, cols):
    """method="complex": the central ladders of the complex-step gradient g of the dense
    complex Hessian on the compressed directions of `hessian_colouring`: column j of colour
    c moves with its colour, and H[i, j] is read from g_i where j is the only neighbour of
    i of colour c (the coloured ladders of `_coloured_ladders`, restricted to those entries).
    Of the two readings of a pair, when both exist, the dense rule's choice serves both
    entries (fastdiff._complex.pick_of_pair); else the one reading does. A coordinate whose
    complex-step slope at x is not trusted takes its row and column with it. Each
    evaluation of g costs x.size complex evaluations of f, so a level costs colours x points
    x x.size of them."""
    from fastdiff._complex import pick_of_pair
    from fastdiff._multivariate import _complex_gradient, _Evaluator, _limiting_step

    n = ev.base.size
    b, gstat, noise_abs = _complex_gradient(a, ev, eps)
    colour, _, unique = hessian_colouring(n, rows, cols)
    evg = _Evaluator(b)
    y0, eps_g, _ = evg.probe()
    read = np.flatnonzero(unique)
    D, E, St, Hs, slot = _coloured_ladders(
        b, evg, y0, eps_g, rows[read], cols[read], colour, noise_abs
    )
    nnz = rows.size
    d, e, t = np.full(nnz, np.nan), np.full(nnz, np.inf), np.full(nnz, -1, dtype=np.int64)
    d[read] = D[cols[read], slot].real
    e[read] = E[cols[read], slot]
    t[read] = St[cols[read], slot]
    mirror = _mirror(n, rows, cols)
    um = unique[mirror]
    # entry (i, j)'s own reading, else its mirror's; and the mirror's, else its own
    own = [np.where(unique, v, v[mirror]) for v in (d, e, t)]
    other = [np.where(um, v[mirror], v) for v in (d, e, t)]
    H, Er, T = pick_of_pair(*own, *other)
    lower = rows > cols  # exactly symmetric: the upper entry's choice, mirrored
    for M in (H, Er, T):
        M[lower] = M[mirror[lower]]
    code = np.minimum(gstat[:, 0], 0)
    worst = np.minimum(code[rows], code[cols])
    poison = worst < 0
    H = np.where(poison, np.nan, H)
    Er = np.where(poison, np.inf, Er)
    T = np.where(poison, worst, T)
    step = np.where(np.bincount(cols[read], minlength=n) > 0, _limiting_step(E, Hs), 0.0)
    return H, Er, T, step


# --------------------------------------------------------------------------------------------
# method="dual" with sparsity
# --------------------------------------------------------------------------------------------

SPARSE_HESSIAN_BLOCK = 8
"""Most coordinates per call of the sparse dual Hessian (beside the colours' directions)."""

SPARSE_HESSIAN_ARRAY_BYTES = 2**20
"""Fewer coordinates per call where one array of the call's partials, (k + k^2) x n doubles,
would pass 1 MiB: beyond, every operation's temporaries outgrow the dual verbs' block pool
and page-fault afresh. Chained Rosenbrock, min of 3-5 interleaved runs: n = 500 (p = 3),
b = 2/4/6/8/12/16: 39/33/39/35/46/308 ms; n = 2000, b = 1/2/4/8/12: 1.6/1.0/0.98/5.4/8.0 s
(b = 8 there is 2 MiB per array)."""


def _entry_result(df, error, shape, rows, cols, nfev: int, x_shape) -> Any:
    """The sparse Result of exact derivatives df with rounding bounds `error` per entry
    (status NO_FINITE and an infinite error where either is not finite)."""
    from fastdiff._status import Status

    sparse = scipy_sparse()
    finite = np.isfinite(df + error)
    status = np.where(finite, 0, int(Status.NO_FINITE)).astype(np.int64)
    error = np.where(finite, error, np.inf)
    indptr = np.zeros(shape[0] + 1, dtype=np.intp)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])

    def csr(data: np.ndarray) -> Any:
        return sparse.csr_array((data, cols.copy(), indptr.copy()), shape=shape)

    return make_result(
        csr(df), csr(error), csr(finite), csr(status), nfev, np.zeros(x_shape), "dual"
    )


def dual_jacobian(f, x: np.ndarray, args, kwargs, sparsity: Any, batch_bytes=None) -> Any:
    """method="dual" with `sparsity`: one call of f on a DualArray whose partial c is the sum
    of the unit seeds of colour c's columns gives J D; entry (i, j) is (J D)[i, colour[j]],
    as no other column of j's colour has an entry in row i. One more call bounds the
    rounding (fastdiff._forward._magnitudes on the same seeds): nfev is 2. Colours beyond
    `batch_bytes` of partials (default DEFAULT_BATCH_BYTES, 8 n bytes per colour) go in
    chunks, two calls each. f that cannot take a DualArray (TypeError) runs on Duals with
    the same seeds, one call."""
    from fastdiff import _forward
    from fastdiff._dualarray import DualArray
    from fastdiff._kernels import _dual

    shape, rows, cols = pattern(sparsity)
    n = x.size
    if shape[1] != n:  # checked before any call of f
        raise fail("sparsity", f"of shape (f.size, x.size) = (f.size, {n})", f"shape {shape}")
    kwargs = kwargs or {}
    colour, p = colour_columns(shape, rows, cols)
    p = max(p, 1)
    seed = np.zeros((p, n))
    seed[colour, np.arange(n)] = 1.0
    most = _forward.DEFAULT_BATCH_BYTES if batch_bytes is None else batch_bytes
    width = max(1, min(p, most // (8 * n)))  # colours per call
    JD: np.ndarray | None = None
    MG: np.ndarray | None = None
    nfev, count, m = 0, 0, -1
    dual_array, have_mag = True, True
    tag = _dual.open_tag()
    pool = _forward._pool_on(8 * width * n)
    try:
        for c0 in range(0, p, width):
            S = seed[c0 : c0 + width]
            w = S.shape[0]
            X = DualArray._make(x.copy(), S.reshape((w, *x.shape)), w, tag)
            try:
                y = f(X, *args, **kwargs)
            except TypeError:  # code NumPy's protocols cannot reach: the v1 Dual path
                if nfev:
                    raise
                dual_array = False
                break
            nfev += 1
            _, T = _forward._tangents(y, tag, w)
            T = T.reshape(w, -1)
            if JD is None:
                m = T.shape[1]
                _check_f_size(shape, m, n)
                JD, MG = np.empty((p, m)), np.empty((p, m))
            elif T.shape[1] != m:
                raise ValueError(
                    f"f returned outputs of sizes {m} and {T.shape[1]} on different chunks; "
                    "f must return the same shape every time."
                )
            JD[c0 : c0 + w] = T
            if rows.size and have_mag:
                mag, c_count = _forward._magnitudes(f, x.copy(), S, 0, tag, args, kwargs)
                nfev += 1
                if mag is None:
                    have_mag = False
                else:
                    assert MG is not None  # allocated with JD above
                    MG[c0 : c0 + w] = mag.reshape(w, -1)
                    count = max(count, c_count)
        if not dual_array:
            X = _forward._shape_input(_forward._seed(x.reshape(-1), seed.T, tag), x.shape)
            ys = _forward._output_array(f(X, *args, **kwargs)).reshape(-1)
            m, nfev = ys.size, 1
            _check_f_size(shape, m, n)
            JD, MG = np.empty((p, m)), np.empty(0)
            for i, yi in enumerate(ys):
                JD[:, i] = np.asarray(_dual.extract(yi, tag, p)[1], dtype=np.float64)
    finally:
        _dual.close_tag(tag)
        _forward._pool_off(pool)
    assert JD is not None and MG is not None  # n >= 1: a chunk or the Dual path ran
    df = JD[colour[cols], rows]
    if not dual_array:  # the v1 path's rounding level (fastdiff._forward._result)
        error = _forward.ROUNDING_ULPS * _forward._EPS * np.abs(df)
    elif not have_mag or not rows.size:  # f builds its output from scalars: the fallback
        error = _forward._rounding_bound(df, None, 0)
    else:
        error = _forward._rounding_bound(df, MG[colour[cols], rows], count)
    return _entry_result(df, error, shape, rows, cols, nfev, x.shape)


def _check_f_size(shape: tuple[int, int], m: int, n: int) -> None:
    if shape != (m, n):
        raise fail("sparsity", f"of shape (f.size, x.size) = {(m, n)}", f"shape {shape}")


def dual_hessian(f, x: np.ndarray, args, kwargs, sparsity: Any, batch_bytes) -> Any:
    """method="dual" with `sparsity`: H D for the colours of `hessian_colouring` by
    forward-over-forward on second-order DualArrays, then every entry read directly from
    one entry of H D (`star_reads`), the same number for (i, j) and (j, i): exactly
    symmetric.

    A call seeds k = b + p first-order directions, b unit vectors e_i of a block of the
    coordinates whose rows of H D are read and the p colour directions d_c, and gets the
    k x k second derivatives along them; the b x p block e_i' H d_c is row i of H D. So
    ceil(rows / b) calls, each carrying k + k^2 rows of partials (b = SPARSE_HESSIAN_BLOCK,
    fewer where a call's array of partials would pass SPARSE_HESSIAN_ARRAY_BYTES or
    `batch_bytes`). A call carries (b + p)^2 rows through all of f for b rows of H D, so it
    costs about as many evaluations' arithmetic (chained Rosenbrock: 38 ms at n = 500,
    1.4 s at n = 2000; central, vectorized: 14 ms and 0.9 s). One more call bounds the
    rounding: the same second-order magnitudes with up to 8 groups of coordinates beside
    the colour directions (fastdiff._forward._magnitudes). f that cannot take a DualArray
    (TypeError) runs on nested Duals with the same directions (inner: the colours, outer: a
    block of e_i)."""
    from fastdiff import _forward
    from fastdiff._dualarray import DualArray
    from fastdiff._kernels import _dual

    n = x.size
    rows, cols = hessian_pattern(sparsity, n)
    kwargs = kwargs or {}
    colour, p, unique = hessian_colouring(n, rows, cols)
    p = max(p, 1)
    r_read, c_read = star_reads(n, rows, cols, colour, unique)
    most = SPARSE_HESSIAN_ARRAY_BYTES if batch_bytes is None else batch_bytes
    budget = min(most, SPARSE_HESSIAN_ARRAY_BYTES) // (8 * n)  # rows of partials per call
    kmax = max(2, int((np.sqrt(1.0 + 4.0 * budget) - 1.0) / 2.0))  # k (k + 1) <= budget
    if p + 1 <= kmax:  # every colour in each call
        q, b = p, min(SPARSE_HESSIAN_BLOCK, kmax - p)
    else:  # many colours (a dense-ish pattern): the colours in chunks too
        q = max(1, kmax // 2)
        b = max(1, min(SPARSE_HESSIAN_BLOCK, kmax - q))
    chunks = [np.arange(c0, min(c0 + q, p)) for c0 in range(0, p, q)]
    Dc = np.zeros((p, n))
    Dc[colour, np.arange(n)] = 1.0
    HD = np.zeros((n, p))
    groups = _forward._groups(n, _forward.HESSIAN_BOUND_GROUPS)
    G = int(groups[-1]) + 1
    MB = np.zeros((G, p))  # the bound's magnitudes: (coordinate group, colour)
    nfev, count = 0, 0
    have_mag = True
    tag = _dual.open_tag()
    k = b + q
    pool = _forward._pool_on(8 * (k + k * k) * n)
    try:
        for C in chunks:
            coords = np.flatnonzero(np.bincount(r_read[np.isin(c_read, C)], minlength=n))
            for start in range(0, coords.size, b):
                B = coords[start : start + b]
                kb = B.size + C.size
                seed = np.zeros((kb + kb * kb, n))
                seed[np.arange(B.size), B] = 1.0
                seed[B.size : kb] = Dc[C]
                X = DualArray._make(x.copy(), seed.reshape((kb + kb * kb, *x.shape)), kb, tag)
                try:
                    y = f(X, *args, **kwargs)
                except TypeError:
                    if nfev:
                        raise
                    _dual.close_tag(tag)
                    tag = None
                    need = np.flatnonzero(np.bincount(r_read, minlength=n))
                    HD, nfev = _nested_hd(f, x, args, kwargs, need, Dc)
                    break
                nfev += 1
                yv, yt = _forward._tangents(y, tag, kb + kb * kb)
                if yv.shape != ():
                    raise ValueError(
                        f"`f` must return a scalar here; got an array of shape {yv.shape}."
                    )
                HD[B[:, None], C] = yt[kb:].reshape(kb, kb)[: B.size, B.size :]
            if tag is None:
                break
            if coords.size and have_mag:
                g = G + C.size
                mseed = np.zeros((g + g * g + 1, n))
                mseed[groups, np.arange(n)] = 1.0
                mseed[G:g] = Dc[C]
                mag, c_count = _forward._magnitudes(
                    f, x.copy(), mseed, g * g, tag, args, kwargs, full=True
                )
                nfev += 1
                if mag is None:
                    have_mag = False
                else:
                    MB[:, C] = mag[g:].reshape(g, g)[:G, G:]
                    count = max(count, c_count)
    finally:
        if tag is not None:
            _dual.close_tag(tag)
        _forward._pool_off(pool)
    if nfev == 0:  # an empty pattern: f once, for its errors and its scalar output
        nfev = _scalar_check(f, x, args, kwargs)
    df = HD[r_read, c_read]
    if tag is None:  # the nested-Dual path's rounding level (fastdiff._forward._result)
        error = _forward.ROUNDING_ULPS * _forward._EPS * np.abs(df)
    elif not have_mag:  # no magnitudes (f builds its output from scalars)
        error = _forward._rounding_bound(df, None, 0)
    else:
        error = _forward._rounding_bound(df, MB[groups[r_read], c_read], count)
    return _entry_result(df, error, (n, n), rows, cols, nfev, x.shape)


def _scalar_check(f, x, args, kwargs) -> int:
    """One call of f at x (an empty pattern): f's exceptions and a non-scalar output raise."""
    y = np.asarray(f(x.copy(), *args, **kwargs))
    if y.shape != ():
        raise ValueError(f"`f` must return a scalar here; got an array of shape {y.shape}.")
    return 1


def _nested_hd(f, x, args, kwargs, coords, Dc):
    """H D on the rows `coords` by nested Duals (the v1 path): inner partials the colour
    directions, outer partials a block of unit vectors. (H D, calls of f)."""
    from fastdiff import _forward
    from fastdiff._kernels import _dual

    n, p = x.size, Dc.shape[0]
    width = 16
    flat = x.reshape(-1)
    HD = np.zeros((n, p))
    nfev = 0
    inner = _dual.open_tag()
    try:
        outer = _dual.open_tag()
        try:
            values = _dual.seed(np.ascontiguousarray(flat), np.ascontiguousarray(Dc.T), inner)
            for start in range(0, coords.size, width):
                B = coords[start : start + width]
                pos = np.full(n, -1)
                pos[B] = np.arange(B.size)
                X = [
                    _dual.make(
                        values[i], [1.0 if pos[i] == j else 0.0 for j in range(width)], outer
                    )
                    for i in range(n)
                ]
                y = _forward._scalar_output(f(_forward._shape_input(X, x.shape), *args, **kwargs))
                nfev += 1
                _, rws = _dual.extract(y, outer, width)
                for j in range(B.size):
                    HD[B[j]] = np.asarray(_dual.extract(rws[j], inner, p)[1], dtype=np.float64)
        finally:
            _dual.close_tag(outer)
    finally:
        _dual.close_tag(inner)
    return HD, nfev
