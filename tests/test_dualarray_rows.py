"""DualArray's row-structured tangents (`_rows`): W @ B of a unit-seeded W keeps, for each
partial, the one row of the result it touches, and tanh, + -, A @ h use that structure.
Each result must be bitwise what the dense tangents give (the structure built and read at
once), and every operation that knows no structure must see the same dense numbers."""

from __future__ import annotations

import numpy as np
import pytest

import fastdiff as fd
from fastdiff import _dualarray as da
from fastdiff import _forward
from fastdiff._dualarray import DualArray
from fastdiff._kernels import _dual
from mlp import backprop, loss, make_problem

EPS = float(np.finfo(np.float64).eps)


def with_rows_dense(r, own, d, ax):
    """`_with_rows` with the structure built and read at once: every later operation runs
    on dense tangents (the code of before the structure)."""
    r._rows = (own, d, ax)
    r._t  # noqa: B018 (reading builds them)
    assert r._rows is None
    return r


@pytest.fixture
def dense(monkeypatch):
    monkeypatch.setattr(da, "_with_rows", with_rows_dense)


def unit_seeded(x, tag):
    """x as dual_jacobian seeds it: the whole chunk of unit seeds."""
    n = x.size
    X = DualArray._make(x.copy(), np.eye(n).reshape((n, *x.shape)), n, tag)
    X._eye = True
    X._unit = 0
    return X


@pytest.fixture
def tag():
    t = _dual.open_tag()
    yield t
    _dual.close_tag(t)


RNG = np.random.default_rng(7)
X = RNG.normal(size=(3, 5))
C = RNG.normal(size=(4, 5))
A = RNG.normal(size=(2, 4))
Z = np.zeros((3, 5))
AINF = A.copy()
AINF[0, 1] = np.inf


XB = RNG.normal(size=(5, 3))
C4 = RNG.normal(size=(4, 2))
C4INF = C4.copy()
C4INF[1, 0] = -np.inf
A2 = RNG.normal(size=(2, 5))
D = RNG.normal(size=(4, 3))
A54 = RNG.normal(size=(5, 4))
C64 = RNG.normal(size=(6, 4))


def W(x):
    return x[:12].reshape(4, 3)


def V(x):
    return x[:12].reshape(3, 4)


def b(x):
    return x[12:16].reshape(4, 1)


