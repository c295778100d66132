# The crossing for the finite-difference kernels: memoryviews in, C calls, arrays out, and the
# compiled loops that call a Python f one point at a time.  No defaults and no validation:
# fastdiff's Python layer has already checked every argument and decides what results mean.
import numpy as np

from cpython.complex cimport PyComplex_Check, PyComplex_ImagAsDouble, PyComplex_RealAsDouble
from cpython.contextvars cimport PyContextVar_Reset, PyContextVar_Set, get_value
from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_Check, PyFloat_CheckExact
from cpython.object cimport PyCallable_Check
from cpython.ref cimport PyObject
from libc.float cimport DBL_EPSILON
from libc.math cimport NAN, frexp, isfinite, ldexp
from libc.stdlib cimport calloc, free, malloc

cimport cython
cimport numpy as cnp

cnp.import_array()

from fastdiff._kernels._result cimport ResultLayout, atomic_result, result_layout
from fastdiff._kernels.fastdiff cimport (
    FD_MAX_POINTS, FD_N_SIDES, FD_OFFSETS_NONFINITE, FD_OFFSETS_REPEATED, FD_STATUS_COUNT,
    FD_COMPLEX_MAX_COLS, fd_complex_step, fd_contour, fd_fornberg_weights, fd_ladder_config, fd_ladder_init, fd_ladder_points,
    fd_ladder_points_groups, fd_ladder_prepare, fd_ladder_results, fd_ladder_set_noise_abs, fd_ladder_set_pair,
    fd_ladder_share_noise, fd_ladder_state,
    fd_ladder_update, fd_ladder_update_groups, fd_status_codes, fd_colour_columns, fd_status_messages, fd_status_names,
    fd_star_colour, fd_star_unique,
)

OFFSETS_NONFINITE = FD_OFFSETS_NONFINITE
OFFSETS_REPEATED = FD_OFFSETS_REPEATED
MAX_POINTS = FD_MAX_POINTS


def fornberg_weights(const double[::1] offsets, int nmax):
    """(check, weights): weights for orders 0..nmax, shape (nmax + 1, len(offsets))."""
    cdef Py_ssize_t m = offsets.shape[0]
    cdef int check
    out = np.empty((nmax + 1, m), dtype=np.float64)
    cdef double[:, ::1] c = out
    with nogil:
        check = fd_fornberg_weights(&offsets[0], m, nmax, &c[0, 0])
    return check, out


def status_table():
    """The C status table as a list of (name, code, message)."""
    return [(fd_status_names[i].decode(), fd_status_codes[i], fd_status_messages[i].decode())
            for i in range(FD_STATUS_COUNT)]


def scaled_steps(const double[::1] x, double factor, bint spacing=False):
    """factor * the power of two at or above max(|x|, 1), per element: fastdiff._steps.scale_of
    times factor (a power of two), the same doubles in one loop. spacing: each step h as
    the spacing f sees, (x + h) - x (the same doubles as NumPy's x + h, then - x)."""
    cdef Py_ssize_t i, n = x.shape[0]
    cdef double mant, v, h
    cdef int expo
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] o = out
    with nogil:
        for i in range(n):
            v = x[i] if x[i] >= 1.0 or x[i] <= -1.0 else 1.0
            mant = frexp(v, &expo)
            h = ldexp(1.0, expo - (mant == 0.5 or mant == -0.5)) * factor
            o[i] = (x[i] + h) - x[i] if spacing else h
    return out


def point_columns(const double[::1] base, const Py_ssize_t[::1] i1, const double[::1] v1,
                  const Py_ssize_t[::1] i2=None, const double[::1] v2=None, Py_ssize_t lead=0):
    """Points X (N, lead + k) as columns: the first `lead` columns are base itself; column
    lead + c is base with X[i1[c], lead + c] = v1[c] and, where i2 is given and i2[c] >= 0,
    X[i2[c], lead + c] = v2[c]."""
    cdef Py_ssize_t r, c, N = base.shape[0], k = i1.shape[0], w
    if v1.shape[0] != k or (i2 is not None and (v2 is None or i2.shape[0] != k or v2.shape[0] != k)):
        raise ValueError("point_columns: i1, v1 (and i2, v2) must have the same length")
    if lead < 0:
        raise ValueError("point_columns: lead must be >= 0")
    for c in range(k):  # never write outside X
        if not (0 <= i1[c] < N and (i2 is None or i2[c] < N)):
            raise IndexError("point_columns: a coordinate index out of range")
    w = lead + k
    out = np.empty((N, w), dtype=np.float64)
    cdef double[:, ::1] X = out
    with nogil:
        for r in range(N):
            for c in range(w):
                X[r, c] = base[r]
        for c in range(k):
            X[i1[c], lead + c] = v1[c]
            if i2 is not None and i2[c] >= 0:
                X[i2[c], lead + c] = v2[c]
    return out


def pair_setup(const double[::1] x, const double[::1] h0, const int[::1] side,
               const int[::1] flags, const Py_ssize_t[::1] pi, const Py_ssize_t[::1] pj):
    """The Hessian pairs' starting state from their coordinates' (the bookkeeping of
    _hessian_round): (direction, pside, pflags, x[pi], h0[pi], x[pj], h0[pj] / h0[pi]).
    direction[c] is -1.0 for a backward coordinate, else +1.0; a pair is central (side 0)
    unless a coordinate is one-sided, then forward (1) where the directions agree, else
    backward (2); pflags = flags[pi] | flags[pj]."""
    cdef Py_ssize_t p, a, b, N = x.shape[0], P = pi.shape[0]
    if h0.shape[0] != N or side.shape[0] != N or flags.shape[0] != N or pj.shape[0] != P:
        raise ValueError("pair_setup: x, h0, side, flags per coordinate; pi, pj per pair")
    for p in range(P):  # never read outside the coordinates
        if not (0 <= pi[p] < N and 0 <= pj[p] < N):
            raise IndexError("pair_setup: a coordinate index out of range")
    direction = np.empty(N, dtype=np.float64)
    pside = np.empty(P, dtype=np.intc)
    pflags = np.empty(P, dtype=np.intc)
    px, ph, px2, pscale = (np.empty(P, dtype=np.float64) for _ in range(4))
    cdef double[::1] dv = direction, vx = px, vh = ph, vx2 = px2, vs = pscale
    cdef int[::1] vside = pside, vflags = pflags
    with nogil:
        for a in range(N):
            dv[a] = -1.0 if side[a] == 2 else 1.0
        for p in range(P):
            a = pi[p]
            b = pj[p]
            if side[a] != 0 or side[b] != 0:
                vside[p] = 1 if dv[a] * dv[b] > 0 else 2
            else:
                vside[p] = 0
            vflags[p] = flags[a] | flags[b]
            vx[p] = x[a]
            vh[p] = h0[a]
            vx2[p] = x[b]
            vs[p] = h0[b] / h0[a]
    return direction, pside, pflags, px, ph, px2, pscale


