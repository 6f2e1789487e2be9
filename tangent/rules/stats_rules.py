"""Rules for ``scipy.stats``: logpdf, pdf, logcdf, cdf, logsf and sf of
norm, t, gamma and beta; logpmf, pmf, logcdf, cdf, logsf and sf of poisson
and bernoulli; logpdf and pdf of multivariate_normal and dirichlet. Loaded by
``scipy_rules`` (skipped without SciPy).

Contract: rules for the distributions' functions as called on the
distribution objects (``scipy.stats.norm.logpdf(x, loc, scale)``, keywords
or positions as SciPy takes them), differentiable in the value and in every
continuous parameter SciPy takes (loc, scale, df, a, b, mu, p, mean, cov,
alpha). The partials are written from the densities' formulas (not from
SciPy's code) with functions that have rules, so derivatives of every order
exist. The frozen distributions (``scipy.stats.norm(0, 1).logpdf(x)``) are
read as these functions (frozen_distributions.py). Not covered: the derivatives
of a cdf in a shape parameter (t's df, gamma's a, beta's a and b), which
raise ``NotDifferentiableError``; integer parameters (poisson's and
bernoulli's loc) carry none. ``multivariate_normal`` reads the lower triangle
of ``cov`` (as SciPy does): the gradient is zero above the diagonal.
"""

import numpy as np
import scipy.special as sp
import scipy.stats as st

from ..runtime import unbroadcast
from . import adjoint, d, elementwise, nondifferentiable, tangent_rule
from .domain import NotDifferentiableError
from .linalg_rules import fold_lower, from_lower

_SQRT_2PI = float(np.sqrt(2.0 * np.pi))

# =================================================================== helpers


def standardized(x, loc, scale):
    """(x - loc) / scale."""
    return (x - loc) / scale


def normal_density(u):
    """The standard normal density at ``u``."""
    return np.exp(-0.5 * u * u) / _SQRT_2PI


def no_derivative(what):
    """Raise: the derivative ``what`` is not defined here (used as a partial,
    so it runs only when that argument carries a derivative)."""
    raise NotDifferentiableError(f"the derivative of {what} is not differentiated by Tangent; "
                                 "hold that parameter constant (tangent.stop_gradient)")


def t_slope(u, df):
    """-d t.logpdf / du: (df + 1) u / (df + u^2)."""
    return (df + 1.0) * u / (df + u * u)


def t_logpdf_df(u, df):
    """d t.logpdf / d df at the standardized value ``u``."""
    return 0.5 * (sp.digamma(0.5 * (df + 1.0)) - sp.digamma(0.5 * df) - 1.0 / df - np.log1p(u * u / df)
                  + (df + 1.0) * u * u / (df * (df + u * u)))


def gamma_slope(u, a):
    """d gamma.logpdf / du: (a - 1) / u - 1."""
    return (a - 1.0) / u - 1.0


def beta_slope(u, a, b):
    """d beta.logpdf / du: (a - 1) / u - (b - 1) / (1 - u)."""
    return (a - 1.0) / u - (b - 1.0) / (1.0 - u)


def bernoulli_cdf_slope(k, p, loc=0):
    """d bernoulli.cdf / dp: -1 where 0 <= k - loc < 1, else 0."""
    kk = k - loc
    return -1.0 * ((kk >= 0) & (kk < 1))


# ------------------------------------------------------ multivariate normal


def _mvn_dim(mean, cov):
    """The dimension SciPy infers: from ``mean``, else from a matrix ``cov``, else 1."""
    if mean is not None:
        return np.size(mean)
    return np.shape(cov)[0] if np.ndim(cov) == 2 else 1


def _mvn_parts(x, mean, cov):
    """(x - mean as rows of the dimension, the full covariance matrix, its
    inverse) as SciPy reads them."""
    dim = _mvn_dim(mean, cov)
    rows = np.reshape(x, (-1, dim))
    centred = rows if mean is None else rows - np.reshape(mean, (dim,))
    if np.ndim(cov) == 0:
        sigma = cov * np.eye(dim)
    elif np.ndim(cov) == 1:
        sigma = np.diag(cov)
    else:
        sigma = from_lower(cov)
    return centred, sigma, np.linalg.inv(sigma)


