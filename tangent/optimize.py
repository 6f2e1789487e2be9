"""Optimization passes over generated functions."""

from __future__ import annotations

import ast


def optimize_function(fdef: ast.FunctionDef) -> ast.FunctionDef:
    return fdef
