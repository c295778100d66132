/*
 * fastdiff.h -- the whole C API of fastdiff's kernels (the only header Cython sees).
 *
 * Plain C99: no Python, no NumPy.  Every function works on caller-allocated, contiguous
 * double arrays, never allocates, never raises; trouble is reported through return values
 * or per-element fd_status codes.
 */
#ifndef FASTDIFF_H
#define FASTDIFF_H

#include <stddef.h>

/* ---------------------------------------------------------------------------------------- */
/* Per-element status: the one table shared by C and Python (fastdiff._status mirrors it)   */
/* ---------------------------------------------------------------------------------------- */

/*
 * 0 = converged cleanly; > 0 = trusted, with a remark; < 0 = not trusted (success is False).
 * X(name, code, message).  Adding a code here adds it to fd_status and to the name table;
 * fastdiff._status.Status must then gain the same member (tests/test_status.py checks).
 */
#define FD_STATUS_TABLE(X)                                                                      \
    X(CONVERGED, 0, "converged: the error estimate is trusted")                               \
    X(DOMAIN_ADAPTED, 1, "non-finite values of f were met; a smaller or one-sided stencil was used") \
    X(BOUNDS_ADAPTED, 2, "the stencil was made one-sided or shrunk to stay inside `bounds`")  \
    X(NOT_CONVERGED, -1, "the requested tolerance was not met within the step ladder")       \
    X(NO_FINITE, -2, "no finite estimate: f was non-finite on every stencil tried")          \
    X(INCONSISTENT, -3, "estimates do not settle as the step shrinks (noise, kink, aliasing)") \
    X(COMPLEX_LOST, -4, "complex step invalid: f dropped the imaginary part or is not real-analytic")

typedef enum fd_status {
#define FD_STATUS_ENUM(name, code, msg) FD_##name = code,
    FD_STATUS_TABLE(FD_STATUS_ENUM)
#undef FD_STATUS_ENUM
} fd_status;

#define FD_STATUS_PLUS_ONE(name, code, msg) +1
enum { FD_STATUS_COUNT = 0 FD_STATUS_TABLE(FD_STATUS_PLUS_ONE) };
#undef FD_STATUS_PLUS_ONE

/* The table as arrays (status.c), in table order, FD_STATUS_COUNT entries each. */
extern const int fd_status_codes[];
extern const char *const fd_status_names[];
extern const char *const fd_status_messages[];

/* ---------------------------------------------------------------------------------------- */
/* Finite-difference weights (weights.c)                                                    */
/* ---------------------------------------------------------------------------------------- */

/* Return codes of fd_fornberg_weights. */
enum fd_offsets_check { FD_OFFSETS_OK = 0, FD_OFFSETS_NONFINITE = 1, FD_OFFSETS_REPEATED = 2 };

/*
 * Fornberg's algorithm: weights c[k*m + j] such that
 *     sum_j c[k*m + j] * f(x0 + offsets[j]) ~= f^(k)(x0),   k = 0 .. nmax,
 * exact for polynomials of degree <= m-1.  c has (nmax+1)*m entries.  Returns FD_OFFSETS_OK,
 * or FD_OFFSETS_NONFINITE / FD_OFFSETS_REPEATED when the offsets are unusable (c unspecified).
 */
int fd_fornberg_weights(const double *offsets, ptrdiff_t m, int nmax, double *c);

/* ---------------------------------------------------------------------------------------- */
/* The adaptive step ladder (stencil.c, richardson.c)                                       */
/* ---------------------------------------------------------------------------------------- */

/*
 * Each element runs a ladder of steps h_k = h_0 / q^k.  At every level the base stencil gives
 * an estimate A_k; a Richardson/Neville tableau extrapolates across levels; each tableau
 * column is trusted only after its differences shrink at the predicted rate q^e (or sit at the
 * rounding level); the smallest trusted error wins.  docs/dev/how_it_works.md has the model.
 */
#define FD_MAX_POINTS 32  /* evaluated (non-centre) offsets of one stencil */
#define FD_MAX_COLS 8     /* Richardson columns */

enum fd_side { FD_SIDE_CENTRAL = 0, FD_SIDE_FORWARD = 1, FD_SIDE_BACKWARD = 2, FD_N_SIDES = 3 };

