"""Helpers defined in another module, with their own imports (for tests)."""

import math

import numpy as onp

SCALE = 3.0


def softplus(x):
    return onp.log1p(onp.exp(x)) * SCALE


def damped(x, rate=0.5):
    return math.exp(-rate * x) * x
