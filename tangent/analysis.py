"""Analyses of normalized code: control-flow graph, reaching definitions,
definite assignment and activity.

The CFG has one node per simple statement plus one per ``if``/``while`` test
and ``for`` header. Dataflow problems are solved by a generic worklist solver.
"""

from __future__ import annotations

import ast
import copy
import inspect
import operator
import weakref
from collections import deque
from dataclasses import dataclass, field

from . import rules
from .astwalk import loaded_names, walk_list
from .frontend import UNRESOLVED


@dataclass(eq=False)
class Node:
    stmt: ast.AST  # the statement (or the If/While/For for test/header nodes)
    defs: set = field(default_factory=set)
    uses: set = field(default_factory=set)
    succ: list = field(default_factory=list)
    pred: list = field(default_factory=list)

    def __hash__(self):
        return id(self)


def names_loaded(node: ast.AST) -> set[str]:
    return loaded_names(node)


class CFG:
    """Control-flow graph of a normalized function body.

    Example::

        cfg = CFG.build(tree)
        cfg.node_of[stmt]  # the node of a simple statement
    """

    def __init__(self):
        self.nodes: list[Node] = []
        self.node_of: dict[int, Node] = {}
        self.entry = self.new(ast.Pass())
        self.exit = self.new(ast.Pass())

    def new(self, stmt, defs=(), uses=()) -> Node:
        node = Node(stmt, set(defs), set(uses))
        self.nodes.append(node)
        return node

    @staticmethod
    def link(a: Node, b: Node):
        a.succ.append(b)
        b.pred.append(a)

    @classmethod
    def build(cls, tree: ast.FunctionDef) -> CFG:
        cfg = cls()
        args = tree.args
        cfg.entry.defs = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
        tails = cfg._block(tree.body, [cfg.entry])
        for tail in tails:
            cls.link(tail, cfg.exit)
        return cfg

    def _block(self, stmts, preds: list[Node]) -> list[Node]:
        for stmt in stmts:
            preds = self._stmt(stmt, preds)
        return preds

    def _stmt(self, stmt, preds):
        if isinstance(stmt, ast.If):
            test = self.new(stmt, uses=names_loaded(stmt.test))
            self.node_of[id(stmt)] = test
            for p in preds:
                self.link(p, test)
            return self._block(stmt.body, [test]) + self._block(stmt.orelse, [test])
        if isinstance(stmt, (ast.For, ast.While)):
            if isinstance(stmt, ast.For):
                header = self.new(stmt, defs={stmt.target.id}, uses=names_loaded(stmt.iter))
            else:
                header = self.new(stmt, uses=names_loaded(stmt.test))
            self.node_of[id(stmt)] = header
            for p in preds:
                self.link(p, header)
            for tail in self._block(stmt.body, [header]):
                self.link(tail, header)
            return [header]
        defs = {t.id for t in getattr(stmt, "targets", []) if isinstance(t, ast.Name)}
        for t in getattr(stmt, "targets", []):
            if isinstance(t, (ast.Subscript, ast.Attribute)) and isinstance(t.value, ast.Name):
                defs.add(t.value.id)  # written in place
            if isinstance(t, ast.Tuple):
                defs |= {e.id for e in t.elts if isinstance(e, ast.Name)}
        if isinstance(stmt, ast.Expr) and getattr(stmt.value, "tangent_callee", None) is list.append:
            defs = {stmt.value.func.value.id}  # appending changes the list
        if isinstance(stmt, ast.Assign) and getattr(stmt.value, "tangent_callee", None) is list.pop:
            defs.add(stmt.value.func.value.id)
        node = self.new(stmt, defs=defs, uses=names_loaded(stmt))
        self.node_of[id(stmt)] = node
        for p in preds:
            self.link(p, node)
        if isinstance(stmt, ast.Return):
            self.link(node, self.exit)
            return []
        return [node]


def solve(cfg: CFG, transfer, forward: bool = True, init=frozenset()):
    """Generic may-analysis (union at joins). Returns (in, out) dicts by node.

    A worklist of node indices (each queued at most once at a time): a node
    is revisited only when what flows into it changed. A node with one
    source shares that source's set (sets are never changed in place)."""
    nodes = cfg.nodes
    index = {id(n): i for i, n in enumerate(nodes)}
    if forward:
        sources = [[index[id(p)] for p in n.pred] for n in nodes]
        targets = [[index[id(s)] for s in n.succ] for n in nodes]
        start = index[id(cfg.entry)]
    else:
        sources = [[index[id(s)] for s in n.succ] for n in nodes]
        targets = [[index[id(p)] for p in n.pred] for n in nodes]
        start = index[id(cfg.exit)]
    empty = frozenset()
    init = frozenset(init)
    inp = [empty] * len(nodes)
    out = [empty] * len(nodes)
    order = range(len(nodes)) if forward else range(len(nodes) - 1, -1, -1)
    work = deque(order)
    queued = [True] * len(nodes)
    while work:
        i = work.popleft()
        queued[i] = False
        here = sources[i]
        if i == start:
            new_in = init.union(*[out[s] for s in here]) if here else init
        elif len(here) == 1:
            new_in = out[here[0]]
        else:
            new_in = empty.union(*[out[s] for s in here])
        new_out = transfer(nodes[i], new_in)
        if type(new_out) is not frozenset:
            new_out = frozenset(new_out)
        inp[i] = new_in
        if new_out is not out[i] and new_out != out[i]:
            out[i] = new_out
            for t in targets[i]:
                if not queued[t]:
                    queued[t] = True
                    work.append(t)
    return dict(zip(nodes, inp)), dict(zip(nodes, out))


def reaching_definitions(cfg: CFG):
    """For each node, the (name, defining node) pairs that reach it.

    Names not yet defined reach as ``(name, None)``, so a name is definitely
    assigned at a node when no ``(name, None)`` pair reaches it.
    """
    all_names = set()
    for n in cfg.nodes:
        all_names |= n.defs | n.uses
    undefined = frozenset((name, None) for name in all_names - cfg.entry.defs)

    # every fact about each name, so that a definition kills by set difference
    facts_of: dict[str, set] = {name: {(name, None)} for name in all_names}
    for n in cfg.nodes:
        for d in n.defs:
            facts_of[d].add((d, n))
    gen_kill = {}
    for n in cfg.nodes:
        if n.defs:
            gen_kill[id(n)] = (frozenset((d, n) for d in n.defs), frozenset().union(*[facts_of[d] for d in n.defs]))

    def transfer(node, facts):
        if not node.defs:
            return facts
        gen, kill = gen_kill[id(node)]
        if node is cfg.entry:
            return facts | gen
        return (facts - kill) | gen

    return solve(cfg, transfer, forward=True, init=undefined)


def definitely_assigned(cfg: CFG, reach_in=None) -> dict[int, frozenset]:
    """Map id(stmt) -> names certainly bound before that statement runs."""
    if reach_in is None:
        return _assigned_names(cfg)[0]
    result = {}
    for node in cfg.nodes:
        facts = reach_in[node]
        maybe_undefined = {name for name, where in facts if where is None}
        defined = {name for name, _ in facts} - maybe_undefined
        result[id(node.stmt)] = frozenset(defined)
    return result


def possibly_assigned(cfg: CFG, reach_in=None) -> dict[int, frozenset]:
    """Map id(stmt) -> names that may be bound before that statement runs
    (on some path, e.g. by a loop that ran at least once)."""
    if reach_in is None:
        return _assigned_names(cfg)[1]
    return {id(node.stmt): frozenset(name for name, where in reach_in[node] if where is not None)
            for node in cfg.nodes}


