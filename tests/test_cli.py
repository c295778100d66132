"""The ``fastdiff`` command: output, JSON, exit codes and one-line errors.

A few tests run ``python -m fastdiff`` in a subprocess (the real entry point, ~0.3 s each); the
rest call ``fastdiff.__main__.main`` in-process.
"""

import doctest
import importlib.metadata
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import fastdiff
import fastdiff.__main__ as cli
from fastdiff import Result

SLACK = 1e-15  # rounding allowance of the error contract (shared/DESIGN.md)


def run_cli(*args):
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "fastdiff", *args],
        capture_output=True,
        encoding="utf-8",
        env=env,
        timeout=60,
    )


def strict_json(text):
    def reject(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=reject)


def within_error(df, error, exact):
    df, error, exact = np.asarray(df), np.asarray(error), np.asarray(exact)
    return np.all(np.abs(df - exact) <= error + SLACK * np.maximum(1, np.abs(exact)))


# --------------------------------------------------------------------------------------------
# Through the real entry point
# --------------------------------------------------------------------------------------------


def test_readable_output_shows_value_error_status_and_nfev():
    proc = run_cli("derivative", "sin(x)*exp(x)", "--at", "1.0")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    title, _header, row, footer = proc.stdout.splitlines()
    assert title == "d/dx sin(x)*exp(x)"
    label, value, pm, error, *rest = row.split("  ")[0:1] + row.split()[3:]
    assert (label, pm) == ("x = 1.0", "±")
    exact = math.exp(1) * (math.sin(1) + math.cos(1))
    assert within_error(float(value), float(error), exact)
    assert rest[:3] == ["CONVERGED", "(0)", "True"]
    assert footer.startswith("method: central   nfev: ")


def test_json_first_derivative_matches_the_analytic_value_within_its_error():
    proc = run_cli("derivative", "sin(x)*exp(x)", "--at", "0,0.5,pi/4", "--json")
    assert proc.returncode == 0, proc.stderr
    out = strict_json(proc.stdout)
    x = np.array([0, 0.5, math.pi / 4])
    assert out["x"] == pytest.approx(x.tolist(), rel=0, abs=0)
    assert within_error(out["df"], out["error"], np.exp(x) * (np.sin(x) + np.cos(x)))
    assert out["success"] == [True] * 3
    assert out["status"] == [0] * 3 and out["status_name"] == ["CONVERGED"] * 3
    assert out["method"] == "central" and isinstance(out["nfev"], int) and out["nfev"] > 0
    assert len(out["step"]) == 3


def test_json_second_derivative_matches_the_analytic_value_within_its_error():
    proc = run_cli(
        "derivative", "sin(x)*exp(x)", "--at", "1.0", "--n", "2", "--order", "4", "--json"
    )
    assert proc.returncode == 0, proc.stderr
    out = strict_json(proc.stdout)
    assert out["n"] == 2 and out["success"] is True
    assert within_error(out["df"], out["error"], 2 * math.exp(1) * math.cos(1))


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["derivative", "__import__('os')", "--at", "1"], "unknown function '__import__'"),
        (["derivative", "x.__class__", "--at", "1"], "attribute access is not allowed"),
        (["derivative", "open", "--at", "1"], "unknown name 'open'"),
        (["derivative", "x + y", "--at", "1"], "unknown name 'y'"),
        (["derivative", "sin(x", "--at", "1"], "syntax error"),
        (["derivative", "x", "--at", "1,abc"], "--at: 'abc' is not a number"),
        (["derivative", "x", "--at", "1", "--order", "3"], "`order` must be a positive even"),
    ],
    ids=["import", "attribute", "open", "unknown-name", "syntax", "bad-at", "bad-order"],
)
def test_bad_input_exits_2_with_one_line_on_stderr(args, fragment):
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("fastdiff: error: ")
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert fragment in proc.stderr


def test_console_script_entry_point_is_main():
    (script,) = importlib.metadata.entry_points(group="console_scripts", name="fastdiff")
    assert script.load() is cli.main


