"""Forward mode and Hessian-vector products: bug classes found by random
programs, each checked against central finite differences.

Every check also asserts that the arguments and the tangent vectors are
unchanged by the derivative call and that a second call gives the same
numbers; forward mode is also checked against reverse mode
(``<u, J v> == <J^T u, v>``).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import tangent
from tests.test_forward import as_float, random_like, tree_map, tree_vdot


def _richardson(f, args, wrt, vs, eps=1e-4):
    """Fourth-order central difference of f along ``vs`` (float64)."""
    def at(step):
        moved = list(copy.deepcopy(args))
        for i, v in zip(wrt, vs):
            moved[i] = tree_map(lambda x, d: x + step * d, moved[i], v)
        return f(*moved)

    p1, m1, p2, m2 = at(eps), at(-eps), at(2 * eps), at(-2 * eps)
    return tree_map(lambda a, b, c, d: (8 * (np.asarray(a, float) - np.asarray(b, float))
                                        - (np.asarray(c, float) - np.asarray(d, float))) / (12 * eps),
                    p1, m1, p2, m2)


def assert_same(a, b):
    tree_map(lambda x, y: np.testing.assert_array_equal(np.asarray(x), np.asarray(y)), a, b)
    tree_map(lambda x, y: _assert_shape(x, y), a, b)


def _assert_shape(x, y):
    assert np.shape(x) == np.shape(y)


def assert_close(actual, expected, rtol=1e-6, atol=1e-7):
    tree_map(lambda a, e: (_assert_shape(a, e), np.testing.assert_allclose(a, e, rtol=rtol, atol=atol)),
             actual, expected)


def check_jvp(f, *args, wrt=(0,), seed=0, reverse=True):
    """jvp of f against finite differences (and vjp unless ``reverse`` is
    False); inputs and tangents unchanged, a second call the same."""
    wrt = (wrt,) if isinstance(wrt, int) else tuple(wrt)
    args = [as_float(a) if i in wrt else a for i, a in enumerate(args)]
    r = np.random.default_rng(seed)
    vs = [random_like(args[i], r) for i in wrt]
    saved_args, saved_vs = copy.deepcopy(args), copy.deepcopy(vs)
    df = tangent.jvp(f, wrt=wrt)
    got = df(*args, *vs)
    assert_same(args, saved_args)
    assert_same(vs, saved_vs)
    assert_same(df(*copy.deepcopy(saved_args), *copy.deepcopy(saved_vs)), got)
    assert_close(got, _richardson(f, saved_args, wrt, saved_vs))
    if not reverse:
        return got
    u = random_like(as_float(f(*copy.deepcopy(saved_args))), r)
    adjoints = tangent.vjp(f, wrt=wrt)(*copy.deepcopy(saved_args), u)
    adjoints = (adjoints,) if len(wrt) == 1 else adjoints
    lhs = tree_vdot(u, got)
    rhs = sum(tree_vdot(g, v) for g, v in zip(adjoints, saved_vs))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-9, atol=1e-10)
    return got


def check_hvp(f, *args, wrt=0, seed=0):
    """hvp of f against finite differences of its gradient."""
    args = [as_float(a) if i == wrt else a for i, a in enumerate(args)]
    v = random_like(args[wrt], np.random.default_rng(seed))
    saved_args, saved_v = copy.deepcopy(args), copy.deepcopy(v)
    product = tangent.hvp(f, wrt=wrt)
    got = product(*args, v)
    assert_same(args, saved_args)
    assert_same(v, saved_v)
    assert_same(product(*copy.deepcopy(saved_args), copy.deepcopy(saved_v)), got)
    gradient = tangent.grad(f, wrt=wrt)
    assert_close(got, _richardson(gradient, saved_args, (wrt,), (saved_v,)), rtol=1e-5, atol=1e-6)
    return got


R = np.random.RandomState(7)
SHAPES = {"scalar": 1.3, "0d": np.array(0.8), "vec": R.rand(3) + 0.5, "mat": R.rand(2, 3) + 0.5}

# ------------------------------------------ 1. broadcasting of dropped zeros


def b_sub(x0, x1):
    return np.sum(x1 - x0)


def b_add(x0, x1):
    return x1 + x0


def b_add_left(x0, x1):
    return x0 + x1


def b_mul(x0, x1):
    return x1 * x0


def b_div(x0, x1):
    return x1 / x0


def b_div_right(x0, x1):
    return x0 / x1


def b_pow(x0, x1):
    return x1 ** x0


def b_where(x0, x1):
    return np.where(x1 > 1.0, x0, 2.0 * x1)


def b_maximum(x0, x1):
    return np.maximum(x0, x1 + 0.05)


def b_minimum(x0, x1):
    return np.minimum(x1 + 0.05, x0)


def b_arctan2(x0, x1):
    return np.arctan2(x0, x1)


def b_hypot(x0, x1):
    return np.hypot(x1, x0)


def b_logaddexp(x0, x1):
    return np.logaddexp(x0, x1)


def b_np_subtract(x0, x1):
    return np.subtract(x1, x0)


def b_mean_axis(x0, x1):
    return np.mean(x1 - x0, axis=0)


def b_sum_axis(x0, x1):
    y = x0 + x1
    return np.sum(y * y, axis=-1)


def b_chain(x0, x1):
    a = x0 - x1
    b = a * 2.0
    return np.sum(b + x1)


BINARY = [b_sub, b_add, b_add_left, b_mul, b_div, b_div_right, b_pow, b_where, b_maximum, b_minimum,
          b_arctan2, b_hypot, b_logaddexp, b_np_subtract, b_mean_axis, b_sum_axis, b_chain]


@pytest.mark.parametrize("func", BINARY, ids=lambda f: f.__name__)
@pytest.mark.parametrize("shapes", [("vec", "mat"), ("mat", "vec"), ("scalar", "vec"), ("vec", "scalar"),
                                    ("0d", "mat"), ("mat", "0d")], ids="-".join)
@pytest.mark.parametrize("wrt", [0, 1])
def test_tangent_has_the_broadcast_shape_of_the_result(func, shapes, wrt):
    x0, x1 = (copy.deepcopy(SHAPES[s]) for s in shapes)
    if func in (b_mean_axis, b_sum_axis) and np.ndim(x0) + np.ndim(x1) < 2:
        pytest.skip("needs an axis")
    check_jvp(func, x0, x1, wrt=wrt)


def test_issue_repro_sum_of_broadcast_difference():
    def f(x0, x1):
        return np.sum(x1 - x0)

    x0, x1, v0 = np.ones(3), np.ones((2, 3)), np.arange(3.0)
    np.testing.assert_allclose(tangent.jvp(f, wrt=(0,))(x0, x1, v0), -2 * np.sum(v0))


def test_clip_with_bounds_of_broadcast_shape():
    def f(x, lo):
        return np.clip(x, lo, 3.0)

    check_jvp(f, np.array([0.2, 1.0, 2.5]), np.array([[0.5, 0.4, 0.1], [0.1, 1.5, 0.2]]), wrt=0)
    check_jvp(f, np.array([0.2, 1.0, 2.5]), np.array([[0.5, 0.4, 0.1], [0.1, 1.5, 0.2]]), wrt=1)


def list_concat_right(x):
    xs = [1.0, 2.0] + [x, x * x]
    return xs[0] * xs[2] + xs[3] * xs[1]


def list_concat_left(x):
    xs = [x, 2.0 * x] + [3.0]
    return xs[0] * xs[2] + xs[1]


def tuple_concat(x):
    xs = (x,) + (1.5, 2.0)
    return xs[0] * xs[1] * xs[2]


@pytest.mark.parametrize("func", [list_concat_right, list_concat_left, tuple_concat], ids=lambda f: f.__name__)
def test_sequence_concatenation_with_inactive_part(func):
    # (reverse mode of list concatenation is checked elsewhere: its adjoint
    # of `+` does not split the list yet)
    check_jvp(func, 0.7, reverse=False)


def test_hvp_of_broadcast_programs():
    def f(x, y):
        return np.sum((y - x) ** 2 * np.sin(x))

    check_hvp(f, np.array([0.3, 0.5, 0.9]), np.array([[1.0, 2.0, 0.5], [0.1, 0.2, 0.3]]))


# ---------------------- 2. forward mode never writes into a tangent it does not own


def copy_method(u):
    u = u.copy()
    u[0] = u[0] * 2.0
    return u


def np_copy(u):
    w = np.copy(u)
    w[0] = w[0] * 2.0
    return w * u


def np_array(u):
    w = np.array(u)
    w[0] = w[0] * 2.0
    return w * u


def astype(u):
    w = u.astype(float)
    w[0] = w[0] * 2.0
    return w * u


def plus_constant(u):
    w = u + 0.0
    w[0] = w[0] * 2.0
    return w * u


def unary_plus(u):
    w = +u
    w[0] = 2.0 * w[1]
    return w * u


def reshape_then_add(u):
    w = u.reshape(3) + 1.0
    w[0] = w[0] * 2.0
    return w * u


def flatten(u):
    w = u.flatten()
    w[0] = 2.0 * w[1]
    return w * u


def list_copy(u):
    lst = [u[0], u[1]]
    m = lst.copy()
    m[0] = m[0] * 3.0
    return m[0] * lst[0] * m[1]


def dict_copy(u):
    d = {"a": u[0], "b": u}
    e = d.copy()
    e["a"] = e["a"] * 3.0
    return e["a"] * d["a"] * np.sum(e["b"])


def _add_one(a):
    return a + 1.0


def helper_result(u):
    w = _add_one(u)
    w[1] = w[0] * w[2]
    return w * u


def copy_in_loop(u):
    w = u * 1.0
    for i in range(2):
        w = w.copy()
        w[i] = w[i] * w[i + 1]
    return w + u


COPIES = [copy_method, np_copy, np_array, astype, plus_constant, unary_plus, reshape_then_add, flatten,
          list_copy, dict_copy, helper_result, copy_in_loop]


@pytest.mark.parametrize("func", COPIES, ids=lambda f: f.__name__)
def test_writes_into_a_copy_leave_the_tangent_vector_alone(func):
    check_jvp(func, np.array([1.0, 2.0, 3.0]))


@pytest.mark.parametrize("func", COPIES, ids=lambda f: f.__name__)
def test_hvp_of_writes_into_copies(func):
    def scalar(u):
        return np.sum(func(u) * np.sin(u))

    check_hvp(scalar, np.array([1.0, 2.0, 3.0]))


def test_issue_repro_jvp_twice_gives_the_same_answer():
    u, du = np.ones(3), np.array([1.0, 2.0, 3.0])
    df = tangent.jvp(copy_method)
    first = df(u, du)
    np.testing.assert_array_equal(du, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(df(u, du), first)
    np.testing.assert_allclose(first, _richardson(copy_method, [u], (0,), [du]))


def identity(x):
    return x


def shifted(x):
    return x + 1.0


@pytest.mark.parametrize("func", [identity, shifted], ids=lambda f: f.__name__)
def test_returned_tangent_is_not_the_callers_vector(func):
    v = np.array([1.0, 2.0])
    out = tangent.jvp(func)(np.zeros(2), v)
    np.testing.assert_array_equal(out, v)
    assert not np.shares_memory(out, v)


def test_reverse_mode_leaves_the_seed_alone():
    def f(x):
        y = x.copy()
        y[0] = y[0] * 3.0
        return y * 2.0

    x, seed = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    g = tangent.vjp(f)(x, seed)
    np.testing.assert_array_equal(seed, [0.5, -1.0])
    np.testing.assert_allclose(g, [3.0 * 2.0 * 0.5, -2.0])


# --------- values that share memory with one written later have aliased tangents


def alias_then_write(x, c):
    y = c.copy()
    z = y
    y[0] = x[0]
    return np.sum(z * x)


def view_then_write(x, c):
    y = c.copy()
    z = y[:2]
    y[0] = x[0] * x[1]
    return np.sum(z) * x[2]


def container_then_write(x, c):
    y = c * 1.0
    lst = [y]
    y[0] = 5.0 * x[2]
    return np.sum(lst[0] * x)


def appended_then_write(x, c):
    hs = []
    h = c.copy()
    hs.append(h)
    h[1] = x[0] * x[2]
    return np.sum(hs[0] * x)


@pytest.mark.parametrize("func", [alias_then_write, view_then_write, container_then_write, appended_then_write],
                         ids=lambda f: f.__name__)
def test_write_reaches_aliases_taken_while_inactive(func):
    # (reverse mode refuses or, through containers, mishandles these: only
    # forward mode is compared with finite differences here)
    check_jvp(func, np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.7, 0.9]), reverse=False)


# ------------- 3. zero tangents of inactive arrays indexed, multiplied, written


def z_setitem_matmul(x, y):
    z = y.copy()
    z[1] = x[0]
    return np.sum(z @ z)


def z_index_matmul(x, y):
    return y[0] @ x + y[1, 2]


def z_slice_write(x, y):
    z = y[0] * 1.0
    z[1] = x[1]
    return np.sum(z[1:] @ y[:2, 1:])


def z_zeros_written(x, y):
    z = np.zeros(3)
    z[1] = x[0] * x[2]
    return np.sum(z @ y) + np.sum(y[1] * z)


def z_rows(x, y):
    t = 0.0
    for row in y:
        t = t + np.sum(row * x) ** 2
    return t


@pytest.mark.parametrize("func", [z_setitem_matmul, z_index_matmul, z_slice_write, z_zeros_written, z_rows],
                         ids=lambda f: f.__name__)
@pytest.mark.parametrize("wrt", [0, 1])
def test_zero_tangents_of_inactive_arrays(func, wrt):
    x, y = np.array([0.5, 1.2, -0.7]), np.arange(9.0).reshape(3, 3) * 0.1 + 0.2
    check_jvp(func, x, y, wrt=wrt)

    def scalar(a, b):
        return np.sum(func(a, b)) ** 2

    check_hvp(scalar, x, y, wrt=wrt)


def h_outer_axis(x):
    A = np.outer(x, x)
    return np.sum(np.sum(A, axis=0) ** 2) + A[1, 2] * x[0]


def h_loop_slices(x):
    s = 0.0
    for i in range(3):
        s = s + np.sum(x[i:] * x[i])
    return s


def h_row_write(x):
    W = np.ones((3, 3))
    W[0] = x
    return np.sum(np.tanh(W @ x))


def h_while_carried(x):
    z = x.copy()
    i = 0
    while i < 2:
        z[i + 1] = z[i] * z[i + 1]
        i = i + 1
    return np.sum(z ** 2)


def h_rows_mean(x):
    y = np.zeros((2, 3))
    y[0] = x
    y[1] = x * x
    return np.sum(np.mean(y, axis=1) ** 2)


def h_containers(x):
    d = {"a": x[0], "b": x[1:]}
    t = (x[0], x[1] * x[2])
    a, b = t
    lst = []
    for i in range(3):
        lst.append(x[i] ** 2)
    return d["a"] * np.sum(d["b"] ** 2) + a * b + lst[0] * lst[1] + np.max(x) ** 2


@pytest.mark.parametrize("func", [h_outer_axis, h_loop_slices, h_row_write, h_while_carried, h_rows_mean,
                                  h_containers], ids=lambda f: f.__name__)
def test_hvp_and_jvp_of_indexing_loops_and_containers(func):
    x = np.array([0.5, 1.2, -0.7])
    check_hvp(func, x)
    check_jvp(func, x)
