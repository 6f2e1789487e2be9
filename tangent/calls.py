"""Calls of the user's own functions: how their arguments bind.

Question answered: does a statement call a user function (one with no
derivative rule, so Tangent differentiates its source), and which of its
parameters receive active (varied) values, known functions, or instances of
known user classes? Reverse and forward mode specialise the callee's
derivative by that binding (``CallBinding.key``).

Input: the differentiator (its parsed function, analysis and error
builder) and a normalized statement whose value is a call. Output: a
``CallBinding`` or None; bad calls raise ``TangentSyntaxError``.

Also, for specialised code: ``call_result`` (the Value a user function's
call returns, from the Values of its arguments, for ``shapes.infer_shapes``)
and ``argument_descriptions`` (what a call site knows of the callee's
arguments, so the callee's derivative is specialised too).

Assumes: the call's ``tangent_callee`` was resolved by the frontend.
"""

from __future__ import annotations

import ast
import inspect
import types as pytypes
import weakref

from . import ir, rules
from .activity import Analysis
from .astwalk import names_in
from .cfg import CFG
from .errors import TangentError, TangentSyntaxError
from .frontend import UNRESOLVED, _note, parse_function, recording, unchanged
from .item_classes import object_class, passed_item_classes
from .mutations import argument_writes
from .naming import Namer
from .normalize import normalize
from .rules.shape_values import UNKNOWN, Array, Seq, Struct
from .sequence_shapes import SequencesEscape, contains_sequence
from .shapes import infer_shapes


class CallBinding:
    """How a call of a user function maps onto its parameters."""

    def __init__(self, callee, args: list, keywords: dict, bindings: dict, active: list, static: dict, types: dict):
        self.callee = callee
        self.args = args  # positional atoms, the receiver first for methods
        self.keywords = keywords
        self.bindings = bindings  # param -> atom
        self.active = active  # params bound to active values
        self.static = static  # params bound to known functions
        self.types = types  # params of known user classes

    @property
    def key(self):
        return (tuple(self.active), tuple(sorted((k, id(v)) for k, v in self.static.items())),
                tuple(sorted((k, id(v)) for k, v in self.types.items())))


def active_user_call(mode, stmt) -> CallBinding | None:
    """The binding of ``stmt``'s call when it calls a user function with an
    active argument (``mode`` is a differentiator: parsed, analysis, error)."""
    value = stmt.value
    if not isinstance(value, ast.Call):
        return None

    def error(message, hint=""):
        return mode.error(TangentSyntaxError, stmt, message, hint)

    binding = bind_user_call(mode.parsed, mode.analysis, stmt, value, error)
    if binding is not None and binding.active and hasattr(binding.callee, "refusal_when_differentiated"):
        raise error(*binding.callee.refusal_when_differentiated)  # a runtime helper not differentiated yet
    return binding if binding is not None and binding.active else None


def bind_user_call(parsed, analysis: Analysis, stmt, value: ast.Call, error):
    """CallBinding of ``value`` when it calls a user function, else None."""
    callee = ir.get(value, "callee", UNRESOLVED)
    if callee is UNRESOLVED or not isinstance(callee, pytypes.FunctionType) or rules.is_library_function(callee):
        return None
    if rules.lookup_adjoint(callee) is not None or rules.lookup_tangent(callee) is not None \
            or rules.is_nondifferentiable(callee):
        return None
    args = list(value.args)
    if ir.is_method(value):
        args = [value.func.value] + args
    keywords = {k.arg: k.value for k in value.keywords}
    signature = inspect.signature(callee)
    try:
        bound = signature.bind(*args, **keywords)
    except TypeError as e:
        raise error(f"bad call of {callee.__qualname__}: {e}") from None
    bindings, static, types = {}, {}, {}
    for param, arg in bound.arguments.items():
        if signature.parameters[param].kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise error(f"{callee.__qualname__} takes *args or **kwargs, which Tangent cannot differentiate through yet",
                        "give it explicit parameters")
        bindings[param] = arg
        known = parsed.resolve(arg) if isinstance(arg, (ast.Name, ast.Attribute)) else UNRESOLVED
        if known is not UNRESOLVED and callable(known) and not isinstance(known, type):
            static[param] = known  # a function passed as an argument
        if isinstance(arg, ast.Name) and arg.id in parsed.types:
            types[param] = parsed.types[arg.id]
        elif known is not UNRESOLVED and object_class(type(known)):
            types[param] = type(known)  # an object known when differentiating (a global, self of a bound method)
        types.update(passed_item_classes(parsed, param, arg, None if known is UNRESOLVED else known))
    active = [p for p, arg in bindings.items()
              if isinstance(arg, ast.Name) and analysis.is_varied(arg.id, stmt) and p not in static]
    return CallBinding(callee, args, keywords, bindings, active, static, types)


