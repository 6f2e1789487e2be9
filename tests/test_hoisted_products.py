"""Products of a backward loop done after it (tangent/hoisted_products.py).

Every derivative is checked against central finite differences in float64
(``tangent.testing.check_grads``: reverse, forward, the HVP and the vjp of
the gradient; and ``jvp(grad(f))``). Programs where the pass fires say so by
the helper in the specialised source; programs where it must not fire (the
index taken from the tape, a weight reassigned, a ``break``) say so by its
absence. The pass's conditions that user programs cannot reach are checked
on hand-written code, and the run-time helpers against the loop they stand
for.
"""

import ast

import numpy as np
import pytest

import tangent
from tangent import runtime
from tangent.errors import NotDifferentiableError
from tangent.hoisted_products import hoist_products
from tangent.runtime import add_at, add_left_matmuls_at, add_matmul_sums, add_matmuls_at
from tangent.testing import check_grads
from tangent.value_facts import Specialization


def rnn_array(Wx, Wh, b, xs):
    h = np.zeros((xs.shape[1], Wh.shape[0]))
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ Wx + h @ Wh + b)
    return np.sum(h * h)


def rnn_list(Wx, Wh, b, xs):
    h = np.zeros((xs[0].shape[0], Wh.shape[0]))
    for t in range(len(xs)):
        h = np.tanh(xs[t] @ Wx + h @ Wh + b)
    return np.sum(h * h)


def rnn_columns(W, U, b, xs):  # W @ x: the adjoint is W.T @ d, the weight first
    h = np.zeros(U.shape[0])
    for t in range(len(xs)):
        h = np.tanh(W @ xs[t] + U @ h + b)
    return np.sum(h * h)


def rnn_scaled(Wx, Wh, b, xs, scale):  # a float argument: hvp runs forward mode over the specialised gradient
    h = np.zeros((xs.shape[1], Wh.shape[0]))
    for t in range(xs.shape[0]):
        h = np.tanh(scale * (xs[t] @ Wx) + h @ Wh + b)
    return np.sum(h * h)


def rnn_transposed(W, Wh, b, xs):  # xs[t] @ W.T: the weight's transpose is taken, and saved, per step
    h = np.zeros((xs.shape[1], Wh.shape[0]))
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ W.T + h @ Wh + b)
    return np.sum(h * h)


def rnn_reversed(Wx, Wh, b, xs):  # the backward loop's index comes from the tape, not its counter
    h = np.zeros((xs.shape[1], Wh.shape[0]))
    for t in reversed(range(xs.shape[0])):
        h = np.tanh(xs[t] @ Wx + h @ Wh + b)
    return np.sum(h * h)


def rnn_reassigned(Wx, Wh, b, xs):  # the weight changes from step to step
    h = np.zeros((xs.shape[1], Wh.shape[0]))
    for t in range(xs.shape[0]):
        Wx = Wx * 0.9
        h = np.tanh(xs[t] @ Wx + h @ Wh + b)
    return np.sum(h * h)


def rnn_break(Wx, Wh, b, xs, limit):
    h = np.zeros((xs.shape[1], Wh.shape[0]))
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ Wx + h @ Wh + b)
        if np.sum(h * h) > limit:
            break
    return np.sum(h * h)


def rnn_weights(params, xs):  # the weights' gradient: sums of xs[t].T @ d and h.T @ d over the steps
    h = np.zeros((xs.shape[1], params["Wh"].shape[0]))
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ params["Wx"] + h @ params["Wh"] + params["b"])
    return np.sum(h * h)


def _args(rng, steps=5, n_in=3, n_hidden=4, batch=2, as_list=False):
    Wx = rng.standard_normal((n_in, n_hidden)) / np.sqrt(n_in)
    Wh = 0.8 * rng.standard_normal((n_hidden, n_hidden)) / np.sqrt(n_hidden)
    b = 0.1 * rng.standard_normal(n_hidden)
    xs = rng.standard_normal((steps, batch, n_in))
    return Wx, Wh, b, list(xs) if as_list else xs


