"""The small runtime that generated derivative code calls.

Adjoints are never mutated in place: every accumulation builds a new value, so
an adjoint may safely alias another one. Adjoints of containers (tuples, lists,
dicts) are the ``Grad*`` subclasses below, whose ``+`` adds element by element,
so generated code can accumulate with ``+`` whatever the value's type.
"""

from __future__ import annotations

import numbers
import types

import numpy as np


class GradTuple(tuple):
    """Adjoint of a tuple: a tuple whose ``+`` adds elementwise."""

    def __add__(self, other):
        return GradTuple(add(a, b) for a, b in zip(self, other))

    __radd__ = __add__

    def __neg__(self):
        return GradTuple(None if a is None else -a for a in self)

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return (-self) + other


class GradList(list):
    """Adjoint of a list: a list whose ``+`` adds elementwise."""

    def __add__(self, other):
        return GradList(add(a, b) for a, b in zip(self, other))

    __radd__ = __add__

    def __neg__(self):
        return GradList(None if a is None else -a for a in self)

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return (-self) + other


class GradDict(dict):
    """Adjoint of a dict: a dict whose ``+`` adds the values of equal keys."""

    def __add__(self, other):
        out = GradDict(self)
        for key, value in other.items():
            out[key] = add(out[key], value) if key in out else value
        return out

    __radd__ = __add__


def add(a, b):
    """Sum of two adjoints, where ``None`` stands for zero."""
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def attribute(obj, name):
    """``obj.name`` as a primitive: the derivative rules of attribute reads
    are registered for this function (generated code reads ``obj.name``)."""
    return getattr(obj, name)


def grad_of_attribute(obj, name, g):
    """Adjoint of ``obj.name``: a GradDict holding ``g`` under the name."""
    return GradDict({name: g})


def zeros_like(x):
    """A zero adjoint shaped like the primal value ``x`` (floats for ints)."""
    if isinstance(x, np.ndarray):
        if np.issubdtype(x.dtype, np.inexact):
            return np.zeros(x.shape, x.dtype)
        return np.zeros(x.shape)
    if x is None:
        # a placeholder (a variable saved before its first value): its
        # adjoint is a plain zero that later contributions add to
        return 0.0
    if isinstance(x, (bool, np.bool_)) or isinstance(x, str):
        return None
    if isinstance(x, numbers.Complex):
        return 0.0 if isinstance(x, numbers.Real) else 0j
    if isinstance(x, np.generic):
        return np.zeros((), float).item() if not np.issubdtype(x.dtype, np.complexfloating) else 0j
    if isinstance(x, tuple):
        return GradTuple(zeros_like(v) for v in x)
    if isinstance(x, list):
        return GradList(zeros_like(v) for v in x)
    if isinstance(x, dict):
        return GradDict((k, zeros_like(v)) for k, v in x.items())
    if hasattr(x, "__dict__") and not isinstance(x, (type, types.FunctionType, types.ModuleType)):
        # an object: the adjoints of its numeric attributes, by name
        return GradDict((k, zeros_like(v)) for k, v in vars(x).items()
                        if isinstance(v, (np.ndarray, float, int, list, tuple, dict)) and not isinstance(v, bool))
    return zeros_like(np.asarray(x))


def unbroadcast(g, like):
    """Sum the adjoint ``g`` down to the shape of ``like``, undoing broadcasting.
    A list or tuple ``like`` (an operand of arithmetic with an array, which
    NumPy reads as an array) gets a GradList/GradTuple of its items' adjoints."""
    if isinstance(like, (list, tuple)) and not isinstance(g, (list, tuple)) and g is not None:
        return _items_grad(unbroadcast(np.asarray(g), np.zeros(np.shape(like))), like)
    gshape = getattr(g, "shape", ())
    lshape = getattr(like, "shape", ())
    if gshape == lshape:
        return g
    if not lshape:
        return np.sum(g) if not isinstance(like, np.ndarray) else np.asarray(np.sum(g))
    extra = len(gshape) - len(lshape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(lshape) if n == 1 and gshape[extra + i] != 1
    )
    return np.sum(g, axis=axes).reshape(lshape)


def _items_grad(g, like):
    """The array adjoint ``g`` of the list or tuple ``like`` (nested, holding
    numbers or arrays) split into adjoints of its items, each of its item's
    kind and shape (a float for a number)."""
    if isinstance(like, (list, tuple)):
        parts = [_items_grad(gi, li) for gi, li in zip(g, like)]
        return GradTuple(parts) if isinstance(like, tuple) else GradList(parts)
    if isinstance(like, np.ndarray):
        return np.asarray(g, dtype=like.dtype if np.issubdtype(like.dtype, np.inexact) else float).reshape(like.shape)
    return float(g) if not isinstance(like, complex) else complex(g)


