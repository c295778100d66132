import numpy as np
from numpy.typing import NDArray

__test__: dict[str, str]
LEVELS: int
MAX_WIDTH: int
MAX_N: int

def plan_levels(
    length: int, n: int, order: int, uniform: bool
) -> tuple[int, list[int], list[int]]: ...
def cut(
    outer: int, length: int, inner: int, n: int, order: int, uniform: bool, near: int
) -> int: ...
def outputs(
    shape: tuple[int, ...],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int8], NDArray[np.int8]]: ...
def run(
    y: NDArray[np.float64],
    x: NDArray[np.float64] | None,
    dx: float,
    n: int,
    order: int,
    eps: float,
    df: NDArray[np.float64],
    error: NDArray[np.float64],
    status: NDArray[np.int8],
    ok: NDArray[np.int8],
    start: int,
    stop: int,
) -> int: ...
def grid_derivative(
    y: NDArray[np.float64], x: NDArray[np.float64] | None, dx: float, n: int, order: int, eps: float
) -> tuple[int, NDArray[np.float64], NDArray[np.float64], NDArray[np.int8], NDArray[np.bool_]]: ...
