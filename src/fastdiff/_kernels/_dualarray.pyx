# The crossing for DualArray (fastdiff/_dualarray.py): the rule table's elementwise loops of
# csrc/dual_array.c on contiguous float64 arrays.  Tangents are (m, count) row-major.
import numpy as np

cimport cython
cimport numpy as cnp

cnp.import_array()

from fastdiff._kernels.fastdiff cimport (
    FD_ARITH_ADD,
    FD_ARITH_DIV,
    FD_ARITH_MUL,
    FD_ARITH_SQUARE,
    FD_ARITH_SUB,
    FD_RULE_power,
    fd_dualarray_arith,
    fd_dualarray_binary,
    fd_dualarray_bound,
    fd_dualarray_group_matvec_abs,
    fd_dualarray_hessian_bound,
    fd_dualarray_sum,
    fd_dualarray_unary,
    fd_dualarray_unary_abs,
    fd_dualarray_unary_second,
    fd_dualarray_unary_t,
)


def unary(int rule, const double[::1] xv, const double[:, ::1] xp, bint second, out=None):
    """(value, f', f'' or None, tangents) of a unary rule; tangents scaled by f' (written
    into `out`, a row-major (m, count) array, when given: it is then the tangents)."""
    cdef Py_ssize_t count = xv.shape[0], m = xp.shape[0]
    if xp.shape[1] != count:
        raise ValueError("unary: tangents must have shape (m, count)")
    if out is not None and (np.shape(out) != (m, count) or not out.flags.c_contiguous):
        raise ValueError("out: a row-major array of shape (m, count) expected")
    v = np.empty(count)
    d = np.empty(count)
    dd = np.empty(count) if second else None
    p = np.empty((m, count)) if out is None else out
    cdef double[::1] vv = v, dv = d
    cdef double[::1] ddv
    cdef double[:, ::1] pv = p
    cdef double *ddp = NULL
    if second:
        ddv = dd
        ddp = &ddv[0] if count else NULL
    if count:
        with nogil:
            fd_dualarray_unary(rule, count, m, &xv[0], &xp[0, 0] if m else NULL, &vv[0],
                               &dv[0], ddp, &pv[0, 0] if m else NULL)
    return v, d, dd, p


def unary_second(const double[::1] dd, const double[:, ::1] xp, double[:, ::1] out,
                 Py_ssize_t k, bint absmode):
    """Adds a unary rule's second-order terms into out in place: rows k + p k + q gain
    dd * xp[p] * xp[q] (|dd| with absmode) for p, q < k (fd_dualarray_unary_second)."""
    cdef Py_ssize_t count = dd.shape[0]
    if xp.shape[1] != count or out.shape[1] != count or xp.shape[0] < k \
            or out.shape[0] < k + k * k:
        raise ValueError("unary_second: rows (k + k*k at least) of dd's length expected")
    if count and k:
        with nogil:
            fd_dualarray_unary_second(count, k, absmode, &dd[0], &xp[0, 0], xp.shape[1],
                                      &out[0, 0])


def unary_t(int rule, const double[::1] xv, const double[:, ::1] xpt):
    """(value, tangents) of a unary rule on element-major tangents xpt (count, m), i.e. the
    transpose of a row-layout (m, count) array; the tangents come back as (count, m)."""
    cdef Py_ssize_t count = xv.shape[0], m = xpt.shape[1]
    if xpt.shape[0] != count:
        raise ValueError("unary_t: tangents must have shape (count, m)")
    v = np.empty(count)
    d = np.empty(count)
    p = np.empty((count, m))
    cdef double[::1] vv = v, dv = d
    cdef double[:, ::1] pv = p
    if count:
        with nogil:
            fd_dualarray_unary_t(rule, count, m, &xv[0], &xpt[0, 0] if m else NULL, &vv[0],
                                 &dv[0], &pv[0, 0] if m else NULL)
    return v, p


def unary_abs(int rule, const double[::1] xv, const double[:, ::1] xp, double c, double u,
              out=None):
    """(value, f'', tangents) of a unary rule in the rounding bound's evaluation (magnitude
    rows, the last the values' error bound; see fd_dualarray_unary_abs); the tangents go
    into `out` (row-major (m, count)) when given."""
    cdef Py_ssize_t count = xv.shape[0], m = xp.shape[0]
    if m < 1 or xp.shape[1] != count:
        raise ValueError("unary_abs: tangents must have shape (m >= 1, count)")
    if out is not None and (np.shape(out) != (m, count) or not out.flags.c_contiguous):
        raise ValueError("out: a row-major array of shape (m, count) expected")
    v = np.empty(count)
    d = np.empty(count)
    dd = np.empty(count)
    p = np.empty((m, count)) if out is None else out
    cdef double[::1] vv = v, dv = d, ddv = dd
    cdef double[:, ::1] pv = p
    if count:
        with nogil:
            fd_dualarray_unary_abs(rule, count, m, &xv[0], &xp[0, 0], c, u, &vv[0], &dv[0],
                                   &ddv[0], &pv[0, 0])
    return v, dd, p


