"""Lists and tuples as operands of arithmetic with arrays (NumPy reads them as
arrays): the adjoint of the list operand is a list of its items' adjoints,
forward tangents broadcast and negate like the arrays NumPy makes of them,
and ``num * list`` where num may be an array is decided at run time."""

import numpy as np
import pytest

from tangent.testing import check_grads


def list_times_array(a, b, arr):
    return np.sum([a, b] * arr)


def array_times_list(a, b, arr):
    return np.sum(arr * [a, b])


def array_plus_list(a, b, arr):
    return np.sum(arr + [a, b]) * a


def divide_and_subtract_lists(a, b, arr):
    return np.sum(arr / [a, b] - [b, a])


def tuple_times_array(a, b, arr):
    return np.sum((a, b) * arr)


def named_list_times_array(a, b, arr):
    pair = [a, b]
    return np.sum(pair * arr + np.exp(pair))


def ufunc_of_list_times_list(a, b, arr):
    return np.sum(np.maximum([a, b], arr) * [b, a])


def array_minus_list(a, b, arr):
    return np.sum(arr - [a, b])


def list_minus_array(a, b, arr):
    return np.sum([a, b] - arr)


def chained(a, b, arr):
    v = [a, b] * arr
    w = v + [b, a]
    return np.sum(w * w)


@pytest.mark.parametrize("f", [list_times_array, array_times_list, array_plus_list, divide_and_subtract_lists,
                               tuple_times_array, named_list_times_array, ufunc_of_list_times_list,
                               array_minus_list, list_minus_array, chained])
@pytest.mark.parametrize("ndim", [1, 2])
def test_list_operand_of_arithmetic_with_an_array(f, ndim):
    arr = np.array([0.3, 1.7]) if ndim == 1 else np.array([[0.3, 1.7], [0.4, -0.2]])
    check_grads(f, 0.5, -1.3, arr, order=2)


def list_argument_times_array(values, arr):
    return np.sum(values * arr) + np.sum(arr / values)


def ufunc_of_list_argument(values, arr):
    return np.sum(np.exp(values)) * arr[0]


@pytest.mark.parametrize("values", [[0.5, -1.3], (0.5, -1.3)])
def test_list_argument_as_an_array_operand(values):
    # the gradient of a list argument is a list (check_grads checks the structure)
    arr = np.array([0.3, 1.7])
    check_grads(list_argument_times_array, values, arr, order=1)
    check_grads(list_argument_times_array, values, arr, modes=("forward",), order=2)
    check_grads(ufunc_of_list_argument, values, arr, order=2)
