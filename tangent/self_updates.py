"""Assignments whose values reach nothing but their own updates.

Takes: a generated FunctionDef, its exact ``name_counts.NameCounts`` and a
predicate saying whether an assignment may have side effects.

Gives: ``self_updates``, the ids of the assignments ``v = e`` to each name
``v`` that is assigned only by such single-target assignments (not a
parameter, nor a loop or unpacking target), none of them with side effects,
and read only inside their own values (``dx = dx + e``). Whatever ``v``
holds flows only into ``v`` again and never out, so all of them can go:
forward mode over a gradient computes the gradient's own accumulation this
way, read by nothing once only its tangent is returned.

Assumes: Python scoping of a plain function: the function has no nested
function, lambda or class (which could read ``v`` from its own scope), and
no ``global``, ``nonlocal`` or ``del``.
"""

from __future__ import annotations

import ast
from typing import Callable

from .astwalk import walk_list
from .name_counts import NameCounts


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
            and not any(side_effects(stmt) for stmt in stmts)
        ):
            doomed.update(id(stmt) for stmt in stmts)
    return doomed
