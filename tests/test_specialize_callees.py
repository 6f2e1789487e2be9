"""Specialised code of the user's functions called from a derivative.

The code specialised to the example arguments' shapes (run on the first
call) also specialises each called function's ``_fwd``/``_bwd`` pair to the
shapes its call site passes (one pair per shape signature; unknown shapes:
the generic pair), and knows the shapes those calls return. Every
derivative here is the specialised code's, checked against central finite
differences (tests/utils.py) and, where it applies, tangent.testing.check_grads.
"""

import re

import numpy as np

import tangent
from tangent.calls import call_result
from tangent.rules.shape_values import UNKNOWN, Array, Struct
from tests.utils import assert_tree_close, numeric_grad

GENERIC_HELPERS = r"\b(unbroadcast|mul_grad|add_grad|grad_sum)\("


def rng():
    return np.random.default_rng(0)


def specialised(f, wrt, *args):
    df = tangent.grad(f, wrt=wrt)
    return df, df.tangent_specialized_for(*args)


def check_specialised(f, wrt, *args):
    """The specialised gradient equals central differences; returns its source."""
    df, special = specialised(f, wrt, *args)
    got = special(*args)
    got = (got,) if len(wrt) == 1 else got
    for g, i in zip(got, wrt, strict=True):
        assert_tree_close(g, numeric_grad(f, args, i), rtol=1e-5, atol=1e-7)
    # and the public entry (which runs the same specialised code) agrees
    again = df(*args)
    assert_tree_close(again if len(wrt) > 1 else (again,), got)
    return tangent.source(special)


def function_source(source, name):
    """The text of one generated function."""
    match = re.search(rf"^def {name}\(.*?(?=^def |\Z)", source, re.S | re.M)
    assert match, f"{name} not in the generated source"
    return match.group(0)


# ------------------------------------------------------------ one shape


def scale_shift(a, b):
    return a * b + b


def one_call(x, y):
    z = scale_shift(x, y)
    return np.sum(z * x)


def test_helper_called_with_one_shape():
    x, y = rng().normal(size=(3, 4)), rng().normal(size=4)
    source = check_specialised(one_call, (0, 1), x, y)
    bwd = function_source(source, "scale_shift_bwd")
    assert not re.search(GENERIC_HELPERS, bwd), bwd
    assert "sum(axis=0)" in bwd  # the broadcast b is summed over its known axis
    # the result's shape is known in the caller too
    assert not re.search(GENERIC_HELPERS, function_source(source, "done_call")), source


def test_generic_code_keeps_the_generic_helpers():
    source = tangent.source(tangent.grad(one_call, wrt=(0, 1)))
    assert re.search(GENERIC_HELPERS, function_source(source, "scale_shift_bwd"))


def test_check_grads_of_a_helper_call():
    x, y = rng().normal(size=(3, 4)), rng().normal(size=4)
    tangent.testing.check_grads(one_call, x, y, modes=("reverse",), order=1)


# ------------------------------------------------------------ two shapes


def twice(x, y):
    row = scale_shift(x, y)  # (3, 4) with (4,)
    column = scale_shift(y, y)  # (4,) with (4,)
    return np.sum(row) + np.sum(column * column)


def test_helper_called_with_two_shapes_gets_one_pair_each():
    x, y = rng().normal(size=(3, 4)), rng().normal(size=4)
    source = check_specialised(twice, (0, 1), x, y)
    pairs = re.findall(r"^def (scale_shift_bwd\w*)\(", source, re.M)
    assert len(pairs) == 2, source
    for pair in pairs:
        assert "unbroadcast" not in function_source(source, pair)


def unknown_shape(x, y, n):
    w = np.reshape(y, n)  # a shape known only at run time
    return np.sum(scale_shift(x, w))


def test_unknown_shape_at_a_call_site_keeps_the_generic_helpers():
    x, y = rng().normal(size=(3, 4)), rng().normal(size=4)
    df = tangent.grad(unknown_shape, wrt=(0, 1))
    special = df.tangent_specialized_for(x, y, (1, 4))
    got = special(x, y, (1, 4))
    for g, i in zip(got, (0, 1)):
        assert_tree_close(g, numeric_grad(unknown_shape, (x, y, (1, 4)), i), rtol=1e-5, atol=1e-7)
    bwd = function_source(tangent.source(special), "scale_shift_bwd")
    assert "unbroadcast(" in bwd  # w's shape is not known: the sum stays general


# ------------------------------------------------------------ loops and nesting


def inner(v, w):
    return np.tanh(v) * w


def outer(v, w):
    return inner(v, w) + inner(w, v)


def looped(x, w, steps):
    h = np.zeros_like(x)
    for _ in range(steps):
        h = outer(h + x, w)
    return np.sum(h * h)


def test_helpers_called_from_a_loop_and_from_each_other():
    x, w = rng().normal(size=(2, 5)), rng().normal(size=5)
    source = check_specialised(looped, (0, 1), x, w, 3)
    for name in ("outer_bwd", "inner_bwd"):
        assert name in source
    assert "unbroadcast(" not in function_source(source, "outer_bwd")


