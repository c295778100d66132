# fastdiff.Result built from compiled code (the scalar verbs' Result, and _result.make_result).
#
# Result is a frozen dataclass with __slots__: its seven fields are member descriptors of
# T_OBJECT_EX type, each a PyObject * at a fixed offset in the instance.  result_layout reads
# those offsets off the descriptors once (and refuses any other layout); new_result then
# allocates an instance through the type's own tp_alloc and stores the seven references, the
# same stores the descriptors' __set__ would make, without seven attribute look-ups.  It
# never runs Python code between the allocation and the last store.
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF, Py_XDECREF

cdef extern from "Python.h":
    ctypedef struct fd_pytype "PyTypeObject":
        object (*tp_alloc)(fd_pytype *, Py_ssize_t)
        Py_ssize_t tp_basicsize
        Py_ssize_t tp_weaklistoffset
    ctypedef struct fd_pymemberdef "PyMemberDef":
        int type
        Py_ssize_t offset
        int flags
    ctypedef struct fd_pymemberdescr "PyMemberDescrObject":
        fd_pymemberdef *d_member
    fd_pytype PyMemberDescr_Type
    Py_ssize_t Py_REFCNT(PyObject *)
    void PyObject_GC_UnTrack(PyObject *)

cdef extern from *:
    """
    #ifdef Py_GIL_DISABLED
    #define FD_GIL_DISABLED 1
    #else
    #define FD_GIL_DISABLED 0
    #endif
    """
    int FD_GIL_DISABLED

cdef enum:
    _T_OBJECT_EX = 16  # structmember.h's T_OBJECT_EX (Py_T_OBJECT_EX since 3.12): an object
    _READONLY = 1      # reference, AttributeError while NULL; READONLY (Py_READONLY)
    N_RESULT_FIELDS = 7

cdef struct ResultLayout:
    fd_pytype *type
    Py_ssize_t offset[N_RESULT_FIELDS]  # df, error, success, status, nfev, step, method


cdef inline int result_layout(ResultLayout *layout, object cls) except -1:
    """Fill `layout` from the class `cls` (fastdiff.Result); TypeError, with `layout` left
    as it was, unless each field is a writable object slot of cls itself. The caller keeps a
    reference to cls."""
    cdef fd_pymemberdescr *d
    cdef ResultLayout found
    cdef int i
    cdef fd_pytype *t = <fd_pytype *> <PyObject *> cls
    if not isinstance(cls, type):
        raise TypeError(f"a class is needed, not {cls!r}")
    names = ("df", "error", "success", "status", "nfev", "step", "method")
    for i in range(N_RESULT_FIELDS):
        descr = cls.__dict__.get(names[i])
        kind = type(descr)
        if <PyObject *> kind != <PyObject *> &PyMemberDescr_Type:
            raise TypeError(f"{cls!r}.{names[i]} is not a slot")
        d = <fd_pymemberdescr *> <PyObject *> descr
        if (descr.__objclass__ is not cls or d.d_member.type != _T_OBJECT_EX
                or d.d_member.flags & _READONLY or d.d_member.offset < <Py_ssize_t> sizeof(PyObject)
                or d.d_member.offset + <Py_ssize_t> sizeof(PyObject *) > t.tp_basicsize):
            raise TypeError(f"{cls!r}.{names[i]} is not a writable object slot of its own")
        found.offset[i] = d.d_member.offset
    found.type = t
    layout[0] = found
    return 0


cdef inline void _put(object r, Py_ssize_t offset, object value) noexcept:
    """Store value in r's slot at offset, releasing what the slot held (NULL when new)."""
    cdef PyObject **slot = <PyObject **> (<char *> <PyObject *> r + offset)
    cdef PyObject *old = slot[0]
    Py_INCREF(value)
    slot[0] = <PyObject *> value
    Py_XDECREF(old)


cdef inline void _fill(const ResultLayout *layout, object r, object df, object error,
                       object success, object status, object nfev, object step,
                       object method) noexcept:
    _put(r, layout.offset[0], df)
    _put(r, layout.offset[1], error)
    _put(r, layout.offset[2], success)
    _put(r, layout.offset[3], status)
    _put(r, layout.offset[4], nfev)
    _put(r, layout.offset[5], step)
    _put(r, layout.offset[6], method)


cdef inline object new_result(const ResultLayout *layout, object df, object error,
                              object success, object status, object nfev, object step,
                              object method):
    """Result(df, error, success, status, nfev, step, method) for the class of `layout`."""
    r = layout.type.tp_alloc(layout.type, 0)  # zeroed (every slot NULL), GC-tracked
    _fill(layout, r, df, error, success, status, nfev, step, method)
    return r


cdef inline object atomic_result(const ResultLayout *layout, PyObject **cache, object df,
                                 double error, bint success, object status, Py_ssize_t nfev,
                                 double step, object method):
    """Result(df, error, success, status, nfev, step, method) for a float or complex df, an
    int status and a str method: fields that refer to nothing else, so the Result can take
    part in no reference cycle and is untracked by the garbage collector (as CPython untracks
    a tuple of such atoms). The one held in `*cache` is refilled in place when nothing else
    refers to it (its reference count is 1 and it has no weak reference), as CPython's zip
    and enumerate refill their result tuple (Objects/enumobject.c): no allocation and no
    deallocation. A free-threaded build, whose reference counts are not exact, always
    allocates."""
    cdef object r
    cdef PyObject *c = cache[0]
    if (not FD_GIL_DISABLED and c != NULL and Py_REFCNT(c) == 1
            and (layout.type.tp_weaklistoffset == 0
                 or (<PyObject **> (<char *> c + layout.type.tp_weaklistoffset))[0] == NULL)):
        r = <object> c
        _fill(layout, r, df, error, success, status, nfev, step, method)
        return r
    r = new_result(layout, df, error, success, status, nfev, step, method)
    PyObject_GC_UnTrack(<PyObject *> r)
    if not FD_GIL_DISABLED:
        Py_INCREF(r)
        cache[0] = <PyObject *> r
        Py_XDECREF(c)
    return r
