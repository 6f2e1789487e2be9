"""Writes into memory the caller owns (an argument, a view of it: basic
slice, reshape, ravel, .T; an item of a list or dict argument, a loop target
over a list argument, or what a helper returns of it) are differentiated on
a private copy, or refused where reverse mode cannot undo them; the
derivative never changes the caller's arguments. Advanced (integer or boolean array) indexing copies, so writing into its
result is allowed and differentiated."""

import copy

import numpy as np
import pytest

import tangent
from tangent.testing import check_grads
from tests.utils import assert_tree_close, numeric_grad


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


def _copying(f):
    """f as mathematics: each call on private copies of its arguments."""
    return lambda *args: f(*copy.deepcopy(args))


def _same_tree(a, b):
    if isinstance(a, dict):
        return isinstance(b, dict) and set(a) == set(b) and all(_same_tree(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(map(_same_tree, a, b))
    return np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=0, atol=0)


def _directional_fd(f, args, tangents, eps=1e-6):
    """Central finite difference of f along the tangents of every argument."""
    def moved(step):
        return [_axpy(a, t, step) for a, t in zip(args, tangents)]
    return (np.asarray(f(*moved(eps))) - np.asarray(f(*moved(-eps)))) / (2 * eps)


def _axpy(a, t, step):
    if isinstance(a, dict):
        return {k: _axpy(a[k], t[k], step) for k in a}
    if isinstance(a, (list, tuple)):
        return type(a)(_axpy(x, y, step) for x, y in zip(a, t))
    return a + step * t


REVERSE = {"through_reshape", "through_ravel", "through_dict_item", "through_helper_result"}


@pytest.mark.parametrize("f, line, written, argument, make_args", CASES, ids=[c[0].__name__ for c in CASES])
def test_forward_mode_leaves_the_callers_argument_as_it_was(f, line, written, argument, make_args):
    args, tangents = make_args(), make_args()
    expected_args = make_args()  # f writes into its argument: its derivative does not
    seeds = copy.deepcopy(tangents)
    got = tangent.jvp(f, wrt=tuple(range(len(args))))(*args, *tangents)
    np.testing.assert_allclose(got, _directional_fd(_copying(f), make_args(), tangents), rtol=1e-6, atol=1e-8)
    assert _same_tree(args, expected_args)  # the caller's argument is unchanged
    assert _same_tree(tangents, seeds)  # the tangents are never written into


@pytest.mark.parametrize("f, line, written, argument, make_args", CASES, ids=[c[0].__name__ for c in CASES])
def test_reverse_mode_leaves_the_callers_argument_as_it_was(f, line, written, argument, make_args):
    args = make_args()
    if f.__name__ not in REVERSE:
        # a write into a view or an item whose memory another name reads later: reverse
        # mode refuses it as it does for local values, naming the user's variables
        with pytest.raises(tangent.TangentSyntaxError) as info:
            tangent.grad(f)(*args)
        message = str(info.value)
        assert "test_argument_writes.py" in message and line in message, message
        assert written in message and "read after this write" in message, message
        assert "'_" not in message and "_copy" not in message, message
        return
    expected_args = make_args()
    got = tangent.grad(f)(*args)
    assert_tree_close(got, numeric_grad(_copying(f), make_args(), 0))
    assert _same_tree(args, expected_args)
    x, v = make_args()[0], _axpy(make_args()[0], make_args()[0], -0.5)
    h = tangent.hvp(f)(x, v)
    assert _same_tree([x], expected_args)
    step = 1e-4  # finite differences of finite-difference gradients
    plus = numeric_grad(_copying(f), [_axpy(make_args()[0], v, step)], 0)
    minus = numeric_grad(_copying(f), [_axpy(make_args()[0], v, -step)], 0)
    assert_tree_close(h, _scale(_axpy(plus, minus, -1.0), 0.5 / step),
                      rtol=1e-4, atol=1e-4)


def _scale(a, c):
    return {k: _scale(v, c) for k, v in a.items()} if isinstance(a, dict) else a * c


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


# ----------------------------------------------- writes into the argument itself


def subscript2(x):  # Google Tangent's test_subscript2
    a = x[0]
    b = x[1]
    x[0] = a * b
    return np.sum(x)


def subscript3(x):  # Google Tangent's test_subscript3
    y = x ** 2.0
    x[0] = y[1] * y[2]
    return np.sum(x * y)


def sgd_step(params, g):
    params["W"] -= 0.1 * g * params["b"]
    return np.sum(params["W"] ** 2) + np.sum(params["b"])


def index_list(x, r):
    r[0] = r[1]
    return np.sum(x[r] * x)


def vector_out(x):
    x[1] = x[0] * x[2]
    return np.sin(x) * x[0]


@pytest.mark.parametrize("f", [subscript2, subscript3])
def test_writes_into_an_array_argument(f):
    x0 = np.array([0.5, -1.0, 2.0])
    expected = x0.copy()
    value = f(x0.copy())
    x, seed = x0.copy(), np.float64(1.0)
    g, result = tangent.grad(f, preserve_result=True)(x, seed)
    assert_tree_close(g, numeric_grad(_copying(f), [x0.copy()], 0))
    assert result == value and _same_tree(x, expected) and seed == 1.0
    # forward mode, the Hessian-vector product, the Hessian and the Jacobian: none writes into x
    v = np.array([0.3, 0.2, -0.7])
    x = x0.copy()
    np.testing.assert_allclose(tangent.jvp(f)(x, v), _directional_fd(_copying(f), [x0.copy()], [v]), rtol=1e-6)
    assert _same_tree(x, expected) and _same_tree(v, np.array([0.3, 0.2, -0.7]))
    H = tangent.hessian(f)(x := x0.copy())
    assert _same_tree(x, expected)
    step = 1e-4
    columns = [(numeric_grad(_copying(f), [x0 + step * e], 0) - numeric_grad(_copying(f), [x0 - step * e], 0)) / (2 * step)
               for e in np.eye(3)]
    np.testing.assert_allclose(H, np.stack(columns, axis=1), rtol=1e-4, atol=1e-4)
    x = x0.copy()
    np.testing.assert_allclose(tangent.hvp(f)(x, v), H @ v, rtol=1e-6, atol=1e-8)
    assert _same_tree(x, expected)
    x = x0.copy()
    np.testing.assert_allclose(tangent.jacobian(f)(x), numeric_grad(_copying(f), [x0.copy()], 0), rtol=1e-5)
    assert _same_tree(x, expected)


def test_split_motion_leaves_the_argument_as_it_was():
    x0 = np.array([0.5, -1.0, 2.0])
    expected = x0.copy()
    value = subscript3(x0.copy())
    split = tangent.grad(subscript3, motion="split")
    x = x0.copy()
    result, saved = split.forward(x)
    assert result == value and _same_tree(x, expected)
    expected_grad = numeric_grad(_copying(subscript3), [x0.copy()], 0)
    for _ in range(2):  # several backward sweeps from one forward sweep
        assert_tree_close(split.backward(saved, 1.0), expected_grad)
    assert _same_tree(x, expected)


def test_vector_result_jacobian_and_vjp():
    x0 = np.array([0.5, -1.0, 2.0])
    expected = x0.copy()
    x, u = x0.copy(), np.array([1.0, -2.0, 0.5])
    got = tangent.vjp(vector_out)(x, u)
    assert_tree_close(got, numeric_grad(_copying(vector_out), [x0.copy()], 0, seed=u))
    assert _same_tree(x, expected) and _same_tree(u, np.array([1.0, -2.0, 0.5]))
    for mode in ("forward", "reverse"):
        x = x0.copy()
        J = tangent.jacobian(vector_out, mode=mode)(x)
        assert _same_tree(x, expected)
        for i, e in enumerate(np.eye(3)):
            np.testing.assert_allclose(J[:, i], _directional_fd(_copying(vector_out), [x0.copy()], [e]), rtol=1e-6,
                                       atol=1e-8)


def test_augmented_update_of_a_dict_item_argument():
    def make():
        return {"W": np.array([0.5, -1.0, 2.0]), "b": np.array([1.5, 0.5, -0.3])}
    g = np.array([0.2, 0.4, -1.0])
    expected = make()
    params = make()
    W = params["W"]
    grads = tangent.grad(sgd_step, wrt=(0, 1))(params, g)
    assert_tree_close(grads[0], numeric_grad(_copying(sgd_step), [make(), g], 0))
    assert_tree_close(grads[1], numeric_grad(_copying(sgd_step), [make(), g], 1))
    assert _same_tree(params, expected)
    assert params["W"] is W  # the derivative updated a copy, not the caller's dict
    params, t = make(), {"W": np.array([1.0, 0.0, -1.0]), "b": np.array([0.5, 0.5, 0.5])}
    got = tangent.jvp(sgd_step)(params, g, t)
    np.testing.assert_allclose(got, _directional_fd(lambda p: _copying(sgd_step)(p, g), [make()], [t]), rtol=1e-6)
    assert _same_tree(params, expected) and t["W"][0] == 1.0


def test_a_written_index_list_argument():
    x0 = np.array([0.5, -1.0, 2.0])
    r = [0, 2, 1]
    got = tangent.grad(index_list)(x0.copy(), r)
    assert r == [0, 2, 1]  # index_list writes into r; its derivative does not
    assert_tree_close(got, numeric_grad(_copying(index_list), [x0.copy(), [0, 2, 1]], 0))
    r = [0, 2, 1]
    v = np.array([1.0, 0.5, -0.5])
    np.testing.assert_allclose(tangent.jvp(index_list)(x0.copy(), r, v),
                               _directional_fd(lambda x: _copying(index_list)(x, [0, 2, 1]), [x0.copy()], [v]), rtol=1e-6)
    assert r == [0, 2, 1]


def test_the_generated_code_works_on_a_copy_and_leaves_the_argument_alone():
    text = tangent.source(tangent.grad(subscript2))
    assert "x_copy = private_copy(x)" in text and "write_back_arguments" not in text, text


# ----------------------------------------------- helpers writing into their parameters


def fill_first(u, b):
    u[0] = b[0] * 2.0
    return 0.0


def calls_a_writing_helper(b):
    u = np.zeros(2)
    fill_first(u, b)  # changes u: once differentiated as if it did not (a silently wrong derivative)
    return np.sum(u * b)


def swap(r, k):
    r[0], r[k] = r[k], r[0]


def calls_an_index_helper(x, r):
    swap(r, 1)
    return np.sum(x[r] * x)


@pytest.mark.parametrize("f, args, line, helper, param", [
    (calls_a_writing_helper, (np.array([0.5, 1.5]),), "fill_first(u, b)", "fill_first", "'u'"),
    (calls_an_index_helper, (np.array([0.5, 1.5, -1.0]), [0, 2, 1]), "swap(r, 1)", "swap", "'r'"),
])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_helper_writing_into_its_parameter_is_refused(f, args, line, helper, param, mode):
    with pytest.raises(tangent.TangentSyntaxError) as info:
        if mode == "reverse":
            tangent.grad(f)(*args)
        else:
            tangent.jvp(f)(*args, np.ones_like(args[0]))
    message = str(info.value)
    assert "test_argument_writes.py" in message and line in message and helper in message and param in message
    assert "'_" not in message, message


def writes_x_reads_y(x, y):
    x[0] = 5.0 * y[1]
    return np.sum(y * x)


def test_a_written_argument_passed_twice_is_refused_at_the_call():
    a = np.array([1.0, 2.0])
    with pytest.raises(tangent.TangentError, match="shares memory with another of its arguments"):
        tangent.grad(writes_x_reads_y)(a, a)
    x, y = np.array([1.0, 2.0]), np.array([1.0, 2.0])
    gx, gy = tangent.grad(writes_x_reads_y, wrt=(0, 1))(x, y)
    assert_tree_close(gx, numeric_grad(_copying(writes_x_reads_y), [np.array([1.0, 2.0]), y.copy()], 0))
    assert_tree_close(gy, numeric_grad(_copying(writes_x_reads_y), [np.array([1.0, 2.0]), y.copy()], 1))
    assert x[0] == 1.0  # writes_x_reads_y writes into x; its derivative does not
