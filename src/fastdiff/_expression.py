"""Safe arithmetic expressions for the command line: validate a Python AST, compile it for NumPy.

Only numbers, the declared variables, whitelisted NumPy functions and constants, ``+ - * / ** %``
and calls with positional arguments get through :func:`compile_expression`. Everything else
(attributes, subscripts, strings, lambdas, comprehensions, keywords, unknown names) is rejected
before anything is compiled, so the code object evaluated afterwards can only do arithmetic.
"""

from __future__ import annotations

import ast
import keyword
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["CONSTANTS", "FUNCTIONS", "Expression", "ExpressionError", "compile_expression"]


def _ufunc_from_math(func: Callable[[float], float]) -> Callable[[Any], Any]:
    """A NumPy-style elementwise version of a scalar `math` function NumPy lacks."""
    vectorized = np.vectorize(func, otypes=[np.float64])
    return lambda x: vectorized(x)[()]


# name -> (callable, number of positional arguments). Python-math spellings sit beside NumPy's.
FUNCTIONS: dict[str, tuple[Callable[..., Any], int]] = {
    "sin": (np.sin, 1),
    "cos": (np.cos, 1),
    "tan": (np.tan, 1),
    "arcsin": (np.arcsin, 1),
    "asin": (np.arcsin, 1),
    "arccos": (np.arccos, 1),
    "acos": (np.arccos, 1),
    "arctan": (np.arctan, 1),
    "atan": (np.arctan, 1),
    "arctan2": (np.arctan2, 2),
    "atan2": (np.arctan2, 2),
    "sinh": (np.sinh, 1),
    "cosh": (np.cosh, 1),
    "tanh": (np.tanh, 1),
    "arcsinh": (np.arcsinh, 1),
    "asinh": (np.arcsinh, 1),
    "arccosh": (np.arccosh, 1),
    "acosh": (np.arccosh, 1),
    "arctanh": (np.arctanh, 1),
    "atanh": (np.arctanh, 1),
    "exp": (np.exp, 1),
    "exp2": (np.exp2, 1),
    "expm1": (np.expm1, 1),
    "log": (np.log, 1),
    "log2": (np.log2, 1),
    "log10": (np.log10, 1),
    "log1p": (np.log1p, 1),
    "sqrt": (np.sqrt, 1),
    "cbrt": (np.cbrt, 1),
    "abs": (np.abs, 1),
    "fabs": (np.fabs, 1),
    "hypot": (np.hypot, 2),
    "floor": (np.floor, 1),
    "ceil": (np.ceil, 1),
    "sign": (np.sign, 1),
    "minimum": (np.minimum, 2),
    "maximum": (np.maximum, 2),
    # NumPy has no erf; these are real-only (the complex step cannot pass through them).
    "erf": (_ufunc_from_math(math.erf), 1),
    "erfc": (_ufunc_from_math(math.erfc), 1),
}

CONSTANTS: dict[str, np.float64] = {
    "pi": np.float64(np.pi),
    "e": np.float64(np.e),
    "inf": np.float64(np.inf),
}

_BINARY_OPERATORS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
    ast.Mod: "%",
}
_UNARY_OPERATORS: dict[type[ast.unaryop], str] = {ast.UAdd: "+", ast.USub: "-"}
_OPERATOR_SYMBOLS: dict[type[ast.AST], str] = {
    ast.FloorDiv: "//",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.BitAnd: "&",
    ast.Invert: "~",
    ast.Not: "not",
}
_FORBIDDEN_KINDS: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripting",
    ast.Lambda: "lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.Compare: "a comparison",
    ast.BoolOp: "a boolean operator",
    ast.IfExp: "a conditional expression",
    ast.NamedExpr: "an assignment expression",
    ast.JoinedStr: "an f-string",
    ast.Starred: "a starred argument",
    ast.List: "a list",
    ast.Tuple: "a tuple",
    ast.Set: "a set",
    ast.Dict: "a dict",
}
_VARIABLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


class ExpressionError(ValueError):
    """An expression or a variable name that :func:`compile_expression` does not accept.

    Attributes
    ----------
    token : str
        The offending part of the input (a name, an operator, a piece of source text).
    """

    def __init__(self, message: str, token: str = "") -> None:
        super().__init__(message)
        self.token = token


class Expression:
    """A validated, compiled expression: call it with one value per variable, in order.

    Build it with :func:`compile_expression`. Evaluation follows NumPy: numbers in the source
    become ``np.float64`` (or ``np.complex128``), so ``1/0`` gives ``inf`` and overflow gives
    ``inf`` (with NumPy's usual floating-point warnings) instead of raising.

    Attributes
    ----------
    source : str
        The expression as given.
    variables : tuple of str
        The parameter names, in call order.
    function : callable
        The compiled function itself (a plain Python function of the variables); calling the
        `Expression` calls it.
    """

    __slots__ = ("function", "source", "variables")

    def __init__(self, source: str, variables: tuple[str, ...], function: Callable[..., Any]):
        self.source = source
        self.variables = variables
        self.function = function

    def __call__(self, *values: Any) -> Any:
        return self.function(*values)

    def __repr__(self) -> str:
        return f"Expression({self.source!r}, variables={self.variables!r})"


