"""Gradients a call allocates and nothing else holds.

Question answered: for code specialised to its arguments' kinds (a
gradient in normal form, its variables' shapes inferred), is every leaf of
what it returns certainly the caller's own once it has the right type and
dtype: a Python number, or an array this call allocated (not an argument,
the seed, a global, nor a view or item of one), reachable from no other
leaf and stored nowhere that outlives the call, in containers the function
built for its result in the structure of the differentiated arguments?
``ownership.returning_owned`` then checks, at each call, only each leaf's
type and dtype (``kind_guards.conformer_for``) instead of walking the
arguments.

Input: a normalized ``FunctionDef`` (calls carry ``tangent_callee``), its
``shapes.infer_shapes`` result, and the ``shapes.argument_kind`` of each
differentiated argument. Output: ``owned_leaves`` gives the leaves to
check, ``((path, expected), ...)`` (``expected``: ``float`` or a NumPy
dtype), or None when any of it is not proven.

How: the value returned is followed through its single reaching definition
to the container literals that build it, down to its leaves. Each leaf
array's reaching definitions are followed through copies (``a = b``) to
allocations: arithmetic on numbers and arrays of known shape, ufuncs and a
few NumPy functions and methods that always return a new array, and
runtime helpers declared with ``runtime.returns_fresh``. The names that may
hold (or hold a view, an item, a container of) an allocation's value,
flow-insensitively, must all be local and never passed to a call that may
keep them; no two leaves or containers may come from one allocation.

Assumes: NumPy's semantics (a ufunc without ``out=`` returns a new array,
arithmetic on arrays and numbers a new value); a ``returns_fresh`` helper
keeps no reference to its arguments; argument kinds whose array leaves are
exactly ``np.ndarray`` of a numeric dtype (anything else: None).
"""

from __future__ import annotations

import ast
import builtins

import numpy as np

from . import ir, runtime
from .argument_kinds import class_attributes
from .astwalk import loaded_names, walk_list
from .cfg import CFG, reaching_definitions
from .rules.shape_values import Array, Ints, Static

__all__ = ["owned_leaves"]

# Functions and ndarray methods whose result is always a new object when
# their arguments are numbers and arrays (keywords: only these).
_FRESH_FUNCTIONS = frozenset({np.dot, np.sum, np.mean, np.prod, np.max, np.min, np.amax, np.amin, np.zeros, np.ones,
                              np.full, np.zeros_like, np.ones_like, np.full_like, np.copy, np.outer, np.cumsum})
_FRESH_METHODS = frozenset({np.ndarray.sum, np.ndarray.mean, np.ndarray.prod, np.ndarray.max, np.ndarray.min,
                            np.ndarray.std, np.ndarray.var, np.ndarray.cumsum, np.ndarray.copy, np.ndarray.dot})
_KEYWORDS = frozenset({"axis", "keepdims", "dtype", "ddof"})
# Views of their first argument (or receiver): a new array object on its memory, writeable when it is.
_VIEWS = frozenset({np.reshape, np.ndarray.reshape, np.expand_dims, np.transpose, np.ndarray.transpose, np.squeeze})
# Calls that keep no reference to their arguments (their result may be one).
_KEEPING_NOTHING = frozenset({len, range, isinstance, np.broadcast_to, np.shape, np.ndim, runtime.check_seed_shape,
                              *_VIEWS})
_NUMBERS = (int, float)