# f(x) of 24 parameters; each meets the structure in another way
CASES = {
    "tanh(W X + b)": lambda x: np.tanh(W(x) @ X + b(x)),
    "W X - b": lambda x: W(x) @ X - b(x),
    "b - W X": lambda x: b(x) - W(x) @ X,
    "C - W X": lambda x: C - W(x) @ X,
    "W X + 2": lambda x: W(x) @ X + 2.0,
    "2 - sin(W X)": lambda x: 2 - np.sin(W(x) @ X),
    "A tanh(W X + b)": lambda x: A @ np.tanh(W(x) @ X + b(x)),
    "W2 tanh(W X + b)": lambda x: x[16:24].reshape(2, 4) @ np.tanh(W(x) @ X + b(x)),
    "(2 W2) tanh(W X)": lambda x: (2.0 * x[16:24].reshape(2, 4)) @ np.tanh(W(x) @ X),
    "A_inf tanh(W X)": lambda x: AINF @ np.tanh(W(x) @ X),
    "log(W Z)": lambda x: np.log(W(x) @ Z),  # log'(0) = inf: dense 0 * inf is NaN
    "W X + W' X, disjoint": lambda x: W(x) @ X + x[12:24].reshape(4, 3) @ X,
    "W X + W' X, overlapping": lambda x: W(x) @ X + x[3:15].reshape(4, 3) @ X,
    "W X + b(1 x 5)": lambda x: W(x) @ X + x[12:17].reshape(1, 5),
    "W X + x(4 x 5)": lambda x: W(x) @ X + x[4:24].reshape(4, 5),
    "(W X).T": lambda x: (W(x) @ X).T * 1.0,
    "(W X)[1]": lambda x: (W(x) @ X)[1],
    "sum(tanh(W X), axis 0)": lambda x: np.sum(np.tanh(W(x) @ X), axis=0),
    "tanh(W X) * tanh(W X)": lambda x: np.tanh(W(x) @ X) * np.tanh(W(x) @ X + b(x)),
    "W X @ C.T": lambda x: (W(x) @ X) @ C.T,
    "W X, one entry set": lambda x: _set(W(x) @ X),
    "loss-like sum": lambda x: ((A @ np.tanh(W(x) @ X + b(x)) - 1.0) ** 2).sum(),
    # batch-first layers: X W + b, h @ W2 (the structure along axis 1)
    "tanh(XB V + c)": lambda x: np.tanh(XB @ V(x) + x[12:16]),
    "XB V - c": lambda x: XB @ V(x) - x[12:16],
    "c(1 x 4) - XB V": lambda x: x[12:16].reshape(1, 4) - XB @ V(x),
    "XB V + col(5 x 1)": lambda x: XB @ V(x) + x[12:17].reshape(5, 1),
    "tanh(XB V + c) @ W2": lambda x: np.tanh(XB @ V(x) + x[12:16]) @ x[16:20].reshape(4, 1),
    "tanh(XB V) @ C4": lambda x: np.tanh(XB @ V(x)) @ C4,
    "tanh(XB V) @ (2 W2)": lambda x: np.tanh(XB @ V(x)) @ (2.0 * x[16:24].reshape(4, 2)),
    "tanh(XB V) @ C4_inf": lambda x: np.tanh(XB @ V(x)) @ C4INF,
    "A @ (XB V)": lambda x: A2 @ (XB @ V(x)),
    "XB V + XB V'": lambda x: XB @ V(x) + XB @ x[12:24].reshape(3, 4),
    "W X + D W'": lambda x: W(x) @ X + D @ x[0:15].reshape(3, 5),
    "W X[:, :0] (no columns)": lambda x: np.tanh(W(x) @ X[:, :0]) + 1.0,
    "x[:3] (1 x 3) @ X": lambda x: np.tanh(x[:3].reshape(1, 3) @ X),
    "x[:4] (4 x 1) @ X[:1]": lambda x: np.tanh(x[:4].reshape(4, 1) @ X[:1]),
    "W @ X.T.T (strided)": lambda x: np.tanh(W(x) @ np.asfortranarray(X)),
    "W @ X float32": lambda x: np.tanh(W(x) @ X.astype(np.float32)),
    "W X - W X": lambda x: (lambda z: z - z)(W(x) @ X),
    "W X + int array": lambda x: W(x) @ X + np.ones((4, 5), dtype=int),
    "A54 @ x.reshape(4, 6)": lambda x: np.tanh(A54 @ x.reshape(4, 6)),
    "x.reshape(6, 4), written": lambda x: _set(x.reshape(6, 4)),
    "x.reshape(4, 6)[1:3] @ C64": lambda x: x.reshape(4, 6)[1:3] @ C64,
    # activations and elementwise products on the structure
    "sigmoid(W X + b)": lambda x: 1.0 / (1.0 + np.exp(-(W(x) @ X + b(x)))),
    "relu: maximum(W X, 0)": lambda x: np.maximum(W(x) @ X + b(x), 0.0),
    "relu: z * (z > 0)": lambda x: (lambda z: z * (z > 0))(W(x) @ X + b(x)),
    "leaky: maximum(z, 0.01 z)": lambda x: (lambda z: np.maximum(z, 0.01 * z))(W(x) @ X),
    "(W X)**3 and **0.5": lambda x: (W(x) @ X) ** 3 + np.abs(W(x) @ X + 3.0) ** 0.5,
    "(W X) ** exponent array": lambda x: np.abs(W(x) @ X) ** np.full((4, 5), 1.5),
    "(W X)**2, square, z * z": lambda x: (lambda z: z**2 + np.square(z) + z * z)(W(x) @ X),
    "W X / 3, 3 / (W X + 5)": lambda x: (W(x) @ X) / 3 + 3 / (W(x) @ X + 5.0),
    "W X / int array": lambda x: (W(x) @ X) / np.arange(1, 21).reshape(4, 5),
    "W X / zeros": lambda x: (W(x) @ X) / np.zeros((4, 5)),
    "W X * inf": lambda x: (W(x) @ X) * np.where(C > 0, np.inf, 1.0),
    "(W X) * C": lambda x: (W(x) @ X) * C[:, :5] * 2,
    "(W X) * (W X + b)": lambda x: (W(x) @ X) * np.tanh(W(x) @ X + b(x)),
    "(W X) * (W' X), other partials": lambda x: (W(x) @ X) * (x[12:24].reshape(4, 3) @ X),
    "(W X) * (W' X), other rows": lambda x: (W(x) @ X) * (x[3:15].reshape(4, 3) @ X),
    "(W X) * row broadcast": lambda x: (W(x) @ X) * X[0],
    "-(XB V)": lambda x: -(XB @ V(x)),
    "minimum(2, XB V) batch-first": lambda x: np.minimum(2.0, XB @ V(x) + x[12:16]),
    "arctan2(W X, 2)": lambda x: np.arctan2(W(x) @ X, 2.0) + np.arctan2(1.5, W(x) @ X),
    "W X * Dual": lambda x: (W(x) @ X) * x[20],
    # PyTorch's layout: x @ W.T + b, W (out, in)
    "tanh(XB @ W.T + c)": lambda x: np.tanh(XB @ x[:12].reshape(4, 3).T + x[12:16]),
    "XB @ W.T, W written": lambda x: XB @ _set_w(x[:12].reshape(4, 3)).T,
    "XB @ W.T.T.T": lambda x: XB @ x[:12].reshape(4, 3).T.T.T,
    "W.T @ X5": lambda x: x[:12].reshape(4, 3).T @ C[:, :5] + 1.0,
    "pytorch layer: tanh(XB W1.T + b) W2.T": lambda x: (
        np.tanh(XB @ x[:12].reshape(4, 3).T + x[12:16]) @ x[16:24].reshape(2, 4).T
    ),
    "A @ h with A = W.T": lambda x: x[:20].reshape(5, 4).T @ np.tanh(XB @ V(x)),
    "(W.T)[1:] and W.T + C": lambda x: x[:12].reshape(4, 3).T[1:] * 2.0 + C[:2, :4],
    "batch-first loss": lambda x: (
        (np.tanh(XB @ V(x) + x[12:16]) @ x[16:20].reshape(4, 1) + x[20] - 0.5) ** 2
    ).sum(),
}


