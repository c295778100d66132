"""fastdiff.Result: a frozen dataclass with slots, built in compiled code on the scalar paths
(fastdiff._kernels._result.pxd, issues 8 and 10). Whichever way it is built, it is the same
object: fields, equality, hash, repr, copies, weak references, and pickles byte for byte as
before the slots (a pickle of an earlier fastdiff loads, and one made here loads there)."""

from __future__ import annotations

import copy
import dataclasses
import math
import pickle
import weakref

import numpy as np
import pytest

import fastdiff as fd
from fastdiff import math as fm
from fastdiff._kernels import _dual, _finite_diff
from fastdiff._result import make_result

FIELDS = ("df", "error", "success", "status", "nfev", "step", "method")
VALUES = (1.5, 2.0**-52, True, 0, 3, 0.25, "central")
EPS = float(np.finfo(np.float64).eps)

# Result(*VALUES) pickled by fastdiff before Result had slots (main at c09a06a), protocols
# 0, 2 and 5: the state is the instance dict of the seven fields.
OLD_PICKLES = {
    0: b"ccopy_reg\n_reconstructor\np0\n(cfastdiff._result\nResult\np1\nc__builtin__\nobject\n"
    b"p2\nNtp3\nRp4\n(dp5\nVdf\np6\nF1.5\nsVerror\np7\nF2.220446049250313e-16\nsVsuccess\n"
    b"p8\nI01\nsVstatus\np9\nI0\nsVnfev\np10\nI3\nsVstep\np11\nF0.25\nsVmethod\np12\n"
    b"Vcentral\np13\nsb.",
    2: b"\x80\x02cfastdiff._result\nResult\nq\x00)\x81q\x01}q\x02(X\x02\x00\x00\x00dfq\x03G?"
    b"\xf8\x00\x00\x00\x00\x00\x00X\x05\x00\x00\x00errorq\x04G<\xb0\x00\x00\x00\x00\x00\x00"
    b"X\x07\x00\x00\x00successq\x05\x88X\x06\x00\x00\x00statusq\x06K\x00X\x04\x00\x00\x00"
    b"nfevq\x07K\x03X\x04\x00\x00\x00stepq\x08G?\xd0\x00\x00\x00\x00\x00\x00X\x06\x00\x00"
    b"\x00methodq\tX\x07\x00\x00\x00centralq\nub.",
    5: b"\x80\x05\x95\x88\x00\x00\x00\x00\x00\x00\x00\x8c\x10fastdiff._result\x94\x8c\x06"
    b"Result\x94\x93\x94)\x81\x94}\x94(\x8c\x02df\x94G?\xf8\x00\x00\x00\x00\x00\x00\x8c\x05"
    b"error\x94G<\xb0\x00\x00\x00\x00\x00\x00\x8c\x07success\x94\x88\x8c\x06status\x94K\x00"
    b"\x8c\x04nfev\x94K\x03\x8c\x04step\x94G?\xd0\x00\x00\x00\x00\x00\x00\x8c\x06method\x94"
    b"\x8c\x07central\x94ub.",
}


def values(r):
    return tuple(getattr(r, k) for k in FIELDS)


def compiled_results():
    """A Result from each compiled constructor, with what its fields must be."""
    dual = fd.derivative(lambda x: fm.sin(x) * x, 0.5, method="dual")
    exact = math.cos(0.5) * 0.5 + math.sin(0.5)
    fdiff = fd.derivative(math.exp, 1.0)
    return [
        (dual, dict(df=exact, method="dual", nfev=1, step=0.0, status=0, success=True)),
        (fdiff, dict(method="central", status=0, success=True)),
        (make_result(*VALUES), dict(zip(FIELDS, VALUES, strict=True))),
    ]


def test_make_result_is_the_dataclass():
    r, ref = make_result(*VALUES), fd.Result(*VALUES)
    assert type(r) is fd.Result and values(r) == VALUES
    assert r == ref and hash(r) == hash(ref) and repr(r) == repr(ref)
    assert [f.name for f in dataclasses.fields(r)] == list(FIELDS)
    assert dataclasses.asdict(r) == dict(zip(FIELDS, VALUES, strict=True))
    assert values(dataclasses.replace(r, df=2.0)) == (2.0, *VALUES[1:])


