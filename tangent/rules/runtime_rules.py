"""Rules for Tangent's own runtime, so that generated code can itself be
differentiated (forward over reverse for Hessian-vector products, grad of
grad, ...). Helpers linear in their first argument are declared with their
transpose (``linear``); the others have written-out rules."""

import numpy as np

from .. import runtime
from ..runtime import (
    GradDict,
    add,
    add_grad,
    add_grad_back,
    add_tangent,
    append_grad,
    broadcast_like,
    broadcast_seed,
    broadcast_tangent,
    concat_values,
    copy_region,
    copy_tangent,
    grad_of_attribute,
    grad_of_broadcast_tangent,
    grad_of_index,
    grad_of_written,
    mul_grad,
    mul_grad_back,
    part_grad,
    place_grad,
    regions,
    repeat_grad,
    repeat_values,
    split_last,
    tangent_like,
    unbroadcast,
    zero_region,
    zeros_like,
)
from ..runtime.regions import part_of, place_part, sequence_grad, sequence_tangent
from ..surgery import stop_gradient
from . import adjoint, d, linear, nondifferentiable, tangent_rule

# ------------------------------------------------------------------ helpers


def place_written(dz, g, index, value):
    """Adjoint of ``g`` in ``grad_of_written(g, index, value)`` given the
    adjoint ``dz`` of its result (shaped like ``value``): zeros shaped like
    ``g`` with ``dz``, broadcast to the region, written at ``index``. As in
    ``grad_of_written``, a position repeated in an integer index keeps the
    last write only."""
    if isinstance(g, dict) and index not in g:
        return GradDict()  # a sparse adjoint without the key: grad_of_written gave zeros
    region = broadcast_like(dz, g[index])
    if isinstance(g, np.ndarray):
        out = np.zeros(g.shape, dtype=np.result_type(g, region, 0.0))
        out[index] = region
        return out
    return grad_of_index(g, index, region)


def join_last(dparts, g):
    """Adjoint of ``g`` in ``split_last(g)`` given the adjoints ``dparts`` of
    the pair it returns (None meaning zero)."""
    front, last = dparts
    if front is None:
        front = [zeros_like(v) for v in g[:-1]]
    return append_grad(front, zeros_like(g[-1]) if last is None else last)


# -------------------------------------------------------------------- rules


@linear(runtime.unbroadcast)
def l_unbroadcast(z, g, like):
    return unbroadcast(g, like), runtime.broadcast_like(d[z], g)


@adjoint(runtime.grad_of_index)
def a_grad_of_index(z, x, index, g):
    # (a dict adjoint may be sparse: a key nobody's adjoint reached reads as zeros)
    d[g] = part_of(d[z], index, g)


@tangent_rule(runtime.grad_of_index)
def t_grad_of_index(z, x, index, g):
    d[z] = grad_of_index(x, index, d[g])


@linear(runtime.broadcast_like)
def l_broadcast_like(z, g, like):
    return broadcast_like(g, like), unbroadcast(d[z], g)


@adjoint(runtime.add)
def a_add(z, a, b):
    d[a] = d[z]
    d[b] = d[z]


@tangent_rule(runtime.add)
def t_add(z, a, b):
    d[z] = add(d[a], d[b])


@tangent_rule(list.pop)
def t_pop(z, lst, index=-1):
    d[z] = d[lst].pop(index)


nondifferentiable(runtime.zeros_like, runtime.check_scalar_output, runtime.check_seed, runtime.check_seed_shape,
                  runtime.check_tangent,
                  runtime.ensure_finite)

nondifferentiable(stop_gradient)


@linear(runtime.broadcast_seed)
def l_broadcast_seed(z, seed, result):
    return broadcast_seed(seed, result), unbroadcast(d[z], seed)


@linear(runtime.tangent_like)
def l_tangent_like(z, t, value):
    return tangent_like(t, value), tangent_like(d[z], t)


# not linear: the sequence of a dict is its keys, whose tangents are zero
@adjoint(runtime.as_sequence)
def a_as_sequence(z, iterable):
    d[iterable] = sequence_grad(d[z], iterable)


@tangent_rule(runtime.as_sequence)
def t_as_sequence(z, iterable):
    d[z] = sequence_tangent(d[iterable], iterable)


@linear(regions.sequence_tangent)
def l_sequence_tangent(z, t, iterable):
    return sequence_tangent(t, iterable), sequence_grad(d[z], iterable)


@linear(regions.sequence_grad)
def l_sequence_grad(z, g, iterable):
    return sequence_grad(g, iterable), sequence_grad(d[z], iterable)


@adjoint(runtime.attribute)
def a_attribute(z, obj, name):
    d[obj] = grad_of_attribute(obj, name, d[z])


@tangent_rule(runtime.attribute)
def t_attribute(z, obj, name):
    d[z] = d[obj][name]


@linear(runtime.copy_region)
def l_copy_region(z, x, index):
    return copy_region(x, index), grad_of_index(x, index, d[z])


@adjoint(runtime.grad_of_attribute)
def a_grad_of_attribute(z, obj, name, g):
    d[g] = part_of(d[z], name, g)


@linear(regions.part_of, transpose=place_part)
def l_part_of(z, g, key, like):
    return part_of(g, key, like)


@linear(regions.place_part, transpose=lambda ddz, dz, g, key, like=None: part_of(ddz, key, dz))
def l_place_part(z, dz, g, key, like=None):
    return place_part(dz, g, key, like)


