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

ptrdiff_t fd_ladder_points_many(const fd_ladder_config *cfg, const fd_ladder_state *st,
                                const ptrdiff_t *idx, ptrdiff_t nidx, double *pts)
{
    ptrdiff_t w = 0;
    for (ptrdiff_t i = 0; i < nidx; ++i) {
        w += fd_ladder_points(cfg, &st[idx[i]], pts + w);
    }
    return w;
}
