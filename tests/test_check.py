"""check_gradient / check_jacobian: wrong entries flagged exactly where wrong, correct never.

The oracle is a hand-written backprop checked against method="dual" (exact to rounding), and
each bug's effect is computed exactly, so "where wrong" is known entry by entry.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastdiff as fd
import mlp

EPS = np.finfo(np.float64).eps


class Dense:
    """loss = mean((W2 tanh(W1 X + b1) + b2 - y)^2) with a square W1 (so W1.T has its shape)."""

    def __init__(self, seed: int, n: int = 5, batch: int = 12) -> None:
        rng = np.random.default_rng(seed)
        self.X = rng.normal(size=(n, batch))
        self.y = rng.normal(size=(1, batch))
        self.p = {
            "W1": rng.normal(scale=0.7, size=(n, n)),
            "b1": rng.normal(scale=0.5, size=(n, 1)),
            "W2": rng.normal(size=(1, n)),
            "b2": rng.normal(size=(1, 1)),
        }

    def loss(self, p):
        h = np.tanh(p["W1"] @ self.X + p["b1"])
        r = p["W2"] @ h + p["b2"] - self.y
        return np.sum(r * r) / r.size

    def backprop(self, p, *, factor=2.0, bias_in_forward=True, bias_grad=True):
        pre = p["W1"] @ self.X + (p["b1"] if bias_in_forward else 0.0)
        h = np.tanh(pre)
        r = p["W2"] @ h + p["b2"] - self.y
        dr = factor * r / r.size
        dz = (p["W2"].T @ dr) * (1 - h * h)
        return {
            "W1": dz @ self.X.T,
            "b1": dz.sum(axis=1, keepdims=True) if bias_grad else np.zeros_like(p["b1"]),
            "W2": dr @ h.T,
            "b2": dr.sum(axis=1, keepdims=True),
        }


def flat(d):
    return np.concatenate([np.ravel(v) for v in d.values()])


def where_wrong(bug, exact):
    """(wrong, right) masks from the exact effect of a bug; no entry may sit in between."""
    b, e = flat(bug), flat(exact)
    scale = np.abs(e).max()
    diff = np.abs(b - e)
    wrong = diff > 1e-8 * scale  # 10^4 times any bar seen here (~1e-12 relative)
    right = diff <= 64 * EPS * (np.abs(e) + scale)
    assert np.all(wrong | right), "test case has an entry neither clearly wrong nor right"
    return wrong


@pytest.fixture(params=[0, 1, 2])
def model(request):
    return Dense(request.param)


def test_backprop_oracle_agrees_with_dual_numbers(model):
    exact = model.backprop(model.p)
    dual = fd.gradient(lambda v: model.loss(unflat(v, model.p)), flat(model.p), method="dual")
    assert np.allclose(dual.df, flat(exact), rtol=1e-12, atol=1e-14)


def unflat(v, like):
    out, i = {}, 0
    for k, a in like.items():
        out[k] = v[i : i + a.size].reshape(a.shape)
        i += a.size
    return out


def test_correct_gradient_is_not_flagged(model):
    chk = fd.check_gradient(model.loss, model.backprop, model.p)
    assert chk.ok and not flat(chk.mismatch).any()
    assert set(chk.mismatch) == set(model.p)
    assert all(chk.mismatch[k].shape == model.p[k].shape for k in model.p)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from(["central", "forward", "complex"]))
def test_correct_gradient_is_never_flagged_over_many_seeds(seed, method):
    m = Dense(seed, n=3, batch=6)
    chk = fd.check_gradient(m.loss, m.backprop, m.p, method=method)
    assert chk.ok, repr(chk)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_correct_mlp_backprop_is_never_flagged(seed):
    theta, X, y = mlp.make_problem(seed % 1000, batch=8)
    chk = fd.check_gradient(mlp.loss, mlp.backprop, theta, args=(X, y))
    assert chk.ok, repr(chk)


def test_one_entry_off_by_1e4_relative_is_flagged_exactly_there(rng):
    theta, X, y = mlp.make_problem(int(rng.integers(1000)), batch=16)
    g = mlp.backprop(theta, X, y)
    big = np.flatnonzero(np.abs(g) > 1e-6 * np.abs(g).max())
    for i in rng.choice(big, size=5, replace=False):
        wrong = g.copy()
        wrong[i] *= 1 + 1e-4
        chk = fd.check_gradient(mlp.loss, wrong, theta, args=(X, y))
        assert not chk.ok
        assert np.flatnonzero(chk.mismatch).tolist() == [i]
        assert chk.bar[i] < 1e-4 * abs(g[i])  # the bar is far below the error it caught


def test_one_entry_of_a_weight_matrix_off(model):
    wrong = model.backprop(model.p)
    wrong["W1"][1, 3] *= 1 + 1e-4
    chk = fd.check_gradient(model.loss, wrong, model.p)
    assert np.argwhere(chk.mismatch["W1"]).tolist() == [[1, 3]]
    assert not any(chk.mismatch[k].any() for k in ("b1", "W2", "b2"))


@pytest.mark.parametrize(
    "bug",
    ["flipped sign", "transposed", "missing factor 2", "bias forgotten", "bias gradient dropped"],
)
def test_bugs_are_flagged_exactly_where_wrong(model, bug):
    exact = model.backprop(model.p)
    if bug == "flipped sign":
        wrong = dict(exact, W2=-exact["W2"])
    elif bug == "transposed":
        wrong = dict(exact, W1=exact["W1"].T.copy())
    elif bug == "missing factor 2":
        wrong = model.backprop(model.p, factor=1.0)
    elif bug == "bias forgotten":
        wrong = model.backprop(model.p, bias_in_forward=False)
    else:
        wrong = model.backprop(model.p, bias_grad=False)
    expected = where_wrong(wrong, exact)
    assert expected.any()
    chk = fd.check_gradient(model.loss, wrong, model.p)
    assert np.array_equal(flat(chk.mismatch), expected), repr(chk)
    assert chk.ok == (not expected.any())
    if bug == "transposed":  # the diagonal of a transposed matrix is right
        assert not np.diag(chk.mismatch["W1"]).any()


def test_wrong_shape_raises_and_names_grad():
    f = lambda W: np.sum(W**2)  # noqa: E731
    W = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"^`grad` must be an array of x's shape \(2, 3\)"):
        fd.check_gradient(f, (2 * W).T, W)
    with pytest.raises(ValueError, match=r"^`grad` must be an array of x's shape"):
        fd.check_gradient(f, (2 * W).ravel(), W)
    with pytest.raises(ValueError, match=r"^`grad` must be a dict with the keys of x"):
        fd.check_gradient(lambda p: np.sum(p["a"] ** 2), {"b": 1.0}, {"a": np.ones(2)})
    with pytest.raises(ValueError, match=r"^`grad` must be shaped like xa"):
        fd.check_gradient(lambda p: np.sum(p["a"] ** 2), {"a": np.ones(3)}, {"a": np.ones(2)})
    with pytest.raises(ValueError, match=r"^`jac` must be an array of shape F \+ S = \(3, 2\)"):
        fd.check_jacobian(lambda v: np.array([v[0], v[1], v[0]]), np.zeros((2, 3)), [1.0, 2.0])
    with pytest.raises(TypeError, match=r"^`grad` must be an array of numbers"):
        fd.check_gradient(f, "nope", W)


def test_nan_in_the_user_gradient_is_a_mismatch():
    g = np.array([2.0, np.nan])
    chk = fd.check_gradient(lambda v: np.sum(v**2), g, [1.0, 1.0])
    assert chk.mismatch.tolist() == [False, True]


def test_untrusted_reference_is_unchecked_never_flagged():
    # |x| at its kink: no trusted derivative, so nothing can be said about the entry
    chk = fd.check_gradient(lambda v: abs(v[0]) + v[1] ** 2, [0.3, 2.0], [0.0, 1.0])
    assert chk.unchecked.tolist() == [True, False]
    assert chk.mismatch.tolist() == [False, False] and chk.ok
    assert "1 unchecked" in repr(chk)


def test_repr_names_the_worst_entries_with_both_values_and_the_bar(model):
    exact = model.backprop(model.p)
    wrong = dict(exact, b2=exact["b2"] * 1.5)
    wrong["W1"] = exact["W1"].copy()
    wrong["W1"][0, 2] += 1e-3
    chk = fd.check_gradient(model.loss, wrong, model.p)
    text = repr(chk)
    lines = text.splitlines()
    assert lines[0] == f"GradientCheck(ok=False: 2 of {flat(exact).size} entries disagree)"
    assert lines[2].lstrip().startswith("b2[0, 0]") and lines[3].lstrip().startswith("W1[0, 2]")
    num = chk.numerical.df["W1"][0, 2]
    assert f"{wrong['W1'][0, 2]: .12e}" in lines[3] and f"{num: .12e}" in lines[3]
    assert f"> {chk.bar['W1'][0, 2]:.2e}" in lines[3]


def test_float32_gradient_gets_a_float32_floor():
    x = np.array([0.3, -1.2, 2.5])
    f = lambda v: np.sum(np.sin(v) * v)  # noqa: E731
    g32 = (np.cos(x) * x + np.sin(x)).astype(np.float32)
    assert fd.check_gradient(f, g32, x).ok  # rounded to float32, still correct


def test_check_jacobian_flags_exactly_the_wrong_entries():
    A = np.array([[1.0, -2.0, 0.5], [0.3, 0.0, 4.0]])
    f = lambda v: np.sin(A @ v)  # noqa: E731
    jac = lambda v: np.cos(A @ v)[:, None] * A  # noqa: E731
    x = np.array([0.2, -0.1, 0.4])
    assert fd.check_jacobian(f, jac, x).ok
    wrong = jac(x)
    wrong[1, 2] *= 1 + 1e-4
    chk = fd.check_jacobian(f, wrong, x)
    assert chk.mismatch.shape == (2, 3) and np.argwhere(chk.mismatch).tolist() == [[1, 2]]


def test_dual_reference_sees_much_smaller_errors(model):
    # method="dual" is exact to rounding: its bar is near the floor, so 1e-9 relative shows
    wrong = model.backprop(model.p)
    wrong["W1"][0, 0] *= 1 + 1e-9
    chk = fd.check_gradient(model.loss, wrong, model.p, method="dual")
    assert np.argwhere(chk.mismatch["W1"]).tolist() == [[0, 0]]
    assert fd.check_gradient(model.loss, model.backprop, model.p, method="dual").ok
