"""Readable, collision-free names for temporaries and adjoints."""

from __future__ import annotations


class Namer:
    """Hands out names that clash with nothing already taken.

    Example::

        namer = Namer({"x", "dx"})
        namer.fresh("dx")  # 'dx_1'
    """

    def __init__(self, taken=()):
        self.taken: set[str] = set(taken)

    def reserve(self, name: str) -> str:
        self.taken.add(name)
        return name

    def fresh(self, base: str) -> str:
        base = base or "_t"
        if base not in self.taken:
            return self.reserve(base)
        i = 1
        while f"{base}{i}" in self.taken if base.endswith("_") else f"{base}_{i}" in self.taken:
            i += 1
        return self.reserve(f"{base}{i}" if base.endswith("_") else f"{base}_{i}")
