/*
 * Stencil application: the points of one ladder level and the base estimate A_k there.
 *
 * A level of nominal step h evaluates f at x + c_j s for the stencil's non-zero offsets c_j,
 * where s = (x + h) - x is the spacing x + h really has in floating point; s is also the
 * divisor, so rounding of x + h never turns into an O(ulp(x) / h) error of the estimate.
 * f(x) is evaluated once per element and cached.
 */
#include "fastdiff.h"

#include <math.h>

double fd_spacing(double x, double h)
{
    /* The step f really sees: x + h rounds, and (x + h) - x is then exact (Sterbenz). */
    return (x + h) - x;
}

int fd_ladder_points(const fd_ladder_config *cfg, const fd_ladder_state *st, double *pts)
{
    const fd_stencil *s = &cfg->stencil[st->side];
    const double h = fd_spacing(st->x, st->h);
    for (int j = 0; j < s->npts; ++j) {
        pts[j] = st->x + s->offsets[j] * h;
    }
    return s->npts;
}

/* The first running member of group g (members of a group advance in lockstep). */
static const fd_ladder_state *lead(const fd_ladder_state *st, ptrdiff_t m, ptrdiff_t g)
{
    for (ptrdiff_t k = 0; k < m; ++k) {
        if (!st[g * m + k].done) return &st[g * m + k];
    }
    return &st[g * m];
}

ptrdiff_t fd_ladder_points_groups(const fd_ladder_config *cfg, const fd_ladder_state *st,
                                  ptrdiff_t m, const ptrdiff_t *idx, ptrdiff_t nidx,
                                  double *pts)
{
    ptrdiff_t w = 0;
    for (ptrdiff_t i = 0; i < nidx; ++i) {
        w += fd_ladder_points(cfg, lead(st, m, idx[i]), pts + w);
    }
    return w;
}