typedef struct fd_stencil {
    int npts;                         /* offsets evaluated per level (the centre is cached) */
    double offsets[FD_MAX_POINTS];    /* in units of h, none zero */
    double weights[FD_MAX_POINTS];
    double w0;                        /* weight of f(x) */
    int order;                        /* leading error exponent p */
    int order_step;                   /* the error expansion goes p, p+s, p+2s, ...: s */
} fd_stencil;

typedef struct fd_ladder_config {
    int n;                            /* derivative order */
    int ncomp;                        /* 1: real f, 2: complex f (values interleaved re, im) */
    fd_stencil stencil[FD_N_SIDES];
    double q;                         /* step ratio between levels (> 1) */
    int max_levels;
    int max_cols;                     /* <= FD_MAX_COLS */
    int fixed;                        /* fixed step: level 0's base estimate is the answer */
    int kink_check;                   /* n = 1 central: one-sided slopes must agree */
    double noise;                     /* relative accuracy of the values of f */
    double rtol, atol;                /* stop once error <= atol + rtol |df| */
    int user_tol;                     /* missing rtol/atol is NOT_CONVERGED (else CONVERGED) */
    double weight_err[FD_N_SIDES];    /* largest relative error of each stencil's weights */
    int auto_side;                    /* > 0: a central element whose stencil meets non-finite
                                         values on one side only for auto_side levels in a
                                         row turns one-sided (f's domain ends at or near x) */
    double zero_rtol;                 /* an error above |df| is trusted only below zero_rtol
                                         times the first level's sum|w f| / h^n (a zero) */
    /* derived by fd_ladder_prepare, per side and column j, for the nominal ratio q:
     * amp = rounding amplification through column j; inv_den = 1 / (q^e_j - 1) and
     * inv_den_dq = its derivative in delta, for a real ratio r = q (1 + delta) */
    double amp[FD_N_SIDES][FD_MAX_COLS + 1];
    double inv_den[FD_N_SIDES][FD_MAX_COLS + 1];
    double inv_den_dq[FD_N_SIDES][FD_MAX_COLS + 1];
    double qe[FD_N_SIDES][FD_MAX_COLS + 1];  /* q^e_j */
    double qn, sqrt_q, inv_q;         /* q^n, sqrt(q), 1 / q */
    double rate_band;                 /* RATE_BAND at q = 1 + sqrt(2), same exponent band */
} fd_ladder_config;

/* Fill the derived fields of cfg (call once, after setting the rest). */
void fd_ladder_prepare(fd_ladder_config *cfg);

/*
 * Per-element state; fd_ladder_init sets it up.  Fields are ordered by use: the first four
 * cache lines are read and written at every level (a vectorized call streams every element's
 * state once per level, so their size is its memory traffic), candidates touch the next, and
 * complex values, pairs and the fixed-step mode touch the rest.
 */
typedef struct fd_ladder_state {
    /* every level */
    double x, h;                      /* the point and the current level's nominal step */
    double h_prev;                    /* the previous level's spacing (x + h) - x */
    double f0[2];                     /* f(x) */
    double rho_prev;                  /* previous level's rounding bound of A */
    double kink_prev;                 /* previous |F - B| (one-sided slope gap) */
    double amax;                      /* max |A_k| over finite levels */
    double noise_seen;                /* noise of f learned below the best level */
    double noise_rel;                 /* the same, relative to the mean |f_j| where learned */
    double noise_min, noise_rel_min;  /* the smallest samples of both (their spread picks the
                                         model: absolute or relative noise) */
    double best_err, fallback_err;
    double best_bar;                  /* the best candidate's error bar (best_err steers) */
    int rows, levels, side, flags, done;
    unsigned ratio_ok;                /* bit j: column j passed its rate test last row */
    double row[FD_MAX_COLS];          /* previous tableau row (real part) */
    double diff[FD_MAX_COLS];         /* previous row's differences down each column */
    double rnd[FD_MAX_COLS];          /* previous row's rounding bound of each entry */
    /* when a candidate wins */
    double best[2], best_step;
    double best_gain;                 /* d(best) / d(noise of f): amp * sum|w| / h^n */
    double best_scale;                /* d(best) / d(relative noise): amp * sum|w f| / h^n */
    double zero_scale;                /* sum|w f| / h^n at the first finite level */
    double h0;                        /* the first nominal step */
    int nan_run, nan_side;            /* levels in a row non-finite on one side only, and
                                         the side that avoids them */
    double fallback[2], fallback_step;
    /* complex f, pairs, fixed step */
    double row_im[FD_MAX_COLS], diff_im[FD_MAX_COLS];
    double x2, scale2;                /* pair elements (mixed 2nd derivatives): the second
                                         coordinate and its step ratio; scale2 = 0 otherwise */
    double fixed_rho0, fixed_d1[2];   /* fixed step: rounding of A_0 and A_0 - A_1 */
    double fixed_gain, fixed_scale;
    double noise_abs;                 /* absolute noise of f's values declared for this element
                                         (fd_ladder_set_noise_abs), beside cfg->noise |f| */
} fd_ladder_state;

