"""Shape inference for specialised code.

Question answered: given the shapes of the arguments of one call (the
example arguments ``df.tangent_specialized_for`` specialises to), which
shape does each local variable certainly have? Reverse mode uses the
answer to drop ``unbroadcast`` calls whose result already has the right
shape and to pick faster rule variants, so a wrong shape is a wrong
derivative: every answer here errs towards UNKNOWN.

Input: a function in Tangent's normal form (calls carry ``tangent_callee``,
every ``for`` runs over a range) and ``{parameter: shape}``. Output:
``infer_shapes`` gives ``{name: shape tuple, or None when not known}``.

How: a flow-insensitive fixpoint over the function's definitions (``name =
value`` statements, loop targets, the known parameters). Each name's
abstract value is the join of the abstract values of all its definitions,
so it covers the value at every use. Abstract values (``Value``) are
``Array`` (a number or array of a known shape, maybe with its static value,
maybe known to be an integer), ``Ints`` (a tuple of integers such as
``x.shape``), ``Static`` (another statically known value: None, a slice, a
string) or the one ``UNKNOWN``. What each operation does to shapes is
declared as data: ``@shape_rule(np.sum, np.mean, ...)`` in
``tangent/rules/numpy_shapes.py``, looked up by the identity of the callee
(ast operators map to the ``operator`` module's functions).

Assumes: NumPy's broadcasting and result-shape semantics; a call without a
shape rule gives UNKNOWN; code that would raise (a bad index) may be given
any shape, as it never produces a value.
"""

from __future__ import annotations

import ast
import operator

import numpy as np

from . import ir
from .cfg import bindings
from .rules.shape_values import (
    DYNAMIC,
    UNKNOWN,
    Array,
    Ints,
    Static,
    Value,
    apply_rule,
    attribute_rule_for,
    join,
    rule_for,
)

_OPERATORS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow, ast.MatMult: operator.matmul,
    ast.BitAnd: operator.and_, ast.BitOr: operator.or_, ast.BitXor: operator.xor, ast.LShift: operator.lshift,
    ast.RShift: operator.rshift, ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Invert: operator.invert,
    ast.Not: operator.not_,
}


# ------------------------------------------------------------ the fixpoint


def describe_argument(value):
    """What shape inference needs of an argument: its shape for arrays and
    numbers, None for anything else (containers, objects)."""
    if isinstance(value, np.ndarray):
        return ("array", value.shape, value.dtype.char)
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return ("float", (), "d")
    if isinstance(value, int):
        return ("int", (), "l")
    return None


def infer_shapes(tree: ast.FunctionDef, known: dict) -> dict:
    """Shapes of the function's variables, from the shapes of its arguments
    (``known``: {parameter: shape}): {name: shape, or None when unknown}."""
    _load_rules()
    definitions = _definitions(tree)
    args = tree.args
    params = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    if args.vararg:
        params.append(args.vararg.arg)
    if args.kwarg:
        params.append(args.kwarg.arg)
    # a parameter's value on entry is one of its definitions
    values: dict[str, Value | None] = {p: UNKNOWN for p in params}
    values.update({name: Array(tuple(shape)) for name, shape in known.items()})
    evaluator = _Evaluator(values, set(definitions) | set(values))
    # Converges by construction: a name's value only rises (each update is a
    # join with the old value) in a lattice of height 4 (see join), so every
    # pass but the last raises some name: at most 4 * (number of names) + 1.
    limit = 4 * len(definitions) + 1
    for _ in range(limit + 1):
        changed = False
        for name, defs in definitions.items():
            for definition in defs:
                new = join(values.get(name), evaluator.definition(definition))
                if new != values.get(name):
                    values[name] = new
                    changed = True
        if not changed:
            break
    else:
        raise AssertionError("shape inference did not converge")  # pragma: no cover
    # (a name still without a value is defined only from names that never get
    # one, so its definitions never run: it is left out, None to callers)
    return {name: (v.shape if isinstance(v, Array) else None) for name, v in values.items()}


