"""kind_guards: a guard is true only for arguments of its key; a derivative
whose arguments change kind between calls never runs the last kind's code."""

import numpy as np
import pytest

import tangent
from tangent.argument_classes import dispatch_key
from tangent.kind_guards import conformer_for, guard_for

from .utils import numeric_grad


class Layer:
    def __init__(self, W, b):
        self.W, self.b = W, b


class Slotted:
    __slots__ = ("W",)

    def __init__(self, W):
        self.W = W


class WithProperty:
    def __init__(self, W):
        self.W = W

    @property
    def scale(self):
        return 2.0


class Sub(np.ndarray):
    pass


def _value(rng, depth=0):
    """A random argument: arrays of a few shapes and dtypes, numbers, and
    dicts, lists, tuples and objects of them."""
    choice = rng.integers(0, 9 if depth < 3 else 4)
    if choice == 0:
        return rng.standard_normal(tuple(rng.integers(1, 3, size=rng.integers(0, 3))))
    if choice == 1:
        return rng.standard_normal(2).astype(np.float32)
    if choice == 2:
        return float(rng.standard_normal())
    if choice == 3:
        return int(rng.integers(0, 3))
    if choice == 4:
        return {k: _value(rng, depth + 1) for k in ["a", "b", "c"][: rng.integers(0, 4)]}
    if choice == 5:
        return [_value(rng, depth + 1) for _ in range(rng.integers(0, 3))]
    if choice == 6:
        return tuple(_value(rng, depth + 1) for _ in range(rng.integers(0, 3)))
    if choice == 7:
        return Layer(_value(rng, depth + 1), _value(rng, depth + 1))
    return [Slotted(np.ones(2)), np.ones(3).view(Sub), WithProperty(np.ones(1))][rng.integers(0, 3)]


def _mutated(rng, value):
    """``value`` with one part changed the way a caller may change it
    between calls (a new shape, dtype or key, another order, another type),
    or ``value`` itself."""
    kind = rng.integers(0, 6)
    if type(value) is np.ndarray:
        return [value.reshape(-1), value.astype(np.float32), value.view(Sub), float(value.sum()), value,
                value.astype(">f8")][kind]
    if type(value) is dict and value:
        keys = list(value)
        if kind == 0:
            return dict(reversed(list(value.items())))
        if kind == 1:
            return {**value, "z": 1.0}
        key = keys[rng.integers(0, len(keys))]
        return {**value, key: _mutated(rng, value[key])}
    if type(value) in (list, tuple) and value:
        if kind == 0:
            return type(value)(list(value) + [1.0])
        if kind == 1:
            return list(value) if type(value) is tuple else tuple(value)
        i = rng.integers(0, len(value))
        return type(value)(_mutated(rng, v) if j == i else v for j, v in enumerate(value))
    if type(value) is Layer:
        if kind == 0:
            changed = Layer(value.W, value.b)
            changed.extra = 1.0
            return changed
        return Layer(_mutated(rng, value.W), value.b)
    if type(value) is float:
        return [np.float64(value), int(value), value][kind % 3]
    return value


def test_a_guard_is_true_only_for_arguments_of_its_key():
    rng = np.random.default_rng(20261204)
    checked = guarded = 0
    for _ in range(3000):
        args = tuple(_value(rng) for _ in range(rng.integers(1, 4)))
        key = dispatch_key(args)
        if key is None:
            continue
        guard = guard_for(key)
        if guard is None:
            continue
        guarded += 1
        assert guard(args) or any(type(a) is WithProperty for a in args), key
        for _ in range(4):
            other = tuple(_mutated(rng, a) for a in args)
            checked += 1
            if guard(other):
                assert dispatch_key(other) == key, (key, dispatch_key(other))
    assert guarded > 1000 and checked > 4000


def test_a_guard_sees_in_place_changes():
    W = np.ones((2, 3))
    params = {"W": W, "layers": [Layer(np.ones(3), 0.5)]}
    guard = guard_for(dispatch_key((params,)))
    assert guard((params,))
    W.shape = (3, 2)
    assert not guard((params,))
    W.shape = (2, 3)
    params["layers"][0].b = np.ones(1)
    assert not guard((params,))
    params["layers"][0].b = 0.5
    params["layers"][0].extra = 1
    assert not guard((params,))
    assert not guard((params, 1.0)) and not guard(())


def test_a_result_check_is_false_where_a_leaf_is_missing_or_of_another_type():
    conforms = conformer_for(((("W",), np.dtype("float64")), (("b", 1), float)))
    assert conforms({"W": np.ones(2), "b": [0, 1.0]})
    assert not conforms({"W": np.ones(2), "b": [0]})
    assert not conforms({"W": np.ones(2, np.float32), "b": [0, 1.0]})
    assert not conforms({"W": np.ones(2), "b": [0, np.float64(1.0)]})
    assert not conforms(None)
    assert conformer_for(None) is None


def _loss(params, data):
    h = np.tanh(data["x"] @ params["W"] + params["b"])
    return np.sum(h * h) * data["scale"]


