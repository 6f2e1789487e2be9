"""Gradients that accumulate indexed contributions into one buffer.

The adjoint of ``x`` for reads ``x[i]`` (arrays, lists, tuples, dicts) and
``obj.name`` is allocated once and added into (``runtime.add_at``), so a
loop over ``xs[t]`` costs O(size of ``xs[t]``) per step, not O(size of
``xs``). Every derivative here is checked against central finite
differences (``tangent.testing.check_grads``, which also checks that no
argument, seed or tangent changes, and the second derivatives through the
buffer: HVP and the vjp of the gradient); the sharing tests check that the
returned gradients are the caller's own.
"""

import ast
import types

import numpy as np
import pytest

import tangent
from tangent.runtime import GradDict, GradList, GradTuple, add_at
from tangent.testing import check_grads

from .utils import check_grad


def rnn_list(W, U, xs, h):
    for t in range(len(xs)):
        h = np.tanh(W @ h + U @ xs[t])
    return np.sum(h * h)


def rnn_array(W, U, xs, h):
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t])
    return np.sum(h * h)


def mlp_layers(layers, x):
    for i in range(len(layers)):
        W, b = layers[i]
        x = np.tanh(x @ W + b)
    return np.sum(x * x)


def mlp_dict(params, x):
    h = np.tanh(x @ params["W1"] + params["b1"])
    return np.sum((h @ params["W2"] + params["b2"]) ** 2)


def _rnn(rng, steps=4, as_array=False):
    W = rng.standard_normal((3, 3)) * 0.4
    U = rng.standard_normal((3, 2)) * 0.4
    xs = rng.standard_normal((steps, 2))
    return W, U, (xs if as_array else list(xs)), rng.standard_normal(3)


def _loop_bodies(source: str) -> list[str]:
    tree = ast.parse(source)
    return [ast.unparse(node) for node in ast.walk(tree) if isinstance(node, ast.For)]


@pytest.mark.parametrize("as_array", [False, True])
def test_rnn_gradient_wrt_xs(as_array):
    rng = np.random.default_rng(0)
    f = rnn_array if as_array else rnn_list
    check_grads(f, *_rnn(rng, as_array=as_array), wrt=2)


@pytest.mark.parametrize("as_array", [False, True])
def test_loop_body_adds_into_the_buffer(as_array):
    df = tangent.grad(rnn_array if as_array else rnn_list, wrt=(2,))
    source = tangent.source(df)
    backward = _loop_bodies(source)[-1]
    assert "add_at(dxs, t, " in backward
    assert "grad_of_index" not in backward and "zeros_like" not in backward
    assert source.count("buffer_like(xs)") == 1  # allocated once, before the loop


def test_list_of_layers():
    rng = np.random.default_rng(1)
    layers = [(rng.standard_normal((3, 3)) * 0.5, rng.standard_normal(3)) for _ in range(3)]
    check_grads(mlp_layers, layers, rng.standard_normal((2, 3)), wrt=0)
    backward = _loop_bodies(tangent.source(tangent.grad(mlp_layers)))[-1]
    assert "add_at(dlayers, i, " in backward and "zeros_like" not in backward


def test_tuple_of_layers_keeps_tuples():
    rng = np.random.default_rng(2)
    layers = tuple((rng.standard_normal((2, 2)), rng.standard_normal(2)) for _ in range(3))
    x = rng.standard_normal((1, 2))
    check_grads(mlp_layers, layers, x, wrt=0)
    g = tangent.grad(mlp_layers)(layers, x)
    assert isinstance(g, tuple) and all(isinstance(item, tuple) for item in g)


def test_dict_parameters_straight_line():
    rng = np.random.default_rng(3)
    params = {"W1": rng.standard_normal((3, 4)), "b1": rng.standard_normal(4),
              "W2": rng.standard_normal((4, 2)), "b2": rng.standard_normal(2)}
    check_grads(mlp_dict, params, rng.standard_normal((2, 3)), wrt=0)
    source = tangent.source(tangent.grad(mlp_dict))
    assert "add_at(dparams, 'W1', " in source and "dparams + " not in source


def test_untouched_leaves_are_zeros():
    def f(params, xs):
        s = 0.0
        for t in range(2):
            s = s + np.sum(params["a"] * xs[t])
        return s

    params = {"a": np.array([1.0, 2.0]), "unused": np.array([3.0, 4.0, 5.0])}
    xs = [np.array([0.5, -1.0]), np.array([2.0, 1.0]), np.array([7.0, 7.0])]
    dparams, dxs = tangent.grad(f, wrt=(0, 1))(params, xs)
    assert np.array_equal(dparams["unused"], np.zeros(3))
    assert np.array_equal(dxs[2], np.zeros(2))  # xs[2] is never read
    check_grad(f, params, xs, wrt=(0, 1))


