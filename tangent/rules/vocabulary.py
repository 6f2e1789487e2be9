"""The rule vocabulary: derivatives declared once, both modes generated.

Takes a declaration (a decorated function whose parameters are the result and
the arguments of the primitive, like a rule template, and whose ``return``
states the derivative) and gives ordinary ``Template``s, registered as the
primitives' reverse and forward rules: the same instantiation path and the same
generated code as rules written by hand with ``@adjoint``/``@tangent_rule``.

- ``elementwise``: the body returns the local derivative ∂z/∂x (a tuple of
  them, one per leading argument, or a dict {argument: ∂z/∂argument}). Reverse:
  ``d[x] = d[z] * ∂z/∂x`` (wrapped in ``unbroadcast(..., x)`` when the rule
  differentiates several arguments, which may broadcast); forward:
  ``d[z] = d[x] * ∂z/∂x + ...``.
- ``linear``: the body returns the primitive applied to its first argument
  ``a``; forward is that with ``d[a]`` for ``a``. The transpose is given once:
  as ``transpose=T`` (reverse ``d[a] = T(d[z], ...)``; T itself gets rules,
  being linear with transpose the primitive), or as a second returned
  expression of ``d[z]``.
- ``bilinear``: the body returns the product f(a, b); forward
  ``f(d[a], b) + f(a, d[b])``; reverse the two transposes ``lhs``/``rhs``
  (``lhs(g, a, b)`` is the adjoint of a given the output adjoint g), which
  get rules of their own (they are bilinear too).

The product ``d[z] * ∂z/∂x`` is written the way one writes it by hand:
``-d[z] * xp.sin(x)`` for ∂ = ``-xp.sin(x)``, ``d[z] * 0.5 / z`` for
``0.5 / z``, ``d[z] / x`` for ``1 / x``.

``xp`` in a declaration is the array library of the primitive (see
``array_namespace``), so one declaration serves ``np.sin`` and ``math.sin``.
Assumes declarations are module-level functions whose source ``inspect`` can
read, with one ``return`` (after an optional docstring).
"""

from __future__ import annotations

import ast
import collections
import copy
import importlib
import inspect
import textwrap
from typing import Any, Callable

from ..runtime import unbroadcast
from . import Template, register_adjoint, register_tangent

# top-level module of a primitive -> (the name generated code uses, the library)
_NAMESPACES: dict[str, tuple[str, str]] = {"numpy": ("np", "numpy"), "math": ("math", "math")}


def register_namespace(package: str, name: str, module: str) -> None:
    """Let ``xp`` in rules stand for ``module`` (imported as ``name`` in
    generated code) for primitives defined in ``package``.

    Example::

        register_namespace("jax", "jnp", "jax.numpy")
    """
    _NAMESPACES[package] = (name, module)


def array_namespace(callee: object, rule: object = None) -> tuple[str, Any]:
    """(name, module) that ``xp`` stands for in a rule for ``callee``.

    Raises NameError, naming ``rule``, when the library is not known.
    """
    owner = getattr(callee, "__objclass__", None)  # methods of ndarray
    module = getattr(callee, "__module__", None) or getattr(owner, "__module__", None) or ""
    package = module.split(".")[0].lstrip("_")
    if package in _NAMESPACES:
        name, library = _NAMESPACES[package]
        return name, importlib.import_module(library)
    raise NameError(f"{rule!r} uses xp, but the array library of {callee!r} is not known "
                    "(tangent.rules.register_namespace declares one)")


# ------------------------------------------------------------ declarations


