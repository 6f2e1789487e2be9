"""Accumulating indexed contributions into an adjoint allocated once.

Takes an adjoint *buffer*, an index and the contribution of one read
``x[index]`` (or ``obj.name``); gives the buffer with the contribution added
there, in O(size of the contribution): a NumPy array buffer is added into in
place (``np.add.at`` for indices that may repeat); a list or dict buffer has
the contribution itself put into a slot that is still zeros (``zeros + g``
is ``g`` when the shapes and dtypes agree: no full-size sum), the slot added
into in place when the buffer *owns* it (its value, an array or a container
of them, was allocated here: by ``buffer_like`` or by an earlier sum for
that slot, and never handed out), and otherwise replaced by the slot plus
the contribution (a slot's value that the buffer does not own,
and the contribution, are never written into: either may be shared).

Assumes, and generated code guarantees (``adjoints.BUFFER``): the buffer is
an adjoint that generated code allocated itself (``buffer_like(x)``,
``zeros_like(x)``, ``grad_of_index(x, ...)``, ``grad_of_attribute(obj, ...)``
or an earlier ``add_at``) and that no other variable, argument, seed or
returned value refers to while it is added into; once anything else may
hold it, generated code adds to it with ``+`` only. A tuple buffer
(immutable) and an array of another library are returned as a new value
instead: callers always use the returned value.
"""

from __future__ import annotations

import numpy as np

from . import arrays
from .adjoints import (
    FIELDS,
    GradDict,
    GradList,
    GradTuple,
    add,
    fields_of,
    is_basic_index,
    returns_fresh,
    with_fields,
    zeros_like,
)

_OWNED = "_tangent_owned"  # attribute of a Grad container: the keys of the slots it owns
_ZERO = "_tangent_zero"  # and the keys of its slots still zeros (set by grad_of_index too)


def buffer_like(x):
    """A zero adjoint of ``x`` that owns its leaves: ``zeros_like(x)``
    whose lists, dicts and tuples (``Grad*``) record that every slot was
    allocated here, so that ``add_at`` may add into the slots in place.

    Example::

        buf = buffer_like([np.ones(2), np.ones(3)])
        buf = add_at(buf, 1, np.ones(3))   # buf[1] += 1 in place, no new array
    """
    kind = type(x)
    if kind is list or kind is tuple:  # (the common case, fast: the loop below per slot)
        slots = [_slot_buffer(v) for v in x]
        out = (GradTuple if kind is tuple else GradList)(slots)
        setattr(out, _OWNED, {k for k, v in enumerate(slots) if type(v) is np.ndarray or _is_owned_value(v)})
        setattr(out, _ZERO, set(range(len(slots))))
        return out
    if isinstance(x, (list, tuple, dict)) and not isinstance(x, np.ndarray):
        items = x.items() if isinstance(x, dict) else enumerate(x)
        slots = {k: buffer_like(v) for k, v in items}
        if isinstance(x, dict):
            out = GradDict(slots)
        else:
            out = with_fields(GradTuple(slots[k] for k in range(len(x))), fields_of(x)) if isinstance(x, tuple) \
                else GradList(slots[k] for k in range(len(x)))
        setattr(out, _OWNED, {k for k, v in slots.items() if _is_owned_value(v)})
        setattr(out, _ZERO, set(slots))
        return out
    out = zeros_like(x)
    if isinstance(out, (GradDict, GradList, GradTuple)):  # an object's attributes
        setattr(out, _OWNED, {k for k, v in (out.items() if isinstance(out, dict) else enumerate(out))
                              if isinstance(v, np.ndarray)})
    return out


def _slot_buffer(v):
    """``buffer_like(v)`` for a slot: a NumPy array's zeros directly."""
    if type(v) is np.ndarray:
        return np.zeros(v.shape, v.dtype if v.dtype.kind in "fc" else float)  # (as zeros_like)
    return buffer_like(v)


def _is_owned_value(v) -> bool:
    """A value ``buffer_like`` made that the slot holding it owns whole."""
    if isinstance(v, np.ndarray):
        return True
    if isinstance(v, (GradDict, GradList, GradTuple)):
        owned = getattr(v, _OWNED, ())
        return len(owned) == len(v)
    return False


