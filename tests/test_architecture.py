"""The package's structure: imports flow down the pipeline, every module
states its contract in a docstring, and ``tangent.ir`` (markers, declared
annotations, the statement classifier) does what it says."""

from __future__ import annotations

import ast
import copy
import pathlib

import numpy as np
import pytest

import tangent
from tangent import ir
from tangent.astwalk import copy_tree, names_in
from tangent.frontend import parse_function
from tangent.naming import Namer
from tangent.normalize import normalize

PACKAGE = pathlib.Path(tangent.__file__).parent

# The pipeline, bottom (index 0: imported by everything) to top. A module may
# import modules of its own layer or of the layers below it, never above.
# rules/* counts as one module, "rules".
LAYERS: list[tuple[str, set[str]]] = [
    ("base", {"errors", "naming", "astwalk", "name_counts", "ir", "runtime", "rules", "templates", "surgery", "display"}),
    ("frontend", {"frontend", "resolve"}),
    ("normalization", {"controlflow", "desugar", "item_classes", "library_writes", "super_calls", "desugar_calls", "function_values", "inlining", "normalize", "anf",
                       "anf_expressions", "fence", "versions"}),
    ("analyses", {"argument_kinds", "kind_guards", "cfg", "activity", "kinds", "aliases", "sharing", "mutations", "calls", "shapes", "sequence_shapes",
                  "container_reads",
                  "private_arguments", "unit_seed", "shift_invariance", "fresh_results"}),
    ("differentiation", {"differentiator", "reverse", "forward", "forward_zeros", "forward_containers", "forward_reuse", "forward_copies", "tape",
                         "adjoints", "assign_adjoints", "container_adjoints", "shape_variants", "checkpointing",
                         "restores"}),
    ("optimization", {"optimize", "value_facts", "unit_factors", "reduced_factors", "broadcasts", "common_subexpressions", "fusion", "reductions", "self_updates",
                      "hoisted_products", "gradient_displays"}),
    ("code generation", {"codegen"}),
    ("driver", {"transform"}),
    ("interface", {"api", "argument_classes", "cache", "ownership", "specialize", "testing", "motion", "jacobians", "__init__", "__main__",
                   "tracing", "varargs", "numba_backend", "numba_lowering", "sweeps", "hvp_vectors"}),
]

# Passes that work on any function in the intermediate form, whichever mode
# made it: they may import the base layer only (the markers they meet are in
# ir) and each other, not the differentiators whose output they read.
BASE_ONLY = {"optimize", "codegen", "value_facts", "unit_factors", "reduced_factors", "broadcasts", "common_subexpressions", "fusion", "reductions", "self_updates",
             "hoisted_products", "gradient_displays"}

# The two modes are independent of each other: what both need lives in
# differentiator (or below).
INDEPENDENT = [{"reverse", "forward"}]

# Imports against the flow that exist today, each with a comment saying who
# removes it (none now).
KNOWN_VIOLATIONS: set[tuple[str, str]] = set()


def _layer_of() -> dict[str, int]:
    return {module: i for i, (_, modules) in enumerate(LAYERS) for module in modules}


def _unit(parts: list[str]) -> str:
    """The layered module a dotted tangent module name belongs to."""
    if parts[:1] != ["tangent"]:
        raise ValueError(parts)
    if len(parts) == 1:
        return "__init__"
    return parts[1]


