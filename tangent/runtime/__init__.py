"""The small runtime that generated derivative code calls.

Generated code binds these functions by value (``Session.bind_global``) and
the derivative rules name them as ``runtime.<name>``: everything here is
importable as ``tangent.runtime.<name>`` whichever module below defines it.
Takes and gives plain values (NumPy arrays, numbers, lists, tuples, dicts,
objects); nothing here knows of ASTs or of the transformation.

- ``adjoints``: adjoint containers (``GradTuple``, ``GradList``,
  ``GradDict``), zeros, (un)broadcasting, indexing, finiteness checks;
- ``regions``: saving and undoing writes into containers, and their adjoints;
- ``tangents``: forward mode's tangents, broadcast, in their value's dtype,
  owned where the values are;
- ``accumulation``: indexed contributions added into an adjoint allocated once;
- ``sequences``: derivatives of list and tuple repetition and concatenation;
- ``extrema``: the adjoints of max and min by where the extremum is attained;
- ``arguments``: private copies of arguments a function writes into, and the
  write-back of what it left in them.

The operations named for rule lookup below (``repeat``, ``concat``, ...) stay
in this module: the analysis recognises them by ``__module__ ==
"tangent.runtime"``.
"""

from __future__ import annotations

from .accumulation import add_at, add_left_matmuls_at, add_matmul_sums, add_matmuls_at, buffer_like
from .adjoints import (
    GradDict,
    GradList,
    GradTuple,
    add,
    as_container_grad,
    attribute,
    broadcast_like,
    broadcast_seed,
    check_scalar_output,
    check_seed,
    check_seed_shape,
    check_tangent,
    ensure_finite,
    grad_of_attribute,
    grad_of_index,
    items_grad,
    returns_fresh,
    unbroadcast,
    zeros_like,
)
from .checkpointing import checkpoint, checkpointed, checkpointed_loop, checkpointed_loop_adjoint, snapshots_within
from .regions import (
    MISSING,
    append_grad,
    as_sequence,
    copy_region,
    grad_of_written,
    restore_region,
    split_last,
    zero_region,
)
from .sequences import (
    add_grad,
    add_grad_back,
    add_tangent,
    concat_values,
    mul_grad,
    mul_grad_back,
    part_grad,
    place_grad,
    repeat_grad,
    repeat_values,
)
from .tangents import (
    broadcast_tangent,
    copy_tangent,
    fresh_tangent,
    grad_of_broadcast_tangent,
    sum_tangent,
    tangent_like,
    view_tangent,
)

# ------------------------------------------- list/tuple repetition and concatenation
# These functions name the operations for rule lookup (kinds.classify_sequence_operators
# gives ``[a] * 3`` the callee ``repeat``); the generated code keeps the operator.

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


__all__ = [
    "GradDict", "GradList", "GradTuple", "MISSING", "add", "add_at", "add_left_matmuls_at", "add_matmul_sums", "add_matmuls_at", "add_grad", "buffer_like", "add_grad_back", "add_or_concat",
    "add_tangent", "append_grad", "as_container_grad", "as_sequence", "attribute", "broadcast_like",
    "broadcast_seed", "broadcast_tangent", "check_scalar_output", "check_seed", "check_seed_shape", "check_tangent", "checkpoint", "checkpointed", "checkpointed_loop",
    "checkpointed_loop_adjoint", "snapshots_within", "concat", "concat_values", "copy_region", "copy_tangent",
    "ensure_finite", "fresh_tangent", "grad_of_attribute", "grad_of_broadcast_tangent", "sum_tangent", "grad_of_index",
    "grad_of_written", "items_grad", "mul_grad", "mul_grad_back", "mul_or_repeat", "part_grad", "place_grad",
    "repeat", "repeat_grad", "repeat_right", "repeat_values", "restore_region", "returns_fresh", "split_last", "tangent_like",
    "unbroadcast", "view_tangent", "zero_region", "zeros_like",
]
