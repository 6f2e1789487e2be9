"""The rest of the Python people write (issue 13): *args/**kwargs, star-arguments,
lambdas and other function values, map/filter/sorted/partial, dict views,
generators. Each program is checked against central finite differences in
reverse and forward mode and at second order (tangent.testing.check_grads:
hvp and the vjp of grad); refusals name the user's line and no internal name."""

import functools
import re

import numpy as np
import pytest

import tangent
from tangent.testing import check_grads

X = np.array([0.3, -0.7, 1.1])


def check(f, *args, **kwargs):
    check_grads(f, *(args or (X.copy(),)), **kwargs)


# ------------------------------------------------------------ *args, **kwargs
def cat_sum(W, *args):
    return W * sum(args)


def varargs_helper(x):
    return np.sum(cat_sum(x, x, 2.0 * x, np.sin(x)))


def varargs_nested(x):
    def cat(W, *rest):
        return W * rest[0] + rest[1]
    return np.sum(cat(x, x * x, 3.0))


def parts(p):
    return p, 2.0 * p


def times(a, b):
    return a * b


def star_call_of_unknown_length(x):
    return np.sum(times(*parts(x)))


def star_call_of_display(x):
    pair = (x, np.cos(x))
    return np.sum(np.multiply(*pair))


def scaled(x, p=1.0, q=2.0):
    return x * p + q


def kwargs_call(x):
    opts = {"p": np.sum(x), "q": 0.5}
    return np.sum(scaled(x, **opts))


def kwargs_get(x):
    def g(v, **opts):
        return v * opts.get("p", 1.0) + opts.get("q", 0.5) * v * v
    return np.sum(g(x, p=x[0]))


def kwargs_helper(v, **opts):
    return v * opts["a"] + opts.get("b", 0.0)


def kwargs_module_helper(x):
    return np.sum(kwargs_helper(x, a=x[1], b=x[2]))


def zip_star(x):
    pairs = [(x[0], x[1]), (x[1], x[2]), (x[2], x[0])]
    total = 0.0
    for a, b, c in zip(*pairs):
        total = total + a * b * c
    return total


def unknown_pairs(x):
    return [(x[0], x[1] * x[1]), (x[2], x[0])]


def zip_star_unknown_length(x):
    firsts, seconds = zip(*unknown_pairs(x))
    return firsts[0] * seconds[0] + firsts[1] * seconds[1]


def starred_list_display(x):
    a = [x[0], x[1]]
    v = [*a, x[2], *[x[0] * x[1]]]
    return v[0] * v[3] + v[1] * v[2]


def starred_tuple_of_unknown(x):
    rows = list(x)
    t = (*rows, x[0])
    return t[0] * t[3] + t[1] * t[2]


def starred_target_display(x):
    a, *b = x[0], x[1], x[2]
    return a * b[0] * b[1]


def starred_target_unknown(x):
    first, *middle, last = x
    return first * last + np.sum(np.array(middle) ** 2)


@pytest.mark.parametrize("f", [varargs_helper, varargs_nested, star_call_of_unknown_length, star_call_of_display,
                               kwargs_call, kwargs_get, kwargs_module_helper, zip_star,
                               starred_list_display, starred_tuple_of_unknown, starred_target_display,
                               starred_target_unknown])
def test_star_arguments(f):
    check(f)


def test_zip_of_an_unknown_number_of_rows():
    # (reverse over reverse refuses the list the transposition builds in place: forward over reverse here)
    check(zip_star_unknown_length, order=1)
    check(zip_star_unknown_length, modes=("forward",))


# ------------------------------------------------------------ lambdas
square_sin = lambda x: np.sum(np.sin(x) * x)  # noqa: E731
two_on_a_line = (lambda x: np.sum(x * x * x), lambda x: np.sum(np.cos(x)))


def test_grad_of_a_lambda():
    check(square_sin)
    g = tangent.grad(square_sin)(X)
    np.testing.assert_allclose(g, np.cos(X) * X + np.sin(X))  # d/dx sin(x) x


def test_two_lambdas_on_one_line_told_apart():
    np.testing.assert_allclose(tangent.grad(two_on_a_line[0])(X), 3 * X * X)
    np.testing.assert_allclose(tangent.grad(two_on_a_line[1])(X), -np.sin(X))


def apply(fn, v):
    return fn(v)


def lambda_passed_to_helper(x):
    w = 2.0 * x
    return np.sum(apply(lambda v: v * w, x))


def lambda_passed_to_nested(x):
    def twice(fn, v):
        return fn(fn(v))
    return np.sum(twice(lambda v: np.sin(v) * x, x))


