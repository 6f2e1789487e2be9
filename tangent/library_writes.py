"""Library calls that write into an argument, written as the assignments they are.

Run while desugaring (desugar.py), on statements of the user's function:

* ``np.copyto(dst, src)``           ->  ``dst[...] = src``
* ``np.add.at(a, index, b)``        ->  ``a[...] = scatter_added(a, index, b)``
  (``np.subtract.at``: ``-b``); ``scatter_added`` is a pure function with
  rules (rules/numpy_more_rules.py)
* ``f(x, out=y)``, ``z = f(x, out=y)``  ->  ``y[...] = f(x)`` (then ``z = y``)

so that the write is differentiated like any assignment into an array (and
needs no derivative when nothing differentiated flows there). Other writers
(``np.put``, ``np.place``, ``a.sort()``, other ufuncs' ``.at``...) are refused
later, in anf.py (``resolve.discarded_call_refusal``). A call is rewritten
only when its callee is NumPy's (resolved when differentiating), it has
exactly the arguments shown (no ``where=``, ``casting=``...), and ``y`` /
``dst`` / ``a`` is a name or an attribute/item of one.
"""

from __future__ import annotations

import ast
import copy

import numpy as np

__all__ = ["as_assignments"]


def _writable(node: ast.expr) -> bool:
    """A name, or an attribute/item chain on one (evaluated twice harmlessly)."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return isinstance(node, ast.Name)


def _whole(target: ast.expr, value: ast.expr, like: ast.stmt) -> ast.Assign:
    store = ast.Subscript(value=copy.deepcopy(target), slice=ast.Constant(value=Ellipsis), ctx=ast.Store())
    return ast.copy_location(ast.Assign(targets=[store], value=value), like)


def _out_keyword(call: ast.Call) -> ast.expr | None:
    found = [kw.value for kw in call.keywords if kw.arg == "out"]
    return found[0] if found and not (isinstance(found[0], ast.Constant) and found[0].value is None) else None


def as_assignments(owner, stmt: ast.stmt) -> list[ast.stmt] | None:
    """The statements an argument-writing NumPy call ``stmt`` stands for, or
    None when it is not one (see the module docstring). ``owner`` is the
    desugarer: ``owner.parsed.resolve`` and ``owner.global_name``.

    Example::

        as_assignments(owner, ast.parse("np.copyto(y, x)").body[0])   # [y[...] = x]
    """
    value = stmt.value if isinstance(stmt, (ast.Expr, ast.Assign)) else None
    if not isinstance(value, ast.Call) or (isinstance(stmt, ast.Assign) and len(stmt.targets) != 1):
        return None
    callee = owner.parsed.resolve(value.func)
    if not _numpy(callee):
        return None
    out = _out_keyword(value)
    if out is not None:
        if not _writable(out):
            return None
        call = copy.copy(value)
        call.keywords = [kw for kw in value.keywords if kw.arg != "out"]
        made = [_whole(out, call, stmt)]
        if isinstance(stmt, ast.Assign):
            made.append(ast.copy_location(ast.Assign(targets=stmt.targets, value=copy.deepcopy(out)), stmt))
        return made
    if not isinstance(stmt, ast.Expr) or value.keywords:
        return None
    args = value.args
    if callee is np.copyto and len(args) == 2 and _writable(args[0]):
        return [_whole(args[0], args[1], stmt)]
    ufunc = getattr(callee, "__self__", None)
    if getattr(callee, "__name__", "") == "at" and ufunc in (np.add, np.subtract) and len(args) == 3 \
            and _writable(args[0]):
        from .rules.numpy_more_rules import scatter_added  # (here: importing tangent loads no rules)

        added = args[2] if ufunc is np.add else ast.UnaryOp(op=ast.USub(), operand=args[2])
        helper = ast.Name(id=owner.global_name("scatter_added", scatter_added), ctx=ast.Load())
        return [_whole(args[0], ast.Call(func=helper, args=[copy.deepcopy(args[0]), args[1], added], keywords=[]),
                       stmt)]
    return None


def _numpy(callee) -> bool:
    module = getattr(callee, "__module__", None) or ""
    owner = getattr(callee, "__self__", None)
    return module.split(".")[0] == "numpy" or isinstance(callee, np.ufunc) or isinstance(owner, np.ufunc)