def _is_basic_index(index) -> bool:
    """True when ``x[index]`` selects every element at most once."""
    parts = index if isinstance(index, tuple) else (index,)
    for part in parts:
        if isinstance(part, (slice, type(None), type(Ellipsis), numbers.Integral)):
            continue
        arr = np.asarray(part)
        if arr.dtype != np.bool_:
            return False
    return True


def grad_of_index(x, index, g):
    """Adjoint of ``x[index]`` given the adjoint ``g`` of the read value.

    Repeated integer indices accumulate (``np.add.at``). Works for arrays,
    tuples, lists and dicts.
    """
    if isinstance(x, np.ndarray):
        out = zeros_like(x)
        if _is_basic_index(index):
            out[index] += g
        else:
            np.add.at(out, index, g)
        return out
    if isinstance(x, dict):
        out = zeros_like(x)
        out[index] = g
        return out
    if isinstance(x, (tuple, list)):
        out = GradList(zeros_like(v) for v in x)
        if isinstance(index, slice):
            out[index] = list(g)
        else:
            out[index] = g
        return GradTuple(out) if isinstance(x, tuple) else out
    return grad_of_index(np.asarray(x), index, g)


def as_container_grad(values, like):
    """Adjoint of a tuple or list built from element adjoints."""
    return GradTuple(values) if isinstance(like, tuple) else GradList(values)


def ensure_finite(value, where):
    """Raise NonFiniteGradientError when an adjoint holds NaN or inf."""
    from .errors import NonFiniteGradientError

    if value is None:
        return value
    if isinstance(value, (GradTuple, GradList)):
        for v in value:
            ensure_finite(v, where)
        return value
    if isinstance(value, GradDict):
        for v in value.values():
            ensure_finite(v, where)
        return value
    if not np.all(np.isfinite(value)):
        raise NonFiniteGradientError(
            f"the backward step of {where}\n  produced a non-finite adjoint ({_describe_nonfinite(value)}); "
            "look for a division by zero, log or sqrt at 0, or an overflow at that line"
        )
    return value


def check_scalar_output(value):
    """grad() differentiates scalar-valued functions; use vjp for others."""
    if getattr(value, "shape", ()) != () and getattr(value, "size", 1) != 1:
        from .errors import TangentError

        raise TangentError(
            f"grad() needs a function with a scalar output, but it returned shape {value.shape}; "
            "use tangent.vjp (and pass the output seed) or reduce the output, e.g. with np.sum"
        )


def broadcast_like(g, like):
    """Broadcast ``g`` to the shape of ``like`` (the adjoint of unbroadcast)."""
    shape = getattr(like, "shape", ())
    if getattr(g, "shape", ()) == shape:
        return g
    return np.broadcast_to(g, shape)


def broadcast_tangent(t, like, at_end=False):
    """The tangent ``t`` of part of a sum, given the value ``like`` of the
    sum: forward mode drops the zero tangents of inactive terms, and what
    they broadcast ``like`` to (``x1 - x0`` with ``x1`` of shape (2, 3)) the
    tangent must have too. For a concatenation of lists or tuples, ``t``
    covers the first items of ``like`` (the last ones with ``at_end``) and
    the others get zero tangents. Returns ``t`` itself when nothing is missing,
    otherwise a new value.
    """
    if isinstance(like, (list, tuple)) and isinstance(t, (list, tuple)):
        missing = len(like) - len(t)
        if missing <= 0:
            return t
        zeros = [zeros_like(v) for v in (like[:missing] if at_end else like[len(t):])]
        items = zeros + list(t) if at_end else list(t) + zeros
        return type(t)(items) if isinstance(t, (GradList, GradTuple)) else (tuple(items) if isinstance(like, tuple) else items)
    shape = np.shape(like) if isinstance(like, (np.ndarray, np.generic, numbers.Number)) else None
    if shape is not None and isinstance(t, (list, tuple)):
        t = np.asarray(t)  # the tangent of a list operand of arithmetic with an array
    if shape is None or np.shape(t) == shape:
        return t
    dtype = np.result_type(t, like, 0.0) if isinstance(like, np.ndarray) else np.result_type(t, 0.0)
    return np.array(np.broadcast_to(t, shape), dtype=dtype)


