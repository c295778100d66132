# The crossing for Taylor mode: the Taylor type over a C buffer of coefficients and radii, and
# dispatch to the recurrences of csrc/taylor.c (keyed by the rule table csrc/dual_rules.def).
#
# A Taylor number of degree d over an array of shape S (m elements) stores 2 (d+1) m doubles:
# coefficients c[k*m + i], then radii r[k*m + i] (rounding bounds).  Every operation is one C
# call over the whole array.  Taylor numbers of one differentiation call share a tag; operands
# of different calls never mix (a perturbation cannot be confused with another one).
cimport cython
from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.string cimport memcpy, memset

import numbers
import operator

import numpy as np

cimport numpy as cnp

cnp.import_array()

from fastdiff._kernels.fastdiff cimport (
    FD_N_RULES, fd_dual_rule_arity, fd_dual_rule_names, fd_taylor_add, fd_taylor_add_real,
    fd_taylor_binary, fd_taylor_div, fd_taylor_div_real, fd_taylor_mul, fd_taylor_mul_real,
    fd_taylor_n_rules, fd_taylor_pow_real, fd_taylor_rdiv_real, fd_taylor_rpow_real,
    fd_taylor_rule_names, fd_taylor_unary, fd_taylor_work,
)

from fastdiff._kernels import _dual
from fastdiff._kernels._dual import Dual

# Buffers of more than INLINE doubles come from the block pool of _dualarray (NumPy's memory
# handler there, whose allocator is called here directly): at 10^4 points a Taylor number of
# degree 4 holds 800 KB, which glibc returns to the system when freed, so without the pool every
# operation page-faults its output and scratch in afresh (measured: over half the time of
# derivative(f, x, n=4, method="dual") on 10^4 points went to page faults).  Blocks under the
# pool's minimum come from malloc through the same functions.
from fastdiff._kernels._numpy_mem cimport PyDataMem_Handler

from fastdiff._kernels import _dualarray

cdef PyDataMem_Handler *_pool = <PyDataMem_Handler *> PyCapsule_GetPointer(
    _dualarray._capsule, b"mem_handler")


cdef inline double *_alloc(Py_ssize_t n) noexcept nogil:
    return <double *> _pool.allocator.malloc(_pool.allocator.ctx, <size_t> n * sizeof(double))


cdef inline void _release(double *p) noexcept nogil:
    _pool.allocator.free(_pool.allocator.ctx, p, 0)  # the pool reads the block's own size


cdef enum:
    INLINE = 32         # doubles stored inside the object: degree <= 15 for a scalar
    STACK = 512         # scratch doubles on the C stack

RULE_NAMES = tuple(fd_dual_rule_names[i].decode() for i in range(FD_N_RULES))
TAYLOR_RULE_NAMES = tuple(fd_taylor_rule_names[i].decode() for i in range(fd_taylor_n_rules))
cdef dict _RULE_INDEX = {name: i for i, name in enumerate(RULE_NAMES)}
_RULE_INDEX.update({alias: _RULE_INDEX[name] for alias, name in _dual.ALIASES.items()})
cdef int _POW = _RULE_INDEX["power"]
cdef int _ABS = _RULE_INDEX["absolute"]

cdef enum:
    OP_ADD = 0
    OP_SUB = 1
    OP_MUL = 2
    OP_DIV = 3
    OP_POW = 4

cdef unsigned long long _next_tag = 1

_LOSS_MESSAGE = (
    "cannot convert a fastdiff Taylor number to {}: that would silently drop its derivatives. "
    "Use NumPy ufuncs (np.sin, ...) or fastdiff.math functions instead of the `math` module, "
    "and keep Taylor numbers out of float arrays.")


