"""Derivative rules of TensorFlow 2 (eager) functions.

Takes nothing; registers rules for ``tf.*``, ``tf.math.*``, ``tf.linalg.matmul``
and ``tf.nn.*`` whose generated code calls TensorFlow (``xp`` is ``tf``), so a
derivative of TensorFlow code is a ``tf.Tensor`` computed by TensorFlow,
without ``tf.GradientTape``; ``tf.Variable`` arguments are read as tensors
(their derivative is a tensor). Methods and attributes of local values
(``x.shape``, ``x.dtype``) are resolved on ``tf.Tensor`` in functions that
read tensorflow names (``register_array_type``); operators and indexing
(``x[1:, 0]``) go through the operator rules and ``runtime.tf``. Loaded by
``rules.load_builtin_rules`` only once the user has imported tensorflow.

TensorFlow neither promotes dtypes nor multiplies by booleans, so masks are
cast to the tensor's dtype (``mask``). Not covered means refused: a
TensorFlow function without a rule, or an argument a rule does not take
(``batch_dims=`` of ``tf.gather``, ``adjoint_a=`` of ``tf.matmul``, a
``name=`` is accepted), raises a TangentError naming the line.
"""

from __future__ import annotations

import string

import tensorflow as tf

from ..runtime import tf as tf_runtime
from ..runtime import unbroadcast
from ..runtime.adjoints import as_container_grad
from . import adjoint, d, elementwise, linear, nondifferentiable, register_array_type, tangent_rule
from .array_rules import ELEMENTWISE
from .numpy_rules import _einsum_specs
from .vocabulary import bilinear, register_namespace

register_namespace("tensorflow", "tf", "tensorflow")
register_array_type("tensorflow", tf.Tensor)


def mask(condition, like):
    """The boolean ``condition`` as 1.0/0.0 in ``like``'s float dtype."""
    return tf.cast(condition, tf_runtime.float_dtype(tf.convert_to_tensor(like)))


# ------------------------------------------------------------ elementwise
_SHARED = ("exp", "log", "sin", "cos", "tan", "tanh", "sinh", "cosh", "sqrt", "abs", "square", "log1p", "expm1",
           "reciprocal", "sigmoid", "negative")
for _name in _SHARED:
    elementwise(getattr(tf.math, _name))(ELEMENTWISE[_name])


def rsqrt(z, x, name=None):
    return -0.5 * z / x


def asin(z, x, name=None):
    return tf.math.rsqrt(1 - x * x)


def acos(z, x, name=None):
    return -tf.math.rsqrt(1 - x * x)


def atan(z, x, name=None):
    return 1 / (1 + x * x)


def asinh(z, x, name=None):
    return tf.math.rsqrt(x * x + 1)


def acosh(z, x, name=None):
    return tf.math.rsqrt(x * x - 1)


def atanh(z, x, name=None):
    return 1 / (1 - x * x)


def erf(z, x, name=None):
    return 1.1283791670955126 * tf.exp(-x * x)


def softplus(z, features, name=None):
    return tf.math.sigmoid(features)


def log_sigmoid(z, x, name=None):
    return tf.math.sigmoid(-x)


def relu(z, features, name=None):
    return mask(features > 0, features)


def elu(z, features, name=None):
    return tf.where(features > 0, tf.ones_like(z), z + 1)


for _fn, _primitive in ((rsqrt, tf.math.rsqrt), (asin, tf.math.asin), (acos, tf.math.acos), (atan, tf.math.atan),
                        (asinh, tf.math.asinh), (acosh, tf.math.acosh), (atanh, tf.math.atanh), (erf, tf.math.erf),
                        (softplus, tf.math.softplus), (log_sigmoid, tf.math.log_sigmoid), (relu, tf.nn.relu),
                        (elu, tf.nn.elu)):
    elementwise(_primitive)(_fn)


@elementwise(tf.math.add)
def add(z, x, y, name=None):
    return 1, 1


@elementwise(tf.math.subtract)
def subtract(z, x, y, name=None):
    return 1, -1


@elementwise(tf.math.multiply)
def multiply(z, x, y, name=None):
    return y, x