@tangent_rule(runtime.grad_of_attribute)
def t_grad_of_attribute(z, obj, name, g):
    d[z] = grad_of_attribute(obj, name, d[g])


# ---------------------------------------- writes into containers and lists
# The adjoint code of ``x[index] = value`` and of list appends and pops.


@linear(runtime.zero_region)
def l_zero_region(z, g, index, like=None):
    return zero_region(g, index, like), zero_region(d[z], index, like)


@linear(runtime.grad_of_written, transpose=place_written)
def l_grad_of_written(z, g, index, value):
    return grad_of_written(g, index, value)


@linear(runtime.split_last, transpose=join_last)
def l_split_last(z, g):
    return split_last(g)


@adjoint(runtime.append_grad)
def a_append_grad(z, g, item):
    d[g] = split_last(d[z])[0]
    d[item] = split_last(d[z])[1]


@tangent_rule(runtime.append_grad)
def t_append_grad(z, g, item):
    d[z] = append_grad(d[g], d[item])


@linear(runtime.broadcast_tangent)
def l_broadcast_tangent(z, t, like, at_end=False):
    return broadcast_tangent(t, like, at_end), grad_of_broadcast_tangent(d[z], t, at_end)


@linear(runtime.grad_of_broadcast_tangent)
def l_grad_of_broadcast_tangent(z, g, t, at_end=False):
    return grad_of_broadcast_tangent(g, t, at_end), broadcast_tangent(d[z], g, at_end)


# What forward mode adds so that it never writes into a tangent it does not
# own: the identity on values.


@linear(runtime.copy_tangent)
def l_copy_tangent(z, t):
    return copy_tangent(t), d[z]


@linear(runtime.fresh_tangent)
def l_fresh_tangent(z, t, *sources):
    return copy_tangent(t), d[z]


@linear(runtime.view_tangent)
def l_view_tangent(z, t, value, *pairs):
    return copy_tangent(t), d[z]


nondifferentiable(object.__new__)


# ------------------------------- list/tuple repetition and concatenation (``*``, ``+``)
@linear(runtime.repeat)
def l_repeat(z, seq, times):
    return repeat_values(seq, times), repeat_grad(d[z], seq, times)


@adjoint(runtime.repeat_right)
def a_repeat_right(z, times, seq):
    d[seq] = repeat_grad(d[z], seq, times)


@tangent_rule(runtime.repeat_right)
def t_repeat_right(z, times, seq):
    d[z] = repeat_values(d[seq], times)


@adjoint(runtime.concat)
def a_concat(z, a, b):
    d[a] = part_grad(d[z], a, False)
    d[b] = part_grad(d[z], b, True)


@tangent_rule(runtime.concat)
def t_concat(z, a, b):
    d[z] = concat_values(d[a], d[b])


@adjoint(runtime.mul_or_repeat)
def a_mul_or_repeat(z, x1, x2):
    d[x1] = mul_grad(d[z], x1, x2)
    d[x2] = mul_grad(d[z], x2, x1)


@tangent_rule(runtime.mul_or_repeat)
def t_mul_or_repeat(z, x1, x2):
    # tangents of lists are lists: ``*`` repeats them as it repeats the values
    d[z] = d[x1] * x2 + x1 * d[x2]


@adjoint(runtime.add_or_concat)
def a_add_or_concat(z, x1, x2):
    d[x1] = add_grad(d[z], x1, x2, False)
    d[x2] = add_grad(d[z], x1, x2, True)


@tangent_rule(runtime.add_or_concat)
def t_add_or_concat(z, x1, x2):
    d[z] = add_tangent(d[x1], d[x2], x1, x2)


# the helpers the adjoints above call, for derivatives of generated code
@linear(runtime.repeat_grad)
def l_repeat_grad(z, g, seq, times):
    return repeat_grad(g, seq, times), repeat_values(d[z], times)


@linear(runtime.repeat_values)
def l_repeat_values(z, values, times):
    return repeat_values(values, times), repeat_grad(d[z], values, times)


@linear(runtime.part_grad)
def l_part_grad(z, g, like, from_end=False):
    return part_grad(g, like, from_end), place_grad(d[z], g, like, from_end)


@linear(runtime.place_grad)
def l_place_grad(z, part, g, like, from_end=False):
    return place_grad(part, g, like, from_end), part_grad(d[z], like, from_end)


@adjoint(runtime.concat_values)
def a_concat_values(z, a, b):
    d[a] = part_grad(d[z], a, False)
    d[b] = part_grad(d[z], b, True)


@tangent_rule(runtime.concat_values)
def t_concat_values(z, a, b):
    d[z] = concat_values(d[a], d[b])


@adjoint(runtime.mul_grad)
def a_mul_grad(z, g, x, other):
    d[g] = mul_grad_back(d[z], g, x, other, False)
    d[other] = mul_grad_back(d[z], g, x, other, True)


@tangent_rule(runtime.mul_grad)
def t_mul_grad(z, g, x, other):
    d[z] = mul_grad(d[g], x, other) + mul_grad(g, x, d[other])


@linear(runtime.add_grad)
def l_add_grad(z, g, a, b, second=False):
    return add_grad(g, a, b, second), add_grad_back(d[z], g, a, b, second)


@adjoint(runtime.add_tangent)
def a_add_tangent(z, da, db, a, b):
    d[da] = add_grad(d[z], a, b, False)
    d[db] = add_grad(d[z], a, b, True)


@tangent_rule(runtime.add_tangent)
def t_add_tangent(z, da, db, a, b):
    d[z] = add_tangent(d[da], d[db], a, b)
