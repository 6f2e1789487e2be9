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

from . import rules, varargs
from .argument_classes import deferring
from .cache import cached, calling_primitive, clear_cache, store, weak
from .errors import NonFiniteGradientError, TangentError
from .frontend import recording, recording_now, unchanged
from .hvp_vectors import DirectCalls, arrays_only, direct_call, vectors_as_read
from .jacobians import hessian_of, jacobian_of
from .motion import broadcasting_seed, filling_defaults, primal_and_tangents, split_derivative, with_aux
from .numba_backend import check_options, compiled_hvp, compiling_for  # compile="numba" (numba imported on use)
from .ownership import input_ids, owned_gradients, proven_owned, returning_owned, tangents_as_generated
from .runtime import add_left_matmuls_at, add_matmul_sums, add_matmuls_at
from .runtime import checkpointing as _checkpointing
from .runtime.checkpointing import parse_memory
from .specialize import Specializations, argument_kind, differentiable, specializing, with_variant
from .sweeps import generators_read, once_on_the_caller
from .transform import Session

RUN_ONLY = (add_matmuls_at, add_left_matmuls_at, add_matmul_sums)  # helpers of code that is run only (hoisted_products.py)

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


@deferring
def autodiff(func: Callable, wrt: int | Sequence[int] = (0,), mode: str = "reverse", *,
             optimized: bool = True, motion: str = "joint", preserve_result: bool = False,
             check_dims: bool | None = None, verbose: int = 0, check_scalar: bool = False,
             check_finite: bool = False, memory_limit: int | str | None = None,
             compile: str | None = None) -> Callable:
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
    ``check_scalar=True`` asks for a scalar output, as ``grad`` does. A seed
    (tangent) has the result's (argument's) shape or broadcasts to it (a
    scalar seed 1.0 for a vector output seeds every element); other shapes
    are refused. ``check_dims`` is for code written
    for Google Tangent: ``check_dims=False`` in reverse mode also takes a
    seed array for a scalar result and gives ``seed * gradient``, as
    Google's HVP tests use it (``autodiff(autodiff(f, mode="forward"),
    mode="reverse", check_dims=False)(x, 1, v)``); ``True`` checks nothing
    more than the default. For ``def f(x, *args)`` the seed is the keyword
    ``dresult=`` (see tangent/varargs.py). Example::

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
    if varargs.takes_varargs(func):  # one derivative per number of arguments, made at a call (varargs.py)
        if motion == "split":
            raise TangentError(f"motion='split' of {func.__name__}, which takes *args or **kwargs, is not supported yet")
        return varargs.per_count(func, lambda fixed: autodiff(
            fixed, wrt, mode, optimized=optimized, preserve_result=preserve_result, check_dims=check_dims,
            verbose=verbose, check_scalar=check_scalar, check_finite=check_finite, memory_limit=memory_limit),
            tangents=len(wrt) if mode == "forward" else 0, seeded=mode == "reverse", what="the derivative",
            options=(wrt, mode, optimized, preserve_result, check_dims, check_scalar, check_finite, memory_limit))
    memory_limit = parse_memory(memory_limit)  # (bytes; see tangent/checkpointing.py)
    if memory_limit is not None and (mode != "reverse" or motion != "joint"):
        raise TangentError("memory_limit is for reverse mode with motion='joint' (tangent.grad, tangent.vjp)")
    if compile is not None:
        check_options(compile, motion, check_finite, memory_limit, check_dims=check_dims if mode == "reverse" else None)
    options = (wrt, mode, optimized, preserve_result, check_scalar, check_finite, motion, memory_limit, compile)

    def make():
        if motion == "split":
            return split_derivative(func, wrt, optimized=optimized, preserve_result=preserve_result,
                                    check_scalar=check_scalar, check_finite=check_finite)
        return _transform(func, wrt, mode, optimized, preserve_result, check_scalar, check_finite, memory_limit,
                          compile)

    derivative = _cached_or_made(func, options, make)
    if verbose:
        print(derivative.tangent_source)
    if check_dims is False and mode == "reverse" and motion == "joint" and not check_scalar:
        def make_split():
            return autodiff(func, wrt, "reverse", optimized=optimized, motion="split", check_finite=check_finite)

        derivative = broadcasting_seed(derivative, make_split, _positional_count(func), preserve_result, len(wrt) > 1)
    if mode == "forward":  # jvp(f)(x, v) for def f(x, scale=2.0): defaults left out take their value
        derivative = filling_defaults(derivative, func, len(wrt))
    return derivative


def _cached_or_made(func, options: tuple, make: Callable) -> Callable:
    """The derivative of ``func`` cached under ``options``, or ``make()``
    (under the transform lock, recording what it reads) cached there."""
    derivative = cached(func, options)
    if derivative is None:
        with rules.transform_lock:
            derivative = cached(func, options)
            if derivative is None:
                version = rules.version()
                with recording() as deps:
                    derivative = make()
                store(func, options, (derivative, tuple(deps.values()), version))
                derivative.tangent_generators = generators_read(deps.values())
    return derivative