@cython.freelist(64)
@cython.final
cdef class Taylor:
    """A truncated Taylor series ``sum_k c_k t^k`` of a quantity along ``x + t``, elementwise.

    Made by ``derivative(f, x, n=k, method="dual")`` for k >= 2 (``seed``), never by hand.
    ``coefficients[k]`` is the k-th derivative divided by ``k!``, ``radii[k]`` bounds its
    rounding error; both have shape ``(degree + 1,) + shape``.
    """

    cdef int d
    cdef Py_ssize_t m
    cdef tuple shp
    cdef double *c
    cdef double buf[INLINE]
    cdef unsigned long long tag

    def __cinit__(self):
        self.c = NULL

    def __dealloc__(self):
        if self.c != NULL and self.c != &self.buf[0]:
            _release(self.c)
        self.c = NULL

    @property
    def degree(self):
        return self.d

    @property
    def shape(self):
        return self.shp

    @property
    def ndim(self):
        return len(self.shp)

    @property
    def size(self):
        return self.m

    @property
    def tag(self):
        return self.tag

    @property
    def coefficients(self):
        return self._block(0)

    @property
    def radii(self):
        return self._block(1)

    @property
    def value(self):
        if not self.shp:
            return self.c[0]
        return self._block(0)[0]

    cdef object _block(self, int which):
        out = np.empty((self.d + 1,) + self.shp, dtype=np.float64)
        cdef Py_ssize_t n = (self.d + 1) * self.m
        if n:
            memcpy(cnp.PyArray_DATA(out), self.c + which * n, n * sizeof(double))
        return out

    def __len__(self):
        if not self.shp:
            raise TypeError("len() of a scalar Taylor number")
        return self.shp[0]

    def __float__(self):
        raise TypeError(_LOSS_MESSAGE.format("float"))

    def __int__(self):
        raise TypeError(_LOSS_MESSAGE.format("int"))

    def __index__(self):
        raise TypeError(_LOSS_MESSAGE.format("an index"))

    def __complex__(self):
        raise TypeError(_LOSS_MESSAGE.format("complex"))

    def __bool__(self):
        if self.shp:
            raise ValueError("the truth value of a Taylor array is ambiguous (as for ndarray)")
        return self.c[0] != 0.0

    def __reduce__(self):
        raise TypeError("fastdiff Taylor numbers cannot be pickled")

    def __repr__(self):
        return (f"Taylor(degree={self.d}, shape={self.shp}, "
                f"coefficients={self._block(0).tolist()!r})")

    # Comparisons act on values -------------------------------------------------------------
    def __richcmp__(self, other, int op):
        a = self.value
        if type(other) is Taylor:
            b = (<Taylor> other).value
        elif _is_real(other) or isinstance(other, np.ndarray):
            b = other
        else:
            return NotImplemented
        return _COMPARE[op](a, b)

    def __hash__(self):
        raise TypeError("fastdiff Taylor numbers are not hashable")

    # Arithmetic ------------------------------------------------------------------------------
    def __neg__(self):
        return _arith_real(OP_SUB, self, 0.0, True)

    def __pos__(self):
        return self

    def __abs__(self):
        return _unary(_ABS, self)

    def __add__(self, other):
        return _arith(OP_ADD, self, other, False)

    def __radd__(self, other):
        return _arith(OP_ADD, self, other, True)

    def __sub__(self, other):
        return _arith(OP_SUB, self, other, False)

    def __rsub__(self, other):
        return _arith(OP_SUB, self, other, True)

    def __mul__(self, other):
        return _arith(OP_MUL, self, other, False)

    def __rmul__(self, other):
        return _arith(OP_MUL, self, other, True)

    def __truediv__(self, other):
        return _arith(OP_DIV, self, other, False)

    def __rtruediv__(self, other):
        return _arith(OP_DIV, self, other, True)

    def __pow__(self, other, mod):
        if mod is not None:
            return NotImplemented
        return _arith(OP_POW, self, other, False)

    def __rpow__(self, other, mod):
        if mod is not None:
            return NotImplemented
        return _arith(OP_POW, self, other, True)

    # NumPy protocols -------------------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        name = ufunc.__name__
        if method == "__call__" and not kwargs:
            rule = _RULE_INDEX.get(name)
            if rule is not None:
                return _rule(rule, inputs)
        if method != "__call__" or kwargs:
            raise TypeError(
                f"NumPy ufunc {name!r} with method={method!r} and keywords {sorted(kwargs)} is "
                "not supported on fastdiff Taylor numbers (only plain elementwise calls).")
        return _ufunc(name, inputs)

    def __array_function__(self, func, types, args, kwargs):
        raise TypeError(
            f"NumPy function {func.__name__!r} is not supported on fastdiff Taylor numbers "
            "(Taylor mode differentiates elementwise functions: ufuncs, fastdiff.math and "
            "arithmetic).")

    def __fastdiff_rule__(self, int rule, tuple inputs):
        """fastdiff.math's hook: apply row `rule` (FD_RULE_ index) of the table to `inputs`."""
        if rule < 0 or rule >= FD_N_RULES:
            raise ValueError(f"no rule {rule} in the table")
        return _rule(rule, inputs)


