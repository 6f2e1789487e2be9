"""Objects holding lists of objects, and NamedTuples, as people pass them
(tangent/item_classes.py, argument_classes.py, ownership.py): methods of a
list attribute's items are those of their class, known at the call or from
the class's annotation; a NamedTuple's gradient is a NamedTuple; tangents of
objects may be given as objects. Checked against central differences."""

from typing import NamedTuple

import numpy as np
import pytest

import tangent

EPS = 1e-6


class Layer:
    def __init__(self, W, b):
        self.W = W
        self.b = b

    def forward(self, h):
        return np.tanh(h @ self.W + self.b)


class Model:
    def __init__(self, layers, scale):
        self.layers = layers
        self.scale = scale

    def predict(self, x):
        h = x
        for layer in self.layers:
            h = layer.forward(h)
        return h * self.scale


class Stack:
    blocks: list[Layer]  # (read when the parameter is annotated: no class is looked up at the call)

    def __init__(self, blocks):
        self.blocks = blocks

    def __call__(self, x):
        for i in range(len(self.blocks)):
            x = self.blocks[i].forward(x)
        return x


def model_loss(model, x, y):
    return np.mean((model.predict(x) - y) ** 2)


def direct_loss(model, x):
    h = x
    for layer in model.layers:
        h = layer.forward(h)
    return np.sum(h**2)


def through(layers, h):
    for layer in layers:
        h = layer.forward(h)
    return h


def helper_loss(model, x):
    return np.sum(through(model.layers, x))


def stack_loss(net: Stack, x):
    return np.sum(net(x) ** 2)


rng = np.random.default_rng(0)
X, Y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))


def layers():
    return [
        Layer(rng.standard_normal((3, 4)), rng.standard_normal(4)),
        Layer(rng.standard_normal((4, 2)), rng.standard_normal(2)),
    ]


def model_flat(model):
    return [model.layers[0].W, model.layers[0].b, model.layers[1].W, model.layers[1].b]


def fd_array(f, a, *args):
    """Central differences of f(*args) with respect to the array a (held by the arguments), in place."""
    g = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        old = a[i]
        a[i] = old + EPS
        fp = f(*args)
        a[i] = old - EPS
        fm = f(*args)
        a[i] = old
        g[i] = (fp - fm) / (2 * EPS)
    return g


def fd_model(f, model, *rest):
    """Central differences of f with respect to every array of model's layers."""
    return [fd_array(f, a, model, *rest) for a in model_flat(model)]


def layer_grads(g):
    return [g["layers"][0]["W"], g["layers"][0]["b"], g["layers"][1]["W"], g["layers"][1]["b"]]


def test_method_of_a_list_attributes_items_from_the_call():
    for f, rest in ((model_loss, (X, Y)), (direct_loss, (X,)), (helper_loss, (X,))):
        model = Model(layers(), 1.5)
        before = [a.copy() for a in model_flat(model)]
        g = tangent.grad(f)(model, *rest)
        for got, expected in zip(layer_grads(g), fd_model(f, model, *rest)):
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)
        assert all(np.array_equal(a, b) for a, b in zip(before, model_flat(model)))


def test_object_gradient_has_every_numeric_attribute():
    model = Model(layers(), 1.5)
    g = tangent.grad(direct_loss)(model, X)  # scale unused: its gradient is zero, not missing
    assert g["scale"] == 0.0
    s = 1.5
    expected = (model_loss(Model(model.layers, s + EPS), X, Y) - model_loss(Model(model.layers, s - EPS), X, Y)) / (
        2 * EPS
    )
    assert np.isclose(tangent.grad(model_loss)(model, X, Y)["scale"], expected, rtol=1e-6)


def test_items_class_from_the_class_annotation():
    net = Stack(layers())
    g = tangent.grad(stack_loss)(net, X)
    flat = [net.blocks[0].W, net.blocks[0].b, net.blocks[1].W, net.blocks[1].b]
    got = [g["blocks"][0]["W"], g["blocks"][0]["b"], g["blocks"][1]["W"], g["blocks"][1]["b"]]
    for a, ga in zip(flat, got):
        expected = fd_array(stack_loss, a, net, X)
        np.testing.assert_allclose(ga, expected, rtol=1e-5, atol=1e-7)


def test_jvp_and_hvp_with_object_tangents():
    model = Model(layers(), 1.5)
    v = Model(
        [
            Layer(rng.standard_normal((3, 4)), rng.standard_normal(4)),
            Layer(rng.standard_normal((4, 2)), rng.standard_normal(2)),
        ],
        0.0,
    )
    v_before = [a.copy() for a in model_flat(v)]

    def shifted(t):
        return Model([Layer(a.W + t * b.W, a.b + t * b.b) for a, b in zip(model.layers, v.layers)], model.scale)

    expected = (model_loss(shifted(EPS), X, Y) - model_loss(shifted(-EPS), X, Y)) / (2 * EPS)
    assert np.isclose(tangent.jvp(model_loss)(model, X, Y, v), expected, rtol=1e-6)
    h = tangent.hvp(model_loss)(model, X, Y, v)
    dg = tangent.grad(model_loss)
    g_plus, g_minus = dg(shifted(EPS), X, Y), dg(shifted(-EPS), X, Y)
    for got, gp, gm in zip(layer_grads(h), layer_grads(g_plus), layer_grads(g_minus)):
        np.testing.assert_allclose(got, (gp - gm) / (2 * EPS), rtol=1e-4, atol=1e-6)
    assert all(np.array_equal(a, b) for a, b in zip(v_before, model_flat(v)))


class Params(NamedTuple):
    w: np.ndarray
    c: float


