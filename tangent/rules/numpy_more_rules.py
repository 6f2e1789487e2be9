"""Rules for more of NumPy: cumprod, pad, take, take_along_axis, diff,
split, array_split, convolve, sinc, median, nansum, nanmean, average, real,
imag and conj.

Contract: as in ``numpy_rules``, each primitive's reverse and forward rule
stand side by side and the math lives in the helpers; helpers are written in
the NumPy that Tangent differentiates (so second derivatives differentiate
their source), except the transposes of linear primitives that write into
arrays (``grad_take``, ``grad_pad``), which get rules from ``linear``.
Options whose derivative is not defined here (``np.pad`` modes other than
constant, edge, reflect, symmetric and wrap; ``np.average(returned=True)``;
``where=`` of the nan-reductions; ``np.median`` over several axes) raise
``NotDifferentiableError``: when the function is transformed where the option
is a constant in its code (``refuses_constants``), else when the derivative
runs; both name the user's line.

Complex values follow JAX's and autograd's convention (docs/complex.md): the
gradient of a real-valued f with respect to z = x + iy is
df/dx - i df/dy, the conjugate of the steepest-ascent direction, so that a
first-order change is Re(grad * dz).
"""

import builtins
import operator

import numpy as np

from ..runtime import unbroadcast
from . import adjoint, bilinear, d, elementwise, linear, nondifferentiable, tangent_rule
from .domain import refuse_if, refuses_constants
from .numpy_rules import _axes, _expand, grad_sort, grad_sum, piece_grads, tangent_sort

# =================================================================== helpers
# ------------------------------------------------------------------ cumprod


def _prefix_products(x):
    """For the last axis of ``x`` (length n), P[..., j, k] = the product of
    x_i over i <= k, i != j, for k >= j, and 0 for k < j: d cumprod_k / d x_j,
    exact with zeros."""
    n = np.shape(x)[-1]
    rows = np.where(np.eye(n) == 1, 1.0, x[..., None, :])
    return np.cumprod(rows, axis=-1) * np.triu(np.ones((n, n)))


def grad_cumprod(g, a, axis=None):
    """Adjoint of ``np.cumprod(a, axis)`` (O(n^2) per slice, exact with zeros)."""
    if axis is None:
        return np.reshape(np.sum(_prefix_products(np.ravel(a)) * np.ravel(g)[None, :], axis=-1), np.shape(a))
    moved = np.sum(_prefix_products(np.moveaxis(a, axis, -1)) * np.moveaxis(g, axis, -1)[..., None, :], axis=-1)
    return np.moveaxis(moved, -1, axis)


def tangent_cumprod(da, a, axis=None):
    """Tangent of ``np.cumprod(a, axis)`` along ``da``."""
    if axis is None:
        return np.sum(_prefix_products(np.ravel(a)) * np.ravel(da)[:, None], axis=-2)
    moved = np.sum(_prefix_products(np.moveaxis(a, axis, -1)) * np.moveaxis(da, axis, -1)[..., :, None], axis=-2)
    return np.moveaxis(moved, -1, axis)


# ---------------------------------------------------------------------- pad

_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def pad_mode_refusal(mode):
    """Why ``np.pad(mode=mode)`` is not differentiated (None: it is)."""
    if mode not in _PAD_MODES:
        return f"np.pad(mode={mode!r}) is not differentiated; modes with derivatives: {', '.join(_PAD_MODES)}"
    return None


def check_pad_mode(mode):
    """``mode``, refused unless np.pad's derivative in it is defined here."""
    refuse_if(pad_mode_refusal(mode) is not None, pad_mode_refusal(mode))
    return mode


def grad_pad(g, array, pad_width, mode="constant"):
    """Adjoint of ``array`` in ``np.pad(array, pad_width, mode)``: each
    element of ``g`` sent back to the element it copies (the same padding
    applied to the indices of ``array``), constants to none."""
    check_pad_mode(mode)
    shape = np.shape(array)
    index = np.reshape(np.arange(np.size(array)), shape)
    if mode == "constant":
        padded = np.pad(index, pad_width, mode="constant", constant_values=-1)
    else:
        padded = np.pad(index, pad_width, mode=mode)
    copied = padded >= 0
    flat = np.bincount(padded[copied], weights=np.asarray(g)[copied], minlength=np.size(array))
    return np.reshape(flat, shape)


