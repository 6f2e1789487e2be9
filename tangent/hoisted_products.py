"""Products of a backward loop that feed only an accumulation, done after it.

Takes: a specialised generated FunctionDef and its ``value_facts.Specialization``
(with ``run_only`` set and ``bind_global`` given: otherwise nothing changes).
Gives it with each step's ``dX = add_at(dX, t, A @ B)`` of a loop (the
product maybe first assigned to a name read there only) rewritten as the
step appending ``A`` to a list and, after the loop, one
``dX = add_matmuls_at(dX, <the loop's indices>, A_steps, B)``, which does all
the products as one matmul and adds them at once where that computes the
same values (``runtime.accumulation.add_matmuls_at``). In the gradient of a
tanh RNN w.r.t. its inputs this leaves one small matmul per step of the
backward loop instead of two (docs/step_products.md). Likewise each step's
``S = S + X.T @ A`` (the weights' gradient of such an RNN), ``X`` and ``A``
names, becomes two appends and, after the loop, ``S = add_matmul_sums(S,
X_steps, A_steps)``: one product of the steps' stacked rows, the same sum
added in another order (the last bits of rounding may differ).

Sound when (checked, each erring towards "leave the loop"; the design's
conditions, with statements other than the rewritten ones held to fewer
forms):

* the loop is ``for t in R`` or ``for t in reversed(R)``, ``t`` a name, ``R``
  a name assigned once in the function, to ``range(...)``, and not in the
  loop (so ``R`` after the loop gives the indices it gave), with no ``else``
  and no ``break``, ``continue``, ``return``, ``yield`` or nested function
  anywhere in its body;
* ``dX = add_at(dX, t, P)`` is at the top level of the body (callee
  ``runtime.add_at``), ``P`` being ``A @ B`` or a name assigned ``A @ B``
  once in the function, earlier at the top level of the body, and read
  nowhere but in that ``add_at``; ``dX`` occurs nowhere else in the body,
  and neither ``t`` nor ``A`` is ``dX``; ``t`` is not assigned in the body;
* (for a sum: ``S = S + P`` at the top level of the body, ``P`` being ``X.T @
  A`` or a name assigned so as above, ``S`` elsewhere in the body only in
  other such ``S = S + ...`` (an HVP's weights' gradient sums two
  products a step; each is done after the loop in turn), and neither ``X``
  nor ``A`` nor the counter; the loop as above; ``X`` and ``A`` play the
  part of ``A`` below);
* ``A`` is a name; ``B`` is ``W`` or ``W.T`` (either operand of ``@``), ``W`` a parameter the function
  never assigns whose example argument is a NumPy array (the specialisation
  key fixes its type; a derivative never writes into its arguments): ``B``
  has one value throughout, and ``W.T`` after the loop is the ``W.T`` each
  step read;
* every other statement of the body writes into no array: it is write-free
  by ``ValueFacts.writes_nothing``, a pop from or an append to a list (the
  tape, or a list of steps this pass made), or an ``add_at`` into a buffer
  other than ``A`` (a buffer is referred to by no other variable:
  ``runtime.accumulation``'s contract).

Then the objects appended are the values ``A`` had at each step, unchanged
until ``add_matmuls_at`` reads them right after the loop, and adding the
products after the loop instead of during it changes nothing the loop reads.

Option (b) of the brief: the pass runs only on code that is run and never
differentiated again. ``add_matmuls_at`` has no derivative rules (its rules
refuse, naming the line: ``rules.accumulation_rules``); the variant of a
specialised gradient that ``tangent.hvp`` differentiates is generated
without this pass (``specialize.differentiable``), and ``grad2`` and
``jvp(grad(f))`` differentiate the generic gradient, which it never
touches. Chosen over derivative rules for the helper because those would
need the list of steps built by ``append`` in a loop to go through both
modes (its tangent list, its adjoint popped in reverse), and differentiating
a rewritten gradient buys nothing: an HVP runs forward mode over every
product anyway. Numba (``compile="numba"``) never gets the pass either.
"""

from __future__ import annotations

import ast
import builtins
import copy

import numpy as np

from . import ir, runtime
from .astwalk import walk_list
from .value_facts import Specialization, ValueFacts

