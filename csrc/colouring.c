/*
 * Column colouring for sparse Jacobians (Curtis, Powell and Reid 1974; Coleman and More 1983;
 * the survey: Gebremedhin, Manne and Pothen, "What color is your Jacobian?", SIAM Review 47,
 * 2005).  Columns j and k of a pattern are adjacent in the column intersection graph when some
 * row has entries in both; a distance-1 colouring of that graph groups columns that share no
 * row, so one directional difference along the sum of a colour's unit vectors recovers every
 * entry of those columns.  Greedy colouring in largest-first order: columns of larger degree
 * first (ties by index), each taking the smallest colour none of its neighbours holds.
 */
#include "fastdiff.h"

/* Degree of column j in the intersection graph; mark[k] == j flags neighbour k already seen. */
static ptrdiff_t column_degree(ptrdiff_t j, const ptrdiff_t *col_ptr, const ptrdiff_t *row_idx,
                               const ptrdiff_t *row_ptr, const ptrdiff_t *col_idx,
                               ptrdiff_t *mark) {
    ptrdiff_t deg = 0;
    mark[j] = j;
    for (ptrdiff_t p = col_ptr[j]; p < col_ptr[j + 1]; p++) {
        ptrdiff_t r = row_idx[p];
        for (ptrdiff_t q = row_ptr[r]; q < row_ptr[r + 1]; q++) {
            ptrdiff_t k = col_idx[q];
            if (mark[k] != j) {
                mark[k] = j;
                deg++;
            }
        }
    }
    return deg;
}

ptrdiff_t fd_colour_columns(ptrdiff_t nrows, ptrdiff_t ncols, const ptrdiff_t *col_ptr,
                            const ptrdiff_t *row_idx, const ptrdiff_t *row_ptr,
                            const ptrdiff_t *col_idx, ptrdiff_t *colour, ptrdiff_t *work) {
    ptrdiff_t *mark = work;               /* ncols: neighbour stamps, then colour stamps */
    ptrdiff_t *degree = work + ncols;     /* ncols */
    ptrdiff_t *order = work + 2 * ncols;  /* ncols: columns by decreasing degree */
    ptrdiff_t *start = work + 3 * ncols;  /* ncols + 1: bucket offsets of a counting sort */
    ptrdiff_t ncolours = 0;
    (void)nrows;
    for (ptrdiff_t j = 0; j < ncols; j++) mark[j] = -1;
    for (ptrdiff_t j = 0; j < ncols; j++)
        degree[j] = column_degree(j, col_ptr, row_idx, row_ptr, col_idx, mark);
    /* Counting sort by decreasing degree (degrees are < ncols), stable in the index. */
    for (ptrdiff_t d = 0; d <= ncols; d++) start[d] = 0;
    for (ptrdiff_t j = 0; j < ncols; j++) start[ncols - 1 - degree[j] + 1]++;
    for (ptrdiff_t d = 1; d <= ncols; d++) start[d] += start[d - 1];
    for (ptrdiff_t j = 0; j < ncols; j++) order[start[ncols - 1 - degree[j]]++] = j;
    /* Greedy: mark[c] == j forbids colour c for column j. */
    for (ptrdiff_t j = 0; j < ncols; j++) {
        mark[j] = -1;
        colour[j] = -1;
    }
    for (ptrdiff_t t = 0; t < ncols; t++) {
        ptrdiff_t j = order[t], c = 0;
        for (ptrdiff_t p = col_ptr[j]; p < col_ptr[j + 1]; p++) {
            ptrdiff_t r = row_idx[p];
            for (ptrdiff_t q = row_ptr[r]; q < row_ptr[r + 1]; q++) {
                ptrdiff_t k = col_idx[q];
                if (k != j && colour[k] >= 0) mark[colour[k]] = j;
            }
        }
        while (mark[c] == j) c++;
        colour[j] = c;
        if (c + 1 > ncolours) ncolours = c + 1;
    }
    return ncolours;
}