def _definitions(tree: ast.FunctionDef) -> dict[str, list]:
    """{name: its definitions}: the values of ``name = value``, a Value for
    loop counters, UNKNOWN for names bound in ways not followed (unpacking,
    arrays resized in place)."""
    definitions = bindings(tree, counter=Array((), integer=True), unfollowed=UNKNOWN)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and ir.callee(node) is np.ndarray.resize \
                and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            definitions.setdefault(node.func.value.id, []).append(UNKNOWN)
    return definitions


class _NotYet(Exception):
    """A name read has no value yet: the definition adds nothing now."""


class _Evaluator:
    """The abstract value of an expression of normal form, from the names'
    current values (``bound``: the names the function defines; any other
    name is UNKNOWN)."""

    def __init__(self, values: dict, bound: set[str]):
        self.values = values
        self.bound = bound

    def definition(self, definition) -> Value | None:
        if not isinstance(definition, ast.AST):
            return definition
        try:
            return self.of(definition)
        except _NotYet:
            return None

    def of(self, node: ast.expr) -> Value:
        if isinstance(node, ast.Constant):
            return _constant(node.value)
        if isinstance(node, ast.Name):
            if node.id not in self.bound:
                return UNKNOWN
            value = self.values.get(node.id)
            if value is None:
                raise _NotYet
            return value
        if ir.is_global(node):
            return _global(ir.get(node, "value"))
        if isinstance(node, ast.BinOp):
            return self.call(_OPERATORS.get(type(node.op)), [self.of(node.left), self.of(node.right)], {})
        if isinstance(node, ast.UnaryOp):
            return self.call(_OPERATORS.get(type(node.op)), [self.of(node.operand)], {})
        if isinstance(node, ast.Subscript):
            index = node.slice
            parts = index.elts if isinstance(index, ast.Tuple) else [index]
            return self.call(operator.getitem, [self.of(node.value)] + [self.index(p) for p in parts], {})
        if isinstance(node, ast.Attribute):
            rule = attribute_rule_for(node.attr)
            return apply_rule(rule, self.of(node.value)) if rule is not None else UNKNOWN
        if isinstance(node, ast.Tuple):
            return _tuple([self.of(e) for e in node.elts])
        if isinstance(node, ast.Call):
            args = list(node.args)
            if ir.is_method(node):
                args = [node.func.value] + args
            if any(isinstance(a, ast.Starred) for a in args) or any(k.arg is None for k in node.keywords):
                return UNKNOWN
            return self.call(ir.callee(node), [self.of(a) for a in args],
                             {k.arg: self.of(k.value) for k in node.keywords})
        return UNKNOWN

    def index(self, part: ast.expr) -> Value:
        """The value of one part of an index; a slice is Static(slice(...))
        when its bounds are static integers."""
        if not isinstance(part, ast.Slice):
            return self.of(part)
        bounds = []
        for bound in (part.lower, part.upper, part.step):
            value = None if bound is None else self.of(bound)
            if value is not None and not (isinstance(value, Array) and value.integer and value.value is not DYNAMIC):
                return UNKNOWN
            bounds.append(None if value is None else value.value)
        return Static(slice(*bounds))

    @staticmethod
    def call(callee, args: list, keywords: dict) -> Value:
        rule = rule_for(callee) if callee is not None else None
        if rule is None:
            return UNKNOWN
        return apply_rule(rule, callee, *args, **keywords)


def _constant(value) -> Value:
    if isinstance(value, (int, float, complex)):  # (bools too, as NumPy reads them)
        return Array((), value, integer=type(value) is int)
    return Static(value)


def _global(value) -> Value:
    """A module's constant read in the function (its value may change
    between calls: only its shape counts)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Array(())
    if isinstance(value, np.ndarray):
        return Array(tuple(value.shape))
    return UNKNOWN


def _tuple(items: list) -> Value:
    """``(a, b)``: Ints when its items are integers, Static when constants."""
    if all(isinstance(i, Array) and i.integer and i.shape == () for i in items):
        values = [i.value for i in items]
        return Ints(tuple(values) if all(v is not DYNAMIC for v in values) else DYNAMIC)
    if all(isinstance(i, (Array, Static)) and i.value is not DYNAMIC for i in items):
        return Static(tuple(i.value for i in items))
    return UNKNOWN


def _load_rules() -> None:
    from .rules import numpy_shapes  # noqa: F401  (registers the rules)
