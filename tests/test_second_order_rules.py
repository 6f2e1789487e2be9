"""Reverse rules for the helpers that generated derivatives call.

Gradients call helpers (``grad_sum``, ``matmul_adjoint_lhs``, ``unbroadcast``,
``grad_of_extremum``, ...); differentiating a gradient again in reverse mode
(``tangent.grad(tangent.grad(f))``, or the gradient of any scalar function of
a gradient) needs their reverse rules, and differentiating a forward
derivative in reverse mode (``tangent.grad(tangent.jvp(f))``) needs those of
the forward rules' helpers (``tangent_prod``, ...). test_numpy_rules checks
reverse over reverse for its whole table of NumPy and SciPy cases; this file
checks the rule tables themselves, grad of grad of scalar functions, reverse
over reverse through containers and builtins, reverse over forward, and each
runtime and builtin helper's rules directly (a user function that calls the
helper), against central finite differences in float64.
"""

import ast
import math
import types

import numpy as np
import pytest

import tangent
from tangent import rules, runtime
from tangent.rules import builtins_rules as br
from tangent.rules import numpy_rules as nr
from tangent.rules import runtime_rules as rr
from tests import test_numpy_rules as tn
from tests.test_programs import layer_loss, make_layer
from tests.utils import check_grad

try:
    import scipy.special as sp
except ImportError:  # pragma: no cover - scipy is a test dependency
    sp = None

EPS = 1e-6
RTOL, ATOL = 1e-5, 1e-6


def rng(seed):
    return np.random.default_rng(seed)


def along(gradient, args, wrt, v, eps=EPS):
    """Central difference of ``gradient`` along ``v`` in argument ``wrt``."""
    plus, minus = list(args), list(args)
    plus[wrt] = args[wrt] + eps * v
    minus[wrt] = args[wrt] - eps * v
    return (np.asarray(gradient(*plus), dtype=float) - np.asarray(gradient(*minus), dtype=float)) / (2 * eps)


def close(got, expected, rtol=RTOL, atol=ATOL):
    assert np.shape(got) == np.shape(expected), f"shape {np.shape(got)} != {np.shape(expected)}"
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)


# ============================================================ the rule tables

RULE_MODULES = ("tangent.rules.numpy_rules", "tangent.rules.scipy_rules", "tangent.rules.builtins_rules",
                "tangent.rules.runtime_rules", "tangent.runtime", "tangent.runtime.adjoints", "tangent.runtime.regions",
                "tangent.runtime.tangents", "tangent.runtime.sequences")


def is_helper(obj):
    return isinstance(obj, types.FunctionType) and obj.__module__ in RULE_MODULES


def helpers_called(template):
    """The module-level helpers that a rule's generated code calls."""
    found = set()
    for node in ast.walk(template.tree):
        if not isinstance(node, ast.Call):
            continue
        func, obj = node.func, None
        if isinstance(func, ast.Name):
            obj = template.namespace.get(func.id)
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "runtime":
            obj = getattr(runtime, func.attr, None)
        if is_helper(obj):
            found.add(obj)
    return found


def all_rules():
    rules.load_builtin_rules()
    return list(rules.ADJOINTS._by_key.items()) + list(rules.TANGENTS._by_key.items())


def test_every_helper_of_a_rule_has_a_reverse_rule():
    """Whatever the first derivative of a primitive calls (in either mode)
    can be differentiated in reverse mode: grad of grad and grad of jvp."""
    called = set()
    for primitive, template in all_rules():
        if not is_helper(primitive):
            called |= helpers_called(template)
    missing = sorted(f.__qualname__ for f in called
                     if rules.lookup_adjoint(f) is None and not rules.is_nondifferentiable(f))
    assert not missing, f"helpers without a reverse rule: {missing}"
    assert {nr.grad_sum, nr.matmul_adjoint_lhs, nr.grad_einsum, br.grad_of_extremum, runtime.unbroadcast} <= called


# runtime functions that the engine itself puts into generated code
ENGINE_CALLS = [runtime.unbroadcast, runtime.grad_of_index, runtime.add, runtime.zero_region, runtime.grad_of_written,
                runtime.split_last, runtime.append_grad, runtime.grad_of_attribute, runtime.attribute,
                runtime.as_sequence, runtime.copy_region, runtime.broadcast_like]


