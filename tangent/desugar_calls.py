"""Desugaring of calls: star-arguments, function values, and the builtins that take functions.

Part of desugar.py's pass (its ``Desugar`` is the ``owner`` every function
here takes). Gives calls in the form the rest of desugaring reads:

* ``f(*seq)`` and ``f(**d)`` with the items spelled out, when they are known
  when differentiating: ``seq`` a tuple or list display, or a name bound to
  one (``owner.known``, forgotten as soon as the name is used otherwise);
  or, for a callee of the user's with a fixed number of parameters, read by
  index from the sequence (with defaults: one call per length it accepts,
  chosen by ``len(seq)``); into the ``*args`` of a function inlined, a tuple
  built at run time; ``zip(*pairs)`` becomes a comprehension transposing it;
* ``[*a, b]`` becomes ``list(a) + [b]``; ``a, *b = seq`` item assignments;
* ``{**d, "k": v}`` a display, or a dict filled from ``d``'s keys;
* (function values: function_values.py);
* ``map``, ``filter``, ``sorted(..., key=...)`` become comprehensions (the
  sort's permutation comes from the primal: ``sort_order`` is not
  differentiated), ``dict(a=...)`` a display, ``d.items()`` / ``.values()``
  / ``.keys()`` comprehensions over the keys, ``d.get(k, v)`` of a dict of
  known keys the item or the default, of another local dict (an argument)
  ``d[k] if k in d else v``.

Refusals (an unknown number of items, a function value passed where it
cannot be inlined) are raised naming the user's line.
"""

from __future__ import annotations

import ast
import builtins
import copy
import functools
import inspect
import types

import numpy as np

from .frontend import UNRESOLVED
from .runtime.sequences import keys_of, sort_order

_DICT_VIEWS = ("items", "values", "keys")


def _name(id_: str, ctx=None) -> ast.Name:
    return ast.Name(id=id_, ctx=ctx or ast.Load())


def _item(value: ast.expr, key) -> ast.Subscript:
    return ast.Subscript(value=copy.deepcopy(value), slice=ast.Constant(value=key), ctx=ast.Load())


def _call(func: ast.expr, *args: ast.expr) -> ast.Call:
    return ast.Call(func=func, args=list(args), keywords=[])


def _assign(target: ast.expr | str, value: ast.expr) -> ast.Assign:
    target = _name(target, ast.Store()) if isinstance(target, str) else target
    return ast.Assign(targets=[target], value=value)


# ------------------------------------------------------------ known sizes
def note_known(owner, target: ast.expr, value: ast.expr) -> None:
    """After ``target = value``: remember the items of a display."""
    if not isinstance(target, ast.Name):
        return
    if isinstance(value, (ast.Tuple, ast.List)) and not any(isinstance(e, ast.Starred) for e in value.elts):
        owner.known[target.id] = ("seq", len(value.elts))
    elif isinstance(value, ast.Dict) and all(isinstance(k, ast.Constant) and isinstance(k.value, str)
                                             for k in value.keys):
        owner.known[target.id] = ("dict", tuple(k.value for k in value.keys))


def forget(owner, stmt: ast.stmt) -> None:
    """Forget what is known of the names ``stmt`` rebinds, mutates or lets
    escape (anything but reading items, ``len``, unpacking, iterating)."""
    if not owner.known:
        return
    allowed: set[int] = set()
    for node in ast.walk(stmt):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) or isinstance(node, ast.Starred):
            allowed.add(id(node.value))
        elif isinstance(node, ast.keyword) and node.arg is None:
            allowed.add(id(node.value))
        elif isinstance(node, ast.Dict):
            allowed.update(id(v) for k, v in zip(node.keys, node.values) if k is None)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in _DICT_VIEWS + ("get",):
            allowed.add(id(node.func.value))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len":
            allowed.update(id(a) for a in node.args)
        elif isinstance(node, (ast.For, ast.comprehension)):
            allowed.add(id(node.iter))
    for node in ast.walk(stmt):
        if isinstance(node, ast.Name) and node.id in owner.known \
                and (id(node) not in allowed or not isinstance(node.ctx, ast.Load)):
            del owner.known[node.id]


