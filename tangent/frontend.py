"""Frontend: read a function's source and resolve the names it uses.

Takes a Python function (or bound method, or a specialising derivative);
gives a ParsedFunction: its ``def`` as an AST with decorators stripped and
the file's line numbers, an Origin that words errors as ``file:line``, and a
Namespace that reads the globals and closure cells live. Assumes the source
file holds the code that was compiled (``inspect.getsourcelines``).

Rules are found by the identity of live Python objects, never by spelling, so
every name a call uses is resolved here against the function's globals,
closure cells and builtins (``ParsedFunction.resolve``; what a call of a
local value or method refers to is resolved in resolve.py). Every read is
recorded while a derivative is generated, so a cached one can tell when it
is stale.
"""

from __future__ import annotations

import ast
import builtins
import functools
import inspect
import textwrap
import types

from .astwalk import walk_list
from .errors import Origin, SourceUnavailableError, TangentSyntaxError

UNRESOLVED = object()
MISSING = object()

# What transformations read of the world: while a derivative is generated
# (the transform lock held), every global, closure cell and attribute of a
# known object that its functions read is noted in each active recorder, with
# the identity of the value read, so that a cached derivative can tell when
# it is stale (see ``unchanged``).
_recorders: list[dict] = []


class recording:
    """``with recording() as deps:``: collect what is read meanwhile."""

    def __enter__(self) -> dict:
        self.deps: dict = {}
        _recorders.append(self.deps)
        return self.deps

    def __exit__(self, *exc):
        # by identity: nested recordings may hold equal (e.g. empty) dicts
        for i in range(len(_recorders) - 1, -1, -1):
            if _recorders[i] is self.deps:
                del _recorders[i]
                break
        return False


def recording_now() -> list:
    """What the innermost recording collected so far."""
    return list(_recorders[-1].values()) if _recorders else []


def _note(key, dep) -> None:
    for deps in _recorders:
        deps[key] = dep


def raw_attribute(obj, name):
    """``obj.name`` as stored, without running a property or binding a
    method (so that reading it twice gives the same object)."""
    attrs = getattr(obj, "__dict__", None)
    try:
        if attrs is not None and name in attrs:
            return attrs[name]
        value = inspect.getattr_static(obj, name)
    except (AttributeError, TypeError):
        return MISSING
    if type(value).__name__ == "member_descriptor":  # a __slots__ attribute: its value
        return getattr(obj, name, MISSING)
    return value


def unchanged(deps) -> bool:
    """True when everything recorded still holds the object it held."""
    for dep in deps:
        kind = dep[0]
        if kind == "global":
            if dep[1].get(dep[2], MISSING) is not dep[3]:
                return False
        elif kind == "cell":
            try:
                value = dep[1].cell_contents
            except ValueError:
                value = MISSING
            if value is not dep[2]:
                return False
        elif raw_attribute(dep[1], dep[2]) is not dep[3]:
            return False
    return True


class Namespace(dict):
    """The names a function can read: its closure cells, then its module's
    globals (read live, not copied), with explicit entries (set with ``[]``)
    first. Each read is recorded for the staleness check of the cache."""

    def __init__(self, func):
        super().__init__()
        self.globals = func.__globals__
        self.cells = dict(zip(func.__code__.co_freevars, func.__closure__ or ()))
        # generated code reads its own module, which nothing rebinds
        self.recorded = self.globals.get("__name__") != "tangent_generated"

    def _lookup(self, name):
        if dict.__contains__(self, name):
            return dict.__getitem__(self, name)
        cell = self.cells.get(name)
        if cell is not None:
            try:
                value = cell.cell_contents
            except ValueError:
                value = MISSING
            if _recorders and self.recorded:
                _note((id(cell), name), ("cell", cell, value))
            return value
        value = self.globals.get(name, MISSING)
        if _recorders and self.recorded:
            _note((id(self.globals), name), ("global", self.globals, name, value))
        return value

    def __contains__(self, name):
        return self._lookup(name) is not MISSING

    def __getitem__(self, name):
        value = self._lookup(name)
        if value is MISSING:
            raise KeyError(name)
        return value

    def get(self, name, default=None):
        value = self._lookup(name)
        return default if value is MISSING else value


