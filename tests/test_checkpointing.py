"""Checkpointing (issue 14): checkpointed calls, binomial checkpointing of
loops and the memory budget. Every gradient is checked against central
finite differences and against the gradient of the same program without
checkpointing; no argument is ever mutated."""

import numpy as np
import pytest

import tangent
from tangent.runtime import checkpointing as schedule
from tests.utils import assert_tree_close, numeric_grad


def cell(W, h, x):
    return np.tanh(W @ h + x)


def rnn_checkpoint(W, h, xs):
    for t in range(xs.shape[0]):
        h = tangent.checkpoint(cell)(W, h, xs[t])
    return np.sum(h * h)


def rnn_plain(W, h, xs):
    for t in range(xs.shape[0]):
        h = cell(W, h, xs[t])
    return np.sum(h * h)


def rnn_args(T=7, n=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, n)) / np.sqrt(n), rng.normal(size=n), rng.normal(size=(T, n))


def check_against_plain(f, plain, args, wrt):
    """f's gradient: equal to plain's (1e-10), close to finite differences,
    the arguments unchanged; returns it."""
    before = [np.copy(a) for a in args]
    got = tangent.grad(f, wrt=wrt)(*args)
    got = got if len(wrt) > 1 else (got,)
    ref = tangent.grad(plain, wrt=wrt)(*args)
    ref = ref if len(wrt) > 1 else (ref,)
    for g, r, i in zip(got, ref, wrt):
        np.testing.assert_allclose(g, r, rtol=0, atol=1e-10)
        assert_tree_close(g, numeric_grad(f, args, i), rtol=1e-5, atol=1e-6)
        assert isinstance(g, np.ndarray) and g.dtype == args[i].dtype
    for a, b in zip(args, before):
        np.testing.assert_array_equal(a, b)
    return got


# ------------------------------------------------------------ checkpoint(f)
def test_checkpoint_is_the_function_outside_grad():
    assert tangent.checkpoint(cell) is cell
    W, h, xs = rnn_args()
    assert rnn_checkpoint(W, h, xs) == rnn_plain(W, h, xs)


def test_checkpointed_call_in_a_loop():
    check_against_plain(rnn_checkpoint, rnn_plain, rnn_args(), wrt=(0, 1, 2))


def test_checkpointed_call_keeps_only_the_arguments():
    source = tangent.source(tangent.grad(rnn_checkpoint, wrt=(0, 1)))
    entry = source[source.index("def drnn_checkpoint"):]
    # the forward sweep calls the plain cell; the backward sweep recomputes its tape
    assert "h = cell(W, h," in entry
    assert "cell_fwd(_cell_inputs[0], _cell_inputs[1], _cell_inputs[2])[1]" in entry
    assert "stack.append(_cell_inputs)" in entry


def scaled_cell(W, h, x, scale=1.0):
    z = W @ h
    return np.sin(z * scale) + x


def keywords_and_constants(W, h, xs):
    for t in range(xs.shape[0]):
        h = tangent.checkpoint(scaled_cell)(W, h, xs[t], scale=0.5)
        h = tangent.checkpoint(scaled_cell)(W, h, 2.0)
    return np.sum(h)


def keywords_and_constants_plain(W, h, xs):
    for t in range(xs.shape[0]):
        h = scaled_cell(W, h, xs[t], scale=0.5)
        h = scaled_cell(W, h, 2.0)
    return np.sum(h)


def test_keywords_and_constant_arguments():
    check_against_plain(keywords_and_constants, keywords_and_constants_plain, rnn_args(T=4), wrt=(0, 1))


def written_after(W, h, x):
    h = h * 1.0
    y = tangent.checkpoint(cell)(W, h, x)
    h[0] = 3.0 * h[1]  # writes into the argument the call was given
    return np.sum(y * h)


def written_after_plain(W, h, x):
    h = h * 1.0
    y = cell(W, h, x)
    h[0] = 3.0 * h[1]
    return np.sum(y * h)


