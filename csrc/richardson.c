/*
 * Richardson extrapolation over the step ladder, with a verified error model.
 *
 * Design.  Level k has step h_k = h_0 q^-k and base estimate A_k = sum_j w_j f(x + c_j h_k) / h_k^n
 * with error expansion a_p h^p + a_{p+s} h^{p+s} + ...  (s = 2 for central stencils).  The
 * Neville tableau T_k[j] = T_k[j-1] + (T_k[j-1] - T_{k-1}[j-1]) / (q^{e_{j-1}} - 1), with
 * e_j = p + j s, removes one term per column.  Its differences D_k[j] = T_k[j] - T_{k-1}[j]
 * shrink by q^{e_j} per level once h is in the asymptotic range.  We trust nothing on faith:
 *
 *   - column j is "on rate" at row k when D_{k-1}[j] / D_k[j] lies within a factor RATE_BAND
 *     of q^{e_j}; an extrapolated value T_k[j+1] is a candidate only when column j was on rate
 *     at two consecutive rows, and its error is |T_k[j+1] - T_k[j]| (the size of the correction,
 *     which in the asymptotic range exceeds the error of T_k[j+1] itself), plus the residual
 *     |D_{k-1}[j] - q^e D_k[j]| of the rate test (what the leading term leaves
 *     unexplained: later terms and noise in f, which the correction shrinks by q^e - 1), plus
 *     rounding;
 *   - a column whose difference is within the rounding bound, after being on rate or at
 *     rounding level one row earlier, is saturated: T_k[j] is a candidate with error
 *     |D_k[j]| + rounding, and refining further cannot help;
 *   - rounding of A_k is bounded term by term: (noise + weight error + eps/2) sum_j |w_j f_j|
 *     for the values, weights and products, eps/2 per partial sum for the additions, and
 *     (n + 1) eps/2 |A_k| for the division by h^n; propagated through the tableau's own
 *     recursion, entry by entry (each level's bound where it enters);
 *   - a saturating difference that collapsed (fell by more than its rate allows) is a chance
 *     zero of the truncation: its error counts the truncation the last difference shows;
 *   - f may be noisier than `noise` says: below the best level, a base difference D_k[0]
 *     that misses its rate is noise, so sigma ~ |D_k[0]| h^n / sum|w| is learned from it and
 *     the best estimate's error gets that noise's effect at the best level's step; so is a
 *     difference in any column that misses its rate and grows as h shrinks, far below |A|
 *     (an f that cancels internally shows its noise in the higher columns first); each
 *     sample counts as absolute noise and as noise relative to the level's |f_j|, and the
 *     model whose samples agree better over the levels is applied;
 *   - n = 1 central only: the one-sided slopes F - B = (f(x+h) + f(x-h) - 2 f(x)) / h must
 *     shrink with h (like h f''); if they do not, f has a kink and no candidate is trusted.
 *
 * The best candidate is the one with the smallest error.  Since every candidate must pass the
 * rate tests (two consecutive ratios, so a chance agreement of aliased or noisy estimates is
 * unlikely) and its error is the full correction rather than a guess of the next term, taking
 * the minimum does not select a lucky underestimate.  Elements stop when the tolerance is met,
 * a column saturates, rounding alone exceeds the best error, or the ladder ends.
 *
 * Status: CONVERGED / DOMAIN_ADAPTED (non-finite levels were skipped, ladder went on) /
 * BOUNDS_ADAPTED (one-sided because of bounds) / NOT_CONVERGED (user tolerance missed) /
 * NO_FINITE / INCONSISTENT (no candidate passed the tests; df is the best unverified guess).
 */
#include "fastdiff.h"

#include <float.h>
#include <math.h>

/*
 * fmax and fmin, inlined.  Without -ffinite-math-only GCC calls libm's for every one (a call
 * through the PLT per use, about 5% of the ladder's time on d/dx sin, issue 10).  These give
 * the same bits as glibc's x86-64 fmax/fmin (maxsd/minsd: the second operand when the two
 * compare equal, so for +0/-0; a NaN operand yields the other): a > b ? a : b, or a when b
 * is NaN.  (Only two NaNs differ: this returns the first, glibc their sum, a NaN either way.)
 */
static inline double max_of(double a, double b) { return a > b || b != b ? a : b; }
static inline double min_of(double a, double b) { return a < b || b != b ? a : b; }

/* Rare paths (non-finite levels, the fixed step, noise learning) are kept out of the common
 * path's code: out of line and, where the compiler knows how, marked cold (issue 10). */
#if defined(__GNUC__) || defined(__clang__)
#define FD_COLD __attribute__((cold, noinline))
#define FD_INLINE inline __attribute__((always_inline))
#define FD_UNLIKELY(c) __builtin_expect(!!(c), 0)
#else
#define FD_COLD
#define FD_INLINE inline
#define FD_UNLIKELY(c) (c)
#endif

/* fd_spacing (stencil.c), here where the ladder can inline it: the same expression */
static inline double spacing(double x, double h) { return (x + h) - x; }

/* accepted ratio: q^e / band .. q^e * band, band = RATE_BAND at q = 1 + sqrt(2), i.e. an
 * observed exponent within log_q(1.5) = 0.46 of e: loose enough for the next term's
 * influence, tight enough to reject h^(1/2) behaviour (x^1.5 at 0) posing as h^1.  Other
 * ratios (the golden ratio for n >= 5) keep that exponent band: band = q^0.46 (a fixed 1.5 at
 * q = 1.618 would accept exponents within 0.84, and noise passed the rate tests). */
#define RATE_BAND 1.5
#define RATE_BAND_Q 2.414213562373095  /* 1 + sqrt(2), where the band is RATE_BAND */
#define NOISE_FRACTION 1e-6  /* a growing difference below this times |A| is rounding */
#define FIXED_SAFETY 2.0   /* fixed step: factor on the one-term Richardson error estimate */
#define NOISE_SAT_SAFETY 3.0  /* column 0 at learned-noise level: factor on the noise's effect */
#define HIGHER_NOISE_RHO 1e3  /* ... and from differences within this times the rounding bound */
#define NOISE_MODEL_MARGIN 2.0  /* noise samples' spreads that pick absolute or relative noise */
/* an extrapolated candidate's bar: its rate residual's effect on it, times this (on the
 * honesty study, scaling every column: 3 misses at 1, undeclared noise, n = 3; at 2 none for
 * n <= 4 but one at n = 6, forward sin(10 x) at 0.3; none at 3 or 4) */
