"""GradBench ``ode``: the gradient of the last component of an RK4 ODE solution.

``y_0' = x_0``, ``y_i' = x_i y_{i-1}`` (i > 0), ``y(0) = 0``, solved on [0, 2]
with s steps of classical Runge-Kutta; GradBench asks for the gradient of
``y_{n-1}(2)`` with respect to x.
"""

import numpy as np

TASK, WRT = "gradient", (0,)
SIZE = "n=1000 s=10"
T_FINAL = 2.0


def rhs(x, y):
    shifted = np.concatenate([np.ones(1), y[:-1]])  # y_{i-1}, and 1 for i = 0
    return x * shifted


def solve(x, steps):
    h = T_FINAL / steps
    y = np.zeros_like(x)
    for _ in range(steps):
        k1 = rhs(x, y)
        k2 = rhs(x, y + h / 2 * k1)
        k3 = rhs(x, y + h / 2 * k2)
        k4 = rhs(x, y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return y


def last_component(x, steps):
    return solve(x, steps)[-1]


DIFFERENTIATE = last_component


def _shift(y):
    return np.concatenate([np.ones(1), y[:-1]])


def by_hand(x, steps):
    """Reverse sweep over the RK4 steps written out by hand."""
    h = T_FINAL / steps
    ys = []
    y = np.zeros_like(x)
    for _ in range(steps):  # forward, keeping each stage's state
        y1 = y
        k1 = x * _shift(y1)
        y2 = y + h / 2 * k1
        k2 = x * _shift(y2)
        y3 = y + h / 2 * k2
        k3 = x * _shift(y3)
        y4 = y + h * k3
        k4 = x * _shift(y4)
        ys.append((y1, y2, y3, y4))
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    dx = np.zeros_like(x)
    dy = np.zeros_like(x)
    dy[-1] = 1.0
    for y1, y2, y3, y4 in reversed(ys):
        # y_next = y + h/6 (k1 + 2 k2 + 2 k3 + k4), k = x * shift(stage)
        dk4 = h / 6 * dy
        dk3 = h / 3 * dy
        dk2 = h / 3 * dy
        dk1 = h / 6 * dy
        dy_prev = dy.copy()
        # k4 = x * shift(y4), y4 = y + h k3
        dx += dk4 * _shift(y4)
        dy4 = _unshift(dk4 * x)
        dy_prev += dy4
        dk3 = dk3 + h * dy4
        dx += dk3 * _shift(y3)
        dy3 = _unshift(dk3 * x)
        dy_prev += dy3
        dk2 = dk2 + h / 2 * dy3
        dx += dk2 * _shift(y2)
        dy2 = _unshift(dk2 * x)
        dy_prev += dy2
        dk1 = dk1 + h / 2 * dy2
        dx += dk1 * _shift(y1)
        dy_prev += _unshift(dk1 * x)
        dy = dy_prev
    return dx


def _unshift(g):
    """Adjoint of ``_shift`` with respect to y: g[i + 1] flows to y[i]."""
    out = np.zeros_like(g)
    out[:-1] = g[1:]
    return out


def small_input(seed=0):
    return (np.random.default_rng(seed).random(5), 4)


def gradbench_input(seed=0):
    return (np.random.default_rng(seed).random(1000), 10)
