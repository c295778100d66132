/*
 * Finite-difference weights on arbitrary stencils.
 *
 * Fornberg, B. (1988), "Generation of finite difference formulas on arbitrarily spaced grids",
 * Math. Comp. 51(184), 699-706, and the simplified form in Fornberg (1998), "Calculation of
 * weights in finite difference formulas", SIAM Rev. 40(3), 685-691.
 *
 * Design: the recursion adds one node at a time and updates the weights of all derivative
 * orders 0..nmax at once from the Lagrange-polynomial recurrences; it costs O(m^2 nmax) flops,
 * needs no linear solve, and is far better conditioned than the Vandermonde system.
 */
#include "fastdiff.h"

#include <math.h>

/*
 * c[k*m + j], k = 0..nmax, j = 0..m-1, expansion point 0.
 * With c1 = prod_{j<i-1}(x_{i-1}-x_j) and c2 = prod_{j<i}(x_i-x_j):
 *   new node  i: c[i][k] = c1/c2 * (k c[i-1][k-1] - x_{i-1} c[i-1][k])
 *   old nodes j: c[j][k] = (x_i c[j][k] - k c[j][k-1]) / (x_i - x_j)
 * Orders k are swept downwards so that c[.][k-1] still holds the previous stage's value.
 */
int fd_fornberg_weights(const double *x, ptrdiff_t m, int nmax, double *c)
{
    /* O(m^2) pair check: stencils are short, and it is cheaper than sorting from Python. */
    for (ptrdiff_t i = 0; i < m; ++i) {
        if (!isfinite(x[i])) {
            return FD_OFFSETS_NONFINITE;
        }
        for (ptrdiff_t j = 0; j < i; ++j) {
            if (x[i] == x[j]) {
                return FD_OFFSETS_REPEATED;
            }
        }
    }
    for (ptrdiff_t t = 0; t < (ptrdiff_t)(nmax + 1) * m; ++t) {
        c[t] = 0.0;
    }
    if (m <= 0) {
        return FD_OFFSETS_OK;
    }
    c[0] = 1.0;
    double c1 = 1.0;
    double c4 = x[0];
    for (ptrdiff_t i = 1; i < m; ++i) {
        const int mn = (i < nmax) ? (int)i : nmax;
        double c2 = 1.0;
        const double c5 = c4;
        c4 = x[i];
        for (ptrdiff_t j = 0; j < i; ++j) {
            const double c3 = x[i] - x[j];
            c2 *= c3;
            if (j == i - 1) {
                for (int k = mn; k >= 1; --k) {
                    c[k * m + i] = c1 * (k * c[(k - 1) * m + i - 1] - c5 * c[k * m + i - 1]) / c2;
                }
                c[i] = -c1 * c5 * c[i - 1] / c2;
            }
            for (int k = mn; k >= 1; --k) {
                c[k * m + j] = (c4 * c[k * m + j] - k * c[(k - 1) * m + j]) / c3;
            }
            c[j] = c4 * c[j] / c3;
        }
        c1 = c2;
    }
    return FD_OFFSETS_OK;
}
