"""Writes into arrays, lists, dicts and objects, as generated code undoes them.

Takes a container and an index (a key, an attribute name for an object, which
is written through its ``__dict__``); gives the copy of a region saved before a
write (``copy_region``), the undoing of the write (``restore_region``), and the
adjoints of the written value and of what the write overwrote. A dict key that
did not exist before a write is saved as ``MISSING``.
"""

from __future__ import annotations

import numpy as np

from . import arrays
from .adjoints import GradDict, GradList, GradTuple, grad_of_index, is_basic_index, unbroadcast, zeros_like


class _Missing:
    """Marks a dict key that did not exist before a write."""

    def __repr__(self):
        return "MISSING"


MISSING = _Missing()


def _items(x):
    """Objects are written and read through their __dict__."""
    if isinstance(x, (np.ndarray, list, tuple, dict)) or not hasattr(x, "__dict__") or arrays.library(x):
        return x
    return vars(x)


def copy_region(x, index):
    """A copy of ``x[index]`` that later writes into ``x`` cannot change."""
    x = _items(x)
    if isinstance(x, dict) and index not in x:
        return MISSING
    region = x[index]
    if isinstance(region, np.ndarray):
        return region.copy()
    if isinstance(region, list):
        return list(region)
    return arrays.copy(region) if arrays.library(region) else region


def restore_region(x, index, old):
    """Undo ``x[index] = ...`` given what ``copy_region`` saved."""
    x = _items(x)
    if old is MISSING:
        del x[index]
    else:
        x[index] = old


def zero_region(g, index, like=None):
    """The adjoint ``g`` with ``g[index]`` set to zero (a new value); ``like``
    (the container) gives the shapes of zero elements of lists and dicts."""
    if g is None:
        return None
    like = _items(like) if like is not None else None
    if isinstance(g, np.ndarray):
        out = g.copy()
        out[index] = 0
        return out
    if arrays.library(g) is not None:
        return arrays.zero_region(g, index)
    if isinstance(g, (GradList, GradTuple, list, tuple)):
        out = GradList(g)
        if isinstance(index, slice):
            out[index] = [zeros_like(v) for v in like[index]] if like is not None else [None] * len(out[index])
        else:
            out[index] = zeros_like(like[index]) if like is not None else None
        return GradTuple(out) if isinstance(g, tuple) else out
    if isinstance(g, dict):
        out = GradDict(g)
        if like is not None and index not in like:
            out.pop(index, None)  # (a key the write created, now removed again: no adjoint)
        else:
            out[index] = zeros_like(like[index]) if like is not None else None
        return out
    return zero_region(np.asarray(g, dtype=float), index)


def grad_of_written(g, index, value):
    """Adjoint of ``value`` in ``x[index] = value`` given the adjoint ``g`` of x.

    With repeated integer indices only the last write to a position reaches
    the output, as in NumPy's assignment, so earlier duplicates get zero.
    The adjoint of a dict or object is sparse (attributes nobody read have
    none), so a missing key means a zero adjoint.
    """
    if isinstance(g, dict) and index not in g:
        return zeros_like(value)
    if isinstance(g, (int, float, complex, np.number)):  # the adjoint of a 0-d array, as a number (x[...] = v)
        g = np.asarray(g)
    region = g[index]
    if arrays.library(g) is not None and not is_basic_index(index):
        raise NotImplementedError(f"writing into a {arrays.library(g)} array at the index array {index!r} "
                                  "(where repeated indices make the last write win) is not supported")
    if isinstance(g, np.ndarray) and not is_basic_index(index):
        region = np.array(region, dtype=float, copy=True)
        order = np.full(g.shape, -1, dtype=np.int64)
        positions = np.arange(region.size, dtype=np.int64).reshape(region.shape)
        order[index] = positions
        region[order[index] != positions] = 0.0
    return unbroadcast(region, value)


def part_of(g, key, like):
    """``g[key]``: the part of an adjoint at a key or index, where a sparse
    adjoint (a dict without the key: an attribute nobody read) means zeros
    shaped like ``like``."""
    if isinstance(g, dict) and key not in g:
        return zeros_like(like)
    return g[key]


def place_part(dz, g, key, like=None):
    """The transpose of ``part_of(g, key, like)``: the adjoint of g given
    the adjoint ``dz`` of its part at ``key`` (sparse for a dict)."""
    if isinstance(g, dict):
        return GradDict({key: dz})
    return grad_of_index(g, key, dz)


def split_last(g):
    """(adjoint of a list without its last element, adjoint of that element)."""
    return GradList(g[:-1]), g[-1]


def append_grad(g, item):
    """The adjoint of a list with ``item`` appended (a new list)."""
    return GradList(list(g) + [item])


def sequence_grad(g, iterable):
    """The adjoint of ``iterable`` given the adjoint ``g`` of
    ``as_sequence(iterable)``: ``g`` itself, except for a dict, whose
    sequence is its keys, which carry no derivative (a zero adjoint)."""
    if isinstance(iterable, dict):
        return GradDict()
    return g


def sequence_tangent(t, iterable):
    """The tangent of ``as_sequence(iterable)`` given the tangent ``t`` of
    ``iterable``: ``as_sequence(t)``, except for a dict, whose sequence is
    its keys, which carry no derivative (zeros; the keys of ``t`` are not
    tangents of anything)."""
    if isinstance(iterable, dict):
        return [zeros_like(key) for key in iterable]
    return as_sequence(t)


def as_sequence(iterable):
    """Something indexable with the items a for loop over ``iterable`` sees
    (the keys of a dict, the rows of an array)."""
    if isinstance(iterable, (np.ndarray, tuple, range)):
        return iterable
    # a list is copied: the backward pass pops from the original
    return list(iterable)
