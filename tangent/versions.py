"""One name per value for a variable reassigned in straight-line code.

Takes the body of a function in A-normal form (anf.py) and its Namer; gives
it with each later value of a variable assigned more than once at the top
level of the body (``h = np.tanh(x @ W1 + b1)`` then ``h = np.tanh(h @ W2 +
b2)``) held by a name of its own (``h``, then ``h_1``), each read renamed to
the value it reads. The analyses describe a variable by one shape: ``h`` of
(16, 32) and then (16, 8) is of no known shape, and everything computed from
it stays generic in specialised code (``unbroadcast``, ``matmul_adjoint_*``,
a tape for the overwritten values). With a name per value each has its
shape, and nothing is pushed on the tape to be restored.

Renames only a variable whose every occurrence is in a top-level statement
that is not compound (not in a loop, a branch, a ``with``, a hook, a nested
function, lambda or comprehension), stored only as the whole target of an
assignment (never written into, ``h[0] = v``, ``h.a = v``, nor ``h += v``,
nor bound as an inlined function's parameter, in a hook or by a checkpointed
call):
the statements run once each, in order, so a read sees the value of the
last assignment before it, which is what the new name holds. A parameter
keeps its name for the argument; its later values get new ones. Everything
else keeps its name.

Example::

    body = versioned(body, namer)   # h = ...; h_1 = tanh(h @ W2); return h_1
"""

from __future__ import annotations

import ast

from . import ir
from .astwalk import walk_list
from .naming import Namer

__all__ = ["versioned"]

_COMPOUND = (ast.For, ast.AsyncFor, ast.While, ast.If, ast.With, ast.AsyncWith, ast.Try, ast.FunctionDef,
             ast.AsyncFunctionDef, ast.ClassDef, ast.Match)
# statements whose names keep theirs: `x op= e` (on an array, a write into x that its aliases see), an
# inlined function's parameter, a user's hook
_KEEPING = ("augmented", "augmented_item", "parameter", "hook")
_DEFERRED = (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.ListComp, ast.SetComp,
             ast.DictComp, ast.GeneratorExp)


def versioned(body: list[ast.stmt], namer: Namer, params: set[str]) -> list[ast.stmt]:
    """``body`` with a name per value for the variables described in the
    module docstring (the statements changed in place)."""
    renamed = _renamable(body, params)
    if not renamed:
        return body
    current: dict[str, str] = {}
    seen = renamed & params  # (a parameter's first value is the argument)
    for stmt in body:
        for node in walk_list(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in current:
                node.id = current[node.id]
        if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name) and stmt.targets[0].id in renamed:
            name = stmt.targets[0].id
            if name in seen:
                current[name] = stmt.targets[0].id = namer.fresh(name)
            seen.add(name)
    return body


def _renamable(body: list[ast.stmt], params: set[str]) -> set[str]:
    """The variables assigned more than once that may be renamed."""
    assigned: dict[str, int] = dict.fromkeys(params, 1)  # (a parameter holds a value on entry)
    excluded: set[str] = set()
    for stmt in body:
        nodes = walk_list(stmt)
        names = [n.id for n in nodes if isinstance(n, ast.Name)]
        for node in nodes:  # (a hook names its variable by a string: ir.GradHook.var)
            if isinstance(node, (ir.GradHook, ir.Save, ir.Restore, ir.Accumulate)):
                excluded.update(v for v in vars(node).values() if isinstance(v, str))
        if isinstance(stmt, _COMPOUND) or not isinstance(stmt, (ast.Assign, ast.Expr, ast.Return)) \
                or any(ir.has(stmt, fact) for fact in _KEEPING) \
                or any(isinstance(n, _DEFERRED) or ir.has(n, "checkpoint") for n in nodes):
            excluded.update(names)
            continue
        if isinstance(stmt, ast.Assign):
            target = stmt.targets[0]
            if len(stmt.targets) == 1 and isinstance(target, ast.Name):
                assigned[target.id] = assigned.get(target.id, 0) + 1
            else:  # (a tuple target, or a write into an item or attribute: its names keep theirs)
                excluded.update(n.id for t in stmt.targets for n in walk_list(t) if isinstance(n, ast.Name))
    return {name for name, count in assigned.items() if count > 1 and name not in excluded}
