"""Errors raised by Tangent.

Every error raised while a function is transformed carries the user's file and
line, the construct at fault and, where one exists, what to do instead.
"""

from __future__ import annotations

import ast
import re


class TangentError(Exception):
    """Base class of every error Tangent raises on purpose.

    Example::

        try:
            tangent.grad(f)
        except tangent.TangentError as e:
            print(e)
    """


class TangentSyntaxError(TangentError):
    """The function uses a Python construct that Tangent cannot differentiate."""


class UnknownClassError(TangentSyntaxError):
    """A method called on (or a call of) a value whose class is not known when
    differentiating: the API then makes the derivative at its first call, for
    the classes of the arguments (tangent/argument_classes.py)."""


class NoDerivativeError(TangentError):
    """A differentiated value flows into a function that has no derivative rule."""


class SourceUnavailableError(TangentError):
    """The source of a function cannot be read (built in, or defined in a REPL)."""


class NotDifferentiableError(TangentError, ValueError):
    """The derivative was asked for where it does not exist (or where Tangent
    does not define it), e.g. the eigenvectors of a matrix with a repeated
    eigenvalue (raised while the derivative runs, by ``rules.domain``).

    Example::

        try:
            tangent.grad(f)(a)
        except tangent.NotDifferentiableError as e:
            print(e)
    """


class NonFiniteGradientError(TangentError):
    """An adjoint became NaN or infinite while the derivative ran."""


class Origin:
    """Where a node of normalized code came from in the user's source."""

    def __init__(self, filename: str, lines: list[str], func_name: str):
        self.filename = filename
        self.lines = lines
        self.func_name = func_name
        self.derived_from: str | None = None  # for generated code: the user's function, file:line

    @property
    def generated(self) -> bool:
        """Whether this is code Tangent generated (a derivative being differentiated again)."""
        return self.filename.startswith("<tangent ")

    def text(self, lineno: int | None) -> str:
        if lineno is None or not (1 <= lineno <= len(self.lines)):
            return ""
        return self.lines[lineno - 1].strip()

    def where(self, node: ast.AST | int | None) -> str:
        lineno = node if isinstance(node, int) or node is None else getattr(node, "lineno", None)
        if self.filename.startswith("<tangent ") and lineno:
            # code Tangent generated: name the user's line it differentiates
            # (from the comment above the generated block), not generated names
            for line in reversed(self.lines[:lineno]):
                found = re.match(r"\s*# (\S+:\d+: .*)", line)
                if found:
                    return f"{found.group(1)} (in the derivative {self.func_name} that Tangent generated)"
            for line in self.lines[lineno:]:  # code before the first comment (the tape of a write)
                found = re.match(r"\s*# (\S+:\d+: .*)", line)
                if found:
                    return f"near {found.group(1)} (in the derivative {self.func_name} that Tangent generated)"
            if self.derived_from:
                return (f"the derivative {self.func_name} that Tangent generated from {self.derived_from}, "
                        f"at its line {lineno}: {self.text(lineno)}")
        text = self.text(lineno)
        place = f"{self.filename}:{lineno}" if lineno else self.filename
        return f"{place} (in {self.func_name}): {text}" if text else f"{place} (in {self.func_name})"

    def error(self, cls: type[TangentError], node, message: str, hint: str = "") -> TangentError:
        msg = f"{self.where(node)}\n  {message}"
        if hint:
            msg += f"\n  {hint}"
        return cls(msg)


# ------------------------------------------------ errors while a derivative runs
# A generated module's statements came from the user's lines: ``register_lines``
# keeps, per generated function, the user's line of each of its statements (in
# the order ast.parse reads them back from the generated source) and where the
# function came from; ``locate_runtime_error`` reads them when an exception
# leaves generated code, and names the user's line in it.

_LINES: dict[str, dict[str, tuple]] = {}  # generated filename -> function name -> (origin, first, last, lines)
_PARSED: dict[str, dict[str, list]] = {}  # generated filename -> function name -> its statements, parsed back
_NOTE = "Tangent: "
_COMMENT = re.compile(r"\s*# (\S+:\d+: .*)")


