"""Natural research programs using the constructs of issue 13 that were still
refused (a VI/GP/HMM/ODE-net/convnet snippet each): every one is checked
against central finite differences in reverse and forward mode and at second
order (tangent.testing.check_grads: hvp and the vjp of grad; functions that
write into their arguments or take *args against tests/utils.numeric_grad on
fresh copies, since check_grads passes seeds positionally and checks that
arguments stay unchanged). Refusals name the user's variables."""

import re

import numpy as np
import pytest

import tangent
from tangent.testing import check_grads
from tests.utils import numeric_grad

X = np.array([0.3, -0.7, 1.1])


# ------------------------------------------------ dict.get on an argument
def gp_kernel_loss(x, opts):
    """A GP's squared-exponential kernel with optional hyperparameters."""
    variance = opts.get("variance", 1.0)
    lengthscale = opts.get("lengthscale", 2.0)
    diff = x[:, None] - x[None, :]
    K = variance * np.exp(-0.5 * diff ** 2 / lengthscale ** 2) + 0.1 * np.eye(x.shape[0])
    return np.sum(np.linalg.solve(K, x) * x)


def test_get_on_a_dict_argument():
    check_grads(gp_kernel_loss, X.copy(), {"variance": 1.5}, wrt=0)
    check_grads(gp_kernel_loss, X.copy(), {"variance": 1.5, "lengthscale": 0.7})


def test_get_with_a_variable_key():
    def f(x, opts, name):
        return np.sum(opts.get(name, 2.0) * x ** 2)
    check_grads(f, X.copy(), {"a": 0.5}, "a", wrt=0)
    check_grads(f, X.copy(), {"a": 0.5}, "b", wrt=0)


# ------------------------------------------------ {**d}, {**d, "k": v}
def vi_elbo(mu, log_sigma, prior):
    """A mean-field VI ELBO: the posterior's parameters merged over the prior's."""
    posterior = {**prior, "mu": mu, "sigma": np.exp(log_sigma)}
    q = {**posterior}
    kl = np.sum(np.log(prior["sigma"] / q["sigma"]) + (q["sigma"] ** 2 + (q["mu"] - prior["mu"]) ** 2)
                / (2.0 * prior["sigma"] ** 2) - 0.5)
    return -kl


def test_dict_unpacking_in_a_display():
    prior = {"mu": np.zeros(3), "sigma": np.full(3, 1.3)}
    # a dict of keys known only at run time is filled item by item: reverse
    # over reverse of such writes is refused (README), hvp works
    check_grads(vi_elbo, X.copy(), 0.5 * X, prior, order=1)
    check_grads(vi_elbo, X.copy(), 0.5 * X, prior, modes=("forward",))


def test_dict_unpacking_of_a_known_display():
    def f(x):
        base = {"a": x, "b": 2.0 * x}
        merged = {**base, "b": np.sin(x), **{"c": x * x}}
        return np.sum(merged["a"] * merged["b"] + merged["c"])
    check_grads(f, X.copy())


# ------------------------------------------------ starred for-targets
def hmm_log_likelihood(log_pi, rows):
    """Each row: an observation's weight, then its emission features."""
    total = 0.0
    for weight, *features in rows:
        for feature in features:
            total = total + weight * np.log(np.sum(np.exp(log_pi + feature)))
    return total


def test_starred_loop_target():
    rows = [(1.0, np.array([0.1, 0.2, 0.3]), np.array([-0.3, 0.0, 0.4])), (0.5, np.array([1.0, -1.0, 0.0]))]
    check_grads(hmm_log_likelihood, np.log(np.array([0.2, 0.3, 0.5])), rows, wrt=0)


def test_starred_targets_in_comprehensions_and_enumerate():
    def f(x):
        rows = [(x, 2.0 * x, x * x), (np.sin(x), x)]
        heads = [first * np.sum(rest) for first, *rest in rows]
        s = 0.0
        for i, (a, *b) in enumerate(rows):
            s = s + (i + 1.0) * a * len(b)
        return np.sum(heads[0] + heads[1] + s)
    check_grads(f, X.copy())


# ------------------------------------------------ f(*item) of a run-time length
def affine(h, W, b=0.0):
    return np.dot(W, h) + b