_written: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def parameters_written(callee) -> dict[str, int | None]:
    """{parameter: line of the first write}: the parameters of the user's
    function ``callee`` that it writes into in place (``p[i] = v``, an
    append, through a view or an item of it), as its normalized source
    shows; empty when it writes into none or its source cannot be read.

    Example::

        def reset(r):
            r[0] = 0
        parameters_written(reset)   # {"r": 2} (the line in the file)
    """
    try:
        return _written[callee]
    except (KeyError, TypeError):
        pass
    found: dict[str, int | None] = {}
    try:
        parsed = parse_function(callee)
        namer = Namer(parsed.local_names | {n.id for n in names_in(parsed.tree)} | {"d"})
        tree = normalize(parsed, namer)
        for _, stmt, owners, _, _ in argument_writes(tree, CFG.build(tree)):
            for owner in owners:
                found.setdefault(owner, getattr(stmt, "lineno", None))
    except (TangentError, OSError, TypeError, SyntaxError):
        found = _syntactic_writes(callee)  # (not in Tangent's language: what its source shows)
    try:
        _written[callee] = found
    except TypeError:
        pass
    return found


def refuse_writing_helpers(tree: ast.FunctionDef, origin, analysis=None) -> None:
    """Refuse calls of the user's functions that write into a parameter
    bound to one of the caller's variables: the caller's derivative would
    not know the variable changed (a silently wrong derivative). The
    function a derivative is asked for may write into its own arguments
    (``private_arguments``); a helper may not."""
    if origin.generated:
        return
    kinds = ir.get(tree, "kinds", None) or {}
    for stmt in ast.walk(tree):
        value = getattr(stmt, "value", None)
        if not isinstance(stmt, (ast.Assign, ast.Expr)) or not isinstance(value, ast.Call):
            continue
        callee = ir.get(value, "callee", UNRESOLVED)
        if not isinstance(callee, pytypes.FunctionType) or rules.lookup_adjoint(callee) is not None \
                or rules.lookup_tangent(callee) is not None or rules.is_nondifferentiable(callee):
            continue
        written = parameters_written(callee)
        if not written:
            continue
        from .private_arguments import checked_arguments  # (the calls it surrounds with check_restored)

        checked = checked_arguments(tree)
        args = ([value.func.value] if ir.is_method(value) else []) + list(value.args)
        try:
            bound = inspect.signature(callee).bind(*args, **{k.arg: k.value for k in value.keywords if k.arg})
        except TypeError:
            continue
        for param, arg in bound.arguments.items():
            # (a checked call goes on only on data without derivatives: an active argument, or one
            # that holds floats or arrays (kinds.py), would surely fail the check when the derivative
            # runs, so it is refused here)
            if param in written and isinstance(arg, ast.Name) and (
                    arg.id not in checked or kinds.get(arg.id) in ("float", "num", "int")
                    or analysis is not None and analysis.is_varied(arg.id, stmt)):
                line = written[param]
                where = f" (line {line})" if line is not None else ""
                raise origin.error(
                    TangentSyntaxError, stmt,
                    f"{callee.__qualname__} writes into its parameter {param!r}{where}, which changes the caller's "
                    "variable passed to it; the derivative cannot follow a helper's writes into its caller's values",
                    f"write into a copy inside {callee.__name__} ({param} = {param}.copy()) and return the new value",
                )


_MUTATING_NAMES = {"append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse", "update",
                   "setdefault", "popitem", "fill", "put", "resize"}


def _syntactic_writes(callee) -> dict[str, int | None]:
    """parameters_written read off the raw source, for a function Tangent
    cannot normalize: ``p[i] = v`` (also in a tuple target), ``p[i] += v``,
    ``p.append(v)`` and other mutating methods on a parameter ``p``."""
    try:
        tree = parse_function(callee).tree
    except (TangentError, OSError, TypeError, SyntaxError):
        return {}
    params = {a.arg for a in tree.args.posonlyargs + tree.args.args + tree.args.kwonlyargs}
    found: dict[str, int | None] = {}

    def base(node):
        while isinstance(node, (ast.Subscript, ast.Attribute)):
            node = node.value
        return node.id if isinstance(node, ast.Name) else None

    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign):
            targets = [t for target in node.targets for t in ast.walk(target) if isinstance(t, ast.Subscript)]
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Subscript):
            targets = [node.target]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATING_NAMES:
            targets = [node.func]
        for target in targets:
            name = base(target.value)
            if name in params:
                found.setdefault(name, getattr(node, "lineno", None))
    return found


# ------------------------------------------------------------ shapes across calls

_normalized: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_results: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_inferring: set = set()


def _user_function(callee) -> bool:
    return isinstance(callee, pytypes.FunctionType) and not rules.is_library_function(callee) \
        and rules.lookup_adjoint(callee) is None and rules.lookup_tangent(callee) is None \
        and not rules.is_nondifferentiable(callee)


