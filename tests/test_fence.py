"""The syntax fence (tangent/fence.py): its table mirrors README.md's list of
refused constructs, and each refusal names the user's file and line."""

import importlib.util
import pathlib
import re
import textwrap

import numpy as np
import pytest

import tangent
from tangent.fence import REFUSALS

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def readme_list() -> list[str]:
    text = README.read_text()
    block = re.search(r"<!-- fence: start -->\n(.*?)<!-- fence: end -->", text, re.S)
    assert block, "README.md has no fence list"
    return [line[2:] for line in block.group(1).splitlines() if line.startswith("- ")]


def test_readme_lists_every_refusal_and_nothing_else():
    table = [r.construct for r in REFUSALS]
    listed = readme_list()
    assert sorted(set(table) - set(listed)) == [], "in fence.REFUSALS but not in README.md"
    assert sorted(set(listed) - set(table)) == [], "in README.md but not in fence.REFUSALS"
    assert listed == table, "README.md lists the refusals in the table's order"


def load_example(tmp_path, refusal):
    body = textwrap.indent(refusal.example, "    ")
    source = ("import numpy as np\nfrom tangent import insert_grad_of\n\n\n"
              f"def f(x):\n{body}\n    return y\n")
    path = tmp_path / "example.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"fence_example_{id(refusal)}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    line = next(k for k, text in enumerate(source.splitlines(), 1) if "# refused" in text)
    return module.f, f"{path}:{line}"


@pytest.mark.parametrize("refusal", REFUSALS, ids=lambda r: r.construct)
def test_each_refusal_names_file_and_line(tmp_path, refusal):
    assert refusal.example, "each table entry has an example"
    f, where = load_example(tmp_path, refusal)
    with pytest.raises(tangent.TangentSyntaxError) as info:
        tangent.grad(f)
    message = str(info.value)
    assert where in message, message
    if isinstance(refusal.message, str):
        assert refusal.message in message
    hint = message.split("\n")[-1].strip()
    assert hint and hint != refusal.message, "each refusal says what to write instead"


def clipped(x):
    y = x * x
    with tangent.insert_grad_of(y) as dy:
        dy = np.clip(dy, -1.0, 1.0)
        scale = (lambda v: v)(1.0)  # the block runs unchanged: the fence does not look inside
        dy = dy * scale
    return y * 3.0


def test_grad_hook_body_is_not_fenced():
    assert tangent.grad(clipped)(2.0) == pytest.approx(1.0 * 2 * 2.0)


def test_lambda_assigned_with_annotation_is_a_definition():
    def f(x):
        g: object = lambda v: v * v  # noqa: E731
        return g(x)

    assert tangent.grad(f)(3.0) == pytest.approx(6.0)