@elementwise(tf.math.divide, tf.math.truediv)
def divide(z, x, y, name=None):
    return 1 / y, -z / y


@elementwise(tf.math.squared_difference)
def squared_difference(z, x, y, name=None):
    return 2 * (x - y), -2 * (x - y)


@elementwise(tf.math.maximum)
def maximum(z, x, y, name=None):
    return mask(x > y, z) + 0.5 * mask(x == y, z), mask(y > x, z) + 0.5 * mask(x == y, z)


@elementwise(tf.math.minimum)
def minimum(z, x, y, name=None):
    return mask(x < y, z) + 0.5 * mask(x == y, z), mask(y < x, z) + 0.5 * mask(x == y, z)


def log_positive(x):
    """``log(x)`` where x > 0, else 0: the log in the derivative of
    ``x ** y`` with respect to ``y`` (zero where x <= 0, as NumPy's rule)."""
    x = tf.convert_to_tensor(x)
    return tf.math.log(tf.where(x > 0, x, tf.ones_like(x)))


@elementwise(log_positive)
def _log_positive(z, x):
    return tf.where(x > 0, 1 / x, tf.zeros_like(x))


@elementwise(tf.math.pow)
def pow_(z, x, y, name=None):
    return y * x ** (y - 1), z * log_positive(x)


@adjoint(tf.where)
def where(z, condition, x=None, y=None, name=None):
    d[x] = unbroadcast(tf.where(condition, d[z], tf.zeros_like(d[z])), x)
    d[y] = unbroadcast(tf.where(condition, tf.zeros_like(d[z]), d[z]), y)


@tangent_rule(tf.where)
def t_where(z, condition, x=None, y=None, name=None):
    d[z] = tf.where(condition, d[x] * tf.ones_like(z), d[y] * tf.ones_like(z))


# ------------------------------------------------------------- reductions


def _axes(axis, rank: int) -> list[int]:
    """The reduced axes, sorted and non-negative (None for all)."""
    if axis is None:
        return list(range(rank))
    axis = axis.numpy().tolist() if isinstance(axis, tf.Tensor) else axis
    axes = axis if isinstance(axis, (tuple, list)) else [axis]
    return sorted(int(a) % max(rank, 1) for a in axes)


def _expanded(g, input_tensor, axis, keepdims):
    """The adjoint ``g`` of a reduction with the reduced axes put back as 1s."""
    g = tf_runtime.as_array(g, input_tensor)
    if not keepdims:
        shape = list(input_tensor.shape)
        for a in _axes(axis, len(shape)):
            shape[a] = 1
        g = tf.reshape(g, shape)
    return g


def grad_reduce_sum(g, input_tensor, axis=None, keepdims=False):
    """Adjoint of ``tf.reduce_sum(input_tensor, axis, keepdims)``: ``g``
    broadcast over the summed axes."""
    return tf.broadcast_to(_expanded(g, input_tensor, axis, keepdims), tf.shape(input_tensor))


def reduced_count(input_tensor, axis=None) -> int:
    """How many elements ``tf.reduce_mean`` averages over."""
    count = 1
    for a in _axes(axis, len(input_tensor.shape)):
        count *= input_tensor.shape[a]
    return count


def grad_reduce_mean(g, input_tensor, axis=None, keepdims=False):
    """Adjoint of ``tf.reduce_mean(input_tensor, axis, keepdims)``."""
    return grad_reduce_sum(g, input_tensor, axis, keepdims) / reduced_count(input_tensor, axis)


@linear(tf.math.reduce_sum, transpose=grad_reduce_sum)
def reduce_sum(z, input_tensor, axis=None, keepdims=False, name=None):
    return tf.reduce_sum(input_tensor, axis=axis, keepdims=keepdims)


@linear(tf.math.reduce_mean, transpose=grad_reduce_mean)
def reduce_mean(z, input_tensor, axis=None, keepdims=False, name=None):
    return tf.reduce_mean(input_tensor, axis=axis, keepdims=keepdims)


