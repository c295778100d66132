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
 * finite cannot vouch for A: FD_NO_FINITE.  Levels that disagree beyond rounding and their
 * truncation hold f's noise: FD_INCONSISTENT (NOISE_ULPS).  slack: an extra allowance per element (the
 * caller's: D's own truncation, where a retry showed it shrinking like hc^2).  The caller retries both with a smaller hc (a
 * domain edge within hc, or D's own truncation at a scale finer than x's); df keeps A.
 */
#include "fastdiff.h"

#include <float.h>
#include <math.h>

#define CHECK_RTOL 1e-3
#define ONC_NMAX 32 /* N = 2 (npts - 1) at most on a circle: npts <= 17 */

/* w^p (w = exp(2 pi i / N), 0 <= p < N) from the table of w^k, k < npts, as (re, im) pairs:
 * w^(N - p) = conj w^p, so the values stay correctly rounded and exactly symmetric */
static void unit_root(const double *ang, int npts, int p, double *c, double *s)
{
    const int N = 2 * (npts - 1);
    *c = p < npts ? ang[2 * p] : ang[2 * (N - p)];
    *s = p < npts ? ang[2 * p + 1] : -ang[2 * (N - p) + 1];
}
/* The difference estimates the leading h^p term exactly; the next term, of either sign, can add
 * a fraction of it (h^2 f^(p+3) / f^(p+1) over the ratio of their factorials): 1.5 covers it
 * up to half the leading one. */
#define TRUNC_SAFETY 1.5
/* The levels' slopes g_k agree to a few ulps where f is computed to an ulp (the truncation
 * between them is far below eps at h0 = 2^-40 max(|x|, 1)): a disagreement beyond NOISE_ULPS
 * times the rounding assumed, and beyond the levels' truncation as the real check bounds it
 * (NOISE_TRUNC_SAFETY for the terms after f''' h^2 / 6), is noise in f that the model does
 * not count, and one sample of it (|A - B|) cannot bound A's: FD_INCONSISTENT. */
#define NOISE_ULPS 64.0
#define NOISE_TRUNC_SAFETY 4.0

