from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from typing_extensions import disjoint_base

# Cython adds this (empty) doctest registry to every compiled module.
__test__: dict[str, str]
# and, for the cdef functions its .pxd exports to other kernel modules, their capsules.
__pyx_capi__: dict[str, Any]

OFFSETS_NONFINITE: int
OFFSETS_REPEATED: int
MAX_POINTS: int

# Cython's pickling hooks, exposed at module level.
def __reduce_cython__(self: Any) -> Any: ...
def __setstate_cython__(self: Any, __pyx_state: Any) -> Any: ...

class ValueKindError(TypeError): ...
class OutputShapeError(ValueError): ...

def fornberg_weights(
    offsets: NDArray[np.float64], nmax: int
) -> tuple[int, NDArray[np.float64]]: ...
def status_table() -> list[tuple[str, int, str]]: ...
def scaled_steps(
    x: NDArray[np.float64], factor: float, spacing: bool = ...
) -> NDArray[np.float64]: ...
def point_columns(
    base: NDArray[np.float64],
    i1: NDArray[np.intp],
    v1: NDArray[np.float64],
    i2: NDArray[np.intp] | None = ...,
    v2: NDArray[np.float64] | None = ...,
    lead: int = ...,
) -> NDArray[np.float64]: ...
def pair_setup(
    x: NDArray[np.float64],
    h0: NDArray[np.float64],
    side: NDArray[np.intc],
    flags: NDArray[np.intc],
    pi: NDArray[np.intp],
    pj: NDArray[np.intp],
) -> tuple[
    NDArray[np.float64],
    NDArray[np.intc],
    NDArray[np.intc],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
]: ...
def hessian_layout(
    hd: NDArray[np.intp],
    hp: NDArray[np.intp],
    pi: NDArray[np.intp],
    pj: NDArray[np.intp],
    side: NDArray[np.intc],
    npt: NDArray[np.intp],
    omat: NDArray[np.float64],
    pside: NDArray[np.intc],
    direction: NDArray[np.float64],
) -> tuple[
    NDArray[np.intp],
    NDArray[np.float64],
    NDArray[np.intp],
    NDArray[np.float64],
    NDArray[np.intp],
    NDArray[np.intp] | None,
    int,
]: ...
def hessian_values(
    x: NDArray[np.float64],
    h: NDArray[np.float64],
    i1: NDArray[np.intp],
    o1: NDArray[np.float64],
    i2: NDArray[np.intp],
    o2: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...

@disjoint_base
class LadderConfig:
    def __new__(
        cls,
        n: int,
        stencils: Sequence[tuple[Sequence[float], Sequence[float], float, int, int]],
        q: float,
        max_levels: int,
        max_cols: int,
        fixed: bool,
        kink_check: bool,
        rtol: float,
        atol: float,
        user_tol: bool,
        zero_rtol: float = ...,
        auto_side: int = ...,
        weight_err: Sequence[float] | None = ...,
    ) -> LadderConfig: ...

def first_points(
    config: LadderConfig,
    x: NDArray[np.float64],
    h0: NDArray[np.float64],
    side: NDArray[np.intc],
    flags: NDArray[np.intc],
) -> tuple[NDArray[np.intp], NDArray[np.float64]]: ...
def run_scalar(
    config: LadderConfig,
    f: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any] | None,
    x: float,
    h0: float,
    side: int,
    noise: float,
) -> tuple[float | complex, float, int, float, int]: ...
def scalar_policy(
    result_type: type,
    config_for: Callable[[int, str], tuple[LadderConfig, int, int] | None],
    extobj_var: Any,
    make_extobj: Callable[..., Any] | None,
) -> None: ...
def derivative_float(
    f: Any,
    x: Any,
    n: Any,
    method: Any,
    order: Any,
    step: Any,
    rtol: Any,
    atol: Any,
    bounds: Any,
    vectorized: Any,
    args: Any,
    kwargs: Any,
    noise: Any,
) -> Any: ...