def sequence_items(owner, value: ast.expr) -> list[ast.expr] | None:
    """The items of ``value`` when known: a display, or a name bound to one."""
    if isinstance(value, (ast.Tuple, ast.List)) and not any(isinstance(e, ast.Starred) for e in value.elts):
        return list(value.elts)
    known = owner.known.get(value.id) if isinstance(value, ast.Name) else None
    if known is not None and known[0] == "seq":
        return [_item(value, k) for k in range(known[1])]
    return None


def mapping_items(owner, value: ast.expr) -> list[tuple[str, ast.expr]] | None:
    """The (key, value) pairs of ``value`` when its keys are known strings."""
    if isinstance(value, ast.Dict) and all(isinstance(k, ast.Constant) and isinstance(k.value, str) for k in value.keys):
        return [(k.value, v) for k, v in zip(value.keys, value.values)]
    if isinstance(value, ast.Call) and owner.parsed.resolve(value.func) is builtins.dict and not value.args \
            and all(kw.arg for kw in value.keywords):
        return [(kw.arg, kw.value) for kw in value.keywords]
    known = owner.known.get(value.id) if isinstance(value, ast.Name) else None
    if known is not None and known[0] == "dict":
        return [(k, _item(value, k)) for k in known[1]]
    return None


def _parameters(owner, node: ast.Call) -> tuple[list[str], int, bool] | None:
    """(positional parameter names, how many of them have defaults, whether
    it takes ``*args``) of the callee of ``node``, when a function of the user's."""
    func = node.func
    if isinstance(func, ast.Name) and func.id in owner.local_functions:
        args = owner.local_functions[func.id].args
        return [a.arg for a in args.posonlyargs + args.args], len(args.defaults), args.vararg is not None
    callee = owner.parsed.resolve(func)
    if not isinstance(callee, types.FunctionType):
        return None
    params = inspect.signature(callee).parameters.values()
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return ([p.name for p in positional], len([p for p in positional if p.default is not p.empty]),
            any(p.kind is p.VAR_POSITIONAL for p in params))


def _inlined(owner, node: ast.Call) -> bool:
    """Whether the call is of a nested function or a function of the user's
    (inlined where it is called when it takes ``*args``)."""
    from .function_values import inlinable  # (function_values builds on this module)
    func = node.func
    return isinstance(func, ast.Name) and func.id in owner.local_functions or inlinable(owner, owner.parsed.resolve(func))


def _positional_arity(owner, node: ast.Call) -> tuple[int, int] | None:
    """(fewest, most) positional arguments the callee of ``node`` takes
    beyond its keywords, when it is a function of the user's without ``*args``."""
    found = _parameters(owner, node)
    if found is None or found[2]:
        return None
    names, defaulted, _ = found
    keywords = {kw.arg for kw in node.keywords}
    most = len([n for n in names if n not in keywords])
    fewest = len([n for n in names[:len(names) - defaulted] if n not in keywords])
    return fewest, most


def _by_length(owner, node: ast.Call, k: int, seq: str, lengths: range) -> ast.expr:
    """The call with ``*seq`` (its ``k``-th argument) spelled out for each
    length the callee accepts: ``f(s[0]) if len(s) == 1 else f(s[0], s[1])``."""
    def spelled(n: int) -> ast.Call:
        call = copy.deepcopy(node)
        call.args = call.args[:k] + [_item(_name(seq), i) for i in range(n)] + call.args[k + 1:]
        return call
    value: ast.expr = spelled(lengths[-1])
    for n in reversed(lengths[:-1]):
        test = ast.Compare(left=_call(owner.builtin("len"), _name(seq)), ops=[ast.Eq()],
                           comparators=[ast.Constant(value=n)])
        value = ast.IfExp(test=test, body=spelled(n), orelse=value)
    return value


