"""Higher-order derivatives: hvp, jacobian, hessian and the four compositions
of forward and reverse mode on generated code.

Every second derivative is checked against central finite differences of a
first derivative that Tangent generates (the first derivatives themselves are
checked against finite differences of the function in test_programs.py and
test_forward.py), in float64:

* ``hvp(f)(x, v)`` and ``jvp(grad(f))(x, seed, v)`` against
  ``(grad(f)(x + eps v) - grad(f)(x - eps v)) / 2 eps``;
* ``grad(grad(f))(x)`` for scalar x against differences of ``grad(f)``;
* ``grad(jvp(f))(x, v)`` (the gradient of x -> J(x) v) against coordinate-wise
  differences of ``jvp(f)``;
* ``jvp(jvp(f))(x, v, w)`` against differences of ``jvp(f)(., v)`` along w.
"""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

import tangent
from tests import test_programs as tp
from tests.utils import numeric_grad

EPS = 1e-6
RTOL, ATOL = 1e-5, 1e-6


def rng(seed=0):
    return np.random.RandomState(seed)


def like(x, r):
    """A random direction shaped like x (a float for a float)."""
    return float(r.randn()) if isinstance(x, float) else r.randn(*np.shape(x))


def shifted(args, index, v, eps):
    out = list(args)
    out[index] = args[index] + eps * v
    return out


def fd_along(g, args, index, v, eps=EPS):
    """Central difference of the (array or float) function g along v of args[index]."""
    plus = np.asarray(g(*shifted(args, index, v, eps)), dtype=float)
    minus = np.asarray(g(*shifted(args, index, v, -eps)), dtype=float)
    return (plus - minus) / (2 * eps)


def close(got, expected, rtol=RTOL, atol=ATOL):
    assert np.shape(got) == np.shape(expected), f"shape {np.shape(got)} != {np.shape(expected)}"
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)


def n_positional(f):
    params = inspect.signature(f).parameters.values()
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def full_args(f, args):
    """The arguments with f's defaults filled in: forward-mode derivatives
    keep no defaults, since the tangents follow the arguments."""
    bound = inspect.signature(f).bind(*args)
    bound.apply_defaults()
    return list(bound.args)


# ------------------------------------------------------------ local programs


def scalar_loop(x, a):
    s = 0.0
    for _ in range(20):
        s = s + math.sin(x * a) * x
        x = 0.9 * x + 0.1 * math.tanh(s)
    return s


def array_loop(x, n):
    y = x
    for i in range(n):
        y = np.sin(y) * x + 0.1 * i
        y = y * y
    return np.sum(y)


def helper(x, scale=1.5, shift=0.25):
    return np.tanh(x * scale) + shift * x * x


def with_defaults(x, w, p=2.0):
    a = helper(x)
    b = helper(x * w, scale=p)
    c = helper(shift=w, x=a)
    return np.sum(a * b + c)


def scalar_defaults(x, p=0.5):
    y = helper(x, shift=p)
    for _ in range(3):
        y = helper(y) * x
    return y


def while_branches(x):
    y = x
    k = 0
    while np.sum(y * y) > 0.3:
        if k % 2 == 0:
            y = np.tanh(y) * 0.9
        elif np.sum(y) > 0:
            y = y * 0.5 + 0.1 * y * y
        else:
            y = np.sin(y)
        k = k + 1
    return np.sum(y * x) + np.sum(y ** 3)


def scalar_while_branches(x):
    y = x
    while y > 0.5:
        if y > 2.0:
            y = y * 0.5
        else:
            y = math.sin(y) * 0.8
    return y * x * x


def mlp_loss(W1, b1, W2, b2, x, y):
    h = np.tanh(x @ W1 + b1)
    out = h @ W2 + b2
    err = out - y
    return np.sum(err * err) / x.shape[0]


def rnn_loss(Wx, Wh, b, xs):
    h = np.zeros(Wh.shape[0])
    for t in range(5):
        h = np.tanh(xs[t] @ Wx + h @ Wh + b)
    return np.sum(h * h)


def vec_loop(x, w):
    y = x
    for i in range(3):
        y = np.tanh(y * w) + 0.5 * x * i
    return y * y


def vec_branches(x):
    if np.sum(x) > 0:
        y = np.exp(x * 0.5)
    else:
        y = x * x
    z = sub_scale(y)
    return np.concatenate([z, x * z[0]])


def sub_scale(y, s=2.0):
    return y * s - np.sum(y) * 0.1


