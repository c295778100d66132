/*
 * Complex step: f'(x) = Im f(x + i h) / h + O(h^2), with no subtractive cancellation, so h can
 * be tiny (Squire & Trapp 1998, SIAM Rev. 40(1), 110-112; Martins, Sturdza & Alonso 2003,
 * ACM TOMS 29(3), 245-262).
 *
 * Design.  g(h) = Im f(x + i h) / h = f' - f''' h^2 / 3! + f^(5) h^4 / 5! - ... is even in h,
 * so a Richardson tableau in h^2 on the steps h_k = h_0 / q^k raises its order by two per
 * column (Lai & Crassidis 2008, J. Comput. Appl. Math. 219(1), 276-293, give the order-4 case).
 * The formula of order p = 2c is the tableau of levels 0 .. c-1 (largest step h_0); the same
 * formula one level finer (levels 1 .. c) differs from it by e (1 - q^-p) when its error e is
 * led by the h^p term, so |A - B| q^p / (q^p - 1) estimates e.  The roundings of A and B add
 * to that difference (q is irrational, so the levels do not share one rounding pattern as
 * power-of-two steps would), and one rounding unit (noise + eps) sum |w_k g_k| is added for
 * the part of A's own rounding that the difference can miss.
 *
 * f must be analytic, real on the real axis, and keep the imaginary part.  Every value is
 * checked: Re f(x + i h_k) and Im f(x + i h_k) finite (else FD_NO_FINITE, or FD_COMPLEX_LOST
 * where the imaginary part is NaN: the mark of a dropped one), f real at x +- hc, and
 * A against the real central difference D at hc: an f that drops the imaginary part or is not
 * analytic (conj) still returns a plausible number, which differs from D by O(1); they must
 * agree to CHECK_RTOL relative (far looser than either method's error), beyond A's own
 * truncation (a large fixed step).  A D that is not
 * finite cannot vouch for A: FD_NO_FINITE.  slack: an extra allowance per element (the
 * caller's: D's own truncation, where a retry showed it shrinking like hc^2).  The caller retries both with a smaller hc (a
 * domain edge within hc, or D's own truncation at a scale finer than x's); df keeps A.
 */
#include "fastdiff.h"

#include <float.h>
#include <math.h>

#define CHECK_RTOL 1e-3
/* The difference estimates the leading h^p term exactly; the next term, of either sign, can add
 * a fraction of it (h^2 f^(p+3) / f^(p+1) over the ratio of their factorials): 1.5 covers it
 * up to half the leading one. */
#define TRUNC_SAFETY 1.5