def _assigned_names(cfg: CFG) -> tuple[dict[int, frozenset], dict[int, frozenset]]:
    """(definitely_assigned, possibly_assigned) without reaching definitions:
    the same sets from two analyses over names only (linear in the facts
    that change, not in all definitions at every node).

    Possibly assigned: some definition reaches (union at joins). Definitely
    assigned: defined on every path from the entry (intersection over the
    predecessors reachable from the entry); at a node the entry does not
    reach, no path leaves a name undefined, so it is every name some
    definition reaches, as reaching definitions give."""
    def add_defs(node, facts):
        defs = node.defs
        return facts if not defs or defs <= facts else facts | defs

    possibly_in, _ = solve(cfg, add_defs, forward=True)

    nodes = cfg.nodes
    index = {id(n): i for i, n in enumerate(nodes)}
    entry = index[id(cfg.entry)]
    reachable = [False] * len(nodes)
    reachable[entry] = True
    stack = [cfg.entry]
    while stack:
        for s in stack.pop().succ:
            if not reachable[index[id(s)]]:
                reachable[index[id(s)]] = True
                stack.append(s)
    preds = [[index[id(p)] for p in n.pred if reachable[index[id(p)]]] for n in nodes]
    succs = [[index[id(s)] for s in n.succ] for n in nodes]
    empty = frozenset()
    must_in: list = [None] * len(nodes)  # None: every name (not yet reached by the iteration)
    must_out: list = [None] * len(nodes)
    work = deque(i for i in range(len(nodes)) if reachable[i])
    queued = list(reachable)
    while work:
        i = work.popleft()
        queued[i] = False
        if i == entry:
            new_in = empty
        else:
            known = [must_out[p] for p in preds[i] if must_out[p] is not None]
            if not known:
                continue
            new_in = known[0] if len(known) == 1 else known[0].intersection(*known[1:])
        must_in[i] = new_in
        new_out = add_defs(nodes[i], new_in)
        if must_out[i] is None or (new_out is not must_out[i] and new_out != must_out[i]):
            must_out[i] = new_out
            for t in succs[i]:
                if reachable[t] and not queued[t]:
                    queued[t] = True
                    work.append(t)
    definitely = {}
    possibly = {}
    for i, node in enumerate(nodes):
        possibly[id(node.stmt)] = possibly_in[node]
        definitely[id(node.stmt)] = must_in[i] if reachable[i] else possibly_in[node]
    return definitely, possibly


BINARY_OPERATORS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow, ast.MatMult: operator.matmul,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
}
UNARY_OPERATORS = {ast.USub: operator.neg, ast.UAdd: operator.pos}

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


def primitive_of(value: ast.expr):
    """(callee, positional atoms, keyword atoms) of a one-operation value.

    The callee is None for operations without derivatives (comparisons,
    f-strings) and UNRESOLVED for values that are not operations.
    """
    if isinstance(value, ast.BinOp):
        callee = getattr(value, "tangent_callee", None) or BINARY_OPERATORS.get(type(value.op))
        return callee, [value.left, value.right], {}
    if isinstance(value, ast.UnaryOp):
        return UNARY_OPERATORS.get(type(value.op)), [value.operand], {}
    if isinstance(value, (ast.Compare, ast.JoinedStr)):
        return None, [], {}
    if isinstance(value, ast.Subscript):
        return operator.getitem, [value.value, index_value(value.slice)], {}
    if isinstance(value, ast.Attribute):
        from .runtime import attribute

        if value.tangent_callee is attribute:
            return attribute, [value.value, ast.Constant(value=value.attr)], {}
        return value.tangent_callee, [value.value], {}
    if isinstance(value, ast.Call):
        args = list(value.args)
        if getattr(value, "tangent_method", False):
            args = [value.func.value] + args
        return value.tangent_callee, args, {k.arg: k.value for k in value.keywords}
    return UNRESOLVED, [], {}


def _kind_of_value(value):
    """The kind of a Python value for classify_sequence_operators."""
    import numpy as np

    if isinstance(value, (list, tuple)):
        return "seq"
    if isinstance(value, (bool, int, np.integer)):
        return "int"
    if isinstance(value, (float, complex, np.floating, np.complexfloating, np.ndarray)):
        return "float"
    return None


def _join_kinds(a, b):
    if a == "unseen":
        return b
    if b == "unseen" or a == b:
        return a
    if a is None or b is None or "seq" in (a, b):
        return None
    return "num"


def _arith_kind(a, b):
    if "float" in (a, b):
        return "float"
    if a == b == "int":
        return "int"
    return "num"


_ARRAY_CONSTRUCTORS = {"array", "asarray", "asanyarray", "zeros", "ones", "empty", "full", "zeros_like", "ones_like",
                       "empty_like", "full_like", "arange", "linspace", "logspace", "eye", "identity", "stack",
                       "vstack", "hstack", "concatenate", "outer", "diag", "tile", "repeat", "copy"}
_NUMPY_SEQUENCE_RESULTS = {"split", "array_split", "hsplit", "vsplit", "dsplit", "meshgrid", "broadcast_arrays",
                           "gradient", "nonzero", "shape", "unravel_index", "histogram", "where", "atleast_1d",
                           "atleast_2d", "atleast_3d", "ix_", "indices", "tolist", "divmod", "frexp", "modf"}


