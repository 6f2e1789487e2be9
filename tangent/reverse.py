"""Reverse mode: a primal sweep followed by an adjoint sweep.

The primal sweep is the normalized function with ``Save`` markers before the
assignments whose old values the adjoint sweep may need. The adjoint sweep
visits statements in reverse; after the adjoint of an assignment a ``Restore``
marker puts the old value back, so that while the adjoint of a statement runs
every variable holds the value it had right after that statement ran. Loops
are reversed (``for i in reversed(r)``, ``while`` by an iteration count) and
branches re-test the recorded condition. Which markers become real stack
pushes and pops is decided at the end, from the names the adjoint code reads.

Adjoints are tracked statically as zero, nonzero or maybe-zero (``None`` at
run time): the first contribution assigns, later ones add, and statements
whose result has a zero adjoint produce no code at all.
"""

from __future__ import annotations

import ast
import copy
import os
from collections import Counter

import numpy as np

from . import rules, runtime
from .analysis import (
    active_user_call,
    infer_shapes,
    is_setitem,
    names_loaded,
    primitive_of,
    written_region,
)
from .astwalk import names_in, walk_list
from .differentiator import Differentiator
from .errors import NoDerivativeError, TangentSyntaxError
from .frontend import UNRESOLVED, ParsedFunction
from .naming import Namer
from .normalize import GradHook
from .templates import Accumulate, instantiate

ZERO, NONZERO, MAYBE = "zero", "nonzero", "maybe"


class Site:
    """One place where a variable is (re)defined, whose old value may be saved."""

    def __init__(self, name: str, stmt: ast.AST, in_loop: bool, index: ast.expr | None = None):
        self.name = name
        self.stmt = stmt
        self.in_loop = in_loop
        self.index = index  # for ``name[index] = ...``: only that region is saved


class Save(ast.stmt):
    _fields = ()

    def __init__(self, site: Site | None = None):
        super().__init__()
        self.site = site


class Restore(ast.stmt):
    _fields = ()

    def __init__(self, site: Site | None = None):
        super().__init__()
        self.site = site


class Comment(ast.stmt):
    _fields = ()

    def __init__(self, text: str = ""):
        super().__init__()
        self.text = text


def name(id_: str) -> ast.Name:
    return ast.Name(id=id_, ctx=ast.Load())


def store(id_: str) -> ast.Name:
    return ast.Name(id=id_, ctx=ast.Store())


def assign(target: str, value: ast.expr) -> ast.Assign:
    return ast.Assign(targets=[store(target)], value=value, lineno=0)


def call(func: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=name(func), args=list(args), keywords=[])