def mlp_args(seed=0):
    r = rng(seed)
    return [0.5 * r.randn(3, 4), 0.1 * r.randn(4), 0.5 * r.randn(4, 2), 0.1 * r.randn(2), r.randn(5, 3),
            r.randn(5, 2)]


def rnn_args(seed=1):
    r = rng(seed)
    return [0.5 * r.randn(2, 3), 0.5 * r.randn(3, 3), 0.1 * r.randn(3), r.randn(5, 2)]


# ====================================================================== hvp


def check_hvp(f, args, wrt, seed=0, rtol=RTOL, atol=ATOL):
    """hvp(f, wrt) against differences of grad(f, wrt) along the vectors."""
    wrt = (wrt,) if isinstance(wrt, int) else tuple(wrt)
    r = rng(seed)
    vs = [like(args[i], r) for i in wrt]
    got = tangent.hvp(f, wrt=wrt)(*args, *vs)
    gradient = tangent.grad(f, wrt=wrt)

    def g_of(eps):
        a = list(args)
        for i, v in zip(wrt, vs):
            a[i] = args[i] + eps * v
        out = gradient(*a)
        return out if len(wrt) > 1 else (out,)

    expected = [(np.asarray(p, dtype=float) - np.asarray(m, dtype=float)) / (2 * EPS)
                for p, m in zip(g_of(EPS), g_of(-EPS))]
    got = got if len(wrt) > 1 else (got,)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        close(g, e, rtol, atol)
    return got


HVP_CASES = [
    pytest.param(scalar_loop, [0.5, 1.3], 0, id="scalar_loop-x"),
    pytest.param(scalar_loop, [0.5, 1.3], (0, 1), id="scalar_loop-x-a"),
    pytest.param(tp.loop_range, [rng(2).randn(3), 4], 0, id="loop_range"),
    pytest.param(array_loop, [0.5 * rng(3).randn(3), 3], 0, id="array_loop"),
    pytest.param(tp.self_loop, [1.2, 3], 0, id="self_loop"),
    pytest.param(mlp_loss, mlp_args(), 0, id="mlp-W1"),
    pytest.param(mlp_loss, mlp_args(), (0, 1, 2, 3), id="mlp-all-weights"),
    pytest.param(tp.mlp, tp.mlp_params(), (0, 2), id="tp_mlp-W1-W2"),
    pytest.param(rnn_loss, rnn_args(), 1, id="rnn-Wh"),
    pytest.param(rnn_loss, rnn_args(), (0, 1, 2), id="rnn-all-weights"),
    pytest.param(tp.rnn, [0.5 * rng(4).randn(3, 3), 0.5 * rng(5).randn(3, 2), rng(6).randn(3), rng(7).randn(5, 2)],
                 (0, 2), id="tp_rnn-W-h0"),
    pytest.param(with_defaults, [rng(8).randn(3), 0.7, 2.0], (0, 1), id="subroutine-defaults"),
    pytest.param(scalar_defaults, [0.8, 0.5], 0, id="scalar-subroutine-defaults"),
    pytest.param(tp.kwargs_defaults, [0.7, -1.3], (0, 1), id="kwargs_defaults"),
    pytest.param(tp.two_deep, [rng(9).randn(3), rng(10).randn(3)], (0, 1), id="two_deep"),
    pytest.param(tp.use_power, [1.2], 0, id="recursion"),
    pytest.param(while_branches, [np.array([1.5, -0.7, 0.9])], 0, id="while-branches"),
    pytest.param(while_branches, [np.array([-1.5, -0.7, 0.9])], 0, id="while-branches-neg"),
    pytest.param(scalar_while_branches, [5.3], 0, id="scalar-while-branches"),
    pytest.param(tp.while_in_for, [np.array([3.0, 0.5, 5.0])], 0, id="while_in_for"),
    pytest.param(tp.dict_net, [{'W': rng(11).randn(2, 3), 'b': rng(12).randn(2)}, rng(13).randn(3)], 1,
                 id="dict_net-x"),
]


@pytest.mark.parametrize("f,args,wrt", HVP_CASES)
def test_hvp_against_differences_of_gradient(f, args, wrt):
    check_hvp(f, args, wrt)


def test_hvp_mlp_is_symmetric():
    """<u, H v> == <v, H u> for the MLP loss w.r.t. W1."""
    args = mlp_args()
    r = rng(14)
    u, v = r.randn(3, 4), r.randn(3, 4)
    h = tangent.hvp(mlp_loss, wrt=0)
    assert np.sum(u * h(*args, v)) == pytest.approx(np.sum(v * h(*args, u)), rel=1e-10)


