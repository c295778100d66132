"""The NumPy model of the move onto the circle, as it was before it moved into C
(csrc/complex_step.c, fd_on_circle): the slow obvious reference test_complex.py compares
_complex.on_the_circle with. Dense Fourier matrices and matrix products, per pass."""

from functools import lru_cache

import numpy as np

from fastdiff import _complex

EPS = float(np.finfo(np.float64).eps)
ON_CIRCLE_PASSES = 6


@lru_cache(maxsize=4)
def _circle_matrices(npts: int) -> tuple[np.ndarray, np.ndarray]:
    """For the N = 2 (npts - 1) values on a circle: F, the discrete Fourier coefficients
    (c = values @ F, c_j = sum_k f_k w^(-jk) / N), and D12, side by side the values of
    sum_j j c_j w^(jk) and sum_j j (j - 1) c_j w^(jk) at k < npts (r w^k f' and r^2 w^2k f''
    of an analytic f on the circle); read-only."""
    N = 2 * (npts - 1)
    j = np.arange(N)
    # w^(jk) from jk mod N and the correctly rounded table of w^p (p <= N / 2; conjugates)
    hi, _ = _complex.circle_angles(npts)
    wp = np.concatenate([hi, np.conj(hi[-2:0:-1])])
    F = np.conj(wp[np.outer(j, j) % N]) / N
    G = wp[np.outer(j, j[:npts]) % N]
    D12 = np.concatenate([F @ (j[:, None] * G), F @ ((j * (j - 1))[:, None] * G)], axis=1)
    for M in (F, D12):
        M.flags.writeable = False
    return F, D12