def extremum_share(input_tensor, z, axis=None, keepdims=False):
    """Where ``input_tensor`` attains its max/min ``z`` over ``axis``: 1/(number
    of ties), as TensorFlow's own gradient shares it; else 0."""
    hit = mask(input_tensor == grad_reduce_sum(z, input_tensor, axis, keepdims), input_tensor)
    return hit / tf.reduce_sum(hit, axis=_axes(axis, len(input_tensor.shape)), keepdims=True)


@adjoint(tf.math.reduce_max, tf.math.reduce_min)
def reduce_max(z, input_tensor, axis=None, keepdims=False, name=None):
    d[input_tensor] = grad_reduce_sum(d[z], input_tensor, axis, keepdims) * extremum_share(input_tensor, z, axis,
                                                                                           keepdims)


@tangent_rule(tf.math.reduce_max, tf.math.reduce_min)
def t_reduce_max(z, input_tensor, axis=None, keepdims=False, name=None):
    d[z] = tf.reduce_sum(extremum_share(input_tensor, z, axis, keepdims) * d[input_tensor], axis=axis,
                         keepdims=keepdims)


@adjoint(tf.math.reduce_logsumexp)
def reduce_logsumexp(z, input_tensor, axis=None, keepdims=False, name=None):
    d[input_tensor] = grad_reduce_sum(d[z], input_tensor, axis, keepdims) * tf.exp(
        input_tensor - grad_reduce_sum(z, input_tensor, axis, keepdims))


@tangent_rule(tf.math.reduce_logsumexp)
def t_reduce_logsumexp(z, input_tensor, axis=None, keepdims=False, name=None):
    d[z] = tf.reduce_sum(tf.exp(input_tensor - grad_reduce_sum(z, input_tensor, axis, keepdims)) * d[input_tensor],
                         axis=axis, keepdims=keepdims)


# ------------------------------------------------------------------ shapes


@linear(tf.identity, tf.convert_to_tensor)
def identity(z, input, name=None):
    return tf.identity(input), d[z]


@linear(tf.cast)
def cast(z, x, dtype, name=None):
    return tf.cast(x, dtype), tf.cast(d[z], x.dtype)


@linear(tf.reshape, tf.squeeze, tf.expand_dims)
def reshaped(z, tensor, *args, **kwargs):
    return tf.reshape(tensor, tf.shape(z)), tf.reshape(d[z], tf.shape(tensor))


def inverse_perm(perm, rank: int) -> list[int]:
    """The permutation undoing ``tf.transpose(·, perm)`` (None: reversed)."""
    if perm is None:
        return list(range(rank))[::-1]
    perm = [int(p) % rank for p in (perm.numpy().tolist() if isinstance(perm, tf.Tensor) else perm)]
    return sorted(range(rank), key=perm.__getitem__)


@linear(tf.transpose)
def transpose(z, a, perm=None, conjugate=False, name=None):
    return tf.transpose(a, perm, conjugate), tf.transpose(d[z], inverse_perm(perm, len(a.shape)), conjugate)


def grad_concat(g, values, axis):
    """Adjoint of ``tf.concat(values, axis)``: ``g`` split into one piece per input."""
    sizes = [v.shape[axis] for v in values]
    return as_container_grad(tf.split(g, sizes, axis=axis), values)


def grad_stack(g, values, axis=0):
    """Adjoint of ``tf.stack(values, axis)``: one slice of ``g`` per input."""
    return as_container_grad(tf.unstack(g, num=len(values), axis=axis), values)


@linear(tf.concat, transpose=grad_concat, transpose_rules=False)
def concat(z, values, axis, name="concat"):
    return tf.concat(values, axis)


@linear(tf.stack, transpose=grad_stack, transpose_rules=False)
def stack(z, values, axis=0, name="stack"):
    return tf.stack(values, axis)


@linear(grad_concat)
def l_grad_concat(z, g, values, axis):
    return grad_concat(g, values, axis), tf.concat(list(d[z]), axis)


@linear(grad_stack)
def l_grad_stack(z, g, values, axis=0):
    return grad_stack(g, values, axis), tf.stack(list(d[z]), axis)