def sorted_with_key(x):
    pts = [(x[0], x[1]), (x[2], x[0]), (x[1], x[2])]
    s = sorted(pts, key=lambda p: p[0])
    return s[0][1] * 2.0 + s[1][1] * s[2][1]


def sorted_plain_reversed(x):
    s = sorted([x[0] * x[1], x[2], x[1]], reverse=True)
    return s[0] * 3.0 + s[1] * s[2]


def predict(x, nonlinearity=np.tanh):
    return nonlinearity(x)


def function_valued_default(x):
    return np.sum(predict(x)) + np.sum(predict(x, nonlinearity=np.sin))


def nested_function_valued_default(x):
    def layer(v, act=np.tanh):
        return act(v * 2.0)
    return np.sum(layer(x))


def make_step(a):
    def step(v):
        return v - a * v * v
    return step


def make_scale(a):
    return lambda v: a * np.exp(v)


def returned_function_called(x):
    return np.sum(make_step(0.1)(x)) + np.sum(make_scale(x[0])(x))


def returned_function_named(x):
    step = make_step(x[1])
    return np.sum(step(step(x)))


def partials(x):
    g = functools.partial(times, 3.0)
    h = functools.partial(np.sum, axis=0)
    return h(g(x)) + functools.partial(times, b=x[0])(x[1])


sum_rows = functools.partial(np.sum, axis=0)
triple = functools.partial(times, 3.0)


def partial_objects(x):
    return sum_rows(triple(x) * x) + triple(b=x[1])


def mapped(x):
    return sum(map(np.sin, [x[0], x[1]])) + sum(list(map(lambda v: v * v, [x[2], x[0]])))


def mapped_two(x):
    return sum(map(times, [x[0], x[1]], [x[2], x[2]]))


def filtered(x):
    return sum(filter(lambda v: v > 0, [x[0], x[1], x[2]]))


@pytest.mark.parametrize("f", [lambda_passed_to_helper, lambda_passed_to_nested, sorted_with_key,
                               sorted_plain_reversed, function_valued_default, nested_function_valued_default,
                               returned_function_called, returned_function_named, partials, partial_objects,
                               mapped, mapped_two,
                               filtered])
def test_function_values(f):
    check(f)


# ------------------------------------------------------------ containers
def dict_call(x):
    d = dict(a=x, b=2.0 * x)
    return np.sum(d["a"] * d["b"])


def dict_items(x):
    d = {"a": x[0], "b": x[1] * x[2]}
    t = 0.0
    for k, v in d.items():
        t = t + v * v * (2.0 if k == "a" else 1.0)
    return t


def dict_values_and_keys(x):
    d = {"a": x[0], "b": x[1]}
    t = 0.0
    for v in d.values():
        t = t + np.sin(v)
    return t * sum(d[k] for k in d.keys())


def dict_views_in_comprehensions(x):
    d = {"a": x[0], "b": x[1], "c": x[2]}
    return sum([v * v for v in d.values()]) + sum(np.sin(v) for k, v in d.items() if k != "b")


def dict_items_zipped(x):
    d = {"a": x[0], "b": x[1], "c": x[2]}
    return sum(v * w for (k, v), w in zip(d.items(), [1.0, 2.0, 3.0]))


def test_dict_items_zipped():
    # (reverse over reverse refuses the list d.items() is read into: forward over reverse here)
    check(dict_items_zipped, order=1)
    check(dict_items_zipped, modes=("forward",))


def enumerate_zip(x):
    t = 0.0
    for i, (a, b) in enumerate(zip([x[0], x[1]], [x[1], x[2]])):
        t = t + (i + 1) * a * b
    return t


@pytest.mark.parametrize("f", [dict_call, dict_items, dict_values_and_keys, dict_views_in_comprehensions,
                               enumerate_zip])
def test_containers(f):
    check(f)


class Layer:
    def __init__(self, w):
        self.w = w

    def forward(self, v):
        return np.tanh(self.w * v)


def layers_built(x):
    layers = [Layer(1.5), Layer(x[0])]
    for layer in layers:
        x = layer.forward(x)
    return np.sum(x)


def layers_passed(x, layers: list[Layer]):
    for layer in layers:
        x = layer.forward(x)
    return np.sum(x)


def test_methods_of_objects_built_in_a_list():
    # (reverse over reverse refuses objects built in the function: forward over reverse here)
    check(layers_built, order=1)
    check(layers_built, modes=("forward",))


