"""GradBench ``kmeans``: one Newton direction for k-means, J / diag(H).

``cost(P, C) = sum_i min_j |C_j - P_i|^2``; GradBench asks for the gradient J
with respect to the centroids C divided by the Hessian's diagonal (the Hessian
is diagonal, so its diagonal is the Hessian-vector product with ones).
"""

import numpy as np

TASK, WRT = "dir", (1,)
SIZE = "k=100 n=1000 d=8"


def cost(points, centroids):
    diff = points[:, None, :] - centroids[None, :, :]
    distances = np.sum(diff * diff, axis=2)  # (n, k)
    return np.sum(np.min(distances, axis=1))


DIFFERENTIATE = cost


def by_hand(points, centroids):
    diff = points[:, None, :] - centroids[None, :, :]
    nearest = np.argmin(np.sum(diff * diff, axis=2), axis=1)
    k, d = centroids.shape
    counts = np.bincount(nearest, minlength=k).astype(float)
    sums = np.zeros((k, d))
    np.add.at(sums, nearest, points)
    gradient = 2.0 * (counts[:, None] * centroids - sums)
    hessian_diagonal = np.repeat(2.0 * counts[:, None], d, axis=1)
    return gradient / hessian_diagonal


def _input(k, n, d, seed):
    rng = np.random.default_rng(seed)
    points = rng.random((n, d))
    # each centroid is one of the points: every centroid has a nearest point
    centroids = points[rng.choice(n, k, replace=False)] + 1e-3 * rng.standard_normal((k, d))
    return points, centroids


def small_input(seed=0):
    return _input(3, 30, 2, seed)


def gradbench_input(seed=0):
    return _input(100, 1000, 8, seed)
