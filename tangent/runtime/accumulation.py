"""Accumulating indexed contributions into an adjoint allocated once.

Takes an adjoint *buffer*, an index and the contribution of one read
``x[index]`` (or ``obj.name``); gives the buffer with the contribution added
there, in O(size of the contribution): a NumPy array buffer is added into in
place (``np.add.at`` for indices that may repeat); a list or dict buffer has
the slot added into in place when the buffer *owns* it (its value, an array
or a container of them, was allocated here: by ``buffer_like`` or by an
earlier sum for that slot, and never handed out), and otherwise replaced by
the slot plus the contribution (a slot's value that the buffer does not own,
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
from .adjoints import GradDict, GradList, GradTuple, add, is_basic_index, zeros_like

_OWNED = "_tangent_owned"  # attribute of a Grad container: the keys of the slots it owns


def buffer_like(x):
    """A zero adjoint of ``x`` that owns its leaves: ``zeros_like(x)``
    whose lists, dicts and tuples (``Grad*``) record that every slot was
    allocated here, so that ``add_at`` may add into the slots in place.

    Example::

        buf = buffer_like([np.ones(2), np.ones(3)])
        buf = add_at(buf, 1, np.ones(3))   # buf[1] += 1 in place, no new array
    """
    if isinstance(x, (list, tuple, dict)) and not isinstance(x, np.ndarray):
        items = x.items() if isinstance(x, dict) else enumerate(x)
        slots = {k: buffer_like(v) for k, v in items}
        if isinstance(x, dict):
            out = GradDict(slots)
        else:
            out = (GradTuple if isinstance(x, tuple) else GradList)(slots[k] for k in range(len(x)))
        setattr(out, _OWNED, {k for k, v in slots.items() if _is_owned_value(v)})
        return out
    out = zeros_like(x)
    if isinstance(out, (GradDict, GradList, GradTuple)):  # an object's attributes
        setattr(out, _OWNED, {k for k, v in (out.items() if isinstance(out, dict) else enumerate(out))
                              if isinstance(v, np.ndarray)})
    return out


def _is_owned_value(v) -> bool:
    """A value ``buffer_like`` made that the slot holding it owns whole."""
    if isinstance(v, np.ndarray):
        return True
    if isinstance(v, (GradDict, GradList, GradTuple)):
        owned = getattr(v, _OWNED, ())
        return len(owned) == len(v)
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


def _add_slot(slots, index, g, owned):
    """``slots[index] += g`` for a list or dict of adjoints: in place into a
    slot the buffer owns (``owned``: the set of such keys, or None), else
    by replacement (the sum, a new array, is owned from then on)."""
    if isinstance(index, slice):
        positions = range(*index.indices(len(slots)))
        for position, part in zip(positions, g):
            _add_slot(slots, position, part, owned)
        return
    if isinstance(slots, dict) and index not in slots:  # an attribute's first contribution
        slots[index] = g
        if owned is not None:
            owned.discard(index)
        return
    old = slots[index]
    if owned is not None and index in owned and _add_into(old, g):
        return
    new = add(old, g)
    slots[index] = new
    if owned is not None:
        if isinstance(new, np.ndarray) and new is not old and new is not g:
            owned.add(index)
        else:
            owned.discard(index)


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
        owned = getattr(buffer, _OWNED, None)
        if owned is not None and type(index) is int and index in owned and _add_into(buffer[index], g):
            return buffer
        slots = GradList(buffer)
        owned = set(owned) if owned is not None else None
        _add_slot(slots, index, g, owned)
        out = GradTuple(slots)
        if owned is not None:
            setattr(out, _OWNED, owned)
        return out
    if isinstance(buffer, (GradList, GradDict)):
        _add_slot(buffer, index, g, getattr(buffer, _OWNED, None))
        return buffer
    if arrays.library(buffer) is not None:
        return buffer + arrays.grad_of_index(buffer, index, g)
    raise TypeError(f"add_at: cannot accumulate into {type(buffer).__name__}")
