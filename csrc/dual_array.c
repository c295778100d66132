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

/* 1 if any of o[0 .. n) is inf or NaN: (x - x) is 0 for a finite x, NaN otherwise, summed in
 * four independent sums (one running sum waits on the adder's latency at every entry). */
static int fd_row_nonfinite(const double *o, ptrdiff_t n)
{
    double p0 = 0.0, p1 = 0.0, p2 = 0.0, p3 = 0.0;
    ptrdiff_t j = 0;
    for (; j + 4 <= n; j += 4) {
        p0 += o[j] - o[j];
        p1 += o[j + 1] - o[j + 1];
        p2 += o[j + 2] - o[j + 2];
        p3 += o[j + 3] - o[j + 3];
    }
    for (; j < n; ++j) {
        p0 += o[j] - o[j];
    }
    return (p0 + p1) + (p2 + p3) != 0.0;
}

/* The rounding bound of a Jacobian (fastdiff._forward._rounding_bound) in one pass:
 * out[i * cols + j] = gamma * mag[i, groups[j]] + eps * |df[i, j]| for i < rows, j < cols,
 * df and mag addressed by element strides (they are transposed views), out row-major.
 * Returns how many entries of df or out are not finite.  An entry of out is not finite
 * wherever its df is not (eps |inf| is inf, and inf or NaN plus anything is inf or NaN), so
 * counting out's entries counts both; each row is written first and then checked in one
 * pass (measured at 100 x 100 against one loop that also summed the probes: 11.5 us against
 * 15 us, min of 8 runs of 2000). */
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
            o[j] = gamma * mrow[groups[j] * mag_c] + FD_DUALARRAY_EPS * fabs(d[j * df_c]);
        }
        if (fd_row_nonfinite(o, cols)) { /* count this row's entries one by one */
            for (ptrdiff_t j = 0; j < cols; ++j) {
                bad += !isfinite(o[j]);
            }
        }
    }
    return bad;
}

/* A @ x in the rounding bound's evaluation (fastdiff/_dualarray.py `_matmul`) for a constant
 * A (p x q, element strides ar, ac) and x the group-seeded DualArray of `_magnitudes`: its
 * g magnitude rows are the indicators of `groups` (row r is 1 where groups[j] == r, else 0)
 * and its error row is 0.  The product's magnitude rows |A| t are then group sums,
 *     out[r * p + i] = sum over j with groups[j] == r of |A[i, j]|,
 * with no product at all (1 * |a| is |a|), and its error row 0 * sum |A[i, j]| (0, or NaN
 * where a row of A holds inf or NaN, as the GEMM over the zero row gives) plus this
 * product's own rounding c * sum_j |A[i, j]| |x_j| (c = (q + 1) eps, `_value_errors`).  One
 * pass over A, four rows at a time (independent sums, so the adder's latency overlaps);
 * each sum runs over j in order.  `groups` is nondecreasing (contiguous groups). */
void fd_dualarray_group_matvec_abs(ptrdiff_t p, ptrdiff_t q, const double *a, ptrdiff_t ar,
                                   ptrdiff_t ac, const double *absx, const ptrdiff_t *groups,
                                   ptrdiff_t g, double c, double *out)
{
    for (ptrdiff_t r = 0; r < g; ++r) {
        for (ptrdiff_t i = 0; i < p; ++i) {
            out[r * p + i] = 0.0;
        }
    }
    double *err = out + g * p;
    if (q == 0) { /* (a may be NULL: no row pointers into it) */
        for (ptrdiff_t i = 0; i < p; ++i) {
            err[i] = 0.0 + c * 0.0;
        }
        return;
    }
    ptrdiff_t i = 0;
    for (; i + 4 <= p; i += 4) {
        const double *a0 = a + i * ar, *a1 = a0 + ar, *a2 = a1 + ar, *a3 = a2 + ar;
        double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0; /* |A| |x| */
        double z0 = 0.0, z1 = 0.0, z2 = 0.0, z3 = 0.0; /* the zero row times |A| */
        ptrdiff_t j = 0;
        while (j < q) {
            const ptrdiff_t r = groups[j];
            double g0 = 0.0, g1 = 0.0, g2 = 0.0, g3 = 0.0;
            for (; j < q && groups[j] == r; ++j) {
                const double b0 = fabs(a0[j * ac]), b1 = fabs(a1[j * ac]);
                const double b2 = fabs(a2[j * ac]), b3 = fabs(a3[j * ac]);
                const double xj = absx[j];
                g0 += b0, g1 += b1, g2 += b2, g3 += b3;
                s0 += b0 * xj, s1 += b1 * xj, s2 += b2 * xj, s3 += b3 * xj;
                z0 += 0.0 * b0, z1 += 0.0 * b1, z2 += 0.0 * b2, z3 += 0.0 * b3;
            }
            double *o = out + r * p + i;
            o[0] += g0, o[1] += g1, o[2] += g2, o[3] += g3;
        }
        err[i] = z0 + c * s0, err[i + 1] = z1 + c * s1;
        err[i + 2] = z2 + c * s2, err[i + 3] = z3 + c * s3;
    }
    for (; i < p; ++i) {
        const double *a0 = a + i * ar;
        double s0 = 0.0, z0 = 0.0;
        for (ptrdiff_t j = 0; j < q; ++j) {
            const double b0 = fabs(a0[j * ac]);
            out[groups[j] * p + i] += b0;
            s0 += b0 * absx[j];
            z0 += 0.0 * b0;
        }
        err[i] = z0 + c * s0;
    }
}

