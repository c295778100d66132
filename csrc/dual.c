/*
 * dual.c -- forward-mode dual-number arithmetic and the elementary functions of dual_rules.def.
 *
 * Design
 * ------
 * A dual number is v + sum_k p_k e_k with e_j e_k = 0.  For any smooth g,
 *     g(v + p.e) = g(v) + g'(v) p.e,
 * so every operation computes one derivative factor per element (per operand for binary
 * operations) and then scales the partials vector by it: out_p = a * x_p (+ b * y_p).  That
 * "axpby" over the trailing partials axis is the only loop over partials in this file
 * (ForwardDiff's Partials).  The factors come from the rule table dual_rules.def, expanded
 * here three times: an evaluator returning (f, f', f'') per row, a loop over elements per row,
 * and the name/note/domain arrays that Python reads.  Nesting, tags and Python objects are
 * the Cython layer's business; this file sees doubles only and never fails: domain errors give
 * inf/NaN exactly as the C library does.
 */
#include <math.h>
#include <stddef.h>

#include "fastdiff.h"

#if defined(_MSC_VER)
#include <intrin.h>
#endif

#include "dual_helpers.h"

/* ---------------------------------------------------------------------------------------- */
/* The table as arrays                                                                      */
/* ---------------------------------------------------------------------------------------- */

#define FD_DUAL_UNARY(name, value, d1, d2, lo, hi, note) #name,
#define FD_DUAL_BINARY(name, value, dx, dy, dxx, dxy, dyy, xlo, xhi, ylo, yhi, note) #name,
#define FD_DUAL_ALIAS(alias, name)
const char *const fd_dual_rule_names[] = {
#include "dual_rules.def"
};
#undef FD_DUAL_UNARY
#undef FD_DUAL_BINARY

#define FD_DUAL_UNARY(name, value, d1, d2, lo, hi, note) note,
#define FD_DUAL_BINARY(name, value, dx, dy, dxx, dxy, dyy, xlo, xhi, ylo, yhi, note) note,
const char *const fd_dual_rule_notes[] = {
#include "dual_rules.def"
};
#undef FD_DUAL_UNARY
#undef FD_DUAL_BINARY

#define FD_DUAL_UNARY(name, value, d1, d2, lo, hi, note) 1,
#define FD_DUAL_BINARY(name, value, dx, dy, dxx, dxy, dyy, xlo, xhi, ylo, yhi, note) 2,
const int fd_dual_rule_arity[] = {
#include "dual_rules.def"
};
#undef FD_DUAL_UNARY
#undef FD_DUAL_BINARY

#define FD_DUAL_UNARY(name, value, d1, d2, lo, hi, note) {lo, hi, -INFINITY, INFINITY},
#define FD_DUAL_BINARY(name, value, dx, dy, dxx, dxy, dyy, xlo, xhi, ylo, yhi, note) \
    {xlo, xhi, ylo, yhi},
const double fd_dual_rule_domain[][4] = {
#include "dual_rules.def"
};
#undef FD_DUAL_UNARY
#undef FD_DUAL_BINARY
#undef FD_DUAL_ALIAS

#define FD_DUAL_UNARY(name, value, d1, d2, lo, hi, note)
#define FD_DUAL_BINARY(name, value, dx, dy, dxx, dxy, dyy, xlo, xhi, ylo, yhi, note)
#define FD_DUAL_ALIAS(alias, name) #alias,
const char *const fd_dual_alias_names[] = {
#include "dual_rules.def"
};
#undef FD_DUAL_ALIAS
#define FD_DUAL_ALIAS(alias, name) FD_RULE_##name,
const int fd_dual_alias_rules[] = {
#include "dual_rules.def"
};
#undef FD_DUAL_UNARY
#undef FD_DUAL_BINARY
#undef FD_DUAL_ALIAS

/* ---------------------------------------------------------------------------------------- */
/* Per-row evaluators: (f, f', f'') or (f, f_x, f_y, f_xx, f_xy, f_yy) at a real point       */
/* ---------------------------------------------------------------------------------------- */

#define FD_DUAL_UNARY(name, value, d1, d2, lo, hi, note)                                     \
    static void fd_eval1_##name(double x, double out[3])                                   \
    {                                                                                        \
        const double f = (value);                                                            \
        const double g = (d1);                                                               \
        out[0] = f;                                                                          \
        out[1] = g;                                                                          \
        out[2] = (d2);                                                                       \
    }
