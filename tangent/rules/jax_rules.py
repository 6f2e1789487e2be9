"""Derivative rules of ``jax.numpy`` functions, ``jax.Array`` methods and
``jax.nn``.

Takes nothing; registers rules whose generated code calls ``jax.numpy``
(``xp`` is ``jnp``) and never writes into an array (JAX arrays are
immutable: indexing adjoints use ``.at[...].add``), so a derivative of JAX
code returns JAX arrays and can itself be passed to ``jax.jit``. Methods of
local values are resolved on ``jax.Array`` in functions that read jax names
(``register_array_type``). Loaded by ``rules.load_builtin_rules`` only once
the user has imported jax. A jax function without a rule is refused
(NoDerivativeError naming the line); arguments a rule does not take
(``where=``, ``initial=``) are refused by binding.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.scipy.special
import numpy as np

from . import adjoint, d, elementwise, linear, nondifferentiable, register_array_type, tangent_rule
from .array_rules import ELEMENTWISE
from .vocabulary import bilinear, register_namespace

register_namespace("jax", "jnp", "jax.numpy")
register_array_type("jax", jax.Array)

# ------------------------------------------------------------ elementwise
_OTHER = {"sigmoid": (jax.nn.sigmoid,), "relu": (jax.nn.relu,), "abs": (jnp.abs, jnp.absolute)}

for _name, _declaration in ELEMENTWISE.items():
    _primitives = _OTHER.get(_name) or (getattr(jnp, _name),)
    elementwise(*_primitives)(_declaration)


@elementwise(jnp.power)
def power(z, x1, x2):
    return x2 * x1 ** (x2 - 1 + 0 ** abs(x2)), z * jnp.log(jnp.where(x1 > 0, x1, 1))  # (slope 0 at x2 = 0)


@elementwise(jnp.arctan)
def arctan(z, x):
    return 1 / (1.0 + x * x)


@elementwise(jnp.arctan2)
def arctan2(z, x1, x2):
    return x2 / (x1 * x1 + x2 * x2), -x1 / (x1 * x1 + x2 * x2)


# At the origin hypot is not differentiable: as for NumPy's rule, its
# derivative there is taken as 0.
@elementwise(jnp.hypot)
def hypot(z, x1, x2):
    return (jnp.where(z == 0, 0.0, x1 / jnp.where(z == 0, 1.0, z)),
            jnp.where(z == 0, 0.0, x2 / jnp.where(z == 0, 1.0, z)))


# jnp.add, subtract, multiply (and logaddexp) are ``ufunc`` objects in jax:
# with rules of their own they are primitives, not read as ``ufunc.__call__``
@elementwise(jnp.add)
def add(z, x1, x2):
    return 1.0, 1.0


@elementwise(jnp.subtract)
def subtract(z, x1, x2):
    return 1.0, -1.0


@elementwise(jnp.multiply)
def multiply(z, x1, x2):
    return x2, x1


@elementwise(jnp.divide, jnp.true_divide)
def divide(z, x1, x2):
    return 1.0 / x2, -z / x2


@elementwise(jnp.logaddexp)
def logaddexp(z, x1, x2):
    return jnp.exp(x1 - z), jnp.exp(x2 - z)


@elementwise(jnp.logaddexp2)
def logaddexp2(z, x1, x2):
    return jnp.exp2(x1 - z), jnp.exp2(x2 - z)


@elementwise(jnp.exp2)
def exp2(z, x):
    return z * 0.6931471805599453


@elementwise(jnp.log2)
def log2(z, x):
    return 1.4426950408889634 / x


@elementwise(jnp.log10)
def log10(z, x):
    return 0.4342944819032518 / x


@elementwise(jnp.cbrt)
def cbrt(z, x):
    return 1.0 / (3.0 * z * z)


@elementwise(jnp.arcsin)
def arcsin(z, x):
    return 1.0 / jnp.sqrt(1.0 - x * x)


@elementwise(jnp.arccos)
def arccos(z, x):
    return -1.0 / jnp.sqrt(1.0 - x * x)


@elementwise(jnp.arcsinh)
def arcsinh(z, x):
    return 1.0 / jnp.sqrt(x * x + 1.0)


@elementwise(jnp.arccosh)
def arccosh(z, x):
    return 1.0 / jnp.sqrt(x * x - 1.0)


@elementwise(jnp.arctanh)
def arctanh(z, x):
    return 1.0 / (1.0 - x * x)


@elementwise(jnp.where)
def where(z, condition, x, y):
    return {x: condition, y: jnp.logical_not(condition)}  # (not ~: a Python bool's ~True is -2)


# ------------------------------------------------------------- reductions


def _expanded(g, a, axis, keepdims):
    g = jnp.asarray(g)
    if axis is not None and not keepdims:
        axes = axis if isinstance(axis, (tuple, list)) else (axis,)
        g = jnp.expand_dims(g, tuple(ax % a.ndim for ax in axes))
    return g


def grad_sum(g, a, axis=None, keepdims=False):
    """Adjoint of ``jnp.sum(a, axis, keepdims=keepdims)``: ``g`` broadcast
    over the summed axes."""
    return jnp.broadcast_to(_expanded(g, a, axis, keepdims), jnp.shape(a))


def grad_mean(g, a, axis=None, keepdims=False):
    """Adjoint of ``jnp.mean(a, axis, keepdims=keepdims)``."""
    return grad_sum(g, a, axis, keepdims) * (jnp.size(jnp.mean(a, axis=axis)) / jnp.size(a))


@linear(jnp.sum, jax.Array.sum, transpose=grad_sum)
def sum_(z, a, axis=None, dtype=None, out=None, keepdims=False):
    return jnp.sum(a, axis=axis, keepdims=keepdims)


@linear(jnp.mean, jax.Array.mean, transpose=grad_mean)
def mean(z, a, axis=None, dtype=None, out=None, keepdims=False):
    return jnp.mean(a, axis=axis, keepdims=keepdims)


# The product of the other elements of each slice, exact with zeros: z / a
# where a slice has none; where it has one, the product of the rest at that
# element and 0 elsewhere; 0 where it has more. Written out in the templates
# (jnp.where, jnp.prod and grad_sum have rules), so it differentiates again;
# at a zero element its second derivative is taken as 0.
@adjoint(jnp.prod, jax.Array.prod)
def prod(z, a, axis=None, dtype=None, out=None, keepdims=False):
    nonzero = jnp.where(a == 0, 1.0, a)
    rest = grad_sum(jnp.prod(nonzero, axis=axis, keepdims=keepdims), a, axis, keepdims)
    zeros = grad_sum(jnp.sum(a == 0, axis=axis, keepdims=keepdims), a, axis, keepdims)
    others = jnp.where(zeros == 0, rest / nonzero, jnp.where((zeros == 1) & (a == 0), rest, 0.0))
    d[a] = grad_sum(d[z], a, axis, keepdims) * others


@tangent_rule(jnp.prod, jax.Array.prod)
def t_prod(z, a, axis=None, dtype=None, out=None, keepdims=False):
    nonzero = jnp.where(a == 0, 1.0, a)
    rest = grad_sum(jnp.prod(nonzero, axis=axis, keepdims=keepdims), a, axis, keepdims)
    zeros = grad_sum(jnp.sum(a == 0, axis=axis, keepdims=keepdims), a, axis, keepdims)
    others = jnp.where(zeros == 0, rest / nonzero, jnp.where((zeros == 1) & (a == 0), rest, 0.0))
    d[z] = jnp.sum(others * d[a], axis=axis, keepdims=keepdims)


def extremum_share(a, z, axis=None, keepdims=False):
    """Where ``a`` attains its max/min ``z`` over ``axis``: 1/(number of ties), else 0."""
    hit = (a == grad_sum(z, a, axis, keepdims)).astype(jnp.result_type(a, 0.0))
    return hit / jnp.sum(hit, axis=axis, keepdims=True)


@adjoint(jnp.max, jnp.min, jnp.amax, jnp.amin, jax.Array.max, jax.Array.min)
def max_(z, a, axis=None, out=None, keepdims=False):
    d[a] = grad_sum(d[z], a, axis, keepdims) * extremum_share(a, z, axis, keepdims)


@tangent_rule(jnp.max, jnp.min, jnp.amax, jnp.amin, jax.Array.max, jax.Array.min)
def t_max(z, a, axis=None, out=None, keepdims=False):
    d[z] = jnp.sum(extremum_share(a, z, axis, keepdims) * d[a], axis=axis, keepdims=keepdims)


@adjoint(jax.nn.logsumexp, jax.scipy.special.logsumexp)
def logsumexp(z, a, axis=None, *, keepdims=False):
    d[a] = grad_sum(d[z], a, axis, keepdims) * jnp.exp(a - grad_sum(z, a, axis, keepdims))


@tangent_rule(jax.nn.logsumexp, jax.scipy.special.logsumexp)
def t_logsumexp(z, a, axis=None, *, keepdims=False):
    d[z] = jnp.sum(jnp.exp(a - grad_sum(z, a, axis, keepdims)) * d[a], axis=axis, keepdims=keepdims)


def var_weights(a, axis=None, ddof=0, correction=None):
    """d var / d a: 2 (a - mean) / (n - ddof)."""
    ddof = ddof if correction is None else correction
    count = jnp.size(a) / jnp.size(jnp.mean(a, axis=axis))
    return (a - jnp.mean(a, axis=axis, keepdims=True)) * (2.0 / (count - ddof))


@adjoint(jnp.var, jax.Array.var)
def var(z, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, correction=None):
    d[a] = grad_sum(d[z], a, axis, keepdims) * var_weights(a, axis, ddof, correction)


@tangent_rule(jnp.var, jax.Array.var)
def t_var(z, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, correction=None):
    d[z] = jnp.sum(var_weights(a, axis, ddof, correction) * d[a], axis=axis, keepdims=keepdims)


def half_over(z):
    """1 / (2 z), 0 where z is 0 (where the std and the norm are not differentiable)."""
    return jnp.where(z == 0, 0.0, 0.5 / jnp.where(z == 0, 1.0, z))


@adjoint(jnp.std, jax.Array.std)
def std(z, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, correction=None):
    d[a] = grad_sum(d[z] * half_over(z), a, axis, keepdims) * var_weights(a, axis, ddof, correction)


@tangent_rule(jnp.std, jax.Array.std)
def t_std(z, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, correction=None):
    d[z] = half_over(z) * jnp.sum(var_weights(a, axis, ddof, correction) * d[a], axis=axis, keepdims=keepdims)


def two_norm(ord) -> None:
    """Refuse orders other than the 2-norm / Frobenius norm."""
    if ord not in (None, 2, 2.0, "fro"):
        raise NotImplementedError(f"Tangent differentiates jnp.linalg.norm's 2-norm and Frobenius norm only, not "
                                  f"ord={ord!r}; write it out (jnp.sum(jnp.abs(x) ** p) ** (1 / p))")
    return None


@adjoint(jnp.linalg.norm)
def norm(z, x, ord=None, axis=None, keepdims=False):
    two_norm(ord)
    d[x] = grad_sum(d[z] * 2.0 * half_over(z), x, axis, keepdims) * x


@tangent_rule(jnp.linalg.norm)
def t_norm(z, x, ord=None, axis=None, keepdims=False):
    two_norm(ord)
    d[z] = 2.0 * half_over(z) * jnp.sum(x * d[x], axis=axis, keepdims=keepdims)


@elementwise(jax.scipy.special.erf)
def erf(z, x):
    return 1.1283791670955126 * jnp.exp(-x * x)  # 2 / sqrt(pi) exp(-x^2)


@elementwise(jax.nn.softplus)
def softplus(z, x):
    return jax.nn.sigmoid(x)


@elementwise(jax.nn.silu, jax.nn.swish)
def silu(z, x):
    return jax.nn.sigmoid(x) * (1 + x * (1 - jax.nn.sigmoid(x)))


def gelu_slope(x, approximate=True):
    """d gelu / d x, tanh-approximated (jax's default) or exact."""
    if approximate:
        c = 0.7978845608028654  # sqrt(2 / pi)
        t = jnp.tanh(c * (x + 0.044715 * x**3))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)
    return 0.5 * (1 + jax.scipy.special.erf(x / 1.4142135623730951)) + x * jnp.exp(-0.5 * x * x) / 2.5066282746310002