_ESCAPES = (ast.Break, ast.Continue, ast.Return, ast.Yield, ast.YieldFrom, ast.Await, ast.Lambda,
            ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Global, ast.Nonlocal)


def hoist_products(fdef: ast.FunctionDef, special: Specialization) -> ast.FunctionDef:
    """Each loop's accumulated products done after it (see the module
    docstring); ``fdef`` unchanged in code that may be differentiated."""
    if not special.run_only or special.bind_global is None:
        return fdef
    steps: set[str] = set()  # the lists of steps made so far
    while _hoist_one(fdef, special, steps):
        pass
    return fdef


def _hoist_one(fdef, special, steps) -> bool:
    """Rewrite one accumulation of one loop; whether one was found."""
    facts = ValueFacts(fdef, special)
    uses = _Uses(fdef)
    for block in _blocks(fdef):
        for position, loop in enumerate(block):
            if not isinstance(loop, ast.For) or not _plain_loop(loop, facts, uses):
                continue
            for found in [*_accumulations(loop, facts, uses), *_sums(loop, facts, uses)]:
                if _others_write_nothing(loop, found, facts, steps, uses):
                    _rewrite(fdef, block, position, found, special, steps)
                    return True
    return False


def _blocks(fdef):
    """Every statement list of the function."""
    for node in walk_list(fdef):
        for field in ("body", "orelse"):
            inner = getattr(node, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                yield inner


def _plain_loop(loop: ast.For, facts: ValueFacts, uses) -> bool:
    """``for t in R`` / ``for t in reversed(R)``, ``R`` one ``range`` all along."""
    if loop.orelse or not isinstance(loop.target, ast.Name):
        return False
    if any(isinstance(node, _ESCAPES) for stmt in loop.body for node in walk_list(stmt)):
        return False
    indices = _range_name(loop.iter, facts)
    if indices is None or indices not in facts.once:
        return False
    definition = facts.definitions[indices]
    if not (isinstance(definition, ast.Call) and _is_builtin(definition.func, facts, "range")):
        return False
    stored_in_loop = {n.id for stmt in loop.body for n in walk_list(stmt)
                      if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    return indices not in stored_in_loop and loop.target.id not in stored_in_loop


def _range_name(node, facts) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Call) and _is_builtin(node.func, facts, "reversed") and len(node.args) == 1 \
            and not node.keywords and isinstance(node.args[0], ast.Name):
        return node.args[0].id
    return None


def _is_builtin(func, facts: ValueFacts, name: str) -> bool:
    return isinstance(func, ast.Name) and func.id == name and func.id not in facts.bound \
        and facts.special.namespace.get(name, getattr(builtins, name)) is getattr(builtins, name)


class _Found:
    """One accumulation of a loop: ``dX = add_at(dX, t, P)``, ``P`` being
    ``A @ B`` (or ``B @ A``), or ``S = S + P``, ``P`` being ``X.T @ A``."""

    def __init__(self, accumulate: ast.Assign, product: ast.Assign | None, left: str, right: ast.expr,
                 right_first: bool = False, summed: bool = False):
        self.accumulate = accumulate  # the add_at (or sum) statement
        self.product = product  # the statement assigning P, or None when P is written in it
        self.left = left  # A (X for a sum), a name
        self.right = right  # B (the name A for a sum)
        self.right_first = right_first  # P is B @ A
        self.summed = summed
        self.buffer = accumulate.targets[0].id
        self.recorded = [left, right.id] if summed else [left]  # the names whose values each step appends

    def done(self, helper: str, lists: list[str], indices: ast.expr) -> ast.Assign:
        """The statement after the loop, the steps' values in ``lists``."""
        if self.summed:
            args = [ir.name(self.buffer), *map(ir.name, lists)]
        elif self.right_first:
            args = [ir.name(self.buffer), copy.deepcopy(indices), copy.deepcopy(self.right), ir.name(lists[0])]
        else:
            args = [ir.name(self.buffer), copy.deepcopy(indices), ir.name(lists[0]), copy.deepcopy(self.right)]
        return ir.assign(self.buffer, ast.Call(func=ir.name(helper), args=args, keywords=[]))

    def function(self):
        if self.summed:
            return runtime.add_matmul_sums
        return runtime.add_left_matmuls_at if self.right_first else runtime.add_matmuls_at


def _accumulations(loop: ast.For, facts: ValueFacts, uses):
    """The accumulations of ``loop``'s body that may be rewritten (the first
    two conditions of the module docstring, and the third)."""
    counter = loop.target.id
    products = {}  # name -> its assignment, at the top level of the body
    for stmt in loop.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            products.setdefault(stmt.targets[0].id, stmt)
        call = _add_at_call(stmt, facts)
        if call is None:
            continue
        buffer, index, contribution = call.args
        if not (isinstance(index, ast.Name) and index.id == counter):
            continue
        product = None
        if isinstance(contribution, ast.Name):
            product = products.get(contribution.id)
            named = uses.get(contribution.id, [])
            if product is None or contribution.id not in facts.once or len(named) != 2:
                continue  # (its one store and this one read)
            contribution = product.value
        operands = _matmul(contribution, facts)
        if operands is None or operands[0] in (buffer.id, counter):
            continue
        inside = [n for s in loop.body for n in walk_list(s) if isinstance(n, ast.Name) and n.id == buffer.id]
        if len(inside) != 2:  # (dX = add_at(dX, ...): nowhere else in the body)
            continue
        yield _Found(stmt, product, *operands)


def _sums(loop: ast.For, facts: ValueFacts, uses):
    """The sums ``S = S + P`` of ``loop``'s body, ``P`` being ``X.T @ A`` (or a
    name assigned so once, earlier at the top level of the body, read there
    only), ``X`` and ``A`` names other than ``S``, ``S`` nowhere else in the
    body."""
    products = {}
    for stmt in loop.body:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
            continue
        products.setdefault(stmt.targets[0].id, stmt)
        total, value = stmt.targets[0].id, stmt.value
        if not (isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add) and isinstance(value.left, ast.Name)
                and value.left.id == total):
            continue
        contribution, product = value.right, None
        if isinstance(contribution, ast.Name):
            product = products.get(contribution.id)
            if product is None or product is stmt or contribution.id not in facts.once \
                    or len(uses.get(contribution.id)) != 2:
                continue
            contribution = product.value
        if not (isinstance(contribution, ast.BinOp) and isinstance(contribution.op, ast.MatMult)
                and isinstance(contribution.left, ast.Attribute) and contribution.left.attr == "T"
                and isinstance(contribution.left.value, ast.Name) and isinstance(contribution.right, ast.Name)):
            continue
        x, a = contribution.left.value.id, contribution.right
        if total in (x, a.id, loop.target.id) or not _only_summed(loop, total):
            continue
        yield _Found(stmt, product, x, a, summed=True)


