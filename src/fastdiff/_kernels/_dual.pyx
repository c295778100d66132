# The crossing for dual numbers: the Dual type over the C struct fd_dual, and dispatch to the
# rule table of csrc/dual_rules.def.  All arithmetic on float partials happens in csrc/dual.c.
#
# Representation.  A Dual with float partials keeps them in an fd_dual (inline storage for up
# to INLINE partials, heap beyond).  Nested differentiation needs Duals whose value and
# partials are themselves Duals of an older (lower) tag: those use the generic "object mode"
# (ovalue, opartials), with arithmetic written in Python terms so it recurses to any depth.
# Tags order perturbations: where tags differ, the higher (newer) tag is the outer one and the
# operand with the lower tag is a constant with respect to it.
#
# Tags and threads.  Each differentiation call draws its tag from one atomic counter in C
# (fd_dual_new_tag), so tags are unique across threads and a nested call, which starts later in
# the same thread, always has the larger tag.  The call owns a small _Tag object; every Dual of
# that call holds a reference to it, and closing the call clears its `live` flag, so a Dual that
# escaped its call raises when used (in any thread) with an O(1) check and no shared list.  No
# other state is shared: nesting depth needs no bookkeeping (Python's recursion limit bounds it).
# The int-based interface (open_tag/close_tag/check_tag, seed/make/seed_one/extract) finds a
# call's _Tag in a small table, for code such as DualArray that seeds its own values.
cimport cython
from cpython.float cimport PyFloat_Check
from cpython.ref cimport PyObject, Py_DECREF, Py_INCREF
from cpython.mem cimport PyMem_Free, PyMem_Malloc

import numbers
import operator

import numpy as np

cimport numpy as cnp
from libc.string cimport memcpy
from libc.math cimport fabs, isfinite, INFINITY

cnp.import_array()

from fastdiff._kernels._finite_diff cimport scalar_derivative
from fastdiff._kernels._result cimport ResultLayout, atomic_result, new_result, result_layout
from fastdiff._kernels.fastdiff cimport (
    FD_N_ALIASES, FD_N_RULES, fd_dual, fd_dual_add, fd_dual_alias_names, fd_dual_alias_rules,
    fd_dual_apply1, fd_dual_apply2, fd_dual_binary, fd_dual_div, fd_dual_div_real,
    fd_dual_mul, fd_dual_mul_real, fd_dual_add_real, fd_dual_new_tag, fd_dual_pow, fd_dual_pow_real,
    fd_dual_rdiv_real, fd_dual_rpow_real, fd_dual_rsub_real, fd_dual_rule_arity,
    fd_dual_rule_domain, fd_dual_rule_eval1, fd_dual_rule_eval2, fd_dual_rule_names,
    fd_dual_rule_notes, fd_dual_sub, fd_dual_unary,
)

cdef enum:
    INLINE = 4          # partials stored inside the object, no allocation

RULE_NAMES = tuple(fd_dual_rule_names[i].decode() for i in range(FD_N_RULES))
RULE_ARITY = {RULE_NAMES[i]: fd_dual_rule_arity[i] for i in range(FD_N_RULES)}
RULE_NOTES = {RULE_NAMES[i]: fd_dual_rule_notes[i].decode() for i in range(FD_N_RULES)}
RULE_DOMAINS = {RULE_NAMES[i]: tuple(fd_dual_rule_domain[i][k] for k in range(4))
                for i in range(FD_N_RULES)}
ALIASES = {fd_dual_alias_names[i].decode(): RULE_NAMES[fd_dual_alias_rules[i]]
           for i in range(FD_N_ALIASES)}
cdef dict _RULE_INDEX = {name: i for i, name in enumerate(RULE_NAMES)}
_RULE_INDEX.update({alias: _RULE_INDEX[name] for alias, name in ALIASES.items()})
_RULE_INDEX["fabs"] = _RULE_INDEX["absolute"]
cdef int _ABS = _RULE_INDEX["absolute"]
cdef int _POW = _RULE_INDEX["power"]
cdef int _LOG = _RULE_INDEX["log"]

_LOSS_MESSAGE = (
    "cannot convert a fastdiff.Dual to {}: that would silently drop its derivative. Use "
    "fastdiff.math functions (fastdiff.math.sin, ...) or NumPy ufuncs (np.sin, ...) instead of "
    "the `math` module, and keep Duals out of float arrays (use dtype=object)."
)

# ---------------------------------------------------------------------------------------------
# Tags
# ---------------------------------------------------------------------------------------------

@cython.freelist(64)
@cython.final
@cython.no_gc
cdef class _Tag:
    """The owner of one differentiation call's perturbations: its tag and whether it runs."""
    cdef readonly unsigned long long id
    cdef bint live


# The running calls, for the int-based interface: call `t` sits in slot t % N_SLOTS (a strong
# reference), or in _OVERFLOW when an older call still holds that slot (a call outliving 4095
# newer ones).  A plain C table because a dict insert and pop cost as much as the rest of a
# scalar derivative.  Reads and writes happen with the GIL held and without calling Python
# code in between; on a free-threaded build the critical sections serialise them instead.
cdef enum:
    N_SLOTS = 4096
cdef PyObject *_SLOTS[N_SLOTS]
cdef dict _OVERFLOW = {}


cdef inline _Tag _open():
    cdef _Tag t = _Tag.__new__(_Tag)
    cdef Py_ssize_t i
    t.id = fd_dual_new_tag()
    t.live = True
    i = t.id & (N_SLOTS - 1)
    with cython.critical_section(_OVERFLOW):
        if _SLOTS[i] == NULL:
            Py_INCREF(t)
            _SLOTS[i] = <PyObject *> t
        else:
            _OVERFLOW[t.id] = t
    return t


cdef inline void _close(_Tag t):
    cdef Py_ssize_t i = t.id & (N_SLOTS - 1)
    t.live = False
    with cython.critical_section(_OVERFLOW):
        if _SLOTS[i] == <PyObject *> t:
            _SLOTS[i] = NULL
            Py_DECREF(t)
        else:
            _OVERFLOW.pop(t.id, None)


