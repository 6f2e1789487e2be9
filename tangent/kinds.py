"""Kinds of values: which ``+`` and ``*`` are arithmetic, which concatenate
or repeat lists, and which names only ever hold integers.

Question answered: for each ``a * b`` / ``a + b`` of a normalized function,
is it arithmetic (``operator.mul`` / ``operator.add``), a sequence operation
(``runtime.repeat`` / ``repeat_right`` / ``concat``) or undecided until run
time (``runtime.mul_or_repeat`` / ``add_or_concat``)? Their derivatives
differ: the adjoint of ``[x] * 3`` sums the adjoints of the copies.

Input: a function in Tangent's normal form whose calls carry
``tangent_callee`` (frontend), and optionally the parameters' kinds.
Output: ``classify_sequence_operators`` stores the decision as each BinOp's
``tangent_callee`` and the names' kinds as ``tree.tangent_kinds``;
``integer_names`` returns the names that only hold integers.

Assumes: flow-insensitivity is sound here: a name's kind is the join of the
kinds of all its definitions, so any use sees one of them.
"""

from __future__ import annotations

import ast
import builtins
import operator

import numpy as np

from . import ir, runtime
from .astwalk import names_in, walk_list
from .rules.shape_values import Array, Struct

# The kinds: "seq" (list or tuple), "int", "float" (floats and arrays: never
# a repetition count), "num" (a number or array, maybe an int), "range", None
# (unknown, the top of the lattice) and "unseen" (no definition seen yet, the
# bottom): unseen < int, float, range < num < None, and seq < None.
_UNSEEN = "unseen"
_UNKNOWN = object()  # not yet computed (None is the kind "unknown")
_NONSEQ = ("int", "num", "float")

_ARRAY_CONSTRUCTORS = {"array", "asarray", "asanyarray", "zeros", "ones", "empty", "full", "zeros_like", "ones_like",
                       "empty_like", "full_like", "arange", "linspace", "logspace", "eye", "identity", "stack",
                       "vstack", "hstack", "concatenate", "outer", "diag", "tile", "repeat", "copy"}
_NUMPY_SEQUENCE_RESULTS = {"split", "array_split", "hsplit", "vsplit", "dsplit", "meshgrid", "broadcast_arrays",
                           "gradient", "nonzero", "shape", "unravel_index", "histogram", "where", "atleast_1d",
                           "atleast_2d", "atleast_3d", "ix_", "indices", "tolist", "divmod", "frexp", "modf"}
_SEQUENCE_OPERATIONS = (runtime.repeat, runtime.repeat_right, runtime.concat)
_UNDECIDED_OPERATIONS = (runtime.mul_or_repeat, runtime.add_or_concat)


def _kind_of_value(value):
    """The kind of a Python value (a constant or a global's value)."""
    if isinstance(value, (list, tuple)):
        return "seq"
    if isinstance(value, (bool, int, np.integer)):
        return "int"
    if isinstance(value, (float, complex, np.floating, np.complexfloating, np.ndarray)):
        return "float"
    return None


def _join_kinds(a, b):
    """The least kind above both (see the order above)."""
    if a == _UNSEEN:
        return b
    if b == _UNSEEN or a == b:
        return a
    if a is None or b is None or "seq" in (a, b):
        return None
    return "num"


def _arith_kind(a, b):
    if "float" in (a, b):
        return "float"
    if a == b == "int":
        return "int"
    return "num"


def item_kinds(structs: dict) -> dict:
    """{parameter: {key or attribute: kind}} of container parameters'
    items, from their Structs (``container_reads.assumed_containers``: only
    containers whose items hold what the specialisation key says all
    through the function). A number or array of a known dtype is "int"
    (a Python int) or "float"; a list or tuple is "seq"; others unknown."""
    return {param: {key: described_kind(value) for key, value in struct.items} for param, struct in structs.items()}


def described_kind(value):
    """The kind of a value of this description (``shapes.describe_kind``)."""
    if isinstance(value, Array):
        return "int" if value.integer and value.real and value.shape == () else "float"
    if isinstance(value, Struct) and value.kind in ("list", "tuple"):
        return "seq"
    return None


def classify_sequence_operators(tree: ast.FunctionDef, argument_kinds: dict | None = None) -> None:
    """Decide, for each ``a * b`` and ``a + b`` of a normalized function, which
    operation it is (see the module docstring) and store it as the BinOp's
    ``tangent_callee``; store the names' kinds as ``tree.tangent_kinds``.
    ``argument_kinds`` gives the parameters' kinds when known (specialised
    code): a kind, or for a container parameter never rebound nor changed
    (see ``item_kinds``) a dict of its items' kinds, read by ``c[key]`` and
    ``c.name``."""
    kinds = _Kinds(tree, argument_kinds)
    kinds.solve()
    for node in kinds.binops:
        ir.annotate(node, callee=kinds.decide(node))
    ir.annotate(tree, kinds=kinds.kinds)


