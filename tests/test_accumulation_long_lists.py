"""Lists too long to key item by item (``shapes.MAX_LEAVES``) whose items
are arrays of one shape and dtype: the specialisation key is
``(list, UNIFORM, item kind)`` and the code is specialised to the items'
shape for any length (``shapes.argument_kind``). Every derivative is
checked against central finite differences (``tangent.testing.check_grads``:
reverse, forward, HVP and the vjp of the gradient, in random directions for
arguments this big); the must-not-fire cases check that a list whose items
differ keeps the generic key and still differentiates correctly.
"""

import numpy as np
import pytest

import tangent
from tangent.sequence_shapes import UNIFORM
from tangent.shapes import MAX_LEAVES, argument_kind, describe_argument
from tangent.testing import check_grads


def rnn_list(W, U, xs, h):
    for t in range(len(xs)):
        h = np.tanh(W @ h + U @ xs[t])
    return np.sum(h * h)


def weighted_items(xs, w):
    total = 0.0
    for t in range(len(xs)):
        total = total + np.sum(np.sin(xs[t]) * w)
    return total


STEPS = MAX_LEAVES + 76


def _rnn(rng, steps=STEPS):
    W = rng.standard_normal((3, 3)) * 0.4
    U = rng.standard_normal((3, 2)) * 0.4
    xs = list(rng.standard_normal((steps, 2)))
    return W, U, xs, rng.standard_normal(3)


def test_a_long_list_of_one_kind_of_array_is_keyed_by_that_kind():
    xs = list(np.ones((STEPS, 2, 3)))
    assert argument_kind(xs) == (list, UNIFORM, argument_kind(xs[0]))
    assert argument_kind(xs[:-1]) == argument_kind(xs)  # any length: one specialisation
    assert describe_argument(xs)[0] == "list"


@pytest.mark.parametrize(
    "items",
    [
        lambda: list(np.ones((STEPS, 2))) + [np.ones(3)],  # another shape
        lambda: list(np.ones((STEPS, 2))) + [np.ones(2, dtype=np.float32)],  # another dtype
        lambda: list(np.ones((STEPS, 2))) + [1.0],  # not an array
        lambda: [float(i) for i in range(STEPS)],  # numbers: the type alone, as before
        lambda: tuple(np.ones((STEPS, 2))),  # a tuple: the type alone
    ],
)
def test_lists_of_mixed_items_keep_the_generic_key(items):
    value = items()
    assert argument_kind(value) is type(value)


def test_rnn_over_a_long_list_is_specialised_and_correct():
    rng = np.random.default_rng(0)
    args = _rnn(rng)
    df = tangent.grad(rnn_list, wrt=(2,))
    source = tangent.source(df.tangent_specialized_for(*args))
    assert "matmul_adjoint_lhs" not in source  # the items' shapes are known: plain products
    check_grads(rnn_list, *args, wrt=2)


def test_a_specialisation_serves_every_length():
    rng = np.random.default_rng(1)
    W, U, xs, h = _rnn(rng)
    df = tangent.grad(rnn_list, wrt=(2,))
    longer = xs + list(rng.standard_normal((7, 2)))
    assert df.tangent_specialized_for(W, U, xs, h) is df.tangent_specialized_for(W, U, longer, h)
    check_grads(rnn_list, W, U, longer, h, wrt=2, order=1)


def test_gradient_of_the_weights_over_a_long_list():
    rng = np.random.default_rng(2)
    xs = list(rng.standard_normal((STEPS, 4)))
    w = rng.standard_normal(4)
    check_grads(weighted_items, xs, w)


def test_mixed_long_list_uses_the_generic_code():
    rng = np.random.default_rng(3)
    xs = list(rng.standard_normal((STEPS, 4))) + [rng.standard_normal(())]
    check_grads(weighted_items, xs, rng.standard_normal(4), order=1)


def replaces_first(xs, w):
    ys = list(xs)
    ys[0] = np.concatenate([xs[0], xs[0]])  # an item of another shape: the Seq no longer holds
    total = 0.0
    for t in range(len(ys)):
        total = total + np.sum(np.sin(ys[t])) * w
    return total


def test_an_item_of_another_shape_written_into_a_copy():
    rng = np.random.default_rng(4)
    xs = list(rng.standard_normal((STEPS, 3)))
    check_grads(replaces_first, xs, 0.7, order=1)
