"""tangent.trace(fn): differentiated by tracing at run time (NumPy calls,
operators and indexing recorded into a straight-line program that Tangent
differentiates with its own rules), called from transformed code like any
other function, in reverse and forward mode, against finite differences."""

import math

import numpy as np
import pytest

import tangent
from tests.utils import assert_tree_close, numeric_grad

X = np.array([0.5, -0.3, 0.2])
W = np.array([[0.1, 0.2], [0.3, -0.4], [0.5, 0.6]])


def layer(x, w):
    h = np.tanh(x @ w)
    if np.sum(h) > 0:  # data-dependent control flow: traced as it goes at this call
        h = h * 2.0
    return np.sum(h ** 2) + x[0] * 3.0 + np.linalg.norm(w[:, 1])


traced_layer = tangent.trace(layer)


def uses_traced(x, w):
    return traced_layer(x, w) * np.sum(np.sin(x))


def vector_traced(x, scale):
    return np.exp(x[::-1]) * scale + np.maximum(x, 0.0) ** 2


traced_vector = tangent.trace(vector_traced)


def uses_vector(x):
    return np.sum(traced_vector(x, 2.0) * x)


@pytest.mark.parametrize("point", [X, -X])
def test_reverse_mode_through_a_traced_function(point):
    g = tangent.grad(uses_traced, wrt=(0, 1))(point.copy(), W.copy())
    assert_tree_close(g[0], numeric_grad(uses_traced, [point, W], 0))
    assert_tree_close(g[1], numeric_grad(uses_traced, [point, W], 1))


@pytest.mark.parametrize("point", [X, -X])
def test_forward_mode_through_a_traced_function(point):
    v = np.array([1.0, -0.5, 2.0])
    got = tangent.jvp(uses_traced)(point.copy(), W.copy(), v)
    np.testing.assert_allclose(got, numeric_grad(uses_traced, [point, W], 0) @ v, rtol=1e-6)


def test_a_traced_function_differentiated_directly_and_with_constants():
    assert_tree_close(tangent.grad(traced_layer)(X.copy(), W.copy()), numeric_grad(layer, [X, W], 0))
    assert_tree_close(tangent.grad(uses_vector)(X.copy()), numeric_grad(uses_vector, [X], 0))
    u = np.array([0.3, 1.0, -2.0])
    assert_tree_close(tangent.vjp(traced_vector)(X.copy(), 2.0, u), numeric_grad(vector_traced, [X, 2.0], 0, seed=u))
    v = np.array([1.0, 2.0, 3.0])
    J = np.stack([numeric_grad(vector_traced, [X, 2.0], 0, seed=e) for e in np.eye(3)])
    np.testing.assert_allclose(tangent.jvp(traced_vector)(X.copy(), 2.0, v), J @ v, rtol=1e-6)


def test_the_program_is_generated_once_per_sequence_of_operations():
    from tangent import tracing

    before = len(tracing._programs)
    df = tangent.grad(uses_traced)
    for _ in range(3):
        df(X.copy(), W.copy())
    df(-X, W.copy())  # the other branch: a second program
    assert len(tracing._programs) - before <= 2


def converts_to_float(x):
    return math.sin(x[0]) + np.sum(x)


def writes_into_its_value(x):
    x[0] = 1.0
    return np.sum(x)


@pytest.mark.parametrize("fn, words", [(converts_to_float, "converted to a Python number"),
                                       (writes_into_its_value, "writes into a traced value")])
def test_what_tracing_cannot_record_is_refused(fn, words):
    traced = tangent.trace(fn)

    def f(x):
        return traced(x) * 2.0

    with pytest.raises(tangent.TracingError, match=words):
        tangent.grad(f)(X.copy())


def _fd_hvp(f, x, v, *rest, step=1e-4):
    return (numeric_grad(f, [x + step * v, *rest], 0) - numeric_grad(f, [x - step * v, *rest], 0)) / (2 * step)


def test_second_order_forward_over_reverse_through_a_traced_function():
    v = np.array([1.0, -0.5, 2.0])
    np.testing.assert_allclose(tangent.hvp(uses_traced)(X.copy(), W.copy(), v), _fd_hvp(uses_traced, X, v, W),
                               rtol=1e-4, atol=1e-5)
    H = tangent.hessian(uses_vector)(X.copy())
    np.testing.assert_allclose(H, np.stack([_fd_hvp(uses_vector, X, e) for e in np.eye(3)], axis=1),
                               rtol=1e-4, atol=1e-5)


RUNS = []


def counted(x, w):
    RUNS.append(1)
    return np.sum(np.tanh(x @ w) ** 2) * np.sum(x)


traced_counted = tangent.trace(counted)


def uses_counted(x, w):
    return traced_counted(x, w) + np.sum(x * x)


def uses_counted_twice(x, w):
    return traced_counted(x, w) * traced_counted(np.sin(x), w)


@pytest.mark.parametrize("f, calls", [(uses_counted, 1), (uses_counted_twice, 2)], ids=["once", "twice"])
@pytest.mark.parametrize("how", ["grad", "jvp", "hvp"])
def test_fn_runs_once_per_call_in_a_derivative(f, calls, how):
    """The derivative's forward part runs fn on tracers, which give the
    result and the program the rules use: no second run."""
    v = np.array([1.0, -0.5, 2.0])
    derivative = {"grad": lambda: tangent.grad(f), "jvp": lambda: tangent.jvp(f), "hvp": lambda: tangent.hvp(f)}[how]()
    args = (X.copy(), W.copy()) + ((v,) if how != "grad" else ())
    derivative(*args)  # the first call also generates the recorded program's derivatives
    RUNS.clear()
    got = derivative(*args)
    assert len(RUNS) == calls
    if how == "grad":
        assert_tree_close(got, numeric_grad(f, [X, W], 0))
    elif how == "jvp":
        np.testing.assert_allclose(got, numeric_grad(f, [X, W], 0) @ v, rtol=1e-6)
    else:
        np.testing.assert_allclose(got, _fd_hvp(f, X, v, W), rtol=1e-4, atol=1e-5)


def test_called_outside_a_derivative_fn_runs_as_it_is():
    RUNS.clear()
    assert traced_counted(X, W) == counted(X, W)
    assert len(RUNS) == 2


def test_reverse_over_reverse_is_refused_clearly():
    d = tangent.grad(uses_counted)

    def gradient_norm(x, w):
        return np.sum(d(x, w) ** 2)

    with pytest.raises(tangent.TangentError, match="gradient of tangent.trace"):
        tangent.grad(gradient_norm)(X.copy(), W.copy())
