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
import types

from . import desugar_calls as calls
from . import fence, item_classes, library_writes, resolve, super_calls
from . import function_values as values
from .controlflow import iteration_plan
from .errors import TangentSyntaxError
from .frontend import UNRESOLVED, ParsedFunction
from .inlining import Inlining, StmtExpr, _Renamer
from .ir import GradHook
from .naming import Namer


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


def _calls_constructed_object(owner: Desugar, construction: ast.Call) -> bool:
    """Whether ``construction`` builds an object of a user class that is
    inlined (resolve.built_class) and has a Python ``__call__``."""
    return resolve.call_method(resolve.built_class(owner.parsed, construction)) is not None


class _Expressions(ast.NodeTransformer):
    """Desugars inside one expression, in the order A-normal form evaluates it."""

    def __init__(self, owner: Desugar):
        self.owner = owner

    def visit_Call(self, node: ast.Call):
        owner = self.owner
        setup, node = calls.expand_call(owner, node)
        if not isinstance(node, ast.Call):  # zip(*rows): a comprehension
            return owner.stmt_expr(setup, node)
        setup += values.function_arguments(owner, node)
        if isinstance(node.func, ast.Call) and _calls_constructed_object(owner, node.func):
            # Layer(W, b)(x): the method call Layer(W, b).__call__(x), like Layer(W, b).forward(x)
            node.func = ast.copy_location(ast.Attribute(value=node.func, attr="__call__", ctx=ast.Load()), node.func)
        if not isinstance(node.func, (ast.Name, ast.Attribute)):
            try:  # tangent.checkpoint(g)(...): g named as tangent.checkpoint needs it
                resolve.checkpointed_function(owner.parsed, node.func)
            except resolve.Unresolvable as refusal:
                raise owner.error(node, refusal.message, refusal.hint) from None
            made = values.function_value(owner, node.func)
            if made is not None:
                setup += made[0]
                node.func = _name(made[1])
        if setup or not isinstance(node, ast.Call):
            return owner.stmt_expr(setup, node)
        func = node.func
        if isinstance(func, ast.Name) and func.id in owner.local_functions:
            return owner.inline(func.id, node)
        if isinstance(func, ast.Name) and func.id in owner.ambiguous and func.id in owner.parsed.local_names:
            raise owner.error(node, f"the nested function {func.id!r} may not be the one called here: it is "
                              "defined or rebound in a branch or a loop",
                              "define it once, before the branch or loop, and choose inside it what it computes")
        based = super_calls.super_call(owner, node)
        if based is not None:  # super().forward(x): the base class's method, called with self
            return self.generic_visit(based)
        callee = owner.parsed.resolve(func)
        rewritten = calls.rewrite_call(owner, node, callee)
        if rewritten is not None:
            return owner.stmt_expr(*rewritten) if rewritten[0] else self.visit(rewritten[1])
        if callee is not UNRESOLVED and resolve.constructible(owner.parsed, callee):
            return owner.construct(callee, func, node)
        if (bound := values.class_method(owner, callee)) is not None:
            return owner.inline_class_method(*bound, node)
        if isinstance(callee, types.FunctionType) and values.inlinable(owner, callee) \
                and resolve.built_class(owner.parsed, node) is not None:
            return owner.inline(values.module_function(owner, callee), node)  # layer = make(d): a Layer, built here
        if values.wants_inlining(owner, node, callee):
            return owner.inline(values.module_function(owner, callee), node)
        values.function_defaults(owner, node, callee)
        return self.generic_visit(node)

    def visit_Name(self, node: ast.Name):
        if isinstance(node.ctx, ast.Load) and node.id in self.owner.local_functions:
            what = "a lambda" if node.id in self.owner.lambdas else f"the nested function {node.id!r}"
            raise self.owner.error(node, f"{what} is used as a value here: Tangent inlines nested functions and "
                                   "lambdas where they are called", "call it, or pass it to a function of yours, "
                                   "map, filter, sorted or functools.partial")
        return node

    def visit_Attribute(self, node: ast.Attribute):
        node = self.generic_visit(node)
        indexed = item_classes.named_tuple_field(self.owner, node)  # layer.W of a NamedTuple: layer[0]
        return indexed if indexed is not None else node

    def visit_List(self, node):
        if isinstance(node.ctx, ast.Load) and any(isinstance(e, ast.Starred) for e in node.elts):
            return self.visit(calls.starred_display(self.owner, node))
        return self.generic_visit(node)

    visit_Tuple = visit_List

    def visit_Dict(self, node: ast.Dict):
        if any(k is None for k in node.keys):  # {**d, "k": v}
            setup, value = calls.unpacked_dict(self.owner, node)
            return self.owner.stmt_expr(setup, value) if setup else self.visit(value)
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
        raise self.owner.error(node, "a lambda can only be called, passed to a function or assigned to a name",
                               "write f = lambda ...: ... and call f(...), or use a def")

    def visit_JoinedStr(self, node):
        return node

    visit_StmtExpr = visit_JoinedStr


