"""The HVP specialised to its arguments does not compute the gradient itself
(issue 11): forward mode over the gradient returns only the gradient's
tangent, so the gradient's own accumulation (``dx = dx + ...``, read only by
its own updates once nothing returns it) goes, and so does the wrapping of
the gradient in its container. Each case checks the product against central
differences of the gradient (float64), and that the inputs are unchanged.
"""

from __future__ import annotations

import ast

import numpy as np

import tangent
from tangent import optimize
from tests.test_hvp_speed import assert_hvp_matches


def elementwise(params, consts):
    x = params["x"]
    return np.sum(np.sin(x) * np.exp(-x * x) + np.sqrt(consts["one"] + x * x))


def twice(x):
    return np.sum(np.tanh(x) * x + np.cos(x) * np.cos(x))


def test_dict_hvp_matches_gradient_differences():
    rng = np.random.default_rng(1)
    params = {"x": rng.standard_normal(50)}
    consts = {"one": 1.0}
    v = {"x": rng.standard_normal(50)}
    before = (params["x"].copy(), v["x"].copy())
    product = tangent.hvp(elementwise)
    gradient = tangent.grad(elementwise)
    eps = 1e-6
    expected = (
        gradient({"x": params["x"] + eps * v["x"]}, consts)["x"]
        - gradient({"x": params["x"] - eps * v["x"]}, consts)["x"]
    ) / (2 * eps)
    for _ in range(2):  # the generic code, then the code specialised at the first call
        np.testing.assert_allclose(product(params, consts, v)["x"], expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(params["x"], before[0])
    np.testing.assert_array_equal(v["x"], before[1])


def test_array_hvp_matches_gradient_differences():
    x = np.random.default_rng(2).standard_normal(30)
    assert_hvp_matches(twice, (x,), (0,))


def test_float32_argument_keeps_its_dtype():
    x = np.random.default_rng(3).standard_normal(8).astype(np.float32)
    v = np.random.default_rng(4).standard_normal(8)
    product = tangent.hvp(twice)
    for _ in range(2):
        got = product(x, v)
        assert got.dtype == np.float32
        expected = tangent.hvp(twice)(x.astype(np.float64), v)  # (itself checked against differences above)
        np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-4)


def _optimized(source: str) -> str:
    fdef = ast.parse(source).body[0]
    return ast.unparse(optimize.eliminate_dead_code(fdef))


def test_self_updates_read_by_nothing_else_go():
    got = _optimized("def f(a, b):\n    s = a * b\n    s = s + a\n    t = a + b\n    t = t * t\n    return t\n")
    assert "s =" not in got and "t = t * t" in got


def test_self_updates_read_elsewhere_stay():
    source = "def f(a, b):\n    s = a * b\n    for i in range(3):\n        s = s + a\n        b = b + s\n    return b\n"
    assert _optimized(source).count("s = ") == 2
    calls = "def f(a, b):\n    s = a * b\n    s = g(s)\n    return b\n"
    assert "g(s)" in _optimized(calls)  # a call that may have effects stays
