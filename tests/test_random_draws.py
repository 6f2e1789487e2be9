"""Random draws inside the function (``rs.randn(3)``, ``rng.normal(size=3)``,
``np.random.randn``) are constants of the derivative, drawn once per call of
the derivative in every mode: ``grad(f)(x, RandomState(0))`` is the finite
difference of ``f(x, RandomState(0))`` with a fresh ``RandomState(0)`` for
each evaluation (reparameterised variational inference)."""

import numpy as np
import pytest

import tangent
from tests.utils import assert_tree_close, numeric_grad

MU = np.array([0.1, -0.2, 0.3])


def elbo_like(mu, rs):  # reparameterised VI: z = mu + sigma * eps
    eps = rs.randn(3)
    sigma = np.exp(0.5 * mu)
    z = mu + sigma * eps
    return np.sum(z ** 2) + np.sum(np.log(sigma))


def with_generator(mu, rng):
    z = mu + rng.normal(size=3) * np.tanh(mu)
    return np.sum(np.sin(z) * z) + rng.uniform() * 0.0


def annotated(mu, rs: np.random.RandomState):
    return np.sum((mu + rs.standard_normal(3)) ** 3)


def vector_valued(mu, rng):
    return np.exp(mu) * rng.standard_normal(3)


def fresh(kind):
    return np.random.RandomState(0) if kind == "RandomState" else np.random.default_rng(0)


CASES = [(elbo_like, "RandomState"), (with_generator, "Generator"), (annotated, "RandomState")]


def _fd_grad(f, kind):
    return numeric_grad(lambda mu: f(mu, fresh(kind)), [MU.copy()], 0)


def _state(rs):
    return rs.random() if isinstance(rs, np.random.Generator) else rs.random_sample()


def _after_one_call(f, kind):
    """The next number the generator gives after one call of f."""
    rs = fresh(kind)
    f(MU.copy(), rs)
    return _state(rs)


@pytest.mark.parametrize("f, kind", CASES, ids=[c[0].__name__ for c in CASES])
def test_gradient_draws_once_and_matches_finite_differences(f, kind):
    for _ in range(2):  # the first call specialises the code to the shapes: it draws once too
        rs = fresh(kind)
        assert_tree_close(tangent.grad(f)(MU.copy(), rs), _fd_grad(f, kind))
        assert _state(rs) == _after_one_call(f, kind)


@pytest.mark.parametrize("f, kind", CASES, ids=[c[0].__name__ for c in CASES])
def test_forward_mode_and_hvp_draw_once(f, kind):
    v = np.array([0.5, 1.0, -0.3])
    rs = fresh(kind)
    np.testing.assert_allclose(tangent.jvp(f)(MU.copy(), rs, v), _fd_grad(f, kind) @ v, rtol=1e-6)
    assert _state(rs) == _after_one_call(f, kind)
    step = 1e-4
    expected = (numeric_grad(lambda mu: f(mu, fresh(kind)), [MU + step * v], 0)
                - numeric_grad(lambda mu: f(mu, fresh(kind)), [MU - step * v], 0)) / (2 * step)
    for _ in range(2):
        rs = fresh(kind)
        np.testing.assert_allclose(tangent.hvp(f)(MU.copy(), rs, v), expected, rtol=1e-4, atol=1e-4)
        assert _state(rs) == _after_one_call(f, kind)


def test_jacobian_and_hessian_draw_the_same_numbers_in_every_sweep():
    for mode in ("forward", "reverse"):
        rng = fresh("Generator")
        J = tangent.jacobian(vector_valued, mode=mode)(MU.copy(), rng)
        eps = fresh("Generator").standard_normal(3)
        np.testing.assert_allclose(J, np.diag(np.exp(MU) * eps), rtol=1e-12)
        assert _state(rng) == _after_one_call(vector_valued, "Generator")
    rs = fresh("RandomState")
    H = tangent.hessian(elbo_like)(MU.copy(), rs)
    step = 1e-4
    columns = [(_fd_at(MU + step * e) - _fd_at(MU - step * e)) / (2 * step) for e in np.eye(3)]
    np.testing.assert_allclose(H, np.stack(columns, axis=1), rtol=1e-4, atol=1e-4)
    assert _state(rs) == _after_one_call(elbo_like, "RandomState")


def _fd_at(mu):
    return numeric_grad(lambda m: elbo_like(m, fresh("RandomState")), [mu], 0)


def global_draw(mu):
    return np.sum((mu + np.random.randn(3)) ** 2)


def test_draws_from_numpys_global_generator():
    np.random.seed(3)
    got = tangent.grad(global_draw)(MU.copy())
    after = np.random.random_sample()
    np.random.seed(3)
    eps = np.random.randn(3)
    np.testing.assert_allclose(got, 2 * (MU + eps), rtol=1e-12)  # d/dmu sum((mu + eps)^2)
    assert np.random.random_sample() == after  # one draw of 3 numbers
    np.random.seed(3)
    expected = numeric_grad(lambda mu: (np.random.seed(3), global_draw(mu))[1], [MU.copy()], 0)
    assert_tree_close(got, expected)


def shuffles(mu, rs):
    y = mu * 1.0
    rs.shuffle(y)  # writes into y: not a draw the derivative can treat as a constant
    return np.sum(y * np.arange(3.0))


def test_a_shuffle_in_place_of_a_differentiated_value_is_refused():
    with pytest.raises(tangent.TangentError) as info:
        tangent.grad(shuffles)(MU.copy(), fresh("RandomState"))
    assert "test_random_draws.py" in str(info.value) and "rs.shuffle(y)" in str(info.value)


GLOBAL_RS = np.random.RandomState(0)


def scaled_by_a_global_draw(x):
    return x * GLOBAL_RS.randn(3)


def sine_scaled_by_a_module_draw(x):
    return np.sin(x) * np.random.randn(3)


def global_draw_energy(x):
    return np.sum(x * x * GLOBAL_RS.randn(3))


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian_sweeps_draw_one_number_from_a_global_generator(mode):
    """Each sweep of a Jacobian calls the derivative; a global generator
    advanced between them, so each column came from another draw (diagonal
    entries of three different draws, silently). Every sweep now draws what
    the first drew: the Jacobian of x * e for one draw e."""
    x = np.arange(1.0, 4.0)
    GLOBAL_RS.seed(0)
    J = tangent.jacobian(scaled_by_a_global_draw, mode=mode)(x)
    e = np.random.RandomState(0).randn(3)
    assert_tree_close(J, np.diag(e))
    np.random.seed(1)
    J = tangent.jacobian(sine_scaled_by_a_module_draw, mode=mode)(x)
    np.random.seed(1)
    assert_tree_close(J, np.diag(np.cos(x) * np.random.randn(3)))


def test_hessian_sweeps_draw_one_number_from_a_global_generator():
    x = np.arange(1.0, 4.0)
    GLOBAL_RS.seed(3)
    H = tangent.hessian(global_draw_energy)(x)
    e = np.random.RandomState(3).randn(3)
    assert_tree_close(H, np.diag(2.0 * e))
