"""Shape rules: what NumPy's (and Python's) operations do to shapes.

Declared as data for the shape inference of ``tangent/shapes.py``, beside
the derivative rules. ``@shape_rule(f, g, ...)`` declares the rule of the
callees ``f``, ``g`` (``where=`` a predicate for families such as ufuncs);
a rule receives the callee and the abstract values of the arguments (a
method's receiver first) and returns the result's shape (or a Value);
raising NotKnown, or TypeError for arguments it does not take, means
UNKNOWN. An operation without a rule gives UNKNOWN: add a rule here, with a
case in tests/test_shapes.py that checks it against NumPy.
"""

from __future__ import annotations

import builtins
import math
import operator

import numpy as np

from .. import runtime
from .shape_values import (
    DYNAMIC,
    UNKNOWN,
    Array,
    Ints,
    NotKnown,
    Seq,
    Static,
    Struct,
    Value,
    attribute_rule,
    broadcast,
    matmul_shape,
    reduced,
    shape_of,
    shape_rule,
    static,
)

try:
    from scipy.special import logsumexp as _logsumexp
except ImportError:  # pragma: no cover
    _logsumexp = None

# the operators that keep Python numbers real (not **: (-8.0) ** (1 / 3) is complex)
_REAL_CLOSED = (operator.add, operator.sub, operator.mul, operator.truediv, operator.floordiv, operator.mod,
                operator.neg, operator.pos)
# the operators that keep integers integers
_INTEGER_CLOSED = (operator.add, operator.sub, operator.mul, operator.floordiv, operator.mod, operator.neg,
                   operator.pos, operator.invert)


@shape_rule(operator.add, operator.sub, operator.mul, operator.truediv, operator.floordiv, operator.mod,
            operator.pow, operator.and_, operator.or_, operator.xor, operator.lshift, operator.rshift,
            operator.neg, operator.pos, operator.invert, operator.not_)
def operator_elementwise(fn, *operands):
    """``a + b``, ``-a``: the broadcast of the operands (of numbers and
    arrays only: on lists and tuples they concatenate and repeat)."""
    shape = broadcast(*[shape_of(a) for a in operands])
    integer = fn in _INTEGER_CLOSED and all(a.integer for a in operands)
    value = DYNAMIC
    if integer and shape == () and all(type(a.value) is int for a in operands) and not (
            fn in (operator.floordiv, operator.mod) and operands[-1].value == 0):
        value = fn(*(a.value for a in operands))  # ``2 * b`` of a static b: slice bounds stay static
    return Array(shape, value, integer=integer, real=fn in _REAL_CLOSED and all(a.real for a in operands))


@shape_rule(runtime.mul_or_repeat, runtime.add_or_concat)
def number_or_sequence(fn, a, b):
    """``a * b``, ``a + b`` whose operands' kinds were not known when
    normalizing: of numbers and arrays of known shape (an Array is never a
    list or tuple), arithmetic."""
    return operator_elementwise(operator.mul if fn is runtime.mul_or_repeat else operator.add, a, b)


def _elementwise_ufunc(fn) -> bool:
    return isinstance(fn, np.ufunc) and fn.signature is None and fn.nout == 1


@shape_rule(where=_elementwise_ufunc)
def ufunc(fn, *args):
    """``np.tanh(x)``, ``np.maximum(a, b)``: the broadcast of the inputs (no
    keywords: ``out=`` and ``where=`` are not followed)."""
    if len(args) != fn.nin:
        raise NotKnown
    shape = broadcast(*[shape_of(a) for a in args])
    return Array(shape, real=shape == () and all(a.real for a in args))  # (of numbers: a float64 scalar)


def _math_function(fn) -> bool:
    return getattr(fn, "__module__", None) == "math" and fn not in (math.modf, math.frexp)


@shape_rule(builtins.float, builtins.abs, where=_math_function)
def of_numbers(fn, *args):
    """``math.exp(x)``, ``float(x)``, ``abs(x)`` of numbers: a number (a
    Python one, except abs of a NumPy scalar)."""
    if not all(shape_of(a) == () for a in args):
        raise NotKnown
    return Array((), real=fn is not builtins.abs or all(a.real for a in args))


