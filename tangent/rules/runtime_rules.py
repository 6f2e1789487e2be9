"""Rules for Tangent's own runtime, so that generated code can itself be
differentiated (forward over reverse for Hessian-vector products, grad of
grad, ...)."""

import numpy as np

from .. import runtime
from ..runtime import (
    add,
    append_grad,
    as_sequence,
    broadcast_like,
    broadcast_tangent,
    copy_region,
    copy_tangent,
    grad_of_attribute,
    grad_of_broadcast_tangent,
    grad_of_index,
    grad_of_written,
    split_last,
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
