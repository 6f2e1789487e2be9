"""NumPy's matrix functions (tangent/rules/linalg_rules.py) against central
finite differences in float64: reverse, forward and second order (hvp and
grad of grad) through ``tangent.testing.check_grads``, keyword arguments
included, and the refusals where a derivative does not exist.

Functions of eigen- and singular vectors are chosen invariant to the signs
NumPy picks; matrices are random with a fixed seed, well conditioned, with
distinct eigen- and singular values.
"""

import numpy as np
import pytest

import tangent
from tangent.testing import check_grads

RNG = np.random.default_rng(31337)


def R(*shape):
    return RNG.standard_normal(shape)


def SPD(n):
    b = R(n, n)
    return b @ b.T + n * np.eye(n)


def check(f, *args, **kw):
    check_grads(f, *args, modes=("reverse", "forward"), order=2, **kw)


# ------------------------------------------------------------ structure


def diag_of_vector(v):
    return np.sum(np.sin(np.diag(v)) * np.arange(9.0).reshape(3, 3))


def diag_of_vector_k(v):
    return np.sum(np.diag(v, k=1) ** 2 * np.arange(16.0).reshape(4, 4))


def diag_of_matrix(a):
    return np.sum(np.diag(a) ** 3)


def diag_of_matrix_k(a):
    return np.sum(np.exp(np.diag(a, -1)))


def tril_triu(a):
    return np.sum(np.tril(a) * np.triu(a, k=1).T) + np.sum(np.tril(a, k=-1) ** 2) + np.sum(np.sin(np.triu(a)))


def kron_same(a, b):
    return np.sum(np.kron(a, b) ** 2 * np.arange(24.0).reshape(4, 6))


def kron_mixed(a, b):
    return np.sum(np.tanh(np.kron(a, b)))


def vdot(a, b):
    return np.vdot(a, b) ** 2


def cross(a, b):
    return np.sum(np.cross(a, b) ** 2) + np.sum(np.cross(a, b, axis=0) * a)


def matrix_power_pos(a):
    return np.sum(np.linalg.matrix_power(a, 3) * np.arange(9.0).reshape(3, 3))


def matrix_power_neg(a):
    return np.sum(np.linalg.matrix_power(a, -2))


def matrix_power_zero(a):
    return np.sum(np.linalg.matrix_power(a, 0) * a)


@pytest.mark.parametrize("f, args", [
    (diag_of_vector, (R(3),)),
    (diag_of_vector_k, (R(3),)),
    (diag_of_matrix, (R(3, 4),)),
    (diag_of_matrix_k, (R(4, 3),)),
    (tril_triu, (R(3, 3),)),
    (kron_same, (R(2, 3), R(2, 2))),
    (kron_mixed, (R(2), R(2, 3))),
    (vdot, (R(2, 3), R(6))),
    (cross, (R(3, 3), R(3, 3))),
    (matrix_power_pos, (R(3, 3),)),
    (matrix_power_neg, (R(3, 3) + 3 * np.eye(3),)),
    (matrix_power_zero, (R(3, 3),)),
], ids=lambda x: getattr(x, "__name__", ""))
def test_structure(f, args):
    check(f, *args)


# ---------------------------------------------------------------- cholesky


def cholesky_lower(a):
    return np.sum(np.linalg.cholesky(a) * np.arange(9.0).reshape(3, 3))


def cholesky_upper(a):
    return np.sum(np.sin(np.linalg.cholesky(a, upper=True)))


def cholesky_logdet(b):
    L = np.linalg.cholesky(b @ b.T + 3.0 * np.eye(3))
    return 2.0 * np.sum(np.log(np.diagonal(L)))


def cholesky_batched(a):
    return np.sum(np.linalg.cholesky(a) ** 2 * np.arange(9.0).reshape(3, 3))


@pytest.mark.parametrize("f, a", [
    (cholesky_lower, SPD(3)), (cholesky_upper, SPD(3)), (cholesky_logdet, R(3, 3)),
    (cholesky_batched, np.stack([SPD(3), SPD(3)])),
], ids=lambda x: getattr(x, "__name__", ""))
def test_cholesky(f, a):
    check(f, a)


def test_cholesky_logdet_matches_slogdet():
    """Through a symmetric construction the gradient is the symmetric one."""
    b = R(3, 3)
    got = tangent.grad(cholesky_logdet)(b)
    a = b @ b.T + 3.0 * np.eye(3)
    np.testing.assert_allclose(got, 2 * np.linalg.inv(a) @ b, rtol=1e-10)


# -------------------------------------------------------------------- eigh


def eigh_values(a):
    w, v = np.linalg.eigh(a)
    return np.sum(w * np.array([1.0, 2.0, 3.0]))


def eigh_vectors(a):
    w, v = np.linalg.eigh(a)
    return np.sum(v ** 2 * np.arange(9.0).reshape(3, 3)) + np.sum(w ** 2)


def eigh_upper(a):
    w, v = np.linalg.eigh(a, UPLO="U")
    return np.sum(np.abs(v[:, 0]) * np.array([1.0, -2.0, 0.5])) + w[1]


def eigh_reconstruct(b):
    w, v = np.linalg.eigh(b + b.T)
    return np.sum(np.sin(v @ np.diag(w) @ v.T))


def eigvalsh_upper(a):
    return np.sum(np.linalg.eigvalsh(a, UPLO="U") ** 3)


@pytest.mark.parametrize("f", [eigh_values, eigh_vectors, eigh_upper, eigh_reconstruct, eigvalsh_upper],
                         ids=lambda f: f.__name__)
def test_eigh(f):
    check(f, R(3, 3))