def test_argument_written_after_the_call_is_copied():
    W, h, xs = rnn_args()
    check_against_plain(written_after, written_after_plain, (W, h, xs[0]), wrt=(0, 1))
    assert "copy_tangent(h)" in tangent.source(tangent.grad(written_after, wrt=(0,)))


def writing_cell(W, h, x):
    out = W @ h
    out[0] = out[0] * x[0]
    h2 = h * 1.0
    return np.tanh(out + h2)


def calls_writing_cell(W, h, xs):
    for t in range(xs.shape[0]):
        h = tangent.checkpoint(writing_cell)(W, h, xs[t])
    return np.sum(h)


def calls_writing_cell_plain(W, h, xs):
    for t in range(xs.shape[0]):
        h = writing_cell(W, h, xs[t])
    return np.sum(h)


def test_cell_writing_into_arrays():
    check_against_plain(calls_writing_cell, calls_writing_cell_plain, rnn_args(T=5), wrt=(0, 1, 2))


def outer_cell(W, h, x):
    return cell(W, cell(W, h, x), x) * 0.5


def nested_calls(W, h, xs):
    for t in range(xs.shape[0]):
        h = tangent.checkpoint(outer_cell)(W, h, xs[t])
    return np.sum(h)


def nested_calls_plain(W, h, xs):
    for t in range(xs.shape[0]):
        h = outer_cell(W, h, xs[t])
    return np.sum(h)


def test_subroutine_calls_inside_a_checkpointed_call():
    check_against_plain(nested_calls, nested_calls_plain, rnn_args(T=4), wrt=(0, 1))


def hooked(W, h, xs):
    for t in range(xs.shape[0]):
        h = tangent.checkpoint(cell)(W, h, xs[t])
        with tangent.insert_grad_of(h) as dh:
            dh = dh * 0.5
    return np.sum(h)


def hooked_plain(W, h, xs):
    for t in range(xs.shape[0]):
        h = cell(W, h, xs[t])
        with tangent.insert_grad_of(h) as dh:
            dh = dh * 0.5
    return np.sum(h)


def test_insert_grad_of_after_a_checkpointed_call():
    W, h, xs = rnn_args(T=4)
    got = tangent.grad(hooked, wrt=(0,))(W, h, xs)
    ref = tangent.grad(hooked_plain, wrt=(0,))(W, h, xs)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-10)
    unhooked = tangent.grad(rnn_plain, wrt=(0,))(W, h, xs)
    assert not np.allclose(got, unhooked)  # the hook ran


def test_forward_mode_and_hvp_see_the_function():
    W, h, xs = rnn_args(T=4)
    v = np.random.default_rng(3).normal(size=h.shape)
    jvp = tangent.jvp(rnn_checkpoint, wrt=(1,))(W, h, xs, v)
    eps = 1e-6
    fd = (rnn_plain(W, h + eps * v, xs) - rnn_plain(W, h - eps * v, xs)) / (2 * eps)
    np.testing.assert_allclose(jvp, fd, rtol=1e-6)
    hv = tangent.hvp(rnn_checkpoint, wrt=(1,))(W, h, xs, v)
    ref = tangent.hvp(rnn_plain, wrt=(1,))(W, h, xs, v)
    np.testing.assert_allclose(hv, ref, rtol=0, atol=1e-10)
    dplain = tangent.grad(rnn_plain, wrt=(1,))
    fd = (dplain(W, h + eps * v, xs) - dplain(W, h - eps * v, xs)) / (2 * eps)
    np.testing.assert_allclose(hv, fd, rtol=1e-5, atol=1e-7)


def test_checkpoint_of_a_nested_function_is_refused():
    def f(x):
        def inner(y):
            return np.sin(y)
        return np.sum(tangent.checkpoint(inner)(x))

    with pytest.raises(tangent.TangentSyntaxError, match="nested function 'inner'.*\n.*module level"):
        tangent.grad(f)(np.ones(3))


# ------------------------------------------------------------ the schedule
@pytest.mark.parametrize("steps,snapshots", [(1, 1), (2, 1), (7, 1), (10, 3), (50, 2), (100, 10), (5, 10),
                                             (1000, 10), (4000, 60)])
