"""Forward mode: each statement followed by the statement computing its tangent.

For ``z = op(args)`` the forward rule of ``op`` gives ``dz`` from the tangents
of the active arguments; the tangents of inactive ones are zero and are
simplified away (``d[x] * y + x * d[y]`` becomes ``x * dy`` when only ``y``
varies). Control flow is kept as it is: a tangent is computed alongside the
value it belongs to, so loops and branches need no bookkeeping. Calls of the
user's own functions call their generated ``*_jvp`` function.
"""

from __future__ import annotations

import ast
import builtins
import copy

import numpy as np

from . import rules, runtime
from .analysis import (
    active_user_call,
    differentiable_inputs,
    is_setitem,
    names_loaded,
    primitive_of,
    varied_names,
    written_region,
)
from .astwalk import FastTransformer, names_in, walk_list
from .differentiator import Differentiator
from .errors import NoDerivativeError, TangentSyntaxError
from .frontend import ParsedFunction
from .naming import Namer
from .normalize import GradHook
from .reverse import describe_callee, name, store
from .runtime import restore_region
from .templates import Accumulate, ZeroDerivative, instantiate

_ZERO = ZeroDerivative


def _zero(node) -> bool:
    return isinstance(node, ZeroDerivative)


class ZeroSimplifier(FastTransformer):
    """Propagates zero tangents through sums and products.

    Dropping the zero term of a sum can lose the shape the result gets from
    broadcasting (``x1 - x0`` with ``x1`` of shape (2, 3) and only ``x0``
    of shape (3,) varying has the tangent ``-dx0``, of shape (3,)), so the
    simplifier records where it dropped a term (``dropped``: "left" when the
    left term was kept, "right" when the right one was) and the forward rule's
    result is then broadcast to the primal result (``broadcast_tangent``).
    """

    def __init__(self):
        self.dropped = None

    def _drop(self, kept_side):
        if self.dropped is None:
            self.dropped = kept_side

    def visit_BinOp(self, node):
        self.generic_visit(node)
        left, right = _zero(node.left), _zero(node.right)
        if isinstance(node.op, ast.Add):
            if left and right:
                return node.left
            if left:
                self._drop("right")
                return node.right
            if right:
                self._drop("left")
                return node.left
        elif isinstance(node.op, ast.Sub):
            if left and right:
                return node.left
            if right:
                self._drop("left")
                return node.left
            if left:
                self._drop("left")  # (sequences have no "-": only broadcasting matters)
                return ast.UnaryOp(op=ast.USub(), operand=node.right)
        elif isinstance(node.op, (ast.Mult, ast.MatMult)):
            if left:
                return node.left
            if right:
                return node.right
        elif isinstance(node.op, ast.Div) and left:
            return node.left
        return node

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, (ast.USub, ast.UAdd)) and _zero(node.operand):
            return node.operand
        return node

    def visit_IfExp(self, node):
        self.generic_visit(node)
        if _zero(node.body) and _zero(node.orelse):
            return node.body
        return node

    def visit_Subscript(self, node):
        self.generic_visit(node)
        if _zero(node.value):
            return node.value
        return node

    def visit_Attribute(self, node):
        self.generic_visit(node)
        if _zero(node.value):
            return node.value
        return node

    def visit_Call(self, node):
        # Forward rules are linear in the tangents: a call whose only tangent
        # argument is zero is zero.
        self.generic_visit(node)
        values = list(node.args) + [k.value for k in node.keywords]
        if any(_zero(v) for v in values) and not any(_has_tangent(v) for v in values):
            return ZeroDerivative()
        return node


def _has_tangent(node) -> bool:
    return any(getattr(n, "tangent_ref", False) for n in ast.walk(node))


def simplify_zeros(expr: ast.expr, zeros_like: str, simplifier: ZeroSimplifier | None = None) -> ast.expr | None:
    """``expr`` with zero tangents simplified; None when it is zero."""
    expr = (simplifier or ZeroSimplifier()).visit(expr)
    if _zero(expr):
        return None

    class Materialize(ast.NodeTransformer):
        def visit_ZeroDerivative(self, node):
            like = node.like if node.like is not None else ast.Constant(value=0.0)
            return ast.Call(func=name(zeros_like), args=[like], keywords=[])

    return Materialize().visit(expr)