void fd_complex_step(ptrdiff_t n, int cols, const double *y, const double *h0, double q,
                     const double *fr, const double *hc, const double *slack,
                     const double *scale, double noise, double *df, double *error,
                     int *status)
{
    const double subnormal = 0x1p-1074; /* the quantum of Im f, however small */
    if (cols < 1) cols = 1;
    if (cols > FD_COMPLEX_MAX_COLS) cols = FD_COMPLEX_MAX_COLS;
    const int levels = cols + 1;
    double qp[FD_COMPLEX_MAX_COLS + 1]; /* q^(2j) */
    qp[0] = 1.0;
    for (int j = 1; j <= cols; ++j) qp[j] = qp[j - 1] * q * q;
    for (ptrdiff_t i = 0; i < n; ++i) {
        double g[FD_COMPLEX_MAX_COLS + 1], mag[FD_COMPLEX_MAX_COLS + 1];
        int finite = 1, lost = 0;
        double h = h0[i], dev = 0.0, size = 0.0, hmin = h0[i];
        for (int k = 0; k < levels; ++k, h /= q) {
            const double r = y[2 * (k * n + i)], v = y[2 * (k * n + i) + 1];
            g[k] = v / h;
            mag[k] = fabs(g[k]);
            dev = fmax(dev, fabs(g[k] - g[0]));
            size = fmax(size, mag[k]);
            hmin = h;
            if (!isfinite(r) || !isfinite(g[k])) {
                finite = 0;
                if (isnan(v)) lost = 1;
            }
        }
        const double g0 = g[0];
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
            /* the levels' noise test (NOISE_ULPS): their truncation, g_k - g_0 =
             * -f''' (h_k^2 - h_0^2) / 6 + ..., is bounded by the real check's discrepancy
             * (f''' (hc^2 - h_0^2) / 6) and rounding, scaled by (h0 / hc)^2 (f' = 0 at a
             * stationary point: g_k all truncation, D all rounding); the rounding is relative to
             * Im f's terms, |f| / scale where they cancel (x^3 exp(-x) at 3: g_0 = 0, g_1 =
             * 2.7e-16), and Im f rounds to 2^-1074 at least (exp at -700: Im f subnormal) */
            const double ratio = h0[i] / hc[i];
            const double lv_trunc = NOISE_TRUNC_SAFETY * (fabs(g0 - d) + d_round) * ratio * ratio;
            const double terms = fabs(y[2 * i]) / scale[i];
            const double lv_round =
                NOISE_ULPS * ((noise + DBL_EPSILON) * (size + terms) + subnormal / hmin);
            status[i] = dev > lv_round + lv_trunc ? FD_INCONSISTENT : FD_CONVERGED;
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
                const double *r, const double *ang, double *d_full, double *d_half, double *rho,
                double *q_rms)
{
    const int N = 2 * (npts - 1);
    double nfact = 1.0;
    for (int i = 2; i <= n; ++i) nfact *= i;
    /* w^(kn) from p = kn mod N and the table of w^k (k < npts; w^(N-p) = conj w^p): the
     * correctly rounded, exactly symmetric values (see _complex.circle_angles), where
     * cos(2 pi k n / N) rounded its argument (4 pi at k n = 64) by up to 1.4e-15 */
    double cs[ONC_NMAX / 2 + 1], sn[ONC_NMAX / 2 + 1];
    for (int k = 0; k < npts && k <= ONC_NMAX / 2; ++k) {
        unit_root(ang, npts, (int)(((long)k * n) % N), &cs[k], &sn[k]);
    }
    for (ptrdiff_t e = 0; e < m; ++e) {
        const double *fr = re + e * npts, *fi = im + e * npts;
        double full = 0.0, half = 0.0, mag = 0.0, big = 0.0;
        double a[ONC_NMAX / 2 + 1];
        for (int k = 0; k < npts; ++k) {
            /* Re(f_k w^(-kn)); interior points count twice (their conjugates) */
            const double term = fr[k] * cs[k] + fi[k] * sn[k];
            const double wk = (k == 0 || k == npts - 1) ? 1.0 : 2.0;
            a[k] = hypot(fr[k], fi[k]);
            big = fmax(big, a[k]);
            full += wk * term;
            mag += wk * a[k];
            if (k % 2 == 0) half += wk * term;  /* every other point: N/2 on the circle */
        }
        if (q_rms) { /* rms|f| / mean|f| (weighted as the sum), scaled by the largest: no
                      * underflow of |f|^2 at 1e-200 */
            const double sc = big > 0.0 ? 1.0 / big : 1.0;
            double s1 = 0.0, s2 = 0.0;
            for (int k = 0; k < npts; ++k) {
                const double wk = (k == 0 || k == npts - 1) ? 1.0 : 2.0, v = a[k] * sc;
                s1 += wk * v;
                s2 += wk * v * v;
            }
            const double q = sqrt(s2 / N) / (s1 / N);
            q_rms[e] = (isfinite(q) && q > 0.0) ? q : 1.0;
        }
        double rn = 1.0;
        for (int i = 0; i < n; ++i) rn *= r[e];
        d_full[e] = nfact * full / (N * rn);
        d_half[e] = nfact * half / ((N / 2) * rn);
        rho[e] = nfact * (4.0 * N * DBL_EPSILON) * mag / (N * rn);
    }
}

/*
 * f's values moved from the points z it saw onto the circle x + r ang (see on_the_circle in
 * src/fastdiff/_complex.py for the model and the bounds; this is its arithmetic, per element).
 *
 * z is x + r w^k correctly rounded, and the caller passes the rest exactly (to 2^-104 r):
 * err_k = x + r w^k - z_k, complex (_complex.circle_points: error-free transformations of the
 * double-double w^k).  f on the circle is f(z) + f' err - f'' err^2 / 2, with
 * r w^k f' = sum_j j c_j w^(jk) and r^2 w^2k f'' = sum_j j (j - 1) c_j w^(jk) from the
 * discrete Fourier coefficients c_j of the N = 2 (npts - 1) values (Henrici vol. 3, 13.3;
 * Fornberg 1981).  f is real on the real axis, so the N values are conjugate-symmetric and
 * the c_j are real: a direct real DFT over the npts values, w^p from p = jk mod N.  The move is
 * repeated from the moved values (at most `passes` times) until it settles.
 */
/* c_j, j < N, of the conjugate-symmetric extension of v (npts (re, im) pairs), times scale.
 * ct, st: w^(jk) as (npts, N) tables (row k); the loop over j inside keeps the N sums
 * independent (each still adds its terms k = 1 .. npts-2 in turn). */
static void onc_coefficients(int npts, const double *v, const double *ct, const double *st,
                             double scale, double *c)
{
    const int N = 2 * (npts - 1);
    double s[ONC_NMAX];
    for (int j = 0; j < N; ++j) s[j] = 0.0;
    for (int k = 1; k < npts - 1; ++k) { /* Re(v_k w^(-jk)) */
        const double a = v[2 * k], b = v[2 * k + 1];
        const double *ck = ct + k * N, *sk = st + k * N;
        for (int j = 0; j < N; ++j) s[j] += a * ck[j] + b * sk[j];
    }
    for (int j = 0; j < N; ++j) {
        const double last = (j % 2 == 0) ? v[2 * (npts - 1)] : -v[2 * (npts - 1)];
        c[j] = (v[0] + last + 2.0 * s[j]) * scale;
    }
}

/* |a + i b|: sqrt(a^2 + b^2) where that neither overflows nor underflows (within an ulp of
 * hypot, and much cheaper), hypot elsewhere. */
static double onc_abs(double a, double b)
{
    const double s = a * a + b * b;
    return (s > 1e-290 && s < 1e290) ? sqrt(s) : hypot(a, b);
}

/* (a + i b) / (c + i d), Smith's algorithm (as NumPy divides). */
static void onc_div(double a, double b, double c, double d, double *re, double *im)
{
    if (fabs(c) >= fabs(d)) {
        const double t = d / c, den = c + d * t;
        *re = (a + b * t) / den;
        *im = (b - a * t) / den;
    } else {
        const double t = c / d, den = c * t + d;
        *re = (a * t + b) / den;
        *im = (b * t - a) / den;
    }
}

void fd_on_circle(ptrdiff_t m, int npts, const double *y, const double *x, const double *r,
                  const double *err, const double *ang, int passes, double *moved,
                  double *residual, double *top, double *below)
{
    const int N = 2 * (npts - 1);
    if (npts < 2 || N > ONC_NMAX) return;
    /* w^(jk) = cos + i sin of 2 pi (jk mod N) / N (the angle from jk mod N: exact), as
     * (N, npts) tables: row j for the coefficients, column k for the sums at point k */
    double cw[ONC_NMAX * (ONC_NMAX / 2 + 1)], sw[ONC_NMAX * (ONC_NMAX / 2 + 1)];
    double ct[ONC_NMAX * (ONC_NMAX / 2 + 1)], st[ONC_NMAX * (ONC_NMAX / 2 + 1)];
    double wt[ONC_NMAX / 2 + 1], c1[ONC_NMAX], s1[ONC_NMAX];
    for (int p = 0; p < N; ++p) unit_root(ang, npts, p, &c1[p], &s1[p]);
    for (int k = 0; k < npts; ++k)
        for (int j = 0, p = 0; j < N; ++j, p = (p + k >= N) ? p + k - N : p + k) {
            cw[j * npts + k] = ct[k * N + j] = c1[p]; /* p = jk mod N */
            sw[j * npts + k] = st[k * N + j] = s1[p];
        }
    for (int k = 0; k < npts; ++k) wt[k] = (k == 0 || k == npts - 1) ? 1.0 : 2.0;
    /* 1 / ang_k and 1 / ang_k^2, once: f' = (r w^k f') / (r ang_k) and the same for f'' */
    double ia[2 * (ONC_NMAX / 2 + 1)], ia2[2 * (ONC_NMAX / 2 + 1)];
    for (int k = 0; k < npts; ++k) {
        const double ar = ang[2 * k], ai = ang[2 * k + 1];
        onc_div(1.0, 0.0, ar, ai, &ia[2 * k], &ia[2 * k + 1]);
        onc_div(1.0, 0.0, ar * ar - ai * ai, 2.0 * ar * ai, &ia2[2 * k], &ia2[2 * k + 1]);
    }
    /* the second-order term matters only where e / r is above ~1e-9 anywhere (one rule for all
     * elements, as in the NumPy model); and an element whose values are all finite at all */
    int second = 0, any_ok = 0;
    for (ptrdiff_t i = 0; i < m; ++i) {
        int fin = 1;
        for (int k = 0; k < npts; ++k) {
            const double e = onc_abs(err[2 * (i * npts + k)], err[2 * (i * npts + k) + 1]);
            if (e * N > 1e-9 * r[i]) second = 1;
            if (!isfinite(e) || !isfinite(y[2 * (i * npts + k)]) ||
                !isfinite(y[2 * (i * npts + k) + 1]))
                fin = 0;
        }
        any_ok |= fin;
    }
    for (ptrdiff_t i = 0; i < m; ++i) {
        const double *yi = y + 2 * i * npts;
        double *mv = moved + 2 * i * npts;
        double er[ONC_NMAX / 2 + 1], ei[ONC_NMAX / 2 + 1], ea[ONC_NMAX / 2 + 1];
        double rdf[2 * (ONC_NMAX / 2 + 1)], c[ONC_NMAX], nw[2 * (ONC_NMAX / 2 + 1)];
        int finite = 1;
        for (int k = 0; k < npts; ++k) {
            er[k] = err[2 * (i * npts + k)];
            ei[k] = err[2 * (i * npts + k) + 1];
            ea[k] = onc_abs(er[k], ei[k]);
            mv[2 * k] = yi[2 * k];
            mv[2 * k + 1] = yi[2 * k + 1];
            rdf[2 * k] = rdf[2 * k + 1] = 0.0;
            if (!isfinite(ea[k]) || !isfinite(yi[2 * k]) || !isfinite(yi[2 * k + 1])) finite = 0;
        }
        if (!any_ok) {
            residual[i] = top[i] = below[i] = 0.0;
            continue;
        }
        const double ri = r[i], ir = 1.0 / ri, ir2 = ir * ir;
        double big = 0.0, mean_abs = 0.0, mean_w = 0.0;
        for (int k = 0; k < npts; ++k) {
            const double a = onc_abs(yi[2 * k], yi[2 * k + 1]);
            big = fmax(big, a);
            mean_abs += a;
            mean_w += wt[k] * a;
        }
        mean_abs = fmax(mean_abs / npts, DBL_MIN);
        mean_w /= N;
        int ok = finite;
        double change = INFINITY, last = INFINITY, first = 0.0;
        if (ok) {
            int todo = 1;
            for (int pass = 0; pass < passes && todo; ++pass) {
                onc_coefficients(npts, mv, ct, st, 1.0 / N, c);
                double step = 0.0;
                double a1[ONC_NMAX], a2[ONC_NMAX];
                for (int j = 0; j < N; ++j) {
                    a1[j] = j * c[j];
                    a2[j] = (double)j * (j - 1) * c[j];
                }
                /* r w^k f' and r^2 w^2k f'' at every k: the sums over j run outside, so
                 * that the npts sums stay independent (each adds j = 1 .. N-1 in turn) */
                double d1r[ONC_NMAX / 2 + 1], d1i[ONC_NMAX / 2 + 1];
                double d2r[ONC_NMAX / 2 + 1], d2i[ONC_NMAX / 2 + 1];
                for (int k = 0; k < npts; ++k) d1r[k] = d1i[k] = d2r[k] = d2i[k] = 0.0;
                for (int j = 1; j < N; ++j) {
                    const double *cj = cw + j * npts, *sj = sw + j * npts;
                    for (int k = 0; k < npts; ++k) {
                        d1r[k] += a1[j] * cj[k];
                        d1i[k] += a1[j] * sj[k];
                    }
                }
                if (second)
                    for (int j = 2; j < N; ++j) {
                        const double *cj = cw + j * npts, *sj = sw + j * npts;
                        for (int k = 0; k < npts; ++k) {
                            d2r[k] += a2[j] * cj[k];
                            d2i[k] += a2[j] * sj[k];
                        }
                    }
                for (int k = 0; k < npts; ++k) {
                    rdf[2 * k] = d1r[k];
                    rdf[2 * k + 1] = d1i[k];
                    /* f' = (r w^k f') (1 / ang_k) / r */
                    double fr = (d1r[k] * ia[2 * k] - d1i[k] * ia[2 * k + 1]) * ir;
                    double fi = (d1r[k] * ia[2 * k + 1] + d1i[k] * ia[2 * k]) * ir;
                    if (second) {
                        /* f'' = (r^2 w^2k f'') (1 / ang_k^2) / r^2; f' - f'' err / 2 */
                        const double gr = (d2r[k] * ia2[2 * k] - d2i[k] * ia2[2 * k + 1]) * ir2;
                        const double gi = (d2r[k] * ia2[2 * k + 1] + d2i[k] * ia2[2 * k]) * ir2;
                        fr -= (gr * er[k] - gi * ei[k]) / 2;
                        fi -= (gr * ei[k] + gi * er[k]) / 2;
                    }
                    /* f(z) + (f' - f'' err / 2) err */
                    nw[2 * k] = yi[2 * k] + (fr * er[k] - fi * ei[k]);
                    nw[2 * k + 1] = yi[2 * k + 1] + (fr * ei[k] + fi * er[k]);
                    step += wt[k] * onc_abs(nw[2 * k] - mv[2 * k], nw[2 * k + 1] - mv[2 * k + 1]);
                }
                step /= N;
                for (int k = 0; k < 2 * npts; ++k) mv[k] = nw[k];
                last = change;
                change = isfinite(step) ? step : INFINITY;
                /* see on_the_circle: one pass suffices where the move is under 1e-10 |f|;
                 * after that, a change of an ulp or two is the move's own rounding */
                if (pass) {
                    todo = !(change <= 2 * DBL_EPSILON * big);
                } else if (change <= 1e-10 * big) {
                    first = (double)N * N * (change / big) * change;
                    change = 0.0;
                    todo = 0;
                }
            }
            const int diverged = (!(change <= 0.5 * last) && last < INFINITY) || todo;
            ok = !diverged;
        }
        if (!ok)
            for (int k = 0; k < 2 * npts; ++k) mv[k] = yi[k];
        if (!finite) {
            top[i] = below[i] = 0.0;
            residual[i] = (nextafter(fabs(x[i]) + ri, INFINITY) - (fabs(x[i]) + ri)) / ri;
            continue;
        }
        /* the coefficients of the moved values, relative to mean|f| */
        onc_coefficients(npts, mv, ct, st, 1.0 / (N * mean_abs), c);
        /* the top 8 coefficients (j = 24 .. 31 of N = 32) and the 8 below them */
        double tail = 0.0, d3 = 0.0, t2 = 0.0, b2 = 0.0;
        int nt = 0, nb = 0;
        for (int j = 0; j < N; ++j) {
            const double ac = fabs(c[j]) * mean_abs;
            if (j >= 24) tail += ac;
            d3 += (double)j * j * j * ac;
            if (j >= 24 && j < 32) t2 += c[j] * c[j], ++nt;
            if (j >= 16 && j < 24) b2 += c[j] * c[j], ++nb;
        }
        tail *= 2 * N;
        double left = 0.0, angles = 0.0;
        for (int k = 0; k < npts; ++k) {
            const double q = ea[k] * ir;
            left += wt[k] * (q * tail * (1 + q * N / 2) + q * q * q * d3 / 6);
            angles += wt[k] * onc_abs(rdf[2 * k], rdf[2 * k + 1]);
        }
        left = left / N + (ok ? 2 * change + first : 0.0);
        /* the points' own error: err is exact to 2^-104 (|x| + r), |f'| times that per value
         * (was eps |f'| r: the angles rounded to eps / 2 and were not moved) */
        angles = 0x1p-104 * (fabs(x[i]) * ir + 1.0) * angles / N;
        if (ok)
            residual[i] = (left + angles) / fmax(mean_w, mean_abs * 1e-300);
        else
            residual[i] = (nextafter(fabs(x[i]) + ri, INFINITY) - (fabs(x[i]) + ri)) / ri;
        const double scale = mean_abs / fmax(mean_w, 1e-300);
        top[i] = nt ? sqrt(t2 / nt) * scale : 0.0;
        below[i] = nb ? sqrt(b2 / nb) * scale : 0.0;
    }
}

/*
 * The circle's points x + r w^k, correctly rounded in both parts, and the rest err = x + r w^k
 * - z (complex, exact to about 2^-104 (|x| + r)), for w^k = hi_k + lo_k as double-double
 * (_complex.circle_angles): Knuth's TwoSum (TAOCP vol. 2, 4.2.2, Theorem B) and Dekker's
 * product (Numer. Math. 18, 1971, 224-242; r's mantissa split, its exponent put back after,
 * so that the split cannot overflow).  The NumPy model is in tests/contour_reference.py.
 */
static void cp_split(double a, double *hi, double *lo)
{
    const double t = 134217729.0 * a; /* 2^27 + 1 */
    *hi = t - (t - a);
    *lo = a - *hi;
}

/* p + e = a b exactly (p = fl(a b)) for a in [0.5, 1) and |b| <= 1 */
static void cp_two_prod(double a, double b, double *p, double *e)
{
    double ah, al, bh, bl;
    *p = a * b;
    cp_split(a, &ah, &al);
    cp_split(b, &bh, &bl);
    *e = ((ah * bh - *p) + ah * bl + al * bh) + al * bl;
}

void fd_circle_points(ptrdiff_t m, int npts, const double *x, const double *r,
                      const double *hi, const double *lo, double *z, double *err)
{
    for (ptrdiff_t i = 0; i < m; ++i) {
        int ex;
        const double mant = frexp(r[i], &ex), xi = x[i];
        const int pow2 = mant == 0.5 || mant == -0.5 || !isfinite(r[i]);
        for (int k = 0; k < npts; ++k) {
            const double hc = hi[2 * k], hs = hi[2 * k + 1];
            double pr, er, pi, ei;
            if (pow2) { /* r a power of two: r hi exact (the default radii) */
                pr = r[i] * hc;
                pi = r[i] * hs;
                er = ei = 0.0;
            } else {
                cp_two_prod(mant, hc, &pr, &er);
                cp_two_prod(mant, hs, &pi, &ei);
                pr = ldexp(pr, ex);
                er = ldexp(er, ex);
                pi = ldexp(pi, ex);
                ei = ldexp(ei, ex);
            }
            /* real part: x + r cos = s + low, low to 2^-104 (|x| + r) */
            const double s = xi + pr, bb = s - xi;
            const double t = (xi - (s - bb)) + (pr - bb);
            const double low = t + er + r[i] * lo[2 * k];
            const double zr = s + low;
            const double low_i = ei + r[i] * lo[2 * k + 1];
            const double zi = pi + low_i;
            z[2 * (i * npts + k)] = zr;
            z[2 * (i * npts + k) + 1] = zi;
            err[2 * (i * npts + k)] = low - (zr - s);
            err[2 * (i * npts + k) + 1] = low_i - (zi - pi);
        }
    }
}