def _same_kind(zeros, g) -> bool:
    """Whether ``zeros + g`` is ``g`` itself: the same shape, dtype and
    structure (no ``None`` in g, which stands for zeros but must not reach
    the caller)."""
    if type(zeros) is np.ndarray:
        return type(g) is np.ndarray and g.shape == zeros.shape and g.dtype == zeros.dtype
    if type(zeros) is float:
        return type(g) is float
    if isinstance(zeros, (GradTuple, GradList)):
        return type(g) is type(zeros) and len(g) == len(zeros) and all(map(_same_kind, zeros, g))
    if isinstance(zeros, GradDict):
        return type(g) is GradDict and g.keys() == zeros.keys() and all(_same_kind(zeros[k], g[k]) for k in g)
    return False


def _fits(slot, g) -> bool:
    """Whether ``slot += g`` (a NumPy array the buffer owns) gives what
    ``slot + g`` would: the same shape and dtype, g a NumPy value."""
    if type(g) is np.ndarray and g.shape == slot.shape and g.dtype == slot.dtype:  # the common case, fast
        return True
    if isinstance(g, np.ndarray):
        try:
            shape = g.shape == slot.shape or np.broadcast_shapes(g.shape, slot.shape) == slot.shape
        except ValueError:
            return False
        return shape and np.result_type(slot, g) == slot.dtype
    if isinstance(g, (float, int, np.floating, np.integer)) and not isinstance(g, bool):
        return np.result_type(slot, g) == slot.dtype
    return False


def _add_into(slot, g) -> bool:
    """Add ``g`` into the owned value ``slot`` in place (an array, or a Grad
    container owning all its slots); False, changing nothing, when it cannot."""
    if not _can_add_into(slot, g):
        return False
    if isinstance(slot, np.ndarray):
        np.add(slot, g, out=slot)
    else:
        pairs = ((slot[k], v) for k, v in g.items()) if isinstance(slot, dict) else zip(slot, g)
        for a, b in pairs:
            if b is not None:
                _add_into(a, b)
    return True


def _can_add_into(slot, g) -> bool:
    if isinstance(slot, np.ndarray):
        return _fits(slot, g)
    if isinstance(slot, (GradDict, GradList, GradTuple)) and _is_owned_value(slot):
        if isinstance(slot, dict):
            return isinstance(g, dict) and all(k in slot and (v is None or _can_add_into(slot[k], v))
                                               for k, v in g.items())
        return isinstance(g, (list, tuple)) and not isinstance(g, np.ndarray) and len(g) == len(slot) and all(
            b is None or _can_add_into(a, b) for a, b in zip(slot, g))
    return False


def _add_slot(slots, index, g, owned, zero=None):
    """``slots[index] += g`` for a list or dict of adjoints: ``g`` itself
    into a slot still zeros (``zero``: the set of such keys, or None) when
    it has the zeros' shape and dtype; in place into a slot the buffer owns
    (``owned``: the set of such keys, or None); else by replacement (the
    sum, a new array, is owned from then on)."""
    if isinstance(index, slice):
        positions = range(*index.indices(len(slots)))
        for position, part in zip(positions, g):
            _add_slot(slots, position, part, owned, zero)
        return
    if isinstance(slots, dict) and index not in slots:  # an attribute's first contribution
        slots[index] = g
        if owned is not None:
            owned.discard(index)
        return
    if type(index) is int and index < 0 and not isinstance(slots, dict):
        index += len(slots)
    old = slots[index]
    if zero is not None and index in zero:
        zero.discard(index)
        if _same_kind(old, g):  # zeros + g is g: take it (shared from now on: never written into)
            slots[index] = g
            if owned is not None:
                owned.discard(index)
            return
    if owned is not None and index in owned and _add_into(old, g):
        return
    new = add(old, g)
    slots[index] = new
    if owned is not None:
        if _fresh(new, old, g):
            owned.add(index)
            _mark_owned(new)
        else:
            owned.discard(index)


def _mark_owned(value) -> None:
    """Record that a Grad container made of new arrays owns all its slots."""
    if isinstance(value, (GradTuple, GradList)):
        setattr(value, _OWNED, set(range(len(value))))
        for item in value:
            _mark_owned(item)


