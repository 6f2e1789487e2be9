"""JAX through the engine: grad, jvp and hvp of ``jax.numpy`` code are JAX
arrays computed by generated jnp code (passable to ``jax.jit``), checked
against jax.grad / jax.jvp and central finite differences in float64.
Skipped when jax is absent."""

import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

import tangent  # noqa: E402
from tangent.errors import NoDerivativeError  # noqa: E402

jax.config.update("jax_enable_x64", True)


def r(*shape, positive=False, seed=0):
    x = jax.random.normal(jax.random.PRNGKey(seed), shape, dtype=jnp.float64)
    return jnp.abs(x) + 0.5 if positive else x


def elementwise(x, y):
    return jnp.sum(jnp.exp(x) * jnp.log(y) + jnp.sin(x) * jnp.cos(y) + jnp.tanh(x) / jnp.sqrt(y))


def activations(x, y):
    return (jax.nn.sigmoid(x) * jax.nn.relu(x) + jnp.abs(x) * jnp.power(y, 3) + jnp.power(y, x)).sum()


def operators(x, y, W, b):
    h = (x * b - x / y + 2.0 - y ** 2) @ W
    return (-h * h).sum()


def reductions(x, y, W, b):
    s = x.sum(axis=0, keepdims=True) * y
    m = jnp.mean(s, axis=1)
    return m.sum() + jnp.sum(x * y, axis=(0, 1)) + x.mean() * jnp.mean(y, 0, keepdims=True).sum()


def shapes(x, y, W, b):
    u = x.reshape(4, 3).T * y
    s = jnp.transpose(x).reshape(-1)
    return (u * u).sum() + s[2] * s[5] + (x.T @ y).sum() + jnp.reshape(y, (12,))[3] * jnp.swapaxes(x, 0, 1).sum()


def products(x, y, W, b):
    v = jnp.matmul(x, W) + jnp.dot(x, W) * 2
    return (v ** 2).sum() + jnp.dot(b, b * x[0]) + (b @ x.T).sum()


def indexing(x, y, W, b):
    idx = jnp.array([0, 2, 2])
    return (x[0] * y[1]).sum() + x[:, 1].sum() * x[1:, ::2].sum() + x[idx].sum() + x[1, 2] ** 2


def selections(x, y, W, b):
    return (jnp.maximum(x, y) * jnp.minimum(x, 2 * y) + jnp.where(x > 0, x, y * 2)).sum()


def softmaxes(x, y, W, b):
    return (jax.nn.softmax(x, axis=1) * y).sum() + (jax.nn.log_softmax(x * y, axis=-1) ** 2).sum() \
        + (jax.nn.softmax(x) * x).sum()


def extrema(x, y, W, b):
    return jnp.max(x) * jnp.amax(x, axis=1).sum() + jnp.min(y) + x.min(axis=(0, 1), keepdims=True).sum() \
        + jax.nn.logsumexp(x * y, axis=1).sum() + (jnp.clip(x, -0.5, 0.5) * jnp.clip(x, min=0.1)).sum() \
        + x.max(axis=0).sum()


def more_functions(x, y, W, b):
    """arctan, hypot, prod, stack, concatenate, outer (found missing by tools/fuzz.py --backend jax)."""
    s = jnp.stack([x[0], y[1] * x[2]], axis=1)
    c = jnp.concatenate([x, y * 2.0], axis=0)
    return (jnp.arctan(x) * jnp.hypot(x, y)).sum() + jnp.prod(y) + jnp.prod(x * 0.5 + 1.0, axis=1).sum() \
        + (s ** 3).sum() + jnp.stack((b, b * b)).sum() * jnp.sum(c * c) + (jnp.outer(x[0], b) ** 2).sum() \
        + jnp.arctan2(x, y).sum() + x.prod(axis=0, keepdims=True).sum()


def ufuncs_and_more(x, y, W, b):
    """jnp.add/subtract/multiply are ufunc objects in jax (their refusal named ufunc.__call__)."""
    u = jnp.add(x, y) * jnp.multiply(x, 2.0) - jnp.subtract(y, x) / jnp.divide(y, 3.0)
    v = jnp.logaddexp(x, y) + jnp.logaddexp2(x, 0.5 * y) + jnp.exp2(x) + jnp.log2(y) * jnp.log10(y)
    w = jnp.cbrt(y) + jnp.arcsin(0.3 * jnp.tanh(x)) + jnp.arccos(0.2 * jnp.tanh(x)) + jnp.arcsinh(x) \
        + jnp.arccosh(y + 1.0) + jnp.arctanh(0.5 * jnp.tanh(x)) + jnp.floor(x) * x
    return (u * v).sum() + (w ** 2).sum() + (jnp.cumsum(x, axis=1) ** 2).sum() + (jnp.cumsum(y) * jnp.ravel(x)).sum() \
        + (jnp.flip(x, 0) * y).sum() + x.cumsum(axis=0).sum() * jnp.flip(b).sum()