class Desugar(Inlining):
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
        self.known: dict[str, tuple] = {}  # names bound to displays: their items (desugar_calls)
        self.lambdas: set[str] = set()  # the names given to lambdas passed as values
        self.callee_of: dict[str, object] = {}  # nested functions standing for the user's functions
        self.inlined_callees: set = set()
        self.original = parsed.original_names  # inlined functions' renamed variables: their names in the source
        self.global_names: set[str] = set()  # names made for globals (global_name)
        self.returns_function: dict = {}  # the user's functions: whether each returns a function

    # ------------------------------------------------------------ helpers
    def error(self, node, message: str, hint: str = "") -> TangentSyntaxError:
        return self.origin.error(TangentSyntaxError, node if getattr(node, "lineno", None) else self.current, message, hint)

    def at(self, node: ast.AST) -> ast.AST:
        return locate(node, self.current)

    def temp(self, base: str) -> str:
        return self.namer.fresh("_" + base.strip("_"))

    def expr(self, node: ast.expr) -> ast.expr:
        return _Expressions(self).visit(node)

    def user_text(self, node: ast.expr) -> str:
        """``node`` as the user wrote it (inlined functions' names as in their source)."""
        node = copy.deepcopy(node)
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                sub.id = self.original.get(sub.id, sub.id)
        return ast.unparse(node)

    def local(self, base: str) -> str:
        """A fresh local variable."""
        name = self.temp(base)
        self.parsed.local_names = self.parsed.local_names | {name}
        return name

    def global_name(self, hint: str, value) -> str:
        """A fresh name the function reads as the global ``value``."""
        name = self.namer.fresh(hint)
        self.parsed.namespace[name] = value
        self.global_names.add(name)
        return name

    def builtin(self, name: str) -> ast.Name:
        """A name for the builtin ``name`` (even where a local shadows it)."""
        if name not in self.parsed.local_names and self.parsed.resolve(_name(name)) is getattr(builtins, name):
            return _name(name)
        return _name(self.global_name(name, getattr(builtins, name)))

    def stmt_expr(self, setup: list[ast.stmt], value: ast.expr) -> StmtExpr:
        """The statements, then ``value`` (desugared) in a fresh name."""
        result = self.local("value")
        return StmtExpr(setup + self.statement(self.at(ast.Assign(targets=[_name(result, ast.Store())], value=value))),
                        result)

    # --------------------------------------------------------- statements
    def body(self, stmts: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for stmt in stmts:
            saved, self.current = self.current, stmt
            rebound = set() if _is_definition(stmt) else _bound_names([stmt]) & set(self.local_functions)
            known = dict(self.known)
            out += self.statement(stmt)
            if isinstance(stmt, (ast.If, ast.For, ast.While)):  # what a branch or loop learns stays in it
                self.known = {k: v for k, v in known.items() if self.known.get(k) == v}
            for fname in rebound:  # a nested function's name given another value: calls after it are not inlined
                self.local_functions.pop(fname, None)
            self.current = saved
        return out

    def statement(self, stmt: ast.stmt) -> list[ast.stmt]:
        calls.forget(self, stmt)
        handler = getattr(self, "stmt_" + type(stmt).__name__, None)
        return handler(stmt) if handler is not None else [stmt]

    def stmt_FunctionDef(self, stmt):
        return self.define(stmt)

    def stmt_Assign(self, stmt):
        if len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) and isinstance(stmt.value, ast.Lambda):
            lam = stmt.value
            fdef = ast.FunctionDef(name=stmt.targets[0].id, args=lam.args,
                                   body=[ast.copy_location(ast.Return(value=lam.body), stmt)],
                                   decorator_list=[], returns=None, type_params=[])
            return self.define(ast.copy_location(fdef, stmt))
        target = stmt.targets[0] if len(stmt.targets) == 1 else None
        if isinstance(target, (ast.Tuple, ast.List)) and any(isinstance(e, ast.Starred) for e in ast.walk(target)):
            return calls.starred_assignment(self, target, stmt.value)
        written = library_writes.as_assignments(self, stmt)  # z = np.sin(x, out=y): y[...] = np.sin(x); z = y
        if written is not None:
            return [out for made in written for out in self.statement(made)]
        item_classes.note_element_class(self, target, stmt.value)
        if isinstance(target, ast.Name) and isinstance(stmt.value, (ast.Name, ast.Call)):
            made = values.function_value(self, stmt.value)
            if made is not None:  # g = functools.partial(...), step = make_step(a), h = g
                self.local_functions[target.id] = self.local_functions[made[1]]
                return made[0]
        stmt.value = self.expr(stmt.value)
        stmt.targets = [self.expr(t) for t in stmt.targets]
        if target is not None:
            calls.note_known(self, target, stmt.value)
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
        resolve.checkpointed_condition(self.parsed, stmt)  # `while tangent.checkpointed(...)`: see reverse.py
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
        written = library_writes.as_assignments(self, stmt)  # np.copyto(y, x): y[...] = x
        if written is not None:
            return [out for made in written for out in self.statement(made)]
        value = stmt.value
        if isinstance(value, ast.Call) and not (
                isinstance(value.func, ast.Name) and value.func.id in self.local_functions):
            stmt.value = self.expr(value)  # (a discarded call of a nested function is refused later)
        return [stmt]

    def stmt_With(self, stmt):
        if fence.is_state_block(stmt, self.parsed):  # with np.errstate(...): the block, as if written without it
            return self.body(stmt.body)
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
        if any(isinstance(n, ast.Starred) for n in ast.walk(stmt.target)):  # for a, *b in rows:
            row = self.local("row")
            stmt.body = [ast.copy_location(ast.Assign(targets=[stmt.target], value=_name(row)), stmt)] + stmt.body
            stmt.target = _name(row, ast.Store())
        calls.loop_over_dict_view(self, stmt)
        item_classes.note_item_class(self, stmt)
        it = stmt.iter = self.rewritten_iterable(stmt.iter)
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

    def rewritten_iterable(self, it: ast.expr) -> ast.expr:
        """A loop's iterable (or enumerate's, zip's) desugared first when
        desugar_calls rewrites it (``d.items()``, ``map(...)``, ``zip(*rows)``)."""
        if not isinstance(it, ast.Call):
            return it
        callee = self.parsed.resolve(it.func)
        if callee in (builtins.enumerate, builtins.zip) and all(not isinstance(a, ast.Starred) for a in it.args):
            it.args = [self.rewritten_iterable(a) for a in it.args]
            return it
        if calls.rewritten_iterable(self, it, callee):
            return self.expr(it)
        return it

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
    item_classes.named_tuple_fields_indexed(body, parsed)
    return Desugar(parsed, namer).body(body)