def _only_summed(loop: ast.For, total: str) -> bool:
    """``total`` occurs in the body only as ``total = total + ...`` (each of
    them, the others' order of addition changes nothing the loop reads)."""
    for stmt in loop.body:
        inside = sum(isinstance(n, ast.Name) and n.id == total for n in walk_list(stmt))
        if inside and not (inside == 2 and isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                           and isinstance(stmt.targets[0], ast.Name) and stmt.targets[0].id == total
                           and isinstance(stmt.value, ast.BinOp) and isinstance(stmt.value.op, ast.Add)
                           and isinstance(stmt.value.left, ast.Name) and stmt.value.left.id == total):
            return False
    return True


def _add_at_call(stmt, facts: ValueFacts) -> ast.Call | None:
    """The call of ``dX = add_at(dX, index, g)``, else None."""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
        return None
    call = stmt.value
    if not (isinstance(call, ast.Call) and facts.callee(call) is runtime.add_at and len(call.args) == 3
            and not call.keywords and isinstance(call.args[0], ast.Name) and call.args[0].id == stmt.targets[0].id):
        return None
    return call


def _matmul(node, facts: ValueFacts) -> tuple[str, ast.expr, bool] | None:
    """(A, B, whether B comes first) of ``A @ B`` or ``B @ A``, ``A`` a name,
    ``B`` ``W`` or ``W.T`` of an array parameter ``W`` the function never
    assigns; else None."""
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult)):
        return None
    if isinstance(node.left, ast.Name) and _fixed_array(node.right, facts):
        return node.left.id, node.right, False
    if isinstance(node.right, ast.Name) and _fixed_array(node.left, facts):
        return node.right.id, node.left, True
    return None