@elementwise(jax.nn.gelu)
def gelu(z, x, approximate=True):
    return gelu_slope(x, approximate)


@elementwise(jax.nn.leaky_relu)
def leaky_relu(z, x, negative_slope=0.01):
    return jnp.where(x >= 0, 1.0, negative_slope)


@elementwise(jax.nn.elu)
def elu(z, x, alpha=1.0):
    return jnp.where(x > 0, 1.0, z + alpha)


def clip_inside(a, lo=None, hi=None):
    """1.0 where ``jnp.clip`` passes ``a`` through, else 0.0."""
    inside = jnp.ones(jnp.shape(a), dtype=bool)
    if lo is not None:
        inside = inside & (a >= lo)
    if hi is not None:
        inside = inside & (a <= hi)
    return inside.astype(jnp.result_type(a, 0.0))


@elementwise(jnp.clip)
def clip(z, arr, min=None, max=None):
    return {arr: clip_inside(arr, min, max), min: arr < min, max: arr > max}


# ------------------------------------------------------------------ shapes


@linear(jnp.reshape)
def reshape(z, a, shape):
    return jnp.reshape(a, shape), jnp.reshape(d[z], jnp.shape(a))


@linear(jax.Array.reshape)
def reshape_method(z, a, *shape):
    return a.reshape(*shape), jnp.reshape(d[z], jnp.shape(a))