def test_binomial_schedule(steps, snapshots):
    """The schedule reverses every step once, in order, holding at most
    ``snapshots`` snapshots, and runs no step more than t + 1 times (t the
    binomial bound on repetitions, beta(snapshots, t) >= steps)."""
    held = set(schedule.forward_snapshots(steps, snapshots))
    most, current, reversed_steps = len(held), None, []
    runs = [1] * steps  # the forward sweep
    for action in schedule.backward_schedule(steps, snapshots):
        if action[0] == "restore":
            assert action[1] in held
            current = action[1]
        elif action[0] == "advance":
            assert current == action[1]
            for i in range(action[1], action[2]):
                runs[i] += 1
            current = action[2]
        elif action[0] == "take":
            assert current == action[1]
            held.add(action[1])
            most = max(most, len(held))
        elif action[0] == "reverse":
            assert current == action[1]
            reversed_steps.append(action[1])
            current = None
        else:
            held.remove(action[1])
    assert reversed_steps == list(range(steps - 1, -1, -1))
    assert most <= snapshots
    assert max(runs) <= schedule.repetitions(steps, snapshots) + 1
    assert schedule.binomial(snapshots, schedule.repetitions(steps, snapshots)) >= steps


# ------------------------------------------------------------ checkpointed loops
def rnn_loop(W, h, xs, k):
    for t in tangent.checkpointed(range(xs.shape[0]), snapshots=k):
        a = W @ h + xs[t]
        h = np.tanh(a)
    return np.sum(h * h)


def rnn_loop_plain(W, h, xs, k):
    for t in range(xs.shape[0]):
        a = W @ h + xs[t]
        h = np.tanh(a)
    return np.sum(h * h)


@pytest.mark.parametrize("T,k", [(1, 1), (7, 1), (7, 2), (7, 3), (9, 9), (5, 20)])
def test_checkpointed_loop(T, k):
    W, h, xs = rnn_args(T=T)
    check_against_plain(rnn_loop, rnn_loop_plain, (W, h, xs, k), wrt=(0, 1, 2))


def test_checkpointed_loop_of_no_steps():
    W, h, xs = rnn_args(T=0)
    got = tangent.grad(rnn_loop, wrt=(0, 1))(W, h, xs, 3)
    np.testing.assert_array_equal(got[0], np.zeros_like(W))
    np.testing.assert_allclose(got[1], 2 * h)


def test_checkpointed_loop_is_the_loop_outside_grad():
    W, h, xs = rnn_args()
    assert rnn_loop(W, h, xs, 2) == rnn_loop_plain(W, h, xs, 2)
    assert list(tangent.checkpointed(range(4), snapshots=2)) == [0, 1, 2, 3]


def test_the_generated_code_shows_the_driver_and_the_step():
    source = tangent.source(tangent.grad(rnn_loop, wrt=(0, 1)))
    assert "def rnn_loop_step_fwd(t, h, W, xs):" in source
    assert "def rnn_loop_step_bwd(tape, dh_1):" in source  # (the step returns h_1: tangent/versions.py)
    assert "checkpointed_loop(rnn_loop_step, _range, k, (h,), (W, xs))" in source
    assert "binomial checkpointing" in source
    # the step's code names the user's lines
    assert "test_checkpointing.py:" in source[source.index("def rnn_loop_step_bwd"):]


def lstm_like(W, U, h, c, xs):
    s = 0.0
    n = 0
    for t in tangent.checkpointed(range(xs.shape[0]), snapshots=3):
        x = xs[t]
        g = np.tanh(W @ h + x)
        # a comment inside the body
        if n % 2 == 0:
            c = c * 0.5 + g
        else:
            c = c + U @ g
        h = np.sin(c) * g
        s = s + np.sum(h * x)
        n = n + 1
    return s + np.sum(c)