def test_methods_of_objects_in_an_annotated_list_argument():
    layers = [Layer(np.array([1.0, 2.0, 0.5])), Layer(0.7)]
    check(layers_passed, X.copy(), layers, wrt=0)
    grads = tangent.grad(layers_passed, wrt=(1,))(X.copy(), layers)
    for k, w in enumerate([layers[0].w, layers[1].w]):
        def moved(w_new, k=k):
            changed = [Layer(w_new if j == k else layers[j].w) for j in range(2)]
            return layers_passed(X.copy(), changed)
        np.testing.assert_allclose(grads[k]["w"], _central(moved, w), rtol=1e-6, atol=1e-8)


def _central(f, w, eps=1e-6):
    """Central finite differences of f at w (a float or an array), in float64."""
    w = np.asarray(w, dtype=float)
    out = np.zeros_like(w)
    for i in np.ndindex(w.shape):
        step = np.zeros_like(w)
        step[i] = eps
        out[i] = (f(w + step if w.ndim else float(w + step)) - f(w - step if w.ndim else float(w - step))) / (2 * eps)
    return out


# ------------------------------------------------------------ generators
def scaled_copies(x):
    for i in range(3):
        yield x * (i + 1.0)


def delegating(x):
    yield from scaled_copies(x)
    yield np.sin(x)


def generator_summed(x):
    return np.sum(sum(scaled_copies(x)))


def generator_listed(x):
    return np.sum(list(delegating(x))[3] * x)


def generator_looped(x):
    t = 0.0
    for v in delegating(x):
        t = t + np.sum(v * v)
    return t


def nested_generator(x):
    def powers(v):
        p = v
        for _ in range(3):
            yield p
            p = p * v
    return np.sum(sum(powers(x)))


@pytest.mark.parametrize("f", [generator_summed, generator_listed, generator_looped, nested_generator])
def test_generators(f):
    check(f)


# ------------------------------------------------------------ refusals
def endless(x):
    while True:
        yield x


def calls_endless(x):
    return next(endless(x))  # ERR


def star_into_numpy(x):
    return np.add(*list(x))  # ERR


def unknown_keys(x, opts):
    return scaled(x, **opts)  # ERR


def lambda_in_a_list(x):
    fs = [lambda v: v * 2.0]  # ERR
    return fs[0](x)


def nested_function_returned(x):
    def g(v):
        return v
    return g  # ERR


def grown_in_a_branch(x):
    t = [x[0], x[1]]
    if x[2] > 0:
        t.append(x[2])
    return np.sum(cat_sum(1.0, *t))


def test_star_of_a_list_grown_in_a_branch_into_varargs():
    check(grown_in_a_branch, X.copy())
    check(grown_in_a_branch, -X)


def star_in_a_nested_function(x):
    def g(v):
        return np.add(*v)  # ERR
    return np.sum(g(list(x)))


def _line(func, marker="# ERR"):
    import inspect
    lines, first = inspect.getsourcelines(func)
    return first + next(i for i, text in enumerate(lines) if marker in text)


@pytest.mark.parametrize("f, words", [
    (star_into_numpy, "number of items"),
    (star_in_a_nested_function, "number of items in *v "),
    (unknown_keys, "keys of **opts"),
    (lambda_in_a_list, "lambda"),
    (nested_function_returned, "used as a value"),
])
def test_refusals_name_the_line_and_no_internal_name(f, words):
    with pytest.raises(tangent.TangentSyntaxError) as info:
        tangent.grad(f)(X.copy(), *([{"p": 1.0}] if f is unknown_keys else []))
    message = str(info.value)
    assert f"test_language.py:{_line(f)}" in message, message
    assert words in message
    assert not re.search(r"'_\w+'|\b_[a-z]\w*\b", message.split("\n", 1)[1]), message


def test_endless_generator_refused():
    with pytest.raises(tangent.TangentSyntaxError, match="endless generator"):
        tangent.grad(calls_endless)(X.copy())


def test_a_generator_itself_is_refused():
    with pytest.raises(tangent.TangentSyntaxError, match="consumes it"):
        tangent.grad(scaled_copies)


class Dense:
    def __init__(self, W, b):
        self.W = W
        self.b = b

    def __call__(self, v):
        return np.tanh(v @ self.W + self.b)


def layers_from_comprehension(Ws, bs, x):
    layers = [Dense(W, b) for W, b in zip(Ws, bs)]
    for layer in layers:
        x = layer(x)
    return np.sum(x ** 2)


def test_objects_built_by_a_comprehension_and_called():
    # the items' class comes from the comprehension's constructor call
    rng = np.random.RandomState(5)
    Ws, bs = [rng.randn(3, 4), rng.randn(4, 2)], [rng.randn(4), rng.randn(2)]
    check(layers_from_comprehension, Ws, bs, rng.randn(5, 3), wrt=(0, 1), order=1)
    check(layers_from_comprehension, Ws, bs, rng.randn(5, 3), wrt=(0, 1), modes=("forward",))
