"""NumPy reductions of known arrays become method calls in specialised code
(tangent/reductions.py): where it fires, where it must not, and that the
gradients stay right (finite differences in float64)."""

import numpy as np

import tangent
from tests.test_fusion import optimized
from tests.utils import numeric_grad

F64 = np.zeros((2, 3))


def test_a_reduction_of_a_known_array_is_a_method_call():
    source = (
        "def f(x):\n    a = np.sum(x, axis=1, keepdims=True)\n    b = np.amax(x, 0)\n"
        "    c = np.mean(x)\n    return a, b, c\n"
    )
    out = optimized(source, {"x": (2, 3)}, {"x": F64})
    assert "x.sum(axis=1, keepdims=True)" in out and "x.max(0)" in out and "x.mean()" in out
    assert "np." not in out


def test_a_reduction_is_left_alone_when_its_argument_may_not_be_an_array():
    kept = [
        ({"x": ()}, "np.sum(x)"),  # a number has no .sum
        ({}, "np.sum(x, axis=0)"),  # shape not known: may be a list or another library's array
        ({"x": (2, 3)}, "np.sum(x * 2.0)"),  # not a name: left as written
        ({"x": (2, 3)}, "np.cumsum(x, axis=0)"),  # not a reduction of the table
        ({"x": (2, 3)}, "np.sum(*x)"),
    ]
    for shapes, expression in kept:
        out = optimized(f"def f(x):\n    return {expression}\n", shapes)
        assert expression in out, (shapes, expression, out)


def test_the_method_is_the_same_computation():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 5))
    for name, method in [
        ("sum", "sum"),
        ("prod", "prod"),
        ("mean", "mean"),
        ("max", "max"),
        ("min", "min"),
        ("amax", "max"),
        ("amin", "min"),
    ]:
        for args, kwargs in [((), {}), ((1,), {}), ((), {"axis": 0, "keepdims": True})]:
            want = getattr(np, name)(x, *args, **kwargs)
            got = getattr(x, method)(*args, **kwargs)
            assert np.array_equal(want, got) and np.shape(want) == np.shape(got)


def softmax_loss(params, data):
    logits = data["x"] @ params["W"]
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(log_probs * data["y"]) + np.mean(np.amin(logits, axis=0))


def test_a_softmax_gradient_with_method_reductions_is_right():
    rng = np.random.default_rng(0)
    params = {"W": rng.standard_normal((3, 4))}
    data = {"x": rng.standard_normal((5, 3)), "y": np.eye(4)[rng.integers(4, size=5)]}
    df = tangent.grad(softmax_loss)
    source = tangent.source(df.tangent_specialized_for(params, data))
    # The max is read once, as a method, and only by the primal: it is
    # subtracted out again, so the backward pass has no adjoint for it.
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("#"))
    assert code.count("logits.max(axis=1, keepdims=True)") == 1
    assert "np.max(" not in code
    before = params["W"].copy()
    got = df(params, data)["W"]
    want = numeric_grad(lambda W: softmax_loss({"W": W}, data), [params["W"].copy()], 0)
    assert np.allclose(got, want, rtol=1e-5, atol=1e-6)
    assert np.array_equal(params["W"], before)