/* Row r of a tangent array: rows of count contiguous doubles, ld doubles apart. */
#define FD_ROW(p, ld, r) ((p) + (r) * (ld))

/* One tangent row of fd_dualarray_arith: o = the op's linear part on rows ta, tb (either may
 * be NULL: a constant operand); a and b at strides as, bs (0: a scalar); v the results.
 * Each case is its own loop, so that the compiler can vectorise it. */
static void fd_arith_row(int op, int absmode, ptrdiff_t count, const double *av, ptrdiff_t as,
                         const double *bv, ptrdiff_t bs, const double *v, const double *ta,
                         const double *tb, double *o)
{
    switch (op) {
    case FD_ARITH_ADD:
    case FD_ARITH_SUB:
        if (ta != NULL && tb != NULL) {
            if (op == FD_ARITH_ADD || absmode) { /* magnitudes add */
                for (ptrdiff_t i = 0; i < count; ++i) o[i] = ta[i] + tb[i];
            } else {
                for (ptrdiff_t i = 0; i < count; ++i) o[i] = ta[i] - tb[i];
            }
        } else if (ta != NULL) {
            for (ptrdiff_t i = 0; i < count; ++i) o[i] = ta[i];
        } else if (op == FD_ARITH_ADD || absmode) {
            for (ptrdiff_t i = 0; i < count; ++i) o[i] = tb[i];
        } else {
            for (ptrdiff_t i = 0; i < count; ++i) o[i] = -tb[i];
        }
        break;
    case FD_ARITH_MUL:
        if (absmode) {
            if (ta != NULL && tb != NULL) {
                for (ptrdiff_t i = 0; i < count; ++i)
                    o[i] = fabs(bv[i * bs]) * ta[i] + fabs(av[i * as]) * tb[i];
            } else if (ta != NULL) {
                for (ptrdiff_t i = 0; i < count; ++i) o[i] = fabs(bv[i * bs]) * ta[i];
            } else {
                for (ptrdiff_t i = 0; i < count; ++i) o[i] = fabs(av[i * as]) * tb[i];
            }
        } else if (ta != NULL && tb != NULL) {
            for (ptrdiff_t i = 0; i < count; ++i) o[i] = bv[i * bs] * ta[i] + av[i * as] * tb[i];
        } else if (ta != NULL) {
            for (ptrdiff_t i = 0; i < count; ++i) o[i] = bv[i * bs] * ta[i];
        } else {
            for (ptrdiff_t i = 0; i < count; ++i) o[i] = av[i * as] * tb[i];
        }
        break;
    case FD_ARITH_SQUARE:
        if (absmode) {
            for (ptrdiff_t i = 0; i < count; ++i) o[i] = (2.0 * fabs(av[i * as])) * ta[i];
        } else {
            for (ptrdiff_t i = 0; i < count; ++i) o[i] = (2.0 * av[i * as]) * ta[i];
        }
        break;
    default: /* DIV: q = v = a / b */
        for (ptrdiff_t i = 0; i < count; ++i) {
            const double b = absmode ? fabs(bv[i * bs]) : bv[i * bs];
            const double q = absmode ? fabs(v[i]) : v[i];
            if (tb == NULL) {
                o[i] = ta[i] / b;
            } else if (ta == NULL) {
                o[i] = ((absmode ? q : -q) / b) * tb[i];
            } else {
                const double qt = q * tb[i];
                o[i] = (absmode ? ta[i] + qt : ta[i] - qt) / b;
            }
        }
        break;
    }
}

