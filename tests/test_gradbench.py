"""GradBench's objectives (benchmarks/gradbench/), differentiated by Tangent at
small sizes, checked against central finite differences AND the hand-written
derivative, in the mode GradBench's task calls for: reverse for gradients,
forward (jvp) for the Jacobians, hvp for the k-means Hessian diagonal, plus
forward mode on the gradient objectives. No call may change its inputs.
"""

import copy
import os
import sys

import numpy as np
import pytest

import tangent
from tests.utils import assert_tree_close, numeric_grad

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
from gradbench import ba, det, gmm, ht, kmeans, llsq, lse, lstm, ode  # noqa: E402

GRADIENTS = [lse, llsq, det, ode, gmm, lstm]


def _unchanged(before, after):
    assert_tree_close(after, before, rtol=0, atol=0)


def _random_like(tree, rng):
    if isinstance(tree, dict):
        return {k: _random_like(v, rng) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_random_like(v, rng) for v in tree)
    return rng.standard_normal(np.shape(tree))


def _dot(a, b):
    if isinstance(a, dict):
        return sum(_dot(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return sum(_dot(x, y) for x, y in zip(a, b, strict=True))
    return float(np.sum(np.asarray(a) * np.asarray(b)))


def _shift(args, wrt, tangents, eps):
    out = list(args)
    for i, t in zip(wrt, tangents, strict=True):
        out[i] = _axpy(args[i], t, eps)
    return out


def _axpy(x, t, eps):
    if isinstance(x, dict):
        return {k: _axpy(x[k], t[k], eps) for k in x}
    if isinstance(x, (list, tuple)):
        return type(x)(_axpy(a, b, eps) for a, b in zip(x, t, strict=True))
    return x + eps * t


@pytest.mark.parametrize("objective", GRADIENTS, ids=lambda m: m.__name__.split(".")[-1])
def test_reverse_gradient(objective):
    args = objective.small_input(seed=1)
    before = copy.deepcopy(args)
    got = tangent.grad(objective.DIFFERENTIATE, wrt=objective.WRT)(*args)
    _unchanged(before, args)
    got = got if len(objective.WRT) > 1 else (got,)
    hand = objective.by_hand(*args)
    hand = hand if len(objective.WRT) > 1 else (hand,)
    for i, g, h in zip(objective.WRT, got, hand, strict=True):
        assert_tree_close(g, h, rtol=1e-7, atol=1e-9)
        assert_tree_close(g, numeric_grad(objective.DIFFERENTIATE, args, i), rtol=1e-5, atol=1e-7)
        assert _dot(h, h) > 1e-12  # the reference is not trivially zero
    for g, a in zip(got, (args[i] for i in objective.WRT), strict=True):
        leaves_g = g.values() if isinstance(g, dict) else [g]
        leaves_a = a.values() if isinstance(a, dict) else [a]
        for lg, la in zip(leaves_g, leaves_a, strict=True):
            assert type(lg) is type(la) and lg.dtype == la.dtype


@pytest.mark.parametrize("objective", GRADIENTS, ids=lambda m: m.__name__.split(".")[-1])
def test_forward_directional_derivative(objective):
    args = objective.small_input(seed=2)
    rng = np.random.default_rng(3)
    tangents = [_random_like(args[i], rng) for i in objective.WRT]
    before = copy.deepcopy((args, tangents))
    got = tangent.jvp(objective.DIFFERENTIATE, wrt=objective.WRT)(*args, *tangents)
    _unchanged(before, (args, tangents))
    hand = objective.by_hand(*args)
    hand = hand if len(objective.WRT) > 1 else (hand,)
    assert np.isclose(got, sum(_dot(h, t) for h, t in zip(hand, tangents, strict=True)), rtol=1e-7, atol=1e-9)
    eps = 1e-6
    fd = (objective.DIFFERENTIATE(*_shift(args, objective.WRT, tangents, eps))
          - objective.DIFFERENTIATE(*_shift(args, objective.WRT, tangents, -eps))) / (2 * eps)
    assert np.isclose(got, fd, rtol=1e-5, atol=1e-7)


def test_kmeans_direction_by_gradient_and_hvp():
    points, centroids = kmeans.small_input(seed=1)
    before = copy.deepcopy((points, centroids))
    gradient = tangent.grad(kmeans.cost, wrt=1)(points, centroids)
    ones = np.ones_like(centroids)
    diagonal = tangent.hvp(kmeans.cost, wrt=1)(points, centroids, ones)
    _unchanged(before, (points, centroids))
    assert_tree_close(gradient, numeric_grad(kmeans.cost, (points, centroids), 1), rtol=1e-5, atol=1e-7)
    # H is diagonal: H @ ones is its diagonal; against differences of the hand-written-free FD gradient
    eps = 1e-5

    def fd_gradient(c):
        return numeric_grad(kmeans.cost, (points, c), 1, eps=1e-6)

    fd_hvp = (fd_gradient(centroids + eps * ones) - fd_gradient(centroids - eps * ones)) / (2 * eps)
    assert_tree_close(diagonal, fd_hvp, rtol=1e-3, atol=1e-3)
    assert_tree_close(gradient / diagonal, kmeans.by_hand(points, centroids), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("objective", [ba, ht], ids=["ba", "ht"])
def test_jacobian_forward_mode(objective):
    args = objective.small_input(seed=1)
    before = copy.deepcopy(args)
    got = objective.jacobian_with(tangent.jvp(objective.DIFFERENTIATE, wrt=objective.WRT), *args)
    _unchanged(before, args)
    hand = objective.by_hand(*args)
    assert_tree_close(got, hand, rtol=1e-8, atol=1e-8)
    numeric = objective.jacobian_with(_fd_jvp(objective.DIFFERENTIATE, objective.WRT), *args)
    assert_tree_close(hand, numeric, rtol=1e-5, atol=1e-5)
    assert np.max(np.abs(hand)) > 1e-3


def _fd_jvp(f, wrt, eps=1e-6):
    def jvp(*args_and_tangents):
        n = len(args_and_tangents) - len(wrt)
        args, tangents = list(args_and_tangents[:n]), args_and_tangents[n:]
        return (f(*_shift(args, wrt, tangents, eps)) - f(*_shift(args, wrt, tangents, -eps))) / (2 * eps)
    return jvp


def test_ht_jacobian_by_tangent_jacobian():
    args = ht.small_input(seed=2)
    J = tangent.jacobian(ht.DIFFERENTIATE, wrt=0)(*args)
    assert_tree_close(J, ht.by_hand(*args), rtol=1e-8, atol=1e-8)


def test_ba_weight_errors_reverse():
    w = ba.small_input(seed=1)[2]
    u = np.random.default_rng(0).standard_normal(w.shape)
    got = tangent.vjp(ba.weight_errors)(w, u)
    assert_tree_close(got, -2.0 * w * u)
    assert_tree_close(got, numeric_grad(ba.weight_errors, (w,), 0, seed=u))


# np.delete got a rule for det_by_minors: check it alone, in both modes and to second order.
def delete_row_and_column(A):
    return np.sum(np.sin(np.delete(np.delete(A, 1, axis=0), [0, 2], axis=1)) ** 2) + np.sum(np.delete(A, 3) ** 3)


def test_delete_rule():
    A = np.random.default_rng(4).standard_normal((3, 4))
    tangent.testing.check_grads(delete_row_and_column, A, order=2)