class ForwardMode(Differentiator):
    """Differentiates one normalized function in forward mode.

    ``session`` provides ``bind_global`` and ``jvp_of(func, active) ->
    (name, {param: tangent keyword})`` for calls of the user's own functions.
    """

    # tangents alias exactly as values do, except through y += v, which the
    # derivative computes as y = y + v
    refuse_aliased_writes = "augmented"

    def __init__(self, session, parsed: ParsedFunction, tree: ast.FunctionDef, wrt: list[str], namer: Namer):
        super().__init__(session, parsed, tree, wrt, namer)
        shared = _written_alias_classes(tree, self.analysis)
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
        self.writes_in_place = _writes_in_place(tree)

    def zeros(self, atom: ast.expr) -> ast.expr:
        return ast.Call(func=name(self.zeros_like), args=[copy.deepcopy(atom)], keywords=[])

    def tangent_of_atom(self, atom: ast.expr, stmt) -> ast.expr:
        if isinstance(atom, ast.Name) and self.analysis.is_varied(atom.id, stmt):
            return self.tangent_name(atom.id)
        return ZeroDerivative(copy.deepcopy(atom))

    def tangent_name(self, var: str) -> ast.Name:
        ref = name(self.d(var))
        ref.tangent_ref = True
        return ref

    # ------------------------------------------------------------ blocks
    def block(self, stmts) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for stmt in stmts:
            if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
                out += self.assign(stmt)
            elif is_setitem(stmt):
                out.append(stmt)
                var, index, _ = written_region(stmt)
                if var in self.ever_varied:
                    tangent = simplify_zeros(self.tangent_of_atom(stmt.value, stmt), self.zeros_like)
                    region = ast.Subscript(value=name(self.d(var)), slice=copy.deepcopy(index), ctx=ast.Store())
                    value = tangent if tangent is not None else self.zeros(stmt.value)
                    out.append(ast.copy_location(ast.Assign(targets=[region], value=value), stmt))
            elif isinstance(stmt, ast.If):
                out.append(ast.copy_location(
                    ast.If(test=stmt.test, body=self.block(stmt.body) or [ast.Pass()], orelse=self.block(stmt.orelse)), stmt))
            elif isinstance(stmt, ast.For):
                out.append(ast.copy_location(
                    ast.For(target=stmt.target, iter=stmt.iter, body=self.block(stmt.body) or [ast.Pass()], orelse=[]), stmt))
            elif isinstance(stmt, ast.While):
                out.append(ast.copy_location(
                    ast.While(test=stmt.test, body=self.block(stmt.body) or [ast.Pass()], orelse=[]), stmt))
            elif isinstance(stmt, GradHook):
                continue  # backward-pass only
            elif isinstance(stmt, ast.Expr) and getattr(stmt.value, "tangent_callee", None) is restore_region:
                out.append(stmt)
                var = stmt.value.args[0]
                if isinstance(var, ast.Name) and var.id in self.ever_varied:
                    old = simplify_zeros(self.tangent_of_atom(stmt.value.args[2], stmt), self.zeros_like)
                    old = old if old is not None else self.zeros(stmt.value.args[2])
                    mirror = ast.Call(func=copy.deepcopy(stmt.value.func),
                                      args=[name(self.d(var.id)), copy.deepcopy(stmt.value.args[1]), old], keywords=[])
                    out.append(ast.copy_location(ast.Expr(value=mirror), stmt))
            elif isinstance(stmt, ast.Expr) and getattr(stmt.value, "tangent_callee", None) is list.append:
                out.append(stmt)
                lst = stmt.value.func.value
                if lst.id in self.ever_varied:
                    item = simplify_zeros(self.tangent_of_atom(stmt.value.args[0], stmt), self.zeros_like)
                    item = item if item is not None else self.zeros(stmt.value.args[0])
                    append = ast.Call(func=ast.Attribute(value=name(self.d(lst.id)), attr="append", ctx=ast.Load()),
                                      args=[item], keywords=[])
                    out.append(ast.copy_location(ast.Expr(value=append), stmt))
            else:
                out.append(stmt)
        return out

    def assign(self, stmt: ast.Assign) -> list[ast.stmt]:
        target = stmt.targets[0].id
        value = stmt.value
        loaded = names_loaded(value)
        varied = [n for n in differentiable_inputs(value) if self.analysis.is_varied(n, stmt)]
        if not varied:
            out = [stmt]
            if target in self.ever_varied:
                out.append(ast.copy_location(ast.Assign(targets=[store(self.d(target))], value=self.zeros(name(target))), stmt))
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
        if result != target:
            out.append(ast.copy_location(ast.Assign(targets=[store(target)], value=name(result)), stmt))
        return out

    def tangent(self, stmt, value, result):
        """(statements, tangent expression or None for zero) of ``result = value``."""
        if isinstance(value, ast.Name):
            return [], simplify_zeros(self.tangent_of_atom(value, stmt), self.zeros_like)
        if isinstance(value, (ast.Tuple, ast.List)):
            elts = []
            for elt in value.elts:
                t = simplify_zeros(self.tangent_of_atom(elt, stmt), self.zeros_like)
                elts.append(t if t is not None else self.zeros(elt))
            return [], (ast.Tuple if isinstance(value, ast.Tuple) else ast.List)(elts=elts, ctx=ast.Load())
        if isinstance(value, ast.Dict):
            values = []
            for elt in value.values:
                t = simplify_zeros(self.tangent_of_atom(elt, stmt), self.zeros_like)
                values.append(t if t is not None else self.zeros(elt))
            return [], ast.Dict(keys=copy.deepcopy(value.keys), values=values)
        callee, args, keywords = primitive_of(value)
        if callee is None:
            raise self.error(TangentSyntaxError, stmt, f"cannot differentiate {ast.unparse(value)!r}")
        template = rules.lookup_tangent(callee)
        if template is None:
            label = describe_callee(callee)
            raise self.error(NoDerivativeError, stmt, f"no forward-mode rule for {label}",
                             f"register one with @tangent.tangent_rule({label.split('.')[-1]})")
        try:
            bound = template.bind(args, keywords, self.session.bind_global)
        except TypeError as e:
            raise self.error(TangentSyntaxError, stmt, f"cannot match the call to the rule {template}: {e}") from None
        result_param = next(iter(template.signature.parameters))
        bound[result_param] = name(result)

        def derivative(param):
            atom = bound.get(param)
            if isinstance(atom, ast.Tuple) and param != result_param:  # *args: a tuple of tangents
                elts = [simplify_zeros(self.tangent_of_atom(e, stmt), self.zeros_like) or self.zeros(e) for e in atom.elts]
                return ast.Tuple(elts=elts, ctx=ast.Load())
            if isinstance(atom, ast.Name) and param != result_param and self.analysis.is_varied(atom.id, stmt):
                return self.tangent_name(atom.id)
            return None

        raw = instantiate(template, bound, derivative, self.namer, self.session.bind_global, callee)
        code, tangent_value = [], None
        zero_locals: set[str] = set()
        simplifier = ZeroSimplifier()
        for item in raw:
            item = _substitute_zero_names(item, zero_locals)
            if isinstance(item, Accumulate):
                tangent_value = simplify_zeros(item.value, self.zeros_like, simplifier)
            elif (isinstance(item, ast.Assign) and len(item.targets) == 1 and isinstance(item.targets[0], ast.Name)
                  and _has_tangent(item.value) | _has_zero(item.value)):
                value = ZeroSimplifier().visit(item.value)
                if _zero(value):
                    zero_locals.add(item.targets[0].id)
                    continue
                _mark_tangent(item.targets[0].id, raw)
                code.append(simplify_statement(item, self.zeros_like, simplifier))
            else:
                code.append(simplify_statement(item, self.zeros_like, simplifier))
        code, tangent_value = self._negate_sequences(code, tangent_value)
        if simplifier.dropped is not None and tangent_value is not None and not self._covers_operands(
                template, bound, [tangent_value, *code]):
            # a dropped zero term may have been what broadcast the result
            keywords = [ast.keyword(arg="at_end", value=ast.Constant(value=True))] if simplifier.dropped == "right" else []
            tangent_value = ast.Call(func=name(self.broadcast_tangent), args=[tangent_value, name(result)],
                                     keywords=keywords)
        return code, tangent_value

    def _negate_sequences(self, code, tangent_value):
        """``-t`` of the tangent of a list or tuple (an operand of arithmetic
        with an array: ``arr - [a, b]``) as ``np.negative(t)``: Python lists
        have no ``-``, NumPy reads them as arrays."""
        kinds = getattr(self.tree, "tangent_kinds", {})
        sequences = {self.derivative_names[v] for v, k in kinds.items() if k == "seq" and v in self.derivative_names}
        if not sequences:
            return code, tangent_value
        np_name = self.session.bind_global("np", np)

        class Negate(ast.NodeTransformer):
            def visit_UnaryOp(self, node):
                self.generic_visit(node)
                if isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Name) and node.operand.id in sequences:
                    func = ast.Attribute(value=name(np_name), attr="negative", ctx=ast.Load())
                    return ast.Call(func=func, args=[node.operand], keywords=[])
                return node

        code = [Negate().visit(stmt) for stmt in code]
        if tangent_value is not None:
            tangent_value = Negate().visit(tangent_value)
        return code, tangent_value

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

    def _covers_operands(self, template, bound, code) -> bool:
        """Whether what is left of a rule after dropping zero terms still
        involves every operand (by its value or its tangent), so that it
        keeps the shape they broadcast to (``dx1 * x2`` of ``x1 * x2``, but
        not ``-dx0`` of ``x1 - x0``)."""
        operands = set()
        for param in template.differentiable_params:
            atom = bound.get(param)
            for node in (atom.elts if isinstance(atom, ast.Tuple) else [atom]):
                if isinstance(node, ast.Name):
                    operands.add(node.id)
                elif node is not None and not isinstance(node, ast.Constant):
                    return False
        primal_of = {d: v for v, d in self.derivative_names.items()}
        mentioned = set()
        for part in code:
            for n in ast.walk(part):
                if isinstance(n, ast.Name):
                    mentioned.add(primal_of.get(n.id, n.id) if getattr(n, "tangent_ref", False) else n.id)
        return operands <= mentioned

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
        callee = getattr(value, "tangent_callee", None)
        if callee in _ITEM_READS:
            return tangent
        source = _view_source(value)
        if source is not None:
            if not self.analysis.is_varied(source, stmt):
                return tangent
            helper = self.session.bind_global("view_tangent", runtime.view_tangent)
            return ast.Call(func=name(helper), args=[tangent, name(result), name(source), name(self.d(source))],
                            keywords=[])
        if getattr(tangent, "tangent_ref", False) and isinstance(tangent, ast.Name):
            helper = self.session.bind_global("copy_tangent", runtime.copy_tangent)
            return ast.Call(func=name(helper), args=[tangent], keywords=[])
        sources = sorted({n.id for part in [tangent, *code] for n in ast.walk(part)
                          if isinstance(n, ast.Name) and getattr(n, "tangent_ref", False)
                          and n.id in self.derivative_names.values()})
        if not sources:
            return tangent
        helper = self.session.bind_global("fresh_tangent", runtime.fresh_tangent)
        return ast.Call(func=name(helper), args=[tangent] + [name(s) for s in sources], keywords=[])

    def subroutine(self, stmt, target):
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
        self.code = code
        result = ret.value
        if isinstance(result, ast.Name) and self.analysis.is_varied(result.id, ret):
            tangent = name(self.d(result.id))
        else:
            tangent = self.zeros(result)
        return code, result, tangent