@deferring
def _forward_over_gradient(gradient: Callable, wrt: tuple[int, ...]) -> Callable:
    """``autodiff(gradient, wrt, "forward")`` for ``hvp`` (not public API),
    which calls it with every argument, the seed 1.0 only: the same wrappers
    (cache, argument classes, the user's line in errors, object tangents,
    owned results), but the product is returned in the arguments' dtypes
    and structures (as a gradient) instead of being cast to the result's
    dtype, so the gradient itself, read only for its dtype, need not be
    computed; and the seed is read as 1.0 (tangent/unit_seed.py)."""
    options = (wrt, "forward", True, False, False, False, "joint", None, None, "hvp over the gradient")
    return _cached_or_made(gradient, options, lambda: _transform(
        gradient, wrt, "forward", True, False, False, False, over_gradient=True))


def _transform(func, wrt, mode, optimized, preserve_result, check_scalar, check_finite, memory_limit=None,
               compile=None, over_gradient=False) -> Callable:
    """Generate the derivative of ``func`` (not cached), wrapped as the API
    returns it: specialised to argument shapes (optimized reverse mode),
    with arithmetic errors reported as non-finite (check_finite), returning
    values the caller owns. ``over_gradient`` (forward mode, for ``hvp``
    only): the tangent is not cast to the result's dtype, and the last
    positional parameter (the gradient's seed) is read as 1.0."""
    session = Session(optimized=optimized, check_finite=check_finite)
    session.memory_limit = memory_limit
    if mode == "reverse":
        entry = session.reverse(func, wrt, preserve_result=preserve_result, check_scalar=check_scalar)
    else:
        entry = session.forward(func, wrt, preserve_result=preserve_result, over_gradient=over_gradient)
    derivative = generic = session.build(entry, f"d{getattr(func, '__name__', 'f')}")
    if mode == "reverse" and optimized:
        func = weak(func)  # the cache holds the derivative on func: it must not hold func
        deps = tuple(recording_now())

        def specialize(args, run_only=False):
            # the same snapshot as the generic code, or none (the generic code then runs)
            if func() is None or not unchanged(deps):
                raise TangentError("the function or what it reads changed since it was differentiated")
            special = Session(optimized=True, check_finite=check_finite)
            special.memory_limit = memory_limit
            special.run_only = run_only
            name = special.reverse(func(), wrt, preserve_result=preserve_result, check_scalar=check_scalar,
                                   example_args=args)
            built = special.build(name, f"d{getattr(func(), '__name__', 'f')}")
            built.tangent_argument_kinds = tuple(map(argument_kind, args))  # its key (for hvp: forward over it)
            if run_only and any(v is helper for v in special.namespace.values() for helper in RUN_ONLY):
                with_variant(built, specialize)  # (hvp differentiates code without the helper)
            if run_only:  # (returning_owned: the check of its result's leaves, or None)
                built.tangent_owned = proven_owned(built, wrt, preserve_result=preserve_result)
            return built

        derivative = specializing(derivative, lambda args: specialize(args, run_only=True)) \
            if compile is None else derivative
    if compile is not None:  # compile="numba": tangent/numba_backend.py (which returns owned values)
        specialized = mode == "reverse" and optimized  # (numba lowers code without run-only rewrites)
        return compiling_for(func() if specialized else func, generic, specialize if specialized else None,
                             (mode, wrt, preserve_result))
    if check_finite:
        derivative = _arithmetic_errors_as_nonfinite(derivative)
    return returning_owned(derivative, generic, mode, wrt, preserve_result, like_arguments=over_gradient)


@deferring
def grad(func: Callable, wrt: int | Sequence[int] = (0,), *, optimized: bool = True,
         preserve_result: bool = False, check_dims: bool = True, motion: str = "joint",
         has_aux: bool = False, verbose: int = 0, check_finite: bool = False,
         memory_limit: int | str | None = None, compile: str | None = None) -> Callable:
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
        if compile is not None:
            check_options(compile, "joint", check_finite, memory_limit, has_aux=True)  # (NumbaRefusal)
        if memory_limit is not None:
            raise TangentError("has_aux=True does not go with memory_limit yet")
        if preserve_result or motion != "joint":
            raise TangentError("has_aux=True goes with neither preserve_result nor motion='split'; "
                               "use tangent.value_and_grad(f, has_aux=True) for the loss as well")
        split = autodiff(func, wrt, "reverse", optimized=optimized, motion="split", verbose=verbose,
                         check_finite=check_finite)
        return with_aux(split, check_scalar=check_dims, value=False)
    return autodiff(func, wrt, "reverse", optimized=optimized, motion=motion, preserve_result=preserve_result,
                    verbose=verbose, check_scalar=check_dims, check_finite=check_finite, memory_limit=memory_limit,
                    compile=compile, check_dims=None if check_dims else False)


