/*
 * Derivatives of sampled data on a grid, uniform (spacing dx) or not (nodes x).
 *
 * Design: y is viewed as (outer, len, inner) in C order and differentiated along the middle
 * axis.  Every position i gets three stencils of accuracy p, p + 2, p + 4 (levels 0, 1, 2),
 * weights from Fornberg's algorithm (fd_fornberg_weights).  Level 0 is the answer; levels 1
 * and 2 estimate its error: d1 = |A_0 - A_1| is A_0's error up to the (smaller) error of A_1,
 * and d2 = |A_1 - A_2| tells whether the data are resolved (d2 << d1) or not.
 *
 * Stencils: a centred window of m nodes in the interior (uniform: m = 2 r + 1 with
 * r = (n + 1) / 2 + p / 2 - 1, the symmetric formula of order p; non-uniform: the smallest odd
 * m >= n + p), and a one-sided window of b = n + p nodes at the first or last b nodes near the
 * ends: the same order p at the boundaries.
 *
 * One pass over the data: a tile of up to FD_GRID_TILE lanes (consecutive positions in the
 * uniform interior along a contiguous axis, else consecutive entries of the inner axis) shares
 * its weights; every tap is a multiply-add over the lanes into stack accumulators, so no array
 * is built per stencil point and the lane loops vectorize.  On a uniform grid along a
 * contiguous axis the interior is fused (interior_run): each tile computes the three levels
 * from the shared symmetric sums, writes df, and finishes error and status while its level
 * differences are still in L1; that tile is also built for AVX2 (FD_GRID_CLONES).
 */
#include "fastdiff.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2)
#include <emmintrin.h>
#define FD_GRID_SSE2 1
#else
#define FD_GRID_SSE2 0
#endif

#define FD_GRID_TILE 256

/* Kept out of line: inlined into fd_grid_derivative, the uniform interior's lane loops lost
 * their registers to the surrounding code (2.35 ns per sample instead of 1.45 in cache,
 * order 4, measured in C).  An optimisation hint only, no target change. */
#if defined(__GNUC__) || defined(__clang__)
#define FD_GRID_NOINLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#define FD_GRID_NOINLINE __declspec(noinline)
#else
#define FD_GRID_NOINLINE
#endif

/* The fused interior tile is also compiled for AVX2 (four doubles per vector instead of two),
 * chosen at load time where the CPU has it (GCC's function multiversioning: x86-64 glibc,
 * whose loader resolves the ifunc; musl has none).  The same operations in the same order, no
 * FMA (C99 mode keeps contraction off, and "avx2" does not enable FMA), so the results are
 * bitwise those of the baseline clone (checked over all paths, n 1-4, orders 2-8, NaNs). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__ELF__) && \
    defined(__GLIBC__) && !defined(FASTDIFF_NO_CLONES)
#define FD_GRID_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define FD_GRID_CLONES
#endif
/* the tile's helpers are inlined into each clone (otherwise they stay baseline code) */
#if defined(__GNUC__) || defined(__clang__)
#define FD_GRID_INLINE inline __attribute__((always_inline))
#else
#define FD_GRID_INLINE inline
#endif

/* Window of `level` at position i: first node and node count. */
static void window(const fd_grid_plan *plan, int level, ptrdiff_t i, ptrdiff_t *start, int *w)
{
    const int m = plan->interior[level], r = m / 2, b = plan->boundary[level];
    const ptrdiff_t len = plan->len;
    if (i - r >= 0 && i + r <= len - 1 && m <= len) {
        *start = i - r;
        *w = m;
    } else {
        *start = (i < len - 1 - i) ? 0 : len - b;
        *w = b;
    }
}

/* Weights of the n-th derivative at position i on nodes start .. start + w - 1. */
static int weights(const fd_grid_plan *plan, const double *x, ptrdiff_t i, ptrdiff_t start,
                   int w, double *out)
{
    double offsets[FD_GRID_MAX_WIDTH] = {0.0};
    double c[(FD_GRID_MAX_N + 1) * FD_GRID_MAX_WIDTH];
    const int n = plan->n;
    for (int j = 0; j < w; ++j) {
        offsets[j] = x ? x[start + j] - x[i] : (double)(start + j - i);
    }
    const int check = fd_fornberg_weights(offsets, w, n, c);
    const double scale = x ? 1.0 : 1.0 / pow(plan->dx, n);
    for (int j = 0; j < w; ++j) {
        out[j] = c[n * w + j] * scale;
    }
    return check;
}

/*
 * One tile: lanes 0 .. nl-1 at y + lane, tap j of level l at y + start[l] + j * tap + lane.
 * Writes df = A_0, d1 = |A_0 - A_1|, d2 = |A_1 - A_2| (levels present) and
 * s = wabs times max |y| over the windows, with wabs = sum over levels of sum_j |W_l[j]|: it
 * bounds the sums of |W_l[j] y_j| of A_0 and of the differences, for the rounding model.
 */