# Operations whose result is part of their input in the value and in the
# tangent alike (an item of a list, an attribute, a popped item, the
# argument max() picks).
_ITEM_READS = (runtime.attribute, list.pop, builtins.max, builtins.min)


def _view_functions():
    from .analysis import _view_functions as views

    return views()


_VIEWS = None


def _view_source(value: ast.expr) -> str | None:
    """The variable whose memory the result of ``value`` may share: views,
    and copies that ``copy=False`` (or None) turns into views."""
    global _VIEWS
    if _VIEWS is None:
        _VIEWS = _view_functions() | {np.array, np.ndarray.astype, np.copy}
    callee = getattr(value, "tangent_callee", None)
    if callee is None or callee not in _VIEWS:
        return None
    if callee in (np.array, np.ndarray.astype, np.copy):
        copies = [k.value for k in getattr(value, "keywords", []) if k.arg == "copy"]
        if not copies or isinstance(copies[0], ast.Constant) and copies[0].value is True:
            return None  # always a copy
    if isinstance(value, ast.Attribute):
        return value.value.id if isinstance(value.value, ast.Name) else None
    if getattr(value, "tangent_method", False):
        return value.func.value.id if isinstance(value.func.value, ast.Name) else None
    args = getattr(value, "args", [])
    return args[0].id if args and isinstance(args[0], ast.Name) else None


