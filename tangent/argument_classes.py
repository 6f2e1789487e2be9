"""Derivatives of functions that call methods of arguments of unannotated classes.

``def loss(model, x): return model.energy(x)`` names a method of a value
whose class the source does not say: it is known only when the derivative
is called. Transforming such a function raises ``UnknownClassError`` (a
``TangentSyntaxError``) where the method is called. The public API
functions are wrapped with ``deferring``: on that error (and only for the
outermost API call, not for the API calls it makes itself) the derivative
is made at its first call instead, for the classes of the arguments it is
given (an argument that is an instance of a user class, or a list, tuple
or dict whose items are all instances of one). It is made once per
combination of classes, from a copy of the function that carries them as
if annotated (``def loss(model: Model, x)``; read by frontend.py). A call
whose arguments name no user class raises the original error, with the
user's file and line.

Example::

    df = tangent.grad(loss)     # loss(model, x) calls model.energy(x)
    df(Model(W), x)             # made here, for Model; Model's energy differentiated
"""

from __future__ import annotations

import functools
import inspect
import threading
import types
import weakref
from typing import Callable

from .errors import UnknownClassError
from .item_classes import item_class_of_value, object_class

__all__ = ["deferring", "with_classes", "classes_of"]

_state = threading.local()
# func -> {classes: the copy of func that carries them}: one copy per
# combination, so the derivative cache (keyed on the function) hits again
_copies: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def classes_of(func: Callable, args: tuple, kwargs: dict) -> tuple[tuple, tuple]:
    """((parameter, class) of the arguments that are instances of user
    classes, (parameter, class) of those that are lists, tuples or dicts of
    instances of one user class), each sorted by parameter.

    Example::

        classes_of(loss, (Model(W), x), {})   # ((("model", Model),), ())
    """
    params = [p.name for p in inspect.signature(func).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    given = dict(zip(params, args))
    given.update((k, v) for k, v in kwargs.items() if k in params)
    objects, items = {}, {}
    for param, value in given.items():
        if object_class(type(value)):
            objects[param] = type(value)
        elif isinstance(value, (list, tuple, dict)):
            cls = item_class_of_value(value)
            if cls is not None:
                items[param] = cls
    return tuple(sorted(objects.items())), tuple(sorted(items.items()))


def with_classes(func: Callable, objects: tuple, items: tuple) -> Callable:
    """A copy of ``func`` (same code, globals, defaults and closure) whose
    parameters are read as annotated with ``objects``' classes (and their
    items with ``items``'), one copy per combination.

    Example::

        typed = with_classes(loss, (("model", Model),), ())
    """
    table = _copies.setdefault(func, {})
    key = (objects, items)
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
        table[key] = typed
    return typed


def deferring(api_function: Callable) -> Callable:
    """Wrap a public API function (``grad``, ``jvp``, ...) so that a
    function calling methods of arguments of unannotated classes gets a
    derivative made at its first call (see the module docstring)."""

    @functools.wraps(api_function)
    def wrapper(func, *options, **keywords):
        outer = not getattr(_state, "inside", False)
        _state.inside = True
        try:
            return api_function(func, *options, **keywords)
        except UnknownClassError as error:
            if not outer or not isinstance(func, types.FunctionType) or hasattr(func, "tangent_argument_classes"):
                raise
            return _per_classes(func, lambda typed: wrapper(typed, *options, **keywords), error,
                                api_function.__name__)
        finally:
            if outer:
                _state.inside = False

    return wrapper


def _per_classes(func: types.FunctionType, make: Callable, error: UnknownClassError, what: str) -> Callable:
    made: dict[tuple, Callable] = {}  # (the derivative holds func, as a derivative made at once holds its code)
    name = func.__name__

    def for_call(args, kwargs) -> Callable:
        objects, items = classes_of(func, args, kwargs)
        if not objects and not items:
            raise error  # no argument of a user class: the refusal made when transforming, file and line
        found = made.get((objects, items))
        if found is None:
            found = made[objects, items] = make(with_classes(func, objects, items))
            derivative.tangent_source = getattr(found, "tangent_source", None)
        return found

    def derivative(*args, **kwargs):
        return for_call(args, kwargs)(*args, **kwargs)

    def specialized_for(*args, **kwargs):
        return for_call(args, kwargs).tangent_specialized_for(*args, **kwargs)

    derivative.__name__ = f"{what}_{name}"
    derivative.__doc__ = (f"{what} of {name}, made at the first call for the classes of its arguments "
                          f"({name} calls a method of an argument whose class its source does not name).")
    derivative.tangent_source = None
    derivative.tangent_deferred = ("its source is generated at the first call, when the classes of the arguments "
                                   f"are known ({error.args[0].splitlines()[0]})")
    derivative.tangent_specialized_for = specialized_for
    return derivative