static void tile(const double *y, ptrdiff_t tap, ptrdiff_t nl, int nlev, const ptrdiff_t *start, const int *w, const double *const *W, double wabs,
                 double *df, double *d1, double *d2, double *s)
{
    double acc[FD_GRID_LEVELS][FD_GRID_TILE];
    double mx[FD_GRID_TILE];
    if (nlev < 1) {
        return; /* never: a plan has a level; tells the compiler acc[0] is written */
    }
    for (ptrdiff_t b = 0; b < nl; ++b) {
        mx[b] = 0.0;
    }
    for (int l = 0; l < nlev; ++l) {
        double *a = acc[l];
        for (ptrdiff_t b = 0; b < nl; ++b) {
            a[b] = 0.0;
        }
        for (int j = 0; j < w[l]; ++j) {
            const double c = W[l][j];
            const double *p = y + start[l] + j * tap;
            for (ptrdiff_t b = 0; b < nl; ++b) {
                a[b] += c * p[b];
            }
        }
    }
    /* max |y| over every level's window: sum_l sum_j |W_l[j] y_j| <= wabs * mx */
    for (int l = 0; l < nlev; ++l) {
        for (int j = 0; j < w[l]; ++j) {
            const double *p = y + start[l] + j * tap;
            for (ptrdiff_t b = 0; b < nl; ++b) {
                const double v = fabs(p[b]);
                mx[b] = v > mx[b] ? v : mx[b];
            }
        }
    }
    for (ptrdiff_t b = 0; b < nl; ++b) {
        df[b] = acc[0][b];
        d1[b] = nlev > 1 ? fabs(acc[0][b] - acc[1][b]) : INFINITY;
        d2[b] = nlev > 2 ? fabs(acc[1][b] - acc[2][b]) : INFINITY;
        s[b] = wabs * mx[b];
    }
}

/*
 * The uniform interior along a contiguous axis, all three levels centred: centred weights are
 * symmetric (even n) or antisymmetric (odd n), so with u_j = y[i+j] -+ y[i-j] every level is
 * a short dot product with the same u_j: A_l = W_l[r_l] y_i + sum_{j=1..r_l} W_l[r_l+j] u_j.
 * Lanes are positions i .. i+nl-1 (y points at the first).  The rounding bound uses the max
 * of |y| over the whole tile's reach (an upper bound of each lane's window max).
 */
/* The lane loop with R = r_2 and the parity fixed (called with literals from tile_symmetric),
 * so that the tap loop unrolls, the sign folds away and the lane loop vectorizes. */
static inline void symmetric_lanes(const double *restrict y, ptrdiff_t nl, const int R,
                                   const int odd, const double *restrict A0,
                                   const double *restrict A1, const double *restrict A2,
                                   double sabs, double *restrict df, double *restrict d1,
                                   double *restrict d2, double *restrict s)
{
    for (ptrdiff_t b = 0; b < nl; ++b) {
        /* the centre's weight is 0 for odd n, kept so that a NaN sample reaches its own
         * estimate (status -2 there) */
        double a0 = A0[0] * y[b], a1 = A1[0] * y[b], a2 = A2[0] * y[b];
        /* level l reaches R - 2 + l (uniform: r_l = r_0 + l), so no zero weight is applied */
        for (int j = 1; j <= R; ++j) {
            const double u = odd ? y[b + j] - y[b - j] : y[b + j] + y[b - j];
            if (j <= R - 2) {
                a0 += A0[j] * u;
            }
            if (j <= R - 1) {
                a1 += A1[j] * u;
            }
            a2 += A2[j] * u;
        }
        df[b] = a0;
        d1[b] = fabs(a0 - a1);
        d2[b] = fabs(a1 - a2);
        s[b] = sabs;
    }
}

FD_GRID_NOINLINE static void tile_symmetric(const double *y, ptrdiff_t nl, int odd, const int *w,
                           const double *const *W, double wabs, double *df, double *d1,
                           double *d2, double *s)
{
    /* A_l[j]: the weight of u_j in level l (0 beyond its reach), A_l[0] the centre's */
    double A[FD_GRID_LEVELS][FD_GRID_MAX_WIDTH / 2 + 1];
    const int R = w[FD_GRID_LEVELS - 1] / 2;
    for (int l = 0; l < FD_GRID_LEVELS; ++l) {
        const int r = w[l] / 2;
        A[l][0] = odd ? 0.0 : W[l][r];
        for (int j = 1; j <= R; ++j) {
            A[l][j] = j <= r ? W[l][r + j] : 0.0;
        }
    }
    /* four running maxima, so the reduction vectorizes (v > m ? v : m is maxpd) */
    double m4[4] = {0.0, 0.0, 0.0, 0.0};
    const ptrdiff_t span = nl + 2 * R;
    const double *y0 = y - R;
    ptrdiff_t b = 0;
    for (; b + 4 <= span; b += 4) {
        for (int q = 0; q < 4; ++q) {
            const double v = fabs(y0[b + q]);
            m4[q] = v > m4[q] ? v : m4[q];
        }
    }
    for (; b < span; ++b) {
        const double v = fabs(y0[b]);
        m4[0] = v > m4[0] ? v : m4[0];
    }
    double mx = m4[0];
    for (int q = 1; q < 4; ++q) {
        mx = m4[q] > mx ? m4[q] : mx;
    }
    const double sabs = wabs * mx;
    switch (2 * R + odd) {
    case 4: symmetric_lanes(y, nl, 2, 0, A[0], A[1], A[2], sabs, df, d1, d2, s); break;
    case 5: symmetric_lanes(y, nl, 2, 1, A[0], A[1], A[2], sabs, df, d1, d2, s); break;
    case 6: symmetric_lanes(y, nl, 3, 0, A[0], A[1], A[2], sabs, df, d1, d2, s); break;
    case 7: symmetric_lanes(y, nl, 3, 1, A[0], A[1], A[2], sabs, df, d1, d2, s); break;
    case 8: symmetric_lanes(y, nl, 4, 0, A[0], A[1], A[2], sabs, df, d1, d2, s); break;
    case 9: symmetric_lanes(y, nl, 4, 1, A[0], A[1], A[2], sabs, df, d1, d2, s); break;
    case 10: symmetric_lanes(y, nl, 5, 0, A[0], A[1], A[2], sabs, df, d1, d2, s); break;
    case 11: symmetric_lanes(y, nl, 5, 1, A[0], A[1], A[2], sabs, df, d1, d2, s); break;
    case 12: symmetric_lanes(y, nl, 6, 0, A[0], A[1], A[2], sabs, df, d1, d2, s); break;
    case 13: symmetric_lanes(y, nl, 6, 1, A[0], A[1], A[2], sabs, df, d1, d2, s); break;
    default: symmetric_lanes(y, nl, R, odd, A[0], A[1], A[2], sabs, df, d1, d2, s); break;
    }
}


