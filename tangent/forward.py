"""Forward mode: each statement followed by the statement computing its tangent.

Takes a function normalized to A-normal form (``normalize.normalize``) and
its analyses (``Differentiator``); gives, through ``ForwardMode.run``, the
body computing each value together with its tangent, the result atom and the
result's tangent expression (``transform.Session`` wraps them into a
``*_jvp`` function). A call of a primitive without a ``@tangent_rule``
raises NoDerivativeError; a call of a user function calls its generated
``*_jvp`` function. In-place writes are checked by ``check_mutations``
(``Differentiator``) before anything is generated.

For ``z = op(args)`` the forward rule of ``op`` gives ``dz`` from the tangents
of the active arguments; the tangents of inactive ones are zero and are
simplified away (``d[x] * y + x * d[y]`` becomes ``x * dy`` when only ``y``
varies; see ``forward_zeros``). Control flow is kept as it is: a tangent is
computed alongside the value it belongs to, so loops and branches need no
bookkeeping. Writes into containers are mirrored into their tangents
(``forward_containers``), and a tangent shares memory with another one only
where the values do (``ForwardMode.owned``).
"""

from __future__ import annotations

import ast
import builtins
import copy
import inspect
import operator
import types

import numpy as np

from . import ir, runtime
from .activity import differentiable_inputs, primitive_of, varied_names
from .aliases import ITEM_READS as _ITEM_READS
from .aliases import statically_fresh as _statically_fresh
from .aliases import view_source as _view_source
from .aliases import writes_in_place
from .astwalk import names_in, walk_list
from .calls import active_user_call
from .cfg import names_loaded
from .container_reads import assumed_containers
from .differentiator import Differentiator
from .errors import TangentError, TangentSyntaxError
from .forward_containers import ContainerTangents
from .forward_copies import adjacent_copies
from .forward_reuse import reuse_primal_calls
from .forward_zeros import covers_operands, negate_sequences, simplify_rule
from .frontend import ParsedFunction
from .ir import Kind, ZeroDerivative, name, store
from .kinds import described_kind, item_kinds
from .naming import Namer
from .rules.shape_values import Array, Struct
from .shapes import describe_kind, infer_shapes
from .sharing import written_alias_classes as _written_alias_classes
from .templates import instantiate


def _specialised(parsed: ParsedFunction, tree: ast.FunctionDef) -> tuple[dict | None, dict | None]:
    """For code specialised to its arguments' kinds (the gradient an hvp
    differentiates in turn records its key as ``tangent_argument_kinds``):
    the kinds of its parameters (of numbers and arrays, and of the items of
    containers whose items hold what the key says all through the function,
    ``container_reads.assumed_containers``) and the shapes of its variables
    (``shapes.infer_shapes``, None when they cannot be inferred); (None,
    None) for other functions."""
    key = getattr(inspect.unwrap(parsed.func), "tangent_argument_kinds", None) if parsed.origin.generated else None
    if not key:
        return None, None
    params = [a.arg for a in tree.args.posonlyargs + tree.args.args]
    described = {p: describe_kind(kind) for p, kind in zip(params, key)}
    arguments = {p: ("struct", d, None) for p, d in described.items() if isinstance(d, Struct)}
    kinds = {p: described_kind(d) for p, d in described.items() if isinstance(d, Array)}
    try:
        shapes = dict(infer_shapes(tree, {p: d for p, d in described.items() if isinstance(d, (Array, Struct))}))
    except TangentError:
        shapes = None
    return {**kinds, **item_kinds(assumed_containers(tree, arguments))}, shapes


def _zero_of_float(value: ast.expr, target: str, kinds: dict) -> ast.Name | None:
    """``y`` when ``value`` is ``zeros_like(y)`` of a float or an array of floats
    (kind "float") other than ``target``: the zero tangent of ``target`` is then
    ``zeros_like(y)``, the same value as ``zeros_like(target)``, and reading ``y``
    instead lets the optimizer drop ``target`` when only its tangent is read (the
    adjoint ``da`` of a gradient differentiated again; ``zeros_like`` of a bool
    or a string is None, of None 0.0, hence the kind)."""
    if not (isinstance(value, ast.Call) and ir.callee(value) is runtime.zeros_like and len(value.args) == 1
            and not value.keywords and isinstance(value.args[0], ast.Name)):
        return None
    like = value.args[0]
    return like if like.id != target and kinds.get(like.id) == "float" else None


