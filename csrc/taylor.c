/*
 * taylor.c -- univariate Taylor arithmetic for every rule of dual_rules.def, with rounding
 * radii (Taylor mode: derivative(f, x, n, method="dual") for any n).
 *
 * Design
 * ------
 * A Taylor number of degree d is the truncated series u(t) = sum_k u_k t^k (u_k = u^(k)/k!)
 * of one quantity along x(t) = x + t.  Elementwise over m points it is stored coefficient-major:
 * coefficient k of element i at u[k*m + i], so one call runs one C loop over the whole array.
 * Products and the common rules (fd_lanes_rule: exp, sin/cos, sinh/cosh, tan/tanh, sqrt, the
 * logarithms and inverse functions) loop coefficient-outer over all elements, so the compiler
 * vectorises across elements; the other rules run per element on strided series (FD_REC1).
 * Every coefficient carries a radius ur[k*m + i] >= 0 bounding its absolute error (ball
 * arithmetic): each operation propagates the radii of its inputs to first order and adds its
 * own rounding, so the radius of the last coefficient bounds the true error of the derivative.
 *
 * The recurrences are those of Griewank & Walther, Evaluating Derivatives, 2nd ed., ch. 13:
 *   products    w_k = sum_{j=0}^{k} u_j v_{k-j}
 *   quotients   w_k = (u_k - sum_{j=0}^{k-1} w_j v_{k-j}) / v_0
 *   w' = g(u) u' (exp, sin/cos pairs, tan, erf, expit, ...): the integration formula
 *               w_k = (1/k) sum_{j=1}^{k} j u_j g_{k-j},
 *     with the series of g = f'(u) built alongside (g = w for exp, the cosine for sin, ...);
 *   w' q = a u' (log, sqrt, arctan, arcsin, ...): the division formula
 *               w_k = (a u_k - (1/k) sum_{j=1}^{k-1} j w_j q_{k-j}) / q_0 ;
 *   w = u^r    k u_0 w_k = sum_{j=1}^{k} ((r + 1) j - k) u_j w_{k-j}.
 * Coefficient 0 and f'(u_0) come from the rule table (fd_dual_rule_eval1/2), so the values are
 * the same as Dual's.  Each row of dual_rules.def has its recurrence fd_tr_<name> here, listed
 * in the companion table taylor_rules.def and checked at compile time below.
 *
 * Kinks (abs, relu, maximum, minimum, hypot at the origin): where the argument's value is
 * exactly 0, the first nonzero coefficient u_m decides.  m even: the argument does not change
 * sign, the function is smooth along x(t) and the series is exact.  m odd: a true kink, and the
 * convention of the table extends to every coefficient: abs, relu and hypot give 0 (abs'(0) =
 * 0, relu'(0) = 0), maximum and minimum the mean of both sides (ties 1/2 each).  Where the sign
 * cannot be decided within the radii, the radius covers both choices.
 *
 * Rounding model: every libm value and table expression is within FD_TAYLOR_ULPS ulps; each
 * elementary operation rounds by at most eps = 2^-52 relative (twice the unit roundoff, for
 * slack).  This file sees doubles only, never allocates and never fails: domain errors give
 * inf/NaN values or infinite radii, which the caller reports as untrusted.
 */
#include <math.h>
#include <stddef.h>

#include "fastdiff.h"
#include "dual_helpers.h"

#define FD_EPS 2.220446049250313080847263336181640625e-16
#define FD_TAYLOR_ULPS 8.0
#define FD_TAYLOR_POW_INT 64.0 /* integer exponents up to this use products */

/* A series of one element: coefficient k at c[k*s], its radius at r[k*s]. */
typedef struct fd_ser {
    double *c;
    double *r;
} fd_ser;

/* Scratch series b of one element: work holds nwork pairs of (d+1)*m blocks. */
static fd_ser fd_aux(double *work, ptrdiff_t bs, int b)
{
    fd_ser out;
    out.c = work + (ptrdiff_t)(2 * b) * bs;
    out.r = work + (ptrdiff_t)(2 * b + 1) * bs;
    return out;
}

/* |a| * r, with 0 for r == 0 whatever a is (an exact input carries no error). */
static double fd_prop(double a, double r)
{
    return r > 0.0 ? fabs(a) * r : 0.0;
}

/*
 * sum_{j=lo}^{hi} (alpha j + beta) a_j b_{k-j} and its radius: the inputs' radii to first
 * order (plus their product), and the rounding of the weights, products and the sum.
 */
static double fd_conv(const double *a, const double *ar, const double *b, const double *br,
                      ptrdiff_t s, int k, int lo, int hi, double alpha, double beta, double *rad)
{
    /* branch-free: an infinite coefficient gives a NaN radius, and is untrusted anyway */
    double sum = 0.0, mag = 0.0, err = 0.0;
    const double aa = fabs(alpha), ab = fabs(beta);
    for (int j = lo; j <= hi; ++j) {
        const double wt = alpha * j + beta;
        const double x = a[j * s], y = b[(k - j) * s];
        const double rx = ar[j * s], ry = br[(k - j) * s];
        const double awt = fabs(wt);
        sum += wt * x * y;
        mag += (awt + aa * j + ab) * fabs(x * y);
        err += awt * (fabs(x) * ry + (fabs(y) + ry) * rx);
    }
    *rad = err + (hi - lo + 4) * FD_EPS * mag;
    return sum;
}

/* (a +- ra) / (c +- rc): |a/c - a'/c'| <= (ra + |q| rc) / (|c| - rc), plus rounding. */
static double fd_ball_div(double a, double ra, double c, double rc, double *rad)
{
    const double q = a / c;
    const double den = fabs(c) - rc;
    *rad = den > 0.0 ? (ra + fd_prop(q, rc)) / den + FD_EPS * fabs(q) : INFINITY;
    return q;
}

/* sqrt of (p +- rp) and its radius: |sqrt a - sqrt b| = |a - b| / (sqrt a + sqrt b). */
static double fd_ball_sqrt(double p, double rp, double *rad)
{
    const double q = sqrt(p);
    if (rp == 0.0) {
        *rad = FD_TAYLOR_ULPS * FD_EPS * q;
    } else {
        *rad = p > rp ? rp / (q + sqrt(p - rp)) + FD_TAYLOR_ULPS * FD_EPS * q : INFINITY;
    }
    return q;
}

/* Coefficient 0 from the rule table, w_0 = f(u_0); and g_0 = f'(u_0) when g is given. */
static void fd_value1(int rule, ptrdiff_t s, const double *u, const double *ur, fd_ser w,
                      const fd_ser *g)
{
    double e[3];
    (void)s;
    fd_dual_rule_eval1(rule, u[0], e);
    const double r = ur[0];
    w.c[0] = e[0];
    w.r[0] = fd_prop(e[1], r) + fd_prop(e[2], r * r) + FD_TAYLOR_ULPS * FD_EPS * fabs(e[0]);
    if (g != NULL) {
        g->c[0] = e[1];
        g->r[0] = fd_prop(e[2], r) + FD_TAYLOR_ULPS * FD_EPS * fabs(e[1]);
    }
}