def _fixed_array(node, facts: ValueFacts) -> bool:
    """``W`` or ``W.T``, ``W`` a parameter never assigned, a NumPy array in the key."""
    weight = node.value if isinstance(node, ast.Attribute) and node.attr == "T" else node
    return isinstance(weight, ast.Name) and weight.id in facts.params and weight.id in facts.unchanged \
        and type(facts.special.examples.get(weight.id)) is np.ndarray


def _others_write_nothing(loop: ast.For, found: _Found, facts: ValueFacts, steps: set[str], uses) -> bool:
    """The body's other statements write into no array (the fourth condition)."""
    for stmt in loop.body:
        if stmt is found.accumulate or stmt is found.product or facts.writes_nothing(stmt):
            continue
        call = _add_at_call(stmt, facts)
        if call is not None and call.args[0].id not in found.recorded:
            continue  # (into another buffer, which nothing else refers to)
        if not _list_operation(stmt, steps, uses):
            return False
    return True


def _list_operation(stmt, steps: set[str], uses) -> bool:
    """``x = tape.pop()`` or ``tape.pop()`` of a list only ever assigned
    ``[]``, appended to and popped from (the tape: nothing else refers to
    it, so its methods are list's), or ``steps.append(a)`` into a list of
    steps this pass made."""
    if isinstance(stmt, ast.Assign) and not (len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
        return False
    call = stmt.value if isinstance(stmt, (ast.Assign, ast.Expr)) else None
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Name) and not call.keywords):
        return False
    lst, method = call.func.value.id, call.func.attr
    if method == "append" and isinstance(stmt, ast.Expr):
        return lst in steps and len(call.args) == 1 and isinstance(call.args[0], ast.Name)
    return method == "pop" and not call.args and uses.tape_only(lst)


class _Uses:
    """Where each name occurs in the function, and which lists are used as a
    tape only."""

    def __init__(self, fdef):
        self.names: dict[str, list[ast.Name]] = {}
        methods, emptied = set(), set()
        for node in walk_list(fdef):
            if isinstance(node, ast.Name):
                self.names.setdefault(node.id, []).append(node)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("append", "pop") and isinstance(node.func.value, ast.Name):
                methods.add(id(node.func.value))
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                    and isinstance(node.value, ast.List) and not node.value.elts:
                emptied.add(id(node.targets[0]))
        self.methods, self.emptied = methods, emptied

    def get(self, name: str, default=()):
        return self.names.get(name, default)

    def tape_only(self, name: str) -> bool:
        return all(id(n) in self.methods or id(n) in self.emptied for n in self.names.get(name, ()))


def _rewrite(fdef, block: list, position: int, found: _Found, special: Specialization, steps: set[str]) -> None:
    loop = block[position]
    taken = {n.id for n in walk_list(fdef) if isinstance(n, ast.Name)} | set(special.namespace)
    lists, records = [], []
    for recorded in found.recorded:
        name, k = f"{recorded}_steps", 0
        while name in taken:
            k += 1
            name = f"{recorded}_steps_{k}"
        taken.add(name)
        steps.add(name)
        lists.append(name)
        append = ast.Call(func=ast.Attribute(value=ir.name(name), attr="append", ctx=ast.Load()),
                          args=[ir.name(recorded)], keywords=[])
        ir.annotate(append, callee=list.append)
        records.append(ast.Expr(value=append))
    at = loop.body.index(found.product if found.product is not None else found.accumulate)
    loop.body[at:at + 1] = records
    if found.product is not None:
        loop.body.remove(found.accumulate)
    function = found.function()
    done = found.done(special.bind_global(function.__name__, function), lists, loop.iter)
    ir.annotate(done.value, callee=function)
    block[position:position + 1] = [*(ir.assign(n, ast.List(elts=[], ctx=ast.Load())) for n in lists), loop, done]
