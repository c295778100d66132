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

    # Dual numbers (dual.c)
    enum: FD_N_RULES
    enum: FD_N_ALIASES
    const char *const fd_dual_rule_names[]
    const char *const fd_dual_rule_notes[]
    const int fd_dual_rule_arity[]
    const double fd_dual_rule_domain[][4]
    const char *const fd_dual_alias_names[]
    const int fd_dual_alias_rules[]

    ctypedef struct fd_dual:
        double value
        double *partials
        Py_ssize_t npartials
        unsigned long long tag

    void fd_dual_add(const fd_dual *x, const fd_dual *y, fd_dual *out)
    void fd_dual_sub(const fd_dual *x, const fd_dual *y, fd_dual *out)
    void fd_dual_mul(const fd_dual *x, const fd_dual *y, fd_dual *out)
    void fd_dual_div(const fd_dual *x, const fd_dual *y, fd_dual *out)
    void fd_dual_pow(const fd_dual *x, const fd_dual *y, fd_dual *out)
    void fd_dual_add_real(const fd_dual *x, double c, fd_dual *out)
    void fd_dual_rsub_real(const fd_dual *x, double c, fd_dual *out)
    void fd_dual_mul_real(const fd_dual *x, double c, fd_dual *out)
    void fd_dual_div_real(const fd_dual *x, double c, fd_dual *out)
    void fd_dual_rdiv_real(const fd_dual *x, double c, fd_dual *out)
    void fd_dual_pow_real(const fd_dual *x, double c, fd_dual *out)
    void fd_dual_rpow_real(const fd_dual *x, double c, fd_dual *out)
    void fd_dual_unary(int rule, const fd_dual *x, fd_dual *out)
    void fd_dual_binary(int rule, const fd_dual *x, double xr, const fd_dual *y, double yr,
                        fd_dual *out)
    void fd_dual_rule_eval1(int rule, double x, double *out)
    void fd_dual_rule_eval2(int rule, double x, double y, double *out)
    void fd_dual_apply1(int rule, Py_ssize_t count, Py_ssize_t n, const double *xv,
                        const double *xp, double *outv, double *outp)
    void fd_dual_apply2(int rule, Py_ssize_t count, Py_ssize_t n, const double *xv,
                        const double *xp, const double *yv, const double *yp, double *outv,
                        double *outp)
