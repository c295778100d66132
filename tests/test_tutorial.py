"""docs/tutorial.md: the seed course's ideas (slopes, partial derivatives, gradient descent,
gradient checks) as runnable examples; every block is a doctest."""

from __future__ import annotations

import doctest
import pathlib

import pytest

TUTORIAL = pathlib.Path(__file__).resolve().parent.parent / "docs" / "tutorial.md"


@pytest.mark.skipif(not TUTORIAL.exists(), reason="docs/ is not beside this tests/ copy")
def test_tutorial_examples_run():
    result = doctest.testfile(
        str(TUTORIAL), module_relative=False, optionflags=doctest.ELLIPSIS, verbose=False
    )
    assert result.attempted >= 40 and result.failed == 0