def expand_call(owner, node: ast.Call) -> tuple[list[ast.stmt], ast.expr]:
    """(statements, call) with ``*seq`` and ``**d`` spelled out (see module
    doc); the expression may be a comprehension (``zip(*pairs)``)."""
    if not any(isinstance(a, ast.Starred) for a in node.args) and all(kw.arg for kw in node.keywords):
        return [], node
    setup: list[ast.stmt] = []
    args: list[ast.expr] = []
    dispatch = None
    for k, arg in enumerate(node.args):
        if not isinstance(arg, ast.Starred):
            args.append(arg)
            continue
        items = sequence_items(owner, arg.value)
        if items is None and owner.parsed.resolve(node.func) is builtins.zip and len(node.args) == 1 \
                and not node.keywords:
            return transposed(owner, arg.value)
        params = _parameters(owner, node) if items is None else None
        if params is not None and params[2] and len(args) >= len(params[0]) and _inlined(owner, node):
            args.append(arg)  # into the *args of a function inlined: a tuple built at run time
            continue
        if items is None:
            arity = _positional_arity(owner, node)
            if arity is None or any(isinstance(a, ast.Starred) for a in node.args[k + 1:]):
                raise owner.error(node, f"the number of items in *{owner.user_text(arg.value)} is not known when "
                                  "differentiating", "pass the items explicitly, or build the sequence in the "
                                  "function as a tuple or list display")
            seq = owner.local("args")
            setup += owner.statement(owner.at(_assign(seq, arg.value)))
            others = len(node.args) - 1
            lengths = range(max(arity[0] - others, 0), arity[1] - others + 1)
            if len(lengths) > 1:  # the callee has defaults: which it takes depends on the length
                dispatch = (len(args), seq, lengths)
                args.append(arg)
                continue
            items = [_item(_name(seq), i) for i in range(arity[1] - others)]
        args.extend(items)
    keywords: dict[str, ast.keyword] = {}
    for kw in node.keywords:
        if kw.arg is not None:
            keywords[kw.arg] = kw
            continue
        pairs = mapping_items(owner, kw.value)
        if pairs is None:
            raise owner.error(node, f"the keys of **{owner.user_text(kw.value)} are not known when differentiating",
                              "pass the keywords explicitly, or build the dict in the function with constant keys")
        for key, value in pairs:  # (later keywords win: a partial's are overridden by the call's)
            keywords[key] = ast.keyword(arg=key, value=value)
    node.args, node.keywords = args, list(keywords.values())
    if dispatch is not None:
        return setup, _by_length(owner, node, *dispatch)
    return setup, node


def transposed(owner, value: ast.expr) -> tuple[list[ast.stmt], ast.expr]:
    """``zip(*rows)`` of an unknown number of rows: the list of its tuples."""
    rows = owner.local("rows")
    setup = owner.statement(owner.at(_assign(rows, value)))
    row, j, other = owner.temp("row"), owner.temp("j"), owner.temp("row")
    text = (f"[tuple([{row}[{j}] for {row} in {rows}]) for {j} in "
            f"range(min([len({other}) for {other} in {rows}]) if len({rows}) > 0 else 0)]")
    return setup, ast.parse(text, mode="eval").body


def starred_display(owner, node: ast.List | ast.Tuple) -> ast.expr:
    """``[*a, b]`` -> ``list(a) + [b]`` (items spliced in when known);
    a tuple display -> ``tuple(...)`` of that."""
    parts: list[ast.expr] = []
    run: list[ast.expr] = []
    for elt in node.elts:
        items = sequence_items(owner, elt.value) if isinstance(elt, ast.Starred) else [elt]
        if items is not None:
            run += items
            continue
        if run:
            parts.append(ast.List(elts=run, ctx=ast.Load()))
            run = []
        parts.append(_call(owner.builtin("list"), elt.value))
    if run or not parts:
        parts.append(ast.List(elts=run, ctx=ast.Load()))
    if len(parts) == 1 and isinstance(parts[0], ast.List):
        return ast.Tuple(elts=parts[0].elts, ctx=ast.Load()) if isinstance(node, ast.Tuple) else parts[0]
    value = parts[0]
    for part in parts[1:]:
        value = ast.BinOp(left=value, op=ast.Add(), right=part)
    return _call(owner.builtin("tuple"), value) if isinstance(node, ast.Tuple) else value


