"""Optimization passes over generated functions.

Takes: a generated FunctionDef with its Save/Restore markers already lowered
(``Comment`` statements may remain; they are kept, and count as empty in
blocks). Assignments marked ``tangent_pure`` (generated adjoint code, see
``tape.mark_pure``) have no side effects; other calls may.

Gives: each pass takes and returns a FunctionDef and preserves what it computes:

* ``fold_constants``: evaluates operations on literals (``2 - 1``,
  ``None is None``, ``False or x``), picks the branch of a conditional with a
  literal test, and simplifies ``x ** 1`` and ``x * 1.0`` (which keep ``x``'s
  shape and dtype for the float adjoints they appear in);
* ``propagate_copies``: ``a = b`` followed by uses of ``a`` in the same block
  uses ``b`` directly when neither changes in between;
* ``eliminate_dead_code``: drops assignments whose target is never read and
  whose value has no side effects, then empty branches and loops;
* ``merge_temporaries``: ``t = e; x = t`` with t read nowhere else is ``x = e``;
* in specialised code (given its ``value_facts.Specialization``),
  ``unit_factors.fold_unit_factors``: numbers named once read as literals,
  products by one left out, ``broadcasts.elide_broadcasts``: an explicit broadcast that elementwise
  operations would do anyway goes, and
  ``common_subexpressions.share_subexpressions``: an expression already held
  by a name is read from it, ``gradient_displays.gradient_displays``: a
  container argument's gradient built once as a display of its structure,
  ``fusion.inline_single_uses``: a temporary read once is written into the
  expression reading it, and in code that is run only, never differentiated,
  ``hoisted_products.hoist_products``: products of a backward loop that feed
  only an accumulation are done after it as one matmul (each module states
  when it is sound);
* ``optimize_function`` runs them all; ``tidy_blocks`` (run on optimized and
  unoptimized code alike) leaves no empty or ``pass``-only block.

Assumes: the function's locals are not read through ``locals()`` or by
nested functions (generated code has neither).
"""

from __future__ import annotations

import ast
import builtins
import operator

from . import ir
from .astwalk import FastTransformer, loaded_names, names_in, walk_list
from .broadcasts import elide_broadcasts
from .common_subexpressions import share_subexpressions
from .fusion import inline_single_uses
from .gradient_displays import gradient_displays
from .hoisted_products import hoist_products
from .ir import Kind
from .name_counts import NameCounts, StatementNames
from .reduced_factors import reduce_before_factors
from .reductions import reductions_as_methods
from .self_updates import self_updates
from .unit_factors import fold_unit_factors
from .value_facts import Specialization

_FOLDABLE_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
                    ast.Pow: operator.pow, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod}
_FOLDABLE_COMPARE = {ast.Is: operator.is_, ast.IsNot: operator.is_not, ast.Eq: operator.eq, ast.NotEq: operator.ne,
                     ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}


def _is_const(node) -> bool:
    return isinstance(node, ast.Constant)


def _is_one(node) -> bool:
    return _is_const(node) and type(node.value) in (int, float) and node.value == 1


