# The crossing for grid_derivative: contiguous arrays in, one C pass, arrays out.  No defaults
# and no validation: fastdiff._grid has checked every argument (and decides any split).
import numpy as np

from fastdiff._kernels.fastdiff cimport (
    FD_GRID_LEVELS, FD_GRID_MAX_N, FD_GRID_MAX_WIDTH, fd_grid_cut, fd_grid_derivative,
    fd_grid_plan, fd_grid_plan_init, fd_grid_work_size,
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


def cut(Py_ssize_t outer, Py_ssize_t length, Py_ssize_t inner, int n, int order, bint uniform,
        Py_ssize_t near):
    """A position near `near` where the positions along the axis may be split for run (a
    tile start of the uniform contiguous interior), or 0 where there is none."""
    cdef fd_grid_plan plan
    fd_grid_plan_init(&plan, outer, length, inner, n, order, uniform, 1.0)
    return fd_grid_cut(&plan, near)


def outputs(tuple shape):
    """(df, error, status, ok) of shape, ok the int8 view of success (see grid_derivative)."""
    # df and error in one block: one allocation instead of two keeps the allocator from
    # returning the memory to the system between calls (two 8 MB blocks freed together were
    # trimmed and faulted in afresh on every call on 1e6 samples: 1800 page faults, a third of
    # the time)
    both = np.empty((2,) + shape)
    # status and success (= status >= 0, written in the same pass) in one block too
    codes = np.empty((2,) + shape, dtype=np.int8)
    return both[0], both[1], codes[0], codes[1]


def run(const double[:, :, ::1] y, x, double dx, int n, int order, double eps,
        double[:, :, ::1] df, double[:, :, ::1] error, signed char[:, :, ::1] status,
        signed char[:, :, ::1] ok, Py_ssize_t start, Py_ssize_t stop):
    """Positions [start, stop) along the axis of y (outer, len, inner) into the outputs
    (shaped like y), without the GIL; returns the check code (nonzero: repeated nodes)."""
    cdef fd_grid_plan plan
    cdef const double[::1] xv
    cdef const double *xp = NULL
    cdef int check
    if x is not None:
        xv = x
        xp = &xv[0]
    fd_grid_plan_init(&plan, y.shape[0], y.shape[1], y.shape[2], n, order, x is None, dx)
    cdef double[::1] work = np.empty(max(1, fd_grid_work_size(&plan)))  # rows of an axis
    with nogil:
        check = fd_grid_derivative(&plan, &y[0, 0, 0], xp, eps, &df[0, 0, 0], &error[0, 0, 0],
                                   &status[0, 0, 0], <unsigned char *>&ok[0, 0, 0], &work[0],
                                   start, stop)
    return check


def grid_derivative(const double[:, :, ::1] y, x, double dx, int n, int order, double eps):
    """(check, df, error, status, success) for y of shape (outer, len, inner), in one call on
    this thread; x: len nodes or None (uniform spacing dx). check is nonzero for repeated
    nodes."""
    shape = (y.shape[0], y.shape[1], y.shape[2])
    df, error, status, ok = outputs(shape)
    check = run(y, x, dx, n, order, eps, df, error, status, ok, 0, y.shape[1])
    return check, df, error, status, ok.view(np.bool_)