def lstm_like_plain(W, U, h, c, xs):
    s = 0.0
    n = 0
    for t in range(xs.shape[0]):
        x = xs[t]
        g = np.tanh(W @ h + x)
        if n % 2 == 0:
            c = c * 0.5 + g
        else:
            c = c + U @ g
        h = np.sin(c) * g
        s = s + np.sum(h * x)
        n = n + 1
    return s + np.sum(c)


def test_several_carried_values_branches_and_an_inactive_counter():
    rng = np.random.default_rng(1)
    W, h, xs = rnn_args(T=8)
    U = rng.normal(size=W.shape) * 0.3
    c = rng.normal(size=h.shape)
    check_against_plain(lstm_like, lstm_like_plain, (W, U, h, c, xs), wrt=(0, 1, 2, 3, 4))


def inner_and_calls(W, h, xs):
    T = xs.shape[0]
    for t in tangent.checkpointed(range(T), snapshots=int(np.sqrt(T))):
        for j in range(2):  # a loop nested in the checkpointed one
            h = cell(W, h, xs[t] * j)
        h = tangent.checkpoint(cell)(W, h, xs[t])
    return np.sum(h)


def inner_and_calls_plain(W, h, xs):
    T = xs.shape[0]
    for t in range(T):
        for j in range(2):
            h = cell(W, h, xs[t] * j)
        h = cell(W, h, xs[t])
    return np.sum(h)


def test_nested_loops_and_subroutine_calls_in_the_step():
    check_against_plain(inner_and_calls, inner_and_calls_plain, rnn_args(T=9), wrt=(0, 1, 2))


def outer_loop(W, h, xs):
    for _r in range(3):
        for t in tangent.checkpointed(range(xs.shape[0]), snapshots=2):
            h = cell(W, h, xs[t])
        h = h * 0.9
    return np.sum(h)


def outer_loop_plain(W, h, xs):
    for _r in range(3):
        for t in range(xs.shape[0]):
            h = cell(W, h, xs[t])
        h = h * 0.9
    return np.sum(h)


def test_checkpointed_loop_inside_a_loop():
    check_against_plain(outer_loop, outer_loop_plain, rnn_args(T=5), wrt=(0, 1))


def nested_checkpointed(W, h, xs):
    for _r in tangent.checkpointed(range(2), snapshots=1):
        for t in tangent.checkpointed(range(xs.shape[0]), snapshots=2):
            h = cell(W, h, xs[t])
    return np.sum(h)


def test_checkpointed_loop_inside_a_checkpointed_loop():
    check_against_plain(nested_checkpointed, nested_checkpointed_plain,
                        rnn_args(T=5), wrt=(0, 1))


def nested_checkpointed_plain(W, h, xs):
    for _r in range(2):
        for t in range(xs.shape[0]):
            h = cell(W, h, xs[t])
    return np.sum(h)


def hook_in_loop(W, h, xs):
    for t in tangent.checkpointed(range(xs.shape[0]), snapshots=2):
        h = cell(W, h, xs[t])
        with tangent.insert_grad_of(h) as dh:
            dh = dh * 0.5
    return np.sum(h)


def test_insert_grad_of_in_a_checkpointed_loop():
    W, h, xs = rnn_args(T=5)
    got = tangent.grad(hook_in_loop, wrt=(0,))(W, h, xs)
    ref = tangent.grad(hooked_plain, wrt=(0,))(W, h, xs)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-10)


def writes_into_readonly(W, h, xs):
    hs = np.zeros((xs.shape[0], h.shape[0]))
    for t in tangent.checkpointed(range(xs.shape[0]), snapshots=2):
        h = cell(W, h, xs[t])
        hs[t] = h
    return np.sum(hs)


def reads_loop_variable(W, h, xs):
    for t in tangent.checkpointed(range(xs.shape[0]), snapshots=2):
        h = cell(W, h, xs[t])
    return np.sum(h) * t


def breaks(W, h, xs):
    for t in tangent.checkpointed(range(xs.shape[0]), snapshots=2):
        h = cell(W, h, xs[t])
        if t > 2:
            break
    return np.sum(h)


