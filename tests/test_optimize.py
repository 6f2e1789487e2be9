"""Unit tests of the optimizer passes: what each removes, and that gradients
do not change (checked against the unoptimized derivative and finite
differences)."""

import ast
import math

import numpy as np
import pytest

import tangent
from tangent import optimize
from tests.utils import check_grad, numeric_grad


def parse(source):
    return ast.parse(source).body[0]


def pure(fdef):
    for node in ast.walk(fdef):
        if isinstance(node, ast.Assign):
            node.tangent_pure = True
    return fdef


def test_constant_folding_evaluates_literals_and_picks_branches():
    fdef = parse("def f(x):\n    a = 2 - 1\n    b = x if None is None else -x\n    c = False or x\n    return a * b * c\n")
    out = ast.unparse(optimize.fold_constants(fdef))
    assert "a = 1" in out
    assert "b = x" in out and "None is None" not in out
    assert "c = x" in out


def test_algebraic_simplification_only_in_generated_adjoint_code():
    user = parse("def f(x):\n    y = x * 1.0\n    z = x ** 1\n    return y + z\n")
    assert ast.unparse(optimize.fold_constants(user)).count("1") == 2  # user code keeps fresh copies
    generated = pure(parse("def f(x, g):\n    dx = g * 1.0\n    dy = x ** 1\n    dz = g + -x\n    return dx\n"))
    out = ast.unparse(optimize.fold_constants(generated))
    assert "dx = g\n" in out + "\n"
    assert "dy = x" in out
    assert "dz = g - x" in out


def test_copy_propagation_uses_the_source_directly():
    fdef = parse("def f(x):\n    a = x\n    b = a * 2\n    return b\n")
    out = ast.unparse(optimize.propagate_copies(fdef))
    assert "a = x" not in out and "b = x * 2" in out


def test_copy_propagation_keeps_copies_whose_source_changes():
    fdef = parse("def f(x):\n    a = x\n    x = x + 1\n    return a * x\n")
    out = ast.unparse(optimize.propagate_copies(fdef))
    assert "a = x" in out


def test_dead_code_elimination_drops_unread_pure_assignments_only():
    fdef = pure(parse("def f(x):\n    unused = x * 2\n    y = x + 1\n    return y\n"))
    out = ast.unparse(optimize.eliminate_dead_code(fdef))
    assert "unused" not in out
    side_effect = parse("def f(x):\n    unused = print(x)\n    return x\n")
    assert "print" in ast.unparse(optimize.eliminate_dead_code(side_effect))


def test_empty_branches_and_loops_are_removed():
    fdef = pure(parse("def f(x, c):\n    if c:\n        t = x * 2\n    for i in range(3):\n        u = x\n    return x\n"))
    out = ast.unparse(optimize.eliminate_dead_code(fdef))
    assert "if" not in out and "for" not in out


# --- the passes on real derivatives: less code, same gradients -------------

def branchy(x, y):
    z = x * y
    if x > 0:
        w = z * z
    else:
        w = -z
    s = 0.0
    for i in range(3):
        s = s + w * i
    return s + math.sin(x)


def arrays(x, W):
    h = np.tanh(W @ x)
    y = h * 1.0
    return np.sum(y * h) + np.sum(x)


@pytest.mark.parametrize("func,args", [
    (branchy, (0.7, -1.3)),
    (branchy, (-0.4, 2.0)),
    (arrays, (np.array([0.1, -0.5, 0.9]), np.arange(6.0).reshape(2, 3) / 7)),
])
def test_optimized_and_unoptimized_gradients_agree(func, args):
    wrt = (0, 1)
    fast = tangent.grad(func, wrt=wrt)
    slow = tangent.grad(func, wrt=wrt, optimized=False)
    for a, b in zip(fast(*args), slow(*args)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    check_grad(func, *args, wrt=wrt)
    assert len(tangent.source(fast).splitlines()) <= len(tangent.source(slow).splitlines())


def test_specialisation_removes_unbroadcast_and_general_helpers():
    x = np.array([0.1, -0.5, 0.9])
    W = np.arange(6.0).reshape(2, 3) / 7
    df = tangent.grad(arrays, wrt=(0, 1))
    generic = tangent.source(df)
    special = tangent.source(df.tangent_specialized_for(x, W))
    assert "unbroadcast" in generic and "matmul_adjoint" in generic
    assert "unbroadcast" not in special and "matmul_adjoint" not in special
    assert "check_scalar_output" not in special
    for a, b in zip(df(x, W), df.tangent_generic(x, W)):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def scalar_loop(x, a):
    s = 0.0
    for _ in range(20):
        s = s + math.sin(x * a) * x
        x = 0.99 * x + 0.01 * math.tanh(s)
    return s


def test_float_specialisation_saves_only_what_the_backward_pass_reads():
    df = tangent.grad(scalar_loop, wrt=(0, 1))
    special = tangent.source(df.tangent_specialized_for(0.5, 1.3))
    generic = tangent.source(df)
    # x * a, sin(x * a), tanh(s) and x are needed; sums and products feeding
    # only additions are not saved once shapes are known
    assert special.count("stack.append") == 4
    assert generic.count("stack.append") > special.count("stack.append")
    assert "zeros_like" not in special
    got = df(0.5, 1.3)
    want = (numeric_grad(scalar_loop, [0.5, 1.3], 0), numeric_grad(scalar_loop, [0.5, 1.3], 1))
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_nothing_is_saved_for_inactive_values():
    def uses_constant_loop(x, c):
        t = 0.0
        for i in range(4):
            t = t + c * i  # c is not differentiated: t is inactive
        return x * t

    df = tangent.grad(uses_constant_loop)
    assert "stack" not in tangent.source(df)
    assert df(2.0, 3.0) == pytest.approx(18.0)


def broadcasting_sum(x, b):
    return np.sum(np.tanh(x + b) * x)


def test_one_derivative_serves_every_shape_and_type():
    df = tangent.grad(broadcasting_sum, wrt=(0, 1))
    cases = [
        (np.arange(6.0).reshape(2, 3) / 5, np.array([0.1, -0.2, 0.3])),  # b broadcast over rows
        (np.arange(6.0).reshape(2, 3) / 5, np.arange(6.0).reshape(2, 3) / 7),  # same shape
        (np.array([0.5, -0.5]), 0.25),  # b a float
        (0.7, 0.2),  # both floats
        (np.arange(4.0).reshape(4, 1) / 3, np.array([[0.1, 0.2]])),  # both broadcast
    ]
    for _ in range(2):  # the second time from the cache of specialisations
        for x, b in cases:
            gx, gb = df(x, b)
            assert np.shape(gx) == np.shape(x) and np.shape(gb) == np.shape(b)
            np.testing.assert_allclose(gx, numeric_grad(broadcasting_sum, [x, b], 0), rtol=1e-6, atol=1e-8)
            np.testing.assert_allclose(gb, numeric_grad(broadcasting_sum, [x, b], 1), rtol=1e-6, atol=1e-8)