def test_hvp_is_linear_in_the_vector():
    args = rnn_args()
    r = rng(15)
    u, v = r.randn(3, 3), r.randn(3, 3)
    h = tangent.hvp(rnn_loss, wrt=1)
    close(h(*args, 2.0 * u - v), 2.0 * h(*args, u) - h(*args, v), rtol=1e-10, atol=1e-12)


def test_hvp_equals_jvp_of_grad():
    x = np.array([0.3, -0.4, 0.8])
    v = np.array([1.0, 0.5, -1.0])
    got = tangent.hvp(tp.loop_range)(x, 4, v)
    close(got, tangent.jvp(tangent.grad(tp.loop_range))(x, 4, 1.0, v), rtol=1e-12, atol=1e-14)


def test_hvp_wrong_argument_count():
    with pytest.raises(tangent.TangentError):
        tangent.hvp(tp.loop_range)(np.ones(3), 4)


# ======================================================= jacobian, hessian


def fd_jacobian(f, args, index):
    x = np.asarray(args[index], dtype=float)
    cols = []
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = 1.0
        cols.append(fd_along(f, args, index, e.reshape(x.shape) if x.ndim else float(e[0])))
    out_shape = np.shape(f(*args))
    return np.stack(cols, axis=-1).reshape(out_shape + x.shape)


JAC_CASES = [
    pytest.param(tp.vec_fn, [np.array([0.3, -0.7, 1.1])], 0, id="vec_fn"),
    pytest.param(tp.mat_fn, [0.5 * rng(16).randn(2, 3), rng(17).randn(3)], 0, id="mat_fn-W"),
    pytest.param(tp.mat_fn, [0.5 * rng(16).randn(2, 3), rng(17).randn(3)], 1, id="mat_fn-x"),
    pytest.param(tp.vec_with_calls, [np.array([0.3, -0.7, 1.1])], 0, id="vec_with_calls"),
    pytest.param(vec_loop, [rng(18).randn(4), 0.8], 0, id="vec_loop-x"),
    pytest.param(vec_loop, [rng(18).randn(4), 0.8], 1, id="vec_loop-w"),
    pytest.param(vec_branches, [np.array([0.3, 0.5, -0.2])], 0, id="vec_branches-pos"),
    pytest.param(vec_branches, [np.array([-0.3, 0.5, -0.9])], 0, id="vec_branches-neg"),
]


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
@pytest.mark.parametrize("f,args,wrt", JAC_CASES)
def test_jacobian(f, args, wrt, mode):
    J = tangent.jacobian(f, wrt=wrt, mode=mode)(*args)
    expected = fd_jacobian(f, args, wrt)
    close(J, expected)


def test_jacobian_forward_and_reverse_agree():
    x, w = rng(19).randn(5), 0.6
    Jf = tangent.jacobian(vec_loop, mode="forward")(x, w)
    Jr = tangent.jacobian(vec_loop, mode="reverse")(x, w)
    assert Jf.shape == (5, 5)
    close(Jf, Jr, rtol=1e-12, atol=1e-14)


def test_jacobian_uses_defaults():
    x = np.array([0.3, 0.5, -0.2])
    J = tangent.jacobian(sub_scale)(x)
    close(J, 2.0 * np.eye(3) - 0.1 * np.ones((3, 3)), rtol=1e-12, atol=1e-14)


def test_jacobian_of_gradient_is_hessian():
    x = np.array([0.3, -0.4, 0.8])
    J = tangent.jacobian(tangent.grad(tp.sum_sq), wrt=0, mode="forward")(x, 1.0)  # the seed, explicitly
    close(J, 2.0 * np.eye(3), rtol=1e-12, atol=1e-14)


def test_jacobian_forward_of_gradient_with_loop():
    x = np.array([0.3, -0.4, 0.8])
    J = tangent.jacobian(tangent.grad(tp.loop_range), wrt=0, mode="forward")(x, 3, 1.0)
    H = tangent.hessian(tp.loop_range)(x, 3)
    close(J, H, rtol=1e-10, atol=1e-12)


def test_vjp_of_gradient_with_loop():
    x, u = np.array([0.3, -0.4, 0.8]), np.array([1.0, 0.5, -1.0])
    got = tangent.vjp(tangent.grad(tp.loop_range))(x, 3, 1.0, u)
    close(got, fd_along(tangent.grad(tp.loop_range), [x, 3], 0, u))  # H symmetric: H^T u = H u


