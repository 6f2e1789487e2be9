"""Name counts for the optimization passes.

``NameCounts`` counts, in one walk, how often each name of a generated
function is assigned and read, and is kept exact by the passes of
``optimize`` as they change the function (each says what it drops), instead
of a walk of the whole function before each pass. ``StatementNames`` caches
each statement's loaded and stored names. Example::

    counts = NameCounts(fdef)
    if counts.loads["_t"] == 0: ...
"""

from __future__ import annotations

import ast
from collections import Counter

from .astwalk import names_in, stored_names


def _loads(node) -> list[ast.Name]:
    return [n for n in names_in(node) if isinstance(n.ctx, ast.Load)]


def _stores(node) -> set[str]:
    return stored_names(node)


class NameCounts:
    """How often each name of a function is assigned (``stores``,
    parameters included) and read (``loads``), counted in one walk and then
    kept exact by the passes as they change the function (``forget`` what
    they drop), instead of a walk of the whole function before each pass."""

    def __init__(self, fdef: ast.FunctionDef):
        self.stores: Counter = Counter()
        self.loads: Counter = Counter()
        self.forget(fdef, -1)
        for a in fdef.args.posonlyargs + fdef.args.args + fdef.args.kwonlyargs:
            self.stores[a.arg] += 1

    def forget(self, node: ast.AST, sign: int = 1) -> None:
        """``node`` left the function: its names no longer count."""
        stores, loads = self.stores, self.loads
        for n in names_in(node):
            if isinstance(n.ctx, ast.Store):
                stores[n.id] -= sign
            elif isinstance(n.ctx, ast.Load):
                loads[n.id] -= sign


class StatementNames:
    """Each statement's loaded Name nodes and stored names, found once:
    ``propagate_copies`` only renames loads and deletes statements, so both
    stay valid while it runs."""

    def __init__(self):
        self._loads: dict[int, list[ast.Name]] = {}
        self._stores: dict[int, set[str]] = {}

    def loads(self, s) -> list[ast.Name]:
        found = self._loads.get(id(s))
        if found is None:
            found = self._loads[id(s)] = _loads(s)
        return found

    def stores(self, s) -> set[str]:
        found = self._stores.get(id(s))
        if found is None:
            found = self._stores[id(s)] = _stores(s)
        return found