def hessian_layout(const Py_ssize_t[::1] hd, const Py_ssize_t[::1] hp,
                   const Py_ssize_t[::1] pi, const Py_ssize_t[::1] pj, const int[::1] side,
                   const Py_ssize_t[::1] npt, const double[:, ::1] omat,
                   const int[::1] pside, const double[::1] direction):
    """One Hessian level's points, for the running diagonals hd and pairs hp (ascending):
    (i1, o1, i2, o2, g, drows, A). Point r moves coordinate i1[r] by o1[r] steps and, where
    i2[r] >= 0, coordinate i2[r] by o2[r] steps (elsewhere i2 = -1, o2 = 0). Rows 0 .. A - 1
    are the axis points: for each coordinate a diagonal or pair needs (ascending), its
    stencil's offsets omat[side, :npt[side]]; then the corners: ++ of every central pair, --
    of every central pair, then the one corner (direction_i, direction_j) of every
    one-sided pair, in hp order. g: each pair's rows, in hp order (central: ++, --, +i, -i,
    +j, -j; one-sided: corner, i, j). drows: the axis rows of hd's coordinates, or None
    when every axis row is one."""
    cdef Py_ssize_t N = side.shape[0], P = hp.shape[0], D = hd.shape[0]
    cdef Py_ssize_t c, k, p, r, A = 0, nc = 0, nneed = 0, ndrows = 0, kc = 0, ko = 0, at = 0
    cdef Py_ssize_t a, b
    for p in range(P):
        if not (0 <= hp[p] < pi.shape[0] and hp[p] < pj.shape[0] and hp[p] < pside.shape[0]
                and 0 <= pi[hp[p]] < N and 0 <= pj[hp[p]] < N):
            raise IndexError("hessian_layout: a pair out of range")
    for k in range(D):
        if not 0 <= hd[k] < N:
            raise IndexError("hessian_layout: a diagonal out of range")
    if direction.shape[0] != N or npt.shape[0] != omat.shape[0]:
        raise ValueError("hessian_layout: direction must have one entry per coordinate")
    for c in range(N):
        if not (0 <= side[c] < npt.shape[0] and npt[side[c]] <= omat.shape[1]):
            raise ValueError("hessian_layout: a side without a stencil")
    used_arr = np.zeros(N, dtype=np.intc)  # bit 1: diagonal running, bit 2: axis points needed
    start_arr = np.zeros(N, dtype=np.intp)
    cdef int[::1] used = used_arr
    cdef Py_ssize_t[::1] start = start_arr
    for k in range(D):
        used[hd[k]] = 3
    for p in range(P):
        used[pi[hp[p]]] |= 2
        used[pj[hp[p]]] |= 2
        nc += pside[hp[p]] == 0
    for c in range(N):
        if used[c] & 2:
            start[c] = A
            A += npt[side[c]]
            nneed += 1
            if used[c] & 1:
                ndrows += npt[side[c]]
    cdef Py_ssize_t K = A + 2 * nc + (P - nc)
    i1_arr = np.empty(K, dtype=np.intp)
    i2_arr = np.empty(K, dtype=np.intp)
    o1_arr = np.empty(K, dtype=np.float64)
    o2_arr = np.empty(K, dtype=np.float64)
    g_arr = np.empty(6 * nc + 3 * (P - nc), dtype=np.intp)
    d_arr = np.empty(ndrows, dtype=np.intp)
    cdef Py_ssize_t[::1] i1 = i1_arr, i2 = i2_arr, g = g_arr, dr = d_arr
    cdef double[::1] o1 = o1_arr, o2 = o2_arr
    with nogil:
        r = 0
        for c in range(N):
            if used[c] & 2:
                for k in range(npt[side[c]]):
                    i1[start[c] + k] = c
                    o1[start[c] + k] = omat[side[c], k]
                    i2[start[c] + k] = -1
                    o2[start[c] + k] = 0.0
                    if used[c] & 1:
                        dr[r] = start[c] + k
                        r += 1
        for p in range(P):
            a = pi[hp[p]]
            b = pj[hp[p]]
            if pside[hp[p]] == 0:
                i1[A + kc] = a
                i2[A + kc] = b
                o1[A + kc] = 1.0
                o2[A + kc] = 1.0
                i1[A + nc + kc] = a
                i2[A + nc + kc] = b
                o1[A + nc + kc] = -1.0
                o2[A + nc + kc] = -1.0
                g[at] = A + kc
                g[at + 1] = A + nc + kc
                g[at + 2] = start[a]
                g[at + 3] = start[a] + 1
                g[at + 4] = start[b]
                g[at + 5] = start[b] + 1
                at += 6
                kc += 1
            else:
                i1[A + 2 * nc + ko] = a
                i2[A + 2 * nc + ko] = b
                o1[A + 2 * nc + ko] = direction[a]
                o2[A + 2 * nc + ko] = direction[b]
                g[at] = A + 2 * nc + ko
                g[at + 1] = start[a]
                g[at + 2] = start[b]
                at += 3
                ko += 1
    return (i1_arr, o1_arr, i2_arr, o2_arr, g_arr, d_arr if D < nneed else None, A)


def hessian_values(const double[::1] x, const double[::1] h, const Py_ssize_t[::1] i1,
                   const double[::1] o1, const Py_ssize_t[::1] i2, const double[::1] o2):
    """A Hessian level's coordinate values (v1, v2) for hessian_layout's (i1, o1, i2, o2) at
    steps h: v1[r] = x[i1[r]] + o1[r] d[i1[r]] with the spacing d = (x + h) - x, and v2 the
    same for i2 (coordinate 0 where i2[r] < 0, whose o2[r] = 0 gives x[0], never read)."""
    cdef Py_ssize_t r, k, K = i1.shape[0], N = x.shape[0]
    if h.shape[0] != N or o1.shape[0] != K or i2.shape[0] != K or o2.shape[0] != K:
        raise ValueError("hessian_values: x and h, and i1, o1, i2, o2, must have equal lengths")
    for r in range(K):
        if not (0 <= i1[r] < N and i2[r] < N):
            raise IndexError("hessian_values: a coordinate index is out of range")
    v1_arr = np.empty(K, dtype=np.float64)
    v2_arr = np.empty(K, dtype=np.float64)
    cdef double[::1] v1 = v1_arr, v2 = v2_arr
    with nogil:
        for r in range(K):
            k = i1[r]
            v1[r] = x[k] + o1[r] * ((x[k] + h[k]) - x[k])
            k = i2[r] if i2[r] > 0 else 0
            v2[r] = x[k] + o2[r] * ((x[k] + h[k]) - x[k])
    return v1_arr, v2_arr


class ValueKindError(TypeError):
    """f returned something that is not one number (the Python layer rewords it)."""


cdef inline object call(object f, double x, tuple args, dict kwargs):
    if kwargs is None:
        return f(x, *args) if args else f(x)
    return f(x, *args, **kwargs)