HESS_CASES = [
    pytest.param(tp.loop_range, [np.array([0.3, -0.4, 0.8]), 4], 0, id="loop_range"),
    pytest.param(array_loop, [0.5 * rng(20).randn(3), 3], 0, id="array_loop"),
    pytest.param(mlp_loss, mlp_args(), 2, id="mlp-W2"),
    pytest.param(rnn_loss, rnn_args(), 2, id="rnn-b"),
    pytest.param(with_defaults, [rng(21).randn(3), 0.7, 2.0], 0, id="subroutine-defaults"),
    pytest.param(while_branches, [np.array([1.5, -0.7, 0.9])], 0, id="while-branches"),
    pytest.param(tp.index_2d, [rng(22).randn(2, 3)], 0, id="index_2d"),
    pytest.param(scalar_loop, [0.5, 1.3], 1, id="scalar_loop-a"),
]


@pytest.mark.parametrize("f,args,wrt", HESS_CASES)
def test_hessian(f, args, wrt):
    H = tangent.hessian(f, wrt=wrt)(*args)
    x = args[wrt]
    gradient = tangent.grad(f, wrt=wrt)
    expected = fd_jacobian(gradient, args, wrt)
    close(H, expected.reshape(np.shape(x) + np.shape(x)))
    n = int(np.size(x))
    M = np.reshape(H, (n, n))
    close(M, M.T, rtol=1e-9, atol=1e-10)


# ============================================================ compositions


def seed_and(f, args):
    """The gradient function's arguments: f's arguments (defaults filled in)
    and the output seed 1.0, which jvp needs explicitly."""
    return full_args(f, args) + [1.0]


def check_grad_grad(f, args):
    got = tangent.grad(tangent.grad(f))(*args)
    expected = fd_along(tangent.grad(f), list(args), 0, 1.0)
    assert isinstance(got, float)
    close(got, expected)
    return got


def check_jvp_grad(f, args, seed=0):
    r = rng(seed)
    v = like(args[0], r)
    gradient = tangent.grad(f)
    got = tangent.jvp(gradient)(*seed_and(f, args), v)
    close(got, fd_along(gradient, list(args), 0, v))
    return got


def check_grad_jvp(f, args, seed=0):
    r = rng(seed)
    v = like(args[0], r)
    forward = tangent.jvp(f)
    a = full_args(f, args) + [v]
    got = tangent.grad(forward)(*a)
    expected = numeric_grad(forward, a, 0)
    close(got, expected)
    # reverse over forward of a scalar function is H v
    close(got, fd_along(tangent.grad(f), list(args), 0, v))
    return got


def check_jvp_jvp(f, args, seed=0):
    r = rng(seed)
    v, w = like(args[0], r), like(args[0], r)
    forward = tangent.jvp(f)
    a = full_args(f, args)
    got = tangent.jvp(forward)(*a, v, w)
    close(got, fd_along(forward, a + [v], 0, w))
    # second directional derivative w^T H v
    hv = fd_along(tangent.grad(f), list(args), 0, v)
    close(got, np.sum(hv * w))
    return got


# scalar -> scalar (extra int arguments allowed)
SCALAR_CASES = [
    pytest.param(scalar_loop, [0.5, 1.3], id="scalar_loop"),
    pytest.param(tp.self_loop, [1.2, 3], id="self_loop"),
    pytest.param(tp.power, [1.3, 4], id="power-recursion"),
    pytest.param(tp.tree_sum, [0.9, 4], id="tree_sum-recursion"),
    pytest.param(tp.is_even, [0.7, 5], id="mutual-recursion"),
    pytest.param(tp.power_early, [0.7, 5], id="recursion-early-return"),
    pytest.param(tp.for_call_expr, [2.0], id="for_call_expr"),
    pytest.param(tp.halve_until, [5.3], id="halve_until-while"),
    pytest.param(tp.newton_cubic, [3.0, 30], id="newton_cubic-while"),
    pytest.param(tp.return_in_loop, [0.7], id="return_in_loop"),
    pytest.param(tp.early_return, [2.0], id="early_return"),
    pytest.param(tp.ifexp, [2.0, 1.0], id="ifexp-true"),
    pytest.param(tp.ifexp, [0.5, 1.5], id="ifexp-false"),
    pytest.param(tp.chained, [1.5, 0.0, 2.0], id="chained-comparison"),
    pytest.param(tp.m_all, [1.3, 2.1], id="math"),
    pytest.param(tp.float_ops, [1.7, 0.8], id="float_ops"),
    pytest.param(tp.powers, [1.3], id="powers"),
    pytest.param(tp.wrap_angle, [7.0], id="wrap_angle"),
    pytest.param(tp.kwargs_defaults, [0.7, -1.3], id="kwargs_defaults"),
    pytest.param(scalar_defaults, [0.8], id="subroutine-defaults"),
    pytest.param(scalar_while_branches, [5.3], id="while-branches"),
    pytest.param(tp.uses_closure_and_decorated, [1.1], id="closure-decorated"),
]

