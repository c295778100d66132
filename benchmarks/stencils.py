"""Finite-difference weights: fastdiff.fd_weights side by side with its peers.

Each class is a grid over (stencil size, implementation); missing peers are skipped. Besides time,
``track_max_weight_error`` records the largest absolute error of the weights against the exact
rational values, which catches accuracy regressions that timings cannot.
"""

from __future__ import annotations

import numpy as np

import fastdiff

from .common import (
    CENTRAL_POINTS,
    central_offsets,
    exact_central_first_derivative,
    findiff,
    numdifftools,
    require,
    vandermonde_weights,
)

IMPLEMENTATIONS = ["fastdiff", "numpy_vandermonde", "numdifftools", "findiff"]


def _weights_function(impl: str):
    """A callable (offsets, n) -> weights for `impl`, or NotImplementedError if unavailable."""
    if impl == "fastdiff":
        return fastdiff.fd_weights
    if impl == "numpy_vandermonde":
        return vandermonde_weights
    if impl == "numdifftools":
        fornberg = require(numdifftools, "numdifftools").fornberg
        return lambda offsets, n: fornberg.fd_weights(offsets, 0.0, n)
    if impl == "findiff":
        fd = require(findiff, "findiff")
        offsets_int = None

        def weights(offsets, n):
            nonlocal offsets_int
            if offsets_int is None:  # findiff wants integer offsets
                offsets_int = [int(o) for o in offsets]
            return np.asarray(fd.coefficients(deriv=n, offsets=offsets_int)["coefficients"])

        return weights
    raise ValueError(impl)


class CentralFirstDerivativeWeights:
    """Weights of the 5-, 9- and 17-point central first derivative."""

    params = (CENTRAL_POINTS, IMPLEMENTATIONS)
    param_names = ["points", "implementation"]

    def setup(self, points, impl):
        self.weights = _weights_function(impl)
        self.offsets = central_offsets(points)
        self.exact = exact_central_first_derivative(points)

    def time_weights(self, points, impl):
        self.weights(self.offsets, 1)

    def track_max_weight_error(self, points, impl):
        return float(np.max(np.abs(self.weights(self.offsets, 1) - self.exact)))

    track_max_weight_error.unit = "abs error"


class OneSidedByOrder:
    """fd_weights on a 9-point one-sided stencil, by derivative order n."""

    params = [[1, 2, 4, 8]]
    param_names = ["n"]

    def setup(self, n):
        self.offsets = np.arange(9.0)

    def time_fd_weights_one_sided(self, n):
        fastdiff.fd_weights(self.offsets, n)
