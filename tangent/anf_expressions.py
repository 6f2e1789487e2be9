"""A-normal form of expressions: atoms, single operations and calls.

Takes desugared expressions (desugar.py); gives, for ``atom``, a name, a
constant or a resolved global constant (``np.pi``, marked
``tangent_global``), and for ``operation`` one operation on atoms (a binary
or unary operator, a comparison, a call, a subscript or attribute read, a
tuple/list/dict display), appending the statements they need to ``out``.
``a < b < c``, ``and``/``or`` and ``x if c else y`` become ifs on fresh
names, so what is not evaluated in Python is not evaluated here. Calls carry
their callee (``tangent_callee``, see resolve.py), ``tangent_method`` and
``tangent_pure_call``. Temporaries are named after what they hold, in the
order the operations are met (the golden tests pin that order).
"""

from __future__ import annotations

import ast
import copy
import types

from . import resolve
from .desugar import StmtExpr, is_atom, locate
from .errors import TangentSyntaxError, UnknownClassError
from .frontend import UNRESOLVED, ParsedFunction
from .item_classes import item_class_of_value, items_of
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


class ExpressionForm:
    """Expressions to atoms and single operations; ANF (anf.py) adds the
    statements. One method per kind of expression (``op_<Kind>``); ``out``
    is the list the statements a node needs are appended to, in evaluation
    order.
    """

    def __init__(self, parsed: ParsedFunction, namer: Namer):
        self.parsed = parsed
        self.origin = parsed.origin
        self.namer = namer
        self.current: ast.stmt | None = None
        self.constructed: set[str] = set()  # objects built in the function (writable attributes)
        args = parsed.tree.args
        # the function's parameters: ``obj.a = v`` on one is a write into an
        # argument (private_arguments.py; refused in a helper, calls.py)
        self.parameters = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs} - set(parsed.static)

    # ------------------------------------------------------------ helpers
    def shown(self, node: ast.expr) -> str:
        """``node`` as the user wrote it (inlined functions' variables by their names in the source)."""
        node = copy.deepcopy(node)
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                sub.id = self.parsed.original_names.get(sub.id, sub.id)
        return ast.unparse(node)

    def error(self, node, message: str, hint: str = "", kind: type = TangentSyntaxError) -> TangentSyntaxError:
        return self.origin.error(kind, node if getattr(node, "lineno", None) else self.current, message, hint)

    def at(self, node: ast.AST) -> ast.AST:
        """``node`` placed at the user's statement being normalized."""
        return locate(node, self.current)

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
        if isinstance(node, ast.Attribute):  # (model.layers passed on: its items' class goes with it)
            item = items_of(self, node)
            if item is not None:
                self.parsed.element_types[name] = item
        return ast.Name(id=name, ctx=ast.Load())

    def operation(self, node: ast.expr, out: list) -> ast.expr:
        """Normalize ``node`` to a single operation on atoms (or an atom)."""
        handler = getattr(self, "op_" + type(node).__name__, None)
        if handler is None:
            raise self.error(node, f"the expression {self.shown(node)!r} is not supported")
        return handler(node, out)

    def op_Name(self, node, out):
        return self.atom(node, out)

    op_Constant = op_Name

    def statement(self, stmt: ast.stmt, out: list) -> None:
        raise NotImplementedError  # ANF (anf.py): statements, for StmtExpr

    def op_StmtExpr(self, node: StmtExpr, out: list) -> ast.Name:
        """The desugared statements (normalized where the value is needed), then their result."""
        saved = self.current
        for stmt in node.body:
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
        kind, callee = resolve.attribute_read(self.class_of(value), node.attr, attribute,
                                              resolve.array_type(self.parsed))
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
        special = checkpointed_or_derivative_call(self, node, out)
        if special is not None:
            return special
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
            item_class = self.item_class(func.value)
            receiver = self.atom(func.value, out, "obj")
            cls = item_class or self.class_of(receiver)
            try:
                callee, is_method = resolve.method(cls, func.attr, resolve.array_type(self.parsed))
            except resolve.Unresolvable as e:
                raise self.error(node, e.message, e.hint, UnknownClassError if cls is None else TangentSyntaxError) \
                    from None
            static = cls is not None and not is_method and isinstance(callee, types.FunctionType)
            func = by_value(self, callee) if static else ast.Attribute(value=receiver, attr=func.attr, ctx=ast.Load())
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
                    f"cannot call the local variable {self.shown(func)!r}: the function it holds is unknown when "
                    "differentiating",
                    "call the function by its global name",
                    UnknownClassError if from_parameters(self.parsed, func.id) else TangentSyntaxError,
                )
        if isinstance(func, ast.Subscript) and isinstance(func.value, ast.Name):  # layers[i](h): an item's __call__
            call_method = resolve.call_method(self.item_class(func))
            if call_method is None:
                raise self.error(node, f"cannot call {self.shown(func)!r}: the class of the items of "
                                 f"{func.value.id!r} is not known when differentiating",
                                 f"annotate the parameter (e.g. {func.value.id}: list[Layer])", UnknownClassError)
            receiver = self.atom(func, out, "item")
            func = ast.Attribute(value=receiver, attr="__call__", ctx=ast.Load())
            return self._finish_call(node, func, call_method, True, out)
        raise self.error(node, f"cannot resolve the function {self.shown(func)!r}",
                         "make sure it is defined or imported before differentiating")

    def item_class(self, node: ast.expr):
        """The user class of ``seq[i]`` when ``seq``'s items have one."""
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute):  # self.blocks[i]
            return items_of(self, node.value)
        if not (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)):
            return None
        if node.value.id in self.parsed.static:  # a parameter given a constant at the call: its items'
            return item_class_of_value(self.parsed.static[node.value.id])
        if node.value.id in self.parsed.local_names:
            return self.parsed.element_types.get(node.value.id)
        seq = self.parsed.resolve(node.value)  # a global's or a closure's list of objects
        return None if seq is UNRESOLVED else item_class_of_value(seq)

    def class_of(self, atom: ast.expr):
        """The user class of a local value, when known."""
        if isinstance(atom, ast.Name):
            return self.parsed.types.get(atom.id)
        return None

    def _finish_call(self, node, func, callee, is_method, out) -> ast.Call:
        if any(kw.arg == "out" and not (isinstance(kw.value, ast.Constant) and kw.value.value is None)
               for kw in node.keywords) and resolve.is_library_callee(callee):
            raise self.error(node, *resolve.out_keyword_refusal(callee))
        writes = resolve.argument_writer_refusal(callee)
        if writes is not None:  # (assigned or not: heapq.heappush(h, v) changes h)
            raise self.error(node, *writes)
        args = [self.atom(arg, out) for arg in node.args]
        keywords = [ast.keyword(arg=kw.arg, value=self.atom(kw.value, out)) for kw in node.keywords]
        call = ast.Call(func=func, args=args, keywords=keywords)
        call.tangent_callee = callee
        call.tangent_method = is_method
        call.tangent_pure_call = resolve.is_pure_function(callee)
        return call


