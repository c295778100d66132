/*
 * Stencil application: the points of one ladder level and the base estimate A_k there.
 *
 * A level of step h evaluates f at x + c_j h for the stencil's non-zero offsets c_j; f(x) is
 * evaluated once per element and cached.  Steps are powers of two times q^-k with q = 2 by
 * default, so x + c_j h is exact in floating point for the short integer stencils used and the
 * divisor h^n is the true spacing (the caller passes steps as (x + h) - x; see _steps.py).
 */
#include "fastdiff.h"

#include <math.h>

int fd_ladder_points(const fd_ladder_config *cfg, const fd_ladder_state *st, double *pts)
{
    const fd_stencil *s = &cfg->stencil[st->side];
    for (int j = 0; j < s->npts; ++j) {
        pts[j] = st->x + s->offsets[j] * st->h;
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
