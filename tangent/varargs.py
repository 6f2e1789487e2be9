"""Derivatives of functions that take ``*args``: one per number of positional arguments.

``tangent.grad(f)`` of ``def f(x, *args)`` cannot know, from the source,
how many arguments a call passes, nor tell a trailing seed from one more
item of ``*args``. So for such a function every positional argument of a
call of the derivative is an argument of ``f`` (``grad``/``vjp`` take the
seed as the keyword ``dresult=``), except the tangents of forward mode and
``hvp`` (the last ``len(wrt)`` positional values, as for any function).
At a call with ``n`` items for ``*args`` the derivative of ``f`` with ``n``
positional parameters in place of ``*args`` is generated (once per ``n``,
kept by the derivative): ``fixed_arity(f, n)`` is a copy of ``f`` that
frontend.py reads as ``def f(x, args_0, ..., args_n-1)`` whose body begins
``args = (args_0, ..., args_n-1)``, so that ``wrt`` may name items of
``*args`` too. A derivative of such a function can itself be differentiated
(``grad(grad(f))``, ``hvp``): ``varargs_for_count(n)`` gives the generated
derivative for ``n`` items.
"""

from __future__ import annotations

import inspect
import types
import weakref
from typing import Callable

from .errors import TangentError

_made: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def takes_varargs(func) -> bool:
    """Whether ``func`` is a Python function with ``*args`` (or a derivative
    of one made here)."""
    if hasattr(func, "varargs_for_count"):
        return True
    return isinstance(func, types.FunctionType) and bool(func.__code__.co_flags & inspect.CO_VARARGS) \
        and not hasattr(func, "tangent_source") and not hasattr(func, "varargs_fixed")


def _positional(func) -> int:
    if hasattr(func, "varargs_base"):
        return func.varargs_base
    params = inspect.signature(func).parameters.values()
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def fixed_arity(func: types.FunctionType, n: int) -> types.FunctionType:
    """A copy of ``func`` read (frontend.py) as taking ``n`` positional
    parameters in place of its ``*args``. Example::

        def f(x, *args): return x * sum(args)
        g = fixed_arity(f, 2)     # read as def f(x, args_0, args_1)
        inspect.signature(g)      # (x, args_0, args_1)
    """
    clone = types.FunctionType(func.__code__, func.__globals__, func.__name__, func.__defaults__, func.__closure__)
    clone.__kwdefaults__ = func.__kwdefaults__
    clone.__qualname__, clone.__module__, clone.__doc__ = func.__qualname__, func.__module__, func.__doc__
    names = fixed_names(func.__code__, n)
    params = []
    for p in inspect.signature(func).parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            params += [inspect.Parameter(name, p.POSITIONAL_OR_KEYWORD) for name in names]
        elif p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and n:
            params.append(p.replace(default=p.empty))  # (filled by every call that reaches *args)
        else:
            params.append(p)
    clone.__signature__ = inspect.Signature(params)
    clone.varargs_fixed = n
    return clone


def fixed_names(code: types.CodeType, n: int) -> list[str]:
    """The names of the ``n`` parameters standing for ``*args``: ``args_0``,
    ... (``args`` the name the function gives it), apart from its other names."""
    vararg = code.co_varnames[code.co_argcount + code.co_kwonlyargcount]
    taken = set(code.co_varnames) | set(code.co_names)
    names = []
    for i in range(n):
        name = f"{vararg}_{i}"
        while name in taken:
            name += "_"
        names.append(name)
    return names


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def per_count(func: Callable, make: Callable, *, tangents: int, seeded: bool, options: tuple,
              what: str) -> Callable:
    """A derivative of the ``*args`` function ``func`` that, at a call,
    uses ``make(fixed)`` for the number of positional arguments it is given
    (the last ``tangents`` of them are tangents); with ``seeded`` (reverse
    mode) it takes the seed as the keyword ``dresult=``. Cached per ``func``
    and ``options``. Example::

        df = per_count(f, lambda g: tangent.grad(g), tangents=0, seeded=True, options=(), what="the gradient")
        df(x, a, b, dresult=1.0)
    """
    table = _made.setdefault(func, {})
    if options in table:
        return table[options]
    if getattr(func, "varargs_tangents", 0):
        raise TangentError(f"differentiating a forward-mode derivative of {func.__name__}, which takes *args, "
                           "is not supported yet: differentiate f in forward mode last (tangent.hvp, jvp of grad)")
    base = _positional(func)
    inner_seeds = getattr(func, "varargs_seeds", 0)  # the seeds of the derivative differentiated (1.0 each)
    reference = weakref.ref(func)
    derivatives: dict[int, Callable] = {}
    name = getattr(func, "__name__", "f")

    def for_count(n: int) -> Callable:
        found = derivatives.get(n)
        if found is None:
            source = reference()
            if source is None:
                raise TangentError(f"the function {name} this derivative was made for no longer exists")
            fixed = source.varargs_for_count(n) if hasattr(source, "varargs_for_count") else fixed_arity(source, n)
            found = derivatives[n] = make(fixed)
            derivative.tangent_source = getattr(found, "tangent_source", derivative.tangent_source)
        return found

    def derivative(*args, **kwargs):
        n = len(args) - base - tangents
        if n < 0:
            raise TangentError(f"{what} of {name} takes at least {_count(base, 'argument')}"
                               + (f" and {_count(tangents, 'tangent')}" if tangents else "")
                               + f", got {_count(len(args), 'value')}")
        seed = (kwargs.pop("dresult"),) if seeded and "dresult" in kwargs else ()
        split = len(args) - tangents
        args = args[:split] + (1.0,) * inner_seeds + seed + args[split:]
        return for_count(n)(*args, **kwargs)

    derivative.__name__ = derivative.__qualname__ = f"d{name}"
    derivative.__doc__ = (f"{what[0].upper()}{what[1:]} of {name}, which takes *args: generated at a call for the "
                          "number of positional arguments given (tangent.varargs).")
    derivative.varargs_for_count = for_count
    derivative.varargs_base = base
    derivative.varargs_seeds = inner_seeds + seeded
    derivative.varargs_tangents = tangents
    derivative.tangent_source = (f"# {what} of {name} (*args): generated at the first call for each number of "
                                 "positional arguments; tangent.source of it after a call shows the latest\n")
    derivative.tangent_specialized_for = lambda *args, **kwargs: for_count(len(args) - base - tangents) \
        .tangent_specialized_for(*args, **kwargs)
    table[options] = derivative
    return derivative
