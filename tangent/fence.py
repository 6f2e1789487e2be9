"""The syntax fence: constructs Tangent refuses, checked in one walk, first.

Takes a ParsedFunction (the user's AST, names resolvable); gives nothing, or
raises a TangentSyntaxError naming the user's file and line, the construct
and what to write instead. It assumes nothing of the tree beyond what
``ast.parse`` accepts, and runs before any rewriting, so the later passes
(controlflow, desugar, anf) may assume none of these constructs occur.

``REFUSALS`` is the table; README.md's list of refused constructs mirrors it
line for line (tests/test_fence.py checks both ways). Refusals that depend on
what a name resolves to or on what the analyses find (recursion of nested
functions, calls that cannot be resolved, writes into arguments) are raised
where that is known, not here.

Not checked: the bodies of ``with insert_grad_of(x) as dx:`` blocks, which
run unchanged in the backward pass.
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .errors import TangentSyntaxError
from .frontend import ParsedFunction
from .surgery import insert_grad_of


@dataclass(frozen=True)
class Context:
    """Where a node stands: its parent, whether inside a nested def."""

    parsed: ParsedFunction
    parent: ast.AST | None
    nested: bool


Text = str | Callable[[ast.AST, Context], str]


@dataclass(frozen=True)
class Refusal:
    """One refused construct: README wording, node types, test, message, hint.

    ``example`` is a function body showing the construct on the line marked
    ``# refused`` (tests/test_fence.py differentiates it).
    """

    construct: str
    types: tuple[type, ...]
    message: Text
    hint: Text = ""
    applies: Callable[[ast.AST, Context], bool] = lambda node, ctx: True
    example: str = ""


def is_grad_hook(node: ast.AST, parsed: ParsedFunction) -> bool:
    """``with insert_grad_of(...) ...:`` (however its arguments are written)."""
    if not isinstance(node, ast.With) or len(node.items) != 1:
        return False
    expr = node.items[0].context_expr
    return isinstance(expr, ast.Call) and parsed.resolve(expr.func) is insert_grad_of


def is_state_block(node: ast.AST, parsed: ParsedFunction) -> bool:
    """``with np.errstate(...):`` or ``with warnings.catch_warnings():`` (no
    ``as``): context managers that change how NumPy or Python report, not
    what is computed; their block is differentiated as if written without
    them (the backward pass runs outside them)."""
    if not isinstance(node, ast.With) or any(item.optional_vars is not None for item in node.items):
        return False
    return all(isinstance(item.context_expr, ast.Call) and parsed.resolve(item.context_expr.func) in _STATE_MANAGERS
               for item in node.items)


_STATE_MANAGERS = tuple(m for m in (getattr(np, "errstate", None), warnings.catch_warnings) if m is not None)


def _bad_grad_hook(node: ast.With, ctx: Context) -> bool:
    item = node.items[0]
    expr = item.context_expr
    return (len(expr.args) != 1 or bool(expr.keywords) or not isinstance(expr.args[0], ast.Name)
            or not isinstance(item.optional_vars, ast.Name))


def _grad_hook_message(node: ast.With, ctx: Context) -> str:
    expr = node.items[0].context_expr
    if len(expr.args) != 1 or expr.keywords or not isinstance(expr.args[0], ast.Name):
        return "insert_grad_of takes one variable name"
    return "insert_grad_of needs a name for the adjoint"


def _jumps_out(node: ast.AST, in_loop: bool = False) -> bool:
    """Whether a return, or a break/continue of no loop inside ``node``, is in it."""
    if isinstance(node, ast.Return) or isinstance(node, (ast.Break, ast.Continue)) and not in_loop:
        return True
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
        return False
    if isinstance(node, (ast.For, ast.While)):
        return any(_jumps_out(s, True) for s in node.body) or any(_jumps_out(s, in_loop) for s in node.orelse)
    return any(_jumps_out(child, in_loop) for child in ast.iter_child_nodes(node))


def _declaration(node: ast.AST, ctx: Context) -> str:
    if ctx.nested:
        return "nonlocal/global in a nested function cannot be differentiated"
    return f"{type(node).__name__.lower()} declarations are not supported"


def _subscript_of_expression(node: ast.Subscript, ctx: Context) -> bool:
    return (isinstance(node.ctx, ast.Store) and not isinstance(node.value, ast.Name)
            and not isinstance(ctx.parent, ast.AugAssign))


REFUSALS: tuple[Refusal, ...] = (
    Refusal("`try` / `except`", (ast.Try, ast.TryStar),
            "try/except cannot be differentiated", "move the try/except outside the differentiated function",
            example="try:  # refused\n    y = x\nexcept ValueError:\n    y = x"),
    Refusal("`with` (other than `with tangent.insert_grad_of(x) as dx:`, `with np.errstate(...):` and "
            "`with warnings.catch_warnings():`)", (ast.With, ast.AsyncWith),
            "with statements are not supported in a differentiated function",
            "only `with tangent.insert_grad_of(x) as dx:`, `with np.errstate(...):` and "
            "`with warnings.catch_warnings():` are; move other with blocks outside",
            applies=lambda node, ctx: not is_grad_hook(node, ctx.parsed) and not is_state_block(node, ctx.parsed),
            example="with open('f') as fh:  # refused\n    y = x"),
    Refusal("`with insert_grad_of(...)` not of the form `with insert_grad_of(x) as dx:`", (ast.With,),
            _grad_hook_message, "write `with insert_grad_of(x) as dx:`",
            applies=lambda node, ctx: is_grad_hook(node, ctx.parsed) and _bad_grad_hook(node, ctx),
            example="with insert_grad_of(x * 2.0) as dx:  # refused\n    dx = dx * 2.0\ny = x"),
    Refusal("`return`, `break` or `continue` leaving a `with insert_grad_of` block", (ast.With,),
            "return, break and continue cannot leave a `with insert_grad_of` block: it runs in the backward pass",
            "assign to the adjoint instead, under an if",
            applies=lambda node, ctx: is_grad_hook(node, ctx.parsed) and any(_jumps_out(s) for s in node.body),
            example="for i in range(2):\n    with insert_grad_of(x) as dx:  # refused\n        break\ny = x"),
    Refusal("`yield` used as a value, and coroutines (`await`)", (ast.Yield, ast.YieldFrom, ast.Await),
            lambda node, ctx: "coroutines cannot be differentiated" if isinstance(node, ast.Await)
            else "a yield used as a value cannot be differentiated",
            "yield values in statements of their own (a generator is read into a list), or return a list",
            example="z = yield x  # refused\ny = x"),
    Refusal("`global` / `nonlocal`", (ast.Global, ast.Nonlocal), _declaration,
            lambda node, ctx: "return the new value instead" if ctx.nested
            else "pass the value in as an argument and return the new value",
            example="global y  # refused\ny = x"),
    Refusal("`del`", (ast.Delete,), "del is not supported", "let the variable go out of scope instead",
            example="z = x\ndel z  # refused\ny = x"),
    Refusal("`import` inside the function", (ast.Import, ast.ImportFrom),
            "import statements inside a differentiated function are not supported", "import at module level",
            example="import math  # refused\ny = x"),
    Refusal("`match`", (ast.Match,), "match statements are not supported", "use if/elif/else",
            example="match x:  # refused\n    case _:\n        y = x"),
    Refusal("nested classes and nested async functions", (ast.ClassDef, ast.AsyncFunctionDef),
            lambda node, ctx: "nested class definitions are not supported" if isinstance(node, ast.ClassDef)
            else "nested async function definitions are not supported",
            "define it at module level",
            example="class Inner:  # refused\n    pass\ny = x"),
    Refusal("decorated nested functions", (ast.FunctionDef,),
            "decorated nested functions are not supported", "define it at module level",
            applies=lambda node, ctx: bool(node.decorator_list),
            example="@staticmethod\ndef g(v):  # refused\n    return v\ny = g(x)"),
    Refusal("set comprehensions", (ast.SetComp,),
            "set comprehensions cannot be differentiated", "build a list instead",
            example="s = {v for v in [x]}  # refused\ny = x"),
    Refusal("assignment expressions (`:=`)", (ast.NamedExpr,),
            "assignment expressions (:=) are not supported", "assign in a separate statement",
            example="y = (z := x) * z  # refused"),
    Refusal("augmented assignment into an attribute of an expression (`obj.a.b += v`, `f(x).a += v`)",
            (ast.AugAssign,), "augmented assignment into an attribute of an expression is not supported",
            "assign the object to a variable first (layer = model.layer; layer.W += v)",
            applies=lambda node, ctx: isinstance(node.target, ast.Attribute) and not isinstance(node.target.value, ast.Name),
            example="o = [x]\no[0].real += x  # refused\ny = x"),
    Refusal("assignment into an item of an expression (`a[i][j] = v`, `obj.a[i] = v`)", (ast.Subscript,),
            lambda node, ctx: f"assignment into {ast.unparse(node.value)} is not supported",
            "assign into a local array variable", applies=_subscript_of_expression,
            example="z = [x]\nz[0][0] = x  # refused\ny = x"),
)

_BY_TYPE: dict[type, list[Refusal]] = {}
for _refusal in REFUSALS:
    for _type in _refusal.types:
        _BY_TYPE.setdefault(_type, []).append(_refusal)


def _text(text: Text, node: ast.AST, ctx: Context) -> str:
    return text(node, ctx) if callable(text) else text


def check(parsed: ParsedFunction, tree: ast.FunctionDef | None = None) -> None:
    """Raise a TangentSyntaxError for the first refused construct in ``tree``
    (default ``parsed.tree``), in source order.

    Example::

        check(parse_function(f))  # returns None, or raises
    """
    tree = parsed.tree if tree is None else tree
    stack: list[tuple[ast.AST, ast.AST | None, bool, ast.AST]] = [
        (child, tree, False, tree) for child in reversed(list(ast.iter_child_nodes(tree)))]
    while stack:
        node, parent, nested, located = stack.pop()
        located = node if getattr(node, "lineno", None) else located
        ctx = Context(parsed, parent, nested)
        for refusal in _BY_TYPE.get(type(node), ()):
            if refusal.applies(node, ctx):
                raise parsed.origin.error(TangentSyntaxError, located, _text(refusal.message, node, ctx),
                                          _text(refusal.hint, node, ctx))
        children = list(ast.iter_child_nodes(node))
        if is_grad_hook(node, parsed):
            children = [item for item in node.items]  # the block runs unchanged in the backward pass
        inner = nested or isinstance(node, (ast.FunctionDef, ast.Lambda))
        stack.extend((child, node, inner, located) for child in reversed(children))
