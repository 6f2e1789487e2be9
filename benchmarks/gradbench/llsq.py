"""GradBench ``llsq``: the gradient of a polynomial least-squares fit to sign(t).

``y(x) = 1/2 sum_i (s_i - sum_j x_j t_i^j)^2`` on ``t_i = -1 + 2i/(n-1)``,
``s_i = sign(t_i)``; n is a constant (not differentiated).
"""

import numpy as np

TASK, WRT = "gradient", (0,)
SIZE = "m=128 n=4096"


def grid(n):
    t = np.linspace(-1.0, 1.0, n)
    return t, np.sign(t)


def llsq(x, n):
    t, s = grid(n)
    powers = t[:, None] ** np.arange(x.shape[0])  # powers[i, j] = t_i ** j
    residual = s - powers @ x
    return 0.5 * np.sum(residual ** 2)


DIFFERENTIATE = llsq


def by_hand(x, n):
    t, s = grid(n)
    powers = t[:, None] ** np.arange(x.shape[0])
    return -(powers.T @ (s - powers @ x))


def small_input(seed=0):
    return (np.random.default_rng(seed).random(6), 20)


def gradbench_input(seed=0):
    return (np.random.default_rng(seed).random(128), 4096)