def owned_leaves(tree: ast.FunctionDef, shapes, kinds: list, wrt: tuple[int, ...],
                 preserve_result: bool = False) -> tuple | None:
    """The leaves of the gradient ``tree`` returns, ``((path, expected),
    ...)``, when all are proven the caller's own given their type (see the
    module docstring); ``kinds``: the kinds of all its parameters, ``wrt``
    the differentiated ones (a tuple of their gradients is returned for
    several). ``preserve_result``: ``tree`` returns ``(gradient, result)``,
    the gradient's leaves at paths starting with 0 (the result is returned
    as it is, proven or not).

    Example::

        owned_leaves(tree, infer_shapes(tree, known), [argument_kind(params), float], (0,))
        # ((('W',), dtype('float64')), (('b',), dtype('float64')))
    """
    if not all(map(_plain, kinds)) or not wrt or max(wrt) >= len(kinds):
        return None
    likes = [kinds[i] for i in wrt]
    nodes = walk_list(tree)
    returns = [n for n in nodes if isinstance(n, ast.Return)]
    if len(returns) != 1 or returns[0] is not tree.body[-1] or not isinstance(returns[0].value, ast.Name) \
            or any(isinstance(n, (ast.Lambda, ast.FunctionDef, ast.Global, ast.Nonlocal, ast.Yield, ast.YieldFrom,
                                  ast.Try)) for n in nodes if n is not tree):
        return None
    facts = _Facts(tree, nodes, shapes)
    like = likes[0] if len(likes) == 1 else (tuple, None, *likes)
    found: list = []
    name, node = returns[0].value.id, facts.cfg.node_of[id(returns[0])]
    if preserve_result:  # returned = (gradient, result)
        defining = facts.single_definition(name, node)
        value = defining.stmt.value if defining is not None else None
        if not (isinstance(value, ast.Tuple) and len(value.elts) == 2 and isinstance(value.elts[0], ast.Name)):
            return None
        name, node = value.elts[0].id, defining
    if not facts.structure(name, node, like, (0,) if preserve_result else (), found):
        return None
    sites = [site for _, _, leaf_sites in found for site in leaf_sites]
    if len(sites) != len(set(sites)) or any(not facts.kept_here(site) for site in set(sites)):
        return None
    return tuple((path, expected) for path, expected, _ in found if path is not None)


