"""Derivatives made for the classes of the objects they are called with.

``def loss(model, x): return model.energy(x)`` names a method of a value
whose class the source does not say: it is known only when the derivative
is called. The public API functions are wrapped with ``deferring``, which
(for the outermost API call only, not the API calls it makes itself) makes
the derivative, at a call whose arguments are instances of user classes (or
lists, tuples or dicts of instances of one), for those classes: from a copy
of the function that carries them as if annotated (``def loss(model: Model,
x)``; read by frontend.py), once per combination. Other calls (arrays and
numbers) use the derivative made when transforming. When transforming
fails with ``UnknownClassError`` (a method of a parameter of unknown class),
every call needs the classes; a call whose arguments name no user class
then raises that error, with the user's file and line. Without this, a
method named like a NumPy or numpy.random one, or a property, would be
read as the array's (a wrong gradient).

Example::

    df = tangent.grad(loss)     # loss(model, x) calls model.energy(x)
    df(Model(W), x)             # made here, for Model; Model's energy differentiated
"""

from __future__ import annotations

import functools
import inspect
import sys
import threading
import types
import weakref
from typing import Callable

import numpy as np

from . import rules, runtime
from .errors import UnknownClassError
from .item_classes import attribute_item_key, item_class_of_value, object_class
from .kind_guards import LastKinds
from .ownership import call_owned, dispatcher
from .shapes import argument_kind

__all__ = ["deferring", "with_classes", "classes_of", "MAX_DISPATCHED", "dispatch_entry", "dispatch_key"]

_state = threading.local()
# func -> {classes: the copy of func that carries them}: one copy per
# combination, so the derivative cache (keyed on the function) hits again
_copies: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# (id of a derivative made when transforming, API function) -> its wrapper
_wrappers: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def classes_of(func: Callable, args: tuple, kwargs: dict) -> tuple[tuple, tuple]:
    """((parameter, class) of the arguments that are instances of user
    classes, (parameter, class) of those that are lists, tuples or dicts of
    instances of one user class, and ("parameter.attribute", class) of such
    attributes of the former), each sorted by parameter.

    Example::

        classes_of(loss, (Model(W), x), {})   # ((("model", Model),), ())
    """
    return _call_classes(_positional(func), set(), args, kwargs)


def with_classes(func: Callable, objects: tuple, items: tuple, array_type: type | None = None) -> Callable:
    """A copy of ``func`` (same code, globals, defaults and closure) whose
    parameters are read as annotated with ``objects``' classes (and their
    items with ``items``'), methods of values of unknown class as those of
    ``array_type`` when given, one copy per combination.

    Example::

        typed = with_classes(loss, (("model", Model),), ())
    """
    table = _copies.setdefault(func, {})
    key = (objects, items, array_type)
    typed = table.get(key)
    if typed is None:
        typed = types.FunctionType(func.__code__, func.__globals__, func.__name__, func.__defaults__,
                                   func.__closure__)
        typed.__kwdefaults__ = func.__kwdefaults__
        typed.__qualname__ = func.__qualname__
        typed.__module__ = func.__module__
        typed.__dict__.update(func.__dict__)
        typed.tangent_argument_classes = dict(objects)
        typed.tangent_argument_item_classes = dict(items)
        if array_type is not None:
            typed.tangent_array_type = array_type
        table[key] = typed
    return typed


def deferring(api_function: Callable) -> Callable:
    """Wrap a public API function (``grad``, ``jvp``, ...) so that its
    derivatives are made for the classes of the objects they are called
    with (see the module docstring)."""

    @functools.wraps(api_function)
    def wrapper(func, *options, **keywords):
        outer = not getattr(_state, "inside", False)
        _state.inside = True
        try:
            made = api_function(func, *options, **keywords)
        except UnknownClassError as error:
            if not outer or not _retypable(func):
                raise
            return _per_classes(func, lambda typed: wrapper(typed, *options, **keywords), api_function.__name__,
                                refusal=error)
        finally:
            if outer:
                _state.inside = False
        if outer and _retypable(func) and isinstance(made, types.FunctionType) and _positional(func):
            key = (id(made), api_function.__name__)  # (made lives as long as its wrapper: ids are not reused)
            found = _wrappers.get(key)
            if found is None:
                found = _wrappers[key] = _per_classes(func, lambda typed: wrapper(typed, *options, **keywords),
                                                      api_function.__name__, eager=made)
            return found  # the same derivative for the same cached one (tangent.grad(f) is tangent.grad(f))
        return made

    wrapper.tangent_api = True  # (a call tangent.grad(g)(x) in a differentiated function: resolve.py)
    return wrapper


