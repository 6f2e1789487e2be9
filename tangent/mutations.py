"""In-place writes the derivative cannot follow.

Question answered: does the function write in place (``y[i] = v``,
``lst.append(v)``, ``y += v`` on an array, a mutating method) into memory
that the caller owns, or that another variable aliases and reads after the
write? Such programs are refused with a message in the user's words.

Input: a function in Tangent's normal form, its ``Origin`` (for messages),
and its ``activity.Analysis``. Output: ``check_mutations`` returns nothing
or raises ``TangentSyntaxError``.

Assumes: aliasing as ``aliases`` answers it (may-share, conservative);
writes into values the function created and no other name reads are safe;
``s += e`` on a name that always holds an immutable number rebinds it.
"""

from __future__ import annotations

import ast
import builtins
import copy
import math

import numpy as np

from . import aliases as alias_analysis
from . import ir
from .activity import Analysis
from .aliases import alias_source, argument_memory, assigned_values, index_makes_copy, may_return_an_argument
from .astwalk import walk_list
from .cfg import CFG, bindings, names_loaded, reaching_definitions
from .errors import TangentSyntaxError
from .ir import Kind
from .runtime.arguments import private_copy, write_back_arguments

_NUMERIC_BUILTINS = {builtins.float, builtins.int, builtins.len, builtins.bool, builtins.complex}
# Methods that change their object in place.
_MUTATING_METHODS = (
    {getattr(list, n) for n in ("append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse")}
    | {getattr(dict, n) for n in ("update", "pop", "popitem", "setdefault", "clear")}
    | {getattr(np.ndarray, n) for n in ("sort", "fill", "put", "resize", "partition", "itemset", "setflags")
       if hasattr(np.ndarray, n)})


def check_mutations(tree: ast.FunctionDef, origin, analysis: Analysis, aliases: bool | str = True,
                    undone: frozenset = frozenset(), tape_ops: frozenset = frozenset()) -> None:
    """Refuse in-place writes whose effect the derivative could not follow.

    Writes (``y[i] = v``, ``lst.append(v)``) are allowed into values the
    function created. Refused: writes into an argument (the caller's object),
    and writes into a value that another variable aliases (``z = y``, a
    slice or reshape of it) when that alias is read after the write.
    With ``aliases="augmented"`` only augmented assignments (``y += v``, which
    NumPy does in place but the derivative does as ``y = y + v``) are checked
    for aliases: forward mode follows aliased item writes itself.
    """
    order = _statements(tree.body)
    rebinding = _rebinding_writes(tree, analysis.cfg, order)
    writes = _in_place_writes(order, aliases, rebinding)
    if undone:  # (writes of a gradient that its backward pass undoes: see reverse.restores_as_writes)
        writes = {var: [s for s in sites if id(s) not in undone] for var, sites in writes.items()}
    if not origin.filename.startswith("<tangent "):
        # (code Tangent generated writes into its tape on purpose; the user's
        # writes in it were checked when the user's function was transformed)
        _refuse_writes_into_arguments(tree, origin, analysis, writes)
        from .calls import refuse_writing_helpers  # (calls reads writes with this module)
        from .private_arguments import refuse_active_restored

        refuse_active_restored(tree, origin, analysis)  # (before check_restored refuses it at run time)
        refuse_writing_helpers(tree, origin, analysis)
    if not writes or not aliases:
        return
    _AliasedWrites(tree, origin, analysis.cfg, order, rebinding, tape_ops).check(writes, aliases)


def _statements(stmts) -> list[ast.stmt]:
    """The statements in source order, compound ones before their bodies."""
    order = []
    for stmt in stmts:
        order.append(stmt)
        if isinstance(stmt, (ast.For, ast.While)):
            order += _statements(stmt.body)
        elif isinstance(stmt, ast.If):
            order += _statements(stmt.body) + _statements(stmt.orelse)
    return order


def _in_place_writes(order: list, aliases, rebinding: set[int]) -> dict[str, list]:
    """{variable: the statements that write into it in place}."""
    writes: dict[str, list] = {}
    for stmt in order:
        target = None
        match ir.kind_or_none(stmt):
            case Kind.SETITEM if isinstance(stmt.targets[0].value, ast.Name):
                target = stmt.targets[0].value.id
            case Kind.APPEND | Kind.POP:
                target = stmt.value.func.value.id
            case Kind.ASSIGN if ir.get(stmt, "augmented", False) and aliases and id(stmt) not in rebinding:
                # (s += e on a number rebinds s: nothing else sees it)
                target = stmt.targets[0].id
        if target is not None:
            writes.setdefault(target, []).append(stmt)
    return writes