def _as_cov(gsigma, cov):
    """The adjoint of the full covariance matrix as that of ``cov``."""
    if np.ndim(cov) == 0:
        return np.trace(gsigma)
    if np.ndim(cov) == 1:
        return np.diagonal(gsigma).copy()
    return fold_lower(gsigma)


def grad_mvn_x(g, x, mean=None, cov=1):
    """Adjoint of ``x`` in ``multivariate_normal.logpdf(x, mean, cov)``:
    -g S^-1 (x - mean) for each point."""
    centred, sigma, inv = _mvn_parts(x, mean, cov)
    return np.reshape(-np.reshape(g, (-1, 1)) * np.matmul(centred, inv), np.shape(x))


def grad_mvn_mean(g, x, mean=None, cov=1):
    """Adjoint of ``mean``: the sum over the points of g S^-1 (x - mean)."""
    centred, sigma, inv = _mvn_parts(x, mean, cov)
    return np.reshape(np.sum(np.reshape(g, (-1, 1)) * np.matmul(centred, inv), axis=0), np.shape(mean))


def grad_mvn_cov(g, x, mean=None, cov=1):
    """Adjoint of ``cov``: -1/2 sum_n g_n (S^-1 - s_n s_n^T), s_n = S^-1 r_n."""
    centred, sigma, inv = _mvn_parts(x, mean, cov)
    s = np.matmul(centred, inv)
    weights = np.reshape(g, (-1,))
    gsigma = -0.5 * (np.sum(weights) * inv - np.matmul(np.transpose(s) * weights, s))
    return _as_cov(gsigma, cov)


def tangent_mvn(dx, dmean, dcov, z, x, mean=None, cov=1):
    """Tangent of ``z = multivariate_normal.logpdf(x, mean, cov)`` along one
    of ``dx``, ``dmean``, ``dcov`` (the others None), shaped like ``z``."""
    centred, sigma, inv = _mvn_parts(x, mean, cov)
    s = np.matmul(centred, inv)
    if dx is not None:
        change = -np.sum(s * np.reshape(dx, np.shape(centred)), axis=-1)
    elif dmean is not None:
        change = np.sum(s * np.reshape(dmean, (1, -1)), axis=-1)
    else:
        dsigma = _mvn_parts(x, None if mean is None else mean, dcov)[1]
        change = -0.5 * (np.sum(inv * dsigma) - np.sum(np.matmul(s, dsigma) * s, axis=-1))
    return np.reshape(change, np.shape(z))


# ---------------------------------------------------------------- dirichlet


def _dirichlet_alpha(x, alpha):
    """``alpha`` shaped to broadcast against ``x`` (components on axis 0)."""
    return np.reshape(alpha, (-1,) + (1,) * (np.ndim(x) - 1))


def grad_dirichlet_x(g, x, alpha):
    """Adjoint of ``x`` in ``dirichlet.logpdf(x, alpha)``: g (alpha - 1) / x."""
    return g * (_dirichlet_alpha(x, alpha) - 1.0) / x


def grad_dirichlet_alpha(g, x, alpha):
    """Adjoint of ``alpha``: sum_n g_n (digamma(sum alpha) - digamma(alpha) + log x_n)."""
    per = sp.digamma(np.sum(alpha)) - sp.digamma(_dirichlet_alpha(x, alpha)) + np.log(x)
    return np.reshape(np.sum(np.reshape(g * per, (np.shape(alpha)[0], -1)), axis=1), np.shape(alpha))


def tangent_dirichlet(dx, dalpha, x, alpha):
    """Tangent of ``dirichlet.logpdf(x, alpha)`` along ``dx`` or ``dalpha``."""
    if dx is not None:
        return np.sum((_dirichlet_alpha(x, alpha) - 1.0) * dx / x, axis=0)
    per = sp.digamma(np.sum(alpha)) - sp.digamma(_dirichlet_alpha(x, alpha)) + np.log(x)
    return np.sum(per * _dirichlet_alpha(x, dalpha), axis=0)