def convnet_head(x, params):
    """Layers stored as (W, b) or (W,) tuples in a dict argument."""
    h = x
    for name in ["conv", "dense"]:
        h = np.tanh(affine(h, *params[name]))
    return np.sum(h ** 2)


def scale_all(h, *factors):
    for factor in factors:
        h = h * factor
    return h


def ode_net(x, layers):
    """An explicit-Euler ODE net whose steps' factors are items of a list argument."""
    for layer in layers:
        x = x + 0.1 * np.sin(scale_all(x, *layer))
    return np.sum(x)


def test_star_call_of_a_run_time_length_with_defaults():
    params = {"conv": (0.5 * np.eye(3) + 0.1, 0.2 * X), "dense": (np.full((3, 3), 0.3),)}
    check_grads(convnet_head, X.copy(), params)


def test_star_call_into_varargs_of_a_run_time_length():
    check_grads(ode_net, X.copy(), [(X, 2.0), (1.5,), (X, X, 0.5)])


# ------------------------------------------------ a function-valued default of f itself
def bnn_predict(x, W=np.array([[0.5, -0.2, 0.1], [0.3, 0.8, -0.4]]), nonlinearity=np.tanh):
    """A Bayesian neural net's mean prediction with a chosen nonlinearity."""
    return np.sum(np.dot(W, nonlinearity(x)) ** 2)


def softplus(v):
    return np.log1p(np.exp(v))


def bnn_softplus(x, nonlinearity=softplus):
    return np.sum(nonlinearity(x) * x)


def test_function_valued_default_of_the_differentiated_function():
    check_grads(bnn_predict, X.copy(), wrt=0)
    check_grads(bnn_softplus, X.copy(), wrt=0)
    assert "nonlinearity(x)" in tangent.source(tangent.grad(bnn_softplus))


def test_another_function_than_the_default_is_refused_at_the_call():
    df = tangent.grad(bnn_softplus)
    expected = tangent.grad(lambda x: np.sum(softplus(x) * x))(X)
    np.testing.assert_allclose(df(X, softplus), expected)  # the default itself, passed explicitly
    with pytest.raises(tangent.TangentError, match="default nonlinearity=softplus .* another nonlinearity"):
        df(X, np.sin)


# ------------------------------------------------ grad of def f(x, *args) itself
def elbo_of_samples(mu, *samples):
    """A Monte-Carlo VI objective over however many samples are passed."""
    total = 0.0
    for eps in samples:
        z = mu + 0.5 * eps
        total = total + np.sum(np.log1p(z ** 2)) / len(samples)
    return total


def _numeric(f, args, index):
    return numeric_grad(f, args, index)  # central differences in float64


def test_grad_of_a_function_taking_varargs():
    samples = (np.array([0.2, -1.0, 0.4]), np.array([1.1, 0.3, -0.2]))
    df = tangent.grad(elbo_of_samples)
    for args in [(X,) + samples, (X, samples[0]), (X,) + samples * 2]:
        np.testing.assert_allclose(df(*args), _numeric(elbo_of_samples, args, 0), rtol=1e-6, atol=1e-8)
    # the seed is the keyword dresult= (a trailing positional value is one more sample)
    np.testing.assert_allclose(df(X, *samples, dresult=3.0), 3.0 * df(X, *samples))
    assert tangent.grad(elbo_of_samples) is df
    # wrt may name an item of *args
    dmu, deps = tangent.grad(elbo_of_samples, wrt=(0, 2))(X, *samples)
    np.testing.assert_allclose(deps, _numeric(elbo_of_samples, (X,) + samples, 2), rtol=1e-6, atol=1e-8)


def test_forward_and_second_order_of_a_function_taking_varargs():
    samples = (np.array([0.2, -1.0, 0.4]), np.array([1.1, 0.3, -0.2]))
    v = np.array([0.5, -0.25, 1.0])
    expected = _numeric(elbo_of_samples, (X,) + samples, 0) @ v
    np.testing.assert_allclose(tangent.jvp(elbo_of_samples)(X, *samples, v), expected, rtol=1e-6)
    grad_along = lambda x: tangent.grad(elbo_of_samples)(x, *samples) @ v  # noqa: E731
    hv = tangent.hvp(elbo_of_samples)(X, *samples, v)
    np.testing.assert_allclose(hv, _numeric(grad_along, (X,), 0), rtol=1e-5, atol=1e-7)


