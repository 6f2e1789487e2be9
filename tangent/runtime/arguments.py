"""Writes into the caller's arguments: the private copies a derivative works
on, and the write-back of what a helper left in them.

A function that writes into an argument (``x[0] = a * b``, ``params['W'] -=
lr * g``, ``r[n] = r[k]`` on a list) is differentiated as if it began with
``x = private_copy(x)`` (``private_arguments.own_written_arguments``
rewrites the normalized function so). The derivative then differentiates
with respect to the value at entry (the copy is the identity) and its own
writes go into memory it owns: the caller's arguments are left as they
were. A helper the derivative calls also ends, just before it returns, with
``write_back_arguments(x_caller, x)``: its caller reads the argument after
the call, as it would after a call of the helper itself. The seed and the
tangents are never written into: the copy's tangent is a copy too.

``private_copy`` copies arrays (NumPy's and any with a ``copy`` method),
lists, tuples, dicts and objects (through their ``__dict__``), keeping
sharing inside one argument (a list holding one array twice holds one copy
twice); a random generator is copied in its state (the copy draws what the
original would). ``write_back_arguments(caller, final)`` writes arrays in place
(``caller[...] = final``, so the caller's arrays keep their identity, as
in-place updates do) and replaces the items, keys and attributes of
containers and objects by copies of the final ones (the backward sweep may
later restore values in the private copies: the caller keeps the final
ones).

``check_default_function`` guards a parameter whose default is a function
(the derivative calls the default; normalize.py inserts the check).
``snapshot_argument`` / ``check_restored`` surround a call of a helper that
writes into an argument (private_arguments.py): the caller's derivative
goes on only if the helper left it as it found it, holding no floats.
"""

from __future__ import annotations

import copy
import types

import numpy as np

_GENERATORS = (np.random.RandomState, np.random.Generator)
# libraries whose arrays are immutable values: their own tensors are never copied
_IMMUTABLE_ARRAYS = {"tensorflow", "jax", "jaxlib"}
_ATOMS = (int, float, complex, bool, str, bytes, type(None), np.generic, types.FunctionType,
          types.BuiltinFunctionType, types.ModuleType, type)


def private_copy(value, memo: dict | None = None):
    """A copy of ``value`` that shares no writable memory with it: arrays
    copied, containers and objects rebuilt around copies of their items.

    Example::

        x = np.ones(2); y = private_copy(x); y[0] = 5.0   # x unchanged
    """
    memo = {} if memo is None else memo
    if isinstance(value, _ATOMS):
        return value
    key = id(value)
    if key in memo:
        return memo[key]
    if type(value).__module__.split(".")[0] in _IMMUTABLE_ARRAYS:
        return value  # a tf.Tensor or jax.Array cannot be written into (and must not be rebuilt)
    if isinstance(value, np.ndarray):
        out = value.copy()
    elif isinstance(value, _GENERATORS):
        out = copy.deepcopy(value)  # the same state: it draws what the original would
    elif isinstance(value, list):
        out = memo[key] = []
        out.extend(private_copy(v, memo) for v in value)
    elif isinstance(value, tuple):
        items = [private_copy(v, memo) for v in value]
        out = type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    elif isinstance(value, dict):
        out = memo[key] = type(value)() if type(value) is dict else value.copy()
        out.clear()
        for k, v in value.items():
            out[k] = private_copy(v, memo)
    elif hasattr(value, "shape") and hasattr(value, "dtype") and (hasattr(value, "clone") or hasattr(value, "copy")):
        out = value.clone() if hasattr(value, "clone") else value.copy()  # another library's array (torch: clone)
    elif hasattr(value, "__dict__"):
        out = memo[key] = object.__new__(type(value))
        for k, v in vars(value).items():
            setattr(out, k, private_copy(v, memo))
    else:  # __slots__ and other objects: copied as Python copies them, or refused
        try:
            out = copy.deepcopy(value, memo)
        except Exception as error:
            from ..errors import TangentError

            raise TangentError(
                f"cannot copy an argument of type {type(value).__name__} that the function writes into "
                f"({type(error).__name__}: {error}); the derivative works on a private copy of such arguments: "
                "pass a copyable value (arrays, lists, dicts, objects with a __dict__) or copy it inside the function"
            ) from error
    memo[key] = out
    return out


def write_back_arguments(caller, final) -> None:
    """Make the caller's object ``caller`` hold what the function left in its
    private copy ``final``: arrays written in place, items, keys and
    attributes replaced by (copies of) the final ones.

    Example::

        x = np.zeros(2); write_back_arguments(x, np.ones(2))   # x is now [1., 1.]
    """
    _write_back(caller, final, 0)