# NumPy functions (besides ufuncs) whose result is always a new array or scalar.
_NEW_ARRAY_FUNCTIONS = {getattr(np, n) for n in (
    "sum", "mean", "prod", "cumsum", "cumprod", "dot", "matmul", "where", "outer", "inner", "tensordot",
    "einsum", "concatenate", "stack", "hstack", "vstack", "tile", "repeat", "sort", "trace", "zeros",
    "zeros_like", "ones_like", "full", "var", "std", "max", "min", "amax", "amin", "clip", "roll", "flip",
    "fliplr", "flipud", "cross", "kron", "diff")}


def _statically_fresh(tangent: ast.expr, zeros_like: str, broadcast_tangent: str, namespace=None) -> bool:
    """Whether the tangent expression certainly builds a new value."""
    if isinstance(tangent, (ast.BinOp, ast.UnaryOp, ast.Constant, ast.List, ast.Tuple, ast.Dict)):
        return True
    if isinstance(tangent, ast.Call) and isinstance(tangent.func, ast.Attribute) and namespace is not None \
            and isinstance(tangent.func.value, ast.Name) and namespace.get(tangent.func.value.id) is np:
        function = getattr(np, tangent.func.attr, None)
        if isinstance(function, np.ufunc) or function in _NEW_ARRAY_FUNCTIONS:
            return True
    if isinstance(tangent, ast.Call) and getattr(tangent.func, "id", None) == broadcast_tangent and tangent.args:
        # it copies only what it broadcasts
        return _statically_fresh(tangent.args[0], zeros_like, broadcast_tangent, namespace)
    return (isinstance(tangent, ast.Call) and isinstance(tangent.func, ast.Name)
            and tangent.func.id == zeros_like)


