"""Writes into memory the caller owns are refused in both modes: into an
argument, a view of it (basic slice, reshape, ravel, .T), an item of a list or
dict argument, a loop target over a list argument, or what a helper returns of
it. Advanced (integer or boolean array) indexing copies, so writing into its
result is allowed and differentiated."""

import numpy as np
import pytest

import tangent
from tangent.testing import check_grads


def through_slice(x):
    z = x[:2]
    z[0] = 3.0 * x[1]
    return np.sum(z * x[:2])


def through_reshape(x):
    z = x.reshape(2, 2)
    z[0, 0] = 3.0 * x[1]
    return np.sum(z * z)


def through_ravel(m):
    z = m.ravel()
    z[1] = m[0, 0] * 2.0
    return np.sum(z)


def through_transpose(m):
    z = m.T
    z[0] = 1.0
    return np.sum(z * m.T)


def through_dict_item(params):
    W = params["W"]
    W[0] = 2.0 * W[1]
    return np.sum(W * W)


def through_loop_over_list(ws):
    s = 0.0
    for w in ws:
        w[0] = 2.0 * w[1]
        s = s + np.sum(w * w)
    return s


def through_unpacked_layers(layers):
    s = 0.0
    for W, b in layers:
        b[0] = 0.0
        s = s + np.sum(W) * np.sum(b)
    return s


def through_enumerate(ws):
    s = 0.0
    for i, w in enumerate(ws):
        w[0] = float(i)
        s = s + np.sum(w)
    return s


def first_two(a):
    return a[:2]


def through_helper_result(x):
    z = first_two(x)
    z[1] = x[0] * 4.0
    return np.sum(z * z)


def through_list_of_rows(m):
    rows = list(m)
    r = rows[0]
    r[0] = 5.0
    return np.sum(m)


CASES = [
    (through_slice, "z[0] = 3.0 * x[1]", "'z'", "'x'", lambda: (np.array([0.5, -1.0, 2.0]),)),
    (through_reshape, "z[0, 0] = 3.0 * x[1]", "'z'", "'x'", lambda: (np.array([0.5, -1.0, 2.0, 0.3]),)),
    (through_ravel, "z[1] = m[0, 0] * 2.0", "'z'", "'m'", lambda: (np.ones((2, 2)),)),
    (through_transpose, "z[0] = 1.0", "'z'", "'m'", lambda: (np.ones((2, 2)),)),
    (through_dict_item, "W[0] = 2.0 * W[1]", "'W'", "'params'", lambda: ({"W": np.array([0.5, -1.0, 2.0])},)),
    (through_loop_over_list, "w[0] = 2.0 * w[1]", "'w'", "'ws'", lambda: ([np.array([0.5, -1.0]), np.array([2.0, 0.3])],)),
    (through_unpacked_layers, "b[0] = 0.0", "'b'", "'layers'", lambda: ([(np.ones(2), np.array([0.5, 1.0]))],)),
    (through_enumerate, "w[0] = float(i)", "'w'", "'ws'", lambda: ([np.array([0.5, -1.0])],)),
    (through_helper_result, "z[1] = x[0] * 4.0", "'z'", "'x'", lambda: (np.array([0.5, -1.0, 2.0]),)),
    (through_list_of_rows, "r[0] = 5.0", "'r'", "'m'", lambda: (np.ones((2, 2)),)),
]


@pytest.mark.parametrize("f, line, written, argument, make_args", CASES, ids=[c[0].__name__ for c in CASES])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_writes_into_the_callers_memory_are_refused(f, line, written, argument, make_args, mode):
    args = make_args()
    with pytest.raises(tangent.TangentSyntaxError) as info:
        if mode == "reverse":
            tangent.grad(f)(*args)
        else:
            tangent.jvp(f)(*args, *args)
    message = str(info.value)
    assert "test_argument_writes.py" in message and line in message, message
    assert "changing the caller's value" in message, message
    assert written in message and argument in message, message
    assert "'_" not in message, message  # never a temporary of the normalizer


def through_fancy_index(x):
    z = x[np.array([0, 1])]
    z[0] = 3.0 * x[1]
    return np.sum(z * x[:2])


def through_index_list(x):
    z = x[[2, 0]]
    z[1] = z[0] * x[1]
    return np.sum(z * z)


def through_mask(x):
    z = x[x > 0.0]
    z[0] = z[0] * x[0]
    return np.sum(z * z)


def through_copies(params, ws):
    W = params["W"].copy()
    W[0] = 2.0 * W[1]
    s = np.sum(W * W)
    for w in ws:
        w = w.copy()
        w[0] = w[1] * s
        s = s + np.sum(w * w)
    z = params["W"][:2].copy()
    z[1] = z[0] * 3.0
    return s + np.sum(z * params["W"][:2])


@pytest.mark.parametrize("f", [through_fancy_index, through_index_list, through_mask])
def test_writes_into_advanced_index_copies_are_differentiated(f):
    # (reverse over reverse of code writing into arrays is refused: hvp is forward over reverse)
    check_grads(f, np.array([0.5, -1.0, 2.0]), order=1)
    check_grads(f, np.array([0.5, -1.0, 2.0]), modes=("forward",), order=2)


def test_writes_into_copies_of_argument_items_are_differentiated():
    params = {"W": np.array([0.5, -1.0, 2.0])}
    ws = [np.array([0.3, 0.7]), np.array([-0.2, 1.1])]
    check_grads(through_copies, params, ws, order=1)
    check_grads(through_copies, params, ws, modes=("forward",), order=2)
