"""Refusals of derivatives at points where they do not exist.

Takes the condition a rule's helper checks while the derivative runs (a
repeated eigenvalue, a rank-deficient matrix, an option whose derivative is
not defined) and gives ``NotDifferentiableError``, a ``TangentError``, with a
message that names the function and what to do instead: never an inf, a nan
or a silently wrong number. ``refuse_if`` carries no derivative.
"""

from ..errors import TangentError
from . import nondifferentiable


class NotDifferentiableError(TangentError, ValueError):
    """The derivative was asked for where it does not exist (or where Tangent
    does not define it), e.g. the eigenvectors of a matrix with a repeated
    eigenvalue.

    Example::

        try:
            tangent.grad(f)(a)
        except tangent.NotDifferentiableError as e:
            print(e)
    """


def refuse_if(condition: bool, message: str) -> None:
    """Raise ``NotDifferentiableError(message)`` when ``condition`` holds."""
    if condition:
        raise NotDifferentiableError(message)


nondifferentiable(refuse_if)
