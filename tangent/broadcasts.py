"""Broadcasts left to the operations that broadcast anyway.

Takes: a specialised generated FunctionDef, its ``value_facts.Specialization``
and its ``NameCounts`` (kept exact). Gives the function with
``b = np.broadcast_to(e, S)`` turned into ``b = e`` where every read of ``b``
is an operand of elementwise operations (``value_facts.is_elementwise``)
whose result does not change: the adjoint of a sum ``np.broadcast_to(dresult,
(n,))`` then stays the scalar it is until it meets an array (``dresult * 0.5
/ _sqrt``: one full-size product fewer), and ``np.expand_dims(d, 2)``
multiplies ``z`` without being made full size first.

Sound because an elementwise expression computes each element from its
operands' elements at the same broadcast position, so replacing an operand by
another that broadcasts to it gives the same elements, provided, for each
maximal elementwise expression ``T`` reading ``b``:

* shape: the other operands of ``T`` whose shapes are known broadcast to a
  shape that ``S`` broadcasts into, so ``T`` has the same shape without the
  explicit broadcast (``e`` broadcasts to ``S``: the original call did not
  raise; for the seed, which the caller passes, this is the documented
  contract that it broadcasts to the result's shape);
* dtype: ``np.broadcast_to(e)`` has ``e``'s dtype but is never a "weak"
  Python scalar in NumPy's promotion, so either ``e`` is an ``np.expand_dims``
  result (an array) or a float64 NumPy value, or another operand of ``T`` is a
  float64 NumPy value (``value_facts.ValueFacts.wide``), which fixes the
  result's dtype either way;
* ``b`` is assigned once and read nowhere else (not returned, passed to a
  function or written into: ``np.broadcast_to`` gives a read-only view, so
  no read relied on a copy).
"""

from __future__ import annotations

import ast

import numpy as np

from .name_counts import NameCounts
from .value_facts import Specialization, ValueFacts, is_elementwise, operands


def elide_broadcasts(fdef: ast.FunctionDef, special: Specialization, counts: NameCounts) -> ast.FunctionDef:
    """See the module docstring."""
    facts = ValueFacts(fdef, special)
    broadcasts = {
        stmt.targets[0].id: stmt
        for stmt in _assignments(fdef)
        if stmt.targets[0].id in facts.once and _is_broadcast(stmt.value, facts)
    }
    if not broadcasts:
        return fdef
    reads = _reads(fdef, set(broadcasts))
    for b, stmt in broadcasts.items():
        e, target = stmt.value.args
        shape = facts.shape(stmt.value)
        strong = _is_expand_dims(e, facts) or facts.wide(e)
        uses = reads.get(b, [])
        if (
            uses
            and len(uses) == counts.loads.get(b, 0)
            and all(_elidable(path, b, shape, strong, facts) for path in uses)
        ):
            counts.forget(stmt.value.func)
            counts.forget(target)
            stmt.value = e
    return fdef


def _assignments(fdef):
    for node in ast.walk(fdef):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            yield node


def _reads(fdef, wanted: set[str]) -> dict[str, list[list]]:
    """{name: for each read, its ancestors, innermost first}; a node shared
    by two places in the tree (generated code may share them) is seen at each."""
    found: dict[str, list[list]] = {}
    stack = [(fdef, [])]
    while stack:
        node, ancestors = stack.pop()
        if isinstance(node, ast.Name):
            if node.id in wanted and isinstance(node.ctx, ast.Load):
                found.setdefault(node.id, []).append([node] + ancestors)
            continue
        inner = [node] + ancestors
        stack.extend((child, inner) for child in ast.iter_child_nodes(node))
    return found


def _is_broadcast(value, facts: ValueFacts) -> bool:
    return (
        isinstance(value, ast.Call)
        and len(value.args) == 2
        and not value.keywords
        and facts.callee(value) is np.broadcast_to
        and facts.shape(value) is not None
        and not isinstance(value.args[0], ast.Starred)
    )


def _is_expand_dims(e, facts: ValueFacts) -> bool:
    return isinstance(e, ast.Call) and facts.callee(e) is np.expand_dims and facts.shape(e) is not None


def _elidable(ancestry: list, b: str, shape: tuple, strong: bool, facts: ValueFacts) -> bool:
    """The maximal elementwise expression reading ``ancestry[0]`` (a read of
    ``b``; then its ancestors) keeps its shape and dtype when ``b`` holds
    ``e`` instead of its broadcast to ``shape``."""
    use = ancestry[0]
    path = []  # the elementwise nodes from the read up
    for child, parent in zip(ancestry, ancestry[1:]):
        if not (is_elementwise(parent, facts) and any(o is child for o in operands(parent))):
            break
        path.append(parent)
    if not path or not _covers(path[-1], b, shape, facts):
        return False
    return strong or _meets_numpy(use, path, facts)


def _covers(root, b: str, shape: tuple, facts: ValueFacts) -> bool:
    """The operands of ``root`` other than ``b`` give it a shape into which
    ``shape`` broadcasts."""
    leaves = []
    todo = [root]
    while todo:
        node = todo.pop()
        if is_elementwise(node, facts):
            todo.extend(operands(node))
        elif not (isinstance(node, ast.Name) and node.id == b):
            leaves.append(node)
    known = [s for s in map(facts.shape, leaves) if s is not None]
    try:
        return np.broadcast_shapes(*known, shape) == np.broadcast_shapes(*known)
    except ValueError:
        return False


def _meets_numpy(use: ast.Name, path: list, facts: ValueFacts) -> bool:
    """``e`` may be a Python number: until it meets a NumPy operation (a
    ufunc, or an operand that is a float64 NumPy value, which also fixes the
    dtype) it is computed by Python's rules, so only operations that give
    the same value by both are allowed on the way: + - * by a float literal,
    / by a nonzero one, unary minus."""
    child = use
    for node in path:
        others = [o for o in operands(node) if o is not child]
        if isinstance(node, ast.Call) or any(map(facts.wide, others)):
            return True
        if not _same_in_python(node, child):
            return False
        child = node
    return False


def _same_in_python(node, child) -> bool:
    if isinstance(node, ast.UnaryOp):
        return True
    other = node.right if node.left is child else node.left
    if not (isinstance(other, ast.Constant) and type(other.value) is float):
        return False
    if isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
        return True
    return isinstance(node.op, ast.Div) and node.left is child and other.value != 0.0
