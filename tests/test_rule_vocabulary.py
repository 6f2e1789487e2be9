"""The rule vocabulary (tangent.rules.elementwise / linear / bilinear): a
derivative declared once gives reverse, forward and second-order derivatives
that agree with central finite differences; one declaration serves NumPy and
math; binding errors name the rule."""

import math
import sys
import types

import numpy as np
import pytest

import tangent
from tangent import rules
from tangent.errors import TangentError
from tangent.rules import bilinear, elementwise, linear, xp
from tests.utils import assert_tree_close, check_grad, numeric_grad

# ------------------------------------------------------- user primitives


def softplus(x):
    return np.log1p(np.exp(x))


@elementwise(softplus)
def _softplus(z, x):
    return 1 / (1.0 + np.exp(-x))


def scaled_sin(x, y):
    return x * np.sin(y)


@elementwise(scaled_sin)
def _scaled_sin(z, x, y):
    return np.sin(y), x * np.cos(y)


def running_total(a):
    return np.cumsum(a)


def running_total_t(g, a):
    """Transpose of running_total: a reversed cumulative sum of g."""
    return np.cumsum(g[::-1])[::-1]


@linear(running_total, transpose=running_total_t)
def _running_total(z, a):
    return running_total(a)


def product(a, b):
    return np.matmul(a, b)


def product_lhs(g, a, b):
    return np.matmul(g, np.transpose(b))


def product_rhs(g, a, b):
    return np.matmul(np.transpose(a), g)


@bilinear(product, lhs=product_lhs, rhs=product_rhs)
def _product(z, a, b):
    return product(a, b)


def uses_softplus(x):
    return np.sum(softplus(x) * softplus(2.0 * x))


def uses_scaled_sin(x, y):
    return np.sum(scaled_sin(x, y) ** 2)


def uses_running_total(a):
    return np.sum(np.sin(running_total(a)))


def uses_product(a, b):
    return np.sum(np.tanh(product(a, b)))


X = np.array([-0.7, 0.2, 1.3])
V = np.array([0.3, -1.1, 0.6])


def hvp_by_differences(f, x, v, eps=1e-5):
    df = tangent.grad(f)
    return (df(x + eps * v) - df(x - eps * v)) / (2 * eps)


def jvp_by_differences(f, args, index, v, eps=1e-6):
    plus, minus = list(args), list(args)
    plus[index] = args[index] + eps * v
    minus[index] = args[index] - eps * v
    return (f(*plus) - f(*minus)) / (2 * eps)


@pytest.mark.parametrize("f, args", [
    (uses_softplus, (X,)),
    (uses_scaled_sin, (X, 0.4)),
    (uses_scaled_sin, (X, np.array([0.4, -0.2, 1.0]))),
    (uses_running_total, (X,)),
    (uses_product, (np.arange(6.0).reshape(2, 3) / 5, np.arange(3.0).reshape(3, 1) - 1)),
])
def test_reverse_matches_differences(f, args):
    for i in range(len(args)):
        check_grad(f, *args, wrt=i)


def test_two_argument_rule_undoes_broadcasting():
    # y is a scalar broadcast against x: its gradient sums over x's elements
    g = tangent.grad(uses_scaled_sin, wrt=1)(X, 0.4)
    assert np.shape(g) == ()
    assert_tree_close(g, numeric_grad(uses_scaled_sin, [X, 0.4], 1))


@pytest.mark.parametrize("f", [uses_softplus, uses_running_total])
def test_forward_matches_differences(f):
    assert_tree_close(tangent.jvp(f)(X, V), jvp_by_differences(f, [X], 0, V), rtol=1e-5, atol=1e-7)


