"""workers=: a 16-D gradient of a CPU-bound f costing ~5 ms a call (issue 11), serial, through
a local process pool of 2, and through a 2-worker Dask LocalCluster, beside numdifftools
(serial) and scipy's approx_derivative (serial and with a 2-process map, its `workers`).

The ratios that matter are serial / parallel of the same implementation, measured side by
side; asv runs each parameter in its own process, so compare within one run. f costs the
same at every point (a fixed amount of pure-Python work), so the ideal speedup with 2
workers is 2 minus the levels whose points do not split evenly. The Dask cluster runs as
docs/expensive.md recommends for such an f (the workers' profiler off);
tools/parallel_speedup.py measures the same variants interleaved in one process.
"""

from __future__ import annotations

import logging

import numpy as np

import fastdiff

from . import model
from .model import WORK, simulate  # noqa: F401  (WORK: this module's public name since v1)

# The peers are imported in setup(), by the variant that needs them: asv runs each parameter
# in its own process, and the process-pool variants fork that process (see benchmarks.model).


class ExpensiveGradient16:
    """gradient of simulate at a 16-D point: wall time and evaluations."""

    param_names = ["impl"]
    params = (
        [
            "fastdiff_serial",
            "fastdiff_processes2",
            "fastdiff_dask2",
            "numdifftools",
            "scipy_approx_derivative",
            "scipy_approx_derivative_processes2",
            "floor_processes2",
        ],
    )
    timeout = 300
    repeat = (2, 5, 60.0)
    number = 1

    def setup(self, impl):
        self.x = np.linspace(-0.8, 1.1, 16)
        self.client = self.cluster = self.pool = None
        if impl == "fastdiff_dask2":
            from .common import require

            try:
                import distributed
            except ImportError:
                distributed = None
            require(distributed, "distributed")
            import cloudpickle
            import dask

            # the workers cannot import the benchmarks' modules: send simulate by value
            cloudpickle.register_pickle_by_value(model)
            # as docs/expensive.md tells users with a CPU-bound pure-Python f: the workers'
            # statistical profiler (a stack sample every 10 ms, taking the GIL from f) off
            with dask.config.set({"distributed.worker.profile.enabled": False}):
                self.cluster = distributed.LocalCluster(
                    n_workers=2,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",  # any free port: never a clash with other clusters
                    silence_logs=logging.ERROR,
                )
            self.client = distributed.Client(self.cluster)
            # warm the workers (their first task imports fastdiff and NumPy)
            fastdiff.gradient(np.sum, self.x, workers=self.client)
        if impl.startswith("scipy"):
            try:  # `import scipy.optimize` would rebind common's guarded `scipy`
                from scipy.optimize._numdiff import approx_derivative
            except ImportError:
                raise NotImplementedError("scipy is not installed") from None
            self.approx_derivative = approx_derivative
        if impl == "scipy_approx_derivative_processes2":
            import multiprocessing

            self.pool = multiprocessing.get_context().Pool(2)
        if impl == "numdifftools":
            from .common import numdifftools, require

            self.numdifftools = require(numdifftools, "numdifftools")
        if impl == "floor_processes2":
            # the parallel floor: a bare 2-process pool started per call, mapping simulate
            # over as many points as fastdiff's gradient evaluates (95), with no ladder
            self.points = [self.x + 1e-3 * i for i in range(95)]

    def teardown(self, impl):
        if self.client is not None:
            self.client.close()
            self.cluster.close()
        if self.pool is not None:
            self.pool.terminate()

    def _run(self, impl):
        if impl == "fastdiff_serial":
            return fastdiff.gradient(simulate, self.x).nfev
        if impl == "fastdiff_processes2":
            return fastdiff.gradient(simulate, self.x, workers=2).nfev
        if impl == "fastdiff_dask2":
            return fastdiff.gradient(simulate, self.x, workers=self.client).nfev
        if impl == "floor_processes2":
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(2) as pool:
                list(pool.map(simulate, self.points, chunksize=48))
            return len(self.points)
        calls = [0]

        def counted(v):
            calls[0] += 1
            return simulate(v)

        if impl == "numdifftools":
            self.numdifftools.Gradient(counted)(self.x)
            return calls[0]
        if impl == "scipy_approx_derivative":
            self.approx_derivative(counted, self.x)
            return calls[0]
        self.approx_derivative(simulate, self.x, workers=self.pool.map)
        return 1 + 2 * self.x.size  # 3-point: f(x) and two points per coordinate

    def time_gradient(self, impl):
        self._run(impl)

    def track_nfev(self, impl):
        return self._run(impl)

    track_nfev.unit = "evaluations"

    def track_bitwise_equal_to_serial(self, impl):
        """1 where the parallel fastdiff result equals the serial one in every field."""
        if not impl.startswith("fastdiff"):
            return float("nan")  # fastdiff only
        workers = {"fastdiff_processes2": 2, "fastdiff_dask2": self.client}.get(impl)
        ref = fastdiff.gradient(simulate, self.x)
        res = fastdiff.gradient(simulate, self.x, workers=workers)
        fields = ("df", "error", "status", "step", "nfev")
        return int(all(np.array_equal(getattr(ref, k), getattr(res, k)) for k in fields))
