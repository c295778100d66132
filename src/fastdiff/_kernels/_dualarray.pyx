# The crossing for DualArray (fastdiff/_dualarray.py): the rule table's elementwise loops of
# csrc/dual_array.c on contiguous float64 arrays.  Tangents are (m, count) row-major.
import numpy as np

cimport numpy as cnp

cnp.import_array()

from fastdiff._kernels.fastdiff cimport fd_dualarray_binary, fd_dualarray_unary


def unary(int rule, const double[::1] xv, const double[:, ::1] xp, bint second):
    """(value, f', f'' or None, tangents) of a unary rule; tangents scaled by f'."""
    cdef Py_ssize_t count = xv.shape[0], m = xp.shape[0]
    v = np.empty(count)
    d = np.empty(count)
    dd = np.empty(count) if second else None
    p = np.empty((m, count))
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
