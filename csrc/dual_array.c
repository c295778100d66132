/*
 * dual_array.c -- elementwise rules of dual_rules.def for DualArray (fastdiff/_dualarray.py).
 *
 * Design
 * ------
 * A DualArray stores its tangents "partial axis first": m rows of `count` contiguous doubles,
 * row r holding the r-th partial of every element (so one BLAS call covers every partial of
 * a matmul).  A unary rule g computes, once per element, the value f = g(x), the factors
 * f' (and f'' when the array carries second-order rows) and then scales every tangent row by
 * f': out[r * count + i] = f'(x_i) * in[r * count + i].  Binary rules only produce factors;
 * the combination of broadcast operands is NumPy's business.  The rows come from the same
 * table as dual.c, expanded here once more; the file sees doubles only and never fails.
 */
#include <math.h>
#include <stddef.h>

#include "dual_helpers.h"
#include "fastdiff.h"

#define FD_DUALARRAY_EPS 2.220446049250313080847263336181640625e-16

/* One factor loop per row: value, f' and (when d2 != NULL) f'' of count elements. */
#define FD_DUAL_UNARY(name, value, d1, d2, lo, hi, note)                                     \
    static void fd_factors1_##name(ptrdiff_t count, const double *xv, double *outv,        \
                                   double *outd, double *outdd)                            \
    {                                                                                        \
        for (ptrdiff_t i = 0; i < count; ++i) {                                              \
            const double x = xv[i];                                                          \
            const double f = (value);                                                        \
            const double g = (d1);                                                           \
            outv[i] = f;                                                                     \
            outd[i] = g;                                                                     \
            if (outdd != NULL) {                                                             \
                outdd[i] = (d2);                                                             \
            }                                                                                \
        }                                                                                    \
    }
#define FD_DUAL_BINARY(name, value, dx, dy, dxx, dxy, dyy, xlo, xhi, ylo, yhi, note)         \
    static void fd_factors2_##name(ptrdiff_t count, const double *xv, const double *yv,    \
                                   double *out[6])                                          \
    {                                                                                        \
        for (ptrdiff_t i = 0; i < count; ++i) {                                              \
            const double x = xv[i];                                                          \
            const double y = yv[i];                                                          \
            const double f = (value);                                                        \
            out[0][i] = f;                                                                   \
            out[1][i] = (dx);                                                                \
            out[2][i] = (dy);                                                                \
            if (out[3] != NULL) {                                                            \
                out[3][i] = (dxx);                                                           \
                out[4][i] = (dxy);                                                           \
                out[5][i] = (dyy);                                                           \
            }                                                                                \
        }                                                                                    \
    }
#define FD_DUAL_ALIAS(alias, name)
#include "dual_rules.def"
#undef FD_DUAL_UNARY
#undef FD_DUAL_BINARY

typedef void (*fd_factors1_fn)(ptrdiff_t, const double *, double *, double *, double *);
typedef void (*fd_factors2_fn)(ptrdiff_t, const double *, const double *, double *[6]);

