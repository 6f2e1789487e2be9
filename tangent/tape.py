"""The tape of reverse mode: which old values are saved and restored.

Takes: the normalized function (to count how often each variable is
defined), the ``Save``/``Restore`` markers the primal and adjoint sweeps put
down (each naming a ``Site``), and, when lowering, both sweeps.

Gives: ``Tape.lower``, which turns the markers into real stack pushes
(``stack.append(x)``) and pops (``x = stack.pop()``), or into nothing. A
marker pair becomes real only when the backward pass reads the restored
value; that is decided on the adjoint as it will run, after the blocks that
contained nothing but markers left out have gone (a branch that only
restored an unsaved value does not keep its test variable alive). A region
of an array (``y[i] = v``) is restored only if its values are read after,
not only its shape (``_SHAPE_ONLY`` helpers); an integer computed in a loop
from integers fixed before it (``fixed_integers``) is never saved.

Assumes: every ``Restore`` has a ``Save`` of the same site on the path the
primal took (the sweeps put them down in pairs, in mirror order), so any set
of sites lowered together keeps pushes and pops balanced; writing into an
array keeps its shape and dtype; the names the caller says are arrays
(``arrays``) hold NumPy arrays where they are written into.
"""

from __future__ import annotations

import ast
import copy
from collections import Counter
from typing import NamedTuple

from . import ir, runtime
from .astwalk import names_in, walk_list
from .cfg import names_loaded
from .ir import Kind, Site, assign, call, name


class Lowered(NamedTuple):
    """The sweeps with their markers lowered."""

    primal: list[ast.stmt]
    adjoint: list[ast.stmt]
    init: list[str]  # names to set to None before the primal (a pop may give them back)
    uses_stack: bool