class _Kinds:
    """The flow-insensitive kind inference behind classify_sequence_operators."""

    def __init__(self, tree: ast.FunctionDef, argument_kinds: dict | None):
        self.kinds: dict = {}
        self.items: dict = {}  # container parameter -> {key: its item's kind}
        args = tree.args
        for param in args.posonlyargs + args.args + args.kwonlyargs:
            kind = (argument_kinds or {}).get(param.arg)
            if isinstance(kind, dict):
                self.items[param.arg], kind = kind, None
            self.kinds[param.arg] = kind
        nodes = walk_list(tree)
        self.assigns = [n for n in nodes if isinstance(n, ast.Assign)]
        self.loops = [n for n in nodes if isinstance(n, ast.For)]
        self.binops = [n for n in nodes if isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Mult, ast.Add))]
        self._known: dict[int, object] = {}  # id(expression) -> its kind, while self.kinds stays the same

    def solve(self) -> None:
        """Join each definition's kind into its target's until nothing changes.

        Passes as in a round-robin (Jacobi) iteration: each pass evaluates
        the definitions with the kinds of the previous pass. A pass only
        re-evaluates the definitions reading a name that changed in the pass
        before: the others give the same kind as before, which is already
        joined into their targets (joins are idempotent), so the result is
        the round-robin one while the cost follows the changes (linear
        instead of one whole sweep per link of a chain of definitions).

        Converges by construction: a name's kind only moves up the lattice
        (each update is a join with the old kind), whose height is 3, so
        every pass but the last raises some name and there are at most
        3 * (number of names) + 1 passes (asserted)."""
        definitions = [(stmt, stmt.value) for stmt in self.assigns] + [(loop, loop.iter) for loop in self.loops]
        readers: dict[str, list[int]] = {}
        for index, (_, value) in enumerate(definitions):
            for read in sorted({n.id for n in names_in(value)}):
                readers.setdefault(read, []).append(index)
        targets = [t for s in self.assigns for t in s.targets] + [loop.target for loop in self.loops]
        names = set(self.kinds) | {n.id for t in targets for n in names_in(t)}
        limit = 3 * len(names) + 1
        pending = range(len(definitions))
        for _ in range(limit + 1):
            updates: dict = {}
            for index in pending:
                definition = definitions[index][0]
                if isinstance(definition, ast.Assign):
                    self._assignment(definition, updates)
                else:
                    self._loop_target(definition, updates)
            if not updates:
                return
            self.kinds.update(updates)
            self._known.clear()
            pending = sorted({index for changed in updates for index in readers.get(changed, ())})
        raise AssertionError("kind inference did not converge")  # pragma: no cover

    def _current(self, updates: dict, target: str):
        return updates[target] if target in updates else self.kinds.get(target, _UNSEEN)

    def _assignment(self, stmt: ast.Assign, updates: dict) -> None:
        for target in stmt.targets:
            if isinstance(target, ast.Name):
                old = self._current(updates, target.id)
                k = _join_kinds(old, self.of(stmt.value))
                if old != k:
                    updates[target.id] = k
            elif isinstance(target, ast.Tuple):
                for elt in target.elts:
                    if isinstance(elt, ast.Name) and self._current(updates, elt.id) is not None:
                        updates[elt.id] = None

    def _loop_target(self, loop: ast.For, updates: dict) -> None:
        if isinstance(loop.target, ast.Name):
            k = "int" if self.of(loop.iter) == "range" else None
            old = self._current(updates, loop.target.id)
            k = _join_kinds(old, k)
            if old != k:
                updates[loop.target.id] = k

    def of(self, node):
        """The kind of an expression, from the names' current kinds
        (remembered until they change: operands are asked for repeatedly)."""
        known = self._known.get(id(node), _UNKNOWN)
        if known is _UNKNOWN:
            known = self._known[id(node)] = self._of(node)
        return known

    def _of(self, node):
        if isinstance(node, ast.Constant):
            return _kind_of_value(node.value) if not isinstance(node.value, (str, bytes)) else None
        if isinstance(node, ast.Name):
            if ir.is_global(node):
                return _kind_of_value(ir.get(node, "value"))
            return self.kinds.get(node.id, _UNSEEN if node.id not in self.kinds else None)
        if isinstance(node, (ast.List, ast.Tuple, ast.ListComp)):
            return "seq"
        if isinstance(node, ast.BinOp):
            return self._of_binop(node)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return "int"
            k = self.of(node.operand)
            return k if k in ("int", "float", _UNSEEN) else "num"
        if isinstance(node, ast.Compare):
            return "num"
        if isinstance(node, ast.Subscript):
            return self._of_item(node)
        if isinstance(node, ast.Attribute):
            return self._of_attribute(node)
        if isinstance(node, ast.Call):
            return self._of_call(node)
        return None

    def _of_binop(self, node: ast.BinOp):
        if _UNSEEN in (self.of(node.left), self.of(node.right)):
            return _UNSEEN  # not decided before the operands' kinds are known
        if isinstance(node.op, (ast.Mult, ast.Add)):
            decision = self.decide(node)
            if decision in _SEQUENCE_OPERATIONS:
                return "seq"
            if decision in _UNDECIDED_OPERATIONS:
                return None
            return _arith_kind(self.of(node.left), self.of(node.right))
        if isinstance(node.op, (ast.MatMult, ast.Div)):
            return "float"
        return _arith_kind(self.of(node.left), self.of(node.right))

    def _of_item(self, node: ast.Subscript):
        """``c[key]`` of a container parameter of known items (None: unknown)."""
        items = self.items.get(node.value.id) if isinstance(node.value, ast.Name) else None
        key = node.slice.value if isinstance(node.slice, ast.Constant) else None
        if items is None or isinstance(key, bool) or not isinstance(key, (int, str)):
            return None
        return next((k for item, k in items.items() if type(item) is type(key) and item == key), None)

    def _of_attribute(self, node: ast.Attribute):
        items = self.items.get(node.value.id) if isinstance(node.value, ast.Name) else None
        if items is not None and node.attr in items:
            return items[node.attr]
        if node.attr == "shape":
            return "seq"
        if node.attr in ("ndim", "size"):
            return "int"
        if node.attr in ("T", "real", "imag") and self.of(node.value) == "float":
            return "float"
        return None

    def _of_call(self, node: ast.Call):
        callee = ir.callee(node)
        call_args = list(node.args)
        if ir.is_method(node):
            call_args = [node.func.value] + call_args
        if callee in (builtins.len, builtins.int):
            return "int"
        if callee is builtins.range:
            return "range"
        if callee is builtins.float:
            return "float"
        if callee in (builtins.list, builtins.tuple, builtins.sorted):
            return "seq"
        if callee is runtime.as_sequence and call_args:
            return self.of(call_args[0])
        if callee is runtime.zeros_like and len(call_args) == 1 and self.of(call_args[0]) == "float":
            return "float"  # (the zero of a float or an array: never a list, nor None as of a bool)
        if isinstance(callee, np.ufunc):
            # (of a list, an array; of numbers, maybe a NumPy integer)
            return "float" if any(self.of(a) in ("float", "seq") for a in call_args) else "num"
        label = getattr(callee, "__name__", None)
        module = getattr(callee, "__module__", None) or ""
        if module == "math":
            return "num"
        is_method = getattr(np.ndarray, label or "", None) is callee if label else False
        if label and (module.startswith("numpy") or is_method):
            if label in _NUMPY_SEQUENCE_RESULTS:
                return None
            return "float" if label in _ARRAY_CONSTRUCTORS and not is_method else "num"
        return None

    def decide(self, node: ast.BinOp):
        """The operation a ``*`` or ``+`` is, from its operands' kinds."""
        ka, kb = self.of(node.left), self.of(node.right)
        ka = None if ka in (_UNSEEN, "range") else ka
        kb = None if kb in (_UNSEEN, "range") else kb
        same = isinstance(node.left, ast.Name) and isinstance(node.right, ast.Name) and node.left.id == node.right.id
        if isinstance(node.op, ast.Mult):
            # ("num" may be an array, which multiplies a list as an array: decided at run time)
            if ka == "seq" and kb == "int":
                return runtime.repeat
            if kb == "seq" and ka == "int":
                return runtime.repeat_right
            if "seq" in (ka, kb):
                return runtime.mul_or_repeat
            if "float" in (ka, kb) or (ka in _NONSEQ and kb in _NONSEQ) or same:
                return operator.mul
            return runtime.mul_or_repeat
        if ka == kb == "seq":
            return runtime.concat
        if "seq" in (ka, kb):
            return runtime.add_or_concat
        if ka in _NONSEQ or kb in _NONSEQ:
            return operator.add
        return runtime.add_or_concat


def integer_names(tree: ast.FunctionDef) -> set[str]:
    """Names that only ever hold integers (loop counters over ranges, lengths,
    int constants): they share no memory and have no tangent."""
    ranges, ints, others = set(), set(), set()
    for node in walk_list(tree):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            target, value = node.targets[0].id, node.value
            callee = ir.callee(value)
            if callee is range:
                ranges.add(target)
            elif callee is len or (isinstance(value, ast.Constant) and type(value.value) is int):
                ints.add(target)
            else:
                others.add(target)
    for node in walk_list(tree):
        if isinstance(node, ast.For) and isinstance(node.target, ast.Name):
            it = node.iter
            if (isinstance(it, ast.Name) and it.id in ranges) or ir.callee(it) is range:
                ints.add(node.target.id)
            else:
                others.add(node.target.id)
    return ints - others
