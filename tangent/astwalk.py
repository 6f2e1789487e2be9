"""Fast traversals of ASTs for the analyses and passes that walk whole functions.

``ast.walk`` is a generator over generators (``iter_child_nodes`` over
``iter_fields``); the passes call it on every statement of large generated
functions, and it dominated transform time. These helpers give the same
nodes with plain loops:

* ``walk_list(node)``: the nodes ``ast.walk`` yields, in the same order, as a
  list (built before the caller looks at them: for queries, not for passes
  that change the tree while walking);
* ``names_in(node)``: the ``ast.Name`` nodes in ``node`` (in no particular order);
* ``loaded_names(node)`` / ``stored_names(node)``: the ids of the names read /
  assigned (``ast.Load`` / ``ast.Store`` context);
* ``copy_tree(x)``: ``copy.deepcopy(x)`` of a tree (or list of trees),
  several times faster.
"""

from __future__ import annotations

import ast
import copy

_AST = ast.AST
_Name = ast.Name
_fields: dict[type, tuple[str, ...]] = {}  # class -> fields that may hold nodes (not a Name's ctx)


def _fields_of(cls) -> tuple[str, ...]:
    found = _fields[cls] = tuple(f for f in cls._fields if f != "ctx")
    return found


def walk_list(node: ast.AST) -> list[ast.AST]:
    """``list(ast.walk(node))``, faster."""
    nodes = [node]
    for n in nodes:  # the list grows as the loop goes: breadth first, like ast.walk
        for f in n._fields:
            try:
                v = getattr(n, f)
            except AttributeError:
                continue
            if isinstance(v, _AST):
                nodes.append(v)
            elif isinstance(v, list):
                nodes.extend([x for x in v if isinstance(x, _AST)])
    return nodes


def names_in(node: ast.AST) -> list[ast.Name]:
    """Every ``ast.Name`` node in ``node`` (those ``ast.walk`` finds)."""
    out = []
    stack = [node]
    pop, push = stack.pop, stack.append
    while stack:
        n = pop()
        cls = n.__class__
        if cls is _Name or isinstance(n, _Name):
            out.append(n)
            continue
        fields = _fields.get(cls)
        if fields is None:
            fields = _fields_of(cls)
        for f in fields:
            v = getattr(n, f, None)
            if v.__class__ is list:
                for x in v:
                    if isinstance(x, _AST):
                        push(x)
            elif isinstance(v, _AST):
                push(v)
    return out


def loaded_names(node: ast.AST) -> set[str]:
    return {n.id for n in names_in(node) if isinstance(n.ctx, ast.Load)}


def stored_names(node: ast.AST) -> set[str]:
    return {n.id for n in names_in(node) if isinstance(n.ctx, ast.Store)}


_ATOMIC = frozenset((str, int, float, bool, type(None)))


def copy_tree(value, memo: dict | None = None):
    """``copy.deepcopy(value)`` for ASTs, lists of them and what nodes hold:
    nodes and lists are rebuilt directly (no ``__reduce_ex__``), anything
    else goes through ``copy.deepcopy`` with the same memo, so objects shared
    within the tree stay shared in the copy, as with ``deepcopy``."""
    if memo is None:
        memo = {}
    cls = value.__class__
    if cls in _ATOMIC:
        return value
    found = memo.get(id(value))
    if found is not None:
        return found
    if isinstance(value, _AST):
        new = cls.__new__(cls)
        memo[id(value)] = new
        fields = new.__dict__
        for key, v in value.__dict__.items():
            fields[key] = v if v.__class__ in _ATOMIC else copy_tree(v, memo)
        return new
    if cls is list:
        new = memo[id(value)] = []
        new.extend([v if v.__class__ in _ATOMIC else copy_tree(v, memo) for v in value])
        return new
    return copy.deepcopy(value, memo)