class ReverseMode(Differentiator):
    """Differentiates one normalized function in reverse mode.

    ``session`` provides ``bind_global(name, value) -> name`` and
    ``split(func, active_params, origin, node) -> (fwd_name, bwd_name)`` for
    calls of the user's own functions.
    """

    def __init__(self, session, parsed: ParsedFunction, tree: ast.FunctionDef, wrt: list[str], namer: Namer,
                 check_finite: bool = False, arguments: dict | None = None):
        kinds = {k: {"array": "float", "float": "float", "int": "int"}.get(v[0]) for k, v in (arguments or {}).items() if v}
        super().__init__(session, parsed, tree, wrt, namer, argument_kinds=kinds)
        self.check_finite = check_finite
        # Specialisation: descriptions of the arguments' values (see
        # analysis.describe_argument) let shapes be inferred, so that sums
        # undoing broadcasting that cannot happen are left out.
        self.arguments = {k: v for k, v in (arguments or {}).items() if v is not None}
        self.shapes = infer_shapes(tree, {k: v[1] for k, v in self.arguments.items()}) if self.arguments else {}
        self.adjoint_names = self.derivative_names
        self.def_count: Counter = Counter()
        self.sites: list[Site] = []
        self._site_index: dict = {}  # (name, id(stmt)) -> latest site (see site_of)
        self._sites_indexed = 0
        self.stack_name = namer.fresh("stack")
        self.tapes: dict[int, str] = {}
        self.counters: dict[int, str] = {}
        self.subroutines: dict[int, tuple] = {}
        args = tree.args
        for param in args.posonlyargs + args.args + args.kwonlyargs:
            self.def_count[param.arg] += 1  # the caller's value is a definition too
        self._count_defs(tree.body, 0)
        self._adopt_hook_names(tree)

    def _adopt_hook_names(self, tree):
        """``with insert_grad_of(h) as dh`` names the adjoint of h ``dh``
        when nothing else uses that name."""
        hooks = [n for n in walk_list(tree) if isinstance(n, GradHook)]
        inside = {id(n) for h in hooks for b in h.body for n in walk_list(b)}
        used_outside = {n.id for n in names_in(tree) if id(n) not in inside}
        for hook in hooks:
            if hook.alias in used_outside:
                raise self.error(TangentSyntaxError, hook,
                                 f"the name {hook.alias!r} of the adjoint is also a variable of the function",
                                 "give the adjoint a name used nowhere else, e.g. `as d" + hook.var + "`")
            if hook.var not in self.adjoint_names:
                self.adjoint_names[hook.var] = hook.alias

    def _count_defs(self, stmts, depth):
        for stmt in stmts:
            if isinstance(stmt, ast.Assign):
                for target in stmt.targets:
                    if isinstance(target, ast.Name):
                        self.def_count[target.id] += 2 if depth else 1
            elif isinstance(stmt, ast.If):
                self._count_defs(stmt.body, depth)
                self._count_defs(stmt.orelse, depth)
            elif isinstance(stmt, ast.For):
                self.def_count[stmt.target.id] += 2 if depth else 1
                self._count_defs(stmt.body, depth + 1)
            elif isinstance(stmt, ast.While):
                self._count_defs(stmt.body, depth + 1)

    def site(self, var: str, stmt: ast.AST, depth: int) -> Site:
        site = Site(var, stmt, depth > 0)
        self.sites.append(site)
        return site

    # ------------------------------------------------------------ primal
    def primal(self, stmts, depth=0) -> list[ast.stmt]:
        out = []
        for stmt in stmts:
            if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
                target = stmt.targets[0].id
                out.append(Save(self.site(target, stmt, depth)))
                sub = self.subroutine_call(stmt)
                if sub is not None:
                    fwd, bwd, bindings, active, binding = sub
                    tape = self.namer.fresh(f"_{stmt.value.tangent_callee.__name__.strip('_')}_tape")
                    self.def_count[tape] += 2 if depth else 1
                    self.tapes[id(stmt)] = tape
                    self.subroutines[id(stmt)] = sub
                    out.append(Save(self.site(tape, stmt, depth)))
                    value = ast.Call(func=name(fwd), args=copy.deepcopy(binding.args),
                                     keywords=copy.deepcopy(stmt.value.keywords))
                    new = ast.Assign(
                        targets=[ast.Tuple(elts=[store(target), store(tape)], ctx=ast.Store())], value=value
                    )
                    out.append(ast.copy_location(new, stmt))
                else:
                    out.append(stmt)
            elif isinstance(stmt, GradHook):
                continue  # runs in the backward pass only
            elif is_setitem(stmt):
                var, _, index = written_region(stmt)
                site = Site(var, stmt, depth > 0, index=index)
                self.sites.append(site)
                out.append(Save(site))
                out.append(stmt)
            elif isinstance(stmt, ast.If):
                out.append(ast.copy_location(ast.If(test=stmt.test, body=self.primal(stmt.body, depth),
                                                    orelse=self.primal(stmt.orelse, depth)), stmt))
            elif isinstance(stmt, ast.For):
                out.append(Save(self.site(stmt.target.id, stmt, depth)))
                out.append(ast.copy_location(ast.For(target=stmt.target, iter=stmt.iter,
                                                     body=self.primal(stmt.body, depth + 1), orelse=[]), stmt))
            elif isinstance(stmt, ast.While):
                counter = self.namer.fresh("_iterations")
                self.counters[id(stmt)] = counter
                self.def_count[counter] += 2 if depth else 1
                out.append(Save(self.site(counter, stmt, depth)))
                out.append(ast.copy_location(assign(counter, ast.Constant(value=0)), stmt))
                increment = assign(counter, ast.BinOp(left=name(counter), op=ast.Add(), right=ast.Constant(value=1)))
                body = self.primal(stmt.body, depth + 1) + [ast.copy_location(increment, stmt)]
                out.append(ast.copy_location(ast.While(test=stmt.test, body=body, orelse=[]), stmt))
            else:
                out.append(stmt)
        return out

    def subroutine_call(self, stmt: ast.Assign):
        """For ``z = g(...)`` with g a user function and an active argument:
        (fwd_name, bwd_name, {param: atom}, [active params], binding)."""
        binding = active_user_call(self, stmt)
        if binding is None:
            return None
        fwd, bwd = self.session.split(binding.callee, tuple(binding.active), self.origin, stmt,
                                      static=binding.static, types=binding.types)
        return fwd, bwd, binding.bindings, binding.active, binding

    # ----------------------------------------------------------- adjoint
    def accumulate(self, var: str, value: ast.expr, state: dict) -> list[ast.stmt]:
        dvar = self.d(var)
        current = state.get(var, ZERO)
        state[var] = NONZERO
        if current == ZERO:
            return [assign(dvar, value)]
        if current == NONZERO:
            return [assign(dvar, ast.BinOp(left=name(dvar), op=ast.Add(), right=value))]
        return [assign(dvar, call(self.session.bind_global("add_grad", runtime.add), name(dvar), value))]

    def materialize(self, var: str, have: str, want: str) -> list[ast.stmt]:
        if have == want or (have == NONZERO and want == MAYBE):
            return []
        if have == ZERO and want == NONZERO:
            if self.is_python_number(var):
                return [assign(self.d(var), ast.Constant(value=0.0))]
            zeros = self.session.bind_global("zeros_like", runtime.zeros_like)
            return [assign(self.d(var), call(zeros, name(var)))]
        if have == ZERO and want == MAYBE:
            return [assign(self.d(var), ast.Constant(value=None))]
        raise AssertionError((var, have, want))

    def is_python_number(self, var: str) -> bool:
        """Known (by specialisation) to hold a Python float or int."""
        if var in self.arguments:
            return self.arguments[var][0] in ("float", "int") and self.shapes.get(var) == ()
        return False

    def merge(self, states: list[dict], defined: frozenset) -> dict:
        merged = {}
        for var in set().union(*states):
            values = {s.get(var, ZERO) for s in states}
            if len(values) == 1:
                merged[var] = values.pop()
            elif MAYBE in values or var not in defined:
                merged[var] = MAYBE
            else:
                merged[var] = NONZERO
        return {k: v for k, v in merged.items() if v != ZERO}

    def transition(self, have: dict, want: dict) -> list[ast.stmt]:
        out = []
        for var in sorted(want):
            out += self.materialize(var, have.get(var, ZERO), want[var])
        return out

    def adjoint(self, stmts, state: dict) -> tuple[list[ast.stmt], dict]:
        state = dict(state)
        out: list[ast.stmt] = []
        last_line = None
        for stmt in reversed(stmts):
            code, state = self.adjoint_statement(stmt, state)
            if self.check_finite and isinstance(stmt, ast.Assign):
                code = self.finite_checks(stmt, code)
            if any(not isinstance(c, (Restore, Comment)) for c in code):
                line = getattr(stmt, "lineno", None)
                if line and line != last_line and not isinstance(stmt, (ast.For, ast.While)):
                    text = self.origin.text(line)
                    where = f"{os.path.basename(self.origin.filename)}:{line}"
                    out.append(Comment(f"{where}: {text}" if text else where))
                    last_line = line
            out.extend(code)
        return out, state

    def adjoint_statement(self, stmt, state):
        if isinstance(stmt, ast.Assign) and getattr(stmt.value, "tangent_callee", None) is list.pop:
            return self.adjoint_pop(stmt, state), state
        if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
            target = stmt.targets[0].id
            code = self.adjoint_assign(stmt, target, state)
            # pops in the reverse order of the pushes: the tape was saved last
            if id(stmt) in self.tapes:
                code.append(Restore(self.site_of(self.tapes[id(stmt)], stmt)))
            code.append(Restore(self.site_of(target, stmt)))
            return code, state
        if isinstance(stmt, ast.If):
            body, s1 = self.adjoint(stmt.body, state)
            orelse, s2 = self.adjoint(stmt.orelse, state)
            merged = self.merge([s1, s2], self.analysis.defined_before(stmt))
            body += self.transition(s1, merged)
            orelse += self.transition(s2, merged)
            new = ast.If(test=copy.deepcopy(stmt.test), body=body or [ast.Pass()], orelse=orelse)
            return [ast.copy_location(new, stmt)], merged
        if isinstance(stmt, (ast.For, ast.While)):
            defined = self.analysis.defined_before(stmt)
            head = dict(state)
            for _ in range(20):
                body, back = self.adjoint(stmt.body, head)
                new_head = self.merge([state, back], defined)
                if new_head == head:
                    break
                head = new_head
            body += self.transition(back, head)
            before = self.transition(state, head)
            if isinstance(stmt, ast.For):
                reversed_iter = call("reversed", copy.deepcopy(stmt.iter))
                loop = ast.For(target=store(stmt.target.id), iter=reversed_iter, body=body, orelse=[])
                restore = Restore(self.site_of(stmt.target.id, stmt))
            else:
                counter = self.counters[id(stmt)]
                loop = ast.For(target=store("_"), iter=call("range", name(counter)), body=body, orelse=[])
                restore = Restore(self.site_of(counter, stmt))
            # Even without adjoint code the loop stays for the pops of its
            # saves (empty loops are removed once the markers are lowered).
            return before + [ast.copy_location(loop, stmt), restore], head
        if isinstance(stmt, GradHook):
            return self.grad_hook(stmt, state), state
        if is_setitem(stmt):
            return self.adjoint_setitem(stmt, state), state
        if isinstance(stmt, ast.Expr) and getattr(stmt.value, "tangent_callee", None) is list.append:
            return self.adjoint_append(stmt, state), state
        return [], state

    def refuse_unsupported(self, tree: ast.FunctionDef) -> None:
        """The backward pass of a function that writes into arrays restores
        the overwritten regions; reverse mode over that is not supported."""
        restores = [stmt for stmt in ast.walk(tree) if isinstance(stmt, ast.Expr)
                    and getattr(stmt.value, "tangent_callee", None) is runtime.restore_region]
        if not restores:
            return
        tape_calls = (runtime.restore_region, runtime.copy_region)
        read_elsewhere = {n for stmt in ast.walk(tree) if isinstance(stmt, ast.stmt) and not isinstance(
            stmt, (ast.If, ast.For, ast.While, ast.FunctionDef)) and not (
            isinstance(stmt, (ast.Expr, ast.Assign)) and getattr(stmt.value, "tangent_callee", None) in tape_calls)
            for n in names_loaded(stmt)}
        for stmt in restores:
            target = stmt.value.args[0].id if isinstance(stmt.value.args[0], ast.Name) else None
            # a restore changes values that other derivative code may read
            # (even an inactive array's, read as a coefficient): refuse both
            if any(self.analysis.is_varied(n, stmt) for n in names_loaded(stmt.value)) or target in read_elsewhere:
                raise self.error(TangentSyntaxError, stmt,
                                 "differentiating, in reverse mode, the backward pass of a function that writes into "
                                 "arrays is not supported",
                                 "use forward mode over it (tangent.jvp / tangent.hvp) instead")

    def list_adjoint_ready(self, lst: str, state: dict) -> list[ast.stmt]:
        """Make the adjoint of a list a real (non-None) list of adjoints."""
        have = state.get(lst, ZERO)
        if have == MAYBE:
            zeros = self.session.bind_global("zeros_like", runtime.zeros_like)
            test = ast.Compare(left=name(self.d(lst)), ops=[ast.Is()], comparators=[ast.Constant(value=None)])
            state[lst] = NONZERO
            return [ast.If(test=test, body=[assign(self.d(lst), call(zeros, name(lst)))], orelse=[])]
        code = self.materialize(lst, have, NONZERO)
        state[lst] = NONZERO
        return code

    def adjoint_append(self, stmt: ast.Expr, state: dict) -> list[ast.stmt]:
        """``lst.append(v)``: v receives the adjoint of the last element, and
        the element is removed again so that ``lst`` is as it was before."""
        lst = stmt.value.func.value.id
        value = stmt.value.args[0]
        code: list[ast.stmt] = []
        if state.get(lst, ZERO) != ZERO:
            code += self.list_adjoint_ready(lst, state)
            split_last = self.session.bind_global("split_last", runtime.split_last)
            if isinstance(value, ast.Name) and self.analysis.is_varied(value.id, stmt):
                part = self.namer.fresh("_d" + value.id)
                code.append(ast.Assign(targets=[ast.Tuple(elts=[store(self.d(lst)), store(part)], ctx=ast.Store())],
                                       value=call(split_last, name(self.d(lst)))))
                code += self.accumulate(value.id, name(part), state)
            else:
                code.append(ast.Assign(targets=[ast.Tuple(elts=[store(self.d(lst)), store("_")], ctx=ast.Store())],
                                       value=call(split_last, name(self.d(lst)))))
        undo = ast.Call(func=ast.Attribute(value=name(lst), attr="pop", ctx=ast.Load()), args=[], keywords=[])
        code.append(ast.Expr(value=undo))
        return code

    def adjoint_pop(self, stmt: ast.Assign, state: dict) -> list[ast.stmt]:
        """``z = lst.pop()``: the adjoint of z goes back to the end of the
        list's adjoint, and z back onto the list."""
        target = stmt.targets[0].id
        lst = stmt.value.func.value.id
        if stmt.value.args or stmt.value.keywords:
            raise self.error(TangentSyntaxError, stmt, "pop with an index is not supported in reverse mode",
                             "pop from the end of the list")
        code: list[ast.stmt] = []
        zeros = self.session.bind_global("zeros_like", runtime.zeros_like)
        if state.get(lst, ZERO) != ZERO or state.get(target, ZERO) != ZERO:
            code += self.list_adjoint_ready(lst, state)
            have = state.get(target, ZERO)
            item = name(self.d(target)) if have == NONZERO else call(zeros, name(target))
            if have == MAYBE:
                item = ast.IfExp(test=ast.Compare(left=name(self.d(target)), ops=[ast.Is()], comparators=[ast.Constant(value=None)]),
                                 body=call(zeros, name(target)), orelse=name(self.d(target)))
            append_grad = self.session.bind_global("append_grad", runtime.append_grad)
            code.append(assign(self.d(lst), call(append_grad, name(self.d(lst)), item)))
        state.pop(target, None)
        redo = ast.Call(func=ast.Attribute(value=name(lst), attr="append", ctx=ast.Load()), args=[name(target)], keywords=[])
        code.append(ast.Expr(value=redo))
        code.append(Restore(self.site_of(target, stmt)))
        return code

    def adjoint_setitem(self, stmt: ast.Assign, state: dict) -> list[ast.stmt]:
        """``y[index] = v``: v receives the adjoint of the region, which is then
        zeroed (the old values there no longer reach the output); the old
        region is put back afterwards."""
        var, _, index = written_region(stmt)
        value = stmt.value
        site = self.site_of(var, stmt)
        code: list[ast.stmt] = []
        if state.get(var, ZERO) != ZERO:
            dvar = name(self.d(var))
            if isinstance(value, ast.Name) and self.analysis.is_varied(value.id, stmt):
                written = self.session.bind_global("grad_of_written", runtime.grad_of_written)
                code += self.accumulate(value.id, call(written, dvar, copy.deepcopy(index), copy.deepcopy(value)), state)
            zero = self.session.bind_global("zero_region", runtime.zero_region)
            code.append(assign(self.d(var), call(zero, name(self.d(var)), copy.deepcopy(index), name(var))))
        code.append(Restore(site))
        return code

    def finite_checks(self, stmt, code):
        """After the adjoint of ``stmt``, check every adjoint it assigned."""
        adjoints = set(self.adjoint_names.values())
        assigned = [t.id for c in code if isinstance(c, ast.Assign) for t in c.targets
                    if isinstance(t, ast.Name) and t.id in adjoints]
        if not assigned:
            return code
        check = self.session.bind_global("ensure_finite", runtime.ensure_finite)
        where = (f"{os.path.basename(self.origin.filename)}:{stmt.lineno}: {self.origin.text(stmt.lineno)} "
                 f"(in {self.origin.func_name})")
        checks = [ast.Expr(value=call(check, name(v), ast.Constant(value=where))) for v in dict.fromkeys(assigned)]
        # before the restores, so the check sits with the statement's adjoint
        split = len(code)
        while split and isinstance(code[split - 1], Restore):
            split -= 1
        return code[:split] + checks + code[split:]

    def grad_hook(self, stmt: GradHook, state: dict) -> list[ast.stmt]:
        """The user's block, with its alias bound to the (complete) adjoint."""
        var, dvar = stmt.var, self.d(stmt.var)
        code = self.materialize(var, state.get(var, ZERO), NONZERO) if state.get(var, ZERO) != MAYBE else [
            ast.If(test=ast.Compare(left=name(dvar), ops=[ast.Is()], comparators=[ast.Constant(value=None)]),
                   body=[assign(dvar, call(self.session.bind_global("zeros_like", runtime.zeros_like), name(var)))],
                   orelse=[])]
        state[var] = NONZERO
        body = copy.deepcopy(stmt.body)
        if stmt.alias != dvar:
            code.append(assign(stmt.alias, name(dvar)))
            code += body
            code.append(assign(dvar, name(stmt.alias)))
        else:
            code += body
        for node in code:
            node.tangent_hook = True
        return code

    def site_of(self, var, stmt) -> Site:
        """The last site recorded for ``var`` at ``stmt`` (sites are only
        appended: each is indexed once, the latest for a key wins)."""
        for site in self.sites[self._sites_indexed:]:
            self._site_index[site.name, id(site.stmt)] = site
        self._sites_indexed = len(self.sites)
        site = self._site_index.get((var, id(stmt)))
        if site is None or site.stmt is not stmt:
            raise AssertionError((var, stmt))
        return site

    def adjoint_assign(self, stmt: ast.Assign, target: str, state: dict) -> list[ast.stmt]:
        current = state.get(target, ZERO)
        if current == ZERO:
            return []
        before = dict(state)
        work = dict(state)
        code, deferred = self.contributions(stmt, target, work)
        work.pop(target, None)
        for value in deferred:
            code += self.accumulate(target, value, work)
        if current == NONZERO:
            state.clear()
            state.update(work)
            return code
        # The result's adjoint may be None (zero): guard the contributions.
        merged = self.merge([work, {k: v for k, v in before.items() if k != target}],
                            self.analysis.defined_before(stmt))
        taken = code + self.transition(work, merged)
        skipped = self.transition({k: v for k, v in before.items() if k != target}, merged)
        test = ast.Compare(left=name(self.d(target)), ops=[ast.IsNot()], comparators=[ast.Constant(value=None)])
        state.clear()
        state.update(merged)
        return [ast.If(test=test, body=taken or [ast.Pass()], orelse=skipped)]

    def contributions(self, stmt: ast.Assign, target: str, state: dict):
        """Adjoint code of ``target = value``: (statements, deferred values for
        the target's own adjoint when the target is also an input)."""
        value = stmt.value
        dz = name(self.d(target))
        raw: list[ast.stmt] = []
        if isinstance(value, ast.Name):
            raw = [Accumulate("x", value, dz)]
        elif isinstance(value, ast.Constant) or getattr(value, "tangent_global", False):
            return [], []
        elif isinstance(value, (ast.Tuple, ast.List)):
            for i, elt in enumerate(value.elts):
                raw.append(Accumulate("x", elt, ast.Subscript(value=dz, slice=ast.Constant(value=i), ctx=ast.Load())))
        elif isinstance(value, ast.Dict):
            for key, elt in zip(value.keys, value.values):
                raw.append(Accumulate("x", elt, ast.Subscript(value=dz, slice=copy.deepcopy(key), ctx=ast.Load())))
        elif id(stmt) in self.subroutines:
            raw = self.subroutine_adjoint(stmt, dz)
        else:
            callee, args, keywords = primitive_of(value)
            if callee is UNRESOLVED:
                raise self.error(TangentSyntaxError, stmt, f"cannot differentiate {ast.unparse(value)!r}")
            if callee is None or rules.is_nondifferentiable(callee):
                return [], []
            if not any(isinstance(a, ast.Name) and self.analysis.is_varied(a.id, stmt)
                       for a in args + list(keywords.values())):
                return [], []  # a call on constants: its result's adjoint reaches nothing
            template = self.shape_variant(callee, args, keywords) or rules.lookup_adjoint(callee)
            if template is None:
                active = [a.id for a in args + list(keywords.values())
                          if isinstance(a, ast.Name) and self.analysis.is_varied(a.id, stmt) and not a.id.startswith("_")]
                label = describe_callee(callee)
                through = f"with respect to {', '.join(active)}" if active else "with respect to its argument"
                if isinstance(callee, type) and callee.__module__ not in ("builtins",) and not callee.__module__.startswith("numpy"):
                    raise self.error(
                        NoDerivativeError, stmt,
                        f"creating a {callee.__name__} from differentiated values inside the function is not supported",
                        f"create the object outside and pass it in (annotate the parameter, e.g. obj: {callee.__name__}; "
                        "its gradient is a dict of its attributes' gradients)",
                    )
                raise self.error(
                    NoDerivativeError, stmt,
                    f"no derivative rule for {label}, called {through}",
                    f"register one with @tangent.adjoint({label.split('.')[-1]}), or wrap the argument in "
                    "tangent.stop_gradient if it should not be differentiated",
                )
            try:
                bound = template.bind(args, keywords, self.session.bind_global)
            except TypeError as e:
                raise self.error(TangentSyntaxError, stmt, f"cannot match the call to the rule {template}: {e}") from None
            result_param = next(iter(template.signature.parameters))
            bound[result_param] = name(target)
            raw = instantiate(
                template, bound,
                lambda p: dz if p == result_param else None,
                self.namer, self.session.bind_global, callee,
            )
            if self.shapes:
                raw = [self.drop_unbroadcast(item, target) for item in raw]
        return self.lower(raw, stmt, target, state)

    def shape_variant(self, callee, args, keywords):
        """A faster rule for the arguments' shapes, in specialised code."""
        if not self.shapes:
            return None
        for when, template in rules.lookup_adjoint_variants(callee):
            try:
                bound = template.match(args, keywords)
            except TypeError:
                continue
            bound.apply_defaults()
            shapes, constants = {}, {}
            # parameters bound to the same variable (x * x), for variants that use it
            names = [(p, a.id) for p, a in bound.arguments.items() if isinstance(a, ast.Name)]
            constants["same"] = {(p, q) for p, a in names for q, b in names if p < q and a == b}
            for param, atom in bound.arguments.items():
                if isinstance(atom, ast.AST):
                    shapes[param] = self.shapes.get(atom.id) if isinstance(atom, ast.Name) else (
                        () if isinstance(atom, ast.Constant) and isinstance(atom.value, (int, float)) else None)
                    try:
                        constants[param] = static_value(atom)
                    except ValueError:
                        pass
                else:
                    constants[param] = atom
            try:
                if when(shapes, constants):
                    return template
            except Exception:  # a predicate that cannot decide does not apply
                continue
        return None

    def drop_unbroadcast(self, item, target):
        """``unbroadcast(e, like)`` is ``e`` when ``like`` has the shape of the
        statement's result (the shape every rule's ``e`` has)."""
        result_shape = self.shapes.get(target)
        if result_shape is None:
            return item
        namespace = self.session.namespace

        class Drop(ast.NodeTransformer):
            def visit_Call(self, node):
                self.generic_visit(node)
                if (isinstance(node.func, ast.Attribute) and node.func.attr == "shape" and len(node.args) == 1
                        and isinstance(node.func.value, ast.Name) and namespace.get(node.func.value.id) is np
                        and isinstance(shape_of_atom(node.args[0]), tuple)):
                    return ast.Constant(value=shape_of_atom(node.args[0]))  # np.shape(x) of a known shape
                if not (isinstance(node.func, ast.Name) and namespace.get(node.func.id) is runtime.unbroadcast
                        and len(node.args) == 2):
                    return node
                like = shape_of_atom(node.args[1])
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

        shapes = self.shapes

        def shape_of_atom(atom):
            if isinstance(atom, ast.Name):
                return shapes.get(atom.id)
            if isinstance(atom, ast.Constant) and isinstance(atom.value, (int, float)):
                return ()
            return None

        return Drop().visit(item)

    def lower(self, raw, stmt, target, state):
        code, deferred = [], []
        for item in raw:
            if not isinstance(item, Accumulate):
                code.append(item)
                continue
            atom = item.target
            if isinstance(atom, ast.Tuple):  # d[args] for *args: one adjoint per element
                varied = [(i, e) for i, e in enumerate(atom.elts)
                          if isinstance(e, ast.Name) and self.analysis.is_varied(e.id, stmt)]
                if not varied:
                    continue
                parts = self.namer.fresh("_dargs")
                code.append(assign(parts, item.value))
                for i, elt in varied:
                    part = ast.Subscript(value=name(parts), slice=ast.Constant(value=i), ctx=ast.Load())
                    code += self.accumulate(elt.id, part, state)
                continue
            if not isinstance(atom, ast.Name) or not self.analysis.is_varied(atom.id, stmt):
                continue
            if atom.id == target:
                tmp = self.namer.fresh("_" + self.d(target))
                code.append(assign(tmp, item.value))
                deferred.append(name(tmp))
            else:
                code += self.accumulate(atom.id, item.value, state)
        return code, deferred

    def subroutine_adjoint(self, stmt, dz):
        fwd, bwd, bindings, active, _ = self.subroutines[id(stmt)]
        tape = self.tapes[id(stmt)]
        parts = [self.namer.fresh("_d" + (bindings[p].id if isinstance(bindings[p], ast.Name) else p)) for p in active]
        results = [store(p) for p in parts]
        target = results[0] if len(results) == 1 else ast.Tuple(elts=results, ctx=ast.Store())
        code: list = [ast.Assign(targets=[target], value=call(bwd, name(tape), dz))]
        for param, part in zip(active, parts):
            code.append(Accumulate(param, bindings[param], name(part)))
        return code

    # ------------------------------------------------------------ driver
    def run(self):
        """Returns (primal, adjoint, result atom, {wrt: adjoint name}, seed)."""
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
            want = NONZERO
            have = state.get(param, ZERO)
            if have == MAYBE:
                zeros = self.session.bind_global("zeros_like", runtime.zeros_like)
                test = ast.Compare(left=name(self.d(param)), ops=[ast.Is()], comparators=[ast.Constant(value=None)])
                adjoint.append(ast.If(test=test, body=[assign(self.d(param), call(zeros, name(param)))], orelse=[]))
            else:
                adjoint += self.materialize(param, have, want)
        grads = {p: self.d(p) for p in self.wrt}
        return primal, adjoint, result, grads, seed

    def lower_markers(self, primal, adjoint, live_out=()):
        """Turn Save/Restore markers into stack pushes and pops where the
        adjoint reads the variable and it is assigned more than once.
        Returns (primal, adjoint, names to initialise to None, uses_stack)."""
        reads = names_read(adjoint) | set(live_out)
        read_after = restored_values_read(adjoint)
        needed = {
            s for s in self.sites
            if s.name in reads and s.index is not None
        } | {
            s for s in self.sites
            if s.name in reads and s.index is None and self.def_count[s.name] > 1
            # the old value matters only if the backward pass reads it after restoring it
            and (id(s) in read_after or s.name in live_out)
            # a definition outside loops that no other definition reaches (on
            # any path: a loop that ran, one branch of an if) has no old value
            and (s.in_loop or s.name in self.analysis.possibly_defined_before(s.stmt) or s.name in self.wrt)
        }
        init = set()
        for site in needed:
            if site.index is None and site.name not in self.analysis.defined_before(site.stmt) and site.name not in self.wrt:
                init.add(site.name)
        stack = self.stack_name
        copy_region = self.session.bind_global("copy_region", runtime.copy_region)
        restore_region = self.session.bind_global("restore_region", runtime.restore_region)

        def lower(stmts):
            out = []
            for stmt in stmts:
                if isinstance(stmt, Save):
                    if stmt.site in needed:
                        saved = name(stmt.site.name)
                        if stmt.site.index is not None:
                            saved = call(copy_region, saved, copy.deepcopy(stmt.site.index))
                        out.append(ast.Expr(value=ast.Call(
                            func=ast.Attribute(value=name(stack), attr="append", ctx=ast.Load()),
                            args=[saved], keywords=[])))
                    continue
                if isinstance(stmt, Restore):
                    if stmt.site in needed:
                        pop = ast.Call(func=ast.Attribute(value=name(stack), attr="pop", ctx=ast.Load()), args=[], keywords=[])
                        if stmt.site.index is not None:
                            out.append(ast.Expr(value=call(restore_region, name(stmt.site.name),
                                                           copy.deepcopy(stmt.site.index), pop)))
                        else:
                            out.append(assign(stmt.site.name, pop))
                    continue
                for field in ("body", "orelse"):
                    if hasattr(stmt, field) and isinstance(getattr(stmt, field), list):
                        setattr(stmt, field, lower(getattr(stmt, field)))
                if isinstance(stmt, (ast.For, ast.While)) and not stmt.body:
                    stmt.body = [ast.Pass()]
                if isinstance(stmt, ast.If) and not stmt.body:
                    stmt.body = [ast.Pass()]
                out.append(stmt)
            return out

        return lower(primal), lower(adjoint), sorted(init), bool(needed)


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


