"""The adjoint of ``z = value`` in reverse mode (a mixin of ``ReverseMode``).

Takes: one assignment of the normalized function (``value`` an atom, a
tuple, list or dict display, a call of a primitive with a rule, or of a user
function split into ``*_fwd``/``*_bwd``) and the adjoint state after it.

Gives: the statements adding the assignment's contributions to the adjoints
of its active operands (the rule's ``d[x] = ...`` lines, filled in) and the
state before it. A target that is also an operand (``x = x * y`` is not in
A-normal form, but ``s = f(s)`` may come from hooks) gets its new adjoint
only after every operand has read the old one.

Assumes: the ReverseMode attributes ``states`` (``adjoints.AdjointStates``),
``subroutines``, ``shapes`` and those of ``differentiator.Differentiator``.
"""

from __future__ import annotations

import ast
import copy
import operator
import os
from dataclasses import dataclass, field

from . import ir, rules, runtime
from .activity import primitive_of
from .adjoints import NONZERO, ZERO, merge
from .differentiator import Differentiator
from .errors import TangentSyntaxError
from .frontend import UNRESOLVED
from .ir import Accumulate, Kind, assign, call, name, store
from .shape_variants import drop_unbroadcast, shape_variant
from .templates import instantiate

# ``+`` and ``*`` on numbers and arrays (kinds.py decided: not on sequences;
# ``x * x`` or ``x + x`` with a list x is a repetition, a concatenation or
# an error), whose operands' adjoints are numbers or arrays too. Not
# np.add / np.multiply: np.add(x, x) of a list x has list adjoints.
_ARITHMETIC = (operator.add, operator.mul)


def _merge_equal_contributions(raw: list[ast.stmt]) -> list[ast.stmt]:
    """Equal contributions to one operand's adjoint (``x * x``, ``x + x``)
    -> one, doubled: ``d[x] = 2.0 * e`` rather than ``d[x] = e; d[x] += e``.
    Only for ``_ARITHMETIC``, where ``2.0 * e`` is the sum ``e + e``."""
    out: list[ast.stmt] = []
    seen: dict[tuple[str, str], Accumulate] = {}
    for item in raw:
        if isinstance(item, Accumulate) and isinstance(item.target, ast.Name):
            key = (item.target.id, ast.dump(item.value))
            first = seen.pop(key, None)  # (a third equal one is added to the pair)
            if first is not None:
                first.value = ast.BinOp(left=ast.Constant(value=2.0), op=ast.Mult(), right=first.value)
                continue
            seen[key] = item
        out.append(item)
    return out


@dataclass
class Contributions:
    """Adjoint code of one assignment, and the values still to be added to
    the target's own adjoint once its old adjoint has been read."""

    code: list[ast.stmt] = field(default_factory=list)
    deferred: list[ast.expr] = field(default_factory=list)