@pytest.mark.parametrize("fn", ENGINE_CALLS, ids=lambda f: f.__name__)
def test_runtime_functions_have_both_rules(fn):
    assert rules.lookup_adjoint(fn) is not None
    assert rules.lookup_tangent(fn) is not None


@pytest.mark.parametrize("fn", [runtime.zeros_like, runtime.check_scalar_output, runtime.ensure_finite],
                         ids=lambda f: f.__name__)
def test_runtime_functions_without_derivative(fn):
    assert rules.is_nondifferentiable(fn)


def test_reverse_and_forward_rules_differentiate_the_same_arguments():
    """Activity analysis reads whichever rule it finds first, so the two rules
    of a primitive must agree on the arguments that carry derivatives."""
    rules.load_builtin_rules()
    for key, forward in rules.TANGENTS._by_key.items():
        reverse = rules.ADJOINTS._by_key.get(key)
        if reverse is not None:
            assert reverse.differentiable_params == forward.differentiable_params, (reverse, forward)


# ================================================== grad of grad of scalars


def m_trig(x):
    return math.sin(x * x) * math.exp(-x) + math.atan2(x, 1.5) * math.cos(x)


def m_logs(x):
    return math.log(x * x + 1.0) * math.sqrt(x + 2.0) + math.log1p(x) / math.hypot(x, 0.5) + math.pow(x, 3.5)


def m_hyperbolic(x):
    return math.tanh(x) ** 2 + math.sinh(x) * math.cosh(0.5 * x) + math.erf(x) * math.asin(x / 2.0)


def np_on_float(x):
    return np.tanh(x) ** 2 * np.exp(-x * x) + np.arctan(x) * np.sqrt(x + 2.0) + np.log1p(x) ** 3


def np_via_array(x):
    v = np.array([x, 2.0 * x, x * x])
    return np.sum(np.sin(v) * np.arange(1.0, 4.0)) * np.prod(v + 1.0)


def np_reductions(x):
    v = np.stack([x, np.sin(x), x * x, 1.5])
    return np.std(v) * np.max(v) + np.linalg.norm(v) ** 3 + np.var(v) / np.mean(v + 2.0)


def np_linear_algebra(x):
    a = np.array([[2.0 + x, x * x], [np.sin(x), 3.0]])
    b = np.array([1.0, x])
    return np.linalg.det(a) * np.sum(np.linalg.solve(a, b)) + np.sum(a @ a @ b) + np.trace(np.linalg.inv(a))


def builtins_mix(x):
    extremes = max(x * x, 0.3, x) * min(x, 2.0 - x)
    return extremes + sum([x, x * x, 1.0]) ** 2 + abs(x) ** 3 + pow(x * x + 1.0, 1.5) + (x % 0.7) * x


def builtin_max_of_list(x):
    return max([x * x, np.sin(x), 0.1]) * x + min((x, 1.0 - x))


def scipy_mix(x):
    return sp.expit(x * 2.0) * sp.gammaln(x + 1.0) + sp.erf(x) ** 2 + sp.logsumexp(np.array([x, 2.0 * x, 1.0]))


def exact_cubic(x):
    return x * x * x + np.sin(x)


SCALARS = [
    (m_trig, 0.7), (m_logs, 0.8), (m_hyperbolic, 0.6), (np_on_float, 0.4), (np_via_array, 0.3),
    (np_reductions, 0.9), (np_linear_algebra, 0.5), (builtins_mix, 0.8), (builtins_mix, -0.3),
    (builtin_max_of_list, 0.6), (builtin_max_of_list, 0.2),
    pytest.param(scipy_mix, 0.7, marks=pytest.mark.skipif(sp is None, reason="scipy is not installed")),
]


@pytest.mark.parametrize("f,x", SCALARS, ids=lambda v: v.__name__ if callable(v) else str(v))
def test_grad_of_grad_of_scalar_function(f, x):
    gradient = tangent.grad(f)
    got = tangent.grad(gradient)(x)
    close(got, along(gradient, [x], 0, 1.0))


