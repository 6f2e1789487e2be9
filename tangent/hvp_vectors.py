"""Tangent vectors in the kind of the arguments they go with (``tangent.hvp``).

Takes an argument and the tangent vector given for it; gives the vector to
run the derivative with. A vector for a Python ``float`` argument is often a
0-d float64 array (``rng.standard_normal(np.shape(x))`` is one): it holds the
same number as a ``float``, but each operation on it costs NumPy's dispatch
(about a microsecond), against a few tens of nanoseconds for a ``float``,
and a scalar loop's second derivative does little else. So such a vector,
alone or as an item of a dict, list or tuple (or as an attribute's entry in
the dict given for an object), is read as that ``float``: the same value in
the same precision (float64 only: a float32 vector keeps its precision, as
its arithmetic does), so the product is the same. The caller's vector is
never changed: a container holding a converted item is a new one.

Example: for ``x = 0.5`` and ``v = np.array(0.3)``, ``plain_vector(x, v)``
is ``0.3``; for an array ``x`` it is ``v`` itself.

``vectors_as_read`` gives an hvp's vectors as its generated code reads them
(these floats, and objects' vectors as dicts of their attributes), and
``direct_entry`` what an hvp with arguments of given kinds runs, found once
per kinds so that later calls go straight to it.
"""

from __future__ import annotations

import numpy as np

from .argument_classes import MAX_DISPATCHED, dispatch_entry, dispatch_key
from .kind_guards import LastKinds
from .ownership import as_generated, call_owned, tangents_as_generated
from .shapes import argument_kind


def plain_vector(arg, vector):
    """``vector`` with each 0-d float64 item that goes with a Python float of
    ``arg`` read as that float (a new container where one changed)."""
    if type(arg) is float:
        if type(vector) in (np.ndarray, np.float64) and vector.ndim == 0 and vector.dtype == np.float64:
            return float(vector)
        return vector
    if type(arg) is dict and type(vector) is dict:
        items = {key: plain_vector(arg[key], v) if key in arg else v for key, v in vector.items()}
        return items if _changed(items.values(), vector.values()) else vector
    if type(arg) in (list, tuple) and type(vector) is type(arg) and len(arg) == len(vector):
        items = [plain_vector(a, v) for a, v in zip(arg, vector)]
        return type(arg)(items) if _changed(items, vector) else vector
    fields = getattr(arg, "__dict__", None)
    if type(fields) is dict and type(vector) is dict and not isinstance(arg, type):
        # an object's tangent is a dict of its attributes' tangents (tangent/kinds.py)
        items = {key: plain_vector(fields[key], v) if key in fields else v for key, v in vector.items()}
        return items if _changed(items.values(), vector.values()) else vector
    return vector


def arrays_only(value) -> bool:
    """Whether ``value`` is an array of one or more dimensions, or a dict,
    list, tuple or object (not empty) holding only such arrays, at any depth: the
    arguments for which ``tangent.hvp`` of code with loops takes the
    gradient of the jvp (``hvp_strategies.py`` measures both ways)."""
    if type(value) is np.ndarray:
        return value.ndim > 0
    if type(value) is dict:
        return bool(value) and all(arrays_only(v) for v in value.values())
    if type(value) in (list, tuple):
        return bool(value) and all(arrays_only(v) for v in value)
    fields = getattr(value, "__dict__", None)  # an object whose attributes are such arrays
    if type(fields) is dict and not isinstance(value, type) and not callable(value):
        return bool(fields) and all(arrays_only(v) for v in fields.values())
    return False


class DirectCalls:
    """What an hvp's calls run (``direct_call``): ``entries`` by their
    arguments' kinds, and the guard of the last call's kinds."""

    __slots__ = ("entries", "memo")

    def __init__(self):
        self.entries: dict = {}
        self.memo = LastKinds()


def direct_call(table: DirectCalls, route, args: tuple, n: int, wrt: tuple[int, ...]):
    """An hvp's product for ``args`` by what ``direct_entry`` found for their
    kinds (kept in ``table``), or ``table`` itself when the call takes the
    general path."""
    guard, entry = table.memo.last
    if not guard(args):  # (arguments of the last call's kinds are not described again)
        key, entries = dispatch_key(args), table.entries
        entry = entries.get(key, entries) if key is not None else None
        if entry is entries and len(entries) < MAX_DISPATCHED:
            entry = entries[key] = direct_entry(route, args, key, n, wrt)
        if entry is None or entry is entries:
            return table
        table.memo.remember(key, entry)
    convert, seeded, code, finish, conforms = entry
    if convert:
        args = vectors_as_read(args, n, wrt)
    return call_owned(code, finish, conforms, (*args[:n], 1.0, *args[n:]) if seeded else args)


def direct_entry(route, args: tuple, key: tuple, n: int, wrt: tuple[int, ...]):
    """For an hvp called with arguments of these kinds: (whether its vectors
    need ``vectors_as_read``, whether the seed 1.0 goes before them, then
    what the derivative ``route(args)`` names runs: ``dispatch_entry``), or
    None."""
    read = vectors_as_read(args, n, wrt)
    vectors = tuple(map(argument_kind, read[n:]))
    convert = vectors != key[n:]  # (the conversions change types only: none, and the vectors are read as given)
    if not all(map(as_generated, vectors)):
        return None
    derivative, seeded = route(read)
    call, kinds = ((*read[:n], 1.0, *read[n:]), (*key[:n], float, *vectors)) if seeded else (read, (*key[:n], *vectors))
    found = dispatch_entry(derivative, call, kinds)
    return None if found is None else (convert, seeded, *found)


def vectors_as_read(args, n: int, wrt: tuple[int, ...]) -> tuple:
    """The vectors of an hvp's arguments as its generated code reads them
    (objects' as dicts of attributes, 0-d float64 ones of floats as floats)."""
    args = tangents_as_generated(tuple(args), wrt)
    return tuple(args[:n]) + tuple(plain_vector(args[i], v) for i, v in zip(wrt, args[n:]))


def _changed(new, old) -> bool:
    return any(a is not b for a, b in zip(new, old))


__all__ = ["arrays_only", "DirectCalls", "direct_call", "direct_entry", "plain_vector", "vectors_as_read"]