def _modules() -> dict[str, pathlib.Path]:
    """unit name -> file, for every module of the package (rules/* under 'rules')."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("").parts
        found["/".join(rel)] = path
    return found


def _imports(path: pathlib.Path) -> set[str]:
    """The tangent units the module at ``path`` imports (lazy imports included)."""
    rel = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = rel[:-1]  # the package relative imports start from
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "tangent":
                    out.add(_unit(alias.name.split(".")))
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if node.module and node.module.split(".")[0] == "tangent":
                    base = node.module.split(".")
                    out |= {_unit(base + [a.name]) if len(base) == 1 else _unit(base) for a in node.names}
                continue
            base = package[: len(package) - (node.level - 1)]
            if node.module:
                out.add(_unit(base + node.module.split(".")))
            else:
                for alias in node.names:  # from . import x: x is a submodule or a name of the package
                    out.add(_unit(base + [alias.name]) if len(base) == 1 else _unit(base))
    return out


def _unit_of_file(key: str) -> str:
    return key.split("/")[0] if "/" in key else key


def _problem(unit: str, imported: str) -> str | None:
    """Why ``unit`` may not import ``imported`` (None: it may)."""
    layer, names = _layer_of(), [name for name, _ in LAYERS]
    if (unit, imported) in KNOWN_VIOLATIONS:
        return None
    if layer[imported] > layer[unit]:
        return f"{unit} ({names[layer[unit]]}) imports {imported} ({names[layer[imported]]}), a later stage"
    if unit in BASE_ONLY and layer[imported] > 0 and imported not in BASE_ONLY:
        return f"{unit} imports {imported} ({names[layer[imported]]}): it may import the base layer only"
    if any({unit, imported} <= group for group in INDEPENDENT):
        return f"{unit} imports {imported}: they are independent (shared code goes in a layer below)"
    return None


def _violations() -> tuple[list[str], list[str]]:
    layer = _layer_of()
    unknown, problems = [], []
    for key, path in _modules().items():
        unit = _unit_of_file(key)
        if unit not in layer:
            unknown.append(unit)
            continue
        for imported in sorted(_imports(path) - {unit}):
            if imported not in layer:
                unknown.append(imported)
            elif (problem := _problem(unit, imported)) is not None:
                problems.append(problem)
    return sorted(set(unknown)), sorted(set(problems))


def test_every_module_has_a_layer():
    unknown, _ = _violations()
    assert not unknown, f"assign these modules to a layer in tests/test_architecture.py LAYERS: {unknown}"


def test_imports_flow_down_the_pipeline():
    _, problems = _violations()
    assert not problems, "imports against the pipeline's direction:\n" + "\n".join(problems)


def test_the_direction_check_flags_upward_imports():
    assert _problem("runtime", "api") is not None
    assert _problem("mutations", "reverse") is not None
    assert _problem("codegen", "reverse") is not None  # as codegen imported Comment before ir existed
    assert _problem("reverse", "forward") is not None
    assert _problem("reverse", "mutations") is None and _problem("reverse", "differentiator") is None


def test_known_violations_still_exist():
    """An allowed violation that is gone must leave the allow-list."""
    present = {(_unit_of_file(k), i) for k, p in _modules().items() for i in _imports(p)}
    stale = KNOWN_VIOLATIONS - present
    assert not stale, f"remove from KNOWN_VIOLATIONS: {sorted(stale)}"


def test_the_import_reader_sees_relative_and_lazy_imports():
    imports = _imports(PACKAGE / "rules" / "numpy_rules.py")
    assert {"runtime", "rules"} <= imports
    assert "errors" in _imports(PACKAGE / "runtime" / "adjoints.py")  # imported inside a function
    assert {"api", "codegen"} <= _imports(PACKAGE / "__init__.py")


@pytest.mark.parametrize("key", sorted(_modules()))
def test_every_module_states_its_contract(key):
    tree = ast.parse(_modules()[key].read_text())
    doc = ast.get_docstring(tree)
    assert doc and len(doc.split()) >= 5, f"tangent/{key}.py needs a module docstring saying what it does"


# ------------------------------------------------------------------ ir


def normalized(func) -> ast.FunctionDef:
    parsed = parse_function(func)
    namer = Namer(parsed.local_names | {n.id for n in names_in(parsed.tree)} | {"d"})
    return normalize(parsed, namer)


def statements(stmts):
    for stmt in stmts:
        yield stmt
        for field in ("body", "orelse"):
            yield from statements(getattr(stmt, field, None) or [])


def kinds_of(func) -> list[str]:
    return [ir.kind(s) for s in statements(normalized(func).body)]


def every_form(x, n, xs):
    lst = []
    for i in range(n):
        lst.append(x * i)
    last = lst.pop()
    y = np.zeros(3)
    y[0] = last
    while x > 1.0:
        x = x / 2.0
    if x > 0.5:
        z = x
    else:
        z = -x
    print(z)
    assert n > 0
    with tangent.insert_grad_of(z) as dz:
        dz = dz * 1.0
    return np.sum(y) + z


def test_kind_of_every_form_of_normalized_code():
    found = kinds_of(every_form)
    expected = {"assign", "append", "pop", "setitem", "for", "while", "if", "effect", "hook", "return"}
    assert set(found) == expected, set(found) ^ expected
    assert found[-1] is ir.Kind.RETURN
    assert found.count("effect") == 2  # print(...), assert
    assert all(isinstance(k, ir.Kind) for k in found)


def test_kind_of_a_discarded_pop_and_of_object_attributes():
    class Box:
        def __init__(self, v):
            self.v = v

    def f(x):
        lst = [x, x]
        lst.pop()
        b = Box(x)
        b.v = x * 2.0
        return b.v + lst[0]

    # a discarded pop still binds its item (the adjoint moves through it)
    assert "pop" in kinds_of(f) and "setitem" in kinds_of(f)


def test_kind_of_a_backward_pass_normalized_again():
    def f(x):
        y = np.ones(2)
        z = np.sum(y * x)  # its adjoint reads y's values from before the write
        y[0] = x * x
        return y[0] + z

    found = kinds_of(tangent.grad(f))
    assert "restore_region" in found


def test_kind_of_markers_and_generated_statements():
    assert ir.kind(ir.Save(ir.Site("x", None, False))) is ir.Kind.SAVE
    assert ir.kind(ir.Restore()) is ir.Kind.RESTORE
    assert ir.kind(ir.Comment("c")) is ir.Kind.COMMENT
    assert ir.kind(ir.Accumulate("x", None, ir.name("dz"))) is ir.Kind.ACCUMULATE
    assert ir.kind(ast.parse("a, b = f(x)").body[0]) is ir.Kind.UNPACK
    assert ir.kind(ast.Pass()) == "pass"


def test_kind_refuses_what_normalized_code_does_not_contain():
    for source in ("with f(): pass", "try:\n    pass\nexcept E:\n    pass", "del x", "x += 1", "a = b = 1"):
        with pytest.raises(ValueError, match="normalized"):
            ir.kind(ast.parse(source).body[0])


def test_annotations_are_declared_and_survive_copies():
    node = ir.annotate(ir.call("sin", ir.name("x")), callee=np.sin, method=False, pure_call=True)
    assert ir.callee(node) is np.sin and ir.get(node, "pure_call") is True and not ir.is_method(node)
    assert node.tangent_callee is np.sin  # the attribute the passes read directly
    assert ir.has(node, "method") and not ir.has(node, "global")
    assert ir.get(node, "global", "absent") == "absent"
    for copied in (copy_tree(node), copy.deepcopy(node)):
        assert ir.callee(copied) is np.sin
    with pytest.raises(KeyError, match="ANNOTATIONS"):
        ir.annotate(node, calee=np.sin)
    with pytest.raises(KeyError, match="ANNOTATIONS"):
        ir.get(node, "calee")


def test_every_annotation_the_package_uses_is_declared():
    """Node attributes named tangent_* in the engine are declared in
    ir.ANNOTATIONS (those of derivative functions and other names excepted)."""
    not_node_facts = {"tangent_source", "tangent_generic", "tangent_specialized_for", "tangent_filename",
                      "tangent_derivatives", "tangent_derived_from", "tangent_tapes", "tangent_generated", "tangent_rule",
                      "tangent_like", "tangent_code", "tangent_of_atom", "tangent_name", "tangent_params",
                      "tangent_copy", "tangent_or_zeros", "tangent_generators", "tangent_",
                      "tangent_numba_for", "tangent_numba_", "tangent_deferred", "tangent_argument_classes",
                      "tangent_argument_item_classes", "tangent_api", "tangent_array_type",
                      "tangent_argument_kinds", "tangent_differentiable", "tangent_implementation_for",
                      "tangent_owned", "tangent_returns_fresh", "tangent_dispatch", "tangent_resolve"}  # (argument_classes: function attributes; numba_backend: a derivative's dispatcher, module names)
    used = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr.startswith("tangent_"):
                used.add(node.attr)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("tangent_"):
                used.add(node.value)
    declared = {"tangent_" + k for k in ir.ANNOTATIONS}
    missing = used - declared - not_node_facts
    assert not missing, f"declare in ir.ANNOTATIONS: {sorted(missing)}"


# Modules that still read or write node annotations as attributes
# (``getattr(node, "tangent_callee", None)``, ``node.tangent_normal = True``)
# instead of through ir.annotate / ir.get / ir.has / ir.callee...: the
# normalization layer, edited in parallel in round 2. The lead empties this.
ANNOTATIONS_BY_ATTRIBUTE: set[str] = {
    "anf",              # round 2: normalization helper's files
    "anf_expressions",  # round 2: normalization helper's files
    "controlflow",      # round 2: normalization helper's files
    "desugar",          # round 2: normalization helper's files
}


def _annotation_attribute_uses(path: pathlib.Path) -> list[str]:
    """Where the module at ``path`` touches a declared annotation as an
    attribute: ``getattr/hasattr/setattr/delattr(node, "tangent_<name>")``
    or ``node.tangent_<name>`` (read or written)."""
    declared = {"tangent_" + k for k in ir.ANNOTATIONS}
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in ("getattr", "hasattr", "setattr", "delattr") and len(node.args) >= 2 \
                and isinstance(node.args[1], ast.Constant) and node.args[1].value in declared:
            found.append(f"{node.func.id}(..., {node.args[1].value!r}) on line {node.lineno}")
        elif isinstance(node, ast.Attribute) and node.attr in declared:
            found.append(f".{node.attr} on line {node.lineno}")
    return found


def test_annotations_are_read_and_written_through_ir():
    """Only ir stores annotations on nodes: everyone else uses ir.annotate,
    ir.get, ir.has and the named readers (ir.callee, ir.is_method...)."""
    offenders = {}
    for key, path in _modules().items():
        if key == "ir" or key in ANNOTATIONS_BY_ATTRIBUTE:
            continue
        if uses := _annotation_attribute_uses(path):
            offenders[key] = uses
    assert not offenders, f"use ir.annotate / ir.get / ir.has instead: {offenders}"
    still = {key for key in ANNOTATIONS_BY_ATTRIBUTE if _annotation_attribute_uses(_modules()[key])}
    assert still == ANNOTATIONS_BY_ATTRIBUTE, f"remove from ANNOTATIONS_BY_ATTRIBUTE: {ANNOTATIONS_BY_ATTRIBUTE - still}"


def test_the_annotation_check_sees_reads_and_writes(tmp_path):
    module = tmp_path / "m.py"
    module.write_text('x = getattr(n, "tangent_callee", None)\nn.tangent_normal = True\nf.tangent_source = s\n')
    assert len(_annotation_attribute_uses(module)) == 2  # tangent_source: a derivative's, not a node's


def test_statement_predicates_of_ir():
    def f(x):
        y = np.zeros(2)
        y[0] = x
        lst = [x]
        lst.append(x)
        z = lst.pop()
        return y[0] + z

    body = normalized(f).body
    assert [s for s in body if ir.is_setitem(s)] and [s for s in body if ir.is_append(s)]
    assert [s for s in body if ir.is_pop(s)]
    write = next(s for s in body if ir.is_setitem(s))
    var, index, value = ir.written_region(write)
    assert var == "y" and ast.unparse(index) == ast.unparse(value) == "0"
    assert ir.kind_or_none(ast.parse("with f(): pass").body[0]) is None
    assert ir.kind_or_none(ir.name("x")) is None and not ir.is_setitem(ir.name("x"))
    assert ast.unparse(ir.index_value(ast.parse("a[1:n]").body[0].value.slice)) == "slice(1, n)"


def test_normalized_calls_carry_their_annotations():
    def f(x):
        return np.sin(x) * np.pi

    calls = [n for n in ast.walk(normalized(f)) if isinstance(n, ast.Call)]
    assert [ir.callee(c) for c in calls] == [np.sin]
    assert ir.get(calls[0], "pure_call") is True and ir.is_method(calls[0]) is False
    assert any(ir.is_global(n) and ir.get(n, "value") == np.pi for n in ast.walk(normalized(f)))


# The size targets of the engine (issue 10): rules/ excepted. A function over the
# limit must say why in its docstring (a line starting "Long because").
MODULE_LINES, CLASS_LINES, FUNCTION_LINES = 500, 300, 60


def _engine_files():
    return [p for k, p in _modules().items() if not k.startswith("rules/")]


def test_no_engine_module_over_the_size_target():
    over = {p.name: n for p in _engine_files() if (n := len(p.read_text().splitlines())) > MODULE_LINES}
    assert not over, f"modules over {MODULE_LINES} lines: {over}"


def test_no_engine_class_or_function_over_the_size_target():
    over = []
    for path in _engine_files():
        for node in ast.walk(ast.parse(path.read_text())):
            length = getattr(node, "end_lineno", 0) - getattr(node, "lineno", 0) + 1
            if isinstance(node, ast.ClassDef) and length > CLASS_LINES:
                over.append(f"{path.name}: class {node.name} ({length} lines)")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and length > FUNCTION_LINES:
                code = length - len((ast.get_docstring(node) or "").splitlines())
                if code > FUNCTION_LINES and "Long because" not in (ast.get_docstring(node) or ""):
                    over.append(f"{path.name}: {node.name} ({length} lines, {code} without its docstring)")
    assert not over, "\n".join(over)
