"""A container argument's gradient built as a display in specialised code
(tangent/gradient_displays.py).

End to end: each gradient against central finite differences in float64
(tests/utils.py), for dicts, lists of tuples, objects and nested dicts,
with calls whose key must change (another shape, dtype, an extra key, an
object of another class). Then the pass alone on hand-built functions: the
chains it must leave as they are.
"""

import ast

import numpy as np
import pytest

import tangent
from tangent import runtime
from tangent.gradient_displays import gradient_displays
from tangent.rules.shape_values import Array, Struct
from tangent.shapes import Shapes
from tangent.value_facts import Specialization
from tests.utils import assert_tree_close, numeric_grad


class Layer:
    def __init__(self, **attributes):
        self.__dict__.update(attributes)


class OtherLayer:
    def __init__(self, **attributes):
        self.__dict__.update(attributes)


def rng():
    return np.random.default_rng(7)


def source_for(df, *args):
    return tangent.source(df.tangent_specialized_for(*args))


def net_dict(params, x):
    h = np.tanh(x @ params["W1"] + params["b1"])
    return np.sum((h @ params["W2"] + params["b2"]) ** 2)


def net_list(layers, x):
    W1, b1 = layers[0]
    W2, b2 = layers[1]
    h = np.tanh(x @ W1 + b1)
    return np.sum((h @ W2 + b2) ** 2)


def net_object(layer, x):
    h = np.tanh(x @ layer.W1 + layer.b1)
    return np.sum((h @ layer.W2 + layer.b2) ** 2)


def dict_params(r, n_in=3, n_hidden=4, dtype=float):
    return {"W1": r.standard_normal((n_in, n_hidden)).astype(dtype), "b1": r.standard_normal(n_hidden).astype(dtype),
            "W2": r.standard_normal((n_hidden, 2)).astype(dtype), "b2": r.standard_normal(2).astype(dtype)}


def test_dict_gradient_is_a_display_and_matches_differences():
    r = rng()
    params, x = dict_params(r), r.standard_normal((5, 3))
    df = tangent.grad(net_dict)
    source = source_for(df, params, x)
    assert "grad_of_index" not in source and "add_at" not in source
    assert "dparams = {'W1': d_params_W1, 'b1': d_params_b1, 'W2': d_params_W2, 'b2': d_params_b2}" in source
    got = df(params, x)
    assert list(got) == ["W1", "b1", "W2", "b2"] and type(got) is dict
    assert_tree_close(got, numeric_grad(net_dict, [params, x], 0))


def test_list_of_tuples_gradient_is_a_display_and_matches_differences():
    r = rng()
    p = dict_params(r)
    layers, x = [(p["W1"], p["b1"]), (p["W2"], p["b2"])], r.standard_normal((5, 3))
    df = tangent.grad(net_list)
    source = source_for(df, layers, x)
    assert "grad_of_index" not in source and "add_at" not in source
    assert "dlayers = [d_layers_item, d_layers_item_1]" in source
    got = df(layers, x)
    assert type(got) is list and all(type(t) is tuple for t in got)
    assert_tree_close(got, numeric_grad(net_list, [layers, x], 0))


def test_object_gradient_is_a_display_and_matches_differences():
    r = rng()
    p = dict_params(r)
    x = r.standard_normal((5, 3))
    df = tangent.grad(net_object)
    got = df(Layer(**p), x)
    source = source_for(df, Layer(**p), x)
    assert "grad_of_attribute" not in source and "add_at" not in source
    assert type(got) is dict and set(got) == set(p)
    assert_tree_close(got, numeric_grad(lambda d, x: net_object(Layer(**d), x), [p, x], 0))


