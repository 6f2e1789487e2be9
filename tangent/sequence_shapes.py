"""Shapes of the lists a function builds, and when they may be assumed.

Question answered, for ``shapes.infer_shapes``: what every item of a list
the function builds (``[]`` then ``append``, a list literal, a list a caller
built and passes, or a callee built and returns) is, as one Value covering
them all (``Seq(item)``, its length unknown), and whether the function uses
its lists only in ways that keep that description true.

How: the analysis is flow-insensitive. Every value added to any list in the
function (``r.append(v)``, ``r.insert(i, v)``, ``r[i] = v`` on anything but
an array) joins one pseudo-variable, ``ADDED``; a list literal's item, and
an item read from any list, is joined with it. So whichever list an alias
names, what was added through another alias is covered. That holds only
while each list described by a Seq stays visible to the analysis: ``escapes``
says when one may reach a value the analysis does not follow (an operand of
``+``, a library call that may keep or change it, a join with a value of
another structure, ...); then ``infer_shapes`` assumes no Seq at all.

Callees: a list passed to a user function is followed there (the callee's
analysis gets the Seq as its parameter's value): if the callee's own
analysis finds an escape, ``SequencesEscape`` propagates to the caller.
Items are added only to lists the function itself made (names defined by
list displays alone): an item added to a list a caller passed would be
unseen by the caller's analysis, so that is an escape too.

Arguments: a list too long for the specialisation key to list its items
(``shapes.MAX_LEAVES``) whose items are NumPy arrays of one shape and dtype
is keyed ``(list, UNIFORM, the items' kind)`` (``uniform_list_kind``), for
any length, and described as ``Seq(item)``: what a caller's list is.

Assumes: Tangent's normal form (calls and subscripts on atoms, one target
per assignment).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

import numpy as np

from . import ir, runtime
from .rules.shape_values import DYNAMIC, UNKNOWN, Array, Ints, Seq, Static, Struct, Value, join

ADDED = "<added to a list>"
MAX_ITEMS = 32  # a tuple literal longer than this is not described
MAX_NESTING = 6  # nor a value nested deeper
UNIFORM = "uniform"  # the keys slot of the kind (list, UNIFORM, item kind)


def uniform_list_kind(value: list) -> object:
    """``(list, UNIFORM, item kind)`` for a non-empty list of NumPy arrays
    (exactly) of one shape and dtype, else ``list``. Example::

        uniform_list_kind([np.ones(2), np.zeros(2)])   # (list, 'uniform', (numpy.ndarray, (2,), 'd'))
    """
    first = value[0] if value else None
    if type(first) is not np.ndarray:
        return list
    shape, dtype = first.shape, first.dtype
    for item in value:
        if type(item) is not np.ndarray or item.shape != shape or item.dtype != dtype:
            return list
    return (list, UNIFORM, (np.ndarray, shape, dtype.char))


class SequencesEscape(Exception):
    """A callee's analysis could not keep the lists its caller passed."""


@dataclass(frozen=True)
class Added:
    """A value added to a list: ``value`` (an atom; None: anything) stored
    by ``receiver[i] = value`` (``receiver`` None for append and insert,
    which only lists have)."""

    value: ast.expr | None
    receiver: ast.expr | None = None


def added_definitions(tree: ast.FunctionDef) -> list[Added]:
    """The definitions of ``ADDED``: every value the function may add to a list."""
    out = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.args
            and node.func.attr in ("append", "insert")
        ):
            out.append(Added(node.args[-1]))
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Subscript) and not _slices(target.slice):
                    out.append(Added(node.value, target.value))
                else:  # (a slice assignment adds the items of its value; unpacking into items)
                    out += [Added(None, t.value) for t in ast.walk(target) if isinstance(t, ast.Subscript)]
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Subscript):
            out.append(Added(None, node.target.value))
    return out


def _slices(index) -> bool:
    return any(isinstance(part, ast.Slice) for part in ast.walk(index))


def contains_sequence(value) -> bool:
    if isinstance(value, Seq):
        return True
    return isinstance(value, Struct) and any(contains_sequence(v) for _, v in value.items)


def nesting(value) -> int:
    if isinstance(value, Seq):
        return 1 + nesting(value.item)
    if isinstance(value, Struct):
        return 1 + max((nesting(v) for _, v in value.items), default=0)
    return 0


def covers(joined, value) -> bool:
    """Whether ``joined`` still describes every list that ``value`` describes."""
    if isinstance(value, Seq):
        return isinstance(joined, Seq) and (value.item is None or covers(joined.item, value.item))
    if isinstance(value, Struct) and contains_sequence(value):
        return (
            isinstance(joined, Struct)
            and joined.kind == value.kind
            and len(joined.items) == len(value.items)
            and all(covers(j, v) for (_, j), (_, v) in zip(joined.items, value.items))
        )
    return True


def without_sequences(value) -> Value:
    """``value`` with each Seq in it replaced by UNKNOWN."""
    if isinstance(value, Seq):
        return UNKNOWN
    if isinstance(value, Struct) and contains_sequence(value):
        return Struct(value.kind, tuple((k, without_sequences(v)) for k, v in value.items))
    return value