def classify_sequence_operators(tree: ast.FunctionDef, argument_kinds: dict | None = None) -> None:
    """Decide, for each ``a * b`` and ``a + b`` of a normalized function, which
    operation it is: arithmetic, or repetition / concatenation of lists and
    tuples, whose derivatives differ (the adjoint of ``[x] * 3`` sums the
    adjoints of the copies). The decision is stored as the BinOp's
    ``tangent_callee``: ``operator.mul`` / ``operator.add`` when the operands'
    kinds make it arithmetic, ``runtime.repeat`` / ``repeat_right`` /
    ``concat`` when they make it a sequence operation, and
    ``runtime.mul_or_repeat`` / ``add_or_concat`` (whose rules decide at run
    time) when the code does not tell.

    Kinds are inferred flow-insensitively: "seq" (list or tuple), "int",
    "float" (floats and arrays: never a repetition count), "num" (a number or
    array, maybe an int), None (unknown). ``argument_kinds`` gives the
    parameters' kinds when known (specialised code).
    """
    import builtins

    import numpy as np

    from . import runtime

    kinds: dict = {}
    args = tree.args
    for param in args.posonlyargs + args.args + args.kwonlyargs:
        kinds[param.arg] = (argument_kinds or {}).get(param.arg)
    nodes = walk_list(tree)
    assigns = [n for n in nodes if isinstance(n, ast.Assign)]
    loops = [n for n in nodes if isinstance(n, ast.For)]
    binops = [n for n in nodes if isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Mult, ast.Add))]

    def of(node):
        if isinstance(node, ast.Constant):
            return _kind_of_value(node.value) if not isinstance(node.value, (str, bytes)) else None
        if isinstance(node, ast.Name):
            if getattr(node, "tangent_global", False):
                return _kind_of_value(getattr(node, "tangent_value", None))
            return kinds.get(node.id, "unseen" if node.id not in kinds else None)
        if isinstance(node, (ast.List, ast.Tuple, ast.ListComp)):
            return "seq"
        if isinstance(node, ast.BinOp):
            if "unseen" in (of(node.left), of(node.right)):
                return "unseen"  # not decided before the operands' kinds are known
            if isinstance(node.op, (ast.Mult, ast.Add)):
                decision = decide(node)
                if decision in (runtime.repeat, runtime.repeat_right, runtime.concat):
                    return "seq"
                if decision in (runtime.mul_or_repeat, runtime.add_or_concat):
                    return None
                return _arith_kind(of(node.left), of(node.right))
            if isinstance(node.op, (ast.MatMult, ast.Div)):
                return "float"
            return _arith_kind(of(node.left), of(node.right))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return "int"
            k = of(node.operand)
            return k if k in ("int", "float", "unseen") else "num"
        if isinstance(node, ast.Compare):
            return "num"
        if isinstance(node, ast.Attribute):
            if node.attr == "shape":
                return "seq"
            if node.attr in ("ndim", "size"):
                return "int"
            if node.attr in ("T", "real", "imag") and of(node.value) == "float":
                return "float"
            return None
        if isinstance(node, ast.Call):
            callee = getattr(node, "tangent_callee", None)
            call_args = list(node.args)
            if getattr(node, "tangent_method", False):
                call_args = [node.func.value] + call_args
            if callee in (builtins.len, builtins.int):
                return "int"
            if callee is builtins.range:
                return "range"
            if callee is builtins.float:
                return "float"
            if callee in (builtins.list, builtins.tuple, builtins.sorted):
                return "seq"
            if callee is runtime.as_sequence and call_args:
                return of(call_args[0])
            if isinstance(callee, np.ufunc):
                # (of a list, an array; of numbers, maybe a NumPy integer)
                return "float" if any(of(a) in ("float", "seq") for a in call_args) else "num"
            label = getattr(callee, "__name__", None)
            module = getattr(callee, "__module__", None) or ""
            if module == "math":
                return "num"
            is_method = getattr(np.ndarray, label or "", None) is callee if label else False
            if label and (module.startswith("numpy") or is_method):
                if label in _NUMPY_SEQUENCE_RESULTS:
                    return None
                return "float" if label in _ARRAY_CONSTRUCTORS and not is_method else "num"
            return None
        return None

    def decide(node):
        ka, kb = of(node.left), of(node.right)
        ka = None if ka in ("unseen", "range") else ka
        kb = None if kb in ("unseen", "range") else kb
        nonseq = ("int", "num", "float")
        same = isinstance(node.left, ast.Name) and isinstance(node.right, ast.Name) and node.left.id == node.right.id
        if isinstance(node.op, ast.Mult):
            # ("num" may be an array, which multiplies a list as an array: decided at run time)
            if ka == "seq" and kb == "int":
                return runtime.repeat
            if kb == "seq" and ka == "int":
                return runtime.repeat_right
            if "seq" in (ka, kb):
                return runtime.mul_or_repeat
            if "float" in (ka, kb) or (ka in nonseq and kb in nonseq) or same:
                return operator.mul
            return runtime.mul_or_repeat
        if ka == kb == "seq":
            return runtime.concat
        if "seq" in (ka, kb):
            return runtime.add_or_concat
        if ka in nonseq or kb in nonseq:
            return operator.add
        return runtime.add_or_concat

    for _ in range(8):  # to a fixed point: kinds only grow
        changed = False
        new_kinds = dict(kinds)
        for stmt in assigns:
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    k = _join_kinds(new_kinds.get(target.id, "unseen"), of(stmt.value))
                    if new_kinds.get(target.id, "unseen") != k:
                        new_kinds[target.id] = k
                        changed = True
                elif isinstance(target, ast.Tuple):
                    for elt in target.elts:
                        if isinstance(elt, ast.Name) and new_kinds.get(elt.id, "unseen") is not None:
                            new_kinds[elt.id] = None
                            changed = True
        for loop in loops:
            if isinstance(loop.target, ast.Name):
                k = "int" if of(loop.iter) == "range" else None
                k = _join_kinds(new_kinds.get(loop.target.id, "unseen"), k)
                if new_kinds.get(loop.target.id, "unseen") != k:
                    new_kinds[loop.target.id] = k
                    changed = True
        kinds = new_kinds
        if not changed:
            break
    else:
        kinds = {k: None for k in kinds}  # no fixed point: know nothing
    for node in binops:
        node.tangent_callee = decide(node)
    tree.tangent_kinds = kinds


def _differentiable_inputs(value: ast.expr) -> set[str]:
    """Names whose values the operation's result depends on differentiably
    (the index of a subscript does not count, nor the ``like`` argument of a
    rule that never takes ``d[like]``)."""
    if not is_differentiable_op(value):
        return set()
    if isinstance(value, ast.Subscript):
        return names_loaded(value.value)
    callee, args, keywords = primitive_of(value)
    if callee is None or callee is UNRESOLVED:
        return names_loaded(value)
    template = rules.lookup_adjoint(callee) or rules.lookup_tangent(callee)
    if template is None:
        return names_loaded(value)
    try:
        bound = template.match(args, keywords)
    except TypeError:
        return names_loaded(value)
    found: set[str] = set()
    for param, atom in bound.arguments.items():
        if param in template.differentiable_params:
            nodes = atom if isinstance(atom, (tuple, list)) else atom.values() if isinstance(atom, dict) else [atom]
            for node in nodes:
                found |= names_loaded(node)
    return found


differentiable_inputs = _differentiable_inputs


def is_setitem(stmt) -> bool:
    """``y[index] = value`` (a write into an array, list or dict) or
    ``obj.attr = value`` (into an object built in the function)."""
    return isinstance(stmt, ast.Assign) and (
        isinstance(stmt.targets[0], ast.Subscript)
        or isinstance(stmt.targets[0], ast.Attribute) and isinstance(stmt.targets[0].value, ast.Name))


def written_region(stmt):
    """(variable, index as written in a subscript, index as a value) of a write."""
    target = stmt.targets[0]
    if isinstance(target, ast.Attribute):
        return target.value.id, ast.Constant(value=target.attr), ast.Constant(value=target.attr)
    return target.value.id, target.slice, index_value(target.slice)


def is_differentiable_op(value: ast.expr) -> bool:
    """Whether the operation's result can depend differentiably on its inputs."""
    if isinstance(value, (ast.Compare,)):
        return False
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, (ast.Not, ast.Invert)):
        return False
    if isinstance(value, ast.BinOp) and isinstance(value.op, (ast.FloorDiv, ast.BitAnd, ast.BitOr, ast.BitXor, ast.LShift, ast.RShift)):
        return False
    callee = getattr(value, "tangent_callee", UNRESOLVED)
    if callee is not UNRESOLVED and rules.is_nondifferentiable(callee):
        return False
    return True


def varied_names(cfg: CFG, wrt: set[str], always: frozenset = frozenset()):
    """Forward activity: for each statement, the names that (may) depend
    differentiably on ``wrt`` just before it runs. Returns id(stmt) -> set.
    The names in ``always`` count as varied everywhere."""
    inputs: dict[int, set[str]] = {}

    def differentiable_inputs(value):  # the solver revisits statements: compute each once
        key = id(value)
        if key not in inputs:
            inputs[key] = _differentiable_inputs(value)
        return inputs[key]

    loaded: dict[int, set[str]] = {}

    def loads(value):  # likewise
        key = id(value)
        if key not in loaded:
            loaded[key] = names_loaded(value)
        return loaded[key]

    def transfer(node, facts):
        facts = _transfer(node, facts)
        return facts | always if always else facts

    def _transfer(node, facts):
        if node is cfg.entry:
            return set(wrt)
        stmt = node.stmt
        if isinstance(stmt, ast.For):
            return facts - node.defs
        if isinstance(stmt, ast.Expr) and node.defs or is_setitem(stmt):
            # facts are frozensets: unchanged when nothing is added
            if node.defs <= facts or loads(stmt.value).isdisjoint(facts):
                return facts
            return facts | node.defs
        if isinstance(stmt, ast.Assign) and node.defs:
            if differentiable_inputs(stmt.value).isdisjoint(facts):
                return facts - node.defs if not node.defs.isdisjoint(facts) else facts
            return facts if node.defs <= facts else facts | node.defs
        return facts

    inp, _ = solve(cfg, transfer, forward=True)
    return {id(n.stmt): inp[n] for n in cfg.nodes}


