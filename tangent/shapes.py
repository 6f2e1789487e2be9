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
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .cfg import bindings

# ------------------------------------------------------------ abstract values


class _Unknown:
    """The top of the lattice: nothing is known of the value."""

    def __repr__(self):
        return "UNKNOWN"


UNKNOWN = _Unknown()


class _Dynamic:
    """The marker of a value not known statically."""

    def __repr__(self):
        return "DYNAMIC"


DYNAMIC = _Dynamic()


@dataclass(frozen=True)
class Array:
    """A number or array of shape ``shape``; ``value`` when known statically
    (Python ints and floats only), ``integer`` when certainly an integer."""

    shape: tuple
    value: object = DYNAMIC
    integer: bool = False


@dataclass(frozen=True)
class Ints:
    """A tuple of integers (``x.shape``), its items when known statically."""

    value: object = DYNAMIC


@dataclass(frozen=True)
class Static:
    """Another value known statically: None, a slice, a string, a tuple of
    constants."""

    value: object


Value = Array | Ints | Static | _Unknown


class NotKnown(Exception):
    """Raised by rules and their helpers: the result is UNKNOWN."""


def _same(a, b) -> bool:
    return type(a) is type(b) and a == b


def join(a: Value | None, b: Value | None) -> Value | None:
    """The least abstract value covering both (None: no value yet, the
    bottom). Per name the lattice has height 4: None < Array(s, v, True) <
    Array(s, DYNAMIC, True) < Array(s, DYNAMIC, False) < UNKNOWN (Ints and
    Static are shorter chains)."""
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, Array) and isinstance(b, Array) and a.shape == b.shape:
        return Array(a.shape, a.value if _same(a.value, b.value) else DYNAMIC, a.integer and b.integer)
    if isinstance(a, Ints) and isinstance(b, Ints):
        return Ints(a.value if _same(a.value, b.value) else DYNAMIC)
    if isinstance(a, Static) and isinstance(b, Static) and _same(a.value, b.value):
        return a
    return UNKNOWN


# ------------------------------------------------------------ helpers for rules


def shape_of(value: Value) -> tuple:
    """The shape of a number or array, else NotKnown."""
    if isinstance(value, Array):
        return value.shape
    raise NotKnown


def static(value: Value):
    """The statically known value, else NotKnown."""
    if isinstance(value, (Array, Ints, Static)) and value.value is not DYNAMIC:
        return value.value
    raise NotKnown


def broadcast(*shapes: tuple) -> tuple:
    """NumPy's broadcast of the shapes (NotKnown when they do not broadcast)."""
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise NotKnown from None


def reduced(shape: tuple, axis, keepdims: bool) -> tuple:
    """The shape of a reduction of an array of ``shape`` over ``axis``."""
    if axis is None:
        return tuple(1 for _ in shape) if keepdims else ()
    axes = axis if isinstance(axis, tuple) else (axis,)
    if not all(type(a) is int for a in axes) or not shape:
        raise NotKnown
    axes = {a % len(shape) for a in axes}
    if keepdims:
        return tuple(1 if i in axes else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def matmul_shape(a: tuple, b: tuple) -> tuple:
    """The shape of ``a @ b`` (NotKnown for scalars and mismatches)."""
    if not a or not b:
        raise NotKnown
    if len(a) == 1 and len(b) == 1:
        if a != b:
            raise NotKnown
        return ()
    if len(a) == 1:
        if b[-2] != a[0]:
            raise NotKnown
        return b[:-2] + b[-1:]
    if len(b) == 1:
        if a[-1] != b[0]:
            raise NotKnown
        return a[:-1]
    if a[-1] != b[-2]:
        raise NotKnown
    return broadcast(a[:-2], b[:-2]) + (a[-2], b[-1])


# ------------------------------------------------------------ the rule registry

ShapeRule = Callable[..., object]
_RULES: dict = {}
_PREDICATE_RULES: list[tuple[Callable[[object], bool], ShapeRule]] = []
_ATTRIBUTE_RULES: dict[str, Callable[[Value], object]] = {}


def shape_rule(*callees, where: Callable[[object], bool] | None = None) -> Callable[[ShapeRule], ShapeRule]:
    """Declare ``rule`` as the shape effect of ``callees`` (and of every
    callee for which ``where(callee)`` holds). A rule is called as
    ``rule(callee, *argument values, **keyword values)`` (a method's
    receiver first) and returns a shape tuple, a Value or UNKNOWN; raising
    NotKnown (or TypeError for arguments it does not take, ValueError,
    IndexError) means UNKNOWN."""
    def register(rule: ShapeRule) -> ShapeRule:
        for callee in callees:
            _RULES[callee] = rule
        if where is not None:
            _PREDICATE_RULES.append((where, rule))
        return rule

    return register


def attribute_rule(*names: str) -> Callable:
    """Declare the shape effect of reading the attribute ``names`` of a
    value: ``rule(value)``, as for shape_rule."""
    def register(rule):
        for n in names:
            _ATTRIBUTE_RULES[n] = rule
        return rule

    return register


def rule_for(callee) -> ShapeRule | None:
    """The shape rule declared for ``callee``, if any."""
    try:
        rule = _RULES.get(callee)
    except TypeError:  # unhashable
        return None
    if rule is not None:
        return rule
    for where, rule in _PREDICATE_RULES:
        if where(callee):
            return rule
    return None


def apply_rule(rule: Callable, *args, **keywords) -> Value:
    """A rule's result as a Value."""
    try:
        result = rule(*args, **keywords)
    except (NotKnown, TypeError, ValueError, IndexError, KeyError, ZeroDivisionError):
        return UNKNOWN
    if isinstance(result, tuple):
        return Array(result)
    return result


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
        if isinstance(node, ast.Call) and getattr(node, "tangent_callee", None) is np.ndarray.resize \
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
        if getattr(node, "tangent_global", False):
            return _global(getattr(node, "tangent_value", None))
        if isinstance(node, ast.BinOp):
            return self.call(_OPERATORS.get(type(node.op)), [self.of(node.left), self.of(node.right)], {})
        if isinstance(node, ast.UnaryOp):
            return self.call(_OPERATORS.get(type(node.op)), [self.of(node.operand)], {})
        if isinstance(node, ast.Subscript):
            index = node.slice
            parts = index.elts if isinstance(index, ast.Tuple) else [index]
            return self.call(operator.getitem, [self.of(node.value)] + [self.index(p) for p in parts], {})
        if isinstance(node, ast.Attribute):
            rule = _ATTRIBUTE_RULES.get(node.attr)
            return apply_rule(rule, self.of(node.value)) if rule is not None else UNKNOWN
        if isinstance(node, ast.Tuple):
            return _tuple([self.of(e) for e in node.elts])
        if isinstance(node, ast.Call):
            args = list(node.args)
            if getattr(node, "tangent_method", False):
                args = [node.func.value] + args
            if any(isinstance(a, ast.Starred) for a in args) or any(k.arg is None for k in node.keywords):
                return UNKNOWN
            return self.call(getattr(node, "tangent_callee", None), [self.of(a) for a in args],
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
