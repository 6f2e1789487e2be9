"""Rules for NumPy's matrix functions: diag, triu, tril, kron, vdot, cross,
matrix_power and the factorisations of ``np.linalg`` (cholesky, eigh,
eigvalsh, svd, svdvals, qr, pinv, lstsq).

Contract. Each primitive has a reverse and a forward rule side by side; the
math lives in the ``grad_*``/``tangent_*`` helpers below, written in the
NumPy that Tangent differentiates (no writes into arrays), so a derivative
of a derivative differentiates the helper's own source (hvp, grad of grad).
Helpers that are plain transposes of a linear primitive get their rules from
``linear``/``bilinear`` instead.

Conventions (docs/linalg.md says more):

- A factorisation that reads one triangle of its argument (``cholesky`` reads
  the lower one, ``upper=True`` the upper one; ``eigh`` the ``UPLO`` one) is
  differentiated as the function NumPy computes: the gradient is zero on the
  triangle it ignores, and a tangent there has no effect. For a matrix that
  is symmetric by construction (``a = b @ b.T``) the chain rule through the
  construction gives the symmetric result.
- Derivatives of eigenvectors and singular vectors exist only where the
  eigen- or singular values are distinct: there the derivative raises
  ``NotDifferentiableError`` instead of returning inf or nan (eigenvalues
  alone, ``eigvalsh``/``svdvals``, have none of this restriction).
  Functions of the vectors should not depend on their signs (which NumPy
  picks arbitrarily): ``u * s @ vh``, ``v ** 2``, ``v @ v.T`` do not.
- ``svd(full_matrices=True)`` of a non-square matrix, ``qr`` of a wide matrix
  and ``qr(mode="complete")`` of a tall one (the extra columns are not
  determined by ``a``), and ``pinv``/``lstsq`` of a rank-deficient matrix (the
  pseudo-inverse is discontinuous there) raise ``NotDifferentiableError``.
"""

import numpy as np

from ..runtime import GradTuple, unbroadcast
from . import adjoint, bilinear, d, linear, nondifferentiable, tangent_rule
from .domain import NotDifferentiableError, refuse_if
from .numpy_rules import dense_grad, grad_diagonal, matrix_transpose, safe_divide

# =================================================================== helpers
# ------------------------------------------------------------ structure


def grad_diag(g, v, k=0):
    """Adjoint of ``np.diag(v, k)``: the k-th diagonal of ``g`` for a vector
    ``v``; ``g`` written on the k-th diagonal of zeros shaped like ``v`` for
    a matrix."""
    if np.ndim(v) == 1:
        return np.diagonal(g, k).copy()
    return grad_diagonal(g, v, k, 0, 1)


def eye_of(x):
    """The identity matrix of the size of ``x``'s last axis."""
    return np.eye(np.shape(x)[-1])


def identity_rows(x):
    """The identity matrix of the size of ``x``'s second-to-last axis."""
    return np.eye(np.shape(x)[-2])


def from_lower(a):
    """The symmetric matrix that has ``a``'s lower triangle (what a
    factorisation reading that triangle sees)."""
    return np.tril(a) + matrix_transpose(np.tril(a, -1))


def from_upper(a):
    """The symmetric matrix that has ``a``'s upper triangle."""
    return np.triu(a) + matrix_transpose(np.triu(a, 1))


def fold_lower(s):
    """Adjoint of ``from_lower``: ``s`` and its transpose added into the
    lower triangle (the diagonal once)."""
    return np.tril(s + matrix_transpose(s)) - s * eye_of(s)


def fold_upper(s):
    """Adjoint of ``from_upper``."""
    return np.triu(s + matrix_transpose(s)) - s * eye_of(s)


def symmetric_part(x):
    """(x + x^T) / 2 over the last two axes."""
    return 0.5 * (x + matrix_transpose(x))


def inverse_gaps(w):
    """F[..., i, j] = 1 / (w_j - w_i) off the diagonal, 0 on it."""
    gaps = w[..., None, :] - w[..., :, None]
    return safe_divide(1.0 - eye_of(w), gaps)


