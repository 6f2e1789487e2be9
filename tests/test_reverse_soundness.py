"""Reverse-mode soundness: values the backward pass reads are saved wherever
they are overwritten, list/tuple operators are not arithmetic, aliases held in
containers are caught, and the generated code always compiles.

Every case is checked against central finite differences (tests/utils.py) in
reverse mode (optimized and not, the specialised code and the generic one),
and where it applies in forward mode (jvp) and forward over reverse (hvp);
inputs must come back unchanged.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import tangent
from tests.utils import as_float, assert_tree_close, numeric_grad


def _perturbed(args, wrt, v, t):
    args = list(args)
    x = args[wrt]
    args[wrt] = x + t * v if isinstance(x, np.ndarray) else float(x + t * v)
    return args


def _direction(x):
    rng = np.random.RandomState(1)
    return rng.randn(*np.shape(x)) if isinstance(x, np.ndarray) else 0.7


def check_reverse(f, *args, wrt=0, rtol=1e-5, atol=1e-6):
    """grad(f) against finite differences: optimized and not, the specialised
    code (first and second call) and the generic code; inputs unchanged."""
    args = [as_float(a) if not isinstance(a, (int, bool, str)) or isinstance(a, bool) else a for a in args]
    before = copy.deepcopy(args)
    expected = numeric_grad(f, args, wrt)
    for optimized in (True, False):
        df = tangent.grad(f, wrt=(wrt,), optimized=optimized)
        assert_tree_close(df(*args), expected, rtol, atol)
        assert_tree_close(df(*args), expected, rtol, atol)
        if optimized:
            assert_tree_close(df.tangent_generic(*args), expected, rtol, atol)
    assert_tree_close(args, before, 0, 0)


def check_forward(f, *args, wrt=0, hvp=True):
    """jvp(f) (and hvp(f)) along a random direction against differences."""
    args = [as_float(a) if not isinstance(a, (int, bool, str)) or isinstance(a, bool) else a for a in args]
    before = copy.deepcopy(args)
    v = _direction(args[wrt])
    v_before = copy.deepcopy(v)
    eps = 1e-6
    expected = (np.asarray(f(*_perturbed(args, wrt, v, eps))) - np.asarray(f(*_perturbed(args, wrt, v, -eps)))) / (2 * eps)
    for optimized in (True, False):
        np.testing.assert_allclose(tangent.jvp(f, wrt=(wrt,), optimized=optimized)(*args, v), expected, rtol=1e-5, atol=1e-6)
    if hvp:
        h = 1e-3
        plus = numeric_grad(f, _perturbed(args, wrt, v, h), wrt, eps=1e-5)
        minus = numeric_grad(f, _perturbed(args, wrt, v, -h), wrt, eps=1e-5)
        expected = (np.asarray(plus) - np.asarray(minus)) / (2 * h)
        for optimized in (True, False):
            hv = tangent.hvp(f, wrt=(wrt,), optimized=optimized)
            np.testing.assert_allclose(hv(*args, v), expected, rtol=1e-4, atol=1e-4)
            np.testing.assert_allclose(hv(*args, v), expected, rtol=1e-4, atol=1e-4)
    assert_tree_close(args, before, 0, 0)
    np.testing.assert_array_equal(v, v_before)


# ------------------------------------------- 1. overwritten values are saved
def loop_target_reassigned(x, ws):
    for w in ws:
        x = w * x * x
    w = 10.0
    return x * w


def mlp_layers(x, layers):
    h = x
    for W, b in layers[:-1]:
        h = np.tanh(h @ W + b)
    W, b = layers[-1]
    return np.sum(h @ W + b)


def zip_targets_reassigned(x, ws, bs):
    for w, b in zip(ws, bs):
        x = np.sin(w * x + b)
    w = 3.0
    b = 2.0
    return x * w + b


def enumerate_targets_reassigned(x, ws):
    for i, w in enumerate(ws):
        x = w * x * x + i
    i = 2.0
    w = 5.0
    return x * w * i


def reassigned_in_branch(x, ws, c):
    for w in ws:
        x = w * x * x
    if c > 0:
        w = 10.0
    return x * w


def augmented_after_loop(x, ws):
    for w in ws:
        x = w * x * x
    w += 1.0
    return x * w


def reassigned_after_branch(x, c):
    if c > 0:
        y = x * x
    else:
        y = np.sin(x)
    z = y * x
    y = 3.0
    return z * y


def tuple_swap(x, y):
    a, b = x * y, np.sin(x)
    c = a * b
    a, b = b, a * a
    return c * a * b


def while_target_reassigned(x, n):
    i = 0
    while i < n:
        a = x * 1.5
        x = a * x
        i += 1
    a = 2.0
    return x * a


def _layers():
    rng = np.random.RandomState(0)
    return [(rng.randn(3, 4), rng.randn(4)), (rng.randn(4, 2), rng.randn(2))]


OVERWRITES = [
    (loop_target_reassigned, (1.5, [0.5, 0.7]), 0),
    (loop_target_reassigned, (1.5, [0.5, 0.7]), 1),
    (mlp_layers, (np.random.RandomState(1).randn(3), _layers()), 0),
    (mlp_layers, (np.random.RandomState(1).randn(3), _layers()), 1),
    (zip_targets_reassigned, (0.3, [0.5, 0.7], [0.1, 0.2]), 0),
    (zip_targets_reassigned, (0.3, [0.5, 0.7], [0.1, 0.2]), 1),
    (enumerate_targets_reassigned, (0.8, [0.5, 0.7]), 0),
    (reassigned_in_branch, (0.8, [0.5, 0.7], 1.0), 0),
    (reassigned_in_branch, (0.8, [0.5, 0.7], -1.0), 0),
    (augmented_after_loop, (0.8, [0.5, 0.7]), 0),
    (reassigned_after_branch, (0.8, 1.0), 0),
    (reassigned_after_branch, (0.8, -1.0), 0),
    (tuple_swap, (0.8, 0.7), 0),
    (while_target_reassigned, (0.8, 3), 0),
]


@pytest.mark.parametrize("f, args, wrt", OVERWRITES, ids=lambda v: getattr(v, "__name__", ""))
def test_overwritten_value_is_saved_reverse(f, args, wrt):
    check_reverse(f, *args, wrt=wrt)


@pytest.mark.parametrize("f, args, wrt", [c for c in OVERWRITES if c[2] == 0], ids=lambda v: getattr(v, "__name__", ""))
def test_overwritten_value_is_saved_forward_and_hvp(f, args, wrt):
    check_forward(f, *args, wrt=wrt)


def test_loop_target_reassigned_value():
    # d/dx of 10 * w2 * (w1 * x^2)^2 = 40 * w2 * w1^2 * x^3
    got = tangent.grad(loop_target_reassigned)(1.5, [0.5, 0.7])
    np.testing.assert_allclose(got, 40 * 0.7 * 0.25 * 1.5 ** 3)


# ------------------------- 2. list/tuple repetition and concatenation are not arithmetic
def list_repetition(x):
    xs = [x] * 3
    return xs[0] * xs[1] * xs[2]


def tuple_repetition(x):
    xs = (x,) * 3
    return xs[0] * xs[1] * xs[2]


def repetition_count_first(x):
    xs = 3 * [x]
    return xs[0] * xs[1] * xs[2]


def stack_of_repetition(a):
    return np.sum(np.stack([a] * 3) ** 2 * np.arange(3.0)[:, None])


def list_concatenation(x, y):
    zs = [x] + [y]
    return zs[0] * zs[1] ** 2


def tuple_concatenation(a, b, c):
    t = (a, b) + (c,)
    return t[0] * t[1] * t[2] ** 3


def repeat_a_parameter(x, xs):
    # the kind of xs is not in the code: decided at run time
    ys = xs * 2
    return x * ys[0] * ys[3]


def concatenate_parameters(xs, ys):
    zs = xs + ys
    return zs[0] * zs[1] * zs[2] ** 2


def products_of_parameters(x, y):
    return np.sum(x * y + x * 2)


SEQUENCE_OPERATORS = [
    (list_repetition, (1.5,), 0),
    (tuple_repetition, (1.5,), 0),
    (repetition_count_first, (1.5,), 0),
    (stack_of_repetition, (np.array([1.0, 2.0]),), 0),
    (list_concatenation, (1.5, 0.5), 0),
    (list_concatenation, (1.5, 0.5), 1),
    (tuple_concatenation, (1.5, 0.5, 0.7), 0),
    (tuple_concatenation, (1.5, 0.5, 0.7), 2),
    (repeat_a_parameter, (1.2, [0.5, 0.7]), 0),
    (repeat_a_parameter, (1.2, [0.5, 0.7]), 1),
    (repeat_a_parameter, (1.2, (0.5, 0.7)), 1),
    (concatenate_parameters, ([0.5, 0.7], [0.3]), 0),
    (concatenate_parameters, ([0.5, 0.7], [0.3]), 1),
    (concatenate_parameters, ((0.5,), (0.7, 0.3)), 1),
    (products_of_parameters, (0.5, 0.7), 0),
    (products_of_parameters, (np.array([1.0, 2.0]), 0.7), 0),
    (products_of_parameters, (np.array([1.0, 2.0]), np.array([[0.5], [0.7]])), 1),
]


@pytest.mark.parametrize("f, args, wrt", SEQUENCE_OPERATORS, ids=lambda v: getattr(v, "__name__", ""))
def test_sequence_operators_reverse(f, args, wrt):
    check_reverse(f, *args, wrt=wrt)


@pytest.mark.parametrize("f, args, wrt", [c for c in SEQUENCE_OPERATORS if not isinstance(c[1][c[2]], (list, tuple))],
                         ids=lambda v: getattr(v, "__name__", ""))
def test_sequence_operators_forward_and_hvp(f, args, wrt):
    check_forward(f, *args, wrt=wrt)


def test_list_repetition_value():
    # x * x * x: 3 x^2
    np.testing.assert_allclose(tangent.grad(list_repetition)(1.5), 3 * 1.5 ** 2)


def test_repetition_is_not_differentiated_as_a_product_in_the_code():
    source = tangent.source(tangent.grad(list_repetition))
    assert "repeat_grad(" in source


def test_grad_of_grad_through_repetition_and_products():
    def f(x, y):
        xs = [x * y] * 2
        return xs[0] * xs[1] + x * y

    # d/dx (x^2 y^2 + x y) = 2 x y^2 + y;  d2/dx2 = 2 y^2
    x, y = 0.7, 1.3
    expected = numeric_grad(lambda a, b: tangent.grad(f)(a, b), [x, y], 0)
    np.testing.assert_allclose(tangent.grad(tangent.grad(f))(x, y), expected, rtol=1e-6)
    np.testing.assert_allclose(expected, 2 * y ** 2, rtol=1e-6)


# ---------------------------------- 3. aliases held in containers, objects, calls
def alias_in_list(x):
    y = x * 1.0
    lst = [y]
    y[0] = 5.0 * x[3]
    return np.sum(lst[0] * x)


def alias_appended(x):
    hs = []
    h = x * 2.0
    hs.append(h)
    h[0] = 3.0 * x[1]
    return np.sum(hs[0] * x)


def alias_in_dict(x):
    y = x * 1.0
    d = {"k": y}
    y[0] = 5.0 * x[3]
    return np.sum(d["k"] * x)


def _head(a):
    return a[:2]


def write_into_returned_view(x):
    a = x * 1.0
    v = _head(a)
    v[0] = 5.0 * x[3]
    return np.sum(a * x)


def write_under_returned_view(x):
    a = x * 1.0
    v = _head(a)
    a[0] = 5.0 * x[3]
    return np.sum(v * x[:2])


def alias_taken_from_tuple(x):
    y = x * 1.0
    t = (y, 2.0)
    z = t[0]
    z[1] = 4.0 * x[0]
    return np.sum(y * x)


def alias_appended_in_loop(x):
    hs = []
    h = x * 1.0
    for _ in range(3):
        hs.append(h)
        h[0] = h[0] * x[1]
    return np.sum(hs[0] * h)


@pytest.mark.parametrize("f", [alias_in_list, alias_appended, alias_in_dict, write_into_returned_view,
                               write_under_returned_view, alias_taken_from_tuple, alias_appended_in_loop])
def test_aliases_through_containers_and_calls_are_refused(f):
    x = np.array([1.0, 2.0, 3.0, 4.0])
    with pytest.raises(tangent.TangentSyntaxError, match="may share memory") as info:
        tangent.grad(f)(x)
    assert "test_reverse_soundness.py" in str(info.value)
    assert "copy" in str(info.value)
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0, 4.0])


def copies_appended_in_loop(x):
    hs = []
    h = x * 1.0
    for _ in range(3):
        h = h.copy()
        h[0] = h[0] * x[1]
        hs.append(h)
    return np.sum(hs[0] * hs[2])


def rebound_after_stored(x):
    y = x * 1.0
    lst = [y]
    y = y * 2.0
    y[0] = 3.0 * x[1]
    return np.sum(lst[0] * y)


def write_into_method_copy(x):
    y = x.copy()
    y[1] = y[0] * y[2]
    return np.sum(y * x)


def rnn_states(x):
    hs = []
    h = x
    for _ in range(3):
        h = np.tanh(h * x)
        hs.append(h)
    return np.sum(hs[0] * hs[2])


@pytest.mark.parametrize("f", [copies_appended_in_loop, rebound_after_stored, write_into_method_copy, rnn_states])
def test_writes_that_no_alias_sees_are_differentiated(f):
    check_reverse(f, np.array([1.0, 2.0, 3.0, 4.0]))


# ---------------------------------------- 4. generated code has no empty blocks
def branch_with_only_inactive_values(x, c):
    s = 0.0
    for i in range(3):
        if i == c:
            s = s + x * x
        else:
            t = float(i)
            s = s + t
    return s


def branch_with_only_constants(x, c):
    y = np.sin(x)
    if c > 0:
        z = 2.0
    else:
        z = 3.0
    return y * z


def branch_with_inactive_work(x, c):
    y = x * 2.0
    if c > 0:
        q = c * 3.0
        y = y + q
    else:
        y = y * y
    return y


@pytest.mark.parametrize("f", [branch_with_only_inactive_values, branch_with_only_constants, branch_with_inactive_work])
@pytest.mark.parametrize("c", [1, -1.0])
def test_branches_emptied_by_the_optimizer_compile(f, c):
    check_reverse(f, 0.7, c)
    check_forward(f, 0.7, c)
    for optimized in (True, False):
        df = tangent.grad(f, optimized=optimized)
        df(0.7, c)
        sources = [tangent.source(df)]
        if optimized:
            sources.append(tangent.source(df.tangent_specialized_for(0.7, c)))
        for source in sources:
            compile(source, "<generated>", "exec")
            lines = [line.strip() for line in source.splitlines()]
            assert "pass" not in lines, source


# ------------------------------------- 5. augmented assignment into an aliased array
def augmented_into_aliased_array(x):
    y = x * 1.0
    z = y
    y += x * x  # in place on an array: z sees it
    return np.sum(z * x)


def augmented_into_aliased_array_later(x):
    y = x * 1.0
    z = y
    y += 1.0
    y += x * x
    return np.sum(z * x)


@pytest.mark.parametrize("f", [augmented_into_aliased_array, augmented_into_aliased_array_later])
def test_augmented_assignment_into_an_aliased_array_is_refused(f):
    with pytest.raises(tangent.TangentSyntaxError, match="may share memory"):
        tangent.grad(f)(np.array([1.0, 2.0]))


def augmented_without_alias(x, s):
    y = x * 1.0
    y += x * x
    s += 1.0
    return np.sum(y * x) * s


def test_augmented_assignment_without_alias():
    check_reverse(augmented_without_alias, np.array([1.0, 2.0]), 0.5)
    check_reverse(augmented_without_alias, np.array([1.0, 2.0]), 0.5, wrt=1)