def _cases():
    rng = np.random.default_rng(7)
    Wx, Wh, b, xs = _args(rng)
    W = rng.standard_normal((4, 3)) / np.sqrt(3)
    return {
        "rnn_array": (rnn_array, (Wx, Wh, b, xs), 3, True),
        "rnn_list": (rnn_list, _args(rng, as_list=True), 3, True),
        "rnn_columns": (rnn_columns, (W, Wh, b, list(rng.standard_normal((5, 3)))), 3, True),
        "rnn_scaled": (rnn_scaled, (Wx, Wh, b, xs, 0.7), 3, True),
        "rnn_weights": (rnn_weights, ({"Wx": Wx, "Wh": Wh, "b": b}, xs), 0, True),
        "rnn_transposed": (rnn_transposed, (Wx.T.copy(), Wh, b, xs), 3, False),
        "rnn_reversed": (rnn_reversed, (Wx, Wh, b, xs), 3, False),
        "rnn_reassigned": (rnn_reassigned, (Wx, Wh, b, xs), 3, False),
        "rnn_break": (rnn_break, (Wx, Wh, b, xs, 4.0), 3, False),
    }


CASES = _cases()


def _specialised_source(f, args, wrt):
    df = tangent.grad(f, wrt=wrt)
    df(*args)
    return tangent.source(df.tangent_specialized_for(*args))


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_pass_fires_where_sound_only(name):
    f, args, wrt, fires = CASES[name]
    source = _specialised_source(f, args, wrt)
    assert ("matmuls_at(" in source or "add_matmul_sums(" in source) is fires, source
    assert "add_at(" in source or fires  # (where it does not fire the accumulation stays)


@pytest.mark.parametrize("name", sorted(CASES))
def test_derivatives_against_finite_differences(name):
    f, args, wrt, _ = CASES[name]
    check_grads(f, *args, wrt=wrt, modes=("reverse", "forward"), order=2)


@pytest.mark.parametrize("name", ["rnn_array", "rnn_list", "rnn_columns", "rnn_scaled"])
def test_jvp_and_vjp_of_the_gradient(name):
    f, args, wrt, _ = CASES[name]
    gradient = tangent.grad(f, wrt=wrt)
    x = args[wrt]
    rng = np.random.default_rng(3)
    v = [rng.standard_normal(np.shape(item)) for item in x] if isinstance(x, list) else rng.standard_normal(x.shape)

    def gradient_at(step):
        moved = list(args)
        moved[wrt] = [a + step * d for a, d in zip(x, v)] if isinstance(x, list) else x + step * v
        return np.asarray(gradient(*moved))

    eps = 1e-5
    expected = (gradient_at(eps) - gradient_at(-eps)) / (2 * eps)
    forward = tangent.jvp(gradient, wrt=wrt)(*args, 1.0, v)
    np.testing.assert_allclose(np.asarray(forward), expected, rtol=1e-6, atol=1e-8)
    reverse = tangent.vjp(gradient, wrt=wrt)(*args, 1.0, v)  # the Hessian is symmetric: H^T v = H v
    np.testing.assert_allclose(np.asarray(reverse), expected, rtol=1e-6, atol=1e-8)


def test_hvp_differentiates_the_variant_without_the_helper(monkeypatch):
    f, args, wrt, _ = CASES["rnn_scaled"]
    gradient = tangent.grad(f, wrt=wrt)
    ran = gradient.tangent_specialized_for(*args, 1.0)
    assert "add_matmuls_at(" in tangent.source(ran)
    differentiated = []

    def recording(code, key):
        differentiated.append(tangent.api.differentiable.__wrapped__(code, key))
        return differentiated[-1]

    recording.__wrapped__ = tangent.api.differentiable
    monkeypatch.setattr(tangent.api, "differentiable", recording)
    v = np.random.default_rng(5).standard_normal(args[wrt].shape)
    got = tangent.hvp(f, wrt=wrt)(*args, v)
    assert differentiated and "matmuls_at(" not in tangent.source(differentiated[0])
    tangent.autodiff(differentiated[0], wrt, "forward")  # (what hvp made of it: no refusal)
    variant = ran.tangent_differentiable((*args, 1.0))
    assert "matmuls_at(" not in tangent.source(variant) and "add_matmul_sums(" not in tangent.source(variant)
    assert "add_at(" in tangent.source(variant)
    eps = 1e-5
    moved = [list(args), list(args)]
    moved[0][wrt], moved[1][wrt] = args[wrt] + eps * v, args[wrt] - eps * v
    expected = (gradient(*moved[0]) - gradient(*moved[1])) / (2 * eps)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def test_differentiating_the_weights_sums_is_refused_too():
    f, args, wrt, _ = CASES["rnn_weights"]
    ran = tangent.grad(f, wrt=wrt).tangent_specialized_for(*args, 1.0)
    assert "add_matmul_sums(" in tangent.source(ran)
    with pytest.raises(NotDifferentiableError, match="add_matmul_sums"):
        tangent.jvp(ran, wrt=1)(*args, 1.0, np.ones_like(args[1]))