def test_eigh_repeated_eigenvalues_refused():
    a = np.diag([1.0, 1.0, 2.0])
    with pytest.raises(tangent.NotDifferentiableError, match="repeated"):
        tangent.grad(eigh_vectors)(a)
    # the eigenvalues alone are fine there
    np.testing.assert_allclose(tangent.grad(eigh_values)(a), np.diag([1.0, 2.0, 3.0]), atol=1e-12)


# --------------------------------------------------------------------- svd


def svd_values(a):
    s = np.linalg.svd(a, compute_uv=False)
    return np.sum(s ** 2 * np.array([1.0, 0.5]))


def svd_reduced(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.sum(np.abs(u[:, 0]) * s[0]) + np.sum(vh ** 2 * np.arange(6.0).reshape(2, 3)[:, :3] * 0.1) + np.sum(s)


def svd_tall(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.sum((u * s) @ vh * np.arange(6.0).reshape(3, 2)) + np.sum(u ** 2 * np.arange(6.0).reshape(3, 2))


def svd_square(a):
    u, s, vh = np.linalg.svd(a)
    return np.sum(u @ vh * np.arange(9.0).reshape(3, 3)) + np.sum(s ** 2)


def svdvals(a):
    return np.sum(np.log(np.linalg.svdvals(a)))


@pytest.mark.parametrize("f, a", [
    (svd_values, R(2, 3)), (svd_reduced, R(2, 3)), (svd_tall, R(3, 2)), (svd_square, R(3, 3)),
    (svdvals, R(3, 4)),
], ids=lambda x: getattr(x, "__name__", ""))
def test_svd(f, a):
    check(f, a)


def test_svd_full_matrices_refused():
    def f(a):
        u, s, vh = np.linalg.svd(a)
        return np.sum(u ** 2)

    with pytest.raises(tangent.NotDifferentiableError, match="full_matrices=False"):
        tangent.grad(f)(R(3, 2))


# ---------------------------------------------------------------------- qr


def qr_reduced(a):
    q, r = np.linalg.qr(a)
    return np.sum(q * np.arange(6.0).reshape(3, 2)) + np.sum(r ** 2 * np.array([[1.0, 2.0], [0.0, 3.0]]))


def qr_square_keyword(a):
    q, r = np.linalg.qr(a, mode="reduced")
    return np.sum(np.sin(q)) + np.sum(np.diagonal(r))


def qr_r_only(a):
    r = np.linalg.qr(a, mode="r")
    return np.sum(r * np.arange(6.0).reshape(2, 3).T[:2])


@pytest.mark.parametrize("f, a", [(qr_reduced, R(3, 2)), (qr_square_keyword, R(3, 3)), (qr_r_only, R(3, 2))],
                         ids=lambda x: getattr(x, "__name__", ""))
def test_qr(f, a):
    check(f, a)


def test_qr_wide_refused():
    with pytest.raises(tangent.NotDifferentiableError, match="wide"):
        tangent.grad(qr_square_keyword)(R(2, 3))


# ------------------------------------------------------------ pinv, lstsq


def pinv_tall(a):
    return np.sum(np.linalg.pinv(a) * np.arange(6.0).reshape(2, 3))


def pinv_wide(a):
    return np.sum(np.sin(np.linalg.pinv(a)))


def lstsq_x(a, b):
    x, res, rank, sv = np.linalg.lstsq(a, b, rcond=None)
    return np.sum(x ** 2)


def lstsq_all(a, b):
    x, res, rank, sv = np.linalg.lstsq(a, b)
    return np.sum(np.sin(x)) + np.sum(res) + np.sum(sv ** 2)


def lstsq_matrix(a, b):
    x, res, rank, sv = np.linalg.lstsq(a, b)
    return np.sum(x * np.arange(4.0).reshape(2, 2)) + np.sum(res * np.array([1.0, 2.0]))


def lstsq_wide(a, b):
    x = np.linalg.lstsq(a, b)[0]
    return np.sum(x ** 3)


@pytest.mark.parametrize("f, args", [
    (pinv_tall, (R(3, 2),)), (pinv_wide, (R(2, 3),)),
    (lstsq_x, (R(4, 2), R(4))), (lstsq_all, (R(4, 2), R(4))), (lstsq_matrix, (R(4, 2), R(4, 2))),
    (lstsq_wide, (R(2, 3), R(2))),
], ids=lambda x: getattr(x, "__name__", ""))
def test_pinv_lstsq(f, args):
    check(f, *args)


def test_lstsq_rank_deficient_refused():
    a = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]])
    with pytest.raises(tangent.NotDifferentiableError, match="rank-deficient"):
        tangent.grad(lstsq_x)(a, R(3))


def test_pinv_cutoff_refused():
    """A singular value that rcond drops makes pinv a truncated inverse,
    discontinuous in a: refused, not a wrong derivative."""
    def f(a):
        return np.sum(np.linalg.pinv(a, rcond=0.1) ** 2)

    a = np.diag([1.0, 0.05, 2.0])
    with pytest.raises(tangent.NotDifferentiableError, match="rank-deficient"):
        tangent.grad(f)(a)


def test_eigh_repeated_eigenvalues_forward_names_eigvalsh():
    a = np.diag([1.0, 1.0, 2.0])
    with pytest.raises(tangent.NotDifferentiableError, match="eigvalsh"):
        tangent.jvp(eigh_values)(a, R(3, 3))
    np.testing.assert_allclose(tangent.jvp(eigvalsh_upper)(a, np.eye(3)), 3 * (1 + 1 + 4), rtol=1e-12)


def test_svd_hermitian_refused():
    def f(a):
        return np.sum(np.linalg.svd(a, compute_uv=False, hermitian=True))

    with pytest.raises(tangent.NotDifferentiableError, match="hermitian"):
        tangent.grad(f)(SPD(3))
