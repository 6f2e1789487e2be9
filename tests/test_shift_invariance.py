"""Extrema subtracted out again (log-softmax, logsumexp) are held constant
(tangent/shift_invariance.py): their derivative is exactly zero, so the
generated code leaves out their adjoint and tangent. Every derivative is
checked against central differences in float64 in every mode
(``tangent.testing.check_grads``: vjp, jvp, hvp and the vjp of the
gradient); the cases where the result does depend on the extremum must
keep its derivative and stay right."""

from __future__ import annotations

import ast

import numpy as np
import pytest

import tangent
from tangent import ir
from tangent.shift_invariance import mark
from tangent.testing import check_grads


def log_softmax_loss(logits, y):
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(log_probs * y)


def log_softmax_method(logits, y):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return -np.sum((shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))) * y)


def logsumexp_all(a):
    m = np.max(a)
    return m + np.log(np.sum(np.exp(a - m)))


def logsumexp_rows(a, axis=1):
    m = np.max(a, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True))
    return np.sum(np.squeeze(out, axis=axis) ** 2)


def softmax_mean(a):
    e = np.exp(a - np.max(a, axis=0, keepdims=True))
    p = e / np.sum(e, axis=0, keepdims=True)
    return np.sum(p * np.cos(a))


def _logsumexp(a, axis=None):
    m = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(m + np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)), axis=axis)


def gmm_like(logits, dens):
    log_weights = logits - _logsumexp(logits)
    return np.sum(_logsumexp(log_weights + dens, axis=1))


HELD = [log_softmax_loss, log_softmax_method, logsumexp_all, logsumexp_rows, softmax_mean, gmm_like]


def _args(f, rng):
    if f in (log_softmax_loss, log_softmax_method):
        return rng.normal(size=(4, 5)), np.eye(5)[rng.integers(5, size=4)]
    if f is gmm_like:
        return rng.normal(size=3), rng.normal(size=(6, 3))
    return (rng.normal(size=(3, 4)),)


@pytest.mark.parametrize("f", HELD, ids=lambda f: f.__name__)
def test_held_constant_and_right(f):
    rng = np.random.default_rng(3)
    args = _args(f, rng)
    check_grads(f, *args, wrt=0)
    source = tangent.source(tangent.grad(f, wrt=0))
    assert "extremum" not in source, source


@pytest.mark.parametrize("f", HELD, ids=lambda f: f.__name__)
def test_ties_and_large_values(f):
    """Tied maxima and values that overflow exp without the shift."""
    args = list(_args(f, np.random.default_rng(5)))
    a = np.array(args[0], dtype=float)
    a.flat[:3] = 800.0
    args[0] = a
    got = tangent.grad(f, wrt=0)(*args)
    assert np.all(np.isfinite(got))
    check_grads(f, *args, wrt=0, modes=("reverse",), order=1)


# ---- the result depends on the extremum: its derivative stays ---------------


def returns_shifted(a):
    shifted = a - np.max(a, axis=1, keepdims=True)
    return np.sum(shifted * shifted)


def sums_the_shift(a):
    shifted = a - np.max(a, axis=1, keepdims=True)
    return np.sum(np.log(np.sum(np.exp(shifted), axis=1, keepdims=True)) + np.sum(shifted, axis=1, keepdims=True))


def other_axis(a):
    shifted = a - np.max(a, axis=1, keepdims=True)
    return np.sum(shifted - np.log(np.sum(np.exp(shifted), axis=0, keepdims=True)))


def keeps_the_max(a):
    m = np.max(a, axis=1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(a - m), axis=1, keepdims=True))
    return np.sum(lse + m)


def broadcast_against_more_axes(a, b):
    m = np.max(a, axis=1, keepdims=True)
    shifted = b - m  # b is 3-D: axis 1 of shifted is not axis 1 of a
    return np.sum(shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True)))


def stored_in_a_list(a):
    m = np.max(a)
    parts = [a - m]
    return np.sum(np.exp(parts[0]))


def in_a_loop(a):
    m = np.max(a)
    s = a - m
    for _ in range(2):
        s = s * 2.0
    return np.sum(s - np.log(np.sum(np.exp(s))))


def scaled_shift(a):  # (invariant too, but a scaled shift is beyond the analysis: kept, and right)
    m = np.max(a)
    s = 2.0 * (a - m)
    return np.sum(s - np.log(np.sum(np.exp(s))))


KEPT = [returns_shifted, sums_the_shift, other_axis, keeps_the_max, stored_in_a_list, in_a_loop, scaled_shift]


@pytest.mark.parametrize("f", KEPT, ids=lambda f: f.__name__)
def test_kept_when_the_result_depends_on_it(f):
    a = np.random.default_rng(7).normal(size=(3, 4))
    check_grads(f, a, wrt=0)
    assert "extremum" in tangent.source(tangent.grad(f, wrt=0))