/* w_k = (1/k) sum_{j=1}^{k} j u_j g_{k-j}: the integration formula for w' = g u'. */
static void fd_integrate(int k, ptrdiff_t s, const double *u, const double *ur, fd_ser g,
                         fd_ser w, double scale)
{
    double rad;
    const double sum = fd_conv(u, ur, g.c, g.r, s, k, 1, k, 1.0, 0.0, &rad);
    w.c[k * s] = fd_ball_div(scale * sum, fabs(scale) * rad, (double)k, 0.0, &w.r[k * s]);
}

/* w_k for k = 1..d from w' q = a u' (the division formula); q known up to k - 1 (q may be w). */
static void fd_solve_step(int k, ptrdiff_t s, const double *u, const double *ur, fd_ser q,
                          double a, fd_ser w)
{
    double rs, rt;
    const double sk = fd_conv(w.c, w.r, q.c, q.r, s, k, 1, k - 1, 1.0, 0.0, &rs);
    const double au = a * u[k * s];
    const double t = au - sk / k;
    rt = fd_prop(a, ur[k * s]) + rs / k + 2.0 * FD_EPS * (fabs(au) + fabs(sk / k)) +
         FD_EPS * fabs(t);
    w.c[k * s] = fd_ball_div(t, rt, q.c[0], q.r[0], &w.r[k * s]);
}

static void fd_solve(int d, ptrdiff_t s, const double *u, const double *ur, fd_ser q, double a,
                     fd_ser w)
{
    for (int k = 1; k <= d; ++k) {
        fd_solve_step(k, s, u, ur, q, a, w);
    }
}

/* p_k = sgn * sum_j u_j u_{k-j} for k = 1..d (p_0 is set by the caller). */
static void fd_square_tail(int d, ptrdiff_t s, const double *u, const double *ur, double sgn,
                           fd_ser p)
{
    for (int k = 1; k <= d; ++k) {
        double rad;
        p.c[k * s] = sgn * fd_conv(u, ur, u, ur, s, k, 0, k, 0.0, 1.0, &rad);
        p.r[k * s] = rad;
    }
}

/* q = sqrt(p) for a series p with p_0 > 0: q' 2q = p', i.e. w' q = a u' with q = w, a = 1/2. */

/* w = u^r with w_0 given, u_0 != 0: k u_0 w_k = sum_{j=1}^{k} ((r + 1) j - k) u_j w_{k-j}. */
static void fd_power_series(int d, ptrdiff_t s, const double *u, const double *ur, double r,
                            fd_ser w)
{
    for (int k = 1; k <= d; ++k) {
        double rad, rq;
        const double sum = fd_conv(u, ur, w.c, w.r, s, k, 1, k, r + 1.0, (double)-k, &rad);
        const double q = fd_ball_div(sum, rad, (double)k, 0.0, &rq);
        w.c[k * s] = fd_ball_div(q, rq, u[0], ur[0], &w.r[k * s]);
    }
}

/* s = expit(u) with s_0, z_0 = expit(-u_0) given: s' = h u', h = s z, z = 1 - s. */
static void fd_expit_series(int d, ptrdiff_t s, const double *u, const double *ur, fd_ser sig,
                            fd_ser z, fd_ser h)
{
    double rad;
    h.c[0] = fd_conv(sig.c, sig.r, z.c, z.r, s, 0, 0, 0, 0.0, 1.0, &rad);
    h.r[0] = rad;
    for (int k = 1; k <= d; ++k) {
        fd_integrate(k, s, u, ur, h, sig, 1.0);
        z.c[k * s] = -sig.c[k * s];
        z.r[k * s] = sig.r[k * s];
        h.c[k * s] = fd_conv(sig.c, sig.r, z.c, z.r, s, k, 0, k, 0.0, 1.0, &rad);
        h.r[k * s] = rad;
    }
}

/* expit(-x) from the table, with its radius for an input radius r. */
static double fd_expit_neg(double x, double r, double *rad)
{
    double e[3];
    fd_dual_rule_eval1(FD_RULE_expit, -x, e);
    *rad = fd_prop(e[1], r) + FD_TAYLOR_ULPS * FD_EPS * e[0];
    return e[0];
}

/*
 * The sign of u(t) just right of t = 0 for a kink rule: returns +1, -1 or 0 (a true kink: the
 * first nonzero coefficient has odd index; or u is identically 0); *uncertain is set when the
 * radii do not decide it.
 */
static double fd_kink_sign(int d, ptrdiff_t s, const double *u, const double *ur, int *uncertain)
{
    *uncertain = 0;
    if (u[0] != 0.0 || ur[0] != 0.0) {
        *uncertain = !(fabs(u[0]) > ur[0]);
        return u[0] > 0.0 ? 1.0 : (u[0] < 0.0 ? -1.0 : 0.0);
    }
    for (int k = 1; k <= d; ++k) {
        const double c = u[k * s], r = ur[k * s];
        if (c == 0.0 && r == 0.0) {
            continue;
        }
        if (!(fabs(c) > r)) {
            *uncertain = 1;
            return 0.0;
        }
        return (k % 2) ? 0.0 : (c > 0.0 ? 1.0 : -1.0);
    }
    return 0.0;
}

/* ---------------------------------------------------------------------------------------- */
/* Lane versions of the integration-formula rules: all m elements per coefficient, so the    */
/* compiler vectorises across elements.  The scalar path uses them too (m = 1): same results. */
/* ---------------------------------------------------------------------------------------- */

enum { FD_P_ONE_MINUS = 0, FD_P_ONE_PLUS = 1, FD_P_MINUS_ONE = 2 };

/* fd_value1 over m lanes (stride 1 within a coefficient). */
static void fd_value1_lanes(int rule, ptrdiff_t m, const double *u, const double *ur, fd_ser w,
                            fd_ser g)
{
    for (ptrdiff_t i = 0; i < m; ++i) {
        double e[3];
        fd_dual_rule_eval1(rule, u[i], e);
        const double r = ur[i];
        w.c[i] = e[0];
        w.r[i] = fd_prop(e[1], r) + fd_prop(e[2], r * r) + FD_TAYLOR_ULPS * FD_EPS * fabs(e[0]);
        if (g.c != NULL) {
            g.c[i] = e[1];
            g.r[i] = fd_prop(e[2], r) + FD_TAYLOR_ULPS * FD_EPS * fabs(e[1]);
        }
    }
}

/* fd_solve over m lanes (w' q = a u', q known to k - 1; q may be w): the same bound. */
static void fd_solve_lanes(int d, ptrdiff_t m, const double *u, const double *ur, fd_ser q,
                           double a, fd_ser w)
{
    for (int k = 1; k <= d; ++k) {
        double *wk = w.c + k * m, *rk = w.r + k * m;
        const double gam = (k + 2) * FD_EPS, inv = 1.0 / k;
        for (ptrdiff_t i = 0; i < m; ++i) {
            wk[i] = 0.0;
            rk[i] = 0.0;
        }
        for (int j = 1; j < k; ++j) {
            const double *x = w.c + j * m, *xr = w.r + j * m;
            const double *y = q.c + (k - j) * m, *yr = q.r + (k - j) * m;
            const double wt = (double)j;
            for (ptrdiff_t i = 0; i < m; ++i) {
                const double p = x[i] * y[i];
                wk[i] += wt * p;
                rk[i] += wt * (fabs(x[i]) * yr[i] + (fabs(y[i]) + yr[i]) * xr[i] + gam * 2.0 * fabs(p));
            }
        }
        const double *uk = u + k * m, *urk = ur + k * m;
        for (ptrdiff_t i = 0; i < m; ++i) {
            const double sk = wk[i] * inv, au = a * uk[i], t = au - sk;
            const double rt = fabs(a) * urk[i] + rk[i] * inv + 2.0 * FD_EPS * (fabs(au) + fabs(sk)) +
                              FD_EPS * fabs(t);
            wk[i] = fd_ball_div(t, rt, q.c[i], q.r[i], &rk[i]);
        }
    }
}

