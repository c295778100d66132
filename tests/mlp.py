"""A small NumPy-written MLP (10 -> 32 -> 1, tanh, 385 parameters) and its hand-written backprop.

Shared by tests/test_forward.py and benchmarks/dual.py.
"""

from __future__ import annotations

import numpy as np

N_IN, N_HIDDEN, N_OUT = 10, 32, 1
N_PARAMS = N_HIDDEN * N_IN + N_HIDDEN + N_OUT * N_HIDDEN + N_OUT  # 385


def make_problem(seed: int = 0, batch: int = 16):
    rng = np.random.default_rng(seed)
    theta = rng.normal(scale=0.3, size=N_PARAMS)
    X = rng.normal(size=(N_IN, batch))
    y = rng.normal(size=(N_OUT, batch))
    return theta, X, y


def unpack(theta):
    i = 0
    W1 = theta[i : i + N_HIDDEN * N_IN].reshape(N_HIDDEN, N_IN)
    i += N_HIDDEN * N_IN
    b1 = theta[i : i + N_HIDDEN].reshape(N_HIDDEN, 1)
    i += N_HIDDEN
    W2 = theta[i : i + N_OUT * N_HIDDEN].reshape(N_OUT, N_HIDDEN)
    i += N_OUT * N_HIDDEN
    b2 = theta[i : i + N_OUT].reshape(N_OUT, 1)
    return W1, b1, W2, b2


def loss(theta, X, y):
    """Mean squared error of the network; plain NumPy, so it runs on object arrays of Duals."""
    W1, b1, W2, b2 = unpack(theta)
    h = np.tanh(W1 @ X + b1)
    r = W2 @ h + b2 - y
    return (r * r).sum() / r.size


def backprop(theta, X, y):
    """The gradient of `loss` by hand: the chain rule layer by layer."""
    W1, b1, W2, b2 = unpack(theta)
    h = np.tanh(W1 @ X + b1)
    r = W2 @ h + b2 - y
    dr = 2.0 * r / r.size
    dW2 = dr @ h.T
    db2 = dr.sum(axis=1, keepdims=True)
    dz = (W2.T @ dr) * (1.0 - h * h)
    dW1 = dz @ X.T
    db1 = dz.sum(axis=1, keepdims=True)
    return np.concatenate([dW1.ravel(), db1.ravel(), dW2.ravel(), db2.ravel()])
