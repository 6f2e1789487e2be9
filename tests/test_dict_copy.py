"""Copies of dict arguments: ``dict(p)``, ``p.copy()``, ``{**p}``, then
written into; against central differences in every mode (check_grads order
2: hvp and the vjp of the gradient, whose transpose of ``shape_like`` on
dicts once built an array: IndexError in ``part_of``)."""

import numpy as np
import pytest

import tangent
from tangent.testing import check_grads


def with_dict(p):
    q = dict(p)
    q["c"] = q["a"] * 2.0
    q["a"] = q["b"][:2] * 3.0
    return np.sum(q["c"] ** 2) + np.sum(q["b"]) + np.sum(q["a"] * q["c"])


def with_copy(p):
    q = p.copy()
    q["c"] = q["a"] * 2.0
    q["a"] = q["b"][:2] * 3.0
    return np.sum(q["c"] ** 2) + np.sum(q["b"]) + np.sum(q["a"] * q["c"])


def with_unpacking(p):
    q = {**p}
    q["a"] = np.sin(q["a"]) * q["b"][1:]
    return np.sum(q["a"] ** 2) + np.sum(np.exp(q["b"]))


def from_pairs(x):
    q = dict([("a", x), ("b", 2.0 * x)])
    return np.sum(q["a"] * q["b"])


def pairs_not_differentiated(x, names):
    sizes = dict(zip(names, [1.0, 2.0]))
    return np.sum(x) * sizes["b"]


@pytest.mark.parametrize("f", [with_dict, with_copy, with_unpacking])
def test_copies_of_a_dict_every_mode(f):
    p = {"a": np.array([0.3, -1.1]), "b": np.array([0.5, 1.5, -0.7])}
    tangent_vector = {"a": np.ones(2), "b": np.full(3, 0.5)}
    check_grads(f, p, modes=("reverse", "forward"), order=2)
    tangent.jvp(f)(p, tangent_vector)
    np.testing.assert_array_equal(tangent_vector["a"], np.ones(2))  # the tangent is not written into
    np.testing.assert_array_equal(p["b"], [0.5, 1.5, -0.7])


def test_dict_of_pairs_that_carry_derivatives_is_refused():
    with pytest.raises(tangent.TangentError, match="comprehension"):
        tangent.grad(from_pairs)(np.array([1.0, 2.0]))


def test_dict_of_constant_pairs_still_runs():
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(tangent.grad(pairs_not_differentiated)(x, ["a", "b"]), [2.0, 2.0])