def _as_written(callee, args: list, tangent_value: ast.expr) -> ast.expr:
    """The tangent a rule gave, as a person writes it: ``2.0 * (dx * x)`` for ``x * x``, and
    ``d_stack.pop()`` for the rule's ``d_stack.pop(-1)`` (its default index), as the program pops its stack."""
    if callee is operator.mul and len(args) == 2 and all(isinstance(a, ast.Name) for a in args) \
            and args[0].id == args[1].id:
        return _doubled(tangent_value)
    if callee is list.pop and isinstance(tangent_value, ast.Call) and not tangent_value.keywords \
            and [ast.dump(a) for a in tangent_value.args] == [ast.dump(ast.Constant(value=-1))]:
        tangent_value.args = []
    return tangent_value


class ForwardMode(ContainerTangents, Differentiator):
    """Differentiates one normalized function in forward mode.

    ``session`` provides ``bind_global`` and ``jvp_of(func, active) ->
    (name, {param: tangent keyword})`` for calls of the user's own functions.
    """

    # tangents alias exactly as values do, except through y += v, which the
    # derivative computes as y = y + v
    refuse_aliased_writes = "augmented"

    def __init__(self, session, parsed: ParsedFunction, tree: ast.FunctionDef, wrt: list[str], namer: Namer):
        kinds, shapes = _specialised(parsed, tree)
        super().__init__(session, parsed, tree, wrt, namer, argument_kinds=kinds, example_shapes=shapes)
        private = private_lists(tree)
        shared = _written_alias_classes(tree, self.analysis, private=private)
        if shared:
            # A value that shares memory with one written with a varied value
            # has a tangent from the start, aliased as the values are, so that
            # the write into one tangent reaches the others (``z = y`` then
            # ``y[0] = x``: the write changes z).
            self.analysis.varied = varied_names(self.analysis.cfg, set(wrt), frozenset(shared))
        self.ever_varied = set(wrt).union(*self.analysis.varied.values())
        self.zeros_like = session.bind_global("zeros_like", runtime.zeros_like)
        self.broadcast_tangent = session.bind_global("broadcast_tangent", runtime.broadcast_tangent)
        # Forward mode mirrors the program's in-place writes into tangents, so
        # in a function that writes in place a tangent must share memory with
        # another one only where the values do (see ``owned``).
        # (Appends to and pops from private lists write into nothing a
        # tangent could share: the tangent list is the only one written.)
        self.writes_in_place = writes_in_place(tree, private)

    def zeros(self, atom: ast.expr) -> ast.expr:
        """``zeros_like(atom)``: the zero tangent of ``atom``'s value."""
        return ast.Call(func=name(self.zeros_like), args=[copy.deepcopy(atom)], keywords=[])

    def tangent_of_atom(self, atom: ast.expr, stmt) -> ast.expr:
        """The tangent of ``atom`` at ``stmt``: its tangent's name if it
        varies there, else a zero marker (see ``forward_zeros``)."""
        if isinstance(atom, ast.Name) and self.analysis.is_varied(atom.id, stmt):
            return self.tangent_name(atom.id)
        return ZeroDerivative(copy.deepcopy(atom))

    def tangent_name(self, var: str) -> ast.Name:
        """A load of ``var``'s tangent, marked as a tangent for the simplifier."""
        ref = name(self.d(var))
        ir.annotate(ref, ref=True)
        return ref

    # ------------------------------------------------------------ blocks
    def block(self, stmts) -> list[ast.stmt]:
        """``stmts`` with each statement followed by the ones computing the
        tangents it changes; control flow kept as it is."""
        out: list[ast.stmt] = []
        for stmt in stmts:
            match ir.kind_or_none(stmt):
                case Kind.ASSIGN | Kind.POP:
                    out += self.assign(stmt)
                case Kind.IF:
                    out.append(ast.copy_location(ast.If(
                        test=stmt.test, body=self.block(stmt.body) or [ast.Pass()], orelse=self.block(stmt.orelse)), stmt))
                case Kind.FOR:
                    out.append(ast.copy_location(ast.For(
                        target=stmt.target, iter=stmt.iter, body=self.block(stmt.body) or [ast.Pass()], orelse=[]), stmt))
                case Kind.WHILE:
                    out.append(ast.copy_location(
                        ast.While(test=stmt.test, body=self.block(stmt.body) or [ast.Pass()], orelse=[]), stmt))
                case Kind.HOOK:
                    pass  # hooks run in the backward pass only
                case _:
                    out.append(stmt)
                    out += self.write_tangent(stmt)
        return out

    def assign(self, stmt: ast.Assign) -> list[ast.stmt]:
        """``x = value`` and the assignment of ``dx`` (zero when nothing
        ``value`` reads varies)."""
        target = stmt.targets[0].id
        value = stmt.value
        loaded = names_loaded(value)
        varied = [n for n in differentiable_inputs(value) if self.analysis.is_varied(n, stmt)]
        self.mark_pure_calls([stmt])  # (a result only the tangents' code read goes when they do not)
        if not varied:
            out = [stmt]
            if target in self.ever_varied:
                like = _zero_of_float(value, target, ir.get(self.tree, "kinds", {})) or name(target)
                out.append(ast.copy_location(ast.Assign(targets=[store(self.d(target))], value=self.zeros(like)), stmt))
                self.mark_pure_calls(out[-1:])
            return out
        sub = self.subroutine(stmt, target)
        if sub is not None:
            return sub
        # When the target is also an input, compute into a temporary first so
        # that the tangent rule still sees the inputs' old values.
        result = target
        if target in loaded:
            result = self.namer.fresh("_" + target)
        primal = ast.copy_location(ast.Assign(targets=[store(result)], value=value), stmt)
        tangent_code, tangent_value = self.tangent(stmt, value, result)
        out = [primal] + tangent_code
        dtarget = self.d(target)
        if tangent_value is None:
            tangent_value = self.zeros(name(result))
        elif self.writes_in_place:
            tangent_value = self.owned(stmt, value, result, tangent_value, tangent_code)
        out.append(ast.copy_location(ast.Assign(targets=[store(dtarget)], value=tangent_value), stmt))
        self.mark_pure_calls(tangent_code + out[-1:])
        if result != target:
            out.append(ast.copy_location(ast.Assign(targets=[store(target)], value=name(result)), stmt))
        return out

    def tangent(self, stmt, value, result):
        """(statements, tangent expression or None for zero) of ``result = value``."""
        if isinstance(value, (ast.Name, ast.Tuple, ast.List, ast.Dict)):
            return [], self.structure_tangent(value, stmt)
        callee, args, keywords = primitive_of(value)
        if callee is None:
            raise self.error(TangentSyntaxError, stmt, f"cannot differentiate {ast.unparse(value)!r}")
        rule = self.rule_for(stmt, callee, args, keywords, "tangent", name(result))
        template, bound, result_param = rule.template, rule.bound, rule.result_param

        def derivative(param):
            atom = bound.get(param)
            if isinstance(atom, ast.Tuple) and param != result_param:  # *args: a tuple of tangents
                return ast.Tuple(elts=[self.tangent_or_zeros(e, stmt) for e in atom.elts], ctx=ast.Load())
            if isinstance(atom, ast.Name) and param != result_param and self.analysis.is_varied(atom.id, stmt):
                return self.tangent_name(atom.id)
            return None

        raw = instantiate(template, bound, derivative, self.namer, self.session.bind_global, callee)
        code, tangent_value = self.rule_result(template, bound, raw, result)
        return code, _as_written(callee, args, tangent_value)

    def rule_result(self, template, bound: dict, raw: list[ast.stmt], result: str):
        """(statements, tangent expression or None for zero) of the
        instantiated forward rule ``raw`` for ``result = op(...)``: zero
        terms simplified away, and the tangent broadcast to ``result`` when
        a dropped term may have been what broadcast it."""
        code, tangent_value, dropped = simplify_rule(raw, self.zeros_like)
        kinds = ir.get(self.tree, "kinds", {})
        sequences = {self.derivative_names[v] for v, k in kinds.items() if k == "seq" and v in self.derivative_names}
        if sequences:
            code, tangent_value = negate_sequences(code, tangent_value, sequences, self.session.bind_global("np", np))
        if dropped is not None and tangent_value is not None and not covers_operands(
                template, bound, [tangent_value, *code], self.derivative_names):
            keywords = [ast.keyword(arg="at_end", value=ast.Constant(value=True))] if dropped == "right" else []
            tangent_value = ast.Call(func=name(self.broadcast_tangent), args=[tangent_value, name(result)],
                                     keywords=keywords)
        for node in [n for part in [tangent_value, *code] if part is not None for n in walk_list(part)]:
            _direct_sum(node, self.session)
        return code, tangent_value

    # ------------------------------------------------------------ dead tangents
    def mark_pure_calls(self, stmts) -> None:
        """Annotate ``pure_call`` on the calls in these assignments whose callee certainly has no side
        effects (NumPy, math, Tangent's runtime and rules; the array methods of ``_PURE_METHODS``), so that
        the optimizer drops a value nobody reads (``d_x = zeros_like(x)`` overwritten before it is read).
        Other calls (user functions, ``append``/``pop`` on tangents, ``add_at``) stay."""
        for stmt in stmts:
            if not (isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Name) for t in stmt.targets)):
                continue
            for node in walk_list(stmt.value):
                if isinstance(node, ast.Call) and self.pure_callee(node.func):
                    ir.annotate(node, pure_call=True)

    def pure_callee(self, func: ast.expr) -> bool:
        if isinstance(func, ast.Attribute):
            root = func.value
            if isinstance(root, ast.Name) and isinstance(self.session.namespace.get(root.id), types.ModuleType):
                return _pure_function(getattr(self.session.namespace[root.id], func.attr, None))
            return func.attr in _PURE_METHODS
        # (the builtin abs: in the power rule's exponent)
        return isinstance(func, ast.Name) and _pure_function(self.session.namespace.get(func.id, _BUILTIN_PURE.get(func.id)))

    # ------------------------------------------------------------ sharing memory
    def only_fresh(self, var: str, code, seen=None) -> bool:
        """Whether every assignment to ``var`` in ``code`` builds a new value."""
        seen = (seen or set()) | {var}
        helpers = {self.zeros_like, self.session.bind_global("copy_tangent", runtime.copy_tangent),
                   self.session.bind_global("fresh_tangent", runtime.fresh_tangent)}
        for node in (n for stmt in code for n in walk_list(stmt)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
                node, (ast.For, ast.AugAssign, ast.AnnAssign, ast.NamedExpr)) else []
            if not any(isinstance(t, ast.Name) and t.id == var or not isinstance(t, (ast.Name, ast.Subscript, ast.Attribute))
                       and var in {n.id for n in ast.walk(t) if isinstance(n, ast.Name)} for t in targets):
                continue
            value = getattr(node, "value", None)
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and isinstance(value, ast.Name) \
                    and value.id not in seen and value.id not in self.incoming.values():
                if not self.only_fresh(value.id, code, seen):
                    return False
                continue
            if not isinstance(node, ast.Assign) or not (self.fresh(value) or isinstance(value, ast.Call)
                                                         and getattr(value.func, "id", None) in helpers):
                return False
        return True

    def fresh(self, tangent: ast.expr) -> bool:
        """Whether the tangent expression certainly builds a new value."""
        return _statically_fresh(tangent, self.zeros_like, self.broadcast_tangent, self.session.namespace)

    def owned(self, stmt, value, result, tangent, code):
        """The tangent of ``result = value`` sharing memory with other
        tangents only where ``result`` shares memory with other values.

        Reads of items and attributes and plain copies of names alias in
        both; views (reshape, asarray) may or may not, so ``view_tangent``
        decides at run time; any other operation makes a new value, whose
        tangent is copied when it is (``x + c`` has the tangent ``dx``) or
        may be (``np.asarray(dx)``) a tangent it was computed from.
        """
        if isinstance(value, (ast.Name, ast.Subscript)) or self.fresh(tangent):
            return tangent
        callee = ir.callee(value)
        if callee in _ITEM_READS:
            return tangent
        source = _view_source(value)
        if source is not None:
            if not self.analysis.is_varied(source, stmt):
                return tangent
            helper = self.session.bind_global("view_tangent", runtime.view_tangent)
            return ast.Call(func=name(helper), args=[tangent, name(result), name(source), name(self.d(source))],
                            keywords=[])
        if ir.get(tangent, "ref", False) and isinstance(tangent, ast.Name):
            helper = self.session.bind_global("copy_tangent", runtime.copy_tangent)
            return ast.Call(func=name(helper), args=[tangent], keywords=[])
        sources = sorted({n.id for part in [tangent, *code] for n in ast.walk(part)
                          if isinstance(n, ast.Name) and ir.get(n, "ref", False)
                          and n.id in self.derivative_names.values()})
        if not sources:
            return tangent
        helper = self.session.bind_global("fresh_tangent", runtime.fresh_tangent)
        return ast.Call(func=name(helper), args=[tangent] + [name(s) for s in sources], keywords=[])

    def subroutine(self, stmt, target) -> list[ast.stmt] | None:
        """``target, dtarget = f_jvp(..., d<param>=...)`` for a call of a user
        function with active arguments; None for any other statement."""
        value = stmt.value
        binding = active_user_call(self, stmt)
        if binding is None:
            return None
        fname, tangent_params = self.session.jvp_of(binding.callee, tuple(binding.active), self.origin, stmt,
                                                    static=binding.static, types=binding.types)
        keywords = copy.deepcopy(value.keywords)
        for param in binding.active:
            keywords.append(ast.keyword(arg=tangent_params[param], value=name(self.d(binding.bindings[param].id))))
        new_call = ast.Call(func=name(fname), args=copy.deepcopy(binding.args), keywords=keywords)
        targets = ast.Tuple(elts=[store(target), store(self.d(target))], ctx=ast.Store())
        out = [ast.copy_location(ast.Assign(targets=[targets], value=new_call), stmt)]
        if self.writes_in_place:
            # the callee's result may be a view of an argument, or a new
            # value whose tangent is an argument's tangent
            pairs = []
            for param in binding.active:
                atom = binding.bindings[param].id
                pairs += [name(atom), name(self.d(atom))]
            helper = self.session.bind_global("view_tangent", runtime.view_tangent)
            check = ast.Call(func=name(helper), args=[name(self.d(target)), name(target)] + pairs, keywords=[])
            out.append(ast.copy_location(ast.Assign(targets=[store(self.d(target))], value=check), stmt))
        return out

    def returned_tangent(self, tangent: ast.expr) -> ast.expr:
        """The tangent the derivative returns, never the caller's own
        tangent vector (or a view of it)."""
        if self.fresh(tangent) or isinstance(tangent, ast.Name) and tangent.id not in self.incoming.values() \
                and self.only_fresh(tangent.id, self.code):
            return tangent
        helper = self.session.bind_global("fresh_tangent", runtime.fresh_tangent)
        return ast.Call(func=name(helper), args=[tangent] + [name(self.incoming[p]) for p in self.wrt], keywords=[])

    def run(self):
        """Returns (body, result atom, tangent of the result)."""
        body = self.tree.body
        ret = body[-1]
        code = []
        args = self.tree.args
        for param in args.posonlyargs + args.args + args.kwonlyargs:
            # a parameter that only becomes active later (in a loop) starts with a zero tangent
            if param.arg not in self.wrt and param.arg in self.ever_varied:
                code.append(ast.Assign(targets=[store(self.d(param.arg))], value=self.zeros(name(param.arg))))
        # the caller's tangent vectors, for ``returned_tangent``, also when
        # the body rebinds a parameter (``u = u.copy()``)
        assigned = {n.id for n in names_in(self.tree) if isinstance(n.ctx, ast.Store)}
        self.incoming = {}
        for param in self.wrt:
            self.incoming[param] = self.d(param)
            if param in assigned:
                self.incoming[param] = self.namer.fresh(self.d(param) + "_in")
                code.append(ast.Assign(targets=[store(self.incoming[param])], value=name(self.d(param))))
        code += self.block(body[:-1])
        _shortcuts(self, code)
        self.code = code
        result = ret.value
        if isinstance(result, ast.Name) and self.analysis.is_varied(result.id, ret):
            tangent = name(self.d(result.id))
        else:
            tangent = self.zeros(result)
        return code, result, tangent




