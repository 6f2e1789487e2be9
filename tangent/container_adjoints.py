"""Adjoints of writes into lists and arrays, and of gradient hooks, in
reverse mode (a mixin of ``ReverseMode``).

Takes: one statement of the normalized function, ``lst.append(v)``,
``z = lst.pop()``, ``y[index] = v`` or a ``GradHook`` block, and the adjoint
state after it (updated in place).

Gives: the adjoint code, which also undoes the write (the element popped
again, pushed back, the region restored by a ``Restore`` marker) so that
earlier statements' adjoints see the values they saw.

Assumes: the ReverseMode attributes ``states`` (``adjoints.AdjointStates``),
``tape`` (``tape.Tape``) and those of ``differentiator.Differentiator``.
"""

from __future__ import annotations

import ast
import copy

from . import ir, runtime
from .adjoints import MAYBE, NONZERO, ZERO, is_none
from .differentiator import Differentiator
from .errors import TangentSyntaxError
from .ir import GradHook, Restore, assign, call, name, store


class ContainerAdjoints(Differentiator):
    """Adjoints of list and region writes and of hooks (see the module docstring)."""

    def adjoint_append(self, stmt: ast.Expr, state: dict) -> list[ast.stmt]:
        """``lst.append(v)``: v receives the adjoint of the last element, and
        the element is removed again so that ``lst`` is as it was before."""
        lst = stmt.value.func.value.id
        value = stmt.value.args[0]
        self.states.release(lst, state)
        code: list[ast.stmt] = []
        if state.get(lst, ZERO) != ZERO:
            code += self.states.make_nonzero(lst, state)
            split_last = self.session.bind_global("split_last", runtime.split_last)
            if isinstance(value, ast.Name) and self.analysis.is_varied(value.id, stmt):
                part = self.namer.fresh("_d" + value.id)
                code.append(ast.Assign(targets=[ast.Tuple(elts=[store(self.d(lst)), store(part)], ctx=ast.Store())],
                                       value=call(split_last, name(self.d(lst)))))
                code += self.states.accumulate(value.id, name(part), state)
            else:
                code.append(ast.Assign(targets=[ast.Tuple(elts=[store(self.d(lst)), store(self.discard)], ctx=ast.Store())],
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
        self.states.release(lst, state)
        self.states.release(target, state)
        code: list[ast.stmt] = []
        zeros = self.session.bind_global("zeros_like", runtime.zeros_like)
        if state.get(lst, ZERO) != ZERO or state.get(target, ZERO) != ZERO:
            code += self.states.make_nonzero(lst, state)
            have = state.get(target, ZERO)
            item = name(self.d(target)) if have == NONZERO else call(zeros, name(target))
            if have == MAYBE:
                item = ast.IfExp(test=is_none(self.d(target)), body=call(zeros, name(target)), orelse=name(self.d(target)))
            append_grad = self.session.bind_global("append_grad", runtime.append_grad)
            code.append(assign(self.d(lst), call(append_grad, name(self.d(lst)), item)))
        state.pop(target, None)
        redo = ast.Call(func=ast.Attribute(value=name(lst), attr="append", ctx=ast.Load()), args=[name(target)], keywords=[])
        code.append(ast.Expr(value=redo))
        code.append(Restore(self.tape.site_of(target, stmt)))
        return code

    def adjoint_setitem(self, stmt: ast.Assign, state: dict) -> list[ast.stmt]:
        """``y[index] = v``: v receives the adjoint of the region, which is then
        zeroed (the old values there no longer reach the output); the old
        region is put back afterwards."""
        var, _, index = ir.written_region(stmt)
        value = stmt.value
        site = self.tape.site_of(var, stmt)
        self.states.release(var, state)
        code: list[ast.stmt] = []
        if state.get(var, ZERO) != ZERO:
            dvar = name(self.d(var))
            if isinstance(value, ast.Name) and self.analysis.is_varied(value.id, stmt):
                written = self.session.bind_global("grad_of_written", runtime.grad_of_written)
                code += self.states.accumulate(value.id, call(written, dvar, copy.deepcopy(index), copy.deepcopy(value)),
                                               state)
        code.append(Restore(site))  # first: the zeroed region takes the old value's shape (a list item's may differ)
        if state.get(var, ZERO) != ZERO:
            zero = self.session.bind_global("zero_region", runtime.zero_region)
            code.append(assign(self.d(var), call(zero, name(self.d(var)), copy.deepcopy(index), name(var))))
        return code

    def grad_hook(self, stmt: GradHook, state: dict) -> list[ast.stmt]:
        """The user's block, with its alias bound to the (complete) adjoint."""
        var, dvar = stmt.var, self.d(stmt.var)
        code = self.states.make_nonzero(var, state)
        body = copy.deepcopy(stmt.body)
        if stmt.alias != dvar:
            code.append(assign(stmt.alias, name(dvar)))
            code += body
            code.append(assign(dvar, name(stmt.alias)))
        else:
            code += body
        for node in code:
            ir.annotate(node, hook=True)
        return code
