"""Lower ``break``, ``continue`` and early ``return`` into boolean flags.

After this pass a function's only ``return`` is its last statement and loops
have no ``break``/``continue``: a jump sets a flag (``_break = True``), the
statements after it run under ``if not _break:``, and a loop that can be left
early becomes a ``while`` whose test also checks the flag. The differentiators
then only see structured control flow. ``for ... else`` and ``while ... else``
run their ``else`` block when no ``break`` happened.

Takes a FunctionDef that passed the fence (fence.py); rewrites it in place
and returns it. Nested ``def`` s are left alone (desugar.py lowers each body
where it is inlined). ``iteration_plan`` is how a loop over a sequence is
read by index, here and in desugar.py.
"""

from __future__ import annotations

import ast
import builtins
import copy

from .errors import TangentSyntaxError
from .frontend import UNRESOLVED, ParsedFunction
from .naming import Namer
from .runtime import as_sequence, checkpointed


def _name(id_: str) -> ast.Name:
    return ast.Name(id=id_, ctx=ast.Load())


def _set(id_: str, value) -> ast.Assign:
    return ast.Assign(targets=[ast.Name(id=id_, ctx=ast.Store())], value=value if isinstance(value, ast.AST) else ast.Constant(value=value))


def _not_any(flags: list[str]) -> ast.expr:
    if len(flags) == 1:
        return ast.UnaryOp(op=ast.Not(), operand=_name(flags[0]))
    return ast.UnaryOp(op=ast.Not(), operand=ast.BoolOp(op=ast.Or(), values=[_name(f) for f in flags]))


def _jumps(stmts, kinds=("break", "continue", "return")) -> set[str]:
    """Which jumps among ``kinds`` can leave this block (nested loops consume
    their own break/continue)."""
    found: set[str] = set()
    for stmt in stmts:
        if isinstance(stmt, ast.Break) and "break" in kinds:
            found.add("break")
        elif isinstance(stmt, ast.Continue) and "continue" in kinds:
            found.add("continue")
        elif isinstance(stmt, ast.Return) and "return" in kinds:
            found.add("return")
        elif isinstance(stmt, ast.If):
            found |= _jumps(stmt.body, kinds) | _jumps(stmt.orelse, kinds)
        elif isinstance(stmt, (ast.For, ast.While)):
            found |= _jumps(stmt.body, tuple(k for k in kinds if k == "return"))
            found |= _jumps(stmt.orelse, kinds)
    return found


class _Loop:
    def __init__(self, break_flag: str | None, continue_flag: str | None):
        self.break_flag = break_flag
        self.continue_flag = continue_flag


