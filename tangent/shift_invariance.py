"""Shift invariance: extrema whose derivative is exactly zero.

Question answered: which ``m = np.max(x, axis=A, keepdims=True)`` (or
``min``) the function's result does not depend on at all, because what
follows only subtracts ``m`` out again: the log-softmax
``s = x - m; s - np.log(np.sum(np.exp(s), axis=A, keepdims=True))`` and the
logsumexp ``m + np.log(np.sum(np.exp(x - m), axis=A, keepdims=True))``. Had
``m`` been any other value constant along ``A``, the result would be the
same, so every derivative of the result with respect to ``m`` is zero (to
any order), and ``m`` can be held constant: the hand-written gradient of a
softmax never differentiates its max, and now neither does ours.

Input: a function in Tangent's normal form (one operation per statement,
``tangent_callee`` on calls). Output: ``mark(tree)`` annotates each such
extremum call ``shift_invariant``; ``activity.is_differentiable_op`` then
reads its result as constant, in reverse and forward mode alike.

How: a shift ``m -> m + c`` (``c`` constant along ``A``) is followed
through the top-level statements after ``m``. Each name it reaches is
either shifted by ``k*c`` (``("add", k)``) or scaled by ``exp(k*c)``
(``("mul", k)``): ``x - m`` is ``add -1``, ``exp`` of ``add k`` is
``mul k``, a sum along ``A`` (kept dims) of ``mul k`` is ``mul k``, ``log``
of ``mul k`` is ``add k``, and ``add k - add k`` is unchanged. The extremum
is marked when every returned value is unchanged.

Assumes (and checks, refusing to mark otherwise): the shifted names are
used only by the operations in the tables below, in straight-line code at
the function's top level, and never stored into containers, passed to
other functions, or read by control flow; a reduction along ``A`` names
the same axis (the same constant, or the same never-reassigned name) with
``keepdims=True`` and reduces an array with the extremum's input's number
of dimensions (the input itself, or made from it and numbers alone), so
that its axes line up with ``A``. When the extremum reduces every axis,
``c`` is one number and any reduction is allowed. In specialised code (an
hvp's forward mode over the gradient) known shapes also line up an operand
with no more dimensions than the extremum's input: broadcasting it adds no
axes.
"""

from __future__ import annotations

import ast

import numpy as np

from . import ir
from .activity import primitive_of
from .astwalk import names_in, stored_names
from .cfg import names_loaded

__all__ = ["mark"]

EXTREMA = (np.max, np.min, np.amax, np.amin, np.ndarray.max, np.ndarray.min)
EXP = (np.exp,)
LOG = (np.log,)
SUMS = (np.sum, np.ndarray.sum)
MEANS = (np.mean, np.ndarray.mean)
# reductions that keep a shift (add k) or a scale (mul k) along the axes of c
KEEPS_SHIFT = EXTREMA + MEANS
KEEPS_SCALE = EXTREMA + MEANS + SUMS

_INVARIANT = ("add", 0)


def mark(tree: ast.FunctionDef, shapes: dict | None = None) -> None:
    """Annotate ``shift_invariant`` the top-level extremum calls of
    ``tree`` the result does not depend on (see the module docstring).
    ``shapes`` ({name: shape or None}, ``shapes.infer_shapes`` of
    specialised code) lines up an operand of a known number of dimensions,
    no more than the extremum input's, with that input's axes.

    Example::

        mark(tree)   # `_max = logits.max(axis=1, keepdims=True)` of a log-softmax
    """
    body = tree.body
    assigned = _assignment_counts(tree)
    for i, stmt in enumerate(body):
        source = _extremum(stmt)
        if source is not None and _invariant_after(body[i + 1:], stmt.targets[0].id, source, assigned,
                                                   _lower_ranks(shapes, source.input_name)):
            ir.annotate(stmt.value, shift_invariant=True)


def _lower_ranks(shapes: dict | None, input_name: str) -> frozenset[str]:
    """The names whose shapes are known (for every definition: a join) and
    have no more dimensions than the extremum's input (whose shape must be
    known too): broadcasting them against the input adds no axes, so the
    input's axes stay where they are."""
    rank = len(shapes[input_name]) if shapes and shapes.get(input_name) is not None else None
    if rank is None:
        return frozenset()
    return frozenset(n for n, shape in shapes.items() if shape is not None and len(shape) <= rank)


def _assignment_counts(tree: ast.FunctionDef) -> dict[str, int]:
    """How many places bind each name (its parameter, its stores)."""
    counts: dict[str, int] = {}
    for a in tree.args.posonlyargs + tree.args.args + tree.args.kwonlyargs:
        counts[a.arg] = 1
    for node in names_in(tree):
        if isinstance(node.ctx, ast.Store):
            counts[node.id] = counts.get(node.id, 0) + 1
    return counts


class _Source:
    """The extremum: its input's name and its axis (None: every axis)."""

    def __init__(self, input_name: str, axis: ast.expr | None):
        self.input_name = input_name
        self.axis = axis


def _extremum(stmt: ast.stmt) -> _Source | None:
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
        return None
    callee, args, keywords = primitive_of(stmt.value)
    if not isinstance(stmt.value, ast.Call) or not any(callee is f for f in EXTREMA):
        return None
    axis, keepdims = _reduction_options(args, keywords)
    if axis is False or not args or not isinstance(args[0], ast.Name):
        return None
    if axis is None:
        return _Source(args[0].id, None)
    return _Source(args[0].id, axis) if keepdims is True else None