def pad_mask(array, pad_width):
    """1.0 on the constant padding of ``np.pad(array, pad_width)``, else 0.0."""
    return np.pad(np.zeros(np.shape(array)), pad_width, mode="constant", constant_values=1.0)


def grad_pad_constant(g, array, pad_width, mode="constant", constant_values=0):
    """Adjoint of a scalar ``constant_values`` in ``np.pad``: the sum of ``g``
    over the padding."""
    refuse_if(mode != "constant" or np.ndim(constant_values) != 0,
              "np.pad: only a single number as constant_values is differentiated")
    return np.sum(g * pad_mask(array, pad_width))


# --------------------------------------------------------- take, split, diff


def _wrapped(indices, n, mode):
    """Indices into an axis of length n as ``np.take(mode=...)`` reads them."""
    if mode == "clip":
        return np.clip(indices, 0, n - 1)
    return np.asarray(indices) % n


def grad_take(g, a, indices, axis=None, mode="raise"):
    """Adjoint of ``np.take(a, indices, axis, mode=mode)``: ``g`` added
    at the indices (repeated indices accumulate)."""
    shape = np.shape(a)
    g = np.asarray(g)
    if axis is None:
        flat = np.zeros(np.size(a), dtype=np.result_type(g, 0.0))
        np.add.at(flat, np.ravel(_wrapped(indices, np.size(a), mode)), np.ravel(g))
        return np.reshape(flat, shape)
    ax = axis % len(shape)
    out = np.zeros(shape, dtype=np.result_type(g, 0.0))
    np.add.at(out, (slice(None),) * ax + (_wrapped(indices, shape[ax], mode),), g)
    return out


def grad_take_along_axis(g, arr, indices, axis=-1):
    """Adjoint of ``np.take_along_axis(arr, indices, axis)``: ``g`` added at
    the indices (repeated indices accumulate)."""
    g = np.asarray(g)
    if axis is None:
        flat = np.zeros(np.size(arr), dtype=np.result_type(g, 0.0))
        np.add.at(flat, np.asarray(indices) % np.size(arr), g)
        return np.reshape(flat, np.shape(arr))
    shape = np.shape(arr)
    ax = axis % len(shape)
    index = tuple(np.asarray(indices) % shape[ax] if i == ax
                  else np.reshape(np.arange(n), [n if j == i else 1 for j in range(len(shape))])
                  for i, n in enumerate(shape))
    out = np.zeros(shape, dtype=np.result_type(g, 0.0))
    np.add.at(out, index, g)
    return out


def grad_split(g, z, axis=0):
    """Adjoint of ``np.split``/``np.array_split``: the pieces' adjoints
    joined (a missing one is zero)."""
    return np.concatenate(piece_grads(g, z), axis=axis)


def _end_length(end, axis, ndim):
    """How many entries ``prepend``/``append`` add to the differenced axis."""
    if end is np._NoValue:
        return 0
    return 1 if np.ndim(end) == 0 else np.shape(end)[axis]


def _difference_transpose(g):
    """Adjoint of x -> np.diff(x) along the last axis: g shifted down minus g."""
    zeros = np.zeros(np.shape(g)[:-1] + (1,))
    return np.concatenate([zeros, g], axis=-1) - np.concatenate([g, zeros], axis=-1)


def grad_diff(g, a, n=1, axis=-1, prepend=np._NoValue, append=np._NoValue, part=1):
    """Adjoint of ``a`` (part 1), ``prepend`` (0) or ``append`` (2) in
    ``np.diff(a, n, axis, prepend, append)``."""
    full = np.moveaxis(g, axis, -1)
    for _ in range(n):
        full = _difference_transpose(full)
    before = _end_length(prepend, axis, np.ndim(a))
    length = np.shape(a)[axis]
    if part == 0:
        return np.reshape(np.sum(full[..., :before]), ()) if np.ndim(prepend) == 0 else np.moveaxis(full[..., :before], -1, axis)
    if part == 2:
        after = full[..., before + length:]
        return np.reshape(np.sum(after), ()) if np.ndim(append) == 0 else np.moveaxis(after, -1, axis)
    return np.moveaxis(full[..., before:before + length], -1, axis)