def by_name(p, x):
    return np.sum(np.sin(x * p.w) * p.c)


def by_position(p, x):
    return np.sum(np.sin(x * p[0]) * p[1])


def unpacked(p, x):
    w, c = p
    return np.sum(np.sin(x * w) * c)


def test_named_tuple_gradients_and_tangents():
    p, x = Params(rng.standard_normal(3), 0.7), rng.standard_normal(3)
    v = Params(rng.standard_normal(3), -0.4)
    for f in (by_name, by_position, unpacked):
        g = tangent.grad(f)(p, x)
        assert type(g) is Params
        for i in range(3):
            e = np.zeros(3)
            e[i] = EPS
            expected = (f(Params(p.w + e, p.c), x) - f(Params(p.w - e, p.c), x)) / (2 * EPS)
            assert np.isclose(g.w[i], expected, rtol=1e-6)
        expected = (f(Params(p.w, p.c + EPS), x) - f(Params(p.w, p.c - EPS), x)) / (2 * EPS)
        assert np.isclose(g.c, expected, rtol=1e-6)
        direction = (
            f(Params(p.w + EPS * v.w, p.c + EPS * v.c), x) - f(Params(p.w - EPS * v.w, p.c - EPS * v.c), x)
        ) / (2 * EPS)
        for tangent_vector in (v, tuple(v), {"w": v.w, "c": v.c}):
            assert np.isclose(tangent.jvp(f)(p, x, tangent_vector), direction, rtol=1e-6)


def nested_parameters(p, x):
    return np.sum(p["a"] * x) + sum(np.sum(w**2) for w in p["ws"]) + np.sum(p["t"][0]) * p["t"][1]


def test_returned_containers_are_plain_dicts_lists_and_tuples():
    """(The engine's adjoint containers add elementwise: a user's `grads + more`, or
    jax.tree_util, must see the builtin types.)"""
    p = {"a": np.ones(2), "ws": [np.full(2, 0.5), np.ones(2)], "t": (np.ones(2), 3.0)}
    g = tangent.grad(nested_parameters)(p, np.arange(2.0))
    assert type(g) is dict and type(g["ws"]) is list and type(g["t"]) is tuple
    np.testing.assert_allclose(g["ws"][0], 2 * p["ws"][0])
    np.testing.assert_allclose(g["a"], np.arange(2.0))
    assert np.isclose(g["t"][1], 2.0)


class Base:
    def __init__(self, W):
        self.W = W

    def forward(self, x):
        return np.tanh(x @ self.W)


class Residual(Base):
    def __init__(self, W, alpha):
        super().__init__(W)
        self.alpha = alpha

    def forward(self, x):
        return x + self.alpha * super().forward(x)


class Doubled(Residual):
    def forward(self, x):
        return super(Doubled, self).forward(x) * 2.0


def forward_loss(m, x):
    return np.sum(m.forward(x) ** 2)


def fd_attribute(f, obj, name, *rest):
    return fd_array(f, getattr(obj, name), obj, *rest)


def test_super_calls_resolve_on_the_objects_class():
    for model in (Residual(rng.standard_normal((3, 3)), 0.5), Doubled(rng.standard_normal((3, 3)), 0.3)):
        g = tangent.grad(forward_loss)(model, X)
        np.testing.assert_allclose(g["W"], fd_attribute(forward_loss, model, "W", X), rtol=1e-5, atol=1e-7)
        v = {"W": rng.standard_normal((3, 3)), "alpha": 0.0}
        hv = tangent.hvp(forward_loss)(model, X, v)
        dg = tangent.grad(forward_loss)
        shifted = [type(model)(model.W + s * EPS * v["W"], model.alpha) for s in (1, -1)]
        expected = (dg(shifted[0], X)["W"] - dg(shifted[1], X)["W"]) / (2 * EPS)
        np.testing.assert_allclose(hv["W"], expected, rtol=1e-4, atol=1e-6)


def builds_a_residual(W, x):
    return np.sum(Residual(W, 0.5).forward(x))


def test_super_in_an_object_built_inside_is_refused_clearly():
    with pytest.raises(tangent.TangentError, match=r"super\(\).__init__\(\) in a method of an object created"):
        tangent.grad(builds_a_residual)(rng.standard_normal((3, 3)), X)


class Poly:
    def __init__(self, c):
        self.c = c

    @staticmethod
    def basis(t, n):
        return np.stack([t**k for k in range(n)], axis=1)

    def __call__(self, t):
        return self.basis(t, len(self.c)) @ self.c


def fit_loss(p, t, y):
    return np.mean((p(t) - y) ** 2)


def test_staticmethod_through_self_all_modes():
    p, t, y = Poly(rng.standard_normal(3)), np.array([0.0, 0.5, -1.0, 2.0]), rng.standard_normal(4)
    g = tangent.grad(fit_loss)(p, t, y)
    np.testing.assert_allclose(g["c"], fd_attribute(fit_loss, p, "c", t, y), rtol=1e-6, atol=1e-8)
    v = Poly(rng.standard_normal(3))
    expected = (fit_loss(Poly(p.c + EPS * v.c), t, y) - fit_loss(Poly(p.c - EPS * v.c), t, y)) / (2 * EPS)
    assert np.isclose(tangent.jvp(fit_loss)(p, t, y, v), expected, rtol=1e-6)
    basis = Poly.basis(t, 3)  # the loss is quadratic in c: H v = 2 B^T B v / n
    np.testing.assert_allclose(tangent.hvp(fit_loss)(p, t, y, v)["c"], 2 * basis.T @ basis @ v.c / 4, rtol=1e-9)