def check_distinct(w, used, what, hint="use only the values, or a function of the vectors invariant to their rotation"):
    """Raise when ``w`` has repeated values (along its last axis) and the
    derivative of the vectors, ``used``, is not zero."""
    gaps = w[..., None, :] - w[..., :, None]
    tied = np.any((gaps == 0) & (np.eye(np.shape(w)[-1]) == 0))
    refuse_if(bool(tied) and bool(np.any(used != 0)),
              f"{what} are repeated: the derivative of the vectors does not exist there ({hint})")


def check_full_rank(a, what, rcond=None, rtol=None):
    """Raise when the matrix (or any matrix of the stack) ``a`` is
    rank-deficient, or has a singular value that ``rcond``/``rtol`` (or
    NumPy's default cutoff) would drop."""
    s = np.linalg.svd(a, compute_uv=False)
    given = [t for t in (rcond, rtol) if t is not None and t is not np._NoValue and t > 0]
    cutoff = max(given + [1e-15, max(np.shape(a)[-2:]) * np.finfo(float).eps])
    refuse_if(bool(np.any(s <= cutoff * s[..., :1])),
              f"{what} of a rank-deficient matrix is not differentiable (it is discontinuous there)")


# --------------------------------------------------------------- products


def _kron_layout(a, b):
    """(ndim, a's shape and b's shape padded with leading 1s to it)."""
    nd = max(np.ndim(a), np.ndim(b))
    sa = (1,) * (nd - np.ndim(a)) + tuple(np.shape(a))
    sb = (1,) * (nd - np.ndim(b)) + tuple(np.shape(b))
    return nd, sa, sb


def _kron_blocks(g, sa, sb):
    """``g`` (a Kronecker product's adjoint) as an array of axes (a..., b...)."""
    nd = len(sa)
    interleaved = [n for pair in zip(sa, sb) for n in pair]
    order = list(range(0, 2 * nd, 2)) + list(range(1, 2 * nd, 2))
    return np.transpose(np.reshape(g, interleaved), order)


def grad_kron_lhs(g, a, b):
    """Adjoint of ``a`` in ``np.kron(a, b)``."""
    nd, sa, sb = _kron_layout(a, b)
    blocks = _kron_blocks(g, sa, sb)
    return np.reshape(np.tensordot(blocks, np.reshape(b, sb), axes=nd), np.shape(a))


def grad_kron_rhs(g, a, b):
    """Adjoint of ``b`` in ``np.kron(a, b)``."""
    nd, sa, sb = _kron_layout(a, b)
    blocks = _kron_blocks(g, sa, sb)
    axes = list(range(nd))
    return np.reshape(np.tensordot(np.reshape(a, sa), blocks, axes=(axes, axes)), np.shape(b))


def grad_vdot_lhs(g, a, b):
    """Adjoint of ``a`` in ``np.vdot(a, b) = sum(conj(a) b)``: conj(g b),
    shaped like a (docs/complex.md's convention; g b for real arrays)."""
    return np.reshape(np.conj(g * np.ravel(b)), np.shape(a))


def grad_vdot_rhs(g, a, b):
    """Adjoint of ``b`` in ``np.vdot(a, b)``: g conj(a)."""
    return np.reshape(g * np.conj(np.ravel(a)), np.shape(b))


def _cross_axes(axisa, axisb, axisc, axis):
    return (axis, axis, axis) if axis is not None else (axisa, axisb, axisc)


