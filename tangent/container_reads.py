"""One read per container item in specialised code.

Question answered: which reads ``v = c[key]`` / ``v = c.name`` of an argument
whose structure the specialisation key captures can be done once, at the
function's entry, instead of where (and as often as) the source does them?
Reverse mode then keeps one variable per item: a read inside a loop is no
longer a value saved on the stack every step, and ``p.x`` read five times is
one variable with one accumulated adjoint, added into ``dp`` once.

Input: a function in Tangent's normal form and the descriptions of the
example arguments (``shapes.describe_argument``); ``shapes.infer_shapes``
says which containers are only read, never written, passed on or called
(``Shapes.structs``). ``share_container_reads`` rewrites the
function in place and returns the number of reads it removed or moved.

A read is shared when all of these hold (otherwise it stays where it is):

* the container is a parameter (or a variable defined once by a shared read:
  ``layers[0]`` of a list of tuples, then its ``[1]``) that the function
  never rebinds, and whose structure is assumed (``Shapes.structs``): only
  indexed or read, so no statement of the function changes what it holds;
* the key is a constant (or the attribute a name) that the structure has: the
  specialisation key guarantees the item exists, so reading it at the entry
  raises nothing that the source would not;
* the variable is bound once in the whole function, by this read, and never
  written into (no ``v[i] = ...``, ``v.a = ...``, augmented assignment);
* the function calls nothing but functions Tangent has rules or shapes for
  (NumPy, math, builtins, Tangent's runtime): no user function that could
  reach the container through a global and change an item between two reads.

Reads of plain ``dict``, ``list`` and ``tuple`` objects and of an object's
``__dict__`` (the only containers ``shapes.argument_kind`` describes) run no
user code, so moving them changes no result.
"""

from __future__ import annotations

import ast

from . import ir
from .rules.shape_values import Struct
from .shapes import infer_shapes

__all__ = ["assumed_containers", "share_container_reads"]

_SAFE_MODULES = ("numpy", "math", "builtins", "tangent", "scipy", "operator", "_operator")


def share_container_reads(tree: ast.FunctionDef, arguments: dict | None) -> int:
    """``arguments``: the parameters' descriptions
    (``shapes.describe_argument`` of the example arguments). Move each
    shareable read of an assumed container's item (see the module docstring) to the function's entry, one per (container, key),
    renaming the other reads' variables to the first. Returns the number
    of reads moved or removed (0: the function is unchanged).

    Example::

        # for _ in range(n): x = c['decay'] * x     (c a dict argument)
        # becomes
        # _c_decay = c['decay']; for _ in range(n): x = _c_decay * x
    """
    structs = _assumed_structs(tree, arguments)
    if not structs:
        return 0
    stores, written = _stores(tree)
    bases = _unchanged_parameters(tree, structs, stores)
    first: dict[tuple, str] = {}  # (container, key) -> the variable kept
    before: dict[int, list[ast.stmt]] = {}  # id of a top-level statement -> reads moved before it
    renames: dict[str, str] = {}
    moved = 0
    changed = True
    while changed:
        changed = False
        for top in list(tree.body):
            for stmt, block in _statements([top]):
                read = _shareable_read(stmt, bases, stores, written)
                if read is None or (stmt is not top and len(block) == 1) or first.get(read[1]) == read[0]:
                    continue  # (a block keeps a statement; a read kept is seen again)
                target, key = read
                kept = first.get(key)
                if kept is not None:
                    renames[target] = kept
                    _remove(tree.body, stmt)
                    changed = True
                    continue
                first[key] = target
                item = structs.get(target)
                if isinstance(item, Struct):
                    bases[target] = item  # its own items may be shared in turn
                if stmt is not top:  # in a loop or a branch: read once, before it
                    _remove(tree.body, stmt)
                    before.setdefault(id(top), []).append(stmt)
                    moved += 1
                changed = True
    if not moved and not renames:
        return 0
    body = []
    for stmt in tree.body:
        body.extend(before.get(id(stmt), ()))
        body.append(stmt)
    tree.body[:] = body
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in renames:
            node.id = renames[node.id]
    return moved + len(renames)


