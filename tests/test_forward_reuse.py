"""A tangent reuses the value its primal statement computed
(``tangent/forward_reuse.py``): the generated code calls the function once,
and the derivatives still equal central differences, also where the reuse
must not happen (an argument rebound or written in between)."""

from __future__ import annotations

import ast
import math

import numpy as np

import tangent
from tangent.forward_reuse import reuse_primal_calls
from tangent.testing import check_grads


def pure(func):
    return isinstance(func, ast.Attribute) and func.value.id in ("np", "math")


def rewritten(source):
    body = ast.parse(source).body
    reuse_primal_calls(body, pure, pure)
    return ast.unparse(ast.Module(body=body, type_ignores=[]))


def test_a_later_call_uses_the_primal_value():
    assert rewritten("s = np.sin(x)\nd = -dx * np.sin(x)") == "s = np.sin(x)\nd = -dx * s"


def test_the_primal_assignment_moves_up_to_the_first_use():
    assert rewritten("d = dx * np.cos(x)\ny = d + 1\nc = np.cos(x)") == "c = np.cos(x)\nd = dx * c\ny = d + 1"


def test_no_reuse_across_a_rebinding_a_write_an_impure_call_or_a_block():
    for source in [
        "s = np.sin(x)\nx = x + 1\nd = dx * np.sin(x)",  # x rebound
        "s = np.sin(x)\nx[0] = 1.0\nd = dx * np.sin(x)",  # written in place
        "s = np.sin(x)\nf(x)\nd = dx * np.sin(x)",  # a call that may write into x
        "s = np.sin(x)\ny = g(x)\nd = dx * np.sin(x)",  # the same in an assignment
        "s = np.sin(x)\ns = 2.0\nd = dx * np.sin(x)",  # s rebound
        "d = dx * np.cos(x)\ny = c + 1\nc = np.cos(x)",  # c read before it would move
        "s = np.sin(x)\nif t:\n    d = dx * np.sin(x)",  # in another block
        "s = np.sin(x)\nd = np.sin(x)",  # the whole value: d would be s's array
    ]:
        assert rewritten(source) == ast.unparse(ast.parse(source)), source


def waves(x):
    return np.sum(np.sin(x) * np.exp(-x * x) + np.sqrt(1.0 + x * x))


def test_hvp_computes_each_sine_and_cosine_once():
    x = np.linspace(-1.0, 2.0, 7)
    gradient = tangent.grad(waves)
    from tangent.api import autodiff

    source = tangent.source(autodiff(gradient, (0,), "forward"))
    assert source.count("np.sin(x)") == 1 and source.count("np.cos(x)") == 1
    v = np.random.default_rng(0).standard_normal(x.shape)
    before = (x.copy(), v.copy())
    eps = 1e-6
    expected = (gradient(x + eps * v) - gradient(x - eps * v)) / (2 * eps)
    product = tangent.hvp(waves)
    for _ in range(2):
        np.testing.assert_allclose(product(x, v), expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(before[0], x)
    np.testing.assert_array_equal(before[1], v)


def rebinds(x, y):
    a = math.sin(x) * y
    x = x * y
    return a + math.sin(x) * math.cos(x)


def test_jvp_with_a_rebound_argument_matches_differences():
    check_grads(rebinds, 0.7, 1.3, modes=("forward",), wrt=(0, 1))
    check_grads(waves, np.linspace(0.0, 1.0, 5), modes=("forward",))


# ---------------------------------------------------------------- copies of temporaries next to them


def swapped(source):
    from tangent.forward_copies import adjacent_copies

    body = ast.parse(source).body
    adjacent_copies(body)
    return ast.unparse(ast.Module(body=body, type_ignores=[]))


def test_a_copy_moves_next_to_its_temporary():
    assert swapped("t = s + a\ndt = ds + da\ns = t\nds = dt") == "t = s + a\ns = t\ndt = ds + da\nds = dt"


def test_swapped_copies_compute_the_same_values():
    sources = [
        "t = s * a\ndt = ds * a + s * da\ns = t\nds = dt",  # the tangent reads s: s = t stays below it
        "t = s + a\ns = ds + da\ns = t",  # the tangent binds s
        "t = s + a\ndt = ds + t\ns = t\nds = dt\nu = s * ds",
    ]
    for source in sources:
        before, after = {"s": 1.5, "a": 2.0, "ds": 0.25, "da": -1.0}, {"s": 1.5, "a": 2.0, "ds": 0.25, "da": -1.0}
        exec(source, {}, before)
        exec(swapped(source), {}, after)
        assert before == after, source
    assert swapped(sources[0]).index("dt = ds * a + s * da") < swapped(sources[0]).index("s = t")


def test_no_swap_in_a_function_with_try():
    source = "try:\n    t = s + a\n    dt = ds + da\n    s = t\nexcept E:\n    pass"
    assert swapped(source) == ast.unparse(ast.parse(source))


def accumulate(x, a):
    s = 0.0
    for _ in range(6):
        s = s + math.sin(x * a) * x
        x = 0.9 * x + 0.1 * math.tanh(s)
    return s


def test_hvp_of_a_loop_on_numbers_merges_its_temporaries():
    from tangent.api import autodiff

    gradient = tangent.grad(accumulate, wrt=(0, 1))
    source = tangent.source(autodiff(gradient.tangent_specialized_for(0.5, 1.3), (0, 1), "forward"))
    assert "s = s + _mul_1" in source and "ds_1 = ds_1 + d_mul_1_1" in source
    v = (0.3, -0.7)
    eps = 1e-6
    up, down = gradient(0.5 + eps * v[0], 1.3 + eps * v[1]), gradient(0.5 - eps * v[0], 1.3 - eps * v[1])
    product = tangent.hvp(accumulate, wrt=(0, 1))
    for _ in range(2):
        for got, u, d in zip(product(0.5, 1.3, *v), up, down, strict=True):
            np.testing.assert_allclose(got, (u - d) / (2 * eps), rtol=1e-5)
    check_grads(accumulate, 0.5, 1.3, modes=("forward",), wrt=(0, 1))
