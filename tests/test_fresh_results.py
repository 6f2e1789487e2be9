"""tangent/fresh_results.py: what it proves of a gradient's result lets
``returning_owned`` skip walking the arguments, so every case it must not
prove is here, each written as the normal form a gradient takes; and the
gradients whose result it proves are still right and still the caller's
own (checked against central differences, inputs unchanged)."""

from __future__ import annotations

import numpy as np
import pytest

import tangent
from tangent.ownership import proven_owned
from tangent.shapes import argument_kind

CACHE: list = []
SCALE = np.full(3, 2.0)


def keep(value):
    CACHE.append(value)


class Scaled:
    """A value whose arithmetic gives back what it holds."""

    def __init__(self, held):
        self.held = held

    def __radd__(self, other):
        return self.held

    __array_ufunc__ = None


def proof(func, *args, wrt=(0,)):
    func.tangent_argument_kinds = tuple(map(argument_kind, args))
    return getattr(proven_owned(func, wrt), "leaves", None)


def params():
    return {"W": np.ones((3,)), "b": np.zeros((3,))}


def fresh(p, dresult=1.0):
    a = p["W"] * 2.0
    b = np.tanh(p["b"])
    out = {"W": a, "b": b}
    return out


def test_arithmetic_and_ufunc_results_are_proven():
    assert proof(fresh, params()) == ((("W",), np.dtype(float)), (("b",), np.dtype(float)))


def test_a_loop_accumulating_into_zeros_is_proven():
    def accumulated(p, n, dresult=1.0):
        a = tangent.runtime.zeros_like(p["W"])
        for i in range(n):
            a = a + p["W"]
        b = p["b"] * 1.0
        out = {"W": a, "b": b}
        return out

    assert proof(accumulated, params(), 3) is not None


def returns_an_input(p, dresult=1.0):
    a = p["W"]
    b = p["b"] * 1.0
    out = {"W": a, "b": b}
    return out


def returns_one_array_twice(p, dresult=1.0):
    a = p["W"] * 2.0
    out = {"W": a, "b": a}
    return out


def returns_an_array_and_its_view(p, dresult=1.0):
    a = p["W"] * 2.0
    v = np.reshape(a, (3,))
    out = {"W": a, "b": v}
    return out


def keeps_a_leaf_in_a_global(p, dresult=1.0):
    a = p["W"] * 2.0
    CACHE.append(a)
    b = p["b"] * 1.0
    out = {"W": a, "b": b}
    return out


def passes_a_leaf_to_a_function(p, dresult=1.0):
    a = p["W"] * 2.0
    keep(a)
    b = p["b"] * 1.0
    out = {"W": a, "b": b}
    return out


def stores_a_leaf_in_an_argument(p, dresult=1.0):
    a = p["W"] * 2.0
    p["cache"] = a
    b = p["b"] * 1.0
    out = {"W": a, "b": b}
    return out


def holds_a_leaf_in_a_list_it_passes_on(p, dresult=1.0):
    a = p["W"] * 2.0
    lst = [a]
    keep(lst)
    b = p["b"] * 1.0
    out = {"W": a, "b": b}
    return out


def returns_the_broadcast_seed(p, dresult=1.0):
    a = np.broadcast_to(dresult, (3,))
    b = p["b"] * 1.0
    out = {"W": a, "b": b}
    return out


def returns_an_input_on_one_branch(p, flag, dresult=1.0):
    if flag:
        a = p["W"] * 2.0
    else:
        a = p["W"]
    b = p["b"] * 1.0
    out = {"W": a, "b": b}
    return out


def returns_a_global(p, dresult=1.0):
    a = SCALE
    b = p["b"] * 1.0
    out = {"W": a, "b": b}
    return out


def adds_an_object_of_unknown_arithmetic(p, s, dresult=1.0):
    a = p["W"] + s
    b = p["b"] * 1.0
    out = {"W": a, "b": b}
    return out


def captures_a_leaf_in_a_closure(p, dresult=1.0):
    a = p["W"] * 2.0
    f = lambda: a  # noqa: E731
    keep(f)
    b = p["b"] * 1.0
    out = {"W": a, "b": b}
    return out


def returns_a_container_twice(p, dresult=1.0):
    a = p[0][0] * 2.0
    inner = (a,)
    out = [inner, inner]
    return out


def returns_two_containers(p, dresult=1.0):
    a = p[0][0] * 2.0
    b = p[1][0] * 2.0
    first = (a,)
    second = (b,)
    out = [first, second]
    return out


