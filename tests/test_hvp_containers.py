"""Hessian-vector products of functions of dicts, lists and objects, and of
numbers with 0-d vectors (the cheaper forms ``tangent.hvp`` runs them in,
``tangent/hvp_vectors.py``), each checked against central differences of the
gradient in float64; the arguments and vectors are left as they were."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

import tangent
from tangent.hvp_vectors import plain_vector


def leaves(value):
    if isinstance(value, dict):
        return [leaf for key in sorted(value) for leaf in leaves(value[key])]
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in leaves(v)]
    if hasattr(value, "__dict__"):
        return leaves(vars(value))
    return [value]


def moved(value, vector, eps):
    """``value + eps * vector`` for a leaf or a container of leaves (an
    object's vector is a dict of its attributes' vectors)."""
    if isinstance(value, dict):
        return {k: moved(value[k], vector[k], eps) if k in vector else value[k] for k in value}
    if isinstance(value, (list, tuple)):
        return type(value)(moved(a, v, eps) for a, v in zip(value, vector, strict=True))
    if hasattr(value, "__dict__"):
        new = copy.copy(value)
        for k, v in (vector if isinstance(vector, dict) else vars(vector)).items():
            setattr(new, k, moved(getattr(value, k), v, eps))
        return new
    return value + eps * vector


def gradient_differences(f, args, vector, eps=1e-6):
    gradient = tangent.grad(f)
    up = gradient(moved(args[0], vector, eps), *args[1:])
    down = gradient(moved(args[0], vector, -eps), *args[1:])
    return [(np.asarray(u) - np.asarray(d)) / (2 * eps) for u, d in zip(leaves(up), leaves(down), strict=True)]


def assert_hvp_matches(f, args, vector, rtol=1e-5):
    before = copy.deepcopy((args, vector))
    product = tangent.hvp(f)
    gradient = tangent.grad(f)(*args)
    for _ in range(2):  # the generic code and the code specialised at the first call
        got = product(*args, vector)
        expected = gradient_differences(f, args, vector)
        for g, e, like in zip(leaves(got), expected, leaves(gradient), strict=True):
            assert type(g) is type(like) and np.shape(g) == np.shape(e)
            np.testing.assert_allclose(g, e, rtol=rtol, atol=1e-7)
    for old, new in zip(leaves(before), leaves((args, vector)), strict=True):
        assert type(old) is type(new)
        np.testing.assert_array_equal(old, new)


def scalar_loop(params, consts):
    x = params["x"]
    s = 0.0
    for _ in range(consts["steps"]):
        s = s + math.sin(x * params["a"]) * x
        x = 0.9 * x + 0.1 * math.tanh(s)
    return s


class Params:
    def __init__(self, **fields):
        self.__dict__.update(fields)


def scalar_loop_object(p, consts):
    x = p.x
    s = 0.0
    for _ in range(consts["steps"]):
        s = s + np.sin(x * p.a) * x
        x = 0.9 * x + 0.1 * np.tanh(s)
    return s


def mixed(params, c):
    return np.sum(params["w"] ** 2) * params["k"] + np.sin(params["k"] * c) * params["pair"][0] * params["pair"][1]


@pytest.mark.parametrize("zero_d", [True, False])
def test_hvp_of_numbers_in_a_dict(zero_d):
    rng = np.random.default_rng(0)
    vector = {"x": rng.standard_normal(()), "a": rng.standard_normal(())}
    if not zero_d:
        vector = {k: float(v) for k, v in vector.items()}
    assert_hvp_matches(scalar_loop, ({"x": 0.5, "a": 1.3}, {"steps": 12}), vector)


def test_hvp_of_numbers_in_an_object():
    rng = np.random.default_rng(1)
    vector = {"x": rng.standard_normal(()), "a": rng.standard_normal(())}
    assert_hvp_matches(scalar_loop_object, (Params(x=0.5, a=1.3), {"steps": 9}), vector)


def test_hvp_of_arrays_numbers_and_tuples():
    rng = np.random.default_rng(2)
    params = {"w": rng.standard_normal(3), "k": 0.7, "pair": (0.4, -1.1)}
    vector = {
        "w": rng.standard_normal(3),
        "k": rng.standard_normal(()),
        "pair": (rng.standard_normal(()), np.float64(0.3)),
    }
    assert_hvp_matches(mixed, (params, 0.8), vector)


def numbers(x, a):
    for _ in range(5):
        x = x * np.cos(a * x) + a
    return x * x


def test_hvp_of_positional_numbers_with_0d_vectors():
    rng = np.random.default_rng(3)
    v = (rng.standard_normal(()), rng.standard_normal(()))
    before = [u.copy() for u in v]
    product = tangent.hvp(numbers, wrt=(0, 1))
    gradient = tangent.grad(numbers, wrt=(0, 1))
    eps = 1e-6
    up, down = gradient(0.3 + eps * v[0], 0.8 + eps * v[1]), gradient(0.3 - eps * v[0], 0.8 - eps * v[1])
    for _ in range(2):
        got = product(0.3, 0.8, *v)
        for g, u, d in zip(got, up, down, strict=True):
            assert type(g) is float
            np.testing.assert_allclose(g, (u - d) / (2 * eps), rtol=1e-5)
    for old, new in zip(before, v, strict=True):
        np.testing.assert_array_equal(old, new)


def test_plain_vector_reads_only_float64_0d_vectors_of_floats():
    v = np.array(0.25)
    assert plain_vector(0.5, v) == 0.25 and type(plain_vector(0.5, v)) is float
    assert plain_vector(0.5, np.float64(0.25)) == 0.25
    for arg, vector in [
        (np.array(0.5), v),
        (0.5, np.array(0.25, np.float32)),
        (1, v),
        (0.5, np.ones(1)),
        (0.5, np.array(0.25 + 1j)),
    ]:
        assert plain_vector(arg, vector) is vector
    given = {"x": v, "w": np.ones(2)}
    got = plain_vector({"x": 0.5, "w": np.zeros(2)}, given)
    assert got is not given and type(got["x"]) is float and got["w"] is given["w"] and type(given["x"]) is np.ndarray
    unchanged = {"w": np.ones(2)}
    assert plain_vector({"w": np.zeros(2)}, unchanged) is unchanged
    pair = [v, v]
    assert plain_vector([0.5, 0.5], pair) == [0.25, 0.25] and type(pair[0]) is np.ndarray


def rnn_dict(params, data):
    h = np.zeros((data["xs"].shape[1], params["Wh"].shape[0]))
    for t in range(data["xs"].shape[0]):
        h = np.tanh(data["xs"][t] @ params["Wx"] + h @ params["Wh"] + params["b"])
    return np.sum(h * h)


def rnn_layers(layers, xs):
    (Wx, Wh), (b,) = layers
    h = np.zeros((xs.shape[1], Wh.shape[0]))
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ Wx + h @ Wh + b)
    return np.sum(h * h)


def rnn_arrays(seed=0):
    rng = np.random.default_rng(seed)
    return (
        rng.standard_normal((3, 4)) / 2,
        rng.standard_normal((4, 4)) / 3,
        0.1 * rng.standard_normal(4),
        rng.standard_normal((5, 2, 3)),
    )


def test_hvp_of_loops_on_dicts_of_arrays_is_the_gradient_of_the_jvp():
    Wx, Wh, b, xs = rnn_arrays()
    rng = np.random.default_rng(5)
    params = {"Wx": Wx, "Wh": Wh, "b": b}
    vector = {k: rng.standard_normal(v.shape) for k, v in params.items()}
    assert_hvp_matches(rnn_dict, (params, {"xs": xs}), vector)
    product = tangent.hvp(rnn_dict)
    product(params, {"xs": xs}, vector)
    assert product.tangent_generated["reverse_over_forward"] is not None
    # the shapes of the dicts' items are known to the specialised gradient of the jvp
    specialized = product.tangent_generated["reverse_over_forward"].tangent_specialized_for(params, {"xs": xs}, vector)
    assert "unbroadcast" not in tangent.source(specialized)


def test_hvp_of_loops_on_lists_of_tuples_of_arrays():
    Wx, Wh, b, xs = rnn_arrays(1)
    rng = np.random.default_rng(6)
    layers = [(Wx, Wh), (b,)]
    vector = [(rng.standard_normal(Wx.shape), rng.standard_normal(Wh.shape)), (rng.standard_normal(b.shape),)]
    assert_hvp_matches(rnn_layers, (layers, xs), vector)


def test_hvp_of_loops_on_a_dict_holding_a_number_stays_forward_over_reverse():
    Wx, Wh, b, xs = rnn_arrays(2)
    rng = np.random.default_rng(7)
    params = {"Wx": Wx, "Wh": Wh, "b": b}
    vector = {k: rng.standard_normal(v.shape) for k, v in params.items()}
    data = {"xs": xs, "scale": 0.5}
    product = tangent.hvp(rnn_dict)
    assert_hvp_matches(rnn_dict, (params, data), vector)
    product(params, data, vector)
    assert "reverse_over_forward" not in product.tangent_generated


def rnn_object(cell, xs):
    h = np.zeros((xs.shape[1], cell.Wh.shape[0]))
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ cell.Wx + h @ cell.Wh + cell.b)
    return np.sum(h * h)


def test_hvp_of_loops_on_an_object_of_arrays_is_the_gradient_of_the_jvp():
    Wx, Wh, b, xs = rnn_arrays(3)
    rng = np.random.default_rng(8)
    cell = Params(Wx=Wx, Wh=Wh, b=b)
    vector = {"Wx": rng.standard_normal(Wx.shape), "Wh": rng.standard_normal(Wh.shape), "b": rng.standard_normal(4)}
    assert_hvp_matches(rnn_object, (cell, xs), vector)
    from tangent.hvp_vectors import arrays_only

    assert arrays_only(cell) and not arrays_only(Params(W=Wx, scale=0.5)) and not arrays_only(Params)


def two_numbers(x, a):
    s = 0.0
    for _ in range(7):
        s = s + math.sin(x * a) * x
        x = 0.9 * x + 0.1 * math.tanh(s)
    return s


def test_hvp_of_loops_on_numbers_only_is_the_gradient_of_the_jvp():
    product = tangent.hvp(two_numbers, wrt=(0, 1))
    gradient = tangent.grad(two_numbers, wrt=(0, 1))
    rng = np.random.default_rng(9)
    v = (rng.standard_normal(()), float(rng.standard_normal()))  # a 0-d array and a float
    before = v[0].copy()
    eps = 1e-6
    up, down = gradient(0.5 + eps * v[0], 1.3 + eps * v[1]), gradient(0.5 - eps * v[0], 1.3 - eps * v[1])
    for _ in range(2):
        got = product(0.5, 1.3, *v)
        for g, u, d in zip(got, up, down, strict=True):
            assert type(g) is float
            np.testing.assert_allclose(g, (u - d) / (2 * eps), rtol=1e-5)
    assert product.tangent_generated["reverse_over_forward"] is not None
    np.testing.assert_array_equal(before, v[0])


def layers_of_objects(model, data):
    h = data["x"]
    for layer in model["layers"]:
        h = np.tanh(h @ layer.W + layer.b)
    return np.sum(h**2) + np.sum(model["out"] * h)


def test_hvp_vectors_given_as_objects_at_any_depth():
    """The vector of a dict holding a list of objects may hold objects of
    their class, as the jvp's tangents may: read as the dicts of their
    attributes (was 'Layer' object is not subscriptable on the path that
    takes the gradient of the jvp)."""
    rng = np.random.default_rng(11)
    model = {"layers": [Params(W=rng.standard_normal((3, 3)), b=rng.standard_normal(3)) for _ in range(2)],
             "out": rng.standard_normal(3)}
    data = {"x": rng.standard_normal((4, 3))}
    as_dicts = {"layers": [{"W": rng.standard_normal((3, 3)), "b": rng.standard_normal(3)} for _ in range(2)],
                "out": rng.standard_normal(3)}
    as_objects = {"layers": [Params(**v) for v in as_dicts["layers"]], "out": as_dicts["out"]}
    assert_hvp_matches(layers_of_objects, (model, data), as_dicts)
    assert_hvp_matches(layers_of_objects, (model, data), as_objects)
