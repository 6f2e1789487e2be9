"""Zero tangents in forward mode: simplifying them away from instantiated rules.

Takes the statements a forward rule instantiates to (``templates.instantiate``),
in which the tangent of an inactive value is a ``ZeroDerivative`` marker and the
tangent of an active one a Name with ``tangent_ref`` set. Gives the statements
with the zero terms of sums and products dropped, the locals that turned out
zero removed, and every marker left over materialised as ``zeros_like(like)``.
Assumes forward rules are linear in the tangents (a call whose only tangent
argument is zero is zero), which holds for every ``@tangent_rule``.

It also reports whether a dropped term may have been what broadcast the
result (``ZeroSimplifier.dropped``, ``covers_operands``), so that
forward mode can broadcast the tangent to the value's shape, and rewrites the
negation of a list or tuple tangent (``negate_sequences``).
"""

from __future__ import annotations

import ast

from . import ir
from .astwalk import FastTransformer
from .ir import Kind, ZeroDerivative, name


def is_zero(node) -> bool:
    """Whether ``node`` is the zero marker."""
    return isinstance(node, ZeroDerivative)


def has_tangent(node) -> bool:
    """Whether ``node`` mentions a (non-zero) tangent."""
    return any(ir.get(n, "ref", False) for n in ast.walk(node))


def has_zero(node) -> bool:
    """Whether ``node`` holds a zero marker."""
    return any(isinstance(n, ZeroDerivative) for n in ast.walk(node))


class ZeroSimplifier(FastTransformer):
    """Propagates zero tangents through sums and products.

    Dropping the zero term of a sum can lose the shape the result gets from
    broadcasting (``x1 - x0`` with ``x1`` of shape (2, 3) and only ``x0``
    of shape (3,) varying has the tangent ``-dx0``, of shape (3,)), so the
    simplifier records where it dropped a term (``dropped``: "left" when the
    left term was kept, "right" when the right one was) and the forward rule's
    result is then broadcast to the primal result (``broadcast_tangent``).
    """

    def __init__(self):
        self.dropped = None

    def _drop(self, kept_side):
        if self.dropped is None:
            self.dropped = kept_side

    def visit_BinOp(self, node):
        self.generic_visit(node)
        left, right = is_zero(node.left), is_zero(node.right)
        if isinstance(node.op, (ast.Add, ast.Sub)):
            if left and right:
                return node.left
            if right:
                self._drop("left")
                return node.left
            if left and isinstance(node.op, ast.Add):
                self._drop("right")
                return node.right
            if left:
                self._drop("left")  # (sequences have no "-": only broadcasting matters)
                return ast.UnaryOp(op=ast.USub(), operand=node.right)
        elif isinstance(node.op, (ast.Mult, ast.MatMult)):
            if left:
                return node.left
            if right:
                return node.right
        elif isinstance(node.op, ast.Div) and left:
            return node.left
        return node

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, (ast.USub, ast.UAdd)) and is_zero(node.operand):
            return node.operand
        return node

    def visit_IfExp(self, node):
        self.generic_visit(node)
        if is_zero(node.body) and is_zero(node.orelse):
            return node.body
        return node

    def visit_Subscript(self, node):
        self.generic_visit(node)
        if is_zero(node.value):
            return node.value
        return node

    def visit_Attribute(self, node):
        self.generic_visit(node)
        if is_zero(node.value):
            return node.value
        return node

    def visit_Call(self, node):
        # Forward rules are linear in the tangents: a call whose only tangent
        # argument is zero is zero.
        self.generic_visit(node)
        values = list(node.args) + [k.value for k in node.keywords]
        if any(is_zero(v) for v in values) and not any(has_tangent(v) for v in values):
            return ZeroDerivative()
        return node


class _Materialize(ast.NodeTransformer):
    """Zero markers left after simplification become ``zeros_like(like)``."""

    def __init__(self, zeros_like: str):
        self.zeros_like = zeros_like

    def visit_ZeroDerivative(self, node):
        like = node.like if node.like is not None else ast.Constant(value=0.0)
        return ast.Call(func=name(self.zeros_like), args=[like], keywords=[])


def simplify_zeros(expr: ast.expr, zeros_like: str, simplifier: ZeroSimplifier | None = None) -> ast.expr | None:
    """``expr`` with zero tangents simplified; None when it is zero.

    Example: ``d[x] * y + x * ZERO`` gives ``dx * y``."""
    expr = (simplifier or ZeroSimplifier()).visit(expr)
    if is_zero(expr):
        return None
    return _Materialize(zeros_like).visit(expr)


def simplify_statement(stmt: ast.stmt, zeros_like: str, simplifier: ZeroSimplifier | None = None) -> ast.stmt:
    """``stmt`` with zero tangents simplified and the remaining markers
    materialised (a statement is never dropped)."""
    (simplifier or ZeroSimplifier()).visit(stmt)
    return _Materialize(zeros_like).visit(stmt)


