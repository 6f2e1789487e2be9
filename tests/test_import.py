"""``import tangent`` imports none of the optional array libraries (their
rules load once the user imports them), nor SciPy, nor any rule module; the
cost over ``import numpy`` (issue 12: < 0.2 s) is measured by
``python tools/import_time.py`` in fresh interpreters."""

import importlib.util
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import import_time  # noqa: E402


def test_import_tangent_imports_no_optional_library():
    code = ("import sys, tangent; tangent.grad; tangent.rules.load_builtin_rules(); "
            "print(' '.join(m for m in ('torch', 'jax', 'tensorflow', 'dask') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.split() == []


def test_import_tangent_loads_no_rules_and_no_scipy():
    """What made ``import tangent`` slow (1-3 s) was a module importing a rule
    module at import time, which registers every rule, SciPy's with them:
    rules load at the first transformation. (The time itself is measured by
    ``python tools/import_time.py``, a benchmark, not a timed test.)"""
    code = ("import sys, tangent; print(' '.join(sorted(m for m in sys.modules if m.startswith('scipy') "
            "or (m.startswith('tangent.rules.') and m.endswith('_rules')))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.split() == []
    (_, numpy_cpu), (_, tangent_cpu), imported = import_time.measure(1)
    assert imported == []


def test_rules_of_a_library_load_once_it_is_imported():
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("tensorflow is not installed")
    code = ("import os; os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'; import sys, tangent, tensorflow as tf; "
            "tangent.rules.load_builtin_rules(); print('tangent.rules.tf_rules' in sys.modules, "
            "tangent.rules.lookup_adjoint(tf.tanh) is not None)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.split() == ["True", "True"]
