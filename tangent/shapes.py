"""Shape inference for specialised code.

Question answered: given the shapes of the arguments of one call (the
example arguments ``df.tangent_specialized_for`` specialises to), which
shape does each local variable certainly have? Reverse mode uses the
answer to drop ``unbroadcast`` calls whose result already has the right
shape and to pick faster rule variants, so a wrong shape is a wrong
derivative: every answer here errs towards UNKNOWN.

Input: a function in Tangent's normal form (calls carry ``tangent_callee``,
every ``for`` runs over a range) and ``{parameter: shape}``. Output:
``infer_shapes`` gives ``{name: shape tuple, or None when not known}``.

How: a flow-insensitive fixpoint over the function's definitions (``name =
value`` statements, loop targets, the known parameters). Each name's
abstract value is the join of the abstract values of all its definitions,
so it covers the value at every use. Abstract values (``Value``) are
``Array`` (a number or array of a known shape, maybe with its static value,
maybe known to be an integer), ``Ints`` (a tuple of integers such as
``x.shape``), ``Static`` (another statically known value: None, a slice, a
string) or the one ``UNKNOWN``. What each operation does to shapes is
declared as data: ``@shape_rule(np.sum, np.mean, ...)`` in
``tangent/rules/numpy_shapes.py``, looked up by the identity of the callee
(ast operators map to the ``operator`` module's functions).

Assumes: NumPy's broadcasting and result-shape semantics; a call without a
shape rule gives UNKNOWN; code that would raise (a bad index) may be given
any shape, as it never produces a value.
"""

from __future__ import annotations

import ast
import operator
from collections import Counter

import numpy as np

from . import ir, runtime
from . import sequence_shapes as sequences
from .argument_kinds import MAX_DEPTH, MAX_LEAVES, argument_kind  # noqa: F401  (this module's vocabulary too)
from .cfg import bindings
from .rules.shape_values import (
    DYNAMIC,
    UNKNOWN,
    Array,
    Ints,  # noqa: F401  (part of this module's vocabulary: tests and callers import it from here)
    Seq,
    Static,
    Struct,
    Value,
    apply_rule,
    attribute_rule_for,
    constant_value,
    join,
    rule_for,
)

_OPERATORS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow, ast.MatMult: operator.matmul,
    ast.BitAnd: operator.and_, ast.BitOr: operator.or_, ast.BitXor: operator.xor, ast.LShift: operator.lshift,
    ast.RShift: operator.rshift, ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Invert: operator.invert,
    ast.Not: operator.not_,
}


# ------------------------------------------------------------ the fixpoint


def describe_kind(kind) -> Value:
    """The abstract value of an argument of this ``argument_kind``: an
    Array for numbers and arrays of known shape, a Struct for containers,
    UNKNOWN for anything else (booleans, strings, a container too big to be
    keyed). Uses nothing but the kind, so specialised code assumes nothing
    its key does not capture."""
    if isinstance(kind, type):
        if kind is float or kind is np.float64:
            return Array((), real=True)
        if kind is np.float32 or kind is np.float16:
            return Array(())
        if kind is int:
            return Array((), integer=True, real=True)
        return UNKNOWN
    head = kind[0]
    if issubclass(head, np.ndarray):
        return Array(tuple(kind[1]))
    if kind[1] == sequences.UNIFORM:  # (a str: a dict's keys are a tuple)
        return Seq(describe_kind(kind[2]))
    name = {dict: "dict", list: "list", tuple: "tuple"}.get(head, "object")
    keys = kind[1] if kind[1] is not None else range(len(kind) - 2)
    return Struct(name, tuple((key, describe_kind(item)) for key, item in zip(keys, kind[2:], strict=True)))


def describe_argument(value):
    """What shape inference needs of an argument: ("array", shape, dtype
    char) for arrays and NumPy float32 and float16 scalars, ("float" |
    "int", its Value, dtype char) for Python numbers (and NumPy float64
    scalars), ("struct", Struct, None) for a container or object of known structure,
    ("list", Seq, None) for a uniform list, None for anything else; the second item is what ``infer_shapes`` knows."""
    if isinstance(value, np.ndarray):
        return ("array", value.shape, value.dtype.char)
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return ("float", describe_kind(type(value)) if type(value) in (float, np.float64) else Array(()), "d")
    if isinstance(value, int):
        return ("int", Array((), integer=True, real=type(value) is int), "l")
    if isinstance(value, (np.float32, np.float16)):  # a scalar of its own dtype, never a Python float
        return ("array", (), value.dtype.char)
    described = describe_kind(argument_kind(value))
    if isinstance(described, (Struct, Seq)):
        return ("struct" if isinstance(described, Struct) else "list", described, None)
    return None


