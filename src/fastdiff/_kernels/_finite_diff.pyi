import numpy as np
from numpy.typing import NDArray

# Cython adds this (empty) doctest registry to every compiled module.
__test__: dict[str, str]

OFFSETS_NONFINITE: int
OFFSETS_REPEATED: int

def fornberg_weights(
    offsets: NDArray[np.float64], nmax: int
) -> tuple[int, NDArray[np.float64]]: ...
def status_table() -> list[tuple[str, int, str]]: ...
