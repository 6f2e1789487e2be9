"""Activity: what carries a derivative.

Question answered: which names may depend differentiably on the inputs we
differentiate with respect to, just before each statement runs (forward
activity), and, for one operation, which of its operands its result depends
on differentiably. Also the shared vocabulary of one-operation values
(``primitive_of``: callee and operand atoms; writes into arrays, lists,
dicts and objects are classified by ``ir.kind``).

Input: a function in Tangent's normal form with ``tangent_callee`` on its
calls (frontend) and the names to differentiate with respect to.
Output: ``Analysis`` (CFG, definite / possible assignment, activity) and the
functions below.

Assumes: the derivative rules in ``tangent.rules`` are registered (a rule's
``differentiable_params`` say which operands count); a name is varied after
an assignment when one of the value's differentiable inputs is varied.
"""

from __future__ import annotations

import ast
import operator

from . import ir, rules
from .cfg import CFG, assigned_names, names_loaded, solve
from .frontend import UNRESOLVED
from .ir import Kind, index_value
from .kinds import classify_sequence_operators
from .runtime import attribute

BINARY_OPERATORS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow, ast.MatMult: operator.matmul,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
}
UNARY_OPERATORS = {ast.USub: operator.neg, ast.UAdd: operator.pos}


def primitive_of(value: ast.expr):
    """(callee, positional atoms, keyword atoms) of a one-operation value.

    The callee is None for operations without derivatives (comparisons,
    f-strings) and UNRESOLVED for values that are not operations.
    """
    if isinstance(value, ast.BinOp):
        callee = ir.callee(value) or BINARY_OPERATORS.get(type(value.op))
        return callee, [value.left, value.right], {}
    if isinstance(value, ast.UnaryOp):
        return UNARY_OPERATORS.get(type(value.op)), [value.operand], {}
    if isinstance(value, (ast.Compare, ast.JoinedStr)):
        return None, [], {}
    if isinstance(value, ast.Subscript):
        return operator.getitem, [value.value, index_value(value.slice)], {}
    if isinstance(value, ast.Attribute):
        if ir.callee(value) is attribute:
            return attribute, [value.value, ast.Constant(value=value.attr)], {}
        return ir.callee(value), [value.value], {}
    if isinstance(value, ast.Call):
        args = list(value.args)
        if ir.is_method(value):
            args = [value.func.value] + args
        return ir.callee(value), args, {k.arg: k.value for k in value.keywords}
    return UNRESOLVED, [], {}


def differentiable_inputs(value: ast.expr) -> set[str]:
    """Names whose values the operation's result depends on differentiably
    (the index of a subscript does not count, nor the ``like`` argument of a
    rule that never takes ``d[like]``)."""
    if not is_differentiable_op(value):
        return set()
    if isinstance(value, ast.Subscript):
        return names_loaded(value.value)
    callee, args, keywords = primitive_of(value)
    if callee is None or callee is UNRESOLVED:
        return names_loaded(value)
    template = rules.lookup_adjoint(callee) or rules.lookup_tangent(callee)
    if template is None:
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and not ir.is_method(value):
            # self.basis(t) of a staticmethod (or a module's function): the receiver is not an argument
            return set().union(*(names_loaded(a) for a in value.args + [k.value for k in value.keywords]))
        return names_loaded(value)
    try:
        bound = template.match(args, keywords)
    except TypeError:
        return names_loaded(value)
    found: set[str] = set()
    for param, atom in bound.arguments.items():
        if param in template.differentiable_params:
            nodes = atom if isinstance(atom, (tuple, list)) else atom.values() if isinstance(atom, dict) else [atom]
            for node in nodes:
                found |= names_loaded(node)
    return found


def is_differentiable_op(value: ast.expr) -> bool:
    """Whether the operation's result can depend differentiably on its inputs."""
    if isinstance(value, (ast.Compare,)):
        return False
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, (ast.Not, ast.Invert)):
        return False
    if isinstance(value, ast.BinOp) and isinstance(value.op, (ast.FloorDiv, ast.BitAnd, ast.BitOr, ast.BitXor, ast.LShift, ast.RShift)):
        return False
    if ir.get(value, "shift_invariant"):
        return False  # (its every derivative is zero: shift_invariance.py)
    callee = ir.get(value, "callee", UNRESOLVED)
    if callee is not UNRESOLVED and rules.is_nondifferentiable(callee):
        return False
    return True


def varied_names(cfg: CFG, wrt: set[str], always: frozenset = frozenset()):
    """Forward activity: for each statement, the names that (may) depend
    differentiably on ``wrt`` just before it runs. Returns id(stmt) -> set.
    The names in ``always`` count as varied everywhere."""
    inputs: dict[int, set[str]] = {}

    def inputs_of(value):  # the solver revisits statements: compute each once
        key = id(value)
        if key not in inputs:
            inputs[key] = differentiable_inputs(value)
        return inputs[key]

    loaded: dict[int, set[str]] = {}

    def loads(value):  # likewise
        key = id(value)
        if key not in loaded:
            loaded[key] = names_loaded(value)
        return loaded[key]

    def transfer(node, facts):
        facts = _transfer(node, facts)
        return facts | always if always else facts

    def _transfer(node, facts):
        if node is cfg.entry:
            return set(wrt)
        stmt = node.stmt
        match ir.kind_or_none(stmt):
            case Kind.FOR:
                return facts - node.defs
            case Kind.APPEND | Kind.SETITEM:  # writes into an object: what it held stays
                # facts are frozensets: unchanged when nothing is added
                if node.defs <= facts or loads(stmt.value).isdisjoint(facts):
                    return facts
                return facts | node.defs
            case Kind.ASSIGN | Kind.POP | Kind.UNPACK if node.defs:
                if inputs_of(stmt.value).isdisjoint(facts):
                    return facts - node.defs if not node.defs.isdisjoint(facts) else facts
                return facts if node.defs <= facts else facts | node.defs
        return facts

    inp, _ = solve(cfg, transfer, forward=True)
    return {id(n.stmt): inp[n] for n in cfg.nodes}


class Analysis:
    """All facts the differentiators need about one normalized function."""

    def __init__(self, tree: ast.FunctionDef, wrt: set[str], argument_kinds: dict | None = None):
        classify_sequence_operators(tree, argument_kinds)
        self.cfg = CFG.build(tree)
        self.defined, self.possibly = assigned_names(self.cfg)
        self.varied = varied_names(self.cfg, wrt)

    def is_varied(self, name: str, before: ast.AST) -> bool:
        return name in self.varied.get(id(before), ())

    def defined_before(self, stmt: ast.AST) -> frozenset:
        return self.defined.get(id(stmt), frozenset())

    def possibly_defined_before(self, stmt: ast.AST) -> frozenset:
        """Names bound before ``stmt`` on at least one path."""
        return self.possibly.get(id(stmt), frozenset())
