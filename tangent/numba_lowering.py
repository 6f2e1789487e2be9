"""The numba lowering of generated derivative source (``compile="numba"``).

Takes the source ``Session.build`` generated (comments ``# file.py:N: line``
above each backward block) and gives the same functions in a form numba
compiles: the tape ``stack`` (one Python list, floats and arrays mixed) as one
typed list per pushed variable (``x_stack``), the ``None`` a variable holds
before its loop as a placeholder of its type, ``reversed(r)`` as
``reversed_sequence(r)``; and the module around them (imports, constant
globals as literals, runtime helpers' numba versions, ``njit(cache=True)``).
Assumes each ``v = stack.pop()`` pops what ``stack.append(v)`` pushed (the
tape's discipline); anything else on the tape, and globals with no numba
version, are refused (``NumbaRefusal``) naming the user's line.
"""

from __future__ import annotations

import ast
import builtins
import math
import re
import types as pytypes
from typing import Sequence

import numpy as np

from .errors import TangentError

__all__ = ["BUILTINS", "RANGE", "Label", "NumbaRefusal", "free_names", "global_line", "lower", "lower_lines", "module_text", "refuse",
           "require_numba", "where", "why_not"]

_COMMENT = re.compile(r"\s*# (\S+:\d+: .*)")
_PUSH = re.compile(r"^(\s*)stack\.append\((\w+)\)$")
_POP = re.compile(r"^(\s*)(\w+) = stack\.pop\(\)$")
_NEW_STACK = re.compile(r"^(\s*)stack = \[\]$")
_PLACEHOLDER = re.compile(r"^(\s*)(\w+) = None$")
_REVERSED = re.compile(r"\breversed\(")
# keepdims=True, which numba's reductions do not take, on a variable and a literal axis
_KEPT_SUM = re.compile(r"\bnp\.sum\((\w+), axis=(-?\d+), keepdims=True\)")
_KEPT_SUM_METHOD = re.compile(r"\b(\w+)\.sum\(axis=(-?\d+), keepdims=True\)")
_KEPT_EXTREMUM = re.compile(r"\bnp\.a?(max|min)\((\w+), axis=(-?\d+), keepdims=True\)")
_KEPT_EXTREMUM_METHOD = re.compile(r"\b(\w+)\.(max|min)\(axis=(-?\d+), keepdims=True\)")  # (reductions.py)
_MODULES = {"numpy": "numpy", "math": "math", "cmath": "cmath"}
BUILTINS = {"range", "len", "float", "int", "bool", "complex", "abs", "min", "max", "round", "True", "False",
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


def require_numba():
    try:
        import numba
    except ImportError as error:
        raise NumbaRefusal('compile="numba" needs numba: pip install "tangent[numba]" (numba>=0.60)') from error
    return numba


class Label(str):
    """The user's function as messages name it (``file.py:N: def f(x):``),
    with its source lines, to find the line a generated line comes from."""

    def __new__(cls, text: str, filename: str = "", numbered: Sequence[tuple[int, str]] = ()):
        label = super().__new__(cls, text)
        label.filename, label.numbered = filename, list(numbered)
        return label


_WORD = re.compile(r"[A-Za-z]\w*")
_COMMON = {"np", "numpy", "math", "return", "for", "in", "if", "else", "range", "not", "and", "or", "True", "False"}


def _guess(fallback, generated: str) -> str:
    """The user's line sharing most names with a generated line that has no
    ``# file.py:N:`` comment above it (the forward sweep's lines have none)."""
    words = set(_WORD.findall(generated.split("#")[0])) - _COMMON
    best, score = None, 0
    for lineno, text in getattr(fallback, "numbered", ())[1:]:
        shared = len(words & set(_WORD.findall(text.split("#")[0])))
        if shared > score:
            best, score = f"{fallback.filename}:{lineno}: {text.strip()}", shared
    return best or fallback


def where(lines: Sequence[str], index: int, fallback: str) -> str:
    """The user's line (``file.py:N: source``) of generated line ``index`` (0-based)."""
    for line in reversed(lines[: index + 1]):
        found = _COMMENT.match(line)
        if found:
            return found.group(1)
    return _guess(fallback, lines[index]) if 0 <= index < len(lines) else fallback


def refuse(lines, index, fallback, what) -> NumbaRefusal:
    return NumbaRefusal(f"{where(lines, index, fallback)}\n  cannot be compiled with numba: {what}; "
                        'drop compile="numba" for this function or rewrite that line')


# ---- lowering ----------------------------------------------------------------


def lower_lines(source: str, fallback: str) -> tuple[list[str], list[str]]:
    """The generated lines with typed stacks; and the pushed variables, in order."""
    lines, pushed = [], []
    for index, line in enumerate(source.splitlines()):
        push, pop, new = _PUSH.match(line), _POP.match(line), _NEW_STACK.match(line)
        if push:
            name = push.group(2)
            pushed += [name] if name not in pushed else []
            line = f"{push.group(1)}{_tape(name, source)}.append({name})"
        elif pop:
            line = f"{pop.group(1)}{pop.group(2)} = {_tape(pop.group(2), source)}.pop()"
        elif new:
            line = f"{new.group(1)}STACKS"
        elif re.search(r"\bstack\b", line) and not _COMMENT.match(line):
            raise refuse(source.splitlines(), index, fallback, "the tape holds values other than variables")
        if not _COMMENT.match(line):  # (numba's reductions take no keepdims; these two say nothing)
            line = _REVERSED.sub("reversed_sequence(", line).replace(", axis=None, keepdims=False)", ")")
            line = line.replace(", keepdims=False)", ")")
            line = _KEPT_SUM.sub(r"np.expand_dims(np.sum(\1, axis=\2), \2)", line)
            line = _KEPT_SUM_METHOD.sub(r"np.expand_dims(\1.sum(axis=\2), \2)", line)
            line = _KEPT_EXTREMUM.sub(r"kept_\1(\2, \3)", line)
            line = _KEPT_EXTREMUM_METHOD.sub(r"kept_\2(\1, \3)", line)
        lines.append(line)
    return lines, pushed


def _tape(name: str, source: str) -> str:
    """The name of ``name``'s own stack: ``x_stack`` (``x_stack_1``... if taken)."""
    tape, n = f"{name}_stack", 0
    while re.search(rf"\b{tape}\b", source):
        n += 1
        tape = f"{name}_stack_{n}"
    return tape


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
    lines, pushed = lower_lines(source, fallback)
    arrays = {} if pushed_types is None else _preallocated(source, pushed_types)
    before: dict[int, list[str]] = {}
    for name, (loop, sequence, count, dtype) in arrays.items():
        size = f"len({sequence})" + (f" * {count}" if count > 1 else "")
        before.setdefault(loop, []).append(f"{_tape(name, source)} = np.empty({size}, np.{dtype})")
        before[loop].append(f"{_top(name, source)} = 0")
    out = []
    for index, line in enumerate(lines):
        indent = line[: len(line) - len(line.lstrip())]
        out += [indent + text for text in before.get(index, ())]
        placeholder, push, pop = _PLACEHOLDER.match(line), _TYPED_PUSH.match(line), _TYPED_POP.match(line)
        if line.strip() == "STACKS":
            for name in pushed:
                if name not in arrays:
                    like = "(0, 0, 0)" if pushed_types and pushed_types.get(name) is RANGE else None
                    init = f"probe_stack({name!r})" if pushed_types is None else \
                        f"empty_stack({like or _typed(name, pushed_types, lines, index, fallback)})"
                    out.append(f"{indent}{_tape(name, source)} = {init}")
            continue
        if placeholder and placeholder.group(2) in pushed and pushed_types is not None:
            line = f"{indent}{placeholder.group(2)} = {_typed(placeholder.group(2), pushed_types, lines, index, fallback)}"
        elif push and pushed_types and pushed_types.get(push.group(3)) is RANGE:  # (numba has no list of ranges)
            name = push.group(3)
            line = f"{indent}{push.group(2)}.append(({name}.start, {name}.stop, {name}.step))"
        elif pop and pushed_types and pushed_types.get(pop.group(2)) is RANGE:
            line = f"{indent}{pop.group(2)} = saved_range({pop.group(3)}.pop())"
        elif push and push.group(3) in arrays:
            name = push.group(3)
            out.append(f"{indent}{push.group(2)}[{_top(name, source)}] = {name}")
            line = f"{indent}{_top(name, source)} += 1"
        elif pop and pop.group(2) in arrays:
            name = pop.group(2)
            out.append(f"{indent}{_top(name, source)} -= 1")
            line = f"{indent}{name} = {pop.group(3)}[{_top(name, source)}]"
        out.append(line)
    return "\n".join(out) + "\n", pushed


_TYPED_PUSH = re.compile(r"^(\s*)(\w+)\.append\((\w+)\)$")
_TYPED_POP = re.compile(r"^(\s*)(\w+) = (\w+)\.pop\(\)$")


def _top(name: str, source: str) -> str:
    """The name of the count of values on ``name``'s preallocated stack."""
    return _tape(name, source).replace("_stack", "_saved", 1)


def _preallocated(source: str, pushed_types: dict) -> dict[str, tuple[int, str, int, str]]:
    """The saved numbers whose stack can be an array allocated once: every
    push of the variable is in the same loop ``for ... in r`` of the
    function's body, over a ``r = range(...)`` bound in that body, and in no
    inner loop (so at most ``len(r)`` times per push site). Variable ->
    (index of the loop's line, ``r``, push sites, NumPy dtype name)."""
    from numba import types
    found: dict = {}
    unbounded: set = set()
    for func in ast.parse(source).body:
        if not isinstance(func, ast.FunctionDef):
            continue
        ranges = {stmt.targets[0].id for stmt in func.body if isinstance(stmt, ast.Assign)
                  and isinstance(stmt.targets[0], ast.Name) and isinstance(stmt.value, ast.Call)
                  and isinstance(stmt.value.func, ast.Name) and stmt.value.func.id == "range"}

        _visit_pushes(func, [], func, ranges, found, unbounded)
    dtypes = {}
    for name, known in pushed_types.items():
        if isinstance(known, (types.Float, types.Integer)):
            dtypes[name] = str(known)
        elif isinstance(known, types.Boolean):
            dtypes[name] = "bool_"
    return {name: (*where, dtypes[name]) for name, where in found.items() if name not in unbounded and name in dtypes}


def _visit_pushes(node, loops, func, ranges, found, unbounded) -> None:
    """Record in ``found`` (or ``unbounded``) each push under ``node`` (see ``_preallocated``)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.For, ast.While)):
            _visit_pushes(child, loops + [child], func, ranges, found, unbounded)
            continue
        pushed = _pushed_name(child)
        if pushed is not None:
            loop = loops[0] if len(loops) == 1 else None
            if loop is None or loop not in func.body or not isinstance(loop, ast.For) or not (
                    isinstance(loop.iter, ast.Name) and loop.iter.id in ranges) or (
                    pushed in found and found[pushed][0] != loop.lineno - 1):
                unbounded.add(pushed)
            else:
                found[pushed] = (loop.lineno - 1, loop.iter.id, found.get(pushed, (0, "", 0))[2] + 1)
        _visit_pushes(child, loops, func, ranges, found, unbounded)


def _pushed_name(node) -> str | None:
    """``x`` for the statement ``stack.append(x)``."""
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute) \
            and node.value.func.attr == "append" and isinstance(node.value.func.value, ast.Name) \
            and node.value.func.value.id == "stack" and len(node.value.args) == 1 \
            and isinstance(node.value.args[0], ast.Name):
        return node.value.args[0].id
    return None


class _Range:
    """The type of a ``range`` saved on the tape (an inner loop's): numba has no list of
    ranges, so it is saved as (start, stop, step)."""

    def __repr__(self):
        return "range"


RANGE = _Range()


def _typed(name, pushed_types, lines, index, fallback) -> str:
    found = pushed_types.get(name)
    if found is RANGE:
        return "range(0)"
    if found is None:  # never pushed with a value in the probe: its loop did not run
        return "0.0"
    if isinstance(found, str):
        raise refuse(lines, index, fallback, found)
    text = _placeholder(found)
    if not text:
        raise refuse(lines, index, fallback, f"a value of numba type {found} is saved for the backward pass")
    return text


# ---- globals -----------------------------------------------------------------


def free_names(tree: ast.Module) -> dict[str, int]:
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


def global_line(name: str, value, helpers: dict) -> str | None:
    """The module line defining global ``name`` for numba, or None (no numba version)."""
    if isinstance(value, pytypes.ModuleType) and value.__name__ in _MODULES:
        return f"import {value.__name__} as {name}" if value.__name__ != name else f"import {name}"
    if isinstance(value, (bool, int, float, complex)) and not isinstance(value, np.ndarray):
        return f"{name} = {value!r}"
    if isinstance(value, np.generic) and np.isfinite(value):
        return f"{name} = np.{value.dtype}({value.item()!r})"
    if id(value) in helpers:
        return f"from tangent.runtime.numba import {helpers[id(value)]} as {name}"
    from .runtime.numba import NUMBA_RULE_HELPERS
    by_name = NUMBA_RULE_HELPERS.get((getattr(value, "__module__", None), getattr(value, "__name__", None)))
    if by_name:
        return f"from tangent.runtime.numba import {by_name} as {name}"
    for module in (np, math):
        short = getattr(value, "__name__", None)
        if short and getattr(module, short, None) is value:
            return f"from {module.__name__} import {short} as {name}"
    return None


def why_not(value) -> str:
    if isinstance(value, np.ndarray):
        return "it reads a global array (numba would freeze it); pass the array as an argument"
    if callable(value):
        return f"it calls {getattr(value, '__name__', value)!r}, which has no numba version here"
    return f"it reads a global of type {type(value).__name__}"


def module_text(source: str, namespace: dict, fallback: str, helpers: dict) -> str:
    """The lowered functions as a module numba compiles (``njit(cache=True)``)."""
    tree = ast.parse(source)
    lines = source.splitlines()
    header = ['"""Derivative generated by Tangent, lowered for numba (compile="numba")."""',
              "import numba", "import numpy as np",
              "from tangent.runtime.numba import empty_stack, kept_max, kept_min, reversed_sequence, saved_range"]
    for name, lineno in sorted(free_names(tree).items()):
        if name in {"np", "numba", "empty_stack", "reversed_sequence", "saved_range", "kept_max", "kept_min"} or name in dir(builtins) and name in BUILTINS:
            continue
        if name not in namespace:
            raise refuse(lines, lineno - 1, fallback, f"{name!r} is not defined for numba")
        line = global_line(name, namespace[name], helpers)
        if line is None:
            raise refuse(lines, lineno - 1, fallback, why_not(namespace[name]))
        header.append(line)
    body = re.sub(r"^def ", "@numba.njit(cache=True)\ndef ", source, flags=re.M)
    return "\n".join(header) + "\n\n\n" + body
