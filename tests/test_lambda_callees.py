"""Lambdas called from the differentiated function as values (a closure's
free variable, a module global), not written inline: their subroutines need
identifiers of their own (the generated source once read ``def <lambda>_fwd``)."""

import numpy as np

import tangent
from tangent.testing import check_grads

square = lambda v: v * v  # noqa: E731  (a module-level lambda, as users write them)


def make_loss(scale):
    shifted_square = lambda v: (v - 1.0) * (v - 1.0)  # noqa: E731

    def loss(w):
        return scale * np.sum(shifted_square(w) + np.sin(square(w)))

    return loss


def uses_two_lambdas(x):
    return np.sum(square(x) * square(np.cos(x)))


def test_closure_lambda_all_modes():
    check_grads(make_loss(2.0), np.array([0.3, -1.2, 2.0]), modes=("reverse", "forward"), order=2)


def test_global_lambda_called_twice():
    check_grads(uses_two_lambdas, np.array([0.5, 1.5]), modes=("reverse", "forward"), order=2)


def test_lambda_subroutines_are_named_after_their_variable():
    source = tangent.source(tangent.grad(make_loss(1.0)))
    assert "<lambda>" not in source and "def shifted_square_fwd(" in source
