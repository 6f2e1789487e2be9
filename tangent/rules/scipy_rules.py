"""Rules for SciPy (``scipy.special``). Skipped when SciPy is not installed.

Reverse and forward rule of each primitive stand side by side, as in
``numpy_rules``; non-trivial math lives in the ``grad_*``/``tangent_*``
helpers below.
"""

import numpy as np
import scipy.special as sp  # an ImportError here makes the loader skip this module

from ..runtime import returns_fresh, unbroadcast
from . import adjoint, d, elementwise, tangent_rule
from .numpy_rules import _axes, _expand, expand_reduced
from .shape_values import Array, NotKnown, shape_of, shape_rule

# ------------------------------------------------------------------ helpers


def _logsumexp_weights(z, a, axis, b):
    """d logsumexp / d a: the softmax of ``a`` over ``axis`` (times ``b``)."""
    if isinstance(z, tuple):
        raise NotImplementedError("Tangent differentiates logsumexp only with return_sign=False")
    x = np.asarray(a)
    weights = np.exp(x - _expand(z, x.shape, _axes(axis, x.ndim)))
    return weights if b is None else weights * b


@returns_fresh()
def grad_logsumexp(g, z, a, axis=None, b=None):
    """Adjoint of ``a`` in ``logsumexp(a, axis, b)``: g b softmax(a)."""
    x = np.asarray(a)
    axes = _axes(axis, x.ndim)
    return unbroadcast(_expand(g, x.shape, axes) * _logsumexp_weights(z, x, axis, b), a)


@shape_rule(grad_logsumexp)
def grad_logsumexp_shape(fn, g, z, a, axis=None, b=None):
    """The adjoint of ``a`` (a number or an array) has its shape."""
    if not isinstance(a, Array) or not isinstance(g, Array):
        raise NotKnown
    return Array(shape_of(a))


def grad_logsumexp_b(g, z, a, axis=None):
    """Adjoint of the weights ``b`` in ``logsumexp(a, axis, b)``."""
    x = np.asarray(a)
    axes = _axes(axis, x.ndim)
    return _expand(g, x.shape, axes) * _logsumexp_weights(z, x, axis, None)


def tangent_logsumexp(da, z, a, axis=None, b=None, keepdims=False):
    """Tangent of ``logsumexp(a, axis, b)`` along ``da``."""
    x = np.asarray(a)
    return np.sum(_logsumexp_weights(z, x, axis, b) * da, axis=_axes(axis, x.ndim), keepdims=keepdims)


def grad_softmax(g, z, axis=None):
    """Adjoint of ``softmax(x, axis)``: z (g - sum(g z, axis))."""
    return z * (g - np.sum(g * z, axis=axis, keepdims=True))


def grad_log_softmax(g, z, axis=None):
    """Adjoint of ``log_softmax(x, axis)``: g - exp(z) sum(g, axis)."""
    return g - np.exp(z) * np.sum(g, axis=axis, keepdims=True)


# -------------------------------------------------------------------- rules


@adjoint(sp.logsumexp)
def logsumexp(z, a, axis=None, b=None, keepdims=False, return_sign=False):
    d[a] = grad_logsumexp(d[z], z, a, axis, b)
    d[b] = unbroadcast(grad_logsumexp_b(d[z], z, a, axis), b)


@tangent_rule(sp.logsumexp)
def t_logsumexp(z, a, axis=None, b=None, keepdims=False, return_sign=False):
    d[z] = tangent_logsumexp(d[a], z, a, axis, b, keepdims) + tangent_logsumexp(d[b], z, a, axis, None, keepdims)


@adjoint(sp.softmax)
def softmax(z, x, axis=None):
    d[x] = grad_softmax(d[z], z, axis)


@tangent_rule(sp.softmax)
def t_softmax(z, x, axis=None):
    d[z] = z * (d[x] - np.sum(d[x] * z, axis=axis, keepdims=True))


@adjoint(sp.log_softmax)
def log_softmax(z, x, axis=None):
    d[x] = grad_log_softmax(d[z], z, axis)


@tangent_rule(sp.log_softmax)
def t_log_softmax(z, x, axis=None):
    d[z] = d[x] - np.sum(d[x] * np.exp(z), axis=axis, keepdims=True)


@elementwise(sp.expit)
def expit(z, x):
    return z * (1.0 - z)


@elementwise(sp.logit)
def logit(z, x):
    return 1 / (x * (1.0 - x))


# erf and erfc stay written out: a declaration cannot keep the brackets of
# d[z] * (2.0 / np.sqrt(np.pi)) (the AST has none), and the code generated
# today has them.
@adjoint(sp.erf)
def erf(z, x):
    d[x] = d[z] * (2.0 / np.sqrt(np.pi)) * np.exp(-x * x)