# ================================================================== rules
# --------------------------------------------------------------------- norm


@elementwise(st.norm.logpdf)
def norm_logpdf(z, x, loc=0, scale=1):
    return {x: -standardized(x, loc, scale) / scale, loc: standardized(x, loc, scale) / scale,
            scale: (standardized(x, loc, scale) ** 2 - 1.0) / scale}


@elementwise(st.norm.pdf)
def norm_pdf(z, x, loc=0, scale=1):
    return {x: -z * standardized(x, loc, scale) / scale, loc: z * standardized(x, loc, scale) / scale,
            scale: z * (standardized(x, loc, scale) ** 2 - 1.0) / scale}


@elementwise(st.norm.cdf)
def norm_cdf(z, x, loc=0, scale=1):
    return {x: normal_density(standardized(x, loc, scale)) / scale,
            loc: -normal_density(standardized(x, loc, scale)) / scale,
            scale: -normal_density(standardized(x, loc, scale)) * standardized(x, loc, scale) / scale}


@elementwise(st.norm.sf)
def norm_sf(z, x, loc=0, scale=1):
    return {x: -normal_density(standardized(x, loc, scale)) / scale,
            loc: normal_density(standardized(x, loc, scale)) / scale,
            scale: normal_density(standardized(x, loc, scale)) * standardized(x, loc, scale) / scale}


# d log Phi(u) = exp(log phi(u) - log Phi(u)) du: finite in the far tails
@elementwise(st.norm.logcdf)
def norm_logcdf(z, x, loc=0, scale=1):
    return {x: normal_density(standardized(x, loc, scale)) * np.exp(-z) / scale,
            loc: -normal_density(standardized(x, loc, scale)) * np.exp(-z) / scale,
            scale: -normal_density(standardized(x, loc, scale)) * np.exp(-z) * standardized(x, loc, scale) / scale}


@elementwise(st.norm.logsf)
def norm_logsf(z, x, loc=0, scale=1):
    return {x: -normal_density(standardized(x, loc, scale)) * np.exp(-z) / scale,
            loc: normal_density(standardized(x, loc, scale)) * np.exp(-z) / scale,
            scale: normal_density(standardized(x, loc, scale)) * np.exp(-z) * standardized(x, loc, scale) / scale}


# ------------------------------------------------------------------------ t


@elementwise(st.t.logpdf)
def t_logpdf(z, x, df, loc=0, scale=1):
    return {x: -t_slope(standardized(x, loc, scale), df) / scale,
            df: t_logpdf_df(standardized(x, loc, scale), df),
            loc: t_slope(standardized(x, loc, scale), df) / scale,
            scale: (t_slope(standardized(x, loc, scale), df) * standardized(x, loc, scale) - 1.0) / scale}


@elementwise(st.t.pdf)
def t_pdf(z, x, df, loc=0, scale=1):
    return {x: -z * t_slope(standardized(x, loc, scale), df) / scale,
            df: z * t_logpdf_df(standardized(x, loc, scale), df),
            loc: z * t_slope(standardized(x, loc, scale), df) / scale,
            scale: z * (t_slope(standardized(x, loc, scale), df) * standardized(x, loc, scale) - 1.0) / scale}


@elementwise(st.t.cdf)
def t_cdf(z, x, df, loc=0, scale=1):
    return {x: st.t.pdf(standardized(x, loc, scale), df) / scale, df: no_derivative("scipy.stats.t.cdf in df"),
            loc: -st.t.pdf(standardized(x, loc, scale), df) / scale,
            scale: -st.t.pdf(standardized(x, loc, scale), df) * standardized(x, loc, scale) / scale}