class Tape:
    """Definition counts and save sites of one function."""

    def __init__(self, tree: ast.FunctionDef, stack_name: str, inactive_stack_name: str | None = None):
        self.stack_name = stack_name
        self.inactive_stack_name = inactive_stack_name  # values not depending on wrt (see lower)
        self.def_count: Counter = Counter()
        self.sites: list[Site] = []
        self._site_index: dict = {}  # (name, id(stmt)) -> latest site (see site_of)
        self._sites_indexed = 0
        self.lowered: set[Site] = set()  # the sites lower() made real
        args = tree.args
        for param in args.posonlyargs + args.args + args.kwonlyargs:
            self.def_count[param.arg] += 1  # the caller's value is a definition too
        self._count_defs(tree.body, 0)
        self.invariant = fixed_integers(tree, self.def_count)
        self._same_every_time: set[int] = set()  # ids of sites whose new value is their old one

    def define(self, var: str, depth: int) -> None:
        """One more definition of ``var`` (inside a loop: more than one)."""
        self.def_count[var] += 2 if depth else 1

    def _count_defs(self, stmts, depth):
        for stmt in stmts:
            if isinstance(stmt, ast.Assign):
                for target in stmt.targets:
                    if isinstance(target, ast.Name):
                        self.define(target.id, depth)
            elif isinstance(stmt, ast.If):
                self._count_defs(stmt.body, depth)
                self._count_defs(stmt.orelse, depth)
            elif isinstance(stmt, ast.For):
                self.define(stmt.target.id, depth)
                self._count_defs(stmt.body, depth + 1)
            elif isinstance(stmt, ast.While):
                self._count_defs(stmt.body, depth + 1)

    def site(self, var: str, stmt: ast.AST, depth: int, index: ast.expr | None = None) -> Site:
        """A new place where ``var`` (or ``var[index]``) is overwritten."""
        site = Site(var, stmt, depth > 0, index=index)
        self.sites.append(site)
        if (depth and index is None and isinstance(stmt, ast.Assign) and self.def_count[var] == 2
                and _integer_arithmetic(stmt.value, self.invariant)):
            # the only definition of var, in a loop, computes the same integer
            # in every iteration of every loop: nothing to save (e.g. the
            # `2 * n` of `gates[n:2 * n]`)
            self._same_every_time.add(id(site))
        return site

    def site_of(self, var: str, stmt: ast.AST) -> Site:
        """The last site recorded for ``var`` at ``stmt`` (sites are only
        appended: each is indexed once, the latest for a key wins)."""
        for site in self.sites[self._sites_indexed:]:
            self._site_index[site.name, id(site.stmt)] = site
        self._sites_indexed = len(self.sites)
        site = self._site_index.get((var, id(stmt)))
        if site is None or site.stmt is not stmt:
            raise AssertionError((var, stmt))
        return site

    # ------------------------------------------------------------ lowering
    def needed(self, adjoint: list[ast.stmt], analysis, wrt, live_out, arrays=frozenset(),
               shape_args=None) -> set[Site]:
        """The sites whose old value the backward pass reads: an index site
        whose variable it reads at all (of an array, ``arrays``: whose
        values it reads after the restore, see ``restored_values_read``), a
        whole-variable site of a variable defined more than once whose
        restored value is read afterwards."""
        reads = names_read(adjoint) | set(live_out)
        read_after = restored_values_read(adjoint, shape_args or {})
        return {
            s for s in self.sites
            if s.name in reads and s.index is not None
            and (not _array_write(s, arrays) or id(s) in read_after.values)
        } | {
            s for s in self.sites
            if s.name in reads and s.index is None and self.def_count[s.name] > 1
            and id(s) not in self._same_every_time
            # the old value matters only if the backward pass reads it after restoring it
            and (id(s) in read_after.any or s.name in live_out)
            # a definition outside loops that no other definition reaches (on
            # any path: a loop that ran, one branch of an if) has no old value
            and (s.in_loop or s.name in analysis.possibly_defined_before(s.stmt) or s.name in wrt)
        }

    def lower(self, primal: list[ast.stmt], adjoint: list[ast.stmt], analysis, wrt, bind_global,
              live_out=(), keep=(), arrays=frozenset()) -> Lowered:
        """Markers -> pushes and pops where needed (see the module docstring).

        ``live_out``: names read from the primal's end by other means (split
        mode packs them into the tape); ``keep``: names read after the
        adjoint (the gradients, the result); ``arrays``: names that only
        ever hold NumPy arrays where they are written into (``y[i] = v``
        keeps such a value's shape and dtype, so a restore only matters to
        reads of its values).

        The set of needed sites is found by a fixpoint that shrinks it: with
        the unneeded markers left out some blocks are empty and go, which can
        only remove reads, so the next set is a subset of this one. A finite
        set cannot shrink for ever: the loop ends."""
        arrays = frozenset(arrays) - set(keep)
        shape_args = shape_only_arguments(adjoint, bind_global)
        needed = self.needed(adjoint, analysis, wrt, live_out, arrays, shape_args)
        while True:
            pruned = prune(adjoint, needed, keep)
            reads = names_read(pruned)
            fewer = self.needed(pruned, analysis, wrt, [n for n in live_out if n in reads], arrays,
                                shape_args) & needed
            if fewer == needed:
                break
            needed = fewer
        init = sorted({site.name for site in needed if site.index is None and site.name not in wrt
                       and site.name not in analysis.defined_before(site.stmt)})
        self.lowered = needed
        # Values that never depend on wrt go on a stack of their own: forward
        # mode over this gradient (hvp) then sees a list of inactive values and
        # gives them no tangents. Any partition of the sites keeps each stack
        # balanced (see Assumes), so this is only a choice of list.
        ever_varied = set(wrt).union(*analysis.varied.values())
        inactive = {s for s in needed if s.name not in ever_varied} if self.inactive_stack_name else set()
        lower = _Lowering(needed, self.stack_name, bind_global, inactive, self.inactive_stack_name).block
        primal = lower(primal)
        if inactive:
            primal.insert(0, assign(self.inactive_stack_name, ast.List(elts=[], ctx=ast.Load())))
        return Lowered(primal, lower(pruned), init, bool(needed - inactive))


