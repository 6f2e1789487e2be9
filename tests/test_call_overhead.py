"""The shortcuts that cut a derivative's per-call cost keep its values exact.

Small derivatives (microseconds) spend much of their time outside the
arithmetic: the max/min adjoint, the adjoints of dicts, lists and objects,
the specialisation key and the pass that makes returned gradients the
caller's own. Each shortcut taken there is checked here: the max/min
adjoint's mask of shares (small arrays) against the scatter (large ones) and
the tie convention from its definition; gradients against central finite
differences; returned gradients never aliasing inputs; the specialisation key
telling apart calls of different structure.
"""

import numpy as np
import pytest

import tangent
from tangent.rules.numpy_fast_rules import grad_extremum_kept
from tangent.runtime import extrema
from tests import utils

RNG = np.random.default_rng(20261202)


def share(x, axis, g):
    """The tie convention from its definition: ``g`` split evenly among the
    elements equal to the max of their slice."""
    hit = x == np.max(x, axis=axis, keepdims=True)
    return hit * (g / np.sum(hit, axis=axis, keepdims=True))


def tied(shape):
    """Values on a coarse grid: many ties in every slice."""
    return RNG.integers(0, 3, shape).astype(float)


@pytest.mark.parametrize(
    "shape, axis",
    [
        ((16, 10), 1),
        ((16, 10), 0),
        ((16, 10), None),
        ((50,), None),
        ((200, 100), 1),
        ((200, 100), None),
        ((5000,), None),
    ],
)
@pytest.mark.parametrize("values", ["distinct", "tied"])
def test_extremum_mask_and_scatter_agree_with_the_convention(shape, axis, values):
    x = RNG.standard_normal(shape) if values == "distinct" else tied(shape)
    z = np.max(x, axis=axis, keepdims=True) if axis is not None else np.max(x)
    g = RNG.standard_normal(np.shape(z)) if axis is not None else 1.7
    expected = share(x, axis, g)
    got = grad_extremum_kept(g, z, x, axis)
    np.testing.assert_allclose(got, expected, rtol=1e-15)
    masked = extrema.extremum_mask(g, x, z, axis)
    np.testing.assert_allclose(masked, expected, rtol=1e-15)
    positions = extrema.extremum_positions(x, z, axis)
    if positions is not None:
        np.testing.assert_allclose(extrema.extremum_scatter(g, x, positions), expected, rtol=1e-15)


def test_extremum_mask_sizes_on_both_sides():
    """The shortcut is taken below the thresholds only (the scatter above)."""
    assert extrema.extremum_by_mask(np.ones((16, 10)), 1)
    assert not extrema.extremum_by_mask(np.ones((200, 100)), 1)
    assert extrema.extremum_by_mask(np.ones(1000), None)
    assert not extrema.extremum_by_mask(np.ones(5000), None)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extremum_mask_keeps_the_dtype_of_the_scatter(dtype):
    x = tied((8, 6)).astype(dtype)
    z = np.max(x, axis=1, keepdims=True)
    g = np.ones_like(z)
    positions = extrema.extremum_positions(x, z, 1)
    want = extrema.extremum_scatter(g, x, positions) if positions is not None else share(x, 1, g).astype(dtype)
    got = grad_extremum_kept(g, z, x, 1)
    assert got.dtype == want.dtype == dtype


def test_extremum_mask_nan_is_nan_throughout_its_slice():
    x = np.array([[1.0, np.nan, 2.0], [3.0, 1.0, 3.0]])
    z = np.max(x, axis=1, keepdims=True)
    with np.errstate(all="ignore"):
        got = grad_extremum_kept(np.ones((2, 1)), z, x, 1)
    assert np.isnan(got[0]).all()
    np.testing.assert_array_equal(got[1], [0.5, 0.0, 0.5])


# ------------------------------------------------------------------ returned gradients are the caller's own

W_GLOBAL = np.linspace(0.5, 1.5, 3)


