"""scipy.special, scipy.linalg and scipy.stats rules (special_rules.py,
scipy_linalg_rules.py, stats_rules.py) against central finite differences in
float64: reverse, forward and second order (hvp and grad of grad) through
``tangent.testing.check_grads``, with the distributions' parameters as
arguments (positional and keyword), and the refusals."""

import numpy as np
import pytest

import tangent
from tangent.rules import d
from tangent.testing import check_grads

sp = pytest.importorskip("scipy.special")
sl = pytest.importorskip("scipy.linalg")
st = pytest.importorskip("scipy.stats")

RNG = np.random.default_rng(777)


def R(*shape):
    return RNG.standard_normal(shape)


def P(*shape):
    return RNG.uniform(0.5, 2.0, shape)


def check(f, *args, **kw):
    check_grads(f, *args, modes=("reverse", "forward"), order=2, **kw)


# ------------------------------------------------------------ scipy.special


def special_gamma(x):
    return np.sum(sp.gamma(x) * np.arange(1.0, 4.0))


def special_digamma(x):
    return np.sum(sp.digamma(x) ** 2) + np.sum(sp.gammaln(x) * x)


def special_polygamma(x):
    return np.sum(sp.polygamma(1, x) * x)


def special_beta(a, b):
    return np.sum(sp.betaln(a, b) ** 2) + np.sum(sp.beta(a, b))


def special_ndtr(x):
    return np.sum(sp.ndtr(x) * x) + np.sum(sp.log_ndtr(x) ** 2)


def special_log_ndtr_tail(x):
    return np.sum(sp.log_ndtr(x))


def special_ndtri(p):
    return np.sum(sp.ndtri(p) ** 3)


def special_misc(x, y):
    return np.sum(sp.log_expit(x) * y) + np.sum(sp.xlog1py(x, y))


@pytest.mark.parametrize("f, args", [
    (special_gamma, (P(3),)), (special_digamma, (P(3),)), (special_polygamma, (P(3),)),
    (special_beta, (P(3), P(3))), (special_ndtr, (R(4),)),
    (special_log_ndtr_tail, (np.array([-30.0, -8.0, 0.5]),)),
    (special_ndtri, (np.array([0.1, 0.5, 0.8]),)), (special_misc, (R(3), P(3))),
], ids=lambda x: getattr(x, "__name__", ""))
def test_special(f, args):
    check(f, *args)


# ------------------------------------------------------------- scipy.linalg


def SPD(n):
    b = R(n, n)
    return b @ b.T + n * np.eye(n)


W = np.arange(9.0).reshape(3, 3) - 4.0


def linalg_cholesky(a):
    return np.sum(sl.cholesky(a) * W) + np.sum(sl.cholesky(a, lower=True) ** 2 * W)


def linalg_cho_solve(b, y):
    c = sl.cholesky(b @ b.T + 3.0 * np.eye(3), lower=True)
    return np.sum(sl.cho_solve((c, True), y) ** 2)


def linalg_cho_solve_upper(a, y):
    c = sl.cholesky(a)
    return np.sum(np.sin(sl.cho_solve((c, False), y)))


def linalg_solve_triangular(a, b):
    return (np.sum(sl.solve_triangular(a, b) ** 2) + np.sum(sl.solve_triangular(a, b, lower=True, trans=1) * b)
            + np.sum(sl.solve_triangular(a, b, trans="T", unit_diagonal=True)))


def linalg_solve_triangular_vector(a, b):
    return np.sum(sl.solve_triangular(a, b, lower=True) ** 3)


def linalg_expm(a):
    return np.sum(sl.expm(a) * W)


TRI = np.triu(R(3, 3)) + 3.0 * np.eye(3)


