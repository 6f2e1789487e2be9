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

from . import resolve
from .desugar import StmtExpr, is_atom
from .errors import TangentSyntaxError
from .frontend import UNRESOLVED, ParsedFunction
from .naming import Namer
from .runtime import attribute

BINOP_NAMES = {
    ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow",
    ast.MatMult: "matmul", ast.FloorDiv: "floordiv", ast.Mod: "mod",
    ast.BitAnd: "and", ast.BitOr: "or", ast.BitXor: "xor", ast.LShift: "lshift",
    ast.RShift: "rshift",
}
UNARY_NAMES = {ast.USub: "neg", ast.UAdd: "pos", ast.Not: "not", ast.Invert: "invert"}


def describe(node: ast.expr, default: str) -> str:
    """A readable base for the temporary holding ``node``'s value."""
    if isinstance(node, ast.BinOp):
        return BINOP_NAMES.get(type(node.op), default)
    if isinstance(node, ast.UnaryOp):
        return UNARY_NAMES.get(type(node.op), default)
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute):
            return func.attr
        if isinstance(func, ast.Name):
            return func.id
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value.isidentifier():
            return f"{node.value.id}_{key.value}"
        return node.value.id + "_item"
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Compare):
        return "cond"
    if isinstance(node, (ast.Tuple, ast.List)):
        return "tuple" if isinstance(node, ast.Tuple) else "list"
    return default


def global_constant(node: ast.Attribute, value) -> ast.Attribute:
    """``node`` marked as a resolved global (``np.pi``): an atom."""
    glob = copy.deepcopy(node)
    glob.tangent_global = True
    glob.tangent_value = value
    return glob