def product_of_slots(p):
    return np.sum(p["x"] * p["y"])  # d/dx is y itself, d/dy is x itself


def sum_of_slots(p):
    return np.sum(p["a"] + p["b"])  # both adjoints are the same array


def times_global(p):
    return np.sum(p["x"] * W_GLOBAL)  # d/dx is the module's array


def layers_product(layers):
    W, b = layers[0]
    return np.sum(W * b)


def floats_loop(p):
    s = 0.0
    for _ in range(3):
        s = s + np.sin(p["x"] * p["a"])
    return s


class Pair:
    def __init__(self, x, y):
        self.x, self.y = x, y


def object_product(o):
    return np.sum(o.x * o.y)


def _arrays(tree):
    if isinstance(tree, dict):
        return [a for v in tree.values() for a in _arrays(v)]
    if isinstance(tree, (list, tuple)):
        return [a for v in tree for a in _arrays(v)]
    if hasattr(tree, "__dict__"):
        return _arrays(vars(tree))
    return [tree] if isinstance(tree, np.ndarray) else []


def _check_owned(df, args, reference):
    """Twice (generic, then specialised code): the values, then that no
    returned array shares memory with an argument, a global or another one,
    and that writing into them changes nothing the caller holds."""
    for _ in range(2):
        before = [a.copy() for a in _arrays(args)] + [W_GLOBAL.copy()]
        g = df(*args)
        utils.assert_tree_close(g, reference)
        returned = _arrays(g)
        held = _arrays(args) + [W_GLOBAL]
        for i, a in enumerate(returned):
            assert a.flags.writeable and a.flags.owndata
            assert not any(np.shares_memory(a, h) for h in held)
            assert not any(np.shares_memory(a, b) for b in returned[i + 1 :])
            a[...] = 1e9
        for a, b in zip(_arrays(args) + [W_GLOBAL], before, strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("f", [product_of_slots, sum_of_slots, times_global])
def test_dict_gradients_never_alias(f):
    p = {k: RNG.standard_normal(3) for k in ("x", "y", "a", "b")}
    _check_owned(tangent.grad(f), (p,), utils.numeric_grad(f, [p], 0))


def test_list_gradients_never_alias():
    layers = [(RNG.standard_normal(3), RNG.standard_normal(3))]
    _check_owned(tangent.grad(layers_product), (layers,), utils.numeric_grad(layers_product, [layers], 0))


def test_object_gradients_never_alias():
    o = Pair(RNG.standard_normal(3), RNG.standard_normal(3))
    reference = utils.numeric_grad(lambda d: object_product(Pair(d["x"], d["y"])), [dict(vars(o))], 0)
    _check_owned(tangent.grad(object_product), (o,), reference)


def test_float_gradients():
    p = {"x": 0.3, "a": 1.2}
    df = tangent.grad(floats_loop)
    for _ in range(2):
        g = df(p)
        assert type(g["x"]) is float and type(g["a"]) is float
        utils.assert_tree_close(g, utils.numeric_grad(floats_loop, [p], 0))


def last_and_first(layers):
    W, b = layers[-1]
    return np.sum(np.tanh(W * layers[0][1]) + b)


def test_list_item_adjoints_at_int_indices():
    """grad_of_index of a list or tuple at an int index (negative too) puts
    the item's adjoint there and zeros elsewhere, of each item's kind."""
    layers = [
        (RNG.standard_normal(3), RNG.standard_normal(3)),
        [RNG.standard_normal(3), 0.5],
        (RNG.standard_normal(3), RNG.standard_normal(3)),
    ]
    df = tangent.grad(last_and_first)
    reference = utils.numeric_grad(last_and_first, [layers], 0)
    for _ in range(2):
        g = df(layers)
        utils.assert_tree_close(g, reference)
        assert isinstance(g[0], tuple) and isinstance(g[1], list) and isinstance(g[2], tuple)
        assert type(g[1][1]) is float and g[1][1] == 0.0


KEPT = {"array": np.arange(2.0), "list": [np.arange(2.0)]}
KEPT_PAIR = (np.ones(2), np.ones(2))


def _returned(make, args, preserve=False, wrt=(0,)):
    """What ``returning_owned`` gives back for a derivative returning
    ``make(*args)``, and the ids of the arrays ``make`` gave it."""
    from tangent.ownership import returning_owned

    made = []

    def derivative(*a):
        out = make(*a)
        made.extend(id(v) for v in _arrays(out))
        return (out, 0.0) if preserve else out

    got = returning_owned(derivative, derivative, "reverse", wrt, preserve)(*args)
    return (got[0] if preserve else got), made


@pytest.mark.parametrize("preserve", [False, True])
def test_arrays_held_elsewhere_are_copied_fresh_ones_are_not(preserve):
    """A fresh array goes through uncopied; an array that an argument, a
    seed, a global or a global's list holds, a view, or an array returned
    twice is copied, at every depth of the result."""
    x = np.zeros(2)
    like = {"a": x, "b": {"c": x}, "d": [x, (x,)]}
    seed = {"s": np.ones(2)}
    held_elsewhere = [
        lambda p, s: p["a"],  # an argument's array
        lambda p, s: s["s"],  # the seed's
        lambda p, s: KEPT["array"],  # a global's
        lambda p, s: KEPT["list"][0],  # an item of a global list
    ]
    for make_held in held_elsewhere:
        for where in ("a", "c", "d0", "d1"):

            def make(p, s, make_held=make_held, where=where):
                leaves = {w: (make_held(p, s) if w == where else np.zeros(2)) for w in ("a", "c", "d0", "d1")}
                return {"a": leaves["a"], "b": {"c": leaves["c"]}, "d": [leaves["d0"], (leaves["d1"],)]}

            before = [a.copy() for a in _arrays((like, seed, KEPT))]
            got, made = _returned(make, (like, seed), preserve)
            returned = _arrays(got)
            for a in returned:
                assert not any(np.shares_memory(a, h) for h in _arrays((like, seed, KEPT)))
                a[...] = 7.0
            for a, b in zip(_arrays((like, seed, KEPT)), before, strict=True):
                np.testing.assert_array_equal(a, b)
            fresh = [i for i, w in enumerate(("a", "c", "d0", "d1")) if w != where]
            assert [id(returned[i]) for i in fresh] == [made[i] for i in fresh]  # not copied

    twice = np.zeros(2)
    got, _ = _returned(lambda p, s: {"a": twice, "b": {"c": np.zeros(2)}, "d": [twice, (np.zeros(2),)]}, (like, seed))
    assert not np.shares_memory(got["a"], got["d"][0])
    base = np.zeros(4)
    got, _ = _returned(
        lambda p, s: {"a": base[:2], "b": {"c": base[2:]}, "d": [np.zeros(2), (np.zeros(2),)]}, (like, seed)
    )
    assert got["a"].flags.owndata and got["b"]["c"].flags.owndata


def test_a_container_held_elsewhere_gives_copies_of_its_arrays():
    """A gradient that is the seed container itself (or another container
    the caller holds): its arrays, though held by nothing else, are the
    caller's, so they are copied."""
    seed = {"a": np.ones(2)}
    got, _ = _returned(lambda p, s: s, ({"a": np.zeros(2)}, seed))
    assert got["a"] is not seed["a"] and not np.shares_memory(got["a"], seed["a"])
    outer = [np.ones(2)]
    got, _ = _returned(lambda p, s: [outer[0]], ([np.zeros(2)], outer))
    assert not np.shares_memory(got[0], outer[0])
    got, _ = _returned(lambda x, y: KEPT_PAIR, (np.zeros(2), np.zeros(2)), wrt=(0, 1))
    assert not any(np.shares_memory(g, p) for g in got for p in KEPT_PAIR)