def compile_expression(source: str, variables: Sequence[str] = ("x",)) -> Expression:
    """Validate an arithmetic expression and compile it into a NumPy function of `variables`.

    Parameters
    ----------
    source : str
        A Python expression, for example ``"sin(x)*exp(x)"``. Allowed: numeric literals, the
        `variables`, the names in `FUNCTIONS` (called with positional arguments only) and
        `CONSTANTS` (``pi``, ``e``, ``inf``), unary ``+ -``, binary ``+ - * / ** %`` and
        parentheses.
    variables : sequence of str, default: ("x",)
        Parameter names of the compiled function, in call order. Each must be an ASCII
        identifier starting with a letter, not a Python keyword and not the name of a
        function or constant.

    Returns
    -------
    Expression
        Callable as ``expr(*values)``; arrays broadcast as in NumPy.

    Raises
    ------
    ExpressionError
        (a `ValueError`) with a one-line message naming the offending token: a syntax error, a
        name that is neither a variable nor whitelisted, a forbidden construct (attribute,
        subscript, string, lambda, comprehension, keyword argument, ...), a call with the wrong
        number of arguments, or a bad variable name.

    Notes
    -----
    The source is parsed with ``ast.parse(mode="eval")`` and every node is checked against the
    whitelist before anything is compiled. The checked tree becomes the body of a ``lambda`` of
    the variables, which is compiled and evaluated in a namespace holding only the whitelisted
    objects and an empty ``__builtins__``. Raw strings are never evaluated.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdiff._expression import compile_expression
    >>> f = compile_expression("sin(x)*exp(x)")
    >>> float(f(0.0)), float(f(1.0))
    (0.0, 2.2873552871788423)
    >>> g = compile_expression("x**3 + 2*x*y", ["x", "y"])
    >>> float(g(1.0, 2.0))
    5.0
    >>> g(np.array([1.0, 2.0]), 1.0)
    array([ 3., 12.])
    >>> compile_expression("x.__class__")
    Traceback (most recent call last):
        ...
    fastdiff._expression.ExpressionError: attribute access is not allowed: 'x.__class__'
    >>> compile_expression("open('f')")
    Traceback (most recent call last):
        ...
    fastdiff._expression.ExpressionError: unknown function 'open'
    """
    if not isinstance(source, str):
        raise TypeError(f"the expression must be a str; got {type(source).__name__}")
    names = _check_variables(variables)
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise _syntax_error(source.strip(), exc) from None
    except (RecursionError, MemoryError):
        raise ExpressionError("the expression is nested too deeply") from None
    _check_tree(tree, source.strip(), names)
    return Expression(source, names, _compile(tree, names))


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def _check_variables(variables: Sequence[str]) -> tuple[str, ...]:
    """The variable names as a tuple, each a fresh identifier."""
    if isinstance(variables, str):
        variables = (variables,)
    names = tuple(variables)
    for name in names:
        if not isinstance(name, str) or not _VARIABLE_NAME.match(name) or keyword.iskeyword(name):
            raise ExpressionError(
                f"bad variable name {name!r}: use letters, digits and '_', starting with a letter",
                str(name),
            )
        if name in FUNCTIONS or name in CONSTANTS:
            kind = "function" if name in FUNCTIONS else "constant"
            raise ExpressionError(f"variable name {name!r} is taken by the {kind} {name}", name)
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ExpressionError(f"variable {duplicates[0]!r} is given more than once", duplicates[0])
    return names


def _syntax_error(source: str, exc: SyntaxError) -> ExpressionError:
    """A one-line ExpressionError pointing at where the parser stopped."""
    reason = (exc.msg or "invalid syntax").rstrip(".")
    offset = exc.offset or 0
    if not source:
        return ExpressionError("the expression is empty")
    if exc.lineno not in (None, 1) or offset > len(source):
        return ExpressionError(f"syntax error at the end of the expression: {reason}")
    near = re.match(r"\w+|\S", source[max(offset - 1, 0) :])
    token = near.group() if near else ""
    return ExpressionError(f"syntax error at column {offset} near {token!r}: {reason}", token)