class Analysis:
    """All facts the differentiators need about one normalized function."""

    def __init__(self, tree: ast.FunctionDef, wrt: set[str], argument_kinds: dict | None = None):
        classify_sequence_operators(tree, argument_kinds)
        self.cfg = CFG.build(tree)
        self.defined, self.possibly = _assigned_names(self.cfg)
        self.varied = varied_names(self.cfg, wrt)

    def is_varied(self, name: str, before: ast.AST) -> bool:
        return name in self.varied.get(id(before), ())

    def defined_before(self, stmt: ast.AST) -> frozenset:
        return self.defined.get(id(stmt), frozenset())

    def possibly_defined_before(self, stmt: ast.AST) -> frozenset:
        """Names bound before ``stmt`` on at least one path."""
        return self.possibly.get(id(stmt), frozenset())


# Operations whose result may share memory with their first argument.
def _view_functions():
    import numpy as np

    names = ["reshape", "ravel", "transpose", "squeeze", "expand_dims", "swapaxes", "moveaxis",
             "broadcast_to", "asarray", "atleast_1d", "atleast_2d", "atleast_3d", "diagonal", "real", "imag"]
    found = {getattr(np, n) for n in names if hasattr(np, n)}
    found |= {getattr(np.ndarray, n) for n in ["reshape", "ravel", "transpose", "squeeze", "swapaxes", "view",
                                                "diagonal", "T", "real", "imag"]}
    return found


def _alias_source(value: ast.expr, views) -> str | None:
    """The variable whose memory ``value`` may share, if any."""
    if isinstance(value, ast.Name):
        return value.id
    if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name):
        return value.value.id
    callee = getattr(value, "tangent_callee", None)
    if callee is not None and callee in views:
        if isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name):
            return value.value.id
        args = value.args if isinstance(value, ast.Call) else []
        if getattr(value, "tangent_method", False) and isinstance(value.func.value, ast.Name):
            return value.func.value.id
        if args and isinstance(args[0], ast.Name):
            return args[0].id
    return None


# Calls whose result is a new container holding (some of) the items of their
# arguments: writing into the result leaves the arguments alone, writing into
# an item read from it does not.
_CONTAINER_CALLS = {list, tuple, dict, sorted, reversed, zip, enumerate, map, filter, list.copy, dict.copy,
                    dict.items, dict.values, dict.keys}
# NumPy functions whose results are always arrays of one or more dimensions:
# indexing with them (advanced indexing) copies.
_INDEX_ARRAY_FUNCTIONS = ("arange", "nonzero", "flatnonzero", "argsort", "argwhere")


def _index_makes_copy(index: ast.expr, definitions: dict, base: str) -> bool:
    """Whether ``base[index]`` certainly copies: advanced (integer or boolean
    array) indexing of an array. A list index (``x[[0, 1]]``), an array built
    from a list, ``np.arange(...)``, ``np.nonzero(...)`` and comparisons of
    the indexed array itself (``x[x > 0]``) are such indices; an integer, a
    slice or anything unknown may give a view, or an item of a list that is
    the caller's object."""
    import numpy as np

    def is_list(node):
        if isinstance(node, (ast.List, ast.ListComp)):
            return True
        return isinstance(node, ast.Name) and bool(definitions.get(node.id)) and all(
            isinstance(v, (ast.List, ast.ListComp)) for v in definitions[node.id])

    def fancy_value(value):
        if isinstance(value, (ast.List, ast.ListComp)):
            return True
        if isinstance(value, ast.Compare):
            return base in names_loaded(value)  # x > 0 where x is indexable by it: an array
        callee = getattr(value, "tangent_callee", None)
        if isinstance(value, ast.Call) and callee is not None:
            if callee in (np.array, np.asarray) and value.args and is_list(value.args[0]):
                return True
            return any(callee is getattr(np, n) for n in _INDEX_ARRAY_FUNCTIONS)
        return False

    if isinstance(index, ast.Tuple):
        return any(_index_makes_copy(e, definitions, base) for e in index.elts)
    if isinstance(index, ast.Name):
        values = definitions.get(index.id)
        return bool(values) and all(fancy_value(v) for v in values)
    return fancy_value(index)


def argument_memory(tree: ast.FunctionDef, cfg: CFG) -> tuple[dict, dict]:
    """Which names may share memory with the caller's arguments.

    A forward may-analysis whose facts are triples ``(name, parameter,
    direct)``: ``name`` may be (a view of, an item of, the iteration target
    over) the object the caller passed as ``parameter`` (``direct``), or a
    container made in the function that holds such objects (not direct:
    writing into it leaves the caller's objects alone, but what is read from
    it is direct). Returns (facts before each node, {name: [statements that
    made it share]}).
    """
    params = [a.arg for a in tree.args.posonlyargs + tree.args.args + tree.args.kwonlyargs]
    views = _view_functions()
    definitions: dict[str, list] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    definitions.setdefault(t.id, []).append(node.value)
    for p in params:
        definitions.setdefault(p, []).append(None)
    made: dict[str, list] = {}

    def sources(value) -> list[tuple[str, bool | None]]:
        """(name, how): the result holds what ``name`` holds (how None: same
        kind as name's), is an item of it (True), or holds its items (False)."""
        if isinstance(value, ast.Name):
            return [(value.id, None)]
        if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name):
            if _index_makes_copy(value.slice, definitions, value.value.id):
                return []
            return [(value.value.id, True)]
        if isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name):
            if getattr(value, "tangent_global", False):
                return []
            return [(value.value.id, True)]
        if isinstance(value, (ast.List, ast.Tuple, ast.Dict)):
            return [(n, False) for n in sorted(names_loaded(value))]
        if isinstance(value, ast.BinOp):
            callee = getattr(value, "tangent_callee", None)
            if callee in BINARY_OPERATORS.values():
                return []  # arithmetic: a new value
            return [(n, False) for n in sorted(names_loaded(value))]  # concatenation, repetition
        if isinstance(value, ast.Call):
            callee = getattr(value, "tangent_callee", None)
            try:
                view = callee in views
            except TypeError:
                view = False
            if view:
                receiver = value.func.value if getattr(value, "tangent_method", False) else (
                    value.args[0] if value.args else None)
                return [(receiver.id, None)] if isinstance(receiver, ast.Name) else []
            try:
                container = callee in _CONTAINER_CALLS
            except TypeError:
                container = False
            if container:
                return [(n, False) for n in sorted(names_loaded(value))]
            if _may_return_an_argument(callee):
                return [(n, True) for n in sorted(names_loaded(value))]
        return []

    def transfer(node, facts):
        if node is cfg.entry:
            return frozenset((p, p, True) for p in params)
        stmt = node.stmt
        if isinstance(stmt, ast.For):
            target = stmt.target.id
            kept = {f for f in facts if f[0] != target}
            new = {(target, f[1], True) for f in facts if f[0] in names_loaded(stmt.iter)}
            if new:
                made.setdefault(target, []).append(stmt)
            return kept | new
        target, value = None, None
        if isinstance(stmt, ast.Assign):
            t = stmt.targets[0]
            if isinstance(t, ast.Name):
                if getattr(stmt, "tangent_augmented", False):
                    return facts  # y += e: the same object (an array) or a new number
                target, value = t.id, stmt.value
            elif isinstance(t, (ast.Subscript, ast.Attribute)) and isinstance(t.value, ast.Name):
                target, value = t.value.id, stmt.value  # c[k] = v: c now holds v
                new = {(target, f[1], False) for f in facts if f[0] in names_loaded(value)}
                if new:
                    made.setdefault(target, []).append(stmt)
                return facts | new
            elif isinstance(t, ast.Tuple):
                names = {e.id for e in t.elts if isinstance(e, ast.Name)}
                new = {(n, f[1], True) for n in names for f in facts if f[0] in names_loaded(stmt.value)}
                return {f for f in facts if f[0] not in names} | new
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) \
                and getattr(stmt.value, "tangent_callee", None) in (list.append, list.extend, list.insert) \
                and isinstance(stmt.value.func, ast.Attribute) and isinstance(stmt.value.func.value, ast.Name):
            target = stmt.value.func.value.id
            new = {(target, f[1], False) for f in facts if f[0] in names_loaded(stmt.value) - {target}}
            if new:
                made.setdefault(target, []).append(stmt)
            return facts | new
        if target is None:
            return facts
        new = set()
        for source, how in sources(value):
            for f in facts:
                if f[0] == source:
                    new.add((target, f[1], True if how is True else f[2] if how is None else False))
        if new:
            made.setdefault(target, []).append(stmt)
        return {f for f in facts if f[0] != target} | new

    inp, _ = solve(cfg, transfer, forward=True)
    return inp, made


