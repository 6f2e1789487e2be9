"""Element updates in nested loops (``u[i] = 0.5 * (u[i - 1] + b[i])``
inside two loops) are differentiated in both modes and to second order; a
write into a loop target over a local list is followed in forward mode (its
tangent was once left at zero) and refused in reverse mode naming the user's
variables; a list item whose shape changes on write is differentiated."""

import numpy as np
import pytest

import tangent
from tangent.testing import check_grads

B = np.array([0.5, 1.0, -1.0, 2.0])


def smoothing_sweeps(b):
    u = np.zeros(4)
    for k in range(3):  # noqa: B007 (three sweeps)
        for i in range(1, 4):
            u[i] = 0.5 * (u[i - 1] + b[i])
    return np.sum(u * u)


def grid_updates(b):
    u = np.zeros((3, 4))
    for j in range(1, 3):
        for i in range(1, 4):
            u[j, i] = 0.5 * (u[j, i - 1] + b[i]) * u[j - 1, i] + b[i - 1]
    return np.sum(np.sin(u))


def rows_of_a_local_list(b):
    us = [np.zeros(4), np.ones(4)]
    for u in us:
        for i in range(1, 4):
            u[i] = 0.5 * (u[i - 1] + b[i]) * b[i]
    return np.sum(us[0] * us[1])


def item_changes_shape(x):
    y = [x[0], x[1]]
    y[0] = x * 2.0
    return np.sum(y[0] * x) + y[1] ** 2


@pytest.mark.parametrize("f", [smoothing_sweeps, grid_updates, item_changes_shape])
def test_differentiated_in_both_modes_and_second_order(f):
    # (reverse over reverse of code writing into arrays is refused: hvp is forward over reverse)
    check_grads(f, B.copy(), order=1)
    check_grads(f, B.copy(), modes=("forward",), order=2)


def test_writes_through_a_loop_target_over_a_local_list():
    check_grads(rows_of_a_local_list, B.copy(), modes=("forward",), order=1)
    with pytest.raises(tangent.TangentSyntaxError) as info:
        tangent.grad(rows_of_a_local_list)(B.copy())
    message = str(info.value)
    assert "test_element_updates.py" in message and "u[i] = 0.5 * (u[i - 1] + b[i]) * b[i]" in message
    assert "'u'" in message and "'us'" in message and "'_" not in message, message