def _reduction_options(args, keywords) -> tuple:
    """(axis atom or None, keepdims constant) of a reduction called with
    only those; axis False when it has anything else."""
    if set(keywords) - {"axis", "keepdims"} or len(args) > 2:
        return False, None
    axis = keywords.get("axis", args[1] if len(args) == 2 else None)
    if isinstance(axis, ast.Constant) and axis.value is None:
        axis = None
    keepdims = keywords.get("keepdims")
    keepdims = keepdims.value if isinstance(keepdims, ast.Constant) else None if keepdims is None else False
    return axis, keepdims


def _same_axis(a: ast.expr, b: ast.expr, assigned: dict[str, int]) -> bool:
    if isinstance(a, ast.Constant) and isinstance(b, ast.Constant):
        return type(a.value) is type(b.value) and a.value == b.value
    if isinstance(a, ast.Name) and isinstance(b, ast.Name):
        return a.id == b.id and assigned.get(a.id, 0) == 1
    return False


def _invariant_after(stmts: list[ast.stmt], target: str, source: _Source, assigned: dict[str, int],
                     lower: frozenset[str]) -> bool:
    """Whether the shift of ``target`` leaves every returned value unchanged
    (``lower``: names known to have no more dimensions than the input)."""
    shifted = {target: ("add", 1)}
    aligned = {source.input_name} if assigned.get(source.input_name, 0) == 1 else set()  # same dimensions
    aligned |= lower
    for stmt in stmts:
        loads = names_loaded(stmt)
        if isinstance(stmt, ast.Return):
            return stmt.value is None or loads.isdisjoint(shifted)
        stores = stored_names(stmt)
        simple = isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
        if not simple:
            if not (loads | stores).isdisjoint(shifted) or ir.kind_or_none(stmt) is None and not loads.isdisjoint(shifted):
                return False
            aligned -= stores - lower  # (a known shape holds for every definition)
            continue
        name = stmt.targets[0].id
        if loads.isdisjoint(shifted):
            shifted.pop(name, None)
            if name not in lower:
                aligned.discard(name)
            continue
        effect = _effect(stmt.value, shifted, aligned, source, assigned)
        if effect is None:
            return False
        if effect == _INVARIANT:
            shifted.pop(name, None)
        else:
            shifted[name] = effect
        aligned.add(name)
    return False  # (no return at the top level: a return inside control flow)


def _effect(value: ast.expr, shifted: dict, aligned: set[str], source: _Source, assigned: dict[str, int]):
    """The shift ``value`` gets from its shifted operands, or None when the
    operation is not one the tables know or its axes may not line up."""
    callee, args, keywords = primitive_of(value)
    states = [shifted.get(a.id, _INVARIANT) if isinstance(a, ast.Name) else _INVARIANT for a in args]
    if source.axis is not None and not all(_aligned(a, shifted, aligned) for a in args):
        return None  # an operand of unknown dimensions could add leading axes: A would move
    if isinstance(value, ast.BinOp) and len(states) == 2:
        return _binary(value.op, value.right, *states)
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, (ast.USub, ast.UAdd)):
        kind, k = states[0]
        return (kind, -k) if kind == "add" and isinstance(value.op, ast.USub) else states[0]
    if not isinstance(value, ast.Call) or len(args) < 1 or any(s != _INVARIANT for s in states[1:]):
        return None
    kind, k = states[0]
    if any(callee is f for f in EXP) and len(args) == 1 and not keywords:
        return ("mul", k) if kind == "add" else None
    if any(callee is f for f in LOG) and len(args) == 1 and not keywords:
        return ("add", k) if kind == "mul" else None
    table = KEEPS_SHIFT if kind == "add" else KEEPS_SCALE
    if any(callee is f for f in table):
        axis, keepdims = _reduction_options(args, keywords)
        if axis is False:
            return None
        if source.axis is None or (axis is not None and keepdims is True and _same_axis(axis, source.axis, assigned)):
            return kind, k
    return None


def _aligned(atom: ast.expr, shifted: dict, aligned: set[str]) -> bool:
    """Whether the operand has the extremum input's dimensions or is a number."""
    if isinstance(atom, ast.Name):
        return atom.id in shifted or atom.id in aligned
    return isinstance(atom, ast.Constant) and type(atom.value) in (int, float, bool, type(None))


def _binary(op: ast.operator, right: ast.expr, left_state, right_state):
    (lk, lv), (rk, rv) = left_state, right_state
    if isinstance(op, (ast.Add, ast.Sub)):
        sign = 1 if isinstance(op, ast.Add) else -1
        if lk == "add" and rk == "add":
            return _normal("add", lv + sign * rv)
        return None  # a scaled value plus anything: not a shift
    if isinstance(op, (ast.Mult, ast.Div)):
        sign = 1 if isinstance(op, ast.Mult) else -1
        if (lk, lv) == _INVARIANT:
            return _normal("mul", sign * rv) if rk == "mul" else None
        if (rk, rv) == _INVARIANT:
            return _normal("mul", lv) if lk == "mul" else None
        return _normal("mul", lv + sign * rv) if lk == "mul" and rk == "mul" else None
    if isinstance(op, ast.Pow) and lk == "mul" and (rk, rv) == _INVARIANT and isinstance(right, ast.Constant) \
            and type(right.value) in (int, float):
        return _normal("mul", lv * right.value)
    return None


def _normal(kind: str, k) -> tuple:
    return _INVARIANT if k == 0 else (kind, k)
