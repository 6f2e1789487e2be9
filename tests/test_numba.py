"""compile="numba": every compiled derivative against central finite
differences and against the uncompiled derivative; refusals name the user's
line; inputs unchanged; results fresh arrays of the argument's dtype; numba's
on-disk cache hit by a second process."""

import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tangent
from tangent.numba_backend import NumbaRefusal

from .utils import assert_tree_close, numeric_grad

pytest.importorskip("numba")

STEPS = 30


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("TANGENT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "tangent-cache"))


def scalar_loop(x, a):
    s = 0.0
    for _ in range(STEPS):
        s = s + math.sin(x * a) * x
        x = 0.99 * x + 0.01 * math.tanh(s)
    return s


def elementwise(x):
    return np.sum(np.sin(x) * np.exp(-x * x) + np.sqrt(1 + x * x))


def mlp(W1, b1, W2, b2, x):
    h = np.tanh(x @ W1 + b1)
    logits = h @ W2 + b2
    return np.sum(logits * logits) / x.shape[0]


def softmax_mlp(W1, b1, W2, b2, x, y):
    h = np.tanh(x @ W1 + b1)
    logits = h @ W2 + b2
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(log_probs * y) / x.shape[0]


def branchy(x, a):
    s = 0.0
    for _ in range(12):
        if x > 0.3:
            s = s + x * a
        else:
            s = s - math.sin(x)
        x = 0.9 * x + 0.05
    return s


def array_loop(x, W):
    for _ in range(4):
        x = np.tanh(W @ x)
    return np.sum(x * x)


def nested_loops(x, a):
    s = 0.0
    for _ in range(4):
        for j in range(3):
            s = s + math.sin(x * a + j)
            x = x * 0.95
    return s


def vector_out(x):
    return np.sin(x) * x


def with_keepdims(x):
    m = np.mean(x, axis=0, keepdims=True)  # (numba's np.mean takes neither axis nor keepdims)
    return np.sum(x * m)


def reads_a_dict(params, x):
    return np.sum(params["w"] * x)


GLOBAL_WEIGHTS = np.linspace(0.0, 1.0, 4)


def reads_a_global_array(x):
    return np.sum(GLOBAL_WEIGHTS * x)


def line_of(func, text):
    """The file:line of the line of ``func`` containing ``text``."""
    import inspect
    lines, first = inspect.getsourcelines(func)
    for offset, line in enumerate(lines):
        if text in line:
            return f"test_numba.py:{first + offset}"
    raise AssertionError(text)


def check_compiled(func, args, wrt):
    """The numba gradient: against finite differences and the Python one;
    compiled (a numba dispatcher exists); inputs unchanged; fresh arrays."""
    copies = [np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args]
    compiled = tangent.grad(func, wrt=wrt, compile="numba")
    python = tangent.grad(func, wrt=wrt)
    got = compiled(*args)
    assert compiled.tangent_numba_for(*args) is not None
    got_again = compiled(*args)  # (the compiled path, not the first call's checked result)
    expected = python(*args)
    many = isinstance(wrt, tuple)
    for g, again, e, i in zip(got if many else (got,), got_again if many else (got_again,),
                              expected if many else (expected,), wrt if many else (wrt,)):
        assert_tree_close(g, numeric_grad(func, list(args), i), rtol=1e-5, atol=1e-7)
        assert_tree_close(again, e, rtol=1e-10, atol=1e-12)
        if isinstance(args[i], np.ndarray):
            assert isinstance(again, np.ndarray) and again.dtype == args[i].dtype and again.flags.writeable
            assert not any(np.shares_memory(again, a) for a in args if isinstance(a, np.ndarray))
        else:
            assert type(again) is float
    for a, c in zip(args, copies):
        np.testing.assert_array_equal(a, c)
    return compiled


def test_scalar_loop():
    check_compiled(scalar_loop, (0.5, 1.3), (0, 1))


def test_elementwise_array_code():
    rng = np.random.default_rng(0)
    check_compiled(elementwise, (rng.standard_normal(7),), 0)


def test_mlp_with_separate_array_arguments():
    rng = np.random.default_rng(1)
    args = (0.3 * rng.standard_normal((3, 5)), 0.1 * rng.standard_normal(5), 0.3 * rng.standard_normal((5, 2)),
            0.1 * rng.standard_normal(2), rng.standard_normal((4, 3)))
    check_compiled(mlp, args, (0, 1, 2, 3))


def test_mlp_with_softmax_cross_entropy():  # (max and sum with keepdims=True, lowered for numba)
    rng = np.random.default_rng(4)
    args = (0.3 * rng.standard_normal((3, 5)), 0.1 * rng.standard_normal(5), 0.3 * rng.standard_normal((5, 4)),
            0.1 * rng.standard_normal(4), rng.standard_normal((6, 3)), np.eye(4)[rng.integers(4, size=6)])
    check_compiled(softmax_mlp, args, (0, 1, 2, 3))


@pytest.mark.parametrize("x", [0.5, 0.1])
def test_loop_with_a_branch(x):
    check_compiled(branchy, (x, 1.2), (0, 1))


def test_nested_loops():  # (the inner loop's range is saved on the tape, as (start, stop, step) for numba)
    check_compiled(nested_loops, (0.5, 1.1), (0, 1))


def test_loop_saving_arrays():
    rng = np.random.default_rng(2)
    check_compiled(array_loop, (rng.standard_normal(3), 0.5 * rng.standard_normal((3, 3))), (0, 1))


def test_float32_gradient_stays_float32():
    x = np.linspace(-1.0, 1.0, 5, dtype=np.float32)
    g = tangent.grad(elementwise, compile="numba")(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, numeric_grad(elementwise, [x.astype(float)], 0), rtol=1e-4, atol=1e-5)


def test_vjp_with_an_array_seed():
    x, u = np.linspace(-1.0, 1.0, 4), np.array([1.0, -2.0, 0.5, 3.0])
    got = tangent.vjp(vector_out, compile="numba")(x, u)
    np.testing.assert_allclose(got, numeric_grad(vector_out, [x], 0, seed=u), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(got, tangent.vjp(vector_out)(x, u), rtol=1e-12)
    assert not np.shares_memory(got, u)


def test_value_and_grad():
    value, g = tangent.value_and_grad(scalar_loop, compile="numba")(0.4, 1.1)
    assert value == pytest.approx(scalar_loop(0.4, 1.1), rel=1e-12)
    assert g == pytest.approx(numeric_grad(scalar_loop, [0.4, 1.1], 0), rel=1e-6)


@pytest.mark.parametrize("func, args", [(elementwise, (np.linspace(-1.0, 1.0, 6),)),
                                        (array_loop, (np.linspace(-1.0, 1.0, 3), 0.4 * np.eye(3) + 0.1))])
def test_jvp(func, args):
    v = np.linspace(0.5, -0.5, args[0].size)
    got = tangent.jvp(func, compile="numba")(*args, v)
    fd = float(np.dot(numeric_grad(func, list(args), 0), v))
    assert got == pytest.approx(fd, rel=1e-6)
    assert got == pytest.approx(tangent.jvp(func)(*args, v), rel=1e-12)


@pytest.mark.parametrize("func, wrt", [(elementwise, (0,)), (mlp, (0, 1, 2, 3))])
def test_hvp(func, wrt):
    rng = np.random.default_rng(3)
    if func is elementwise:
        args = (rng.standard_normal(5),)
    else:
        args = (0.3 * rng.standard_normal((3, 4)), 0.1 * rng.standard_normal(4), 0.3 * rng.standard_normal((4, 2)),
                0.1 * rng.standard_normal(2), rng.standard_normal((5, 3)))
    vectors = [rng.standard_normal(args[i].shape) for i in wrt]
    copies = [a.copy() for a in args + tuple(vectors)]
    got = tangent.hvp(func, wrt=wrt, compile="numba")(*args, *vectors)
    got = got if len(wrt) > 1 else (got,)
    gradient = tangent.grad(func, wrt=wrt)
    eps = 1e-6
    plus, minus = list(args), list(args)
    for i, v in zip(wrt, vectors):
        plus[i], minus[i] = args[i] + eps * v, args[i] - eps * v
    g_plus, g_minus = gradient(*plus), gradient(*minus)
    g_plus, g_minus = (g_plus, g_minus) if len(wrt) > 1 else ((g_plus,), (g_minus,))
    python = tangent.hvp(func, wrt=wrt)(*args, *vectors)
    for k, product in enumerate(got):
        np.testing.assert_allclose(product, (g_plus[k] - g_minus[k]) / (2 * eps), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(product, python[k] if len(wrt) > 1 else python, rtol=1e-10, atol=1e-12)
        assert product.dtype == args[wrt[k]].dtype and not any(np.shares_memory(product, a) for a in args)
    for a, c in zip(args + tuple(vectors), copies):
        np.testing.assert_array_equal(a, c)


def test_hvp_of_a_loop_is_refused_naming_the_function():
    with pytest.raises(NumbaRefusal, match="test_numba.py:.*def scalar_loop"):
        tangent.hvp(scalar_loop, compile="numba")


def test_a_dict_argument_is_refused_when_the_derivative_is_made():
    with pytest.raises(NumbaRefusal, match="(?s)" + line_of(reads_a_dict, "params[") + ".*dict"):
        tangent.grad(reads_a_dict, compile="numba")


def test_a_global_array_is_refused_when_the_derivative_is_made():
    with pytest.raises(NumbaRefusal, match="(?s)" + line_of(reads_a_global_array, "GLOBAL_WEIGHTS") + ".*argument"):
        tangent.grad(reads_a_global_array, compile="numba")


def test_what_numba_cannot_type_is_refused_at_the_first_call_naming_the_line():
    df = tangent.grad(with_keepdims, compile="numba")
    with pytest.raises(NumbaRefusal) as error:
        df(np.ones((3, 2)))
    message = str(error.value)
    assert line_of(with_keepdims, "keepdims=True") in message and 'drop compile="numba"' in message
    assert "_stack" not in message and "tangent_numba_" not in message.split("numba says")[0]


def test_a_container_argument_is_refused_at_the_first_call():
    with pytest.raises(NumbaRefusal, match="argument 1 is a list"):
        tangent.grad(scalar_loop, compile="numba")([0.5], 1.0)


def test_options_it_does_not_go_with():
    with pytest.raises(NumbaRefusal, match="not supported"):
        tangent.grad(scalar_loop, compile="cython")
    with pytest.raises(NumbaRefusal, match="check_finite"):
        tangent.grad(scalar_loop, compile="numba", check_finite=True)
    with pytest.raises(NumbaRefusal, match="has_aux"):
        tangent.grad(scalar_loop, compile="numba", has_aux=True)
    with pytest.raises(NumbaRefusal, match="has_aux"):
        tangent.value_and_grad(scalar_loop, compile="numba", has_aux=True)
    with pytest.raises(NumbaRefusal, match="check_dims=False"):
        tangent.autodiff(scalar_loop, compile="numba", check_dims=False)


def test_keyword_arguments_are_refused_not_run_in_python():
    df = tangent.grad(scalar_loop, compile="numba")
    with pytest.raises(NumbaRefusal, match="by position"):
        df(0.5, a=1.0)


LOOP = """
    import math

    def scalar_loop(x, a):
        s = 0.0
        for _ in range(30):
            s = s + math.sin(x * a) * x
            x = 0.99 * x + 0.01 * math.tanh(s)
        return s
"""

SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    import tangent
    from loop_module import scalar_loop
    df = tangent.grad(scalar_loop, wrt=(0, 1), compile="numba")
    print(df(0.5, 1.3))
    stats = df.tangent_numba_for(0.5, 1.3).stats
    print(sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))
""")


def test_a_second_process_loads_numbas_cache(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, TANGENT_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=root)
    script = SCRIPT.format(tests=str(tmp_path))
    (tmp_path / "loop_module.py").write_text(textwrap.dedent(LOOP))
    runs = [subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
            for _ in range(2)]
    first, second = (run.stdout.splitlines() for run in runs)
    assert first[0] == second[0]
    assert first[1] == "0 1"  # compiled
    assert second[1] == "1 0"  # loaded from the cache, not compiled