@shape_rule(np.sum, np.mean, np.max, np.min, np.prod, np.std, np.var, np.amax, np.amin,
            np.ndarray.sum, np.ndarray.mean, np.ndarray.max, np.ndarray.min, np.ndarray.prod,
            np.ndarray.std, np.ndarray.var, runtime.sum_tangent)
def reduction(fn, a, axis=None, *rest, keepdims=None, **shapeless):
    """``np.sum(x, axis=0, keepdims=True)``: the reduced shape. Other
    keywords (dtype, out, ddof, where, initial, ...) leave the shape alone;
    more than one positional argument after the axis is refused: the next
    is ``keepdims`` for some of these functions."""
    if len(rest) > 1:
        raise NotKnown
    axis = None if axis is None else static(axis)
    keepdims = False if keepdims is None else static(keepdims)
    return reduced(shape_of(a), axis, bool(keepdims))


if _logsumexp is not None:
    @shape_rule(_logsumexp)
    def logsumexp(fn, a, axis=None, *, keepdims=None):
        """``logsumexp(x, axis)``: a reduction (with ``b`` or
        ``return_sign`` the result differs: no rule)."""
        return reduction(fn, a, axis, keepdims=keepdims)


@shape_rule(np.matmul, np.dot, operator.matmul)
def matmul(fn, a, b):
    """``a @ b``; ``np.dot`` as matmul for up to 2-d operands, and as
    multiplication when one is a scalar."""
    a, b = shape_of(a), shape_of(b)
    if fn is np.dot:
        if len(a) > 2 or len(b) > 2:
            raise NotKnown  # np.dot of stacks of matrices is not matmul's broadcasting
        if a == () or b == ():
            return broadcast(a, b)
    return matmul_shape(a, b)


@shape_rule(np.zeros, np.ones, np.empty)
def new_array(fn, shape, dtype=None, order=None, *, like=None):
    """``np.zeros(n)``, ``np.zeros((n, m))`` with static sizes."""
    size = static(shape)
    if type(size) is int:
        return (size,)
    if isinstance(size, tuple) and all(type(n) is int for n in size):
        return size
    raise NotKnown


@shape_rule(np.zeros_like, np.ones_like, np.empty_like)
def new_array_like(fn, a, dtype=None, order=None, subok=None, shape=None):
    """``np.zeros_like(x)``: the shape of x (``shape=`` is not followed)."""
    if shape is not None:
        raise NotKnown
    return shape_of(a)


@shape_rule(np.transpose, np.ndarray.transpose)
def transpose(fn, a):
    """``np.transpose(x)``, ``x.transpose()`` without axes: the reversed shape."""
    return tuple(reversed(shape_of(a)))


@shape_rule(operator.getitem)
def index(fn, base, *parts):
    """``x[i, 1:3, None]``: integers drop an axis, static slices keep part of
    it, None adds one; other indices (arrays, Ellipsis, unknown slices) are
    not followed. ``x.shape[k]`` is an integer; ``params['W']``,
    ``layers[i]`` of a container of known structure its item."""
    if isinstance(base, Ints):
        return _index_ints(base, parts)
    if isinstance(base, Struct):
        return _index_struct(base, parts)
    shape = shape_of(base)
    out, dim = [], 0
    for part in parts:
        if isinstance(part, Static) and part.value is None:
            out.append(1)
            continue
        if dim >= len(shape):
            raise NotKnown
        if isinstance(part, Static) and isinstance(part.value, slice):
            out.append(len(range(*part.value.indices(shape[dim]))))
        elif not (isinstance(part, Array) and part.integer and part.shape == ()):
            raise NotKnown
        dim += 1
    return Array(tuple(out) + tuple(shape[dim:]), integer=base.integer)