cdef _Tag _lookup(unsigned long long tag):
    """The running call of `tag` (None for 0, user-made Duals); raises if it has returned."""
    cdef PyObject *p
    if tag == 0:
        return None
    with cython.critical_section(_OVERFLOW):
        p = _SLOTS[tag & (N_SLOTS - 1)]
        if p != NULL and (<_Tag> p).id == tag:
            return <_Tag> p
        t = _OVERFLOW.get(tag)
    if t is None:
        _raise_escaped(tag)
    return <_Tag> t


def open_tag():
    """Start a differentiation call: draw a fresh tag, newer than every earlier one, and mark
    it live.  Thread-safe; pair every call with `close_tag` (try/finally)."""
    return _open().id


def close_tag(unsigned long long t):
    """End the call of tag `t`: Duals carrying it can no longer be used (in any thread)."""
    try:
        tok = _lookup(t)
    except RuntimeError:
        return
    if tok is not None:
        _close(tok)


def is_live(unsigned long long t):
    """True for 0 (user-made Duals) and for the tag of a running call."""
    try:
        _lookup(t)
    except RuntimeError:
        return False
    return True


cdef int _raise_escaped(unsigned long long t) except -1:
    raise RuntimeError(
        f"a Dual with tag {t} was used after the differentiation call that created it had "
        "returned (a perturbation escaped, e.g. through a global, a closure or a cache); "
        "compute with the Duals only inside the function being differentiated.")


cdef inline int _check_owner(_Tag o) except -1:
    if o is not None and not o.live:
        return _raise_escaped(o.id)
    return 0


cdef inline int _check_live(Dual a) except -1:
    if a.owner is not None and not a.owner.live:
        return _raise_escaped(a.d.tag)
    return 0


def check_tag(unsigned long long t):
    """Raise RuntimeError unless tag `t` is 0 (user-made Duals) or live."""
    _lookup(t)


# ---------------------------------------------------------------------------------------------
# The type
# ---------------------------------------------------------------------------------------------

# Partials beyond INLINE live in a _Heap the Dual owns, so that Dual itself needs no
# __dealloc__: Cython wraps a __dealloc__ in a save and restore of the exception state, which
# cost ~10% of every scalar operation (most Duals have one partial).
@cython.final
@cython.no_gc
@cython.auto_pickle(False)
cdef class _Heap:
    cdef double *p

    def __dealloc__(self):
        PyMem_Free(self.p)