class ParsedFunction:
    """A user function: its AST (decorators stripped), origin and namespace."""

    def __init__(self, func, tree: ast.FunctionDef, origin: Origin, namespace: dict):
        self.func = func
        self.tree = tree
        self.origin = origin
        self.namespace = namespace
        self.local_names = local_names(tree)
        # Parameters whose values are known when differentiating: functions
        # passed as arguments, and ``self`` of a bound method.
        self.static: dict[str, object] = {}
        # Classes of local variables known from annotations or from the
        # call that led here (``self`` of a method).
        self.types: dict[str, type] = {}
        # Classes of the items of local lists, tuples and dicts (annotated
        # ``layers: list[Layer]``, or built of objects of one class): a loop
        # over one knows its variable's class (desugar.py).
        self.element_types: dict[str, type] = {}
        # Whether the function was a generator (its tree returns the list it yields).
        self.generator = False
        # Parameters whose default is a function (``nonlinearity=np.tanh``):
        # the function is differentiated calling it (in ``static`` too) and
        # checks at run time that it is given no other (normalize.py).
        self.default_functions: dict[str, object] = {}
        # Variables of inlined functions (renamed apart): their names in the
        # source, for messages (desugar.py fills it).
        self.original_names: dict[str, str] = {}
        args = tree.args
        for arg in args.posonlyargs + args.args + args.kwonlyargs:
            if arg.annotation is not None:
                annotation = self.resolve_global(arg.annotation)
                if user_class(annotation):
                    self.types[arg.arg] = annotation
                elif isinstance(arg.annotation, ast.Subscript):
                    item = self.element_annotation(arg.annotation)
                    if item is not None:
                        self.element_types[arg.arg] = item

    def element_annotation(self, node: ast.Subscript) -> type | None:
        """``Cls`` of ``list[Cls]``, ``tuple[Cls, ...]``, ``dict[str, Cls]``,
        ``Sequence[Cls]`` (and the like), when a user class."""
        base = getattr(self.resolve_global(node.value), "__name__", "")
        if base not in ("list", "tuple", "dict", "Sequence", "Iterable", "Mapping", "List", "Tuple", "Dict"):
            return None
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        items = [i for i in items if not (isinstance(i, ast.Constant) and i.value is Ellipsis)]
        if not items:
            return None
        found = self.resolve_global(items[-1])
        return found if user_class(found) and (base in ("dict", "Mapping", "Dict") or len(items) == 1) else None

    def resolve_global(self, node: ast.expr):
        """Resolve ``node`` ignoring local names (for annotations)."""
        saved, self.local_names = self.local_names, set()
        try:
            return self.resolve(node)
        finally:
            self.local_names = saved

    @property
    def name(self) -> str:
        return self.tree.name

    def resolve(self, node: ast.expr):
        """The object a Name/Attribute chain denotes, or UNRESOLVED.

        Names bound locally in the function shadow globals, so ``x.sum`` where
        ``x`` is a local is UNRESOLVED (its type is only known at run time).
        """
        if isinstance(node, ast.Name):
            if node.id in self.static:
                return self.static[node.id]
            if node.id in self.local_names:
                return UNRESOLVED
            if node.id in self.namespace:
                return self.namespace[node.id]
            return getattr(builtins, node.id, UNRESOLVED)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            if base is UNRESOLVED:
                return UNRESOLVED
            if _recorders:
                _note((id(base), node.attr), ("attribute", base, node.attr, raw_attribute(base, node.attr)))
            return getattr(base, node.attr, UNRESOLVED)
        return UNRESOLVED


def user_class(obj) -> bool:
    return isinstance(obj, type) and obj.__module__ not in ("builtins", "numpy")