def _user_words(tree: ast.FunctionDef):
    """shown(var, avoid=None): the user's words for a variable of the
    normalized function: its name, or for a temporary of the normalizer the
    variable it became (other than ``avoid``) or the expression it holds
    (d['q'], an item of the sequence a loop runs over); ``shown.words`` gives
    the same without quotes (None when there are no such words)."""
    definitions = {}
    user_names = {}  # temporary -> the user's variable it was copied into
    for stmt in ast.walk(tree):
        if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
            definitions.setdefault(stmt.targets[0].id, stmt.value)
            if isinstance(stmt.value, ast.Name):
                user_names.setdefault(stmt.value.id, stmt.targets[0].id)

    def words(var, avoid=None, depth=0):
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


# Methods that change their object in place.
def _mutating_methods():
    import numpy as np

    found = {getattr(list, n) for n in ("append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse")}
    found |= {getattr(dict, n) for n in ("update", "pop", "popitem", "setdefault", "clear")}
    found |= {getattr(np.ndarray, n) for n in ("sort", "fill", "put", "resize", "partition", "itemset", "setflags")
              if hasattr(np.ndarray, n)}
    return found


def _refuse_writes_into_arguments(tree: ast.FunctionDef, origin, analysis: Analysis, writes: dict) -> None:
    """Refuse writes into any value that may be (part of) an object the caller
    passed: an argument itself, a view of it (a basic slice, a reshape, .T),
    an item of a list or dict argument, a loop target over a list argument."""
    from .errors import TangentSyntaxError

    cfg = analysis.cfg
    facts, made = argument_memory(tree, cfg)
    shown = _user_words(tree)
    mutating = _mutating_methods()
    sites = [(var, stmt) for var, found in writes.items() for stmt, _ in found
             if not getattr(stmt, "tangent_augmented", False)]
    for node in cfg.nodes:
        stmt = node.stmt
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and isinstance(stmt.value.func, ast.Attribute) \
                and isinstance(stmt.value.func.value, ast.Name):
            try:
                mutates = getattr(stmt.value, "tangent_callee", None) in mutating
            except TypeError:
                mutates = False
            if mutates:
                sites.append((stmt.value.func.value.id, stmt))
    for var, stmt in sites:
        node = cfg.node_of.get(id(stmt))
        if node is None:
            continue
        owners = sorted({f[1] for f in facts[node] if f[0] == var and f[2]})
        if not owners:
            continue
        argument = owners[0]
        if var == argument and (var, var, True) in facts[node] and not made.get(var):
            raise origin.error(
                TangentSyntaxError, stmt,
                f"this writes into the argument {var!r}, changing the caller's value, which the derivative cannot undo",
                f"copy it first: {var} = {var}.copy()",
            )
        where = [s for s in made.get(var, []) if getattr(s, "lineno", None) is not None]
        line = where[0].lineno if where else None
        text = origin.text(line) if line is not None else ""
        since = f" (since line {line}{': ' + text if text else ''})" if line is not None else ""
        raise origin.error(
            TangentSyntaxError, stmt,
            f"this writes into {shown(var)}, which may share memory with the argument {argument!r}{since}, "
            "changing the caller's value, which the derivative cannot undo",
            f"write into a copy: make one with .copy() (or np.copy(...)){' on line ' + str(line) if line else ''}, "
            "before this write",
        )


def immutable_scalars(tree: ast.FunctionDef, scalar_params=()) -> set[str]:
    """Names that certainly hold an immutable number (or string) wherever
    they are bound: every assignment to them gives a constant, ``float(...)``,
    ``int(...)``, ``len(...)``, a ``math`` function's result, a loop counter
    over a range, or arithmetic of such values; parameters only when
    ``scalar_params`` says their arguments are numbers (the generic code,
    built first, knows nothing of them).
    ``s += e`` on such a name rebinds it: nothing else can see the change."""
    import builtins
    import math

    definitions: dict[str, list] = {}
    ranges = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    definitions.setdefault(t.id, []).append(node.value)
                    if isinstance(node.value, ast.Call) and getattr(node.value, "tangent_callee", None) is builtins.range:
                        ranges.add(t.id)
                else:
                    for n in ast.walk(t):
                        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                            definitions.setdefault(n.id, []).append(None)  # unpacked: unknown
        elif isinstance(node, ast.For):
            counter = isinstance(node.iter, ast.Name) and node.iter.id in ranges or (
                isinstance(node.iter, ast.Call) and getattr(node.iter, "tangent_callee", None) is builtins.range)
            for n in ast.walk(node.target):
                if isinstance(n, ast.Name):
                    definitions.setdefault(n.id, []).append(ast.Constant(value=0) if counter else None)
    params = {a.arg for a in tree.args.posonlyargs + tree.args.args + tree.args.kwonlyargs}
    for p in params:
        definitions.setdefault(p, []).append(ast.Constant(value=0.0) if p in scalar_params else None)
    numeric_builtins = {builtins.float, builtins.int, builtins.len, builtins.bool, builtins.complex}
    candidates = set(definitions)

    def scalar(value) -> bool:
        if isinstance(value, ast.Constant):
            return isinstance(value.value, (int, float, complex, str, bytes)) or value.value is None
        if isinstance(value, ast.Name):
            return value.id in candidates and not getattr(value, "tangent_global", False)
        if isinstance(value, ast.BinOp):
            return not isinstance(value.op, ast.MatMult) and scalar(value.left) and scalar(value.right)
        if isinstance(value, ast.UnaryOp):
            return scalar(value.operand)
        if isinstance(value, ast.Compare):
            return scalar(value.left) and all(scalar(c) for c in value.comparators)
        if isinstance(value, ast.Call):
            callee = getattr(value, "tangent_callee", None)
            if callee in numeric_builtins:
                return True
            module = getattr(callee, "__module__", None)
            if module == "math" or callee in vars(math).values():
                return True  # math's functions always return Python numbers
        return False

    changed = True
    while changed:
        changed = False
        for var in sorted(candidates):
            if not all(v is not None and scalar(v) for v in definitions[var]):
                candidates.discard(var)
                changed = True
    return candidates, scalar


def _rebinding_writes(tree: ast.FunctionDef, cfg: CFG, order) -> set[int]:
    """ids of the augmented assignments ``s += e`` that rebind ``s``: every
    value ``s`` may hold when they run is an immutable number (see
    immutable_scalars), so no other name sees the change."""
    scalar_params = getattr(tree, "tangent_scalar_params", ())
    candidates, scalar = immutable_scalars(tree, scalar_params)
    augmented = [stmt for stmt, _ in order if getattr(stmt, "tangent_augmented", False)]
    if not augmented:
        return set()
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
                ok = var in scalar_params
            elif isinstance(where.stmt, ast.Assign) and isinstance(where.stmt.targets[0], ast.Name):
                ok = scalar(where.stmt.value)
            else:
                ok = False
            if not ok:
                break
        if ok:
            found.add(id(stmt))
    return found