# Not tracked by the garbage collector: a Dual is immutable and refers only to objects that
# existed before it (older Duals, floats, its _Tag), so Duals cannot form reference cycles.
@cython.freelist(512)
@cython.final
@cython.no_gc
cdef class Dual:
    """A dual number ``value + partials . e`` for forward-mode differentiation.

    Parameters
    ----------
    value : float
        The primal value.
    partials : float or 1-D array_like of float, default: 1.0
        The perturbation (tangent) components; one evaluation of scalar code on Duals with
        ``k`` partials gives ``k`` directional derivatives at once.

    Attributes
    ----------
    value : float
        The primal value (a Dual of an older tag inside a nested differentiation).
    partials : ndarray
        1-D float64 array of the partials (dtype object inside a nested differentiation).
    tag : int
        The differentiation call owning this perturbation (0 for Duals you make yourself).

    Notes
    -----
    Arithmetic ``+ - * / **``, unary ``-``, ``abs`` and comparisons (on values) work with ints,
    floats and Duals; elementary functions are in :mod:`fastdiff.math` and NumPy ufuncs
    (``np.sin(d)``) work too, on Duals and on object arrays of Duals. ``float(d)``, ``int(d)``,
    ``math.sin(d)`` and storing a Dual in a float array raise `TypeError`, so a derivative is
    never dropped silently.

    Examples
    --------
    >>> import fastdiff as fd
    >>> x = fd.Dual(0.5)
    >>> y = x * x + 3.0 * x
    >>> y
    Dual(1.75, [4.0])
    >>> y.value, float(y.partials[0])
    (1.75, 4.0)
    >>> fd.math.sin(fd.Dual(0.0, [1.0, 2.0]))
    Dual(0.0, [1.0, 2.0])
    """

    cdef fd_dual d
    cdef double buf[INLINE]
    cdef object ovalue      # None with float partials; else the value (float or older Dual)
    cdef tuple opartials    # object mode only: the partials (floats or older Duals)
    cdef _Tag owner         # the call owning the perturbation (None for tag 0)
    cdef _Heap heap         # the partials beyond INLINE (None when they fit in buf)

    def __init__(self, value, partials=1.0):
        cdef Py_ssize_t n, k
        if not _is_real(value):
            raise TypeError(f"`value` must be a real number; got {value!r}.")
        if type(partials) is float or type(partials) is int:     # the common seed, no NumPy
            _alloc(self, 1)
            self.d.partials[0] = partials
        else:
            p = np.asarray(partials, dtype=np.float64)
            if p.ndim > 1:
                raise ValueError(
                    f"`partials` must be a float or a 1-D array; got shape {p.shape}.")
            p = np.ascontiguousarray(p.reshape(-1))
            n = p.shape[0]
            _alloc(self, n)
            if n:
                memcpy(self.d.partials, cnp.PyArray_DATA(p), n * sizeof(double))
        self.d.value = value
        self.d.tag = 0

    @property
    def value(self):
        return self.d.value if self.ovalue is None else self.ovalue

    @property
    def partials(self):
        cdef cnp.npy_intp n = self.d.npartials
        if self.ovalue is not None:
            out = np.empty(len(self.opartials), dtype=object)
            out[:] = self.opartials
            return out
        arr = cnp.PyArray_SimpleNew(1, &n, cnp.NPY_DOUBLE)
        if n:
            memcpy(cnp.PyArray_DATA(arr), self.d.partials, n * sizeof(double))
        return arr

    def partial(self, Py_ssize_t i=0):
        """Partial ``i`` as a float (``partials[i]`` without building an array).

        ForwardDiff's ``partials(d, i)``: the derivative of a one-partial Dual is
        ``d.partial()``.

        Examples
        --------
        >>> import fastdiff as fd
        >>> (fd.Dual(3.0) ** 2).partial()
        6.0
        """
        if self.ovalue is not None:
            return self.opartials[i]
        if i < 0 or i >= self.d.npartials:
            raise IndexError(f"`i` must be in [0, {self.d.npartials}); got {i}.")
        return self.d.partials[i]

    @property
    def tag(self):
        return self.d.tag

    @property
    def npartials(self):
        return self.d.npartials

    def __repr__(self):
        value, partials = _parts(self)
        tag = f", tag={self.d.tag}" if self.d.tag else ""
        return f"Dual({value!r}, [{', '.join(repr(p) for p in partials)}]{tag})"

    # Loss of the derivative is an error --------------------------------------------------
    def __float__(self):
        raise TypeError(_LOSS_MESSAGE.format("float"))

    def __int__(self):
        raise TypeError(_LOSS_MESSAGE.format("int"))

    def __index__(self):
        raise TypeError(_LOSS_MESSAGE.format("an integer index"))

    def __complex__(self):
        raise TypeError(_LOSS_MESSAGE.format("complex"))

    def __bool__(self):
        return bool(_primal(self) != 0.0)

    def __hash__(self):
        return hash(_primal(self))

    def __reduce__(self):
        raise TypeError("fastdiff.Dual cannot be pickled: its tag belongs to one process")

    # Comparisons act on values ----------------------------------------------------------
    def __richcmp__(self, other, int op):
        if isinstance(other, Dual):
            b = _primal(other)
        elif _is_real(other):
            b = other
        else:
            return NotImplemented
        a = _primal(self)
        if op == 0:
            return a < b
        if op == 1:
            return a <= b
        if op == 2:
            return a == b
        if op == 3:
            return a != b
        if op == 4:
            return a > b
        return a >= b

    # Arithmetic -------------------------------------------------------------------------
    def __neg__(self):
        return _mul_real(self, -1.0)

    def __pos__(self):
        return self

    def __abs__(self):
        return _unary(_ABS, self)

    def __add__(self, other):
        return _arith(OP_ADD, self, other)

    def __radd__(self, other):
        return _arith(OP_ADD, other, self)

    def __sub__(self, other):
        return _arith(OP_SUB, self, other)

    def __rsub__(self, other):
        return _arith(OP_SUB, other, self)

    def __mul__(self, other):
        return _arith(OP_MUL, self, other)

    def __rmul__(self, other):
        return _arith(OP_MUL, other, self)

    def __truediv__(self, other):
        return _arith(OP_DIV, self, other)

    def __rtruediv__(self, other):
        return _arith(OP_DIV, other, self)

    def __pow__(self, other, mod):
        if mod is not None:
            return NotImplemented
        return _arith(OP_POW, self, other)

    def __rpow__(self, other, mod):
        if mod is not None:
            return NotImplemented
        return _arith(OP_POW, other, self)

    # NumPy -------------------------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs:
            raise TypeError(
                f"fastdiff.Dual supports NumPy ufuncs called plainly, elementwise; got "
                f"np.{ufunc.__name__}.{method} with {sorted(kwargs)}.")
        name = ufunc.__name__
        if len(inputs) == 1 and inputs[0] is self:               # np.sin(d): straight to C
            rule = _RULE_INDEX.get(name)
            if rule is not None:
                return _unary(rule, self)
        # NumPy scalars as Python numbers, or operator.mul(np.float64, Dual) would recurse.
        inputs = [float(a) if isinstance(a, np.generic) and _is_real(a) else a for a in inputs]
        if not any(isinstance(a, np.ndarray) for a in inputs):
            return _ufunc_scalar(name, inputs)
        arrays = np.broadcast_arrays(*[_as_object_array(a) for a in inputs])
        out = np.empty(arrays[0].shape, dtype=object)
        flat = out.reshape(-1)
        flats = [a.reshape(-1) for a in arrays]
        cdef Py_ssize_t k
        for k in range(flat.shape[0]):
            flat[k] = _ufunc_scalar(name, [a[k] for a in flats])
        return out

    def __getattr__(self, name):
        # NumPy's object-dtype loops call x.sin(), x.arctan2(y), ...: serve them from the table.
        rule = _RULE_INDEX.get(name)
        if rule is None:
            raise AttributeError(f"'fastdiff.Dual' object has no attribute {name!r}")
        return _BoundRule(rule, self)


@cython.final
cdef class _BoundRule:
    cdef int rule
    cdef object x

    def __init__(self, int rule, x):
        self.rule = rule
        self.x = x

    def __call__(self, *args):
        if fd_dual_rule_arity[self.rule] == 1:
            return _unary(self.rule, self.x)
        return _binary(self.rule, self.x, args[0])


# ---------------------------------------------------------------------------------------------
# Construction and inspection
# ---------------------------------------------------------------------------------------------

cdef enum:
    OP_ADD = 0
    OP_SUB = 1
    OP_MUL = 2
    OP_DIV = 3
    OP_POW = 4


cdef inline int _alloc(Dual r, Py_ssize_t n) except -1:
    cdef _Heap h
    if n <= INLINE:
        r.d.partials = &r.buf[0]
    else:
        h = _Heap.__new__(_Heap)
        h.p = <double *> PyMem_Malloc(n * sizeof(double))
        if h.p == NULL:
            raise MemoryError()
        r.heap = h
        r.d.partials = h.p
    r.d.npartials = n
    return 0


cdef inline Dual _new(Py_ssize_t n, _Tag owner):
    cdef Dual r = Dual.__new__(Dual)
    _alloc(r, n)
    r.owner = owner
    r.d.tag = 0 if owner is None else owner.id
    return r


cdef inline _Tag _owner_of(x):
    return (<Dual> x).owner if isinstance(x, Dual) else None


