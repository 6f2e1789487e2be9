"""Adjoints as values: the containers, zeros, broadcasting and indexing that
generated reverse-mode code calls.

Takes primal values and adjoints as generated code holds them; gives new
adjoints, never mutating one in place: every accumulation builds a new value,
so an adjoint may safely alias another one. Adjoints of containers (tuples,
lists, dicts) are the ``Grad*`` subclasses below, whose ``+`` adds element by
element, so generated code can accumulate with ``+`` whatever the value's
type; ``None`` stands for a zero adjoint where ``add`` sees it.
"""

from __future__ import annotations

import numbers
import types

import numpy as np

from . import arrays


class _ElementwiseSequence:
    """``+``, ``-`` and negation element by element, for the adjoints of
    sequences (``None`` items stand for zeros)."""

    __slots__ = ()

    def __add__(self, other):
        fields = getattr(self, FIELDS, None)
        if fields is not None and isinstance(other, dict):  # a NamedTuple's attributes' adjoints, by name
            other = [other.get(name) for name in fields]
        return with_fields(type(self)(add(a, b) for a, b in zip(self, other)), fields)

    __radd__ = __add__

    def __neg__(self):
        return type(self)(None if a is None else -a for a in self)

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return (-self) + other


class GradTuple(_ElementwiseSequence, tuple):
    """Adjoint of a tuple: a tuple whose ``+`` adds elementwise."""


class GradList(_ElementwiseSequence, list):
    """Adjoint of a list: a list whose ``+`` adds elementwise."""


class GradDict(dict):
    """Adjoint of a dict: a dict whose ``+`` adds the values of equal keys."""

    def __add__(self, other):
        if isinstance(other, GradTuple) and getattr(other, FIELDS, None) is not None:
            return other + self  # (a NamedTuple's adjoint: by position)
        out = GradDict(self)
        for key, value in other.items():
            out[key] = add(out[key], value) if key in out else value
        return out

    __radd__ = __add__


FIELDS = "_tangent_fields"  # attribute of a GradTuple: the fields of the NamedTuple it is the adjoint of


def fields_of(x) -> tuple | None:
    """The field names of a NamedTuple, else None."""
    return getattr(type(x), "_fields", None) if isinstance(x, tuple) else None


def with_fields(out, fields: tuple | None):
    """``out`` (an adjoint) marked as a NamedTuple's of these fields (its
    attributes' adjoints, by name, go to their positions); unchanged for None."""
    if fields is not None and isinstance(out, GradTuple):
        setattr(out, FIELDS, fields)
    return out


def returns_fresh(*through: int):
    """Declare that a helper keeps no reference to its arguments and returns
    a new value, or one of the arguments at the positions ``through``
    (read by ``tangent.fresh_results``: a gradient made of such values needs
    no copy).

    Example::

        @returns_fresh(0)
        def unbroadcast(g, like): ...   # g itself, or a new sum of it
    """
    def declare(helper):
        helper.tangent_returns_fresh = tuple(through)
        return helper

    return declare


def add(a, b):
    """Sum of two adjoints, where ``None`` stands for zero."""
    if a is None:
        return b
    if b is None:
        return a
    return a + b


@returns_fresh()
def zeros_like(x):
    """A zero adjoint shaped like the primal value ``x`` (floats for ints)."""
    t = type(x)
    if t is float:
        return 0.0
    if isinstance(x, np.ndarray):  # (dtype.kind, not np.issubdtype: called per leaf of every buffer)
        return np.zeros(x.shape, x.dtype if x.dtype.kind in "fc" else float)
    if t is tuple or t is list:  # (the exact types first: the checks below are slower)
        return (GradTuple if t is tuple else GradList)([zeros_like(v) for v in x])
    if t is dict:
        return GradDict({k: zeros_like(v) for k, v in x.items()})
    if arrays.library(x) is not None:
        return arrays.zeros_like(x)
    if x is None:
        # a placeholder (a variable saved before its first value): its
        # adjoint is a plain zero that later contributions add to
        return 0.0
    if isinstance(x, (bool, np.bool_)) or isinstance(x, str):
        return None
    if isinstance(x, numbers.Complex):
        return 0.0 if isinstance(x, numbers.Real) else 0j
    if isinstance(x, np.generic):
        return np.zeros((), float).item() if not np.issubdtype(x.dtype, np.complexfloating) else 0j
    if isinstance(x, tuple):
        return with_fields(GradTuple(zeros_like(v) for v in x), fields_of(x))
    if isinstance(x, list):
        return GradList(zeros_like(v) for v in x)
    if isinstance(x, dict):
        return GradDict((k, zeros_like(v)) for k, v in x.items())
    if type(x).__name__ == "TensorShape":  # tf.Tensor.shape: integers, zeros as a tuple's
        return GradTuple(0.0 for _ in x)
    fields = object_fields(x)
    if fields is not None:  # an object: the adjoints of its numeric attributes, by name
        return GradDict((k, zeros_like(v)) for k, v in fields.items()
                        if isinstance(v, (np.ndarray, float, int, list, tuple, dict)) and not isinstance(v, bool))
    return zeros_like(np.asarray(x))