def _integer_arithmetic(value: ast.expr, integers: set[str]) -> bool:
    """``value`` is int constants and ``integers`` under + - * // % and unary -."""
    if isinstance(value, ast.Constant):
        return type(value.value) is int
    if isinstance(value, ast.Name):
        return value.id in integers
    if isinstance(value, ast.UnaryOp):
        return isinstance(value.op, ast.USub) and _integer_arithmetic(value.operand, integers)
    if isinstance(value, ast.BinOp):
        return (isinstance(value.op, (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod))
                and _integer_arithmetic(value.left, integers) and _integer_arithmetic(value.right, integers))
    return False


def fixed_integers(tree: ast.FunctionDef, def_count: Counter) -> set[str]:
    """Names that hold one Python int wherever they are read: each defined
    once (``def_count`` 1: outside loops, not a parameter) as an int
    constant, ``len(...)``, an item of a ``.shape``, or integer arithmetic
    of such names. Ints are immutable, so nothing changes them in place.
    The set is found by a fixpoint that only grows, bounded by the names:
    it ends."""
    once = {}  # name -> its one defining value, for names defined once outside loops
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name) and len(stmt.targets) == 1:
            if def_count[stmt.targets[0].id] == 1:
                once[stmt.targets[0].id] = stmt.value
    shapes = {n for n, v in once.items() if isinstance(v, ast.Attribute) and v.attr == "shape"}
    found: set[str] = set()
    while True:
        more = {n for n, v in once.items() if n not in found and (
            _integer_arithmetic(v, found)
            or isinstance(v, ast.Call) and ir.callee(v) is len
            or isinstance(v, ast.Subscript) and isinstance(v.value, ast.Name) and v.value.id in shapes
            and isinstance(v.slice, ast.Constant) and type(v.slice.value) is int)}
        if not more:
            return found
        found |= more