class ConstantFolder(FastTransformer):
    # x ** 1 -> x and x * 1.0 -> x only in generated adjoint code: in the
    # user's code they would turn a fresh array into an alias of x.
    algebra = False

    def __init__(self, counts: NameCounts | None = None):
        self.counts = counts

    def dropped(self, *parts) -> None:
        """The folding left out these subtrees (or lists of them): their
        names no longer count."""
        if self.counts is not None:
            for part in parts:
                for node in part if isinstance(part, list) else [part]:
                    self.counts.forget(node)

    def visit_Assign(self, node):
        saved = self.algebra
        self.algebra = ir.get(node, "pure", False)
        self.generic_visit(node)
        self.algebra = saved
        return node

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if _is_const(node.left) and _is_const(node.right) and type(node.op) in _FOLDABLE_BINOPS:
            try:
                value = _FOLDABLE_BINOPS[type(node.op)](node.left.value, node.right.value)
            except Exception:
                return node
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return ast.copy_location(ast.Constant(value=value), node)
        if self.algebra and isinstance(node.op, ast.Pow) and _is_one(node.right):
            return node.left
        if self.algebra:
            node = self.visit_BinOpSign(node)
        if self.algebra and isinstance(node.op, ast.Mult) and _is_const(node.right) and isinstance(node.right.value, float) \
                and node.right.value == 1.0:
            return node.left
        return node

    def visit_Call(self, node):
        """abs(c) of a number is a number (the power rule's ``0 ** abs(y)``)."""
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "abs" and len(node.args) == 1 and not node.keywords \
                and _is_const(node.args[0]) and type(node.args[0].value) in (int, float) \
                and ir.get(node, "callee", builtins.abs) is builtins.abs:
            return ast.copy_location(ast.Constant(value=abs(node.args[0].value)), node)
        return node

    def visit_BinOpSign(self, node):
        """a + -b -> a - b and a - -b -> a + b (one array operation fewer)."""
        if isinstance(node.right, ast.UnaryOp) and isinstance(node.right.op, ast.USub):
            if isinstance(node.op, ast.Add):
                return ast.copy_location(ast.BinOp(left=node.left, op=ast.Sub(), right=node.right.operand), node)
            if isinstance(node.op, ast.Sub):
                return ast.copy_location(ast.BinOp(left=node.left, op=ast.Add(), right=node.right.operand), node)
        return node

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if _is_const(node.operand):
            try:
                if isinstance(node.op, ast.Not):
                    return ast.copy_location(ast.Constant(value=not node.operand.value), node)
                if isinstance(node.op, ast.USub) and isinstance(node.operand.value, (int, float)):
                    return ast.copy_location(ast.Constant(value=-node.operand.value), node)
            except Exception:
                return node
        if isinstance(node.op, ast.USub) and isinstance(node.operand, ast.UnaryOp) and isinstance(node.operand.op, ast.USub):
            return node.operand.operand
        return node

    def visit_Compare(self, node):
        self.generic_visit(node)
        if len(node.ops) == 1 and _is_const(node.left) and _is_const(node.comparators[0]):
            fn = _FOLDABLE_COMPARE.get(type(node.ops[0]))
            if fn is not None:
                try:
                    return ast.copy_location(ast.Constant(value=bool(fn(node.left.value, node.comparators[0].value))), node)
                except Exception:
                    return node
        return node

    def visit_BoolOp(self, node):
        self.generic_visit(node)
        values = []
        for k, value in enumerate(node.values):
            if _is_const(value):
                truthy = bool(value.value)
                if isinstance(node.op, ast.Or) and truthy or isinstance(node.op, ast.And) and not truthy:
                    self.dropped(node.values[k + 1:])
                    if not values:
                        self.dropped(node.values[:k])
                        return value
                    values.append(value)
                    break
                continue  # neutral element
            values.append(value)
        if not values:
            return ast.copy_location(ast.Constant(value=isinstance(node.op, ast.And)), node)
        if len(values) == 1:
            return values[0]
        node.values = values
        return node

    def visit_IfExp(self, node):
        self.generic_visit(node)
        if _is_const(node.test):
            self.dropped(node.orelse if node.test.value else node.body)
            return node.body if node.test.value else node.orelse
        return node

    def visit_If(self, node):
        self.generic_visit(node)
        if _is_const(node.test):
            chosen = node.body if node.test.value else node.orelse
            self.dropped(node.orelse if node.test.value else node.body)
            return chosen or None
        return node


def fold_constants(fdef: ast.FunctionDef, counts: NameCounts | None = None) -> ast.FunctionDef:
    """Fold constants (see the module docstring); ``counts``, when given,
    are kept exact."""
    fdef = ConstantFolder(counts).visit(fdef)
    return _fix_empty_bodies(fdef)