_UNSET = object()
_SLOTS: dict = {}


def object_fields(x) -> dict | None:
    """The attributes of an object of a user's class by name: those of its
    ``__dict__``, then its ``__slots__`` that are set (a NamedTuple's: its
    fields); None for a class, a function, a module, another tuple or an
    object with neither.

    Example::

        object_fields(Layer(W, b))   # {"W": W, "b": b}
    """
    if isinstance(x, (type, types.FunctionType, types.ModuleType)):
        return None
    if isinstance(x, tuple):  # a NamedTuple's fields
        return dict(zip(fields_of(x), x)) if fields_of(x) is not None else None
    fields = getattr(x, "__dict__", None)
    slots = _SLOTS.get(type(x))
    if slots is None:
        names = [klass.__dict__.get("__slots__", ()) for klass in type(x).__mro__]
        slots = _SLOTS[type(x)] = tuple(n for group in names for n in ((group,) if isinstance(group, str) else group)
                                        if n not in ("__dict__", "__weakref__"))
    if not slots:
        return fields if isinstance(fields, dict) else None
    out = dict(fields) if isinstance(fields, dict) else {}
    for name in slots:
        value = getattr(x, name, _UNSET) if name not in out else _UNSET
        if value is not _UNSET:
            out[name] = value
    return out


@returns_fresh(0)
def unbroadcast(g, like):
    """Sum the adjoint ``g`` down to the shape of ``like``, undoing broadcasting.
    A list or tuple ``like`` (an operand of arithmetic with an array, which
    NumPy reads as an array) gets a GradList/GradTuple of its items' adjoints."""
    if g.__class__ is np.ndarray and like.__class__ is np.ndarray and g.shape == like.shape:
        return g  # (the common case, fast)
    if isinstance(like, (list, tuple)) and not isinstance(g, (list, tuple)) and g is not None:
        return items_grad(unbroadcast(np.asarray(g), np.zeros(np.shape(like))), like)
    if arrays.library(g) is not None or arrays.library(like) is not None:
        return arrays.unbroadcast(g, like)
    gshape = getattr(g, "shape", ())
    lshape = getattr(like, "shape", ())
    if gshape == lshape:
        return g
    if not lshape:
        return np.sum(g) if not isinstance(like, np.ndarray) else np.asarray(np.sum(g))
    extra = len(gshape) - len(lshape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(lshape) if n == 1 and gshape[extra + i] != 1
    )
    return np.sum(g, axis=axes).reshape(lshape)


def items_grad(g, like):
    """The array adjoint ``g`` of the list or tuple ``like`` (nested, holding
    numbers or arrays) split into adjoints of its items, each of its item's
    kind and shape (a float for a number)."""
    if isinstance(like, (list, tuple)):
        parts = [items_grad(gi, li) for gi, li in zip(g, like)]
        return GradTuple(parts) if isinstance(like, tuple) else GradList(parts)
    if isinstance(like, np.ndarray):
        return np.asarray(g, dtype=like.dtype if np.issubdtype(like.dtype, np.inexact) else float).reshape(like.shape)
    return float(g) if not isinstance(like, complex) else complex(g)


def broadcast_like(g, like):
    """Broadcast ``g`` to the shape of ``like`` (the adjoint of unbroadcast)."""
    shape = getattr(like, "shape", ())
    if getattr(g, "shape", ()) == shape:
        return g
    if arrays.library(like) is not None:
        return arrays.broadcast_like(g, like)
    return np.broadcast_to(g, shape)


def is_basic_index(index) -> bool:
    """True when ``x[index]`` selects every element at most once."""
    parts = index if isinstance(index, tuple) else (index,)
    for part in parts:
        if isinstance(part, (slice, type(None), type(Ellipsis), numbers.Integral)):
            continue
        arr = arrays.asarray(part)  # a Dask mask keeps its dtype uncomputed
        if arr.dtype != np.bool_:
            return False
    return True


