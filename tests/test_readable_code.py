"""The generated code leaves out what nobody reads (issue 10, item 7), and
the derivatives stay right: each program is checked against central finite
differences, in reverse mode and (for second order) forward over reverse."""

import numpy as np
import pytest

import tangent
from tests.utils import numeric_grad


def written_then_summed(x):
    y = np.zeros(3)
    y[0] = x[0] * x[1]
    y[1:] = np.sin(x[1:])
    return np.sum(y * x)


def read_before_written(x):
    # the adjoint of y * x reads y's values from before the write: the
    # write's old values must be restored for it
    y = np.ones(3) * 2.0
    z = np.sum(y * x)
    y[1] = x[0] * 3.0
    return z + np.sum(y * y)


def written_in_loop(x):
    y = np.zeros(4)
    for i in range(3):
        y[i + 1] = y[i] * x[i] + x[i]
    return np.sum(y * y)


def written_in_loop_read_whole(x):
    # each iteration's adjoint reads the whole array's values
    y = np.ones(3)
    total = 0.0
    for i in range(3):
        total = total + np.sum(y * x)
        y[i] = x[i] * 2.0
    return total


def list_written(x):
    # a list's items may change shape when written: its restores stay
    y = [x[0], x[1]]
    z = y[0] * y[1]
    y[0] = x[2] * 2.0
    return y[0] * y[1] + z


PROGRAMS = [written_then_summed, read_before_written, written_in_loop, written_in_loop_read_whole, list_written]


