"""Shape inference (tangent/shapes.py) and the shape rules of
tangent/rules/numpy_shapes.py: the fixpoint's joins, and each rule against
the shape NumPy really gives."""

import ast
import math
import operator

import numpy as np
import pytest
import scipy.special

import tangent
from tangent.frontend import parse_function
from tangent.naming import Namer
from tangent.normalize import normalize
from tangent.rules import numpy_shapes
from tangent.shapes import UNKNOWN, Array, Ints, infer_shapes, join, rule_for
from tests.utils import numeric_grad


def _normal(f):
    parsed = parse_function(f)
    return normalize(parsed, Namer(parsed.local_names | {n.id for n in ast.walk(parsed.tree)
                                                         if isinstance(n, ast.Name)} | {"d"}))


def _shapes(f, *args):
    """(inferred shapes, the returned name) of f specialised to args."""
    tree = _normal(f)
    params = [a.arg for a in tree.args.args]
    known = {p: np.shape(v) for p, v in zip(params, args) if isinstance(v, (np.ndarray, float, int))
             and not isinstance(v, bool)}
    returned = [n for n in ast.walk(tree) if isinstance(n, ast.Return)][-1].value
    return infer_shapes(tree, known), returned.id


def _inferred_result(f, *args):
    shapes, name = _shapes(f, *args)
    return shapes.get(name)


# ------------------------------------------------------------ the fixpoint


def loop_keeps_shape(x, n):
    h = x
    for _ in range(n):
        h = np.tanh(h * 2.0)
    return h


def loop_changes_shape(x, n):
    h = x
    for _ in range(n):
        h = h[1:]
    return h


def branches_agree(x, c):
    if c > 0:
        y = x * 2.0
    else:
        y = x + 1.0
    return y


def branches_disagree(x, c):
    if c > 0:
        y = x * 2.0
    else:
        y = x[0]
    return y


def size_from_a_shape_that_varies(x, c):
    y = x
    if c > 0:
        y = x[1:]
    n = y.shape[0]
    w = np.ones(n)
    return w


def long_chain(x, n):
    a = x
    e = d = c = b = x[0]
    for _ in range(n):
        e = d * 1.0  # each name's shape reaches the next one pass later
        d = c * 1.0
        c = b * 1.0
        b = a * 1.0
    return e


def test_a_loop_that_keeps_the_shape_keeps_it_known():
    assert _inferred_result(loop_keeps_shape, np.ones(3), 2) == (3,)


def test_a_loop_that_changes_the_shape_makes_it_unknown():
    assert _inferred_result(loop_changes_shape, np.ones(5), 2) is None


def test_branches_that_agree_keep_the_shape():
    assert _inferred_result(branches_agree, np.ones(3), 1.0) == (3,)


def test_branches_that_disagree_join_to_unknown():
    assert _inferred_result(branches_disagree, np.ones(3), 1.0) is None


def test_a_static_size_is_the_join_of_all_definitions():
    # y.shape[0] is 3 or 2: np.ones(n) has no known shape (it had (3,))
    assert _inferred_result(size_from_a_shape_that_varies, np.ones(3), 1.0) is None


def test_the_fixpoint_follows_long_chains():
    assert _inferred_result(long_chain, np.ones(4), 3) is None  # x[0] and x join to unknown
    assert _shapes(long_chain, np.ones(4), 3)[0]['a'] == (4,)


def test_join():
    a, b = Array((3,), 3, True), Array((3,), 4, True)
    assert join(None, a) == a
    assert join(a, a) == a
    assert join(a, b) == Array((3,), integer=True)
    assert join(a, Array((3,))) == Array((3,))
    assert join(a, Array((2,))) is UNKNOWN
    assert join(Ints((2, 3)), Ints((2, 4))) == Ints()
    assert join(a, UNKNOWN) is UNKNOWN


def test_rule_lookup():
    assert rule_for(np.sum) is numpy_shapes.reduction
    assert rule_for(np.tanh) is numpy_shapes.ufunc
    assert rule_for(scipy.special.expit) is numpy_shapes.ufunc  # any elementwise ufunc
    assert rule_for(np.divmod) is None  # two results: not elementwise
    assert rule_for(np.matmul) is numpy_shapes.matmul  # a ufunc with a signature
    assert rule_for(math.exp) is numpy_shapes.of_numbers
    assert rule_for(operator.getitem) is numpy_shapes.index
    assert rule_for(len) is None


# ------------------------------------------------------------ the rules, against NumPy

x3, x23, x234, x33 = np.ones(3), np.ones((2, 3)), np.ones((2, 3, 4)), np.ones((3, 3))


def add(a, b):
    return a + b


def power(a, b):
    return a ** b


def negate(a):
    return -a


def tanh(a):
    return np.tanh(a)


def maximum(a, b):
    return np.maximum(a, b)


def math_exp(a):
    return math.exp(a)


def to_float(a):
    return float(a)


def sum_all(a):
    return np.sum(a)


def sum_axis0(a):
    return np.sum(a, axis=0)


def sum_last_keepdims(a):
    return np.sum(a, axis=-1, keepdims=True)


def mean_positional_axis(a):
    return np.mean(a, 1)


def max_two_axes(a):
    return np.max(a, axis=(0, 2))


def method_sum(a):
    return a.sum(axis=1)


def method_var_keepdims(a):
    return a.var(axis=0, keepdims=True)