def _declaration(fn: Callable) -> tuple[ast.FunctionDef, ast.expr]:
    """The declaration's tree (decorators dropped) and its returned expression."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]
    assert isinstance(tree, ast.FunctionDef)
    tree.decorator_list = []
    body = [s for s in tree.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    if len(body) != 1 or not isinstance(body[0], ast.Return) or body[0].value is None:
        raise TypeError(f"the declaration {fn.__qualname__} must consist of one return statement")
    return tree, body[0].value


def _params(tree: ast.FunctionDef) -> list[str]:
    args = tree.args
    names = [a.arg for a in args.posonlyargs + args.args]
    names += [args.vararg.arg] if args.vararg else []
    names += [a.arg for a in args.kwonlyargs]
    names += [args.kwarg.arg] if args.kwarg else []
    return names


def _d(name: str) -> ast.Subscript:
    return ast.Subscript(value=ast.Name(id="d", ctx=ast.Load()), slice=ast.Name(id=name, ctx=ast.Load()),
                         ctx=ast.Load())


def _name(name: str) -> ast.Name:
    return ast.Name(id=name, ctx=ast.Load())


def _call(func: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=_name(func), args=list(args), keywords=[])


def _assign_d(name: str, value: ast.expr) -> ast.Assign:
    target = _d(name)
    target.ctx = ast.Store()
    return ast.Assign(targets=[target], value=value)


def _substitute(expr: ast.expr, replacements: dict[str, ast.expr]) -> ast.expr:
    """``expr`` with the names in ``replacements`` replaced (not under ``d[...]``)."""

    class Substitute(ast.NodeTransformer):
        def visit_Subscript(self, node):
            if isinstance(node.value, ast.Name) and node.value.id == "d":
                return node
            return self.generic_visit(node)

        def visit_Name(self, node):
            return copy.deepcopy(replacements[node.id]) if node.id in replacements else node

    return Substitute().visit(copy.deepcopy(expr))


def _negated(g: ast.expr, f: ast.expr) -> bool:
    """Whether ``g`` times ``f``, written as ``_times`` writes it, starts with a minus."""
    if isinstance(f, ast.UnaryOp) and isinstance(f.op, ast.USub):
        return not _negated(g, f.operand)
    if isinstance(f, ast.BinOp) and isinstance(f.op, (ast.Mult, ast.Div)):
        return _negated(g, f.left)
    return False


def _times(g: ast.expr, f: ast.expr) -> ast.expr:
    """``g * f`` without its sign (see ``_negated``), written as by hand:
    through the left operands of ``*`` and ``/`` (``g * 0.5 / z`` for
    ``0.5 / z``), with a factor 1 dropped (``g / x`` for ``1 / x``)."""
    if isinstance(f, ast.UnaryOp) and isinstance(f.op, ast.USub):
        return _times(g, f.operand)
    if isinstance(f, ast.Constant) and type(f.value) is int and f.value == 1:
        return g
    if isinstance(f, ast.BinOp) and isinstance(f.op, (ast.Mult, ast.Div)):
        return ast.BinOp(left=_times(g, f.left), op=f.op, right=copy.deepcopy(f.right))
    return ast.BinOp(left=g, op=ast.Mult(), right=copy.deepcopy(f))


def _signed_times(g: ast.expr, f: ast.expr) -> ast.expr:
    """``g * f`` with its sign on ``g`` (``-d[z] * xp.sin(x)``)."""
    return _times(ast.UnaryOp(op=ast.USub(), operand=g) if _negated(g, f) else g, f)


def _tangent_sum(partials: dict[str, ast.expr]) -> ast.expr:
    """``d[x1] * ∂1 + d[x2] * ∂2 ...``, the first term signed as by hand
    (``-d[x] * xp.sin(x)``), a negative one after it subtracted."""
    (first, partial), *rest = partials.items()
    total = _signed_times(_d(first), partial)
    for param, partial in rest:
        op = ast.Sub() if _negated(_d(param), partial) else ast.Add()
        total = ast.BinOp(left=total, op=op, right=_times(_d(param), partial))
    return total


def _template(fn: Callable, kind: str, tree: ast.FunctionDef, body: list[ast.stmt], *,
              signature: inspect.Signature | None = None, names: dict[str, Any] | None = None,
              label: str | None = None, form: str) -> Template:
    """An ordinary Template whose body the vocabulary wrote."""
    node = ast.FunctionDef(name=tree.name, args=copy.deepcopy(tree.args), body=body, decorator_list=[],
                           returns=None, type_params=[])
    ast.fix_missing_locations(ast.copy_location(node, tree))
    namespace = collections.ChainMap(names or {}, fn.__globals__)
    label = label or f"{fn.__module__}.{fn.__qualname__}"
    return Template(fn, kind, tree=node, signature=signature, namespace=namespace, label=f"{label} ({form})")


def _with_result(tree: ast.FunctionDef, helper: Callable, result: str) -> tuple[ast.FunctionDef, inspect.Signature]:
    """The parameters of a rule for ``helper``: ``result`` then the helper's own."""
    own = ast.parse(textwrap.dedent(inspect.getsource(helper))).body[0]
    args = copy.deepcopy(own.args)
    args.args.insert(0, ast.arg(arg=result))
    signature = inspect.signature(helper)
    params = [inspect.Parameter(result, inspect.Parameter.POSITIONAL_OR_KEYWORD)] + list(signature.parameters.values())
    node = ast.FunctionDef(name=f"{tree.name}_{helper.__name__}", args=args, body=[], decorator_list=[],
                           returns=None, type_params=[])
    return ast.copy_location(node, tree), inspect.Signature(params)


