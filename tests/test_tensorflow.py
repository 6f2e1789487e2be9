"""TensorFlow 2 (eager) through the engine: grad, jvp and hvp of TensorFlow
code are ``tf.Tensor`` values computed by generated TensorFlow code, checked
against ``tf.GradientTape`` (reverse), ``tf.autodiff.ForwardAccumulator``
(forward), a tape inside an accumulator (hvp) and central finite differences,
in float64. Skipped when tensorflow is absent."""

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip("tensorflow")

import tangent  # noqa: E402
from tangent.errors import NoDerivativeError  # noqa: E402

D = tf.float64
TOL = 1e-9


def t(*shape, positive=False, seed=0):
    x = tf.random.stateless_normal(shape, seed=(seed, 7), dtype=D)
    return tf.abs(x) + 0.5 if positive else x


# ------------------------------------------------------------ the common set
# Google Tangent's TF test ops first, then the rest of tf.math / tf.nn.


def google_ops(x, y, W, b):
    u = tf.add(x, y) * tf.subtract(x, 0.5) + tf.multiply(x, y) - tf.divide(x, y) + tf.negative(tf.maximum(x, y))
    v = tf.exp(x) + tf.math.log(y) + tf.tanh(x) + tf.sinh(x) * tf.cosh(y) + tf.math.rsqrt(y)
    return tf.reduce_sum(u * v + tf.math.squared_difference(x, y))


def math_elementwise(x, y, W, b):
    s = tf.math.sin(x) * tf.math.cos(y) + tf.math.sqrt(y) * tf.math.square(x) + tf.math.abs(x) * tf.math.tan(0.3 * x)
    s = s + tf.math.log1p(y) + tf.math.expm1(0.5 * x) + tf.math.reciprocal(y) + tf.math.sigmoid(x) * tf.math.erf(x)
    s = s + tf.math.atan(x) + tf.math.asinh(x) + tf.math.asin(0.3 * tf.tanh(x)) + tf.math.softplus(x)
    return tf.reduce_sum(s + tf.math.log_sigmoid(y) + tf.math.minimum(x, 2 * y) + tf.pow(y, 3) + tf.pow(y, x))


def activations(x, y, W, b):
    return tf.reduce_sum(tf.nn.relu(x) * tf.nn.sigmoid(y) + tf.nn.elu(x) + tf.where(x > 0, x, y * 2))


def operators(x, y, W, b):
    h = (x * b - x / y + 2.0 - y ** 2) @ W
    return tf.reduce_sum(-h * h) + tf.reduce_sum(x ** 3 / (1.0 + y))


def reductions(x, y, W, b):
    s = tf.reduce_sum(x, axis=0, keepdims=True) * y
    m = tf.reduce_mean(s, axis=1)
    return tf.reduce_sum(m) + tf.reduce_sum(x * y, axis=[0, 1]) + tf.reduce_mean(x) * tf.reduce_sum(
        tf.reduce_mean(y, 0, keepdims=True)) + tf.reduce_mean(tf.reduce_sum(x, -1))


def extrema(x, y, W, b):
    return tf.reduce_max(x) * tf.reduce_sum(tf.reduce_max(x, axis=1)) + tf.reduce_min(y) + tf.reduce_sum(
        tf.reduce_min(x, axis=[0, 1], keepdims=True)) + tf.reduce_sum(tf.math.reduce_logsumexp(x * y, axis=1))


def shapes(x, y, W, b):
    r = tf.transpose(tf.reshape(x, (4, 3))) * y
    s = tf.reshape(tf.transpose(x, perm=[1, 0]), [-1])
    e = tf.squeeze(tf.expand_dims(x, 0), axis=0) * tf.expand_dims(b, 0)
    return tf.reduce_sum(r * r) + s[2] * s[5] + tf.reduce_sum(e * y) + tf.reduce_sum(tf.identity(x) * tf.cast(y, D))


def products(x, y, W, b):
    v = tf.matmul(x, W) + tf.linalg.matmul(y, W) * 2
    u = tf.matmul(W, x, transpose_a=True, transpose_b=True) + tf.transpose(tf.matmul(x, W, transpose_a=False))
    u = u + tf.reduce_sum(tf.matmul(x, y, transpose_a=True)) + tf.reduce_sum(tf.matmul(x, y, transpose_b=True))
    return tf.reduce_sum(v ** 2) + tf.reduce_sum(u * u) + tf.reduce_sum(tf.einsum("ij,jk->ik", x, W) * 0.5)