@deferring
def value_and_grad(func: Callable, wrt: int | Sequence[int] = (0,), *, optimized: bool = True,
                   has_aux: bool = False, check_dims: bool = True, check_finite: bool = False,
                   compile: str | None = None) -> Callable:
    """``value_and_grad(f, wrt)(*args)`` returns ``(f(*args), gradient)`` in
    JAX's order, running ``f`` once; with ``has_aux=True`` (``f`` returns
    ``(loss, aux)``) it returns ``((loss, aux), gradient)``. Example::

        loss, g = tangent.value_and_grad(f)(x)
        (loss, aux), g = tangent.value_and_grad(f_with_aux, has_aux=True)(x)
    """
    if has_aux:
        if compile is not None:
            check_options(compile, "joint", check_finite, None, has_aux=True)  # (NumbaRefusal)
        split = autodiff(func, wrt, "reverse", optimized=optimized, motion="split", check_finite=check_finite)
        return with_aux(split, check_scalar=check_dims, value=True)
    derivative = autodiff(func, wrt, "reverse", optimized=optimized, preserve_result=True,
                          check_scalar=check_dims, check_finite=check_finite, compile=compile)

    def value_and_gradient(*args, **kwargs):
        gradient, value = derivative(*args, **kwargs)
        return value, gradient

    value_and_gradient.tangent_source = derivative.tangent_source
    value_and_gradient.__name__ = f"value_and_grad_{getattr(func, '__name__', 'f')}"
    return value_and_gradient


@deferring
def vjp(func: Callable, wrt: int | Sequence[int] = (0,), *, optimized: bool = True,
        preserve_result: bool = False, verbose: int = 0, compile: str | None = None) -> Callable:
    """Vector-Jacobian product: ``vjp(f, wrt)(*args, seed)``.

    Example::

        J_t_u = tangent.vjp(f)(x, u)   # u shaped like f(x)
    """
    return autodiff(func, wrt, "reverse", optimized=optimized, preserve_result=preserve_result,
                    verbose=verbose, compile=compile)


@deferring
def jvp(func: Callable, wrt: int | Sequence[int] = (0,), *, optimized: bool = True,
        preserve_result: bool = False, verbose: int = 0, compile: str | None = None) -> Callable:
    """Jacobian-vector product in forward mode: ``jvp(f, wrt)(*args, *tangents)``.

    One tangent per index in ``wrt``, shaped like its argument; returns the
    directional derivative, shaped like the output. Example::

        df = tangent.jvp(f)
        df(x, v)        # J(x) @ v
    """
    return autodiff(func, wrt, "forward", optimized=optimized, preserve_result=preserve_result,
                    verbose=verbose, compile=compile)


def source(func: Callable) -> str:
    """The generated source of a derivative returned by Tangent.

    Example::

        print(tangent.source(tangent.grad(f)))
    """
    text = getattr(func, "tangent_source", None)
    if text is None:
        if getattr(func, "tangent_deferred", None):  # (tangent/argument_classes.py)
            raise TangentError(f"{func.__name__}: {func.tangent_deferred}; call it once, or annotate the parameter "
                               "with its class (def loss(model: Model, x))")
        raise TangentError(f"{func!r} was not generated by Tangent")
    return text


def _positional_count(func) -> int:
    params = inspect.signature(func).parameters.values()
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