#define RESID_SAFETY 3.0
/* the share of column 0's correction |T_k[1] - T_k[0]| that an extrapolated candidate's bar
 * counts.  The correction is T_k[0]'s error (the leading term), not T_k[1]'s: once column 0 is
 * on rate at two consecutive rows, what is left in T_k[1] is the next term and noise, which
 * the residual's share (RESID_SAFETY above) bounds.  The honesty study (tests/honesty.py, 68
 * functions, n <= 6, every variant and stencil): no new miss at 0.5, one at 0.4 and at 0.3
 * (backward n = 4); medians (n <= 4) 9.1-13.6 at 0.5, from 9.7-15.3 at 1.  Only the bar: err
 * keeps the whole correction to rank and stop, so the ladder's steps, estimates and nfev
 * are unchanged (tools/ladder_bitcheck.py: only errors and 12 statuses of 79 470 arrays
 * differ, 3 288 errors smaller, none larger).  Higher columns keep the whole correction: they
 * can pass their rate tests before their later terms are asymptotic (see RESID_SAFETY).
 * (Issue 9.) */
#define CORR0_SHARE 0.5

static double mag(const double *v, int ncomp) { return ncomp == 1 ? fabs(v[0]) : hypot(v[0], v[1]); }

/* |T[j]| of a tableau row stored as t[component][column] */
static double mag_col(double t[2][FD_MAX_COLS], int j, int ncomp)
{
    return ncomp == 1 ? fabs(t[0][j]) : hypot(t[0][j], t[1][j]);
}

/* Powers of r: out[j] = r^{e_j}, e_j = order + j * order_step, j < ncols. */
static void rich_powers(double r, const fd_stencil *s, int ncols, double *out)
{
    double rp = 1.0, rs = 1.0;
    for (int i = 0; i < s->order; ++i) rp *= r;
    for (int i = 0; i < s->order_step; ++i) rs *= r;
    for (int j = 0; j < ncols; ++j) {
        out[j] = rp;
        rp *= rs;
    }
}

void fd_ladder_prepare(fd_ladder_config *cfg)
{
    for (int side = 0; side < FD_N_SIDES; ++side) {
        const fd_stencil *s = &cfg->stencil[side];
        double *qe = cfg->qe[side];
        rich_powers(cfg->q, s, FD_MAX_COLS + 1, qe);
        /* rounding amplification prod_{i<j} (q^{e_i} + 1) / (q^{e_i} - 1): the nominal ratio
         * is enough for a bound (r differs from q by far less than the bound's slack) */
        cfg->amp[side][0] = 1.0;
        for (int j = 0; j <= FD_MAX_COLS; ++j) {
            const double den = qe[j] - 1.0;
            const double e = s->order + j * s->order_step;
            cfg->inv_den[side][j] = 1.0 / den;
            /* d/d delta of 1 / ((q (1 + delta))^e - 1) at 0 */
            cfg->inv_den_dq[side][j] = -e * qe[j] / (den * den);
            if (j < FD_MAX_COLS) cfg->amp[side][j + 1] = cfg->amp[side][j] * (den + 2.0) / den;
        }
    }
    cfg->qn = 1.0;
    for (int i = 0; i < cfg->n; ++i) cfg->qn *= cfg->q;
    cfg->sqrt_q = sqrt(cfg->q);
    cfg->inv_q = 1.0 / cfg->q;
    cfg->rate_band = pow(cfg->q, log(RATE_BAND) / log(RATE_BAND_Q));
}

void fd_ladder_init(const fd_ladder_config *cfg, fd_ladder_state *st, double x, double h0,
                    int side, int flags, const double *f0)
{
    (void)cfg;
    *st = (fd_ladder_state){0};
    st->x = x;
    st->h = h0;
    st->side = side;
    st->flags = flags;
    st->f0[0] = f0[0];
    st->f0[1] = cfg->ncomp == 2 ? f0[1] : 0.0;
    st->best_err = st->best_bar = INFINITY;
    st->fallback_err = INFINITY;
    st->fallback[0] = st->fallback[1] = NAN;
    st->best[0] = st->best[1] = NAN;
    st->best_step = st->fallback_step = h0;
    st->h0 = h0;
    if (!isfinite(st->f0[0]) || !isfinite(st->f0[1])) {
        st->done = 1;  /* f(x) itself is not finite: there is no derivative to estimate */
    }
}

/*
 * The effect on an estimate of the noise of f learned so far: twice the noise times its gain.
 * f's noise may be absolute (rounding inside a cancelling f, such as 1 + x^2 in log(1 + x^2):
 * the same at every level) or relative to its values (which shrink with the step where
 * f(x) = 0).  Each sample gives both (ladder_update's learning); the model whose samples
 * agree better over the levels is the one f follows (log(1 + x^2) at 0: absolute samples
 * 5e-18 .. 2e-17 over 11 levels, relative ones 4e-9 .. 0.4; sinh at 0 with relative noise
 * 1e-10: relative 7e-12 .. 4e-11, absolute 2e-20 .. 1e-16).  Until the samples tell (one
 * sample, or spreads within a factor NOISE_MODEL_MARGIN of each other), the larger effect.
 */
static double noise_effect(const fd_ladder_state *st, double gain, double scale)
{
    const double e_abs = st->noise_seen * gain, e_rel = st->noise_rel * scale;
    const double spread_abs = st->noise_seen * st->noise_rel_min;  /* both times the mins */
    const double spread_rel = st->noise_rel * st->noise_min;
    if (NOISE_MODEL_MARGIN * spread_abs < spread_rel) return 2.0 * e_abs;
    if (NOISE_MODEL_MARGIN * spread_rel < spread_abs) return 2.0 * e_rel;
    return 2.0 * max_of(e_abs, e_rel);
}

/* A candidate estimate; gain and scale convert an absolute and a relative noise level of f
 * into its effect on v.  err ranks the candidates and steers the ladder (when to stop); bar,
 * at most err, is the error bar reported for it. */
static FD_INLINE void offer_bar(fd_ladder_state *st, const double *v, double err, double bar, double h,
                      int trusted, int nc, double gain, double scale)
{
    if (trusted) {
        /* compared with the noise of f already learned: a finer step's candidate that noise
         * swamps must not displace a coarser one (seen: cosc at 0 walked to h = 1e-9, where
         * f's cancellation gives df = 0 exactly) */
        const double eff = max_of(err, noise_effect(st, gain, scale));
        if (eff < max_of(st->best_err, noise_effect(st, st->best_gain, st->best_scale))) {
            for (int c = 0; c < nc; ++c) st->best[c] = v[c];
            st->best_err = err;
            st->best_bar = bar;
            st->best_step = h;
            st->best_gain = gain;
            st->best_scale = scale;
            st->flags |= FD_FLAG_TRUSTED;
        }
    } else if (err < st->fallback_err) {
        for (int c = 0; c < nc; ++c) st->fallback[c] = v[c];
        st->fallback_err = err;
        st->fallback_step = h;
    }
}

