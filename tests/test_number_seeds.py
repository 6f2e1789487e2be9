"""A number seeds every element of an array result (README, API): the vjp
with seed ``1.0`` is that of a seed of ones, in the generic code and in code
specialised to the number, also for ``grad(grad(f, check_dims=False),
check_dims=False)`` of a function of an array. Checked against central finite
differences of ``sum(f)`` (``tests/utils.py``'s ``numeric_grad``).

The backward pass reads the adjoint of the result with the result's shape;
the seed is broadcast to it after the primal (``broadcast_seed``), except in
code specialised to a seed that has it.
"""

import inspect

import numpy as np
import pytest

import tangent
from tests.utils import numeric_grad


def plus_array(x):
    return x + np.ones(3)


def sine_times(x):
    return np.sin(x) * np.array([1.0, 2.0, 3.0])


def accumulated(x):
    s = np.zeros(3)
    for k in range(1, 4):
        s = s + np.cos(x * k)
    return s


def rows(W):
    return np.tanh(W) @ np.array([1.0, -2.0])


CASES = [(plus_array, 0.5), (sine_times, 0.3), (sine_times, np.array([0.3, -0.2, 0.9])),
         (accumulated, 0.7), (accumulated, np.array([0.7, 0.1, -0.4])), (rows, np.array([[0.2, -0.5], [1.1, 0.3]]))]
IDS = ["plus_array", "sine_times_float", "sine_times_array", "accumulated_float", "accumulated_array", "rows"]


@pytest.mark.parametrize("optimized", [True, False], ids=["optimized", "unoptimized"])
@pytest.mark.parametrize("f, x", CASES, ids=IDS)
def test_a_number_seeds_every_element(f, x, optimized):
    ones = np.ones(np.shape(f(x)))
    expected = numeric_grad(f, [x], 0, seed=ones)
    vjp = tangent.vjp(f, optimized=optimized)
    seed_name = list(inspect.signature(vjp).parameters)[-1]  # (by keyword: the generic code runs)
    for got in (vjp(x, 1.0), vjp(x, **{seed_name: 1.0}), vjp(x, ones), vjp(x, 2.0) / 2.0,
                tangent.grad(f, check_dims=False, optimized=optimized)(x)):
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def test_a_seed_that_broadcasts_along_an_axis():
    W = np.array([[0.2, -0.5], [1.1, 0.3]])

    def f(W):
        return np.tanh(W) * 3.0

    seed = np.array([1.0, -2.0])  # broadcast over the rows of the (2, 2) result
    expected = numeric_grad(f, [W], 0, seed=np.broadcast_to(seed, (2, 2)))
    np.testing.assert_allclose(tangent.vjp(f)(W, seed), expected, rtol=1e-6, atol=1e-8)


def comprehension(x):
    p = {i: x ** i for i in range(1, 4)}
    return np.sum(p[1] + p[2] * p[3])


@pytest.mark.parametrize("optimized", [True, False], ids=["optimized", "unoptimized"])
def test_grad_of_grad_of_a_function_of_an_array(optimized):
    # the outer gradient's seed 1.0 stands for ones: the Hessian's row sums
    x = np.array([1.3, 0.7])
    gradient = tangent.grad(comprehension)
    expected = numeric_grad(lambda x: gradient(x), [x], 0, seed=np.ones(2))
    inner = tangent.grad(comprehension, check_dims=False, optimized=optimized)
    outer = tangent.grad(inner, check_dims=False, optimized=optimized)
    np.testing.assert_allclose(outer(x), expected, rtol=1e-6, atol=1e-8)


def test_the_seed_is_not_changed_and_the_gradient_is_fresh():
    x = np.array([0.3, -0.2, 0.9])
    seed = np.ones(3)
    dx = tangent.vjp(sine_times)(x, seed)
    np.testing.assert_array_equal(seed, np.ones(3))
    assert dx.flags.writeable and dx.base is None
    dx = tangent.vjp(plus_array)(0.5, 1.0)
    assert isinstance(dx, float)
