"""The intermediate form the passes hand each other: stdlib ``ast`` trees
plus a few marker nodes and declared annotations.

Contract
--------
* Imports nothing of the pipeline (only ``runtime``, to recognise
  ``restore_region`` calls): every pass may import it (base layer, with
  ``astwalk``, ``naming``, ``errors``, ``runtime``).
* Gives

  - the marker nodes: ``GradHook`` (made by normalization), ``Accumulate``
    and ``ZeroDerivative`` (made by template instantiation), ``Save``,
    ``Restore`` and ``Comment`` (made by reverse mode; ``Site`` is what a
    save/restore pair refers to). Markers never reach ``ast.unparse``:
    reverse mode lowers ``Save``/``Restore`` to stack code, the
    differentiators turn ``Accumulate``/``ZeroDerivative`` into statements
    and expressions, and codegen turns ``Comment`` into a ``# ...`` line;
  - ``ANNOTATIONS``, the declared facts attached to AST nodes, with
    ``annotate`` / ``get`` / ``has`` and named readers (``callee``...).
    Each is stored as the attribute ``tangent_<name>`` of the node, so that
    ``copy_tree`` / ``copy.deepcopy`` copy it with the node; an undeclared
    name raises ``KeyError``;
  - ``kind(stmt)``: which of the statement forms of normalized (and of
    differentiated) code a statement is, as a ``Kind``; ``kind_or_none``
    for walks that meet other nodes too; the predicates ``is_setitem``,
    ``is_append``, ``is_pop``, ``is_restore_region`` built on it, and
    ``written_region`` (variable and index a ``SETITEM`` writes);
  - small builders of AST nodes: ``name``, ``store``, ``assign``, ``call``,
    ``index_value`` (a subscript's index as a value).
* Assumes statements are normalized (see normalize.py: one operation per
  statement, loops over ``range``) when ``kind`` is asked about them.
"""

from __future__ import annotations

import ast
import copy
import enum

from . import runtime

# ---------------------------------------------------------------- markers


class Site:
    """One place where a variable is (re)defined, whose old value may be saved."""

    def __init__(self, name: str, stmt: ast.AST, in_loop: bool, index: ast.expr | None = None):
        self.name = name
        self.stmt = stmt
        self.in_loop = in_loop
        self.index = index  # for ``name[index] = ...``: only that region is saved


class Save(ast.stmt):
    """Marker statement (primal sweep): the value of ``site.name`` may have
    to be pushed here, before the statement of ``site`` overwrites it."""

    _fields = ()

    def __init__(self, site: Site | None = None):
        super().__init__()
        self.site = site


class Restore(ast.stmt):
    """Marker statement (adjoint sweep): pop the value ``Save(site)`` pushed
    back into ``site.name`` (or its written region), if it was pushed."""

    _fields = ()

    def __init__(self, site: Site | None = None):
        super().__init__()
        self.site = site


class Comment(ast.stmt):
    """Marker statement: a ``# text`` line in the generated source."""

    _fields = ()

    def __init__(self, text: str = ""):
        super().__init__()
        self.text = text


class GradHook(ast.stmt):
    """``with insert_grad_of(var) as alias: body``: runs in the backward pass."""

    _fields = ("body",)

    def __init__(self, var: str = "", alias: str = "", body: list | None = None):
        super().__init__()
        self.var = var
        self.alias = alias
        self.body = body or []


class Accumulate(ast.stmt):
    """Marker statement: add ``value`` into the derivative of ``param``."""

    _fields = ("value",)

    def __init__(self, param: str = "", target: ast.expr | None = None, value: ast.expr | None = None):
        super().__init__()
        self.param = param
        self.target = target  # the atom bound to param
        self.value = value


class ZeroDerivative(ast.expr):
    """Marker expression: the derivative of an inactive value (zero).

    ``like`` is the primal atom it is the derivative of, so that the marker
    can become ``zeros_like(like)`` where it cannot be simplified away.
    """

    _fields = ()

    def __init__(self, like: ast.expr | None = None):
        super().__init__()
        self.like = like


# ------------------------------------------------------------ annotations

