"""Functions that write into their arguments, made to work on private copies.

Question answered: which parameters of the function a derivative is asked
for does it write into (``x[0] = a * b``, ``params['W'] -= lr * g``,
``r[n] = r[k]``, ``lst.append(v)``, through a view or an item of them)? For
those, ``own_written_arguments`` rewrites the normalized function so that
its body works on a private copy (``x_copy = private_copy(x)`` first, every
use of ``x`` reading ``x_copy``) and, just before it returns, writes what it
left there back into the caller's object (``write_back_arguments(x,
x_copy)``, see ``rules.argument_rules``). The derivative then differentiates
with respect to the value at entry (the copy is the identity), its writes go
into memory it owns, and after a call the caller's argument holds what the
function left in it.

Input: the entry function in normal form (one ``return`` at its end), its
``Origin`` and ``bind(hint, value) -> name`` binding a global of the
generated module. Output: the names of the rewritten parameters (the tree is
changed in place). Assumes: applied to the function a derivative is asked
for only (a helper's writes into its parameters change its caller's
variables, which the caller's derivative would not know of: they stay
refused), and not to code Tangent generated. A parameter the function binds
again (``x = ...``, a loop over it as target) keeps its refusal: the final
object would not be the one the name holds.
"""

from __future__ import annotations

import ast

from . import ir
from .astwalk import walk_list
from .cfg import CFG
from .mutations import argument_writes
from .runtime.arguments import private_copy, refuse_shared_arguments, write_back_arguments


def own_written_arguments(tree: ast.FunctionDef, origin, bind, fresh) -> list[str]:
    """Rewrite ``tree`` so it writes into private copies of the parameters
    it writes into, and back into the caller's objects before it returns;
    the names of those parameters. ``fresh(base)`` gives a name clashing
    with none in use (``Namer.fresh``). Example::

        own_written_arguments(tree, parsed.origin, session.bind_global, namer.fresh)
    """
    if getattr(origin, "generated", False) or origin.filename.startswith("<tangent "):
        return []
    if not tree.body or not isinstance(tree.body[-1], ast.Return):
        return []
    params = [a.arg for a in tree.args.posonlyargs + tree.args.args + tree.args.kwonlyargs]
    written = set()
    for _, _, owners, _, _ in argument_writes(tree, CFG.build(tree)):
        written.update(owners)
    rebound = _rebound_names(tree)
    chosen = [p for p in params if p in written and p not in rebound]
    if not chosen:
        return []
    copies = {p: fresh(f"{p}_copy") for p in chosen}
    for node in walk_list(tree):
        if isinstance(node, ast.Name) and node.id in copies:
            node.id = copies[node.id]
    first, ret = tree.body[0], tree.body[-1]
    copy_fn, back_fn = bind("private_copy", private_copy), bind("write_back_arguments", write_back_arguments)
    entry = []
    if len(params) > 1:  # f(a, a): the copy would not see writes through the other argument
        check = bind("refuse_shared_arguments", refuse_shared_arguments)
        entry += [ast.copy_location(ast.Expr(value=_call(check, refuse_shared_arguments, p,
                                                         *[q for q in params if q != p])), first) for p in chosen]
    entry += [ast.copy_location(_assign(copies[p], _call(copy_fn, private_copy, p)), first) for p in chosen]
    back = [ast.copy_location(ast.Expr(value=_call(back_fn, write_back_arguments, p, copies[p])), ret)
            for p in chosen]
    tree.body[:] = entry + tree.body[:-1] + back + [ret]
    return chosen


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
