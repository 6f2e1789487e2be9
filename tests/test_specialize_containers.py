"""Specialisation to arguments that are dicts, lists, tuples and objects.

The first call of a derivative with a combination of argument kinds
generates code for it; for containers the kind is their structure (dict
keys, list length, attribute names) and their leaves' shapes and dtypes.
Every test calls one derivative with several structures and checks each
answer against central finite differences (tests/utils.py): the key must
capture everything the specialised code assumes.
"""

import numpy as np
import pytest

import tangent
from tangent.rules.shape_values import Array, Struct
from tangent.shapes import argument_kind, describe_argument
from tests.utils import assert_tree_close, numeric_grad


class Params:
    def __init__(self, **attributes):
        self.__dict__.update(attributes)


def params_of(d):
    return Params(**d)


def rng():
    return np.random.default_rng(0)


def specialised_source(df, *args):
    return tangent.source(df.tangent_specialized_for(*args))


# ------------------------------------------------------------ dicts


def mlp(params, data):
    h = np.tanh(data["x"] @ params["W"] + params["b"])
    return np.sum(h * h) * data["scale"]


def test_dict_parameters_are_specialised():
    r = rng()
    params = {"W": r.standard_normal((3, 4)), "b": r.standard_normal(4)}
    data = {"x": r.standard_normal((5, 3)), "scale": 0.5}
    df = tangent.grad(mlp)
    source = specialised_source(df, params, data)
    assert "unbroadcast" not in source and "matmul_adjoint" not in source
    assert_tree_close(df(params, data), numeric_grad(mlp, [params, data], 0))


def test_dict_leaf_shape_change_gets_its_own_code():
    r = rng()
    df = tangent.grad(mlp)
    data = {"x": r.standard_normal((5, 3)), "scale": 0.5}
    first = {"W": r.standard_normal((3, 4)), "b": r.standard_normal(4)}
    broadcast_b = {"W": r.standard_normal((3, 4)), "b": r.standard_normal(1)}  # b broadcasts now
    one_row = {"W": r.standard_normal((3, 4)), "b": r.standard_normal((1, 4))}
    for params in (first, broadcast_b, one_row, first):
        got = df(params, data)
        assert_tree_close(got, numeric_grad(mlp, [params, data], 0))
        assert got["b"].shape == params["b"].shape


def test_data_dict_shape_change():
    r = rng()
    df = tangent.grad(mlp)
    params = {"W": r.standard_normal((3, 4)), "b": r.standard_normal(4)}
    for x in (r.standard_normal((5, 3)), r.standard_normal((2, 3)), r.standard_normal(3)):
        data = {"x": x, "scale": 2.0}
        assert_tree_close(df(params, data), numeric_grad(mlp, [params, data], 0))


def test_dict_with_other_keys_or_order():
    def f(params):
        return np.sum(params["a"] * params["b"])

    r = rng()
    df = tangent.grad(f)
    for params in ({"a": r.standard_normal(3), "b": r.standard_normal(3)},
                   {"b": r.standard_normal(3), "a": r.standard_normal(3)},
                   {"a": r.standard_normal(3), "b": r.standard_normal(()), "c": 1.0},
                   {"a": r.standard_normal((2, 3)), "b": r.standard_normal(3)}):
        assert_tree_close(df(params), numeric_grad(f, [params], 0))


def test_nested_dicts():
    def f(model, x):
        h = np.tanh(x @ model["layer1"]["W"] + model["layer1"]["b"])
        return np.sum(h @ model["out"])

    r = rng()
    df = tangent.grad(f)
    x = r.standard_normal((4, 2))
    for width in (3, 1):
        model = {"layer1": {"W": r.standard_normal((2, width)), "b": r.standard_normal(width)},
                 "out": r.standard_normal(width)}
        assert_tree_close(df(model, x), numeric_grad(f, [model, x], 0))
    assert "unbroadcast" not in specialised_source(df, model, x)


