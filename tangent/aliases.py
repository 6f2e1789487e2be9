"""Aliasing: which values may share memory.

Question answered: after an assignment, may the new name share memory with
another (a copy of the name, an item, a view such as a reshape or ``.T``, a
container holding it, the result of a user function that may return an
argument)? And which names may be (part of) an object the caller passed?

Input: a function in Tangent's normal form with ``tangent_callee`` on its
calls. Output: ``alias_source`` / ``view_source`` for one value,
``argument_memory`` (a dataflow analysis over the CFG),
``may_return_an_argument`` for a callee, and for forward mode
``written_alias_classes``, ``writes_in_place`` and ``statically_fresh``.

Assumes: NumPy's and math's functions return new values except the views
listed in ``view_functions``; the user's functions may return (views of)
their arguments unless their source shows that every ``return`` gives a
value they computed. Answers err on the side of "may share".
"""

from __future__ import annotations

import ast
import builtins
import functools
import inspect
import textwrap
import types as pytypes
import weakref
from collections.abc import Iterable

import numpy as np

from . import ir, rules, runtime
from .activity import BINARY_OPERATORS
from .astwalk import walk_list
from .cfg import CFG, names_loaded, solve
from .frontend import UNRESOLVED
from .runtime.arguments import check_number_list, private_copy

# Operations whose result is part of their input in the value and in the
# tangent alike (an item of a list, an attribute, a popped item, the
# argument max() picks).
ITEM_READS = (runtime.attribute, list.pop, builtins.max, builtins.min)

# Calls whose result is a new container holding (some of) the items of their
# arguments: writing into the result leaves the arguments alone, writing into
# an item read from it does not.
_CONTAINER_CALLS = {list, tuple, dict, sorted, reversed, zip, enumerate, map, filter, list.copy, dict.copy,
                    dict.items, dict.values, dict.keys}
CONTAINER_CALLS = frozenset(_CONTAINER_CALLS)
# NumPy functions whose results are always arrays of one or more dimensions:
# indexing with them (advanced indexing) copies.
_INDEX_ARRAY_FUNCTIONS = ("arange", "nonzero", "flatnonzero", "argsort", "argwhere")
# Copies that ``copy=False`` (or None) turns into views.
_COPIES = (np.array, np.ndarray.astype, np.copy)
# NumPy functions (besides ufuncs) whose result is always a new array or scalar.
_NEW_ARRAY_FUNCTIONS = {getattr(np, n) for n in (
    "sum", "mean", "prod", "cumsum", "cumprod", "dot", "matmul", "where", "outer", "inner", "tensordot",
    "einsum", "concatenate", "stack", "hstack", "vstack", "tile", "repeat", "sort", "trace", "zeros",
    "zeros_like", "ones_like", "full", "var", "std", "max", "min", "amax", "amin", "clip", "roll", "cross",
    "kron")}  # (not flip, fliplr, flipud: views; nor diff: diff(x, n=0) is x)


def view_functions() -> frozenset:
    """Operations whose result may share memory with their first argument
    (or receiver): NumPy's, and those rule modules declare
    (``rules.declare_views``: torch's reshape, transpose, ...)."""
    return _view_functions(rules.version())


@functools.cache
def _view_functions(version: int) -> frozenset:
    names = ["reshape", "ravel", "transpose", "squeeze", "expand_dims", "swapaxes", "moveaxis",
             "broadcast_to", "asarray", "atleast_1d", "atleast_2d", "atleast_3d", "diagonal", "real", "imag",
             "flip", "fliplr", "flipud", "split", "array_split", "hsplit", "vsplit", "dsplit", "unstack"]
    found = {getattr(np, n) for n in names if hasattr(np, n)}
    found |= {getattr(np.ndarray, n) for n in ["reshape", "ravel", "transpose", "squeeze", "swapaxes", "view",
                                                "diagonal", "T", "real", "imag"]}
    return frozenset(found | rules.VIEWS)


def _is_in(callee, group) -> bool:
    """``callee in group``, False for unhashable callees."""
    try:
        return callee in group
    except TypeError:
        return False


def _receiver(value: ast.expr) -> str | None:
    """The variable an attribute, method call or function call operates on:
    ``x.T``, ``x.reshape(...)``, ``np.reshape(x, ...)`` -> ``x``."""
    if isinstance(value, ast.Attribute):
        return value.value.id if isinstance(value.value, ast.Name) else None
    if ir.is_method(value):
        return value.func.value.id if isinstance(value.func.value, ast.Name) else None
    args = value.args if isinstance(value, ast.Call) else []
    return args[0].id if args and isinstance(args[0], ast.Name) else None


