"""Inputs are never modified, and read-only or non-contiguous inputs work (bottleneck's
`input_modification_test`, shared/STYLE.md B8.1), over every verb and method.

One table: every array the caller hands over (x, v, the arrays inside args and kwargs, both
bounds, the step array) is given in each memory layout, then compared bitwise with a copy
taken before the call.  A read-only layout also proves that nothing writes to it (NumPy
raises on a write), and the result must equal the one for plain C-contiguous inputs bitwise.
"""

from __future__ import annotations

import numpy as np
import pytest

from verbs import FUNCTIONS, call_applicable, same, verb_methods

# read-only and strided at once: a write raises, and the strides are not C order; Fortran order
# for a transposed layout (the plain contiguous one is the reference)
LAYOUTS = ("readonly-strided", "fortran")


def layout(a: np.ndarray, how: str) -> np.ndarray:
    """The values of a, laid out as `how` says."""
    a = np.asarray(a, dtype=np.float64)
    if "strided" in how:  # every other element of a larger buffer
        big = np.full(tuple(2 * n for n in a.shape), -7.0)
        big[tuple(slice(None, None, 2) for _ in a.shape)] = a
        out = big[tuple(slice(None, None, 2) for _ in a.shape)]
        assert a.size <= 1 or not out.flags.c_contiguous
    elif how == "fortran":
        out = np.asfortranarray(a)
    else:
        out = a.copy()
    if "readonly" in how:
        out.flags.writeable = False
    return out


def inputs(verb: str, how: str, with_step: bool):
    """x, v, args, kwargs, bounds and (a fixed step or None) for one call, each array in
    layout `how`."""
    x0 = np.array([[0.3, -0.2, 0.7], [1.1, -0.9, 0.05]])
    x = layout(x0, how)
    a = layout(
        np.array([1.5]) if verb == "derivative" else np.linspace(0.5, 1.5, 6).reshape(2, 3), how
    )
    c = layout(np.array([0.25]), how)
    v = layout(np.linspace(-1.0, 1.0, 6).reshape(2, 3), how)
    lo, hi = layout(x0 - 1.0, how), layout(x0 + 2.0, how)
    step = layout(np.full(x0.shape, 1e-3) * np.arange(1, 7).reshape(2, 3), how)
    return {
        "x": x,
        "v": v,
        "args": (a,),
        "kwargs": {"c": c},
        "bounds": (lo, hi),
        "step": step if with_step else None,
    }


def arrays(inp) -> dict[str, np.ndarray]:
    """Every array of a set of inputs, by name."""
    out = {
        "x": inp["x"],
        "v": inp["v"],
        "args[0]": inp["args"][0],
        "kwargs['c']": inp["kwargs"]["c"],
        "bounds[0]": inp["bounds"][0],
        "bounds[1]": inp["bounds"][1],
    }
    if inp["step"] is not None:
        out["step"] = inp["step"]
    return out


def run(verb, method, inp, **extra):
    kw = {k: v for k, v in inp.items() if k != "x"}
    return call_applicable(verb, FUNCTIONS[verb], inp["x"], method, **kw, **extra)


@pytest.mark.parametrize("how", LAYOUTS)
@pytest.mark.parametrize("vectorized", [False, True], ids=["looped", "vectorized"])
@pytest.mark.parametrize(("verb", "method"), verb_methods(), ids=str)
def test_inputs_are_never_modified(verb, method, vectorized, how):
    for with_step in (False, True):  # adaptive and fixed step
        inp = inputs(verb, how, with_step)
        before = {k: (a.copy(), a.flags.writeable) for k, a in arrays(inp).items()}
        res, dropped = run(verb, method, inp, vectorized=vectorized)
        assert not {"args", "kwargs", "v"} & set(dropped)
        for name, a in arrays(inp).items():
            old, writeable = before[name]
            assert a.tobytes() == old.tobytes(), f"{verb}(method={method!r}) modified {name}"
            assert a.flags.writeable == writeable
        # the layout changes nothing in the result
        ref, _ = run(verb, method, inputs(verb, "contiguous", with_step), vectorized=vectorized)
        assert same(res, ref), (verb, method, how)
