"""Run the doctests of every module of the *installed* fastdiff package.

Modules are discovered with pkgutil from ``fastdiff.__path__``, so this works for a wheel in
site-packages and for an editable install (whose package path also lists the build tree holding
the compiled modules); it never imports from a source checkout by path.
"""

from __future__ import annotations

import doctest
import importlib
import pathlib
import pkgutil

import pytest

import fastdiff


def _module_names() -> list[str]:
    names = ["fastdiff"]
    for info in pkgutil.walk_packages(fastdiff.__path__, prefix="fastdiff."):
        names.append(info.name)
    return sorted(set(names))


MODULES = _module_names()


def test_discovery_finds_the_python_and_compiled_modules():
    assert {"fastdiff", "fastdiff._stencils", "fastdiff._kernels._finite_diff"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests_pass(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name, globs={}):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"


def test_public_functions_have_examples_that_run():
    # Guards the test above against silently finding nothing.
    tests = doctest.DocTestFinder().find(fastdiff.fd_weights, "fd_weights")
    assert sum(len(t.examples) for t in tests) >= 5


README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.skipif(not README.exists(), reason="README.md is not beside this tests/ copy")
def test_readme_examples_run():
    result = doctest.testfile(
        str(README), module_relative=False, optionflags=doctest.ELLIPSIS, verbose=False
    )
    assert result.attempted >= 8 and result.failed == 0