def local_names(tree: ast.FunctionDef) -> set[str]:
    """Every name the function binds: parameters and assignment targets."""
    args = tree.args
    names = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    if args.vararg:
        names.add(args.vararg.arg)
    if args.kwarg:
        names.add(args.kwarg.arg)
    for node in walk_list(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node is not tree:
            names.add(node.name)
    return names


def parse_function(func) -> ParsedFunction:
    """Parse ``func`` into a ParsedFunction.

    Example::

        parsed = parse_function(f)
        parsed.tree.name  # 'f'
    """
    func = getattr(func, "tangent_generic", func)  # a specialising derivative: its generic code
    func = inspect.unwrap(func)
    if isinstance(func, types.MethodType):
        bound_self = func.__self__
        parsed = parse_function(func.__func__)
        params = parsed.tree.args.posonlyargs + parsed.tree.args.args
        if params:
            # ``self`` is a known value: its attributes are constants
            parsed.static[params[0].arg] = bound_self
            parsed.types[params[0].arg] = type(bound_self)
        return parsed
    if not isinstance(func, types.FunctionType):
        raise SourceUnavailableError(
            f"{func!r} is not a Python function with source code; "
            "Tangent differentiates functions written in Python "
            "(register a rule with @tangent.adjoint for others)"
        )
    try:
        lines, first_line = inspect.getsourcelines(func)
        filename = inspect.getsourcefile(func) or func.__code__.co_filename
    except (OSError, TypeError) as e:
        raise SourceUnavailableError(
            f"cannot read the source of {func.__qualname__} ({e}); define it in a file "
            "(functions typed into a REPL or built by exec have no source)"
        ) from None
    if func.__name__ == "<lambda>":
        tree = _lambda_def(func, lines, first_line, filename)
    else:
        source = textwrap.dedent("".join(lines))
        try:
            module = ast.parse(source)
        except SyntaxError as e:
            raise SourceUnavailableError(f"cannot parse the source of {func.__qualname__}: {e}") from None
        tree = module.body[0]
        if isinstance(tree, ast.AsyncFunctionDef):
            raise TangentSyntaxError(f"{filename}:{first_line}: async functions cannot be differentiated")
        if not isinstance(tree, ast.FunctionDef):
            raise SourceUnavailableError(
                f"{filename}:{first_line}: the source of {func.__qualname__} is not a def statement; write it as a def")
        ast.increment_lineno(tree, max(first_line, 1) - 1)
    tree.decorator_list = []
    try:
        with open(filename, encoding="utf-8") as fh:
            file_lines = fh.read().splitlines()
    except OSError:
        import linecache

        file_lines = [line.rstrip("\n") for line in linecache.getlines(filename)]
    origin = Origin(filename, file_lines, func.__qualname__)
    origin.derived_from = getattr(func, "tangent_derived_from", None)
    parsed_generator = _generators_as_lists(tree, origin)

    parsed = ParsedFunction(func, tree, origin, Namespace(func))
    parsed.generator = parsed_generator  # read into a list: only its callers can be differentiated
    _read_parameters(parsed, func)
    return parsed


def _read_parameters(parsed: ParsedFunction, func) -> None:
    """A copy of a ``*args`` function made by varargs.fixed_arity read with
    its fixed parameters; function-valued defaults noted."""
    signature = inspect.signature(func)
    if getattr(func, "varargs_fixed", None) is not None:
        _fix_varargs(parsed.tree, [p.name for p in signature.parameters.values()
                                   if p.kind is p.POSITIONAL_OR_KEYWORD][len(parsed.tree.args.args):])
        parsed.local_names = local_names(parsed.tree)
    if getattr(func, "varargs_keywords", None) is not None:
        _fix_kwargs(parsed.tree, func.varargs_keywords)
        parsed.local_names = local_names(parsed.tree)
    # a copy made by argument_classes.with_classes: the classes of the arguments at a call, as if annotated
    parsed.types.update(getattr(func, "tangent_argument_classes", {}))
    parsed.element_types.update(getattr(func, "tangent_argument_item_classes", {}))
    if getattr(func, "tangent_array_type", None) is not None:  # (argument_classes.py: the arguments' tensors)
        parsed._array_type = func.tangent_array_type
    for name, param in signature.parameters.items():
        if _function_valued(param.default):  # def predict(x, nonlinearity=np.tanh)
            parsed.static[name] = parsed.default_functions[name] = param.default


def _fix_varargs(tree: ast.FunctionDef, names: list[str]) -> None:
    """``def f(x, *args)`` read as ``def f(x, args_0, args_1)`` beginning
    ``args = (args_0, args_1)`` (a copy of f made by varargs.fixed_arity)."""
    args = tree.args
    vararg = args.vararg.arg
    if names:
        args.defaults = []  # (every call reaching *args fills the parameters before it)
    args.args = list(args.args) + [ast.arg(arg=name) for name in names]
    args.vararg = None
    packed = ast.Assign(targets=[ast.Name(id=vararg, ctx=ast.Store())],
                        value=ast.Tuple(elts=[ast.Name(id=n, ctx=ast.Load()) for n in names], ctx=ast.Load()))
    tree.body = [ast.copy_location(packed, tree.body[0])] + tree.body


def _fix_kwargs(tree: ast.FunctionDef, names: dict[str, str]) -> None:
    """``def f(x, **opts)`` called with ``s=`` read as ``def f(x, *, opts_s)``
    beginning ``opts = {"s": opts_s}`` (a copy of f made by varargs.fixed_arity)."""
    args = tree.args
    kwarg = args.kwarg.arg
    args.kwonlyargs = list(args.kwonlyargs) + [ast.arg(arg=name) for name in names.values()]
    args.kw_defaults = list(args.kw_defaults) + [None] * len(names)
    args.kwarg = None
    packed = ast.Assign(targets=[ast.Name(id=kwarg, ctx=ast.Store())],
                        value=ast.Dict(keys=[ast.Constant(value=k) for k in names],
                                       values=[ast.Name(id=n, ctx=ast.Load()) for n in names.values()]))
    tree.body = [ast.copy_location(packed, tree.body[0])] + tree.body


def _function_valued(value) -> bool:
    """A function, builtin or ufunc (not a class, not an array)."""
    return isinstance(value, (types.FunctionType, types.BuiltinFunctionType, functools.partial)) \
        or type(value).__name__ == "ufunc"


def _lambda_def(func, lines: list[str], first_line: int, filename: str) -> ast.FunctionDef:
    """``def <name>(params): return body`` for a lambda, with the file's line
    numbers. The lambda is found among those starting on its line by the
    columns its code was compiled from; two that cannot be told apart are
    refused."""
    source = "".join(lines)
    try:  # ``if 1:`` keeps an indented statement's columns
        module = ast.parse("if 1:\n" + source if source[:1].isspace() else source)
        shift = first_line - 2 if source[:1].isspace() else first_line - 1
    except SyntaxError:
        module, shift = None, 0
    found = [node for node in ast.walk(module)] if module is not None else []
    lambdas = [n for n in found if isinstance(n, ast.Lambda) and n.lineno + shift == func.__code__.co_firstlineno]
    positions = [(line, col) for line, _, col, end in func.__code__.co_positions()
                 if line is not None and col is not None and end is not None and end > col]
    if len(lambdas) > 1 and positions:
        def holds(lam):
            body = lam.body
            start, end = (body.lineno + shift, body.col_offset), (body.end_lineno + shift, body.end_col_offset)
            return all(start <= pos <= end for pos in positions)
        lambdas = [lam for lam in lambdas if holds(lam)] or lambdas
    if len(lambdas) != 1:
        why = "two lambdas on that line cannot be told apart" if lambdas else "its source could not be read"
        raise TangentSyntaxError(f"{filename}:{func.__code__.co_firstlineno}: cannot differentiate this lambda: {why}\n"
                                 "    assign each lambda on a line of its own, or write it as a def")
    lam = lambdas[0]
    ast.increment_lineno(lam, shift)
    parent = next((n for n in found if isinstance(n, ast.Assign) and n.value is lam
                   and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name)), None)
    name = parent.targets[0].id if parent is not None else "lambda_"
    tree = ast.FunctionDef(name=name, args=lam.args, body=[ast.Return(value=lam.body)], decorator_list=[],
                           returns=None, type_params=[])
    return ast.fix_missing_locations(ast.copy_location(tree.body[0], lam) and ast.copy_location(tree, lam))


