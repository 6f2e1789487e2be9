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
        g = lambda v: v * v  # ERR  # noqa: E731
    else:
        g = lambda v: v * 3.0  # noqa: E731
    return g(x)


def redefined_in_branch(x, c):
    def g(v):
        return v * v

    if c > 0.0:
        def g(v):  # ERR
            return v * 3.0
    return g(x)


def test_each_call_inlines_the_definition_it_sees():
    assert check_grad(redefined, 2.0) == pytest.approx(7.0)


@pytest.mark.parametrize("func", [rebound_to_numpy, rebound_by_loop])
def test_a_rebound_name_is_not_inlined(func):
    with pytest.raises(tangent.TangentSyntaxError) as info:
        tangent.grad(func)
    assert f"{THIS_FILE}:{line_of(func, '# ERR')}" in str(info.value)
    assert "cannot call the local variable 'g'" in str(info.value)


@pytest.mark.parametrize("func", [defined_in_branch, redefined_in_branch])
def test_definitions_inside_blocks_are_refused(func):
    # the definition met last was inlined whichever branch ran: grad(x*x) at 2 was 3.0
    with pytest.raises(tangent.TangentSyntaxError) as info:
        tangent.grad(func)
    assert f"{THIS_FILE}:{line_of(func, '# ERR')}" in str(info.value)
    assert "defined inside a block" in str(info.value)
