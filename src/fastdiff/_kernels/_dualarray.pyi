import numpy as np
from numpy.typing import NDArray

# Cython adds this (empty) doctest registry to every compiled module.
__test__: dict[str, str]

def unary(
    rule: int, xv: NDArray[np.float64], xp: NDArray[np.float64], second: bool
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
    rule: int, xv: NDArray[np.float64], xp: NDArray[np.float64], c: float, u: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]: ...
def bound(
    df: NDArray[np.float64], mag: NDArray[np.float64], groups: NDArray[np.intp], gamma: float
) -> tuple[NDArray[np.float64], int]: ...
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
POOL_MIN_BYTES: int
POOL_MAX_BYTES: int
POOL_MAX_TOTAL: int

def pool_on() -> object: ...
def pool_restore(old: object) -> None: ...
def pool_clear() -> None: ...
def pool_bytes() -> int: ...