@pytest.mark.parametrize("f, args", [
    (linalg_cholesky, (SPD(3),)), (linalg_cho_solve, (R(3, 3), R(3))), (linalg_cho_solve_upper, (SPD(3), R(3, 2))),
    (linalg_solve_triangular, (TRI + np.tril(R(3, 3), -1), R(3, 2))),
    (linalg_solve_triangular_vector, (TRI.T, R(3))), (linalg_expm, (0.5 * R(3, 3),)),
], ids=lambda x: getattr(x, "__name__", ""))
def test_scipy_linalg(f, args):
    check(f, *args)


# -------------------------------------------------------------- scipy.stats


def norm_all(x, loc, scale):
    return (np.sum(st.norm.logpdf(x, loc, scale)) + np.sum(st.norm.pdf(x, loc=loc, scale=scale))
            + np.sum(st.norm.logcdf(x, loc, scale)) + np.sum(st.norm.cdf(x, loc, scale) ** 2)
            + np.sum(st.norm.logsf(x, loc=loc, scale=scale)) + np.sum(st.norm.sf(x, loc, scale) * x))


def norm_default(x):
    return np.sum(st.norm.logpdf(x)) + np.sum(st.norm.logcdf(x))


def t_all(x, df, loc, scale):
    return (np.sum(st.t.logpdf(x, df, loc, scale)) + np.sum(st.t.pdf(x, df, loc=loc, scale=scale))
            + np.sum(st.t.logcdf(x, 3.5, loc, scale)) + np.sum(st.t.cdf(x, 3.5, loc, scale) ** 2)
            + np.sum(st.t.logsf(x, 3.5, loc=loc, scale=scale)) + np.sum(st.t.sf(x, 3.5, loc, scale)))


def gamma_all(x, a, scale):
    return (np.sum(st.gamma.logpdf(x, a, scale=scale)) + np.sum(st.gamma.pdf(x, a, 0.0, scale))
            + np.sum(st.gamma.logcdf(x, 2.5, scale=scale)) + np.sum(st.gamma.cdf(x, 2.5, loc=0.1, scale=scale))
            + np.sum(st.gamma.logsf(x, 2.5, scale=scale)) + np.sum(st.gamma.sf(x, 2.5) ** 2))


def beta_all(x, a, b):
    return (np.sum(st.beta.logpdf(x, a, b)) + np.sum(st.beta.pdf(x, a, b))
            + np.sum(st.beta.logcdf(x, 2.0, 3.0)) + np.sum(st.beta.cdf(x, 2.0, 3.0) ** 2)
            + np.sum(st.beta.logsf(x, 2.0, 3.0)) + np.sum(st.beta.sf(x, 2.0, 3.0, loc=-0.1, scale=1.2)))


def beta_loc_scale(x, loc, scale):
    return np.sum(st.beta.logpdf(x, 2.0, 3.0, loc, scale)) + np.sum(st.beta.cdf(x, 2.0, 3.0, loc=loc, scale=scale))


K = np.array([0.0, 1.0, 3.0, 6.0])


def poisson_all(mu):
    return (np.sum(st.poisson.logpmf(K, mu)) + np.sum(st.poisson.pmf(K, mu))
            + np.sum(st.poisson.logcdf(K, mu)) + np.sum(st.poisson.cdf(K, mu=mu) ** 2)
            + np.sum(st.poisson.logsf(K, mu)) + np.sum(st.poisson.sf(K, mu)))


B = np.array([0.0, 1.0, 1.0, 0.0])


def bernoulli_all(p):
    return (np.sum(st.bernoulli.logpmf(B, p)) + np.sum(st.bernoulli.pmf(B, p=p))
            + np.sum(st.bernoulli.logcdf(B, p)) + np.sum(st.bernoulli.cdf(B, p) ** 2)
            + np.sum(st.bernoulli.logsf(np.zeros(2), p)) + np.sum(st.bernoulli.sf(B, p)))


def mvn(x, mean, cov):
    return np.sum(st.multivariate_normal.logpdf(x, mean, cov)) + np.sum(st.multivariate_normal.pdf(x, mean=mean, cov=cov))


