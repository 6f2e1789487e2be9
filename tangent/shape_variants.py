"""Shape specialisation of reverse-mode rules.

Takes: the shapes inferred from example arguments (``analysis.infer_shapes``:
variable -> tuple, or absent when unknown) and a call being differentiated,
or one statement of a filled-in adjoint rule.

Gives: ``shape_variant``, the faster rule variant registered for the
arguments' shapes (``rules.lookup_adjoint_variants``), if one applies; and
``drop_unbroadcast``, the statement with ``unbroadcast(e, like)`` replaced by
``e`` where ``like`` has the result's shape, by a sum over the known axes
where it does not, and ``np.shape(x)``, ``np.size(x)`` and ``np.ndim(x)`` of a
known shape by the literal; ``numbers_to_math``, ``np.sin(x)`` of a
Python number ``x`` as ``math.sin(x)``.

Assumes: every adjoint rule's ``e`` in ``unbroadcast(e, like)`` has the
shape of the statement's result (which is why this works per statement,
while the rule is filled in, and not as a pass over the finished code).
"""

from __future__ import annotations

import ast
import inspect
import math

import numpy as np

from . import ir, rules, runtime


def static_value(node: ast.expr):
    """The value of a literal expression, including ``slice(...)`` and
    tuples of them (indices); ValueError for anything else."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Tuple):
        return tuple(static_value(e) for e in node.elts)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "slice" and not node.keywords:
        return slice(*(static_value(a) for a in node.args))
    raise ValueError(node)


def _shape_of_atom(atom, shapes: dict):
    if isinstance(atom, ast.Name):
        return shapes.get(atom.id)
    if isinstance(atom, ast.Constant) and isinstance(atom.value, (int, float)):
        return ()
    return None


def _facts(bound: inspect.BoundArguments, shapes: dict) -> tuple[dict, dict]:
    """(shapes, constants) of the bound parameters, as variant predicates see them."""
    known_shapes, constants = {}, {}
    # parameters bound to the same variable (x * x), for variants that use it
    names = [(p, a.id) for p, a in bound.arguments.items() if isinstance(a, ast.Name)]
    constants["same"] = {(p, q) for p, a in names for q, b in names if p < q and a == b}
    for param, atom in bound.arguments.items():
        if isinstance(atom, ast.AST):
            known_shapes[param] = _shape_of_atom(atom, shapes)
            try:
                constants[param] = static_value(atom)
            except ValueError:
                pass
        else:
            constants[param] = atom
    return known_shapes, constants


def shape_variant(callee, args: list[ast.expr], keywords: dict[str, ast.expr], shapes: dict):
    """A faster rule for the arguments' shapes, in specialised code (None
    when no variant applies or nothing is specialised)."""
    if not shapes:
        return None
    for when, template in rules.lookup_adjoint_variants(callee):
        try:
            bound = template.match(args, keywords)
        except TypeError:
            continue
        bound.apply_defaults()
        known_shapes, constants = _facts(bound, shapes)
        try:
            if when(known_shapes, constants):
                return template
        except Exception:  # a predicate that cannot decide does not apply
            continue
    return None


_SHAPE_FACTS = {"shape": tuple, "size": math.prod, "ndim": len}


class _DropUnbroadcast(ast.NodeTransformer):
    def __init__(self, result_shape: tuple, shapes: dict, namespace: dict):
        self.result_shape = result_shape
        self.shapes = shapes
        self.namespace = namespace

    def visit_Call(self, node):
        self.generic_visit(node)
        namespace = self.namespace
        if (isinstance(node.func, ast.Attribute) and node.func.attr in _SHAPE_FACTS and len(node.args) == 1
                and not node.keywords and isinstance(node.func.value, ast.Name)
                and namespace.get(node.func.value.id) is np
                and isinstance(_shape_of_atom(node.args[0], self.shapes), tuple)):
            # np.shape(x), np.size(x), np.ndim(x) of a known shape: the literal
            return ast.Constant(value=_SHAPE_FACTS[node.func.attr](_shape_of_atom(node.args[0], self.shapes)))
        if not (isinstance(node.func, ast.Name) and namespace.get(node.func.id) is runtime.unbroadcast
                and len(node.args) == 2):
            return node
        like = _shape_of_atom(node.args[1], self.shapes)
        result_shape = self.result_shape
        if like == result_shape:
            return node.args[0]
        if like is None or len(like) > len(result_shape):
            return node
        # the summed axes are known: sum them directly
        extra = len(result_shape) - len(like)
        ones = [extra + i for i, n in enumerate(like) if n == 1 and result_shape[extra + i] != 1]
        axes = tuple(range(extra)) + tuple(ones)
        # the method form: an array's .sum skips np.sum's Python-level dispatch
        keywords = [ast.keyword(arg="axis", value=ast.Constant(value=axes if len(axes) != 1 else axes[0]))]
        if ones and not extra:
            keywords.append(ast.keyword(arg="keepdims", value=ast.Constant(value=True)))
        method = ast.Attribute(value=node.args[0], attr="sum", ctx=ast.Load())
        summed = ast.Call(func=method, args=[], keywords=keywords)
        if ones and extra:
            reshape = ast.Attribute(value=summed, attr="reshape", ctx=ast.Load())
            summed = ast.Call(func=reshape, args=[ast.Constant(value=like)], keywords=[])
        return summed


def drop_unbroadcast(item: ast.AST, result_shape: tuple | None, shapes: dict, namespace: dict) -> ast.AST:
    """``unbroadcast(e, like)`` is ``e`` when ``like`` has the shape of the
    statement's result (the shape every rule's ``e`` has); see the module
    docstring. ``result_shape`` None (unknown): ``item`` unchanged."""
    if result_shape is None:
        return item
    return _DropUnbroadcast(result_shape, shapes, namespace).visit(item)


def numbers_to_math(tree: ast.FunctionDef, shapes, bind_global) -> int:
    """Specialised code only: rewrite ``np.sin(x)`` where ``x`` is certainly
    a Python number (``shapes.reals``) into ``math.sin(x)`` (the functions of
    ``rules.numpy_fast_rules.MATH_EQUIVALENTS``), in place, so that the
    primal and its adjoint (math's rule) run on floats. ``bind_global(hint,
    value)`` names ``math`` in the generated module. Returns the number of
    calls rewritten."""
    from .rules.numpy_fast_rules import MATH_EQUIVALENTS

    rewritten = 0
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords
                and isinstance(node.args[0], ast.Name) and node.args[0].id in shapes.reals
                and not ir.is_method(node)):
            continue
        callee = ir.callee(node)
        function = MATH_EQUIVALENTS.get(callee) if isinstance(callee, np.ufunc) else None
        if function is None:
            continue
        module = ast.Name(id=bind_global("math", math), ctx=ast.Load())
        node.func = ast.copy_location(ast.Attribute(value=module, attr=function.__name__, ctx=ast.Load()), node.func)
        ir.annotate(node, callee=function)
        rewritten += 1
    return rewritten
