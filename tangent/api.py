"""Public API: grad, vjp, jvp, autodiff, hvp, jacobian, hessian and source.

Takes a user's Python function (its source is read) and the indices of the
arguments to differentiate; gives a Python function computing the
derivative, generated once per function and options (``cache``), run with
code specialised to the arguments' shapes (``specialize``) and returning
values the caller owns (``ownership``). Assumes nothing of the function but
that its source is available and the constructs it uses are supported (a
``TangentError`` says otherwise, naming the line).
"""

from __future__ import annotations

import ast
import inspect
import linecache
import re
import sys
from typing import Callable, Sequence

import numpy as np

from . import rules
from .cache import cached, calling_primitive, clear_cache, store, weak
from .errors import NonFiniteGradientError, TangentError
from .frontend import recording, recording_now, unchanged
from .jacobians import hessian_of, jacobian_of
from .motion import broadcasting_seed, split_derivative, with_aux
from .ownership import input_ids, owned_gradients, returning_owned
from .runtime import checkpointing as _checkpointing
from .runtime.arguments import private_copy, write_back_arguments
from .runtime.checkpointing import parse_memory
from .specialize import Specializations, specializing
from .transform import Session

_GENERATORS = (np.random.RandomState, np.random.Generator)

__all__ = ["autodiff", "clear_cache", "grad", "hessian", "hvp", "jacobian", "jvp", "source", "value_and_grad", "vjp"]


def _arithmetic_errors_as_nonfinite(derivative: Callable) -> Callable:
    """With check_finite, Python float arithmetic that fails (1.0 / 0.0,
    math.log(0.0)) is reported like a NaN or inf: naming the user's line whose
    backward step failed, read from the comment above the generated line."""

    def checked(*args, **kwargs):
        try:
            return derivative(*args, **kwargs)
        except (ArithmeticError, ValueError) as error:
            frame = error.__traceback__
            where = None
            while frame is not None:
                filename = frame.tb_frame.f_code.co_filename
                if filename.startswith("<tangent "):
                    lines = linecache.getlines(filename)
                    for line in reversed(lines[: frame.tb_lineno]):
                        found = re.match(r"\s*# (\S+:\d+: .*)", line)
                        if found:
                            where = found.group(1)
                            break
                frame = frame.tb_next
            if where is None:
                raise
            raise NonFiniteGradientError(
                f"the backward step of {where}\n  failed with {type(error).__name__}: {error} "
                "(a non-finite derivative); look for a division by zero, log or sqrt at 0 at that line"
            ) from error

    for attribute in ("tangent_source", "tangent_generic", "tangent_specialized_for", "__signature__"):
        if hasattr(derivative, attribute):
            setattr(checked, attribute, getattr(derivative, attribute))
    checked.__wrapped__ = derivative
    checked.__name__ = derivative.__name__
    return checked


def _normalize_wrt(wrt) -> tuple[int, ...]:
    if isinstance(wrt, int):
        return (wrt,)
    wrt = tuple(wrt)
    if not wrt or not all(isinstance(i, int) for i in wrt):
        raise TangentError(f"wrt must be an argument index or a tuple of indices, got {wrt!r}")
    return wrt


