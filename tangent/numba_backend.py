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
import math
import os
import re
import sys
import types as pytypes
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .errors import TangentError
from .ownership import input_ids, owned_gradients, owned_value
from .shapes import argument_kind

__all__ = ["NumbaRefusal", "cache_dir", "check_options", "check_transformable", "compiling", "compiling_for", "lower"]

_COMMENT = re.compile(r"\s*# (\S+:\d+: .*)")
_PUSH = re.compile(r"^(\s*)stack\.append\((\w+)\)$")
_POP = re.compile(r"^(\s*)(\w+) = stack\.pop\(\)$")
_NEW_STACK = re.compile(r"^(\s*)stack = \[\]$")
_PLACEHOLDER = re.compile(r"^(\s*)(\w+) = None$")
_REVERSED = re.compile(r"\breversed\(")
_MODULES = {"numpy": "numpy", "math": "math", "cmath": "cmath"}
_BUILTINS = {"range", "len", "float", "int", "bool", "complex", "abs", "min", "max", "round", "True", "False",
             "None", "enumerate", "zip", "tuple", "sum", "pow", "divmod", "print", "reversed", "reversed_sequence"}


class NumbaRefusal(TangentError):
    """``compile="numba"`` was asked for code numba cannot compile (or
    numba is not installed); the message names the user's line and says
    what to do instead.

    Example::

        try:
            tangent.grad(f, compile="numba")(x)
        except tangent.NumbaRefusal as e:
            print(e)   # ... drop compile="numba" or rewrite the line
    """


def _numba():
    try:
        import numba
    except ImportError as error:
        raise NumbaRefusal('compile="numba" needs numba: pip install "tangent[numba]" (numba>=0.60)') from error
    return numba


def cache_dir() -> Path:
    """Where lowered modules (and numba's cache, in their ``__pycache__``) live."""
    root = os.environ.get("TANGENT_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "tangent")
    return Path(root) / "numba"


def _where(lines: Sequence[str], index: int, fallback: str) -> str:
    """The user's line (``file.py:N: source``) of generated line ``index`` (0-based)."""
    for line in reversed(lines[: index + 1]):
        found = _COMMENT.match(line)
        if found:
            return found.group(1)
    return fallback


def _refuse(lines, index, fallback, what) -> NumbaRefusal:
    return NumbaRefusal(f"{_where(lines, index, fallback)}\n  cannot be compiled with numba: {what}; "
                        'drop compile="numba" for this function or rewrite that line')


# ---- lowering ----------------------------------------------------------------


def _lower_lines(source: str, fallback: str) -> tuple[list[str], list[str]]:
    """The generated lines with typed stacks; and the pushed variables, in order."""
    lines, pushed = [], []
    for index, line in enumerate(source.splitlines()):
        push, pop, new = _PUSH.match(line), _POP.match(line), _NEW_STACK.match(line)
        if push:
            name = push.group(2)
            pushed += [name] if name not in pushed else []
            line = f"{push.group(1)}stack_{name}.append({name})"
        elif pop:
            line = f"{pop.group(1)}{pop.group(2)} = stack_{pop.group(2)}.pop()"
        elif new:
            line = f"{new.group(1)}STACKS"
        elif re.search(r"\bstack\b", line) and not _COMMENT.match(line):
            raise _refuse(source.splitlines(), index, fallback, "the tape holds values other than variables")
        lines.append(_REVERSED.sub("reversed_sequence(", line) if not _COMMENT.match(line) else line)
    return lines, pushed


def _placeholder(numba_type) -> str:
    """Source of a value of ``numba_type`` (what a variable holds before its loop)."""
    from numba import types
    if isinstance(numba_type, types.Boolean):
        return "False"
    if isinstance(numba_type, types.Integer):
        return "0"
    if isinstance(numba_type, types.Float):
        return "0.0"
    if isinstance(numba_type, types.Complex):
        return "0j"
    if isinstance(numba_type, types.Array) and numba_type.layout in "CA" and numba_type.mutable:
        empty = f"np.empty({(0,) * numba_type.ndim}, np.{numba_type.dtype})"
        return empty if numba_type.layout == "C" else f"{empty}[::-1]"
    if isinstance(numba_type, types.Array) and numba_type.layout == "F":
        return f"np.empty({(0,) * numba_type.ndim}, np.{numba_type.dtype}).T"
    return ""


def lower(source: str, pushed_types: dict, fallback: str = "the derivative") -> tuple[str, list[str]]:
    """The generated ``source`` with one typed stack per pushed variable
    (``pushed_types``: variable -> numba type of what is pushed; None: as
    Python lists, for the probe run). Returns the lowered functions' source
    and the pushed variables. Example::

        lower("def f(x):\\n    stack = []\\n    ...", {"x": numba.float64})
    """
    lines, pushed = _lower_lines(source, fallback)
    out = []
    for index, line in enumerate(lines):
        placeholder = _PLACEHOLDER.match(line)
        if line.strip() == "STACKS":
            indent = line[: len(line) - len(line.lstrip())]
            for name in pushed:
                init = f"probe_stack({name!r})" if pushed_types is None else f"empty_stack({_typed(name, pushed_types, lines, index, fallback)})"
                out.append(f"{indent}stack_{name} = {init}")
            continue
        if placeholder and placeholder.group(2) in pushed and pushed_types is not None:
            line = f"{placeholder.group(1)}{placeholder.group(2)} = {_typed(placeholder.group(2), pushed_types, lines, index, fallback)}"
        out.append(line)
    return "\n".join(out) + "\n", pushed


def _typed(name, pushed_types, lines, index, fallback) -> str:
    found = pushed_types.get(name)
    if found is None:  # never pushed with a value in the probe: its loop did not run
        return "0.0"
    if isinstance(found, str):
        raise _refuse(lines, index, fallback, found)
    text = _placeholder(found)
    if not text:
        raise _refuse(lines, index, fallback, f"a value of numba type {found} is saved for the backward pass")
    return text


# ---- globals -----------------------------------------------------------------


def _free_names(tree: ast.Module) -> dict[str, int]:
    """Names read but never bound in the module: name -> first line (1-based)."""
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.Lambda)):
            bound.add(getattr(node, "name", ""))
            bound.update(a.arg for a in node.args.args + node.args.kwonlyargs)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
    free: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in bound:
            free[node.id] = min(free.get(node.id, node.lineno), node.lineno)
    return free


