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
        } else if (isfinite(d) &&
                   fabs(c1 - d) > CHECK_RTOL * fmax(fabs(c1), fabs(d)) + 100.0 * d_round) {
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
