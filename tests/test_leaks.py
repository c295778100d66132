"""Memory: repeated calls of every verb and method, including calls whose f raises midway,
leave neither Python objects (tracemalloc) nor C memory (the resident set) behind.

Two counts.  The normal run makes `QUICK_CALLS` calls per case and counts Python objects only:
enough to catch anything that leaks a Result, an array or a Dual per call (C memory leaked by
the extensions is reported by LeakSanitizer in `nox -s sanitize`).  The slow-marked run
(`nox -s leaks`, or ``pytest --run-slow tests/test_leaks.py``) makes 10^5 and also watches
the resident set, where even a leaked float per call
(32 bytes, 3 MiB in all) exceeds the bounds below.

Bounds, after a warm-up that fills the caches (stencils, NumPy's and CPython's free lists):
  * tracemalloc: live Python allocations grow by at most TRACED_BOUND = 64 KiB in all (no
    per-call allowance: with 10^5 calls, one leaked byte per call is 98 KiB);
  * resident set: grows by at most RSS_BOUND = 4 MiB (malloc keeps freed pages, so the RSS
    is noisier; a leaked ladder state, ~600 bytes per element, is 60 MiB over 10^5 calls).
"""

from __future__ import annotations

import gc
import os
import sys
import tracemalloc

import numpy as np
import pytest

from verbs import FUNCTIONS, call, verb_methods

QUICK_CALLS = 60
FULL_CALLS = 100_000
TRACED_BOUND = 64 * 1024
RSS_BOUND = 4 * 1024 * 1024


class Stop(Exception):
    """f's own exception, raised midway through a call."""


def rss_bytes() -> int | None:
    """The resident set size (Linux), or None where /proc is not available."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def make_case(verb, method, raising):
    """A zero-argument callable making one call (alternating looped and vectorized)."""
    f = FUNCTIONS[verb]
    x = np.array([0.3, -0.2])
    a = np.array([1.5]) if verb == "derivative" else np.full(2, 1.5)
    kwargs = {"c": np.array([0.25])}
    state = {"n": 0, "calls": 0}

    def g(x, a, *, c):
        state["n"] += 1
        if raising and state["n"] == 3:  # the third evaluation: the ladder is running
            raise Stop
        return f(x, a, c=c)

    def one():
        state["n"] = 0
        state["calls"] += 1
        vec = state["calls"] % 2 == 0
        try:
            call(verb, g, x, method, args=(a,), kwargs=kwargs, vectorized=vec)
        except Stop:
            assert raising
        else:
            assert not raising or state["n"] < 3  # a method that needs fewer evaluations

    return one


def measure(one, calls, with_rss):
    """(growth of traced Python memory, growth of the RSS or None) over `calls` calls."""
    for _ in range(max(30, calls // 10)):
        one()
    gc.collect()
    r0 = r1 = None
    if with_rss:  # a pass of its own: tracemalloc's bookkeeping would count in the RSS
        r0 = rss_bytes()
        for _ in range(calls):
            one()
        gc.collect()
        r1 = rss_bytes()
    tracemalloc.start()
    try:
        for _ in range(20):  # tracemalloc's own first allocations
            one()
        gc.collect()
        t0 = tracemalloc.get_traced_memory()[0]
        for _ in range(calls):
            one()
        gc.collect()
        t1 = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return t1 - t0, (None if r0 is None or r1 is None else r1 - r0)


def check(verb, method, raising, calls, with_rss):
    traced, rss = measure(make_case(verb, method, raising), calls, with_rss)
    assert traced <= TRACED_BOUND, f"{traced} bytes of Python objects left after {calls} calls"
    if rss is not None:
        assert rss <= RSS_BOUND, f"the resident set grew by {rss} bytes over {calls} calls"


CASES = [(v, m, r) for v, m in verb_methods() for r in (False, True)]
IDS = [f"{v}-{m}-{'raising' if r else 'ok'}" for v, m, r in CASES]


@pytest.mark.skipif(sys.gettrace() is not None, reason="a tracer (coverage) allocates per call")
@pytest.mark.parametrize(("verb", "method", "raising"), CASES, ids=IDS)
def test_repeated_calls_do_not_leak(verb, method, raising):
    check(verb, method, raising, QUICK_CALLS, with_rss=False)


@pytest.mark.slow
@pytest.mark.parametrize(("verb", "method", "raising"), CASES, ids=IDS)
def test_repeated_calls_do_not_leak_full_count(verb, method, raising):
    check(verb, method, raising, FULL_CALLS, with_rss=True)