def _shares_memory(a, b) -> bool:
    """Whether writing into ``a`` may change ``b`` (arrays, lists, dicts)."""
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return np.may_share_memory(a, b)
    return a is b and isinstance(a, (list, dict, np.ndarray))


def tangent_like(t, value):
    """The tangent ``t`` of the returned ``value`` in ``value``'s floating
    dtype (float32 results get float32 tangents, as gradients get their
    argument's dtype), through tuples, lists and dicts. Never drops an
    imaginary part; leaves Python numbers and matching dtypes alone."""
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


def copy_tangent(t):
    """A copy of the tangent ``t``, for the tangent of a new value: forward
    mode writes into the tangent of a value the program writes into, and
    must never write into a tangent it does not own (the caller's tangent
    vector, or the tangent of another value)."""
    if isinstance(t, np.ndarray):
        return t.copy()
    if isinstance(t, (list, dict)):
        return type(t)(t)  # shallow, as the copy of a list or dict is
    return t


def fresh_tangent(t, *sources):
    """``t``, the tangent of a value that shares no memory with the inputs
    of the operation that made it, copied when it shares memory with one of
    the tangents ``sources`` it was computed from (see ``copy_tangent``)."""
    if isinstance(t, (np.ndarray, list, dict)) and any(_shares_memory(t, s) for s in sources):
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


def grad_of_broadcast_tangent(g, t, at_end=False):
    """Adjoint of ``t`` in ``broadcast_tangent(t, like, at_end)`` given the
    adjoint ``g`` of its result."""
    if isinstance(t, (list, tuple)) and isinstance(g, (list, tuple)):
        part = list(g)[len(g) - len(t):] if at_end else list(g)[:len(t)]
        return GradTuple(part) if isinstance(t, tuple) else GradList(part)
    return unbroadcast(g, t)


def _describe_nonfinite(value) -> str:
    arr = np.asarray(value)
    nan, inf = int(np.isnan(arr).sum()), int(np.isinf(arr).sum())
    parts = [f"{nan} NaN" if nan else "", f"{inf} inf" if inf else ""]
    return " and ".join(p for p in parts if p) + (f" of {arr.size} values" if arr.size > 1 else "")


class _Missing:
    """Marks a dict key that did not exist before a write."""

    def __repr__(self):
        return "MISSING"


MISSING = _Missing()


def _items(x):
    """Objects are written and read through their __dict__."""
    if isinstance(x, (np.ndarray, list, tuple, dict)) or not hasattr(x, "__dict__"):
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
    return region


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
    if isinstance(g, (GradList, GradTuple, list, tuple)):
        out = GradList(g)
        if isinstance(index, slice):
            out[index] = [zeros_like(v) for v in like[index]] if like is not None else [None] * len(out[index])
        else:
            out[index] = zeros_like(like[index]) if like is not None else None
        return GradTuple(out) if isinstance(g, tuple) else out
    if isinstance(g, dict):
        out = GradDict(g)
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
    region = g[index]
    if isinstance(g, np.ndarray) and not _is_basic_index(index):
        region = np.array(region, dtype=float, copy=True)
        order = np.full(g.shape, -1, dtype=np.int64)
        positions = np.arange(region.size, dtype=np.int64).reshape(region.shape)
        order[index] = positions
        region[order[index] != positions] = 0.0
    return unbroadcast(region, value)


def split_last(g):
    """(adjoint of a list without its last element, adjoint of that element)."""
    return GradList(g[:-1]), g[-1]


def append_grad(g, item):
    """The adjoint of a list with ``item`` appended (a new list)."""
    return GradList(list(g) + [item])


def restore_region(x, index, old):
    """Undo ``x[index] = ...`` given what ``copy_region`` saved."""
    x = _items(x)
    if old is MISSING:
        del x[index]
    else:
        x[index] = old


def as_sequence(iterable):
    """Something indexable with the items a for loop over ``iterable`` sees
    (the keys of a dict, the rows of an array)."""
    if isinstance(iterable, (np.ndarray, tuple, range)):
        return iterable
    # a list is copied: the backward pass pops from the original
    return list(iterable)


# ------------------------------------------- list/tuple repetition and concatenation
# ``a * b`` and ``a + b`` are arithmetic on numbers and arrays, but repetition and
# concatenation on lists and tuples. Where the kind of the operands is known from
# the code (analysis.classify_sequence_operators), the derivative uses the rule of
# the right operation (``repeat``, ``concat``); where it cannot be known, the
# adjoints below decide at run time (``mul_or_repeat``, ``add_or_concat``). These
# functions name the operations for rule lookup; the generated code keeps the operator.

