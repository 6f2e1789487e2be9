"""Random draws carry no derivative.

The methods of ``np.random.RandomState`` and ``np.random.Generator``
(``rs.randn(3)``, ``rng.normal(size=...)``) and NumPy's module-level draws
(``np.random.randn``, ``np.random.normal``, ...) are declared
nondifferentiable: a draw is a constant of the derivative, as in
reparameterised variational inference (``mu + sigma * rs.randn(3)`` has the
derivative of ``mu + sigma * eps``). Generated code draws where the function
does, once per call (the primal runs once in every mode), so a derivative
called with a generator in a given state draws what the function would.
"""

import numpy as np

from . import nondifferentiable

# (shuffle writes into its argument, which the derivative would not see: left
# without a rule, so a shuffle of a differentiated value is refused)
_SKIPPED = {"bit_generator", "spawn", "get_state", "set_state", "seed", "shuffle"}


def _methods(cls) -> list:
    return [getattr(cls, n) for n in dir(cls) if not n.startswith("_") and n not in _SKIPPED
            and callable(getattr(cls, n))]


def _module_draws() -> list:
    found = []
    for n in dir(np.random):
        value = getattr(np.random, n)
        if not n.startswith("_") and callable(value) and getattr(value, "__self__", None) is not None \
                and isinstance(value.__self__, np.random.RandomState) and n not in _SKIPPED:
            found.append(value)
    return found


nondifferentiable(*_methods(np.random.RandomState), *_methods(np.random.Generator), *_module_draws())


def random_draw_method(attr: str):
    """The method ``attr`` of ``np.random.Generator`` or ``RandomState``
    (which both draw the same way for the names they share), or None: what
    ``value.attr(...)`` reads as when ``value``'s class is unknown and
    arrays have no such method (``rs.randn(3)``, ``rng.normal(size=2)``).

    Example::

        random_draw_method("randn")   # RandomState.randn
    """
    if attr.startswith("_") or attr in _SKIPPED:
        return None
    for cls in (np.random.Generator, np.random.RandomState):
        found = getattr(cls, attr, None)
        if callable(found):
            return found
    return None