def bound(const double[:, :] df, const double[:, :] mag, const Py_ssize_t[::1] groups,
          double gamma):
    """(out, bad): out = gamma * mag[:, groups] + eps |df| (a new row-major array) and the
    number of entries where df or out is not finite (fd_dualarray_bound)."""
    cdef Py_ssize_t rows = df.shape[0], cols = df.shape[1], j, bad = 0
    if mag.shape[0] != rows or groups.shape[0] != cols:
        raise ValueError("bound: mag must have df's rows and groups df's columns")
    for j in range(cols):
        if groups[j] < 0 or groups[j] >= mag.shape[1]:
            raise ValueError("bound: a group index is out of range")
    out = np.empty((rows, cols))
    cdef double[:, ::1] ov = out
    if rows and cols:
        with nogil:
            bad = fd_dualarray_bound(rows, cols, &df[0, 0], df.strides[0] // 8,
                                     df.strides[1] // 8, &mag[0, 0], mag.strides[0] // 8,
                                     mag.strides[1] // 8, &groups[0], gamma, &ov[0, 0])
    return out, bad


def group_matvec_abs(const double[:, :] a, const double[::1] absx,
                     const Py_ssize_t[::1] groups, Py_ssize_t g, double c):
    """Tangents ((g + 1, p) row-major) of A @ x in the rounding bound's evaluation for a
    constant A (p x q) and x seeded with the group indicators of `groups` (nondecreasing, in
    [0, g)) and a zero error row: the group sums of |A| and the error row
    0 |A| 1 + c |A| |x| (fd_dualarray_group_matvec_abs)."""
    cdef Py_ssize_t p = a.shape[0], q = a.shape[1], j
    if absx.shape[0] != q or groups.shape[0] != q or g < 1:
        raise ValueError("group_matvec_abs: x and groups must have A's columns, g >= 1")
    for j in range(q):
        if groups[j] < 0 or groups[j] >= g or (j and groups[j] < groups[j - 1]):
            raise ValueError("group_matvec_abs: groups must be nondecreasing, in [0, g)")
    out = np.empty((g + 1, p))
    cdef double[:, ::1] ov = out
    if p:
        with nogil:
            fd_dualarray_group_matvec_abs(p, q, &a[0, 0] if q else NULL, a.strides[0] // 8,
                                          a.strides[1] // 8, &absx[0] if q else NULL,
                                          &groups[0] if q else NULL, g, c, &ov[0, 0])
    return out


def hessian_bound(const double[:, :] hess, const double[:, ::1] mag,
                  const Py_ssize_t[::1] groups, double gamma):
    """(h, out, bad): h = (hess + hess^T) / 2 and out = gamma * |mag[groups][:, groups]| +
    eps |h| (new row-major arrays), and the number of entries where either is not finite
    (fd_dualarray_hessian_bound); hess square with contiguous rows, mag g x g."""
    cdef Py_ssize_t n = hess.shape[0], g = mag.shape[0], j, bad = 0
    if hess.shape[1] != n or groups.shape[0] != n or mag.shape[1] != g \
            or (n and hess.strides[1] != 8):
        raise ValueError("hessian_bound: a square hess, a square mag and n groups expected")
    for j in range(n):
        if groups[j] < 0 or groups[j] >= g:
            raise ValueError("hessian_bound: a group index is out of range")
    h = np.empty((n, n))
    out = np.empty((n, n))
    cdef double[:, ::1] hv = h, ov = out
    if n:
        with nogil:
            bad = fd_dualarray_hessian_bound(n, &hess[0, 0], hess.strides[0] // 8, &mag[0, 0],
                                             g, &groups[0], gamma, &hv[0, 0], &ov[0, 0])
    return h, out, bad


def finite_float64(cnp.ndarray a):
    """a is a non-empty C-contiguous float64 array (native byte order) of finite numbers
    (False for anything else: the caller's general checks then say what is wrong)."""
    if not (cnp.PyArray_TYPE(a) == cnp.NPY_DOUBLE and cnp.PyArray_ISNOTSWAPPED(a)
            and cnp.PyArray_IS_C_CONTIGUOUS(a)):
        return False
    cdef Py_ssize_t n = cnp.PyArray_SIZE(a), i
    cdef const double *p = <const double *>cnp.PyArray_DATA(a)
    cdef double probe = 0.0
    if n == 0:
        return False
    with nogil:
        for i in range(n):
            probe += p[i] - p[i]  # 0 for a finite p[i], NaN for inf and NaN
    return probe == 0.0


def binary(int rule, const double[::1] xv, const double[::1] yv, bint second):
    """(f, f_x, f_y) or (f, f_x, f_y, f_xx, f_xy, f_yy) of a binary rule, elementwise."""
    cdef Py_ssize_t count = xv.shape[0], j
    cdef int nout = 6 if second else 3
    out = np.empty((nout, count))
    cdef double[:, ::1] ov = out
    cdef double *ptrs[6]
    for j in range(6):
        ptrs[j] = &ov[j, 0] if (j < nout and count) else NULL
    if count:
        with nogil:
            fd_dualarray_binary(rule, count, &xv[0], &yv[0], ptrs)
    return tuple(out)


ARITH_ADD, ARITH_SUB, ARITH_MUL, ARITH_DIV, ARITH_SQUARE = (
    FD_ARITH_ADD, FD_ARITH_SUB, FD_ARITH_MUL, FD_ARITH_DIV, FD_ARITH_SQUARE)


cdef bint _same_dims(cnp.ndarray a, int skip, int nd, const cnp.npy_intp *dims):
    """a is float64 with dims[0 .. nd - 1] after its first `skip` axes."""
    if cnp.PyArray_TYPE(a) != cnp.NPY_DOUBLE or cnp.PyArray_NDIM(a) != nd + skip:
        return False
    cdef const cnp.npy_intp *ad = cnp.PyArray_DIMS(a)
    cdef int d
    for d in range(nd):
        if ad[d + skip] != dims[d]:
            return False
    return True


cdef cnp.ndarray _values(object x, int nd, const cnp.npy_intp *dims):
    """A float64 value operand of the given dims, C-contiguous (a copy only if not)."""
    cdef cnp.ndarray a = <cnp.ndarray?>x
    if not _same_dims(a, 0, nd, dims):
        raise ValueError("arith: values must be float64 arrays of one shape, or floats")
    return a if cnp.PyArray_IS_C_CONTIGUOUS(a) else np.ascontiguousarray(a)


cdef cnp.ndarray _rows(object t, Py_ssize_t m, int nd, const cnp.npy_intp *dims):
    """Tangents (m,) + dims, float64, each row contiguous (a copy only if not)."""
    cdef cnp.ndarray a = <cnp.ndarray?>t
    if not _same_dims(a, 1, nd, dims) or cnp.PyArray_DIMS(a)[0] != m:
        raise ValueError("arith: tangents must be float64 of shape (m,) + the values' shape")
    cdef const cnp.npy_intp *st = cnp.PyArray_STRIDES(a)
    cdef Py_ssize_t step = 8
    cdef int d
    cdef bint ok = cnp.PyArray_ISALIGNED(a) and st[0] >= 0 and st[0] % 8 == 0
    for d in range(nd, 0, -1):
        if dims[d - 1] != 1 and st[d] != step:
            ok = False
        step *= dims[d - 1]
    return a if ok else np.ascontiguousarray(a)


def arith(int op, av, at, bv, bt, Py_ssize_t m, Py_ssize_t k, bint second, bint absmode,
          double u, tuple shape, Py_ssize_t m1=-1, Py_ssize_t k2=0):
    """(values, tangents) of av op bv (op one of ARITH_*; bv ignored for ARITH_SQUARE) on
    operands of one `shape` (arrays, or floats), tangents (m,) + shape or None (a constant):
    one pass of fd_dualarray_arith.  With m1 >= 0 (a magnitude lane) rows 0 .. m1 - 1 are
    plain (k first-order rows, second order if m1 > k) and rows m1 .. m - 1 the bound's
    (k2 first-order magnitude rows, second order if m - m1 - 1 > k2, the error row last);
    `second` and `absmode` are then ignored."""
    if op < FD_ARITH_ADD or op > FD_ARITH_SQUARE or (at is None and bt is None) \
            or (op == FD_ARITH_SQUARE and at is None) or m < 1 or k < 0:
        raise ValueError("arith: bad operation or operands")
    if m1 >= 0:
        if m1 > m - 2 or k > m1 or (m1 > k and k + k * k > m1) or k2 < 0 or k2 > m - m1 - 1 \
                or (m - m1 - 1 > k2 and k2 + k2 * k2 > m - m1 - 1):
            raise ValueError("arith: the lanes' rows do not fit")
    elif (second and (k + k * k > m)) or (absmode and m < 2):
        raise ValueError("arith: too few rows for the second-order or bound terms")
    if op == FD_ARITH_SQUARE:
        bv, bt = av, None
    cdef int nd = len(shape), d
    if nd > 31:
        raise ValueError("arith: too many dimensions")
    cdef cnp.npy_intp dims[32]
    dims[0] = m
    for d in range(nd):
        dims[d + 1] = shape[d]
    return _arith_run(op, av, at, bv, bt, m, k, second, absmode, u, nd, dims, m1, k2)


cdef tuple _arith_run(int op, object av, object at, object bv, object bt, Py_ssize_t m,
                      Py_ssize_t k, bint second, bint absmode, double u, int nd,
                      cnp.npy_intp *dims, Py_ssize_t m1, Py_ssize_t k2):
    """The body of `arith` (arguments checked; dims[0] = m, dims[1 ..] the shape)."""
    cdef cnp.ndarray aa, ab, ta, tb, v, t
    cdef double sa = 0.0, sb = 0.0
    cdef const double *pa = &sa
    cdef const double *pb = &sb
    cdef const double *pta = NULL
    cdef const double *ptb = NULL
    cdef Py_ssize_t a_s = 0, b_s = 0, lda = 0, ldb = 0
    if type(av) is float:
        sa = av
    else:
        aa = _values(av, nd, &dims[1])
        pa, a_s = <const double *>cnp.PyArray_DATA(aa), 1
    if type(bv) is float:
        sb = bv
    else:
        ab = _values(bv, nd, &dims[1])
        pb, b_s = <const double *>cnp.PyArray_DATA(ab), 1
    if at is not None:
        ta = _rows(at, m, nd, &dims[1])
        pta, lda = <const double *>cnp.PyArray_DATA(ta), cnp.PyArray_STRIDES(ta)[0] // 8
    if bt is not None:
        tb = _rows(bt, m, nd, &dims[1])
        ptb, ldb = <const double *>cnp.PyArray_DATA(tb), cnp.PyArray_STRIDES(tb)[0] // 8
    v = cnp.PyArray_EMPTY(nd, &dims[1], cnp.NPY_DOUBLE, 0)
    t = cnp.PyArray_EMPTY(nd + 1, dims, cnp.NPY_DOUBLE, 0)
    cdef Py_ssize_t count = cnp.PyArray_SIZE(v)
    cdef double *pv = <double *>cnp.PyArray_DATA(v)
    cdef double *pt = <double *>cnp.PyArray_DATA(t)
    if count and m1 < 0:
        with nogil:
            fd_dualarray_arith(op, count, m, k, second, absmode, pa, a_s, pta, lda, pb, b_s,
                               ptb, ldb, u, pv, pt)
    elif count:
        with nogil:
            fd_dualarray_arith(op, count, m1, k, m1 > k, 0, pa, a_s, pta, lda, pb, b_s, ptb,
                               ldb, u, pv, pt)
            fd_dualarray_arith(op, count, m - m1, k2, m - m1 - 1 > k2, 1, pa, a_s,
                               pta + m1 * lda if pta != NULL else NULL, lda, pb, b_s,
                               ptb + m1 * ldb if ptb != NULL else NULL, ldb, u, pv,
                               pt + m1 * count)
    return v, t


# ---------------------------------------------------------------------------------------------
# A block pool for NumPy's array data during the dual verbs (fastdiff._forward).  Forward mode
# on a DualArray makes a few large temporaries per operation (the MLP of tests/mlp.py: 1.6 MB
# each, 385 partials x 512 elements).  glibc serves blocks that large with mmap, or trims them
# off the heap when freed, so each one comes back as fresh pages and page faults on first
# touch: measured 2.7 ms for that gradient against 0.75 ms with the blocks kept.  NumPy's
# memory-handler API (NEP 49, numpy >= 1.22) lets a caller choose the allocator of new arrays
# within a context (it is a contextvar: other threads and code outside the verbs keep NumPy's
# default), and every array remembers the handler that freed it.  The pool keeps up to
# POOL_SLOTS freed blocks of POOL_MIN_BYTES .. POOL_MAX_BYTES, POOL_MAX_TOTAL bytes together,
# and hands one back to the next request of a size it fits (at most 1/4 larger).  Every block
# carries its capacity in a header of POOL_HEADER bytes, so the pool never trusts a size it is
# told.  A PyThread lock guards the slots (callable with or without the GIL).
# ---------------------------------------------------------------------------------------------
from cpython.pycapsule cimport PyCapsule_New
from cpython.pythread cimport (
    WAIT_LOCK,
    PyThread_acquire_lock,
    PyThread_allocate_lock,
    PyThread_release_lock,
    PyThread_type_lock,
)
from libc.stdlib cimport calloc as c_calloc
from libc.stdlib cimport free as c_free
from libc.stdlib cimport malloc as c_malloc
from libc.stdlib cimport realloc as c_realloc
from libc.string cimport memset, strncpy

from fastdiff._kernels._numpy_mem cimport PyDataMem_Handler


cdef extern from "numpy/arrayobject.h":
    object PyDataMem_SetHandler(object handler)


DEF POOL_NSLOTS = 32          # 8 was too few: squaring a sparse Hessian block's second-order
                              # arrays (k = 19, n = 500) frees more than 8 at once (5x slower)
POOL_SLOTS = POOL_NSLOTS
POOL_MIN_BYTES = 1 << 17      # below 128 KiB malloc's own free lists serve well
POOL_MAX_BYTES = 1 << 25      # 32 MiB: larger blocks go straight back to the system
POOL_MAX_TOTAL = 1 << 26      # 64 MiB kept at most
cdef size_t POOL_HEADER = 16  # keeps malloc's 16-byte alignment
cdef size_t _min_bytes = POOL_MIN_BYTES
cdef size_t _max_bytes = POOL_MAX_BYTES
cdef size_t _max_total = POOL_MAX_TOTAL

cdef void *_slot_block[POOL_NSLOTS]
cdef size_t _slot_size[POOL_NSLOTS]
cdef size_t _pooled_total = 0
cdef PyThread_type_lock _lock = PyThread_allocate_lock()
cdef PyDataMem_Handler _handler


cdef inline void *_finish(char *base, size_t capacity) noexcept nogil:
    if base == NULL:
        return NULL
    (<size_t *>base)[0] = capacity
    return base + POOL_HEADER


cdef void *_take(size_t size) noexcept nogil:
    """A pooled block of capacity in [size, size + size / 4], or NULL."""
    global _pooled_total
    cdef int i, best = -1
    cdef void *block = NULL
    if size < _min_bytes or size > _max_bytes:
        return NULL
    PyThread_acquire_lock(_lock, WAIT_LOCK)
    for i in range(POOL_NSLOTS):
        if _slot_block[i] != NULL and size <= _slot_size[i] <= size + size // 4:
            if best < 0 or _slot_size[i] < _slot_size[best]:
                best = i
    if best >= 0:
        block = _slot_block[best]
        _slot_block[best] = NULL
        _pooled_total -= _slot_size[best]
    PyThread_release_lock(_lock)
    return block


cdef void *_pool_malloc(void *ctx, size_t size) noexcept nogil:
    cdef char *base = <char *>_take(size)
    if base != NULL:
        return base + POOL_HEADER
    if size > <size_t>(-1) - POOL_HEADER:
        return NULL
    return _finish(<char *>c_malloc(size + POOL_HEADER), size)


cdef void *_pool_calloc(void *ctx, size_t nelem, size_t elsize) noexcept nogil:
    if elsize != 0 and nelem > (<size_t>(-1) - POOL_HEADER) // elsize:
        return NULL
    cdef size_t size = nelem * elsize
    cdef char *base = <char *>_take(size)
    if base != NULL:
        memset(base + POOL_HEADER, 0, size)
        return base + POOL_HEADER
    return _finish(<char *>c_calloc(1, size + POOL_HEADER), size)


cdef void *_pool_realloc(void *ctx, void *ptr, size_t new_size) noexcept nogil:
    if ptr == NULL:
        return _pool_malloc(ctx, new_size)
    if new_size > <size_t>(-1) - POOL_HEADER:
        return NULL
    cdef char *base = <char *>ptr - POOL_HEADER
    return _finish(<char *>c_realloc(base, new_size + POOL_HEADER), new_size)


cdef void _pool_free(void *ctx, void *ptr, size_t size) noexcept nogil:
    global _pooled_total
    cdef int i
    if ptr == NULL:
        return
    cdef char *base = <char *>ptr - POOL_HEADER
    cdef size_t capacity = (<size_t *>base)[0]  # NumPy's `size` is not trusted
    if _min_bytes <= capacity <= _max_bytes:
        PyThread_acquire_lock(_lock, WAIT_LOCK)
        if _pooled_total + capacity <= _max_total:
            for i in range(POOL_NSLOTS):
                if _slot_block[i] == NULL:
                    _slot_block[i] = base
                    _slot_size[i] = capacity
                    _pooled_total += capacity
                    base = NULL
                    break
        PyThread_release_lock(_lock)
    if base != NULL:
        c_free(base)


strncpy(_handler.name, b"fastdiff_dual_pool", 126)
_handler.version = 1
_handler.allocator.ctx = NULL
_handler.allocator.malloc = _pool_malloc
_handler.allocator.calloc = _pool_calloc
_handler.allocator.realloc = _pool_realloc
_handler.allocator.free = _pool_free
_capsule = PyCapsule_New(&_handler, b"mem_handler", NULL)


def pool_on():
    """Make new arrays of this context use the pool; returns the handler to restore."""
    return PyDataMem_SetHandler(_capsule)


def pool_restore(old):
    """Put back the handler that `pool_on` returned."""
    PyDataMem_SetHandler(old)


def pool_clear():
    """Give every pooled block back to the system (tests, and callers short of memory)."""
    global _pooled_total
    cdef int i
    PyThread_acquire_lock(_lock, WAIT_LOCK)
    for i in range(POOL_NSLOTS):
        if _slot_block[i] != NULL:
            c_free(_slot_block[i])
            _slot_block[i] = NULL
    _pooled_total = 0
    PyThread_release_lock(_lock)


def pool_bytes():
    """Bytes held by the pool now."""
    return _pooled_total


# ---------------------------------------------------------------------------------------------
# DualBase: the fields of fastdiff.DualArray in C, and the common operations' fast paths.
#
# Every NumPy operation on a DualArray used to cost 2-4 us of Python (the dunder, `_binop`,
# `_arith`'s checks, `_fresh`'s ten attribute stores) around a C pass of well under 1 us on
# small arrays (the 10-D Hessian: 9 elements, 110 + 73 rows).  fastdiff.DualArray is a Python
# subclass of DualBase; the fields live in the C struct (so reading them here is a load), and
# the arithmetic dunders, slicing of 1-d arrays and `sum` run here when their operands are of
# the common kinds, with the same checks and the same C kernels as fastdiff/_dualarray.py's
# `_arith`, `_square`, `__getitem__` and `_sum`.  Anything else goes to that module's code
# (registered by `register`): Cython crosses, Python decides.
# ---------------------------------------------------------------------------------------------

cdef enum:  # the binary operations of the dunders: FD_ARITH_ADD .. FD_ARITH_DIV, then power
    _OP_ADD = FD_ARITH_ADD
    _OP_SUB = FD_ARITH_SUB
    _OP_MUL = FD_ARITH_MUL
    _OP_DIV = FD_ARITH_DIV
    _OP_POW = FD_ARITH_SQUARE + 1


@cython.auto_pickle(False)
cdef class DualBase:
    """The fields of a DualArray (fastdiff/_dualarray.py documents their meaning)."""

    cdef public object _v, _td, _family, _lane, _groups, _rows, _src
    cdef public Py_ssize_t _k, _tag, _n, _unit
    cdef public bint _abs, _eye, _ut

    property _t:
        # the tangents, (m,) + shape; a structured array (`_rows`) builds them, and a view
        # not taken yet (`_src`) takes them, the first time code that knows neither asks
        def __get__(self):
            return _tan(self)

        def __set__(self, t):
            self._td = t
            self._rows = None
            self._src = None

    def __add__(self, o):
        return _binop_c(_OP_ADD, self, o)

    def __radd__(self, o):
        return _binop_c(_OP_ADD, o, self)

    def __sub__(self, o):
        return _binop_c(_OP_SUB, self, o)

    def __rsub__(self, o):
        return _binop_c(_OP_SUB, o, self)

    def __mul__(self, o):
        return _binop_c(_OP_MUL, self, o)

    def __rmul__(self, o):
        return _binop_c(_OP_MUL, o, self)

    def __truediv__(self, o):
        return _binop_c(_OP_DIV, self, o)

    def __rtruediv__(self, o):
        return _binop_c(_OP_DIV, o, self)

    def __pow__(self, o, mod):
        if mod is not None:
            return NotImplemented
        return _binop_c(_OP_POW, self, o)

    def __rpow__(self, o, mod):
        if mod is not None:
            return NotImplemented
        return _binop_c(_OP_POW, o, self)

    def __getitem__(self, key):
        if type(key) is slice and type(self) is _cls:
            r = _slice_c(<DualBase>self, <slice>key)
            if r is not None:
                return r
        elif type(key) is int and type(self) is _cls:
            r = _index_c(<DualBase>self, key)
            if r is not None:
                return r
        return _getitem_py(self, key)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        # a ufunc of the rule table on one DualArray, or + - * / ** called plainly: straight
        # to its implementation; every other call to the general __array_ufunc__
        if method == "__call__" and not kwargs:
            entry = _ufuncs.get(ufunc)
            if entry is not None:
                if len(inputs) == 2 and (<int>entry) < 0:
                    return _binop_c(-1 - (<int>entry), inputs[0], inputs[1])
                if len(inputs) == 1 and (<int>entry) >= 0 and type(inputs[0]) is _cls:
                    r = _unary_c(<int>entry, <DualBase>inputs[0])
                    if r is not None:
                        return r
                    return _unary_py(<int>entry, inputs[0])
            elif ufunc is _np_matmul and len(inputs) == 2 and type(inputs[1]) is _cls:
                r = _matvec_c(inputs[0], <DualBase>inputs[1])
                if r is not None:
                    return r
        return _ufunc_py(self, ufunc, method, *inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        # np.sum(x) of one DualArray: straight to the C sum; everything else to the general
        # __array_function__
        if func is _np_sum and len(args) == 1 and not kwargs and args[0] is self \
                and type(self) is _cls:
            r = _sum_all_c(<DualBase>self)
            if r is not None:
                return r
        return _function_py(self, func, types, args, kwargs)

    def sum(self, axis=None, keepdims=False):
        if axis is None and keepdims is False and type(self) is _cls:
            r = _sum_all_c(<DualBase>self)
            if r is not None:
                return r
        return _sum_py(self, axis=axis, keepdims=keepdims)


# The DualArray class and the Python code behind the fast paths (fastdiff/_dualarray.py).
cdef type _cls = None
cdef object _binop_py = None          # _binop_general(name, a, b)
cdef object _square_py = None         # _square_general(x)
cdef object _getitem_py = None        # DualArray's general __getitem__(self, key)
cdef object _sum_py = None            # _sum(x, axis=..., keepdims=...)
cdef object _unary_py = None          # _unary(rule, x)
cdef object _ufunc_py = None          # DualArray's general __array_ufunc__
cdef object _function_py = None       # DualArray's general __array_function__
cdef object _np_sum = np.sum
cdef object _np_matmul = np.matmul
cdef dict _ufuncs = {}                # ufunc -> rule (unary rules), or -1 - _OP_* (binary ops)
cdef tuple _NAMES = ("add", "subtract", "multiply", "divide", "square", "power")  # by _OP_*

cdef double _EPS = 2.220446049250313e-16
cdef Py_ssize_t _NO_UNIT = -(1 << 62)
NO_UNIT = _NO_UNIT  # `_unit` of an array without unit seeds (fastdiff/_dualarray.py `_unit`)


def register(type cls, binop_general, square_general, getitem, sum_general, unary,
             array_ufunc, array_function, dict unary_ufuncs):
    """Tell the fast paths the DualArray class and the Python code they fall back to;
    unary_ufuncs maps the NumPy ufuncs of the unary rules to their rule numbers."""
    global _cls, _binop_py, _square_py, _getitem_py, _sum_py, _unary_py
    global _ufunc_py, _ufuncs, _function_py
    if not issubclass(cls, DualBase):
        raise TypeError("register: cls must subclass DualBase")
    _cls, _binop_py, _square_py, _getitem_py, _sum_py = (
        cls, binop_general, square_general, getitem, sum_general)
    _unary_py, _ufunc_py, _function_py = unary, array_ufunc, array_function
    table = {u: int(rule) for u, rule in unary_ufuncs.items()}
    table.update({np.add: -1 - _OP_ADD, np.subtract: -1 - _OP_SUB, np.multiply: -1 - _OP_MUL,
                  np.divide: -1 - _OP_DIV, np.power: -1 - _OP_POW})
    _ufuncs = table


cdef inline DualBase _new(DualBase like, object v, object t, Py_ssize_t n):
    """A DualArray with like's k, tag, magnitude mode and lane (fastdiff/_dualarray.py
    `_fresh`)."""
    cdef DualBase r = DualBase.__new__(_cls)
    r._v = v
    r._td = t
    r._k = like._k
    r._tag = like._tag
    r._n = n
    r._abs = like._abs
    r._eye = False
    r._unit = _NO_UNIT
    r._family = None
    r._lane = like._lane
    return r


cdef Py_ssize_t _VECTOR_FROM = 1 << 15
VECTOR_STRUCTURE_FROM = _VECTOR_FROM  # (fastdiff/_dualarray.py `_may_structure`)


cdef inline bint _may_structure(object x):
    """x is structured; or a view not taken whose root's seeds have VECTOR_STRUCTURE_FROM
    entries or more (taking it copies them); or a unit-seeded vector whose dense tangents
    would have that many: the general code (which keeps or builds their structure,
    fastdiff/_dualarray.py `_may_structure`) decides. Smaller ones are cheaper dense."""
    if type(x) is not _cls:
        return False
    cdef DualBase d = <DualBase>x
    if d._rows is not None:
        return True
    if d._lane is not None or d._abs or (d._src is None and d._unit == _NO_UNIT):
        return False
    v = d._v
    if d._src is not None and d._src[0] is not None:
        v = (<DualBase>d._src[0])._v  # (the root's)
    elif d._src is None and (type(v) is not np.ndarray or cnp.PyArray_NDIM(<cnp.ndarray>v) != 1):
        return False  # (a unit-seeded array that is not a vector: a 2-d view, a NumPy scalar)
    if type(v) is not np.ndarray:
        return False
    return d._k * cnp.PyArray_SIZE(<cnp.ndarray>v) >= _VECTOR_FROM


cdef inline object _tan(DualBase x):
    """x's tangents, built first where x is row-structured (`_rows`) or a view not yet
    taken (`_src`)."""
    if x._rows is not None:
        _densify(x)
    elif x._src is not None:
        _take_view(x)
    return x._td


cdef int _take_view(DualBase x) except -1:
    """The tangents of a view whose taking was deferred (fastdiff/_dualarray.py `_src`):
    the root's tangents, owned first (a copy of read-only seeds, as `_slice_c` made it
    before deferring), then the view's slices (0), reshapes (1) and transposes (2) of them,
    in order. Every view of
    the root takes them from the same array, so an assignment into any reaches the others."""
    root, ops = x._src
    if root is None:  # a chunk's x whose seeds are not built yet (fastdiff/_forward.py)
        start, k, shape = ops
        t = np.zeros((k, int(np.prod(shape))))
        t[np.arange(k), np.arange(start, start + k)] = 1.0
        x._td = t.reshape((k,) + shape)
        x._src = None
        return 0
    cdef DualBase r = <DualBase>root
    t = _tan(r)
    if not cnp.PyArray_ISWRITEABLE(<cnp.ndarray>t):
        t = t.copy()
        r._td = t
    for kind, arg in ops:
        if kind == 0:
            t = t[:, arg]
        elif kind == 1:
            t = t.reshape((t.shape[0],) + arg)
        else:  # (a transpose of a 2-d view)
            t = t.transpose((0, 2, 1))
    x._td = t
    x._src = None
    return 0


cdef int _densify(DualBase x) except -1:
    """The dense tangents of a structured x (fastdiff/_dualarray.py `_rows`): row p is
    zero but for row (ax 0) or column (ax 1) own[p] of x, which is d[p]."""
    own, d, ax = x._rows
    v = x._v
    t = np.zeros((own.shape[0],) + v.shape)
    nz = np.flatnonzero(own >= 0)
    if ax == 0:
        t[nz, own[nz]] = d[nz]
    else:
        t[nz, :, own[nz]] = d[nz]
    x._td = t
    x._rows = None
    return 0


cdef object _matvec_c(object a, DualBase x):
    """A @ x for a constant 2-d float64 A and a 1-d x whose tangents have a seed structure
    (fastdiff/_dualarray.py `_matmul`, the same numbers): x the Jacobian's whole chunk
    (`_eye`: the tangents are A^T, a read-only view, no product), the bound's group-seeded x
    (`_groups`: fd_dualarray_group_matvec_abs), the lane of both, or plain first-order rows
    (one GEMM; magnitude rows too); else None."""
    if type(a) is not np.ndarray or not _plain_values(x._v):
        return None
    cdef cnp.ndarray av = <cnp.ndarray>a
    cdef cnp.ndarray xv = <cnp.ndarray>x._v
    if (cnp.PyArray_NDIM(av) != 2 or cnp.PyArray_NDIM(xv) != 1 or not _plain_values(av)
            or cnp.PyArray_DIMS(av)[1] != cnp.PyArray_DIMS(xv)[0]
            or cnp.PyArray_NDIM(<cnp.ndarray>_tan(x)) != 2):
        return None
    cdef Py_ssize_t q = cnp.PyArray_DIMS(av)[1], m = _rows_of(_tan(x))
    cdef Py_ssize_t p = cnp.PyArray_DIMS(av)[0], m1, k2
    cdef object t
    if x._lane is not None:
        # the Jacobian's lane (fastdiff._forward._jacobian_lane): rows 0 .. m1 - 1 the unit
        # seeds, then the bound's group seeds; both lanes' products as `_laned` runs them
        # (A^T, then the group sums), written into one array as `_lane_merge` concatenates
        # them; beyond the lane's budget for such copies the general code decides
        m1, k2, missed = x._lane
        groups = x._groups
        if not x._eye and groups is None:
            # dense first-order lanes (after an activation): `_laned` runs `_matmul` on each
            # lane, the plain rows' dB @ A^T and the bound's |dB| @ |A|^T with the product's
            # rounding on its last row, and concatenates them (`_lane_merge`); within the
            # lane's copy budget, as there
            if (x._abs or m1 != x._k or m1 < 1 or m - m1 - 1 != k2 or not _dense(x)
                    or (len(missed) > 1 and 8 * m1 * p > missed[1])):
                return None
            xt = _tan(x)
            t = np.concatenate((xt[:m1] @ av.T, _magnitude_product(av, xv, xt[m1:], q)))
            return _new(x, av @ xv, t, x._n + q + 1)
        if (x._abs or not x._eye or m1 != x._k or m - m1 - 1 != k2 or groups is None
                or _tan(x) is not groups[1] or (x._family is not None and not x._family[0])
                or (len(missed) > 1 and 8 * m1 * p > missed[1])):
            return None
        v = av @ xv
        t = np.empty((m, p))
        t[:m1] = av.T
        t[m1:] = group_matvec_abs(av, np.abs(xv), groups[0], k2, (q + 1) * _EPS)
        return _new(x, v, t, x._n + q + 1)
    if not x._abs:
        if x._eye:
            if m != x._k or (x._family is not None and not x._family[0]):
                return None
            t = av.T.view()  # (A e_j)_i = A[i, j]; read-only: writes into the result copy it
            cnp.PyArray_CLEARFLAGS(<cnp.ndarray>t, cnp.NPY_ARRAY_WRITEABLE)
            return _new(x, av @ xv, t, x._n + q + 1)
        # plain first-order rows (a jvp's one row, a hidden layer's dense tangents): the
        # general product of `_matmul`, dB @ A^T in one GEMM (no unit seeds, no structure,
        # no bound's groups: those have their own products there)
        if m != x._k or m < 1 or not _dense(x) or x._groups is not None:
            return None
        return _new(x, av @ xv, _tan(x) @ av.T, x._n + q + 1)
    groups = x._groups
    if groups is None:
        # the bound's plain magnitude rows (a jvp's): `_matmul`'s general product in absolute
        # arithmetic, |dB| @ |A|^T, and the product's own rounding on the last row
        if m != x._k + 1 or x._eye or not _dense(x):
            return None
        return _new(x, av @ xv, _magnitude_product(av, xv, _tan(x), q), x._n + q + 1)
    if _tan(x) is not groups[1] or m != x._k + 1:
        return None
    v = av @ xv
    t = group_matvec_abs(av, np.abs(xv), groups[0], x._k, (q + 1) * _EPS)
    return _new(x, v, t, x._n + q + 1)



cdef inline bint _dense(DualBase x):
    """x's tangents are plain rows: no unit seeds, no row structure, no view not taken."""
    return x._unit == _NO_UNIT and x._rows is None and x._src is None


cdef object _magnitude_product(cnp.ndarray av, cnp.ndarray xv, rows, Py_ssize_t q):
    """The bound's rows of A @ x (`_matmul`'s general product in absolute arithmetic):
    |dB| @ |A|^T, and the product's own rounding (q + 1) eps |A| |x| on the last (error) row."""
    absa = np.abs(av)
    t = rows @ absa.T
    t[len(t) - 1] += ((q + 1) * _EPS) * (absa @ np.abs(xv))
    return t

cdef object _unary_c(int rule, DualBase x):
    """A unary rule on x without a lane, in one C call, for the two layouts the Jacobian's
    tanh(W @ x + b) meets (fastdiff/_dualarray.py `_unary`, the same numbers): first-order
    element-major tangents (the A^T of `_matvec_c`: fd_dualarray_unary_t) and first-order
    magnitude rows (fd_dualarray_unary_abs), and plain first-order rows, row-major (a jvp's,
    a dense layer's: fd_dualarray_unary); else None."""
    if _may_structure(x) or not _plain_values(x._v):
        return None
    cdef cnp.ndarray xv = <cnp.ndarray>x._v
    cdef cnp.ndarray xt = <cnp.ndarray>_tan(x)
    if not cnp.PyArray_IS_C_CONTIGUOUS(xv) or cnp.PyArray_TYPE(xt) != cnp.NPY_DOUBLE \
            or not cnp.PyArray_ISNOTSWAPPED(xt) or not cnp.PyArray_ISALIGNED(xt):
        return None
    cdef Py_ssize_t m = _rows_of(xt), count = cnp.PyArray_SIZE(xv)
    if x._lane is not None:
        return _unary_lane_c(rule, x, xv, xt, m, count)
    if m - x._abs != x._k:  # (second-order rows: the general code)
        return None
    cdef cnp.ndarray v = cnp.PyArray_EMPTY(cnp.PyArray_NDIM(xv), cnp.PyArray_DIMS(xv),
                                           cnp.NPY_DOUBLE, 0)
    cdef cnp.npy_intp one = count
    cdef cnp.ndarray d = cnp.PyArray_EMPTY(1, &one, cnp.NPY_DOUBLE, 0)
    cdef cnp.ndarray dd, out
    cdef cnp.npy_intp dims[2]
    cdef double c, u
    if not x._abs:
        if cnp.PyArray_NDIM(xt) != 2 or m <= 1 or not cnp.PyArray_IS_F_CONTIGUOUS(xt):
            # first-order rows (m, *shape), row-major: a jvp's one row, an MLP's dense
            # layers (`_unary`'s last branch, fd_dualarray_unary)
            if m < 1 or not cnp.PyArray_IS_C_CONTIGUOUS(xt):
                return None
            out = cnp.PyArray_EMPTY(cnp.PyArray_NDIM(xt), cnp.PyArray_DIMS(xt),
                                    cnp.NPY_DOUBLE, 0)
            if count:
                with nogil:
                    fd_dualarray_unary(rule, count, m, <const double *>cnp.PyArray_DATA(xv),
                                       <const double *>cnp.PyArray_DATA(xt),
                                       <double *>cnp.PyArray_DATA(v),
                                       <double *>cnp.PyArray_DATA(d), NULL,
                                       <double *>cnp.PyArray_DATA(out))
            return _new(x, v, out, x._n + 2)
        dims[0] = count
        dims[1] = m
        out = cnp.PyArray_EMPTY(2, dims, cnp.NPY_DOUBLE, 0)  # (count, m): the transpose
        if count:
            with nogil:
                fd_dualarray_unary_t(rule, count, m, <const double *>cnp.PyArray_DATA(xv),
                                     <const double *>cnp.PyArray_DATA(xt),
                                     <double *>cnp.PyArray_DATA(v),
                                     <double *>cnp.PyArray_DATA(d),
                                     <double *>cnp.PyArray_DATA(out))
        return _new(x, v, out.T, x._n + 2)
    if not cnp.PyArray_IS_C_CONTIGUOUS(xt) or m < 1:
        return None
    dd = cnp.PyArray_EMPTY(1, &one, cnp.NPY_DOUBLE, 0)
    out = cnp.PyArray_EMPTY(cnp.PyArray_NDIM(xt), cnp.PyArray_DIMS(xt), cnp.NPY_DOUBLE, 0)
    c = 2.0 / (x._n + 4)
    u = 1.0 / (2.0 * (x._n + 4) * _EPS)  # _unit(n + 2)
    if count:
        with nogil:
            fd_dualarray_unary_abs(rule, count, m, <const double *>cnp.PyArray_DATA(xv),
                                   <const double *>cnp.PyArray_DATA(xt), c, u,
                                   <double *>cnp.PyArray_DATA(v), <double *>cnp.PyArray_DATA(d),
                                   <double *>cnp.PyArray_DATA(dd),
                                   <double *>cnp.PyArray_DATA(out))
    return _new(x, v, out, x._n + 2)


def fresh(DualBase like, v, t, Py_ssize_t n):
    """`_new` for Python: values v, tangents t, n roundings, like's other fields."""
    return _new(like, v, t, n)


cdef inline bint _plain_values(object v):
    """v is a float64 ndarray in native byte order (not a NumPy scalar)."""
    return (type(v) is np.ndarray and cnp.PyArray_TYPE(<cnp.ndarray>v) == cnp.NPY_DOUBLE
            and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>v))


cdef inline Py_ssize_t _rows_of(object t):
    return cnp.PyArray_DIMS(<cnp.ndarray>t)[0] if cnp.PyArray_NDIM(<cnp.ndarray>t) else 0


cdef bint _same_shape(cnp.ndarray a, cnp.ndarray b):
    cdef int nd = cnp.PyArray_NDIM(a), d
    if cnp.PyArray_NDIM(b) != nd:
        return False
    for d in range(nd):
        if cnp.PyArray_DIMS(a)[d] != cnp.PyArray_DIMS(b)[d]:
            return False
    return True


cdef object _constant_c(object c, cnp.ndarray like):
    """A constant operand the one-pass kernel takes (a float, or a float64 array of like's
    shape), or None (fastdiff/_dualarray.py `_constant`)."""
    tc = type(c)
    if tc is float:
        return c
    if tc is int:
        if -(2**53) <= c <= 2**53:
            return float(c)
        return None
    if tc is np.float64:
        return float(c)
    if _plain_values(c) and _same_shape(<cnp.ndarray>c, like):
        return c
    return None


cdef object _shared_c(object t):
    """A read-only view of an operand's tangents (fastdiff/_dualarray.py `_shared`)."""
    cdef cnp.ndarray a = <cnp.ndarray>t
    if not cnp.PyArray_ISWRITEABLE(a):
        return t
    cdef cnp.ndarray w = a.view()
    cnp.PyArray_CLEARFLAGS(w, cnp.NPY_ARRAY_WRITEABLE)
    return w


cdef object _arith_c(int op, object a, object b):
    """+ - * / of operands of one shape in one C pass: the result, or None where the general
    code decides (fastdiff/_dualarray.py `_arith` documents the cases)."""
    cdef DualBase x, y, like
    cdef object av, at, bv, bt
    cdef Py_ssize_t n, m
    if _may_structure(a) or _may_structure(b):
        return None  # (structured tangents, views not taken: the general code keeps them)
    if type(a) is _cls:
        x = <DualBase>a
        av, at = x._v, _tan(x)
        if not _plain_values(av) or not _rows_of(at):
            return None  # a NumPy scalar value (np.max's), another dtype, or no partials
        like = x
        if type(b) is _cls:
            y = <DualBase>b
            bv, bt = y._v, _tan(y)
            if (not _plain_values(bv) or x._tag != y._tag or _rows_of(at) != _rows_of(bt)
                    or not _same_shape(<cnp.ndarray>av, <cnp.ndarray>bv)
                    or (op == FD_ARITH_DIV and _rows_of(at) - x._abs != x._k)):
                return None  # (a second-order divisor goes through the reciprocal)
            n = (x._n if x._n > y._n else y._n) + (2 if op == FD_ARITH_MUL else
                                                   3 if op == FD_ARITH_DIV else 1)
        else:
            bv = _constant_c(b, <cnp.ndarray>av)
            if bv is None:
                return None
            bt = None
            n = x._n + 1
            if op <= FD_ARITH_SUB and not x._abs and x._lane is None:  # x +- c: x's, shared
                v = av + bv if op == FD_ARITH_ADD else av - bv
                return _new(x, v, _shared_c(at), n)
    elif type(b) is _cls:
        y = <DualBase>b
        bv, bt = y._v, _tan(y)
        if not _plain_values(bv) or not _rows_of(bt):
            return None
        av = _constant_c(a, <cnp.ndarray>bv)
        if av is None or (op == FD_ARITH_DIV and _rows_of(bt) - y._abs != y._k):
            return None
        like, at = y, None
        n = y._n + (2 if op == FD_ARITH_DIV else 1)
        if op == FD_ARITH_ADD and not y._abs and y._lane is None:  # c + x shares x's
            return _new(y, av + bv, _shared_c(bt), n)
    else:
        return None
    return _kernel(op, like, av, at, bv, bt, n)


cdef object _kernel(int op, DualBase like, object av, object at, object bv, object bt,
                    Py_ssize_t n):
    """fd_dualarray_arith on like's rows (one lane, or both) as `arith` runs it."""
    cdef cnp.ndarray vals = <cnp.ndarray>like._v
    cdef int nd = cnp.PyArray_NDIM(vals), d
    cdef cnp.npy_intp dims[32]
    cdef Py_ssize_t m = _rows_of(_tan(like)), m1 = -1, k2 = 0
    cdef bint second = False
    if nd > 31:
        return None
    dims[0] = m
    for d in range(nd):
        dims[d + 1] = cnp.PyArray_DIMS(vals)[d]
    cdef double u = 1.0 / (2.0 * (n + 2) * _EPS)  # _unit(n)
    lane = like._lane
    if lane is not None:
        m1, k2 = lane[0], lane[1]
    else:
        second = m - like._abs != like._k
    v, t = _arith_run(op, av, at, bv, bt, m, like._k, second, like._abs, u, nd, dims, m1, k2)
    return _new(like, v, t, n)


cdef object _square_c(DualBase x):
    """x * x (x**2, np.square) in one pass (fastdiff/_dualarray.py `_square`)."""
    if _may_structure(x) or not _plain_values(x._v) or not _rows_of(_tan(x)):
        return _square_py(x)
    return _kernel(FD_ARITH_SQUARE, x, x._v, _tan(x), x._v, None, x._n + 2)


def square(DualBase x):
    """x * x for Python (`_square`)."""
    return _square_c(x)


cdef object _binop_c(int op, object a, object b):
    """a op b: the one-pass kernel where it applies, else the general code."""
    if type(a) is _cls and ((a is b and op == _OP_MUL) or (
            op == _OP_POW and (type(b) is int or type(b) is float) and b == 2)):
        return _square_c(<DualBase>a)
    cdef object r
    if op != _OP_POW:
        r = _arith_c(op, a, b)
        if r is not None:
            return r
    elif type(a) is _cls and (type(b) is int or type(b) is float):
        r = _power_const_c(<DualBase>a, b)
        if r is not None:
            return r
    return _binop_py(_NAMES[op], a, b)


cdef object _unary_lane_c(int rule, DualBase x, cnp.ndarray xv, cnp.ndarray xt, Py_ssize_t m,
                          Py_ssize_t count):
    """`_unary` of x with first-order lanes (fastdiff/_dualarray.py `_unary_lane`, the same
    numbers): both lanes' rows in one row-major array, the plain rows by fd_dualarray_unary,
    the bound's magnitude rows after them by fd_dualarray_unary_abs; else None (second-order
    rows, another layout)."""
    cdef Py_ssize_t m1 = x._lane[0], k2 = x._lane[1]
    if m1 != x._k or m1 < 1 or m - m1 - 1 != k2 or k2 < 0:
        return None
    if not cnp.PyArray_IS_C_CONTIGUOUS(xt):  # (a view's: `_unary_lane` copies them too)
        xt = np.ascontiguousarray(xt)
    cdef cnp.npy_intp one = count
    cdef cnp.ndarray v = cnp.PyArray_EMPTY(cnp.PyArray_NDIM(xv), cnp.PyArray_DIMS(xv),
                                           cnp.NPY_DOUBLE, 0)
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(cnp.PyArray_NDIM(xt), cnp.PyArray_DIMS(xt),
                                             cnp.NPY_DOUBLE, 0)
    cdef cnp.ndarray d = cnp.PyArray_EMPTY(1, &one, cnp.NPY_DOUBLE, 0)
    cdef cnp.ndarray v2 = cnp.PyArray_EMPTY(1, &one, cnp.NPY_DOUBLE, 0)  # (the same values)
    cdef cnp.ndarray d2 = cnp.PyArray_EMPTY(1, &one, cnp.NPY_DOUBLE, 0)
    cdef cnp.ndarray dd2 = cnp.PyArray_EMPTY(1, &one, cnp.NPY_DOUBLE, 0)
    cdef const double *tp = <const double *>cnp.PyArray_DATA(xt)
    cdef double *op = <double *>cnp.PyArray_DATA(out)
    cdef double c = 2.0 / (x._n + 4)
    cdef double u = 1.0 / (2.0 * (x._n + 4) * _EPS)  # _unit(n + 2)
    if count:
        with nogil:
            fd_dualarray_unary(rule, count, m1, <const double *>cnp.PyArray_DATA(xv), tp,
                               <double *>cnp.PyArray_DATA(v), <double *>cnp.PyArray_DATA(d),
                               NULL, op)
            fd_dualarray_unary_abs(rule, count, m - m1, <const double *>cnp.PyArray_DATA(xv),
                                   tp + m1 * count, c, u, <double *>cnp.PyArray_DATA(v2),
                                   <double *>cnp.PyArray_DATA(d2),
                                   <double *>cnp.PyArray_DATA(dd2), op + m1 * count)
    return _new(x, v, out, x._n + 2)


cdef object _power_const_c(DualBase x, object c):
    """x**c for a Python int or float c other than 0, 1 and 2 (x * x, copies and ones:
    the general code) on plain first-order rows, row-major, the bound's magnitude rows, or
    first-order lanes of both: the power row of the table in one C pass, then `_binary_rule`'s
    NumPy expressions for a constant exponent on each (fastdiff/_dualarray.py `_power_const`,
    and `_laned` for lanes: the same numbers); else None."""
    cdef double cf = <double>c
    if cf == 0.0 or cf == 1.0 or cf == 2.0 or _may_structure(x) or not _plain_values(x._v):
        return None
    cdef cnp.ndarray xv = <cnp.ndarray>x._v
    cdef cnp.ndarray xt = <cnp.ndarray>_tan(x)
    cdef Py_ssize_t m = _rows_of(xt), count = cnp.PyArray_SIZE(xv), m1 = m
    if x._lane is not None:
        m1, missed = x._lane[0], x._lane[2]
        if (x._abs or m1 != x._k or m - m1 - 1 != x._lane[1] or m - m1 < 1
                or (len(missed) > 1 and 8 * m1 * count > missed[1])):  # (`_laned`'s budget)
            return None
    elif m - x._abs != x._k:
        return None
    if (m1 < 1 or not cnp.PyArray_IS_C_CONTIGUOUS(xv)
            or not _same_dims(xt, 1, cnp.PyArray_NDIM(xv), cnp.PyArray_DIMS(xv))
            or not cnp.PyArray_IS_C_CONTIGUOUS(xt)):
        return None
    cdef bint bound = x._abs or x._lane is not None
    cdef int j, nout = 6 if bound else 3  # f, f_x, f_y (and f_xx, f_xy, f_yy): `binary`'s
    cdef cnp.npy_intp dims[2]
    dims[0] = nout
    dims[1] = count
    out = cnp.PyArray_EMPTY(2, dims, cnp.NPY_DOUBLE, 0)
    yv = np.full(count, cf)  # (the broadcast exponent, as `_binary_rule` makes it contiguous)
    cdef double *ptrs[6]
    cdef double *o = <double *>cnp.PyArray_DATA(<cnp.ndarray>out)
    for j in range(6):
        ptrs[j] = o + j * count if j < nout else NULL
    if count:
        with nogil:
            fd_dualarray_binary(FD_RULE_power, count, <const double *>cnp.PyArray_DATA(xv),
                                <const double *>cnp.PyArray_DATA(<cnp.ndarray>yv), ptrs)
    shape = (<object>xv).shape
    v = out[0].reshape(shape)
    cdef Py_ssize_t n = x._n + 3
    if not bound:
        return _new(x, v, out[1].reshape(shape) * xt, n)
    if x._lane is None:
        return _new(x, v, _power_magnitudes(out, shape, xt, v, n), n)
    return _new(x, v, np.concatenate((out[1].reshape(shape) * xt[:m1],
                                      _power_magnitudes(out, shape, xt[m1:], v, n))), n)


cdef object _power_magnitudes(out, shape, t0, v, Py_ssize_t n):
    """The bound's rows of x**c (`_binary_rule` in magnitudes): |f_x| t, then `_value_errors`:
    the value's own rounding 2 eps |f| on the last row, and the effect of x's value error
    (its last row) on f_x, |f_xx| e t, on the others."""
    cdef Py_ssize_t last = len(t0) - 1
    t = np.array(np.abs(out[1].reshape(shape)) * t0, copy=True)
    eff = (np.abs(out[3].reshape(shape)) * t0[last] + 0.0) * t0[:last]
    t[last] += 2.0 * _EPS * np.abs(v)
    t[:last] += eff * (1.0 / (2.0 * (n + 2) * _EPS))  # _unit(n)
    return t


_BINOP_CODES = {"add": _OP_ADD, "subtract": _OP_SUB, "multiply": _OP_MUL, "divide": _OP_DIV,
                "true_divide": _OP_DIV, "power": _OP_POW}


def binop(str name, a, b=None):
    """fastdiff/_dualarray.py `_binop`: add, subtract, multiply, divide, power (and their
    unary cousins, which go to the general code) with broadcasting."""
    code = _BINOP_CODES.get(name)
    if code is None:
        return _binop_py(name, a, b)
    return _binop_c(code, a, b)


def arith_fast(str name, a, b):
    """fastdiff/_dualarray.py `_arith`: the one-pass result, or None."""
    code = _BINOP_CODES.get(name)
    if code is None or code == _OP_POW:
        return None
    return _arith_c(code, a, b)


cdef object _slice_c(DualBase x, slice key):
    """x[key] for a 1-d x: a view joining x's family, with the seeds' offset of a unit-seeded
    x shifted (fastdiff/_dualarray.py `__getitem__`), or None for the general code."""
    cdef cnp.ndarray vals
    if not _plain_values(x._v) or cnp.PyArray_NDIM(<cnp.ndarray>x._v) != 1:
        return None
    vals = <cnp.ndarray>x._v
    cdef DualBase r
    cdef cnp.ndarray t
    cdef Py_ssize_t start, stop, step
    cdef bint run = key.step is None or key.step == 1
    if seeds_shared(x) and run:
        # x[i:j] of the unit-seeded x of a Jacobian's chunk whose seeds are the cached
        # read-only ones (the whole x) or not built yet (a chunk): the view's tangents are
        # taken only when some code reads them (`_take_view`); the structured products read
        # its seeds' offset instead, so neither the n x n copy that owning the seeds costs
        # (1.2 MB for the MLP's 385) nor a chunk's seeds are made
        r = _new(x, vals[key], None, x._n)
        r._src = (x, ((0, key),))
    else:
        t = <cnp.ndarray>_tan(x)
        if cnp.PyArray_NDIM(t) != 2:
            return None
        r = _new(x, vals[key], _owned(x, t)[:, key], x._n)
    _join_family(x, r)
    if x._unit != _NO_UNIT and (x._family is None or x._family[0]) and run:
        start, stop, step = key.indices(cnp.PyArray_DIMS(vals)[0])
        if stop > start:  # a contiguous run of the elements: their seeds, shifted
            r._unit = x._unit + start
    return r


cdef object _index_c(DualBase x, object key):
    """x[i] for a 1-d x whose element is a 0-d view (fastdiff/_dualarray.py
    `_getitem_general`: where x has lanes, magnitude rows or second-order rows; a plain
    first-order element is a Dual, which the general code makes), joining x's family; else
    None (an index out of range included: the general code raises NumPy's IndexError)."""
    if (not _plain_values(x._v) or cnp.PyArray_NDIM(<cnp.ndarray>x._v) != 1
            or x._rows is not None):  # (a structured x: its element is a Dual, see there)
        return None
    cdef cnp.ndarray vals = <cnp.ndarray>x._v
    cdef Py_ssize_t n = cnp.PyArray_DIMS(vals)[0], i
    if not -n <= key < n:  # (compared as Python ints: any size)
        return None
    i = key + n if key < 0 else key
    cdef cnp.ndarray t = <cnp.ndarray>_tan(x)
    if cnp.PyArray_NDIM(t) != 2:
        return None
    cdef Py_ssize_t m = cnp.PyArray_DIMS(t)[0]
    if x._lane is None and not x._abs and m == x._k:  # (first order: a Dual)
        return None
    r = _new(x, np.asarray((<object>vals)[i], dtype=np.float64), (<object>_owned(x, t))[:, i],
             x._n)
    _join_family(x, r)
    return r


cdef cnp.ndarray _owned(DualBase x, cnp.ndarray t):
    """x's tangents t, owned before a view of them is taken: read-only ones (shared with an
    operand, x + c) are copied into x, so that a write into the view reaches x."""
    if not cnp.PyArray_ISWRITEABLE(t):
        t = t.copy()
        x._td = t
    return t


cdef int _join_family(DualBase x, DualBase r) except -1:
    """r, a view of x, joins x's family (started here for a seeded x), so that an assignment
    into either voids both's seed structure."""
    if x._family is None and (x._unit != _NO_UNIT or x._eye):
        x._family = [True]
    r._family = x._family
    return 0


cpdef bint seeds_shared(DualBase x):
    """x is the unit-seeded x of a Jacobian's chunk (1-d, its family intact, first order,
    no lane) whose tangents are the cached read-only seeds or not built yet: its views are
    then not taken until read (fastdiff/_dualarray.py `_src`)."""
    if (x._rows is not None or x._unit == _NO_UNIT or x._abs or x._lane is not None
            or (x._family is not None and not x._family[0])
            or cnp.PyArray_NDIM(<cnp.ndarray>x._v) != 1):
        return False
    if x._src is not None:
        return x._src[0] is None  # (a chunk's seeds not built yet; else a view itself)
    return (cnp.PyArray_NDIM(<cnp.ndarray>x._td) == 2
            and not cnp.PyArray_ISWRITEABLE(<cnp.ndarray>x._td))


cdef object _sum_all_c(DualBase x):
    """np.sum(x) over every element of a contiguous x, in NumPy's summation order
    (fd_dualarray_sum), or None for the general code (fastdiff/_dualarray.py `_sum`)."""
    if not _plain_values(x._v) or not cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>x._v) \
            or (_may_structure(x) and cnp.PyArray_NDIM(<cnp.ndarray>x._v) == 1):
        return None  # (a structured vector: fastdiff/_dualarray.py `_sum` sums its d)
    cdef cnp.ndarray vals = <cnp.ndarray>x._v
    cdef cnp.ndarray t = <cnp.ndarray>_tan(x)
    cdef Py_ssize_t m = _rows_of(t), count = cnp.PyArray_SIZE(vals)
    if cnp.PyArray_NDIM(t) != cnp.PyArray_NDIM(vals) + 1 or not cnp.PyArray_ISALIGNED(t):
        return None
    cdef Py_ssize_t ldt = count
    if not cnp.PyArray_IS_C_CONTIGUOUS(t):  # rows of count contiguous doubles, ldt apart
        if cnp.PyArray_NDIM(t) != 2 or cnp.PyArray_STRIDES(t)[1] != 8 \
                or cnp.PyArray_STRIDES(t)[0] % 8 or cnp.PyArray_STRIDES(t)[0] < 0:
            return None
        ldt = cnp.PyArray_STRIDES(t)[0] // 8
    cdef Py_ssize_t err_row = -1
    if x._abs:
        err_row = m - 1
    elif x._lane is not None:
        err_row = m - 1  # the bound's lane ends with the values' error row
    cdef cnp.npy_intp one = m
    cdef cnp.ndarray v = cnp.PyArray_EMPTY(0, &one, cnp.NPY_DOUBLE, 0)
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(1, &one, cnp.NPY_DOUBLE, 0)
    cdef double *pv = <double *>cnp.PyArray_DATA(v)
    cdef double *po = <double *>cnp.PyArray_DATA(out)
    cdef const double *src = <const double *>cnp.PyArray_DATA(vals)
    cdef const double *pt = <const double *>cnp.PyArray_DATA(t)
    if m and count == 0:
        pt = src  # (nothing read)
    with nogil:
        fd_dualarray_sum(count, m, src, pt, ldt, err_row, pv, po)
    return _new(x, v, out, x._n + (count - 1 if count > 1 else 0))


def sum_all(DualBase x):
    """`_sum_all_c` for Python: np.sum(x) with axis=None, or None."""
    return _sum_all_c(x)