def grad_of_index(x, index, g):
    """Adjoint of ``x[index]`` given the adjoint ``g`` of the read value.

    Repeated integer indices accumulate (``np.add.at``). Works for arrays,
    tuples, lists and dicts.
    """
    if isinstance(x, np.ndarray) and arrays.library(g) is None:
        out = zeros_like(x)
        if is_basic_index(index):
            out[index] += g
        else:
            np.add.at(out, index, g)
        return out
    if arrays.library(x) is not None or isinstance(x, np.ndarray):  # or g of another library
        return arrays.grad_of_index(x, index, g)
    if isinstance(x, dict):
        out = zeros_like(x)
        out[index] = g
        out._tangent_zero = set(out) - {index}  # slots still zeros (accumulation.add_at may replace them)
        return out
    if type(index) is int and (type(x) is tuple or type(x) is list) and x:  # (the item read: no zeros for it)
        at = index % len(x)
        out = [g if i == at else zeros_like(v) for i, v in enumerate(x)]
        out = GradTuple(out) if type(x) is tuple else GradList(out)
        out._tangent_zero = set(range(len(out))) - {at}
        return out
    if isinstance(x, (tuple, list)):
        out = GradList(zeros_like(v) for v in x)
        if isinstance(index, slice):
            out[index] = list(g)
        else:
            out[index] = g
        out = with_fields(GradTuple(out), fields_of(x)) if isinstance(x, tuple) else out
        if type(index) is int:
            out._tangent_zero = set(range(len(out))) - {index % len(out)}
        return out
    if isinstance(index, str) and hasattr(x, "__dict__") and not np.isscalar(x):
        return grad_of_attribute(x, index, g)  # an object's region (regions.py): an attribute
    return grad_of_index(np.asarray(x), index, g)


def as_container_grad(values, like):
    """Adjoint of a tuple or list built from element adjoints."""
    return GradTuple(values) if isinstance(like, tuple) else GradList(values)


def attribute(obj, name):
    """``obj.name`` as a primitive: the derivative rules of attribute reads
    are registered for this function (generated code reads ``obj.name``)."""
    return getattr(obj, name)


def grad_of_attribute(obj, name, g):
    """Adjoint of ``obj.name``: a GradDict holding ``g`` under the name (a
    NamedTuple's field: a GradTuple, ``g`` at its position, as its zeros)."""
    fields = fields_of(obj)
    if fields is not None and name in fields:
        return grad_of_index(obj, fields.index(name), g)
    return GradDict({name: g})


def ensure_finite(value, where):
    """Raise NonFiniteGradientError when an adjoint holds NaN or inf."""
    from ..errors import NonFiniteGradientError

    if value is None:
        return value
    if isinstance(value, (GradTuple, GradList)):
        for v in value:
            ensure_finite(v, where)
        return value
    if isinstance(value, GradDict):
        for v in value.values():
            ensure_finite(v, where)
        return value
    if not (arrays.all_finite(value) if arrays.library(value) is not None else np.all(np.isfinite(value))):
        raise NonFiniteGradientError(
            f"the backward step of {where}\n  produced a non-finite adjoint ({_describe_nonfinite(value)}); "
            "look for a division by zero, log or sqrt at 0, or an overflow at that line"
        )
    return value


def _describe_nonfinite(value) -> str:
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):  # a device array (CuPy) NumPy cannot read
        return "NaN or inf"
    nan, inf = int(np.isnan(arr).sum()), int(np.isinf(arr).sum())
    parts = [f"{nan} NaN" if nan else "", f"{inf} inf" if inf else ""]
    return " and ".join(p for p in parts if p) + (f" of {arr.size} values" if arr.size > 1 else "")


def check_scalar_output(value):
    """grad() differentiates scalar-valued functions; use vjp for others."""
    if arrays.library(value) is not None:
        scalar = arrays.check_scalar_output(value)
    else:
        scalar = getattr(value, "shape", ()) == () or getattr(value, "size", 1) == 1
    if not scalar:
        from ..errors import TangentError

        raise TangentError(
            f"grad() needs a function with a scalar output, but it returned shape {tuple(value.shape)}; "
            "use tangent.vjp (and pass the output seed) or reduce the output, e.g. with np.sum"
        )


def check_seed(seed, result):
    """Refuse a seed (``dresult``) whose shape does not broadcast to the
    result's: NumPy would broadcast the other way round and give a gradient
    of the wrong shape, or sum a vector seed against a scalar result (for
    ``seed * gradient`` there, Google Tangent's code, pass
    ``check_dims=False``). A number seeds every element. Example::

        check_seed(np.ones(3), np.zeros(3))    # nothing: same shape
    """
    if seed.__class__ is float or seed.__class__ is int:
        return
    seed_shape, result_shape = getattr(seed, "shape", None), getattr(result, "shape", ())
    if seed_shape is None or not isinstance(result, (float, int, complex, np.number, np.ndarray)) \
            and not hasattr(result, "shape"):
        return  # a container result takes a container seed, matched item by item
    check_seed_shape(seed, tuple(result_shape))