/* flags */
enum {
    FD_FLAG_NONFINITE = 1,            /* a level met non-finite values of f */
    FD_FLAG_BOUNDS = 2,               /* a one-sided stencil was chosen because of bounds */
    FD_FLAG_TRUSTED = 4,              /* best holds a verified estimate */
    FD_FLAG_FINITE = 8,               /* some level was finite */
    FD_FLAG_KINK = 16,                /* one-sided slopes disagreed at the last level */
    FD_FLAG_MOVED = 32,               /* some finite level had a value other than f(x) */
    FD_FLAG_HOLD = 64,                /* go one level further before stopping */
    FD_FLAG_HELD = 128                /* the last level held (set for the level after it) */
};

/* The spacing x + h really has in floating point: (x + h) - x. */
double fd_spacing(double x, double h);

void fd_ladder_init(const fd_ladder_config *cfg, fd_ladder_state *st, double x, double h0,
                    int side, int flags, const double *f0);
/* A pair element for d^2 f / dx dx2: its divisor is (x + h) - x times (x2 + h s2) - x2. */
void fd_ladder_set_pair(fd_ladder_state *st, double x2, double scale2);
/* f's values for st are off by up to sigma absolute beside cfg->noise |f| (an f that cancels
 * internally rounds at eps times its terms, far above eps |f|): counted in every rounding bound. */
void fd_ladder_set_noise_abs(fd_ladder_state *st, double sigma);
/* Elements with the same key (>= 0, below nkeys) are one output of f along different
 * coordinates: they see the same f, so one's noise is all of theirs.  The noise samples each
 * learned (ladder_update's noise_seen, noise_rel and their minima) are pooled per key in
 * pool[0 .. nkeys) (scratch) and folded into every element of the key whose values moved
 * (FD_FLAG_MOVED; one that f does not depend on stays exact), as if it had learned them;
 * fd_ladder_results then counts their effect at its best step like its own.  After the run. */
void fd_ladder_share_noise(fd_ladder_state *st, ptrdiff_t n, const ptrdiff_t *key,
                           fd_ladder_state *pool, ptrdiff_t nkeys);
/* Points of st's current level: writes stencil.npts values to pts, returns how many. */
int fd_ladder_points(const fd_ladder_config *cfg, const fd_ladder_state *st, double *pts);
/* Consume f at those points: component c of point j is fv[j * stride + c]; returns st->done. */
int fd_ladder_update(const fd_ladder_config *cfg, fd_ladder_state *st, const double *fv,
                     ptrdiff_t stride);
/*
 * Groups: elements g*m .. g*m+m-1 are m outputs of one function along one coordinate; they
 * share the coordinate, steps and points (so one evaluation of f feeds all m), each with its
 * own tableau, error and status.  Over the groups idx[0..nidx): fd_ladder_points_groups
 * writes every running group's points back to back and returns how many; the values then
 * come as rows of m * ncomp (point-major), and fd_ladder_update_groups consumes them,
 * compacts idx to the groups still running and returns their count.  m = 1 is elementwise.
 */
ptrdiff_t fd_ladder_points_groups(const fd_ladder_config *cfg, const fd_ladder_state *st,
                                  ptrdiff_t m, const ptrdiff_t *idx, ptrdiff_t nidx,
                                  double *pts);
ptrdiff_t fd_ladder_update_groups(const fd_ladder_config *cfg, fd_ladder_state *st, ptrdiff_t m,
                                  ptrdiff_t *idx, ptrdiff_t nidx, const double *fv);
/* Final estimate, error, status and step of every element. */
void fd_ladder_results(const fd_ladder_config *cfg, const fd_ladder_state *st, ptrdiff_t n,
                       double *df, double *error, int *status, double *step);

/* ---------------------------------------------------------------------------------------- */
/* Complex step (complex_step.c)                                                            */
/* ---------------------------------------------------------------------------------------- */

