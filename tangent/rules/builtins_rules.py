"""Rules for Python operators, builtins and the ``math`` module.

Elementwise operators and functions are declared once by their local
derivative (``elementwise``), helpers linear in one argument with their
transpose (``linear``); the other primitives have a reverse rule
(``adjoint``) and a forward rule (``tangent_rule``) side by side. Operator
rules also serve NumPy arrays, so they undo broadcasting with ``unbroadcast``.
"""

import builtins
import math
import operator

import numpy as np

from ..errors import TangentError
from ..runtime import GradList, GradTuple, broadcast_like, unbroadcast, zeros_like
from ..runtime.sequences import keys_of, sort_order
from . import adjoint, d, elementwise, linear, nondifferentiable, tangent_rule

# -------------------------------------------- operators and their ufuncs
# (Operators are called positionally; the parameters take NumPy's names so
# that np.add(x1=..., x2=...) binds too.)


@elementwise(operator.add, np.add)
def add(z, x1, x2):
    return 1, 1


@adjoint(operator.sub, np.subtract)
def sub(z, x1, x2):
    d[x1] = unbroadcast(d[z], x1)
    d[x2] = -unbroadcast(d[z], x2)


@tangent_rule(operator.sub, np.subtract)
def t_sub(z, x1, x2):
    d[z] = d[x1] - d[x2]


@adjoint(operator.mul, np.multiply)
def mul(z, x1, x2):
    d[x1] = unbroadcast(d[z] * x2, x1)
    d[x2] = unbroadcast(d[z] * x1, x2)


@tangent_rule(operator.mul, np.multiply)
def t_mul(z, x1, x2):
    d[z] = d[x1] * x2 + x1 * d[x2]


@adjoint(operator.truediv, np.divide, np.true_divide)
def truediv(z, x1, x2):
    d[x1] = unbroadcast(d[z] / x2, x1)
    d[x2] = -unbroadcast(d[z] / x2 * z, x2)  # (d[z] / x2 is d[x1] before unbroadcasting: computed once)


@tangent_rule(operator.truediv, np.divide, np.true_divide)
def t_truediv(z, x1, x2):
    d[z] = (d[x1] - z * d[x2]) / x2


@adjoint(operator.pow, builtins.pow)
def pow(z, x, y):
    d[x] = unbroadcast(d[z] * y * x ** (y - 1 + 0 ** abs(y)), x)  # (x ** 0 is 1 at x = 0 too: slope 0, not nan)
    d[y] = unbroadcast(d[z] * z * np.log(np.where(x > 0, x, 1)), y)


@tangent_rule(operator.pow, builtins.pow)
def t_pow(z, x, y):
    d[z] = d[x] * y * x ** (y - 1 + 0 ** abs(y)) + d[y] * z * np.log(np.where(x > 0, x, 1))


@elementwise(operator.neg, np.negative)
def neg(z, x):
    return -1


@elementwise(operator.pos, np.positive)
def pos(z, x):
    return 1


# (builtins.abs, operator.abs and np.absolute, which take complex values, are
# declared in numpy_more_rules.py; one declaration each, so that the rule in
# force does not depend on which rule module was imported first)
@elementwise(math.fabs, np.fabs)
def abs_(z, x):
    return np.sign(x)


@elementwise(builtins.float, np.float64, np.float32)
def float_(z, x=0.0):
    return 1


@adjoint(operator.mod)
def mod(z, x, y):
    d[x] = unbroadcast(d[z], x)
    d[y] = -unbroadcast(d[z] * np.floor_divide(x, y), y)


@tangent_rule(operator.mod)
def t_mod(z, x, y):
    d[z] = d[x] - d[y] * np.floor_divide(x, y)


