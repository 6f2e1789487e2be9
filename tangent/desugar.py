"""Desugaring: rewrite conveniences into the core form A-normal form reads.

Takes a function body that passed the fence (fence.py) and had its jumps
lowered (controlflow.py). Gives a body in which

* nested ``def`` s and ``name = lambda ...`` are gone: each call of one is
  inlined where it stands (its parameters and locals renamed), so it reads
  the enclosing variables' current values, as a closure does;
* ``Cls(args)`` of a user class becomes ``obj = object.__new__(Cls)`` and
  ``Cls.__init__`` inlined on ``obj``;
* list, dict and generator comprehensions become loops appending to a list
  (or filling a dict), with their loop variables renamed;
* ``for target in seq`` over anything but ``range`` becomes a loop over
  ``range(len(seq))`` reading ``target = seq[i]`` (see
  ``controlflow.iteration_plan``);
* ``with insert_grad_of(x) as dx:`` becomes a ``GradHook`` statement.

An expression that needs statements (an inlined call, a constructor, a
comprehension) becomes a ``StmtExpr``: A-normal form runs its statements
where the value is needed, so evaluation order and short-circuiting
(``a and f(b)``, ``x if c else f(y)``) are kept. Statements already in
normal form are marked ``tangent_normal``; desugared loops
``tangent_indexed``. ``assert``, ``raise`` and expression statements that
are not calls pass unchanged, as A-normal form passes them.

Nested functions are known by the path that reaches a call: after an ``if``
only those both branches leave alike; in a loop body and after it, not those
the loop (re)binds. Calling one whose definition depends on the path is
refused (``ambiguous``), as is calling a name rebound to another value.
Default values are computed where the ``def`` stands, as in Python.
"""

from __future__ import annotations

import ast
import builtins
import copy

from . import fence, resolve
from .controlflow import iteration_plan, lower_control_flow
from .errors import TangentSyntaxError
from .frontend import UNRESOLVED, ParsedFunction, parse_function
from .ir import GradHook
from .naming import Namer


class StmtExpr(ast.expr):
    """Statements to run, then the value of the name ``result``."""

    _fields = ("body",)

    def __init__(self, body: list[ast.stmt] | None = None, result: str = ""):
        super().__init__()
        self.body = body or []
        self.result = result


def is_atom(node: ast.expr) -> bool:
    """A name, a constant or a resolved global constant (``np.pi``)."""
    return isinstance(node, (ast.Name, ast.Constant)) or getattr(node, "tangent_global", False)


def locate(node: ast.AST, src: ast.AST | None) -> ast.AST:
    """Give ``node`` the source position of ``src`` (when there is one)."""
    if src is not None:
        node.lineno = src.lineno
        node.col_offset = src.col_offset
        node.end_lineno = getattr(src, "end_lineno", src.lineno)
        node.end_col_offset = getattr(src, "end_col_offset", 0)
    return node


def _name(id_: str, ctx=None) -> ast.Name:
    return ast.Name(id=id_, ctx=ctx or ast.Load())


def _is_definition(stmt: ast.stmt) -> bool:
    """A nested ``def`` or ``name = lambda ...``."""
    return isinstance(stmt, ast.FunctionDef) or isinstance(stmt, (ast.Assign, ast.AnnAssign)) \
        and isinstance(stmt.value, ast.Lambda)


def _bound_names(stmts: list[ast.stmt]) -> set[str]:
    """Names the statements bind, by definitions or otherwise (not looking
    into nested functions and comprehensions, scopes of their own)."""
    names: set[str] = set()
    todo: list[ast.AST] = list(stmts)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef):
            names.add(node.name)
        elif not isinstance(node, (ast.Lambda, ast.ListComp, ast.GeneratorExp, ast.DictComp, ast.SetComp)):
            todo.extend(ast.iter_child_nodes(node))
    return names


