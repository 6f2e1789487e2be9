"""``tangent.trace(fn)``: functions differentiated by tracing at run time.

For a function whose source Tangent cannot read or whose constructs it does
not support. ``trace(fn)`` returns a function that calls ``fn`` and has
derivative rules of its own, so transformed code (and ``grad``, ``jvp``,
...) calls it like any other function. When a derivative needs it, ``fn``
runs on tracer values standing for its array and float arguments: each
NumPy function (through ``__array_function__`` / ``__array_ufunc__``),
operator and indexing is recorded as one line of a straight-line Python
program (``v2 = np.sin(a0)``), which Tangent then differentiates with its
own rules, like any source (``tangent.source`` of its derivative is
readable). A program is generated once per sequence of operations: the
cache is keyed by the program's text (shapes are handled as for any
function, by the derivative's specialisation).

Contract and limits: control flow on a traced value (``if np.sum(x) > 0``)
is followed as it goes at that call (traced again at each call, generated
again when it differs). Only float (and complex) arrays and float numbers
are traced: ints, bools, complex numbers, lists, objects and keyword
arguments are constants of the program (zero derivative). ``fn`` must not
write into traced values, convert them to Python numbers (``float(x)``,
``math.sin``) or hand them to code outside NumPy that reads their memory:
each raises a ``TracingError``. ``fn`` runs once per call in a derivative:
the call in the derivative's forward part runs it on tracers, which give
the result and the program its rules use (called from other code, ``fn``
runs as it is). Forward over reverse (``hvp``, ``hessian``) goes through the
program's generated gradient; reverse over reverse is refused (the traced
function's gradient has no reverse rule).
"""

from __future__ import annotations

import functools
import inspect
import itertools
import linecache
import numbers
import operator
import sys
import threading
from typing import Callable

import numpy as np

from .errors import TangentError

__all__ = ["TracingError", "trace"]


class TracingError(TangentError):
    """``fn`` did something with a traced value that tracing cannot record."""


