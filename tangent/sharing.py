"""Alias classes: which variables of a function may share memory.

Question answered: for a normalized function, which variables may hold the
same memory as another (a name copied, a view ``y[:2]`` or ``y.T``, a
container holding a value, an item read out of one, the result of a call
that may return its argument)? A union-find over the function's
assignments; flow-insensitive, so it errs towards "may share".
``written_alias_classes`` gives the classes of variables written in place
(forward mode copies their tangents), ``names_sharing_memory`` every
variable that shares with another (reverse mode restores a region written
into an array whenever a view of it may be read). Example::

    # v = y[:2]; y[0] = 1.0  ->  names_sharing_memory(...) == {"y", "v"}
"""

from __future__ import annotations

import ast

from . import ir, rules, runtime
from .aliases import CONTAINER_CALLS, ITEM_READS, alias_source
from .astwalk import walk_list
from .cfg import names_loaded
from .ir import Kind
from .kinds import integer_names


def written_alias_classes(tree: ast.FunctionDef, analysis, private=frozenset()) -> set[str]:
    """The variables that may share memory (through copies of names, item
    reads, views, containers holding them and calls) with a variable that
    is written in place with a varied value (``analysis``: an
    activity.Analysis of ``tree``). Integer names share nothing. A write
    into a list of ``private`` (lists no other name can hold: appended to
    and popped from only) reaches that list alone, not its items."""
    find, parent, written = _alias_classes(tree, analysis)
    roots = {find(v) for v in written - private}
    # (a global the function stores into an object, np.tanh in obj.act = act, is no variable of it)
    variables = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)} \
        | {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}
    return ({v for v in list(parent) if find(v) in roots and v in variables} | (written & private)) \
        - integer_names(tree)


def names_sharing_memory(tree: ast.FunctionDef, analysis, shapes=None, arrays=frozenset()) -> set[str]:
    """The variables that may share memory with another variable of the
    function (a view, an alias, a container holding it; as for
    ``written_alias_classes``). Example: after ``v = y[:2]`` both y and v.
    With ``shapes`` (name -> shape, in specialised code), ``y[i, j]`` with
    one integer index per axis of y reads a number, which shares nothing;
    ``y[i] = v`` into a name of ``arrays`` (names that hold NumPy arrays
    where they are written into) copies v's values: y does not hold v."""
    ints = integer_names(tree)

    def element(value) -> bool:
        if not (shapes and isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name)):
            return False
        shape = shapes.get(value.value.id)
        index = value.slice.elts if isinstance(value.slice, ast.Tuple) else [value.slice]
        return shape is not None and len(index) == len(shape) and all(
            isinstance(i, ast.Constant) and type(i.value) is int or isinstance(i, ast.Name) and i.id in ints
            for i in index)

    find, parent, _ = _alias_classes(tree, analysis, element, arrays)
    size: dict[str, int] = {}
    for v in list(parent):
        size[find(v)] = size.get(find(v), 0) + 1
    return {v for v in list(parent) if size[find(v)] > 1} - integer_names(tree)


def _alias_classes(tree: ast.FunctionDef, analysis, element=lambda value: False, arrays=frozenset()):
    """(find, parent, written): a union-find over the function's variables
    joining those that may share memory, and the variables written in place
    with a varied value. ``element(value)``: the value is certainly a number
    read out of an array (it joins nothing)."""
    parent: dict[str, str] = {}

    def find(a):
        while parent.setdefault(a, a) != a:
            a = parent[a]
        return a

    def union(a, node_or_name):
        """Join ``a`` with a name, or with every name an expression reads."""
        if isinstance(node_or_name, str):
            parent[find(a)] = find(node_or_name)
            return
        for n in walk_list(node_or_name):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
                parent[find(a)] = find(n.id)

    written = set()
    for stmt in walk_list(tree):
        match ir.kind_or_none(stmt):
            case Kind.ASSIGN | Kind.POP:
                if not element(stmt.value):
                    _union_assignment(stmt, union)
            case Kind.SETITEM:
                var = ir.written_region(stmt)[0]
                if var not in arrays:
                    union(var, stmt.value)
                if names_loaded(stmt.value) & analysis.varied.get(id(stmt), set()):
                    written.add(var)
            case Kind.APPEND | Kind.RESTORE_REGION as form:
                call = stmt.value
                append = form is Kind.APPEND
                var = call.func.value.id if append else getattr(call.args[0], "id", None)
                item = call.args[0] if append else call.args[2]
                if var is None:
                    continue
                if append:
                    union(var, item)
                if names_loaded(item) & analysis.varied.get(id(stmt), set()):
                    written.add(var)
    return find, parent, written


def _holds_items(callee) -> bool:
    """Whether the call's result holds its argument's items (a container
    call, or the sequence a for loop runs over)."""
    try:
        return callee in CONTAINER_CALLS or callee is runtime.as_sequence
    except TypeError:  # unhashable
        return False


def _union_assignment(stmt: ast.Assign, union) -> None:
    """written_alias_classes: join ``target = value``'s target with what
    the value may share memory with."""
    target, value = stmt.targets[0].id, stmt.value
    source = alias_source(value)
    if source is not None:
        union(target, source)
    elif isinstance(value, (ast.List, ast.Tuple, ast.Dict, ast.Attribute)):
        union(target, value)
    elif isinstance(value, ast.Call) and not rules.is_nondifferentiable(ir.callee(value)):
        callee = ir.callee(value)
        # (list(us), as_sequence(us) of a for loop: a new container of us's items, which may be written)
        if callee in ITEM_READS or callee is None or rules.lookup_tangent(callee) is None \
                or _holds_items(callee):
            # a user function may return a view of an argument (the
            # function itself is no argument: h(a) does not alias h)
            operands = value.args + [k.value for k in value.keywords]
            if isinstance(value.func, ast.Attribute):
                operands.append(value.func.value)  # a method's receiver
            for operand in operands:
                union(target, operand)
