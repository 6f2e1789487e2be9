"""Checking derivatives against finite differences: ``check_grads``.

For users who register their own rules (``@tangent.adjoint``,
``@tangent.tangent_rule``) or who want to trust a derivative before training
on it. Modelled on autograd's ``check_grads``. Takes a function and arguments
(floats, float arrays, and dicts, lists and tuples of them); gives nothing,
or raises ``AssertionError`` naming the mode, the argument and the largest
error. Assumes the function is smooth enough at the arguments for central
finite differences (computed in float64).
"""

from __future__ import annotations

import inspect
from typing import Callable, Sequence

import numpy as np

from . import api
from .jacobians import rebuild, with_defaults

__all__ = ["check_grads"]


# ---------------------------------------------------------------- pytrees of floats and arrays


def _is_leaf(value) -> bool:
    return isinstance(value, (float, int, np.ndarray, np.number)) and not isinstance(value, (bool, np.bool_))


def _differentiable(value) -> bool:
    """Floats, float arrays, and dicts/lists/tuples of them (ints are not)."""
    if isinstance(value, dict):
        return bool(value) and all(_differentiable(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return bool(value) and all(_differentiable(v) for v in value)
    if isinstance(value, (float, np.floating, np.complexfloating)):
        return True
    return isinstance(value, np.ndarray) and value.dtype.kind in "fc"


def _leaves(value, like=None, path=""):
    """(path, leaf) pairs of ``value`` in the order of ``like``'s structure."""
    like = value if like is None else like
    if isinstance(like, dict):
        if not isinstance(value, dict):
            raise AssertionError(f"expected a dict at {path or 'the top'}, got {type(value).__name__}")
        for key in like:
            if key not in value:
                raise AssertionError(f"missing key {key!r} at {path or 'the top'}")
            yield from _leaves(value[key], like[key], f"{path}[{key!r}]")
    elif isinstance(like, (list, tuple)):
        if not isinstance(value, (list, tuple)) or len(value) != len(like):
            raise AssertionError(f"expected a sequence of {len(like)} at {path or 'the top'}, got {value!r:.80}")
        for k, (item, item_like) in enumerate(zip(value, like)):
            yield from _leaves(item, item_like, f"{path}[{k}]")
    else:
        if np.shape(value) != np.shape(like):
            raise AssertionError(f"shape {np.shape(value)} at {path or 'the top'}, expected {np.shape(like)}")
        yield path, value


def _flat(value, like=None) -> np.ndarray:
    parts = [np.ravel(np.asarray(leaf, dtype=np.result_type(float, np.asarray(leaf).dtype)))
             for _, leaf in _leaves(value, like)]
    return np.concatenate(parts) if parts else np.zeros(0)


def _paths(like) -> list[str]:
    out = []
    for path, leaf in _leaves(like):
        if np.ndim(leaf):
            out += [f"{path}[{', '.join(map(str, index))}]" for index in np.ndindex(np.shape(leaf))]
        else:
            out.append(path)
    return out


def _rebuild(like, flat: np.ndarray, float64: bool = True):
    """A value structured like ``like`` holding ``flat``'s numbers."""
    def leaf(item, chunk):
        if isinstance(item, np.ndarray):
            dtype = np.result_type(float, item.dtype) if float64 else item.dtype
            return chunk.reshape(item.shape).astype(dtype)
        value = chunk[0]
        return complex(value) if np.iscomplexobj(value) else float(value)

    return rebuild(like, flat, leaf)


def _snapshot(value):
    if isinstance(value, dict):
        return {k: _snapshot(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_snapshot(v) for v in value)
    if isinstance(value, np.ndarray):
        return value.copy()
    return value


def _same(a, b) -> bool:
    if isinstance(b, dict):
        return isinstance(a, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in b)
    if isinstance(b, (list, tuple)):
        return isinstance(a, (list, tuple)) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    return a is b or a == b or (a != a and b != b)


# ---------------------------------------------------------------- the checks


def check_grads(f: Callable, *args, modes: Sequence[str] = ("reverse", "forward"), order: int = 2,
                wrt: int | Sequence[int] | None = None, rtol: float = 1e-5, atol: float = 1e-6,
                seed: int = 0) -> None:
    """Check Tangent's derivatives of ``f`` at ``args`` against finite differences.

    For each argument in ``wrt`` (by default every argument that is a float,
    a float array, or a dict/list/tuple of them), and each mode:

    * ``"reverse"``: ``tangent.vjp(f)`` with a random seed ``u`` against
      central finite differences of ``<u, f>`` (each coordinate for small
      arguments, random directions for large ones);
    * ``"forward"``: ``tangent.jvp(f)`` along a random tangent ``v`` against
      the finite-difference directional derivative;
    * both: ``<u, J v> == <J^T u, v>``;
    * with ``order=2`` and a scalar-valued ``f``: ``tangent.hvp(f)`` (forward
      mode) and the vjp of ``tangent.grad(f)`` (reverse mode) against finite
      differences of the gradient;
    * no call changes an argument, a seed or a tangent vector.

    Finite differences are central, Richardson-extrapolated and computed in
    float64. Raises ``AssertionError`` naming the mode, the argument and the
    largest error. Example::

        @tangent.adjoint(cube)
        def dcube(result, x):
            d[x] = d[result] * 3 * x * x

        def f(x):
            return np.sum(cube(x))

        tangent.testing.check_grads(f, np.array([0.5, -1.0, 2.0]))
    """
    for mode in modes:
        if mode not in ("reverse", "forward"):
            raise ValueError(f"modes must be 'reverse' and/or 'forward', got {mode!r}")
    args = with_defaults(f, tuple(args))
    names = _parameter_names(f, len(args))
    if wrt is None:
        wrt = tuple(i for i, a in enumerate(args) if _differentiable(a))
    wrt = (wrt,) if isinstance(wrt, int) else tuple(wrt)
    label = getattr(f, "__qualname__", repr(f))
    rng = np.random.default_rng(seed)
    out = f(*args)
    out_like = out if not isinstance(out, (int, float)) else float(out)
    scalar = np.ndim(out) == 0 and _is_leaf(out)
    u = _rebuild(out_like, rng.normal(size=_flat(out_like).size))
    checked_call = _checked_call(args, names, label)

    for i in wrt:
        name = f"argument {i} ({names[i]})"
        x = args[i]
        flat_x = _flat(x)
        v = _rebuild(x, rng.normal(size=flat_x.size), float64=False)

        def along(direction, step, i=i, x=x, flat_x=flat_x):
            moved = list(_float64(args))
            moved[i] = _rebuild(x, flat_x + step * direction)
            return _flat(f(*moved), out_like)

        jv_fd = _directional(along, _flat(v))
        vjp_value = jvp_value = None
        if "reverse" in modes:
            vjp_value = _check_reverse(f, args, i, name, u, along, rng, label, rtol, atol, checked_call)
        if "forward" in modes:
            jvp_value = checked_call(f"jvp wrt {name}", v, api.jvp(f, wrt=i), *args, v)
            _compare(label, f"forward mode (jvp) wrt {name}", _flat(jvp_value, out_like), jv_fd, rtol, atol,
                     _paths(out_like))
        if vjp_value is not None and jvp_value is not None:
            lhs = _flat(u) @ _flat(jvp_value, out_like)
            rhs = _flat(vjp_value, x) @ _flat(v)
            _compare(label, f"forward/reverse consistency <u, J v> == <J^T u, v> wrt {name}",
                     np.array([lhs]), np.array([rhs]), rtol, atol)
        if order >= 2 and scalar:
            _check_second_order(f, args, i, name, x, v, modes, label, rtol, atol, checked_call)


def _checked_call(args, names, label) -> Callable:
    """``checked_call(what, vector, derivative, *call_args)``: the value of
    ``derivative(*call_args)``, raising naming ``what`` when the call changed
    an argument (as snapshotted now) or ``vector`` (its seed or tangent)."""
    before = _snapshot(args)

    def checked_call(what, vector, derivative, *call_args):
        vector_before = _snapshot(vector)
        value = derivative(*call_args)
        if not _same(list(args), list(before)):
            changed = [names[k] for k in range(len(args)) if not _same(args[k], before[k])]
            raise AssertionError(f"check_grads({label}): {what} changed the argument(s) {', '.join(changed)}")
        if not _same(vector, vector_before):
            raise AssertionError(f"check_grads({label}): {what} changed its seed or tangent vector")
        return value

    return checked_call


def _check_reverse(f, args, i, name, u, along, rng, label, rtol, atol, checked_call):
    """Check ``vjp(f, wrt=i)`` with the seed ``u``; returns its value."""
    x = args[i]
    flat_x = _flat(x)
    vjp_value = checked_call(f"vjp wrt {name}", u, api.vjp(f, wrt=i), *args, u)
    got = _flat(vjp_value, x)
    flat_u = _flat(u)
    if flat_x.size <= 64:
        expected = np.array([flat_u @ _directional(along, e) for e in np.eye(flat_x.size)])
        _compare(label, f"reverse mode (vjp) wrt {name}", got, expected, rtol, atol, _paths(x))
    else:
        for _ in range(3):
            direction = rng.normal(size=flat_x.size)
            _compare(label, f"reverse mode (vjp, projected on a random direction) wrt {name}",
                     np.array([got @ direction]), np.array([flat_u @ _directional(along, direction)]),
                     rtol, atol)
    return vjp_value


def _check_second_order(f, args, i, name, x, v, modes, label, rtol, atol, checked_call):
    gradient = api.grad(f, wrt=i)
    flat_x = _flat(x)

    def gradient_along(direction, step):
        moved = list(_float64(args))
        moved[i] = _rebuild(x, flat_x + step * direction)
        return _flat(gradient(*moved), x)

    expected = _directional(gradient_along, _flat(v))
    if "forward" in modes:
        got = checked_call(f"hvp wrt {name}", v, api.hvp(f, wrt=i), *args, v)
        _compare(label, f"second order (hvp, forward over reverse) wrt {name}", _flat(got, x), expected, rtol, atol,
                 _paths(x))
    if "reverse" in modes:
        # reverse over reverse: H^T v = H v
        got = checked_call(f"vjp of grad wrt {name}", v, api.vjp(gradient, wrt=i), *args, 1.0, v)
        _compare(label, f"second order (vjp of grad, reverse over reverse) wrt {name}", _flat(got, x), expected,
                 rtol, atol, _paths(x))


def _float64(args):
    return [_rebuild(a, _flat(a)) if _differentiable(a) else a for a in args]


def _directional(along: Callable, direction: np.ndarray) -> np.ndarray:
    """d/dt along(direction, t) at 0: central differences at steps h and h/2,
    Richardson-extrapolated (error O(h^4))."""
    scale = max(1.0, float(np.max(np.abs(direction)))) if direction.size else 1.0
    h = 1e-3 / scale

    def central(step):
        return (along(direction, step) - along(direction, -step)) / (2 * step)

    return (4.0 * central(h / 2) - central(h)) / 3.0


def _compare(label, what, got, expected, rtol, atol, paths=None):
    got, expected = np.asarray(got), np.asarray(expected)
    if got.shape != expected.shape:
        raise AssertionError(f"check_grads({label}): {what}: {got.size} values, expected {expected.size}")
    error = np.abs(got - expected)
    bad = ~(error <= atol + rtol * np.abs(expected))
    if np.any(bad):
        k = int(np.argmax(np.where(bad, error, -1.0)))
        where = f" at {paths[k]}" if paths is not None and k < len(paths) and paths[k] else ""
        raise AssertionError(
            f"check_grads({label}): {what} differs from finite differences: max error {float(np.max(error)):.3g}"
            f"{where} (got {got.flat[k]:.8g}, expected {expected.flat[k]:.8g}; rtol={rtol}, atol={atol})")


def _parameter_names(f, n) -> list[str]:
    try:
        names = [p.name for p in inspect.signature(f).parameters.values()]
    except (TypeError, ValueError):
        names = []
    return (names + [f"#{k}" for k in range(len(names), n)])[:max(n, len(names))]