/* Elementwise arithmetic of DualArrays in one pass (fastdiff/_dualarray.py `_arith`): the
 * same expressions, in the same order, as the NumPy code of `_binop_core`/`_square` and the
 * bound's `_binop` step they replace, on operands of one shape.  a and b are values (stride
 * as/bs: 1 for an array, 0 for a scalar) with tangents at/bt (m rows, row strides lda/ldb;
 * NULL for a constant operand).  k first-order rows; with `second` rows k .. k + k*k hold
 * the second-order terms (row k + i k + j along directions i and j).  With `absmode` (the
 * rounding bound's evaluation) the rows are magnitudes and the last one (m - 1) bounds the
 * values' absolute errors: each operation adds eps |v| to it and, where a factor depends on
 * an operand's value, the effect of that operand's error on the other rows, in units u.
 *   ADD/SUB  t = at +- bt                      (absmode: at + bt)
 *   MUL      t = b at + a bt (+ a_i b_j + b_i a_j in the second-order rows)
 *   DIV      t = (at - q bt) / b, q = a / b    (first order when b has tangents)
 *   SQUARE   t = 2 a at (+ 2 a_i a_j)
 * A missing operand's terms are left out (never multiplied by zero: a constant's factor can
 * be inf where it is not needed).  outt has m rows of count, contiguous. */
