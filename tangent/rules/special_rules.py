"""More rules for ``scipy.special``: gamma, beta, betaln, polygamma (so that
digamma has a second derivative), ndtr, log_ndtr, ndtri, log_expit,
xlog1py. Loaded by ``scipy_rules`` (skipped without SciPy).

Contract: elementwise declarations, each partial written with functions that
have rules themselves, so that derivatives of every order exist.
"""

import numpy as np
import scipy.special as sp

from . import elementwise

_SQRT_2PI = float(np.sqrt(2.0 * np.pi))


@elementwise(sp.gamma)
def gamma(z, x):
    return z * sp.digamma(x)


@elementwise(sp.polygamma)
def polygamma(z, n, x):
    return {x: sp.polygamma(n + 1, x)}


@elementwise(sp.beta)
def beta(z, a, b):
    return z * (sp.digamma(a) - sp.digamma(a + b)), z * (sp.digamma(b) - sp.digamma(a + b))


@elementwise(sp.betaln)
def betaln(z, a, b):
    return sp.digamma(a) - sp.digamma(a + b), sp.digamma(b) - sp.digamma(a + b)


@elementwise(sp.ndtr)
def ndtr(z, x):
    return np.exp(-0.5 * x * x) / _SQRT_2PI


# d log Phi(x) = phi(x) / Phi(x), computed as exp(log phi - log Phi): finite
# far in the lower tail, where Phi underflows.
@elementwise(sp.log_ndtr)
def log_ndtr(z, x):
    return np.exp(-0.5 * x * x - z) / _SQRT_2PI


@elementwise(sp.ndtri)
def ndtri(z, y):
    return _SQRT_2PI * np.exp(0.5 * z * z)


@elementwise(sp.log_expit)
def log_expit(z, x):
    return sp.expit(-x)


@elementwise(sp.xlog1py)
def xlog1py(z, x, y):
    return np.log1p(y), x / (1.0 + y)