def cubic_of_sum(x, *coefficients):
    return x ** 3 * sum(coefficients)


def test_grad_of_grad_of_a_function_taking_varargs():
    second = tangent.grad(tangent.grad(cubic_of_sum))(0.5, 1.0, 2.0)
    first = tangent.grad(cubic_of_sum)
    np.testing.assert_allclose(second, _numeric(lambda x: first(x, 1.0, 2.0), (0.5,), 0), rtol=1e-6)


def test_jacobian_and_hessian_of_a_function_taking_varargs():
    samples = (np.array([0.2, -1.0, 0.4]),)
    H = tangent.hessian(elbo_of_samples)(X, *samples)
    first = tangent.grad(elbo_of_samples)
    for k in range(3):
        row = _numeric(lambda x: first(x, *samples)[k], (X,), 0)
        np.testing.assert_allclose(H[k], row, rtol=1e-5, atol=1e-7)
    J = tangent.jacobian(cubic_of_sum)(X, 1.0, 2.0)
    np.testing.assert_allclose(J, np.diag(9.0 * X ** 2), rtol=1e-10)


def test_split_motion_of_a_function_taking_varargs_is_refused():
    with pytest.raises(tangent.TangentError, match=r"motion='split' of elbo_of_samples, which takes \*args"):
        tangent.grad(elbo_of_samples, motion="split")


# ------------------------------------------------ obj.a = v on an argument object
class ODEState:
    def __init__(self, h, t):
        self.h = h
        self.t = t


def ode_net_rollout(W, state: ODEState):
    """An ODE net integrated in place in the caller's state object (Euler steps)."""
    for _ in range(3):
        state.h = state.h + 0.1 * np.tanh(np.dot(W, state.h)) * state.t
        state.t = state.t + 0.1
    return np.sum(state.h ** 2)


def _fresh_state():
    return ODEState(np.array([0.5, -0.3, 0.8]), 1.0)


W0 = np.array([[0.4, -0.2, 0.1], [0.3, 0.5, -0.6], [-0.1, 0.2, 0.7]])


def _rollout_of(W):
    return ode_net_rollout(W, _fresh_state())


def test_attribute_writes_into_an_argument_object():
    expected_state = _fresh_state()
    value = ode_net_rollout(W0.copy(), expected_state)
    state = _fresh_state()
    g, result = tangent.grad(ode_net_rollout, preserve_result=True)(W0.copy(), state)
    np.testing.assert_allclose(g, numeric_grad(_rollout_of, [W0.copy()], 0), rtol=1e-6, atol=1e-8)
    assert result == value
    # the function writes into the caller's object; its derivative does not
    np.testing.assert_array_equal(state.h, _fresh_state().h)
    assert state.t == 1.0 and expected_state.t != 1.0
    # with respect to the object: the value at entry (a dict of its attributes' gradients)
    dstate = tangent.grad(ode_net_rollout, wrt=1)(W0.copy(), _fresh_state())
    h0 = _fresh_state().h
    np.testing.assert_allclose(dstate["h"], numeric_grad(lambda h: ode_net_rollout(W0, ODEState(h.copy(), 1.0)), [h0], 0),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dstate["t"], numeric_grad(lambda t: ode_net_rollout(W0, ODEState(h0.copy(), t)), [1.0], 0),
                               rtol=1e-6, atol=1e-8)


def test_attribute_writes_into_an_argument_object_forward_and_second_order():
    V = np.array([[0.1, 0.0, -0.3], [0.2, 0.1, 0.0], [0.0, -0.4, 0.5]])
    state = _fresh_state()
    jv = tangent.jvp(ode_net_rollout)(W0.copy(), state, V)
    fd = (_rollout_of(W0 + 1e-6 * V) - _rollout_of(W0 - 1e-6 * V)) / 2e-6
    np.testing.assert_allclose(jv, fd, rtol=1e-6)
    np.testing.assert_array_equal(state.h, _fresh_state().h)  # left as it was
    assert state.t == 1.0
    hv = tangent.hvp(ode_net_rollout)(W0.copy(), _fresh_state(), V)
    gradient = lambda W: tangent.grad(ode_net_rollout)(W, _fresh_state())  # noqa: E731
    step = 1e-5
    np.testing.assert_allclose(hv, (gradient(W0 + step * V) - gradient(W0 - step * V)) / (2 * step), rtol=1e-5, atol=1e-7)


