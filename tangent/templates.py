"""Instantiate derivative rule templates into statements.

Takes a ``rules.Template`` and the atoms bound to its parameters (see
``Template.bind``); gives the template's statements for one call. A template's
parameters are replaced by the atoms of the call being differentiated,
``d[p]`` by the adjoint (or tangent) of ``p``, its local variables by fresh
names, its global names by names bound in the generated module, and ``xp`` by
the array library of the primitive called (``np`` for NumPy). ``d[p] = e``
statements become ``Accumulate`` markers that the differentiator turns into
assignments or accumulations. Assumes the template's names resolve in its
namespace or in builtins (NameError otherwise).
"""

from __future__ import annotations

import ast
import builtins
from typing import Callable

from . import rules
from .astwalk import FastTransformer, copy_tree
from .ir import Accumulate, ZeroDerivative
from .naming import Namer
from .rules import Template
from .rules.vocabulary import array_namespace


def _is_d(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name)
        and node.value.id == "d"
        and isinstance(node.slice, ast.Name)
    )


_locals: dict[int, tuple] = {}  # id(template tree) -> (tree, its local names)


def _locals_of(template, tree, params) -> set[str]:
    """The names a template assigns, other than its parameters (found once per tree)."""
    found = _locals.get(id(tree))
    if found is None or found[0] is not tree:
        found = _locals[id(tree)] = (tree, frozenset(
            n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)) - params)
    return found[1]


class _Instantiator(FastTransformer):
    def __init__(self, template, bound, derivative, namer, bind_global, callee):
        self.template = template
        self.callee = callee
        self.bound = bound
        self.derivative = derivative
        self.namer = namer
        self.bind_global = bind_global
        self.renamed: dict[str, str] = {}
        tree = template.tree
        self.params = {a.arg for a in tree.args.posonlyargs + tree.args.args + tree.args.kwonlyargs}
        if tree.args.vararg:
            self.params.add(tree.args.vararg.arg)
        if tree.args.kwarg:
            self.params.add(tree.args.kwarg.arg)
        self.locals = _locals_of(template, tree, self.params)

    def visit_Assign(self, node: ast.Assign):
        if len(node.targets) == 1 and _is_d(node.targets[0]):
            param = node.targets[0].slice.id
            value = self.visit(node.value)
            stmt = Accumulate(param, copy_tree(self.bound.get(param)), value)
            return ast.copy_location(stmt, node)
        return self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript):
        if _is_d(node):
            expr = self.derivative(node.slice.id)
            return ZeroDerivative(copy_tree(self.bound.get(node.slice.id))) if expr is None else expr
        return self.generic_visit(node)

    def visit_Name(self, node: ast.Name):
        name = node.id
        if name in self.params:
            return copy_tree(self.bound[name])
        if name in self.locals:
            if name not in self.renamed:
                self.renamed[name] = self.namer.fresh("_" + name.strip("_"))
            return ast.Name(id=self.renamed[name], ctx=node.ctx)
        namespace = self.template.namespace
        if name in namespace and not (name == "xp" and namespace[name] is rules.xp):
            value = namespace[name]
        elif name == "xp":
            hint, value = array_namespace(self.callee, self.template)
            return ast.Name(id=self.bind_global(hint, value), ctx=node.ctx)
        elif hasattr(builtins, name):
            return node
        else:
            raise NameError(f"{self.template!r} uses the unknown name {name!r}")
        return ast.Name(id=self.bind_global(name, value), ctx=node.ctx)


def instantiate(template: Template, bound: dict[str, ast.expr],
                derivative: Callable[[str], ast.expr | None], namer: Namer,
                bind_global: Callable[[str, object], str], callee: object = None) -> list[ast.stmt]:
    """The template's body with parameters, ``d[...]``, locals and globals
    substituted (see module doc). ``derivative(param)`` gives the adjoint or
    tangent expression of a parameter, or None when it is zero; ``callee``,
    the primitive differentiated, decides the library ``xp`` stands for.
    """
    body = copy_tree(template.tree.body)
    inst = _Instantiator(template, bound, derivative, namer, bind_global, callee)
    out = []
    for stmt in body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # docstring
        new = inst.visit(stmt)
        out.extend(new if isinstance(new, list) else [new])
    return out
