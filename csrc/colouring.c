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

/*
 * Star colouring for sparse Hessians (Gebremedhin, Manne and Pothen, SIAM Review 47, 2005,
 * section 4 and its greedy star-colouring algorithm; Powell and Toint 1979 for the direct
 * recovery).  The adjacency graph of a symmetric pattern joins i and j (i != j) where H[i, j]
 * may be nonzero.  A star colouring is a distance-1 colouring in which every path on four
 * vertices uses at least three colours, so each two-coloured connected subgraph is a star.
 * Then every entry is read directly from the compressed product B = H D (D[k, c] = 1 where
 * colour[k] == c): H[i, j] = B[i, colour[j]] when j is the only neighbour of i of its colour
 * (always true on the diagonal), and otherwise H[i, j] = B[j, colour[i]] (i is then the hub
 * of its two-coloured star, so j is a leaf whose only neighbour of colour[i] is i).
 *
 * The greedy rule for vertex v, over its neighbours w and their neighbours x != v:
 *   - w coloured: colour[w] is forbidden (distance 1);
 *   - x coloured, w not coloured yet: colour[x] is forbidden (two neighbours of a vertex
 *     coloured later never share a colour, which covers every path with v inside);
 *   - x and w coloured: colour[x] is forbidden when x has another neighbour y != w of
 *     colour[w] (the path v - w - x - y would be two-coloured).
 * Vertices go in largest-first order (an arrowhead's hub first: 2 colours, not n).
 */

/* Degree of vertex v in the adjacency graph: its row's entries off the diagonal. */
static ptrdiff_t vertex_degree(ptrdiff_t v, const ptrdiff_t *row_ptr, const ptrdiff_t *col_idx) {
    ptrdiff_t deg = 0;
    for (ptrdiff_t p = row_ptr[v]; p < row_ptr[v + 1]; p++) deg += col_idx[p] != v;
    return deg;
}

/* True when x has a neighbour y other than w (and x) whose colour is c. */
static int has_other_of_colour(ptrdiff_t x, ptrdiff_t w, ptrdiff_t c, const ptrdiff_t *row_ptr,
                               const ptrdiff_t *col_idx, const ptrdiff_t *colour) {
    for (ptrdiff_t q = row_ptr[x]; q < row_ptr[x + 1]; q++) {
        ptrdiff_t y = col_idx[q];
        if (y != w && y != x && colour[y] == c) return 1;
    }
    return 0;
}

ptrdiff_t fd_star_colour(ptrdiff_t n, const ptrdiff_t *row_ptr, const ptrdiff_t *col_idx,
                         ptrdiff_t *colour, ptrdiff_t *work) {
    ptrdiff_t *mark = work;             /* n: mark[c] == v forbids colour c for vertex v */
    ptrdiff_t *degree = work + n;       /* n */
    ptrdiff_t *order = work + 2 * n;    /* n: vertices by decreasing degree */
    ptrdiff_t *start = work + 3 * n;    /* n + 1: bucket offsets of a counting sort */
    ptrdiff_t ncolours = 0;
    for (ptrdiff_t v = 0; v < n; v++) degree[v] = vertex_degree(v, row_ptr, col_idx);
    /* Counting sort by decreasing degree (degrees are < n), stable in the index. */
    for (ptrdiff_t d = 0; d <= n; d++) start[d] = 0;
    for (ptrdiff_t v = 0; v < n; v++) start[n - 1 - degree[v] + 1]++;
    for (ptrdiff_t d = 1; d <= n; d++) start[d] += start[d - 1];
    for (ptrdiff_t v = 0; v < n; v++) order[start[n - 1 - degree[v]]++] = v;
    for (ptrdiff_t v = 0; v < n; v++) {
        mark[v] = -1;
        colour[v] = -1;
    }
    for (ptrdiff_t t = 0; t < n; t++) {
        ptrdiff_t v = order[t], c = 0;
        for (ptrdiff_t p = row_ptr[v]; p < row_ptr[v + 1]; p++) {
            ptrdiff_t w = col_idx[p];
            if (w == v) continue;
            if (colour[w] >= 0) mark[colour[w]] = v;
            for (ptrdiff_t q = row_ptr[w]; q < row_ptr[w + 1]; q++) {
                ptrdiff_t x = col_idx[q];
                if (x == w || x == v || colour[x] < 0) continue;
                if (colour[w] < 0 ||
                    has_other_of_colour(x, w, colour[w], row_ptr, col_idx, colour))
                    mark[colour[x]] = v;
            }
        }
        while (mark[c] == v) c++;
        colour[v] = c;
        if (c + 1 > ncolours) ncolours = c + 1;
    }
    return ncolours;
}

void fd_star_unique(ptrdiff_t n, const ptrdiff_t *row_ptr, const ptrdiff_t *col_idx,
                    const ptrdiff_t *colour, ptrdiff_t *unique, ptrdiff_t *work) {
    ptrdiff_t *stamp = work;     /* n: stamp[c] == i: count[c] belongs to row i */
    ptrdiff_t *count = work + n; /* n: neighbours of row i of colour c */
    for (ptrdiff_t c = 0; c < n; c++) stamp[c] = -1;
    for (ptrdiff_t i = 0; i < n; i++) {
        for (ptrdiff_t p = row_ptr[i]; p < row_ptr[i + 1]; p++) {
            ptrdiff_t c = colour[col_idx[p]];
            if (stamp[c] != i) {
                stamp[c] = i;
                count[c] = 0;
            }
            count[c]++;
        }
        for (ptrdiff_t p = row_ptr[i]; p < row_ptr[i + 1]; p++)
            unique[p] = count[colour[col_idx[p]]] == 1;
    }
}
