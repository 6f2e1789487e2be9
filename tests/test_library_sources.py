"""A SciPy (or NumPy) function without a derivative rule is differentiated
through its own Python source when Tangent can read it; when it cannot, the
refusal names the user's call and the function, with the first reason found
inside the library (not a line of SciPy's as the place to fix)."""

import numpy as np
import pytest
import scipy.linalg

import tangent
from tangent.errors import NoDerivativeError


def uses_sqrtm(A):
    return np.trace(scipy.linalg.sqrtm(A @ A.T + np.eye(3)))


def uses_cho_factor(A, b):
    c = scipy.linalg.cho_factor(A @ A.T + 3 * np.eye(3))
    return np.sum(scipy.linalg.cho_solve(c, b))


@pytest.mark.parametrize("f, args, name", [
    (uses_sqrtm, (np.eye(3),), "sqrtm"),
    (uses_cho_factor, (np.eye(3), np.ones(3)), "cho_factor"),
])
@pytest.mark.parametrize("api", [tangent.grad, tangent.jvp])
def test_refusal_names_the_users_call(f, args, name, api):
    with pytest.raises(NoDerivativeError) as info:
        derivative = api(f)
        derivative(*args) if api is tangent.grad else derivative(*args, np.ones((3, 3)))
    first = str(info.value).splitlines()[0]
    assert "test_library_sources.py" in first and f.__name__ in first
    assert "no derivative rule for scipy.linalg" in str(info.value) and name in str(info.value)
    assert f"@tangent.adjoint({name})" in str(info.value)
