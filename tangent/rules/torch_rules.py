"""Derivative rules of PyTorch functions and tensor methods.

Takes nothing; registers, for ``torch.*`` functions, ``torch.Tensor`` methods
and attributes and ``torch.nn.functional``, rules whose generated code calls
torch (``xp`` is ``torch``), so a derivative of torch code is a tensor
computed by torch, without ``requires_grad``. Methods of local values are
resolved on ``torch.Tensor`` in functions that read torch names
(``register_array_type``). Loaded by ``rules.load_builtin_rules`` only once
the user has imported torch; assumes torch >= 2.0 (``torch.func`` checks the
rules in tests/test_torch.py). Not covered here means refused: a torch
function without a rule raises NoDerivativeError naming the line.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..runtime import arrays, as_container_grad, unbroadcast
from . import (
    Template,
    adjoint,
    d,
    declare_views,
    elementwise,
    linear,
    nondifferentiable,
    register_adjoint,
    register_array_type,
    register_tangent,
    tangent_rule,
)
from .array_rules import ELEMENTWISE
from .vocabulary import bilinear, register_namespace

register_namespace("torch", "torch", "torch")
register_array_type("torch", torch.Tensor)

# ------------------------------------------------------------ elementwise
_ALIASES = {"negative": ("neg", "negative"), "abs": ("abs", "absolute")}
_FUNCTIONAL = {"sigmoid": F.sigmoid, "relu": F.relu, "tanh": F.tanh}

for _name, _declaration in ELEMENTWISE.items():
    _primitives = []
    for _alias in _ALIASES.get(_name, (_name,)):
        _primitives += [getattr(torch, _alias), getattr(torch.Tensor, _alias)]
    if _name in _FUNCTIONAL:
        _primitives.append(_FUNCTIONAL[_name])
    elementwise(*_primitives)(_declaration)


def rsqrt(z, x):
    return -0.5 * z / x


elementwise(torch.rsqrt, torch.Tensor.rsqrt)(rsqrt)


def log_positive(x):
    """``log(x)`` where x > 0, else 0: the log in the derivative of
    ``x ** y`` with respect to ``y`` (zero where x <= 0, as NumPy's rule)."""
    x = x if arrays.library(x) else torch.as_tensor(x, dtype=torch.get_default_dtype())
    return torch.log(torch.where(x > 0, x, torch.ones_like(x)))


@elementwise(log_positive)
def _log_positive(z, x):
    return torch.where(x > 0, 1 / x, torch.zeros_like(x))


@elementwise(torch.pow, torch.Tensor.pow)
def pow_(z, input, exponent):
    return exponent * input ** (exponent - 1 + 0 ** abs(exponent)), z * log_positive(input)  # (slope 0 at exponent 0)


@elementwise(torch.where)
def where(z, condition, input, other):
    # (in the result's dtype: a Python float seed times a bool tensor is torch's default float32)
    return {input: condition.to(z.dtype), other: (~condition).to(z.dtype)}


# ------------------------------------------------------------- reductions


def _dims(dim, ndim: int) -> list[int]:
    """The reduced dims, sorted and non-negative (None or () for all, as torch.amax reads ())."""
    dims = range(ndim) if dim is None or dim == () else (dim if isinstance(dim, (tuple, list)) else (dim,))
    return sorted(d_ % max(ndim, 1) for d_ in dims)


def grad_sum(g, input, dim=None, keepdim=False):
    """Adjoint of ``torch.sum(input, dim, keepdim)``: ``g`` broadcast over
    the summed dims."""
    g = arrays.as_array(g, input)
    if dim is not None and not keepdim:
        for axis in _dims(dim, input.ndim):
            g = g.unsqueeze(axis)
    return g.expand(input.shape)


def grad_mean(g, input, dim=None, keepdim=False):
    """Adjoint of ``torch.mean(input, dim, keepdim)``."""
    count = 1
    for axis in _dims(dim, input.ndim):
        count *= input.shape[axis]
    return grad_sum(g, input, dim, keepdim) / count


@linear(torch.sum, torch.Tensor.sum, transpose=grad_sum)
def sum_(z, input, dim=None, keepdim=False, dtype=None):
    return torch.sum(input, dim=dim, keepdim=keepdim)


@linear(torch.mean, torch.Tensor.mean, transpose=grad_mean, transpose_rules=False)
def mean(z, input, dim=None, keepdim=False, dtype=None):
    return torch.mean(input, dim=dim, keepdim=keepdim)


@linear(grad_mean)
def grad_mean_(z, g, input, dim=None, keepdim=False):
    return grad_mean(g, input, dim, keepdim), torch.mean(d[z], dim=dim, keepdim=keepdim)


def extremum_share(input, z, dim=None, keepdim=False):
    """Where ``input`` attains its max/min ``z`` over ``dim``: 1/(number of
    ties) (torch's own convention), else 0."""
    hit = (input == grad_sum(z, input, dim, keepdim)).to(input.dtype)
    dims = tuple(_dims(dim, input.ndim))
    return hit / torch.sum(hit, dim=dims, keepdim=True) if dims else hit


@adjoint(torch.amax, torch.Tensor.amax, torch.amin, torch.Tensor.amin)
def amax(z, input, dim=(), keepdim=False):
    d[input] = grad_sum(d[z], input, dim, keepdim) * extremum_share(input, z, dim, keepdim)


@tangent_rule(torch.amax, torch.Tensor.amax, torch.amin, torch.Tensor.amin)
def t_amax(z, input, dim=(), keepdim=False):
    d[z] = torch.sum(extremum_share(input, z, dim, keepdim) * d[input], dim=dim, keepdim=keepdim)


def max_(z, input):
    d[input] = grad_sum(d[z], input) * extremum_share(input, z)


def t_max(z, input):
    d[z] = torch.sum(extremum_share(input, z) * d[input])


# torch.max(x) and x.max(), the reduction over all elements; with a dim they
# return (values, indices), which has no rule: the label says what to write
_MAX_LABEL = ("for torch.max/min(input) and input.max/min() over all elements; with a dim they return "
              "(values, indices): write torch.amax(input, dim) or torch.amin(input, dim) for the values")
register_adjoint(Template(max_, "adjoint", label=_MAX_LABEL), [torch.max, torch.Tensor.max, torch.min, torch.Tensor.min])
register_tangent(Template(t_max, "tangent", label=_MAX_LABEL), [torch.max, torch.Tensor.max, torch.min, torch.Tensor.min])


@adjoint(torch.logsumexp, torch.Tensor.logsumexp)
def logsumexp(z, input, dim, keepdim=False):
    d[input] = grad_sum(d[z], input, dim, keepdim) * torch.exp(input - grad_sum(z, input, dim, keepdim))


@tangent_rule(torch.logsumexp, torch.Tensor.logsumexp)
def t_logsumexp(z, input, dim, keepdim=False):
    d[z] = torch.sum(torch.exp(input - grad_sum(z, input, dim, keepdim)) * d[input], dim=dim, keepdim=keepdim)


def clamp_inside(input, min=None, max=None):
    """1.0 where ``torch.clamp`` passes ``input`` through, else 0.0."""
    inside = torch.ones_like(input, dtype=torch.bool)
    if min is not None:
        inside = inside & (input >= min)
    if max is not None:
        inside = inside & (input <= max)
    return inside.to(input.dtype)


@elementwise(torch.clamp, torch.Tensor.clamp, torch.clip, torch.Tensor.clip)
def clamp(z, input, min=None, max=None):
    return {input: clamp_inside(input, min, max), min: (input < min).to(z.dtype), max: (input > max).to(z.dtype)}


def _norm_order(p) -> None:
    if p not in (None, 2, 2.0, "fro"):
        raise NotImplementedError(f"Tangent differentiates torch's 2-norm and Frobenius norm only, not p={p!r}; "
                                  "write it out (e.g. torch.sum(torch.abs(x) ** p) ** (1 / p))")


def norm_share(input, z, dim=None, keepdim=False, p=None):
    """d ||input|| / d input for the 2-norm (Frobenius) ``z`` over ``dim``:
    input / z, 0 where the norm is 0 (torch's own choice there)."""
    _norm_order(p)
    zz = grad_sum(z, input, dim, keepdim)
    return torch.where(zz == 0, torch.zeros_like(input), input / torch.where(zz == 0, torch.ones_like(zz), zz))


@adjoint(torch.norm, torch.Tensor.norm)
def norm(z, input, p="fro", dim=None, keepdim=False, dtype=None):
    d[input] = grad_sum(d[z], input, dim, keepdim) * norm_share(input, z, dim, keepdim, p)


@tangent_rule(torch.norm, torch.Tensor.norm)
def t_norm(z, input, p="fro", dim=None, keepdim=False, dtype=None):
    d[z] = torch.sum(norm_share(input, z, dim, keepdim, p) * d[input], dim=_dims(dim, input.ndim), keepdim=keepdim)


@adjoint(torch.linalg.norm, torch.linalg.vector_norm)
def linalg_norm(z, input, ord=None, dim=None, keepdim=False, dtype=None):
    d[input] = grad_sum(d[z], input, dim, keepdim) * norm_share(input, z, dim, keepdim, ord)


@tangent_rule(torch.linalg.norm, torch.linalg.vector_norm)
def t_linalg_norm(z, input, ord=None, dim=None, keepdim=False, dtype=None):
    d[z] = torch.sum(norm_share(input, z, dim, keepdim, ord) * d[input], dim=_dims(dim, input.ndim), keepdim=keepdim)


def var_weights(input, dim=None, unbiased=None, correction=None):
    """d var / d input: 2 (input - mean) / (n - correction), torch's
    correction (1 unless ``unbiased=False`` or ``correction`` says)."""
    dims = _dims(dim, input.ndim)
    count = 1
    for axis in dims:
        count *= input.shape[axis]
    c = correction if correction is not None else (0 if unbiased is False else 1)
    return (input - torch.mean(input, dim=dims, keepdim=True)) * (2.0 / (count - c))


@adjoint(torch.var, torch.Tensor.var)
def var(z, input, dim=None, unbiased=None, keepdim=False, correction=None):
    d[input] = grad_sum(d[z], input, dim, keepdim) * var_weights(input, dim, unbiased, correction)


@tangent_rule(torch.var, torch.Tensor.var)
def t_var(z, input, dim=None, unbiased=None, keepdim=False, correction=None):
    d[z] = torch.sum(var_weights(input, dim, unbiased, correction) * d[input], dim=_dims(dim, input.ndim),
                     keepdim=keepdim)


def half_over(z):
    """1 / (2 z), 0 where z is 0 (the std's derivative there is not defined)."""
    return torch.where(z == 0, torch.zeros_like(z), 0.5 / torch.where(z == 0, torch.ones_like(z), z))


@adjoint(torch.std, torch.Tensor.std)
def std(z, input, dim=None, unbiased=None, keepdim=False, correction=None):
    d[input] = grad_sum(d[z] * half_over(z), input, dim, keepdim) * var_weights(input, dim, unbiased, correction)


@tangent_rule(torch.std, torch.Tensor.std)
def t_std(z, input, dim=None, unbiased=None, keepdim=False, correction=None):
    d[z] = half_over(z) * torch.sum(var_weights(input, dim, unbiased, correction) * d[input],
                                    dim=_dims(dim, input.ndim), keepdim=keepdim)


def mse_scale(input, target, reduction="mean"):
    """d mse / d input (up to the seed): 2 (input - target), over n for 'mean'."""
    if reduction not in ("mean", "sum"):
        raise NotImplementedError(f"Tangent differentiates F.mse_loss with reduction 'mean' or 'sum', not {reduction!r}")
    diff = input - target
    return 2.0 * diff / diff.numel() if reduction == "mean" else 2.0 * diff


@adjoint(F.mse_loss)
def mse_loss(z, input, target, reduction="mean"):
    d[input] = unbroadcast(d[z] * mse_scale(input, target, reduction), input)
    d[target] = unbroadcast(-d[z] * mse_scale(input, target, reduction), target)


@tangent_rule(F.mse_loss)
def t_mse_loss(z, input, target, reduction="mean"):
    d[z] = torch.sum(mse_scale(input, target, reduction) * (d[input] - d[target]))


@elementwise(F.softplus)
def softplus(z, input, beta=1.0, threshold=20.0):
    return torch.where(input * beta > threshold, torch.ones_like(input), torch.sigmoid(input * beta))


@elementwise(F.silu)
def silu(z, input):
    return torch.sigmoid(input) * (1 + input * (1 - torch.sigmoid(input)))


# ------------------------------------------------------------------ shapes


@linear(torch.clone, torch.Tensor.clone)
def clone(z, input):
    return torch.clone(input), d[z]




@linear(torch.Tensor.to)
def to_method(z, input, *args):
    # (a dtype, a device or a tensor whose dtype and device to take: the adjoint goes back to the input's)
    return input.to(*args), d[z].to(input)


@linear(torch.reshape)
def reshape(z, input, shape):
    return torch.reshape(input, shape), torch.reshape(d[z], input.shape)


@linear(torch.Tensor.reshape)
def reshape_method(z, input, *shape):
    return torch.reshape(input, z.shape), torch.reshape(d[z], input.shape)


@linear(torch.flatten, torch.Tensor.flatten, torch.squeeze, torch.Tensor.squeeze, torch.unsqueeze,
        torch.Tensor.unsqueeze)
def reshaped(z, input, *args, **kwargs):
    return torch.reshape(input, z.shape), torch.reshape(d[z], input.shape)


@linear(torch.transpose, torch.Tensor.transpose, torch.swapaxes, torch.Tensor.swapaxes)
def transpose(z, input, dim0, dim1):
    return torch.transpose(input, dim0, dim1), torch.transpose(d[z], dim0, dim1)


@linear(torch.t, torch.Tensor.t, torch.Tensor.T, torch.Tensor.mT)
def t(z, input):
    return torch.swapaxes(input, -1, -2) if input.ndim > 1 else input, \
        torch.swapaxes(d[z], -1, -2) if input.ndim > 1 else d[z]


def permutation(dims) -> tuple[int, ...]:
    """The dims of ``permute(*dims)`` or ``permute(dims)`` as one tuple."""
    return tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else tuple(dims)


def inverse_permutation(dims) -> tuple[int, ...]:
    """The dims undoing ``torch.permute(·, dims)``."""
    dims = [p % len(dims) for p in dims]
    return tuple(sorted(range(len(dims)), key=dims.__getitem__))


@linear(torch.permute)
def permute(z, input, dims):
    return torch.permute(input, dims), torch.permute(d[z], inverse_permutation(dims))


@linear(torch.Tensor.permute)
def permute_method(z, input, *dims):
    return torch.permute(input, permutation(dims)), torch.permute(d[z], inverse_permutation(permutation(dims)))


def grad_cat(g, tensors, dim=0):
    """Adjoint of ``torch.cat(tensors, dim)``: ``g`` split into one piece per input."""
    return as_container_grad(list(torch.split(g, [t_.shape[dim] for t_ in tensors], dim=dim)), tensors)


def grad_stack(g, tensors, dim=0):
    """Adjoint of ``torch.stack(tensors, dim)``: one slice of ``g`` per input."""
    return as_container_grad(list(torch.unbind(g, dim)), tensors)


@linear(torch.cat, torch.concat, torch.concatenate, transpose=grad_cat, transpose_rules=False)
def cat(z, tensors, dim=0):
    return torch.cat(tensors, dim)


@linear(torch.stack, transpose=grad_stack, transpose_rules=False)
def stack(z, tensors, dim=0):
    return torch.stack(tensors, dim)


@linear(grad_cat)
def l_grad_cat(z, g, tensors, dim=0):
    return grad_cat(g, tensors, dim), torch.cat(list(d[z]), dim)


@linear(grad_stack)
def l_grad_stack(z, g, tensors, dim=0):
    return grad_stack(g, tensors, dim), torch.stack(list(d[z]), dim)


def grad_cumsum(g, input, dim):
    """Adjoint of ``torch.cumsum(input, dim)``: a reversed cumulative sum of ``g``."""
    return torch.flip(torch.cumsum(torch.flip(g, [dim]), dim), [dim])


@linear(torch.cumsum, torch.Tensor.cumsum, transpose=grad_cumsum)
def cumsum(z, input, dim):
    return torch.cumsum(input, dim)


# ---------------------------------------------------------------- products


def matmul_lhs(g, input, other):
    """Adjoint of ``input`` in ``torch.matmul(input, other)``."""
    return arrays.matmul_adjoint(g, input, other, "lhs")


def matmul_rhs(g, input, other):
    """Adjoint of ``other`` in ``torch.matmul(input, other)``."""
    return arrays.matmul_adjoint(g, input, other, "rhs")


@bilinear(torch.matmul, torch.Tensor.matmul, torch.mm, torch.Tensor.mm, torch.mv, torch.Tensor.mv, torch.dot,
          torch.Tensor.dot, lhs=matmul_lhs, rhs=matmul_rhs)
def matmul(z, input, other):
    return torch.matmul(input, other)


# ------------------------------------------------------------ nn.functional


@adjoint(torch.softmax, torch.Tensor.softmax, F.softmax)
def softmax(z, input, dim, dtype=None):
    d[input] = z * (d[z] - torch.sum(d[z] * z, dim=dim, keepdim=True))


@tangent_rule(torch.softmax, torch.Tensor.softmax, F.softmax)
def t_softmax(z, input, dim, dtype=None):
    d[z] = z * (d[input] - torch.sum(d[input] * z, dim=dim, keepdim=True))


@adjoint(torch.log_softmax, torch.Tensor.log_softmax, F.log_softmax)
def log_softmax(z, input, dim, dtype=None):
    d[input] = d[z] - torch.exp(z) * torch.sum(d[z], dim=dim, keepdim=True)


@tangent_rule(torch.log_softmax, torch.Tensor.log_softmax, F.log_softmax)
def t_log_softmax(z, input, dim, dtype=None):
    d[z] = d[input] - torch.sum(torch.exp(z) * d[input], dim=dim, keepdim=True)


@adjoint(F.linear)
def linear_(z, input, weight, bias=None):
    d[input] = matmul_lhs(d[z], input, weight.T)
    d[weight] = matmul_rhs(d[z], input, weight.T).T
    d[bias] = unbroadcast(d[z], bias)


@tangent_rule(F.linear)
def t_linear_(z, input, weight, bias=None):
    d[z] = torch.matmul(d[input], weight.T) + torch.matmul(input, d[weight].T) + d[bias]


def class_count(target) -> int:
    """N, the number of class-index targets ``F.cross_entropy`` averages over."""
    return max(target.numel(), 1)


def one_hot_like(target, input):
    """The class-index ``target`` of ``F.cross_entropy`` as one-hot rows in
    ``input``'s dtype (raises for probability targets and images)."""
    if target.is_floating_point() or input.ndim not in (1, 2):
        raise NotImplementedError("tangent differentiates F.cross_entropy of (N, C) or (C,) logits with class-index "
                                  "targets; write the loss with log_softmax for other forms")
    return F.one_hot(target, input.shape[-1]).to(input.dtype)


# the mean over the batch of -log_softmax(input)[i, target[i]]; any other
# argument (weight, ignore_index, reduction, label_smoothing) is refused
@adjoint(F.cross_entropy)
def cross_entropy(z, input, target):
    d[input] = d[z] * (torch.softmax(input, dim=-1) - one_hot_like(target, input)) / class_count(target)


@tangent_rule(F.cross_entropy)
def t_cross_entropy(z, input, target):
    d[z] = torch.sum((torch.softmax(input, dim=-1) - one_hot_like(target, input)) * d[input]) / class_count(target)


def _check_conv(input, padding):
    if input.ndim != 4 or isinstance(padding, str):
        raise NotImplementedError("tangent differentiates F.conv2d of batched (N, C, H, W) inputs with numeric "
                                  "padding; pad with F.pad first for padding='same' or 'valid'")


def conv2d_plain(input, weight, stride=1, padding=0, dilation=1, groups=1):
    """``F.conv2d`` without a bias (the product the rules of F.conv2d take apart)."""
    return F.conv2d(input, weight, None, stride, padding, dilation, groups)


def conv2d_input(g, input, weight, stride=1, padding=0, dilation=1, groups=1):
    """Adjoint of ``input`` in ``F.conv2d(input, weight, ...)``."""
    _check_conv(input, padding)
    return torch.nn.grad.conv2d_input(input.shape, weight, g, stride, padding, dilation, groups)


def conv2d_weight(g, input, weight, stride=1, padding=0, dilation=1, groups=1):
    """Adjoint of ``weight`` in ``F.conv2d(input, weight, ...)``."""
    _check_conv(input, padding)
    return torch.nn.grad.conv2d_weight(input, weight.shape, g, stride, padding, dilation, groups)


@bilinear(conv2d_plain, lhs=conv2d_input, rhs=conv2d_weight)
def l_conv2d_plain(z, input, weight, stride=1, padding=0, dilation=1, groups=1):
    return conv2d_plain(input, weight, stride, padding, dilation, groups)


def bias_grad(g):
    """Adjoint of the bias of ``F.conv2d``: ``g`` summed over all but the channel dim."""
    return torch.sum(g, dim=(0, 2, 3))


def bias_image(b):
    """The bias of ``F.conv2d`` shaped to broadcast over (N, C, H, W)."""
    return b[:, None, None]


@linear(bias_grad)
def l_bias_grad(z, g):
    return bias_grad(g), d[z][None, :, None, None].expand(g.shape)


@linear(bias_image)
def l_bias_image(z, b):
    return bias_image(b), torch.sum(d[z], dim=(1, 2))


@adjoint(F.conv2d)
def conv2d(z, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    d[input] = conv2d_input(d[z], input, weight, stride, padding, dilation, groups)
    d[weight] = conv2d_weight(d[z], input, weight, stride, padding, dilation, groups)
    d[bias] = bias_grad(d[z])


@tangent_rule(F.conv2d)
def t_conv2d(z, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    d[z] = conv2d_plain(d[input], weight, stride, padding, dilation, groups) \
        + conv2d_plain(input, d[weight], stride, padding, dilation, groups) + bias_image(d[bias])


nondifferentiable(
    class_count, one_hot_like, torch.Tensor.shape, torch.Tensor.ndim, torch.Tensor.dim, torch.Tensor.size, torch.Tensor.numel,
    torch.Tensor.dtype, torch.Tensor.device, torch.numel, torch.sign, torch.Tensor.sign,
    torch.zeros, torch.ones, torch.empty, torch.arange, torch.eye, torch.zeros_like, torch.ones_like,
    torch.empty_like, torch.argmax, torch.argmin, torch.Tensor.argmax, torch.Tensor.argmin,
    torch.randn, torch.rand, torch.randn_like, torch.rand_like, extremum_share, clamp_inside, permutation,
    inverse_permutation,
)
# comparisons and logical operations: boolean results, no derivative in either mode
nondifferentiable(
    torch.logical_not, torch.logical_and, torch.logical_or, torch.logical_xor, torch.gt, torch.ge, torch.lt, torch.le,
    torch.eq, torch.ne, torch.greater, torch.greater_equal, torch.less, torch.less_equal, torch.not_equal,
    torch.isfinite, torch.isnan, torch.isinf, torch.isclose, torch.Tensor.logical_not, torch.Tensor.isfinite,
    torch.Tensor.isnan,
)

# results that may share memory with the argument: writes into them are
# refused when they would change the caller's tensor (aliases.view_functions)
declare_views(
    torch.reshape, torch.Tensor.reshape, torch.Tensor.view, torch.Tensor.view_as, torch.flatten,
    torch.Tensor.flatten, torch.squeeze, torch.Tensor.squeeze, torch.unsqueeze, torch.Tensor.unsqueeze,
    torch.transpose, torch.Tensor.transpose, torch.swapaxes, torch.Tensor.swapaxes, torch.t, torch.Tensor.t,
    torch.Tensor.T, torch.Tensor.mT, torch.permute, torch.Tensor.permute, torch.Tensor.expand,
    torch.Tensor.expand_as, torch.narrow, torch.Tensor.narrow, torch.select, torch.Tensor.select,
    torch.diagonal, torch.Tensor.diagonal, torch.Tensor.detach, torch.detach, torch.Tensor.real,
    torch.Tensor.imag, torch.Tensor.unflatten, torch.as_tensor, torch.asarray,
)