#define FD_DUAL_BINARY(name, value, dx, dy, dxx, dxy, dyy, xlo, xhi, ylo, yhi, note)         \
    static void fd_eval2_##name(double x, double y, double out[6])                         \
    {                                                                                        \
        const double f = (value);                                                            \
        out[0] = f;                                                                          \
        out[1] = (dx);                                                                       \
        out[2] = (dy);                                                                       \
        out[3] = (dxx);                                                                      \
        out[4] = (dxy);                                                                      \
        out[5] = (dyy);                                                                      \
    }
#define FD_DUAL_ALIAS(alias, name)
#include "dual_rules.def"
#undef FD_DUAL_UNARY
#undef FD_DUAL_BINARY

/* ---------------------------------------------------------------------------------------- */
/* Per-row loops over elements: value and first derivative only                             */
/* ---------------------------------------------------------------------------------------- */

/* out[k] = a * x[k] + b * y[k] for k < n; y may be NULL (b ignored).  out may alias x or y. */
static void fd_axpby(ptrdiff_t n, double a, const double *x, double b, const double *y,
                     double *out)
{
    if (y == NULL) {
        for (ptrdiff_t k = 0; k < n; ++k) {
            out[k] = a * x[k];
        }
    } else {
        for (ptrdiff_t k = 0; k < n; ++k) {
            out[k] = a * x[k] + b * y[k];
        }
    }
}

typedef void (*fd_loop1)(ptrdiff_t, ptrdiff_t, const double *, const double *, double *,
                         double *);
typedef void (*fd_loop2)(ptrdiff_t, ptrdiff_t, const double *, const double *, const double *,
                         const double *, double *, double *);

#define FD_DUAL_UNARY(name, value, d1, d2, lo, hi, note)                                     \
    static void fd_loop1_##name(ptrdiff_t count, ptrdiff_t n, const double *xv,            \
                                const double *xp, double *outv, double *outp)              \
    {                                                                                        \
        for (ptrdiff_t i = 0; i < count; ++i) {                                              \
            const double x = xv[i];                                                          \
            const double f = (value);                                                        \
            const double g = (d1);                                                           \
            outv[i] = f;                                                                     \
            fd_axpby(n, g, xp + i * n, 0.0, NULL, outp + i * n);                             \
        }                                                                                    \
    }
#define FD_DUAL_BINARY(name, value, dx, dy, dxx, dxy, dyy, xlo, xhi, ylo, yhi, note)         \
    static void fd_loop2_##name(ptrdiff_t count, ptrdiff_t n, const double *xv,            \
                                const double *xp, const double *yv, const double *yp,      \
                                double *outv, double *outp)                                \
    {                                                                                        \
        for (ptrdiff_t i = 0; i < count; ++i) {                                              \
            const double x = xv[i];                                                          \
            const double y = yv[i];                                                          \
            const double f = (value);                                                        \
            const double gx = (dx);                                                          \
            outv[i] = f;                                                                     \
            if (xp == NULL) {                                                                \
                fd_axpby(n, (dy), yp + i * n, 0.0, NULL, outp + i * n);                      \
            } else if (yp == NULL) {                                                         \
                fd_axpby(n, gx, xp + i * n, 0.0, NULL, outp + i * n);                        \
            } else {                                                                         \
                fd_axpby(n, gx, xp + i * n, (dy), yp + i * n, outp + i * n);                 \
            }                                                                                \
        }                                                                                    \
    }
#include "dual_rules.def"
#undef FD_DUAL_UNARY
#undef FD_DUAL_BINARY