def infer_shapes(tree: ast.FunctionDef, known: dict, call_result=None, constants=None) -> dict:
    """Shapes of the function's variables, from the shapes of its arguments
    (``known``: {parameter: shape}): {name: shape, or None when unknown}.
    ``call_result(callee, args, keywords) -> Value`` gives the result of a
    call of a function without a shape rule from the Values of its
    arguments (a user's function, whose source is inferred in turn); without
    it such results are UNKNOWN. ``constants``: {free name: the value the
    generated code binds it to} (a snapshot): its Python numbers are known."""
    _load_rules()
    definitions = _definitions(tree)
    args = tree.args
    params = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    if args.vararg:
        params.append(args.vararg.arg)
    if args.kwarg:
        params.append(args.kwarg.arg)
    known = {name: v if isinstance(v, (Struct, Array, Seq)) else Array(tuple(v)) for name, v in known.items()}
    lists = _single_use_lists(tree, definitions)
    hooks = {"call_result": call_result, "lists": lists, "constants": constants}
    values, hooks = _with_sequences(tree, definitions, params, known, hooks)
    if any(isinstance(v, Struct) for v in values.values()) and sequences.structs_escape(
            tree, _Evaluator(values, set(definitions) | set(values), **hooks).value_or_none):
        # an argument's container that may be changed: no container's structure is assumed
        known = {k: v for k, v in known.items() if not isinstance(v, Struct)}
        values, hooks = _with_sequences(tree, definitions, params, known, hooks)
    # (a name still without a value is defined only from names that never get
    # one, so its definitions never run: it is left out, None to callers)
    values = {name: v for name, v in values.items() if name != sequences.ADDED}
    shapes = Shapes({name: (v.shape if isinstance(v, Array) else None) for name, v in values.items()})
    shapes.reals = frozenset(name for name, v in values.items() if isinstance(v, Array) and v.real)
    shapes.structs = {name: v for name, v in values.items() if isinstance(v, Struct)}
    shapes.values = values
    shapes.returned = _returned(tree, _Evaluator(values, set(definitions) | set(values), **hooks))
    shapes.sequences_escape = not hooks.get("sequences", True)
    return shapes


def _with_sequences(tree: ast.FunctionDef, definitions: dict, params: list, known: dict, hooks: dict):
    """The fixpoint with the lists the function builds described
    (``sequence_shapes``), or, when one of them may escape the analysis,
    without any (hooks["sequences"] False)."""
    follows = getattr(hooks["call_result"], "follows", lambda callee: False)  # (calls._user_function)
    if hooks.get("sequences", True):
        added = sequences.added_definitions(tree)
        with_added = dict(definitions, **{sequences.ADDED: added}) if added else definitions
        try:
            values = _fixpoint(with_added, params, known, hooks)
            value_of = _Evaluator(values, set(with_added) | set(values), **hooks).value_or_none
            if not sequences.escapes(tree, value_of, with_added, values, known, follows):
                return values, hooks
        except sequences.SequencesEscape:
            pass
    hooks = dict(hooks, sequences=False)
    known = {k: sequences.without_sequences(v) for k, v in known.items()}
    return _fixpoint(definitions, params, known, hooks), hooks


def _returned(tree: ast.FunctionDef, evaluator: "_Evaluator") -> Value:
    """The Value the function returns (``return name`` in normal form)."""
    last = tree.body[-1] if tree.body else None
    if not (isinstance(last, ast.Return) and isinstance(last.value, ast.Name)):
        return UNKNOWN
    value = evaluator.value_or_none(last.value)
    return UNKNOWN if value is None else value


class Shapes(dict):
    """{name: shape or None}; ``reals``: the names certainly holding a
    Python number (or a NumPy float64 or int64 scalar); ``structs``: the
    names holding a container whose structure is assumed (never written,
    passed on or called: only read), {name: Struct}; ``values``: {name:
    Value}; ``returned``: the Value of the function's result."""

    reals: frozenset = frozenset()
    structs: dict = {}
    values: dict = {}
    returned: Value = UNKNOWN
    sequences_escape: bool = False  # the lists the function builds were not described (sequence_shapes)