class _Facts:
    """Reaching definitions, variables' abstract values and who may hold
    what, for one function."""

    def __init__(self, tree: ast.FunctionDef, nodes: list, shapes):
        self.cfg = CFG.build(tree)
        self.reaching, _ = reaching_definitions(self.cfg)
        self.values = getattr(shapes, "values", {})
        self.locals = {n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        self.held_by: dict[str, set[str]] = {}  # name -> the names that may hold its value
        self.escaping: set[str] = set()  # names whose value a call may keep
        for stmt in nodes:
            if isinstance(stmt, ast.stmt) and not isinstance(stmt, (ast.FunctionDef, ast.Return, ast.If, ast.While)):
                self._note(stmt)

    # ------------------------------------------------------------ structure

    def structure(self, name: str, node, like, path: tuple, found: list) -> bool:
        """Add to ``found`` the leaves of the value of ``name`` at ``node``
        shaped as the argument kind ``like``: (path, expected, sites), and
        (None, None, sites) for each container; whether all are proven."""
        head = like[0] if isinstance(like, tuple) and like else None
        if like is float or like is int:
            found.append((path, float, ()))  # (immutable: only its type is checked)
            return True
        if head is np.ndarray:
            return self._array_leaf(name, node, like, path, found)
        defining = self.single_definition(name, node)
        if defining is None:
            return False
        value = defining.stmt.value
        if head is dict or _is_user_class(head):
            if not isinstance(value, ast.Dict) or any(not (isinstance(k, ast.Constant) and type(k.value) is str)
                                                      for k in value.keys):
                return False
            items = dict(zip(like[1], like[2:]))
            keys = [k.value for k in value.keys]
            if not set(keys) <= set(items) or (head is not dict and not _every_numeric_attribute(items, keys)):
                return False
            pairs = list(zip(keys, value.values))
        elif head in (list, tuple) and like[1] is None:
            if not isinstance(value, (ast.List, ast.Tuple)) or len(value.elts) != len(like) - 2:
                return False
            pairs = list(zip(range(len(value.elts)), value.elts))
            items = dict(zip(range(len(value.elts)), like[2:]))
        else:
            return False
        found.append((None, None, (defining,)))
        return all(isinstance(v, ast.Name) and self.structure(v.id, defining, items[k], (*path, k), found)
                   for k, v in pairs)

    def single_definition(self, name: str, node):
        """The one definition ``name = value`` reaching ``node``, else None."""
        defining = [d for n, d in self.reaching[node] if n == name]
        if len(defining) != 1 or defining[0] is None or defining[0] is self.cfg.entry:
            return None
        stmt = defining[0].stmt
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
            return None
        return defining[0]

    def _array_leaf(self, name: str, node, like, path: tuple, found: list) -> bool:
        _, shape, char = like
        kind = np.dtype(char).kind
        described = self.values.get(name)
        if kind not in "fcbiu" or not isinstance(described, Array) or described.shape != tuple(shape):
            return False
        sites = self._allocations(name, node)
        if sites is None:
            return False
        found.append((path, np.dtype(char) if kind in "fc" else np.dtype(float), tuple(sites)))
        return True

    def _allocations(self, name: str, node) -> set | None:
        """The definitions allocating every value ``name`` may have at
        ``node`` (through copies, in-place writes and pass-through helpers),
        or None if one of its values may come from anywhere else."""
        sites, seen, work = set(), set(), [(name, node)]
        while work:
            name, node = work.pop()
            for n, defining in self.reaching[node]:
                if n != name or (n, id(defining)) in seen:
                    continue
                seen.add((n, id(defining)))
                if defining is None or defining is self.cfg.entry or not isinstance(defining.stmt, ast.Assign) \
                        or len(defining.stmt.targets) != 1:
                    return None
                target, value = defining.stmt.targets[0], defining.stmt.value
                if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and target.value.id == name:
                    work.append((name, defining))  # written in place: still the value defined before
                elif not isinstance(target, ast.Name):
                    return None
                elif isinstance(value, ast.Name):
                    work.append((value.id, defining))
                elif self._allocates(value):
                    sites.add(defining)
                elif (through := self._passed_through(value)) is not None:
                    sites.add(defining)
                    for arg in through:
                        if isinstance(arg, ast.Name):
                            work.append((arg.id, defining))
                        elif not (isinstance(arg, ast.Constant) and isinstance(arg.value, _NUMBERS)):
                            return None
                else:
                    return None
        return sites

    # ---------------------------------------------------------- allocations

    def _numeric(self, atom: ast.expr) -> bool:
        if isinstance(atom, ast.Constant):
            return isinstance(atom.value, _NUMBERS)
        return isinstance(atom, ast.Name) and isinstance(self.values.get(atom.id), Array)

    def _allocates(self, value: ast.expr) -> bool:
        """Whether ``value`` certainly gives a new object."""
        if isinstance(value, ast.BinOp):
            return self._numeric(value.left) and self._numeric(value.right)
        if isinstance(value, ast.UnaryOp):
            return isinstance(value.op, (ast.USub, ast.UAdd)) and self._numeric(value.operand)
        if not isinstance(value, ast.Call):
            return False
        callee = ir.callee(value)
        if getattr(callee, "tangent_returns_fresh", None) == ():
            return True  # (a helper declared so, whatever its arguments)
        if callee is None or any(k.arg not in _KEYWORDS for k in value.keywords):
            return False
        operands = [*value.args, *(k.value for k in value.keywords if k.arg != "dtype")]
        if ir.is_method(value):
            return callee in _FRESH_METHODS and isinstance(value.func, ast.Attribute) \
                and self._numeric(value.func.value) and all(map(self._known, operands))
        if isinstance(callee, np.ufunc):
            return not value.keywords and all(map(self._numeric, value.args))
        return callee in _FRESH_FUNCTIONS and all(map(self._known, operands))

    def _known(self, atom: ast.expr) -> bool:
        """A number, an array or a constant (a shape, an axis), never a container or an object."""
        if isinstance(atom, ast.Constant):
            return True
        value = self.values.get(atom.id) if isinstance(atom, ast.Name) else None
        return isinstance(value, (Array, Ints, Static))

    def _passed_through(self, value: ast.expr) -> list | None:
        """The arguments a ``returns_fresh`` helper may return (its result
        otherwise new), or whose memory a view of one has; None for other
        values."""
        callee = ir.callee(value) if isinstance(value, ast.Call) else None
        if callee in _VIEWS and not value.keywords:
            operand = value.func.value if ir.is_method(value) else value.args[0] if value.args else None
            return [operand] if self._numeric(operand) else None
        through = getattr(callee, "tangent_returns_fresh", None)
        if not through or ir.is_method(value) or max(through) >= len(value.args):
            return None
        return [value.args[i] for i in through]

    # -------------------------------------------------------------- holders

    def _note(self, stmt: ast.stmt) -> None:
        """Record who may hold what ``stmt`` binds or stores, and the names
        whose value it may let escape."""
        if isinstance(stmt, ast.For):
            self._hold(stmt.target, loaded_names(stmt.iter))
            return
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            if ir.is_append(stmt):
                self._hold(stmt.value.func.value, loaded_names(stmt.value))
            elif ir.callee(stmt.value) not in _KEEPING_NOTHING and not self._allocates(stmt.value) \
                    and getattr(ir.callee(stmt.value), "tangent_returns_fresh", None) is None:
                self.escaping |= loaded_names(stmt.value)
            return
        if not isinstance(stmt, ast.Assign):
            self.escaping |= loaded_names(stmt)
            return
        value = stmt.value
        if ir.is_pop(stmt):
            self._hold(stmt.targets[0], {value.func.value.id})
            return
        if self._allocates(value):
            held = set()
        elif (through := self._passed_through(value)) is not None:
            held = {a.id for a in through if isinstance(a, ast.Name)}
        else:
            held = loaded_names(value)
            if isinstance(value, (ast.Call, ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp)) \
                    and not (isinstance(value, ast.Call) and ir.callee(value) in _KEEPING_NOTHING):
                self.escaping |= held  # a call (or an operator of unknown operands) may keep what it is given
        for target in stmt.targets:
            self._hold(target, held)

    def _hold(self, target: ast.expr, held: set[str]) -> None:
        if isinstance(target, ast.Name):
            holders = [target.id]
        elif isinstance(target, (ast.Tuple, ast.List)):
            holders = [e.id for e in walk_list(target) if isinstance(e, ast.Name) and isinstance(e.ctx, ast.Store)]
        elif isinstance(target, (ast.Subscript, ast.Attribute)) and isinstance(target.value, ast.Name):
            holders = [target.value.id]
        else:
            self.escaping |= held
            return
        for holder in holders:
            if holder not in self.locals:
                self.escaping |= held  # written into an argument or a global
            for h in held:
                self.held_by.setdefault(h, set()).add(holder)

    def kept_here(self, site) -> bool:
        """Whether the value ``site`` allocates is held only by local names
        that never let it escape."""
        start = site.stmt.targets[0].id
        holders, work = {start}, [start]
        while work:
            for holder in self.held_by.get(work.pop(), ()):
                if holder not in holders:
                    holders.add(holder)
                    work.append(holder)
        return holders <= self.locals and not holders & self.escaping


_PLAIN_TYPES = frozenset({float, int, bool, complex, str, bytes, type(None), np.float64, np.float32, np.float16,
                          np.int64, np.int32, np.complex128, np.bool_})


def _plain(kind, depth: int = 0) -> bool:
    """Whether an argument of this kind holds only numbers, strings,
    NumPy arrays (exactly) of numeric dtypes, and dicts, lists, tuples and
    objects of user classes of those: what the analysis assumes of every
    argument (an array of another library, a subclass, an object array: no proof)."""
    if isinstance(kind, type):
        return kind in _PLAIN_TYPES
    if not (isinstance(kind, tuple) and kind) or depth > 16:
        return False
    head = kind[0]
    if head is np.ndarray:
        return len(kind) == 3 and np.dtype(kind[2]).kind in "biufc"
    if head in (dict, list, tuple) or _is_user_class(head):
        return all(_plain(item, depth + 1) for item in kind[2:])
    return False


def _is_user_class(head) -> bool:
    """A user's class whose instances' attributes are what their kind
    lists: no data descriptor (a property, a slot) but Python's own."""
    if not isinstance(head, type) or head.__module__ == builtins.__name__ \
            or issubclass(head, (dict, list, tuple, np.ndarray, np.generic)):
        return False
    shadowed = class_attributes(head)
    return shadowed is not None and all(n.startswith("__") and n.endswith("__") for n in shadowed)


def _every_numeric_attribute(items: dict, keys: list) -> bool:
    """Whether the gradient of an object has an entry for every attribute
    that ``ownership`` would otherwise fill with zeros."""
    def numeric(kind):
        head = kind[0] if isinstance(kind, tuple) and kind else kind
        return head in (np.ndarray, float, int, list, tuple, dict)
    return all(k in keys for k, kind in items.items() if numeric(kind))

