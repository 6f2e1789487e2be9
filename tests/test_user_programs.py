"""Programs written the way users write them (parameters in dicts and lists of
(W, b) tuples, data in dicts, objects with attributes, helpers, loops over
lists, enumerate(zip(...)), in-place writes into copies), each checked in
every mode against finite differences by tangent.testing.check_grads (which
also asserts that no argument, seed or tangent vector changes)."""

import math  # noqa: F401  (used by the programs' style)

import numpy as np
import pytest

import tangent
from tangent.testing import check_grads


def mlp(params, x):
    h = x
    for W, b in params[:-1]:
        h = np.tanh(W @ h + b)
    W, b = params[-1]
    return np.sum((W @ h + b) ** 2)

def dict_params(p, data):
    pred = data["X"] @ p["w"] + p["b"]
    return np.mean((pred - data["y"]) ** 2)

class Model:
    def __init__(self, scale):
        self.scale = scale
    def loss(self, w):
        return np.sum(self.scale * w ** 2)

def obj_attr(w):
    m = Model(2.0)
    return m.loss(w) + np.sum(w)

def helper(a, b):
    return a * b + np.sin(a)

def with_helper(x, y):
    return np.sum(helper(x, y) * helper(y, x))

def loop_list(ws, x):
    s = 0.0
    for w in ws:
        s = s + np.sum(w * x) ** 2
    return s

def copy_write(x):
    y = x.copy()
    y[0] = y[1] * y[2]
    y[1:] = y[1:] * 2.0
    return np.sum(y * x)

def append_stack(x):
    hs = []
    h = x
    for i in range(3):
        h = np.tanh(h * 1.5 + i)
        hs.append(h)
    return np.sum(np.stack(hs) ** 2)

def enumerate_zip(xs, ys):
    t = 0.0
    for i, (a, b) in enumerate(zip(xs, ys)):
        t = t + (i + 1) * a * b
    return t

def while_loop(x):
    s = x
    n = 0
    while n < 4:
        s = np.sin(s) + x
        n += 1
    return np.sum(s)

def early_return(x):
    if np.sum(x) > 0:
        return np.sum(x ** 3)
    return np.sum(x)

def dict_build(x):
    d = {}
    d["a"] = x * 2.0
    d["b"] = np.exp(d["a"])
    return np.sum(d["b"] + d["a"])

def tuple_unpack(x):
    a, b = x[0], x[1:]
    return a * np.sum(b ** 2)

def break_continue(xs):
    t = 0.0
    for x in xs:
        if x < -5.0:
            continue
        t = t + x * x
        if t > 100.0:
            break
    return t

def scalar_aug(x):
    acc = 0.0
    for i in range(3):
        acc += float(i) * 0.5
    return np.sum(x * acc) + acc

def reshape_ops(x):
    m = x.reshape(2, 3)
    return np.sum(m.T @ m) + np.sum(m.ravel() ** 2)

def list_of_copies(x):
    first = x[:2].copy()
    first[0] = x[2] * 3.0
    parts = [first, x[2:].copy()]
    return np.sum(parts[0]) * np.sum(parts[1])

def max_where(x):
    return np.sum(np.where(x > 0, x, 0.1 * x)) + np.max(x) ** 2

def softmax_ce(logits, y):
    z = logits - np.max(logits)
    p = np.exp(z) / np.sum(np.exp(z))
    return -np.sum(y * np.log(p))

def list_len_mean(xs):
    return sum(xs) / len(xs)



def _cases():
    rng = np.random.default_rng(0)
    cases = [
        (mlp, ([(rng.normal(size=(3, 2)), rng.normal(size=3)), (rng.normal(size=(1, 3)), rng.normal(size=1))], rng.normal(size=2))),
        (dict_params, ({"w": rng.normal(size=3), "b": 0.3}, {"X": rng.normal(size=(4, 3)), "y": rng.normal(size=4)})),
        (obj_attr, (rng.normal(size=3),)),
        (with_helper, (rng.normal(size=3), rng.normal(size=3))),
        (loop_list, ([rng.normal(size=2), rng.normal(size=2)], rng.normal(size=2))),
        (copy_write, (rng.normal(size=3),)),
        (append_stack, (rng.normal(size=3),)),
        (enumerate_zip, ([0.5, -1.0, 2.0], [0.3, 0.2, -0.7])),
        (while_loop, (rng.normal(size=3),)),
        (early_return, (np.array([0.5, 1.0, -0.2]),)),
        (dict_build, (rng.normal(size=3),)),
        (tuple_unpack, (rng.normal(size=3),)),
        (break_continue, ([0.5, -1.0, 2.0, 3.0],)),
        (scalar_aug, (rng.normal(size=3),)),
        (reshape_ops, (rng.normal(size=6),)),
        (list_of_copies, (rng.normal(size=4),)),
        (max_where, (np.array([0.5, -1.2, 2.0]),)),
        (softmax_ce, (rng.normal(size=4), np.array([0., 1., 0., 0.]))),
        (list_len_mean, ([0.5, -1.0, 2.0],)),
    ]
    return cases


CASES = _cases()
WRITES: set = set()  # (reverse over reverse of writes into arrays and objects works since round 4)


@pytest.mark.parametrize("f, args", CASES, ids=[c[0].__name__ for c in CASES])
def test_user_program(f, args):
    check_grads(f, *args, order=1)
    check_grads(f, *args, modes=("forward",), order=2)
    if f.__name__ not in WRITES:
        check_grads(f, *args, modes=("reverse",), order=2)


def sums_a_list_of_pairs(xs, ys):
    t = 0.0
    for a, b in list(zip(xs, ys)):
        t = t + a * b
    return t


def test_zip_outside_a_loop_is_refused_not_zero():
    # zip was registered as having no derivative: list(zip(xs, ys)) gave a zero gradient
    with pytest.raises(tangent.NoDerivativeError, match="zip"):
        tangent.grad(sums_a_list_of_pairs)([0.5, 1.0], [2.0, 3.0])
