"""Arrays of other libraries (PyTorch tensors, JAX arrays) in the runtime.

Takes values as generated code holds them; says which array library a value
belongs to (``library``: ``"torch"``, ``"jax"`` or None for NumPy and plain
Python values) and gives, for those libraries, the versions of the runtime
helpers (zeros, unbroadcasting, indexing adjoints, broadcast tangents, ...)
computed with the value's own library, so that a derivative of torch code
is a tensor and a derivative of ``jax.numpy`` code is a JAX array (and can
run under ``jax.jit``: nothing here converts to NumPy or reads a value).

Assumes the library of a value is already imported (the value exists); this
module never imports torch or jax itself before such a value is seen. The
NumPy helpers call ``library`` first and take their own path when it says
None, so NumPy results are unchanged.
"""

from __future__ import annotations

import functools
import importlib
import math
import numbers

_LIBRARIES = {"torch": "torch", "jax": "jax", "jaxlib": "jax", "tensorflow": "tensorflow"}
_by_type: dict[type, str | None] = {}


def library(x) -> str | None:
    """``"torch"`` for a torch tensor, ``"jax"`` for a JAX array (or tracer),
    else None (NumPy arrays, numbers, containers, objects)."""
    t = type(x)
    try:
        return _by_type[t]
    except KeyError:
        pass
    found = None
    if hasattr(t, "shape") and hasattr(t, "dtype"):  # arrays, not torch.Size or dtypes
        for klass in t.__mro__:
            package = (klass.__module__ or "").split(".")[0]
            if package in _LIBRARIES:
                found = _LIBRARIES[package]
                break
    _by_type[t] = found
    return found


def library_of(*values) -> str | None:
    """The library of the first value that has one (see ``library``)."""
    for value in values:
        found = library(value)
        if found is not None:
            return found
    return None


def _torch():
    return importlib.import_module("torch")


def _jnp():
    return importlib.import_module("jax.numpy")


def is_inexact(x) -> bool:
    """Whether the tensor or array ``x`` holds floating or complex numbers."""
    if library(x) == "torch":
        return x.dtype.is_floating_point or x.dtype.is_complex
    return _jnp().issubdtype(x.dtype, _jnp().inexact)


def zeros_like(x):
    """A zero adjoint shaped like the tensor ``x``, in its dtype (the
    default float dtype for integers and booleans)."""
    if library(x) == "torch":
        torch = _torch()
        return torch.zeros_like(x) if is_inexact(x) else torch.zeros(x.shape, device=x.device)
    jnp = _jnp()
    return jnp.zeros_like(x) if is_inexact(x) else jnp.zeros(x.shape)


def as_array(g, like):
    """``g`` (a number, or a tensor) as an array of ``like``'s library."""
    if library(g) is not None:
        return g
    if library(like) == "torch":
        torch = _torch()
        dtype = like.dtype if is_inexact(like) else torch.get_default_dtype()
        return torch.as_tensor(g, dtype=dtype, device=like.device)
    return _jnp().asarray(g)


def sum_to_shape(g, shape):
    """``g`` summed over the axes broadcasting added to ``shape``."""
    gshape = tuple(g.shape)
    shape = tuple(shape)
    extra = len(gshape) - len(shape)
    axes = tuple(range(extra)) + tuple(extra + i for i, n in enumerate(shape) if n == 1 and gshape[extra + i] != 1)
    if library(g) == "torch":
        return (g.sum(dim=axes) if axes else g).reshape(shape)
    return _jnp().sum(g, axis=axes).reshape(shape)


def unbroadcast(g, like):
    """``runtime.unbroadcast`` for a tensor ``g`` or ``like``."""
    gshape = tuple(getattr(g, "shape", ()))
    lshape = tuple(getattr(like, "shape", ()))
    if gshape == lshape:
        return g
    if library(g) is None:  # a number's adjoint broadcast to a tensor's shape
        return broadcast_like(g, like)
    if not lshape and library(like) is None:
        return g.sum()
    return sum_to_shape(g, lshape)


def broadcast_like(g, like):
    """``g`` broadcast to the shape of the tensor ``like``."""
    g = as_array(g, like)
    if library(g) == "torch":
        return g.expand(like.shape)
    return _jnp().broadcast_to(g, like.shape)


def _integer_index(part) -> bool:
    return isinstance(part, (slice, type(None), type(Ellipsis), numbers.Integral))