def std_ddof(a):
    return np.std(a, axis=0, ddof=1)


def std_correction(a):
    return np.std(a, correction=1)


def logsumexp(a):
    return scipy.special.logsumexp(a, axis=0)


def matmul(a, b):
    return a @ b


def np_dot(a, b):
    return np.dot(a, b)


def zeros_n(a):
    n = a.shape[0]
    return np.zeros(n)


def ones_tuple(a):
    return np.ones((a.shape[1], 2))


def empty_tuple(a):
    return np.empty(a.shape)


def transpose(a):
    return np.transpose(a)


def transpose_method(a):
    return a.transpose()


def dot_t(a):
    return a.T


def ndim(a):
    return a.ndim


def size(a):
    return a.size


def index_int(a):
    return a[1]


def index_slice(a):
    return a[1:]


def index_step(a):
    return a[::2]


def index_negative_slice(a):
    return a[:-1]


def index_mixed(a):
    return a[0, 1:3]


def index_newaxis(a):
    return a[:, None]


def index_loop_counter(a):
    s = np.zeros(a.shape[1])
    for i in range(a.shape[0]):
        s = s + a[i]
    return s


def index_static_size(a):
    n = a.shape[0]
    return a[1:n]


def index_shape_item(a):
    s = a.shape
    return s[1]


def reshape_static(a):
    return np.reshape(a, (2, -1))


def reshape_method(a):
    return a.reshape(4, 6)


def reshape_method_tuple(a):
    n = a.shape[0]
    return a.reshape((n, -1))


def expand_dims_axis(a):
    return np.expand_dims(a, 1)


def expand_dims_negative(a):
    return np.expand_dims(a, -1)


def cross(a, b):
    return np.cross(a, b)


def outer(a, b):
    return np.outer(a, b)


RULE_CASES = [
    (add, (x3, x23)), (add, (x23, 2.0)), (add, (1.0, 2)), (power, (x23, 2.0)), (negate, (x234,)),
    (tanh, (x23,)), (maximum, (x3, x23)), (math_exp, (2.0,)), (to_float, (3,)),
    (sum_all, (x23,)), (sum_axis0, (x234,)), (sum_last_keepdims, (x234,)), (mean_positional_axis, (x234,)),
    (max_two_axes, (x234,)), (method_sum, (x234,)), (method_var_keepdims, (x23,)), (std_ddof, (x23,)), (std_correction, (x23,)),
    (logsumexp, (x23,)),
    (matmul, (x23, x3)), (matmul, (x3, x33)), (matmul, (x3, x3)), (matmul, (x234, np.ones((4, 5)))),
    (matmul, (np.ones((5, 2, 3)), np.ones((3, 4)))), (np_dot, (x23, x3)), (np_dot, (2.0, x23)),
    (np_dot, (x33, x33)),
    (zeros_n, (x23,)), (ones_tuple, (x23,)), (empty_tuple, (x234,)),
    (transpose, (x234,)), (transpose_method, (x23,)), (dot_t, (x234,)), (ndim, (x23,)), (size, (x23,)),
    (index_int, (x234,)), (index_slice, (x23,)), (index_step, (np.ones(7),)), (index_negative_slice, (x234,)),
    (index_mixed, (x234,)), (index_newaxis, (x23,)), (index_loop_counter, (x23,)), (index_static_size, (x3,)),
    (index_shape_item, (x23,)),
    (reshape_static, (x234,)), (reshape_method, (x234,)), (reshape_method_tuple, (x234,)),
    (expand_dims_axis, (x23,)), (expand_dims_negative, (x3,)),
    (cross, (np.ones((5, 3)), np.ones(3))), (cross, (np.ones((4, 2)), np.ones((4, 2)))), (outer, (x3, x23)),
]


@pytest.mark.parametrize("f, args", RULE_CASES, ids=[f"{f.__name__}-{i}" for i, (f, _) in enumerate(RULE_CASES)])
def test_each_rule_gives_numpys_shape(f, args):
    assert _inferred_result(f, *args) == np.shape(f(*args))


def index_with_array(a):
    i = np.array([0, 1])
    return a[i]


def reduction_positional_keepdims(a):
    return np.max(a, 0, None, True)


def divmod_result(a):
    q = np.divmod(a, 2.0)
    return q[1]


def modf_result(a):
    p = math.modf(a)
    return p


def list_times_int(a):
    return [a] * 3


@pytest.mark.parametrize("f, args", [
    (index_with_array, (x23,)), (reduction_positional_keepdims, (x23,)), (divmod_result, (x3,)),
    (modf_result, (2.5,)), (list_times_int, (1.0,)),
])
def test_what_no_rule_covers_is_unknown(f, args):
    assert _inferred_result(f, *args) is None


def divmod_times(x, c):
    q = np.divmod(c, 2.0)
    r = q[1]
    y = x * r
    return np.sum(y)


def test_a_ufunc_with_two_results_is_not_elementwise():
    """np.divmod's result was given its input's shape, so q[1] was a number
    and d[x] of x * q[1] skipped its sum (an array for a scalar x)."""
    x, c = 1.5, np.array([1.3, 2.6, 5.1])
    df = tangent.grad(divmod_times, wrt=(0,))
    expected = numeric_grad(divmod_times, (x, c), 0)
    assert np.shape(df(x, c)) == ()
    assert np.allclose(df(x, c), expected)
