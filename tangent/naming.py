"""Readable, collision-free names for temporaries and adjoints.

Takes the names already in use (the user's locals, globals the generated
module binds); gives fresh ones derived from a readable base (``dx``,
``dx_1``, ``_t``...). Assumes every name that may clash was reserved first:
the order of ``fresh`` calls decides the names, so passes must make them in
a deterministic order (golden sources depend on it)."""

from __future__ import annotations


class Namer:
    """Hands out names that clash with nothing already taken.

    Example::

        namer = Namer({"x", "dx"})
        namer.fresh("dx")  # 'dx_1'
    """

    def __init__(self, taken=()):
        self.taken: set[str] = set(taken)  # only grows
        self._next: dict[str, int] = {}  # base -> first suffix not yet seen taken

    def copy(self) -> Namer:
        """A namer that hands out, from now on, the names this one would."""
        other = Namer()
        other.taken = set(self.taken)
        other._next = dict(self._next)
        return other

    def reserve(self, name: str) -> str:
        """Mark ``name`` as used; returns it."""
        self.taken.add(name)
        return name

    def fresh(self, base: str) -> str:
        """``base`` if free, else ``base_1``, ``base_2``... (``base1`` for a base ending in ``_``)."""
        base = base or "_t"
        if base not in self.taken:
            return self.reserve(base)
        # suffixes below _next[base] were taken when last looked at, and
        # taken only grows: starting there gives the name a scan from 1 would
        pattern = base + "{}" if base.endswith("_") else base + "_{}"
        i = self._next.get(base, 1)
        while pattern.format(i) in self.taken:
            i += 1
        self._next[base] = i + 1
        return self.reserve(pattern.format(i))
