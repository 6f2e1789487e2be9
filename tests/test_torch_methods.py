"""Torch code that only calls tensor methods, in a module that imports NumPy
too: the methods are resolved on the arguments' tensors at the first call
(tangent/argument_classes.py), not refused as NumPy methods. Checked
against torch.func. Skipped when torch is absent."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import tangent  # noqa: E402

D = torch.float64


def only_methods(w, x):
    return ((x @ w).relu() ** 2).mean() + w.norm() + x.softmax(1).amax(dim=0).sum()


def test_tensor_methods_resolved_at_the_call():
    g = torch.Generator().manual_seed(0)
    w, x = torch.randn(3, generator=g, dtype=D), torch.randn(4, 3, generator=g, dtype=D)
    v = torch.randn(3, generator=g, dtype=D)
    df = tangent.grad(only_methods)
    torch.testing.assert_close(df(w, x), torch.func.grad(only_methods)(w, x))
    expected = torch.func.jvp(lambda a: only_methods(a, x), (w,), (v,))[1]
    torch.testing.assert_close(tangent.jvp(only_methods)(w, x, v), expected)
    assert "relu" in tangent.source(df)  # (after the first call)


def test_numpy_arrays_still_use_numpy_methods():
    def numpy_only(x):
        return np.sum(x.clip(0.0, 1.0) ** 2)

    x = np.array([0.5, -1.0, 2.0, 0.25])
    np.testing.assert_allclose(tangent.grad(numpy_only)(x), np.where((x >= 0) & (x <= 1), 2 * x, 0.0))