@elementwise(st.t.sf)
def t_sf(z, x, df, loc=0, scale=1):
    return {x: -st.t.pdf(standardized(x, loc, scale), df) / scale, df: no_derivative("scipy.stats.t.sf in df"),
            loc: st.t.pdf(standardized(x, loc, scale), df) / scale,
            scale: st.t.pdf(standardized(x, loc, scale), df) * standardized(x, loc, scale) / scale}


@elementwise(st.t.logcdf)
def t_logcdf(z, x, df, loc=0, scale=1):
    return {x: np.exp(st.t.logpdf(standardized(x, loc, scale), df) - z) / scale,
            df: no_derivative("scipy.stats.t.logcdf in df"),
            loc: -np.exp(st.t.logpdf(standardized(x, loc, scale), df) - z) / scale,
            scale: -np.exp(st.t.logpdf(standardized(x, loc, scale), df) - z) * standardized(x, loc, scale) / scale}


@elementwise(st.t.logsf)
def t_logsf(z, x, df, loc=0, scale=1):
    return {x: -np.exp(st.t.logpdf(standardized(x, loc, scale), df) - z) / scale,
            df: no_derivative("scipy.stats.t.logsf in df"),
            loc: np.exp(st.t.logpdf(standardized(x, loc, scale), df) - z) / scale,
            scale: np.exp(st.t.logpdf(standardized(x, loc, scale), df) - z) * standardized(x, loc, scale) / scale}


# -------------------------------------------------------------------- gamma


@elementwise(st.gamma.logpdf)
def gamma_logpdf(z, x, a, loc=0, scale=1):
    return {x: gamma_slope(standardized(x, loc, scale), a) / scale,
            a: np.log(standardized(x, loc, scale)) - sp.digamma(a),
            loc: -gamma_slope(standardized(x, loc, scale), a) / scale,
            scale: -(gamma_slope(standardized(x, loc, scale), a) * standardized(x, loc, scale) + 1.0) / scale}


@elementwise(st.gamma.pdf)
def gamma_pdf(z, x, a, loc=0, scale=1):
    return {x: z * gamma_slope(standardized(x, loc, scale), a) / scale,
            a: z * (np.log(standardized(x, loc, scale)) - sp.digamma(a)),
            loc: -z * gamma_slope(standardized(x, loc, scale), a) / scale,
            scale: -z * (gamma_slope(standardized(x, loc, scale), a) * standardized(x, loc, scale) + 1.0) / scale}


@elementwise(st.gamma.cdf)
def gamma_cdf(z, x, a, loc=0, scale=1):
    return {x: st.gamma.pdf(standardized(x, loc, scale), a) / scale, a: no_derivative("scipy.stats.gamma.cdf in a"),
            loc: -st.gamma.pdf(standardized(x, loc, scale), a) / scale,
            scale: -st.gamma.pdf(standardized(x, loc, scale), a) * standardized(x, loc, scale) / scale}


@elementwise(st.gamma.sf)
def gamma_sf(z, x, a, loc=0, scale=1):
    return {x: -st.gamma.pdf(standardized(x, loc, scale), a) / scale, a: no_derivative("scipy.stats.gamma.sf in a"),
            loc: st.gamma.pdf(standardized(x, loc, scale), a) / scale,
            scale: st.gamma.pdf(standardized(x, loc, scale), a) * standardized(x, loc, scale) / scale}


@elementwise(st.gamma.logcdf)
def gamma_logcdf(z, x, a, loc=0, scale=1):
    return {x: np.exp(st.gamma.logpdf(standardized(x, loc, scale), a) - z) / scale,
            a: no_derivative("scipy.stats.gamma.logcdf in a"),
            loc: -np.exp(st.gamma.logpdf(standardized(x, loc, scale), a) - z) / scale,
            scale: -np.exp(st.gamma.logpdf(standardized(x, loc, scale), a) - z) * standardized(x, loc, scale) / scale}


