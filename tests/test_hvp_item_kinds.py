"""Kinds of the items of container arguments in specialised code
(``kinds.item_kinds``, ``container_reads.assumed_containers``): an HVP of a
loop reading its constants from a dict or an object decides ``+`` and ``*``
statically, where the key says what the items are and nothing changes them,
and keeps the run-time decision otherwise. Each product is checked against
central differences of the gradient in float64 (``assert_hvp_matches``),
each gradient against central differences of the function."""

from __future__ import annotations

import numpy as np

import tangent
from tests.test_hvp_containers import assert_hvp_matches

CONSTS = {"steps": 6, "decay": 0.9, "mix": 0.2}


def loop_dict(params, consts):
    x = params["x"]
    a = params["a"]
    s = 0.0
    for _ in range(consts["steps"]):
        s = s + np.sin(x * a) * x
        x = consts["decay"] * x + consts["mix"] * np.tanh(s)
    return s


class Point:
    def __init__(self, x, a):
        self.x = x
        self.a = a


def loop_object(p, consts):
    x = p.x
    s = 0.0
    for _ in range(consts["steps"]):
        s = s + np.sin(x * p.a) * x
        x = consts["decay"] * x + consts["mix"] * np.tanh(s)
    return s


def check_grad(f, params, consts, eps=1e-6):
    """The gradient w.r.t. the dict ``params`` against central differences of ``f``."""
    got = tangent.grad(f)(params, consts)
    for key, value in params.items():
        up, down = dict(params, **{key: value + eps}), dict(params, **{key: value - eps})
        expected = (f(up, consts) - f(down, consts)) / (2 * eps)
        np.testing.assert_allclose(got[key], expected, rtol=1e-6, atol=1e-8)


def _specialised_hvp_source(f, args):
    """The forward mode over the gradient that hvp runs for these arguments."""
    gradient = tangent.grad(f).tangent_specialized_for(*args, 1.0)
    return tangent.autodiff(gradient, (0,), "forward", optimized=True).tangent_source


def test_hvp_of_a_loop_with_constants_in_a_dict():
    params = {"x": 0.3, "a": 1.2}
    assert_hvp_matches(loop_dict, (params, dict(CONSTS)), {"x": 0.7, "a": -0.4})
    source = _specialised_hvp_source(loop_dict, (params, dict(CONSTS)))
    assert "add_tangent" not in source and "add_or_concat" not in source


def test_hvp_of_a_loop_with_parameters_in_an_object():
    assert_hvp_matches(loop_object, (Point(0.3, 1.2), dict(CONSTS)), {"x": 0.7, "a": -0.4})
    source = _specialised_hvp_source(loop_object, (Point(0.3, 1.2), dict(CONSTS)))
    assert "add_tangent" not in source


def test_an_item_that_is_a_list_repeats_and_concatenates():
    def f(params, consts):
        xs = [params["x"]] * consts["n"] + consts["extra"]
        total = 0.0
        for i in range(len(xs)):
            total = total + xs[i] * xs[i] * params["a"]
        return total

    args = ({"x": 0.5, "a": 1.5}, {"n": 3, "extra": [0.25, 2.0]})
    assert_hvp_matches(f, args, {"x": 1.0, "a": 0.3})
    check_grad(f, *args)


def test_an_integer_item_and_a_float_item_of_the_same_name_in_two_calls():
    def f(params, consts):
        y = params["x"] * consts["k"] + params["x"] * params["x"]
        return y * consts["k"]

    for k in (3, 0.5):  # two keys: each specialisation knows its own item's kind
        args = ({"x": 0.7}, {"k": k})
        assert_hvp_matches(f, args, {"x": 1.0})
        check_grad(f, *args)


def test_a_container_written_into_is_not_assumed():
    def f(params, consts):
        consts = dict(consts)  # rebound, then written into: nothing assumed of its items
        consts["k"] = [consts["k"]]
        ys = consts["k"] * 2
        return ys[0] * params["x"] * params["x"] + ys[1] * params["x"]

    args = ({"x": 0.4}, {"k": 1.5})
    assert_hvp_matches(f, args, {"x": 1.0})
    check_grad(f, *args)