static void offer(fd_ladder_state *st, const double *v, double err, double h, int trusted, int nc,
                  double gain, double scale)
{
    offer_bar(st, v, err, err, h, trusted, nc, gain, scale);
}

/* Is D_{k-1} / D_k within RATE_BAND of the predicted q^e?  (complex: the ratio must be real) */
static int on_rate(const double *dprev, const double *d, double target, int nc, double band)
{
    if (nc == 1) {  /* dprev / d within [target / band, target * band], without dividing */
        const double a = dprev[0] * (d[0] < 0 ? -1.0 : 1.0), b = fabs(d[0]);
        return a * band >= target * b && a <= target * band * b && b > 0;
    }
    const double den = d[0] * d[0] + d[1] * d[1];
    const double rr = (dprev[0] * d[0] + dprev[1] * d[1]) / den;
    const double ri = (dprev[1] * d[0] - dprev[0] * d[1]) / den;
    return rr >= target / band && rr <= target * band && fabs(ri) <= 0.5 * rr;
}

/* Does D_{k-1} / D_k exceed the predicted q^e by more than RATE_BAND?  Then the leading
 * term vanishes and a later one leads: truncation, not noise. */
static int faster_than(const double *dprev, const double *d, double target, int nc, double band)
{
    if (nc == 1) return dprev[0] * (d[0] < 0 ? -1.0 : 1.0) > target * band * fabs(d[0]);
    const double den = d[0] * d[0] + d[1] * d[1];
    return (dprev[0] * d[0] + dprev[1] * d[1]) > target * band * den;
}

/* The best estimate's error, with the effect of any noise seen below it: what steers the
 * ladder (fd_ladder_error) and what is reported (fd_ladder_bar). */
static double fd_ladder_error(const fd_ladder_state *st)
{
    return max_of(st->best_err, noise_effect(st, st->best_gain, st->best_scale));
}

static double fd_ladder_bar(const fd_ladder_state *st)
{
    return max_of(st->best_bar, noise_effect(st, st->best_gain, st->best_scale));
}

/* x^n for a small non-negative integer n. */
static double ipow(double x, int n)
{
    double r = 1.0;
    for (int i = 0; i < n; ++i) r *= x;
    return r;
}

/*
 * A central stencil met non-finite values: on one side of x only, for cfg->auto_side levels
 * in a row (the step shrank by q^auto_side and f is still undefined there), f's domain ends
 * at x or within a sliver of it.  The element restarts at its first step with the one-sided
 * stencil that stays on the finite side (finish_level divides h by q once more).
 */
static void turn_one_sided(const fd_ladder_config *cfg, fd_ladder_state *st, const double *fv)
{
    const fd_stencil *s = &cfg->stencil[st->side];
    const int nc = cfg->ncomp;
    int neg = 0, pos = 0;
    for (int j = 0; j < s->npts; ++j) {
        int bad = 0;
        for (int c = 0; c < nc; ++c) bad |= !isfinite(fv[j * nc + c]);
        if (bad && s->offsets[j] < 0) neg = 1;
        if (bad && s->offsets[j] > 0) pos = 1;
    }
    const int side = neg == pos ? 0 : (neg ? FD_SIDE_FORWARD : FD_SIDE_BACKWARD);
    st->nan_run = side && side == st->nan_side ? st->nan_run + 1 : (side ? 1 : 0);
    st->nan_side = side;
    if (side && st->nan_run >= cfg->auto_side) {
        st->side = side;
        st->h = st->h0 * cfg->q;
        st->nan_run = 0;
    }
}

/* Component c of the previous tableau row and of its differences. */
static double *row_of(fd_ladder_state *st, int c) { return c ? st->row_im : st->row; }

/* Does a vector a follow b in direction (same sign; within 30 degrees for complex f) and
 * exceed it at least g-fold in size? */
static int grows_from(const double *a, const double *b, double g, int nc)
{
    double dot = 0.0, aa = 0.0, bb = 0.0;
    for (int c = 0; c < nc; ++c) {
        dot += a[c] * b[c];
        aa += a[c] * a[c];
        bb += b[c] * b[c];
    }
    return dot > 0.0 && aa >= g * g * bb && dot * dot >= 0.75 * aa * bb;
}

/* Are column 0's base estimates growing like h^-n, in one direction, as the step shrinks
 * (see its use in the rate tests)?  Two rows in a row, each at least q^(n/2)-fold: the
 * rounding of an f whose derivative is zero grows like h^-n as well, but in no direction.
 * At the second row, with one ratio only, it must be q^n to within the rate band. */
static int has_frozen_growth(const fd_ladder_config *cfg, double t[2][FD_MAX_COLS],
                             fd_ladder_state *st, int nc)
{
    double now[2], before[2], first[2];
    for (int c = 0; c < nc; ++c) {
        now[c] = t[c][0];
        before[c] = row_of(st, c)[0];
    }
    const double g = sqrt(cfg->qn);
    if (!grows_from(now, before, g, nc)) return 0;
    if (st->rows == 1) {  /* |A_1| / |A_0| within the band of q^n */
        return grows_from(now, before, cfg->qn / cfg->rate_band, nc) &&
               !grows_from(now, before, cfg->qn * cfg->rate_band, nc);
    }
    first[0] = before[0] - st->diff[0];  /* A_{k-2} = A_{k-1} - D_{k-1}[0] */
    if (nc == 2) first[1] = before[1] - st->diff_im[0];
    return grows_from(before, first, g, nc);
}

static double *diff_of(fd_ladder_state *st, int c) { return c ? st->diff_im : st->diff; }

/* rho0: the rounding bound of this level's base estimate, with the noise learned so far */
static FD_INLINE int finish_level(const fd_ladder_config *cfg, fd_ladder_state *st, double rho0)
{
    st->levels += 1;
    st->h /= cfg->q;
    const double scale = mag(st->best, cfg->ncomp);
    if (cfg->fixed) {
        st->done = st->levels >= 3;
    } else if (st->levels >= cfg->max_levels) {
        st->done = 1;
    } else if (st->flags & FD_FLAG_HOLD) {
        st->flags &= ~FD_FLAG_HOLD;  /* one more level: see the saturation test */
    } else if (st->flags & FD_FLAG_TRUSTED) {
        /* met the tolerance, or the next level's rounding alone exceeds the best error */
        const double err = fd_ladder_error(st);
        st->done = err <= cfg->atol + cfg->rtol * scale || rho0 * cfg->qn > err;
    } else if (st->flags & FD_FLAG_FINITE) {
        /* rounding swamps every estimate seen (after a few levels, so that exact zeros can
         * saturate first): hopeless */
        st->done = st->rows >= 4 && rho0 > st->amax;  /* rows: finite levels in a row */
    }
    return st->done;
}

