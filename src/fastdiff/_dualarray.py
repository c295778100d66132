"""DualArray: forward-mode dual numbers over whole NumPy arrays (shared/DESIGN.md §3b).

A DualArray holds a value array ``v`` of shape S and its tangents ``t`` of shape ``(m,) + S``
("partial axis first": row r is the r-th partial of every element, so one BLAS call carries
every partial of a matmul and a factor of shape S broadcasts against all rows at once).
First-order arrays have ``m = k`` rows. Second-order arrays (the Hessian path of
:mod:`fastdiff._forward`) have ``m = k + k*k``: rows ``k + a*k + b`` hold the second
derivative along directions a and b. Every linear operation (indexing, reshaping, sums,
products with constants) maps all rows alike; nonlinear ones add their second-order terms to
the last ``k*k`` rows.

NumPy code runs on a DualArray unchanged: ufuncs come through ``__array_ufunc__`` (the rule
table csrc/dual_rules.def, with its C loops in csrc/dual_array.c; arithmetic; comparisons on
values) and the functions of ``_FUNCTIONS`` through ``__array_function__``. Anything else
raises TypeError naming the function: partials are never dropped silently.

Tags: a DualArray carries the tag of the differentiation call that seeded it (0 for one made
by hand), from the same registry as :class:`fastdiff.Dual`; one element of a first-order
array is a Dual with that tag, so scalar code that indexes x[0], x[1] still works.
"""

from __future__ import annotations

import functools
import math
import operator
import string
from collections.abc import Callable
from typing import Any

import numpy as np

from fastdiff._kernels import _dual, _dualarray
from fastdiff._kernels._dual import Dual

_EPS = float(np.finfo(np.float64).eps)
_RULES: dict[str, int] = {name: i for i, name in enumerate(_dual.RULE_NAMES)}
_RULES.update({alias: _RULES[name] for alias, name in _dual.ALIASES.items()})

_LOSS = (
    "cannot convert a fastdiff.DualArray to {}: that would silently drop its derivative. "
    "Keep DualArrays out of float arrays, and use NumPy functions on them."
)