# ------------------------------------------------------------ recursion


def power_sum(x, n):
    if n == 0:
        return x
    return x + x * power_sum(x, n - 1)


def recursive(x, y):
    return np.sum(power_sum(x * y, 3))


def test_recursive_helper():
    x, y = rng().normal(size=(2, 3)) * 0.5, rng().normal(size=3) * 0.5
    check_specialised(recursive, (0, 1), x, y)


def halves(x):
    if x.shape[0] <= 1:
        return np.sum(x)
    k = x.shape[0] // 2
    return halves(x[:k]) * 2.0 + halves(x[k:])


def shrinking(x):
    return halves(np.sin(x))


def test_recursion_on_ever_smaller_arrays_stops_specialising():
    x = rng().normal(size=40)
    source = check_specialised(shrinking, (0,), x)
    assert len(re.findall(r"^def halves_bwd", source, re.M)) <= 9  # at most 8 shapes, then generic


# ------------------------------------------------------------ results of calls


def pair(a, b):
    return a * b, a + b


def test_call_result_follows_the_source():
    assert call_result(scale_shift, [Array((3, 4)), Array((4,))], {}) == Array((3, 4))
    assert call_result(pair, [Array((2, 1)), Array((3,))], {}) == Struct("tuple", ((0, Array((2, 3))), (1, Array((2, 3)))))
    assert call_result(power_sum, [Array((3,)), Array((), integer=True, real=True)], {}) is UNKNOWN  # recursion
    assert call_result(np.sin, [Array((3,))], {}) is UNKNOWN  # (a shape rule's business)


def uses_pair(x, y):
    p, s = pair(x, y)
    return np.sum(p * s)


def test_tuple_results_of_a_helper():
    x, y = rng().normal(size=(2, 1)), rng().normal(size=3)
    source = check_specialised(uses_pair, (0, 1), x, y)
    assert "unbroadcast(" not in function_source(source, "pair_bwd")


def test_float_arguments_of_a_helper():
    def scaled(x, s):
        return np.sum(scale_shift(x, s))
    x = rng().normal(size=4)
    source = check_specialised(scaled, (0, 1), x, 0.5)
    assert "unbroadcast(" not in function_source(source, "scale_shift_bwd")


# ------------------------------------------------------------ np.concatenate of a list literal


def shift(x, y):
    shifted = np.concatenate([np.ones(1), y[:-1]])
    return x * shifted


def solve(x, h):
    y = np.zeros_like(x)
    for _ in range(3):
        y = y + h * shift(x, y)
    return np.sum(y * y)


def test_concatenate_of_a_list_literal_has_a_known_shape():
    x = rng().normal(size=6)
    source = check_specialised(solve, (0,), x, 0.25)
    assert "unbroadcast(" not in function_source(source, "shift_bwd")


def appended(x, y):
    parts = [x, y]
    parts.append(y)  # the list changes before it is concatenated: its shape is not assumed
    return np.sum(np.concatenate(parts) * 2.0)


def test_concatenate_of_a_changed_list():
    x, y = rng().normal(size=2), rng().normal(size=3)
    check_specialised(appended, (0, 1), x, y)


def test_second_order_through_specialised_helpers():
    # hvp differentiates the specialised gradient (with its specialised helper pairs) forwards
    x, w = rng().normal(size=(2, 5)), rng().normal(size=5)
    tangent.testing.check_grads(looped, x, w, 2, wrt=(0, 1), modes=("reverse", "forward"), order=2)
    tangent.testing.check_grads(solve, rng().normal(size=6), 0.25, wrt=(0,), modes=("reverse", "forward"), order=2)


# ------------------------------------------------------------ module constants

STEP = 0.5


def stepped(x, y):
    h = STEP / 2  # a module's number: the generated code binds its value, so its shape is known
    return x + h * scale_shift(x, y)


def uses_step(x, y):
    return np.sum(stepped(x, y) ** 2)


def test_a_module_number_has_a_known_shape():
    global STEP
    x, y = rng().normal(size=(2, 3)), rng().normal(size=3)
    source = check_specialised(uses_step, (0, 1), x, y)
    assert not re.search(GENERIC_HELPERS, function_source(source, "stepped_bwd")), source
    saved = STEP
    try:
        STEP = np.ones((4, 1, 1))  # rebound to an array: a new derivative, which must not assume a number
        source = check_specialised(uses_step, (0, 1), x, y)
        assert "unbroadcast(" in function_source(source, "stepped_bwd")
    finally:
        STEP = saved


def same(v):
    return v * 1.0


def column(v):
    return v[:, None] * 1.0


GROW = same


def via(x):
    return GROW(x)


def use_via(x, y):
    return np.sum(via(x) * y)


def test_a_rebound_helper_of_a_helper_is_inferred_again():
    global GROW
    x, y = rng().normal(size=3), rng().normal(size=3)
    check_specialised(use_via, (0, 1), x, y)
    try:
        GROW = column  # via's result is now (3, 1), the product (3, 3)
        check_specialised(use_via, (0, 1), x, y)
    finally:
        GROW = same
    check_specialised(use_via, (0, 1), x, y)
