"""NumPy and SciPy derivative rules against central finite differences.

Each case is a user function returning a scalar; ``check`` compares
``tangent.grad`` (reverse rules) with finite differences in float64, then
``tangent.jvp`` (forward rules) with the checked gradient along a random
direction, and ``tangent.hvp`` (forward over reverse, i.e. the forward rules
of the helpers that gradients call) and ``tangent.grad`` of a scalar function
of the gradient (reverse over reverse, i.e. the reverse rules of those
helpers) with differences of the gradient. Most
functions come from small factories (closures over the primitive and its
constant arguments) so that a new case is one line in a parametrize table.
Inputs are random with a fixed seed and kept away from nondifferentiable
points.
"""

import zlib

import numpy as np
import pytest

import tangent
from tests.utils import check_grad

try:
    import scipy.special as sp
except ImportError:  # pragma: no cover - scipy is a test dependency
    sp = None

needs_scipy = pytest.mark.skipif(sp is None, reason="scipy is not installed")

# ------------------------------------------------------------------ inputs


RNG = np.random.default_rng(20240611)


@pytest.fixture(autouse=True)
def _reseed(request):
    """Values drawn inside a test depend only on the test, not on which
    tests ran before it (parametrize tables are drawn once, at import)."""
    global RNG
    RNG = np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


def R(*shape):
    """Standard normal values (distinct, so max/min have no ties)."""
    return RNG.standard_normal(shape)


def P(*shape):
    """Positive values away from zero."""
    return RNG.uniform(0.5, 2.0, shape)


def U(*shape):
    """Values inside (-1, 1), away from the ends."""
    return RNG.uniform(-0.8, 0.8, shape)


def G(*shape):
    """Values greater than 1 (arccosh)."""
    return RNG.uniform(1.2, 3.0, shape)


def SPD(n, *batch):
    """Well-conditioned matrices (diagonally dominant)."""
    return RNG.standard_normal(batch + (n, n)) * 0.5 + 3 * np.eye(n)


def check(f, *args, wrt=(0,), second_order=True, **tolerances):
    """Reverse mode against finite differences, forward mode against reverse
    (jvp(v) must equal <grad, v> for a random direction v), and, when
    ``second_order``, forward over reverse and reverse over reverse against
    differences of the gradient."""
    wrt = (wrt,) if isinstance(wrt, int) else tuple(wrt)
    grads = check_grad(f, *args, wrt=wrt, **tolerances)
    grads = grads if len(wrt) > 1 else (grads,)
    directions = [float(R()) if isinstance(args[i], float) else R(*np.shape(args[i])) for i in wrt]
    got = tangent.jvp(f, wrt=wrt)(*args, *directions)
    expected = sum(np.sum(g * v) for g, v in zip(grads, directions))
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-9)
    if second_order:
        check_hvp(f, *args, wrt=wrt[0])
        check_grad_of_grad(f, *args, wrt=wrt[0])
    return grads[0] if len(wrt) == 1 else grads


def gradient_along(gradient, args, wrt, v, eps=1e-6):
    """Central difference of ``gradient`` along ``v`` in argument ``wrt``: H v."""
    plus, minus = list(args), list(args)
    plus[wrt] = args[wrt] + eps * v
    minus[wrt] = args[wrt] - eps * v
    return (np.asarray(gradient(*plus)) - np.asarray(gradient(*minus))) / (2 * eps)


def check_hvp(f, *args, wrt=0):
    """Forward over reverse (the helpers' forward rules) against central
    differences of the gradient along a random direction."""
    args = [a if isinstance(a, float) else np.asarray(a, dtype=float) for a in args]
    v = float(R()) if isinstance(args[wrt], float) else R(*np.shape(args[wrt]))
    got = tangent.hvp(f, wrt=wrt)(*args, v)
    assert np.shape(got) == np.shape(args[wrt])
    expected = gradient_along(tangent.grad(f, wrt=wrt), args, wrt, v)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def of_gradient(gradient, w, n):
    """The scalar ``sum(gradient(*args) * w)`` of ``n`` arguments (Tangent
    needs source, so one def per arity)."""
    if n == 1:
        def g(a):
            return np.sum(gradient(a) * w)
    elif n == 2:
        def g(a, b):
            return np.sum(gradient(a, b) * w)
    elif n == 3:
        def g(a, b, c):
            return np.sum(gradient(a, b, c) * w)
    else:
        def g(a, b, c, e):
            return np.sum(gradient(a, b, c, e) * w)
    return g


def check_grad_of_grad(f, *args, wrt=0):
    """Reverse over reverse (the helpers' reverse rules): the gradient of
    x -> <grad f(x), w> is H w, against central differences of the gradient
    along w (H is symmetric)."""
    args = [a if isinstance(a, float) else np.asarray(a, dtype=float) for a in args]
    gradient = tangent.grad(f, wrt=wrt)
    w = float(R()) if isinstance(args[wrt], float) else R(*np.shape(args[wrt]))
    got = tangent.grad(of_gradient(gradient, w, len(args)), wrt=wrt)(*args)
    assert np.shape(got) == np.shape(args[wrt])
    np.testing.assert_allclose(got, gradient_along(gradient, args, wrt, w), rtol=1e-5, atol=1e-6)


