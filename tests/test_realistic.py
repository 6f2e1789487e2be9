"""Realistic programs, written the way people write them, differentiated in
reverse and forward mode and checked against finite differences (and
autograd where it is installed)."""

import numpy as np
import pytest
from scipy.special import logsumexp

import tangent
from tests.utils import assert_tree_close, check_grad, numeric_grad


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def lstm_loss(params, xs, target):
    """An LSTM over a sequence, keeping its states in Python lists."""
    W, U, b = params["W"], params["U"], params["b"]
    n = U.shape[1]
    hs = [np.zeros(n)]
    cs = [np.zeros(n)]
    for x in xs:
        gates = W @ x + U @ hs[-1] + b
        i = sigmoid(gates[:n])
        f = sigmoid(gates[n:2 * n])
        o = sigmoid(gates[2 * n:3 * n])
        g = np.tanh(gates[3 * n:])
        c = f * cs[-1] + i * g
        h = o * np.tanh(c)
        cs.append(c)
        hs.append(h)
    prediction = sum(np.sum(h) for h in hs[1:]) / len(xs)
    return (prediction - target) ** 2


def lstm_inputs():
    r = np.random.RandomState(0)
    n, d, steps = 3, 2, 4
    params = {"W": 0.5 * r.randn(4 * n, d), "U": 0.5 * r.randn(4 * n, n), "b": 0.1 * r.randn(4 * n)}
    return params, r.randn(steps, d), 0.3


def test_lstm_with_lists_of_states():
    params, xs, target = lstm_inputs()
    check_grad(lstm_loss, params, xs, target, wrt=(0, 1))


def test_lstm_forward_mode_agrees():
    params, xs, target = lstm_inputs()
    tangents = {k: np.random.RandomState(1).randn(*v.shape) for k, v in params.items()}
    jv = tangent.jvp(lstm_loss)(params, xs, target, tangents)
    g = tangent.grad(lstm_loss)(params, xs, target)
    np.testing.assert_allclose(jv, sum(np.sum(g[k] * tangents[k]) for k in params), rtol=1e-9)


def gmm_log_likelihood(means, log_stds, logits, data):
    """Diagonal Gaussian mixture, written with scipy's logsumexp."""
    log_weights = logits - logsumexp(logits)
    z = (data[:, None, :] - means[None, :, :]) / np.exp(log_stds)[None, :, :]
    log_dens = -0.5 * np.sum(z * z, axis=2) - np.sum(log_stds, axis=1) - 0.5 * data.shape[1] * np.log(2 * np.pi)
    return np.sum(logsumexp(log_weights + log_dens, axis=1))


def test_gaussian_mixture_log_likelihood():
    r = np.random.RandomState(2)
    k, d, n = 3, 2, 20
    check_grad(gmm_log_likelihood, r.randn(k, d), 0.2 * r.randn(k, d), r.randn(k), r.randn(n, d), wrt=(0, 1, 2))


def test_gaussian_mixture_against_autograd():
    autograd = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    from autograd.scipy.special import logsumexp as alogsumexp

    def reference(means, log_stds, logits, data):
        log_weights = logits - alogsumexp(logits)
        z = (data[:, None, :] - means[None, :, :]) / anp.exp(log_stds)[None, :, :]
        log_dens = -0.5 * anp.sum(z * z, axis=2) - anp.sum(log_stds, axis=1) - 0.5 * data.shape[1] * anp.log(2 * anp.pi)
        return anp.sum(alogsumexp(log_weights + log_dens, axis=1))

    r = np.random.RandomState(3)
    args = (r.randn(3, 2), 0.2 * r.randn(3, 2), r.randn(3), r.randn(15, 2))
    ours = tangent.grad(gmm_log_likelihood, wrt=(0, 1, 2))(*args)
    theirs = autograd.grad(reference, (0, 1, 2))(*args)
    assert_tree_close(ours, theirs, rtol=1e-10, atol=1e-12)


