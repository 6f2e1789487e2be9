"""Rules of ``runtime.add_at``, so that gradients that accumulate into a
buffer can themselves be differentiated (forward over reverse for
Hessian-vector products, grad of grad).

``add_at(buffer, index, g)`` is ``buffer + grad_of_index(x, index, g)``:
linear in ``buffer`` and ``g``. The tangent accumulates the tangent of ``g``
into the tangent of the buffer, which generated code allocated itself as
well (the tangent of ``zeros_like``, ``grad_of_index`` or ``add_at``); the
adjoint reads neither operand's value, so the in-place write of the primal
sweep changes nothing the backward pass needs.

``add_matmuls_at`` and ``add_left_matmuls_at`` (products of a backward
loop done after it, ``hoisted_products``) are only in code that is run, never differentiated: the
variant of specialised code that is differentiated (``tangent.hvp``) is
generated without them. Their rules refuse, naming the line, when the code is
differentiated anyway (``tangent.grad(df.tangent_specialized_for(x))``).
"""

from .. import runtime
from ..runtime import add_at
from ..runtime.regions import part_of
from . import adjoint, d, tangent_rule
from .domain import NotDifferentiableError


@adjoint(runtime.add_at)
def a_add_at(z, buffer, index, g):
    d[buffer] = d[z]
    d[g] = part_of(d[z], index, g)


@tangent_rule(runtime.add_at)
def t_add_at(z, buffer, index, g):
    d[z] = add_at(d[buffer], index, d[g])


def _run_only(bound) -> None:
    raise NotDifferentiableError(
        "add_matmuls_at / add_matmul_sums (products of a backward loop done after it) are in a gradient specialised to be run, not differentiated again; differentiate "
        "the gradient itself (tangent.hvp(f), tangent.jvp(tangent.grad(f)), tangent.grad(tangent.grad(f))) "
        "rather than the code df.tangent_specialized_for(...) returns")


def _refused(rule):
    rule.constant_refusals = [_run_only]  # (checked when the rule is bound: at every call, constant or not)
    return rule


@adjoint(runtime.add_matmuls_at, runtime.add_left_matmuls_at)
@_refused
def a_add_matmuls_at(z, buffer, indices, lefts, right):
    # (never generated: every operand is differentiable, so that any active one meets the refusal)
    d[buffer] = d[z]
    d[lefts] = d[z]
    d[right] = d[z]


@tangent_rule(runtime.add_matmuls_at, runtime.add_left_matmuls_at)
@_refused
def t_add_matmuls_at(z, buffer, indices, lefts, right):
    d[z] = d[buffer] + d[lefts] + d[right]


@adjoint(runtime.add_matmul_sums)
@_refused
def a_add_matmul_sums(z, total, lefts, rights):
    d[total] = d[z]
    d[lefts] = d[z]
    d[rights] = d[z]


@tangent_rule(runtime.add_matmul_sums)
@_refused
def t_add_matmul_sums(z, total, lefts, rights):
    d[z] = d[total] + d[lefts] + d[rights]
