"""Hessian-vector products without needless work (issue 11, item 4).

Each shortcut that makes ``tangent.hvp`` cheaper is checked two ways: the
generated code no longer does the work, and the product still equals central
differences of the gradient (in float64), also where the shortcut must not
be taken.
"""

from __future__ import annotations

import numpy as np
import pytest

import tangent
from tangent.testing import check_grads


def gradient_differences(f, args, wrt, vectors, eps=1e-6):
    """Central differences of ``tangent.grad(f, wrt)`` along ``vectors``
    (one per argument in ``wrt``, all moved at once): H v."""
    gradient = tangent.grad(f, wrt=wrt)
    plus, minus = list(args), list(args)
    for i, v in zip(wrt, vectors, strict=True):
        plus[i] = args[i] + eps * v
        minus[i] = args[i] - eps * v
    up, down = gradient(*plus), gradient(*minus)
    if len(wrt) == 1:
        up, down = (up,), (down,)
    return [(u - d) / (2 * eps) for u, d in zip(up, down, strict=True)]


def assert_hvp_matches(f, args, wrt, seed=0):
    rng = np.random.default_rng(seed)
    vectors = [rng.standard_normal(np.shape(args[i])) for i in wrt]
    before = [np.copy(a) for a in args] + [v.copy() for v in vectors]
    product = tangent.hvp(f, wrt=wrt)
    for _ in range(2):  # the generic code and the code specialised at the first call
        got = product(*args, *vectors)
        got = (got,) if len(wrt) == 1 else got
        expected = gradient_differences(f, args, wrt, vectors)
        for g, e in zip(got, expected, strict=True):
            assert np.shape(g) == np.shape(e)
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-7)
    for old, new in zip(before, list(args) + vectors, strict=True):
        np.testing.assert_array_equal(old, new)


def rnn(Wx, Wh, b, xs):
    h = np.zeros((xs.shape[1], Wh.shape[0]))
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ Wx + h @ Wh + b)
    return np.sum(h * h)


def rnn_args(seed=0, n_in=3, n_hidden=4, steps=5, batch=2):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n_in, n_hidden)) / 2, rng.standard_normal((n_hidden, n_hidden)) / 3,
            0.1 * rng.standard_normal(n_hidden), rng.standard_normal((steps, batch, n_in)))


# ---------------------------------------------------------------- inactive values on their own stack


def test_gradient_saves_inactive_values_on_their_own_stack():
    args = rnn_args()
    df = tangent.grad(rnn, wrt=(0, 1, 2))
    for source in (tangent.source(df), tangent.source(df.tangent_specialized_for(*args))):
        assert "inactive_stack.append(_xs_item)" in source  # xs is not differentiated
        assert "stack.append(h)" in source and "inactive_stack.append(h)" not in source


def test_hvp_gives_no_tangent_to_inactive_saved_values():
    args = rnn_args()
    df = tangent.grad(rnn, wrt=(0, 1, 2))
    from tangent.api import autodiff
    from tangent.specialize import differentiable
    for gradient in (df, differentiable(df.tangent_specialized_for(*args), args)):  # (what hvp differentiates)
        source = tangent.source(autodiff(gradient, (0, 1, 2), "forward"))
        assert "d_xs_item" not in source
        assert "dinactive_stack" not in source


def test_rnn_hvp_matches_gradient_differences():
    assert_hvp_matches(rnn, rnn_args(), (0, 1, 2))
    assert_hvp_matches(rnn, rnn_args(1), (1,))
    check_grads(rnn, *rnn_args(2), modes=("forward",), wrt=(1,))


def test_inactive_for_the_gradient_is_active_for_another_direction():
    # The stack split is decided by the gradient's wrt; a forward sweep over
    # the gradient along another argument must still see those values vary.
    args = rnn_args(3)
    gradient = tangent.grad(rnn, wrt=(1,))
    along_xs = tangent.jvp(gradient, wrt=(3,))
    v = np.random.default_rng(4).standard_normal(args[3].shape)
    eps = 1e-6
    plus, minus = list(args), list(args)
    plus[3], minus[3] = args[3] + eps * v, args[3] - eps * v
    expected = (gradient(*plus) - gradient(*minus)) / (2 * eps)
    for _ in range(2):
        np.testing.assert_allclose(along_xs(*args, 1.0, v), expected, rtol=1e-5, atol=1e-7)


def branchy(x, c, n):
    total = 0.0
    for i in range(n):
        if c[i] > 0:  # an inactive condition, saved for the backward pass
            total = total + np.sin(x[i]) * c[i]
        else:
            total = total + x[i] * x[i] * c[i]
    return total