# ------------------------------------------------ messages name the user's variables
def _mutating_nested(x):
    def g(dd):
        dd.update({"a": x})
        return x
    return np.sum(g({}))


def _aliased_attribute(x, state):
    s = state
    s.h = x
    return np.sum(state.h)


class _Model:
    def forward(self, x):
        return 2.0 * x


def _unannotated_model(x, model):
    return np.sum(model.forward(x))


def test_unannotated_model_object_is_differentiated_for_its_class():
    # the derivative is made at the call, for _Model (tangent/argument_classes.py)
    model, v = _Model(), np.linspace(0.5, 1.5, X.size).reshape(X.shape)
    numeric = (_unannotated_model(X + 1e-6 * v, model) - _unannotated_model(X - 1e-6 * v, model)) / 2e-6
    np.testing.assert_allclose(np.sum(tangent.grad(_unannotated_model)(X, model) * v), numeric, rtol=1e-6)
    np.testing.assert_allclose(tangent.jvp(_unannotated_model)(X, model, v), numeric, rtol=1e-6)


@pytest.mark.parametrize("f, args, words", [
    (_mutating_nested, (X,), "(dd.update)"),
    (_aliased_attribute, (X, ODEState(X, 1.0)), "assignment to s.h is not supported"),
    (_unannotated_model, (X, {"forward": None}), "annotate the parameter with its class"),  # (no object given)
])
def test_refusals_name_the_users_variables(f, args, words):
    with pytest.raises(tangent.TangentSyntaxError) as info:
        tangent.grad(f)(*args)
    message = str(info.value)
    assert words in message, message
    assert "NumPy array methods" not in message
    assert not re.search(r"'_\w+'|\b_[a-z]\w*\b|dd_g|s_\w", message.split("\n", 1)[1]), message


# ------------------------------------------------ a recursive helper permuting an index list
def rotated_energy(x, r, n):
    """An energy summed over rotations of the index list r (changed and restored)."""
    if n == 0:
        return np.sum(x[r] * x)
    t = int(r[n])
    r[n] = r[0]
    r[0] = t
    v = rotated_energy(x, r, n - 1)
    r[0] = r[n]
    r[n] = t
    return v + x[r[n]] ** 2 * x[r[0]]


def index_list_model(x, r):
    return rotated_energy(x, r, len(r) - 1)


def test_a_recursive_helper_that_permutes_and_restores_an_index_list():
    r = [0, 1, 2, 3]
    x = np.array([0.5, 0.2, -0.3, 0.9])
    # (check_grads also checks that r is left as it was; reverse over reverse of
    # writes is refused, README: hvp is forward over reverse)
    check_grads(index_list_model, x, r, order=1)
    check_grads(index_list_model, x, r, modes=("forward",))
    assert r == [0, 1, 2, 3]


def rotated_energy_plain(x, r, n):
    """rotated_energy reading the item as it is (t = r[n], no int(...)): r is
    checked at run time to be a list of numbers, whose items share no memory."""
    if n == 0:
        return np.sum(x[r] * x)
    t = r[n]
    r[n] = r[0]
    r[0] = t
    v = rotated_energy_plain(x, r, n - 1)
    r[0] = r[n]
    r[n] = t
    return v + x[r[n]] ** 2 * x[r[0]]


def plain_index_list_model(x, r):
    return rotated_energy_plain(x, r, len(r) - 1)


def permutation_sum(x, r, k):
    """Heap's-algorithm style: swap in a loop, recurse, swap back."""
    if k == 1:
        return np.sum(x[r] * x)
    total = 0.0
    for i in range(k):
        t = r[i]
        r[i] = r[k - 1]
        r[k - 1] = t
        total = total + permutation_sum(x, r, k - 1) * x[r[k - 1]]
        t = r[i]
        r[i] = r[k - 1]
        r[k - 1] = t
    return total


