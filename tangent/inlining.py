"""Inlining in desugaring: nested functions and constructors, at their calls.

A mixin of desugar.py's ``Desugar``: ``define`` notes a nested function
(its defaults computed where the ``def`` stands), ``inline`` replaces a
call of one by its body, its parameters and locals renamed apart so that
it reads the enclosing variables' current values, as a closure does.
``*args`` is bound to a tuple display, ``**kwargs`` to a dict display; a
parameter given a nested function or a global function is that function
in the body. ``construct`` inlines ``Cls.__init__`` on a new object.
A nested function calling itself is refused (``inline``), naming the line.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import inspect
import types

from . import desugar_calls as calls
from . import fence, ir, resolve
from . import function_values as values
from .controlflow import lower_control_flow
from .frontend import parse_function


class StmtExpr(ast.expr):
    """Statements to run, then the value of the name ``result``."""

    _fields = ("body",)

    def __init__(self, body: list[ast.stmt] | None = None, result: str = ""):
        super().__init__()
        self.body = body or []
        self.result = result


def _name(id_: str, ctx=None) -> ast.Name:
    return ast.Name(id=id_, ctx=ctx or ast.Load())


def _bind_arguments(fname: str, args: ast.arguments, node: ast.Call) -> tuple[list, dict, dict]:
    """(parameter names, {parameter: argument}, {parameter: default}) of a
    call of the nested function ``fname`` (``*args`` bound to a tuple
    display, ``**kwargs`` to a dict display); raises Unresolvable."""
    positional = [a.arg for a in args.posonlyargs + args.args]
    params = list(positional)
    defaults = dict(zip(params[len(params) - len(args.defaults):], args.defaults))
    for a, default in zip(args.kwonlyargs, args.kw_defaults):
        params.append(a.arg)
        if default is not None:
            defaults[a.arg] = default
    if len(node.args) > len(positional) and not args.vararg:
        raise resolve.Unresolvable(f"too many arguments for {fname}")
    bound: dict[str, ast.expr] = dict(zip(positional, node.args))  # never keyword-only ones
    extra: dict[str, ast.expr] = {}
    for kw in node.keywords:
        if kw.arg in bound or kw.arg not in params and not args.kwarg:
            raise resolve.Unresolvable(f"bad keyword argument {kw.arg!r} for {fname}")
        (bound if kw.arg in params else extra)[kw.arg] = kw.value
    if args.vararg:
        params.append(args.vararg.arg)
        bound[args.vararg.arg] = ast.Tuple(elts=list(node.args[len(positional):]), ctx=ast.Load())
    if args.kwarg:
        params.append(args.kwarg.arg)
        bound[args.kwarg.arg] = ast.Dict(keys=[ast.Constant(value=k) for k in extra], values=list(extra.values()))
    return params, bound, defaults


def _dataclass_init(cls: type) -> ast.FunctionDef | None:
    """The ``__init__`` that @dataclass wrote for ``cls`` (which has no
    source), as a def assigning each field; None unless ``cls`` is a plain
    dataclass: generated __init__, not frozen, no __post_init__, InitVar or
    init=False field, no default but a number, bool, str or None."""
    params = getattr(cls, "__dataclass_params__", None)
    init = inspect.getattr_static(cls, "__init__", None)
    if params is None or not params.init or params.frozen or hasattr(cls, "__post_init__") \
            or not isinstance(init, types.FunctionType) or init.__code__.co_filename != "<string>":
        return None
    fields = list(cls.__dataclass_fields__.values())
    if any(f._field_type is not dataclasses._FIELD and f._field_type is not dataclasses._FIELD_CLASSVAR
           for f in fields):
        return None
    fields = dataclasses.fields(cls)
    simple = (int, float, bool, str, type(None))
    if any(not f.init or f.default_factory is not dataclasses.MISSING
           or f.default is not dataclasses.MISSING and type(f.default) not in simple for f in fields):
        return None
    args = ast.arguments(posonlyargs=[], args=[ast.arg(arg="self")], kwonlyargs=[], kw_defaults=[], defaults=[])
    for f in fields:
        default = None if f.default is dataclasses.MISSING else ast.Constant(value=f.default)
        if f.kw_only:
            args.kwonlyargs.append(ast.arg(arg=f.name))
            args.kw_defaults.append(default)
        else:
            args.args.append(ast.arg(arg=f.name))
            if default is not None:
                args.defaults.append(default)
    body = [ast.Assign(targets=[ast.Attribute(value=_name("self"), attr=f.name, ctx=ast.Store())],
                       value=_name(f.name)) for f in fields] or [ast.Pass()]
    return ast.FunctionDef(name="__init__", args=args, body=body, decorator_list=[], returns=None, type_params=[],
                           lineno=None)  # (no line of the user's: placed at the call)


def _relocate(tree: ast.AST, call: ast.Call) -> None:
    """Every node of ``tree`` at the place of ``call`` (so that messages name
    the constructor call, in the file being differentiated)."""
    for n in ast.walk(tree):
        if "lineno" in n._attributes:
            ast.copy_location(n, call)


class _Renamer(ast.NodeTransformer):
    def __init__(self, renames: dict[str, str]):
        self.renames = renames

    def visit_Name(self, node):
        if node.id in self.renames:
            return ast.copy_location(ast.Name(id=self.renames[node.id], ctx=node.ctx), node)
        return node

    def visit_FunctionDef(self, node):
        """A nested function's parameters are its own (not renamed in it)."""
        args = node.args
        own = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg] if a}
        saved, self.renames = self.renames, {k: v for k, v in self.renames.items() if k not in own}
        node.body = [self.visit(s) for s in node.body] if isinstance(node.body, list) else self.visit(node.body)
        self.renames = saved
        args.defaults = [self.visit(d) for d in args.defaults]
        args.kw_defaults = [d if d is None else self.visit(d) for d in args.kw_defaults]
        return node

    visit_Lambda = visit_FunctionDef