_BINARY = {"add": "+", "sub": "-", "mul": "*", "truediv": "/", "floordiv": "//", "mod": "%", "pow": "**",
           "matmul": "@", "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "==", "ne": "!="}
_LITERALS = (bool, int, str, type(None), type(Ellipsis))


class _Recorder:
    """The program being recorded: its lines, its inputs and constants."""

    def __init__(self, label: str):
        self.label = label
        self.lines: list[str] = []
        self.params: list[str] = []
        self.constants: list = []
        self.functions: dict[str, object] = {}
        self._names = itertools.count()

    def fresh(self) -> str:
        return f"v{next(self._names)}"

    def constant(self, value) -> str:
        for i, known in enumerate(self.constants):
            if known is value:
                return f"c{i}"
        self.constants.append(value)
        return f"c{len(self.constants) - 1}"

    def function(self, fn) -> str:
        """The program's name for the function ``fn`` (np.sin, np.linalg.norm)."""
        module = getattr(fn, "__module__", None) or ""
        name = getattr(fn, "__name__", "")
        if isinstance(fn, np.ufunc) and getattr(np, name, None) is fn:
            return f"np.{name}"
        if module.startswith("numpy"):
            path = module.split(".")[1:]
            path = [p for p in path if not p.startswith("_")]
            obj = np
            for part in path:
                obj = getattr(obj, part, None)
            if obj is not None and getattr(obj, name, None) is fn:
                return ".".join(["np", *path, name])
            if getattr(np, name, None) is fn:
                return f"np.{name}"
        key = f"{name or 'function'}_{len(self.functions)}"
        self.functions[key] = fn
        return key

    def expr(self, value) -> str:
        """Source text standing for ``value`` in the program."""
        if isinstance(value, Tracer):
            if value._recorder is not self:
                raise TracingError(f"a value traced in another call reached {self.label}")
            return value._name
        if isinstance(value, _LITERALS):
            return repr(value)
        if isinstance(value, slice):
            return f"slice({self.expr(value.start)}, {self.expr(value.stop)}, {self.expr(value.step)})"
        if isinstance(value, list):
            return "[" + ", ".join(self.expr(v) for v in value) + "]"
        if isinstance(value, tuple) and type(value) is tuple:
            return "(" + "".join(self.expr(v) + ", " for v in value) + ")"
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            return "{" + ", ".join(f"{k!r}: {self.expr(v)}" for k, v in value.items()) + "}"
        return self.constant(value)

    def record(self, text: str, value) -> Tracer | object:
        """Add ``v = text`` computing ``value``; the traced result."""
        name = self.fresh()
        self.lines.append(f"    {name} = {text}")
        return _wrap(self, name, value)


def _wrap(recorder: _Recorder, name: str, value):
    if isinstance(value, tuple) and type(value) is tuple:
        return tuple(recorder.record(f"{name}[{i}]", v) for i, v in enumerate(value))
    if isinstance(value, list):
        return [recorder.record(f"{name}[{i}]", v) for i, v in enumerate(value)]
    return Tracer(recorder, name, value)


def _value(x):
    if isinstance(x, Tracer):
        return x._value
    if isinstance(x, list):
        return [_value(v) for v in x]
    if isinstance(x, tuple) and type(x) is tuple:
        return tuple(_value(v) for v in x)
    if isinstance(x, dict):
        return {k: _value(v) for k, v in x.items()}
    return x


def _recorder_of(values) -> _Recorder | None:
    for v in values:
        if isinstance(v, Tracer):
            return v._recorder
        if isinstance(v, (list, tuple)):
            found = _recorder_of(v)
            if found is not None:
                return found
        if isinstance(v, dict):
            found = _recorder_of(v.values())
            if found is not None:
                return found
    return None


def _call_text(recorder: _Recorder, fn_text: str, args, kwargs) -> str:
    parts = [recorder.expr(a) for a in args] + [f"{k}={recorder.expr(v)}" for k, v in kwargs.items()]
    return f"{fn_text}({', '.join(parts)})"


def _binary(name: str, reflected: bool = False):
    symbol = _BINARY[name]
    op = getattr(operator, name)

    def method(self, other):
        if isinstance(other, Tracer) and other._recorder is not self._recorder:
            return NotImplemented
        left, right = (other, self) if reflected else (self, other)
        value = op(_value(left), _value(right))
        r = self._recorder
        return r.record(f"{r.expr(left)} {symbol} {r.expr(right)}", value)

    method.__name__ = f"__{'r' if reflected else ''}{name}__"
    return method


def _array_method(fn_name: str):
    def method(self, *args, **kwargs):
        return getattr(np, fn_name)(self, *args, **kwargs)

    method.__name__ = fn_name
    return method


class Tracer:
    """A value of a traced call: its concrete value and the program's name
    for it. NumPy functions, ufuncs, operators and indexing on it are
    recorded; its shape, dtype and truth value are the concrete ones."""

    __array_priority__ = 1000

    def __init__(self, recorder: _Recorder, name: str, value):
        self._recorder = recorder
        self._name = name
        self._value = value

    # what NumPy calls
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or "out" in kwargs:
            raise TracingError(f"{ufunc.__name__}.{method}{' with out=' if 'out' in kwargs else ''} cannot be "
                               f"traced in {self._recorder.label}; call the function itself")
        value = ufunc(*[_value(i) for i in inputs], **_value(kwargs))
        r = self._recorder
        return r.record(_call_text(r, r.function(ufunc), inputs, kwargs), value)

    def __array_function__(self, func, types, args, kwargs):
        if "out" in kwargs:
            raise TracingError(f"{func.__name__}(..., out=...) cannot be traced in {self._recorder.label}")
        value = func(*_value(args), **_value(kwargs))
        r = self._recorder
        return r.record(_call_text(r, r.function(func), args, kwargs), value)

    def __array__(self, dtype=None, copy=None):
        raise TracingError(f"a traced value of {self._recorder.label} was converted to a plain array, which would lose "
                           "its derivative; use NumPy functions on it")

    # attributes read concretely
    shape = property(lambda self: np.shape(self._value))
    ndim = property(lambda self: np.ndim(self._value))
    size = property(lambda self: np.size(self._value))
    dtype = property(lambda self: np.asarray(self._value).dtype)
    T = property(lambda self: np.transpose(self))

    def __len__(self):
        return len(self._value)

    def __iter__(self):
        return (self[i] for i in range(len(self._value)))

    def __bool__(self):
        return bool(self._value)  # Python control flow follows this call's values

    def _refuse_number(self, *_):
        raise TracingError(f"a traced value of {self._recorder.label} was converted to a Python number (float(x), "
                           "int(x), math.*), which would lose its derivative; use NumPy functions on it")

    __float__ = __int__ = __index__ = __complex__ = _refuse_number

    def __getitem__(self, index):
        r = self._recorder
        return r.record(f"{self._name}[{r.expr(index)}]", self._value[_value(index)])

    def __setitem__(self, index, value):
        raise TracingError(f"{self._recorder.label} writes into a traced value; tracing records no writes "
                           "(build a new array, e.g. with np.concatenate or np.where)")

    def __neg__(self):
        return self._recorder.record(f"-{self._name}", -self._value)

    def __pos__(self):
        return self

    def __abs__(self):
        return np.abs(self)

    for _n in _BINARY:
        locals()[f"__{_n}__"] = _binary(_n)
        if _n not in ("lt", "le", "gt", "ge", "eq", "ne"):
            locals()[f"__r{_n}__"] = _binary(_n, reflected=True)
    del _n
    __hash__ = None

    for _m in ("sum", "mean", "prod", "max", "min", "dot", "reshape", "ravel", "transpose", "clip", "std", "var",
               "cumsum", "squeeze", "swapaxes", "round", "trace", "diagonal", "conj", "real", "imag"):
        locals()[_m] = _array_method(_m)
    del _m

    def flatten(self):
        return np.ravel(self)

    def copy(self):
        return np.copy(self)

    def astype(self, dtype):
        return self._recorder.record(f"{self._name}.astype({self._recorder.expr(dtype)})", self._value.astype(dtype))

    def __repr__(self):
        return f"Tracer({self._name}={self._value!r})"


def _traced_argument(value) -> bool:
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "fc"
    return isinstance(value, (float, np.floating)) or (
        isinstance(value, numbers.Real) and not isinstance(value, (bool, int, np.integer)))


class _Program:
    """A recorded program: the compiled function, which of its parameters
    are the traced arguments, and its derivatives (made on first use)."""

    def __init__(self, func: Callable, n_traced: int):
        self.func = func
        self.n_traced = n_traced
        self._lock = threading.Lock()
        self._derivatives: dict = {}

    def derivative(self, kind: str):
        with self._lock:
            if kind not in self._derivatives:
                from . import api

                wrt = tuple(range(self.n_traced))
                if kind == "vjp":
                    self._derivatives[kind] = api.vjp(self.func, wrt)
                else:
                    self._derivatives[kind] = api.jvp(self.func, wrt)
            return self._derivatives[kind]


_programs: dict[str, _Program] = {}
_programs_lock = threading.Lock()
_counter = itertools.count()


def _record(fn: Callable, label: str, args: tuple) -> tuple[_Program, list, list[int], object]:
    """Trace ``fn(*args)``: (the program, its arguments: the traced ones
    first, then the constants; the indices of the traced arguments; the
    result, computed by the same calls on the concrete values)."""
    recorder = _Recorder(label)
    traced = [i for i, a in enumerate(args) if _traced_argument(a)]
    call_args = list(args)
    for k, i in enumerate(traced):
        call_args[i] = Tracer(recorder, f"a{k}", args[i])
    out = fn(*call_args)
    result = recorder.expr(out)
    if _recorder_of([out]) is None and not isinstance(out, Tracer):
        result = recorder.expr(out)
    params = [f"a{k}" for k in range(len(traced))] + [f"c{i}" for i in range(len(recorder.constants))]
    name = f"traced_{getattr(fn, '__name__', 'function')}".replace("<", "").replace(">", "")
    source = "\n".join([f"def {name}({', '.join(params)}):", *recorder.lines, f"    return {result}", ""])
    key = source + repr(sorted((k, id(v)) for k, v in recorder.functions.items()))
    with _programs_lock:
        program = _programs.get(key)
        if program is None:
            filename = f"<trace of {label} #{next(_counter)}>"
            linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
            namespace = {"np": np, **recorder.functions}
            exec(compile(source, filename, "exec"), namespace)
            program = _Program(namespace[name], len(traced))
            _programs[key] = program
    return program, [args[i] for i in traced] + recorder.constants, traced, _value(out)


# Programs the primal of a derivative recorded (a call from generated code),
# read by every rule of that call; keyed by the arguments' identities (the
# entry holds them, so none is reused while kept); the last few per thread.
_recent = threading.local()
_RECENT_MAX = 16


def _recorded_call(traced_fn, args: tuple):
    """``traced_fn(*args)`` from a derivative's primal: the result, the
    program kept for the rules."""
    program, values, traced, result = _record(traced_fn.__wrapped__, traced_fn.trace_label, args)
    kept = getattr(_recent, "programs", None)
    if kept is None:
        kept = _recent.programs = {}
    kept[(id(traced_fn), tuple(map(id, args)))] = (args, program, values, traced)
    while len(kept) > _RECENT_MAX:
        kept.pop(next(iter(kept)))
    return result


def _program_for(traced_fn, args: tuple) -> tuple[_Program, list, list[int]]:
    """The program of ``traced_fn`` at ``args``: the one its call in the
    primal recorded, else recorded now."""
    kept = getattr(_recent, "programs", None) or {}
    entry = kept.get((id(traced_fn), tuple(map(id, args))))
    if entry is not None and len(entry[0]) == len(args) and all(a is b for a, b in zip(entry[0], args)):
        return entry[1], entry[2], entry[3]
    return _record(traced_fn.__wrapped__, traced_fn.trace_label, args)[:3]


def trace_vjp(traced_fn, seed, *args):
    """The adjoints of ``traced_fn``'s arguments for the output adjoint
    ``seed``: the vector-Jacobian product of the program ``fn`` records at
    ``args`` (a zero, None, for arguments not traced). Example::

        trace_vjp(tangent.trace(f), 1.0, x)   # (gradient of f at x,)
    """
    program, values, traced = _program_for(traced_fn, args)
    grads: list = [None] * len(args)
    if not traced:
        return tuple(grads)
    out = program.derivative("vjp")(*values, seed)
    out = (out,) if len(traced) == 1 else out
    for i, g in zip(traced, out):
        grads[i] = g
    return tuple(grads)


def trace_jvp(traced_fn, args: tuple, tangents: tuple):
    """The tangent of ``traced_fn(*args)`` along ``tangents`` (one per
    argument; None or a zero for those not varied), by forward mode over
    the recorded program. Example::

        trace_jvp(tangent.trace(f), (x,), (v,))   # J(x) @ v
    """
    program, values, traced = _program_for(traced_fn, args)
    if not traced:
        result = program.func(*values)
        return np.zeros_like(result) if isinstance(result, np.ndarray) else 0.0
    return program.derivative("jvp")(*values, *[_tangent_for(tangents[i], args[i]) for i in traced])


def trace_vjp_jvp(traced_fn, seed_and_args: tuple, tangents: tuple):
    """The tangent of ``trace_vjp(traced_fn, seed, *args)`` along the
    tangents of the seed and the arguments (None: not varied), by forward
    mode over the program's generated vector-Jacobian product: what a
    Hessian-vector product through a traced function needs. Example::

        trace_vjp_jvp(tangent.trace(f), (1.0, x), (None, v))   # (H @ v,)
    """
    seed, args = seed_and_args[0], seed_and_args[1:]
    program, values, traced = _program_for(traced_fn, args)
    out: list = [None] * len(args)
    if not traced:
        return tuple(out)
    vjp = program.derivative("vjp")
    n = len(values)
    with program._lock:
        if "vjp_jvp" not in program._derivatives:
            from . import api

            program._derivatives["vjp_jvp"] = api.jvp(vjp, tuple(range(len(traced))) + (n,))
        vjp_jvp = program._derivatives["vjp_jvp"]
    chosen = [_tangent_for(tangents[1 + i], args[i]) for i in traced]
    seed_tangent = tangents[0] if tangents[0] is not None else np.zeros_like(np.asarray(seed, dtype=float))
    got = vjp_jvp(*values, seed, *chosen, seed_tangent)
    got = (got,) if len(traced) == 1 else got
    for i, t in zip(traced, got):
        out[i] = t
    return tuple(out)


def _tangent_for(t, like):
    if t is None:
        return np.zeros_like(like) if isinstance(like, np.ndarray) else 0.0
    if np.ndim(t) == 0 and np.ndim(like):
        return np.full(np.shape(like), t, dtype=np.result_type(like, float))
    return t


def trace(fn: Callable) -> Callable:
    """Mark ``fn`` to be differentiated by tracing at run time instead of
    from its source: the returned function calls ``fn`` and can be called
    from any function Tangent differentiates, or differentiated itself.
    Its float array and number arguments are traced; see the module
    documentation for the limits. Example::

        fast = tangent.trace(some_compiled_or_sourceless_function)

        def loss(x):
            return np.sum(fast(x) ** 2)

        tangent.grad(loss)(np.ones(3))
    """
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        raise TangentError(f"tangent.trace needs a function whose signature Python can read, got {fn!r}") from None
    params = list(signature.parameters.values())
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.KEYWORD_ONLY) for p in params):
        raise TangentError(f"tangent.trace: {getattr(fn, '__qualname__', fn)!r} takes *args, **kwargs or "
                           "keyword-only parameters; trace a function of positional parameters")

    @functools.wraps(fn)
    def traced(*args, **kwargs):
        if not kwargs and sys._getframe(1).f_code.co_filename.startswith("<tangent ") \
                and any(_traced_argument(a) for a in args):
            return _recorded_call(traced, args)  # the primal of a derivative: fn runs once, recording
        return fn(*args, **kwargs)

    traced.trace_label = getattr(fn, "__qualname__", getattr(fn, "__name__", repr(fn)))
    traced.__signature__ = signature
    from .rules.trace_rules import register_trace_rules  # here: `import tangent` loads no rules

    register_trace_rules(traced, [p.name for p in params], trace_vjp, trace_jvp, trace_vjp_jvp)
    return traced
