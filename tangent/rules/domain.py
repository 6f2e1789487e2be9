"""Refusals of derivatives at points where they do not exist.

Takes the condition a rule's helper checks while the derivative runs (a
repeated eigenvalue, a rank-deficient matrix, an option whose derivative is
not defined) and gives ``NotDifferentiableError``, a ``TangentError``, with a
message that names the function and what to do instead: never an inf, a nan
or a silently wrong number. ``refuse_if`` carries no derivative.
"""

from ..errors import NotDifferentiableError
from . import nondifferentiable


def refuse_if(condition: bool, message: str) -> None:
    """Raise ``NotDifferentiableError(message)`` when ``condition`` holds."""
    if condition:
        raise NotDifferentiableError(message)


nondifferentiable(refuse_if)

__all__ = ["NotDifferentiableError", "refuse_if"]