int fd_grid_plan_init(fd_grid_plan *plan, ptrdiff_t outer, ptrdiff_t len, ptrdiff_t inner,
                      int n, int order, int uniform, double dx)
{
    plan->outer = outer;
    plan->len = len;
    plan->inner = inner;
    plan->n = n;
    plan->dx = dx;
    plan->uniform = uniform;
    plan->nlevels = 0;
    if (n < 1 || n > FD_GRID_MAX_N || order < 1) {
        return -1;
    }
    for (int l = 0; l < FD_GRID_LEVELS; ++l) {
        const int p = order + 2 * l;
        int m;
        if (uniform) {
            m = 2 * ((n + 1) / 2 + p / 2 - 1) + 1;
        } else {
            m = (n + p) % 2 ? n + p : n + p + 1;
        }
        plan->interior[l] = m;
        plan->boundary[l] = n + p;
        if (m > FD_GRID_MAX_WIDTH || n + p > FD_GRID_MAX_WIDTH) {
            return -1;
        }
        if (n + p <= len) {
            plan->nlevels = l + 1;
        }
    }
    return plan->nlevels > 0 ? 0 : -1;
}

/* The stencils of every level at one position: windows (relative to the position's first
 * tap, see below), widths, weights, and sum_j |W_0[j]| for the rounding bound. */
typedef struct stencils {
    ptrdiff_t ref;                    /* the position they were made for */
    ptrdiff_t start[FD_GRID_LEVELS];
    int w[FD_GRID_LEVELS];
    double W[FD_GRID_LEVELS][FD_GRID_MAX_WIDTH];
    double wabs;
} stencils;

/* Windows and weights at position i (from x, or the unit grid scaled by dx^-n).  Returns a
 * fd_offsets_check code (repeated nodes of x) or 0. */
static int position_stencils(const fd_grid_plan *plan, const double *x, ptrdiff_t i,
                             stencils *st)
{
    st->wabs = 0.0;
    st->ref = i;
    for (int l = 0; l < plan->nlevels; ++l) {
        window(plan, l, i, &st->start[l], &st->w[l]);
        const int check = weights(plan, x, i, st->start[l], st->w[l], st->W[l]);
        if (check != FD_OFFSETS_OK) {
            return check;
        }
    }
    for (int l = 0; l < plan->nlevels; ++l) {
        for (int j = 0; j < st->w[l]; ++j) {
            st->wabs += fabs(st->W[l][j]);
        }
    }
    return 0;
}

/* Apply st at lanes y + lane (tap j of level l at y + (start[l] - ref) * tap + j * tap): the
 * windows keep their place relative to the position (uniform interior stencils serve every
 * interior position). */
static void apply_stencils(const double *y, ptrdiff_t tap, ptrdiff_t nl, int nlev,
                           const stencils *st, double *df, double *d1, double *d2, double *s)
{
    ptrdiff_t rel[FD_GRID_LEVELS];
    const double *W[FD_GRID_LEVELS];
    for (int l = 0; l < nlev; ++l) {
        rel[l] = (st->start[l] - st->ref) * tap;
        W[l] = st->W[l];
    }
    tile(y, tap, nl, nlev, rel, st->w, W, st->wabs, df, d1, d2, s);
}

#define FD_GRID_CHUNK 1024

/* The stencils of the positions outside the uniform interior, [0, lo) and [hi, len): on a
 * uniform grid they are the same for every line, so they are made once per call.  At most
 * 2 r of them (r = interior[last] / 2 < FD_GRID_MAX_WIDTH / 2), or len < 2 r + 1 when there
 * is no interior (lo = hi = len). */
#define FD_GRID_MAX_EDGE FD_GRID_MAX_WIDTH

static int make_edges(const fd_grid_plan *plan, ptrdiff_t lo, ptrdiff_t hi, stencils *edge)
{
    ptrdiff_t k = 0;
    for (ptrdiff_t i = 0; i < plan->len; ++i) {
        if (i == lo) {
            i = hi - 1;
            continue;
        }
        const int check = position_stencils(plan, NULL, i, &edge[k++]);
        if (check) {
            return check;
        }
    }
    return 0;
}

/* edge's stencils of position i (outside [lo, hi)), or NULL without a cache */
static const stencils *edge_stencils(const stencils *edge, ptrdiff_t i, ptrdiff_t lo,
                                     ptrdiff_t hi)
{
    if (edge == NULL) {
        return NULL;
    }
    return edge + (i < lo ? i : lo + (i - hi));
}

/*
 * A contiguous line (inner == 1), positions a .. b-1: df into df[a..b), d1, d2, s into the
 * buffers from index 0.  Positions in [lo, hi) are the uniform interior (stencils in, every
 * level centred); the others get their own stencils.
 */
static int line_values(const fd_grid_plan *plan, const double *y, const double *x, ptrdiff_t a,
                       ptrdiff_t b, ptrdiff_t lo, ptrdiff_t hi, const stencils *in,
                       const stencils *edge, double *df, double *d1, double *d2, double *s)
{
    stencils st;
    const int nlev = plan->nlevels;
    ptrdiff_t i = a;
    while (i < b) {
        if (i >= lo && i < hi) {
            const ptrdiff_t e = b < hi ? b : hi;
            for (ptrdiff_t i0 = i; i0 < e; i0 += FD_GRID_TILE) {
                const ptrdiff_t nl = e - i0 < FD_GRID_TILE ? e - i0 : FD_GRID_TILE;
                if (nlev == FD_GRID_LEVELS) {
                    const double *W[FD_GRID_LEVELS] = {in->W[0], in->W[1], in->W[2]};
                    tile_symmetric(y + i0, nl, plan->n % 2, in->w, W, in->wabs, df + i0,
                                   d1 + (i0 - a), d2 + (i0 - a), s + (i0 - a));
                } else {
                    apply_stencils(y + i0, 1, nl, nlev, in, df + i0, d1 + (i0 - a),
                                   d2 + (i0 - a), s + (i0 - a));
                }
            }
            i = e;
            continue;
        }
        const stencils *use = edge_stencils(edge, i, lo, hi);
        if (use == NULL) {
            const int check = position_stencils(plan, x, i, &st);
            if (check) {
                return check;
            }
            use = &st;
        }
        apply_stencils(y + i, 1, 1, nlev, use, df + i, d1 + (i - a), d2 + (i - a),
                       s + (i - a));
        ++i;
    }
    return 0;
}

