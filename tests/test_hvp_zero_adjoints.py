"""Forward mode over a gradient: the zero tangent of an adjoint started as
``da = zeros_like(a)`` reads ``a`` (a float or an array of floats, from the
specialisation's kinds) rather than ``da``, so an adjoint whose value only its
tangent needs (the HVP returns the tangent, not the gradient) is dropped with
the products accumulated into it. Each product is checked against central
differences of the gradient in float64 (tests/test_hvp_containers.py)."""

from __future__ import annotations

import ast
import math

import numpy as np

import tangent
from tangent import ir, runtime
from tangent.api import _forward_over_gradient
from tangent.forward import _zero_of_float
from tests.test_hvp_containers import assert_hvp_matches


def scalar_loop(params, consts):
    x = params["x"]
    a = params["a"]
    s = 0.0
    for _ in range(consts["steps"]):
        s = s + math.sin(x * a) * x
        x = consts["decay"] * x + consts["mix"] * math.tanh(s)
    return s


def array_loop(params, n):
    x = params["x"]
    a = params["a"]
    s = 0.0
    for _ in range(n):
        s = s + np.sum(np.sin(x * a) * x)
        x = 0.9 * x + 0.1 * np.tanh(s)
    return s


CONSTS = {"steps": 12, "decay": 0.99, "mix": 0.01}


def hvp_source(f, *args):
    specialized = tangent.grad(f).tangent_specialized_for(*args, 1.0)
    return tangent.source(_forward_over_gradient(specialized, (0,)))


def test_the_adjoint_only_its_tangent_needs_goes():
    params = {"x": 0.5, "a": 1.3}
    text = hvp_source(scalar_loop, params, CONSTS)
    assert "dda = zeros_like(a)" in text
    assert "da = da +" not in text and "\n    da = " not in text  # (dda = dda + ... stays)
    assert_hvp_matches(scalar_loop, (params, CONSTS), {"x": 0.7, "a": -0.4})


def test_arrays_of_floats():
    # (tangent.hvp runs loops on arrays as the gradient of a jvp: forward mode over the gradient called here)
    rng = np.random.default_rng(3)
    params = {"x": rng.standard_normal(5), "a": rng.standard_normal(5)}
    v = {"x": rng.standard_normal(5), "a": rng.standard_normal(5)}
    specialized = tangent.grad(array_loop).tangent_specialized_for(params, 4, 1.0)
    product = _forward_over_gradient(specialized, (0,))
    assert "dda = zeros_like(a)" in tangent.source(product) and "da = da +" not in tangent.source(product)
    eps, gradient = 1e-6, tangent.grad(array_loop)
    up = gradient({k: params[k] + eps * v[k] for k in params}, 4)
    down = gradient({k: params[k] - eps * v[k] for k in params}, 4)
    before = {k: (params[k].copy(), v[k].copy()) for k in params}
    got = product(params, 4, 1.0, v)
    for k in params:
        assert got[k].dtype == np.float64 and got[k].shape == (5,)
        np.testing.assert_allclose(got[k], (up[k] - down[k]) / (2 * eps), rtol=1e-5, atol=1e-7)
        np.testing.assert_array_equal(before[k][0], params[k])
        np.testing.assert_array_equal(before[k][1], v[k])


def _zeros_call(arg: str) -> ast.Call:
    call = ast.parse(f"zeros_like({arg})", mode="eval").body
    ir.annotate(call, callee=runtime.zeros_like)
    return call


def test_only_the_zero_of_a_float_is_read_through():
    # zeros_like(True) is None and zeros_like(None) 0.0: without the kind "float" the tangent stays zeros_like(da)
    assert _zero_of_float(_zeros_call("a"), "da", {"a": "float"}).id == "a"
    assert _zero_of_float(_zeros_call("a"), "da", {"a": "int"}) is None
    assert _zero_of_float(_zeros_call("a"), "da", {"a": None}) is None
    assert _zero_of_float(_zeros_call("a"), "a", {"a": "float"}) is None  # (a = zeros_like(a): the old a is gone)
    other = ast.parse("np.zeros_like(a)", mode="eval").body
    assert _zero_of_float(other, "da", {"a": "float"}) is None


def test_the_tangent_stack_pops_as_the_stack_does():
    text = hvp_source(scalar_loop, {"x": 0.5, "a": 1.3}, CONSTS)
    assert "pop(-1)" not in text and "dstack.pop()" in text


def pops_first_and_last(x):
    values = [x, 2.0 * x, x * x]
    first = values.pop(0)
    last = values.pop()
    return first * last + np.sin(values[0])


def test_a_pop_at_an_index_keeps_it():
    source = tangent.source(tangent.jvp(pops_first_and_last))
    assert ".pop(0)" in source
    eps, x = 1e-6, 0.8
    expected = (pops_first_and_last(x + eps) - pops_first_and_last(x - eps)) / (2 * eps)
    np.testing.assert_allclose(tangent.jvp(pops_first_and_last)(x, 1.0), expected, rtol=1e-7)