class AssignAdjoints(Differentiator):
    """Adjoints of assignments (see the module docstring)."""

    def adjoint_assign(self, stmt: ast.Assign, target: str, state: dict) -> list[ast.stmt]:
        """The adjoint of ``target = value``; ``state`` is updated in place."""
        self.states.release(target, state)
        current = state.get(target, ZERO)
        if current == ZERO:
            return []
        before = {k: v for k, v in state.items() if k != target}
        work = dict(state)
        found = self.contributions(stmt, target, work)
        code = found.code
        work.pop(target, None)
        for value in found.deferred:
            code += self.states.accumulate(target, value, work)
        if current == NONZERO:
            state.clear()
            state.update(work)
            return code
        # The result's adjoint may be None (zero): guard the contributions.
        merged = merge([work, before], self.analysis.defined_before(stmt))
        taken = code + self.states.transition(work, merged)
        skipped = self.states.transition(before, merged)
        test = ast.Compare(left=name(self.d(target)), ops=[ast.IsNot()], comparators=[ast.Constant(value=None)])
        state.clear()
        state.update(merged)
        return [ast.If(test=test, body=taken or [ast.Pass()], orelse=skipped)]

    def contributions(self, stmt: ast.Assign, target: str, state: dict) -> Contributions:
        """Adjoint code of ``target = value`` (see ``Contributions``)."""
        value = stmt.value
        dz = name(self.d(target))
        raw: list[ast.stmt] = []
        if isinstance(value, ast.Name):
            raw = [Accumulate("x", value, dz)]
        elif isinstance(value, ast.Constant) or ir.is_global(value):
            return Contributions()
        elif isinstance(value, (ast.Tuple, ast.List)):
            for i, elt in enumerate(value.elts):
                raw.append(Accumulate("x", elt, ast.Subscript(value=dz, slice=ast.Constant(value=i), ctx=ast.Load())))
        elif isinstance(value, ast.Dict):
            for key, elt in zip(value.keys, value.values):
                raw.append(Accumulate("x", elt, ast.Subscript(value=dz, slice=copy.deepcopy(key), ctx=ast.Load())))
        elif id(stmt) in self.subroutines:
            raw = self.subroutine_adjoint(stmt, dz)
        else:
            raw = self.rule_adjoint(stmt, target, dz)
        return self.add_contributions(raw, stmt, target, state)

    def rule_adjoint(self, stmt: ast.Assign, target: str, dz: ast.Name) -> list[ast.stmt]:
        """The adjoint rule of the primitive called, filled in (nothing for
        calls of nondifferentiable functions or on constants only)."""
        callee, args, keywords = primitive_of(stmt.value)
        if callee is UNRESOLVED:
            raise self.error(TangentSyntaxError, stmt, f"cannot differentiate {ast.unparse(stmt.value)!r}")
        if callee is None or rules.is_nondifferentiable(callee):
            return []
        if not any(isinstance(a, ast.Name) and self.analysis.is_varied(a.id, stmt)
                   for a in args + list(keywords.values())):
            return []  # a call on constants: its result's adjoint reaches nothing
        variant = shape_variant(callee, args, keywords, self.shapes)
        rule = self.rule_for(stmt, callee, args, keywords, "adjoint", name(target), template=variant)
        raw = instantiate(rule.template, rule.bound, lambda p: dz if p == rule.result_param else None,
                          self.namer, self.session.bind_global, callee)
        if self.shapes:
            result_shape = self.shapes.get(target)
            raw = [drop_unbroadcast(item, result_shape, self.shapes, self.session.namespace) for item in raw]
        if callee in _ARITHMETIC:
            raw = _merge_equal_contributions(raw)
        return raw

    def add_contributions(self, raw, stmt, target, state) -> Contributions:
        """The ``Accumulate`` items of a filled-in rule -> additions to the
        adjoints of the varied operands (``*args``: one per element)."""
        found = Contributions()
        code = found.code
        for item in raw:
            if ir.kind_or_none(item) is not Kind.ACCUMULATE:
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
                    code += self.states.accumulate(elt.id, part, state)
                continue
            if not isinstance(atom, ast.Name) or not self.analysis.is_varied(atom.id, stmt):
                continue
            if atom.id == target:
                tmp = self.namer.fresh("_" + self.d(target))
                code.append(assign(tmp, item.value))
                found.deferred.append(name(tmp))
            else:
                code += self.states.accumulate(atom.id, item.value, state)
        return found

    def subroutine_adjoint(self, stmt, dz) -> list[ast.stmt]:
        """``z = g(...)`` of a split user function: ``g_bwd(tape, dz)``."""
        sub = self.subroutines[id(stmt)]
        bindings = sub.bindings
        parts = [self.namer.fresh("_d" + (bindings[p].id if isinstance(bindings[p], ast.Name) else p))
                 for p in sub.active]
        results = [store(p) for p in parts]
        target = results[0] if len(results) == 1 else ast.Tuple(elts=results, ctx=ast.Store())
        code: list = [ast.Assign(targets=[target], value=call(sub.bwd, name(sub.tape), dz))]
        for param, part in zip(sub.active, parts):
            code.append(Accumulate(param, bindings[param], name(part)))
        return code

    def finite_checks(self, stmt, code):
        """After the adjoint of ``stmt``, check every adjoint it assigned."""
        adjoints = set(self.adjoint_names.values())
        # dx = add_at(dx, i, g) adds a contribution that was checked when it
        # was computed: checking all of dx at each step would cost O(size of dx)
        add_at = self.session.bind_global("add_at", runtime.add_at)
        assigned = [t.id for c in code if isinstance(c, ast.Assign) for t in c.targets
                    if isinstance(t, ast.Name) and t.id in adjoints
                    and not (isinstance(c.value, ast.Call) and getattr(c.value.func, "id", None) == add_at)]
        if not assigned:
            return code
        check = self.session.bind_global("ensure_finite", runtime.ensure_finite)
        where = (f"{os.path.basename(self.origin.filename)}:{stmt.lineno}: {self.origin.text(stmt.lineno)} "
                 f"(in {self.origin.func_name})")
        checks = [ast.Expr(value=call(check, name(v), ast.Constant(value=where))) for v in dict.fromkeys(assigned)]
        # before the restores, so the check sits with the statement's adjoint
        split = len(code)
        while split and ir.kind_or_none(code[split - 1]) is Kind.RESTORE:
            split -= 1
        return code[:split] + checks + code[split:]
