"""Reverse mode: a primal sweep followed by an adjoint sweep.

Takes: a normalized function (``normalize.normalize``, A-normal form), the
names of the parameters to differentiate, the session (``transform.Session``:
``bind_global``, ``split`` for calls of the user's own functions) and, when
specialising, descriptions of the example arguments.

Gives: ``ReverseMode.run()``, the two sweeps (``ReverseSweeps``) with
``Save``/``Restore`` markers in them, then ``ReverseMode.lower_markers()``,
the sweeps with the markers turned into stack pushes and pops where the
adjoint reads the restored value (``tape.Tape``), or into nothing. The
adjoint's top-level assignments that nothing after them reads are left out
(``drop_dead_tail``).

The primal sweep is the normalized function with ``Save`` markers before the
assignments whose old values the adjoint sweep may need. The adjoint sweep
visits statements in reverse; after the adjoint of an assignment a ``Restore``
marker puts the old value back, so that while the adjoint of a statement runs
every variable holds the value it had right after that statement ran. Loops
are reversed (``for i in reversed(r)``, ``while`` by an iteration count) and
branches re-test the recorded condition.

Adjoints are tracked statically as zero, nonzero or maybe-zero (``None`` at
run time, see ``adjoints``): the first contribution assigns, later ones add,
and statements whose result has a zero adjoint produce no code at all. The
adjoint of an assignment from a call is in ``assign_adjoints``, those of
list and region writes in ``container_adjoints``.
"""

from __future__ import annotations

import ast
import copy
import inspect
import os
from dataclasses import dataclass
from typing import NamedTuple

from . import ir, runtime
from .adjoints import NONZERO, ORDER, AdjointStates, merge
from .assign_adjoints import AssignAdjoints
from .astwalk import names_in, walk_list
from .calls import active_user_call, argument_descriptions, call_result
from .cfg import names_loaded
from .checkpointing import CheckpointedCalls, CheckpointedLoops
from .container_adjoints import ContainerAdjoints
from .container_reads import assumed_containers
from .errors import TangentSyntaxError
from .frontend import ParsedFunction
from .ir import Comment, Kind, Restore, Save, assign, call, name, store
from .kinds import item_kinds
from .naming import Namer
from .restores import refuse_in_gradient, restores_as_writes, tape_operations, undone_writes
from .shape_variants import numbers_to_math
from .shapes import infer_shapes
from .sharing import names_sharing_memory
from .tape import Lowered, Tape, mark_pure, names_read


@dataclass
class Subroutine:
    """A call ``z = g(...)`` of a user function g with an active argument,
    split into ``fwd`` (result and tape, kept in ``tape``) and ``bwd``."""

    fwd: str
    bwd: str
    bindings: dict  # g's parameter -> the atom passed
    active: list  # g's active parameters
    tape: str
    # written `tangent.checkpoint(g)(...)`: the tuple of the arguments kept
    # (saved instead of the tape, which the backward sweep recomputes)
    inputs: str | None = None
    call: ast.Call | None = None

    @property
    def saved(self) -> str:
        """The variable the forward sweep keeps for the backward sweep."""
        return self.inputs or self.tape


class ReverseSweeps(NamedTuple):
    """What ``ReverseMode.run`` gives: both sweeps (with markers), the
    function's result atom, {wrt parameter: adjoint name}, the name of the
    seed (the result's adjoint, a parameter of the generated function)."""

    primal: list[ast.stmt]
    adjoint: list[ast.stmt]
    result: ast.expr
    grads: dict[str, str]
    seed: str


