"""Rules for NumPy."""

import operator

import numpy as np

from ..runtime import grad_of_index, unbroadcast
from . import adjoint, d, nondifferentiable, tangent_rule


def matmul_adjoint_lhs(g, x, y):
    """Adjoint of x in x @ y given the output adjoint g."""
    if np.ndim(y) == 1:
        if np.ndim(x) == 1:
            return g * y
        return unbroadcast(np.multiply.multiply.outer(g, y) if False else np.expand_dims(g, -1) * y, x)
    if np.ndim(x) == 1:
        return unbroadcast(np.matmul(y, g[..., None])[..., 0] if np.ndim(g) else np.matmul(y, g), x)
    return unbroadcast(np.matmul(g, np.swapaxes(y, -1, -2)), x)


def matmul_adjoint_rhs(g, x, y):
    """Adjoint of y in x @ y given the output adjoint g."""
    if np.ndim(x) == 1:
        if np.ndim(y) == 1:
            return g * x
        return unbroadcast(np.expand_dims(x, -1) * np.expand_dims(g, -2), y)
    if np.ndim(y) == 1:
        return unbroadcast(np.sum(x * np.expand_dims(g, -1), axis=tuple(range(np.ndim(x) - 2)) + (-2,)) if np.ndim(x) > 2 else x.T @ g, y)
    return unbroadcast(np.matmul(np.swapaxes(x, -1, -2), g), y)


@adjoint(operator.matmul, np.matmul)
def matmul(z, x, y):
    d[x] = matmul_adjoint_lhs(d[z], x, y)
    d[y] = matmul_adjoint_rhs(d[z], x, y)


@tangent_rule(operator.matmul, np.matmul)
def t_matmul(z, x, y):
    d[z] = d[x] @ y + x @ d[y]


@adjoint(operator.getitem)
def getitem(z, x, index):
    d[x] = grad_of_index(x, index, d[z])


@tangent_rule(operator.getitem)
def t_getitem(z, x, index):
    d[z] = d[x][index]


@adjoint(np.exp)
def exp(z, x):
    d[x] = d[z] * z


@tangent_rule(np.exp)
def t_exp(z, x):
    d[z] = d[x] * z


@adjoint(np.tanh)
def tanh(z, x):
    d[x] = d[z] * (1.0 - z * z)


@tangent_rule(np.tanh)
def t_tanh(z, x):
    d[z] = d[x] * (1.0 - z * z)


@adjoint(np.sum, np.ndarray.sum)
def sum_(z, x, axis=None, dtype=None, out=None, keepdims=False):
    d[x] = np.broadcast_to(d[z] if keepdims or axis is None else np.expand_dims(d[z], axis), np.shape(x))


nondifferentiable(np.shape, np.ndarray.shape, np.zeros, np.ones, np.zeros_like, np.ones_like)