/* The highest j in 1..d with a nonzero u_j or radius ur_j in some lane (0 if none): a seed
 * x + t has 1.  Terms j u_j g_{k-j} beyond it are exact zeros, which add nothing to a sum or a
 * radius with finite g (with an infinite or NaN g the result is untrusted either way). */
static int fd_top_nonzero(int d, ptrdiff_t m, const double *u, const double *ur)
{
    for (int j = d; j >= 1; --j) {
        const double *a = u + j * m, *ar = ur + j * m;
        for (ptrdiff_t i = 0; i < m; ++i) {
            if (a[i] != 0.0 || ar[i] != 0.0) {
                return j;
            }
        }
    }
    return 0;
}

/* fd_integrate over m lanes: the same sum and the same bound (fd_conv, fd_ball_div by k),
 * over the terms j <= top (fd_top_nonzero of u). */
static void fd_integrate_lanes(int k, ptrdiff_t m, const double *u, const double *ur, fd_ser g,
                               fd_ser w, double scale, int top)
{
    double *wk = w.c + k * m, *rk = w.r + k * m;
    const double gam = (k + 4) * FD_EPS, as = fabs(scale), inv = 1.0 / k;
    if (top == 1) { /* u = u_0 + u_1 t (a seed): the one term j = 1 in one pass, same roundings */
        const double *a = u + m, *ar = ur + m;
        const double *b = g.c + (k - 1) * m, *br = g.r + (k - 1) * m;
        for (ptrdiff_t i = 0; i < m; ++i) {
            const double p = a[i] * b[i];
            const double sum = 0.0 + p;
            const double rad = 0.0 + (fabs(a[i]) * br[i] + (fabs(b[i]) + br[i]) * ar[i] +
                                      gam * 2.0 * fabs(p));
            const double q = scale * sum * inv;
            rk[i] = as * rad * inv + 2.0 * FD_EPS * fabs(q);
            wk[i] = q;
        }
        return;
    }
    for (ptrdiff_t i = 0; i < m; ++i) {
        wk[i] = 0.0;
        rk[i] = 0.0;
    }
    for (int j = 1; j <= k && j <= top; ++j) {
        const double *a = u + j * m, *ar = ur + j * m;
        const double *b = g.c + (k - j) * m, *br = g.r + (k - j) * m;
        const double wt = (double)j;
        for (ptrdiff_t i = 0; i < m; ++i) {
            const double p = a[i] * b[i];
            wk[i] += wt * p;
            rk[i] += wt * (fabs(a[i]) * br[i] + (fabs(b[i]) + br[i]) * ar[i] + gam * 2.0 * fabs(p));
        }
    }
    for (ptrdiff_t i = 0; i < m; ++i) { /* q = scale sum / k, |1/k| rounding counted in eps */
        const double q = scale * wk[i] * inv;
        rk[i] = as * rk[i] * inv + 2.0 * FD_EPS * fabs(q);
        wk[i] = q;
    }
}

/* g_k = sgn sum_{j=0}^{k} w_j w_{k-j} over m lanes (tan, tanh). */
static void fd_square_lanes(int k, ptrdiff_t m, fd_ser w, double sgn, fd_ser g)
{
    double *gk = g.c + k * m, *rk = g.r + k * m;
    const double gam = 2.0 * (k + 4) * FD_EPS;
    for (ptrdiff_t i = 0; i < m; ++i) {
        gk[i] = 0.0;
        rk[i] = 0.0;
    }
    for (int j = 0; j <= k; ++j) {
        const double *a = w.c + j * m, *ar = w.r + j * m;
        const double *b = w.c + (k - j) * m, *br = w.r + (k - j) * m;
        for (ptrdiff_t i = 0; i < m; ++i) {
            const double p = a[i] * b[i];
            gk[i] += p;
            rk[i] += fabs(a[i]) * br[i] + (fabs(b[i]) + br[i]) * ar[i] + gam * fabs(p);
        }
    }
    for (ptrdiff_t i = 0; i < m; ++i) {
        gk[i] *= sgn;
    }
}

