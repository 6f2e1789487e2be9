"""Calls of the user's own functions: how their arguments bind.

Question answered: does a statement call a user function (one with no
derivative rule, so Tangent differentiates its source), and which of its
parameters receive active (varied) values, known functions, or instances of
known user classes? Reverse and forward mode specialise the callee's
derivative by that binding (``CallBinding.key``).

Input: the differentiator (its parsed function, analysis and error
builder) and a normalized statement whose value is a call. Output: a
``CallBinding`` or None; bad calls raise ``TangentSyntaxError``.

Assumes: the call's ``tangent_callee`` was resolved by the frontend.
"""

from __future__ import annotations

import ast
import inspect
import types as pytypes

from . import ir, rules
from .activity import Analysis
from .errors import TangentSyntaxError
from .frontend import UNRESOLVED


class CallBinding:
    """How a call of a user function maps onto its parameters."""

    def __init__(self, callee, args: list, keywords: dict, bindings: dict, active: list, static: dict, types: dict):
        self.callee = callee
        self.args = args  # positional atoms, the receiver first for methods
        self.keywords = keywords
        self.bindings = bindings  # param -> atom
        self.active = active  # params bound to active values
        self.static = static  # params bound to known functions
        self.types = types  # params of known user classes

    @property
    def key(self):
        return (tuple(self.active), tuple(sorted((k, id(v)) for k, v in self.static.items())),
                tuple(sorted((k, id(v)) for k, v in self.types.items())))


def active_user_call(mode, stmt) -> CallBinding | None:
    """The binding of ``stmt``'s call when it calls a user function with an
    active argument (``mode`` is a differentiator: parsed, analysis, error)."""
    value = stmt.value
    if not isinstance(value, ast.Call):
        return None

    def error(message, hint=""):
        return mode.error(TangentSyntaxError, stmt, message, hint)

    binding = bind_user_call(mode.parsed, mode.analysis, stmt, value, error)
    if binding is not None and binding.active and hasattr(binding.callee, "refusal_when_differentiated"):
        raise error(*binding.callee.refusal_when_differentiated)  # a runtime helper not differentiated yet
    return binding if binding is not None and binding.active else None


def bind_user_call(parsed, analysis: Analysis, stmt, value: ast.Call, error):
    """CallBinding of ``value`` when it calls a user function, else None."""
    callee = ir.get(value, "callee", UNRESOLVED)
    if callee is UNRESOLVED or not isinstance(callee, pytypes.FunctionType):
        return None
    if rules.lookup_adjoint(callee) is not None or rules.lookup_tangent(callee) is not None \
            or rules.is_nondifferentiable(callee):
        return None
    args = list(value.args)
    if ir.is_method(value):
        args = [value.func.value] + args
    keywords = {k.arg: k.value for k in value.keywords}
    signature = inspect.signature(callee)
    try:
        bound = signature.bind(*args, **keywords)
    except TypeError as e:
        raise error(f"bad call of {callee.__qualname__}: {e}") from None
    bindings, static, types = {}, {}, {}
    for param, arg in bound.arguments.items():
        if signature.parameters[param].kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise error(f"{callee.__qualname__} takes *args or **kwargs, which Tangent cannot differentiate through yet",
                        "give it explicit parameters")
        bindings[param] = arg
        known = parsed.resolve(arg) if isinstance(arg, (ast.Name, ast.Attribute)) else UNRESOLVED
        if known is not UNRESOLVED and callable(known) and not isinstance(known, type):
            static[param] = known  # a function passed as an argument
        if isinstance(arg, ast.Name) and arg.id in parsed.types:
            types[param] = parsed.types[arg.id]
    active = [p for p, arg in bindings.items()
              if isinstance(arg, ast.Name) and analysis.is_varied(arg.id, stmt) and p not in static]
    return CallBinding(callee, args, keywords, bindings, active, static, types)