def _result_name(taken) -> str:
    return next(n for n in ("z", "out", "result", "_z") if n not in taken)


# --------------------------------------------------------------- elementwise


def elementwise(*primitives: Callable) -> Callable[[Callable], Callable]:
    """Declare elementwise primitives by their local derivative.

    The declaration's parameters are the result and the arguments (with the
    primitive's names and defaults); it returns ∂result/∂argument for the
    first argument, or a tuple for the leading arguments, or a dict
    ``{argument: derivative}``. Arguments given no derivative carry none.

    Example::

        @elementwise(np.sin, math.sin)
        def sin(z, x):
            return xp.cos(x)

    registers ``d[x] = d[z] * np.cos(x)`` (reverse) and ``d[z] = d[x] *
    np.cos(x)`` (forward) for ``np.sin``, and the same with ``math.cos`` for
    ``math.sin``.
    """

    def register(fn: Callable) -> Callable:
        tree, returned = _declaration(fn)
        result, *params = _params(tree)
        if isinstance(returned, ast.Dict):
            if not all(isinstance(k, ast.Name) and k.id in params for k in returned.keys):
                raise TypeError(f"the keys of {fn.__qualname__}'s dict must be its parameters")
            partials = {k.id: v for k, v in zip(returned.keys, returned.values)}
        elif isinstance(returned, ast.Tuple):
            partials = dict(zip(params, returned.elts))
        else:
            partials = {params[0]: returned}
        # A single partial needs no unbroadcast only when it is the first of
        # one array argument (``sin(x)``): then the result is shaped like it.
        positional = [a.arg for a in tree.args.posonlyargs + tree.args.args][1:]
        required = positional[: len(positional) - len(tree.args.defaults)]
        several = len(partials) > 1 or len(required) > 1 or next(iter(partials)) != params[0]
        reverse = []
        for param, partial in partials.items():
            grad = _signed_times(_d(result), partial)
            reverse.append(_assign_d(param, _call("unbroadcast", grad, _name(param)) if several else grad))
        forward = [_assign_d(result, _tangent_sum(partials))]
        names = {"unbroadcast": unbroadcast}
        register_adjoint(_template(fn, "adjoint", tree, reverse, names=names, form="elementwise"), primitives)
        register_tangent(_template(fn, "tangent", tree, forward, names=names, form="elementwise"), primitives)
        return fn

    return register


# -------------------------------------------------------------------- linear