# ---------------------------------------------------------------------------------------------
# Construction
# ---------------------------------------------------------------------------------------------

cdef Taylor _new(int d, Py_ssize_t m, tuple shp, unsigned long long tag):
    cdef Taylor t = Taylor.__new__(Taylor)
    cdef Py_ssize_t n = 2 * (d + 1) * m
    t.d = d
    t.m = m
    t.shp = shp
    t.tag = tag
    if n <= INLINE:
        t.c = &t.buf[0]
    else:
        t.c = _alloc(n)
        if t.c == NULL:
            raise MemoryError()
    return t


cdef inline Taylor _like(Taylor a):
    return _new(a.d, a.m, a.shp, a.tag)


def seed(x, int d):
    """The variable x + t as a Taylor number of degree d (a new tag); x a float or ndarray."""
    global _next_tag
    cdef Taylor t
    cdef Py_ssize_t n, i
    cdef double *c
    tag = _next_tag
    _next_tag += 1
    if type(x) is float:
        t = _new(d, 1, (), tag)
        n = 2 * (d + 1)
        memset(t.c, 0, n * sizeof(double))
        t.c[0] = x
        if d >= 1:
            t.c[1] = 1.0
        return t
    arr = np.asarray(x, dtype=np.float64, order="C")  # ascontiguousarray would make 0-d 1-d
    t = _new(d, arr.size, arr.shape, tag)
    n = t.m
    memset(t.c, 0, 2 * (d + 1) * n * sizeof(double))
    if n:
        memcpy(t.c, cnp.PyArray_DATA(arr), n * sizeof(double))
    c = t.c
    if d >= 1:
        for i in range(n):
            c[n + i] = 1.0
    return t


def top(y, unsigned long long tag, int k):
    """Coefficient k of y and its radius (floats for a scalar, arrays else), from call `tag`."""
    cdef Taylor t
    if type(y) is not Taylor:
        raise TypeError(f"expected a Taylor number; got {type(y).__name__}")
    t = <Taylor> y
    if t.tag != tag:
        raise ValueError(
            "f returned a Taylor number of another differentiation call (it escaped through "
            "a global, a closure or a cache).")
    if not t.shp:
        return t.c[k], t.c[t.d + 1 + k]
    cdef Py_ssize_t n = (t.d + 1) * t.m
    coef = np.empty(t.shp, dtype=np.float64)
    rad = np.empty(t.shp, dtype=np.float64)
    if t.m:
        memcpy(cnp.PyArray_DATA(coef), t.c + k * t.m, t.m * sizeof(double))
        memcpy(cnp.PyArray_DATA(rad), t.c + n + k * t.m, t.m * sizeof(double))
    return coef, rad


# ---------------------------------------------------------------------------------------------
# Operands
# ---------------------------------------------------------------------------------------------