@tangent_rule(sp.erf)
def t_erf(z, x):
    d[z] = d[x] * (2.0 / np.sqrt(np.pi)) * np.exp(-x * x)


@adjoint(sp.erfc)
def erfc(z, x):
    d[x] = -d[z] * (2.0 / np.sqrt(np.pi)) * np.exp(-x * x)


@tangent_rule(sp.erfc)
def t_erfc(z, x):
    d[z] = -d[x] * (2.0 / np.sqrt(np.pi)) * np.exp(-x * x)


@elementwise(sp.gammaln)
def gammaln(z, x):
    return sp.digamma(x)


@elementwise(sp.digamma)
def digamma(z, x):
    return sp.polygamma(1, x)


@elementwise(sp.xlogy)
def xlogy(z, x1, x2):
    return np.log(x2), x1 / x2


# ------------------------------------------------------ rules for the helpers
# Rules for the helpers that generated gradients call, so that those gradients
# can be differentiated again: forward rules for forward over reverse
# (tangent.hvp, tangent.hessian), reverse rules for reverse over reverse
# (tangent.grad of a function of a gradient).


# grad_logsumexp = g b exp(a - zz) (expanded over axis): each element depends
# on its own a and b, and on zz through exp(-zz).
@adjoint(grad_logsumexp)
def a_grad_logsumexp(z, g, zz, a, axis=None, b=None):
    d[g] = np.reshape(tangent_logsumexp(d[z], zz, a, axis, b), np.shape(g))
    d[zz] = -np.reshape(np.sum(d[z] * z, axis=axis), np.shape(zz))
    d[a] = unbroadcast(d[z] * z, a)
    d[b] = unbroadcast(d[z] * grad_logsumexp_b(g, zz, a, axis), b)


@tangent_rule(grad_logsumexp)
def t_grad_logsumexp(z, g, zz, a, axis=None, b=None):
    d[z] = (grad_logsumexp(d[g], zz, a, axis, b) + z * d[a] - z * expand_reduced(d[zz], a, axis)
            + grad_logsumexp(g, zz, a, axis, d[b]))


@adjoint(grad_logsumexp_b)
def a_grad_logsumexp_b(z, g, zz, a, axis=None):
    d[g] = np.reshape(tangent_logsumexp(d[z], zz, a, axis), np.shape(g))
    d[zz] = -np.reshape(np.sum(d[z] * z, axis=axis), np.shape(zz))
    d[a] = unbroadcast(d[z] * z, a)


@tangent_rule(grad_logsumexp_b)
def t_grad_logsumexp_b(z, g, zz, a, axis=None):
    d[z] = grad_logsumexp_b(d[g], zz, a, axis) + z * d[a] - z * expand_reduced(d[zz], a, axis)


# tangent_logsumexp = sum(b exp(a - zz) da) over axis (the forward rule's helper).
@adjoint(tangent_logsumexp)
def a_tangent_logsumexp(z, da, zz, a, axis=None, b=None, keepdims=False):
    d[da] = unbroadcast(grad_logsumexp(d[z], zz, a, axis, b), da)
    d[zz] = -d[z] * z
    d[a] = unbroadcast(grad_logsumexp(d[z], zz, a, axis, b) * da, a)
    d[b] = unbroadcast(grad_logsumexp_b(d[z], zz, a, axis) * da, b)


# grad_softmax(g, zz) = zz g - zz sum(g zz) is symmetric in g.
@adjoint(grad_softmax)
def a_grad_softmax(z, g, zz, axis=None):
    d[g] = grad_softmax(d[z], zz, axis)
    d[zz] = (d[z] * (g - np.sum(g * zz, axis=axis, keepdims=True))
             - g * np.sum(d[z] * zz, axis=axis, keepdims=True))


@tangent_rule(grad_softmax)
def t_grad_softmax(z, g, zz, axis=None):
    d[z] = (grad_softmax(d[g], zz, axis) + d[zz] * (g - np.sum(g * zz, axis=axis, keepdims=True))
            - zz * np.sum(g * d[zz], axis=axis, keepdims=True))


@adjoint(grad_log_softmax)
def a_grad_log_softmax(z, g, zz, axis=None):
    d[g] = d[z] - np.sum(d[z] * np.exp(zz), axis=axis, keepdims=True)
    d[zz] = -d[z] * np.exp(zz) * np.sum(g, axis=axis, keepdims=True)


@tangent_rule(grad_log_softmax)
def t_grad_log_softmax(z, g, zz, axis=None):
    d[z] = grad_log_softmax(d[g], zz, axis) - d[zz] * np.exp(zz) * np.sum(g, axis=axis, keepdims=True)


# more of scipy.special (scipy.stats and scipy.linalg: loaded once the user imports them)
from . import special_rules  # noqa: E402, F401
