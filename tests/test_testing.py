"""tangent.testing.check_grads: passes on correct derivatives, and catches
wrong user rules, naming the mode, the argument and the error."""

from __future__ import annotations

import numpy as np
import pytest

import tangent
from tangent.rules import d
from tangent.testing import check_grads


def two_args(x, y):
    return np.sum(np.tanh(x * y) ** 2)


def vector_valued(x):
    return np.sin(x) * x[::-1]


def params_loss(p, x):
    h = np.tanh(p["W"] @ x + p["b"])
    return np.sum(h ** 2) + np.sum(p["layers"][0] * p["layers"][1])


def scalar_loop(a, n):
    y = a
    for _ in range(n):
        y = y * np.cos(y)
    return y


class Model:
    def __init__(self, w):
        self.w = w

    def loss(self, x):
        return np.sum(np.exp(self.w * x))


X = np.linspace(0.1, 0.9, 4)


@pytest.mark.parametrize("f,args", [
    (two_args, (X, X + 1.0)),
    (vector_valued, (X,)),
    (params_loss, ({"W": np.full((2, 4), 0.3), "b": np.array([0.1, -0.2]),
                    "layers": [np.array([1.0, 2.0]), np.array([0.5, -0.5])]}, X)),
    (scalar_loop, (0.7, 3)),
    (Model(0.5).loss, (X,)),
], ids=["two-args", "vector-valued", "dict-and-list", "float-and-int", "method"])
def test_correct_derivatives_pass(f, args):
    before = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    check_grads(f, *args)
    for a, b in zip(args, before):
        if isinstance(b, np.ndarray):
            np.testing.assert_array_equal(a, b)


def test_float32_arguments_with_looser_tolerances():
    x = X.astype(np.float32)
    check_grads(two_args, x, x + np.float32(1.0), rtol=1e-3, atol=1e-4)


def test_a_large_argument_is_checked_along_random_directions():
    check_grads(vector_valued, np.linspace(-1.0, 1.0, 100), order=1)


def cube(x):
    return x * x * x


@tangent.adjoint(cube)
def wrong_dcube(result, x):
    d[x] = d[result] * 2.0 * x * x  # deliberately wrong: should be 3 x^2


def uses_cube(x):
    return np.sum(cube(x) * x)


def test_a_wrong_adjoint_rule_is_caught_naming_mode_and_argument():
    with pytest.raises(AssertionError) as caught:
        check_grads(uses_cube, X, modes=("reverse",))
    message = str(caught.value)
    assert "reverse mode" in message and "argument 0 (x)" in message and "max error" in message
    assert "uses_cube" in message


def square(x):
    return x * x


@tangent.tangent_rule(square)
def wrong_tsquare(result, x):
    d[result] = x * d[x]  # deliberately wrong: should be 2 x dx


@tangent.adjoint(square)
def dsquare(result, x):
    d[x] = d[result] * 2.0 * x


def uses_square(x, y):
    return np.sum(square(x) * y)


def test_a_wrong_tangent_rule_is_caught_by_forward_mode():
    check_grads(uses_square, X, X + 1.0, modes=("reverse",), order=1)  # the reverse rule is right
    with pytest.raises(AssertionError, match=r"forward mode \(jvp\) wrt argument 0 \(x\)"):
        check_grads(uses_square, X, X + 1.0, modes=("forward",), order=1)


def flat_slope(x):
    """Three x squared, declared to have no derivative: a rule using it for
    the adjoint of cube is right at first order and wrong at second."""
    return 3.0 * x * x


tangent.nondifferentiable(flat_slope)


def cube2(x):
    return x * x * x


@tangent.adjoint(cube2)
def dcube2(result, x):
    d[x] = d[result] * flat_slope(x)


@tangent.tangent_rule(cube2)
def tcube2(result, x):
    d[result] = flat_slope(x) * d[x]


def uses_cube2(x):
    return np.sum(cube2(x))


def test_a_rule_right_at_first_order_only_is_caught_at_second_order():
    check_grads(uses_cube2, X, order=1)
    with pytest.raises(AssertionError, match="second order"):
        check_grads(uses_cube2, X, order=2)


def test_the_wrt_argument_and_the_checked_modes_can_be_chosen():
    check_grads(uses_square, X, X + 1.0, modes=("reverse",), wrt=1)
    with pytest.raises(ValueError):
        check_grads(two_args, X, X, modes=("sideways",))


def _clobber(g):
    g[...] = 7.0  # writes into the seed it is given
    return g


tangent.nondifferentiable(_clobber)


def doubled(x):
    return 2.0 * x


@tangent.adjoint(doubled)
def ddoubled(result, x):
    d[x] = _clobber(d[result]) * 0.0 + 2.0


def uses_doubled(x):
    return doubled(x)


def test_a_rule_writing_into_the_seed_is_caught():
    with pytest.raises(AssertionError, match="changed its seed or tangent vector"):
        check_grads(uses_doubled, X, modes=("reverse",), order=1)
