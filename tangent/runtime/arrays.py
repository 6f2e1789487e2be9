"""Arrays of other libraries (PyTorch tensors, JAX, Dask, CuPy and other
array-API arrays) in the runtime.

Takes values as generated code holds them; says which array library a value
belongs to (``library``: ``"torch"``, ``"jax"``, ``"dask"``, ``"cupy"``, the
package of another array-API array, or None for NumPy and plain Python
values) and gives, for those libraries, the versions of the runtime helpers
(zeros, unbroadcasting, indexing adjoints, broadcast tangents, ...) computed
with the value's own library (``namespace``: ``x.__array_namespace__()``
where it exists, ``dask.array`` for Dask), so that a derivative of torch code
is a tensor, a derivative of ``jax.numpy`` code is a JAX array (and can run
under ``jax.jit``), and a derivative over Dask data is a lazy Dask array:
nothing here converts to NumPy, reads a value or computes a graph.

Assumes the library of a value is already imported (the value exists); this
module never imports a library itself before such a value is seen. The
NumPy helpers call ``library`` first and take their own path when it says
None, so NumPy results are unchanged.
"""

from __future__ import annotations

import functools
import importlib
import math
import numbers

import numpy as np

_LIBRARIES = {"torch": "torch", "jax": "jax", "jaxlib": "jax", "tensorflow": "tensorflow", "dask": "dask",
              "cupy": "cupy"}
# the module of a library's functions, where it is not the package itself
_MODULES = {"jax": "jax.numpy", "dask": "dask.array"}
# libraries whose arrays NumPy's functions dispatch to (``__array_function__``)
PROTOCOL = frozenset({"dask", "cupy"})
_by_type: dict[type, str | None] = {}


def library(x) -> str | None:
    """``"torch"`` for a torch tensor, ``"jax"`` for a JAX array (or tracer),
    ``"dask"``, ``"cupy"``, or the top-level package of another array with an
    ``__array_namespace__`` (``"array_api_strict"``); else None (NumPy arrays
    and scalars, numbers, containers, objects).

    Example::

        library(dask.array.ones(3))   # "dask"
    """
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
        if found is None and hasattr(t, "__array_namespace__") and not issubclass(t, (np.ndarray, np.generic)):
            found = (t.__module__ or "").split(".")[0] or None
    _by_type[t] = found
    return found


def namespace(x):
    """The array library (module) of the array ``x``: ``torch``,
    ``jax.numpy``, ``dask.array``, ``cupy``, or ``x.__array_namespace__()``.

    Example::

        namespace(dask.array.ones(3)).sum   # dask.array.sum
    """
    name = library(x)
    if name in _LIBRARIES.values():
        return importlib.import_module(_MODULES.get(name, name))
    return x.__array_namespace__()


def is_lazy(x) -> bool:
    """Whether ``x`` is an array whose values are not at hand (Dask)."""
    return library(x) == "dask"


def asarray(x):
    """``np.asarray(x)``, except that an array of a library NumPy's functions
    dispatch to (Dask, CuPy) stays what it is: NumPy helpers applied to it
    then run in its library (no conversion, no computation).

    Example::

        asarray([1, 2])              # array([1, 2])
        asarray(dask.array.ones(3))  # the Dask array itself
    """
    return x if library(x) in PROTOCOL else np.asarray(x)


def _known(shape) -> bool:
    """Whether no length in ``shape`` is unknown (NaN: a Dask array after a
    boolean mask)."""
    return not any(isinstance(n, float) and math.isnan(n) for n in shape)


def same_shape(a, b) -> bool:
    """``a.shape == b.shape`` (of values or shapes), unknown lengths
    (NaN) counting as equal: a Dask array's adjoint is shaped like it."""
    sa, sb = tuple(getattr(a, "shape", a)), tuple(getattr(b, "shape", b))
    return len(sa) == len(sb) and all(x == y or not (_known((x,)) or _known((y,))) for x, y in zip(sa, sb))


