"""Errors raised while a derivative runs name the user's file and line.

A shape mismatch in the forward part of grad, vjp, jvp, hvp, split motion,
jacobian and hessian keeps its type and message and gets a note naming the
user's line (``errors.locate_runtime_error``), in the function itself, in a
helper it calls, and in a derivative of a derivative; a failure in the
backward part names the user's line whose backward step failed. A rule's
refusal of a constant argument (``np.pad(mode="maximum")``) is raised when
the function is transformed, naming the line; of a value known only at run
time, when the derivative runs, naming the line too.
"""

import re

import numpy as np
import pytest

import tangent
from tangent.testing import check_grads

HERE = "test_errors_runtime.py"


def line_of(func, text):
    """The file line of ``func`` whose source contains ``text``."""
    import inspect

    lines, first = inspect.getsourcelines(func)
    return first + next(i for i, line in enumerate(lines) if text in line)


def notes(error):
    return "\n".join(getattr(error, "__notes__", ()))


def mismatched(x, W):
    y = np.sin(x)
    h = W @ y
    return np.sum(h * h)


def helper(a, W):
    return W @ a


def calls_helper(x, W):
    y = np.sin(x)
    return np.sum(helper(y, W) ** 2)


def in_a_loop(x, W):
    s = 0.0
    for i in range(2):
        if i > 0:
            s = s + np.sum(W[i] @ x)
    return s


X, W_BAD = np.ones(3), np.ones((2, 4))


def split_forward(f, x, W):
    return tangent.grad(f, motion="split").forward(x, W)


RUNS = {
    "grad": lambda f, x, W: tangent.grad(f)(x, W),
    "grad unoptimized": lambda f, x, W: tangent.grad(f, optimized=False)(x, W),
    "vjp": lambda f, x, W: tangent.vjp(f)(x, W, 1.0),
    "value_and_grad": lambda f, x, W: tangent.value_and_grad(f)(x, W),
    "jvp": lambda f, x, W: tangent.jvp(f)(x, W, np.ones_like(x)),
    "hvp": lambda f, x, W: tangent.hvp(f)(x, W, np.ones_like(x)),
    "grad of grad": lambda f, x, W: tangent.grad(tangent.grad(f))(x, W),
    "split": split_forward,
    "jacobian": lambda f, x, W: tangent.jacobian(f)(x, W),
    "jacobian forward": lambda f, x, W: tangent.jacobian(f, mode="forward")(x, W),
    "hessian": lambda f, x, W: tangent.hessian(f)(x, W),
}


@pytest.mark.parametrize("run", list(RUNS), ids=str)
@pytest.mark.parametrize("f, func, text", [
    (mismatched, mismatched, "h = W @ y"), (calls_helper, helper, "return W @ a"),
    (in_a_loop, in_a_loop, "s = s + np.sum(W[i] @ x)"),
], ids=["function", "helper", "loop"])
def test_forward_part_shape_mismatch_names_the_line(run, f, func, text):
    with pytest.raises(ValueError, match="mismatch") as info:
        RUNS[run](f, X, W_BAD)
    where = f"{HERE}:{line_of(func, text)} (in {func.__name__}): {text}"
    assert where in notes(info.value), notes(info.value)
    assert not re.search(r"\b_\w+", notes(info.value).split(": ", 1)[1].replace(HERE, "")), notes(info.value)


def linear_map(x, W):
    return W @ x


def test_backward_part_failure_names_the_line():
    """A seed NumPy cannot multiply fails in the backward step of the user's
    line (a seed of the wrong shape is refused before: tests/test_seed_shapes.py)."""
    with pytest.raises(TypeError) as info:
        tangent.vjp(linear_map)(np.ones(3), np.ones((2, 3)), np.array(["a", "b"]))
    assert f"backward step of {HERE}:{line_of(linear_map, 'return W @ x')}: return W @ x" in notes(info.value)


def test_located_once_and_type_kept():
    with pytest.raises(ValueError) as info:
        tangent.hvp(calls_helper)(X, W_BAD, np.ones(3))
    assert len(info.value.__notes__) == 1 and type(info.value) is ValueError


def test_a_working_derivative_is_unchanged():
    W = np.arange(6.0).reshape(2, 3) / 5
    check_grads(mismatched, np.array([0.1, 0.5, -0.3]), W, modes=("reverse", "forward"), order=2)


# ------------------------------------------------------ refusals of rules


def pad_maximum(x):
    y = np.pad(x, 1, mode="maximum")
    return np.sum(y * y)


def average_returned(x):
    return np.average(x, weights=x, returned=True)[0]


def nansum_where(x):
    return np.nansum(x, where=True)


@pytest.mark.parametrize("transform", [tangent.grad, tangent.jvp, tangent.hvp], ids=lambda t: t.__name__)
@pytest.mark.parametrize("f, text, message", [
    (pad_maximum, 'y = np.pad(x, 1, mode="maximum")', r"np.pad\(mode='maximum'\) is not differentiated; modes"),
    (average_returned, "return np.average(x, weights=x, returned=True)[0]", r"returned=True\) is not differentiated"),
    (nansum_where, "return np.nansum(x, where=True)", "where= of np.nansum/np.nanmean is not differentiated"),
], ids=["pad", "average", "nansum"])
def test_constant_keyword_refused_when_transformed(transform, f, text, message):
    with pytest.raises(tangent.NotDifferentiableError, match=message) as info:
        transform(f)  # not called: refused when transformed
    assert str(info.value).startswith(f"{__file__}:{line_of(f, text)} (in {f.__name__}): {text}")


def pad_mode_argument(x, mode):
    y = np.pad(x, 1, mode=mode)
    return np.sum(y * y)


def test_pad_mode_known_at_run_time_refused_naming_the_line():
    x = np.arange(6.0).reshape(2, 3)
    line = line_of(pad_mode_argument, "y = np.pad(x, 1, mode=mode)")
    with pytest.raises(tangent.NotDifferentiableError, match="mode='maximum'") as info:
        tangent.grad(pad_mode_argument)(x, "maximum")
    assert f"{HERE}:{line}: y = np.pad(x, 1, mode=mode)" in str(info.value)
    with pytest.raises(tangent.NotDifferentiableError, match="mode='maximum'") as info:
        tangent.jvp(pad_mode_argument)(x, "maximum", x)  # the forward rule gave a wrong number before
    assert f"{HERE}:{line} (in pad_mode_argument)" in str(info.value)


def test_pad_supported_modes_still_differentiate():
    x = np.arange(6.0).reshape(2, 3) / 7
    for mode in ("edge", "wrap", "reflect"):
        check_grads(pad_mode_argument, x, mode, modes=("reverse", "forward"), order=2)