def _bind_arguments(fname: str, args: ast.arguments, node: ast.Call) -> tuple[list, dict, dict]:
    """(parameter names, {parameter: argument}, {parameter: default}) of a
    call of the nested function ``fname``; raises Unresolvable."""
    params = [a.arg for a in args.posonlyargs + args.args]
    defaults = dict(zip(params[len(params) - len(args.defaults):], args.defaults))
    for a, default in zip(args.kwonlyargs, args.kw_defaults):
        params.append(a.arg)
        if default is not None:
            defaults[a.arg] = default
    if len(node.args) > len(args.posonlyargs + args.args):
        raise resolve.Unresolvable(f"too many arguments for {fname}")
    bound: dict[str, ast.expr] = dict(zip(params, node.args))
    for kw in node.keywords:
        if kw.arg not in params or kw.arg in bound:
            raise resolve.Unresolvable(f"bad keyword argument {kw.arg!r} for {fname}")
        bound[kw.arg] = kw.value
    return params, bound, defaults


class _Renamer(ast.NodeTransformer):
    def __init__(self, renames: dict[str, str]):
        self.renames = renames

    def visit_Name(self, node):
        if node.id in self.renames:
            return ast.copy_location(ast.Name(id=self.renames[node.id], ctx=node.ctx), node)
        return node


class _Expressions(ast.NodeTransformer):
    """Desugars inside one expression, in the order A-normal form evaluates it."""

    def __init__(self, owner: Desugar):
        self.owner = owner

    def visit_Call(self, node: ast.Call):
        owner = self.owner
        func = node.func
        if isinstance(func, ast.Name) and func.id in owner.local_functions:
            return owner.inline(func.id, node)
        if isinstance(func, ast.Name) and func.id in owner.ambiguous and func.id in owner.parsed.local_names:
            raise owner.error(node, f"the nested function {func.id!r} may not be the one called here: it is "
                              "defined or rebound in a branch or a loop",
                              "define it once, before the branch or loop, and choose inside it what it computes")
        callee = owner.parsed.resolve(func)
        if callee is not UNRESOLVED and resolve.constructible(owner.parsed, callee):
            return owner.construct(callee, func, node)
        return self.generic_visit(node)

    def visit_IfExp(self, node: ast.IfExp):
        node.body = self.visit(node.body)
        node.orelse = self.visit(node.orelse)
        node.test = self.visit(node.test)
        return node

    def visit_ListComp(self, node):
        return self.owner.comprehension(node)

    visit_GeneratorExp = visit_DictComp = visit_ListComp

    def visit_Lambda(self, node):
        return node  # only as ``f = lambda``, consumed before (the fence refuses others)

    visit_JoinedStr = visit_StmtExpr = visit_Lambda