def grad_of_extremum(g, z, args, pick_max):
    """Adjoints of the arguments of builtin max/min: one per argument, ``g``
    for the one equal to the result ``z`` (the first of ties) and zero for the
    others; for a single iterable argument, its adjoint holds ``g`` at the
    chosen item (none for a dict's, whose items are its keys). (``pick_max``
    is kept for the call sites; ``z`` decides.)"""
    if len(args) == 1 and isinstance(args[0], dict):
        return GradTuple((zeros_like(args[0]),))
    if len(args) == 1:
        items = list(args[0])
        chosen = items.index(z)
        out = [zeros_like(v) for v in items]
        out[chosen] = g
        if isinstance(args[0], np.ndarray):
            return GradTuple((np.asarray(out),))
        return GradTuple((GradTuple(out) if isinstance(args[0], tuple) else GradList(out),))
    chosen = list(args).index(z)
    return GradTuple(g if i == chosen else zeros_like(a) for i, a in enumerate(args))


def grad_of_chosen(dargs, g, z, args):
    """Adjoint of ``g`` in ``grad_of_extremum(g, z, args, ...)`` given the
    adjoints ``dargs`` of its result: that of the chosen argument or item
    (None meaning zero)."""
    if len(args) == 1 and isinstance(args[0], dict):
        return zeros_like(g)
    if len(args) == 1:
        part = dargs[0]
        picked = None if part is None else list(part)[list(args[0]).index(z)]
    else:
        picked = dargs[list(args).index(z)]
    return zeros_like(g) if picked is None else picked


@adjoint(builtins.max)
def max_(z, *args):
    d[args] = grad_of_extremum(d[z], z, args, True)


@adjoint(builtins.min)
def min_(z, *args):
    d[args] = grad_of_extremum(d[z], z, args, False)


@tangent_rule(builtins.max, builtins.min)
def t_extremum(z, *args):
    d[z] = tangent_of_extremum(d[args], z, args)


def tangent_of_extremum(dargs, z, args):
    """Tangent of builtin max/min: that of the chosen argument or item (a
    dict's items are its keys: zero)."""
    if len(args) == 1 and isinstance(args[0], dict):
        return zeros_like(z)
    if len(args) == 1:
        items = list(args[0])
        return list(dargs[0])[items.index(z)]
    return dargs[list(args).index(z)]


def grad_of_builtin_sum(g, iterable):
    """Adjoint of the items of sum(iterable): each item receives g (a dict's
    items are its keys, which carry no derivative)."""
    if isinstance(iterable, dict):
        return zeros_like(iterable)
    if isinstance(iterable, np.ndarray):
        return np.broadcast_to(g, iterable.shape).copy() if np.ndim(g) == iterable.ndim - 1 else np.broadcast_to(g, iterable.shape)
    items = [unbroadcast(g, v) for v in iterable]
    return GradTuple(items) if isinstance(iterable, tuple) else GradList(items)


def sum_of_item_grads(ditems, g, iterable):
    """Adjoint of ``g`` in ``grad_of_builtin_sum(g, iterable)`` given the
    adjoints ``ditems`` of the items (None meaning zero)."""
    if isinstance(iterable, np.ndarray):
        return unbroadcast(ditems, g)
    total = zeros_like(g)
    if isinstance(iterable, dict):
        return total
    for part in ditems:
        if part is not None:
            total = total + broadcast_like(part, g)
    return total


@adjoint(builtins.sum)
def sum_(z, iterable, start=0):
    d[iterable] = grad_of_builtin_sum(d[z], iterable)
    d[start] = unbroadcast(d[z], start)


def tangent_of_builtin_sum(t, dstart, iterable):
    """Tangent of ``sum(iterable, start)`` given the tangents of ``iterable``
    and ``start`` (a dict's items are its keys, which carry none)."""
    if isinstance(iterable, dict):
        return dstart
    return sum(t, dstart)


@tangent_rule(builtins.sum)
def t_sum(z, iterable, start=0):
    d[z] = tangent_of_builtin_sum(d[iterable], d[start], iterable)