def check_mutations(tree: ast.FunctionDef, origin, analysis: Analysis, aliases: bool | str = True) -> None:
    """Refuse in-place writes whose effect the derivative could not follow.

    Writes (``y[i] = v``, ``lst.append(v)``) are allowed into values the
    function created. Refused: writes into an argument (the caller's object),
    and writes into a value that another variable aliases (``z = y``, a
    slice or reshape of it) when that alias is read after the write.
    With ``aliases="augmented"`` only augmented assignments (``y += v``, which
    NumPy does in place but the derivative does as ``y = y + v``) are checked
    for aliases: forward mode follows aliased item writes itself.
    """
    from .errors import TangentSyntaxError

    order: list[tuple[ast.stmt, tuple]] = []

    def walk(stmts, loops):
        for stmt in stmts:
            order.append((stmt, loops))
            if isinstance(stmt, (ast.For, ast.While)):
                walk(stmt.body, loops + (id(stmt),))
            elif isinstance(stmt, ast.If):
                walk(stmt.body, loops)
                walk(stmt.orelse, loops)

    walk(tree.body, ())
    views = _view_functions()

    rebinding = _rebinding_writes(tree, analysis.cfg, order)
    writes: dict[str, list] = {}
    for stmt, loops in order:
        target = None
        if is_setitem(stmt) and isinstance(stmt.targets[0].value, ast.Name):
            target = stmt.targets[0].value.id
        elif isinstance(stmt, ast.Expr) and getattr(stmt.value, "tangent_callee", None) is list.append:
            target = stmt.value.func.value.id
        elif isinstance(stmt, ast.Assign) and getattr(stmt.value, "tangent_callee", None) is list.pop:
            target = stmt.value.func.value.id
        elif getattr(stmt, "tangent_augmented", False) and aliases and id(stmt) not in rebinding:
            # (s += e on a number rebinds s: nothing else sees it)
            target = stmt.targets[0].id
        if target is not None:
            writes.setdefault(target, []).append((stmt, loops))
    if not origin.filename.startswith("<tangent "):
        # (code Tangent generated writes into its tape on purpose; the user's
        # writes in it were checked when the user's function was transformed)
        _refuse_writes_into_arguments(tree, origin, analysis, writes)
    if not writes:
        return

    if not aliases:
        return

    def own_loads(stmt):  # a compound statement's own expressions, not its body
        if isinstance(stmt, ast.For):
            return names_loaded(stmt.iter)
        if isinstance(stmt, (ast.While, ast.If)):
            return names_loaded(stmt.test)
        return names_loaded(stmt)

    def uses(name):
        return [(s, loops) for s, loops in order if name in own_loads(s) and not (
            is_setitem(s) and s.targets[0].value.id == name and name not in names_loaded(s.value))]

    # May-alias edges (a, b, kind, stmt, loops): after stmt, a and b may share
    # memory, directly (a = b, a view), as an item of a container (a = b[i],
    # a = obj.attr), as the content of a container (lst = [b], lst.append(b),
    # d[k] = b, obj.attr = b) or through a call of the user's own function,
    # whose result may be (a view of) any argument.
    edges = []
    all_definitions: dict[str, list] = {}
    for stmt, _ in order:
        if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
            all_definitions.setdefault(stmt.targets[0].id, []).append(stmt.value)
    for stmt, loops in order:
        if isinstance(stmt, ast.Expr) and getattr(stmt.value, "tangent_callee", None) is list.append:
            container = stmt.value.func.value.id
            for n in names_loaded(stmt.value) - {container}:
                edges.append((container, n, "contains", stmt, loops))
            continue
        if not isinstance(stmt, ast.Assign):
            continue
        target = stmt.targets[0]
        value = stmt.value
        if is_setitem(stmt) and isinstance(target.value, ast.Name):
            if isinstance(value, ast.Name):
                edges.append((target.value.id, value.id, "contains", stmt, loops))
            continue
        if not isinstance(target, ast.Name):
            continue
        alias = target.id
        if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name) \
                and _index_makes_copy(value.slice, all_definitions, value.value.id):
            continue  # x[[0, 1]], x[x > 0]: a copy
        source = _alias_source(value, views)
        if source is not None and source != alias:
            kind = "same" if isinstance(value, ast.Name) else "item" if isinstance(value, ast.Subscript) else "view"
            edges.append((alias, source, kind, stmt, loops))
            continue
        if isinstance(value, (ast.List, ast.Tuple, ast.Dict)):
            for n in names_loaded(value) - {alias}:
                edges.append((alias, n, "contains", stmt, loops))
            continue
        if isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name):
            edges.append((alias, value.value.id, "item", stmt, loops))
            continue
        callee = getattr(value, "tangent_callee", None)
        if isinstance(value, ast.BinOp) and getattr(callee, "__name__", "") in ("repeat", "repeat_right", "concat") \
                and getattr(callee, "__module__", "") == "tangent.runtime":
            # [a] + [b], [a] * 3: the new list holds the operands' items
            for n in names_loaded(value) - {alias}:
                edges.append((alias, n, "call", stmt, loops))
            continue
        if isinstance(value, ast.Call) and callee is list.pop and isinstance(value.func, ast.Attribute):
            edges.append((alias, value.func.value.id, "item", stmt, loops))
            continue
        if isinstance(value, ast.Call) and _may_return_an_argument(callee):
            for n in names_loaded(value) - {alias}:
                edges.append((alias, n, "call", stmt, loops))

    def rebinds(node, names):
        stmt = node.stmt
        if isinstance(stmt, ast.For):
            return isinstance(stmt.target, ast.Name) and stmt.target.id in names
        if getattr(stmt, "tangent_augmented", False) and id(stmt) not in rebinding:
            return False  # y += e on an array keeps the same object (on a number it rebinds)
        return isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name) and stmt.targets[0].id in names

    def reaches(edge, w_stmt):
        """Whether the aliasing made by ``edge`` may still hold when
        ``w_stmt`` runs: a path in the CFG from the edge's statement to the
        write that rebinds neither name."""
        start, goal = cfg.node_of.get(id(edge[3])), cfg.node_of.get(id(w_stmt))
        if start is None or goal is None:
            return True
        names = {edge[0], edge[1]}
        seen, frontier = set(), list(start.succ)
        while frontier:
            node = frontier.pop()
            if node is goal:
                return True
            if id(node) in seen or rebinds(node, names):
                continue
            seen.add(id(node))
            frontier.extend(node.succ)
        return False

    cfg = analysis.cfg

    def read_after(w_stmt, u_stmt, other):
        """Whether ``u_stmt`` may run after ``w_stmt`` with ``other`` not
        rebound in between."""
        start, goal = cfg.node_of.get(id(w_stmt)), cfg.node_of.get(id(u_stmt))
        if start is None or goal is None:
            return True
        seen, frontier = set(), list(start.succ)
        while frontier:
            node = frontier.pop()
            if node is goal:
                return True
            if id(node) in seen or rebinds(node, {other}):
                continue
            seen.add(id(node))
            frontier.extend(node.succ)
        return False

    def aliased(written, w_stmt, w_loops):
        """{name: the edge that first links it} of the names that may share
        memory with ``written`` when ``w_stmt`` runs."""
        live = [e for e in edges if reaches(e, w_stmt)]
        # writing into a container (an item, an attribute, an append) leaves
        # what it held alone, whichever of its names (box = _box) the write uses
        same = {written}
        grew = True
        while grew:
            grew = False
            for e in live:
                if e[2] == "same" and (e[0] in same) != (e[1] in same):
                    same |= {e[0], e[1]}
                    grew = True
        live = [e for e in live if not (e[2] == "contains" and e[0] in same)]
        # appending to or popping from a list leaves the items read from it
        # (and from the containers that hold it) alone
        list_write = not is_setitem(w_stmt) and not getattr(w_stmt, "tangent_augmented", False)
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
        return found

    shown = _user_words(tree)

    for written, sites in writes.items():
        for w_stmt, w_loops in sites:
            if aliases == "augmented" and not getattr(w_stmt, "tangent_augmented", False):
                continue
            for other, edge in aliased(written, w_stmt, w_loops).items():
                for u_stmt, _ in uses(other):
                    if read_after(w_stmt, u_stmt, other):
                        line = edge[3].lineno
                        text = origin.text(line)
                        raise origin.error(
                            TangentSyntaxError, w_stmt,
                            f"this writes in place into {shown(written)}, which may share memory with "
                            f"{shown(other, avoid=shown.words(written))} (since line {line}{': ' + text if text else ''}), read after this write; "
                            "Tangent cannot differentiate through that aliasing",
                            f"keep an independent copy on line {line} (e.g. with .copy() or np.copy(...)), "
                            "or write into a copy made just before this line",
                        )


