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

    enum fd_status:
        FD_CONVERGED
        FD_COMPLEX_LOST

    enum: FD_MAX_POINTS
    enum: FD_MAX_COLS
    enum: FD_N_SIDES

    ctypedef struct fd_stencil:
        int npts
        double offsets[FD_MAX_POINTS]
        double weights[FD_MAX_POINTS]
        double w0
        int order
        int order_step

    ctypedef struct fd_ladder_config:
        int n
        int ncomp
        fd_stencil stencil[FD_N_SIDES]
        double q
        int max_levels
        int max_cols
        int fixed
        int kink_check
        double noise
        double rtol
        double atol
        int user_tol
        double weight_err[FD_N_SIDES]
        int auto_side
        double zero_rtol

    ctypedef struct fd_ladder_state:
        double x
        double h
        int side
        int done

    void fd_ladder_prepare(fd_ladder_config *cfg)
    void fd_ladder_init(const fd_ladder_config *cfg, fd_ladder_state *st, double x, double h0,
                        int side, int flags, const double *f0)
    void fd_ladder_set_pair(fd_ladder_state *st, double x2, double scale2)
    void fd_ladder_set_noise_abs(fd_ladder_state *st, double sigma)
    void fd_ladder_share_noise(fd_ladder_state *st, Py_ssize_t n, const Py_ssize_t *key,
                               fd_ladder_state *pool, Py_ssize_t nkeys)
    int fd_ladder_points(const fd_ladder_config *cfg, const fd_ladder_state *st, double *pts)
    int fd_ladder_update(const fd_ladder_config *cfg, fd_ladder_state *st, const double *fv,
                         Py_ssize_t stride)
    Py_ssize_t fd_ladder_points_groups(const fd_ladder_config *cfg, const fd_ladder_state *st,
                                       Py_ssize_t m, const Py_ssize_t *idx, Py_ssize_t nidx,
                                       double *pts)
    Py_ssize_t fd_ladder_update_groups(const fd_ladder_config *cfg, fd_ladder_state *st,
                                       Py_ssize_t m, Py_ssize_t *idx, Py_ssize_t nidx,
                                       const double *fv)
    void fd_ladder_results(const fd_ladder_config *cfg, const fd_ladder_state *st, Py_ssize_t n,
                           double *df, double *error, int *status, double *step)

    enum: FD_COMPLEX_MAX_COLS
    void fd_complex_step(Py_ssize_t n, int cols, const double *y, const double *h0, double q,
                         const double *fr, const double *hc, const double *slack,
                         const double *scale, double noise, double *df, double *error,
                         int *status)
    void fd_contour(Py_ssize_t m, int n, int npts, const double *re, const double *im,
                    const double *r, const double *ang, double *d_full, double *d_half,
                    double *rho, double *q_rms)
    void fd_circle_points(Py_ssize_t m, int npts, const double *x, const double *r,
                          const double *hi, const double *lo, double *z, double *err)
    void fd_on_circle(Py_ssize_t m, int npts, const double *y, const double *x, const double *r,
                      const double *err, const double *ang, int passes, double *moved,
                      double *residual, double *top, double *below)

    # Dual numbers (dual.c)
    enum: FD_N_RULES
    enum: FD_RULE_power               # the table's row of x**y
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

    unsigned long long fd_dual_new_tag()
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

    # Dual arrays (dual_array.c)
    void fd_dualarray_unary(int rule, Py_ssize_t count, Py_ssize_t m, const double *xv,
                            const double *xp, double *outv, double *outd, double *outdd,
                            double *outp)
    void fd_dualarray_binary(int rule, Py_ssize_t count, const double *xv, const double *yv,
                             double **out)
    void fd_dualarray_unary_t(int rule, Py_ssize_t count, Py_ssize_t m, const double *xv,
                              const double *xp, double *outv, double *outd, double *outp)
    Py_ssize_t fd_dualarray_bound(Py_ssize_t rows, Py_ssize_t cols, const double *df,
                                  Py_ssize_t df_r, Py_ssize_t df_c, const double *mag,
                                  Py_ssize_t mag_r, Py_ssize_t mag_c, const Py_ssize_t *groups,
                                  double gamma, double *out)
    void fd_dualarray_group_matvec_abs(Py_ssize_t p, Py_ssize_t q, const double *a,
                                       Py_ssize_t ar, Py_ssize_t ac, const double *absx,
                                       const Py_ssize_t *groups, Py_ssize_t g, double c,
                                       double *out)
    void fd_dualarray_unary_abs(int rule, Py_ssize_t count, Py_ssize_t m, const double *xv,
                                const double *xp, double c, double u, double *outv,
                                double *outd, double *outdd, double *outp)
    void fd_dualarray_unary_second(Py_ssize_t count, Py_ssize_t k, int absmode,
                                   const double *dd, const double *xp, Py_ssize_t ldx,
                                   double *outp)
    cdef enum fd_arith_op:
        FD_ARITH_ADD
        FD_ARITH_SUB
        FD_ARITH_MUL
        FD_ARITH_DIV
        FD_ARITH_SQUARE
    void fd_dualarray_arith(int op, Py_ssize_t count, Py_ssize_t m, Py_ssize_t k, int second,
                            int absmode, const double *av, Py_ssize_t a_s, const double *at,
                            Py_ssize_t lda, const double *bv, Py_ssize_t b_s, const double *bt,
                            Py_ssize_t ldb, double u, double *outv, double *outt)
    void fd_dualarray_sum(Py_ssize_t count, Py_ssize_t m, const double *v, const double *t,
                          Py_ssize_t ldt, Py_ssize_t err_row, double *outv, double *outt)
    Py_ssize_t fd_dualarray_hessian_bound(Py_ssize_t n, const double *hess, Py_ssize_t ldh,
                                          const double *mag, Py_ssize_t g,
                                          const Py_ssize_t *groups, double gamma, double *outh,
                                          double *out)

    # Taylor mode (taylor.c)
    const char *const fd_taylor_rule_names[]
    const int fd_taylor_n_rules
    int fd_taylor_work(int rule)
    void fd_taylor_unary(int rule, int d, Py_ssize_t m, const double *u, const double *ur,
                         double *w, double *wr, double *work)
    void fd_taylor_binary(int rule, int d, Py_ssize_t m, const double *u, const double *ur,
                          const double *v, const double *vr, double *w, double *wr,
                          double *work)
    void fd_taylor_add(int d, Py_ssize_t m, const double *u, const double *ur, const double *v,
                       const double *vr, double sgn, double *w, double *wr)
    void fd_taylor_mul(int d, Py_ssize_t m, const double *u, const double *ur, const double *v,
                       const double *vr, double *w, double *wr)
    void fd_taylor_div(int d, Py_ssize_t m, const double *u, const double *ur, const double *v,
                       const double *vr, double *w, double *wr)
    void fd_taylor_add_real(int d, Py_ssize_t m, const double *u, const double *ur,
                            const double *c, Py_ssize_t cs, double sgn, double *w, double *wr)
    void fd_taylor_mul_real(int d, Py_ssize_t m, const double *u, const double *ur,
                            const double *c, Py_ssize_t cs, double *w, double *wr)
    void fd_taylor_div_real(int d, Py_ssize_t m, const double *u, const double *ur,
                            const double *c, Py_ssize_t cs, double *w, double *wr)
    void fd_taylor_rdiv_real(int d, Py_ssize_t m, const double *u, const double *ur,
                             const double *c, Py_ssize_t cs, double *w, double *wr)
    void fd_taylor_pow_real(int d, Py_ssize_t m, const double *u, const double *ur,
                            const double *c, Py_ssize_t cs, double *w, double *wr, double *work)
    void fd_taylor_rpow_real(int d, Py_ssize_t m, const double *u, const double *ur,
                             const double *c, Py_ssize_t cs, double *w, double *wr,
                             double *work)

    # Derivatives of sampled data (grid.c)
    enum: FD_GRID_LEVELS
    enum: FD_GRID_MAX_WIDTH
    enum: FD_GRID_MAX_N

    ctypedef struct fd_grid_plan:
        Py_ssize_t outer
        Py_ssize_t len
        Py_ssize_t inner
        int n
        int nlevels
        int interior[FD_GRID_LEVELS]
        int boundary[FD_GRID_LEVELS]

    int fd_grid_plan_init(fd_grid_plan *plan, Py_ssize_t outer, Py_ssize_t len,
                          Py_ssize_t inner, int n, int order, int uniform, double dx)
    int fd_grid_derivative(const fd_grid_plan *plan, const double *y, const double *x,
                           double eps, double *df, double *error, signed char *status,
                           unsigned char *success, double *work, Py_ssize_t start,
                           Py_ssize_t stop)
    Py_ssize_t fd_grid_work_size(const fd_grid_plan *plan)
    Py_ssize_t fd_grid_cut(const fd_grid_plan *plan, Py_ssize_t near)

    # Colouring sparse patterns (colouring.c)
    Py_ssize_t fd_colour_columns(Py_ssize_t nrows, Py_ssize_t ncols, const Py_ssize_t *col_ptr,
                                 const Py_ssize_t *row_idx, const Py_ssize_t *row_ptr,
                                 const Py_ssize_t *col_idx, Py_ssize_t *colour,
                                 Py_ssize_t *work)
    Py_ssize_t fd_star_colour(Py_ssize_t n, const Py_ssize_t *row_ptr, const Py_ssize_t *col_idx,
                              Py_ssize_t *colour, Py_ssize_t *work)
    void fd_star_unique(Py_ssize_t n, const Py_ssize_t *row_ptr, const Py_ssize_t *col_idx,
                        const Py_ssize_t *colour, Py_ssize_t *unique, Py_ssize_t *work)
