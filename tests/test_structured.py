"""Structured parameters: dict, list and tuple x for gradient (and check_gradient)."""

from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np
import pytest

import fastdiff as fd

EPS = np.finfo(np.float64).eps
Params = namedtuple("Params", ["W", "b"])

W0 = np.array([[0.5, -1.0, 0.25], [1.5, 0.3, -0.7]])
B0 = np.array([0.1, -0.2])


def loss_of(W, b):
    return np.sum(np.sin(W @ np.array([1.0, 2.0, -1.0]) + b) ** 2) + np.sum(W**3) * b[0]


def exact_of(W, b):
    v = np.array([1.0, 2.0, -1.0])
    z = W @ v + b
    dz = 2 * np.sin(z) * np.cos(z)
    dW = np.outer(dz, v) + 3 * W**2 * b[0]
    db = dz.copy()
    db[0] += np.sum(W**3)
    return dW, db


STRUCTURES = {
    "dict": ({"W": W0, "b": B0}, lambda p: (p["W"], p["b"]), lambda W, b: {"W": W, "b": b}),
    "list": ([W0, B0], lambda p: (p[0], p[1]), lambda W, b: [W, b]),
    "tuple": ((W0, B0), lambda p: (p[0], p[1]), lambda W, b: (W, b)),
    "namedtuple": (Params(W0, B0), lambda p: (p.W, p.b), lambda W, b: Params(W, b)),
    "OrderedDict": (
        OrderedDict(b=B0, W=W0),
        lambda p: (p["W"], p["b"]),
        lambda W, b: OrderedDict(b=b, W=W),
    ),
    "nested": ({"layer": [W0, {"bias": B0}]}, lambda p: (p["layer"][0], p["layer"][1]["bias"]),
               lambda W, b: {"layer": [W, {"bias": b}]}),
}  # fmt: skip


