"""The control-flow graph of a normalized function and a dataflow solver.

Question answered: which statements can follow which, and, over that graph,
which names are (possibly / definitely) bound before each statement.

Input: a function in Tangent's normal form (frontend + controlflow +
normalize passes: simple statements, ``if``/``while``/``for`` with plain
name targets, no ``break``/``continue`` left). Output: a ``CFG`` with one
``Node`` per simple statement plus one per ``if``/``while`` test and ``for``
header; ``solve`` runs any may-analysis (union at joins) over it;
``reaching_definitions`` and ``assigned_names`` are the two analyses built
on it that other modules use.

Assumes: statements are not shared between trees (nodes are keyed by
``id(stmt)``) and the tree is not changed while a CFG of it is in use.
"""

from __future__ import annotations

import ast
import builtins
from collections import deque
from dataclasses import dataclass, field

from . import ir
from .astwalk import loaded_names, walk_list


@dataclass(eq=False)
class Node:
    """One node of a CFG: the names it binds (``defs``, including arrays and
    lists it writes into) and reads (``uses``), and its edges."""

    stmt: ast.AST  # the statement (or the If/While/For for test/header nodes)
    defs: set = field(default_factory=set)
    uses: set = field(default_factory=set)
    succ: list = field(default_factory=list)
    pred: list = field(default_factory=list)

    def __hash__(self):
        return id(self)


def bindings(tree: ast.FunctionDef, counter, unfollowed) -> dict[str, list]:
    """{name: what binds it, flow-insensitively}: the value of each ``name =
    value``, ``counter`` for the target of a loop over a range (a ``range``
    call, or a name assigned one), ``unfollowed`` for names bound otherwise
    (unpacking, loops over other iterables). Parameters are not included."""
    found: dict[str, list] = {}
    ranges = set()
    nodes = walk_list(tree)
    for node in nodes:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found.setdefault(target.id, []).append(node.value)
                    if ir.callee(node.value) is builtins.range:
                        ranges.add(target.id)
                else:
                    for n in walk_list(target):
                        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                            found.setdefault(n.id, []).append(unfollowed)
    for node in nodes:
        if isinstance(node, ast.For):
            over_range = (isinstance(node.iter, ast.Name) and node.iter.id in ranges
                          or ir.callee(node.iter) is builtins.range)
            for n in walk_list(node.target):
                if isinstance(n, ast.Name):
                    found.setdefault(n.id, []).append(counter if over_range else unfollowed)
    return found


def names_loaded(node: ast.AST) -> set[str]:
    """The names ``node`` reads."""
    return loaded_names(node)


class CFG:
    """Control-flow graph of a normalized function body.

    Example::

        cfg = CFG.build(tree)
        cfg.node_of[id(stmt)]  # the node of a statement (the test / header of a compound one)
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
        if ir.is_append(stmt):
            defs = {stmt.value.func.value.id}  # appending changes the list
        if ir.is_pop(stmt):
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
    source shares that source's set (sets are never changed in place).

    Terminates for transfer functions that are monotone in their input: the
    facts are subsets of a finite set (names, or (name, node) pairs), every
    node's input only grows (a union of growing outputs), so each node's
    output changes finitely often and a node is queued only on a change."""
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


def _add_defs(node: Node, facts: frozenset) -> frozenset:
    defs = node.defs
    return facts if not defs or defs <= facts else facts | defs


def assigned_names(cfg: CFG) -> tuple[dict[int, frozenset], dict[int, frozenset]]:
    """(definitely assigned, possibly assigned): maps id(stmt) -> the names
    certainly / maybe bound before that statement runs, from two analyses
    over names only (linear in the facts that change, not in all
    definitions at every node, as reaching definitions would be).

    Possibly assigned: some definition reaches (union at joins). Definitely
    assigned: defined on every path from the entry (intersection over the
    predecessors reachable from the entry); at a node the entry does not
    reach, no path leaves a name undefined, so it is every name some
    definition reaches, as reaching definitions give."""
    possibly_in, _ = solve(cfg, _add_defs, forward=True)
    reachable = _reachable(cfg)
    must_in = _definitely_assigned(cfg, reachable)
    definitely = {}
    possibly = {}
    for i, node in enumerate(cfg.nodes):
        possibly[id(node.stmt)] = possibly_in[node]
        definitely[id(node.stmt)] = must_in[i] if reachable[i] else possibly_in[node]
    return definitely, possibly


def _reachable(cfg: CFG) -> list[bool]:
    """By node index: whether a path from the entry reaches the node."""
    index = {id(n): i for i, n in enumerate(cfg.nodes)}
    reachable = [False] * len(cfg.nodes)
    reachable[index[id(cfg.entry)]] = True
    stack = [cfg.entry]
    while stack:
        for s in stack.pop().succ:
            if not reachable[index[id(s)]]:
                reachable[index[id(s)]] = True
                stack.append(s)
    return reachable


def _definitely_assigned(cfg: CFG, reachable: list[bool]) -> list:
    """By node index: the names bound on every path from the entry to the
    node (None for the nodes the entry does not reach).

    A must-analysis started from "every name" (None) at every node: the sets
    only shrink (intersections of shrinking outputs) and are bounded below by
    the empty set, so each node changes finitely often and the worklist
    (which queues a node only on a change) empties."""
    nodes = cfg.nodes
    index = {id(n): i for i, n in enumerate(nodes)}
    entry = index[id(cfg.entry)]
    preds = [[index[id(p)] for p in n.pred if reachable[index[id(p)]]] for n in nodes]
    succs = [[index[id(s)] for s in n.succ] for n in nodes]
    must_in: list = [None] * len(nodes)  # None: every name (not yet reached by the iteration)
    must_out: list = [None] * len(nodes)
    work = deque(i for i in range(len(nodes)) if reachable[i])
    queued = list(reachable)
    while work:
        i = work.popleft()
        queued[i] = False
        if i == entry:
            new_in = frozenset()
        else:
            known = [must_out[p] for p in preds[i] if must_out[p] is not None]
            if not known:
                continue
            new_in = known[0] if len(known) == 1 else known[0].intersection(*known[1:])
        must_in[i] = new_in
        new_out = _add_defs(nodes[i], new_in)
        if must_out[i] is None or (new_out is not must_out[i] and new_out != must_out[i]):
            must_out[i] = new_out
            for t in succs[i]:
                if reachable[t] and not queued[t]:
                    queued[t] = True
                    work.append(t)
    return must_in
