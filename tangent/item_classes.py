"""Classes of local values known from the program, not from annotations.

Read while desugaring (desugar.py), into ``ParsedFunction.types`` (a local's
class) and ``ParsedFunction.element_types`` (the class of the items of a
local list, tuple or dict): ``layers = [Layer(W, b) for ...]`` (items made by
one constructor), ``for layer in layers`` and ``layer = layers[i]`` (a value
of such a sequence, bound once), and the items of a sequence that is a
global or a closure's variable (``item_class_of_value``). Only ever adds
facts that hold for every run: names bound once, displays of one class.

An attribute of a local of known class holding items of one class
(``for layer in model.layers``, ``layer = self.layers[i]``) has them from
the class's annotation (``layers: list[Layer]``) or, keyed ``"model.layers"``
in ``element_types``, from the call (argument_classes.py sees the argument
object's attribute; calls.py carries the fact to a callee's parameter), used
when the function stores no attribute of that name and never rebinds the
local. A NamedTuple parameter's fields read by name are read by position
(``named_tuple_fields_indexed``).
"""

from __future__ import annotations

import ast
import typing

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


def annotated_item_class(cls, attribute: str) -> type | None:
    """The user class of the items of ``cls``'s attribute ``attribute`` as
    the class annotates it (``layers: list[Layer]``, ``tuple[Layer, ...]``,
    ``dict[str, Layer]``, ``Sequence[Layer]``), else None.

    Example::

        class MLP:
            layers: list[Layer]
        annotated_item_class(MLP, "layers")   # Layer
    """
    try:
        hint = typing.get_type_hints(cls).get(attribute)
    except Exception:  # (an annotation naming what its module does not define)
        return None
    origin, items = typing.get_origin(hint), [a for a in typing.get_args(hint) if a is not Ellipsis]
    if origin is None or not items or getattr(origin, "__name__", "") not in ITEM_CONTAINERS:
        return None
    found = items[-1]
    return found if isinstance(found, type) and object_class(found) else None


ITEM_CONTAINERS = ("list", "tuple", "dict", "Sequence", "Iterable", "Mapping", "MutableSequence", "MutableMapping")


def attribute_item_key(name: str, attribute: str) -> str:
    """The ``element_types`` key of the items of ``name.attribute``."""
    return f"{name}.{attribute}"


def items_of(owner, node: ast.expr) -> type | None:
    """The user class of the items of ``node``: a local list, tuple or dict
    whose items' class is known, or ``obj.attr`` of such a local ``obj``
    (see the module docstring)."""
    if isinstance(node, ast.Name):
        return owner.parsed.element_types.get(node.id)
    if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)) \
            or not assigned_once(owner, node.value.id) or _attribute_stored(owner, node.attr):
        return None
    found = owner.parsed.element_types.get(attribute_item_key(node.value.id, node.attr))
    cls = owner.parsed.types.get(node.value.id)
    return found or (annotated_item_class(cls, node.attr) if cls is not None else None)


def passed_item_classes(parsed, param: str, arg: ast.expr, known=None) -> dict[str, type]:
    """What ``element_types`` of a callee's parameter ``param``, bound to the
    caller's ``arg`` (``known``: its value when known when differentiating),
    says, for the callee's ``types`` (keys ``"param[]"`` for its items,
    ``"param.attr"`` for an attribute's; ``note_call_types`` reads it)."""
    found = {}
    if isinstance(arg, ast.Name) and (arg.id in parsed.local_names or arg.id in parsed.element_types):
        if arg.id in parsed.element_types:
            found[param + "[]"] = parsed.element_types[arg.id]
        prefix = arg.id + "."
        found.update({param + key[len(arg.id):]: cls for key, cls in parsed.element_types.items()
                      if key.startswith(prefix)})
    elif known is not None and object_class(type(known)):  # a global object, self of a bound method
        for attribute, held in getattr(known, "__dict__", {}).items():
            item = item_class_of_value(held)
            if item is not None:
                found[attribute_item_key(param, attribute)] = item
    return found


def note_call_types(parsed, types: dict) -> None:
    """Record a callee's ``types`` (classes of its parameters, and what
    ``passed_item_classes`` says of their items) in ``parsed``."""
    parsed.types.update({k: v for k, v in types.items() if "." not in k and not k.endswith("[]")})
    parsed.element_types.update({k.removesuffix("[]"): v for k, v in types.items() if "." in k or k.endswith("[]")})