def _statements(node: ast.AST):
    """The statements under ``node`` in source order (pre-order)."""
    for field in ("body", "orelse", "finalbody", "handlers", "cases"):
        for child in getattr(node, field, None) or ():
            if isinstance(child, ast.stmt):
                yield child
            yield from _statements(child)


def register_lines(filename: str, functions: list[ast.FunctionDef], origins: dict[str, tuple]) -> None:
    """Keep the user's line of each statement of the generated ``functions``
    compiled as ``filename`` (``origins``: function name -> (Origin, first
    and last line of the user's def)); ``forget_lines`` drops them."""
    from .ir import Comment

    table = {}
    for fdef in functions:
        if fdef.name in origins:
            lines = tuple(getattr(s, "lineno", None) for s in _statements(fdef) if not isinstance(s, Comment))
            table[fdef.name] = (*origins[fdef.name], lines)
    _LINES[filename] = table


def forget_lines(filename: str) -> None:
    _LINES.pop(filename, None)
    _PARSED.pop(filename, None)


def _user_line(filename: str, func_name: str, lineno: int) -> tuple[Origin, int] | None:
    """(origin, user's line) of line ``lineno`` of generated function
    ``func_name`` in ``filename``, or None."""
    entry = _LINES.get(filename, {}).get(func_name)
    if entry is None:
        return None
    origin, first, last, lines = entry
    if filename not in _PARSED:
        import linecache

        try:
            module = ast.parse("".join(linecache.getlines(filename)))
        except SyntaxError:
            return None
        _PARSED[filename] = {f.name: list(_statements(f)) for f in module.body if isinstance(f, ast.FunctionDef)}
    statements = _PARSED[filename].get(func_name, [])
    found = None
    for stmt, line in zip(statements, lines):  # the innermost statement holding lineno, with a line of the user's
        if stmt.lineno <= lineno <= (stmt.end_lineno or stmt.lineno) and line and first <= line <= last:
            found = line
    if found is None:
        return None
    if origin.generated and origin.filename in _LINES:  # a derivative of a derivative: its user's line
        generated = _user_line(origin.filename, origin.func_name, found)
        if generated is not None:
            return generated
    return origin, found


def runtime_location(error: BaseException) -> str | None:
    """Where in the user's code the derivative was when ``error`` was raised
    from generated code: the user's line whose backward step ran (the comment
    above the generated line), or the user's line the generated statement
    computes (the forward part); None outside generated code."""
    import linecache

    frame, innermost = error.__traceback__, None
    while frame is not None:
        if frame.tb_frame.f_code.co_filename.startswith("<tangent "):
            innermost = frame
        frame = frame.tb_next
    if innermost is None:
        return None
    filename, lineno = innermost.tb_frame.f_code.co_filename, innermost.tb_lineno
    func_name = innermost.tb_frame.f_code.co_name
    source = linecache.getlines(filename)
    for line in reversed(source[:lineno]):
        if line.lstrip().startswith("def "):
            break
        found = _COMMENT.match(line)
        if found:
            return f"the backward step of {found.group(1)}"
    located = _user_line(filename, func_name, lineno)
    if located is None:
        return None
    origin, line = located
    return f"{origin.where(line)}"


def locate_runtime_error(error: BaseException) -> None:
    """Name the user's line in an exception leaving a derivative (once): a
    TangentError's message starts with it; any other exception keeps its
    type and message and gets a note (shown with its traceback)."""
    if getattr(error, "located_by_tangent", False) or not isinstance(error, Exception):
        return
    where = runtime_location(error)
    if where is None:
        return
    try:
        error.located_by_tangent = True
    except AttributeError:
        return
    if isinstance(error, TangentError) and len(error.args) == 1 and isinstance(error.args[0], str):
        error.args = (f"{where}\n  {error.args[0]}",)
    else:
        error.add_note(f"{_NOTE}raised while the derivative ran {where}")