cdef extern from *:
    """
    /* A float nobody else holds may take a new value: nothing can observe the change (the
       same memory would come back from CPython's float free list anyway). Not on a
       free-threaded build, whose reference counts are not exact. */
    static inline PyObject *fd_reuse_float(PyObject *o, double v) {
    #ifdef Py_GIL_DISABLED
        return NULL;
    #else
        if (o == NULL || Py_REFCNT(o) != 1 || !PyFloat_CheckExact(o)) return NULL;
        ((PyFloatObject *) o)->ob_fval = v;
        return o;
    #endif
    }
    """
    PyObject *fd_reuse_float(PyObject *o, double v)


cdef inline object _reuse_float(object point, double v):
    """`point` holding v if only the caller holds it (the points of one ladder, passed to f
    one after the other, then need no allocation), else a new float."""
    cdef PyObject *p = fd_reuse_float(<PyObject *> point if point is not None else NULL, v)
    if p == NULL:
        return v
    return <object> p


cdef int store(object y, double *out, int ncomp) except -1:
    """Write f's value y as ncomp doubles (re[, im])."""
    if PyFloat_Check(y):
        out[0] = PyFloat_AS_DOUBLE(y)
        if ncomp == 2:
            out[1] = 0.0
        return 0
    if PyComplex_Check(y):
        out[0] = PyComplex_RealAsDouble(y)
        if ncomp == 2:
            out[1] = PyComplex_ImagAsDouble(y)
        elif PyComplex_ImagAsDouble(y) != 0.0:
            raise ValueKindError("complex")
        return 0
    a = np.asarray(y)
    if a.size != 1 or a.dtype.kind not in "biufc":
        raise ValueKindError(a.shape if a.dtype.kind in "biufc" else type(y).__name__)
    return store(complex(a.reshape(())) if a.dtype.kind == "c" else float(a.reshape(())),
                 out, ncomp)


cdef cnp.ndarray _level_values(object y, Py_ssize_t need):
    """A level's values from `evaluate` as a C-contiguous native float64 array of exactly
    `need` values (the run_* loops never read past f's values)."""
    if not (isinstance(y, np.ndarray)
            and cnp.PyArray_TYPE(<cnp.ndarray>y) == cnp.NPY_DOUBLE
            and cnp.PyArray_ISCARRAY_RO(<cnp.ndarray>y)
            and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>y)):
        y = np.ascontiguousarray(y, dtype=np.float64)
    if cnp.PyArray_SIZE(<cnp.ndarray>y) != need:
        raise ValueError(f"evaluate returned {cnp.PyArray_SIZE(<cnp.ndarray>y)} values; "
                         f"expected {need}")
    return <cnp.ndarray>y


cdef class LadderConfig:
    """The C ladder configuration of one (n, method, order, step mode, tolerance) choice."""
    cdef fd_ladder_config cfg
    cdef int max_npts

    def __cinit__(self, int n, stencils, double q, int max_levels, int max_cols,
                  bint fixed, bint kink_check, double rtol, double atol, bint user_tol,
                  double zero_rtol=0.0, int auto_side=0, weight_err=None):
        cdef int s, j
        self.cfg.n = n
        self.cfg.ncomp = 1
        self.cfg.q = q
        self.cfg.max_levels = max_levels
        self.cfg.max_cols = max_cols
        self.cfg.fixed = fixed
        self.cfg.kink_check = kink_check
        self.cfg.noise = 0.0
        self.cfg.rtol = rtol
        self.cfg.atol = atol
        self.cfg.user_tol = user_tol
        self.cfg.zero_rtol = zero_rtol
        self.cfg.auto_side = auto_side
        for s in range(FD_N_SIDES):  # unknown: a few ulp, as Fornberg's recursion gives
            self.cfg.weight_err[s] = 4 * DBL_EPSILON if weight_err is None else weight_err[s]
        self.max_npts = 0
        for s in range(FD_N_SIDES):
            offsets, weights, w0, order, order_step = stencils[s]
            if len(offsets) > FD_MAX_POINTS:  # the C arrays are fixed: never overflow them
                raise ValueError(f"a stencil has {len(offsets)} points; at most {FD_MAX_POINTS}")
            self.cfg.stencil[s].npts = len(offsets)
            for j in range(len(offsets)):
                self.cfg.stencil[s].offsets[j] = offsets[j]
                self.cfg.stencil[s].weights[j] = weights[j]
            self.cfg.stencil[s].w0 = w0
            self.cfg.stencil[s].order = order
            self.cfg.stencil[s].order_step = order_step
            self.max_npts = max(self.max_npts, len(offsets))
        fd_ladder_prepare(&self.cfg)


def first_points(LadderConfig config, const double[::1] x, const double[::1] h0,
                 const int[::1] side, const int[::1] flags):
    """(owner, points): the first level's points of the ladders of x (one element each, as
    Ladder.init and Ladder.points would give them), and the element each belongs to."""
    cdef Py_ssize_t i, j, w = 0, n = x.shape[0]
    cdef int k, npt
    cdef fd_ladder_state st
    cdef double f0[2]
    f0[0] = f0[1] = 0.0
    pts = np.empty(n * config.max_npts, dtype=np.float64)
    own = np.empty(n * config.max_npts, dtype=np.intp)
    cdef double[::1] p = pts
    cdef Py_ssize_t[::1] o = own
    if h0.shape[0] != n or side.shape[0] != n or flags.shape[0] != n:
        raise ValueError("first_points: x, h0, side and flags must have the same length")
    with nogil:
        for i in range(n):
            fd_ladder_init(&config.cfg, &st, x[i], h0[i], side[i], flags[i], f0)
            if st.done:
                continue
            npt = fd_ladder_points(&config.cfg, &st, &p[w])
            for k in range(npt):
                o[w + k] = i
            w += npt
    return own[:w], pts[:w]


cdef double value_eps(object y, int *ncomp) except -1.0:
    """Precision and kind (1 real, 2 complex) of a value of f."""
    if PyFloat_Check(y):
        ncomp[0] = 1
        return DBL_EPSILON
    if PyComplex_Check(y):
        ncomp[0] = 2
        return DBL_EPSILON
    dt = np.asarray(y).dtype
    if dt.kind not in "biufc":
        raise ValueKindError(type(y).__name__)
    ncomp[0] = 2 if dt.kind == "c" else 1
    return max(float(np.finfo(dt).eps), DBL_EPSILON) if dt.kind in "fc" else DBL_EPSILON