def _retypable(func) -> bool:
    """A function of the user's whose parameters' classes a copy can carry
    (not already such a copy)."""
    return isinstance(func, types.FunctionType) and not hasattr(func, "tangent_argument_classes")


def _positional(func) -> list[str]:
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


_PLAIN = frozenset({float, int, bool, complex, str, type(None), np.ndarray, np.float64, np.float32})


def _classes_of_argument(param: str, value) -> list | None:
    """[("object", param, class)] for an argument that is an object of a
    user class (with ("items", "param.attr", class) for each of its
    attributes that is a list, tuple or dict of objects of one user class),
    [("items", param, class)] for a list, tuple or dict of them, else None;
    fast for arrays, numbers and containers of them."""
    cls = type(value)
    if cls in _PLAIN:
        return None
    if cls is dict or cls is list or cls is tuple:
        item = _items_class(value)
        return None if item is None else [("items", param, item)]
    if not object_class(cls):
        return None
    found = [("object", param, cls)]
    for attribute, held in getattr(value, "__dict__", {}).items():
        item = _items_class(held) if type(held) in (list, tuple, dict) else None
        if item is not None:
            found.append(("items", attribute_item_key(param, attribute), item))
    return found


def _items_class(value) -> type | None:
    """The user class of every item of a list, tuple or dict, if one."""
    if not value:
        return None
    first = next(iter(value.values())) if type(value) is dict else value[0]
    if type(first) in _PLAIN or not object_class(type(first)):
        return None
    return item_class_of_value(value)


def _call_classes(params: list[str], annotated: set[str], args: tuple, kwargs: dict) -> tuple[tuple, tuple]:
    """``classes_of`` for a call, fast when no argument is an object (the
    common case: arrays, numbers and containers of them)."""
    found = None
    for param, value in zip(params, args):
        if type(value) in _PLAIN:
            continue
        kinds = _classes_of_argument(param, value) if param not in annotated else None
        if kinds is not None:
            found = (found or []) + kinds
    for param, value in kwargs.items() if kwargs else ():
        kinds = _classes_of_argument(param, value) if param in params and param not in annotated else None
        if kinds is not None:
            found = (found or []) + kinds
    if found is None:
        return _NO_CLASSES
    return (tuple(sorted((p, c) for kind, p, c in found if kind == "object")),
            tuple(sorted((p, c) for kind, p, c in found if kind == "items")))


_NO_CLASSES = ((), ())


def _array_type_of(args: tuple) -> type | None:
    """The array type of the one array library other than NumPy (torch,
    JAX, TensorFlow) the arguments' arrays come from, else None."""
    libraries = {runtime.arrays.library(value) for value in args} - {None}
    module = sys.modules.get(libraries.pop()) if len(libraries) == 1 else None
    return rules.array_type_of([module]) if module is not None else None


def _annotated(func) -> set[str]:
    """Parameters whose annotation names a class (the derivative knows it)."""
    hints = getattr(func, "__annotations__", {}) or {}
    return {name for name, hint in hints.items() if name != "return" and not isinstance(hint, str)}


MAX_DISPATCHED = 64  # argument kinds whose dispatch a derivative keeps


def dispatch_key(args: tuple) -> tuple | None:
    """The arguments' kinds (``shapes.argument_kind``) when they determine
    both the classes a derivative is made for and its specialised code:
    None when one is a type that may hold objects of user classes (a
    container too big to describe, an object not described by attributes)."""
    key = tuple(map(argument_kind, args))
    for kind in key:
        if type(kind) is not tuple and kind not in _PLAIN:  # (a container too big to describe is its bare type)
            return None
    return key


def dispatch_entry(derivative: Callable, args: tuple, key: tuple):
    """What a call ``derivative(*args)`` (no keywords; ``key`` the
    arguments' ``dispatch_key``) runs: (code, finish, conforms) for
    ``ownership.call_owned``, or None when it has no such shortcut."""
    resolve = getattr(derivative, "tangent_resolve", (None, None))
    if resolve[0] == id(derivative):
        return resolve[1](args, key)
    dispatch = dispatcher(derivative)
    return dispatch(args) if dispatch is not None else None


def _resolved(dispatched: dict, for_call: Callable, args: tuple, key: tuple):
    """(code, finish, conforms) for arguments of these kinds (see
    ``ownership.returning_owned``), or None, found once per key and kept in
    ``dispatched`` (its entry None set False: the derivative has none)."""
    entry = dispatched.get(key)
    if entry is None and key not in dispatched and len(dispatched) < MAX_DISPATCHED:
        target = for_call(args, {})
        dispatch = dispatcher(target)
        if dispatch is None:
            dispatched[None] = False  # (the derivatives made for every classes are alike)
        entry = dispatched[key] = dispatch(args) if dispatch is not None else None
    return entry