def test_grad_of_grad_exact():
    assert tangent.grad(tangent.grad(exact_cubic))(0.7) == pytest.approx(6 * 0.7 - math.sin(0.7), rel=1e-12)
    # x ** 4 through np.prod of a list: 12 x ** 2
    assert tangent.grad(tangent.grad(quartic))(1.3) == pytest.approx(12 * 1.3 ** 2, rel=1e-12)


def quartic(x):
    return np.prod([x, x, x, x])


def test_third_order_through_helpers():
    # d3/dx3 of sum(sin([x, 2x])) = -cos(x) - 8 cos(2x)
    d3 = tangent.grad(tangent.grad(tangent.grad(sines)))
    assert d3(0.4) == pytest.approx(-math.cos(0.4) - 8 * math.cos(0.8), rel=1e-10)


def sines(x):
    return np.sum(np.sin(np.array([x, 2.0 * x])))


def tanh_squares(x):
    return np.sum(np.tanh(x) ** 2)


TANH_GRADIENT = tangent.grad(tanh_squares)


def weighted_tanh_gradient(x):
    return np.sum(TANH_GRADIENT(x) * np.arange(3.0))


def test_grad_of_a_function_of_a_gradient():
    # d/dx of 2 tanh(x) (1 - tanh(x)^2) is 2 (1 - t^2)(1 - 3 t^2)
    x = np.array([0.3, -0.8, 1.0])
    t = np.tanh(x)
    expected = np.arange(3.0) * 2 * (1 - t * t) * (1 - 3 * t * t)
    close(tangent.grad(weighted_tanh_gradient)(x), expected, rtol=1e-12, atol=1e-14)


def test_grad_of_grad_needs_a_scalar_input():
    # the gradient of an array function is an array: grad of it asks for a
    # scalar output, vjp of it is the Hessian-vector product
    x, u = np.array([0.3, -0.8, 1.0]), np.array([1.0, 2.0, -1.0])
    with pytest.raises(tangent.TangentError, match="scalar output"):
        tangent.grad(TANH_GRADIENT)(x)
    close(tangent.vjp(TANH_GRADIENT)(x, 1.0, u), along(TANH_GRADIENT, [x], 0, u))


# ==================================== reverse over reverse through containers


def of_gradient1(gradient, w):
    def g(a):
        return np.sum(gradient(a) * w)
    return g


def of_gradient2(gradient, w):
    def g(a, b):
        return np.sum(gradient(a, b) * w)
    return g


def dict_values(x):
    d = {"a": x * x, "b": np.sin(x)}
    return np.sum(d["a"] * d["b"])


def tuple_unpack(x):
    a, b = (x, x * x)
    return np.sum(a * b * np.exp(a))


def list_items(x, y):
    items = [x, y * y, x * y]
    return np.sum(items[0] * items[1] + items[2] ** 2)


def builtin_sum_of_rows(x, y):
    return np.sum(sum(x * y) * x) + sum([np.sum(x), y[0] * y[1]])


def builtin_max_of_arrays(x, y):
    return np.sum(max(np.sum(x), np.sum(y * y)) * x * y)


def scalars_stacked(x, y):
    v = np.stack([x[0] * y[1], np.sin(x[1]), y[0] ** 2])
    return np.sum(np.hstack([v, x]) ** 2) + np.sum(np.concatenate([x, y]) * np.vstack([x, y]).sum(axis=0).sum())


def broadcasting(x, y):
    return np.sum(np.sin(x + y) * (x * y)) + np.sum(np.maximum(x, y) ** 2)


def einsum_three(x, y):
    return np.sum(np.sin(np.einsum("i,ij,j->i", x, np.outer(x, y), y)))


CONTAINERS = [
    (dict_values, [rng(1).standard_normal(3)]),
    (tuple_unpack, [rng(2).standard_normal(3)]),
    (list_items, [rng(3).standard_normal(3), rng(4).standard_normal(3)]),
    (builtin_sum_of_rows, [rng(5).standard_normal((2, 3)), rng(6).standard_normal(3)]),
    (builtin_max_of_arrays, [rng(7).standard_normal(3), rng(8).standard_normal(3)]),
    (scalars_stacked, [rng(9).standard_normal(3), rng(10).standard_normal(3)]),
    (broadcasting, [rng(11).standard_normal((2, 3)), rng(12).standard_normal(3)]),
    (einsum_three, [rng(13).standard_normal(3), rng(14).standard_normal(3)]),
]


