"""The derivative cache: ``grad(f)`` twice generates f's derivative once.

Takes a function (or any callable with source) and the options a derivative
was asked with; gives the derivative generated before, while it is still
valid. A derivative is cached on the function it was generated from, held
weakly: when the function goes, so does its entry (a derivative holds what
the function read, never the function itself). A cached derivative is
returned only while every global, closure cell and attribute its generation
read still holds the same object and no rule was registered since
(``frontend.unchanged``, ``rules.version``); otherwise it is generated again.

Also here: the one-line functions through which a primitive with a rule is
differentiated (``calling_primitive``), kept so that each primitive gets one.
Assumes callers hold ``rules.transform_lock`` while generating (the tables'
own lock is never held while transforming, so that lookups do not wait).
"""

from __future__ import annotations

import inspect
import threading
import types
import weakref
from collections import OrderedDict
from typing import Callable

from . import rules
from .frontend import unchanged

_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # function -> {options: entry}
# Bound methods are new objects at each access: their entries live on the
# function, by instance (a derivative holds its instance: at most a few kept).
_method_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_MAX_INSTANCES = 8
# Callables that cannot be weakly referenced: a few kept, most recent first.
_strong_cache: OrderedDict = OrderedDict()
_MAX_STRONG = 32
# primitive -> the function calling it that stands for it
_primitive_wrappers: dict = {}
# guards the tables (not held while transforming, so that lookups do not wait for it)
_cache_lock = threading.RLock()


def _entries(func, create: bool):
    """The {options: entry} table of ``func`` (None if absent and not ``create``)."""
    if isinstance(func, types.FunctionType) and getattr(func, "tangent_source", None) is not None:
        # a derivative (hvp, grad of grad): its own derivatives are kept on it,
        # as what they read (its module) holds it; checked to be its own, not
        # copied onto a wrapper by functools.wraps
        table = func.__dict__.get("tangent_derivatives")
        if table is None or table[0] != id(func):
            if not create:
                return None
            table = func.tangent_derivatives = (id(func), {})
        return table[1]
    if isinstance(func, types.MethodType):
        return _method_entries(func, create)
    try:
        table = _cache.get(func)
        if table is None and create:
            table = _cache[func] = {}
        return table
    except TypeError:  # not weakly referenceable, or unhashable
        return _strong_entries(func, create)


def _method_entries(func: types.MethodType, create: bool):
    """The table of a bound method, kept on its function by instance."""
    try:
        by_instance = _method_cache.get(func.__func__)
        if by_instance is None:
            if not create:
                return None
            by_instance = _method_cache[func.__func__] = OrderedDict()
    except TypeError:
        return _strong_entries(func, create)
    found = by_instance.get(id(func.__self__))
    if found is not None and found[0] is func.__self__:
        by_instance.move_to_end(id(func.__self__))
        return found[1]
    if not create:
        return None
    by_instance[id(func.__self__)] = (func.__self__, {})
    while len(by_instance) > _MAX_INSTANCES:
        by_instance.popitem(last=False)
    return by_instance[id(func.__self__)][1]


def _strong_entries(func, create: bool):
    found = _strong_cache.get(id(func))
    if found is not None and found[0] is func:
        _strong_cache.move_to_end(id(func))
        return found[1]
    if not create:
        return None
    _strong_cache[id(func)] = (func, {})
    while len(_strong_cache) > _MAX_STRONG:
        _strong_cache.popitem(last=False)
    return _strong_cache[id(func)][1]


def cached(func: Callable, options: tuple) -> Callable | None:
    """The derivative of ``func`` cached under ``options``, if still valid.

    Example::

        cached(f, options) or generate(f)
    """
    with _cache_lock:
        table = _entries(func, create=False)
        entry = table.get(options) if table is not None else None
        if entry is None:
            return None
        derivative, deps, version = entry
        if version != rules.version() or not unchanged(deps):
            table.pop(options, None)  # stale: a global, cell, attribute or rule changed since
            return None
        return derivative


def store(func: Callable, options: tuple, entry: tuple) -> None:
    """Cache ``entry`` = (derivative, what its generation read, rules version)
    for ``func`` and ``options``.

    Example::

        store(f, options, (df, tuple(deps.values()), rules.version()))
    """
    with _cache_lock:
        _entries(func, create=True)[options] = entry


def clear_cache() -> None:
    """Forget every cached derivative: the next ``grad(f)`` generates its
    code again (from f's source and what it reads now).

    Example::

        tangent.clear_cache()
    """
    with rules.transform_lock, _cache_lock:
        _cache.clear()
        _method_cache.clear()
        _strong_cache.clear()
        _primitive_wrappers.clear()


def weak(func: Callable) -> Callable[[], Callable | None]:
    """A callable returning ``func`` while it lives, None after (``func``
    itself when it cannot be weakly referenced).

    Example::

        ref = weak(f); ref() is f
    """
    try:
        ref = weakref.WeakMethod(func) if isinstance(func, types.MethodType) else weakref.ref(func)
    except TypeError:
        return lambda: func
    return ref


def calling_primitive(func: Callable) -> Callable:
    """A function with a registered rule (np.tanh, or a user's function with
    @tangent.adjoint) is differentiated through a one-line function calling
    it, so that its rule is what gets used; ``func`` itself otherwise.

    Example::

        calling_primitive(np.tanh)   # def tanh(x): return primitive(x)
    """
    if getattr(func, "tangent_generic", None) is not None or getattr(func, "tangent_source", None) is not None:
        return func
    if rules.lookup_adjoint(func) is None and rules.lookup_tangent(func) is None:
        return func
    if func in _primitive_wrappers:
        return _primitive_wrappers[func]
    from .codegen import compile_source

    try:
        params = [p.name for p in inspect.signature(func).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
    except (TypeError, ValueError):
        params = [f"x{i}" for i in range(getattr(func, "nin", 1))]
    name = getattr(func, "__name__", "primitive")
    source = f"def {name}({', '.join(params)}):\n    return primitive({', '.join(params)})\n"
    namespace, _ = compile_source(source, {"primitive": func}, name)
    # setdefault: threads racing here all get the first one (one cache entry)
    return _primitive_wrappers.setdefault(func, namespace[name])
