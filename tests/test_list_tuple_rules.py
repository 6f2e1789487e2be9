"""list(u) and tuple(u) of arrays, lists and tuples in both modes and at
second order: the adjoint goes back to u's kind and shape, the tangent is the
list of the items' tangents."""

import numpy as np
import pytest

from tangent.testing import check_grads


def writes_into_list_of(u):
    items = list(u)
    items[0] = items[0] * 2.0
    return np.sum(items[0] * items[1] + items[2])


def reads_tuple_of(u):
    t = tuple(u)
    return np.sum(t[0] * t[1] + t[2] * t[0])


def stacks_list_of(u):
    items = list(u)
    return np.sum(np.stack(items) ** 3)


def loops_over_list_of(u, w):
    s = 0.0
    for a in list(u):
        s = s + np.sum(a * w) ** 2
    return s


ARGS = {
    "array": lambda: np.array([0.5, -1.0, 2.0]),
    "matrix": lambda: np.array([[0.5, -1.0], [2.0, 0.3], [1.1, -0.4]]),
    "list": lambda: [0.5, -1.0, 2.0],
    "tuple": lambda: (0.5, -1.0, 2.0),
    "list of arrays": lambda: [np.array([0.5, -1.0]), np.array([2.0, 0.3]), np.array([1.1, -0.4])],
}


@pytest.mark.parametrize("kind", list(ARGS))
def test_list_of_a_value_written_into(kind):
    # (reverse over reverse of code that writes into a list is refused: hvp is forward over reverse)
    check_grads(writes_into_list_of, ARGS[kind](), order=1)
    check_grads(writes_into_list_of, ARGS[kind](), modes=("forward",), order=2)


@pytest.mark.parametrize("f", [reads_tuple_of, stacks_list_of])
@pytest.mark.parametrize("kind", list(ARGS))
def test_tuple_and_list_of_a_value(f, kind):
    check_grads(f, ARGS[kind](), order=2)


def test_loop_over_list_of_rows():
    check_grads(loops_over_list_of, ARGS["matrix"](), np.array([0.2, 0.7]), order=2)