# ------------------------------------------------------- the caller's objects
def _refuse_writes_into_arguments(tree: ast.FunctionDef, origin, analysis: Analysis, writes: dict) -> None:
    """Refuse writes into any value that may be (part of) an object the caller
    passed: an argument itself, a view of it (a basic slice, a reshape, .T),
    an item of a list or dict argument, a loop target over a list argument."""
    found = argument_writes(tree, analysis.cfg, writes)
    if not found:
        return
    var, stmt, owners, facts, made = found[0]
    argument = owners[0]
    if origin.generated:
        raise _refused_in_generated_code(origin, stmt)
    if var == argument and (var, var, True) in facts and not made.get(var):
        raise origin.error(
            TangentSyntaxError, stmt,
            f"this writes into the argument {var!r}, changing the caller's value, which the derivative cannot undo",
            f"copy it first: {var} = {var}{_copy_spelling(tree)[0]}",
        )
    where = [s for s in made.get(var, []) if getattr(s, "lineno", None) is not None]
    line = where[0].lineno if where else None
    text = origin.text(line) if line is not None else ""
    since = f" (since line {line}{': ' + text if text else ''})" if line is not None else ""
    shown = _user_words(tree)
    raise origin.error(
        TangentSyntaxError, stmt,
        f"this writes into {shown(var)}, which may share memory with the argument {argument!r}{since}, "
        "changing the caller's value, which the derivative cannot undo",
        f"write into a copy: make one with {'%s (or %s)' % _copy_spelling(tree)}"
        f"{' on line ' + str(line) if line else ''}, "
        "before this write",
    )


def argument_writes(tree: ast.FunctionDef, cfg: CFG, writes: dict | None = None) -> list[tuple]:
    """The writes into memory the caller may own, in source order:
    ``(var, stmt, owners, facts, made)`` for each statement writing into
    ``var`` (``y[i] = v``, an append or another mutating method) where
    ``var`` may share memory with the parameters ``owners`` (sorted);
    ``facts`` and ``made`` as ``aliases.argument_memory`` gives them at
    that statement. ``writes`` is ``_in_place_writes``' answer (computed
    when not given). Example::

        owners = {o for _, _, found, _, _ in argument_writes(tree, CFG.build(tree)) for o in found}
    """
    if writes is None:
        writes = _in_place_writes(_statements(tree.body), False, set())
    sites = [(var, stmt) for var, found in writes.items() for stmt in found
             if not ir.get(stmt, "augmented", False)]
    for node in cfg.nodes:
        stmt = node.stmt
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and isinstance(stmt.value.func, ast.Attribute) \
                and isinstance(stmt.value.func.value, ast.Name):
            try:
                mutates = ir.callee(stmt.value) in _MUTATING_METHODS
            except TypeError:
                mutates = False
            if mutates:
                sites.append((stmt.value.func.value.id, stmt))
    if not sites:
        return []  # nothing writes into anything: what may share memory does not matter
    facts, made = argument_memory(tree, cfg)
    out = []
    for var, stmt in sites:
        node = cfg.node_of.get(id(stmt))
        if node is None:
            continue
        owners = sorted({f[1] for f in facts[node] if f[0] == var and f[2]})
        if owners:
            out.append((var, stmt, owners, facts[node], made))
    return out


def _copy_spelling(tree: ast.FunctionDef) -> tuple[str, str]:
    """How the function's array library copies an array: (method, function)."""
    for node in ast.walk(tree):
        callee = ir.get(node, "callee", None)
        module = getattr(callee, "__module__", None) or getattr(getattr(callee, "__objclass__", None), "__module__", "")
        if isinstance(module, str) and module.split(".")[0] == "torch":
            return ".clone()", "torch.clone(...)"
    return ".copy()", "np.copy(...)"


