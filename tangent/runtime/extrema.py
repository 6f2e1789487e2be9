"""Adjoints of max and min by where the extremum is attained.

Where a max/min is attained, found without a full-size mask of shares: ties
(several elements equal to the extremum) share its adjoint evenly, exactly
as the mask formula ``(x == z) * g / count`` does, in reverse, forward and
second order alike; these helpers only choose a cheaper way to say so.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple


def extremum_positions(x, z, axis):
    """Where NumPy array ``x`` attains its max/min ``z`` over ``axis`` (None,
    an int or a tuple, as NumPy's; ``z``
    broadcasting against ``x``), as ``("flat", indices)`` for a reduction over
    every axis (ties: several indices), ``("along", indices, axis)`` for one
    axis when every slice has a single extremum (``np.take_along_axis``
    indices), or None where the mask formula must be used instead: ties along
    an axis, several (not all) axes, NaN (no element equals ``z``), types other
    than NumPy's real arrays.

    Example::

        extremum_positions(np.array([1.0, 3.0, 3.0]), 3.0, (0,))  # ("flat", array([1, 2]))
    """
    if type(x) is not np.ndarray or x.dtype.kind not in "fiu" or x.size == 0:
        return None
    axes = tuple(range(x.ndim)) if axis is None else normalize_axis_tuple(axis, x.ndim)
    hit = x == z
    if len(axes) == x.ndim:
        where = np.flatnonzero(hit)
        return ("flat", where) if where.size else None
    if len(axes) != 1:
        return None
    axis = axes[0]
    if np.count_nonzero(hit) != x.size // x.shape[axis]:
        return None  # a tie or a NaN in some slice
    first = np.argmax(hit, axis=axis, keepdims=True)
    # as many hits as slices, and one in every slice: exactly one in each
    return ("along", first, axis) if np.all(np.take_along_axis(hit, first, axis)) else None


# Below these sizes the mask of shares, a few whole-array operations, is faster
# than finding the positions and scattering (measured on NumPy 2: the scatter's
# fixed cost is some 15 us; along one axis the mask is faster up to about 16k
# elements, over all axes, where the scatter is one flat assignment, up to 4k).
MASK_BELOW_ALONG = 16384
MASK_BELOW_ALL = 4096


def extremum_by_mask(x, axis) -> bool:
    """Whether the adjoint of a max/min of NumPy array ``x`` over ``axis``
    (None or an int) is faster as the mask of shares than as a scatter."""
    return x.size < (MASK_BELOW_ALL if axis is None or x.ndim == 1 else MASK_BELOW_ALONG)


def extremum_mask(g, x, z, axis):
    """The adjoint ``g`` of a max/min ``z`` of NumPy array ``x`` over ``axis``
    (``z`` and ``g`` broadcasting against ``x``, reduced axes kept) as the mask
    of shares ``(x == z) * g / count``: ties share ``g`` evenly, a slice whose
    extremum is NaN gets NaN throughout (no element equals it: ``0 * inf``),
    the same values as ``extremum_scatter``, in its dtype; None if ``g`` is
    not real. A fresh array of ``x``'s shape.

    Example::

        extremum_mask(1.0, x, np.max(x), None)
    """
    dtype = _real_dtype(x, g)
    if dtype is None:
        return None
    chosen = x == z
    return chosen * (g / chosen.sum(axis=axis, keepdims=True, dtype=dtype))


def _real_dtype(x, g):
    dtype = np.result_type(x.dtype, np.asarray(g).dtype, 1.0)
    return dtype if dtype.kind == "f" else None


def extremum_scatter(g, x, positions):
    """The adjoint ``g`` of a max/min of ``x`` (``g`` broadcasting against
    ``x``, reduced axes kept) placed at ``positions`` from
    ``extremum_positions``, shared evenly among ties; None if ``g`` is not
    real. A fresh array of ``x``'s shape.

    Example::

        extremum_scatter(1.0, x, extremum_positions(x, np.max(x), (0,)))
    """
    dtype = _real_dtype(x, g)
    if dtype is None:
        return None
    out = np.zeros(x.shape, dtype)
    if positions[0] == "flat":
        out.flat[positions[1]] = np.reshape(g, ()) / positions[1].size
    else:
        _, indices, axis = positions
        np.put_along_axis(out, indices, np.broadcast_to(g, indices.shape), axis)
    return out


def extremum_gather(dx, x, positions, keepdims):
    """The tangent of a max/min of ``x`` along tangent ``dx`` (shaped like
    ``x``): the mean of ``dx`` over the tied positions from
    ``extremum_positions``; None if ``dx`` is not a real array of ``x``'s shape.

    Example::

        extremum_gather(dx, x, extremum_positions(x, np.max(x), (0,)), False)
    """
    if np.shape(dx) != x.shape or _real_dtype(x, dx) is None:
        return None
    dx = np.asarray(dx)
    if positions[0] == "flat":
        where = positions[1]
        out = np.sum(dx.flat[where]) / where.size
        return np.reshape(out, (1,) * x.ndim) if keepdims else out
    _, indices, axis = positions
    out = np.take_along_axis(dx, indices, axis)
    return out if keepdims else np.squeeze(out, axis)