cdef inline bint _is_real(x):
    return (type(x) is float or type(x) is int
            or (isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))))


cdef object _primal(x):
    while isinstance(x, Dual):
        x = (<Dual> x).d.value if (<Dual> x).ovalue is None else (<Dual> x).ovalue
    return x


cdef long long _tag_of(x):
    return <long long> (<Dual> x).d.tag if isinstance(x, Dual) else -1


cdef tuple _parts(Dual x):
    """(value, partials) as Python objects, whatever the representation."""
    if x.ovalue is not None:
        return x.ovalue, x.opartials
    return x.d.value, tuple([x.d.partials[k] for k in range(x.d.npartials)])


cdef object _make(_Tag tag, value, partials):
    """A Dual from Python objects: float partials when everything is a float, else nested."""
    cdef Py_ssize_t n = len(partials), k
    cdef Dual r
    if isinstance(value, Dual) or any(isinstance(p, Dual) for p in partials):
        r = _new(n, tag)
        r.ovalue = value
        r.opartials = tuple(partials)
        return r
    r = _new(n, tag)
    r.d.value = value
    for k in range(n):
        r.d.partials[k] = partials[k]
    return r


def make(value, partials, unsigned long long tag):
    """A Dual with the given tag whose value and partials may be older Duals (nesting)."""
    return _make(_lookup(tag), value, list(partials))


def seed(const double[::1] x, const double[:, ::1] partials, unsigned long long tag):
    """Duals x[i] + partials[i] . e with float partials, for the differentiation verbs."""
    cdef Py_ssize_t m = x.shape[0], n = partials.shape[1], i, k
    cdef Dual r
    cdef _Tag owner = _lookup(tag)
    out = [None] * m
    for i in range(m):
        r = _new(n, owner)
        r.d.value = x[i]
        for k in range(n):
            r.d.partials[k] = partials[i, k]
        out[i] = r
    return out


def seed_one(x, unsigned long long tag):
    """x + 1 e with tag `tag`: one partial; x a float or (nested calls) an older Dual."""
    cdef Dual r
    cdef _Tag owner = _lookup(tag)
    if type(x) is float:
        r = _new(1, owner)
        r.d.value = x
        r.d.partials[0] = 1.0
        return r
    return _make(owner, x, [1.0])


def extract(y, unsigned long long tag, Py_ssize_t n):
    """(value, partials) of an output of f with respect to `tag`.

    A real or a Dual of an older tag is a constant: zero partials.  A Dual of a newer tag
    escaped its own call and raises.  Partials are a float64 array, or an object array
    inside a nested differentiation.
    """
    cdef Dual d
    if isinstance(y, Dual):
        d = <Dual> y
        if d.d.tag > tag:
            _raise_escaped(d.d.tag)
        if d.d.tag == tag:
            if d.d.npartials != n:
                raise ValueError(
                    f"f returned a Dual with {d.d.npartials} partials; expected {n}")
            return (d.value, d.partials)
        return y, np.zeros(n)
    if _is_real(y):
        return float(y), np.zeros(n)
    raise TypeError(
        f"`f` must return real numbers or Duals when called with Duals; got {type(y).__name__} "
        f"{y!r}.")


# ---------------------------------------------------------------------------------------------
# derivative(f, x, method="dual") for one float x, at the cost of the arithmetic
# ---------------------------------------------------------------------------------------------

cdef object _Result = None          # fastdiff.Result (laid out in _layout), and the policy
cdef ResultLayout _layout           # of fastdiff._forward:
cdef double _rel_error = 0.0        # error = _rel_error * |df| where df is finite,
cdef object _converged = None       # status _converged there, else error inf and
cdef object _not_finite = None      # status _not_finite
cdef object _floating = np.floating


def bind_result(result_type):
    """Make fastdiff.Result (`result_type`, a slotted class, see _result.pxd) the type this
    module builds, and return `make_result`, its compiled constructor."""
    global _Result
    result_layout(&_layout, result_type)
    _Result = result_type
    return make_result


@cython.binding(False)  # a plain builtin function: the cheapest call from Python
def make_result(df, error, success, status, nfev, step, method):
    """``Result(df, error, success, status, nfev, step, method)`` without its __init__."""
    if _Result is None:
        raise RuntimeError("make_result before bind_result")
    return new_result(&_layout, df, error, success, status, nfev, step, method)


def result_policy(result_type, double rel_error, converged, not_finite):
    """Set the Result type and the error/status rule that `derivative_float` applies
    (fastdiff._forward calls this once, so the policy stays written in Python)."""
    global _rel_error, _converged, _not_finite
    bind_result(result_type)
    _rel_error, _converged, _not_finite = rel_error, converged, not_finite


cdef object _output_scalar(y):
    """f's output as a scalar: a 0-d array gives its element; other arrays raise."""
    if isinstance(y, cnp.ndarray):
        if y.shape != ():
            raise ValueError(
                f"`f` must return a scalar here; got an array of shape {y.shape} (use jacobian).")
        return y[()]
    return y


cdef object _partial1(y, _Tag tag):
    """The derivative carried by an output of f, for a call with one partial (as extract)."""
    cdef Dual d
    if type(y) is Dual:
        d = <Dual> y
        if d.owner is tag:
            if d.d.npartials != 1:
                raise ValueError(f"f returned a Dual with {d.d.npartials} partials; expected 1")
            return d.d.partials[0] if d.ovalue is None else d.opartials[0]
        if d.d.tag > tag.id:
            _raise_escaped(d.d.tag)
        return 0.0
    if _is_real(y):
        return 0.0
    raise TypeError(
        f"`f` must return real numbers or Duals when called with Duals; got {type(y).__name__} "
        f"{y!r}.")


cdef PyObject *_last_result = NULL  # atomic_result's cache: the last float Result made here