@adjoint(tangent_of_builtin_sum)
def a_tangent_of_builtin_sum(z, t, dstart, iterable):
    d[t] = grad_of_builtin_sum(d[z], iterable)
    d[dstart] = unbroadcast(d[z], dstart)


@tangent_rule(tangent_of_builtin_sum)
def t_tangent_of_builtin_sum(z, t, dstart, iterable):
    d[z] = tangent_of_builtin_sum(d[t], d[dstart], iterable)


def grad_of_items(g, iterable):
    """Adjoint of ``list(iterable)`` or ``tuple(iterable)`` given the adjoint
    ``g`` of the result (a list of item adjoints, None meaning zero): an
    array shaped like ``iterable`` when it is an array (its items are its
    rows), else a GradList/GradTuple like it; a dict's items are its keys,
    which carry no derivative (``sorted(params)``)."""
    if isinstance(iterable, dict):
        return zeros_like(iterable)
    items = list(iterable)
    parts = [zeros_like(v) if gi is None else gi for gi, v in zip(g, items)]
    if isinstance(iterable, np.ndarray):
        out = zeros_like(iterable)
        for k, part in enumerate(parts):
            out[k] = part
        return out
    return GradTuple(parts) if isinstance(iterable, tuple) else GradList(parts)


def item_grads(dout, g):
    """Adjoint of ``g`` in ``grad_of_items(g, iterable)`` given the adjoint
    ``dout`` of its result: the item adjoints, as a list like ``g`` (zeros
    for a dict's, whose items are its keys; the backward pass reads them
    one by one, so not None)."""
    parts = [zeros_like(v) for v in g] if isinstance(dout, dict) else list(dout)
    return GradTuple(parts) if isinstance(g, tuple) else GradList(parts)


def items_tangent(t, iterable, kind):
    """Tangent of ``kind(iterable)`` (``kind`` list or tuple) given the
    tangent ``t`` of ``iterable``: the tangents of its items (none for a
    dict's keys)."""
    if isinstance(iterable, dict):
        return kind(zeros_like(k) for k in iterable)
    if isinstance(iterable, np.ndarray) and np.shape(t) != iterable.shape:
        t = np.broadcast_to(t, iterable.shape).copy()  # a zero kept as a number
    return kind(t)


@adjoint(builtins.list, builtins.tuple)
def list_(z, iterable=()):
    d[iterable] = grad_of_items(d[z], iterable)


@tangent_rule(builtins.list)
def t_list(z, iterable=()):
    d[z] = items_tangent(d[iterable], iterable, list)


@tangent_rule(builtins.tuple)
def t_tuple(z, iterable=()):
    d[z] = items_tangent(d[iterable], iterable, tuple)


# Rules for the helpers above, so that gradients calling them can be
# differentiated again (forward or reverse over reverse).


@linear(grad_of_items)
def l_grad_of_items(out, g, iterable):
    return grad_of_items(g, iterable), item_grads(d[out], g)


@linear(item_grads)
def l_item_grads(out, dout, g):
    return item_grads(dout, g), grad_of_items(d[out], dout)


@linear(items_tangent)
def l_items_tangent(out, t, iterable, kind):
    return items_tangent(t, iterable, kind), grad_of_items(d[out], iterable)


@linear(grad_of_extremum)
def l_grad_of_extremum(out, g, z, args, pick_max):
    return grad_of_extremum(g, z, args, pick_max), grad_of_chosen(d[out], g, z, args)


@linear(grad_of_chosen)
def l_grad_of_chosen(out, dargs, g, z, args):
    return grad_of_chosen(dargs, g, z, args), grad_of_extremum(d[out], z, args, True)


@adjoint(tangent_of_extremum)
def a_tangent_of_extremum(out, dargs, z, args):
    d[dargs] = grad_of_extremum(d[out], z, args, True)


@linear(grad_of_builtin_sum)
def l_grad_of_builtin_sum(z, g, iterable):
    return grad_of_builtin_sum(g, iterable), sum_of_item_grads(d[z], g, iterable)


