"""Rules for Tangent's own runtime, so that generated code can itself be
differentiated (forward over reverse for Hessian-vector products, grad of
grad, ...)."""

import numpy as np

from .. import runtime
from ..runtime import (
    add,
    add_grad,
    add_grad_back,
    add_tangent,
    append_grad,
    as_sequence,
    broadcast_like,
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
    repeat_grad,
    repeat_values,
    split_last,
    tangent_like,
    unbroadcast,
    zero_region,
    zeros_like,
)
from ..surgery import stop_gradient
from . import adjoint, d, nondifferentiable, tangent_rule

# ------------------------------------------------------------------ helpers


def place_written(dz, g, index, value):
    """Adjoint of ``g`` in ``grad_of_written(g, index, value)`` given the
    adjoint ``dz`` of its result (shaped like ``value``): zeros shaped like
    ``g`` with ``dz``, broadcast to the region, written at ``index``. As in
    ``grad_of_written``, a position repeated in an integer index keeps the
    last write only."""
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


@adjoint(runtime.unbroadcast)
def a_unbroadcast(z, g, like):
    d[g] = runtime.broadcast_like(d[z], g)


@tangent_rule(runtime.unbroadcast)
def t_unbroadcast(z, g, like):
    d[z] = unbroadcast(d[g], like)


@adjoint(runtime.grad_of_index)
def a_grad_of_index(z, x, index, g):
    d[g] = d[z][index]


@tangent_rule(runtime.grad_of_index)
def t_grad_of_index(z, x, index, g):
    d[z] = grad_of_index(x, index, d[g])


@adjoint(runtime.broadcast_like)
def a_broadcast_like(z, g, like):
    d[g] = unbroadcast(d[z], g)


@tangent_rule(runtime.broadcast_like)
def t_broadcast_like(z, g, like):
    d[z] = broadcast_like(d[g], like)


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


nondifferentiable(runtime.zeros_like, runtime.check_scalar_output, runtime.ensure_finite)

nondifferentiable(stop_gradient)


@adjoint(runtime.tangent_like)
def a_tangent_like(z, t, value):
    # a dtype conversion: its adjoint converts back to t's dtype
    d[t] = tangent_like(d[z], t)


@tangent_rule(runtime.tangent_like)
def t_tangent_like(z, t, value):
    d[z] = tangent_like(d[t], value)


@adjoint(runtime.as_sequence)
def a_as_sequence(z, iterable):
    d[iterable] = d[z]


@tangent_rule(runtime.as_sequence)
def t_as_sequence(z, iterable):
    d[z] = as_sequence(d[iterable])


@adjoint(runtime.attribute)
def a_attribute(z, obj, name):
    d[obj] = grad_of_attribute(obj, name, d[z])


@tangent_rule(runtime.attribute)
def t_attribute(z, obj, name):
    d[z] = d[obj][name]


@adjoint(runtime.copy_region)
def a_copy_region(z, x, index):
    d[x] = grad_of_index(x, index, d[z])


@tangent_rule(runtime.copy_region)
def t_copy_region(z, x, index):
    d[z] = copy_region(d[x], index)


@adjoint(runtime.grad_of_attribute)
def a_grad_of_attribute(z, obj, name, g):
    d[g] = d[z][name]


@tangent_rule(runtime.grad_of_attribute)
def t_grad_of_attribute(z, obj, name, g):
    d[z] = grad_of_attribute(obj, name, d[g])


# ---------------------------------------- writes into containers and lists
# The adjoint code of ``x[index] = value`` and of list appends and pops.


@adjoint(runtime.zero_region)
def a_zero_region(z, g, index, like=None):
    d[g] = zero_region(d[z], index, like)


@tangent_rule(runtime.zero_region)
def t_zero_region(z, g, index, like=None):
    d[z] = zero_region(d[g], index, like)


@adjoint(runtime.grad_of_written)
def a_grad_of_written(z, g, index, value):
    d[g] = place_written(d[z], g, index, value)


@tangent_rule(runtime.grad_of_written)
def t_grad_of_written(z, g, index, value):
    d[z] = grad_of_written(d[g], index, value)


@adjoint(place_written)
def a_place_written(z, dz, g, index, value):
    d[dz] = grad_of_written(d[z], index, value)


@tangent_rule(place_written)
def t_place_written(z, dz, g, index, value):
    d[z] = place_written(d[dz], g, index, value)


@adjoint(runtime.split_last)
def a_split_last(z, g):
    d[g] = join_last(d[z], g)