def make(gen, shape):
    """An input: ``shape`` None means a Python float."""
    return float(gen()) if shape is None else gen(*shape)


# ---------------------------------------------------------------- factories


def unary(fn):
    def f(x):
        return np.sum(np.sin(fn(x)) * 1.5)
    return f


def binary(fn):
    def f(x, y):
        return np.sum(np.sin(fn(x, y)))
    return f


def reduction(fn, axis, keepdims):
    def f(x):
        return np.sum(np.sin(fn(x, axis=axis, keepdims=keepdims)))
    return f


def with_axis(fn, axis):
    def f(x):
        return np.sum(np.sin(fn(x, axis)))
    return f


def pair_arg(fn, arg):
    def f(x, y):
        return np.sum(np.sin(fn(x, y, arg)))
    return f


def einsum1(spec):
    def f(x):
        return np.sum(np.sin(np.einsum(spec, x)))
    return f


def einsum2(spec):
    def f(x, y):
        return np.sum(np.sin(np.einsum(spec, x, y)))
    return f


def einsum3(spec):
    def f(x, y, w):
        return np.sum(np.sin(np.einsum(spec, x, y, w)))
    return f


def norm(ord, axis, keepdims=False):
    def f(x):
        return np.sum(np.sin(np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)))
    return f


# --------------------------------------------------------------- elementwise

UNARY = [
    (np.exp, R), (np.log, P), (np.log1p, P), (np.expm1, R), (np.log2, P), (np.log10, P), (np.sqrt, P),
    (np.square, R), (np.sin, R), (np.cos, R), (np.tan, U), (np.tanh, R), (np.sinh, R), (np.cosh, R),
    (np.arcsin, U), (np.arccos, U), (np.arctan, R), (np.abs, R), (np.fabs, R), (np.negative, R),
    (np.positive, R), (np.reciprocal, P), (np.exp2, R), (np.cbrt, P), (np.arcsinh, R), (np.arccosh, G),
    (np.arctanh, U),
]


@pytest.mark.parametrize("shape", [None, (), (4,), (2, 3)], ids=["float", "0d", "1d", "2d"])
@pytest.mark.parametrize("fn,gen", UNARY, ids=[fn.__name__ for fn, _ in UNARY])
def test_unary(fn, gen, shape):
    check(unary(fn), make(gen, shape))


BINARY = [
    (np.add, R, R), (np.subtract, R, R), (np.multiply, R, R), (np.divide, R, P), (np.true_divide, R, P),
    (np.power, P, R), (np.maximum, R, R), (np.minimum, R, R), (np.fmax, R, R), (np.fmin, R, R),
    (np.arctan2, R, R), (np.hypot, R, R), (np.logaddexp, R, R), (np.logaddexp2, R, R),
]
BROADCAST = [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 3)), (None, (3,)), ((3,), None)]


@pytest.mark.parametrize("xs,ys", BROADCAST, ids=[f"{a}-{b}" for a, b in BROADCAST])
@pytest.mark.parametrize("fn,gx,gy", BINARY, ids=[fn.__name__ for fn, _, _ in BINARY])
def test_binary(fn, gx, gy, xs, ys):
    check(binary(fn), make(gx, xs), make(gy, ys), wrt=(0, 1))


def power_const(x):
    return np.sum(np.power(x, 3) + np.power(2.0, x))


def where_both(x, y):
    return np.sum(np.sin(np.where(x > 0, x, y)))


def where_const(x):
    return np.sum(np.where(x > 0, x * x, 2.0))


def clip_pos(x):
    return np.sum(np.sin(np.clip(x, -0.5, 0.5)))


def clip_kw(x):
    return np.sum(np.sin(np.clip(x, a_min=None, a_max=0.3)))


def clip_minmax(x):
    return np.sum(np.sin(np.clip(x, min=-0.2, max=0.3)))


def clip_bounds(x, lo, hi):
    return np.sum(np.sin(np.clip(x, lo, hi)))


def clip_method(x):
    return np.sum(np.sin(x.clip(-0.5, 0.5)))


def clip_method_kw(x):
    return np.sum(np.sin(x.clip(max=0.2)))


def ufunc_methods(x, y):
    return np.sum(np.add(x, 1.0) * np.multiply(2.0, y) - np.subtract(y, x) / np.divide(y, 2.0))


@pytest.mark.parametrize("f,args,wrt", [
    (power_const, [P(2, 3)], 0),
    (where_both, [R(2, 3), R(3)], (0, 1)),
    (where_both, [R(2, 3), 0.7], (0, 1)),
    (where_const, [R(4)], 0),
    (clip_pos, [R(3, 4)], 0),
    (clip_kw, [R(3, 4)], 0),
    (clip_minmax, [R(3, 4)], 0),
    (clip_bounds, [R(3, 4), R(4) - 0.5, R(3, 1) + 0.5], (0, 1, 2)),
    (clip_method, [R(3, 4)], 0),
    (clip_method_kw, [R(3, 4)], 0),
    (ufunc_methods, [R(2, 3), P(3)], (0, 1)),
])
def test_elementwise_special(f, args, wrt):
    check(f, *args, wrt=wrt)