def _index_struct(base: Struct, parts: tuple):
    """An item of a dict by its key, of a list or tuple by an integer (a
    dynamic one: the join of all items), a slice of a tuple or list."""
    if len(parts) != 1 or base.kind == "object":
        raise NotKnown
    part = parts[0]
    if base.kind == "dict":
        return base.item(static(part))
    if isinstance(part, Static) and isinstance(part.value, slice):
        return Struct(base.kind, tuple(enumerate(v for _, v in base.items[part.value])))
    if not (isinstance(part, Array) and part.integer and part.shape == ()):
        raise NotKnown
    if part.value is DYNAMIC:
        # any item: known only if they all agree (an index out of range raises)
        values = {v for _, v in base.items}
        if len(values) != 1:
            raise NotKnown
        return values.pop()
    return base.items[part.value][1]  # (negative indices count from the end, as in Python)


def _index_ints(base: Ints, parts: tuple):
    if len(parts) != 1:
        raise NotKnown
    part = parts[0]
    if isinstance(part, Array) and part.integer and part.shape == ():
        if base.value is DYNAMIC or part.value is DYNAMIC:
            return Array((), integer=True)
        return Array((), base.value[part.value], integer=True)
    if isinstance(part, Static) and isinstance(part.value, slice) and base.value is not DYNAMIC:
        return Ints(base.value[part.value])
    return UNKNOWN


def concatenated(items: list, axis: Value) -> Value:
    """``np.concatenate(items, axis)`` of arrays of known shapes on a static
    axis (the items' Values, when a list display gives them)."""
    if not (isinstance(axis, Array) and axis.integer and isinstance(axis.value, int) and items
            and all(isinstance(i, Array) and i.shape for i in items)):
        return UNKNOWN
    shapes = [i.shape for i in items]
    ndim = len(shapes[0])
    if any(len(s) != ndim for s in shapes) or not -ndim <= axis.value < ndim:
        return UNKNOWN
    at = axis.value % ndim
    if any(s[:at] + s[at + 1:] != shapes[0][:at] + shapes[0][at + 1:] for s in shapes):
        return UNKNOWN  # (it raises)
    return Array(shapes[0][:at] + (sum(s[at] for s in shapes),) + shapes[0][at + 1:])


@attribute_rule("shape")
def shape_attribute(value):
    """``x.shape``: a tuple of integers, static when the shape is known."""
    if isinstance(value, Array):
        return Ints(value.shape)
    return Ints()


@attribute_rule("ndim", "size")
def size_attribute(value):
    """``x.ndim``, ``x.size``: an integer."""
    return Array((), integer=True)


@attribute_rule("T")
def transposed(value):
    """``x.T``: the reversed shape."""
    return tuple(reversed(shape_of(value)))



# ------------------------------------------- rules/numpy_more_rules.py, linalg_rules.py


@shape_rule(np.sinc, np.real, np.imag, np.tril, np.triu)
def same_shape(fn, a, k=None):
    """``np.sinc(x)``, ``np.real(z)``, ``np.tril(m, k)``: the argument's shape."""
    return shape_of(a)


@shape_rule(np.nansum, np.nanmean, np.median)
def nan_reduction(fn, a, axis=None, *, keepdims=None, **shapeless):
    """``np.nansum(x, axis, keepdims=...)``, ``np.median``: a reduction
    (positional arguments after the axis are refused)."""
    return reduction(fn, a, axis, keepdims=keepdims)


@shape_rule(builtins.range)
def range_(fn, *bounds):
    """``range(n)`` of static integers: indexed, sliced and measured like a
    1-D integer array of its length."""
    return Array((len(range(*(static(b) for b in bounds))),), integer=True)


@shape_rule(runtime.as_sequence)
def as_sequence(fn, iterable):
    """``as_sequence(r)`` of a range or an array: the value itself."""
    if not isinstance(iterable, Array):
        raise NotKnown
    return iterable


@shape_rule(runtime.zeros_like, runtime.tangent_like, runtime.fresh_tangent, runtime.copy_tangent)
def tangent_shaped(fn, t, *rest):
    """Forward mode's helpers on numbers and arrays keep the shape of their
    first argument (the value, or the tangent)."""
    return Array(shape_of(t))


@shape_rule(runtime.broadcast_seed)
def broadcast_seed(fn, seed, result):
    """A gradient's seed, broadcast to its result's shape."""
    return Array(shape_of(result))