class ANF:
    """Rewrites a desugared body into A-normal form (see module doc).

    One method per kind of expression (``op_<Kind>``) and statement
    (``stmt_<Kind>``); ``out`` is the list the statements a node needs are
    appended to, in evaluation order.
    """

    def __init__(self, parsed: ParsedFunction, namer: Namer):
        self.parsed = parsed
        self.origin = parsed.origin
        self.namer = namer
        self.current: ast.stmt | None = None
        self.constructed: set[str] = set()  # objects built in the function (writable attributes)

    # ------------------------------------------------------------ helpers
    def error(self, node, message: str, hint: str = "") -> TangentSyntaxError:
        return self.origin.error(TangentSyntaxError, node if getattr(node, "lineno", None) else self.current, message, hint)

    def at(self, node: ast.AST) -> ast.AST:
        src = self.current
        if src is not None:
            node.lineno = src.lineno
            node.col_offset = src.col_offset
            node.end_lineno = getattr(src, "end_lineno", src.lineno)
            node.end_col_offset = getattr(src, "end_col_offset", 0)
        return node

    def assign(self, name: str, value: ast.expr) -> ast.Assign:
        return self.at(ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=value))

    def temp(self, base: str) -> str:
        return self.namer.fresh("_" + base.strip("_"))

    # -------------------------------------------------------- expressions
    def atom(self, node: ast.expr, out: list, base: str = "t") -> ast.expr:
        """Normalize ``node`` to an atom, appending the statements it needs."""
        if isinstance(node, ast.Name):
            return ast.Name(id=node.id, ctx=ast.Load())
        if isinstance(node, ast.Constant):
            return ast.Constant(value=node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)) and isinstance(
            node.operand, ast.Constant
        ) and isinstance(node.operand.value, (int, float, complex)):
            value = node.operand.value
            return ast.Constant(value=-value if isinstance(node.op, ast.USub) else value)
        if isinstance(node, ast.Attribute) and self.parsed.resolve(node) is not UNRESOLVED:
            obj = self.parsed.resolve(node)
            if not callable(obj) or isinstance(obj, type):
                return global_constant(node, obj)
        value = self.operation(node, out)
        if is_atom(value):
            return value
        name = self.temp(describe(node, base))
        out.append(self.assign(name, value))
        return ast.Name(id=name, ctx=ast.Load())

    def operation(self, node: ast.expr, out: list) -> ast.expr:
        """Normalize ``node`` to a single operation on atoms (or an atom)."""
        handler = getattr(self, "op_" + type(node).__name__, None)
        if handler is None:
            raise self.error(node, f"the expression {ast.unparse(node)!r} is not supported")
        return handler(node, out)

    def op_Name(self, node, out):
        return self.atom(node, out)

    op_Constant = op_Name

    def op_StmtExpr(self, node: StmtExpr, out: list) -> ast.Name:
        """The desugared statements (normalized where the value is needed), then their result."""
        saved = self.current
        for stmt in copy.deepcopy(node.body):  # a while test is normalized twice
            self.current = stmt
            self.statement(stmt, out)
        self.current = saved
        return ast.Name(id=node.result, ctx=ast.Load())

    def op_BinOp(self, node, out):
        left = self.atom(node.left, out)
        right = self.atom(node.right, out)
        return ast.BinOp(left=left, op=node.op, right=right)

    def op_UnaryOp(self, node, out):
        # (+x is a new array, not x itself: the unary plus is kept)
        if isinstance(node.operand, ast.Constant) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return self.atom(node, out)
        return ast.UnaryOp(op=node.op, operand=self.atom(node.operand, out))

    def op_Compare(self, node, out):
        if len(node.ops) == 1:
            left = self.atom(node.left, out)
            right = self.atom(node.comparators[0], out)
            return ast.Compare(left=left, ops=node.ops, comparators=[right])
        # a < b < c  ->  (a < b) and (b < c), evaluating b once
        first = self.atom(node.left, out)
        result = self.temp("cond")
        self._chain(result, first, list(zip(node.ops, node.comparators)), out)
        return ast.Name(id=result, ctx=ast.Load())

    def op_BoolOp(self, node, out):
        result = self.temp("and" if isinstance(node.op, ast.And) else "or")
        self._boolop(result, node.op, node.values, out)
        return ast.Name(id=result, ctx=ast.Load())

    def op_IfExp(self, node, out):
        result = self.temp("ifexp")
        body, orelse = [], []
        body.append(self.assign(result, self.operation(node.body, body)))
        orelse.append(self.assign(result, self.operation(node.orelse, orelse)))
        out.append(self.at(ast.If(test=self.condition(node.test, out), body=body, orelse=orelse)))
        return ast.Name(id=result, ctx=ast.Load())

    def op_Call(self, node, out):
        return self.call(node, out)

    def op_Subscript(self, node, out):
        value = self.atom(node.value, out)
        index = self.index(node.slice, out)
        return ast.Subscript(value=value, slice=index, ctx=ast.Load())

    def op_Attribute(self, node, out):
        resolved = self.parsed.resolve(node)
        if resolved is not UNRESOLVED:
            return global_constant(node, resolved)
        value = self.atom(node.value, out)
        kind, callee = resolve.attribute_read(self.class_of(value), node.attr, attribute)
        if kind == "property":
            # a property: call its getter like a method
            call = ast.Call(func=ast.Attribute(value=value, attr=node.attr, ctx=ast.Load()), args=[], keywords=[])
            call.tangent_callee = callee
            call.tangent_method = True
            call.tangent_property = True
            return call
        attr = ast.Attribute(value=value, attr=node.attr, ctx=ast.Load())
        attr.tangent_callee = callee
        return attr

    def op_Tuple(self, node, out):
        elts = [self.atom(e, out) for e in node.elts]
        cls = ast.Tuple if isinstance(node, ast.Tuple) else ast.List
        return cls(elts=elts, ctx=ast.Load())

    op_List = op_Tuple

    def op_Dict(self, node, out):
        keys = [self.atom(k, out) for k in node.keys]
        values = [self.atom(v, out) for v in node.values]
        return ast.Dict(keys=keys, values=values)

    def op_JoinedStr(self, node, out):
        return node

    def _chain(self, result, left, pairs, out):
        op, right_node = pairs[0]
        right = self.atom(right_node, out)
        out.append(self.assign(result, ast.Compare(left=left, ops=[op], comparators=[right])))
        if len(pairs) > 1:
            body: list = []
            self._chain(result, right, pairs[1:], body)
            out.append(self.at(ast.If(test=self.condition(ast.Name(id=result, ctx=ast.Load()), out), body=body, orelse=[])))

    def _boolop(self, result, op, values, out):
        out.append(self.assign(result, self.operation(values[0], out)))
        if len(values) > 1:
            body: list = []
            self._boolop(result, op, values[1:], body)
            test = ast.Name(id=result, ctx=ast.Load())
            if isinstance(op, ast.Or):
                test = ast.UnaryOp(op=ast.Not(), operand=test)
            out.append(self.at(ast.If(test=self.condition(test, out), body=body, orelse=[])))

    def condition(self, test: ast.expr, out: list) -> ast.Name:
        """A fresh name holding the test, so branches cannot clobber it."""
        name = self.temp("cond")
        out.append(self.assign(name, self.operation(test, out) if not is_atom(test) else test))
        return ast.Name(id=name, ctx=ast.Load())

    def index(self, node: ast.expr, out: list) -> ast.expr:
        if isinstance(node, ast.Slice):
            parts = [None if p is None else self.atom(p, out) for p in (node.lower, node.upper, node.step)]
            return ast.Slice(lower=parts[0], upper=parts[1], step=parts[2])
        if isinstance(node, ast.Tuple):
            return ast.Tuple(elts=[self.index(e, out) for e in node.elts], ctx=ast.Load())
        return self.atom(node, out, "index")

    # -------------------------------------------------------------- calls
    def call(self, node: ast.Call, out: list) -> ast.Call:
        """A call on atoms, its callee resolved (see resolve.py)."""
        func = node.func
        preset = getattr(node, "tangent_callee", None)
        if preset is not None:
            func = ast.Name(id=func.id, ctx=ast.Load())
            func.tangent_value = preset  # an engine helper, bound in the generated module
            return self._finish_call(node, func, preset, False, out)
        callee = self.parsed.resolve(func)
        if callee is not UNRESOLVED:
            assert not resolve.constructible(self.parsed, callee), "constructor calls are desugared"
            return self._finish_call(node, *resolve.known_callee(callee, func), out)
        if isinstance(func, ast.Attribute) and not (
            isinstance(func.value, ast.Name) and func.value.id not in self.parsed.local_names
        ):
            receiver = self.atom(func.value, out, "obj")
            try:
                callee, is_method = resolve.method(self.class_of(receiver), func.attr)
            except resolve.Unresolvable as e:
                raise self.error(node, e.message, e.hint) from None
            func = ast.Attribute(value=receiver, attr=func.attr, ctx=ast.Load())
            return self._finish_call(node, func, callee, is_method, out)
        if isinstance(func, ast.Name):
            call_method = resolve.call_method(self.parsed.types.get(func.id))
            if call_method is not None:
                # calling an object: its class's __call__ method
                func = ast.Attribute(value=ast.Name(id=func.id, ctx=ast.Load()), attr="__call__", ctx=ast.Load())
                return self._finish_call(node, func, call_method, True, out)
            if func.id in self.parsed.local_names:
                raise self.error(
                    node,
                    f"cannot call the local variable {func.id!r}: the function it holds is unknown when differentiating",
                    "call the function by its global name",
                )
        raise self.error(node, f"cannot resolve the function {ast.unparse(func)!r}",
                         "make sure it is defined or imported before differentiating")

    def class_of(self, atom: ast.expr):
        """The user class of a local value, when known."""
        if isinstance(atom, ast.Name):
            return self.parsed.types.get(atom.id)
        return None

    def _finish_call(self, node, func, callee, is_method, out) -> ast.Call:
        args = [self.atom(arg, out) for arg in node.args]
        keywords = [ast.keyword(arg=kw.arg, value=self.atom(kw.value, out)) for kw in node.keywords]
        call = ast.Call(func=func, args=args, keywords=keywords)
        call.tangent_callee = callee
        call.tangent_method = is_method
        call.tangent_pure_call = resolve.is_pure_function(callee)
        return call

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
        value = self.atom(stmt.value, out, "value")
        for target in stmt.targets:
            self.assign_target(target, value, out)

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
        test = self.condition(stmt.test, out)
        body = self.body(stmt.body)
        saved, self.current = self.current, stmt
        retest: list = []
        retest_value = self.operation(stmt.test, retest)
        retest.append(self.assign(test.id, retest_value))
        self.current = saved
        out.append(self.at(ast.While(test=test, body=body + retest, orelse=[])))

    def stmt_For(self, stmt, out):
        """``for i in range(...)`` (the user's) or ``for i in _range`` (desugar's)."""
        if getattr(stmt, "tangent_indexed", False):
            loop = ast.For(target=stmt.target, iter=stmt.iter, body=self.body(stmt.body), orelse=[])
            out.append(self.at(loop))
            return
        it = stmt.iter
        assert isinstance(stmt.target, ast.Name) and isinstance(it, ast.Call) \
            and self.parsed.resolve(it.func) is builtins.range, "other loops are desugared"
        range_name = self.atom(it, out, "range")
        loop = ast.For(target=ast.Name(id=stmt.target.id, ctx=ast.Store()), iter=range_name,
                       body=self.body(stmt.body), orelse=[])
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
        if self.parsed.resolve(func) is not UNRESOLVED:
            # its arguments are computed first, one operation each, like any call's
            out.append(self.at(ast.Expr(value=self.call(value, out))))
            return
        if not (isinstance(func, ast.Attribute) and func.attr in resolve.LIST_METHODS
                and isinstance(func.value, ast.Name) and func.value.id in self.parsed.local_names):
            raise self.error(
                stmt,
                "a call whose result is discarded may mutate a value "
                f"({ast.unparse(func)}); Tangent cannot undo that in the backward pass",
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
            self.constructed.add(target)  # obj = Cls(...): the same object, of a known class
            self.parsed.types[target] = self.parsed.types[value.id]
        elif isinstance(value, ast.Call) and getattr(value, "tangent_callee", None) is object.__new__ \
                and len(value.args) == 1 and isinstance(self.parsed.resolve(value.args[0]), type):
            # obj = object.__new__(Cls), as in generated code that built an object: writable attributes
            self.constructed.add(target)
            self.parsed.types[target] = self.parsed.resolve(value.args[0])

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
                and target.value.id in self.constructed:
            # obj.attr = v on an object built in this function: a write like d["attr"] = v
            value = value if is_atom(value) else self.atom(value, out)
            store = ast.Attribute(value=ast.Name(id=target.value.id, ctx=ast.Load()), attr=target.attr, ctx=ast.Store())
            out.append(self.at(ast.Assign(targets=[store], value=value)))
        elif isinstance(target, ast.Subscript):
            index = self.index(target.slice, out)
            value = value if is_atom(value) else self.atom(value, out)
            store = ast.Subscript(value=ast.Name(id=target.value.id, ctx=ast.Load()), slice=index, ctx=ast.Store())
            out.append(self.at(ast.Assign(targets=[store], value=value)))
        else:
            raise self.error(target, f"assignment to {ast.unparse(target)} is not supported",
                             "assign to a plain variable or into an array element")


def anf(body: list[ast.stmt], parsed: ParsedFunction, namer: Namer) -> list[ast.stmt]:
    """``body`` (desugared) in A-normal form (see module doc).

    Example::

        body = anf(desugar(tree.body, parsed, namer), parsed, namer)
    """
    return ANF(parsed, namer).body(body)