/* exp (g = w), sin/cos/sinh/cosh (a pair), tan/tanh (g = 1 +- w^2) over all m elements. */
static int fd_lanes_rule(int rule, int d, ptrdiff_t m, const double *u, const double *ur,
                         double *w, double *wr, double *work)
{
    fd_ser out, g;
    out.c = w;
    out.r = wr;
    g.c = g.r = NULL;
    if (!(rule == FD_RULE_sqrt || rule == FD_RULE_log || rule == FD_RULE_log2 ||
          rule == FD_RULE_log10)) { /* every other lane rule has nwork >= 1 */
        g = fd_aux(work, (ptrdiff_t)(d + 1) * m, 0);
    }
    double sgn;
    const int top = fd_top_nonzero(d, m, u, ur);
    switch (rule) {
    case FD_RULE_exp:
        fd_value1_lanes(rule, m, u, ur, out, g);
        for (int k = 1; k <= d; ++k) {
            fd_integrate_lanes(k, m, u, ur, out, out, 1.0, top);
        }
        return 1;
    case FD_RULE_sin:
    case FD_RULE_cos:
    case FD_RULE_sinh:
    case FD_RULE_cosh:
        sgn = (rule == FD_RULE_sin || rule == FD_RULE_cos) ? -1.0 : 1.0;
        fd_value1_lanes(rule, m, u, ur, out, g);
        for (int k = 1; k <= d; ++k) {
            fd_integrate_lanes(k, m, u, ur, g, out, 1.0, top);
            if (k < d) {
                fd_integrate_lanes(k, m, u, ur, out, g, sgn, top);
            }
        }
        return 1;
    case FD_RULE_tan:
    case FD_RULE_tanh:
        sgn = rule == FD_RULE_tan ? 1.0 : -1.0;
        fd_value1_lanes(rule, m, u, ur, out, g);
        for (ptrdiff_t i = 0; i < m; ++i) {
            if (rule == FD_RULE_tanh) {
                /* the table's 1 - tanh^2 = (1 - f)(1 + f) cancels for large |x| (relative
                 * error ~ e^(2|x|) eps); sech^2 = 1 / cosh^2 keeps full precision */
                const double ch = cosh(u[i]), f = out.c[i];
                g.c[i] = 1.0 / (ch * ch);
                g.r[i] = fd_prop(2.0 * f * g.c[i], ur[i]) + 4.0 * FD_TAYLOR_ULPS * FD_EPS * g.c[i];
            } else {
                /* 1 + tan^2 from the rounded f: add f's error, |dg/df| = 2 |f| */
                g.r[i] += 2.0 * fabs(out.c[i]) * out.r[i];
            }
        }
        for (int k = 1; k <= d; ++k) {
            fd_integrate_lanes(k, m, u, ur, g, out, 1.0, top);
            if (k < d) {
                fd_square_lanes(k, m, out, sgn, g);
            }
        }
        return 1;
    case FD_RULE_sqrt:
    case FD_RULE_log:
    case FD_RULE_log2:
    case FD_RULE_log10: {
        fd_ser none, q;
        none.c = none.r = NULL;
        fd_value1_lanes(rule, m, u, ur, out, none);
        if (rule == FD_RULE_sqrt) {
            fd_solve_lanes(d, m, u, ur, out, 0.5, out);
            return 1;
        }
        q.c = (double *)u;
        q.r = (double *)ur;
        fd_solve_lanes(d, m, u, ur, q,
                       rule == FD_RULE_log ? 1.0 : (rule == FD_RULE_log2 ? 1.0 / FD_LN2 : 1.0 / FD_LN10),
                       out);
        return 1;
    }
    case FD_RULE_log1p: {
        fd_ser none;
        none.c = none.r = NULL;
        for (ptrdiff_t i = 0; i < m; ++i) {
            g.c[i] = 1.0 + u[i];
            g.r[i] = ur[i] + FD_EPS * fabs(g.c[i]);
        }
        for (ptrdiff_t j = m; j < (ptrdiff_t)(d + 1) * m; ++j) {
            g.c[j] = u[j];
            g.r[j] = ur[j];
        }
        fd_value1_lanes(rule, m, u, ur, out, none);
        fd_solve_lanes(d, m, u, ur, g, 1.0, out);
        return 1;
    }
    case FD_RULE_arcsin:
    case FD_RULE_arccos:
    case FD_RULE_arctan:
    case FD_RULE_arcsinh:
    case FD_RULE_arccosh:
    case FD_RULE_arctanh: {
        /* w' q = a u' with q = sqrt(p) or p, p = 1 - u^2, 1 + u^2 or u^2 - 1 (as products at 0) */
        fd_ser none, uu, q = g;
        none.c = none.r = NULL;
        uu.c = (double *)u;
        uu.r = (double *)ur;
        const int kind = (rule == FD_RULE_arctan || rule == FD_RULE_arcsinh) ? FD_P_ONE_PLUS
                         : rule == FD_RULE_arccosh                          ? FD_P_MINUS_ONE
                                                                            : FD_P_ONE_MINUS;
        const int root = !(rule == FD_RULE_arctan || rule == FD_RULE_arctanh);
        for (ptrdiff_t i = 0; i < m; ++i) {
            const double x = u[i], r = ur[i];
            if (kind == FD_P_ONE_MINUS) {
                g.c[i] = (1.0 - x) * (1.0 + x);
                g.r[i] = fd_prop(fabs(1.0 - x) + fabs(1.0 + x), r) + r * r +
                         3.0 * FD_EPS * fabs(1.0 - x) * fabs(1.0 + x);
            } else if (kind == FD_P_MINUS_ONE) {
                g.c[i] = (x - 1.0) * (x + 1.0);
                g.r[i] = fd_prop(fabs(x - 1.0) + fabs(x + 1.0), r) + r * r +
                         3.0 * FD_EPS * fabs(x - 1.0) * fabs(x + 1.0);
            } else {
                g.c[i] = 1.0 + x * x;
                g.r[i] = fd_prop(2.0 * x, r) + r * r + 2.0 * FD_EPS * g.c[i];
            }
        }
        for (int k = 1; k <= d; ++k) {
            fd_square_lanes(k, m, uu, kind == FD_P_ONE_MINUS ? -1.0 : 1.0, g);
        }
        if (root) {
            q = fd_aux(work, (ptrdiff_t)(d + 1) * m, 1);
            for (ptrdiff_t i = 0; i < m; ++i) {
                q.c[i] = fd_ball_sqrt(g.c[i], g.r[i], &q.r[i]);
            }
            fd_solve_lanes(d, m, g.c, g.r, q, 0.5, q);
        }
        fd_value1_lanes(rule, m, u, ur, out, none);
        fd_solve_lanes(d, m, u, ur, q, rule == FD_RULE_arccos ? -1.0 : 1.0, out);
        return 1;
    }
    default:
        return 0;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Unary recurrences, one per row of the table (one element; stride s; scratch in work)      */
/* ---------------------------------------------------------------------------------------- */

/* A unary recurrence runs over all m elements (stride m); per-element ones are wrapped. */
typedef void (*fd_taylor_rec1)(int rule, int d, ptrdiff_t m, const double *u, const double *ur,
                               double *w, double *wr, double *work);
typedef void (*fd_taylor_rec2)(int rule, int d, ptrdiff_t s, const double *u, const double *ur,
                               const double *v, const double *vr, fd_ser w, double *work,
                               ptrdiff_t bs);

/* FD_REC1(name): the per-element recurrence of one element (stride s, scratch in work). */
#define FD_REC1(name)                                                                       \
    static void fd_te_##name(int rule, int d, ptrdiff_t s, const double *u, const double *ur, \
                             fd_ser w, double *work, ptrdiff_t bs);                          \
    static void fd_tr_##name(int rule, int d, ptrdiff_t m, const double *u, const double *ur, \
                             double *w, double *wr, double *work)                            \
    {                                                                                        \
        const ptrdiff_t bs = (ptrdiff_t)(d + 1) * m;                                         \
        for (ptrdiff_t i = 0; i < m; ++i) {                                                  \
            fd_ser out;                                                                      \
            out.c = w + i;                                                                   \
            out.r = wr + i;                                                                  \
            fd_te_##name(rule, d, m, u + i, ur + i, out, work + i, bs);                      \
        }                                                                                    \
    }                                                                                        \
    static void fd_te_##name(int rule, int d, ptrdiff_t s, const double *u, const double *ur, \
                             fd_ser w, double *work, ptrdiff_t bs)
/* FD_LANES(name): a rule of fd_lanes_rule, vectorised across elements. */
#define FD_LANES(name)                                                                      \
    static void fd_tr_##name(int rule, int d, ptrdiff_t m, const double *u, const double *ur, \
                             double *w, double *wr, double *work)                            \
    {                                                                                        \
        fd_lanes_rule(rule, d, m, u, ur, w, wr, work);                                       \
    }
#define FD_REC2(name)                                                                       \
    static void fd_tr_##name(int rule, int d, ptrdiff_t s, const double *u, const double *ur, \
                             const double *v, const double *vr, fd_ser w, double *work,       \
                             ptrdiff_t bs)
#define FD_UNUSED_WORK (void)work, (void)bs

/* sqrt: w' 2w = u' */

/* cbrt: u^(1/3) by the power recurrence */
FD_REC1(cbrt)
{
    FD_UNUSED_WORK;
    fd_value1(rule, s, u, ur, w, NULL);
    fd_power_series(d, s, u, ur, 1.0 / 3.0, w);
}

/* square: the product u u */
FD_REC1(square)
{
    FD_UNUSED_WORK;
    (void)rule;
    for (int k = 0; k <= d; ++k) {
        w.c[k * s] = fd_conv(u, ur, u, ur, s, k, 0, k, 0.0, 1.0, &w.r[k * s]);
    }
}

/* reciprocal: w u = 1, w_k = -(sum_{j=1}^{k} u_j w_{k-j}) / u_0 */
FD_REC1(reciprocal)
{
    FD_UNUSED_WORK;
    fd_value1(rule, s, u, ur, w, NULL);
    for (int k = 1; k <= d; ++k) {
        double rad;
        const double sum = fd_conv(u, ur, w.c, w.r, s, k, 1, k, 0.0, 1.0, &rad);
        w.c[k * s] = fd_ball_div(-sum, rad, u[0], ur[0], &w.r[k * s]);
    }
}

