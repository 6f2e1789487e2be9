"""NumPy calls that write into an argument (tangent/library_writes.py):
``np.copyto``, ``np.add.at`` / ``np.subtract.at`` and ``out=`` are
differentiated as the assignments they are; the other writers are refused.
Before, all of these gave silently wrong (mostly zero) gradients."""

import bisect
import heapq

import numpy as np
import pytest

import tangent
from tangent.testing import check_grads

X = np.array([0.3, -0.7, 1.1, 0.4])


def copied_into(x):
    out = np.zeros(4)
    np.copyto(out, x * x)
    return np.sum(np.sin(out) * x)


def added_at(x):
    out = np.ones(3) * x[0]
    np.add.at(out, np.array([0, 2, 2, 1]), x ** 2)  # repeated indices add up
    return np.sum(out ** 3)


def added_at_2d(x):
    table = np.zeros((2, 3))
    np.add.at(table, (np.array([0, 1, 1]), np.array([2, 0, 2])), x[:3])
    np.subtract.at(table, (np.array([1]), np.array([1])), x[3])  # a number broadcast into one slot
    return np.sum(np.tanh(table) * table)


def added_scalar(x):
    out = x * 1.0
    np.add.at(out, [0, 0, 3], 2.0)  # nothing differentiated is added
    return np.sum(out ** 2)


def out_keyword(x):
    out = np.empty(4)
    np.sin(x, out=out)
    buffer = np.zeros(4)
    y = np.multiply(out, x, out=buffer)
    np.clip(y, -0.2, 0.3, out=y)
    return np.sum(y * out)


def out_reduction(x):
    total = np.zeros(())
    np.sum(x * x, out=total)
    return total * x[1]


def counts_are_not_differentiated(x, labels):
    counts = np.zeros(3)
    np.add.at(counts, labels, 1.0)  # bookkeeping: no derivative flows here
    return np.sum(x[:3] * counts)


@pytest.mark.parametrize("f", [copied_into, added_at, added_at_2d, added_scalar, out_keyword, out_reduction])
def test_writes_differentiated_as_assignments(f):
    check_grads(f, X.copy(), modes=("reverse", "forward"), order=2)


def test_bookkeeping_with_add_at():
    labels = np.array([0, 2, 2, 1, 0])
    g = tangent.grad(counts_are_not_differentiated)(X, labels)
    np.testing.assert_allclose(g, [2.0, 1.0, 2.0, 0.0])  # d/dx sum(x[:3] * counts), counts = [2, 1, 2]
    np.testing.assert_array_equal(labels, [0, 2, 2, 1, 0])


def user_function_with_out(x, out=None):
    return x * 2.0 if out is None else x * out


def calls_user_out(x):
    return np.sum(user_function_with_out(x, out=x + 1.0))


def test_out_of_the_users_own_function_is_a_parameter():
    check_grads(calls_user_out, X.copy(), modes=("reverse", "forward"), order=1)


def _put(x):
    y = x * 1.0
    np.put(y, [0], 5.0)
    return np.sum(y * x)


def _place(x):
    y = x * 1.0
    np.place(y, y > 0, 0.0)
    return np.sum(y * x)


def _putmask(x):
    y = x * 1.0
    np.putmask(y, y > 0, 0.0)
    return np.sum(y * x)


def _fill_diagonal(x):
    A = np.outer(x, x)
    np.fill_diagonal(A, 0.0)
    return np.sum(A)


def _multiply_at(x):
    y = x * 1.0
    np.multiply.at(y, [0, 0], 2.0)
    return np.sum(y * x)


def _copyto_where(x):
    y = x * 1.0
    np.copyto(y, 0.0, where=x > 0)
    return np.sum(y * x)


@pytest.mark.parametrize("f, words", [(_put, "np.put writes"), (_place, "np.place writes"),
                                      (_putmask, "np.putmask writes"), (_fill_diagonal, "np.fill_diagonal writes"),
                                      (_multiply_at, "np.multiply.at writes"), (_copyto_where, "np.copyto writes")])
def test_other_writers_are_refused_when_transforming(f, words):
    with pytest.raises(tangent.TangentSyntaxError, match="test_library_writes.py") as info:
        tangent.grad(f)
    assert words in str(info.value)


def _heappush_assigned(x):
    items = [x * 1.0]
    _ = heapq.heappush(items, x * 2.0)  # (assigned: it was dropped as dead code, a gradient of 1.0 for 3.0)
    return sum(items)


def _heappop(x):
    items = [x, x * 2.0]
    smallest = heapq.heappop(items)
    return smallest + sum(items)


def _insort(x):
    items = [x]
    bisect.insort(items, x * 3.0)
    return sum(items)


def _shuffle_generator(x):
    v = x * 1.0
    np.random.default_rng(0).shuffle(v)
    return np.sum(v * np.arange(3))


@pytest.mark.parametrize("f, words", [(_heappush_assigned, "heapq.heappush changes its argument"),
                                      (_heappop, "heapq.heappop changes its argument"),
                                      (_insort, "bisect.insort_right changes its argument"),
                                      (_shuffle_generator, "shuffle")])
def test_list_and_array_writers_are_refused_assigned_or_not(f, words):
    with pytest.raises(tangent.TangentSyntaxError, match="test_library_writes.py") as info:
        tangent.grad(f)(np.ones(3) if f is _shuffle_generator else 1.5)
    assert words in str(info.value)


def _sorted_keys(p):
    return sum(np.sum(p[k] * (i + 1)) for i, k in enumerate(sorted(p)))


def test_sorted_keys_of_a_dict_carry_no_derivative():
    p = {"b": np.array([1.0, 2.0]), "a": np.array([0.5, -1.0])}
    check_grads(_sorted_keys, p, modes=("reverse", "forward"))
    g = tangent.grad(_sorted_keys)(p)
    np.testing.assert_allclose(g["a"], [1.0, 1.0])
    np.testing.assert_allclose(g["b"], [2.0, 2.0])