def batched(x, y, W, b):
    a = tf.reshape(tf.concat([x, y], axis=0), (2, 3, 4))
    c = tf.matmul(a, tf.transpose(a, perm=[0, 2, 1]))
    e = tf.einsum("bij,jk->bik", a, W) + tf.einsum("bij,bij->b", a, a)[:, None, None]
    return tf.reduce_sum(c * c) + tf.reduce_sum(e) + tf.reduce_sum(tf.einsum("ii", c[0]) * tf.einsum("i,i", b, b))


def indexing(x, y, W, b):
    return tf.reduce_sum(x[0] * y[1]) + tf.reduce_sum(x[:, 1]) * tf.reduce_sum(x[1:, ::2]) + x[1, 2] ** 2 \
        + tf.reduce_sum(x[None, 1, ..., 2]) + tf.reduce_sum(tf.gather(x, [0, 2, 2])) \
        + tf.reduce_sum(tf.gather(x, tf.constant([3, 0, 3]), axis=1) * y[:, :3])


def joins(x, y, W, b):
    c = tf.concat([x, y * x, x[:, :2]], axis=1)
    s = tf.stack([x, tf.exp(y)], axis=2)
    return tf.reduce_sum(c * c) + tf.reduce_sum(s[:, :, 0] * s[:, :, 1]) + tf.reduce_sum(tf.stack([x, y]) ** 2)


def softmaxes(x, y, W, b):
    labels = tf.constant([0, 3, 1])
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=x * y)
    return tf.reduce_sum(tf.nn.softmax(x, axis=1) * y) + tf.reduce_sum(tf.nn.log_softmax(x * y) ** 2) \
        + tf.reduce_sum(tf.nn.softmax(x, axis=0) * x) + tf.reduce_mean(ce) * 2.0


CASES = [google_ops, math_elementwise, activations, operators, reductions, extrema, shapes, products, batched,
         indexing, joins, softmaxes]


def arguments():
    return t(3, 4, seed=1), t(3, 4, positive=True, seed=2), t(4, 5, seed=3), t(4, seed=4)


def tape_grad(f, args, i=0):
    x = args[i]
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = f(*args)
    return tape.gradient(y, x)


def accumulator_jvp(f, args, v, i=0):
    with tf.autodiff.ForwardAccumulator(args[i], v) as acc:
        y = f(*args)
    return acc.jvp(y)


def nested_hvp(f, args, v, i=0):
    with tf.autodiff.ForwardAccumulator(args[i], v) as acc:
        g = tape_grad(f, args, i)
    return acc.jvp(g, unconnected_gradients=tf.UnconnectedGradients.ZERO)


def close(a, b, tol=TOL):
    assert isinstance(a, tf.Tensor) and not isinstance(a, tf.Variable), type(a)
    assert a.dtype == D and tuple(a.shape) == tuple(b.shape), (a, b)
    err = float(tf.reduce_max(tf.abs(a - b))) if a.shape.num_elements() else 0.0
    scale = 1.0 + float(tf.reduce_max(tf.abs(b))) if b.shape.num_elements() else 1.0
    assert err <= tol * scale, f"max error {err}"


def directional(f, args, v, eps=1e-6):
    """Central finite difference of f along v in its first argument."""
    x = args[0]
    return (f(x + eps * v, *args[1:]) - f(x - eps * v, *args[1:])) / (2 * eps)