void fd_ladder_set_pair(fd_ladder_state *st, double x2, double scale2)
{
    st->x2 = x2;
    st->scale2 = scale2;
}

void fd_ladder_set_noise_abs(fd_ladder_state *st, double sigma) { st->noise_abs = sigma; }

/* Fold noise samples into st's: absolute ones from lo to hi, relative ones (to the level's
 * mean |f_j|) from rel_lo to rel_hi (see ladder_update and noise_effect). */
static inline void fold_noise(fd_ladder_state *st, double hi, double lo, double rel_hi,
                              double rel_lo)
{
    if (!(st->noise_seen > 0)) st->noise_min = lo, st->noise_rel_min = rel_lo;
    st->noise_seen = max_of(st->noise_seen, hi);
    st->noise_min = min_of(st->noise_min, lo);
    st->noise_rel = max_of(st->noise_rel, rel_hi);
    st->noise_rel_min = min_of(st->noise_rel_min, rel_lo);
}

/* fold the noise samples `from` learned into `to`'s, as if `to` had learned them */
static void take_noise(fd_ladder_state *to, const fd_ladder_state *from)
{
    if (!(from->noise_seen > 0)) return;
    fold_noise(to, from->noise_seen, from->noise_min, from->noise_rel, from->noise_rel_min);
}

void fd_ladder_share_noise(fd_ladder_state *st, ptrdiff_t n, const ptrdiff_t *key,
                           fd_ladder_state *pool, ptrdiff_t nkeys)
{
    for (ptrdiff_t k = 0; k < nkeys; ++k) pool[k].noise_seen = 0.0;
    for (ptrdiff_t i = 0; i < n; ++i)
        if (key[i] >= 0) take_noise(&pool[key[i]], &st[i]);
    for (ptrdiff_t i = 0; i < n; ++i)
        if (key[i] >= 0 && (st[i].flags & FD_FLAG_MOVED)) take_noise(&st[i], &pool[key[i]]);
}

/* A level that met non-finite values: the stencil left f's domain.  Drop the tableau and go
 * smaller (or, central, turn one-sided). */
static FD_COLD int nonfinite_level(const fd_ladder_config *cfg, fd_ladder_state *st,
                                   const double *fv)
{
    st->flags |= FD_FLAG_NONFINITE;
    st->rows = 0;
    st->kink_prev = NAN;
    if (cfg->fixed) {
        st->levels = 2;  /* the fixed-step formula itself is not finite */
    } else if (cfg->auto_side > 0 && st->side == FD_SIDE_CENTRAL) {
        turn_one_sided(cfg, st, fv);
    }
    return finish_level(cfg, st, 0.0);
}

/* Noise samples sigma (absolute) and sigma_rel (relative to the level's mean |f_j|) learned
 * from a difference (see ladder_update and noise_effect). */
static FD_COLD void learn_noise(fd_ladder_state *st, double sigma, double sigma_rel)
{
    fold_noise(st, sigma, sigma, sigma_rel, sigma_rel);
}

/* A level of the fixed-step mode (cfg->fixed): level 0's base estimate a is the answer;
 * levels 1 and 2 (h/q, h/q^2) measure its truncation error.  target = r^p. */
static FD_COLD int fixed_level(const fd_ladder_config *cfg, fd_ladder_state *st, const double *a,
                               double h, double rho0, double wabs, double absum, double inv_hn,
                               double target, int kink_ok)
{
    const int nc = cfg->ncomp;
    const int lv = st->levels;
    double d[2] = {0.0, 0.0};
    for (int c = 0; c < nc; ++c) d[c] = row_of(st, c)[0] - a[c];
    if (lv == 0) {
        for (int c = 0; c < nc; ++c) st->fallback[c] = a[c];
        st->fallback_step = h;
        st->fixed_rho0 = rho0;
        st->fixed_gain = wabs * inv_hn;
        st->fixed_scale = absum * inv_hn;
    } else if (lv == 1) {
        /* D_1 = A_0 - A_1 ~ a_p h^p (1 - q^-p): the error of A_0 is D_1 q^p / (q^p - 1) */
        st->fixed_d1[0] = d[0];
        st->fixed_d1[1] = d[1];
        st->fallback_err = st->fixed_rho0 + mag(d, nc) * target / (target - 1.0);
    } else {
        const double d1 = mag(st->fixed_d1, nc);
        double err = NAN;
        if (d1 <= st->fixed_rho0 + st->rho_prev) {
            err = st->fixed_rho0 + d1;  /* A_0 is exact up to rounding */
        } else if (on_rate(st->fixed_d1, d, target, nc, cfg->rate_band)) {
            err = st->fixed_rho0 + FIXED_SAFETY * d1 * target / (target - 1.0);
        }
        if (err == err && kink_ok) {
            offer(st, st->fallback, err, st->fallback_step, 1, nc, st->fixed_gain,
                  st->fixed_scale);
        }
    }
    for (int c = 0; c < nc; ++c) row_of(st, c)[0] = a[c];
    st->rho_prev = rho0;
    st->rows = 1;
    return finish_level(cfg, st, rho0);
}

/* fd_ladder_update for nc = cfg->ncomp components, a constant where it is inlined below: the
 * real case (nc = 1) then has no branches on nc left (issue 10, d/dx sin on 8192 points
 * replayed: 1120 -> 890 instructions per element and level under callgrind, 64 -> 51 ns at
 * best on the shared machine; results bit for bit the same). */
