"""Google Tangent's own test corpus (github.com/google/tangent, Apache License
2.0): the functions of its tests/functions.py (ported to
tests/google_functions.py) in every mode its tests use, checked against
finite differences by tools/corpus.py; and its
tests/test_hessian_vector_products.py (the three HVP compositions, called as
Google calls them, against autograd).

Every cell of the corpus passes except the ones listed below: REFUSED (the
construct is not supported yet: the test asserts the refusal, then xfails
naming the construct, so that a fix shows up as a failure here that asks for
the list to shrink) and NOT_APPLICABLE (the mode does not apply). A wrong
derivative is never expected.
"""

import os
import sys

import numpy as np
import pytest

import tangent

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))

import corpus  # noqa: E402

from tests.utils import assert_tree_close, numeric_grad  # noqa: E402

ALL = corpus.MODES
REFUSED: dict = {}  # (reverse over reverse of array writes, the last entries, works since round 4)
GOOGLE_INTERNALS = "calls Google Tangent's runtime internals tangent.Stack / push / pop"
NOT_APPLICABLE = {
    **{("fn_multiple_return", m): "a tuple result has no Hessian-vector product" for m in corpus.SECOND_ORDER},
    **{("cart2polar", m): "the function itself fails (np.arctan(b, a) with a float out argument)" for m in ALL},
    **{("inlining_contextmanager", m): "insert_grad_of changes the gradient, not the function"
       for m in corpus.SECOND_ORDER},
    **{(name, m): GOOGLE_INTERNALS for name in ("stack_pushing", "useless_stack_ops", "redefining_var_as_list")
       for m in ALL},
}
FUNCTIONS = {f.__name__: f for f in corpus.corpus_functions()}


def test_the_lists_name_corpus_functions():
    for name, _ in list(REFUSED) + list(NOT_APPLICABLE):
        assert name in FUNCTIONS


# Google's tests run reverse mode both optimized and not; so do these (forward too), the
# compositions optimized only (python tools/corpus.py --unoptimized checks the rest).
CASES = [(m, True) for m in ALL] + [("reverse", False), ("forward", False)]


@pytest.mark.parametrize("mode,optimized", CASES, ids=[f"{m}-{'opt' if o else 'unopt'}" for m, o in CASES])
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_corpus(name, mode, optimized):
    status, message = corpus.check(FUNCTIONS[name], mode, optimized)
    assert status != "wrong", message
    if (name, mode) in REFUSED:
        assert status == "refused", f"now {status}: remove ({name}, {mode}) from REFUSED ({message})"
        assert "google_functions.py:" in message  # the refusal names the user's line
        pytest.xfail(REFUSED[name, mode])
    if (name, mode) in NOT_APPLICABLE:
        assert status == "n/a", f"now {status}: {message}"
        pytest.skip(NOT_APPLICABLE[name, mode])
    assert status == "pass", message


# ---- tests/test_hessian_vector_products.py, as Google wrote it (autograd as reference)

def f_straightline(x):
    a = x * x * x
    b = a * x**2.0
    return np.sum(b)


def cube(a):
    b = a * a * a
    return b


def f_calltree(x):
    a = cube(x)
    b = a * x**2.0
    return np.sum(b)


@pytest.mark.parametrize("optimized", [True, False])
@pytest.mark.parametrize("func", [f_straightline, f_calltree])
@pytest.mark.parametrize("mode1,mode2", [("forward", "reverse"), ("reverse", "forward"), ("reverse", "reverse")])
def test_google_hvp(func, mode1, mode2, optimized):
    autograd = pytest.importorskip("autograd")
    import autograd.numpy as anp

    a = np.random.RandomState(0).normal(scale=1, size=(300,)).astype("float32")
    v = a.ravel()
    df = tangent.autodiff(func, mode=mode1, motion="joint", optimized=optimized, check_dims=False)
    ddf = tangent.autodiff(df, mode=mode2, motion="joint", optimized=optimized, check_dims=False)
    dx = ddf(a, 1, v)

    def reference(x):  # both functions, in autograd's NumPy
        return anp.sum(x * x * x * x**2.0)

    expected = autograd.hessian_vector_product(reference)(a, v)
    assert np.allclose(dx, expected)
    assert np.shape(dx) == a.shape


def test_readme_hvp():
    # Google's README: forward over reverse, called with the seed then the vector
    hvp = tangent.autodiff(tangent.autodiff(f_straightline, mode="reverse"), mode="forward")
    x = np.linspace(-1.0, 1.0, 5)
    v = np.arange(5.0)
    np.testing.assert_allclose(hvp(x, 1.0, v), 20 * x**3 * v)


# ---- tests/test_reverse_mode.py's named tests, both motions (Google's calls without input_derivative)

G = corpus.google_functions


@pytest.mark.parametrize("optimized", [True, False])
@pytest.mark.parametrize("motion", ["split", "joint"])
def test_google_named_reverse_tests(motion, optimized):
    rs = np.random.RandomState(0)
    w, b, input_ = rs.randn(3, 5), rs.randn(5), rs.rand(3)
    label = np.zeros(5)
    label[1] = 1
    dw, db = tangent.autodiff(G.logistic_regression, wrt=(2, 3), motion=motion, optimized=optimized)(input_, label, w, b)
    assert_tree_close(dw, numeric_grad(G.logistic_regression, [input_, label, w, b], 2), rtol=1e-5)
    assert_tree_close(db, numeric_grad(G.logistic_regression, [input_, label, w, b], 3), rtol=1e-5)

    W, inputs = rs.randn(2, 3), rs.randn(3, 2)
    dinputs, dW = tangent.autodiff(G.rnn, wrt=(0, 1), motion=motion, optimized=optimized)(inputs, W)
    assert_tree_close(dinputs, numeric_grad(G.rnn, [inputs, W], 0), rtol=1e-5)
    assert_tree_close(dW, numeric_grad(G.rnn, [inputs, W], 1), rtol=1e-5)

    args = [rs.randn(1, 3), rs.randn(1, 3), rs.randn(3, 3), rs.randn(3, 3), rs.randn(1, 3)]
    dx = tangent.autodiff(G.bilinear, motion=motion, optimized=optimized)(*args)
    assert_tree_close(dx, numeric_grad(G.bilinear, args, 0), rtol=1e-5)

    a = 0.7
    assert tangent.autodiff(G.inlining_contextmanager, motion=motion, optimized=optimized)(a) == pytest.approx(
        2.9 * a**2)
    val = {"a": 0.5, "b": -1.5, "c": 2.0}
    assert_tree_close(tangent.autodiff(G.dict_saxpy, motion=motion, optimized=optimized)(val),
                      numeric_grad(G.dict_saxpy, [val], 0))
    packed = (0.5, -1.5, 2.0)
    assert_tree_close(tangent.autodiff(G.unpacking_args_saxpy, motion=motion, optimized=optimized)(packed),
                      numeric_grad(G.unpacking_args_saxpy, [packed], 0))
    p = {"i": {"j": 3.0, "k": 4.0}}
    assert_tree_close(tangent.autodiff(G.nested_dict, motion=motion, optimized=optimized)(p),
                      {"i": {"j": 4.0, "k": 3.0}})
