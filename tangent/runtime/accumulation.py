"""Accumulating indexed contributions into an adjoint allocated once.

Takes an adjoint *buffer*, an index and the contribution of one read
``x[index]`` (or ``obj.name``); gives the buffer with the contribution added
there, in O(size of the contribution): a NumPy array buffer is added into in
place (``np.add.at`` for indices that may repeat), a list or dict buffer has
the one slot replaced by the slot plus the contribution (the slot's old
value and the contribution are never written into: either may be shared).

Assumes, and generated code guarantees (``adjoints.BUFFER``): the buffer is
an adjoint that generated code allocated itself (``zeros_like(x)``,
``grad_of_index(x, ...)``, ``grad_of_attribute(obj, ...)`` or an earlier
``add_at``) and that no other variable, argument, seed or returned value
refers to. A tuple buffer (immutable) and an array of another library are
returned as a new value instead: callers always use the returned value.
"""

from __future__ import annotations

import numpy as np

from . import arrays
from .adjoints import GradDict, GradList, GradTuple, add, is_basic_index


def _add_slot(slots, index, g):
    """``slots[index] += g`` for a list or dict of adjoints, by replacement."""
    if isinstance(index, slice):
        positions = range(*index.indices(len(slots)))
        for position, part in zip(positions, g):
            slots[position] = add(slots[position], part)
        return
    if isinstance(slots, dict) and index not in slots:  # an attribute's first contribution
        slots[index] = g
    else:
        slots[index] = add(slots[index], g)


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
        slots = GradList(buffer)
        _add_slot(slots, index, g)
        return GradTuple(slots)
    if isinstance(buffer, (GradList, GradDict)):
        _add_slot(buffer, index, g)
        return buffer
    if arrays.library(buffer) is not None:
        return buffer + arrays.grad_of_index(buffer, index, g)
    raise TypeError(f"add_at: cannot accumulate into {type(buffer).__name__}")
