"""Derivatives compiled with numba: ``tangent.grad(f, compile="numba")``.

Takes the generated derivative (the Python function ``Session.build`` made,
its source and globals) and, at the first call with each combination of
argument kinds, the code specialised to them; gives a ``numba.njit``
dispatcher computing the same values. The lowering is a separate pass over
the generated source (the Python path is untouched):

- the tape ``stack`` (one Python list, pushes of floats and arrays mixed) becomes
  one typed list per pushed variable (``stack_x``), and the ``None`` a variable
  holds before its loop a placeholder of its type (``0.0``, an empty array);
- ``reversed(r)`` becomes ``reversed_sequence(r)``, runtime helpers their
  numba versions (``tangent.runtime.numba``), constant globals literals.

The types of the pushed values come from running the Python derivative once
on the first call's arguments (a probe, on which the compiled result is then
checked: a disagreement is an error, never a silent wrong gradient). The
lowered module is written to ``$TANGENT_CACHE_DIR/numba`` (default
``~/.cache/tangent/numba``) under a hash of its text and compiled with
``njit(cache=True)``, so another process loads numba's machine code instead of
compiling. Code numba cannot compile is refused with ``NumbaRefusal`` naming
the user's line; the Python code never runs in its place.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import importlib.util
import os
import re
import sys
import types as pytypes
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .numba_lowering import (
    BUILTINS,
    RANGE,
    Label,
    NumbaRefusal,
    free_names,
    global_line,
    lower,
    lower_lines,
    module_text,
    refuse,
    require_numba,
    why_not,
)
from .ownership import input_ids, owned_gradients, owned_value
from .shapes import argument_kind
from .specialize import differentiable

__all__ = ["NumbaRefusal", "cache_dir", "check_options", "check_transformable", "compiling", "compiling_for", "lower"]


def cache_dir() -> Path:
    """Where lowered modules (and numba's cache, in their ``__pycache__``) live."""
    root = os.environ.get("TANGENT_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "tangent")
    return Path(root) / "numba"


def _load(text: str) -> tuple[pytypes.ModuleType, Path]:
    """Import the module ``text``, written once to the cache directory."""
    digest = hashlib.sha256((text + require_numba().__version__).encode()).hexdigest()[:24]
    directory = cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"tangent_numba_{digest}.py"
    if not path.exists():  # (an existing file keeps its mtime: numba's cache index stays valid)
        temporary = directory / f".{path.name}.{os.getpid()}"
        temporary.write_text(text)
        os.replace(temporary, path)
    name = f"tangent_numba_{digest}"
    if name in sys.modules:
        return sys.modules[name], path
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[name] = module
    return module, path


# ---- the probe: the Python derivative run once, recording what it pushes --------


class _ProbeStack(list):
    """A tape recording the numba type of what is pushed on it (None aside)."""

    def __init__(self, name: str, seen: dict):
        super().__init__()
        self.name, self.seen = name, seen

    def append(self, value):
        if value is not None and not isinstance(self.seen.get(self.name), str):
            self.seen[self.name] = _unified(self.name, self.seen.get(self.name), value)
        super().append(value)


def _unified(name: str, known, value):
    """The numba type holding both ``known`` (a type or None) and ``value``; a
    string saying why not when there is none."""
    numba = require_numba()
    if isinstance(value, range):
        return RANGE if known in (None, RANGE) else f"{name} holds a {known} and later a range"
    try:
        found = numba.typeof(value)
    except ValueError:
        return f"{name} holds a {type(value).__name__}, which numba has no type for"
    if known is None or known == found:
        return found
    from numba.core.registry import cpu_target
    unified = cpu_target.typing_context.unify_pairs(known, found)
    if unified is None or isinstance(unified, numba.types.Optional):
        return f"{name} holds a {known} and later a {found} (numba needs one type per variable)"
    return unified


def _probe(python: Callable, args: Sequence, fallback: str) -> tuple[object, dict]:
    """Run the Python derivative on ``args`` with recording tapes: (result, types pushed)."""
    source = python.tangent_source
    probe_source, _ = lower(source, None, fallback)
    seen: dict = {}
    namespace = dict(python.__globals__)
    from .runtime import numba as helpers  # (their Python versions: what the lowered lines call)
    namespace.update(probe_stack=lambda name: _ProbeStack(name, seen), reversed_sequence=reversed,
                     kept_max=helpers.kept_max, kept_min=helpers.kept_min)
    exec(compile(probe_source, getattr(python, "tangent_filename", "<tangent probe>"), "exec"), namespace)
    return namespace[python.__name__](*args), seen


# ---- compiling -----------------------------------------------------------------


def _argument_problem(index: int, value) -> str | None:
    numba = require_numba()
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
        return None
    if isinstance(value, (bool, int, float, complex, np.number)):
        return None
    try:
        numba.typeof(value)
    except ValueError:
        pass
    return (f"argument {index + 1} is a {type(value).__name__}; the numba path takes numbers and numeric "
            "arrays (pass a container's arrays as separate arguments)")


def _typing_message(error: Exception, text: str, path: Path, fallback: str) -> NumbaRefusal:
    """``error`` from numba, as a refusal naming the user's line it comes from."""
    message = re.sub(r"\x1b\[[0-9;]*m", "", str(error))
    lines = text.splitlines()
    index = None
    for found in re.finditer(r'File "([^"]+)", line (\d+)', message):
        if os.path.basename(found.group(1)) == path.name:
            index = int(found.group(2)) - 1
    summary = " ".join(line.strip() for line in message.splitlines()[:6] if line.strip())
    summary = re.sub(r"\s+", " ", summary.split("During:")[0].split("File \"")[0])[:400].strip()
    if index is None:
        return NumbaRefusal(f"{fallback}\n  cannot be compiled with numba ({summary}); "
                            'drop compile="numba" for this function or rewrite it')
    return refuse(lines, index, fallback, f"numba says: {summary}")


def _agree(compiled, python, rtol: float) -> bool:
    """Whether the compiled result is the Python derivative's (to rounding)."""
    if isinstance(python, (tuple, list)):
        return isinstance(compiled, (tuple, list)) and len(compiled) == len(python) and all(
            _agree(c, p, rtol) for c, p in zip(compiled, python))
    c, p = np.asarray(compiled), np.asarray(python)
    if c.shape != p.shape:
        return False
    scale = float(np.max(np.abs(p))) if p.size else 0.0
    return bool(np.allclose(c, p, rtol=rtol, atol=rtol * 1e-2 * scale, equal_nan=True))


def _rounding(args) -> float:
    """How far two orders of the same float operations may drift on ``args``
    (float32 arguments: float32 rounding, numba and NumPy promote differently)."""
    eps = [np.finfo(a.dtype).eps for a in args if isinstance(a, np.ndarray) and a.dtype.kind in "fc"]
    return max([1e-7] + [1e3 * e for e in eps])


def _compile(python: Callable, args: Sequence, fallback: str) -> tuple[Callable, object, Path]:
    """The njit dispatcher of ``python`` for ``args``, and its result on them."""
    numba = require_numba()
    for index, value in enumerate(args):
        problem = _argument_problem(index, value)
        if problem:
            raise NumbaRefusal(f"{fallback}\n  {problem}; or drop compile=\"numba\"")
    from .runtime.numba import NUMBA_HELPERS
    expected, pushed_types = _probe(python, args, fallback)
    body, _ = lower(python.tangent_source, pushed_types, fallback)
    text = module_text(body, python.__globals__, fallback, NUMBA_HELPERS)
    module, path = _load(text)
    dispatcher = getattr(module, python.__name__)
    try:
        result = dispatcher(*args)
    except numba.core.errors.NumbaError as error:
        raise _typing_message(error, text, path, fallback) from None
    if not _agree(result, expected, _rounding(args)):
        raise NumbaRefusal(f"{fallback}\n  the numba-compiled derivative disagrees with the Python one "
                           f"(module {path}); please report it, and drop compile=\"numba\" meanwhile")
    return dispatcher, result, path


def _owned(out, args, defaults, returns):
    """``out`` as ``ownership.returning_owned`` gives it (floats for floats: as they are)."""
    mode, wrt, preserve_result = returns
    value, result = (out[0], out[1:]) if preserve_result else (out, ())
    if mode == "reverse":
        likes = [args[i] if i < len(args) else defaults[i] for i in wrt]
        plain = type(value) is float if len(likes) == 1 else all(type(v) is float for v in value)
        if not (plain and all(type(like) is float for like in likes)):
            value = owned_gradients(value, likes, input_ids(args))
    else:
        value = owned_value(value, None, input_ids(args))
    return (value, *result) if preserve_result else value


def _floats(value) -> bool:
    """Whether ``value`` is a Python float or a tuple of them (returned as they are)."""
    return type(value) is float or type(value) is tuple and all(type(v) is float for v in value)


def compiling(generic: Callable, specialize: Callable | None, fallback: str,
              returns: tuple = ("reverse", (0,), False)) -> Callable:
    """The derivative ``generic`` compiled with numba per combination of
    argument kinds: at its first call, the code ``specialize(args)`` gives
    (``generic`` when None) is lowered, probed, compiled and checked.
    ``fallback`` names the user's function (file:line) for messages.

    Example::

        df = compiling(generic, lambda args: specialised_code_for(args), "f.py:3: def f(x):")
        df(0.5)
    """
    import threading
    table: dict = {}
    lock = threading.Lock()

    def key_of(args):
        return tuple((argument_kind(a), a.flags.c_contiguous, a.flags.writeable) if isinstance(a, np.ndarray)
                     else argument_kind(a) for a in args)

    numbers: dict = {}  # argument types, all numbers, whose results are returned as they are -> compiled

    def derivative(*args, **kwargs):
        compiled = numbers.get(tuple(map(type, args)))
        if compiled is not None and not kwargs:  # (the fast path: a call on floats costs microseconds)
            return compiled(*args)
        if kwargs:
            raise NumbaRefusal(f"{fallback}\n  a derivative compiled with numba takes its arguments by position")
        key = key_of(args)
        found = table.get(key)
        if found is not None:
            compiled, plain = found
            return compiled(*args) if plain else _owned(compiled(*args), args, defaults, returns)
        with lock:
            python = specialize(args) if specialize is not None else generic
            compiled, result, _ = _compile(python, args, fallback)
            owned = _owned(result, args, defaults, returns)
            table[key] = compiled, _floats(owned) and _floats(result) and owned == result
            if table[key][1] and all(type(a) in (float, int, bool) for a in args):
                numbers[tuple(map(type, args))] = compiled
        return owned

    defaults = [p.default for p in __import__("inspect").signature(generic).parameters.values()]

    derivative.__signature__ = __import__("inspect").signature(generic)
    derivative.__name__ = generic.__name__
    derivative.__doc__ = generic.__doc__
    derivative.tangent_source = generic.tangent_source
    derivative.tangent_generic = generic
    if specialize is not None:
        derivative.tangent_specialized_for = lambda *args: specialize(args)
    derivative.tangent_numba_for = lambda *args: table.get(key_of(args), (None,))[0]
    return derivative


# ---- what can be refused when the derivative is made --------------------------

_ARRAY_ATTRIBUTES = {"shape", "T", "ndim", "size", "dtype", "real", "imag", "sum", "dot", "reshape", "astype",
                     "copy", "ravel", "flatten", "transpose", "max", "min", "mean", "prod", "conj", "item"}


def check_transformable(generic: Callable, fallback: str) -> None:
    """Refuse, when the derivative is made, code that cannot reach numba
    whatever the arguments: containers indexed by string keys, attributes of
    objects, a tape of expressions, globals with no numba version (a user
    function, a global array). Runtime helpers are checked at the first call
    (the code specialised to the arguments' shapes calls fewer)."""
    from .runtime.numba import NUMBA_HELPERS
    source = generic.tangent_source
    lines = source.splitlines()
    lower_lines(source, fallback)
    tree = ast.parse(source)
    parameters = {a.arg for f in tree.body if isinstance(f, ast.FunctionDef) for a in f.args.args}
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
            raise refuse(lines, node.lineno - 1, fallback,
                          "it indexes a dict (numba takes numbers and arrays: pass its arrays as separate arguments)")
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.attr not in _ARRAY_ATTRIBUTES \
                and node.value.id in parameters:
            raise refuse(lines, node.lineno - 1, fallback,
                          f"it reads the attribute {node.attr!r} of an object (pass the values as arguments)")
    for name, lineno in free_names(tree).items():
        value = generic.__globals__.get(name, getattr(builtins, name, None))
        if name in BUILTINS or getattr(value, "__module__", "").startswith("tangent.") or name in {f.name for f in tree.body if isinstance(f, ast.FunctionDef)}:
            continue
        if value is None or global_line(name, value, NUMBA_HELPERS) is None:
            raise refuse(lines, lineno - 1, fallback, why_not(value) if value is not None else f"{name!r} is undefined")



def check_options(compile: str, motion: str, check_finite: bool, memory_limit, has_aux: bool = False,
                  check_dims=None) -> None:
    """Refuse what ``compile=`` cannot go with (before anything is generated)."""
    if compile != "numba":
        raise NumbaRefusal(f'compile={compile!r} is not supported; use compile="numba" or leave it out')
    require_numba()
    for asked, what in ((motion != "joint", "motion='split'"), (check_finite, "check_finite=True"),
                        (memory_limit is not None, "memory_limit"), (has_aux, "has_aux=True"),
                        (check_dims is False, "check_dims=False")):
        if asked:
            raise NumbaRefusal(f'compile="numba" does not go with {what} yet; drop one of them')


def _label(func) -> str:
    code = getattr(func, "__code__", None)
    if code is None:
        return f"the derivative of {getattr(func, '__name__', func)!r}"
    import inspect
    try:
        lines, first = inspect.getsourcelines(func)
    except (OSError, TypeError):
        lines, first = [""], code.co_firstlineno
    filename = os.path.basename(code.co_filename)
    numbered = [(first + i, line) for i, line in enumerate(lines)]
    head = lines[0].strip() if lines else ""
    return Label(f"{filename}:{first}: {head}", filename, numbered)


def compiling_for(func: Callable, generic: Callable, specialize: Callable | None, returns: tuple) -> Callable:
    """``compiling`` for the derivative ``generic`` of the user's ``func``,
    after the checks that can be made now (``check_transformable``);
    ``returns`` is ``(mode, wrt, preserve_result)``, what ``returning_owned`` takes.

    Example::

        df = compiling_for(f, generic, None, ("reverse", (0,), False))
    """
    label = _label(func)
    check_transformable(generic, label)
    return compiling(generic, specialize, label, returns)


def compiled_hvp(func: Callable, gradient: Callable, wrt: tuple, n: int) -> Callable:
    """``tangent.hvp(func, wrt, compile="numba")``: forward mode over
    ``gradient`` (``tangent.grad(func, wrt)``) specialised to the first
    call's arguments, compiled with numba per combination of argument kinds.

    Example::

        hvp = compiled_hvp(f, tangent.grad(f), (0,), 1)
        hvp(x, v)
    """
    from .api import autodiff
    label = _label(func)
    check_transformable(autodiff(gradient, wrt, "forward").tangent_generic, label)

    def forward_over_reverse(args):
        code = differentiable(gradient.tangent_specialized_for(*args[:n]), args[:n])
        return autodiff(code, wrt, "forward").tangent_generic

    def place_seed(args):  # (the gradient's seed, 1.0, between the arguments and the vectors)
        return (*args[:n], 1.0, *args[n:])

    table: dict = {}

    def hessian_vector_product(*args):
        if len(args) != n + len(wrt):
            raise NumbaRefusal(f"{label}\n  hvp takes {n} arguments and {len(wrt)} vectors, got {len(args)} values")
        key = tuple(float if type(a) is float else argument_kind(a) for a in args)
        found = table.get(key)
        if found is None:
            found = table[key] = compiling(forward_over_reverse(args), None, label, ("forward", wrt, False))
        out = found(*place_seed(args))
        return owned_gradients(out, [args[i] for i in wrt], input_ids(args))

    hessian_vector_product.tangent_source = gradient.tangent_source
    return hessian_vector_product
