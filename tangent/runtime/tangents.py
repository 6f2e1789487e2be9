"""Tangents as forward-mode code keeps them.

Takes tangents and the values they belong to; gives tangents broadcast to
their value's shape (``broadcast_tangent``, for the zero terms forward mode
drops), in their value's dtype (``tangent_like``), and sharing memory with
another tangent only where the values do (``copy_tangent``, ``fresh_tangent``,
``view_tangent``): forward mode mirrors the program's in-place writes into
tangents, so it must never write into a tangent it does not own (the caller's
tangent vector, or the tangent of another value).
"""

from __future__ import annotations

import numbers

import numpy as np

from . import arrays
from .adjoints import GradList, GradTuple, returns_fresh, unbroadcast, zeros_like


@returns_fresh(0)
def broadcast_tangent(t, like, at_end=False):
    """The tangent ``t`` of part of a sum, given the value ``like`` of the
    sum: forward mode drops the zero tangents of inactive terms, and what
    they broadcast ``like`` to (``x1 - x0`` with ``x1`` of shape (2, 3)) the
    tangent must have too. For a concatenation of lists or tuples, ``t``
    covers the first items of ``like`` (the last ones with ``at_end``) and
    the others get zero tangents. Returns ``t`` itself when nothing is missing,
    otherwise a new value.
    """
    if type(t) is np.ndarray and type(like) is np.ndarray and t.shape == like.shape:
        return t  # the common case, first: nothing is missing
    if isinstance(like, (list, tuple)) and isinstance(t, (list, tuple)):
        missing = len(like) - len(t)
        if missing <= 0:
            return t
        zeros = [zeros_like(v) for v in (like[:missing] if at_end else like[len(t):])]
        items = zeros + list(t) if at_end else list(t) + zeros
        return type(t)(items) if isinstance(t, (GradList, GradTuple)) else (tuple(items) if isinstance(like, tuple) else items)
    if arrays.library(like) is not None:
        return arrays.broadcast_tangent(t, like)
    shape = np.shape(like) if isinstance(like, (np.ndarray, np.generic, numbers.Number)) else None
    if shape is not None and isinstance(t, (list, tuple)):
        t = np.asarray(t)  # the tangent of a list operand of arithmetic with an array
    if shape is None or np.shape(t) == shape:
        return t
    dtype = np.result_type(t, like, 0.0) if isinstance(like, np.ndarray) else np.result_type(t, 0.0)
    return np.array(np.broadcast_to(t, shape), dtype=dtype)


@returns_fresh()
def sum_tangent(t, axis=None, keepdims=False):
    """``np.sum(t, axis=axis, keepdims=keepdims)`` of a tangent, through
    ``np.add.reduce`` for arrays (the reduction np.sum calls, without its
    Python-level dispatch, which costs as much as the sum on small arrays).

    Example::

        sum_tangent(np.ones((2, 3)), axis=0)   # array([2., 2., 2.])
    """
    if type(t) is np.ndarray:
        return np.add.reduce(t, axis=axis, keepdims=keepdims)
    return np.sum(t, axis=axis, keepdims=keepdims)


def grad_of_broadcast_tangent(g, t, at_end=False):
    """Adjoint of ``t`` in ``broadcast_tangent(t, like, at_end)`` given the
    adjoint ``g`` of its result."""
    if isinstance(t, (list, tuple)) and isinstance(g, (list, tuple)):
        part = list(g)[len(g) - len(t):] if at_end else list(g)[:len(t)]
        return GradTuple(part) if isinstance(t, tuple) else GradList(part)
    return unbroadcast(g, t)


def tangent_like(t, value):
    """The tangent ``t`` of the returned ``value`` in ``value``'s floating
    dtype (float32 results get float32 tangents, as gradients get their
    argument's dtype), through tuples, lists and dicts. Never drops an
    imaginary part; leaves Python numbers and matching dtypes alone."""
    if type(value) is np.ndarray and type(t) is np.ndarray and t.dtype == value.dtype:
        return t  # the common case, first
    if type(value) is tuple and type(t) is tuple and len(t) == len(value) and all(
            type(vi) is np.ndarray and type(ti) is np.ndarray and ti.dtype == vi.dtype for ti, vi in zip(t, value)):
        return t  # the gradient's tuple (hvp): nothing to convert
    if arrays.library(value) is not None:
        return arrays.tangent_like(t, value)
    if isinstance(value, (np.ndarray, np.generic)):
        dtype = value.dtype
        if isinstance(t, (np.ndarray, np.generic)) and np.issubdtype(dtype, np.inexact) and t.dtype != dtype \
                and not (np.iscomplexobj(t) and not np.iscomplexobj(value)):
            return t.astype(dtype) if isinstance(t, np.ndarray) else dtype.type(t)
        return t
    if isinstance(value, (tuple, list)) and isinstance(t, (tuple, list)) and len(t) == len(value):
        items = [tangent_like(ti, vi) for ti, vi in zip(t, value)]
        if all(a is b for a, b in zip(items, t)):
            return t
        return type(t)(items) if type(t) in (list, tuple, GradList, GradTuple) else tuple(items)
    if isinstance(value, dict) and isinstance(t, dict):
        if not any(k in value for k in t):
            return t
        return type(t)((k, tangent_like(v, value.get(k))) for k, v in t.items())
    return t


def _shares_memory(a, b) -> bool:
    """Whether writing into ``a`` may change ``b`` (arrays, lists, dicts)."""
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return np.may_share_memory(a, b)
    if arrays.library(a) is not None:
        return arrays.shares_memory(a, b)
    return a is b and isinstance(a, (list, dict, np.ndarray))


def copy_tangent(t):
    """A copy of the tangent ``t``, for the tangent of a new value: forward
    mode writes into the tangent of a value the program writes into, and
    must never write into a tangent it does not own (the caller's tangent
    vector, or the tangent of another value)."""
    if isinstance(t, np.ndarray):
        return t.copy()
    if arrays.library(t) is not None:
        return arrays.copy(t)
    if isinstance(t, (list, dict)):
        return type(t)(t)  # shallow, as the copy of a list or dict is
    return t


def fresh_tangent(t, *sources):
    """``t``, the tangent of a value that shares no memory with the inputs
    of the operation that made it, copied when it shares memory with one of
    the tangents ``sources`` it was computed from (see ``copy_tangent``)."""
    if (isinstance(t, (np.ndarray, list, dict)) or arrays.library(t) not in (None, "jax")) and any(_shares_memory(t, s) for s in sources):
        return copy_tangent(t)
    return t


def view_tangent(t, value, *pairs):
    """``t``, the tangent of ``value`` made by an operation that may return
    a view of its inputs (reshape, asarray, a call of a user function),
    given (input, its tangent) ``pairs``: the tangent shares memory with an
    input's tangent only where the value shares memory with that input."""
    if isinstance(t, (tuple, list)) and isinstance(value, (tuple, list)) and len(t) == len(value):
        items = [view_tangent(ti, vi, *pairs) for ti, vi in zip(t, value)]
        if any(a is not b for a, b in zip(items, t)):
            t = type(t)(items) if isinstance(t, (GradTuple, GradList)) else tuple(items) if isinstance(t, tuple) else items
    for x, dx in zip(pairs[::2], pairs[1::2]):
        if _shares_memory(t, dx) and not _shares_memory(value, x):
            return copy_tangent(t)
    return t