def test_constants_from_a_dict_are_known():
    def loop(params, consts):
        x = params["x"]
        s = 0.0
        for _ in range(consts["steps"]):
            s = s + np.sin(x * params["a"]) * x
            x = consts["decay"] * x + consts["mix"] * np.tanh(s)
        return s

    df = tangent.grad(loop)
    consts = {"steps": 5, "decay": 0.9, "mix": 0.1}
    for params in ({"x": 0.5, "a": 1.3}, {"x": np.float64(0.2), "a": 0.7}):
        assert_tree_close(df(params, consts), numeric_grad(loop, [params, consts], 0))
    source = specialised_source(df, {"x": 0.5, "a": 1.3}, consts)
    assert "mul_grad" not in source and "add_grad" not in source  # float arithmetic, not list repetition
    # another number of steps; an array where a float was
    params, consts = {"x": 0.5, "a": np.array(1.3)}, dict(consts, steps=3)
    assert_tree_close(df(params, consts), numeric_grad(loop, [params, consts], 0))


def test_sequences_in_a_dict_are_still_sequences():
    def f(params):
        xs = params["xs"] * 2  # list repetition
        return xs[0] * xs[3] + np.sum(params["c"] * 2)

    df = tangent.grad(f)
    for params in ({"xs": [1.5, 2.0], "c": 3.0}, {"xs": [1.5, 2.0], "c": np.ones(2)}):
        assert_tree_close(df(params), numeric_grad(f, [params], 0))


# ------------------------------------------------------------ lists and tuples


def layered(layers, x):
    h = x
    for i in range(len(layers)):
        W, b = layers[i]
        h = np.tanh(h @ W + b)
    return np.sum(h)


def test_list_of_layers_of_another_length():
    r = rng()
    df = tangent.grad(layered)
    x = r.standard_normal((4, 3))
    two = [(r.standard_normal((3, 3)), r.standard_normal(3)), (r.standard_normal((3, 2)), r.standard_normal(2))]
    three = two + [(r.standard_normal((2, 2)), r.standard_normal(2))]
    for layers in (two, three, two[:1], two):
        assert_tree_close(df(layers, x), numeric_grad(layered, [layers, x], 0))


def test_list_items_with_different_shapes_by_a_dynamic_index():
    r = rng()
    df = tangent.grad(layered)
    x = r.standard_normal((4, 3))
    same = [(r.standard_normal((3, 3)), r.standard_normal(3)) for _ in range(2)]
    mixed = [(r.standard_normal((3, 3)), r.standard_normal(3)), (r.standard_normal((3, 3)), r.standard_normal(1))]
    for layers in (same, mixed):
        assert_tree_close(df(layers, x), numeric_grad(layered, [layers, x], 0))


def test_tuple_unpacked():
    def f(pair, x):
        W, b = pair
        return np.sum((x @ W + b) ** 2)

    r = rng()
    df = tangent.grad(f)
    x = r.standard_normal((2, 3))
    for pair in ((r.standard_normal((3, 2)), r.standard_normal(2)), (r.standard_normal((3, 2)), r.standard_normal(()))):
        assert_tree_close(df(pair, x), numeric_grad(f, [pair, x], 0))


# ------------------------------------------------------------ objects


def object_loss(model, data):
    h = np.tanh(data["x"] @ model.W + model.b)
    return np.sum(h * h)


def object_numeric(model, data):
    as_dict = {"W": model.W, "b": model.b}
    return numeric_grad(lambda d, data: object_loss(params_of(d), data), [as_dict, data], 0)


def test_object_attributes_are_specialised():
    r = rng()
    model = Params(W=r.standard_normal((3, 4)), b=r.standard_normal(4))
    data = {"x": r.standard_normal((5, 3))}
    df = tangent.grad(object_loss)
    assert "unbroadcast" not in specialised_source(df, model, data)
    assert_tree_close(df(model, data), object_numeric(model, data))


def test_object_attribute_shape_change():
    r = rng()
    df = tangent.grad(object_loss)
    data = {"x": r.standard_normal((5, 3))}
    for model in (Params(W=r.standard_normal((3, 4)), b=r.standard_normal(4)),
                  Params(W=r.standard_normal((3, 4)), b=r.standard_normal(1)),
                  Params(W=r.standard_normal((3, 1)), b=r.standard_normal(4)),
                  Params(W=r.standard_normal((3, 4)), b=r.standard_normal(4), extra="ignored")):
        got = df(model, data)
        assert_tree_close({"W": got["W"], "b": got["b"]}, object_numeric(model, data))


