"""tangent/unit_factors.py (with unit_seed.read_default_seed): code
specialised to a call that passes no seed reads it as 1.0 and drops the
products by one that leaves, and the gradients stay right (central
differences) and in their arguments' dtypes."""

from __future__ import annotations

import numpy as np

import tangent
from tests.utils import numeric_grad


def elementwise(x):
    return np.sum(np.sin(x) * np.exp(-x * x) + np.sqrt(1.0 + x * x))


def by_counts(x, n):
    return np.sum(x * n)


def test_the_seed_and_products_by_one_leave_specialised_code():
    x = np.random.default_rng(0).normal(size=7)
    dg = tangent.grad(elementwise)
    text = tangent.source(dg.tangent_specialized_for(x))
    assert "dresult" not in text.split('"""')[-1] and "1.0 *" not in text and "* 1.0" not in text, text
    assert "/ np.sqrt" in text, text  # 2.0 * (0.5 / s) * x, read as x / s
    want = numeric_grad(elementwise, [x.copy()], 0)
    np.testing.assert_allclose(dg(x), want, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(dg(x, 2.5), 2.5 * want, rtol=1e-6, atol=1e-9)  # (a seed: the code that reads it)


def test_a_product_by_one_of_integers_keeps_the_float_gradient():
    x, n = np.linspace(-1.0, 1.0, 4), np.arange(4)
    g = tangent.grad(by_counts)(x, n)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, n.astype(float))
    g[0] = 9.0
    assert n[0] == 0  # (the gradient is not the integer argument itself)


def test_float32_arguments_keep_their_dtype():
    x = np.random.default_rng(1).normal(size=5).astype(np.float32)
    g = tangent.grad(elementwise)(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, numeric_grad(elementwise, [x.astype(float)], 0), rtol=1e-4, atol=1e-5)
