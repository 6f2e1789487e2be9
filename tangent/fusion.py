"""Temporaries read once written into the expression that reads them.

Takes: a specialised generated FunctionDef, its ``value_facts.Specialization``
and its ``NameCounts`` (kept exact). Gives the function with ``t = e``
followed, in the same block, by the one read of ``t`` replaced by ``e``
(``_mul = _neg * x`` then ``_exp = np.exp(_mul)`` is ``_exp = np.exp(_neg *
x)``), as long as the statement stays short (``MAX_LENGTH`` characters).
In the user's code only the temporaries normalization made (``_name``) go:
the variables the user named stay, for reading and debugging.

Why: NumPy does not fuse, but it computes ``a * b * c`` in the temporary
``a * b`` when nothing else holds it, and an array nobody names is freed as
soon as it is used, so the next one reuses its memory: a named full-size
temporary costs a fresh allocation (and its page faults) and stays alive to
the end of the function.

Sound when the function is write-free (``ValueFacts.write_free``: no array
changes after it is computed) and:

* ``e`` is a pure, deterministic expression (``common_subexpressions``'
  candidates: in user code only on numbers and arrays of known shape), so
  computing it later gives the same value and nothing else notices;
* ``t`` is assigned once and read once, by a later statement of the same
  block, and no statement in between assigns a name ``e`` reads (they are
  assignments, comments: anything else stops the search);
* the read is evaluated exactly once where it is (not under ``and``/``or``,
  a conditional expression, a lambda or a comprehension), so ``e`` is
  computed once, as before.
"""

from __future__ import annotations

import ast
import copy

from . import ir
from .common_subexpressions import Candidates
from .name_counts import NameCounts
from .value_facts import Specialization, ValueFacts, names_of

MAX_LENGTH = 88
_CONDITIONAL = (ast.BoolOp, ast.IfExp, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def inline_single_uses(fdef: ast.FunctionDef, special: Specialization, counts: NameCounts) -> ast.FunctionDef:
    """See the module docstring."""
    facts = ValueFacts(fdef, special)
    if facts.write_free:
        _block(fdef.body, Candidates(facts), counts)
    return fdef


def _block(stmts: list, candidates: Candidates, counts: NameCounts) -> None:
    for stmt in stmts:
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                _block(inner, candidates, counts)
    i = 0
    while i < len(stmts):
        if _inline(stmts, i, candidates, counts):
            del stmts[i]
        else:
            i += 1


def _inline(stmts: list, i: int, candidates: Candidates, counts: NameCounts) -> bool:
    """Put the value of ``stmts[i]`` where it is read, if that is sound."""
    stmt = stmts[i]
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
        return False
    t = stmt.targets[0].id
    value = stmt.value
    if counts.stores.get(t) != 1 or counts.loads.get(t) != 1 or isinstance(value, (ast.Name, ast.Constant)):
        return False
    user = not ir.get(stmt, "pure", False)
    if user and not t.startswith("_"):
        return False  # a variable the user named: kept, for reading and debugging
    if not candidates.candidate(value, user):
        return False
    reads = names_of(value)
    for later in stmts[i + 1 :]:
        if isinstance(later, ir.Comment):
            continue
        if not isinstance(later, (ast.Assign, ast.Return)) or later.value is None:
            return False
        if t in names_of(later.value):
            return _put(later, t, value, stmt, counts)
        if isinstance(later, ast.Return) or reads & names_of(later.targets[0]) or len(later.targets) != 1:
            return False
    return False


def _put(later, t: str, value, stmt, counts: NameCounts) -> bool:
    """Replace the one read of ``t`` in ``later`` by ``value``."""
    if ir.get(stmt, "pure", False) and not ir.get(later, "pure", False):
        return False  # adjoint code read by user code: the user's statement stays as written
    new = _replaced_read(later.value, t, value)
    if new is None:
        return False
    old, later.value = later.value, new
    if len(ast.unparse(later)) > MAX_LENGTH:
        later.value = old
        return False
    counts.stores[t] -= 1
    counts.loads[t] -= 1
    return True


def _replaced_read(node, t: str, value):
    """``node`` with its read of ``t`` replaced by ``value``, the nodes on
    the way copied (generated code may share nodes between places); None
    when the read is under a conditional construct (or not there)."""
    if isinstance(node, ast.Name):
        return value if node.id == t and isinstance(node.ctx, ast.Load) else None
    if isinstance(node, _CONDITIONAL):
        return None
    for field, child in ast.iter_fields(node):
        if isinstance(child, ast.AST):
            new = _replaced_read(child, t, value)
            if new is not None:
                copied = copy.copy(node)
                setattr(copied, field, new)
                return copied
        elif isinstance(child, list):
            for k, item in enumerate(child):
                new = _replaced_read(item, t, value) if isinstance(item, ast.AST) else None
                if new is not None:
                    copied = copy.copy(node)
                    setattr(copied, field, child[:k] + [new] + child[k + 1 :])
                    return copied
    return None