def max_of_pair(x):
    return np.sum(np.maximum(x, 1.0) + np.minimum(x, 1.0))


def unary_max(x):
    return np.max(x)


def test_maximum_ties_split_evenly():
    np.testing.assert_allclose(tangent.grad(max_of_pair)(np.array([0.0, 1.0, 2.0])), [1.0, 1.0, 1.0])
    np.testing.assert_allclose(tangent.grad(unary_max)(np.array([1.0, 3.0, 3.0])), [0.0, 0.5, 0.5])


# -------------------------------------------------------------- reductions

REDUCTIONS = [np.sum, np.mean, np.prod, np.max, np.min, np.amax, np.amin, np.std, np.var]
AXES = [None, 0, 1, -1, (0, 2), (-1, 0)]


@pytest.mark.parametrize("keepdims", [False, True], ids=["", "keepdims"])
@pytest.mark.parametrize("axis", AXES, ids=[str(a) for a in AXES])
@pytest.mark.parametrize("fn", REDUCTIONS, ids=[fn.__name__ for fn in REDUCTIONS])
def test_reduction(fn, axis, keepdims):
    check(reduction(fn, axis, keepdims), P(2, 3, 4) * np.sign(R(2, 3, 4)))


@pytest.mark.parametrize("fn", REDUCTIONS, ids=[fn.__name__ for fn in REDUCTIONS])
def test_reduction_of_float_and_list(fn):
    check(unary(fn), 1.3)
    check(list_reduce(fn), 0.4, 1.7, wrt=(0, 1))


def list_reduce(fn):
    def f(x, y):
        return np.sin(fn([x, y, 0.5]))
    return f


def prod_zero(x):
    return np.sum(np.prod(x, axis=1) * np.array([1.0, 2.0, 3.0]))


def test_prod_with_zeros():
    x = np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 4.0], [1.5, 2.0, 3.0]])
    got = check(prod_zero, x)
    np.testing.assert_allclose(got, [[6.0, 0, 0], [0, 0, 0], [18.0, 13.5, 9.0]])


def std_ddof(x):
    return np.std(x, ddof=1) + np.sum(np.var(x, axis=0, ddof=1) * np.array([1.0, 2.0, 3.0]))


def reduction_keywords(x):
    peaks = np.max(x, axis=0, initial=0.5)
    return np.sum(np.sin(peaks)) + np.prod(x, initial=2.0) + np.std(x, correction=1) + np.sum(x, initial=3.0)


def sum_method(x):
    return np.sum(np.sin(x.sum(axis=1, keepdims=True)) + x.sum())


def mean_method(x):
    return np.sum(np.sin(x.mean(0))) + x.mean()


def prod_method(x):
    return np.sum(x.prod(axis=-1)) + x.prod()


def max_method(x):
    return np.sum(np.sin(x.max(axis=0))) + x.min() * x.max()


def min_method(x):
    return np.sum(np.sin(x.min(1, keepdims=True)))


def std_method(x):
    return np.sum(np.sin(x.std(axis=1, ddof=1))) + x.var()


def var_method(x):
    return np.sum(x.var(axis=(0, 1), keepdims=True))


def sum_of_temporary(x):
    return (x * x).sum(axis=0).sum()


def cumsum_plain(x):
    return np.sum(np.sin(np.cumsum(x)))


def cumsum_method(x):
    return np.sum(np.sin(x.cumsum(axis=-1)))


@pytest.mark.parametrize("f", [
    std_ddof, reduction_keywords, sum_method, mean_method, prod_method, max_method, min_method, std_method, var_method,
    sum_of_temporary, cumsum_plain, cumsum_method,
], ids=lambda f: f.__name__)
def test_reduction_forms(f):
    check(f, P(3, 3) * np.sign(R(3, 3)))


@pytest.mark.parametrize("axis", [0, 1, -1, 2], ids=str)
def test_cumsum_axis(axis):
    check(with_axis(np.cumsum, axis), R(2, 3, 4))


# ----------------------------------------------------------- linear algebra

DOT_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((2, 3, 4), (4,)),
              ((2, 3, 4), (5, 4, 2)), ((), (3,)), ((2, 3), ())]
MATMUL_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
                 ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)), ((5, 1, 2, 3), (4, 3, 2)), ((3,), (5, 3, 4)),
                 ((5, 2, 3), (3,))]


def matmul_operator(x, y):
    return np.sum(np.sin(x @ y))


def dot_method(x, y):
    return np.sum(np.sin(x.dot(y)))


@pytest.mark.parametrize("xs,ys", DOT_SHAPES, ids=[f"{a}-{b}" for a, b in DOT_SHAPES])
def test_dot(xs, ys):
    check(binary(np.dot), R(*xs), R(*ys), wrt=(0, 1))
    if xs:
        check(dot_method, R(*xs), R(*ys), wrt=(0, 1))


@pytest.mark.parametrize("xs,ys", MATMUL_SHAPES, ids=[f"{a}-{b}" for a, b in MATMUL_SHAPES])
def test_matmul(xs, ys):
    check(binary(np.matmul), R(*xs), R(*ys), wrt=(0, 1))
    check(matmul_operator, R(*xs), R(*ys), wrt=(0, 1))


