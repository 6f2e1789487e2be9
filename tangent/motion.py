"""Split motion: the forward and the backward sweep of a reverse-mode
derivative as two functions.

Takes a user's function and the indices of the positional arguments to
differentiate; gives a ``SplitDerivative``: ``forward(*args)`` runs the
function once and returns ``(result, saved)``, ``backward(saved, seed)``
returns the vector-Jacobian product for that seed, and can be called any
number of times on one ``saved`` (each call works on its own copy of it, so
neither later backward calls nor the caller's later writes into its
arguments change what is saved). Calling the object itself runs both sweeps,
like a joint-motion derivative (Google Tangent's ``motion="split"``).

The pair is the one the engine generates for calls of user subroutines
(``transform.Session.split``): generic code, not specialised to argument
shapes. Assumes what the rest of the API assumes of the function (its source
is available, its constructs supported).
"""

from __future__ import annotations

import inspect
from typing import Callable, Sequence

import numpy as np

from .errors import TangentError, locate_runtime_error
from .ownership import input_ids, owned_gradients
from .runtime.adjoints import check_scalar_output
from .transform import Session

__all__ = ["SplitDerivative", "split_derivative", "with_aux", "zeros_like_tree"]


def _fresh(value):
    """A copy of the saved state: containers rebuilt and arrays copied,
    anything else (functions, modules, random states, numbers) shared."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return [_fresh(v) for v in value]
    if isinstance(value, tuple) and type(value) is tuple:
        return tuple(_fresh(v) for v in value)
    if isinstance(value, dict) and type(value) is dict:
        return {k: _fresh(v) for k, v in value.items()}
    return value


def zeros_like_tree(value):
    """A zero seed shaped like ``value``: containers of the same structure
    with float zeros (of the leaves' shapes) for numbers and arrays, and
    ``0.0`` for anything else (which carries no derivative).

    Example::

        zeros_like_tree({"h": np.ones(3), "n": 2})   # {"h": array([0., 0., 0.]), "n": 0.0}
    """
    if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
        return type(value)(zeros_like_tree(v) for v in value)
    if isinstance(value, dict) and type(value) is dict:
        return {k: zeros_like_tree(v) for k, v in value.items()}
    if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.inexact):
        return np.zeros_like(value)
    if isinstance(value, np.ndarray):
        return np.zeros(value.shape)
    return 0.0


class SplitDerivative:
    """The two sweeps of a reverse-mode derivative (see the module doc).

    Example::

        df = tangent.grad(f, motion="split")
        y, saved = df.forward(x)
        g1 = df.backward(saved)          # seed 1.0
        g2 = df.backward(saved, 2.0)     # another backward pass, same forward
        df(x)                            # both sweeps, like grad(f)(x)
    """

    def __init__(self, func: Callable, wrt: tuple[int, ...], *, optimized: bool = True,
                 preserve_result: bool = False, check_scalar: bool = False, check_finite: bool = False):
        self.func, self.wrt = func, wrt
        self.preserve_result, self.check_scalar = preserve_result, check_scalar
        params = list(inspect.signature(func).parameters.values())
        positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        try:
            active = tuple(positional[i] for i in wrt)
        except IndexError:
            raise TangentError(f"wrt={wrt} but {func.__name__} has {len(positional)} positional parameters") from None
        self._signature = inspect.signature(func)
        session = Session(optimized=optimized, check_finite=check_finite)
        fwd, bwd = session.split(func, active, entry=True)
        self._fwd = session.build(fwd, f"d{func.__name__}")
        self._bwd = self._fwd.__globals__[bwd]
        self.tangent_source = self._fwd.tangent_source

    def _arguments(self, args, kwargs) -> tuple:
        bound = self._signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return tuple(bound.args)

    def forward(self, *args, **kwargs) -> tuple:
        """Run ``func`` once: ``(result, saved)``, ``saved`` for ``backward``."""
        args = self._arguments(args, kwargs)
        try:
            result, tape = self._fwd(*args)
        except Exception as error:
            locate_runtime_error(error)  # names the user's line the forward sweep was at
            raise
        if self.check_scalar:
            check_scalar_output(result)
        likes = [args[i] for i in self.wrt]
        return result, _Saved(_fresh(tape), likes, input_ids(args))

    def backward(self, saved: "_Saved", seed=1.0):
        """The vector-Jacobian product for ``seed`` (shaped like the result),
        one gradient per index in ``wrt`` (a tuple for several)."""
        if not isinstance(saved, _Saved):
            raise TangentError("backward takes the saved state returned by forward")
        try:
            grads = self._bwd(_fresh(saved.tape), seed)
        except Exception as error:
            locate_runtime_error(error)
            raise
        return owned_gradients(grads, saved.likes, saved.held | input_ids([seed]))

    def __call__(self, *args, init_grad=None, **kwargs):
        """Both sweeps: the gradient (and the result, with preserve_result),
        the seed passed as a trailing argument or as ``init_grad=``."""
        n = len(self._signature.parameters)
        if init_grad is None and len(args) == n + 1:
            *args, init_grad = args
        result, saved = self.forward(*args, **kwargs)
        grads = self.backward(saved, 1.0 if init_grad is None else init_grad)
        return (grads, result) if self.preserve_result else grads


class _Saved:
    """What one forward sweep leaves for the backward sweeps."""

    __slots__ = ("tape", "likes", "held")

    def __init__(self, tape, likes, held):
        self.tape, self.likes, self.held = tape, likes, held


def split_derivative(func: Callable, wrt: Sequence[int], **options) -> SplitDerivative:
    """``SplitDerivative(func, wrt, **options)``: the entry point api uses.

    Example::

        df = split_derivative(f, (0,), check_scalar=True)
    """
    return SplitDerivative(func, tuple(wrt), **options)


def with_aux(split: SplitDerivative, *, check_scalar: bool, value: bool) -> Callable:
    """The gradient of the loss of a function returning ``(loss, aux)``,
    from one forward and one backward sweep of ``split`` (aux seeded with
    zeros: it carries no derivative). Returns ``(gradient, aux)``, or with
    ``value=True`` ``((loss, aux), gradient)`` (JAX's conventions).

    Example::

        df = with_aux(split_derivative(f, (0,)), check_scalar=True, value=False)
        g, aux = df(x)
    """
    name = split.func.__name__

    def derivative(*args, **kwargs):
        out, saved = split.forward(*args, **kwargs)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise TangentError(f"has_aux=True needs {name} to return a pair (loss, aux), but it returned "
                               f"{type(out).__name__}")
        loss, aux = out
        if check_scalar:
            check_scalar_output(loss)
        gradient = split.backward(saved, (1.0, zeros_like_tree(aux)))
        return ((loss, aux), gradient) if value else (gradient, aux)

    derivative.tangent_source = split.tangent_source
    derivative.__name__ = f"d{name}"
    return derivative


def _scaled(gradient, seed):
    """``seed * gradient`` leaf by leaf (a gradient is a pytree)."""
    if isinstance(gradient, dict):
        return {k: _scaled(v, seed) for k, v in gradient.items()}
    if isinstance(gradient, (list, tuple)):
        return type(gradient)(_scaled(v, seed) for v in gradient)
    return seed * gradient


def broadcasting_seed(joint: Callable, make_split: Callable[[], SplitDerivative], n: int,
                      preserve_result: bool, several: bool) -> Callable:
    """Google Tangent's ``check_dims=False`` for reverse mode: a seed array for
    a scalar result is allowed, and the derivative is then ``seed *
    gradient`` (as Google's generated code broadcasts it; its HVP tests call
    reverse over forward so). ``joint`` (the derivative, ``n`` positional
    parameters before the seed) runs whenever the seed is a number or the
    result is not a scalar; for an array seed one split forward sweep tells
    which (``make_split`` builds the pair, once), so f still runs once.

    Example::

        df = broadcasting_seed(joint, lambda: split_derivative(f, (0,)), 1, False, False)
        df(x, np.ones(3))     # f(x) scalar: np.ones(3) * gradient
    """
    splits: list[SplitDerivative] = []

    def derivative(*args, **kwargs):
        seed = args[n] if len(args) > n else None
        if kwargs or not (isinstance(seed, np.ndarray) and seed.ndim > 0):
            return joint(*args, **kwargs)
        if not splits:
            splits.append(make_split())
        result, saved = splits[0].forward(*args[:n])
        if np.ndim(result) == 0 and isinstance(result, (float, int, np.number, np.ndarray)):
            gradient = splits[0].backward(saved, 1.0)
            gradient = tuple(_scaled(g, seed) for g in gradient) if several else _scaled(gradient, seed)
        else:
            gradient = splits[0].backward(saved, seed)
        return (gradient, result) if preserve_result else gradient

    for attribute in ("tangent_source", "tangent_generic", "tangent_specialized_for", "tangent_filename",
                      "__signature__"):
        if hasattr(joint, attribute):
            setattr(derivative, attribute, getattr(joint, attribute))
    derivative.__wrapped__ = joint
    derivative.__name__ = joint.__name__
    return derivative


def primal_and_tangents(func: Callable, args: tuple, kwargs: dict, tangents: int,
                        signature: inspect.Signature | None = None, what: str = "the derivative") -> tuple:
    """The positional values a forward-mode derivative of ``func`` takes: the
    last ``tangents`` positional ``args`` are tangents, the rest (with
    ``kwargs``) bind to ``func``'s parameters as a call of ``func`` would,
    and a parameter left out takes its default: ``(positional values,
    keyword-only values)``. Example::

        def f(x, scale=2.0): ...
        primal_and_tangents(f, (x, v), {}, 1)   # ((x, 2.0, v), {})
    """
    signature = signature or inspect.signature(func)
    names = [p.name for p in signature.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if not kwargs and len(args) == len(names) + tangents:
        return args, {}
    usage = (f"{what} of {getattr(func, '__name__', 'f')} takes {len(names)} arguments and {tangents} "
             f"{'vectors' if what == 'hvp' else 'tangents'} (the last {tangents} positional values), "
             f"got {len(args)} values")
    split = len(args) - tangents
    try:
        if split < 0:
            raise TypeError("too few values")
        bound = signature.bind(*args[:split], **kwargs)
    except TypeError as error:
        raise TangentError(f"{usage}: {error}") from None
    bound.apply_defaults()
    keywords = {p.name: bound.arguments[p.name] for p in signature.parameters.values() if p.kind is p.KEYWORD_ONLY}
    return tuple(bound.arguments[n] for n in names) + tuple(args[split:]), keywords


def filling_defaults(derivative: Callable, func: Callable, tangents: int) -> Callable:
    """A forward-mode derivative of ``func`` (its arguments, then ``tangents``
    tangents) that may be called as ``func`` is, leaving out parameters that
    have defaults or naming them: ``jvp(f)(x, v)`` for ``def f(x,
    scale=2.0)``. ``derivative`` unchanged when ``func`` has no default.

    Example::

        df = filling_defaults(jvp_of_f, f, 1)
        df(x, v)               # scale takes its default 2.0
        df(x, v, scale=3.0)
    """
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return derivative
    if not any(p.default is not p.empty for p in signature.parameters.values()
               if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)):
        return derivative

    def filled(*args, **kwargs):
        args, keywords = primal_and_tangents(func, args, kwargs, tangents, signature)
        return derivative(*args, **keywords)

    for attribute in ("tangent_source", "tangent_generic", "tangent_specialized_for", "tangent_filename",
                      "tangent_generators"):
        if hasattr(derivative, attribute):
            setattr(filled, attribute, getattr(derivative, attribute))
    filled.__wrapped__ = derivative
    filled.__name__ = getattr(derivative, "__name__", "df")
    return filled
