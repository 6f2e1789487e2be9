"""Methods of arguments whose class the source does not name
(tangent/argument_classes.py): the derivative is made at the first call, for
the arguments' classes. Checked against central differences."""

import numpy as np
import pytest

import tangent
from tangent.testing import check_grads


class Quadratic:
    def __init__(self, W, c):
        self.W = W
        self.c = c

    def energy(self, x):
        return 0.5 * x @ self.W @ x + self.c @ x

    def __call__(self, x):
        return np.tanh(self.W @ x)


class Layer:
    def __init__(self, W, b):
        self.W = W
        self.b = b

    def __call__(self, h):
        return np.tanh(h @ self.W + self.b)


class Scaled:
    def __init__(self, s):
        self.s = s

    def energy(self, x):
        return self.s * np.sum(np.sin(x) ** 2)


def model_loss(model, xs):
    total = 0.0
    for x in xs:
        total = total + model.energy(x) ** 2
    return total


def net(layers, x):
    for layer in layers:
        x = layer(x)
    return np.sum(x * x)


def called(model, x):
    return np.sum(model(x) ** 2) + model.energy(x)


def by_name(blocks, x):
    first = blocks["a"]
    total = np.sum(first(x) * blocks["b"](x))
    for key in blocks:
        total = total + np.sum(blocks[key](x))
    for block in blocks.values():
        total = total + np.sum(block(x) ** 2)
    return total


def indexed(models, x):
    total = 0.0
    for i in range(len(models)):
        total = total + models[i].energy(x) ** 2
    return total


RNG = np.random.default_rng(3)
W, C = RNG.standard_normal((3, 3)), RNG.standard_normal(3)
X = RNG.standard_normal(3)


def _numeric_attribute(f, obj, attr, *rest, eps=1e-6):
    value = getattr(obj, attr).copy()
    out = np.zeros_like(value)
    for idx in np.ndindex(value.shape):
        for sign in (1, -1):
            moved = value.copy()
            moved[idx] += sign * eps
            setattr(obj, attr, moved)
            out[idx] += sign * f(obj, *rest) / (2 * eps)
    setattr(obj, attr, value)
    return out


def test_method_of_an_argument_object_reverse():
    model, xs = Quadratic(W.copy(), C.copy()), [X, 2 * X]
    g = tangent.grad(model_loss)(model, xs)
    np.testing.assert_allclose(g["W"], _numeric_attribute(model_loss, model, "W", xs), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(g["c"], _numeric_attribute(model_loss, model, "c", xs), rtol=1e-6, atol=1e-6)


def test_calling_an_argument_object_every_mode():
    model = Quadratic(W.copy(), C.copy())
    check_grads(lambda x: called(model, x), X, modes=("reverse", "forward"), order=2)
    g = tangent.grad(called, wrt=1)(model, X)
    numeric = [(called(model, X + 1e-6 * e) - called(model, X - 1e-6 * e)) / 2e-6 for e in np.eye(3)]
    np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-7)
    v = np.array([1.0, -2.0, 0.5])
    jv = tangent.jvp(called, wrt=1)(model, X, v)
    np.testing.assert_allclose(jv, np.dot(numeric, v), rtol=1e-6, atol=1e-7)
    hv = tangent.hvp(called, wrt=1)(model, X, v)
    dgrad = tangent.grad(called, wrt=1)
    np.testing.assert_allclose(hv, (dgrad(model, X + 1e-5 * v) - dgrad(model, X - 1e-5 * v)) / 2e-5, rtol=1e-5,
                               atol=1e-6)


def test_a_list_of_layer_objects():
    layers = [Layer(RNG.standard_normal((3, 3)), RNG.standard_normal(3)) for _ in range(2)]
    g = tangent.grad(net)(layers, X)
    for k, layer in enumerate(layers):
        def at(layer_, x, k=k):
            return net(layers[:k] + [layer_] + layers[k + 1:], x)

        np.testing.assert_allclose(g[k]["W"], _numeric_attribute(at, layer, "W", X), rtol=1e-6, atol=1e-7)
    gx = tangent.grad(net, wrt=1)(layers, X)
    np.testing.assert_allclose(gx, [(net(layers, X + 1e-6 * e) - net(layers, X - 1e-6 * e)) / 2e-6 for e in np.eye(3)],
                               rtol=1e-6, atol=1e-7)
    J = tangent.jacobian(net, wrt=1)(layers, X)
    np.testing.assert_allclose(J, gx, rtol=1e-8)
    H = tangent.hessian(net, wrt=1)(layers, X)
    numeric = np.array([(tangent.grad(net, wrt=1)(layers, X + 1e-5 * e) - tangent.grad(net, wrt=1)(layers, X - 1e-5 * e))
                        / 2e-5 for e in np.eye(3)])
    np.testing.assert_allclose(H, numeric, rtol=1e-5, atol=1e-6)


def test_a_dict_of_objects():
    blocks = {"a": Layer(RNG.standard_normal((3, 3)), C.copy()), "b": Layer(W.copy(), -C)}
    gx = tangent.grad(by_name, wrt=1)(blocks, X)
    np.testing.assert_allclose(gx, [(by_name(blocks, X + 1e-6 * e) - by_name(blocks, X - 1e-6 * e)) / 2e-6
                                    for e in np.eye(3)], rtol=1e-6, atol=1e-7)


