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

``**kwargs`` likewise: a call giving keywords ``s=`` and ``p=`` that name no
parameter of ``f`` uses the derivative of ``fixed_arity(f, n, ("p", "s"))``,
read as ``def f(x, *, opts_p, opts_s)`` beginning ``opts = {"p": opts_p,
"s": opts_s}`` (one derivative per set of names; the values carry no
derivative, ``wrt`` names positional parameters only). The derivative is
called with the user's keywords, renamed here.
"""

from __future__ import annotations

import inspect
import types
import weakref
from typing import Callable

from .errors import TangentError

_made: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def takes_varargs(func) -> bool:
    """Whether ``func`` is a Python function with ``*args`` or ``**kwargs``
    (or a derivative of one made here)."""
    if hasattr(func, "varargs_for_count"):
        return True
    return isinstance(func, types.FunctionType) and bool(func.__code__.co_flags & _VARIADIC) \
        and not hasattr(func, "tangent_source") and not hasattr(func, "varargs_fixed")


_VARIADIC = inspect.CO_VARARGS | inspect.CO_VARKEYWORDS


def _has_star(func) -> bool:
    if hasattr(func, "varargs_star"):
        return func.varargs_star
    return bool(func.__code__.co_flags & inspect.CO_VARARGS)


def _named(func) -> frozenset:
    """The parameter names of ``func`` (not ``*args``, ``**kwargs``)."""
    if hasattr(func, "varargs_named"):
        return func.varargs_named
    return frozenset(p.name for p in inspect.signature(func).parameters.values()
                     if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))


def _positional(func) -> int:
    if hasattr(func, "varargs_base"):
        return func.varargs_base
    params = inspect.signature(func).parameters.values()
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def fixed_arity(func: types.FunctionType, n: int, keywords: tuple[str, ...] = ()) -> types.FunctionType:
    """A copy of ``func`` read (frontend.py) as taking ``n`` positional
    parameters in place of its ``*args`` and one keyword-only parameter per
    name in ``keywords`` in place of its ``**kwargs``. Example::

        def f(x, *args, **opts): return x * sum(args) * opts["s"]
        g = fixed_arity(f, 2, ("s",))   # read as def f(x, args_0, args_1, *, opts_s)
        inspect.signature(g)            # (x, args_0, args_1, *, opts_s)
    """
    clone = types.FunctionType(func.__code__, func.__globals__, func.__name__, func.__defaults__, func.__closure__)
    clone.__kwdefaults__ = func.__kwdefaults__
    clone.__qualname__, clone.__module__, clone.__doc__ = func.__qualname__, func.__module__, func.__doc__
    star = _has_star(func)
    names = fixed_names(func.__code__, n) if star else []
    named = keyword_names(func, keywords)
    params = []
    for p in inspect.signature(func).parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            params += [inspect.Parameter(name, p.POSITIONAL_OR_KEYWORD) for name in names]
        elif p.kind is p.VAR_KEYWORD:
            params += [inspect.Parameter(name, p.KEYWORD_ONLY) for name in named.values()]
        elif p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and n:
            params.append(p.replace(default=p.empty))  # (filled by every call that reaches *args)
        else:
            params.append(p)
    clone.__signature__ = inspect.Signature(params)
    clone.varargs_fixed = n if star else None
    clone.varargs_keywords = named if func.__code__.co_flags & inspect.CO_VARKEYWORDS else None
    return clone


def keyword_names(func, keywords: tuple[str, ...]) -> dict[str, str]:
    """The keyword-only parameter standing for each of ``keywords`` given to
    the ``**kwargs`` of ``func``: ``opts_scale`` for ``scale`` (``opts`` the
    name the function gives it), apart from its other names."""
    if hasattr(func, "varargs_keyword_names"):
        return func.varargs_keyword_names(keywords)
    code = func.__code__
    if not keywords or not code.co_flags & inspect.CO_VARKEYWORDS:
        return {}
    kwarg = code.co_varnames[code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & inspect.CO_VARARGS)]
    taken = set(code.co_varnames) | set(code.co_names)
    found = {}
    for keyword in keywords:
        if not keyword.isidentifier():
            raise TangentError(f"{func.__name__} was given the keyword {keyword!r} for its **{kwarg}, which is not "
                               "a Python name: pass a dict argument instead")
        name = f"{kwarg}_{keyword}"
        while name in taken:
            name += "_"
        taken.add(name)
        found[keyword] = name
    return found


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


def _describe(derivative: Callable, name: str, what: str, base: int, star: bool) -> None:
    """The name, docstring and placeholder source of a per-call derivative."""
    derivative.__name__ = derivative.__qualname__ = f"d{name}"
    derivative.__doc__ = (f"{what[0].upper()}{what[1:]} of {name}, which takes *args or **kwargs: generated at a "
                          "call for the number of positional arguments and the keywords given (tangent.varargs).")
    derivative.varargs_base = base
    derivative.varargs_star = star
    derivative.tangent_source = (f"# {what} of {name} (*args, **kwargs): generated at the first call for each "
                                 "number of positional arguments and set of keywords; tangent.source of it after "
                                 "a call shows the latest\n")


def _refuse_over_forward(func) -> None:
    if getattr(func, "varargs_tangents", 0):
        raise TangentError(f"differentiating a forward-mode derivative of {func.__name__}, which takes *args or "
                           "**kwargs, is not supported yet: differentiate f in forward mode last (tangent.hvp, "
                           "jvp of grad)")


def _for_kwargs(kwargs: dict, named: frozenset, alive: Callable | None, what: str) -> tuple[tuple, dict]:
    """The keywords of a call that go to ``**kwargs`` (those naming no
    parameter) and the call's keywords renamed for the fixed function
    (``keyword_names``); refused when ``alive`` (giving the function) is None."""
    keywords = tuple(sorted(k for k in kwargs if k not in named))
    if not keywords:
        return keywords, kwargs
    if alive is None:
        raise TangentError(f"{what} given {', '.join(keywords)} for its **kwargs is not supported yet: "
                           "differentiate a function of yours that makes the call with them")
    renamed = keyword_names(alive(), keywords)
    return keywords, {renamed.get(k, k): v for k, v in kwargs.items()}


def per_count(func: Callable, make: Callable, *, tangents: int, seeded: bool, options: tuple,
              what: str, keywords_given: bool = True) -> Callable:
    """A derivative of the ``*args`` function ``func`` that, at a call,
    uses ``make(fixed)`` for the number of positional arguments it is given
    (the last ``tangents`` of them are tangents); with ``seeded`` (reverse
    mode) it takes the seed as the keyword ``dresult=``. Keywords given for
    ``**kwargs`` make one derivative per set of names (refused unless
    ``keywords_given``). Cached per ``func`` and ``options``. Example::

        df = per_count(f, lambda g: tangent.grad(g), tangents=0, seeded=True, options=(), what="the gradient")
        df(x, a, b, dresult=1.0)
    """
    # (the table holds derivatives weakly: each derivative holds func, which keys the table)
    table = _made.setdefault(func, weakref.WeakValueDictionary())
    found = table.get(options)
    if found is not None:
        return found
    _refuse_over_forward(func)
    base = _positional(func)
    star, named = _has_star(func), _named(func)
    inner_seeds = getattr(func, "varargs_seeds", 0)  # the seeds of the derivative differentiated (1.0 each)
    derivatives: dict[tuple, Callable] = {}
    name = getattr(func, "__name__", "f")

    def _alive():
        return func  # (held: a derivative of a lambda nothing else holds still works)

    def for_count(n: int, keywords: tuple[str, ...] = ()) -> Callable:
        found = derivatives.get((n, keywords))
        if found is None:
            source = _alive()
            fixed = getattr(source, "varargs_for_count", lambda *key: fixed_arity(source, *key))(n, keywords)
            found = derivatives[n, keywords] = make(fixed)
            derivative.tangent_source = getattr(found, "tangent_source", derivative.tangent_source)
        return found

    def call_for(args: tuple, kwargs: dict) -> tuple:
        """(the derivative for this call, its positional and keyword values)"""
        seed = (kwargs.pop("dresult"),) if seeded and "dresult" in kwargs else ()
        n = len(args) - base - tangents if star else 0
        if n < 0:
            raise TangentError(f"{what} of {name} takes at least {_count(base, 'argument')}"
                               + (f" and {_count(tangents, 'tangent')}" if tangents else "")
                               + f", got {_count(len(args), 'value')}")
        if star or seed or tangents:
            split = len(args) - tangents
            args = args[:split] + (1.0,) * inner_seeds + seed + args[split:]
        keywords, kwargs = _for_kwargs(kwargs, named, _alive if keywords_given else None, f"{what} of {name}")
        return for_count(n, keywords), args, kwargs

    def derivative(*args, **kwargs):
        found, args, kwargs = call_for(args, kwargs)
        return found(*args, **kwargs)

    def specialized_for(*args, **kwargs):
        found, args, kwargs = call_for(args, kwargs)
        return found.tangent_specialized_for(*args, **kwargs)

    _describe(derivative, name, what, base, star)
    derivative.varargs_for_count = for_count
    derivative.varargs_seeds = inner_seeds + seeded
    derivative.varargs_tangents = tangents
    derivative.varargs_named = named | {"dresult"} if seeded else named
    derivative.varargs_keyword_names = lambda keywords: keyword_names(_alive(), keywords)
    derivative.tangent_specialized_for = specialized_for
    table[options] = derivative
    return derivative