class Inlining:
    """Nested functions and constructors inlined (see module doc); mixed
    into desugar.Desugar, whose state and statement methods it uses."""

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

    def inline(self, fname: str, node: ast.Call, keep: dict | None = None, capture: bool = False) -> StmtExpr:
        """A call of a nested function: its parameters bound to the arguments,
        then its body, renamed apart, its return value in a fresh name.
        ``keep`` binds parameters to the caller's names themselves (the
        object a constructor builds). With ``capture`` the function returns
        a function: the result names a nested function standing for it.
        A parameter given a function is that function in the body."""
        fdef = self.local_functions[fname]
        if fname in self.inlining:
            raise self.error(node, f"the nested function {self.shown(fname)!r} calls itself; recursion is only supported for "
                             "module-level functions", "define it at module level")
        out, renames = self.bind_parameters(fname, fdef, node, keep)
        result = self.namer.fresh(f"_{fname}")
        wrapper = ast.FunctionDef(name=fname, args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[],
                                                                 defaults=[]),
                                  body=copy.deepcopy(fdef.body), decorator_list=[], returns=None, type_params=[])
        wrapper = lower_control_flow(wrapper, self.parsed, self.namer)
        body = [_Renamer(renames).visit(s) for s in wrapper.body]
        if not body or not isinstance(body[-1], ast.Return):
            raise self.error(fdef, f"the nested function {self.shown(fname)!r} must end with a return statement")
        final = body.pop()
        if not capture:
            body.append(ast.copy_location(ast.Assign(targets=[_name(result, ast.Store())], value=final.value), final))
        self.parsed.local_names = self.parsed.local_names | (set(renames.values()) - self.global_names) | {result}
        self.inlining.add(fname)
        callee = self.callee_of.get(fname)
        self.inlined_callees.add(callee)
        scope = dict(self.local_functions), set(self.ambiguous)  # its own nested functions are its own
        try:
            out += self.body(body)
            if capture:
                made = values.function_value(self, final.value)
                if made is None:
                    shown = getattr(callee, "__qualname__", fname)
                    raise self.error(final, f"cannot tell which function {shown} returns",
                                     "return a nested function or a lambda")
                out += made[0]
                scope[0][result] = self.local_functions[made[1]]
        finally:
            self.inlining.discard(fname)
            self.inlined_callees.discard(callee)
            self.local_functions, self.ambiguous = scope
        return StmtExpr(out, result)

    def bind_parameters(self, fname: str, fdef: ast.FunctionDef, node: ast.Call, keep: dict | None):
        """(statements binding the parameters of an inlined call, renames of
        the function's parameters and locals)."""
        try:
            params, bound, defaults = _bind_arguments(fname, fdef.args, node)
        except resolve.Unresolvable as e:
            raise self.error(node, e.message.replace(fname, self.shown(fname))) from None
        stored = {n.id for n in ast.walk(fdef) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        renames = {v: self.namer.fresh(f"{v}_{fname.strip('_')}" if not v.startswith("_") else v)
                   for v in set(params) | stored}
        renames.update(keep or {})
        self.original.update({new: old for old, new in renames.items()})
        out: list[ast.stmt] = []
        for param in params:
            if keep and param in keep:
                continue  # bound to the caller's variable itself (the object being built)
            value = bound.get(param, copy.deepcopy(defaults.get(param)))
            if value is None:
                raise self.error(node, f"missing argument {param!r} for {self.shown(fname)}")
            if param in stored:  # (a parameter the body assigns is a variable)
                pass
            elif isinstance(value, ast.Name) and value.id in self.local_functions:
                self.local_functions[renames[param]] = self.local_functions[value.id]
                continue
            elif isinstance(value, ast.Name) and value.id in self.global_names \
                    and isinstance(self.parsed.namespace.get(value.id), type):
                renames[param] = value.id  # a class (cls of a classmethod): read in the body as that class
                continue
            elif (function := calls.global_function(self, value)) is not None:
                renames[param] = self.global_name(param, function)  # read in the body as that function
                continue
            binding = self.at(ast.Assign(targets=[_name(renames[param], ast.Store())], value=value))
            ir.annotate(binding, parameter=True)  # a plain binding (no aliasing of built objects)
            out += self.statement(binding)
        return out, renames

    def shown(self, fname: str) -> str:
        """How errors name the nested function ``fname``."""
        callee = self.callee_of.get(fname)
        if callee is not None:
            return getattr(callee, "__qualname__", fname)
        return "the lambda" if fname in self.lambdas else fname

    def inline_class_method(self, cls: type, function, node: ast.Call) -> StmtExpr:
        """Cls.create(args): the classmethod's body inlined, its ``cls`` the
        class itself (so that ``cls(...)`` builds a Cls as ``Cls(...)`` does)."""
        fname = values.module_function(self, function)
        call = ast.Call(func=_name(fname), args=[_name(self.global_name(cls.__name__, cls))] + list(node.args),
                        keywords=node.keywords)
        return self.inline(fname, ast.copy_location(call, node))

    def construct(self, cls: type, func: ast.expr, node: ast.Call) -> StmtExpr:
        """Cls(args) -> obj = object.__new__(Cls); Cls.__init__ inlined on obj.
        The object's attributes then behave like the items of a dict."""
        obj = self.temp(cls.__name__.lower())
        new = ast.Call(func=ast.Attribute(value=_name("object"), attr="__new__", ctx=ast.Load()),
                       args=[copy.deepcopy(func)], keywords=[])
        ir.annotate(new, callee=object.__new__, method=False, pure_call=False)
        first = self.at(ast.Assign(targets=[_name(obj, ast.Store())], value=new))
        ir.annotate(first, normal=True)  # A-normal form notes obj as an object built here
        self.parsed.local_names = self.parsed.local_names | {obj}
        init = _dataclass_init(cls)
        if init is None:
            parsed_init = parse_function(cls.__init__)
            fence.check(parsed_init)
            init = parsed_init.tree
        if init.lineno is None or parsed_init.origin.filename != self.parsed.origin.filename:
            _relocate(init, node)  # generated, or of another module: its lines are not lines of this file
        init.body = list(init.body) + [ast.copy_location(ast.Return(value=ast.Constant(value=None)), init.body[-1])]
        name = f"__init_{cls.__name__}"
        self.local_functions[name] = init
        call = ast.Call(func=_name(name), args=[_name(obj)] + list(node.args), keywords=node.keywords)
        self_param = (init.args.posonlyargs + init.args.args)[0].arg
        inlined = self.inline(name, call, keep={self_param: obj})
        return StmtExpr([first] + inlined.body, obj)