def _may_return_an_argument(callee) -> bool:
    """Whether a call's result may be (a view of, or hold) one of its
    arguments: the user's own functions may; NumPy's and math's functions
    (other than the views listed in _view_functions) return new values."""
    import types as pytypes

    if callee is None or callee is UNRESOLVED:
        return True
    module = getattr(callee, "__module__", None) or ""
    if module.startswith(("numpy", "math", "scipy", "tangent")) or module in ("builtins", "operator", "_operator"):
        return callee in (list, tuple, dict, getattr) or getattr(callee, "__name__", "") in ("as_sequence",)
    if isinstance(callee, (pytypes.BuiltinFunctionType, pytypes.BuiltinMethodType, pytypes.MethodDescriptorType,
                           pytypes.WrapperDescriptorType, pytypes.GetSetDescriptorType)):
        return getattr(callee, "__objclass__", None) in (list, dict)  # list.copy shares the items
    if isinstance(callee, type) and module.startswith("numpy"):
        return False
    if isinstance(callee, pytypes.FunctionType):
        return not _returns_new_values(callee)
    return True


def _returns_new_values(fn) -> bool:
    """Whether every ``return`` of the user's function ``fn`` gives a value it
    computed: arithmetic, or a NumPy/math call other than a view, directly or
    through local variables assigned only such values. Anything else (an
    argument, an item, a container, a call of another user function) may
    share memory with an argument."""
    import inspect
    import textwrap

    cached = _fresh_returns.get(fn)
    if cached is not None:
        return cached
    _fresh_returns[fn] = False  # recursion: assume the worst
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]
    except (OSError, TypeError, SyntaxError, IndexError):
        return False
    if not isinstance(tree, ast.FunctionDef):
        return False
    namespace = dict(getattr(fn, "__globals__", {}))
    views = _view_functions()

    def resolve(node):
        if isinstance(node, ast.Name):
            return namespace.get(node.id, UNRESOLVED)
        if isinstance(node, ast.Attribute):
            owner = resolve(node.value)
            return getattr(owner, node.attr, UNRESOLVED) if owner is not UNRESOLVED else UNRESOLVED
        return UNRESOLVED

    def fresh_expr(node):
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult)):
            # + and * also concatenate and repeat lists, whose items stay shared:
            # new only when an operand is certainly a number or an array
            return any(fresh_expr(side) and not (isinstance(side, ast.Constant) and type(side.value) is int)
                       for side in (node.left, node.right))
        if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Constant, ast.Compare)):
            return True
        if isinstance(node, ast.Call):
            callee = resolve(node.func)
            module = getattr(callee, "__module__", None) or ""
            return (callee is not UNRESOLVED and callee not in views and module.startswith(("numpy", "math"))
                    and getattr(callee, "__name__", "") not in ("asarray", "asanyarray", "squeeze", "ravel"))
        return False

    assigned: dict[str, list] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name):
                        assigned.setdefault(n.id, []).append(node.value if not isinstance(node, ast.AugAssign)
                                                             else ast.BinOp(left=n, op=node.op, right=node.value))
        elif isinstance(node, (ast.For, ast.With, ast.NamedExpr, ast.Global, ast.Nonlocal, ast.Lambda,
                               ast.FunctionDef, ast.Yield)) and node is not tree:
            return False
    params = {a.arg for a in tree.args.posonlyargs + tree.args.args + tree.args.kwonlyargs}

    def fresh(node):
        if isinstance(node, ast.Name):
            values = assigned.get(node.id)
            return node.id not in params and bool(values) and all(
                fresh_expr(v) for v in values if v is not None) and None not in values
        return fresh_expr(node)

    returns = [n for n in ast.walk(tree) if isinstance(n, ast.Return)]
    result = bool(returns) and all(r.value is not None and fresh(r.value) for r in returns)
    _fresh_returns[fn] = result
    return result


_fresh_returns: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


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
    from .errors import TangentSyntaxError

    def error(message, hint=""):
        return mode.error(TangentSyntaxError, stmt, message, hint)

    binding = bind_user_call(mode.parsed, mode.analysis, stmt, value, error)
    return binding if binding is not None and binding.active else None


def bind_user_call(parsed, analysis: Analysis, stmt, value: ast.Call, error):
    """CallBinding of ``value`` when it calls a user function, else None."""
    import types as pytypes

    callee = getattr(value, "tangent_callee", UNRESOLVED)
    if getattr(value, "tangent_property", False) and callee is not UNRESOLVED:
        pass
    if callee is UNRESOLVED or not isinstance(callee, pytypes.FunctionType):
        return None
    if rules.lookup_adjoint(callee) is not None or rules.lookup_tangent(callee) is not None \
            or rules.is_nondifferentiable(callee):
        return None
    args = list(value.args)
    if getattr(value, "tangent_method", False):
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
    active = [p for p, arg in bindings.items()
              if isinstance(arg, ast.Name) and analysis.is_varied(arg.id, stmt) and p not in static]
    return CallBinding(callee, args, keywords, bindings, active, static, types)


# ---------------------------------------------------------------- shapes
class _Unknown:
    def __repr__(self):
        return "UNKNOWN"


UNKNOWN_SHAPE = _Unknown()