def test_forward_two_arguments():
    y = np.array([0.4, -0.2, 1.0])
    both = tangent.jvp(uses_scaled_sin, wrt=(0, 1))(X, y, V, 0.5 * V)
    expected = jvp_by_differences(lambda x, y: uses_scaled_sin(x, y) + 0, [X, y], 0, V) \
        + jvp_by_differences(uses_scaled_sin, [X, y], 1, 0.5 * V)
    assert_tree_close(both, expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("f", [uses_softplus, uses_running_total])
def test_hvp_matches_differences(f):
    assert_tree_close(tangent.hvp(f)(X, V), hvp_by_differences(f, X, V), rtol=1e-5, atol=1e-6)


def test_generated_code_reads_like_a_hand_written_rule():
    source = tangent.source(tangent.grad(uses_softplus))
    assert "/ (1.0 + np.exp(-x))" in source


# ------------------------------------------- one declaration, np.X and math.X


def np_sin_sum(x):
    return np.sum(np.sin(x) * np.cosh(x))


def math_sin_product(x):
    return math.sin(x) * math.cosh(x)


def test_numpy_and_math_share_the_declaration():
    assert rules.lookup_adjoint(np.sin) is rules.lookup_adjoint(math.sin)
    assert rules.lookup_tangent(np.cosh) is rules.lookup_tangent(math.cosh)
    np_source = tangent.source(tangent.grad(np_sin_sum))
    math_source = tangent.source(tangent.grad(math_sin_product))
    assert "np.cos(x)" in np_source and "math.cos" not in np_source
    assert "math.cos(x)" in math_source and "np.cos" not in math_source
    check_grad(np_sin_sum, X)
    check_grad(math_sin_product, 0.7)
    assert_tree_close(tangent.jvp(math_sin_product)(0.7, 1.0), jvp_by_differences(math_sin_product, [0.7], 0, 1.0))


@pytest.fixture
def mylib():
    """A small array library, known to the vocabulary as ``mylib``."""
    lib = types.ModuleType("mylib")

    def sin(x):
        return np.sin(x)

    def cos(x):
        return np.cos(x)

    for fn in (sin, cos):
        fn.__module__ = "mylib"
        setattr(lib, fn.__name__, fn)
    sys.modules["mylib"] = lib
    rules.register_namespace("mylib", "mylib", "mylib")
    yield lib
    del sys.modules["mylib"]
    rules.vocabulary._NAMESPACES.pop("mylib")


def test_xp_stands_for_the_library_of_the_primitive(mylib):
    @elementwise(mylib.sin)
    def _sin(z, x):
        return xp.cos(x)

    def f(x):
        return np.sum(mylib.sin(x) ** 2)

    check_grad(f, X)
    assert "mylib.cos(x)" in tangent.source(tangent.grad(f))


def test_xp_for_an_unknown_library_names_the_rule():
    def opaque(x):
        return 2.0 * x

    @elementwise(opaque)
    def _opaque(z, x):
        return xp.ones_like(x)

    def f(x):
        return np.sum(opaque(x))

    with pytest.raises(NameError, match=r"_opaque.*uses xp"):
        tangent.grad(f)(X)


# ------------------------------------------------------------- binding errors


def test_binding_error_names_the_declaration():
    def f(x):
        return np.sum(softplus(x, 2.0))

    with pytest.raises(TangentError, match=r"cannot match the call to the rule .*_softplus \(elementwise\)"):
        tangent.grad(f)(X)
    with pytest.raises(TangentError, match=r"cannot match the call to the rule .*_softplus \(elementwise\)"):
        tangent.jvp(f)(X, V)


def test_binding_error_of_a_builtin_declaration():
    def f(x):
        return np.sum(np.sin(x, 1.0, 2.0))

    with pytest.raises(TangentError, match=r"rule tangent\.rules\.numpy_rules\.sin \(elementwise\)"):
        tangent.grad(f)(X)


def test_declarations_are_checked():
    with pytest.raises(TypeError, match="one return statement"):
        @elementwise(softplus)
        def _bad(z, x):
            y = x
            return y

    with pytest.raises(TypeError, match="transpose"):
        @linear(running_total)
        def _no_transpose(z, a):
            return running_total(a)


# ---------------------------------------- found while converting the rules


def hypot_of_zeros(x):
    v = x - x  # zero for every x: the derivative is 0
    return np.sum(np.hypot(v, 2.0 * v) + x)


def hypot_at(x, y):
    return np.sum(np.hypot(x, y))


def test_hypot_at_the_origin_is_not_nan():
    """np.hypot's rule divided by the result: 0 / 0 gave a nan gradient even
    where its arguments are zero for every input (fuzz seed 417395)."""
    ones = np.ones(3)
    assert_tree_close(check_grad(hypot_of_zeros, X), ones)
    assert_tree_close(tangent.jvp(hypot_of_zeros)(X, V), jvp_by_differences(hypot_of_zeros, [X], 0, V))
    assert_tree_close(tangent.hvp(hypot_of_zeros)(X, V), np.zeros(3))
    zeros = np.zeros(3)
    for i in (0, 1):  # at the origin: central differences of |(x, y)| are 0
        assert_tree_close(tangent.grad(hypot_at, wrt=i)(zeros, zeros), numeric_grad(hypot_at, [zeros, zeros], i))
    check_grad(hypot_at, X, V, wrt=(0, 1))


def math_hypot_of_zeros(x):
    v = x - x
    return math.hypot(v, 2.0 * v) + x


@pytest.mark.parametrize("x", [0.3, np.float64(0.3)], ids=["float", "float64"])
def test_math_hypot_at_the_origin(x):
    """math.hypot's rule divided by the result: ZeroDivisionError for floats,
    nan for NumPy scalars, where the derivative is 1."""
    assert tangent.grad(math_hypot_of_zeros)(x) == 1.0
    assert tangent.jvp(math_hypot_of_zeros)(x, 1.0) == 1.0
    assert tangent.hvp(math_hypot_of_zeros)(x, 1.0) == 0.0
    check_grad(lambda_free_hypot, 0.3, -0.4, wrt=(0, 1))


def lambda_free_hypot(x, y):
    return math.hypot(x, y) * x


def poisson_like(k, mu):
    return k * np.log(mu) - mu


@elementwise(poisson_like)
def _poisson_like(z, k, mu):
    return {mu: k / mu - 1.0}


def sum_poisson_like(k, mu):
    return np.sum(poisson_like(k, mu))


def test_an_elementwise_partial_for_a_later_argument_is_summed_to_its_shape():
    """The only partial is for the second argument: a scalar mu against an
    array k gets a scalar adjoint (it used to keep k's shape)."""
    k = np.arange(1.0, 5.0)
    assert np.shape(tangent.grad(sum_poisson_like, wrt=1)(k, 2.0)) == ()
    check_grad(sum_poisson_like, k, 2.0, wrt=(1,))
