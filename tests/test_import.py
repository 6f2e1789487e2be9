"""``import tangent`` imports none of the optional array libraries (their
rules load once the user imports them) and costs little over ``import numpy``
(issue 12: < 0.2 s), measured by tools/import_time.py in fresh interpreters."""

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


def test_import_tangent_costs_under_a_fifth_of_a_second_of_cpu():
    (_, numpy_cpu), (_, tangent_cpu), imported = import_time.measure(3)
    assert imported == []
    assert tangent_cpu - numpy_cpu < 0.2, f"import tangent costs {tangent_cpu - numpy_cpu:.3f} s of CPU over numpy"


def test_rules_of_a_library_load_once_it_is_imported():
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("tensorflow is not installed")
    code = ("import os; os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'; import sys, tangent, tensorflow as tf; "
            "tangent.rules.load_builtin_rules(); print('tangent.rules.tf_rules' in sys.modules, "
            "tangent.rules.lookup_adjoint(tf.tanh) is not None)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.split() == ["True", "True"]