def rotate(points, angle):
    c, s = np.cos(angle), np.sin(angle)
    out = np.empty_like(points)
    out[:, 0] = c * points[:, 0] - s * points[:, 1]
    out[:, 1] = s * points[:, 0] + c * points[:, 1]
    return out


def reprojection_residuals(cameras, points, observations, camera_of, point_of):
    """Bundle-adjustment-style residuals, filled in place one observation at a time."""
    residuals = np.zeros((len(observations), 2))
    for k in range(len(observations)):
        cam = cameras[camera_of[k]]
        p = points[point_of[k]]
        c, s = np.cos(cam[0]), np.sin(cam[0])
        x = c * p[0] - s * p[1] + cam[1]
        y = s * p[0] + c * p[1] + cam[2]
        residuals[k, 0] = x / (1.0 + 0.1 * y * y) - observations[k, 0]
        residuals[k, 1] = y - observations[k, 1]
    return residuals


def bundle_cost(cameras, points, observations, camera_of, point_of):
    r = reprojection_residuals(cameras, points, observations, camera_of, point_of)
    return 0.5 * np.sum(r * r)


def bundle_inputs():
    r = np.random.RandomState(4)
    cameras, points = 0.3 * r.randn(2, 3), r.randn(3, 2)
    camera_of = np.array([0, 1, 0, 1, 1])
    point_of = np.array([0, 0, 1, 2, 2])
    return cameras, points, r.randn(5, 2), camera_of, point_of


def test_bundle_adjustment_residuals_with_in_place_writes():
    cameras, points, observations, camera_of, point_of = bundle_inputs()
    df = tangent.grad(bundle_cost, wrt=(0, 1))
    got = df(cameras, points, observations, camera_of, point_of)
    args = [cameras, points, observations, camera_of, point_of]
    assert_tree_close(got, (numeric_grad(bundle_cost, args, 0), numeric_grad(bundle_cost, args, 1)))


def test_bundle_adjustment_jacobian_of_residuals():
    cameras, points, observations, camera_of, point_of = bundle_inputs()
    J = tangent.jacobian(reprojection_residuals, wrt=0)(cameras, points, observations, camera_of, point_of)
    assert J.shape == (5, 2, 2, 3)
    eps = 1e-6
    for index in np.ndindex(cameras.shape):
        plus, minus = cameras.copy(), cameras.copy()
        plus[index] += eps
        minus[index] -= eps
        column = (reprojection_residuals(plus, points, observations, camera_of, point_of)
                  - reprojection_residuals(minus, points, observations, camera_of, point_of)) / (2 * eps)
        np.testing.assert_allclose(J[(...,) + index], column, rtol=1e-6, atol=1e-8)


def minor(A, j):
    """A without its first row and its column j."""
    return np.concatenate([A[1:, :j], A[1:, j + 1:]], axis=1)


def determinant(A):
    """Determinant by cofactor expansion along the first row (recursive)."""
    n = A.shape[0]
    if n == 1:
        return A[0, 0]
    total = 0.0
    for j in range(n):
        sign = 1.0 if j % 2 == 0 else -1.0
        total = total + sign * A[0, j] * determinant(minor(A, j))
    return total


def test_recursive_determinant_by_cofactor_expansion():
    A = np.random.RandomState(5).randn(4, 4)
    assert determinant(A) == pytest.approx(np.linalg.det(A))
    got = check_grad(determinant, A)
    # d det(A) / dA = det(A) A^-T
    np.testing.assert_allclose(got, np.linalg.det(A) * np.linalg.inv(A).T, rtol=1e-8)


def test_recursive_determinant_forward_and_second_order():
    A = np.random.RandomState(6).randn(3, 3)
    V = np.random.RandomState(7).randn(3, 3)
    g = tangent.grad(determinant)
    np.testing.assert_allclose(tangent.jvp(determinant)(A, V), np.sum(g(A) * V), rtol=1e-10)
    eps = 1e-6
    expected = (g(A + eps * V) - g(A - eps * V)) / (2 * eps)
    np.testing.assert_allclose(tangent.hvp(determinant)(A, V), expected, rtol=1e-6, atol=1e-8)
