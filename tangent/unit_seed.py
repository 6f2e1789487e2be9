"""A gradient's seed read as the number 1.0 (``tangent.hvp``'s forward mode).

Takes: the normalized tree of a gradient that ``tangent.hvp`` differentiates
in forward mode and the name of its seed parameter, which hvp always passes
as the float 1.0 (its tangent is zero: it is not differentiated). Gives the
tree (changed in place) with each read of the seed, when the seed is never
assigned, replaced by the literal ``1.0``, and ``1.0 * v`` / ``v * 1.0``
written ``v`` where ``v`` is a name certainly holding a float value: the
product the gradient computes to scale an adjoint by its seed (``dresult *
np.sin(x)``) and the product of tangents forward mode would write for it
go (two array operations each, on the arrays of an elementwise loss);
but not a product assigned to a name that is written into, or read other
than by arithmetic (``y = v * 1.0; y[0] = c`` makes a copy of ``v`` to
write into: folded, the write would change ``v``).

Sound because multiplying by 1.0 changes neither the value nor the dtype of
a floating number or array (NumPy reads a Python float as "weak", so a
float32 array stays float32; a complex value with an infinite part would
get a NaN from the product, as ``x * 1.0`` folding already accepts for
adjoints). ``v`` certainly holds a float when it is a local name assigned
exactly once (never a parameter, a loop target or a tape's ``pop``) by a
call of a NumPy ufunc (or ``math`` function) that gives floats for any
numbers (``np.sin``, ``np.exp``, ``math.tanh``, ...), with positional
operands only. The name then holds the value itself instead of a copy of
it, so ``v`` must not be written into: every other read of it is an
operand of arithmetic or a positional argument of such a ufunc, which
writes nothing (an ``out=`` keyword disqualifies the call).

Assumes: the seed's every value is the Python float 1.0 (the caller passes
nothing else), and the callees of calls are annotated (``tangent_callee``,
``resolve.py``).
"""

from __future__ import annotations

import ast
import math

import numpy as np

from . import ir
from .astwalk import walk_list

# ufuncs whose result is a float (or complex) array or number, whatever numbers they are given
_FLOATING = frozenset(getattr(np, n) for n in (
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh",
    "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "cbrt", "true_divide", "divide",
    "reciprocal", "arctan2", "hypot", "deg2rad", "rad2deg",
))
_MATH = frozenset(getattr(math, n) for n in (
    "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "exp", "expm1",
    "log", "log2", "log10", "log1p", "sqrt", "atan2", "hypot", "erf", "erfc",
))
_ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)


def read_seed_as_one(tree: ast.FunctionDef, seed: str) -> None:
    """See the module docstring."""
    nodes = [n for stmt in tree.body for n in walk_list(stmt)]
    if any(isinstance(n, ast.Name) and n.id == seed and not isinstance(n.ctx, ast.Load) for n in nodes) \
            or any(isinstance(n, (ast.Global, ast.Nonlocal, ast.Lambda, ast.FunctionDef, ast.ClassDef)) for n in nodes):
        return
    floats = _float_names(tree, nodes)
    _Fold(seed, floats, _read_otherwise(nodes)).visit(tree)


class _Fold(ast.NodeTransformer):
    """The seed read as 1.0; ``1.0 * v`` as ``v`` but where it is the value
    of a name written into (or read otherwise than by arithmetic): ``y = v
    * 1.0; y[0] = c`` copies ``v`` and must not write into it."""

    def __init__(self, seed: str, floats: set[str], written: set[str]):
        self.seed, self.floats, self.written = seed, floats, written

    def visit_Assign(self, node):
        if any(not isinstance(t, ast.Name) or t.id in self.written for t in node.targets) \
                and isinstance(node.value, ast.BinOp):
            value = node.value  # (its operands may fold, not it)
            value.left, value.right = self.visit(value.left), self.visit(value.right)
            node.targets = [self.visit(t) for t in node.targets]
            return node
        return self.generic_visit(node)

    def visit_Name(self, node):
        if node.id == self.seed and isinstance(node.ctx, ast.Load):
            return ast.copy_location(ast.Constant(value=1.0), node)
        return node

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Mult):
            for one, other in ((node.left, node.right), (node.right, node.left)):
                if isinstance(one, ast.Constant) and type(one.value) is float and one.value == 1.0 \
                        and isinstance(other, ast.Name) and other.id in self.floats:
                    return other
        return node


def _float_names(tree: ast.FunctionDef, nodes: list) -> set[str]:
    """The local names that certainly hold a float and are never written
    into (see the module docstring)."""
    params = {a.arg for a in tree.args.posonlyargs + tree.args.args + tree.args.kwonlyargs}
    stores: dict[str, list] = {}
    for node in nodes:
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            stores.setdefault(node.id, []).append(node)
    candidates = set()
    for node in nodes:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            v = node.targets[0].id
            if v not in params and len(stores.get(v, ())) == 1 and _floating_call(node.value):
                candidates.add(v)
    if not candidates:
        return set()
    return candidates - _read_otherwise(nodes)


def _read_otherwise(nodes: list) -> set[str]:
    """The names read somewhere other than as an operand of arithmetic or
    a positional argument of a floating call (written into, passed on,
    stored, returned...)."""
    allowed = set()  # ids of the Name nodes read as operands of arithmetic or of a floating call
    for node in nodes:
        if isinstance(node, ast.BinOp) and isinstance(node.op, _ARITHMETIC):
            allowed.update(id(n) for n in (node.left, node.right))
        elif isinstance(node, ast.UnaryOp):
            allowed.add(id(node.operand))
        elif isinstance(node, ast.Call) and _floating_call(node):
            allowed.update(id(a) for a in node.args)
    return {n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and id(n) not in allowed}


def _floating_call(value) -> bool:
    if not (isinstance(value, ast.Call) and not value.keywords and value.args
            and not any(isinstance(a, ast.Starred) for a in value.args)):
        return False
    callee = ir.callee(value)
    try:
        return callee in _FLOATING or callee in _MATH
    except TypeError:  # (an unhashable callee)
        return False


def read_default_seed(fdef: ast.FunctionDef, seed: str, example_args, count: int) -> None:
    """The seed of a gradient specialised to ``example_args`` that pass none
    (``count`` arguments before the seed: it is its default, the float 1.0)
    read as ``1.0``: in place, each read of it when it is never assigned,
    and ``1.0 * v`` / ``v * 1.0`` written ``v`` where ``v`` certainly holds a
    float (as ``read_seed_as_one``; the optimizer's ``unit_factors`` follows
    the literal further)."""
    if example_args is not None and len(example_args) == count:
        read_seed_as_one(fdef, seed)


__all__ = ["read_default_seed", "read_seed_as_one"]