def _spreading(target: Callable) -> Callable:
    return lambda args: target(*args)


def _told(refusal: UnknownClassError, params: list[str], args: tuple) -> UnknownClassError:
    """The refusal made when transforming (file and line), with the likely
    cause when an argument's items are objects of several classes."""
    for param, value in zip(params, args):
        items = value.values() if type(value) is dict else value if type(value) in (list, tuple) else ()
        classes = {type(item) for item in items}
        if len(classes) > 1 and any(object_class(cls) for cls in classes):
            names = ", ".join(sorted(cls.__name__ for cls in classes))
            where_and_what = "\n".join(refusal.args[0].splitlines()[:2])  # (its hint replaced by this one)
            return UnknownClassError(
                f"{where_and_what}\n  the items of '{param}' are objects of several classes ({names}): a derivative is "
                f"made for one class of items; pass items of one class (a list per class, each in its own loop)")
    return refusal


def _describe_deferred(derivative: Callable, what: str, name: str, refusal: UnknownClassError) -> None:
    """Name and document a derivative made at its first call."""
    derivative.__name__ = f"{what}_{name}"
    derivative.__doc__ = (f"{what} of {name}, made at the first call for the classes of its arguments "
                          f"({name} calls a method of an argument whose class its source does not name).")
    derivative.tangent_source = None
    derivative.tangent_deferred = ("its source is generated at the first call, when the classes of the "
                                   f"arguments are known ({refusal.args[0].splitlines()[0]})")


def _per_classes(func: types.FunctionType, make: Callable, what: str, refusal: UnknownClassError | None = None,
                 eager: Callable | None = None) -> Callable:
    """A derivative that, at a call with objects of user classes among the
    arguments, uses ``make(copy of func carrying their classes)`` (made once
    per combination); other calls use ``eager`` (the derivative made when
    transforming), or raise ``refusal`` when there was none."""
    made: dict[tuple, Callable] = {}  # (the derivative holds func, as a derivative made at once holds its code)
    name, params, annotated = func.__name__, _positional(func), _annotated(func)

    def for_call(args, kwargs) -> Callable:
        key = _call_classes(params, annotated, args, kwargs)
        if eager is None:  # (x.relu() in a function naming no library: a method of the arguments' tensors)
            key = (*key, _array_type_of(args))
            if key == (*_NO_CLASSES, None):
                raise _told(refusal, params, args)  # (no argument of a user class: the refusal made when transforming)
        elif key is _NO_CLASSES:
            return eager
        found = made.get(key)
        if found is None:
            found = made[key] = make(with_classes(func, *key))
            if eager is None and itself() is not None:
                itself().tangent_source = getattr(found, "tangent_source", None)
        return found

    dispatched: dict = {}  # argument kinds -> (code, finish, conforms) or None; None -> a derivative without dispatch
    memo = LastKinds()  # the guard of the last call's kinds, and run(args) for them

    def resolve(args: tuple, key: tuple):
        return _resolved(dispatched, for_call, args, key)

    def derivative(*args, **kwargs):
        if not kwargs and sys.gettrace() is None:  # (traced: one line, then the call below)
            guard, run = memo.last
            if guard(args):  # (arguments of the last call's kinds, not described again)
                return run(args)
            key = dispatch_key(args)  # (the kinds determine the classes, and so what runs)
            if key is not None:
                entry = resolve(args, key) if dispatched.get(None, True) else None
                run = functools.partial(call_owned, *entry) if entry is not None else _spreading(for_call(args, {}))
                memo.remember(key, run)
                return run(args)  # (the same code and checks as the call below)
        if eager is not None and not kwargs:  # (few lines: pdb.runcall(df, x) steps into the generated code)
            for value in args:
                if type(value) not in _PLAIN:
                    break
            else:
                return eager(*args)
        return for_call(args, kwargs)(*args, **kwargs)

    def specialized_for(*args, **kwargs):  # (a derivative never specialised, jvp's: the code that runs)
        target = for_call(args, kwargs)
        return getattr(target, "tangent_specialized_for", lambda *_, **__: target)(*args, **kwargs)

    if eager is not None:
        functools.update_wrapper(derivative, eager)  # (its source, generic code, signature, name)
        derivative.__wrapped__ = eager
    else:
        _describe_deferred(derivative, what, name, refusal)
    derivative.tangent_specialized_for = specialized_for
    derivative.tangent_resolve = (id(derivative), resolve)  # (its id: a wrapper copying its attributes is another)
    # (weakly: a cycle through the derivative would leave func, and what the derivative cache holds
    # for it, to the garbage collector's second pass)
    itself = weakref.ref(derivative)
    return derivative
