"""A factor constant along the axes of the sums that read a product, taken
out of them, in specialised code.

Takes a generated FunctionDef and its ``Specialization``; gives it (changed
in place) with each top-level ``t = a / f`` (or ``a * f``, ``f * a``) whose
every read is a factor of a sum ``(t * g).sum(axis=k, keepdims=True)`` (or
``t.sum(...)``), where ``f`` has size one along every axis ``k`` the sums
reduce, written ``t = a`` and each such sum ``(t * g).sum(...) / f``: one
array operation on ``t``'s full shape fewer (a Gaussian mixture's gradient
divides its (points, components, dimensions) adjoint by the deviations,
which do not vary along the points it sums over, then sums it twice).

Sound because ``f`` does not vary along the reduced axes, so each sum of
``a / f * g`` is the sum of ``a * g`` divided by ``f`` (the same value but
for rounding, the terms added in the same order); with ``keepdims=True``
the sum keeps ``f``'s broadcast shape. Only where ``a`` is certainly a
float64 (or complex128) array (``ValueFacts.wide``: the sums are done in
the precision they were done in before), ``t`` is assigned once and ``f``
holds one value all along (``write_free`` code: nothing writes into an
array), and every shape involved is known.
"""

from __future__ import annotations

import ast

from . import ir
from .astwalk import walk_list
from .value_facts import Specialization, ValueFacts

__all__ = ["reduce_before_factors"]


def reduce_before_factors(fdef: ast.FunctionDef, special: Specialization) -> ast.FunctionDef:
    """See the module docstring."""
    facts = ValueFacts(fdef, special)
    if not facts.write_free:
        return fdef
    for stmt in fdef.body:
        found = _factored(stmt, facts)
        if found is None:
            continue
        name, kept, factor, op = found
        sums = _sums_reading(fdef, name, facts, _constant_axes(facts.shape(factor), facts.shape(stmt.value)))
        if sums is None:
            continue
        stmt.value = kept
        for call, parent, field, index in sums:
            divided = ast.BinOp(left=call, op=op(), right=_copy(factor))
            if index is None:
                setattr(parent, field, divided)
            else:
                getattr(parent, field)[index] = divided
        facts = ValueFacts(fdef, special)
    return fdef


def _factored(stmt, facts: ValueFacts):
    """(t, a, f, operator) of ``t = a / f``, ``t = a * f`` or ``f * a`` with
    ``f`` a name of one value all along, or None."""
    if not (isinstance(stmt, ast.Assign) and ir.get(stmt, "pure", False) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name) and stmt.targets[0].id in facts.once
            and isinstance(stmt.value, ast.BinOp) and isinstance(stmt.value.op, (ast.Div, ast.Mult))):
        return None
    value = stmt.value
    pairs = [(value.left, value.right)] if isinstance(value.op, ast.Div) else [(value.left, value.right),
                                                                               (value.right, value.left)]
    for kept, factor in pairs:
        if isinstance(factor, ast.Name) and factor.id in facts.unchanged and facts.wide(kept) \
                and facts.shape(factor) is not None and facts.shape(kept) == facts.shape(value):
            return stmt.targets[0].id, kept, factor, type(value.op)
    return None


def _constant_axes(factor_shape, shape) -> frozenset:
    """The axes of ``shape`` along which a factor of ``factor_shape`` broadcasts."""
    if factor_shape is None or shape is None or len(factor_shape) > len(shape):
        return frozenset()
    padded = (1,) * (len(shape) - len(factor_shape)) + tuple(factor_shape)
    return frozenset(i for i, n in enumerate(padded) if n == 1)


def _sums_reading(fdef, name: str, facts: ValueFacts, axes: frozenset):
    """[(the sum call, its parent, field, index)] of every read of ``name``
    when each is a factor of a ``.sum(axis=..., keepdims=True)`` over
    ``axes`` only, else None."""
    if not axes:
        return None
    found = []
    for parent in ast.walk(fdef):  # (every place a node is at: generated trees may share nodes)
        for field, value in ast.iter_fields(parent):
            for index, child in (enumerate(value) if isinstance(value, list) else [(None, value)]):
                if _factor_of_sum(child, name, facts, axes) is not None:
                    found.append((child, parent, field, index))
    loads = sum(1 for n in ast.walk(fdef) if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load))
    return found if found and loads == len(found) else None  # (each sum reads it once)


def _factor_of_sum(node, name: str, facts: ValueFacts, axes: frozenset):
    """The Name node of ``name`` when ``node`` is ``x.sum(axis=k,
    keepdims=True)`` with ``x`` that name, or a product of it (once) with
    other factors, and the axes ``k`` among ``axes``; else None."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "sum"
            and not node.args):
        return None
    keywords = {k.arg: k.value for k in node.keywords}
    receiver = node.func.value
    shape = facts.shape(receiver)
    if set(keywords) != {"axis", "keepdims"} or not (isinstance(keywords["keepdims"], ast.Constant)
                                                    and keywords["keepdims"].value is True) or shape is None:
        return None
    reduced = _axes_of(keywords["axis"], len(shape))
    if reduced is None or not reduced <= axes:
        return None
    factors, chain = [], receiver
    while isinstance(chain, ast.BinOp) and isinstance(chain.op, ast.Mult):
        factors.append(chain.right)
        chain = chain.left
    factors.append(chain)
    mine = [f for f in factors if isinstance(f, ast.Name) and f.id == name]
    if len(mine) != 1 or any(name in {n.id for n in walk_list(f) if isinstance(n, ast.Name)}
                             for f in factors if f is not mine[0]):
        return None
    return mine[0]


def _axes_of(node, ndim: int) -> frozenset | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        values = [node.value]
    elif isinstance(node, ast.Tuple) and all(isinstance(e, ast.Constant) and type(e.value) is int for e in node.elts):
        values = [e.value for e in node.elts]
    else:
        return None
    if any(not -ndim <= v < ndim for v in values):
        return None
    return frozenset(v % ndim for v in values)


def _copy(node: ast.Name) -> ast.Name:
    return ast.Name(id=node.id, ctx=ast.Load())
