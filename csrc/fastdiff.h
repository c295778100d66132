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

#endif /* FASTDIFF_H */
