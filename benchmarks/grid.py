"""Derivatives of sampled data: fastdiff.grid_derivative against findiff, np.gradient and a
hand-written NumPy slicing stencil (the floor: the same order-4 formula, no error estimate).

sin on 1e6 uniform samples at x = i 2^-17 (positions exact in floating point, so the samples
are exactly sin on the grid dx assumes); n = 1, order 4 (np.gradient: order 2, edges 2).
Tracks: the max true error, and for fastdiff whether its error bar bounds the true error
everywhere it claims success.
"""

from __future__ import annotations

import numpy as np

import fastdiff as fd
from fastdiff import _grid

from .common import findiff, require

N = 10**6


def slicing_order4(y, dx):
    """The five-point interior stencil and the five-point one-sided ends, by NumPy slicing."""
    out = np.empty_like(y)
    out[2:-2] = (y[:-4] - 8 * y[1:-3] + 8 * y[3:-1] - y[4:]) / (12 * dx)
    c = np.array([-25.0, 48.0, -36.0, 16.0, -3.0]) / (12 * dx)
    out[0] = c @ y[:5]
    out[1] = np.array([-3.0, -10.0, 18.0, -6.0, 1.0]) / (12 * dx) @ y[:5]
    out[-1] = -c @ y[-1:-6:-1]
    out[-2] = -np.array([-3.0, -10.0, 18.0, -6.0, 1.0]) / (12 * dx) @ y[-1:-6:-1]
    return out


class GridDerivative:
    """fastdiff as called (two threads where there are two cores) and forced onto one thread
    (the private switch fastdiff._grid._THREADS): the kernel's own speed."""

    params = [
        ["fastdiff", "fastdiff (1 thread)", "findiff", "np.gradient", "numpy slicing (floor)"]
    ]
    param_names = ["impl"]

    def setup(self, impl):
        self.dx = 2.0**-17
        self.x = np.arange(N) * self.dx
        self.y = np.sin(self.x)
        self.exact = np.cos(self.x)
        _grid._THREADS = 1 if impl == "fastdiff (1 thread)" else None
        if impl.startswith("fastdiff"):
            self.run = lambda: fd.grid_derivative(self.y, dx=self.dx, order=4).df
        elif impl == "findiff":
            fdf = require(findiff, "findiff")
            if hasattr(fdf, "Diff"):
                op = fdf.Diff(0, self.dx, acc=4)
            else:  # findiff < 0.11
                op = fdf.FinDiff(0, self.dx, 1, acc=4)
            self.run = lambda: op(self.y)
        elif impl == "np.gradient":
            self.run = lambda: np.gradient(self.y, self.dx, edge_order=2)
        else:
            self.run = lambda: slicing_order4(self.y, self.dx)

    def teardown(self, impl):
        _grid._THREADS = None

    def time_derivative(self, impl):
        self.run()

    def track_max_abs_error(self, impl):
        return float(np.max(np.abs(self.run() - self.exact)))

    track_max_abs_error.unit = "abs error"


class GridDerivative2D:
    """1000 x 1000 samples of sin(x + y), order 4 along either axis: axis 1 is contiguous (the
    fused tiles), axis 0 runs row by row across the contiguous axis."""

    params = [["fastdiff", "findiff", "np.gradient"], [0, 1]]
    param_names = ["impl", "axis"]

    def setup(self, impl, axis):
        self.dx = 2.0**-10
        x = np.arange(1000) * self.dx
        self.y = np.sin(x[:, None] + x[None, :])
        self.exact = np.cos(x[:, None] + x[None, :])
        if impl == "fastdiff":
            self.run = lambda: fd.grid_derivative(self.y, dx=self.dx, order=4, axis=axis).df
        elif impl == "findiff":
            fdf = require(findiff, "findiff")
            if hasattr(fdf, "Diff"):
                op = fdf.Diff(axis, self.dx, acc=4)
            else:  # findiff < 0.11
                op = fdf.FinDiff(axis, self.dx, 1, acc=4)
            self.run = lambda: op(self.y)
        else:
            self.run = lambda: np.gradient(self.y, self.dx, axis=axis, edge_order=2)

    def time_derivative(self, impl, axis):
        self.run()

    def track_max_abs_error(self, impl, axis):
        return float(np.max(np.abs(self.run() - self.exact)))

    track_max_abs_error.unit = "abs error"


class GridDerivativeHonesty:
    """fastdiff alone (asv skips only from setup): its error bar against the true error."""

    def setup(self):
        self.dx = 2.0**-17
        x = np.arange(N) * self.dx
        self.y, self.exact = np.sin(x), np.cos(x)

    def track_error_bar_honest(self):
        res = fd.grid_derivative(self.y, dx=self.dx, order=4)
        ok = res.success
        return float(np.all(np.abs(res.df - self.exact)[ok] <= res.error[ok]) and ok.mean() > 0.9)

    track_error_bar_honest.unit = "honest (1) / not (0)"

    def track_median_bar_over_true_error(self):
        res = fd.grid_derivative(self.y, dx=self.dx, order=4)
        true = np.maximum(np.abs(res.df - self.exact), 1e-300)
        return float(np.median(res.error / true))

    track_median_bar_over_true_error.unit = "ratio"
