"""Namer hands out the names a scan from suffix 1 would (it remembers where
each base's scan stopped), and never one already taken."""

import random

from tangent.naming import Namer


def reference_fresh(taken: set, base: str) -> str:
    base = base or "_t"
    if base not in taken:
        taken.add(base)
        return base
    i = 1
    while (f"{base}{i}" if base.endswith("_") else f"{base}_{i}") in taken:
        i += 1
    name = f"{base}{i}" if base.endswith("_") else f"{base}_{i}"
    taken.add(name)
    return name


def test_fresh_names_are_those_of_a_scan_from_one():
    r = random.Random(0)
    bases = ["dx", "dx_1", "_t", "", "t_", "t_1", "x", "x_2"]
    for _ in range(50):
        start = {r.choice(bases) for _ in range(3)} | {f"dx_{r.randint(1, 5)}"}
        namer, taken = Namer(start), set(start)
        for _ in range(60):
            if r.random() < 0.2:  # names reserved from elsewhere, e.g. the user's
                name = r.choice(bases) + (f"_{r.randint(1, 9)}" if r.random() < 0.7 else "")
                namer.reserve(name)
                taken.add(name)
            else:
                base = r.choice(bases)
                assert namer.fresh(base) == reference_fresh(taken, base)
        assert namer.taken == taken


def test_example():
    namer = Namer({"x", "dx"})
    assert [namer.fresh("dx"), namer.fresh("dx"), namer.fresh("x_"), namer.fresh("x_")] == ["dx_1", "dx_2", "x_", "x_1"]
