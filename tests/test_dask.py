"""Dask arrays stay lazy through derivatives: grad, jvp and hvp of NumPy code
over Dask data return Dask arrays without computing anything (every test
runs the derivative under a scheduler that raises), and their values agree
with closed forms computed by Dask and with central finite differences in
float64 (tests/utils.py). Small sizes; the 1.6 GB run is
benchmarks/dask_lazy.py. Skipped when dask is absent (array-API arrays
without the NumPy protocol: tests/test_array_api_strict.py).
"""

import warnings

import numpy as np
import pytest

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")

import tangent  # noqa: E402
from tangent import runtime  # noqa: E402

from .utils import numeric_grad  # noqa: E402

N, COLS, CHUNK = 400, 6, 100


def _no_compute(*args, **kwargs):
    raise AssertionError("a Dask graph was computed")


class lazy:
    """Within: computing any Dask graph fails, and so does Dask's warning
    that a NumPy function it lacks falls back to computing its input."""

    def __enter__(self):
        self._config = dask.config.set(scheduler=_no_compute)
        self._config.__enter__()
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.simplefilter("error", FutureWarning)

    def __exit__(self, *exc):
        self._warnings.__exit__(*exc)
        self._config.__exit__(*exc)


def data(seed=0, n=N, cols=COLS, dtype=np.float64):
    rng = np.random.default_rng(seed)
    Xn = rng.standard_normal((n, cols)).astype(dtype)
    yn = rng.standard_normal(n).astype(dtype)
    return Xn, yn, da.from_array(Xn, chunks=(CHUNK, cols)), da.from_array(yn, chunks=CHUNK)


def least_squares(W, X, y):
    return np.mean((X @ W - y) ** 2)


def logistic(W, b, X, y):
    z = X @ W + b
    return np.sum(np.log(1 + np.exp(-z * y))) / X.shape[0]


def features(W, b, X, y):
    h = np.tanh(X * W + b)
    return np.sum(np.mean(h, axis=0) * W) + np.max(X @ W) + np.var(h @ b + y) + np.sum(np.maximum(X @ W, 0.0))


def pieces(W, b, X, y):
    z = np.concatenate([X @ W, y])
    return np.sum(z ** 2) + np.sum(X[:, 0] * (X @ W)) + np.sum(np.prod(X[:, :3] * W[:3], axis=1)) + (X @ W).mean()