def _global_line(name: str, value, helpers: dict) -> str | None:
    """The module line defining global ``name`` for numba, or None (no numba version)."""
    if isinstance(value, pytypes.ModuleType) and value.__name__ in _MODULES:
        return f"import {value.__name__} as {name}" if value.__name__ != name else f"import {name}"
    if isinstance(value, (bool, int, float, complex)) and not isinstance(value, np.ndarray):
        return f"{name} = {value!r}"
    if isinstance(value, np.generic) and np.isfinite(value):
        return f"{name} = np.{value.dtype}({value.item()!r})"
    if id(value) in helpers:
        return f"from tangent.runtime.numba import {helpers[id(value)]} as {name}"
    for module in (np, math):
        short = getattr(value, "__name__", None)
        if short and getattr(module, short, None) is value:
            return f"from {module.__name__} import {short} as {name}"
    return None


def _why_not(value) -> str:
    if isinstance(value, np.ndarray):
        return "it reads a global array (numba would freeze it); pass the array as an argument"
    if callable(value):
        return f"it calls {getattr(value, '__name__', value)!r}, which has no numba version here"
    return f"it reads a global of type {type(value).__name__}"


def _module_text(source: str, namespace: dict, fallback: str, helpers: dict) -> str:
    """The lowered functions as a module numba compiles (``njit(cache=True)``)."""
    tree = ast.parse(source)
    lines = source.splitlines()
    header = ['"""Derivative generated by Tangent, lowered for numba (compile="numba")."""',
              "import numba", "import numpy as np",
              "from tangent.runtime.numba import empty_stack, reversed_sequence"]
    for name, lineno in sorted(_free_names(tree).items()):
        if name in {"np", "numba", "empty_stack", "reversed_sequence"} or name in dir(builtins) and name in _BUILTINS:
            continue
        if name not in namespace:
            raise _refuse(lines, lineno - 1, fallback, f"{name!r} is not defined for numba")
        line = _global_line(name, namespace[name], helpers)
        if line is None:
            raise _refuse(lines, lineno - 1, fallback, _why_not(namespace[name]))
        header.append(line)
    body = re.sub(r"^def ", "@numba.njit(cache=True)\ndef ", source, flags=re.M)
    return "\n".join(header) + "\n\n\n" + body


