"""Runtime helpers for derivatives compiled with numba (``compile="numba"``).

The numba lowering (``tangent.numba_backend``) rewrites the generated source so
that every call it keeps is to numpy, math or one of the helpers here, each an
``numba.njit`` function or a ``numba.extending.overload`` that numba compiles
for the argument types it sees. ``NUMBA_HELPERS`` maps the Python runtime
helper (``tangent.runtime``) that generated code names to its numba version;
a helper missing from it has no numba version and the lowering refuses code
calling it. Imported only when numba is installed and asked for.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import types
from numba.extending import overload

from . import adjoints as _adjoints
from . import arrays as _arrays
from . import tangents as _tangents

__all__ = ["NUMBA_HELPERS", "NUMBA_RULE_HELPERS", "broadcast_tangent", "grad_extremum_kept", "kept_max", "kept_min", "check_scalar_output", "check_seed", "check_seed_shape", "check_tangent", "empty_stack", "fresh_tangent", "sum_tangent", "reversed_sequence", "saved_range", "tangent_like", "zeros_like"]


@numba.njit(cache=True)
def empty_stack(like):
    """An empty list holding values of ``like``'s numba type (a typed tape)."""
    stack = [like]
    stack.pop()
    return stack


@numba.njit(cache=True)
def saved_range(bounds):
    """The range saved on a tape as ``(start, stop, step)``."""
    return range(bounds[0], bounds[1], bounds[2])


def reversed_sequence(sequence):
    """``reversed(sequence)`` for a range, an array or a list (numba has no ``reversed``)."""
    return reversed(sequence)


@overload(reversed_sequence)
def _reversed_sequence(sequence):
    if isinstance(sequence, types.RangeType):
        def backwards(sequence):
            start, step = sequence.start, sequence.step
            return range(start + (len(sequence) - 1) * step, start - step, -step)
        return backwards
    if isinstance(sequence, (types.Array, types.List)):
        return lambda sequence: sequence[::-1]
    return None


def zeros_like(x):
    """A zero adjoint shaped like ``x``, in its float dtype (float64 for integers)."""
    return _arrays.zeros_like(x)


@overload(zeros_like)
def _zeros_like(x):
    if isinstance(x, types.Array):
        if isinstance(x.dtype, (types.Float, types.Complex)):
            return lambda x: np.zeros_like(x)
        return lambda x: np.zeros(x.shape, np.float64)
    if isinstance(x, types.Complex):
        return lambda x: 0j
    if isinstance(x, (types.Number, types.Boolean)):
        return lambda x: 0.0
    return None


def tangent_like(t, value):
    """The tangent ``t`` in ``value``'s floating dtype."""
    return _tangents.tangent_like(t, value)


@overload(tangent_like)
def _tangent_like(t, value):
    if (isinstance(t, types.Array) and isinstance(value, types.Array) and isinstance(value.dtype, types.Float)
            and isinstance(t.dtype, types.Float) and t.dtype != value.dtype):
        dtype = value.dtype
        return lambda t, value: t.astype(dtype)
    return lambda t, value: t


def broadcast_tangent(t, like):
    """The tangent ``t`` of part of a sum whose value is ``like``, at ``like``'s shape."""
    return _tangents.broadcast_tangent(t, like)


@overload(broadcast_tangent)
def _broadcast_tangent(t, like):
    if isinstance(like, types.Array) and isinstance(t, types.Array):
        return lambda t, like: np.ascontiguousarray(np.broadcast_to(t, like.shape))
    if isinstance(like, types.Array) and isinstance(t, types.Number):
        return lambda t, like: np.full(like.shape, t)
    if isinstance(like, types.Number) and isinstance(t, types.Number):
        return lambda t, like: t
    return None


def kept_max(a, axis):
    """``np.max(a, axis=axis, keepdims=True)`` (numba's ``np.max`` takes no axis): 2-D arrays."""
    return np.max(a, axis=axis, keepdims=True)


def kept_min(a, axis):
    """``np.min(a, axis=axis, keepdims=True)``: 2-D arrays."""
    return np.min(a, axis=axis, keepdims=True)


def _kept_extremum(reduce):
    def typer(a, axis):
        if not (isinstance(a, types.Array) and a.ndim == 2 and isinstance(axis, types.Integer)):
            return None

        def kept(a, axis):
            if axis == 0 or axis == -2:
                out = np.empty((1, a.shape[1]), a.dtype)
                for j in range(a.shape[1]):
                    out[0, j] = reduce(a[:, j])
            else:
                out = np.empty((a.shape[0], 1), a.dtype)
                for i in range(a.shape[0]):
                    out[i, 0] = reduce(a[i])
            return out
        return kept
    return typer


_max_of = numba.njit(lambda row: row.max())
_min_of = numba.njit(lambda row: row.min())
overload(kept_max)(_kept_extremum(_max_of))
overload(kept_min)(_kept_extremum(_min_of))