def _user_words(tree: ast.FunctionDef):
    """shown(var, avoid=None): the user's words for a variable of the
    normalized function: its name, or for a temporary of the normalizer the
    variable it became (other than ``avoid``) or the expression it holds
    (d['q'], an item of the sequence a loop runs over); ``shown.words`` gives
    the same without quotes (None when there are no such words)."""
    definitions = {}
    user_names = {}  # temporary -> the user's variable it was copied into
    for stmt in walk_list(tree):
        if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
            definitions.setdefault(stmt.targets[0].id, stmt.value)
            if isinstance(stmt.value, ast.Name):
                user_names.setdefault(stmt.value.id, stmt.targets[0].id)

    def words(var, avoid=None, depth=0):
        value = definitions.get(var)
        if isinstance(value, ast.Call) and ir.callee(value) is private_copy and isinstance(value.args[0], ast.Name):
            return value.args[0].id  # the private copy of an argument (private_arguments)
        if not var.startswith("_") or depth > 8:
            return var
        became = user_names.get(var)
        if became is not None and not became.startswith("_") and became != avoid:
            return became
        value = definitions.get(var)
        if isinstance(value, ast.Call) and len(value.args) == 1 and isinstance(value.args[0], ast.Name) \
                and getattr(value.func, "id", getattr(value.func, "attr", "")) in ("as_sequence", "list", "tuple"):
            value = value.args[0]  # the sequence a for loop runs over
        if isinstance(value, ast.Name):
            return words(value.id, avoid, depth + 1)
        if isinstance(value, (ast.Subscript, ast.Attribute)):
            value = copy.deepcopy(value)
            for node in ast.walk(value):
                if isinstance(node, ast.Name) and node.id.startswith("_"):
                    node.id = words(node.id, avoid, depth + 1) or "..."
            return ast.unparse(value)
        return None

    def shown(var, avoid=None):
        text = words(var, avoid)
        return repr(text) if text else "a value computed on that line"

    shown.words = words
    return shown


# ------------------------------------------------------- s += e on numbers
def immutable_scalars(tree: ast.FunctionDef) -> tuple[set[str], object]:
    """(names, scalar): the names that certainly hold an immutable number
    (or string) wherever they are bound: every assignment to them gives a
    constant, ``float(...)``, ``int(...)``, ``len(...)``, a ``math``
    function's result, a loop counter over a range, or arithmetic of such
    values (parameters never: the generic code knows nothing of its
    arguments); and ``scalar(value)``, whether a value is such a number.
    ``s += e`` on such a name rebinds it: nothing else can see the change."""
    definitions = _scalar_definitions(tree)
    candidates = set(definitions)

    def scalar(value) -> bool:
        if isinstance(value, ast.Constant):
            return isinstance(value.value, (int, float, complex, str, bytes)) or value.value is None
        if isinstance(value, ast.Name):
            return value.id in candidates and not ir.is_global(value)
        if isinstance(value, ast.BinOp):
            return not isinstance(value.op, ast.MatMult) and scalar(value.left) and scalar(value.right)
        if isinstance(value, ast.UnaryOp):
            return scalar(value.operand)
        if isinstance(value, ast.Compare):
            return scalar(value.left) and all(scalar(c) for c in value.comparators)
        if isinstance(value, ast.Call):
            callee = ir.callee(value)
            if callee in _NUMERIC_BUILTINS:
                return True
            module = getattr(callee, "__module__", None)
            if module == "math" or callee in vars(math).values():
                return True  # math's functions always return Python numbers
        return False

    # candidates only shrink, so this ends after at most len(definitions) + 1 rounds
    changed = True
    while changed:
        changed = False
        for var in sorted(candidates):
            if not all(v is not None and scalar(v) for v in definitions[var]):
                candidates.discard(var)
                changed = True
    return candidates, scalar


def _scalar_definitions(tree: ast.FunctionDef) -> dict[str, list]:
    """{name: the values bound to it}: None for a value not followed (an
    unpacked item, a parameter), 0 for a loop counter over a range."""
    definitions = bindings(tree, counter=ast.Constant(value=0), unfollowed=None)
    for p in tree.args.posonlyargs + tree.args.args + tree.args.kwonlyargs:
        definitions.setdefault(p.arg, []).append(None)
    return definitions


def _rebinding_writes(tree: ast.FunctionDef, cfg: CFG, order: list) -> set[int]:
    """ids of the augmented assignments ``s += e`` that rebind ``s``: every
    value ``s`` may hold when they run is an immutable number (see
    immutable_scalars), so no other name sees the change."""
    augmented = [stmt for stmt in order if ir.get(stmt, "augmented", False)]
    if not augmented:
        return set()
    candidates, scalar = immutable_scalars(tree)
    reach_in, _ = reaching_definitions(cfg)
    found = set()
    for stmt in augmented:
        var = stmt.targets[0].id
        node = cfg.node_of.get(id(stmt))
        if node is None:
            continue
        if var in candidates:
            found.add(id(stmt))
            continue
        ok = True
        for name_, where in reach_in[node]:
            if name_ != var or where is None:
                continue
            if where is cfg.entry:
                ok = False  # a parameter: the generic code does not know it is a number
            elif isinstance(where.stmt, ast.Assign) and isinstance(where.stmt.targets[0], ast.Name):
                ok = scalar(where.stmt.value)
            else:
                ok = False
            if not ok:
                break
        if ok:
            found.add(id(stmt))
    return found