def _fresh(new, old, g) -> bool:
    """Whether the sum ``new = add(old, g)`` is made of new arrays only (no
    leaf of either operand: ``None`` stands for zeros and gives the other)."""
    if isinstance(new, np.ndarray):
        return type(new) is np.ndarray and new is not old and new is not g
    if isinstance(new, (GradTuple, GradList)) and isinstance(old, (list, tuple)) and isinstance(g, (list, tuple)):
        return len(new) == len(old) == len(g) and all(map(_fresh, new, old, g))
    return False


def _is_complex(g) -> bool:
    dtype = getattr(g, "dtype", None)
    return dtype.kind == "c" if dtype is not None else isinstance(g, complex)


def add_at(buffer, index, g):
    """``buffer`` (an adjoint that nothing else refers to) plus the adjoint
    ``g`` of the read ``x[index]``: the same as
    ``buffer + grad_of_index(x, index, g)``, without a full-size temporary.

    Example::

        buf = np.zeros((3, 2))
        buf = add_at(buf, 1, np.ones(2))        # buf[1] is now [1., 1.], in place
    """
    if g is None:
        return buffer
    if isinstance(buffer, np.ndarray):
        if buffer.dtype.kind != "c" and _is_complex(g):  # never drop an imaginary part
            buffer = buffer.astype(np.result_type(buffer, g))
        if type(index) is int or is_basic_index(index):
            buffer[index] += g
        else:
            np.add.at(buffer, index, g)
        return buffer
    if isinstance(buffer, GradTuple):
        fields = getattr(buffer, FIELDS, None)
        if fields is not None and type(index) is str and index in fields:  # a NamedTuple's attribute
            index = fields.index(index)
        owned, zero = getattr(buffer, _OWNED, None), getattr(buffer, _ZERO, None)
        if owned is not None and type(index) is int and index in owned and (zero is None or index not in zero) \
                and _add_into(buffer[index], g):
            return buffer
        slots = GradList(buffer)
        owned = set(owned) if owned is not None else None
        zero = set(zero) if zero is not None else None
        _add_slot(slots, index, g, owned, zero)
        out = with_fields(GradTuple(slots), fields)
        for name, keys in ((_OWNED, owned), (_ZERO, zero)):
            if keys is not None:
                setattr(out, name, keys)
        return out
    if isinstance(buffer, (GradList, GradDict)):
        _add_slot(buffer, index, g, getattr(buffer, _OWNED, None), getattr(buffer, _ZERO, None))
        return buffer
    if arrays.library(buffer) is not None:
        return buffer + arrays.grad_of_index(buffer, index, g)
    raise TypeError(f"add_at: cannot accumulate into {type(buffer).__name__}")


def add_matmuls_at(buffer, indices, lefts, right):
    """The loop ``for i, left in zip(indices, lefts): buffer = add_at(buffer,
    i, left @ right)``, with the products done as one matmul where that
    computes the same values: ``lefts`` NumPy arrays of one shape and dtype,
    at least 1-D, and ``right`` a NumPy array of 1 or 2 dimensions (matmul
    then acts on each stacked item alone). Into an array buffer whose
    indexed items have the products' shape, at distinct in-bounds integer
    indices, the products are added at once (a slice for a run of indices);
    otherwise (a list buffer, repeated indices...) each is added in turn by
    ``add_at``, exactly as the loop does. Generated code calls it after a
    backward loop (``hoisted_products``) with the values the loop's left
    operands had; it is run only, never differentiated.

    Example::

        buf = np.zeros((3, 2))
        buf = add_matmuls_at(buf, range(3), [np.ones(4)] * 3, np.ones((4, 2)))   # every row 4.0
    """
    products = None
    if _stackable(lefts, right):  # one matrix product for all rows of all steps (matmul would loop over steps)
        first = lefts[0]
        rows = np.concatenate(lefts) if first.ndim > 1 else np.stack(lefts)  # (the rows of np.stack(lefts))
        products = (rows.reshape(-1, first.shape[-1]) @ right).reshape((len(lefts),) + first.shape[:-1] + right.shape[1:])
    return _add_products(buffer, indices, products, lambda: [left @ right for left in lefts], len(lefts))


