"""Derivatives return what the caller owns.

Takes a generated derivative and what it was called with; gives its results
as values nothing else holds: each gradient a fresh, writable array of its
argument's (float) dtype and structure, each tangent a fresh, writable array,
never a view of an input, the seed, a tangent vector, or an array the
generated module keeps (a global). Generated code may return any of those
(it does not copy where it need not), so the public API wraps every
derivative with ``returning_owned``. Assumes results are made of arrays,
numbers, lists, tuples, dicts and objects (through their ``__dict__``).
"""

from __future__ import annotations

import inspect
import sys
import types
from typing import Callable

import numpy as np

from . import runtime
from .errors import TangentError, locate_runtime_error
from .fresh_results import owned_leaves
from .kind_guards import NUMBER, conformer_for
from .shapes import Array, Struct, argument_kind, describe_kind, infer_shapes


def input_ids(values, found: set | None = None, depth: int = 0) -> set[int]:
    """Ids of the arrays among (and inside containers and objects of) the
    values a derivative was called with, and of the arrays they view.

    Example::

        x = np.ones(3); id(x) in input_ids([[x[1:]]])   # True: x[1:] views x
    """
    found = set() if found is None else found
    for value in values:
        if isinstance(value, np.ndarray):
            while value is not None and id(value) not in found:
                found.add(id(value))
                value = value.base
        elif runtime.arrays.library(value) not in (None, "jax"):  # torch, Dask, CuPy, ...
            found.add(id(value))
        elif depth < 8:
            if isinstance(value, dict):
                input_ids(value.values(), found, depth + 1)
            elif isinstance(value, (list, tuple)):
                input_ids(value, found, depth + 1)
            elif hasattr(value, "__dict__") and not isinstance(value, (type, types.FunctionType, types.ModuleType)):
                input_ids(vars(value).values(), found, depth + 1)
    return found


_FLOAT = np.dtype(float)


def _shape_or_none(value):
    try:
        return np.shape(value)
    except ValueError:  # items of different shapes
        return None


def owned_value(g, like, held: set[int]):
    """``g`` as a returned derivative: a fresh, writable array of the
    argument's float dtype when ``like`` (the argument) is an array, the same
    structure for containers and objects. No copy when ``g`` already is one
    that nothing else holds (not an input, seed, tangent, global or another
    returned value, nor a view of anything: ``held``, to which it adds ``g``).

    Example::

        owned_value(1, np.zeros(2, np.float32), set())   # array([1., 1.], dtype=float32)
    """
    if type(g) is float and (type(like) is float or type(like) is int):  # a number's, fast: nothing to copy
        return g
    if isinstance(like, np.ndarray) and isinstance(g, np.ndarray):  # the common case, fast
        dtype = like.dtype if like.dtype.kind in "fc" else _FLOAT
        if g.dtype == dtype and g.shape == like.shape and g.base is None and g.flags.writeable \
                and id(g) not in held:
            held.add(id(g))
            return g
    if runtime.arrays.library(g) in ("torch", "jax"):
        g = _in_float_dtype_of(g, like)
    if runtime.arrays.library(g) not in (None, "jax"):  # torch, Dask, CuPy: kept in their library
        return _owned_array(g, like, held)
    if isinstance(g, dict):
        if hasattr(like, "__dict__") and not isinstance(like, dict):  # an object: every numeric attribute's
            zeros = runtime.adjoints.zeros_like(like)
            g = type(g)({**zeros, **g}) if isinstance(zeros, dict) and zeros.keys() - g.keys() else g
            attrs = vars(like)
        else:
            attrs = like if isinstance(like, dict) else {}
        return _plain(g)((k, owned_value(v, attrs.get(k), held)) for k, v in g.items())
    if isinstance(like, tuple) and hasattr(like, "_fields") and isinstance(g, tuple) and len(g) == len(like):
        return type(like)(*(owned_value(v, item, held) for v, item in zip(g, like)))  # a NamedTuple's
    if isinstance(like, (list, tuple)) and isinstance(g, np.ndarray) and g.ndim and len(g) == len(like):
        # a list operand of NumPy functions gets an array adjoint: give it the argument's kind
        g = runtime.items_grad(g, like) if np.shape(g) == _shape_or_none(like) else type(like)(g)
    if isinstance(g, (list, tuple)) and not isinstance(g, np.ndarray):
        items = like if isinstance(like, (list, tuple)) and len(like) == len(g) else [None] * len(g)
        return _plain(g)(owned_value(v, item, held) for v, item in zip(g, items))
    if isinstance(like, np.ndarray):
        if g is None:
            return g
        dtype = like.dtype if like.dtype.kind in "fc" else _FLOAT
        if np.iscomplexobj(g) and not np.issubdtype(dtype, np.complexfloating):
            dtype = np.result_type(dtype, np.asarray(g).dtype)  # never drop an imaginary part
        if not (isinstance(g, np.ndarray) and g.dtype == dtype and g.shape == like.shape and g.base is None
                and g.flags.writeable and id(g) not in held):
            g = np.array(np.broadcast_to(g, like.shape) if np.ndim(g) == 0 else g, dtype=dtype)
        held.add(id(g))
        return g
    if isinstance(like, np.generic) and np.issubdtype(like.dtype, np.inexact) and np.ndim(g) == 0 \
            and not (np.iscomplexobj(g) and not np.iscomplexobj(like)):
        return like.dtype.type(g)
    if isinstance(like, (int, float)) and not isinstance(like, bool) and np.ndim(g) == 0 \
            and isinstance(g, (int, np.integer, np.ndarray, np.floating)) and not isinstance(g, bool) \
            and not np.iscomplexobj(g):
        return float(g)  # a float for a float or an int
    if isinstance(g, np.ndarray):
        if g.base is not None or not g.flags.writeable or id(g) in held:
            g = g.copy()
        held.add(id(g))
    return g


