"""Forward mode: a tangent reuses the value its primal statement computed.

Question answered: in the statements forward mode generates, which call in
a tangent expression computes again what a primal statement of the same
block computes? A rule's tangent is written from the primal's inputs
(``dy = -dx * np.sin(x)`` for ``y = np.cos(x)``), so when the function also
computes ``s = np.sin(x)`` (the gradient of ``sin(x) * ...`` does), the
derivative evaluates ``np.sin(x)`` twice, once for each; over a large array
that is the most expensive operation of the line.

Input: a block of generated statements (each nested block is treated on
its own) and ``pure(func) -> bool``, which says whether calling ``func`` (an
expression) certainly has no side effects. Output: ``reuse_primal_calls``
rewrites the block in place:

* ``s = f(a, b)`` followed, later in the block, by a statement using
  ``f(a, b)`` in its value: the later call becomes ``s``;
* a statement using ``f(a, b)`` followed, later in the block, by
  ``s = f(a, b)``: that assignment moves up to just before the first
  statement, whose call becomes ``s``.

Sound because both calls compute the same value: the call is pure, its
arguments are names or constants, and between the two statements (window)
every statement is an assignment to names of an expression whose calls are
all pure (so nothing is written into an array in place), none rebinding
``s``, the names of the call or (when the assignment moves) reading ``s``.
The function must be deterministic as well: only calls ``pure`` accepts,
and forward mode accepts NumPy's and math's functions but not its random
ones.

Example::

    d_sin = dx * np.cos(x)        ->    _cos = np.cos(x)
    ...                                 d_sin = dx * _cos
    _cos = np.cos(x)                    ...
"""

from __future__ import annotations

import ast
from typing import Callable

from .astwalk import walk_list

__all__ = ["reuse_primal_calls"]


def reuse_primal_calls(
    body: list[ast.stmt], pure: Callable[[ast.expr], bool], reusable: Callable[[ast.expr], bool]
) -> int:
    """Rewrite ``body`` and its nested blocks (see the module docstring);
    returns the number of calls replaced. ``reusable(func)``: whether a call
    of ``func`` may be computed once for two statements (a pure and
    deterministic function of its arguments: NumPy's, math's)."""
    replaced = 0
    for stmt in body:
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                replaced += reuse_primal_calls(inner, pure, reusable)
        for handler in getattr(stmt, "handlers", []):
            replaced += reuse_primal_calls(handler.body, pure, reusable)
    for i in range(len(body)):
        found = _primal_call(body[i], reusable)
        if found is not None:
            replaced += _reuse(body, i, found, pure)
    return replaced


def _primal_call(stmt: ast.stmt, reusable) -> tuple[str, ast.Call] | None:
    """(s, the call) for ``s = f(names or constants)`` with ``f`` reusable."""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
        return None
    call = stmt.value
    if not (isinstance(call, ast.Call) and not call.keywords and reusable(call.func)):
        return None
    if not all(isinstance(a, (ast.Name, ast.Constant)) for a in call.args) or stmt.targets[0].id in _names(call):
        return None
    return stmt.targets[0].id, call


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _plain(stmt: ast.stmt, pure) -> set[str] | None:
    """The names ``stmt`` binds when it is an assignment to names of a value
    whose calls are all pure (it writes into no array), the empty set for a
    pure call as a statement (``check_scalar_output(result)``); None otherwise."""
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        return _plain(ast.Assign(targets=[], value=stmt.value), pure)
    if not isinstance(stmt, ast.Assign):
        return None
    out = set()
    for target in stmt.targets:
        elts = target.elts if isinstance(target, ast.Tuple) else [target]
        if not all(isinstance(e, ast.Name) for e in elts):
            return None
        out |= {e.id for e in elts}
    for node in walk_list(stmt.value):
        if isinstance(node, ast.NamedExpr) or isinstance(node, ast.Call) and not pure(node.func):
            return None
    return out


def _uses(stmt: ast.stmt, call: ast.Call) -> bool:
    """Whether the value of ``stmt`` computes ``call`` as part of a larger
    expression (a call that is the whole value is left alone: replaced by a
    name, it would make the two variables one array)."""
    text = ast.dump(call)
    return any(isinstance(n, ast.Call) and n is not stmt.value and ast.dump(n) == text for n in walk_list(stmt.value))


class _Replace(ast.NodeTransformer):
    def __init__(self, call: ast.Call, target: str):
        self.text, self.target, self.count = ast.dump(call), target, 0

    def visit_Call(self, node):
        if ast.dump(node) == self.text:
            self.count += 1
            return ast.copy_location(ast.Name(id=self.target, ctx=ast.Load()), node)
        return self.generic_visit(node)


def _replace_in(stmt: ast.stmt, call: ast.Call, target: str) -> int:
    if not _uses(stmt, call):
        return 0
    replacer = _Replace(call, target)
    stmt.value = replacer.visit(stmt.value)
    return replacer.count


def _reuse(body: list[ast.stmt], i: int, found: tuple[str, ast.Call], pure) -> int:
    """Move ``body[i]`` (``s = call``) up before the first earlier statement
    computing the call, then use ``s`` for the call in the statements after
    that one."""
    target, call = found
    blocked = _names(call) | {target}
    first = i
    for j in range(i - 1, -1, -1):  # statements the assignment may move above
        stored = _plain(body[j], pure)
        if stored is None or stored & blocked or target in _names(body[j].value):
            break
        if _uses(body[j], call):
            first = j
    if first < i:
        body.insert(first, body.pop(i))
    replaced = 0
    for stmt in body[first + 1 :]:
        stored = _plain(stmt, pure)
        if stored is None:
            break
        replaced += _replace_in(stmt, call, target)  # (its value is computed before it binds anything)
        if stored & blocked:
            break
    return replaced
