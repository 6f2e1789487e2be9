"""Forward-mode rules of the checkpointing drivers (tangent/runtime/
checkpointing.py), so that a gradient with checkpointed loops can itself be
differentiated in forward mode (``tangent.hvp``): the tangents are computed
by the same binomial schedule run on (value, tangent) pairs."""

from .. import runtime
from ..runtime.checkpointing import (
    checkpointed_loop_adjoint_tangent,
    checkpointed_loop_tangent,
    checkpointed_while,
    checkpointed_while_tangent,
)
from . import d, tangent_rule


@tangent_rule(runtime.checkpointed_loop)
def t_checkpointed_loop(z, step, values, snapshots, carried, readonly):
    d[z] = checkpointed_loop_tangent(step, values, snapshots, carried, readonly, d[carried], d[readonly])


@tangent_rule(runtime.checkpointed_loop_adjoint)
def t_checkpointed_loop_adjoint(z, record, fwd, bwd, positions, seeds):
    d[z] = checkpointed_loop_adjoint_tangent(record, d[record], fwd, bwd, positions, seeds, d[seeds])


@tangent_rule(checkpointed_while)
def t_checkpointed_while(z, step, condition, snapshots, carried, readonly):
    d[z] = checkpointed_while_tangent(step, condition, snapshots, carried, readonly, d[carried], d[readonly])
