"""PyTorch through the engine: grad, jvp and hvp of torch code are torch
tensors computed by generated torch code, checked against torch.func and
central finite differences in float64. Skipped when torch is absent."""

import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

import tangent  # noqa: E402
from tangent.errors import NoDerivativeError  # noqa: E402

D = torch.float64


def t(*shape, positive=False, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=g, dtype=D)
    return x.abs() + 0.5 if positive else x


# ------------------------------------------------------------ the common set


def elementwise(x, y):
    return torch.sum(torch.exp(x) * torch.log(y) + torch.sin(x) * torch.cos(y) + torch.tanh(x) / torch.sqrt(y))


def activations(x, y):
    return (torch.sigmoid(x) * torch.relu(x) + torch.abs(x) * torch.pow(y, 3) + torch.pow(y, x)).sum()


def methods(x, y):
    return (x.exp() * y.log() + x.tanh() * y.sqrt() + x.sigmoid() - y.rsqrt() + x.sin().cos()).sum()


def functional(x, y):
    return (F.relu(x) * F.sigmoid(y) + F.tanh(x * y)).sum()


def operators(x, y, W, b):
    h = (x * b - x / y + 2.0 - y ** 2) @ W
    return (-h * h).sum()


def reductions(x, y, W, b):
    s = x.sum(dim=0, keepdim=True) * y
    m = torch.mean(s, dim=1)
    return m.sum() + torch.sum(x * y, dim=(0, 1)) + x.mean() * torch.mean(y, 0, True).sum() + torch.sum(x, 1).mean()


def shapes(x, y, W, b):
    r = x.reshape(4, 3).T * y
    s = torch.transpose(x, 0, 1).reshape(-1)
    return (r * r).sum() + s[2] * s[5] + (x.t() @ y).sum() + torch.reshape(y, (12,)).flatten()[3] * x.mT.sum()


def products(x, y, W, b):
    v = torch.matmul(x, W) + x.matmul(W) * 2
    return (v ** 2).sum() + torch.dot(b, b * x[0]) + torch.mv(x, b).sum() + (b @ x.T).sum()


def indexing(x, y, W, b):
    idx = torch.tensor([0, 2, 2])
    cols = torch.tensor([3, 0, 3])
    return (x[0] * y[1]).sum() + x[:, 1].sum() * x[1:, ::2].sum() + x[idx].sum() + x[1, 2] ** 2 + x[x > 0].sum() \
        + (x[:, cols] * y[:, :3]).sum() + x[idx, cols].sum() + x[None, 1, ..., 2].sum()


def selections(x, y, W, b):
    return (torch.maximum(x, y) * torch.minimum(x, 2 * y) + torch.where(x > 0, x, y * 2)).sum()


def softmaxes(x, y, W, b):
    return (torch.softmax(x, dim=1) * y).sum() + (F.log_softmax(x * y, dim=-1) ** 2).sum() \
        + (x.softmax(0) * x).sum() + (y.log_softmax(dim=1) * x).sum()


def shapes_more(x, y, W, b):
    u = x.unsqueeze(0).squeeze(0) * torch.unsqueeze(y, 2).squeeze(2)
    return (u.permute(1, 0) * x.T).sum() + torch.swapaxes(u, 0, 1).sum() + F.linear(x, W.T, W[0] * 0.5).sum()


def extrema(x, y, W, b):
    return x.max() * torch.amax(x, dim=1).sum() + torch.min(y) + x.amin(dim=(0, 1), keepdim=True).sum() \
        + torch.logsumexp(x * y, dim=1).sum() + (torch.clamp(x, -0.5, 0.5) * x.clamp(min=0.1)).sum() \
        + x.clone().sum()


def cross_entropy(x, y, W, b):
    return F.cross_entropy(x @ W, torch.tensor([0, 4, 2])) + F.cross_entropy(x[0] * y[1], torch.tensor(3))


def joins(x, y, W, b):
    c = torch.cat([x, y * x, x[:, :2]], dim=1)
    s = torch.stack([x, torch.exp(y)], dim=2)
    u = torch.cumsum(x * y, dim=1) + x.cumsum(0) + torch.concat((x, y), 0)[1:4]
    return (c * c).sum() + (s[:, :, 0] * s[:, :, 1]).sum() + (torch.stack([x, y]) ** 2).sum() + (u * u).sum()