def test_broadcast_against_more_axes_kept():
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(2, 3, 4))
    check_grads(broadcast_against_more_axes, a, b, wrt=0)
    assert "extremum" in tangent.source(tangent.grad(broadcast_against_more_axes, wrt=0))


def test_mark_reads_the_normal_form():
    tree = ast.parse("def f(a):\n    m = np.max(a)\n    return m\n").body[0]
    mark(tree)  # (no callee recorded: nothing is marked)
    assert not any(ir.get(n, "shift_invariant") for n in ast.walk(tree))


# ---- random programs around an extremum: marked or not, always right -------

_OPS = ["{p} - {q}", "{p} + {q}", "{p} * {q}", "0.5 * {p}", "np.exp({p})", "np.cos({p})",
        "np.log(np.sum(np.exp({p}), axis={ax}, keepdims=True))", "np.sum({p}, axis={ax}, keepdims=True)",
        "np.mean({p}, axis={ax}, keepdims=True)", "np.max({p}, axis={ax}, keepdims=True)", "-{p}",
        "{p} - np.log(np.sum(np.exp({p}), axis={ax}, keepdims=True))",
        "{p} - np.log(np.sum(np.exp({p}), axis={ax}, keepdims=True))"]


def _random_program(rng) -> str:
    axis = rng.choice(["None", "1", "-1", "0"])
    lines = ["def f(a):", "    m = np.max(a)" if axis == "None" else f"    m = np.max(a, axis={axis}, keepdims=True)",
             "    v0 = a - m"]
    names = ["a", "m", "v0"]
    for k in range(1, int(rng.integers(2, 6))):
        op = _OPS[int(rng.integers(len(_OPS)))]
        p, q = (names[int(i)] for i in rng.integers(len(names), size=2))
        if rng.random() < 0.6:
            p = names[-1]
        ax = axis if rng.random() < 0.7 or axis == "None" else rng.choice(["0", "1"])
        lines.append(f"    v{k} = " + op.format(p=p, q=q, ax=ax))
        names.append(f"v{k}")
    lines.append(f"    return np.sum(np.tanh({names[-1]}) * W)")
    return "\n".join(lines) + "\n"


def test_random_programs_around_an_extremum(tmp_path, monkeypatch, seed=20261203, count=30):
    """Random programs built around ``x - max(x)``: whether the
    analysis marks the extremum or not, every derivative matches central
    differences (a wrong mark shows as a wrong gradient)."""
    import importlib

    rng = np.random.default_rng(seed)
    monkeypatch.syspath_prepend(str(tmp_path))
    marked = 0
    for n in range(count):
        source = _random_program(rng)
        (tmp_path / f"shift_case_{n}.py").write_text(
            "import numpy as np\nW = np.linspace(0.5, 1.5, 20).reshape(4, 5)\n\n" + source)
        f = importlib.import_module(f"shift_case_{n}").f
        a = rng.normal(size=(4, 5))
        try:
            check_grads(f, a, wrt=0)
        except AssertionError as error:
            raise AssertionError(f"{source}\n{error}") from None
        marked += "extremum" not in tangent.source(tangent.grad(f))
    assert marked >= count // 6  # (the analysis is exercised, not only its refusals)


def mlp_log_softmax(params, data):
    h = np.tanh(data["x"] @ params["W1"] + params["b1"])
    logits = h @ params["W2"]
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(log_probs * data["y"]) / data["x"].shape[0]


def test_the_hvp_holds_the_max_of_the_gradient_it_differentiates():
    """In the gradient the shift cancels only in a product with a value made
    from ``data["y"]``; the gradient being specialised, its shapes line that
    value up with the max's input, so forward mode over it holds the max
    constant too. The product is checked against central differences of the
    gradient."""
    from tangent.specialize import differentiable

    rng = np.random.default_rng(12)
    params = {"W1": rng.normal(size=(3, 5)), "b1": rng.normal(size=5), "W2": rng.normal(size=(5, 4))}
    data = {"x": rng.normal(size=(6, 3)), "y": np.eye(4)[rng.integers(4, size=6)]}
    v = {k: rng.normal(size=a.shape) for k, a in params.items()}
    gradient = tangent.grad(mlp_log_softmax)
    key = (params, data, 1.0)
    over = tangent.autodiff(differentiable(gradient.tangent_specialized_for(*key), key), wrt=(0,), mode="forward")
    assert "extremum" not in tangent.source(over)
    for _ in range(2):
        got = tangent.hvp(mlp_log_softmax)(params, data, v)
        for k in params:
            up = gradient({j: a + 1e-6 * v[j] for j, a in params.items()}, data)[k]
            down = gradient({j: a - 1e-6 * v[j] for j, a in params.items()}, data)[k]
            np.testing.assert_allclose(got[k], (up - down) / 2e-6, rtol=1e-5, atol=1e-7)
