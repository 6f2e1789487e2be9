"""``s += e`` on a variable that certainly holds an immutable number rebinds
it: an alias taken before (``z = s``) keeps the old number, so the alias check
must not refuse it. On arrays (or when the value may be one) it stays refused."""

import math

import numpy as np
import pytest

import tangent
from tangent.testing import check_grads


def constant_then_added(x):
    s = 2.0
    z = s
    s += x
    return z * s


def float_of_argument(x):
    s = float(x)
    z = s
    s += 1.0
    return z * s * x


def math_and_len(x):
    s = math.sin(x) * 2.0 + len([1, 2])
    z = s
    s *= x
    return z * s


def loop_accumulator(x):
    s = 0.5
    w = float(x)
    for i in range(3):
        z = s
        s += w * i
        s = s * z
    return s


@pytest.mark.parametrize("f", [constant_then_added, float_of_argument, math_and_len, loop_accumulator])
def test_augmented_assignment_of_a_number_is_a_rebinding(f):
    check_grads(f, 0.7, order=2)


def array_alias(x):
    s = x * 2.0
    z = s
    s += 1.0
    return np.sum(z * s)


def becomes_an_array_in_a_loop(x):
    s = 0.0
    t = 0.0
    for _ in range(2):
        z = s
        s += x
        t = t + np.sum(z * s)
    return t


@pytest.mark.parametrize("f", [array_alias, becomes_an_array_in_a_loop])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_augmented_assignment_of_a_maybe_array_is_still_refused(f, mode):
    with pytest.raises(tangent.TangentSyntaxError, match="in place"):
        tangent.autodiff(f, mode=mode)
