"""Checkpointing in reverse mode: what the forward sweep keeps, and what the
backward sweep recomputes (docs/checkpointing.md).

Takes: statements of the normalized function reverse mode differentiates.

* A call ``z = g(...)`` marked by normalization as written
  ``tangent.checkpoint(g)(...)`` (the ``checkpoint`` annotation):
  ``CheckpointedCalls`` gives the forward sweep's statements (the arguments
  kept in a tuple, then g's plain primal) and the backward sweep's
  recomputation of g's tape from them before ``g_bwd``; the tuple is saved
  on the tape like any other variable.
* A loop written ``for t in tangent.checkpointed(range(...), snapshots=k)``
  (the ``checkpointed`` annotation), or, under ``grad(memory_limit=...)``, a
  range loop at the top of the entry function: ``CheckpointedLoops`` makes
  the user's loop body a step function ``step(t, *carried, *read_only) ->
  carried`` (compiled from the user's lines, ``step_function``), splits it
  into fwd/bwd like any user function, and replaces the loop by calls of the
  runtime driver (``runtime.checkpointed_loop`` in the forward sweep,
  ``runtime.checkpointed_loop_adjoint`` in the backward one), which follows
  the binomial schedule.

Soundness: a kept argument is held by reference, so it is copied when the
caller or g (or a function g calls) may write into it, or into a value it
may share memory with, before the backward sweep reads it
(``arguments_to_copy``). A checkpointed loop's snapshots are references to
the carried values, so a loop that writes into a value it does not assign
is refused (``loop_variables``); the step's own writes into its parameters
are refused when it is split, as for any user function.
"""

from __future__ import annotations

import ast
import builtins
import copy
import inspect
import linecache
import math
import os
import textwrap
import types
import weakref
from dataclasses import dataclass

from . import ir, rules, runtime, surgery
from .adjoints import ZERO
from .aliases import writes_in_place
from .astwalk import walk_list
from .errors import TangentSyntaxError
from .ir import Comment, Restore, Save, assign, call, name
from .rules.shape_values import Array
from .runtime.checkpointing import checkpointed_while
from .sharing import names_sharing_memory

_MUTATING_METHODS = {"append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse", "update",
                     "setdefault", "fill", "resize", "put", "itemset", "popitem", "add", "discard"}


def may_write_into_arguments(func, seen=None) -> bool:
    """Whether ``func`` (or a user function it calls) may write into any
    value in place; True when its source cannot be read."""
    seen = set() if seen is None else seen
    if func in seen:
        return False
    seen.add(func)
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return True
    namespace = dict(getattr(func, "__globals__", {}))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(node.ctx, (ast.Store, ast.Del)):
            return True
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATING_METHODS:
                return True
            if isinstance(node.func, ast.Name):
                callee = namespace.get(node.func.id)
                if isinstance(callee, types.FunctionType) and rules.lookup_adjoint(callee) is None \
                        and may_write_into_arguments(callee, seen):
                    return True
        if isinstance(node, ast.Call) and any(isinstance(a, ast.keyword) and a.arg == "out" for a in node.keywords):
            return True
    return False


def arguments_to_copy(tree: ast.FunctionDef, analysis, shapes, callee, atoms: list) -> set[str]:
    """The names among ``atoms`` (the call's arguments) whose values the
    forward sweep must copy to keep them until the backward sweep."""
    names = {a.id for a in atoms if isinstance(a, ast.Name)}
    if may_write_into_arguments(callee):
        return names
    if not writes_in_place(tree):
        return set()
    written = set()
    for node in walk_list(tree):
        if ir.is_setitem(node):
            written.add(ir.written_region(node)[0])
        elif isinstance(node, ast.Call) and ir.is_method(node) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in _MUTATING_METHODS and isinstance(node.func.value, ast.Name):
            written.add(node.func.value.id)
    return names & (written | names_sharing_memory(tree, analysis, shapes))


def keep_arguments(inputs: str, atoms: list, copied: set[str], copy_name: str) -> ast.stmt:
    """``inputs = (a, copy(b), ...)``: the arguments of a checkpointed call."""
    elts = [call(copy_name, name(a.id)) if isinstance(a, ast.Name) and a.id in copied else name(a.id)
            for a in atoms if isinstance(a, ast.Name)]
    return assign(inputs, ast.Tuple(elts=elts, ctx=ast.Load()))