class _Held:
    """The ids ``owned_value`` must not return, found when first needed: a
    gradient of numbers only (immutable: nothing to copy) never walks the
    arguments. ``ids()`` is the set (``input_ids`` of ``values`` and
    ``kept``), made once."""

    __slots__ = ("values", "kept", "found")

    def __init__(self, values, kept):
        self.values, self.kept, self.found = values, kept, None

    def ids(self) -> set[int]:
        if self.found is None:
            self.found = input_ids(self.values, set(self.kept()))
        return self.found


_DICTS = (dict, runtime.GradDict)
_SEQUENCES = {list: list, tuple: tuple, runtime.GradList: list, runtime.GradTuple: tuple}  # -> the type returned


def _owned_fast(g, like, held: _Held):
    """``owned_value(g, like, held.ids())`` for the common results, by exact
    type: Python floats for numbers, fresh NumPy arrays of the argument's
    shape and float dtype, and dicts, lists and tuples of those for dicts,
    lists and tuples (not NamedTuples) and objects whose gradient has every
    numeric attribute; containers returned as plain dicts, lists and tuples.
    Anything else goes to ``owned_value``."""
    kind = type(g)
    if kind is float and (type(like) is float or type(like) is int):
        return g  # immutable: nothing can alias it
    if kind is np.ndarray and type(like) is np.ndarray:
        dtype = like.dtype if like.dtype.kind in "fc" else _FLOAT
        if g.dtype == dtype and g.shape == like.shape:
            if g.base is not None:
                return g.copy()  # a view (of an input, perhaps): its copy is fresh, no need to walk the inputs
            if g.flags.writeable:
                ids = held.ids()
                if id(g) not in ids:
                    ids.add(id(g))
                    return g
    elif kind in _DICTS:
        attrs = like if type(like) is dict else _attributes(like, g)
        if attrs is not None:
            return {k: _owned_fast(v, attrs.get(k), held) for k, v in g.items()}
    elif kind in _SEQUENCES and (type(like) is list or type(like) is tuple) and len(like) == len(g):
        return _SEQUENCES[kind](_owned_fast(v, item, held) for v, item in zip(g, like))
    return owned_value(g, like, held.ids())


def _attributes(like, g):
    """The ``__dict__`` of an object of a user's class (its gradient is a
    dict by attribute) when ``g`` has every numeric attribute's (else
    ``owned_value`` adds the missing ones' zeros), else None."""
    if isinstance(like, (dict, type, types.FunctionType, types.ModuleType)) or not hasattr(like, "__dict__") \
            or runtime.arrays.library(like) is not None:
        return None
    attrs = vars(like)
    if type(attrs) is not dict:
        return None
    for k, v in attrs.items():
        if k not in g and isinstance(v, (np.ndarray, float, int, list, tuple, dict)) and not isinstance(v, bool):
            return None  # (the attributes runtime.adjoints.zeros_like gives an object)
    return attrs