def grad_gather(g, params, indices, axis=None):
    """Adjoint of ``tf.gather(params, indices, axis=axis)``: ``g`` added back
    where each gathered slice came from (repeated indices accumulate)."""
    rank, axis = len(params.shape), 0 if axis is None else int(axis) % len(params.shape)
    k = len(indices.shape) if hasattr(indices, "shape") else len(tf.convert_to_tensor(indices).shape)
    # gathered dims (axis .. axis + k) first, as tensor_scatter_nd_add wants them
    g_perm = list(range(axis, axis + k)) + list(range(axis)) + list(range(axis + k, rank + k - 1))
    p_perm = [axis] + [i for i in range(rank) if i != axis]
    zeros = tf.zeros([params.shape[i] for i in p_perm], dtype=tf_runtime.float_dtype(params))
    scattered = tf.tensor_scatter_nd_add(zeros, tf.expand_dims(indices, -1), tf.transpose(g, g_perm))
    return tf.transpose(scattered, inverse_perm(p_perm, rank))


@linear(tf.gather, transpose=grad_gather)
def gather(z, params, indices, validate_indices=None, axis=None, name=None):
    return tf.gather(params, indices, axis=axis)


# ---------------------------------------------------------------- products


def matmul_lhs(g, a, b, transpose_a=False, transpose_b=False):
    """Adjoint of ``a`` in ``tf.matmul(a, b, transpose_a, transpose_b)``."""
    if transpose_a:
        return unbroadcast(tf.matmul(b, g, transpose_a=transpose_b, transpose_b=True), a)
    return unbroadcast(tf.matmul(g, b, transpose_b=not transpose_b), a)


def matmul_rhs(g, a, b, transpose_a=False, transpose_b=False):
    """Adjoint of ``b`` in ``tf.matmul(a, b, transpose_a, transpose_b)``."""
    if transpose_b:
        return unbroadcast(tf.matmul(g, a, transpose_a=True, transpose_b=transpose_a), b)
    return unbroadcast(tf.matmul(a, g, transpose_a=not transpose_a), b)


@bilinear(tf.linalg.matmul, lhs=matmul_lhs, rhs=matmul_rhs)
def matmul(z, a, b, transpose_a=False, transpose_b=False, name=None):
    return tf.matmul(a, b, transpose_a=transpose_a, transpose_b=transpose_b)


def grad_einsum(g, i, equation, op0, op1=None, op2=None):
    """Adjoint of operand ``i`` of ``tf.einsum(equation, op0, op1, op2)``:
    an einsum of the output adjoint with the other operands (a label
    repeated in operand ``i`` through an identity, a label summed in it
    alone through ones)."""
    operands = [op for op in (op0, op1, op2) if op is not None]
    inputs, output = _einsum_specs(equation, operands)
    target, dtype = inputs[i], tf_runtime.float_dtype(operands[i])
    fresh = (c for c in string.ascii_letters if c not in "".join(inputs) + output)
    others = [j for j in range(len(inputs)) if j != i]
    available = set(output).union(*(inputs[j] for j in others))
    specs, ops, out_spec = [output] + [inputs[j] for j in others], [g] + [operands[j] for j in others], ""
    for c, n in zip(target, operands[i].shape):
        if c in out_spec:
            new = next(fresh)
            specs.append(c + new)
            ops.append(tf.eye(n, dtype=dtype))
            out_spec += new
            continue
        if c not in available:
            specs.append(c)
            ops.append(tf.ones((n,), dtype=dtype))
        out_spec += c
    return unbroadcast(tf.einsum(",".join(specs) + "->" + out_spec, *ops), operands[i])


def replaced(i, value, op0, op1=None, op2=None):
    """The operands of an einsum with operand ``i`` replaced by ``value``."""
    operands = [op0, op1, op2]
    operands[i] = value
    return operands


def tangent_einsum(dop, i, equation, op0, op1=None, op2=None):
    """Tangent of ``tf.einsum`` along operand ``i``'s tangent ``dop``."""
    return tf.einsum(equation, *[op for op in replaced(i, dop, op0, op1, op2) if op is not None])


