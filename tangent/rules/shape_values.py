"""The vocabulary of shape rules: abstract values and the rule registry.

The shape analysis (``tangent.shapes``) computes, for each local variable
of a function, one of these abstract values: ``Array`` (a number or array of
known shape, maybe with its static value), ``Ints`` (a tuple of integers such
as ``x.shape``), ``Static`` (another statically known value) or the one
``UNKNOWN``. What a primitive does to shapes is declared as data, beside the
derivative rules, with ``@shape_rule(np.sum, ...)`` (see ``numpy_shapes``);
this module is where those declarations register. It is part of the rules
layer so that rule modules never import an analysis. Example::

    @shape_rule(np.tanh, np.sin)
    def elementwise(callee, x):
        return shape_of(x)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

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
    (Python ints and floats only), ``integer`` when certainly an integer,
    ``real`` when certainly a Python int or float or a NumPy float64 or
    int64 scalar (what ``math``'s functions take, computing in the same
    precision; never an array, a complex or a float32)."""

    shape: tuple
    value: object = DYNAMIC
    integer: bool = False
    real: bool = False


@dataclass(frozen=True)
class Ints:
    """A tuple of integers (``x.shape``), its items when known statically."""

    value: object = DYNAMIC


@dataclass(frozen=True)
class Static:
    """Another value known statically: None, a slice, a string, a tuple of
    constants."""

    value: object


@dataclass(frozen=True)
class Struct:
    """A container whose structure is known: ``kind`` is "dict", "list",
    "tuple" or "object"; ``items`` the pairs (key, index or attribute name,
    Value of the item), in order. Only the example arguments' descriptions
    make these (the specialisation key captures the structure)."""

    kind: str
    items: tuple

    def item(self, key) -> "Value":
        """The Value of the item at ``key`` (NotKnown if absent)."""
        for k, v in self.items:
            if _same(k, key):
                return v
        raise NotKnown


@dataclass(frozen=True)
class Seq:
    """A list the function being analysed builds (or receives from a caller
    that built it), of unknown length, whose every item has the Value
    ``item`` (None: no item yet). ``tangent.sequence_shapes`` says when one
    may be assumed: only while every item added to any list is seen."""

    item: object = None


Value = Array | Ints | Static | Struct | Seq | _Unknown


class NotKnown(Exception):
    """Raised by rules and their helpers: the result is UNKNOWN."""


def _same(a, b) -> bool:
    return type(a) is type(b) and a == b


def join(a: Value | None, b: Value | None) -> Value | None:
    """The least abstract value covering both (None: no value yet, the
    bottom). Per name the lattice has height 5: None < Array(s, v, True,
    True) < Array(s, DYNAMIC, True, True) < Array(s, DYNAMIC, False, True) <
    Array(s, DYNAMIC, False, False) < UNKNOWN (Ints and Static are shorter
    chains; Struct and Seq join item by item, so their chains are as long
    as their items' together: shapes.py caps their depth)."""
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, Array) and isinstance(b, Array) and a.shape == b.shape:
        return Array(a.shape, a.value if _same(a.value, b.value) else DYNAMIC, a.integer and b.integer,
                     a.real and b.real)
    if isinstance(a, Ints) and isinstance(b, Ints):
        return Ints(a.value if _same(a.value, b.value) else DYNAMIC)
    if isinstance(a, Static) and isinstance(b, Static) and _same(a.value, b.value):
        return a
    if isinstance(a, Struct) and isinstance(b, Struct) and a.kind == b.kind and len(a.items) == len(b.items) \
            and all(_same(k, m) for (k, _), (m, _) in zip(a.items, b.items)):
        return a if a == b else Struct(a.kind, tuple((k, join(x, y)) for (k, x), (_, y) in zip(a.items, b.items)))
    if isinstance(a, Seq) and isinstance(b, Seq):
        return a if a == b else Seq(join(a.item, b.item))
    return UNKNOWN


# ------------------------------------------------------------ helpers for rules


def constant_value(value) -> Value:
    """The Value of a literal: a number is an Array of shape () holding it,
    anything else (None, a string, a tuple) a Static."""
    if isinstance(value, (int, float, complex)):  # (bools too, as NumPy reads them)
        return Array((), value, integer=type(value) is int, real=not isinstance(value, complex))
    return Static(value)


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


def attribute_rule_for(attr: str) -> Callable | None:
    """The shape rule declared for reading the attribute ``attr``, if any."""
    return _ATTRIBUTE_RULES.get(attr)
