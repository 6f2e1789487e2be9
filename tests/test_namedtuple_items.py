"""A NamedTuple held in a dict or list, read by attribute and by unpacking:
its adjoint is kept by position (runtime.adjoints.FIELDS names the fields),
so attribute and positional contributions add up, and its gradient is a
NamedTuple of its class, as a NamedTuple argument's is. (Before: the
attribute adjoints, by name, were added to its zeros, by position: a NumPy
error, or a dict for a gradient.) Checked against central differences."""

from typing import NamedTuple

import numpy as np
import pytest

import tangent


class Layer(NamedTuple):
    W: np.ndarray
    b: np.ndarray


X = np.array([[0.5, -1.0, 2.0], [1.0, 0.3, -0.2]])


def by_attribute(p):
    return np.sum(np.tanh(X @ p["l"].W + p["l"].b)) * p["s"]


def mixed(p):
    W, b = p["l"]
    return np.sum(np.tanh(X @ W + p["l"].b) * b) * p["s"]


def in_a_list(layers):
    h = X
    for layer in layers:
        h = np.tanh(h @ layer.W + layer.b)
    return np.sum(h * h)


def _numeric(f, args, get, put, eps=1e-6):
    value = get(args)
    out = np.zeros_like(value)
    for index in np.ndindex(value.shape):
        moved = []
        for s in (1, -1):
            v = value.copy()
            v[index] += s * eps
            moved.append(f(put(args, v)))
        out[index] = (moved[0] - moved[1]) / (2 * eps)
    return out


def _layer(rng, n_in, n_out):
    return Layer(rng.standard_normal((n_in, n_out)) * 0.5, rng.standard_normal(n_out))


@pytest.mark.parametrize("f", [by_attribute, mixed])
def test_a_namedtuple_in_a_dict(f):
    rng = np.random.default_rng(3)
    p = {"l": _layer(rng, 3, 3), "s": 0.7}
    df = tangent.grad(f)
    for _ in range(2):  # the first call and the specialised one
        g = df(p)
        assert type(g["l"]) is Layer
        for field in ("W", "b"):
            expected = _numeric(f, p, lambda a: getattr(a["l"], field),
                                lambda a, v: {**a, "l": a["l"]._replace(**{field: v})})
            np.testing.assert_allclose(getattr(g["l"], field), expected, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(g["s"], f(p) / p["s"], rtol=1e-10)


def test_namedtuples_in_a_list_and_their_hvp():
    rng = np.random.default_rng(4)
    layers = [_layer(rng, 3, 4), _layer(rng, 4, 2)]
    g = tangent.grad(in_a_list)(layers)
    assert [type(item) for item in g] == [Layer, Layer]
    for i in range(2):
        for field in ("W", "b"):
            def put(a, v, i=i, field=field):
                return [layer._replace(**{field: v}) if k == i else layer for k, layer in enumerate(a)]
            expected = _numeric(in_a_list, layers, lambda a, i=i, field=field: getattr(a[i], field), put)
            np.testing.assert_allclose(getattr(g[i], field), expected, rtol=1e-6, atol=1e-8)
    vector = [Layer(np.ones_like(layer.W), np.full_like(layer.b, 0.5)) for layer in layers]
    product = tangent.hvp(in_a_list)(layers, vector)
    gradient, eps = tangent.grad(in_a_list), 1e-6
    moved = [gradient([Layer(layer.W + s * eps * v.W, layer.b + s * eps * v.b) for layer, v in zip(layers, vector)])
             for s in (1, -1)]
    for i in range(2):
        for field in (0, 1):
            np.testing.assert_allclose(product[i][field], (moved[0][i][field] - moved[1][i][field]) / (2 * eps),
                                       rtol=1e-5, atol=1e-7)
