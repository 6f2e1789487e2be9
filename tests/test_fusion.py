"""Simplification across statements in specialised code (tangent/broadcasts.py,
tangent/common_subexpressions.py): what each pass changes, where it must
not fire, and that gradients stay right (finite differences in float64)."""

import ast

import numpy as np
from scipy.special import logsumexp

import tangent
from tangent import ir, optimize
from tangent.value_facts import Specialization
from tests.utils import check_grad, numeric_grad


def optimized(source, shapes, examples=None, pure_from=0):
    """The source optimized with a specialisation: ``shapes`` of its names,
    ``examples`` of its parameters; assignments from statement ``pure_from``
    on are generated adjoint code."""
    fdef = ast.parse(source).body[0]
    for k, stmt in enumerate(fdef.body):
        if k >= pure_from and isinstance(stmt, ast.Assign):
            ir.annotate(stmt, pure=True)
    special = Specialization(shapes, examples or {}, frozenset(), {"np": np})
    return ast.unparse(optimize.optimize_function(fdef, special))


F64 = np.zeros(3)
F32 = np.zeros(3, np.float32)


def test_a_broadcast_that_elementwise_operations_do_anyway_goes():
    source = "def f(y, s):\n    b = np.broadcast_to(s, (3,))\n    return b * 0.5 / y\n"
    out = optimized(source, {"y": (3,)}, {"y": F64})
    assert "broadcast_to" not in out and "s * 0.5 / y" in out


def test_a_broadcast_is_kept_when_its_shape_or_dtype_could_change():
    kept = [
        # the other operand's shape is not known: the broadcast may give the result its shape
        ("def f(y, s):\n    b = np.broadcast_to(s, (3,))\n    return b * y\n", {}, {"y": F64}),
        # a smaller operand: the result would be smaller
        ("def f(y, s):\n    b = np.broadcast_to(s, (3,))\n    return b * y\n", {"y": ()}, {"y": F64}),
        # float32: a Python float s would no longer promote the product to float64
        ("def f(y, s):\n    b = np.broadcast_to(s, (3,))\n    return b * y\n", {"y": (3,)}, {"y": F32}),
        # 0.5 / s would be Python's division (ZeroDivisionError for s == 0.0)
        ("def f(y, s):\n    b = np.broadcast_to(s, (3,))\n    return 0.5 / b * y\n", {"y": (3,)}, {"y": F64}),
        # read by a function: it gets the array
        ("def f(y, s):\n    b = np.broadcast_to(s, (3,))\n    return g(b) * y\n", {"y": (3,)}, {"y": F64}),
        # matrix product: not elementwise
        ("def f(y, s):\n    b = np.broadcast_to(s, (3,))\n    return b @ y\n", {"y": (3,)}, {"y": F64}),
    ]
    for source, shapes, examples in kept:
        assert "broadcast_to" in optimized(source, shapes, examples), source


def test_an_array_broadcast_goes_whatever_the_dtypes():
    source = "def f(y, d):\n    b = np.broadcast_to(np.expand_dims(d, 1), (2, 3))\n    return 2.0 * b * y\n"
    out = optimized(source, {"y": (2, 3), "d": (2,)}, {"y": np.zeros((2, 3), np.float32)})
    assert "broadcast_to" not in out and "2.0 * b * y" in out


def test_the_same_expression_is_computed_once():
    source = "def f(a, b, c):\n    t = a * b\n    u = c + a * b\n    return (t, u)\n"
    assert "u = c + t" in optimized(source, {})


def test_a_change_between_two_occurrences_keeps_both():
    source = "def f(a, b, c):\n    t = a * b\n    a = c\n    u = c + a * b\n    return (t, u)\n"
    assert optimized(source, {}).count("a * b") == 2
    # a statement that may write into an array: nothing is shared in the function
    source = "def f(a, b, c):\n    t = a * b\n    g(a)\n    u = c + a * b\n    return (t, u)\n"
    assert optimized(source, {}).count("a * b") == 2
    source = "def f(a, b, c):\n    t = a * b\n    a[0] = 1.0\n    u = c + a * b\n    return (t, u)\n"
    assert optimized(source, {}).count("a * b") == 2


def test_user_code_shares_only_arithmetic_of_numbers_and_arrays():
    source = "def f(a, b):\n    t = a * b\n    u = a * b\n    return (t, u)\n"
    assert optimized(source, {}, pure_from=99).count("a * b") == 2  # a may be an object with its own __mul__
    assert optimized(source, {"a": (3,), "b": (3,)}, pure_from=99).count("a * b") == 1


def test_a_product_with_a_negation_is_the_product_subtracted():
    source = "def f(x, d):\n    n = -x\n    p = d * x\n    g = d + d * n\n    g = g - p\n    return g\n"
    out = optimized(source, {"x": (3,)}, pure_from=1)
    assert "g = d - p" in out and "n" not in out.replace("return", "")


