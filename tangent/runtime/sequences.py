"""Derivatives of list and tuple repetition and concatenation.

``a * b`` and ``a + b`` are arithmetic on numbers and arrays, but repetition
and concatenation on lists and tuples. Where the kind of the operands is known
from the code (kinds.classify_sequence_operators), the derivative uses the
rule of the right operation (``runtime.repeat``, ``runtime.concat``); where it
cannot be known, the adjoints below decide at run time from the values
(``mul_grad``, ``add_grad``, ``add_tangent``). Takes the operands and the
adjoint or tangents; gives adjoints of the operands' kind (``GradList``,
``GradTuple``) or tangents.
"""

from __future__ import annotations

import numpy as np

from .adjoints import GradList, GradTuple, add, broadcast_like, unbroadcast, zeros_like


def _is_repetition(seq, times) -> bool:
    return isinstance(seq, (list, tuple)) and isinstance(times, (int, np.integer)) and not isinstance(times, bool)


def _is_concatenation(a, b) -> bool:
    # adjoints of lists (GradList, GradTuple) add elementwise: that is arithmetic
    return (isinstance(a, (list, tuple)) and isinstance(b, (list, tuple))
            and not isinstance(a, (GradList, GradTuple)) and not isinstance(b, (GradList, GradTuple)))


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
    # (broadcast like the product, in its library: a 0-d torch dz against NumPy zeros stays a tensor;
    # helpers with rules only, as third derivatives differentiate this function's source)
    full = dz if np.shape(dz) == shape else broadcast_like(dz, g * other)
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


# ------------------------------------------------ desugared builtins (not differentiated)


def sort_order(keys, reverse=False):
    """The permutation ``sorted`` applies to items with these keys (stable,
    like ``sorted``): ``sorted(xs, key=k)`` is desugared to
    ``[xs[i] for i in sort_order([k(v) for v in xs])]``, so the derivative
    takes the permutation from the primal and does not differentiate the key.

    Example::

        sort_order([3.0, 1.0, 2.0])  # [1, 2, 0]
    """
    return sorted(range(len(keys)), key=keys.__getitem__, reverse=bool(reverse))


def keys_of(mapping):
    """The keys of a dict, as a list: loops over ``d.items()``,
    ``d.values()`` and ``d.keys()`` are desugared to loops over
    ``keys_of(d)`` reading ``d[k]`` (keys carry no derivative).

    Example::

        keys_of({"a": 1.0, "b": 2.0})  # ['a', 'b']
    """
    return list(mapping)