@pytest.mark.parametrize("wrt", [(0,), (0, 1)])
def test_hvp_with_inactive_saved_conditions(wrt):
    x = np.array([0.3, -1.2, 0.8, 2.0])
    c = np.array([1.5, -0.5, 2.0, -1.0])
    assert_hvp_matches(lambda x, c: branchy(x, c, 4), (x, c), wrt)


# ---------------------------------------------------------------- forward mode's helpers: the common case first


def test_tangent_like_fast_paths_keep_the_conversions():
    from tangent.runtime import tangent_like
    t64, t32 = np.ones(3), np.ones(3, dtype=np.float32)
    assert tangent_like(t64, np.zeros(3)) is t64
    pair = (t64, np.ones((2, 2)))
    assert tangent_like(pair, (np.zeros(3), np.zeros((2, 2)))) is pair
    # a float32 value gets a float32 tangent, inside tuples too
    assert tangent_like(t64, np.zeros(3, dtype=np.float32)).dtype == np.float32
    mixed = tangent_like((t64, t64), (np.zeros(3), np.zeros(3, dtype=np.float32)))
    assert [m.dtype for m in mixed] == [np.float64, np.float32]
    assert tangent_like(t32, np.zeros(3)).dtype == np.float64
    # never drops an imaginary part
    assert np.iscomplexobj(tangent_like(np.ones(3) * 1j, np.zeros(3)))


def test_broadcast_tangent_fast_path_keeps_the_broadcast():
    from tangent.runtime import broadcast_tangent
    t = np.ones(3)
    assert broadcast_tangent(t, np.zeros(3)) is t
    wide = broadcast_tangent(t, np.zeros((2, 3)))
    assert wide.shape == (2, 3) and wide.flags.writeable


def float32_loss(W, x):
    return np.sum(np.tanh(x @ W) ** 2)


def test_hvp_of_float32_arguments_is_float32():
    rng = np.random.default_rng(5)
    W, x = rng.standard_normal((3, 2)), rng.standard_normal((4, 3))
    v = rng.standard_normal((3, 2))
    product = tangent.hvp(float32_loss)
    for _ in range(2):
        got = product(W.astype(np.float32), x.astype(np.float32), v)
        assert got.dtype == np.float32
    assert_hvp_matches(float32_loss, (W, x), (0,))


# ---------------------------------------------------------------- sums of tangents without np.sum's dispatch


def sums(x):
    return np.sum(x) * np.sum(x * x, axis=0).sum() + x.sum(axis=1, keepdims=True).sum() + np.sum(np.sin(x), axis=(0, 1))


@pytest.mark.parametrize("x", [np.arange(6.0).reshape(2, 3) / 7, np.linspace(-1, 1, 4)[:, None]])
def test_tangent_sums_skip_np_sum_dispatch(x):
    df = tangent.jvp(sums)
    source = tangent.source(df)
    assert "sum_tangent(dx" in source and "np.sum(dx" not in source
    v = np.random.default_rng(6).standard_normal(x.shape)
    eps = 1e-6
    expected = (sums(x + eps * v) - sums(x - eps * v)) / (2 * eps)
    np.testing.assert_allclose(df(x, v), expected, rtol=1e-6)
    check_grads(sums, x, modes=("forward",))


def scalar_sum(a, b):
    return np.sum(a * b) + np.sum(a)  # a, b Python floats: np.add.reduce of a number


def test_tangent_sum_of_numbers():
    df = tangent.jvp(scalar_sum, wrt=(0, 1))
    eps = 1e-6
    expected = (scalar_sum(0.3 + eps, -1.2 + 2 * eps) - scalar_sum(0.3 - eps, -1.2 - 2 * eps)) / (2 * eps)
    np.testing.assert_allclose(df(0.3, -1.2, 1.0, 2.0), expected, rtol=1e-6)


# ---------------------------------------------------------------- reverse over forward for code with loops


def test_hvp_of_code_with_loops_on_arrays_is_the_gradient_of_the_jvp():
    product = tangent.hvp(rnn, wrt=(0, 1, 2))
    args = rnn_args(7)
    product(*args, *args[:3])
    assert "(reverse mode, generated by Tangent)" in tangent.source(product.tangent_generated["reverse_over_forward"])
    assert_hvp_matches(rnn, args, (0, 1, 2))
    assert_hvp_matches(rnn, rnn_args(8), (2,))


def mlp(W1, b1, W2, x):
    return np.sum(np.tanh(x @ W1 + b1) @ W2)