@linear(jnp.ravel, jax.Array.ravel, jax.Array.flatten, jnp.squeeze, jax.Array.squeeze, jnp.expand_dims)
def reshaped(z, a, *args, **kwargs):
    return jnp.reshape(a, jnp.shape(z)), jnp.reshape(d[z], jnp.shape(a))


def inverse_axes(axes, ndim: int):
    """The axes undoing ``jnp.transpose(·, axes)`` (None: reversed)."""
    if not axes or axes == (None,):
        return None
    axes = list(axes[0]) if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else list(axes)
    return tuple(sorted(range(ndim), key=[ax % ndim for ax in axes].__getitem__))


@linear(jnp.transpose)
def transpose(z, a, axes=None):
    return jnp.transpose(a, axes), jnp.transpose(d[z], inverse_axes((axes,), jnp.ndim(a)))


@linear(jax.Array.transpose)
def transpose_method(z, a, *axes):
    return a.transpose(*axes), jnp.transpose(d[z], inverse_axes(axes, jnp.ndim(a)))


@linear(jax.Array.T)
def T(z, a):
    return jnp.transpose(a), jnp.transpose(d[z])


@linear(jnp.swapaxes)
def swapaxes(z, a, axis1, axis2):
    return jnp.swapaxes(a, axis1, axis2), jnp.swapaxes(d[z], axis1, axis2)