#: The facts passes attach to nodes: name -> meaning. The attribute on the
#: node is ``tangent_<name>``.
ANNOTATIONS: dict[str, str] = {
    "callee": "Call, Attribute or BinOp: the Python object the operation resolves to "
              "(frontend.UNRESOLVED when unknown); set by normalization and analysis",
    "method": "Call: its func is `receiver.method` and the receiver is the method's first argument",
    "property": "Call: a property read `obj.attr` of a user class, made a call of the getter",
    "pure_call": "Call: the callee has no side effects, so a call whose result is unused may go",
    "global": "Name or Attribute: a resolved global constant (np.pi): an atom, like a literal",
    "value": "Name: the object a global or engine helper name stands for, bound in the generated module",
    "augmented": "Assign: came from `x op= e`; on an array that writes into x, which aliases see",
    "augmented_item": "Assign into an item or attribute: came from `y[i] op= e` or `obj.a op= e`; on an array "
                      "item that writes into the item itself, which the names holding it see",
    "ref": "Name (forward mode): names the tangent of a primal variable",
    "hook": "statement (reverse mode): comes from the user's insert_grad_of block (may have effects)",
    "pure": "Assign (reverse mode): generated adjoint code, without side effects; algebra may simplify it",
    "normal": "statement (desugar -> anf): already in A-normal form, passed through unchanged",
    "parameter": "Assign (desugar -> anf): binds an inlined function's parameter (no aliasing of built objects)",
    "retest": "While (desugar -> anf): the loop test as re-evaluated after the body",
    "indexed": "For (desugar -> anf): a loop over a sequence, lowered to a loop over its indices",
    "checkpoint": "Call (anf -> reverse): written `tangent.checkpoint(g)(...)`: g's insides are recomputed, not taped",
    "checkpointed": "For/While (desugar -> reverse): written `for t in tangent.checkpointed(range(...), snapshots=k)` or `while tangent.checkpointed(test, snapshots=k)`: k (an atom)",
    "shift_invariant": "Call (analysis): an extremum the result does not depend on, subtracted out again "
                       "(log-softmax, logsumexp): held constant (shift_invariance.py)",
    "kinds": "FunctionDef: analysis' kind of each variable (name -> 'float', 'int', ... or None)",
}

_PREFIX = "tangent_"
_ATTRIBUTE = {key: _PREFIX + key for key in ANNOTATIONS}


def _attribute(key: str) -> str:
    try:
        return _ATTRIBUTE[key]
    except KeyError:
        raise KeyError(f"unknown annotation {key!r}: declare it in ir.ANNOTATIONS") from None


def annotate(node: ast.AST, **facts) -> ast.AST:
    """Attach declared facts to ``node``; returns the node.

    Example::

        call = annotate(ast.Call(...), callee=np.sin, method=False, pure_call=True)
    """
    for key, value in facts.items():
        setattr(node, _attribute(key), value)
    return node


def get(node: ast.AST, key: str, default=None):
    """The fact ``key`` of ``node``, or ``default`` when it has none."""
    return getattr(node, _attribute(key), default)


def has(node: ast.AST, key: str) -> bool:
    """Whether ``node`` carries the fact ``key`` (whatever its value)."""
    return hasattr(node, _attribute(key))


def callee(node: ast.AST):
    """The object the call (or attribute read, operator) ``node`` resolves to; None if not recorded."""
    return getattr(node, "tangent_callee", None)


def is_method(node: ast.AST) -> bool:
    """A call ``receiver.method(...)`` whose receiver is the method's first argument."""
    return getattr(node, "tangent_method", False)


def is_global(node: ast.AST) -> bool:
    """A resolved global constant used as an atom."""
    return getattr(node, "tangent_global", False)


# ------------------------------------------------------- statement kinds


class Kind(str, enum.Enum):
    """The statement forms of normalized code (and the markers of
    differentiated code). A ``Kind`` compares equal to its string value."""

    ASSIGN = "assign"          # name = atom | one operation on atoms (not a pop)
    POP = "pop"                # name = lst.pop(...)
    SETITEM = "setitem"        # y[index] = atom | obj.attr = atom
    APPEND = "append"          # lst.append(atom)
    RESTORE_REGION = "restore_region"  # restore_region(y, index, old): a backward pass's undo of a write
    EFFECT = "effect"          # any other expression statement (print(...), lst.extend(...)), assert, raise
    HOOK = "hook"              # GradHook
    IF = "if"
    FOR = "for"                # for i in range_name: ...
    WHILE = "while"            # while test_name: ... (the test recomputed at the end of the body)
    RETURN = "return"
    PASS = "pass"              # only in generated code (an empty block)
    SAVE = "save"              # reverse-mode markers...
    RESTORE = "restore"
    COMMENT = "comment"
    ACCUMULATE = "accumulate"  # template output: d[param] += value
    UNPACK = "unpack"          # a, b = value: only in generated code (z, tape = f_fwd(...))


