"""Reverse-mode soundness: values the backward pass reads are saved wherever
they are overwritten, list/tuple operators are not arithmetic, aliases held in
containers are caught, and the generated code always compiles.

Every case is checked against central finite differences (tests/utils.py) in
reverse mode (optimized and not, the specialised code and the generic one),
and where it applies in forward mode (jvp) and forward over reverse (hvp);
inputs must come back unchanged.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import tangent
from tests.utils import as_float, assert_tree_close, numeric_grad


def _perturbed(args, wrt, v, t):
    args = list(args)
    x = args[wrt]
    args[wrt] = x + t * v if isinstance(x, np.ndarray) else float(x + t * v)
    return args


def _direction(x):
    rng = np.random.RandomState(1)
    return rng.randn(*np.shape(x)) if isinstance(x, np.ndarray) else 0.7


def check_reverse(f, *args, wrt=0, rtol=1e-5, atol=1e-6):
    """grad(f) against finite differences: optimized and not, the specialised
    code (first and second call) and the generic code; inputs unchanged."""
    args = [as_float(a) if not isinstance(a, (int, bool, str)) or isinstance(a, bool) else a for a in args]
    before = copy.deepcopy(args)
    expected = numeric_grad(f, args, wrt)
    for optimized in (True, False):
        df = tangent.grad(f, wrt=(wrt,), optimized=optimized)
        assert_tree_close(df(*args), expected, rtol, atol)
        assert_tree_close(df(*args), expected, rtol, atol)
        if optimized:
            assert_tree_close(df.tangent_generic(*args), expected, rtol, atol)
    assert_tree_close(args, before, 0, 0)


def check_forward(f, *args, wrt=0, hvp=True):
    """jvp(f) (and hvp(f)) along a random direction against differences."""
    args = [as_float(a) if not isinstance(a, (int, bool, str)) or isinstance(a, bool) else a for a in args]
    before = copy.deepcopy(args)
    v = _direction(args[wrt])
    v_before = copy.deepcopy(v)
    eps = 1e-6
    expected = (np.asarray(f(*_perturbed(args, wrt, v, eps))) - np.asarray(f(*_perturbed(args, wrt, v, -eps)))) / (2 * eps)
    for optimized in (True, False):
        np.testing.assert_allclose(tangent.jvp(f, wrt=(wrt,), optimized=optimized)(*args, v), expected, rtol=1e-5, atol=1e-6)
    if hvp:
        h = 1e-3
        plus = numeric_grad(f, _perturbed(args, wrt, v, h), wrt, eps=1e-5)
        minus = numeric_grad(f, _perturbed(args, wrt, v, -h), wrt, eps=1e-5)
        expected = (np.asarray(plus) - np.asarray(minus)) / (2 * h)
        for optimized in (True, False):
            hv = tangent.hvp(f, wrt=(wrt,), optimized=optimized)
            np.testing.assert_allclose(hv(*args, v), expected, rtol=1e-4, atol=1e-4)
            np.testing.assert_allclose(hv(*args, v), expected, rtol=1e-4, atol=1e-4)
    assert_tree_close(args, before, 0, 0)
    np.testing.assert_array_equal(v, v_before)


# ------------------------------------------- 1. overwritten values are saved
def loop_target_reassigned(x, ws):
    for w in ws:
        x = w * x * x
    w = 10.0
    return x * w


def mlp_layers(x, layers):
    h = x
    for W, b in layers[:-1]:
        h = np.tanh(h @ W + b)
    W, b = layers[-1]
    return np.sum(h @ W + b)


def zip_targets_reassigned(x, ws, bs):
    for w, b in zip(ws, bs):
        x = np.sin(w * x + b)
    w = 3.0
    b = 2.0
    return x * w + b


def enumerate_targets_reassigned(x, ws):
    for i, w in enumerate(ws):
        x = w * x * x + i
    i = 2.0
    w = 5.0
    return x * w * i


def reassigned_in_branch(x, ws, c):
    for w in ws:
        x = w * x * x
    if c > 0:
        w = 10.0
    return x * w


def augmented_after_loop(x, ws):
    for w in ws:
        x = w * x * x
    w += 1.0
    return x * w


def reassigned_after_branch(x, c):
    if c > 0:
        y = x * x
    else:
        y = np.sin(x)
    z = y * x
    y = 3.0
    return z * y


def tuple_swap(x, y):
    a, b = x * y, np.sin(x)
    c = a * b
    a, b = b, a * a
    return c * a * b


def while_target_reassigned(x, n):
    i = 0
    while i < n:
        a = x * 1.5
        x = a * x
        i += 1
    a = 2.0
    return x * a


def _layers():
    rng = np.random.RandomState(0)
    return [(rng.randn(3, 4), rng.randn(4)), (rng.randn(4, 2), rng.randn(2))]


OVERWRITES = [
    (loop_target_reassigned, (1.5, [0.5, 0.7]), 0),
    (loop_target_reassigned, (1.5, [0.5, 0.7]), 1),
    (mlp_layers, (np.random.RandomState(1).randn(3), _layers()), 0),
    (mlp_layers, (np.random.RandomState(1).randn(3), _layers()), 1),
    (zip_targets_reassigned, (0.3, [0.5, 0.7], [0.1, 0.2]), 0),
    (zip_targets_reassigned, (0.3, [0.5, 0.7], [0.1, 0.2]), 1),
    (enumerate_targets_reassigned, (0.8, [0.5, 0.7]), 0),
    (reassigned_in_branch, (0.8, [0.5, 0.7], 1.0), 0),
    (reassigned_in_branch, (0.8, [0.5, 0.7], -1.0), 0),
    (augmented_after_loop, (0.8, [0.5, 0.7]), 0),
    (reassigned_after_branch, (0.8, 1.0), 0),
    (reassigned_after_branch, (0.8, -1.0), 0),
    (tuple_swap, (0.8, 0.7), 0),
    (while_target_reassigned, (0.8, 3), 0),
]


@pytest.mark.parametrize("f, args, wrt", OVERWRITES, ids=lambda v: getattr(v, "__name__", ""))
def test_overwritten_value_is_saved_reverse(f, args, wrt):
    check_reverse(f, *args, wrt=wrt)


@pytest.mark.parametrize("f, args, wrt", [c for c in OVERWRITES if c[2] == 0], ids=lambda v: getattr(v, "__name__", ""))
def test_overwritten_value_is_saved_forward_and_hvp(f, args, wrt):
    check_forward(f, *args, wrt=wrt)


def test_loop_target_reassigned_value():
    # d/dx of 10 * w2 * (w1 * x^2)^2 = 40 * w2 * w1^2 * x^3
    got = tangent.grad(loop_target_reassigned)(1.5, [0.5, 0.7])
    np.testing.assert_allclose(got, 40 * 0.7 * 0.25 * 1.5 ** 3)