@pytest.mark.parametrize("fn,xs,ys", [
    (np.outer, (3,), (4,)), (np.outer, (2, 2), (3,)),
    (np.inner, (3,), (3,)), (np.inner, (2, 3), (4, 3)), (np.inner, (2, 3), (3,)), (np.inner, (), (3,)),
], ids=str)
def test_outer_inner(fn, xs, ys):
    check(binary(fn), R(*xs), R(*ys), wrt=(0, 1))


@pytest.mark.parametrize("xs,ys,axes", [
    ((2, 3), (3, 4), 1), ((2, 3, 4), (3, 4, 5), 2), ((2,), (3,), 0), ((3, 2), (3, 4), ([0], [0])),
    ((2, 3, 4), (4, 3, 5), ([1, 2], [1, 0])), ((2, 3, 4), (4, 2), (-1, 0)), ((3, 4), (4, 3), ([0, 1], [1, 0])),
], ids=str)
def test_tensordot(xs, ys, axes):
    check(pair_arg(np.tensordot, axes), R(*xs), R(*ys), wrt=(0, 1))


@pytest.mark.parametrize("spec,xs,ys", [
    ("ij,jk->ik", (2, 3), (3, 4)), ("ij,jk", (2, 3), (3, 4)), ("i,i->", (3,), (3,)), ("i,j->ij", (2,), (3,)),
    ("bij,bjk->bik", (2, 3, 4), (2, 4, 2)), ("ijk,k->ij", (2, 3, 4), (4,)), ("ij,j->ij", (2, 3), (3,)),
    ("ij,ij->", (2, 3), (2, 3)), ("ijj,j->i", (2, 3, 3), (3,)), ("ij,kl->", (2, 3), (2, 2)),
    ("...ij,...jk->...ik", (5, 2, 3), (5, 3, 4)), ("...ij,jk", (5, 2, 3), (3, 4)),
    ("ij,ij->ij", (1, 3), (2, 3)), ("Ba,aC", (2, 3), (3, 4)),
], ids=str)
def test_einsum(spec, xs, ys):
    check(einsum2(spec), R(*xs), R(*ys), wrt=(0, 1))


@pytest.mark.parametrize("spec,xs", [
    ("ii->", (3, 3)), ("ii->i", (3, 3)), ("ij->", (2, 3)), ("ij->ji", (2, 3)), ("ij", (2, 3)), ("ji", (2, 3)),
    ("iij->j", (2, 2, 3)), ("...i->...", (2, 3, 4)), ("ij->i", (2, 3)),
], ids=str)
def test_einsum_single(spec, xs):
    check(einsum1(spec), R(*xs))


def einsum_four(a, b, c, e):
    return np.sum(np.sin(np.einsum("ij,jk,kl,l->i", a, b, c, e)))


def test_einsum_three_and_four_operands():
    check(einsum3("i,ij,j->"), R(3), R(3, 4), R(4), wrt=(0, 1, 2))
    check(einsum3("ab,bc,ca->a"), R(2, 3), R(3, 4), R(4, 2), wrt=(0, 1, 2))
    check(einsum_four, R(2, 3), R(3, 2), R(2, 4), R(4), wrt=(0, 1, 2, 3))


def trace_plain(x):
    return np.sin(np.trace(x))


def trace_offset(x):
    return np.sin(np.trace(x, offset=1)) + np.trace(x, -1)


def trace_batched(x):
    return np.sum(np.sin(np.trace(x, axis1=1, axis2=2)))


def trace_method(x):
    return np.sin(x.trace())


def diagonal_plain(x):
    return np.sum(np.sin(np.diagonal(x, 1)))


def diagonal_method(x):
    return np.sum(np.sin(x.diagonal(axis1=-1, axis2=0)))


@pytest.mark.parametrize("f,shape", [
    (trace_plain, (3, 3)), (trace_offset, (3, 4)), (trace_batched, (2, 3, 3)), (trace_method, (3, 3)),
    (diagonal_plain, (3, 4)), (diagonal_method, (3, 2, 3)),
], ids=str)
def test_trace(f, shape):
    check(f, R(*shape))


def inv_f(x):
    return np.sum(np.sin(np.linalg.inv(x)))


def det_f(x):
    return np.sum(np.sin(np.linalg.det(x)))


def slogdet_unpack(x):
    sign, logdet = np.linalg.slogdet(x)
    return np.sum(sign * logdet)


def slogdet_index(x):
    return np.sum(np.linalg.slogdet(x)[1] ** 2)


@pytest.mark.parametrize("f", [inv_f, det_f, slogdet_unpack, slogdet_index], ids=lambda f: f.__name__)
@pytest.mark.parametrize("batch", [(), (2,)], ids=["", "batched"])
def test_inv_det(f, batch):
    check(f, SPD(3, *batch))


def test_slogdet_negative_determinant():
    x = SPD(3)
    x[[0, 1]] = x[[1, 0]]
    assert np.linalg.det(x) < 0
    check(slogdet_unpack, x)
    check(det_f, x)


@pytest.mark.parametrize("a_batch,b_shape", [((), (3,)), ((), (3, 2)), ((2,), (2, 3, 2)), ((2,), (3,)),
                                              ((2,), (3, 2)), ((), (2, 3, 2))], ids=str)
