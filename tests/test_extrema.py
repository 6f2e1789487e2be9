"""Derivatives of max/min and of the functions built on them (logsumexp, k-means).

Away from ties every derivative is checked against central finite differences
in float64 (``tangent.testing.check_grads``: reverse, forward and second
order, and that no call changes its inputs). At ties max/min are not
differentiable; Tangent's convention is that the tied elements share the
adjoint evenly (reverse) and the tangent is the mean of the tied tangents
(forward), the same in first and second order, whether the derivative goes
through the general rules or the shape-specialised code. Those cases are
checked against that convention computed here from its definition, and
reverse against forward (``<grad, v> == jvp(v)``).
"""

import numpy as np
import pytest

import tangent
from tangent.testing import check_grads

RNG = np.random.default_rng(20261202)


def distinct(*shape):
    """Values with no ties, well apart (finite differences stay on one side)."""
    return RNG.permutation(np.arange(int(np.prod(shape)), dtype=float)).reshape(shape) * 0.37 - 3.0


# ------------------------------------------------------------------ programs


def logsumexp(x):
    a = np.max(x)
    return a + np.log(np.sum(np.exp(x - a)))


def logsumexp_rows(x):
    a = np.max(x, axis=1, keepdims=True)
    return np.sum(a + np.log(np.sum(np.exp(x - a), axis=1, keepdims=True)))


def kmeans_cost(points, centroids):
    diff = points[:, None, :] - centroids[None, :, :]
    distances = np.sum(diff * diff, axis=2)
    return np.sum(np.min(distances, axis=1))


def max_all(x):
    return np.max(x) * np.sum(np.sin(x))


def max_square(x):
    return np.max(x) ** 2


def min_all(x):
    return np.min(x) ** 2 + np.sum(x * x)


def amax_axis0(x):
    return np.sum(np.cos(np.amax(x, axis=0)))


def amin_axis1(x):
    return np.sum(np.amin(x, axis=1) ** 3)


def max_last_axis(x):
    return np.sum(np.sin(np.max(x, axis=-1)))


def max_kept(x):
    return np.sum(np.max(x, axis=1, keepdims=True) * x)


def max_two_axes(x):
    return np.sum(np.sin(np.max(x, axis=(0, 2))))


def method_max_min(x):
    return x.max() * x.min(axis=0).sum()


def max_with_initial(x):
    return np.sum(np.sin(np.max(x, axis=0, initial=-100.0)))


def min_squared_axis(x):
    return np.sum(np.min(x * x, axis=0) * np.max(x, axis=0))


CASES = [
    (logsumexp, (distinct(40),)),
    (logsumexp, (distinct(4, 5),)),
    (logsumexp_rows, (distinct(6, 7),)),
    (max_all, (distinct(3, 4),)),
    (max_square, (distinct(9),)),
    (min_all, (distinct(2, 3, 2),)),
    (amax_axis0, (distinct(5, 3),)),
    (amin_axis1, (distinct(5, 3),)),
    (max_last_axis, (distinct(2, 3, 4),)),
    (max_kept, (distinct(4, 3),)),
    (max_two_axes, (distinct(2, 3, 4),)),
    (method_max_min, (distinct(4, 3),)),
    (max_with_initial, (distinct(4, 3),)),
    (min_squared_axis, (distinct(5, 4) + 0.05,)),
]


