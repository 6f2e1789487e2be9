"""Numbers written where a name holds them, and products by one left out,
in specialised code.

Takes: a generated FunctionDef specialised to its arguments (with its
``value_facts.Specialization``), typically a gradient called without a seed,
whose seed ``unit_seed.read_default_seed`` wrote as the literal ``1.0``.
Gives the function (changed in place) with:

* each read of a local name assigned exactly once, by a top-level
  statement, to a number literal (``d_add = 1.0``) written as that literal
  (in the statements after it: every read of it, as it has that value
  there), so that ``fold_constants`` folds what it meets
  (``1.0 * 0.5``);
* ``1.0 * v`` and ``v * 1.0`` written ``v`` in adjoint code (assignments
  marked ``tangent_pure``) when ``v`` is certainly a NumPy float64 or
  complex128 value (``ValueFacts.wide``): the product is ``v``'s value, in
  its dtype, as a new array the code never writes into (it is pure, and
  ``v`` is not written into either: ``write_free`` code only); so is a
  factor ``ones`` holding ``np.broadcast_to(1.0, s)`` in a product with
  such a ``v`` of shape ``s`` (the broadcast adds nothing); and number
  literals multiplied in turn are multiplied first (``2.0 * (0.5 / a)`` is
  ``(2.0 * 0.5) / a``: the same value but for the last bit), and
  ``(1.0 / a) * b`` is ``b / a`` (one rounding fewer);
* a ``check_seed_shape`` of a number literal left out (a number seeds a
  result of any shape).

Assumes what ``value_facts`` assumes; a name assigned once is never read
before its assignment (generated code binds what it reads first).
"""

from __future__ import annotations

import ast

import numpy as np

from . import ir
from .astwalk import walk_list
from .name_counts import NameCounts
from .value_facts import Specialization, ValueFacts

__all__ = ["fold_unit_factors"]


def fold_unit_factors(fdef: ast.FunctionDef, special: Specialization, counts: NameCounts) -> ast.FunctionDef:
    """See the module docstring."""
    params = {a.arg for a in fdef.args.posonlyargs + fdef.args.args + fdef.args.kwonlyargs}
    literals: dict[str, ast.Constant] = {}
    for stmt in fdef.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) \
                and _number(stmt.value) and stmt.targets[0].id not in params and counts.stores[stmt.targets[0].id] == 1:
            literals[stmt.targets[0].id] = stmt.value
    if literals:
        _Literals(literals, counts).visit(fdef)
    facts = ValueFacts(fdef, special)
    if facts.write_free:
        for stmt in walk_list(fdef):
            if isinstance(stmt, ast.Assign) and ir.get(stmt, "pure", False):
                stmt.value = _Ones(facts, counts).visit(stmt.value)
    fdef.body = [s for s in fdef.body if not _seed_check_of_a_number(s, facts)]
    return fdef


def _number(node) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


class _Literals(ast.NodeTransformer):
    def __init__(self, literals: dict, counts: NameCounts):
        self.literals, self.counts = literals, counts

    def visit_Name(self, node):
        literal = self.literals.get(node.id)
        if literal is None or not isinstance(node.ctx, ast.Load):
            return node
        self.counts.loads[node.id] -= 1
        return ast.copy_location(ast.Constant(value=literal.value), node)


class _Ones(ast.NodeTransformer):
    def __init__(self, facts: ValueFacts, counts: NameCounts):
        self.facts, self.counts = facts, counts

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if not isinstance(node.op, ast.Mult):
            return node
        for one, other in ((node.left, node.right), (node.right, node.left)):
            if _is(one, 1.0) and self.facts.wide(other):
                return other
            if isinstance(one, ast.BinOp) and isinstance(one.op, ast.Div) and _is(one.left, 1.0):
                return ast.copy_location(ast.BinOp(left=other, op=ast.Div(), right=one.right), node)  # b / a
        if isinstance(node.left, ast.Constant) and _number(node.left) and isinstance(node.right, ast.BinOp) \
                and isinstance(node.right.op, (ast.Mult, ast.Div)) and _number(node.right.left):
            # c1 * (c2 * a) and c1 * (c2 / a): (c1 * c2) * a, (c1 * c2) / a
            scale = ast.Constant(value=node.left.value * node.right.left.value)
            node = ast.copy_location(ast.BinOp(left=scale, op=node.right.op, right=node.right.right), node)
            if _is(scale, 1.0) and isinstance(node.op, ast.Mult) and self.facts.wide(node.right):
                return node.right
        return self._ones_broadcast(node)

    def _ones_broadcast(self, node: ast.BinOp) -> ast.expr:
        """``c * ones * a``, ones a name holding ``np.broadcast_to(1.0, s)``
        and ``a`` a float64 array of shape ``s``: ``c * a``."""
        factors, chain = [], node
        while isinstance(chain, ast.BinOp) and isinstance(chain.op, ast.Mult):
            factors.append(chain.right)
            chain = chain.left
        factors.append(chain)
        factors.reverse()
        for i, f in enumerate(factors):
            shape = self._ones_shape(f)
            if shape is not None and any(j != i and self.facts.wide(g) and self.facts.shape(g) == shape
                                         for j, g in enumerate(factors)):
                self.counts.forget(f)
                rest = factors[:i] + factors[i + 1:]
                out = rest[0]
                for g in rest[1:]:
                    out = ast.BinOp(left=out, op=ast.Mult(), right=g)
                return ast.copy_location(out, node)
        return node

    def _ones_shape(self, node) -> tuple | None:
        if not (isinstance(node, ast.Name) and node.id in self.facts.once):
            return None
        value = self.facts.definitions.get(node.id)
        if isinstance(value, ast.Call) and self.facts.callee(value) is np.broadcast_to and len(value.args) == 2 \
                and not value.keywords and _is(value.args[0], 1.0):
            return self.facts.shape(value)
        return None


def _is(node, number: float) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is float and node.value == number


def _seed_check_of_a_number(stmt, facts: ValueFacts) -> bool:
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and stmt.value.args):
        return False
    callee = facts.callee(stmt.value)
    return getattr(callee, "__name__", None) == "check_seed_shape" \
        and getattr(callee, "__module__", "").startswith("tangent.runtime") and _number(stmt.value.args[0])