@pytest.mark.skipif(not hasattr(fastdiff, "gradient"), reason="no fastdiff.gradient yet")
def test_gradient_through_the_entry_point():
    proc = run_cli("gradient", "x**3 + 2*x*y", "--at", "x=1,y=2", "--json")
    assert proc.returncode == 0, proc.stderr
    out = strict_json(proc.stdout)
    assert out["variables"] == ["x", "y"]
    assert within_error(out["df"], out["error"], [3 + 4, 2])
    text = run_cli("gradient", "x**3 + 2*x*y", "--at", "y=2,x=1").stdout
    assert text.index("/∂y") < text.index("/∂x")  # the order of --at is the coordinate order


@pytest.mark.skipif(not hasattr(fastdiff, "hessian"), reason="no fastdiff.hessian yet")
def test_hessian_through_the_entry_point():
    proc = run_cli("hessian", "x**3 + 2*x*y", "--at", "x=1,y=2", "--json")
    assert proc.returncode == 0, proc.stderr
    out = strict_json(proc.stdout)
    assert within_error(out["df"], out["error"], [[6, 2], [2, 0]])
    assert np.shape(out["status_name"]) == (2, 2)


FIELDS = ("df", "error", "success", "status", "status_name", "nfev", "step", "method")


@pytest.mark.parametrize(
    "args",
    [
        ["derivative", "sin(x)*exp(x)", "--at", "0,0.5,pi/4"],
        ["derivative", "exp(-x**2)", "--at", "0.3", "--n", "2", "--method", "complex"],
        ["gradient", "x**3 + 2*x*y", "--at", "x=1,y=2"],
        ["hessian", "x**3 + 2*x*y*z", "--at", "x=1,y=2,z=0.5"],
    ],
    ids=["derivative", "complex", "gradient", "hessian"],
)
def test_workers_through_the_entry_point_give_the_serial_result(args):
    # the expression goes to a real process pool (pickled as its source, compiled again in
    # each worker); every reported number is the serial one, bit for bit (JSON prints the
    # shortest round-trip repr of each float)
    serial = run_cli(*args, "--json")
    parallel = run_cli(*args, "--json", "--workers", "2")
    assert serial.returncode == parallel.returncode == 0, parallel.stderr
    assert parallel.stderr == ""
    a, b = strict_json(serial.stdout), strict_json(parallel.stdout)
    assert {k: a[k] for k in FIELDS} == {k: b[k] for k in FIELDS}