/*
 * f'(x) ~= the order-2c complex-step formula: a Richardson tableau in h^2 of
 * g_k = Im f(x + i h_k) / h_k, h_k = h0 / q^k, k = 0 .. c-1; level c estimates its error.
 * y: f(x + i h_k), (c + 1) rows of n complex values as (re, im) pairs (im NaN where f
 * dropped it); fr: f(x + hc) then f(x - hc), 2 rows of n (re, im) pairs (im must vanish: f
 * real on reals), for the analyticity check, with an extra allowance `slack` per element;
 * scale: max(|x|, 1) per element (the size of f's terms in Im f is |f| / scale).
 */
#define FD_COMPLEX_MAX_COLS 8
void fd_complex_step(ptrdiff_t n, int cols, const double *y, const double *h0, double q,
                     const double *fr, const double *hc, const double *slack,
                     const double *scale, double noise, double *df, double *error,
                     int *status);

/* Higher derivatives on a circle (Cauchy integral, trapezoid rule): see complex_step.c.
 * re, im: f at x + r exp(2 pi i k / N), k = 0 .. npts-1, N = 2 (npts - 1), per element;
 * ang: exp(2 pi i k / N), k < npts, as (re, im) pairs (the weights w^(-kn) come from it);
 * q_rms (or NULL): rms|f| / mean|f| on the circle, weighted as the sum. npts <= 17. */
void fd_contour(ptrdiff_t m, int n, int npts, const double *re, const double *im,
                const double *r, const double *ang, double *d_full, double *d_half, double *rho,
                double *q_rms);

/* The circle's points x + r w^k correctly rounded (z) and their rest (err), for w^k = hi + lo
 * (npts (re, im) pairs each): see complex_step.c and _complex.circle_points. z, err: m rows
 * of npts (re, im) pairs. */
void fd_circle_points(ptrdiff_t m, int npts, const double *x, const double *r,
                      const double *hi, const double *lo, double *z, double *err);

/* f's values at the points z actually evaluated (z = x + r ang correctly rounded, err the
 * rest: x + r ang - z), moved back onto the circle x + r ang: see complex_step.c and
 * _complex.on_the_circle. y, err, ang, moved: (re, im) pairs, m rows of npts (ang: one
 * row); residual, top, below per row. npts <= 17. */
void fd_on_circle(ptrdiff_t m, int npts, const double *y, const double *x, const double *r,
                  const double *err, const double *ang, int passes, double *moved,
                  double *residual, double *top, double *below);

/* ---------------------------------------------------------------------------------------- */
/* Dual numbers (dual.c)                                                                    */
/* ---------------------------------------------------------------------------------------- */

/*
 * The rule table dual_rules.def expanded into one enum: FD_RULE_<name> for every unary and
 * binary row, in table order, then the sentinel FD_N_RULES.  Aliases are not enum members.
 */
typedef enum fd_dual_rule {
#define FD_DUAL_UNARY(name, value, d1, d2, lo, hi, note) FD_RULE_##name,
#define FD_DUAL_BINARY(name, value, dx, dy, dxx, dxy, dyy, xlo, xhi, ylo, yhi, note) FD_RULE_##name,
#define FD_DUAL_ALIAS(alias, name)
#include "dual_rules.def"
#undef FD_DUAL_UNARY
#undef FD_DUAL_BINARY
#undef FD_DUAL_ALIAS
    FD_N_RULES
} fd_dual_rule;

#define FD_DUAL_ALIAS_PLUS_ONE(alias, name) +1
#define FD_DUAL_UNARY(name, value, d1, d2, lo, hi, note)
#define FD_DUAL_BINARY(name, value, dx, dy, dxx, dxy, dyy, xlo, xhi, ylo, yhi, note)
#define FD_DUAL_ALIAS FD_DUAL_ALIAS_PLUS_ONE
enum { FD_N_ALIASES = 0
#include "dual_rules.def"
};
#undef FD_DUAL_UNARY
#undef FD_DUAL_BINARY
#undef FD_DUAL_ALIAS
#undef FD_DUAL_ALIAS_PLUS_ONE

