"""Jacobians and Hessians, for arguments and results that are pytrees.

Takes a derivative maker (``api.autodiff``, passed in so that this module sits
beside the API rather than under it) and a user's function; gives functions
computing the full Jacobian from one forward sweep per input element or one
reverse sweep per output element (whichever is fewer), and the Hessian as
the Jacobian, by forward sweeps, of the generated gradient (forward over
reverse). A pytree is a float, an array, or a dict / list / tuple of
pytrees; the Jacobian of a result leaf of shape ``O`` with respect to an
argument leaf of shape ``I`` has shape ``O + I``, and the Jacobians are
nested as JAX nests them: the result's structure outside, the argument's
inside (a tuple over the arguments for several ``wrt``). Default arguments
are filled in before the sweeps. Assumes every leaf of a differentiated
argument is a number or a float array (each element is an input).

Leaves may be tensors of another array library (torch, JAX, TensorFlow):
the seeds and tangents the sweeps pass are then tensors of the leaf's
library, dtype and device, and each Jacobian block is a tensor of its
argument leaf's library (else of its result leaf's), in that leaf's float
dtype. The blocks are assembled in NumPy (float64) in between.
"""

from __future__ import annotations

import importlib
import inspect
import math
from typing import Callable, Sequence

import numpy as np

from .errors import TangentError
from .runtime import arrays


def _shape(x) -> tuple:
    return tuple(x.shape) if arrays.library(x) is not None else np.shape(x)


def _to_numpy(x) -> np.ndarray:
    """A tensor of another library (or a number, an array) as a float64 NumPy array."""
    found = arrays.library(x)
    if found == "torch":
        x = x.detach().cpu().numpy()
    elif found == "tensorflow":
        x = x.numpy()
    return np.asarray(x, dtype=complex if np.iscomplexobj(x) else float)


def _like(values: np.ndarray, like):
    """``values`` as a tensor of ``like``'s library, device and float dtype."""
    found = arrays.library(like)
    if found == "torch":
        torch = importlib.import_module("torch")
        dtype = like.dtype if like.dtype.is_floating_point or like.dtype.is_complex else torch.get_default_dtype()
        return torch.as_tensor(values, dtype=dtype, device=like.device)
    if found == "tensorflow":
        tf = importlib.import_module("tensorflow")
        return tf.convert_to_tensor(values, dtype=like.dtype if like.dtype.is_floating or like.dtype.is_complex
                                    else tf.float64)
    jnp = importlib.import_module("jax.numpy")
    return jnp.asarray(values, dtype=like.dtype if jnp.issubdtype(like.dtype, jnp.inexact) else None)

__all__ = ["flatten", "hessian_of", "jacobian_of", "rebuild", "with_defaults"]


def rebuild(like, flat, leaf: Callable):
    """A value structured like ``like`` (numbers and arrays in nested dicts,
    lists and tuples) whose leaves are ``leaf(item, chunk)``: ``item`` the
    leaf of ``like``, ``chunk`` the next ``np.size(item)`` entries of ``flat``
    along its first axis. Example::

        rebuild({"w": np.ones(2), "b": 0.5}, np.arange(3.0), lambda item, c: c)
        # {"w": array([0., 1.]), "b": array([2.])}
    """
    position = 0

    def build(item):
        nonlocal position
        if isinstance(item, dict):
            return {k: build(v) for k, v in item.items()}
        if isinstance(item, (list, tuple)):
            return type(item)(build(v) for v in item)
        size = math.prod(_shape(item))
        chunk = flat[position:position + size]
        position += size
        return leaf(item, chunk)

    return build(like)


def flatten(tree) -> tuple[np.ndarray, Callable[[np.ndarray], object]]:
    """``(vector, unflatten)``: the leaves of ``tree`` as one float vector,
    and the function rebuilding a tree of the same structure from a vector
    (scalar leaves come back as floats, array leaves as arrays).

    Example::

        v, unflatten = flatten({"w": np.ones((2, 2)), "b": 0.5})   # v.size == 5
        unflatten(np.zeros(5))   # {"w": zeros((2, 2)), "b": 0.0}
    """
    flat: list[np.ndarray] = []

    def collect(node):
        if isinstance(node, dict):
            for k in node:
                collect(node[k])
        elif isinstance(node, (list, tuple)):
            for v in node:
                collect(v)
        elif arrays.library(node) is not None:
            flat.append(np.ravel(_to_numpy(node)))
        elif not isinstance(node, (int, float, np.number, np.ndarray)) or isinstance(node, bool):
            raise TangentError(f"cannot differentiate with respect to a {type(node).__name__} "
                               "(jacobian and hessian take numbers, arrays and dicts/lists/tuples of them)")
        else:
            flat.append(np.ravel(np.asarray(node, dtype=float)))

    collect(tree)
    vector = np.concatenate(flat) if flat else np.zeros(0)

    def leaf(item, chunk: np.ndarray):
        if arrays.library(item) is not None:
            return _like(chunk.reshape(_shape(item)), item)
        return chunk.reshape(np.shape(item)).copy() if isinstance(item, np.ndarray) else float(chunk[0])

    def unflatten(values: np.ndarray):
        return rebuild(tree, values, leaf)

    return vector, unflatten


