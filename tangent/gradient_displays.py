"""A container argument's gradient built as a display, in specialised code.

Takes a generated FunctionDef and its ``Specialization``; gives it with each
chain of indexed contributions to a container's adjoint::

    dparams = grad_of_index(params, 'b2', dlogits.sum(axis=0))
    ...
    dparams = add_at(dparams, 'W2', d_params_W2)
    return dparams

written as a careful person writes it: each contribution held by a name
where it was computed, and the adjoint built once, after the last one, as a
display of the container's structure (a dict's keys and a list's or tuple's
positions in order, the zeros of an item nothing contributes to as
``zeros_like(params['c'])``; an object's gradient, a dict by attribute, has
the attributes contributed to, in the order of their contributions)::

    d_params_b2 = dlogits.sum(axis=0)
    ...
    dparams = {'W1': d_params_W1, 'b1': d_params_b1, 'W2': d_params_W2, 'b2': d_params_b2}
    return dparams

which allocates no zeros for the items that get a contribution and makes no
call per item. Chains are statements of the function's body (not in a loop
or a branch) whose adjoint name those statements alone assign and read,
once more by the ``return`` or as the whole contribution of an enclosing
chain that is rewritten too (a list of tuples: a tuple display in a list
display), each slot contributed to at most once, by a value that is
certainly not ``None`` (an operation, a NumPy, SciPy or rule call, an array
method, ``zeros_like`` of a number or array, a name only assigned such values) and, for a name, not assigned
again before the display reads it.

Sound because the display holds what the chain's adjoint held: ``grad_of_index``
stores its contribution as it is into fresh zeros of the container's
structure (``runtime.adjoints``), and ``add_at`` into a slot still zeros
stores it as it is when it has the zeros' shape and dtype, else the sum
``zeros + g``; reverse mode's contribution to a read ``x[k]`` has the shape
of ``x[k]`` or is a number, and the returned gradient is made the caller's
own by ``ownership.owned_value``, which gives a number or a different dtype
the argument's shape and float dtype, as the sum with the zeros did. The
container's structure is the one its specialisation key records
(``Shapes.structs``). Assumes, as the other passes do, that the names of the
normal form keep their meaning in generated code.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import numpy as np

from . import runtime
from .astwalk import names_in
from .rules.shape_values import Array, Struct
from .value_facts import Specialization, ValueFacts

# ndarray methods and attributes that never give None
_ARRAY_METHODS = frozenset({"sum", "mean", "prod", "max", "min", "reshape", "transpose", "copy", "astype", "dot",
                            "ravel", "squeeze", "cumsum", "cumprod", "conj", "swapaxes", "flatten"})
_ARRAY_ATTRIBUTES = frozenset({"T", "mT", "real", "imag"})
_WRITING = frozenset({"copyto", "put", "place", "putmask", "put_along_axis", "fill_diagonal"})


@dataclass
class _Chain:
    """The statements (indices in the body) making one container adjoint."""

    container: str
    by_attribute: bool  # grad_of_attribute: the adjoint of an object's attribute reads
    statements: list = field(default_factory=list)
    slots: dict = field(default_factory=dict)  # key -> contribution, in the order of the contributions
    consumer: int | None = None  # the index of the statement reading the finished adjoint


def gradient_displays(fdef: ast.FunctionDef, special: Specialization) -> ast.FunctionDef:
    """The chains of ``grad_of_index``/``add_at`` at the top level of the
    function written as displays (see the module docstring); unchanged
    when the code cannot bind the globals a display may need."""
    if special.bind_global is None:
        return fdef
    facts = ValueFacts(fdef, special)
    chains = _chains(fdef, facts)
    if not chains:
        return fdef
    structs = getattr(special.shapes, "structs", None) or {}
    stores, loads = _counts(fdef)
    valid = {d for d, c in chains.items() if _valid(d, c, chains, fdef, facts, structs, stores, loads)}
    while True:  # a chain read by an enclosing one stays only if that one is rewritten
        dropped = {d for d in valid if _consumed_by(chains[d], chains, fdef) not in valid | {None}}
        if not dropped:
            break
        valid -= dropped
    if not valid:
        return fdef
    return _rewrite(fdef, {d: chains[d] for d in valid}, structs, special, stores)


def _chains(fdef, facts) -> dict[str, _Chain]:
    helpers = {runtime.grad_of_index: False, runtime.grad_of_attribute: True}
    chains: dict[str, _Chain] = {}
    broken = set()
    for i, stmt in enumerate(fdef.body):
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
                and isinstance(stmt.value, ast.Call) and len(stmt.value.args) == 3 and not stmt.value.keywords):
            continue
        d, (base, key, g) = stmt.targets[0].id, stmt.value.args
        if not (isinstance(base, ast.Name) and isinstance(key, ast.Constant)) or isinstance(g, ast.Starred):
            continue
        f = facts.callee(stmt.value)
        if f in helpers:
            if d in chains:
                broken.add(d)
            chains[d] = _Chain(base.id, helpers[f], [i], {key.value: g})
        elif f is runtime.add_at and base.id == d and d in chains:
            chain = chains[d]
            if key.value in chain.slots:
                broken.add(d)
            chain.statements.append(i)
            chain.slots[key.value] = g
    return {d: c for d, c in chains.items() if d not in broken}


def _counts(fdef):
    stores, loads = {}, {}
    for n in names_in(fdef):
        table = stores if isinstance(n.ctx, ast.Store) else loads
        table[n.id] = table.get(n.id, 0) + 1
    return stores, loads


def _consumed_by(chain: _Chain, chains: dict, fdef) -> str | None:
    """The adjoint of the enclosing chain reading this one's, if one does."""
    stmt = fdef.body[chain.consumer]
    return None if isinstance(stmt, ast.Return) else stmt.targets[0].id