class ControlFlowLowering:
    """The lowering of one function (see module doc); ``block`` lowers a
    statement list, guarding what follows a jump by the jump's flags."""

    def __init__(self, parsed: ParsedFunction, namer: Namer):
        self.parsed = parsed
        self.namer = namer
        self.loops: list[_Loop] = []
        self.returned: str | None = None
        self.result: str | None = None

    def function(self, tree: ast.FunctionDef) -> ast.FunctionDef:
        body = tree.body
        returns = [n for s in body for n in ast.walk(s) if isinstance(n, ast.Return)
                   and not self._inside_nested_def(s, n)]
        early = [r for r in returns if r is not (body[-1] if body else None)]
        if not early:
            tree.body = self.block(body)
            return tree
        self.returned = self.namer.fresh("_returned")
        self.result = self.namer.fresh("result")  # its adjoint, the seed, is then `dresult`
        new_body = [ast.copy_location(_set(self.returned, False), body[0]),
                    ast.copy_location(_set(self.result, None), body[0])]
        new_body += self.block(body)
        new_body.append(ast.copy_location(ast.Return(value=_name(self.result)), body[-1]))
        tree.body = new_body
        return tree

    @staticmethod
    def _inside_nested_def(stmt, node) -> bool:
        for inner in ast.walk(stmt):
            if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) and inner is not stmt:
                if any(n is node for n in ast.walk(inner)):
                    return True
        return isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef))

    def flags_for(self, kinds: set[str]) -> list[str]:
        loop = self.loops[-1] if self.loops else None
        flags = []
        if "break" in kinds and loop:
            flags.append(loop.break_flag)
        if "continue" in kinds and loop:
            flags.append(loop.continue_flag)
        if "return" in kinds and self.returned:
            flags.append(self.returned)
        return flags

    def block(self, stmts: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for i, stmt in enumerate(stmts):
            jumps = _jumps([stmt])
            out += self.statement(stmt)
            rest = stmts[i + 1:]
            if isinstance(stmt, ast.Return) and self.returned is None:
                jumps = set()
            if jumps and rest:
                flags = self.flags_for(jumps)
                guarded = self.block(rest)
                if flags and guarded:
                    out.append(ast.copy_location(ast.If(test=_not_any(flags), body=guarded, orelse=[]), rest[0]))
                break
        return out

    def statement(self, stmt: ast.stmt) -> list[ast.stmt]:
        if isinstance(stmt, ast.Break):
            return [ast.copy_location(_set(self.loops[-1].break_flag, True), stmt)]
        if isinstance(stmt, ast.Continue):
            return [ast.copy_location(_set(self.loops[-1].continue_flag, True), stmt)]
        if isinstance(stmt, ast.Return) and self.returned is not None:
            value = stmt.value if stmt.value is not None else ast.Constant(value=None)
            return [ast.copy_location(_set(self.result, value), stmt),
                    ast.copy_location(_set(self.returned, True), stmt)]
        if isinstance(stmt, ast.If):
            stmt.body = self.block(stmt.body) or [ast.Pass()]
            stmt.orelse = self.block(stmt.orelse)
            return [stmt]
        if isinstance(stmt, (ast.For, ast.While)):
            return self.loop(stmt)
        return [stmt]

    def loop(self, stmt) -> list[ast.stmt]:
        jumps = _jumps(stmt.body, ("break", "continue")) | (_jumps(stmt.body, ("return",)) if self.returned else set())
        if not jumps:
            self.loops.append(_Loop(None, None))
            stmt.body = self.block(stmt.body) or [ast.Pass()]
            self.loops.pop()
            orelse = self.block(stmt.orelse)
            stmt.orelse = []
            return [stmt] + orelse
        break_flag = self.namer.fresh("_break") if "break" in jumps else None
        continue_flag = self.namer.fresh("_continue") if "continue" in jumps else None
        self.loops.append(_Loop(break_flag, continue_flag))
        body = self.block(stmt.body)
        self.loops.pop()
        if continue_flag:
            body = [ast.copy_location(_set(continue_flag, False), stmt)] + body
        exits = [f for f in (break_flag, self.returned if "return" in jumps else None) if f]
        out: list[ast.stmt] = []
        if break_flag:
            out.append(ast.copy_location(_set(break_flag, False), stmt))
        if not exits:  # only continue: the loop itself is unchanged
            stmt.body = body
            loop_stmts = [stmt]
            orelse_stmts = self.block(stmt.orelse)
            stmt.orelse = []
            return out + loop_stmts + orelse_stmts
        if isinstance(stmt, ast.While):
            test = ast.BoolOp(op=ast.And(), values=[stmt.test, _not_any(exits)])
            loop = ast.copy_location(ast.While(test=test, body=body or [ast.Pass()], orelse=[]), stmt)
            out.append(loop)
        else:
            out += self.for_as_while(stmt, body, exits)
        if stmt.orelse:
            orelse = self.block(stmt.orelse)
            flags = [break_flag] + ([self.returned] if self.returned else [])
            out.append(ast.copy_location(ast.If(test=_not_any([f for f in flags if f]), body=orelse, orelse=[]), stmt))
        return out

    def for_as_while(self, stmt: ast.For, body, exits) -> list[ast.stmt]:
        """``for t in it`` -> an index loop over it that can stop early."""
        setup, length, element = iteration_plan(stmt.iter, self.parsed, self.namer)
        index = self.namer.fresh("_k")
        n = self.namer.fresh("_n")
        out = [ast.copy_location(s, stmt) for s in setup]
        out.append(ast.copy_location(_set(n, length), stmt))
        out.append(ast.copy_location(_set(index, 0), stmt))
        test = ast.BoolOp(op=ast.And(), values=[
            ast.Compare(left=_name(index), ops=[ast.Lt()], comparators=[_name(n)]), _not_any(exits)])
        head = [ast.copy_location(ast.Assign(targets=[stmt.target], value=element(_name(index))), stmt),
                ast.copy_location(_set(index, ast.BinOp(left=_name(index), op=ast.Add(), right=ast.Constant(value=1))), stmt)]
        out.append(ast.copy_location(ast.While(test=test, body=head + (body or []), orelse=[]), stmt))
        return out


def _bind(namer: Namer, expr: ast.expr, base: str) -> tuple[str, ast.Assign]:
    var = namer.fresh(base)
    return var, _set(var, expr)


def _length_of(var: str) -> ast.Call:
    return ast.Call(func=_name("len"), args=[_name(var)], keywords=[])


def _item(var: str, index: ast.expr) -> ast.Subscript:
    return ast.Subscript(value=_name(var), slice=index, ctx=ast.Load())


def _as_sequence(arg: ast.expr) -> ast.Call:
    """What a loop over ``arg`` sees, indexable (a dict's keys, a zip's
    tuples, a generator read once)."""
    sequence = ast.Call(func=_name("as_sequence"), args=[arg], keywords=[])
    sequence.tangent_callee = as_sequence
    return sequence


def _sequence_plan(namer: Namer, sequence: ast.expr):
    var, setup = _bind(namer, sequence, "_seq")
    return [setup], _length_of(var), lambda k: _item(var, k)


def _zip_plan(args, parsed: ParsedFunction, namer: Namer, nested):
    """zip(a, b, ...): each argument read by index (or by its own plan
    when it is an enumerate or zip itself); the shortest length."""
    if not any(nested(a) for a in args):
        setups, names = [], []
        for arg in args:
            var, setup = _bind(namer, _as_sequence(arg), "_seq")
            setups.append(setup)
            names.append(var)
        lengths = [_length_of(v) for v in names]
        length = lengths[0] if len(lengths) == 1 else ast.Call(func=_name("min"), args=lengths, keywords=[])
        return setups, length, lambda k: ast.Tuple(elts=[_item(v, k) for v in names], ctx=ast.Load())
    plans = [iteration_plan(a, parsed, namer) if nested(a) else None for a in args]
    setups, lengths, elements = [], [], []
    for arg, plan in zip(args, plans):
        if plan is None:
            plan = _sequence_plan(namer, _as_sequence(arg))
        setups += plan[0]
        lengths.append(plan[1])
        elements.append(plan[2])
    length = ast.Call(func=_name("min"), args=lengths, keywords=[])
    return setups, length, lambda k: ast.Tuple(elts=[e(k) for e in elements], ctx=ast.Load())


def _enumerate_start(node: ast.Call) -> ast.expr | None:
    """The start of ``enumerate(seq)``, ``enumerate(seq, s)`` or
    ``enumerate(seq, start=s)`` (a Constant 0 for none); None for other calls."""
    starts = node.args[1:] + [kw.value for kw in node.keywords if kw.arg == "start"]
    if not node.args or len(node.args) > 2 or len(starts) > 1 or any(kw.arg != "start" for kw in node.keywords):
        return None
    return starts[0] if starts else ast.Constant(value=0)


def iteration_plan(iter_node: ast.expr, parsed: ParsedFunction, namer: Namer):
    """(setup statements, length expression, element(index) builder) for
    iterating ``iter_node`` by index: range, enumerate, zip, reversed, and
    anything with ``len`` and integer indexing (arrays, lists, tuples)."""
    callee = parsed.resolve(iter_node.func) if isinstance(iter_node, ast.Call) else UNRESOLVED
    if callee is checkpointed:  # (the loop has a break, continue or return: desugar handles the others)
        raise parsed.origin.error(TangentSyntaxError, iter_node, "a checkpointed loop cannot stop early "
                                  "(break, continue or return in it)", "use a plain range loop")
    args = iter_node.args if isinstance(iter_node, ast.Call) else []
    plain = not (isinstance(iter_node, ast.Call) and iter_node.keywords)

    def nested(arg):
        inner = parsed.resolve(arg.func) if isinstance(arg, ast.Call) else UNRESOLVED
        return inner in (builtins.enumerate, builtins.zip, builtins.reversed) and not arg.keywords \
            or inner is builtins.enumerate and _enumerate_start(arg) is not None

    if callee is builtins.enumerate and (start := _enumerate_start(iter_node)) is not None:
        # enumerate(zip(a, b)), enumerate(reversed(a)): the inner plan, its items numbered (from start)
        setups, length, element = iteration_plan(args[0], parsed, namer) if nested(args[0]) \
            else _sequence_plan(namer, _as_sequence(args[0]))
        if not (isinstance(start, ast.Constant) and start.value == 0):
            if not isinstance(start, ast.Constant):
                var, setup = _bind(namer, start, "_start")
                setups, start = setups + [setup], _name(var)
            number = start
            return setups, length, lambda k: ast.Tuple(elts=[ast.BinOp(left=k, op=ast.Add(), right=copy.deepcopy(
                number)), element(k)], ctx=ast.Load())
        return setups, length, lambda k: ast.Tuple(elts=[k, element(k)], ctx=ast.Load())
    if callee is builtins.zip and args and plain:
        return _zip_plan(args, parsed, namer, nested)
    if callee is builtins.reversed and len(args) == 1:
        backwards = ast.Subscript(value=args[0], slice=ast.Slice(lower=None, upper=None, step=ast.Constant(value=-1)),
                                  ctx=ast.Load())
        return _sequence_plan(namer, backwards)
    if callee is builtins.range:
        var, setup = _bind(namer, iter_node, "_range")
        return [setup], _length_of(var), lambda k: _item(var, k)
    # dicts iterate over their keys, generators once: read them into a sequence
    return _sequence_plan(namer, _as_sequence(iter_node))


def lower_control_flow(tree: ast.FunctionDef, parsed: ParsedFunction, namer: Namer) -> ast.FunctionDef:
    """Rewrite ``tree`` in place without break/continue/early return.

    Example::

        tree = lower_control_flow(tree, parsed, namer)
    """
    return ControlFlowLowering(parsed, namer).function(tree)
