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
        return type(self)(add(a, b) for a, b in zip(self, other))

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
        out = GradDict(self)
        for key, value in other.items():
            out[key] = add(out[key], value) if key in out else value
        return out

    __radd__ = __add__


def add(a, b):
    """Sum of two adjoints, where ``None`` stands for zero."""
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def zeros_like(x):
    """A zero adjoint shaped like the primal value ``x`` (floats for ints)."""
    if type(x) is float:
        return 0.0
    if isinstance(x, np.ndarray):  # (dtype.kind, not np.issubdtype: called per leaf of every buffer)
        return np.zeros(x.shape, x.dtype if x.dtype.kind in "fc" else float)
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
        return GradTuple(zeros_like(v) for v in x)
    if isinstance(x, list):
        return GradList(zeros_like(v) for v in x)
    if isinstance(x, dict):
        return GradDict((k, zeros_like(v)) for k, v in x.items())
    if type(x).__name__ == "TensorShape":  # tf.Tensor.shape: integers, zeros as a tuple's
        return GradTuple(0.0 for _ in x)
    if hasattr(x, "__dict__") and not isinstance(x, (type, types.FunctionType, types.ModuleType)):
        # an object: the adjoints of its numeric attributes, by name
        return GradDict((k, zeros_like(v)) for k, v in vars(x).items()
                        if isinstance(v, (np.ndarray, float, int, list, tuple, dict)) and not isinstance(v, bool))
    return zeros_like(np.asarray(x))


def unbroadcast(g, like):
    """Sum the adjoint ``g`` down to the shape of ``like``, undoing broadcasting.
    A list or tuple ``like`` (an operand of arithmetic with an array, which
    NumPy reads as an array) gets a GradList/GradTuple of its items' adjoints."""
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
    if isinstance(x, (tuple, list)):
        out = GradList(zeros_like(v) for v in x)
        if isinstance(index, slice):
            out[index] = list(g)
        else:
            out[index] = g
        out = GradTuple(out) if isinstance(x, tuple) else out
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
    """Adjoint of ``obj.name``: a GradDict holding ``g`` under the name."""
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
