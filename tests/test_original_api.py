"""The original Tangent's API (github.com/google/tangent, grad_util.py) and
what JAX and autograd users expect: grad(check_dims=...), motion="split",
preserve_result's order, value_and_grad, has_aux, jacobian and hessian of
pytrees with several wrt and default arguments. Derivatives are checked
against central finite differences (tests/utils.py) and, where importable,
autograd."""

import numpy as np
import pytest

import tangent
from tests.utils import assert_tree_close, numeric_grad


def loss(x, y):
    h = np.tanh(x) * y
    return np.sum(h**2)


def vector_out(x):
    return np.sin(x) * x


def looped(x, n=3):
    for _ in range(n):
        x = np.sin(x) * x + 0.5
    return np.sum(x * x)


def with_aux(x, y):
    h = np.tanh(x) * y
    return np.sum(h**2), {"h": h, "count": 3}


X = np.array([0.3, -1.2, 0.8])


# ---- grad(check_dims=...)

def test_grad_checks_for_a_scalar_output_by_default():
    with pytest.raises(tangent.TangentError, match="scalar output"):
        tangent.grad(vector_out)(X)


def test_check_dims_false_gives_the_vector_jacobian_product():
    u = np.array([1.0, -2.0, 0.5])
    got = tangent.grad(vector_out, check_dims=False)(X, u)
    np.testing.assert_allclose(got, numeric_grad(vector_out, [X], 0, seed=u), rtol=1e-6)
    # the default seed 1.0 seeds every element
    np.testing.assert_allclose(tangent.grad(vector_out, check_dims=False)(X), numeric_grad(vector_out, [X], 0, seed=1.0),
                               rtol=1e-6)


def test_reverse_over_reverse_with_check_dims_false():
    ddf = tangent.grad(tangent.grad(loss, check_dims=False), check_dims=False)
    v = np.array([0.5, 1.0, -1.0])
    got = ddf(X, 2.0, 1.0, v)   # x, y, the inner seed, the outer seed

    def gradient_along_v(x):
        return float(np.dot(tangent.grad(loss)(x, 2.0), v))

    np.testing.assert_allclose(got, numeric_grad(gradient_along_v, [X], 0), rtol=1e-5)


def test_google_reverse_over_forward_call_broadcasts_the_seed():
    # Google's HVP test: ddf(a, 1, v) with a scalar tangent 1 and the seed v of a scalar result
    ddf = tangent.autodiff(tangent.autodiff(looped, mode="forward", check_dims=False), mode="reverse",
                           check_dims=False)
    v = np.array([1.0, 2.0, 3.0])
    got = ddf(X, 3, 1.0, v)
    hessian_times_ones = tangent.hessian(looped)(X) @ np.ones(3)
    np.testing.assert_allclose(got, v * hessian_times_ones, rtol=1e-6)


# ---- preserve_result and the README's HVP

def test_preserve_result_returns_the_derivative_then_the_result():
    g, value = tangent.grad(loss, preserve_result=True)(X, 2.0)
    assert value == pytest.approx(loss(X, 2.0))
    assert_tree_close(g, tangent.grad(loss)(X, 2.0))
    v = np.ones(3)
    d, value = tangent.autodiff(loss, mode="forward", preserve_result=True)(X, 2.0, v)
    assert value == pytest.approx(loss(X, 2.0))
    assert d == pytest.approx(float(np.dot(tangent.grad(loss)(X, 2.0), v)))


def test_preserve_result_with_several_wrt_nests_the_gradients():
    # Google Tangent returns dx, dy, value flat; Tangent returns ((dx, dy), value)
    (dx, dy), value = tangent.grad(loss, (0, 1), preserve_result=True)(X, 2.0)
    assert value == pytest.approx(loss(X, 2.0))
    assert dy == pytest.approx(numeric_grad(loss, [X, 2.0], 1), rel=1e-6)


def test_readme_hvp_forward_over_reverse():
    hvp = tangent.autodiff(tangent.autodiff(looped, mode="reverse"), mode="forward")
    v = np.array([0.2, -0.4, 1.0])
    got = hvp(X, 3, 1.0, v)
    np.testing.assert_allclose(got, tangent.hessian(looped)(X) @ v, rtol=1e-6)
    np.testing.assert_allclose(got, numeric_grad(lambda x: float(np.dot(tangent.grad(looped)(x), v)), [X], 0),
                               rtol=1e-5)


