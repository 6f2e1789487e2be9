"""tf.einsum differentiated to third order (hvp of a function that calls a
derivative of einsum code), checked against nested tf.GradientTape, for
operands of different shapes and of equal square shapes (where a rule that
mixed up an einsum's tangent and an adjoint gave a number of the right shape
but wrong). Skipped without TensorFlow."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

import tangent  # noqa: E402


def cubes(x, W):
    return tf.reduce_sum(tf.einsum("ij,jk->ik", x, W) ** 3) + tf.reduce_sum(tf.einsum("ij,ij->i", x, x) ** 2)


d_cubes = tangent.grad(cubes)


def squared_gradient(x, W):
    g = d_cubes(x, W)
    return tf.reduce_sum(g * g)


def reference_hvp(x, W, v):
    """jvp of the gradient of squared_gradient, by three nested tapes."""
    with tf.autodiff.ForwardAccumulator(x, v) as acc:
        with tf.GradientTape() as outer:
            outer.watch(x)
            with tf.GradientTape() as inner:
                inner.watch(x)
                y = cubes(x, W)
            g = inner.gradient(y, x)
            norm = tf.reduce_sum(g * g)
        h = outer.gradient(norm, x)
    return acc.jvp(h)


@pytest.mark.parametrize("shapes", [((3, 4), (4, 2)), ((3, 3), (3, 3))], ids=["rectangular", "square"])
def test_hvp_through_a_derivative_of_einsum(shapes):
    rng = np.random.default_rng(5)
    x, W, v = (tf.constant(rng.standard_normal(s)) for s in (shapes[0], shapes[1], shapes[0]))
    got = tangent.hvp(squared_gradient)(x, W, v)
    np.testing.assert_allclose(got.numpy(), reference_hvp(x, W, v).numpy(), rtol=1e-8, atol=1e-8)


def test_jvp_of_a_derivative_of_einsum():
    rng = np.random.default_rng(6)
    x, W, v = (tf.constant(rng.standard_normal(s)) for s in ((3, 3), (3, 3), (3, 3)))
    with tf.autodiff.ForwardAccumulator(x, v) as acc:
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = cubes(x, W)
        g = tape.gradient(y, x)
    np.testing.assert_allclose(tangent.jvp(d_cubes)(x, W, 1.0, v).numpy(), acc.jvp(g).numpy(), rtol=1e-9, atol=1e-9)
