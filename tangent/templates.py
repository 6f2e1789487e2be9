"""Instantiate derivative rule templates into statements.

A template's parameters are replaced by the atoms of the call being
differentiated, ``d[p]`` by the adjoint (or tangent) of ``p``, its local
variables by fresh names and its global names by names bound in the generated
module. ``d[p] = e`` statements become ``Accumulate`` markers that the
differentiator turns into assignments or accumulations.
"""

from __future__ import annotations

import ast
import builtins
import inspect
from typing import Callable

from .astwalk import FastTransformer, copy_tree
from .ir import Accumulate, ZeroDerivative
from .naming import Namer
from .rules import Template


def literal_or_global(value, bind_global: Callable[[str, object], str], hint: str) -> ast.expr:
    if value is None or isinstance(value, (bool, int, float, complex, str)):
        return ast.Constant(value=value)
    if isinstance(value, tuple) and all(isinstance(v, (int, float, bool, type(None))) for v in value):
        return ast.Constant(value=value)
    return ast.Name(id=bind_global(hint, value), ctx=ast.Load())


def bind_arguments(template: Template, args: list[ast.expr], keywords: dict[str, ast.expr],
                   bind_global: Callable[[str, object], str]) -> dict[str, ast.expr]:
    """Match a call's argument atoms to the template's parameters.

    Raises TypeError (with the signature's own message) on a mismatch.
    """
    params = list(template.signature.parameters.values())[1:]
    signature = inspect.Signature(params)
    bound = signature.bind(*args, **keywords)
    result = {}
    for param in params:
        if param.name in bound.arguments:
            value = bound.arguments[param.name]
            if param.kind is inspect.Parameter.VAR_POSITIONAL:
                result[param.name] = ast.Tuple(elts=list(value), ctx=ast.Load())
            elif param.kind is inspect.Parameter.VAR_KEYWORD:
                result[param.name] = ast.Dict(keys=[ast.Constant(value=k) for k in value],
                                              values=list(value.values()))
            else:
                result[param.name] = value
        elif param.default is not inspect.Parameter.empty:
            result[param.name] = literal_or_global(param.default, bind_global, param.name)
        elif param.kind is inspect.Parameter.VAR_POSITIONAL:
            result[param.name] = ast.Tuple(elts=[], ctx=ast.Load())
        elif param.kind is inspect.Parameter.VAR_KEYWORD:
            result[param.name] = ast.Dict(keys=[], values=[])
    return result


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
    def __init__(self, template, bound, derivative, namer, bind_global):
        self.template = template
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
        if name in namespace:
            value = namespace[name]
        elif hasattr(builtins, name):
            return node
        else:
            raise NameError(f"{self.template!r} uses the unknown name {name!r}")
        return ast.Name(id=self.bind_global(name, value), ctx=node.ctx)


def instantiate(template: Template, bound: dict[str, ast.expr],
                derivative: Callable[[str], ast.expr | None], namer: Namer,
                bind_global: Callable[[str, object], str]) -> list[ast.stmt]:
    """The template's body with parameters, ``d[...]``, locals and globals
    substituted (see module doc). ``derivative(param)`` gives the adjoint or
    tangent expression of a parameter, or None when it is zero.
    """
    body = copy_tree(template.tree.body)
    inst = _Instantiator(template, bound, derivative, namer, bind_global)
    out = []
    for stmt in body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # docstring
        new = inst.visit(stmt)
        out.extend(new if isinstance(new, list) else [new])
    return out