def tangent_tangent_einsum(dk, k, dop, i, equation, op0, op1=None, op2=None):
    """Tangent of ``tangent_einsum(dop, i, ...)`` along operand ``k``'s
    tangent ``dk``: the einsum with operand i replaced by ``dop`` and k by
    ``dk`` (zero for k == i: it does not read operand i)."""
    if k == i:
        return tf.zeros_like(tf.einsum(equation, *[op for op in (op0, op1, op2) if op is not None]))
    if i == 0:
        return tangent_einsum(dk, k, equation, dop, op1, op2)
    if i == 1:
        return tangent_einsum(dk, k, equation, op0, dop, op2)
    return tangent_einsum(dk, k, equation, op0, op1, dop)


def tangent_grad_einsum(dop, j, g, i, equation, op0, op1=None, op2=None):
    """Tangent of ``grad_einsum(g, i, ...)`` along operand ``j``'s tangent (zero for j == i)."""
    if j == i:
        return tf.zeros_like(op0 if i == 0 else (op1 if i == 1 else op2))
    # (the operands passed as they stand: differentiated by its source, this
    # reads them without writing into a list of them, which went wrong for an
    # operand passed twice, tf.einsum("ij,ij->i", x, x): hvp off by 30%)
    if j == 0:
        return grad_einsum(g, i, equation, dop, op1, op2)
    if j == 1:
        return grad_einsum(g, i, equation, op0, dop, op2)
    return grad_einsum(g, i, equation, op0, op1, dop)


# tf.einsum(equation, *inputs): the rule names up to three operands
@adjoint(tf.einsum)
def einsum(z, equation, op0, op1=None, op2=None, name=None):
    d[op0] = grad_einsum(d[z], 0, equation, op0, op1, op2)
    d[op1] = grad_einsum(d[z], 1, equation, op0, op1, op2)
    d[op2] = grad_einsum(d[z], 2, equation, op0, op1, op2)


@tangent_rule(tf.einsum)
def t_einsum(z, equation, op0, op1=None, op2=None, name=None):
    d[z] = (tangent_einsum(d[op0], 0, equation, op0, op1, op2) + tangent_einsum(d[op1], 1, equation, op0, op1, op2)
            + tangent_einsum(d[op2], 2, equation, op0, op1, op2))


@tangent_rule(grad_einsum)
def t_grad_einsum(z, g, i, equation, op0, op1=None, op2=None):
    d[z] = (grad_einsum(d[g], i, equation, op0, op1, op2)
            + tangent_grad_einsum(d[op0], 0, g, i, equation, op0, op1, op2)
            + tangent_grad_einsum(d[op1], 1, g, i, equation, op0, op1, op2)
            + tangent_grad_einsum(d[op2], 2, g, i, equation, op0, op1, op2))


# (the einsum with operand i replaced is linear in each other operand k: its
# tangent along k is the einsum with both replaced, not an adjoint; with
# tangent_grad_einsum here, hvp through a derivative of tf.einsum code failed
# on a shape mismatch, or for square operands gave a wrong number)
@tangent_rule(tangent_einsum)
def t_tangent_einsum(z, dop, i, equation, op0, op1=None, op2=None):
    d[z] = (tangent_einsum(d[dop], i, equation, op0, op1, op2)
            + tangent_tangent_einsum(d[op0], 0, dop, i, equation, op0, op1, op2)
            + tangent_tangent_einsum(d[op1], 1, dop, i, equation, op0, op1, op2)
            + tangent_tangent_einsum(d[op2], 2, dop, i, equation, op0, op1, op2))


# grad_einsum(g, i, ...) is the transpose of the einsum in operand i: its
# adjoint in g is that einsum with the adjoint as operand i (tangent_einsum),
# in operand j the einsum's adjoint for j with the adjoint as operand i
@adjoint(grad_einsum)
def a_grad_einsum(z, g, i, equation, op0, op1=None, op2=None):
    d[g] = tangent_einsum(d[z], i, equation, op0, op1, op2)
    d[op0] = tangent_grad_einsum(d[z], i, g, 0, equation, op0, op1, op2)
    d[op1] = tangent_grad_einsum(d[z], i, g, 1, equation, op0, op1, op2)
    d[op2] = tangent_grad_einsum(d[z], i, g, 2, equation, op0, op1, op2)