/* error and the status code (as a double) of count <= FD_GRID_TILE entries, level 2 present */
static FD_GRID_INLINE void errors_block(ptrdiff_t count, double rfac, const double *restrict pd1,
                         const double *restrict d1, const double *restrict nd1,
                         const double *restrict pd2, const double *restrict d2,
                         const double *restrict nd2, const double *restrict s,
                         double *restrict error, double *restrict code)
{
    for (ptrdiff_t k = 0; k < count; ++k) {
        /* the neighbourhood max guards against isolated zeros of the next term */
        double D1 = d1[k], D2 = d2[k], m1 = d1[k];
        D1 = pd1[k] > D1 ? pd1[k] : D1;
        D1 = nd1[k] > D1 ? nd1[k] : D1;
        D2 = pd2[k] > D2 ? pd2[k] : D2;
        D2 = nd2[k] > D2 ? nd2[k] : D2;
        /* resolved only if the next level's change is small against the smallest change of
         * level 0 around here: a chance dip of D1 is not evidence */
        m1 = pd1[k] < m1 ? pd1[k] : m1;
        m1 = nd1[k] < m1 ? nd1[k] : m1;
        const double rho = rfac * s[k];
        const double err = 2.0 * (D1 + D2) + rho; /* see grid_derivative's Notes */
        /* NaN fails every comparison: not finite.  Selects on doubles, so the loop
         * vectorizes; the codes are exact in double.  err finite implies df[k] finite: a
         * non-finite A_0 makes d1[k] = |A_0 - A_1| inf or NaN, and D1 starts from d1[k]
         * (a NaN D1 stays NaN through the comparisons), so df need not be read. */
        const double unresolved = (D2 > FD_GRID_RATIO * m1) & (D2 > rho) ? FD_INCONSISTENT
                                                                          : FD_CONVERGED;
        const int finite = err <= DBL_MAX;
        error[k] = finite ? err : INFINITY;
        code[k] = finite ? unresolved : (double)FD_NO_FINITE;
    }
}

/* The codes (as doubles) into status, then success = status >= 0 from the bytes (32 per
 * AVX2 vector: cheaper than a second conversion from the doubles) */
static FD_GRID_INLINE void narrow(ptrdiff_t count, const double *restrict code,
                                  signed char *restrict status, unsigned char *restrict ok)
{
    for (ptrdiff_t k = 0; k < count; ++k) {
        status[k] = (signed char)code[k];
    }
    for (ptrdiff_t k = 0; k < count; ++k) {
        ok[k] = status[k] >= 0;
    }
}

/*
 * error and status of count consecutive entries whose neighbours along the axis are at
 * the same index of the rows before (pd1, pd2) and after (nd1, nd2).
 */
FD_GRID_CLONES FD_GRID_NOINLINE static void errors_run(ptrdiff_t count, int nlev, double rfac, const double *restrict df,
                       const double *restrict pd1, const double *restrict d1,
                       const double *restrict nd1, const double *restrict pd2,
                       const double *restrict d2, const double *restrict nd2,
                       const double *restrict s, double *restrict error,
                       signed char *restrict status, unsigned char *restrict ok)
{
    if (nlev < FD_GRID_LEVELS) {
        /* too short for level 2: an estimate of the error without the resolution test */
        for (ptrdiff_t k = 0; k < count; ++k) {
            double D1 = d1[k];
            D1 = pd1[k] > D1 ? pd1[k] : D1;
            D1 = nd1[k] > D1 ? nd1[k] : D1;
            const double err = nlev > 1 ? 2.0 * D1 + rfac * s[k] : INFINITY;
            const int finite = fabs(df[k]) <= DBL_MAX;
            error[k] = finite && err <= DBL_MAX ? err : INFINITY;
            status[k] = (signed char)(finite ? FD_NOT_CONVERGED : FD_NO_FINITE);
            ok[k] = 0; /* both codes are negative */
        }
        return;
    }
    /* the status codes go through a double buffer: one loop on doubles only (two per vector),
     * then the narrowing to int8 in its own loop; together the vectorizer packed 16 lanes of
     * doubles into one iteration and spilled most of them */
    double code[FD_GRID_TILE];
    for (ptrdiff_t k0 = 0; k0 < count; k0 += FD_GRID_TILE) {
        const ptrdiff_t m = count - k0 < FD_GRID_TILE ? count - k0 : FD_GRID_TILE;
        errors_block(m, rfac, pd1 + k0, d1 + k0, nd1 + k0, pd2 + k0, d2 + k0, nd2 + k0, s + k0,
                     error + k0, code);
        narrow(m, code, status + k0, ok + k0);
    }
}

/*
 * Positions p0 .. p1-1 of a contiguous line through line_values and errors_run, in chunks:
 * the values of a chunk and two neighbours on either side, then its errors.
 */
