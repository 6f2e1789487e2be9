"""What the optimizer may assume about the values of a specialised function.

Takes: a generated FunctionDef and its ``Specialization``: the shapes the
reverse mode inferred for the names of the normal form (``shapes.infer_shapes``
on the example arguments: a known shape means a number or a NumPy array of
that shape), the example arguments by parameter, the parameters holding a
container whose structure (and items' kinds) the specialisation key assumes,
and the generated module's namespace (globals are bound once, never rebound).

Gives (``ValueFacts``), each answer erring towards "not known":

* ``callee(call)``: the object a call's function resolves to (its
  ``tangent_callee``, or a global such as ``np.cos`` looked up in the
  namespace), None when not known;
* ``shape(expr)``: the shape of a number or array expression: the inferred
  shape of a name, or for a name assigned once in the function the shape of
  its value, through elementwise operations, ``np.broadcast_to`` with a
  literal shape, ``np.expand_dims`` with a literal axis, and calls (array
  methods too) whose shape rule is declared (``rules/numpy_shapes``) of
  operands of known shapes and literal options;
* ``wide(expr)``: the value is certainly a NumPy float64 or complex128 array
  or scalar (not a Python number, which NumPy promotes as "weak"), so that
  in an elementwise operation with it a float64 operand and a Python float
  give results of the same dtype;
* ``write_free``: no statement of the function writes into an array or
  calls anything that may (only assignments to names, with adjoint code
  marked pure or calls of NumPy ufuncs without ``out=``): a name assigned
  once keeps its value's contents from its assignment on.

Assumes the names of the normal form keep their meaning in generated code
(the reverse mode reads the same shapes when it writes the adjoint), and
that generated adjoint assignments marked ``tangent_pure`` write only into
arrays they allocated (``tape.mark_pure``, ``runtime.accumulation``).
"""

from __future__ import annotations

import ast
import types
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import ir
from .astwalk import names_in, walk_list
from .rules.shape_values import Array, apply_rule, constant_value, rule_for

ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_WIDE_DTYPES = (np.dtype(np.float64), np.dtype(np.complex128))
# ufuncs whose result for a float64 operand is float64 (or complex128)
_FLOAT_UFUNCS = frozenset(
    getattr(np, n)
    for n in (
        "sin",
        "cos",
        "tan",
        "arcsin",
        "arccos",
        "arctan",
        "sinh",
        "cosh",
        "tanh",
        "arcsinh",
        "arccosh",
        "arctanh",
        "exp",
        "exp2",
        "expm1",
        "log",
        "log2",
        "log10",
        "log1p",
        "sqrt",
        "square",
        "negative",
        "positive",
        "absolute",
        "add",
        "subtract",
        "multiply",
        "divide",
        "true_divide",
        "power",
        "maximum",
        "minimum",
        "reciprocal",
        "arctan2",
        "hypot",
    )
)


@dataclass
class Specialization:
    """What the specialisation knows (see the module docstring)."""

    shapes: dict  # {name: shape tuple or None}
    examples: dict  # {parameter: example argument}
    structs: frozenset = frozenset()  # parameters whose structure the key assumes
    namespace: dict = field(default_factory=dict)
    run_only: bool = False  # the code is run, never differentiated (hoisted_products may rewrite it)
    bind_global: Callable | None = None  # (hint, value) -> a module-level name bound to value


def is_elementwise(node, facts: "ValueFacts") -> bool:
    """``node`` computes each element from the elements at the same position of
    its broadcast operands: arithmetic (not ``@``), unary minus and plus, a
    NumPy ufunc call with positional operands only."""
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, ARITHMETIC)
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, (ast.USub, ast.UAdd))
    if isinstance(node, ast.Call) and not node.keywords and not any(isinstance(a, ast.Starred) for a in node.args):
        f = facts.callee(node)
        return isinstance(f, np.ufunc) and f.nout == 1 and f.nin == len(node.args)
    return False


def operands(node) -> list:
    """The operands of an elementwise node."""
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    return list(node.args)


def _broadcast(shapes) -> tuple | None:
    if any(s is None for s in shapes):
        return None
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        return None


def _literal_shape(node) -> tuple | None:
    if isinstance(node, ast.Constant) and type(node.value) is tuple and all(type(e) is int for e in node.value):
        return node.value
    if isinstance(node, ast.Tuple) and all(isinstance(e, ast.Constant) and type(e.value) is int for e in node.elts):
        return tuple(e.value for e in node.elts)
    return None


