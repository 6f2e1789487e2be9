"""More NumPy rules (tangent/rules/numpy_more_rules.py) against central
finite differences in float64: reverse, forward and second order (hvp and
grad of grad) through ``tangent.testing.check_grads``, with their keyword
arguments, and the refusals of options without a derivative."""

import numpy as np
import pytest

import tangent
from tangent.testing import check_grads

RNG = np.random.default_rng(4242)


def R(*shape):
    return RNG.standard_normal(shape)


def check(f, *args, **kw):
    check_grads(f, *args, modes=("reverse", "forward"), order=2, **kw)


W6 = np.arange(6.0).reshape(2, 3) - 2.0


def cumprod_flat(a):
    return np.sum(np.cumprod(a) * np.arange(6.0))


def cumprod_axis(a):
    return np.sum(np.cumprod(a, axis=0) * W6) + np.sum(np.sin(a.cumprod(axis=1)))


def pad_constant(a):
    return np.sum(np.pad(a, 1) ** 2 * np.arange(20.0).reshape(4, 5))


def pad_modes(a):
    total = 0.0
    for mode in ("edge", "reflect", "symmetric", "wrap"):
        total = total + np.sum(np.sin(np.pad(a, ((1, 2), (2, 1)), mode=mode)) * np.arange(30.0).reshape(5, 6))
    return total


def pad_value(a, c):
    return np.sum(np.pad(a, (2, 1), mode="constant", constant_values=c) ** 2 * np.arange(9.0))


def take_flat(a):
    return np.sum(np.take(a, [0, 5, 5, 2]) ** 2 * np.array([1.0, 2.0, 3.0, 4.0]))


def take_axis(a):
    return np.sum(np.tanh(np.take(a, np.array([2, 0, 2]), axis=1)) * np.arange(6.0).reshape(2, 3))


def take_modes(a):
    return np.sum(np.take(a, [-1, 4, 7], axis=1, mode="wrap") ** 2) + np.sum(a.take([0, 9], mode="clip") ** 3)


def take_along(a):
    idx = np.array([[2, 0, 0], [1, 1, 2]])
    return np.sum(np.take_along_axis(a, idx, axis=1) ** 2 * W6) + np.sum(np.take_along_axis(a, np.array([[1, 0, 1]]), 0))


def split_sections(a):
    p, q, r = np.split(a, 3, axis=1)
    return np.sum(p * q) + np.sum(np.sin(r))


def split_indices(a):
    parts = np.array_split(a, [1, 4])
    return np.sum(parts[0] ** 2) + np.sum(parts[2] * np.arange(2.0))


def diff_plain(a):
    return np.sum(np.diff(a) ** 2 * np.arange(5.0))


def diff_keywords(a):
    return np.sum(np.sin(np.diff(a, n=2, axis=0)) * np.arange(3.0)) + np.sum(np.diff(a, axis=-1) ** 3)


def diff_ends(a, c):
    return np.sum(np.diff(a, prepend=c, append=2.0 * c) ** 2 * np.arange(7.0))


def convolve_full(a, v):
    return np.sum(np.convolve(a, v) ** 2 * np.arange(7.0))


def convolve_modes(a, v):
    return np.sum(np.convolve(a, v, mode="same") * np.arange(5.0)) + np.sum(np.convolve(v, a, "valid") ** 2)


def sinc(x):
    return np.sum(np.sinc(x) * np.arange(5.0))


def median_odd(a):
    return np.median(a) ** 2


def median_axis(a):
    return np.sum(np.median(a, axis=0) * np.array([1.0, -2.0, 3.0])) + np.sum(np.median(a, axis=1, keepdims=True) ** 2)


def nan_reductions(a):
    x = np.where(a > 1.0, np.nan, a)
    return np.nansum(x ** 2) + np.sum(np.nanmean(x, axis=0) * np.array([1.0, 2.0, 3.0])) + np.sum(
        np.nansum(x, axis=1, keepdims=True) ** 2)


def average_plain(a):
    return np.average(a) ** 2 + np.sum(np.average(a, axis=1) ** 2)


def average_weights(a, w):
    return np.sum(np.average(a, axis=1, weights=w) ** 2) + np.average(a, weights=a * a + 1.0)


def average_keepdims(a, w):
    return np.sum(np.average(a, axis=0, weights=w, keepdims=True) * np.array([[1.0, 2.0, 3.0]]))


def real_parts(x):
    return np.sum(np.real(x) * np.imag(x + 1.0) + np.conj(x) ** 2) + np.sum(x.real)


P23 = RNG.uniform(0.5, 2.0, (2, 3))