@pytest.mark.parametrize("func, extra", [
    (returns_an_input, ()), (returns_one_array_twice, ()), (returns_an_array_and_its_view, ()),
    (keeps_a_leaf_in_a_global, ()), (passes_a_leaf_to_a_function, ()), (stores_a_leaf_in_an_argument, ()),
    (holds_a_leaf_in_a_list_it_passes_on, ()), (returns_the_broadcast_seed, ()),
    (returns_an_input_on_one_branch, (True,)), (returns_a_global, ()),
    (adds_an_object_of_unknown_arithmetic, (Scaled(np.ones(3)),)), (captures_a_leaf_in_a_closure, ()),
])
def test_what_may_be_held_elsewhere_is_not_proven(func, extra):
    assert proof(func, params(), *extra) is None


def test_a_container_returned_twice_is_not_proven():
    p = [(np.ones(3),), (np.ones(3),)]
    assert proof(returns_two_containers, p) is not None
    assert proof(returns_a_container_twice, p) is None


def test_arguments_of_other_kinds_prove_nothing():
    class Sub(np.ndarray):
        pass

    p = {"W": np.ones(3).view(Sub), "b": np.zeros(3)}
    assert proof(fresh, p) is None
    assert proof(fresh, {"W": np.ones(3, dtype=object), "b": np.zeros(3)}) is None


def test_a_property_shadowing_an_attribute_proves_nothing():
    class Model:
        def __init__(self):
            self.W, self.b = np.ones(3), np.zeros(3)

        @property
        def scale(self):
            return 2.0

    def by_attribute(m, dresult=1.0):
        a = m.W * 2.0
        b = m.b * 1.0
        out = {"W": a, "b": b}
        return out

    class Plain:
        def __init__(self):
            self.W, self.b = np.ones(3), np.zeros(3)

    assert proof(by_attribute, Plain()) is not None
    # (its kind leaves out attributes a property shadows: any property, and nothing is proven)
    assert proof(by_attribute, Model()) is None


# ------------------------------------------------------------ end to end


def mlp(params, data):
    h = np.tanh(data["x"] @ params["W1"] + params["b1"])
    logits = h @ params["W2"] + params["b2"]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(log_probs * data["y"]) / data["x"].shape[0]


def layers(net, x):
    W1, b1 = net[0]
    W2, b2 = net[1]
    h = np.tanh(x @ W1 + b1)
    return np.sum(np.tanh(h @ W2 + b2) ** 2)


def _numeric(f, args, i, path):
    """Central differences of f at args[i] (a nested container) along each entry of the leaf at path."""
    def leaf(container):
        for step in path:
            container = container[step]
        return container

    out = np.zeros_like(leaf(args[i]))
    for k in np.ndindex(out.shape):
        vals = []
        for h in (1e-6, -1e-6):
            target = leaf(args[i])
            old = target[k]
            target[k] = old + h
            vals.append(f(*args))
            target[k] = old
        out[k] = (vals[0] - vals[1]) / 2e-6
    return out


def _mlp_arguments(rng, dtype=float):
    params = {"W1": rng.normal(size=(4, 5)), "b1": rng.normal(size=5), "W2": rng.normal(size=(5, 3)),
              "b2": rng.normal(size=3)}
    params = {k: v.astype(dtype) for k, v in params.items()}
    y = np.eye(3)[rng.integers(0, 3, size=6)]
    return params, {"x": rng.normal(size=(6, 4)), "y": y}


def test_a_proven_gradient_is_right_fresh_and_the_callers_own():
    rng = np.random.default_rng(0)
    params, data = _mlp_arguments(rng)
    before = {k: v.copy() for k, v in params.items()}
    df = tangent.grad(mlp)
    assert df.tangent_specialized_for(params, data).tangent_owned is not None  # (the fast path is taken)
    first = df(params, data)
    for k in params:
        np.testing.assert_allclose(first[k], _numeric(mlp, [params, data], 0, (k,)), rtol=1e-6, atol=1e-8)
        np.testing.assert_array_equal(params[k], before[k])
        assert first[k].flags.writeable and first[k].base is None and first[k] is not params[k]
    assert type(first) is dict and len({id(v) for v in first.values()}) == len(first)
    kept = {k: v.copy() for k, v in first.items()}
    first["W1"][...] = 7.0  # the caller's own: writing into it changes nothing else
    second = df(params, data)
    for k in params:
        np.testing.assert_array_equal(second[k], kept[k])
        np.testing.assert_array_equal(params[k], before[k])


def test_float32_parameters_get_float32_gradients_through_the_checked_path():
    rng = np.random.default_rng(1)
    params, data = _mlp_arguments(rng, np.float32)
    g = tangent.grad(mlp)(params, data)
    for k in params:
        assert g[k].dtype == np.float32
        wide = {j: v.astype(float) for j, v in params.items()}
        np.testing.assert_allclose(g[k], _numeric(mlp, [wide, data], 0, (k,)), rtol=1e-3, atol=1e-4)