def permutation_model(x, r):
    return permutation_sum(x, r, len(r))


@pytest.mark.parametrize("model", [plain_index_list_model, permutation_model])
def test_a_helper_swapping_list_items_through_a_name(model):
    r = [0, 1, 2, 3]
    x = np.array([0.5, 0.2, -0.3, 0.9])
    check_grads(model, x, r, order=1)   # (also checks that r is left as it was)
    check_grads(model, x, r, modes=("forward",))
    assert r == [0, 1, 2, 3]


def test_a_function_swapping_items_of_its_own_list_argument():
    r = [2, 0, 1]
    x = np.array([0.5, -0.2, 0.7])
    check_grads(permutation_sum, x, r, 3, wrt=0, order=1)
    assert r == [2, 0, 1]


@pytest.mark.parametrize("r", [np.array([0, 1, 2, 3]), np.array([[0, 1], [2, 3], [1, 0], [3, 2]])])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_swapping_items_of_an_array_through_a_name_is_refused(r, mode):
    # an item of a 2-D array is a view into it: swapping through it is not a swap
    x = np.array([0.5, 0.2, -0.3, 0.9])
    with pytest.raises(tangent.TangentError, match="list of Python numbers only") as info:
        if mode == "reverse":
            tangent.grad(permutation_model)(x, r)
        else:
            tangent.jvp(permutation_model)(x, r, np.ones(4))
    assert "test_language_programs.py" in str(info.value)
    assert "_copy" not in str(info.value)


def _breaks_the_list(r):
    r[0] = 5
    return 0.0


def _calls_a_helper_that_does_not_restore(x, r):
    z = _breaks_the_list(r)
    return np.sum(x[r]) + z


def _clears(buf):
    buf[0] = 1.0
    buf[0] = 0.0
    return 0.0


def _calls_a_helper_writing_floats(x):
    b = np.zeros(2)
    return np.sum(x) + _clears(b)


@pytest.mark.parametrize("f, args, words", [
    (_calls_a_helper_that_does_not_restore, lambda: (X, [0, 1, 2]), "did not restore it"),
    # (an array argument is refused when the function is transformed: kinds.py knows it holds floats)
    (_calls_a_helper_writing_floats, lambda: (X,), "which changes the caller's variable"),
])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_helper_writing_into_its_parameter_without_restoring_it_is_refused(f, args, words, mode):
    args = args()
    with pytest.raises(tangent.TangentSyntaxError) as info:
        if mode == "reverse":
            tangent.grad(f)(*args)
        else:
            tangent.jvp(f)(*args, np.ones(3))
    message = str(info.value)
    assert f"test_language_programs.py:{f.__code__.co_firstlineno + 1}" in message or \
        f"test_language_programs.py:{f.__code__.co_firstlineno + 2}" in message, message
    assert words in message and "'_" not in message, message


def _returns_its_loop_item(xs):
    last = xs[0]
    for item in xs:
        last = item
    return last


def test_what_a_helper_with_a_loop_may_return():
    from tangent.aliases import may_return_an_argument

    assert not may_return_an_argument(permutation_sum)   # numbers computed, recursion included
    assert may_return_an_argument(_returns_its_loop_item)  # an item of its argument


def _swaps_once(x, r):
    t = r[0]
    r[0] = r[1]
    r[1] = t
    return np.sum(x[r] * x)


def _copies_items(x):
    x[1] = x[0] * 2.0
    x[2] = x[1]
    return np.sum(x ** 2)


def test_a_swap_the_caller_sees_and_writes_that_are_no_swap():
    x = np.array([0.3, 0.5, 0.7])
    r = [2, 0, 1]
    g = tangent.grad(_swaps_once)(x, r)
    assert r == [2, 0, 1]   # _swaps_once writes into r; its derivative does not
    np.testing.assert_allclose(g, numeric_grad(lambda v: _swaps_once(v, [2, 0, 1]), (x,), 0), rtol=1e-6)
    # an array written in place without a swap through a name is not checked to be a list
    y = x.copy()
    g = tangent.grad(_copies_items)(y)
    np.testing.assert_allclose(g, numeric_grad(lambda v: _copies_items(v.copy()), (x,), 0), rtol=1e-6)