@pytest.mark.parametrize("f", PROGRAMS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("optimized", [True, False])
def test_derivatives_of_region_writes(f, optimized):
    x = np.array([0.3, -1.2, 0.8])
    df = tangent.grad(f, optimized=optimized)
    np.testing.assert_allclose(df(x), numeric_grad(f, (x,), 0), rtol=1e-6, atol=1e-8)
    x2 = x + 0.1
    np.testing.assert_allclose(df(x2), numeric_grad(f, (x2,), 0), rtol=1e-6, atol=1e-8)


def test_an_array_written_into_is_not_saved_when_only_its_shape_is_read():
    src = tangent.source(tangent.grad(written_then_summed))
    assert "copy_region" not in src and "restore_region" not in src and "stack" not in src


def test_an_array_whose_old_values_are_read_is_restored():
    src = tangent.source(tangent.grad(read_before_written))
    assert "restore_region" in src
    src = tangent.source(tangent.grad(written_in_loop_read_whole))
    assert "restore_region" in src


def squares(x, s):
    return np.sum(x * x) + s * s + np.sum((x + x) * s) + (s + s) * s


@pytest.mark.parametrize("optimized", [True, False])
def test_equal_contributions_are_one_doubled(optimized):
    x, s = np.array([0.3, -1.2, 0.8]), 0.7
    df = tangent.grad(squares, wrt=(0, 1), optimized=optimized)
    dx, ds = df(x, s)
    np.testing.assert_allclose(dx, numeric_grad(squares, (x, s), 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ds, numeric_grad(squares, (x, s), 1), rtol=1e-6, atol=1e-8)
    if optimized:
        assert "2.0 *" in tangent.source(df)


def test_a_zeroed_adjoint_nobody_reads_is_left_out():
    # y is made from no active value: its adjoint is not needed before its first write
    src = tangent.source(tangent.grad(written_then_summed))
    assert src.count("zero_region") == 1


@pytest.mark.parametrize("f", PROGRAMS, ids=lambda f: f.__name__)
def test_hessian_vector_products_of_region_writes(f):
    x, v = np.array([0.3, -1.2, 0.8]), np.array([0.5, 0.1, -0.7])
    g = tangent.grad(f)
    eps = 1e-5
    want = (g(x + eps * v) - g(x - eps * v)) / (2 * eps)
    np.testing.assert_allclose(tangent.hvp(f)(x, v), want, rtol=1e-6, atol=1e-7)


def invariant_slices(x):
    n = x.shape[0] // 3
    total = 0.0
    for i in range(3):
        m = 2 * n
        total = total + np.sum(x[n:m] * x[i]) * m
    return total


def varying_slices(x):
    total = 0.0
    for j in range(2):
        n = j + 1  # changes from one iteration of the outer loop to the next
        for i in range(2):
            m = 2 * n
            total = total + np.sum(x[n:m]) * x[i] * m
    return total


@pytest.mark.parametrize("f", [invariant_slices, varying_slices], ids=lambda f: f.__name__)
@pytest.mark.parametrize("optimized", [True, False])
def test_integers_computed_in_loops(f, optimized):
    x = np.array([0.3, -1.2, 0.8, 0.5, -0.4, 1.1])
    df = tangent.grad(f, optimized=optimized)
    np.testing.assert_allclose(df(x), numeric_grad(f, (x,), 0), rtol=1e-6, atol=1e-8)
    v = np.linspace(-1.0, 1.0, 6)
    eps = 1e-5
    want = (df(x + eps * v) - df(x - eps * v)) / (2 * eps)
    np.testing.assert_allclose(tangent.hvp(f)(x, v), want, rtol=1e-6, atol=1e-7)


def test_an_integer_the_same_in_every_iteration_is_not_saved():
    assert "stack.append(m)" not in tangent.source(tangent.grad(invariant_slices))
    assert "stack.append(m)" in tangent.source(tangent.grad(varying_slices))


def filled(x):
    out = np.zeros(3)
    out[0] = x[0] * 2.0
    out[1:] = np.sin(x[1:])
    return out


def uses_filled(x):
    r = filled(x)
    r[0] = r[0] * r[1]  # a write into the helper's result, which its tape holds
    return np.sum(r * x)


@pytest.mark.parametrize("optimized", [True, False])
def test_a_result_written_into_and_not_restored_is_not_copied(optimized):
    x = np.array([0.3, -1.2, 0.8])
    df = tangent.grad(uses_filled, optimized=optimized)
    np.testing.assert_allclose(df(x), numeric_grad(uses_filled, (x,), 0), rtol=1e-6, atol=1e-8)
    u = np.array([1.0, -0.5, 2.0])
    g, value = tangent.vjp(filled, preserve_result=True, optimized=optimized)(x, u)
    np.testing.assert_allclose(value, filled(x))
    np.testing.assert_allclose(g, numeric_grad(lambda x: np.dot(filled(x), u), (x,), 0), rtol=1e-6, atol=1e-8)
    if optimized:
        assert "copy_tangent" not in tangent.source(df)


def empty_then(x):
    if np.sum(x) > 100.0:
        pass
    else:
        x = x * 2.0
    return np.sum(x * x)


def test_an_if_with_an_empty_branch():
    # (the comment rule of an if looks at its first statement: there may be none)
    x = np.array([0.3, -1.2, 0.8])
    np.testing.assert_allclose(tangent.grad(empty_then)(x), numeric_grad(empty_then, (x,), 0), rtol=1e-6)


def _write_read_through_view(x):
    y = x + 0.0
    y[np.array([0, 2])] *= y[:2]  # y[:2] is a view of y, read by the backward pass
    return np.sum(np.sin(y))


def test_a_write_into_an_array_with_a_view_still_restores_its_old_values():
    # the backward pass reads v, a view of y: y's old region must be restored first
    # (fuzz seed 272074: y4[idx] *= y4[:2] gave a wrong gradient when the restore was dropped)
    x = np.array([0.65, 0.87, 0.5])
    got = tangent.grad(_write_read_through_view)(x)
    np.testing.assert_allclose(got, numeric_grad(_write_read_through_view, (x,), 0), rtol=1e-6, atol=1e-8)
    got = tangent.hvp(_write_read_through_view)(x, np.array([0.3, -0.2, 1.0]))
    g = tangent.grad(_write_read_through_view)
    eps, v = 1e-5, np.array([0.3, -0.2, 1.0])
    np.testing.assert_allclose(got, (g(x + eps * v) - g(x - eps * v)) / (2 * eps), rtol=1e-5, atol=1e-7)