class ReverseMode(CheckpointedCalls, CheckpointedLoops, AssignAdjoints, ContainerAdjoints):
    """Differentiates one normalized function in reverse mode.

    ``session`` provides ``bind_global(name, value) -> name`` and
    ``split(func, active_params, origin, node) -> (fwd_name, bwd_name)`` for
    calls of the user's own functions.
    """

    def __init__(self, session, parsed: ParsedFunction, tree: ast.FunctionDef, wrt: list[str], namer: Namer,
                 check_finite: bool = False, arguments: dict | None = None):
        kinds = {k: {"array": "float", "float": "float", "int": "int"}.get(v[0]) for k, v in (arguments or {}).items() if v}
        kinds.update(item_kinds(assumed_containers(tree, arguments)))  # c['decay'] of a dict of floats: a float
        # reverse over a gradient: its region restores are writes like any other (see restores_as_writes)
        self.restores = restores_as_writes(tree) if parsed.origin.generated else {}
        self.undone_writes = undone_writes(tree, self.restores)  # (not checked for aliases, see there)
        tapes = getattr(inspect.unwrap(parsed.func), "tangent_tapes", ()) if parsed.origin.generated else ()
        self.tape_operations = tape_operations(tree, tapes)
        super().__init__(session, parsed, tree, wrt, namer, argument_kinds=kinds)
        self.check_finite = check_finite
        # specialisation: the arguments' descriptions (shapes.describe_argument) give shapes
        self.arguments = {k: v for k, v in (arguments or {}).items() if v is not None}
        self.shapes = infer_shapes(tree, {k: v[1] for k, v in self.arguments.items()}, call_result, session.namespace) \
            if self.arguments else {}
        if self.arguments:
            numbers_to_math(tree, self.shapes, session.bind_global)  # np.sin(x) of a float: math.sin
        self.adjoint_names = self.derivative_names
        numbers = [k for k, v in self.arguments.items() if v[0] in ("float", "int") and self.shapes.get(k) == ()]
        self.states = AdjointStates(self.derivative_names, namer, session.bind_global, numbers)
        self.tape = Tape(tree, namer.fresh("stack"), namer.fresh("inactive_stack"))
        self.stack_name = self.tape.stack_name
        self.counters: dict[int, str] = {}
        self.subroutines: dict[int, Subroutine] = {}
        self.init_checkpointing(session)
        self.variables = len({n.id for n in names_in(tree)} | set(self.tape.def_count))
        self.after_adjoint: set[str] = set()  # names read after the adjoint sweep (set by run)
        self.copied_for_regions: tuple | None = None  # (the copy of the result, its variable), see keep_result
        self._adopt_hook_names(tree)

    def _adopt_hook_names(self, tree):
        """``with insert_grad_of(h) as dh`` names h's adjoint ``dh`` (if nothing else uses that name)."""
        hooks = [n for n in walk_list(tree) if ir.kind_or_none(n) is Kind.HOOK]
        inside = {id(n) for h in hooks for b in h.body for n in walk_list(b)}
        used_outside = {n.id for n in names_in(tree) if id(n) not in inside}
        for hook in hooks:
            if hook.alias in used_outside:
                raise self.error(TangentSyntaxError, hook,
                                 f"the name {hook.alias!r} of the adjoint is also a variable of the function",
                                 "give the adjoint a name used nowhere else, e.g. `as d" + hook.var + "`")
            if hook.var not in self.adjoint_names:
                self.adjoint_names[hook.var] = hook.alias

    @property
    def discard(self) -> str:
        """The name the adjoint binds values it throws away to: ``_``, unless
        the function has a variable of that name (a loop's ``for _, v in
        ...``, which the adjoint would overwrite)."""
        if getattr(self, "_discard", None) is None:
            self._discard = self.namer.fresh("_")
        return self._discard

    def refuse_unsupported(self, tree: ast.FunctionDef) -> None:
        """Refuse what reverse mode over a gradient cannot follow (see
        ``restores.refuse_in_gradient``)."""
        refuse_in_gradient(tree, self.analysis, self.error)

    # ------------------------------------------------------------ primal
    def primal(self, stmts, depth=0) -> list[ast.stmt]:
        """The primal sweep of ``stmts``: each definition preceded by a Save
        of its variable's old value, loops counting their iterations."""
        tape = self.tape
        out = []
        for stmt in stmts:
            match ir.kind_or_none(stmt):
                case Kind.ASSIGN | Kind.POP:
                    out.append(Save(tape.site(stmt.targets[0].id, stmt, depth)))
                    out += self.primal_call(stmt, depth)
                case Kind.HOOK:
                    continue  # runs in the backward pass only
                case Kind.SETITEM:
                    var, _, index = ir.written_region(stmt)
                    out.append(Save(tape.site(var, stmt, depth, index=index)))
                    out.append(self.restores.get(id(stmt), stmt))
                case Kind.IF:
                    out.append(ast.copy_location(ast.If(test=stmt.test, body=self.primal(stmt.body, depth),
                                                        orelse=self.primal(stmt.orelse, depth)), stmt))
                case Kind.FOR | Kind.WHILE if (loop := self.checkpointed_loop(stmt, depth)):
                    out += loop
                case Kind.FOR:
                    out.append(Save(tape.site(stmt.target.id, stmt, depth)))
                    out.append(ast.copy_location(ast.For(target=stmt.target, iter=stmt.iter,
                                                         body=self.primal(stmt.body, depth + 1), orelse=[]), stmt))
                case Kind.WHILE:
                    out += self.primal_while(stmt, depth)
                case _:
                    out.append(stmt)
        return out

    def primal_while(self, stmt: ast.While, depth: int) -> list[ast.stmt]:
        """A while loop of the primal sweep, counting its iterations (the
        adjoint sweep runs its body that many times)."""
        tape = self.tape
        counter = self.namer.fresh("_iterations")
        self.counters[id(stmt)] = counter
        tape.define(counter, depth)
        save = Save(tape.site(counter, stmt, depth))  # (sites are made in statement order)
        start = ast.copy_location(assign(counter, ast.Constant(value=0)), stmt)
        increment = assign(counter, ast.BinOp(left=name(counter), op=ast.Add(), right=ast.Constant(value=1)))
        body = self.primal(stmt.body, depth + 1) + [ast.copy_location(increment, stmt)]
        return [save, start, ast.copy_location(ast.While(test=stmt.test, body=body, orelse=[]), stmt)]

    def primal_call(self, stmt: ast.Assign, depth: int) -> list[ast.stmt]:
        """``z = g(...)`` of a user function g with an active argument becomes
        ``z, tape = g_fwd(...)`` (the tape saved like z); others stay."""
        binding = active_user_call(self, stmt)
        if binding is None:
            return [stmt]
        fwd, bwd = self.session.split(binding.callee, tuple(binding.active), self.origin, stmt,
                                      static=binding.static, types=binding.types,
                                      arguments=argument_descriptions(binding, self.shapes.values) if self.arguments else None)
        target = stmt.targets[0].id
        callee_name = ir.callee(stmt.value).__name__
        callee_name = callee_name if callee_name.isidentifier() else fwd.rsplit("_fwd", 1)[0]  # (a lambda's)
        tape = self.namer.fresh(f"_{callee_name.strip('_')}_tape")
        self.subroutines[id(stmt)] = Subroutine(fwd, bwd, binding.bindings, binding.active, tape)
        if ir.get(stmt.value, "checkpoint", False):
            return self.checkpointed_call(stmt, binding, depth)
        self.tape.define(tape, depth)
        value = ast.Call(func=name(fwd), args=copy.deepcopy(binding.args), keywords=copy.deepcopy(stmt.value.keywords))
        new = ast.Assign(targets=[ast.Tuple(elts=[store(target), store(tape)], ctx=ast.Store())], value=value)
        return [Save(self.tape.site(tape, stmt, depth)), ast.copy_location(new, stmt)]

    # ----------------------------------------------------------- adjoint
    def adjoint(self, stmts, state: dict) -> tuple[list[ast.stmt], dict]:
        """The adjoint sweep of ``stmts`` (visited backwards) from the
        adjoint state after them; returns the code and the state before."""
        state = dict(state)
        out: list[ast.stmt] = []
        last_line = None
        for stmt in reversed(stmts):
            code, state = self.adjoint_statement(stmt, state)
            if self.check_finite and isinstance(stmt, ast.Assign):
                code = self.finite_checks(stmt, code)
            if any(ir.kind_or_none(c) not in (Kind.RESTORE, Kind.COMMENT) for c in code):
                line = getattr(stmt, "lineno", None)
                if line and line != last_line and not isinstance(stmt, (ast.For, ast.While)) and not (
                        # an `if` on its first statement's line (a guard that control-flow
                        # lowering made, or a one-line `if`): that statement's comment names it
                        isinstance(stmt, ast.If) and stmt.body and getattr(stmt.body[0], "lineno", None) == line):
                    text = self.origin.text(line)
                    where = f"{os.path.basename(self.origin.filename)}:{line}"
                    out.append(Comment(f"{where}: {text}" if text else where))
                    last_line = line
            out.extend(code)
        return out, state

    def adjoint_statement(self, stmt, state):
        """(adjoint code, state before) of one statement."""
        match ir.kind_or_none(stmt):
            case Kind.POP:
                return self.adjoint_pop(stmt, state), state
            case Kind.ASSIGN:
                target = stmt.targets[0].id
                code = self.adjoint_assign(stmt, target, state)
                # pops in the reverse order of the pushes: the tape was saved last
                if id(stmt) in self.subroutines:
                    code.append(Restore(self.tape.site_of(self.subroutines[id(stmt)].saved, stmt)))
                code.append(Restore(self.tape.site_of(target, stmt)))
                return code, state
            case Kind.IF:
                return self.adjoint_if(stmt, state)
            case Kind.FOR | Kind.WHILE if id(stmt) in self.checkpointed_loops:  # (see checkpointing.py)
                return self.checkpointed_loop_adjoint(stmt, state), state
            case Kind.FOR | Kind.WHILE:
                return self.adjoint_loop(stmt, state)
            case Kind.HOOK:
                return self.grad_hook(stmt, state), state
            case Kind.SETITEM:
                return self.adjoint_setitem(stmt, state), state
            case Kind.APPEND:
                return self.adjoint_append(stmt, state), state
        return [], state

    def adjoint_if(self, stmt: ast.If, state: dict):
        """Both branches' adjoints, brought to the state where they meet."""
        body, s1 = self.adjoint(stmt.body, state)
        orelse, s2 = self.adjoint(stmt.orelse, state)
        merged = merge([s1, s2], self.analysis.defined_before(stmt))
        body += self.states.transition(s1, merged)
        orelse += self.states.transition(s2, merged)
        new = ast.If(test=copy.deepcopy(stmt.test), body=body or [ast.Pass()], orelse=orelse)
        return [ast.copy_location(new, stmt)], merged

    def adjoint_loop(self, stmt: ast.For | ast.While, state: dict):
        """The loop run backwards, from a head state that both the state
        after the loop and the state after a (backward) iteration reach.

        The head is found by iteration: ``merge`` gives at least each of its
        inputs in the order ``adjoints.ORDER``, so the head only rises, and
        each variable can rise ``len(ORDER) - 1`` times at most: that many
        rounds per variable, plus one, always suffice (the assertion says so)."""
        defined = self.analysis.defined_before(stmt)
        head = dict(state)
        for _ in range((len(ORDER) - 1) * self.variables + 1):
            body, back = self.adjoint(stmt.body, head)
            new_head = merge([head, back], defined)
            if new_head == head:
                break
            head = new_head
        else:
            raise AssertionError(f"the adjoint states of the loop at line {stmt.lineno} did not converge")
        body += self.states.transition(back, head)
        before = self.states.transition(state, head)
        if isinstance(stmt, ast.For):
            reversed_iter = call("reversed", copy.deepcopy(stmt.iter))
            loop = ast.For(target=store(stmt.target.id), iter=reversed_iter, body=body, orelse=[])
            restore = Restore(self.tape.site_of(stmt.target.id, stmt))
        else:
            counter = self.counters[id(stmt)]
            loop = ast.For(target=store(self.discard), iter=call("range", name(counter)), body=body, orelse=[])
            restore = Restore(self.tape.site_of(counter, stmt))
        # Even without adjoint code the loop stays for the pops of its
        # saves (empty loops are removed once the markers are lowered).
        return before + [ast.copy_location(loop, stmt), restore], head

    # ------------------------------------------------------------ driver
    def run(self) -> ReverseSweeps:
        """Both sweeps of the function, markers still in them."""
        body = self.tree.body
        ret = body[-1]
        stmts = body[:-1]
        primal = self.primal(stmts)
        result = ret.value
        state: dict = {}
        if isinstance(result, ast.Name) and self.analysis.is_varied(result.id, ret):
            seed = self.d(result.id)
            state[result.id] = NONZERO
        else:
            seed = self.namer.fresh("dresult")
        adjoint, state = self.adjoint(stmts, state)
        mark_pure(adjoint)
        for param in self.wrt:
            adjoint += self.states.make_nonzero(param, state)
        grads = {p: self.d(p) for p in self.wrt}
        result = self.keep_result(primal, result)
        self.after_adjoint = set(grads.values()) | {n.id for n in names_in(result)}
        adjoint = drop_dead_tail(adjoint, self.after_adjoint)
        return ReverseSweeps(primal, adjoint, result, grads, seed)

    def keep_result(self, primal: list[ast.stmt], result: ast.expr) -> ast.expr:
        """The result atom to return after the backward pass (preserve_result):
        a copy taken at the end of the primal sweep when that pass may give
        the result's variable an older value (it is defined more than once)
        or change its object in place (regions restored, appends undone).
        The optimizer drops the copy where nothing returns it."""
        if not isinstance(result, ast.Name):
            return result
        var = result.id
        in_place = any(site.name == var and site.index is not None for site in self.tape.sites) or any(
            isinstance(n, ast.Call) and ir.callee(n) in (list.append, list.pop)
            and isinstance(n.func, ast.Attribute) and isinstance(n.func.value, ast.Name) and n.func.value.id == var
            for n in walk_list(self.tree))
        if not in_place and self.tape.def_count[var] <= 1:
            return result
        kept = self.namer.fresh("_" + var.lstrip("_") + "_value")
        value: ast.expr = name(var)
        if in_place:
            value = call(self.session.bind_global("copy_tangent", runtime.copy_tangent), value)
            ir.annotate(value, pure_call=True)  # a fresh copy: dropped when unread
        primal.append(assign(kept, value))
        if in_place and self.tape.def_count[var] <= 1 and not any(
                isinstance(n, ast.Call) and ir.callee(n) in (list.append, list.pop)
                for n in walk_list(self.tree)):
            self.copied_for_regions = (primal[-1], var)  # no copy if no region is restored (lower_markers)
        if var in self.shapes:
            self.shapes[kept] = self.shapes[var]
        return name(kept)

    def lower_markers(self, primal, adjoint, live_out=()) -> Lowered:
        """Turn Save/Restore markers into stack pushes and pops where the
        adjoint reads the variable after restoring it (``Tape.lower``).
        Returns (primal, adjoint, names to initialise to None, uses_stack)."""
        # a name of kind "float" (numbers and arrays, never a sequence) that
        # the function writes into holds an array there; one that may share
        # memory with another variable (a view v = y[:2]) is not one of these:
        # reads of v see y's restored values
        arrays = {n for n, k in ir.get(self.tree, "kinds", {}).items() if k == "float"}
        written = {site.name for site in self.tape.sites if site.index is not None}
        arrays &= written  # (only these matter: the alias classes are found only if there are any)
        if arrays:
            arrays -= names_sharing_memory(self.tree, self.analysis, self.shapes, arrays)
        lowered = self.tape.lower(primal, adjoint, self.analysis, self.wrt, self.session.bind_global,
                                  live_out=live_out, keep=self.after_adjoint, arrays=arrays)
        if self.copied_for_regions is not None:
            stmt, var = self.copied_for_regions
            if not any(site.name == var and site.index is not None for site in self.tape.lowered):
                stmt.value = name(var)  # the backward pass leaves the result's object as it is
        return lowered


def drop_dead_tail(adjoint: list[ast.stmt], live_after: set[str]) -> list[ast.stmt]:
    """``adjoint`` without the generated assignments of its top level that
    nothing after them reads (``live_after``: what is read after the
    adjoint), e.g. the adjoint of an array zeroed where its first write is
    undone, when the array was made from no active value. One backward
    liveness sweep: a compound statement or marker keeps everything it may
    read alive and kills nothing; a dropped statement reads nothing."""
    live = set(live_after)
    out: list[ast.stmt] = []
    for stmt in reversed(adjoint):
        if isinstance(stmt, ast.Assign) and ir.get(stmt, "pure", False) and all(
                isinstance(t, ast.Name) for t in stmt.targets):
            stored = {t.id for t in stmt.targets}
            if not stored & live:
                continue
            live -= stored
            live |= names_loaded(stmt.value)
        else:
            live |= names_read([stmt])
        out.append(stmt)
    out.reverse()
    return out


__all__ = ["ReverseMode", "ReverseSweeps", "names_loaded", "names_read"]
