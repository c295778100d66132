/*
 * fastdiff.h -- the whole C API of fastdiff's kernels (the only header Cython sees).
 *
 * Plain C99: no Python, no NumPy.  Every function works on caller-allocated, contiguous
 * double arrays, never allocates, never raises; trouble is reported through return values
 * or per-element fd_status codes.
 */
#ifndef FASTDIFF_H
#define FASTDIFF_H

#include <stddef.h>

/* ---------------------------------------------------------------------------------------- */
/* Per-element status: the one table shared by C and Python (fastdiff._status mirrors it)   */
/* ---------------------------------------------------------------------------------------- */

/*
 * 0 = converged cleanly; > 0 = trusted, with a remark; < 0 = not trusted (success is False).
 * X(name, code, message).  Adding a code here adds it to fd_status and to the name table;
 * fastdiff._status.Status must then gain the same member (tests/test_status.py checks).
 */
#define FD_STATUS_TABLE(X)                                                                      \
    X(CONVERGED, 0, "converged: the error estimate is trusted")                               \
    X(DOMAIN_ADAPTED, 1, "non-finite values of f were met; a smaller or one-sided stencil was used") \
    X(BOUNDS_ADAPTED, 2, "the stencil was made one-sided or shrunk to stay inside `bounds`")  \
    X(NOT_CONVERGED, -1, "the requested tolerance was not met within the step ladder")       \
    X(NO_FINITE, -2, "no finite estimate: f was non-finite on every stencil tried")          \
    X(INCONSISTENT, -3, "estimates do not settle as the step shrinks (noise, kink, aliasing)") \
    X(COMPLEX_LOST, -4, "complex step invalid: f dropped the imaginary part or is not real-analytic")

typedef enum fd_status {
#define FD_STATUS_ENUM(name, code, msg) FD_##name = code,
    FD_STATUS_TABLE(FD_STATUS_ENUM)
#undef FD_STATUS_ENUM
} fd_status;

#define FD_STATUS_PLUS_ONE(name, code, msg) +1
enum { FD_STATUS_COUNT = 0 FD_STATUS_TABLE(FD_STATUS_PLUS_ONE) };
#undef FD_STATUS_PLUS_ONE

/* The table as arrays (status.c), in table order, FD_STATUS_COUNT entries each. */
extern const int fd_status_codes[];
extern const char *const fd_status_names[];
extern const char *const fd_status_messages[];

/* ---------------------------------------------------------------------------------------- */
/* Finite-difference weights (weights.c)                                                    */
/* ---------------------------------------------------------------------------------------- */

/* Return codes of fd_fornberg_weights. */
enum fd_offsets_check { FD_OFFSETS_OK = 0, FD_OFFSETS_NONFINITE = 1, FD_OFFSETS_REPEATED = 2 };

/*
 * Fornberg's algorithm: weights c[k*m + j] such that
 *     sum_j c[k*m + j] * f(x0 + offsets[j]) ~= f^(k)(x0),   k = 0 .. nmax,
 * exact for polynomials of degree <= m-1.  c has (nmax+1)*m entries.  Returns FD_OFFSETS_OK,
 * or FD_OFFSETS_NONFINITE / FD_OFFSETS_REPEATED when the offsets are unusable (c unspecified).
 */
int fd_fornberg_weights(const double *offsets, ptrdiff_t m, int nmax, double *c);

#endif /* FASTDIFF_H */