def statistics(x, y, W, b):
    return jnp.var(x) + x.var(axis=0).sum() + jnp.std(x * y, axis=1, ddof=1).sum() + y.std() \
        + jnp.linalg.norm(x) + jnp.linalg.norm(x * y, axis=1).sum() + jnp.linalg.norm(x[0])


def nn_activations(x, y, W, b):
    return jnp.sum(jax.nn.softplus(x) + jax.nn.silu(x * y) + jax.nn.gelu(x) + jax.nn.gelu(x, approximate=False)
                   + jax.nn.leaky_relu(x) + jax.nn.elu(x) + jax.nn.swish(y) + jax.scipy.special.erf(x))


CASES = [statistics, nn_activations, extrema, elementwise, activations, operators, reductions, shapes, products, indexing, selections, softmaxes,
         more_functions, ufuncs_and_more]


def arguments():
    return r(3, 4, seed=1), r(3, 4, positive=True, seed=2), r(4, 5, seed=3), r(4, seed=4)


def used(f):
    return arguments()[:f.__code__.co_argcount]


def close(a, b, tol=1e-9):
    assert jnp.allclose(a, b, rtol=tol, atol=tol), (a, b)


@pytest.mark.parametrize("f", CASES, ids=lambda f: f.__name__)
def test_grad_against_jax(f):
    args = used(f)
    df = tangent.grad(f)(*args)
    assert isinstance(df, jax.Array) and df.dtype == jnp.float64
    close(df, jax.grad(f)(*args))
    v, eps = r(*args[0].shape, seed=9), 1e-6
    fd = (f(args[0] + eps * v, *args[1:]) - f(args[0] - eps * v, *args[1:])) / (2 * eps)
    assert float(jnp.sum(df * v)) == pytest.approx(float(fd), rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("f", CASES, ids=lambda f: f.__name__)
def test_jvp_against_jax(f):
    args = used(f)
    v = r(*args[0].shape, seed=9)
    out = tangent.jvp(f)(*args, v)
    close(out, jax.jvp(lambda a: f(a, *args[1:]), (args[0],), (v,))[1])


@pytest.mark.parametrize("f", CASES, ids=lambda f: f.__name__)
def test_hvp_against_jax(f):
    args = used(f)
    v = r(*args[0].shape, seed=9)
    out = tangent.hvp(f)(*args, v)
    assert isinstance(out, jax.Array)
    close(out, jax.jvp(lambda a: jax.grad(f)(a, *args[1:]), (args[0],), (v,))[1], 1e-8)


@pytest.mark.parametrize("f", CASES, ids=lambda f: f.__name__)
def test_generated_gradient_is_jittable(f):
    args = used(f)
    close(jax.jit(tangent.grad(f))(*args), jax.grad(f)(*args))


def mlp_loss(W1, b1, W2, x, labels):
    h = x
    for _ in range(3):
        h = jnp.tanh(h @ W1 + b1)
        h = h * 0.5 if jnp.sum(h) > 0 else h
    return -(jax.nn.log_softmax(h @ W2, axis=1) * labels).sum() / x.shape[0]


def test_mlp_with_loop_and_branch_all_modes():
    W1, b1, W2, x = r(4, 4, seed=1), r(4, seed=2), r(4, 3, seed=3), r(5, 4, seed=4)
    labels = jax.nn.one_hot(jnp.array([0, 2, 1, 1, 0]), 3)
    args = (W1, b1, W2, x, labels)
    grads = tangent.grad(mlp_loss, wrt=(0, 1, 2))(*args)
    for g, e in zip(grads, jax.grad(mlp_loss, argnums=(0, 1, 2))(*args)):
        assert isinstance(g, jax.Array)
        close(g, e, 1e-6)
    v = r(4, 4, seed=7)
    close(tangent.jvp(mlp_loss)(*args, v), jax.jvp(lambda a: mlp_loss(a, *args[1:]), (W1,), (v,))[1], 1e-6)
    expected = jax.jvp(lambda a: jax.grad(mlp_loss)(a, *args[1:]), (W1,), (v,))[1]
    close(tangent.hvp(mlp_loss)(*args, v), expected, 1e-6)


def uses_cumprod(x):
    return jnp.cumprod(x).sum()


def test_function_without_rule_is_refused_naming_the_line():
    with pytest.raises(NoDerivativeError, match=r"test_jax.py:\d+ \(in uses_cumprod\)"):
        tangent.grad(uses_cumprod)(r(3))


def masked_sum(x):
    return jnp.sum(x, where=x > 0)


def test_unsupported_argument_is_refused():
    with pytest.raises(tangent.TangentError):
        tangent.grad(masked_sum)(r(3))


def weighted_logsumexp(x):
    return jax.nn.logsumexp(x, b=jnp.arange(3.0))


def test_argument_the_rule_ignores_is_refused():
    with pytest.raises(tangent.TangentError, match="b"):
        tangent.grad(weighted_logsumexp)(r(3))


def test_jvp_and_hvp_are_jittable():
    f, args = products, arguments()
    x = args[0]
    v = r(3, 4, seed=9)
    close(jax.jit(tangent.jvp(f))(*args, v), jax.jvp(lambda a: f(a, *args[1:]), (x,), (v,))[1])
    close(jax.jit(tangent.hvp(f))(*args, v), jax.jvp(lambda a: jax.grad(f)(a, *args[1:]), (x,), (v,))[1], 1e-8)


def layer(W, x):
    return jnp.tanh(W @ x) * jnp.sum(x[:2])


def scalar_loss(W, x):
    return jnp.sum(jnp.tanh(W @ x) ** 2) + jnp.sum(W * W) * x[0]


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian_is_a_jax_array(mode):
    W, x = r(2, 3, seed=1), r(3, seed=2)
    J = tangent.jacobian(layer, (0, 1), mode=mode)(W, x)
    for got, e in zip(J, jax.jacobian(layer, argnums=(0, 1))(W, x)):
        assert isinstance(got, jax.Array) and got.dtype == jnp.float64
        close(got, e)


def test_hessian_is_a_jax_array():
    W, x = r(2, 3, seed=1), r(3, seed=2)
    H = tangent.hessian(scalar_loss)(W, x)
    assert isinstance(H, jax.Array) and H.shape == (2, 3, 2, 3)
    close(H, jax.hessian(scalar_loss)(W, x), 1e-8)


def where_of_floats(a, b):
    return jnp.where(b > a, b, a)


def test_where_of_python_floats():
    """The adjoint/tangent of the second operand used ~condition: on a Python
    bool ~True is -2, so jvp gave -0.675 where jax.jvp gives -0.238 (found by
    tools/fuzz.py --backend jax)."""
    a, b, ta, tb = -0.788183, 0.985344, 0.218689, -0.237579
    got = tangent.jvp(where_of_floats, wrt=(0, 1))(a, b, ta, tb)
    want = jax.jvp(where_of_floats, (a, b), (ta, tb))[1]
    assert abs(float(got) - float(want)) < 1e-12
    ga, gb = tangent.grad(where_of_floats, wrt=(0, 1))(b, a)
    assert (float(ga), float(gb)) == (1.0, 0.0)


def test_a_float32_argument_gets_a_float32_gradient():
    """With x64 enabled the seed 1.0 promoted the gradient to float64 (found
    by tools/fuzz.py --backend jax); NumPy and jax.grad give float32."""
    x = jnp.ones(3, dtype=jnp.float32)
    g = tangent.grad(lambda_free_sum)(x)
    assert g.dtype == jax.grad(lambda_free_sum)(x).dtype == jnp.float32


def lambda_free_sum(x):
    return jnp.sum(x * x)


def prod_with_zeros(x):
    return jnp.sum(jnp.prod(x, axis=1) * jnp.arange(1.0, 4.0))


def test_prod_with_zeros():
    """A slice with one zero, one with two, one with none: grad and jvp as jax's."""
    x = jnp.array([[0.0, 2.0, 3.0], [0.0, 0.0, 1.5], [1.0, -2.0, 0.5]])
    close(tangent.grad(prod_with_zeros)(x), jax.grad(prod_with_zeros)(x))
    v = r(3, 3, seed=5)
    close(tangent.jvp(prod_with_zeros)(x, v), jax.jvp(prod_with_zeros, (x,), (v,))[1])


def hypot_at_origin(x, y):
    return jnp.sum(jnp.hypot(x, y))


def test_hypot_at_the_origin_has_derivative_zero():
    x, y = jnp.array([0.0, 3.0]), jnp.array([0.0, 4.0])
    gx, gy = tangent.grad(hypot_at_origin, wrt=(0, 1))(x, y)
    close(gx, jnp.array([0.0, 0.6]))
    close(gy, jnp.array([0.0, 0.8]))


def masked_by_comparisons(x):
    keep = jnp.logical_not(x > 0.5) & jnp.greater(x, 0.1) & jnp.isfinite(x) & jnp.not_equal(x, 0.3)
    return jnp.sum(jnp.where(keep, x**2, jnp.sin(x)))


def test_comparisons_and_logical_functions_carry_no_derivative_in_any_mode():
    """Boolean results of comparison and logical functions: no derivative
    (was refused in forward mode and by hvp: fuzz seed 6650917 --backend jax)."""
    x = jnp.array([0.05, 0.3, 0.7, 0.2, 0.45])
    v = r(5, seed=3)
    want = jax.grad(masked_by_comparisons)(x)
    assert jnp.allclose(tangent.grad(masked_by_comparisons)(x), want)
    assert jnp.allclose(tangent.jvp(masked_by_comparisons)(x, v), jnp.dot(want, v))
    _, hv = jax.jvp(jax.grad(masked_by_comparisons), (x,), (v,))
    assert jnp.allclose(tangent.hvp(masked_by_comparisons)(x, v), hv)
