"""The kind of an argument: what code specialised to it may depend on.

Question answered: which description of a call's argument keys the code
specialised to it (``specialize.Specializations``, the dispatch of
``argument_classes``)? ``argument_kind(value)`` gives its type; for an
array (subclasses too) its shape and dtype; for a dict, list or tuple
(exactly those types) its keys and the kinds of its items; for an object of
a user's class its attributes' names and kinds; nested, within
``MAX_DEPTH`` levels and ``MAX_LEAVES`` items. It runs at every call of a
specialised derivative, so a dict, list or tuple of arrays and numbers only
(the common case) is described in one loop. ``class_attributes`` tells
which classes are described by their attributes.

Assumes an object's attributes are plain reads of its ``__dict__`` for the
classes ``class_attributes`` accepts (no custom ``__getattribute__``; data
descriptors are left out of the kind).
"""

from __future__ import annotations

import numpy as np

from . import sequence_shapes as sequences

__all__ = ["MAX_DEPTH", "MAX_LEAVES", "argument_kind", "class_attributes"]

# Containers bigger than this (in leaves) or deeper are described by their
# type alone: the key of every call walks them.
MAX_LEAVES = 1024
MAX_DEPTH = 6


def argument_kind(value) -> object:
    """What specialised code may depend on of an argument (the key of its
    specialisation): its type; for an array (subclasses too) its shape and
    dtype; for a dict, list or tuple (exactly those types) its keys (None
    for a list or tuple) and the kinds of its items; for an object of a
    user's class its attributes' names and kinds. Nested, up to MAX_DEPTH
    levels and MAX_LEAVES items (beyond: the type, or for a list of arrays
    of one kind ``sequence_shapes.uniform_list_kind``). Runs at every call.

    Example::

        argument_kind(np.ones(3))   # (numpy.ndarray, (3,), 'd')
        argument_kind({'W': np.ones((2, 3))})   # (dict, ('W',), (numpy.ndarray, (2, 3), 'd'))
    """
    kind = type(value)
    if kind is np.ndarray or isinstance(value, np.ndarray):  # subclasses too: the shape matters
        return (kind, value.shape, value.dtype.char)
    if kind is dict or kind is list or kind is tuple:
        flat = _flat_kind(value, kind, [MAX_LEAVES])
        if flat is not None:
            return flat
    if kind is dict or kind is list or kind is tuple or (kind not in _PLAIN and _has_attributes(value)):
        budget = [MAX_LEAVES]
        try:
            return _container_kind(value, kind, budget, MAX_DEPTH)
        except _TooBig:
            return sequences.uniform_list_kind(value) if kind is list else kind
    return kind


# types never described by their attributes (a fast path of argument_kind)
_PLAIN = frozenset({float, int, bool, complex, str, bytes, type(None), np.float64, np.float32, np.int64})


def _flat_kind(value, kind, budget: list, depth: int = MAX_DEPTH):
    """The kind of a dict, list or tuple holding only NumPy arrays (exactly),
    values of the plain types and dicts, lists and tuples of those, in one
    loop a level (what ``_container_kind`` gives it); None when an item is
    anything else, or the container is too big or too deep."""
    budget[0] -= len(value)
    if depth == 0 or budget[0] < 0:
        return None
    out = [kind, tuple(value) if kind is dict else None]
    append, array = out.append, np.ndarray
    for item in value.values() if kind is dict else value:
        t = type(item)
        if t is array:
            append((t, item.shape, item.dtype.char))
        elif t in _PLAIN:
            append(t)
        elif t is tuple or t is list or t is dict:
            inner = _flat_kind(item, t, budget, depth - 1)
            if inner is None:
                return None
            append(inner)
        else:
            return None
    return tuple(out)


class _TooBig(Exception):
    pass


def _has_attributes(value) -> bool:
    """An instance of a user's class whose attributes are plain reads of
    its ``__dict__`` (see ``_class_attributes``)."""
    return class_attributes(type(value)) is not None and isinstance(getattr(value, "__dict__", None), dict)


def _container_kind(value, kind, budget, depth):
    """(kind, keys or None, kind of each item...)."""
    if depth == 0:
        raise _TooBig
    if kind is dict:
        keys, items = tuple(value), value.values()
    elif kind is list or kind is tuple:
        keys, items = None, value
    else:
        shadowed = class_attributes(kind)
        attributes = value.__dict__
        keys = tuple(k for k in attributes if type(k) is str and k not in shadowed)
        items = [attributes[k] for k in keys]
    budget[0] -= len(items)
    if budget[0] < 0:
        raise _TooBig
    out = [kind, keys]
    for item in items:
        t = type(item)
        if t is np.ndarray:
            out.append((t, item.shape, item.dtype.char))
        elif t is dict or t is list or t is tuple or (t not in _PLAIN and _has_attributes(item)):
            out.append(_container_kind(item, t, budget, depth - 1))
        else:
            out.append(t)
    return tuple(out)


_CLASSES: dict = {}
_ARRAY_PROTOCOLS = ("__array__", "__array_namespace__", "__torch_function__", "__jax_array__", "__getitem__",
                    "__len__", "__iter__")


def class_attributes(kind) -> frozenset | None:
    """For a user's class whose instances' attributes are plain reads of
    their ``__dict__``: the names of its data descriptors (properties,
    slots), which take precedence over the instance's attributes of the same
    name. None for other classes: builtins, a custom ``__getattribute__``,
    arrays and array-likes of any library, containers. (Read once per
    class: a property added to a class after its first call is not seen.)"""
    names = _CLASSES.get(kind, _CLASSES)
    if names is not _CLASSES:
        return names
    names = None
    if (kind.__module__ != "builtins" and kind.__getattribute__ is object.__getattribute__
            and not issubclass(kind, (np.ndarray, np.generic, type))
            and not any(hasattr(kind, p) for p in _ARRAY_PROTOCOLS)):
        names = frozenset(name for klass in kind.__mro__ for name, attr in vars(klass).items()
                          if hasattr(type(attr), "__set__") or hasattr(type(attr), "__delete__"))
    _CLASSES[kind] = names
    return names