def named_tuple_fields_indexed(body: list[ast.stmt], parsed) -> None:
    """``p.w`` of a parameter ``p`` of a NamedTuple class (its class known,
    never rebound) becomes ``p[0]`` (its field's position), so that its
    derivatives are tuples like any tuple's (the API gives them the
    NamedTuple's class) whether the function reads fields by name or by
    position."""
    args = parsed.tree.args
    params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    fields = {name: cls._fields for name, cls in parsed.types.items()
              if name in params and isinstance(cls, type) and issubclass(cls, tuple) and hasattr(cls, "_fields")}
    stored = {n.id for n in ast.walk(parsed.tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    fields = {name: f for name, f in fields.items() if name not in stored}
    if not fields:
        return
    for stmt in body:
        for node in ast.walk(stmt):
            for field, value in ast.iter_fields(node):
                if isinstance(value, ast.Attribute):
                    setattr(node, field, _indexed(value, fields))
                elif isinstance(value, list):
                    value[:] = [_indexed(v, fields) if isinstance(v, ast.Attribute) else v for v in value]


def named_tuple_field(owner, node: ast.Attribute) -> ast.expr | None:
    """``layer.W`` read from a local bound once to a NamedTuple (its class
    known, as ``for layer in layers`` over items of one NamedTuple class
    gives it): ``layer[0]``, as for parameters (named_tuple_fields_indexed)."""
    if not (isinstance(node.value, ast.Name) and isinstance(node.ctx, ast.Load)):
        return None
    cls = owner.parsed.types.get(node.value.id)
    if not (isinstance(cls, type) and issubclass(cls, tuple) and node.attr in getattr(cls, "_fields", ())) \
            or not assigned_once(owner, node.value.id):
        return None
    return _indexed(node, {node.value.id: cls._fields})


def _indexed(node: ast.Attribute, fields: dict) -> ast.expr:
    if isinstance(node.value, ast.Name) and isinstance(node.ctx, ast.Load) and node.attr in fields.get(node.value.id, ()):
        index = ast.Constant(value=fields[node.value.id].index(node.attr))
        return ast.copy_location(ast.Subscript(value=node.value, slice=index, ctx=ast.Load()), node)
    return node


def _attribute_stored(owner, attribute: str) -> bool:
    """Whether the function stores (or deletes) an attribute named ``attribute`` of anything."""
    return any(isinstance(n, ast.Attribute) and n.attr == attribute and not isinstance(n.ctx, ast.Load)
               for n in ast.walk(owner.parsed.tree))


def assigned_once(owner, name: str) -> bool:
    """Whether ``name`` is bound once in the function (a parameter, or one assignment)."""
    stores = [n for n in ast.walk(owner.parsed.tree) if isinstance(n, ast.Name) and n.id == name
              and isinstance(n.ctx, ast.Store)]
    params = owner.parsed.tree.args
    return len(stores) + (name in {a.arg for a in params.posonlyargs + params.args + params.kwonlyargs}) == 1


def note_element_class(owner, target: ast.expr | None, value: ast.expr) -> None:
    """``layers = [Layer(...), ...]`` or ``[Layer(W, b) for ...]`` (assigned once): its items' class;
    ``layer = layers[i]`` (assigned once): ``layer``'s."""
    item = items_of(owner, value.value) if isinstance(value, ast.Subscript) else None
    if isinstance(target, ast.Name) and item is not None and assigned_once(owner, target.id):
        owner.parsed.types[target.id] = item
    elts = [value.elt] if isinstance(value, ast.ListComp) else getattr(value, "elts", None)
    if not isinstance(target, ast.Name) or not isinstance(value, (ast.List, ast.Tuple, ast.ListComp)) or not elts:
        return
    classes = {resolve.built_class(owner.parsed, e) if isinstance(e, ast.Call) else None for e in elts}
    cls = classes.pop() if len(classes) == 1 else None
    if cls is not None and assigned_once(owner, target.id):
        owner.parsed.element_types[target.id] = cls


def note_item_class(owner, stmt: ast.For) -> None:
    """``for layer in layers:`` over items of a known class: the loop
    variable's class (when the loop alone assigns it)."""
    item = items_of(owner, stmt.iter)
    if item is not None and isinstance(stmt.target, ast.Name) and assigned_once(owner, stmt.target.id):
        owner.parsed.types[stmt.target.id] = item