def _fixpoint(definitions: dict, params: list, known: dict, hooks: dict) -> dict:
    """{name: Value} from the parameters' known Values."""
    # a parameter's value on entry is one of its definitions
    values: dict[str, Value | None] = {p: UNKNOWN for p in params}
    values.update(known)
    evaluator = _Evaluator(values, set(definitions) | set(values), **hooks)
    # Converges by construction: a name's value only rises (each update is a
    # join with the old value) in a lattice of finite height (see join: 5 for
    # a number or array; containers are capped in size and nesting), so every
    # pass but the last raises some name.
    limit = 5 * len(definitions) * sequences.chain_bound(known) + 1
    for _ in range(limit + 1):
        changed = False
        for name, defs in definitions.items():
            for definition in defs:
                new = join(values.get(name), evaluator.definition(definition))
                if new != values.get(name):
                    values[name] = new
                    changed = True
        if not changed:
            break
    else:
        raise AssertionError("shape inference did not converge")  # pragma: no cover
    return values


def _single_use_lists(tree: ast.FunctionDef, definitions: dict) -> dict:
    """{name: its ast.List}: the names defined once, by a list literal,
    and read once (normal form's ``_list = [a, b]`` passed to one call):
    nothing can change such a list before that read."""
    loads = Counter(n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Store))
    return {name: defs[0] for name, defs in definitions.items()
            if len(defs) == 1 and isinstance(defs[0], ast.List) and loads.get(name) == 1
            and not any(isinstance(e, ast.Starred) for e in defs[0].elts)}


def _definitions(tree: ast.FunctionDef) -> dict[str, list]:
    """{name: its definitions}: the values of ``name = value``, a Value for
    loop counters, UNKNOWN for names bound in ways not followed (unpacking,
    arrays resized in place)."""
    definitions = bindings(tree, counter=Array((), integer=True), unfollowed=UNKNOWN)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and ir.callee(node) is np.ndarray.resize \
                and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            definitions.setdefault(node.func.value.id, []).append(UNKNOWN)
    return definitions


class _NotYet(Exception):
    """A name read has no value yet: the definition adds nothing now."""


