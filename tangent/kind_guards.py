"""Compiled checks that a call's arguments still have the kinds seen before.

Question answered: is ``argument_classes.dispatch_key(args)`` still the key
the last call had, without describing the arguments again? A specialised
derivative called in a loop gets arguments of one kind at every call; its
key (``argument_kinds.argument_kind`` of each, a walk of every dict, list
and object) costs about two microseconds for a small model, a tenth of its
gradient. ``guard_for(key)`` writes a straight-line Python function of the
arguments tuple that compares each part of the structure the key records
with the one the arguments have (types, keys in order, lengths, each
array's type, shape and dtype) and is true only then: ``guard(args)``
implies ``dispatch_key(args) == key``. It may be stricter (false for
arguments of this key it cannot check cheaply, such as an object holding
an attribute a property shadows); it is never looser. Keys it cannot check
by their structure (a list described by its items' common kind, a
container too big to describe) give None: no guard.

``conformer_for(leaves)`` is ``fresh_results.conforms`` for those leaves,
compiled the same way (each leaf's path and expected type as constants).

Assumes what ``argument_kinds`` assumes (an object's attributes are reads
of its ``__dict__``; a class's data descriptors are read once).

Example::

    guard = guard_for(dispatch_key((params, x)))
    guard((params, x))        # True
    params["W"] = params["W"][:, :2]
    guard((params, x))        # False: the shape of params["W"] changed
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .argument_kinds import _PLAIN, class_attributes

__all__ = ["guard_for", "conformer_for", "LastKinds", "MAX_GUARDS", "NUMBER"]

MAX_GUARDS = 64  # keys whose guards one LastKinds keeps


class _Unguarded(Exception):
    """A part of the key the guard cannot check by structure."""


class _Writer:
    """The guard's lines and the constants they name."""

    def __init__(self):
        self.lines: list[str] = []
        self.constants: dict[str, object] = {}
        self.count = 0

    def constant(self, value) -> str:
        name = f"k{len(self.constants)}"
        self.constants[name] = value
        return name

    def fresh(self) -> str:
        self.count += 1
        return f"v{self.count}"

    def fail_if(self, condition: str) -> None:
        self.lines.append(f"if {condition}: return False")

    def unpack(self, items: str, n: int) -> list[str]:
        names = [self.fresh() for _ in range(n)]
        if names:
            self.lines.append(f"{', '.join(names)}, = {items}")
        return names

    def kind(self, value: str, kind, top: bool) -> None:
        """Lines checking that ``argument_kind`` (``top``) or the item kind
        ``_flat_kind``/``_container_kind`` give (nested) of the value named
        ``value`` is ``kind``."""
        if type(kind) is not tuple:
            self.bare(value, kind, top)
        elif isinstance(kind[0], type) and issubclass(kind[0], np.ndarray):
            self.array(value, kind)
        elif kind[0] is dict:
            self.fail_if(f"type({value}) is not dict or tuple({value}) != {self.constant(kind[1])}")
            self.items(f"{value}.values()", kind[2:])
        elif kind[0] is list or kind[0] is tuple:
            if kind[1] is not None:  # (a list described by its items' common kind)
                raise _Unguarded
            self.fail_if(f"type({value}) is not {self.constant(kind[0])} or len({value}) != {len(kind) - 2}")
            self.items(value, kind[2:])
        elif isinstance(kind[0], type) and class_attributes(kind[0]) is not None:
            attributes = self.fresh()
            self.fail_if(f"type({value}) is not {self.constant(kind[0])}")
            self.lines.append(f"{attributes} = getattr({value}, '__dict__', None)")
            # (all its keys, in order: one a descriptor shadows, or not a string, fails the guard)
            self.fail_if(f"type({attributes}) is not dict or tuple({attributes}) != {self.constant(kind[1])}")
            self.items(f"{attributes}.values()", kind[2:])
        else:
            raise _Unguarded

    def items(self, items: str, kinds: tuple) -> None:
        for name, kind in zip(self.unpack(items, len(kinds)), kinds):
            self.kind(name, kind, top=False)

    def array(self, value: str, kind: tuple) -> None:
        cls, shape, char = kind
        try:
            dtype = np.dtype(char)
        except TypeError:
            dtype = None
        self.fail_if(f"type({value}) is not {self.constant(cls)} or {value}.shape != {self.constant(shape)} or "
                     f"({value}.dtype is not {self.constant(dtype)} and {value}.dtype.char != {char!r})")

    def bare(self, value: str, kind, top: bool) -> None:
        if not isinstance(kind, type) or kind in (dict, list, tuple):
            raise _Unguarded  # (a container too big to describe)
        self.fail_if(f"type({value}) is not {self.constant(kind)}")
        if kind in _PLAIN:
            return
        if top or kind is np.ndarray:
            raise _Unguarded  # (argument_kind describes these by their contents)
        if class_attributes(kind) is not None:  # described by its attributes when it has a __dict__
            self.fail_if(f"isinstance(getattr({value}, '__dict__', None), dict)")