def unpacked_dict(owner, node: ast.Dict) -> tuple[list[ast.stmt], ast.expr]:
    """``{**d, "k": v}``: (statements, expression). A display when the keys
    of every ``**`` part are known strings; else a dict filled in order by a
    loop over each unpacked dict's keys (``keys_of``) and item assignments."""
    pairs: dict[str, ast.expr] = {}
    for key, value in zip(node.keys, node.values):
        found = mapping_items(owner, value) if key is None else \
            [(key.value, value)] if isinstance(key, ast.Constant) and isinstance(key.value, str) else None
        if found is None:
            break
        for k, v in found:  # (a later key's value wins; the key keeps its first position, as in Python)
            pairs[k] = v
    else:
        return [], ast.Dict(keys=[ast.Constant(value=k) for k in pairs], values=list(pairs.values()))
    result = owner.local("dict")
    stmts: list[ast.stmt] = [owner.at(_assign(result, ast.Dict(keys=[], values=[])))]
    for key, value in zip(node.keys, node.values):
        if key is not None:
            stmts.append(owner.at(_assign(ast.Subscript(value=_name(result), slice=key, ctx=ast.Store()), value)))
            continue
        source, k = value, owner.local("key")
        if not isinstance(value, ast.Name):
            source = _name(owner.local("mapping"))
            stmts.append(owner.at(_assign(source.id, value)))
        fill = owner.at(_assign(ast.Subscript(value=_name(result), slice=_name(k), ctx=ast.Store()), _item(source, 0)))
        fill.value.slice = _name(k)
        stmts.append(owner.at(ast.For(target=_name(k, ast.Store()), iter=_call(_name(owner.global_name(
            "keys_of", keys_of)), copy.deepcopy(source)), body=[fill], orelse=[])))
    return owner.body(stmts), _name(result)


def starred_assignment(owner, target: ast.Tuple | ast.List, value: ast.expr) -> list[ast.stmt]:
    """``a, *b, c = value`` as assignments of its items (``b`` a list); also
    a target with a starred one nested in it (``i, (a, *b) = value``)."""
    elts = target.elts
    k = next((i for i, e in enumerate(elts) if isinstance(e, ast.Starred)), None)
    after = len(elts) - k - 1 if k is not None else 0
    items = sequence_items(owner, value)
    out: list[ast.stmt] = []
    if items is not None:
        if len(items) < len(elts) - (k is not None) or k is None and len(items) != len(elts):
            raise owner.error(value, f"not enough values to unpack (expected at least {len(elts) - 1}, got {len(items)})")
        pieces = items if k is None else \
            items[:k] + [ast.List(elts=items[k:len(items) - after], ctx=ast.Load())] + items[len(items) - after:]
    elif k is None:
        seq = owner.local("items")
        out += owner.statement(owner.at(_assign(seq, value)))
        pieces = [_item(_name(seq), i) for i in range(len(elts))]
    else:
        seq = owner.local("items")
        out += owner.statement(owner.at(_assign(seq, value)))
        rest = ast.Subscript(value=_name(seq), slice=ast.Slice(lower=ast.Constant(value=k) if k else None,
                                                               upper=ast.Constant(value=-after) if after else None,
                                                               step=None), ctx=ast.Load())
        pieces = ([_item(_name(seq), i) for i in range(k)] + [_call(owner.builtin("list"), rest)]
                  + [_item(_name(seq), i - after) for i in range(after)])
    for elt, piece in zip(elts, pieces):
        elt = elt.value if isinstance(elt, ast.Starred) else elt
        out += owner.statement(owner.at(_assign(elt, piece)))
    return out


def global_function(owner, value: ast.expr):
    """The function a name or attribute chain denotes, if it is a function
    (not a class, not a local value)."""
    if not isinstance(value, (ast.Name, ast.Attribute)):
        return None
    found = owner.parsed.resolve(value)
    if found is UNRESOLVED or isinstance(found, type) or not callable(found) or isinstance(found, np.ndarray):
        return None
    return found


# ------------------------------------------------ builtins taking functions
def _applied(owner, fn: ast.expr, *args: ast.expr) -> ast.Call:
    return _call(copy.deepcopy(fn), *args)


def _function_argument(owner, node: ast.Call, fn: ast.expr, what: str) -> ast.expr:
    if isinstance(fn, ast.Name) and fn.id in owner.local_functions or global_function(owner, fn) is not None:
        return fn
    raise owner.error(node, f"cannot tell which function {what} is given: {owner.user_text(fn)}",
                      "pass a lambda, a nested function or a function defined at module level")


