"""``**kwargs`` in the function differentiated (``def f(x, **opts)``,
``grad(f)(x, scale=2.0)``): one derivative per set of keyword names given at
a call (tangent/varargs.py), in reverse, forward and hvp. Checked against
central finite differences."""

import numpy as np
import pytest

import tangent
from tests.utils import numeric_grad


def with_opts(x, **opts):
    return np.sum(np.sin(x) * opts["scale"] + opts.get("p", 1.0) * x ** 2)


def star_and_opts(x, *args, **opts):
    return np.sum(np.sin(x) * opts.get("scale", 1.0) * sum(args))


def helper(x, **kw):
    return kw["a"] * np.tanh(x)


def passes_opts(x, w, **opts):
    return np.sum(helper(x * w, **opts))


def named_and_opts(x, scale=2.0, **opts):
    return np.sum(np.cos(x) * scale + opts.get("shift", 0.0) * x ** 3)


X = np.array([0.3, -0.5, 0.8])
V = np.array([1.0, 0.5, -2.0])


def directional(f, x, v, eps=1e-6):
    return (np.asarray(f(x + eps * v)) - np.asarray(f(x - eps * v))) / (2 * eps)


@pytest.mark.parametrize("kwargs", [{"scale": 2.0}, {"scale": 2.0, "p": 3.0}, {"p": -1.0, "scale": 0.5}])
def test_grad_of_kwargs(kwargs):
    f = lambda x: with_opts(x, **kwargs)  # noqa: E731
    np.testing.assert_allclose(tangent.grad(with_opts)(X, **kwargs), numeric_grad(f, (X,), 0), rtol=1e-6)


def test_grad_seed_positional_or_dresult():
    expected = 3.0 * numeric_grad(lambda x: with_opts(x, scale=2.0), (X,), 0)
    np.testing.assert_allclose(tangent.grad(with_opts)(X, 3.0, scale=2.0), expected, rtol=1e-6)
    np.testing.assert_allclose(tangent.grad(with_opts)(X, dresult=3.0, scale=2.0), expected, rtol=1e-6)


def test_jvp_and_hvp_of_kwargs():
    f = lambda x: with_opts(x, scale=2.0, p=3.0)  # noqa: E731
    np.testing.assert_allclose(tangent.jvp(with_opts)(X, V, scale=2.0, p=3.0), directional(f, X, V), rtol=1e-6)
    expected = directional(lambda x: numeric_grad(f, (x,), 0), X, V, eps=1e-4)
    np.testing.assert_allclose(tangent.hvp(with_opts)(X, V, scale=2.0, p=3.0), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tangent.jvp(tangent.grad(with_opts))(X, V, scale=2.0, p=3.0), expected,
                               rtol=1e-5, atol=1e-6)


def test_star_args_and_kwargs():
    f = lambda x: star_and_opts(x, 1.0, 2.0, scale=3.0)  # noqa: E731
    np.testing.assert_allclose(tangent.grad(star_and_opts)(X, 1.0, 2.0, scale=3.0), numeric_grad(f, (X,), 0),
                               rtol=1e-6)
    np.testing.assert_allclose(tangent.jvp(star_and_opts)(X, 1.0, 2.0, V, scale=3.0), directional(f, X, V),
                               rtol=1e-6)
    # an item of *args by wrt
    g = lambda a: star_and_opts(X, a, 2.0, scale=3.0)  # noqa: E731
    np.testing.assert_allclose(tangent.grad(star_and_opts, wrt=1)(X, 1.0, 2.0, scale=3.0),
                               numeric_grad(g, (1.0,), 0), rtol=1e-6)


def test_kwargs_passed_on_to_a_helper():
    w = 0.7
    gx, gw = tangent.grad(passes_opts, wrt=(0, 1))(X, w, a=3.0)
    np.testing.assert_allclose(gx, numeric_grad(lambda x: passes_opts(x, w, a=3.0), (X,), 0), rtol=1e-6)
    np.testing.assert_allclose(gw, numeric_grad(lambda w: passes_opts(X, w, a=3.0), (w,), 0), rtol=1e-6)


def test_named_parameter_with_default_and_kwargs():
    f = lambda x: named_and_opts(x, shift=1.5)  # noqa: E731
    np.testing.assert_allclose(tangent.grad(named_and_opts)(X, shift=1.5), numeric_grad(f, (X,), 0), rtol=1e-6)
    np.testing.assert_allclose(tangent.jvp(named_and_opts)(X, V, shift=1.5), directional(f, X, V), rtol=1e-6)
    g = lambda x: named_and_opts(x, 4.0, shift=1.5)  # noqa: E731
    np.testing.assert_allclose(tangent.grad(named_and_opts)(X, scale=4.0, shift=1.5), numeric_grad(g, (X,), 0),
                               rtol=1e-6)
    np.testing.assert_allclose(tangent.hvp(named_and_opts)(X, V, shift=1.5),
                               directional(lambda x: numeric_grad(f, (x,), 0), X, V, eps=1e-4), rtol=1e-5, atol=1e-6)


def test_no_keywords_given():
    np.testing.assert_allclose(tangent.grad(named_and_opts)(X), numeric_grad(named_and_opts, (X,), 0), rtol=1e-6)


def test_inputs_unchanged():
    x = X.copy()
    out = tangent.grad(with_opts)(x, scale=2.0)
    np.testing.assert_array_equal(x, X)
    assert out is not x and out.dtype == x.dtype


def test_jacobian_with_keywords_is_refused_clearly():
    with pytest.raises(tangent.TangentError, match=r"\*\*kwargs is not supported yet") as info:
        tangent.jacobian(with_opts)(X, scale=2.0)
    assert "opts_" not in str(info.value)


def test_derivative_of_a_lambda_nothing_else_holds():
    # the derivative holds the function it was made for (per_count once held it weakly: "no longer exists")
    import gc

    df = tangent.grad(lambda x, **options: np.sum(x * x) * options.get("scale", 1.0))
    gc.collect()
    x = np.array([0.5, -2.0])
    np.testing.assert_allclose(df(x, scale=3.0), 6.0 * x)  # d/dx 3 * sum(x^2)