class DualArray(_dualarray.DualBase):
    """An array of dual numbers: value of shape S, partials of shape S + (k,).

    Parameters
    ----------
    value : float array_like
        The primal values, shape S.
    partials : float array_like
        Shape ``S + (k,)``: ``partials[..., j]`` is the j-th directional derivative of every
        element. One evaluation of NumPy code on a DualArray with k partials gives k
        directional derivatives at once.

    Attributes
    ----------
    value : ndarray
        float64 values, shape S.
    partials : ndarray
        float64 partials, shape S + (k,).
    shape, ndim, size : as for an ndarray (of the values)
    npartials : int
        k.

    Notes
    -----
    ufuncs of the rule table (``np.sin``, ``np.tanh``, ``np.maximum``, ...), arithmetic
    ``+ - * / ** @`` and comparisons (on values) work with ndarrays, floats, `Dual` and
    DualArrays, broadcasting as NumPy does. ``np.sum``, ``np.dot``, ``np.einsum``,
    ``np.linalg.solve`` and the other functions listed in shared/DESIGN.md §3b work through
    ``__array_function__``; matmul, dot and tensordot use BLAS through NumPy, and
    ``solve``/``inv``/``det`` one factorisation for every partial. An unsupported function,
    ``float()`` and storing into a float array raise `TypeError`. Conventions as for `Dual`:
    abs'(0) = 0, maximum/minimum ties give 1/2 to each side, relu'(0) = 0.

    Examples
    --------
    >>> import numpy as np
    >>> import fastdiff as fd
    >>> x = fd.DualArray([1.0, 2.0], [[1.0, 0.0], [0.0, 1.0]])
    >>> y = np.sum(np.sin(x) * x)
    >>> float(y.value), y.partials
    (2.6600658384592597, array([1.38177329, 0.07700375]))
    >>> x[1]
    Dual(2.0, [0.0, 1.0])
    """

    # _n: roundings along the longest path to this array (for the rounding bound); _abs: the
    # tangent rows are magnitudes (the bound's evaluation, see fastdiff._forward).
    # _eye: the tangent rows are exactly the unit seeds e_0 .. e_{n-1} of the flat elements (a
    # whole-x chunk of a Jacobian): then A @ x needs no product for its tangents, they are A^T.
    # _unit: NO_UNIT, or an offset u (any sign): tangent row u + e, where it lies in 0 .. m - 1,
    # is the unit seed of flat element e, every other row is zero (x itself in a chunk of a
    # Jacobian, row p the seed of element start + p so u = -start, and its slices and
    # reshapes; an element whose row falls outside has no partials in this chunk): products
    # and sums with it scatter instead of multiplying zeros (`_unit_span` gives the rows).
    # _ut: _unit is the offset of this 2-d array's transpose (W.T of a unit-seeded W: element
    # (r, c) has its seed in row u + c R + r; `_unit_t_of`, and `_unit_of` says NO_UNIT).
    # _family: None, or a one-element list [valid] shared by an array with _eye/_unit and
    # every view of it (they share its tangents' memory): an assignment into any of them sets
    # it False, and the structure flags of the whole family stop counting (`_unit_of`).
    # _lane: None, or (m1, k2, missed) for the bound's magnitudes carried in the same
    # evaluation (a magnitude lane, see `_Lane`).
    # _groups: None, or (groups, t) on the x of the bound's evaluation (fastdiff._forward
    # `_magnitudes`): its magnitude rows t (read-only) are the indicators of the contiguous
    # `groups` and its error row is 0; valid while _t is t (a write copies it first), so that
    # A @ x needs no product over the rows (`_group_matvec`).
    # _rows: None, or (own, d, ax) for structured tangents (first order, no lane, 2-d values
    # (R, C), or a vector): tangent row p is zero but for row own[p] of axis ax (-1: all
    # zero), which is d[p] (C,) for ax 0, (R,) for ax 1, a number for a vector (the
    # unit-seeded x itself is one, d = 1: `_rows_of`). W @ B of a unit-seeded W and a
    # constant B has them along axis 0 (row i q + j is e_i B[j]), B @ W along axis 1
    # (batch-first layers); tanh,
    # + - with constants, unit-seeded or structured operands, A @ h (axis 0) and h @ B (axis
    # 1) keep or use them (`_rows_add`, `_rows_unary`, `_rows_matmul`, ...) in O(m C)
    # instead of O(m R C). Reading _t builds the dense tangents (then _rows is None), so code
    # that knows no structure sees the same numbers.
    # _src: None, or (root, ops) for a view whose tangents are not taken yet: a slice of the
    # unit-seeded x of a Jacobian's chunk (whose tangents are the cached read-only seeds, or
    # not built yet), and reshapes of it; or (None, (start, k, shape)) for such an x whose
    # seeds are not built yet (a chunk, or the whole x past the seed cache). Reading _t builds
    # or owns the root's seeds (a copy of cached ones) and takes the view then (`_take_view`);
    # the unit-seeded products and sums read the seeds' offset (`_unit`) and the row count
    # (`_nrows`) instead, so the MLP's four slices of theta copy no 385 x 385 seeds.
    # The fields live in the compiled base class (fastdiff._kernels._dualarray.DualBase),
    # which also runs + - * / **, slicing of 1-d arrays and sum() on the common operands.
    __slots__ = ()
    _family: list[bool] | None
    _lane: tuple[int, int, list[Any]] | None
    __array_priority__ = 1000.0

    def __init__(self, value: Any, partials: Any) -> None:
        v = _real_array(value, "value")
        p = _real_array(partials, "partials")
        if p.ndim != v.ndim + 1 or p.shape[:-1] != v.shape:
            raise ValueError(
                f"`partials` must have shape value.shape + (k,) = {v.shape} + (k,); got {p.shape}."
            )
        self._v = v.copy()
        self._t = np.ascontiguousarray(np.moveaxis(p, -1, 0))
        self._k = p.shape[-1]
        self._tag = 0
        self._n = 0
        self._abs = False
        self._eye = False
        self._unit = NO_UNIT
        self._family = None
        self._lane = None

    # Constructors ---------------------------------------------------------------------
    @classmethod
    def _make(
        cls, v: np.ndarray, t: np.ndarray | None, k: int, tag: int, absolute: bool = False
    ) -> DualArray:
        r = cls.__new__(cls)
        r._v = v
        r._t = t
        r._k = k
        r._tag = tag
        r._n = 0
        r._abs = absolute
        r._eye = False
        r._unit = NO_UNIT
        r._family = None
        r._lane = None
        return r

    def _like(
        self, v: Any, t: np.ndarray | None, cost: int = 1, base: int | None = None
    ) -> DualArray:
        if self._lane is not None:  # general code knows no lanes: the verb evaluates again
            _lane_miss(self._lane)
        r = DualArray.__new__(DualArray)
        r._v = np.asarray(v, dtype=np.float64)
        r._t = t
        r._k = self._k
        r._tag = self._tag
        r._n = (self._n if base is None else base) + cost
        r._abs = self._abs
        r._eye = False
        r._unit = NO_UNIT
        r._family = None
        r._lane = None
        return r

    def _view(self, v: Any, t: np.ndarray) -> DualArray:
        """A view of self (values v and tangents t taken from `_viewed()` arrays): it joins
        self's family, so that an assignment into either reaches the other's structure.
        Rows map alike, so a view keeps a magnitude lane."""
        r = _fresh(self, np.asarray(v, dtype=np.float64), t, self._n)
        r._family = self._family
        return r

    def _viewed(self) -> np.ndarray:
        """self's tangents, made writeable before a view of them is taken (a view's
        assignment must reach self's partials as it reaches self's values), with the family
        of a structured array started."""
        if not self._t.flags.writeable:  # shared with an operand (x + c): own them now
            self._t = self._t.copy()
        if self._family is None and (self._unit != NO_UNIT or self._eye):
            self._family = [True]
        return self._t

    @property
    def _second(self) -> bool:
        if self._rows is not None:  # (first order only)
            return False
        return _nrows(self) - self._abs != self._k

    # Inspection -----------------------------------------------------------------------
    @property
    def value(self) -> np.ndarray:
        return self._v

    @property
    def partials(self) -> np.ndarray:
        return np.moveaxis(self._t[: self._k], 0, -1)

    @property
    def npartials(self) -> int:
        return self._k

    @property
    def tag(self) -> int:
        return self._tag

    @property
    def shape(self) -> tuple[int, ...]:
        return self._v.shape

    @property
    def ndim(self) -> int:
        return self._v.ndim

    @property
    def size(self) -> int:
        return self._v.size

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._v.dtype

    def __len__(self) -> int:
        if self._v.ndim == 0:
            raise TypeError("len() of a 0-d DualArray")
        return self._v.shape[0]

    def __repr__(self) -> str:
        return f"DualArray({self._v!r}, partials={self.partials!r})"

    def __iter__(self) -> Any:
        for i in range(len(self)):
            yield self[i]

    # Loss of the derivative is an error -----------------------------------------------
    def __float__(self) -> float:
        raise TypeError(_LOSS.format("float"))

    def __int__(self) -> int:
        raise TypeError(_LOSS.format("int"))

    def __complex__(self) -> complex:
        raise TypeError(_LOSS.format("complex"))

    def __index__(self) -> int:
        raise TypeError(_LOSS.format("an integer index"))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise TypeError(_LOSS.format("an ndarray"))

    def __bool__(self) -> bool:
        return bool(self._v)

    def __reduce__(self) -> Any:
        raise TypeError("fastdiff.DualArray cannot be pickled: its tag belongs to one process")

    # Indexing (x[slice] of a 1-d x runs in DualBase; every other key in _getitem_general) -
    def _getitem_general(self, key: Any) -> Any:
        if isinstance(key, DualArray | Dual):
            raise TypeError("a DualArray cannot index: indices must be integers or masks")
        tkey = (slice(None), *key) if isinstance(key, tuple) else (slice(None), key)
        v = self._v[key]
        if np.ndim(v) == 0 and not self._second and not self._abs and self._lane is None:
            return _dual.make(float(v), self._t[tkey].tolist(), self._tag)
        r = self._view(v, self._viewed()[tkey])
        unit = _unit_of(self)
        if unit != NO_UNIT and type(key) is slice and self._v.ndim == 1 and key.step in (None, 1):
            start, stop, _ = key.indices(self._v.shape[0])
            if stop > start:  # a contiguous run of the elements: their seeds, shifted
                r._unit = unit + start
        return r

    def __setitem__(self, key: Any, item: Any) -> None:
        if isinstance(key, DualArray | Dual):
            raise TypeError("a DualArray cannot index: indices must be integers or masks")
        iv, it = _lift(item, self)
        if not self._v.flags.writeable:
            self._v = self._v.copy()
        if not self._t.flags.writeable:
            self._t = self._t.copy()
        self._eye = False
        self._unit = NO_UNIT
        if self._family is not None:  # self shares its memory with other arrays of the family
            self._family[0] = False
        tkey = (slice(None), *key) if isinstance(key, tuple) else (slice(None), key)
        self._v[key] = iv
        self._t[tkey] = 0.0 if it is None else _align(it, np.ndim(self._v[key]))

    # Methods that mirror ndarray's ------------------------------------------------------
    @property
    def T(self) -> DualArray:
        return _transpose(self)

    def transpose(self, *axes: Any) -> DualArray:
        return _transpose(self, axes[0] if len(axes) == 1 else (axes or None))

    def reshape(self, *shape: Any, order: str = "C") -> DualArray:
        return _reshape(self, shape[0] if len(shape) == 1 else shape, order=order)

    def ravel(self) -> DualArray:
        return _reshape(self, -1)

    def flatten(self) -> DualArray:
        return _copy(_reshape(self, -1))

    def copy(self) -> DualArray:
        return _copy(self)

    def mean(self, axis: Any = None, keepdims: bool = False) -> DualArray:
        return _mean(self, axis=axis, keepdims=keepdims)

    def prod(self, axis: Any = None, keepdims: bool = False) -> Any:
        return _prod(self, axis=axis, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Any:
        return _extreme(self, axis, keepdims, np.max)

    def min(self, axis: Any = None, keepdims: bool = False) -> Any:
        return _extreme(self, axis, keepdims, np.min)

    def dot(self, other: Any) -> Any:
        return _dot(self, other)

    def squeeze(self, axis: Any = None) -> DualArray:
        return _squeeze(self, axis)

    def cumsum(self, axis: Any = None) -> DualArray:
        return _cumsum(self, axis)

    def clip(self, a_min: Any = None, a_max: Any = None) -> Any:
        return _clip(self, a_min, a_max)

    def trace(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> DualArray:
        return _trace(self, offset, axis1, axis2)

    # Arithmetic -----------------------------------------------------------------------
    def __neg__(self) -> DualArray:
        return _negative(self)

    def __pos__(self) -> DualArray:
        return _positive(self)

    def __abs__(self) -> DualArray:
        return _unary(_RULES["absolute"], self)

    # + - * / ** are DualBase's (compiled fast paths, else `_binop_general`)

    def __matmul__(self, o: Any) -> Any:
        return _matmul(self, o)

    def __rmatmul__(self, o: Any) -> Any:
        return _matmul(o, self)

    def __lt__(self, o: Any) -> Any:
        return self._v < _value(o)

    def __le__(self, o: Any) -> Any:
        return self._v <= _value(o)

    def __gt__(self, o: Any) -> Any:
        return self._v > _value(o)

    def __ge__(self, o: Any) -> Any:
        return self._v >= _value(o)

    def __eq__(self, o: Any) -> Any:  # type: ignore[override]
        return self._v == _value(o)

    def __ne__(self, o: Any) -> Any:  # type: ignore[override]
        return self._v != _value(o)

    __hash__ = None  # type: ignore[assignment]

    # NumPy protocols ------------------------------------------------------------------
    # DualBase's __array_ufunc__ sends the rule table's unary ufuncs and + - * / ** called
    # plainly straight to `_unary`/`_binop`, and every other call here
    def _array_ufunc_general(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        name = ufunc.__name__
        if method != "__call__" or kwargs:
            raise TypeError(
                f"fastdiff.DualArray supports NumPy ufuncs called plainly; got "
                f"np.{name}.{method} with {sorted(kwargs)} (use np.sum, np.max, ... instead "
                "of ufunc methods, and no out=/where=)."
            )
        if name in _BINOPS:
            return _binop(name, *inputs)
        if name == "matmul":
            return _matmul(*inputs)
        if name in _COMPARE:
            return _COMPARE[name](*[_value(a) for a in inputs])
        if name in _ON_VALUES:
            return ufunc(*[_value(a) for a in inputs])
        rule = _RULES.get(name)
        if rule is None:
            raise TypeError(
                f"NumPy function np.{name} is not supported on fastdiff.DualArray (no rule in "
                "csrc/dual_rules.def); supported ufuncs: "
                f"{', '.join(sorted([*_RULES, *_BINOPS, *_COMPARE, 'matmul']))}."
            )
        if _dual.RULE_ARITY[_dual.RULE_NAMES[rule]] == 1:
            return _unary(rule, _as_dualarray(inputs[0]))
        return _binary_rule(rule, inputs[0], inputs[1])

    def __fastdiff_rule__(self, rule: int, inputs: tuple[Any, ...]) -> Any:
        """fastdiff.math.<rule>(*inputs) with a DualArray operand (called by the Dual kernels)."""
        if len(inputs) == 1:
            return _unary(rule, _as_dualarray(inputs[0]))
        return _binary_rule(rule, inputs[0], inputs[1])

    # DualBase's __array_function__ runs np.sum(x) in C and sends every other call here
    def _array_function_general(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        impl = _FUNCTIONS.get(func)
        if impl is None:
            mod = func.__module__.replace("numpy.linalg", "np.linalg").replace("numpy", "np")
            raise TypeError(
                f"NumPy function {mod}.{func.__name__} is not supported on fastdiff.DualArray; "
                "supported: " + ", ".join(sorted({f.__name__ for f in _FUNCTIONS})) + "."
            )
        return impl(*args, **kwargs)


# ---------------------------------------------------------------------------------------------
# Operands
# ---------------------------------------------------------------------------------------------


def _real_array(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"`{name}` must be a real array_like; got dtype {arr.dtype}.")
    return np.asarray(arr, dtype=np.float64)


def _value(a: Any) -> Any:
    if isinstance(a, DualArray):
        return a._v
    if isinstance(a, Dual):
        v = a.value
        while isinstance(v, Dual):
            v = v.value
        return v
    return a


def _check_pair(a: DualArray, b: DualArray) -> None:
    if a._tag != b._tag:
        _dual.check_tag(a._tag)  # RuntimeError for a DualArray that escaped its call
        _dual.check_tag(b._tag)
        raise TypeError(
            "DualArrays of different differentiation calls (tags "
            f"{a._tag} and {b._tag}) cannot be combined: nested differentiation with "
            "DualArray is not supported; differentiate the inner call with the Dual path "
            "(fastdiff.math on scalars) or restructure f."
        )
    if a._t.shape[0] != b._t.shape[0]:
        raise ValueError(
            f"DualArrays with different numbers of partials cannot be combined: {a._k} and {b._k}."
        )


def _lift(x: Any, like: DualArray) -> tuple[Any, np.ndarray | None]:
    """(value, tangents or None) of an operand combined with the DualArray `like`."""
    if type(x) is DualArray:
        if x._tag != like._tag or x._t.shape[0] != like._t.shape[0]:
            _check_pair(like, x)
        return x._v, x._t
    if isinstance(x, Dual):
        if x.tag != like._tag or isinstance(x.value, Dual):
            _dual.check_tag(x.tag)
            _dual.check_tag(like._tag)
            raise TypeError(
                f"a Dual with tag {x.tag} cannot be combined with a DualArray of tag "
                f"{like._tag} (nested differentiation through DualArray is not supported)."
            )
        p = x.partials
        if p.shape[0] != like._t.shape[0]:
            raise ValueError(
                "a Dual and a DualArray with different numbers of partials cannot be "
                f"combined: {p.shape[0]} and {like._k}."
            )
        return np.float64(x.value), p.astype(np.float64)
    if isinstance(x, float | int) and not isinstance(x, bool):
        return x, None
    arr = np.asarray(x)
    if arr.dtype == object:
        raise TypeError(
            "an object array (of Duals?) cannot be combined with a DualArray; build the "
            "array with np.stack/np.concatenate of DualArrays instead."
        )
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"a DualArray combines with real numbers only; got dtype {arr.dtype}.")
    return arr, None


NO_UNIT = _dualarray.NO_UNIT
"""`_unit` of an array without unit seeds (an offset can be negative: see `_unit`)."""


def _unit_of(x: Any) -> int:
    """x's `_unit` offset, or NO_UNIT (not a DualArray, none, its transpose's (`_ut`), or an
    assignment into its family)."""
    if type(x) is not DualArray or x._unit == NO_UNIT or x._ut:
        return NO_UNIT
    return x._unit if x._family is None or x._family[0] else NO_UNIT


def _unit_t_of(x: Any) -> int:
    """The `_unit` offset of a 2-d x whose transpose is unit-seeded (`_ut`: element (r, c)
    has its seed in row u + c R + r), or NO_UNIT."""
    if type(x) is not DualArray or x._unit == NO_UNIT or not x._ut:
        return NO_UNIT
    return x._unit if x._family is None or x._family[0] else NO_UNIT


def _unit_span(off: int, size: int, m: int) -> tuple[int, int]:
    """The rows lo .. hi - 1 of m that hold unit seeds of elements 0 .. size - 1 at offset
    `off` (`_unit`): element r - off in row r."""
    lo = min(max(off, 0), m)
    return lo, max(lo, min(off + size, m))


def _eye_of(x: Any) -> bool:
    """x's `_eye` flag, unless an assignment into its family has voided it."""
    return type(x) is DualArray and x._eye and (x._family is None or x._family[0])


def _first(ops: tuple[Any, ...]) -> DualArray:
    for a in ops:
        if isinstance(a, DualArray):
            return a
    raise TypeError("expected a DualArray operand")  # unreachable from the protocols


def _as_dualarray(a: Any) -> DualArray:
    if isinstance(a, DualArray):
        return a
    raise TypeError(f"expected a DualArray; got {type(a).__name__}")


_seeds_shared = _dualarray.seeds_shared
"""_seeds_shared(x): x is a Jacobian chunk's unit-seeded x whose seeds are the cached
read-only ones or not built yet (its views are then not taken until read: `_src`)."""


def _nrows(x: DualArray) -> int:
    """The number of x's tangent rows, without building or taking them."""
    if x._src is not None:
        root, ops = x._src
        return int(ops[1]) if root is None else _nrows(root)  # (a chunk's k, or the root's)
    if x._rows is not None:
        return int(x._rows[0].shape[0])
    return int(x._t.shape[0])


def _depth(*ops: Any) -> int:
    """Roundings along the longest path to the operands."""
    n = 0
    for o in ops:
        if type(o) is DualArray and o._n > n:
            n = o._n
    return n


def _unit(n: int) -> float:
    """An absolute error as a magnitude: the final bound multiplies magnitudes by
    gamma(2 (count + 2)) >= 2 (n + 2) eps once n roundings are behind (fastdiff._forward)."""
    return 1.0 / (2.0 * (n + 2) * _EPS)


def _value_errors(r: DualArray, source: Any, effect: Any = None, fresh: bool = False) -> DualArray:
    """The bound's evaluation: the last row bounds the absolute error of the values. Add this
    operation's own rounding (`source`) to it, and to the magnitude rows the effect of the
    operands' value errors on the factors (`effect`, absolute, rows[:-1] + S)."""
    # `fresh`: r's tangents were just computed for r alone (no operand shares them)
    t = r._t if fresh and r._t.flags.writeable else np.array(r._t, copy=True)
    t[-1] += source
    if effect is not None:
        t[:-1] += effect * _unit(r._n)
    r._t = t
    return r


def _mag(x: Any, like: DualArray) -> Any:
    """|x| in the bound's evaluation (magnitudes combine with magnitudes), else x."""
    return np.abs(x) if like._abs else x


def _align(t: np.ndarray, ndim: int) -> np.ndarray:
    """Tangents (m,) + S viewed as (m, 1, ..., 1) + S with ndim axes after m."""
    extra = ndim - (t.ndim - 1)
    if extra <= 0:
        return t
    return t.reshape((t.shape[0],) + (1,) * extra + t.shape[1:])


def _full(t: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Tangents broadcast to (m,) + shape."""
    if t.shape[1:] == shape:
        return t
    t = _align(t, len(shape))
    if t.shape[1:] == shape:
        return t
    return np.broadcast_to(t, (t.shape[0], *shape))


def _outer(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Second-order rows a[i] * b[j] for first-order rows a, b of k rows: (k*k,) + S."""
    k = a.shape[0]
    prod = a[:, None] * b[None, :]
    return prod.reshape((k * k, *prod.shape[2:]))


def _add_second(r: DualArray, extra: np.ndarray) -> DualArray:
    t = r._t if r._t.flags.writeable and r._t.base is None else r._t.copy()
    t[r._k : r._k + r._k * r._k] += extra
    r._t = t
    return r


def _norm_axis(axis: Any, ndim: int) -> Any:
    """Axes as negative numbers: the same axes for values and for tangents (m,) + S."""
    if axis is None:
        return None
    if isinstance(axis, tuple | list):
        return tuple(_norm_axis(a, ndim) for a in axis)
    a = operator.index(axis)
    if not -ndim <= a < ndim:
        raise np.exceptions.AxisError(a, ndim)
    return a - ndim if a >= 0 else a


# ---------------------------------------------------------------------------------------------
# Elementwise: the rule table, arithmetic
# ---------------------------------------------------------------------------------------------


def _unary(rule: int, x: DualArray) -> DualArray:
    if _may_structure(x) and (r := _rows_unary(rule, x)) is not None:
        return r
    xv = np.ascontiguousarray(x._v).reshape(-1)
    m = x._t.shape[0]
    if x._lane is not None:
        return _unary_lane(rule, x, xv, m)
    second = x._second
    if x._abs:
        # tangent rows are magnitudes >= 0: |f' t| = |f'| t, plus the factor's own rounding,
        # which can be absolute (a libm value next to a zero of f', cos near pi/2) (4 eps
        # absolute, in units of the final gamma(count) >= 2 (count + 2) eps); the effect of
        # the value's error on f', f'(v + e) - f'(v) ~ f''(v) e; and the value's own rounding
        # (libm's and the product's) on the last row: one C loop, see fd_dualarray_unary_abs
        xt = np.ascontiguousarray(x._t).reshape(m, -1)
        v, dd, t = _dualarray.unary_abs(rule, xv, xt, 2.0 / (x._n + 4), _unit(x._n + 2))
        r = x._like(v.reshape(x._v.shape), t.reshape(x._t.shape), 2)
    elif x._t.ndim == 2 and not second and x._t.flags.f_contiguous and m > 1:
        # element-major tangents (W^T of a unit-seeded W @ x): no copy into row layout
        v, t = _dualarray.unary_t(rule, xv, x._t.T)
        return x._like(v.reshape(x._v.shape), t.T, 2)
    else:
        xt = np.ascontiguousarray(x._t).reshape(m, -1)
        v, _, dd, t = _dualarray.unary(rule, xv, xt, second)
        r = x._like(v.reshape(x._v.shape), t.reshape(x._t.shape), 2)
    if second:  # f'' t_p t_q into the rows of r, in place (|f''| for magnitudes)
        _dualarray.unary_second(dd, xt, t, x._k, x._abs)
    return r


def _unary_lane(rule: int, x: DualArray, xv: np.ndarray, m: int) -> DualArray:
    """`_unary` on both lanes: the plain rows as `_unary` does them, the magnitude rows as it
    does in the bound's evaluation (the same kernels, the same second-order terms)."""
    m1, k2, _ = x._lane or (0, 0, None)  # (always a lane here)
    k = x._k
    xt = np.ascontiguousarray(x._t).reshape(m, -1)
    t = np.empty(xt.shape)  # both lanes' rows written in place (no concatenation)
    t1, t2 = t[:m1], t[m1:]
    v, _, dd, _ = _dualarray.unary(rule, xv, xt[:m1], m1 != k, t1)
    _, dd2, _ = _dualarray.unary_abs(rule, xv, xt[m1:], 2.0 / (x._n + 4), _unit(x._n + 2), t2)
    if m1 != k:
        _dualarray.unary_second(dd, xt[:m1], t1, k, False)
    if m - m1 - 1 != k2:
        _dualarray.unary_second(dd2, xt[m1:], t2, k2, True)
    return _fresh(x, v.reshape(x._v.shape), t.reshape(x._t.shape), x._n + 2)


def _binary_rule(rule: int, a: Any, b: Any) -> DualArray:
    if (_may_structure(a) or _may_structure(b)) and (
        r := _rows_binary_rule(rule, a, b)
    ) is not None:
        return r
    like = a if isinstance(a, DualArray) else _first((a, b))
    av, at = _lift(a, like)
    bv, bt = _lift(b, like)
    av, bv = np.broadcast_arrays(np.asarray(av, np.float64), np.asarray(bv, np.float64))
    shape = av.shape
    second = like._second
    out = _dualarray.binary(
        rule,
        np.ascontiguousarray(av).reshape(-1),
        np.ascontiguousarray(bv).reshape(-1),
        second or like._abs,
    )
    f, fx, fy = (_mag(o.reshape(shape), like) for o in out[:3])
    f = out[0].reshape(shape)
    t = 0.0
    if at is not None:
        t = fx * _align(at, len(shape))
    if bt is not None:
        t = t + fy * _align(bt, len(shape))
    t = np.ascontiguousarray(_full(np.asarray(t), shape))
    r = like._like(f, t, 3, _depth(a, b))
    if like._abs:
        gxx, gxy, gyy = (np.abs(o.reshape(shape)) for o in out[3:])
        ex = 0.0 if at is None else _full(at, shape)[-1]
        ey = 0.0 if bt is None else _full(bt, shape)[-1]
        # only the operands that carry tangents: a constant's factors may be NaN where they
        # are never needed (d/dy x**y = x**y log x at x < 0), and NaN * 0 is NaN
        eff = 0.0
        if at is not None:
            eff = (gxx * ex + (gxy * ey if bt is not None else 0.0)) * _full(at, shape)[:-1]
        if bt is not None:
            eff = eff + ((gxy * ex if at is not None else 0.0) + gyy * ey) * _full(bt, shape)[:-1]
        _value_errors(r, 2.0 * _EPS * np.abs(f), eff)
    if second:
        k = like._k
        fxx, fxy, fyy = (_mag(o.reshape(shape), like) for o in out[3:])
        extra = 0.0
        if at is not None:
            a1 = _full(at[:k], shape)
            extra = fxx * _outer(a1, a1)
        if bt is not None:
            b1 = _full(bt[:k], shape)
            extra = extra + fyy * _outer(b1, b1)
        if at is not None and bt is not None:
            extra = extra + fxy * (_outer(a1, b1) + _outer(b1, a1))
        _add_second(r, extra)
    return r


_binop = _dualarray.binop
"""_binop(name, a, b): add, subtract, multiply, divide, power (and their unary cousins) with
broadcasting: x * x and x**2 by `_square`, operands of one shape in one C pass (`_arith`),
everything else by `_binop_general` (compiled: fastdiff._kernels._dualarray.binop)."""


def _binop_general(name: str, a: Any, b: Any = None) -> Any:
    """`_binop` in NumPy expressions, for every operand `_arith` leaves out."""
    if a is b and name == "multiply" and type(a) is DualArray:
        return _square_general(a)
    if (name == "add" or name == "subtract") and (_may_structure(a) or _may_structure(b)):
        if (r := _rows_add(name == "subtract", a, b)) is not None:
            return r
    if name in _PRODUCTS and (_may_structure(a) or _may_structure(b)):
        if (r := _rows_product(name, a, b)) is not None:
            return r
    if name == "power" and _may_structure(a) and _numeric_constant(b):
        return _power_const(a, a._v, b)  # (as `_binop_core` calls it, without building t)
    r = _binop_core(name, a, b)
    if type(r) is not DualArray or not r._abs or name not in _ROUNDED:
        return r
    if name != "add" and name != "subtract" and name != "multiply":
        if r._second and isinstance(b, DualArray):
            return r  # went through reciprocal and multiply
    shape = r._v.shape
    da, db = type(a) is DualArray, type(b) is DualArray
    if name == "add" or name == "subtract":  # two dual operands: r's tangents are their sum
        return _value_errors(r, _EPS * np.abs(r._v), fresh=da and db)
    ta = _full(a._t, shape) if da else None
    tb = _full(b._t, shape) if db else None
    if name == "multiply":  # (x y)' = y x' + x y': the value errors of y and x
        eff = 0.0
        if da and db:
            eff = tb[-1] * ta[:-1] + ta[-1] * tb[:-1]
        return _value_errors(r, _EPS * np.abs(r._v), eff, fresh=True)
    # x / y: x' / y - (q / y) y', with 1 / y and q / y off by their values' errors
    y = np.abs(np.broadcast_to(_value(b), shape))
    ex = ta[-1] if da else 0.0
    ey = tb[-1] if db else 0.0
    eff = 0.0
    if db:
        eff = (ey / (y * y)) * (ta[:-1] if da else 0.0)
        eff = eff + ((ex + 2.0 * np.abs(r._v) * ey) / (y * y)) * tb[:-1]
    return _value_errors(r, _EPS * np.abs(r._v), eff)


def _view_add(name: str, a: Any, b: Any) -> DualArray | None:
    """a +- b of a unit-seeded view not taken yet (`_src`) and a dense dual operand: the
    copy of the dense tangents and the seeds added to their block of rows, as `_binop_core`
    forms them (the block is the identity, so it needs no view); None for other operands."""
    if type(a) is not DualArray or type(b) is not DualArray:
        return None
    if (a._src is not None) == (b._src is not None):
        return None
    view, dense = (a, b) if a._src is not None else (b, a)
    u = _unit_of(view)
    if (
        u == NO_UNIT
        or _unit_of(dense) != NO_UNIT
        or dense._rows is not None
        or dense._abs
        or dense._lane is not None
        or view._lane is not None
        or view._tag != dense._tag
    ):
        return None
    dt = dense._t
    if dt.shape[0] != _nrows(view):
        return None
    sub = name == "subtract"
    v = np.subtract(a._v, b._v) if sub else np.add(a._v, b._v)
    nd, vs, size = v.ndim, v.shape, view._v.size
    lo, hi = _unit_span(u, size, dt.shape[0])
    blk = _align(np.eye(size)[lo - u : hi - u].reshape((hi - lo, *view._v.shape)), nd)
    if view is a:  # dA + dB, A the view: -dB (or dB) copied, A's seeds added to their rows
        t = np.array(_full(-_align(dt, nd) if sub else _align(dt, nd), vs))
        t[lo:hi] += blk
    else:
        t = np.array(_full(_align(dt, nd), vs))
        t[lo:hi] += -blk if sub else blk
    return a._like(v, _full(t, vs), 1, _depth(a, b))


_ROUNDED = frozenset({"add", "subtract", "multiply", "divide", "true_divide"})


def _binop_core(name: str, a: Any, b: Any = None) -> Any:
    if name in ("negative", "positive"):
        return -a if name == "negative" else a
    if name == "square":
        return _square(a) if type(a) is DualArray else _binop("multiply", a, a)
    if (name == "add" or name == "subtract") and (r := _view_add(name, a, b)) is not None:
        return r
    like = a if isinstance(a, DualArray) else _first((a, b))
    av, at = _lift(a, like)
    bv, bt = _lift(b, like)
    if name == "power":
        if bt is None:
            return _power_const(like if at is not None else a, av, bv)
        return _binary_rule(_RULES["power"], a, b)
    if name in ("divide", "true_divide") and like._second and bt is not None:
        return _binop("multiply", a, _unary(_RULES["reciprocal"], _as_dualarray(b)))
    v = _BINOPS[name](av, bv)
    nd = v.ndim
    vs = v.shape
    base = _depth(a, b)
    sub = name == "subtract" and not like._abs  # magnitudes add
    if name == "add" or name == "subtract":
        if at is None:
            t = -_align(bt, nd) if sub else _shared(_align(bt, nd))
        elif bt is None:
            t = _shared(_align(at, nd))
        elif (ub := _unit_of(b)) != NO_UNIT and _unit_of(a) == NO_UNIT:
            # dA + dB with B's seeds on rows off .. off + size - 1 only: a copy, and those rows
            t = np.array(_full(_align(at, nd), vs))
            lo, hi = _unit_span(ub, b._v.size, bt.shape[0])
            blk = _align(bt[lo:hi], nd)
            t[lo:hi] += -blk if sub else blk
        elif (ua := _unit_of(a)) != NO_UNIT and _unit_of(b) == NO_UNIT:
            t = np.array(_full(-_align(bt, nd) if sub else _align(bt, nd), vs))
            lo, hi = _unit_span(ua, a._v.size, at.shape[0])
            t[lo:hi] += _align(at[lo:hi], nd)
        else:
            t = _align(at, nd) + (-_align(bt, nd) if sub else _align(bt, nd))
        return like._like(v, _full(t, vs), 1, base)
    av, bv = _mag(av, like), _mag(bv, like)
    if name == "multiply":
        if at is None:
            return like._like(v, _full(av * _align(bt, nd), vs), 1, base)
        if bt is None:
            return like._like(v, _full(bv * _align(at, nd), vs), 1, base)
        at_, bt_ = _align(at, nd), _align(bt, nd)
        if a is b:  # x * x: 2 x x', and 2 x' x' in the second-order rows
            r = like._like(v, _full((2.0 * av) * at_, vs), 2, base)
            if like._second:
                a1 = _full(at_[: like._k], vs)
                _add_second(r, 2.0 * _outer(a1, a1))
            return r
        r = like._like(v, _full(bv * at_ + av * bt_, vs), 2, base)
        if like._second:
            k = like._k
            a1, b1 = _full(at_[:k], vs), _full(bt_[:k], vs)
            _add_second(r, _outer(a1, b1) + _outer(b1, a1))
        return r
    # divide (first order, or a constant divisor)
    q = _mag(v, like)
    if bt is None:
        return like._like(v, _full(_align(at, nd) / bv, vs), 1, base)
    if at is None:  # (c / y)' = -(c / y) y' / y; second order went through reciprocal above
        return like._like(v, _full(((q if like._abs else -q) / bv) * _align(bt, nd), vs), 2, base)
    tb = q * _align(bt, nd)
    num = _align(at, nd) + tb if like._abs else _align(at, nd) - tb
    return like._like(v, _full(num / bv, vs), 3, base)


def _shared(t: np.ndarray) -> np.ndarray:
    """A read-only view of an operand's tangents that a new array shares (x + c has x's): an
    assignment into the new array then copies them first instead of writing into x's."""
    if not t.flags.writeable:
        return t
    t = t.view()
    t.flags.writeable = False
    return t


_fresh = _dualarray.fresh
"""_fresh(like, v, t, n): a DualArray of values v, tangents t and n roundings with like's k,
tag, magnitude mode and lane (no structure flags, no family)."""


class _LaneMiss(Exception):
    """An operation without a magnitude lane met a lane array (raised inside f; the verb
    then evaluates f twice, the plain way; `_Lane.missed` records it even if f catches it).
    The lane's `missed` list may hold a second item, a budget in bytes: an operation that
    runs on each lane separately (`_laned`) and whose plain tangents would exceed it misses
    too, before it computes them (merging the lanes copies them: for large arrays a dearer
    cost than the second call of f that the lane saves)."""


def _lane_miss(lane: tuple[int, int, list[Any]]) -> None:
    lane[2][0] = True
    raise _LaneMiss("this operation has no magnitude lane")


_arith = _dualarray.arith_fast
"""_arith(name, a, b): + - * / of operands of one shape (DualArrays, floats, float64 arrays)
in one C pass (fd_dualarray_arith: the arithmetic of `_binop_core` and the bound's step of
`_binop_general`), or None where the general code must run (broadcasting, other types, a
second-order divisor, mismatched tags). The checks are in fastdiff._kernels._dualarray
(`_arith_c`): the lane arrays run both lanes in the same pass, x +- c shares x's tangents."""

_square = _dualarray.square
"""_square(x): x * x (and x**2, np.square): the product rule with both operands x, in one
pass: 2 x x', 2 x' x' in the second-order rows, and in the bound's evaluation the value
errors E x' + x' E of the two factors (the same arithmetic, bit for bit, as
`_square_general`, in one C pass); `_square_general` for NumPy-scalar values."""


def _square_general(x: DualArray) -> DualArray:
    """`_square` in NumPy expressions."""
    if _may_structure(x) and (r := _rows_scaled(x, 2.0 * x._v, x._v * x._v, 2)) is not None:
        return r  # (2 x) t, as fd_dualarray_arith forms it
    xv = x._v
    v = xv * xv
    t = (2.0 * (np.abs(xv) if x._abs else xv)) * x._t
    r = x._like(v, t, 2)
    if x._second:
        k = x._k
        t1 = x._t[:k]
        o = t1[:, None] * t1[None, :]
        t[k : k + k * k] += 2.0 * o.reshape((k * k, *o.shape[2:]))
    if x._abs:
        half = x._t[-1] * x._t[:-1]
        _value_errors(r, _EPS * np.abs(r._v), half + half, fresh=True)
    return r


def _negative(x: DualArray) -> DualArray:
    if _may_structure(x) and (sx := _rows_of(x)) is not None:  # -t: the structure with -d
        own, d, ax = sx
        return _with_rows(x._like(-x._v, None, 0), own, -d, ax)
    return x._like(-x._v, _shared(x._t) if x._abs else -x._t, 0)


def _positive(x: DualArray) -> DualArray:
    return x._like(x._v.copy(), _shared(x._t), 0)  # a new array, as for ndarrays


def _power_const(x: DualArray, xv: Any, c: Any) -> DualArray:
    """x**c for a constant exponent c: small integer powers by multiplication, else the row."""
    if isinstance(c, float | int) or np.ndim(c) == 0:
        cf = float(c)
        if cf == 2.0:
            return _square(x)
        if cf == 1.0:  # a new array, as x**1 is for an ndarray
            return x._like(x._v.copy(), _shared(x._t), 0)
        if cf == 0.0:
            return x._like(np.ones_like(xv), np.zeros_like(x._t), 0)
    return _binary_rule(_RULES["power"], x, c)


_BINOPS: dict[str, Callable[..., Any]] = {
    "add": np.add,
    "subtract": np.subtract,
    "multiply": np.multiply,
    "divide": np.divide,
    "true_divide": np.divide,
    "power": np.power,
    "negative": np.negative,
    "positive": np.positive,
    "square": np.square,
}
_COMPARE: dict[str, Callable[..., Any]] = {
    "less": np.less,
    "less_equal": np.less_equal,
    "greater": np.greater,
    "greater_equal": np.greater_equal,
    "equal": np.equal,
    "not_equal": np.not_equal,
}
# Predicates on the values: their result carries no derivative.
_ON_VALUES = frozenset({"isfinite", "isnan", "isinf", "signbit", "sign", "floor", "ceil"})
# floor, ceil and sign are piecewise constant: values only, derivative 0 where it exists.


# ---------------------------------------------------------------------------------------------
# Linear maps: the same operation on the values and on every tangent row
# ---------------------------------------------------------------------------------------------


def _map(
    x: DualArray, fv: Callable[[np.ndarray], Any], ft: Callable[[np.ndarray], Any], cost: int = 0
) -> Any:
    return x._like(fv(x._v), ft(x._t), cost)


def _copy(x: DualArray) -> DualArray:
    return x._like(x._v.copy(), x._t.copy(), 0)


def _reshape(a: Any, shape: Any = None, order: str = "C", newshape: Any = None) -> DualArray:
    shape = newshape if shape is None else shape
    if order != "C":
        raise TypeError(f"np.reshape on a DualArray supports order='C' only; got {order!r}.")
    x = _as_dualarray(a)
    v = x._v.reshape(shape)
    if not x._ut and (x._src is not None or _seeds_shared(x)):  # (not taken: nor its reshape)
        r = _fresh(x, v, None, x._n)
        root, ops = x._src if x._src is not None and x._src[0] is not None else (x, ())
        r._src = (root, (*ops, (1, v.shape)))  # (the non-row axes are C-contiguous: a view)
        if x._family is None:
            x._family = [True]
        r._family = x._family
        r._unit = _unit_of(x)
        return r
    t = x._t.reshape((x._t.shape[0], *v.shape))
    if np.may_share_memory(t, x._t):  # a view (else reshape copied: nothing to share)
        t = x._viewed().reshape((x._t.shape[0], *v.shape))
        r = x._view(v, t)
    else:
        r = _fresh(x, v, t, x._n)  # (a copy: rows map alike, so it keeps a lane)
    r._unit = _unit_of(x)  # the same flat elements in the same order
    return r


def _ravel(a: Any, order: str = "C") -> DualArray:
    return _reshape(a, -1, order=order)


def _transpose(a: Any, axes: Any = None) -> DualArray:
    x = _as_dualarray(a)
    nd = x.ndim
    perm = tuple(range(nd))[::-1] if axes is None else tuple(operator.index(i) % nd for i in axes)
    u = _unit_t_of(x) if x._ut else _unit_of(x)
    flip = nd == 2 and perm == (1, 0) and u != NO_UNIT  # W.T carries the seeds' offset (`_ut`)
    if flip and x._src is not None:  # of a view not taken: not taken either
        r = _fresh(x, x._v.T, None, x._n)
        root, ops = x._src
        r._src = (root, (*ops, (2, None)))
        r._family = x._family
    else:
        r = x._view(x._v.transpose(perm), x._viewed().transpose((0, *(p + 1 for p in perm))))
    if flip:
        r._unit, r._ut = u, not x._ut
    return r


def _swapaxes(a: Any, axis1: int, axis2: int) -> DualArray:
    x = _as_dualarray(a)
    i, j = _norm_axis(axis1, x.ndim), _norm_axis(axis2, x.ndim)
    return x._view(np.swapaxes(x._v, i, j), np.swapaxes(x._viewed(), i, j))


def _moveaxis(a: Any, source: Any, destination: Any) -> DualArray:
    x = _as_dualarray(a)
    s, d = _norm_axis(source, x.ndim), _norm_axis(destination, x.ndim)
    return x._view(np.moveaxis(x._v, s, d), np.moveaxis(x._viewed(), s, d))


def _squeeze(a: Any, axis: Any = None) -> DualArray:
    x = _as_dualarray(a)
    ax = _norm_axis(axis, x.ndim)
    if ax is None:
        ax = tuple(i - x.ndim for i, n in enumerate(x.shape) if n == 1)
    return x._view(np.squeeze(x._v, ax), np.squeeze(x._viewed(), ax))


def _expand_dims(a: Any, axis: Any) -> DualArray:
    x = _as_dualarray(a)
    v = np.expand_dims(x._v, axis)
    return x._view(v, x._viewed().reshape((x._t.shape[0], *v.shape)))


def _broadcast_to(a: Any, shape: Any, subok: bool = False) -> DualArray:
    x = _as_dualarray(a)
    v = np.broadcast_to(x._v, shape)
    return x._like(v, _shared(_full(x._t, v.shape)), 0)  # read-only, as NumPy's


def _sum(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False, **kw: Any
) -> DualArray:
    if dtype is not None or out is not None or kw:
        _no_options("sum", dtype=dtype, out=out, **kw)
    if axis is None and not keepdims and _may_structure(a) and a._v.ndim == 1:
        if (sx := _rows_of(a)) is not None:  # each partial's one element: its d, exactly
            own, d, _ = sx
            t = np.where(own >= 0, d, 0.0)
            n = a._v.size
            return a._like(np.asarray(np.sum(a._v)), t, n - 1 if n > 1 else 0)
    if axis is None and not keepdims and type(a) is DualArray and a._v.ndim:
        r = _dualarray.sum_all(a)  # every element, in one C pass (NumPy's summation order)
        if r is not None:
            return r
    x = _as_dualarray(a)
    ax = tuple(range(-x._v.ndim, 0)) if axis is None else _norm_axis(axis, x.ndim)
    if x._lane is not None:  # the plain rows summed; the magnitude rows as in the bound's
        v = np.asarray(x._v.sum(ax, keepdims=keepdims))
        t = x._t.sum(ax, keepdims=keepdims)
        length = x.size // max(v.size, 1)
        t[-1] += (length * _EPS) * np.abs(x._v).sum(ax, keepdims=keepdims)
        return _fresh(x, v, t, x._n + max(length - 1, 0))
    if x._v.ndim == 1 and not keepdims:  # the same reductions, fewer calls
        s = x._like(x._v.sum(), x._t.sum(-1), 0)
    else:
        s = _map(x, lambda v: v.sum(ax, keepdims=keepdims), lambda t: t.sum(ax, keepdims=keepdims))
    length = x.size // max(s.size, 1)
    s._n += max(length - 1, 0)  # recursive summation: L - 1 roundings
    if x._abs:
        _value_errors(s, (length * _EPS) * np.abs(x._v).sum(ax, keepdims=keepdims))
    return s


def _mean(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False, **kw: Any
) -> DualArray:
    _no_options("mean", dtype=dtype, out=out, **kw)
    x = _as_dualarray(a)
    s = _sum(x, axis, keepdims=keepdims)
    count = x.size // max(s.size, 1) if x.size else 0
    return s * (1.0 / count) if count else s / 0.0


def _cumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> DualArray:
    _no_options("cumsum", dtype=dtype, out=out)
    x = _as_dualarray(a)
    if axis is None:
        x, axis = _reshape(x, -1), 0
    ax = _norm_axis(axis, x.ndim)
    r = _map(x, lambda v: np.cumsum(v, ax), lambda t: np.cumsum(t, ax), x.shape[ax])
    if x._abs:
        _value_errors(r, (x.shape[ax] * _EPS) * np.cumsum(np.abs(x._v), ax))
    return r


def _diff(a: Any, n: int = 1, axis: int = -1, **kw: Any) -> DualArray:
    _no_options("diff", **kw)
    x = _as_dualarray(a)
    ax = _norm_axis(axis, x.ndim)
    if x._abs:  # |a - b| <= a + b for magnitudes, n times

        def adiff(t: np.ndarray) -> np.ndarray:
            for _ in range(n):
                t = np.delete(t, -1, ax) + np.delete(t, 0, ax)
            return t

        return _map(x, lambda v: np.diff(v, n, ax), adiff, n)
    return _map(x, lambda v: np.diff(v, n, ax), lambda t: np.diff(t, n, ax), n)


def _trace(
    a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None, out: Any = None
) -> DualArray:
    _no_options("trace", dtype=dtype, out=out)
    x = _as_dualarray(a)
    i, j = _norm_axis(axis1, x.ndim), _norm_axis(axis2, x.ndim)
    cost = min(x.shape[i], x.shape[j])
    return _map(x, lambda v: np.trace(v, offset, i, j), lambda t: np.trace(t, offset, i, j), cost)


def _diag(a: Any, k: int = 0) -> DualArray:
    x = _as_dualarray(a)
    if x.ndim == 2:
        return _map(x, lambda v: np.diagonal(v, k), lambda t: np.diagonal(t, k, 1, 2))
    if x.ndim != 1:
        raise ValueError("np.diag: input must be 1-d or 2-d")
    v = np.diag(x._v, k)
    m = x._t.shape[0]
    t = np.zeros((m, *v.shape))
    n = x.shape[0]
    i = np.arange(n)
    rows, cols = (i, i + k) if k >= 0 else (i - k, i)
    t[:, rows, cols] = x._t
    return x._like(v, t, 0)


def _no_options(name: str, **kw: Any) -> None:
    for v in kw.values():
        if v is not None and v is not np._NoValue:
            break
    else:
        return
    bad = sorted(k for k, v in kw.items() if v is not None and v is not np._NoValue)
    if bad:
        raise TypeError(f"np.{name} on a DualArray does not support {', '.join(bad)}.")


# ---------------------------------------------------------------------------------------------
# Joining and selecting
# ---------------------------------------------------------------------------------------------


def _operands(arrays: Any) -> tuple[DualArray, list[tuple[np.ndarray, np.ndarray]]]:
    """Each array as (value, tangents), constants with zero tangents."""
    arrays = list(arrays)
    like = _first(tuple(arrays))
    out = []
    m = like._t.shape[0]
    for a in arrays:
        v, t = _lift(a, like)
        v = np.asarray(v, dtype=np.float64)
        out.append((v, np.zeros((m, *v.shape)) if t is None else _align(t, v.ndim)))
    return like, out


def _joined(like: DualArray, v: np.ndarray, t: np.ndarray, arrays: list[Any]) -> DualArray:
    """The result of joining `arrays` (values v, tangents t): no rounding, and like's lane
    kept, for joining leaves every row as it is (rows are axis 0 of the tangents, never
    joined), so both lanes' rows joined at once are the two lanes joined one by one."""
    if like._lane is None:
        return like._like(v, t, 0, _depth(*arrays))
    return _fresh(like, np.asarray(v, dtype=np.float64), t, _depth(*arrays))


def _concatenate(arrays: Any, axis: Any = 0, out: Any = None, **kw: Any) -> DualArray:
    _no_options("concatenate", out=out, **kw)
    arrays = list(arrays)
    like, ops = _operands(arrays)
    if axis is None:
        ops = [(v.reshape(-1), t.reshape(t.shape[0], -1)) for v, t in ops]
        axis = 0
    nd = ops[0][0].ndim
    ax = _norm_axis(axis, nd)
    v = np.concatenate([o[0] for o in ops], axis=ax)
    t = np.concatenate([o[1] for o in ops], axis=ax)
    return _joined(like, v, t, arrays)


def _stack(arrays: Any, axis: int = 0, out: Any = None, **kw: Any) -> DualArray:
    _no_options("stack", out=out, **kw)
    arrays = list(arrays)
    like, ops = _operands(arrays)
    nd = ops[0][0].ndim + 1
    ax = _norm_axis(axis, nd)
    v = np.stack([o[0] for o in ops], axis=ax)
    t = np.stack([np.broadcast_to(o[1], (o[1].shape[0], *o[0].shape)) for o in ops], axis=ax)
    return _joined(like, v, t, arrays)


def _hstack(tup: Any, **kw: Any) -> DualArray:
    tup = list(tup)
    like, ops = _operands(tup)
    ops = [(np.atleast_1d(v), t.reshape(t.shape[0], *np.atleast_1d(v).shape)) for v, t in ops]
    ax = 0 if ops[0][0].ndim == 1 else 1
    v = np.concatenate([o[0] for o in ops], axis=ax)
    t = np.concatenate([o[1] for o in ops], axis=ax + 1)
    return _joined(like, v, t, tup)


def _vstack(tup: Any, **kw: Any) -> DualArray:
    tup = list(tup)
    like, ops = _operands(tup)
    ops = [(np.atleast_2d(v), t.reshape(t.shape[0], *np.atleast_2d(v).shape)) for v, t in ops]
    v = np.concatenate([o[0] for o in ops], axis=0)
    t = np.concatenate([o[1] for o in ops], axis=1)
    return _joined(like, v, t, tup)


def _where(condition: Any, x: Any = None, y: Any = None) -> Any:
    if x is None or y is None:
        raise TypeError("np.where on a DualArray needs all three arguments (condition, x, y).")
    cond = np.asarray(_value(condition)).astype(bool)
    like = _first((x, y)) if isinstance(x, DualArray) or isinstance(y, DualArray) else None
    if like is None:
        raise TypeError("np.where: a DualArray condition selects values only; x or y must be dual")
    xv, xt = _lift(x, like)
    yv, yt = _lift(y, like)
    v = np.where(cond, xv, yv)
    m = like._t.shape[0]
    zero = np.zeros((m,) + (1,) * v.ndim)
    tx = zero if xt is None else _align(xt, v.ndim)
    ty = zero if yt is None else _align(yt, v.ndim)
    t = np.where(_align(cond[None], v.ndim) if cond.ndim else cond, tx, ty)
    return like._like(v, t, 0, _depth(x, y))


def _clip(a: Any, a_min: Any = None, a_max: Any = None, out: Any = None, **kw: Any) -> Any:
    _no_options("clip", out=out)
    a_min = kw.pop("min", a_min)
    a_max = kw.pop("max", a_max)
    r = a
    if a_min is not None:
        r = _binary_rule(_RULES["maximum"], r, a_min)
    if a_max is not None:
        r = _binary_rule(_RULES["minimum"], r, a_max)
    return r


def _extreme(a: Any, axis: Any, keepdims: bool, reduce: Callable[..., Any]) -> Any:
    """max/min along axis; tied elements share the derivative equally (the ½ convention)."""
    x = _as_dualarray(a)
    ax = _norm_axis(axis, x.ndim)
    if ax is None:
        ax = tuple(range(-x.ndim, 0))
    v = reduce(x._v, axis=ax, keepdims=True)
    hit = x._v == v
    w = hit / hit.sum(axis=ax, keepdims=True)
    r = _sum(x * w, axis=ax, keepdims=keepdims)
    r._v = reduce(x._v, axis=ax, keepdims=keepdims)  # NaN propagates as NumPy's
    return r


def _max(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, **kw: Any) -> Any:
    _no_options("max", out=out, **kw)
    return _extreme(a, axis, keepdims, np.max)


def _min(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, **kw: Any) -> Any:
    _no_options("min", out=out, **kw)
    return _extreme(a, axis, keepdims, np.min)


def _prod(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False, **kw: Any
) -> Any:
    """Product along an axis by pairwise products (log2(n) DualArray multiplications)."""
    _no_options("prod", dtype=dtype, out=out, **kw)
    x = _as_dualarray(a)
    if axis is None:
        r = _prod(_reshape(x, -1), 0)
        return _reshape(r, (1,) * x.ndim) if keepdims else r
    ax = _norm_axis(axis, x.ndim)
    if isinstance(ax, tuple):
        for i in sorted(ax):
            x = _prod(x, i, keepdims=True)
        return x if keepdims else _squeeze(x, ax)
    x = _moveaxis(x, ax, 0)
    if x.shape[0] == 0:
        r = x._like(np.ones(x.shape[1:]), np.zeros((x._t.shape[0], *x.shape[1:])), 0)
    else:
        while x.shape[0] > 1:
            n = x.shape[0]
            head = x[: n // 2 * 2 : 2] * x[1 : n // 2 * 2 : 2]
            x = _concatenate([head, x[n - 1 : n]], 0) if n % 2 else head
        r = _reshape(x, x.shape[1:]) if x.ndim > 1 else x[0]
    if keepdims:
        r = _expand_dims(_as_dualarray(r), ax)
    return r


# ---------------------------------------------------------------------------------------------
# Products: matmul, dot, tensordot, einsum (bilinear and multilinear)
# ---------------------------------------------------------------------------------------------


def _matmul(a: Any, b: Any, out: Any = None, **kw: Any) -> Any:
    _no_options("matmul", out=out, **kw)
    if (
        (type(a) is DualArray and a._rows is not None)
        or (type(b) is DualArray and b._rows is not None)
    ) and (r := _rows_matmul(a, b)) is not None:
        return r
    if (r := _unit_matmul(a, b)) is not None:
        return r
    like = _first((a, b))
    av, at = _lift(a, like)
    bv, bt = _lift(b, like)
    av = np.asarray(av, np.float64)
    bv = np.asarray(bv, np.float64)
    if av.ndim == 0 or bv.ndim == 0:
        raise ValueError("matmul: Input operand does not have enough dimensions")
    v = av @ bv
    if at is None and bv.ndim == 1 and av.ndim == 2 and (gs := _groups_of(b)) is not None:
        return _group_matvec(av, bv, gs, v, like, _depth(a, b))
    both = at is not None and bt is not None
    if like._abs and both and av.ndim == 2 and bv.ndim == 2 and not like._second:
        return _matmul_magnitudes(av, at, bv, bt, v, like, _depth(a, b))
    if like._second or (like._abs and both) or av.ndim > 2 or bv.ndim > 2:
        sa = "j" if av.ndim == 1 else "...ij"
        sb = "j" if bv.ndim == 1 else "...jk"
        so = "..." if av.ndim > 1 or bv.ndim > 1 else ""
        so += ("i" if av.ndim > 1 else "") + ("k" if bv.ndim > 1 else "")
        return _multilinear(f"{sa},{sb}->{so}", [a, b], like)
    cost = av.shape[-1] + 1
    base = _depth(a, b)
    av, bv = _mag(av, like), _mag(bv, like)
    t = 0.0
    # NumPy's matmul broadcasts the constant over the rows (measured on the MLP of tests/mlp.py:
    # 4-8x faster than gathering the rows into one GEMM, which needs a copy of the tangents)
    if at is not None:  # dA @ B
        if (ua := _unit_of(a)) != NO_UNIT and not like._abs:
            t = _unit_times(ua, av.shape, bv, at.shape[0])
        else:
            t = np.matmul(at, bv)
    if bt is not None:  # A @ dB
        if bv.ndim == 1 and av.ndim == 2 and _eye_of(b):
            tb = av.T.view()  # (A e_j)_i = A[i, j]: no product at all; A is the caller's
            tb.flags.writeable = False  # (a read-only view: writes into r copy it first)
        elif (ub := _unit_of(b)) != NO_UNIT and not like._abs and av.ndim == 2:
            tb = _times_unit(av, ub, bv.shape, bt.shape[0])
        elif bv.ndim == 1:  # (m, n) @ A^T: one GEMM
            tb = bt @ av.T if av.ndim == 2 else bt @ av
        else:
            tb = np.matmul(av, bt)
        t = tb if at is None else t + tb
    r = like._like(v, t, cost, base)
    if like._abs:  # a constant operand: the products' own rounding only (t is a new product)
        _value_errors(r, (cost * _EPS) * (av @ bv), fresh=True)
    return r


def _unit_matmul(a: Any, b: Any) -> DualArray | None:
    """A @ B with one factor a unit-seeded 2-d DualArray (a slice or reshape of the seeded x,
    or on the right its transpose: `_ut`) and the other a constant: the structured product
    from the seeds' offset alone (`_unit_product_rows`: no tangents read, so a view not taken
    stays so), the numbers `_matmul`'s general path gives; None for other operands."""
    da, db = type(a) is DualArray, type(b) is DualArray
    if da == db:
        return None
    x, c = (a, b) if da else (b, a)
    if x._v.ndim != 2 or x._abs or x._lane is not None or x._second:
        return None
    u, ut = _unit_of(x), _unit_t_of(x)
    if u == NO_UNIT and (da or ut == NO_UNIT):
        return None
    cv, ct = _lift(c, x)
    if ct is not None:  # (a Dual)
        return None
    cv = np.asarray(cv, np.float64)
    if cv.ndim != 2:
        return None
    av, bv = (np.asarray(x._v, np.float64), cv) if da else (cv, np.asarray(x._v, np.float64))
    v = av @ bv
    cost, m = av.shape[-1] + 1, _nrows(x)
    if da:  # dA @ B
        return _unit_product_rows(True, bv, u, av.shape, m, v, x, cost, x._n)
    return _unit_product_rows(False, av, ut if u == NO_UNIT else u, bv.shape, m, v, x, cost,
                              x._n, u == NO_UNIT)  # fmt: skip


def _groups_of(x: Any) -> np.ndarray | None:
    """The groups of the bound's group-seeded x (`_groups`), or None (not such an x, or its
    tangents have been replaced, e.g. copied before an assignment)."""
    if type(x) is not DualArray or x._groups is None or x._t is not x._groups[1]:
        return None
    return x._groups[0]


def _group_matvec(
    av: np.ndarray, bv: np.ndarray, groups: np.ndarray, v: np.ndarray, like: DualArray, base: int
) -> DualArray:
    """A @ x for a constant 2-d A and the group-seeded x of the bound's evaluation: the
    general path's |A| (rows of x) GEMM and its own rounding (q + 1) eps |A| |x| on the error
    row, in one C pass over A (`fd_dualarray_group_matvec_abs`): row r of x is 1 on group r,
    so row r of the product is the sum of |A[:, j]| over that group, no multiplication. The
    sums run in another order than BLAS's, so they agree to rounding (each within (q - 1)
    eps of the exact sum, as the GEMM's are), which the final gamma(2 (count + 2)) covers as
    it covers the GEMM's."""
    cost = av.shape[1] + 1  # one product and a sum of q terms, as the general path counts
    t = _dualarray.group_matvec_abs(av, np.abs(bv), groups, like._k, cost * _EPS)
    return like._like(v, t, cost, base)


def _unit_entries(
    off: int, shape: tuple[int, ...], m: int, transposed: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The seeded elements of a unit-seeded 2-d factor of `shape` (p, q) among m rows:
    (rows, i, j), element (i, j) with its seed in row rows[e]. Row off + (i q + j) holds
    element (i, j); `transposed`: the factor is W.T of a unit-seeded W (`_ut`), so row
    off + (j p + i) does."""
    p, q = shape
    lo, hi = _unit_span(off, p * q, m)
    idx = np.arange(lo - off, hi - off)
    if transposed:
        return off + idx, idx % p, idx // p
    return off + idx, idx // q, idx % q


def _unit_times(
    off: int, shape: tuple[int, ...], b: np.ndarray, m: int, transposed: bool = False
) -> np.ndarray:
    """Tangents of dA @ B for A with unit seeds from row `off` (`_unit`), A of `shape`: the
    row of element (i, j) is e_i B[j] (`_unit_entries`; transposed for A = W.T), or B[j]
    (A 1-d (q,))."""
    if len(shape) == 1:
        t = np.zeros((m, *b.shape[1:]))
        lo, hi = _unit_span(off, shape[0], m)
        t[lo:hi] = b[lo - off : hi - off]
        return t
    rows, i, j = _unit_entries(off, shape, m, transposed)
    t = np.zeros((m, shape[0], *b.shape[1:]))
    t[rows, i] = b[j]
    return t


def _unit_product_rows(
    unit_left: bool,
    c: np.ndarray,
    off: int,
    shape: tuple[int, ...],
    m: int,
    v: np.ndarray,
    like: DualArray,
    cost: int,
    base: int,
    transposed: bool = False,
) -> DualArray:
    """The structured tangents (`_rows`) of a product of a unit-seeded 2-d factor (of
    `shape`, seeds from row `off`; `transposed`: W.T, `_unit_entries`) and a constant 2-d c:
    dA @ B (`_unit_times`: element (i, j) of A gives e_i B[j], so along axis 0 own i and d
    B[j]) or A @ dB (`_times_unit`: element (i, j) of B gives A[:, i] in column j, so along
    axis 1 own j and d A[:, i])."""
    rows, i, j = _unit_entries(off, shape, m, transposed)
    own = np.full(m, -1, dtype=np.intp)
    if unit_left:
        own[rows] = i
        d = np.zeros((m, c.shape[1]))
        d[rows] = c[j]
    else:
        own[rows] = j
        d = np.zeros((m, c.shape[0]))
        d[rows] = c.T[i]
    return _with_rows(like._like(v, None, cost, base), own, d, 0 if unit_left else 1)


def _with_rows(r: DualArray, own: np.ndarray, d: np.ndarray, ax: int) -> DualArray:
    r._rows = (own, d, ax)
    return r


VECTOR_STRUCTURE_FROM = _dualarray.VECTOR_STRUCTURE_FROM
"""A unit-seeded vector becomes structured (`_rows_of`) in elementwise operations when its
dense tangents would have this many entries (k x size) or more. Below, the dense C passes are
faster than the structure's NumPy calls (sum(sin(x) * x): n = 100 27.8 us dense, 65.7
structured; n = 500 504 and 84 us; rosen, whose shifted slices put a partial in two
elements, gains nothing at any n)."""


def _may_structure(x: Any) -> bool:
    """x is structured (`_rows`), or a unit-seeded vector that elementwise operations turn
    into a structured one (each partial one element: `_rows_of`); cheap, no arrays built."""
    return type(x) is DualArray and (
        x._rows is not None
        or (
            x._unit != NO_UNIT
            and x._v.ndim == 1
            and x._lane is None
            and not x._abs
            and x._k * x._v.size >= VECTOR_STRUCTURE_FROM
        )
    )


def _rows_of(x: Any) -> tuple[np.ndarray, np.ndarray, int] | None:
    """x's structure (own, d, ax): its `_rows`, or, for a unit-seeded vector, own[u + e] = e
    and d 1 (one element per partial); None for anything else."""
    if type(x) is not DualArray:
        return None
    if x._rows is not None:
        return x._rows  # type: ignore[no-any-return]
    if x._v.ndim != 1 or (sx := _structure(x, 0, x._v.shape)) is None:
        return None
    return sx[0], sx[1], 0


def _structure(x: Any, ax: int, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray] | None:
    """x's tangents as (own, d) along axis ax (`_rows`) of an operand of a 2-d result of
    `shape`: its own structure (along ax, of that shape), or that of a unit-seeded x (1-d as
    a row) that broadcasts to `shape` with each partial in one row (ax 0: row off + (i C + j)
    is e_(i, j), so own i and d e_j) or one column (ax 1: own j, d e_i); None otherwise."""
    if type(x) is not DualArray:
        return None
    if x._rows is not None:
        own, d, xa = x._rows
        return (own, d) if xa == ax and x._v.shape == shape else None
    off = _unit_of(x)
    if off == NO_UNIT or x._v.ndim not in (1, 2) or x._abs or x._lane is not None or x._second:
        return None
    if len(shape) == 1:  # a vector: element e's partial in row off + e, with d 1 (m,)
        if ax != 0 or x._v.shape != shape:
            return None
        m = _nrows(x)
        lo, hi = _unit_span(off, shape[0], m)
        own = np.full(m, -1, dtype=np.intp)
        own[lo:hi] = np.arange(lo - off, hi - off)
        d = np.zeros(m)
        d[lo:hi] = 1.0
        return own, d
    R, C = (1, *x._v.shape) if x._v.ndim == 1 else x._v.shape
    if (R, C)[ax] != shape[ax] or (R, C)[1 - ax] not in (1, shape[1 - ax]):
        return None
    m = _nrows(x)
    rows, i, j = _unit_entries(off, (R, C), m)
    own = np.full(m, -1, dtype=np.intp)
    own[rows] = i if ax == 0 else j
    d = np.zeros((m, (C, R)[ax]))
    d[rows, j if ax == 0 else i] = 1.0
    return own, d


def _merged_owners(oa: np.ndarray, ob: np.ndarray) -> np.ndarray | None:
    """The row (or column) of each partial of the sum or product of two structured operands,
    or None where a partial touches one row in each and they differ."""
    if oa.shape != ob.shape or ((oa >= 0) & (ob >= 0) & (oa != ob)).any():
        return None
    return np.where(oa >= 0, oa, ob)


def _rows_add(sub: bool, a: Any, b: Any) -> DualArray | None:
    """a + b or a - b with a structured operand (`_rows`), keeping the structure: the same
    numbers as the dense tangents' sum (a zero row adds exactly), or None where the result
    has none (an operand broadcasts along the structured axis, puts a partial in another
    row or column than the other's, is structured along the other axis, is not a plain
    constant, ...): the general code then decides."""
    like = a if type(a) is DualArray else b
    if type(a) is DualArray and type(b) is DualArray:
        if a._tag != b._tag:
            return None
    elif not _numeric_constant(b if like is a else a):
        return None
    v = np.subtract(_value(a), _value(b)) if sub else np.add(_value(a), _value(b))
    if v.ndim not in (1, 2):
        return None
    rows = a._rows if type(a) is DualArray and a._rows is not None else getattr(b, "_rows", None)
    ax = 0 if rows is None else rows[2]  # (two unit-seeded vectors: along their one axis)
    sa = sb = None
    if type(a) is DualArray and (sa := _structure(a, ax, v.shape)) is None:
        return None
    if type(b) is DualArray and (sb := _structure(b, ax, v.shape)) is None:
        return None
    if sa is not None and sb is not None:
        (oa, da), (ob, db) = sa, sb
        if (own := _merged_owners(oa, ob)) is None:
            return None
        d = np.subtract(da, db) if sub else np.add(da, db)
        if v.ndim == 2 and d.shape[1] != v.shape[1 - ax]:  # (both broadcast)
            return None
    elif sa is not None:  # a +- c: a's structure, shared (never written)
        own, d = sa
    else:  # c +- b
        own, d = sb  # type: ignore[misc]
        if sub:
            d = -d
    return _with_rows(like._like(v, None, 1, _depth(a, b)), own, d, ax)


_PRODUCTS = frozenset({"multiply", "divide", "true_divide"})


def _gather(F: np.ndarray, own: np.ndarray, ax: int) -> np.ndarray:
    """Per-element factors F (the structured operand's 2-d shape) at each partial's row
    (ax 0: (m, C)) or column (ax 1: (m, R))."""
    i = np.maximum(own, 0)
    return F[i] if ax == 0 else F[:, i].T


def _rows_scaled(x: DualArray, F: Any, v: Any, cost: int) -> DualArray | None:
    """x's structure with each partial's d scaled by the per-element factor F (the dense
    F * t, one product per entry), values v; None where F is not finite somewhere (the dense
    0 * inf is NaN)."""
    if (sx := _rows_of(x)) is None:
        return None
    own, d, ax = sx
    F = np.broadcast_to(np.asarray(F, dtype=np.float64), x._v.shape)
    if not np.isfinite(F).all():
        return None
    return _with_rows(x._like(v, None, cost), own, _gather(F, own, ax) * d, ax)


def _numeric_constant(c: Any) -> bool:
    return (isinstance(c, float | int) and not isinstance(c, bool)) or (
        type(c) is np.ndarray and c.dtype.kind in "biuf"
    )


def _rows_product(name: str, a: Any, b: Any) -> DualArray | None:
    """a * b, a / b with a structured operand and a numeric constant (or, for *, two
    operands with one structure): the dense code's factors (`_binop_core`: c t, t / c,
    (-q / y) t; b t_a + a t_b) gathered to each partial's row; None where the result has no
    structure or a factor is not finite (or, dividing, zero) somewhere."""
    da, db = type(a) is DualArray, type(b) is DualArray
    v = np.multiply(_value(a), _value(b)) if name == "multiply" else np.divide(_value(a), _value(b))
    x = a if _may_structure(a) else b
    if v.shape != x._v.shape or (sx := _rows_of(x)) is None:  # (a constant broadcast beyond)
        return None
    own, d, ax = sx
    if da and db:
        if name != "multiply" or a._tag != b._tag:
            return None
        sa, sb = _structure(a, ax, v.shape), _structure(b, ax, v.shape)
        if sa is None or sb is None:
            return None
        (oa, d_a), (ob, d_b) = sa, sb
        if (both := _merged_owners(oa, ob)) is None:
            return None
        F, G = np.broadcast_to(b._v, v.shape), np.broadcast_to(a._v, v.shape)
        if not (np.isfinite(F).all() and np.isfinite(G).all()):
            return None
        d = _gather(F, both, ax) * d_a + _gather(G, both, ax) * d_b  # b t_a + a t_b
        return _with_rows(a._like(v, None, 2, _depth(a, b)), both, d, ax)
    c = b if x is a else a
    if not _numeric_constant(c):
        return None
    C = np.broadcast_to(np.asarray(c), v.shape)
    if name == "multiply":  # c t
        return _rows_scaled(x, C, v, 1)
    if x is a:  # t / c
        if not (np.isfinite(C).all() and (C != 0).all()):
            return None
        return _with_rows(x._like(v, None, 1), own, d / _gather(C, own, ax), ax)
    return _rows_scaled(x, (-v) / x._v, v, 2)  # (c / y)' = (-q / y) y'


def _rows_binary_rule(rule: int, a: Any, b: Any) -> DualArray | None:
    """A binary rule (maximum, minimum, power, arctan2, ...) with a structured operand and
    a numeric constant: f_x (or f_y) t as `_binary_rule` forms it, gathered; None otherwise."""
    da, db = type(a) is DualArray, type(b) is DualArray
    if da and db:
        return None
    x, c = (a, b) if da else (b, a)
    if not _numeric_constant(c):
        return None
    av, bv = np.broadcast_arrays(
        np.asarray(_value(a), np.float64), np.asarray(_value(b), np.float64)
    )
    if av.shape != x._v.shape or (sx := _rows_of(x)) is None:
        return None
    out = _dualarray.binary(
        rule, np.ascontiguousarray(av).reshape(-1), np.ascontiguousarray(bv).reshape(-1), False
    )
    f = out[0].reshape(av.shape)
    F = (out[1] if da else out[2]).reshape(av.shape)
    own, d, ax = sx
    if not np.isfinite(F).all():
        return None
    t = _gather(F, own, ax) * d
    if not da:
        t = 0.0 + t  # (the dense sum starts at 0.0)
    return _with_rows(x._like(f, None, 3, _depth(a, b)), own, t, ax)


def _rows_unary(rule: int, x: DualArray) -> DualArray | None:
    """A unary rule on a structured x: f'(v) gathered to each partial's row (or column)
    times d, the products `_unary` forms (fd_dualarray_unary: f' t); None where f' is not
    finite somewhere (there the dense tangents' 0 * f' is NaN, which the general code
    keeps)."""
    if (sx := _rows_of(x)) is None:
        return None
    own, d, ax = sx
    xv = np.ascontiguousarray(x._v).reshape(-1)
    v, fp, _, _ = _dualarray.unary(rule, xv, np.empty((0, xv.size)), False)
    if not np.isfinite(fp).all():
        return None
    g = _gather(fp.reshape(x._v.shape), own, ax)
    return _with_rows(x._like(v.reshape(x._v.shape), None, 2), own, g * d, ax)


def _dual_factor(x: Any, other: DualArray, m: int) -> tuple[np.ndarray, bool] | None:
    """(values, whether dual) of the other factor of a product with a structured `other`:
    a float64 ndarray, or a DualArray without structure of the same tag and m rows."""
    if type(x) is DualArray:
        if x._rows is not None or x._tag != other._tag or x._abs or x._lane is not None:
            return None
        if x._second or _nrows(x) != m:
            return None
        return x._v, True
    if type(x) is np.ndarray and x.dtype == np.float64:
        return x, False
    return None


def _rows_matmul(a: Any, b: Any) -> DualArray | None:
    """a @ b with a structured operand along its contracted axis: b (R, C) along axis 0
    (A @ h: partial p is A[:, own[p]] d[p], (M, C)) or a (R, C) along axis 1 (batch-first
    h @ B: d[p] B[own[p]], (R, S)), the other 2-d, constant or dual without structure. Each
    is the one nonzero term of each of the dense product's sums, so the same numbers; the
    other operand's tangents as `_matmul` takes them. None where this does not apply (the
    structure along the other axis, a factor with inf or NaN, whose products with the zeros
    the dense sum keeps, another tag, ...)."""
    left = (
        type(a) is DualArray and a._rows is not None and a._rows[2] == a._v.ndim - 1
    )  # (a (R, C) along axis 1, or a vector)
    if not left and not (type(b) is DualArray and b._rows is not None and b._rows[2] == 0):
        return None
    s, o = (a, b) if left else (b, a)  # the structured operand and the other
    own, d, _ = s._rows
    m = own.shape[0]
    if (fo := _dual_factor(o, s, m)) is None:
        return None
    ov, dual = fo
    av, bv = (s._v, ov) if left else (ov, s._v)
    if ov.ndim != 2 or av.shape[-1] != bv.shape[0] or not np.isfinite(ov).all():
        return None
    v = av @ bv
    i = np.maximum(own, 0)
    vec = s._v.ndim == 1
    if left:  # da @ B
        t = d[:, None] * bv[i] if vec else d[:, :, None] * bv[i][:, None, :]
    else:  # A @ db
        t = av.T[i] * d[:, None] if vec else av.T[i][:, :, None] * d[:, None, :]
    if dual:  # the other's term as `_matmul` forms it (a unit-seeded one's offset suffices)
        u = _unit_of(o)
        ut = _unit_t_of(o)
        if left:  # + A @ dB
            if u != NO_UNIT and av.ndim == 2:
                t = t + _times_unit(av, u, bv.shape, m)
            elif ut != NO_UNIT and av.ndim == 2:  # (B = W.T: h @ W2.T)
                t = t + _times_unit(av, ut, bv.shape, m, transposed=True)
            else:
                t = t + np.matmul(av, o._t)
        elif u != NO_UNIT:  # dA @ B +
            t = _unit_times(u, av.shape, bv, m) + t
        elif ut != NO_UNIT:  # (A = W.T)
            t = _unit_times(ut, av.shape, bv, m, transposed=True) + t
        else:
            t = np.matmul(o._t, bv) + t
    like = a if type(a) is DualArray else b
    return like._like(v, t, av.shape[-1] + 1, _depth(a, b))


def _times_unit(
    a: np.ndarray, off: int, shape: tuple[int, ...], m: int, transposed: bool = False
) -> np.ndarray:
    """Tangents of A @ dB for B with unit seeds from row `off`, B of `shape`: the row of
    element (j, l) is A[:, j] in column l (`_unit_entries`; transposed for B = W.T), or
    A[:, j] (B 1-d (q,))."""
    if len(shape) == 1:
        t = np.zeros((m, a.shape[0]))
        lo, hi = _unit_span(off, shape[0], m)
        t[lo:hi] = a.T[lo - off : hi - off]
        return t
    rows, j, col = _unit_entries(off, shape, m, transposed)
    t = np.zeros((m, a.shape[0], shape[1]))
    t[rows, :, col] = a[:, j].T
    return t


def _matmul_magnitudes(
    av: np.ndarray,
    at: np.ndarray,
    bv: np.ndarray,
    bt: np.ndarray,
    v: np.ndarray,
    like: DualArray,
    base: int,
) -> DualArray:
    """A @ B of two 2-d DualArrays in the bound's evaluation: `_multilinear` of "ij,jk->ik"
    written as matmuls (no einsum, no zeros): rows |A|' |B| + |A| |B|', the value errors
    E_A (rows of B) + (rows of A) E_B as the effect, and n eps |A| |B| of its own rounding."""
    cost = 1 + av.shape[1]  # one product and a sum of n terms, as _multilinear counts
    aa, ab = np.abs(av), np.abs(bv)
    t = np.matmul(at, ab)
    t += np.matmul(aa, bt)
    r = like._like(v, t, cost, base)
    eff = np.matmul(at[:-1], bt[-1])
    eff += np.matmul(at[-1], bt[:-1])
    return _value_errors(r, (cost * _EPS) * (aa @ ab), eff, fresh=True)


def _multilinear(spec: str, operands: list[Any], like: DualArray) -> DualArray:
    """einsum(spec, *operands) with the product rule over every dual operand."""
    ins, out = spec.split("->")
    subs = ins.split(",")
    used = set(spec)
    free = [c for c in string.ascii_letters if c not in used]
    ra, rb = free[0], free[1]
    vals, tans = [], []
    for o in operands:
        v, t = _lift(o, like)
        vals.append(np.asarray(v, np.float64))
        tans.append(t)
    opt = sum(v.size for v in vals) > 4096
    v = np.einsum(spec, *vals, optimize=opt)
    # roundings: one per product, plus the summed length (the letters not in the output)
    dims: dict[str, int] = {}
    for sub, val in zip(subs, vals, strict=True):
        head, _, tail = sub.partition("...")
        dims.update(zip(head, val.shape[: len(head)], strict=True))
        if tail:
            dims.update(zip(tail, val.shape[val.ndim - len(tail) :], strict=True))
    summed = int(np.prod([n for c, n in dims.items() if c not in out and c != "."]))
    cost = len(operands) - 1 + summed
    vals = [_mag(val, like) for val in vals]
    m = like._t.shape[0]
    t = np.zeros((m, *np.shape(v)))
    for i, ti in enumerate(tans):
        if ti is None:
            continue
        s = [(ra + subs[j]) if j == i else subs[j] for j in range(len(subs))]
        args = [ti if j == i else vals[j] for j in range(len(vals))]
        t = t + np.einsum(f"{','.join(s)}->{ra}{out}", *args, optimize=opt)
    r = like._like(v, t, cost, _depth(*operands))
    if like._abs:  # each product rounds, and each dual operand's value errors meet the others'
        eff = 0.0  # tangents
        for i, ti in enumerate(tans):
            for j, tj in enumerate(tans):
                if i == j or ti is None or tj is None:
                    continue
                s = [(ra + subs[q]) if q == i else subs[q] for q in range(len(subs))]
                args = [
                    ti[:-1] if q == i else (tj[-1] if q == j else vals[q]) for q in range(len(vals))
                ]
                eff = eff + np.einsum(f"{','.join(s)}->{ra}{out}", *args, optimize=opt)
        _value_errors(r, (cost * _EPS) * np.abs(np.einsum(spec, *vals, optimize=opt)), eff)
    if like._second:
        k = like._k
        extra = 0.0
        for i, ti in enumerate(tans):
            for j, tj in enumerate(tans):
                if i == j or ti is None or tj is None:
                    continue
                s = list(subs)
                args = list(vals)
                s[i], args[i] = ra + subs[i], ti[:k]
                s[j], args[j] = rb + subs[j], tj[:k]
                e = np.einsum(f"{','.join(s)}->{ra}{rb}{out}", *args, optimize=opt)
                extra = extra + e.reshape((k * k, *np.shape(v)))
        if not isinstance(extra, float):
            _add_second(r, extra)
    return r


def _einsum(
    subscripts: Any, *operands: Any, out: Any = None, optimize: Any = False, **kw: Any
) -> Any:
    _no_options("einsum", out=out, **kw)
    if not isinstance(subscripts, str) or "." in subscripts:
        raise TypeError(
            "np.einsum on DualArrays takes an explicit subscripts string without '...'; got "
            f"{subscripts!r}."
        )
    spec = subscripts.replace(" ", "")
    if "->" not in spec:
        letters = spec.replace(",", "")
        spec += "->" + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    return _multilinear(spec, list(operands), _first(operands))


def _tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    na, nb = np.ndim(_value(a)), np.ndim(_value(b))
    if isinstance(axes, int):
        ax_a, ax_b = list(range(na - axes, na)), list(range(axes))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, int) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, int) else list(ax_b)
    ax_a = [i % na for i in ax_a]
    ax_b = [i % nb for i in ax_b]
    letters = iter(string.ascii_letters)
    sa = [next(letters) for _ in range(na)]
    sb = [next(letters) for _ in range(nb)]
    for i, j in zip(ax_a, ax_b, strict=True):
        sb[j] = sa[i]
    out = [c for i, c in enumerate(sa) if i not in ax_a] + [
        c for j, c in enumerate(sb) if j not in ax_b
    ]
    like = _first((a, b))
    if not like._second and not like._abs and len(ax_a) >= 1:  # BLAS through np.tensordot
        av, at = _lift(a, like)
        bv, bt = _lift(b, like)
        v = np.tensordot(av, bv, axes=(ax_a, ax_b))
        cost = int(np.prod([np.shape(av)[i] for i in ax_a])) + 1
        av, bv = _mag(av, like), _mag(bv, like)
        t = 0.0
        if at is not None:
            t = np.tensordot(_align(at, na), bv, axes=([i + 1 for i in ax_a], ax_b))
        if bt is not None:
            tb = np.tensordot(av, _align(bt, nb), axes=(ax_a, [j + 1 for j in ax_b]))
            t = t + np.moveaxis(tb, na - len(ax_a), 0)
        return like._like(v, np.asarray(t), cost, _depth(a, b))
    return _multilinear(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", [a, b], like)


def _dot(a: Any, b: Any, out: Any = None) -> Any:
    _no_options("dot", out=out)
    na, nb = np.ndim(_value(a)), np.ndim(_value(b))
    if na == 0 or nb == 0:
        return _binop("multiply", a, b)
    if na <= 2 and nb <= 2 and not _first((a, b))._second and not _first((a, b))._abs:
        return _matmul(a, b)
    return _tensordot(a, b, axes=([na - 1], [max(nb - 2, 0)]))


def _inner(a: Any, b: Any) -> Any:
    na, nb = np.ndim(_value(a)), np.ndim(_value(b))
    if na == 0 or nb == 0:
        return _binop("multiply", a, b)
    return _tensordot(a, b, axes=([na - 1], [nb - 1]))


def _outer_product(a: Any, b: Any, out: Any = None) -> Any:
    _no_options("outer", out=out)
    a = _reshape(a, -1) if isinstance(a, DualArray) else np.ravel(a)
    b = _reshape(b, -1) if isinstance(b, DualArray) else np.ravel(b)
    return _multilinear("i,j->ij", [a, b], _first((a, b)))


# ---------------------------------------------------------------------------------------------
# Linear algebra: solve, inv, det through a constant factorisation
# ---------------------------------------------------------------------------------------------


def _solve_const(av: np.ndarray, r: DualArray) -> DualArray:
    """A^-1 r for a constant A: one solve for the values and every tangent row together.

    In the bound's evaluation the rows are |A^-1| |r| (LU: about 3n roundings per entry)."""
    m = r._t.shape[0]
    n = av.shape[0]
    if r._abs:
        ainv = np.abs(np.linalg.inv(av))
        t = np.tensordot(ainv, r._t, axes=([1], [1])).swapaxes(0, 1)
        x = r._like(np.linalg.solve(av, r._v), t, 3 * n)
        return _value_errors(x, (3 * n * _EPS) * (ainv @ np.abs(r._v)))
    if r.ndim == 1:
        rhs = np.concatenate([r._v[:, None], r._t.T], axis=1)
        sol = np.linalg.solve(av, rhs)
        return r._like(sol[:, 0], np.ascontiguousarray(sol[:, 1:].T), 3 * n)
    n, q = r.shape
    rhs = np.concatenate([r._v, r._t.transpose(1, 0, 2).reshape(n, m * q)], axis=1)
    sol = np.linalg.solve(av, rhs)
    t = sol[:, q:].reshape(n, m, q).transpose(1, 0, 2)
    return r._like(sol[:, :q], t, 3 * n)


def _solve(a: Any, b: Any) -> Any:
    """x = A^-1 b. With A dual: Newton steps x <- x + A0^-1 (b - A x) from x0 = A0^-1 b0 with
    the constant A0 = value of A; step j makes the order-j terms exact (first order: one
    step, x' = A0^-1 (b' - A' x0); second order: two), one factorisation per step for all
    partials. In the bound's evaluation the same steps give |A0^-1| (|b'| + |A'| |x0|) and
    more: subtraction adds magnitudes, so the steps only over-count."""
    like = _first((a, b))
    av, at = _lift(a, like)
    bv, _ = _lift(b, like)
    av = np.asarray(av, np.float64)
    if av.ndim != 2 or np.ndim(bv) not in (1, 2):
        raise TypeError(
            "np.linalg.solve on DualArrays supports a 2-d A with a 1-d or 2-d b; got shapes "
            f"{av.shape} and {np.shape(bv)}."
        )
    if at is None:
        bd = b if isinstance(b, DualArray) else _as_dual_operand(b, like)
        return _solve_const(av, bd)
    x = like._like(
        np.linalg.solve(av, bv), np.zeros((like._t.shape[0], *np.shape(bv))), 0, _depth(a, b)
    )
    for _ in range(2 if like._second else 1):
        x = x + _solve_const(av, _as_dual_operand(_binop("subtract", b, _matmul(a, x)), like))
    return x


def _as_dual_operand(x: Any, like: DualArray) -> DualArray:
    if isinstance(x, DualArray):
        return x
    v, t = _lift(x, like)
    v = np.asarray(v, np.float64)
    return like._like(v, np.zeros((like._t.shape[0], *v.shape)) if t is None else t, 0)


def _inv(a: Any) -> Any:
    x = _as_dualarray(a)
    if x.ndim != 2 or x.shape[0] != x.shape[1]:
        raise TypeError(f"np.linalg.inv on a DualArray needs a square 2-d array; got {x.shape}.")
    return _solve(x, np.eye(x.shape[0]))


def _det(a: Any) -> Any:
    """det(A0 + D) = det(A0) det(I + E), E = A0^-1 D with D the perturbation (zero value):
    det(I + E) = 1 + tr E + ((tr E)^2 - tr(E E)) / 2 up to terms of third order."""
    x = _as_dualarray(a)
    if x.ndim != 2 or x.shape[0] != x.shape[1]:
        raise TypeError(f"np.linalg.det on a DualArray needs a square 2-d array; got {x.shape}.")
    d0 = np.linalg.det(x._v)
    e = _solve_const(x._v, x._like(np.zeros_like(x._v), x._t, 0))
    tr = _trace(e)
    det_ie = 1.0 + tr
    if x._second:
        det_ie = det_ie + 0.5 * (tr * tr - _multilinear("ij,ji->", [e, e], e))
    r = det_ie * d0
    r._v = np.asarray(d0)
    return r


def _norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    """The 2-norm of vectors / Frobenius norm: sqrt(sum x^2); gradient 0 at 0 (as hypot)."""
    if ord not in (None, "fro", 2) or (ord == 2 and not (axis is not None or _value(x).ndim == 1)):
        raise TypeError(
            f"np.linalg.norm on a DualArray supports the 2-norm of vectors and the Frobenius "
            f"norm; got ord={ord!r}."
        )
    d = _as_dualarray(x)
    ax = _norm_axis(axis, d.ndim)
    if ax is None:
        ax = tuple(range(-d.ndim, 0))
    if d._second:
        return _unary(_RULES["sqrt"], _sum(d * d, ax, keepdims=keepdims))
    nv = np.sqrt(np.sum(d._v * d._v, axis=ax, keepdims=True))
    safe = np.where(nv > 0, nv, 1.0)
    t = np.sum(d._t * _mag(d._v / safe, d), axis=ax, keepdims=keepdims)
    v = nv if keepdims else np.squeeze(nv, ax)
    return d._like(v, t, d.size // max(np.size(v), 1) + 3)


def _shape(a: Any) -> tuple[int, ...]:
    return _as_dualarray(a).shape


def _ndim(a: Any) -> int:
    return _as_dualarray(a).ndim


def _size(a: Any, axis: Any = None) -> int:
    x = _as_dualarray(a)
    return x.size if axis is None else x.shape[axis]


def _copy_fn(a: Any, order: str = "K", subok: bool = False) -> DualArray:
    return _copy(_as_dualarray(a))


def _zeros_like(
    a: Any,
    dtype: Any = None,
    order: str = "K",
    subok: bool = True,
    shape: Any = None,
    fill: float = 0.0,
) -> DualArray:
    """A constant DualArray (zero partials), so that code filling ``out[i] = ...`` works."""
    x = _as_dualarray(a)
    v = np.full(x.shape if shape is None else shape, fill)
    return x._like(v, np.zeros((x._t.shape[0], *v.shape)), 0, 0)


def _ones_like(
    a: Any, dtype: Any = None, order: str = "K", subok: bool = True, shape: Any = None
) -> DualArray:
    return _zeros_like(a, shape=shape, fill=1.0)


def _atleast_1d(*arys: Any) -> Any:
    res = [_reshape(a, (1,)) if isinstance(a, DualArray) and a.ndim == 0 else a for a in arys]
    return res[0] if len(res) == 1 else res


def _atleast_2d(*arys: Any) -> Any:
    res = []
    for a in arys:
        if isinstance(a, DualArray) and a.ndim < 2:
            a = _reshape(a, (1, max(a.size, 1)) if a.ndim == 1 else (1, 1))
        res.append(a)
    return res[0] if len(res) == 1 else res


_FUNCTIONS: dict[Any, Callable[..., Any]] = {
    np.sum: _sum,
    np.mean: _mean,
    np.prod: _prod,
    np.dot: _dot,
    np.matmul: _matmul,
    np.tensordot: _tensordot,
    np.einsum: _einsum,
    np.outer: _outer_product,
    np.inner: _inner,
    np.reshape: _reshape,
    np.ravel: _ravel,
    np.transpose: _transpose,
    np.swapaxes: _swapaxes,
    np.moveaxis: _moveaxis,
    np.squeeze: _squeeze,
    np.expand_dims: _expand_dims,
    np.broadcast_to: _broadcast_to,
    np.concatenate: _concatenate,
    np.stack: _stack,
    np.hstack: _hstack,
    np.vstack: _vstack,
    np.where: _where,
    np.clip: _clip,
    np.diag: _diag,
    np.trace: _trace,
    np.cumsum: _cumsum,
    np.diff: _diff,
    np.linalg.norm: _norm,
    np.linalg.solve: _solve,
    np.linalg.inv: _inv,
    np.linalg.det: _det,
    np.max: _max,
    np.min: _min,
    np.amax: _max,
    np.amin: _min,
    np.shape: _shape,
    np.ndim: _ndim,
    np.size: _size,
    np.copy: _copy_fn,
    np.atleast_1d: _atleast_1d,
    np.zeros_like: _zeros_like,
    np.ones_like: _ones_like,
    np.atleast_2d: _atleast_2d,
}


# ---------------------------------------------------------------------------------------------
# Magnitude lanes: the bound's evaluation carried in the same call of f
# ---------------------------------------------------------------------------------------------
# A lane array (`_lane` = (m1, k2, missed)) holds the plain rows 0 .. m1 - 1 (k first-order
# rows, second order when m1 > k) and after them the rows of the rounding bound's evaluation
# (fastdiff._forward._magnitudes: k2 first-order magnitude rows, second order when more, the
# values' error row last). The elementwise kernels (`_arith`, `_square`, `_unary`), `_sum`
# and the views compute both lanes in one pass. Every other operation runs twice, once on
# each lane as an ordinary array (`_laned`): each lane then gets exactly the arithmetic of
# its own evaluation, so the numbers are those of the two separate calls of f.


def _lane_part(x: DualArray, part: int) -> DualArray:
    """Lane `part` of x (0: the plain rows, 1: the bound's) as an ordinary DualArray."""
    m1, k2, _ = x._lane or (0, 0, None)  # (always a lane here)
    r = DualArray.__new__(DualArray)
    r._v = x._v
    r._tag = x._tag
    r._n = x._n
    r._family = x._family
    r._lane = None
    if part == 0:
        r._t, r._k, r._abs, r._eye, r._unit = x._t[:m1], x._k, False, x._eye, x._unit
        r._ut = x._ut
    else:
        r._t, r._k, r._abs, r._eye, r._unit = x._t[m1:], k2, True, False, NO_UNIT
        if (groups := _groups_of(x)) is not None:  # x of `_jacobian_lane`: its bound rows
            r._groups = (groups, r._t)
    return r


def _lane_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    for a in (*args, *kwargs.values()):
        if type(a) is DualArray:
            if a._lane is not None:
                return a._lane
        elif type(a) is list or type(a) is tuple:
            for b in a:
                if type(b) is DualArray and b._lane is not None:
                    return b._lane
    return None


def _lane_args(a: Any, part: int) -> Any:
    if type(a) is DualArray:
        return _lane_part(a, part) if a._lane is not None else a
    if type(a) is list or type(a) is tuple:
        return type(a)(_lane_args(b, part) for b in a)
    return a


def _lane_merge(plain: Any, bound: Any, lane: Any) -> Any:
    """One lane result from the two lanes' results of an operation."""
    if isinstance(plain, Dual) and type(bound) is DualArray:  # a 0-d first-order index
        p = np.asarray(plain.partials, np.float64)
        plain = DualArray._make(np.asarray(float(plain.value)), p, p.shape[0], bound._tag)
    if type(plain) is DualArray and type(bound) is DualArray:
        t = np.concatenate((_full(plain._t, plain._v.shape), _full(bound._t, bound._v.shape)))
        r = _fresh(plain, np.asarray(plain._v, dtype=np.float64), t, bound._n)
        r._lane = lane
        return r
    if type(plain) in (list, tuple) and type(bound) is type(plain):
        return type(plain)(_lane_merge(p, b, lane) for p, b in zip(plain, bound, strict=True))
    return plain  # no partials: values, shapes, booleans


def _laned(fn: Callable[..., Any], elementwise: bool = False) -> Callable[..., Any]:
    """fn on each lane of its lane operands, the results merged (`_lane_merge`); fn
    `elementwise` broadcasts its operands (its result's shape is known beforehand)."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        lane = _lane_of(args, kwargs)
        if lane is None:
            return fn(*args, **kwargs)
        if elementwise and len(lane[2]) > 1:
            try:
                shape = np.broadcast_shapes(
                    *(np.shape(a._v if type(a) is DualArray else a) for a in args[1:])
                )
            except ValueError:  # (fn raises NumPy's own error)
                shape = ()
            if 8 * lane[0] * math.prod(shape) > lane[2][1]:
                _lane_miss(lane)  # (see below), before either lane runs
        kw0 = {key: _lane_args(v, 0) for key, v in kwargs.items()}
        kw1 = {key: _lane_args(v, 1) for key, v in kwargs.items()}
        if len(lane[2]) > 1:  # a budget (see `_LaneMiss`): the small bound lane first
            bound = fn(*_lane_args(args, 1), **kw1)
            if type(bound) is DualArray and 8 * lane[0] * bound._v.size > lane[2][1]:
                _lane_miss(lane)  # merging would copy more than the second call costs
            plain = fn(*_lane_args(args, 0), **kw0)
            return _lane_merge(plain, bound, lane)
        plain = fn(*_lane_args(args, 0), **kw0)
        bound = fn(*_lane_args(args, 1), **kw1)
        return _lane_merge(plain, bound, lane)

    return run


# the views, `_sum`/`_mean`, joining (`_joined`) and the elementwise kernels carry lanes
# themselves
_LANE_AWARE = frozenset(
    {_sum, _mean, _reshape, _ravel, _transpose, _swapaxes, _moveaxis, _squeeze, _expand_dims}
    | {_concatenate, _stack, _hstack, _vstack}  # (`_joined`)
)
_FUNCTIONS = {f: (impl if impl in _LANE_AWARE else _laned(impl)) for f, impl in _FUNCTIONS.items()}
_binop_general = _laned(_binop_general, True)  # (name, a, b)
_square_general = _laned(_square_general)
_binary_rule = _laned(_binary_rule, True)  # (rule, a, b)
_matmul = _laned(_matmul)
_dot = _laned(_dot)
_copy = _laned(_copy)
_prod = _laned(_prod)
_extreme = _laned(_extreme)
_cumsum = _laned(_cumsum)
_clip = _laned(_clip)
_trace = _laned(_trace)
_negative = _laned(_negative)
_positive = _laned(_positive)

# The compiled fast paths fall back to the Python code above.
_dualarray.register(
    DualArray,
    _binop_general,
    _square_general,
    DualArray._getitem_general,
    _sum,
    _unary,
    DualArray._array_ufunc_general,
    DualArray._array_function_general,
    {
        getattr(np, name): rule
        for name, rule in _RULES.items()
        if isinstance(getattr(np, name, None), np.ufunc)
        and _dual.RULE_ARITY[_dual.RULE_NAMES[rule]] == 1
        and name not in _BINOPS  # np.square: the product rule of `_square`
    },
)