/* The table as arrays, FD_N_RULES entries each (FD_N_ALIASES for the alias arrays). */
extern const char *const fd_dual_rule_names[];
extern const char *const fd_dual_rule_notes[];
extern const int fd_dual_rule_arity[];      /* 1 or 2 */
extern const double fd_dual_rule_domain[][4]; /* lo, hi of x, then of y (unary: y = -inf, inf) */
extern const char *const fd_dual_alias_names[];
extern const int fd_dual_alias_rules[];     /* the fd_dual_rule each alias spells */

/*
 * A dual number v + sum_k p[k] e_k: value, npartials partials in caller-owned storage, and the
 * tag of the differentiation call that owns its perturbations.  The functions below read only
 * value/partials/npartials, write out->value and out->partials[0 .. npartials-1] (out may be one
 * of the inputs), and copy the tag of the first Dual argument.  Operands of one call must have
 * the same npartials; the caller checks.
 */
typedef struct fd_dual {
    double value;
    double *partials;
    ptrdiff_t npartials;
    unsigned long long tag;
} fd_dual;

/*
 * A fresh tag for one differentiation call: 1, 2, 3, ... in the order the calls start, from
 * any thread (one atomic counter, nothing else shared).  A call nested inside another starts
 * later in the same thread, so its tag is the larger: that order is all nesting needs.
 */
unsigned long long fd_dual_new_tag(void);

/* Arithmetic between two duals: the product and quotient rules. */
void fd_dual_add(const fd_dual *x, const fd_dual *y, fd_dual *out);
void fd_dual_sub(const fd_dual *x, const fd_dual *y, fd_dual *out);
void fd_dual_mul(const fd_dual *x, const fd_dual *y, fd_dual *out);
void fd_dual_div(const fd_dual *x, const fd_dual *y, fd_dual *out);
/* x**y with both dual: the power row of the table. */
void fd_dual_pow(const fd_dual *x, const fd_dual *y, fd_dual *out);

/* Arithmetic with a real constant c: x + c, c - x, x * c, x / c, c / x, x**c, c**x. */
void fd_dual_add_real(const fd_dual *x, double c, fd_dual *out);
void fd_dual_rsub_real(const fd_dual *x, double c, fd_dual *out);
void fd_dual_mul_real(const fd_dual *x, double c, fd_dual *out);
void fd_dual_div_real(const fd_dual *x, double c, fd_dual *out);
void fd_dual_rdiv_real(const fd_dual *x, double c, fd_dual *out);
void fd_dual_pow_real(const fd_dual *x, double c, fd_dual *out);
void fd_dual_rpow_real(const fd_dual *x, double c, fd_dual *out);

/*
 * Elementary functions from the table.  fd_dual_unary: rule of arity 1.  fd_dual_binary: rule
 * of arity 2 with x and/or y dual (pass NULL for a real operand and its value in xr / yr).
 */
void fd_dual_unary(int rule, const fd_dual *x, fd_dual *out);
void fd_dual_binary(int rule, const fd_dual *x, double xr, const fd_dual *y, double yr,
                    fd_dual *out);

/*
 * Value and derivatives of a rule at a real point, for nested (higher-order) duals:
 * arity 1: out = {f, f', f''};  arity 2: out = {f, f_x, f_y, f_xx, f_xy, f_yy}.
 */
void fd_dual_rule_eval1(int rule, double x, double out[3]);
void fd_dual_rule_eval2(int rule, double x, double y, double out[6]);

/*
 * Elementwise loops over count elements with n partials each (row-major (count, n) partial
 * arrays), the derivative factor computed once per element; for dual arrays.  In the binary
 * loop yp may be NULL (y is a real array).
 */
void fd_dual_apply1(int rule, ptrdiff_t count, ptrdiff_t n, const double *xv, const double *xp,
                    double *outv, double *outp);
void fd_dual_apply2(int rule, ptrdiff_t count, ptrdiff_t n, const double *xv, const double *xp,
                    const double *yv, const double *yp, double *outv, double *outp);

/* ---------------------------------------------------------------------------------------- */
/* Dual arrays (dual_array.c): tangents stored as m rows of count doubles                   */
/* ---------------------------------------------------------------------------------------- */

/* Unary rule: outv = f(x), outd = f'(x), outdd = f''(x) (skipped if NULL), and every tangent
 * row scaled by f': outp[r * count + i] = outd[i] * xp[r * count + i], r < m. */
void fd_dualarray_unary(int rule, ptrdiff_t count, ptrdiff_t m, const double *xv,
                        const double *xp, double *outv, double *outd, double *outdd,
                        double *outp);