def grad_extremum_kept(g, z, a, axis):
    """Adjoint of max/min whose result ``z`` broadcasts against ``a``: ties share ``g``."""
    chosen = a == z
    return chosen * (g / np.sum(chosen, axis=axis, keepdims=True))


@overload(grad_extremum_kept)
def _grad_extremum_kept(g, z, a, axis):
    if isinstance(axis, (types.NoneType, types.Omitted)):
        return lambda g, z, a, axis: (a == z) * (g / np.sum(a == z))
    if isinstance(axis, types.Integer):
        def kept(g, z, a, axis):
            chosen = a == z
            return chosen * (g / np.expand_dims(np.sum(chosen, axis=axis), axis))
        return kept
    return None


def check_scalar_output(value):
    """Whether ``value`` is one number (as ``grad`` requires)."""
    return _arrays.check_scalar_output(value)


@overload(check_scalar_output)
def _check_scalar_output(value):
    if isinstance(value, types.Array):
        return lambda value: value.size == 1
    return lambda value: True


def check_seed(seed, result):
    """Refuse a seed whose shape is not the result's (``adjoints.check_seed``)."""
    return _adjoints.check_seed(seed, result)


@overload(check_seed)
def _check_seed(seed, result):
    if isinstance(result, types.Array):
        return lambda seed, result: check_seed_shape(seed, result.shape)
    return lambda seed, result: check_seed_shape(seed, ())


def check_seed_shape(seed, result_shape):
    """Refuse a seed whose shape is not ``result_shape`` (``adjoints.check_seed_shape``)."""
    return _adjoints.check_seed_shape(seed, result_shape)


@overload(check_seed_shape)
def _check_seed_shape(seed, result_shape):
    if isinstance(seed, types.Array) and isinstance(result_shape, types.BaseTuple) and seed.ndim == len(result_shape):
        def same(seed, result_shape):
            if seed.shape != result_shape:
                raise ValueError("a seed's (tangent's) shape is not its result's (argument's)")
        return same
    if isinstance(seed, types.Array) and seed.ndim > 0:
        def refused(seed, result_shape):
            raise ValueError("a seed's (tangent's) shape is not its result's (argument's)")
        return refused
    return lambda seed, result_shape: None


def check_tangent(tangent, value, name):
    """Refuse a tangent whose shape is not its argument's (``adjoints.check_tangent``)."""
    return _adjoints.check_tangent(tangent, value, name)


@overload(check_tangent)
def _check_tangent(tangent, value, name):
    if isinstance(value, types.Array):
        return lambda tangent, value, name: check_seed_shape(tangent, value.shape)
    return lambda tangent, value, name: check_seed_shape(tangent, ())


def fresh_tangent(t, *sources):
    """``t``, copied when it may share memory with one of ``sources`` (the
    tangents it was computed from: a returned tangent must not be the
    caller's). Compiled code copies every array: numba cannot tell."""
    return _tangents.fresh_tangent(t, *sources)


@overload(fresh_tangent)
def _fresh_tangent(t, *sources):
    if isinstance(t, types.Array):
        return lambda t, *sources: t.copy()
    if isinstance(t, (types.Number, types.Boolean)):
        return lambda t, *sources: t
    return None


def sum_tangent(t, axis=None, keepdims=False):
    """``np.sum`` of a tangent, over all its items or one integer axis
    (numba's ``np.sum``; a tuple of axes has no numba version: refused)."""
    return _tangents.sum_tangent(t, axis, keepdims)


@overload(sum_tangent)
def _sum_tangent(t, axis=None, keepdims=False):
    kept = isinstance(keepdims, types.BooleanLiteral) and keepdims.literal_value
    if isinstance(t, types.Array) and isinstance(axis, types.Integer):
        if kept:
            return lambda t, axis=None, keepdims=False: np.expand_dims(np.sum(t, axis=axis), axis)
        return lambda t, axis=None, keepdims=False: np.sum(t, axis=axis)
    if not (axis is None or isinstance(axis, (types.NoneType, types.Omitted))) or kept:
        return None
    if isinstance(t, types.Array):
        return lambda t, axis=None, keepdims=False: np.sum(t)
    if isinstance(t, types.Number):
        return lambda t, axis=None, keepdims=False: t
    return None


def _python_helpers() -> dict:
    from . import adjoints, tangents
    found = {}
    for module in (adjoints, tangents, _arrays):
        for name in ("zeros_like", "tangent_like", "check_scalar_output", "check_seed", "check_seed_shape", "check_tangent", "broadcast_tangent", "fresh_tangent",
                     "sum_tangent"):
            if hasattr(module, name):
                found[id(getattr(module, name))] = name
    return found


# id of a Python runtime helper -> the name of its numba version in this module
NUMBA_HELPERS: dict[int, str] = _python_helpers()
# helpers of derivative rules (tangent/rules), by module and name -> their numba version here
NUMBA_RULE_HELPERS: dict[tuple[str, str], str] = {
    ("tangent.rules.numpy_fast_rules", "grad_extremum_kept"): "grad_extremum_kept"}
