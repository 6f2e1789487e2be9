"""Rules for ``scipy.linalg``: cholesky, cho_solve, solve_triangular, expm.
Loaded by ``scipy_rules`` (skipped without SciPy).

Contract: as in ``linalg_rules`` (whose conventions these follow: a function
that reads one triangle of a matrix is differentiated as computed, its
gradient zero on the other triangle), with the math in helpers written in
differentiable NumPy and SciPy, so that second derivatives differentiate the
helpers' source. ``expm``'s derivative is the Frechet derivative, computed
as a block of the exponential of [[A, E], [0, A]] (so it has derivatives of
every order through ``expm``'s own rule).
"""

import numpy as np
import scipy.linalg as sl

from . import adjoint, d, linear, tangent_rule
from .linalg_rules import grad_cholesky, tangent_cholesky
from .numpy_rules import matrix_transpose, piece_grads, pieces_of

# =================================================================== helpers


def _columns(x):
    """A vector as a one-column matrix; a matrix as it is."""
    return np.reshape(x, (np.shape(x)[0], -1))


def _triangle(a, lower, unit_diagonal=False):
    """The triangle of ``a`` that a triangular solve reads (without the
    diagonal when it is taken as ones)."""
    if lower:
        return np.tril(a, -1) if unit_diagonal else np.tril(a)
    return np.triu(a, 1) if unit_diagonal else np.triu(a)


def grad_solve_triangular_b(g, a, b, trans=0, lower=False, unit_diagonal=False):
    """Adjoint of ``b`` in ``solve_triangular(a, b, trans, lower)``: the solve
    with the transposed triangle."""
    back = 1 if trans in (0, "N") else 0
    return sl.solve_triangular(a, g, trans=back, lower=lower, unit_diagonal=unit_diagonal)


def grad_solve_triangular_a(g, z, a, b, trans=0, lower=False, unit_diagonal=False):
    """Adjoint of ``a`` in ``z = solve_triangular(a, b, trans, lower)``:
    -gb z^T (or -z gb^T for the transposed solve), on the triangle read."""
    gb = _columns(grad_solve_triangular_b(g, a, b, trans, lower, unit_diagonal))
    x = _columns(z)
    if trans in (0, "N"):
        full = -np.matmul(gb, matrix_transpose(x))
    else:
        full = -np.matmul(x, matrix_transpose(gb))
    return _triangle(full, lower, unit_diagonal)


def tangent_solve_triangular(da, db, z, a, b, trans=0, lower=False, unit_diagonal=False):
    """Tangent of ``z = solve_triangular(a, b, ...)`` along ``da`` (with
    ``db`` None) or ``db`` (with ``da`` None)."""
    if da is None:
        return sl.solve_triangular(a, db, trans=trans, lower=lower, unit_diagonal=unit_diagonal)
    dt = _triangle(da, lower, unit_diagonal)
    dt = dt if trans in (0, "N") else matrix_transpose(dt)
    change = np.reshape(np.matmul(dt, _columns(z)), np.shape(z))
    return -sl.solve_triangular(a, change, trans=trans, lower=lower, unit_diagonal=unit_diagonal)


def grad_cho_solve(g, z, c_and_lower, b):
    """Adjoints of the factor ``c`` and of ``b`` in ``z = cho_solve((c,
    lower), b)``: gb = A^-1 g, gA = -gb z^T, and the factor's from gA
    (A = L L^T: gL = (gA + gA^T) L on the triangle read)."""
    c, lower = c_and_lower[0], c_and_lower[1]
    gb = sl.cho_solve((c, lower), g)
    ga = -np.matmul(_columns(gb), matrix_transpose(_columns(z)))
    ga = ga + matrix_transpose(ga)
    if lower:
        gc = np.tril(np.matmul(ga, np.tril(c)))
    else:
        gc = np.triu(np.matmul(np.triu(c), ga))
    return gc, gb


def factor_pair(gc, like):
    """The adjoint of the pair ``(c, lower)`` whose factor's adjoint is ``gc``."""
    return pieces_of([gc, 0.0], like)


def tangent_cho_solve(dc, db, z, c_and_lower, b):
    """Tangent of ``z = cho_solve((c, lower), b)`` along the factor's
    tangent ``dc`` (with ``db`` None) or ``db`` (with ``dc`` None)."""
    c, lower = c_and_lower[0], c_and_lower[1]
    if dc is None:
        return sl.cho_solve((c, lower), db)
    dfac = dc[0]
    if lower:
        dl, low = np.tril(dfac), np.tril(c)
        da = np.matmul(dl, matrix_transpose(low)) + np.matmul(low, matrix_transpose(dl))
    else:
        du, up = np.triu(dfac), np.triu(c)
        da = np.matmul(matrix_transpose(du), up) + np.matmul(matrix_transpose(up), du)
    change = np.reshape(np.matmul(da, _columns(z)), np.shape(z))
    return -sl.cho_solve((c, lower), change)


def expm_frechet_block(a, e):
    """The Frechet derivative of expm at ``a`` along ``e``: the upper right
    block of expm([[a, e], [0, a]])."""
    n = np.shape(a)[-1]
    top = np.concatenate([a, e], axis=-1)
    bottom = np.concatenate([np.zeros(np.shape(a)), a], axis=-1)
    return sl.expm(np.concatenate([top, bottom], axis=-2))[..., :n, n:]


# ================================================================== rules


@adjoint(sl.cholesky)
def cholesky(z, a, lower=False, overwrite_a=False, check_finite=True):
    d[a] = grad_cholesky(d[z], z, not lower)


@tangent_rule(sl.cholesky)
def t_cholesky(z, a, lower=False, overwrite_a=False, check_finite=True):
    d[z] = tangent_cholesky(d[a], z, not lower)


@adjoint(sl.solve_triangular)
def solve_triangular(z, a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False, check_finite=True):
    d[a] = grad_solve_triangular_a(d[z], z, a, b, trans, lower, unit_diagonal)
    d[b] = grad_solve_triangular_b(d[z], a, b, trans, lower, unit_diagonal)


@tangent_rule(sl.solve_triangular)
def t_solve_triangular(z, a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False, check_finite=True):
    d[z] = (tangent_solve_triangular(d[a], None, z, a, b, trans, lower, unit_diagonal)
            + tangent_solve_triangular(None, d[b], z, a, b, trans, lower, unit_diagonal))


@adjoint(sl.cho_solve)
def cho_solve(z, c_and_lower, b, overwrite_b=False, check_finite=True):
    grads = grad_cho_solve(d[z], z, c_and_lower, b)
    d[c_and_lower] = factor_pair(grads[0], c_and_lower)
    d[b] = grads[1]


@tangent_rule(sl.cho_solve)
def t_cho_solve(z, c_and_lower, b, overwrite_b=False, check_finite=True):
    d[z] = tangent_cho_solve(d[c_and_lower], None, z, c_and_lower, b) + tangent_cho_solve(None, d[b], z, c_and_lower, b)


@adjoint(sl.expm)
def expm(z, A):
    d[A] = expm_frechet_block(matrix_transpose(A), d[z])


@tangent_rule(sl.expm)
def t_expm(z, A):
    d[z] = expm_frechet_block(A, d[A])


@linear(factor_pair)
def l_factor_pair(z, gc, like):
    return factor_pair(gc, like), piece_grads(d[z], like)[0]