def on_the_circle_reference(
    y: np.ndarray, x: np.ndarray, r: np.ndarray, err: np.ndarray, ang: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """fastdiff._complex.on_the_circle as it was written in NumPy before the C kernel
    (fd_on_circle): the same arguments, returns and method (see that docstring), kept as
    the slow, obvious reference the C kernel is tested against. err = x + r ang - z,
    complex (the points z are correctly rounded; _complex.circle_points)."""
    m, npts = y.shape
    N = 2 * (npts - 1)
    rs = r[:, None]
    e = err
    ok = finite = np.isfinite(y).all(axis=1) & np.isfinite(e).all(axis=1)
    if not ok.any():
        return y, np.zeros(m), np.zeros(m), np.zeros(m)
    j = np.arange(N)
    w = np.ones(npts)
    w[1:-1] = 2.0  # the sum's weights: interior points stand for their conjugates too

    F, D12 = _circle_matrices(npts)

    def ext(v):
        """All N values from the npts evaluated (conjugate symmetry gives the other half)."""
        return np.concatenate([v, np.conj(v[:, -2:0:-1])], axis=1)

    # the second-order term e^2 |f''| / 2 < (e N / r)^2 |f| / 2 matters only where e / r is
    # above ~1e-9 (x / r above ~1e7): elsewhere f'' is not needed
    second = bool(np.any(np.abs(e) * N > 1e-9 * rs))

    def moved_by(v, t):
        rw = rs[t] * ang[None, :]
        both = ext(v) @ (D12 if second else D12[:, :npts])  # r w^k f', r^2 w^2k f'', k < npts
        rdf = both[:, :npts]
        df = rdf / rw
        if not second:
            return y[t] + df * e[t], rdf
        d2f = both[:, npts:] / rw**2
        # to second order, about the point on the circle c = z + e (f' and f'' are there):
        # f(c) = f(z) + f'(c) e - f''(c) e^2 / 2 + O(e^3); e reaches 1e-6 at x = 1e10, and
        # e^2 f'' / 2 is then 1e-12 |f|
        return y[t] + (df - d2f * (e[t] / 2)) * e[t], rdf

    # f' from the values as evaluated carries their rounding f' e, amplified by up to j in
    # the coefficients (1e-12 |f| left at x = 1e10 after one move): f' is taken again from
    # the moved values, until the move stops changing; the last change stays in the bar
    moved, rdf = y.copy(), np.zeros((m, npts), complex)
    change, last, first = np.full(m, np.inf), np.full(m, np.inf), np.zeros(m)
    todo = np.flatnonzero(ok)
    for k in range(ON_CIRCLE_PASSES):
        if not todo.size:
            break
        new, rdf[todo] = moved_by(moved[todo], todo)
        step = (np.abs(new - moved[todo]) * w).sum(axis=1) / N
        moved[todo] = new
        last[todo], change[todo] = change[todo], np.where(np.isfinite(step), step, np.inf)
        # the first pass's change is the move itself, and what it leaves is about
        # N^2 change^2 / |f| (its f' carries the change, amplified by up to j ~ N): below
        # eps |f| where the move is under 1e-10 |f| (x up to ~1e5), and no second pass is
        # needed. From the second pass on, a change bounds what the pass before left (the
        # passes contract by about N e / r); a change of an ulp or two is the move's own
        # rounding.
        big = np.abs(y[todo]).max(axis=1)
        if k:
            todo = todo[~(change[todo] <= 2 * EPS * big)]
        else:
            once = change[todo] <= 1e-10 * big
            first[todo[once]] = N**2 * (change[todo[once]] / big[once]) * change[todo[once]]
            change[todo[once]] = 0.0
            todo = todo[~once]
    # a move that grew (e ~ r / 100: x = 1e15, r = 4) is no help: the values as evaluated
    diverged = ~(change <= 0.5 * last) & (last < np.inf)
    diverged[todo] |= True  # still moving after the last pass
    ok = ok & ~diverged
    moved = np.where(ok[:, None], moved, y)
    mean_abs = np.maximum(np.abs(y).mean(axis=1), np.finfo(float).tiny)
    c = ext(np.where(finite[:, None], moved, 0) / mean_abs[:, None]) @ F  # relative to mean|f|
    # what the move leaves, per value: the error of f' and f'' from the coefficients, which
    # is their aliasing, a_(j+N) r^(j+N) taken with the factor j for j + N: below N times the
    # top coefficients (j = 24 .. 31; for noise in them, sqrt(sum j^2) < 2 N 8 times theirs);
    # the third-order term (|f^(3)| < sum j^3 |c_j| / r^3); and twice the last pass's change
    ac = np.abs(c) * mean_abs[:, None]
    tail = 2 * N * ac[:, 24:].sum(axis=1, keepdims=True)
    d3 = (j**3 * ac).sum(axis=1, keepdims=True)
    q = np.abs(e) / rs  # relative to r: no overflow at x = 1e300
    per = q * tail * (1 + q * N / 2) + q**3 * d3 / 6
    left = (w * per).sum(axis=1) / N + np.where(ok, 2 * change + first, 0.0)
    # err's own error, 2^-104 (|x| + r) per point, times |f'|
    angles = 2.0**-104 * (np.abs(x) / r + 1) * (w * np.abs(rdf)).sum(axis=1) / N
    mean_w = (w * np.abs(y)).sum(axis=1) / N
    residual = (left + angles) / np.maximum(mean_w, mean_abs * 1e-300)
    # not moved: the worst case of the rounding, ulp(|x| + r) / 2 per value times |f'|, with
    # |f'| ~ mean|f| / r taken twice (the bar before the move)
    unmoved = np.spacing(np.abs(x) + r) / r
    residual = np.where(ok, residual, unmoved)
    cn = c.real
    scale = mean_abs / np.maximum(mean_w, 1e-300)
    top = np.sqrt(np.mean(cn[:, 24:32] ** 2, axis=1)) * scale
    below = np.sqrt(np.mean(cn[:, 16:24] ** 2, axis=1)) * scale
    return moved, residual, np.where(finite, top, 0.0), np.where(finite, below, 0.0)


# --------------------------------------------------------------------------------------------
# The circle's points (fd_circle_points), as first written in NumPy
# --------------------------------------------------------------------------------------------


def _two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """s + t = a + b exactly, s = fl(a + b) (Knuth, TAOCP vol. 2, 4.2.2, Theorem B)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _split(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """a = hi + lo, each of at most 26 significant bits (Veltkamp; |a| < 2^995)."""
    t = 134217729.0 * a  # 2^27 + 1
    hi = t - (t - a)
    return hi, a - hi


def _two_prod(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """p + e = a b exactly, p = fl(a b), for |b| <= 1 and a of any size (Dekker 1971, Numer.
    Math. 18, 224-242: a's mantissa is split, its exponent put back after)."""
    mant, expo = np.frexp(a)
    p = mant * b
    ah, al = _split(mant)
    bh, bl = _split(b)
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return np.ldexp(p, expo), np.ldexp(e, expo)


def circle_points_reference(
    x: np.ndarray, r: np.ndarray, hi: np.ndarray, lo: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """fastdiff._complex.circle_points in NumPy: (z, err), z = x + r (hi + lo) correctly
    rounded, err the rest (the same TwoSum and Dekker product as fd_circle_points)."""
    xs, rs = x[:, None], r[:, None]
    pr, er = _two_prod(rs, hi.real[None, :])  # r cos: pr + er exactly
    pi, ei = _two_prod(rs, hi.imag[None, :])
    s, t = _two_sum(np.broadcast_to(xs, pr.shape), pr)
    low = t + er + rs * lo.real[None, :]  # x + r cos = s + low (to 2^-104 (|x| + r))
    zr = s + low
    err_r = low - (zr - s)
    low_i = ei + rs * lo.imag[None, :]
    zi = pi + low_i
    err_i = low_i - (zi - pi)
    return zr + 1j * zi, err_r + 1j * err_i
