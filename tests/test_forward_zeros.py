"""Forward mode's simplification of zero tangents (tangent/forward_zeros.py).

Dropping the zero tangent of an inactive term of a sum loses the shape the
term broadcast the result to; forward mode then broadcasts the tangent to
the value. That must hold wherever in a rule the dropped term sits, also in
a local of the rule nested under another operation. Checked against central
finite differences.
"""

import numpy as np

import tangent
from tangent.rules import d


def directional(f, args, index, v, eps=1e-6):
    """Central finite difference of f along v in argument ``index``."""
    plus, minus = list(args), list(args)
    plus[index] = args[index] + eps * v
    minus[index] = args[index] - eps * v
    return (np.asarray(f(*plus)) - np.asarray(f(*minus))) / (2 * eps)


def scaled_sum(a, b):
    return (a + b) * 2.0


@tangent.tangent_rule(scaled_sum)
def _scaled_sum_tangent(result, a, b):
    t = (d[a] + d[b]) * 2.0
    d[result] = t


def test_a_dropped_term_nested_in_a_rule_local_still_broadcasts_the_tangent():
    def f(a, b):
        return scaled_sum(a, b)

    a, b, v = np.ones(3), np.ones((2, 3)), np.arange(3.0)
    got = tangent.jvp(f, wrt=0)(a, b, v)
    expected = directional(f, (a, b), 0, v)
    assert np.shape(got) == (2, 3)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def test_a_dropped_term_of_the_rule_result_broadcasts_the_tangent():
    def f(a, b):
        return a - b

    a, b, v = np.ones(3), np.ones((2, 3)), np.arange(3.0)
    got = tangent.jvp(f, wrt=1)(a, b, np.ones((2, 3)))
    np.testing.assert_allclose(got, directional(f, (a, b), 1, np.ones((2, 3))))
    got = tangent.jvp(f, wrt=0)(a, b, v)
    np.testing.assert_allclose(got, directional(f, (a, b), 0, v))