def _shortcuts(mode: ForwardMode, code: list[ast.stmt]) -> None:
    """With optimization on: each call of a pure module function (``np.sin``,
    ``math.cos``) a tangent shares with a primal statement computed once
    (``forward_reuse``), and the copies of temporaries put next to them for
    the optimizer to merge (``forward_copies``)."""
    if not getattr(mode.session, "optimized", True):
        return

    def of_module(func: ast.expr) -> bool:
        return isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
            and isinstance(mode.session.namespace.get(func.value.id), types.ModuleType)

    def pure(func: ast.expr) -> bool:  # (no method: a user's object may have a method named sum or copy)
        return (isinstance(func, ast.Name) or of_module(func)) and mode.pure_callee(func)

    reuse_primal_calls(code, pure, lambda func: of_module(func) and mode.pure_callee(func))
    adjacent_copies(code)


def _direct_sum(node, session) -> None:
    """``np.sum(dx, axis=a, keepdims=k)`` -> ``sum_tangent(dx, axis=a,
    keepdims=k)``: the same sum through ``np.add.reduce``, without np.sum's
    Python-level dispatch, which costs as much as the sum itself on small
    arrays. Only NumPy's own ``sum`` of one tangent, with no other keywords
    (dtype, initial, where, out stay np.sum's)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "sum"
            and isinstance(node.func.value, ast.Name) and session.namespace.get(node.func.value.id) is np
            and len(node.args) == 1 and ir.get(node.args[0], "ref", False)
            and all(k.arg in ("axis", "keepdims") for k in node.keywords)):
        return
    node.func = name(session.bind_global("sum_tangent", runtime.sum_tangent))
    ir.annotate(node, callee=runtime.sum_tangent)


def _doubled(tangent):
    """``dx * x + x * dx`` (the tangent of ``x * x`` on numbers or arrays)
    -> ``2.0 * (dx * x)``: the same sum, exactly, one operation fewer."""
    if isinstance(tangent, ast.BinOp) and isinstance(tangent.op, ast.Add) \
            and all(isinstance(t, ast.BinOp) and isinstance(t.op, ast.Mult) for t in (tangent.left, tangent.right)):
        left, right = tangent.left, tangent.right
        if ast.dump(left.left) == ast.dump(right.right) and ast.dump(left.right) == ast.dump(right.left):
            return ast.BinOp(left=ast.Constant(value=2.0), op=ast.Mult(), right=left)
    return tangent


_PURE_MODULES = ("numpy", "math", "tangent.runtime", "tangent.rules", "scipy.special")
_IMPURE = {runtime.add_at, np.copyto, np.put, np.place, np.putmask}
_PURE_METHODS = frozenset({"sum", "reshape", "transpose", "astype", "copy", "conj", "conjugate", "ravel",
                           "squeeze", "swapaxes", "mean", "dot", "max", "min", "prod"})


_BUILTIN_PURE = {"abs": builtins.abs}


def _pure_function(value) -> bool:
    """Whether calling ``value`` certainly has no side effects."""
    if isinstance(value, np.ufunc) or value is builtins.abs:
        return True
    module = getattr(value, "__module__", None) or ""
    return callable(value) and not isinstance(value, type) and value not in _IMPURE \
        and module.startswith(_PURE_MODULES) and "random" not in module


def private_lists(tree: ast.FunctionDef) -> frozenset[str]:
    """Local lists that no other name can hold: each use of the name is
    ``x = []``, ``x.append(v)`` or ``v = x.pop()`` (the tape of a generated
    gradient). Appending to one changes that list only, not its items.

    Example: in ``s = []; s.append(h); h = s.pop()``, ``s`` is private."""
    params = {a.arg for a in tree.args.posonlyargs + tree.args.args + tree.args.kwonlyargs}
    if tree.args.vararg or tree.args.kwarg:
        return frozenset()
    allowed: set[int] = set()  # ids of the Name nodes in the allowed uses
    for node in walk_list(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                and isinstance(node.value, ast.List) and not node.value.elts:
            allowed.add(id(node.targets[0]))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name) and not node.keywords and (
                    node.func.attr == "append" and len(node.args) == 1 or node.func.attr == "pop" and not node.args):
            allowed.add(id(node.func.value))
    found: dict[str, bool] = {}
    for node in walk_list(tree):
        if isinstance(node, ast.Name):
            found[node.id] = found.get(node.id, True) and id(node) in allowed
    created = {t.id for node in walk_list(tree) if isinstance(node, ast.Assign)
               for t in node.targets if isinstance(t, ast.Name) and id(t) in allowed}
    return frozenset(n for n, ok in found.items() if ok and n in created and n not in params)


__all__ = ["ForwardMode"]