def test_the_key_changes_with_shape_dtype_keys_and_class():
    r = rng()
    x = r.standard_normal((5, 3))
    df = tangent.grad(net_dict)
    for params in (dict_params(r), dict_params(r, n_hidden=6), {**dict_params(r), "unused": r.standard_normal(3)}):
        got = df(params, x)
        assert list(got) == list(params)
        assert_tree_close(got, numeric_grad(net_dict, [params, x], 0))
    assert np.all(df({**dict_params(r), "unused": np.ones(3)}, x)["unused"] == 0.0)
    single = dict_params(r, dtype=np.float32)
    got = df(single, x)
    assert all(g.dtype == np.float32 for g in got.values())
    assert_tree_close(got, numeric_grad(net_dict, [{k: v.astype(float) for k, v in single.items()}, x], 0),
                      rtol=1e-3, atol=1e-4)
    dg = tangent.grad(net_object)
    p = dict_params(r)
    for made in (Layer(**p), OtherLayer(**p), Layer(**dict_params(r, n_hidden=5))):
        got = dg(made, x)
        assert_tree_close(got, numeric_grad(lambda d, x: net_object(type(made)(**d), x), [vars(made), x], 0))


def nested(params, x):
    h = np.tanh(x @ params["enc"]["W"] + params["enc"]["b"])
    return np.sum(h * params["scale"]) + np.sum(params["dec"]["W"] ** 2)


def test_nested_dicts_and_an_item_without_contribution():
    r = rng()
    params = {"enc": {"W": r.standard_normal((3, 4)), "b": r.standard_normal(4)},
              "dec": {"W": r.standard_normal((4, 2)), "b": r.standard_normal(2)}, "scale": 1.5}
    x = r.standard_normal((5, 3))
    df = tangent.grad(nested)
    got = df(params, x)
    assert set(got) == {"enc", "dec", "scale"} and set(got["dec"]) == {"W", "b"}
    assert np.all(got["dec"]["b"] == 0.0) and type(got["scale"]) is float
    assert_tree_close(got, numeric_grad(nested, [params, x], 0))
    del params["dec"]["b"]  # another structure: its own code
    assert_tree_close(df(params, x), numeric_grad(nested, [params, x], 0))


def negative_items(pair, x):
    a = pair[-1]
    b = pair[0]
    return np.sum(np.sin(a * x) + b * b)


def test_negative_indices_and_several_arguments():
    r = rng()
    pair, x = (r.standard_normal(3), r.standard_normal(3)), r.standard_normal(3)
    df = tangent.grad(negative_items, wrt=(0, 1))
    dpair, dx = df(pair, x)
    assert type(dpair) is tuple
    assert_tree_close(dpair, numeric_grad(negative_items, [pair, x], 0))
    assert_tree_close(dx, numeric_grad(negative_items, [pair, x], 1))


def test_hvp_of_a_display_gradient_matches_differences_of_the_gradient():
    r = rng()
    params, x = dict_params(r), r.standard_normal((5, 3))
    v = {k: r.standard_normal(np.shape(a)) for k, a in params.items()}
    df = tangent.grad(net_dict)
    product = tangent.hvp(net_dict)(params, x, v)
    eps = 1e-6
    plus = df({k: a + eps * v[k] for k, a in params.items()}, x)
    minus = df({k: a - eps * v[k] for k, a in params.items()}, x)
    assert_tree_close(product, {k: (plus[k] - minus[k]) / (2 * eps) for k in params}, rtol=1e-4, atol=1e-6)


def test_the_gradient_does_not_change_the_arguments_and_is_fresh():
    r = rng()
    params, x = dict_params(r), r.standard_normal((5, 3))
    before = {k: v.copy() for k, v in params.items()}
    got = tangent.grad(net_dict)(params, x)
    assert all(np.array_equal(params[k], before[k]) for k in params)
    assert all(g is not params[k] and g.base is None and g.flags.writeable for k, g in got.items())


# ------------------------------------------------------------ the pass alone


def _run(source: str, structs: dict, namespace: dict | None = None) -> str:
    fdef = ast.parse(source).body[0]
    shapes = Shapes()
    shapes.structs = structs
    params = [a.arg for a in fdef.args.args]
    names = {"grad_of_index": runtime.grad_of_index, "add_at": runtime.add_at, "np": np,
             "grad_of_attribute": runtime.grad_of_attribute, **(namespace or {})}
    special = Specialization(shapes, {p: None for p in params}, frozenset(structs), names,
                             bind_global=lambda hint, value: hint)
    return ast.unparse(gradient_displays(fdef, special))


