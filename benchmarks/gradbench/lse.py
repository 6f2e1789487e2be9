"""GradBench ``lse``: the gradient of log-sum-exp, computed stably from primitives."""

import numpy as np

TASK, WRT = "gradient", (0,)
SIZE = "n=160000"


def logsumexp(x):
    a = np.max(x)
    return a + np.log(np.sum(np.exp(x - a)))


DIFFERENTIATE = logsumexp


def by_hand(x):
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


def _input(n, seed):
    rng = np.random.default_rng(seed)
    return (rng.uniform(-100.0, 100.0, n),)


def small_input(seed=0):
    return _input(50, seed)


def gradbench_input(seed=0):
    return _input(160_000, seed)
