"""Six programs whose generated derivative source is checked in (tests/golden/).

Each entry: the function, the derivative maker, and example arguments. The
golden files hold the generic source and the source specialised to the
example arguments, so a change in what the user reads shows in review.
"""

import numpy as np


def mlp(params, x, y):
    h = np.tanh(x @ params["W1"] + params["b1"])
    logits = h @ params["W2"] + params["b2"]
    return np.mean((logits - y) ** 2)


def rnn(Wh, Wx, xs, h0):
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(h @ Wh + xs[t] @ Wx)
    return np.sum(h * h)


def first_large(x, threshold):
    total = 0.0
    for i in range(x.shape[0]):
        total = total + x[i] * x[i]
        if total > threshold:
            return total * 2.0
    return total


def assign_into(x, a):
    y = np.zeros(4)
    y[0] = a * x[1]
    y[1:3] = np.sin(x[:2])
    y[3] = y[0] * y[2]
    return np.sum(y * x)


def energy(x):
    return np.sum(np.sin(x) * x ** 2)


def rnn_inputs(Wx, Wh, b, xs):
    """benchmarks/accumulation.py's rnn_array: its gradient w.r.t. the inputs
    does the products feeding only their accumulation after the backward loop
    (tangent/hoisted_products.py)."""
    h = np.zeros((xs.shape[1], Wh.shape[0]))
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ Wx + h @ Wh + b)
    return np.sum(h * h)


def examples():
    rng = np.random.RandomState(0)
    params = {"W1": rng.randn(3, 4), "b1": rng.randn(4), "W2": rng.randn(4, 2), "b2": rng.randn(2)}
    return {
        "mlp": ("grad", mlp, (0,), (params, rng.randn(5, 3), rng.randn(5, 2))),
        "rnn": ("grad", rnn, (0, 1), (0.3 * rng.randn(4, 4), 0.3 * rng.randn(3, 4), rng.randn(6, 3), rng.randn(4))),
        "rnn_inputs": ("grad", rnn_inputs, (3,), (0.5 * rng.randn(3, 4), 0.4 * rng.randn(4, 4), 0.1 * rng.randn(4),
                                                  rng.randn(5, 2, 3))),
        "early_return": ("grad", first_large, (0,), (rng.randn(5), 1.5)),
        "assign_into": ("grad", assign_into, (0, 1), (rng.randn(4), 0.7)),
        "hvp": ("hvp", energy, (0,), (rng.randn(3),)),
    }