def _leaf_shapes(tree) -> list[tuple]:
    if isinstance(tree, dict):
        return [s for k in tree for s in _leaf_shapes(tree[k])]
    if isinstance(tree, (list, tuple)):
        return [s for v in tree for s in _leaf_shapes(v)]
    return [_shape(tree)]


def _nest(matrix: np.ndarray, out_tree, in_tree):
    """The blocks of ``matrix`` (rows: result elements, columns: argument
    elements) as the result's structure of the argument's structure of
    arrays shaped result-leaf + argument-leaf."""
    in_shapes = _leaf_shapes(in_tree)
    assert sum(int(np.prod(s, dtype=int)) for s in in_shapes) == matrix.shape[1]

    def inner(out_item, block: np.ndarray):
        # the argument's elements are the block's columns
        def leaf(item, columns):
            values = columns.T.reshape(_shape(out_item) + _shape(item))
            for like in (item, out_item):
                if arrays.library(like) is not None:
                    return _like(values, like)
            return values

        return rebuild(in_tree, block.T, leaf)

    return rebuild(out_tree, matrix, inner)


def with_defaults(func: Callable, args: tuple, kwargs: dict | None = None) -> tuple:
    """Positional arguments with the function's defaults filled in, so that
    tangents or seeds can follow them. Example::

        with_defaults(lambda x, y=2.0: x * y, (1.0,))   # (1.0, 2.0)
    """
    if kwargs:
        raise TangentError(f"pass the arguments of {getattr(func, '__name__', 'f')} positionally "
                           f"(got {', '.join(kwargs)} by keyword)")
    bound = inspect.signature(func).bind(*args)
    bound.apply_defaults()
    return tuple(bound.args)


def jacobian_of(autodiff: Callable, func: Callable, wrt: int | Sequence[int], *, optimized: bool = True,
                mode: str = "auto") -> Callable:
    """The function ``(*args) -> Jacobian`` of ``func`` (see the module doc);
    ``mode`` "forward", "reverse" or "auto" (fewer sweeps).

    Example::

        J = jacobian_of(tangent.autodiff, f, 0)(x)       # f(x).shape + x.shape
        Jw, Jb = jacobian_of(tangent.autodiff, f, (0, 1))({"w": W}, b)
    """
    several = not isinstance(wrt, int)
    indices = tuple(wrt) if several else (wrt,)
    if mode not in ("auto", "forward", "reverse"):
        raise TangentError(f"mode={mode!r}: use 'auto', 'forward' or 'reverse'")

    def forward(args, tangent):
        tangents = tangent if several else (tangent,)
        return autodiff(func, indices, "forward", optimized=optimized, preserve_result=True)(*args, *tangents)

    def reverse(args, seed):
        return autodiff(func, indices, "reverse", optimized=optimized)(*args, seed)

    def jacobian(*args, **kwargs):
        args = with_defaults(func, args, kwargs)
        inputs = tuple(args[i] for i in indices) if several else args[indices[0]]
        x, unflatten_in = flatten(inputs)
        columns = []
        if mode != "reverse" and x.size:
            # the first forward sweep also gives the result: f runs once per sweep
            tangent, out = forward(args, unflatten_in(np.eye(x.size)[0]))
            columns.append(flatten(tangent)[0])
        else:
            out = func(*args)
        y, unflatten_out = flatten(out)
        if mode == "forward" or (mode == "auto" and x.size <= y.size):
            basis = np.eye(x.size)
            columns += [flatten(forward(args, unflatten_in(e))[0])[0] for e in basis[len(columns):]]
            matrix = np.stack(columns, axis=1) if columns else np.zeros((y.size, 0))
        else:
            rows = [flatten(reverse(args, unflatten_out(e)))[0] for e in np.eye(y.size)]
            matrix = np.stack(rows, axis=0) if rows else np.zeros((0, x.size))
        return _nest(matrix.reshape(y.size, x.size), out, inputs)

    jacobian.__name__ = f"jacobian_{getattr(func, '__name__', 'f')}"
    return jacobian


def hessian_of(autodiff: Callable, func: Callable, wrt: int | Sequence[int], *, optimized: bool = True) -> Callable:
    """The function ``(*args) -> Hessian`` of a scalar ``func``: the Jacobian,
    by forward sweeps, of its generated gradient (one Hessian-vector product
    per input element). For one array argument of shape ``I`` the Hessian
    has shape ``I + I``; for pytrees and several ``wrt`` it is nested as
    JAX's ``hessian`` nests it.

    Example::

        H = hessian_of(tangent.autodiff, f, 0)(x)
    """
    indices = tuple(wrt) if not isinstance(wrt, int) else (wrt,)
    gradient = autodiff(func, indices, "reverse", optimized=optimized, check_scalar=True)
    n = len(inspect.signature(func).parameters)
    derivative = jacobian_of(autodiff, gradient, wrt, optimized=optimized, mode="forward")

    def hessian(*args, **kwargs):
        args = with_defaults(func, args, kwargs)
        if len(args) != n:
            raise TangentError(f"hessian of {func.__name__} takes {n} arguments, got {len(args)}")
        return derivative(*args, 1.0)

    hessian.__name__ = f"hessian_{getattr(func, '__name__', 'f')}"
    return hessian
