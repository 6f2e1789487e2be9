"""Derivative rules of ``array_api_strict`` functions: the array-API standard's
reference namespace, a library that is neither NumPy nor NumPy-protocol (its
arrays have no ``__array_function__``), so that derivatives of code written
against it are computed with its own functions and return its arrays.

Takes nothing; registers the shared elementwise declarations
(``array_rules.ELEMENTWISE``, those the standard has and whose derivative
stays within its type rules), ``sum``/``mean`` with ``axis``/``keepdims``
and ``matmul``; the runtime's helpers (``runtime.arrays``) dispatch on the
arrays' ``__array_namespace__``. Loaded by ``rules.load_builtin_rules`` only
once the user has imported array_api_strict. Its functions without a rule
here are refused (NoDerivativeError naming the line). Not covered:
``maximum``/``minimum`` and ``relu`` (their declarations add booleans to
floats, which the standard refuses), indexing adjoints with integer arrays
(the standard has no ``bincount``), methods (the standard's arrays have
none beyond operators and ``.T``/``.mT``).
"""

from __future__ import annotations

import array_api_strict as xps
from array_api_strict._array_object import Array

from . import linear, nondifferentiable, register_array_type
from .array_rules import ELEMENTWISE
from .vocabulary import bilinear, elementwise, register_namespace

register_namespace("array_api_strict", "xps", "array_api_strict")
register_array_type("array_api_strict", Array)

_LEFT_OUT = {"maximum", "minimum", "relu", "sigmoid", "reciprocal"}  # see the module docstring

for _name, _declaration in ELEMENTWISE.items():
    if _name not in _LEFT_OUT and hasattr(xps, _name):
        elementwise(getattr(xps, _name))(_declaration)


# piecewise constant (what abs's derivative calls), or not numbers at all
nondifferentiable(*(getattr(xps, name) for name in (
    "sign", "floor", "ceil", "round", "trunc", "argmax", "argmin", "isfinite", "isnan", "isinf",
    "zeros_like", "ones_like", "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
) if hasattr(xps, name)))


def _axes(axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    return tuple(a % ndim for a in (axis if isinstance(axis, (tuple, list)) else (axis,)))


def grad_sum(g, x, axis=None, keepdims=False):
    """Adjoint of ``xps.sum(x, axis=axis, keepdims=keepdims)``: ``g``
    broadcast over the summed axes, an array of ``x``'s dtype."""
    g = xps.asarray(g, dtype=x.dtype) if not isinstance(g, Array) else g
    if not keepdims:
        for ax in _axes(axis, x.ndim):
            g = xps.expand_dims(g, axis=ax)
    return xps.broadcast_to(g, x.shape)


def grad_mean(g, x, axis=None, keepdims=False):
    """Adjoint of ``xps.mean(x, axis=axis, keepdims=keepdims)``."""
    count = 1
    for ax in _axes(axis, x.ndim):
        count *= x.shape[ax]
    return grad_sum(g, x, axis, keepdims) / count


@linear(xps.sum, transpose=grad_sum)
def sum_(z, x, axis=None, dtype=None, keepdims=False):
    return xps.sum(x, axis=axis, keepdims=keepdims)


@linear(xps.mean, transpose=grad_mean)
def mean(z, x, axis=None, keepdims=False):
    return xps.mean(x, axis=axis, keepdims=keepdims)


def matmul_lhs(g, a, b):
    """Adjoint of ``a`` in ``xps.matmul(a, b)``."""
    from ..runtime import arrays

    return arrays.matmul_adjoint(g, a, b, "lhs")


def matmul_rhs(g, a, b):
    """Adjoint of ``b`` in ``xps.matmul(a, b)``."""
    from ..runtime import arrays

    return arrays.matmul_adjoint(g, a, b, "rhs")


@bilinear(xps.matmul, lhs=matmul_lhs, rhs=matmul_rhs)
def matmul(z, a, b):
    return xps.matmul(a, b)
