# The crossing for the finite-difference kernels: memoryviews in, one nogil C call, arrays out.
# No defaults, no validation: fastdiff's Python layer decides what to do with each result.
import numpy as np

from fastdiff._kernels.fastdiff cimport (
    FD_OFFSETS_NONFINITE, FD_OFFSETS_REPEATED, FD_STATUS_COUNT, fd_fornberg_weights,
    fd_status_codes, fd_status_messages, fd_status_names,
)

OFFSETS_NONFINITE = FD_OFFSETS_NONFINITE
OFFSETS_REPEATED = FD_OFFSETS_REPEATED


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
