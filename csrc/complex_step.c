/*
 * Complex step: f'(x) = Im f(x + i h) / h + O(h^2), with no subtractive cancellation, so h can
 * be tiny (Squire & Trapp 1998, SIAM Rev. 40(1), 110-112; Martins, Sturdza & Alonso 2003,
 * ACM TOMS 29(3), 245-262).
 *
 * Design.  C1 = Im f(x + i h1) / h1 with h1 tiny is the estimate.  C2 at h2 >> h1 differs from
 * C1 by its own truncation (~ f''' h2^2 / 6) plus both roundings, so |C1 - C2| + 4 noise |C1|
 * bounds the error of C1.  An f that drops the imaginary part (abs, np.real, float()) or is not
 * analytic still returns a plausible number, so C1 is checked against a real central
 * difference D at hc: they must agree to CHECK_RTOL relative (far looser than either method's
 * error, far tighter than the O(1) discrepancy of a lost imaginary part).
 */
#include "fastdiff.h"

#include <float.h>
#include <math.h>

#define CHECK_RTOL 1e-3

void fd_complex_step(ptrdiff_t n, const double *im1, const double *im2, const double *fp,
                     const double *fm, const double *fpi, const double *fmi, const double *h1,
                     const double *h2, const double *hc, double noise, double *df,
                     double *error, int *status)
{
    for (ptrdiff_t i = 0; i < n; ++i) {
        const double c1 = im1[i] / h1[i];
        const double c2 = im2[i] / h2[i];
        const double d = (fp[i] - fm[i]) / (2.0 * hc[i]);
        const double d_round = (noise + 4 * DBL_EPSILON) * (fabs(fp[i]) + fabs(fm[i])) / hc[i];
        df[i] = c1;
        error[i] = fabs(c1 - c2) + 4.0 * (noise + DBL_EPSILON) * fabs(c1);
        if (!isfinite(c1) || !isfinite(c2)) {
            status[i] = isnan(im1[i]) ? FD_COMPLEX_LOST : FD_NO_FINITE;
        } else if (fpi[i] != 0.0 || fmi[i] != 0.0) {
            status[i] = FD_COMPLEX_LOST;  /* f is not real on the real axis */
        } else if (!isfinite(d)) {
            /* f is not finite beside x on the real axis, so nothing checks that it kept the
             * imaginary part (seen: NaN + 0j for x > 0 gave c1 = 0 "converged" at x = 1e-3) */
            status[i] = FD_NO_FINITE;
        } else if (fabs(c1 - d) > CHECK_RTOL * fmax(fabs(c1), fabs(d)) + 100.0 * d_round) {
            status[i] = FD_COMPLEX_LOST;
        } else {
            status[i] = FD_CONVERGED;
        }
        if (status[i] != FD_CONVERGED || !(error[i] >= 0.0)) {
            error[i] = status[i] == FD_CONVERGED ? INFINITY : fmax(error[i], fabs(c1 - d));
            if (!(error[i] >= 0.0)) error[i] = INFINITY;
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
