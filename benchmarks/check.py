"""Gradient checks: fastdiff.check_gradient against scipy.optimize.check_grad on the MLP.

The network is the 385-parameter MLP of tests/mlp.py (the copy in benchmarks/dual.py).
scipy's check_grad returns one norm of the difference (forward differences at a fixed step);
check_gradient returns a verdict per entry. Tracks: whether each flags a single entry off by
1e-4 relative (1 = found), and how many entries of a correct gradient are flagged.
"""

from __future__ import annotations

import numpy as np

import fastdiff as fd

from .common import require, scipy
from .dual import N_IN, N_PARAMS, mlp_backprop, mlp_loss

try:
    import scipy.optimize
except ImportError:  # pragma: no cover
    pass

#: scipy's check_grad gives one number; this is the threshold a user would compare it with
#: (its default step sqrt(eps) leaves forward-difference errors near 1e-7 relative).
SCIPY_THRESHOLD = 1e-5


def _problem():
    rng = np.random.default_rng(0)
    theta = rng.normal(scale=0.3, size=N_PARAMS)
    X = rng.normal(size=(N_IN, 16))
    y = rng.normal(size=(1, 16))
    g = mlp_backprop(theta, X, y)
    wrong = g.copy()
    wrong[7] *= 1 + 1e-4
    return theta, X, y, g, wrong


class CheckGradient:
    params = [
        [
            "fastdiff.check_gradient",
            "fastdiff.check_gradient(method='dual')",
            "scipy.optimize.check_grad",
        ]
    ]
    param_names = ["impl"]
    timeout = 120

    def setup(self, impl):
        if impl.startswith("scipy"):
            require(scipy, "scipy")
        self.theta, self.X, self.y, self.g, self.wrong = _problem()

    def _flags(self, grad):
        """(entries flagged, or 1/0 for scipy's single verdict)."""
        if self.impl_is_scipy:
            norm = scipy.optimize.check_grad(
                mlp_loss, lambda t, X, y: grad, self.theta, self.X, self.y
            )
            return float(norm / np.linalg.norm(grad) > SCIPY_THRESHOLD)
        method = "dual" if "dual" in self._impl else "central"
        chk = fd.check_gradient(mlp_loss, grad, self.theta, args=(self.X, self.y), method=method)
        return chk.mismatch

    @property
    def impl_is_scipy(self):
        return self._impl.startswith("scipy")

    def time_check(self, impl):
        self._impl = impl
        self._flags(self.g)

    def track_wrong_entry_found(self, impl):
        self._impl = impl
        out = self._flags(self.wrong)
        if self.impl_is_scipy:
            return out
        return float(np.flatnonzero(out).tolist() == [7])

    track_wrong_entry_found.unit = "found (1) / missed (0)"

    def track_correct_entries_flagged(self, impl):
        self._impl = impl
        out = self._flags(self.g)
        return float(out) if self.impl_is_scipy else float(np.sum(out))

    track_correct_entries_flagged.unit = "entries"

    def track_nfev(self, impl):
        if impl.startswith("scipy"):
            return float(2 * N_PARAMS + 1)  # check_grad: approx_fprime, one point per entry
        method = "dual" if "dual" in impl else "central"
        return float(fd.gradient(mlp_loss, self.theta, args=(self.X, self.y), method=method).nfev)

    track_nfev.unit = "evaluations"