#define FD_DUAL_UNARY(name, value, d1, d2, lo, hi, note) [FD_RULE_##name] = fd_factors1_##name,
#define FD_DUAL_BINARY(name, value, dx, dy, dxx, dxy, dyy, xlo, xhi, ylo, yhi, note)
static const fd_factors1_fn fd_factors1_table[FD_N_RULES] = {
#include "dual_rules.def"
};
#undef FD_DUAL_UNARY
#undef FD_DUAL_BINARY
#define FD_DUAL_UNARY(name, value, d1, d2, lo, hi, note)
#define FD_DUAL_BINARY(name, value, dx, dy, dxx, dxy, dyy, xlo, xhi, ylo, yhi, note) \
    [FD_RULE_##name] = fd_factors2_##name,
static const fd_factors2_fn fd_factors2_table[FD_N_RULES] = {
#include "dual_rules.def"
};
#undef FD_DUAL_UNARY
#undef FD_DUAL_BINARY
#undef FD_DUAL_ALIAS

/* Unary rule over count elements and m tangent rows of count each:
 * outv = f(x), outd = f'(x), outdd = f''(x) (skipped when NULL), outp[r, i] = outd[i] xp[r, i].
 * Nothing is written for a rule of another arity. */
void fd_dualarray_unary(int rule, ptrdiff_t count, ptrdiff_t m, const double *xv,
                        const double *xp, double *outv, double *outd, double *outdd,
                        double *outp)
{
    if (rule < 0 || rule >= FD_N_RULES || fd_factors1_table[rule] == NULL) {
        return;
    }
    fd_factors1_table[rule](count, xv, outv, outd, outdd);
    for (ptrdiff_t r = 0; r < m; ++r) {
        const double *src = xp + r * count;
        double *dst = outp + r * count;
        for (ptrdiff_t i = 0; i < count; ++i) {
            dst[i] = outd[i] * src[i];
        }
    }
}

/* Binary rule over count elements: out = {f, f_x, f_y, f_xx, f_xy, f_yy}, each of count
 * doubles; out[3..5] may be NULL (first order only).  Nothing is written for a unary rule. */
void fd_dualarray_binary(int rule, ptrdiff_t count, const double *xv, const double *yv,
                         double *out[6])
{
    if (rule < 0 || rule >= FD_N_RULES || fd_factors2_table[rule] == NULL) {
        return;
    }
    fd_factors2_table[rule](count, xv, yv, out);
}

/* The same unary rule on tangents stored element-major (xp[i * m + r]: a transposed view of
 * the row layout, as the unit-seeded Jacobian's tangents W^T are); outp in that layout too. */
void fd_dualarray_unary_t(int rule, ptrdiff_t count, ptrdiff_t m, const double *xv,
                          const double *xp, double *outv, double *outd, double *outp)
{
    if (rule < 0 || rule >= FD_N_RULES || fd_factors1_table[rule] == NULL) {
        return;
    }
    fd_factors1_table[rule](count, xv, outv, outd, NULL);
    for (ptrdiff_t i = 0; i < count; ++i) {
        const double g = outd[i];
        const double *src = xp + i * m;
        double *dst = outp + i * m;
        for (ptrdiff_t r = 0; r < m; ++r) {
            dst[r] = g * src[r];
        }
    }
}

/* A unary rule in the rounding bound's evaluation (fastdiff._forward._magnitudes): the m
 * tangent rows are magnitudes, the last of them (row m - 1, e) bounds the values' absolute
 * errors.  With c the factor's own rounding and u the unit of an absolute error (both given
 * by the caller, fastdiff/_dualarray.py `_unary`), rows r < m - 1 become
 *     (|f' t| + c t) + ((|f''| e) t) u        (the effect of the value's error on f')
 * and the last row (|f' e| + c e) + 2 eps |f|: the same arithmetic, in the same order, as
 * the NumPy expressions it replaces.  outdd receives f'' (for second-order rows). */
void fd_dualarray_unary_abs(int rule, ptrdiff_t count, ptrdiff_t m, const double *xv,
                            const double *xp, double c, double u, double *outv, double *outd,
                            double *outdd, double *outp)
{
    if (rule < 0 || rule >= FD_N_RULES || fd_factors1_table[rule] == NULL || m < 1) {
        return;
    }
    fd_factors1_table[rule](count, xv, outv, outd, outdd);
    const double *e = xp + (m - 1) * count;
    for (ptrdiff_t r = 0; r + 1 < m; ++r) {
        const double *src = xp + r * count;
        double *dst = outp + r * count;
        for (ptrdiff_t i = 0; i < count; ++i) {
            const double t = src[i];
            dst[i] = (fabs(outd[i] * t) + c * t) + ((fabs(outdd[i]) * e[i]) * t) * u;
        }
    }
    double *last = outp + (m - 1) * count;
    for (ptrdiff_t i = 0; i < count; ++i) {
        last[i] = (fabs(outd[i] * e[i]) + c * e[i]) + (2.0 * FD_DUALARRAY_EPS) * fabs(outv[i]);
    }
}

/* The rounding bound of a Jacobian (fastdiff._forward._rounding_bound) in one pass:
 * out[i * cols + j] = gamma * mag[i, groups[j]] + eps * |df[i, j]| for i < rows, j < cols,
 * df and mag addressed by element strides (they are transposed views), out row-major.
 * Returns how many entries of df or out are not finite. */
ptrdiff_t fd_dualarray_bound(ptrdiff_t rows, ptrdiff_t cols, const double *df, ptrdiff_t df_r,
                             ptrdiff_t df_c, const double *mag, ptrdiff_t mag_r,
                             ptrdiff_t mag_c, const ptrdiff_t *groups, double gamma,
                             double *out)
{
    ptrdiff_t bad = 0;
    for (ptrdiff_t i = 0; i < rows; ++i) {
        const double *d = df + i * df_r;
        const double *mrow = mag + i * mag_r;
        double *o = out + i * cols;
        for (ptrdiff_t j = 0; j < cols; ++j) {
            const double dij = d[j * df_c];
            const double e = gamma * mrow[groups[j] * mag_c] + FD_DUALARRAY_EPS * fabs(dij);
            o[j] = e;
            bad += !(isfinite(dij) && isfinite(e));
        }
    }
    return bad;
}