def list_value(items: list, added) -> Value:
    """The Value of a list literal of these items' Values."""
    item = None
    for value in items:
        item = join(item, value)
    value = Seq(join(item, added))
    return value if nesting(value) <= MAX_NESTING else UNKNOWN


def tuple_value(items: list) -> Value:
    """``(a, b)``: Ints when its items are integers, Static when constants,
    else a Struct of its items."""
    if all(isinstance(i, Array) and i.integer and i.shape == () for i in items):
        values = [i.value for i in items]
        return Ints(tuple(values) if all(v is not DYNAMIC for v in values) else DYNAMIC)
    if all(isinstance(i, (Array, Static)) and i.value is not DYNAMIC for i in items):
        return Static(tuple(i.value for i in items))
    if len(items) > MAX_ITEMS or all(v is UNKNOWN for v in items):
        return UNKNOWN
    value = Struct("tuple", tuple(enumerate(items)))
    return value if nesting(value) <= MAX_NESTING else UNKNOWN


def list_item(seq: Seq, parts: list, added):
    """``items[i]`` (any item, joined with ADDED; None: none known yet),
    ``items[a:b]`` (a list of the same items)."""
    if len(parts) != 1:
        return UNKNOWN
    part = parts[0]
    if isinstance(part, Static) and isinstance(part.value, slice):
        return seq
    if not (isinstance(part, Array) and part.integer and part.shape == ()):
        return UNKNOWN
    return join(seq.item, added)


# the methods of a list whose use keeps its description (append and insert add
# to ADDED); pop reads an item (described only when items hold no list)
_METHODS = {"append", "insert", "pop", "reverse", "sort", "clear", "remove", "index", "count"}


def escapes(tree: ast.FunctionDef, value_of, definitions: dict, values: dict, known: dict, user_function) -> bool:
    """Whether a list described by a Seq may reach what the analysis does
    not follow. ``value_of(node)``: a node's Value (None when it has none
    yet); ``definitions`` and ``values``: the fixpoint's; ``known``: the
    parameters' Values; ``user_function(callee)``: whether a call of it is
    followed into its source (``call_result``)."""
    for name, defs in definitions.items():
        for definition in defs:
            value = value_of(definition)
            if value is not None and not covers(values.get(name), value):
                return True
    if any(not covers(values.get(p), v) for p, v in known.items()):
        return True
    parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    value_of = _caught(value_of)
    fresh = _fresh_lists(tree, definitions)
    for node in ast.walk(tree):
        if isinstance(node, ast.AugAssign) and contains_sequence(value_of(node.target)):
            return True
        receiver = _receiver(node)
        if (
            receiver is not None
            and isinstance(value_of(receiver), Seq)
            and not (isinstance(receiver, ast.Name) and receiver.id in fresh)
        ):
            return True  # an item added to a list that may be a caller's (whose analysis would not see it)
        if not isinstance(node, ast.expr) or isinstance(getattr(node, "ctx", None), (ast.Store, ast.Del)):
            continue
        value = value_of(node)
        if contains_sequence(value) and not _followed(node, value, parents, value_of, user_function):
            return True
    return False


def _fresh_lists(tree: ast.FunctionDef, definitions: dict) -> set:
    """The names that only ever hold lists this call of the function made:
    defined by list displays alone (never parameters)."""
    args = tree.args
    params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    return {
        name
        for name, defs in definitions.items()
        if name not in params and defs and all(isinstance(d, ast.List) for d in defs)
    }


def _receiver(node):
    """The list that ``node`` adds an item to, if it does: ``r`` of
    ``r.append(v)``, ``r.insert(i, v)``, ``r[i] = v``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("append", "insert"):
        return node.func.value
    if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
        return node.value
    return None


ESCAPED = object()  # the Value of a call of a user function that loses the lists passed


def _caught(value_of):
    def caught(node):
        try:
            return value_of(node)
        except SequencesEscape:
            return ESCAPED

    return caught


def _followed(node, value, parents: dict, value_of, user_function) -> bool:
    """Whether the analysis follows what the parent of ``node`` (whose
    Value holds a Seq) does with it."""
    parent = parents.get(id(node))
    if isinstance(parent, (ast.Return, ast.Expr, ast.Compare)):
        return True
    if isinstance(parent, ast.Assign):
        return parent.value is node and all(isinstance(t, ast.Name) for t in parent.targets)
    if isinstance(parent, (ast.Tuple, ast.List)):
        return covers(_item_of(value_of(parent), parent, node), value)
    if isinstance(parent, ast.Subscript) and parent.value is node:
        if isinstance(parent.ctx, ast.Store):
            return isinstance(value, Seq)  # the stored value is in ADDED
        read = value_of(parent)
        if isinstance(value, Seq):
            return covers(read, value if isinstance(read, Seq) else value.item)
        return all(covers(read, v) for v in _selected(value, value_of(parent.slice)))
    if isinstance(parent, ast.Attribute) and parent.value is node:
        call = parents.get(id(parent))
        return (
            isinstance(value, Seq)
            and parent.attr in _METHODS
            and isinstance(call, ast.Call)
            and call.func is parent
            and (parent.attr != "pop" or not contains_sequence(value.item))
        )
    if isinstance(parent, ast.keyword):
        parent = parents.get(id(parent))
    if isinstance(parent, ast.Call) and parent.func is not node:
        return _followed_call(parent, node, value, value_of, user_function)
    return False


def _selected(struct: Struct, index) -> list:
    """The items of ``struct`` that ``struct[index]`` may read."""
    key = getattr(index, "value", None)
    if isinstance(key, (int, str)) and not isinstance(key, bool):
        found = [v for k, v in struct.items if type(k) is type(key) and k == key]
        if found:
            return found
        if struct.kind != "dict" and isinstance(key, int) and -len(struct.items) <= key < len(struct.items):
            return [struct.items[key][1]]
    return [v for _, v in struct.items]


def _item_of(container, literal, element):
    """What the value of ``literal`` (a list or tuple display) says of ``element``'s."""
    if isinstance(literal, ast.List):
        return container.item if isinstance(container, Seq) else UNKNOWN
    if not isinstance(container, Struct) or len(container.items) != len(literal.elts):
        return UNKNOWN
    return container.items[next(i for i, e in enumerate(literal.elts) if e is element)][1]