cdef inline bint _is_real(x):
    return (type(x) is float or type(x) is int
            or (isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))))


cdef object _mixing_error(other):
    return TypeError(
        f"cannot combine a fastdiff Taylor number with {type(other).__name__}: Taylor mode "
        "(derivative with method='dual' and n >= 2) does not nest with Dual or DualArray "
        "differentiation.")


cdef Taylor _broadcast(Taylor a, tuple shp):
    """a as a Taylor number of the (larger) broadcast shape shp."""
    blocks = np.empty((2, a.d + 1) + a.shp, dtype=np.float64)
    cdef Py_ssize_t n = 2 * (a.d + 1) * a.m
    if n:
        memcpy(cnp.PyArray_DATA(blocks), a.c, n * sizeof(double))
    blocks = blocks.reshape((2, a.d + 1) + (1,) * (len(shp) - len(a.shp)) + a.shp)
    big = np.ascontiguousarray(np.broadcast_to(blocks, (2, a.d + 1) + shp))
    cdef Taylor t = _new(a.d, big[0, 0].size, shp, a.tag)
    n = 2 * (a.d + 1) * t.m
    if n:
        memcpy(t.c, cnp.PyArray_DATA(big), n * sizeof(double))
    return t


cdef tuple _pair(Taylor a, Taylor b):
    """Two Taylor numbers of one call, broadcast to a common shape."""
    if a.tag != b.tag:
        raise ValueError(
            "cannot combine Taylor numbers of two different differentiation calls (one of them "
            "escaped its call through a global, a closure or a cache).")
    if a.d != b.d:
        raise ValueError(f"cannot combine Taylor numbers of degrees {a.d} and {b.d}")
    if a.shp != b.shp:
        shp = np.broadcast_shapes(a.shp, b.shp)
        if a.shp != shp:
            a = _broadcast(a, shp)
        if b.shp != shp:
            b = _broadcast(b, shp)
    return a, b


cdef tuple _real_operand(Taylor a, other):
    """(a broadcast as needed, contiguous float64 constant, its stride 0 or 1)."""
    if type(other) is float or type(other) is int:
        return a, np.array(float(other)), 0
    if _is_real(other):
        return a, np.array(float(other)), 0
    if isinstance(other, Dual):
        raise _mixing_error(other)
    arr = np.asarray(other)
    if arr.dtype.kind not in "biuf":
        if arr.dtype == object:
            raise _mixing_error(other)
        raise TypeError(
            f"fastdiff Taylor numbers combine with real numbers and arrays; got dtype "
            f"{arr.dtype}.")
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim == 0:
        return a, np.ascontiguousarray(arr), 0
    shp = np.broadcast_shapes(a.shp, arr.shape)
    if a.shp != shp:
        a = _broadcast(a, shp)
    arr = np.ascontiguousarray(np.broadcast_to(arr, shp))
    return a, arr, 1


cdef Taylor _constant(Taylor a, other):
    """A real operand as a Taylor number of a's call (zero higher coefficients, radius 0)."""
    a, arr, cs = _real_operand(a, other)
    cdef Taylor t = _like(a)
    cdef Py_ssize_t i
    cdef double *cv = <double *> cnp.PyArray_DATA(arr)
    memset(t.c, 0, 2 * (t.d + 1) * t.m * sizeof(double))
    for i in range(t.m):
        t.c[i] = cv[i * cs]
    return t


# ---------------------------------------------------------------------------------------------
# Arithmetic
# ---------------------------------------------------------------------------------------------

cdef object _arith(int op, Taylor a, other, bint reflected):
    cdef Taylor b, out
    if type(other) is Taylor:
        b = <Taylor> other
        if b.tag == a.tag and b.d == a.d and (b.shp is a.shp or b.shp == a.shp):
            return _arith2(op, b, a) if reflected else _arith2(op, a, b)
        if reflected:
            a, b = _pair(<Taylor> other, a)
        else:
            a, b = _pair(a, <Taylor> other)
        return _arith2(op, a, b)
    if type(other) is float or type(other) is int or _is_real(other) or isinstance(
            other, (np.ndarray, list, tuple)) or isinstance(other, Dual):
        return _arith_real(op, a, other, reflected)
    return NotImplemented