def alias_source(value: ast.expr) -> str | None:
    """The variable whose memory ``value`` may share, if any: a name, the
    base of a subscript, the operand of a view."""
    if isinstance(value, ast.Name):
        return value.id
    if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name):
        return value.value.id
    if _is_in(ir.callee(value), view_functions()):
        return _receiver(value)
    return None


def view_source(value: ast.expr) -> str | None:
    """The variable whose memory the result of ``value`` may share: views,
    and copies that ``copy=False`` (or None) turns into views."""
    callee = ir.callee(value)
    if callee is None or not (_is_in(callee, view_functions()) or _is_in(callee, _COPIES)):
        return None
    if _is_in(callee, _COPIES):
        copies = [k.value for k in getattr(value, "keywords", []) if k.arg == "copy"]
        if not copies or isinstance(copies[0], ast.Constant) and copies[0].value is True:
            return None  # always a copy
    return _receiver(value)


def index_makes_copy(index: ast.expr, definitions: dict, base: str) -> bool:
    """Whether ``base[index]`` certainly copies: advanced (integer or boolean
    array) indexing of an array. A list index (``x[[0, 1]]``), an array built
    from a list, ``np.arange(...)``, ``np.nonzero(...)`` and comparisons of
    the indexed array itself (``x[x > 0]``) are such indices; an integer, a
    slice or anything unknown may give a view, or an item of a list that is
    the caller's object. ``definitions`` maps names to their assigned values."""
    def is_list(node):
        if isinstance(node, (ast.List, ast.ListComp)):
            return True
        return isinstance(node, ast.Name) and bool(definitions.get(node.id)) and all(
            isinstance(v, (ast.List, ast.ListComp)) for v in definitions[node.id])

    def fancy_value(value):
        if isinstance(value, (ast.List, ast.ListComp)):
            return True
        if isinstance(value, ast.Compare):
            return base in names_loaded(value)  # x > 0 where x is indexable by it: an array
        callee = ir.callee(value)
        if isinstance(value, ast.Call) and callee is not None:
            if callee in (np.array, np.asarray) and value.args and is_list(value.args[0]):
                return True
            return any(callee is getattr(np, n) for n in _INDEX_ARRAY_FUNCTIONS)
        return False

    if isinstance(index, ast.Tuple):
        return any(index_makes_copy(e, definitions, base) for e in index.elts)
    if isinstance(index, ast.Name):
        values = definitions.get(index.id)
        return bool(values) and all(fancy_value(v) for v in values)
    return fancy_value(index)


def assigned_values(nodes: Iterable[ast.AST]) -> dict[str, list]:
    """{name: the values ``name = value`` statements among ``nodes`` assign}."""
    definitions: dict[str, list] = {}
    for node in nodes:
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    definitions.setdefault(t.id, []).append(node.value)
    return definitions


# ------------------------------------------------------- argument memory
def argument_memory(tree: ast.FunctionDef, cfg: CFG) -> tuple[dict, dict]:
    """Which names may share memory with the caller's arguments.

    A forward may-analysis whose facts are triples ``(name, parameter,
    direct)``: ``name`` may be (a view of, an item of, the iteration target
    over) the object the caller passed as ``parameter`` (``direct``), or a
    container made in the function that holds such objects (not direct:
    writing into it leaves the caller's objects alone, but what is read from
    it is direct). Returns (facts before each node, {name: [statements that
    made it share]}).
    """
    params = [a.arg for a in tree.args.posonlyargs + tree.args.args + tree.args.kwonlyargs]
    definitions = assigned_values(walk_list(tree))
    for p in params:
        definitions.setdefault(p, []).append(None)
    made: dict[str, list] = {}

    def shares(target, new, stmt):
        if new:
            made.setdefault(target, []).append(stmt)

    def transfer(node, facts):
        if node is cfg.entry:
            return frozenset((p, p, True) for p in params)
        stmt = node.stmt
        if isinstance(stmt, ast.For):
            target = stmt.target.id
            new = {(target, f[1], True) for f in facts if f[0] in names_loaded(stmt.iter)}
            shares(target, new, stmt)
            return {f for f in facts if f[0] != target} | new
        if isinstance(stmt, ast.Assign):
            return _assignment_memory(stmt, facts, definitions, shares)
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) \
                and ir.callee(stmt.value) in (list.append, list.extend, list.insert) \
                and isinstance(stmt.value.func, ast.Attribute) and isinstance(stmt.value.func.value, ast.Name):
            target = stmt.value.func.value.id
            new = {(target, f[1], False) for f in facts if f[0] in names_loaded(stmt.value) - {target}}
            shares(target, new, stmt)
            return facts | new
        return facts

    inp, _ = solve(cfg, transfer, forward=True)
    return inp, made