@elementwise(st.gamma.logsf)
def gamma_logsf(z, x, a, loc=0, scale=1):
    return {x: -np.exp(st.gamma.logpdf(standardized(x, loc, scale), a) - z) / scale,
            a: no_derivative("scipy.stats.gamma.logsf in a"),
            loc: np.exp(st.gamma.logpdf(standardized(x, loc, scale), a) - z) / scale,
            scale: np.exp(st.gamma.logpdf(standardized(x, loc, scale), a) - z) * standardized(x, loc, scale) / scale}


# --------------------------------------------------------------------- beta


@elementwise(st.beta.logpdf)
def beta_logpdf(z, x, a, b, loc=0, scale=1):
    return {x: beta_slope(standardized(x, loc, scale), a, b) / scale,
            a: np.log(standardized(x, loc, scale)) - sp.digamma(a) + sp.digamma(a + b),
            b: np.log1p(-standardized(x, loc, scale)) - sp.digamma(b) + sp.digamma(a + b),
            loc: -beta_slope(standardized(x, loc, scale), a, b) / scale,
            scale: -(beta_slope(standardized(x, loc, scale), a, b) * standardized(x, loc, scale) + 1.0) / scale}


@elementwise(st.beta.pdf)
def beta_pdf(z, x, a, b, loc=0, scale=1):
    return {x: z * beta_slope(standardized(x, loc, scale), a, b) / scale,
            a: z * (np.log(standardized(x, loc, scale)) - sp.digamma(a) + sp.digamma(a + b)),
            b: z * (np.log1p(-standardized(x, loc, scale)) - sp.digamma(b) + sp.digamma(a + b)),
            loc: -z * beta_slope(standardized(x, loc, scale), a, b) / scale,
            scale: -z * (beta_slope(standardized(x, loc, scale), a, b) * standardized(x, loc, scale) + 1.0) / scale}


@elementwise(st.beta.cdf)
def beta_cdf(z, x, a, b, loc=0, scale=1):
    return {x: st.beta.pdf(standardized(x, loc, scale), a, b) / scale,
            a: no_derivative("scipy.stats.beta.cdf in a"), b: no_derivative("scipy.stats.beta.cdf in b"),
            loc: -st.beta.pdf(standardized(x, loc, scale), a, b) / scale,
            scale: -st.beta.pdf(standardized(x, loc, scale), a, b) * standardized(x, loc, scale) / scale}


@elementwise(st.beta.sf)
def beta_sf(z, x, a, b, loc=0, scale=1):
    return {x: -st.beta.pdf(standardized(x, loc, scale), a, b) / scale,
            a: no_derivative("scipy.stats.beta.sf in a"), b: no_derivative("scipy.stats.beta.sf in b"),
            loc: st.beta.pdf(standardized(x, loc, scale), a, b) / scale,
            scale: st.beta.pdf(standardized(x, loc, scale), a, b) * standardized(x, loc, scale) / scale}


@elementwise(st.beta.logcdf)
def beta_logcdf(z, x, a, b, loc=0, scale=1):
    return {x: np.exp(st.beta.logpdf(standardized(x, loc, scale), a, b) - z) / scale,
            a: no_derivative("scipy.stats.beta.logcdf in a"), b: no_derivative("scipy.stats.beta.logcdf in b"),
            loc: -np.exp(st.beta.logpdf(standardized(x, loc, scale), a, b) - z) / scale,
            scale: -np.exp(st.beta.logpdf(standardized(x, loc, scale), a, b) - z) * standardized(x, loc, scale) / scale}


@elementwise(st.beta.logsf)
def beta_logsf(z, x, a, b, loc=0, scale=1):
    return {x: -np.exp(st.beta.logpdf(standardized(x, loc, scale), a, b) - z) / scale,
            a: no_derivative("scipy.stats.beta.logsf in a"), b: no_derivative("scipy.stats.beta.logsf in b"),
            loc: np.exp(st.beta.logpdf(standardized(x, loc, scale), a, b) - z) / scale,
            scale: np.exp(st.beta.logpdf(standardized(x, loc, scale), a, b) - z) * standardized(x, loc, scale) / scale}


# ------------------------------------------------------- poisson, bernoulli