cdef object _scalar_result(df, Py_ssize_t nfev):
    """The Result of one exact derivative df (a float, or a Dual inside a nested call)."""
    cdef double mag = fabs(df) if type(df) is float else fabs(<double> _primal(df))
    cdef bint finite = mag < INFINITY
    cdef double error = _rel_error * mag if finite else INFINITY
    status = _converged if finite else _not_finite
    if type(df) is float:
        return atomic_result(&_layout, &_last_result, df, error, finite, status, nfev, 0.0, "dual")
    return new_result(&_layout, df, error, finite, status, nfev, 0.0, "dual")


cdef inline object _call(f, x, tuple args, kwargs):
    if kwargs:
        return f(x, *args, **kwargs)
    if args:
        return f(x, *args)
    return f(x)


cdef inline object _seed1(x, _Tag tag):
    """x + 1 e: one partial; x a float or (nested calls) an older Dual."""
    cdef Dual d
    if PyFloat_Check(x):
        d = _new(1, tag)
        d.d.value = x
        d.d.partials[0] = 1.0
        return d
    return _make(tag, x, [1.0])


cdef object _derivative1(f, x, tuple args, kwargs, _Tag tag):
    """df/dx at one point under `tag`: a float, or a Dual of an older tag (nesting)."""
    df = _partial1(_output_scalar(_call(f, _seed1(x, tag), args, kwargs)), tag)
    if type(df) is not float and isinstance(df, _floating):
        df = float(df)
    return df


cdef object _dual_float(f, x, tuple args, kwargs):
    """The Result of df/dx at a float x: one evaluation of f on Dual(x, 1) under a new tag.

    _derivative1's computation, with its common case (f returns a Dual of this call with
    float partials) read straight off the struct.
    """
    cdef _Tag tag = _open()
    cdef Dual d
    try:
        d = _new(1, tag)
        d.d.value = x
        d.d.partials[0] = 1.0
        y = _call(f, d, args, kwargs)
        if (type(y) is Dual and (<Dual> y).owner is tag and (<Dual> y).ovalue is None
                and (<Dual> y).d.npartials == 1):
            df = (<Dual> y).d.partials[0]
        else:
            df = _partial1(_output_scalar(y), tag)
            if type(df) is not float and isinstance(df, _floating):
                df = float(df)
    finally:
        _close(tag)
    return _scalar_result(df, 1)


cdef object _general_derivative = None  # fastdiff._derivative._derivative: the other calls
cdef object _taylor_derivative = None   # fastdiff._taylor.taylor_derivative: n >= 2
cdef object _reword = None              # fastdiff._evaluate.reword: its ValueKindError
cdef object _value_kind_error = None    # _finite_diff.ValueKindError


def bind_derivative(general, taylor, value_kind_error, reword):
    """Make `derivative` hand every call it does not serve itself to
    ``general(f, x, n, method, order, step, rtol, atol, bounds, vectorized, args, kwargs,
    noise, workers, progress)`` (fastdiff._derivative's implementation), the default-option
    float calls with n >= 2 to ``taylor(f, x, n, args, kwargs)`` (where the general path
    sends them after its checks), a float x with a finite-difference method to
    _finite_diff's compiled scalar path (derivative_float, the general path's first step,
    called here in C before any Python frame; its `value_kind_error` becomes
    ``reword(exc, "vectorized=False")``, as there), and return it."""
    global _general_derivative, _taylor_derivative, _reword, _value_kind_error
    _general_derivative = general
    _taylor_derivative = taylor
    _value_kind_error = value_kind_error
    _reword = reword
    return derivative


def derivative(f, x, *, n=1, method="central", order=None, step=None, rtol=None, atol=None,
               bounds=None, vectorized=False, args=(), kwargs=None, noise=None, workers=None,
               progress=False):
    """fastdiff.derivative as called from Python (see fastdiff._derivative).

    Serves ``derivative(f, x, method="dual")`` for a finite float x with default options
    itself, as derivative_float does, and hands the same call with an int n >= 2 straight to
    Taylor mode; a float x with a finite-difference method goes first to the compiled
    ladder's scalar path, as in the general path; passes every other call on, unchanged, to the implementation set by
    bind_derivative.
    """
    if (type(x) is float and type(method) is str and <str> method == "dual"
            and isfinite(<double> x) and type(n) is int and n >= 1
            and order is None and step is None and bounds is None and noise is None
            and workers is None and progress is False
            and (vectorized is True or vectorized is False)
            and type(args) is tuple and (kwargs is None or type(kwargs) is dict)
            and callable(f)):
        if n == 1:
            return _dual_float(f, x, <tuple> args, kwargs)
        return _taylor_derivative(f, x, n, args, kwargs)
    if (type(x) is float and type(method) is str and <str> method != "dual" and workers is None
            and progress is False):
        try:  # None: not a case it serves, and nothing evaluated
            res = scalar_derivative(f, x, n, method, order, step, rtol, atol, bounds,
                                    vectorized, args, kwargs, noise)
        except _value_kind_error as exc:
            raise _reword(exc, "vectorized=False") from None
        if res is not None:
            return res
    return _general_derivative(f, x, n, method, order, step, rtol, atol, bounds, vectorized,
                               args, kwargs, noise, workers, progress)


@cython.binding(False)  # a plain builtin function: the cheapest call from Python
def derivative_float(f, x, n, order, step, bounds, vectorized, args, kwargs, noise):
    """``derivative(f, x, method="dual")`` for a float x: one evaluation of f on
    ``Dual(x, 1)``, and its Result.

    Returns None, having evaluated nothing, unless x is a finite float, n is 1, order, step, bounds
    and noise are None, vectorized is a bool, args a tuple, kwargs None or a dict and f
    callable: every other case takes the validating path of fastdiff.derivative.
    """
    if not (PyFloat_Check(x) and isfinite(<double> x) and type(n) is int and n == 1
            and order is None and step is None
            and bounds is None and noise is None and (vectorized is True or vectorized is False)
            and type(args) is tuple and (kwargs is None or type(kwargs) is dict)
            and callable(f)):
        return None
    return _dual_float(f, x, <tuple> args, kwargs)


