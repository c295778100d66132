"""Every development command, for people and CI alike (shared/STYLE.md B11).

nox -s tests               full test suite against a regular install
nox -s tests_debug_cython  the same with Cython boundscheck/wraparound/initializedcheck on
nox -s lint                ruff check + ruff format --check
nox -s stubs               mypy.stubtest: the .pyi stubs match the compiled modules
nox -s wheels              tools/check_wheel.sh: sdist + manylinux2014 x86_64 wheel built with zig,
                           auditwheel show/repair, test suite in a venv without compiler;
                           sdist and wheel land in wheelhouse/ (`wheel` is the same session)
nox -s sanitize            tools/sanitize.sh: ASan + UBSan + leak build, the whole suite under it
nox -s leaks               the slow leak tests: 10^5 calls of every verb and method
nox -s bench_quick         asv check + one quick asv run against this checkout
nox -s dashboard           asv over the last N commits of main (real builds, every peer),
                           publish, vendor the JS, serve on 127.0.0.1:8123; options after --
                           go to tools/dashboard.py (--commits N, --bench RE, --quick, --no-serve)
nox -s docs                the Sphinx site with -W into docs/_build/html
"""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = False

PYTHON = "3.11"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    session.install(".[test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(python=PYTHON)
def tests_debug_cython(session: nox.Session) -> None:
    session.install("-Ccmake.define.FASTDIFF_DEBUG_CYTHON=ON", ".[test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def stubs(session: nox.Session) -> None:
    session.install("mypy", ".")
    session.run("python", "-m", "mypy.stubtest", "fastdiff._kernels")


@nox.session(venv_backend="none", name="wheels")
def wheels(session: nox.Session) -> None:
    # The script makes its own venvs (build tools incl. ziglang; a compiler-free test env).
    session.run("bash", "tools/check_wheel.sh", external=True, env={"OUT_DIR": "wheelhouse"})


@nox.session(venv_backend="none")
def wheel(session: nox.Session) -> None:
    # The old name of `wheels`.
    wheels(session)


@nox.session(venv_backend="none")
def sanitize(session: nox.Session) -> None:
    # The script makes its own venv (an instrumented build must not land in a shared one) and
    # runs pytest with libasan preloaded; posargs select tests (default: the whole suite).
    session.run("bash", "tools/sanitize.sh", *session.posargs, external=True)


@nox.session(python=PYTHON)
def leaks(session: nox.Session) -> None:
    session.install(".[test]")
    slow = ["--run-slow", "-m", "slow", "tests/test_leaks.py"]
    session.run("python", "-m", "pytest", *slow, *session.posargs)


@nox.session(python=PYTHON)
def bench_quick(session: nox.Session) -> None:
    session.install("asv", "numdifftools", "findiff", ".")
    session.run("asv", "machine", "--yes")
    session.run("asv", "check", "--python=same")
    session.run("asv", "run", "--python=same", "--quick", "--show-stderr", *session.posargs)


@nox.session(python=PYTHON)
def dashboard(session: nox.Session) -> None:
    # asv makes its own virtualenv per matrix entry (asv.conf.json) and builds every commit.
    session.install("asv>=0.6", "virtualenv")
    session.run("python", "tools/dashboard.py", *session.posargs)


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    session.install(".[docs]")
    session.run(
        "python", "-m", "sphinx", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html"
    )