def test_solve(a_batch, b_shape):
    check(binary(np.linalg.solve), SPD(3, *a_batch), R(*b_shape), wrt=(0, 1))


NORMS = [
    ((5,), None, None), ((5,), 2, None), ((5,), 1, None), ((5,), np.inf, None), ((5,), -np.inf, None),
    ((5,), 3, None), ((3, 4), None, None), ((2, 3, 4), None, None), ((3, 4), None, 0), ((3, 4), None, -1),
    ((3, 4), 1, 1), ((3, 4), np.inf, 0), ((3, 4), "fro", None), ((3, 4), "nuc", None), ((3, 4), 2, None),
    ((3, 4), -2, None), ((3, 4), 1, None), ((3, 4), -1, None), ((3, 4), np.inf, None), ((3, 4), -np.inf, None),
    ((2, 3, 4), None, (1, 2)), ((2, 3, 4), "nuc", (2, 0)), ((2, 3, 4), 1, (0, 2)), ((2, 3, 4), 3, 1),
]


@pytest.mark.parametrize("keepdims", [False, True], ids=["", "keepdims"])
@pytest.mark.parametrize("shape,ord,axis", NORMS, ids=str)
def test_norm(shape, ord, axis, keepdims):
    spectral = is_spectral(shape, ord, axis)
    check(norm(ord, axis, keepdims), R(*shape), second_order=not spectral)
    if spectral:
        pytest.skip(f"first derivatives checked; no second derivative of np.linalg.norm with ord={ord!r} over two axes "
                    "(spectral and nuclear norms need the derivative of the SVD)")


def is_spectral(shape, ord, axis):
    return ord in ("nuc", 2, -2) and (isinstance(axis, tuple) or axis is None and len(shape) == 2)


SPECTRAL = [case for case in NORMS if is_spectral(*case)]


@pytest.mark.parametrize("shape,ord,axis", SPECTRAL, ids=str)
def test_norm_second_derivative_not_implemented(shape, ord, axis):
    f, x = norm(ord, axis), R(*shape)
    with pytest.raises(NotImplementedError, match="no second derivative"):
        tangent.hvp(f)(x, R(*shape))
    with pytest.raises(NotImplementedError, match="no second derivative"):
        tangent.grad(of_gradient(tangent.grad(f), R(*shape), 1))(x)


def norm_plain(x):
    return np.linalg.norm(x)


def test_norm_at_zero_is_finite():
    assert np.all(tangent.grad(norm_plain)(np.zeros(3)) == 0)


# ------------------------------------------------------------------ shapes


def reshape_fn(x):
    return np.sum(np.sin(np.reshape(x, (3, 2))) * np.arange(6.0).reshape(3, 2))


def reshape_kw(x):
    return np.sum(np.sin(np.reshape(x, shape=-1)) * np.arange(6.0))


def reshape_order(x):
    return np.sum(np.sin(np.reshape(x, (3, 2), order="F")) * np.arange(6.0).reshape(3, 2))


def reshape_varargs(x):
    return np.sum(np.sin(x.reshape(3, 2)) * np.arange(6.0).reshape(3, 2))


def reshape_tuple(x):
    return np.sum(np.sin(x.reshape((1, 6))) * np.arange(6.0))


def reshape_flat(x):
    return np.sum(np.sin(x.reshape(-1)) * np.arange(6.0))


def transpose_fn(x):
    return np.sum(np.sin(np.transpose(x)) * np.arange(6.0).reshape(3, 2))


def transpose_axes(x):
    return np.sum(np.sin(np.transpose(x, (1, 0))) * np.arange(6.0).reshape(3, 2))


def transpose_varargs(x):
    return np.sum(np.sin(x.transpose(1, 0)) * np.arange(6.0).reshape(3, 2))


def transpose_tuple(x):
    return np.sum(np.sin(x.transpose((1, 0))) * np.arange(6.0).reshape(3, 2))


def transpose_method(x):
    return np.sum(np.sin(x.transpose()) * np.arange(6.0).reshape(3, 2))


def attribute_T(x):
    return np.sum(np.sin(x.T) * np.arange(6.0).reshape(3, 2))


def swapaxes_fn(x):
    return np.sum(np.sin(np.swapaxes(x, 0, 1)) * np.arange(6.0).reshape(3, 2))


def swapaxes_method(x):
    return np.sum(np.sin(x.swapaxes(-1, 0)) * np.arange(6.0).reshape(3, 2))


def moveaxis_fn(x):
    return np.sum(np.sin(np.moveaxis(x, 0, -1)) * np.arange(6.0).reshape(3, 2))


def squeeze_fn(x):
    return np.sum(np.sin(np.squeeze(x[None, :, None], axis=(0, 2))) * np.arange(6.0).reshape(2, 3))


def squeeze_method(x):
    return np.sum(np.sin(x.reshape(1, 2, 3).squeeze()) * np.arange(6.0).reshape(2, 3))


def expand_dims_fn(x):
    return np.sum(np.sin(np.expand_dims(x, (0, -1))) * np.arange(6.0).reshape(1, 2, 3, 1))


def ravel_fn(x):
    return np.sum(np.sin(np.ravel(x)) * np.arange(6.0))