def _assignment_memory(stmt: ast.Assign, facts, definitions: dict, shares):
    """argument_memory's transfer through an assignment."""
    t = stmt.targets[0]
    if isinstance(t, ast.Name):
        if ir.get(stmt, "augmented", False):
            return facts  # y += e: the same object (an array) or a new number
        target = t.id
        new = set()
        for source, how in _memory_sources(stmt.value, definitions):
            for f in facts:
                if f[0] == source:
                    new.add((target, f[1], True if how is True else f[2] if how is None else False))
        shares(target, new, stmt)
        return {f for f in facts if f[0] != target} | new
    if isinstance(t, (ast.Subscript, ast.Attribute)) and isinstance(t.value, ast.Name):
        target = t.value.id  # c[k] = v: c now holds v
        new = {(target, f[1], False) for f in facts if f[0] in names_loaded(stmt.value)}
        shares(target, new, stmt)
        return facts | new
    if isinstance(t, ast.Tuple):
        names = {e.id for e in t.elts if isinstance(e, ast.Name)}
        new = {(n, f[1], True) for n in names for f in facts if f[0] in names_loaded(stmt.value)}
        return {f for f in facts if f[0] not in names} | new
    return facts


def _memory_sources(value: ast.expr, definitions: dict) -> list[tuple[str, bool | None]]:
    """(name, how): the result holds what ``name`` holds (how None: same
    kind as name's), is an item of it (True), or holds its items (False)."""
    if isinstance(value, ast.Name):
        return [(value.id, None)]
    if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name):
        if index_makes_copy(value.slice, definitions, value.value.id):
            return []
        return [(value.value.id, True)]
    if isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name):
        if ir.is_global(value):
            return []
        return [(value.value.id, True)]
    if isinstance(value, (ast.List, ast.Tuple, ast.Dict)):
        return [(n, False) for n in sorted(names_loaded(value))]
    if isinstance(value, ast.BinOp):
        if ir.callee(value) in BINARY_OPERATORS.values():
            return []  # arithmetic: a new value
        return [(n, False) for n in sorted(names_loaded(value))]  # concatenation, repetition
    if isinstance(value, ast.Call):
        callee = ir.callee(value)
        if _is_in(callee, view_functions()):
            receiver = value.func.value if ir.is_method(value) else (
                value.args[0] if value.args else None)
            return [(receiver.id, None)] if isinstance(receiver, ast.Name) else []
        if _is_in(callee, _CONTAINER_CALLS):
            return [(n, False) for n in sorted(names_loaded(value))]
        if may_return_an_argument(callee):
            return [(n, True) for n in sorted(names_loaded(value))]
    return []


# ------------------------------------------------------- callees
def may_return_an_argument(callee) -> bool:
    """Whether a call's result may be (a view of, or hold) one of its
    arguments: the user's own functions may; NumPy's and math's functions
    (other than the views listed in view_functions) return new values."""
    if callee is None or callee is UNRESOLVED:
        return True
    module = getattr(callee, "__module__", None) or ""
    if module.startswith(("numpy", "math", "scipy", "tangent")) or module in ("builtins", "operator", "_operator"):
        return callee in (list, tuple, dict, getattr) or getattr(callee, "__name__", "") in ("as_sequence",)
    if isinstance(callee, (pytypes.BuiltinFunctionType, pytypes.BuiltinMethodType, pytypes.MethodDescriptorType,
                           pytypes.WrapperDescriptorType, pytypes.GetSetDescriptorType)):
        return getattr(callee, "__objclass__", None) in (list, dict)  # list.copy shares the items
    if isinstance(callee, type) and module.startswith("numpy"):
        return False
    if isinstance(callee, pytypes.FunctionType):
        return not _returns_new_values(callee)
    return True