static int line_chunks(const fd_grid_plan *plan, const double *row, const double *x,
                       ptrdiff_t p0, ptrdiff_t p1, ptrdiff_t lo, ptrdiff_t hi, const stencils *in,
                       const stencils *edge, int nl_eff, double rfac, double *drow,
                       double *erow, signed char *srow, unsigned char *okrow)
{
    const ptrdiff_t len = plan->len;
    /* positions c0 - 2 .. c1 + 1: a chunk and two neighbours on either side */
    double b1[FD_GRID_CHUNK + 4], b2[FD_GRID_CHUNK + 4], bs[FD_GRID_CHUNK + 4];
    for (ptrdiff_t c0 = p0; c0 < p1; c0 += FD_GRID_CHUNK) {
        const ptrdiff_t c1 = p1 - c0 < FD_GRID_CHUNK ? p1 : c0 + FD_GRID_CHUNK;
        const ptrdiff_t a = c0 > 1 ? c0 - 2 : 0, b = c1 + 2 < len ? c1 + 2 : len;
        const int check = line_values(plan, row, x, a, b, lo, hi, in, edge, drow, b1, b2, bs);
        if (check) {
            return check;
        }
        /* position i is buffer index i - a; the neighbourhood of an end sample is the
         * two samples inside it (len >= n + order >= 3) */
        for (ptrdiff_t i = c0; i < c1;) {
            const ptrdiff_t k = i - a;
            if (i == 0 || i == len - 1) {
                const ptrdiff_t p = i > 0 ? k - 1 : k + 1, q = i > 0 ? k - 2 : k + 2;
                errors_run(1, nl_eff, rfac, drow + i, b1 + p, b1 + k, b1 + q, b2 + p, b2 + k,
                           b2 + q, bs + k, erow + i, srow + i, okrow + i);
                ++i;
                continue;
            }
            const ptrdiff_t e = c1 < len - 1 ? c1 : len - 1;
            errors_run(e - i, nl_eff, rfac, drow + i, b1 + k - 1, b1 + k, b1 + k + 1, b2 + k - 1,
                       b2 + k, b2 + k + 1, bs + k, erow + i, srow + i, okrow + i);
            i = e;
        }
    }
    return 0;
}

/*
 * The fused uniform interior along a contiguous axis: one pass per tile computes the three
 * levels (the symmetric form of tile_symmetric), writes df, and finishes error and status
 * in the same tile while d1 and d2 are in L1: no per-chunk buffers of s, no second sweep.
 */
typedef struct symmetric {
    int R, odd;
    double A[FD_GRID_LEVELS][FD_GRID_MAX_WIDTH / 2 + 1]; /* weight of u_j, A_l[0] the centre's */
    double wabs;
} symmetric;

static void symmetric_init(const stencils *in, symmetric *sym, int odd)
{
    const int R = in->w[FD_GRID_LEVELS - 1] / 2;
    sym->R = R;
    sym->odd = odd;
    sym->wabs = in->wabs;
    for (int l = 0; l < FD_GRID_LEVELS; ++l) {
        const int r = in->w[l] / 2;
        sym->A[l][0] = odd ? 0.0 : in->W[l][r];
        for (int j = 1; j <= R; ++j) {
            sym->A[l][j] = j <= r ? in->W[l][r + j] : 0.0;
        }
    }
}

/* max |y[0 .. count)|, NaN skipped (as v > m ? v : m).  No compiler vectorizes a max
 * reduction with NaN semantics by itself; on x86-64 SSE2's maxpd is exactly v > m ? v : m
 * per lane (the second operand where either is NaN), so two of them run four lanes (in the
 * AVX2 clone VEX-encoded).  The order of a max of non-NaN values is immaterial. */
static FD_GRID_INLINE double absmax(const double *restrict y, ptrdiff_t count)
{
    double mx = 0.0;
    ptrdiff_t b = 0;
#if FD_GRID_SSE2
    const __m128d nosign = _mm_castsi128_pd(_mm_set1_epi64x(INT64_MAX));
    __m128d m0 = _mm_setzero_pd(), m1 = _mm_setzero_pd();
    for (; b + 4 <= count; b += 4) {
        m0 = _mm_max_pd(_mm_and_pd(_mm_loadu_pd(y + b), nosign), m0);
        m1 = _mm_max_pd(_mm_and_pd(_mm_loadu_pd(y + b + 2), nosign), m1);
    }
    double m[4];
    _mm_storeu_pd(m, m0);
    _mm_storeu_pd(m + 2, m1);
    for (int q = 0; q < 4; ++q) {
        mx = m[q] > mx ? m[q] : mx;
    }
#endif
    for (; b < count; ++b) {
        const double v = fabs(y[b]);
        mx = v > mx ? v : mx;
    }
    return mx;
}

/* symmetric_lanes without s: df, d1, d2 of lanes 0 .. nl-1; for odd n the centre's zero
 * weight gives the same 0 * y_i to every level, computed once (bitwise the same sums) */
static FD_GRID_INLINE void fused_lanes(const double *restrict y, ptrdiff_t tap, ptrdiff_t nl,
                               const int R, const int odd, const double *restrict A0,
                               const double *restrict A1, const double *restrict A2,
                               double *restrict df, double *restrict d1, double *restrict d2)
{
    for (ptrdiff_t b = 0; b < nl; ++b) {
        double a0, a1, a2;
        if (odd) {
            a0 = a1 = a2 = 0.0 * y[b]; /* a NaN sample reaches its own estimate */
        } else {
            a0 = A0[0] * y[b];
            a1 = A1[0] * y[b];
            a2 = A2[0] * y[b];
        }
        for (int j = 1; j <= R; ++j) {
            const double u = odd ? y[b + j * tap] - y[b - j * tap] : y[b + j * tap] + y[b - j * tap];
            if (j <= R - 2) {
                a0 += A0[j] * u;
            }
            if (j <= R - 1) {
                a1 += A1[j] * u;
            }
            a2 += A2[j] * u;
        }
        df[b] = a0;
        d1[b] = fabs(a0 - a1);
        d2[b] = fabs(a1 - a2);
    }
}