class _Lowering:
    """Markers of needed sites -> stack operations; others -> nothing."""

    def __init__(self, needed: set[Site], stack: str, bind_global, inactive=frozenset(), inactive_stack=None):
        self.needed = needed
        self.stack = stack
        self.bind_global = bind_global
        self.inactive, self.inactive_stack = inactive, inactive_stack

    def marker(self, stmt) -> list[ast.stmt]:
        site = stmt.site
        if site not in self.needed:
            return []
        stack = self.inactive_stack if site in self.inactive else self.stack
        if ir.kind(stmt) is Kind.SAVE:
            saved = name(site.name)
            if site.index is not None:
                saved = call(self.bind_global("copy_region", runtime.copy_region), saved, copy.deepcopy(site.index))
            push = ast.Attribute(value=name(stack), attr="append", ctx=ast.Load())
            return [ast.Expr(value=ast.Call(func=push, args=[saved], keywords=[]))]
        pop = ast.Call(func=ast.Attribute(value=name(stack), attr="pop", ctx=ast.Load()), args=[], keywords=[])
        if site.index is not None:
            restore_region = self.bind_global("restore_region", runtime.restore_region)
            return [ast.Expr(value=call(restore_region, name(site.name), copy.deepcopy(site.index), pop))]
        return [assign(site.name, pop)]

    def block(self, stmts: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for stmt in stmts:
            if ir.kind_or_none(stmt) in (Kind.SAVE, Kind.RESTORE):
                out += self.marker(stmt)
                continue
            for field in ("body", "orelse"):
                if hasattr(stmt, field) and isinstance(getattr(stmt, field), list):
                    setattr(stmt, field, self.block(getattr(stmt, field)))
            if isinstance(stmt, (ast.For, ast.While, ast.If)) and not stmt.body:
                stmt.body = [ast.Pass()]
            out.append(stmt)
        return out


def prune(stmts: list[ast.stmt], needed: set[Site], keep=()) -> list[ast.stmt]:
    """A copy of the adjoint ``stmts`` without the markers of unneeded sites,
    and without the ``if`` and ``for`` blocks that held nothing else: an
    ``if`` on a plain name, a ``for`` over a name, ``range`` or ``reversed``
    of one, whose target nothing after reads (the adjoint's loops bind only
    the primal's loop variables, restored after the loop or read by nobody).
    Comments go with the blocks they are in."""
    reads = names_read(stmts) | set(keep)

    def simple(expr) -> bool:
        if isinstance(expr, (ast.Name, ast.Constant)):
            return True
        return (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id in ("range", "reversed")
                and not expr.keywords and all(simple(a) for a in expr.args))

    def empty(body) -> bool:
        return all(ir.kind_or_none(s) in (Kind.COMMENT, Kind.PASS) for s in body)

    def block(body):
        out = []
        for stmt in body:
            form = ir.kind_or_none(stmt)
            if form in (Kind.SAVE, Kind.RESTORE):
                if stmt.site in needed:
                    out.append(stmt)
                continue
            if form in (Kind.IF, Kind.FOR, Kind.WHILE):
                body, orelse = block(stmt.body), block(stmt.orelse)
                if empty(body) and empty(orelse):
                    if form is Kind.IF and simple(stmt.test):
                        continue
                    if form is Kind.FOR and simple(stmt.iter) and not (
                            {n.id for n in names_in(stmt.target)} & reads):
                        continue
                stmt = copy.copy(stmt)
                stmt.body, stmt.orelse = body, orelse
            out.append(stmt)
        return out

    return block(stmts)


# Runtime helpers that read an argument only for its shape and dtype (and,
# for lists and dicts, its items' shapes): name -> position of that argument.
_SHAPE_ONLY = {"grad_of_index": (runtime.grad_of_index, 0), "zero_region": (runtime.zero_region, 2),
               "unbroadcast": (runtime.unbroadcast, 1), "zeros_like": (runtime.zeros_like, 0),
               "buffer_like": (runtime.buffer_like, 0),
               "grad_of_written": (runtime.grad_of_written, 2)}


def shape_only_arguments(adjoint, bind_global) -> dict[str, int]:
    """{name the adjoint calls a helper of ``_SHAPE_ONLY`` by: position of
    the argument it reads only the shape of}; a name bound to anything else
    is not in it."""
    called = {n.func.id for stmt in adjoint for n in walk_list(stmt)
              if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    return {hint: position for hint, (helper, position) in _SHAPE_ONLY.items()
            if hint in called and bind_global(hint, helper) == hint}


def _array_write(site: Site, arrays) -> bool:
    """``y[index] = v`` into a name that holds a NumPy array there."""
    return site.name in arrays and isinstance(site.stmt, ast.Assign) and isinstance(site.stmt.targets[0], ast.Subscript)


class RestoredReads(NamedTuple):
    """ids of sites whose restored variable is read afterwards at all
    (``any``), and read for its values, not only its shape (``values``)."""

    any: set[int]
    values: set[int]


def _reads(stmt, shape_args) -> list[tuple[str, bool]]:
    """(name, read only for its shape) of each name the statement reads."""
    shape_only = set()
    for node in walk_list(stmt):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in shape_args:
            position = shape_args[node.func.id]
            if position < len(node.args) and isinstance(node.args[position], ast.Name):
                shape_only.add(id(node.args[position]))
    return [(n.id, id(n) in shape_only) for n in names_in(stmt) if isinstance(n.ctx, ast.Load)]


def restored_values_read(adjoint, shape_args=None) -> RestoredReads:
    """The sites whose Restore is followed, in backward-pass order, by a
    read of the restored variable (anything in an enclosing loop counts, as
    it runs again); ``shape_args`` (see ``shape_only_arguments``) tells the
    reads of a shape only."""
    events: list = []  # (kind, name or site, enclosing loops, a read of the shape only)
    shape_args = shape_args or {}

    def read(names, loops, shape=False):
        events.extend(("read", n, loops, shape) for n in names)

    def walk(stmts, loops):
        for stmt in stmts:
            match form := ir.kind_or_none(stmt):
                case Kind.RESTORE:
                    events.append(("restore", stmt.site, loops, False))
                    if stmt.site.index is not None:
                        # restore_region(y, index, ...) writes into the object y
                        # names then: if y was rebound since, its old value is read;
                        # and it reads the names of the index, which must hold
                        # what they held at the save
                        read([stmt.site.name], loops, shape=True)
                        read(names_loaded(stmt.site.index), loops)
                case Kind.SAVE | Kind.COMMENT:
                    pass
                case Kind.FOR | Kind.WHILE:
                    read(names_loaded(stmt.iter if form is Kind.FOR else stmt.test), loops)
                    walk(stmt.body, loops + (id(stmt),))
                case Kind.IF:
                    read(names_loaded(stmt.test), loops)
                    walk(stmt.body, loops)
                    walk(stmt.orelse, loops)
                case _:
                    for n, shape in _reads(stmt, shape_args):
                        events.append(("read", n, loops, shape))

    walk(adjoint, ())
    found = RestoredReads(set(), set())
    for values, out in ((False, found.any), (True, found.values)):
        # for each name its last read, for each loop the names read inside it
        last_read: dict[str, int] = {}
        read_in_loop: dict[int, set[str]] = {}
        for i, (kind, n, where, shape) in enumerate(events):
            if kind == "read" and not (values and shape):
                last_read[n] = i
                for loop in where:
                    read_in_loop.setdefault(loop, set()).add(n)
        for i, (kind, site, loops, _) in enumerate(events):
            if kind != "restore":
                continue
            later = last_read.get(site.name, -1) > i
            again = bool(loops) and site.name in read_in_loop.get(loops[0], ())
            if later or again:
                out.add(id(site))
    return found


def _region_restore_reads(stmt) -> set[str]:
    """What ``restore_region(y, index, old)`` of a Restore marker reads: the
    object y it writes into and the names of the index (a loop's key, say,
    which must then hold what it held at the save)."""
    if ir.kind_or_none(stmt) is Kind.RESTORE and stmt.site.index is not None:
        return {stmt.site.name} | names_loaded(stmt.site.index)
    return set()


def names_read(stmts) -> set[str]:
    """The names the statements read, markers included (restoring a region
    reads the object it writes into and its index)."""
    found = set()
    for stmt in stmts:
        if ir.kind_or_none(stmt) in (Kind.SAVE, Kind.RESTORE, Kind.COMMENT):
            found |= _region_restore_reads(stmt)
            continue
        for node in names_in(stmt):
            if isinstance(node.ctx, ast.Load):
                found.add(node.id)
        stack = [stmt]
        while stack:  # markers nested in blocks, at any depth
            node = stack.pop()
            for field in ("body", "orelse"):
                for inner in getattr(node, field, None) or ():
                    if ir.kind_or_none(inner) is Kind.RESTORE:
                        found |= _region_restore_reads(inner)
                    elif isinstance(inner, ast.stmt):
                        stack.append(inner)
    return found


def names_live_in(stmts, live_out=()) -> set[str]:
    """The names ``stmts`` may read before assigning them (a liveness sweep
    backwards), plus ``live_out`` where the statements may leave it unset.

    Conservative: a plain ``x = ...`` kills ``x``; a ``for`` loop's target
    is assigned before each pass of its body (so the body's reads of it are
    not live in, its other reads are), but not if it runs no pass, so reads
    after the loop stay live; every other compound statement kills nothing.
    The tape of a called function holds only these names: a loop variable
    that the backward sweep's own loop assigns is not saved (it may never
    have been bound, when the forward loop ran no pass)."""
    live = set(live_out)
    for stmt in reversed(stmts):
        if type(stmt) is ast.Assign and all(isinstance(t, ast.Name) for t in stmt.targets):
            live -= {t.id for t in stmt.targets}
            live |= names_read([stmt])
        elif type(stmt) is ast.For and not stmt.orelse:
            targets = {n.id for n in names_in(stmt.target) if isinstance(n.ctx, ast.Store)}
            live |= names_loaded(stmt.iter) | (names_live_in(stmt.body) - targets)
        else:
            live |= names_read([stmt])
    return live


def mark_pure(stmts) -> None:
    """Generated adjoint assignments have no side effects (users' hook blocks
    may): the optimizer may drop those whose result nobody reads."""
    for stmt in stmts:
        if ir.get(stmt, "hook", False):
            continue
        if isinstance(stmt, ast.Assign):
            ir.annotate(stmt, pure=True)
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list):
                mark_pure(inner)