# array arguments as well (x first)
ARRAY_CASES = SCALAR_CASES + [
    pytest.param(tp.loop_range, [np.array([0.3, -0.4, 0.8]), 4], id="loop_range"),
    pytest.param(array_loop, [np.array([0.2, -0.5, 0.4]), 3], id="array_loop"),
    pytest.param(tp.rnn, [0.5 * rng(23).randn(3, 3), 0.5 * rng(24).randn(3, 2), rng(25).randn(3),
                          rng(26).randn(5, 2)], id="rnn"),
    pytest.param(tp.mlp, tp.mlp_params(), id="mlp"),
    pytest.param(tp.branch_elif, [np.array([0.3, -0.4, 0.8]), 2], id="branch_elif-2"),
    pytest.param(tp.branch_elif, [np.array([0.3, -0.4, 0.8]), 1], id="branch_elif-1"),
    pytest.param(tp.branch_elif, [np.array([0.3, -0.4, 0.8]), 0], id="branch_elif-0"),
    pytest.param(tp.while_in_for, [np.array([3.0, 0.5, 5.0])], id="while_in_for"),
    pytest.param(tp.halve_array, [np.array([3.0, -2.0, 1.5])], id="halve_array"),
    pytest.param(while_branches, [np.array([1.5, -0.7, 0.9])], id="while-branches-array"),
    pytest.param(tp.two_deep, [rng(27).randn(3), rng(28).randn(3)], id="two_deep"),
    pytest.param(tp.inactive_args, [rng(29).randn(3), rng(30).randn(2)], id="inactive_args"),
    pytest.param(tp.loop_calls, [rng(31).randn(4), 0.8], id="loop_calls"),
    pytest.param(tp.rec_array, [np.array([0.3, 0.5]), 3], id="rec_array"),
    pytest.param(with_defaults, [rng(32).randn(3), 0.7], id="subroutine-defaults-array"),
    pytest.param(tp.collect_states, [np.array([0.2, -0.4]), 3], id="collect_states-append"),
    pytest.param(tp.fill_in_loop, [rng(33).randn(4), rng(34).randn(4)], id="fill_in_loop-store"),
    pytest.param(tp.subscript_store, [np.array([0.5, -1.0, 2.0])], id="subscript_store"),
    pytest.param(tp.unpack_swap, [rng(35).randn(3), rng(36).randn(3)], id="unpack_swap"),
]


@pytest.mark.parametrize("f,args", SCALAR_CASES)
def test_grad_of_grad(f, args):
    check_grad_grad(f, args)


JVP_OF_GRAD_XFAIL = {
}


def with_xfails(cases, reasons):
    return [pytest.param(*c.values, id=c.id, marks=[pytest.mark.xfail(strict=True, reason=reasons[c.id])])
            if c.id in reasons else c for c in cases]


@pytest.mark.parametrize("f,args", with_xfails(ARRAY_CASES, JVP_OF_GRAD_XFAIL))
def test_jvp_of_grad(f, args):
    check_jvp_grad(f, args)


@pytest.mark.parametrize("f,args", ARRAY_CASES)
def test_grad_of_jvp(f, args):
    check_grad_jvp(f, args)


@pytest.mark.parametrize("f,args", ARRAY_CASES)
def test_jvp_of_jvp(f, args):
    check_jvp_jvp(f, args)


