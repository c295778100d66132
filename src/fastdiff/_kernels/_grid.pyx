# The crossing for grid_derivative: contiguous arrays in, one C pass, arrays out.  No defaults
# and no validation: fastdiff._grid has checked every argument.
import numpy as np

from fastdiff._kernels.fastdiff cimport (
    FD_GRID_LEVELS, FD_GRID_MAX_N, FD_GRID_MAX_WIDTH, fd_grid_derivative, fd_grid_plan,
    fd_grid_plan_init, fd_grid_work_size,
)

LEVELS = FD_GRID_LEVELS
MAX_WIDTH = FD_GRID_MAX_WIDTH
MAX_N = FD_GRID_MAX_N


def plan_levels(Py_ssize_t length, int n, int order, bint uniform):
    """(levels that fit in length, or -1 if none or out of range; interior and boundary widths)."""
    cdef fd_grid_plan plan
    cdef int ok = fd_grid_plan_init(&plan, 1, length, 1, n, order, uniform, 1.0)
    return (plan.nlevels if ok == 0 else -1,
            [plan.interior[l] for l in range(FD_GRID_LEVELS)],
            [plan.boundary[l] for l in range(FD_GRID_LEVELS)])


def grid_derivative(const double[:, :, ::1] y, x, double dx, int n, int order, double eps):
    """(check, df, error, status, success, nlevels) for y of shape (outer, len, inner); x: len
    nodes or None (uniform spacing dx). check is nonzero for repeated nodes."""
    cdef fd_grid_plan plan
    cdef const double[::1] xv
    cdef const double *xp = NULL
    cdef int check
    if x is not None:
        xv = x
        xp = &xv[0]
    fd_grid_plan_init(&plan, y.shape[0], y.shape[1], y.shape[2], n, order, x is None, dx)
    shape = (y.shape[0], y.shape[1], y.shape[2])
    # df and error in one block: one allocation instead of two keeps the allocator from
    # returning the memory to the system between calls (two 8 MB blocks freed together were
    # trimmed and faulted in afresh on every call on 1e6 samples: 1800 page faults, a third of
    # the time)
    both = np.empty((2,) + shape)
    df = both[0]
    error = both[1]
    # status and success (= status >= 0, written in the same pass) in one block too
    codes = np.empty((2,) + shape, dtype=np.int8)
    status = codes[0]
    success = codes[1].view(np.bool_)
    cdef double[:, :, ::1] dfv = df, ev = error
    cdef signed char[:, :, ::1] stv = status
    cdef signed char[:, :, ::1] okv = codes[1]
    cdef double[::1] work = np.empty(max(1, fd_grid_work_size(&plan)))  # rows of an axis
    with nogil:
        check = fd_grid_derivative(&plan, &y[0, 0, 0], xp, eps, &dfv[0, 0, 0], &ev[0, 0, 0],
                                   &stv[0, 0, 0], <unsigned char *>&okv[0, 0, 0], &work[0])
    return check, df, error, status, success, plan.nlevels