def _refused_in_generated_code(origin, stmt) -> TangentSyntaxError:
    """The refusal of a write in a derivative Tangent generated: its variables
    are Tangent's, not the user's, so the message names none of them."""
    return origin.error(
        TangentSyntaxError, stmt,
        "the derivative writes in place into an array that it also keeps for its backward pass; "
        "differentiating this derivative again in reverse mode is not supported",
        "for second derivatives use tangent.hvp (forward over reverse), or tangent.jvp of the gradient",
    )


# ------------------------------------------------------- aliased writes
class _AliasedWrites:
    """Refuse a write into a value another variable may alias when that
    variable is read after the write."""

    def __init__(self, tree: ast.FunctionDef, origin, cfg: CFG, order: list, rebinding: set[int],
                 tape_ops: frozenset = frozenset()):
        self.origin = origin
        self.cfg = cfg
        self.order = order
        self.rebinding = rebinding
        # (a gradient's own tape pushes and pops alias nothing it reads: see restores.tape_operations)
        self.edges = alias_analysis.number_items_dropped(
            [e for e in _alias_edges(order) if id(e[3]) not in tape_ops], order)
        self.shown = _user_words(tree)
        self.copy_spelling = _copy_spelling(tree)

    def check(self, writes: dict, aliases) -> None:
        shown = self.shown
        for written, sites in writes.items():
            for w_stmt in sites:
                if aliases == "augmented" and not ir.get(w_stmt, "augmented", ir.get(w_stmt, "augmented_item", False)):
                    continue
                for other, edge in self.aliased(written, w_stmt).items():
                    for u_stmt in self.uses(other):
                        if self.path(w_stmt, u_stmt, {other}):
                            if self.origin.generated:
                                raise _refused_in_generated_code(self.origin, w_stmt)
                            text = self.origin.text(line := edge[3].lineno)
                            what = (f"an item of {shown(written)} that another of its items may be" if other == written
                                    else f"{shown(written)}, which may share memory with {shown(other, avoid=shown.words(written))}")
                            raise self.origin.error(
                                TangentSyntaxError, w_stmt, f"this writes in place into {what} (since line {line}"
                                f"{': ' + text if text else ''}), read after this write; "
                                "Tangent cannot differentiate through that aliasing",
                                f"keep an independent copy on line {line} (e.g. with {self.copy_spelling[0]} or {self.copy_spelling[1]}), "
                                "or write into a copy made just before this line",
                            )

    def uses(self, name: str) -> list:
        """The statements that read ``name`` (not counting writes into it)."""
        return [s for s in self.order if name in _own_loads(s) and not (
            ir.is_setitem(s) and s.targets[0].value.id == name and name not in names_loaded(s.value))
            and not _writes_back(s)]

    def rebinds(self, node, names: set[str]) -> bool:
        stmt = node.stmt
        if isinstance(stmt, ast.For):
            return isinstance(stmt.target, ast.Name) and stmt.target.id in names
        if ir.get(stmt, "augmented", False) and id(stmt) not in self.rebinding:
            return False  # y += e on an array keeps the same object (on a number it rebinds)
        return isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name) and stmt.targets[0].id in names

    def path(self, from_stmt, to_stmt, names: set[str]) -> bool:
        """Whether ``to_stmt`` may run after ``from_stmt`` with none of
        ``names`` rebound in between (a path in the CFG)."""
        start, goal = self.cfg.node_of.get(id(from_stmt)), self.cfg.node_of.get(id(to_stmt))
        if start is None or goal is None:
            return True
        seen, frontier = set(), list(start.succ)
        while frontier:
            node = frontier.pop()
            if node is goal:
                return True
            if id(node) in seen or self.rebinds(node, names):
                continue
            seen.add(id(node))
            frontier.extend(node.succ)
        return False

    def aliased(self, written: str, w_stmt) -> dict:
        """{name: the edge that first links it} of the names that may share
        memory with ``written`` when ``w_stmt`` runs."""
        # the aliasing made by an edge may still hold at the write
        live = [e for e in self.edges if self.path(e[3], w_stmt, {e[0], e[1]})]
        # writing into a container (an item, an attribute, an append) leaves what it held alone, whichever
        # of its names (box = _box) the write uses; not y[i] += v, obj.a += v: into the array item itself
        same = {written}
        grew = True
        while grew:  # (same only grows, within the edges' names: this ends)
            grew = False
            for e in live:
                if e[2] == "same" and (e[0] in same) != (e[1] in same):
                    same |= {e[0], e[1]}
                    grew = True
        live = [e for e in live if not (e[2] == "contains" and e[0] in same and not ir.get(w_stmt, "augmented_item", False))]
        # appending to or popping from a list leaves the items read from it
        # (and from the containers that hold it) alone
        list_write = not ir.is_setitem(w_stmt) and not ir.get(w_stmt, "augmented", False)
        found = {written: None}
        frontier = [written]
        while frontier:
            current = frontier.pop()
            for e in live:
                for here, there in ((e[0], e[1]), (e[1], e[0])):
                    if list_write and e[2] == "item" and here == e[1]:
                        continue
                    if here == current and there not in found:
                        found[there] = e
                        frontier.append(there)
        found.pop(written)
        shared = ir.get(w_stmt, "augmented_item", False) and alias_analysis.shared_slots(live, same, self.order)
        return {**found, written: shared} if shared else found  # (another slot holds what y[k] += v writes)