def _last_use(a: str, b: str, rest: list[ast.stmt], uses_total: int, names: StatementNames) -> int | None:
    """For the copy ``a = b`` followed by ``rest``: the index in ``rest`` of
    the last use of ``a`` (-1 when none) if every use can read ``b`` instead,
    else None. Uses of ``a`` outside ``rest`` (``uses_total`` counts every use
    in the function), or a change of ``b`` before the last use, make the
    substitution unsafe; the scan stops at the statement with the last use."""
    uses_here = 0
    last = -1
    if uses_total:
        for k, s in enumerate(rest):
            here = sum(1 for n in names.loads(s) if n.id == a)
            if here:
                uses_here += here
                last = k
                if uses_here >= uses_total:
                    break
    if uses_here != uses_total:
        return None

    def changes_b(s):  # b = a gives b the value it already has
        return b in names.stores(s) and not (isinstance(s, ast.Assign) and isinstance(s.value, ast.Name)
                                             and s.value.id == a)

    if any(changes_b(s) for s in rest[:last]):
        return None
    # b may be stored by the last use when that is a plain assignment: its
    # right-hand side is read before its target is written
    if last >= 0 and b in names.stores(rest[last]) and not isinstance(rest[last], ast.Assign):
        return None
    return last


def propagate_copies(fdef: ast.FunctionDef, name_counts: NameCounts | None = None) -> ast.FunctionDef:
    """``a = b`` (a assigned once) followed by uses of ``a`` in the same
    block: the uses read ``b`` and the copy goes, where that is safe (see
    ``_last_use``). ``name_counts``, when given, are the function's and are
    kept exact."""
    name_counts = name_counts or NameCounts(fdef)
    counts, loads = name_counts.stores, name_counts.loads  # kept exact as copies are substituted
    names = StatementNames()

    def block(stmts):
        i = 0
        while i < len(stmts):
            stmt = stmts[i]
            for field in ("body", "orelse"):
                inner = getattr(stmt, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    block(inner)
            if (
                isinstance(stmt, ast.Assign)
                and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)
                and isinstance(stmt.value, ast.Name)
                and counts.get(stmt.targets[0].id, 0) == 1
            ):
                a, b = stmt.targets[0].id, stmt.value.id
                rest = stmts[i + 1:]
                last = _last_use(a, b, rest, loads.get(a, 0), names)
                if last is not None:
                    for s in rest[: last + 1]:
                        for n in names.loads(s):
                            if n.id == a:
                                n.id = b
                    del stmts[i]
                    counts[a] = 0
                    loads[b] = loads.get(b, 0) + loads.get(a, 0) - 1  # the copy's own read of b is gone
                    loads[a] = 0
                    continue
            i += 1

    block(fdef.body)
    return fdef


def merge_temporaries(fdef: ast.FunctionDef, name_counts: NameCounts | None = None) -> ast.FunctionDef:
    """``t = e`` directly followed by ``x = t``, t read nowhere else: ``x = e``
    (the temporaries that normalization adds for ``s = s + ...``).
    ``name_counts``, when given, are the function's and are kept exact."""
    name_counts = name_counts or NameCounts(fdef)
    counts, loads = name_counts.stores, name_counts.loads

    def block(stmts):
        out = []
        for stmt in stmts:
            for field in ("body", "orelse"):
                inner = getattr(stmt, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    setattr(stmt, field, block(inner))
            previous = out[-1] if out else None
            if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
                    and isinstance(stmt.value, ast.Name) and isinstance(previous, ast.Assign)
                    and len(previous.targets) == 1 and isinstance(previous.targets[0], ast.Name)
                    and previous.targets[0].id == stmt.value.id and loads.get(stmt.value.id) == 1
                    and counts.get(stmt.value.id) == 1):
                previous.targets = stmt.targets
                counts[stmt.value.id] -= 1  # t is neither assigned nor read any more
                loads[stmt.value.id] -= 1
                continue
            out.append(stmt)
        return out

    fdef.body = block(fdef.body)
    return fdef