@pytest.mark.parametrize("f,args,wrt", [pytest.param(f, args, i, id=f"{f.__name__}-{i}")
                                         for f, args in CONTAINERS for i in range(len(args))])
def test_reverse_over_reverse(f, args, wrt):
    gradient = tangent.grad(f, wrt=wrt)
    w = rng(99).standard_normal(np.shape(args[wrt]))
    g = of_gradient1(gradient, w) if len(args) == 1 else of_gradient2(gradient, w)
    close(tangent.grad(g, wrt=wrt)(*args), along(gradient, args, wrt, w))


def test_reverse_over_reverse_through_object_attributes():
    """The gradient with respect to an object is a GradDict built by
    grad_of_attribute; differentiate one of its entries in x."""
    layer, x = make_layer(3), rng(15).standard_normal(3)
    gradient = tangent.grad(layer_loss, wrt=(0, 1))
    weights = rng(16).standard_normal((2, 3))

    def of_weight_gradient(layer, x):
        return np.sum(gradient(layer, x)[0]["W"] * weights)

    got = tangent.grad(of_weight_gradient, wrt=1)(layer, x)
    close(got, [along(lambda v: of_weight_gradient(layer, v), [x], 0, e) for e in np.eye(3)])


def test_vjp_of_gradient_is_hessian_times_vector():
    x, u = rng(17).standard_normal((2, 3)), rng(18).standard_normal((2, 3))
    gradient = tangent.grad(tn.mlp(np), wrt=0)
    w2, data = rng(19).standard_normal((3, 2)), rng(20).standard_normal((4, 2))
    got = tangent.vjp(gradient)(x, w2, data, 1.0, u)
    close(got, along(gradient, [x, w2, data], 0, u))


# ===================================================== reverse over forward

FORWARD = [
    (tn.reduction(np.prod, 1, False), tn.P(2, 3) * np.sign(rng(21).standard_normal((2, 3)))),
    (tn.reduction(np.max, 0, True), rng(22).standard_normal((2, 3))),
    (tn.reduction(np.std, None, False), rng(23).standard_normal((2, 3))),
    (tn.reduction(np.var, (0, 1), True), rng(24).standard_normal((2, 3))),
    (tn.norm(None, 1), rng(25).standard_normal((2, 3))),
    (tn.norm(3, None), rng(26).standard_normal(4)),
    (tn.det_f, tn.SPD(3)),
    (tn.slogdet_unpack, tn.SPD(3, 2)),
    (tn.inv_f, tn.SPD(3)),
    (tn.sort_fn, rng(27).standard_normal((2, 3))),
    (tn.einsum1("ii->i"), rng(28).standard_normal((3, 3))),
    (tn.item_fn, rng(29).standard_normal((2, 3))),
    (tn.cumsum_method, rng(30).standard_normal((2, 3))),
    (tn.concat_none, rng(31).standard_normal((3, 3))),
]


@pytest.mark.parametrize("f,x", FORWARD, ids=lambda v: getattr(v, "__qualname__", ""))
def test_grad_of_jvp(f, x):
    """x -> jvp(f)(x, v) = <grad f(x), v>: its gradient is H v."""
    args = [x] if f is not tn.concat_none else [x, rng(32).standard_normal((3, 2))]
    v = rng(33).standard_normal(np.shape(x))
    got = tangent.grad(tangent.jvp(f))(*args, v)
    close(got, along(tangent.grad(f), args, 0, v))


def solve_f(a, b):
    return np.sum(np.sin(np.linalg.solve(a, b)))