# One partial, in the parameter (not the first argument): written out, so
# that the parameter's adjoint is summed to its shape.
@adjoint(st.poisson.logpmf)
def poisson_logpmf(z, k, mu, loc=0):
    d[mu] = unbroadcast(d[z] * ((k - loc) / mu - 1.0), mu)


@tangent_rule(st.poisson.logpmf)
def t_poisson_logpmf(z, k, mu, loc=0):
    d[z] = d[mu] * ((k - loc) / mu - 1.0)


@adjoint(st.poisson.pmf)
def poisson_pmf(z, k, mu, loc=0):
    d[mu] = unbroadcast(d[z] * z * ((k - loc) / mu - 1.0), mu)


@tangent_rule(st.poisson.pmf)
def t_poisson_pmf(z, k, mu, loc=0):
    d[z] = d[mu] * z * ((k - loc) / mu - 1.0)


# d/dmu P(K <= k) = -pmf(floor(k))
@adjoint(st.poisson.cdf)
def poisson_cdf(z, k, mu, loc=0):
    d[mu] = -unbroadcast(d[z] * st.poisson.pmf(np.floor(k), mu, loc), mu)


@tangent_rule(st.poisson.cdf)
def t_poisson_cdf(z, k, mu, loc=0):
    d[z] = -d[mu] * st.poisson.pmf(np.floor(k), mu, loc)


@adjoint(st.poisson.sf)
def poisson_sf(z, k, mu, loc=0):
    d[mu] = unbroadcast(d[z] * st.poisson.pmf(np.floor(k), mu, loc), mu)


@tangent_rule(st.poisson.sf)
def t_poisson_sf(z, k, mu, loc=0):
    d[z] = d[mu] * st.poisson.pmf(np.floor(k), mu, loc)


@adjoint(st.poisson.logcdf)
def poisson_logcdf(z, k, mu, loc=0):
    d[mu] = -unbroadcast(d[z] * np.exp(st.poisson.logpmf(np.floor(k), mu, loc) - z), mu)


@tangent_rule(st.poisson.logcdf)
def t_poisson_logcdf(z, k, mu, loc=0):
    d[z] = -d[mu] * np.exp(st.poisson.logpmf(np.floor(k), mu, loc) - z)


@adjoint(st.poisson.logsf)
def poisson_logsf(z, k, mu, loc=0):
    d[mu] = unbroadcast(d[z] * np.exp(st.poisson.logpmf(np.floor(k), mu, loc) - z), mu)


@tangent_rule(st.poisson.logsf)
def t_poisson_logsf(z, k, mu, loc=0):
    d[z] = d[mu] * np.exp(st.poisson.logpmf(np.floor(k), mu, loc) - z)


@adjoint(st.bernoulli.logpmf)
def bernoulli_logpmf(z, k, p, loc=0):
    d[p] = unbroadcast(d[z] * ((k - loc) / p - (1.0 - (k - loc)) / (1.0 - p)), p)


@tangent_rule(st.bernoulli.logpmf)
def t_bernoulli_logpmf(z, k, p, loc=0):
    d[z] = d[p] * ((k - loc) / p - (1.0 - (k - loc)) / (1.0 - p))


@adjoint(st.bernoulli.pmf)
def bernoulli_pmf(z, k, p, loc=0):
    d[p] = unbroadcast(d[z] * z * ((k - loc) / p - (1.0 - (k - loc)) / (1.0 - p)), p)


@tangent_rule(st.bernoulli.pmf)
def t_bernoulli_pmf(z, k, p, loc=0):
    d[z] = d[p] * z * ((k - loc) / p - (1.0 - (k - loc)) / (1.0 - p))


@adjoint(st.bernoulli.cdf)
def bernoulli_cdf(z, k, p, loc=0):
    d[p] = unbroadcast(d[z] * bernoulli_cdf_slope(k, p, loc), p)


@tangent_rule(st.bernoulli.cdf)
def t_bernoulli_cdf(z, k, p, loc=0):
    d[z] = d[p] * bernoulli_cdf_slope(k, p, loc)