def derivative_point(f, x, tuple args, dict kwargs):
    """The Result of df/dx at one point x (a float, or an older Dual inside a nested call)."""
    cdef _Tag tag = _open()
    try:
        df = _derivative1(f, x, args, kwargs, tag)
    finally:
        _close(tag)
    return _scalar_result(df, 1)


def derivative_each(f, list points, tuple args, dict kwargs):
    """df/dx at each point, each by one evaluation of f, all under one tag: a float64 array,
    or an object array when some derivative is a Dual (nested calls)."""
    cdef Py_ssize_t m = len(points), i, k
    cdef cnp.npy_intp dim = m
    cdef _Tag tag = _open()
    cdef cnp.ndarray out = cnp.PyArray_SimpleNew(1, &dim, cnp.NPY_DOUBLE)
    cdef double *o = <double *> cnp.PyArray_DATA(out)
    cdef cnp.ndarray objs = None
    try:
        for i in range(m):
            df = _derivative1(f, points[i], args, kwargs, tag)
            if objs is None and type(df) is float:
                o[i] = df
                continue
            if objs is None:
                objs = np.empty(m, dtype=object)
                for k in range(i):
                    objs[k] = o[k]
            objs[i] = df
    finally:
        _close(tag)
    return out if objs is None else objs


# ---------------------------------------------------------------------------------------------
# Arithmetic: fast paths in C, the nested path in Python terms
# ---------------------------------------------------------------------------------------------

cdef int _check_sizes(Dual a, Dual b) except -1:
    if a.d.npartials != b.d.npartials:
        raise ValueError(
            f"Duals with different numbers of partials cannot be combined: {a.d.npartials} and "
            f"{b.d.npartials}.")
    return 0


cdef object _mul_real(Dual a, double c):
    cdef Dual r
    if a.ovalue is not None:
        return _nested_arith(OP_MUL, a, c)
    _check_live(a)
    r = _new(a.d.npartials, a.owner)
    fd_dual_mul_real(&a.d, c, &r.d)
    return r


cdef object _arith(int op, x, y):
    cdef Dual a, b, r
    cdef double c
    cdef bint xd = type(x) is Dual, yd = type(y) is Dual
    if xd and yd:
        a = <Dual> x
        b = <Dual> y
        if a.ovalue is not None or b.ovalue is not None or a.d.tag != b.d.tag:
            return _nested_arith(op, x, y)
        _check_live(a)
        _check_sizes(a, b)
        r = _new(a.d.npartials, a.owner)
        if op == OP_ADD:
            fd_dual_add(&a.d, &b.d, &r.d)
        elif op == OP_SUB:
            fd_dual_sub(&a.d, &b.d, &r.d)
        elif op == OP_MUL:
            fd_dual_mul(&a.d, &b.d, &r.d)
        elif op == OP_DIV:
            fd_dual_div(&a.d, &b.d, &r.d)
        else:
            fd_dual_pow(&a.d, &b.d, &r.d)
        return r
    if xd:
        if not _is_real(y):
            return NotImplemented
        a = <Dual> x
        if a.ovalue is not None:
            return _nested_arith(op, x, y)
        c = y
        _check_live(a)
        r = _new(a.d.npartials, a.owner)
        if op == OP_ADD:
            fd_dual_add_real(&a.d, c, &r.d)
        elif op == OP_SUB:
            fd_dual_add_real(&a.d, -c, &r.d)
        elif op == OP_MUL:
            fd_dual_mul_real(&a.d, c, &r.d)
        elif op == OP_DIV:
            fd_dual_div_real(&a.d, c, &r.d)
        else:
            fd_dual_pow_real(&a.d, c, &r.d)
        return r
    if not _is_real(x):
        return NotImplemented
    b = <Dual> y
    if b.ovalue is not None:
        return _nested_arith(op, x, y)
    c = x
    _check_live(b)
    r = _new(b.d.npartials, b.owner)
    if op == OP_ADD:
        fd_dual_add_real(&b.d, c, &r.d)
    elif op == OP_SUB:
        fd_dual_rsub_real(&b.d, c, &r.d)
    elif op == OP_MUL:
        fd_dual_mul_real(&b.d, c, &r.d)
    elif op == OP_DIV:
        fd_dual_rdiv_real(&b.d, c, &r.d)
    else:
        fd_dual_rpow_real(&b.d, c, &r.d)
    return r


cdef object _nested_arith(int op, x, y):
    """x op y where tags differ or partials are Duals: the rules written on Python objects."""
    cdef long long tx = _tag_of(x), ty = _tag_of(y)
    cdef _Tag t = _owner_of(x) if tx >= ty else _owner_of(y)
    _check_owner(_owner_of(x))
    _check_owner(_owner_of(y))
    if op == OP_POW:
        return _nested_pow(x, y, tx, ty)
    if tx == ty:
        xv, xp = _parts(<Dual> x)
        yv, yp = _parts(<Dual> y)
        if len(xp) != len(yp):
            _check_sizes(<Dual> x, <Dual> y)
        if op == OP_ADD:
            return _make(t, xv + yv, [a + b for a, b in zip(xp, yp)])
        if op == OP_SUB:
            return _make(t, xv - yv, [a - b for a, b in zip(xp, yp)])
        if op == OP_MUL:
            return _make(t, xv * yv, [a * yv + xv * b for a, b in zip(xp, yp)])
        q = xv / yv
        return _make(t, q, [(a - q * b) / yv for a, b in zip(xp, yp)])
    if tx > ty:                                     # y is a constant for tag t
        xv, xp = _parts(<Dual> x)
        if op == OP_ADD:
            return _make(t, xv + y, xp)
        if op == OP_SUB:
            return _make(t, xv - y, xp)
        if op == OP_MUL:
            return _make(t, xv * y, [a * y for a in xp])
        return _make(t, xv / y, [a / y for a in xp])
    yv, yp = _parts(<Dual> y)                       # x is a constant for tag t
    if op == OP_ADD:
        return _make(t, x + yv, yp)
    if op == OP_SUB:
        return _make(t, x - yv, [-b for b in yp])
    if op == OP_MUL:
        return _make(t, x * yv, [x * b for b in yp])
    q = x / yv
    return _make(t, q, [-(q * b) / yv for b in yp])


