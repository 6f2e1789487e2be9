"""Derivative rules: data, not code paths.

A rule is a short template function registered for one or more primitives.
Its first parameter names the primitive's result, the others its arguments
(with the primitive's own defaults); ``d[x]`` means "the adjoint of x" in a
reverse rule and "the tangent of x" in a forward rule. A reverse rule assigns
``d[arg] = ...`` for the arguments it differentiates; Tangent accumulates the
contribution, drops it when the argument is not active, and renames the
template's locals. Rules never run as written: they are copied into generated
code. Example::

    @adjoint(numpy.exp)
    def exp(z, x):
        d[x] = d[z] * z

Rules are looked up by the identity of the called object, so ``import numpy as
onp`` and ``from numpy import exp`` find the same rule.
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
import threading
from typing import Any, Callable

# `d` only exists so that templates are valid, lintable Python: templates are
# read as source and rewritten, never executed.
d: Any = None


class Template:
    """A parsed rule template: its function, AST and signature."""

    def __init__(self, fn: Callable, kind: str):
        self.fn = fn
        self.kind = kind
        self._tree: ast.FunctionDef | None = None
        self.signature = inspect.signature(fn)

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
    def namespace(self) -> dict:
        return self.fn.__globals__

    def __repr__(self):
        return f"<{self.kind} rule {self.fn.__module__}.{self.fn.__qualname__}>"


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
        rule = Template(template, "adjoint")
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
        return template

    return register


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
        rule = Template(template, "tangent")
        load_builtin_rules()
        with transform_lock:
            for primitive in primitives:
                TANGENTS[primitive] = rule
            _changed()
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


def load_builtin_rules() -> None:
    """Import the rule modules (once); optional libraries are skipped if absent."""
    global _loaded
    if _loaded:
        return
    with transform_lock:
        # marked loaded only once every module has registered its rules:
        # another thread seeing _loaded must find them all (the same thread,
        # re-entering while a rule module imports, finds what is registered)
        if _loaded or _loading:
            return
        _loading.append(True)
        try:
            from . import builtins_rules, numpy_fast_rules, numpy_rules, runtime_rules  # noqa: F401

            try:
                from . import scipy_rules  # noqa: F401
            except ImportError:
                pass
            _loaded = True
        finally:
            _loading.clear()


_loading: list = []


def lookup_adjoint(obj):
    load_builtin_rules()
    return ADJOINTS.get(obj)


def lookup_tangent(obj):
    load_builtin_rules()
    return TANGENTS.get(obj)


def is_nondifferentiable(obj) -> bool:
    load_builtin_rules()
    return NONDIFFERENTIABLE.get(obj) is not None