static inline int ladder_update(const fd_ladder_config *cfg, fd_ladder_state *st,
                                const double *fv_in, ptrdiff_t stride, const int nc)
{
    const fd_stencil *s = &cfg->stencil[st->side];
    const int m = s->npts;
    const double h = spacing(st->x, st->h);
    /* a pair divides by the product of its two spacings (n = 2) */
    const double hn = st->scale2 > 0 ? h * spacing(st->x2, st->h * st->scale2)
                                     : ipow(h, cfg->n);
    /* the only divisions of a level; one where hn is h itself (n = 1, not a pair: ipow gives
     * 1.0 * h, the same bits) */
    const double inv_h = 1.0 / h;
    const double inv_hn = cfg->n == 1 && !(st->scale2 > 0) ? inv_h : 1.0 / hn;
    double fv_copy[2 * FD_MAX_POINTS];
    const double *fv = fv_in;
    if (stride != nc) {  /* one output of a group: gather its values */
        for (int j = 0; j < m; ++j) {
            for (int c = 0; c < nc; ++c) fv_copy[j * nc + c] = fv_in[j * stride + c];
        }
        fv = fv_copy;
    }
    const double r = st->rows > 0 ? st->h_prev * inv_h : cfg->q;
    st->h_prev = h;

    /* Non-finite values: the stencil left f's domain.  Drop the tableau and go smaller. */
    for (int t = 0; t < m * nc; ++t) {
        if (FD_UNLIKELY(!isfinite(fv[t]))) return nonfinite_level(cfg, st, fv);
    }
    st->flags |= FD_FLAG_FINITE;
    st->nan_run = 0;

    /* Every value equal to f(x), after a level where they were not: the step fell below the
     * resolution of f (log(1 + x^2) at 0, n = 6: 1 + h^2 rounds to 1), so this level and all
     * finer ones carry no information, and their exact zero is no evidence of a zero
     * derivative.  A first level already flat is a constant f (over 2^-3 |x| or more). */
    int flat = 1;
    for (int j = 0; j < m && flat; ++j) {
        for (int c = 0; c < nc; ++c) flat &= fv[j * nc + c] == st->f0[c];
    }
    if (flat && (st->flags & FD_FLAG_MOVED)) {
        st->levels += 1;
        st->done = 1;
        return 1;
    }
    if (!flat) st->flags |= FD_FLAG_MOVED;

    /* Base estimate and its rounding bound. */
    double a[2] = {s->w0 * st->f0[0], s->w0 * st->f0[1]};
    double absum = fabs(s->w0) * mag(st->f0, nc);
    double wabs = fabs(s->w0);
    double psum = mag(a, nc);  /* sum of |partial sums|: what the additions round */
    for (int j = 0; j < m; ++j) {
        for (int c = 0; c < nc; ++c) a[c] += s->weights[j] * fv[j * nc + c];
        absum += fabs(s->weights[j]) * mag(fv + j * nc, nc);
        wabs += fabs(s->weights[j]);
        psum += mag(a, nc);
    }
    /*
     * Rounding of A = sum_j w_j f_j / h^n, first order: each f_j is off by noise |f_j| (plus
     * the absolute noise_abs declared for this element, so noise_abs sum|w|), each weight by
     * weight_err, each product by u = eps / 2 (so (noise + weight_err + u) sum|w f|),
     * each addition by u |partial sum|, and the division by h^n (n - 1 products, a reciprocal
     * and a product) by (n + 1) u |A|.  Counted term by term rather than as (m + 1) eps sum|w f|,
     * which assumed every partial sum as large as sum|w f|.
     */
    const double u = 0.5 * DBL_EPSILON;
    const double rho0 = ((cfg->noise + cfg->weight_err[st->side] + u) * absum +
                         st->noise_abs * wabs + u * (psum + (cfg->n + 1) * mag(a, nc))) * inv_hn;
    for (int c = 0; c < nc; ++c) a[c] *= inv_hn;
    /* an absolute noise sigma rounds like an f of size sigma / eps */
    if (!(st->zero_scale > 0)) {
        st->zero_scale = (absum + st->noise_abs * wabs / DBL_EPSILON) * inv_hn;
    }
    const double amag = mag(a, nc);
    if (amag > st->amax) st->amax = amag;

    /* Kink test (n = 1, central, offsets +-1 first): the gap between one-sided slopes. */
    int kink_ok = 1;
    if (cfg->kink_check && st->side == FD_SIDE_CENTRAL) {
        double g[2] = {0.0, 0.0};
        for (int c = 0; c < nc; ++c) g[c] = (fv[c] + fv[nc + c] - 2.0 * st->f0[c]) * inv_h;
        const double gap = mag(g, nc);
        const double gap_round = 4.0 * (cfg->noise + 4 * DBL_EPSILON) *
                                 (mag(fv, nc) + mag(fv + nc, nc) + 2.0 * mag(st->f0, nc)) * inv_h +
                                 16.0 * st->noise_abs * inv_h;  /* the same per f_j, |w| 1, 1, 2 */
        /* smooth: gap ~ h |f''| halves per level; a kink keeps it ~ constant */
        kink_ok = gap <= gap_round || (st->rows > 0 && st->kink_prev >= cfg->sqrt_q * gap);
        st->kink_prev = gap;
        if (!kink_ok) st->flags |= FD_FLAG_KINK;
        else st->flags &= ~FD_FLAG_KINK;
    }

    /* New tableau row. */
    double t[2][FD_MAX_COLS];
    const int ncols = st->rows + 1 < cfg->max_cols ? st->rows + 1 : cfg->max_cols;
    /*
     * 1 / (r^e_j - 1) for this level's real ratio r = q (1 + delta): delta is O(ulp(x) / h),
     * so the first-order expansion is exact to O(delta^2) and needs no division.  r^e_j itself
     * (the rate tests' target) likewise.
     */
    const double delta = r * cfg->inv_q - 1.0;
    const double *amp = cfg->amp[st->side];
    double inv_den[FD_MAX_COLS + 1], qe[FD_MAX_COLS + 1];
    for (int j = 0; j <= ncols && j <= FD_MAX_COLS; ++j) {
        const double e = s->order + j * s->order_step;
        inv_den[j] = cfg->inv_den[st->side][j] + cfg->inv_den_dq[st->side][j] * delta;
        qe[j] = cfg->qe[st->side][j] * (1.0 + e * delta);
    }
    if (FD_UNLIKELY(cfg->fixed)) {
        return fixed_level(cfg, st, a, h, rho0, wabs, absum, inv_hn, qe[0], kink_ok);
    }
    for (int c = 0; c < nc; ++c) {
        t[c][0] = a[c];
        for (int j = 1; j < ncols; ++j) {
            t[c][j] = t[c][j - 1] + (t[c][j - 1] - row_of(st, c)[j - 1]) * inv_den[j - 1];
        }
    }
    /*
     * Rounding bound of each entry, propagated through the recursion itself:
     * T_k[j] = (r^e T_k[j-1] - T_{k-1}[j-1]) / (r^e - 1) moves by at most
     * (r^e R_k[j-1] + R_{k-1}[j-1]) / (r^e - 1) when its two inputs move by R_k[j-1] and
     * R_{k-1}[j-1], plus the rounding of its own subtraction, product and sum (2u |T_k[j]|).
     * The product prod (r^e + 1) / (r^e - 1) times this level's bound, used before, assumed
     * every earlier level as uncertain as this one: an over-count where rounding grows like
     * 1 / h^n (the earlier, coarser levels round less), and an under-count where it shrinks
     * (f(x) = 0 and f ~ h^2 nearby: log(1 + x^2) at 0, backward n = 1, noise 1e-10 declared,
     * was trusted at 4.7e-13 for a true error of 6e-13, its coarse levels' rounding 30x this
     * level's).
     */
    double rnd[FD_MAX_COLS];
    rnd[0] = rho0;
    for (int j = 1; j < ncols; ++j) {
        rnd[j] = (qe[j - 1] * rnd[j - 1] + st->rnd[j - 1]) * inv_den[j - 1] +
                 2.0 * u * mag_col(t, j, nc);
    }


    /* Rate tests down each column present in both rows. */
    int saturated = 0, exact_below = 0, rate0 = 0, hold = 0;
    const double noise_before = st->noise_seen, rel_before = st->noise_rel;
    const int after_hold = st->flags & FD_FLAG_HELD;
    st->flags &= ~FD_FLAG_HELD;
    const int nboth = st->rows < ncols ? st->rows : ncols;
    for (int j = 0; j < nboth; ++j) {
        const double ampj = amp[j];
        const double rho = rnd[j], rho_below = st->rnd[j];  /* this row's and the last's */
        double d[2] = {0.0, 0.0};
        for (int c = 0; c < nc; ++c) d[c] = t[c][j] - row_of(st, c)[j];
        const double dm = mag(d, nc);
        const double dp[2] = {st->diff[j], nc == 2 ? st->diff_im[j] : 0.0};
        const int has_rate = j < st->rows - 1;
        const int rate = has_rate && on_rate(dp, d, qe[j], nc, cfg->rate_band);
        /* within the rounding of both entries; or of this level's base estimate times the
         * worst-case amplification prod (r^e + 1) / (r^e - 1), which the propagated bound
         * undercuts where f rounds worse than eps |f| (exp(10 x) at 1: its argument's
         * rounding is 10 ulps of f; held to that bound it took two more levels to stop) */
        /* Column 0's base estimates growing like h^-n in one direction as the step shrinks
         * (two rows running, see has_frozen_growth): not rounding, which has no direction,
         * but a stencil sum frozen at f's rounding level, sum_j w_j f_j ~ constant.  A
         * bounded f at steps far beyond its own scale does this: each A_k is within its
         * rounding bound of zero (that bound shrinks as h^-n too) while the truncation is
         * the whole derivative.  sigmoid at 30, forward n = 6, was trusted at 3.1e-15 for a
         * true error of 9.2e-14 from h = 2.7 (|f - 1| = 850 ulps at x, 0-55 ulps at the
         * other nodes; A_k -5.4e-20, -1.1e-17, -1.3e-15 from h = 16, ratios 198 = q^6 and
         * 124).  Not a saturation then: the element goes on to where the estimates stop
         * growing (noise, where the bound has outgrown the truncation) or settle. */
        const int sat = dm <= max_of(rho + rho_below, (rho0 + st->rho_prev) * ampj) &&
                        !(j == 0 && has_frozen_growth(cfg, t, st, nc));
        /* column 0 within the effect of the noise learned at earlier rows (sigma moves A_k by
         * up to sigma sum|w| / h^n, so D_k[0] by that at both steps): the base estimates
         * agree as well as f's noise lets them.  A linear f that cancels (a least-squares
         * residual a c - y at its solution: rounding eps |y|, far above eps |f|) never gets
         * its differences within rho and was untrusted (status -3). */
        /* (nothing learned yet, the common case: nz would be 0, or NaN from 0 * inf, and
         * at_noise false either way, so the division is skipped) */
        const double nz = j == 0 && (noise_before > 0 || rel_before > 0)
                              ? 2.0 * max_of(noise_before * wabs, rel_before * absum) *
                                    (inv_hn + inv_hn / ipow(r, cfg->n))
                              : 0.0;
        const int at_noise = nz > 0 && dm <= rho + rho_below + nz;
        /* Column 0 off rate, and not shrinking faster than predicted (that is a vanishing
         * leading term: (x-1)^3 at 1 one-sided): noise in f, in units of f, when it is below
         * a trusted level, or when the difference grew as the step shrank while staying far
         * below the estimate (rounding of an f that cancels internally, where sum|w f| / h^n
         * underestimates it: a residual x_1 - 2 x_2 + x_3 near 0; large steps that alias
         * give differences of the estimate's own size instead). */
        const int grew = dm > mag(dp, nc) && dm <= NOISE_FRACTION * amag;
        if (j == 0) rate0 = rate;
        const int followup = after_hold && j > 0 && has_rate && sat;
        if ((has_rate && !rate && !sat &&
             (j == 0 ? (st->flags & FD_FLAG_TRUSTED) || grew
                     : grew && rate0 && dm <= HIGHER_NOISE_RHO * rho) &&
             !faster_than(dp, d, qe[j], nc, cfg->rate_band)) || followup) {
            /* The same evidence in a higher column (growing, off rate, far below |A|), while
             * column 0 follows its power law at this row (so the expansion holds and column j
             * should hold only later terms): f's noise swamps them.  A cancelling f (a row of
             * W @ g(x)) has noise eps sum_k |W_ik g_k|, hundreds of times eps |f|, that shows
             * only here.  Noise sigma in f moves T_k[j] by at most sigma amp_j sum|w| / h^n.
             * Not without column 0 on rate: a vanishing leading term ((x - 1)^3 at 1,
             * one-sided) leaves the extrapolation's own rounding in the higher columns.  (Not
             * where f(x) = 0 either, once: a relative noise carried to a finer level as
             * absolute made bars 5x looser there, tan at 0; each sample now also counts as
             * relative noise, see noise_effect, and that guard went.)  Not from a difference far above the rounding bound (more than the 10-500x a
             * cancelling sum hides): that is a column not yet in its asymptotic range, and
             * exp(sin x) at 1, backward, learned a noise of 1e-10 from one (bar 2.4e-6 for a
             * true error of 1.4e-10).
             * And the level after a hold (a higher column saturated above its predicted rate,
             * below): a difference of that column within the rounding bound is the noise
             * sample that the hold waited for (a row of W @ (exp(x) x), trusted at 2.3e-14 for
             * a true error of 2.8e-14, differed by 3.6e-14 one level on). */
            /* column 0 shows noise over many rows, a higher column in one or two before the
             * element stops: there a single difference is the whole sample, and it can be
             * small by chance (seen: 5.1e-14 one level below a best estimate 3.2e-14 off), so
             * it is taken whole rather than halved */
            const double sigma = (j == 0 ? 0.5 : 1.0) * dm * hn / (wabs * ampj);
            /* and relative to this level's mean |f_j| (see noise_effect) */
            const double sigma_rel = sigma * wabs / absum;
            learn_noise(st, sigma, sigma_rel);
        }
        /* the rate test's residual: what column j's leading power law leaves unexplained */
        double resid[2] = {dp[0] - qe[j] * d[0], dp[1] - qe[j] * d[1]};
        const double resid_round = 2.0 * rho_below + qe[j] * (rho + rho_below);
        /* exact to rounding, and to 1e-6 of the difference itself: a next-order term can
         * cancel the residual by chance at one row to 1e-4 (seen), not plausibly to 1e-6 */
        const int exact_law = rate && mag(resid, nc) <= resid_round &&
                              mag(resid, nc) <= 1e-6 * mag(dp, nc);
        /* a difference at rounding level is trusted only with evidence that the column is
         * exact: it was on rate or at rounding level one row earlier, or the column below
         * follows its power law to rounding (so this one is exact).  Two consecutive
         * extrapolated entries can otherwise agree by chance while both are off (seen: a 5e-8
         * error claimed as 6e-9).  Column 0 needs no evidence: two base estimates at
         * different steps differ by (q^p - 1) times their truncation error, so agreeing to
         * rounding means that error is below rounding. */
        /* the column below follows its law, but this column's own difference collapsed
         * (fell in size by more than its rate allows, either sign): a chance zero of its
         * truncation, not exactness, which leaves the previous difference at rounding too.
         * Seen: a backward jvp (sin(z) * z[::-1]) trusted with a bar of 2.4e-13 for a true
         * error of 7.2e-11, column 1's difference falling from 4.6e-9 to 9e-14 in one row
         * while column 2 was on rate; another one 7.9e-11 for 3e-10, -9.9e-9 to 4.2e-11). */
        const int collapsed = has_rate && mag(dp, nc) > qe[j] * cfg->rate_band * dm;
        if (sat && (j == 0 || (st->ratio_ok >> j & 1u) || (exact_below && !collapsed))) {
            /* A higher column whose evidence was a rate test one row earlier (a difference
             * above rounding) and whose difference now is larger than that rate predicts
             * has reached its floor: rounding, or noise in f that only looks within the
             * rounding bound by chance (a cancelling f, a row of sparse W @ g(x), whose
             * noise eps sum_k |W_ik g_k| the bound does not see: trusted at 9.9e-15 for a
             * true error of 1.5e-14).  The candidate stands, but the element takes one more
             * level, where that noise, if any, shows and is learned. */
            const int slow = j > 0 && has_rate && mag(dp, nc) > 2.0 * rho_below &&
                             mag(dp, nc) * cfg->rate_band < qe[j] * dm;
            if (slow) hold = 1;
            else saturated = 1;
            double v[2] = {t[0][j], nc == 2 ? t[1][j] : 0.0};
            /* A difference that collapsed into the rounding bound (fell by more than its
             * rate allows since the row before) is a chance zero of the truncation, or noise
             * cancelling it, not a sign that the truncation is below rounding.  The column's
             * power law failed here (a truncation still in its asymptotic range would have
             * moved by about |D_{k-1}| / r^e), so its truncation is bounded by the scale of the
             * last difference above rounding, |D_{k-1}| / (r^e - 1), which the error counts
             * (|D_{k-1}| / (r^e (r^e - 1)), a power law's prediction, left forward n = 4 of
             * x^1.5 at 1 trusted at 6.3e-2 for 6.4e-2).  Seen with noise 1e-10
             * declared: cos(x^2) at 1, backward n = 2, column 0 fell from 3.7e-3 to 2.1e-5 and
             * was trusted at 4.5e-5 for a true error of 5.2e-4; tanh at 0.1 and atan(x^3) at
             * -1.5 (backward n = 4), erfc and sin(exp x) at 0.5 (forward n = 3) likewise. */
            const double left = collapsed ? mag(dp, nc) / (qe[j] - 1.0) : 0.0;
            /* on rate at this row and the last, and above this entry's rounding: the
             * difference is the truncation's, and what is left of it in T_k[j] is about
             * |D_k[j]| / (r^e - 1) (the band for the next term), not |D_k[j]| (d^4/dx^4
             * exp(x) sin(x) at 0.7: bar 3.5e-8 -> 1.5e-8 for a true error of 1.6e-9).  Not
             * within rounding: a chance pass there left a central jvp (tanh(W x + b), seed
             * 42) trusted at 7.9e-14 for 1e-13. */
            const double moved = rate && (st->ratio_ok >> j & 1u) && dm > rho
                                     ? cfg->rate_band * dm / (qe[j] - 1.0) : dm;
            offer(st, v, moved + left + rho, h, kink_ok, nc, ampj * wabs * inv_hn,
                  ampj * absum * inv_hn);
        } else if (at_noise && (st->ratio_ok & 1u)) {
            /* at noise level two rows in a row: a candidate, with NOISE_SAT_SAFETY times the
             * noise's effect (the noise learned is an estimate from a few differences, and a
             * single factor 1 or 2 missed on the honesty study's undeclared-noise f), which
             * does not stop the element: finer levels can still reveal more noise */
            double v[2] = {t[0][j], nc == 2 ? t[1][j] : 0.0};
            offer(st, v, dm + rho + NOISE_SAT_SAFETY * nz, h, kink_ok, nc, ampj * wabs * inv_hn,
                  ampj * absum * inv_hn);
        } else if (rate && (st->ratio_ok >> j & 1u) && j + 1 < ncols) {
            double v[2] = {t[0][j + 1], nc == 2 ? t[1][j + 1] : 0.0};
            double corr[2] = {t[0][j + 1] - t[0][j], nc == 2 ? t[1][j + 1] - t[1][j] : 0.0};
            /* plus the rate test's residual: later terms and noise, which corr shrinks by
             * q^e - 1 */
            const double amp1 = amp[j + 1];
            const double err = mag(corr, nc) + mag(resid, nc) + rnd[j + 1];
            /* The bar takes the residual's effect on T_k[j+1] instead, RESID_SAFETY times
             * over.  The residual D_{k-1} - r^e D_k is -(r^e - 1) D_k[j+1]: later terms move
             * T_k[j+1] by about resid / ((r^e - 1)(r^{e+s} - 1)), and noise eps_i in the
             * entries of column j moves it by (r^e eps_k - eps_{k-1}) / (r^e - 1), while the
             * residual carries r^e eps_k + (r^e + 1) eps_{k-1} + eps_{k-2}: about
             * resid / (r^e - 1) either way, where noise grows as the steps shrink.  Column 0
             * only: a higher column can pass its rate tests before its later terms are
             * asymptotic, and then T_k[j+1] is off by the residual itself (log at 3e-9,
             * backward, noise undeclared: column 2's residual 469, true error 372, a bar of
             * 121 when scaled by 3 / (r^3 - 1)).  err keeps the whole residual to rank and
             * stop, so the ladder takes the same steps and estimates as before.  (Issue 9.) */
            const double bar = (j == 0 ? CORR0_SHARE : 1.0) * mag(corr, nc) +
                               (j == 0 ? min_of(1.0, RESID_SAFETY * inv_den[0]) : 1.0) *
                                   mag(resid, nc) +
                               rnd[j + 1];
            offer_bar(st, v, err, bar, h, kink_ok, nc, amp1 * wabs * inv_hn,
                      amp1 * absum * inv_hn);
        }
        /* unverified guess for INCONSISTENT results (the Ridders-style two-sided difference),
         * only needed while nothing is trusted */
        if (j + 1 < ncols && !(st->flags & FD_FLAG_TRUSTED)) {
            double v[2] = {t[0][j + 1], nc == 2 ? t[1][j + 1] : 0.0};
            double e1[2] = {t[0][j + 1] - t[0][j], nc == 2 ? t[1][j + 1] - t[1][j] : 0.0};
            const double err = max_of(mag(e1, nc), dm) + rnd[j + 1];
            offer(st, v, err, h, 0, nc, 0.0, 0.0);
        }
        for (int c = 0; c < nc; ++c) diff_of(st, c)[j] = d[c];
        /* a collapsed difference is no evidence for the next row (the residual of a Jacobian
         * at its solution, J[7, 1], saturated on it one row later: 2.6e-15 for 4.4e-15) */
        const unsigned ok = (sat && !collapsed) || rate || at_noise;
        st->ratio_ok = (st->ratio_ok & ~(1u << j)) | (ok << j);
        exact_below = exact_law;
    }
    if (st->rows == 0) {
        offer(st, a, INFINITY, h, 0, nc, 0.0, 0.0);
        if (st->fallback_err == INFINITY) {
            for (int c = 0; c < nc; ++c) st->fallback[c] = a[c];
            st->fallback_step = h;
        }
    }
    for (int c = 0; c < nc; ++c) {
        for (int j = 0; j < ncols; ++j) row_of(st, c)[j] = t[c][j];
    }
    for (int j = 0; j < ncols; ++j) st->rnd[j] = rnd[j];
    st->rows += 1;
    st->rho_prev = rho0;
    /* a hold outweighs another column's saturation at the same row: the noise it waits for
     * would otherwise never show (log(1 + x^2) at 0, n = 1 with noise 1e-10 declared: its
     * 1 + x^2 rounds to eps absolute, and column 5 saturating beside the held column 4 left
     * a bar of 5.8e-13 for a true error of 6e-13) */
    if (hold) st->flags |= FD_FLAG_HOLD | FD_FLAG_HELD;
    if (saturated && !hold && (st->flags & FD_FLAG_TRUSTED)) {
        st->levels += 1;
        st->done = 1;
        return 1;
    }
    /* the next level's floor: rounding, and the noise of f learned so far (its gain grows
     * like 1 / h^n as fast as rounding's) */
    return finish_level(cfg, st, rho0);
}

