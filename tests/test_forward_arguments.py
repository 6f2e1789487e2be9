"""Forward mode, hvp and jacobian of functions with default arguments: the
tangents are the last len(wrt) positional values, and parameters left out
take their defaults (issue 13). Checked against central finite differences."""

import numpy as np
import pytest

import tangent
from tests.utils import numeric_grad


def predict(x, nonlinearity=np.tanh):
    return nonlinearity(x) * 2.0


def scaled(x, scale=2.0):
    return np.sum(np.sin(x) * scale)


def two(x, w, scale=3.0, shift=0.5):
    return np.sum(np.tanh(x * w) * scale + shift * x)


X = np.array([0.3, -0.5, 0.8])
V = np.array([1.0, 0.5, -2.0])


def directional(f, x, v, eps=1e-6):
    return (np.asarray(f(x + eps * v)) - np.asarray(f(x - eps * v))) / (2 * eps)


def test_jvp_leaves_a_function_valued_default_out():
    expected = directional(predict, X, V)
    np.testing.assert_allclose(tangent.jvp(predict)(X, V), expected, rtol=1e-6)
    np.testing.assert_allclose(tangent.jvp(predict)(X, np.tanh, V), expected, rtol=1e-6)
    with pytest.raises(tangent.TangentError, match="default nonlinearity"):  # (generated for the default)
        tangent.jvp(predict)(X, V, nonlinearity=np.sin)


def test_jvp_leaves_a_number_default_out():
    np.testing.assert_allclose(tangent.jvp(scaled)(X, V), directional(scaled, X, V), rtol=1e-6)
    np.testing.assert_allclose(tangent.jvp(scaled)(X, 5.0, V),
                               directional(lambda x: scaled(x, 5.0), X, V), rtol=1e-6)
    np.testing.assert_allclose(tangent.jvp(scaled)(X, V, scale=5.0),
                               directional(lambda x: scaled(x, 5.0), X, V), rtol=1e-6)


def test_jvp_several_wrt_with_defaults():
    w = np.array([0.7, 1.1, -0.4])
    dw = np.array([0.2, -1.0, 0.3])
    df = tangent.jvp(two, wrt=(0, 1))
    expected = (two(X + 1e-6 * V, w + 1e-6 * dw) - two(X - 1e-6 * V, w - 1e-6 * dw)) / 2e-6
    np.testing.assert_allclose(df(X, w, V, dw), expected, rtol=1e-6)
    expected = (two(X + 1e-6 * V, w + 1e-6 * dw, shift=2.0)
                - two(X - 1e-6 * V, w - 1e-6 * dw, shift=2.0)) / 2e-6
    np.testing.assert_allclose(df(X, w, V, dw, shift=2.0), expected, rtol=1e-6)


def test_jvp_with_respect_to_a_defaulted_parameter():
    # wrt=1 names scale, left out: its default is the point, the one tangent its direction
    expected = (scaled(X, 2.0 + 1e-6) - scaled(X, 2.0 - 1e-6)) / 2e-6
    np.testing.assert_allclose(tangent.jvp(scaled, wrt=1)(X, 1.0), expected, rtol=1e-6)


def test_jvp_preserve_result_with_defaults():
    d, y = tangent.jvp(scaled, preserve_result=True)(X, V)
    np.testing.assert_allclose(d, directional(scaled, X, V), rtol=1e-6)
    np.testing.assert_allclose(y, scaled(X))


def _sum_of_squares(x, nonlinearity=np.tanh):
    return np.sum(predict(x, nonlinearity) ** 2)


@pytest.mark.parametrize("f", [scaled, _sum_of_squares])
def test_hvp_leaves_defaults_out(f):
    expected = directional(lambda x: numeric_grad(f, (x,), 0), X, V, eps=1e-4)
    np.testing.assert_allclose(tangent.hvp(f)(X, V), expected, rtol=1e-5, atol=1e-6)


def test_hvp_names_a_default():
    f = lambda x: scaled(x, 4.0)  # noqa: E731
    expected = directional(lambda x: numeric_grad(f, (x,), 0), X, V, eps=1e-4)
    np.testing.assert_allclose(tangent.hvp(scaled)(X, V, scale=4.0), expected, rtol=1e-5, atol=1e-6)


def test_forward_over_reverse_with_defaults():
    # the README's HVP, autodiff(autodiff(f), mode="forward")(x, scale, seed, v)
    hvp = tangent.autodiff(tangent.autodiff(scaled, mode="reverse"), mode="forward")
    expected = directional(lambda x: numeric_grad(scaled, (x,), 0), X, V, eps=1e-4)
    np.testing.assert_allclose(hvp(X, 2.0, 1.0, V), expected, rtol=1e-5, atol=1e-6)


def test_jacobian_and_hessian_leave_defaults_out():
    J = tangent.jacobian(predict)(X)
    expected = np.stack([directional(predict, X, e) for e in np.eye(3)], axis=1)
    np.testing.assert_allclose(J, expected, rtol=1e-6, atol=1e-8)
    H = tangent.hessian(scaled)(X)
    expected = np.stack([directional(lambda x: numeric_grad(scaled, (x,), 0), X, e, eps=1e-4)
                         for e in np.eye(3)], axis=1)
    np.testing.assert_allclose(H, expected, rtol=1e-5, atol=1e-6)


def test_inputs_unchanged_and_fresh():
    x, v = X.copy(), V.copy()
    out = tangent.jvp(predict)(x, v)
    np.testing.assert_array_equal(x, X)
    np.testing.assert_array_equal(v, V)
    assert out is not x and out is not v and out.dtype == x.dtype


def test_too_few_values_is_a_clear_error():
    with pytest.raises(tangent.TangentError, match="tangent"):
        tangent.jvp(two)(X, V)   # w missing: x, then the tangent read as w, no tangent left