def grad_stack(g, arrays, axis=0):
    """Adjoint of ``jnp.stack(arrays, axis)``: one slice of ``g`` per input."""
    from ..runtime import as_container_grad

    return as_container_grad([jnp.reshape(piece, jnp.shape(a)) for piece, a in zip(jnp.moveaxis(g, axis, 0), arrays)],
                             arrays)


def grad_concatenate(g, arrays, axis=0):
    """Adjoint of ``jnp.concatenate(arrays, axis)``: ``g`` cut into one piece per input."""
    from ..runtime import as_container_grad

    ends = [int(e) for e in np.cumsum([jnp.shape(a)[axis] for a in arrays])]
    return as_container_grad(jnp.split(g, ends[:-1], axis=axis), arrays)


@linear(jnp.stack, transpose=grad_stack, transpose_rules=False)
def stack(z, arrays, axis=0):
    return jnp.stack(arrays, axis=axis)


@linear(jnp.concatenate)
def concatenate(z, arrays, axis=0):
    return jnp.concatenate(arrays, axis=axis), grad_concatenate(d[z], arrays, axis)


@linear(grad_stack)
def l_grad_stack(z, g, arrays, axis=0):
    return grad_stack(g, arrays, axis), jnp.stack(list(d[z]), axis=axis)