/* errors_block with one rounding bound rho for the tile; d1, d2 start at the lane before */
static FD_GRID_INLINE void fused_errors(ptrdiff_t count, double rho, const double *restrict d1,
                         const double *restrict d2, double *restrict error,
                         double *restrict code)
{
    for (ptrdiff_t k = 0; k < count; ++k) {
        double D1 = d1[k + 1], D2 = d2[k + 1], m1 = d1[k + 1];
        D1 = d1[k] > D1 ? d1[k] : D1;
        D1 = d1[k + 2] > D1 ? d1[k + 2] : D1;
        D2 = d2[k] > D2 ? d2[k] : D2;
        D2 = d2[k + 2] > D2 ? d2[k + 2] : D2;
        m1 = d1[k] < m1 ? d1[k] : m1;
        m1 = d1[k + 2] < m1 ? d1[k + 2] : m1;
        const double err = 2.0 * (D1 + D2) + rho; /* as errors_block */
        const double unresolved = (D2 > FD_GRID_RATIO * m1) & (D2 > rho) ? FD_INCONSISTENT
                                                                          : FD_CONVERGED;
        const int finite = err <= DBL_MAX;
        error[k] = finite ? err : INFINITY;
        code[k] = finite ? unresolved : (double)FD_NO_FINITE;
    }
}

/* nl positions at y (df, error, status at the same offsets): lanes -1 .. nl, the rounding
 * bound from max |y| over reach .. reach + span - 1 (relative to y): the tile's windows. */
FD_GRID_CLONES FD_GRID_NOINLINE static void fused_tile(const double *y, ptrdiff_t nl, ptrdiff_t reach,
                                        ptrdiff_t span, const symmetric *sym, double rfac,
                                        double *df, double *error, signed char *status,
                                        unsigned char *ok)
{
    double d1[FD_GRID_TILE + 2], d2[FD_GRID_TILE + 2], code[FD_GRID_TILE];
    const int R = sym->R, odd = sym->odd;
    const double *A0 = sym->A[0], *A1 = sym->A[1], *A2 = sym->A[2];
    const double rho = rfac * (sym->wabs * absmax(y + reach, span));
    switch (2 * R + odd) {
    case 4: fused_lanes(y - 1, 1, nl + 2, 2, 0, A0, A1, A2, df - 1, d1, d2); break;
    case 5: fused_lanes(y - 1, 1, nl + 2, 2, 1, A0, A1, A2, df - 1, d1, d2); break;
    case 6: fused_lanes(y - 1, 1, nl + 2, 3, 0, A0, A1, A2, df - 1, d1, d2); break;
    case 7: fused_lanes(y - 1, 1, nl + 2, 3, 1, A0, A1, A2, df - 1, d1, d2); break;
    case 8: fused_lanes(y - 1, 1, nl + 2, 4, 0, A0, A1, A2, df - 1, d1, d2); break;
    case 9: fused_lanes(y - 1, 1, nl + 2, 4, 1, A0, A1, A2, df - 1, d1, d2); break;
    case 10: fused_lanes(y - 1, 1, nl + 2, 5, 0, A0, A1, A2, df - 1, d1, d2); break;
    case 11: fused_lanes(y - 1, 1, nl + 2, 5, 1, A0, A1, A2, df - 1, d1, d2); break;
    case 12: fused_lanes(y - 1, 1, nl + 2, 6, 0, A0, A1, A2, df - 1, d1, d2); break;
    case 13: fused_lanes(y - 1, 1, nl + 2, 6, 1, A0, A1, A2, df - 1, d1, d2); break;
    default: fused_lanes(y - 1, 1, nl + 2, R, odd, A0, A1, A2, df - 1, d1, d2); break;
    }
    fused_errors(nl, rho, d1, d2, error, code);
    narrow(nl, code, status, ok);
}

/* A uniform interior row across an inner axis: lanes are the nl entries at y (taps tap
 * apart), df at the same offsets, d1, d2 and s = sabs per lane for errors_run. */
#define FD_GRID_ROWS (FD_GRID_MAX_WIDTH + 1) /* > 2 r + 1 rows of a window */

FD_GRID_CLONES FD_GRID_NOINLINE static void strided_tile(const double *y, ptrdiff_t tap,
                                                          ptrdiff_t nl, const symmetric *sym,
                                                          double sabs, double *df, double *d1,
                                                          double *d2, double *s)
{
    const int R = sym->R, odd = sym->odd;
    const double *A0 = sym->A[0], *A1 = sym->A[1], *A2 = sym->A[2];
    switch (2 * R + odd) {
    case 4: fused_lanes(y, tap, nl, 2, 0, A0, A1, A2, df, d1, d2); break;
    case 5: fused_lanes(y, tap, nl, 2, 1, A0, A1, A2, df, d1, d2); break;
    case 6: fused_lanes(y, tap, nl, 3, 0, A0, A1, A2, df, d1, d2); break;
    case 7: fused_lanes(y, tap, nl, 3, 1, A0, A1, A2, df, d1, d2); break;
    case 8: fused_lanes(y, tap, nl, 4, 0, A0, A1, A2, df, d1, d2); break;
    case 9: fused_lanes(y, tap, nl, 4, 1, A0, A1, A2, df, d1, d2); break;
    case 10: fused_lanes(y, tap, nl, 5, 0, A0, A1, A2, df, d1, d2); break;
    case 11: fused_lanes(y, tap, nl, 5, 1, A0, A1, A2, df, d1, d2); break;
    default: fused_lanes(y, tap, nl, R, odd, A0, A1, A2, df, d1, d2); break;
    }
    for (ptrdiff_t b = 0; b < nl; ++b) {
        s[b] = sabs;
    }
}

