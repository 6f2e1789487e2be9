"""A-normal form: one operation on atoms per statement.

Takes a desugared body (see desugar.py: no nested definitions, lambdas,
comprehensions, constructor calls, calls of nested functions or loops over
anything but a ``range``; ``StmtExpr`` nodes stand for their statements;
statements marked ``tangent_normal`` are already in normal form). Gives a
body where every statement is one of:

* ``name = atom`` or ``name = <one operation on atoms>`` where an operation is
  a binary or unary operator, a comparison, a call, a subscript read, an
  attribute read, or a tuple/list/dict display;
* ``target[index] = atom``, ``obj.attr = atom`` (an object built here);
* ``if name: ...``, ``while name: ...`` (the test recomputed at the end of the
  body), ``for name in range_name: ...``;
* ``return atom``;
* side-effect-only statements (``print(...)``, ``assert``) run in the primal.

Atoms are names, constants and resolved global constants (``np.pi``,
``tangent_global``). Each new statement keeps the line number of the user's
statement it came from. Calls carry their callee (``tangent_callee``, see
resolve.py), ``tangent_method`` and ``tangent_pure_call``. Names are made in
the order the operations are met (the golden tests pin that order).
"""

from __future__ import annotations

import ast
import builtins
import copy

from . import ir, resolve
from .anf_expressions import ExpressionForm, describe
from .desugar import StmtExpr, is_atom
from .frontend import UNRESOLVED, ParsedFunction
from .naming import Namer
from .runtime.arguments import private_copy