/* exp: w' = w u' */

/* exp2: w' = ln2 w u' */
FD_REC1(exp2)
{
    FD_UNUSED_WORK;
    fd_value1(rule, s, u, ur, w, NULL);
    for (int k = 1; k <= d; ++k) {
        fd_integrate(k, s, u, ur, w, w, FD_LN2);
        w.r[k * s] += 2.0 * FD_EPS * fabs(w.c[k * s]); /* ln 2 is rounded */
    }
}

/* expm1: w' = (w + 1) u'; g = exp(u) has g_0 from the table and g_k = w_k */
FD_REC1(expm1)
{
    fd_ser g = fd_aux(work, bs, 0);
    fd_value1(rule, s, u, ur, w, &g);
    for (int k = 1; k <= d; ++k) {
        fd_integrate(k, s, u, ur, g, w, 1.0);
        g.c[k * s] = w.c[k * s];
        g.r[k * s] = w.r[k * s];
    }
}

/* log, log2, log10: w' u = a u' with a = 1, 1/ln 2, 1/ln 10 */
static void fd_log_rule(int rule, int d, ptrdiff_t s, const double *u, const double *ur, fd_ser w,
                        double a)
{
    fd_ser q;
    q.c = (double *)u;
    q.r = (double *)ur;
    fd_value1(rule, s, u, ur, w, NULL);
    fd_solve(d, s, u, ur, q, a, w);
}




/* log1p: w' (1 + u) = u' */

/* A pair w' = a u', a' = sgn w u' (sin/cos: sgn = -1; sinh/cosh: +1); a_0 = f'(u_0). */





/* tan, tanh: w' = g u' with g = 1 + sgn w^2 (g_0 = f'(u_0) from the table) */



/*
 * The inverse functions: w' q = a u' with q = sqrt(p) or q = p, p = c0 + sgn u^2 written as a
 * product at k = 0 ((1 - u)(1 + u), (u - 1)(u + 1)) to keep p_0 accurate near the edges.
 */








/* abs and relu: w = sigma u with sigma from the sign of u(t) right of 0 (kinks: see Design) */
static void fd_kink_rule(int rule, int d, ptrdiff_t s, const double *u, const double *ur,
                         fd_ser w, int is_relu)
{
    int uncertain;
    double sg = fd_kink_sign(d, s, u, ur, &uncertain);
    if (is_relu) {
        sg = sg > 0.0 ? 1.0 : 0.0;
    }
    fd_value1(rule, s, u, ur, w, NULL);
    w.r[0] = ur[0];
    if (u[0] != u[0]) {
        sg = NAN;
    }
    for (int k = 1; k <= d; ++k) {
        w.c[k * s] = sg * u[k * s];
        w.r[k * s] = fabs(sg) * ur[k * s];
        if (uncertain) {
            w.r[k * s] += (is_relu ? 1.0 : 2.0) * (fabs(u[k * s]) + ur[k * s]);
        }
    }
}

FD_REC1(absolute)
{
    FD_UNUSED_WORK;
    fd_kink_rule(rule, d, s, u, ur, w, 0);
}

FD_REC1(relu)
{
    FD_UNUSED_WORK;
    fd_kink_rule(rule, d, s, u, ur, w, 1);
}

/* erf, erfc: w' = c exp(p) u' with p = -u^2, c = +-2/sqrt(pi); g = c exp(p) by w' = w p' */
static void fd_erf_rule(int rule, int d, ptrdiff_t s, const double *u, const double *ur,
                        fd_ser w, double *work, ptrdiff_t bs, double c)
{
    fd_ser p = fd_aux(work, bs, 0), g = fd_aux(work, bs, 1);
    const double x = u[0], r = ur[0];
    p.c[0] = -x * x;
    p.r[0] = fd_prop(2.0 * x, r) + r * r + FD_EPS * x * x;
    fd_square_tail(d - 1, s, u, ur, -1.0, p);
    g.c[0] = c * exp(p.c[0]);
    g.r[0] = fd_prop(g.c[0], p.r[0]) + FD_TAYLOR_ULPS * FD_EPS * fabs(g.c[0]);
    for (int k = 1; k < d; ++k) {
        fd_integrate(k, s, p.c, p.r, g, g, 1.0);
    }
    fd_value1(rule, s, u, ur, w, NULL);
    for (int k = 1; k <= d; ++k) {
        fd_integrate(k, s, u, ur, g, w, 1.0);
    }
}

FD_REC1(erf)
{
    fd_erf_rule(rule, d, s, u, ur, w, work, bs, FD_2_SQRTPI);
}

FD_REC1(erfc)
{
    fd_erf_rule(rule, d, s, u, ur, w, work, bs, -FD_2_SQRTPI);
}

/* expit: w' = w (1 - w) u', with 1 - w_0 = expit(-u_0) (accurate for large u_0) */
FD_REC1(expit)
{
    fd_ser z = fd_aux(work, bs, 0), h = fd_aux(work, bs, 1);
    fd_value1(rule, s, u, ur, w, NULL);
    z.c[0] = fd_expit_neg(u[0], ur[0], &z.r[0]);
    fd_expit_series(d, s, u, ur, w, z, h);
}

/* softplus: w' = expit(u) u' */
FD_REC1(softplus)
{
    fd_ser sig = fd_aux(work, bs, 0), z = fd_aux(work, bs, 1), h = fd_aux(work, bs, 2);
    fd_value1(rule, s, u, ur, w, &sig);
    z.c[0] = fd_expit_neg(u[0], ur[0], &z.r[0]);
    fd_expit_series(d - 1, s, u, ur, sig, z, h);
    for (int k = 1; k <= d; ++k) {
        fd_integrate(k, s, u, ur, sig, w, 1.0);
    }
}

FD_LANES(sqrt)
FD_LANES(exp)
FD_LANES(log)
FD_LANES(log2)
FD_LANES(log10)
FD_LANES(log1p)
FD_LANES(sin)
FD_LANES(cos)
FD_LANES(sinh)
FD_LANES(cosh)
FD_LANES(tan)
FD_LANES(tanh)
FD_LANES(arcsin)
FD_LANES(arccos)
FD_LANES(arctan)
FD_LANES(arcsinh)
FD_LANES(arccosh)
FD_LANES(arctanh)

/* ---------------------------------------------------------------------------------------- */
/* Binary recurrences                                                                        */
/* ---------------------------------------------------------------------------------------- */

/* Coefficient 0 of a binary rule from the table: w_0 = f(u_0, v_0) with its radius. */
static void fd_value2(int rule, const double *u, const double *ur, const double *v,
                      const double *vr, fd_ser w)
{
    double e[6];
    fd_dual_rule_eval2(rule, u[0], v[0], e);
    w.c[0] = e[0];
    w.r[0] = fd_prop(e[1], ur[0]) + fd_prop(e[2], vr[0]) + FD_TAYLOR_ULPS * FD_EPS * fabs(e[0]);
    if (ur[0] > 0.0 || vr[0] > 0.0) {
        const double r2 = (ur[0] + vr[0]) * (ur[0] + vr[0]);
        w.r[0] += (fabs(e[3]) + fabs(e[4]) + fabs(e[5])) * r2;
    }
}