/* Binary rule factors: out = {f, f_x, f_y, f_xx, f_xy, f_yy} (count doubles each; out[3..5]
 * may be NULL). */
void fd_dualarray_binary(int rule, ptrdiff_t count, const double *xv, const double *yv,
                         double *out[6]);
/* fd_dualarray_unary on element-major tangents (xp[i * m + r]; no f''). */
void fd_dualarray_unary_t(int rule, ptrdiff_t count, ptrdiff_t m, const double *xv,
                          const double *xp, double *outv, double *outd, double *outp);
/* fd_dualarray_unary in the rounding bound's evaluation: magnitude rows, the last one the
 * values' error bound (see dual_array.c); outdd (f'') is required. */
/* A Jacobian's rounding bound: out = gamma * mag[:, groups] + eps |df| (strided df and mag,
 * row-major out); returns the count of entries where df or out is not finite. */
ptrdiff_t fd_dualarray_bound(ptrdiff_t rows, ptrdiff_t cols, const double *df, ptrdiff_t df_r,
                             ptrdiff_t df_c, const double *mag, ptrdiff_t mag_r,
                             ptrdiff_t mag_c, const ptrdiff_t *groups, double gamma,
                             double *out);
/* A @ x in the rounding bound's evaluation for a constant A (p x q, strides ar, ac) and the
 * group-seeded x of the bound's seed: out ((g + 1) x p) gets the group sums of |A| and the
 * error row c |A| |x| (see dual_array.c); groups nondecreasing, in [0, g). */
void fd_dualarray_group_matvec_abs(ptrdiff_t p, ptrdiff_t q, const double *a, ptrdiff_t ar,
                                   ptrdiff_t ac, const double *absx, const ptrdiff_t *groups,
                                   ptrdiff_t g, double c, double *out);
void fd_dualarray_unary_abs(int rule, ptrdiff_t count, ptrdiff_t m, const double *xv,
                            const double *xp, double c, double u, double *outv, double *outd,
                            double *outdd, double *outp);
/* Elementwise + - * / and squaring of DualArrays of one shape in one pass (first- and
 * second-order rows, and the rounding bound's magnitude rows): see dual_array.c. */
/* The second-order terms of a unary rule, added in place: rows k + p k + q of outp gain
 * f'' (|f''| with absmode) times the product of first-order rows p and q of xp. */
void fd_dualarray_unary_second(ptrdiff_t count, ptrdiff_t k, int absmode, const double *dd,
                               const double *xp, ptrdiff_t ldx, double *outp);
enum fd_arith_op { FD_ARITH_ADD, FD_ARITH_SUB, FD_ARITH_MUL, FD_ARITH_DIV, FD_ARITH_SQUARE };
void fd_dualarray_arith(int op, ptrdiff_t count, ptrdiff_t m, ptrdiff_t k, int second,
                        int absmode, const double *av, ptrdiff_t as, const double *at,
                        ptrdiff_t lda, const double *bv, ptrdiff_t bs, const double *bt,
                        ptrdiff_t ldb, double u, double *outv, double *outt);
/* The sum of all count elements of values v and of each of m tangent rows (ldt apart), in
 * NumPy's pairwise order; row err_row (if >= 0) also gains count eps sum |v| (the bound's). */
void fd_dualarray_sum(ptrdiff_t count, ptrdiff_t m, const double *v, const double *t,
                      ptrdiff_t ldt, ptrdiff_t err_row, double *outv, double *outt);
/* A Hessian symmetrised, outh = (H + H^T) / 2, and its rounding bound out = gamma *
 * |mag[groups[i], groups[j]]| + eps |outh| (mag g x g row-major); returns the non-finite count. */
ptrdiff_t fd_dualarray_hessian_bound(ptrdiff_t n, const double *hess, ptrdiff_t ldh,
                                     const double *mag, ptrdiff_t g, const ptrdiff_t *groups,
                                     double gamma, double *outh, double *out);

/* ---------------------------------------------------------------------------------------- */
/* Taylor mode (taylor.c): univariate Taylor series through the rule table                  */
/* ---------------------------------------------------------------------------------------- */

/*
 * A Taylor number of degree d over m elements: coefficient k (the k-th derivative / k!) of
 * element i at u[k*m + i], k = 0 .. d, and its rounding radius (an absolute error bound) at
 * ur[k*m + i].  Outputs w, wr are caller-allocated like the inputs and must not alias them
 * (except in fd_taylor_add, fd_taylor_add_real and fd_taylor_mul_real, which allow it).  The recurrences of every rule of
 * dual_rules.def are listed in the companion table taylor_rules.def (same names).
 */