def autodiff(func: Callable, wrt: int | Sequence[int] = (0,), mode: str = "reverse", *,
             optimized: bool = True, motion: str = "joint", preserve_result: bool = False,
             check_dims: bool | None = None, verbose: int = 0, check_scalar: bool = False,
             check_finite: bool = False, memory_limit: int | str | None = None) -> Callable:
    """Differentiate ``func`` by source transformation.

    In reverse mode the derivative takes ``func``'s arguments followed by the
    seed (the adjoint of the output, default 1.0) and returns the
    vector-Jacobian product for the arguments in ``wrt``; in forward mode it
    takes the arguments followed by one tangent per index in ``wrt`` and
    returns the Jacobian-vector product. With ``preserve_result=True`` it
    returns ``(derivative, result)``, as Google Tangent does.
    ``motion="split"`` (reverse mode) gives a ``SplitDerivative`` whose
    ``forward(*args)`` returns ``(result, saved)`` and ``backward(saved,
    seed)`` the product, for several backward passes from one forward pass.
    ``check_scalar=True`` asks for a scalar output, as ``grad`` does. Seeds
    and tangents broadcast like NumPy operands (a scalar seed 1.0 for a
    vector output seeds every element). ``check_dims`` is for code written
    for Google Tangent: ``check_dims=False`` in reverse mode also takes a
    seed array for a scalar result and gives ``seed * gradient``, as
    Google's HVP tests use it (``autodiff(autodiff(f, mode="forward"),
    mode="reverse", check_dims=False)(x, 1, v)``); ``True`` checks nothing
    more than the default. Example::

        def f(x):
            return np.sin(x) * x
        df = tangent.autodiff(f, wrt=0, mode="reverse")
        df(np.ones(3), np.ones(3))
        # Hessian-vector product of a scalar g, forward over reverse:
        hvp = tangent.autodiff(tangent.autodiff(g, mode="reverse"), mode="forward")
        hvp(x, 1.0, v)
    """
    wrt = _normalize_wrt(wrt)
    if mode not in ("reverse", "forward"):
        raise TangentError(f"mode={mode!r} is not supported; use mode='reverse' or mode='forward'")
    if motion not in ("joint", "split"):
        raise TangentError(f"motion={motion!r} is not supported; use motion='joint' or motion='split'")
    if motion == "split" and mode != "reverse":
        raise TangentError("motion='split' is for reverse mode; forward mode has one sweep")
    func = calling_primitive(func)
    memory_limit = parse_memory(memory_limit)  # (bytes; see tangent/checkpointing.py)
    if memory_limit is not None and (mode != "reverse" or motion != "joint"):
        raise TangentError("memory_limit is for reverse mode with motion='joint' (tangent.grad, tangent.vjp)")
    options = (wrt, mode, optimized, preserve_result, check_scalar, check_finite, motion, memory_limit)
    derivative = cached(func, options)
    if derivative is None:
        with rules.transform_lock:
            derivative = cached(func, options)
            if derivative is None:
                version = rules.version()
                with recording() as deps:
                    if motion == "split":
                        derivative = split_derivative(func, wrt, optimized=optimized, preserve_result=preserve_result,
                                                      check_scalar=check_scalar, check_finite=check_finite)
                    else:
                        derivative = _transform(func, wrt, mode, optimized, preserve_result, check_scalar,
                                                check_finite, memory_limit)
                store(func, options, (derivative, tuple(deps.values()), version))
                derivative.tangent_generators = _generators_read(deps.values())
    if verbose:
        print(derivative.tangent_source)
    if check_dims is False and mode == "reverse" and motion == "joint" and not check_scalar:
        def make_split():
            return autodiff(func, wrt, "reverse", optimized=optimized, motion="split", check_finite=check_finite)

        derivative = broadcasting_seed(derivative, make_split, _positional_count(func), preserve_result, len(wrt) > 1)
    return derivative


def _transform(func, wrt, mode, optimized, preserve_result, check_scalar, check_finite, memory_limit=None) -> Callable:
    """Generate the derivative of ``func`` (not cached), wrapped as the API
    returns it: specialised to argument shapes (optimized reverse mode),
    with arithmetic errors reported as non-finite (check_finite), returning
    values the caller owns."""
    session = Session(optimized=optimized, check_finite=check_finite)
    session.memory_limit = memory_limit
    if mode == "reverse":
        entry = session.reverse(func, wrt, preserve_result=preserve_result, check_scalar=check_scalar)
    else:
        entry = session.forward(func, wrt, preserve_result=preserve_result)
    derivative = generic = session.build(entry, f"d{getattr(func, '__name__', 'f')}")
    if mode == "reverse" and optimized:
        func = weak(func)  # the cache holds the derivative on func: it must not hold func
        deps = tuple(recording_now())

        def specialize(args):
            # the same snapshot as the generic code, or none (the generic code then runs)
            if func() is None or not unchanged(deps):
                raise TangentError("the function or what it reads changed since it was differentiated")
            special = Session(optimized=True, check_finite=check_finite)
            special.memory_limit = memory_limit
            name = special.reverse(func(), wrt, preserve_result=preserve_result, check_scalar=check_scalar,
                                   example_args=args)
            return special.build(name, f"d{getattr(func(), '__name__', 'f')}")

        derivative = specializing(derivative, specialize)
    if check_finite:
        derivative = _arithmetic_errors_as_nonfinite(derivative)
    return returning_owned(derivative, generic, mode, wrt, preserve_result)