def tangent_diff(dx, a, n=1, axis=-1, prepend=np._NoValue, append=np._NoValue, part=1):
    """Tangent of ``np.diff`` along the tangent ``dx`` of ``a`` (part 1),
    ``prepend`` (0) or ``append`` (2), the others' tangents zero."""
    shape = list(np.shape(a))
    pieces = []
    for which, end in ((0, prepend), (1, a), (2, append)):
        if which != 1 and end is np._NoValue:
            continue
        end_shape = list(shape)
        end_shape[axis] = _end_length(end, axis, len(shape)) if which != 1 else shape[axis]
        if which == part:
            pieces.append(np.broadcast_to(dx, end_shape))
        else:
            pieces.append(np.zeros(end_shape))
    return np.diff(np.concatenate(pieces, axis=axis), n, axis)


# ---------------------------------------------------------------- convolve


def _full_adjoint(g, na, nv, mode):
    """The adjoint of ``np.convolve(.., mode)`` as that of mode='full': ``g``
    placed where NumPy cut its output from the full convolution."""
    full = na + nv - 1
    if mode == "full":
        start = 0
    elif mode == "same":
        start = (min(na, nv) - 1) // 2
    else:
        start = min(na, nv) - 1
    return np.concatenate([np.zeros(start), g, np.zeros(full - start - np.shape(g)[0])])


def grad_convolve_lhs(g, a, v, mode="full"):
    """Adjoint of ``a`` in ``np.convolve(a, v, mode)``: a correlation with v
    (written as a convolution with v reversed: ``np.correlate`` would
    conjugate a complex v)."""
    return np.convolve(_full_adjoint(g, np.size(a), np.size(v), mode), v[::-1], "valid")


def grad_convolve_rhs(g, a, v, mode="full"):
    """Adjoint of ``v`` in ``np.convolve(a, v, mode)``."""
    return np.convolve(_full_adjoint(g, np.size(a), np.size(v), mode), a[::-1], "valid")


# ------------------------------------------------------------- elementwise


def sinc_slope(x):
    """d sinc / dx = (cos(pi x) - sinc(x)) / x, by its series near 0."""
    small = np.abs(x) < 1e-3
    safe = np.where(small, 1.0, x)
    series = -(np.pi ** 2 / 3.0) * x * (1.0 - (np.pi * x) ** 2 / 10.0)
    return np.where(small, series, (np.cos(np.pi * x) - np.sinc(x)) / safe)


def grad_imag(g, val):
    """Adjoint of ``np.imag(val)``: -i g for complex ``val`` (the gradient of
    y is -i in the convention of docs/complex.md), 0 for real ``val``."""
    if np.iscomplexobj(val):
        return -1j * g
    return np.zeros(np.shape(val))


def abs_slope(x):
    """d|x|/dx: the sign of a real ``x``; for a complex ``x`` the conjugate
    of x / |x| (0 at 0), the gradient of |x| in docs/complex.md's convention."""
    if np.iscomplexobj(x):
        return np.conj(x) / np.where(x == 0, 1.0, np.abs(x))
    return np.sign(x)


def grad_real(g, val):
    """Adjoint of ``np.real(val)``: g, in ``val``'s (complex) dtype."""
    if np.iscomplexobj(val):
        return g + 0j
    return g


# -------------------------------------------------------------- reductions