def recompute(tape: str, fwd: str, inputs: str, args: list, keywords: list) -> ast.stmt:
    """``tape = g_fwd(inputs[0], ..., k=inputs[j])[1]``: g's tape, recomputed
    in the backward sweep from the kept arguments (constants as written)."""
    position = 0

    def kept(atom):
        nonlocal position
        if not isinstance(atom, ast.Name):
            return atom
        position += 1
        return ast.Subscript(value=name(inputs), slice=ast.Constant(value=position - 1), ctx=ast.Load())

    new_args = [kept(a) for a in args]
    new_keywords = [ast.keyword(arg=k.arg, value=kept(k.value)) for k in keywords]
    value = ast.Call(func=name(fwd), args=new_args, keywords=new_keywords)
    return assign(tape, ast.Subscript(value=value, slice=ast.Constant(value=1), ctx=ast.Load()))


class CheckpointedCalls:
    """Reverse mode's part for checkpointed calls (a mixin of
    ``reverse.ReverseMode``: uses its ``subroutines``, ``tape``, ``namer``,
    ``analysis``, ``shapes`` and ``session``)."""

    def checkpointed_call(self, stmt: ast.Assign, binding, depth: int) -> list[ast.stmt]:
        """``z = tangent.checkpoint(g)(...)``: ``inputs = (args...)`` (copies
        where they may be written into before the backward sweep) then the
        plain ``z = g(...)``; the tuple is saved like a variable."""
        sub = self.subroutines[id(stmt)]
        base = ir.callee(stmt.value).__name__.strip("_")
        sub.inputs = self.namer.fresh(f"_{base}_inputs")
        sub.call = stmt.value
        self.tape.define(sub.inputs, depth)
        atoms = list(binding.args) + [k.value for k in stmt.value.keywords]
        copied = arguments_to_copy(self.tree, self.analysis, self.shapes, binding.callee, atoms)
        copy_name = self.session.bind_global("copy_tangent", runtime.copy_tangent) if copied else ""
        keep = ast.copy_location(keep_arguments(sub.inputs, atoms, copied, copy_name), stmt)
        return [Save(self.tape.site(sub.inputs, stmt, depth)), keep, stmt]

    def subroutine_adjoint(self, stmt, dz) -> list[ast.stmt]:
        """A split call's ``g_bwd(tape, dz)``; for a checkpointed call the
        tape is recomputed first (``g_fwd`` from the kept arguments)."""
        code = super().subroutine_adjoint(stmt, dz)
        sub = self.subroutines[id(stmt)]
        if sub.inputs is None:
            return code
        args = list(sub.call.args)
        if ir.is_method(sub.call):
            args = [sub.call.func.value] + args
        return [recompute(sub.tape, sub.fwd, sub.inputs, args, sub.call.keywords)] + code


# ------------------------------------------------------------ checkpointed loops
@dataclass
class LoopPlan:
    """A loop written ``for t in tangent.checkpointed(range(...), snapshots=k)``
    as a step function ``step(t, *carried, *readonly) -> carried`` (one
    value, or a tuple of them), split into ``fwd``/``bwd``."""

    step: str  # the step function's global name
    fwd: str
    bwd: str
    carried: list  # the loop-carried variables
    readonly: list  # the variables the body reads and does not assign
    active: list  # the parameters (carried, then read-only ones) with adjoints
    record: str  # the variable holding the snapshots between the sweeps


def _loads(node) -> set[str]:
    out = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    for n in ast.walk(node):
        if isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name):
            out.add(n.target.id)
    return out


def _stores(node) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del))}


def upward_exposed(stmts, defined=frozenset()) -> tuple[set[str], set[str]]:
    """(names ``stmts`` may read before assigning them, names they certainly
    assign)."""
    defined, exposed = set(defined), set()
    for stmt in stmts:
        if isinstance(stmt, ast.If):
            exposed |= _loads(stmt.test) - defined
            e1, d1 = upward_exposed(stmt.body, defined)
            e2, d2 = upward_exposed(stmt.orelse, defined)
            exposed |= e1 | e2
            defined |= d1 & d2
        elif isinstance(stmt, ast.For):  # (its body may not run: it defines nothing for certain)
            exposed |= _loads(stmt.iter) - defined
            exposed |= upward_exposed(stmt.body, defined | _stores(stmt.target))[0]
        elif isinstance(stmt, ast.While):
            exposed |= _loads(stmt.test) - defined
            exposed |= upward_exposed(stmt.body, defined)[0]
        elif isinstance(stmt, ast.With):
            for item in stmt.items:
                exposed |= _loads(item.context_expr) - defined
            e, d = upward_exposed(stmt.body, defined)
            exposed |= e
            defined |= d
        else:
            exposed |= _loads(stmt) - defined
            defined |= _stores(stmt)
    return exposed, defined


