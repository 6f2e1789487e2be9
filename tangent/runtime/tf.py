"""TensorFlow tensors in the runtime: the helpers of ``runtime.arrays`` for
``tf.Tensor`` and ``tf.Variable`` values.

Takes values as generated code holds them, at least one of them a TensorFlow
tensor or variable; gives the same helpers as ``arrays`` (zeros,
unbroadcasting, indexing adjoints, broadcast tangents, ...) computed with
TensorFlow, returning ``tf.Tensor`` (never a variable, never a NumPy array).
``arrays`` delegates to this module once ``library`` says "tensorflow".

TensorFlow neither promotes dtypes (float32 times float64 raises) nor lets a
tensor be written into, so numbers are converted to the tensor's own dtype
and writes are rebuilt with ``tf.tensor_scatter_nd_*``. Indices are the ones
a TensorFlow tensor accepts (integers, slices, ``None``, ``...``). Imported
only once a TensorFlow value exists (tensorflow is then already imported).
"""

from __future__ import annotations

import math

import tensorflow as tf


def _is_tf(x) -> bool:
    return isinstance(x, (tf.Tensor, tf.Variable))


def is_inexact(x) -> bool:
    """Whether the tensor ``x`` holds floating or complex numbers."""
    return x.dtype.is_floating or x.dtype.is_complex


def float_dtype(x):
    """``x``'s dtype if it is floating or complex, else float32 (TensorFlow's default float)."""
    return x.dtype if is_inexact(x) else tf.float32


def zeros_like(x):
    """A zero adjoint shaped like the tensor ``x``, in its float dtype."""
    return tf.zeros(tf.shape(x), dtype=float_dtype(x))


def as_array(g, like):
    """``g`` (a number, NumPy value or tensor) as a tensor in ``like``'s float dtype."""
    if _is_tf(g):
        return tf.convert_to_tensor(g)
    return tf.convert_to_tensor(g, dtype=float_dtype(like) if _is_tf(like) else None)


def sum_to_shape(g, shape):
    """``g`` summed over the axes broadcasting added to ``shape``."""
    gshape, shape = tuple(g.shape), tuple(shape)
    extra = len(gshape) - len(shape)
    axes = list(range(extra)) + [extra + i for i, n in enumerate(shape) if n == 1 and gshape[extra + i] != 1]
    return tf.reshape(tf.reduce_sum(g, axis=axes) if axes else g, shape)


def unbroadcast(g, like):
    """``g`` summed to the shape of ``like`` (the adjoint of broadcasting)."""
    gshape = tuple(getattr(g, "shape", ()))
    lshape = tuple(getattr(like, "shape", ()))
    if gshape == lshape:
        return as_array(g, like) if _is_tf(like) else g
    if not _is_tf(g):  # a number's adjoint broadcast to a tensor's shape
        return broadcast_like(g, like)
    if not lshape and not _is_tf(like):
        return tf.reduce_sum(g)
    return sum_to_shape(g, lshape)


def broadcast_like(g, like):
    """``g`` broadcast to the shape of the tensor ``like``."""
    return tf.broadcast_to(as_array(g, like), tf.shape(like))


def _positions(shape, index):
    """The flat positions, in a tensor of ``shape``, of the elements ``index`` selects."""
    size = math.prod(shape)
    return tf.reshape(tf.reshape(tf.range(size), shape)[index], (-1, 1))


def grad_of_index(x, index, g):
    """Adjoint of ``x[index]``: ``g`` placed where the elements came from."""
    shape = tuple(x.shape)
    g = as_array(g, x)
    positions = _positions(shape, index)
    values = tf.reshape(tf.broadcast_to(g, tf.shape(tf.reshape(positions, (-1,)))
                                        if g.shape.rank == 0 else tf.shape(g)), (-1,))
    flat = tf.tensor_scatter_nd_add(tf.zeros((math.prod(shape),), dtype=float_dtype(x)), positions, values)
    return tf.reshape(flat, shape)


def zero_region(g, index):
    """The adjoint ``g`` with ``g[index]`` set to zero (a new tensor)."""
    shape = tuple(g.shape)
    positions = _positions(shape, index)
    zeros = tf.zeros((positions.shape[0],), dtype=g.dtype)
    return tf.reshape(tf.tensor_scatter_nd_update(tf.reshape(g, (-1,)), positions, zeros), shape)


def all_finite(value) -> bool:
    """Whether the tensor holds no NaN or inf."""
    return bool(tf.reduce_all(tf.math.is_finite(value))) if is_inexact(value) else True


def broadcast_tangent(t, like):
    """A tangent ``t`` broadcast to the shape of the tensor ``like``."""
    if tuple(getattr(t, "shape", ())) == tuple(like.shape):
        return as_array(t, like)
    return broadcast_like(t, like)


def tangent_like(t, value):
    """The tangent ``t`` in ``value``'s floating dtype (a tensor, never a variable)."""
    if not _is_tf(t):
        return t
    t = tf.convert_to_tensor(t)
    if not _is_tf(value) or not is_inexact(value) or t.dtype == value.dtype:
        return t
    if t.dtype.is_complex and not value.dtype.is_complex:
        return t
    return tf.cast(t, value.dtype)


def copy(t):
    """The tensor ``t`` (tensors are immutable; a variable's current value)."""
    return tf.convert_to_tensor(t)


def matmul_adjoint(g, x, y, side: str):
    """Adjoint of ``x`` (``side="lhs"``) or ``y`` (``"rhs"``) in
    ``tf.matmul(x, y)`` or ``x @ y``, given the output adjoint ``g``: 1-D
    operands promoted as ``@`` does, batch dimensions summed out."""
    g = as_array(g, x if _is_tf(x) else y)
    if len(y.shape) == 1:
        g = g[..., None]
    if len(x.shape) == 1:
        g = g[..., None, :]
    if side == "lhs":
        y2 = tf.reshape(y, (-1, 1)) if len(y.shape) == 1 else y
        gx = tf.matmul(g, y2, transpose_b=True)
        return unbroadcast(gx[..., 0, :] if len(x.shape) == 1 else gx, x)
    x2 = tf.reshape(x, (1, -1)) if len(x.shape) == 1 else x
    gy = tf.matmul(x2, g, transpose_a=True)
    return unbroadcast(gy[..., 0] if len(y.shape) == 1 else gy, y)
