"""Function values in desugaring: lambdas, partials, returned functions, the user's functions inlined.

Part of desugar.py's pass (``owner`` is its ``Desugar``). Gives, for an
expression whose value is a function, a nested function known to
desugaring, inlined where it is called: a lambda, a nested function's name,
``functools.partial(f, ...)`` (its arguments computed where it stands),
the function a helper returns (``make_step(a)``, the helper inlined). A
function of the user's whose call needs it (it takes ``*args`` or
``**kwargs``, or is passed a nested function or lambda) is inlined like a
nested function, its free names bound to what they denote in its own
module and its defaults to their values. A call leaving out a parameter
whose default is a function passes the default explicitly, so that the
callee's derivative knows which function it calls.

Recursion through such inlining is refused, naming the line.
"""

from __future__ import annotations

import ast
import builtins
import copy
import functools
import inspect
import sys
import types

from . import fence, resolve, rules
from .desugar_calls import _assign, _name, expand_call
from .errors import TangentError
from .frontend import UNRESOLVED, local_names, parse_function


def _returns_function(fdef: ast.FunctionDef) -> bool:
    final = fdef.body[-1] if fdef.body else None
    if not isinstance(final, ast.Return) or final.value is None:
        return False
    value = final.value
    inner = {s.name for s in ast.walk(fdef) if isinstance(s, ast.FunctionDef) and s is not fdef}
    return isinstance(value, ast.Lambda) or isinstance(value, ast.Name) and value.id in inner \
        or isinstance(value, ast.Call) and isinstance(value.func, (ast.Name, ast.Attribute)) \
        and ast.unparse(value.func) in ("partial", "functools.partial")


def function_value(owner, expr: ast.expr) -> tuple[list[ast.stmt], str] | None:
    """(statements, name of a nested function) for an expression whose value
    is a function desugaring can inline: a lambda, a nested function's name,
    ``functools.partial(...)``, a call of a helper that returns a function."""
    if isinstance(expr, ast.Lambda):
        fname = owner.temp("lambda")
        owner.lambdas.add(fname)
        fdef = ast.FunctionDef(name=fname, args=expr.args, body=[ast.copy_location(ast.Return(value=expr.body), expr)],
                               decorator_list=[], returns=None, type_params=[])
        return owner.define(ast.copy_location(fdef, expr)), fname
    if isinstance(expr, ast.Name) and expr.id in owner.local_functions:
        return [], expr.id
    if not isinstance(expr, ast.Call):
        return None
    callee = owner.parsed.resolve(expr.func)
    if callee is functools.partial:
        return partial_function(owner, expr)
    if isinstance(expr.func, ast.Name) and expr.func.id in owner.local_functions:
        fname = expr.func.id
        if not _returns_function(owner.local_functions[fname]):
            return None
    elif inlinable(owner, callee) and _module_function_returns_function(owner, callee):
        fname = module_function(owner, callee)
    else:
        return None
    setup, _ = expand_call(owner, expr)
    made = owner.inline(fname, expr, capture=True)
    return setup + made.body, made.result


def _module_function_returns_function(owner, callee) -> bool:
    found = owner.returns_function.get(callee)
    if found is None:
        try:
            found = _returns_function(parse_function(callee).tree)
        except TangentError:  # no source: not inlined (its call says so where it is differentiated)
            found = False
        owner.returns_function[callee] = found
    return found


def partial_function(owner, node: ast.Call) -> tuple[list[ast.stmt], str]:
    """``functools.partial(f, a, k=v)``: its arguments computed now, and a
    nested function ``(*args, **kwargs) -> f(a, *args, k=v, **kwargs)``."""
    if not node.args or any(isinstance(a, ast.Starred) for a in node.args) or not all(kw.arg for kw in node.keywords):
        raise owner.error(node, "functools.partial needs the function and its arguments spelled out",
                          "write functools.partial(f, a, k=v)")
    setup: list[ast.stmt] = []
    made = function_value(owner, node.args[0])
    if made is not None:
        setup += made[0]
        func: ast.expr = _name(made[1])
    else:
        target = owner.parsed.resolve(node.args[0])
        if target is UNRESOLVED or not callable(target):
            raise owner.error(node, f"cannot tell which function functools.partial is given: {owner.user_text(node.args[0])}",
                              "pass a function defined at module level, a nested function or a lambda")
        func = node.args[0]
    values: list[ast.expr] = []
    for value in node.args[1:] + [kw.value for kw in node.keywords]:
        if isinstance(value, ast.Constant):
            values.append(value)
            continue
        temp = owner.local("partial_arg")
        setup += owner.statement(owner.at(_assign(temp, value)))
        values.append(_name(temp))
    n = len(node.args) - 1
    args_name, kwargs_name = owner.temp("args"), owner.temp("kwargs")
    body = ast.Call(func=func, args=values[:n] + [ast.Starred(value=_name(args_name), ctx=ast.Load())],
                    keywords=[ast.keyword(arg=kw.arg, value=v) for kw, v in zip(node.keywords, values[n:])]
                    + [ast.keyword(arg=None, value=_name(kwargs_name))])
    fname = owner.temp("partial")
    fdef = ast.FunctionDef(name=fname, args=ast.arguments(posonlyargs=[], args=[], vararg=ast.arg(arg=args_name),
                                                          kwonlyargs=[], kw_defaults=[], kwarg=ast.arg(arg=kwargs_name),
                                                          defaults=[]),
                           body=[owner.at(ast.Return(value=body))], decorator_list=[], returns=None, type_params=[])
    owner.local_functions[fname] = owner.at(fdef)
    owner.callee_of[fname] = functools.partial  # (errors name it so)
    return setup, fname