def _valid(d, chain, chains, fdef, facts, structs, stores, loads) -> bool:
    body, last = fdef.body, chain.statements[-1]
    if stores.get(d, 0) != len(chain.statements) or loads.get(d, 0) != len(chain.statements):
        return False  # assigned or read elsewhere (the add_at calls read it, and one more read)
    consumer = _consumer(d, chains, body, last)
    if consumer is None:
        return False
    chain.consumer = consumer
    if not chain.by_attribute:
        struct = structs.get(chain.container)
        if not isinstance(struct, Struct) or struct.kind not in ("dict", "list", "tuple") \
                or chain.container not in facts.unchanged:
            return False
        items = dict(struct.items)
        if struct.kind != "dict":
            if not all(type(k) is int and -len(items) <= k < len(items) for k in chain.slots):
                return False
            slots = {k % len(items): g for k, g in chain.slots.items()}
            if len(slots) != len(chain.slots):
                return False  # (x[-1] and x[1] of a pair: one slot twice)
            chain.slots = slots
        elif not all(type(k) in (str, int) for k in items):
            return False
        for key, g in chain.slots.items():
            if key not in items or not _fits_slot(items[key], g, chains):
                return False
    elif not all(type(k) is str for k in chain.slots):
        return False
    for index, g in zip(chain.statements, chain.slots.values()):
        if not _certain(g, facts, chains, fdef, 0):
            return False
        if isinstance(g, ast.Name) and any(g.id in _stored(s) for s in body[index + 1:last + 1]):
            return False  # assigned again before the display reads it
    return True


def _consumer(d, chains, body, last) -> int | None:
    """The statement after the chain reading its adjoint: ``return d`` (or
    a tuple holding it), or an enclosing chain's contribution."""
    for j in range(last + 1, len(body)):
        stmt = body[j]
        if not any(isinstance(n, ast.Name) and n.id == d for n in names_in(stmt)):
            continue
        if isinstance(stmt, ast.Return):
            value = stmt.value
            elts = value.elts if isinstance(value, ast.Tuple) else [value]
            return j if any(isinstance(e, ast.Name) and e.id == d for e in elts) else None
        outer = chains.get(stmt.targets[0].id) if isinstance(stmt, ast.Assign) \
            and isinstance(stmt.targets[0], ast.Name) else None
        if outer is not None and j in outer.statements:
            g = stmt.value.args[2]
            return j if isinstance(g, ast.Name) and g.id == d else None
        return None
    return None


def _fits_slot(item, g, chains) -> bool:
    """A contribution the display may hold as it is: an array's or number's
    (``item`` has a shape), or a container's made by a chain itself."""
    made = isinstance(g, ast.Name) and g.id in chains
    return not made if isinstance(item, Array) else made and isinstance(item, Struct)


def _stored(stmt) -> set[str]:
    return {n.id for n in names_in(stmt) if isinstance(n.ctx, ast.Store)}


