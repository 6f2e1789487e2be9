"""Derivative rules: data, not code paths.

Takes rule declarations (below) and gives the tables the differentiators read:
``lookup_adjoint(f)`` / ``lookup_tangent(f)`` return the ``Template`` of a
primitive's reverse / forward rule, looked up by the identity of the called
object (so ``import numpy as onp`` and ``from numpy import exp`` find the same
rule); ``is_nondifferentiable(f)`` says whether its outputs carry no
derivative. ``Template.bind`` is where a call's arguments meet a rule's
parameters; ``templates.instantiate`` copies a rule into generated code.
Rules never run as written.

A rule is a short template function registered for one or more primitives.
Its first parameter names the primitive's result, the others its arguments
(with the primitive's own defaults); ``d[x]`` means "the adjoint of x" in a
reverse rule and "the tangent of x" in a forward rule. A reverse rule assigns
``d[arg] = ...`` for the arguments it differentiates; Tangent accumulates the
contribution, drops it when the argument is not active, and renames the
template's locals. ``xp`` names the array library of the primitive called
(``np`` for NumPy, ``math`` for math). Example::

    @adjoint(numpy.exp)
    def exp(z, x):
        d[x] = d[z] * z

    @tangent_rule(numpy.exp)
    def t_exp(z, x):
        d[z] = d[x] * z

Where to add a rule. Most primitives fit one of three forms, declared once for
both modes (``vocabulary.py``; the generated templates are the ones written
out above)::

    @elementwise(np.sin, math.sin)        # the local derivative dz/dx
    def sin(z, x):
        return xp.cos(x)

    @linear(np.swapaxes)                  # the primitive, and its transpose
    def swapaxes(z, a, axis1, axis2):
        return np.swapaxes(a, axis1, axis2), np.swapaxes(d[z], axis1, axis2)

    @bilinear(np.dot, lhs=grad_dot_lhs, rhs=grad_dot_rhs)   # f(a, b), two transposes
    def dot(z, a, b, out=None):
        return np.dot(a, b)

Anything else is an ``@adjoint`` and a ``@tangent_rule`` side by side. NumPy
rules live in ``numpy_rules.py`` (faster shape-specialised variants in
``numpy_fast_rules.py``), operators, builtins and math in
``builtins_rules.py``, SciPy in ``scipy_rules.py``, and the rules of the
runtime helpers generated code calls in ``runtime_rules.py``. A helper that a
rule calls needs rules of its own, so that derivatives can be differentiated
again (``tests/test_second_order_rules.py`` checks).
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import sys
import textwrap
import threading
import types
from typing import Any, Callable, Iterable, Mapping


# `d` and `xp` only exist so that templates are valid, lintable Python:
# templates are read as source and rewritten, never executed. `xp` stands for
# the array library of the primitive being differentiated (numpy for np.sin,
# math for math.sin), resolved when the template is instantiated.
class _Placeholder:
    """A name that only rule templates use; it has no value of its own."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self):
        return f"<rule template placeholder {self.name}>"


d: Any = None
xp: Any = _Placeholder("xp")