@pytest.mark.parametrize("b_shape", [(3,), (3, 2)], ids=str)
def test_grad_of_jvp_of_solve(b_shape):
    a, b = tn.SPD(3), rng(34).standard_normal(b_shape)
    va, vb = rng(35).standard_normal((3, 3)), rng(36).standard_normal(b_shape)
    forward = tangent.jvp(solve_f, wrt=(0, 1))
    got_a, got_b = tangent.grad(forward, wrt=(0, 1))(a, b, va, vb)
    gradient = tangent.grad(solve_f, wrt=(0, 1))
    for k, got in enumerate((got_a, got_b)):
        expected = (np.asarray(gradient(a + EPS * va, b + EPS * vb)[k])
                    - np.asarray(gradient(a - EPS * va, b - EPS * vb)[k])) / (2 * EPS)
        close(got, expected)


@pytest.mark.skipif(sp is None, reason="scipy is not installed")
def test_grad_of_jvp_of_logsumexp():
    x, b = rng(37).standard_normal((2, 3)), tn.P(3)
    v = rng(38).standard_normal((2, 3))
    got = tangent.grad(tangent.jvp(tn.logsumexp_b))(x, b, v)
    close(got, along(tangent.grad(tn.logsumexp_b), [x, b], 0, v))


# ============================================ the runtime and builtin helpers
# User functions that call a helper directly, so that its reverse rule (and
# forward rule) is checked on its own, including the helpers that Tangent's
# own reverse over reverse does not reach yet (writes into arrays, see below).

INDEX = np.array([0, 2, 0])
W3, W4, W23 = np.array([0.5, -1.0, 2.0]), np.array([1.0, -0.5, 0.25, 2.0]), np.arange(1.0, 7.0).reshape(2, 3)
PAIR_LIKE = [np.zeros(3), np.zeros(3)]
CHOICES = (1.0, 3.0, 2.0)


def h_zero_region(x):
    return np.sum(np.sin(runtime.zero_region(x * x, 1, x)) * W4)


def h_zero_region_slice(x):
    return np.sum(np.sin(runtime.zero_region(x * x, slice(1, 3), x)) * W4)


def h_grad_of_written(x):
    return np.sum(np.sin(runtime.grad_of_written(x * x, INDEX, W3)) * W3)


def h_grad_of_written_broadcast(x):
    return np.sum(np.sin(runtime.grad_of_written(np.outer(x, x[:3]), 1, 0.5)))


def h_place_written(x):
    return np.sum(np.sin(rr.place_written(x[:3] * x[1:], W4, INDEX, W3)) * W4)


def h_split_last(x, y):
    front, last = runtime.split_last([x, y * y, x * y])
    return np.sum(front[0] * front[1] * last)


def h_join_last(x, y):
    out = rr.join_last(([x, y * x], x * y), [W3, W3, W3])
    return np.sum(out[0] * out[1] + np.sin(out[2]))


def h_append_grad(x, y):
    out = runtime.append_grad([x, y], x * y)
    return np.sum(out[0] * out[2] + np.sin(out[1]))


def h_broadcast_like(x):
    return np.sum(np.sin(runtime.broadcast_like(x[:3], W23)) * W23)


def h_unbroadcast(x):
    return np.sum(np.sin(runtime.unbroadcast(np.outer(x, x), W4)) * W4)


def h_grad_of_attribute(x):
    return np.sum(np.sin(runtime.grad_of_attribute(None, "w", x * x)["w"]))


def h_grad_of_index(x):
    return np.sum(np.sin(runtime.grad_of_index(W23, (1, slice(None)), x[:3] * x[1])) * W23)


def h_dense_grad(x, y):
    return np.sum(np.sin(nr.dense_grad([x, y * y], W23)) * W23)


def h_piece_grads(x, y):
    parts = nr.piece_grads([x, y * x], PAIR_LIKE)
    return np.sum(parts[0] * np.sin(parts[1]))


def h_pieces_of(x, y):
    parts = nr.pieces_of([x, y * x], PAIR_LIKE)
    return np.sum(parts[0] * np.sin(parts[1]))


def h_item_at(x):
    return np.sin(nr.item_at(x * x, (1,))) * nr.item_at(x, (2,))


def h_grad_of_extremum(x):
    parts = br.grad_of_extremum(x * x, 3.0, CHOICES, True)
    return np.sum(np.sin(parts[1])) + np.sum(parts[0] * parts[2])