int fd_ladder_update(const fd_ladder_config *cfg, fd_ladder_state *st, const double *fv_in,
                     ptrdiff_t stride)
{
    return cfg->ncomp == 1 ? ladder_update(cfg, st, fv_in, stride, 1)
                           : ladder_update(cfg, st, fv_in, stride, 2);
}

ptrdiff_t fd_ladder_update_groups(const fd_ladder_config *cfg, fd_ladder_state *st, ptrdiff_t m,
                                  ptrdiff_t *idx, ptrdiff_t nidx, const double *fv)
{
    const ptrdiff_t row = m * cfg->ncomp;
    ptrdiff_t keep = 0, r = 0;
    for (ptrdiff_t i = 0; i < nidx; ++i) {
        fd_ladder_state *g = &st[idx[i] * m];
        int npts = 0, running = 0, side = -1;
        for (ptrdiff_t k = 0; k < m; ++k) {
            if (!g[k].done) {
                npts = cfg->stencil[g[k].side].npts;
                const int before = g[k].side;
                running += !fd_ladder_update(cfg, &g[k], fv + r + k * cfg->ncomp, row);
                if (g[k].side != before) side = g[k].side;
            }
        }
        /* one member turned one-sided: the group shares its points, so all running members
         * restart with it (the others' central tableaux no longer apply) */
        for (ptrdiff_t k = 0; k < m && side >= 0; ++k) {
            if (!g[k].done && g[k].side != side) {
                g[k].side = side;
                g[k].h = g[k].h0;
                g[k].rows = 0;
                g[k].kink_prev = NAN;
                g[k].nan_run = 0;
            }
        }
        if (running) idx[keep++] = idx[i];
        r += (ptrdiff_t)npts * row;
    }
    return keep;
}