class Template:
    """A parsed rule template: its function, AST and signature.

    ``Template(fn, kind)`` reads the template from ``fn``'s source. The rule
    vocabulary (``elementwise``, ``linear``, ``bilinear``) builds templates
    whose body it writes itself: it passes the ``tree``, and the
    ``signature`` and ``namespace`` when they are not ``fn``'s own.
    """

    def __init__(self, fn: Callable, kind: str, *, tree: ast.FunctionDef | None = None,
                 signature: inspect.Signature | None = None, namespace: Mapping[str, Any] | None = None,
                 label: str | None = None):
        self.fn = fn
        self.kind = kind
        self._tree = tree
        self.signature = signature if signature is not None else inspect.signature(fn)
        self._namespace = namespace
        self.label = label if label is not None else f"{fn.__module__}.{fn.__qualname__}"

    @property
    def tree(self) -> ast.FunctionDef:
        if self._tree is None:
            source = textwrap.dedent(inspect.getsource(self.fn))
            node = ast.parse(source).body[0]
            assert isinstance(node, ast.FunctionDef)
            node.decorator_list = []
            self._tree = node
        return self._tree

    @functools.cached_property
    def differentiable_params(self) -> set[str]:
        """Parameters whose derivative the rule reads or writes (``d[p]``)."""
        params = list(self.signature.parameters)
        found = {
            node.slice.id
            for node in ast.walk(self.tree)
            if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "d"
            and isinstance(node.slice, ast.Name)
        }
        return found & set(params[1:])

    @property
    def namespace(self) -> Mapping[str, Any]:
        """Where the template's global names are looked up."""
        return self._namespace if self._namespace is not None else self.fn.__globals__

    @property
    def result_param(self) -> str:
        """The parameter that names the primitive's result."""
        return next(iter(self.signature.parameters))

    def match(self, args: list, keywords: dict) -> inspect.BoundArguments:
        """The call's arguments (atoms) bound to the rule's parameters after
        the result, as ``inspect.Signature.bind`` binds them.

        This is the one place where a call meets a rule's parameters. Raises
        TypeError (the signature's own message) on a mismatch.
        """
        params = list(self.signature.parameters.values())[1:]
        return inspect.Signature(params).bind(*args, **keywords)

    def bind(self, args: list[ast.expr], keywords: dict[str, ast.expr],
             bind_global: Callable[[str, object], str]) -> dict[str, ast.expr]:
        """An atom for every parameter after the result: the call's argument,
        else the parameter's default (a literal, or a name ``bind_global``
        binds), ``*args`` as a tuple and ``**kwargs`` as a dict.

        Raises TypeError (the signature's own message) on a mismatch.
        """
        bound = self.match(args, keywords)
        result = {}
        for param in list(self.signature.parameters.values())[1:]:
            if param.name in bound.arguments:
                value = bound.arguments[param.name]
                if param.kind is inspect.Parameter.VAR_POSITIONAL:
                    result[param.name] = ast.Tuple(elts=list(value), ctx=ast.Load())
                elif param.kind is inspect.Parameter.VAR_KEYWORD:
                    result[param.name] = ast.Dict(keys=[ast.Constant(value=k) for k in value],
                                                  values=list(value.values()))
                else:
                    result[param.name] = value
            elif param.default is not inspect.Parameter.empty:
                result[param.name] = literal_or_global(param.default, bind_global, param.name)
            elif param.kind is inspect.Parameter.VAR_POSITIONAL:
                result[param.name] = ast.Tuple(elts=[], ctx=ast.Load())
            elif param.kind is inspect.Parameter.VAR_KEYWORD:
                result[param.name] = ast.Dict(keys=[], values=[])
        for refuse in getattr(self.fn, "constant_refusals", ()):  # constants the rule refuses (domain.py)
            refuse(result)
        return result

    def __repr__(self):
        return f"<{self.kind} rule {self.label}>"


def literal_or_global(value, bind_global: Callable[[str, object], str], hint: str) -> ast.expr:
    """``value`` as an expression: a literal, or a module-level name bound to it."""
    if value is None or isinstance(value, (bool, int, float, complex, str)):
        return ast.Constant(value=value)
    if isinstance(value, tuple) and all(isinstance(v, (int, float, bool, type(None))) for v in value):
        return ast.Constant(value=value)
    return ast.Name(id=bind_global(hint, value), ctx=ast.Load())


class _Registry:
    def __init__(self):
        self._by_key: dict[Any, Any] = {}

    @staticmethod
    def _key(obj):
        try:
            hash(obj)
            return obj
        except TypeError:
            return ("id", id(obj))

    def __setitem__(self, obj, value):
        self._by_key[self._key(obj)] = value

    def get(self, obj):
        try:
            return self._by_key.get(self._key(obj))
        except TypeError:
            return None

    def __contains__(self, obj):
        return self.get(obj) is not None

    def pop(self, obj):
        return self._by_key.pop(self._key(obj), None)


