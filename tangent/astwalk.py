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
  several times faster;
* ``copy_nodes(x)``: a copy of the nodes and lists of a tree sharing every
  other value its nodes hold (annotations such as ``tangent_value``);
* ``FastTransformer``: an ``ast.NodeTransformer`` with the same results;
* ``children_fields(cls)``: the fields of a node class that may hold nodes
  with children or locations (what the helpers above descend into).

Each is checked against its stdlib counterpart in tests/test_astwalk.py.
Assumes trees are made of ``ast`` nodes and the markers of ``ir`` (any
``ast.AST`` subclass whose ``_fields`` list its child fields).
"""

from __future__ import annotations

import ast
import copy

_AST = ast.AST
_Name = ast.Name
_Constant = ast.Constant

# ASDL types whose values hold no node with children or a location: names,
# constants, and the field-less operator and context nodes.
_LEAF_TYPES = frozenset(("identifier", "string", "constant", "int", "expr_context", "operator", "boolop", "unaryop",
                         "cmpop", "type_ignore"))
_children: dict[type, tuple[str, ...]] = {}  # class -> fields that may hold nodes with children or locations


def children_fields(cls: type) -> tuple[str, ...]:
    """The fields of node class ``cls`` that may hold nodes with children or
    a location (not a Name's ``ctx``, a BinOp's ``op``, a Constant's
    ``value``). Read from the ASDL signature ``ast`` gives each class as its
    docstring (``BinOp(expr left, operator op, expr right)``); a class
    without one (the markers of ``ir``) keeps all its fields but ``ctx``."""
    found = _children.get(cls)
    if found is not None:
        return found
    doc = (cls.__doc__ or "").split("\n", 1)[0]
    fields = None
    if cls.__module__ == "ast" and doc.startswith(cls.__name__ + "(") and doc.endswith(")"):
        fields = []
        for part in doc[len(cls.__name__) + 1:-1].split(","):
            type_name, _, field = part.strip().rpartition(" ")
            if type_name.rstrip("*?") not in _LEAF_TYPES:
                fields.append(field)
        if not set(fields) <= set(cls._fields):
            fields = None  # a signature this reading does not understand
    if fields is None:
        fields = [f for f in cls._fields if f != "ctx"]
    found = _children[cls] = tuple(fields)
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
    pop, push, found = stack.pop, stack.append, out.append
    children = _children
    while stack:
        n = pop()
        cls = n.__class__
        if cls is _Name or isinstance(n, _Name):
            found(n)
            continue
        fields = children.get(cls)
        if fields is None:
            fields = children_fields(cls)
        for f in fields:
            v = getattr(n, f, None)
            vcls = v.__class__
            if vcls is _Name:
                found(v)
            elif vcls is list:
                for x in v:
                    xcls = x.__class__
                    if xcls is _Name:
                        found(x)
                    elif xcls is not _Constant and isinstance(x, _AST):
                        push(x)
            elif vcls is not _Constant and isinstance(v, _AST):
                push(v)
    return out


def loaded_names(node: ast.AST) -> set[str]:
    """The ids of the names ``node`` reads."""
    return {n.id for n in names_in(node) if isinstance(n.ctx, ast.Load)}


def stored_names(node: ast.AST) -> set[str]:
    """The ids of the names ``node`` assigns."""
    return {n.id for n in names_in(node) if isinstance(n.ctx, ast.Store)}


_ATOMIC = frozenset((str, int, float, bool, type(None)))


def _subclasses(cls):
    out = {cls}
    for sub in cls.__subclasses__():
        out |= _subclasses(sub)
    return out


# Contexts and operators have no fields and never change: a copy shares them
# (the parser shares one ``Load()`` among all names too).
_KEEP = _ATOMIC | frozenset(c for base in (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)
                            for c in _subclasses(base))


def copy_tree(value, memo: dict | None = None):
    """``copy.deepcopy(value)`` for ASTs, lists of them and what nodes hold:
    nodes and lists are rebuilt directly (no ``__reduce_ex__``), anything
    else goes through ``copy.deepcopy`` with the same memo, so objects shared
    within the tree stay shared in the copy, as with ``deepcopy``. Context
    and operator nodes (``Load()``, ``Add()``: no fields) are shared with the
    original instead of copied."""
    if memo is None:
        memo = {}
    cls = value.__class__
    if cls in _KEEP:
        return value
    found = memo.get(id(value))
    if found is not None:
        return found
    if isinstance(value, _AST):
        new = cls.__new__(cls)
        memo[id(value)] = new
        fields = new.__dict__
        for key, v in value.__dict__.items():
            fields[key] = v if v.__class__ in _KEEP else copy_tree(v, memo)
        return new
    if cls is list:
        new = memo[id(value)] = []
        new.extend([v if v.__class__ in _KEEP else copy_tree(v, memo) for v in value])
        return new
    return copy.deepcopy(value, memo)


def copy_nodes(value, memo: dict | None = None):
    """A copy of the ``ast`` nodes and lists in ``value`` (a tree or a list
    of trees) that shares everything else they hold: the values annotations
    refer to (a global's value, a callee, a bound method's object) stay the
    same objects, as they must for code generated from the copy. Nodes
    shared within the tree stay shared in the copy; contexts and operators
    are shared with the original, as in ``copy_tree``."""
    if memo is None:
        memo = {}
    cls = value.__class__
    if cls is list:
        found = memo.get(id(value))
        if found is None:
            found = memo[id(value)] = []
            found.extend([copy_nodes(v, memo) for v in value])
        return found
    if cls in _KEEP or not isinstance(value, _AST):
        return value
    found = memo.get(id(value))
    if found is None:
        found = memo[id(value)] = cls.__new__(cls)
        fields = found.__dict__
        for key, v in value.__dict__.items():
            fields[key] = v if v.__class__ in _KEEP else copy_nodes(v, memo)
    return found


_LEAVES = (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop, ast.Constant, ast.Name)


def _leaf(self, node):
    return node


class FastTransformer(ast.NodeTransformer):
    """``ast.NodeTransformer`` with the same results, faster: the visitor of
    each node class is looked up once, and nodes with nothing to transform
    (names, constants, operators, contexts without a ``visit_`` method of
    their own) are not visited. Subclasses define ``visit_X`` methods as
    usual but must not override ``visit``."""

    _dispatch: dict = {}
    _all_fields = False  # whether generic_visit must also visit contexts and operators

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._dispatch = {}
        leaf_classes = {c for base in _LEAVES[:5] for c in _subclasses(base)}
        cls._all_fields = any(hasattr(cls, "visit_" + c.__name__) for c in leaf_classes)

    def _lookup(self, ncls):
        name = "visit_" + ncls.__name__
        method = getattr(type(self), name, None)
        if method is not None and not (name == "visit_Constant" and method is ast.NodeVisitor.visit_Constant):
            found = method
        elif issubclass(ncls, _LEAVES):
            found = _leaf  # generic_visit would find no child to change
        else:
            found = FastTransformer.generic_visit
        self._dispatch[ncls] = found
        return found

    def visit(self, node):
        visitor = self._dispatch.get(node.__class__) or self._lookup(node.__class__)
        return visitor(self, node)

    def generic_visit(self, node):
        dispatch = self._dispatch
        cls = node.__class__
        for field in cls._fields if self._all_fields else (_children.get(cls) or children_fields(cls)):
            try:
                old_value = getattr(node, field)
            except AttributeError:
                continue
            if isinstance(old_value, list):
                new_values = []
                for value in old_value:
                    if isinstance(value, _AST):
                        visitor = dispatch.get(value.__class__) or self._lookup(value.__class__)
                        if visitor is not _leaf:
                            value = visitor(self, value)
                            if value is None:
                                continue
                            if not isinstance(value, _AST):
                                new_values.extend(value)
                                continue
                    new_values.append(value)
                old_value[:] = new_values
            elif isinstance(old_value, _AST):
                visitor = dispatch.get(old_value.__class__) or self._lookup(old_value.__class__)
                if visitor is _leaf:
                    continue
                new_node = visitor(self, old_value)
                if new_node is None:
                    delattr(node, field)
                else:
                    setattr(node, field, new_node)
        return node