void fd_complex_step(ptrdiff_t n, int cols, const double *y, const double *h0, double q,
                     const double *fr, const double *hc, const double *slack, double noise,
                     double *df, double *error, int *status)
{
    if (cols < 1) cols = 1;
    if (cols > FD_COMPLEX_MAX_COLS) cols = FD_COMPLEX_MAX_COLS;
    const int levels = cols + 1;
    double qp[FD_COMPLEX_MAX_COLS + 1]; /* q^(2j) */
    qp[0] = 1.0;
    for (int j = 1; j <= cols; ++j) qp[j] = qp[j - 1] * q * q;
    for (ptrdiff_t i = 0; i < n; ++i) {
        double g[FD_COMPLEX_MAX_COLS + 1], mag[FD_COMPLEX_MAX_COLS + 1];
        int finite = 1, lost = 0;
        double h = h0[i];
        for (int k = 0; k < levels; ++k, h /= q) {
            const double r = y[2 * (k * n + i)], v = y[2 * (k * n + i) + 1];
            g[k] = v / h;
            mag[k] = fabs(g[k]);
            if (!isfinite(r) || !isfinite(g[k])) {
                finite = 0;
                if (isnan(v)) lost = 1;
            }
        }
        /* Neville in h^2: after column j, g[k] (k >= j) holds the order-2(j+1) value of levels
         * k-j .. k, and mag[k] the same combination of |g| (its rounding amplification) */
        for (int j = 1; j < cols; ++j) {
            const double c = 1.0 / (qp[j] - 1.0);
            for (int k = levels - 1; k >= j; --k) {
                g[k] = g[k] + (g[k] - g[k - 1]) * c;
                mag[k] = mag[k] * (1.0 + c) + mag[k - 1] * c;
            }
        }
        const double a = g[cols - 1], b = g[cols];
        const double fp = fr[2 * i], fpi = fr[2 * i + 1];
        const double fm = fr[2 * (n + i)], fmi = fr[2 * (n + i) + 1];
        const double qo = qp[cols];
        const double d = (fp - fm) / (2.0 * hc[i]);
        const double d_round = (noise + 4 * DBL_EPSILON) * (fabs(fp) + fabs(fm)) / hc[i];
        const double trunc = TRUNC_SAFETY * fabs(a - b) * qo / (qo - 1.0);
        df[i] = a;
        error[i] = trunc + (noise + DBL_EPSILON) * mag[cols - 1];
        if (!finite) {
            status[i] = lost ? FD_COMPLEX_LOST : FD_NO_FINITE;
        } else if (fpi != 0.0 || fmi != 0.0) {
            status[i] = FD_COMPLEX_LOST; /* f is not real on the real axis */
        } else if (!isfinite(d)) {
            status[i] = FD_NO_FINITE; /* nothing real to check against */
        } else if (fabs(a - d) >
                   CHECK_RTOL * fmax(fabs(a), fabs(d)) + 100.0 * d_round + trunc + slack[i]) {
            status[i] = FD_COMPLEX_LOST;
        } else {
            status[i] = FD_CONVERGED;
        }
        if (status[i] == FD_CONVERGED && !(error[i] >= 0.0)) status[i] = FD_NO_FINITE;
        if (status[i] != FD_CONVERGED) {
            if (!finite) df[i] = NAN;
            error[i] = INFINITY;
        }
    }
}

/*
 * Higher derivatives from the Cauchy integral on a circle of radius r around x, by the
 * trapezoid rule on N = 2 (npts - 1) points (Lyness & Moler 1967, SIAM J. Numer. Anal. 4(2),
 * 202-210; Fornberg 1981, ACM TOMS 7(4), 512-526):
 *     f^(n)(x) ~= n! / (N r^n) sum_{k<N} f(x + r w^k) w^(-k n),   w = exp(2 pi i / N),
 * with error sum_{m>=1} n! r^(mN) f^(n+mN)(x) / (n+mN)!, i.e. (r / R)^N for a singularity at
 * distance R.  For f real on the real axis f(conj z) = conj f(z), so the values at
 * k = 0 .. N/2 (re, im: npts per element) determine a real sum.  Outputs per element: the
 * N-point estimate, the N/2-point one (every other point; its difference bounds the error of
 * the N-point estimate), and the rounding bound n! (m eps) sum |f_k| / (N r^n).
 */
void fd_contour(ptrdiff_t m, int n, int npts, const double *re, const double *im,
                const double *r, double *d_full, double *d_half, double *rho)
{
    const int N = 2 * (npts - 1);
    double nfact = 1.0;
    for (int i = 2; i <= n; ++i) nfact *= i;
    for (ptrdiff_t e = 0; e < m; ++e) {
        const double *fr = re + e * npts, *fi = im + e * npts;
        double full = 0.0, half = 0.0, mag = 0.0;
        for (int k = 0; k < npts; ++k) {
            /* Re(f_k w^(-kn)); interior points count twice (their conjugates) */
            const double ang = 2.0 * 3.14159265358979323846 * (double)k * n / N;
            const double term = fr[k] * cos(ang) + fi[k] * sin(ang);
            const double wk = (k == 0 || k == npts - 1) ? 1.0 : 2.0;
            full += wk * term;
            mag += wk * hypot(fr[k], fi[k]);
            if (k % 2 == 0) half += wk * term;  /* every other point: N/2 on the circle */
        }
        double rn = 1.0;
        for (int i = 0; i < n; ++i) rn *= r[e];
        d_full[e] = nfact * full / (N * rn);
        d_half[e] = nfact * half / ((N / 2) * rn);
        rho[e] = nfact * (4.0 * N * DBL_EPSILON) * mag / (N * rn);
    }
}