/* Positions p0 .. p1-1 of a uniform contiguous line, each with both neighbours centred
 * ([p0 - 1, p1] inside the interior), in tiles from p0. */
static void interior_run(const double *row, ptrdiff_t p0, ptrdiff_t p1, const symmetric *sym,
                         double rfac, double *drow, double *erow, signed char *srow,
                         unsigned char *okrow)
{
    const ptrdiff_t R = sym->R;
    /* a tile writes df one lane beyond either end (its lanes -1 and nl, for their errors);
     * the run's first and last tiles write theirs to a scratch row instead, so that a run
     * writes df in [p0, p1) only and runs on either side of a cut (fd_grid_cut) can go in
     * parallel.  The same values either way: the lanes outside are another run's. */
    double edge[FD_GRID_TILE + 2];
    for (ptrdiff_t t0 = p0; t0 < p1; t0 += FD_GRID_TILE) {
        const ptrdiff_t nl = p1 - t0 < FD_GRID_TILE ? p1 - t0 : FD_GRID_TILE;
        const int guard = t0 == p0 || t0 + nl == p1;
        fused_tile(row + t0, nl, -R, nl + 2 * R, sym, rfac, guard ? edge + 1 : drow + t0,
                   erow + t0, srow + t0, okrow + t0);
        if (guard) {
            memcpy(drow + t0, edge + 1, (size_t)nl * sizeof(double));
        }
    }
}

/* The uniform interior of a plan: positions [lo, hi) where every level is centred (lo = hi =
 * len without one), and whether a contiguous line goes through the fused interior_run over
 * [lo + 1, hi - 1). */
static int uniform_interior(const fd_grid_plan *plan, int uniform, ptrdiff_t *lo,
                            ptrdiff_t *hi)
{
    const ptrdiff_t len = plan->len;
    const int nlev = plan->nlevels;
    *lo = len;
    *hi = len;
    if (uniform) {
        const int r = plan->interior[nlev - 1] / 2;
        if (r <= len - 1 - r) {
            *lo = r;
            *hi = len - r;
        }
    }
    /* as nl_eff in fd_grid_derivative: level 2 is used only with len >= 2 b_2 */
    const int full = nlev == FD_GRID_LEVELS && len >= 2 * plan->boundary[nlev - 1];
    return uniform && plan->inner == 1 && full && *hi - *lo >= 3;
}

ptrdiff_t fd_grid_cut(const fd_grid_plan *plan, ptrdiff_t near)
{
    ptrdiff_t lo, hi;
    if (!uniform_interior(plan, plan->uniform, &lo, &hi)) {
        return 0;
    }
    /* tile starts of interior_run from lo + 1, a whole tile inside on either side: the
     * edge pieces (line_chunks) write df two positions into the interior, and stay within
     * their own side's tiles */
    const ptrdiff_t first = lo + 1 + FD_GRID_TILE, last = hi - 1 - FD_GRID_TILE;
    if (first > last) {
        return 0;
    }
    ptrdiff_t k = (near - (lo + 1) + FD_GRID_TILE / 2) / FD_GRID_TILE;
    ptrdiff_t cut = lo + 1 + (k > 1 ? k : 1) * FD_GRID_TILE;
    while (cut > last) {
        cut -= FD_GRID_TILE;
    }
    return cut >= first ? cut : 0;
}

ptrdiff_t fd_grid_work_size(const fd_grid_plan *plan)
{
    const ptrdiff_t inner = plan->inner;
    return plan->inner > 1 ? 12 * (inner < FD_GRID_MAX_LANES ? inner : FD_GRID_MAX_LANES) : 0;
}

