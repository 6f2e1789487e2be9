"""jvp returns tangents in the dtype of the primal result (float32 in,
float32 out, whatever the tangent vector's dtype), as grad returns gradients
in the argument's dtype; values checked against float64 finite differences."""

import numpy as np
import pytest

import tangent
from tests.utils import numeric_grad


def elementwise(x):
    return np.sin(x) * 2.0 + x


def reduced(x):
    return np.sum(x * x) * 0.5


def pair(x):
    return np.tanh(x), np.sum(x)


@pytest.mark.parametrize("f", [elementwise, reduced])
@pytest.mark.parametrize("vector_dtype", [np.float32, np.float64])
def test_jvp_of_float32_is_float32(f, vector_dtype):
    x = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    v = np.array([1.0, 0.5, -0.25], dtype=vector_dtype)
    before = x.copy(), v.copy()
    out = tangent.jvp(f)(x, v)
    assert np.asarray(out).dtype == np.float32 == np.asarray(f(x)).dtype
    x64 = x.astype(np.float64)
    for k in range(np.size(f(x))):
        row = numeric_grad(lambda z: np.ravel(f(z))[k], [x64], 0)
        np.testing.assert_allclose(np.ravel(out)[k], row @ v.astype(np.float64), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(x, before[0])
    np.testing.assert_array_equal(v, before[1])


def test_jvp_of_a_tuple_result_keeps_each_dtype():
    x = np.array([0.5, -1.0], dtype=np.float32)
    v = np.array([1.0, 0.5])
    t_tanh, t_sum = tangent.jvp(pair)(x, v)
    assert t_tanh.dtype == np.float32 and np.asarray(t_sum).dtype == np.float32
    np.testing.assert_allclose(t_tanh, (1 - np.tanh(x.astype(float)) ** 2) * v, rtol=1e-5)
    np.testing.assert_allclose(t_sum, np.sum(v), rtol=1e-6)


def test_jvp_of_float64_is_unchanged():
    x = np.array([0.5, -1.0])
    out = tangent.jvp(elementwise)(x, np.array([1.0, 2.0], dtype=np.float32))
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, (2 * np.cos(x) + 1) * [1.0, 2.0], rtol=1e-6)
