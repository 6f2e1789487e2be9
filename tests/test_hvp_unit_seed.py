"""The HVP specialised to its arguments reads the gradient's seed as 1.0
(tangent/unit_seed.py): ``dresult * np.sin(x)`` in the gradient is
``np.sin(x)`` (and the product of tangents forward mode writes for it goes)
where the other operand certainly holds a float and is never written into.
Each HVP is checked against central differences of the gradient in float64.
"""

from __future__ import annotations

import ast

import numpy as np
import pytest

import tangent
from tangent import ir
from tangent.unit_seed import read_seed_as_one
from tests.utils import numeric_grad


def _folded(source: str, seed: str = "dresult") -> str:
    fdef = ast.parse(source).body[0]
    for node in ast.walk(fdef):  # (the callees resolve.py annotates)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.value.id == "np":
            ir.annotate(node, callee=getattr(np, node.func.attr))
    read_seed_as_one(fdef, seed)
    return ast.unparse(fdef)


def test_the_seed_times_a_float_value_is_the_value():
    got = _folded("def g(x, dresult):\n    s = np.sin(x)\n    a = dresult * s\n    b = s * dresult\n"
                  "    return a + b * dresult / 2.0\n")
    assert "a = s\n" in got and "b = s\n" in got and "dresult" not in got.split(":", 1)[1]


def test_values_not_certainly_float_or_written_into_keep_the_product():
    # a parameter (an int array, maybe), a name written into, read by another call, or assigned twice
    assert "1.0 * x" in _folded("def g(x, dresult):\n    return dresult * x\n")
    written = _folded("def g(x, dresult):\n    s = np.sin(x)\n    s[0] = 2.0\n    return dresult * s\n")
    assert "1.0 * s" in written
    passed = _folded("def g(x, dresult):\n    s = np.sin(x)\n    h(s)\n    return dresult * s\n")
    assert "1.0 * s" in passed
    twice = _folded("def g(x, dresult):\n    s = np.sin(x)\n    s = np.floor(x)\n    return dresult * s\n")
    assert "1.0 * s" in twice
    keyword = _folded("def g(x, o, dresult):\n    s = np.sin(x, out=o)\n    return dresult * s\n")
    assert "1.0 * s" in keyword


def test_a_seed_assigned_is_left_alone():
    source = "def g(x, ds):\n    s = np.sin(x)\n    ds = ds + 1.0\n    return ds * s\n"
    assert _folded(source, "ds") == ast.unparse(ast.parse(source))


def wavy(x, c):
    s = np.sin(x) * np.exp(-x * x) + np.sqrt(c["one"] + x * x)
    return np.sum(s * np.cos(x)) + np.sum(np.tanh(x) * x)


def written_into(x):
    s = np.sin(x)
    t = s * s
    s[0] = 3.0 * x[1]  # (the user's write, after reading s)
    return np.sum(t * s) + np.sum(np.exp(x) * s)


def _gradient_differences(gradient, x, v, *rest, eps=1e-6):
    return (gradient(x + eps * v, *rest) - gradient(x - eps * v, *rest)) / (2 * eps)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("vector_kind", ["float", "int"])
def test_hvp_with_the_seed_read_as_one_matches_differences(dtype, vector_kind):
    rng = np.random.default_rng(11)
    x = rng.standard_normal(7).astype(dtype)
    v = rng.integers(-2, 3, 7) if vector_kind == "int" else rng.standard_normal(7)
    c = {"one": 1.0}
    before = (x.copy(), v.copy())
    expected = _gradient_differences(tangent.grad(wavy), x.astype(np.float64), v.astype(np.float64), c)
    product = tangent.hvp(wavy)
    for _ in range(2):  # the generic code, then the code specialised at the first call
        got = product(x, c, v)
        assert got.dtype == dtype
        np.testing.assert_allclose(got, expected, rtol=1e-5 if dtype == np.float64 else 2e-3, atol=1e-6)
    np.testing.assert_array_equal(x, before[0])
    np.testing.assert_array_equal(v, before[1])


def test_hvp_of_a_function_writing_into_a_float_value():
    rng = np.random.default_rng(12)
    x, v = rng.standard_normal(5), rng.standard_normal(5)
    expected = _gradient_differences(tangent.grad(written_into), x, v)
    product = tangent.hvp(written_into)
    for _ in range(2):
        np.testing.assert_allclose(product(x, v), expected, rtol=1e-5, atol=1e-7)


def test_specialised_hvp_has_no_seed_products():
    from tangent.api import _forward_over_gradient
    x = np.random.default_rng(13).standard_normal(6)
    specialized = tangent.grad(wavy).tangent_specialized_for(x, {"one": 1.0}, 1.0)
    body = tangent.source(_forward_over_gradient(specialized, (0,))).split('"""', 2)[2]
    assert "dresult" not in body


def copied_then_written(x):
    v = np.arctan(x)
    y = v * 1.0  # a copy of v, written into below: v must not change
    y[1, 2] = 0.38
    return np.sum(np.sin(v)) + 0.5 * np.sum(y * y)


def test_a_copy_by_one_written_into_stays_a_copy():
    # fuzz seeds 9184511 and 9184528 (hvp): `y = v * 1.0` read as `y = v` made the write change v
    rng = np.random.default_rng(0)
    x, v = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    grad = tangent.grad(copied_then_written)
    np.testing.assert_allclose(grad(x), numeric_grad(copied_then_written, [x.copy()], 0), rtol=1e-6, atol=1e-8)
    step = 1e-5
    want = (grad(x + step * v) - grad(x - step * v)) / (2 * step)
    np.testing.assert_allclose(tangent.hvp(copied_then_written)(x, v), want, rtol=1e-5, atol=1e-7)