@pytest.mark.parametrize("f, args", [
    (cumprod_flat, (R(2, 3),)),
    (cumprod_flat, (np.array([[0.5, 0.0, 2.0], [1.5, 0.0, -1.0]]),)),
    (cumprod_axis, (R(2, 3),)),
    (pad_constant, (R(2, 3),)),
    (pad_modes, (R(2, 3),)),
    (pad_value, (R(6), 0.7)),
    (take_flat, (R(2, 3),)),
    (take_axis, (R(2, 3),)),
    (take_modes, (R(2, 3),)),
    (take_along, (R(2, 3),)),
    (split_sections, (R(2, 6),)),
    (split_indices, (R(6),)),
    (diff_plain, (R(6),)),
    (diff_keywords, (R(5, 3),)),
    (diff_ends, (R(6), 0.3)),
    (convolve_full, (R(4), R(4))),
    (convolve_modes, (R(5), R(2))),
    (sinc, (np.array([-1.3, 0.0, 2e-4, 0.4, 2.5]),)),
    (median_odd, (R(5),)),
    (median_odd, (R(2, 3),)),
    (median_axis, (R(4, 3),)),
    (nan_reductions, (R(3, 3),)),
    (average_plain, (R(2, 3),)),
    (average_weights, (R(2, 3), RNG.uniform(0.5, 2.0, 3))),
    (average_keepdims, (R(2, 3), P23)),
    (real_parts, (R(2, 3),)),
], ids=lambda x: getattr(x, "__name__", ""))
def test_rule(f, args):
    check(f, *args)


def test_pad_mode_without_derivative_refused():
    def f(a):
        return np.sum(np.pad(a, 1, mode="maximum"))

    with pytest.raises(tangent.NotDifferentiableError, match="maximum"):
        tangent.grad(f)(R(3))


def test_average_returned_refused():
    def f(a):
        avg, total = np.average(a, returned=True)
        return avg

    with pytest.raises(tangent.TangentError):
        tangent.grad(f)(R(3))


# ------------------------------------------------------------ complex values
# The convention (docs/complex.md): for a real-valued f of z = x + iy the
# gradient is df/dx - i df/dy, and a tangent is a complex direction.


def _fd_complex(f, z, eps=1e-6):
    """df/dx - i df/dy at each element of z, by central differences."""
    out = np.zeros(z.shape, dtype=complex)
    for k in np.ndindex(z.shape):
        e = np.zeros(z.shape, dtype=complex)
        e[k] = eps
        dx = (f(z + e) - f(z - e)) / (2 * eps)
        dy = (f(z + 1j * e) - f(z - 1j * e)) / (2 * eps)
        out[k] = dx - 1j * dy
    return out


def c_abs(z):
    return np.sum(np.abs(z)) + abs(z[0]) ** 2


def c_real_imag(z):
    return np.sum(np.real(z) * np.imag(z) + np.real(z * z)) + np.sum(z.imag ** 2)


def c_conj(z):
    return np.sum(np.real(z * np.conj(z))) + np.sum(np.imag(np.conj(z) * np.exp(z)))


def c_mixed(z):
    w = np.exp(1j * z) * z
    return np.sum(np.abs(w) ** 2) + np.sum(np.real(np.conj(w) * np.sin(z)))


def c_vdot_convolve(z):
    w = np.array([0.5 - 1.0j, 2.0 + 0.3j, -1.0j])
    return np.real(np.vdot(z, w) * np.vdot(w, z * z)) + np.sum(np.abs(np.convolve(z, w, "same")) ** 2)


@pytest.mark.parametrize("f", [c_abs, c_real_imag, c_conj, c_mixed, c_vdot_convolve], ids=lambda f: f.__name__)
def test_complex_convention(f):
    z = R(3) + 1j * R(3)
    g = tangent.grad(f)(z)
    assert g.dtype == np.complex128
    np.testing.assert_allclose(g, _fd_complex(f, z), rtol=1e-6, atol=1e-7)
    v = R(3) + 1j * R(3)
    eps = 1e-6
    np.testing.assert_allclose(tangent.jvp(f)(z, v), (f(z + eps * v) - f(z - eps * v)) / (2 * eps), rtol=1e-6)
    # a first-order change is Re(sum(gradient * dz))
    np.testing.assert_allclose(np.real(np.sum(g * v)), tangent.jvp(f)(z, v), rtol=1e-10)


def test_abs_of_real_values_unchanged():
    x = np.array([-1.5, 0.5, 2.0])
    np.testing.assert_array_equal(tangent.grad(lambda_free_abs)(x), np.sign(x))


def lambda_free_abs(x):
    return np.sum(np.abs(x))


# ------------------------------------------------------------ shape rules


@pytest.mark.parametrize("fn, args, kwargs", [
    (np.sinc, (np.ones((2, 3)),), {}), (np.real, (np.ones(4),), {}), (np.tril, (np.ones((3, 4)),), {"k": 1}),
    (np.triu, (np.ones((2, 3, 3)), -1), {}), (np.nansum, (np.ones((2, 3)),), {"axis": 1}),
    (np.nanmean, (np.ones((2, 3)), 0), {"keepdims": True}), (np.median, (np.ones((2, 3)),), {}),
], ids=lambda x: getattr(x, "__name__", ""))
def test_shape_rules_match_numpy(fn, args, kwargs):
    from tangent.rules import numpy_shapes  # noqa: F401 (declares the rules)
    from tangent.rules.shape_values import Array, Static
    from tangent.shapes import rule_for

    values = [Array(np.shape(a)) if isinstance(a, np.ndarray) else Static(a) for a in args]
    keywords = {k: Static(v) for k, v in kwargs.items()}
    got = rule_for(fn)(fn, *values, **keywords)
    assert tuple(got) == np.shape(fn(*args, **kwargs))