@linear(grad_concatenate)
def l_grad_concatenate(z, g, arrays, axis=0):
    return grad_concatenate(g, arrays, axis), jnp.concatenate(list(d[z]), axis=axis)


def grad_cumsum(g, a, axis=None):
    """Adjoint of ``jnp.cumsum(a, axis)``: a reversed cumulative sum of ``g``
    (axis=None: of the flattened array)."""
    if axis is None:
        return jnp.reshape(jnp.flip(jnp.cumsum(jnp.flip(jnp.ravel(g)))), jnp.shape(a))
    return jnp.flip(jnp.cumsum(jnp.flip(g, axis), axis), axis)


@linear(jnp.cumsum, jax.Array.cumsum, transpose=grad_cumsum)
def cumsum(z, a, axis=None):
    return jnp.cumsum(a, axis=axis)


@linear(jnp.flip)
def flip(z, m, axis=None):
    return jnp.flip(m, axis), jnp.flip(d[z], axis)


# ---------------------------------------------------------------- products


def matmul_lhs(g, a, b):
    """Adjoint of ``a`` in ``jnp.matmul(a, b)``."""
    from ..runtime import arrays

    return arrays.matmul_adjoint(g, a, b, "lhs")


def matmul_rhs(g, a, b):
    """Adjoint of ``b`` in ``jnp.matmul(a, b)``."""
    from ..runtime import arrays

    return arrays.matmul_adjoint(g, a, b, "rhs")


@bilinear(jnp.matmul, jnp.dot, lhs=matmul_lhs, rhs=matmul_rhs)
def matmul(z, a, b):
    return jnp.matmul(a, b)


def outer_lhs(g, a, b):
    """Adjoint of ``a`` in ``jnp.outer(a, b)`` (inputs are flattened)."""
    return jnp.reshape(jnp.matmul(g, jnp.ravel(b)), jnp.shape(a))


def outer_rhs(g, a, b):
    """Adjoint of ``b`` in ``jnp.outer(a, b)``."""
    return jnp.reshape(jnp.matmul(jnp.ravel(a), g), jnp.shape(b))


@bilinear(jnp.outer, lhs=outer_lhs, rhs=outer_rhs)
def outer(z, a, b):
    return jnp.outer(a, b)


# ------------------------------------------------------------------ jax.nn


@adjoint(jax.nn.softmax)
def softmax(z, x, axis=-1):
    d[x] = z * (d[z] - jnp.sum(d[z] * z, axis=axis, keepdims=True))


@tangent_rule(jax.nn.softmax)
def t_softmax(z, x, axis=-1):
    d[z] = z * (d[x] - jnp.sum(d[x] * z, axis=axis, keepdims=True))


@adjoint(jax.nn.log_softmax)
def log_softmax(z, x, axis=-1):
    d[x] = d[z] - jnp.exp(z) * jnp.sum(d[z], axis=axis, keepdims=True)


@tangent_rule(jax.nn.log_softmax)
def t_log_softmax(z, x, axis=-1):
    d[z] = d[x] - jnp.sum(jnp.exp(z) * d[x], axis=axis, keepdims=True)


nondifferentiable(jnp.floor, jnp.ceil, jnp.round, jnp.floor_divide, jnp.logical_and, jnp.logical_or, jnp.logical_xor,
                  jnp.bitwise_and, jnp.bitwise_or, jnp.bitwise_xor)
# comparisons and logical operations: boolean results, no derivative in either mode
nondifferentiable(jnp.logical_not, jnp.greater, jnp.greater_equal, jnp.less, jnp.less_equal, jnp.equal, jnp.not_equal,
                  jnp.isfinite, jnp.isnan, jnp.isinf, jnp.isclose)
nondifferentiable(jnp.shape, jnp.ndim, jnp.size, jnp.sign, jnp.zeros, jnp.ones, jnp.zeros_like, jnp.ones_like,
                  jnp.arange, jnp.eye, jnp.argmax, jnp.argmin, jax.Array.shape, jax.Array.ndim, jax.Array.size,
                  jax.Array.dtype, extremum_share, clip_inside, inverse_axes)