def _certain(g, facts, chains, fdef, depth) -> bool:
    """``g`` certainly gives a value, never None (see the module docstring)."""
    if isinstance(g, (ast.BinOp, ast.UnaryOp)):
        return True
    if isinstance(g, ast.Constant):
        return type(g.value) in (int, float, complex)
    if isinstance(g, ast.Attribute):
        return g.attr in _ARRAY_ATTRIBUTES and facts.resolve(g.value) is None
    if isinstance(g, ast.Call):
        if isinstance(g.func, ast.Attribute) and facts.resolve(g.func.value) is None:
            return g.func.attr in _ARRAY_METHODS  # a method of a value
        f = facts.callee(g)
        if isinstance(f, np.ufunc):
            return True
        if f is runtime.zeros_like:  # (None only for a bool or a string: not a number or array)
            return len(g.args) == 1 and facts.shape(g.args[0]) is not None
        module = getattr(f, "__module__", None) or ""
        return module.split(".")[0] in ("numpy", "scipy") and getattr(f, "__name__", "") not in _WRITING \
            or module.startswith("tangent.rules")
    if isinstance(g, ast.Name):
        if g.id in chains:
            return True
        if g.id in facts.params or depth > 4:
            return False
        values = [s.value for s in _assignments(fdef, g.id)]
        return bool(values) and len(values) == sum(1 for n in names_in(fdef) if n.id == g.id
                                                   and isinstance(n.ctx, ast.Store)) \
            and all(_certain(v, facts, chains, fdef, depth + 1) for v in values)
    return False


def _assignments(fdef, name) -> list[ast.Assign]:
    return [s for s in ast.walk(fdef) if isinstance(s, ast.Assign) and len(s.targets) == 1
            and isinstance(s.targets[0], ast.Name) and s.targets[0].id == name]


def _rewrite(fdef, chains, structs, special, stores) -> ast.FunctionDef:
    taken = set(stores) | {a.arg for a in fdef.args.args + fdef.args.posonlyargs + fdef.args.kwonlyargs}
    read_names = _read_names(fdef)
    replaced: dict[int, list[ast.stmt]] = {}
    for d, chain in chains.items():
        values = {}
        for index, (key, g) in zip(chain.statements, chain.slots.items()):
            stmt = fdef.body[index]
            if isinstance(g, ast.Name):
                values[key] = g
                replaced.setdefault(index, [])
                continue
            temp = _fresh("d" + read_names.get((chain.container, key), f"{chain.container}_{key}"), taken)
            stmt.targets = [ast.Name(id=temp, ctx=ast.Store())]
            stmt.value = g
            replaced.setdefault(index, []).append(stmt)
            values[key] = ast.Name(id=temp, ctx=ast.Load())
        display = _display(chain, values, structs, special)
        made = ast.Assign(targets=[ast.Name(id=d, ctx=ast.Store())], value=display, lineno=0)
        replaced.setdefault(chain.statements[-1], []).append(made)
    body = []
    for i, stmt in enumerate(fdef.body):
        body.extend(replaced.get(i, [stmt]))
    fdef.body = body
    return fdef


def _display(chain, values, structs, special) -> ast.expr:
    if chain.by_attribute:
        return ast.Dict(keys=[ast.Constant(value=k) for k in values], values=list(values.values()))
    struct = structs[chain.container]
    keys = [k for k, _ in struct.items]
    items = []
    for k in keys:
        if k in values:
            items.append(values[k])
            continue
        bind = special.bind_global
        read = ast.Subscript(value=ast.Name(id=chain.container, ctx=ast.Load()), slice=ast.Constant(value=k),
                             ctx=ast.Load())
        items.append(ast.Call(func=ast.Name(id=bind("zeros_like", runtime.zeros_like), ctx=ast.Load()),
                              args=[read], keywords=[]))
    if struct.kind == "dict":
        return ast.Dict(keys=[ast.Constant(value=k) for k in keys], values=items)
    return (ast.List if struct.kind == "list" else ast.Tuple)(elts=items, ctx=ast.Load())


def _read_names(fdef) -> dict:
    """{(container, key): the name a top-level ``name = container[key]``
    (or ``container.key``) assigns}: the contribution's name is its adjoint's."""
    out = {}
    for stmt in fdef.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            v = stmt.value
            if isinstance(v, ast.Subscript) and isinstance(v.value, ast.Name) and isinstance(v.slice, ast.Constant):
                out.setdefault((v.value.id, v.slice.value), stmt.targets[0].id)
            elif isinstance(v, ast.Attribute) and isinstance(v.value, ast.Name):
                out.setdefault((v.value.id, v.attr), stmt.targets[0].id)
    return out


def _fresh(hint: str, taken: set) -> str:
    name, n = hint, 1
    while name in taken or not name.isidentifier():
        n += 1
        name = f"{hint}_{n}" if hint.isidentifier() else f"d_item_{n}"
    taken.add(name)
    return name
