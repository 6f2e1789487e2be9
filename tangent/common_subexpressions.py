"""Common subexpressions computed once.

Takes: a specialised generated FunctionDef, its ``value_facts.Specialization``
and its ``NameCounts`` (kept exact). Gives the function with

* ``a + l * n`` / ``a - l * n``, where ``n = -m`` is assigned once, written
  ``a - l * m`` / ``a + l * m`` (``l * (-m)`` is exactly ``-(l * m)`` in
  floating point, and ``a + -p`` is ``a - p``), so that the product the rule
  of ``-x * x`` writes twice (``d_neg = d_mul * x`` and ``dx + d_mul *
  _neg``) is one expression;
* an expression that a name in the same block already holds replaced by
  that name: ``t = a * b`` ... ``u = c + a * b`` becomes ``u = c + t``.

Sound when the function is write-free (``ValueFacts.write_free``: nothing
writes into an array, so a name's array keeps its elements) and:

* the expressions are pure and deterministic: arithmetic and unary
  operators, NumPy ufuncs and calls known pure without ``out=``, ``.sum``
  of a number or array, on names and literals (no attribute reads, which may
  run a property); in user code (not marked pure) every name read must be a
  number or an array of known shape, whose operators are NumPy's;
* between the two occurrences no name the expression reads, nor the name
  holding it, is assigned (the table of available expressions forgets an
  entry when one is, and everything at a statement other than an
  assignment: a branch or loop may assign anything, any number of times);
* for the negation (in adjoint code, marked pure), ``n`` and ``m`` are
  assigned once (or ``m`` is a parameter never assigned), ``m`` is a number
  or array of known shape and ``l`` an adjoint (a number or array), for
  which ``l * (-m) == -(l * m)`` holds exactly (IEEE negation is exact and
  rounding is symmetric; integers wrap the same way).

Evaluation order does not matter: no expression involved has side effects,
and the first occurrence raises whatever the second would.
"""

from __future__ import annotations

import ast
import copy

from . import ir
from .name_counts import NameCounts
from .value_facts import Specialization, ValueFacts, names_of


def share_subexpressions(fdef: ast.FunctionDef, special: Specialization, counts: NameCounts) -> ast.FunctionDef:
    """See the module docstring."""
    facts = ValueFacts(fdef, special)
    if not facts.write_free:
        return fdef
    _Sharing(facts, counts).block(fdef.body)
    return fdef


class Candidates:
    """Which expressions may be computed once, or later (see the module
    docstring)."""

    def __init__(self, facts: ValueFacts):
        self.facts = facts

    def candidate(self, node, user: bool) -> bool:
        """A pure, deterministic expression of names and literals (see the
        module docstring)."""
        if isinstance(node, ast.Constant):
            return True
        if isinstance(node, ast.Name):
            return not user or self.facts.shape(node) is not None
        if isinstance(node, ast.BinOp):
            return self.candidate(node.left, user) and self.candidate(node.right, user)
        if isinstance(node, ast.UnaryOp):
            return self.candidate(node.operand, user)
        if isinstance(node, ast.Call) and not any(isinstance(a, ast.Starred) for a in node.args):
            args = node.args + [k.value for k in node.keywords]
            if not all(self.candidate(a, user) for a in args):
                return False
            if isinstance(node.func, ast.Attribute) and node.func.attr == "sum" and self.facts.callee(node) is None:
                receiver = node.func.value
                return isinstance(receiver, ast.Name) and self.candidate(receiver, user)
            return self.facts.safe_call(node) and self.facts.callee(node) is not None
        return False