/* power u^v for two series: w = exp(v log u), w' = w (v log u)' */
FD_REC2(power)
{
    fd_ser lg = fd_aux(work, bs, 0), pr = fd_aux(work, bs, 1);
    fd_log_rule(FD_RULE_log, d, s, u, ur, lg, 1.0);
    for (int k = 0; k <= d; ++k) {
        pr.c[k * s] = fd_conv(v, vr, lg.c, lg.r, s, k, 0, k, 0.0, 1.0, &pr.r[k * s]);
    }
    fd_value2(rule, u, ur, v, vr, w);
    for (int k = 1; k <= d; ++k) {
        fd_integrate(k, s, pr.c, pr.r, w, w, 1.0);
    }
}

/* arctan2(a, b) = angle of (b, a): w' = (b a' - a b') / (a^2 + b^2) */
FD_REC2(arctan2)
{
    fd_ser q = fd_aux(work, bs, 0), nm = fd_aux(work, bs, 1), rt = fd_aux(work, bs, 2);
    for (int k = 0; k < d; ++k) {
        double r1, r2;
        q.c[k * s] = fd_conv(u, ur, u, ur, s, k, 0, k, 0.0, 1.0, &r1) +
                     fd_conv(v, vr, v, vr, s, k, 0, k, 0.0, 1.0, &r2);
        q.r[k * s] = r1 + r2 + FD_EPS * fabs(q.c[k * s]);
        /* coefficient k of b a' - a b' */
        const double p1 = fd_conv(u, ur, v, vr, s, k + 1, 1, k + 1, 1.0, 0.0, &r1);
        const double p2 = fd_conv(v, vr, u, ur, s, k + 1, 1, k + 1, 1.0, 0.0, &r2);
        nm.c[k * s] = p1 - p2;
        nm.r[k * s] = r1 + r2 + FD_EPS * fabs(p1 - p2);
    }
    for (int k = 0; k < d; ++k) {
        double rs, rn;
        const double sk = fd_conv(q.c, q.r, rt.c, rt.r, s, k, 1, k, 0.0, 1.0, &rs);
        const double t = nm.c[k * s] - sk;
        rn = nm.r[k * s] + rs + FD_EPS * fabs(t);
        rt.c[k * s] = fd_ball_div(t, rn, q.c[0], q.r[0], &rt.r[k * s]);
    }
    fd_value2(rule, u, ur, v, vr, w);
    for (int k = 1; k <= d; ++k) {
        w.c[k * s] = fd_ball_div(rt.c[(k - 1) * s], rt.r[(k - 1) * s], (double)k, 0.0,
                                 &w.r[k * s]);
    }
}

/* hypot: w = sqrt(a^2 + b^2); at the origin the first nonzero coefficient decides (Design) */
FD_REC2(hypot)
{
    if (u[0] == 0.0 && v[0] == 0.0 && ur[0] == 0.0 && vr[0] == 0.0) {
        int j = 1;
        while (j <= d && u[j * s] == 0.0 && v[j * s] == 0.0 && ur[j * s] == 0.0 &&
               vr[j * s] == 0.0) {
            ++j;
        }
        for (int k = 0; k <= d; ++k) {
            w.c[k * s] = 0.0;
            w.r[k * s] = 0.0;
        }
        if (j > d || j % 2) {
            return; /* identically 0, or a kink: 0 by the convention of abs'(0) = 0 */
        }
        fd_ser shifted;
        shifted.c = w.c + j * s;
        shifted.r = w.r + j * s;
        fd_tr_hypot(rule, d - j, s, u + j * s, ur + j * s, v + j * s, vr + j * s, shifted, work,
                    bs);
        return;
    }
    fd_ser q = fd_aux(work, bs, 0);
    for (int k = 0; k <= d; ++k) {
        double r1, r2;
        q.c[k * s] = fd_conv(u, ur, u, ur, s, k, 0, k, 0.0, 1.0, &r1) +
                     fd_conv(v, vr, v, vr, s, k, 0, k, 0.0, 1.0, &r2);
        q.r[k * s] = r1 + r2 + FD_EPS * fabs(q.c[k * s]);
    }
    fd_value2(rule, u, ur, v, vr, w);
    fd_solve(d, s, q.c, q.r, w, 0.5, w);
}

/* logaddexp(a, b) = b + softplus(a - b): w_k = b_k + (1/k) sum j e_j expit(e)_{k-j}, e = a - b */
FD_REC2(logaddexp)
{
    fd_ser e = fd_aux(work, bs, 0), sig = fd_aux(work, bs, 1), z = fd_aux(work, bs, 2),
           h = fd_aux(work, bs, 3);
    for (int k = 0; k <= d; ++k) {
        e.c[k * s] = u[k * s] - v[k * s];
        e.r[k * s] = ur[k * s] + vr[k * s] + FD_EPS * fabs(e.c[k * s]);
    }
    double ev[3];
    fd_dual_rule_eval1(FD_RULE_expit, e.c[0], ev);
    sig.c[0] = ev[0];
    sig.r[0] = fd_prop(ev[1], e.r[0]) + FD_TAYLOR_ULPS * FD_EPS * ev[0];
    z.c[0] = fd_expit_neg(e.c[0], e.r[0], &z.r[0]);
    fd_expit_series(d - 1, s, e.c, e.r, sig, z, h);
    fd_value2(rule, u, ur, v, vr, w);
    for (int k = 1; k <= d; ++k) {
        double rad;
        fd_integrate(k, s, e.c, e.r, sig, w, 1.0);
        const double t = v[k * s] + w.c[k * s];
        rad = vr[k * s] + w.r[k * s] + FD_EPS * fabs(t);
        w.c[k * s] = t;
        w.r[k * s] = rad;
    }
}

/* maximum/minimum: the sign of a - b right of 0 picks a side; a kink takes the mean */
static void fd_max_rule(int rule, int d, ptrdiff_t s, const double *u, const double *ur,
                        const double *v, const double *vr, fd_ser w, double *work, ptrdiff_t bs,
                        double dir)
{
    fd_value2(rule, u, ur, v, vr, w);
    w.r[0] = fmax(ur[0], vr[0]); /* max and min are 1-Lipschitz in each argument, and exact */
    (void)work;
    (void)bs;
    /* the sign of dir * (a - b): +1 takes a, -1 takes b; computed on the fly (no scratch) */
    int uncertain = 0, kink = 0;
    double sg;
    const double d0 = u[0] - v[0], r0 = ur[0] + vr[0] + FD_EPS * fabs(d0);
    if (u[0] != u[0]) {
        sg = 1.0;
    } else if (v[0] != v[0]) {
        sg = -1.0;
    } else if (d0 != 0.0 || r0 != 0.0) {
        uncertain = !(fabs(d0) > r0);
        sg = d0 >= 0.0 ? 1.0 : -1.0;
    } else {
        sg = 1.0;
        for (int k = 1; k <= d; ++k) {
            const double c = u[k * s] - v[k * s];
            const double r = ur[k * s] + vr[k * s] + FD_EPS * fabs(c);
            if (c == 0.0 && r == 0.0) {
                continue;
            }
            if (!(fabs(c) > r)) {
                uncertain = 1;
                sg = 1.0;
            } else if (k % 2) {
                kink = 1;
            } else {
                sg = c > 0.0 ? 1.0 : -1.0;
            }
            break;
        }
    }
    if (u[0] == u[0] && v[0] == v[0]) {
        sg *= dir;
    }
    for (int k = 1; k <= d; ++k) {
        const double a = u[k * s], b = v[k * s];
        if (kink) {
            w.c[k * s] = 0.5 * (a + b);
            w.r[k * s] = 0.5 * (ur[k * s] + vr[k * s]) + FD_EPS * fabs(w.c[k * s]);
        } else {
            w.c[k * s] = sg > 0.0 ? a : b;
            w.r[k * s] = sg > 0.0 ? ur[k * s] : vr[k * s];
        }
        if (uncertain) {
            w.r[k * s] += fabs(a - b) + ur[k * s] + vr[k * s];
        }
    }
}