def user_loop(parsed, stmt: ast.For | ast.While, written: bool) -> ast.For | ast.While | None:
    """The user's ``for`` statement (in ``parsed.tree``) ``stmt`` came from:
    a checkpointed loop (``written``) or a range loop (None if there is none
    or more than one at that line)."""
    wanted = runtime.checkpointed if written else builtins.range
    kind = type(stmt)
    found = [node for node in ast.walk(parsed.tree) if isinstance(node, kind) and node.lineno == stmt.lineno
             and isinstance(head := node.iter if kind is ast.For else node.test, ast.Call)
             and parsed.resolve(head.func) is wanted]
    if written and len(found) != 1:
        raise AssertionError(f"no checkpointed loop at line {stmt.lineno}")
    return found[0] if len(found) == 1 else None


def loop_variables(parsed, loop: ast.For, error) -> tuple[list[str], list[str]]:
    """(carried, read-only) variables of the user's checkpointed ``loop``."""
    body_nodes = {id(n) for s in loop.body for n in ast.walk(s)}
    outside = {n.id for n in ast.walk(parsed.tree) if id(n) not in body_nodes
               and isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    target = loop.target.id if isinstance(loop, ast.For) else None
    order: list[str] = []
    for s in loop.body:
        for n in ast.walk(s):
            if isinstance(n, ast.Name) and n.id not in order:
                order.append(n.id)
            if isinstance(n, (ast.FunctionDef, ast.Lambda, ast.ClassDef, ast.Return, ast.Global, ast.Nonlocal)):
                raise error(loop, "a checkpointed loop's body cannot define functions or classes, or return",
                            "move them out of the loop")
            written = n.value if isinstance(n, (ast.Subscript, ast.Attribute)) and isinstance(n.ctx, ast.Store) \
                else n.func.value if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) \
                and n.func.attr in _MUTATING_METHODS else None
            if isinstance(written, ast.Name) and written.id in parsed.local_names and \
                    not any(written.id in _stores(b) for b in loop.body):
                raise error(n, f"a checkpointed loop cannot write into {written.id!r}, which it does not assign",
                            "carry the value from step to step instead (assign a new value each step), "
                            "or use a plain range loop")
    hooks = [n for s in loop.body for n in ast.walk(s) if isinstance(n, ast.With) and n.items
             and isinstance(n.items[0].context_expr, ast.Call)
             and parsed.resolve(n.items[0].context_expr.func) is surgery.insert_grad_of]
    in_hooks = set().union(*(_stores(h) for h in hooks))  # adjoints, in the backward pass
    assigned = set().union(*(_stores(s) for s in loop.body)) - in_hooks
    exposed, _ = upward_exposed(loop.body)
    if isinstance(loop, ast.While):  # (the condition reads the state before each step and after the last)
        condition = loop.test.args[0]
        exposed |= _loads(condition)
        order += [n.id for n in ast.walk(condition) if isinstance(n, ast.Name) and n.id not in order]
    if target in outside:
        raise error(loop, f"the loop variable {target!r} of a checkpointed loop is read after the loop",
                    "read it only inside the loop")
    carried = [n for n in order if n in assigned and n != target and (n in exposed or n in outside)]
    readonly = [n for n in order if n in parsed.local_names and n not in assigned | in_hooks and n != target]
    return carried, readonly


def step_function(parsed, loop: ast.For | ast.While, carried, readonly):
    """The body of the user's ``loop`` as a function ``<f>_step(t, *carried,
    *readonly)`` returning the carried values (for a ``while`` loop, the
    pair of it and ``<f>_condition(*carried, *readonly)``): compiled from the user's own
    lines (the same line numbers, in a source registered with linecache
    under a name that says where it comes from), with the globals and the
    closure of the user's function."""
    func = parsed.func
    origin = parsed.origin
    first, last = loop.body[0].lineno, loop.body[-1].end_lineno
    fname = f"{parsed.name}_step"
    if first == loop.lineno:  # `for t in ...: body` on one line
        body = [ast.unparse(s) for s in loop.body]
    else:
        body = [line if line.strip() and not line.strip().startswith("#") else ""
                for line in origin.lines[first - 1:last]]
        body = textwrap.dedent("\n".join(body)).split("\n")
    freevars = func.__code__.co_freevars
    results = carried[0] if len(carried) == 1 else "(" + ", ".join(carried) + ",)"
    target = loop.target.id if isinstance(loop, ast.For) else "_" if "_" not in carried + readonly else "_step"
    lines = [""] * (loop.lineno - 2) + [
        f"def _make_{fname}({', '.join(freevars)}):",
        f"    def {fname}({', '.join([target] + carried + readonly)}):",
        *("        " + line if line else "" for line in body),
        f"        return {results}",
    ]
    if isinstance(loop, ast.While):  # and the condition, a function of the state: (step, condition)
        lines += [f"    def {parsed.name}_condition({', '.join(carried + readonly)}):",
                  f"        return {ast.unparse(loop.test.args[0])}",
                  f"    return {fname}, {parsed.name}_condition"]
    else:
        lines.append(f"    return {fname}")
    source = "\n".join(lines) + "\n"
    directory, base = os.path.split(origin.filename)
    filename = os.path.join(directory, f"<checkpointed loop of {parsed.name} at line {loop.lineno}>", base)
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    made: dict = {}
    exec(compile(source, filename, "exec"), func.__globals__, made)
    cells = []
    for cell in func.__closure__ or ():
        try:
            cells.append(cell.cell_contents)
        except ValueError:
            cells.append(None)
    step = made[f"_make_{fname}"](*cells)
    weakref.finalize(step if isinstance(loop, ast.For) else step[0], linecache.cache.pop, filename, None)
    return step