class WithProperty:
    def __init__(self, W):
        self.W = W
        self.__dict__["b"] = np.ones(4)  # shadowed by the property below

    @property
    def b(self):
        return np.ones(1)


def test_attribute_shadowed_by_a_property_is_not_assumed():
    r = rng()
    model = WithProperty(r.standard_normal((3, 4)))
    description = describe_argument(model)
    assert description is not None and not any(name == "b" for name, _ in description[1].items)
    data = {"x": r.standard_normal((5, 3))}

    def loss(W, data):
        return object_loss(WithProperty(W), data)

    df = tangent.grad(object_loss)
    assert_tree_close(df(model, data)["W"], numeric_grad(loss, [model.W, data], 0))


# ------------------------------------------------------------ what is not assumed


def test_a_container_written_into_is_not_assumed():
    import ast

    from tangent.shapes import infer_shapes  # (writes into arguments are refused before: check the analysis)

    tree = ast.parse("def f(params, x):\n    q = params\n    q['b'] = x\n    b = params['b']\n").body[0]
    known = {"params": describe_argument({"b": np.ones(3)})[1], "x": ()}
    assert infer_shapes(tree, known)["b"] is None
    tree = ast.parse("def f(params, x):\n    b = params['b']\n    c = params['b'][0]\n").body[0]
    shapes = infer_shapes(tree, known)
    assert shapes["b"] == (3,) and shapes["c"] == ()


def test_a_container_passed_to_a_function_is_not_assumed():
    def grow(params):
        params["b"] = np.ones((2, 2))

    def f(params, x):
        grow(params)
        return np.sum(x * params["b"])

    r = rng()
    x = r.standard_normal(2)
    try:
        df = tangent.grad(f, wrt=(1,))
        got = df({"b": np.ones(2)}, x)
    except tangent.TangentError:
        return  # refusing is fine; a wrong answer is not
    assert_tree_close(got, numeric_grad(lambda x: f({"b": np.ones(2)}, x), [x], 0))


def test_big_containers_fall_back_to_the_generic_code():
    def f(values):
        total = 0.0
        for i in range(len(values)):
            total = total + values[i] * values[i]
        return total

    from tangent.shapes import MAX_LEAVES

    values = [float(i) for i in range(MAX_LEAVES + 44)]
    assert argument_kind(values) is list  # too many leaves to key on each call
    df = tangent.grad(f)
    assert_tree_close(df(values), [2.0 * v for v in values])
    short = values[:3]
    assert_tree_close(df(short), numeric_grad(f, [short], 0))


# ------------------------------------------------------------ the key


def test_the_key_captures_structure_and_leaves():
    r = rng()
    W = r.standard_normal((2, 3))
    assert argument_kind({"W": W}) != argument_kind({"V": W})
    assert argument_kind({"W": W}) != argument_kind({"W": W.astype(np.float32)})
    assert argument_kind([W, W]) != argument_kind([W])
    assert argument_kind((W,)) != argument_kind([W])
    assert argument_kind(Params(W=W)) != argument_kind(Params(W=W[:1]))
    assert argument_kind({"a": 1.0}) != argument_kind({"a": 1})
    assert argument_kind({"W": W}) == argument_kind({"W": r.standard_normal((2, 3))})  # values do not matter
    description = describe_argument({"W": W, "n": 3, "name": "x", "inner": [1.0]})
    assert description[1] == Struct("dict", (("W", Array((2, 3))), ("n", Array((), integer=True, real=True)),
                                             ("name", description[1].item("name")),
                                             ("inner", Struct("list", ((0, Array((), real=True)),)))))


class ArrayLike:
    def __init__(self):
        self.data = np.ones(2)

    def __array__(self, dtype=None, copy=None):
        return self.data


def test_array_likes_are_not_described_by_their_attributes():
    assert argument_kind(ArrayLike()) is ArrayLike
    assert describe_argument(ArrayLike()) is None


def test_a_self_referencing_object_is_keyed():
    model = Params(W=np.ones(2))
    model.me = model

    def f(model):
        return np.sum(model.W * model.W)

    df = tangent.grad(f)
    assert_tree_close(df(model)["W"], 2.0 * np.ones(2))