class _Yields(ast.NodeTransformer):
    """A generator's body made to build the list of what it yields."""

    def __init__(self, items: str):
        self.items = items

    def _append(self, value: ast.expr, at: ast.AST) -> ast.stmt:
        call = ast.Call(func=ast.Attribute(value=ast.Name(id=self.items, ctx=ast.Load()), attr="append",
                                           ctx=ast.Load()), args=[value], keywords=[])
        return ast.copy_location(ast.Expr(value=call), at)

    def visit_Expr(self, node):
        if isinstance(node.value, ast.Yield):
            return self._append(node.value.value or ast.Constant(value=None), node)
        if isinstance(node.value, ast.YieldFrom):
            item = self.items + "_item"
            loop = ast.For(target=ast.Name(id=item, ctx=ast.Store()), iter=node.value.value,
                           body=[self._append(ast.Name(id=item, ctx=ast.Load()), node)], orelse=[])
            return ast.copy_location(loop, node)
        return node

    def visit_Return(self, node):
        if node.value is not None:
            return node  # refused below
        return ast.copy_location(ast.Return(value=ast.Name(id=self.items, ctx=ast.Load())), node)

    def visit_FunctionDef(self, node):
        return node  # a scope of its own

    visit_Lambda = visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef


def _own_nodes(fdef: ast.FunctionDef):
    todo = list(fdef.body)
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            todo.extend(ast.iter_child_nodes(node))