def _check(df, params, data):
    grad = df(params, data)
    expected = numeric_grad(_loss, (params, data), 0)
    for key in params:
        np.testing.assert_allclose(grad[key], expected[key], rtol=1e-6, atol=1e-8)
        assert grad[key].shape == params[key].shape and grad[key].dtype == params[key].dtype


@pytest.mark.parametrize("change", ["shape in place", "new key", "dtype", "scale type", "item replaced"])
def test_a_derivative_called_with_changed_arguments_is_right(change):
    rng = np.random.default_rng(7)
    params = {"W": rng.standard_normal((3, 4)), "b": rng.standard_normal(4)}
    data = {"x": rng.standard_normal((2, 3)), "scale": 0.5}
    df = tangent.grad(_loss)
    for _ in range(3):
        _check(df, params, data)  # (the guard of these kinds is now the first tried)
    if change == "shape in place":
        data["x"] = rng.standard_normal((3, 3))
        params["b"].shape = (1, 4)
    elif change == "new key":
        params["c"] = rng.standard_normal(2)  # (unused: its gradient is zeros)
    elif change == "dtype":
        params["W"] = params["W"].astype(np.float32)
        data["x"] = data["x"].astype(np.float32)
    elif change == "scale type":
        data["scale"] = np.float64(2.0)
    else:
        params["W"] = rng.standard_normal((3, 5))
        params["b"] = rng.standard_normal(5)
    before = {k: v.copy() for k, v in params.items()}
    if change == "dtype":
        grad = df(params, data)
        assert grad["W"].dtype == np.float32 and grad["W"].shape == (3, 4)
        wide = {k: v.astype(float) for k, v in params.items()}
        expected = numeric_grad(_loss, (wide, {**data, "x": data["x"].astype(float)}), 0)
        np.testing.assert_allclose(grad["W"], expected["W"], rtol=1e-3, atol=1e-4)
    else:
        _check(df, params, data)
        _check(df, params, data)
    for k, v in params.items():
        np.testing.assert_array_equal(v, before[k])


def _hvp_by_differences(params, data, vector, eps=1e-6):
    gradient = tangent.grad(_loss, optimized=False)
    plus = gradient({k: p + eps * vector[k] for k, p in params.items()}, data)
    minus = gradient({k: p - eps * vector[k] for k, p in params.items()}, data)
    return {k: (plus[k] - minus[k]) / (2 * eps) for k in params}


@pytest.mark.parametrize("change", ["shapes", "vector of another shape", "data scale"])
def test_an_hvp_called_with_changed_arguments_is_right(change):
    rng = np.random.default_rng(8)
    params = {"W": rng.standard_normal((3, 4)), "b": rng.standard_normal(4)}
    data = {"x": rng.standard_normal((2, 3)), "scale": 0.5}
    vector = {k: rng.standard_normal(v.shape) for k, v in params.items()}
    product = tangent.hvp(_loss)
    for _ in range(3):
        product(params, data, vector)
    if change == "shapes":
        params = {"W": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
        vector = {k: rng.standard_normal(v.shape) for k, v in params.items()}
    elif change == "data scale":
        data["scale"] = 3
    else:
        vector["b"] = vector["b"][:, None]  # (refused, not run by the last kinds' code)
    before = ({k: v.copy() for k, v in params.items()}, {k: v.copy() for k, v in vector.items()})
    if change == "vector of another shape":
        with pytest.raises(tangent.TangentError, match=r"tangent vector for params\['b'\] has shape \(4, 1\)"):
            product(params, data, vector)
        return
    got = product(params, data, vector)
    expected = _hvp_by_differences(params, data, vector)
    for k in params:
        np.testing.assert_allclose(got[k], expected[k], rtol=1e-5, atol=1e-7)
        np.testing.assert_array_equal(params[k], before[0][k])
        np.testing.assert_array_equal(vector[k], before[1][k])


def test_value_and_grad_and_jvp_called_with_changed_arguments_are_right():
    rng = np.random.default_rng(9)
    vg, jvp = tangent.value_and_grad(_loss), tangent.jvp(_loss)
    for n_out in (4, 4, 2, 2, 5, 4):  # (the last kinds' guard tried first, then the general path)
        params = {"W": rng.standard_normal((3, n_out)), "b": rng.standard_normal(n_out)}
        data = {"x": rng.standard_normal((2, 3)), "scale": 0.5}
        value, grad = vg(params, data)
        assert value == pytest.approx(_loss(params, data), rel=1e-12)
        expected = numeric_grad(_loss, (params, data), 0)
        for key in params:
            np.testing.assert_allclose(grad[key], expected[key], rtol=1e-6, atol=1e-8)
        vector = {k: rng.standard_normal(v.shape) for k, v in params.items()}
        directional = sum(float(np.sum(expected[k] * vector[k])) for k in params)
        np.testing.assert_allclose(jvp(params, data, vector), directional, rtol=1e-5, atol=1e-8)