def _check_tree(tree: ast.Expression, source: str, variables: tuple[str, ...]) -> None:
    """Raise ExpressionError at the first node, in source order, outside the whitelist."""

    def text(node: ast.AST) -> str:
        return ast.get_source_segment(source, node) or type(node).__name__

    stack: list[ast.AST] = [tree.body]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, int | float | complex):
                kind = "a string literal" if isinstance(value, str | bytes) else "a non-number"
                raise ExpressionError(f"{kind} is not allowed: {text(node)!r}", text(node))
        elif isinstance(node, ast.Name):
            if node.id in FUNCTIONS:
                raise ExpressionError(
                    f"function {node.id!r} must be called, as in {node.id}(x)", node.id
                )
            if node.id not in variables and node.id not in CONSTANTS:
                allowed = ", ".join(variables) or "none"
                raise ExpressionError(
                    f"unknown name {node.id!r}: not a variable ({allowed}) "
                    "nor a whitelisted function or constant",
                    node.id,
                )
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY_OPERATORS:
                raise _operator_error(node.op, text(node))
            stack += (node.right, node.left)
        elif isinstance(node, ast.UnaryOp):
            if type(node.op) not in _UNARY_OPERATORS:
                raise _operator_error(node.op, text(node))
            stack.append(node.operand)
        elif isinstance(node, ast.Call):
            stack += reversed(_check_call(node, variables, text))
        else:
            kind = _FORBIDDEN_KINDS.get(type(node), f"a {type(node).__name__} expression")
            raise ExpressionError(f"{kind} is not allowed: {text(node)!r}", text(node))


def _check_call(
    node: ast.Call, variables: tuple[str, ...], text: Callable[[ast.AST], str]
) -> list[ast.AST]:
    """Check the callee, keywords and arity of a call; return the nodes still to check."""
    func = node.func
    if not isinstance(func, ast.Name):
        return [func, *node.args]  # an attribute or other callee fails when it is checked
    if func.id not in FUNCTIONS:
        if func.id in variables or func.id in CONSTANTS:
            raise ExpressionError(f"{func.id!r} is not a function: {text(node)!r}", func.id)
        raise ExpressionError(f"unknown function {func.id!r}", func.id)
    if node.keywords:
        kw = node.keywords[0]
        token = f"{kw.arg}=" if kw.arg else "**"
        raise ExpressionError(
            f"keyword arguments are not allowed: {token!r} in {text(node)!r}", token
        )
    starred = [a for a in node.args if isinstance(a, ast.Starred)]
    if starred:
        raise ExpressionError(f"a starred argument is not allowed: {text(starred[0])!r}", "*")
    arity = FUNCTIONS[func.id][1]
    if len(node.args) != arity:
        plural = "s" if arity > 1 else ""
        raise ExpressionError(
            f"{func.id}() takes {arity} argument{plural}; got {len(node.args)} in {text(node)!r}",
            func.id,
        )
    return list(node.args)


def _operator_error(op: ast.AST, where: str) -> ExpressionError:
    symbol = _OPERATOR_SYMBOLS.get(type(op), type(op).__name__)
    return ExpressionError(
        f"operator {symbol!r} is not allowed (use + - * / ** %): {where!r}", symbol
    )


# --------------------------------------------------------------------------------------------
# Compilation
# --------------------------------------------------------------------------------------------


class _HoistConstants(ast.NodeTransformer):
    """Replace each numeric literal by a name bound to a NumPy scalar.

    NumPy scalars give NumPy semantics to constant sub-expressions too (``1/0`` is ``inf``, a
    negative base to a fractional power is ``nan``, not a Python complex) and keep Python from
    building huge integers (``9**9**9**9``).
    """

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def visit_Constant(self, node: ast.Constant) -> ast.Name:
        name = f"_c{len(self.values)}"
        value = node.value  # a number: the validator refused every other constant
        assert isinstance(value, (int, float, complex)), value
        self.values[name] = np.complex128(value) if isinstance(value, complex) else _float(value)
        return ast.copy_location(ast.Name(id=name, ctx=ast.Load()), node)


def _float(value: int | float) -> np.float64:
    try:
        return np.float64(float(value))
    except OverflowError:
        raise ExpressionError(f"number too large: {value}", str(value)) from None


def _compile(tree: ast.Expression, variables: tuple[str, ...]) -> Callable[..., Any]:
    """The checked tree as ``lambda <variables>: <body>``, evaluated in a whitelist namespace."""
    hoist = _HoistConstants()
    try:
        body = hoist.visit(tree.body)
        arguments = ast.arguments(
            posonlyargs=[],
            args=[ast.arg(arg=v) for v in variables],
            vararg=None,
            kwonlyargs=[],
            kw_defaults=[],
            kwarg=None,
            defaults=[],
        )
        lam = ast.Expression(body=ast.Lambda(args=arguments, body=body))
        code = compile(ast.fix_missing_locations(lam), "<expression>", "eval")
    except (RecursionError, MemoryError):
        raise ExpressionError("the expression is nested too deeply") from None
    namespace: dict[str, Any] = {"__builtins__": {}}
    namespace.update({name: func for name, (func, _) in FUNCTIONS.items()})
    namespace.update(CONSTANTS)
    namespace.update(hoist.values)
    return eval(code, namespace)  # a validated tree, not a raw string