def describe_argument(value):
    """What shape inference needs of an argument: its shape for arrays and
    numbers, None for anything else (containers, objects)."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return ("array", value.shape, value.dtype.char)
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return ("float", (), "d")
    if isinstance(value, int):
        return ("int", (), "l")
    return None


def _broadcast(*shapes):
    import numpy as np

    if any(s is None or s is UNKNOWN_SHAPE or isinstance(s, str) for s in shapes):
        return None
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        return None


def _reduced(shape, axis, keepdims):
    if shape is None or isinstance(shape, str):
        return None
    if axis is None:
        return tuple(1 for _ in shape) if keepdims else ()
    axes = axis if isinstance(axis, tuple) else (axis,)
    try:
        axes = {a % len(shape) for a in axes}
    except (TypeError, ZeroDivisionError):
        return None
    if keepdims:
        return tuple(1 if i in axes else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _matmul_shape(a, b):
    if a is None or b is None or not a or not b or isinstance(a, str) or isinstance(b, str):
        return None
    if len(a) == 1 and len(b) == 1:
        return () if a == b else None
    if len(a) == 1:
        return b[:-2] + b[-1:] if b[-2] == a[0] else None
    if len(b) == 1:
        return a[:-1] if a[-1] == b[0] else None
    if a[-1] != b[-2]:
        return None
    batch = _broadcast(a[:-2], b[:-2])
    return None if batch is None else batch + (a[-2], b[-1])


def infer_shapes(tree: ast.FunctionDef, known: dict) -> dict:
    """Shapes of the function's variables, from the shapes of its arguments.

    Flow-insensitive: a variable whose definitions give different (or
    unknown) shapes has shape None. Python numbers have shape ().
    """
    import builtins

    import numpy as np

    shapes: dict = {name: shape for name, shape in known.items()}
    reductions = {np.sum, np.mean, np.max, np.min, np.prod, np.std, np.var, np.amax, np.amin,
                  np.ndarray.sum, np.ndarray.mean, np.ndarray.max, np.ndarray.min, np.ndarray.prod,
                  np.ndarray.std, np.ndarray.var}

    def const(node):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Tuple) and all(isinstance(e, ast.Constant) for e in node.elts):
            return tuple(e.value for e in node.elts)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
            return -node.operand.value
        raise ValueError

    def of(node):
        if isinstance(node, ast.Constant):
            return () if isinstance(node.value, (int, float, complex)) else None
        if isinstance(node, ast.Name):
            s = shapes.get(node.id)
            return None if s is UNKNOWN_SHAPE else s
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and shapes.get(node.value.id) == "shape-tuple":
            return () if isinstance(node.slice, ast.Constant) else None
        if getattr(node, "tangent_global", False):
            value = getattr(node, "tangent_value", None)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return ()
            return tuple(value.shape) if isinstance(value, np.ndarray) else None
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.MatMult):
                return _matmul_shape(of(node.left), of(node.right))
            return _broadcast(of(node.left), of(node.right))
        if isinstance(node, ast.UnaryOp):
            return of(node.operand)
        if isinstance(node, ast.Subscript):
            base = of(node.value)
            if base == "shape-tuple":
                return () if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, int) else None
            index = node.slice
            parts = list(index.elts) if isinstance(index, ast.Tuple) else [index]
            if base is None or isinstance(base, str):
                return None
            out, dim = [], 0
            for part in parts:
                if isinstance(part, ast.Constant) and part.value is None:
                    out.append(1)
                elif isinstance(part, ast.Slice):
                    if dim >= len(base):
                        return None
                    try:
                        bounds = [None if p is None else int_value(p) for p in (part.lower, part.upper, part.step)]
                    except ValueError:
                        return None
                    out.append(len(range(*slice(*bounds).indices(base[dim]))))
                    dim += 1
                elif (isinstance(part, ast.Constant) and isinstance(part.value, int) and not isinstance(part.value, bool)
                      or isinstance(part, ast.Name) and part.id in int_names):
                    if dim >= len(base):
                        return None
                    dim += 1
                else:
                    return None
            return tuple(out) + tuple(base[dim:])
        if isinstance(node, ast.Attribute):
            if node.attr in ("ndim", "size"):
                return ()
            if node.attr == "shape":
                return "shape-tuple"
            if node.attr == "T":
                base = of(node.value)
                return None if base is None else tuple(reversed(base))
            return None
        if isinstance(node, ast.Call):
            callee = getattr(node, "tangent_callee", None)
            args = list(node.args)
            if getattr(node, "tangent_method", False):
                args = [node.func.value] + args
            keywords = {k.arg: k.value for k in node.keywords}
            try:
                if isinstance(callee, np.ufunc) and callee.signature is None and not keywords:  # elementwise
                    if callee.nin == 1 and len(args) == 1:
                        return of(args[0])
                    if callee.nin == 2 and len(args) == 2:
                        return _broadcast(of(args[0]), of(args[1]))
                    return None
                if getattr(callee, "__module__", None) == "math" or callee in (builtins.float, builtins.abs):
                    return () if all(of(a) == () for a in args) else None
                if callee in reductions and args:
                    axis = const(keywords["axis"]) if "axis" in keywords else const(args[1]) if len(args) > 1 else None
                    keepdims = const(keywords["keepdims"]) if "keepdims" in keywords else False
                    return _reduced(of(args[0]), axis, keepdims)
                if callee in (np.matmul, np.dot) and len(args) == 2:
                    a, b = of(args[0]), of(args[1])
                    if callee is np.dot and (a is None or b is None or len(a) > 2 or len(b) > 2):
                        return None  # np.dot of stacks of matrices is not matmul's broadcasting
                    if a == () or b == ():
                        return _broadcast(a, b) if callee is np.dot else None
                    return _matmul_shape(a, b)
                if callee in (np.zeros, np.ones, np.empty) and args:
                    shape = int_value(args[0])
                    return (shape,) if isinstance(shape, int) else tuple(shape)
                if callee in logsumexps and args:
                    axis = const(keywords["axis"]) if "axis" in keywords else const(args[1]) if len(args) > 1 else None
                    keepdims = const(keywords["keepdims"]) if "keepdims" in keywords else False
                    return _reduced(of(args[0]), axis, keepdims) if "b" not in keywords else None
                if callee is np.transpose and len(args) == 1 and not keywords:
                    base = of(args[0])
                    return None if base is None else tuple(reversed(base))
            except (ValueError, KeyError, TypeError):
                return None
        return None

    int_names: set[str] = {n for n, s in known.items() if s == () and n in getattr(tree, "tangent_int_args", ())}
    # integer values known from shapes: n = x.shape[0]; (n, m)
    values: dict[str, object] = {}

    def int_value(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.Name) and node.id in values:
            return values[node.id]
        raise ValueError

    def value_of(node):
        """The integer (or tuple of integers) a statement computes, if known."""
        try:
            if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
                    and node.value.id in shape_sources and isinstance(node.slice, ast.Constant):
                return shape_sources[node.value.id][node.slice.value]
            if isinstance(node, ast.Tuple):
                return tuple(int_value(e) for e in node.elts)
            if isinstance(node, ast.Constant) and isinstance(node.value, int):
                return node.value
        except (ValueError, IndexError, TypeError):
            return None
        return None

    shape_sources: dict[str, tuple] = {}
    try:
        from scipy.special import logsumexp as _scipy_logsumexp

        logsumexps = {_scipy_logsumexp}
    except ImportError:
        logsumexps = set()
    assigns = [n for n in ast.walk(tree) if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name)]
    assign_counts: dict[str, int] = {}
    for stmt in assigns:
        assign_counts[stmt.targets[0].id] = assign_counts.get(stmt.targets[0].id, 0) + 1
    loop_targets = [n.target.id for n in ast.walk(tree) if isinstance(n, ast.For) and isinstance(n.target, ast.Name)]
    for target in loop_targets:
        shapes[target] = ()
        int_names.add(target)
    for _ in range(6):
        changed = False
        for stmt in assigns:
            target = stmt.targets[0].id
            value = stmt.value
            if isinstance(value, ast.Attribute) and value.attr == "shape" and isinstance(value.value, ast.Name):
                base = shapes.get(value.value.id)
                if isinstance(base, tuple):
                    shape_sources[target] = base
            computed = value_of(value)
            if computed is not None and assign_counts.get(target) == 1:
                values[target] = computed
                int_names.add(target) if isinstance(computed, int) else None
            if target in known:
                if target not in int_names:
                    shapes[target] = UNKNOWN_SHAPE if shapes.get(target) != of(stmt.value) else shapes[target]
                continue
            new = of(stmt.value)
            old = shapes.get(target, "unseen")
            if old == "unseen":
                if new is not None:
                    shapes[target] = new
                    changed = True
            elif old is not UNKNOWN_SHAPE and old != new:
                shapes[target] = UNKNOWN_SHAPE
                changed = True
        if not changed:
            break
    # a variable some definition of which gave no shape is unknown
    for stmt in assigns:
        target = stmt.targets[0].id
        if target not in known and of(stmt.value) is None:
            shapes[target] = UNKNOWN_SHAPE
    return {k: (None if v is UNKNOWN_SHAPE or v == "shape-tuple" else v) for k, v in shapes.items()}