def linear(*primitives: Callable, transpose: Callable | None = None,
           transpose_rules: bool = True) -> Callable[[Callable], Callable]:
    """Declare primitives linear in their first argument.

    The declaration returns the primitive applied to its first argument
    ``a``, as the forward rule applies it to ``d[a]``. The transpose is
    either ``transpose=T``, a function called as ``T(g, ...)`` whose other
    parameters are the declaration's, by name (reverse: ``d[a] = T(d[z],
    ...)``), or a second returned expression in ``d[z]``. With
    ``transpose=T`` and ``transpose_rules``, T gets rules as well: it is
    linear in ``g``, with the primitive as its transpose.

    Example::

        @linear(np.trace, transpose=grad_trace)
        def trace(z, a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
            return np.trace(a, offset, axis1, axis2)

        @linear(np.swapaxes)
        def swapaxes(z, a, axis1, axis2):
            return np.swapaxes(a, axis1, axis2), np.swapaxes(d[z], axis1, axis2)
    """

    def register(fn: Callable) -> Callable:
        tree, returned = _declaration(fn)
        result, arg, *_ = _params(tree)
        if transpose is None:
            if not (isinstance(returned, ast.Tuple) and len(returned.elts) == 2):
                raise TypeError(f"{fn.__qualname__} must return (the primitive, its transpose) or be given transpose=")
            action, back = returned.elts
            names = {}
        else:
            action = returned
            t_params = list(inspect.signature(transpose).parameters)
            back = _call(transpose.__name__, _d(result), *map(_name, t_params[1:]))
            names = {transpose.__name__: transpose}
        forward = [_assign_d(result, _substitute(action, {arg: _d(arg)}))]
        reverse = [_assign_d(arg, back)]
        register_adjoint(_template(fn, "adjoint", tree, reverse, names=names, form="linear"), primitives)
        register_tangent(_template(fn, "tangent", tree, forward, names=names, form="linear"), primitives)
        if transpose is not None and transpose_rules:
            _transpose_rules(fn, tree, arg, action, transpose)
        return fn

    return register


def _transpose_rules(fn: Callable, tree: ast.FunctionDef, arg: str, action: ast.expr, transpose: Callable) -> None:
    """Rules for the transpose T(g, ...) of a linear primitive: T is linear
    in g, and its transpose is the primitive."""
    t_params = list(inspect.signature(transpose).parameters)
    result = _result_name(t_params)
    t_tree, signature = _with_result(tree, transpose, result)
    g = t_params[0]
    forward = [_assign_d(result, _call(transpose.__name__, _d(g), *map(_name, t_params[1:])))]
    reverse = [_assign_d(g, _substitute(action, {arg: _d(result)}))]
    unknown = {n.id for n in ast.walk(action) if isinstance(n, ast.Name)} & set(_params(tree)) - set(t_params) - {arg}
    if unknown:
        raise TypeError(f"{fn.__qualname__}: {transpose.__name__} lacks the parameters {sorted(unknown)}")
    names = {transpose.__name__: transpose}
    label = f"{transpose.__module__}.{transpose.__qualname__}, the transpose in {fn.__qualname__}"
    for kind, body in (("adjoint", reverse), ("tangent", forward)):
        rule = _template(fn, kind, t_tree, body, signature=signature, names=names, label=label, form="linear")
        (register_adjoint if kind == "adjoint" else register_tangent)(rule, [transpose])


# ------------------------------------------------------------------ bilinear


def _applied(helper: Callable, extra: list[str], g: ast.expr, x: ast.expr, y: ast.expr) -> ast.Call:
    """``helper(g, x, y, *extra)``: a transpose of a bilinear product."""
    return _call(helper.__name__, g, x, y, *map(_name, extra))