def _load(text: str) -> tuple[pytypes.ModuleType, Path]:
    """Import the module ``text``, written once to the cache directory."""
    digest = hashlib.sha256((text + _numba().__version__).encode()).hexdigest()[:24]
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
    numba = _numba()
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
    namespace.update(probe_stack=lambda name: _ProbeStack(name, seen), reversed_sequence=reversed)
    exec(compile(probe_source, getattr(python, "tangent_filename", "<tangent probe>"), "exec"), namespace)
    return namespace[python.__name__](*args), seen


# ---- compiling -----------------------------------------------------------------


def _argument_problem(index: int, value) -> str | None:
    numba = _numba()
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
    return _refuse(lines, index, fallback, f"numba says: {summary}")


def _agree(compiled, python) -> bool:
    """Whether the compiled result is the Python derivative's (to rounding)."""
    if isinstance(python, (tuple, list)):
        return isinstance(compiled, (tuple, list)) and len(compiled) == len(python) and all(
            _agree(c, p) for c, p in zip(compiled, python))
    c, p = np.asarray(compiled), np.asarray(python)
    if c.shape != p.shape:
        return False
    scale = float(np.max(np.abs(p))) if p.size else 0.0
    return bool(np.allclose(c, p, rtol=1e-7, atol=1e-9 * scale, equal_nan=True))


def _compile(python: Callable, args: Sequence, fallback: str) -> tuple[Callable, object, Path]:
    """The njit dispatcher of ``python`` for ``args``, and its result on them."""
    numba = _numba()
    for index, value in enumerate(args):
        problem = _argument_problem(index, value)
        if problem:
            raise NumbaRefusal(f"{fallback}: {problem}; or drop compile=\"numba\"")
    from .runtime.numba import NUMBA_HELPERS
    expected, pushed_types = _probe(python, args, fallback)
    body, _ = lower(python.tangent_source, pushed_types, fallback)
    text = _module_text(body, python.__globals__, fallback, NUMBA_HELPERS)
    module, path = _load(text)
    dispatcher = getattr(module, python.__name__)
    try:
        result = dispatcher(*args)
    except numba.core.errors.NumbaError as error:
        raise _typing_message(error, text, path, fallback) from None
    if not _agree(result, expected):
        raise NumbaRefusal(f"{fallback}: the numba-compiled derivative disagrees with the Python one "
                           f"(module {path}); please report it, and drop compile=\"numba\" meanwhile")
    dispatcher.tangent_module_path = path
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

    def derivative(*args, **kwargs):
        if kwargs:
            raise NumbaRefusal(f"{fallback}: a derivative compiled with numba takes its arguments by position")
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
    _lower_lines(source, fallback)
    tree = ast.parse(source)
    parameters = {a.arg for f in tree.body if isinstance(f, ast.FunctionDef) for a in f.args.args}
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
            raise _refuse(lines, node.lineno - 1, fallback,
                          "it indexes a dict (numba takes numbers and arrays: pass its arrays as separate arguments)")
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.attr not in _ARRAY_ATTRIBUTES \
                and node.value.id in parameters:
            raise _refuse(lines, node.lineno - 1, fallback,
                          f"it reads the attribute {node.attr!r} of an object (pass the values as arguments)")
    for name, lineno in _free_names(tree).items():
        value = generic.__globals__.get(name, getattr(builtins, name, None))
        if name in _BUILTINS or getattr(value, "__module__", "").startswith("tangent.") or name in {f.name for f in tree.body if isinstance(f, ast.FunctionDef)}:
            continue
        if value is None or _global_line(name, value, NUMBA_HELPERS) is None:
            raise _refuse(lines, lineno - 1, fallback, _why_not(value) if value is not None else f"{name!r} is undefined")



def check_options(compile: str, motion: str, check_finite: bool, memory_limit) -> None:
    """Refuse what ``compile=`` cannot go with (before anything is generated)."""
    if compile != "numba":
        raise NumbaRefusal(f'compile={compile!r} is not supported; use compile="numba" or leave it out')
    _numba()
    for asked, what in ((motion != "joint", "motion='split'"), (check_finite, "check_finite=True"),
                        (memory_limit is not None, "memory_limit")):
        if asked:
            raise NumbaRefusal(f'compile="numba" does not go with {what} yet; drop one of them')


def _label(func) -> str:
    code = getattr(func, "__code__", None)
    if code is None:
        return f"the derivative of {getattr(func, '__name__', func)!r}"
    import linecache
    line = linecache.getline(code.co_filename, code.co_firstlineno).strip()
    return f"{os.path.basename(code.co_filename)}:{code.co_firstlineno}: {line}"


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
