"""Desugaring (tangent/desugar.py): nested functions are inlined as they
stand at the call, and a name that stops holding a nested function is not
inlined any more (it used to be: a stale definition gave a wrong gradient)."""

import numpy as np
import pytest

import tangent
from tests.utils import check_grad, line_of

THIS_FILE = __file__


def redefined(x):
    g = lambda v: v * v  # noqa: E731
    y = g(x)
    g = lambda v: v * 3.0  # noqa: E731
    return y + g(x)


def rebound_to_numpy(x):
    g = lambda v: v * v  # noqa: E731
    y = g(x)
    g = np.sin
    return y + g(x)  # ERR


def rebound_by_loop(x):
    def g(v):
        return v * v

    y = g(x)
    for g in [np.sin]:  # noqa: B007
        y = y + x
    return y + g(x)  # ERR


def defined_in_branch(x, c):
    if c > 0.0:
        g = lambda v: v * v  # noqa: E731
    else:
        g = lambda v: v * 3.0  # noqa: E731
    return g(x)  # ERR


def redefined_in_branch(x, c):
    def g(v):
        return v * v

    if c > 0.0:
        def g(v):
            return v * 3.0
    return g(x)  # ERR


def test_each_call_inlines_the_definition_it_sees():
    assert check_grad(redefined, 2.0) == pytest.approx(7.0)


@pytest.mark.parametrize("func", [rebound_to_numpy, rebound_by_loop])
def test_a_rebound_name_is_not_inlined(func):
    with pytest.raises(tangent.TangentSyntaxError) as info:
        tangent.grad(func)
    assert f"{THIS_FILE}:{line_of(func, '# ERR')}" in str(info.value)
    assert "cannot call the local variable 'g'" in str(info.value) or "rebound in a branch or a loop" in str(info.value)


@pytest.mark.parametrize("func", [defined_in_branch, redefined_in_branch])
def test_definitions_inside_branches_are_refused_after_them(func):
    # the definition met last was inlined whichever branch ran: grad(x*x) at 2 was 3.0
    with pytest.raises(tangent.TangentSyntaxError) as info:
        tangent.grad(func)
    assert f"{THIS_FILE}:{line_of(func, '# ERR')}" in str(info.value)
    assert "defined or rebound in a branch or a loop" in str(info.value)


def default_read_at_definition(x):
    a = x * 1.0

    def g(v, s=a):
        return v * s

    a = x * x  # after the def: g's default is still x * 1.0
    return g(x)


def lambda_default_read_at_definition(x):
    a = np.sin(x)
    g = lambda v, s=a: v * s  # noqa: E731
    a = x * x
    return g(x) + g(x, a)


def test_defaults_are_computed_where_the_function_is_defined():
    # the default was read at the call, after a changed: 12.0 instead of 4.0
    assert check_grad(default_read_at_definition, 2.0) == pytest.approx(4.0)
    check_grad(lambda_default_read_at_definition, 0.7)


def defined_in_loop(x):
    t = 0.0
    for i in range(3):
        g = lambda v: v * v * i  # noqa: E731
        t = t + g(x)
    return t


def redefined_in_loop(x):
    g = lambda v: v * v  # noqa: E731
    t = 0.0
    for _ in range(3):
        t = t + g(x)  # ERR: the second iteration calls the second definition
        g = lambda v: v * 3.0  # noqa: E731
    return t


def redefined_after_early_return(x):
    g = lambda v: v  # noqa: E731
    if x > 5.0:
        return g(x)
    g = lambda v: v * v  # noqa: E731
    return g(x)


def scale_five(w):
    return w * 5.0


def inner_function_is_its_own(x):
    def outer(v):
        def scale_five(w):
            return w * w

        return scale_five(v)

    return outer(x) + scale_five(x)  # ERR: the global one here, not outer's


def test_definitions_used_where_they_are_known():
    check_grad(defined_in_loop, 2.0)
    check_grad(redefined_after_early_return, 2.0)
    check_grad(redefined_after_early_return, 6.0)


def test_redefinition_in_a_loop_is_refused():
    # the first definition was inlined for every iteration: 12.0 instead of 10.0
    with pytest.raises(tangent.TangentSyntaxError) as info:
        tangent.grad(redefined_in_loop)
    assert f"{THIS_FILE}:{line_of(redefined_in_loop, '# ERR')}" in str(info.value)
    assert "defined or rebound in a branch or a loop" in str(info.value)


def test_a_nested_function_of_a_nested_function_stays_inside_it():
    # outer's scale_five was inlined for the global one too
    with pytest.raises(tangent.TangentSyntaxError) as info:
        tangent.grad(inner_function_is_its_own)
    assert f"{THIS_FILE}:{line_of(inner_function_is_its_own, '# ERR')}" in str(info.value)


def rebound_by_loop_target(x):
    g = lambda v: v * v  # noqa: E731
    t = 0.0
    for g in [np.sin]:  # noqa: B007
        t = t + g(x)  # ERR: np.sin here
    return t


def test_a_loop_target_rebinds_a_nested_function():
    # the lambda was inlined: 4.0 instead of cos(2)
    with pytest.raises(tangent.TangentSyntaxError) as info:
        tangent.grad(rebound_by_loop_target)
    assert f"{THIS_FILE}:{line_of(rebound_by_loop_target, '# ERR')}" in str(info.value)


def while_test_after_redefinition(x):
    g = lambda v: v * 0.0 + 1.0  # noqa: E731
    t = x
    while g(t) > 0.5:  # the second evaluation calls the second definition
        t = t * x
        g = lambda v: v * 0.0  # noqa: E731
    return t


def test_a_while_test_sees_the_definitions_at_the_end_of_the_body():
    assert check_grad(while_test_after_redefinition, 2.0) == pytest.approx(4.0)