def function_arguments(owner, node: ast.Call) -> list[ast.stmt]:
    """Function values among ``node``'s arguments made nested functions,
    the arguments their names (the statements computing them returned)."""
    setup: list[ast.stmt] = []
    for holder, field in [(node, k) for k in range(len(node.args))] + [(kw, None) for kw in node.keywords]:
        value = holder.args[field] if field is not None else holder.value
        if isinstance(value, ast.Name) or not isinstance(value, (ast.Lambda, ast.Call)):
            continue
        made = function_value(owner, value)
        if made is None:
            continue
        setup += made[0]
        if field is not None:
            holder.args[field] = _name(made[1])
        else:
            holder.value = _name(made[1])
    return setup


# ------------------------------------------------- the user's functions
def inlinable(owner, callee) -> bool:
    """A Python function of the user's (no derivative rules for it, not
    from the standard library or an installed package)."""
    if not isinstance(callee, types.FunctionType) or rules.lookup_adjoint(callee) is not None \
            or rules.lookup_tangent(callee) is not None or rules.is_nondifferentiable(callee):
        return False
    package = (callee.__module__ or "").partition(".")[0]
    filename = callee.__code__.co_filename
    return package != "tangent" and package not in sys.stdlib_module_names \
        and "site-packages" not in filename and "dist-packages" not in filename


def class_method(owner, callee) -> tuple[type, types.FunctionType] | None:
    """(cls, function) when ``callee`` is a classmethod of the user's bound
    to its class (``Layer.create``, ``cls.create`` inside another), else None."""
    found = resolve.class_method(callee)
    return found if found is not None and inlinable(owner, found[1]) else None


def wants_inlining(owner, node: ast.Call, callee) -> bool:
    """Whether a call of the user's function ``callee`` must be inlined: it
    takes ``*args``/``**kwargs``, or is passed a nested function."""
    if not inlinable(owner, callee):
        return False
    code = callee.__code__
    if code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS):
        return True
    values = list(node.args) + [kw.value for kw in node.keywords]
    return any(isinstance(v, ast.Name) and v.id in owner.local_functions for v in values)


def module_function(owner, callee) -> str:
    """The name of a nested function standing for the user's function
    ``callee``: its source, its free names bound to what they denote in its
    module, its defaults to their values."""
    if callee in owner.inlined_callees:
        raise owner.error(None, f"{callee.__qualname__} calls itself with a nested function, a lambda or *args: "
                          "Tangent inlines such calls and cannot inline recursion",
                          "pass the values it needs as arguments instead of a function")
    parsed = parse_function(callee)
    fence.check(parsed)
    fdef = copy.deepcopy(parsed.tree)
    own = local_names(fdef) | {a.arg for a in ast.walk(fdef) if isinstance(a, ast.arg)}
    renames: dict[str, str] = {}
    for node in ast.walk(fdef):
        if not isinstance(node, ast.Name) or node.id in own or node.id in renames:
            continue
        value = parsed.namespace.get(node.id, getattr(builtins, node.id, UNRESOLVED))
        if value is UNRESOLVED or node.id not in owner.parsed.local_names and owner.parsed.resolve(node) is value:
            continue
        renames[node.id] = owner.global_name(node.id, value)
    for node in ast.walk(fdef):
        if isinstance(node, ast.Name) and node.id in renames:
            node.id = renames[node.id]
    params = inspect.signature(callee).parameters
    args = fdef.args
    positional = args.posonlyargs + args.args
    args.defaults = [_name(owner.global_name(a.arg, params[a.arg].default))
                     for a in positional[len(positional) - len(args.defaults):]]
    args.kw_defaults = [None if d is None else _name(owner.global_name(a.arg, params[a.arg].default))
                        for a, d in zip(args.kwonlyargs, args.kw_defaults)]
    fname = owner.temp(callee.__name__)
    owner.local_functions[fname] = fdef
    owner.callee_of[fname] = callee
    return fname


def function_defaults(owner, node: ast.Call, callee) -> None:
    """A call of the user's function leaving out a parameter whose default
    is a function (``nonlinearity=np.tanh``): pass the default explicitly,
    so that its derivative knows the function it calls."""
    if not inlinable(owner, callee) or any(isinstance(a, ast.Starred) for a in node.args):
        return
    try:
        bound = inspect.signature(callee).bind_partial(*node.args, **{kw.arg: kw.value for kw in node.keywords})
    except TypeError:
        return
    for name, param in inspect.signature(callee).parameters.items():
        default = param.default
        if name in bound.arguments or param.kind not in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY) \
                or default is param.empty or isinstance(default, type) or not callable(default):
            continue
        node.keywords.append(ast.keyword(arg=name, value=_name(owner.global_name(name, default))))