def grad_cross_lhs(g, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Adjoint of ``a`` in ``np.cross(a, b)`` (3-vectors): b x g, since
    <g, a x b> = <a, b x g>."""
    axisa, axisb, axisc = _cross_axes(axisa, axisb, axisc, axis)
    moved = np.cross(np.moveaxis(b, axisb, -1), np.moveaxis(g, axisc, -1))
    return np.moveaxis(unbroadcast(moved, np.moveaxis(a, axisa, -1)), -1, axisa)


def grad_cross_rhs(g, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Adjoint of ``b`` in ``np.cross(a, b)``: g x a."""
    axisa, axisb, axisc = _cross_axes(axisa, axisb, axisc, axis)
    moved = np.cross(np.moveaxis(g, axisc, -1), np.moveaxis(a, axisa, -1))
    return np.moveaxis(unbroadcast(moved, np.moveaxis(b, axisb, -1)), -1, axisb)


# ---------------------------------------------------------- matrix power


def _power_terms(g, a, n):
    """sum over k < n of a^k g a^(n-1-k): the tangent of a^n along g, and
    (with a transposed) its adjoint."""
    total = np.zeros(np.shape(a))
    for k in range(n):
        total = total + np.matmul(np.linalg.matrix_power(a, k), np.matmul(g, np.linalg.matrix_power(a, n - 1 - k)))
    return total


def grad_matrix_power(g, a, n):
    """Adjoint of ``np.linalg.matrix_power(a, n)`` (negative n through inv(a))."""
    if n == 0:
        return np.zeros(np.shape(a))
    if n > 0:
        return _power_terms(g, matrix_transpose(a), n)
    inv_t = matrix_transpose(np.linalg.inv(a))
    return -np.matmul(inv_t, np.matmul(_power_terms(g, inv_t, -n), inv_t))


def tangent_matrix_power(da, a, n):
    """Tangent of ``np.linalg.matrix_power(a, n)`` along ``da``."""
    if n == 0:
        return np.zeros(np.shape(a))
    if n > 0:
        return _power_terms(da, a, n)
    inv = np.linalg.inv(a)
    return _power_terms(-np.matmul(inv, np.matmul(da, inv)), inv, -n)


# ---------------------------------------------------------------- cholesky


def _half_lower(n):
    """The mask of Phi: the lower triangle, halved on the diagonal."""
    return np.tril(np.ones((n, n))) - 0.5 * np.eye(n)


def grad_cholesky(g, z, upper=False):
    """Adjoint of ``a`` in ``z = np.linalg.cholesky(a, upper=upper)``:
    L^-T sym(Phi(L^T g)) L^-1 folded onto the triangle NumPy reads."""
    low = matrix_transpose(z) if upper else z
    gl = matrix_transpose(g) if upper else g
    inner = symmetric_part(np.matmul(matrix_transpose(low), gl) * _half_lower(np.shape(z)[-1]))
    left = np.linalg.solve(matrix_transpose(low), inner)
    sym = matrix_transpose(np.linalg.solve(matrix_transpose(low), matrix_transpose(left)))
    return fold_upper(sym) if upper else fold_lower(sym)


def tangent_cholesky(da, z, upper=False):
    """Tangent of ``np.linalg.cholesky(a, upper=upper)``: L Phi(L^-1 da L^-T)."""
    low = matrix_transpose(z) if upper else z
    dsym = from_upper(da) if upper else from_lower(da)
    left = np.linalg.solve(low, dsym)
    inner = matrix_transpose(np.linalg.solve(low, matrix_transpose(left)))
    dlow = np.matmul(low, inner * _half_lower(np.shape(z)[-1]))
    return matrix_transpose(dlow) if upper else dlow


# -------------------------------------------------------------------- eigh


def grad_eigh_parts(gw, gv, w, v, UPLO="L"):
    """Adjoint of ``a`` in ``w, v = np.linalg.eigh(a, UPLO)`` from the
    adjoints of ``w`` and ``v``: V (diag(gw) + F o V^T gv) V^T, symmetrised
    and folded onto the triangle NumPy reads."""
    check_distinct(w, gv, "eigenvalues")
    vt = matrix_transpose(v)
    inner = gw[..., None, :] * eye_of(w) + inverse_gaps(w) * np.matmul(vt, gv)
    sym = symmetric_part(np.matmul(v, np.matmul(inner, vt)))
    return fold_lower(sym) if UPLO == "L" else fold_upper(sym)


def grad_eigh(g, z, UPLO="L"):
    """Adjoint of ``a`` in ``z = np.linalg.eigh(a, UPLO)`` (``g`` a pair
    whose missing parts are zero)."""
    return grad_eigh_parts(dense_grad(g[0], z[0]), dense_grad(g[1], z[1]), z[0], z[1], UPLO)


def tangent_eigh(da, z, UPLO="L"):
    """Tangent of ``np.linalg.eigh(a, UPLO)``: (diag(X), V (F o X)) with
    X = V^T da V."""
    w, v = z[0], z[1]
    dsym = from_lower(da) if UPLO == "L" else from_upper(da)
    x = np.matmul(matrix_transpose(v), np.matmul(dsym, v))
    check_distinct(w, x * (1.0 - eye_of(w)), "eigenvalues",
                   "forward mode differentiates the vectors whenever eigh returns them: "
                   "use np.linalg.eigvalsh for the values alone")
    return GradTuple((np.diagonal(x, axis1=-2, axis2=-1), np.matmul(v, inverse_gaps(w) * x)))


def grad_eigvalsh(g, a, UPLO="L"):
    """Adjoint of ``np.linalg.eigvalsh(a, UPLO)``: V diag(g) V^T, folded."""
    w, v = np.linalg.eigh(a, UPLO)
    return grad_eigh_parts(g, np.zeros(np.shape(v)), w, v, UPLO)


def tangent_eigvalsh(da, a, UPLO="L"):
    """Tangent of ``np.linalg.eigvalsh(a, UPLO)``: diag(V^T da V)."""
    v = np.linalg.eigh(a, UPLO)[1]
    dsym = from_lower(da) if UPLO == "L" else from_upper(da)
    return np.diagonal(np.matmul(matrix_transpose(v), np.matmul(dsym, v)), axis1=-2, axis2=-1)


# --------------------------------------------------------------------- svd


def check_svd(a, full_matrices, compute_uv, hermitian=False):
    """Refuse the SVDs whose vectors are not functions of ``a``, and
    ``hermitian=True`` (NumPy then factors one triangle by eigh)."""
    m, n = np.shape(a)[-2:]
    refuse_if(bool(hermitian), "np.linalg.svd(a, hermitian=True) is not differentiated; drop hermitian=True "
              "(or differentiate np.linalg.eigh)")
    refuse_if(bool(full_matrices) and bool(compute_uv) and m != n,
              "np.linalg.svd(a, full_matrices=True) of a non-square matrix: its extra singular vectors are "
              "not determined by a; pass full_matrices=False")


def grad_svd_parts(gu, gs, gvh, u, s, vh):
    """Adjoint of ``a`` in ``u, s, vh = svd(a, full_matrices=False)``
    (Townsend, 2016):
    U [(F o (U^T gu - gu^T U)) S + diag(gs) + S (F o (V^T gv - gv^T V))] V^T
    + (I - U U^T) gu S^-1 V^T + U S^-1 gv^T (I - V V^T), F_ij = 1/(s_j^2 - s_i^2)."""
    v, gv = matrix_transpose(vh), matrix_transpose(gvh)
    used = np.sum(np.abs(gu)) + np.sum(np.abs(gvh))
    check_distinct(s, used, "singular values")
    refuse_if(bool(np.any(s == 0)) and bool(used != 0),
              "a singular value is zero: the derivative of the singular vectors does not exist there")
    f = inverse_gaps(s * s)
    ut_gu = np.matmul(matrix_transpose(u), gu)
    vt_gv = np.matmul(vh, gv)
    inner = (f * (ut_gu - matrix_transpose(ut_gu)) * s[..., None, :] + gs[..., None, :] * eye_of(s)
             + s[..., :, None] * (f * (vt_gv - matrix_transpose(vt_gv))))
    core = np.matmul(u, np.matmul(inner, vh))
    inv_s = safe_divide(1.0, s)
    left = np.matmul(identity_rows(u) - np.matmul(u, matrix_transpose(u)), gu * inv_s[..., None, :])
    right = np.matmul(u, np.matmul(matrix_transpose(gv) * inv_s[..., :, None],
                                   identity_rows(v) - np.matmul(v, vh)))
    return core + np.matmul(left, vh) + right


def grad_svd(g, z, a, full_matrices=True, compute_uv=True, hermitian=False):
    """Adjoint of ``a`` in ``z = np.linalg.svd(a, full_matrices, compute_uv)``."""
    check_svd(a, full_matrices, compute_uv, hermitian)
    if not compute_uv:
        return grad_svdvals(g, a)
    return grad_svd_parts(dense_grad(g[0], z[0]), dense_grad(g[1], z[1]), dense_grad(g[2], z[2]), z[0], z[1], z[2])


def tangent_svd_parts(da, u, s, vh):
    """Tangents of (u, s, vh) of the reduced SVD along ``da``."""
    v = matrix_transpose(vh)
    dp = np.matmul(matrix_transpose(u), np.matmul(da, v))
    ds = np.diagonal(dp, axis1=-2, axis2=-1)
    used = np.abs(dp) * (1.0 - eye_of(s))
    check_distinct(s, used, "singular values",
                   "forward mode differentiates the vectors whenever svd returns them: "
                   "use np.linalg.svdvals for the values alone")
    f = inverse_gaps(s * s)
    inv_s = safe_divide(1.0, s)
    sdiag = s[..., :, None] * eye_of(s)
    du = (np.matmul(u, f * (np.matmul(dp, sdiag) + np.matmul(sdiag, matrix_transpose(dp))))
          + np.matmul(identity_rows(u) - np.matmul(u, matrix_transpose(u)), np.matmul(da, v)) * inv_s[..., None, :])
    dv = (np.matmul(v, f * (np.matmul(sdiag, dp) + np.matmul(matrix_transpose(dp), sdiag)))
          + np.matmul(identity_rows(v) - np.matmul(v, vh), np.matmul(matrix_transpose(da), u)) * inv_s[..., None, :])
    return du, ds, matrix_transpose(dv)


def tangent_svd(da, z, a, full_matrices=True, compute_uv=True, hermitian=False):
    """Tangent of ``np.linalg.svd(a, full_matrices, compute_uv)``."""
    check_svd(a, full_matrices, compute_uv, hermitian)
    if not compute_uv:
        return tangent_svdvals(da, a)
    du, ds, dvh = tangent_svd_parts(da, z[0], z[1], z[2])
    return GradTuple((du, ds, dvh))


def grad_svdvals(g, a):
    """Adjoint of the singular values of ``a``: U diag(g) V^T."""
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.matmul(u * g[..., None, :], vh)


def tangent_svdvals(da, a):
    """Tangent of the singular values of ``a``: diag(U^T da V)."""
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.diagonal(np.matmul(matrix_transpose(u), np.matmul(da, matrix_transpose(vh))), axis1=-2, axis2=-1)


# ---------------------------------------------------------------------- qr


def check_qr(a, mode):
    """Refuse the QR decompositions whose factors are not functions of ``a``."""
    m, n = np.shape(a)[-2:]
    refuse_if(mode not in ("reduced", "complete", "r"),
              f"np.linalg.qr(a, mode={mode!r}) is not differentiable; use mode='reduced'")
    refuse_if(m < n, "np.linalg.qr of a wide matrix (more columns than rows) is not differentiated; "
              "factor its transpose, or its first square block")
    refuse_if(mode == "complete" and m != n,
              "np.linalg.qr(a, mode='complete') of a tall matrix: the extra columns of q are not determined by a; "
              "use mode='reduced'")


def grad_qr_parts(gq, gr, q, r):
    """Adjoint of ``a`` in ``q, r = qr(a)`` (a tall or square):
    (gq + Q copyltu(M)) R^-T with M = R gr^T - gq^T Q."""
    m = np.matmul(r, matrix_transpose(gr)) - np.matmul(matrix_transpose(gq), q)
    copyltu = np.tril(m) + matrix_transpose(np.tril(m, -1))
    b = gq + np.matmul(q, copyltu)
    return matrix_transpose(np.linalg.solve(r, matrix_transpose(b)))


def grad_qr(g, z, a, mode="reduced"):
    """Adjoint of ``a`` in ``z = np.linalg.qr(a, mode)``."""
    check_qr(a, mode)
    if mode == "r":
        return grad_qr_parts(np.zeros(np.shape(a)), g, np.linalg.qr(a)[0], z)
    return grad_qr_parts(dense_grad(g[0], z[0]), dense_grad(g[1], z[1]), z[0], z[1])


def tangent_qr_parts(da, q, r):
    """Tangents of (q, r) along ``da``: with X = Q^T da R^-1 and
    W = X - (tril(X, -1) - tril(X, -1)^T): dR = W R, dQ = da R^-1 - Q W."""
    da_rinv = matrix_transpose(np.linalg.solve(matrix_transpose(r), matrix_transpose(da)))
    x = np.matmul(matrix_transpose(q), da_rinv)
    low = np.tril(x, -1)
    w = x - (low - matrix_transpose(low))
    return da_rinv - np.matmul(q, w), np.matmul(w, r)


def tangent_qr(da, z, a, mode="reduced"):
    """Tangent of ``np.linalg.qr(a, mode)``."""
    check_qr(a, mode)
    if mode == "r":
        return tangent_qr_parts(da, np.linalg.qr(a)[0], z)[1]
    dq, dr = tangent_qr_parts(da, z[0], z[1])
    return GradTuple((dq, dr))


# ------------------------------------------------------------ pinv, lstsq


def check_pinv(a, hermitian, rcond=None, rtol=None):
    refuse_if(bool(hermitian), "np.linalg.pinv(a, hermitian=True) is not differentiated; drop hermitian=True")
    check_full_rank(a, "np.linalg.pinv", rcond, rtol)


def grad_pinv(g, z, a, hermitian=False, rcond=None, rtol=None):
    """Adjoint of ``a`` in ``z = pinv(a)`` (constant rank):
    -P^T g P^T + (I - A P) g^T P P^T + P^T P g^T (I - P A)."""
    check_pinv(a, hermitian, rcond, rtol)
    pt, gt = matrix_transpose(z), matrix_transpose(g)
    rows = identity_rows(a) - np.matmul(a, z)
    cols = eye_of(a) - np.matmul(z, a)
    return (-np.matmul(pt, np.matmul(g, pt)) + np.matmul(rows, np.matmul(gt, np.matmul(z, pt)))
            + np.matmul(pt, np.matmul(z, np.matmul(gt, cols))))


def tangent_pinv(da, z, a, hermitian=False, rcond=None, rtol=None):
    """Tangent of ``pinv(a)`` along ``da`` (Golub and Pereyra)."""
    check_pinv(a, hermitian, rcond, rtol)
    pt, dat = matrix_transpose(z), matrix_transpose(da)
    rows = identity_rows(a) - np.matmul(a, z)
    cols = eye_of(a) - np.matmul(z, a)
    return (-np.matmul(z, np.matmul(da, z)) + np.matmul(z, np.matmul(pt, np.matmul(dat, rows)))
            + np.matmul(cols, np.matmul(dat, np.matmul(pt, z))))


def _columns(x):
    """A vector as a one-column matrix; a matrix as it is."""
    return np.reshape(x, (np.shape(x)[0], -1))


def grad_lstsq(g, z, a, b, rcond=None):
    """Adjoints of ``a`` and ``b`` in ``z = np.linalg.lstsq(a, b)``: through
    x = pinv(a) b, the residuals sum((b - a x)^2) (whose derivative in x
    vanishes: a^T (b - a x) = 0) and the singular values."""
    check_full_rank(a, "np.linalg.lstsq", rcond)
    x, res = z[0], z[1]
    p = np.linalg.pinv(a)
    gx = _columns(dense_grad(g[0], x))
    b2, x2 = _columns(b), _columns(x)
    ga = grad_pinv(np.matmul(gx, matrix_transpose(b2)), p, a) + grad_svdvals(dense_grad(g[3], z[3]), a)
    gb = np.matmul(matrix_transpose(p), gx)
    if np.size(res) > 0:
        weights = 2.0 * (b2 - np.matmul(a, x2)) * dense_grad(g[1], res)
        ga = ga - np.matmul(weights, matrix_transpose(x2))
        gb = gb + weights
    return ga, np.reshape(gb, np.shape(b))


def tangent_lstsq(da, db, z, a, b, rcond=None):
    """Tangent of ``np.linalg.lstsq(a, b)`` along ``da`` (with ``db`` None)
    or ``db`` (with ``da`` None)."""
    check_full_rank(a, "np.linalg.lstsq", rcond)
    x, res = z[0], z[1]
    p = np.linalg.pinv(a)
    b2, x2 = _columns(b), _columns(x)
    if da is None:
        dx = np.matmul(p, _columns(db))
        change = _columns(db)
        dsv = np.zeros(np.shape(z[3]))
    else:
        dx = np.matmul(tangent_pinv(da, p, a), b2)
        change = -np.matmul(da, x2)
        dsv = tangent_svdvals(da, a)
    dres = np.zeros(np.shape(res))
    if np.size(res) > 0:
        dres = 2.0 * np.sum((b2 - np.matmul(a, x2)) * change, axis=0)
    return GradTuple((np.reshape(dx, np.shape(x)), dres, np.zeros(()), dsv))


# ================================================================== rules
# ------------------------------------------------------------ structure


@linear(np.diag, transpose=grad_diag)
def diag(z, v, k=0):
    return np.diag(v, k)


@linear(np.tril)
def tril(z, m, k=0):
    return np.tril(m, k), np.tril(d[z], k)


@linear(np.triu)
def triu(z, m, k=0):
    return np.triu(m, k), np.triu(d[z], k)


@bilinear(np.kron, lhs=grad_kron_lhs, rhs=grad_kron_rhs)
def kron(z, a, b):
    return np.kron(a, b)


@bilinear(np.vdot, lhs=grad_vdot_lhs, rhs=grad_vdot_rhs)
def vdot(z, a, b):
    return np.vdot(a, b)


@bilinear(np.cross, lhs=grad_cross_lhs, rhs=grad_cross_rhs)
def cross(z, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    return np.cross(a, b, axisa, axisb, axisc, axis)


@adjoint(np.linalg.matrix_power)
def matrix_power(z, a, n):
    d[a] = grad_matrix_power(d[z], a, n)


@tangent_rule(np.linalg.matrix_power)
def t_matrix_power(z, a, n):
    d[z] = tangent_matrix_power(d[a], a, n)


# ---------------------------------------------------------- factorisations


@adjoint(np.linalg.cholesky)
def cholesky(z, a, upper=False):
    d[a] = grad_cholesky(d[z], z, upper)


@tangent_rule(np.linalg.cholesky)
def t_cholesky(z, a, upper=False):
    d[z] = tangent_cholesky(d[a], z, upper)


@adjoint(np.linalg.eigh)
def eigh(z, a, UPLO="L"):
    d[a] = grad_eigh(d[z], z, UPLO)


@tangent_rule(np.linalg.eigh)
def t_eigh(z, a, UPLO="L"):
    d[z] = tangent_eigh(d[a], z, UPLO)


@adjoint(np.linalg.eigvalsh)
def eigvalsh(z, a, UPLO="L"):
    d[a] = grad_eigvalsh(d[z], a, UPLO)


@tangent_rule(np.linalg.eigvalsh)
def t_eigvalsh(z, a, UPLO="L"):
    d[z] = tangent_eigvalsh(d[a], a, UPLO)


@adjoint(np.linalg.svd)
def svd(z, a, full_matrices=True, compute_uv=True, hermitian=False):
    d[a] = grad_svd(d[z], z, a, full_matrices, compute_uv, hermitian)


@tangent_rule(np.linalg.svd)
def t_svd(z, a, full_matrices=True, compute_uv=True, hermitian=False):
    d[z] = tangent_svd(d[a], z, a, full_matrices, compute_uv, hermitian)


@adjoint(np.linalg.svdvals)
def svdvals(z, x):
    d[x] = grad_svdvals(d[z], x)


@tangent_rule(np.linalg.svdvals)
def t_svdvals(z, x):
    d[z] = tangent_svdvals(d[x], x)


@adjoint(np.linalg.qr)
def qr(z, a, mode="reduced"):
    d[a] = grad_qr(d[z], z, a, mode)


@tangent_rule(np.linalg.qr)
def t_qr(z, a, mode="reduced"):
    d[z] = tangent_qr(d[a], z, a, mode)


@adjoint(np.linalg.pinv)
def pinv(z, a, rcond=None, hermitian=False, rtol=None):
    d[a] = grad_pinv(d[z], z, a, hermitian, rcond, rtol)


@tangent_rule(np.linalg.pinv)
def t_pinv(z, a, rcond=None, hermitian=False, rtol=None):
    d[z] = tangent_pinv(d[a], z, a, hermitian, rcond, rtol)


@adjoint(np.linalg.lstsq)
def lstsq(z, a, b, rcond=None):
    grads = grad_lstsq(d[z], z, a, b, rcond)
    d[a] = grads[0]
    d[b] = grads[1]


@tangent_rule(np.linalg.lstsq)
def t_lstsq(z, a, b, rcond=None):
    d[z] = tangent_lstsq(d[a], None, z, a, b, rcond) + tangent_lstsq(None, d[b], z, a, b, rcond)


nondifferentiable(np.linalg.matrix_rank, check_distinct, check_full_rank, check_svd, check_qr, check_pinv,
                  eye_of, identity_rows, _half_lower)

__all__ = ["NotDifferentiableError"]
