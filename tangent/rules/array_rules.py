"""Rule declarations shared by array libraries other than NumPy.

Takes nothing; gives undecorated declarations in the rule vocabulary
(``elementwise`` form, written against ``xp``) that ``torch_rules`` and
``jax_rules`` register for their own primitives, so that one declaration
serves ``torch.sin``, ``torch.Tensor.sin`` and ``jnp.sin`` and generated code
calls the primal's library (``xp`` is resolved per primitive by
``vocabulary.array_namespace``). ``ELEMENTWISE`` lists them by the
primitives' common name. Assumes the library spells these functions as
NumPy does (``xp.cos``, ``xp.sign``, ``xp.where``).
"""

from __future__ import annotations

from typing import Callable

from . import xp


def exp(z, x):
    return z


def log(z, x):
    return 1 / x


def sin(z, x):
    return xp.cos(x)


def cos(z, x):
    return -xp.sin(x)


def tan(z, x):
    return 1 + z * z


def tanh(z, x):
    return 1.0 - z * z


def sinh(z, x):
    return xp.cosh(x)


def cosh(z, x):
    return xp.sinh(x)


def sqrt(z, x):
    return 0.5 / z


def abs_(z, x):
    return xp.sign(x)


def square(z, x):
    return 2 * x


def log1p(z, x):
    return 1 / (1 + x)


def expm1(z, x):
    return z + 1


def reciprocal(z, x):
    return -z * z


def sigmoid(z, x):
    return z * (1 - z)


def relu(z, x):
    return x > 0


def negative(z, x):
    return -1


# (the shares times ones_like(z): in the result's dtype, where torch's bool + 0.5 is its
# default float32 and would round a float64 tangent)
def maximum(z, x, y):
    return xp.ones_like(z) * ((x > y) + 0.5 * (x == y)), xp.ones_like(z) * ((y > x) + 0.5 * (x == y))


def minimum(z, x, y):
    return xp.ones_like(z) * ((x < y) + 0.5 * (x == y)), xp.ones_like(z) * ((y < x) + 0.5 * (x == y))


ELEMENTWISE: dict[str, Callable] = {
    "exp": exp, "log": log, "sin": sin, "cos": cos, "tan": tan, "tanh": tanh, "sinh": sinh, "cosh": cosh,
    "sqrt": sqrt, "abs": abs_, "square": square, "log1p": log1p, "expm1": expm1, "reciprocal": reciprocal,
    "sigmoid": sigmoid, "relu": relu, "negative": negative, "maximum": maximum, "minimum": minimum,
}
