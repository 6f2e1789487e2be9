"""NumPy reductions of arrays as method calls, in specialised code.

Takes a generated FunctionDef and its ``Specialization``; gives it with each
call ``np.sum(x, ...)`` (also ``np.prod``, ``np.mean``, ``np.max``,
``np.min``, ``np.amax``, ``np.amin``) whose first argument is a name the
specialisation knows to be a NumPy array of one or more dimensions rewritten
as ``x.sum(...)`` (``x.max(...)`` for ``np.amax``), the other arguments
unchanged. On small arrays the function costs a Python frame more than the
method (about a microsecond), which is what a softmax's gradient spends per
reduction.

Sound because the two are the same computation: for an ``ndarray`` the
function calls the ufunc's ``reduce`` with the arguments the method passes,
and for a subclass it calls the method itself; the method's positional
parameters are the function's after the array (``axis, dtype, out,
keepdims`` for sum, prod and mean; ``axis, out, keepdims`` for max and
min). A known shape of one or more dimensions means a NumPy array
(``shapes.describe_kind``: numbers have shape ``()``, which is left alone,
as is anything whose shape is not known: a list, another library's array).
Assumes, as the other optimization passes do, that the names of the normal
form keep their inferred shapes in generated code (``value_facts``).
"""

from __future__ import annotations

import ast

import numpy as np

from . import ir
from .astwalk import FastTransformer
from .value_facts import Specialization, ValueFacts

_METHODS = {
    np.sum: "sum",
    np.prod: "prod",
    np.mean: "mean",
    np.max: "max",
    np.min: "min",
    np.amax: "max",
    np.amin: "min",
}


def reductions_as_methods(fdef: ast.FunctionDef, special: Specialization) -> ast.FunctionDef:
    """``np.sum(x, axis=1)`` as ``x.sum(axis=1)`` where ``x`` is a known
    NumPy array (see the module docstring)."""
    return _AsMethods(ValueFacts(fdef, special)).visit(fdef)


class _AsMethods(FastTransformer):
    def __init__(self, facts: ValueFacts):
        super().__init__()
        self.facts = facts

    def visit_Call(self, node: ast.Call):
        self.generic_visit(node)
        if not node.args or isinstance(node.args[0], ast.Starred) or any(k.arg is None for k in node.keywords):
            return node
        array = node.args[0]
        if not isinstance(array, ast.Name):
            return node
        try:
            method = _METHODS.get(self.facts.callee(node))
        except TypeError:  # (an unhashable callee)
            return node
        shape = self.facts.shape(array) if method is not None else None
        if shape is None or len(shape) == 0:
            return node
        func = ast.Attribute(value=array, attr=method, ctx=ast.Load())
        call = ast.copy_location(ast.Call(func=func, args=node.args[1:], keywords=node.keywords), node)
        ir.annotate(call, pure_call=True)  # (writes nothing, as the function it replaces)
        return call
