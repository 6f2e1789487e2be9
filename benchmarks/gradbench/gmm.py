"""GradBench ``gmm``: the gradient of a Gaussian mixture's log posterior.

Mixture weights softmax(alpha), means mu, and per component a precision matrix
Q^T Q with Q lower triangular: exp(q) on the diagonal, l below it (column by
column); a Wishart prior on the precisions (m, gamma). GradBench asks for the
gradient with respect to alpha, mu, q and l. Written with the parameters in a
dict and the data and constants in another, one component at a time.
"""

import numpy as np
from scipy.special import logsumexp, multigammaln

TASK, WRT = "gradient", (0,)
SIZE = "d=10 k=25 n=1000"


def precision_factor(q_k, l_k):
    """Q for one component: exp(q_k) on the diagonal, l_k below it, column by column."""
    d = q_k.shape[0]
    cols, rows = np.triu_indices(d, 1)
    Q = np.diag(np.exp(q_k))
    Q[rows, cols] = l_k
    return Q


def log_posterior(params, data):
    alpha, mu, q, lower = params["alpha"], params["mu"], params["q"], params["l"]
    x, m, gamma = data["x"], data["m"], data["gamma"]
    n, d = x.shape
    k = alpha.shape[0]
    betas = []
    frobenius = 0.0
    for j in range(k):
        Q = precision_factor(q[j], lower[j])
        z = (x - mu[j]) @ Q.T
        betas.append(alpha[j] + np.sum(q[j]) - 0.5 * np.sum(z * z, axis=1))
        frobenius = frobenius + np.sum(Q * Q)
    beta = np.stack(betas, axis=1)  # (n, k)
    log_likelihood = np.sum(logsumexp(beta, axis=1)) - n * (0.5 * d * np.log(2 * np.pi) + logsumexp(alpha))
    nu = d + m + 1
    log_prior = (k * (nu * d * np.log(gamma / np.sqrt(2.0)) - multigammaln(0.5 * nu, d))
                 - 0.5 * gamma ** 2 * frobenius + m * np.sum(q))
    return log_likelihood + log_prior


DIFFERENTIATE = log_posterior


def by_hand(params, data):
    alpha, mu, q, lower = params["alpha"], params["mu"], params["q"], params["l"]
    x, m, gamma = data["x"], data["m"], data["gamma"]
    n, d = x.shape
    k = alpha.shape[0]
    cols, rows = np.triu_indices(d, 1)
    Qs = np.zeros((k, d, d))
    Qs[:, np.arange(d), np.arange(d)] = np.exp(q)
    Qs[:, rows, cols] = lower
    centred = x[None, :, :] - mu[:, None, :]  # (k, n, d)
    z = np.einsum("kab,knb->kna", Qs, centred)
    beta = alpha[:, None] + q.sum(axis=1)[:, None] - 0.5 * np.sum(z * z, axis=2)  # (k, n)
    w = np.exp(beta - logsumexp(beta, axis=0))  # responsibilities, (k, n)
    dz = -w[:, :, None] * z
    dQ = np.einsum("kna,knb->kab", dz, centred) - gamma ** 2 * Qs
    dmu = -np.einsum("kab,kna->kb", Qs, dz)
    phi = np.exp(alpha - logsumexp(alpha))
    dalpha = w.sum(axis=1) - n * phi
    dq = w.sum(axis=1)[:, None] + m + dQ[:, np.arange(d), np.arange(d)] * np.exp(q)
    dl = dQ[:, rows, cols]
    return {"alpha": dalpha, "mu": dmu, "q": dq, "l": dl}


def _input(d, k, n, seed):
    rng = np.random.default_rng(seed)
    params = {"alpha": rng.normal(size=k), "mu": rng.uniform(size=(k, d)),
              "q": rng.normal(size=(k, d)), "l": rng.normal(size=(k, d * (d - 1) // 2))}
    data = {"x": rng.normal(size=(n, d)), "m": 0, "gamma": 1.0}
    return params, data


def small_input(seed=0):
    return _input(3, 4, 20, seed)


def gradbench_input(seed=0):
    return _input(10, 25, 1000, seed)