def grad(func: Callable, wrt: int | Sequence[int] = (0,), *, optimized: bool = True,
         preserve_result: bool = False, check_dims: bool = True, motion: str = "joint",
         has_aux: bool = False, verbose: int = 0, check_finite: bool = False,
         memory_limit: int | str | None = None) -> Callable:
    """The gradient of a scalar-valued function, as generated Python source.

    ``grad(f, wrt)(*args)`` returns the gradient with respect to the
    positional arguments listed in ``wrt`` (one value for one index, a tuple
    otherwise), each shaped like its argument. An optional trailing argument
    is the output seed (default 1.0). ``check_dims=False`` allows a
    non-scalar output: the seed then gives the vector-Jacobian product (as
    ``vjp``), and ``grad(grad(f, check_dims=False), check_dims=False)`` is
    reverse over reverse. ``preserve_result=True`` returns ``(gradient,
    result)``; ``motion="split"`` see ``autodiff``. With ``has_aux=True``
    ``f`` returns ``(loss, aux)`` and the derivative ``(gradient, aux)``
    (JAX's convention; aux carries no derivative). With
    ``check_finite=True`` the derivative raises NonFiniteGradientError,
    naming the user's line, as soon as an adjoint becomes NaN or infinite.
    ``memory_limit`` (bytes, or a string such as ``"500 MB"``) checkpoints
    the ``range`` loops of ``f`` (docs/checkpointing.md): at the first call
    the number of snapshots of each loop's state is chosen from the sizes
    seen to keep the gradient within the limit (a comment in the generated
    source says what was chosen). Example::

        def f(x):
            return np.sum(np.tanh(x) ** 2)
        df = tangent.grad(f, verbose=1)   # prints the derivative's source
        df(np.arange(3.0))
    """
    if has_aux:
        if memory_limit is not None:
            raise TangentError("has_aux=True does not go with memory_limit yet")
        if preserve_result or motion != "joint":
            raise TangentError("has_aux=True goes with neither preserve_result nor motion='split'; "
                               "use tangent.value_and_grad(f, has_aux=True) for the loss as well")
        split = autodiff(func, wrt, "reverse", optimized=optimized, motion="split", verbose=verbose,
                         check_finite=check_finite)
        return with_aux(split, check_scalar=check_dims, value=False)
    return autodiff(func, wrt, "reverse", optimized=optimized, motion=motion, preserve_result=preserve_result,
                    verbose=verbose, check_scalar=check_dims, check_finite=check_finite, memory_limit=memory_limit)


def value_and_grad(func: Callable, wrt: int | Sequence[int] = (0,), *, optimized: bool = True,
                   has_aux: bool = False, check_dims: bool = True, check_finite: bool = False) -> Callable:
    """``value_and_grad(f, wrt)(*args)`` returns ``(f(*args), gradient)`` in
    JAX's order, running ``f`` once; with ``has_aux=True`` (``f`` returns
    ``(loss, aux)``) it returns ``((loss, aux), gradient)``. Example::

        loss, g = tangent.value_and_grad(f)(x)
        (loss, aux), g = tangent.value_and_grad(f_with_aux, has_aux=True)(x)
    """
    if has_aux:
        split = autodiff(func, wrt, "reverse", optimized=optimized, motion="split", check_finite=check_finite)
        return with_aux(split, check_scalar=check_dims, value=True)
    derivative = autodiff(func, wrt, "reverse", optimized=optimized, preserve_result=True,
                          check_scalar=check_dims, check_finite=check_finite)

    def value_and_gradient(*args, **kwargs):
        gradient, value = derivative(*args, **kwargs)
        return value, gradient

    value_and_gradient.tangent_source = derivative.tangent_source
    value_and_gradient.__name__ = f"value_and_grad_{getattr(func, '__name__', 'f')}"
    return value_and_gradient


def vjp(func: Callable, wrt: int | Sequence[int] = (0,), *, optimized: bool = True,
        preserve_result: bool = False, verbose: int = 0) -> Callable:
    """Vector-Jacobian product: ``vjp(f, wrt)(*args, seed)``.

    Example::

        J_t_u = tangent.vjp(f)(x, u)   # u shaped like f(x)
    """
    return autodiff(func, wrt, "reverse", optimized=optimized, preserve_result=preserve_result,
                    verbose=verbose)


def jvp(func: Callable, wrt: int | Sequence[int] = (0,), *, optimized: bool = True,
        preserve_result: bool = False, verbose: int = 0) -> Callable:
    """Jacobian-vector product in forward mode: ``jvp(f, wrt)(*args, *tangents)``.

    One tangent per index in ``wrt``, shaped like its argument; returns the
    directional derivative, shaped like the output. Example::

        df = tangent.jvp(f)
        df(x, v)        # J(x) @ v
    """
    return autodiff(func, wrt, "forward", optimized=optimized, preserve_result=preserve_result,
                    verbose=verbose)