def _written_alias_classes(tree: ast.FunctionDef, analysis) -> set[str]:
    """The variables that may share memory (through copies of names, item
    reads, views, containers holding them and calls) with a variable that
    is written in place with a varied value."""
    from .analysis import _alias_source
    from .analysis import _view_functions as views_of

    parent: dict[str, str] = {}

    def find(a):
        while parent.setdefault(a, a) != a:
            a = parent[a]
        return a

    def union(a, b):
        parent[find(a)] = find(b)

    def names(node):
        return [n.id for n in walk_list(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]

    views = views_of()
    written = set()
    for stmt in walk_list(tree):
        if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
            target, value = stmt.targets[0].id, stmt.value
            source = _alias_source(value, views)
            if source is not None:
                union(target, source)
            elif isinstance(value, (ast.List, ast.Tuple, ast.Dict, ast.Attribute)):
                for n in names(value):
                    union(target, n)
            elif isinstance(value, ast.Call) and not rules.is_nondifferentiable(getattr(value, "tangent_callee", None)):
                callee = getattr(value, "tangent_callee", None)
                if callee in _ITEM_READS or callee is None or rules.lookup_tangent(callee) is None:
                    # a user function may return a view of an argument (the
                    # function itself is no argument: h(a) does not alias h)
                    operands = value.args + [k.value for k in value.keywords]
                    if isinstance(value.func, ast.Attribute):
                        operands.append(value.func.value)  # a method's receiver
                    for n in [n for operand in operands for n in names(operand)]:
                        union(target, n)
        elif isinstance(stmt, ast.stmt) and is_setitem(stmt):
            var = written_region(stmt)[0]
            for n in names(stmt.value):
                union(var, n)
            if names_loaded(stmt.value) & analysis.varied.get(id(stmt), set()):
                written.add(var)
        elif isinstance(stmt, ast.Expr) and getattr(stmt.value, "tangent_callee", None) in (list.append, restore_region):
            call = stmt.value
            var = call.func.value.id if call.tangent_callee is list.append else getattr(call.args[0], "id", None)
            item = call.args[0] if call.tangent_callee is list.append else call.args[2]
            if var is None:
                continue
            if call.tangent_callee is list.append:
                for n in names(item):
                    union(var, n)
            if names_loaded(item) & analysis.varied.get(id(stmt), set()):
                written.add(var)
    roots = {find(v) for v in written}
    return {v for v in list(parent) if find(v) in roots} - _integer_names(tree)


def _integer_names(tree: ast.FunctionDef) -> set[str]:
    """Names that only ever hold integers (loop counters over ranges, lengths,
    int constants): they share no memory and have no tangent."""
    ranges, ints, others = set(), set(), set()
    for node in walk_list(tree):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            target, value = node.targets[0].id, node.value
            callee = getattr(value, "tangent_callee", None)
            if callee is range:
                ranges.add(target)
            elif callee is len or (isinstance(value, ast.Constant) and type(value.value) is int):
                ints.add(target)
            else:
                others.add(target)
    for node in walk_list(tree):
        if isinstance(node, ast.For) and isinstance(node.target, ast.Name):
            it = node.iter
            if (isinstance(it, ast.Name) and it.id in ranges) or getattr(it, "tangent_callee", None) is range:
                ints.add(node.target.id)
            else:
                others.add(node.target.id)
    return ints - others


def _writes_in_place(tree: ast.FunctionDef) -> bool:
    """Whether the function writes into an array, list, dict or object."""
    for node in walk_list(tree):
        if isinstance(node, ast.stmt) and is_setitem(node):
            return True
        if isinstance(node, ast.AugAssign) and isinstance(node.target, (ast.Subscript, ast.Attribute)):
            return True
        callee = getattr(node, "tangent_callee", None)
        if callee in (list.append, list.pop, list.extend, list.insert, list.remove, list.clear, list.sort,
                      list.reverse, dict.update, dict.pop, dict.setdefault, restore_region):
            return True
    return False


def _has_zero(node) -> bool:
    return any(isinstance(n, ZeroDerivative) for n in ast.walk(node))


def _substitute_zero_names(stmt, zero_names: set[str]):
    """Template locals that turned out zero become zero markers."""
    if not zero_names:
        return stmt

    class Sub(ast.NodeTransformer):
        def visit_Name(self, node):
            if node.id in zero_names and isinstance(node.ctx, ast.Load):
                return ZeroDerivative()
            return node

    return Sub().visit(stmt)


def _mark_tangent(var: str, stmts) -> None:
    """Loads of a template local computed from tangents count as tangents."""
    for stmt in stmts:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and node.id == var and isinstance(node.ctx, ast.Load):
                node.tangent_ref = True


def simplify_statement(stmt, zeros_like, simplifier: ZeroSimplifier | None = None):
    class Fix(ast.NodeTransformer):
        def visit_ZeroDerivative(self, node):
            like = node.like if node.like is not None else ast.Constant(value=0.0)
            return ast.Call(func=name(zeros_like), args=[like], keywords=[])

    (simplifier or ZeroSimplifier()).visit(stmt)
    return Fix().visit(stmt)


__all__ = ["ForwardMode"]