def test_differentiating_the_code_that_runs_is_refused_naming_the_helper():
    f, args, wrt, _ = CASES["rnn_array"]
    gradient = tangent.grad(f, wrt=wrt)
    ran = gradient.tangent_specialized_for(*args, 1.0)
    with pytest.raises(NotDifferentiableError, match="add_matmuls_at .* differentiate the gradient itself"):
        tangent.grad(ran, wrt=wrt, check_dims=False)(*args, 1.0)
    with pytest.raises(NotDifferentiableError, match="add_matmuls_at"):
        tangent.jvp(ran, wrt=wrt)(*args, 1.0, np.ones_like(args[wrt]))


def test_the_gradient_is_the_loops_and_owned():
    f, args, wrt, _ = CASES["rnn_list"]
    before = [a.copy() for a in args[wrt]]
    got = tangent.grad(f, wrt=wrt)(*args)
    want = tangent.grad(f, wrt=wrt, optimized=False)(*args)
    for g, w, x, old in zip(got, want, args[wrt], before):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)
        assert g.base is None and g.flags.writeable and g.dtype == x.dtype
        np.testing.assert_array_equal(x, old)


# ----------------------------------------------------------- conditions on hand-written code

_ACCUMULATING = """
def df(W, xs, dh):
    stack = []
    _range = range(3)
    dxs = buffer_like(xs)
    for t in reversed(_range):
        d_a = dh * 2.0
        h = stack.pop()
        {extra}
        d_item = d_a @ W.T
        dxs = add_at(dxs, t, d_item)
        {after}
    return dxs
"""


def _hoisted(source: str, W=np.ones((2, 2))):
    fdef = ast.parse(source).body[0]
    namespace = {"add_at": runtime.add_at, "buffer_like": runtime.buffer_like, "np": np}
    special = Specialization({}, {"W": W, "xs": np.ones((3, 2)), "dh": np.ones(2)}, frozenset(), namespace,
                             run_only=True, bind_global=lambda hint, value: hint)
    return ast.unparse(hoist_products(fdef, special))


def test_hand_written_accumulation_is_rewritten():
    out = _hoisted(_ACCUMULATING.format(extra="pass", after="pass"))
    assert "dxs = add_matmuls_at(dxs, reversed(_range), d_a_steps, W.T)" in out and "add_at(" not in out


@pytest.mark.parametrize("extra, after", [
    ("d_a[0] = 1.0", "pass"),                    # A written after its product is taken
    ("pass", "d_a[0] = 1.0"),                    # ... or after the accumulation
    ("pass", "np.add.at(d_a, 0, 1.0)"),          # ... by a call
    ("pass", "d_a = add_at(d_a, t, dh)"),        # ... by an accumulation into it
    ("W = W * 2.0", "pass"),                     # W reassigned
    ("pass", "t = 0"),                           # the index assigned in the body
    ("pass", "_range = range(2)"),               # the range reassigned in the body
    ("pass", "dh = dxs[0]"),                     # the buffer read elsewhere in the body
    ("pass", "dh = d_item * 1.0"),               # the product read elsewhere
    ("pass", "break"),                           # a break
    ("pass", "continue"),                        # a continue
    ("pass", "return dxs"),                      # a return
    ("h = stack", "pass"),                       # the tape aliased: its pops may be another list's
])
def test_the_pass_does_not_fire_when_unsound(extra, after):
    source = _ACCUMULATING.format(extra=extra, after=after)
    assert "matmuls_at" not in _hoisted(source)