def _followed_call(call: ast.Call, node, value, value_of, user_function) -> bool:
    if (
        isinstance(call.func, ast.Attribute)
        and call.func.attr in ("append", "insert")
        and call.args
        and call.args[-1] is node
    ):
        return isinstance(value_of(call.func.value), Seq)  # an item of a described list: in ADDED
    callee = ir.callee(call)
    if callee is len:
        return True
    if callee is runtime.as_sequence:
        return covers(value_of(call), value)
    if user_function(callee):
        return value_of(call) is not ESCAPED  # (the callee's analysis follows them)
    module = getattr(callee, "__module__", None) or ""
    return (module == "numpy" or module.startswith("numpy.") or isinstance(callee, np.ufunc)) and isinstance(
        value_of(call), Array
    )


def chain_bound(known: dict) -> int:
    """A bound on the length of a chain of Values of one name, over the 5 of
    a number or array (containers join item by item, capped in size and
    nesting)."""
    leaves = sum(_leaves(v) for v in known.values())
    return max(leaves, 1) * MAX_ITEMS * MAX_NESTING


def _leaves(value) -> int:
    if isinstance(value, Struct):
        return sum(_leaves(v) for _, v in value.items)
    if isinstance(value, Seq):
        return _leaves(value.item)
    return 1


# ------------------------------------------------------------ described containers


def structs_escape(tree: ast.FunctionDef, value_of) -> bool:
    """Whether a container of known structure (a Struct: an argument's dict,
    list or object) may be used otherwise than read: each expression whose
    value is such a Struct must be indexed or have an attribute read (the
    result bound to a name or used as a value, never called nor written), be
    ``len``'s argument, or be the whole value of ``name = ...``. Anything
    else (passed to a function, returned, stored into, a method called on
    it) may change what the structure describes. Tuples holding no such
    container are exempt: nothing changes them. ``value_of(node)``: its
    Value, None when it has none yet."""
    value_of = _caught(value_of)
    parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Name, ast.Subscript, ast.Attribute)) or not isinstance(node.ctx, ast.Load):
            continue
        value = value_of(node)
        if isinstance(value, Struct) and not _immutable(value) and not _reads(node, value, parents):
            return True
    return False


def _immutable(value) -> bool:
    if isinstance(value, Struct):
        return value.kind == "tuple" and all(_immutable(v) for _, v in value.items)
    return True


# adjoints of an item of a container (in a gradient that is differentiated in turn)
_ITEM_ADJOINTS = (runtime.grad_of_index, runtime.grad_of_attribute)


def _reads(node: ast.expr, value: Struct, parents: dict) -> bool:
    parent = parents.get(id(node))
    read = ast.Attribute if value.kind == "object" else ast.Subscript  # (no __getitem__ of an object)
    if isinstance(parent, read) and parent.value is node:
        return isinstance(parent.ctx, ast.Load) and not (
            isinstance(parents.get(id(parent)), ast.Call) and parents[id(parent)].func is parent
        )
    if isinstance(parent, ast.Call) and ir.callee(parent) is len and parent.args == [node] and not parent.keywords:
        return value.kind != "object"
    if isinstance(parent, ast.Call) and ir.callee(parent) is runtime.fresh_tangent and node in parent.args[1:]:
        return True  # (a tangent the returned one may share memory with: compared, never changed nor kept)
    if isinstance(parent, ast.Call) and ir.callee(parent) is runtime.check_tangent and node in parent.args:
        return True  # (a tangent's shape compared with its argument's: nothing changed nor kept)
    callee = ir.callee(parent) if isinstance(parent, ast.Call) else None
    if callee is not None and any(callee is f for f in _ITEM_ADJOINTS) and parent.args[:1] == [node]:
        return True  # (the adjoint of an item of it, in a fresh container: read, never changed nor kept)
    return (
        isinstance(parent, ast.Assign) and parent.value is node and all(isinstance(t, ast.Name) for t in parent.targets)
    )
