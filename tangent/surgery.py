"""Gradient surgery helpers that users write inside differentiated functions.

These run as plain Python when the function is called normally; when it is
differentiated, desugar.py recognises ``insert_grad_of`` by identity (a
``GradHook`` statement, run in the backward pass) and the rules treat
``stop_gradient`` as a function whose derivative is zero.
"""

from __future__ import annotations

from . import runtime


class insert_grad_of:  # noqa: N801 - used like a function: with insert_grad_of(x) as dx
    """Run a block in the backward pass with the adjoint of ``x``.

    Inside a differentiated function::

        h = np.tanh(W @ h)
        with tangent.insert_grad_of(h) as dh:
            dh = np.clip(dh, -1.0, 1.0)     # runs in the backward pass
            print("gradient norm", np.linalg.norm(dh))

    The block runs where the with statement stands, mirrored in the backward
    pass: placed right after ``x`` is computed, it sees the complete adjoint
    of ``x``; assigning to ``dh`` replaces that adjoint. When the function is
    called normally the block runs on a zero adjoint and its assignments do
    not change the function's value.
    """

    def __init__(self, x):
        self.x = x

    def __enter__(self):
        return runtime.zeros_like(self.x)

    def __exit__(self, *exc_info):
        return False


def stop_gradient(x):
    """Return ``x`` unchanged, but let no derivative flow through it.

    Example::

        baseline = tangent.stop_gradient(np.mean(rewards))
    """
    return x
