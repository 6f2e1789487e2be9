"""Checks for tests/test_user_programs_round7.py that also cover arguments
check_grads does not take: objects (their derivatives are dicts of their
attributes) and functions that write into their arguments.

Every derivative is compared with central finite differences in float64 of
``f`` called on deep copies of its arguments (so that a function writing
into an argument is checked as the mathematics it computes), and every call
of a derivative is checked to leave its arguments and vectors as they were
(np.array_equal against a deep copy taken before)."""

from __future__ import annotations

import copy

import numpy as np

import tangent


def _is_object(v) -> bool:
    return hasattr(v, "__dict__") and not isinstance(v, (np.ndarray, np.generic, type)) and not callable(v)


def float_leaves(v, path=()):
    """(path, leaf) of the floats and float arrays in ``v``; an object's by
    attribute name, a NamedTuple's by position."""
    if isinstance(v, dict):
        for k in v:
            yield from float_leaves(v[k], path + (k,))
    elif isinstance(v, (list, tuple)):
        for i, x in enumerate(v):
            yield from float_leaves(x, path + (i,))
    elif _is_object(v):
        for k in vars(v):
            yield from float_leaves(getattr(v, k), path + (k,))
    elif isinstance(v, (float, np.floating)) or isinstance(v, np.ndarray) and v.dtype.kind == "f":
        yield path, v


def get(tree, path):
    """The item at ``path`` of a derivative (objects' derivatives are dicts)."""
    for p in path:
        tree = getattr(tree, p) if _is_object(tree) else tree[p]
    return tree


def with_leaf(root, path, value):
    """A deep copy of ``root`` with ``value`` at ``path``."""
    root = copy.deepcopy(root)
    if not path:
        return value
    holder = get(root, path[:-1])
    last = path[-1]
    if _is_object(holder):
        setattr(holder, last, value)
    elif isinstance(holder, tuple):
        items = list(holder)
        items[last] = value
        new = type(holder)(*items) if hasattr(holder, "_fields") else tuple(items)
        return with_leaf(root, path[:-1], new)
    else:
        holder[last] = value
    return root


