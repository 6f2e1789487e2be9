"""Forward mode of containers and of writes into them.

A mixin of ``forward.ForwardMode``: it takes statements of the normalized
function (A-normal form: operands are atoms) and gives the statements that
keep the tangents of lists, tuples, dicts, arrays and objects in step with
their values: the tangent of ``[a, b]`` is ``[da, db]``, ``y[i] = v`` is
followed by ``dy[i] = dv``, ``lst.append(v)`` by ``dlst.append(dv)`` and a
``restore_region`` (which undoes a write) by the same on the tangent.

It assumes the host class provides ``tangent_of_atom``, ``zeros``, ``d``,
``zeros_like`` (the generated module's name of ``runtime.zeros_like``) and
``ever_varied`` (the variables that may have a tangent somewhere).
"""

from __future__ import annotations

import ast
import copy

from . import ir
from .forward_zeros import simplify_zeros
from .ir import Kind, name


class ContainerTangents:
    """Tangents of container literals and of in-place writes (mixin of ForwardMode)."""

    def tangent_or_zeros(self, atom: ast.expr, stmt: ast.stmt) -> ast.expr:
        """The tangent of ``atom`` at ``stmt``, ``zeros_like(atom)`` when it is zero."""
        tangent = simplify_zeros(self.tangent_of_atom(atom, stmt), self.zeros_like)
        return tangent if tangent is not None else self.zeros(atom)

    def structure_tangent(self, value: ast.expr, stmt: ast.stmt) -> ast.expr | None:
        """The tangent of a name or of a tuple, list or dict of atoms (None
        for zero): the container of its items' tangents."""
        if isinstance(value, ast.Name):
            return simplify_zeros(self.tangent_of_atom(value, stmt), self.zeros_like)
        if isinstance(value, ast.Dict):
            values = [self.tangent_or_zeros(elt, stmt) for elt in value.values]
            return ast.Dict(keys=copy.deepcopy(value.keys), values=values)
        elts = [self.tangent_or_zeros(elt, stmt) for elt in value.elts]
        return (ast.Tuple if isinstance(value, ast.Tuple) else ast.List)(elts=elts, ctx=ast.Load())

    def write_tangent(self, stmt: ast.stmt) -> list[ast.stmt]:
        """The statements mirroring the in-place write ``stmt`` (``y[i] = v``,
        ``obj.a = v``, ``lst.append(v)``, ``restore_region(y, i, old)``)
        into the tangent of what it writes; [] for any other statement and
        for writes into what never has a tangent."""
        match ir.kind_or_none(stmt):
            case Kind.SETITEM:
                var, index, _ = ir.written_region(stmt)
                if var not in self.ever_varied:
                    return []
                value = self.tangent_or_zeros(stmt.value, stmt)  # (before d(var): the order names are made in)
                region = ast.Subscript(value=name(self.d(var)), slice=copy.deepcopy(index), ctx=ast.Store())
                return [ast.copy_location(ast.Assign(targets=[region], value=value), stmt)]
            case Kind.RESTORE_REGION:
                var = stmt.value.args[0]
                if not (isinstance(var, ast.Name) and var.id in self.ever_varied):
                    return []
                old = self.tangent_or_zeros(stmt.value.args[2], stmt)
                mirror = ast.Call(func=copy.deepcopy(stmt.value.func),
                                  args=[name(self.d(var.id)), copy.deepcopy(stmt.value.args[1]), old], keywords=[])
                return [ast.copy_location(ast.Expr(value=mirror), stmt)]
            case Kind.APPEND:
                lst = stmt.value.func.value
                if lst.id not in self.ever_varied:
                    return []
                item = self.tangent_or_zeros(stmt.value.args[0], stmt)
                append = ast.Call(func=ast.Attribute(value=name(self.d(lst.id)), attr="append", ctx=ast.Load()),
                                  args=[item], keywords=[])
                return [ast.copy_location(ast.Expr(value=append), stmt)]
        return []
