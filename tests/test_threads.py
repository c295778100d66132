"""Thread safety: concurrent calls of every verb and method agree bitwise with serial calls.

Eight threads wait at a barrier, then each runs its own sequence of calls (different points,
different functions), so the calls overlap in time; the kernels release the GIL while they
work, which is exactly when another thread's f runs.  Every field of every Result must equal
the serial one bit for bit.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import fastdiff as fd
from verbs import FUNCTIONS, call, same, verb_methods

NTHREADS = 8
ROUNDS = 3


def _problems(verb):
    """Per thread: (x, args, kwargs, vectorized), all different."""
    out = []
    for t in range(NTHREADS):
        x = np.linspace(-0.5, 0.7, 6).reshape(2, 3) + 0.1 * t
        a = np.array([1.0 + t]) if verb == "derivative" else np.full((2, 3), 1.0 + t)
        out.append((x, (a,), {"c": np.array([0.5 * t])}, t % 2 == 1))
    return out


def _run_concurrently(work):
    """Run work(i) in NTHREADS threads released together; returns their results in order."""
    barrier = threading.Barrier(NTHREADS)
    results: list = [None] * NTHREADS
    errors: list = []

    def worker(i):
        try:
            barrier.wait(timeout=60)
            results[i] = work(i)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(NTHREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if errors:
        raise errors[0]
    return results


@pytest.mark.parametrize(("verb", "method"), verb_methods(), ids=str)
def test_concurrent_calls_agree_bitwise_with_serial(verb, method):
    probs = _problems(verb)

    def calls(i):
        x, args, kwargs, vec = probs[i]
        return [
            call(verb, FUNCTIONS[verb], x, method, args=args, kwargs=kwargs, vectorized=vec)
            for _ in range(ROUNDS)
        ]

    serial = [calls(i) for i in range(NTHREADS)]
    concurrent = _run_concurrently(calls)
    for i in range(NTHREADS):
        for r in range(ROUNDS):
            assert same(concurrent[i][r], serial[i][0]), (i, r)


def _nested(i):
    """d/dx [x * d/dy (x y^2 + y)] at y = 1 (= d/dx [x (2 x + 1)] = 4 x + 1), and the Hessian
    of a function by dual derivative of a dual gradient, at a point of thread i."""
    x0 = 0.25 + 0.125 * i

    def inner(x):
        return x * fd.derivative(lambda y: x * y**2 + y, 1.0, method="dual").df

    d = fd.derivative(inner, x0, method="dual")
    h = fd.jacobian(
        lambda p: fd.gradient(lambda q: q[0] ** 2 * q[1] + np.sin(q[1]), p, method="dual").df,
        np.array([x0, 2.0 * x0]),
        method="dual",
    )
    return d, h


def test_nested_dual_differentiation_is_thread_safe():
    serial = [[_nested(i) for _ in range(ROUNDS)] for i in range(NTHREADS)]
    for i in range(NTHREADS):
        x0 = 0.25 + 0.125 * i
        assert serial[i][0][0].df == pytest.approx(4 * x0 + 1, rel=4 * np.finfo(float).eps)
    concurrent = _run_concurrently(lambda i: [_nested(i) for _ in range(ROUNDS)])
    for i in range(NTHREADS):
        for r in range(ROUNDS):
            for got, want in zip(concurrent[i][r], serial[i][0], strict=True):
                assert same(got, want), (i, r)