@linear(sum_of_item_grads)
def l_sum_of_item_grads(z, ditems, g, iterable):
    return sum_of_item_grads(ditems, g, iterable), grad_of_builtin_sum(d[z], iterable)


# ---------------------------------------------------------------------- math
# (The functions math shares with NumPy, sin to atan, are declared once with
# their NumPy counterparts in numpy_rules.py.)


@adjoint(math.log)
def log(z, x, base=math.e):
    d[x] = d[z] / (x * math.log(base))
    d[base] = -d[z] * z / (base * math.log(base))


@tangent_rule(math.log)
def t_log(z, x, base=math.e):
    d[z] = d[x] / (x * math.log(base)) - d[base] * z / (base * math.log(base))


@adjoint(math.atan2)
def atan2(z, y, x):
    d[y] = d[z] * x / (x * x + y * y)
    d[x] = -d[z] * y / (x * x + y * y)


@tangent_rule(math.atan2)
def t_atan2(z, y, x):
    d[z] = (d[y] * x - d[x] * y) / (x * x + y * y)


@adjoint(math.pow)
def mpow(z, x, y):
    d[x] = d[z] * y * math.pow(x, y - 1)
    d[y] = d[z] * z * math.log(x) if x > 0 else 0.0


@tangent_rule(math.pow)
def t_mpow(z, x, y):
    d[z] = d[x] * y * math.pow(x, y - 1) + (d[y] * z * math.log(x) if x > 0 else 0.0)


# At the origin the derivative is taken as 0, as np.hypot's (0 / 0 raised or
# gave nan there, also where the arguments are zero for every input).
@adjoint(math.hypot)
def hypot(z, x, y):
    d[x] = d[z] * x / z if z != 0 else 0.0
    d[y] = d[z] * y / z if z != 0 else 0.0


@tangent_rule(math.hypot)
def t_hypot(z, x, y):
    d[z] = (d[x] * x + d[y] * y) / z if z != 0 else 0.0


@elementwise(math.erf)
def erf(z, x):
    return 2.0 / math.sqrt(math.pi) * math.exp(-x * x)


@elementwise(math.erfc)
def erfc(z, x):
    return -2.0 / math.sqrt(math.pi) * math.exp(-x * x)


nondifferentiable(
    builtins.len, builtins.int, builtins.bool, builtins.slice, builtins.round, builtins.range,
    builtins.isinstance, builtins.print, builtins.type, builtins.str, builtins.repr,
    builtins.hasattr, builtins.id,
    operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne,
    operator.not_, operator.floordiv, operator.and_, operator.or_,
    operator.is_, operator.is_not, operator.contains,
    math.floor, math.ceil, math.trunc, math.isnan, math.isinf, math.isfinite,
    math.copysign,
)
# (enumerate and zip are not here: their items carry derivatives. Loops over
# them are read by index; list(zip(a, b)) and the like raise NoDerivativeError.)


nondifferentiable(sort_order, keys_of)


# ``dict(d)``: a copy of a dict (as ``d.copy()`` and ``{**d}``). ``dict(pairs)`` of
# differentiated values is refused when the derivative runs.


def copied_mapping(g, mapping):
    """The adjoint of ``dict(mapping)`` given the copy's adjoint ``g``: the
    same dict adjoint (a copy of a dict reads every value once)."""
    if not isinstance(mapping, dict):
        raise TangentError("dict(...) of key-value pairs that carry derivatives is not supported; build the dict "
                           "with a comprehension, {k: v for k, v in pairs}")
    return g


@linear(builtins.dict)
def dict_copy(z, mapping):
    return copied_mapping(mapping, mapping), copied_mapping(d[z], mapping)


@linear(copied_mapping)
def l_copied_mapping(z, g, mapping):
    return copied_mapping(g, mapping), copied_mapping(d[z], mapping)
