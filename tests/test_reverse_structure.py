"""Reverse mode's parts: the tape decides pushes after the adjoint is
pruned, adjoint states, the shared rule path; and what restructuring them
found (the result returned with the gradient when the backward pass restores
the result's variable)."""

from __future__ import annotations

import numpy as np
import pytest

import tangent
from tangent.adjoints import MAYBE, NONZERO, ZERO, AdjointState, merge
from tests.utils import assert_tree_close, numeric_grad


def first_large(x, threshold):
    total = 0.0
    for i in range(x.shape[0]):
        total = total + x[i] * x[i]
        if total > threshold:
            return total * 2.0
    return total


def reassigned_result(x):
    y = np.sum(x * x)
    y = y * 3.0
    return y


@pytest.mark.parametrize("optimized", [True, False])
@pytest.mark.parametrize("threshold", [1.5, 100.0])
def test_preserve_result_when_the_backward_pass_restores_the_result(optimized, threshold):
    # The early return's `_result` is restored (popped) by the backward
    # pass; the result returned beside the gradient was that restored value
    # (None) instead of the function's value.
    x = np.array([1.0, 2.0, 3.0])
    df = tangent.grad(first_large, wrt=(0,), preserve_result=True, optimized=optimized)
    g, result = df(x, threshold)
    assert result == pytest.approx(first_large(x, threshold))
    assert_tree_close(g, numeric_grad(first_large, [x, threshold], 0))
    if optimized:  # the specialised code too
        g, result = df.tangent_specialized_for(x, threshold)(x, threshold)
        assert result == pytest.approx(first_large(x, threshold))


@pytest.mark.parametrize("optimized", [True, False])
def test_preserve_result_of_a_reassigned_result(optimized):
    x = np.array([0.5, -1.0])
    g, result = tangent.grad(reassigned_result, preserve_result=True, optimized=optimized)(x)
    assert result == pytest.approx(reassigned_result(x))
    assert_tree_close(g, numeric_grad(reassigned_result, [x], 0))


def test_no_push_for_a_branch_test_only_an_unneeded_restore_read():
    # `if _cond: _and = not _returned` of the loop's exit test has no adjoint
    # code: the backward `if` only restored an unsaved value, so it goes, and
    # the push and pop of its test with it.
    src = tangent.source(tangent.grad(first_large, wrt=(0,)))
    assert "_cond_3 = stack.pop()" not in src
    assert "stack.append(_cond_3)" not in src
    assert "stack.append(_cond_2)" in src  # read by the backward `if`


def test_merge_is_an_upper_bound():
    order = [ZERO, NONZERO, MAYBE]
    for a in order:
        for b in order:
            for defined in ((), ("x",)):
                m = merge([{"x": a}, {"x": b}], defined).get("x", ZERO)
                assert order.index(m) >= max(order.index(a), order.index(b))
                # merging again with an input changes nothing (the loop head's fixpoint)
                assert merge([{"x": m} if m != ZERO else {}, {"x": b}], defined).get("x", ZERO) == m
    assert isinstance(MAYBE, AdjointState)


def loop_maybe(x, n):
    s = 0.0
    for i in range(n):
        if i % 2:
            s = s + np.sin(x)
    return s


@pytest.mark.parametrize("n", [0, 1, 4])
def test_loop_head_state_with_maybe_adjoints(n):
    x = 0.7
    assert tangent.grad(loop_maybe)(x, n) == pytest.approx(numeric_grad(loop_maybe, [x, n], 0))


def written_into(x):
    y = np.zeros(2)
    y[0] = x[0] * 2.0
    y[1] = y[0] * x[1]
    y[0] = y[1] + 1.0
    return y


def appended(x):
    lst = []
    lst.append(x * 2.0)
    lst.append(x * 3.0)
    return lst


@pytest.mark.parametrize("optimized", [True, False])
def test_preserve_result_of_a_result_the_backward_pass_changes_in_place(optimized):
    # The backward pass restores the regions written into y (restore_region
    # writes into the same array) and pops what was appended to lst: the
    # result returned beside the gradient was all zeros, or an empty list.
    x = np.array([1.5, 3.0])
    dv = np.array([1.0, -2.0])
    g, result = tangent.vjp(written_into, preserve_result=True, optimized=optimized)(x, dv)
    np.testing.assert_allclose(result, written_into(x))
    expected = numeric_grad(lambda x: np.dot(written_into(x), dv), [x], 0)
    assert_tree_close(g, expected)
    seeds = [np.ones(2), np.array([0.5, -1.0])]
    g, result = tangent.vjp(appended, preserve_result=True, optimized=optimized)(x, seeds)
    assert_tree_close(result, appended(x))
    assert_tree_close(g, 2.0 * seeds[0] + 3.0 * seeds[1])


def branch_nothing_reads(x, c):
    s = 0.0
    for i in range(3):
        if c > i:
            k = 1
        else:
            k = 2
        s = s + x * x * k
    return s


def branch_both_sides_unread(x, c):
    s = 0.0
    for i in range(3):
        if c > i:
            k = 1
        else:
            k = 2
        s = s + x * x
    return s + k


@pytest.mark.parametrize("c", [0.5, 1.5, 5.0])
def test_branches_whose_adjoints_only_restore(c):
    # Both branches of `if c > i` only restore k: when k's old value is not
    # read the backward `if` goes, and so does the push of its test.
    src = tangent.source(tangent.grad(branch_both_sides_unread))
    assert "_cond = stack.pop()" not in src
    for f in (branch_nothing_reads, branch_both_sides_unread):
        x = 1.3
        assert tangent.grad(f)(x, c) == pytest.approx(numeric_grad(f, [x, c], 0))


def helper_with_a_loop(a, n):
    total = np.zeros(np.shape(a))
    for k in range(n):
        total = total + a * k
    return total


def calls_helper_with_a_loop(a, n):
    return np.sum(helper_with_a_loop(a, n) + a)


@pytest.mark.parametrize("n", [0, 1, 3])
def test_a_called_function_whose_loop_runs_no_pass(n):
    """The tape of a called function held the loop variable, unbound when
    the loop ran no pass (UnboundLocalError); the backward loop assigns it."""
    a = np.array([0.5, -1.5])
    df = tangent.grad(calls_helper_with_a_loop)
    assert_tree_close(df(a, n), numeric_grad(calls_helper_with_a_loop, (a, n), 0))