void fd_dualarray_arith(int op, ptrdiff_t count, ptrdiff_t m, ptrdiff_t k, int second,
                        int absmode, const double *av, ptrdiff_t as, const double *at,
                        ptrdiff_t lda, const double *bv, ptrdiff_t bs, const double *bt,
                        ptrdiff_t ldb, double u, double *outv, double *outt)
{
    const double eps = FD_DUALARRAY_EPS;
    const ptrdiff_t mr = absmode ? m - 1 : m; /* rows other than the error row */
    if (op == FD_ARITH_SQUARE) {
        bv = av;
        bs = as;
    }
    for (ptrdiff_t i = 0; i < count; ++i) {
        const double a = av[i * as], b = bv[i * bs];
        switch (op) {
        case FD_ARITH_ADD: outv[i] = a + b; break;
        case FD_ARITH_SUB: outv[i] = a - b; break;
        case FD_ARITH_MUL:
        case FD_ARITH_SQUARE: outv[i] = a * b; break;
        default: outv[i] = a / b; break;
        }
    }
    /* Where the linear part has no per-element factor (+, -, and products with a scalar) and
     * the tangent rows are contiguous, the m rows are one row of m * count: one loop, the
     * same operations on every element (small arrays with many rows: the Hessian's). */
    const int contiguous = (at == NULL || lda == count) && (bt == NULL || ldb == count);
    const int no_factor = op == FD_ARITH_ADD || op == FD_ARITH_SUB ||
                          (op == FD_ARITH_MUL && ((bt == NULL && bs == 0) || (at == NULL && as == 0)));
    if (contiguous && no_factor) {
        fd_arith_row(op, absmode, count * m, av, as, bv, bs, outv, at, bt, outt);
    } else {
        for (ptrdiff_t r = 0; r < m; ++r) {
            fd_arith_row(op, absmode, count, av, as, bv, bs, outv,
                         at != NULL ? FD_ROW(at, lda, r) : NULL,
                         bt != NULL ? FD_ROW(bt, ldb, r) : NULL, FD_ROW(outt, count, r));
        }
    }
    if (second && (op == FD_ARITH_SQUARE || (op == FD_ARITH_MUL && at != NULL && bt != NULL))) {
        /* rows (p, q) and (q, p) gain the same term (a_p a_q = a_q a_p, and
         * a_p b_q + b_p a_q = a_q b_p + b_q a_p, both exactly): formed once for q >= p and
         * added to each row, the same bits as forming it twice */
        for (ptrdiff_t p = 0; p < k; ++p) {
            for (ptrdiff_t q = p; q < k; ++q) {
                const double *ap = FD_ROW(at, lda, p), *aq = FD_ROW(at, lda, q);
                double *o = FD_ROW(outt, count, k + p * k + q);
                double *o2 = FD_ROW(outt, count, k + q * k + p);
                if (op == FD_ARITH_SQUARE && q == p) {
                    for (ptrdiff_t i = 0; i < count; ++i) {
                        o[i] += 2.0 * (ap[i] * aq[i]);
                    }
                } else if (op == FD_ARITH_SQUARE) {
                    for (ptrdiff_t i = 0; i < count; ++i) {
                        const double g = 2.0 * (ap[i] * aq[i]);
                        o[i] += g;
                        o2[i] += g;
                    }
                } else if (q == p) {
                    const double *bp = FD_ROW(bt, ldb, p);
                    for (ptrdiff_t i = 0; i < count; ++i) {
                        o[i] += ap[i] * bp[i] + bp[i] * ap[i];
                    }
                } else {
                    const double *bp = FD_ROW(bt, ldb, p), *bq = FD_ROW(bt, ldb, q);
                    for (ptrdiff_t i = 0; i < count; ++i) {
                        const double g = ap[i] * bq[i] + bp[i] * aq[i];
                        o[i] += g;
                        o2[i] += g;
                    }
                }
            }
        }
    }
    if (!absmode) {
        return;
    }
    double *err = FD_ROW(outt, count, m - 1);
    for (ptrdiff_t i = 0; i < count; ++i) {
        err[i] += eps * fabs(outv[i]);
    }
    /* the effect of the operands' value errors ea, eb on the factors of the other rows */
    const double *ea = at != NULL ? FD_ROW(at, lda, m - 1) : NULL;
    const double *eb = bt != NULL ? FD_ROW(bt, ldb, m - 1) : NULL;
    if (op == FD_ARITH_MUL && ea != NULL && eb != NULL) {
        for (ptrdiff_t r = 0; r < mr; ++r) {
            const double *ta = FD_ROW(at, lda, r), *tb = FD_ROW(bt, ldb, r);
            double *o = FD_ROW(outt, count, r);
            for (ptrdiff_t i = 0; i < count; ++i) {
                o[i] += (eb[i] * ta[i] + ea[i] * tb[i]) * u;
            }
        }
    } else if (op == FD_ARITH_SQUARE) {
        for (ptrdiff_t r = 0; r < mr; ++r) {
            const double *ta = FD_ROW(at, lda, r);
            double *o = FD_ROW(outt, count, r);
            for (ptrdiff_t i = 0; i < count; ++i) {
                const double half = ea[i] * ta[i];
                o[i] += (half + half) * u;
            }
        }
    } else if (op == FD_ARITH_DIV && eb != NULL) {
        /* x / y: x' / y - (q / y) y', 1 / y and q / y off by the values' errors */
        for (ptrdiff_t r = 0; r < mr; ++r) {
            const double *ta = ea != NULL ? FD_ROW(at, lda, r) : NULL;
            const double *tb = FD_ROW(bt, ldb, r);
            double *o = FD_ROW(outt, count, r);
            for (ptrdiff_t i = 0; i < count; ++i) {
                const double y = fabs(bv[i * bs]);
                const double ex = ea != NULL ? ea[i] : 0.0;
                const double first = (eb[i] / (y * y)) * (ta != NULL ? ta[i] : 0.0);
                const double eff = first + ((ex + (2.0 * fabs(outv[i])) * eb[i]) / (y * y)) * tb[i];
                o[i] += eff * u;
            }
        }
    }
}

/* The second-order terms of a unary rule (fastdiff/_dualarray.py `_unary`), in place:
 * outp[(k + p k + q) count + i] += g_i (xp[p count + i] xp[q count + i]) for p, q < k, with
 * g = f'' (or |f''| with `absmode`, magnitudes); xp's first k rows (row stride ldx) are the
 * first-order tangents of the operand, outp the result's rows (count apart). */
void fd_dualarray_unary_second(ptrdiff_t count, ptrdiff_t k, int absmode, const double *dd,
                               const double *xp, ptrdiff_t ldx, double *outp)
{
    for (ptrdiff_t p = 0; p < k; ++p) {
        const double *tp = xp + p * ldx;
        for (ptrdiff_t q = 0; q < k; ++q) {
            const double *tq = xp + q * ldx;
            double *o = outp + (k + p * k + q) * count;
            if (absmode) {
                for (ptrdiff_t i = 0; i < count; ++i) o[i] += fabs(dd[i]) * (tp[i] * tq[i]);
            } else {
                for (ptrdiff_t i = 0; i < count; ++i) o[i] += dd[i] * (tp[i] * tq[i]);
            }
        }
    }
}

