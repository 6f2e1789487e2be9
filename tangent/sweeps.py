"""The caller's arguments and random generators across the sweeps of a
Jacobian or Hessian (``tangent.jacobian``/``hessian``): each sweep calls
``func`` or a derivative again, so each works on private copies of the
arguments as they were on entry, and global generators are rewound so that
every sweep draws what the first drew (``private_arguments``,
``rules.random_rules``). ``generators_read`` lists the generators a
derivative draws from, recorded on it by ``api.autodiff``."""

from __future__ import annotations

import inspect
from typing import Callable

import numpy as np

from .runtime.arguments import advance_generators, private_copy

GENERATORS = (np.random.RandomState, np.random.Generator)


def generators_read(deps) -> tuple:
    """The random generators a derivative draws from that are not its
    arguments: global ``RandomState``/``Generator`` objects its functions
    read, and the one behind NumPy's module-level draws (``np.random.randn``
    is a method of a global ``RandomState``)."""
    found = {}
    for dep in deps:
        value = dep[-1]
        owner = getattr(value, "__self__", None)
        for candidate in (value, owner):
            if isinstance(candidate, GENERATORS):
                found[id(candidate)] = candidate
    return tuple(found.values())


def _global_generators(func) -> tuple:
    """The generators among ``func``'s module globals, and NumPy's global one."""
    values = list(getattr(func, "__globals__", {}).values()) + [np.random.random_sample]
    return generators_read([(v,) for v in values])


class _DrawOnce:
    """The states of the global generators a Jacobian's sweeps draw from, as
    at the first draw: each sweep starts them from there, so every sweep
    draws the same numbers (``func`` itself, called for the result's shape,
    included)."""

    def __init__(self):
        self.states: dict = {}

    def start(self, func) -> None:
        self.states.clear()
        for generator in _global_generators(func):
            self.states[id(generator)] = self.state(generator)

    def rewind(self, generators) -> None:
        for generator in generators:
            if id(generator) not in self.states:
                self.states[id(generator)] = self.state(generator)
            elif isinstance(generator, np.random.RandomState):
                generator.set_state(self.states[id(generator)])
            else:
                generator.bit_generator.state = self.states[id(generator)]

    @staticmethod
    def state(generator):
        if isinstance(generator, np.random.RandomState):
            return generator.get_state()
        return generator.bit_generator.state


def once_on_the_caller(autodiff: Callable, make: Callable, func: Callable, wrt, **options) -> Callable:
    """``make(autodiff, func, wrt, **options)`` (jacobian_of, hessian_of),
    for a ``func`` that may write into its arguments or draw from a random
    generator argument: those call ``func`` and its derivatives once per
    sweep, so each such call gets private copies of the arguments as they
    were on entry (a generator in the same state, so every sweep draws the
    same numbers); the caller's arguments are left as they were, their
    generators advanced as after one call of ``func``
    (``private_arguments``, ``rules.random_rules``)."""
    last: list = []
    real: dict = {}
    draws = _DrawOnce()

    def copied(args):
        copies = private_copy(tuple(args))
        last[:] = [copies]
        return copies

    def on_copies(*args):
        draws.rewind(_global_generators(func))
        return func(*copied(args))  # (the reverse sweeps' Jacobian calls func for the result's shape)

    on_copies.__signature__ = inspect.signature(func)
    on_copies.__name__ = getattr(func, "__name__", "f")

    def autodiff_on_copies(f, *rest, **kwargs):
        derivative = autodiff(real.get(id(f), f), *rest, **kwargs)
        if id(derivative) in wrappers:  # (one wrapper per derivative, however many sweeps ask for it)
            return wrappers[id(derivative)]
        writes = "write_back_arguments(" in (getattr(derivative, "tangent_source", None) or "")

        # (a derivative of a generated gradient, as in hessian, draws where the gradient does)
        generators = tuple({id(g): g for source in (derivative, real.get(id(f), f))
                            for g in getattr(source, "tangent_generators", ())}.values())

        def run(*args):
            draws.rewind(generators)  # every sweep draws what the first one drew
            if writes or any(isinstance(a, GENERATORS) for a in args):
                return derivative(*copied(args))
            return derivative(*args)

        run.__signature__ = getattr(derivative, "__signature__", None) or inspect.signature(derivative)
        run.__name__ = derivative.__name__
        real[id(run)] = derivative
        wrappers[id(derivative)] = run
        keep.append((run, derivative))
        return run

    wrappers: dict = {}
    keep: list = []  # what ``real`` and ``wrappers`` are keyed by, alive as long as they are
    real[id(on_copies)] = func
    inner = make(autodiff_on_copies, on_copies, wrt, **options)

    def run_once(*args, **kwargs):
        last.clear()
        draws.start(func)
        out = inner(*args, **kwargs)
        if last:
            for arg, final in zip(args, last[0]):
                advance_generators(arg, final)
        return out

    run_once.__name__ = inner.__name__
    return run_once
