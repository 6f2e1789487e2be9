"""The derivative rules of a ``tangent.trace`` function (tracing.py).

Takes the traced function, its parameters' names and tracing's run-time
entry points (passed in: rules sit below tracing); registers an adjoint and
a tangent rule of the traced function calling them, and a tangent rule of
its gradient (a function of fixed arity, for hvp). No reverse rule of the
gradient: reverse over reverse is refused as a function without one.
"""

from __future__ import annotations

import ast
import functools
import inspect
from typing import Callable

import numpy as np

from . import Template, register_adjoint, register_tangent


def register_trace_rules(traced: Callable, names: list[str], trace_vjp: Callable, trace_jvp: Callable,
                         trace_vjp_jvp: Callable) -> None:
    """Reverse and forward rules of ``traced`` (a ``tangent.trace`` function
    of the parameters ``names``) calling ``trace_vjp`` / ``trace_jvp``, and a
    forward rule of its gradient calling ``trace_vjp_jvp`` (tracing.py)."""
    taken = set(names)

    def fresh(base):
        while base in taken:
            base += "_"
        taken.add(base)
        return base

    z, grads, me, seed = fresh("result"), fresh("grads"), fresh("traced"), fresh("seed")
    vjp_name, jvp_name, vjp_jvp_name = fresh("trace_vjp"), fresh("trace_jvp"), fresh("trace_vjp_jvp")
    args = "".join(n + ", " for n in names)
    # the gradient, a function of fixed arity with a forward rule of its own (for hvp)
    label = traced.trace_label
    gradient_name = "gradient_of_" + "".join(c if c.isalnum() else "_" for c in traced.__name__)
    namespace = {vjp_name: trace_vjp, jvp_name: trace_jvp, vjp_jvp_name: trace_vjp_jvp, me: traced, "np": np}
    exec(f"def {gradient_name}({seed}, {args}):\n    return {vjp_name}({me}, {seed}, {args})\n", namespace)
    gradient = namespace[gradient_name]
    gradient.__qualname__ = f"gradient of tangent.trace({label})"
    parameter = functools.partial(inspect.Parameter, kind=inspect.Parameter.POSITIONAL_OR_KEYWORD)
    own = list(traced.__signature__.parameters.values())
    templates = [
        (traced, "adjoint", [f"def adjoint_of_trace({z}, {args}):", f"    {grads} = {gradient_name}(d[{z}], {args})",
                             *[f"    d[{n}] = {grads}[{i}]" for i, n in enumerate(names)]], [parameter(z), *own]),
        (traced, "tangent", [f"def tangent_of_trace({z}, {args}):",
                             f"    d[{z}] = {jvp_name}({me}, ({args}), ({''.join(f'd[{n}], ' for n in names)}))"],
         [parameter(z), *own]),
        (gradient, "tangent", [f"def tangent_of_trace_gradient({z}, {seed}, {args}):",
                               f"    d[{z}] = {vjp_jvp_name}({me}, ({seed}, {args}), "
                               f"({''.join(f'd[{n}], ' for n in [seed, *names])}))"],
         [parameter(z), parameter(seed), *[parameter(n) for n in names]]),
    ]
    for primitive, kind, lines, params in templates:
        tree = ast.parse("\n".join(lines)).body[0]
        template = Template(primitive, kind, tree=tree, signature=inspect.Signature(params),
                                  namespace=namespace, label=f"tangent.trace({label})")
        (register_adjoint if kind == "adjoint" else register_tangent)(template, [primitive])