def statistics(x, y, W, b):
    return x.norm() + torch.norm(x * y, dim=1).sum() + torch.linalg.norm(x) + torch.linalg.vector_norm(y, dim=0).sum() \
        + x.var() + (x * y).std(dim=0).sum() + torch.var(x, dim=1, unbiased=False).sum() + y.std(correction=0) \
        + F.mse_loss(x * x, y, reduction="sum") + F.softplus(x).sum() + F.silu(x * y).sum() \
        + F.softplus(x, beta=2.0).sum() + x.norm(dim=1, keepdim=True).sum()


CASES = [statistics, joins, cross_entropy, extrema, elementwise, activations, methods, functional, operators, reductions, shapes, products, indexing,
         selections, softmaxes, shapes_more]


def arguments():
    return t(3, 4, seed=1), t(3, 4, positive=True, seed=2), t(4, 5, seed=3), t(4, seed=4)


def call(f, *args):
    n = f.__code__.co_argcount
    return f(*args[:n])


def directional(f, args, v, eps=1e-6):
    """Central finite difference of f along v in its first argument."""
    x = args[0]
    return (call(f, x + eps * v, *args[1:]) - call(f, x - eps * v, *args[1:])) / (2 * eps)


@pytest.mark.parametrize("f", CASES, ids=lambda f: f.__name__)
def test_grad_against_torch_func(f):
    args = arguments()[:f.__code__.co_argcount]
    df = tangent.grad(f)(*args)
    assert type(df) is torch.Tensor and df.dtype == D
    expected = torch.func.grad(f)(*args)
    torch.testing.assert_close(df, expected, rtol=1e-9, atol=1e-9)
    v = t(*args[0].shape, seed=9)
    assert float((df * v).sum()) == pytest.approx(float(directional(f, args, v)), rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("f", CASES, ids=lambda f: f.__name__)
def test_jvp_against_torch_func(f):
    args = arguments()[:f.__code__.co_argcount]
    v = t(*args[0].shape, seed=9)
    out = tangent.jvp(f)(*args, v)
    assert isinstance(out, torch.Tensor)
    expected = torch.func.jvp(lambda a: f(a, *args[1:]), (args[0],), (v,))[1]
    torch.testing.assert_close(out, expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("f", CASES, ids=lambda f: f.__name__)
def test_hvp_against_torch_func(f):
    args = arguments()[:f.__code__.co_argcount]
    v = t(*args[0].shape, seed=9)
    out = tangent.hvp(f)(*args, v)
    assert type(out) is torch.Tensor
    expected = torch.func.jvp(lambda a: torch.func.grad(f)(a, *args[1:]), (args[0],), (v,))[1]
    torch.testing.assert_close(out, expected, rtol=1e-8, atol=1e-8)


# ------------------------------------------------------------- an MLP loss


def mlp_loss(W1, b1, W2, x, labels, steps):
    h = x
    for _ in range(steps):
        h = torch.tanh(h @ W1 + b1)
        if h.sum() > 0:
            h = h * 0.5
    logits = h @ W2
    return -(F.log_softmax(logits, dim=1) * labels).sum() / x.shape[0]


def test_mlp_with_loop_and_branch_all_modes():
    W1, b1, W2, x = t(4, 4, seed=1), t(4, seed=2), t(4, 3, seed=3), t(5, 4, seed=4)
    labels = F.one_hot(torch.tensor([0, 2, 1, 1, 0]), 3).to(D)
    args = (W1, b1, W2, x, labels, 3)
    grads = tangent.grad(mlp_loss, wrt=(0, 1, 2))(*args)
    expected = torch.func.grad(mlp_loss, argnums=(0, 1, 2))(*args)
    for g, e in zip(grads, expected):
        assert type(g) is torch.Tensor
        torch.testing.assert_close(g, e, rtol=1e-6, atol=1e-6)
    v = t(4, 4, seed=7)
    tangent_out = tangent.jvp(mlp_loss)(*args, v)
    torch.testing.assert_close(tangent_out, torch.func.jvp(lambda a: mlp_loss(a, *args[1:]), (W1,), (v,))[1])
    h = tangent.hvp(mlp_loss)(*args, v)
    expected_h = torch.func.jvp(lambda a: torch.func.grad(mlp_loss)(a, *args[1:]), (W1,), (v,))[1]
    torch.testing.assert_close(h, expected_h, rtol=1e-6, atol=1e-6)


def linear_layer(x, W, bias):
    return (F.linear(x, W, bias) ** 2).sum() + (F.linear(x, W) * x[:, :2].sum()).sum()


def test_linear_layer_all_arguments():
    args = (t(3, 4, seed=1), t(2, 4, seed=2), t(2, seed=3))
    grads = tangent.grad(linear_layer, wrt=(0, 1, 2))(*args)
    for g, e in zip(grads, torch.func.grad(linear_layer, argnums=(0, 1, 2))(*args)):
        torch.testing.assert_close(g, e)
    v = t(2, 4, seed=5)
    out = tangent.jvp(linear_layer, wrt=(1,))(*args, v)
    torch.testing.assert_close(out, torch.func.jvp(lambda w: linear_layer(args[0], w, args[2]), (args[1],), (v,))[1])


def test_gradient_does_not_touch_inputs_or_autograd():
    x, y = t(3, 4), t(3, 4, positive=True)
    before = x.clone()
    tangent.grad(methods)(x, y)
    assert torch.equal(x, before) and not x.requires_grad


def shifted(x):
    return x + 1.0


def test_returned_derivatives_are_the_callers_own():
    seed, x = t(3, seed=1), t(3, seed=2)
    g = tangent.vjp(shifted)(x, seed)
    assert g is not seed and torch.equal(g, seed)
    g_sum = tangent.grad(methods)(x.reshape(1, 3), t(1, 3, positive=True))
    g_sum += 1  # writable, not an expanded view
    v = t(3, seed=3)
    assert tangent.jvp(shifted)(x, v) is not v


def writes_into_a_copy(x, w):
    y = torch.clone(x)
    y[0] = 2.0 * w[1]
    z = x * 1.0
    z[1:] = z[1:] * 3.0 + w[1:]
    return torch.sum(y * x * w) + torch.sum(z)


def test_writes_into_new_tensors():
    x, w = t(3, seed=1), t(3, seed=2)
    before = x.clone()
    grads = tangent.grad(writes_into_a_copy, wrt=(0, 1))(x, w)
    for g, e in zip(grads, torch.func.grad(writes_into_a_copy, argnums=(0, 1))(x, w)):
        torch.testing.assert_close(g, e)
    assert torch.equal(x, before)


def writes_through_a_view(x, w):
    v = x.reshape(3)
    v[0] = 5.0
    return torch.sum(v * w) + torch.sum(x)


def test_write_through_a_view_of_an_argument_is_refused():
    # torch's reshape returns a view: the write changes x, which is read afterwards
    with pytest.raises(tangent.TangentSyntaxError, match="may share memory with 'x'"):
        tangent.grad(writes_through_a_view)(t(3), t(3))


# --------------------------------------------------------------- refusals


def uses_cumprod(x):
    return torch.cumprod(x, dim=0).sum()


def where_of_a_float(x0, x2):
    return x0 + 0.46 * torch.where(x0 > x2[0], x0, x2[0])


def test_where_with_a_python_float_keeps_float64():
    # (the seed 1.0 times a 0-d bool mask was torch's default float32: 0.46000000834...)
    x2 = torch.tensor([0.505977, -0.310248], dtype=D)
    g = tangent.grad(where_of_a_float, wrt=1)(0.491927, x2)
    assert g.dtype == D and g.tolist() == [0.46, 0.0]


def mean_squared(x, y):
    return F.mse_loss(x, y) + F.mse_loss(y, x * x)


def test_mse_loss_all_modes():
    # (torch.func's own jvp of grad of a mean mse_loss fails on ZeroTensors: the HVP is checked
    # against central differences of the gradient)
    x, y, v = t(3, 4, seed=1), t(3, 4, seed=2), t(3, 4, seed=9)
    torch.testing.assert_close(tangent.grad(mean_squared)(x, y), torch.func.grad(mean_squared)(x, y))
    torch.testing.assert_close(tangent.grad(mean_squared, wrt=1)(x, y), torch.func.grad(mean_squared, 1)(x, y))
    expected = torch.func.jvp(lambda a: mean_squared(a, y), (x,), (v,))[1]
    torch.testing.assert_close(tangent.jvp(mean_squared)(x, y, v), expected)
    dg, eps = tangent.grad(mean_squared), 1e-6
    fd = (dg(x + eps * v, y) - dg(x - eps * v, y)) / (2 * eps)
    torch.testing.assert_close(tangent.hvp(mean_squared)(x, y, v), fd, rtol=1e-6, atol=1e-6)


def test_unsupported_norm_order_is_refused():
    def l1(x):
        return torch.norm(x, p=1)

    with pytest.raises(NotImplementedError, match="2-norm"):
        tangent.grad(l1)(t(3))


def test_function_without_rule_is_refused_naming_the_line():
    with pytest.raises(NoDerivativeError, match=r"test_torch.py:\d+ \(in uses_cumprod\)"):
        tangent.grad(uses_cumprod)(t(3))


def returns_vector(x):
    return torch.exp(x)


def test_grad_of_non_scalar_is_refused():
    with pytest.raises(tangent.TangentError, match=r"scalar output.*\(3,\)"):
        tangent.grad(returns_vector)(t(3))


def test_import_tangent_does_not_import_torch():
    code = "import sys, tangent; tangent.grad; print('torch' in sys.modules, 'jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


# ------------------------------------------------------ jacobian / hessian


def layer(W, x):
    return torch.tanh(W @ x) * x[:2].sum()


def scalar_loss(W, x):
    return (torch.tanh(W @ x) ** 2).sum() + (W * W).sum() * x[0]


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian_is_a_tensor(mode):
    W, x = t(2, 3, seed=1), t(3, seed=2)
    J = tangent.jacobian(layer, (0, 1), mode=mode)(W, x)
    expected = torch.func.jacrev(layer, argnums=(0, 1))(W, x)
    for got, e in zip(J, expected):
        assert type(got) is torch.Tensor and got.dtype == D
        torch.testing.assert_close(got, e, rtol=1e-9, atol=1e-9)


def test_hessian_is_a_tensor():
    W, x = t(2, 3, seed=1), t(3, seed=2)
    H = tangent.hessian(scalar_loss)(W, x)
    assert type(H) is torch.Tensor and H.shape == (2, 3, 2, 3)
    torch.testing.assert_close(H, torch.func.hessian(scalar_loss)(W, x), rtol=1e-8, atol=1e-8)
    H32 = tangent.hessian(scalar_loss)(W.float(), x.float())
    assert H32.dtype == torch.float32


# ------------------------------------------------------------ convolution


def convnet(image, kernel, bias):
    h = torch.tanh(F.conv2d(image, kernel, bias, padding=1))
    s = F.conv2d(image, kernel, stride=2, dilation=1)
    return (h * h).sum() + torch.sin(s).sum() + (F.conv2d(image, kernel[:, :1], groups=3) ** 2).sum()


@pytest.mark.parametrize("i", [0, 1, 2], ids=["image", "kernel", "bias"])
def test_conv2d_all_modes(i):
    args = (t(2, 3, 6, 6, seed=1), t(3, 3, 3, 3, seed=2), t(3, seed=3))
    v = t(*args[i].shape, seed=5)
    g = tangent.grad(convnet, wrt=i)(*args)
    torch.testing.assert_close(g, torch.func.grad(convnet, argnums=i)(*args))

    def along(a):
        return convnet(*args[:i], a, *args[i + 1:])

    torch.testing.assert_close(tangent.jvp(convnet, wrt=i)(*args, v), torch.func.jvp(along, (args[i],), (v,))[1])
    expected = torch.func.jvp(lambda a: torch.func.grad(along)(a), (args[i],), (v,))[1]
    torch.testing.assert_close(tangent.hvp(convnet, wrt=i)(*args, v), expected, rtol=1e-8, atol=1e-8)


def max_over_dim(x):
    values, indices = x.max(dim=1)
    return values.sum()


def test_max_with_a_dim_is_refused_saying_what_to_write():
    with pytest.raises(tangent.TangentSyntaxError, match=r"torch\.amax\(input, dim\)"):
        tangent.grad(max_over_dim)(t(3, 4))


def writes_into_argument(x):
    x[0] = 1.0
    return (x * x).sum()


def test_writes_into_a_torch_argument_and_the_refusal_through_a_view_says_clone():
    """A write into an argument tensor: the gradient is with respect to the
    value at entry (torch.autograd on a clone), and the caller's tensor is
    left as it was. A write through a view read afterwards is refused, with
    torch's spelling of a copy."""
    x = t(3)
    entry = x.clone()
    g = tangent.grad(writes_into_argument)(x)
    leaf = entry.clone().requires_grad_()
    (expected,) = torch.autograd.grad(writes_into_argument(leaf.clone()), leaf)
    assert torch.allclose(g, expected)
    assert torch.equal(x, entry)  # writes_into_argument writes into x; its gradient does not
    with pytest.raises(tangent.TangentSyntaxError, match=r"\.clone\(\) or torch\.clone\(\.\.\.\)") as info:
        tangent.grad(writes_through_a_view)(t(3), t(3))
    assert ".copy()" not in str(info.value)


def minimum_against_a_product(a, b):
    return torch.sum(torch.sin(torch.minimum(0.5 * torch.ones((2,), dtype=torch.float64), a @ b)))


def test_minimum_keeps_float64_in_second_order():
    """The tie share (x < y) + 0.5 * (x == y) is torch's default float32;
    a 0-d float64 adjoint times it was rounded to float32 (hvp off by 1e-9
    against torch.func; found by tools/fuzz.py --backend torch)."""
    a = torch.tensor([0.3, 0.2], dtype=torch.float64)
    b = torch.tensor([0.7, 0.1], dtype=torch.float64)
    v = torch.tensor([0.3, -0.5], dtype=torch.float64)
    got = tangent.hvp(minimum_against_a_product)(a, b, v)
    want = torch.func.jvp(lambda p: torch.func.grad(minimum_against_a_product)(p, b), (a,), (v,))[1]
    assert got.dtype == torch.float64
    assert torch.allclose(got, want, rtol=1e-12, atol=1e-14)


def casts(x):
    y = (x * 2.0).to(torch.float32)
    return torch.sum(torch.sin(y).to(torch.float64) * x.to(x))


def test_to_a_dtype_in_every_mode_against_torch_func():
    # Tensor.to is linear: the tangent is cast as the value is, the adjoint back to the input's dtype
    x, v = t(4, seed=3), t(4, seed=4)
    xr = x.clone().requires_grad_(True)
    casts(xr).backward()
    g = tangent.grad(casts)(x)
    assert g.dtype == D and torch.allclose(g, xr.grad, rtol=1e-5, atol=1e-6)
    assert torch.allclose(tangent.jvp(casts)(x, v), torch.func.jvp(casts, (x,), (v,))[1], rtol=1e-5, atol=1e-6)
    want = torch.func.jvp(torch.func.grad(casts), (x,), (v,))[1]
    assert torch.allclose(tangent.hvp(casts)(x, v), want, rtol=1e-4, atol=1e-5)


def masked_by_comparisons(x):
    keep = torch.logical_not(x > 0.5) & torch.greater(x, 0.1) & torch.isfinite(x) & torch.ne(x, 0.3)
    return torch.sum(torch.where(keep, x**2, torch.sin(x)))


def test_comparisons_and_logical_functions_carry_no_derivative_in_any_mode():
    """Boolean results of comparison and logical functions: no derivative
    (were refused in forward mode and by hvp)."""
    x = torch.tensor([0.05, 0.3, 0.7, 0.2, 0.45], dtype=D)
    v = t(5, seed=3)
    want = torch.func.grad(masked_by_comparisons)(x)
    assert torch.allclose(tangent.grad(masked_by_comparisons)(x), want)
    assert torch.allclose(tangent.jvp(masked_by_comparisons)(x, v), torch.dot(want, v))
    _, hv = torch.func.jvp(torch.func.grad(masked_by_comparisons), (x,), (v,))
    assert torch.allclose(tangent.hvp(masked_by_comparisons)(x, v), hv)