def _comprehension(elt: ast.expr, targets: list[str], iters: list[ast.expr], ifs=()) -> ast.ListComp:
    if len(iters) == 1:
        target, it = _name(targets[0], ast.Store()), iters[0]
    else:
        target = ast.Tuple(elts=[_name(t, ast.Store()) for t in targets], ctx=ast.Store())
        it = _call(_name("zip"), *iters)
    return ast.ListComp(elt=elt, generators=[ast.comprehension(target=target, iter=it, ifs=list(ifs), is_async=0)])


def rewrite_call(owner, node: ast.Call, callee) -> tuple[list[ast.stmt], ast.expr] | None:
    """map/filter/sorted/dict(...), max/min(xs, key=k), dict views and
    ``get``: (statements, the expression to desugar instead), or None."""
    func = node.func
    if isinstance(func, ast.Attribute) and callee is UNRESOLVED and not node.keywords:
        found = _dict_method(owner, node)
        return None if found is None else ([], found)
    if isinstance(callee, functools.partial):  # a partial object made outside the function
        keywords = {k: ast.keyword(arg=k, value=_name(owner.global_name(k, v))) for k, v in callee.keywords.items()}
        keywords.update({kw.arg: kw for kw in node.keywords})
        hint = getattr(callee.func, "__name__", "function")
        return [], ast.Call(func=_name(owner.global_name(hint, callee.func)),
                            args=[_name(owner.global_name("arg", a)) for a in callee.args] + node.args,
                            keywords=list(keywords.values()))
    if callee is builtins.dict and not node.args and all(kw.arg for kw in node.keywords):
        return [], ast.Dict(keys=[ast.Constant(value=kw.arg) for kw in node.keywords],
                            values=[kw.value for kw in node.keywords])
    if callee is builtins.map and len(node.args) >= 2 and not node.keywords:
        fn = _function_argument(owner, node, node.args[0], "map")
        names = [owner.temp("item") for _ in node.args[1:]]
        return [], _comprehension(_applied(owner, fn, *map(_name, names)), names, node.args[1:])
    if callee is builtins.filter and len(node.args) == 2 and not node.keywords:
        v = owner.temp("item")
        fn = node.args[0]
        test = _name(v) if isinstance(fn, ast.Constant) and fn.value is None \
            else _applied(owner, _function_argument(owner, node, fn, "filter"), _name(v))
        return [], _comprehension(_name(v), [v], [node.args[1]], [test])
    if callee is builtins.sorted and len(node.args) == 1:
        return _sorted(owner, node)
    if callee in (builtins.max, builtins.min) and len(node.args) == 1 and [kw.arg for kw in node.keywords] == ["key"]:
        # max(xs, key=k): the first item of sorted(xs, key=k, reverse=True) (stable: the first largest)
        ordered = ast.Call(func=node.func, args=node.args, keywords=node.keywords + [
            ast.keyword(arg="reverse", value=ast.Constant(value=callee is builtins.max))])
        setup, items = _sorted(owner, ordered)
        return setup, ast.Subscript(value=items, slice=ast.Constant(value=0), ctx=ast.Load())
    return None


def loop_over_dict_view(owner, stmt: ast.For) -> None:
    """``for k, v in d.items():`` -> ``for k in keys_of(d): v = d[k]``
    (likewise ``.values()``, ``.keys()``), in place."""
    it = stmt.iter
    if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Attribute) and it.func.attr in _DICT_VIEWS
            and not it.args and not it.keywords and isinstance(it.func.value, ast.Name)
            and it.func.value.id not in owner.parsed.types and owner.parsed.resolve(it.func) is UNRESOLVED):
        return
    receiver, view = it.func.value, it.func.attr
    stmt.iter = _call(_name(owner.global_name("keys_of", keys_of)), copy.deepcopy(receiver))
    if view == "keys":
        return
    key = owner.local("key")
    item = _item(receiver, 0)
    item.slice = _name(key)
    if view == "values":
        heads = [_assign(stmt.target, item)]
    elif isinstance(stmt.target, (ast.Tuple, ast.List)) and len(stmt.target.elts) == 2 \
            and isinstance(stmt.target.elts[0], ast.Name):  # the key is the loop variable itself
        key = stmt.target.elts[0].id
        item.slice = _name(key)
        heads = [_assign(stmt.target.elts[1], item)]
    else:  # (a key in a tuple with a value would be read as carrying a derivative)
        heads = [_assign(stmt.target, ast.Tuple(elts=[_name(key), item], ctx=ast.Load()))]
    stmt.body = [ast.copy_location(h, stmt) for h in heads] + stmt.body
    stmt.target = _name(key, ast.Store())