def restored_values_read(adjoint) -> set[int]:
    """ids of the sites whose Restore is followed, in backward-pass order, by
    a read of the restored variable (anything in an enclosing loop counts, as
    it runs again)."""
    events: list = []  # (kind, name or site, enclosing loops)

    def walk(stmts, loops):
        for stmt in stmts:
            if isinstance(stmt, Restore):
                events.append(("restore", stmt.site, loops))
                if stmt.site.index is not None:
                    # restore_region(y, index, ...) writes into the object y
                    # names then: if y was rebound since, its old value is read
                    events.append(("read", stmt.site.name, loops))
                continue
            if isinstance(stmt, (Save, Comment)):
                continue
            if isinstance(stmt, (ast.For, ast.While)):
                for n in names_loaded(stmt.iter if isinstance(stmt, ast.For) else stmt.test):
                    events.append(("read", n, loops))
                walk(stmt.body, loops + (id(stmt),))
                continue
            if isinstance(stmt, ast.If):
                for n in names_loaded(stmt.test):
                    events.append(("read", n, loops))
                walk(stmt.body, loops)
                walk(stmt.orelse, loops)
                continue
            for n in names_loaded(stmt):
                events.append(("read", n, loops))

    walk(adjoint, ())
    # for each name its last read, for each loop the names read inside it
    last_read: dict[str, int] = {}
    read_in_loop: dict[int, set[str]] = {}
    for i, (kind, n, where) in enumerate(events):
        if kind == "read":
            last_read[n] = i
            for loop in where:
                read_in_loop.setdefault(loop, set()).add(n)
    found: set[int] = set()
    for i, (kind, site, loops) in enumerate(events):
        if kind != "restore":
            continue
        later = last_read.get(site.name, -1) > i
        again = bool(loops) and site.name in read_in_loop.get(loops[0], ())
        if later or again:
            found.add(id(site))
    return found