def ravel_method(x):
    return np.sum(np.sin(x.ravel(order="F")) * np.arange(6.0))


def flatten_method(x):
    return np.sum(np.sin(x.flatten()) * np.arange(6.0))


def broadcast_to_fn(x):
    return np.sum(np.sin(np.broadcast_to(x, (4, 2, 3))) * np.arange(24.0).reshape(4, 2, 3))


def broadcast_row(x):
    return np.sum(np.sin(np.broadcast_to(x[:1], (5, 3))) * np.arange(15.0).reshape(5, 3))


def tile_int(x):
    return np.sum(np.sin(np.tile(x, 2)) * np.arange(12.0).reshape(2, 6))


def tile_tuple(x):
    return np.sum(np.sin(np.tile(x, (2, 1, 2))) * np.arange(24.0).reshape(2, 2, 6))


def repeat_flat(x):
    return np.sum(np.sin(np.repeat(x, 2)) * np.arange(12.0))


def repeat_axis(x):
    return np.sum(np.sin(np.repeat(x, 3, axis=1)) * np.arange(18.0).reshape(2, 9))


def repeat_counts(x):
    return np.sum(np.sin(np.repeat(x, np.array([2, 0, 3]), axis=-1)) * np.arange(10.0).reshape(2, 5))


def repeat_method(x):
    return np.sum(np.sin(x.repeat(2, axis=0)) * np.arange(12.0).reshape(4, 3))


def flip_all(x):
    return np.sum(np.sin(np.flip(x)) * np.arange(6.0).reshape(2, 3))


def flip_axis(x):
    return np.sum(np.sin(np.flip(x, 1)) * np.arange(6.0).reshape(2, 3))


def fliplr_ud(x):
    return np.sum(np.sin(np.fliplr(x) + 2 * np.flipud(x)) * np.arange(6.0).reshape(2, 3))


def sort_fn(x):
    return np.sum(np.sin(np.sort(x) + np.sort(x, axis=0) + np.sort(x, axis=None).reshape(2, 3)) * np.arange(6.0).reshape(2, 3))


def roll_fn(x):
    return np.sum(np.sin(np.roll(x, 1) + np.roll(x, (1, -1), axis=(0, 1))) * np.arange(6.0).reshape(2, 3))


def array_of_array(x):
    return np.sum(np.sin(np.array(x)) * np.arange(6.0).reshape(2, 3))


def asarray_fn(x):
    return np.sum(np.sin(np.asarray(x, dtype=float)) * np.arange(6.0).reshape(2, 3))


def array_ndmin(x):
    return np.sum(np.sin(np.array(x, ndmin=3)) * np.arange(6.0).reshape(1, 2, 3))


def copy_method(x):
    return np.sum(np.sin(x.copy()) * np.arange(6.0).reshape(2, 3))


def copy_fn(x):
    return np.sum(np.sin(np.copy(x)) * np.arange(6.0).reshape(2, 3))


def astype_float(x):
    return np.sum(np.sin(x.astype(float)) * np.arange(6.0).reshape(2, 3))


def astype_roundtrip(x):
    return np.sum(x.astype(np.float32).astype(np.float64) * np.arange(6.0).reshape(2, 3))


def item_fn(x):
    return np.sin(x.item(1)) + x.item(1, 2) * x.item((0, 0))


@pytest.mark.parametrize("f", [
    reshape_fn, reshape_kw, reshape_order, reshape_varargs, reshape_tuple, reshape_flat,
    transpose_fn, transpose_axes, transpose_varargs, transpose_tuple, transpose_method, attribute_T,
    swapaxes_fn, swapaxes_method, moveaxis_fn, squeeze_fn, squeeze_method, expand_dims_fn,
    ravel_fn, ravel_method, flatten_method, broadcast_to_fn, broadcast_row, tile_int, tile_tuple,
    repeat_flat, repeat_axis, repeat_counts, repeat_method, flip_all, flip_axis, fliplr_ud, roll_fn, sort_fn,
    array_of_array, asarray_fn, array_ndmin, copy_method, copy_fn, astype_float, item_fn,
], ids=lambda f: f.__name__)
def test_shape(f):
    check(f, R(2, 3))


def test_astype_gradient_keeps_input_dtype():
    for dtype in (np.float64, np.float32):
        got = tangent.grad(astype_roundtrip)(R(2, 3).astype(dtype))
        assert got.dtype == dtype
        np.testing.assert_allclose(got, np.arange(6.0).reshape(2, 3))


def transpose3(x):
    return np.sum(np.sin(x.transpose(2, 0, 1)) + np.transpose(x, (1, 2, 0)).sum() + np.moveaxis(x, (0, 1), (2, 0))[0, 0, 0])


def tile_longer(x):
    return np.sum(np.sin(np.tile(x, (3, 1, 1, 2))) * np.arange(144.0).reshape(3, 2, 3, 8))


def test_shape_3d():
    check(transpose3, R(2, 3, 4))
    check(tile_longer, R(2, 3, 4))


def concat_list(x, y):
    return np.sum(np.sin(np.concatenate([x, y], axis=1)) * np.arange(15.0).reshape(3, 5))


def concat_tuple_neg(x, y):
    return np.sum(np.sin(np.concatenate((x, y, x), axis=-1)) * np.arange(24.0).reshape(3, 8))