class _Evaluator:
    """The abstract value of an expression of normal form, from the names'
    current values (``bound``: the names the function defines; any other
    name is UNKNOWN)."""

    def __init__(self, values: dict, bound: set[str], call_result=None, lists=None, constants=None, sequences=True):
        self.values = values
        self.bound = bound
        self.call_result = call_result
        self.lists = lists or {}  # see _single_use_lists
        self.constants = constants or {}
        self.sequences = sequences  # whether lists built here are described (sequence_shapes)

    def definition(self, definition) -> Value | None:
        if isinstance(definition, sequences.Added):
            return self.value_or_none(definition)
        if not isinstance(definition, ast.AST):
            return definition
        try:
            return self.of(definition)
        except _NotYet:
            return None

    def value_or_none(self, node) -> Value | None:
        """The Value of an expression or definition, None when it has none yet."""
        try:
            if isinstance(node, sequences.Added):
                receiver = self.of(node.receiver) if node.receiver is not None else UNKNOWN
                if not (isinstance(receiver, Seq) or receiver is UNKNOWN):
                    return None  # (an array's or a described container's item)
                return UNKNOWN if node.value is None else self.of(node.value)
            return self.definition(node) if not isinstance(node, ast.expr) else self.of(node)
        except _NotYet:
            return None

    def added(self):  # the join of every value added to a list (None: none yet)
        return self.values.get(sequences.ADDED)

    def of(self, node: ast.expr) -> Value:
        if isinstance(node, ast.Constant):
            return constant_value(node.value)
        if isinstance(node, ast.Name):
            if node.id not in self.bound:  # a global: a number bound in the generated module is known
                value = self.constants.get(node.id)
                return Array((), integer=type(value) is int, real=True) if type(value) in (int, float) else UNKNOWN
            value = self.values.get(node.id)
            if value is None:
                raise _NotYet
            return value
        if ir.is_global(node):
            return _global(ir.get(node, "value"))
        if isinstance(node, ast.BinOp):
            return self.call(_OPERATORS.get(type(node.op)), [self.of(node.left), self.of(node.right)], {})
        if isinstance(node, ast.UnaryOp):
            return self.call(_OPERATORS.get(type(node.op)), [self.of(node.operand)], {})
        if isinstance(node, ast.Subscript):
            index = node.slice
            parts = index.elts if isinstance(index, ast.Tuple) else [index]
            base = self.of(node.value)
            if isinstance(base, Seq):
                return self.list_item(base, [self.index(p) for p in parts])
            return self.call(operator.getitem, [base] + [self.index(p) for p in parts], {})
        if isinstance(node, ast.Attribute):
            base = self.of(node.value)
            if isinstance(base, Struct):
                return base.item(node.attr) if base.kind == "object" and _has(base, node.attr) else UNKNOWN
            rule = attribute_rule_for(node.attr)
            return apply_rule(rule, base) if rule is not None else UNKNOWN
        if isinstance(node, (ast.Tuple, ast.List)) and any(isinstance(e, ast.Starred) for e in node.elts):
            return UNKNOWN
        if isinstance(node, ast.Tuple):
            return sequences.tuple_value([self.of(e) for e in node.elts])
        if isinstance(node, ast.List) and self.sequences:
            return sequences.list_value([self.of(e) for e in node.elts], self.added())
        if isinstance(node, ast.Call):
            args = list(node.args)
            if ir.is_method(node):
                args = [node.func.value] + args
            if any(isinstance(a, ast.Starred) for a in args) or any(k.arg is None for k in node.keywords):
                return UNKNOWN
            if ir.callee(node) is np.concatenate:
                return self.concatenate(node)
            return self.call(ir.callee(node), [self.of(a) for a in args],
                             {k.arg: self.of(k.value) for k in node.keywords})
        return UNKNOWN

    def concatenate(self, node: ast.Call) -> Value:
        """``np.concatenate(items)`` of a list literal used nowhere else (so
        nothing changed it), of arrays of known shapes, on a static axis."""
        if len(node.args) != 1 or not isinstance(node.args[0], ast.Name) or node.args[0].id not in self.lists \
                or any(k.arg != "axis" for k in node.keywords):
            return UNKNOWN
        axis = self.of(node.keywords[0].value) if node.keywords else Array((), 0, integer=True)
        from .rules.numpy_shapes import concatenated

        return concatenated([self.of(e) for e in self.lists[node.args[0].id].elts], axis)

    def list_item(self, base: Seq, parts: list) -> Value:
        item = sequences.list_item(base, parts, self.added())
        if item is None:
            raise _NotYet
        return item

    def index(self, part: ast.expr) -> Value:
        """The value of one part of an index; a slice is Static(slice(...))
        when its bounds are static integers."""
        if not isinstance(part, ast.Slice):
            return self.of(part)
        bounds = []
        for bound in (part.lower, part.upper, part.step):
            value = None if bound is None else self.of(bound)
            if value is not None and not (isinstance(value, Array) and value.integer and value.value is not DYNAMIC):
                return UNKNOWN
            bounds.append(None if value is None else value.value)
        return Static(slice(*bounds))

    def call(self, callee, args: list, keywords: dict) -> Value:
        if callee is len and len(args) == 1 and isinstance(args[0], Struct) and args[0].kind != "object":
            return Array((), len(args[0].items), integer=True)  # the key captures the length
        if callee is len and len(args) == 1 and isinstance(args[0], Seq):
            return Array((), integer=True)
        if callee is runtime.as_sequence and len(args) == 1 and not keywords and (
                isinstance(args[0], Seq) or isinstance(args[0], Struct) and args[0].kind in ("list", "tuple")):
            return args[0]  # (a copy of a list, a tuple itself)
        rule = rule_for(callee) if callee is not None else None
        if rule is None:
            if self.call_result is not None and callee is not None:
                value = self.call_result(callee, args, keywords)
                return value if self.sequences else sequences.without_sequences(value)
            return UNKNOWN
        return apply_rule(rule, callee, *args, **keywords)


def _has(struct: Struct, key) -> bool:
    return any(k == key for k, _ in struct.items)


def _global(value) -> Value:
    """A module's constant read in the function (its value may change
    between calls: only its shape counts)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Array(())
    if isinstance(value, np.ndarray):
        return Array(tuple(value.shape))
    return UNKNOWN


def _load_rules() -> None:
    from .rules import numpy_shapes  # noqa: F401  (registers the rules)
