"""Refusals of derivatives at points where they do not exist.

Takes the condition a rule's helper checks while the derivative runs (a
repeated eigenvalue, a rank-deficient matrix, an option whose derivative is
not defined) and gives ``NotDifferentiableError``, a ``TangentError``, with a
message that names the function and what to do instead: never an inf, a nan
or a silently wrong number. ``refuse_if`` carries no derivative.

``refuses_constants`` declares the same refusals for a rule's arguments
given as constants in the user's code (``np.pad(x, 1, mode="maximum")``):
``Template.bind`` runs them, so they are raised when the function is
transformed, naming the user's line (differentiator.py); an argument that is
not a constant is checked when the derivative runs.
"""

import ast
from typing import Callable

from ..errors import NotDifferentiableError
from . import nondifferentiable


def refuse_if(condition: bool, message: str) -> None:
    """Raise ``NotDifferentiableError(message)`` when ``condition`` holds."""
    if condition:
        raise NotDifferentiableError(message)


def refuses_constants(**checks: Callable[[object], str | None]) -> Callable[[Callable], Callable]:
    """Declare, on a rule function, the values of its parameters it refuses:
    ``check(value)`` gives the refusal's message (or None) for a parameter
    the call gives as a constant.

    Example::

        @adjoint(np.pad)
        @refuses_constants(mode=lambda mode: None if mode in _PAD_MODES else f"np.pad(mode={mode!r}) ...")
        def pad(z, array, pad_width, mode="constant", constant_values=0):
            ...
    """

    def declare(fn: Callable) -> Callable:
        def check(bound: dict) -> None:
            for param, refusal in checks.items():
                try:
                    value = ast.literal_eval(bound[param])  # a constant (or a tuple of them) in the user's code
                except (KeyError, ValueError, TypeError, SyntaxError, RecursionError):
                    continue
                message = refusal(value)
                if message:
                    raise NotDifferentiableError(message)

        fn.constant_refusals = [*getattr(fn, "constant_refusals", ()), check]
        return fn

    return declare


nondifferentiable(refuse_if)

__all__ = ["NotDifferentiableError", "refuse_if", "refuses_constants"]
