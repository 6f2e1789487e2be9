"""Tangent: automatic differentiation of Python and NumPy by source transformation.

Example::

    import numpy as np
    import tangent

    def f(x):
        return np.sum(np.tanh(x) ** 2)

    df = tangent.grad(f)
    df(np.arange(3.0))
    print(tangent.source(df))
"""

from . import testing  # tangent.testing.check_grads
from .api import autodiff, clear_cache, grad, hessian, hvp, jacobian, jvp, source, value_and_grad, vjp
from .codegen import show_generated_lines_in_uncaught_tracebacks
from .display import register_ipython_display
from .errors import (
    NoDerivativeError,
    NonFiniteGradientError,
    NotDifferentiableError,
    SourceUnavailableError,
    TangentError,
    TangentSyntaxError,
)
from .numba_lowering import NumbaRefusal  # compile="numba" (docs/numba.md)
from .rules import adjoint, nondifferentiable, tangent_rule
from .runtime.checkpointing import checkpoint, checkpointed
from .surgery import insert_grad_of, stop_gradient
from .tracing import TracingError, trace

__version__ = "0.1.0"
register_ipython_display()
show_generated_lines_in_uncaught_tracebacks()

__all__ = [
    "autodiff", "clear_cache", "grad", "hessian", "hvp", "jacobian", "jvp", "source", "value_and_grad", "vjp", "adjoint", "tangent_rule", "nondifferentiable",
    "TangentError", "TangentSyntaxError", "NoDerivativeError", "SourceUnavailableError",
    "NonFiniteGradientError", "NotDifferentiableError", "insert_grad_of", "stop_gradient", "testing",
    "trace", "TracingError", "checkpoint", "checkpointed",
    "NumbaRefusal",
]
