"""Functions that write into their arguments, made to work on private copies.

Question answered: which parameters of the function a derivative is asked
for does it write into (``x[0] = a * b``, ``params['W'] -= lr * g``,
``r[n] = r[k]``, ``lst.append(v)``, through a view or an item of them)? For
those, ``own_written_arguments`` rewrites the normalized function so that
its body works on a private copy (``x_copy = private_copy(x)`` first, every
use of ``x`` reading ``x_copy``). The derivative then differentiates with
respect to the value at entry (the copy is the identity) and its writes go
into memory it owns: a derivative never changes its arguments, whatever the
function does to them. A helper the derivative calls is rewritten the same
way and, just before it returns, writes what it left in its copies back
into its caller's objects (``write_back_arguments(x, x_copy)``, see
``rules.argument_rules``), since its caller goes on reading them.

Input: the entry function in normal form (one ``return`` at its end), its
``Origin`` and ``bind(hint, value) -> name`` binding a global of the
generated module. Output: the names of the rewritten parameters (the tree is
changed in place). Applied to the function a derivative is asked for and to
the helpers it calls (not to code Tangent generated). A helper's writes
into its parameters change its caller's variables, which the caller's
derivative would not know of: each call of such a helper is surrounded by
``snapshot_argument`` / ``check_restored`` (``_with_restore_checks``), so
the caller's derivative goes on only if the helper left the argument as it
found it and the argument holds no floats (an index list a recursive helper
permutes and restores); other such calls stay refused (calls.py). A parameter the function binds
again (``x = ...``, a loop over it as target) keeps its refusal: the final
object would not be the one the name holds.
"""

from __future__ import annotations

import ast
import inspect
import types

from . import ir
from .astwalk import walk_list
from .cfg import CFG
from .mutations import argument_writes
from .runtime.arguments import (
    check_number_list,
    check_restored,
    private_copy,
    refuse_shared_arguments,
    snapshot_argument,
    write_back_arguments,
)


def own_written_arguments(tree: ast.FunctionDef, origin, bind, fresh, write_back: bool = True) -> list[str]:
    """Rewrite ``tree`` so it writes into private copies of the parameters
    it writes into, and (with ``write_back``: a helper, whose caller reads
    its arguments afterwards) back into the caller's objects before it
    returns; the names of those parameters. ``fresh(base)`` gives a name
    clashing with none in use (``Namer.fresh``). Example::

        own_written_arguments(tree, parsed.origin, session.bind_global, namer.fresh)
    """
    if getattr(origin, "generated", False) or origin.filename.startswith("<tangent "):
        return []
    if not tree.body or not isinstance(tree.body[-1], ast.Return):
        return []
    tree.body[:] = _with_restore_checks(tree.body, origin, bind, fresh)
    params = [a.arg for a in tree.args.posonlyargs + tree.args.args + tree.args.kwonlyargs]
    written = set()
    for _, _, owners, _, _ in argument_writes(tree, CFG.build(tree)):
        written.update(owners)
    rebound = _rebound_names(tree)
    chosen = [p for p in params if p in written and p not in rebound]
    if not chosen:
        return []
    copies = {p: fresh(f"{p}_copy") for p in chosen}
    swapped = {p for p in chosen if _swaps_items(tree, p)}  # (before the renaming below)
    for node in walk_list(tree):
        if isinstance(node, ast.Name) and node.id in copies:
            node.id = copies[node.id]
    first, ret = tree.body[0], tree.body[-1]
    copy_fn = bind("private_copy", private_copy)
    back_fn = bind("write_back_arguments", write_back_arguments) if write_back else None
    entry = []
    if len(params) > 1:  # f(a, a): the copy would not see writes through the other argument
        check = bind("refuse_shared_arguments", refuse_shared_arguments)
        entry += [ast.copy_location(ast.Expr(value=_call(check, refuse_shared_arguments, p,
                                                         *[q for q in params if q != p])), first) for p in chosen]
    for p in sorted(swapped):  # (mutations.py reads the check: r's items share no memory with it)
        check = _call(bind("check_number_list", check_number_list), check_number_list, p)
        check.args += [ast.Constant(value=p), ast.Constant(value=origin.where(first))]
        entry.append(ast.copy_location(ast.Expr(value=check), first))
    entry += [ast.copy_location(_assign(copies[p], _call(copy_fn, private_copy, p)), first) for p in chosen]
    back = [ast.copy_location(ast.Expr(value=_call(back_fn, write_back_arguments, p, copies[p])), ret)
            for p in chosen if write_back]
    tree.body[:] = entry + tree.body[:-1] + back + [ret]
    return chosen