def rewritten_iterable(owner, node: ast.Call, callee) -> bool:
    """Whether a loop's iterable ``node`` is a call rewritten here."""
    return any(isinstance(a, ast.Starred) for a in node.args) or any(kw.arg is None for kw in node.keywords) \
        or callee in (builtins.map, builtins.filter, builtins.sorted, builtins.dict) \
        or isinstance(node.func, ast.Attribute) and node.func.attr in _DICT_VIEWS and callee is UNRESOLVED \
        or not isinstance(node.func, (ast.Name, ast.Attribute))


def _dict_method(owner, node: ast.Call) -> ast.expr | None:
    func = node.func
    receiver = func.value
    if isinstance(receiver, ast.Name) and receiver.id in owner.parsed.types:
        return None  # a method of a user class
    if func.attr == "get" and 1 <= len(node.args) <= 2:
        known = mapping_items(owner, receiver) if isinstance(receiver, ast.Name) else None
        key = node.args[0]
        default = node.args[1] if len(node.args) == 2 else ast.Constant(value=None)
        if known is not None and isinstance(key, ast.Constant):
            found = dict(known).get(key.value)
            return found if found is not None else default
        if isinstance(receiver, ast.Name) and receiver.id in owner.parsed.local_names \
                and (isinstance(key, ast.Constant) or isinstance(key, ast.Name) and key.id in owner.parsed.local_names):
            # a dict whose keys are known at run time: d[k] if k in d else default
            test = ast.Compare(left=copy.deepcopy(key), ops=[ast.In()], comparators=[copy.deepcopy(receiver)])
            return ast.IfExp(test=test, body=ast.Subscript(value=copy.deepcopy(receiver), slice=copy.deepcopy(key),
                                                           ctx=ast.Load()), orelse=default)
        return None
    if func.attr not in _DICT_VIEWS or node.args or not isinstance(receiver, ast.Name):
        return None
    k = owner.temp("key")
    elt = {"keys": _name(k), "values": _item(receiver, 0),
           "items": ast.Tuple(elts=[_name(k), _item(receiver, 0)], ctx=ast.Load())}[func.attr]
    for sub in ast.walk(elt):
        if isinstance(sub, ast.Subscript):
            sub.slice = _name(k)
    return _comprehension(elt, [k], [_call(_name(owner.global_name("keys_of", keys_of)), copy.deepcopy(receiver))])


def _sorted(owner, node: ast.Call):
    """``sorted(xs, key=k, reverse=r)`` -> the items of ``xs`` in the order
    ``sort_order`` finds from the keys (not differentiated)."""
    keywords = {kw.arg: kw.value for kw in node.keywords}
    if set(keywords) - {"key", "reverse"}:
        return None
    items = owner.local("items")
    setup = owner.statement(owner.at(_assign(items, _call(owner.builtin("list"), node.args[0]))))
    v, i = owner.temp("item"), owner.temp("i")
    key = keywords.get("key")
    keys: ast.expr = _name(items)
    if key is not None and not (isinstance(key, ast.Constant) and key.value is None):
        keys = _comprehension(_applied(owner, _function_argument(owner, node, key, "sorted"), _name(v)), [v],
                              [_name(items)])
    order = ast.Call(func=_name(owner.global_name("sort_order", sort_order)),
                     args=[keys, keywords.get("reverse", ast.Constant(value=False))], keywords=[])
    result = _comprehension(ast.Subscript(value=_name(items), slice=_name(i), ctx=ast.Load()), [i], [order])
    return setup, result

