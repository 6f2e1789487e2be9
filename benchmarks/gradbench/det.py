"""GradBench ``det``: the gradient of a determinant computed by expansion by minors.

The natural recursive definition: expand along the first row, the minor of
column j being A without its first row and column j (``np.delete``).
"""

import numpy as np

TASK, WRT = "gradient", (0,)
SIZE = "ell=7"


def det_by_minors(A):
    n = A.shape[0]
    if n == 1:
        return A[0, 0]
    rest = np.delete(A, 0, axis=0)
    total = 0.0
    for j in range(n):
        sign = 1.0 if j % 2 == 0 else -1.0
        total = total + sign * A[0, j] * det_by_minors(np.delete(rest, j, axis=1))
    return total


DIFFERENTIATE = det_by_minors


def by_hand(A):
    # d det(A) / dA = the cofactor matrix = det(A) inv(A)^T (A is invertible
    # here); what a careful person writes instead of differentiating the
    # recursion, so this reference is also far faster than any AD of it.
    return np.linalg.det(A) * np.linalg.inv(A).T


def _input(ell, seed):
    return (np.random.default_rng(seed).random((ell, ell)),)


def small_input(seed=0):
    return _input(4, seed)


def gradbench_input(seed=0):
    return _input(7, seed)