@adjoint(tangent_einsum)
def a_tangent_einsum(z, dop, i, equation, op0, op1=None, op2=None):
    d[dop] = grad_einsum(d[z], i, equation, op0, op1, op2)
    d[op0] = tangent_grad_einsum(dop, i, d[z], 0, equation, op0, op1, op2)
    d[op1] = tangent_grad_einsum(dop, i, d[z], 1, equation, op0, op1, op2)
    d[op2] = tangent_grad_einsum(dop, i, d[z], 2, equation, op0, op1, op2)


# ------------------------------------------------------------------ tf.nn


@adjoint(tf.nn.softmax)
def softmax(z, logits, axis=None, name=None):
    d[logits] = z * (d[z] - tf.reduce_sum(d[z] * z, axis=-1 if axis is None else axis, keepdims=True))


@tangent_rule(tf.nn.softmax)
def t_softmax(z, logits, axis=None, name=None):
    d[z] = z * (d[logits] - tf.reduce_sum(d[logits] * z, axis=-1 if axis is None else axis, keepdims=True))


@adjoint(tf.nn.log_softmax)
def log_softmax(z, logits, axis=None, name=None):
    d[logits] = d[z] - tf.exp(z) * tf.reduce_sum(d[z], axis=-1 if axis is None else axis, keepdims=True)


@tangent_rule(tf.nn.log_softmax)
def t_log_softmax(z, logits, axis=None, name=None):
    d[z] = d[logits] - tf.reduce_sum(tf.exp(z) * d[logits], axis=-1 if axis is None else axis, keepdims=True)


def one_hot_like(labels, logits):
    """The class indices ``labels`` as one-hot rows in ``logits``' dtype."""
    return tf.one_hot(labels, logits.shape[-1], dtype=logits.dtype)


# the per-example loss -log_softmax(logits)[..., labels]
@adjoint(tf.nn.sparse_softmax_cross_entropy_with_logits)
def sparse_softmax_cross_entropy(z, labels=None, logits=None, name=None):
    d[logits] = tf.expand_dims(d[z], -1) * (tf.nn.softmax(logits) - one_hot_like(labels, logits))


@tangent_rule(tf.nn.sparse_softmax_cross_entropy_with_logits)
def t_sparse_softmax_cross_entropy(z, labels=None, logits=None, name=None):
    d[z] = tf.reduce_sum((tf.nn.softmax(logits) - one_hot_like(labels, logits)) * d[logits], axis=-1)


def _window(value, rank: int = 4) -> list[int]:
    """``ksize``/``strides``/``dilations`` of a 2-D NHWC op as 4 integers."""
    if value is None:
        return [1] * rank
    values = [int(value)] if isinstance(value, int) else [int(v) for v in value]
    if len(values) == rank:
        return values
    return [1] + values * (rank - 2 if len(values) == 1 else 1) + [1]


def _check_nhwc(input, padding, data_format):
    if len(input.shape) != 4 or data_format not in (None, "NHWC") or not isinstance(padding, str):
        raise NotImplementedError("tangent differentiates 2-D pooling and convolution of NHWC tensors with "
                                  "padding 'SAME' or 'VALID'")


def conv2d_input(g, input, filters, strides, padding, data_format="NHWC", dilations=None):
    """Adjoint of ``input`` in ``tf.nn.conv2d(input, filters, strides, padding)``."""
    _check_nhwc(input, padding, data_format)
    return tf.raw_ops.Conv2DBackpropInput(input_sizes=tf.shape(input), filter=filters, out_backprop=g,
                                          strides=_window(strides), padding=padding,
                                          dilations=_window(dilations))


def conv2d_filters(g, input, filters, strides, padding, data_format="NHWC", dilations=None):
    """Adjoint of ``filters`` in ``tf.nn.conv2d(input, filters, strides, padding)``."""
    _check_nhwc(input, padding, data_format)
    return tf.raw_ops.Conv2DBackpropFilter(input=input, filter_sizes=tf.shape(filters), out_backprop=g,
                                           strides=_window(strides), padding=padding,
                                           dilations=_window(dilations))