def _set_w(w):
    w[1, 2] = 3.0  # (an assignment: the seeds' structure is void from here)
    return w


def _set(y):
    y[1, 2] = 3.0
    return np.tanh(y)


def run(f, x, tag):
    y = f(unit_seeded(x, tag))
    return np.asarray(y._v), np.asarray(y._t), y._n


@pytest.mark.parametrize("name", list(CASES))
def test_structured_results_are_the_dense_ones_bit_for_bit(name, tag, monkeypatch):
    x = np.random.default_rng(3).normal(size=24)
    f = CASES[name]
    with np.errstate(all="ignore"):
        fast = run(f, x, tag)
        with monkeypatch.context() as m:
            m.setattr(da, "_with_rows", with_rows_dense)
            slow = run(f, x, tag)
    np.testing.assert_array_equal(fast[0], slow[0])
    np.testing.assert_array_equal(fast[1], slow[1])  # (NaN where both have NaN)
    assert fast[2] == slow[2]  # the same rounding count: the same bound


def test_the_structure_is_kept_through_the_mlp_layer(tag):
    x = np.random.default_rng(3).normal(size=24)
    xs = unit_seeded(x, tag)
    z = W(xs) @ X
    assert z._rows is not None
    h = np.tanh(z + b(xs))
    assert h._rows is not None
    own, d, ax = h._rows
    assert ax == 0 and own.shape == (24,) and d.shape == (24, 5)  # O(m C), not O(m R C)
    assert (own[:12] == np.arange(12) // 3).all() and (own[12:16] == np.arange(4)).all()
    assert (own[16:] == -1).all() and not d[16:].any()
    y = A @ h
    assert y._rows is None and y._t.shape == (24, 2, 5)
    # reading _t builds the dense tangents once, and every later read sees them
    t = h._t
    assert h._rows is None and h._t is t and t.shape == (24, 4, 5)


def test_dense_tangents_of_the_structure_are_unit_times(tag):
    x = np.random.default_rng(1).normal(size=24)
    xs = unit_seeded(x, tag)
    z = W(xs) @ X
    np.testing.assert_array_equal(z._t, da._unit_times(0, (4, 3), X, 24))


@pytest.mark.parametrize("verb", ["gradient", "jacobian"])
def test_mlp_verbs_are_the_dense_results_bit_for_bit(verb, dense, monkeypatch):
    theta, Xd, yd = make_problem(0)
    fn = loss if verb == "gradient" else (lambda t, X, y: np.tanh(t[:320].reshape(32, 10) @ X))
    slow = getattr(fd, verb)(fn, theta, args=(Xd, yd), method="dual")
    monkeypatch.undo()
    fast = getattr(fd, verb)(fn, theta, args=(Xd, yd), method="dual")
    np.testing.assert_array_equal(fast.df, slow.df)
    np.testing.assert_array_equal(fast.error, slow.error)
    assert fast.nfev == slow.nfev and fast.success.all()


def test_mlp_gradient_matches_backprop_within_its_bound():
    theta, Xd, yd = make_problem(2)
    r = fd.gradient(loss, theta, args=(Xd, yd), method="dual")
    exact = backprop(theta, Xd, yd)
    # the bound is a rounding bound; backprop's own rounding is a few eps of the same sums
    assert (np.abs(r.df - exact) <= r.error + 8 * EPS * np.abs(exact)).all()
    assert r.success.all() and r.nfev == 2


# Views not taken yet (`_src`): slices and reshapes of the x of a whole-chunk Jacobian, whose
# tangents are the cached read-only seeds, take their tangents only when code reads them.


def seeded(x, tag, cached):
    """x seeded as dual_jacobian seeds it: the cached read-only seeds (views of it are not
    taken until read), or a fresh writable identity (views taken at once)."""
    n = x.size
    seed = _forward._unit_seeds(n) if cached else np.eye(n)
    X = DualArray._make(x.copy(), seed.reshape((n, *x.shape)), n, tag)
    X._eye = True
    X._unit = 0
    return X


@pytest.mark.parametrize("name", list(CASES))
def test_views_not_taken_give_the_taken_views_results_bit_for_bit(name, tag):
    x = np.random.default_rng(5).normal(size=24)
    with np.errstate(all="ignore"):
        lazy = CASES[name](seeded(x, tag, True))
        eager = CASES[name](seeded(x, tag, False))
    np.testing.assert_array_equal(lazy._v, eager._v)
    np.testing.assert_array_equal(lazy._t, eager._t)
    assert lazy._n == eager._n


def test_slices_of_the_cached_seeds_are_not_taken_until_read(tag):
    x = seeded(np.arange(24.0), tag, True)
    w = x[:12].reshape(4, 3)
    assert w._src is not None and w._unit == 0
    b_ = x[12:16].reshape(4, 1)
    assert b_._src is not None and b_._unit == 12
    h = np.tanh(w @ X + b_)  # the structured products read the offsets only
    assert h._rows is not None and w._src is not None and b_._src is not None
    assert not x._t.flags.writeable  # the seeds not owned yet: no copy made
    t = w._t  # reading takes the view: of the root's own copy of the seeds
    assert w._src is None and x._t.flags.writeable and np.shares_memory(t, x._t)
    np.testing.assert_array_equal(t, np.eye(24)[:, :12].reshape(24, 4, 3))
    assert not _forward._unit_seeds(24).flags.writeable  # the cache itself untouched


def test_a_reshape_of_the_seeded_x_is_not_taken_until_read(tag):
    x = np.random.default_rng(2).normal(size=24)
    xs = seeded(x, tag, True)
    w = xs.reshape(4, 6)  # (softmax regression's W = theta.reshape(features, classes))
    assert w._src is not None and w._unit == 0
    z = np.tanh(A54 @ w)
    assert z._rows is not None and z._rows[2] == 1
    assert not xs._t.flags.writeable  # the seeds not owned: no copy made
    eager = np.tanh(A54 @ seeded(x, tag, False).reshape(4, 6))
    np.testing.assert_array_equal(z._t, eager._t)


def _assignments(x):
    """Writes into views and the root, in every order of taking and writing; returns what
    each array then holds."""
    a = x[:6].reshape(2, 3)
    b_ = x[3:9]
    c = x[10:14]
    a[1, 0] = 5.0  # element 3: b_[0] must see it, value and partials
    x[10] = x[11] * 2.0  # the root: c[0] must see it
    _ = b_._t  # taken after the writes
    d = x[2:5]
    d[2] = 7.0  # element 4, after b_ was taken: b_[1] must see it
    e = np.tanh(x[:6].reshape(2, 3) @ X)  # the seeds' structure is void after the writes
    return [x, a, b_, c, d, e]


def test_writes_reach_every_view_as_when_views_are_taken_at_once(tag):
    x = np.random.default_rng(6).normal(size=24)
    lazy = _assignments(seeded(x, tag, True))
    eager = _assignments(seeded(x, tag, False))
    for p, q in zip(lazy, eager, strict=True):
        np.testing.assert_array_equal(p._v, q._v)
        np.testing.assert_array_equal(p._t, q._t)
    _, _, b_, c, _, _ = lazy
    assert b_._v[0] == 5.0 and not b_._t[:, 0].any()
    assert b_._v[1] == 7.0 and not b_._t[:, 1].any()
    np.testing.assert_array_equal(c._t[:, 0], 2.0 * np.eye(24)[:, 11])


def test_the_mlp_gradient_is_the_same_with_views_taken_at_once(monkeypatch):
    theta, Xd, yd = make_problem(1)
    fast = fd.gradient(loss, theta, args=(Xd, yd), method="dual")
    eye = np.eye(theta.size)  # writable seeds: every view taken at once, as before
    monkeypatch.setattr(_forward, "_unit_seeds", lambda n: eye if n == eye.shape[0] else None)
    slow = fd.gradient(loss, theta, args=(Xd, yd), method="dual")
    np.testing.assert_array_equal(fast.df, slow.df)
    np.testing.assert_array_equal(fast.error, slow.error)


@pytest.mark.parametrize("cached", [False, True])
def test_the_structure_is_kept_through_a_batch_first_layer(cached, tag):
    x = np.random.default_rng(3).normal(size=24)
    xs = seeded(x, tag, cached)
    z = XB @ V(xs)  # (5, 4): partial i 4 + j touches column j
    assert z._rows is not None and z._rows[2] == 1
    h = np.tanh(z + xs[12:16])
    own, d, ax = h._rows
    assert ax == 1 and d.shape == (24, 5)
    assert (own[:12] == np.arange(12) % 4).all() and (own[12:16] == np.arange(4)).all()
    assert (own[16:] == -1).all()
    y = h @ xs[16:20].reshape(4, 1)
    assert y._rows is None and y._t.shape == (24, 5, 1)


def test_setting_the_tangents_of_a_view_not_taken_replaces_it(tag):
    x = seeded(np.arange(24.0), tag, True)
    w = x[:6]
    assert w._src is not None
    t = np.ones((24, 6))
    w._t = t  # (as code that replaces an array's tangents does)
    assert w._src is None and w._t is t  # not taken later over the new ones


# Chunks of partials (batch_bytes below 8 n^2): row p of a chunk is the seed of element
# start + p, so x carries the offset -start (`_unit`), and its slices the seeds of the
# elements they hold, clipped to the chunk's rows.


def no_unit(monkeypatch):
    """Every unit-seed structure ignored: the dense products of before (chunks had none)."""
    monkeypatch.setattr(da, "_unit_of", lambda x: da.NO_UNIT)
    monkeypatch.setattr(da, "_unit_t_of", lambda x: da.NO_UNIT)


@pytest.mark.parametrize("chunk", [1, 5, 7, 13, 24])
@pytest.mark.parametrize(
    "name",
    [
        "tanh(W X + b)",
        "loss-like sum",
        "batch-first loss",
        "tanh(XB V + c) @ W2",
        "W X + D W'",
        "XB V + XB V'",
        "A54 @ x.reshape(4, 6)",
        "W X - b",
        "c(1 x 4) - XB V",
        "pytorch layer: tanh(XB W1.T + b) W2.T",
        "W.T @ X5",
        "A @ h with A = W.T",
        "XB @ W.T.T.T",
        "sigmoid(W X + b)",
    ],
)
def test_chunked_structure_gives_the_dense_chunks_bit_for_bit(name, chunk, monkeypatch):
    x = np.random.default_rng(8).normal(size=24)
    f = CASES[name]
    bb = 8 * 24 * chunk  # chunk partials per call
    fast = fd.jacobian(f, x, method="dual", batch_bytes=bb)
    with monkeypatch.context() as m:
        no_unit(m)
        slow = fd.jacobian(f, x, method="dual", batch_bytes=bb)
    whole = fd.jacobian(f, x, method="dual")
    np.testing.assert_array_equal(fast.df, slow.df)
    np.testing.assert_array_equal(fast.error, slow.error)
    assert fast.nfev == slow.nfev
    np.testing.assert_array_equal(fast.df, whole.df)  # (a product's one term: any chunking)


def test_a_chunk_keeps_the_structure_of_its_own_partials(tag):
    x = np.random.default_rng(4).normal(size=24)
    k, start = 5, 10  # partials of elements 10 .. 14
    seed = np.zeros((k, 24))
    seed[np.arange(k), np.arange(start, start + k)] = 1.0
    xs = DualArray._make(x.copy(), seed, k, tag)
    xs._unit = -start
    z = W(xs) @ X  # W holds elements 0 .. 11: the chunk's rows 0, 1 are W's entries 10, 11
    own, d, ax = z._rows
    assert ax == 0 and list(own) == [3, 3, -1, -1, -1]
    np.testing.assert_array_equal(d[:2], X[[1, 2]])
    h = np.tanh(z + b(xs))  # b holds 12 .. 15: rows 2, 3, 4 are b's entries 0, 1, 2
    assert list(h._rows[0]) == [3, 3, 0, 1, 2]


@pytest.mark.parametrize(
    "name",
    [
        "sigmoid(W X + b)",
        "relu: maximum(W X, 0)",
        "relu: z * (z > 0)",
        "(W X)**3 and **0.5",
        "(W X) ** exponent array",
        "(W X)**2, square, z * z",
        "W X / 3, 3 / (W X + 5)",
        "W X / int array",
        "(W X) * C",
        "(W X) * (W X + b)",
        "(W X) * (W' X), other partials",
        "(W X) * row broadcast",
        "-(XB V)",
        "minimum(2, XB V) batch-first",
        "tanh(XB @ W.T + c)",
        "arctan2(W X, 2)",
    ],
)
def test_activations_and_products_keep_the_structure(name, tag):
    x = np.random.default_rng(3).normal(size=24)
    y = CASES[name](seeded(x, tag, True))
    assert y._rows is not None  # (the dense path would have built (24, R, C) tangents)


@pytest.mark.parametrize(
    "name", ["W X / zeros", "W X * inf", "(W X) * (W' X), other rows", "W X * Dual"]
)
def test_products_the_structure_cannot_hold_take_the_dense_path(name, tag):
    x = np.random.default_rng(3).normal(size=24)
    with np.errstate(all="ignore"):
        y = CASES[name](seeded(x, tag, True))
    assert y._rows is None


# Random compositions of the operations above: whatever chain of layers, activations,
# sums, products and views f applies, the structure (kept, or given up on the way) and the
# views not taken must give the dense tangents' bits.

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

R4, C5 = (4, 5)
K45 = RNG.normal(size=(R4, C5))
P45 = np.abs(K45) + 0.5


def _apply(op, z, x):
    """One step of a random f: z (4, 5), dual or not, x the seeded 24-vector; returns a new
    (4, 5) array, or z itself where the step does not apply."""
    steps = [
        lambda: z + W(x) @ X,  # a layer: structure along axis 0
        lambda: z + (x[:20].reshape(5, 4).T),  # a transposed view: dense
        lambda: z + XB[:4] @ V(x)[:, :1] * 0.5 + x[12:17],  # axis 1 pieces, broadcast
        lambda: np.tanh(z),
        lambda: 1.0 / (1.0 + np.exp(-z)),
        lambda: np.maximum(z, 0.0),
        lambda: z * (z > 0.1),
        lambda: z * K45 - 2.0,
        lambda: 3.0 - z / P45,
        lambda: 2.0 / (P45 + z * z),
        lambda: z**3 - np.square(z),
        lambda: -z + b(x),  # a unit-seeded bias (4, 1)
        lambda: z * np.tanh(W(x) @ X + b(x)),
        lambda: z + D @ x[:15].reshape(3, 5),  # along axis 1, met by axis 0: dense
        lambda: A54.T @ (A54 @ z) * 0.1,  # contractions along axis 0, dense after
        lambda: (z @ C[:, :5].T @ C[:, :5]) * 0.1,  # along axis 1
        lambda: np.concatenate([z[:2], z[2:]]),  # general code: dense, the same bits
        lambda: z + np.sin(z[::-1]),
    ]
    return steps[op % len(steps)]()


def dense_only(m):
    """No structure built or used anywhere: the dense code of before."""
    m.setattr(da, "_with_rows", with_rows_dense)
    m.setattr(da, "_may_structure", lambda x: False)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 17), min_size=1, max_size=7), st.integers(0, 2**31))