def test_repeated_fancy_index_in_a_loop():
    def f(x, idx):
        s = 0.0
        for k in range(3):
            s = s + np.sum(np.sin(x[idx]) * (k + 1.0))
        return s

    x = np.array([0.1, 0.7, -0.4, 1.2])
    check_grads(f, x, np.array([0, 2, 2, 3, 0]), wrt=0)


def test_slices_and_negative_indices():
    def f(x):
        s = 0.0
        for k in range(2):
            s = s + np.sum(x[1:3] * x[-1]) + x[0] * k
        return s

    check_grads(f, np.array([0.3, -1.2, 0.8, 2.0]))

    def g(xs):
        s = 0.0
        for _ in range(2):
            a, b = xs[0:2]
            s = s + np.sum(a * b) + np.sum(xs[-1] ** 2)
        return s

    check_grad(g, [np.array([1.0, 2.0]), np.array([0.5, -1.0]), np.array([3.0, 0.25])])


def test_contribution_in_one_branch_only():
    def f(xs, flags):
        s = 0.0
        for t in range(len(xs)):
            if flags[t]:
                s = s + np.sum(np.exp(xs[t]))
            else:
                s = s + 1.0
        return s

    xs = [np.array([0.1, 0.2]), np.array([-0.3, 0.4]), np.array([0.5, -0.6])]
    check_grad(f, xs, [True, False, True])


def test_buffer_shared_with_another_adjoint():
    # ys = xs: both adjoints meet; the buffer of one must not be written
    # into once the other's adjoint may refer to it
    def f(xs):
        ys = xs
        s = 0.0
        for t in range(len(xs)):
            s = s + np.sum(np.sin(xs[t]) * ys[t])
        return s

    check_grads(f, [np.array([0.1, 0.2]), np.array([0.3, -0.4])])


def test_list_built_in_the_loop_and_read_by_index():
    def f(x):
        hs = [x]
        for t in range(3):
            hs.append(np.tanh(hs[t] * 1.5))
        s = 0.0
        for t in range(4):
            s = s + np.sum(hs[t] * hs[t])
        return s

    check_grads(f, np.array([0.2, -0.5, 0.9]))


class Layer:
    def __init__(self, W, b):
        self.W = W
        self.b = b


def test_object_attributes_in_a_loop():
    def f(layer, x):
        for _ in range(3):
            x = np.tanh(x @ layer.W + layer.b)
        return np.sum(x * x)

    rng = np.random.default_rng(4)
    layer = Layer(rng.standard_normal((2, 2)), rng.standard_normal(2))
    x = rng.standard_normal((1, 2))
    g = tangent.grad(f)(layer, x)
    h = 1e-6
    for attr in ("W", "b"):
        value = getattr(layer, attr)
        for k in range(value.size):
            e = np.zeros(value.size)
            e[k] = h
            plus = Layer(**{**vars(layer), attr: value + e.reshape(value.shape)})
            minus = Layer(**{**vars(layer), attr: value - e.reshape(value.shape)})
            expected = (f(plus, x) - f(minus, x)) / (2 * h)
            assert np.isclose(g[attr].flat[k], expected, rtol=1e-5, atol=1e-7)


