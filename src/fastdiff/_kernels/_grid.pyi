import numpy as np
from numpy.typing import NDArray

__test__: dict[str, str]
LEVELS: int
MAX_WIDTH: int
MAX_N: int

def plan_levels(
    length: int, n: int, order: int, uniform: bool
) -> tuple[int, list[int], list[int]]: ...
def grid_derivative(
    y: NDArray[np.float64], x: NDArray[np.float64] | None, dx: float, n: int, order: int, eps: float
) -> tuple[
    int, NDArray[np.float64], NDArray[np.float64], NDArray[np.int8], NDArray[np.bool_], int
]: ...
