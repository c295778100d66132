"""The expensive f of the workers= benchmarks (issue 11), in a module that imports NumPy only.

A process pool started per call forks its parent, and a fork costs in proportion to the
parent's memory: benchmarks/common.py's peers (jax, scipy, numdifftools, ...) grow a process
from about 35 MB to 260 MB, and a 2-process pool's start and shutdown from 8-17 ms to 30-50
ms. What measures `workers=` (benchmarks/evaluate.py, tools/parallel_speedup.py) imports f
from here, and its peers only where a variant needs them.
"""

from __future__ import annotations

import numpy as np

#: iterations of simulate()'s loop: about 5 ms on the 2-core development machine
WORK = 80_000


def simulate(x):
    """A stand-in for an expensive model: fixed pure-Python work, then a smooth value
    (Rosenbrock's function). Module level, so that a process pool can pickle it."""
    acc = 0.0
    for k in range(WORK):
        acc += (k % 7) * 1e-300
    x = np.asarray(x)
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)) + acc