class _SubstituteZeros(ast.NodeTransformer):
    def __init__(self, zero_names: set[str]):
        self.zero_names = zero_names

    def visit_Name(self, node):
        if node.id in self.zero_names and isinstance(node.ctx, ast.Load):
            return ZeroDerivative()
        return node


def substitute_zero_names(stmt: ast.stmt, zero_names: set[str]) -> ast.stmt:
    """Template locals that turned out zero become zero markers."""
    if not zero_names:
        return stmt
    return _SubstituteZeros(zero_names).visit(stmt)


def mark_tangent(var: str, stmts) -> None:
    """Loads of a template local computed from tangents count as tangents."""
    for stmt in stmts:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and node.id == var and isinstance(node.ctx, ast.Load):
                ir.annotate(node, ref=True)


def simplify_rule(raw: list[ast.stmt], zeros_like: str) -> tuple[list[ast.stmt], ast.expr | None, str | None]:
    """(statements, tangent expression or None for zero, side kept where a
    zero term was dropped or None) of an instantiated forward rule, whose
    ``d[result] = ...`` is an ``Accumulate`` marker.

    A local assigned from tangents (``t = d[x] * y``) that simplifies to zero
    is left out and its loads become zero markers; one that does not counts as
    a tangent for the statements after it. A term dropped anywhere (in a
    local too, nested or not) is reported, as it may have been what
    broadcast the result."""
    code, tangent_value = [], None
    zero_locals: set[str] = set()
    simplifier = ZeroSimplifier()
    for item in raw:
        item = substitute_zero_names(item, zero_locals)
        if ir.kind_or_none(item) is Kind.ACCUMULATE:
            tangent_value = simplify_zeros(item.value, zeros_like, simplifier)
        elif (isinstance(item, ast.Assign) and len(item.targets) == 1 and isinstance(item.targets[0], ast.Name)
              and has_tangent(item.value) | has_zero(item.value)):
            probe = ZeroSimplifier()
            value = probe.visit(item.value)
            if is_zero(value):
                zero_locals.add(item.targets[0].id)
                continue
            if probe.dropped is not None:
                # the probe simplified the local's subexpressions in place: a
                # term it dropped there is seen by no later pass
                simplifier._drop(probe.dropped)
            mark_tangent(item.targets[0].id, raw)
            code.append(simplify_statement(item, zeros_like, simplifier))
        else:
            code.append(simplify_statement(item, zeros_like, simplifier))
    return code, tangent_value, simplifier.dropped


def covers_operands(template, bound: dict, code: list[ast.AST], derivative_names: dict[str, str]) -> bool:
    """Whether what is left of a rule after dropping zero terms still
    involves every operand (by its value or its tangent), so that it
    keeps the shape they broadcast to (``dx1 * x2`` of ``x1 * x2``, but
    not ``-dx0`` of ``x1 - x0``). ``derivative_names`` maps variables to
    their tangents' names."""
    operands = set()
    for param in template.differentiable_params:
        atom = bound.get(param)
        for node in (atom.elts if isinstance(atom, ast.Tuple) else [atom]):
            if isinstance(node, ast.Name):
                operands.add(node.id)
            elif node is not None and not isinstance(node, ast.Constant):
                return False
    primal_of = {d: v for v, d in derivative_names.items()}
    mentioned = set()
    for part in code:
        for n in ast.walk(part):
            if isinstance(n, ast.Name):
                mentioned.add(primal_of.get(n.id, n.id) if ir.get(n, "ref", False) else n.id)
    return operands <= mentioned


class _NegateSequences(ast.NodeTransformer):
    def __init__(self, sequences: set[str], np_name: str):
        self.sequences = sequences
        self.np_name = np_name

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Name) and node.operand.id in self.sequences:
            func = ast.Attribute(value=name(self.np_name), attr="negative", ctx=ast.Load())
            return ast.Call(func=func, args=[node.operand], keywords=[])
        return node


def negate_sequences(code: list[ast.stmt], tangent_value: ast.expr | None, sequences: set[str],
                     np_name: str) -> tuple[list[ast.stmt], ast.expr | None]:
    """``-t`` of a tangent ``t`` named in ``sequences`` (that of a list or
    tuple, an operand of arithmetic with an array: ``arr - [a, b]``) as
    ``np.negative(t)``: Python lists have no ``-``, NumPy reads them as
    arrays. ``np_name`` is the generated module's name for NumPy."""
    if not sequences:
        return code, tangent_value
    negate = _NegateSequences(sequences, np_name)
    code = [negate.visit(stmt) for stmt in code]
    if tangent_value is not None:
        tangent_value = negate.visit(tangent_value)
    return code, tangent_value
