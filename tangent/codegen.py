"""Code generation: unparse generated functions and compile them into a real
module whose source is registered with ``linecache``, so that ``inspect``,
tracebacks and pdb all show it. Nothing is written to disk.
"""

from __future__ import annotations

import ast
import itertools
import linecache
import math
import sys
import traceback

from .astwalk import fix_missing_locations
from .ir import Comment

_counter = itertools.count()


def _with_comment_markers(tree: ast.AST, comments: dict[str, str]) -> ast.AST:
    class Replace(ast.NodeTransformer):
        def visit(self, node):
            if isinstance(node, Comment):
                key = f"__tangent_comment_{len(comments)}__"
                comments[key] = node.text
                return ast.Expr(value=ast.Name(id=key, ctx=ast.Load()))
            if (isinstance(node, ast.Constant) and isinstance(node.value, (int, float, complex))
                    and not isinstance(node.value, bool) and _negative(node.value)):
                # ast.unparse writes Constant(-0.42) ** 2 as -0.42 ** 2, which is
                # -(0.42 ** 2): a negative number is a negation, so it gets parentheses
                return ast.copy_location(ast.UnaryOp(op=ast.USub(), operand=ast.Constant(value=-node.value)), node)
            return super().visit(node)

    return Replace().visit(tree)


def _negative(value) -> bool:
    if isinstance(value, complex):
        return value.real < 0 or (value.real == 0 and value.imag < 0)
    return value < 0 or (value == 0 and math.copysign(1.0, value) < 0)


def to_source(functions: list[ast.FunctionDef], header: str = "") -> str:
    """Readable source of the generated functions, with their comments."""
    comments: dict[str, str] = {}
    module = ast.Module(body=list(functions), type_ignores=[])
    module = _with_comment_markers(module, comments)
    fix_missing_locations(module)
    text = ast.unparse(module)
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
