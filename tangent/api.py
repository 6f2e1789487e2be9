"""Public API: grad, autodiff, vjp and source."""

from __future__ import annotations

import inspect
import sys
import threading
import types
import weakref
from collections import OrderedDict
from typing import Callable, Sequence

import numpy as np

from . import rules, runtime
from .errors import NonFiniteGradientError, TangentError
from .frontend import recording, recording_now, unchanged
from .transform import Session

_MAX_SPECIALIZATIONS = 16


def _argument_kind(value):
    kind = type(value)
    if kind is np.ndarray or isinstance(value, np.ndarray):  # subclasses too: the shape matters
        return (kind, value.shape, value.dtype.char)
    return kind


def _specializing(generic: Callable, specialize: Callable) -> Callable:
    """Wrap a derivative so that each combination of argument types and
    shapes gets code specialised to it (generated at its first call): with
    the shapes known, sums that undo broadcasting which cannot happen are
    left out, and Python floats get float arithmetic. The generic derivative
    stays available (``.tangent_generic``) and is used for keyword calls and
    beyond a few specialisations.
    """
    specialized: dict = {}

    def implementation_for(args):
        """The code for these arguments' kinds, generated (never run) if new:
        specialising depends only on the types and shapes of the arguments."""
        key = tuple(map(_argument_kind, args))
        implementation = specialized.get(key)
        if implementation is None:
            with rules.transform_lock:
                implementation = specialized.get(key)
                if implementation is None:
                    implementation = generic
                    if len(specialized) < _MAX_SPECIALIZATIONS:
                        try:
                            implementation = specialize(args)
                        except TangentError:
                            implementation = generic
                    specialized[key] = implementation
        return implementation

    def derivative(*args, **kwargs):
        if kwargs or sys.gettrace() is not None:
            # under a debugger, step straight into the code tangent.source shows
            return generic(*args, **kwargs)
        return implementation_for(args)(*args)

    def specialized_for(*args):
        """The derivative's code specialised for these arguments (generated
        if needed, without running anything)."""
        return implementation_for(args)

    derivative.__signature__ = inspect.signature(generic)
    derivative.__wrapped__ = generic
    derivative.__name__ = generic.__name__
    derivative.__qualname__ = generic.__qualname__
    derivative.__doc__ = generic.__doc__
    derivative.tangent_source = generic.tangent_source
    derivative.tangent_generic = generic
    derivative.tangent_specialized_for = specialized_for
    return derivative


def _arithmetic_errors_as_nonfinite(derivative: Callable) -> Callable:
    """With check_finite, Python float arithmetic that fails (1.0 / 0.0,
    math.log(0.0)) is reported like a NaN or inf: naming the user's line whose
    backward step failed, read from the comment above the generated line."""
    import linecache
    import re

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


def _input_ids(values, found=None, depth=0) -> set:
    """Ids of the arrays among (and inside containers and objects of) the
    values a derivative was called with, and of the arrays they view."""
    found = set() if found is None else found
    for value in values:
        if isinstance(value, np.ndarray):
            while value is not None and id(value) not in found:
                found.add(id(value))
                value = value.base
        elif depth < 8:
            if isinstance(value, dict):
                _input_ids(value.values(), found, depth + 1)
            elif isinstance(value, (list, tuple)):
                _input_ids(value, found, depth + 1)
            elif hasattr(value, "__dict__") and not isinstance(value, (type, types.FunctionType, types.ModuleType)):
                _input_ids(vars(value).values(), found, depth + 1)
    return found


_FLOAT = np.dtype(float)


def _shape_or_none(value):
    try:
        return np.shape(value)
    except ValueError:  # items of different shapes
        return None