def test_workers_in_a_spawned_worker_process():
    # where workers start fresh interpreters (spawn: macOS, Windows), they import
    # fastdiff.__main__ to compile the expression again
    code = (
        "import multiprocessing, sys\n"
        "from fastdiff.__main__ import main\n"
        "if __name__ == '__main__':\n"
        "    multiprocessing.set_start_method('spawn')\n"
        "    sys.exit(main(['gradient', 'x*y**2', '--at', 'x=1,y=3', '--json', "
        "'--workers', '2']))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, encoding="utf-8", timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    out = strict_json(proc.stdout)
    assert within_error(out["df"], out["error"], [9, 6])


@pytest.mark.parametrize("value", ["0", "-2", "two", "2.5", ""])
def test_bad_workers_values_exit_2_naming_the_option(value, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["derivative", "x", "--at", "1", f"--workers={value}"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "argument --workers: must be a positive integer" in err and repr(value) in err


def test_workers_with_dual_is_a_usage_error(capsys):
    assert cli.main(["derivative", "x", "--at", "1", "--method", "dual", "--workers", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fastdiff: error: --workers is not available with --method dual")
    assert err.count("\n") == 1


def test_an_expression_failing_in_a_worker_is_a_one_line_error(capsys):
    # erf takes real numbers only: the complex step fails inside a worker process, and the
    # error comes back as the serial one
    args = ["derivative", "erf(x)", "--at", "1", "--method", "complex"]
    assert cli.main(args) == 2
    serial = capsys.readouterr().err
    assert cli.main([*args, "--workers", "2"]) == 2
    assert capsys.readouterr().err == serial
    assert serial.startswith("fastdiff: error: evaluating 'erf(x)' failed")


def test_workers_reach_the_process_pool(monkeypatch, capsys):
    from fastdiff import _evaluate

    seen = []
    real = _evaluate.Runner.map

    def spy(self, task, blocks):
        seen.append((self.kind, self.n, len(blocks)))
        return real(self, task, blocks)

    monkeypatch.setattr(_evaluate.Runner, "map", spy)
    assert cli.main(["gradient", "x**3 + 2*x*y", "--at", "x=1,y=2", "--workers", "2"]) == 0
    assert seen and all(kind == "processes" and n == 2 for kind, n, _ in seen)
    assert "nfev" in capsys.readouterr().out


def test_the_expression_f_pickles_as_its_source():
    import pickle

    f = cli.ExpressionF("x*y + sin(x)", ["x", "y"], "vector")
    g = pickle.loads(pickle.dumps(f))
    assert (g.source, g.variables, g.how) == ("x*y + sin(x)", ("x", "y"), "vector")
    assert g(np.array([0.5, 2.0])) == f(np.array([0.5, 2.0]))
    h = cli.ExpressionF("3", ["x"], "elementwise")  # ignores x: broadcast to its shape
    assert pickle.loads(pickle.dumps(h))(np.zeros(4)).shape == (4,)


# --------------------------------------------------------------------------------------------
# In-process
# --------------------------------------------------------------------------------------------


def test_json_is_strict_with_non_finite_values_and_exit_1_when_untrusted(capsys):
    assert cli.main(["derivative", "log(x)", "--at=-1,1", "--json"]) == 1
    out = strict_json(capsys.readouterr().out)
    assert out["df"][0] == "nan" and out["error"][0] == "inf"
    assert out["success"] == [False, True]
    assert out["status_name"][0] == fastdiff.Status(out["status"][0]).name
    assert out["status"][0] < 0


def test_complex_df_is_an_object_with_real_and_imag(capsys):
    assert cli.main(["derivative", "(1+2j)*x**2", "--at", "1", "--json"]) == 0
    out = strict_json(capsys.readouterr().out)
    assert within_error(out["df"]["real"], out["error"], 2.0)
    assert within_error(out["df"]["imag"], out["error"], 4.0)


def test_constant_expression_has_zero_derivative_at_every_point(capsys):
    assert cli.main(["derivative", "3", "--at", "1,2,3", "--json"]) == 0
    out = strict_json(capsys.readouterr().out)
    assert within_error(out["df"], out["error"], [0, 0, 0])


def test_table_has_one_aligned_row_per_point(capsys):
    assert cli.main(["derivative", "x**2", "--at", "1,10"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "d/dx x**2"
    assert lines[2].startswith("x = 1.0 ") and lines[3].startswith("x = 10.0")
    assert lines[2].index("±") == lines[3].index("±")
    assert lines[-1].startswith("method: central")


def test_whole_call_warning_is_one_line_on_stderr(capsys):
    assert cli.main(["derivative", "x", "--at", "1", "--rtol", "1e-20"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fastdiff: warning: `rtol`") and err.count("\n") == 1


def test_expression_that_fails_to_evaluate_is_a_one_line_error(capsys):
    assert cli.main(["derivative", "erf(x)", "--at", "1", "--method", "complex"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fastdiff: error: evaluating 'erf(x)' failed") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["derivative", "x", "--at", "nan"], "--at: 'nan' is not a finite number"),
        (["derivative", "x", "--at", "1,,2"], "--at: empty value"),
        (["derivative", "x", "--at", "1", "--step", "-1"], "`step` must be"),
        (["gradient", "x", "--at", "1"], "expected name=value, got '1'"),
        (["gradient", "x", "--at", "x=1,x=2"], "variable 'x' is given more than once"),
    ],
)
def test_more_bad_input_is_one_line_exit_2(args, fragment, capsys, monkeypatch):
    monkeypatch.setattr(fastdiff, "gradient", _gradient_by_coordinates, raising=False)
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("fastdiff: error: ") and err.count("\n") == 1
    assert fragment in err


@pytest.mark.parametrize("args", [["derivative", "x", "--at", "1", "--order", "abc"], ["frob"]])
def test_argparse_errors_exit_2_with_one_line(args, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(args)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err and err.count("\n") == 1


@pytest.mark.parametrize("verb", ["gradient", "hessian"])
def test_missing_verb_exits_2_naming_it(verb, capsys, monkeypatch):
    monkeypatch.delattr(fastdiff, verb, raising=False)
    assert cli.main([verb, "x*y", "--at", "x=1,y=2"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"fastdiff: error: '{verb}' is not available in this version of fastdiff "
        f"({fastdiff.__version__}); try 'derivative'\n"
    )


def test_help_shows_examples_and_the_function_whitelist(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert 'fastdiff derivative "sin(x)*exp(x)" --at 1.0' in out
    assert "arctan2" in out and "erfc" in out


def test_docstring_examples(capsys):
    results = doctest.testmod(cli, raise_on_error=False)
    assert results.attempted > 0 and results.failed == 0


# The multivariate verbs are not on main yet. These two stand-ins compute real derivatives (by
# coordinate with fastdiff.derivative; by exact-for-cubics central differences) so the CLI's
# point parsing, coordinate order and table can be checked now.


def _gradient_by_coordinates(f, x, **options):
    options.pop("vectorized", None)
    results = []
    for i in range(x.size):

        def along(t, i=i):
            v = x.copy()
            v[i] = t
            return f(v)

        results.append(fastdiff.derivative(along, x[i], **options))
    field = lambda name: np.array([getattr(r, name) for r in results])  # noqa: E731
    return Result(
        field("df"),
        field("error"),
        field("success"),
        field("status"),
        sum(r.nfev for r in results),
        field("step"),
        options["method"],
    )


def _hessian_of_cubic(f, x, **options):
    h, k = 1e-2, x.size
    e = np.eye(k) * h
    df = np.array(
        [
            [
                (f(x + e[i] + e[j]) - f(x + e[i] - e[j]) - f(x - e[i] + e[j]) + f(x - e[i] - e[j]))
                / (4 * h * h)
                for j in range(k)
            ]
            for i in range(k)
        ]
    )
    return Result(
        df,
        np.full((k, k), 1e-9),
        np.ones((k, k), bool),
        np.zeros((k, k), int),
        4 * k * k,
        np.full(k, h),
        options["method"],
    )


def test_gradient_table_follows_the_order_of_at(capsys, monkeypatch):
    monkeypatch.setattr(fastdiff, "gradient", _gradient_by_coordinates, raising=False)
    assert cli.main(["gradient", "x**3 + 2*x*y", "--at", "y=2,x=1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "gradient of x**3 + 2*x*y at y=2.0, x=1.0"
    assert lines[2].startswith("∂f/∂y") and lines[3].startswith("∂f/∂x")
    assert float(lines[2].split()[1]) == pytest.approx(2) and "CONVERGED (0)" in lines[2]
    assert float(lines[3].split()[1]) == pytest.approx(7)


def test_hessian_json_and_upper_triangle_table(capsys, monkeypatch):
    monkeypatch.setattr(fastdiff, "hessian", _hessian_of_cubic, raising=False)
    assert cli.main(["hessian", "x**3 + 2*x*y", "--at", "x=1,y=2", "--json"]) == 0
    out = strict_json(capsys.readouterr().out)
    assert out["variables"] == ["x", "y"] and out["x"] == [1.0, 2.0]
    assert within_error(out["df"], out["error"], [[6, 2], [2, 0]])
    assert out["status_name"] == [["CONVERGED"] * 2] * 2
    assert cli.main(["hessian", "x**3 + 2*x*y", "--at", "x=1,y=2"]) == 0
    labels = [line.split()[0] for line in capsys.readouterr().out.splitlines()[2:-1]]
    assert labels == ["∂²f/∂x²", "∂²f/∂x∂y", "∂²f/∂y²"]