def _has_side_effects(stmt: ast.Assign) -> bool:
    if ir.get(stmt, "pure", False):
        return False
    return any(isinstance(n, (ast.Yield, ast.Await)) or isinstance(n, ast.Call) and not ir.get(n, "pure_call", False)
               for n in walk_list(stmt.value))


def eliminate_dead_code(fdef: ast.FunctionDef, name_counts: NameCounts | None = None) -> ast.FunctionDef:
    """Remove assignments whose targets nobody reads (or only their own
    updates read, ``self_updates``), x = x, and empty ifs and
    loops. Load counts are kept up to date as statements go, and blocks are
    swept from the end, so a chain of dead temporaries goes in one sweep.
    ``name_counts``, when given, are the function's and are kept exact."""
    name_counts = name_counts or NameCounts(fdef)
    counts = name_counts.loads
    effects: dict[int, tuple] = {}  # id(stmt) -> (stmt, side effects): sweeps change no kept statement's value
    doomed = self_updates(fdef, name_counts, _has_side_effects)

    def side_effects(stmt):
        found = effects.get(id(stmt))
        if found is None:
            found = effects[id(stmt)] = (stmt, _has_side_effects(stmt))
        return found[1]

    # Each sweep that sets ``removed`` took out at least one statement: the
    # loop ends after at most as many sweeps as there are statements.
    removed = True

    def drop(node):
        nonlocal removed
        removed = True
        name_counts.forget(node)

    def block(stmts):
        out = []
        for stmt in reversed(stmts):
            if id(stmt) in doomed or (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                                      and isinstance(stmt.targets[0], ast.Name) and isinstance(stmt.value, ast.Name)
                                      and stmt.value.id == stmt.targets[0].id):
                drop(stmt)  # x = x, or a self-update nothing else reads
                continue
            if isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Name) for t in stmt.targets):
                if not any(counts[t.id] > 0 for t in stmt.targets) and not side_effects(stmt):
                    drop(stmt)
                    continue
            for field in ("body", "orelse"):
                inner = getattr(stmt, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    setattr(stmt, field, block(inner))
            if isinstance(stmt, ast.If) and _empty(stmt.body) and _empty(stmt.orelse):
                drop(stmt)
                continue
            if isinstance(stmt, ast.For) and _empty(stmt.body) and isinstance(stmt.iter, ast.Call):
                drop(stmt)
                continue
            out.append(stmt)
        out.reverse()
        return out

    while removed:
        removed = False
        fdef.body = block(fdef.body)
    return _fix_empty_bodies(fdef)


def _empty(stmts) -> bool:
    return all(ir.kind_or_none(s) in (Kind.PASS, Kind.COMMENT) for s in stmts)


_BLOCK_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")
_block_fields: dict[type, tuple[str, ...]] = {}  # node class -> which of _BLOCK_FIELDS it has


def _blocks_of(cls: type) -> tuple[str, ...]:
    found = _block_fields.get(cls)
    if found is None:
        found = _block_fields[cls] = tuple(f for f in _BLOCK_FIELDS if f in cls._fields)
    return found


def _compound_statements(fdef):
    """fdef and every statement (and except handler) in it that holds
    statement lists, without walking into expressions: only these have
    them (a simple statement has none of the fields looked at)."""
    todo = [fdef]
    while todo:
        node = todo.pop()
        fields = _blocks_of(node.__class__)
        if not fields:
            continue
        yield node
        for field in fields:
            inner = getattr(node, field, None)
            if isinstance(inner, list):
                todo.extend(s for s in inner if isinstance(s, ast.AST))


def _fix_empty_bodies(fdef):
    # each node's fix reads and writes only its own fields: any visiting order
    # does; statements without statement lists have nothing to fix
    for node in list(_compound_statements(fdef)):
        for field in ("body", "orelse"):
            inner = getattr(node, field, None)
            if isinstance(inner, list) and isinstance(node, ast.stmt) and field == "body" and not inner:
                node.body = [ast.Pass()]
            elif isinstance(inner, list) and field == "orelse" and inner and all(isinstance(s, ast.Pass) for s in inner):
                node.orelse = []
        if isinstance(node, ast.If) and _empty(node.body) and node.orelse:
            node.test = ast.UnaryOp(op=ast.Not(), operand=node.test)
            node.body, node.orelse = node.orelse, []
    return fdef


def optimize_function(fdef: ast.FunctionDef, special: Specialization | None = None) -> ast.FunctionDef:
    """Run the passes twice: a second round catches what the first one's
    removals expose (dead-code elimination itself runs to a fixed point).
    ``special``: what the specialisation knows, for the passes that need it."""
    counts = NameCounts(fdef)  # one walk: each pass keeps the counts exact
    for _ in range(2):
        fdef = fold_constants(fdef, counts)
        if special is not None:
            fdef = fold_constants(fold_unit_factors(elide_broadcasts(fdef, special, counts), special, counts), counts)
        fdef = propagate_copies(fdef, counts)
        if special is not None:
            fdef = share_subexpressions(fdef, special, counts)
            fdef = fold_constants(fdef, counts)  # (a + -p from the sharing)
        fdef = eliminate_dead_code(fdef, counts)
        fdef = merge_temporaries(fdef, counts)
    if special is not None:
        fdef = gradient_displays(fdef, special)
        counts = NameCounts(fdef)
        fdef = inline_single_uses(fdef, special, counts)
        fdef = eliminate_dead_code(fold_constants(fold_unit_factors(fdef, special, counts), counts), counts)
        fdef = reduce_before_factors(reductions_as_methods(fdef, special), special)  # (no name's uses change)
        fdef = hoist_products(fdef, special)  # (last: in code that is run only)
    return fdef


def tidy_blocks(fdef: ast.FunctionDef) -> ast.FunctionDef:
    """No empty or ``pass``-only blocks in generated code (optimized or not):
    an ``if`` whose branches are both empty goes, one with an empty body is
    inverted, an empty ``else`` is dropped, and so is a ``for`` over a plain
    name or range with an empty body. A block of only comments is empty too
    (the comments describe statements that are gone)."""

    def pure(expr) -> bool:
        if isinstance(expr, (ast.Name, ast.Constant)):
            return True
        if isinstance(expr, ast.UnaryOp):
            return pure(expr.operand)
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id in ("range", "reversed"):
            return all(pure(a) for a in expr.args) and not expr.keywords
        return False

    def block(stmts):
        out = []
        for stmt in stmts:
            if isinstance(stmt, (ast.If, ast.For, ast.While)):
                stmt.body = block(stmt.body)
                stmt.orelse = block(stmt.orelse)
                if _empty(stmt.orelse):
                    stmt.orelse = []
                if isinstance(stmt, ast.If):
                    if _empty(stmt.body) and not stmt.orelse:
                        if not pure(stmt.test):
                            out.append(ast.copy_location(ast.Expr(value=stmt.test), stmt))
                        continue
                    if _empty(stmt.body):
                        test = stmt.test
                        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
                            stmt.test = test.operand
                        else:
                            stmt.test = ast.UnaryOp(op=ast.Not(), operand=test)
                        stmt.body, stmt.orelse = stmt.orelse, []
                elif _empty(stmt.body):
                    if isinstance(stmt, ast.For) and pure(stmt.iter) and not stmt.orelse \
                            and not (names_stored(stmt.target) & loaded):
                        continue
                    stmt.body = [s for s in stmt.body if ir.kind_or_none(s) is Kind.COMMENT] + [ast.Pass()]
            elif isinstance(stmt, ast.Pass):
                continue
            out.append(stmt)
        return out

    loaded = loaded_names(fdef)

    def names_stored(target):
        return {n.id for n in names_in(target)}

    fdef.body = block(fdef.body)
    if _empty(fdef.body):
        fdef.body.append(ast.Pass())
    return fdef