def _owned(g, like, held: set):
    """``g`` as a returned derivative: a fresh, writable array of the
    argument's float dtype when ``like`` (the argument) is an array, the same
    structure for containers and objects. No copy when ``g`` already is one
    that nothing else holds (not an input, seed, tangent, global or another
    returned value, nor a view of anything)."""
    if isinstance(like, np.ndarray) and isinstance(g, np.ndarray):  # the common case, fast
        dtype = like.dtype if like.dtype.kind in "fc" else _FLOAT
        if g.dtype == dtype and g.shape == like.shape and g.base is None and g.flags.writeable \
                and id(g) not in held:
            held.add(id(g))
            return g
    if isinstance(g, dict):
        attrs = vars(like) if hasattr(like, "__dict__") and not isinstance(like, dict) else like
        attrs = attrs if isinstance(attrs, dict) else {}
        return type(g)((k, _owned(v, attrs.get(k), held)) for k, v in g.items())
    if isinstance(like, (list, tuple)) and isinstance(g, np.ndarray) and g.ndim and len(g) == len(like):
        # a list operand of NumPy functions gets an array adjoint: give it the argument's kind
        g = runtime._items_grad(g, like) if np.shape(g) == _shape_or_none(like) else type(like)(g)
    if isinstance(g, (list, tuple)) and not isinstance(g, np.ndarray):
        items = like if isinstance(like, (list, tuple)) and len(like) == len(g) else [None] * len(g)
        return type(g)(_owned(v, item, held) for v, item in zip(g, items))
    if isinstance(like, np.ndarray):
        if g is None:
            return g
        dtype = like.dtype if like.dtype.kind in "fc" else _FLOAT
        if np.iscomplexobj(g) and not np.issubdtype(dtype, np.complexfloating):
            dtype = np.result_type(dtype, np.asarray(g).dtype)  # never drop an imaginary part
        if not (isinstance(g, np.ndarray) and g.dtype == dtype and g.shape == like.shape and g.base is None
                and g.flags.writeable and id(g) not in held):
            g = np.array(np.broadcast_to(g, like.shape) if np.ndim(g) == 0 else g, dtype=dtype)
        held.add(id(g))
        return g
    if isinstance(like, np.generic) and np.issubdtype(like.dtype, np.inexact) and np.ndim(g) == 0 \
            and not (np.iscomplexobj(g) and not np.iscomplexobj(like)):
        return like.dtype.type(g)
    if isinstance(like, (int, float)) and not isinstance(like, bool) and np.ndim(g) == 0 \
            and isinstance(g, (int, np.integer, np.ndarray, np.floating)) and not isinstance(g, bool) \
            and not np.iscomplexobj(g):
        return float(g)  # a float for a float or an int
    if isinstance(g, np.ndarray):
        if g.base is not None or not g.flags.writeable or id(g) in held:
            g = g.copy()
        held.add(id(g))
    return g


def _returning_owned(derivative: Callable, generic: Callable, mode: str, wrt: tuple[int, ...],
                     preserve_result: bool) -> Callable:
    """Wrap a derivative so that what it returns is the caller's own: each
    gradient a fresh, writable array of its argument's (float) dtype, each
    tangent a fresh, writable array; never a view of an input, the seed or
    a tangent vector, nor of anything the generated code keeps."""
    signature = inspect.signature(generic)
    defaults = [p.default for p in signature.parameters.values()]
    kept = []  # arrays the generated module holds (globals)

    def ids_held(args):
        if not kept:
            kept.append(_input_ids(list(getattr(generic, "__globals__", {}).values())))
        return _input_ids(args, set(kept[0]))

    def owned(*args, **kwargs):
        out = derivative(*args, **kwargs)
        if kwargs:
            args = signature.bind(*args, **kwargs).args
        held = ids_held(args)
        value, result = (out[0], out[1:]) if preserve_result else (out, ())
        if mode == "reverse":
            likes = [args[i] if i < len(args) else defaults[i] for i in wrt]
            if len(wrt) == 1:
                value = _owned(value, likes[0], held)
            else:
                value = type(value)(_owned(v, like, held) for v, like in zip(value, likes))
        else:
            value = _owned(value, None, held)
        return (value, *result) if preserve_result else value

    for attribute in ("tangent_source", "tangent_generic", "tangent_specialized_for", "tangent_filename"):
        if hasattr(derivative, attribute):
            setattr(owned, attribute, getattr(derivative, attribute))
    owned.tangent_generic = getattr(derivative, "tangent_generic", generic)
    owned.__signature__ = signature
    owned.__wrapped__ = derivative
    owned.__name__ = generic.__name__
    owned.__qualname__ = generic.__qualname__
    owned.__doc__ = generic.__doc__
    return owned


_primitive_wrappers: dict = {}