def test_a_list_of_layer_tuples_gets_owned_lists_of_tuples():
    rng = np.random.default_rng(2)
    net = [(rng.normal(size=(3, 3)), rng.normal(size=3)) for _ in range(2)]
    x = rng.normal(size=(2, 3))
    df = tangent.grad(layers)
    assert df.tangent_specialized_for(net, x).tangent_owned is not None
    g = df(net, x)
    assert type(g) is list and all(type(t) is tuple for t in g)
    for i in range(2):
        for j in range(2):
            np.testing.assert_allclose(g[i][j], _numeric(layers, [net, x], 0, (i, j)), rtol=1e-6, atol=1e-8)
            assert g[i][j] is not net[i][j] and g[i][j].flags.writeable


def test_an_hvp_product_proven_fresh_is_right_and_the_callers_own():
    rng = np.random.default_rng(3)
    params, data = _mlp_arguments(rng)
    vector = {k: rng.normal(size=v.shape) for k, v in params.items()}
    before = [{k: v.copy() for k, v in d.items()} for d in (params, data, vector)]
    hvp = tangent.hvp(mlp)
    grad = tangent.grad(mlp)
    products = [hvp(params, data, vector) for _ in range(2)]
    for k in params:
        step = 1e-5
        plus = grad({j: v + step * vector[j] for j, v in params.items()}, data)[k]
        minus = grad({j: v - step * vector[j] for j, v in params.items()}, data)[k]
        np.testing.assert_allclose(products[0][k], (plus - minus) / (2 * step), rtol=1e-5, atol=1e-7)
        assert products[0][k] is not products[1][k] and products[0][k].flags.writeable
        assert not any(np.shares_memory(products[0][k], v) for d in (params, data, vector) for v in d.values())
    for d, b in zip((params, data, vector), before):
        for k in d:
            np.testing.assert_array_equal(d[k], b[k])


def test_hvp_vectors_of_another_dtype_or_as_objects_take_the_checked_path():
    class Model:
        def __init__(self, W, b):
            self.W, self.b = W, b

    def loss(m, x):
        return np.sum(np.tanh(x @ m.W + m.b) ** 2)

    rng = np.random.default_rng(4)
    m = Model(rng.normal(size=(3, 2)), rng.normal(size=2))
    x = rng.normal(size=(4, 3))
    v = Model(rng.normal(size=(3, 2)), rng.normal(size=2))
    hvp = tangent.hvp(loss)
    as_object = hvp(m, x, v)
    as_dict = hvp(m, x, {"W": v.W, "b": v.b})
    narrow = hvp(m, x, {"W": v.W.astype(np.float32), "b": v.b.astype(np.float32)})
    grad = tangent.grad(loss)
    step = 1e-5
    for k in ("W", "b"):
        plus = grad(Model(m.W + step * v.W, m.b + step * v.b), x)[k]
        minus = grad(Model(m.W - step * v.W, m.b - step * v.b), x)[k]
        want = (plus - minus) / (2 * step)
        for product in (as_object, as_dict):
            np.testing.assert_allclose(product[k], want, rtol=1e-5, atol=1e-7)
            assert product[k].dtype == np.float64
        np.testing.assert_allclose(narrow[k], want, rtol=1e-4, atol=1e-5)


def test_value_and_grad_takes_the_proven_path_and_its_value_is_right():
    rng = np.random.default_rng(5)
    params, data = _mlp_arguments(rng)
    before = {k: v.copy() for k, v in params.items()}
    code = tangent.autodiff(mlp, mode="reverse", preserve_result=True).tangent_specialized_for(params, data)
    checked = code.tangent_owned.leaves
    assert ((1,), "number") in checked and all(path[0] == 0 for path, _ in checked if path != (1,))
    vg = tangent.value_and_grad(mlp)
    for _ in range(3):
        value, g = vg(params, data)
        assert value == pytest.approx(mlp(params, data), rel=1e-12)
        for k in params:
            np.testing.assert_allclose(g[k], _numeric(mlp, [params, data], 0, (k,)), rtol=1e-6, atol=1e-8)
            np.testing.assert_array_equal(params[k], before[k])
            assert g[k].flags.writeable and g[k].base is None and not np.shares_memory(g[k], params[k])
        g["W1"][...] = 3.0  # (the caller's own: the next call's is another)


def _scaled(x):
    return x * 2.0


def test_a_vjp_keeping_an_array_result_is_checked_the_general_way():
    # (the result is an array, not a number: it could share memory with a gradient, so the walk decides)
    x, seed = np.array([1.0, -2.0, 0.5]), np.array([0.5, 1.0, 2.0])
    vjp = tangent.vjp(_scaled, preserve_result=True)
    for _ in range(2):
        g, value = vjp(x, seed)
        np.testing.assert_allclose(g, 2.0 * seed)
        np.testing.assert_allclose(value, 2.0 * x)
        assert not np.shares_memory(g, value) and not np.shares_memory(g, x) and not np.shares_memory(g, seed)