def run_scalar(LadderConfig config, f, tuple args, dict kwargs, double x, double h0, int side,
               double noise):
    """One element start to end; noise < 0 means "the precision of f's values".

    Returns (df, error, status, step, nfev), df a float or complex.
    """
    cdef fd_ladder_config cfg = config.cfg
    cdef fd_ladder_state st
    cdef double f0[2]
    cdef double pts[FD_MAX_POINTS]
    cdef double fv[2 * FD_MAX_POINTS]
    cdef double df[2]
    cdef double err, step
    cdef int status, j, m, nc
    cdef Py_ssize_t nfev = 1
    y0 = call(f, x, args, kwargs)
    eps = value_eps(y0, &cfg.ncomp)
    cfg.noise = eps if noise < 0 else max(noise, eps)
    nc = cfg.ncomp
    store(y0, f0, nc)
    fd_ladder_init(&cfg, &st, x, h0, side, 0, f0)
    while not st.done:
        m = fd_ladder_points(&cfg, &st, pts)
        for j in range(m):
            store(call(f, pts[j], args, kwargs), &fv[j * nc], nc)
        nfev += m
        fd_ladder_update(&cfg, &st, fv, nc)
    fd_ladder_results(&cfg, &st, 1, df, &err, &status, &step)
    return (complex(df[0], df[1]) if nc == 2 else df[0]), err, status, step, nfev


# ---- derivative(f, x) for one float x with default options: the whole call in compiled code
# (the policy, configs, first-step rule and Result type, is handed over once by fastdiff's
# Python layer through scalar_policy; every other case takes the validating Python path).

cdef object _Result = None  # fastdiff.Result (laid out in _layout)
cdef ResultLayout _layout
cdef PyObject *_last_result = NULL  # atomic_result's cache: the last scalar Result made here
cdef object _config_for = None  # (n, method) -> (LadderConfig, log2 of h0 / scale, side) or None
cdef dict _fast_configs = {}  # (n, method) -> _FastEntry
cdef tuple _last_fast = (None, None, None)  # (n, method, _FastEntry) of the latest call
cdef object _quiet_var = None  # NumPy's errstate context variable (None: use np.errstate)
cdef object _make_quiet = None  # numpy._core._ufunc_config._make_extobj
cdef tuple _quiet = (None, None)  # (an errstate, it with every floating-point error ignored)


@cython.final
cdef class _FastEntry:
    """derivative_float's configuration of one (n, method): a private copy of the ladder
    configuration with the common values' kind and precision set (real float64), so that
    most calls read it in place instead of copying its 3 kB, the first step's exponent and
    the side. Never written after it is made: threads share it."""
    cdef fd_ladder_config cfg
    cdef int expo
    cdef int side


def scalar_policy(result_type, config_for, extobj_var, make_extobj):
    """Hand over what derivative_float needs: the Result type, the factory of its ladder
    configurations, and NumPy's errstate context variable and its maker (None, None: NumPy
    without them, derivative_float then declines)."""
    global _Result, _config_for, _quiet_var, _make_quiet, _quiet, _last_fast
    result_layout(&_layout, result_type)
    _Result, _config_for = result_type, config_for
    _quiet_var, _make_quiet = extobj_var, make_extobj
    _quiet = (None, None)
    _fast_configs.clear()
    _last_fast = (None, None, None)


cdef object _quiet_errstate():
    """The current errstate with every floating-point error ignored, as np.errstate(
    all="ignore") would set it; made once per distinct current state (the states are
    immutable capsules). The pair is one object, so threads never see one state's "ignore"
    paired with another state."""
    global _quiet
    cur = get_value(_quiet_var)
    pair = _quiet
    if pair[0] is not cur or pair[1] is None:
        pair = (cur, _make_quiet(all="ignore"))
        _quiet = pair
    return pair[1]


def derivative_float(f, x, n, method, order, step, rtol, atol, bounds, vectorized, args,
                     kwargs, noise):
    """``derivative(f, x)`` for a finite float x, an adaptive step and no tolerance, bounds
    or noise (a method from the configured ones, ``vectorized=False``): the same computation
    as the Python path, with f's floating-point warnings silenced. Returns None, having
    evaluated nothing, for any other case."""
    return scalar_derivative(f, x, n, method, order, step, rtol, atol, bounds, vectorized,
                             args, kwargs, noise)


cdef object scalar_derivative(object f, object x, object n, object method, object order,
                              object step, object rtol, object atol, object bounds,
                              object vectorized, object args, object kwargs, object noise):
    """derivative_float, called from C (the public entry, _dual.derivative, calls it so)."""
    global _last_fast
    cdef _FastEntry fast
    cdef tuple last
    cdef fd_ladder_config own
    cdef const fd_ladder_config *cfg
    cdef fd_ladder_state st
    cdef double f0[2]
    cdef double pts[FD_MAX_POINTS]
    cdef double fv[2 * FD_MAX_POINTS]
    cdef double df[2]
    cdef double xd, h0, mant, err, hstep
    cdef int expo, status, j, m, nc, side
    cdef Py_ssize_t nfev = 1
    if not (PyFloat_CheckExact(x) and type(method) is str and order is None and step is None and rtol is None
            and atol is None and bounds is None and vectorized is False and noise is None
            and type(args) is tuple and (kwargs is None or type(kwargs) is dict)
            and type(n) is int and _quiet_var is not None):
        return None
    xd = PyFloat_AS_DOUBLE(x)
    if not isfinite(xd) or not PyCallable_Check(f):
        return None
    last = _last_fast  # one read: threads replace it whole
    if n is last[0] and method is last[1]:  # the same call again (n and method the same
        fast = <_FastEntry> last[2]         # objects): no key to build and hash
    else:
        key = (n, method)
        entry = _fast_configs.get(key)
        if entry is None:
            made = _config_for(n, method)
            if made is None:
                return None
            fast = _FastEntry.__new__(_FastEntry)
            fast.cfg = (<LadderConfig> made[0]).cfg
            fast.cfg.ncomp = 1
            fast.cfg.noise = DBL_EPSILON
            fast.expo = made[1]
            fast.side = made[2]
            _fast_configs[key] = fast
        else:
            fast = <_FastEntry> entry
        _last_fast = (n, method, fast)
    side = fast.side
    mant = frexp(xd if xd >= 1.0 or xd <= -1.0 else 1.0, &expo)
    h0 = ldexp(1.0, expo - (mant == 0.5 or mant == -0.5) + fast.expo)
    h0 = (xd + h0) - xd
    token = PyContextVar_Set(_quiet_var, _quiet_errstate())
    try:
        y0 = call(f, xd, <tuple> args, kwargs)
        eps = value_eps(y0, &nc)
        if nc == 1 and eps == DBL_EPSILON:  # real float64 values: the entry's own settings
            cfg = &fast.cfg
        else:
            own = fast.cfg
            own.ncomp = nc
            own.noise = eps
            cfg = &own
        store(y0, f0, nc)
        fd_ladder_init(cfg, &st, xd, h0, side, 0, f0)
        point = None
        while not st.done:
            m = fd_ladder_points(cfg, &st, pts)
            for j in range(m):
                point = _reuse_float(point, pts[j])
                store(call_obj(f, point, <tuple> args, kwargs), &fv[j * nc], nc)
            nfev += m
            fd_ladder_update(cfg, &st, fv, nc)
    finally:
        PyContextVar_Reset(_quiet_var, token)
    fd_ladder_results(cfg, &st, 1, df, &err, &status, &hstep)
    return atomic_result(&_layout, &_last_result, complex(df[0], df[1]) if nc == 2 else df[0],
                         err, status >= 0, status, nfev, hstep, method)