def not_a_range(W, h, xs):
    for x in tangent.checkpointed(xs, snapshots=2):
        h = cell(W, h, x)
    return np.sum(h)


@pytest.mark.parametrize("f,message", [
    (writes_into_readonly, "cannot write into 'hs', which it does not assign"),
    (reads_loop_variable, "loop variable 't' of a checkpointed loop is read after the loop"),
    (breaks, "cannot stop early"),
    (not_a_range, "takes a range"),
])
def test_refusals_name_the_line(f, message):
    with pytest.raises(tangent.TangentSyntaxError, match=message) as info:
        tangent.grad(f)(*rnn_args(T=4))
    assert "test_checkpointing.py:" in str(info.value)
    assert "_stack" not in str(info.value)


# ------------------------------------------------------------ memory_limit
def heat(u, r, steps):
    for _t in range(steps):
        u = u + r * (np.roll(u, 1) - 2.0 * u + np.roll(u, -1))
    return np.sum(u * u)


def heat_with_writes(u, r, steps):
    hs = np.zeros(steps)
    for t in range(steps):
        u = u + r * (np.roll(u, 1) - 2.0 * u + np.roll(u, -1))
        hs[t] = np.sum(u)
    return np.sum(u * u) + np.sum(hs)


def test_memory_limit_checkpoints_range_loops():
    u = np.sin(np.linspace(0.0, 6.0, 50))
    df = tangent.grad(heat, wrt=(0, 1), memory_limit="20 kB")
    got = df(u, 0.2, 40)
    ref = tangent.grad(heat, wrt=(0, 1))(u, 0.2, 40)
    np.testing.assert_allclose(got[0], ref[0], rtol=0, atol=1e-10)
    np.testing.assert_allclose(got[1], ref[1], rtol=0, atol=1e-10)
    assert_tree_close(got[0], numeric_grad(heat, [u, 0.2, 40], 0))
    assert_tree_close(got[1], numeric_grad(heat, [u, 0.2, 40], 1))
    special = tangent.source(df.tangent_specialized_for(u, 0.2, 40))
    # 50 float64 values (400 bytes and 176 of overhead) a snapshot; 24 of them
    # and 3 numbers (360 bytes) reserved: 0.8 * (20000 - 14184) // 576 = 8
    assert "memory_limit=0.02 MB: binomial checkpointing with at most 8 snapshots" in special
    assert "checkpointed_loop(heat_step, _range, 8, (u,), (r,))" in special


