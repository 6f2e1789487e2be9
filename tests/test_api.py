"""The public API's contract beyond the derivative's values: how often f
runs per call, methods, threads, the cache, the returned arrays.

Derivatives are checked against central finite differences in float64.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tangent
from tests.utils import numeric_grad

ROOT = Path(__file__).resolve().parent.parent
EPS = 1e-6

# ---------------------------------------------------------------- f runs once per derivative call

calls: list = []


def _noisy(x):
    calls.append(1)  # a side effect in a callee: counts how often f's body runs
    return x * np.random.normal(1.0, 0.1)


def stochastic(x):
    return np.sum(np.sin(_noisy(x)) ** 2)


def counted(x, y):
    calls.append(1)
    return np.sum(np.tanh(x * y) ** 2)


def _fd_gradient_along(g, x, v, eps=EPS):
    return (g(x + eps * v) - g(x - eps * v)) / (2 * eps)


@pytest.mark.parametrize("kind", ["grad", "vjp", "jvp", "hvp"])
def test_body_runs_once_per_call_from_the_first(kind):
    x, v = np.linspace(0.1, 0.9, 4), np.linspace(1.0, -1.0, 4)
    y = np.full(4, 0.7)
    derivative = {"grad": tangent.grad(counted), "vjp": tangent.vjp(counted), "jvp": tangent.jvp(counted),
                  "hvp": tangent.hvp(counted)}[kind]
    extra = {"grad": (), "vjp": (1.0,), "jvp": (v,), "hvp": (v,)}[kind]
    for _ in range(3):
        del calls[:]
        derivative(x, y, *extra)
        assert len(calls) == 1, f"{kind}: f ran {len(calls)} times in one call"


def test_specialised_code_is_generated_without_running_f():
    x = np.linspace(0.1, 0.9, 4)
    dcounted = tangent.grad(counted, wrt=(0, 1))
    del calls[:]
    special = dcounted.tangent_specialized_for(x, x[::-1].copy())
    assert calls == [] and "def " in tangent.source(special)


def test_hvp_of_a_stochastic_objective_uses_the_draw_of_its_call():
    x, v = np.linspace(0.1, 0.9, 3), np.array([1.0, -0.5, 0.25])
    hvp = tangent.hvp(stochastic)
    for _ in range(2):
        state = np.random.get_state()
        got = hvp(x, v)
        np.random.set_state(state)  # the same draw for the reference
        scale = np.random.normal(1.0, 0.1)
        # f(x) = sum(sin(c x)^2): H v = 2 c^2 cos(2 c x) v
        expected = 2 * scale ** 2 * np.cos(2 * scale * x) * v
        np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-9)


def test_jacobian_runs_f_once_per_sweep():
    x = np.linspace(0.1, 0.9, 3)
    for mode in ("forward", "auto"):
        del calls[:]
        J = tangent.jacobian(lambda_free_vector, mode=mode)(x)
        assert len(calls) == 3, (mode, len(calls))
        expected = np.stack([numeric_grad(lambda_free_vector, [x], 0, seed=e) for e in np.eye(2)])
        np.testing.assert_allclose(J, expected, rtol=1e-6, atol=1e-8)


def lambda_free_vector(x):
    calls.append(1)
    return np.stack([np.sum(x ** 2), np.sum(np.sin(x))])


# ---------------------------------------------------------------- threads

THREADS_SCRIPT = '''
import sys, threading
import numpy as np
import tangent

def f0(x):
    return np.sum(np.tanh(x) ** 2)

def f1(x):
    return np.mean(np.exp(x) * x)

def f2(x):
    y = np.sum(x ** 3)
    return np.sqrt(y * y + 1.0)

def helper(x):
    return np.sin(x) * x

def f3(x):
    return np.sum(helper(x) + helper(2.0 * x))

functions = [f0, f1, f2, f3, f0, f1, f2, f3]
x = np.linspace(0.1, 0.9, 5)
barrier = threading.Barrier(len(functions))
results, errors = {}, []

def work(i, f):
    barrier.wait()
    try:
        mode = ("grad", "jvp", "hvp")[i % 3]
        if mode == "grad":
            results[i] = tangent.grad(f)(x)
        elif mode == "jvp":
            results[i] = tangent.jvp(f)(x, np.ones(5))
        else:
            results[i] = tangent.hvp(f)(x, np.ones(5))
    except BaseException as e:
        errors.append(f"thread {i}: {type(e).__name__}: {e}")

threads = [threading.Thread(target=work, args=(i, f)) for i, f in enumerate(functions)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("\\n".join(errors))
for i, f in enumerate(functions):
    mode = ("grad", "jvp", "hvp")[i % 3]
    eps = 1e-6
    if mode == "grad":
        ref = np.array([(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in np.eye(5)])
    elif mode == "jvp":
        ref = (f(x + eps) - f(x - eps)) / (2 * eps)
    else:
        g = tangent.grad(f)
        ref = (g(x + eps) - g(x - eps)) / (2 * eps)
    assert np.allclose(results[i], ref, rtol=1e-5, atol=1e-6), (i, mode, results[i], ref)
sys.exit(1 if errors else 0)
'''


@pytest.mark.parametrize("attempt", range(2))
def test_first_use_from_eight_threads_in_a_fresh_interpreter(tmp_path, attempt):
    script = tmp_path / "threads.py"
    script.write_text(THREADS_SCRIPT)
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stdout + done.stderr


# ---------------------------------------------------------------- hvp of methods and of built objects


class Affine:
    def __init__(self, scale):
        self.scale = scale

    def loss(self, x):
        return np.sum(np.sin(self.scale * x) ** 2)

    def rescaled_loss(self, x):
        other = Affine(self.scale * x)  # an object built from differentiated values
        return other.loss(x)


def built_from_constant(x):
    layer = Affine(2.0)
    return layer.loss(x)


def built_from_argument(x):
    layer = Affine(x)
    return layer.loss(x) + np.sum(layer.scale ** 3)


def _fd_hvp(f, x, v):
    g = tangent.grad(f)
    return (g(x + EPS * v) - g(x - EPS * v)) / (2 * EPS)


@pytest.mark.parametrize("make", [lambda: Affine(2.0).loss, lambda: Affine(np.array([0.5, -1.0, 2.0])).loss,
                                  lambda: built_from_constant, lambda: built_from_argument,
                                  lambda: Affine(1.5).rescaled_loss],
                         ids=["method", "method-array-attribute", "built-constant", "built-argument", "built-in-method"])
def test_hvp_of_methods_and_objects_built_inside(make):
    f = make()
    x, v = np.array([0.3, -0.7, 1.1]), np.array([1.0, 0.5, -2.0])
    x0, v0 = x.copy(), v.copy()
    np.testing.assert_allclose(tangent.grad(f)(x), numeric_grad(f, [x], 0), rtol=1e-6, atol=1e-8)
    got = tangent.hvp(f)(x, v)
    np.testing.assert_allclose(got, _fd_hvp(f, x, v), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tangent.hvp(f, optimized=False)(x, v), got, rtol=1e-12, atol=1e-12)
    assert np.array_equal(x, x0) and np.array_equal(v, v0)


# ---------------------------------------------------------------- returned arrays are the caller's own


def total(x):
    return np.sum(x)


def average(x):
    return np.mean(x * 3.0)


def identity(x):
    return x


def pass_through(x, y):
    return x + y * 0.0


def mlp_params(params, x):
    h = np.tanh(params["W"] @ x + params["b"])
    return np.sum(h ** 2) + np.sum(params["layers"][0] * params["layers"][1])


def _assert_own(value, like, inputs, dtype):
    assert isinstance(value, np.ndarray), type(value)
    assert value.dtype == dtype, (value.dtype, dtype)
    assert value.shape == np.shape(like)
    assert value.flags.writeable and value.base is None, "a read-only or view result"
    for a in inputs:
        assert not np.shares_memory(value, a), "the result shares memory with an input"
    value += 1.0  # the caller may update it in place


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("f", [total, average], ids=["sum", "mean"])
def test_gradients_are_fresh_writable_arrays_of_the_argument_dtype(f, dtype):
    x = np.linspace(-1.0, 1.0, 6).astype(dtype).reshape(2, 3)
    x0 = x.copy()
    for optimized in (True, False):
        df = tangent.grad(f, optimized=optimized)
        for _ in range(2):  # the generic and then the specialised code, and from the cache
            g = df(x)
            np.testing.assert_allclose(g, numeric_grad(f, [x.astype(float)], 0), rtol=1e-5)
            _assert_own(g, x, [x], dtype)
    seed = np.asarray(2.0, dtype)
    g = tangent.vjp(f)(x, seed)
    np.testing.assert_allclose(g, 2.0 * numeric_grad(f, [x.astype(float)], 0), rtol=1e-5)
    _assert_own(g, x, [x, seed], dtype)
    v = np.ones_like(x)
    h = tangent.hvp(f)(x, v)
    np.testing.assert_allclose(h, 0.0, atol=1e-6)
    _assert_own(h, x, [x, v], dtype)
    assert np.array_equal(x, x0) and seed == 2.0 and np.all(v == 1.0)


def test_int_arguments_get_float_gradients():
    x = np.arange(4)
    g = tangent.grad(average)(x)
    np.testing.assert_allclose(g, numeric_grad(average, [x.astype(float)], 0))
    _assert_own(g, x, [x], np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_results_never_alias_the_seed_the_inputs_or_each_other(dtype):
    x = np.linspace(0.0, 1.0, 3).astype(dtype)
    seed = np.array([1.0, 2.0, 3.0], dtype)
    g = tangent.vjp(identity)(x, seed)
    np.testing.assert_array_equal(g, seed)
    _assert_own(g, x, [x, seed], dtype)
    assert np.array_equal(seed, [1.0, 2.0, 3.0])
    gx, gy = tangent.vjp(pass_through, wrt=(0, 1))(x, x.copy(), seed)
    np.testing.assert_array_equal(gx, seed)
    np.testing.assert_array_equal(gy, 0.0 * seed)
    _assert_own(gx, x, [x, seed, gy], dtype)
    _assert_own(gy, x, [x, seed], dtype)
    v = np.array([0.5, -1.0, 2.0], dtype)
    t = tangent.jvp(identity)(x, v)
    np.testing.assert_array_equal(t, v)
    _assert_own(t, x, [x, v], dtype)
    assert np.array_equal(v, np.array([0.5, -1.0, 2.0], dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_jvp_outputs_are_fresh_and_keep_the_dtype(dtype):
    x = np.linspace(-1.0, 1.0, 6).astype(dtype).reshape(2, 3)
    v = np.full_like(x, 0.5)
    for f in (total, average):
        t = tangent.jvp(f)(x, v)
        expected = (f(x.astype(float) + EPS * v) - f(x.astype(float) - EPS * v)) / (2 * EPS)
        np.testing.assert_allclose(t, expected, rtol=1e-5)
        assert np.asarray(t).dtype == dtype
    t = tangent.jvp(elementwise)(x, v)
    _assert_own(t, x, [x, v], dtype)


def elementwise(x):
    return np.tanh(x) * 2.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pytree_gradients_are_owned_and_keep_each_leaf_dtype(dtype):
    rng = np.random.default_rng(0)
    params = {"W": rng.normal(size=(2, 3)).astype(dtype), "b": rng.normal(size=2).astype(dtype),
              "layers": [rng.normal(size=3).astype(dtype), np.ones(3, dtype)]}
    x = np.linspace(0.1, 0.3, 3).astype(dtype)
    before = {k: (v.copy() if isinstance(v, np.ndarray) else [a.copy() for a in v]) for k, v in params.items()}
    g = tangent.grad(mlp_params)(params, x)
    as64 = {"W": params["W"].astype(float), "b": params["b"].astype(float),
            "layers": [a.astype(float) for a in params["layers"]]}
    expected = numeric_grad(mlp_params, [as64, x.astype(float)], 0)
    leaves = [params["W"], params["b"], *params["layers"], x]
    for got, want, like in [(g["W"], expected["W"], params["W"]), (g["b"], expected["b"], params["b"]),
                            (g["layers"][0], expected["layers"][0], params["layers"][0]),
                            (g["layers"][1], expected["layers"][1], params["layers"][1])]:
        np.testing.assert_allclose(got, want, rtol=2e-3 if dtype == np.float32 else 1e-6, atol=1e-4)
        _assert_own(got, like, leaves, dtype)
    assert isinstance(g["layers"], list)
    np.testing.assert_array_equal(params["W"], before["W"])
    np.testing.assert_array_equal(params["layers"][1], before["layers"][1])


# ---------------------------------------------------------------- the cache: fresh, and weak

SCALE = 2.0


def _helper(x):
    return np.sin(x)


def scaled_loss(x):
    return np.sum(SCALE * _helper(x) ** 2)


def _fd(f, x):
    return numeric_grad(f, [x], 0)


def test_rebinding_a_global_or_redefining_a_helper_changes_the_next_grad():
    global SCALE, _helper
    x = np.array([0.2, -0.4, 1.3])
    old_scale, old_helper = SCALE, _helper
    try:
        first = tangent.grad(scaled_loss)
        np.testing.assert_allclose(first(x), _fd(scaled_loss, x), rtol=1e-6)
        assert tangent.grad(scaled_loss) is first  # unchanged: the cached derivative
        SCALE = 5.0
        np.testing.assert_allclose(tangent.grad(scaled_loss)(x), _fd(scaled_loss, x), rtol=1e-6)

        def _helper(x):  # noqa: F811 (redefined on purpose)
            return np.cos(x) * x

        np.testing.assert_allclose(tangent.grad(scaled_loss)(x), _fd(scaled_loss, x), rtol=1e-6)
        # and through hvp, whose gradient is looked up again
        v = np.array([1.0, 0.0, -1.0])
        np.testing.assert_allclose(tangent.hvp(scaled_loss)(x, v), _fd_hvp(scaled_loss, x, v), rtol=1e-5, atol=1e-7)
        # a derivative already returned is a snapshot: it keeps the definitions it was made from
        np.testing.assert_allclose(first(x), 2.0 * 2 * np.sin(x) * np.cos(x), rtol=1e-12)
    finally:
        SCALE, _helper = old_scale, old_helper
    np.testing.assert_allclose(tangent.grad(scaled_loss)(x), _fd(scaled_loss, x), rtol=1e-6)


def test_rebinding_a_closure_cell_or_an_attribute_changes_the_next_grad():
    x = np.array([0.2, -0.4, 1.3])
    weight = 3.0

    def loss(x):
        return np.sum(weight * x ** 3)

    np.testing.assert_allclose(tangent.grad(loss)(x), _fd(loss, x), rtol=1e-6)
    weight = -1.5  # noqa: F841 (read by loss through its cell)
    np.testing.assert_allclose(tangent.grad(loss)(x), _fd(loss, x), rtol=1e-6)

    model = Affine(2.0)
    np.testing.assert_allclose(tangent.grad(model.loss)(x), _fd(model.loss, x), rtol=1e-6)
    model.scale = 0.5
    np.testing.assert_allclose(tangent.grad(model.loss)(x), _fd(model.loss, x), rtol=1e-6)
    np.testing.assert_allclose(tangent.grad(Affine(-1.0).loss)(x), _fd(Affine(-1.0).loss, x), rtol=1e-6)


def test_clear_cache_forgets_every_derivative():
    x = np.array([0.2, -0.4, 1.3])
    first = tangent.grad(scaled_loss)
    assert tangent.grad(scaled_loss) is first
    tangent.clear_cache()
    again = tangent.grad(scaled_loss)
    assert again is not first
    np.testing.assert_allclose(again(x), first(x), rtol=1e-12)


def _closure_over(data):
    def loss(w):
        return np.sum(np.tanh(data @ w) ** 2)

    return loss


def test_the_cache_does_not_keep_functions_alive():
    import gc
    import weakref

    rng = np.random.default_rng(1)
    loss = _closure_over(rng.normal(size=(4, 3)))
    w = np.ones(3)
    np.testing.assert_allclose(tangent.grad(loss)(w), _fd(loss, w), rtol=1e-6)
    tangent.hvp(loss)(w, w)
    alive = weakref.ref(loss)
    data = weakref.ref(loss.__closure__[0].cell_contents)
    del loss
    gc.collect()
    assert alive() is None and data() is None


def test_a_new_closure_per_step_keeps_memory_bounded():
    import gc
    import tracemalloc

    rng = np.random.default_rng(0)
    w = np.ones(100)
    tangent.grad(_closure_over(rng.normal(size=(100, 100))))(w)
    gc.collect()
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        for _ in range(200):
            tangent.grad(_closure_over(rng.normal(size=(100, 100))))(w)  # 80 kB of data each
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    assert held < 3e6, f"{held / 1e6:.1f} MB still held after 200 steps"


def test_registering_a_rule_changes_the_next_grad():
    def cube(x):
        return x * x * x

    def uses_cube(x):
        return np.sum(cube(x))

    x = np.array([0.5, -1.0])
    np.testing.assert_allclose(tangent.grad(uses_cube)(x), 3 * x ** 2, rtol=1e-12)

    @tangent.adjoint(cube)
    def dcube(result, x):
        d[x] = d[result] * 3.0 * x * x  # noqa: F821

    np.testing.assert_allclose(tangent.grad(uses_cube)(x), _fd(uses_cube, x), rtol=1e-6)


def test_nested_recordings_with_equal_dicts_leave_in_order():
    # list.remove matched by equality: the inner exit removed the outer (equal, empty)
    # dict, and the outer exit then raised ValueError
    from tangent import frontend

    before = list(frontend._recorders)
    with frontend.recording() as outer:
        with frontend.recording() as inner:
            assert frontend._recorders[-1] is inner
        assert frontend._recorders[-1] is outer
    assert frontend._recorders == before