def mvn_one(x, mean, b):
    return st.multivariate_normal.logpdf(x, mean=mean, cov=b @ b.T + np.eye(3))


def mvn_diagonal(x, var):
    return st.multivariate_normal.logpdf(x, np.zeros(3), var) + st.multivariate_normal.logpdf(x, np.ones(3), 1.5 * var[0])


def mvn_one_dimensional(x, mean, var):
    return np.sum(st.multivariate_normal.logpdf(x, mean, var))


def dirichlet_fn(y, alpha):
    x = np.exp(y) / np.sum(np.exp(y))
    return st.dirichlet.logpdf(x, alpha) + st.dirichlet.pdf(x, alpha)


def dirichlet_batch(y, alpha):
    x = np.exp(y) / np.sum(np.exp(y), axis=0)
    return np.sum(st.dirichlet.logpdf(x, alpha) * np.array([1.0, 2.0]))


@pytest.mark.parametrize("f, args", [
    (norm_all, (R(4), 0.3, 1.4)), (norm_all, (R(4), R(4), P(4))), (norm_default, (3.0 * R(5),)),
    (t_all, (R(4), 3.5, 0.2, 1.3)), (t_all, (R(4), P(4) * 3, R(4), P(4))),
    (gamma_all, (P(4), 2.5, 1.3)), (beta_all, (RNG.uniform(0.2, 0.8, 4), 2.0, 3.0)),
    (beta_loc_scale, (RNG.uniform(0.2, 0.8, 4), -0.1, 1.2)),
    (poisson_all, (2.5,)), (poisson_all, (P(4) * 2,)), (bernoulli_all, (0.3,)),
    (mvn, (R(4, 3), R(3), SPD(3))), (mvn_one, (R(3), R(3), R(3, 3))), (mvn_diagonal, (R(3), P(3))), (mvn_one_dimensional, (R(4), 0.3, 1.7)),
    (dirichlet_fn, (R(3), P(3) * 2)), (dirichlet_batch, (R(3, 2), P(3) * 2)),
], ids=lambda x: getattr(x, "__name__", ""))
def test_stats(f, args):
    check(f, *args)


def test_cdf_in_a_shape_parameter_refused():
    def f(x, df):
        return np.sum(st.t.cdf(x, df))

    with pytest.raises(tangent.NotDifferentiableError, match="t.cdf in df"):
        tangent.grad(f, wrt=1)(R(3), 3.0)


class _Cube:
    def __init__(self, c):
        self.c = c

    def apply(self, x):
        return self.c * x ** 3


_CUBE = _Cube(2.0)


@tangent.adjoint(_CUBE.apply)
def _a_cube(z, x):
    d[x] = d[z] * 6.0 * x * x


@tangent.tangent_rule(_CUBE.apply)
def _t_cube(z, x):
    d[z] = d[x] * 6.0 * x * x


def uses_cube(x):
    return np.sum(_CUBE.apply(x))


def test_a_bound_method_with_rules_is_a_primitive():
    """How st.norm.logpdf gets its rules: a bound method of an object known
    when differentiating, with rules of its own, is not read as its class's
    function with the object as first argument."""
    x = R(3)
    code = tangent.source(tangent.grad(uses_cube))
    assert "6.0 * x * x" in code
    check(uses_cube, x)


# ------------------------------------------------- frozen distributions
# st.norm(loc, scale).logpdf(x) reads as st.norm.logpdf(x, loc, scale)
# (tangent/rules/frozen_distributions.py): inline, held in a local, held in
# a global; parameters as positions or keywords.

N_GLOBAL = st.norm(0.5, 2.0)
T_GLOBAL = st.t(4.0, scale=1.5)
MVN_GLOBAL = st.multivariate_normal(np.zeros(3), np.eye(3) + 0.5)
DIR_GLOBAL = st.dirichlet([1.5, 2.0, 3.0])