def test_hvp_of_straight_line_code_stays_forward_over_reverse():
    product = tangent.hvp(mlp, wrt=(0, 1))
    rng = np.random.default_rng(9)
    args = (rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal((4, 2)),
            rng.standard_normal((5, 3)))
    product(*args, *args[:2])
    assert "(forward mode, generated by Tangent)" in product.tangent_source
    assert "reverse_over_forward" not in product.tangent_generated  # never generated
    assert_hvp_matches(mlp, args, (0, 1))


def scalar_steps(x, n):
    for _ in range(n):
        x = np.sin(x) * x
    return x


def test_hvp_of_loops_on_numbers_stays_forward_over_reverse():
    product = tangent.hvp(scalar_steps)
    got = product(0.7, 5, 1.0)
    assert "reverse_over_forward" not in product.tangent_generated
    eps = 1e-5
    gradient = tangent.grad(scalar_steps)
    np.testing.assert_allclose(got, (gradient(0.7 + eps, 5) - gradient(0.7 - eps, 5)) / (2 * eps), rtol=1e-6)


def scaled_rows(x, scale):
    total = 0.0
    for i in range(x.shape[0]):
        total = total + np.sum(np.sin(x[i]) * x[i]) * scale[i]
    return total


def test_reverse_over_forward_leaves_inputs_alone_and_returns_fresh_arrays():
    x = np.linspace(-1.0, 1.0, 6).reshape(3, 2)
    scale = np.array([0.5, -2.0, 1.5])
    assert_hvp_matches(scaled_rows, (x, scale), (0,))
    assert_hvp_matches(scaled_rows, (x, scale), (0, 1))
    v = np.ones_like(x)
    out = tangent.hvp(scaled_rows)(x, scale, v)
    assert not np.shares_memory(out, x) and not np.shares_memory(out, v)
    with pytest.raises(tangent.TangentError, match="takes 2 arguments and 1 vectors"):
        tangent.hvp(scaled_rows)(x, scale)


# ---------------------------------------------------------------- shape rules these need (checked against NumPy)


def test_shape_rules_of_ranges_sequences_and_tangent_helpers():
    from tangent import runtime
    from tangent.rules.shape_values import Array, apply_rule
    from tangent.shapes import rule_for
    n = Array((), value=5, integer=True)
    r = apply_rule(rule_for(range), range, n)
    assert r.shape == np.shape(np.asarray(range(5))) and r.integer
    assert apply_rule(rule_for(runtime.as_sequence), runtime.as_sequence, r) == r
    item = apply_rule(rule_for(__import__("operator").getitem), __import__("operator").getitem, r,
                      Array((), integer=True))
    assert item.shape == () and item.integer
    x, y = Array((2, 3)), Array((3,))
    assert apply_rule(rule_for(runtime.zeros_like), runtime.zeros_like, x).shape == runtime.zeros_like(np.ones((2, 3))).shape
    assert apply_rule(rule_for(runtime.broadcast_tangent), runtime.broadcast_tangent, y, x).shape == \
        runtime.broadcast_tangent(np.ones(3), np.ones((2, 3))).shape
    assert apply_rule(rule_for(runtime.tangent_like), runtime.tangent_like, x, x).shape == (2, 3)


@pytest.mark.parametrize("shape, axis", [((16, 10), 1), ((16, 10), 0), ((40,), None), ((300, 80), 1), ((70, 70), None)])
def test_tangent_of_max_by_mask_or_gather_matches_differences(shape, axis):
    # small arrays take the mask of shares (as the adjoint does), large ones the gather: both are the
    # directional derivative of the max (no ties), checked against central differences
    from tangent.rules.numpy_rules import tangent_extremum
    rng = np.random.default_rng(9)
    x, dx = rng.standard_normal(shape), rng.standard_normal(shape)
    z = np.max(x, axis=axis, keepdims=True)
    eps = 1e-6
    expected = (np.max(x + eps * dx, axis=axis, keepdims=True) - np.max(x - eps * dx, axis=axis, keepdims=True)) / (2 * eps)
    np.testing.assert_allclose(tangent_extremum(dx, z, x, axis, True), expected, rtol=1e-6, atol=1e-8)
    tied = np.concatenate([x, x], axis=0 if axis is None else axis)  # every extremum twice: the mean of the two
    doubled = np.concatenate([dx, 3.0 * dx], axis=0 if axis is None else axis)
    np.testing.assert_allclose(tangent_extremum(doubled, np.max(tied, axis=axis, keepdims=True), tied, axis, True),
                               2.0 * expected, rtol=1e-6, atol=1e-8)