@tangent_rule(runtime.split_last)
def t_split_last(z, g):
    d[z] = split_last(d[g])


@adjoint(join_last)
def a_join_last(z, dparts, g):
    d[dparts] = split_last(d[z])


@tangent_rule(join_last)
def t_join_last(z, dparts, g):
    d[z] = join_last(d[dparts], g)


@adjoint(runtime.append_grad)
def a_append_grad(z, g, item):
    d[g] = split_last(d[z])[0]
    d[item] = split_last(d[z])[1]


@tangent_rule(runtime.append_grad)
def t_append_grad(z, g, item):
    d[z] = append_grad(d[g], d[item])


@adjoint(runtime.broadcast_tangent)
def a_broadcast_tangent(z, t, like, at_end=False):
    d[t] = grad_of_broadcast_tangent(d[z], t, at_end)


@tangent_rule(runtime.broadcast_tangent)
def t_broadcast_tangent(z, t, like, at_end=False):
    d[z] = broadcast_tangent(d[t], like, at_end)


@adjoint(runtime.grad_of_broadcast_tangent)
def a_grad_of_broadcast_tangent(z, g, t, at_end=False):
    d[g] = broadcast_tangent(d[z], g, at_end)


@tangent_rule(runtime.grad_of_broadcast_tangent)
def t_grad_of_broadcast_tangent(z, g, t, at_end=False):
    d[z] = grad_of_broadcast_tangent(d[g], t, at_end)


# What forward mode adds so that it never writes into a tangent it does not
# own: the identity on values.


@adjoint(runtime.copy_tangent)
def a_copy_tangent(z, t):
    d[t] = d[z]


@tangent_rule(runtime.copy_tangent)
def t_copy_tangent(z, t):
    d[z] = copy_tangent(d[t])


@adjoint(runtime.fresh_tangent)
def a_fresh_tangent(z, t, *sources):
    d[t] = d[z]


@tangent_rule(runtime.fresh_tangent)
def t_fresh_tangent(z, t, *sources):
    d[z] = copy_tangent(d[t])


@adjoint(runtime.view_tangent)
def a_view_tangent(z, t, value, *pairs):
    d[t] = d[z]


@tangent_rule(runtime.view_tangent)
def t_view_tangent(z, t, value, *pairs):
    d[z] = copy_tangent(d[t])


nondifferentiable(object.__new__)


# ------------------------------- list/tuple repetition and concatenation (``*``, ``+``)
@adjoint(runtime.repeat)
def a_repeat(z, seq, times):
    d[seq] = repeat_grad(d[z], seq, times)


@tangent_rule(runtime.repeat)
def t_repeat(z, seq, times):
    d[z] = repeat_values(d[seq], times)


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
@adjoint(runtime.repeat_grad)
def a_repeat_grad(z, g, seq, times):
    d[g] = repeat_values(d[z], times)


@tangent_rule(runtime.repeat_grad)
def t_repeat_grad(z, g, seq, times):
    d[z] = repeat_grad(d[g], seq, times)


@adjoint(runtime.repeat_values)
def a_repeat_values(z, values, times):
    d[values] = repeat_grad(d[z], values, times)


@tangent_rule(runtime.repeat_values)
def t_repeat_values(z, values, times):
    d[z] = repeat_values(d[values], times)


@adjoint(runtime.part_grad)
def a_part_grad(z, g, like, from_end=False):
    d[g] = place_grad(d[z], g, like, from_end)


@tangent_rule(runtime.part_grad)
def t_part_grad(z, g, like, from_end=False):
    d[z] = part_grad(d[g], like, from_end)


@adjoint(runtime.place_grad)
def a_place_grad(z, part, g, like, from_end=False):
    d[part] = part_grad(d[z], like, from_end)


@tangent_rule(runtime.place_grad)
def t_place_grad(z, part, g, like, from_end=False):
    d[z] = place_grad(d[part], g, like, from_end)


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


@adjoint(runtime.add_grad)
def a_add_grad(z, g, a, b, second=False):
    d[g] = add_grad_back(d[z], g, a, b, second)


@tangent_rule(runtime.add_grad)
def t_add_grad(z, g, a, b, second=False):
    d[z] = add_grad(d[g], a, b, second)


@adjoint(runtime.add_tangent)
def a_add_tangent(z, da, db, a, b):
    d[da] = add_grad(d[z], a, b, False)
    d[db] = add_grad(d[z], a, b, True)


@tangent_rule(runtime.add_tangent)
def t_add_tangent(z, da, db, a, b):
    d[z] = add_tangent(d[da], d[db], a, b)