extern const char *const fd_taylor_rule_names[];  /* the companion table, in its own order */
extern const int fd_taylor_n_rules;               /* == FD_N_RULES (checked when compiling) */

/* Scratch for fd_taylor_unary/binary(rule, d, m, ...): 2 * (d+1) * m * fd_taylor_work(rule)
 * doubles (fd_taylor_pow_real and fd_taylor_rpow_real need 4 * (d+1) * m). */
int fd_taylor_work(int rule);
void fd_taylor_unary(int rule, int d, ptrdiff_t m, const double *u, const double *ur, double *w,
                     double *wr, double *work);
void fd_taylor_binary(int rule, int d, ptrdiff_t m, const double *u, const double *ur,
                      const double *v, const double *vr, double *w, double *wr, double *work);

/* w = u + sgn v (sgn = +-1), w = u v, w = u / v for two series. */
void fd_taylor_add(int d, ptrdiff_t m, const double *u, const double *ur, const double *v,
                   const double *vr, double sgn, double *w, double *wr);
void fd_taylor_mul(int d, ptrdiff_t m, const double *u, const double *ur, const double *v,
                   const double *vr, double *w, double *wr);
void fd_taylor_div(int d, ptrdiff_t m, const double *u, const double *ur, const double *v,
                   const double *vr, double *w, double *wr);
/* With an exact real operand c[i * cs] (cs = 0: one scalar): w = c + sgn u, u c, u / c, c / u,
 * u ** c, c ** u. */
void fd_taylor_add_real(int d, ptrdiff_t m, const double *u, const double *ur, const double *c,
                        ptrdiff_t cs, double sgn, double *w, double *wr);
void fd_taylor_mul_real(int d, ptrdiff_t m, const double *u, const double *ur, const double *c,
                        ptrdiff_t cs, double *w, double *wr);
void fd_taylor_div_real(int d, ptrdiff_t m, const double *u, const double *ur, const double *c,
                        ptrdiff_t cs, double *w, double *wr);
void fd_taylor_rdiv_real(int d, ptrdiff_t m, const double *u, const double *ur, const double *c,
                         ptrdiff_t cs, double *w, double *wr);
void fd_taylor_pow_real(int d, ptrdiff_t m, const double *u, const double *ur, const double *c,
                        ptrdiff_t cs, double *w, double *wr, double *work);
void fd_taylor_rpow_real(int d, ptrdiff_t m, const double *u, const double *ur, const double *c,
                         ptrdiff_t cs, double *w, double *wr, double *work);

/* ---------------------------------------------------------------------------------------- */
/* Derivatives of sampled data (grid.c)                                                     */
/* ---------------------------------------------------------------------------------------- */

/*
 * y viewed as (outer, len, inner), C order, differentiated along the middle axis.  Level l of
 * FD_GRID_LEVELS is the stencil of accuracy order + 2 l: a centred window of interior[l] nodes,
 * and the first or last boundary[l] = n + order + 2 l nodes near the ends.  Level 0 is the
 * estimate; levels 1 and 2 give its error (grid.c has the model).
 */
#define FD_GRID_LEVELS 3
#define FD_GRID_MAX_WIDTH 32  /* nodes of one stencil */
#define FD_GRID_MAX_N 16      /* derivative order */
#define FD_GRID_RATIO 0.25    /* resolved: |A_1 - A_2| <= FD_GRID_RATIO |A_0 - A_1| */

typedef struct fd_grid_plan {
    ptrdiff_t outer, len, inner;
    int n;                            /* derivative order */
    int uniform;                      /* 1: spacing dx; 0: nodes x */
    double dx;
    int nlevels;                      /* levels whose stencils fit in len (1 .. FD_GRID_LEVELS) */
    int interior[FD_GRID_LEVELS];
    int boundary[FD_GRID_LEVELS];
} fd_grid_plan;

/* Fill plan; returns 0, or -1 when n, order or the widths are out of range or len < n + order. */
int fd_grid_plan_init(fd_grid_plan *plan, ptrdiff_t outer, ptrdiff_t len, ptrdiff_t inner,
                      int n, int order, int uniform, double dx);
