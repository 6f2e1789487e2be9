"""Frontend: read a function's source and resolve the names it uses.

Rules are found by the identity of live Python objects, never by spelling, so
every name a call uses is resolved here against the function's globals,
closure cells and builtins.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import textwrap
import types

from .errors import Origin, SourceUnavailableError, TangentSyntaxError

UNRESOLVED = object()


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
        args = tree.args
        for arg in args.posonlyargs + args.args + args.kwonlyargs:
            if arg.annotation is not None:
                annotation = self.resolve_global(arg.annotation)
                if isinstance(annotation, type) and annotation.__module__ not in ("builtins", "numpy"):
                    self.types[arg.arg] = annotation

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
            return getattr(base, node.attr, UNRESOLVED)
        return UNRESOLVED


def local_names(tree: ast.FunctionDef) -> set[str]:
    """Every name the function binds: parameters and assignment targets."""
    args = tree.args
    names = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    if args.vararg:
        names.add(args.vararg.arg)
    if args.kwarg:
        names.add(args.kwarg.arg)
    for node in ast.walk(tree):
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
            f"{filename}:{first_line}: {func.__qualname__} is a lambda or its source is not a "
            "def statement; write it as a def"
        )
    ast.increment_lineno(tree, max(first_line, 1) - 1)
    tree.decorator_list = []
    try:
        with open(filename, encoding="utf-8") as fh:
            file_lines = fh.read().splitlines()
    except OSError:
        import linecache

        file_lines = [line.rstrip("\n") for line in linecache.getlines(filename)]
    origin = Origin(filename, file_lines, func.__qualname__)

    namespace = dict(func.__globals__)
    if func.__closure__:
        for name, cell in zip(func.__code__.co_freevars, func.__closure__):
            try:
                namespace[name] = cell.cell_contents
            except ValueError:
                pass
    return ParsedFunction(func, tree, origin, namespace)
