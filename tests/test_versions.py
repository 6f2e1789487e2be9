"""versions.py: a variable reassigned in straight-line code gets a name per
value, so that each value has its shape in specialised code. Every
derivative is checked against central differences; the names that must keep
theirs (in a loop, a branch, written into, a parameter, read by a lambda)
are checked to, and their derivatives too."""

import ast

import numpy as np
import pytest

import tangent
from tangent.naming import Namer
from tangent.versions import versioned

from .utils import numeric_grad


def reassigned(p, x):
    h = np.tanh(x @ p["W1"] + p["b1"])
    h = np.tanh(h @ p["W2"] + p["b2"])
    h = h @ p["W3"] + p["b3"]
    return np.sum(h * h)


def in_a_branch(p, x, flag):
    h = np.tanh(x @ p["W1"] + p["b1"])
    if flag:
        h = h * 2.0
    h = np.tanh(h @ p["W2"] + p["b2"])
    return np.sum(h)


def written_into(p, x):
    h = x @ p["W1"]
    h = h * 1.0
    h[0] = 0.0
    h = np.tanh(h)
    return np.sum(h @ p["W2"])


def parameter_reassigned(x, p):
    x = np.tanh(x @ p["W1"])
    x = x @ p["W2"]
    return np.sum(x * x)


def read_by_a_lambda(p, x):
    h = x @ p["W1"]
    later = lambda: np.sum(h)  # noqa: E731 (reads h when called: its last value)
    h = np.tanh(h)
    return later() + np.sum(h)


def _params(rng):
    return {"W1": rng.standard_normal((3, 5)) * 0.5, "b1": rng.standard_normal(5), "W2": rng.standard_normal((5, 2)),
            "b2": rng.standard_normal(2), "W3": rng.standard_normal((2, 4)), "b3": rng.standard_normal(4)}


@pytest.mark.parametrize("f, extra", [(reassigned, ()), (in_a_branch, (True,)), (in_a_branch, (False,)),
                                      (written_into, ()), (read_by_a_lambda, ())])
def test_gradients_of_reassigned_variables(f, extra):
    rng = np.random.default_rng(12)
    p, x = _params(rng), rng.standard_normal((4, 3))
    df = tangent.grad(f)
    for _ in range(2):  # (generic, then specialised)
        g = df(p, x, *extra)
        expected = numeric_grad(f, (p, x, *extra), 0)
        for key in g:
            np.testing.assert_allclose(g[key], expected[key], rtol=1e-6, atol=1e-8)


def test_a_reassigned_parameter():
    rng = np.random.default_rng(13)
    p, x = _params(rng), rng.standard_normal((4, 3))
    df = tangent.grad(parameter_reassigned)
    for _ in range(2):
        np.testing.assert_allclose(df(x, p), numeric_grad(parameter_reassigned, (x, p), 0), rtol=1e-6, atol=1e-8)


def test_the_specialised_gradient_of_a_reassigned_mlp_is_plain_numpy():
    rng = np.random.default_rng(14)
    p, x = _params(rng), rng.standard_normal((4, 3))
    source = tangent.grad(reassigned).tangent_specialized_for(p, x).tangent_source
    for generic in ("unbroadcast", "matmul_adjoint", "stack", "add_at", "grad_of_index"):
        assert generic not in source, source
    assert "h_1 = " in source and "h_2 = " in source
    hv = tangent.hvp(reassigned)
    v = {k: rng.standard_normal(a.shape) for k, a in p.items()}
    gradient, eps = tangent.grad(reassigned), 1e-6
    moved = [gradient({k: a + s * eps * v[k] for k, a in p.items()}, x) for s in (1, -1)]
    got = hv(p, x, v)
    for key in p:
        np.testing.assert_allclose(got[key], (moved[0][key] - moved[1][key]) / (2 * eps), rtol=1e-5, atol=1e-7)


def _renamed(source: str, params=frozenset()) -> str:
    body = ast.parse(source).body
    names = {n.id for n in ast.walk(ast.Module(body=body, type_ignores=[])) if isinstance(n, ast.Name)}
    return ast.unparse(versioned(body, Namer(names), set(params)))


@pytest.mark.parametrize("source", [
    "h = a\nfor i in r:\n    y = h\nh = b\nz = h",          # read in a loop
    "h = a\nif c:\n    h = b\nz = h",                     # assigned in a branch
    "h = a\nh[0] = b\nh = c\nz = h",                      # written into
    "h = a\nh.w = b\nh = c\nz = h",                       # an attribute written
    "h = a\nh += b\nz = h",                               # augmented
    "h, k = a\nh = b\nz = h",                             # a tuple target
    "h = a\nf = lambda: h\nh = b\nz = f()",               # read later by a lambda
    "h = a\nz = [h for _ in r]\nh = b",                   # in a comprehension
])
def test_names_that_keep_theirs(source):
    assert _renamed(source) == ast.unparse(ast.parse(source))


def test_a_name_per_value_and_a_parameter_kept_for_the_argument():
    assert _renamed("h = a\nh = f(h)\nh = g(h)\nz = h") == "h = a\nh_1 = f(h)\nh_2 = g(h_1)\nz = h_2"
    assert _renamed("x = f(x)\nx = g(x)", params={"x"}) == "x_1 = f(x)\nx_2 = g(x_1)"


def hooked(x):
    h = x * 2.0
    with tangent.insert_grad_of(h) as dh:
        dh = dh * 0.5
    h = np.sin(h)
    return np.sum(h)


def test_a_hooked_variable_keeps_its_name():
    # (a hook names its variable by a string: renamed, it would scale another value's adjoint)
    x = np.array([0.3, -1.2, 2.0])
    for _ in range(2):
        np.testing.assert_allclose(tangent.grad(hooked)(x), 0.5 * 2.0 * np.cos(2.0 * x), rtol=1e-12)
