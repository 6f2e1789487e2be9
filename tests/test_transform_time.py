"""What makes transforms fast must not change what they make: the name counts
optimize keeps, the normalized function the specialising run reuses, the
garbage collector paused while transforming."""

import ast
import gc

import numpy as np
import pytest

import tangent
from tangent import optimize, transform
from tangent.astwalk import copy_nodes
from tangent.broadcasts import elide_broadcasts
from tangent.common_subexpressions import share_subexpressions
from tangent.fusion import inline_single_uses
from tests.utils import numeric_grad

SCALE = 2.0


def branchy(x, A, s):
    y = np.tanh(A @ x) * s
    t = y
    u = t + x
    if True:
        v = u * 1.0
    else:
        v = u - x
    w = False or v
    z = w if None is None else -w
    return np.sum(z * z) + SCALE * np.sum(y)


def args():
    r = np.random.RandomState(0)
    return [r.randn(3), r.randn(3, 3) / 2, 0.7]


def _generated_functions():
    """The unoptimized functions a few derivatives are made of."""
    made = []
    original = optimize.optimize_function

    def keep(fdef, special=None):
        made.append((copy_nodes(fdef), special))
        return original(fdef, special)

    optimize.optimize_function = keep
    try:
        tangent.clear_cache()
        tangent.grad(branchy, wrt=(0, 1, 2))(*args())
        tangent.clear_cache()
        tangent.jvp(branchy, wrt=(0,))
    finally:
        optimize.optimize_function = original
        tangent.clear_cache()
    assert made
    return made


def _fresh(fdef):
    counts = optimize.NameCounts(fdef)
    return {k: v for k, v in counts.stores.items() if v}, {k: v for k, v in counts.loads.items() if v}


def test_name_counts_stay_what_a_fresh_count_gives_through_every_pass():
    for fdef, special in _generated_functions():
        counts = optimize.NameCounts(fdef)
        steps = [optimize.fold_constants, optimize.propagate_copies, optimize.eliminate_dead_code,
                 optimize.merge_temporaries]
        if special is not None:  # the passes of specialised code (tangent/broadcasts.py, ...)
            steps += [lambda f, c: elide_broadcasts(f, special, c), lambda f, c: share_subexpressions(f, special, c),
                      lambda f, c: inline_single_uses(f, special, c)]
        for _ in range(2):
            for step in steps:
                fdef = step(fdef, counts)
                kept = ({k: v for k, v in counts.stores.items() if v}, {k: v for k, v in counts.loads.items() if v})
                assert kept == _fresh(fdef), step.__name__


def test_folding_forgets_the_names_of_dropped_branches():
    fdef = ast.parse("def f(x, y):\n    a = x if True else y\n    if False:\n        b = y\n    c = True or y\n"
                     "    return a + c\n").body[0]
    counts = optimize.NameCounts(fdef)
    optimize.fold_constants(fdef, counts)
    assert counts.loads["y"] == 0 and counts.stores["b"] == 0
    assert _fresh(fdef)[1] == {k: v for k, v in counts.loads.items() if v}


def test_specialised_code_reuses_the_generic_normalized_function_and_is_the_same():
    tangent.clear_cache()
    x, A, s = args()
    df = tangent.grad(branchy, wrt=(0, 1, 2))
    assert branchy in transform._Prepared._kept
    reused = df.tangent_specialized_for(x, A, s)
    assert branchy not in transform._Prepared._kept  # taken once
    # the same code, generated from scratch
    session = transform.Session(optimized=True)
    name = session.reverse(branchy, (0, 1, 2), check_scalar=True, example_args=[x, A, s])
    scratch = session.build(name, "dbranchy")
    assert reused.tangent_source == scratch.tangent_source
    got = reused(x, A, s)
    for i in range(3):
        np.testing.assert_allclose(got[i], numeric_grad(branchy, [x, A, s], i), rtol=1e-5, atol=1e-6)


def test_a_rebound_global_is_not_read_from_the_kept_copy():
    global SCALE
    tangent.clear_cache()
    x, A, s = args()
    df = tangent.grad(branchy, wrt=(0,))
    saved = SCALE
    try:
        SCALE = np.float64(-3.0)  # another object: the kept copy is stale
        # (the generated code reads SCALE through its own namespace: compare with a new derivative)
        session = transform.Session(optimized=True)
        assert transform._Prepared.take(session, branchy) is None
        SCALE = saved
        np.testing.assert_allclose(df(x, A, s), numeric_grad(branchy, [x, A, s], 0), rtol=1e-5, atol=1e-6)
    finally:
        SCALE = saved
        tangent.clear_cache()


def test_the_collector_is_paused_while_transforming_and_restored_after():
    states = []
    original = optimize.optimize_function

    def look(fdef, special=None):
        states.append(gc.isenabled())
        return original(fdef, special)

    optimize.optimize_function = look
    try:
        tangent.clear_cache()
        tangent.grad(branchy)(*args())
    finally:
        optimize.optimize_function = original
        tangent.clear_cache()
    assert states and not any(states)
    assert gc.isenabled()


def test_the_collector_is_restored_after_a_failed_transform():
    def refused(x):
        x[0] = 1.0  # (a write into an argument that is also rebound: refused)
        x = x * 2.0
        return np.sum(x)

    tangent.clear_cache()
    with pytest.raises(tangent.TangentError):
        tangent.grad(refused)(np.ones(3))
    assert gc.isenabled()
    gc.disable()
    try:
        with pytest.raises(tangent.TangentError):
            tangent.grad(refused)(np.ones(3))
        assert not gc.isenabled()  # left as it was
    finally:
        gc.enable()
