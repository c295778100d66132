"""Structured parameters: x as a dict, list or tuple of arrays, flattened once and restored once.

`gradient` and `check_gradient` accept ``{"W": W, "b": b}`` (or a list or tuple of arrays,
nested as deep as wanted). The leaves are concatenated into one flat float vector; f is
wrapped so that it receives the same structure it was given, built from views of the flat
point (slices and reshapes: no copy per evaluation), and the flat results are split back into
the structure and its container types at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from fastdiff._validation import fail


def is_structured(x: Any) -> bool:
    """Whether x is a structure of arrays rather than one array_like.

    A dict always is. A list or tuple is when one of its items is an ndarray, a dict, or a
    structure itself; a list of numbers (or of lists of numbers) stays an array_like, as in v1.
    """
    if isinstance(x, dict):
        return True
    if isinstance(x, list | tuple):
        return any(isinstance(v, np.ndarray | dict) or is_structured(v) for v in x)
    return False


class Leaf(NamedTuple):
    start: int
    stop: int
    shape: tuple[int, ...]


class Structure:
    """The container tree of a structured x and where each leaf lives in the flat vector."""

    def __init__(self, x: Any) -> None:
        self.leaves: list[Leaf] = []
        self.paths: list[str] = []
        arrays: list[np.ndarray] = []
        self.tree = self._build(x, arrays, "")
        if not self.leaves:
            raise fail("x", "a structure holding at least one array", x)
        self.size = self.leaves[-1].stop
        self._arrays = arrays

    def _build(self, node: Any, arrays: list[np.ndarray], path: str) -> Any:
        if isinstance(node, dict):
            return (
                type(node),
                [(k, self._build(v, arrays, f"{path}{_key(k, path)}")) for k, v in node.items()],
            )
        if isinstance(node, list | tuple) and (is_structured(node) or path == ""):
            return (
                type(node),
                [self._build(v, arrays, f"{path}[{i}]") for i, v in enumerate(node)],
            )
        arr = np.asarray(node)
        start = self.leaves[-1].stop if self.leaves else 0
        self.leaves.append(Leaf(start, start + arr.size, arr.shape))
        self.paths.append(path)
        arrays.append(arr)
        return len(self.leaves) - 1

    def flat(self) -> np.ndarray:
        """The leaves of x as one flat vector (float64, or object for Duals): the one copy."""
        parts = [a.reshape(-1) for a in self._arrays]
        if all(a.dtype.kind in "biuf" for a in parts):
            return np.concatenate(parts).astype(np.float64, copy=False)
        return np.concatenate(parts)

    def flatten_like(self, value: Any, name: str) -> np.ndarray:
        """A user value in the same structure (a gradient, a step, bounds) as one flat vector;
        a scalar broadcasts to every leaf. Mismatched structures or shapes raise, naming it."""
        if not isinstance(value, dict | list | tuple) or not is_structured(value):
            arr = np.asarray(value)
            if arr.ndim == 0:
                return np.full(self.size, arr.item() if arr.dtype.kind != "O" else value)
            if isinstance(value, list | tuple) and len(self.leaves) == len(value):
                pass  # a list of per-leaf scalars/arrays without ndarrays: walk it below
            else:
                raise fail(name, f"a scalar or the structure of x ({self.describe()})", value)
        out: list[np.ndarray] = []
        self._match(self.tree, value, name, out)
        return np.concatenate(out) if out else np.empty(0)

    def _match(self, node: Any, value: Any, name: str, out: list[np.ndarray]) -> None:
        if isinstance(node, int):
            leaf = self.leaves[node]
            arr = np.asarray(value)
            if arr.dtype.kind not in "biufcb":
                raise fail(name, "numbers", value, TypeError)
            if arr.ndim == 0:
                arr = np.broadcast_to(arr, leaf.shape)
            if arr.shape != leaf.shape:
                raise fail(
                    name,
                    f"shaped like x{self.paths[node]}, {leaf.shape} (it is never reshaped)",
                    f"shape {arr.shape} at {self.paths[node] or 'the top'}",
                )
            out.append(arr.reshape(-1))
            return
        kind, items = node
        if isinstance(kind, type) and issubclass(kind, dict):
            if not isinstance(value, dict) or list(value) != [k for k, _ in items]:
                keys = list(value) if isinstance(value, dict) else type(value).__name__
                raise fail(name, f"a dict with the keys of x, {[k for k, _ in items]}", keys)
            for k, child in items:
                self._match(child, value[k], name, out)
            return
        if not isinstance(value, list | tuple) or len(value) != len(items):
            got = (
                f"{type(value).__name__} of length {len(value)}"
                if isinstance(value, list | tuple)
                else type(value).__name__
            )
            raise fail(name, f"a {kind.__name__} of {len(items)} like x", got)
        for child, v in zip(items, value, strict=True):
            self._match(child, v, name, out)

    def restore(self, flat: Any, trailing: tuple[int, ...] = ()) -> Any:
        """The structure from a flat vector (views, no copies): leaf i is
        ``flat[start:stop].reshape(shape + trailing)``; 0-d leaves come back as scalars when
        `trailing` is empty and the values are results (see `restore_result`)."""
        leaves = [flat[lf.start : lf.stop].reshape(lf.shape + trailing) for lf in self.leaves]
        return self._assemble(self.tree, leaves)

    def restore_values(self, flat: np.ndarray) -> Any:
        """Like restore, for result values: 0-d leaves become NumPy scalars."""
        leaves = []
        for lf in self.leaves:
            v = np.asarray(flat[lf.start : lf.stop]).reshape(lf.shape)
            leaves.append(v[()] if v.ndim == 0 else v)
        return self._assemble(self.tree, leaves)

    def _assemble(self, node: Any, leaves: Sequence[Any]) -> Any:
        if isinstance(node, int):
            return leaves[node]
        kind, items = node
        if issubclass(kind, dict):
            pairs = [(k, self._assemble(c, leaves)) for k, c in items]
            try:
                return kind(pairs)
            except TypeError:  # a dict subclass with another constructor (defaultdict, ...)
                return dict(pairs)
        vals = [self._assemble(c, leaves) for c in items]
        if hasattr(kind, "_fields"):  # a namedtuple takes its fields as arguments
            return kind(*vals)
        return kind(vals)

    def describe(self) -> str:
        return ", ".join(f"x{p} {self.leaves[i].shape}" for i, p in enumerate(self.paths))


def _key(k: Any, path: str) -> str:
    if isinstance(k, str) and k.isidentifier():
        return k if path == "" else f".{k}"
    return f"[{k!r}]"


def wrap(f: Callable[..., Any], st: Structure, vectorized: bool) -> Callable[..., Any]:
    """f on the flat vector: hands f the structure, rebuilt from views of the flat point
    (with the batch axis last when vectorized)."""
    return _OnFlat(f, st, vectorized)


class _OnFlat:
    """wrap()'s function: a class, not a closure, so that it pickles wherever f and the
    structure do (`workers` with a process pool)."""

    def __init__(self, f: Callable[..., Any], st: Structure, vectorized: bool) -> None:
        self.f, self.st, self.vectorized = f, st, vectorized

    def __call__(self, theta: Any, *args: Any, **kwargs: Any) -> Any:
        if self.vectorized:
            return self.f(self.st.restore(theta, theta.shape[1:]), *args, **kwargs)
        return self.f(self.st.restore(theta), *args, **kwargs)


def structured_result(res: Any, st: Structure) -> Any:
    """A flat gradient Result with df, error, success, status and step in x's structure."""
    from fastdiff._result import make_result

    def back(v: Any) -> Any:
        return st.restore_values(np.asarray(v).reshape(-1))

    return make_result(
        back(res.df),
        back(res.error),
        back(res.success),
        back(res.status),
        res.nfev,
        back(res.step),
        res.method,
    )


def gradient(verb_gradient: Callable[..., Any], f: Any, x: Any, options: dict[str, Any]) -> Any:
    """gradient() for structured x: flatten once, run on the flat vector, restore once."""
    st = Structure(x)
    opts = dict(options)
    for name in ("step",):
        if opts.get(name) is not None:
            opts[name] = st.flatten_like(opts[name], name).astype(np.float64)
    if opts.get("bounds") is not None:
        try:
            lo, hi = opts["bounds"]
        except (TypeError, ValueError) as exc:
            raise fail("bounds", "a pair (lo, hi)", opts["bounds"], TypeError) from exc
        opts["bounds"] = (
            st.flatten_like(lo, "bounds").astype(np.float64),
            st.flatten_like(hi, "bounds").astype(np.float64),
        )
    if not callable(f):
        raise fail("f", "callable", f, TypeError)
    g = wrap(f, st, bool(opts.get("vectorized", False)))
    res = verb_gradient(g, st.flat(), **opts)
    return structured_result(res, st)