int fd_grid_derivative(const fd_grid_plan *plan, const double *y, const double *x,
                       double eps, double *df, double *error, signed char *status,
                       unsigned char *success, double *work, ptrdiff_t start, ptrdiff_t stop)
{
    const ptrdiff_t len = plan->len, inner = plan->inner, outer = plan->outer;
    const int nlev = plan->nlevels;
    /* rounding of the sums A_l = sum_j W_l[j] y_j: each y_j within eps/2 (samples exact to
     * their dtype), a sum of w products within w eps, and the weights: Fornberg's recursion
     * adds one node per stage, each stage rounding every weight, so their error grows like
     * w^2 eps (long one-sided stencils on jittered grids for n = 3 reach ~w^2/2 eps).  All of
     * it within (w + 2)^2 eps of sum_l sum_j |W_l[j] y_j| <= s. */
    const double wmax = plan->boundary[nlev - 1] + 2;
    const double rfac = wmax * wmax * eps;
    /* the levels vouch for each other only while the widest stencil is short against the
     * data: with fewer than 2 b_2 samples every end sample sees one node set, and the
     * levels' agreement is no evidence (a 15-sample random grid fooled the test) */
    const int nl_eff = nlev == FD_GRID_LEVELS && len < 2 * plan->boundary[nlev - 1] ? nlev - 1
                                                                                    : nlev;
    /* the uniform interior: positions where every level is centred share one set of weights */
    stencils in;
    ptrdiff_t lo = len, hi = len;
    if (x == NULL) {
        const int r = plan->interior[nlev - 1] / 2;
        if (r <= len - 1 - r) {
            lo = r;
            hi = len - r;
            position_stencils(plan, NULL, lo, &in);
        }
    }
    stencils edges[FD_GRID_MAX_EDGE];
    const stencils *edge = NULL;
    if (x == NULL && lo + (len - hi) <= FD_GRID_MAX_EDGE) { /* always, see make_edges */
        const int check = make_edges(plan, lo, hi, edges);
        if (check) {
            return check;
        }
        edge = edges;
    }
    if (inner == 1) {
        /* the fused uniform interior: positions whose neighbours are centred too (as
         * uniform_interior) */
        const int fused = x == NULL && nl_eff == FD_GRID_LEVELS && hi - lo >= 3;
        symmetric sym;
        if (fused) {
            symmetric_init(&in, &sym, plan->n % 2);
        }
        for (ptrdiff_t o = 0; o < outer; ++o) {
            const double *row = y + o * len;
            double *drow = df + o * len, *erow = error + o * len;
            signed char *srow = status + o * len;
            unsigned char *okrow = success + o * len;
            if (!fused) {
                const int check = line_chunks(plan, row, x, 0, len, lo, hi, &in, edge, nl_eff,
                                              rfac, drow, erow, srow, okrow);
                if (check) {
                    return check;
                }
                continue;
            }
            /* uniform: no repeated nodes, nothing to check.  [start, stop): the edge pieces
             * with the range that holds them, the interior tiles in range (cuts are tile
             * starts, so the tiles are those of the whole line) */
            if (start == 0) {
                line_chunks(plan, row, NULL, 0, lo + 1, lo, hi, &in, edge, nl_eff, rfac, drow,
                            erow, srow, okrow);
            }
            interior_run(row, start > lo + 1 ? start : lo + 1, stop < hi - 1 ? stop : hi - 1,
                         &sym, rfac, drow, erow, srow, okrow);
            if (stop == len) {
                line_chunks(plan, row, NULL, hi - 1, len, lo, hi, &in, edge, nl_eff, rfac,
                            drow, erow, srow, okrow);
            }
        }
        return 0;
    }
    /* inner > 1: lanes along the inner axis; a ring of four rows of d1, d2, s per tile (row
     * i is finished once row i + 2 is known: the end rows' neighbourhoods are inside) */
    /* the ring lives in the caller's work (fd_grid_work_size): lanes = the whole inner axis
     * up to FD_GRID_MAX_LANES, so that a tile's rows are one sequential stream (tiles of 256
     * lanes, 2 KB of each 8 KB row, ran 1.45x slower: the prefetcher stops at pages) */
    const ptrdiff_t lanes = inner < FD_GRID_MAX_LANES ? inner : FD_GRID_MAX_LANES;
#define RING(row, field) (work + ((row) * 3 + (field)) * lanes) /* d1, d2, s of a ring row */
    stencils st;
    /* the uniform interior rows in the symmetric form (as along a contiguous axis), with
     * the rounding bound from max |y| over the tile's lanes of the rows they reach: a ring
     * of one maximum per row */
    symmetric sym;
    double rowmax[FD_GRID_ROWS];
    const int sym_rows = lo < hi && nlev == FD_GRID_LEVELS;
    if (sym_rows) {
        symmetric_init(&in, &sym, plan->n % 2);
    }
    for (ptrdiff_t o = 0; o < outer; ++o) {
        for (ptrdiff_t k0 = 0; k0 < inner; k0 += lanes) {
            const ptrdiff_t nl = inner - k0 < lanes ? inner - k0 : lanes;
            ptrdiff_t filled = sym_rows ? lo - sym.R : len; /* rows with a known max: < filled */
            for (ptrdiff_t i = -2; i < len; ++i) {
                const ptrdiff_t ahead = i + 2;
                if (ahead < len) {
                    const ptrdiff_t at = (o * len + ahead) * inner + k0;
                    double *const r[3] = {RING(ahead % 4, 0), RING(ahead % 4, 1),
                                          RING(ahead % 4, 2)};
                    if (sym_rows && ahead >= lo && ahead < hi) {
                        /* the rows around ahead, max |y| over the tile's lanes */
                        const ptrdiff_t reach = ahead + sym.R < len ? ahead + sym.R : len - 1;
                        for (; filled <= reach; ++filled) {
                            rowmax[filled % FD_GRID_ROWS] =
                                absmax(y + (o * len + filled) * inner + k0, nl);
                        }
                        double mx = 0.0;
                        for (ptrdiff_t t = ahead - sym.R; t <= ahead + sym.R; ++t) {
                            const double v = rowmax[t % FD_GRID_ROWS];
                            mx = v > mx ? v : mx;
                        }
                        strided_tile(y + at, inner, nl, &sym, sym.wabs * mx, df + at, r[0],
                                     r[1], r[2]);
                    } else {
                        const stencils *use = &in;
                        if (!(ahead >= lo && ahead < hi)) {
                            use = edge_stencils(edge, ahead, lo, hi);
                            if (use == NULL) {
                                const int check = position_stencils(plan, x, ahead, &st);
                                if (check) {
                                    return check;
                                }
                                use = &st;
                            }
                        }
                        for (ptrdiff_t k = 0; k < nl; k += FD_GRID_TILE) {
                            const ptrdiff_t m = nl - k < FD_GRID_TILE ? nl - k : FD_GRID_TILE;
                            apply_stencils(y + at + k, inner, m, nlev, use, df + at + k,
                                           r[0] + k, r[1] + k, r[2] + k);
                        }
                    }
                }
                if (i < 0) {
                    continue;
                }
                const ptrdiff_t ci = i % 4;
                const ptrdiff_t pi = (i == 0 ? 1 : i == len - 1 ? i - 1 : i - 1) % 4;
                const ptrdiff_t qi = (i == 0 ? 2 : i == len - 1 ? i - 2 : i + 1) % 4;
                const double *const c[3] = {RING(ci, 0), RING(ci, 1), RING(ci, 2)};
                const double *const p[2] = {RING(pi, 0), RING(pi, 1)};
                const double *const q[2] = {RING(qi, 0), RING(qi, 1)};
                const ptrdiff_t at = (o * len + i) * inner + k0;
                errors_run(nl, nl_eff, rfac, df + at, p[0], c[0], q[0], p[1], c[1], q[1], c[2],
                           error + at, status + at, success + at);
            }
        }
    }
#undef RING
    return 0;
}