class Desugar:
    """The desugaring pass (see module doc); ``body`` desugars statements."""

    def __init__(self, parsed: ParsedFunction, namer: Namer):
        self.parsed = parsed
        self.origin = parsed.origin
        self.namer = namer
        self.current: ast.stmt | None = None
        self.local_functions: dict[str, ast.FunctionDef] = {}
        self.inlining: set[str] = set()
        # nested functions whose definition here depends on the path taken
        # (defined in a branch or a loop): calling one is refused
        self.ambiguous: set[str] = set()

    # ------------------------------------------------------------ helpers
    def error(self, node, message: str, hint: str = "") -> TangentSyntaxError:
        return self.origin.error(TangentSyntaxError, node if getattr(node, "lineno", None) else self.current, message, hint)

    def at(self, node: ast.AST) -> ast.AST:
        return locate(node, self.current)

    def temp(self, base: str) -> str:
        return self.namer.fresh("_" + base.strip("_"))

    def expr(self, node: ast.expr) -> ast.expr:
        return _Expressions(self).visit(node)

    # --------------------------------------------------------- statements
    def body(self, stmts: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for stmt in stmts:
            saved, self.current = self.current, stmt
            rebound = set() if _is_definition(stmt) else _bound_names([stmt]) & set(self.local_functions)
            out += self.statement(stmt)
            for fname in rebound:  # a nested function's name given another value: calls after it are not inlined
                self.local_functions.pop(fname, None)
            self.current = saved
        return out

    def statement(self, stmt: ast.stmt) -> list[ast.stmt]:
        handler = getattr(self, "stmt_" + type(stmt).__name__, None)
        return handler(stmt) if handler is not None else [stmt]

    def define(self, fdef: ast.FunctionDef) -> list[ast.stmt]:
        """Note a nested function for inlining. Default values that read
        local variables are computed here, where Python computes them, into
        fresh names (the statements returned)."""
        out: list[ast.stmt] = []
        for defaults in (fdef.args.defaults, fdef.args.kw_defaults):
            for k, default in enumerate(defaults):
                if default is not None and any(isinstance(n, ast.Name) and n.id in self.parsed.local_names
                                               for n in ast.walk(default)):
                    name = self.temp("default")
                    self.parsed.local_names = self.parsed.local_names | {name}
                    out += self.statement(self.at(ast.Assign(targets=[_name(name, ast.Store())], value=default)))
                    defaults[k] = _name(name)
        self.local_functions[fdef.name] = fdef
        return out

    def stmt_FunctionDef(self, stmt):
        return self.define(stmt)

    def stmt_Assign(self, stmt):
        if len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) and isinstance(stmt.value, ast.Lambda):
            lam = stmt.value
            fdef = ast.FunctionDef(name=stmt.targets[0].id, args=lam.args,
                                   body=[ast.copy_location(ast.Return(value=lam.body), stmt)],
                                   decorator_list=[], returns=None, type_params=[])
            return self.define(ast.copy_location(fdef, stmt))
        stmt.value = self.expr(stmt.value)
        stmt.targets = [self.expr(t) for t in stmt.targets]
        return [stmt]

    def stmt_AnnAssign(self, stmt):
        if stmt.value is None:
            return []
        return self.stmt_Assign(self.at(ast.Assign(targets=[stmt.target], value=stmt.value)))

    def stmt_AugAssign(self, stmt):
        stmt.target = self.expr(stmt.target)
        stmt.value = self.expr(stmt.value)
        return [stmt]

    def stmt_If(self, stmt):
        stmt.test = self.expr(stmt.test)
        before = dict(self.local_functions)
        stmt.body = self.body(stmt.body)
        after_body, self.local_functions = self.local_functions, dict(before)
        stmt.orelse = self.body(stmt.orelse)
        self.merge(after_body, self.local_functions)
        return [stmt]

    def stmt_While(self, stmt):
        """The test is desugared twice: before the loop, and for its
        evaluation after the body (``tangent_retest``), each with the nested
        functions known there."""
        test = copy.deepcopy(stmt.test)
        stmt.test = self.expr(stmt.test)
        entry = self.enter_loop(_bound_names(stmt.body))
        stmt.body = self.body(stmt.body)
        stmt.tangent_retest = self.expr(test)
        self.merge(entry, self.local_functions)
        return [stmt]

    def merge(self, one: dict, other: dict) -> None:
        """After two paths: the nested functions both define alike are known,
        the others ambiguous."""
        self.local_functions = {k: v for k, v in one.items() if other.get(k) is v}
        self.ambiguous |= (set(one) | set(other)) - set(self.local_functions)

    def enter_loop(self, bound: set[str]) -> dict:
        """A nested function a loop (re)defines or rebinds (``bound``) is not
        known at the top of its body (an iteration may see the previous
        one's) nor after it (the loop may run no iteration): forget it.
        Returns the nested functions known on entry, for ``merge``."""
        entry = {k: v for k, v in self.local_functions.items() if k not in bound}
        self.ambiguous |= bound & set(self.local_functions)
        self.local_functions = dict(entry)
        return entry

    def loop_body(self, stmts: list[ast.stmt], target: ast.expr) -> list[ast.stmt]:
        """The body of a for loop over ``target`` (see ``enter_loop``)."""
        entry = self.enter_loop(_bound_names(stmts) | {n.id for n in ast.walk(target) if isinstance(n, ast.Name)})
        out = self.body(stmts)
        self.merge(entry, self.local_functions)
        return out

    def stmt_Return(self, stmt):
        if stmt.value is not None:
            stmt.value = self.expr(stmt.value)
        return [stmt]

    def stmt_Expr(self, stmt):
        value = stmt.value
        if isinstance(value, ast.Call) and not (
                isinstance(value.func, ast.Name) and value.func.id in self.local_functions):
            stmt.value = self.expr(value)  # (a discarded call of a nested function is refused later)
        return [stmt]

    def stmt_With(self, stmt):

        if not fence.is_grad_hook(stmt, self.parsed):
            return [stmt]
        item = stmt.items[0]
        hook = self.at(GradHook(item.context_expr.args[0].id, item.optional_vars.id, copy.deepcopy(stmt.body)))
        hook.tangent_normal = True  # its block runs unchanged in the backward pass
        return [hook]

    def stmt_For(self, stmt: ast.For) -> list[ast.stmt]:
        """``for t in range(...)`` stays; any other iterable is read by index:
        ``for i in range(len(seq)): t = seq[i]``."""
        assert not stmt.orelse, "for ... else is lowered in controlflow.py"
        it = stmt.iter
        callee = self.parsed.resolve(it.func) if isinstance(it, ast.Call) else UNRESOLVED
        if resolve.checkpointed_range(self.parsed, stmt) is not None:  # see reverse.py (checkpointing)
            it, callee = it.args[0], builtins.range
        if callee is builtins.range and isinstance(stmt.target, ast.Name):
            stmt.iter = self.expr(it)
            stmt.body = self.loop_body(stmt.body, stmt.target)
            return [stmt]
        setup, length, element = iteration_plan(it, self.parsed, self.namer)
        out: list[ast.stmt] = []
        for s in setup:
            out += self.statement(ast.copy_location(s, stmt))
        n = self.temp("len")
        out += self.statement(self.at(ast.Assign(targets=[_name(n, ast.Store())], value=length)))
        range_name = self.temp("range")
        rng = ast.Call(func=_name("range"), args=[_name(n)], keywords=[])
        rng.tangent_callee = builtins.range
        out.append(self.at(ast.Assign(targets=[_name(range_name, ast.Store())], value=rng)))
        out[-1].tangent_normal = True
        index = self.namer.fresh("i" if "i" not in self.parsed.local_names else "_i")
        head = ast.copy_location(ast.Assign(targets=[stmt.target], value=element(_name(index))), stmt)
        head = self.statement(head)
        loop = ast.For(target=_name(index, ast.Store()), iter=_name(range_name), body=head + self.loop_body(stmt.body, stmt.target),
                       orelse=[])
        loop.tangent_indexed = True
        out.append(self.at(loop))
        return out

    # ------------------------------------------------ nested functions
    def inline(self, fname: str, node: ast.Call, keep: dict | None = None) -> StmtExpr:
        """A call of a nested function: its parameters bound to the arguments,
        then its body, renamed apart, its return value in a fresh name.
        ``keep`` binds parameters to the caller's names themselves (the
        object a constructor builds)."""
        fdef = self.local_functions[fname]
        if fname in self.inlining:
            raise self.error(node, f"the nested function {fname!r} calls itself; recursion is only supported for "
                             "module-level functions", "define it at module level")
        try:
            params, bound, defaults = _bind_arguments(fname, fdef.args, node)
        except resolve.Unresolvable as e:
            raise self.error(node, e.message) from None
        stored = {n.id for n in ast.walk(fdef) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        renames = {v: self.namer.fresh(f"{v}_{fname.strip('_')}" if not v.startswith("_") else v)
                   for v in set(params) | stored}
        renames.update(keep or {})
        out: list[ast.stmt] = []
        for param in params:
            if keep and param in keep:
                continue  # bound to the caller's variable itself (the object being built)
            value = bound.get(param, copy.deepcopy(defaults.get(param)))
            if value is None:
                raise self.error(node, f"missing argument {param!r} for {fname}")
            binding = self.at(ast.Assign(targets=[_name(renames[param], ast.Store())], value=value))
            binding.tangent_parameter = True  # a plain binding (no aliasing of built objects)
            out += self.statement(binding)
        result = self.namer.fresh(f"_{fname}")
        wrapper = ast.FunctionDef(name=fname, args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[],
                                                                 defaults=[]),
                                  body=copy.deepcopy(fdef.body), decorator_list=[], returns=None, type_params=[])
        wrapper = lower_control_flow(wrapper, self.parsed, self.namer)
        body = [_Renamer(renames).visit(s) for s in wrapper.body]
        if not body or not isinstance(body[-1], ast.Return):
            raise self.error(fdef, f"the nested function {fname!r} must end with a return statement")
        final = body.pop()
        body.append(ast.copy_location(ast.Assign(targets=[_name(result, ast.Store())], value=final.value), final))
        self.parsed.local_names = self.parsed.local_names | set(renames.values()) | {result}
        self.inlining.add(fname)
        scope = dict(self.local_functions), set(self.ambiguous)  # its own nested functions are its own
        try:
            out += self.body(body)
        finally:
            self.inlining.discard(fname)
            self.local_functions, self.ambiguous = scope
        return StmtExpr(out, result)

    def construct(self, cls: type, func: ast.expr, node: ast.Call) -> StmtExpr:
        """Cls(args) -> obj = object.__new__(Cls); Cls.__init__ inlined on obj.
        The object's attributes then behave like the items of a dict."""
        obj = self.temp(cls.__name__.lower())
        new = ast.Call(func=ast.Attribute(value=_name("object"), attr="__new__", ctx=ast.Load()),
                       args=[copy.deepcopy(func)], keywords=[])
        new.tangent_callee = object.__new__
        new.tangent_method = False
        new.tangent_pure_call = False
        first = self.at(ast.Assign(targets=[_name(obj, ast.Store())], value=new))
        first.tangent_normal = True  # A-normal form notes obj as an object built here
        self.parsed.local_names = self.parsed.local_names | {obj}
        parsed_init = parse_function(cls.__init__)
        fence.check(parsed_init)
        init = parsed_init.tree
        init.body = list(init.body) + [ast.copy_location(ast.Return(value=ast.Constant(value=None)), init.body[-1])]
        name = f"__init_{cls.__name__}"
        self.local_functions[name] = init
        call = ast.Call(func=_name(name), args=[_name(obj)] + list(node.args), keywords=node.keywords)
        self_param = (init.args.posonlyargs + init.args.args)[0].arg
        inlined = self.inline(name, call, keep={self_param: obj})
        return StmtExpr([first] + inlined.body, obj)

    # ------------------------------------------------- comprehensions
    def comprehension(self, node) -> StmtExpr:
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
        node = _Renamer(renames).visit(copy.deepcopy(node))
        if is_dict:
            inner = [ast.Assign(targets=[ast.Subscript(value=_name(result), slice=node.key, ctx=ast.Store())],
                                value=node.value)]
        else:
            append = ast.Call(func=ast.Attribute(value=_name(result), attr="append", ctx=ast.Load()),
                              args=[node.elt], keywords=[])
            inner = [ast.Expr(value=append)]
        for gen in reversed(node.generators):
            for cond in reversed(gen.ifs):
                inner = [ast.If(test=cond, body=inner, orelse=[])]
            inner = [ast.For(target=gen.target, iter=gen.iter, body=inner, orelse=[])]
        for stmt in inner:
            for n in ast.walk(stmt):
                if isinstance(n, ast.stmt):
                    self.at(n)
        self.parsed.local_names = self.parsed.local_names | {result} | set(renames.values())
        start = self.at(ast.Assign(targets=[_name(result, ast.Store())],
                                   value=ast.Dict(keys=[], values=[]) if is_dict else ast.List(elts=[], ctx=ast.Load())))
        start.tangent_normal = True
        return StmtExpr([start] + self.body(inner), result)


def desugar(body: list[ast.stmt], parsed: ParsedFunction, namer: Namer) -> list[ast.stmt]:
    """``body`` desugared (see module doc).

    Example::

        body = desugar(lower_control_flow(tree, parsed, namer).body, parsed, namer)
    """
    return Desugar(parsed, namer).body(body)