/*
 * One pass over y (x: len nodes, or NULL for the uniform grid dx): df = level 0, and per entry
 * error = 2 (D1 + D2) + rounding with D1 = |A_0 - A_1|, D2 = |A_1 - A_2| each the max over the
 * entry and its two neighbours along the axis; status FD_INCONSISTENT where D2 > FD_GRID_RATIO
 * D1 and above rounding (under-resolved or noisy data), FD_NOT_CONVERGED where len is too
 * short for level 2, FD_NO_FINITE where the estimate is not finite; success = status >= 0
 * (0 or 1, NumPy's bool), written in the same pass.  eps: the precision of the samples.
 * work: fd_grid_work_size(plan) doubles of scratch (the rows of level differences when
 * inner > 1, up to FD_GRID_MAX_LANES lanes at a time).  Returns 0, or FD_OFFSETS_REPEATED
 * for repeated nodes.
 * [start, stop): the positions along the axis to compute, in every line: 0 and len, or a
 * range between cuts of fd_grid_cut (and 0 or len); the outputs elsewhere are not written,
 * and calls on ranges split at cuts may run in parallel (disjoint writes, y read only), with
 * results bitwise those of one call on 0, len.
 */
#define FD_GRID_MAX_LANES 4096
ptrdiff_t fd_grid_work_size(const fd_grid_plan *plan);
int fd_grid_derivative(const fd_grid_plan *plan, const double *y, const double *x, double eps,
                       double *df, double *error, signed char *status, unsigned char *success,
                       double *work, ptrdiff_t start, ptrdiff_t stop);
/* A position where [0, len) may be split for fd_grid_derivative, near `near`: a start of
 * the uniform interior's 256-position tiles along a contiguous axis (inner == 1, uniform
 * plan), at least one tile from either end piece; 0 where the plan has none. */
ptrdiff_t fd_grid_cut(const fd_grid_plan *plan, ptrdiff_t near);

/* ---------------------------------------------------------------------------------------- */
/* Colouring sparse patterns (colouring.c)                                                  */
/* ---------------------------------------------------------------------------------------- */

/*
 * Greedy distance-1 colouring (largest-first order) of the column intersection graph of an
 * nrows x ncols pattern, given both as CSC (col_ptr[ncols + 1], row_idx) and as CSR
 * (row_ptr[nrows + 1], col_idx), indices in range.  Writes colour[j] in 0 .. ncolours - 1 so
 * that no two columns of one colour share a row, and returns ncolours (0 when ncols is 0).
 * work: 4 * ncols + 1 ptrdiff_t of scratch.
 */
ptrdiff_t fd_colour_columns(ptrdiff_t nrows, ptrdiff_t ncols, const ptrdiff_t *col_ptr,
                            const ptrdiff_t *row_idx, const ptrdiff_t *row_ptr,
                            const ptrdiff_t *col_idx, ptrdiff_t *colour, ptrdiff_t *work);

/*
 * Greedy star colouring (largest-first order) of the adjacency graph of a symmetric n x n
 * pattern given as CSR (row_ptr[n + 1], col_idx; diagonal entries allowed and ignored,
 * indices in range, the pattern symmetric).  Writes colour[v] in 0 .. ncolours - 1: adjacent
 * vertices differ, and every path on four vertices uses at least three colours, so every
 * entry of H is one entry of H D (see fd_star_unique).  Returns ncolours (0 when n is 0).
 * work: 4 * n + 1 ptrdiff_t of scratch.
 */
ptrdiff_t fd_star_colour(ptrdiff_t n, const ptrdiff_t *row_ptr, const ptrdiff_t *col_idx,
                         ptrdiff_t *colour, ptrdiff_t *work);

/*
 * For every stored entry p = (i, j) of the CSR pattern: unique[p] = 1 when j is the only
 * entry of row i whose colour is colour[j] (so H[i, j] = (H D)[i, colour[j]]), else 0.  For a
 * star colouring, unique[p] or unique at the mirror entry (j, i) is 1 for every entry, and
 * unique is 1 on the diagonal.  work: 2 * n ptrdiff_t of scratch; colours in 0 .. n - 1.
 */
void fd_star_unique(ptrdiff_t n, const ptrdiff_t *row_ptr, const ptrdiff_t *col_idx,
                    const ptrdiff_t *colour, ptrdiff_t *unique, ptrdiff_t *work);

#endif /* FASTDIFF_H */