@pytest.mark.parametrize("f", CASES, ids=lambda f: f.__name__)
def test_grad_against_gradient_tape(f):
    args = arguments()
    df = tangent.grad(f)(*args)
    close(df, tape_grad(f, args))
    v = t(3, 4, seed=9)
    assert float(tf.reduce_sum(df * v)) == pytest.approx(float(directional(f, args, v)), rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("f", CASES, ids=lambda f: f.__name__)
def test_jvp_against_forward_accumulator(f):
    args, v = arguments(), t(3, 4, seed=9)
    close(tangent.jvp(f)(*args, v), accumulator_jvp(f, args, v))


@pytest.mark.parametrize("f", CASES, ids=lambda f: f.__name__)
def test_hvp_against_nested_tapes(f):
    args, v = arguments(), t(3, 4, seed=9)
    close(tangent.hvp(f)(*args, v), nested_hvp(f, args, v), 1e-8)


# --------------------------------------------------------- convolutions


def convnet(image, kernel):
    h = tf.nn.conv2d(image, kernel, strides=1, padding="SAME")
    h = tf.nn.max_pool(tf.tanh(h), ksize=2, strides=2, padding="VALID")
    s = tf.nn.conv2d(image, kernel, strides=[1, 2, 2, 1], padding="VALID")
    a = tf.nn.avg_pool(image * image, ksize=[2, 2], strides=1, padding="SAME")
    return tf.reduce_sum(h * h) + tf.reduce_sum(tf.sin(s)) + tf.reduce_sum(a * image)


@pytest.mark.parametrize("i", [0, 1], ids=["image", "kernel"])
def test_convolution_and_pooling(i):
    args = (t(2, 6, 6, 3, seed=1), t(3, 3, 3, 4, seed=2))
    v = t(*args[i].shape, seed=5)
    close(tangent.grad(convnet, wrt=i)(*args), tape_grad(convnet, args, i))
    close(tangent.jvp(convnet, wrt=i)(*args, v), accumulator_jvp(convnet, args, v, i))
    close(tangent.hvp(convnet, wrt=i)(*args, v), nested_hvp(convnet, args, v, i), 1e-8)


# ------------------------------------------------------------- an MLP loss


def mlp_loss(W1, b1, W2, x, labels, steps):
    h = x
    for _ in range(steps):
        h = tf.tanh(tf.matmul(h, W1) + b1)
        if tf.reduce_sum(h) > 0:
            h = h * 0.5
    logits = h @ W2
    return -tf.reduce_sum(tf.nn.log_softmax(logits, axis=1) * labels) / x.shape[0]


def test_mlp_with_loop_and_branch_all_modes():
    W1, b1, W2, x = t(4, 4, seed=1), t(4, seed=2), t(4, 3, seed=3), t(5, 4, seed=4)
    labels = tf.one_hot([0, 2, 1, 1, 0], 3, dtype=D)
    args = (W1, b1, W2, x, labels, 3)
    grads = tangent.grad(mlp_loss, wrt=(0, 1, 2))(*args)
    with tf.GradientTape() as tape:
        tape.watch([W1, b1, W2])
        loss = mlp_loss(*args)
    for g, e in zip(grads, tape.gradient(loss, [W1, b1, W2])):
        close(g, e, 1e-6)
    v = t(4, 4, seed=7)
    close(tangent.jvp(mlp_loss)(*args, v), accumulator_jvp(mlp_loss, args, v), 1e-6)
    close(tangent.hvp(mlp_loss)(*args, v), nested_hvp(mlp_loss, args, v), 1e-6)


def test_variables_are_read_as_tensors():
    W1, b1, W2, x = (tf.Variable(a) for a in (t(4, 4, seed=1), t(4, seed=2), t(4, 3, seed=3), t(5, 4, seed=4)))
    labels = tf.one_hot([0, 2, 1, 1, 0], 3, dtype=D)
    args = (W1, b1, W2, x, labels, 2)
    grads = tangent.grad(mlp_loss, wrt=(0, 1, 2))(*args)
    with tf.GradientTape() as tape:
        loss = mlp_loss(*args)
    for g, e in zip(grads, tape.gradient(loss, [W1, b1, W2])):
        close(g, e, 1e-9)
    before = tf.identity(W1)
    v = tf.Variable(t(4, 4, seed=7))
    out = tangent.jvp(mlp_loss)(*args, v)
    close(out, accumulator_jvp(mlp_loss, args, v))
    assert bool(tf.reduce_all(W1 == before))


def identity_sum(x):
    return tf.reduce_sum(x)


def scaled(x):
    return x * 1.0


def test_derivatives_are_tensors_in_the_arguments_dtype():
    x32 = tf.constant([1.0, 2.0, 3.0], dtype=tf.float32)
    g = tangent.grad(identity_sum)(x32)
    assert isinstance(g, tf.Tensor) and g.dtype == tf.float32
    g = tangent.grad(identity_sum)(tf.Variable(x32))
    assert isinstance(g, tf.Tensor) and not isinstance(g, tf.Variable) and g.dtype == tf.float32
    seed = tf.constant([1.0, -1.0, 2.0], dtype=tf.float32)
    out = tangent.vjp(scaled)(tf.Variable(x32), seed)
    assert isinstance(out, tf.Tensor) and not isinstance(out, tf.Variable)
    assert bool(tf.reduce_all(out == seed))


# --------------------------------------------------------------- refusals


def uses_cumprod(x):
    return tf.reduce_sum(tf.math.cumprod(x))


def test_function_without_rule_is_refused_naming_the_line():
    with pytest.raises(NoDerivativeError, match=r"test_tensorflow.py:\d+ \(in uses_cumprod\)"):
        tangent.grad(uses_cumprod)(t(3))


def batched_gather(x):
    return tf.reduce_sum(tf.gather(x, [[0], [1]], axis=1, batch_dims=1))


def test_argument_the_rule_does_not_take_is_refused():
    with pytest.raises(tangent.TangentError, match="batch_dims"):
        tangent.grad(batched_gather)(t(2, 3))


def returns_vector(x):
    return tf.exp(x)


def test_grad_of_non_scalar_is_refused():
    with pytest.raises(tangent.TangentError, match=r"scalar output"):
        tangent.grad(returns_vector)(t(3))


# ------------------------------------------------------ jacobian / hessian


def layer(W, x):
    return tf.tanh(tf.reshape(W @ tf.reshape(x, (3, 1)), (2,))) * tf.reduce_sum(x[:2])


def scalar_loss(W, x):
    return tf.reduce_sum(tf.tanh(W @ tf.reshape(x, (3, 1))) ** 2) + tf.reduce_sum(W * W) * x[0]


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian_is_a_tensor(mode):
    W, x = t(2, 3, seed=1), t(3, seed=2)
    J = tangent.jacobian(layer, (0, 1), mode=mode)(W, x)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([W, x])
        y = layer(W, x)
    for got, e in zip(J, (tape.jacobian(y, W), tape.jacobian(y, x))):
        close(got, e)


def test_hessian_is_a_tensor():
    W, x = t(2, 3, seed=1), t(3, seed=2)
    H = tangent.hessian(scalar_loss)(W, x)
    with tf.GradientTape() as outer:
        outer.watch(W)
        with tf.GradientTape() as inner:
            inner.watch(W)
            y = scalar_loss(W, x)
        g = inner.gradient(y, W)
    close(H, outer.jacobian(g, W), 1e-8)


def einsums(x, W):
    return tf.reduce_sum(tf.einsum("ij,jk->ik", x, W) ** 2) + tf.reduce_sum(tf.einsum("ij,ij->i", x, x) * x[:, 0])


def squared_gradient(x, W):
    g = d_einsums(x, W)
    return tf.reduce_sum(g * g)


d_einsums = tangent.grad(einsums)


def test_grad_of_grad_through_einsum():
    x, W = t(3, 4, seed=1), t(4, 2, seed=2)
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            y = einsums(x, W)
        g = inner.gradient(y, x)
        norm = tf.reduce_sum(g * g)
    close(tangent.grad(squared_gradient)(x, W), outer.gradient(norm, x), 1e-8)


def test_rule_helpers_have_rules_of_their_own():
    """What a first derivative of TF code calls can be differentiated again:
    forward rules for hvp, reverse rules for grad of grad and grad of jvp."""
    import ast
    import types

    from tangent import rules
    from tangent.rules import tf_rules

    def helper(obj):
        return isinstance(obj, types.FunctionType) and obj.__module__ == tf_rules.__name__

    called = set()
    for table in (rules.ADJOINTS, rules.TANGENTS):
        for primitive, template in list(table._by_key.items()):
            if (getattr(primitive, "__module__", None) or "").startswith("tensorflow") or helper(primitive):
                called |= {template.namespace.get(n.func.id) for n in ast.walk(template.tree)
                           if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    called = {f for f in called if helper(f) and not rules.is_nondifferentiable(f)}
    assert tf_rules.grad_reduce_sum in called and tf_rules.matmul_lhs in called
    assert sorted(f.__name__ for f in called if rules.lookup_tangent(f) is None) == ["tangent_grad_einsum",
                                                                                     "tangent_tangent_einsum"]
    assert sorted(f.__name__ for f in called if rules.lookup_adjoint(f) is None) == ["tangent_grad_einsum",
                                                                                     "tangent_tangent_einsum"]