def _calling_primitive(func):
    """A function with a registered rule (np.tanh, or a user's function with
    @tangent.adjoint) is differentiated through a one-line function calling
    it, so that its rule is what gets used."""
    if getattr(func, "tangent_generic", None) is not None or getattr(func, "tangent_source", None) is not None:
        return func
    if rules.lookup_adjoint(func) is None and rules.lookup_tangent(func) is None:
        return func
    if func in _primitive_wrappers:
        return _primitive_wrappers[func]
    from .codegen import compile_source

    try:
        params = [p.name for p in inspect.signature(func).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
    except (TypeError, ValueError):
        params = [f"x{i}" for i in range(getattr(func, "nin", 1))]
    name = getattr(func, "__name__", "primitive")
    source = f"def {name}({', '.join(params)}):\n    return primitive({', '.join(params)})\n"
    namespace, _ = compile_source(source, {"primitive": func}, name)
    # setdefault: threads racing here all get the first one (one cache entry)
    return _primitive_wrappers.setdefault(func, namespace[name])


def _normalize_wrt(wrt) -> tuple[int, ...]:
    if isinstance(wrt, int):
        return (wrt,)
    wrt = tuple(wrt)
    if not wrt or not all(isinstance(i, int) for i in wrt):
        raise TangentError(f"wrt must be an argument index or a tuple of indices, got {wrt!r}")
    return wrt


def autodiff(func: Callable, wrt: int | Sequence[int] = (0,), mode: str = "reverse", *,
             optimized: bool = True, preserve_result: bool = False, verbose: int = 0,
             check_scalar: bool = False, check_finite: bool = False) -> Callable:
    """Differentiate ``func`` by source transformation.

    In reverse mode the derivative takes ``func``'s arguments followed by the
    seed (the adjoint of the output) and returns the vector-Jacobian product
    for the arguments in ``wrt``. Example::

        def f(x):
            return np.sin(x) * x
        df = tangent.autodiff(f, wrt=0, mode="reverse")
        df(np.ones(3), np.ones(3))
    """
    wrt = _normalize_wrt(wrt)
    if mode not in ("reverse", "forward"):
        raise TangentError(f"mode={mode!r} is not supported; use mode='reverse' or mode='forward'")
    func = _calling_primitive(func)
    options = (wrt, mode, optimized, preserve_result, check_scalar, check_finite)
    derivative = _cached(func, options)
    if derivative is None:
        with rules.transform_lock:
            derivative = _cached(func, options)
            if derivative is None:
                version = rules.version()
                with recording() as deps:
                    derivative = _transform(func, wrt, mode, optimized, preserve_result, check_scalar, check_finite)
                _store(func, options, (derivative, tuple(deps.values()), version))
    if verbose:
        print(derivative.tangent_source)
    return derivative


# The derivative cache. A derivative is cached on the function it was
# generated from, held weakly: when the function goes, so does its entry (a
# derivative holds what the function read, never the function itself). A
# cached derivative is returned only while every global, closure cell and
# attribute its generation read still holds the same object and no rule was
# registered since; otherwise it is generated again.
_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # function -> {options: entry}
# Bound methods are new objects at each access: their entries live on the
# function, by instance (a derivative holds its instance: at most a few kept).
_method_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_MAX_INSTANCES = 8
# Callables that cannot be weakly referenced: a few kept, most recent first.
_strong_cache: OrderedDict = OrderedDict()
_MAX_STRONG = 32


def _entries(func, create: bool):
    """The {options: entry} table of ``func`` (None if absent and not ``create``)."""
    if isinstance(func, types.FunctionType) and getattr(func, "tangent_source", None) is not None:
        # a derivative (hvp, grad of grad): its own derivatives are kept on it,
        # as what they read (its module) holds it; checked to be its own, not
        # copied onto a wrapper by functools.wraps
        table = func.__dict__.get("tangent_derivatives")
        if table is None or table[0] != id(func):
            if not create:
                return None
            table = func.tangent_derivatives = (id(func), {})
        return table[1]
    if isinstance(func, types.MethodType):
        try:
            by_instance = _method_cache.get(func.__func__)
            if by_instance is None:
                if not create:
                    return None
                by_instance = _method_cache[func.__func__] = OrderedDict()
        except TypeError:
            return _strong_entries(func, create)
        found = by_instance.get(id(func.__self__))
        if found is not None and found[0] is func.__self__:
            by_instance.move_to_end(id(func.__self__))
            return found[1]
        if not create:
            return None
        by_instance[id(func.__self__)] = (func.__self__, {})
        while len(by_instance) > _MAX_INSTANCES:
            by_instance.popitem(last=False)
        return by_instance[id(func.__self__)][1]
    try:
        table = _cache.get(func)
        if table is None and create:
            table = _cache[func] = {}
        return table
    except TypeError:  # not weakly referenceable, or unhashable
        return _strong_entries(func, create)


def _strong_entries(func, create: bool):
    found = _strong_cache.get(id(func))
    if found is not None and found[0] is func:
        _strong_cache.move_to_end(id(func))
        return found[1]
    if not create:
        return None
    _strong_cache[id(func)] = (func, {})
    while len(_strong_cache) > _MAX_STRONG:
        _strong_cache.popitem(last=False)
    return _strong_cache[id(func)][1]


def _cached(func, options):
    """The cached derivative, if still valid."""
    with _cache_lock:
        table = _entries(func, create=False)
        entry = table.get(options) if table is not None else None
        if entry is None:
            return None
        derivative, deps, version = entry
        if version != rules.version() or not unchanged(deps):
            table.pop(options, None)  # stale: a global, cell, attribute or rule changed since
            return None
        return derivative


def _store(func, options, entry) -> None:
    with _cache_lock:
        _entries(func, create=True)[options] = entry


# guards the tables (not held while transforming, so that lookups do not wait for it)
_cache_lock = threading.RLock()


def clear_cache() -> None:
    """Forget every cached derivative: the next ``grad(f)`` generates its
    code again (from f's source and what it reads now).

    Example::

        tangent.clear_cache()
    """
    with rules.transform_lock, _cache_lock:
        _cache.clear()
        _method_cache.clear()
        _strong_cache.clear()
        _primitive_wrappers.clear()


def _weak(func):
    """A callable returning ``func`` while it lives, None after."""
    try:
        ref = weakref.WeakMethod(func) if isinstance(func, types.MethodType) else weakref.ref(func)
    except TypeError:
        return lambda: func
    return ref


def _transform(func, wrt, mode, optimized, preserve_result, check_scalar, check_finite):
    session = Session(optimized=optimized, check_finite=check_finite)
    if mode == "reverse":
        entry = session.reverse(func, wrt, preserve_result=preserve_result, check_scalar=check_scalar)
    else:
        entry = session.forward(func, wrt, preserve_result=preserve_result)
    derivative = generic = session.build(entry, f"d{getattr(func, '__name__', 'f')}")
    if mode == "reverse" and optimized:
        func = _weak(func)  # the cache holds the derivative on func: it must not hold func
        deps = tuple(recording_now())

        def specialize(args):
            # the same snapshot as the generic code, or none (the generic code then runs)
            if func() is None or not unchanged(deps):
                raise TangentError("the function or what it reads changed since it was differentiated")
            special = Session(optimized=True, check_finite=check_finite)
            name = special.reverse(func(), wrt, preserve_result=preserve_result, check_scalar=check_scalar,
                                   example_args=args)
            return special.build(name, f"d{getattr(func(), '__name__', 'f')}")

        derivative = _specializing(derivative, specialize)
    if check_finite:
        derivative = _arithmetic_errors_as_nonfinite(derivative)
    return _returning_owned(derivative, generic, mode, wrt, preserve_result)


def grad(func: Callable, wrt: int | Sequence[int] = (0,), *, optimized: bool = True,
         preserve_result: bool = False, verbose: int = 0, check_finite: bool = False) -> Callable:
    """The gradient of a scalar-valued function, as generated Python source.

    ``grad(f, wrt)(*args)`` returns the gradient with respect to the
    positional arguments listed in ``wrt`` (one value for one index, a tuple
    otherwise), each shaped like its argument. An optional trailing argument
    is the output seed (default 1.0). With ``check_finite=True`` the
    derivative raises NonFiniteGradientError, naming the user's line, as soon
    as an adjoint becomes NaN or infinite. Example::

        def f(x):
            return np.sum(np.tanh(x) ** 2)
        df = tangent.grad(f, verbose=1)   # prints the derivative's source
        df(np.arange(3.0))
    """
    return autodiff(func, wrt, "reverse", optimized=optimized, preserve_result=preserve_result,
                    verbose=verbose, check_scalar=True, check_finite=check_finite)


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
    import inspect

    params = inspect.signature(func).parameters.values()
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def hvp(func: Callable, wrt: int | Sequence[int] = (0,), *, optimized: bool = True, verbose: int = 0) -> Callable:
    """Hessian-vector product by forward mode over the generated gradient.

    ``hvp(f, wrt)(*args, *vectors)`` returns H @ v (shaped like the gradient),
    at the cost of a small multiple of one gradient. Example::

        tangent.hvp(f)(x, v)
    """
    wrt = _normalize_wrt(wrt)
    gradient = grad(func, wrt, optimized=optimized)
    forward_over_reverse = autodiff(gradient, wrt, "forward", optimized=optimized, verbose=verbose)
    n = _positional_count(func)

    specialized: dict = {}

    def hessian_vector_product(*args):
        if len(args) != n + len(wrt):
            raise TangentError(f"hvp of {func.__name__} takes {n} arguments and {len(wrt)} vectors, got {len(args)} values")
        implementation = forward_over_reverse
        if optimized and sys.gettrace() is None:
            # forward mode over the gradient specialised to these shapes
            key = tuple(map(_argument_kind, args))
            implementation = specialized.get(key)
            if implementation is None:
                with rules.transform_lock:
                    implementation = specialized.get(key)
                    if implementation is None:
                        implementation = forward_over_reverse
                        if len(specialized) < _MAX_SPECIALIZATIONS:
                            try:
                                # generated for the arguments' kinds, not run: f runs once per call
                                special_gradient = gradient.tangent_specialized_for(*args[:n])
                                implementation = autodiff(special_gradient, wrt, "forward", optimized=True)
                            except TangentError:
                                pass
                        specialized[key] = implementation
        out = implementation(*args[:n], 1.0, *args[n:])
        held = _input_ids(args)
        if len(wrt) == 1:
            return _owned(out, args[wrt[0]], held)
        return type(out)(_owned(v, args[i], held) for v, i in zip(out, wrt))

    hessian_vector_product.tangent_source = forward_over_reverse.tangent_source
    return hessian_vector_product


def _basis(x):
    x = np.asarray(x, dtype=float)
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = 1.0
        yield e.reshape(x.shape) if x.ndim else float(e[0])


def jacobian(func: Callable, wrt: int = 0, *, optimized: bool = True, mode: str = "auto") -> Callable:
    """The Jacobian of ``func`` with respect to one argument.

    ``jacobian(f, wrt)(*args)`` has shape ``f(*args).shape + args[wrt].shape``;
    it uses forward sweeps when the input is smaller than the output and
    reverse sweeps otherwise (``mode`` forces one). Example::

        J = tangent.jacobian(f)(x)
    """
    if not isinstance(wrt, int):
        raise TangentError("jacobian takes a single argument index as wrt")
    def forward(*args):
        return autodiff(func, wrt, "forward", optimized=optimized, preserve_result=True)(*args)

    def reverse(*args):
        return autodiff(func, wrt, "reverse", optimized=optimized, preserve_result=True)(*args)

    def jacobian_of(*args):
        args = _with_defaults(func, args)
        x = args[wrt]
        in_shape = np.shape(x)
        basis = list(_basis(x))
        columns = []
        if mode != "reverse" and basis:
            # the first forward sweep also gives the output: f runs once per sweep
            column, out = forward(*args, basis[0])
            columns.append(np.asarray(column))
        else:
            out = func(*args)  # the output's shape, for the seeds of the reverse sweeps
        out_shape = np.shape(out)
        use_forward = mode == "forward" or (mode == "auto" and np.size(x) <= np.size(out))
        if use_forward:
            columns += [np.asarray(forward(*args, e)[0]) for e in basis[len(columns):]]
            J = np.stack(columns, axis=-1) if columns else np.zeros(out_shape + (0,))
            return J.reshape(out_shape + in_shape)
        rows = [np.asarray(reverse(*args, u)[0]) for u in _basis(out)]
        J = np.stack(rows, axis=0) if rows else np.zeros((0,) + in_shape)
        return J.reshape(out_shape + in_shape)

    return jacobian_of


def hessian(func: Callable, wrt: int = 0, *, optimized: bool = True) -> Callable:
    """The Hessian of a scalar function with respect to one argument, from
    one Hessian-vector product per input element. Example::

        H = tangent.hessian(f)(x)     # shape x.shape + x.shape
    """
    product = hvp(func, wrt, optimized=optimized)

    def hessian_of(*args):
        x = args[wrt]
        columns = [np.asarray(product(*args, e)) for e in _basis(x)]
        H = np.stack(columns, axis=-1) if columns else np.zeros((0, 0))
        return H.reshape(np.shape(x) + np.shape(x))

    return hessian_of


def _with_defaults(func, args) -> tuple:
    """Positional arguments with the function's defaults filled in, so that
    tangents or seeds can follow them."""
    import inspect

    bound = inspect.signature(func).bind(*args)
    bound.apply_defaults()
    return tuple(bound.args)


def zeros_like_float(x):
    return np.zeros(np.shape(x)) if np.ndim(x) else 0.0
