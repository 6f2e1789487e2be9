"""Classes of local values known from the program, not from annotations.

Read while desugaring (desugar.py), into ``ParsedFunction.types`` (a local's
class) and ``ParsedFunction.element_types`` (the class of the items of a
local list, tuple or dict): ``layers = [Layer(W, b) for ...]`` (items made by
one constructor), ``for layer in layers`` and ``layer = layers[i]`` (a value
of such a sequence, bound once), and the items of a sequence that is a
global or a closure's variable (``item_class_of_value``). Only ever adds
facts that hold for every run: names bound once, displays of one class.
"""

from __future__ import annotations

import ast

from . import resolve
from .frontend import user_class


def object_class(cls) -> bool:
    """Whether values of ``cls`` are objects of a user's class (not numbers,
    containers or an array library's types)."""
    return user_class(cls) and cls.__module__.split(".")[0] not in resolve.LIBRARIES and not hasattr(cls, "__array__")


def item_class_of_value(value) -> type | None:
    """The user class every item of a list, tuple or dict value has, if one.

    Example::

        item_class_of_value([Layer(W1), Layer(W2)])   # Layer
    """
    items = list(value.values()) if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
    classes = {type(item) for item in items}
    cls = classes.pop() if len(classes) == 1 else None
    return cls if cls is not None and object_class(cls) else None


def assigned_once(owner, name: str) -> bool:
    """Whether ``name`` is bound once in the function (a parameter, or one assignment)."""
    stores = [n for n in ast.walk(owner.parsed.tree) if isinstance(n, ast.Name) and n.id == name
              and isinstance(n.ctx, ast.Store)]
    params = owner.parsed.tree.args
    return len(stores) + (name in {a.arg for a in params.posonlyargs + params.args + params.kwonlyargs}) == 1


def note_element_class(owner, target: ast.expr | None, value: ast.expr) -> None:
    """``layers = [Layer(...), ...]`` or ``[Layer(W, b) for ...]`` (assigned once): its items' class;
    ``layer = layers[i]`` (assigned once): ``layer``'s."""
    item = getattr(value, "value", None) if isinstance(value, ast.Subscript) else None
    if isinstance(target, ast.Name) and isinstance(item, ast.Name) and assigned_once(owner, target.id) \
            and item.id in owner.parsed.element_types:
        owner.parsed.types[target.id] = owner.parsed.element_types[item.id]
    elts = [value.elt] if isinstance(value, ast.ListComp) else getattr(value, "elts", None)
    if not isinstance(target, ast.Name) or not isinstance(value, (ast.List, ast.Tuple, ast.ListComp)) or not elts:
        return
    classes = {owner.parsed.resolve(e.func) if isinstance(e, ast.Call) else None for e in elts}
    cls = classes.pop() if len(classes) == 1 else None
    if isinstance(cls, type) and resolve.constructible(owner.parsed, cls) and assigned_once(owner, target.id):
        owner.parsed.element_types[target.id] = cls


def note_item_class(owner, stmt: ast.For) -> None:
    """``for layer in layers:`` over items of a known class: the loop
    variable's class (when the loop alone assigns it)."""
    it, target = stmt.iter, stmt.target
    if isinstance(it, ast.Name) and isinstance(target, ast.Name) and it.id in owner.parsed.element_types \
            and assigned_once(owner, target.id):
        owner.parsed.types[target.id] = owner.parsed.element_types[it.id]