def _write_back(caller, final, depth: int):
    """``caller`` updated in place to hold ``final`` where it can be; returns
    the object the caller's container should hold in its place."""
    if caller is final:
        return caller
    if isinstance(caller, np.ndarray) and isinstance(final, np.ndarray):
        if caller.shape == final.shape and caller.flags.writeable:
            caller[...] = final
            return caller
        return final.copy()
    if isinstance(caller, np.random.RandomState) and isinstance(final, np.random.RandomState):
        caller.set_state(final.get_state())  # as far on as the draws of one call took it
        return caller
    if isinstance(caller, np.random.Generator) and isinstance(final, np.random.Generator):
        caller.bit_generator.state = final.bit_generator.state
        return caller
    if depth > 16 or isinstance(caller, _ATOMS):
        return private_copy(final)
    if isinstance(caller, list) and isinstance(final, list):
        kept = [_write_back(caller[i], v, depth + 1) if i < len(caller) else private_copy(v)
                for i, v in enumerate(final)]
        caller[:] = kept
        return caller
    if isinstance(caller, tuple) and isinstance(final, tuple) and len(caller) == len(final):
        for c, v in zip(caller, final):
            _write_back(c, v, depth + 1)  # a tuple itself cannot change; its items may
        return caller
    if isinstance(caller, dict) and isinstance(final, dict):
        for k in [k for k in caller if k not in final]:
            del caller[k]
        for k, v in final.items():
            caller[k] = _write_back(caller[k], v, depth + 1) if k in caller else private_copy(v)
        return caller
    if hasattr(caller, "shape") and hasattr(caller, "dtype") and hasattr(final, "shape") \
            and tuple(caller.shape) == tuple(final.shape):
        try:
            caller[...] = final  # another library's array
            return caller
        except (TypeError, ValueError, RuntimeError):
            return private_copy(final)
    if hasattr(caller, "__dict__") and type(caller) is type(final) and not isinstance(caller, type):
        attrs = vars(final)
        for k in [k for k in vars(caller) if k not in attrs]:
            delattr(caller, k)
        for k, v in attrs.items():
            old = vars(caller).get(k, _MISSING)
            setattr(caller, k, private_copy(v) if old is _MISSING else _write_back(old, v, depth + 1))
        return caller
    return private_copy(final)


_MISSING = object()


def advance_generators(caller, final, depth: int = 0) -> None:
    """Bring each random generator in ``caller`` (itself, or an item or
    attribute of it) to the state of its counterpart in ``final``, a private
    copy some calls drew from; nothing else in ``caller`` changes (sweeps.py:
    ``jacobian`` leaves its arguments as they were, its generators drawn
    from as far as one call of the function draws). Example::

        rng = np.random.default_rng(0); c = private_copy(rng); c.normal()
        advance_generators(rng, c)   # rng now draws what c would next
    """
    if caller is final or depth > 16:
        return
    if isinstance(caller, _GENERATORS) and type(caller) is type(final):
        _write_back(caller, final, depth)
    elif isinstance(caller, (list, tuple)) and isinstance(final, (list, tuple)):
        for c, v in zip(caller, final):
            advance_generators(c, v, depth + 1)
    elif isinstance(caller, dict) and isinstance(final, dict):
        for k in caller.keys() & final.keys():
            advance_generators(caller[k], final[k], depth + 1)
    elif hasattr(caller, "__dict__") and type(caller) is type(final) and not isinstance(caller, (type, *_ATOMS)):
        theirs = vars(final)
        for k, v in vars(caller).items():
            if k in theirs:
                advance_generators(v, theirs[k], depth + 1)


def refuse_shared_arguments(written, *others) -> None:
    """Raise when an argument the function writes into shares memory with
    another argument (``f(a, a)``): the private copy would not see the
    function's writes through the other one. Example::

        refuse_shared_arguments(x, y)   # nothing, when x and y share no memory
    """
    mine = _arrays(written, [], 0)
    theirs = _arrays(others, [], 0)
    for a in mine:
        for b in theirs:
            if np.shares_memory(a, b):
                from ..errors import TangentError

                raise TangentError(
                    "the function writes into an argument that shares memory with another of its arguments "
                    "(the same array passed twice, or a view of it); pass a copy: f(x, x.copy())")