FD_REC2(maximum)
{
    fd_max_rule(rule, d, s, u, ur, v, vr, w, work, bs, 1.0);
}

FD_REC2(minimum)
{
    fd_max_rule(rule, d, s, u, ur, v, vr, w, work, bs, -1.0);
}

/* ---------------------------------------------------------------------------------------- */
/* The companion table: one recurrence per rule, keyed by FD_RULE_<name>                     */
/* ---------------------------------------------------------------------------------------- */

#define FD_TAYLOR_UNARY(name, nwork) [FD_RULE_##name] = fd_tr_##name,
#define FD_TAYLOR_BINARY(name, nwork)
static const fd_taylor_rec1 fd_taylor_unary_table[FD_N_RULES] = {
#include "taylor_rules.def"
};
#undef FD_TAYLOR_UNARY
#undef FD_TAYLOR_BINARY

#define FD_TAYLOR_UNARY(name, nwork)
#define FD_TAYLOR_BINARY(name, nwork) [FD_RULE_##name] = fd_tr_##name,
static const fd_taylor_rec2 fd_taylor_binary_table[FD_N_RULES] = {
#include "taylor_rules.def"
};
#undef FD_TAYLOR_UNARY
#undef FD_TAYLOR_BINARY

#define FD_TAYLOR_UNARY(name, nwork) [FD_RULE_##name] = nwork,
#define FD_TAYLOR_BINARY(name, nwork) [FD_RULE_##name] = nwork,
static const int fd_taylor_nwork[FD_N_RULES] = {
#include "taylor_rules.def"
};
#undef FD_TAYLOR_UNARY
#undef FD_TAYLOR_BINARY

/* Both tables have the same rows: same count here, and every name above is an FD_RULE_. */
#define FD_TAYLOR_UNARY(name, nwork) +1
#define FD_TAYLOR_BINARY(name, nwork) +1
enum { FD_N_TAYLOR_RULES = 0
#include "taylor_rules.def"
};
#undef FD_TAYLOR_UNARY
#undef FD_TAYLOR_BINARY
typedef char fd_taylor_table_covers_dual_rules[((int)FD_N_TAYLOR_RULES == (int)FD_N_RULES) ? 1 : -1];

#define FD_TAYLOR_UNARY(name, nwork) #name,
#define FD_TAYLOR_BINARY(name, nwork) #name,
const char *const fd_taylor_rule_names[] = {
#include "taylor_rules.def"
};
#undef FD_TAYLOR_UNARY
#undef FD_TAYLOR_BINARY
const int fd_taylor_n_rules = FD_N_TAYLOR_RULES;

int fd_taylor_work(int rule)
{
    return (rule >= 0 && rule < FD_N_RULES) ? fd_taylor_nwork[rule] : 0;
}

/* Outside the domain (a NaN value) the function has no derivatives either: all NaN. */
static void fd_poison(int d, ptrdiff_t m, double *w, double *wr)
{
    if (w[0] == w[0]) {
        return;
    }
    for (int k = 0; k <= d; ++k) {
        w[k * m] = NAN;
        wr[k * m] = INFINITY;
    }
}

void fd_taylor_unary(int rule, int d, ptrdiff_t m, const double *u, const double *ur, double *w,
                     double *wr, double *work)
{
    fd_taylor_unary_table[rule](rule, d, m, u, ur, w, wr, work);
    for (ptrdiff_t i = 0; i < m; ++i) {
        fd_poison(d, m, w + i, wr + i);
    }
}

