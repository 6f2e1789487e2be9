"""Code generation: unparse generated functions and compile them into a real
module whose source is registered with ``linecache``, so that ``inspect``,
tracebacks and pdb all show it. Nothing is written to disk.

Takes optimized ``ast.FunctionDef`` trees in the intermediate form of
``ir`` whose only marker left is ``ir.Comment``; gives source text
(``to_source``) and a namespace with the
compiled functions (``compile_source``). Assumes the names the functions use
are bound in the namespace given to ``compile_source``.
"""

from __future__ import annotations

import ast
import itertools
import linecache
import math
import sys
import traceback

from . import ir
from .astwalk import children_fields
from .ir import Comment

_counter = itertools.count()
_AST = ast.AST


def _replace_markers(module: ast.Module, comments: dict[str, str]) -> list[tuple]:
    """Before ``ast.unparse``, in place: each ``Comment`` statement becomes a
    bare name ``__tangent_comment_N__`` (its text in ``comments``), each
    negative number constant a negation (``ast.unparse`` writes
    ``Constant(-0.42) ** 2`` as ``-0.42 ** 2``, which is ``-(0.42 ** 2)``),
    and statements without a line number get one (``ast.unparse`` reads it;
    its value does not show). Returns what ``_put_back`` needs to undo the
    replacements, so the caller's trees are unchanged afterwards."""
    undo: list[tuple] = []
    stack: list[ast.AST] = [module]
    pop, push = stack.pop, stack.append
    while stack:
        node = pop()
        for field in children_fields(node.__class__):
            value = getattr(node, field, None)
            if value.__class__ is list:
                for i, item in enumerate(value):
                    cls = item.__class__
                    if isinstance(item, Comment):
                        key = f"__tangent_comment_{len(comments)}__"
                        comments[key] = item.text
                        undo.append((value, i, item))
                        value[i] = ast.Expr(value=ast.Name(id=key, ctx=ast.Load()), lineno=1)
                    elif cls is ast.Constant:
                        if _is_negative_number(item.value):
                            undo.append((value, i, item))
                            value[i] = _negation(item)
                    elif isinstance(item, _AST):
                        if isinstance(item, ast.stmt) and not hasattr(item, "lineno"):
                            item.lineno = 1
                        push(item)
            elif value.__class__ is ast.Constant:
                if _is_negative_number(value.value):
                    undo.append((node, field, value))
                    setattr(node, field, _negation(value))
            elif value.__class__ is ast.Call and ir.get(value, "property", False):
                # a property read left a call of its getter (not differentiated there): the read again
                undo.append((node, field, value))
                setattr(node, field, value.func)
                push(value.func)
            elif isinstance(value, _AST):
                push(value)
    return undo


def _put_back(undo: list[tuple]) -> None:
    for container, key, original in reversed(undo):
        if container.__class__ is list:
            container[key] = original
        else:
            setattr(container, key, original)


def _negation(constant: ast.Constant) -> ast.UnaryOp:
    return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(value=-constant.value))


def _is_negative_number(value) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float, complex)):
        return False
    if isinstance(value, complex):
        return value.real < 0 or (value.real == 0 and value.imag < 0)
    return value < 0 or (value == 0 and math.copysign(1.0, value) < 0)


def to_source(functions: list[ast.FunctionDef], header: str = "") -> str:
    """Readable source of the generated functions, with their comments.

    Takes function definitions in the intermediate form (``ir.Comment``
    statements allowed, no other marker); leaves them as they were, but for
    a line number given to a statement without one."""
    comments: dict[str, str] = {}
    module = ast.Module(body=list(functions), type_ignores=[])
    undo = _replace_markers(module, comments)
    try:
        text = ast.unparse(module)
    finally:
        _put_back(undo)
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped in comments:
            indent = line[: len(line) - len(line.lstrip())]
            lines.append(f"{indent}# {comments[stripped]}")
        else:
            lines.append(line)
    body = "\n".join(_drop_empty_blocks(lines)).replace("\ndef ", "\n\ndef ")
    return (header + body).rstrip() + "\n"


def _drop_empty_blocks(lines: list[str]) -> list[str]:
    """Drop a block comment whose statements the optimizer removed: one
    followed by another comment, the end of its block, or a return."""
    out = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("# "):
            indent = len(line) - len(line.lstrip())
            following = lines[i + 1] if i + 1 < len(lines) else ""
            next_indent = len(following) - len(following.lstrip())
            next_text = following.strip()
            if not next_text or next_indent < indent or (
                    next_indent == indent and (next_text.startswith("# ") or next_text.startswith("return"))):
                continue
        out.append(line)
    return out


def compile_source(source: str, namespace: dict, label: str) -> tuple[dict, str]:
    """Execute ``source`` in ``namespace``; register it for tracebacks/pdb.

    Returns (namespace, filename). Example::

        ns, filename = compile_source("def f(x):\\n    return x\\n", {}, "f")
    """
    filename = f"<tangent {label} #{next(_counter)}>"
    lines = source.splitlines(keepends=True)
    linecache.cache[filename] = (len(source), None, lines, filename)
    code = compile(source, filename, "exec")
    namespace["__name__"] = "tangent_generated"
    exec(code, namespace)
    return namespace, filename


def _print_exception(exc_type, exc, tb):
    traceback.print_exception(exc_type, exc, tb)


def show_generated_lines_in_uncaught_tracebacks() -> None:
    """Before Python 3.13 the interpreter prints an uncaught exception's
    traceback reading source files from disk, so generated frames show no
    line. The traceback module reads linecache, where generated source is:
    use it, unless the excepthook was already customised (IPython...)."""
    if sys.version_info < (3, 13) and sys.excepthook is sys.__excepthook__:
        sys.excepthook = _print_exception