@pytest.mark.parametrize("change", [
    ("_range = range(3)", "_range = list(range(3))"),      # not a range
    ("reversed(_range)", "reversed(range(3))"),            # not a name
    ("add_at(dxs, t, d_item)", "add_at(dxs, 0, d_item)"),  # not the loop's counter
    ("d_a @ W.T", "d_a @ h"),                              # not a parameter (popped per step)
])
def test_the_pass_does_not_fire_on_other_forms(change):
    source = _ACCUMULATING.format(extra="pass", after="pass").replace(*change)
    assert "matmuls_at" not in _hoisted(source)


def test_the_pass_does_not_fire_on_a_weight_that_is_no_array():
    assert "matmuls_at" not in _hoisted(_ACCUMULATING.format(extra="pass", after="pass"), W=[[1.0, 0.0], [0.0, 1.0]])


_SUMMING = """
def df(W, xs, dh):
    stack = []
    _range = range(3)
    dW = zeros_like(W)
    for t in reversed(_range):
        d_a = dh * 2.0
        x = stack.pop()
        dW = dW + x.T @ d_a
        {after}
    return dW
"""


def test_hand_written_sum_is_rewritten():
    out = _hoisted(_SUMMING.format(after="pass"))
    assert "dW = add_matmul_sums(dW, x_steps, d_a_steps)" in out and "dW + " not in out


@pytest.mark.parametrize("after", ["x[0] = 1.0", "d_a[0] = 1.0", "dh = dW * 1.0", "break", "x = add_at(x, t, dh)",
                                   "dW = dW * 2.0", "dW = dh + dW", "dW = dW + dW"])
def test_the_sum_is_not_rewritten_when_unsound(after):
    assert "add_matmul_sums" not in _hoisted(_SUMMING.format(after=after))


def test_two_sums_into_one_total_are_both_rewritten():  # (an HVP's weights: dW + dh.T @ dd, then + h.T @ d)
    out = _hoisted(_SUMMING.format(after="y = stack.pop()\n        dW = dW + y.T @ dh"))
    assert "dW = add_matmul_sums(dW, x_steps, d_a_steps)" in out and "dW = add_matmul_sums(dW, y_steps, dh_steps)" \
        in out and "dW + " not in out


def rnn_dict(params, data):
    h = np.zeros((data["xs"].shape[1], params["Wh"].shape[0]))
    for t in range(data["xs"].shape[0]):
        h = np.tanh(data["xs"][t] @ params["Wx"] + h @ params["Wh"] + params["b"])
    return np.sum(h * h)


def test_the_hvp_of_an_rnn_sums_its_weights_products_after_the_loop():
    rng = np.random.default_rng(11)
    params = {"Wx": rng.standard_normal((3, 4)) * 0.5, "Wh": rng.standard_normal((4, 4)) * 0.5,
              "b": rng.standard_normal(4)}
    data = {"xs": rng.standard_normal((5, 2, 3))}
    vector = {k: rng.standard_normal(v.shape) for k, v in params.items()}
    before = {k: v.copy() for k, v in params.items()}
    product = tangent.hvp(rnn_dict)
    got = product(params, data, vector)
    gradient, eps = tangent.grad(rnn_dict), 1e-6
    plus = gradient({k: p + eps * vector[k] for k, p in params.items()}, data)
    minus = gradient({k: p - eps * vector[k] for k, p in params.items()}, data)
    for key in params:
        np.testing.assert_allclose(got[key], (plus[key] - minus[key]) / (2 * eps), rtol=1e-5, atol=1e-7)
        np.testing.assert_array_equal(params[key], before[key])
    code = product.tangent_generated["reverse_over_forward"].tangent_specialized_for(params, data, vector)
    assert code.tangent_source.count(" = add_matmul_sums(") == 3  # (Wx once, Wh twice)


def test_the_pass_does_not_fire_in_code_that_may_be_differentiated():
    fdef = ast.parse(_ACCUMULATING.format(extra="pass", after="pass")).body[0]
    special = Specialization({}, {"W": np.ones((2, 2))}, frozenset(), {"add_at": runtime.add_at},
                             bind_global=lambda hint, value: hint)
    assert "matmuls_at" not in ast.unparse(hoist_products(fdef, special))


# ----------------------------------------------------------- the run-time helpers against their loop

def _loop(buffer, indices, pairs):
    for i, (a, b) in zip(indices, pairs):
        buffer = add_at(buffer, i, a @ b)
    return buffer