def tangent_like(v, rng):
    """A random tangent shaped like ``v`` (dicts of attributes for objects)."""
    if isinstance(v, dict):
        return {k: tangent_like(x, rng) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        items = [tangent_like(x, rng) for x in v]
        return type(v)(*items) if hasattr(v, "_fields") else type(v)(items)
    if _is_object(v):
        return {k: tangent_like(x, rng) for k, x in vars(v).items()}
    if isinstance(v, np.ndarray) and v.dtype.kind == "f":
        return rng.normal(size=v.shape).astype(v.dtype)
    if isinstance(v, (float, np.floating)):
        return float(rng.normal())
    return 0.0 if isinstance(v, (int, np.integer)) else None


def same(a, b) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    if _is_object(a):
        return type(a) is type(b) and same(vars(a), vars(b))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    return type(a) is type(b) and (a == b or a != a and b != b)


def call(derivative, *args):
    """derivative(*args), asserting that it changed none of them."""
    before = copy.deepcopy(args)
    out = derivative(*args)
    assert same(args, before), "the derivative changed its arguments"
    return out


def _f64(v):
    if isinstance(v, np.ndarray) and v.dtype.kind == "f":
        return v.astype(np.float64)
    return v


def _all_f64(v):
    if isinstance(v, dict):
        return {k: _all_f64(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        items = [_all_f64(x) for x in v]
        return type(v)(*items) if hasattr(v, "_fields") else type(v)(items)
    if _is_object(v):
        for k, x in vars(v).items():
            setattr(v, k, _all_f64(x))
        return v
    return float(v) if isinstance(v, np.float32) else _f64(v)


def directional(f, args, i, direction, h=1e-4):
    """d/dt f(args with args[i] + t * direction) at 0 (Richardson-extrapolated central differences)."""
    leaves = list(float_leaves(args[i]))

    def at(t):
        moved = [_all_f64(a) for a in copy.deepcopy(list(args))]  # (float32 arguments: differences in float64)
        x = moved[i]
        for path, leaf in leaves:
            step = np.asarray(get(direction, path), dtype=np.float64)
            new = _f64(leaf) + t * step
            x = with_leaf(x, path, new if isinstance(leaf, np.ndarray) else float(new))
        moved[i] = x
        return np.asarray(f(*moved), dtype=np.float64)

    def central(s):
        return (at(s) - at(-s)) / (2 * s)

    return (4.0 * central(h / 2) - central(h)) / 3.0


def fd_gradient(f, args, i):
    """The gradient of scalar ``f`` wrt ``args[i]``, leaf by leaf, as {path: array}."""
    out = {}
    for path, leaf in float_leaves(args[i]):
        g = np.zeros(np.shape(leaf))
        for k in np.ndindex(g.shape):
            e = np.zeros(np.shape(leaf))
            e[k] = 1.0
            direction = with_leaf(zero_tangent(args[i]), path, e if np.ndim(leaf) else 1.0)
            g[k] = directional(f, args, i, direction)
        out[path] = g
    return out


def zero_tangent(v):
    if isinstance(v, dict):
        return {k: zero_tangent(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        items = [zero_tangent(x) for x in v]
        return type(v)(*items) if hasattr(v, "_fields") else type(v)(items)
    if _is_object(v):
        return {k: zero_tangent(x) for k, x in vars(v).items()}
    if isinstance(v, np.ndarray):
        return np.zeros(v.shape)
    return 0.0


def close(got, expected, rtol, atol, what):
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape, (what, got.shape, expected.shape)
    assert np.allclose(got, expected, rtol=rtol, atol=atol), (what, got, expected)


def check(f, *args, wrt=None, rtol=1e-6, atol=1e-7, second=True, seed=0):
    """Check grad, value_and_grad, jvp, hvp and vjp of grad of ``f`` with
    respect to each argument in ``wrt`` (default: those holding floats)."""
    rng = np.random.default_rng(seed)
    value = f(*copy.deepcopy(args))
    scalar = np.ndim(value) == 0
    if wrt is None:
        wrt = [i for i, a in enumerate(args) if list(float_leaves(a))]
    f32 = any(getattr(leaf, "dtype", None) == np.float32 for a in args for _, leaf in float_leaves(a))
    if f32:
        rtol, atol = max(rtol, 1e-3), max(atol, 1e-4)
    for i in wrt:
        leaves = list(float_leaves(args[i]))
        v = tangent_like(args[i], rng)
        expected_jvp = directional(f, args, i, v)
        got = call(tangent.jvp(f, wrt=i), *args, v)
        close(got, expected_jvp, rtol, atol, f"jvp wrt {i}")
        if not scalar:
            u = np.asarray(rng.normal(size=np.shape(value)))
            got = call(tangent.vjp(f, wrt=i), *args, u)
            expected = fd_gradient(lambda *a: np.sum(np.asarray(f(*a)) * u), args, i)
            for path, g in expected.items():
                close(get(got, path), g, rtol, atol, f"vjp wrt {i} at {path}")
            continue
        got = call(tangent.grad(f, wrt=i), *args)
        out_value, got2 = call(tangent.value_and_grad(f, wrt=i), *args)
        close(out_value, value, 1e-12, 1e-12, "value_and_grad's value")
        expected = fd_gradient(f, args, i)
        for path, leaf in leaves:
            g = get(got, path)
            close(g, expected[path], rtol, atol, f"grad wrt {i} at {path}")
            close(get(got2, path), expected[path], rtol, atol, f"value_and_grad wrt {i} at {path}")
            if isinstance(leaf, np.ndarray):
                assert isinstance(g, np.ndarray) and g.dtype == leaf.dtype and g.shape == leaf.shape, \
                    (f"grad wrt {i} at {path}", type(g), getattr(g, "dtype", None), leaf.dtype)
                for _, other in float_leaves(args):
                    assert not (isinstance(other, np.ndarray) and np.shares_memory(g, other)), "aliases an argument"
        if not second:
            continue
        gradient = tangent.grad(f, wrt=i)
        gradient_along = directional(lambda *a: np.concatenate(
            [np.ravel(np.asarray(get(gradient(*a), p), dtype=np.float64)) for p, _ in leaves]), args, i, v)
        hv = call(tangent.hvp(f, wrt=i), *args, v)
        close(np.concatenate([np.ravel(get(hv, p)) for p, _ in leaves]), gradient_along, rtol * 10, atol * 10,
              f"hvp wrt {i}")
        if second == "hvp":
            continue
        hv = call(tangent.vjp(gradient, wrt=i), *args, 1.0, v)
        close(np.concatenate([np.ravel(get(hv, p)) for p, _ in leaves]), gradient_along, rtol * 10, atol * 10,
              f"vjp of grad wrt {i}")