def broadcast_to(g, shape, like):
    """``np.broadcast_to(g, shape)`` in the library of ``like`` (the array the
    result stands for), so that the adjoint of a Dask array is a Dask array
    with its chunks; NumPy's own for NumPy values and plain ones."""
    if library(like) is None and library(g) is None:
        return np.broadcast_to(g, shape)
    xp = namespace(like if library(like) is not None else g)
    g = g if library(g) is not None else xp.asarray(g)
    if library(like) == "dask" and not _known(shape):  # lengths known once computed
        return g + xp.zeros_like(like)
    if library(like) == "dask" and len(shape) == like.ndim and all(n == 1 for n in g.shape):
        return xp.broadcast_to(g, shape, chunks=like.chunks)
    return xp.broadcast_to(g, shape)


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


def _is_dtype(x, kinds: tuple[str, ...], numpy_kind) -> bool:
    """Whether the dtype of the (non-torch) array ``x`` is of the array-API
    ``kinds``: through ``xp.isdtype`` for libraries with their own dtypes."""
    if isinstance(x.dtype, np.dtype):  # JAX, Dask, CuPy: NumPy's dtypes
        return np.issubdtype(x.dtype, numpy_kind)
    return namespace(x).isdtype(x.dtype, kinds)


def is_inexact(x) -> bool:
    """Whether the tensor or array ``x`` holds floating or complex numbers."""
    if library(x) == "torch":
        return x.dtype.is_floating_point or x.dtype.is_complex
    if library(x) == "jax":
        return _jnp().issubdtype(x.dtype, _jnp().inexact)
    return _is_dtype(x, ("real floating", "complex floating"), np.inexact)


def is_complex(x) -> bool:
    """Whether the tensor or array ``x`` holds complex numbers."""
    if library(x) == "torch":
        return x.dtype.is_complex
    return _is_dtype(x, ("complex floating",), np.complexfloating)


def _float_dtype(xp):
    return getattr(xp, "float64", np.float64)


def zeros_like(x):
    """A zero adjoint shaped like the tensor ``x``, in its dtype (the
    default float dtype for integers and booleans)."""
    if library(x) == "torch":
        torch = _torch()
        return torch.zeros_like(x) if is_inexact(x) else torch.zeros(x.shape, device=x.device)
    if library(x) == "jax":
        jnp = _jnp()
        return jnp.zeros_like(x) if is_inexact(x) else jnp.zeros(x.shape)
    xp = namespace(x)  # zeros_like keeps Dask's chunks and CuPy's device
    return xp.zeros_like(x) if is_inexact(x) else xp.zeros_like(x, dtype=_float_dtype(xp))


def as_array(g, like):
    """``g`` (a number, or a tensor) as an array of ``like``'s library."""
    if library(g) is not None:
        return g
    if library(like) == "torch":
        torch = _torch()
        dtype = like.dtype if is_inexact(like) else torch.get_default_dtype()
        return torch.as_tensor(g, dtype=dtype, device=like.device)
    if library(like) == "jax":
        return _jnp().asarray(g)
    return namespace(like).asarray(g)


def sum_to_shape(g, shape):
    """``g`` summed over the axes broadcasting added to ``shape``."""
    gshape = tuple(g.shape)
    shape = tuple(shape)
    extra = len(gshape) - len(shape)
    axes = tuple(range(extra)) + tuple(extra + i for i, n in enumerate(shape) if n == 1 and gshape[extra + i] != 1)
    if library(g) == "torch":
        return (g.sum(dim=axes) if axes else g).reshape(shape)
    if library(g) == "jax":
        return _jnp().sum(g, axis=axes).reshape(shape)
    xp = namespace(g)
    return xp.reshape(xp.sum(g, axis=axes) if axes else g, shape)