cdef class Ladder:
    """Ladder states of one call, for the array paths: `size` groups of `group` outputs."""
    cdef fd_ladder_config cfg
    cdef fd_ladder_state *st
    cdef readonly Py_ssize_t size
    cdef readonly Py_ssize_t capacity
    cdef readonly Py_ssize_t group
    cdef readonly int ncomp
    cdef int max_npts

    def __cinit__(self, LadderConfig config, int ncomp, double noise, Py_ssize_t size,
                  Py_ssize_t group=1):
        self.cfg = config.cfg
        self.cfg.ncomp = ncomp
        self.cfg.noise = noise
        self.max_npts = config.max_npts
        self.size = size * group
        self.capacity = self.size
        self.group = group
        self.ncomp = ncomp
        self.st = <fd_ladder_state *>calloc(max(self.size, 1), sizeof(fd_ladder_state))
        if self.st == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.st)

    def init(self, const double[::1] x, const double[::1] h0, const int[::1] side,
             const int[::1] flags, const double[:, ::1] f0):
        """(Re)start the ladders of x.shape[0] groups (at most the capacity it was made with).
        x, h0, side, flags: per group; f0: (groups, 2 * group)."""
        cdef Py_ssize_t i, k, m = self.group
        if x.shape[0] * m > self.capacity:
            raise ValueError("more groups than this Ladder holds")
        self.size = x.shape[0] * m
        with nogil:
            for i in range(self.size // m):
                for k in range(m):
                    fd_ladder_init(&self.cfg, &self.st[i * m + k], x[i], h0[i], side[i],
                                   flags[i], &f0[i, 2 * k])

    def set_pairs(self, const double[::1] x2, const double[::1] scale2):
        """Make every element a pair element (mixed second derivative), see fd_ladder_set_pair."""
        cdef Py_ssize_t i
        with nogil:
            for i in range(self.size):
                fd_ladder_set_pair(&self.st[i], x2[i], scale2[i])

    def set_noise_abs(self, const double[::1] sigma):
        """Declare an absolute noise of f's values for every element (sigma: groups * group
        values, as the elements; after init), see fd_ladder_set_noise_abs."""
        cdef Py_ssize_t i
        if sigma.shape[0] != self.size:
            raise ValueError("one absolute noise per element")
        with nogil:
            for i in range(self.size):
                fd_ladder_set_noise_abs(&self.st[i], sigma[i])

    def share_noise(self, key=None, Py_ssize_t nkeys=0):
        """Pool the noise each element learned over the elements of one key, after the run
        (fd_ladder_share_noise). key: one value per element, below nkeys (-1 takes no part);
        None: the member's index in its group (the same output of f along every coordinate),
        nkeys the group size."""
        cdef Py_ssize_t i, m = self.group
        cdef const Py_ssize_t[::1] k
        cdef Py_ssize_t *own = NULL
        cdef const Py_ssize_t *kp
        if key is None:
            nkeys = m
            own = <Py_ssize_t *>malloc(max(self.size, 1) * sizeof(Py_ssize_t))
            if own == NULL:
                raise MemoryError()
            for i in range(self.size):
                own[i] = i % m
            kp = own
        else:
            k = key
            if k.shape[0] != self.size:
                raise ValueError("one key per element")
            for i in range(k.shape[0]):
                if k[i] >= nkeys:
                    raise ValueError("a key beyond nkeys")
            kp = &k[0] if k.shape[0] else NULL
        cdef fd_ladder_state *pool = <fd_ladder_state *>calloc(max(nkeys, 1),
                                                               sizeof(fd_ladder_state))
        if pool == NULL:
            free(own)
            raise MemoryError()
        if self.size:
            with nogil:
                fd_ladder_share_noise(self.st, self.size, kp, pool, nkeys)
        free(pool)
        free(own)

    def active(self):
        """Indices of the groups still running."""
        cdef Py_ssize_t i, k, n = 0, m = self.group
        out = np.empty(self.size // m, dtype=np.intp)
        cdef Py_ssize_t[::1] idx = out
        with nogil:
            for i in range(self.size // m):
                for k in range(m):
                    if not self.st[i * m + k].done:
                        idx[n] = i
                        n += 1
                        break
        return out[:n]

    def sides(self, const Py_ssize_t[::1] idx):
        """The current stencil side of groups idx (a central group can turn one-sided)."""
        out = np.empty(idx.shape[0], dtype=np.intc)
        cdef int[::1] o = out
        cdef Py_ssize_t i, k, m = self.group
        for i in range(idx.shape[0]):
            o[i] = self.st[idx[i] * m].side
            for k in range(m):
                if not self.st[idx[i] * m + k].done:
                    o[i] = self.st[idx[i] * m + k].side
                    break
        return out

    def turned(self, const int[::1] side):
        """Indices of the groups whose current stencil side (as `sides` reads it) differs
        from side[g]: the groups that turned one-sided since their points were laid out."""
        cdef Py_ssize_t i, k, n = 0, m = self.group, ng = self.size // m
        cdef int cur
        if side.shape[0] != ng:
            raise ValueError("turned: one side per group")
        out = np.empty(ng, dtype=np.intp)
        cdef Py_ssize_t[::1] o = out
        for i in range(ng):
            cur = self.st[i * m].side
            for k in range(m):
                if not self.st[i * m + k].done:
                    cur = self.st[i * m + k].side
                    break
            if cur != side[i]:
                o[n] = i
                n += 1
        return out[:n]

    def points(self, const Py_ssize_t[::1] idx):
        """All points of the current level of groups idx, back to back."""
        out = np.empty(idx.shape[0] * self.max_npts, dtype=np.float64)
        cdef double[::1] pts = out
        cdef Py_ssize_t w = 0
        if idx.shape[0]:
            with nogil:
                w = fd_ladder_points_groups(&self.cfg, self.st, self.group, &idx[0],
                                            idx.shape[0], &pts[0])
        return out[:w]

    def update(self, Py_ssize_t[::1] idx, const double[::1] fv):
        """Consume f at points(idx), rows of group * ncomp values per point; compacts idx in
        place and returns how many groups run on."""
        cdef Py_ssize_t keep = 0
        if idx.shape[0]:
            with nogil:
                keep = fd_ladder_update_groups(&self.cfg, self.st, self.group, &idx[0],
                                               idx.shape[0], &fv[0])
        return keep

    def run_blocks(self, const double[::1] x, const double[::1] h0, const int[::1] side,
                   const int[::1] flags, const double[:, ::1] f0, evaluate):
        """Run the ladders of x.shape[0] groups to the end, `capacity` elements at a time
        through these states, level by level: init, then points -> evaluate(points) ->
        update until no group runs, then results. evaluate(points) returns f's values, rows
        of group * ncomp float64 per point. f0: (groups, 2 * group).

        Returns (df (groups * group, ncomp), error, status, step, points evaluated)."""
        cdef Py_ssize_t m = self.group, N = x.shape[0], cap = self.capacity // m
        cdef Py_ssize_t s0, e0, nb, i, k, nact, w, nfev = 0
        cdef Py_ssize_t row = m * self.ncomp
        cdef cnp.npy_intp alloc
        cdef cnp.ndarray pts, fv
        if cap < 1 and N:
            raise ValueError("a Ladder of no capacity")
        df = np.empty((N * m, self.ncomp), dtype=np.float64)
        error = np.empty(N * m, dtype=np.float64)
        status = np.empty(N * m, dtype=np.intc)
        step = np.empty(N * m, dtype=np.float64)
        cdef double[:, ::1] d = df
        cdef double[::1] e = error, h = step
        cdef int[::1] s = status
        cdef Py_ssize_t *idx = <Py_ssize_t *>malloc(max(cap, 1) * sizeof(Py_ssize_t))
        if idx == NULL:
            raise MemoryError()
        try:
            for s0 in range(0, N, max(cap, 1)):
                e0 = min(N, s0 + cap)
                nb = e0 - s0
                self.size = nb * m
                nact = 0
                with nogil:
                    for i in range(nb):
                        for k in range(m):
                            fd_ladder_init(&self.cfg, &self.st[i * m + k], x[s0 + i],
                                           h0[s0 + i], side[s0 + i], flags[s0 + i],
                                           &f0[s0 + i, 2 * k])
                        for k in range(m):
                            if not self.st[i * m + k].done:
                                idx[nact] = i
                                nact += 1
                                break
                while nact:
                    alloc = nact * self.max_npts
                    pts = cnp.PyArray_EMPTY(1, &alloc, cnp.NPY_DOUBLE, 0)
                    with nogil:
                        w = fd_ladder_points_groups(&self.cfg, self.st, m, idx, nact,
                                                    <double *>cnp.PyArray_DATA(pts))
                    fv = _level_values(evaluate(pts if w == alloc else pts[:w]), w * row)
                    nfev += w
                    with nogil:
                        nact = fd_ladder_update_groups(&self.cfg, self.st, m, idx, nact,
                                                       <const double *>cnp.PyArray_DATA(fv))
                if nb:
                    with nogil:
                        fd_ladder_results(&self.cfg, self.st, nb * m, &d[s0 * m, 0],
                                          &e[s0 * m], &s[s0 * m], &h[s0 * m])
        finally:
            free(idx)
        return df, error, status, step, nfev

    def run_levels(self, const Py_ssize_t[::1] start, evaluate):
        """Run the groups `start` (running, ascending) to the end, level by level:
        evaluate(owner, points) gets every pending point with the group it belongs to (a
        group's points are its lead member's stencil, as in `points`) and returns f's values,
        rows of group * ncomp float64 per point. Returns the points evaluated."""
        cdef Py_ssize_t m = self.group, nact = start.shape[0], i, j, k, g, w, nfev = 0
        cdef Py_ssize_t row = m * self.ncomp
        cdef cnp.npy_intp alloc
        cdef cnp.ndarray pts, own, fv
        cdef Py_ssize_t *o
        cdef const fd_ladder_state *lead
        cdef Py_ssize_t *idx = <Py_ssize_t *>malloc(max(nact, 1) * sizeof(Py_ssize_t))
        if idx == NULL:
            raise MemoryError()
        try:
            for i in range(nact):
                idx[i] = start[i]
            while nact:
                alloc = nact * self.max_npts
                pts = cnp.PyArray_EMPTY(1, &alloc, cnp.NPY_DOUBLE, 0)
                own = cnp.PyArray_EMPTY(1, &alloc, cnp.NPY_INTP, 0)
                o = <Py_ssize_t *>cnp.PyArray_DATA(own)
                with nogil:
                    w = fd_ladder_points_groups(&self.cfg, self.st, m, idx, nact,
                                                <double *>cnp.PyArray_DATA(pts))
                    j = 0
                    for i in range(nact):
                        g = idx[i]
                        lead = &self.st[g * m]
                        for k in range(m):  # the first running member (fd_ladder_points_groups)
                            if not self.st[g * m + k].done:
                                lead = &self.st[g * m + k]
                                break
                        for k in range(self.cfg.stencil[lead.side].npts):
                            o[j] = g
                            j += 1
                if w < alloc:
                    pts, own = pts[:w], own[:w]
                fv = _level_values(evaluate(own, pts), w * row)
                nfev += w
                with nogil:
                    nact = fd_ladder_update_groups(&self.cfg, self.st, m, idx, nact,
                                                   <const double *>cnp.PyArray_DATA(fv))
        finally:
            free(idx)
        return nfev

    def run_looped(self, f, tuple args, dict kwargs, const double[::1] x,
                   const double[::1] h0, const int[::1] side, const int[::1] flags, first):
        """Run every element to the end, calling f once per point; returns nfev.

        ``first`` is f(x[0]), already evaluated by the caller to learn f's value type.
        """
        cdef Py_ssize_t i, nfev = 0
        cdef int j, m, nc = self.ncomp
        cdef double f0[2]
        cdef double pts[FD_MAX_POINTS]
        cdef double fv[2 * FD_MAX_POINTS]
        for i in range(self.size):
            if i == 0:
                store(first, f0, nc)
            else:
                store(call(f, x[i], args, kwargs), f0, nc)
                nfev += 1
            fd_ladder_init(&self.cfg, &self.st[i], x[i], h0[i], side[i], flags[i], f0)
            while not self.st[i].done:
                m = fd_ladder_points(&self.cfg, &self.st[i], pts)
                for j in range(m):
                    store(call(f, pts[j], args, kwargs), &fv[j * nc], nc)
                nfev += m
                fd_ladder_update(&self.cfg, &self.st[i], fv, nc)
        return nfev

    def results(self):
        """(df, error, status, step); df has shape (size, ncomp)."""
        df = np.empty((self.size, self.ncomp), dtype=np.float64)
        error = np.empty(self.size, dtype=np.float64)
        status = np.empty(self.size, dtype=np.intc)
        step = np.empty(self.size, dtype=np.float64)
        cdef double[:, ::1] d = df
        cdef double[::1] e = error, h = step
        cdef int[::1] s = status
        if self.size:
            with nogil:
                fd_ladder_results(&self.cfg, self.st, self.size, &d[0, 0], &e[0], &s[0], &h[0])
        return df, error, status, step


COMPLEX_MAX_COLS = FD_COMPLEX_MAX_COLS


def complex_step(int cols, const double complex[:, ::1] y, const double[::1] h0, double q,
                 const double complex[:, ::1] fr, const double[::1] hc,
                 const double[::1] slack, const double[::1] scale, double noise):
    """(df, error, status) of the order-2 cols complex-step formula from the values of f:
    y[k] = f(x + i h0 / q**k), k = 0 .. cols; fr = (f(x + hc), f(x - hc))."""
    cdef Py_ssize_t n = h0.shape[0]
    if y.shape[0] != cols + 1 or y.shape[1] != n or fr.shape[0] != 2 or fr.shape[1] != n:
        raise ValueError("complex_step: y must be (cols + 1, n) and fr (2, n)")
    if (hc.shape[0] != n or slack.shape[0] != n or scale.shape[0] != n
            or not 1 <= cols <= FD_COMPLEX_MAX_COLS):
        raise ValueError("complex_step: hc, slack, scale must have n entries, 1 <= cols <= max")
    df = np.empty(n, dtype=np.float64)
    error = np.empty(n, dtype=np.float64)
    status = np.empty(n, dtype=np.intc)
    cdef double[::1] d = df, e = error
    cdef int[::1] s = status
    if n:
        with nogil:
            fd_complex_step(n, cols, <const double *>&y[0, 0], &h0[0], q,
                            <const double *>&fr[0, 0], &hc[0], &slack[0], &scale[0], noise,
                            &d[0], &e[0], &s[0])
    return df, error, status


class OutputShapeError(ValueError):
    """f's output changed shape between calls (the Python layer rewords it)."""


cdef int store_row(object y, double *out, Py_ssize_t m, int ncomp, tuple fshape) except -1:
    """Write f's value y (expected shape fshape, m entries) as m * ncomp doubles."""
    cdef Py_ssize_t k
    if m == 1 and (PyFloat_Check(y) or PyComplex_Check(y)) and not fshape:
        return store(y, out, ncomp)
    a = np.asarray(y)
    if a.shape != fshape:
        raise OutputShapeError(a.shape)
    if a.dtype.kind not in "biufc":
        raise ValueKindError(type(y).__name__)
    if ncomp == 2:
        c = np.ascontiguousarray(a, dtype=np.complex128).reshape(-1)
        for k in range(m):
            out[2 * k] = c[k].real
            out[2 * k + 1] = c[k].imag
    else:
        if a.dtype.kind == "c":
            if np.any(a.imag != 0):
                raise ValueKindError("complex")
            a = a.real
        r = np.ascontiguousarray(a, dtype=np.float64).reshape(-1)
        for k in range(m):
            out[k] = r[k]
    return 0


def eval_points_looped(f, tuple args, dict kwargs, const double[::1] base, tuple shape,
                       const Py_ssize_t[::1] i1, const double[::1] v1,
                       const Py_ssize_t[::1] i2, const double[::1] v2,
                       tuple fshape, int ncomp):
    """f, one call per point, at copies of base with base[i1[k]] = v1[k] and, where
    i2[k] >= 0, base[i2[k]] = v2[k]; returns rows of (size of fshape) * ncomp values.
    i2 and v2 may both be None: one coordinate per point (the arrays of -1 that would say
    so cost more than a level of a cheap f's bookkeeping)."""
    cdef Py_ssize_t k, npt = i1.shape[0], m = 1, N = base.shape[0]
    cdef double *yv
    cdef cnp.ndarray y
    cdef bint two = i2 is not None or v2 is not None
    for k in range(len(fshape)):
        m *= fshape[k]
    if v1.shape[0] != npt or (two and (i2 is None or v2 is None or i2.shape[0] != npt
                                       or v2.shape[0] != npt)):
        raise ValueError("eval_points_looped: i1, v1, i2 and v2 must have the same length")
    for k in range(npt):  # never write outside a point
        if not (0 <= i1[k] < N and (not two or i2[k] < N)):
            raise IndexError("eval_points_looped: a coordinate index out of range")
    out = np.empty((npt, m * ncomp), dtype=np.float64)
    cdef double[:, ::1] o = out
    base_arr = np.asarray(base)
    cdef bint flat = shape == (N,)  # f gets the copy itself, not a reshaped view of it
    for k in range(npt):
        # a fresh copy per point (f may keep it), written through its data pointer: a
        # typed memoryview of each copy costs more than the copy
        y = cnp.PyArray_NewCopy(base_arr, cnp.NPY_CORDER)
        yv = <double *>cnp.PyArray_DATA(y)
        yv[i1[k]] = v1[k]
        if two and i2[k] >= 0:
            yv[i2[k]] = v2[k]
        store_row(call_obj(f, y if flat else y.reshape(shape), args, kwargs), &o[k, 0], m,
                  ncomp, fshape)
    return out


cdef inline object call_obj(object f, object x, tuple args, dict kwargs):
    if kwargs is None:
        return f(x, *args) if args else f(x)
    return f(x, *args, **kwargs)


def contour(int n, const double[:, ::1] re, const double[:, ::1] im, const double[::1] r,
            const double complex[::1] ang):
    """(full, half, rho, q) of the circle estimate of f^(n) per row of values (see
    fd_contour; q = rms|f| / mean|f|); ang: the npts points exp(2 pi i k / N) of the unit
    circle."""
    cdef Py_ssize_t m = re.shape[0]
    cdef int npts = <int> re.shape[1]
    if (im.shape[0] != m or im.shape[1] != npts or r.shape[0] != m or ang.shape[0] != npts
            or not 2 <= npts <= 17):
        raise ValueError("contour: re, im must be (m, npts), ang (npts,), r (m,)")
    full = np.empty(m, dtype=np.float64)
    half = np.empty(m, dtype=np.float64)
    rho = np.empty(m, dtype=np.float64)
    q = np.empty(m, dtype=np.float64)
    cdef double[::1] a = full, b = half, c = rho, d = q
    if m:
        with nogil:
            fd_contour(m, n, npts, &re[0, 0], &im[0, 0], &r[0], <const double *>&ang[0],
                       &a[0], &b[0], &c[0], &d[0])
    return full, half, rho, q


from fastdiff._kernels.fastdiff cimport fd_circle_points, fd_on_circle


def circle_points(const double[::1] x, const double[::1] r, const double complex[::1] hi,
                  const double complex[::1] lo):
    """(z, err): the circle's points x + r (hi + lo) correctly rounded, and the rest (see
    fd_circle_points and _complex.circle_points)."""
    cdef Py_ssize_t m = x.shape[0]
    cdef int npts = <int> hi.shape[0]
    if r.shape[0] != m or lo.shape[0] != npts:
        raise ValueError("circle_points: x and r must be (m,), hi and lo (npts,)")
    z = np.empty((m, npts), dtype=np.complex128)
    err = np.empty((m, npts), dtype=np.complex128)
    cdef double complex[:, ::1] zv = z, ev = err
    if m and npts:
        with nogil:
            fd_circle_points(m, npts, &x[0], &r[0], <const double *>&hi[0],
                             <const double *>&lo[0], <double *>&zv[0, 0], <double *>&ev[0, 0])
    return z, err


def on_circle(const double complex[:, ::1] y, const double[::1] x, const double[::1] r,
              const double complex[:, ::1] err, const double complex[::1] ang, int passes):
    """(moved, residual, top, below): f's values y at the points z = x + r ang - err (z
    correctly rounded, err the rest) moved onto the circle x + r ang (see fd_on_circle and
    _complex.on_the_circle)."""
    cdef Py_ssize_t m = y.shape[0]
    cdef int npts = <int> y.shape[1]
    if (err.shape[0] != m or err.shape[1] != npts or ang.shape[0] != npts or x.shape[0] != m
            or r.shape[0] != m or not 2 <= npts <= 17):
        raise ValueError("on_circle: y, err must be (m, npts), ang (npts,), x and r (m,)")
    moved = np.empty((m, npts), dtype=np.complex128)
    residual = np.empty(m, dtype=np.float64)
    top = np.empty(m, dtype=np.float64)
    below = np.empty(m, dtype=np.float64)
    cdef double complex[:, ::1] mv = moved
    cdef double[::1] a = residual, b = top, c = below
    if m:
        with nogil:
            fd_on_circle(m, npts, <const double *>&y[0, 0], &x[0], &r[0],
                         <const double *>&err[0, 0], <const double *>&ang[0], passes,
                         <double *>&mv[0, 0], &a[0], &b[0], &c[0])
    return moved, residual, top, below


def eval_real_looped(f, tuple args, dict kwargs, const double[::1] x):
    """f at each real point, one call each, as complex values (f may be complex-valued)."""
    cdef Py_ssize_t k, n = x.shape[0]
    out = np.empty(n, dtype=np.complex128)
    cdef double complex[::1] o = out
    cdef double v[2]
    for k in range(n):
        store(call(f, x[k], args, kwargs), v, 2)
        o[k] = v[0] + 1j * v[1]
    return out


def eval_complex_looped(f, tuple args, dict kwargs, const double complex[::1] z):
    """f at each complex point, one call each: complex values (NaN where f returned a
    non-complex number, i.e. dropped the imaginary part)."""
    cdef Py_ssize_t k, n = z.shape[0]
    out = np.empty(n, dtype=np.complex128)
    cdef double complex[::1] o = out
    cdef double v[2]
    for k in range(n):
        y = f(z[k], *args, **(kwargs or {}))
        if PyComplex_Check(y):
            o[k] = PyComplex_RealAsDouble(y) + 1j * PyComplex_ImagAsDouble(y)
        elif isinstance(y, np.ndarray) and y.dtype.kind == "c" and y.size == 1:
            o[k] = complex(y.reshape(()))  # a 0-d complex array (np.where, ...)
        else:
            store(y, v, 1)
            o[k] = NAN + 1j * NAN
    return out


def eval_rows_looped(f, tuple args, dict kwargs, XT, tuple shape, tuple fshape,
                     Py_ssize_t m, bint cplx):
    """f at each row of XT (k, N), real or complex, one call each with a fresh array of
    `shape`: values (k, m) complex. Where a complex point gave a value that is not complex
    (f dropped the imaginary part) the row is NaN + NaN j."""
    cdef Py_ssize_t c, k = XT.shape[0]
    out = np.empty((k, m), dtype=np.complex128)
    cdef double complex[:, ::1] o = out
    cdef double complex nan2 = NAN + 1j * NAN
    kw = kwargs or {}
    for c in range(k):
        y = f(XT[c].reshape(shape).copy(), *args, **kw)
        if m == 1 and not fshape and (PyComplex_Check(y) or PyFloat_Check(y)):
            if PyComplex_Check(y):
                o[c, 0] = PyComplex_RealAsDouble(y) + 1j * PyComplex_ImagAsDouble(y)
            else:
                o[c, 0] = nan2 if cplx else PyFloat_AS_DOUBLE(y)
            continue
        a = np.asarray(y)
        if a.shape != fshape:
            raise OutputShapeError(a.shape)
        if a.dtype.kind not in "biufc":
            raise ValueKindError(f"{a.dtype}")
        if cplx and a.dtype.kind != "c":
            out[c] = nan2
        else:
            out[c] = a.reshape(-1)
    return out


def colour_columns(Py_ssize_t nrows, const Py_ssize_t[::1] col_ptr, const Py_ssize_t[::1] row_idx,
                   const Py_ssize_t[::1] row_ptr, const Py_ssize_t[::1] col_idx):
    """(colour per column, number of colours) of the pattern given as CSC and CSR (np.intp)."""
    cdef Py_ssize_t ncols = col_ptr.shape[0] - 1, ncolours
    colour = np.zeros(ncols, dtype=np.intp)
    work = np.empty(4 * ncols + 1, dtype=np.intp)
    cdef Py_ssize_t[::1] cv = colour, wv = work
    cdef const Py_ssize_t *ri = &row_idx[0] if row_idx.shape[0] else NULL
    cdef const Py_ssize_t *ci = &col_idx[0] if col_idx.shape[0] else NULL
    if ncols == 0:
        return colour, 0
    with nogil:
        ncolours = fd_colour_columns(nrows, ncols, &col_ptr[0], ri, &row_ptr[0], ci, &cv[0],
                                     &wv[0])
    return colour, int(ncolours)


def star_colour(const Py_ssize_t[::1] row_ptr, const Py_ssize_t[::1] col_idx):
    """(colour per vertex, number of colours) of a symmetric pattern given as CSR (np.intp)."""
    cdef Py_ssize_t n = row_ptr.shape[0] - 1, ncolours
    colour = np.zeros(n, dtype=np.intp)
    work = np.empty(4 * n + 1, dtype=np.intp)
    cdef Py_ssize_t[::1] cv = colour, wv = work
    cdef const Py_ssize_t *ci = &col_idx[0] if col_idx.shape[0] else NULL
    if n == 0:
        return colour, 0
    with nogil:
        ncolours = fd_star_colour(n, &row_ptr[0], ci, &cv[0], &wv[0])
    return colour, int(ncolours)


def star_unique(const Py_ssize_t[::1] row_ptr, const Py_ssize_t[::1] col_idx,
                const Py_ssize_t[::1] colour):
    """Per stored entry (i, j): 1 where j is the only entry of row i of its colour (np.intp)."""
    cdef Py_ssize_t n = row_ptr.shape[0] - 1, nnz = col_idx.shape[0]
    unique = np.zeros(nnz, dtype=np.intp)
    work = np.empty(2 * n, dtype=np.intp)
    cdef Py_ssize_t[::1] uv = unique, wv = work
    if n == 0 or nnz == 0:
        return unique
    with nogil:
        fd_star_unique(n, &row_ptr[0], &col_idx[0], &colour[0], &uv[0], &wv[0])
    return unique
