/*
 * dual_helpers.h -- the constants and helper functions that the expressions of dual_rules.def
 * name (fd_expit, fd_softplus, fd_logaddexp, FD_LN2, FD_LN10, FD_2_SQRTPI).  Private to csrc/:
 * every file that expands the table (dual.c, dual_array.c) or follows it (taylor.c) includes
 * this one definition.  Not part of the C API (fastdiff.h).
 */
#ifndef FASTDIFF_DUAL_HELPERS_H
#define FASTDIFF_DUAL_HELPERS_H

#include <math.h>

#define FD_LN2 0.693147180559945309417232121458176568
#define FD_LN10 2.30258509299404568401799145468436421
#define FD_2_SQRTPI 1.12837916709551257389615890312154517 /* 2 / sqrt(pi) */

/* 1 / (1 + exp(-x)) without overflow: exp of a non-positive number only. */
static inline double fd_expit(double x)
{
    if (x >= 0.0) {
        return 1.0 / (1.0 + exp(-x));
    }
    const double e = exp(x);
    return e / (1.0 + e);
}

/* log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)), exact to rounding for all x. */
static inline double fd_softplus(double x)
{
    if (x != x) {
        return x;
    }
    return fmax(x, 0.0) + log1p(exp(-fabs(x)));
}

/* log(exp(x) + exp(y)) = max + log1p(exp(-|x - y|)); equal infinities return themselves. */
static inline double fd_logaddexp(double x, double y)
{
    if (x == y) {
        return x + FD_LN2;
    }
    const double d = x - y;
    if (d > 0.0) {
        return x + log1p(exp(-d));
    }
    if (d <= 0.0) {
        return y + log1p(exp(d));
    }
    return d; /* NaN */
}

#endif /* FASTDIFF_DUAL_HELPERS_H */
