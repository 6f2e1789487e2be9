"""Faster reverse rules for NumPy when the arguments' shapes are known.

Derivatives are specialised to their arguments' types and shapes at their
first call; there these variants replace the general rules, whose helpers
spend most of their time on small arrays working out shapes and axes. Each
``when`` predicate receives the shape of every argument (None if unknown)
and the value of every literal argument. ``MATH_EQUIVALENTS``: the NumPy
functions that specialised code calls as ``math``'s on Python numbers.
"""

import math
import operator

import numpy as np

from .. import runtime
from ..runtime import unbroadcast
from ..runtime.extrema import extremum_by_mask, extremum_mask, extremum_positions, extremum_scatter
from . import adjoint, d, linear, nondifferentiable

nondifferentiable(runtime.buffer_like)  # zeros, as zeros_like (the buffer adjoints.BUFFER starts from)
from .numpy_rules import dense_grad, tangent_extremum  # noqa: E402  (after the line above loads the rules)


def _ndims(shapes, *names):
    return tuple(len(shapes[n]) if shapes.get(n) is not None else -1 for n in names)


@adjoint(operator.matmul, np.matmul, when=lambda shapes, constants: _ndims(shapes, "x", "y") == (2, 2))
def matmul_2d(z, x, y):
    d[x] = d[z] @ y.T
    d[y] = x.T @ d[z]


@adjoint(operator.matmul, np.matmul, when=lambda shapes, constants: _ndims(shapes, "x", "y") == (2, 1))
def matmul_2d_1d(z, x, y):
    d[x] = np.outer(d[z], y)
    d[y] = x.T @ d[z]


@adjoint(operator.matmul, np.matmul, when=lambda shapes, constants: _ndims(shapes, "x", "y") == (1, 2))
def matmul_1d_2d(z, x, y):
    d[x] = y @ d[z]
    d[y] = np.outer(x, d[z])


@adjoint(np.dot, when=lambda shapes, constants: _ndims(shapes, "a", "b") == (2, 2))
def dot_2d(z, a, b, out=None):
    d[a] = d[z] @ b.T
    d[b] = a.T @ d[z]


def _whole_or_kept(shapes, constants):
    """Reductions whose adjoint is a plain broadcast: over all axes, or
    with keepdims=True."""
    literal = object()  # an argument that is not a literal is absent from constants
    return shapes.get("a") is not None and constants.get("dtype", literal) is None and (
        constants.get("axis", literal) is None or constants.get("keepdims", literal) is True)


@adjoint(np.sum, np.ndarray.sum, when=_whole_or_kept)
def sum_broadcast(z, a, axis=None, dtype=None, out=None, keepdims=False, initial=None):
    d[a] = np.broadcast_to(d[z], np.shape(a))


@adjoint(np.sum, np.ndarray.sum, when=lambda shapes, constants: shapes.get("a") is not None
         and isinstance(constants.get("axis"), int) and constants.get("keepdims") is False)
def sum_axis(z, a, axis=None, dtype=None, out=None, keepdims=False, initial=None):
    d[a] = np.broadcast_to(np.expand_dims(d[z], axis), np.shape(a))


@adjoint(np.mean, np.ndarray.mean, when=_whole_or_kept)
def mean_broadcast(z, a, axis=None, dtype=None, out=None, keepdims=False):
    d[a] = np.broadcast_to(d[z] * (np.size(z) / np.size(a)), np.shape(a))


def _extremum_kept(shapes, constants):
    literal = object()
    return shapes.get("a") is not None and len(shapes["a"]) > 0 and constants.get("initial", literal) is None and (
        constants.get("axis", literal) is None or constants.get("keepdims", literal) is True)


@adjoint(np.max, np.min, np.amax, np.amin, np.ndarray.max, np.ndarray.min, when=_extremum_kept)
def extremum_kept(z, a, axis=None, out=None, keepdims=False, initial=None):
    d[a] = grad_extremum_kept(d[z], z, a, axis)


def grad_extremum_kept(g, z, a, axis):
    """Adjoint of max/min when ``z`` broadcasts against ``a``: ties share ``g``
    (small arrays: the mask of shares, faster there than the scatter)."""
    if type(a) is np.ndarray and a.dtype.kind in "fiu" and extremum_by_mask(a, axis):
        out = extremum_mask(g, a, z, axis)
        if out is not None:
            return out
    positions = extremum_positions(a, z, axis)
    out = None if positions is None else extremum_scatter(g, a, positions)
    if out is not None:
        return out
    chosen = a == z
    return chosen * (g / np.sum(chosen, axis=axis, keepdims=True))


# The scatter above cannot be differentiated through; it is a linear map of g
# (as numpy_rules.grad_extremum is), with the tangent of max/min as transpose.
@linear(grad_extremum_kept)
def l_grad_extremum_kept(z, g, zz, a, axis):
    return grad_extremum_kept(g, zz, a, axis), np.reshape(tangent_extremum(dense_grad(d[z], a), zz, a, axis), np.shape(g))


def _only_new_axes(shapes, constants):
    """x[None, :, :] and the like: the read is a reshape of all of x."""
    index = constants.get("index", ())
    parts = index if isinstance(index, tuple) else (index,)
    return shapes.get("x") is not None and "index" in constants and any(p is None for p in parts) and all(
        p is None or p == slice(None) for p in parts)


@adjoint(operator.getitem, when=_only_new_axes)
def getitem_new_axes(z, x, index):
    d[x] = np.reshape(d[z], np.shape(x))


@adjoint(operator.mul, np.multiply, when=lambda shapes, constants: ("x", "y") in constants.get("same", ()))
def square_by_product(z, x, y):
    d[x] = 2.0 * d[z] * x


def _numbers(shapes, constants):
    """Both operands of known shape: numbers or arrays, never sequences."""
    return shapes.get("x1") is not None and shapes.get("x2") is not None


@adjoint(runtime.mul_or_repeat, when=_numbers)
def mul_of_numbers(z, x1, x2):
    d[x1] = unbroadcast(d[z] * x2, x1)
    d[x2] = unbroadcast(d[z] * x1, x2)


@adjoint(runtime.add_or_concat, when=_numbers)
def add_of_numbers(z, x1, x2):
    d[x1] = unbroadcast(d[z], x1)
    d[x2] = unbroadcast(d[z], x2)


# NumPy's functions of one number that specialised code calls as math's when
# the argument is certainly a Python number (shapes.Array.real): the same
# float64 result at a tenth of the cost. Only functions defined on every
# finite float: where NumPy returns nan for an infinite argument (sin, cos,
# tan), math raises ValueError instead.
MATH_EQUIVALENTS = {np.sin: math.sin, np.cos: math.cos, np.tan: math.tan, np.tanh: math.tanh,
                    np.arctan: math.atan, np.arcsinh: math.asinh, np.fabs: math.fabs}