def test_memory_limit_holds_the_peak():
    import tracemalloc

    u = np.sin(np.linspace(0.0, 6.0, 500))
    limit = 200_000
    df = tangent.grad(heat, wrt=(0,), memory_limit=limit)
    df(u, 0.2, 3000)  # the first call specialises
    tracemalloc.start()
    try:
        got = df(u, 0.2, 3000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= limit
    plain = tangent.grad(heat, wrt=(0,))
    np.testing.assert_allclose(got, plain(u, 0.2, 3000), rtol=0, atol=1e-10)


def test_memory_limit_leaves_loops_it_cannot_checkpoint():
    u = np.sin(np.linspace(0.0, 6.0, 20))
    got = tangent.grad(heat_with_writes, wrt=(0,), memory_limit="1 MB")(u, 0.2, 6)
    np.testing.assert_allclose(got, tangent.grad(heat_with_writes, wrt=(0,))(u, 0.2, 6), rtol=0, atol=1e-10)


@pytest.mark.parametrize("limit", ["lots", -5, "12 parsecs", 0])
def test_bad_memory_limit(limit):
    with pytest.raises(tangent.TangentError, match="memory_limit"):
        tangent.grad(heat, memory_limit=limit)


def test_memory_limit_is_for_reverse_mode():
    with pytest.raises(tangent.TangentError, match="memory_limit is for reverse mode"):
        tangent.autodiff(heat, mode="forward", memory_limit="1 MB")


@pytest.mark.parametrize("k", [1, 2, 3])
def test_hvp_through_a_checkpointed_loop(k):
    """Forward over reverse: the drivers' forward rules run the schedule on
    (value, tangent) pairs."""
    W, h, xs = rnn_args(T=5)
    rng = np.random.default_rng(5)
    vW, vh = rng.normal(size=W.shape), rng.normal(size=h.shape)
    before = [np.copy(a) for a in (W, h, xs, vW, vh)]
    got = tangent.hvp(rnn_loop, wrt=(0, 1))(W, h, xs, k, vW, vh)
    ref = tangent.hvp(rnn_loop_plain, wrt=(0, 1))(W, h, xs, k, vW, vh)
    dplain = tangent.grad(rnn_loop_plain, wrt=(0, 1))
    eps = 1e-6
    plus, minus = dplain(W + eps * vW, h + eps * vh, xs, k), dplain(W - eps * vW, h - eps * vh, xs, k)
    for g, r, p, m in zip(got, ref, plus, minus):
        np.testing.assert_allclose(g, r, rtol=0, atol=1e-10)
        np.testing.assert_allclose(g, (p - m) / (2 * eps), rtol=1e-5, atol=1e-7)
    for a, b in zip((W, h, xs, vW, vh), before):
        np.testing.assert_array_equal(a, b)


def test_hvp_with_several_carried_values():
    rng = np.random.default_rng(1)
    W, h, xs = rnn_args(T=6)
    U, c = rng.normal(size=W.shape) * 0.3, rng.normal(size=h.shape)
    v = rng.normal(size=h.shape)
    got = tangent.hvp(lstm_like, wrt=(3,))(W, U, h, c, xs, v)
    np.testing.assert_allclose(got, tangent.hvp(lstm_like_plain, wrt=(3,))(W, U, h, c, xs, v), rtol=0, atol=1e-10)


# ------------------------------------------------------------ other array libraries
try:
    import torch
except ImportError:  # (the tests that use it skip)
    torch = None
try:
    import jax
    import jax.numpy as jnp
except ImportError:
    jax = jnp = None


def torch_cell(W, h, x):
    return torch.tanh(W @ h + x)


def library_rnn_call(W, h, xs):
    for t in range(xs.shape[0]):
        h = tangent.checkpoint(torch_cell)(W, h, xs[t])
    return torch.sum(h * h)


def library_rnn_loop(W, h, xs):
    for t in tangent.checkpointed(range(xs.shape[0]), snapshots=2):
        h = torch.tanh(W @ h + xs[t])
    return torch.sum(h * h)


def library_rnn_plain(W, h, xs):
    for t in range(xs.shape[0]):
        h = torch.tanh(W @ h + xs[t])
    return torch.sum(h * h)


@pytest.mark.parametrize("f", [library_rnn_call, library_rnn_loop])
@pytest.mark.skipif(torch is None, reason="torch is not installed")
def test_torch_tensors(f):
    W, h, xs = (torch.tensor(a) for a in rnn_args(T=6))
    got = tangent.grad(f, wrt=(0, 1))(W, h, xs)
    ref = tangent.grad(library_rnn_plain, wrt=(0, 1))(W, h, xs)
    for g, r, i in zip(got, ref, (0, 1)):
        assert isinstance(g, torch.Tensor) and g.dtype == torch.float64
        np.testing.assert_allclose(g.numpy(), r.numpy(), rtol=0, atol=1e-10)
        fd = numeric_grad(lambda *a: float(library_rnn_plain(*(torch.tensor(v) for v in a))),
                          [a.numpy() for a in (W, h, xs)], i)
        np.testing.assert_allclose(g.numpy(), fd, rtol=1e-5, atol=1e-6)


def jax_rnn_loop(W, h, xs):
    for t in tangent.checkpointed(range(xs.shape[0]), snapshots=3):
        h = jnp.tanh(W @ h + xs[t])
    return jnp.sum(h * h)


def jax_rnn_plain(W, h, xs):
    for t in range(xs.shape[0]):
        h = jnp.tanh(W @ h + xs[t])
    return jnp.sum(h * h)


@pytest.mark.skipif(jax is None, reason="jax is not installed")
def test_jax_arrays():
    jax.config.update("jax_enable_x64", True)
    W, h, xs = (jax.numpy.asarray(a) for a in rnn_args(T=6))
    got = tangent.grad(jax_rnn_loop, wrt=(0, 1))(W, h, xs)
    ref = jax.grad(jax_rnn_plain, argnums=(0, 1))(W, h, xs)  # another library's AD
    for g, r in zip(got, ref):
        np.testing.assert_allclose(np.asarray(g), np.asarray(r), rtol=1e-10, atol=1e-12)


def test_split_motion_backward_twice():
    W, h, xs = rnn_args(T=7)
    df = tangent.grad(rnn_loop, wrt=(0, 1), motion="split")
    _, saved = df.forward(W, h, xs, 2)
    ref = tangent.grad(rnn_loop_plain, wrt=(0, 1))(W, h, xs, 2)
    for _ in range(2):  # the snapshots freed by the first backward sweep are taken again
        for g, r in zip(df.backward(saved), ref):
            np.testing.assert_allclose(g, r, rtol=0, atol=1e-10)


# ------------------------------------------------------------ checkpointed while loops
def rnn_while(W, h, xs, n, k):
    i = 0
    while tangent.checkpointed(i < n, snapshots=k):
        h = np.tanh(W @ h + xs[i])
        i = i + 1
    return np.sum(h * h)


def rnn_while_plain(W, h, xs, n, k):
    i = 0
    while i < n:
        h = np.tanh(W @ h + xs[i])
        i = i + 1
    return np.sum(h * h)


@pytest.mark.parametrize("steps", [0, 1, 2, 3, 4, 18, 40])
@pytest.mark.parametrize("snapshots", [1, 2, 3, 4, 7])
def test_online_schedule(steps, snapshots):
    """The forward sweep keeps at most k snapshots, at multiples of one
    stride, the first at step 0; the backward sweep reverses every step once,
    from the last, each from the state the primal had before it."""
    states = [(float(i),) for i in range(steps + 1)]
    live = []

    def advance(i, state):
        assert state == states[i]
        return states[i + 1]

    class Snaps(dict):
        def __setitem__(self, key, value):
            super().__setitem__(key, value)
            live.append(len(self))

    snaps = Snaps()
    final, trips = schedule.online_snapshots(advance, lambda s: s[0] < steps, snapshots, states[0], snaps)
    assert final == states[steps] and trips == steps
    assert max(live, default=0) <= snapshots
    if steps:
        assert 0 in snaps and len({b - a for a, b in zip(sorted(snaps), sorted(snaps)[1:])}) <= 1
    reversed_steps = []

    def reverse_step(i, state, d):
        assert state == states[i]
        reversed_steps.append(i)
        return d + 1

    assert schedule.reverse_segments(advance, reverse_step, steps, snapshots, snaps, 0) == steps
    assert reversed_steps == list(range(steps - 1, -1, -1)) and not snaps


@pytest.mark.parametrize("k", [1, 3, 4])
def test_checkpointed_while_loop(k):
    """Trip counts 0, 1, k - 1, k and 5k + 3: the gradient equals the plain
    while loop's (1e-10) and finite differences."""
    for n in sorted({0, 1, k - 1, k, 5 * k + 3}):
        W, h, xs = rnn_args(T=max(n, 1))
        check_against_plain(rnn_while, rnn_while_plain, [W, h, xs, n, k], wrt=(0, 1, 2))


def converge(x, a, k):
    """A condition reading a value the body writes (carried state)."""
    err = 1.0
    while tangent.checkpointed(err > 1e-3, snapshots=k):
        y = 0.5 * (x + a / x)
        err = np.max(np.abs(y - x))
        x = y
    return np.sum(x)


def converge_plain(x, a, k):
    err = 1.0
    while err > 1e-3:
        y = 0.5 * (x + a / x)
        err = np.max(np.abs(y - x))
        x = y
    return np.sum(x)


def test_checkpointed_while_with_a_data_dependent_condition():
    x, a = np.array([3.0, 5.0, 2.5]), np.array([2.0, 3.0, 4.0])
    for k in (1, 2, 5):
        check_against_plain(converge, converge_plain, [x, a, k], wrt=(0, 1))


def test_checkpointed_while_is_the_loop_outside_grad():
    W, h, xs = rnn_args(T=6)
    assert rnn_while(W, h, xs, 6, 2) == rnn_while_plain(W, h, xs, 6, 2)
    assert tangent.checkpointed(np.float64(0.0) > 1) == False  # noqa: E712 (its truth value)


def test_the_generated_code_of_a_checkpointed_while_loop():
    df = tangent.grad(rnn_while, wrt=(0,))
    code = tangent.source(df)
    assert "checkpointed_while(rnn_while_step, rnn_while_condition, k, (h, i), (W, xs, n))" in code
    assert "checkpointed_loop_adjoint(" in code
    assert not any(line.strip().startswith("while") for line in code.split("def df")[-1].splitlines())


def test_checkpointed_while_inside_a_loop():
    def f(W, h, xs, n, k):
        for _ in range(2):
            i = 0
            while tangent.checkpointed(i < n, snapshots=k):
                h = np.tanh(W @ h + xs[i])
                i = i + 1
        return np.sum(h * h)

    def plain(W, h, xs, n, k):
        for _ in range(2):
            i = 0
            while i < n:
                h = np.tanh(W @ h + xs[i])
                i = i + 1
        return np.sum(h * h)

    W, h, xs = rnn_args(T=7)
    check_against_plain(f, plain, [W, h, xs, 7, 2], wrt=(0, 1))


def stops_early(W, h, xs, n, k):
    i = 0
    while tangent.checkpointed(i < n, snapshots=k):
        h = np.tanh(W @ h + xs[i])
        if np.sum(h) > 10:
            break
        i = i + 1
    return np.sum(h)


def test_checkpointed_while_that_stops_early_is_refused():
    with pytest.raises(tangent.TangentSyntaxError, match="cannot stop early") as info:
        tangent.grad(stops_early)
    assert "test_checkpointing.py" in str(info.value) and "_stack" not in str(info.value)


@pytest.mark.parametrize("n", [0, 1, 2, 9])
def test_hvp_through_a_checkpointed_while_loop(n):
    W, h, xs = rnn_args(T=max(n, 1))
    rng = np.random.default_rng(6)
    vW, vh = rng.normal(size=W.shape), rng.normal(size=h.shape)
    before = [np.copy(a) for a in (W, h, xs, vW, vh)]
    got = tangent.hvp(rnn_while, wrt=(0, 1))(W, h, xs, n, 2, vW, vh)
    ref = tangent.hvp(rnn_while_plain, wrt=(0, 1))(W, h, xs, n, 2, vW, vh)
    dplain = tangent.grad(rnn_while_plain, wrt=(0, 1))
    eps = 1e-6
    plus, minus = dplain(W + eps * vW, h + eps * vh, xs, n, 2), dplain(W - eps * vW, h - eps * vh, xs, n, 2)
    for g, r, p, m in zip(got, ref, plus, minus):
        np.testing.assert_allclose(g, r, rtol=0, atol=1e-10)
        np.testing.assert_allclose(g, (p - m) / (2 * eps), rtol=1e-5, atol=1e-7)
    for a, b in zip((W, h, xs, vW, vh), before):
        np.testing.assert_array_equal(a, b)


def test_split_motion_backward_twice_through_a_while_loop():
    W, h, xs = rnn_args(T=7)
    df = tangent.grad(rnn_while, wrt=(0, 1), motion="split")
    _, saved = df.forward(W, h, xs, 7, 2)
    ref = tangent.grad(rnn_while_plain, wrt=(0, 1))(W, h, xs, 7, 2)
    for _ in range(2):
        for g, r in zip(df.backward(saved), ref):
            np.testing.assert_allclose(g, r, rtol=0, atol=1e-10)
