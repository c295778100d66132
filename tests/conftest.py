"""Shared fixtures: Hypothesis profiles and a seeded ``rng`` (shared/STYLE.md B8.9).

* Hypothesis: profile "ci" (deterministic, modest example count, no deadline) is loaded when the
  environment variable ``CI`` is set, "dev" otherwise; ``HYPOTHESIS_PROFILE`` overrides both.
* ``@pytest.mark.slow`` tests (minutes) are skipped unless ``--run-slow`` is given.
* ``rng``: a ``numpy.random.Generator`` seeded from ``FASTDIFF_TEST_SEED`` (default 0). With
  ``FASTDIFF_TEST_SEED=all`` every test using ``rng`` runs for seeds 0-99;
  ``FASTDIFF_TEST_SEED=3-7`` runs a range; a single integer runs that seed.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,  # the same examples on every CI run: failures reproduce
    max_examples=50,
    deadline=None,  # shared CI machines have noisy timings
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=200, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def _seeds_from_env() -> list[int]:
    spec = os.environ.get("FASTDIFF_TEST_SEED", "0").strip()
    if spec == "all":
        return list(range(100))
    if "-" in spec.lstrip("-"):
        lo, hi = spec.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(spec)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "global_seed" in metafunc.fixturenames:
        seeds = _seeds_from_env()
        metafunc.parametrize("global_seed", seeds, ids=[f"seed{s}" for s in seeds])


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-slow", action="store_true", help="also run tests marked slow (nox -s leaks)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow (nox -s leaks)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [f"fastdiff test seeds: {os.environ.get('FASTDIFF_TEST_SEED', '0')}"]


@pytest.fixture
def rng(global_seed: int) -> np.random.Generator:
    """A fresh generator per test, seeded from ``FASTDIFF_TEST_SEED``."""
    return np.random.default_rng(global_seed)