void fd_taylor_binary(int rule, int d, ptrdiff_t m, const double *u, const double *ur,
                      const double *v, const double *vr, double *w, double *wr, double *work)
{
    const fd_taylor_rec2 rec = fd_taylor_binary_table[rule];
    const ptrdiff_t bs = (ptrdiff_t)(d + 1) * m;
    for (ptrdiff_t i = 0; i < m; ++i) {
        fd_ser out;
        out.c = w + i;
        out.r = wr + i;
        rec(rule, d, m, u + i, ur + i, v + i, vr + i, out, work + i, bs);
        fd_poison(d, m, w + i, wr + i);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Arithmetic                                                                                */
/* ---------------------------------------------------------------------------------------- */

void fd_taylor_add(int d, ptrdiff_t m, const double *u, const double *ur, const double *v,
                   const double *vr, double sgn, double *w, double *wr)
{
    const ptrdiff_t n = (ptrdiff_t)(d + 1) * m;
    for (ptrdiff_t k = 0; k < n; ++k) {
        const double t = u[k] + sgn * v[k];
        wr[k] = ur[k] + vr[k] + FD_EPS * fabs(t);
        w[k] = t;
    }
}

void fd_taylor_mul(int d, ptrdiff_t m, const double *u, const double *ur, const double *v,
                   const double *vr, double *w, double *wr)
{
    /* fd_conv's sum and radius, written coefficient-outer and element-inner so the compiler
     * vectorises across elements (w must not alias u or v). */
    for (int k = 0; k <= d; ++k) {
        double *wk = w + k * m, *rk = wr + k * m;
        const double g = (k + 4) * FD_EPS;
        for (int j = 0; j <= k; ++j) {
            const double *a = u + j * m, *ar = ur + j * m;
            const double *b = v + (k - j) * m, *br = vr + (k - j) * m;
            if (j == 0) { /* the sums start at 0.0: the first term initialises them */
                for (ptrdiff_t i = 0; i < m; ++i) {
                    const double p = a[i] * b[i];
                    wk[i] = 0.0 + p;
                    rk[i] = 0.0 + (fabs(a[i]) * br[i] + (fabs(b[i]) + br[i]) * ar[i] + g * fabs(p));
                }
                continue;
            }
            for (ptrdiff_t i = 0; i < m; ++i) {
                const double p = a[i] * b[i];
                wk[i] += p;
                rk[i] += fabs(a[i]) * br[i] + (fabs(b[i]) + br[i]) * ar[i] + g * fabs(p);
            }
        }
    }
}

void fd_taylor_div(int d, ptrdiff_t m, const double *u, const double *ur, const double *v,
                   const double *vr, double *w, double *wr)
{
    for (ptrdiff_t i = 0; i < m; ++i) {
        for (int k = 0; k <= d; ++k) {
            double rs;
            const double sk = fd_conv(w + i, wr + i, v + i, vr + i, m, k, 0, k - 1, 0.0, 1.0, &rs);
            const double t = u[k * m + i] - sk;
            const double rt = ur[k * m + i] + rs + FD_EPS * fabs(t);
            w[k * m + i] = fd_ball_div(t, rt, v[i], vr[i], &wr[k * m + i]);
        }
    }
}

void fd_taylor_add_real(int d, ptrdiff_t m, const double *u, const double *ur, const double *c,
                        ptrdiff_t cs, double sgn, double *w, double *wr)
{
    const ptrdiff_t n = (ptrdiff_t)(d + 1) * m;
    for (ptrdiff_t i = 0; i < m; ++i) {
        const double t = c[i * cs] + sgn * u[i];
        wr[i] = ur[i] + FD_EPS * fabs(t);
        w[i] = t;
    }
    for (ptrdiff_t k = m; k < n; ++k) {
        w[k] = sgn * u[k];
        wr[k] = ur[k];
    }
}

void fd_taylor_mul_real(int d, ptrdiff_t m, const double *u, const double *ur, const double *c,
                        ptrdiff_t cs, double *w, double *wr)
{
    for (int k = 0; k <= d; ++k) {
        for (ptrdiff_t i = 0; i < m; ++i) {
            const ptrdiff_t j = k * m + i;
            const double t = u[j] * c[i * cs];
            wr[j] = fd_prop(c[i * cs], ur[j]) + FD_EPS * fabs(t);
            w[j] = t;
        }
    }
}

void fd_taylor_div_real(int d, ptrdiff_t m, const double *u, const double *ur, const double *c,
                        ptrdiff_t cs, double *w, double *wr)
{
    for (int k = 0; k <= d; ++k) {
        for (ptrdiff_t i = 0; i < m; ++i) {
            const ptrdiff_t j = k * m + i;
            w[j] = fd_ball_div(u[j], ur[j], c[i * cs], 0.0, &wr[j]);
        }
    }
}

void fd_taylor_rdiv_real(int d, ptrdiff_t m, const double *u, const double *ur, const double *c,
                         ptrdiff_t cs, double *w, double *wr)
{
    for (ptrdiff_t i = 0; i < m; ++i) {
        w[i] = fd_ball_div(c[i * cs], 0.0, u[i], ur[i], &wr[i]);
        for (int k = 1; k <= d; ++k) { /* w u = c: w_k = -(sum_{j=1}^{k} u_j w_{k-j}) / u_0 */
            double rad;
            const double sum = fd_conv(u + i, ur + i, w + i, wr + i, m, k, 1, k, 0.0, 1.0, &rad);
            w[k * m + i] = fd_ball_div(-sum, rad, u[i], ur[i], &wr[k * m + i]);
        }
    }
}

/* u^c for an integer c >= 1 by binary powering (products only: exact structure, no division
 * by u_0, no underflow of u_0^c on the way).  tmp holds 2 scratch series. */
static void fd_copy_ser(int d, ptrdiff_t s, const double *c, const double *r, fd_ser out)
{
    for (int k = 0; k <= d; ++k) {
        out.c[k * s] = c[k * s];
        out.r[k * s] = r[k * s];
    }
}

static void fd_mul_into(int d, ptrdiff_t s, fd_ser a, fd_ser b, fd_ser out)
{
    for (int k = 0; k <= d; ++k) {
        out.c[k * s] = fd_conv(a.c, a.r, b.c, b.r, s, k, 0, k, 0.0, 1.0, &out.r[k * s]);
    }
}

static void fd_power_int(int d, ptrdiff_t s, const double *u, const double *ur, long c, fd_ser w,
                         double *work, ptrdiff_t bs)
{
    fd_ser base = fd_aux(work, bs, 0), tmp = fd_aux(work, bs, 1);
    int have = 0;
    fd_copy_ser(d, s, u, ur, base);
    while (c > 0) {
        if (c & 1) {
            if (have) {
                fd_mul_into(d, s, w, base, tmp);
                fd_copy_ser(d, s, tmp.c, tmp.r, w);
            } else {
                fd_copy_ser(d, s, base.c, base.r, w);
                have = 1;
            }
        }
        c >>= 1;
        if (c > 0) {
            fd_mul_into(d, s, base, base, tmp);
            fd_copy_ser(d, s, tmp.c, tmp.r, base);
        }
    }
}

void fd_taylor_pow_real(int d, ptrdiff_t m, const double *u, const double *ur, const double *c,
                        ptrdiff_t cs, double *w, double *wr, double *work)
{
    const ptrdiff_t bs = (ptrdiff_t)(d + 1) * m;
    for (ptrdiff_t i = 0; i < m; ++i) {
        const double r = c[i * cs];
        fd_ser out;
        out.c = w + i;
        out.r = wr + i;
        if (r == 0.0) { /* x**0 = 1, with d/dx x**0 = 0 (the table's convention) */
            for (int k = 0; k <= d; ++k) {
                out.c[k * m] = k == 0 ? 1.0 : 0.0;
                out.r[k * m] = 0.0;
            }
            continue;
        }
        if (r == floor(r) && r > 0.0 && (r <= FD_TAYLOR_POW_INT || u[i] == 0.0)) {
            if (u[i] == 0.0 && ur[i] == 0.0 && r > d) { /* the series starts at t^r or later */
                for (int k = 0; k <= d; ++k) {
                    out.c[k * m] = 0.0;
                    out.r[k * m] = 0.0;
                }
            } else {
                fd_power_int(d, m, u + i, ur + i, (long)fmin(r, 1e9), out, work + i, bs);
            }
            continue;
        }
        double e[6];
        fd_dual_rule_eval2(FD_RULE_power, u[i], r, e);
        out.c[0] = e[0];
        out.r[0] = fd_prop(e[1], ur[i]) + fd_prop(e[3], ur[i] * ur[i]) +
                   FD_TAYLOR_ULPS * FD_EPS * fabs(e[0]);
        fd_power_series(d, m, u + i, ur + i, r, out);
        fd_poison(d, m, w + i, wr + i);
    }
}

void fd_taylor_rpow_real(int d, ptrdiff_t m, const double *u, const double *ur, const double *c,
                         ptrdiff_t cs, double *w, double *wr, double *work)
{
    const ptrdiff_t bs = (ptrdiff_t)(d + 1) * m;
    for (ptrdiff_t i = 0; i < m; ++i) {
        const double base = c[i * cs];
        fd_ser out, p;
        out.c = w + i;
        out.r = wr + i;
        double e[6];
        fd_dual_rule_eval2(FD_RULE_power, base, u[i], e);
        out.c[0] = e[0];
        out.r[0] = fd_prop(e[2], ur[i]) + fd_prop(e[5], ur[i] * ur[i]) +
                   FD_TAYLOR_ULPS * FD_EPS * fabs(e[0]);
        if (base == 0.0 && u[i] > 0.0) { /* 0**y = 0 near y > 0 (the table's convention) */
            for (int k = 1; k <= d; ++k) {
                out.c[k * m] = 0.0;
                out.r[k * m] = 0.0;
            }
            continue;
        }
        /* c**u = exp(u log c): w' = w (log c) u' */
        p = fd_aux(work + i, bs, 0);
        const double lc = log(base);
        for (int k = 0; k <= d; ++k) {
            p.c[k * m] = lc * u[i + k * m];
            p.r[k * m] = fd_prop(lc, ur[i + k * m]) + 2.0 * FD_EPS * fabs(p.c[k * m]);
        }
        for (int k = 1; k <= d; ++k) {
            fd_integrate(k, m, p.c, p.r, out, out, 1.0);
        }
        fd_poison(d, m, w + i, wr + i);
    }
}
