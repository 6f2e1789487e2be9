"""Aliasing found by the random-program tester: augmented assignments through
views and objects (refused in both modes, in the user's words), results of the
user's functions that are new arrays (allowed), and loop counters held in
containers next to written arrays (no tangent)."""

import numpy as np
import pytest

import tangent
from tests.utils import check_grad, numeric_grad


def through_view_of_dict_item(x):
    d = {"p": x * 2.0, "q": np.tanh(x)}
    v = d["q"][1:]
    v -= x[0]
    return np.sum(d["q"])


class Box:
    def __init__(self, a, b):
        self.a = a
        self.b = b


def through_attribute(x):
    v = x[0] + np.zeros(3)
    box = Box(v, 1.0)
    v *= box.a
    return np.sum(box.a)


@pytest.mark.parametrize("f", [through_view_of_dict_item, through_attribute])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_augmented_assignment_into_a_shared_array_is_refused_in_the_users_words(f, mode):
    with pytest.raises(tangent.TangentError) as info:
        tangent.autodiff(f, mode=mode)
    message = str(info.value)
    assert "test_aliasing_messages.py" in message and "in place" in message
    assert "'_" not in message, message  # no temporaries of the normalizer


def plus_one(a):
    return a + 1.0


def scaled_local(a):
    b = np.tanh(a) * 2.0
    return b


def writes_into_helper_results(u):
    w = plus_one(u)
    w[1] = w[0] * w[2]
    z = scaled_local(u)
    z[0] = z[2] * u[1]
    return np.sum(w * u) + np.sum(z * z)


def test_results_of_helpers_that_compute_new_arrays_may_be_written_into():
    x = np.array([0.3, -0.8, 1.1])
    before = x.copy()
    check_grad(writes_into_helper_results, x)
    v = np.array([1.0, 0.5, -2.0])
    jv = tangent.jvp(writes_into_helper_results)(x, v)
    expected = float(np.dot(numeric_grad(writes_into_helper_results, [x], 0), v))
    np.testing.assert_allclose(jv, expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(x, before)


def pair(a, b):
    return [a] + [b]


def writes_through_a_helper_that_concatenates(x):
    y = x * 1.0
    lst = pair(y, x)
    first = lst[0]
    first[0] = 3.0 * x[1]
    return np.sum(y * x)


def test_a_helper_result_holding_its_argument_is_still_an_alias():
    with pytest.raises(tangent.TangentError) as info:
        tangent.grad(writes_through_a_helper_that_concatenates)
    assert "share memory" in str(info.value)


def counter_in_a_tuple(x):
    d = {"p": x * 0.5}
    d["r"] = d["p"]
    items = [x[0]]
    total = x[1]
    for i, w in enumerate(items):
        total = total * w + i
    return total * 2.0


def test_loop_counter_next_to_written_containers_has_no_tangent():
    x = np.array([0.4, -1.3, 0.7])
    v = np.array([0.2, 1.0, -0.5])
    expected = float(np.dot(numeric_grad(counter_in_a_tuple, [x], 0), v))
    for optimized in (True, False):
        np.testing.assert_allclose(tangent.jvp(counter_in_a_tuple, optimized=optimized)(x, v), expected, rtol=1e-6)


def features(x, w):
    feats = np.zeros((len(x), 2))
    for i in range(len(x)):
        feats[i, 0] = x[i]
        feats[i, 1] = np.sin(x[i])
    out = feats @ w
    out[0] += 1.0
    return np.sum(out**2)


def test_reverse_over_a_gradient_that_restores_arrays_matches_finite_differences():
    # (was refused until round 4: the gradient's region restores are now writes reverse mode undoes)
    x, w = np.array([0.3, -0.2, 0.5]), np.array([0.7, -1.1])
    v = np.array([1.0, 0.5, -0.3])
    g = tangent.grad(features)
    eps = 1e-5
    expected = (g(x + eps * v, w) - g(x - eps * v, w)) / (2 * eps)  # the Hessian is symmetric: H v = v^T H
    np.testing.assert_allclose(tangent.vjp(g, wrt=0)(x, w, 1.0, v), expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(tangent.hvp(features)(x, w, v), expected, rtol=1e-6, atol=1e-8)


def _sum_over_list(x, xs):
    total = 0.0
    for _ in range(2):
        total = total + sum(np.sum(np.sin(x) * w) for w in xs)
    return total


def test_reverse_over_a_gradient_that_pops_its_lists_from_its_tape():
    # (refused until round 5: the gradient writes into a list it restores from its tape; its own
    # tape's pushes and pops are now told apart from the user's list writes, restores.tape_operations)
    x, xs = np.array([0.3, -0.4]), [np.array([1.0, 2.0]), np.array([0.5, -1.0])]
    df = tangent.grad(_sum_over_list)
    v = np.array([0.7, -0.2])
    eps = 1e-6
    want = (df(x + eps * v, xs) - df(x - eps * v, xs)) / (2 * eps)  # the Hessian is symmetric
    np.testing.assert_allclose(tangent.vjp(df)(x, xs, 1.0, v), want, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(tangent.hvp(_sum_over_list)(x, xs, v), want, rtol=1e-6, atol=1e-8)


def _rows_of_lists(x):
    rows = []
    for _ in range(2):
        rows.append([np.sin(x * j) for j in range(2)])
    last = rows.pop()
    return np.sum(last[1] * rows[0][1] * x)


def test_refusal_inside_generated_code_names_no_internal_variable():
    # reverse over the gradient: the gradient undoes the appends into a list another list holds;
    # the refusal names the user's line and says what to use, not 'stack' or '_list'
    x = np.array([0.3, -0.4])
    df = tangent.grad(_rows_of_lists)
    with pytest.raises(tangent.TangentError) as error:
        tangent.vjp(df)(x, 1.0, np.ones(2))
    message = str(error.value)
    assert "test_aliasing_messages.py" in message
    assert "stack" not in message and "'_" not in message, message
    assert "tangent.hvp" in message
    # the suggested route works and is right
    v = np.array([0.7, -0.2])
    got = tangent.hvp(_rows_of_lists)(x, v)
    eps = 1e-6
    want = (df(x + eps * v) - df(x - eps * v)) / (2 * eps)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
