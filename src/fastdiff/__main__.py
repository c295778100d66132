"""The ``fastdiff`` command: differentiate an expression given on the command line.

Run ``fastdiff --help`` (or ``python -m fastdiff --help``) for usage and examples.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import numpy as np

import fastdiff
from fastdiff._expression import CONSTANTS, FUNCTIONS, ExpressionError, compile_expression

PROG = "fastdiff"
METHODS = ("central", "forward", "backward", "complex", "dual")
EXIT_OK = 0  # every estimate is trusted (success everywhere)
EXIT_UNTRUSTED = 1  # computed, but some element has success False
EXIT_USAGE = 2  # bad expression, point or option; nothing computed

_EXAMPLES = """\
examples:
  fastdiff derivative "sin(x)*exp(x)" --at 1.0
  fastdiff derivative "sin(x)*exp(x)" --at 0,0.5,1 --n 2 --order 4
  fastdiff derivative "log(x)" --at=-1,1 --json
  fastdiff gradient "x**3 + 2*x*y" --at x=1,y=2
  fastdiff hessian "x**3 + 2*x*y" --at x=1,y=2 --json
  fastdiff gradient "x**3 + 2*x*y" --at x=1,y=2 --workers 2

expressions use Python syntax: numbers, the variables, + - * / ** %, parentheses,
  constants: {constants}
  functions (positional arguments only):
    {functions}
points (--at) are numbers or constant expressions such as pi/4; write --at=-1 (with '=')
when the first value is negative.

exit status: 0 all estimates trusted, 1 some estimate not trusted (success false),
2 usage error (bad expression, point or option).
"""


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message (no usage dump) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


class UsageError(Exception):
    """A problem with the command line itself, reported in one line with exit status 2."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fastdiff`` command with `argv` (default: ``sys.argv[1:]``).

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name.

    Returns
    -------
    int
        The exit status: 0 when every estimate is trusted, 1 when some element has
        ``success`` False, 2 for a usage error (reported as one line on stderr).

    Examples
    --------
    >>> from fastdiff.__main__ import main
    >>> main(["derivative", "x**2", "--at", "3", "--json"])  # doctest: +ELLIPSIS
    {"verb": "derivative", "expression": "x**2", ..., "df": 6.0..., "success": true, ...}
    0
    """
    args = _build_parser().parse_args(argv)
    try:
        return _run(args)
    except (UsageError, EvaluationError, ValueError, TypeError, ArithmeticError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return EXIT_USAGE


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def _build_parser() -> argparse.ArgumentParser:
    epilog = _EXAMPLES.format(
        functions=_wrap(" ".join(FUNCTIONS), "    "), constants=" ".join(CONSTANTS)
    )
    parser = _Parser(
        prog=PROG,
        description="Differentiate an expression numerically, with an error bar on every number.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {fastdiff.__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    options = _Parser(add_help=False)
    options.add_argument(
        "--method",
        choices=METHODS,
        default="central",
        help="differentiation method (default: central)",
    )
    options.add_argument(
        "--order", type=int, metavar="P", help="accuracy order of the finite-difference formula"
    )
    options.add_argument(
        "--step",
        type=float,
        metavar="H",
        help="fixed absolute step (default: adaptive, with extrapolation)",
    )
    options.add_argument("--rtol", type=float, metavar="R", help="relative tolerance")
    options.add_argument("--atol", type=float, metavar="A", help="absolute tolerance")
    options.add_argument(
        "--json", action="store_true", help="print one JSON object instead of a table"
    )
    options.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        help="evaluate the expression in N processes (the library's workers=N); the result "
        "is bitwise the serial one. Pays only when one evaluation is costly: starting the "
        "processes takes tens of milliseconds",
    )

    sub = verbs.add_parser(
        "derivative",
        parents=[options],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="n-th derivative of f(x), elementwise at one or more points",
        description="The n-th derivative of an expression in x, at each point of --at.",
        epilog='examples:\n  fastdiff derivative "sin(x)*exp(x)" --at 1.0\n'
        '  fastdiff derivative "exp(-x**2)" --at 0,pi/4,1 --n 2',
    )
    sub.add_argument("expression", help="expression in the variable x, e.g. 'sin(x)*exp(x)'")
    sub.add_argument(
        "--at",
        required=True,
        metavar="X[,X...]",
        help="point(s): a number or a comma-separated list",
    )
    sub.add_argument("--n", type=int, default=1, help="derivative order (default: 1)")

    for verb, what in (("gradient", "gradient"), ("hessian", "Hessian (second derivatives)")):
        sub = verbs.add_parser(
            verb,
            parents=[options],
            formatter_class=argparse.RawDescriptionHelpFormatter,
            help=f"{what} of f at one point",
            description=f"The {what} of an expression, at the point given by --at.",
            epilog=f'example:\n  fastdiff {verb} "x**3 + 2*x*y" --at x=1,y=2',
        )
        sub.add_argument("expression", help="expression in the variables named in --at")
        sub.add_argument(
            "--at",
            required=True,
            metavar="NAME=X[,NAME=X...]",
            help="the point; the order of the names is the coordinate order",
        )
    return parser


def _positive_int(text: str) -> int:
    """--workers: a positive int, or argparse's one-line error naming the option."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a positive integer (a number of processes), got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"must be a positive integer (a number of processes), got {text!r}"
        )
    return value


