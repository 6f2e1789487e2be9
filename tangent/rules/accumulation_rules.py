"""Rules of ``runtime.add_at``, so that gradients that accumulate into a
buffer can themselves be differentiated (forward over reverse for
Hessian-vector products, grad of grad).

``add_at(buffer, index, g)`` is ``buffer + grad_of_index(x, index, g)``:
linear in ``buffer`` and ``g``. The tangent accumulates the tangent of ``g``
into the tangent of the buffer, which generated code allocated itself as
well (the tangent of ``zeros_like``, ``grad_of_index`` or ``add_at``); the
adjoint reads neither operand's value, so the in-place write of the primal
sweep changes nothing the backward pass needs.
"""

from .. import runtime
from ..runtime import add_at
from ..runtime.regions import part_of
from . import adjoint, d, tangent_rule


@adjoint(runtime.add_at)
def a_add_at(z, buffer, index, g):
    d[buffer] = d[z]
    d[g] = part_of(d[z], index, g)


@tangent_rule(runtime.add_at)
def t_add_at(z, buffer, index, g):
    d[z] = add_at(d[buffer], index, d[g])