_INDICES = [list(range(6)), list(range(5, -1, -1)), [5, 0, 2, 1, 4, 3], [1, 1, 2, 3, 4, 0], [0, 1, 2, 3, 4, 6]]


@pytest.mark.parametrize("step_shape", [(4,), (2, 4), (3, 2, 4)])
@pytest.mark.parametrize("other_shape", [(4,), (4, 5)])
@pytest.mark.parametrize("indices", range(len(_INDICES)))
def test_add_matmuls_at_is_its_loop(step_shape, other_shape, indices):
    rng = np.random.default_rng(0)
    lefts = [rng.standard_normal(step_shape) for _ in range(6)]
    right = rng.standard_normal(other_shape)
    shape = np.shape(lefts[0] @ right)
    idx = _INDICES[indices]
    try:
        want = _loop(np.zeros((7,) + shape), idx, [(a, right) for a in lefts])
    except IndexError:
        want = None
    buffer = np.zeros((7,) + shape)
    if want is None:
        with pytest.raises(IndexError):
            add_matmuls_at(buffer, idx, lefts, right)
        return
    np.testing.assert_allclose(add_matmuls_at(buffer, iter(idx), lefts, right), want, rtol=1e-12, atol=1e-14)
    rights = [a.swapaxes(-1, -2) if a.ndim > 1 else a for a in lefts]
    left = right.T
    want = _loop(np.zeros((7,) + np.shape(left @ rights[0])), idx, [(left, r) for r in rights])
    got = add_left_matmuls_at(np.zeros(want.shape), idx, left, rights)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_add_matmuls_at_keeps_the_loops_meaning_elsewhere():
    rng = np.random.default_rng(1)
    right = rng.standard_normal((3, 2))
    lefts = [rng.standard_normal(3) for _ in range(3)]
    # a list buffer: each product put in its slot, as add_at does
    got = add_matmuls_at(runtime.buffer_like([np.zeros(2)] * 3), range(3), lefts, right)
    for g, a in zip(got, lefts):
        np.testing.assert_allclose(g, a @ right)
    # lefts of different shapes, or not arrays: one product at a time
    mixed = [rng.standard_normal(3), rng.standard_normal(3).astype(np.float32), [1.0, 2.0, 3.0]]
    want = _loop(np.zeros((3, 2)), range(3), [(a, right) for a in mixed])
    np.testing.assert_allclose(add_matmuls_at(np.zeros((3, 2)), range(3), mixed, right), want)
    # complex products into a real buffer: widened, as add_at does
    complex_lefts = [a + 1j for a in lefts]
    got = add_matmuls_at(np.zeros((3, 2)), range(3), complex_lefts, right)
    np.testing.assert_allclose(got, np.stack([a @ right for a in complex_lefts]))
    # a float32 buffer stays float32
    got = add_matmuls_at(np.zeros((3, 2), np.float32), range(3), lefts, right)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, np.stack([a @ right for a in lefts]), rtol=1e-6)
    # no steps: the buffer as it was
    buffer = np.ones((3, 2))
    assert add_matmuls_at(buffer, range(0), [], right) is buffer
    with pytest.raises(ValueError):
        add_matmuls_at(buffer, range(2), lefts, right)


def test_add_matmul_sums_is_its_loop():
    rng = np.random.default_rng(2)
    lefts = [rng.standard_normal((4, 3)) for _ in range(5)]
    rights = [rng.standard_normal((4, 2)) for _ in range(5)]
    want = np.ones((3, 2))
    for x, a in zip(lefts, rights):
        want = want + x.T @ a
    start = np.ones((3, 2))
    np.testing.assert_allclose(add_matmul_sums(start, lefts, rights), want, rtol=1e-12)
    np.testing.assert_array_equal(start, np.ones((3, 2)))  # (a new array: the loop's + makes one too)
    mixed = lefts[:4] + [lefts[4].astype(np.float32)]  # one by one: the loop's promotions
    want = np.ones((3, 2))
    for x, a in zip(mixed, rights):
        want = want + x.T @ a
    np.testing.assert_allclose(add_matmul_sums(np.ones((3, 2)), mixed, rights), want, rtol=1e-6)
    assert add_matmul_sums(start, [], []) is start
    with pytest.raises(ValueError):
        add_matmul_sums(start, lefts, rights[:2])