ADJOINTS = _Registry()
# Faster reverse rules for argument shapes known when code is specialised:
# primitive -> [(predicate, Template)]; see ``adjoint(..., when=...)``.
ADJOINT_VARIANTS = _Registry()
TANGENTS = _Registry()
NONDIFFERENTIABLE = _Registry()
# Functions whose output aliases an input in place, or that have side effects
# the backward pass cannot undo.
_loaded = False
_version = 0
# Held while rules load and while code is generated: transformations read
# and fill shared tables (rules, cached template trees, the derivative cache),
# so at first use from several threads one transforms and the others wait.
# Re-entrant: transforming a function transforms its callees.
transform_lock = threading.RLock()


def version() -> int:
    """Changes whenever a rule is registered (derivatives cached before are stale)."""
    return _version


def _changed() -> None:
    global _version
    _version += 1


def adjoint(*primitives: Callable, when: Callable | None = None) -> Callable[[Callable], Callable]:
    """Register a reverse-mode rule (a template) for one or more primitives.

    Example::

        @tangent.adjoint(cube)
        def dcube(result, x):
            d[x] = d[result] * 3 * x * x

    A registered rule takes precedence over differentiating the function's
    own source. With ``when``, the rule is a faster variant used only in code
    specialised to its arguments' shapes: ``when(shapes, constants)`` gets
    the shape of each argument (None if unknown) and the value of each
    literal argument, and says whether the variant applies::

        @adjoint(np.matmul, when=lambda shapes, constants: shapes["x"] and len(shapes["x"]) == 2 ...)
    """

    def register(template: Callable) -> Callable:
        register_adjoint(Template(template, "adjoint"), primitives, when)
        return template

    return register


def register_adjoint(rule: Template, primitives: Iterable[Callable], when: Callable | None = None) -> None:
    """Make ``rule`` the reverse rule of each primitive (see ``adjoint``)."""
    load_builtin_rules()  # a user's rule for a builtin primitive replaces the builtin one
    with transform_lock:
        for primitive in primitives:
            if when is not None:
                variants = ADJOINT_VARIANTS.get(primitive) or []
                ADJOINT_VARIANTS[primitive] = variants + [(when, rule)]
                continue
            ADJOINTS[primitive] = rule
            NONDIFFERENTIABLE.pop(primitive)
        _changed()


def register_tangent(rule: Template, primitives: Iterable[Callable]) -> None:
    """Make ``rule`` the forward rule of each primitive (see ``tangent_rule``)."""
    load_builtin_rules()
    with transform_lock:
        for primitive in primitives:
            TANGENTS[primitive] = rule
        _changed()


def lookup_adjoint_variants(obj) -> list:
    load_builtin_rules()
    return ADJOINT_VARIANTS.get(obj) or []


def tangent_rule(*primitives: Callable) -> Callable[[Callable], Callable]:
    """Register a forward-mode rule: ``d[result] = ...`` from ``d[args]``.

    Example::

        @tangent.tangent_rule(cube)
        def tcube(result, x):
            d[result] = 3 * x * x * d[x]
    """

    def register(template: Callable) -> Callable:
        register_tangent(Template(template, "tangent"), primitives)
        return template

    return register


def nondifferentiable(*primitives: Callable) -> None:
    """Declare functions whose outputs carry no derivative (shape, argmax, ...).

    Example::

        tangent.nondifferentiable(my_bucketize)
    """
    load_builtin_rules()
    with transform_lock:
        for primitive in primitives:
            NONDIFFERENTIABLE[primitive] = True
        _changed()


# Optional array libraries: the top-level package -> the rule module loaded
# once the user has imported the package (``import tangent`` imports none).
# SciPy's stats and linalg (a second to import) are optional in the same way.
_OPTIONAL = {"torch": "torch_rules", "jax": "jax_rules", "tensorflow": "tf_rules",
             "array_api_strict": "array_api_strict_rules", "scipy.stats": "stats_rules",
             "scipy.linalg": "scipy_linalg_rules"}