def _median_weights(n):
    """Weights of the sorted values in a median of n: 1 at the middle (odd
    n), 1/2 at the two middle ones (even n)."""
    positions = np.arange(n)
    return 0.5 * (positions == (n - 1) // 2) + 0.5 * (positions == n // 2)


def median_axis_refusal(axis):
    if isinstance(axis, (tuple, list)):
        return "np.median over several axes is not differentiated; reshape the axes into one first"
    return None


def check_median_axis(axis):
    refuse_if(median_axis_refusal(axis) is not None, median_axis_refusal(axis))


def grad_median(g, a, axis=None):
    """Adjoint of ``np.median(a, axis)``: ``g`` at the middle element(s)
    of the sorted slice (ties broken by a stable sort)."""
    check_median_axis(axis)
    shape = np.shape(a)
    if axis is None:
        return grad_sort(g * _median_weights(np.size(a)), a, None)
    ax = axis % len(shape)
    weights = np.reshape(_median_weights(shape[ax]), [n if i == ax else 1 for i, n in enumerate(shape)])
    return grad_sort(_expand(g, shape, (ax,)) * weights, a, ax)


def tangent_median(da, a, axis=None, keepdims=False):
    """Tangent of ``np.median(a, axis, keepdims)`` along ``da``."""
    check_median_axis(axis)
    shape = np.shape(a)
    if axis is None:
        total = np.sum(tangent_sort(da, a, None) * _median_weights(np.size(a)))
        return np.reshape(total, (1,) * len(shape)) if keepdims else total
    ax = axis % len(shape)
    weights = np.reshape(_median_weights(shape[ax]), [n if i == ax else 1 for i, n in enumerate(shape)])
    return np.sum(tangent_sort(da, a, ax) * weights, axis=ax, keepdims=keepdims)


def nan_where_refusal(where):
    if where is not None:
        return "where= of np.nansum/np.nanmean is not differentiated; write np.nansum(np.where(where, a, 0.0)) instead"
    return None


def check_nan_where(where):
    refuse_if(where is not None, nan_where_refusal(where))


def nan_count(a, axis=None, keepdims=False):
    """Number of non-nan elements that a nan-reduction over ``axis`` combines."""
    return np.sum(~np.isnan(a), axis=axis, keepdims=keepdims)


def grad_nansum(g, a, axis=None, where=None):
    """Adjoint of ``np.nansum(a, axis)``: ``g`` broadcast, 0 at the nans."""
    check_nan_where(where)
    return np.where(np.isnan(a), 0.0, grad_sum(g, a, axis))


def tangent_nansum(da, a, axis=None, keepdims=False, where=None):
    """Tangent of ``np.nansum(a, axis, keepdims)``: the sum of ``da`` off the nans."""
    check_nan_where(where)
    return np.sum(np.where(np.isnan(a), 0.0, da), axis=axis, keepdims=keepdims)


def grad_nanmean(g, a, axis=None, keepdims=False, where=None):
    """Adjoint of ``np.nanmean(a, axis)``."""
    return grad_nansum(g / nan_count(a, axis, keepdims), a, axis, where)


def tangent_nanmean(da, a, axis=None, keepdims=False, where=None):
    """Tangent of ``np.nanmean(a, axis, keepdims)``."""
    return tangent_nansum(da, a, axis, keepdims, where) / nan_count(a, axis, keepdims)


def average_weights(a, weights, axis):
    """``weights`` of ``np.average`` shaped to broadcast against ``a`` (ones
    for None; a 1-D array along ``axis``)."""
    if weights is None:
        return np.ones(np.shape(a))
    if np.ndim(weights) == 1 and np.ndim(a) > 1:
        ax = axis % np.ndim(a)
        return np.reshape(weights, [np.shape(a)[ax] if i == ax else 1 for i in range(np.ndim(a))])
    return weights


def returned_refusal(returned):
    if returned:
        return "np.average(returned=True) is not differentiated; compute the sum of the weights apart"
    return None


def check_returned(returned):
    refuse_if(bool(returned), returned_refusal(returned))


def _weight_total(a, w, axes, keepdims):
    return np.sum(np.broadcast_to(w, np.shape(a)), axis=axes, keepdims=keepdims)


def grad_average(g, a, axis=None, weights=None, returned=False):
    """Adjoint of ``a`` in ``np.average(a, axis, weights)``: g w / sum(w)."""
    check_returned(returned)
    axes = _axes(axis, np.ndim(a))
    w = average_weights(a, weights, axis)
    return np.broadcast_to(_expand(g, np.shape(a), axes) * w / _weight_total(a, w, axes, True), np.shape(a))


def grad_average_weights(g, z, a, axis=None, weights=None, returned=False):
    """Adjoint of ``weights`` in ``z = np.average(a, axis, weights)``:
    g (a - z) / sum(w), summed to the weights' shape."""
    check_returned(returned)
    axes = _axes(axis, np.ndim(a))
    w = average_weights(a, weights, axis)
    full = _expand(g, np.shape(a), axes) * (a - _expand(z, np.shape(a), axes)) / _weight_total(a, w, axes, True)
    return np.reshape(unbroadcast(full, w), np.shape(weights))


def tangent_average(da, a, axis=None, weights=None, returned=False, keepdims=False):
    """Tangent of ``np.average`` along the tangent ``da`` of ``a``."""
    check_returned(returned)
    axes = _axes(axis, np.ndim(a))
    w = average_weights(a, weights, axis)
    return np.sum(da * w, axis=axes, keepdims=keepdims) / _weight_total(a, w, axes, keepdims)


def tangent_average_weights(dw, z, a, axis=None, weights=None, returned=False, keepdims=False):
    """Tangent of ``z = np.average`` along the tangent ``dw`` of ``weights``."""
    check_returned(returned)
    axes = _axes(axis, np.ndim(a))
    w = average_weights(a, weights, axis)
    centred = a - _expand(z, np.shape(a), axes)
    return np.sum(average_weights(a, dw, axis) * centred, axis=axes, keepdims=keepdims) / _weight_total(
        a, w, axes, keepdims)


# ================================================================== rules


@adjoint(np.cumprod, np.ndarray.cumprod)
def cumprod(z, a, axis=None, dtype=None, out=None):
    d[a] = grad_cumprod(d[z], a, axis)


@tangent_rule(np.cumprod, np.ndarray.cumprod)
def t_cumprod(z, a, axis=None, dtype=None, out=None):
    d[z] = tangent_cumprod(d[a], a, axis)


@adjoint(np.pad)
@refuses_constants(mode=pad_mode_refusal)
def pad(z, array, pad_width, mode="constant", constant_values=0):
    d[array] = grad_pad(d[z], array, pad_width, mode)
    d[constant_values] = grad_pad_constant(d[z], array, pad_width, mode, constant_values)


@tangent_rule(np.pad)
@refuses_constants(mode=pad_mode_refusal)
def t_pad(z, array, pad_width, mode="constant", constant_values=0):
    d[z] = np.pad(d[array], pad_width, mode=check_pad_mode(mode)) + d[constant_values] * pad_mask(array, pad_width)


@linear(grad_pad)
@refuses_constants(mode=pad_mode_refusal)
def l_grad_pad(z, g, array, pad_width, mode="constant"):
    return grad_pad(g, array, pad_width, mode), np.pad(d[z], pad_width, mode=mode)


@linear(np.take, transpose=grad_take)
def take(z, a, indices, axis=None, out=None, mode="raise"):
    return np.take(a, indices, axis, mode=mode)


@linear(np.ndarray.take)
def take_method(z, a, indices, axis=None, out=None, mode="raise"):
    return np.take(a, indices, axis, mode=mode), grad_take(d[z], a, indices, axis, mode)


@linear(np.take_along_axis, transpose=grad_take_along_axis)
def take_along_axis(z, arr, indices, axis=-1):
    return np.take_along_axis(arr, indices, axis)


@linear(np.split, np.array_split)
def split(z, ary, indices_or_sections, axis=0):
    return np.split(ary, indices_or_sections, axis), grad_split(d[z], z, axis)


@adjoint(np.diff)
def diff(z, a, n=1, axis=-1, prepend=np._NoValue, append=np._NoValue):
    d[a] = grad_diff(d[z], a, n, axis, prepend, append, 1)
    d[prepend] = grad_diff(d[z], a, n, axis, prepend, append, 0)
    d[append] = grad_diff(d[z], a, n, axis, prepend, append, 2)


@tangent_rule(np.diff)
def t_diff(z, a, n=1, axis=-1, prepend=np._NoValue, append=np._NoValue):
    d[z] = (tangent_diff(d[a], a, n, axis, prepend, append, 1) + tangent_diff(d[prepend], a, n, axis, prepend, append, 0)
            + tangent_diff(d[append], a, n, axis, prepend, append, 2))


@bilinear(np.convolve, lhs=grad_convolve_lhs, rhs=grad_convolve_rhs)
def convolve(z, a, v, mode="full"):
    return np.convolve(a, v, mode)


@elementwise(np.sinc)
def sinc(z, x):
    return sinc_slope(x)


@adjoint(np.median)
@refuses_constants(axis=median_axis_refusal)
def median(z, a, axis=None, out=None, overwrite_input=False, keepdims=False):
    d[a] = grad_median(d[z], a, axis)


@tangent_rule(np.median)
@refuses_constants(axis=median_axis_refusal)
def t_median(z, a, axis=None, out=None, overwrite_input=False, keepdims=False):
    d[z] = tangent_median(d[a], a, axis, keepdims)


@adjoint(np.nansum)
@refuses_constants(where=nan_where_refusal)
def nansum(z, a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    d[a] = grad_nansum(d[z], a, axis, where)


@tangent_rule(np.nansum)
@refuses_constants(where=nan_where_refusal)
def t_nansum(z, a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    d[z] = tangent_nansum(d[a], a, axis, keepdims, where)


@adjoint(np.nanmean)
@refuses_constants(where=nan_where_refusal)
def nanmean(z, a, axis=None, dtype=None, out=None, keepdims=False, where=None):
    d[a] = grad_nanmean(d[z], a, axis, keepdims, where)


@tangent_rule(np.nanmean)
@refuses_constants(where=nan_where_refusal)
def t_nanmean(z, a, axis=None, dtype=None, out=None, keepdims=False, where=None):
    d[z] = tangent_nanmean(d[a], a, axis, keepdims, where)


@adjoint(np.average)
@refuses_constants(returned=returned_refusal)
def average(z, a, axis=None, weights=None, returned=False, keepdims=False):
    d[a] = grad_average(d[z], a, axis, weights, returned)
    d[weights] = grad_average_weights(d[z], z, a, axis, weights, returned)


@tangent_rule(np.average)
@refuses_constants(returned=returned_refusal)
def t_average(z, a, axis=None, weights=None, returned=False, keepdims=False):
    d[z] = (tangent_average(d[a], a, axis, weights, returned, keepdims)
            + tangent_average_weights(d[weights], z, a, axis, weights, returned, keepdims))


# Replaces builtins_rules' abs (d[z] * np.sign(x)), which is right for real x
# only: for complex x the reverse rule needs conj(x) / |x| and the forward
# rule the real part of the product.
@adjoint(builtins.abs, operator.abs, np.absolute)
def abs_(z, x):
    d[x] = d[z] * abs_slope(x)


@tangent_rule(builtins.abs, operator.abs, np.absolute)
def t_abs(z, x):
    d[z] = np.real(d[x] * abs_slope(x))


@linear(np.real, np.ndarray.real)
def real(z, val):
    return np.real(val), grad_real(d[z], val)


@linear(np.imag, np.ndarray.imag)
def imag(z, val):
    return np.imag(val), grad_imag(d[z], val)


@linear(np.conj, np.ndarray.conj, np.ndarray.conjugate)
def conj(z, x):
    return np.conj(x), np.conj(d[z])


nondifferentiable(check_pad_mode, pad_mask, check_median_axis, check_nan_where, nan_count, check_returned,
                  _median_weights, np.iscomplexobj, np.bincount)


# ``np.add.at(a, index, b)`` is desugared to ``a[...] = scatter_added(a, index, b)``
# (tangent/library_writes.py): a pure function, with rules.


def scatter_added(a, index, b):
    """A copy of ``a`` with ``b`` added at ``index`` (repeated indices add
    up, as ``np.add.at``).

    Example::

        scatter_added(np.zeros(3), np.array([0, 0, 2]), 1.0)   # array([2., 0., 1.])
    """
    out = np.array(a, dtype=np.result_type(a, b), copy=True)
    np.add.at(out, index, b)
    return out


def scatter_added_tangent(da, index, db, a):
    """The tangent of ``scatter_added(a, index, b)`` along ``da``, ``db``
    (either may be a zero number): ``scatter_added`` of the tangents."""
    out = np.array(np.broadcast_to(da, np.shape(a)), dtype=np.result_type(a, da, db), copy=True)
    np.add.at(out, index, db)
    return out


def gathered(g, index, b):
    """The adjoint of ``b`` in ``scatter_added(a, index, b)``: ``g`` read at
    ``index``, summed to ``b``'s shape."""
    return unbroadcast(g[index], b)


@adjoint(scatter_added)
def scatter_added_(z, a, index, b):
    d[a] = d[z]
    d[b] = gathered(d[z], index, b)


@tangent_rule(scatter_added)
def t_scatter_added(z, a, index, b):
    d[z] = scatter_added_tangent(d[a], index, d[b], a)


@adjoint(scatter_added_tangent)
def scatter_added_tangent_(z, da, index, db, a):
    d[da] = unbroadcast(d[z], da)
    d[db] = gathered(d[z], index, db)


@tangent_rule(scatter_added_tangent)
def t_scatter_added_tangent(z, da, index, db, a):
    d[z] = scatter_added_tangent(d[da], index, d[db], a)


@linear(gathered)
def l_gathered(z, g, index, b):
    return gathered(g, index, b), scatter_added_tangent(0.0, index, d[z], g)