@pytest.mark.parametrize("case", range(3))
def test_compiled_results_are_whole_frozen_results(case):
    r, expected = compiled_results()[case]
    assert type(r) is fd.Result
    for k, v in expected.items():  # df of the dual case: a few roundings (sin, cos, *, +)
        same = getattr(r, k) == (pytest.approx(v, rel=4 * EPS) if type(v) is float else v)
        assert same and type(getattr(r, k)) is type(v), k
    assert type(r.error) is float and type(r.nfev) is int and type(r.status) is int
    assert r == fd.Result(*values(r))
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.df = 0.0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del r.error  # type: ignore[misc]
    assert weakref.ref(r)() is r
    assert copy.copy(r) == r and copy.deepcopy(r) == r
    assert pickle.loads(pickle.dumps(r)) == r


@pytest.mark.parametrize("protocol", sorted(OLD_PICKLES))
def test_pickles_are_the_bytes_of_before_and_old_ones_load(protocol):
    r = make_result(*VALUES)
    assert pickle.dumps(r, protocol=protocol) == OLD_PICKLES[protocol]
    old = pickle.loads(OLD_PICKLES[protocol])
    assert type(old) is fd.Result and values(old) == VALUES


def test_array_fields_survive_the_compiled_constructor():
    df = np.arange(3.0)
    r = make_result(df, np.zeros(3), np.ones(3, bool), np.zeros(3, int), 9, np.ones(3), "x")
    assert r.df is df  # the same objects, not copies
    back = pickle.loads(pickle.dumps(r))
    assert np.array_equal(back.df, df) and back.method == "x"


def test_the_layout_check_refuses_other_classes_and_keeps_the_bound_one():
    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        df: float

    class Inherited(fd.Result):  # Result's slots, but not its own
        __slots__ = ()

    for cls in (NoSlots, Inherited, int, 3):
        with pytest.raises(TypeError):
            _dual.bind_result(cls)
        with pytest.raises(TypeError):
            _finite_diff.scalar_policy(cls, None, None, None)
    # a refused class leaves the bound Result in place (else slots would be written at
    # another class's offsets)
    assert type(make_result(*VALUES)) is fd.Result and values(make_result(*VALUES)) == VALUES
    r = fd.derivative(math.exp, 1.0)
    assert type(r) is fd.Result and r.method == "central"


def _scalar_calls():
    """The two compiled scalar paths whose Result may be refilled (atomic_result), each as a
    function of x with its exact derivative."""
    return [
        (
            lambda x: fd.derivative(lambda t: fm.sin(t) * t, x, method="dual"),
            lambda x: math.cos(x) * x + math.sin(x),
        ),
        (lambda x: fd.derivative(math.exp, x), math.exp),
    ]


def assert_bounded(r, exact):
    """r trusted, and within its bar of the oracle (plus 4 eps for the oracle's own
    roundings: cos, *, sin, +)."""
    assert r.success and abs(r.df - exact) <= r.error + 4 * EPS * abs(exact)


@pytest.mark.parametrize("case", range(2), ids=["dual", "central"])
def test_a_result_someone_holds_is_never_refilled(case):
    call, exact = _scalar_calls()[case]
    xs = np.linspace(-1.0, 1.0, 9)
    kept, seen = [], []
    for i, x in enumerate(xs):
        r = call(float(x))
        if i % 3 == 0:  # keep some results; drop the rest, whose objects may be refilled
            kept.append(r)
            seen.append(values(r))
        else:
            call(float(x) + 0.5)  # a refill of the dropped-and-cached Result, if any
    for r, v, x in zip(kept, seen, xs[::3], strict=True):
        assert values(r) == v
        assert_bounded(r, exact(float(x)))


@pytest.mark.parametrize("case", range(2), ids=["dual", "central"])
def test_a_weakly_held_result_is_not_refilled(case):
    call, _ = _scalar_calls()[case]
    r = call(0.25)
    ref = weakref.ref(r)
    v = values(r)
    del r  # the last strong reference may be the cache's, but the weak one sees the object
    call(0.75)
    alive = ref()
    assert alive is None or values(alive) == v


@pytest.mark.parametrize("case", range(2), ids=["dual", "central"])
def test_a_refilled_result_is_a_whole_new_result(case):
    call, exact = _scalar_calls()[case]
    for x in (0.1, 0.2, 0.3):  # each dropped before the next call: refills, where allowed
        r = call(x)
        assert type(r) is fd.Result
        assert_bounded(r, exact(x))
        assert r == fd.Result(*values(r)) and hash(r) == hash(fd.Result(*values(r)))
        assert pickle.loads(pickle.dumps(r)) == r