PAIR = Struct("dict", (("a", Array((3,))), ("b", Array((3,)))))


def test_the_pass_writes_a_display():
    out = _run("def f(p, g):\n"
               "    dp = grad_of_index(p, 'b', g * 2.0)\n"
               "    dp = add_at(dp, 'a', np.sin(g))\n"
               "    return dp", {"p": PAIR})
    assert "dp = {'a': dp_a, 'b': dp_b}" in out and "dp_b = g * 2.0" in out and "add_at" not in out


def test_an_item_without_contribution_is_zeros():
    out = _run("def f(p, g):\n    dp = grad_of_index(p, 'b', g * 2.0)\n    return dp", {"p": PAIR})
    assert "{'a': zeros_like(p['a']), 'b': dp_b}" in out


@pytest.mark.parametrize("body", [
    # a contribution that may be None (a parameter, a name assigned None, a call of anything)
    "    dp = grad_of_index(p, 'b', g)\n    return dp",
    "    t = None\n    dp = grad_of_index(p, 'b', t)\n    return dp",
    "    dp = grad_of_index(p, 'b', helper(g))\n    return dp",
    # the contribution's name assigned again before the display would read it
    "    t = g * 2.0\n    dp = grad_of_index(p, 'b', t)\n    t = g * 3.0\n    dp = add_at(dp, 'a', t)\n    return dp",
    # the adjoint read elsewhere, or not returned
    "    dp = grad_of_index(p, 'b', g * 2.0)\n    s = dp['b']\n    dp = add_at(dp, 'a', g * 1.0)\n    return dp",
    "    dp = grad_of_index(p, 'b', g * 2.0)\n    return g",
    # one slot twice (the second adds), a key the structure does not have
    "    dp = grad_of_index(p, 'b', g * 2.0)\n    dp = add_at(dp, 'b', g * 1.0)\n    return dp",
    "    dp = grad_of_index(p, 'c', g * 2.0)\n    return dp",
    # in a loop: left to the buffer
    "    for i in range(3):\n        dp = grad_of_index(p, 'b', g * 2.0)\n    return dp",
    # a container slot given a value not made by a chain
    "    dq = grad_of_index(q, 'inner', g * 2.0)\n    return dq",
])
def test_the_pass_leaves_chains_it_cannot_prove(body):
    structs = {"p": PAIR, "q": Struct("dict", (("inner", PAIR),))}
    out = _run("def f(p, q, g):\n" + body, structs, {"helper": lambda v: v})
    assert "grad_of_index" in out


def test_an_enclosing_chain_not_rewritten_keeps_the_inner_one():
    structs = {"p": PAIR, "q": Struct("list", ((0, PAIR), (1, PAIR)))}
    out = _run("def f(p, q, g):\n"
               "    dp = grad_of_index(p, 'a', g * 2.0)\n"
               "    dq = grad_of_index(q, 0, dp)\n"
               "    dq = add_at(dq, 1, helper(g))\n"  # (may be None: the outer chain stays)
               "    return dq", structs, {"helper": lambda v: v})
    assert out.count("grad_of_index") == 2


def float_loop(params, steps):
    x = params["x"]
    a = params["a"]
    s = 0.0
    for _ in range(steps):
        s = s + np.sin(x * a) * x
        x = 0.9 * x + 0.1 * np.tanh(s)
    return s


def test_float_items_accumulated_in_a_loop():
    params = {"x": 0.5, "a": 1.3}
    df = tangent.grad(float_loop)
    source = source_for(df, params, 5)
    assert "add_at" not in source and "dparams = {'x': dx, 'a': da}" in source
    got = df(params, 5)
    assert all(type(v) is float for v in got.values())
    assert_tree_close(got, numeric_grad(float_loop, [params, 5], 0))
    assert_tree_close(df({"x": 0.5, "a": np.array(1.3)}, 5),  # another kind: a 0-d array item
                      numeric_grad(float_loop, [{"x": 0.5, "a": np.array(1.3)}, 5], 0))