@pytest.mark.parametrize("kind", [dict, list, tuple])
def test_empty_containers(kind):
    def f(x, extra):
        return np.sum(x * x)

    df = tangent.grad(f)
    assert_tree_close(df(np.ones(2), kind()), 2.0 * np.ones(2))


# ------------------------------------------------------------ NumPy on Python floats


def wave(x, a):
    s = 0.0
    for _ in range(3):
        s = s + np.sin(x * a) * np.tanh(x)
        x = 0.5 * x + np.cos(s)
    return s


def test_numpy_functions_on_floats_become_math():
    df = tangent.grad(wave, wrt=(0, 1))
    source = specialised_source(df, 0.3, 1.2)
    code = [line for line in source.splitlines() if not line.strip().startswith("#")]
    assert "math.sin" in source and "math.cos" in source and not any("np." in line for line in code)
    for args in ((0.3, 1.2), (np.float64(0.3), 1.2), (0.3, 2)):
        got = df(*args)
        want = [numeric_grad(wave, list(args), i) for i in (0, 1)]
        assert_tree_close(list(got), want)


def test_numpy_functions_on_other_scalars_stay_numpy():
    df = tangent.grad(wave, wrt=(0,))
    for x in (np.array(0.3), np.float32(0.3), np.ones(2) * 0.3):
        assert "math.sin" not in specialised_source(df, x, 1.2)
    got = df(np.float32(0.3), 1.2)
    assert_tree_close(got, numeric_grad(wave, [0.3, 1.2], 0), rtol=1e-3)
    x = np.array(0.3)
    assert_tree_close(df(x, 1.2), numeric_grad(wave, [x, 1.2], 0))


def test_a_power_of_floats_is_not_assumed_real():
    def f(x, p):
        return np.sin((x - 1.0) ** p)  # complex in Python for x < 1 and a fractional p

    df = tangent.grad(f)
    assert "math.sin" not in specialised_source(df, 2.0, 0.5)
    assert_tree_close(df(2.0, 0.5), numeric_grad(f, [2.0, 0.5], 0))


# ------------------------------------------------------------ one read per container item


def decaying(params, consts):
    x = params["x"]
    s = 0.0
    for _ in range(consts["steps"]):
        s = s + np.sin(x * params["a"]) * x
        x = consts["decay"] * x + consts["mix"] * np.tanh(s)
    return s


def test_reads_in_a_loop_are_read_once_not_saved():
    params, consts = {"x": 0.5, "a": 1.3}, {"steps": 7, "decay": 0.9, "mix": 0.1}
    df = tangent.grad(decaying)
    source = specialised_source(df, params, consts)
    assert "stack.append(_consts_decay)" not in source and "stack.append(_params_a)" not in source
    assert source.count("= consts['decay']") == 1 and source.count("= params['a']") == 1
    assert_tree_close(df(params, consts), numeric_grad(decaying, [params, consts], 0))


def repeated_attribute(p, consts):
    return np.sum(np.sin(p.x) * np.exp(-p.x * p.x) + np.sqrt(consts["one"] + p.x * p.x))


def test_an_attribute_read_several_times_is_one_variable_one_adjoint():
    p = Params(x=rng().standard_normal(6))
    df = tangent.grad(repeated_attribute)
    source = specialised_source(df, p, {"one": 1.0})
    assert source.count(" = p.x") == 1 and source.count("add_at(") == 0
    want = numeric_grad(lambda d, c: repeated_attribute(params_of(d), c), [{"x": p.x}, {"one": 1.0}], 0)
    assert_tree_close(df(p, {"one": 1.0}), want)


def cell_loop(cell, data):
    h = np.zeros((data["xs"].shape[1], cell.Wh.shape[0]))
    for t in range(data["xs"].shape[0]):
        h = np.tanh(data["xs"][t] @ cell.Wx + h @ cell.Wh + cell.b)
    return np.sum(h * h)