class ValueFacts:
    """The facts of one function as it is now (built again after a pass
    changes it); see the module docstring."""

    def __init__(self, fdef: ast.FunctionDef, special: Specialization):
        self.special = special
        args = fdef.args
        self.params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
        self.bound = set(self.params)
        stores: dict[str, int] = {}
        self.definitions: dict[str, ast.expr] = {}
        for node in walk_list(fdef):
            if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                stores[node.id] = stores.get(node.id, 0) + 1
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                self.definitions[node.targets[0].id] = node.value
            elif isinstance(node, ast.arg):
                self.bound.add(node.arg)  # (a nested function's or lambda's)
        self.bound |= set(stores)
        self.once = {n for n, k in stores.items() if k == 1 and n not in self.params and n in self.definitions}
        self.unchanged = self.once | {p for p in self.params if p not in stores}  # one value all along
        self.write_free = all(self._safe(s) for s in fdef.body)
        self._shapes: dict[str, tuple | None] = {}
        self._wide: dict[str, bool] = {}

    # ------------------------------------------------------------ callees
    def resolve(self, node):
        """The global a name or attribute chain denotes; None if not known."""
        if isinstance(node, ast.Name):
            if node.id in self.bound:
                return None
            return self.special.namespace.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            # only a module's attributes: reading another object's could run a property
            return getattr(base, node.attr, None) if isinstance(base, types.ModuleType) else None
        return None

    def callee(self, call: ast.Call):
        return ir.callee(call) or self.resolve(call.func)

    # ------------------------------------------------------------ writes
    def safe_call(self, call: ast.Call) -> bool:
        """A call that writes into nothing: a NumPy ufunc or a call known
        pure, without ``out=``."""
        if any(k.arg in ("out", None) for k in call.keywords):
            return False
        f = self.callee(call)
        return isinstance(f, np.ufunc) or bool(ir.get(call, "pure_call", False)) or _reads_only(f)

    def writes_nothing(self, stmt) -> bool:
        """``stmt`` writes into no array, list, dict or object (see ``write_free``)."""
        return self._safe(stmt)

    def _check(self, value) -> bool:
        """A call of a runtime check that writes nothing (it raises, or not):
        ``check_seed_shape(dresult, (4,))``, on names and constants."""
        return isinstance(value, ast.Call) and not value.keywords \
            and _reads_only(self.callee(value)) \
            and all(isinstance(a, (ast.Name, ast.Constant, ast.Tuple)) for a in value.args)

    def _safe(self, stmt) -> bool:
        if isinstance(stmt, ir.Comment) or isinstance(stmt, ast.Pass):
            return True
        if isinstance(stmt, ast.Expr):
            return isinstance(stmt.value, ast.Constant) or self._check(stmt.value)
        if isinstance(stmt, ast.Return):
            return stmt.value is None or self._safe_expression(stmt.value)
        if isinstance(stmt, ast.Assign):
            targets_ok = all(
                isinstance(n, ast.Name) or isinstance(n, ast.Tuple) and all(isinstance(e, ast.Name) for e in n.elts)
                for n in stmt.targets
            )
            return targets_ok and (ir.get(stmt, "pure", False) or self._safe_expression(stmt.value))
        if isinstance(stmt, (ast.If, ast.While)):
            return self._safe_expression(stmt.test) and all(map(self._safe, stmt.body + stmt.orelse))
        if isinstance(stmt, ast.For):
            return (
                isinstance(stmt.target, ast.Name)
                and self._safe_expression(stmt.iter)
                and all(map(self._safe, stmt.body + stmt.orelse))
            )
        return False

    def _safe_expression(self, expr) -> bool:
        for node in walk_list(expr):
            if isinstance(node, (ast.Lambda, ast.NamedExpr, ast.Yield, ast.YieldFrom, ast.Await)):
                return False
            if isinstance(node, ast.Call) and not self.safe_call(node):
                return False
        return True

    # ------------------------------------------------------------ shapes
    def shape(self, node) -> tuple | None:
        """The shape of the number or array ``node`` computes, if known."""
        if isinstance(node, ast.Constant):
            return () if type(node.value) in (int, float, complex) else None
        if isinstance(node, ast.Name):
            return self._name_shape(node.id)
        if is_elementwise(node, self):
            return _broadcast([self.shape(o) for o in operands(node)])
        if isinstance(node, ast.Call) and len(node.args) == 2 and not node.keywords:
            f = self.callee(node)
            if f is np.broadcast_to:
                return _literal_shape(node.args[1])
            if f is np.expand_dims and isinstance(node.args[1], ast.Constant) and type(node.args[1].value) is int:
                inner = self.shape(node.args[0])
                axis = node.args[1].value
                if inner is not None and -len(inner) - 1 <= axis <= len(inner):
                    axis %= len(inner) + 1
                    return inner[:axis] + (1,) + inner[axis:]
        if isinstance(node, ast.Call):
            return self._ruled_shape(node)
        return None

    def _ruled_shape(self, call: ast.Call) -> tuple | None:
        """The shape a call's declared shape rule (``rules/numpy_shapes``)
        gives for operands of known shapes and literal options."""
        callee, args = self.callee(call), list(call.args)
        if callee is None and isinstance(call.func, ast.Attribute) and self.shape(call.func.value):
            # a method of a NumPy array (a known shape of one or more dimensions): its receiver first
            callee, args = getattr(np.ndarray, call.func.attr, None), [call.func.value, *args]
        rule = rule_for(callee)
        if rule is None or any(isinstance(a, ast.Starred) for a in args) or any(k.arg is None for k in call.keywords):
            return None
        values = [self._operand_value(a) for a in args]
        keywords = {k.arg: self._operand_value(k.value) for k in call.keywords}
        if any(v is None for v in (*values, *keywords.values())):
            return None
        result = apply_rule(rule, callee, *values, **keywords)
        return tuple(result.shape) if isinstance(result, Array) and result.shape is not None else None

    def _operand_value(self, node):
        if isinstance(node, ast.Constant):
            return constant_value(node.value)
        shape = self.shape(node)
        return None if shape is None else Array(shape)

    def _name_shape(self, name: str) -> tuple | None:
        known = self.special.shapes.get(name)
        if known is not None:
            return tuple(known)
        if name not in self.once:
            return None
        if name not in self._shapes:
            self._shapes[name] = None  # (while it is worked out: a cycle is not known)
            self._shapes[name] = self.shape(self.definitions[name])
        return self._shapes[name]

    # ------------------------------------------------------------ dtypes
    def wide(self, node) -> bool:
        """``node`` is certainly a NumPy float64 or complex128 value (array or
        scalar), see the module docstring."""
        if isinstance(node, ast.Name):
            return self._name_wide(node.id)
        if (
            isinstance(node, (ast.Subscript, ast.Attribute))
            and isinstance(node.value, ast.Name)
            and node.value.id in self.special.structs
            and node.value.id in self.unchanged
        ):
            return _wide_value(_item(self.special.examples.get(node.value.id), node))
        if isinstance(node, ast.Subscript):  # an item or a view of a float64 array
            return self.wide(node.value)
        ops = operands(node) if is_elementwise(node, self) or isinstance(node, ast.BinOp) else None
        if ops is None:
            return False
        if isinstance(node, ast.Call) and self.callee(node) not in _FLOAT_UFUNCS:
            return False
        return any(map(self.wide, ops)) and all(self.shape(o) is not None for o in ops)

    def _name_wide(self, name: str) -> bool:
        if name in self.params:
            return name in self.unchanged and _wide_value(self.special.examples.get(name))
        if name not in self.once:
            return False
        if name not in self._wide:
            self._wide[name] = False
            self._wide[name] = self.wide(self.definitions[name])
        return self._wide[name]


# library functions (besides NumPy's, known pure at normalization) that only read their arguments
_READ_ONLY = {("scipy.special._logsumexp", "logsumexp"), ("tangent.runtime.adjoints", "check_seed_shape"),
              ("tangent.runtime.adjoints", "check_tangent")}


def _reads_only(f) -> bool:
    return (getattr(f, "__module__", None), getattr(f, "__name__", None)) in _READ_ONLY


def _wide_value(value) -> bool:
    if type(value) is np.ndarray:
        return value.dtype in _WIDE_DTYPES
    return type(value) in (np.float64, np.complex128)


def _item(container, node):
    """The example item ``container[key]`` / ``container.name`` a constant
    read takes (the key records it), or None."""
    try:
        if isinstance(node, ast.Attribute):
            return vars(container).get(node.attr) if hasattr(container, "__dict__") else None
        if isinstance(node.slice, ast.Constant) and isinstance(container, (dict, list, tuple)):
            return container[node.slice.value]
    except (KeyError, IndexError, TypeError):
        return None
    return None


def names_of(node) -> set[str]:
    """The ids of the names ``node`` reads."""
    return {n.id for n in names_in(node)}