def test_items_read_by_index_call_their_methods():
    models = [Quadratic(W.copy(), C.copy()), Quadratic(-W, 2 * C)]
    gx = tangent.grad(indexed, wrt=1)(models, X)
    np.testing.assert_allclose(gx, [(indexed(models, X + 1e-6 * e) - indexed(models, X - 1e-6 * e)) / 2e-6
                                    for e in np.eye(3)], rtol=1e-6, atol=1e-6)
    g = tangent.grad(indexed)(models, X)

    def at(model, x):
        return indexed([model, models[1]], x)

    np.testing.assert_allclose(g[0]["W"], _numeric_attribute(at, models[0], "W", X), rtol=1e-6, atol=1e-6)


def test_one_derivative_per_class():
    df = tangent.grad(model_loss, wrt=1)
    for model in (Quadratic(W.copy(), C.copy()), Scaled(1.7)):
        xs = [X, -X]
        g = df(model, xs)
        for k in range(2):
            def moved(e, k=k):
                return model_loss(model, [x + e if i == k else x for i, x in enumerate(xs)])

            np.testing.assert_allclose(g[k], [(moved(1e-6 * e) - moved(-1e-6 * e)) / 2e-6 for e in np.eye(3)],
                                       rtol=1e-6, atol=1e-7)


def test_source_before_and_after_the_first_call():
    df = tangent.grad(model_loss)
    with pytest.raises(tangent.TangentError, match="first call"):
        tangent.source(df)
    df(Quadratic(W.copy(), C.copy()), [X])
    assert "def energy_fwd(self, x)" in tangent.source(df)


def test_no_object_among_the_arguments_keeps_the_refusal():
    df = tangent.grad(model_loss)
    with pytest.raises(tangent.TangentSyntaxError, match=r"test_argument_classes.py:\d+ \(in model_loss\).*energy"):
        df({"W": W}, [X])


def test_arguments_are_not_changed():
    model, xs = Quadratic(W.copy(), C.copy()), [X.copy()]
    tangent.grad(model_loss)(model, xs)
    np.testing.assert_array_equal(model.W, W)
    np.testing.assert_array_equal(xs[0], X)


class Transposed:
    """A property, and methods named like NumPy's and numpy.random's."""

    def __init__(self, W):
        self.W = W

    @property
    def WT(self):
        return self.W.T

    def f(self, x):  # (Generator.f draws from an F distribution)
        return np.sum((x @ self.WT) ** 2)

    def sum(self):  # (ndarray.sum)
        return np.sum(self.W ** 3)


def through_method(net, x):
    return net.f(x)


def through_property(net, x):
    return np.sum((x @ net.WT) ** 2)


def named_like_numpy(net, x):
    return net.sum() + np.sum(x)


XS = RNG.standard_normal((4, 3))


@pytest.mark.parametrize("f", [through_method, through_property, named_like_numpy])
def test_properties_and_methods_named_like_library_ones(f):
    # these once read as numpy.random's Generator.f (a zero gradient), a plain attribute 'WT' (a
    # gradient for 'WT', none for W) and ndarray.sum: the derivative is now made for the class
    net = Transposed(RNG.standard_normal((2, 3)))
    g = tangent.grad(f)(net, XS)
    assert set(g) == {"W"}
    np.testing.assert_allclose(g["W"], _numeric_attribute(f, net, "W", XS), rtol=1e-6, atol=1e-6)
    v = np.ones_like(XS)
    numeric = (f(net, XS + 1e-6 * v) - f(net, XS - 1e-6 * v)) / 2e-6
    np.testing.assert_allclose(tangent.jvp(f, wrt=1)(net, XS, v), numeric, rtol=1e-6, atol=1e-6)


def _dict_energy(p):
    return np.sum(np.sin(p["x"]) * p["x"])


def test_the_code_a_jvp_runs_is_retrievable_for_its_arguments():
    # (jvp is never specialised: the code its calls run is the generic one, not an AttributeError)
    p, v = {"x": np.array([0.5, -1.0])}, {"x": np.array([1.0, 2.0])}
    df = tangent.jvp(_dict_energy)
    code = df.tangent_specialized_for(p, v)
    assert "def " in tangent.source(code)
    x, eps = p["x"], 1e-6
    expected = (_dict_energy({"x": x + eps * v["x"]}) - _dict_energy({"x": x - eps * v["x"]})) / (2 * eps)
    np.testing.assert_allclose(code(p, v), expected, rtol=1e-6)


class _Linear:
    def __init__(self, W):
        self.W = W

    def __call__(self, h):
        return np.tanh(h @ self.W)


class _Squared(_Linear):
    def __call__(self, h):
        return (h @ self.W) ** 2


def _through_layers(layers, x):
    h = x
    for layer in layers:
        h = layer(h)
    return np.sum(h)


def test_layers_of_several_classes_are_refused_naming_them():
    x, W = np.ones((2, 3)), np.eye(3) * 0.5
    with pytest.raises(tangent.TangentError, match=r"(?s)test_argument_classes.py:\d+.*h = layer\(h\).*items of 'layers' "
                                                    r"are objects of several classes \(_Linear, _Squared\)"):
        tangent.grad(_through_layers)([_Linear(W), _Squared(W)], x)
    g = tangent.grad(_through_layers)([_Squared(W), _Squared(W)], x)  # (one class: made for it)
    eps, numeric = 1e-6, np.zeros_like(W)
    for index in np.ndindex(W.shape):
        step = np.zeros_like(W)
        step[index] = eps
        numeric[index] = (_through_layers([_Squared(W), _Squared(W + step)], x)
                          - _through_layers([_Squared(W), _Squared(W - step)], x)) / (2 * eps)
    np.testing.assert_allclose(g[1]["W"], numeric, rtol=1e-6)