def source(func: Callable) -> str:
    """The generated source of a derivative returned by Tangent.

    Example::

        print(tangent.source(tangent.grad(f)))
    """
    text = getattr(func, "tangent_source", None)
    if text is None:
        raise TangentError(f"{func!r} was not generated by Tangent")
    return text


def _positional_count(func) -> int:
    params = inspect.signature(func).parameters.values()
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def hvp(func: Callable, wrt: int | Sequence[int] = (0,), *, optimized: bool = True, verbose: int = 0) -> Callable:
    """Hessian-vector product by forward mode over the generated gradient
    (for code with loops called with arrays only: reverse mode over the
    generated jvp, which differentiates fewer products).

    ``hvp(f, wrt)(*args, *vectors)`` returns H @ v (shaped like the gradient),
    at the cost of a small multiple of one gradient. Example::

        tangent.hvp(f)(x, v)
    """
    wrt = _normalize_wrt(wrt)
    gradient = grad(func, wrt, optimized=optimized)
    n = _positional_count(func)
    forward_over_reverse = autodiff(gradient, wrt, "forward", optimized=optimized, verbose=verbose)
    loops = optimized and any(isinstance(node, (ast.For, ast.While)) for node in ast.walk(ast.parse(gradient.tangent_source)))
    generated = {}  # "reverse_over_forward": its product, or None, once generated

    def specialize(args):
        # generated for the arguments' kinds, not run: f runs once per call
        return autodiff(gradient.tangent_specialized_for(*args[:n]), wrt, "forward", optimized=True)

    specializations = Specializations(forward_over_reverse, specialize)

    def hessian_vector_product(*args):
        if len(args) != n + len(wrt):
            raise TangentError(f"hvp of {func.__name__} takes {n} arguments and {len(wrt)} vectors, got {len(args)} values")
        implementation = forward_over_reverse
        if optimized and sys.gettrace() is None:
            if loops and all(type(a) is np.ndarray and a.ndim for a in args):
                # loops on arrays: the gradient of the jvp differentiates fewer products than forward
                # mode over the gradient, which differentiates its backward pass too (hvp_strategies.py)
                if "reverse_over_forward" not in generated:
                    try:
                        generated["reverse_over_forward"] = grad(jvp(func, wrt), wrt)
                    except TangentError:
                        generated["reverse_over_forward"] = None
                if generated["reverse_over_forward"] is not None:
                    return generated["reverse_over_forward"](*args)
            # forward mode over the gradient specialised to these shapes
            implementation = specializations.implementation_for(args)
        out = implementation(*args[:n], 1.0, *args[n:])
        return owned_gradients(out, [args[i] for i in wrt], input_ids(args))

    hessian_vector_product.tangent_source = forward_over_reverse.tangent_source
    hessian_vector_product.tangent_generated = generated
    return hessian_vector_product


def jacobian(func: Callable, wrt: int | Sequence[int] = 0, *, optimized: bool = True, mode: str = "auto") -> Callable:
    """The Jacobian of ``func`` with respect to the argument(s) ``wrt``.

    ``jacobian(f, wrt)(*args)`` has shape ``f(*args).shape + args[wrt].shape``
    for arrays; for dict/list/tuple arguments or results it is nested as in
    JAX (the result's structure outside, the argument's inside, a tuple over
    the arguments for several ``wrt``). It uses forward sweeps when the input
    is smaller than the output and reverse sweeps otherwise (``mode``
    forces one); default arguments may be left out. Example::

        J = tangent.jacobian(f)(x)
        J_w, J_b = tangent.jacobian(g, wrt=(0, 1))({"a": A}, b)   # J_w["a"]: out.shape + A.shape
    """
    if not isinstance(wrt, int):
        _normalize_wrt(wrt)
    return _once_on_the_caller(jacobian_of, func, wrt, optimized=optimized, mode=mode)


def hessian(func: Callable, wrt: int | Sequence[int] = 0, *, optimized: bool = True) -> Callable:
    """The Hessian of a scalar function with respect to the argument(s)
    ``wrt``, from one Hessian-vector product (forward over reverse) per input
    element: shape ``x.shape + x.shape`` for an array, nested as JAX's
    ``hessian`` for pytrees and several ``wrt`` (``H[i][j]`` for
    ``wrt=(i, j)``). Example::

        H = tangent.hessian(f)(x)     # shape x.shape + x.shape
    """
    if not isinstance(wrt, int):
        _normalize_wrt(wrt)
    return _once_on_the_caller(hessian_of, func, wrt, optimized=optimized)