def test_random_compositions_give_the_dense_tangents_bit_for_bit(ops, seed):
    x = np.random.default_rng(seed).normal(size=24)

    def f(xs):
        z = W(xs) @ X
        for op in ops:
            z = _apply(op, z, xs)
        return z

    _same_both_ways(f, x)


def _same_both_ways(f, x):
    """f on x seeded as dual_jacobian seeds it, (a) with the cached seeds and the structure,
    (b) with fresh seeds and no structure anywhere: values, tangents, rounding counts equal."""
    outs = []
    for cached, structured in [(True, True), (False, False)]:
        t = _dual.open_tag()
        try:
            with pytest.MonkeyPatch.context() as m:
                if not structured:
                    dense_only(m)
                with np.errstate(all="ignore"):
                    y = f(seeded(x, t, cached))
                outs.append((np.asarray(y._v), np.asarray(y._t), y._n))
        finally:
            _dual.close_tag(t)
    (v1, t1, n1), (v2, t2, n2) = outs
    np.testing.assert_array_equal(v1, v2)
    np.testing.assert_array_equal(t1, t2)
    assert n1 == n2


NV = 200  # a vector whose dense tangents (NV x NV) pass da.VECTOR_STRUCTURE_FROM
KV = RNG.normal(size=NV)


def _apply_vector(op, z, x):
    """One step of a random f on vectors: z (NV,), x the seeded NV-vector."""
    K = KV
    steps = [
        lambda: np.sin(z),
        lambda: z**2 + 1.0,
        lambda: z * K - 0.5,
        lambda: 2.0 - z / (np.abs(K) + 0.5),
        lambda: 1.0 / (2.0 + z * z),
        lambda: np.maximum(z, 0.0) + z * (z > 0.3),
        lambda: z * x,  # two structures on the same rows
        lambda: z + x,
        lambda: -z + np.exp(-np.abs(x)),
        lambda: z[1:].sum() * 0.01 + z,  # a sum of a shifted view: dense from there
        lambda: (A54.T @ (A54 @ z[:4])).sum() * 0.1 + z,  # contractions of a vector
        lambda: np.concatenate([z[NV // 2 :], z[: NV // 2]]),
    ]
    return steps[op % len(steps)]()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 11), min_size=1, max_size=6), st.integers(0, 2**31))