def _is_repetition(seq, times) -> bool:
    return isinstance(seq, (list, tuple)) and isinstance(times, (int, np.integer)) and not isinstance(times, bool)


def _is_concatenation(a, b) -> bool:
    # adjoints of lists (GradList, GradTuple) add elementwise: that is arithmetic
    return (isinstance(a, (list, tuple)) and isinstance(b, (list, tuple))
            and not isinstance(a, (GradList, GradTuple)) and not isinstance(b, (GradList, GradTuple)))


def repeat(seq, times):
    """``seq * times`` for a list or tuple ``seq``."""
    return seq * times


def repeat_right(times, seq):
    """``times * seq`` for a list or tuple ``seq``."""
    return times * seq


def concat(a, b):
    """``a + b`` for lists or tuples."""
    return a + b


def mul_or_repeat(a, b):
    """``a * b`` where the code does not tell whether it repeats a sequence."""
    return a * b


def add_or_concat(a, b):
    """``a + b`` where the code does not tell whether it concatenates sequences."""
    return a + b


def _like(values, like):
    """``values`` as an adjoint container of the kind of ``like``."""
    return GradTuple(values) if isinstance(like, tuple) else GradList(values)


def repeat_grad(g, seq, times):
    """Adjoint of ``seq`` in ``seq * times``: each element's adjoint is the sum
    of the adjoints of its copies."""
    n = len(seq)
    parts = [zeros_like(v) for v in seq]
    for k in range(max(int(times), 0)):
        for i in range(n):
            parts[i] = add(parts[i], g[k * n + i])
    return _like(parts, seq)


def repeat_values(values, times):
    """``values * times`` keeping the container kind (a GradList stays one)."""
    out = list(values) * max(int(times), 0)
    if isinstance(values, (GradList, GradTuple)):
        return _like(out, values)
    return tuple(out) if isinstance(values, tuple) else out


def part_grad(g, like, from_end=False):
    """The part of the adjoint ``g`` of a concatenation that belongs to the
    operand ``like`` (the first ``len(like)`` elements, or the last)."""
    n = len(like)
    items = list(g)[len(g) - n:] if from_end else list(g)[:n]
    return _like(items, like)


def place_grad(part, g, like, from_end=False):
    """Adjoint shaped like ``g`` that is ``part`` where ``like`` sits in it and
    zero elsewhere (the adjoint of ``part_grad``)."""
    out = [zeros_like(v) for v in g]
    n = len(like)
    start = len(out) - n if from_end else 0
    for i, value in enumerate(part):
        out[start + i] = value
    return _like(out, g)


def concat_values(a, b):
    """Tangent of a concatenation: the operands' tangents concatenated."""
    out = list(a) + list(b)
    return tuple(out) if isinstance(a, tuple) and not isinstance(a, GradTuple) else out


def mul_grad(g, x, other):
    """Adjoint of ``x`` in ``x * other`` (or ``other * x``), repetition or product."""
    if _is_repetition(x, other):
        return repeat_grad(g, x, other)
    if _is_repetition(other, x):
        return zeros_like(x)  # x is the number of copies
    return unbroadcast(g * other, x)


def mul_grad_back(dz, g, x, other, wrt_other=False):
    """Adjoint of ``g`` (of ``other`` when ``wrt_other``) in
    ``mul_grad(g, x, other)``, for derivatives of generated code."""
    if _is_repetition(x, other):
        return zeros_like(other) if wrt_other else repeat_values(dz, other)
    if _is_repetition(other, x):
        return zeros_like(other if wrt_other else g)
    shape = np.broadcast(g, other).shape
    full = dz if np.shape(dz) == shape else np.broadcast_to(dz, shape)
    return unbroadcast(full * g, other) if wrt_other else unbroadcast(full * other, g)


def add_grad(g, a, b, second=False):
    """Adjoint of ``a`` (or of ``b`` when ``second``) in ``a + b``,
    concatenation or sum."""
    if _is_concatenation(a, b):
        return part_grad(g, b if second else a, from_end=second)
    return unbroadcast(g, b if second else a)


def add_grad_back(dz, g, a, b, second=False):
    """Adjoint of ``g`` in ``add_grad(g, a, b, second)``."""
    if _is_concatenation(a, b):
        return place_grad(dz, g, b if second else a, from_end=second)
    return broadcast_like(dz, g)


def add_tangent(da, db, a, b):
    """Tangent of ``a + b``, concatenation or sum."""
    if _is_concatenation(a, b):
        return concat_values(da, db)
    return da + db