def _wrap(text: str, indent: str, width: int = 88) -> str:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width - len(indent):
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return ("\n" + indent).join([*lines, line])


# --------------------------------------------------------------------------------------------
# Parsing --at
# --------------------------------------------------------------------------------------------


def _split_top_level(text: str) -> list[str]:
    """Split at commas outside parentheses, so ``atan2(1,2)`` stays one piece."""
    pieces, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            pieces.append(text[start:i])
            start = i + 1
    pieces.append(text[start:])
    return [p.strip() for p in pieces]


def _parse_number(text: str) -> float:
    """A finite real number: a literal or a constant expression such as ``pi/4``."""
    if not text:
        raise UsageError("--at: empty value")
    try:
        value = float(text)
    except ValueError:
        try:
            with np.errstate(all="ignore"):
                value = compile_expression(text, ())()
        except ExpressionError:
            raise UsageError(f"--at: {text!r} is not a number or a constant expression") from None
        if np.iscomplexobj(value):
            raise UsageError(f"--at: {text!r} is not a real number") from None
        value = float(value)
    if not math.isfinite(value):
        raise UsageError(f"--at: {text!r} is not a finite number")
    return value


def _parse_point(text: str) -> float | list[float]:
    """--at of derivative: one number (a scalar x) or a list (elementwise)."""
    text = re.sub(r"^\s*x\s*=", "", text)
    values = [_parse_number(piece) for piece in _split_top_level(text)]
    return values[0] if len(values) == 1 else values


def _parse_named_point(text: str) -> tuple[list[str], list[float]]:
    """--at of gradient and hessian: ``name=value`` pairs, in coordinate order."""
    names, values = [], []
    for piece in _split_top_level(text):
        name, sep, value = piece.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--at: expected name=value, got {piece!r}")
        names.append(name.strip())
        values.append(_parse_number(value.strip()))
    return names, values


# --------------------------------------------------------------------------------------------
# Running a verb
# --------------------------------------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    if args.method == "dual" and not hasattr(fastdiff, "Dual"):
        raise UsageError("--method dual is not available in this version of fastdiff")
    options = {
        "method": args.method,
        "order": args.order,
        "step": args.step,
        "rtol": args.rtol,
        "atol": args.atol,
    }
    if args.workers is not None:  # else the verbs' default: serial
        if args.method == "dual":
            raise UsageError(
                "--workers is not available with --method dual (dual numbers are evaluated "
                "in this process); use a finite-difference or complex method"
            )
        options["workers"] = args.workers
    if args.verb == "derivative":
        x: Any = _parse_point(args.at)
        vectorized = args.method != "dual"  # Duals go one point at a time
        f = ExpressionF(args.expression, ("x",), "elementwise" if vectorized else "scalar")
        options.update(n=args.n, vectorized=vectorized)
        result = _call(fastdiff.derivative, f, x, options)
        names = None
    else:
        verb = getattr(fastdiff, args.verb, None)
        if verb is None:
            raise UsageError(
                f"'{args.verb}' is not available in this version of fastdiff "
                f"({fastdiff.__version__}); try 'derivative'"
            )
        names, values = _parse_named_point(args.at)
        f = ExpressionF(args.expression, names, "vector")
        x = np.array(values)
        result = _call(verb, f, x, options)

    if args.json:
        print(json.dumps(_json_report(args, x, names, result), allow_nan=False))
    else:
        print(_text_report(args, x, names, result))
    return EXIT_OK if np.all(result.success) else EXIT_UNTRUSTED


class EvaluationError(Exception):
    """The expression raised while being evaluated (e.g. erf with a complex step)."""


class ExpressionF:
    """The expression as the verb's f, its errors reported as one EvaluationError naming it.

    `how` is "elementwise" (derivative, vectorized: the value has the shape of x even where
    the expression ignores x), "scalar" (derivative on Duals, one point at a time) or
    "vector" (gradient, hessian: x holds one value per variable, in order). It pickles as
    its source, so that --workers can send it to a process pool: a worker compiles it again.
    """

    __slots__ = ("function", "how", "source", "variables")

    def __init__(self, source: str, variables: Sequence[str], how: str) -> None:
        self.source, self.variables, self.how = source, tuple(variables), how
        self.function = compile_expression(source, self.variables).function

    def __reduce__(self) -> tuple:
        return (type(self), (self.source, self.variables, self.how))

    def __call__(self, x: Any) -> Any:
        try:
            y = self.function(*x) if self.how == "vector" else self.function(x)
        except Exception as exc:
            raise EvaluationError(f"evaluating {self.source!r} failed: {exc}") from exc
        if self.how == "elementwise" and np.shape(y) != np.shape(x):
            y = np.broadcast_to(y, np.shape(x))
        return y


