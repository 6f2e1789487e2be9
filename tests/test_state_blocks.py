"""``with np.errstate(...):`` and ``with warnings.catch_warnings():`` in a
differentiated function: the block is differentiated as if written without
them (tangent/fence.py ``is_state_block``, desugar.py). Other ``with``
blocks, and these with ``as``, stay refused. Checked against central
differences."""

import warnings

import numpy as np
import pytest

import tangent
from tangent.testing import check_grads


def quiet_log(x):
    with np.errstate(invalid="ignore", divide="ignore"):
        y = np.log(x * x + 1.0)
        if np.sum(y) > 100.0:
            return np.sum(y)
        for _ in range(2):
            y = y * 1.5
    return np.sum(y**2)


def quiet_sqrt(x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = np.sqrt(np.abs(x) + 1.0)
    return np.sum(y * x)


def both(x):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        z = np.exp(x) * x
    return np.sum(z)


def recorded(x):
    with warnings.catch_warnings(record=True) as caught:
        y = np.sin(x)
    return np.sum(y) + len(caught)


@pytest.mark.parametrize("f", [quiet_log, quiet_sqrt, both])
def test_state_blocks_are_differentiated_through(f):
    check_grads(f, np.array([0.5, -1.0, 2.0]), modes=("reverse", "forward"))


def test_with_as_stays_refused():
    with pytest.raises(tangent.TangentSyntaxError, match="with statements are not supported"):
        tangent.grad(recorded)