@shape_rule(runtime.broadcast_tangent)
def broadcast_tangent(fn, t, like, at_end=None):
    """``broadcast_tangent(t, like)`` of arrays: ``like``'s shape."""
    return Array(broadcast(shape_of(t), shape_of(like)))


def _static_dims(parts: tuple) -> tuple:
    """The dimensions a reshape asks for: one tuple (Ints or Static) or integers."""
    if len(parts) == 1 and isinstance(parts[0], (Ints, Static)):
        dims = static(parts[0])
        dims = dims if isinstance(dims, tuple) else (dims,)
    else:
        dims = tuple(static(p) for p in parts)
    if not all(type(n) is int for n in dims):
        raise NotKnown
    return dims


@shape_rule(np.reshape, np.ndarray.reshape)
def reshape(fn, a, *shape, order=None, newshape=None, copy=None):
    """``np.reshape(x, (2, -1))``, ``x.reshape(2, 3)`` to static dimensions
    (one -1 inferred); a size that does not match raises (NotKnown)."""
    if newshape is not None:
        shape = (newshape,)
    dims, size = _static_dims(shape), math.prod(shape_of(a))
    if dims.count(-1) == 1:
        known = math.prod(n for n in dims if n != -1)
        if known == 0 or size % known:
            raise NotKnown
        dims = tuple(size // known if n == -1 else n for n in dims)
    if any(n < 0 for n in dims) or math.prod(dims) != size:
        raise NotKnown
    return dims


@shape_rule(np.expand_dims)
def expand_dims(fn, a, axis):
    """``np.expand_dims(x, k)`` of a static axis (or tuple of axes)."""
    shape, axes = shape_of(a), static(axis)
    axes = axes if isinstance(axes, tuple) else (axes,)
    ndim = len(shape) + len(axes)
    if not all(type(k) is int and -ndim <= k < ndim for k in axes):
        raise NotKnown
    axes = {k % ndim for k in axes}
    rest = iter(shape)
    return tuple(1 if i in axes else next(rest) for i in range(ndim))


@shape_rule(np.cross)
def cross(fn, a, b):
    """``np.cross(a, b)`` over the last axes (both of length 3, or both 2)."""
    sa, sb = shape_of(a), shape_of(b)
    if not sa or not sb or sa[-1] != sb[-1] or sa[-1] not in (2, 3):
        raise NotKnown
    return broadcast(sa[:-1], sb[:-1]) + ((3,) if sa[-1] == 3 else ())


@shape_rule(np.outer)
def outer(fn, a, b):
    """``np.outer(a, b)``: (size of a, size of b)."""
    return (math.prod(shape_of(a)), math.prod(shape_of(b)))


@shape_rule(runtime.unbroadcast)
def unbroadcast(fn, g, like):
    """``unbroadcast(g, like)`` of numbers and arrays: ``like``'s shape."""
    if not isinstance(g, Array) or not isinstance(like, Array):
        raise NotKnown
    return Array(shape_of(like))


@shape_rule(runtime.add_matmul_sums)
def add_matmul_sums(fn, total, lefts, rights):
    """``total`` plus the sum of ``x.T @ a`` over two lists of arrays: the
    shape of ``total`` when the products' broadcast keeps it (the lists may
    be empty)."""
    if not (isinstance(total, Array) and isinstance(lefts, Seq) and isinstance(rights, Seq)
            and isinstance(lefts.item, Array) and isinstance(rights.item, Array)):
        raise NotKnown
    shape = shape_of(total)
    if broadcast(shape, matmul_shape(shape_of(lefts.item)[::-1], shape_of(rights.item))) != shape:
        raise NotKnown
    return Array(shape)


@shape_rule(np.broadcast_to)
def broadcast_to(fn, a, shape, *, subok=None):
    """``np.broadcast_to(x, (2, 3))`` of a number or an array to static
    dimensions it broadcasts to."""
    if not isinstance(a, Array):
        raise NotKnown
    dims = _static_dims((shape,))
    if broadcast(shape_of(a), dims) != dims:
        raise NotKnown
    return Array(dims)