def _swaps_items(tree: ast.FunctionDef, param: str) -> bool:
    """Whether the function only swaps the items of ``param``: it reads an
    item into a name (``t = r[n]``) and stores that name back into it
    (``r[0] = t``) after another write into it, and every write into ``param``
    stores an item of it or a number (names assigned nothing else), so a
    list of numbers stays one. The alias check would refuse the swap (``t``
    might be a view into ``r``) unless ``r`` is a list of numbers, whose
    items share no memory with it (``check_number_list`` checks that at run
    time)."""
    definitions: dict[str, list] = {}
    stored, writes, first_read, swap = [], [], {}, False
    for position, node in enumerate(walk_list(tree)):
        if isinstance(node, (ast.AugAssign, ast.For, ast.AnnAssign, ast.NamedExpr)):
            target = node.target
            for n in walk_list(target):
                if isinstance(n, ast.Name):
                    definitions.setdefault(n.id, []).append(None)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name) and node.func.value.id == param:
            return False  # r.append(v), r.insert(...): not a swap
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and target.value.id == param:
                # t = r[n] ... r[n] = r[0] ... r[0] = t: t is read after a write into r
                value = node.value
                swap = swap or isinstance(value, ast.Name) and any(first_read.get(value.id, position) < w
                                                                   for w in writes)
                writes.append(position)
                stored.append(value)
            for n in walk_list(target):
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                    definitions.setdefault(n.id, []).append(node.value if target is n else None)
                    if target is n and not n.id.startswith("_"):  # (the user's name, not a temporary)
                        first_read.setdefault(n.id, position)

    def item(value) -> bool:
        return isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name) and value.value.id == param

    def number_or_item(value) -> bool:
        if isinstance(value, ast.Constant):
            return type(value.value) in (int, float)
        if item(value):
            return True
        return isinstance(value, ast.Name) and bool(definitions.get(value.id)) and all(
            v is not None and (item(v) or isinstance(v, ast.Constant) and type(v.value) in (int, float))
            for v in definitions[value.id])

    return swap and all(number_or_item(v) for v in stored)


def _call(fn_name: str, fn, *args: str) -> ast.Call:
    call = ast.Call(func=ast.Name(id=fn_name, ctx=ast.Load()), args=[ir.name(a) for a in args], keywords=[])
    return ir.annotate(call, callee=fn)


def _assign(target: str, value: ast.expr) -> ast.Assign:
    return ast.Assign(targets=[ir.store(target)], value=value)