def mark_pure(stmts) -> None:
    """Generated adjoint assignments have no side effects (users' hook blocks may)."""
    for stmt in stmts:
        if getattr(stmt, "tangent_hook", False):
            continue
        if isinstance(stmt, ast.Assign):
            stmt.tangent_pure = True
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list):
                mark_pure(inner)


def names_read(stmts) -> set[str]:
    found = set()
    for stmt in stmts:
        if isinstance(stmt, (Save, Restore, Comment)):
            if isinstance(stmt, Restore) and stmt.site.index is not None:
                found.add(stmt.site.name)  # restore_region reads the object it writes into
            continue
        for node in names_in(stmt):
            if isinstance(node.ctx, ast.Load):
                found.add(node.id)
        stack = [stmt]
        while stack:  # markers nested in blocks, at any depth
            node = stack.pop()
            for field in ("body", "orelse"):
                for inner in getattr(node, field, None) or ():
                    if isinstance(inner, Restore) and inner.site.index is not None:
                        found.add(inner.site.name)
                    elif isinstance(inner, ast.stmt):
                        stack.append(inner)
    return found


def describe_callee(callee) -> str:
    module = getattr(callee, "__module__", None) or ""
    qual = getattr(callee, "__qualname__", None) or getattr(callee, "__name__", None) or repr(callee)
    if module.startswith("numpy"):
        module = "numpy"
    return f"{module}.{qual}" if module and module != "builtins" else qual


__all__ = ["ReverseMode", "Comment", "names_loaded"]