def concat_none(x, y):
    return np.sum(np.sin(np.concatenate([x, y], axis=None)) * np.arange(15.0))


def concat_axis0(x, y):
    return np.sum(np.sin(np.concatenate([x.T, y.T])) * np.arange(15.0).reshape(5, 3))


def stack0(x, y):
    return np.sum(np.sin(np.stack([x[:, :2], y])) * np.arange(12.0).reshape(2, 3, 2))


def stack_neg(x, y):
    return np.sum(np.sin(np.stack((x[:, 1:], 2 * y, y[::-1]), axis=-1)) * np.arange(18.0).reshape(3, 2, 3))


def hstack2d(x, y):
    return np.sum(np.sin(np.hstack([x, y])) * np.arange(15.0).reshape(3, 5))


def hstack1d(x, y):
    return np.sum(np.sin(np.hstack((x[0], y[0], 1.5))) * np.arange(6.0))


def vstack2d(x, y):
    return np.sum(np.sin(np.vstack([x.T, y.T])) * np.arange(15.0).reshape(5, 3))


def vstack1d(x, y):
    return np.sum(np.sin(np.vstack([x[0], y[:, 0], x[1]])) * np.arange(9.0).reshape(3, 3))


def array_of_list(x, y):
    return np.sum(np.sin(np.array([x[0], y[:, 1], [1.0, 2.0, x[1, 1]]])) * np.arange(9.0).reshape(3, 3))


def stack_scalars(x, y):
    return np.sum(np.sin(np.stack([x[0, 0], y[1, 1], x[2, 2] * y[0, 0]])) * np.arange(3.0))


@pytest.mark.parametrize("f", [
    concat_list, concat_tuple_neg, concat_none, concat_axis0, stack0, stack_neg, hstack2d, hstack1d,
    vstack2d, vstack1d, array_of_list, stack_scalars,
], ids=lambda f: f.__name__)
def test_join(f):
    check(f, R(3, 3), R(3, 2), wrt=(0, 1))


def array_of_floats(a, b):
    return np.sum(np.sin(np.array([a, b, a * b])) * np.arange(3.0))


def nested_array(a, b):
    m = np.array([[a, b], [b * b, 1.0]])
    return np.sum(np.sin(m @ m) * np.arange(4.0).reshape(2, 2))


def where_index(x):
    return np.sum(np.sin(x[np.where(x > 0)]))


def test_array_of_floats():
    check(array_of_floats, 0.3, -1.2, wrt=(0, 1))
    check(nested_array, 0.3, -1.2, wrt=(0, 1))
    check(where_index, R(3, 4))


# ---------------------------------------------------------------- indexing


INDEX_ARRAY = np.array([0, 2, 0, 0, 1])
ROW_MASK = np.array([True, False, True])


def index_int(x):
    return np.sum(np.sin(x[1]) * np.arange(4.0))


def index_negative_scalar(x):
    return np.sin(x[-1, 2]) * x[0, 0]


def index_slice(x):
    return np.sum(np.sin(x[1:, ::2]))


def index_none(x):
    return np.sum(np.sin(x[None, :, 0]))


def index_ellipsis(x):
    return np.sum(np.sin(x[..., 1]) * np.arange(3.0))


def index_int_array(x):
    return np.sum(np.sin(x[INDEX_ARRAY]) * np.arange(20.0).reshape(5, 4))


def index_int_array_pair(x):
    return np.sum(np.sin(x[INDEX_ARRAY, INDEX_ARRAY]) * np.arange(5.0))


def index_bool_mask(x):
    return np.sum(np.sin(x[x > 0]))


def index_bool_rows(x):
    return np.sum(np.sin(x[ROW_MASK]) * np.arange(8.0).reshape(2, 4))


def index_mixed(x):
    return np.sum(np.sin(x[1:, INDEX_ARRAY[:3]]) * np.arange(6.0).reshape(2, 3))


@pytest.mark.parametrize("f", [
    index_int, index_negative_scalar, index_slice, index_none, index_ellipsis, index_int_array,
    index_int_array_pair, index_bool_mask, index_bool_rows, index_mixed,
], ids=lambda f: f.__name__)
def test_indexing(f):
    check(f, R(3, 4))


# ----------------------------------------------------------------- nondiff


def nondiff_mix(x):
    n = x.shape[0]
    i = np.argmax(x)
    scale = np.floor(x) + np.sign(x) + np.zeros_like(x) + np.ones(x.shape)
    mask = np.greater(x, 0.0)
    return np.sum(x * scale * mask) + x[i] * n + np.sum(x * np.round(x) * np.isfinite(x))


def test_nondifferentiable_functions_pass_through():
    x = np.array([0.3, -1.2, 2.6, 1.7])
    check(nondiff_mix, x)


# ------------------------------------------------------------------- scipy


def logsumexp_axis(axis, keepdims):
    def f(x):
        return np.sum(np.sin(sp.logsumexp(x, axis=axis, keepdims=keepdims)))
    return f


def logsumexp_b(x, b):
    return np.sum(np.sin(sp.logsumexp(x, axis=1, b=b)))