void fd_ladder_results(const fd_ladder_config *cfg, const fd_ladder_state *st, ptrdiff_t n,
                       double *df, double *error, int *status, double *step)
{
    const int nc = cfg->ncomp;
    for (ptrdiff_t i = 0; i < n; ++i) {
        const fd_ladder_state *e = &st[i];
        const double *v;
        if (e->flags & FD_FLAG_TRUSTED) {
            v = e->best;
            error[i] = fd_ladder_bar(e);
            step[i] = e->best_step;
            if (cfg->user_tol && error[i] > cfg->atol + cfg->rtol * mag(e->best, nc)) {
                status[i] = FD_NOT_CONVERGED;
            } else if (!cfg->user_tol && error[i] > mag(e->best, nc) &&
                       error[i] > cfg->zero_rtol * e->zero_scale) {
                /* an error bar above the value says nothing about it, unless the derivative
                 * is zero to the accuracy the method reaches at this f's scale */
                status[i] = FD_NOT_CONVERGED;
            } else if (e->flags & FD_FLAG_NONFINITE) {
                status[i] = FD_DOMAIN_ADAPTED;
            } else if (e->flags & FD_FLAG_BOUNDS) {
                status[i] = FD_BOUNDS_ADAPTED;
            } else {
                status[i] = FD_CONVERGED;
            }
        } else {
            v = e->fallback;
            error[i] = isfinite(e->fallback[0]) ? e->fallback_err : INFINITY;
            step[i] = e->fallback_step;
            status[i] = (e->flags & FD_FLAG_FINITE) ? FD_INCONSISTENT : FD_NO_FINITE;
        }
        for (int c = 0; c < nc; ++c) df[i * nc + c] = v[c];
        if (!(error[i] >= 0.0)) error[i] = INFINITY;
    }
}
