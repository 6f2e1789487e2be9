"""Derivatives specialised to the kinds of their arguments.

Takes a generic derivative and a function generating code for given example
arguments; gives the implementation to run for each combination of argument
kinds (``shapes.argument_kind``: type; for arrays shape and dtype; for dicts,
lists, tuples and objects their structure and their items' kinds, nested),
generating it at the first call with that combination. With the shapes known, sums that undo broadcasting
which cannot happen are left out, and Python floats get float arithmetic.
Assumes the specialised code depends only on the arguments' kinds, never on
their values (it is generated, never run, from the examples), and that a
``TangentError`` while specialising means: use the generic code.

Specialised code that is run may have been rewritten with helpers that have
no derivative rules (``hoisted_products``); such code carries the variant to
differentiate instead (``with_variant``), and whoever differentiates
specialised code (``tangent.hvp``) asks for it (``differentiable``).
"""

from __future__ import annotations

import inspect
import sys
from typing import Callable, Sequence

from . import rules
from .errors import TangentError
from .kind_guards import LastKinds
from .shapes import argument_kind

__all__ = ["MAX_SPECIALIZATIONS", "Specializations", "argument_kind", "differentiable", "specializing", "with_variant"]

MAX_SPECIALIZATIONS = 16


class Specializations:
    """Implementations of one derivative by the kinds of its arguments.

    ``specialize(args)`` generates the code for the kinds of ``args``; the
    first ``limit`` kinds get their own, later ones (and kinds whose
    specialisation raised TangentError) the ``generic`` one. Thread-safe:
    generation holds ``rules.transform_lock``.

    Example::

        table = Specializations(df, lambda args: generate_for(args))
        table.implementation_for((x,))(x)
    """

    def __init__(self, generic: Callable, specialize: Callable[[Sequence], Callable],
                 limit: int = MAX_SPECIALIZATIONS):
        self.generic = generic
        self.specialize = specialize
        self.limit = limit
        self.table: dict = {}
        self.memo = LastKinds()  # (the last call's kinds: a guard instead of describing them again)

    def implementation_for(self, args: Sequence) -> Callable:
        """The code for these arguments' kinds, generated (never run) if new."""
        guard, implementation = self.memo.last
        if guard(args):
            return implementation
        key = tuple(map(argument_kind, args))
        implementation = self.table.get(key)
        if implementation is None:
            with rules.transform_lock:
                implementation = self.table.get(key)
                if implementation is None:
                    implementation = self.generic
                    if len(self.table) < self.limit:
                        try:
                            implementation = self.specialize(args)
                        except TangentError:
                            implementation = self.generic
                    self.table[key] = implementation
        self.memo.remember(key, implementation)
        return implementation


def specializing(generic: Callable, specialize: Callable[[Sequence], Callable]) -> Callable:
    """Wrap a derivative so that each combination of argument types and
    shapes gets code specialised to it (generated at its first call). The
    generic derivative stays available (``.tangent_generic``) and is used for
    keyword calls, under a debugger and beyond a few specialisations;
    ``.tangent_specialized_for(*args)`` gives the specialised code without
    running it.

    Example::

        df = specializing(df, lambda args: generate_for(args))
        df.tangent_specialized_for(np.ones(3))
    """
    specializations = Specializations(generic, specialize)

    def derivative(*args, **kwargs):
        if kwargs or sys.gettrace() is not None:
            # under a debugger, step straight into the code tangent.source shows
            return generic(*args, **kwargs)
        return specializations.implementation_for(args)(*args)

    def specialized_for(*args):
        """The derivative's code specialised for these arguments (generated
        if needed, without running anything)."""
        return specializations.implementation_for(args)

    derivative.__signature__ = inspect.signature(generic)
    derivative.__wrapped__ = generic
    derivative.__name__ = generic.__name__
    derivative.__qualname__ = generic.__qualname__
    derivative.__doc__ = generic.__doc__
    derivative.tangent_source = generic.tangent_source
    derivative.tangent_generic = generic
    derivative.tangent_specialized_for = specialized_for
    derivative.tangent_implementation_for = specializations.implementation_for  # (ownership: called without kwargs)
    return derivative


def with_variant(code: Callable, make: Callable[[Sequence], Callable]) -> None:
    """Give the specialised ``code`` (made to be run only) the variant to
    differentiate in its place: ``make(args)``, generated at the first
    ``differentiable(code, args)`` (``args`` of the kinds ``code`` was
    made for; none are kept), once."""
    made: list = []

    def variant(args):
        if not made:
            made.append(make(args))
        return made[0]

    code.tangent_differentiable = variant


def differentiable(code: Callable, args: Sequence) -> Callable:
    """The code to differentiate for ``code``, specialised to the kinds of
    ``args``: its variant without run-only rewrites if it has one, else
    itself.

    Example::

        autodiff(differentiable(df.tangent_specialized_for(x, 1.0), (x, 1.0)), mode="forward")
    """
    variant = getattr(code, "tangent_differentiable", None)
    return code if variant is None else variant(args)
