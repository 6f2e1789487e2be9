"""Normalization: the user's function in the form the differentiators read.

Takes a ParsedFunction (frontend.py); gives a copy of its tree in A-normal
form, one operation on atoms per statement (see anf.py for the exact form),
with structured control flow only. The passes, in order:

1. fence.py: refuse unsupported syntax, naming the user's line;
2. controlflow.py: lower ``break``/``continue``/early ``return`` into flags;
3. desugar.py: inline nested functions and constructors, lower
   comprehensions, loops over sequences and gradient hooks;
4. anf.py: one operation per statement, calls resolved (resolve.py);
5. versions.py: a name per value for a variable reassigned in straight-line
   code.

A parameter whose default is a function (``nonlinearity=np.tanh``) is
read as that function and checked at run time (first statement) to be given
no other. Assumes the ParsedFunction's ``static``/``types`` are filled in; extends its
``local_names`` with the names the passes introduce. The statements it makes
beyond Python's own (``GradHook``) are defined in ir.py.
"""

from __future__ import annotations

import ast

from . import fence
from .anf import anf
from .astwalk import copy_tree
from .controlflow import lower_control_flow
from .desugar import desugar
from .errors import TangentSyntaxError
from .frontend import ParsedFunction, local_names
from .naming import Namer
from .rules.frozen_distributions import unfreeze_distributions
from .runtime.arguments import check_default_function
from .versions import versioned


def normalize(parsed: ParsedFunction, namer: Namer) -> ast.FunctionDef:
    """Return a copy of ``parsed.tree`` in A-normal form (see module doc).

    Example::

        tree = normalize(parse_function(f), Namer())
        print(ast.unparse(tree))
    """
    fence.check(parsed)
    tree = copy_tree(parsed.tree)
    tree.body = _default_function_checks(parsed, namer, tree) + tree.body
    tree = unfreeze_distributions(lower_control_flow(tree, parsed, namer), parsed, namer)
    parsed.local_names = parsed.local_names | local_names(tree)
    body = anf(desugar(tree.body, parsed, namer), parsed, namer)
    if not body or not isinstance(body[-1], ast.Return):
        raise parsed.origin.error(
            TangentSyntaxError, tree,
            "a differentiated function must end with a return statement",
            "return the value to differentiate at the end of the function",
        )
    params = {a.arg for a in tree.args.posonlyargs + tree.args.args + tree.args.kwonlyargs}
    tree.body = versioned(body, namer, params | {a.arg for a in (tree.args.vararg, tree.args.kwarg) if a})
    parsed.local_names = parsed.local_names | local_names(tree)
    return tree


def _default_function_checks(parsed: ParsedFunction, namer: Namer, tree: ast.FunctionDef) -> list[ast.stmt]:
    """``check_default_function(nonlinearity, <np.tanh>, ...)`` for each
    parameter whose default is a function and that is differentiated as
    calling it: the derivative refuses, at run time, to be given another."""
    checks: list[ast.stmt] = []
    for param, default in parsed.default_functions.items():
        if parsed.static.get(param) is not default:
            continue  # (a call passes another function: that one is differentiated)
        helper, value = namer.fresh("check_default_function"), namer.fresh(f"default_{param}")
        parsed.namespace[helper], parsed.namespace[value] = check_default_function, default
        call = ast.Call(func=ast.Name(id=helper, ctx=ast.Load()),
                        args=[ast.Name(id=param, ctx=ast.Load()), ast.Name(id=value, ctx=ast.Load()),
                              ast.Constant(value=parsed.func.__qualname__), ast.Constant(value=param)], keywords=[])
        checks.append(ast.copy_location(ast.Expr(value=call), tree.body[0] if tree.body else tree))
    return checks