@deferring
def hvp(func: Callable, wrt: int | Sequence[int] = (0,), *, optimized: bool = True, verbose: int = 0,
        compile: str | None = None) -> Callable:
    """Hessian-vector product by forward mode over the generated gradient
    (for code with loops called with arrays only: reverse mode over the
    generated jvp, which differentiates fewer products).

    ``hvp(f, wrt)(*args, *vectors)`` returns H @ v (shaped like the gradient),
    at the cost of a small multiple of one gradient. Example::

        tangent.hvp(f)(x, v)
    """
    wrt = _normalize_wrt(wrt)
    if varargs.takes_varargs(func):
        return varargs.per_count(func, lambda fixed: hvp(fixed, wrt, optimized=optimized, verbose=verbose),
                                 tangents=len(wrt), seeded=False, options=("hvp", wrt, optimized), what="the hvp")
    gradient = grad(func, wrt, optimized=optimized)
    if compile is not None:  # compile="numba": tangent/numba_backend.py
        check_options(compile, "joint", False, None)
        return compiled_hvp(func, gradient, wrt, _positional_count(func))
    n = _positional_count(func)
    forward_over_reverse = autodiff(gradient, wrt, "forward", optimized=optimized, verbose=verbose)
    loops = optimized and any(isinstance(node, (ast.For, ast.While)) for node in ast.walk(ast.parse(gradient.tangent_source)))
    generated = {}  # "reverse_over_forward": its product, or None, once generated

    def specialize(args):
        # generated for the arguments' kinds, not run: f runs once per call (the seed in the gradient's
        # key: its code knows the seed is a float; the tangent as computed: owned_gradients gives it dtypes)
        key = (*args[:n], 1.0)
        return _forward_over_gradient(differentiable(gradient.tangent_specialized_for(*key), key), wrt)

    specializations = Specializations(forward_over_reverse, specialize)
    signature = inspect.signature(func)
    direct = DirectCalls()  # argument kinds -> what the call runs (hvp_vectors.direct_call)

    def hessian_vector_product(*args, **kwargs):
        if kwargs or len(args) != n + len(wrt):  # (else primal_and_tangents gives args as they are; defaults: theirs)
            args, keywords = primal_and_tangents(func, args, kwargs, len(wrt), signature, "hvp")
            if keywords:  # keyword-only parameters (def f(x, **opts) read per keyword, tangent/varargs.py)
                return owned_gradients(forward_over_reverse(*args[:n], 1.0, *args[n:], **keywords),
                                       [args[i] for i in wrt], input_ids(args))
            if len(args) != n + len(wrt):
                raise TangentError(f"hvp of {func.__name__} takes {n} arguments and {len(wrt)} vectors, got {len(args)} "
                                   "values")
        if not (optimized and sys.gettrace() is None):
            args = tangents_as_generated(tuple(args), wrt)  # (objects' vectors given as objects: dicts of attributes)
            return owned_gradients(forward_over_reverse(*args[:n], 1.0, *args[n:]), [args[i] for i in wrt],
                                   input_ids(args))
        found = direct_call(direct, route, tuple(args), n, wrt)  # (as below, found once per kinds)
        if found is not direct:
            return found
        args = vectors_as_read(args, n, wrt)
        derivative, seeded = route(args)
        if derivative is not forward_over_reverse:
            return derivative(*args[:n], 1.0, *args[n:]) if seeded else derivative(*args)
        out = derivative(*args[:n], 1.0, *args[n:])  # (what it may return is among the values it was given)
        return owned_gradients(out, [args[i] for i in wrt], input_ids(args))

    def route(args: tuple):
        return _route(args, loops, generated, func, wrt, specializations)

    hessian_vector_product.tangent_source = forward_over_reverse.tangent_source
    hessian_vector_product.tangent_generated = generated
    return hessian_vector_product


def _route(args: tuple, loops: bool, generated: dict, func: Callable, wrt: tuple[int, ...], specializations):
    """(what an optimized hvp call runs, whether the seed 1.0 goes before
    the vectors) for arguments with their vectors as read."""
    if loops and (all(arrays_only(a) for a in args) or all(type(a) is float for a in args)) \
            and _reverse_over_forward(generated, func, wrt) is not None:
        # loops on arrays (or dicts, lists, tuples, objects of arrays) or on numbers only: the gradient
        # of the jvp differentiates fewer products than forward mode over the gradient, which
        # differentiates its backward pass too (hvp_strategies.py)
        return generated["reverse_over_forward"], False
    # forward mode over the gradient specialised to these shapes (its products owned, in the
    # arguments' dtypes: _forward_over_gradient)
    return specializations.implementation_for(args), True


def _reverse_over_forward(generated: dict, func: Callable, wrt: tuple[int, ...]):
    """``grad(jvp(func, wrt), wrt)``, made once (None when it cannot be)."""
    if "reverse_over_forward" not in generated:
        try:
            generated["reverse_over_forward"] = grad(jvp(func, wrt), wrt)
        except TangentError:
            generated["reverse_over_forward"] = None
    return generated["reverse_over_forward"]


@deferring
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
    if varargs.takes_varargs(func):
        return varargs.per_count(func, lambda fixed: jacobian(fixed, wrt, optimized=optimized, mode=mode), tangents=0,
                                 seeded=False, options=("jacobian", wrt, optimized, mode), what="the Jacobian",
                                 keywords_given=False)
    return once_on_the_caller(autodiff, jacobian_of, func, wrt, optimized=optimized, mode=mode)


@deferring
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
    if varargs.takes_varargs(func):
        return varargs.per_count(func, lambda fixed: hessian(fixed, wrt, optimized=optimized), tangents=0,
                                 seeded=False, options=("hessian", wrt, optimized), what="the Hessian",
                                 keywords_given=False)
    return once_on_the_caller(autodiff, hessian_of, func, wrt, optimized=optimized)


# the checkpointing drivers' forward-mode rules differentiate the loop's step (runtime/checkpointing.py)
_checkpointing.jvp_of = lambda func, wrt: jvp(func, wrt, preserve_result=True)
