"""Normalize a function into one operation per statement (A-normal form).

After this pass every statement is one of:

* ``name = atom`` or ``name = <one operation on atoms>`` where an operation is
  a binary or unary operator, a comparison, a call, a subscript read, an
  attribute read, or a tuple/list/dict display;
* ``if name: ...``, ``while name: ...`` (the test recomputed at the end of the
  body), ``for name in range_name: ...`` (every loop runs over a ``range``);
* ``return atom`` as the last statement;
* side-effect-only statements (``print(...)``, ``assert``) run in the primal.

Atoms are names, constants and resolved global constants (``np.pi``). Each new
statement keeps the line number of the user's statement it came from. Calls
carry the object they resolve to in ``node.tangent_callee``.
"""

from __future__ import annotations

import ast
import builtins
import copy
import inspect
import types

import numpy as np

from .astwalk import copy_tree
from .controlflow import iteration_plan, lower_control_flow
from .errors import TangentSyntaxError
from .frontend import UNRESOLVED, ParsedFunction, local_names
from .ir import GradHook
from .naming import Namer
from .runtime import attribute
from .surgery import insert_grad_of

BINOP_NAMES = {
    ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow",
    ast.MatMult: "matmul", ast.FloorDiv: "floordiv", ast.Mod: "mod",
    ast.BitAnd: "and", ast.BitOr: "or", ast.BitXor: "xor", ast.LShift: "lshift",
    ast.RShift: "rshift",
}
UNARY_NAMES = {ast.USub: "neg", ast.UAdd: "pos", ast.Not: "not", ast.Invert: "invert"}

# Methods and attributes of local values are resolved on numpy.ndarray: the
# value's type is only known at run time, and arrays are what numeric code holds.
ARRAY_TYPE = np.ndarray
# Methods that mutate a local list (the stack of generated reverse code, or a
# user's list being built).
LIST_METHODS = {"append": list.append, "pop": list.pop}


def is_pure_function(callee) -> bool:
    """NumPy and math functions without side effects: a result nobody reads
    need not be computed (random number generators excepted)."""
    module = getattr(callee, "__module__", None) or ""
    if isinstance(callee, np.ufunc):
        return True
    if module == "math":
        return True
    return module.startswith("numpy") and "random" not in module and getattr(callee, "__name__", "") not in (
        "copyto", "put", "place", "putmask", "fill_diagonal", "seterr", "save", "savez", "savetxt")


def is_atom(node: ast.expr) -> bool:
    return isinstance(node, (ast.Name, ast.Constant)) or getattr(node, "tangent_global", False)