def _plain(g) -> type:
    """The type a returned container has: the builtin one for the engine's
    adjoint containers (GradDict, GradList, GradTuple add elementwise; a
    user's code, or jax.tree_util, expects a dict, list or tuple)."""
    cls = type(g)
    return cls if cls.__module__ != runtime.adjoints.__name__ else dict if isinstance(g, dict) \
        else list if isinstance(g, list) else tuple


def _real_float(dtype) -> bool:
    if isinstance(dtype, np.dtype):
        return dtype.kind == "f"
    return bool(getattr(dtype, "is_floating_point", False)) and not getattr(dtype, "is_complex", False)


def _in_float_dtype_of(g, like):
    """A torch or JAX gradient in the float dtype of its argument ``like`` of
    the same library (float32 in, float32 out, as for NumPy: the float seed
    1.0 or a float64 constant may have promoted it)."""
    g_dtype, like_dtype = getattr(g, "dtype", None), getattr(like, "dtype", None)
    if like_dtype is None or g_dtype == like_dtype or runtime.arrays.library(like) != runtime.arrays.library(g):
        return g
    if not (_real_float(g_dtype) and _real_float(like_dtype)):
        return g
    return g.to(like_dtype) if hasattr(g, "to") and not hasattr(g, "astype") else g.astype(like_dtype)


def _owned_array(g, like, held: set[int]):
    """``owned_value`` for an array of another library: never converted to
    NumPy (a gradient over Dask data stays lazy), in the float dtype of a
    NumPy argument ``like`` and broadcast to its shape when ``g`` is 0-d."""
    arrays = runtime.arrays
    if isinstance(like, np.ndarray) and isinstance(g.dtype, np.dtype):  # Dask, CuPy: NumPy's dtypes
        dtype = like.dtype if like.dtype.kind in "fc" else _FLOAT
        if arrays.is_complex(g) and dtype.kind != "c":
            dtype = np.result_type(dtype, g.dtype)  # never drop an imaginary part
        if g.shape != like.shape and not g.shape:
            g = arrays.broadcast_to(g, like.shape, g)
        if g.dtype != dtype:
            g = g.astype(dtype)
            held.add(id(g))
            return g
    return arrays.owned(g, held)


def owned_gradients(value, likes: list, held: set[int]):
    """The gradients ``value`` with respect to arguments ``likes`` (one
    gradient for one argument, a tuple of them otherwise) as ``owned_value``.

    Example::

        owned_gradients((g0, g1), [x0, x1], input_ids([x0, x1]))
    """
    if len(likes) == 1:
        return owned_value(value, likes[0], held)
    return type(value)(owned_value(v, like, held) for v, like in zip(value, likes))


def tangents_as_generated(args: tuple, wrt: tuple[int, ...]) -> tuple:
    """``args`` (primal arguments, then one tangent per index in ``wrt``)
    with each tangent in the form generated code reads: an object's tangent
    given as an object of its class becomes the dict of its attributes, a
    NamedTuple's given as a dict becomes the tuple of its fields (at any
    depth).

    Example::

        tangents_as_generated((Model(W), x, Model(V)), (0,))   # (Model(W), x, {"W": V})
    """
    first = len(args) - len(wrt)
    if first < 0 or all(type(args[first + k]) in _AS_GIVEN for k in range(len(wrt))):
        return args
    args = list(args)
    for k, i in enumerate(wrt):
        args[first + k] = _tangent_form(args[first + k], args[i], 0)
    return tuple(args)


_AS_GIVEN = frozenset({float, int, np.ndarray})