def guard_for(key: tuple) -> Callable[[tuple], bool] | None:
    """A function ``guard(args)`` true only when ``dispatch_key(args) ==
    key`` (see the module docstring), or None when the key has a part it
    cannot check.

    Example::

        guard_for(((np.ndarray, (3,), "d"), float))((np.ones(3), 0.5))   # True
    """
    writer = _Writer()
    try:
        writer.fail_if(f"len(args) != {len(key)}")
        writer.items("args", key)
    except _Unguarded:
        return None
    return _compiled("guard", "args", writer, "<tangent kind guard>")


NUMBER = "number"  # a leaf conformer_for checks is an immutable number (it cannot share memory with an array)
_NUMBERS = frozenset({float, int, complex, np.float64, np.float32, np.complex128})


def _never(args: tuple) -> bool:
    return False


class LastKinds:
    """The guard of the kinds of a derivative's last dispatched call, with
    what they chose: ``guard, chosen = memo.last`` then ``guard(args)``
    (one read: another thread may replace it); ``remember(key, chosen)``
    after a call whose arguments' ``dispatch_key`` was ``key`` (its guard
    written once per key, up to MAX_GUARDS keys).

    Example::

        memo = LastKinds()
        memo.remember(dispatch_key(args), entry)
        guard, entry = memo.last   # guard(args) is True
    """

    __slots__ = ("last", "guards")

    def __init__(self):
        self.last = (_never, None)
        self.guards: dict = {}

    def remember(self, key: tuple, chosen) -> None:
        guard = self.guards.get(key, self.guards)
        if guard is self.guards:
            guard = guard_for(key) if len(self.guards) < MAX_GUARDS else None
            self.guards[key] = guard
        self.last = (guard, chosen) if guard is not None else (_never, None)


def conformer_for(leaves: tuple | None) -> Callable[[object], bool] | None:
    """A function ``conforms(value)``: whether each leaf of ``value`` at
    its path has the type (a Python float, or a NumPy array of the dtype)
    ``fresh_results.owned_leaves`` expects, or (``NUMBER``) is an
    immutable number (false where a path leads nowhere); None for None.
    Its ``leaves`` are these.

    Example::

        conformer_for(((("W",), np.dtype("float64")),))({"W": np.ones(2)})   # True
    """
    if leaves is None:
        return None
    writer = _Writer()
    for path, expected in leaves:
        steps = "".join(f"[{writer.constant(step)}]" for step in path)
        if expected is float:
            writer.fail_if(f"type(value{steps}) is not float")
        elif expected is NUMBER:
            writer.fail_if(f"type(value{steps}) not in {writer.constant(_NUMBERS)}")
        else:
            leaf = writer.fresh()
            writer.lines.append(f"{leaf} = value{steps}")
            dtype = writer.constant(expected)
            writer.fail_if(f"type({leaf}) is not ndarray or ({leaf}.dtype is not {dtype} and {leaf}.dtype != {dtype})")
    writer.constants["ndarray"] = np.ndarray
    check = _compiled("conforms", "value", writer, "<tangent result check>")
    check.leaves = leaves  # (what it checks, to read)
    return check


def _compiled(name: str, parameter: str, writer: _Writer, filename: str) -> Callable:
    body = "".join(f"        {line}\n" for line in writer.lines)
    source = (f"def {name}({parameter}):\n    try:\n{body}    except (LookupError, TypeError, ValueError, "
              f"AttributeError):\n        return False\n    return True\n")
    namespace = {**writer.constants, "__name__": __name__}  # (pdb's skip=["tangent.*"] skips it)
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 (source written above from constants' names)
    return namespace[name]
