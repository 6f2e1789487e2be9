"""Arrays of an array-API library that is neither NumPy nor NumPy-protocol
(array-api-strict, the standard's reference namespace: no
``__array_function__``, strict type rules): grad, jvp and hvp of code
written against it return its arrays, computed with its own functions by
the runtime's dispatch on ``__array_namespace__``; checked against central
finite differences in float64. Skipped when array-api-strict is absent."""

import numpy as np
import pytest

xp = pytest.importorskip("array_api_strict")

import tangent  # noqa: E402
from tangent import runtime  # noqa: E402

F64 = xp.float64


def elementwise(x):
    return xp.sum(xp.sin(x) * x + x ** 2 - xp.exp(-xp.abs(x)) / 2.0)


def least_squares(W, X, y):
    return xp.mean((X @ W - y) ** 2) + xp.sum(xp.mean(xp.tanh(X) * W, axis=0) ** 2)


def _fd_grad(f, args, index, eps=1e-6):
    """Central differences of f with respect to args[index], in float64."""
    base = np.asarray(args[index], dtype=float)
    out = np.zeros_like(base)
    for i in np.ndindex(base.shape):
        step = np.zeros_like(base)
        step[i] = eps
        hi = list(args)
        lo = list(args)
        hi[index], lo[index] = xp.asarray(base + step), xp.asarray(base - step)
        out[i] = (float(f(*hi)) - float(f(*lo))) / (2 * eps)
    return out


def _data():
    rng = np.random.default_rng(0)
    return (xp.asarray(rng.standard_normal(3)), xp.asarray(rng.standard_normal((5, 3))),
            xp.asarray(rng.standard_normal(5)))


@pytest.mark.parametrize("f", [elementwise, least_squares])
def test_grad_jvp_hvp_return_array_api_arrays(f):
    W, X, y = _data()
    args = (W,) if f is elementwise else (W, X, y)
    v = xp.asarray([1.0, -2.0, 0.5])
    g = tangent.grad(f)(*args)
    j = tangent.jvp(f)(*args, v)
    h = tangent.hvp(f)(*args, v)
    assert all(type(out) is type(W) for out in (g, j, h))
    expected = _fd_grad(f, args, 0)
    np.testing.assert_allclose(np.asarray(g), expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(float(j), expected @ np.asarray(v), rtol=1e-6, atol=1e-8)
    # the Hessian-vector product: central differences of the gradient along v
    grad, eps = tangent.grad(f), 1e-5
    rest = args[1:]
    fd = (np.asarray(grad(W + eps * v, *rest)) - np.asarray(grad(W - eps * v, *rest))) / (2 * eps)
    np.testing.assert_allclose(np.asarray(h), fd, rtol=1e-5, atol=1e-7)


def test_inputs_are_left_alone():
    W, X, y = _data()
    before = [np.asarray(a).copy() for a in (W, X, y)]
    g = tangent.grad(least_squares, wrt=(0, 1))(W, X, y)
    assert all(type(part) is type(W) for part in g)
    for a, b in zip((W, X, y), before):
        np.testing.assert_array_equal(np.asarray(a), b)


def test_runtime_dispatch():
    """The runtime's helpers compute with the array's own namespace."""
    x = xp.reshape(xp.arange(6, dtype=F64), (2, 3))
    assert runtime.arrays.library(x) == "array_api_strict" and runtime.arrays.namespace(x) is xp
    ones = xp.ones((2, 3), dtype=F64)
    out = [runtime.zeros_like(x), runtime.unbroadcast(ones, xp.ones((1, 3), dtype=F64)),
           runtime.broadcast_like(2.0, x), runtime.grad_of_index(x, (0, slice(None)), xp.ones(3, dtype=F64)),
           runtime.zero_region(ones, (0, 1)), runtime.broadcast_tangent(1.0, x), runtime.unbroadcast(ones, 1.0),
           runtime.zeros_like(xp.ones(2, dtype=xp.int64))]
    assert all(type(o) is type(x) for o in out)
    expected = [np.zeros((2, 3)), np.full((1, 3), 2.0), np.full((2, 3), 2.0), [[1, 1, 1], [0, 0, 0]],
                [[1, 0, 1], [1, 1, 1]], np.ones((2, 3)), 6.0, np.zeros(2)]
    for o, e in zip(out, expected):
        np.testing.assert_array_equal(np.asarray(o), e)
    assert out[-1].dtype == F64  # the zero adjoint of integers is a float


def test_index_arrays_need_bincount():
    """Repeated integer indices accumulate through bincount, which the
    standard lacks: a clear error, not a wrong gradient."""
    x = xp.ones(3, dtype=F64)
    with pytest.raises(NotImplementedError, match="bincount"):
        runtime.grad_of_index(x, xp.asarray([0, 0]), xp.ones(2, dtype=F64))
