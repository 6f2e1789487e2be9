"""tangent/reduced_factors.py: a factor constant along the axes of the
sums that read a product is taken out of them, only then, and the
gradients stay right (central differences)."""

from __future__ import annotations

import numpy as np

import tangent
from tests.utils import numeric_grad


def mixture(means, log_stds, X):
    z = (X[:, None, :] - means[None, :, :]) / np.exp(log_stds)[None, :, :]
    return np.sum(np.log(np.sum(np.exp(-0.5 * np.sum(z * z, axis=2)), axis=1)))


def varying(a, X):
    # the factor (a row per point) varies along the axis the sums reduce: it must stay inside
    z = X[:, None, :] / (1.0 + X[:, :1, None] * a[None, :, :])
    return np.sum(z * z)


def _args(rng):
    return rng.normal(size=(3, 4)), 0.2 * rng.normal(size=(3, 4)), rng.normal(size=(20, 4))


def test_the_deviations_leave_the_sums_over_the_points():
    means, log_stds, X = _args(np.random.default_rng(0))
    df = tangent.grad(mixture, wrt=(0, 1))
    text = tangent.source(df.tangent_specialized_for(means, log_stds, X))
    assert "keepdims=True) / " in text, text
    got = df(means, log_stds, X)
    for i, g in enumerate(got):
        np.testing.assert_allclose(g, numeric_grad(mixture, [means.copy(), log_stds.copy(), X.copy()], i),
                                   rtol=1e-6, atol=1e-8)


def test_a_factor_varying_along_the_reduced_axis_stays_inside():
    rng = np.random.default_rng(1)
    a, X = rng.normal(size=(3, 4)), rng.normal(size=(20, 4))
    df = tangent.grad(varying)
    g = df(a, X)
    np.testing.assert_allclose(g, numeric_grad(varying, [a.copy(), X.copy()], 0), rtol=1e-6, atol=1e-8)
