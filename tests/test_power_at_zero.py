"""``x ** 0`` is 1 for every x, zero included: its slope is 0 there, not
``0 * x ** -1`` (nan). Found with ``t ** k`` over ``range(n)`` (a polynomial
basis) at t = 0. Checked against the derivative of the polynomial written out."""

import numpy as np
import pytest

import tangent


def polynomial(t):
    s = 0.0
    for k in range(4):
        s = s + np.sum((k + 1.0) * t**k)
    return s


def with_power(t):
    return np.sum(np.power(t, 0) + np.power(t, 2.0))


T = np.array([0.0, 1.0, -2.0])


def test_gradient_jvp_and_hvp_at_zero():
    slope = 2.0 + 6.0 * T + 12.0 * T**2  # d/dt (1 + 2t + 3t^2 + 4t^3)
    np.testing.assert_allclose(tangent.grad(polynomial)(T), slope)
    v = np.array([1.0, -1.0, 0.5])
    assert np.isclose(tangent.jvp(polynomial)(T, v), slope @ v)
    np.testing.assert_allclose(tangent.hvp(polynomial)(T, v), (6.0 + 24.0 * T) * v)


def test_np_power_at_zero():
    np.testing.assert_allclose(tangent.grad(with_power)(T), 2 * T)


def power_0(t):
    return np.sum(t**0 + t)


def power_1(t):
    return np.sum(t**1)


def power_2(t):
    return np.sum(t**2)


@pytest.mark.parametrize("f, slope", [(power_0, np.ones(3)), (power_1, np.ones(3)), (power_2, 2 * T)])
def test_constant_exponents_fold(f, slope):
    assert "!=" not in tangent.source(tangent.grad(f))  # (y - (y != 0) * 1 of a constant folds away)
    np.testing.assert_allclose(tangent.grad(f)(T), slope)