/* Dispatch tables indexed by fd_dual_rule (NULL where the arity differs). */
#define FD_DUAL_UNARY(name, value, d1, d2, lo, hi, note) [FD_RULE_##name] = fd_eval1_##name,
#define FD_DUAL_BINARY(name, value, dx, dy, dxx, dxy, dyy, xlo, xhi, ylo, yhi, note)
static void (*const fd_eval1_table[FD_N_RULES])(double, double *) = {
#include "dual_rules.def"
};
#undef FD_DUAL_UNARY
#undef FD_DUAL_BINARY
#define FD_DUAL_UNARY(name, value, d1, d2, lo, hi, note) [FD_RULE_##name] = fd_loop1_##name,
#define FD_DUAL_BINARY(name, value, dx, dy, dxx, dxy, dyy, xlo, xhi, ylo, yhi, note)
static const fd_loop1 fd_loop1_table[FD_N_RULES] = {
#include "dual_rules.def"
};
#undef FD_DUAL_UNARY
#undef FD_DUAL_BINARY
#define FD_DUAL_UNARY(name, value, d1, d2, lo, hi, note)
#define FD_DUAL_BINARY(name, value, dx, dy, dxx, dxy, dyy, xlo, xhi, ylo, yhi, note) \
    [FD_RULE_##name] = fd_eval2_##name,
static void (*const fd_eval2_table[FD_N_RULES])(double, double, double *) = {
#include "dual_rules.def"
};
#undef FD_DUAL_BINARY
#define FD_DUAL_BINARY(name, value, dx, dy, dxx, dxy, dyy, xlo, xhi, ylo, yhi, note) \
    [FD_RULE_##name] = fd_loop2_##name,
static const fd_loop2 fd_loop2_table[FD_N_RULES] = {
#include "dual_rules.def"
};
#undef FD_DUAL_UNARY
#undef FD_DUAL_BINARY
#undef FD_DUAL_ALIAS

/* ---------------------------------------------------------------------------------------- */
/* Public entry points                                                                      */
/* ---------------------------------------------------------------------------------------- */

/* (f, f', f'') of a unary rule at x; NaNs for a rule of another arity. */
void fd_dual_rule_eval1(int rule, double x, double out[3])
{
    if (rule >= 0 && rule < FD_N_RULES && fd_eval1_table[rule] != NULL) {
        fd_eval1_table[rule](x, out);
    } else {
        out[0] = out[1] = out[2] = NAN;
    }
}

/* (f, f_x, f_y, f_xx, f_xy, f_yy) of a binary rule at (x, y); NaNs for another arity. */
void fd_dual_rule_eval2(int rule, double x, double y, double out[6])
{
    if (rule >= 0 && rule < FD_N_RULES && fd_eval2_table[rule] != NULL) {
        fd_eval2_table[rule](x, y, out);
    } else {
        out[0] = out[1] = out[2] = out[3] = out[4] = out[5] = NAN;
    }
}

/* Elementwise unary rule over (count, n) partials; does nothing for a binary rule. */
void fd_dual_apply1(int rule, ptrdiff_t count, ptrdiff_t n, const double *xv, const double *xp,
                    double *outv, double *outp)
{
    if (rule >= 0 && rule < FD_N_RULES && fd_loop1_table[rule] != NULL) {
        fd_loop1_table[rule](count, n, xv, xp, outv, outp);
    }
}

/* Elementwise binary rule; xp or yp (not both) may be NULL for a real operand. */
void fd_dual_apply2(int rule, ptrdiff_t count, ptrdiff_t n, const double *xv, const double *xp,
                    const double *yv, const double *yp, double *outv, double *outp)
{
    if (rule >= 0 && rule < FD_N_RULES && fd_loop2_table[rule] != NULL) {
        fd_loop2_table[rule](count, n, xv, xp, yv, yp, outv, outp);
    }
}

void fd_dual_unary(int rule, const fd_dual *x, fd_dual *out)
{
    fd_dual_apply1(rule, 1, x->npartials, &x->value, x->partials, &out->value, out->partials);
    out->tag = x->tag;
}

void fd_dual_binary(int rule, const fd_dual *x, double xr, const fd_dual *y, double yr,
                    fd_dual *out)
{
    const double xv = (x != NULL) ? x->value : xr;
    const double yv = (y != NULL) ? y->value : yr;
    const fd_dual *d = (x != NULL) ? x : y;
    fd_dual_apply2(rule, 1, d->npartials, &xv, (x != NULL) ? x->partials : NULL, &yv,
                   (y != NULL) ? y->partials : NULL, &out->value, out->partials);
    out->tag = d->tag;
}

/* The tag counter: an atomic increment, so threads never draw the same tag (relaxed order:
 * only uniqueness and per-thread monotonicity matter, and the increment gives both). */
static unsigned long long fd_tag_counter = 0;

unsigned long long fd_dual_new_tag(void)
{
#if defined(_MSC_VER)
    return (unsigned long long)_InterlockedIncrement64((volatile __int64 *)&fd_tag_counter);
#else
    return __atomic_add_fetch(&fd_tag_counter, 1ULL, __ATOMIC_RELAXED);
#endif
}

/* (x + y)' = x' + y' */
void fd_dual_add(const fd_dual *x, const fd_dual *y, fd_dual *out)
{
    fd_axpby(x->npartials, 1.0, x->partials, 1.0, y->partials, out->partials);
    out->value = x->value + y->value;
    out->tag = x->tag;
}

/* (x - y)' = x' - y' */
void fd_dual_sub(const fd_dual *x, const fd_dual *y, fd_dual *out)
{
    fd_axpby(x->npartials, 1.0, x->partials, -1.0, y->partials, out->partials);
    out->value = x->value - y->value;
    out->tag = x->tag;
}

/* (x y)' = y x' + x y' */
void fd_dual_mul(const fd_dual *x, const fd_dual *y, fd_dual *out)
{
    const double xv = x->value, yv = y->value;
    fd_axpby(x->npartials, yv, x->partials, xv, y->partials, out->partials);
    out->value = xv * yv;
    out->tag = x->tag;
}

/* (x / y)' = (x' - q y') / y with q = x / y: one division per element, not two. */
void fd_dual_div(const fd_dual *x, const fd_dual *y, fd_dual *out)
{
    const double yv = y->value;
    const double q = x->value / yv;
    const double r = 1.0 / yv;
    fd_axpby(x->npartials, r, x->partials, -q * r, y->partials, out->partials);
    out->value = q;
    out->tag = x->tag;
}

void fd_dual_pow(const fd_dual *x, const fd_dual *y, fd_dual *out)
{
    fd_dual_binary(FD_RULE_power, x, 0.0, y, 0.0, out);
}

void fd_dual_add_real(const fd_dual *x, double c, fd_dual *out)
{
    fd_axpby(x->npartials, 1.0, x->partials, 0.0, NULL, out->partials);
    out->value = x->value + c;
    out->tag = x->tag;
}

void fd_dual_rsub_real(const fd_dual *x, double c, fd_dual *out)
{
    fd_axpby(x->npartials, -1.0, x->partials, 0.0, NULL, out->partials);
    out->value = c - x->value;
    out->tag = x->tag;
}

void fd_dual_mul_real(const fd_dual *x, double c, fd_dual *out)
{
    fd_axpby(x->npartials, c, x->partials, 0.0, NULL, out->partials);
    out->value = x->value * c;
    out->tag = x->tag;
}

void fd_dual_div_real(const fd_dual *x, double c, fd_dual *out)
{
    fd_axpby(x->npartials, 1.0 / c, x->partials, 0.0, NULL, out->partials);
    out->value = x->value / c;
    out->tag = x->tag;
}

/* (c / x)' = -(c / x) x' / x */
void fd_dual_rdiv_real(const fd_dual *x, double c, fd_dual *out)
{
    const double q = c / x->value;
    fd_axpby(x->npartials, -q / x->value, x->partials, 0.0, NULL, out->partials);
    out->value = q;
    out->tag = x->tag;
}

/* (x**c)' = c x**(c-1) x', with d/dx x**0 = 0 (the power row's convention, also at x = 0). */
void fd_dual_pow_real(const fd_dual *x, double c, fd_dual *out)
{
    const double xv = x->value;
    double a, v;
    if (c == 0.0) {
        a = 0.0;
        v = 1.0;
    } else if (c >= 1.0 && c <= 8.0 && c == (double)(int)c) {
        /* small positive integer powers by multiplication: x^k and k x^(k-1), as exact as
         * pow() (at most k - 1 roundings) and several times faster on the scalar path */
        const int k = (int)c;
        double p = 1.0;
        for (int i = 1; i < k; ++i) p *= xv;
        a = c * p;
        v = p * xv;
    } else {
        a = c * pow(xv, c - 1.0);
        v = pow(xv, c);
    }
    fd_axpby(x->npartials, a, x->partials, 0.0, NULL, out->partials);
    out->value = v;
    out->tag = x->tag;
}

/* (c**x)' = c**x log(c) x', with d/dx 0**x = 0 for x > 0. */
void fd_dual_rpow_real(const fd_dual *x, double c, fd_dual *out)
{
    fd_dual_binary(FD_RULE_power, NULL, c, x, 0.0, out);
}