def bilinear(*primitives: Callable, lhs: Callable, rhs: Callable,
             transpose_rules: bool = True) -> Callable[[Callable], Callable]:
    """Declare primitives bilinear in their first two arguments ``a``, ``b``.

    The declaration returns the product f(a, b). Forward: ``f(d[a], b) +
    f(a, d[b])``; reverse: ``d[a] = lhs(d[z], a, b, ...)`` and ``d[b] =
    rhs(d[z], a, b, ...)``, where ``lhs``/``rhs`` map the output adjoint to
    the adjoint of ``a``/``b`` and take the declaration's other parameters
    by name after the three. They are bilinear in (g, b) and (g, a) and, with
    ``transpose_rules``, get rules too: the product and the other transpose.

    Example::

        @bilinear(np.tensordot, lhs=grad_tensordot_lhs, rhs=grad_tensordot_rhs)
        def tensordot(z, a, b, axes=2):
            return np.tensordot(a, b, axes)
    """

    def register(fn: Callable) -> Callable:
        tree, product = _declaration(fn)
        result, a, b, *_ = _params(tree)
        names = {lhs.__name__: lhs, rhs.__name__: rhs}
        extra = list(inspect.signature(lhs).parameters)[3:]
        reverse = [_assign_d(a, _applied(lhs, extra, _d(result), _name(a), _name(b))),
                   _assign_d(b, _applied(rhs, extra, _d(result), _name(a), _name(b)))]
        forward = [_assign_d(result, ast.BinOp(left=_substitute(product, {a: _d(a)}), op=ast.Add(),
                                               right=_substitute(product, {b: _d(b)})))]
        register_adjoint(_template(fn, "adjoint", tree, reverse, names=names, form="bilinear"), primitives)
        register_tangent(_template(fn, "tangent", tree, forward, names=names, form="bilinear"), primitives)
        if transpose_rules:
            _bilinear_transpose_rules(fn, tree, product, lhs, rhs)
        return fn

    return register


def _bilinear_transpose_rules(fn: Callable, tree: ast.FunctionDef, product: ast.expr, lhs: Callable,
                              rhs: Callable) -> None:
    """Rules for the transposes of a bilinear product f(a, b): ``lhs(g, x, y)``
    is bilinear in (g, y), its adjoint in g the product with it for a, in y
    the other transpose; likewise ``rhs(g, x, y)`` in (g, x)."""
    _, a, b, *_ = _params(tree)
    names = {lhs.__name__: lhs, rhs.__name__: rhs}
    extra = list(inspect.signature(lhs).parameters)[3:]
    for helper, other in ((lhs, rhs), (rhs, lhs)):
        g, x, y = list(inspect.signature(helper).parameters)[:3]
        z = _result_name(inspect.signature(helper).parameters)
        renamed = {a: _name(x), b: _name(y)}
        if helper is lhs:  # lhs(g, x, y): g stands for the output, y for b
            reverse = [_assign_d(g, _substitute(product, {**renamed, a: _d(z)})),
                       _assign_d(y, _applied(other, extra, _name(g), _d(z), _name(y)))]
            varied = _applied(helper, extra, _name(g), _name(x), _d(y))
        else:  # rhs(g, x, y): x stands for a
            reverse = [_assign_d(g, _substitute(product, {**renamed, b: _d(z)})),
                       _assign_d(x, _applied(other, extra, _name(g), _name(x), _d(z)))]
            varied = _applied(helper, extra, _name(g), _d(x), _name(y))
        forward = [_assign_d(z, ast.BinOp(left=_applied(helper, extra, _d(g), _name(x), _name(y)), op=ast.Add(),
                                          right=varied))]
        h_tree, signature = _with_result(tree, helper, z)
        label = f"{helper.__module__}.{helper.__qualname__}, a transpose in {fn.__qualname__}"
        for kind, body in (("adjoint", reverse), ("tangent", forward)):
            rule = _template(fn, kind, h_tree, body, signature=signature, names=names, label=label, form="bilinear")
            (register_adjoint if kind == "adjoint" else register_tangent)(rule, [helper])
