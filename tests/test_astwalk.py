"""The fast tree helpers (tangent.astwalk) give what the stdlib functions
they replace give, and codegen.to_source leaves the trees it prints as they were."""

from __future__ import annotations

import ast
import copy
import pathlib

import numpy as np

import tangent
from tangent import astwalk, ir
from tangent.codegen import to_source

SOURCES = sorted(pathlib.Path(tangent.__file__).parent.rglob("*.py")) + sorted(pathlib.Path(__file__).parent.glob("*.py"))


def trees():
    for path in SOURCES:
        yield path, ast.parse(path.read_text())


def test_names_in_finds_the_names_ast_walk_finds():
    for path, tree in trees():
        expected = sorted(id(n) for n in ast.walk(tree) if isinstance(n, ast.Name))
        assert sorted(id(n) for n in astwalk.names_in(tree)) == expected, path


def test_walk_list_is_ast_walk():
    for path, tree in trees():
        assert astwalk.walk_list(tree) == list(ast.walk(tree)), path


def test_copy_tree_is_a_deep_copy_sharing_only_contexts_and_operators():
    for path, tree in trees():
        if not tree.body:
            continue
        tree.body[0].tangent_callee = np.sin
        copied = astwalk.copy_tree(tree)
        assert ast.dump(copied, include_attributes=True) == ast.dump(tree, include_attributes=True), path
        assert copied.body[0].tangent_callee is np.sin
        originals = {id(n) for n in ast.walk(tree)}
        shared = [n for n in ast.walk(copied) if id(n) in originals]
        assert all(isinstance(n, (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)) for n in shared)


def test_copy_tree_keeps_objects_shared_within_the_tree_shared():
    site = ir.Site("x", None, False)
    body = [ir.Save(site), ir.Restore(site)]
    save, restore = astwalk.copy_tree(body)
    assert save.site is restore.site and save.site is not site


def test_children_fields():
    assert astwalk.children_fields(ast.BinOp) == ("left", "right")
    assert astwalk.children_fields(ast.Name) == ()
    assert astwalk.children_fields(ast.Constant) == ()
    assert astwalk.children_fields(ast.FunctionDef) == ("args", "body", "decorator_list", "returns")
    assert astwalk.children_fields(ir.GradHook) == ("body",)
    assert astwalk.children_fields(ir.Accumulate) == ("value",)


def test_to_source_prints_comments_and_negative_numbers_and_changes_nothing():
    tree = ast.parse("def f(x, c=-1.0):\n    y = 0.5 ** 2\n    return (x, -2)\n").body[0]
    tree.body[0].value.left = ast.Constant(value=-0.5)  # as a constant folder leaves it
    tree.body.insert(0, ir.Comment("f.py:2: y = ..."))
    tree.body.insert(1, ast.Assign(targets=[ir.store("z")], value=ir.name("x")))  # no line number
    before = ast.dump(tree)
    source = to_source([tree])
    assert source == ("def f(x, c=-1.0):\n    # f.py:2: y = ...\n    z = x\n    y = (-0.5) ** 2\n"
                      "    return (x, -2)\n")
    assert ast.dump(tree) == before
    assert isinstance(tree.body[0], ir.Comment)


def test_fast_transformer_is_a_node_transformer():
    class Rename:
        def visit_Name(self, node):
            return ast.copy_location(ast.Name(id=node.id + "_", ctx=node.ctx), node)

        def visit_Expr(self, node):
            self.generic_visit(node)
            return None if isinstance(node.value, ast.Constant) else node  # drop docstrings

    class Swap:
        def visit_Add(self, node):
            return ast.Sub()

    for mixin in (Rename, Swap):
        fast = type("Fast", (mixin, astwalk.FastTransformer), {})
        slow = type("Slow", (mixin, ast.NodeTransformer), {})
        for path, tree in trees():
            mine = fast().visit(astwalk.copy_tree(tree))
            theirs = slow().visit(copy.deepcopy(tree))
            assert ast.dump(mine) == ast.dump(theirs), (mixin, path)