def _writes_back(stmt) -> bool:
    """Whether ``stmt`` writes a private copy back into the caller's argument
    (private_arguments): a read of primal values only, with no derivative,
    so what aliases the copy does not matter to it."""
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) \
        and ir.callee(stmt.value) is write_back_arguments


def _own_loads(stmt) -> set[str]:
    """The names a statement reads, a compound statement's own expressions
    only (not its body)."""
    if isinstance(stmt, ast.For):
        return names_loaded(stmt.iter)
    if isinstance(stmt, (ast.While, ast.If)):
        return names_loaded(stmt.test)
    return names_loaded(stmt)


def _alias_edges(order: list) -> list[tuple]:
    """May-alias edges (a, b, kind, stmt): after stmt, a and b may share
    memory, directly (a = b, a view: "same", "view"), as an item of a
    container (a = b[i], a = obj.attr: "item"), as the content of a
    container (lst = [b], lst.append(b), d[k] = b, obj.attr = b:
    "contains") or through a call of the user's own function, whose result
    may be (a view of) any argument, or a list built from others ("call")."""
    edges = []
    all_definitions = assigned_values(order)
    for stmt in order:
        match ir.kind_or_none(stmt):
            case Kind.APPEND:
                container = stmt.value.func.value.id
                edges += [(container, n, "contains", stmt) for n in names_loaded(stmt.value) - {container}]
            case Kind.SETITEM if isinstance(stmt.targets[0].value, ast.Name) and isinstance(stmt.value, ast.Name):
                edges.append((stmt.targets[0].value.id, stmt.value.id, "contains", stmt))
            case Kind.ASSIGN | Kind.POP:
                edges += [(stmt.targets[0].id, n, kind, stmt) for n, kind in _assignment_aliases(stmt, all_definitions)]
    return edges


def _assignment_aliases(stmt: ast.Assign, definitions: dict) -> list[tuple[str, str]]:
    """(name, kind) of the names ``alias = value`` makes ``alias`` share
    memory with (see _alias_edges for the kinds)."""
    alias = stmt.targets[0].id
    value = stmt.value
    if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name) \
            and index_makes_copy(value.slice, definitions, value.value.id):
        return []  # x[[0, 1]], x[x > 0]: a copy
    source = alias_source(value)
    if source is not None and source != alias:
        return [(source, "same" if isinstance(value, ast.Name) else "item" if isinstance(value, ast.Subscript)
                 else "view")]
    if isinstance(value, (ast.List, ast.Tuple, ast.Dict)):
        return [(n, "contains") for n in names_loaded(value) - {alias}]
    if isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name):
        return [(value.value.id, "item")]
    callee = ir.callee(value)
    if isinstance(value, ast.BinOp) and getattr(callee, "__name__", "") in ("repeat", "repeat_right", "concat") \
            and getattr(callee, "__module__", "") == "tangent.runtime":
        # [a] + [b], [a] * 3: the new list holds the operands' items
        return [(n, "call") for n in names_loaded(value) - {alias}]
    if isinstance(value, ast.Call) and callee is list.pop and isinstance(value.func, ast.Attribute):
        return [(value.func.value.id, "item")]
    if isinstance(value, ast.Call) and may_return_an_argument(callee):
        return [(n, "call") for n in names_loaded(value) - {alias}]
    return []
