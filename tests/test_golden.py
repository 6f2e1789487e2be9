"""Golden-source tests: the generated source of five programs is compared with
checked-in files, so a change in the code users read shows in review.

Regenerate after an intended change with::

    TANGENT_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py

and read the diff before committing it. Each derivative is also checked
against central finite differences.
"""

import difflib
import os
import pathlib

import numpy as np
import pytest

import tangent
from tests import golden_programs
from tests.utils import numeric_grad

GOLDEN = pathlib.Path(__file__).parent / "golden"
CASES = golden_programs.examples()


def _make(kind, f, wrt):
    if kind == "hvp":
        return tangent.hvp(f, wrt=wrt)
    return tangent.grad(f, wrt=wrt)


def _text(kind, f, wrt, args):
    df = _make(kind, f, wrt)
    parts = [f"# generic: tangent.source({kind}({f.__name__}, wrt={wrt}))", tangent.source(df)]
    if kind == "grad":
        parts += ["# specialised to the example arguments: df.tangent_specialized_for(*args)",
                  tangent.source(df.tangent_specialized_for(*args))]
    return "\n".join(p.rstrip("\n") for p in parts) + "\n"


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_source_matches_golden(name):
    kind, f, wrt, args = CASES[name]
    text = _text(kind, f, wrt, args)
    path = GOLDEN / f"{name}.py.txt"
    if os.environ.get("TANGENT_UPDATE_GOLDEN"):
        path.write_text(text)
    expected = path.read_text()
    if text != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True),
                                            f"golden/{name}.py.txt", "generated"))
        pytest.fail(f"generated source of {name} changed (TANGENT_UPDATE_GOLDEN=1 to accept):\n{diff}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_programs_derivatives(name):
    kind, f, wrt, args = CASES[name]
    if kind == "hvp":
        (x,) = args
        v = np.array([0.3, -1.1, 0.5])
        got = tangent.hvp(f, wrt=wrt)(x, v)
        eps = 1e-5
        g = tangent.grad(f)
        want = (g(x + eps * v) - g(x - eps * v)) / (2 * eps)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
        return
    df = tangent.grad(f, wrt=wrt)
    got = df(*args)
    got = got if len(wrt) > 1 else (got,)
    for g, i in zip(got, wrt):
        want = numeric_grad(f, args, i)
        if isinstance(want, dict):
            for k in want:
                np.testing.assert_allclose(g[k], want[k], rtol=1e-6, atol=1e-8)
        else:
            np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-8)
