"""Normalization: the user's function in the form the differentiators read.

Takes a ParsedFunction (frontend.py); gives a copy of its tree in A-normal
form, one operation on atoms per statement (see anf.py for the exact form),
with structured control flow only. The passes, in order:

1. fence.py: refuse unsupported syntax, naming the user's line;
2. controlflow.py: lower ``break``/``continue``/early ``return`` into flags;
3. desugar.py: inline nested functions and constructors, lower
   comprehensions, loops over sequences and gradient hooks;
4. anf.py: one operation per statement, calls resolved (resolve.py).

Assumes the ParsedFunction's ``static``/``types`` are filled in; extends its
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


def normalize(parsed: ParsedFunction, namer: Namer) -> ast.FunctionDef:
    """Return a copy of ``parsed.tree`` in A-normal form (see module doc).

    Example::

        tree = normalize(parse_function(f), Namer())
        print(ast.unparse(tree))
    """
    fence.check(parsed)
    tree = unfreeze_distributions(lower_control_flow(copy_tree(parsed.tree), parsed, namer), parsed, namer)
    parsed.local_names = parsed.local_names | local_names(tree)
    body = anf(desugar(tree.body, parsed, namer), parsed, namer)
    if not body or not isinstance(body[-1], ast.Return):
        raise parsed.origin.error(
            TangentSyntaxError, tree,
            "a differentiated function must end with a return statement",
            "return the value to differentiate at the end of the function",
        )
    tree.body = body
    return tree