def _tangent_form(tangent, primal, depth: int):
    if type(tangent) in _AS_GIVEN or depth > 8:
        return tangent
    if isinstance(primal, tuple) and hasattr(primal, "_fields") and isinstance(tangent, dict):
        tangent = tuple(tangent[f] for f in primal._fields)
    elif type(tangent) is type(primal) and not isinstance(primal, (tuple, list, dict)) \
            and runtime.arrays.library(primal) is None:
        fields = runtime.adjoints.object_fields(tangent)
        if fields is not None:
            return {k: _tangent_form(v, getattr(primal, k, None), depth + 1) for k, v in fields.items()}
    if isinstance(tangent, (list, tuple)) and isinstance(primal, (list, tuple)) and len(tangent) == len(primal):
        items = [_tangent_form(t, p, depth + 1) for t, p in zip(tangent, primal)]
        return tuple(items) if isinstance(tangent, tuple) else items
    if isinstance(tangent, dict) and isinstance(primal, dict):
        return {k: _tangent_form(v, primal.get(k), depth + 1) for k, v in tangent.items()}
    return tangent


def returning_owned(derivative: Callable, generic: Callable, mode: str, wrt: tuple[int, ...],
                     preserve_result: bool, like_arguments: bool = False) -> Callable:
    """Wrap a derivative so that what it returns is the caller's own: each
    gradient a fresh, writable array of its argument's (float) dtype, each
    tangent a fresh, writable array; never a view of an input, the seed or
    a tangent vector, nor of anything the generated code keeps. ``generic``
    is the generated function (its signature and globals), ``mode``
    "reverse" or "forward", ``wrt`` the differentiated argument indices.
    ``like_arguments`` (forward mode over a gradient, tangent.hvp's): each
    tangent, a product shaped like its argument, in that argument's dtype
    and structure, as a gradient. A gradient specialised to its arguments'
    kinds is chosen here, so that what ``fresh_results`` proved of its
    result (``tangent_owned``) spares the walk; ``dispatcher(wrapper)`` is
    ``dispatch`` (or None): ``dispatch(args)`` gives the code to run
    for arguments of these kinds, the function making its result owned and
    what is proven of that result (or None: no shortcut), to callers that
    cache them by the arguments' kinds (``argument_classes``: see
    ``call_owned``); for forward mode over a gradient (``like_arguments``)
    too, whose products are proven for the kinds of its vectors.

    Example::

        df = returning_owned(df, df, "reverse", (0,), preserve_result=False)
    """
    finish = _Finishing(generic, mode, wrt, preserve_result, like_arguments)
    choose = getattr(derivative, "tangent_implementation_for", None) if mode == "reverse" else None

    def owned(*args, **kwargs):
        if mode == "forward" and len(args) > len(wrt):
            args = tangents_as_generated(args, wrt)
        if choose is not None and not kwargs and sys.gettrace() is None:
            return call_owned(*dispatch(args), args)
        try:
            out = derivative(*args, **kwargs)
        except Exception as error:
            locate_runtime_error(error)  # names the user's line the derivative was at
            raise
        return finish(out, args, kwargs)

    def dispatch(args):
        if choose is not None:
            code = choose(args)
            return code, finish, getattr(code, "tangent_owned", None)
        kinds = tuple(map(argument_kind, args))  # forward mode over a gradient, its tangents as generated code reads them
        if len(args) <= len(wrt) or not all(map(as_generated, kinds[len(args) - len(wrt):])):
            return None
        return derivative, finish, proven_owned(derivative, wrt, kinds)

    for attribute in ("tangent_source", "tangent_generic", "tangent_specialized_for", "tangent_filename"):
        if hasattr(derivative, attribute):
            setattr(owned, attribute, getattr(derivative, attribute))
    owned.tangent_generic = getattr(derivative, "tangent_generic", generic)
    if choose is not None or (like_arguments and not preserve_result and derivative is generic):
        owned.tangent_dispatch = (id(owned), dispatch)  # (its id, no cycle: a wrapper copying its attributes is another)
    owned.__signature__ = finish.signature
    owned.__wrapped__ = derivative
    owned.__name__ = generic.__name__
    owned.__qualname__ = generic.__qualname__
    owned.__doc__ = generic.__doc__
    return owned


def dispatcher(derivative: Callable) -> Callable | None:
    """The ``dispatch`` of a wrapper ``returning_owned`` made, else None."""
    dispatch = getattr(derivative, "tangent_dispatch", (None, None))
    return dispatch[1] if dispatch[0] == id(derivative) else None


