"""``super()`` calls in methods, resolved when differentiating.

Normalization (called from desugar.py): ``super().m(args)`` (or
``super(Cls, self).m(args)``) in a method differentiated for a known class
of ``self`` becomes a call of the ``m`` the MRO gives, with ``self`` first
(a staticmethod without it), carrying its callee (``ir.annotate(callee=)``)
so that A-normal form binds it by value. Refused with a message when
``self``'s class is unknown (``UnknownClassError``: the derivative is then
made at the call) or when the method was inlined into the function (an
object built there).
"""

from __future__ import annotations

import ast
import builtins
import types

from . import ir
from .errors import UnknownClassError


def super_call(owner, node: ast.Call) -> ast.Call | None:
    """``super().m(args)`` (or ``super(Cls, self).m(args)``) in a method:
    a call of the ``m`` found after the defining class in the MRO of
    ``self``'s class (known: the method is differentiated for it), with
    ``self`` as its first argument (not for a staticmethod); None for other
    calls. Refused when ``self``'s class is unknown."""
    func = node.func
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call)
            and isinstance(func.value.func, ast.Name) and func.value.func.id == "super"
            and owner.parsed.resolve(func.value.func) is builtins.super):
        return None
    params = owner.parsed.tree.args.posonlyargs + owner.parsed.tree.args.args
    given = func.value.args
    if given and (len(given) != 2 or not isinstance(given[1], ast.Name)):
        raise owner.error(node, "super() with arguments other than (Class, self)", "write super().method(...)")
    defining = owner.parsed.resolve(given[0]) if given else owner.parsed.namespace.get("__class__")
    if defining is None:  # (the super() of an __init__ or method inlined here: an object built in the function)
        raise owner.error(node, f"super().{func.attr}() in a method of an object created in the function is not "
                          "supported", "create the object outside the differentiated function and pass it in")
    receiver = given[1].id if given else (params[0].arg if params else None)
    cls = owner.parsed.types.get(receiver) if receiver is not None else None
    if not isinstance(defining, type) or cls is None or defining not in cls.__mro__:
        raise owner.origin.error(UnknownClassError, node, f"cannot resolve super().{func.attr}(): the class of "
                                 f"{receiver or 'self'!r} is not known when differentiating",
                                 "differentiate the method through an object of its class (model.forward(x)), or "
                                 "annotate the parameter with its class")
    mro = cls.__mro__
    for klass in mro[mro.index(defining) + 1:]:
        if func.attr in vars(klass):
            found = vars(klass)[func.attr]
            break
    else:
        raise owner.error(node, f"super().{func.attr}() names no method of the base classes of {defining.__name__}")
    if isinstance(found, staticmethod):
        target, args = found.__func__, list(node.args)
    elif isinstance(found, types.FunctionType):
        target, args = found, [ast.Name(id=receiver, ctx=ast.Load())] + list(node.args)
    else:
        raise owner.error(node, f"super().{func.attr}() is a {type(found).__name__}, which Tangent cannot "
                          "differentiate through", "call a plain method")
    call = ast.Call(func=ast.Name(id=f"{klass.__name__}_{func.attr}".strip("_"), ctx=ast.Load()), args=args,
                    keywords=node.keywords)
    ir.annotate(call, callee=target)  # (anf_expressions.py binds it in the generated module)
    return ast.copy_location(call, node)