cdef Taylor _arith2(int op, Taylor a, Taylor b):
    cdef Taylor out = _like(a)
    cdef Py_ssize_t n = (a.d + 1) * a.m
    if op == OP_POW:
        return _binary2(_POW, a, b)
    if op == OP_ADD or op == OP_SUB:
        fd_taylor_add(a.d, a.m, a.c, a.c + n, b.c, b.c + n, 1.0 if op == OP_ADD else -1.0,
                      out.c, out.c + n)
    elif op == OP_MUL:
        fd_taylor_mul(a.d, a.m, a.c, a.c + n, b.c, b.c + n, out.c, out.c + n)
    else:
        fd_taylor_div(a.d, a.m, a.c, a.c + n, b.c, b.c + n, out.c, out.c + n)
    return out


cdef object _arith_real(int op, Taylor a, other, bint reflected):
    """a (op) c, or c (op) a when reflected, for a real scalar or array c."""
    cdef double cval
    cdef Py_ssize_t cs = 0
    cdef const double *c = &cval
    arr = None
    if type(other) is float or type(other) is int:
        cval = other
    else:
        a, arr, cs_obj = _real_operand(a, other)
        cs = cs_obj
        c = <const double *> cnp.PyArray_DATA(arr)
    cdef Taylor out = _like(a)
    cdef Py_ssize_t n = (a.d + 1) * a.m
    cdef double stack[STACK]
    cdef double *work
    if op == OP_ADD:
        fd_taylor_add_real(a.d, a.m, a.c, a.c + n, c, cs, 1.0, out.c, out.c + n)
    elif op == OP_SUB:
        fd_taylor_add_real(a.d, a.m, a.c, a.c + n, c, cs, -1.0, out.c, out.c + n)
        if not reflected:   # u - c = -(c - u): flip every coefficient
            fd_taylor_mul_real(a.d, a.m, out.c, out.c + n, &_MINUS_ONE, 0, out.c, out.c + n)
    elif op == OP_MUL:
        fd_taylor_mul_real(a.d, a.m, a.c, a.c + n, c, cs, out.c, out.c + n)
    elif op == OP_DIV:
        if reflected:
            fd_taylor_rdiv_real(a.d, a.m, a.c, a.c + n, c, cs, out.c, out.c + n)
        else:
            fd_taylor_div_real(a.d, a.m, a.c, a.c + n, c, cs, out.c, out.c + n)
    else:
        work = _scratch(stack, 2, a)
        try:
            if reflected:
                fd_taylor_rpow_real(a.d, a.m, a.c, a.c + n, c, cs, out.c, out.c + n, work)
            else:
                fd_taylor_pow_real(a.d, a.m, a.c, a.c + n, c, cs, out.c, out.c + n, work)
        finally:
            if work != &stack[0]:
                _release(work)
    return out


cdef double _MINUS_ONE = -1.0


cdef double *_scratch(double *stack, int nwork, Taylor a) except NULL:
    cdef Py_ssize_t n = 2 * (a.d + 1) * a.m * nwork
    cdef double *p
    if n <= STACK:
        return stack
    p = _alloc(n)
    if p == NULL:
        raise MemoryError()
    return p


# ---------------------------------------------------------------------------------------------
# Rules of the table
# ---------------------------------------------------------------------------------------------

cdef Taylor _unary(int rule, Taylor a):
    cdef Taylor out = _like(a)
    cdef Py_ssize_t n = (a.d + 1) * a.m
    cdef double stack[STACK]
    cdef double *work = stack
    if 2 * n * fd_taylor_work(rule) > STACK:
        work = _scratch(stack, fd_taylor_work(rule), a)
    fd_taylor_unary(rule, a.d, a.m, a.c, a.c + n, out.c, out.c + n, work)
    if work != &stack[0]:
        _release(work)
    return out