def _generators_read(deps) -> tuple:
    """The random generators a derivative draws from that are not its
    arguments: global ``RandomState``/``Generator`` objects its functions
    read, and the one behind NumPy's module-level draws (``np.random.randn``
    is a method of a global ``RandomState``)."""
    found = {}
    for dep in deps:
        value = dep[-1]
        owner = getattr(value, "__self__", None)
        for candidate in (value, owner):
            if isinstance(candidate, _GENERATORS):
                found[id(candidate)] = candidate
    return tuple(found.values())


def _global_generators(func) -> tuple:
    """The generators among ``func``'s module globals, and NumPy's global one."""
    values = list(getattr(func, "__globals__", {}).values()) + [np.random.random_sample]
    return _generators_read([(v,) for v in values])


class _DrawOnce:
    """The states of the global generators a Jacobian's sweeps draw from, as
    at the first draw: each sweep starts them from there, so every sweep
    draws the same numbers (``func`` itself, called for the result's shape,
    included)."""

    def __init__(self):
        self.states: dict = {}

    def start(self, func) -> None:
        self.states.clear()
        for generator in _global_generators(func):
            self.states[id(generator)] = self.state(generator)

    def rewind(self, generators) -> None:
        for generator in generators:
            if id(generator) not in self.states:
                self.states[id(generator)] = self.state(generator)
            elif isinstance(generator, np.random.RandomState):
                generator.set_state(self.states[id(generator)])
            else:
                generator.bit_generator.state = self.states[id(generator)]

    @staticmethod
    def state(generator):
        if isinstance(generator, np.random.RandomState):
            return generator.get_state()
        return generator.bit_generator.state


def _once_on_the_caller(make: Callable, func: Callable, wrt, **options) -> Callable:
    """``make(autodiff, func, wrt, **options)`` (jacobian_of, hessian_of),
    for a ``func`` that may write into its arguments or draw from a random
    generator argument: those call ``func`` and its derivatives once per
    sweep, so each such call gets private copies of the arguments as they
    were on entry (a generator in the same state, so every sweep draws the
    same numbers), and the caller's arguments then receive what the last
    one left in its copies, as after one call of ``func``
    (``private_arguments``, ``rules.random_rules``)."""
    last: list = []
    real: dict = {}
    draws = _DrawOnce()

    def copied(args):
        copies = private_copy(tuple(args))
        last[:] = [copies]
        return copies

    def on_copies(*args):
        draws.rewind(_global_generators(func))
        return func(*copied(args))  # (the reverse sweeps' Jacobian calls func for the result's shape)

    on_copies.__signature__ = inspect.signature(func)
    on_copies.__name__ = getattr(func, "__name__", "f")

    def autodiff_on_copies(f, *rest, **kwargs):
        derivative = autodiff(real.get(id(f), f), *rest, **kwargs)
        if id(derivative) in wrappers:  # (one wrapper per derivative, however many sweeps ask for it)
            return wrappers[id(derivative)]
        writes = "write_back_arguments(" in getattr(derivative, "tangent_source", "")

        # (a derivative of a generated gradient, as in hessian, draws where the gradient does)
        generators = tuple({id(g): g for source in (derivative, real.get(id(f), f))
                            for g in getattr(source, "tangent_generators", ())}.values())

        def run(*args):
            draws.rewind(generators)  # every sweep draws what the first one drew
            if writes or any(isinstance(a, _GENERATORS) for a in args):
                return derivative(*copied(args))
            return derivative(*args)

        run.__signature__ = getattr(derivative, "__signature__", None) or inspect.signature(derivative)
        run.__name__ = derivative.__name__
        real[id(run)] = derivative
        wrappers[id(derivative)] = run
        keep.append((run, derivative))
        return run

    wrappers: dict = {}
    keep: list = []  # what ``real`` and ``wrappers`` are keyed by, alive as long as they are
    real[id(on_copies)] = func
    inner = make(autodiff_on_copies, on_copies, wrt, **options)

    def run_once(*args, **kwargs):
        last.clear()
        draws.start(func)
        out = inner(*args, **kwargs)
        if last:
            for arg, final in zip(args, last[0]):
                write_back_arguments(arg, final)
        return out

    run_once.__name__ = inner.__name__
    return run_once



# the checkpointing drivers' forward-mode rules differentiate the loop's step (runtime/checkpointing.py)
_checkpointing.jvp_of = lambda func, wrt: jvp(func, wrt, preserve_result=True)