def _call(verb: Callable[..., Any], f: Callable[..., Any], x: Any, options: dict) -> Any:
    """Call the verb with NumPy's floating-point warnings off (non-finite values are data and
    reported in `status`); whole-call warnings from fastdiff become one line each on stderr."""
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        result = verb(f, x, **options)
    for w in caught:
        print(f"{PROG}: warning: {w.message}", file=sys.stderr)
    return result


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def _status_name(code: int) -> str:
    try:
        return fastdiff.Status(code).name
    except ValueError:
        return f"STATUS_{code}"


def _symbols() -> dict[str, str]:
    """Unicode symbols where stdout can print them, ASCII otherwise."""
    fancy = {"pm": "±", "d": "∂", "2": "²"}
    try:
        "".join(fancy.values()).encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return {"pm": "+/-", "d": "d", "2": "^2"}
    return fancy


def _fmt(value: Any) -> str:
    """A value in full (shortest round-trip) precision."""
    value = value.item() if isinstance(value, np.generic) else value
    return repr(value) if isinstance(value, float | complex) else str(value)


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _text_report(args: argparse.Namespace, x: Any, names: list[str] | None, result: Any) -> str:
    sym = _symbols()
    df, error, status, success = (
        np.broadcast_to(np.asarray(a), np.shape(result.df))
        for a in (result.df, result.error, result.status, result.success)
    )
    step = np.asarray(result.step)
    if names is None:
        n = args.n
        d = "d/dx" if n == 1 else f"d^{n}/dx^{n}"
        title = f"{d} {args.expression}"
        labels = [f"x = {_fmt(v)}" for v in np.ravel(x)]
        index: list[tuple[int, ...]] = [(i,) for i in range(df.size)] if df.ndim else [()]
    elif args.verb == "gradient":
        title = f"gradient of {args.expression} at " + _named(names, x)
        labels = [f"{sym['d']}f/{sym['d']}{name}" for name in names]
        index = [(i,) for i in range(len(names))]
    else:
        title = f"Hessian of {args.expression} at " + _named(names, x)
        index, labels = [], []
        for i, a in enumerate(names):  # upper triangle: the Hessian is symmetric
            for j in range(i, len(names)):
                b = names[j]
                what = f"{a}{sym['2']}" if i == j else f"{a}{sym['d']}{b}"
                labels.append(f"{sym['d']}{sym['2']}f/{sym['d']}{what}")
                index.append((i, j))
    rows = [["", "df", "", "error", "status", "success", "step"]]
    for label, k in zip(labels, index, strict=True):
        rows.append(
            [
                label,
                _fmt(df[k]),
                sym["pm"],
                f"{float(error[k]):.2g}",
                f"{_status_name(int(status[k]))} ({int(status[k])})",
                str(bool(success[k])),
                _step_text(step, df.shape, k),
            ]
        )
    footer = f"method: {result.method}   nfev: {result.nfev}"
    return f"{title}\n{_table(rows)}\n{footer}"


def _step_text(step: np.ndarray, shape: tuple[int, ...], k: tuple[int, ...]) -> str:
    """The step(s) behind entry k: steps have the shape of df (derivative, gradient) or of x
    (hessian: the steps of both coordinates)."""
    if step.ndim == 0:
        return f"{float(step):.3g}"
    if step.shape == shape:
        return f"{float(step[k]):.3g}"
    return ", ".join(f"{float(step[i]):.3g}" for i in sorted(set(k)))


def _named(names: list[str], x: Any) -> str:
    return ", ".join(f"{name}={_fmt(v)}" for name, v in zip(names, np.ravel(x), strict=True))


def _json_report(
    args: argparse.Namespace, x: Any, names: list[str] | None, result: Any
) -> dict[str, Any]:
    status = np.asarray(result.status)
    report: dict[str, Any] = {"verb": args.verb, "expression": args.expression}
    if names is None:
        report.update(x=x, n=args.n)
    else:
        report.update(variables=names, x=x)
    report.update(
        df=result.df,
        error=result.error,
        success=result.success,
        status=status,
        status_name=np.vectorize(_status_name, otypes=[object])(status)
        if status.ndim
        else _status_name(int(status)),
        nfev=result.nfev,
        step=result.step,
        method=result.method,
    )
    return {key: _jsonable(value) for key, value in report.items()}


def _jsonable(value: Any) -> Any:
    """Strict JSON: arrays as lists, complex as {"real", "imag"}, nan/inf as strings."""
    if isinstance(value, np.ndarray):
        return _jsonable(value[()]) if value.ndim == 0 else [_jsonable(v) for v in value]
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, complex | np.complexfloating):
        return {"real": _jsonable(float(value.real)), "imag": _jsonable(float(value.imag))}
    if isinstance(value, float | np.floating):
        value = float(value)
        return value if math.isfinite(value) else str(value)  # "nan", "inf", "-inf"
    return value


if __name__ == "__main__":
    raise SystemExit(main())