# ---- motion="split"

def test_split_runs_one_forward_and_several_backward_passes():
    df = tangent.grad(looped, motion="split")
    x = X.copy()
    result, saved = df.forward(x)
    assert result == pytest.approx(looped(X))
    x[:] = 100.0  # the caller's later writes do not reach the saved state
    first = df.backward(saved)
    second = df.backward(saved, 2.0)
    again = df.backward(saved)
    expected = numeric_grad(looped, [X], 0)
    np.testing.assert_allclose(first, expected, rtol=1e-5)
    np.testing.assert_allclose(second, 2.0 * first, rtol=1e-12)
    np.testing.assert_array_equal(again, first)
    assert first is not again


def test_split_called_like_google_tangent():
    df = tangent.autodiff(loss, wrt=(0, 1), motion="split")
    dx, dy = df(X, 2.0)
    assert_tree_close((dx, dy), tangent.grad(loss, (0, 1))(X, 2.0))
    dx2, dy2 = df(X, 2.0, init_grad=3.0)
    np.testing.assert_allclose(dx2, 3.0 * dx)
    (g, value) = tangent.grad(loss, motion="split", preserve_result=True)(X, 2.0)
    assert value == pytest.approx(loss(X, 2.0))


def test_split_vector_jacobian_products_of_one_forward_pass():
    df = tangent.autodiff(vector_out, motion="split")
    result, saved = df.forward(X)
    np.testing.assert_allclose(result, vector_out(X))
    rows = np.stack([df.backward(saved, e) for e in np.eye(3)])
    np.testing.assert_allclose(rows, tangent.jacobian(vector_out)(X), rtol=1e-12)


def test_split_grad_checks_for_a_scalar_output():
    with pytest.raises(tangent.TangentError, match="scalar output"):
        tangent.grad(vector_out, motion="split").forward(X)


def test_motion_is_checked():
    with pytest.raises(tangent.TangentError, match="motion"):
        tangent.grad(loss, motion="sideways")
    with pytest.raises(tangent.TangentError, match="reverse mode"):
        tangent.autodiff(loss, mode="forward", motion="split")
    with pytest.raises(tangent.TangentError, match="saved state"):
        tangent.grad(loss, motion="split").backward((1.0, ()))


# ---- value_and_grad and has_aux

def test_value_and_grad_in_jax_order():
    value, (dx, dy) = tangent.value_and_grad(loss, (0, 1))(X, 2.0)
    assert value == pytest.approx(loss(X, 2.0))
    np.testing.assert_allclose(dx, numeric_grad(loss, [X, 2.0], 0), rtol=1e-6)
    assert dy == pytest.approx(numeric_grad(loss, [X, 2.0], 1), rel=1e-6)


def test_has_aux():
    g, aux = tangent.grad(with_aux, has_aux=True)(X, 2.0)
    np.testing.assert_allclose(g, numeric_grad(loss, [X, 2.0], 0), rtol=1e-6)
    np.testing.assert_allclose(aux["h"], np.tanh(X) * 2.0)
    assert aux["count"] == 3
    (value, aux), (dx, dy) = tangent.value_and_grad(with_aux, (0, 1), has_aux=True)(X, 2.0)
    assert value == pytest.approx(loss(X, 2.0))
    assert dy == pytest.approx(numeric_grad(loss, [X, 2.0], 1), rel=1e-6)


def not_a_pair(x):
    return np.sum(x)


def vector_loss(x):
    return x * 2.0, 1.0


def test_has_aux_errors():
    with pytest.raises(tangent.TangentError, match="pair"):
        tangent.grad(not_a_pair, has_aux=True)(X)
    with pytest.raises(tangent.TangentError, match="scalar output"):
        tangent.grad(vector_loss, has_aux=True)(X)
    with pytest.raises(tangent.TangentError, match="value_and_grad"):
        tangent.grad(with_aux, has_aux=True, preserve_result=True)


# ---- jacobian and hessian of pytrees, several wrt, default arguments

def model(p, batch, scale=2.0):
    h = np.tanh(p["w"] @ batch[0]) * p["s"]
    return scale * np.sum(h**2) + batch[1] * p["s"] ** 3


def vector_model(p, x, shift=0.5):
    return np.sin(p["w"] @ x + shift) * p["s"]


