import numpy as np
from numpy.typing import NDArray

# Cython adds this (empty) doctest registry to every compiled module.
__test__: dict[str, str]

def unary(
    rule: int, xv: NDArray[np.float64], xp: NDArray[np.float64], second: bool
) -> tuple[
    NDArray[np.float64], NDArray[np.float64], NDArray[np.float64] | None, NDArray[np.float64]
]: ...
def binary(
    rule: int, xv: NDArray[np.float64], yv: NDArray[np.float64], second: bool
) -> tuple[NDArray[np.float64], ...]: ...
