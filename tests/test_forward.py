"""Forward mode (``tangent.jvp``) on the programs that reverse mode handles.

For each program two things are checked, in float64:

* the Jacobian-vector product against central finite differences of the
  function along the same random direction, and
* forward/reverse consistency: for a random ``u`` shaped like the output and a
  random ``v`` shaped like the inputs, ``<u, J v>`` (forward) equals
  ``<J^T u, v>`` (reverse, ``tangent.vjp``).

Most programs are the ones of ``tests/test_programs.py`` (imported, so both
modes differentiate the very same source); a few forward-specific ones are
defined here. A table of NumPy primitives with array outputs checks the
forward rules of ``tangent/rules/numpy_rules.py`` directly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tangent
from tests import test_programs as tp

# ---------------------------------------------------------------- pytrees


def tree_map(fn, *trees):
    first = trees[0]
    if isinstance(first, dict):
        return {k: tree_map(fn, *(t[k] for t in trees)) for k in first}
    if isinstance(first, (list, tuple)):
        return type(first)(tree_map(fn, *items) for items in zip(*trees))
    return fn(*trees)


def tree_vdot(a, b):
    if isinstance(a, dict):
        return sum(tree_vdot(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return sum(tree_vdot(x, y) for x, y in zip(a, b))
    return float(np.sum(np.asarray(a) * np.asarray(b)))


def random_like(tree, r):
    """A random tangent shaped like ``tree``: floats stay floats."""
    def leaf(x):
        if isinstance(x, np.ndarray):
            return np.asarray(r.standard_normal(x.shape))
        return float(r.standard_normal())
    return tree_map(leaf, tree)


def assert_tree_shapes(actual, expected):
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and set(actual) == set(expected)
        for k in expected:
            assert_tree_shapes(actual[k], expected[k])
    elif isinstance(expected, (list, tuple)):
        assert isinstance(actual, (list, tuple)) and len(actual) == len(expected)
        for a, e in zip(actual, expected):
            assert_tree_shapes(a, e)
    else:
        assert np.shape(actual) == np.shape(expected), f"shape {np.shape(actual)} != {np.shape(expected)}"


def assert_tree_close(actual, expected, rtol, atol):
    assert_tree_shapes(actual, expected)
    tree_map(lambda a, e: np.testing.assert_allclose(a, e, rtol=rtol, atol=atol), actual, expected)


def as_float(value):
    if isinstance(value, dict):
        return {k: as_float(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(as_float(v) for v in value)
    if isinstance(value, (float, int)) and not isinstance(value, bool):
        return float(value)
    return np.array(value, dtype=float)


def directional_fd(f, args, wrt, vs, eps=1e-6):
    """Central difference of f along the directions ``vs`` of ``args[wrt]``."""
    plus, minus = list(args), list(args)
    for i, v in zip(wrt, vs):
        plus[i] = tree_map(lambda x, d: x + eps * d, args[i], v)
        minus[i] = tree_map(lambda x, d: x - eps * d, args[i], v)
    fp, fm = f(*plus), f(*minus)
    return tree_map(lambda a, b: (np.asarray(a, dtype=float) - np.asarray(b, dtype=float)) / (2 * eps), fp, fm)


def check_forward(f, *args, wrt=(0,), seed=0, rtol=1e-5, atol=1e-6, **kwargs):
    """jvp against finite differences and against vjp; returns the jvp.

    Only the arguments in ``wrt`` are converted to float; the others (counts,
    flags, modes) are passed as given.
    """
    wrt = (wrt,) if isinstance(wrt, int) else tuple(wrt)
    args = [as_float(a) if i in wrt else a for i, a in enumerate(args)]
    r = np.random.default_rng(seed)
    vs = [random_like(args[i], r) for i in wrt]
    got = tangent.jvp(f, wrt=wrt)(*args, *vs, **kwargs)
    out = f(*args, **kwargs)
    expected = directional_fd(lambda *a: f(*a, **kwargs), args, wrt, vs)
    assert_tree_close(got, expected, rtol, atol)
    # forward/reverse consistency: <u, J v> == <J^T u, v>
    u = random_like(as_float(out), r)
    adjoints = tangent.vjp(f, wrt=wrt)(*args, u, **kwargs)
    adjoints = (adjoints,) if len(wrt) == 1 else adjoints
    lhs = tree_vdot(u, got)
    rhs = sum(tree_vdot(g, v) for g, v in zip(adjoints, vs))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-9, atol=1e-10)
    return got


def rng(seed=0):
    return np.random.default_rng(seed)


R = np.random.RandomState(1234)


def randn(*shape):
    return R.randn(*shape)


def pos(*shape):
    return np.abs(R.randn(*shape)) + 0.5


# ---------------------------------------------------- programs of test_programs
# (function, args, wrt). Integer / flag / mode arguments stay as given.

STRAIGHT = [
    (tp.mixed_float_array, (randn(4), 0.7), (0, 1)),
    (tp.broadcast_row_col, (randn(3, 1), randn(1, 4), 0.3), (0, 1, 2)),
    (tp.broadcast_vec_mat, (randn(2, 3), randn(3)), (0, 1)),
    (tp.broadcast_zero_d, (randn(3), np.array(0.4)), (0, 1)),
    (tp.float_ops, (1.7, 0.8), (0, 1)),
    (tp.augmented, (np.array([0.3, -0.8, 1.1]),), 0),
    (tp.augmented_add, (np.array([0.3, -0.8, 1.1]),), 0),
    (tp.self_mul, (3.0,), 0),
    (tp.reassign_param, (2.0, 3.0), (0, 1)),
    (tp.reassign_many, (randn(4),), 0),
    (tp.reassign_shape, (randn(3), randn(2, 3)), (0, 1)),
    (tp.reassign_shape_no_self, (randn(3), randn(2, 3)), (0, 1)),
    (tp.slicing, (randn(6),), 0),
    (tp.fancy_index, (randn(3),), 0),
    (tp.index_2d, (randn(2, 3),), 0),
    (tp.op_matmul_mat, (randn(2, 3), randn(3)), (0, 1)),
    (tp.op_matmul_mat_mat, (randn(2, 3), randn(3, 4)), (0, 1)),
    (tp.powers, (1.3,), 0),
    (tp.wrap_angle, (7.0,), 0),
    (tp.modulo, (5.5, 2.0), (0, 1)),
    (tp.imported_aliases, (0.4,), 0),
    (tp.uses_globals, (randn(3),), 0),
    (tp.uses_len_and_shape, (randn(3),), 0),
    (tp.uses_size_ndim, (randn(3),), 0),
    (tp.uses_closure_and_decorated, (1.1,), 0),
    (tp.SCALED_SQUARE, (2.0,), 0),
    (tp.annotated, (2.0,), 0),
    (tp.identity, (2.0,), 0),
    (tp.unused_arg, (2.0, 5.0), (0, 1)),
    (tp.three_args, (randn(3), randn(3), 0.4), (0, 1, 2)),
    (tp.clash, (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0), tuple(range(7))),
]

OPERATORS = [tp.op_add, tp.op_sub, tp.op_mul, tp.op_div, tp.op_pow_const, tp.op_pow_array, tp.op_matmul_vec,
             tp.op_neg, tp.op_abs, tp.op_constants_left]

MATH = [tp.m_sin, tp.m_cos, tp.m_exp, tp.m_log, tp.m_log_base, tp.m_sqrt, tp.m_tanh, tp.m_atan2, tp.m_pow,
        tp.m_hypot, tp.m_all]

NUMPY_PROGRAMS = [tp.np_sin_cos, tp.np_log_sqrt, tp.np_mean, tp.np_dot, tp.np_maximum_relu, tp.np_transpose,
                  tp.np_reshape, tp.np_square_power, tp.np_array_of_active, tp.np_where, tp.np_stack_concat,
                  tp.softmax_cross_entropy, tp.np_clip_norm_var, tp.np_outer_mean_axis, tp.builtin_max_min,
                  tp.builtin_sum, tp.np_float64, tp.np_sum_axis_keepdims, tp.method_sum]

LOOPS = [
    (tp.loop_range, (randn(3), 0), 0),
    (tp.loop_range, (randn(3), 1), 0),
    (tp.loop_range, (randn(3), 4), 0),
    (tp.loop_range_step, (randn(8),), 0),
    (tp.loop_rows, (randn(4, 3), randn(3)), (0, 1)),
    (tp.loop_list, ([randn(3) for _ in range(3)], randn(3)), (0, 1)),
    (tp.loop_enumerate, ([randn(2) for _ in range(3)], randn(3)), (0, 1)),
    (tp.enumerate_array, (randn(4),), 0),
    (tp.loop_with_branch, (np.array([1.0, -2.0, 3.0]),), 0),
    (tp.while_in_for, (np.array([3.0, 0.5, 5.0]),), 0),
    (tp.index_used_after_loop, (np.array([1.0, 2.0]), 3), 0),
    (tp.while_counter, (2.0,), 0),
    (tp.loop_zip, (randn(3), randn(3)), (0, 1)),
    (tp.nested_loops, (randn(3, 3),), 0),
    (tp.nested_loops_carried, (randn(2), 3, 2), 0),
    (tp.loop_defined_inside, (randn(3), 3), 0),
    (tp.dot_loop, (randn(5), randn(5)), (0, 1)),
    (tp.loop_augassign, (randn(3), 4), 0),
    (tp.rnn, (0.5 * randn(3, 3), 0.5 * randn(3, 2), randn(3), randn(5, 2)), (0, 1, 2, 3)),
    (tp.halve_until, (13.7,), 0),
    (tp.halve_until, (0.5,), 0),
    (tp.halve_array, (np.array([3.0, -2.0, 1.5]),), 0),
    (tp.newton_sqrt, (2.0,), 0),
    (tp.newton_cubic, (3.0, 30), 0),
    (tp.reversed_loops, (randn(4), [0.5, 1.5, -0.7]), (0, 1)),
    (tp.self_loop, (2.0, 3), 0),
]

JUMPS = [
    (tp.loop_break, (1.1,), 0),
    (tp.loop_break, (0.1,), 0),
    (tp.while_break, (np.array([0.3, 0.1]),), 0),
    (tp.loop_continue, (0.7,), 0),
    (tp.early_return, (2.0,), 0),
    (tp.early_return, (-2.0,), 0),
    (tp.return_in_loop, (0.9,), 0),
    (tp.return_in_loop, (0.7,), 0),
    (tp.return_in_loop, (0.1,), 0),
    (tp.power_early, (0.7, 5), 0),
    (tp.power_early, (1.5, 0), 0),
    (tp.for_else, (1.3, 1), 0),
    (tp.for_else, (1.3, 10), 0),
    (tp.while_else, (5.0,), 0),
    (tp.while_else, (0.5,), 0),
]

SUBROUTINES = [
    (tp.use_sq, (randn(3),), 0),
    (tp.two_deep, (randn(3), randn(3)), (0, 1)),
    (tp.loop_calls, (randn(4), 0.8), (0, 1)),
    (tp.kwargs_defaults, (0.7, -1.3), (0, 1)),
    (tp.inactive_args, (randn(3), randn(2)), (0, 1)),
    (tp.use_power, (1.2,), 0),
    (tp.power, (1.5, 3), 0),
    (tp.tree_sum, (0.9, 4), 0),
    (tp.rec_array, (np.array([0.3, 0.5]), 3), 0),
    (tp.is_even, (0.7, 5), 0),
    (tp.is_even, (0.7, 4), 0),
    (tp.tuple_helper, (randn(3),), 0),
    (tp.stats, (randn(3),), 0),
    (tp.mlp, tuple(tp.mlp_params()), (0, 1, 2, 3, 4)),
    (tp.branch_call, (randn(3), True), 0),
    (tp.branch_call, (randn(3), False), 0),
    (tp.while_call, (np.array([2.0, -1.5, 0.5]),), 0),
    (tp.dict_from_helper, (randn(3), 0.3, randn(3)), (0, 1, 2)),
    (tp.for_call_expr, (2.0,), 0),
    (tp.same_arg_twice, (randn(3),), 0),
    (tp.with_default, (3.0, 4.0), (0, 1)),
    (tp.scaled, (1.5, 3.0, -0.5), (0, 1, 2)),
    (tp.regression_loss, (0.1 * randn(3), randn(6, 3), randn(6)), (0, 1, 2)),
]

CONTAINERS = [
    (tp.unpack_swap, (randn(3), randn(3)), (0, 1)),
    (tp.dict_net, ({'W': randn(2, 3), 'b': randn(2)}, randn(3)), (0, 1)),
    (tp.dict_nested, ({'l1': {'W': randn(2, 3)}, 'l2': [randn(2), 0.5]}, randn(3)), (0, 1)),
    (tp.dict_loop_keys, ({'a': randn(2), 'b': randn(2)}, randn(2)), (0, 1)),
    (tp.dict_built, (randn(3),), 0),
    (tp.list_arg, ([randn(3), randn(3)], randn(3)), (0, 1)),
    (tp.tuple_arg, ((randn(3), 0.7), randn(3)), (0, 1)),
    (tp.tuple_with_dict, ((1.5, {'w': 2.0}), 3.0), (0, 1)),
    (tp.list_built, (randn(3),), 0),
    (tp.append_simple, (3.0,), 0),
    (tp.collect_states, (np.array([0.2, -0.4]), 3), 0),
    (tp.list_pop, (2.0,), 0),
]

ARRAY_STORES = [
    (tp.subscript_store, (np.array([0.5, -1.0, 2.0]),), 0),
    (tp.augmented_subscript, (randn(3),), 0),
    (tp.fill_in_loop, (randn(4), randn(4)), (0, 1)),
    (tp.dict_store, (1.5,), 0),
    (tp.matmul_augmented, (randn(2), randn(2, 3)), (0, 1)),
]

VECTOR_OUTPUTS = [
    (tp.vec_fn, (np.array([0.3, -0.7, 1.1]),), 0),
    (tp.mat_fn, (0.5 * randn(2, 3), randn(3)), (0, 1)),
    (tp.vec_with_calls, (np.array([0.3, -0.7, 1.1]),), 0),
]


def case_id(case):
    func, args, wrt = case
    extra = [a for a in args if isinstance(a, (bool, int, str)) and not isinstance(a, float)]
    return func.__name__ + ("-" + "-".join(map(str, extra)) if extra else "")


@pytest.mark.parametrize("case", STRAIGHT, ids=case_id)
def test_straight_line(case):
    func, args, wrt = case
    check_forward(func, *args, wrt=wrt)


@pytest.mark.parametrize("func", OPERATORS, ids=lambda f: f.__name__)
def test_operators(func):
    check_forward(func, np.array([0.5, -1.2, 2.0]), np.array([1.5, 0.7, 2.2]), wrt=(0, 1))


@pytest.mark.parametrize("func", MATH, ids=lambda f: f.__name__)
def test_math_functions(func):
    got = check_forward(func, 1.3, 2.1, wrt=(0, 1))
    assert isinstance(got, float)


def test_math_single_tangent_is_float():
    got = tangent.jvp(tp.m_all, wrt=1)(1.3, 0.6, 1.0)
    assert isinstance(got, float)
    assert got == pytest.approx(tangent.grad(tp.m_all, wrt=1)(1.3, 0.6), rel=1e-10)


@pytest.mark.parametrize("func", NUMPY_PROGRAMS, ids=lambda f: f.__name__)
def test_numpy_programs(func):
    r = np.random.RandomState(13)
    x = np.abs(r.randn(2, 3)) + 0.5
    y = np.abs(r.randn(3)) + 0.5 if func is not tp.np_transpose else r.randn(2)
    if func not in (tp.np_transpose, tp.np_reshape, tp.np_sum_axis_keepdims, tp.method_sum):
        x = x[0]
    if func is tp.np_maximum_relu:
        x = x - 1.0
    check_forward(func, x, y, wrt=(0, 1))


# ------------------------------------------------------------------ branches


@pytest.mark.parametrize("k", [2, 1, 0])
def test_if_elif_else(k):
    check_forward(tp.branch_elif, randn(3), k)


@pytest.mark.parametrize("x", [np.array([1.0, 2.0, -0.5]), np.array([-1.0, -2.0, 0.5])])
def test_branch_on_data(x):
    got = check_forward(tp.branch_on_data, x)
    v = np.random.default_rng(0).standard_normal(3)
    expected = np.sum(2 * x * v) if np.sum(x) > 0 else np.sum(np.exp(x) * v)
    assert got == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("flag", [True, False])
def test_branch_reassigns_and_defines(flag):
    check_forward(tp.branch_partial, randn(3), flag)


@pytest.mark.parametrize("x,y", [(2.0, 1.0), (0.5, 1.5), (-1.0, -0.5)])
def test_conditional_expression(x, y):
    check_forward(tp.ifexp, x, y, wrt=(0, 1))


@pytest.mark.parametrize("x,y", [(1.0, 2.0), (-1.0, 2.0), (1.0, -2.0), (1.0, -0.5)])
def test_and_or_conditions(x, y):
    check_forward(tp.bool_ops, x, y, wrt=(0, 1))


def test_and_or_values():
    check_forward(tp.or_value, 1.5, 3.0, wrt=(0, 1))
    # y == 0.0 is falsy: s = x, t = y
    assert tangent.jvp(tp.or_value, wrt=(0, 1))(1.5, 0.0, 1.0, 0.0) == pytest.approx(3.0)
    assert tangent.jvp(tp.or_value, wrt=(0, 1))(1.5, 0.0, 0.0, 1.0) == pytest.approx(1.0)


@pytest.mark.parametrize("x,expected", [(1.5, 3.0), (2.5, 2.0), (-0.5, 2.0)])
def test_chained_comparison(x, expected):
    assert tangent.jvp(tp.chained)(x, 0.0, 2.0, 1.0) == pytest.approx(expected)
    check_forward(tp.chained, x, 0.0, 2.0)


@pytest.mark.parametrize("x", [np.array([1.0, 2.0]), np.array([-1.0, -2.0]), np.array([10.0, 5.0])])
def test_chained_comparison_on_array(x):
    check_forward(tp.chained_array, x)


@pytest.mark.parametrize("x,mode", [(1.5, 'a'), (1.5, 'c'), (-1.5, 'a'), (np.array([0.5, 1.0]), 'b')])
def test_python_idioms(x, mode):
    # jvp keeps no defaults: the tangent follows all positional arguments, b included
    check_forward(tp.python_idioms, x, mode, None)


# --------------------------------------------------------------------- loops


@pytest.mark.parametrize("case", LOOPS, ids=case_id)
def test_loops(case):
    func, args, wrt = case
    check_forward(func, *args, wrt=wrt)


@pytest.mark.parametrize("case", JUMPS, ids=case_id)
def test_break_continue_return(case):
    func, args, wrt = case
    check_forward(func, *args, wrt=wrt)


def test_loop_break_exact():
    # s = x * (0 + 1 + ... + i) stops at the first i where s > 10
    assert tangent.jvp(tp.loop_break)(1.1, 1.0) == pytest.approx(10.0)
    assert tangent.jvp(tp.loop_break)(0.1, 1.0) == pytest.approx(45.0)
    assert tangent.jvp(tp.loop_continue)(0.7, 2.0) == pytest.approx(16.0)


def test_while_newton_matches_implicit_derivative():
    y = tp.newton_cubic(3.0, 30)
    assert tangent.jvp(tp.newton_cubic)(3.0, 30, 1.0) == pytest.approx(1.0 / (3.0 * y * y + 1.0), rel=1e-8)
    assert tangent.jvp(tp.newton_sqrt)(2.0, 1.0) == pytest.approx(0.5 / math.sqrt(2.0), rel=1e-8)


# --------------------------------------------------------------- subroutines


@pytest.mark.parametrize("case", SUBROUTINES, ids=case_id)
def test_subroutines(case):
    func, args, wrt = case
    check_forward(func, *args, wrt=wrt)


def test_keyword_only_argument_of_differentiated_function():
    assert tangent.jvp(tp.kwonly)(3.0, 1.0) == 2.0
    assert tangent.jvp(tp.kwonly)(3.0, 1.0, scale=5.0) == 5.0
    check_forward(tp.kwonly, 3.0, scale=5.0)


def test_jvp_with_respect_to_a_later_argument():
    x, y, z = randn(3), randn(3), 0.4
    vy = randn(3)
    got = tangent.jvp(tp.three_args, wrt=1)(x, y, z, vy)
    assert got == pytest.approx(np.sum(tangent.grad(tp.three_args, wrt=1)(x, y, z) * vy), rel=1e-10)
    got2 = tangent.jvp(tp.three_args, wrt=(2, 1))(x, y, z, 0.0, vy)
    assert got2 == pytest.approx(got, rel=1e-12)


def test_jvp_preserve_result():
    x, v = np.array([0.3, -0.7, 1.1]), np.array([1.0, 2.0, -1.0])
    got = tangent.jvp(tp.vec_fn, preserve_result=True)(x, v)
    assert isinstance(got, tuple) and len(got) == 2
    jv, y = got
    np.testing.assert_allclose(y, tp.vec_fn(x))
    np.testing.assert_allclose(jv, tangent.jvp(tp.vec_fn)(x, v), rtol=1e-12)


# ---------------------------------------------------------------- containers


@pytest.mark.parametrize("case", CONTAINERS, ids=case_id)
def test_containers(case):
    func, args, wrt = case
    check_forward(func, *args, wrt=wrt)


def test_dict_tangent_is_a_dict_of_arrays():
    r = rng(36)
    params = {'W': r.standard_normal((2, 3)), 'b': r.standard_normal(2)}
    x = r.standard_normal(3)
    tangents = {'W': r.standard_normal((2, 3)), 'b': r.standard_normal(2)}
    got = tangent.jvp(tp.dict_net)(params, x, tangents)
    g = tangent.grad(tp.dict_net)(params, x)
    assert got == pytest.approx(np.sum(g['W'] * tangents['W']) + np.sum(g['b'] * tangents['b']), rel=1e-10)
    # a zero tangent for one entry differentiates along the other only
    only_b = tangent.jvp(tp.dict_net)(params, x, {'W': np.zeros((2, 3)), 'b': tangents['b']})
    assert only_b == pytest.approx(np.sum(g['b'] * tangents['b']), rel=1e-10)


@pytest.mark.parametrize("case", ARRAY_STORES, ids=case_id)
def test_assignment_into_arrays(case):
    func, args, wrt = case
    check_forward(func, *args, wrt=wrt)


def test_jvp_does_not_mutate_arguments():
    x, v = np.array([0.5, -1.0, 2.0]), np.array([1.0, 1.0, 1.0])
    tangent.jvp(tp.subscript_store)(x, v)
    tangent.jvp(tp.augmented_subscript)(x, v)
    np.testing.assert_array_equal(x, [0.5, -1.0, 2.0])
    np.testing.assert_array_equal(v, [1.0, 1.0, 1.0])


@pytest.mark.parametrize("case", VECTOR_OUTPUTS, ids=case_id)
def test_vector_outputs(case):
    func, args, wrt = case
    check_forward(func, *args, wrt=wrt)


def test_int_arguments():
    assert tangent.jvp(tp.square)(3, 1.0) == 6.0
    got = tangent.jvp(tp.sum_sq)(np.arange(3), np.ones(3))
    assert got == pytest.approx(6.0)
    assert tangent.jvp(tp.m_sin)(2, 3, 1.0) == pytest.approx(math.cos(2) * 3)


def test_constant_output_has_zero_tangent():
    assert tangent.jvp(tp.constant_output)(2.0, 1.0) == 0.0
    assert tangent.jvp(tp.unused_arg, wrt=1)(2.0, 5.0, 1.0) == 0.0


# ------------------------------------------------------------ insert_grad_of

HOOK_LOG: list = []


def with_grad_hook(x):
    h = np.tanh(x) * 2.0
    with tangent.insert_grad_of(h) as dh:
        HOOK_LOG.append(1)
        dh = dh * 0.5
    return np.sum(h * x)


def test_insert_grad_of_is_ignored_in_forward_mode():
    x, v = np.array([0.3, -0.7, 1.1]), np.array([0.5, 1.0, -2.0])
    expected = directional_fd(with_grad_hook, [x], (0,), [v])
    HOOK_LOG.clear()
    got = tangent.jvp(with_grad_hook)(x, v)
    assert HOOK_LOG == []  # the block belongs to the backward pass
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    # reverse mode runs the hook, which halves the adjoint of h
    g = tangent.grad(with_grad_hook)(x)
    assert HOOK_LOG
    t = np.tanh(x)
    exact = 2.0 * t + x * 2.0 * (1 - t * t)
    np.testing.assert_allclose(np.sum(exact * v), got, rtol=1e-10)
    np.testing.assert_allclose(g, 2.0 * t + 0.5 * x * 2.0 * (1 - t * t), rtol=1e-10)


def stopped(x):
    baseline = tangent.stop_gradient(np.mean(x))
    return np.sum((x - baseline) * x)


def test_stop_gradient_in_forward_mode():
    x, v = np.array([0.3, -0.7, 1.1]), np.array([0.5, 1.0, -2.0])
    got = tangent.jvp(stopped)(x, v)
    np.testing.assert_allclose(got, np.sum((2 * x - np.mean(x)) * v), rtol=1e-10)


# --------------------------------------------------- NumPy primitives, forward
# Array-valued outputs, so that each forward rule is checked on its own.


def f_exp(x):
    return np.exp(x)


def f_log(x):
    return np.log(x)


def f_sqrt(x):
    return np.sqrt(x)


def f_sin(x):
    return np.sin(x)


def f_cos(x):
    return np.cos(x)


def f_tan(x):
    return np.tan(x)


def f_tanh(x):
    return np.tanh(x)


def f_arctan(x):
    return np.arctan(x)


def f_arcsin(x):
    return np.arcsin(x)


def f_abs(x):
    return np.abs(x)


def f_square(x):
    return np.square(x)


def f_reciprocal(x):
    return np.reciprocal(x)


def f_log1p(x):
    return np.log1p(x)


def f_expm1(x):
    return np.expm1(x)


def f_sinh_cosh(x):
    return np.sinh(x) * np.cosh(x)


def f_cbrt(x):
    return np.cbrt(x)


def f_power(x, y):
    return np.power(x, y)


def f_maximum(x, y):
    return np.maximum(x, y)


def f_minimum(x, y):
    return np.minimum(x, y)


def f_arctan2(x, y):
    return np.arctan2(x, y)


def f_hypot(x, y):
    return np.hypot(x, y)


def f_logaddexp(x, y):
    return np.logaddexp(x, y)


def f_where(x, y):
    return np.where(x > 0, x * x, y)


def f_clip(x):
    return np.clip(x, -0.5, 0.5)


def f_sum_axis(x):
    return np.sum(x, axis=0)


def f_mean_keepdims(x):
    return np.mean(x, axis=1, keepdims=True)


def f_prod(x):
    return np.prod(x, axis=1)


def f_max_axis(x):
    return np.max(x, axis=1)


def f_var_std(x):
    return np.var(x, axis=0) + np.std(x, axis=0)


def f_cumsum(x):
    return np.cumsum(x, axis=1)


def f_dot(x, y):
    return np.dot(x, y)


def f_matmul(x, y):
    return np.matmul(x, y)


def f_outer(x, y):
    return np.outer(x[0], y[:, 0])


def f_inner(x, y):
    return np.inner(x, y.T)


def f_tensordot(x, y):
    return np.tensordot(x, y, axes=1)


def f_einsum(x, y):
    return np.einsum('ij,jk->ik', x, y)


def f_trace_diag(x):
    return np.trace(x) * np.diagonal(x)


def f_inv(a):
    return np.linalg.inv(a)


def f_det(a):
    return np.linalg.det(a)


def f_slogdet(a):
    sign, logdet = np.linalg.slogdet(a)
    return logdet * sign


def f_solve(a, b):
    return np.linalg.solve(a, b)


def f_norm(x):
    return np.linalg.norm(x, axis=1)


def f_reshape_transpose(x):
    return np.transpose(np.reshape(x, (3, 2))) * 2.0


def f_concatenate_stack(x, y):
    return np.stack([np.concatenate([x, y], axis=0), np.concatenate([y, x], axis=0)])


def f_tile_repeat(x):
    return np.tile(x, (2, 1)) + np.repeat(x, 2, axis=0)


def f_flip_roll(x):
    return np.flip(x, axis=1) * np.roll(x, 1, axis=0)


def f_swap_move(x):
    return np.swapaxes(x, 0, 1) + np.moveaxis(x, 0, 1)


def f_broadcast_expand(x):
    return np.broadcast_to(np.expand_dims(x[0], 0), (3, 3)) * np.squeeze(x[:1])


def f_ravel_hstack(x, y):
    return np.hstack([np.ravel(x), np.ravel(y)]) + 1.0


F_UNARY_POS = [f_log, f_sqrt, f_reciprocal, f_log1p, f_cbrt]
F_UNARY_ANY = [f_exp, f_sin, f_cos, f_tanh, f_arctan, f_abs, f_square, f_expm1, f_sinh_cosh]
F_UNARY_UNIT = [f_tan, f_arcsin]


def unit(*shape):
    return R.uniform(-0.8, 0.8, shape)


def spd(n):
    return R.randn(n, n) * 0.5 + 3 * np.eye(n)


NUMPY_TABLE = (
    [(f, (pos(2, 3),)) for f in F_UNARY_POS]
    + [(f, (randn(2, 3),)) for f in F_UNARY_ANY]
    + [(f, (unit(2, 3),)) for f in F_UNARY_UNIT]
    + [
        (f_power, (pos(2, 3), randn(3))),
        (f_maximum, (randn(2, 3), randn(2, 3))),
        (f_minimum, (randn(2, 3), randn(3))),
        (f_arctan2, (randn(2, 3), randn(2, 3))),
        (f_hypot, (randn(2, 3), randn(2, 3))),
        (f_logaddexp, (randn(2, 3), randn(2, 3))),
        (f_where, (randn(2, 3), randn(2, 3))),
        (f_clip, (randn(3, 4),)),
        (f_sum_axis, (randn(3, 4),)),
        (f_mean_keepdims, (randn(3, 4),)),
        (f_prod, (randn(3, 4),)),
        (f_max_axis, (randn(3, 4),)),
        (f_var_std, (randn(3, 4),)),
        (f_cumsum, (randn(3, 4),)),
        (f_dot, (randn(2, 3), randn(3, 4))),
        (f_matmul, (randn(2, 3), randn(3, 4))),
        (f_outer, (randn(2, 3), randn(3, 4))),
        (f_inner, (randn(2, 3), randn(3, 4))),
        (f_tensordot, (randn(2, 3), randn(3, 4))),
        (f_einsum, (randn(2, 3), randn(3, 4))),
        (f_trace_diag, (randn(3, 3),)),
        (f_inv, (spd(3),)),
        (f_det, (spd(3),)),
        (f_slogdet, (spd(3),)),
        (f_solve, (spd(3), randn(3, 2))),
        (f_norm, (randn(3, 4),)),
        (f_reshape_transpose, (randn(2, 3),)),
        (f_concatenate_stack, (randn(2, 3), randn(2, 3))),
        (f_tile_repeat, (randn(2, 3),)),
        (f_flip_roll, (randn(2, 3),)),
        (f_swap_move, (randn(2, 2),)),
        (f_broadcast_expand, (randn(3, 3),)),
        (f_ravel_hstack, (randn(2, 3), randn(3))),
    ]
)


@pytest.mark.parametrize("func,args", NUMPY_TABLE, ids=[f.__name__ for f, _ in NUMPY_TABLE])
def test_numpy_forward_rules(func, args):
    wrt = tuple(range(len(args)))
    got = check_forward(func, *args, wrt=wrt)
    assert np.shape(got) == np.shape(func(*args))


@pytest.mark.parametrize("func", [f_exp, f_sin, f_tanh, f_square, f_abs], ids=lambda f: f.__name__)
def test_numpy_forward_rules_on_floats(func):
    got = check_forward(func, 0.7)
    assert np.ndim(got) == 0


def test_forward_source_is_readable():
    df = tangent.jvp(tp.mixed_float_array)
    src = tangent.source(df)
    assert src.startswith("def ")
    assert "dx" in src
    compile(src, "<generated>", "exec")