_fresh_returns: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _returns_new_values(fn) -> bool:
    """Whether every ``return`` of the user's function ``fn`` gives a value it
    computed: arithmetic, or a NumPy/math call other than a view, directly or
    through local variables assigned only such values. Anything else (an
    argument, an item, a container, a call of another user function) may
    share memory with an argument."""
    cached = _fresh_returns.get(fn)
    if cached is not None:
        return cached
    _fresh_returns[fn] = False  # recursion: assume the worst
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]
    except (OSError, TypeError, SyntaxError, IndexError):
        return False
    if not isinstance(tree, ast.FunctionDef):
        return False
    assigned = _local_values(tree)
    if assigned is None:
        return False
    fresh_expr = _fresh_expression(dict(getattr(fn, "__globals__", {})), fn)
    params = {a.arg for a in tree.args.posonlyargs + tree.args.args + tree.args.kwonlyargs}

    def fresh(node):
        if isinstance(node, ast.Name):
            values = assigned.get(node.id)
            return node.id not in params and bool(values) and all(
                fresh_expr(v) for v in values if v is not None) and None not in values
        return fresh_expr(node)

    returns = [n for n in walk_list(tree) if isinstance(n, ast.Return)]
    result = bool(returns) and all(r.value is not None and fresh(r.value) for r in returns)
    _fresh_returns[fn] = result
    return result


def _local_values(tree: ast.FunctionDef) -> dict[str, list] | None:
    """{name: values assigned to it} of a parsed (not normalized) function;
    None when it binds names in ways this does not follow (with, walrus,
    globals, nested functions, yields; a ``for`` target is any value)."""
    assigned: dict[str, list] = {}
    for node in walk_list(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                for n in walk_list(t):
                    if isinstance(n, ast.Name):
                        assigned.setdefault(n.id, []).append(node.value if not isinstance(node, ast.AugAssign)
                                                             else ast.BinOp(left=n, op=node.op, right=node.value))
        elif isinstance(node, ast.For) and isinstance(node.target, (ast.Name, ast.Tuple)):
            for n in walk_list(node.target):  # a loop's target: any value (its body's assignments are read)
                if isinstance(n, ast.Name):
                    assigned.setdefault(n.id, []).append(None)
        elif isinstance(node, (ast.For, ast.With, ast.NamedExpr, ast.Global, ast.Nonlocal, ast.Lambda,
                               ast.FunctionDef, ast.Yield)) and node is not tree:
            return None
    return assigned


def _fresh_expression(namespace: dict, fn=None):
    """fresh_expr(node): whether an expression of a function whose globals
    are ``namespace`` certainly computes a new value. A call of ``fn``
    itself (recursion) counts as new: ``_returns_new_values(fn)`` then holds
    by induction on the depth of the calls (the deepest returns without a
    recursive call's result)."""
    views = view_functions()

    def resolve(node):
        if isinstance(node, ast.Name):
            return namespace.get(node.id, UNRESOLVED)
        if isinstance(node, ast.Attribute):
            owner = resolve(node.value)
            return getattr(owner, node.attr, UNRESOLVED) if owner is not UNRESOLVED else UNRESOLVED
        return UNRESOLVED

    def fresh_expr(node):
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult)):
            # + and * also concatenate and repeat lists, whose items stay shared:
            # new only when an operand is certainly a number or an array
            return any(fresh_expr(side) and not (isinstance(side, ast.Constant) and type(side.value) is int)
                       for side in (node.left, node.right))
        if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Constant, ast.Compare)):
            return True
        if isinstance(node, ast.Call):
            callee = resolve(node.func)
            if fn is not None and callee is fn:
                return True
            module = getattr(callee, "__module__", None) or ""
            return (callee is not UNRESOLVED and not _is_in(callee, views) and module.startswith(("numpy", "math"))
                    and getattr(callee, "__name__", "") not in ("asarray", "asanyarray", "squeeze", "ravel"))
        return False

    return fresh_expr


# ------------------------------------------------------- forward mode
def statically_fresh(tangent: ast.expr, zeros_like: str, broadcast_tangent: str, namespace=None) -> bool:
    """Whether the (generated) tangent expression certainly builds a new
    value; ``zeros_like`` / ``broadcast_tangent`` are the names the helpers
    of those names are bound to, ``namespace`` the generated code's globals."""
    if isinstance(tangent, (ast.BinOp, ast.UnaryOp, ast.Constant, ast.List, ast.Tuple, ast.Dict)):
        return True
    if isinstance(tangent, ast.Call) and isinstance(tangent.func, ast.Attribute) and namespace is not None \
            and isinstance(tangent.func.value, ast.Name) and namespace.get(tangent.func.value.id) is np:
        function = getattr(np, tangent.func.attr, None)
        if isinstance(function, np.ufunc) or function in _NEW_ARRAY_FUNCTIONS:
            return True
    if isinstance(tangent, ast.Call) and getattr(tangent.func, "id", None) == broadcast_tangent and tangent.args:
        # it copies only what it broadcasts
        return statically_fresh(tangent.args[0], zeros_like, broadcast_tangent, namespace)
    return (isinstance(tangent, ast.Call) and isinstance(tangent.func, ast.Name)
            and tangent.func.id == zeros_like)