@adjoint(st.bernoulli.sf)
def bernoulli_sf(z, k, p, loc=0):
    d[p] = -unbroadcast(d[z] * bernoulli_cdf_slope(k, p, loc), p)


@tangent_rule(st.bernoulli.sf)
def t_bernoulli_sf(z, k, p, loc=0):
    d[z] = -d[p] * bernoulli_cdf_slope(k, p, loc)


@adjoint(st.bernoulli.logcdf)
def bernoulli_logcdf(z, k, p, loc=0):
    d[p] = unbroadcast(d[z] * bernoulli_cdf_slope(k, p, loc) * np.exp(-z), p)


@tangent_rule(st.bernoulli.logcdf)
def t_bernoulli_logcdf(z, k, p, loc=0):
    d[z] = d[p] * bernoulli_cdf_slope(k, p, loc) * np.exp(-z)


@adjoint(st.bernoulli.logsf)
def bernoulli_logsf(z, k, p, loc=0):
    d[p] = -unbroadcast(d[z] * bernoulli_cdf_slope(k, p, loc) * np.exp(-z), p)


@tangent_rule(st.bernoulli.logsf)
def t_bernoulli_logsf(z, k, p, loc=0):
    d[z] = -d[p] * bernoulli_cdf_slope(k, p, loc) * np.exp(-z)


# ----------------------------------------------- multivariate, dirichlet


@adjoint(st.multivariate_normal.logpdf)
def mvn_logpdf(z, x, mean=None, cov=1, allow_singular=False):
    d[x] = grad_mvn_x(d[z], x, mean, cov)
    d[mean] = grad_mvn_mean(d[z], x, mean, cov)
    d[cov] = grad_mvn_cov(d[z], x, mean, cov)


@tangent_rule(st.multivariate_normal.logpdf)
def t_mvn_logpdf(z, x, mean=None, cov=1, allow_singular=False):
    d[z] = (tangent_mvn(d[x], None, None, z, x, mean, cov) + tangent_mvn(None, d[mean], None, z, x, mean, cov)
            + tangent_mvn(None, None, d[cov], z, x, mean, cov))


@adjoint(st.multivariate_normal.pdf)
def mvn_pdf(z, x, mean=None, cov=1, allow_singular=False):
    d[x] = grad_mvn_x(d[z] * z, x, mean, cov)
    d[mean] = grad_mvn_mean(d[z] * z, x, mean, cov)
    d[cov] = grad_mvn_cov(d[z] * z, x, mean, cov)


@tangent_rule(st.multivariate_normal.pdf)
def t_mvn_pdf(z, x, mean=None, cov=1, allow_singular=False):
    d[z] = z * (tangent_mvn(d[x], None, None, z, x, mean, cov) + tangent_mvn(None, d[mean], None, z, x, mean, cov)
                + tangent_mvn(None, None, d[cov], z, x, mean, cov))


@adjoint(st.dirichlet.logpdf)
def dirichlet_logpdf(z, x, alpha):
    d[x] = grad_dirichlet_x(d[z], x, alpha)
    d[alpha] = grad_dirichlet_alpha(d[z], x, alpha)


@tangent_rule(st.dirichlet.logpdf)
def t_dirichlet_logpdf(z, x, alpha):
    d[z] = tangent_dirichlet(d[x], None, x, alpha) + tangent_dirichlet(None, d[alpha], x, alpha)


@adjoint(st.dirichlet.pdf)
def dirichlet_pdf(z, x, alpha):
    d[x] = grad_dirichlet_x(d[z] * z, x, alpha)
    d[alpha] = grad_dirichlet_alpha(d[z] * z, x, alpha)


@tangent_rule(st.dirichlet.pdf)
def t_dirichlet_pdf(z, x, alpha):
    d[z] = z * (tangent_dirichlet(d[x], None, x, alpha) + tangent_dirichlet(None, d[alpha], x, alpha))


nondifferentiable(bernoulli_cdf_slope, no_derivative)
