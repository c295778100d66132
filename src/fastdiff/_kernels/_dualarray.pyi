from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from typing_extensions import disjoint_base

# Cython adds this (empty) doctest registry to every compiled module.
__test__: dict[str, str]

def unary(
    rule: int,
    xv: NDArray[np.float64],
    xp: NDArray[np.float64],
    second: bool,
    out: NDArray[np.float64] | None = None,
) -> tuple[
    NDArray[np.float64], NDArray[np.float64], NDArray[np.float64] | None, NDArray[np.float64]
]: ...
def unary_second(
    dd: NDArray[np.float64],
    xp: NDArray[np.float64],
    out: NDArray[np.float64],
    k: int,
    absmode: bool,
) -> None: ...
def unary_t(
    rule: int, xv: NDArray[np.float64], xpt: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...
def unary_abs(
    rule: int,
    xv: NDArray[np.float64],
    xp: NDArray[np.float64],
    c: float,
    u: float,
    out: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]: ...
def bound(
    df: NDArray[np.float64], mag: NDArray[np.float64], groups: NDArray[np.intp], gamma: float
) -> tuple[NDArray[np.float64], int]: ...
def group_matvec_abs(
    a: NDArray[np.float64], absx: NDArray[np.float64], groups: NDArray[np.intp], g: int, c: float
) -> NDArray[np.float64]: ...
def hessian_bound(
    hess: NDArray[np.float64], mag: NDArray[np.float64], groups: NDArray[np.intp], gamma: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], int]: ...
def finite_float64(a: NDArray[Any]) -> bool: ...
def binary(
    rule: int, xv: NDArray[np.float64], yv: NDArray[np.float64], second: bool
) -> tuple[NDArray[np.float64], ...]: ...

ARITH_ADD: int
ARITH_SUB: int
ARITH_MUL: int
ARITH_DIV: int
ARITH_SQUARE: int

def arith(
    op: int,
    av: NDArray[np.float64] | float,
    at: NDArray[np.float64] | None,
    bv: NDArray[np.float64] | float,
    bt: NDArray[np.float64] | None,
    m: int,
    k: int,
    second: bool,
    absmode: bool,
    u: float,
    shape: tuple[int, ...],
    m1: int = -1,
    k2: int = 0,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...

# The block pool for the dual verbs' large temporaries (NumPy's NEP 49 memory handler).
POOL_SLOTS: int
POOL_MIN_BYTES: int
POOL_MAX_BYTES: int
POOL_MAX_TOTAL: int

def pool_on() -> object: ...
def pool_restore(old: object) -> None: ...
def pool_clear() -> None: ...
def pool_bytes() -> int: ...

NO_UNIT: int
VECTOR_STRUCTURE_FROM: int

def seeds_shared(x: DualBase) -> bool: ...

# DualBase: DualArray's fields in C and the compiled fast paths of its common operations.
@disjoint_base
class DualBase:
    _v: Any
    _t: Any  # (a property: builds structured tangents, takes views not taken yet)
    _td: Any
    _family: Any
    _lane: Any
    _groups: Any
    _rows: Any
    _src: Any
    _k: int
    _tag: int
    _n: int
    _unit: int
    _abs: bool
    _eye: bool
    _ut: bool
    def __add__(self, o: Any, /) -> Any: ...
    def __radd__(self, o: Any, /) -> Any: ...
    def __sub__(self, o: Any, /) -> Any: ...
    def __rsub__(self, o: Any, /) -> Any: ...
    def __mul__(self, o: Any, /) -> Any: ...
    def __rmul__(self, o: Any, /) -> Any: ...
    def __truediv__(self, o: Any, /) -> Any: ...
    def __rtruediv__(self, o: Any, /) -> Any: ...
    def __pow__(self, o: Any, mod: Any = None, /) -> Any: ...
    def __rpow__(self, o: Any, mod: Any = None, /) -> Any: ...
    def __getitem__(self, key: Any, /) -> Any: ...
    def __array_ufunc__(self, ufunc: Any, method: Any, *inputs: Any, **kwargs: Any) -> Any: ...
    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any: ...
    def sum(self, axis: Any = None, keepdims: bool = False) -> Any: ...

def register(
    cls: type,
    binop_general: Callable[..., Any],
    square_general: Callable[..., Any],
    getitem: Callable[..., Any],
    sum_general: Callable[..., Any],
    unary: Callable[..., Any],
    array_ufunc: Callable[..., Any],
    array_function: Callable[..., Any],
    unary_ufuncs: dict[Any, int],
) -> None: ...
def fresh(like: DualBase, v: Any, t: Any, n: int) -> Any: ...
def square(x: DualBase) -> Any: ...
def binop(name: str, a: Any, b: Any = None) -> Any: ...
def arith_fast(name: str, a: Any, b: Any) -> Any: ...
def sum_all(x: DualBase) -> Any: ...