def _generators_as_lists(tree: ast.FunctionDef, origin: Origin) -> bool:
    """Rewrite each generator function in ``tree`` (itself or a nested def)
    to return the list of the values it yields: the callers Tangent
    supports consume a generator entirely (``sum(g(x))``, ``list(g(x))``, a
    for loop), and a list gives them the same values. A ``yield`` used as a
    value stays for the fence to refuse; ``return value`` in a generator and
    ``while True:`` without a way out are refused here. Returns whether
    ``tree`` itself was a generator."""
    generator = False
    for fdef in [n for n in walk_list(tree) if isinstance(n, ast.FunctionDef)]:
        own = list(_own_nodes(fdef))
        if not any(isinstance(n, ast.Expr) and isinstance(n.value, (ast.Yield, ast.YieldFrom)) for n in own):
            continue
        first = min((n for n in own if isinstance(n, ast.Expr) and isinstance(n.value, (ast.Yield, ast.YieldFrom))),
                    key=lambda n: (n.lineno, n.col_offset))
        for node in own:
            if isinstance(node, ast.Return) and node.value is not None:
                raise origin.error(TangentSyntaxError, first, "a generator that also returns a value (line "
                                   f"{node.lineno}) cannot be differentiated", "end it with a bare return, or return a list")
            if isinstance(node, ast.While) and isinstance(node.test, ast.Constant) and node.test.value \
                    and not any(isinstance(n, (ast.Break, ast.Return)) for n in ast.walk(node)):
                raise origin.error(TangentSyntaxError, node, "an endless generator cannot be differentiated: "
                                   "Tangent reads a generator into a list", "yield a finite number of values, or return a list")
        taken = {n.id for n in ast.walk(fdef) if isinstance(n, ast.Name)}
        items = next(f"yielded{k or ''}" for k in range(len(taken) + 1) if f"yielded{k or ''}" not in taken)
        start = ast.copy_location(ast.Assign(targets=[ast.Name(id=items, ctx=ast.Store())],
                                             value=ast.List(elts=[], ctx=ast.Load())), fdef.body[0])
        fdef.body = [start] + [_Yields(items).visit(s) for s in fdef.body]
        fdef.body.append(ast.copy_location(ast.Return(value=ast.Name(id=items, ctx=ast.Load())), fdef.body[-1]))
        ast.fix_missing_locations(fdef)
        generator = generator or fdef is tree
    return generator