def unbroadcast(g, like):
    """``runtime.unbroadcast`` for a tensor ``g`` or ``like``."""
    gshape = tuple(getattr(g, "shape", ()))
    lshape = tuple(getattr(like, "shape", ()))
    if gshape == lshape or same_shape(gshape, lshape):
        return g
    if library(g) is None:  # a number's adjoint broadcast to a tensor's shape
        return broadcast_like(g, like)
    if not lshape and library(like) is None:
        return g.sum() if library(g) in ("torch", "jax") else namespace(g).sum(g)
    return sum_to_shape(g, lshape)


def broadcast_like(g, like):
    """``g`` broadcast to the shape of the tensor ``like``."""
    g = as_array(g, like)
    if library(g) == "torch":
        return g.expand(like.shape)
    if library(g) == "jax":
        return _jnp().broadcast_to(g, like.shape)
    return broadcast_to(g, tuple(like.shape), like)


def _integer_index(part) -> bool:
    return isinstance(part, (slice, type(None), type(Ellipsis), numbers.Integral))


def grad_of_index(x, index, g):
    """Adjoint of ``x[index]`` for a tensor ``x`` (or a NumPy ``x`` whose
    read part has the adjoint ``g`` of another library: a parameter indexed
    in a product with Dask data): repeated indices accumulate."""
    if library(x) is None:
        xp = namespace(g)
        dtype = x.dtype if np.issubdtype(x.dtype, np.inexact) else _float_dtype(xp)
        x = xp.zeros(x.shape, dtype=dtype)
    out = zeros_like(x)
    if library(x) == "jax":
        return out.at[index].add(g)
    parts = index if isinstance(index, tuple) else (index,)
    if all(_integer_index(p) for p in parts):  # every element selected once
        out[index] = out[index] + g
        return out
    # any other index: where each selected element sits in x, repeats included
    if library(x) == "torch":
        torch = _torch()
        positions = torch.arange(out.numel(), device=out.device).reshape(out.shape)[index]
        g = as_array(g, out).expand(positions.shape)
        return out.reshape(-1).index_add(0, positions.reshape(-1), g.reshape(-1).to(out.dtype)).reshape(out.shape)
    xp = namespace(x)
    if not hasattr(xp, "bincount"):
        raise NotImplementedError(f"the adjoint of indexing a {library(x)} array with the index {index!r} "
                                  f"(which may repeat elements) needs bincount, which {xp.__name__} lacks")
    size = math.prod(out.shape)
    positions = xp.reshape(xp.arange(size), out.shape)[index]
    g = as_array(g, out)
    if not same_shape(g, positions):
        g = xp.broadcast_to(g, positions.shape)
    if positions.ndim != 1:  # (a boolean mask gives 1-D positions, of unknown length for Dask)
        positions, g = xp.reshape(positions, (-1,)), xp.reshape(g, (-1,))
    sums = xp.bincount(positions, weights=g, minlength=size)
    return xp.reshape(sums, out.shape).astype(out.dtype)


def zero_region(g, index):
    """The adjoint ``g`` with ``g[index]`` set to zero (a new tensor)."""
    if library(g) == "jax":
        return g.at[index].set(0)
    out = copy(g)
    out[index] = 0
    return out


def check_scalar_output(value) -> bool:
    """Whether a tensor result is one number (grad needs a scalar); a Dask
    array of unknown length (NaN in its shape) counts only when 0-d."""
    shape = tuple(value.shape)
    if any(isinstance(n, float) and math.isnan(n) for n in shape):
        return not shape
    return math.prod(shape) == 1


def all_finite(value) -> bool:
    """Whether the tensor holds no NaN or inf (True for JAX tracers, which
    hold no values under ``jax.jit``). A Dask array is computed for this
    (a reduction, streaming its chunks): the check is what the caller asked for."""
    if library(value) == "torch":
        return bool(_torch().isfinite(value).all())
    if library(value) == "jax":
        jnp = _jnp()
        try:
            return bool(jnp.isfinite(value).all())
        except Exception:  # a tracer (jax.errors.ConcretizationTypeError)
            return True
    xp = namespace(value)
    return bool(xp.all(xp.isfinite(value)))