def _arrays(value, found: list, depth: int) -> list:
    if isinstance(value, np.ndarray):
        found.append(value)
    elif depth < 8 and isinstance(value, (list, tuple)):
        for v in value:
            _arrays(v, found, depth + 1)
    elif depth < 8 and isinstance(value, dict):
        for v in value.values():
            _arrays(v, found, depth + 1)
    elif depth < 8 and hasattr(value, "__dict__") and not isinstance(value, _ATOMS):
        for v in vars(value).values():
            _arrays(v, found, depth + 1)
    return found




def check_default_function(given, default, function: str, parameter: str) -> None:
    """Raise a TangentError unless ``given`` is ``default``: a derivative of
    ``def predict(x, nonlinearity=np.tanh)`` is generated calling the
    default, so another function passed to it would be called without being
    differentiated.

    Example::

        check_default_function(np.tanh, np.tanh, "predict", "nonlinearity")  # passes
    """
    if given is default:
        return
    from ..errors import TangentError

    shown = getattr(default, "__name__", repr(default))
    other = getattr(given, "__name__", repr(given))
    raise TangentError(
        f"the derivative of {function} was generated for its default {parameter}={shown} and cannot be given "
        f"another {parameter} ({other}); differentiate a function that passes it, e.g. "
        f"tangent.grad(lambda x: {function}(x, {parameter}={other}))")


def snapshot_argument(value):
    """A copy of what ``value`` holds before a call of a helper that writes
    into it (compared by ``check_restored`` after the call).

    Example::

        r = [0, 2, 1]; before = snapshot_argument(r)
    """
    return private_copy(value)


def check_restored(value, before, function: str, parameter: str, where: str = "") -> None:
    """Raise a TangentSyntaxError (naming ``where``, the user's call) unless
    ``value`` holds what it held ``before`` the call of ``function`` and
    holds no floats: the derivative of a caller follows a helper's writes
    into an argument only when they are undone before it returns, on data
    that carries no derivative (an index list that a recursive helper
    permutes and restores).

    Example::

        check_restored([0, 2, 1], [0, 2, 1], "permute", "r")   # passes
    """
    from ..errors import TangentSyntaxError

    if _holds_floats(before, 0):
        problem = (f"{function} writes into its parameter {parameter!r}, which holds floating-point values here; "
                   "the derivative follows a helper's writes into its caller's values only on data without "
                   "derivatives (integers) that it restores before returning")
    elif not _same_content(value, before, 0):
        problem = (f"{function} changed its parameter {parameter!r} and did not restore it before returning; the "
                   "derivative follows a helper's writes into its caller's values only when they are undone (as a "
                   "recursive helper that swaps items and swaps them back does)")
    else:
        return
    raise TangentSyntaxError(f"{where}\n  {problem}\n  write into a copy inside {function} ({parameter} = "
                             f"{parameter}.copy()) and return the new value, or do the writes in the function "
                             "you differentiate")


def _holds_floats(value, depth: int) -> bool:
    if depth > 50:
        return True
    if isinstance(value, (bool, int, str, bytes, type(None), np.integer, np.bool_)):
        return False
    if isinstance(value, np.ndarray):
        return not (np.issubdtype(value.dtype, np.integer) or value.dtype == bool)
    if isinstance(value, (list, tuple)):
        return any(_holds_floats(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return any(_holds_floats(v, depth + 1) for v in value.values())
    return True  # floats, complex numbers, other libraries' arrays, objects: refused


def _same_content(a, b, depth: int) -> bool:
    if depth > 50 or type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same_content(x, y, depth + 1) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_content(a[k], b[k], depth + 1) for k in a)
    return bool(a == b)


def check_number_list(value, parameter: str = "", where: str = "") -> None:
    """Raise a ``TangentError`` (naming ``where``, the user's line) unless
    ``value`` is a list of Python numbers (ints, floats): the function
    differentiated swaps its items through a name (``t = r[n]; r[n] =
    r[0]; r[0] = t``), sound only when an item shares no memory with the
    list (private_arguments.py, mutations.py). Example::

        check_number_list([0, 2, 1], "r")   # passes
    """
    if type(value) is list and all(type(v) in (int, float, bool) for v in value):
        return
    from ..errors import TangentError

    raise TangentError(f"{where}\n  this function swaps the items of its parameter {parameter!r} through a name "
                       f"(t = {parameter}[n] ... {parameter}[k] = t), which the derivative supports for a list of "
                       f"Python numbers only, got {type(value).__name__}\n  pass a list of ints, or read the item "
                       f"as a number (t = int({parameter}[n])) or a copy (t = {parameter}[n].copy())")