_SIMPLE = {
    ast.If: Kind.IF, ast.For: Kind.FOR, ast.While: Kind.WHILE, ast.Return: Kind.RETURN,
    ast.Assert: Kind.EFFECT, ast.Raise: Kind.EFFECT, ast.Pass: Kind.PASS,
    GradHook: Kind.HOOK, Save: Kind.SAVE, Restore: Kind.RESTORE, Comment: Kind.COMMENT,
    Accumulate: Kind.ACCUMULATE,
}


def kind(stmt: ast.stmt) -> Kind:
    """Which form of statement ``stmt`` is. Raises ``ValueError`` on a
    statement normalized code does not contain (``with``, ``try``...)."""
    found = kind_or_none(stmt)
    if found is None:
        raise ValueError(f"not a statement of normalized code: {ast.dump(stmt)[:200]}")
    return found


def kind_or_none(stmt: ast.AST) -> Kind | None:
    """``kind(stmt)``, or None for a node that is not a statement of
    normalized code (an expression, a ``with``...): for the passes that walk
    trees holding other nodes too."""
    found = _SIMPLE.get(type(stmt))
    if found is not None:
        return found
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        target = stmt.targets[0]
        if isinstance(target, ast.Name):
            return Kind.POP if callee(stmt.value) is list.pop else Kind.ASSIGN
        if isinstance(target, ast.Subscript) or isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
            return Kind.SETITEM
        if isinstance(target, ast.Tuple) and all(isinstance(e, ast.Name) for e in target.elts):
            return Kind.UNPACK
    elif isinstance(stmt, ast.Expr):
        found = callee(stmt.value)
        if found is list.append:
            return Kind.APPEND
        if found is runtime.restore_region:
            return Kind.RESTORE_REGION
        return Kind.EFFECT
    return None


def is_setitem(stmt: ast.AST) -> bool:
    """``y[index] = atom`` (a write into an array, list or dict) or
    ``obj.attr = atom`` (into an object built in the function)."""
    return kind_or_none(stmt) is Kind.SETITEM


def is_append(stmt: ast.AST) -> bool:
    """``lst.append(atom)``."""
    return kind_or_none(stmt) is Kind.APPEND


def is_pop(stmt: ast.AST) -> bool:
    """``name = lst.pop(...)``."""
    return kind_or_none(stmt) is Kind.POP


def is_restore_region(stmt: ast.AST) -> bool:
    """``restore_region(y, index, old)``: a backward pass's undo of a write."""
    return kind_or_none(stmt) is Kind.RESTORE_REGION


def index_value(node: ast.expr) -> ast.expr:
    """The index of a subscript as a value (``1:n`` -> ``slice(1, n)``)."""
    if isinstance(node, ast.Slice):
        parts = [p if p is not None else ast.Constant(value=None) for p in (node.lower, node.upper, node.step)]
        while len(parts) > 2 and isinstance(parts[-1], ast.Constant) and parts[-1].value is None:
            parts.pop()
        return ast.Call(func=ast.Name(id="slice", ctx=ast.Load()), args=copy.deepcopy(parts), keywords=[])
    if isinstance(node, ast.Tuple):
        return ast.Tuple(elts=[index_value(e) for e in node.elts], ctx=ast.Load())
    return copy.deepcopy(node)


def written_region(stmt: ast.Assign) -> tuple[str, ast.expr, ast.expr]:
    """(variable, index as written in the subscript, index as a value) of a
    ``SETITEM`` statement; an attribute write ``obj.attr = v`` is the region
    ``"attr"`` of ``obj``."""
    target = stmt.targets[0]
    if isinstance(target, ast.Attribute):
        return target.value.id, ast.Constant(value=target.attr), ast.Constant(value=target.attr)
    return target.value.id, target.slice, index_value(target.slice)


# --------------------------------------------------------------- builders


def name(id_: str) -> ast.Name:
    """``id_`` read."""
    return ast.Name(id=id_, ctx=ast.Load())


def store(id_: str) -> ast.Name:
    """``id_`` assigned to."""
    return ast.Name(id=id_, ctx=ast.Store())


def assign(target: str, value: ast.expr) -> ast.Assign:
    """``target = value``."""
    return ast.Assign(targets=[store(target)], value=value, lineno=0)


def call(func: str, *args: ast.expr) -> ast.Call:
    """``func(*args)`` for a function named ``func``."""
    return ast.Call(func=name(func), args=list(args), keywords=[])
