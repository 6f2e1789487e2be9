"""Assignments whose values reach nothing but their own updates.

Takes: a generated FunctionDef, its exact ``name_counts.NameCounts`` and a
predicate saying whether an assignment may have side effects.

Gives: ``self_updates``, the ids of the assignments ``v = e`` to each name
``v`` that is assigned only by such single-target assignments (not a
parameter, nor a loop or unpacking target), none of them with side effects,
and read only inside their own values (``dx = dx + e``). Whatever ``v``
holds flows only into ``v`` again and never out, so all of them can go:
forward mode over a gradient computes the gradient's own accumulation this
way, read by nothing once only its tangent is returned. An indexed
adjoint's buffer counts too: ``v = add_at(v, i, g)`` (Tangent's runtime)
writes into ``v``'s value and the slots it allocated only, never into ``g``
or a slot it did not allocate (runtime/accumulation.py), so when every other
assignment to ``v`` allocates a fresh buffer (``grad_of_index``,
``grad_of_attribute``, ``buffer_like``, ``zeros_like``) nothing else can
see those writes, and the whole buffer goes (the gradient's own parameters'
adjoint, in forward mode over a gradient).

Assumes: Python scoping of a plain function: the function has no nested
function, lambda or class (which could read ``v`` from its own scope), and
no ``global``, ``nonlocal`` or ``del``.
"""

from __future__ import annotations

import ast
from typing import Callable

from . import ir, runtime
from .astwalk import walk_list
from .name_counts import NameCounts

# runtime functions that return a new buffer nothing else refers to (its slots may hold the contribution
# given, which add_at never writes into)
_ALLOCATORS = (runtime.grad_of_index, runtime.grad_of_attribute, runtime.buffer_like, runtime.zeros_like)


def _plain(fdef: ast.FunctionDef) -> bool:
    return not any(
        isinstance(n, (ast.Global, ast.Nonlocal, ast.Delete, ast.Lambda, ast.ClassDef, ast.AsyncFunctionDef))
        or isinstance(n, ast.FunctionDef)
        and n is not fdef
        for n in ast.walk(fdef)
    )


def self_updates(fdef: ast.FunctionDef, counts: NameCounts, side_effects: Callable[[ast.Assign], bool]) -> set[int]:
    """The ids of the assignments that can go (see the module docstring)."""
    if not _plain(fdef):
        return set()
    assignments: dict[str, list[ast.Assign]] = {}
    for node in ast.walk(fdef):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            assignments.setdefault(node.targets[0].id, []).append(node)
    doomed = set()
    for v, stmts in assignments.items():
        reads = sum(1 for stmt in stmts for n in walk_list(stmt.value) if isinstance(n, ast.Name) and n.id == v)
        if (
            reads
            and counts.stores[v] == len(stmts)
            and counts.loads[v] == reads
            and _unseen_effects(v, stmts, side_effects)
        ):
            doomed.update(id(stmt) for stmt in stmts)
    return doomed


def _unseen_effects(v: str, stmts: list[ast.Assign], side_effects: Callable[[ast.Assign], bool]) -> bool:
    """Whether what these assignments to ``v`` do is seen through ``v`` only:
    none has side effects, or the only ones are ``v = add_at(v, ...)`` on a
    buffer that every other assignment allocates."""
    effects = [stmt for stmt in stmts if side_effects(stmt)]
    if not effects:
        return True
    if not all(_adds_into(stmt.value, v, side_effects) for stmt in effects):
        return False
    return all(_calls(stmt.value, _ALLOCATORS) for stmt in stmts if stmt not in effects)


def _calls(value: ast.expr, callees: tuple) -> bool:
    return isinstance(value, ast.Call) and any(ir.callee(value) is c for c in callees)


def _adds_into(value: ast.expr, v: str, side_effects: Callable[[ast.Assign], bool]) -> bool:
    """``add_at(v, index, g)``, its index and contribution free of side effects."""
    if not (_calls(value, (runtime.add_at,)) and len(value.args) == 3 and not value.keywords
            and isinstance(value.args[0], ast.Name) and value.args[0].id == v):
        return False
    return not any(side_effects(ast.Assign(targets=[], value=arg)) for arg in value.args[1:])
