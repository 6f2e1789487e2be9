"""Frozen ``scipy.stats`` distributions read as calls of the distributions'
functions, for which stats_rules.py has rules.

Takes a user function's tree (after controlflow.py, before desugar.py) and
its ParsedFunction; rewrites, in place,

* ``D(p...).m(x)`` to ``D.m(x, p...)`` for a distribution ``D`` of
  ``scipy.stats`` (``st.norm(loc, scale).logpdf(x)`` to
  ``st.norm.logpdf(x, loc, scale)``);
* ``dist = D(p...)`` followed by ``dist.m(x)``: the parameters are kept in
  variables named after ``dist`` (``dist_loc = ...``; a constant or an
  argument never reassigned is used as it stands), so ``dist.m(x)`` reads
  them as they were when the distribution was frozen;
* ``N.m(x)`` for a frozen distribution ``N`` held in a global: its
  distribution and parameters as attributes of ``N`` (constants).

for the methods taking a point first (``logpdf``, ``pdf``, ``cdf``,
``logcdf``, ``sf``, ``logsf``, ``logpmf``, ``pmf``, ``ppf``, ``isf``).
Anything else done with a frozen distribution (another method, passing one
to a function, assigning one twice) is refused naming the line. Never
imports SciPy: a function that names ``scipy.stats`` has imported it.
"""

from __future__ import annotations

import ast
import copy
import inspect
import sys

from ..errors import TangentSyntaxError