cdef object _nested_pow(x, y, long long tx, long long ty):
    cdef _Tag t = _owner_of(x) if tx >= ty else _owner_of(y)
    if tx == ty:
        return _nested_binary(_POW, x, y)
    if tx > ty:                                     # x**c: c x**(c-1), d/dx x**0 = 0
        xv, xp = _parts(<Dual> x)
        if _primal(y) == 0.0:
            coef = 0.0
        else:
            coef = y * xv ** (y - 1.0)
        return _make(t, xv ** y, [coef * a for a in xp])
    yv, yp = _parts(<Dual> y)                       # c**y: c**y log(c), d/dy 0**y = 0 for y > 0
    val = x ** yv
    if _primal(x) == 0.0 and _primal(yv) > 0.0:
        coef = 0.0
    else:
        coef = val * _unary(_LOG, x)
    return _make(t, val, [coef * b for b in yp])


# ---------------------------------------------------------------------------------------------
# Elementary functions from the table
# ---------------------------------------------------------------------------------------------

cdef object _unary(int rule, x):
    cdef Dual a, r
    cdef double out[3]
    if type(x) is Dual:
        a = <Dual> x
        if a.ovalue is not None:
            return _nested_unary(rule, a)
        _check_live(a)
        r = _new(a.d.npartials, a.owner)
        fd_dual_unary(rule, &a.d, &r.d)
        return r
    if type(x) is float:
        fd_dual_rule_eval1(rule, x, out)
        return out[0]
    # Other number types (DualArray, Taylor) apply the table's row themselves.
    hook = getattr(type(x), "__fastdiff_rule__", None)
    if hook is not None:
        return hook(x, rule, (x,))
    if isinstance(x, np.ndarray) or isinstance(x, (list, tuple)):
        return _unary_array(rule, np.asarray(x))
    if _is_real(x):
        fd_dual_rule_eval1(rule, float(x), out)
        return np.float64(out[0]) if isinstance(x, np.generic) else out[0]
    if isinstance(x, np.generic):
        return _unary_array(rule, np.asarray(x))
    raise TypeError(
        f"fastdiff.math.{RULE_NAMES[rule]} takes real numbers, Duals or arrays of them; got "
        f"{type(x).__name__}.")


cdef object _unary_array(int rule, arr):
    if arr.dtype == object:
        out = np.empty(arr.shape, dtype=object)
        flat = out.reshape(-1)
        for k, v in enumerate(arr.reshape(-1)):
            flat[k] = _unary(rule, v)
        return out
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"fastdiff.math.{RULE_NAMES[rule]} takes real arrays; got dtype {arr.dtype}.")
    src = np.asarray(arr, dtype=np.float64, order="C")  # (ascontiguousarray makes 0-d 1-d)
    res = np.empty(src.shape, dtype=np.float64)
    cdef const double[::1] xv = src.reshape(-1)
    cdef double[::1] ov = res.reshape(-1)
    if xv.shape[0]:
        with nogil:
            fd_dual_apply1(rule, xv.shape[0], 0, &xv[0], NULL, &ov[0], NULL)
    return res if res.ndim else res[()]


cdef object _nested_unary(int rule, Dual x):
    xv, xp = _parts(x)
    value = _unary(rule, xv)
    coef = _coef1(rule, xv)
    return _make(x.owner, value, [coef * p for p in xp])


cdef object _depth_error(int rule):
    return NotImplementedError(
        f"fastdiff.math.{RULE_NAMES[rule]}: the rule table gives derivatives up to second "
        "order, so this function nests through at most two levels of differentiation (for "
        "example hessian, or derivative of derivative); a third level was requested.")


cdef object _coef1(int rule, v):
    """f'(v) for v real or a Dual with float partials (then f'(v) uses f'')."""
    cdef double e[3]
    cdef Dual d
    if isinstance(v, Dual):
        d = <Dual> v
        if d.ovalue is not None:
            raise _depth_error(rule)
        fd_dual_rule_eval1(rule, d.d.value, e)
        return _make(d.owner, e[1], [e[2] * d.d.partials[k] for k in range(d.d.npartials)])
    fd_dual_rule_eval1(rule, v, e)
    return e[1]


cdef object _binary(int rule, x, y):
    cdef Dual a, b, r
    cdef double out[6]
    cdef bint xd = type(x) is Dual, yd = type(y) is Dual
    if xd and yd:
        a = <Dual> x
        b = <Dual> y
        if a.ovalue is not None or b.ovalue is not None or a.d.tag != b.d.tag:
            return _nested_binary(rule, x, y)
        _check_live(a)
        _check_sizes(a, b)
        r = _new(a.d.npartials, a.owner)
        fd_dual_binary(rule, &a.d, 0.0, &b.d, 0.0, &r.d)
        return r
    if xd and _is_real(y):
        a = <Dual> x
        if a.ovalue is not None:
            return _nested_binary(rule, x, y)
        _check_live(a)
        r = _new(a.d.npartials, a.owner)
        fd_dual_binary(rule, &a.d, 0.0, NULL, y, &r.d)
        return r
    if yd and _is_real(x):
        b = <Dual> y
        if b.ovalue is not None:
            return _nested_binary(rule, x, y)
        _check_live(b)
        r = _new(b.d.npartials, b.owner)
        fd_dual_binary(rule, NULL, x, &b.d, 0.0, &r.d)
        return r
    if type(x) is float and type(y) is float:
        fd_dual_rule_eval2(rule, x, y, out)
        return out[0]
    for v in (x, y):   # other number types (DualArray, Taylor) apply the row themselves
        hook = getattr(type(v), "__fastdiff_rule__", None)
        if hook is not None:
            return hook(v, rule, (x, y))
    if _is_real(x) and _is_real(y):
        fd_dual_rule_eval2(rule, float(x), float(y), out)
        generic = isinstance(x, np.generic) or isinstance(y, np.generic)
        return np.float64(out[0]) if generic else out[0]
    return _binary_array(rule, x, y)


