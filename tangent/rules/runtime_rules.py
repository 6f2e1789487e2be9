"""Rules for Tangent's own runtime, so that generated code can itself be
differentiated (forward over reverse for Hessian-vector products, grad of
grad, ...)."""

from .. import runtime
from ..runtime import add, as_sequence, grad_of_attribute, grad_of_index, unbroadcast
from ..surgery import stop_gradient
from . import adjoint, d, nondifferentiable, tangent_rule


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