def grad_of_index(x, index, g):
    """Adjoint of ``x[index]`` for a tensor ``x``: repeated indices accumulate."""
    out = zeros_like(x)
    if library(x) == "jax":
        return out.at[index].add(g)
    parts = index if isinstance(index, tuple) else (index,)
    if all(_integer_index(p) for p in parts):  # every element selected once
        out[index] = out[index] + g
        return out
    # any other index: where each selected element sits in x, repeats included
    torch = _torch()
    positions = torch.arange(out.numel(), device=out.device).reshape(out.shape)[index]
    g = as_array(g, out).expand(positions.shape)
    return out.reshape(-1).index_add(0, positions.reshape(-1), g.reshape(-1).to(out.dtype)).reshape(out.shape)


def zero_region(g, index):
    """The adjoint ``g`` with ``g[index]`` set to zero (a new tensor)."""
    if library(g) == "jax":
        return g.at[index].set(0)
    out = g.clone()
    out[index] = 0
    return out


def check_scalar_output(value) -> bool:
    """Whether a tensor result is one number (grad needs a scalar)."""
    return math.prod(value.shape) == 1


def all_finite(value) -> bool:
    """Whether the tensor holds no NaN or inf (True for JAX tracers, which
    hold no values under ``jax.jit``)."""
    if library(value) == "torch":
        return bool(_torch().isfinite(value).all())
    jnp = _jnp()
    try:
        return bool(jnp.isfinite(value).all())
    except Exception:  # a tracer (jax.errors.ConcretizationTypeError)
        return True


def broadcast_tangent(t, like):
    """A tangent ``t`` broadcast to the shape of the tensor ``like``."""
    if tuple(getattr(t, "shape", ())) == tuple(like.shape):
        return t
    g = as_array(t, like)
    if library(g) == "torch":
        return g.expand(like.shape).clone()
    return _jnp().broadcast_to(g, like.shape)


def tangent_like(t, value):
    """The tangent ``t`` in ``value``'s floating dtype."""
    if library(t) is None or not is_inexact(value) or t.dtype == value.dtype:
        return t
    if library(t) == "torch":
        return t if t.dtype.is_complex and not value.dtype.is_complex else t.to(value.dtype)
    return t.astype(value.dtype)


def copy(t):
    """A copy of a tensor (JAX arrays are immutable: the array itself)."""
    return t.clone() if library(t) == "torch" else t


def owned(g, held: set[int]):
    """The torch tensor ``g`` as a returned derivative: a copy when it is an
    input, seed or other returned value (its id in ``held``), or a view
    (``expand`` gives views that share elements); adds it to ``held``."""
    if id(g) in held or g._base is not None or not g.is_contiguous():
        g = g.clone()
    held.add(id(g))
    return g


def shares_memory(a, b) -> bool:
    """Whether writing into tensor ``a`` may change ``b``."""
    if library(a) == "torch" and library(b) == "torch":
        return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()
    return False


def matmul_adjoint(g, x, y, side: str):
    """Adjoint of ``x`` (``side="lhs"``) or ``y`` (``"rhs"``) in ``x @ y``
    for tensors, given the output adjoint ``g``: 1-D operands promoted as
    ``matmul`` does, batch dimensions summed out."""
    xp = _torch() if library_of(x, y, g) == "torch" else _jnp()
    g = as_array(g, x if library(x) else y)
    if y.ndim == 1:
        g = g[..., None]
    if x.ndim == 1:
        g = g[..., None, :]
    if side == "lhs":
        y2 = y[:, None] if y.ndim == 1 else y
        gx = xp.matmul(g, xp.swapaxes(y2, -1, -2))
        return unbroadcast(gx[..., 0, :] if x.ndim == 1 else gx, x)
    x2 = x[None, :] if x.ndim == 1 else x
    gy = xp.matmul(xp.swapaxes(x2, -1, -2), g)
    return unbroadcast(gy[..., 0] if y.ndim == 1 else gy, y)


# ------------------------------------------------------------- TensorFlow
# TensorFlow tensors and variables: the helpers above delegate to runtime/tf.py
# (TensorFlow neither promotes dtypes nor writes into tensors).


def _or_tensorflow(helper):
    @functools.wraps(helper)
    def dispatch(*args):
        if library_of(*args) == "tensorflow":
            return getattr(importlib.import_module(f"{__package__}.tf"), helper.__name__)(*args)
        return helper(*args)

    return dispatch


for _helper in (is_inexact, zeros_like, as_array, sum_to_shape, unbroadcast, broadcast_like, grad_of_index,
                zero_region, all_finite, broadcast_tangent, tangent_like, copy, matmul_adjoint):
    globals()[_helper.__name__] = _or_tensorflow(_helper)