def h_grad_of_chosen(x, y):
    return np.sum(np.sin(br.grad_of_chosen((x, y * x, y), 0.0, 3.0, CHOICES)))


def h_grad_of_builtin_sum(x):
    parts = br.grad_of_builtin_sum(x[:3] * x[3], [W3, 1.0])
    return np.sum(np.sin(parts[0]) * W3) + parts[1] ** 2


def h_sum_of_item_grads(x, y):
    return np.sum(np.sin(br.sum_of_item_grads([x, y * y, 2.0], W3, [W3, W3, 1.0])) * W3)


def h_solve_apply(a, v):
    return np.sum(np.sin(nr.solve_apply(a, v, W3))) + np.sum(nr.solve_apply(a, np.outer(v, v[:2]), W23.T) ** 2)


HELPERS = [
    (h_zero_region, 1), (h_zero_region_slice, 1), (h_grad_of_written, 1), (h_grad_of_written_broadcast, 1),
    (h_place_written, 1), (h_split_last, 2), (h_join_last, 2), (h_append_grad, 2), (h_broadcast_like, 1),
    (h_unbroadcast, 1), (h_grad_of_attribute, 1), (h_grad_of_index, 1), (h_dense_grad, 2), (h_piece_grads, 2),
    (h_pieces_of, 2), (h_item_at, 1), (h_grad_of_extremum, 1), (h_grad_of_chosen, 2), (h_grad_of_builtin_sum, 1),
    (h_sum_of_item_grads, 2), (h_solve_apply, 2),
]


@pytest.mark.parametrize("f,n", HELPERS, ids=lambda v: v.__name__ if callable(v) else "")
def test_helper_rules(f, n):
    """Reverse rule against finite differences, forward rule against it."""
    args = [tn.SPD(3), rng(40).standard_normal(3)] if f is h_solve_apply else \
        [rng(41).standard_normal(4) if n == 1 else rng(42).standard_normal(3), rng(43).standard_normal(3)][:n]
    wrt = tuple(range(n))
    grads = check_grad(f, *args, wrt=wrt)
    grads = grads if n > 1 else (grads,)
    directions = [rng(44 + i).standard_normal(np.shape(a)) for i, a in enumerate(args)]
    got = tangent.jvp(f, wrt=wrt)(*args, *directions)
    close(got, sum(np.sum(g * v) for g, v in zip(grads, directions)), rtol=1e-7, atol=1e-9)


def test_grad_of_written_keeps_the_last_of_repeated_writes():
    # region = g[[0, 2, 0]] with the first 0 dropped: the adjoint of g holds
    # the last write's adjoint only
    got = tangent.vjp(written_region)(np.arange(4.0), np.array([1.0, 2.0, 3.0]))
    close(got, np.array([3.0, 0.0, 2.0, 0.0]), rtol=0, atol=0)


def written_region(g):
    return runtime.grad_of_written(g, INDEX, W3)


# ============================================================= engine limits


def append_then_read(x):
    hs = []
    hs.append(np.sin(x))
    hs.append(hs[0] * x)
    return np.sum(hs[1] * hs[0])


def loop_over_appended(x):
    hs = []
    hs.append(np.sin(x))
    s = 0.0
    for h in hs:
        s = s + np.sum(h * h)
    return s


def read_then_store(x):
    y = x * 1.0
    y[2] = y[1] * x[0]
    return np.sum(y * x)


@pytest.mark.parametrize("f", [
    append_then_read,
    loop_over_appended,
    read_then_store,  # (refused until round 4: the gradient's restore_region is now a write reverse mode undoes)
])
def test_reverse_over_reverse_engine_limits(f):
    x, w = np.array([0.3, -0.5, 1.2]), np.array([1.0, -2.0, 0.5])
    gradient = tangent.grad(f)
    close(tangent.vjp(gradient)(x, 1.0, w), along(gradient, [x], 0, w))
    close(tangent.hvp(f)(x, w), along(gradient, [x], 0, w))


def bare_pop(x):
    hs = []
    hs.append(x * 2.0)
    hs.append(x * x)
    hs.pop()
    return hs[0] * x


def test_pop_as_a_statement():
    assert tangent.grad(bare_pop)(1.5) == pytest.approx(4 * 1.5)