def same_structure(a, b):
    if isinstance(b, dict):
        return type(a) is type(b) and list(a) == list(b) and all(
            same_structure(a[k], b[k]) for k in b)  # fmt: skip
    if isinstance(b, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(
            same_structure(u, v) for u, v in zip(a, b, strict=True))  # fmt: skip
    return np.shape(a) == np.shape(b)


@pytest.mark.parametrize("kind", list(STRUCTURES))
@pytest.mark.parametrize("method", ["central", "forward", "backward", "complex", "dual"])
def test_structured_x_round_trips_in_every_result_field(kind, method):
    x, get, make = STRUCTURES[kind]
    seen = []

    def f(p):
        seen.append(p)
        return loss_of(*get(p))

    res = fd.gradient(f, x, method=method)
    assert all(same_structure(p, x) for p in seen)  # f gets the structure it was given
    for field in ("df", "error", "success", "status", "step"):
        assert same_structure(getattr(res, field), x), field
    dW, db = exact_of(W0, B0)
    exact = make(dW, db)
    flat_df = np.concatenate([np.ravel(v) for v in get(res.df)])
    flat_ex = np.concatenate([np.ravel(v) for v in get(exact)])
    flat_err = np.concatenate([np.ravel(v) for v in get(res.error)])
    assert np.all(np.concatenate([np.ravel(v) for v in get(res.success)]))
    assert np.all(np.abs(flat_df - flat_ex) <= flat_err + 8 * EPS * np.abs(flat_ex))
    flat = fd.gradient(lambda v: loss_of(v[:6].reshape(2, 3), v[6:]),
                       np.concatenate([W0.ravel(), B0]), method=method)  # fmt: skip
    if kind not in ("OrderedDict",):  # the same computation, the same numbers
        assert np.array_equal(flat_df, flat.df)
    assert res.nfev == flat.nfev and res.method == method


def test_f_gets_views_of_one_point_and_x_is_untouched():
    x = {"W": W0.copy(), "b": B0.copy()}
    bases = []

    def f(p):
        bases.append(p["W"].base is not None and p["W"].base is p["b"].base)
        return loss_of(p["W"], p["b"])

    fd.gradient(f, x)
    assert all(bases)  # views of one flat point: no copy per leaf and evaluation
    assert np.array_equal(x["W"], W0) and np.array_equal(x["b"], B0)


def test_vectorized_structured_f_gets_the_batch_axis_last():
    shapes = []

    def f(p):
        shapes.append((p["W"].shape, p["b"].shape))
        W, b = p["W"], p["b"]
        z = np.einsum("ijk,j->ik", W, np.array([1.0, 2.0, -1.0])) + b
        return np.sum(np.sin(z) ** 2, axis=0) + np.sum(W**3, axis=(0, 1)) * b[0]

    res = fd.gradient(f, {"W": W0, "b": B0}, vectorized=True)
    k = {s[0][-1] for s in shapes}
    assert all(s[0][:2] == (2, 3) and s[1][:1] == (2,) and s[0][2] == s[1][1] for s in shapes)
    assert len(k) >= 1
    dW, db = exact_of(W0, B0)
    assert np.all(np.abs(res.df["W"] - dW) <= res.error["W"] + 8 * EPS * np.abs(dW))
    assert np.all(np.abs(res.df["b"] - db) <= res.error["b"] + 8 * EPS * np.abs(db))


def test_scalar_leaves_come_back_as_scalars():
    res = fd.gradient(lambda p: p["a"] ** 2 * p["v"][1], {"a": 1.5, "v": np.array([1.0, 2.0])})
    assert np.ndim(res.df["a"]) == 0 and abs(res.df["a"] - 6.0) <= res.error["a"]
    assert res.df["v"].shape == (2,)


def test_step_and_bounds_in_the_structure_or_broadcast():
    f = lambda p: np.sum(np.log(p["w"])) + p["c"] ** 2  # noqa: E731
    x = {"w": np.array([1e-3, 2.0]), "c": 1.0}
    res = fd.gradient(f, x, bounds=({"w": 0.0, "c": -10.0}, np.inf))
    assert np.all(res.success["w"]) and res.success["c"]
    assert np.allclose(res.df["w"], 1 / x["w"]) and np.isclose(res.df["c"], 2.0)
    fixed = fd.gradient(f, x, step={"w": [1e-5, 1e-3], "c": 1e-3})
    # the steps reported are the spacings f saw, (x + h) - x: h to within ulp(x) / h
    assert np.allclose(fixed.step["w"], [1e-5, 1e-3], rtol=1e-12)
    assert np.isclose(fixed.step["c"], 1e-3, rtol=1e-12)
    assert np.allclose(fd.gradient(f, x, step=1e-6).step["w"], 1e-6, rtol=1e-9)


def test_lists_of_numbers_stay_array_like():
    res = fd.gradient(lambda v: v[0] * v[1], [3.0, 5.0])
    assert isinstance(res.df, np.ndarray) and res.df.shape == (2,)
    res = fd.gradient(lambda v: np.sum(v**2), [[1.0, 2.0], [3.0, 4.0]])
    assert res.df.shape == (2, 2)


def test_structured_errors_name_the_parameter():
    f = lambda p: np.sum(p["w"])  # noqa: E731
    with pytest.raises(ValueError, match=r"^`step` must be"):
        fd.gradient(f, {"w": np.ones(2)}, step={"w": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match=r"^`x` must be finite"):
        fd.gradient(f, {"w": np.array([1.0, np.nan])})
    with pytest.raises(ValueError, match=r"^`x` must be a structure holding at least one array"):
        fd.gradient(f, {})
    with pytest.raises(TypeError, match=r"^`f` must be callable"):
        fd.gradient(3, {"w": np.ones(2)})


def test_exceptions_of_f_propagate_unchanged():
    err = KeyError("missing")

    def f(p):
        raise err

    with pytest.raises(KeyError) as info:
        fd.gradient(f, {"w": np.ones(2)})
    assert info.value is err