def elementwise(x):
    return np.sum(np.sin(x) * np.exp(-x * x) + np.sqrt(1 + x * x))


def test_the_elementwise_gradient_shares_the_product_and_keeps_the_seed_scalar():
    x = np.linspace(-1.0, 1.0, 7)
    df = tangent.grad(elementwise)
    source = tangent.source(df.tangent_specialized_for(x))
    assert "broadcast_to" not in source and "* _neg" not in source
    assert np.allclose(df(x), numeric_grad(elementwise, (x,), 0), rtol=1e-6, atol=1e-8)
    assert np.allclose(df(x, 2.5), 2.5 * df(x), rtol=1e-12, atol=0)
    seed = np.float32(2.0)
    assert np.allclose(df(x, seed), 2.0 * df(x), rtol=1e-12, atol=0)


def test_float32_arguments_keep_their_broadcast_and_their_float64_arithmetic():
    x = np.linspace(-1.0, 1.0, 7).astype(np.float32)
    df = tangent.grad(elementwise)
    assert "broadcast_to" in tangent.source(df.tangent_specialized_for(x))
    assert df(x).dtype == np.float32
    assert np.array_equal(df(x), df.tangent_generic(x).astype(np.float32))


def gmm(means, log_stds, data):
    z = (data[:, None, :] - means[None, :, :]) / np.exp(log_stds)[None, :, :]
    return np.sum(-0.5 * np.sum(z * z, axis=2) - np.sum(log_stds, axis=1))


def test_an_expanded_adjoint_multiplies_without_being_made_full_size():
    rng = np.random.default_rng(0)
    means, log_stds, data = rng.standard_normal((3, 2)), 0.1 * rng.standard_normal((3, 2)), rng.standard_normal((5, 2))
    df = tangent.grad(gmm, wrt=(0, 1))
    source = tangent.source(df.tangent_specialized_for(means, log_stds, data))
    assert "np.broadcast_to(np.expand_dims(d_sum, 2)" not in source
    check_grad(gmm, means, log_stds, data, wrt=(0, 1))


def test_a_seed_vector_for_a_vector_result_still_weights_each_element():
    def f(x):
        return np.sin(x) * 2.0

    x = np.linspace(0.0, 1.0, 4)
    seed = np.array([1.0, -2.0, 0.5, 3.0])
    assert np.allclose(tangent.vjp(f)(x, seed), seed * 2.0 * np.cos(x), rtol=1e-12)


def test_a_temporary_read_once_is_written_where_it_is_read():
    source = "def f(x, d):\n    _t = x * x\n    _u = 1.0 + _t\n    g = d / _u\n    return g\n"
    assert "g = d / (1.0 + x * x)" in optimized(source, {"x": (3,)}, pure_from=2)


def test_inlining_keeps_what_it_must():
    kept = [
        # a variable the user named
        ("def f(x, d):\n    t = x * x\n    g = d * t\n    return g\n", "t = x * x"),
        # read twice
        ("def f(x, d):\n    _t = x * x\n    g = d * _t\n    h = g + _t\n    return h\n", "_t = x * x"),
        # what it reads changes in between
        ("def f(x, d):\n    _t = x * x\n    x = d\n    g = d * _t\n    return g\n", "_t = x * x"),
        # read under a condition
        ("def f(x, d):\n    _t = x * x\n    g = d if d is None else _t\n    return g\n", "_t = x * x"),
        # the shape of x (so its operators) unknown in user code
        ("def f(y, d):\n    _t = y * y\n    g = d * _t\n    return g\n", "_t = y * y"),
    ]
    for source, line in kept:
        assert line in optimized(source, {"x": (3,)}, pure_from=2), source


def test_inlined_gradients_are_right():
    def f(x, W):
        h = np.tanh(x @ W + 1.0)
        return np.sum(h * h) / x.shape[0] + np.sum(np.sqrt(1.0 + W * W))

    rng = np.random.default_rng(1)
    check_grad(f, rng.standard_normal((4, 3)), rng.standard_normal((3, 2)), wrt=(0, 1))


def mixture(means, logits, data):
    z = data[:, None, :] - means[None, :, :]
    return np.sum(logsumexp(logits - logsumexp(logits) - 0.5 * np.sum(z * z, axis=2), axis=1))


def test_a_function_calling_logsumexp_is_simplified_and_right():
    rng = np.random.default_rng(2)
    means, logits, data = rng.standard_normal((3, 2)), rng.standard_normal(3), rng.standard_normal((6, 2))
    df = tangent.grad(mixture, wrt=(0, 1))
    source = tangent.source(df.tangent_specialized_for(means, logits, data))
    assert "_mul = z * z" not in source  # (logsumexp reads its arguments only: the function is write-free)
    check_grad(mixture, means, logits, data, wrt=(0, 1))