def add_left_matmuls_at(buffer, indices, left, rights):
    """``add_matmuls_at`` of the products ``left @ right`` for each of
    ``rights``: the loop ``for i, right in zip(indices, rights): buffer =
    add_at(buffer, i, left @ right)``, the products done as one matmul
    under the same conditions (``left`` of 1 or 2 dimensions, ``rights`` of
    one shape and dtype, at least 1-D).

    Example::

        buf = np.zeros((3, 2))
        buf = add_left_matmuls_at(buf, range(3), np.ones((2, 4)), [np.ones(4)] * 3)   # every row 4.0
    """
    products = None
    if _stackable(rights, left):
        stacked = np.stack(rights)  # (1-D items: each product is item @ left.T; else matmul broadcasts over the steps)
        products = stacked @ (left.T if left.ndim == 2 else left) if stacked.ndim == 2 else left @ stacked
    return _add_products(buffer, indices, products, lambda: [left @ right for right in rights], len(rights))


@returns_fresh(0)
def add_matmul_sums(total, lefts, rights):
    """The loop ``for x, a in zip(lefts, rights): total = total + x.T @ a``,
    the products summed by one matrix product of the steps' rows (the same
    sum, added in another order: rounding may differ in the last bits) when
    ``lefts`` and ``rights`` are 2-D NumPy arrays, each list of one shape and
    dtype, with as many rows as each other; else the loop itself.

    Example::

        total = add_matmul_sums(np.zeros((3, 2)), [np.ones((4, 3))] * 5, [np.ones((4, 2))] * 5)   # all 20.0
    """
    if len(lefts) != len(rights):
        raise ValueError(f"add_matmul_sums: {len(lefts)} left operands for {len(rights)} right ones")
    if _stackable(lefts, rights[0] if rights else None) and _stackable(rights, lefts[0]) and lefts[0].ndim == 2 \
            and rights[0].ndim == 2 and lefts[0].shape[0] == rights[0].shape[0]:
        return total + np.concatenate(lefts).T @ np.concatenate(rights)
    for x, a in zip(lefts, rights):
        total = total + x.T @ a
    return total


def _add_products(buffer, indices, products, one_by_one, count: int):
    """``add_at`` of each product at its index, in order: all at once where
    that is the same (``products`` stacked, or None: ``one_by_one()``)."""
    indices = list(indices)
    if len(indices) != count:
        raise ValueError(f"add_matmuls_at: {len(indices)} indices for {count} products")
    if products is None:
        products = one_by_one()
    elif _adds_at_once(buffer, indices, products):
        return buffer
    for index, product in zip(indices, products):
        buffer = add_at(buffer, index, product)
    return buffer


def _stackable(steps, other) -> bool:
    """Whether each step's matmul with ``other`` is an item of the stacked
    steps' matmul (see add_matmuls_at)."""
    if not steps or type(other) is not np.ndarray or other.ndim not in (1, 2):
        return False
    first = steps[0]
    if type(first) is not np.ndarray or first.ndim < 1:
        return False
    return all(type(a) is np.ndarray and a.shape == first.shape and a.dtype == first.dtype for a in steps)


def _adds_at_once(buffer, indices, products) -> bool:
    """Add ``products[k]`` into ``buffer[indices[k]]`` for all k at once when
    that is the same as one ``add_at`` after another; say whether it was done."""
    if type(buffer) is not np.ndarray or buffer.ndim < 1 or buffer.shape[1:] != products.shape[1:]:
        return False
    if buffer.dtype.kind != "c" and products.dtype.kind == "c":
        return False  # (add_at widens the buffer: never drop an imaginary part)
    if not np.can_cast(products.dtype, buffer.dtype, "same_kind"):
        return False
    if not all(type(i) is int and 0 <= i < buffer.shape[0] for i in indices) or len(set(indices)) != len(indices):
        return False
    first, last = indices[0], indices[-1]
    if all(i == first + k for k, i in enumerate(indices)):
        buffer[first:last + 1] += products
    elif all(i == first - k for k, i in enumerate(indices)):
        buffer[last:first + 1] += products[::-1]
    else:
        buffer[indices] += products
    return True

