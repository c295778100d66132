# Declarations only, mirroring csrc/fastdiff.h; C names unchanged.
cdef extern from "fastdiff.h" nogil:
    enum fd_offsets_check:
        FD_OFFSETS_OK
        FD_OFFSETS_NONFINITE
        FD_OFFSETS_REPEATED
    int fd_fornberg_weights(const double *offsets, Py_ssize_t m, int nmax, double *c)

    enum: FD_STATUS_COUNT
    const int fd_status_codes[]
    const char *const fd_status_names[]
    const char *const fd_status_messages[]
