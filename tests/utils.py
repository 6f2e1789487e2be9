"""Shared checking helpers: central finite differences in float64."""

from __future__ import annotations

import inspect

import numpy as np

import tangent


def as_float(value):
    if isinstance(value, dict):
        return {k: as_float(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(as_float(v) for v in value)
    if isinstance(value, (int, float)):
        return float(value)
    return np.array(value, dtype=float)


def _leaves(value, path=()):
    """(path, leaf) pairs of a pytree of floats/arrays."""
    if isinstance(value, dict):
        for k in value:
            yield from _leaves(value[k], path + (k,))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _leaves(v, path + (i,))
    else:
        yield path, value


def _replace(tree, path, new):
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(tree, dict):
        out = dict(tree)
        out[head] = _replace(tree[head], rest, new)
        return out
    items = list(tree)
    items[head] = _replace(tree[head], rest, new)
    return type(tree)(items)


def _get(tree, path):
    for p in path:
        tree = tree[p]
    return tree


def numeric_grad(f, args, index, eps=1e-6, seed=None):
    """Central finite-difference gradient of ``sum(seed * f(*args))`` with
    respect to ``args[index]`` (any pytree of floats and arrays)."""
    args = list(args)

    def scalar(a):
        out = f(*a)
        return float(np.sum(out * seed)) if seed is not None else float(out)

    target = args[index]
    result = target
    for path, leaf in _leaves(target):
        arr = np.array(leaf, dtype=float)
        g = np.zeros_like(arr)
        for k in np.ndindex(arr.shape):
            plus, minus = arr.copy(), arr.copy()
            plus[k] += eps
            minus[k] -= eps
            as_leaf = (lambda v: float(v)) if np.ndim(leaf) == 0 and not isinstance(leaf, np.ndarray) else (lambda v: v)
            args[index] = _replace(target, path, as_leaf(plus))
            fp = scalar(args)
            args[index] = _replace(target, path, as_leaf(minus))
            fm = scalar(args)
            g[k] = (fp - fm) / (2 * eps)
        args[index] = target
        result = _replace(result, path, g if isinstance(leaf, np.ndarray) else float(g))
    return result


def assert_tree_close(actual, expected, rtol=1e-5, atol=1e-6):
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"expected a dict gradient, got {type(actual)}"
        assert set(actual) == set(expected)
        for k in expected:
            assert_tree_close(actual[k], expected[k], rtol, atol)
    elif isinstance(expected, (list, tuple)):
        assert isinstance(actual, (list, tuple)), f"expected a sequence gradient, got {type(actual)}"
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected):
            assert_tree_close(a, e, rtol, atol)
    else:
        assert np.shape(actual) == np.shape(expected), f"shape {np.shape(actual)} != {np.shape(expected)}"
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def check_grad(f, *args, wrt=(0,), rtol=1e-5, atol=1e-6, optimized=True):
    """Assert tangent.grad(f, wrt)(*args) matches finite differences; return it."""
    args = [as_float(a) if not isinstance(a, (int, bool, str)) or isinstance(a, bool) else a for a in args]
    wrt = (wrt,) if isinstance(wrt, int) else tuple(wrt)
    df = tangent.grad(f, wrt=wrt, optimized=optimized)
    got = df(*args)
    got = (got,) if len(wrt) == 1 else got
    for g, i in zip(got, wrt):
        expected = numeric_grad(f, args, i)
        assert_tree_close(g, expected, rtol, atol)
    return got[0] if len(wrt) == 1 else got


def line_of(func, marker):
    """Absolute line number of the first line of ``func`` containing ``marker``."""
    lines, start = inspect.getsourcelines(func)
    for k, text in enumerate(lines):
        if marker in text:
            return start + k
    raise AssertionError(f"{marker!r} not found in {func.__name__}")
