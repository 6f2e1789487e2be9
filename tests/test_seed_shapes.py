"""A seed (``dresult``) whose shape does not broadcast to the result's is
refused with a clear message, in generic and specialised code, instead of
giving a gradient of the wrong shape (NumPy would broadcast the other way)."""

from typing import NamedTuple

import numpy as np
import pytest

import tangent
from tests.utils import numeric_grad


def layer(x, W):
    return np.tanh(W @ x) * 2.0


def energy(x):
    return np.sum(np.sin(x) * 3.0)


X, W = np.array([0.5, -1.0, 2.0]), np.arange(12.0).reshape(4, 3) * 0.05


@pytest.mark.parametrize("optimized", [True, False])
@pytest.mark.parametrize("seed", [np.ones(2), np.ones((4, 4)), np.ones((2, 4))], ids=["short", "square", "rows"])
def test_a_vjp_seed_of_the_wrong_shape_is_refused(seed, optimized):
    vjp = tangent.autodiff(layer, wrt=(0,), mode="reverse", optimized=optimized)
    for _ in range(2):  # the generic first call and the specialised second
        with pytest.raises(tangent.TangentError, match=r"the seed has shape .* result has shape \(4,\)"):
            vjp(X, W, seed)


@pytest.mark.parametrize("seed", [np.ones(4), np.array([1.0, -2.0, 0.5, 3.0]), 2.0, np.float64(0.5), np.ones((1,))])
def test_seeds_that_fit_the_result_give_the_vector_jacobian_product(seed):
    vjp = tangent.vjp(layer)
    expected = numeric_grad(lambda x: float(np.sum(np.broadcast_to(seed, (4,)) * layer(x, W))), [X.copy()], 0)
    for _ in range(2):
        np.testing.assert_allclose(vjp(X, W, seed), expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("seed", [np.ones(3), np.ones(2)])
def test_an_array_seed_for_a_scalar_result_is_refused_by_grad(seed):
    dg = tangent.grad(energy)
    for _ in range(2):
        with pytest.raises(tangent.TangentError, match=r"result has shape \(\)"):
            dg(X, seed)


def test_check_dims_false_still_takes_an_array_seed_for_a_scalar_result():
    # Google Tangent's convention: seed * gradient
    dg = tangent.grad(energy, check_dims=False)
    seed = np.array([1.0, 2.0, -1.0])
    np.testing.assert_allclose(dg(X, seed), seed * numeric_grad(energy, [X.copy()], 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dg(X, 2.0), 2.0 * numeric_grad(energy, [X.copy()], 0), rtol=1e-6, atol=1e-8)


def test_the_specialised_code_checks_the_seed_without_computing_the_result():
    dg = tangent.grad(energy)
    dg(X, 2.0)
    text = tangent.source(dg.tangent_specialized_for(X, 2.0))
    assert "check_seed_shape(dresult, ())" in text, text
    assert "result =" not in text, text  # the primal's value is not needed by the gradient
    np.testing.assert_allclose(dg(X, 2.0), 2.0 * numeric_grad(energy, [X.copy()], 0), rtol=1e-6)


def test_code_specialised_to_a_call_without_a_seed_reads_it_as_one():
    dg = tangent.grad(energy)
    text = tangent.source(dg.tangent_specialized_for(X))
    assert "check_seed_shape" not in text and "dresult *" not in text, text  # (the seed is its default, 1.0)
    np.testing.assert_allclose(dg(X), numeric_grad(energy, [X.copy()], 0), rtol=1e-6)
    np.testing.assert_allclose(dg(X, 3.0), 3.0 * numeric_grad(energy, [X.copy()], 0), rtol=1e-6)
    np.testing.assert_allclose(dg(X, dresult=0.5), 0.5 * numeric_grad(energy, [X.copy()], 0), rtol=1e-6)


def total(x):
    return np.sum(np.sin(x) * x)


@pytest.mark.parametrize("v", [np.ones((2, 3)), np.ones(2), np.ones((3, 1))], ids=["batch", "short", "column"])
def test_a_tangent_of_the_wrong_shape_is_refused_in_jvp_and_hvp(v):
    # a (2, 3) batch of tangents for a (3,) x broadcast through np.sum gave a silently wrong jvp
    with pytest.raises(tangent.TangentError, match=r"tangent vector for 'x' has shape .* 'x' has shape \(3,\)"):
        tangent.jvp(total)(X, v)
    with pytest.raises(tangent.TangentError, match=r"tangent vector for 'x'"):
        tangent.hvp(total)(X, v)


def test_tangents_of_the_argument_shape_or_numbers_give_the_directional_derivative():
    v = np.array([0.3, -1.0, 0.5])
    expected = float(numeric_grad(total, [X.copy()], 0) @ v)
    np.testing.assert_allclose(tangent.jvp(total)(X, v), expected, rtol=1e-6)
    np.testing.assert_allclose(tangent.jvp(total)(X, 1.0), float(np.sum(numeric_grad(total, [X.copy()], 0))), rtol=1e-6)
    step = 1e-4
    hv = (numeric_grad(total, [X + step * v], 0) - numeric_grad(total, [X - step * v], 0)) / (2 * step)
    np.testing.assert_allclose(tangent.hvp(total)(X, v), hv, rtol=1e-5, atol=1e-6)


class Cell:
    def __init__(self, W, b):
        self.W, self.b = W, b


def dict_total(p):
    return np.sum(np.tanh(p["W"] @ X + p["b"]) * p["b"])


def list_total(layers):
    W, b = layers[0]
    return np.sum(np.tanh(W @ X + b) * b)


def object_total(cell):
    return np.sum(np.tanh(cell.W @ X + cell.b) * cell.b)


CONTAINERS = {
    "dict": (dict_total, lambda W, b: {"W": W, "b": b}, lambda vW, vb: {"W": vW, "b": vb}, r"p\['b'\]"),
    "list": (list_total, lambda W, b: [(W, b)], lambda vW, vb: [(vW, vb)], r"layers\[0\]\[1\]"),
    "object": (object_total, lambda W, b: Cell(W, b), lambda vW, vb: {"W": vW, "b": vb}, r"cell\.b"),
}


@pytest.mark.parametrize("style", list(CONTAINERS))
def test_a_tangent_leaf_of_the_wrong_shape_in_a_container_is_refused(style):
    # a (2, 4) batch for a (4,) item broadcast through np.sum: a silently wrong product before
    f, pack, pack_vector, where = CONTAINERS[style]
    b = np.array([0.1, -0.2, 0.3, 0.4])
    args, bad = pack(W, b), pack_vector(np.ones_like(W), np.ones((2, 4)))
    for _ in range(2):  # the first call and the one that goes straight to the code made for these kinds
        with pytest.raises(tangent.TangentError, match=rf"tangent vector for {where} has shape \(2, 4\) .* \(4,\)"):
            tangent.jvp(f)(args, bad)
        with pytest.raises(tangent.TangentError, match=rf"tangent vector for {where}"):
            tangent.hvp(f)(args, bad)
    good = pack_vector(np.full_like(W, 0.5), np.array([1.0, 0.0, -1.0, 2.0]))
    step = 1e-6
    moved = [pack(W + s * step * 0.5, b + s * step * np.array([1.0, 0.0, -1.0, 2.0])) for s in (1, -1)]
    np.testing.assert_allclose(tangent.jvp(f)(args, good), (f(moved[0]) - f(moved[1])) / (2 * step), rtol=1e-6)


class Slotted:
    __slots__ = ("W", "b")

    def __init__(self, W, b):
        self.W, self.b = W, b


class Fields(NamedTuple):
    W: np.ndarray
    b: np.ndarray


def layers_total(layers):
    W, b = layers[0].W, layers[0].b
    return np.sum(np.tanh(W @ X + b) * b)


def fields_total(layer):
    return np.sum(np.tanh(layer.W @ X + layer.b) * layer.b)


@pytest.mark.parametrize("make", [lambda W, b: [(W, b)], lambda W, b: Fields(W, b), lambda W, b: Slotted(W, b)],
                         ids=["list vector for tuple items", "NamedTuple", "slots"])
def test_a_tangent_leaf_of_the_wrong_shape_is_refused_whatever_its_containers(make):
    b = np.array([0.1, -0.2, 0.3, 0.4])
    f = list_total if isinstance(make(W, b), list) else fields_total
    vectors = [make(np.ones_like(W), np.ones((2, 4)))]
    if isinstance(vectors[0], list):
        vectors.append([[np.ones_like(W), np.ones((2, 4))]])  # (lists for the tuple)
    else:
        vectors.append({"W": np.ones_like(W), "b": np.ones((2, 4))})  # (an object's vector as a dict)
    for bad in vectors:
        with pytest.raises(tangent.TangentError, match=r"has shape \(2, 4\) but .* has shape \(4,\)"):
            tangent.jvp(f)(make(W, b), bad)
        with pytest.raises(tangent.TangentError, match=r"has shape \(2, 4\) but .* has shape \(4,\)"):
            tangent.hvp(f)(make(W, b), bad)


def _by_differences(f, make, W, b, vW, vb, step=1e-6):
    return (f(make(W + step * vW, b + step * vb)) - f(make(W - step * vW, b - step * vb))) / (2 * step)


def slots_in_list(layers):
    return fields_total(layers[0])


def slots_in_dict(p):
    return np.sum(np.tanh(p["m"].W @ X + p["m"].b) * p["m"].b) + np.sum(p["v"] ** 2)


def test_a_slots_object_as_its_own_tangent_and_in_a_list_or_dict():
    # (a slots object in a list or dict had a float for its zero adjoint: the gradient raised AttributeError)
    b, vW, vb = np.array([0.1, -0.2, 0.3, 0.4]), np.full_like(W, 0.5), np.array([1.0, 0.0, -1.0, 2.0])
    expected = _by_differences(fields_total, Slotted, W, b, vW, vb)
    for vector in (Slotted(vW, vb), {"W": vW, "b": vb}):  # (the object form read as the dict of its slots)
        for _ in range(2):
            np.testing.assert_allclose(tangent.jvp(fields_total)(Slotted(W, b), vector), expected, rtol=1e-6)
    v = np.array([0.5, -1.0])
    for f, args, unpack in [(slots_in_list, lambda w, c: [Slotted(w, c)], lambda g: g[0]),
                            (slots_in_dict, lambda w, c: {"m": Slotted(w, c), "v": v}, lambda g: g["m"])]:
        for _ in range(2):
            grad = unpack(tangent.grad(f)(args(W, b)))
            for name, value in (("W", W), ("b", b)):
                numeric = np.zeros_like(value)
                for index in np.ndindex(value.shape):
                    unit = np.zeros_like(value)
                    unit[index] = 1e-6
                    moved = [args(W + s * unit, b) if name == "W" else args(W, b + s * unit) for s in (1, -1)]
                    numeric[index] = (f(moved[0]) - f(moved[1])) / 2e-6
                np.testing.assert_allclose(grad[name], numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("vector", [{"W": np.ones((4, 3))}, {"W": np.ones((4, 3)), "bias": np.ones(4)}],
                         ids=["missing", "misspelt"])
def test_a_dict_tangent_without_an_entry_for_an_array_is_refused_naming_it(vector):
    # (a KeyError from inside the generated code before)
    p = {"W": W, "b": np.array([0.1, -0.2, 0.3, 0.4])}
    for product in (tangent.jvp(dict_total), tangent.hvp(dict_total)):
        for _ in range(2):
            with pytest.raises(tangent.TangentError, match=r"tangent vector for p has no entry for p\['b'\] "
                                                           r"\(of shape \(4,\)\)"):
                product(p, vector)
    given = {"W": np.zeros((4, 3)), "b": np.ones(4), "unused": 1.0}  # (an extra entry is not read)
    step = 1e-6
    moved = [{"W": W, "b": p["b"] + s * step} for s in (1, -1)]
    np.testing.assert_allclose(tangent.jvp(dict_total)(p, given), (dict_total(moved[0]) - dict_total(moved[1])) / (2 * step),
                               rtol=1e-6)