@bilinear(tf.nn.conv2d, lhs=conv2d_input, rhs=conv2d_filters)
def conv2d(z, input, filters, strides, padding, data_format="NHWC", dilations=None, name=None):
    return tf.nn.conv2d(input, filters, strides, padding, data_format=data_format, dilations=dilations)


def grad_avg_pool(g, input, ksize, strides, padding, data_format=None):
    """Adjoint of ``tf.nn.avg_pool(input, ksize, strides, padding)`` (2-D, NHWC)."""
    _check_nhwc(input, padding, data_format)
    return tf.raw_ops.AvgPoolGrad(orig_input_shape=tf.shape(input), grad=g, ksize=_window(ksize),
                                  strides=_window(strides), padding=padding)


@linear(tf.nn.avg_pool, tf.nn.avg_pool2d, transpose=grad_avg_pool)
def avg_pool(z, input, ksize, strides, padding, data_format=None, name=None):
    return tf.nn.avg_pool(input, ksize, strides, padding, data_format)


def grad_max_pool(g, input, z, ksize, strides, padding, data_format=None):
    """Adjoint of ``z = tf.nn.max_pool(input, ksize, strides, padding)``:
    ``g`` sent to where each window's maximum sits (2-D, NHWC)."""
    _check_nhwc(input, padding, data_format)
    return tf.raw_ops.MaxPoolGrad(orig_input=input, orig_output=z, grad=g, ksize=_window(ksize),
                                  strides=_window(strides), padding=padding)


def tangent_max_pool(t, input, z, ksize, strides, padding, data_format=None):
    """Tangent of ``z = tf.nn.max_pool(input, ...)`` along ``t``: ``t`` at
    each window's maximum."""
    _check_nhwc(input, padding, data_format)
    return tf.raw_ops.MaxPoolGradGrad(orig_input=input, orig_output=z, grad=t, ksize=_window(ksize),
                                      strides=_window(strides), padding=padding)


@adjoint(tf.nn.max_pool, tf.nn.max_pool2d)
def max_pool(z, input, ksize, strides, padding, data_format=None, name=None):
    d[input] = grad_max_pool(d[z], input, z, ksize, strides, padding, data_format)


@tangent_rule(tf.nn.max_pool, tf.nn.max_pool2d)
def t_max_pool(z, input, ksize, strides, padding, data_format=None, name=None):
    d[z] = tangent_max_pool(d[input], input, z, ksize, strides, padding, data_format)


# the two are linear in their first argument and each other's transpose
@linear(grad_max_pool)
def l_grad_max_pool(out, g, input, z, ksize, strides, padding, data_format=None):
    return (grad_max_pool(g, input, z, ksize, strides, padding, data_format),
            tangent_max_pool(d[out], input, z, ksize, strides, padding, data_format))


@linear(tangent_max_pool)
def l_tangent_max_pool(out, t, input, z, ksize, strides, padding, data_format=None):
    return (tangent_max_pool(t, input, z, ksize, strides, padding, data_format),
            grad_max_pool(d[out], input, z, ksize, strides, padding, data_format))


nondifferentiable(
    tf.shape, tf.size, tf.rank, tf.zeros, tf.ones, tf.zeros_like, tf.ones_like, tf.range, tf.fill, tf.eye,
    tf.one_hot, tf.math.argmax, tf.math.argmin, tf.math.sign, tf.math.floor, tf.math.ceil, tf.math.round,
    tf.math.equal, tf.math.not_equal, tf.math.greater, tf.math.less, tf.math.greater_equal, tf.math.less_equal,
    tf.math.is_finite, tf.math.is_nan, tf.random.normal, tf.random.uniform, tf.constant, tf.Tensor.shape,
    tf.Tensor.dtype, tf.Tensor.ndim, tf.Tensor.get_shape, mask, one_hot_like, extremum_share, reduced_count,
    replaced, inverse_perm,
)