def test_nested_reads_in_a_loop_object_and_dict():
    r = rng()
    cell = Params(Wx=r.standard_normal((3, 4)) / 2, Wh=r.standard_normal((4, 4)) / 3, b=r.standard_normal(4))
    data = {"xs": r.standard_normal((5, 2, 3))}
    df = tangent.grad(cell_loop)
    source = specialised_source(df, cell, data)
    assert "stack.append(_Wh" not in source and source.count(" = cell.Wh") == 1
    as_dict = {"Wx": cell.Wx, "Wh": cell.Wh, "b": cell.b}
    want = numeric_grad(lambda d, data: cell_loop(params_of(d), data), [as_dict, data], 0)
    assert_tree_close(df(cell, data), want)
    dxs = tangent.grad(cell_loop, wrt=(1,))(cell, data)
    assert_tree_close(dxs, numeric_grad(cell_loop, [cell, data], 1))


def test_a_read_whose_key_changes_in_the_loop_stays_in_the_loop():
    def f(params, keys):
        s = 0.0
        for i in range(3):
            s = s + params[keys[i]] * params["w"] ** (i + 1)
        return s

    params, keys = {"a": 0.3, "b": 1.2, "w": 0.7}, ["a", "b", "a"]
    df = tangent.grad(f)
    assert_tree_close(df(params, keys), numeric_grad(f, [params, keys], 0))
    params = {"a": 0.3, "b": 1.2, "w": 0.7}
    assert specialised_source(df, params, keys).count("params['w']") == 1


def test_a_container_changed_in_the_loop_is_read_every_step():
    scale = {"k": 1.0}

    def bump():
        scale["k"] = scale["k"] * 1.5  # a user function changing the dict the caller reads

    def f(x, consts):
        s = 0.0
        for _ in range(3):
            s = s + consts["k"] * x
            bump()
        return s

    def numeric(x):
        scale["k"] = 1.0
        return f(x, scale)

    df = tangent.grad(f)
    scale["k"] = 1.0
    source = specialised_source(df, 2.0, scale)
    assert source.count("consts['k']") >= 2 or "consts['k']" in source.split("for ")[1]
    scale["k"] = 1.0
    got = df(2.0, scale)
    assert np.isclose(got, numeric_grad(numeric, [2.0], 0))


def test_an_aliased_container_written_in_the_loop_is_not_shared():
    def f(x, consts):
        d = consts
        s = 0.0
        for _ in range(3):
            s = s + consts["k"] * x
            d["k"] = consts["k"] + x
        return s

    df_or_refusal = None
    try:
        df_or_refusal = tangent.grad(f)
        got = df_or_refusal(2.0, {"k": 1.0})
    except tangent.TangentError:
        return  # refusing is fine; a wrong answer is not
    assert np.isclose(got, numeric_grad(lambda x: f(x, {"k": 1.0}), [2.0], 0))
    assert "consts['k']" in specialised_source(df_or_refusal, 2.0, {"k": 1.0}).split("for ")[1]


# ------------------------------------------------------------ scalars and shape facts


def scaled_loop(x, s):
    t = 0.0
    for _ in range(3):
        t = t + np.sum(np.sin(x * s) * s)
    return t


@pytest.mark.parametrize("scalar", [np.float32, np.float16])
def test_numpy_float32_and_float16_scalars_are_specialised(scalar):
    x = np.linspace(0.1, 1.0, 3).astype(np.float32)
    s = scalar(0.7)
    df = tangent.grad(scaled_loop, wrt=(0, 1))
    source = specialised_source(df, x, s)
    assert "unbroadcast" not in source and "grad_sum" not in source and "math." not in source
    dx, ds = df(x, s)
    assert dx.dtype == np.float32 and type(ds) is scalar
    want_x = numeric_grad(scaled_loop, [x.astype(float), float(s)], 0)
    want_s = numeric_grad(scaled_loop, [x.astype(float), float(s)], 1)
    tolerance = 2e-3 if scalar is np.float16 else 1e-4
    assert np.allclose(dx, want_x, rtol=tolerance, atol=tolerance)
    assert np.isclose(float(ds), want_s, rtol=tolerance, atol=tolerance)


def mean_of_squares(x):
    return np.mean(np.sin(x) ** 2) + np.mean(x, axis=0, keepdims=True).sum()


def test_the_size_ratio_of_a_mean_is_a_constant():
    x = rng().standard_normal((3, 4))
    df = tangent.grad(mean_of_squares)
    source = specialised_source(df, x)
    assert "np.size" not in source
    assert_tree_close(df(x), numeric_grad(mean_of_squares, [x], 0))