def checkpointed_or_derivative_call(form, node: ast.Call, out: list) -> ast.Call | None:
    """``tangent.checkpoint(g)(x)``: the call of g, marked (see reverse.py);
    ``tangent.grad(g)(x)``: the call of g's derivative (``derivative_called``);
    else None (``form``: the ExpressionForm)."""
    try:
        inner = resolve.checkpointed_function(form.parsed, node.func)
    except resolve.Unresolvable as e:
        raise form.error(node, e.message, e.hint) from None
    if inner is not None:
        marked = form.call(ast.Call(func=inner, args=node.args, keywords=node.keywords), out)
        marked.tangent_checkpoint = True
        return marked
    made = derivative_called(form, node)
    return None if made is None else form._finish_call(node, *resolve.known_callee(made.tangent_value, made), out)


def derivative_called(form, node: ast.Call) -> ast.Name | None:
    """For ``tangent.grad(g)(x)`` (``form``: the ExpressionForm): a name
    bound to g's derivative, made now and called as a function of the
    user's; else None."""
    try:
        made = resolve.derivative_in_call(form.parsed, node.func)
    except resolve.Unresolvable as e:
        raise form.error(node, e.message, e.hint) from None
    if made is None:
        return None
    return by_value(form, made)


def by_value(form, value) -> ast.Name:
    """A name for ``value`` (a function) bound by value in the generated
    module: a staticmethod called through an object (``self.basis(t)``, so
    that generated code calling it needs no class for the object when it is
    differentiated again), a derivative made inside the function."""
    local = value.__name__ in form.parsed.local_names
    func = ast.Name(id=form.namer.fresh(value.__name__) if local else value.__name__, ctx=ast.Load())
    func.tangent_value = value
    return func


def from_parameters(parsed, name: str, seen: frozenset = frozenset()) -> bool:
    """Whether ``name`` is a parameter, or bound only to one or an item
    of one, through other such names (``layer = layers[i]``, ``g = f``):
    its value, and so its class, is known at a call (argument_classes.py)."""
    args = parsed.tree.args
    if name in {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}:
        return True
    tree = parsed.tree
    values = [n.value for n in ast.walk(tree) if isinstance(n, ast.Assign) and len(n.targets) == 1
              and isinstance(n.targets[0], ast.Name) and n.targets[0].id == name]
    # for layer in layers / blocks.values() / enumerate(layers) / zip(layers, ...): an item
    values += [n.iter for n in ast.walk(tree) if isinstance(n, ast.For)
               and any(isinstance(t, ast.Name) and t.id == name for t in ast.walk(n.target))]
    values = [v.args[0] if isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and v.args
              and v.func.id in ("enumerate", "zip", "reversed") else v for v in values]
    values = [v.func.value if isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute)
              and v.func.attr in ("values", "items") else v for v in values]
    sources = [v.value if isinstance(v, ast.Subscript) else v for v in values]
    return bool(sources) and name not in seen and all(
        isinstance(v, ast.Name) and from_parameters(parsed, v.id, seen | {name}) for v in sources)
