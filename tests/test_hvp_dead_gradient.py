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
import pytest

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


def params_loss(p, x):
    return np.sum(np.tanh(x @ p["W"]) * p["b"][0] ** 2) + np.sum(np.sin(p["b"][1]) * p["b"][0])


def _gradient_differences_float64(gradient, p, x, v, eps=1e-6):
    def along(sign):
        moved = {"W": p["W"] + sign * eps * v["W"], "b": [b + sign * eps * vb for b, vb in zip(p["b"], v["b"])]}
        return gradient(moved, x)
    up, down = along(1.0), along(-1.0)
    return {"W": (up["W"] - down["W"]) / (2 * eps), "b": [(u - d) / (2 * eps) for u, d in zip(up["b"], down["b"])]}


@pytest.mark.parametrize("vector_dtype", [np.float32, np.float64])
def test_float32_containers_keep_their_dtype(vector_dtype):
    # the specialised HVP returns its tangent as computed (not cast to the gradient's dtype, which it no
    # longer computes): each product still has its argument's dtype, and matches central differences of
    # the gradient in float64
    rng = np.random.default_rng(6)
    p64 = {"W": rng.standard_normal((3, 2)), "b": [rng.standard_normal(2), rng.standard_normal(2)]}
    x64 = rng.standard_normal((4, 3))
    v = {"W": rng.standard_normal((3, 2)).astype(vector_dtype), "b": [rng.standard_normal(2).astype(vector_dtype)
                                                                    for _ in range(2)]}
    p32 = {"W": p64["W"].astype(np.float32), "b": [b.astype(np.float32) for b in p64["b"]]}
    x32 = x64.astype(np.float32)
    v64 = {"W": v["W"].astype(np.float64), "b": [b.astype(np.float64) for b in v["b"]]}
    at = {"W": p32["W"].astype(np.float64), "b": [b.astype(np.float64) for b in p32["b"]]}
    expected = _gradient_differences_float64(tangent.grad(params_loss), at, x32.astype(np.float64), v64)
    before = [p32["W"].copy(), *(b.copy() for b in p32["b"]), v["W"].copy(), *(b.copy() for b in v["b"])]
    product = tangent.hvp(params_loss)
    for _ in range(2):  # the generic code, then the code specialised at the first call
        got = product(p32, x32, v)
        assert got["W"].dtype == np.float32 and [b.dtype for b in got["b"]] == [np.float32, np.float32]
        np.testing.assert_allclose(got["W"], expected["W"], rtol=1e-4, atol=1e-5)
        for g, e in zip(got["b"], expected["b"], strict=True):
            np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)
    after = [p32["W"], *p32["b"], v["W"], *v["b"]]
    for old, new in zip(before, after, strict=True):
        np.testing.assert_array_equal(old, new)


def test_specialised_hvp_does_not_compute_the_gradient():
    from tangent.api import _forward_over_gradient
    x = np.random.default_rng(7).standard_normal(6).astype(np.float32)
    specialized = tangent.grad(twice).tangent_specialized_for(x, 1.0)
    text = tangent.source(_forward_over_gradient(specialized, (0,)))
    assert "tangent_like" not in text  # (nothing reads the gradient's dtype)


def _with_runtime_callees(source: str) -> ast.FunctionDef:
    from tangent import ir, runtime
    fdef = ast.parse(source).body[0]
    for node in ast.walk(fdef):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and hasattr(runtime, node.func.id):
            ir.annotate(node, callee=getattr(runtime, node.func.id), pure_call=node.func.id != "add_at")
    return fdef


def test_a_buffer_read_only_by_its_own_add_at_goes():
    got = ast.unparse(optimize.eliminate_dead_code(_with_runtime_callees(
        "def f(p, g, h):\n    dp = grad_of_index(p, 'a', g)\n    dp = add_at(dp, 'b', h)\n"
        "    for i in range(3):\n        dp = add_at(dp, 'b', h)\n    return g\n")))
    assert "dp" not in got


def test_a_buffer_not_allocated_here_or_read_elsewhere_stays():
    # add_at writes into the buffer in place: on an argument (or what else may hold it) that is seen
    aliased = "def f(p, g, h):\n    dp = p\n    dp = add_at(dp, 'b', h)\n    return g\n"
    assert "add_at" in ast.unparse(optimize.eliminate_dead_code(_with_runtime_callees(aliased)))
    read = "def f(p, g, h):\n    dp = grad_of_index(p, 'a', g)\n    dp = add_at(dp, 'b', h)\n    return dp['a']\n"
    assert "add_at" in ast.unparse(optimize.eliminate_dead_code(_with_runtime_callees(read)))
    effects = "def f(p, g, h):\n    dp = grad_of_index(p, 'a', g)\n    dp = add_at(dp, 'b', h(g))\n    return g\n"
    assert "add_at" in ast.unparse(optimize.eliminate_dead_code(_with_runtime_callees(effects)))


def layers(params, x):
    h = np.tanh(x @ params["W1"] + params["b1"])
    return np.sum(np.sin(h @ params["W2"]))


def test_hvp_drops_the_gradients_buffer():
    # forward mode over a dict's gradient: the gradient's own adjoint buffer (grad_of_index, then add_at
    # per item) is read by nothing once only its tangent is returned, and goes with what fills it
    rng = np.random.default_rng(8)
    params = {"W1": rng.standard_normal((3, 4)), "b1": rng.standard_normal(4), "W2": rng.standard_normal((4, 2))}
    x = rng.standard_normal((5, 3))
    from tangent.api import _forward_over_gradient
    specialized = tangent.grad(layers).tangent_specialized_for(params, x, 1.0)
    text = tangent.source(_forward_over_gradient(specialized, (0,)))
    # neither the gradient's buffer nor what fills it is left (the tangent itself is a display of the dict)
    assert "add_at(" not in text and "grad_of_index(" not in text and "\n    dparams =" not in text
    v = {k: rng.standard_normal(a.shape) for k, a in params.items()}
    gradient, eps = tangent.grad(layers), 1e-6
    up = gradient({k: params[k] + eps * v[k] for k in params}, x)
    down = gradient({k: params[k] - eps * v[k] for k in params}, x)
    product = tangent.hvp(layers)
    for _ in range(2):  # the generic code, then the code specialised at the first call
        got = product(params, x, v)
        for k in params:
            np.testing.assert_allclose(got[k], (up[k] - down[k]) / (2 * eps), rtol=1e-5, atol=1e-7)