def check_seed_shape(seed, result_shape: tuple):
    """``check_seed`` where the result's shape is known when the code is
    specialised (the result itself need not be computed). Example::

        check_seed_shape(1.0, (3,))    # nothing: a number seeds every element
    """
    seed_shape = getattr(seed, "shape", None)
    if seed_shape is not None and not _fits(tuple(seed_shape), result_shape):
        from ..errors import TangentError

        raise TangentError(
            f"the seed has shape {tuple(seed_shape)} but the function's result has shape {result_shape}; "
            "pass a seed of the result's shape (or a number, which seeds every element)"
        )


def check_tangent(tangent, value, name: str):
    """Refuse a tangent vector (jvp, hvp) for the argument ``name`` whose
    shape does not broadcast to the argument's: NumPy would broadcast the
    argument instead and give a product of the wrong shape, or a silently
    wrong one (a batch of tangents summed by a reduction). A number is the
    same along every element. Example::

        check_tangent(np.ones(3), np.zeros(3), "x")    # nothing: same shape
    """
    misfit = _misfit(tangent, value)
    if misfit is not None:
        from ..errors import TangentError

        path, shape, target = misfit
        whole = name if len(path) == 1 else name + "".join(
            f".{step}" if attribute else f"[{step!r}]" for step, attribute in reversed(path[1:]))
        name = name + "".join(f".{step}" if attribute else f"[{step!r}]" for step, attribute in reversed(path))
        name = name if path else f"'{name}'"
        if shape is None:
            raise TangentError(
                f"the tangent vector for {whole} has no entry for {name} (of shape {target}); give a tangent for "
                f"each of its numbers and arrays (zeros along those the derivative should not move)"
            )
        raise TangentError(
            f"the tangent vector for {name} has shape {shape} but {name} has shape {target}; "
            f"pass a tangent of the argument's shape (or a number, the same along every element)"
        )


def _misfit(tangent, value):
    """(path reversed, shape, target) of a leaf of the tangent whose shape
    does not broadcast to its argument's, else None. A container argument
    takes a container tangent, matched item by item: a dict's by key, a
    list's or tuple's (a NamedTuple's too) by position, an object's (a dict
    of its attributes') by attribute."""
    cls = tangent.__class__
    if cls is float or cls is int or cls is np.ndarray and value.__class__ is np.ndarray and tangent.shape == value.shape:
        return None  # (the common cases, fast)
    by_key = isinstance(tangent, dict)
    if by_key:
        fields = value if isinstance(value, dict) else object_fields(value)
        pairs = tangent.items() if fields is not None else ()
    elif isinstance(tangent, (list, tuple)):
        fields = value if isinstance(value, (list, tuple)) and len(value) == len(tangent) else None
        pairs = enumerate(tangent) if fields is not None else ()
    else:
        shape, target = getattr(tangent, "shape", None), getattr(value, "shape", None)
        if shape is None or target is None and not isinstance(value, (float, int, complex)):
            return None
        target = () if target is None else tuple(target)
        return None if _fits(tuple(shape), target) else ((), tuple(shape), target)
    if by_key and fields is value and not value.keys() <= tangent.keys():  # a dict's tangent needs each number's
        for key, item in value.items():
            if key not in tangent and (type(item) is float or type(item) is np.ndarray and item.dtype.kind in "fc"):
                return (((key, False),), None, np.shape(item))
    for key, item in pairs:
        if not by_key or key in fields:
            target = fields[key]
            if item.__class__ is np.ndarray and target.__class__ is np.ndarray and item.shape == target.shape:
                continue
            misfit = _misfit(item, target)
            if misfit is not None:  # (its path built outwards: steps appended, read reversed)
                return (misfit[0] + ((key, fields is not value),), misfit[1], misfit[2])
    return None


def broadcast_seed(seed, result):
    """The seed of an array result with the result's shape: a number (or a
    smaller array) broadcast to it, as ``check_seed`` lets it be, so that
    the backward pass finds the adjoint of every element where it looks (a
    read-only view: a seed is never written into). Other seeds (of numbers,
    of containers, already of the shape) are returned as they are.
    Example::

        broadcast_seed(1.0, np.zeros(3))    # array([1., 1., 1.])
    """
    shape = getattr(result, "shape", None)
    if shape is None or getattr(seed, "shape", ()) == shape or isinstance(seed, (list, tuple, dict)):
        return seed
    return broadcast_like(seed, result)


def _fits(shape: tuple, target: tuple) -> bool:
    """Whether an operand of ``shape`` broadcasts to ``target`` (unknown
    lengths, as a Dask array's NaN or a TensorFlow None, fit anything)."""
    if shape == target or not shape:
        return True
    if any(not isinstance(n, int) for n in shape + target):
        return True
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False