class CheckpointedLoops:
    """Reverse mode's part for checkpointed loops (a mixin of
    ``reverse.ReverseMode``, like ``CheckpointedCalls``)."""

    def init_checkpointing(self, session) -> None:
        """The loops planned so far; the memory limit (bytes) for the loops
        of the entry function (made first: a subroutine is split later)."""
        self.checkpointed_loops: dict = {}  # id(loop) -> LoopPlan
        self.memory_limit = None if session.splits else getattr(session, "memory_limit", None)

    def checkpointed_loop(self, stmt: ast.For, depth: int) -> list[ast.stmt] | None:
        """The forward sweep of a checkpointed loop (written so, or a range
        loop of the entry function under a memory limit): one call of the
        driver, ``c..., record = checkpointed_loop(step, range, k, (c...,),
        (r...,))``; None when it stays a plain loop (nothing in it needs an
        adjoint; under a memory limit, a loop that cannot be checkpointed)."""
        written = ir.has(stmt, "checkpointed")
        if not written and (self.memory_limit is None or depth or ir.get(stmt, "indexed", False)):
            return None
        loop = user_loop(self.parsed, stmt, written)
        if loop is None:
            return None
        try:
            carried, readonly = loop_variables(self.parsed, loop,
                                               lambda node, m, h: self.error(TangentSyntaxError, node, m, h))
        except TangentSyntaxError:
            if written:
                raise
            return None
        statements = [stmt] + [n for n in walk_list(stmt) if isinstance(n, ast.stmt)]
        active = [p for p in carried + readonly if any(self.analysis.is_varied(p, s) for s in statements)]
        if not active or not carried:
            return None
        for var in carried:
            if var not in self.analysis.defined_before(stmt):
                if not written:
                    return None
                raise self.error(TangentSyntaxError, stmt,
                                 f"{var!r} is carried from step to step of this checkpointed loop but may not be "
                                 "assigned before it", f"assign {var} before the loop")
        step = step_function(self.parsed, loop, carried, readonly)
        condition = None
        if isinstance(stmt, ast.While):
            step, condition = step
            condition = self.session.bind_global(condition.__name__, condition)
        static = {p: self.parsed.static[p] for p in readonly if p in self.parsed.static}
        types = {p: self.parsed.types[p] for p in readonly if p in self.parsed.types}
        fwd, bwd = self.session.split(step, tuple(active), self.origin, stmt, static=static, types=types)
        record = self.namer.fresh(f"_{step.__name__}_snapshots")
        plan = LoopPlan(self.session.bind_global(step.__name__, step), fwd, bwd, carried, readonly, active, record)
        self.checkpointed_loops[id(stmt)] = plan
        self.tape.define(record, depth)
        if written:
            snapshots, what = ir.get(stmt, "checkpointed"), "binomial checkpointing of the loop"
        else:
            snapshots, what = self.budget_snapshots(carried, [r for r in readonly if r in active])
        if condition is None:
            driver = self.session.bind_global("checkpointed_loop", runtime.checkpointed_loop)
            head = copy.deepcopy(stmt.iter)
        else:
            what = "checkpointing of the while loop: snapshots at a doubling stride, the trip count recorded"
            driver, head = self.session.bind_global("checkpointed_while", checkpointed_while), name(condition)
        value = call(driver, name(plan.step), head, copy.deepcopy(snapshots),
                     ast.Tuple(elts=[name(c) for c in carried], ctx=ast.Load()),
                     ast.Tuple(elts=[name(r) for r in readonly], ctx=ast.Load()))
        targets = ast.Tuple(elts=[ast.Name(id=c, ctx=ast.Store()) for c in carried + [record]], ctx=ast.Store())
        saves = [Save(self.tape.site(v, stmt, depth)) for v in carried + [record]]
        return saves + [self.loop_comment(stmt, what),
                        ast.copy_location(ast.Assign(targets=[targets], value=value), stmt)]

    def budget_snapshots(self, carried: list[str], readonly: list[str]) -> tuple[ast.expr, str]:
        """(snapshots, comment) for a loop under the memory limit, counted
        from the shapes of the first call's values (8 bytes an element): 80%
        of what the limit leaves once the adjoints of the read-only values
        (three arrays each: the sum, a step's part, its making) and one
        step's tape and adjoint (counted as 24 states) are taken off. When the shapes are not
        known, at run time, half the limit."""
        limit = f"memory_limit={self.memory_limit / 1e6:g} MB"

        def shape(v):  # (a carried parameter shape inference does not follow: its shape on entry)
            for known in (self.shapes.get(v), (self.arguments.get(v) or (None, None))[1]):
                if isinstance(known, Array):
                    known = known.shape
                if isinstance(known, tuple) and all(isinstance(n, int) for n in known):
                    return known
            return None

        shapes, others = [shape(c) for c in carried], [shape(r) for r in readonly]
        if not self.arguments or any(s is None for s in shapes + others):
            budget = self.memory_limit // 2
            value = call(self.session.bind_global("snapshots_within", runtime.snapshots_within),
                         ast.Constant(value=budget), ast.Tuple(elts=[name(c) for c in carried], ctx=ast.Load()))
            return value, f"{limit}: binomial checkpointing, snapshots of the state chosen at run time to fit {budget} bytes"
        each = 64 + sum(8 * math.prod(s) + 112 for s in shapes)
        reserved = 24 * each + sum(3 * (8 * math.prod(s) + 112) for s in others)
        count = max(1, int(0.8 * (self.memory_limit - reserved)) // each)
        state = ", ".join(f"{c} {s}" for c, s in zip(carried, shapes))
        return ast.Constant(value=count), (f"{limit}: binomial checkpointing with at most {count} snapshots of the "
                                           f"state ({state}: {each} bytes each), 80% of the limit less "
                                           f"{reserved} bytes for one step"
                                           + (f" and the adjoints of {', '.join(readonly)}" if readonly else ""))

    def loop_comment(self, stmt: ast.For, what: str) -> Comment:
        """``# file:line: for t in ...: <what>`` above a driver call."""
        where = f"{os.path.basename(self.origin.filename)}:{stmt.lineno}"
        return Comment(f"{where}: {self.origin.text(stmt.lineno)}  ({what})")

    def checkpointed_loop_adjoint(self, stmt: ast.For, state: dict) -> list[ast.stmt]:
        """``dc..., dr... = checkpointed_loop_adjoint(record, fwd, bwd, positions,
        (dc...,))``: the loop reversed by the driver, the adjoints of the
        carried values before it and those of the read-only ones summed."""
        plan = self.checkpointed_loops[id(stmt)]
        carried_active = [c for c in plan.carried if c in plan.active]
        restores = [Restore(self.tape.site_of(v, stmt)) for v in reversed(plan.carried + [plan.record])]
        if all(state.get(c, ZERO) == ZERO for c in carried_active):
            for c in plan.carried:
                state.pop(c, None)
            return restores
        seeds = [name(self.d(c)) if state.get(c, ZERO) != ZERO else ast.Constant(value=None) for c in carried_active]
        params = plan.carried + plan.readonly
        positions = ast.Tuple(elts=[ast.Constant(value=params.index(p)) for p in plan.active], ctx=ast.Load())
        parts = [self.namer.fresh("_d" + p) for p in plan.active]
        driver = self.session.bind_global("checkpointed_loop_adjoint", runtime.checkpointed_loop_adjoint)
        value = call(driver, name(plan.record), name(plan.fwd), name(plan.bwd), positions,
                     ast.Tuple(elts=seeds, ctx=ast.Load()))
        targets = ast.Tuple(elts=[ast.Name(id=p, ctx=ast.Store()) for p in parts], ctx=ast.Store())
        code: list[ast.stmt] = [self.loop_comment(stmt, "its steps reversed, recomputed from the snapshots"),
                                ast.copy_location(ast.Assign(targets=[targets], value=value), stmt)]
        for c in plan.carried:
            state.pop(c, None)
        for p, part in zip(plan.active, parts):
            code += self.states.accumulate(p, name(part), state)
        return code + restores