def test_second_derivatives_exact_values():
    # power(x, 4) = x**4
    assert tangent.grad(tangent.grad(tp.power))(1.5, 4) == pytest.approx(12 * 1.5 ** 2, rel=1e-12)
    assert tangent.jvp(tangent.jvp(tp.power))(1.5, 4, 1.0, 1.0) == pytest.approx(12 * 1.5 ** 2, rel=1e-12)
    assert tangent.grad(tangent.jvp(tp.power))(1.5, 4, 1.0) == pytest.approx(12 * 1.5 ** 2, rel=1e-12)
    assert tangent.jvp(tangent.grad(tp.power))(1.5, 4, 1.0, 1.0) == pytest.approx(12 * 1.5 ** 2, rel=1e-12)
    # self_loop(x, n) = x ** (n + 1)
    assert tangent.grad(tangent.grad(tp.self_loop))(2.0, 3) == pytest.approx(12 * 2.0 ** 2, rel=1e-12)
    # halve_until(13.7) = (x / 16) ** 2
    assert tangent.grad(tangent.grad(tp.halve_until))(13.7) == pytest.approx(2 / 256, rel=1e-12)


def test_seed_of_gradient_scales_forward_over_reverse():
    x, v = np.array([0.3, -0.4, 0.8]), np.array([1.0, 0.5, -1.0])
    df = tangent.jvp(tangent.grad(tp.loop_range))
    close(df(x, 4, 2.5, v), 2.5 * df(x, 4, 1.0, v), rtol=1e-12, atol=1e-14)


def test_grad_of_jvp_with_respect_to_the_tangent_is_the_gradient():
    # x -> jvp(f)(x, v) is linear in v with coefficient grad f(x)
    x, v = np.array([0.3, -0.4, 0.8]), np.array([1.0, 0.5, -1.0])
    forward = tangent.jvp(tp.loop_range)
    got = tangent.grad(forward, wrt=2)(x, 4, v)
    close(got, tangent.grad(tp.loop_range)(x, 4), rtol=1e-12, atol=1e-14)


def test_vjp_of_jvp_for_vector_function():
    x, w = rng(37).randn(3), 0.8
    r = rng(38)
    v, u = r.randn(3), r.randn(3)
    forward = tangent.jvp(vec_loop)
    got = tangent.vjp(forward)(x, w, v, u)
    expected = numeric_grad(forward, [x, w, v], 0, seed=u)
    close(got, expected)


def test_third_order():
    # d3/dx3 of x ** 4 = 24 x
    f3 = tangent.jvp(tangent.jvp(tangent.grad(tp.power)))
    assert f3(1.5, 4, 1.0, 1.0, 1.0) == pytest.approx(24 * 1.5, rel=1e-10)
    f3 = tangent.grad(tangent.jvp(tangent.jvp(tp.power)))
    assert f3(1.5, 4, 1.0, 1.0) == pytest.approx(24 * 1.5, rel=1e-10)
    # d3/dx3 of sin(x) * y = -cos(x) y
    d3 = tangent.grad(tangent.grad(tangent.grad(tp.m_sin)))
    assert d3(1.5, 2.0) == pytest.approx(-math.cos(1.5) * 2.0, rel=1e-10)


def test_third_order_reverse_recursion():
    d3 = tangent.grad(tangent.grad(tangent.grad(tp.power)))
    assert d3(1.5, 4) == pytest.approx(24 * 1.5, rel=1e-10)


def test_third_order_reverse_loop():
    # self_loop(x, 3) = x ** 4
    d3 = tangent.grad(tangent.grad(tangent.grad(tp.self_loop)))
    assert d3(1.5, 3) == pytest.approx(24 * 1.5, rel=1e-10)


# ---------------------------------------- one component of a vector function

E0 = np.array([1.0, 0.0, 0.0])


def vec_objective(x):
    y = np.tanh(x) * x[0]
    for _ in range(2):
        y = np.sin(y) + x * x[1]
    return np.sum(y * y)


def along_first(t, x):
    return vec_objective(x + t * E0)


def first_component(t, x):
    z = np.array([t, x[1], x[2]])
    return vec_objective(z)


@pytest.mark.parametrize("wrapper", [
    along_first,
    first_component,
], ids=lambda f: f.__name__)
def test_grad_of_grad_of_one_component(wrapper):
    x = np.array([0.4, -0.6, 0.9])
    t = 0.0 if wrapper is along_first else float(x[0])
    got = tangent.grad(tangent.grad(wrapper))(t, x)
    assert isinstance(got, float)
    gradient = tangent.grad(vec_objective)
    expected = fd_along(gradient, [x], 0, E0)[0]
    assert got == pytest.approx(expected, rel=RTOL, abs=ATOL)
    assert got == pytest.approx(tangent.hessian(vec_objective)(x)[0, 0], rel=1e-10)