_optional_loaded: set[str] = set()
_RULE_MODULES = {f"{__name__}.{module}": package for package, module in _OPTIONAL.items()}
# top-level package -> its array type, for methods of local values (resolve.array_type)
_ARRAY_TYPES: dict[str, type] = {}


def _optional_pending() -> bool:
    return any(package in sys.modules and package not in _optional_loaded for package in _OPTIONAL)


def load_builtin_rules() -> None:
    """Import the rule modules (once); optional libraries are skipped if
    absent, and the rules of torch, jax and tensorflow are loaded once the user has
    imported them (``sys.modules``), never importing them here."""
    global _loaded
    if _loaded and not _optional_pending():
        return
    with transform_lock:
        # marked loaded only once every module has registered its rules:
        # another thread seeing _loaded must find them all (the same thread,
        # re-entering while a rule module imports, finds what is registered)
        if _loading:
            return
        _loading.append(True)
        try:
            if not _loaded:
                from . import (  # noqa: F401
                    accumulation_rules,
                    argument_rules,
                    builtins_rules,
                    checkpointing_rules,
                    linalg_rules,
                    numpy_fast_rules,
                    numpy_more_rules,
                    numpy_rules,
                    random_rules,
                    runtime_rules,
                )

                try:
                    from . import scipy_rules  # noqa: F401
                except ImportError:
                    pass
            for package, module in _OPTIONAL.items():
                if package in sys.modules and package not in _optional_loaded:
                    _optional_loaded.add(package)
                    importlib.import_module(f"{__name__}.{module}")
            _loaded = True
        finally:
            _loading.clear()


# Functions of other array libraries whose result may share memory with their
# first argument (aliases.view_functions adds them to NumPy's views).
VIEWS: set = set()


def declare_views(*functions: Callable) -> None:
    """Declare functions whose result may be a view of their first argument
    (or receiver): writes into it are refused or undone like NumPy views'."""
    with transform_lock:
        VIEWS.update(functions)
        _changed()


def register_array_type(package: str, array_type: type) -> None:
    """Resolve methods and attributes of local values on ``array_type`` in
    functions that read names of ``package`` (and of no other such library)."""
    _ARRAY_TYPES[package] = array_type


def _libraries(values: Iterable[object]) -> set[str]:
    """The array libraries (numpy and the registered ones) ``values`` come from."""
    found = set()
    for value in values:
        name = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", None)
        if not isinstance(name, str):
            continue
        package = _RULE_MODULES.get(name, name.split(".")[0])  # a helper of generated code (grad_sum)
        if package in _ARRAY_TYPES or package == "numpy":
            found.add(package)
    return found


def array_type_of(used: Iterable[object], module: Iterable[object] = ()) -> type | None:
    """The array type of the registered array library (``torch``, ``jax``)
    a function is written with, else None (NumPy): the one library among the
    global values it reads (``used``); when those name none (only methods of
    local values), the one array library imported in its module (``module``:
    the module's global values), NumPy included."""
    load_builtin_rules()
    found = _libraries(used) or _libraries(v for v in module if isinstance(v, types.ModuleType))
    package = found.pop() if len(found) == 1 else None
    return _ARRAY_TYPES.get(package)


_loading: list = []


def is_library_function(callee) -> bool:
    """Whether ``callee`` is a function of a registered array library
    (``tensorflow``, ``torch``, ``jax``): a primitive, differentiated by its
    rule or refused, never by reading the library's own source."""
    module = getattr(callee, "__module__", None)
    return isinstance(module, str) and module.split(".")[0] in _ARRAY_TYPES


def lookup_adjoint(obj):
    load_builtin_rules()
    return ADJOINTS.get(obj)


def lookup_tangent(obj):
    load_builtin_rules()
    return TANGENTS.get(obj)


def is_nondifferentiable(obj) -> bool:
    load_builtin_rules()
    return NONDIFFERENTIABLE.get(obj) is not None


from .vocabulary import array_namespace, bilinear, elementwise, linear, register_namespace  # noqa: E402, F401