def call_owned(code: Callable, finish: Callable, conforms: Callable | None, args: tuple):
    """``code(*args)`` (no keywords) as the caller's own: as it is when
    ``fresh_results`` proved it so and its leaves have the types it expects
    (``conforms(out)``: ``proven_owned``'s), else through ``finish``
    (``returning_owned``'s).

    Example::

        call_owned(*dispatcher(df)(args), args)
    """
    try:
        out = code(*args)
    except Exception as error:
        locate_runtime_error(error)  # names the user's line the derivative was at
        raise
    if conforms is not None and conforms(out):
        return out  # (nothing else holds it)
    return finish(out, args)


def as_generated(kind) -> bool:
    """A tangent of this kind is in the form generated code reads
    (``tangents_as_generated`` leaves it as it is): numbers, arrays and
    dicts, lists and tuples of them, no object of a user's class."""
    if type(kind) is not tuple:
        return kind in _AS_GIVEN or kind in (bool, complex, type(None))
    return kind[0] is np.ndarray or kind[0] in (dict, list, tuple) and all(map(as_generated, kind[2:]))


class _Finishing:
    """``finish(out, args, kwargs)``: the result ``out`` of a derivative
    called with ``args`` as the caller's own (see ``returning_owned``)."""

    def __init__(self, generic: Callable, mode: str, wrt: tuple[int, ...], preserve_result: bool,
                 like_arguments: bool):
        self.signature = inspect.signature(generic)
        self.defaults = [p.default for p in self.signature.parameters.values()]
        self.generic, self.mode, self.wrt = generic, mode, wrt
        self.preserve_result, self.like_arguments = preserve_result, like_arguments
        self.kept: set | None = None  # arrays the generated module holds (globals)

    def kept_ids(self) -> set:
        if self.kept is None:
            self.kept = input_ids(list(getattr(self.generic, "__globals__", {}).values()))
        return self.kept

    def __call__(self, out, args: tuple, kwargs: dict | None = None):
        if kwargs:
            args = self.signature.bind(*args, **kwargs).args
        value, result = (out[0], out[1:]) if self.preserve_result else (out, ())
        if self.mode == "reverse":
            likes = [args[i] if i < len(args) else self.defaults[i] for i in self.wrt]
            held = _Held(args, self.kept_ids)
            if len(likes) == 1:
                value = _owned_fast(value, likes[0], held)
            else:
                value = type(value)(_owned_fast(v, like, held) for v, like in zip(value, likes))
        elif self.like_arguments:
            value = owned_gradients(value, [args[i] for i in self.wrt], input_ids(args, set(self.kept_ids())))
        else:
            value = owned_value(value, None, input_ids(args, set(self.kept_ids())))
        return (value, *result) if self.preserve_result else value


def proven_owned(code: Callable, wrt: tuple[int, ...], kinds: tuple | None = None,
                 preserve_result: bool = False) -> Callable | None:
    """What ``tangent.fresh_results`` proves of the result of ``code``, a
    gradient specialised to the argument kinds it records
    (``tangent_argument_kinds``), or a derivative called with arguments of
    ``kinds``: the check of its leaves' types (``kind_guards.conformer_for``
    of them), or None (an analysis that cannot conclude proves nothing).

    Example::

        code.tangent_owned = proven_owned(code, (0,))
    """
    from .transform import Session  # (the driver, above the analyses: read only here)

    kinds = list(kinds if kinds is not None else getattr(code, "tangent_argument_kinds", None) or ())
    try:
        _, tree, _ = Session(optimized=True).prepare(code)
        params = [a.arg for a in tree.args.posonlyargs + tree.args.args]
        defaults = list(code.__defaults__ or ())
        missing = len(params) - len(kinds)
        if missing < 0 or missing > len(defaults) or tree.args.vararg or tree.args.kwarg or tree.args.kwonlyargs:
            return None
        kinds += [argument_kind(v) for v in defaults[len(defaults) - missing:]]
        described = {p: describe_kind(k) for p, k in zip(params, kinds)}
        shapes = infer_shapes(tree, {p: v for p, v in described.items() if isinstance(v, (Array, Struct))},
                              constants=code.__globals__)
        leaves = owned_leaves(tree, shapes, kinds, wrt, preserve_result)
        # (the result, returned as it is: a number only, which no gradient's leaf can be a view of)
        return conformer_for((*leaves, ((1,), NUMBER)) if leaves is not None and preserve_result else leaves)
    except (TangentError, SyntaxError, TypeError, ValueError, KeyError, AttributeError):
        return None