def _rebound_names(tree: ast.FunctionDef) -> set[str]:
    """Names bound anywhere in the body (assignments, loop targets, ``with``
    and ``except`` names), augmented assignments included."""
    found = set()
    for node in walk_list(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            found.add(node.id)
    return found


def _with_restore_checks(stmts: list[ast.stmt], origin, bind, fresh) -> list[ast.stmt]:
    """``stmts`` with each call of a helper that writes into a parameter
    bound to a variable (``permute(r, n)``, writing ``r[n] = r[k]``) between
    ``r_before = snapshot_argument(r)`` and ``check_restored(r, r_before,
    ...)``: the caller's derivative assumes the helper leaves its arguments
    as it found them, and that check makes it so (calls.py then lets the
    call through)."""
    out: list[ast.stmt] = []
    for stmt in stmts:
        if isinstance(stmt, (ast.If, ast.For, ast.While)):
            stmt.body = _with_restore_checks(stmt.body, origin, bind, fresh)
            stmt.orelse = _with_restore_checks(stmt.orelse, origin, bind, fresh)
        found = _helper_writes(stmt)
        if not found:
            out.append(stmt)
            continue
        where = origin.where(stmt)
        snapshot, check = bind("snapshot_argument", snapshot_argument), bind("check_restored", check_restored)
        after = []
        for function, param, arg in found:
            before = fresh(f"{arg}_before")
            out.append(ast.copy_location(_assign(before, _call(snapshot, snapshot_argument, arg)), stmt))
            call = _call(check, check_restored, arg, before)
            call.args += [ast.Constant(value=function), ast.Constant(value=param), ast.Constant(value=where)]
            after.append(ast.copy_location(ast.Expr(value=call), stmt))
        out += [stmt] + after
    return out


def _helper_writes(stmt: ast.stmt) -> list[tuple[str, str, str]]:
    """(helper, parameter, the caller's variable) for each parameter the
    helper called by ``stmt`` writes into and does not rebind (so that its
    derivative works on a private copy of it)."""
    from . import rules
    from .calls import parameters_written  # (calls reads writes through modules that import this one)
    from .frontend import parse_function

    value = getattr(stmt, "value", None)
    if not isinstance(stmt, (ast.Assign, ast.Expr)) or not isinstance(value, ast.Call):
        return []
    callee = ir.get(value, "callee", None)
    if not isinstance(callee, types.FunctionType) or rules.lookup_adjoint(callee) is not None \
            or rules.lookup_tangent(callee) is not None or rules.is_nondifferentiable(callee):
        return []
    written = parameters_written(callee)
    if not written:
        return []
    rebound = _rebound_names(parse_function(callee).tree)
    args = ([value.func.value] if ir.is_method(value) else []) + list(value.args)
    try:
        bound = inspect.signature(callee).bind(*args, **{k.arg: k.value for k in value.keywords if k.arg})
    except TypeError:
        return []
    return [(callee.__qualname__, p, arg.id) for p, arg in bound.arguments.items()
            if p in written and p not in rebound and isinstance(arg, ast.Name)]


def checked_arguments(tree: ast.FunctionDef) -> set[str]:
    """The variables whose calls of helpers writing into them are checked to
    leave them restored (``check_restored``), in ``tree``."""
    return {stmt.value.args[0].id for stmt in walk_list(tree) if isinstance(stmt, ast.Expr)
            and isinstance(stmt.value, ast.Call) and ir.get(stmt.value, "callee", None) is check_restored
            and isinstance(stmt.value.args[0], ast.Name)}


def refuse_active_restored(tree: ast.FunctionDef, origin, analysis) -> None:
    """Refuse, when transforming, a call of a helper writing into an argument
    that carries a derivative (a value computed from the differentiated
    inputs): ``check_restored`` would refuse it at run time (it holds
    floats); this says so before the derivative runs. Example::

        refuse_active_restored(tree, parsed.origin, analysis)   # returns None, or raises
    """
    from .errors import TangentSyntaxError

    for stmt in walk_list(tree):
        if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call) \
                and ir.get(stmt.value, "callee", None) is snapshot_argument \
                and isinstance(stmt.value.args[0], ast.Name) and analysis.is_varied(stmt.value.args[0].id, stmt):
            check = next((c for c in walk_list(tree) if isinstance(c, ast.Call) and ir.get(c, "callee", None)
                          is check_restored and isinstance(c.args[1], ast.Name)
                          and c.args[1].id == stmt.targets[0].id), None)
            function, param = (check.args[2].value, check.args[3].value) if check is not None else ("a helper", "")
            raise origin.error(
                TangentSyntaxError, stmt,
                f"{function} writes into its parameter {param!r}, given a value that carries a derivative here; "
                "the derivative follows a helper's writes into its caller's values only on data without "
                "derivatives (integers) that it restores before returning",
                f"write into a copy inside {function} ({param} = {param}.copy()) and return the new value, "
                "or do the writes in the function you differentiate")