cdef object _binary_array(int rule, x, y):
    try:
        ax, ay = np.broadcast_arrays(np.asarray(x), np.asarray(y))
    except ValueError:
        raise
    if ax.dtype == object or ay.dtype == object:
        out = np.empty(ax.shape, dtype=object)
        flat = out.reshape(-1)
        for k, (u, v) in enumerate(zip(ax.reshape(-1), ay.reshape(-1))):
            flat[k] = _binary(rule, u, v)
        return out
    if ax.dtype.kind not in "biuf" or ay.dtype.kind not in "biuf":
        raise TypeError(
            f"fastdiff.math.{RULE_NAMES[rule]} takes real numbers, Duals or arrays of them; "
            f"got {type(x).__name__} and {type(y).__name__}.")
    sx = np.ascontiguousarray(ax, dtype=np.float64).reshape(-1)
    sy = np.ascontiguousarray(ay, dtype=np.float64).reshape(-1)
    res = np.empty(ax.shape, dtype=np.float64)
    cdef const double[::1] xv = sx
    cdef const double[::1] yv = sy
    cdef double[::1] ov = res.reshape(-1)
    if xv.shape[0]:
        with nogil:
            fd_dual_apply2(rule, xv.shape[0], 0, &xv[0], NULL, &yv[0], NULL, &ov[0], NULL)
    return res if res.ndim else res[()]


cdef object _nested_binary(int rule, x, y):
    cdef long long tx = _tag_of(x), ty = _tag_of(y)
    cdef _Tag t = _owner_of(x) if tx >= ty else _owner_of(y)
    _check_owner(_owner_of(x))
    _check_owner(_owner_of(y))
    if tx == ty:
        xv, xp = _parts(<Dual> x)
        yv, yp = _parts(<Dual> y)
        if len(xp) != len(yp):
            _check_sizes(<Dual> x, <Dual> y)
        cx, cy = _coef2(rule, xv, yv)
        return _make(t, _binary(rule, xv, yv), [cx * a + cy * b for a, b in zip(xp, yp)])
    if tx > ty:
        xv, xp = _parts(<Dual> x)
        cx, _ = _coef2(rule, xv, y)
        return _make(t, _binary(rule, xv, y), [cx * a for a in xp])
    yv, yp = _parts(<Dual> y)
    _, cy = _coef2(rule, x, yv)
    return _make(t, _binary(rule, x, yv), [cy * b for b in yp])


cdef tuple _coef2(int rule, u, v):
    """(f_x, f_y) at (u, v), each real or a Dual with float partials (then via f_xx, ...)."""
    cdef double e[6]
    cdef long long tu = _tag_of(u), tv = _tag_of(v)
    cdef long long s = max(tu, tv)
    cdef _Tag so = _owner_of(u) if tu >= tv else _owner_of(v)
    if s < 0:
        fd_dual_rule_eval2(rule, u, v, e)
        return e[1], e[2]
    pu = pv = None
    if tu == s:
        u, pu = _parts(<Dual> u)
    if tv == s:
        v, pv = _parts(<Dual> v)
    if isinstance(u, Dual) or isinstance(v, Dual) or (pu is not None and pv is not None
                                                       and len(pu) != len(pv)):
        raise _depth_error(rule)
    if any(isinstance(p, Dual) for p in (pu or ())) or any(
            isinstance(p, Dual) for p in (pv or ())):
        raise _depth_error(rule)
    fd_dual_rule_eval2(rule, u, v, e)
    n = len(pu) if pu is not None else len(pv)
    zero = (0.0,) * n
    pu = pu if pu is not None else zero
    pv = pv if pv is not None else zero
    cx = _make(so, e[1], [e[3] * a + e[4] * b for a, b in zip(pu, pv)])
    cy = _make(so, e[2], [e[4] * a + e[5] * b for a, b in zip(pu, pv)])
    return cx, cy


# ---------------------------------------------------------------------------------------------
# Functions for fastdiff.math and NumPy's ufunc protocol
# ---------------------------------------------------------------------------------------------

def rule_function(str name, str doc):
    """The public function of one table row (or alias): floats, arrays and Duals."""
    cdef int rule = _RULE_INDEX[name]
    if fd_dual_rule_arity[rule] == 1:
        def f(x):
            return _unary(rule, x)
    else:
        def f(x, y):
            return _binary(rule, x, y)
    f.__name__ = name
    f.__qualname__ = name
    f.__module__ = "fastdiff.math"
    f.__doc__ = doc
    return f


cdef dict _UFUNC_ARITH = {
    "add": operator.add, "subtract": operator.sub, "multiply": operator.mul,
    "divide": operator.truediv, "true_divide": operator.truediv, "power": operator.pow,
    "negative": operator.neg, "positive": operator.pos,
    "less": operator.lt, "less_equal": operator.le, "equal": operator.eq,
    "not_equal": operator.ne, "greater": operator.gt, "greater_equal": operator.ge,
}


cdef object _ufunc_scalar(str name, inputs):
    fn = _UFUNC_ARITH.get(name)
    if fn is not None:
        return fn(*inputs)
    rule = _RULE_INDEX.get(name)
    if rule is None:
        raise TypeError(
            f"NumPy function {name!r} is not supported on fastdiff.Dual (it has no rule in the "
            f"table csrc/dual_rules.def); supported ufuncs: {', '.join(sorted(_RULE_INDEX))} "
            "and the arithmetic and comparison operators.")
    if len(inputs) == 1:
        return _unary(rule, inputs[0])
    return _binary(rule, inputs[0], inputs[1])


cdef object _as_object_array(a):
    if isinstance(a, np.ndarray):
        return a if a.dtype == object else a.astype(object)
    out = np.empty((), dtype=object)
    out[()] = a
    return out