class _Sharing:
    def __init__(self, facts: ValueFacts, counts: NameCounts):
        self.facts = facts
        self.counts = counts
        self.candidates = Candidates(facts)

    def block(self, stmts: list) -> None:
        table: dict[str, tuple] = {}  # ast.dump of an expression -> (the name holding it, the names it reads)
        for stmt in stmts:
            if isinstance(stmt, ir.Comment) or isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                continue
            if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
                for field in ("body", "orelse"):
                    inner = getattr(stmt, field, None)
                    if isinstance(inner, list):
                        self.block(inner)
                if isinstance(stmt, ast.Return) and stmt.value is not None:
                    stmt.value = self.substitute(stmt.value, table, user=True)
                table.clear()
                continue
            self.assignment(stmt, table)

    def assignment(self, stmt: ast.Assign, table: dict) -> None:
        target = stmt.targets[0].id
        user = not ir.get(stmt, "pure", False)
        if not user:
            stmt.value = self.fold_negation(stmt.value)
        stmt.value = self.substitute(stmt.value, table, user)
        for key in [k for k, (holder, names) in table.items() if holder == target or target in names]:
            del table[key]
        names = names_of(stmt.value)
        if self.candidates.candidate(stmt.value, user) and target not in names and not isinstance(stmt.value, ast.Name):
            table.setdefault(ast.dump(stmt.value), (target, names))

    def substitute(self, node, table: dict, user: bool):
        """``node`` with its largest subexpressions held by a name replaced;
        changed nodes are new (generated code may share a node between
        places), unchanged ones the same."""
        if not table or isinstance(node, (ast.Name, ast.Constant)):
            return node
        if self.candidates.candidate(node, user):
            found = table.get(ast.dump(node))
            if found is not None:
                self.counts.forget(node)
                self.counts.loads[found[0]] += 1
                return ast.copy_location(ast.Name(id=found[0], ctx=ast.Load()), node)
        changes = {}
        for field, value in ast.iter_fields(node):
            if isinstance(value, ast.expr):
                new = self.substitute(value, table, user)
                if new is not value:
                    changes[field] = new
            elif isinstance(value, list) and any(isinstance(v, ast.expr) for v in value):
                new = [self.substitute(v, table, user) if isinstance(v, ast.expr) else v for v in value]
                if any(x is not y for x, y in zip(new, value)):
                    changes[field] = new
        return _replaced(node, changes)

    def fold_negation(self, node):
        """``a + l * n`` -> ``a - l * m`` for ``n = -m`` (see the module
        docstring); changed nodes are new, as in ``substitute``."""
        if not isinstance(node, ast.BinOp):
            return node
        changes = {
            f: new for f in ("left", "right") if (new := self.fold_negation(getattr(node, f))) is not getattr(node, f)
        }
        node = _replaced(node, changes)
        product = node.right
        if not (
            isinstance(node.op, (ast.Add, ast.Sub))
            and isinstance(product, ast.BinOp)
            and isinstance(product.op, ast.Mult)
        ):
            return node
        for side in ("right", "left"):
            negated = self.negated(getattr(product, side))
            if negated is not None:
                self.counts.loads[getattr(product, side).id] -= 1
                self.counts.loads[negated] += 1
                product = _replaced(product, {side: ast.Name(id=negated, ctx=ast.Load())})
                op = ast.Sub() if isinstance(node.op, ast.Add) else ast.Add()
                return _replaced(node, {"right": product, "op": op})
        return node

    def negated(self, node) -> str | None:
        """``m`` when ``node`` is a name assigned once as ``-m``, ``m`` a name
        of one value all along whose shape is known."""
        if not (isinstance(node, ast.Name) and node.id in self.facts.once):
            return None
        value = self.facts.definitions[node.id]
        if (
            isinstance(value, ast.UnaryOp)
            and isinstance(value.op, ast.USub)
            and isinstance(value.operand, ast.Name)
            and value.operand.id in self.facts.unchanged
            and self.facts.shape(value.operand) is not None
        ):
            return value.operand.id
        return None


def _replaced(node, changes: dict):
    """``node``, or a shallow copy of it with the fields in ``changes``."""
    if not changes:
        return node
    new = copy.copy(node)
    for field, value in changes.items():
        setattr(new, field, value)
    return new
