"""Second order (reverse over reverse, forward over reverse) of programs that
build dicts and lists by comprehensions and in loops, checked against central
finite differences of the gradient in float64.

The gradient of ``p = {i: x ** i for i in keys}`` writes ``p[i]`` in a loop
and restores each region in its backward pass, ``restore_region(p, i, old)``
with ``i`` the loop's key. Differentiated again, that restore reads ``i``:
the tape must save and restore ``i`` for it (``tape.names_read``), or the
second backward pass restores every region at the last key it saw.

A loop over a dict runs over its keys, which carry no derivative: forward
mode gives them zero tangents (not the keys of the tangent dict), as do
``sum``, ``max`` and ``list`` of a dict.
"""

import numpy as np
import pytest

import tangent
from tangent.testing import check_grads


def comprehension_product(x):
    p = {i: x ** i for i in range(1, 4)}
    return np.sum(p[1] + p[2] * p[3])


def comprehension_items(x):
    p = {i: x ** i for i in range(1, 4)}
    s = 0.0
    for k, v in p.items():
        s = s + v * k
    return np.sum(s)


def comprehension_of_comprehension(x):
    p = {i: np.sin(x) * i for i in range(1, 4)}
    q = {k: v * v for k, v in p.items()}
    return np.sum(sum(q.values()))


def string_keys(x):
    p = {str(i): np.sin(x) * (i + 1) for i in range(3)}
    total = 0.0
    for key in p:
        total = total + p[key] * p["0"]
    return np.sum(total)


def loop_built(x):
    p = {}
    for k in range(1, 4):
        p[k] = x ** k
    p[2] = p[2] * p[1]
    s = 0.0
    for k, v in p.items():
        s = s + np.cos(v) * k
    return np.sum(s)


def loop_over_keys_argument(x, keys):
    p = {}
    for k in keys:
        p[k] = np.tanh(x) ** k
    s = 0.0
    for k in p:
        s = s + p[k] * k
    return np.sum(s)


def list_comprehension(x):
    p = [x ** i for i in range(1, 4)]
    s = 0.0
    for i, v in enumerate(p):
        s = s + v * p[-1 - i]
    return np.sum(s)


def generator_sum(x):
    return np.sum(sum(np.sin(x * i) * i for i in range(1, 4)))


# A dict's items are its keys, which carry no derivative: the tangent of
# as_sequence(p), sum(p), max(p) is not that of the tangent dict's keys
def keys_enumerated(x):
    p = {1: x, 2: x * x}
    s = 0.0
    for i, k in enumerate(p):
        s = s + p[k] * k * (i + 1)
    return np.sum(s)


def keys_zipped(x):
    p = {1: x, 2: x * x}
    s = 0.0
    for k, w in zip(p, [x, 2 * x]):
        s = s + p[k] * k * w
    return np.sum(s)


def keys_listed(x):
    p = {1: x, 2: np.sin(x)}
    s = 0.0
    for k in list(p):
        s = s + p[k] * k
    return np.sum(s)


def keys_summed_and_maximum(x):
    p = {1: x, 2: x * x}
    ks = tuple(p)
    return np.sum(p[ks[1]] * ks[1] + x * max(p) + x * sum(p))


def keys_in_a_generator(x):
    p = {1: x, 2: x * x}
    return np.sum(sum(k * p[k] for k in p))


KEY_PROGRAMS = [keys_enumerated, keys_zipped, keys_listed, keys_summed_and_maximum, keys_in_a_generator]

PROGRAMS = [comprehension_product, comprehension_items, comprehension_of_comprehension, string_keys,
            loop_built, list_comprehension, generator_sum]
POINTS = [1.3, np.array([1.3, 0.7])]


def _hessian_along(f, x, v, *rest):
    """Central differences (Richardson) of the gradient along v, float64."""
    gradient = tangent.grad(f)

    def central(h):
        return (np.asarray(gradient(x + h * v, *rest)) - np.asarray(gradient(x - h * v, *rest))) / (2 * h)

    return (4.0 * central(5e-4) - central(1e-3)) / 3.0


@pytest.mark.parametrize("x", POINTS, ids=["float", "array"])
@pytest.mark.parametrize("f", PROGRAMS, ids=lambda f: f.__name__)
def test_hvp_and_vjp_of_grad(f, x):
    check_grads(f, x, modes=("reverse", "forward"), order=2)


@pytest.mark.parametrize("optimized", [True, False], ids=["optimized", "unoptimized"])
@pytest.mark.parametrize("x", POINTS, ids=["float", "array"])
@pytest.mark.parametrize("f", PROGRAMS, ids=lambda f: f.__name__)
def test_second_order_compositions(f, x, optimized):
    v = 0.7 if np.isscalar(x) else np.array([0.7, -0.4])
    expected = _hessian_along(f, x, v)
    gradient = tangent.grad(f, optimized=optimized)
    x_before = np.copy(x)
    got = {
        "vjp of grad": tangent.vjp(gradient, optimized=optimized)(x, 1.0, v),
        "jvp of grad": tangent.jvp(gradient, optimized=optimized)(x, v),
        "hvp": tangent.hvp(f, optimized=optimized)(x, v),
    }
    if np.isscalar(x):
        outer = tangent.grad(tangent.grad(f, check_dims=False, optimized=optimized), check_dims=False,
                             optimized=optimized)
        got["grad of grad"] = outer(x) * v
    for what, value in got.items():
        np.testing.assert_allclose(value, expected, rtol=1e-6, atol=1e-9, err_msg=what)
    np.testing.assert_array_equal(x, x_before)


@pytest.mark.parametrize("x", POINTS, ids=["float", "array"])
@pytest.mark.parametrize("f", KEY_PROGRAMS, ids=lambda f: f.__name__)
def test_loops_over_keys(f, x):
    check_grads(f, x, modes=("reverse", "forward"), order=2)


@pytest.mark.parametrize("optimized", [True, False], ids=["optimized", "unoptimized"])
def test_keys_from_an_argument(optimized):
    # the loop over keys is read by index (k = _seq[i]), so the gradient's
    # restores are keyed by a name the second backward pass must restore
    x, v, keys = np.array([0.4, -0.9]), np.array([0.3, 1.1]), [1, 3, 2]
    expected = _hessian_along(loop_over_keys_argument, x, v, keys)
    gradient = tangent.grad(loop_over_keys_argument, optimized=optimized)
    np.testing.assert_allclose(tangent.vjp(gradient, optimized=optimized)(x, keys, 1.0, v), expected, rtol=1e-6)
    np.testing.assert_allclose(tangent.hvp(loop_over_keys_argument, optimized=optimized)(x, keys, v), expected,
                               rtol=1e-6)
    assert keys == [1, 3, 2]


def test_set_comprehension_is_refused_naming_the_line():
    def f(x):
        s = {i for i in range(3)}
        return x * len(s)

    with pytest.raises(tangent.TangentSyntaxError, match="set comprehension"):
        tangent.grad(f)