def assumed_containers(tree: ast.FunctionDef, arguments: dict | None) -> dict[str, Struct]:
    """{parameter: its Struct} for the container parameters whose items
    hold, all through the function, what the specialisation key says
    (``arguments`` as for ``share_container_reads``): never rebound, only
    indexed or read (``Shapes.structs``), in a function calling only known
    functions (see the module docstring)."""
    structs = _assumed_structs(tree, arguments)
    if not structs:
        return {}
    stores, written = _stores(tree)
    return {k: v for k, v in _unchanged_parameters(tree, structs, stores).items() if k not in written}


def _assumed_structs(tree: ast.FunctionDef, arguments: dict | None) -> dict:
    known = {k: v[1] for k, v in (arguments or {}).items() if v is not None}
    if not any(isinstance(v, Struct) for v in known.values()):
        return {}
    structs = dict(infer_shapes(tree, known).structs)
    return structs if structs and _calls_only_known_functions(tree) else {}


def _unchanged_parameters(tree: ast.FunctionDef, structs: dict, stores: dict) -> dict:
    params = {a.arg for a in tree.args.posonlyargs + tree.args.args + tree.args.kwonlyargs}
    return {name: value for name, value in structs.items() if name in params and stores.get(name, 0) == 0}


def _calls_only_known_functions(tree: ast.FunctionDef) -> bool:
    """Whether every call's callee is recorded and comes from NumPy, SciPy,
    math, the builtins or Tangent (no user function, nothing unresolved),
    and the function defines no nested function or class."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)) and node is not tree:
            return False
        if isinstance(node, ast.Call):
            callee = ir.callee(node)
            if callee is None:
                return False
            module = getattr(callee, "__module__", None) or getattr(type(callee), "__module__", None) or ""
            if module.split(".")[0] not in _SAFE_MODULES:
                return False
    return True


def _stores(tree: ast.FunctionDef) -> tuple[dict[str, int], set[str]]:
    """({name: how many times it is bound}, the names written into or
    rebound by augmented assignment, deleted or declared global)."""
    stores: dict[str, int] = {}
    written: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            stores[node.id] = stores.get(node.id, 0) + 1
        elif isinstance(node, (ast.Subscript, ast.Attribute)) and not isinstance(node.ctx, ast.Load):
            base = node.value
            while isinstance(base, (ast.Subscript, ast.Attribute)):
                base = base.value
            if isinstance(base, ast.Name):
                written.add(base.id)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            written.add(node.target.id)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            written.update(node.names)
    return stores, written


def _shareable_read(stmt: ast.stmt, bases: dict, stores: dict, written: set) -> tuple | None:
    """(target, (container, key)) for ``target = base[constant]`` or
    ``target = base.name`` of an assumed container having that item."""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
        return None
    if ir.kind_or_none(stmt) not in (None, ir.Kind.ASSIGN):
        return None
    target, value = stmt.targets[0].id, stmt.value
    if stores.get(target) != 1 or target in written or target in bases:
        return None
    if not isinstance(value, (ast.Subscript, ast.Attribute)) or not isinstance(value.value, ast.Name):
        return None
    base = bases.get(value.value.id)
    if base is None:
        return None
    if isinstance(value, ast.Attribute):
        if base.kind != "object":
            return None
        key = value.attr
    else:
        if base.kind == "object" or not isinstance(value.slice, ast.Constant):
            return None
        key = value.slice.value
        if isinstance(key, bool) or not isinstance(key, (int, str)):
            return None
    if not any(type(k) is type(key) and k == key for k, _ in base.items):
        return None
    return target, (value.value.id, key)


def _statements(body: list[ast.stmt]):
    """(statement, its block) for every statement of ``body``, nested
    blocks included, in order."""
    for stmt in list(body):
        yield stmt, body
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list):
                yield from _statements(inner)
        for handler in getattr(stmt, "handlers", []):
            yield from _statements(handler.body)


def _remove(body: list[ast.stmt], stmt: ast.stmt) -> bool:
    for i, s in enumerate(body):
        if s is stmt:
            del body[i]
            return True
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(s, field, None)
            if isinstance(inner, list) and _remove(inner, stmt):
                return True
        for handler in getattr(s, "handlers", []):
            if _remove(handler.body, stmt):
                return True
    return False