def test_random_vector_compositions_give_the_dense_tangents_bit_for_bit(ops, seed):
    # elementwise steps on the seeded x itself: each partial one element (a unit-seeded
    # vector turned structured), then a sum, as in sum(sin(x) * x) or an L2 penalty
    assert NV * NV >= da.VECTOR_STRUCTURE_FROM
    x = np.random.default_rng(seed).normal(size=NV)

    def f(xs):
        z = xs
        for op in ops:
            z = _apply_vector(op, z, xs)
        return np.sum(z) + z[3]

    _same_both_ways(f, x)


def test_elementwise_steps_on_the_seeded_vector_keep_the_structure(tag):
    x = np.random.default_rng(2).normal(size=NV)
    xs = seeded(x, tag, True)
    z = np.sin(xs) * xs + 0.5 * xs**2
    own, d, ax = z._rows
    assert ax == 0 and (own == np.arange(NV)).all() and d.shape == (NV,)
    s = np.sum(z)
    np.testing.assert_array_equal(s.partials, d)  # each partial's one element, exactly
    assert not xs._t.flags.writeable  # the cached seeds never read densely


def test_small_vectors_stay_dense(tag):
    # below VECTOR_STRUCTURE_FROM the dense C passes are faster than the structure's calls
    xs = seeded(np.linspace(0.1, 1.0, 24), tag, True)
    assert 24 * 24 < da.VECTOR_STRUCTURE_FROM
    assert np.sin(xs)._rows is None and (xs * xs)._rows is None