@disjoint_base
class Ladder:
    @property
    def size(self) -> int: ...
    @property
    def capacity(self) -> int: ...
    @property
    def group(self) -> int: ...
    @property
    def ncomp(self) -> int: ...
    def __new__(
        cls, config: LadderConfig, ncomp: int, noise: float, size: int, group: int = 1
    ) -> Ladder: ...
    def init(
        self,
        x: NDArray[np.float64],
        h0: NDArray[np.float64],
        side: NDArray[np.intc],
        flags: NDArray[np.intc],
        f0: NDArray[np.float64],
    ) -> None: ...
    def set_pairs(self, x2: NDArray[np.float64], scale2: NDArray[np.float64]) -> None: ...
    def set_noise_abs(self, sigma: NDArray[np.float64]) -> None: ...
    def share_noise(self, key: NDArray[np.intp] | None = None, nkeys: int = 0) -> None: ...
    def active(self) -> NDArray[np.intp]: ...
    def sides(self, idx: NDArray[np.intp]) -> NDArray[np.intc]: ...
    def turned(self, side: NDArray[np.intc]) -> NDArray[np.intp]: ...
    def points(self, idx: NDArray[np.intp]) -> NDArray[np.float64]: ...
    def update(self, idx: NDArray[np.intp], fv: NDArray[np.float64]) -> int: ...
    def run_blocks(
        self,
        x: NDArray[np.float64],
        h0: NDArray[np.float64],
        side: NDArray[np.intc],
        flags: NDArray[np.intc],
        f0: NDArray[np.float64],
        evaluate: Callable[[NDArray[np.float64]], NDArray[np.float64]],
    ) -> tuple[
        NDArray[np.float64], NDArray[np.float64], NDArray[np.intc], NDArray[np.float64], int
    ]: ...
    def run_levels(
        self,
        start: NDArray[np.intp],
        evaluate: Callable[[NDArray[np.intp], NDArray[np.float64]], NDArray[np.float64]],
    ) -> int: ...
    def run_looped(
        self,
        f: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any] | None,
        x: NDArray[np.float64],
        h0: NDArray[np.float64],
        side: NDArray[np.intc],
        flags: NDArray[np.intc],
        first: Any,
    ) -> int: ...
    def results(
        self,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.intc], NDArray[np.float64]]: ...

COMPLEX_MAX_COLS: int

def complex_step(
    cols: int,
    y: NDArray[np.complex128],
    h0: NDArray[np.float64],
    q: float,
    fr: NDArray[np.complex128],
    hc: NDArray[np.float64],
    slack: NDArray[np.float64],
    scale: NDArray[np.float64],
    noise: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.intc]]: ...
def eval_points_looped(
    f: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any] | None,
    base: NDArray[np.float64],
    shape: tuple[int, ...],
    i1: NDArray[np.intp],
    v1: NDArray[np.float64],
    i2: NDArray[np.intp] | None,
    v2: NDArray[np.float64] | None,
    fshape: tuple[int, ...],
    ncomp: int,
) -> NDArray[np.float64]: ...
def contour(
    n: int,
    re: NDArray[np.float64],
    im: NDArray[np.float64],
    r: NDArray[np.float64],
    ang: NDArray[np.complex128],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]: ...
def circle_points(
    x: NDArray[np.float64],
    r: NDArray[np.float64],
    hi: NDArray[np.complex128],
    lo: NDArray[np.complex128],
) -> tuple[NDArray[np.complex128], NDArray[np.complex128]]: ...
def on_circle(
    y: NDArray[np.complex128],
    x: NDArray[np.float64],
    r: NDArray[np.float64],
    err: NDArray[np.complex128],
    ang: NDArray[np.complex128],
    passes: int,
) -> tuple[
    NDArray[np.complex128], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]
]: ...
def eval_real_looped(
    f: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any] | None,
    x: NDArray[np.float64],
) -> NDArray[np.complex128]: ...
def eval_complex_looped(
    f: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any] | None,
    z: NDArray[np.complex128],
) -> NDArray[np.complex128]: ...
def eval_rows_looped(
    f: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any] | None,
    XT: NDArray[Any],
    shape: tuple[int, ...],
    fshape: tuple[int, ...],
    m: int,
    cplx: bool,
) -> NDArray[np.complex128]: ...
def colour_columns(
    nrows: int,
    col_ptr: NDArray[np.intp],
    row_idx: NDArray[np.intp],
    row_ptr: NDArray[np.intp],
    col_idx: NDArray[np.intp],
) -> tuple[NDArray[np.intp], int]: ...
def star_colour(
    row_ptr: NDArray[np.intp], col_idx: NDArray[np.intp]
) -> tuple[NDArray[np.intp], int]: ...
def star_unique(
    row_ptr: NDArray[np.intp], col_idx: NDArray[np.intp], colour: NDArray[np.intp]
) -> NDArray[np.intp]: ...