RS = np.random.RandomState(0)
P = {"w": RS.randn(2, 3), "s": 0.7}
BATCH = [RS.randn(3), 1.3]


def _numeric_jacobian(f, args, index):
    """d f / d args[index] as nested pytrees (result leaves outside), by finite differences."""
    out = f(*args)
    rows = []
    for k in range(np.size(out)):
        def component(*a, k=k):
            return float(np.ravel(f(*a))[k])
        rows.append(numeric_grad(component, args, index))
    return rows


def test_jacobian_of_a_dict_argument():
    for mode in ("forward", "reverse", "auto"):
        J = tangent.jacobian(vector_model, 0, mode=mode)(P, BATCH[0])   # shift left to its default
        assert set(J) == {"w", "s"}
        assert J["w"].shape == (2, 2, 3) and J["s"].shape == (2,)
        for k, row in enumerate(_numeric_jacobian(vector_model, [P, BATCH[0]], 0)):
            np.testing.assert_allclose(J["w"][k], row["w"], rtol=1e-5, atol=1e-8)
            np.testing.assert_allclose(J["s"][k], row["s"], rtol=1e-5, atol=1e-8)


def test_jacobian_with_several_wrt_and_a_list_argument():
    Jp, Jb = tangent.jacobian(model, (0, 1))(P, BATCH)
    assert_tree_close(Jp, numeric_grad(model, [P, BATCH], 0), rtol=1e-5)
    assert isinstance(Jb, list) and Jb[0].shape == (3,)
    assert_tree_close(Jb, [np.asarray(g) for g in numeric_grad(model, [P, BATCH], 1)], rtol=1e-5)


def test_jacobian_of_a_tuple_result():
    def pair(x, y):
        return x * y, np.sum(x)

    Jx, Jsum = tangent.jacobian(pair)(X, 2.0)
    np.testing.assert_allclose(Jx, 2.0 * np.eye(3))
    np.testing.assert_allclose(Jsum, np.ones(3))


def test_hessian_of_a_dict_argument_against_autograd():
    H = tangent.hessian(model)(P, BATCH)
    assert H["w"]["w"].shape == (2, 3, 2, 3) and H["w"]["s"].shape == (2, 3) and np.shape(H["s"]["s"]) == ()
    autograd = pytest.importorskip("autograd")
    import autograd.numpy as anp

    def flat_model(w, s):
        h = anp.tanh(w @ BATCH[0]) * s
        return 2.0 * anp.sum(h**2) + BATCH[1] * s**3

    np.testing.assert_allclose(H["w"]["w"], autograd.hessian(flat_model, 0)(P["w"], P["s"]), rtol=1e-8)
    np.testing.assert_allclose(H["s"]["s"], autograd.hessian(flat_model, 1)(P["w"], P["s"]), rtol=1e-8)
    mixed = autograd.jacobian(autograd.grad(flat_model, 0), 1)(P["w"], P["s"])
    np.testing.assert_allclose(H["w"]["s"], mixed, rtol=1e-8)
    np.testing.assert_allclose(H["s"]["w"], mixed, rtol=1e-8)


def test_hessian_with_several_wrt_and_defaults():
    def f(x, y, power=3.0):
        return np.sum(x**power * y) + y**2

    x = np.array([1.0, 2.0])
    ((Hxx, Hxy), (Hyx, Hyy)) = tangent.hessian(f, (0, 1))(x, 3.0)
    np.testing.assert_allclose(Hxx, np.diag(6 * x * 3.0))
    np.testing.assert_allclose(Hxy, 3 * x**2)
    np.testing.assert_allclose(Hyx, 3 * x**2)
    assert Hyy == pytest.approx(2.0)


def test_jacobian_refuses_a_string_argument():
    def f(x, name):
        return x * 2.0

    with pytest.raises(tangent.TangentError, match="str"):
        tangent.jacobian(f, 1)(1.0, "a")


def test_jacobian_keyword_only_defaults_and_keywords():
    def f(x, *, scale=3.0):
        return x * scale

    np.testing.assert_allclose(tangent.jacobian(f)(X), 3.0 * np.eye(3))
    with pytest.raises(tangent.TangentError, match="positionally"):
        tangent.jacobian(f)(X, scale=2.0)   # refused, not dropped
