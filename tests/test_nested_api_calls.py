"""``tangent.grad(g)(x)`` (and the other API functions) called inside a
function being differentiated: g's derivative is made when the outer
function is differentiated and differentiated in turn (a gradient penalty,
MAML's inner step). Checked against central differences."""

import numpy as np
import pytest

import tangent
from tangent.errors import TangentError
from tangent.testing import check_grads

rng = np.random.default_rng(0)


def energy(x, W):
    return np.sum(np.tanh(W @ x) ** 2)


def penalty(W, x):
    g = tangent.grad(energy)(x, W)
    return np.sum(g**2) + energy(x, W)


def directional(W, x, v):
    return tangent.jvp(energy)(x, W, v) ** 2


def weight_gradient(W, x):
    return np.sum(tangent.grad(energy, wrt=1)(x, W) * W)


def inner_loss(p, x):
    return np.sum(np.sin(x @ p["W"]))


def maml(p, x):
    g = tangent.grad(inner_loss)(p, x)
    adapted = {"W": p["W"] - 0.1 * g["W"]}
    return inner_loss(adapted, x) ** 2


@pytest.mark.parametrize("f, args", [
    (penalty, (rng.standard_normal((3, 3)), rng.standard_normal(3))),
    (directional, (rng.standard_normal((3, 3)), rng.standard_normal(3), rng.standard_normal(3))),
    (weight_gradient, (rng.standard_normal((3, 3)), rng.standard_normal(3))),
])
def test_api_call_inside_is_differentiated(f, args):
    check_grads(f, *args, modes=("reverse", "forward"), order=2, wrt=0)


def test_maml_inner_gradient_of_a_dict():
    p, x = {"W": rng.standard_normal((3, 2))}, rng.standard_normal((4, 3))
    check_grads(maml, p, x, modes=("reverse", "forward"), order=1, wrt=0)


def test_derivative_of_a_local_function_is_refused_clearly():
    def outer(x):
        def inner(u):
            return np.sum(u**3)
        return np.sum(tangent.grad(inner)(x))

    with pytest.raises(TangentError, match="nested function .inner."):
        tangent.grad(outer)(np.ones(3))