def _cached(table, key1, key2, make):
    """``make()`` cached in ``table[key1][key2]`` together with what it read
    (globals, cells, attributes: ``frontend.recording``): used again only
    while all of that is unchanged, and what it read is noted again for the
    derivative being generated (whose staleness check then covers it)."""
    entries = table.setdefault(key1, {})
    entry = entries.get(key2)
    if entry is not None and unchanged([dep for _, dep in entry[1]]):
        for key, dep in entry[1]:
            _note(key, dep)
        return entry[0]
    with recording() as deps:
        value = make()
    entries[key2] = (value, list(deps.items()))
    return value


def _normalize(callee):
    try:
        parsed = parse_function(callee)
        namer = Namer(parsed.local_names | {n.id for n in names_in(parsed.tree)} | {"d"})
        return normalize(parsed, namer)
    except Exception:  # (anything Tangent cannot read: its shapes are not known)
        return None


def _normalized_tree(callee):
    """The user function's normalized tree (None when it cannot be read or
    normalized), made again only when what it read changed."""
    return _cached(_normalized, callee, None, lambda: _normalize(callee))


def call_result(callee, args: list, keywords: dict):
    """The Value (``rules.shape_values``) a call of the user's function
    ``callee`` returns when its arguments have these Values: its source's
    shape inference from those, the function's own calls followed the same
    way. UNKNOWN for anything else (no source, a derivative rule, *args, a
    recursive call being inferred). A hook of ``shapes.infer_shapes``.
    Raises ``SequencesEscape`` when a list the caller describes
    (``sequence_shapes.Seq``) is passed and the callee's analysis cannot
    follow what it does with it.

    Example::

        def double(x):
            return 2 * x
        call_result(double, [Array((3,))], {})   # Array((3,))
    """
    lists = any(contains_sequence(v) for v in list(args) + list(keywords.values()))
    if not _user_function(callee):
        return UNKNOWN  # (sequence_shapes.escapes judges what a library call does with lists)
    key = (tuple(args), tuple(sorted(keywords.items())))
    try:
        hash(key)
    except TypeError:  # (an unhashable static value, say a slice)
        if lists:
            raise SequencesEscape from None
        return UNKNOWN
    if (callee, key) in _inferring:
        return UNKNOWN  # recursion: what this call returns is what is being inferred

    def infer():
        tree = _normalized_tree(callee)
        if tree is None:
            if lists:
                raise SequencesEscape
            return UNKNOWN
        _inferring.add((callee, key))
        try:
            return _inferred_result(callee, tree, args, keywords)
        finally:
            _inferring.discard((callee, key))

    return _cached(_results, callee, key, infer)


call_result.follows = _user_function  # (the calls whose Value it infers from the source)


def _inferred_result(callee, tree, args, keywords):
    try:
        signature = inspect.signature(callee)
        bound = signature.bind(*args, **keywords)
    except (TypeError, ValueError):
        return _unfollowed(args, keywords)
    if any(p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
           for p in signature.parameters.values()):
        return _unfollowed(args, keywords)
    params = {a.arg for a in tree.args.posonlyargs + tree.args.args + tree.args.kwonlyargs}
    known = {p: v for p, v in bound.arguments.items() if p in params and isinstance(v, (Array, Struct, Seq))}
    try:
        shapes = infer_shapes(tree, known, call_result)
    except SequencesEscape:
        raise
    except Exception:  # (a shape rule that cannot decide: not known)
        return _unfollowed(args, keywords)
    if shapes.sequences_escape and any(contains_sequence(v) for v in known.values()):
        raise SequencesEscape
    return shapes.returned


def _unfollowed(args, keywords):
    """The result of a call not followed: UNKNOWN, unless the caller's lists are passed."""
    if any(contains_sequence(v) for v in list(args) + list(keywords.values())):
        raise SequencesEscape
    return UNKNOWN


def argument_descriptions(binding: CallBinding, values: dict) -> dict | None:
    """What a call site of specialised code knows of the callee's
    parameters, as ``shapes.describe_argument`` gives it for example
    arguments ({parameter: description}; parameters of unknown shape left
    out), from the caller's inferred Values (``Shapes.values``), which hold
    at every use. None when nothing is known: the generic derivative.
    Constants' values are dropped: the callee is specialised to shapes."""
    out = {}
    for param, atom in binding.bindings.items():
        if param in binding.static or param in binding.types:
            continue
        if isinstance(atom, ast.Name):
            value = values.get(atom.id)
        elif isinstance(atom, ast.Constant) and type(atom.value) is float:
            value = Array((), real=True)
        else:
            continue
        if isinstance(value, Struct):
            out[param] = ("struct", value, None)
        elif isinstance(value, Seq):
            out[param] = ("list", value, None)
        elif isinstance(value, Array):
            if value.real and value.integer:
                out[param] = ("int", Array((), integer=True, real=True), "l")
            elif value.real:
                out[param] = ("float", Array((), real=True), "d")
            elif not value.integer:
                out[param] = ("array", tuple(value.shape), None)
    return out or None