def broadcast_tangent(t, like):
    """A tangent ``t`` broadcast to the shape of the tensor ``like``."""
    if tuple(getattr(t, "shape", ())) == tuple(like.shape):
        return t
    g = as_array(t, like)
    if library(g) == "torch":
        return g.expand(like.shape).clone()
    if library(g) == "jax":
        return _jnp().broadcast_to(g, like.shape)
    out = broadcast_to(g, tuple(like.shape), like)
    return out if library(out) == "dask" else copy(out)  # a writable array, not a broadcast view


def tangent_like(t, value):
    """The tangent ``t`` in ``value``'s floating dtype."""
    if library(t) is None or not is_inexact(value) or t.dtype == value.dtype:
        return t
    if library(t) == "torch":
        return t if t.dtype.is_complex and not value.dtype.is_complex else t.to(value.dtype)
    if library(t) != "jax" and is_complex(t) and not is_complex(value):
        return t  # never drop an imaginary part
    return t.astype(value.dtype) if hasattr(t, "astype") else namespace(t).astype(t, value.dtype)


def copy(t):
    """A copy of a tensor (JAX arrays are immutable: the array itself; a
    Dask array's copy is a new array object of the same graph, so writes
    into one leave the other alone)."""
    if library(t) == "torch":
        return t.clone()
    if library(t) == "jax":
        return t
    return t.copy() if hasattr(t, "copy") else namespace(t).asarray(t, copy=True)


def owned(g, held: set[int]):
    """The tensor ``g`` as a returned derivative: a copy when it is an
    input, seed or other returned value (its id in ``held``), or a view
    (torch's ``expand`` and CuPy's broadcasting give views that share
    elements); adds it to ``held``. JAX arrays are returned as they are."""
    lib = library(g)
    if lib == "jax":
        return g
    if lib == "torch":
        view = g._base is not None or not g.is_contiguous()
    else:
        view = lib != "dask" and getattr(g, "base", None) is not None
    if id(g) in held or view:
        g = copy(g)
    held.add(id(g))
    return g


def shares_memory(a, b) -> bool:
    """Whether writing into tensor ``a`` may change ``b``."""
    if library(a) == "torch" and library(b) == "torch":
        return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()
    if library(a) in (None, "torch", "jax") or library(b) != library(a):
        return False
    may_share = getattr(namespace(a), "may_share_memory", None)  # CuPy
    return a is b or (may_share is not None and bool(may_share(a, b)))


def _matrix_transpose(xp, a):
    if hasattr(xp, "swapaxes"):
        return xp.swapaxes(a, -1, -2)
    return xp.matrix_transpose(a)  # the array API's spelling


def matmul_adjoint(g, x, y, side: str):
    """Adjoint of ``x`` (``side="lhs"``) or ``y`` (``"rhs"``) in ``x @ y``
    for tensors, given the output adjoint ``g``: 1-D operands promoted as
    ``matmul`` does, batch dimensions summed out."""
    lib = library_of(x, y, g)
    xp = _torch() if lib == "torch" else _jnp() if lib == "jax" else namespace(next(v for v in (x, y, g) if library(v)))
    g = as_array(g, x if library(x) else y)
    if lib == "torch" and g.dtype != x.dtype and x.dtype == y.dtype:
        g = g.to(x.dtype)  # torch's matmul takes one dtype: an adjoint promoted by float64 constants
    if y.ndim == 1:
        g = g[..., None]
    if x.ndim == 1:
        g = g[..., None, :]
    if side == "lhs":
        y2 = y[:, None] if y.ndim == 1 else y
        gx = xp.matmul(g, _matrix_transpose(xp, y2))
        return unbroadcast(gx[..., 0, :] if x.ndim == 1 else gx, x)
    x2 = x[None, :] if x.ndim == 1 else x
    gy = xp.matmul(_matrix_transpose(xp, x2), g)
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