cdef Taylor _binary2(int rule, Taylor a, Taylor b):
    cdef Taylor out = _like(a)
    cdef Py_ssize_t n = (a.d + 1) * a.m
    cdef double stack[STACK]
    cdef double *work = _scratch(stack, fd_taylor_work(rule), a)
    fd_taylor_binary(rule, a.d, a.m, a.c, a.c + n, b.c, b.c + n, out.c, out.c + n, work)
    if work != &stack[0]:
        _release(work)
    return out


cdef object _rule(int rule, tuple inputs):
    cdef Taylor a, b
    if fd_dual_rule_arity[rule] == 1:
        if len(inputs) == 1 and type(inputs[0]) is Taylor:
            return _unary(rule, <Taylor> inputs[0])
        if len(inputs) != 1:
            raise TypeError(f"{RULE_NAMES[rule]} takes 1 argument; got {len(inputs)}")
        x = inputs[0]
        if type(x) is not Taylor:
            raise _mixing_error(x)
        return _unary(rule, <Taylor> x)
    if len(inputs) != 2:
        raise TypeError(f"{RULE_NAMES[rule]} takes 2 arguments; got {len(inputs)}")
    x, y = inputs
    if type(x) is Taylor and type(y) is Taylor:
        a, b = _pair(<Taylor> x, <Taylor> y)
    elif type(x) is Taylor:
        if rule == _POW:
            return _arith_real(OP_POW, <Taylor> x, y, False)
        a = <Taylor> x
        a, b = _pair(a, _constant(a, y))
    elif type(y) is Taylor:
        if rule == _POW:
            return _arith_real(OP_POW, <Taylor> y, x, True)
        b = <Taylor> y
        a, b = _pair(_constant(b, x), b)
    else:
        raise _mixing_error(x)
    return _binary2(rule, a, b)


cdef dict _UFUNC_ARITH = {
    "add": operator.add, "subtract": operator.sub, "multiply": operator.mul,
    "divide": operator.truediv, "true_divide": operator.truediv, "power": operator.pow,
    "negative": operator.neg, "positive": operator.pos,
    "less": operator.lt, "less_equal": operator.le, "equal": operator.eq,
    "not_equal": operator.ne, "greater": operator.gt, "greater_equal": operator.ge,
}

_COMPARE = {0: operator.lt, 1: operator.le, 2: operator.eq, 3: operator.ne,
            4: operator.gt, 5: operator.ge}


cdef object _ufunc(str name, tuple inputs):
    fn = _UFUNC_ARITH.get(name)
    if fn is not None:
        if name in ("less", "less_equal", "equal", "not_equal", "greater", "greater_equal"):
            return fn(*[(<Taylor> v).value if type(v) is Taylor else v for v in inputs])
        if all(type(v) is not Taylor for v in inputs[1:]) or type(inputs[0]) is Taylor:
            return fn(*inputs)
        # reflected with a non-Taylor left operand (e.g. ndarray + Taylor)
        if len(inputs) == 2:
            op = {"add": OP_ADD, "subtract": OP_SUB, "multiply": OP_MUL, "divide": OP_DIV,
                  "true_divide": OP_DIV, "power": OP_POW}[name]
            return _arith(op, <Taylor> inputs[1], inputs[0], True)
        return fn(*inputs)
    rule = _RULE_INDEX.get(name)
    if rule is None:
        raise TypeError(
            f"NumPy function {name!r} is not supported on fastdiff Taylor numbers (it has no "
            "rule in the table csrc/dual_rules.def); supported ufuncs: "
            f"{', '.join(sorted(_RULE_INDEX))} and the arithmetic and comparison operators.")
    return _rule(rule, inputs)
