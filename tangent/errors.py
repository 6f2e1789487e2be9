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