def _arrays(value):
    if isinstance(value, np.ndarray):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _arrays(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _arrays(v)


def test_returned_gradients_are_fresh_and_inputs_unchanged():
    rng = np.random.default_rng(5)
    W, U, xs, h = _rnn(rng, steps=5, as_array=True)
    layers = [(rng.standard_normal((3, 3)), rng.standard_normal(3)) for _ in range(4)]
    x = rng.standard_normal((2, 3))
    cases = [(rnn_array, (W, U, xs, h), (0, 1, 2, 3)), (rnn_list, (W, U, list(xs), h), (0, 1, 2, 3)),
             (mlp_layers, (layers, x), (0, 1))]
    for f, args, wrt in cases:
        before = [np.copy(a) for a in _arrays(list(args))]
        grads = tangent.grad(f, wrt=wrt)(*args)
        grads2 = tangent.grad(f, wrt=wrt)(*args)  # a second call: a buffer is never reused
        after = list(_arrays(list(args)))
        assert all(np.array_equal(a, b) for a, b in zip(before, after))
        returned = list(_arrays(list(grads))) + list(_arrays(list(grads2)))
        for i, g in enumerate(returned):
            assert not any(np.shares_memory(g, a) for a in after)
            assert not any(np.shares_memory(g, other) for other in returned[i + 1:])
        for g1, g2 in zip(_arrays(list(grads)), _arrays(list(grads2))):
            assert np.array_equal(g1, g2)


def test_seed_not_changed_by_vjp_through_buffer():
    def f(xs):
        out = []
        for t in range(len(xs)):
            out.append(xs[t] * 2.0)
        return out[0] + out[1]

    xs = [np.array([1.0, 2.0]), np.array([3.0, 4.0])]
    seed = np.array([0.5, -1.0])
    kept = seed.copy()
    dxs = tangent.vjp(f)(xs, seed)
    assert np.array_equal(seed, kept)
    assert np.allclose(dxs[0], 2.0 * kept) and np.allclose(dxs[1], 2.0 * kept)
    assert not np.shares_memory(dxs[0], seed) and not np.shares_memory(dxs[0], dxs[1])


def test_hvp_through_the_buffer():
    rng = np.random.default_rng(6)
    W, U, xs, h = _rnn(rng, steps=3, as_array=True)
    check_grads(rnn_array, W, U, xs, h, wrt=2, modes=("reverse",), order=2)
    check_grads(rnn_list, W, U, list(xs), h, wrt=2, modes=("reverse",), order=2)


# ---------------------------------------------------------------- runtime


def test_add_at_adds_in_place_into_arrays():
    buf = np.zeros((3, 2))
    out = add_at(buf, 1, np.array([1.0, 2.0]))
    assert out is buf and np.array_equal(buf[1], [1.0, 2.0])
    add_at(buf, np.array([0, 0]), np.ones((2, 2)))  # a repeated index adds twice
    assert np.array_equal(buf[0], [2.0, 2.0])


def test_add_at_replaces_slots_never_writing_into_them():
    first = np.array([1.0, 1.0])
    buf = GradList([first, np.zeros(2)])
    add_at(buf, 0, np.array([2.0, 3.0]))
    assert np.array_equal(first, [1.0, 1.0]) and np.array_equal(buf[0], [3.0, 4.0])
    d = add_at(GradDict({"a": 1.0}), "b", 2.0)
    assert d == {"a": 1.0, "b": 2.0}
    t = add_at(GradTuple((1.0, 2.0)), 1, 5.0)
    assert isinstance(t, GradTuple) and t == (1.0, 7.0)
    assert add_at(GradList([1.0, 2.0, 3.0]), slice(1, 3), [1.0, 1.0]) == [1.0, 3.0, 4.0]


def test_add_at_promotes_a_real_buffer_for_a_complex_contribution():
    out = add_at(np.zeros(2), 0, 1j)
    assert out.dtype == np.complex128 and out[0] == 1j


def test_add_at_of_an_unknown_buffer_is_an_error():
    with pytest.raises(TypeError):
        add_at(types.SimpleNamespace(), 0, 1.0)


def test_container_rebound_in_the_loop():
    def f(xs):
        s = 0.0
        for t in range(3):
            s = s + np.sum(np.sin(xs[t]))
            xs = xs * 1.5
        return s

    check_grads(f, np.array([[0.1, 0.2], [0.3, -0.4], [0.5, 0.6]]))


def test_check_finite_checks_each_contribution_not_the_buffer():
    def f(xs):
        s = 0.0
        for t in range(xs.shape[0]):
            s = s + np.sum(np.log(xs[t]))
        return s

    df = tangent.grad(f, check_finite=True)
    backward = _loop_bodies(tangent.source(df))[-1]
    assert "ensure_finite(dxs" not in backward
    xs = np.array([[1.0, 2.0], [0.5, 4.0]])
    assert np.allclose(df(xs), 1.0 / xs)
    with pytest.raises(tangent.NonFiniteGradientError):
        df(np.array([[1.0, 2.0], [0.0, 4.0]]))


# ------------------------------------------- forward mode over tape-like lists


def test_item_of_an_append_only_list_written_in_place():
    # lst is used only by [], append and pop: appending writes into lst alone,
    # but the item popped and written into is still y (forward mode must see it)
    def f(x):
        lst = []
        y = x * 1.0
        lst.append(y)
        z = lst.pop()
        z[0] = x[1] * 3.0
        return np.sum(y * y)

    check_grads(f, np.array([0.5, -1.5, 2.0]), modes=("forward",), order=1)


def test_hvp_of_a_loop_that_pushes_inactive_items():
    def f(W, xs):
        h = np.zeros(2)
        for t in range(xs.shape[0]):
            h = np.tanh(W @ h + xs[t])
        return np.sum(h * h)

    rng = np.random.default_rng(7)
    check_grads(f, rng.standard_normal((2, 2)), rng.standard_normal((3, 2)), wrt=0, modes=("reverse",), order=2)
    source = tangent.source(tangent.hvp(f))
    assert "view_tangent" not in source and "dxs = " not in source


# ------------------------------------------------------------ buffers that own their slots


def test_buffer_like_slots_take_then_sum_then_add_in_place():
    from tangent.runtime import buffer_like

    layers = [(np.ones((2, 2)), np.ones(2)), (np.ones((2, 2)), np.ones(2))]
    buf = buffer_like(layers)
    contribution = GradTuple((np.full((2, 2), 2.0), np.full(2, 3.0)))
    buf = add_at(buf, 1, contribution)
    assert buf[1] is contribution  # zeros + g is g: taken, no full-size sum
    buf = add_at(buf, 1, contribution)
    summed = buf[1]
    assert summed is not contribution and np.array_equal(contribution[0], np.full((2, 2), 2.0))
    leaves = (summed[0], summed[1])
    again = add_at(buf, 1, contribution)
    assert again is buf and buf[1][0] is leaves[0] and buf[1][1] is leaves[1]  # the sum is owned: in place
    assert np.array_equal(buf[1][0], np.full((2, 2), 6.0)) and np.array_equal(buf[1][1], np.full(2, 9.0))
    assert np.array_equal(contribution[0], np.full((2, 2), 2.0))  # the contribution is never written into
    assert np.array_equal(buf[0][0], np.zeros((2, 2))) and np.array_equal(layers[1][0], np.ones((2, 2)))


def test_a_zero_slot_takes_only_a_contribution_of_its_shape_and_dtype():
    from tangent.runtime import buffer_like, grad_of_index

    buf = add_at(buffer_like([np.zeros(3), np.zeros(3, np.float32)]), 0, np.ones(1))  # broadcasts
    assert buf[0].shape == (3,) and np.array_equal(buf[0], np.ones(3))
    buf = add_at(buf, 1, np.ones(3))  # float64 into a float32 slot: the sum's dtype, as zeros + g
    assert buf[1].dtype == np.float64
    d = grad_of_index({"a": np.zeros(2), "b": np.zeros(2)}, "a", np.ones(2))
    g = np.full(2, 5.0)
    d = add_at(d, "b", g)
    d = add_at(d, "b", g)
    assert np.array_equal(g, np.full(2, 5.0)) and np.array_equal(d["b"], np.full(2, 10.0))
    t = add_at(grad_of_index((np.zeros(2), np.zeros(2)), -1, np.ones(2)), 0, np.ones(2))
    assert isinstance(t, GradTuple) and np.array_equal(t[0], np.ones(2)) and np.array_equal(t[1], np.ones(2))


def test_a_slot_the_buffer_does_not_own_is_replaced_then_owned():
    from tangent.runtime import buffer_like

    shared = np.array([1.0, 2.0])
    d = add_at(GradDict(), "a", shared)  # an attribute's first contribution: the contribution itself
    d = add_at(d, "a", shared)
    assert np.array_equal(shared, [1.0, 2.0]) and np.array_equal(d["a"], [2.0, 4.0])
    buf = buffer_like({"w": np.zeros(2), "v": [np.zeros(2)]})
    wider = add_at(buf, "w", np.ones((3, 2)))  # the sum broadcasts wider than the slot: replaced
    assert wider["w"].shape == (3, 2)
    inner = np.ones(2)
    buf = add_at(buf, "v", GradList([inner]))
    assert np.array_equal(inner, np.ones(2)) and np.array_equal(buf["v"][0], np.ones(2))
    assert np.array_equal(add_at(buffer_like([np.zeros(2, np.float32)]), 0, np.ones(2))[0], np.ones(2))
    complex_slot = add_at(buffer_like([np.zeros(2)]), 0, np.array([1j, 0]))
    assert complex_slot[0].dtype == np.complex128  # never dropped into a real slot


def shared_contribution(params, x):
    total = 0.0
    for i in range(len(params)):
        v = params[i] * x
        total = total + np.sum(np.sin(v) * params[0])
    return total


def test_in_place_slots_with_one_contribution_in_two_slots():
    rng = np.random.default_rng(5)
    params = [rng.standard_normal(3) for _ in range(3)]
    check_grads(shared_contribution, params, rng.standard_normal(3), wrt=0)


def test_many_layers_are_specialised_and_owned():
    from .utils import assert_tree_close, numeric_grad

    rng = np.random.default_rng(6)
    layers = [(rng.standard_normal((3, 3)) * 0.5, rng.standard_normal(3)) for _ in range(90)]  # 270 items
    x = rng.standard_normal((2, 3))
    df = tangent.grad(mlp_layers)
    source = tangent.source(df.tangent_specialized_for(layers, x))
    assert "buffer_like(layers)" in source and "unbroadcast" not in source
    assert_tree_close(df(layers, x), numeric_grad(mlp_layers, [layers, x], 0))
