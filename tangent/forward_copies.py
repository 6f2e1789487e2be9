"""Forward mode: a copy of a temporary next to the temporary it copies.

Question answered: which ``x = t`` can move up above the tangent statement
between it and ``t = e``? Normalization writes ``s = s + a`` as ``t = s +
a; s = t``, and forward mode puts each value's tangent right after it::

    t = s + a          ->      t = s + a          (the optimizer then
    dt = ds + da               s = t               merges each pair:
    s = t                      dt = ds + da        s = s + a; ds = ds + da)
    ds = dt                    ds = dt

so the optimizer's ``merge_temporaries``, which merges ``t = e`` directly
followed by ``x = t`` (t read nowhere else), finds the pairs adjacent: in a
loop on numbers, two statements fewer per step.

Input: a block of generated statements (nested loop and branch bodies are
treated on their own). ``adjacent_copies`` swaps, in place, each ``dt =
de`` (an assignment to one name) with the ``x = t`` that follows it when
``t = e`` is the statement before, ``de`` neither reads nor binds ``x``,
and ``dt`` is neither ``x`` nor ``t``: then binding ``x`` first changes
nothing ``de`` computes. A function with a ``try`` is left alone (the
order of the bindings could be seen from an ``except`` clause).
"""

from __future__ import annotations

import ast

__all__ = ["adjacent_copies"]


def adjacent_copies(body: list[ast.stmt]) -> int:
    """Swap the statements described in the module docstring; returns how
    many pairs were swapped."""
    if any(isinstance(n, ast.Try) for stmt in body for n in ast.walk(stmt)):
        return 0
    return _block(body)


def _block(body: list[ast.stmt]) -> int:
    swapped = 0
    for stmt in body:
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                swapped += _block(inner)
    for i in range(1, len(body) - 1):
        first, tangent, copy = body[i - 1], body[i], body[i + 1]
        if not all(_single(s) for s in (first, tangent, copy)) or not isinstance(copy.value, ast.Name):
            continue
        t, x, dt = first.targets[0].id, copy.targets[0].id, tangent.targets[0].id
        if copy.value.id != t or dt in (x, t) or x == t:
            continue
        if x in {n.id for n in ast.walk(tangent.value) if isinstance(n, ast.Name)}:
            continue
        body[i], body[i + 1] = copy, tangent
        swapped += 1
    return swapped


def _single(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
