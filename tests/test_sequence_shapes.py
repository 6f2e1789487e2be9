"""Shapes of the lists and tuples a function builds (tangent/sequence_shapes.py):
what the analysis knows of their items, when it refuses to assume it (a list
that may escape it), and gradients of programs built on such lists, checked
against central finite differences."""


import numpy as np
import pytest

import tangent
from tangent import calls
from tangent.rules.shape_values import UNKNOWN, Array, Seq, Struct
from tests.test_shapes import _normal
from tests.utils import numeric_grad


def _values(f, known):
    return tangent.shapes.infer_shapes(_normal(f), known, calls.call_result).values


X3 = Array((3,))


# ------------------------------------------------------------ the analysis


def pairs_by_append(x, n):
    pairs = []
    for i in range(n):
        pairs.append((x * i, np.sin(x)))
    first = pairs[0]
    return first[0] + first[1]


def test_items_appended_to_a_list_are_known():
    values = _values(pairs_by_append, {"x": X3, "n": Array((), integer=True, real=True)})
    assert values["pairs"] == Seq(Struct("tuple", ((0, X3), (1, X3))))
    assert values["first"] == Struct("tuple", ((0, X3), (1, X3)))


def mixed_items(x):
    items = [x]
    items.append(np.sum(x))
    y = items[0]
    return y


def test_items_of_different_shapes_are_unknown():
    values = _values(mixed_items, {"x": X3})
    assert values["items"] == Seq(UNKNOWN)
    assert values["y"] is UNKNOWN


def pushed(x):
    items = [x]
    _ = repr(items)  # (a library call the analysis does not follow; heapq.heappush is refused now)
    y = items[0]
    return y


def concatenated_lists(x):
    items = [x]
    both = items + [np.sum(x)]
    both.append(x)
    y = items[0]
    return y


def aliased_through_unknown(x, c):
    items = [x]
    other = items
    if c:
        other = {"a": x}
    return items[0] * len(other)


@pytest.mark.parametrize("f", [pushed, concatenated_lists, aliased_through_unknown])
def test_a_list_that_may_escape_describes_nothing(f):
    known = {"x": X3}
    if f is aliased_through_unknown:
        known["c"] = Array((), integer=True, real=True)
    values = _values(f, known)
    assert not any(isinstance(v, Seq) for v in values.values())


def keeps_a_list(items, store):
    store.append(items)  # (store is the caller's: where the analysis no longer sees it)
    return items[0]


def passes_to_a_helper(x):
    items = [x]
    store = []
    z = keeps_a_list(items, store)
    inner = store[0]
    inner.append(np.sum(x))
    y = items[1]
    return y + z


def test_a_list_a_helper_keeps_out_of_sight_describes_nothing_in_the_caller():
    values = _values(passes_to_a_helper, {"x": X3})
    assert not any(isinstance(v, Seq) for v in values.values())


def helper_reads(items):
    return items[0] * 2.0


def passes_to_a_reader(x):
    items = [x, np.cos(x)]
    return helper_reads(items)


def test_a_list_passed_to_a_helper_that_reads_it_keeps_its_items():
    values = _values(passes_to_a_reader, {"x": X3})
    assert values["items"] == Seq(X3)
    assert values["result"] == X3


def static_slices(x):
    b = x.shape[0] // 2
    lo = x[: 2 * b - b]
    hi = x[b : 2 * b]
    return lo * hi


def test_integer_arithmetic_on_static_sizes_keeps_slices_known():
    values = _values(static_slices, {"x": Array((6,))})
    assert values["lo"] == Array((3,)) and values["hi"] == Array((3,))


# ------------------------------------------------------------ gradients


def cell(w, state, x):
    h, c = state
    gates = np.concatenate([x, h]) * w
    b = h.shape[0]
    c = c * np.tanh(gates[:b]) + np.sin(gates[b : 2 * b])
    h = np.tanh(c) * x
    return h, c


def rnn(w, states, xs):
    layers = [(states[2 * i], states[2 * i + 1]) for i in range(states.shape[0] // 2)]
    total = 0.0
    for t in range(xs.shape[0]):
        x = xs[t]
        new = []
        for state in layers:
            h, c = cell(w, state, x)
            new.append((h, c))
            x = h
        layers = new
        total = total + np.sum(x * x)
    return total


def _rnn_args():
    rng = np.random.default_rng(3)
    return rng.standard_normal(6) * 0.5, rng.standard_normal((4, 3)), rng.standard_normal((3, 3))


def test_gradient_through_lists_of_pairs_matches_finite_differences():
    w, states, xs = _rnn_args()
    df = tangent.grad(rnn, wrt=(0, 1))
    got = df(w, states, xs)
    for k, g in enumerate(got):
        np.testing.assert_allclose(g, numeric_grad(rnn, (w, states, xs), k), rtol=1e-6, atol=1e-8)


def test_specialised_code_of_the_helpers_knows_the_shapes():
    w, states, xs = _rnn_args()
    source = tangent.grad(rnn, wrt=(0, 1)).tangent_specialized_for(w, states, xs).tangent_source
    cell_bwd = source[source.index("def cell_bwd") :]
    cell_bwd = cell_bwd[: cell_bwd.index("\ndef ")]
    assert "unbroadcast" not in cell_bwd and "mul_grad" not in cell_bwd, cell_bwd


def slice_assigned(x):
    rows = [x]
    rows[0:1] = x * 2.0  # adds the rows of x (shape (3,)), not x
    y = rows[0]
    return y


def test_a_slice_assignment_adds_items_of_unknown_shape():
    values = _values(slice_assigned, {"x": Array((2, 3))})
    assert values["y"] is UNKNOWN