POINT_METHODS = {"logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "logpmf", "pmf", "ppf", "isf"}
_HINT = "call the distribution's function with the parameters, e.g. scipy.stats.norm.logpdf(x, loc, scale)"


def _stats():
    """scipy.stats when the user imported it, else None."""
    return sys.modules.get("scipy.stats")


def is_distribution(obj) -> bool:
    """A scipy.stats distribution (``st.norm``, ``st.multivariate_normal``)."""
    stats = _stats()
    if stats is None:
        return False
    generic = (stats.rv_continuous, stats.rv_discrete, stats._multivariate.multi_rv_generic)
    return isinstance(obj, generic)


def _is_frozen(obj) -> bool:
    stats = _stats()
    if stats is None:
        return False
    return isinstance(obj, (stats._distn_infrastructure.rv_frozen, stats._multivariate.multi_rv_frozen))


def parameter_names(dist) -> list[str]:
    """The parameters freezing ``dist`` takes, in order (``["a", "loc", "scale"]``
    for ``st.gamma``)."""
    stats = _stats()
    if isinstance(dist, (stats.rv_continuous, stats.rv_discrete)):
        shapes = [s.strip() for s in (dist.shapes or "").split(",") if s.strip()]
        return shapes + (["loc", "scale"] if isinstance(dist, stats.rv_continuous) else ["loc"])
    params = inspect.signature(dist.__call__).parameters.values()
    return [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]


def _frozen_parameters(node: ast.expr, frozen) -> list[ast.keyword]:
    """The parameters of a frozen distribution held in a global, as keywords
    reading attributes of ``node``."""
    def attr(base, *names):
        for name in names:
            base = ast.Attribute(value=base, attr=name, ctx=ast.Load())
        return base

    stats = _stats()
    if isinstance(frozen, stats._distn_infrastructure.rv_frozen):
        names = parameter_names(frozen.dist)
        keywords = [ast.keyword(arg=names[i], value=ast.Subscript(value=attr(node, "args"), slice=ast.Constant(i),
                                                                  ctx=ast.Load()))
                    for i in range(len(frozen.args))]
        keywords += [ast.keyword(arg=k, value=ast.Subscript(value=attr(node, "kwds"), slice=ast.Constant(k),
                                                            ctx=ast.Load())) for k in frozen.kwds]
        return keywords
    names = [n for n in parameter_names(frozen._dist) if n != "seed" and hasattr(frozen, n)]
    return [ast.keyword(arg=n, value=attr(node, n)) for n in names]


def _distribution_name(namespace, frozen) -> ast.expr | None:
    """An expression in the function's globals for the scipy.stats
    distribution ``frozen`` freezes (the rules are those of the module's
    objects; a frozen distribution holds a copy)."""
    stats = _stats()
    dist = getattr(frozen, "dist", getattr(frozen, "_dist", None))
    name = getattr(dist, "name", None) or type(dist).__name__.removesuffix("_gen")  # multivariate: no name
    public = getattr(stats, name, None)
    if public is None or type(public) is not type(dist):
        return None
    names = list(dict.keys(namespace)) + list(getattr(namespace, "globals", {}))
    items = [(key, namespace.get(key)) for key in names]  # read through the namespace: the cache records it
    for key, value in items:
        if value is public:
            return ast.Name(id=key, ctx=ast.Load())
    for key, value in items:
        if value is stats or value is sys.modules.get("scipy"):
            base = ast.Name(id=key, ctx=ast.Load())
            if value is not stats:
                base = ast.Attribute(value=base, attr="stats", ctx=ast.Load())
            return ast.Attribute(value=base, attr=name, ctx=ast.Load())
    return None


class _Unfreezer:
    def __init__(self, tree: ast.FunctionDef, parsed, namer):
        self.tree, self.parsed, self.namer = tree, parsed, namer
        self.stores: dict[str, int] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                self.stores[node.id] = self.stores.get(node.id, 0) + 1
        self.frozen: dict[str, tuple[ast.expr, list[ast.keyword]]] = {}  # local name -> (D, parameters)

    def error(self, node: ast.AST, message: str) -> TangentSyntaxError:
        return self.parsed.origin.error(TangentSyntaxError, node, message, _HINT)

    def distribution_call(self, node) -> bool:
        """``node`` is ``D(p...)`` for a distribution D."""
        return isinstance(node, ast.Call) and is_distribution(self.parsed.resolve(node.func)) \
            and not any(isinstance(a, ast.Starred) for a in node.args) and all(k.arg for k in node.keywords)

    def parameters(self, call: ast.Call) -> list[ast.keyword]:
        """The parameters of ``D(p...)`` as keywords (SciPy's names)."""
        names = parameter_names(self.parsed.resolve(call.func))
        if len(call.args) > len(names):
            raise self.error(call, "a frozen distribution with more parameters than it takes")
        keywords = [ast.keyword(arg=n, value=a) for n, a in zip(names, call.args)]
        return keywords + [k for k in call.keywords if k.arg not in ("seed", "random_state")]

    def point_call(self, node: ast.Call, dist: ast.expr, params: list[ast.keyword]) -> ast.Call:
        """``dist.m(x, **params)`` for ``frozen.m(x)``."""
        method = node.func.attr
        if method not in POINT_METHODS:
            raise self.error(node, f"the method .{method}() of a frozen scipy.stats distribution is not supported")
        args, keywords = list(node.args), list(node.keywords)
        if not args and len(keywords) == 1 and keywords[0].arg in ("x", "k", "q"):
            args, keywords = [keywords[0].value], []
        if len(args) != 1 or keywords or isinstance(args[0], ast.Starred):
            raise self.error(node, f"a frozen distribution's .{method}() takes the point only")
        call = ast.Call(func=ast.Attribute(value=copy.deepcopy(dist), attr=method, ctx=ast.Load()),
                        args=args, keywords=copy.deepcopy(params))
        return ast.copy_location(call, node)

    def hold(self, name: str, call: ast.Call, stmt: ast.Assign) -> list[ast.stmt]:
        """``name = D(p...)``: the parameters in variables of their own."""
        if self.stores.get(name, 0) != 1:
            raise self.error(stmt, f"{name!r} holds a frozen distribution and is assigned more than once")
        out, params = [], []
        for keyword in self.parameters(call):
            value = keyword.value
            if not (isinstance(value, ast.Constant) or isinstance(value, ast.Name) and not self.stores.get(value.id)):
                held = self.namer.fresh(f"{name}_{keyword.arg}")
                out.append(ast.copy_location(ast.Assign(targets=[ast.Name(id=held, ctx=ast.Store())], value=value),
                                             stmt))
                value = ast.Name(id=held, ctx=ast.Load())
            params.append(ast.keyword(arg=keyword.arg, value=value))
        self.frozen[name] = (call.func, params)
        return out

    def rewrite(self, node):
        """Rewrite the calls under ``node`` (children first) and the frozen
        distributions' assignments in statement lists."""
        held_receiver = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and isinstance(node.func.value, ast.Name) and node.func.value.id in self.frozen
        for field, value in ast.iter_fields(node):
            if held_receiver and field == "func":
                continue
            if isinstance(value, list):
                new = []
                for item in value:
                    if isinstance(item, ast.AST):
                        item = self.rewrite(item)
                    new.extend(item if isinstance(item, list) else [item])
                setattr(node, field, new)
            elif isinstance(value, ast.AST):
                setattr(node, field, self.rewrite(value))
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                and self.distribution_call(node.value):
            return self.hold(node.targets[0].id, node.value, node)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver = node.func.value
            if self.distribution_call(receiver):
                return self.point_call(node, receiver.func, self.parameters(receiver))
            if held_receiver:
                return self.point_call(node, *self.frozen[receiver.id])
            if isinstance(receiver, (ast.Name, ast.Attribute)) and _is_frozen(self.parsed.resolve(receiver)):
                frozen = self.parsed.resolve(receiver)
                dist = _distribution_name(self.parsed.namespace, frozen)
                if dist is None:
                    raise self.error(node, "a frozen distribution whose scipy.stats distribution the module does "
                                           "not name")
                return self.point_call(node, dist, _frozen_parameters(receiver, frozen))
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in self.frozen:
            raise self.error(node, f"{node.id!r} holds a frozen distribution: only its methods "
                                   f"{', '.join(sorted(POINT_METHODS))} can be called")
        return node


def unfreeze_distributions(tree: ast.FunctionDef, parsed, namer) -> ast.FunctionDef:
    """Rewrite the frozen distributions of ``tree`` in place (module doc); returns it.

    Example::

        # def f(x): return st.norm(1.0, 2.0).logpdf(x)
        unfreeze_distributions(tree, parse_function(f), Namer())
        # def f(x): return st.norm.logpdf(x, loc=1.0, scale=2.0)
    """
    if _stats() is None:
        return tree
    unfreezer = _Unfreezer(tree, parsed, namer)
    tree.body = [s for stmt in tree.body for s in _as_list(unfreezer.rewrite(stmt))]
    return tree


def _as_list(node) -> list:
    return node if isinstance(node, list) else [node]
