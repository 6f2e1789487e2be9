"""The rules in force do not depend on the order in which rule modules are
imported: each primitive is declared once among Tangent's rule modules (a
test importing one module directly, as tests do, once made builtins_rules'
real-only abs replace numpy_more_rules' complex one, so a complex gradient
came out conjugated depending on which tests ran before)."""

import json
import subprocess
import sys

import pytest

_DUMP = """
import importlib, json, sys
first = sys.argv[1]
if first:
    importlib.import_module(first)
from tangent import rules
rules.load_builtin_rules()
def key(k):
    return f"{getattr(k, '__module__', None)}.{getattr(k, '__qualname__', None) or repr(k)}"
def table(d):
    return {key(k): v.label for k, v in d._by_key.items() if getattr(v, "label", "").startswith("tangent.rules.")}
print(json.dumps([table(rules.ADJOINTS), table(rules.TANGENTS)]))
"""

_FIRST = ["tangent.rules.builtins_rules", "tangent.rules.numpy_rules", "tangent.rules.numpy_more_rules",
          "tangent.rules.runtime_rules", "tangent.rules.linalg_rules", "tangent.rules.scipy_rules"]


def _tables(first: str):
    out = subprocess.run([sys.executable, "-c", _DUMP, first], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.mark.parametrize("first", _FIRST)
def test_rules_in_force_do_not_depend_on_import_order(first):
    reference = _tables("")
    tables = _tables(first)
    for kind, ref, got in zip(("reverse", "forward"), reference, tables):
        differ = {k: (ref.get(k), got.get(k)) for k in set(ref) | set(got) if ref.get(k) != got.get(k)}
        assert not differ, f"{kind} rules differ when {first} is imported first: {differ}"