class Normalizer:
    """Rewrites a ParsedFunction's body into A-normal form (see module doc)."""

    def __init__(self, parsed: ParsedFunction, namer: Namer):
        self.parsed = parsed
        self.origin = parsed.origin
        self.namer = namer
        self.current: ast.stmt | None = None
        self.local_functions: dict[str, ast.FunctionDef] = {}
        self.inlining: set[str] = set()
        self.constructed: set[str] = set()  # objects built in the function (writable attributes)
        self.inlining_self: dict[str, str] = {}

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
                glob = copy.deepcopy(node)
                glob.tangent_global = True
                glob.tangent_value = obj
                return glob
        value = self.operation(node, out)
        if is_atom(value):
            return value
        name = self.temp(self.describe(node, base))
        out.append(self.assign(name, value))
        return ast.Name(id=name, ctx=ast.Load())

    def describe(self, node: ast.expr, default: str) -> str:
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

    def operation(self, node: ast.expr, out: list) -> ast.expr:
        """Normalize ``node`` to a single operation on atoms (or an atom)."""
        if isinstance(node, (ast.Name, ast.Constant)):
            return self.atom(node, out)
        if isinstance(node, ast.BinOp):
            left = self.atom(node.left, out)
            right = self.atom(node.right, out)
            return ast.BinOp(left=left, op=node.op, right=right)
        if isinstance(node, ast.UnaryOp):
            # (+x is a new array, not x itself: the unary plus is kept)
            if isinstance(node.operand, ast.Constant) and isinstance(node.op, (ast.USub, ast.UAdd)):
                return self.atom(node, out)
            return ast.UnaryOp(op=node.op, operand=self.atom(node.operand, out))
        if isinstance(node, ast.Compare):
            if len(node.ops) == 1:
                left = self.atom(node.left, out)
                right = self.atom(node.comparators[0], out)
                return ast.Compare(left=left, ops=node.ops, comparators=[right])
            # a < b < c  ->  (a < b) and (b < c), evaluating b once
            operands = [node.left] + list(node.comparators)
            atoms = [self.atom(operands[0], out)]
            pairs = []
            for op, right in zip(node.ops, operands[1:]):
                pairs.append((op, right))
            result = self.temp("cond")
            self._chain(result, atoms[0], pairs, out)
            return ast.Name(id=result, ctx=ast.Load())
        if isinstance(node, ast.BoolOp):
            result = self.temp("and" if isinstance(node.op, ast.And) else "or")
            self._boolop(result, node.op, node.values, out)
            return ast.Name(id=result, ctx=ast.Load())
        if isinstance(node, ast.IfExp):
            result = self.temp("ifexp")
            body, orelse = [], []
            body.append(self.assign(result, self.operation(node.body, body)))
            orelse.append(self.assign(result, self.operation(node.orelse, orelse)))
            out.append(self.at(ast.If(test=self.condition(node.test, out), body=body, orelse=orelse)))
            return ast.Name(id=result, ctx=ast.Load())
        if isinstance(node, ast.Call):
            return self.call(node, out)
        if isinstance(node, ast.Subscript):
            value = self.atom(node.value, out)
            index = self.index(node.slice, out)
            return ast.Subscript(value=value, slice=index, ctx=ast.Load())
        if isinstance(node, ast.Attribute):
            resolved = self.parsed.resolve(node)
            if resolved is not UNRESOLVED:
                glob = copy.deepcopy(node)
                glob.tangent_global = True
                glob.tangent_value = resolved
                return glob
            value = self.atom(node.value, out)
            attr = ast.Attribute(value=value, attr=node.attr, ctx=ast.Load())
            cls = self.class_of(value)
            if cls is not None and isinstance(getattr(cls, node.attr, None), property):
                # a property: call its getter like a method
                call = ast.Call(func=ast.Attribute(value=value, attr=node.attr, ctx=ast.Load()), args=[], keywords=[])
                call.tangent_callee = getattr(cls, node.attr).fget
                call.tangent_method = True
                call.tangent_property = True
                return call
            if cls is None and hasattr(ARRAY_TYPE, node.attr):
                attr.tangent_callee = getattr(ARRAY_TYPE, node.attr)
            else:
                attr.tangent_callee = attribute  # an object's attribute: differentiable like a dict item
            return attr
        if isinstance(node, (ast.Tuple, ast.List)):
            if any(isinstance(e, ast.Starred) for e in node.elts):
                raise self.error(node, "starred elements in a tuple or list display are not supported",
                                 "build the sequence with explicit elements")
            elts = [self.atom(e, out) for e in node.elts]
            cls = ast.Tuple if isinstance(node, ast.Tuple) else ast.List
            return cls(elts=elts, ctx=ast.Load())
        if isinstance(node, ast.Dict):
            if any(k is None for k in node.keys):
                raise self.error(node, "dict unpacking (**) in a dict display is not supported")
            keys = [self.atom(k, out) for k in node.keys]
            values = [self.atom(v, out) for v in node.values]
            return ast.Dict(keys=keys, values=values)
        if isinstance(node, ast.Lambda):
            raise self.error(node, "a lambda can only be assigned to a name and called",
                             "write f = lambda ...: ... and call f(...), or use a def")
        if isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.DictComp)):
            return ast.Name(id=self.comprehension(node, out), ctx=ast.Load())
        if isinstance(node, ast.SetComp):
            raise self.error(node, "set comprehensions cannot be differentiated", "build a list instead")
        if isinstance(node, ast.JoinedStr):
            return node
        if isinstance(node, (ast.Yield, ast.YieldFrom, ast.Await)):
            raise self.error(node, "generators and coroutines cannot be differentiated")
        if isinstance(node, ast.NamedExpr):
            raise self.error(node, "assignment expressions (:=) are not supported", "assign in a separate statement")
        raise self.error(node, f"the expression {ast.unparse(node)!r} is not supported")

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

    def call(self, node: ast.Call, out: list) -> ast.Call:
        func = node.func
        callee = getattr(node, "tangent_callee", None) or self.parsed.resolve(func)
        is_method = False
        if getattr(node, "tangent_callee", None) is not None:
            func = ast.Name(id=func.id, ctx=ast.Load())
            func.tangent_value = callee  # an engine helper, bound in the generated module
        elif callee is UNRESOLVED:
            if isinstance(func, ast.Attribute) and not (
                isinstance(func.value, ast.Name) and func.value.id not in self.parsed.local_names
            ):
                receiver = self.atom(func.value, out, "obj")
                cls = self.class_of(receiver)
                if cls is not None:
                    method = inspect.getattr_static(cls, func.attr, UNRESOLVED)
                    if isinstance(method, staticmethod):
                        method = method.__func__
                        func = ast.Attribute(value=receiver, attr=func.attr, ctx=ast.Load())
                        callee = method
                        is_method = False
                        return self._finish_call(node, func, callee, is_method, out)
                    if isinstance(method, classmethod):
                        raise self.error(node, "classmethods are not supported", "use a staticmethod or a function")
                    if method is UNRESOLVED or not callable(method):
                        raise self.error(node, f"{cls.__name__} has no method {func.attr!r}")
                else:
                    method = getattr(ARRAY_TYPE, func.attr, LIST_METHODS.get(func.attr, UNRESOLVED))
                if method is UNRESOLVED:
                    raise self.error(
                        node,
                        f"cannot resolve the method .{func.attr}() of a local value",
                        "Tangent reads methods of local values as NumPy array methods; "
                        "call a function instead",
                    )
                func = ast.Attribute(value=receiver, attr=func.attr, ctx=ast.Load())
                callee = method
                is_method = True
            elif isinstance(func, ast.Name) and func.id in self.local_functions:
                return self.inline(func.id, node, out)
            elif isinstance(func, ast.Name) and isinstance(
                    inspect.getattr_static(self.parsed.types.get(func.id, object), "__call__", None), types.FunctionType):
                # calling an object: its class's __call__ method
                receiver = ast.Name(id=func.id, ctx=ast.Load())
                func = ast.Attribute(value=receiver, attr="__call__", ctx=ast.Load())
                callee = self.parsed.types[func.value.id].__call__
                is_method = True
            elif isinstance(func, ast.Name) and func.id in self.parsed.local_names:
                raise self.error(
                    node,
                    f"cannot call the local variable {func.id!r}: the function it holds is unknown when differentiating",
                    "call the function by its global name",
                )
            else:
                raise self.error(node, f"cannot resolve the function {ast.unparse(func)!r}",
                                 "make sure it is defined or imported before differentiating")
        elif self.constructible(callee):
            return self.construct(callee, func, node, out)
        else:
            func = copy.deepcopy(func)
            call_method = inspect.getattr_static(type(callee), "__call__", None)
            if not isinstance(callee, (type, types.FunctionType, types.BuiltinFunctionType, types.MethodType, np.ufunc)) \
                    and isinstance(call_method, types.FunctionType) and type(callee).__module__ not in ("builtins",) \
                    and not type(callee).__module__.startswith("numpy") and isinstance(func, (ast.Name, ast.Attribute)):
                # a callable object known when differentiating: its class's __call__
                func = ast.Attribute(value=func, attr="__call__", ctx=ast.Load())
                callee, is_method = call_method, True
            elif isinstance(callee, types.MethodType) and isinstance(callee.__func__, types.FunctionType) \
                    and isinstance(func, ast.Attribute):
                # a method of an object known when differentiating (e.g. self of a bound method)
                callee, is_method = callee.__func__, True
        return self._finish_call(node, func, callee, is_method, out)

    def constructible(self, callee) -> bool:
        """A user class whose __init__ (in this module) can be inlined."""
        if not isinstance(callee, type) or callee.__module__ in ("builtins",) or callee.__module__.startswith("numpy"):
            return False
        init = inspect.getattr_static(callee, "__init__", None)
        return (isinstance(init, types.FunctionType) and init.__globals__ is self.parsed.func.__globals__
                and inspect.getattr_static(callee, "__new__", object.__new__) is object.__new__)

    def construct(self, cls, func, node: ast.Call, out: list) -> ast.Name:
        """Cls(args) -> obj = object.__new__(Cls); Cls.__init__ inlined on obj.
        The object's attributes then behave like the items of a dict."""
        from .frontend import parse_function

        obj = self.temp(cls.__name__.lower())
        new = ast.Call(func=ast.Attribute(value=ast.Name(id="object", ctx=ast.Load()), attr="__new__", ctx=ast.Load()),
                       args=[copy.deepcopy(func)], keywords=[])
        new.tangent_callee = object.__new__
        new.tangent_method = False
        new.tangent_pure_call = False
        out.append(self.assign(obj, new))
        self.constructed.add(obj)
        self.parsed.types[obj] = cls
        self.parsed.local_names = self.parsed.local_names | {obj}
        init = parse_function(cls.__init__).tree
        init.body = list(init.body) + [ast.copy_location(ast.Return(value=ast.Constant(value=None)), init.body[-1])]
        name = f"__init_{cls.__name__}"
        self.local_functions[name] = init
        receiver = ast.Name(id=obj, ctx=ast.Load())
        call = ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=[receiver] + list(node.args), keywords=node.keywords)
        self_param = (init.args.posonlyargs + init.args.args)[0].arg
        self.inlining_self[name] = obj
        try:
            self.inline(name, call, out, keep={self_param: obj})
        finally:
            self.inlining_self.pop(name, None)
        return ast.Name(id=obj, ctx=ast.Load())

    def class_of(self, atom: ast.expr):
        """The user class of a local value, when known."""
        if isinstance(atom, ast.Name):
            return self.parsed.types.get(atom.id)
        return None

    def _finish_call(self, node, func, callee, is_method, out) -> ast.Call:
        args = []
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.error(node, "star-arguments (*args) in calls are not supported",
                                 "pass the arguments explicitly")
            args.append(self.atom(arg, out))
        keywords = []
        for kw in node.keywords:
            if kw.arg is None:
                raise self.error(node, "keyword unpacking (**kwargs) in calls is not supported",
                                 "pass the keywords explicitly")
            keywords.append(ast.keyword(arg=kw.arg, value=self.atom(kw.value, out)))
        call = ast.Call(func=func, args=args, keywords=keywords)
        call.tangent_callee = callee
        call.tangent_method = is_method
        call.tangent_pure_call = is_pure_function(callee)
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
        if isinstance(stmt, ast.Assign):
            if len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) and isinstance(stmt.value, ast.Lambda):
                lam = stmt.value
                fdef = ast.FunctionDef(name=stmt.targets[0].id, args=lam.args, body=[ast.copy_location(ast.Return(value=lam.body), stmt)],
                                       decorator_list=[], returns=None, type_params=[])
                self.define_local_function(stmt.targets[0].id, ast.copy_location(fdef, stmt))
                return
            if len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                self.rebind(stmt.targets[0].id, self.operation(stmt.value, out), out)
                return
            value = self.atom(stmt.value, out, "value")
            for target in stmt.targets:
                self.assign_target(target, value, out)
        elif isinstance(stmt, ast.AnnAssign):
            if stmt.value is not None:
                self.statement(self.at(ast.Assign(targets=[stmt.target], value=stmt.value)), out)
        elif isinstance(stmt, ast.AugAssign):
            if isinstance(stmt.target, ast.Subscript):
                # y[i] += e  ->  _old = y[i]; _new = _old + e; y[i] = _new (index evaluated once)
                base = self.atom(stmt.target.value, out)
                index = self.index(stmt.target.slice, out)
                old = self.temp(self.describe(stmt.target, "item"))
                out.append(self.assign(old, ast.Subscript(value=base, slice=index, ctx=ast.Load())))
                value = ast.BinOp(left=ast.Name(id=old, ctx=ast.Load()), op=stmt.op, right=stmt.value)
                new = self.atom(value, out)
                store = ast.Subscript(value=copy.deepcopy(base), slice=copy.deepcopy(index), ctx=ast.Store())
                out.append(self.at(ast.Assign(targets=[store], value=new)))
                return
            if not isinstance(stmt.target, ast.Name):
                raise self.error(stmt, "augmented assignment into an attribute is not supported",
                                 "write obj.attr = obj.attr + ... on a new object, or use a plain variable")
            load = ast.Name(id=stmt.target.id, ctx=ast.Load())
            value = ast.BinOp(left=load, op=stmt.op, right=stmt.value)
            self.rebind(stmt.target.id, self.operation(value, out), out)
            # on an array, ``y += e`` writes into y: what aliases y sees it
            out[-1].tangent_augmented = True
        elif isinstance(stmt, ast.If):
            test = self.condition(stmt.test, out)
            out.append(self.at(ast.If(test=test, body=self.body(stmt.body), orelse=self.body(stmt.orelse))))
        elif isinstance(stmt, ast.While):
            test = self.condition(stmt.test, out)
            body = self.body(stmt.body)
            saved, self.current = self.current, stmt
            retest: list = []
            retest_value = self.operation(stmt.test, retest)
            retest.append(self.assign(test.id, retest_value))
            self.current = saved
            out.append(self.at(ast.While(test=test, body=body + retest, orelse=[])))
        elif isinstance(stmt, ast.For):
            self.for_loop(stmt, out)
        elif isinstance(stmt, ast.Return):
            if stmt.value is None:
                raise self.error(stmt, "the function returns None; a differentiated function must return a value")
            value = self.operation(stmt.value, out)
            if not is_atom(value):
                name = self.namer.fresh("result")
                out.append(self.assign(name, value))
                value = ast.Name(id=name, ctx=ast.Load())
            out.append(self.at(ast.Return(value=value)))
        elif isinstance(stmt, ast.Expr):
            if isinstance(stmt.value, ast.Constant):
                return  # docstring or bare constant
            if isinstance(stmt.value, ast.Call):
                callee = self.parsed.resolve(stmt.value.func)
                func = stmt.value.func
                if (callee is UNRESOLVED and isinstance(func, ast.Attribute) and func.attr in LIST_METHODS
                        and isinstance(func.value, ast.Name) and func.value.id in self.parsed.local_names):
                    if func.attr == "pop":  # a discarded pop still moves the list's adjoint
                        out.append(self.assign(self.temp("popped"), self.call(stmt.value, out)))
                        return
                    out.append(self.at(ast.Expr(value=self.call(stmt.value, out))))
                    return
                if callee is UNRESOLVED:
                    raise self.error(
                        stmt,
                        "a call whose result is discarded may mutate a value "
                        f"({ast.unparse(stmt.value.func)}); Tangent cannot undo that in the backward pass",
                        "assign the result to a new variable instead of mutating in place",
                    )
                # its arguments are computed first, one operation each, like any call's
                out.append(self.at(ast.Expr(value=self.call(stmt.value, out))))
                return
            out.append(stmt)
        elif isinstance(stmt, (ast.Pass,)):
            return
        elif isinstance(stmt, (ast.Assert, ast.Raise)):
            out.append(stmt)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            raise self.error(stmt, "import statements inside a differentiated function are not supported",
                             "import at module level")
        elif isinstance(stmt, (ast.Try,)):
            raise self.error(stmt, "try/except cannot be differentiated",
                             "move the try/except outside the differentiated function")
        elif isinstance(stmt, ast.With) and self.grad_hook(stmt, out):
            return
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            raise self.error(stmt, "with statements are not supported in a differentiated function",
                             "only `with tangent.insert_grad_of(x) as dx:` is; move other with blocks outside")
        elif isinstance(stmt, (ast.Global, ast.Nonlocal)):
            raise self.error(stmt, f"{type(stmt).__name__.lower()} declarations are not supported",
                             "pass the value in as an argument and return the new value")
        elif isinstance(stmt, ast.Delete):
            raise self.error(stmt, "del is not supported", "let the variable go out of scope instead")
        elif isinstance(stmt, ast.FunctionDef):
            self.define_local_function(stmt.name, stmt)
        elif isinstance(stmt, (ast.AsyncFunctionDef, ast.ClassDef)):
            raise self.error(stmt, "nested function and class definitions are not supported yet",
                             "define it at module level")
        else:
            raise self.error(stmt, f"the statement {type(stmt).__name__} is not supported")

    def grad_hook(self, stmt: ast.With, out: list) -> bool:
        """``with insert_grad_of(x) as dx:`` becomes a GradHook statement."""
        if len(stmt.items) != 1:
            return False
        item = stmt.items[0]
        expr = item.context_expr
        if not isinstance(expr, ast.Call) or self.parsed.resolve(expr.func) is not insert_grad_of:
            return False
        if len(expr.args) != 1 or expr.keywords or not isinstance(expr.args[0], ast.Name):
            raise self.error(stmt, "insert_grad_of takes one variable name", "write `with insert_grad_of(x) as dx:`")
        if not isinstance(item.optional_vars, ast.Name):
            raise self.error(stmt, "insert_grad_of needs a name for the adjoint", "write `with insert_grad_of(x) as dx:`")
        out.append(self.at(GradHook(expr.args[0].id, item.optional_vars.id, copy.deepcopy(stmt.body))))
        return True

    # ------------------------------------------------ local functions
    def define_local_function(self, fname: str, fdef: ast.FunctionDef) -> None:
        """Nested defs and lambdas are inlined where they are called, so they
        read the enclosing variables' current values, as closures do."""
        for node in ast.walk(fdef):
            if isinstance(node, (ast.Nonlocal, ast.Global)):
                raise self.error(node, "nonlocal/global in a nested function cannot be differentiated",
                                 "return the new value instead")
        if fdef.args.vararg or fdef.args.kwarg:
            raise self.error(fdef, "nested functions with *args or **kwargs are not supported")
        if fdef.decorator_list:
            raise self.error(fdef, "decorated nested functions are not supported", "define it at module level")
        self.local_functions[fname] = fdef

    def inline(self, fname: str, node: ast.Call, out: list, keep: dict | None = None) -> ast.expr:
        fdef = self.local_functions[fname]
        if fname in self.inlining:
            raise self.error(node, f"the nested function {fname!r} calls itself; recursion is only supported for module-level functions",
                             "define it at module level")
        args = fdef.args
        params = [a.arg for a in args.posonlyargs + args.args]
        defaults = dict(zip(params[len(params) - len(args.defaults):], args.defaults))
        for a, default in zip(args.kwonlyargs, args.kw_defaults):
            params.append(a.arg)
            if default is not None:
                defaults[a.arg] = default
        bound: dict[str, ast.expr] = {}
        if len(node.args) > len(args.posonlyargs + args.args):
            raise self.error(node, f"too many arguments for {fname}")
        for param, arg in zip(params, node.args):
            bound[param] = arg
        for kw in node.keywords:
            if kw.arg not in params or kw.arg in bound:
                raise self.error(node, f"bad keyword argument {kw.arg!r} for {fname}")
            bound[kw.arg] = kw.value
        stored = {n.id for n in ast.walk(fdef) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        renames = {v: self.namer.fresh(f"{v}_{fname.strip('_')}" if not v.startswith("_") else v)
                   for v in set(params) | stored}
        renames.update(keep or {})
        for param in params:
            if keep and param in keep:
                continue  # bound to the caller's variable itself (the object being built)
            value = bound.get(param, defaults.get(param))
            if value is None:
                raise self.error(node, f"missing argument {param!r} for {fname}")
            out.append(self.assign(renames[param], self.operation(value, out)))
        body = copy.deepcopy(fdef.body)
        result = self.namer.fresh(f"_{fname}")
        wrapper = ast.FunctionDef(name=fname, args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[],
                                                                 defaults=[]),
                                  body=body, decorator_list=[], returns=None, type_params=[])
        wrapper = lower_control_flow(wrapper, self.parsed, self.namer)

        class Rename(ast.NodeTransformer):
            def visit_Name(self, n):
                if n.id in renames:
                    n.id = renames[n.id]
                return n

        body = [Rename().visit(s) for s in wrapper.body]
        if not body or not isinstance(body[-1], ast.Return):
            raise self.error(fdef, f"the nested function {fname!r} must end with a return statement")
        final = body.pop()
        body.append(ast.copy_location(ast.Assign(targets=[ast.Name(id=result, ctx=ast.Store())], value=final.value), final))
        self.parsed.local_names = self.parsed.local_names | set(renames.values()) | {result}
        self.inlining.add(fname)
        saved = self.current
        try:
            for stmt in body:
                self.current = stmt
                self.statement(stmt, out)
        finally:
            self.current = saved
            self.inlining.discard(fname)
        return ast.Name(id=result, ctx=ast.Load())

    def comprehension(self, node, out: list) -> str:
        """[e for x in xs if c] -> a list built by a loop (likewise generator
        expressions and dict comprehensions); the loop variables get fresh
        names, as comprehensions have their own scope."""
        is_dict = isinstance(node, ast.DictComp)
        result = self.temp("dict" if is_dict else "list")
        renames: dict[str, str] = {}
        for gen in node.generators:
            for n in ast.walk(gen.target):
                if isinstance(n, ast.Name):
                    renames.setdefault(n.id, self.namer.fresh(n.id))

        class Rename(ast.NodeTransformer):
            def visit_Name(self, n):
                if n.id in renames:
                    return ast.copy_location(ast.Name(id=renames[n.id], ctx=n.ctx), n)
                return n

        node = Rename().visit(copy.deepcopy(node))
        if is_dict:
            inner = [ast.Assign(targets=[ast.Subscript(value=ast.Name(id=result, ctx=ast.Load()), slice=node.key,
                                                       ctx=ast.Store())], value=node.value)]
        else:
            append = ast.Call(func=ast.Attribute(value=ast.Name(id=result, ctx=ast.Load()), attr="append", ctx=ast.Load()),
                              args=[node.elt], keywords=[])
            inner = [ast.Expr(value=append)]
        for gen in reversed(node.generators):
            if gen.is_async:
                raise self.error(node, "async comprehensions cannot be differentiated")
            for cond in reversed(gen.ifs):
                inner = [ast.If(test=cond, body=inner, orelse=[])]
            inner = [ast.For(target=gen.target, iter=gen.iter, body=inner, orelse=[])]
        for stmt in inner:
            for n in ast.walk(stmt):
                if isinstance(n, ast.stmt):
                    ast.copy_location(n, self.current)
        self.parsed.local_names = self.parsed.local_names | {result} | set(renames.values())
        out.append(self.assign(result, ast.Dict(keys=[], values=[]) if is_dict else ast.List(elts=[], ctx=ast.Load())))
        saved = self.current
        for stmt in inner:
            self.statement(stmt, out)
        self.current = saved
        return result

    def rebind(self, target: str, value: ast.expr, out: list) -> None:
        """``target = value``; when the value reads the target itself
        (``y = y * y``) it is computed into a temporary first, so that every
        statement's inputs still hold their values after it ran."""
        if not is_atom(value) and any(
            isinstance(n, ast.Name) and n.id == target for n in ast.walk(value)
        ):
            temp = self.temp(self.describe(value, "t") if not isinstance(value, ast.Call) else self.describe(value, "t"))
            out.append(self.assign(temp, value))
            value = ast.Name(id=temp, ctx=ast.Load())
        if isinstance(value, ast.Name) and value.id in self.constructed:
            self.constructed.add(target)  # obj = Cls(...): the same object, of a known class
            self.parsed.types[target] = self.parsed.types[value.id]
        elif isinstance(value, ast.Call) and getattr(value, "tangent_callee", None) is object.__new__ \
                and len(value.args) == 1 and isinstance(self.parsed.resolve(value.args[0]), type):
            # obj = object.__new__(Cls), as in generated code that built an object: writable attributes
            self.constructed.add(target)
            self.parsed.types[target] = self.parsed.resolve(value.args[0])
        out.append(self.assign(target, value))

    def assign_target(self, target: ast.expr, value: ast.expr, out: list) -> None:
        if isinstance(target, ast.Name):
            out.append(self.assign(target.id, value))
        elif isinstance(target, (ast.Tuple, ast.List)):
            if any(isinstance(e, ast.Starred) for e in target.elts):
                raise self.error(target, "starred assignment targets are not supported")
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
            base = target.value
            if not isinstance(base, ast.Name):
                raise self.error(target, f"assignment into {ast.unparse(base)} is not supported",
                                 "assign into a local array variable")
            index = self.index(target.slice, out)
            value = value if is_atom(value) else self.atom(value, out)
            store = ast.Subscript(value=ast.Name(id=base.id, ctx=ast.Load()), slice=index, ctx=ast.Store())
            out.append(self.at(ast.Assign(targets=[store], value=value)))
        else:
            raise self.error(target, f"assignment to {ast.unparse(target)} is not supported",
                             "assign to a plain variable or into an array element")

    def for_loop(self, stmt: ast.For, out: list) -> None:
        if stmt.orelse:
            raise self.error(stmt, "for ... else should have been lowered")  # see controlflow.py
        it = stmt.iter
        callee = self.parsed.resolve(it.func) if isinstance(it, ast.Call) else UNRESOLVED
        if callee is builtins.range and isinstance(stmt.target, ast.Name):
            range_name = self.atom(it, out, "range")
            loop = ast.For(target=ast.Name(id=stmt.target.id, ctx=ast.Store()), iter=range_name,
                           body=self.body(stmt.body), orelse=[])
            out.append(self.at(loop))
            return
        # Any other iterable is read by index: for _i in range(len(seq)).
        setup, length, element = iteration_plan(it, self.parsed, self.namer)
        for s in setup:
            self.statement(ast.copy_location(s, stmt), out)
        n = self.temp("len")
        out.append(self.assign(n, self.operation(length, out)))
        range_name = self.temp("range")
        rng = ast.Call(func=ast.Name(id="range", ctx=ast.Load()), args=[ast.Name(id=n, ctx=ast.Load())], keywords=[])
        rng.tangent_callee = builtins.range
        out.append(self.assign(range_name, rng))
        index = self.namer.fresh("i" if "i" not in self.parsed.local_names else "_i")
        prologue: list = []
        head = ast.copy_location(ast.Assign(targets=[stmt.target], value=element(ast.Name(id=index, ctx=ast.Load()))), stmt)
        self.statement(head, prologue)
        loop = ast.For(target=ast.Name(id=index, ctx=ast.Store()), iter=ast.Name(id=range_name, ctx=ast.Load()),
                       body=prologue + self.body(stmt.body), orelse=[])
        out.append(self.at(loop))


def normalize(parsed: ParsedFunction, namer: Namer) -> ast.FunctionDef:
    """Return a copy of ``parsed.tree`` in A-normal form (see module doc).

    Example::

        tree = normalize(parse_function(f), Namer())
        print(ast.unparse(tree))
    """
    for node in ast.walk(parsed.tree):
        if isinstance(node, (ast.Yield, ast.YieldFrom, ast.Await)):
            raise parsed.origin.error(TangentSyntaxError, node, "generators and coroutines cannot be differentiated",
                                      "return a value (e.g. a list or an array) instead of yielding")
    tree = lower_control_flow(copy_tree(parsed.tree), parsed, namer)
    parsed.local_names = parsed.local_names | local_names(tree)
    normalizer = Normalizer(parsed, namer)
    body = normalizer.body(tree.body)
    if not body or not isinstance(body[-1], ast.Return):
        raise parsed.origin.error(
            TangentSyntaxError, tree,
            "a differentiated function must end with a return statement",
            "return the value to differentiate at the end of the function",
        )
    for stmt in body[:-1]:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Return):
                raise parsed.origin.error(TangentSyntaxError, node, "early return is not supported yet",
                                          "assign the result to a variable and return it at the end")
    tree.body = body
    return tree