@needs_scipy
@pytest.mark.parametrize("keepdims", [False, True], ids=["", "keepdims"])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 1)], ids=str)
def test_logsumexp(axis, keepdims):
    check(logsumexp_axis(axis, keepdims), R(2, 3, 2))


@needs_scipy
def test_logsumexp_weights():
    check(logsumexp_b, R(2, 3), P(3), wrt=(0, 1))


SCIPY_UNARY = [("expit", R), ("erf", R), ("erfc", R), ("gammaln", P), ("logit", lambda *s: U(*s) / 2 + 0.5)]


@needs_scipy
@pytest.mark.parametrize("name,gen", SCIPY_UNARY, ids=[n for n, _ in SCIPY_UNARY])
def test_scipy_unary(name, gen):
    check(unary(getattr(sp, name)), gen(2, 3))
    check(unary(getattr(sp, name)), float(gen()))


@needs_scipy
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [None, 0, -1], ids=str)
def test_scipy_softmax(name, axis):
    check(with_axis(getattr(sp, name), axis), R(2, 3))


@needs_scipy
def test_scipy_xlogy():
    check(binary(sp.xlogy), R(2, 3), P(3), wrt=(0, 1))


# ---------------------------------------------------------------- autograd


def mlp(xp):
    def f(w1, w2, x):
        h = xp.tanh(xp.dot(x, w1))
        out = xp.matmul(h, w2)
        return xp.sum(xp.log(1.0 + xp.exp(out))) + 0.1 * xp.sum(w1 * w1)
    return f


def stats(xp):
    def f(x):
        centered = x - xp.mean(x, axis=0, keepdims=True)
        return xp.sum(xp.std(centered, axis=0) * xp.max(x, axis=0)) + xp.linalg.norm(x)
    return f


def algebra(xp):
    def f(a, b):
        return xp.sum(xp.linalg.solve(a, b)) + xp.linalg.det(a) + xp.trace(xp.einsum("ij,jk->ik", a, a))
    return f


def shapes(xp):
    def f(x):
        y = xp.concatenate([x, x ** 2], axis=1)
        z = xp.reshape(xp.transpose(y), (-1,))
        return xp.sum(xp.sin(xp.cumsum(z)) * xp.prod(xp.abs(x) + 1.0))
    return f


@pytest.mark.parametrize("factory,args,wrt", [
    (mlp, [R(3, 4), R(4, 2), R(5, 3)], (0, 1)),
    (stats, [R(4, 3)], (0,)),
    (algebra, [SPD(3), R(3, 2)], (0, 1)),
    (shapes, [R(2, 3)], (0,)),
], ids=lambda v: v.__name__ if callable(v) else "")
def test_against_autograd(factory, args, wrt):
    autograd = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    ours = tangent.grad(factory(np), wrt=wrt)(*args)
    ours = ours if len(wrt) > 1 else (ours,)
    theirs = [autograd.grad(factory(anp), argnum=i)(*args) for i in wrt]
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)


# ------------------------------------------------- rules inside larger programs

W3 = np.random.default_rng(7).standard_normal((3, 3)) * 0.5


def reassigned(x):
    x = np.exp(x)
    x = np.sum(x, axis=0)
    return np.sum(np.sin(x))


def same_argument_twice(x):
    return (np.dot(x[0], x[0]) + np.sum(np.maximum(x, x)) + np.sum(np.concatenate([x, x]) ** 2)
            + np.einsum("ij,ij->", x, x) + np.sum(np.stack([x, np.zeros(x.shape)]) * 2.0))


def rules_in_loop(x):
    for _ in range(3):
        x = np.tanh(x @ W3)
    return np.sum(x.T.dot(x))


def chained_methods(x):
    return x.sum(0).max() + x.T.reshape(-1).cumsum().mean() + x.astype(float).copy().prod()


def rules_in_branch(x):
    if np.max(x) > 0:
        y = np.linalg.norm(x, axis=1) + np.sort(x, axis=0)[0]
    else:
        y = np.mean(x, axis=1)
    return np.sum(y * y)


@pytest.mark.parametrize("f", [reassigned, same_argument_twice, rules_in_loop, chained_methods, rules_in_branch],
                         ids=lambda f: f.__name__)
def test_rules_in_programs(f):
    check(f, P(3, 3) * np.sign(R(3, 3)))


@pytest.mark.parametrize("fn", [np.atleast_1d, np.atleast_2d, np.atleast_3d])
@pytest.mark.parametrize("x", [0.7, np.array([0.3, -1.2]), np.array([[0.5, 2.0, -0.1]])])
def test_atleast_nd(fn, x):
    def f(x):
        return np.sum(np.sin(fn(x)) * fn(x))

    check(f, x)


def _einsum_sublists(x):
    return np.sum(np.einsum(x, [0, 1], [1]))


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_einsum_operand_sublist_form_is_refused_not_zero(mode):
    # the rules read the first argument as the subscripts: an array there got a zero gradient
    x = np.arange(4.0).reshape(2, 2)
    df = tangent.grad(_einsum_sublists) if mode == "reverse" else tangent.jvp(_einsum_sublists)
    with pytest.raises(tangent.TangentError, match="subscripts string"):
        df(x) if mode == "reverse" else df(x, np.ones_like(x))