@pytest.mark.parametrize("f, args", CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_against_finite_differences(f, args):
    check_grads(f, *args, order=2)


def test_kmeans_against_finite_differences():
    points = distinct(12, 3) * 0.1
    centroids = points[[1, 5, 9]] + 1e-2 * RNG.standard_normal((3, 3))
    check_grads(kmeans_cost, points, centroids, wrt=1, order=2)


def test_kmeans_direction_matches_hand_written():
    """GradBench's kmeans direction J / diag(H) against the closed form."""
    points = RNG.random((40, 3))
    centroids = points[[2, 7, 30, 11]] + 1e-3 * RNG.standard_normal((4, 3))
    grad = tangent.grad(kmeans_cost, wrt=1)
    hvp = tangent.hvp(kmeans_cost, wrt=1)
    for _ in range(2):  # the generic code, then the specialised
        direction = grad(points, centroids) / hvp(points, centroids, np.ones_like(centroids))
    nearest = np.argmin(((points[:, None, :] - centroids[None]) ** 2).sum(axis=2), axis=1)
    counts = np.bincount(nearest, minlength=4)[:, None]
    sums = np.stack([points[nearest == j].sum(axis=0) for j in range(4)])
    np.testing.assert_allclose(direction, (2.0 * (counts * centroids - sums)) / (2.0 * counts), rtol=1e-12)


def test_large_logsumexp_is_the_softmax():
    """The stabilised logsumexp at GradBench's scale: the softmax, computed here."""
    x = RNG.uniform(-100.0, 100.0, 5000)
    df = tangent.grad(logsumexp)
    expected = np.exp(x - x.max()) / np.sum(np.exp(x - x.max()))
    for _ in range(2):
        np.testing.assert_allclose(df(x), expected, rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_the_arguments(dtype):
    x = distinct(3, 4).astype(dtype)
    for f in (max_all, amax_axis0, max_kept):
        df = tangent.grad(f)
        for _ in range(2):
            assert df(x).dtype == dtype


# ------------------------------------------------------------------ ties


def share(x, axis):
    """The tie convention from its definition: 1/(number of tied extrema)
    where an element equals the max of its slice, 0 elsewhere."""
    hit = x == np.max(x, axis=axis, keepdims=True)
    return hit / np.sum(hit, axis=axis, keepdims=True)


def sum_max_axis1(x):
    return np.sum(np.max(x, axis=1))


def sum_max_axis0_kept(x):
    return np.sum(np.max(x, axis=0, keepdims=True))


def max_of_all(x):
    return np.max(x)


def min_of_all(x):
    return np.min(x)


TIED = np.array([[1.0, 3.0, 3.0, -2.0],
                 [0.5, 0.25, 0.5, 0.5],
                 [7.0, -1.0, 2.0, 6.0]])


@pytest.mark.parametrize("f, axis", [(sum_max_axis1, 1), (sum_max_axis0_kept, 0), (max_of_all, None)],
                         ids=["axis1", "axis0-kept", "all"])
def test_ties_share_the_adjoint(f, axis):
    x = np.where(np.arange(12).reshape(3, 4) == 8, 7.0, TIED)  # a tie in a column and over all
    before = x.copy()
    df = tangent.grad(f)
    for _ in range(2):  # generic, then specialised code
        np.testing.assert_allclose(df(x), share(x, axis), rtol=1e-15)
    v = RNG.standard_normal(x.shape)
    jvp = tangent.jvp(f)
    for _ in range(2):
        np.testing.assert_allclose(jvp(x, v), np.sum(share(x, axis) * v), rtol=1e-12)
    np.testing.assert_array_equal(x, before)


def test_ties_min_over_all():
    x = np.array([2.0, -1.0, 4.0, -1.0, -1.0])
    df = tangent.grad(min_of_all)
    for _ in range(2):
        np.testing.assert_allclose(df(x), [0.0, 1 / 3, 0.0, 1 / 3, 1 / 3], rtol=1e-15)


def test_signed_zeros_tie():
    """0.0 and -0.0 are equal: a tie, shared."""
    x = np.array([-0.0, 0.0, -1.0])
    df = tangent.grad(max_of_all)
    for _ in range(2):
        np.testing.assert_allclose(df(x), [0.5, 0.5, 0.0])


def test_ties_second_order():
    """max(x)**2 at a tie: gradient 2 max * share, Hessian 2 share share^T
    (both the hvp and reverse over reverse)."""
    x = np.array([1.0, 3.0, -2.0, 3.0, 3.0])
    s = share(x, None)
    v = RNG.standard_normal(x.shape)
    hvp = tangent.hvp(max_square)
    for _ in range(2):
        np.testing.assert_allclose(tangent.grad(max_square)(x), 2 * 3.0 * s, rtol=1e-15)
        np.testing.assert_allclose(hvp(x, v), 2 * s * np.dot(s, v), rtol=1e-12)

    hessian = tangent.hessian(max_square)
    for _ in range(2):
        np.testing.assert_allclose(hessian(x), 2 * np.outer(s, s), rtol=1e-12)


def test_ties_along_axis_second_order():
    x = TIED.copy()
    v = RNG.standard_normal(x.shape)

    def expected(x, v):
        s = share(x, 1)
        m = np.max(x, axis=1, keepdims=True)
        return 2 * s * np.sum(s * v, axis=1, keepdims=True), 2 * m * s

    hvp = tangent.hvp(sum_max_axis1_squared)
    grad = tangent.grad(sum_max_axis1_squared)
    h, g = expected(x, v)
    for _ in range(2):
        np.testing.assert_allclose(grad(x), g, rtol=1e-15)
        np.testing.assert_allclose(hvp(x, v), h, rtol=1e-12)


def sum_max_axis1_squared(x):
    return np.sum(np.max(x, axis=1) ** 2)


def test_nan_is_not_a_silent_zero():
    """A NaN makes the max NaN; its gradient must not be a clean zero."""
    x = np.array([1.0, np.nan, 2.0])
    df = tangent.grad(max_of_all)
    with np.errstate(all="ignore"):
        for _ in range(2):
            assert np.isnan(df(x)).any()


def max_kept_squared(x):
    return np.sum(np.max(x, axis=0, keepdims=True) ** 2)


@pytest.mark.parametrize("f", [max_square, max_kept_squared])
def test_specialised_gradient_has_a_forward_derivative(f):
    """The HVP differentiates the shape-specialised gradient (which calls the
    specialised max adjoint); it must transform, not fall back to the generic
    code, and match finite differences of the gradient."""
    from tangent.api import autodiff

    x = distinct(4, 3)
    v = RNG.standard_normal(x.shape)
    gradient = tangent.grad(f)
    specialised = gradient.tangent_specialized_for(x)
    assert "grad_extremum_kept" in tangent.source(specialised)
    hvp = autodiff(specialised, (0,), "forward", optimized=True)
    eps = 1e-6
    expected = (gradient(x + eps * v) - gradient(x - eps * v)) / (2 * eps)
    np.testing.assert_allclose(hvp(x, 1.0, v), expected, rtol=1e-6, atol=1e-9)


def test_nan_along_an_axis_is_not_a_silent_zero():
    """A row holding a NaN has a NaN max: its gradient and tangent are NaN,
    the other rows' are unchanged."""
    x = np.array([[1.0, np.nan, 2.0], [3.0, 1.0, 0.0]])
    df, jvp = tangent.grad(sum_max_axis1), tangent.jvp(sum_max_axis1)
    with np.errstate(all="ignore"):
        for _ in range(2):
            g = df(x)
            assert np.isnan(g[0]).all()
            np.testing.assert_array_equal(g[1], [1.0, 0.0, 0.0])
            assert np.isnan(jvp(x, np.ones_like(x)))
            assert np.isnan(tangent.jvp(max_of_all)(x, np.ones_like(x)))


@pytest.mark.parametrize("module", ["tangent.rules.numpy_fast_rules", "tangent.rules.numpy_rules"])
def test_rule_modules_import_on_their_own(module):
    """The specialised max adjoint's rule reads numpy_rules' helpers: importing
    either module first (before any derivative loads the rules) must work."""
    import subprocess
    import sys

    subprocess.run([sys.executable, "-c", f"import {module}"], check=True, capture_output=True)