IN_PLACE_METHODS = (list.append, list.pop, list.extend, list.insert, list.remove, list.clear, list.sort,
                    list.reverse, dict.update, dict.pop, dict.setdefault, runtime.restore_region)


def writes_in_place(tree: ast.FunctionDef, private: frozenset[str] = frozenset()) -> bool:
    """Whether the function writes into an array, list, dict or object;
    appends to and pops from the lists ``private`` (which no other name can
    hold, see ``forward.private_lists``) do not count."""
    for node in walk_list(tree):
        if ir.is_setitem(node):
            return True
        if isinstance(node, ast.AugAssign) and isinstance(node.target, (ast.Subscript, ast.Attribute)):
            return True
        callee = ir.callee(node)
        if callee in IN_PLACE_METHODS:
            if callee in (list.append, list.pop) and isinstance(node.func, ast.Attribute) \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id in private:
                continue
            return True
    return False


def number_items_dropped(edges: list, order: list) -> list:
    """``edges`` without the "item" edges (``t = r[n]``) from a list checked
    at run time to hold Python numbers only (``check_number_list(r)``, then
    ``r_copy = private_copy(r)``: private_arguments.py), and names that are
    the same list: such an item
    is an immutable number, and a slice of it a new list, sharing no memory
    with ``r``."""
    lists = {stmt.value.args[0].id for stmt in order if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
             and ir.callee(stmt.value) is check_number_list and stmt.value.args
             and isinstance(stmt.value.args[0], ast.Name)}
    lists |= {stmt.targets[0].id for stmt in order if ir.kind_or_none(stmt) is ir.Kind.ASSIGN
              and isinstance(stmt.value, ast.Call) and ir.callee(stmt.value) is private_copy
              and isinstance(stmt.value.args[0], ast.Name) and stmt.value.args[0].id in lists}
    if not lists:
        return edges
    grew = True
    while grew:  # (lists only grows, within the edges' names: this ends)
        grew = False
        for a, b, kind, _ in edges:
            if kind == "same" and (a in lists) != (b in lists):
                lists |= {a, b}
                grew = True
    return [e for e in edges if not (e[2] == "item" and e[1] in lists and isinstance(e[3].value, ast.Subscript))]


def shared_slots(edges: list, same: set[str], order: list) -> tuple | None:
    """An edge putting one object into two slots of the container ``same``
    names (``[z, z]``, ``[z] * 3``, ``{"a": z, "b": w}`` with ``w = z``, z
    appended in a loop that does not rebind it), else None: ``y[k] += v``
    into it writes into what another slot holds (``edges`` as mutations'
    ``_alias_edges``)."""
    held: dict[str, tuple] = {}
    loops = [s for s in order if isinstance(s, (ast.For, ast.While))]
    for e in edges:
        if e[0] not in same or e[2] not in ("contains", "call"):
            continue
        value = e[3].value
        elts = value.values if isinstance(value, ast.Dict) else getattr(value, "elts", None)
        names = [n.id for n in elts or () if isinstance(n, ast.Name)]
        if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Mult) or len(names) != len(set(names)) \
                or e[1] in held or any(e[3] in ast.walk(loop) and e[1] not in _computed_in(loop) for loop in loops):
            return e
        held[e[1]] = e
    joined = [e for e in edges if e[0] not in same and e[1] not in same and e[2] != "contains"]
    for n in held:  # (one object under two of the held names: a copy of a name, items of one container, ...)
        members, grew = {n}, True
        while grew:
            grew = False
            for a, b, _, _ in joined:
                if (a in members) != (b in members):
                    members, grew = members | {a, b}, True
        if any(m in members for m in held if m != n):
            return held[n]
    return None


def _computed_in(loop: ast.stmt) -> set[str]:
    """The names a loop's body binds to values it computes (not aliases)."""
    return {s.targets[0].id for s in ast.walk(loop) if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name)
            and alias_source(s.value) is None}