def frozen_norm(x, loc, scale):
    dist = st.norm(loc, scale=scale)
    return (np.sum(dist.logpdf(x)) + np.sum(st.norm(loc, scale).cdf(x) ** 2) + np.sum(dist.logsf(x))
            + np.sum(dist.pdf(x=x)) + np.sum(N_GLOBAL.logcdf(x)))


def frozen_t(x, df, loc):
    dist = st.t(df, loc)
    return np.sum(dist.logpdf(x)) + np.sum(st.t(df, loc=loc, scale=1.3).pdf(x)) + np.sum(T_GLOBAL.logpdf(x))


def frozen_gamma_beta(x, a, b):
    g = st.gamma(a, scale=b)
    u = 1.0 / (1.0 + np.exp(-x))
    return np.sum(g.logpdf(np.exp(x))) + np.sum(st.beta(a, b).logpdf(u)) + np.sum(st.gamma(2.5).logsf(np.exp(x)))


def frozen_discrete(mu, p):
    pois = st.poisson(mu)
    return np.sum(pois.logpmf(K)) + np.sum(st.poisson(mu=mu).cdf(K)) + np.sum(st.bernoulli(p).logpmf(B))


def frozen_mvn(x, mean, b):
    cov = b @ b.T + np.eye(3)
    dist = st.multivariate_normal(mean, cov)
    return np.sum(dist.logpdf(x)) + np.sum(st.multivariate_normal(mean=mean, cov=cov).pdf(x)) + np.sum(MVN_GLOBAL.logpdf(x))


def frozen_dirichlet(y, alpha):
    x = np.exp(y) / np.sum(np.exp(y))
    return st.dirichlet(alpha).logpdf(x) + DIR_GLOBAL.logpdf(x)


def frozen_params_reassigned(x, scale):
    """The frozen distribution keeps the parameters it was made with."""
    dist = st.norm(0.0, scale)
    scale = scale * 3.0
    return np.sum(dist.logpdf(x)) * scale


@pytest.mark.parametrize("f, args", [
    (frozen_norm, (R(4), 0.3, 1.4)), (frozen_norm, (R(4), R(4), P(4))), (frozen_t, (R(4), 3.5, 0.2)),
    (frozen_gamma_beta, (R(4), 2.5, 1.3)), (frozen_discrete, (2.5, 0.3)),
    (frozen_mvn, (R(4, 3), R(3), R(3, 3))), (frozen_dirichlet, (R(3), P(3) * 2)),
    (frozen_params_reassigned, (R(3), 1.7)),
], ids=lambda x: getattr(x, "__name__", ""))
def test_frozen_distributions(f, args):
    check(f, *args)


def test_frozen_distribution_source_reads_the_function():
    code = tangent.source(tangent.grad(frozen_params_reassigned, wrt=1))
    # (the distribution reads the argument; its later value has a name of its own, tangent/versions.py)
    assert "st.norm.logpdf(x, loc=0.0, scale=scale)" in code and "scale * 3.0" in code


def frozen_other_method(x, s):
    return st.norm(0.0, s).mean() * x


def frozen_passed_on(x, s):
    dist = st.norm(0.0, s)
    return np.sum(helper_logpdf(dist, x))


def helper_logpdf(dist, x):
    return dist.logpdf(x)


def frozen_twice(x, s):
    dist = st.norm(0.0, s)
    dist = st.norm(1.0, s)
    return np.sum(dist.logpdf(x))


@pytest.mark.parametrize("f, message", [
    (frozen_other_method, r"method \.mean\(\) of a frozen scipy.stats distribution"),
    (frozen_passed_on, "'dist' holds a frozen distribution"),
    (frozen_twice, "assigned more than once"),
], ids=lambda x: getattr(x, "__name__", ""))
def test_frozen_distribution_refusals(f, message):
    with pytest.raises(tangent.TangentSyntaxError, match=message) as info:
        tangent.grad(f)(R(3), 1.5)
    assert "test_rules_stats.py:" in str(info.value) and "scipy.stats.norm.logpdf(x, loc, scale)" in str(info.value)