/* NumPy's pairwise summation of n doubles (|a_i| with `absval`), in NumPy's order, so that a
 * DualArray's sums are bitwise those of np.sum on the same rows: below 8 terms one running
 * sum; up to 128 eight running sums combined as ((r0 + r1) + (r2 + r3)) + ((r4 + r5) +
 * (r6 + r7)), the rest added in turn; beyond, the two halves (split at a multiple of 8)
 * summed apart (NumPy 1.9+, numpy/_core/src/umath/loops_utils.h.src, pairwise_sum; the
 * reduction starts from add's identity 0, so -0 sums to +0 as np.sum gives). */
static double fd_pairwise_sum(const double *a, ptrdiff_t n, int absval)
{
    if (n < 8) {
        double res = 0.0;
        for (ptrdiff_t i = 0; i < n; ++i) {
            res += absval ? fabs(a[i]) : a[i];
        }
        return res;
    }
    if (n <= 128) {
        double r[8];
        ptrdiff_t i;
        for (int j = 0; j < 8; ++j) {
            r[j] = absval ? fabs(a[j]) : a[j];
        }
        for (i = 8; i < n - (n % 8); i += 8) {
            for (int j = 0; j < 8; ++j) {
                r[j] += absval ? fabs(a[i + j]) : a[i + j];
            }
        }
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; ++i) {
            res += absval ? fabs(a[i]) : a[i];
        }
        return res;
    }
    ptrdiff_t n2 = n / 2;
    n2 -= n2 % 8;
    return fd_pairwise_sum(a, n2, absval) + fd_pairwise_sum(a + n2, n - n2, absval);
}

/* The sum of every element of a DualArray (fastdiff/_dualarray.py `_sum` with axis=None):
 * outv[0] = sum v, outt[r] = sum of tangent row r (rows ldt apart) for r < m, each as np.sum
 * computes it.  With err_row >= 0 (the rounding bound's evaluation) that row also gains
 * (count eps) sum |v|, the rounding of the sum (recursive summation: count - 1 roundings). */
void fd_dualarray_sum(ptrdiff_t count, ptrdiff_t m, const double *v, const double *t,
                      ptrdiff_t ldt, ptrdiff_t err_row, double *outv, double *outt)
{
    outv[0] = 0.0 + fd_pairwise_sum(v, count, 0);
    for (ptrdiff_t r = 0; r < m; ++r) {
        outt[r] = 0.0 + fd_pairwise_sum(t + r * ldt, count, 0);
    }
    if (err_row >= 0 && err_row < m) {
        outt[err_row] += ((double)count * FD_DUALARRAY_EPS) * (0.0 + fd_pairwise_sum(v, count, 1));
    }
}

/* The Hessian's last step (fastdiff._forward.dual_hessian) in one pass over n x n entries:
 * h = (H + H^T) / 2 (H at row stride ldh; exactly symmetric: both halves are the same sum)
 * and its rounding bound out[i, j] = gamma * |mag[groups[i] * g + groups[j]]| + eps |h[i, j]|,
 * the same arithmetic as the NumPy expressions `0.5 * (H + H.T)` and `fd_dualarray_bound` on
 * |mag|'s rows by group (mag: the magnitude rows as f returned them, or their absolute values
 * already; fabs is exact either way).  Returns how many entries of h or out are not finite. */
ptrdiff_t fd_dualarray_hessian_bound(ptrdiff_t n, const double *hess, ptrdiff_t ldh,
                                     const double *mag, ptrdiff_t g, const ptrdiff_t *groups,
                                     double gamma, double *outh, double *out)
{
    ptrdiff_t bad = 0;
    for (ptrdiff_t i = 0; i < n; ++i) {
        const double *mrow = mag + groups[i] * g;
        for (ptrdiff_t j = 0; j < n; ++j) {
            const double hij = 0.5 * (hess[i * ldh + j] + hess[j * ldh + i]);
            const double e = gamma * fabs(mrow[groups[j]]) + FD_DUALARRAY_EPS * fabs(hij);
            outh[i * n + j] = hij;
            out[i * n + j] = e;
            bad += !(isfinite(hij) && isfinite(e));
        }
    }
    return bad;
}