class ANF(ExpressionForm):
    """Rewrites a desugared body into A-normal form (see module doc): one
    method per kind of statement (``stmt_<Kind>``)."""

    # --------------------------------------------------------- statements
    def body(self, stmts: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for stmt in stmts:
            saved, self.current = self.current, stmt
            self.statement(stmt, out)
            self.current = saved
        return out

    def statement(self, stmt: ast.stmt, out: list) -> None:
        if getattr(stmt, "tangent_normal", False):
            if isinstance(stmt, ast.Assign):
                self.note_binding(stmt.targets[0].id, stmt.value)
            out.append(self.at(stmt))
            return
        handler = getattr(self, "stmt_" + type(stmt).__name__, None)
        if handler is None:
            raise self.error(stmt, f"the statement {type(stmt).__name__} is not supported")
        handler(stmt, out)

    def stmt_Assign(self, stmt, out):
        if getattr(stmt, "tangent_parameter", False):  # a nested function's parameter
            out.append(self.assign(stmt.targets[0].id, self.operation(stmt.value, out)))
            return
        if len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            self.rebind(stmt.targets[0].id, self.operation(stmt.value, out), out)
            return
        target = stmt.targets[0]
        if len(stmt.targets) == 1 and isinstance(target, (ast.Tuple, ast.List)) \
                and isinstance(stmt.value, (ast.Tuple, ast.List)) and len(target.elts) == len(stmt.value.elts) \
                and any(isinstance(e, StmtExpr) for e in stmt.value.elts) \
                and not any(isinstance(e, ast.Starred) for e in target.elts + stmt.value.elts):
            # a, b = Layer(...), Layer(...): each name bound to its value, so that it keeps its known class
            stored = {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
            atoms = [self.atom(e, out) for e in stmt.value.elts]
            atoms = [ast.Name(id=self.assign_temp(a, out), ctx=ast.Load()) if isinstance(a, ast.Name) and a.id in stored
                     else a for a in atoms]  # (read before any is rebound, as Python does)
            for elt, atom in zip(target.elts, atoms):
                if isinstance(elt, ast.Name):
                    self.rebind(elt.id, atom, out)
                else:
                    self.assign_target(elt, atom, out)
            return
        value = self.atom(stmt.value, out, "value")
        for target in stmt.targets:
            self.assign_target(target, value, out)

    def assign_temp(self, atom: ast.Name, out: list) -> str:
        temp = self.temp(atom.id.lstrip("_"))
        self.rebind(temp, atom, out)
        return temp

    def stmt_AugAssign(self, stmt, out):
        if isinstance(stmt.target, ast.Subscript):
            # y[i] += e  ->  _old = y[i]; _new = _old + e; y[i] = _new (index evaluated once)
            base = self.atom(stmt.target.value, out)
            index = self.index(stmt.target.slice, out)
            old = self.temp(describe(stmt.target, "item"))
            out.append(self.assign(old, ast.Subscript(value=base, slice=index, ctx=ast.Load())))
            value = ast.BinOp(left=ast.Name(id=old, ctx=ast.Load()), op=stmt.op, right=stmt.value)
            new = self.atom(value, out)
            store = ast.Subscript(value=copy.deepcopy(base), slice=copy.deepcopy(index), ctx=ast.Store())
            out.append(self.at(ast.Assign(targets=[store], value=new)))
            # on an array item of a list, dict or object, ``+=`` writes into that array
            ir.annotate(out[-1], augmented_item=True)
            return
        if isinstance(stmt.target, ast.Attribute):
            # obj.a += e  ->  _old = obj.a; _new = _old + e; obj.a = _new (as y[i] += e)
            base = self.atom(stmt.target.value, out)
            old = self.temp(describe(stmt.target, "attribute"))
            out.append(self.assign(old, self.operation(ast.Attribute(value=base, attr=stmt.target.attr,
                                                                     ctx=ast.Load()), out)))
            value = ast.BinOp(left=ast.Name(id=old, ctx=ast.Load()), op=stmt.op, right=stmt.value)
            new = self.atom(value, out)
            store = ast.Attribute(value=copy.deepcopy(base), attr=stmt.target.attr, ctx=ast.Store())
            self.assign_target(store, new, out)
            ir.annotate(out[-1], augmented_item=True)
            return
        load = ast.Name(id=stmt.target.id, ctx=ast.Load())
        value = ast.BinOp(left=load, op=stmt.op, right=stmt.value)
        self.rebind(stmt.target.id, self.operation(value, out), out)
        # on an array, ``y += e`` writes into y: what aliases y sees it
        out[-1].tangent_augmented = True

    def stmt_If(self, stmt, out):
        test = self.condition(stmt.test, out)
        out.append(self.at(ast.If(test=test, body=self.body(stmt.body), orelse=self.body(stmt.orelse))))

    def stmt_While(self, stmt, out):
        snapshots = self.snapshots(stmt, out)  # `while tangent.checkpointed(condition, snapshots=k)`
        test = self.condition(stmt.test, out)
        body = self.body(stmt.body)
        saved, self.current = self.current, stmt
        retest: list = []
        retest_value = self.operation(getattr(stmt, "tangent_retest", stmt.test), retest)
        retest.append(self.assign(test.id, retest_value))
        self.current = saved
        loop = ast.While(test=test, body=body + retest, orelse=[])
        if snapshots is not None:
            loop.tangent_checkpointed = snapshots
        out.append(self.at(loop))

    def snapshots(self, stmt, out):
        """A checkpointed loop's snapshots argument as an atom (None for other loops)."""
        snapshots = getattr(stmt, "tangent_checkpointed", None)
        if snapshots is not None and not isinstance(snapshots, ast.Constant):
            var = self.namer.fresh("_snapshots")
            out.append(self.assign(var, self.operation(snapshots, out)))
            snapshots = ast.Name(id=var, ctx=ast.Load())
        return snapshots

    def stmt_For(self, stmt, out):
        """``for i in range(...)`` (the user's) or ``for i in _range`` (desugar's)."""
        if getattr(stmt, "tangent_indexed", False):
            loop = ast.For(target=stmt.target, iter=stmt.iter, body=self.body(stmt.body), orelse=[])
            out.append(self.at(loop))
            return
        it = stmt.iter
        assert isinstance(stmt.target, ast.Name) and isinstance(it, ast.Call) \
            and self.parsed.resolve(it.func) is builtins.range, "other loops are desugared"
        snapshots = self.snapshots(stmt, out)  # `for t in tangent.checkpointed(range(...), snapshots=k)`
        range_name = self.atom(it, out, "range")
        loop = ast.For(target=ast.Name(id=stmt.target.id, ctx=ast.Store()), iter=range_name,
                       body=self.body(stmt.body), orelse=[])
        if snapshots is not None:
            loop.tangent_checkpointed = snapshots
        out.append(self.at(loop))

    def stmt_Return(self, stmt, out):
        if stmt.value is None:
            raise self.error(stmt, "the function returns None; a differentiated function must return a value")
        value = self.operation(stmt.value, out)
        if not is_atom(value):
            name = self.namer.fresh("result")
            out.append(self.assign(name, value))
            value = ast.Name(id=name, ctx=ast.Load())
        out.append(self.at(ast.Return(value=value)))

    def stmt_Expr(self, stmt, out):
        value = stmt.value
        if isinstance(value, ast.Constant):
            return  # docstring or bare constant
        if isinstance(value, StmtExpr):  # a discarded constructor call
            out.append(self.at(ast.Expr(value=self.operation(value, out))))
            return
        if not isinstance(value, ast.Call):
            out.append(stmt)
            return
        func = value.func
        callee = self.parsed.resolve(func)
        if callee is not UNRESOLVED:
            refusal = resolve.discarded_call_refusal(callee, [kw.arg for kw in value.keywords])
            if refusal is not None:
                raise self.error(stmt, *refusal)
            # its arguments are computed first, one operation each, like any call's
            out.append(self.at(ast.Expr(value=self.call(value, out))))
            return
        if not (isinstance(func, ast.Attribute) and func.attr in resolve.LIST_METHODS
                and isinstance(func.value, ast.Name) and func.value.id in self.parsed.local_names):
            raise self.error(
                stmt,
                "a call whose result is discarded may mutate a value "
                f"({self.shown(func)}); Tangent cannot undo that in the backward pass",
                "assign the result to a new variable instead of mutating in place",
            )
        if func.attr == "pop":  # a discarded pop still moves the list's adjoint
            out.append(self.assign(self.temp("popped"), self.call(value, out)))
            return
        out.append(self.at(ast.Expr(value=self.call(value, out))))

    def stmt_Pass(self, stmt, out):
        return

    def stmt_Assert(self, stmt, out):
        out.append(stmt)

    stmt_Raise = stmt_Assert

    # ----------------------------------------------------------- bindings
    def note_binding(self, target: str, value: ast.expr) -> None:
        """Track objects built in the function through ``target = value``."""
        if isinstance(value, ast.Name) and value.id in self.constructed:
            self.constructed.add(target)  # obj = Cls(...): the same object, of its class where known
            if value.id in self.parsed.types:  # (a private copy of an array has none)
                self.parsed.types[target] = self.parsed.types[value.id]
        elif isinstance(value, ast.Call) and getattr(value, "tangent_callee", None) is object.__new__ \
                and len(value.args) == 1 and isinstance(self.parsed.resolve(value.args[0]), type):
            # obj = object.__new__(Cls), as in generated code that built an object: writable attributes
            self.constructed.add(target)
            self.parsed.types[target] = self.parsed.resolve(value.args[0])
        elif isinstance(value, ast.Call) and getattr(value, "tangent_callee", None) is private_copy:
            self.constructed.add(target)  # x_copy = private_copy(x), as in generated code: writable attributes

    def rebind(self, target: str, value: ast.expr, out: list) -> None:
        """``target = value``; when the value reads the target itself
        (``y = y * y``) it is computed into a temporary first, so that every
        statement's inputs still hold their values after it ran."""
        if not is_atom(value) and any(
            isinstance(n, ast.Name) and n.id == target for n in ast.walk(value)
        ):
            temp = self.temp(describe(value, "t"))
            out.append(self.assign(temp, value))
            value = ast.Name(id=temp, ctx=ast.Load())
        self.note_binding(target, value)
        out.append(self.assign(target, value))

    def assign_target(self, target: ast.expr, value: ast.expr, out: list) -> None:
        if isinstance(target, ast.Name):
            out.append(self.assign(target.id, value))
        elif isinstance(target, (ast.Tuple, ast.List)):
            for i, elt in enumerate(target.elts):
                item = ast.Subscript(value=copy.deepcopy(value), slice=ast.Constant(value=i), ctx=ast.Load())
                if isinstance(elt, ast.Name):
                    out.append(self.assign(elt.id, item))
                else:
                    name = self.temp("item")
                    out.append(self.assign(name, item))
                    self.assign_target(elt, ast.Name(id=name, ctx=ast.Load()), out)
        elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                and (target.value.id in self.constructed or target.value.id in self.parameters):
            # obj.attr = v on an object built in this function or an argument
            # (private_arguments.py): a write like d["attr"] = v
            value = value if is_atom(value) else self.atom(value, out)
            store = ast.Attribute(value=ast.Name(id=target.value.id, ctx=ast.Load()), attr=target.attr, ctx=ast.Store())
            out.append(self.at(ast.Assign(targets=[store], value=value)))
        elif isinstance(target, ast.Subscript):
            index = self.index(target.slice, out)
            value = value if is_atom(value) else self.atom(value, out)
            store = ast.Subscript(value=ast.Name(id=target.value.id, ctx=ast.Load()), slice=index, ctx=ast.Store())
            out.append(self.at(ast.Assign(targets=[store], value=value)))
        elif isinstance(target, ast.Attribute):
            raise self.error(target, f"assignment to {self.shown(target)} is not supported: attributes are "
                             "assigned only on an argument or an object built in the function, by its own name",
                             "assign through the argument's name, or build a new object")
        else:
            raise self.error(target, f"assignment to {self.shown(target)} is not supported",
                             "assign to a plain variable or into an array element")


def anf(body: list[ast.stmt], parsed: ParsedFunction, namer: Namer) -> list[ast.stmt]:
    """``body`` (desugared) in A-normal form (see module doc).

    Example::

        body = anf(desugar(tree.body, parsed, namer), parsed, namer)
    """
    return ANF(parsed, namer).body(body)