def test_gradient_is_lazy_and_right():
    Xn, yn, X, y = data()
    W = np.linspace(-1.0, 1.0, COLS)
    with lazy():
        g = tangent.grad(least_squares)(W, X, y)
    assert isinstance(g, da.Array) and g.shape == W.shape and g.dtype == W.dtype
    closed_form = (2 / N * X.T @ (X @ W - y)).compute()
    np.testing.assert_allclose(g.compute(), closed_form, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(g.compute(), numeric_grad(least_squares, (W, Xn, yn), 0), rtol=1e-6, atol=1e-8)


def test_gradient_with_respect_to_dask_arrays():
    Xn, yn, X, y = data(1)
    W = da.from_array(np.linspace(-1.0, 1.0, COLS), chunks=3)
    with lazy():
        gW, gX = tangent.grad(least_squares, wrt=(0, 1))(W, X, y)
    assert isinstance(gW, da.Array) and isinstance(gX, da.Array)
    assert gX.chunks[0] == X.chunks[0]  # the adjoint streams in the data's row chunks
    Wn = W.compute()
    np.testing.assert_allclose(gW.compute(), numeric_grad(least_squares, (Wn, Xn, yn), 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gX.compute(), numeric_grad(least_squares, (Wn, Xn, yn), 1), rtol=1e-6, atol=1e-8)


def test_float32_gradient_keeps_dtype():
    _, _, X, y = data(2, dtype=np.float32)
    W = np.ones(COLS, np.float32)
    with lazy():
        g = tangent.grad(least_squares)(W, X, y)
    assert isinstance(g, da.Array) and g.dtype == np.float32


def test_jvp_and_hvp_are_lazy_and_right():
    Xn, yn, X, y = data(3)
    W, v = np.linspace(-1.0, 1.0, COLS), np.arange(COLS, dtype=float)
    with lazy():
        j = tangent.jvp(least_squares)(W, X, y, v)
        h = tangent.hvp(least_squares)(W, X, y, v)
    assert isinstance(j, da.Array) and isinstance(h, da.Array)
    gradient = numeric_grad(least_squares, (W, Xn, yn), 0)
    np.testing.assert_allclose(float(j.compute()), gradient @ v, rtol=1e-6)
    np.testing.assert_allclose(h.compute(), 2 / N * Xn.T @ (Xn @ v), rtol=1e-10, atol=1e-12)
    # the Hessian-vector product against finite differences of the gradient
    grad = tangent.grad(least_squares)
    eps = 1e-5
    fd = (grad(W + eps * v, Xn, yn) - grad(W - eps * v, Xn, yn)) / (2 * eps)
    np.testing.assert_allclose(h.compute(), fd, rtol=1e-6, atol=1e-8)


def reshaped(W, b, X, y):
    return np.sum(np.reshape(X * W, (-1,)) ** 2) + np.sum(np.ravel(X * b) * 2) + np.sum((X @ W).reshape(-1, 2) ** 3)


def masked(W, b, X, y):
    Z = X * W
    return np.sum(Z[Z > 0.5] ** 2) + np.sum(b * W)  # Z[mask]: a Dask array of unknown length


def test_vjp_with_a_dask_seed():
    Xn, yn, X, y = data(11)
    W = np.linspace(-1.0, 1.0, COLS)

    def residual(W, X, y):
        return np.tanh(X @ W) - y

    with lazy():
        g = tangent.vjp(residual)(W, X, y, y)
    assert isinstance(g, da.Array)
    expected = numeric_grad(residual, (W, Xn, yn), 0, seed=yn)
    np.testing.assert_allclose(g.compute(), expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("f", [logistic, features, pieces, reshaped, masked])
def test_more_functions_stay_lazy(f):
    """Broadcasting, reductions over axes, max, var, concatenate, indexing,
    prod, reshape, boolean masks: every gradient that depends on the data is
    a Dask array."""
    Xn, yn, X, y = data(4)
    rng = np.random.default_rng(5)
    W, b = rng.standard_normal(COLS), rng.standard_normal(COLS) if f is not logistic else 0.3
    with lazy():
        gW = tangent.grad(f)(W, b, X, y)
        jv = tangent.jvp(f)(W, b, X, y, np.ones(COLS))
        hv = tangent.hvp(f)(W, b, X, y, np.ones(COLS))
    assert isinstance(gW, da.Array) and isinstance(jv, da.Array) and isinstance(hv, da.Array)
    expected = numeric_grad(f, (W, b, Xn, yn), 0)
    np.testing.assert_allclose(gW.compute(), expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(float(jv.compute()), expected.sum(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(hv.compute(), tangent.hvp(f)(W, b, Xn, yn, np.ones(COLS)), rtol=1e-10, atol=1e-12)


def test_writes_into_a_local_copy_stay_lazy():
    Xn, _, X, y = data(10)
    W = np.linspace(-1.0, 1.0, COLS)

    def written(W, X, y):
        Z = X * 1.0
        Z[0:2] = W * 2.0
        return np.sum(Z ** 2 * y[:, None]) + np.sum(W)

    yn = y.compute()
    with lazy():
        g = tangent.grad(written)(W, X, y)
        t = tangent.jvp(written)(W, X, y, np.ones(COLS))
    assert isinstance(g, da.Array) and isinstance(t, da.Array)
    expected = numeric_grad(written, (W, Xn, yn), 0)
    np.testing.assert_allclose(g.compute(), expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(float(t.compute()), expected.sum(), rtol=1e-6, atol=1e-8)


def test_inputs_are_left_alone():
    _, _, X, y = data(6)
    W = da.from_array(np.ones(COLS), chunks=COLS)
    names = (W.name, X.name, y.name)
    v = da.from_array(np.ones(COLS), chunks=COLS)
    with lazy():
        g = tangent.grad(least_squares, wrt=(0,))(W, X, y)
        t = tangent.jvp(least_squares)(W, X, y, v)
    assert (W.name, X.name, y.name) == names and v.name == da.from_array(np.ones(COLS), chunks=COLS).name
    assert g is not W and t is not v


def test_branch_on_a_dask_value_computes_only_the_condition():
    """A Python ``if`` on a Dask scalar computes it (Dask's ``__bool__``), in
    the derivative as in the user's own function; the derivative stays lazy."""
    Xn, yn, X, y = data(7)
    W = np.linspace(-1.0, 1.0, COLS)

    def branchy(W, X, y):
        r = X @ W - y
        if np.mean(r) > 0:
            return np.mean(r ** 2)
        return np.mean(r ** 4)

    from dask.callbacks import Callback

    computes = []

    class Count(Callback):
        def _start(self, dsk):
            computes.append(dsk)

    with Count():
        g = tangent.grad(branchy)(W, X, y)
        in_grad = len(computes)
        t = tangent.jvp(branchy)(W, X, y, np.ones(COLS))
    assert isinstance(g, da.Array) and isinstance(t, da.Array)
    # jvp branches once, as the function does; reverse mode's backward sweep
    # branches on the same condition again (docs/dask.md)
    assert len(computes) - in_grad == 1 and in_grad <= 2
    expected = numeric_grad(branchy, (W, Xn, yn), 0)
    np.testing.assert_allclose(g.compute(), expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(float(t.compute()), expected.sum(), rtol=1e-6, atol=1e-8)


def test_finite_checks_work_on_dask_values():
    _, _, X, y = data(8)
    df = tangent.grad(least_squares, check_finite=True) if _takes_check_finite() else None
    if df is None:
        pytest.skip("tangent.grad has no check_finite option")
    assert isinstance(df(np.ones(COLS), X, y), da.Array)
    with pytest.raises(tangent.TangentError, match="non-finite"):
        runtime.ensure_finite(da.from_array(np.array([1.0, np.inf]), chunks=1), "f.py:1: x (in f)")


def _takes_check_finite():
    import inspect

    return "check_finite" in inspect.signature(tangent.grad).parameters


def test_on_a_local_cluster():
    distributed = pytest.importorskip("dask.distributed")
    Xn, yn, X, y = data(9)
    W = np.linspace(-1.0, 1.0, COLS)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        g = tangent.grad(least_squares)(W, X, y)
        assert isinstance(g, da.Array)
        value = g.compute()
    np.testing.assert_allclose(value, numeric_grad(least_squares, (W, Xn, yn), 0), rtol=1e-6, atol=1e-8)


def test_runtime_helpers_keep_dask_arrays():
    x = da.from_array(np.arange(12.0).reshape(4, 3), chunks=(2, 3))
    g = da.ones((4, 3), chunks=(2, 3))
    with lazy():
        assert runtime.arrays.library(x) == "dask" and runtime.arrays.namespace(x) is da
        out = [runtime.zeros_like(x), runtime.unbroadcast(g, x[:1]), runtime.broadcast_like(1.0, x),
               runtime.grad_of_index(x, (slice(1, 3), 0), da.ones(2, chunks=2)),
               runtime.grad_of_index(x, np.array([0, 0, 3]), da.ones((3, 3), chunks=(3, 3))),
               runtime.zero_region(g, (0, slice(None))), runtime.broadcast_tangent(2.0, x),
               runtime.arrays.asarray(x)]
    assert all(isinstance(o, da.Array) for o in out)
    expected = [np.zeros((4, 3)), np.full((1, 3), 4.0), np.ones((4, 3)), _placed((slice(1, 3), 0), 1.0),
                _placed(np.array([0, 0, 3]), 1.0), np.vstack([np.zeros((1, 3)), np.ones((3, 3))]),
                np.full((4, 3), 2.0), x.compute()]
    for o, e in zip(out, expected):
        np.testing.assert_array_equal(o.compute(), e)


def _placed(index, value):
    out = np.zeros((4, 3))
    np.add.at(out, index, value)
    return out
