"""Call and method resolution: which live object a call or attribute refers to.

Takes names already resolved by the frontend (``ParsedFunction.resolve``) and
the classes known for local values (``ParsedFunction.types``); gives the
callee the derivative rules are looked up by (``tangent_callee``) and whether
it is called as a method (``tangent_method``: the receiver is its first
argument). Refusals are raised as ``Unresolvable(message, hint)`` for the
caller to locate in the user's source.

Assumes the value of a local whose class is unknown is a NumPy array (or,
for ``append``/``pop``, a list): numeric code holds arrays, and a value's
type is only known at run time.
"""

from __future__ import annotations

import ast
import builtins
import copy
import dis
import inspect
import textwrap
import types
import weakref

import numpy as np

from . import ir, rules
from .errors import TangentSyntaxError
from .frontend import UNRESOLVED, ParsedFunction
from .runtime.checkpointing import checkpoint, checkpointed

# Methods and attributes of local values are resolved on numpy.ndarray.
ARRAY_TYPE = np.ndarray
# Methods that mutate a local list (the stack of generated reverse code, or a
# user's list being built).
LIST_METHODS = {"append": list.append, "pop": list.pop}
_IMPURE_NUMPY = ("copyto", "put", "place", "putmask", "fill_diagonal", "seterr", "save", "savez", "savetxt")


class Unresolvable(Exception):
    """A call or method that cannot be resolved: message and hint."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.hint = hint


def checkpointed_function(parsed: ParsedFunction, func: ast.expr) -> ast.expr | None:
    """The ``g`` of a call ``tangent.checkpoint(g)(...)`` (whose ``func`` is
    ``func``), or None."""
    if not (isinstance(func, ast.Call) and parsed.resolve(func.func) is checkpoint):
        return None
    if len(func.args) != 1 or func.keywords or not isinstance(func.args[0], (ast.Name, ast.Attribute)):
        raise Unresolvable("tangent.checkpoint takes one function, by its name", "write tangent.checkpoint(cell)(x, ...)")
    if isinstance(func.args[0], ast.Name) and func.args[0].id in parsed.local_names:
        raise Unresolvable(f"tangent.checkpoint of the nested function {func.args[0].id!r} is not supported",
                           "define the checkpointed function at module level")
    return func.args[0]


def derivative_in_call(parsed: ParsedFunction, func: ast.expr):
    """The derivative made by ``tangent.grad(g, ...)`` (or another public API
    function) when a call ``tangent.grad(g, ...)(x)`` in the function is
    differentiated: made then, from ``g`` and options known then (names of
    functions, constants); None for other calls."""
    api = parsed.resolve(func.func) if isinstance(func, ast.Call) else UNRESOLVED
    if not getattr(api, "tangent_api", False):
        return None

    def known(node):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, (ast.Tuple, ast.List)):
            return tuple(known(e) for e in node.elts)
        found = parsed.resolve(node) if isinstance(node, (ast.Name, ast.Attribute)) else UNRESOLVED
        if found is UNRESOLVED:
            raise Unresolvable(f"tangent.{api.__name__}(...) of {ast.unparse(node)!r}, known only when the function runs",
                               "pass the function by its global name and constant options")
        return found

    if any(isinstance(a, ast.Starred) for a in func.args) or any(k.arg is None for k in func.keywords):
        raise Unresolvable(f"tangent.{api.__name__}(*args / **kwargs) inside a differentiated function",
                           "give the function and the options explicitly")
    return api(*[known(a) for a in func.args], **{k.arg: known(k.value) for k in func.keywords})


def checkpointed_range(parsed: ParsedFunction, loop: ast.For):
    """For ``for t in tangent.checkpointed(range(...), snapshots=k)``: the
    snapshots argument (an expression; the constant None when not given),
    also set as the loop's ``checkpointed`` annotation; None for other
    loops. Other uses of ``checkpointed`` are refused."""
    it = loop.iter
    if not (isinstance(it, ast.Call) and parsed.resolve(it.func) is checkpointed):
        return None
    inner = it.args[0] if len(it.args) == 1 else None
    if not (isinstance(inner, ast.Call) and parsed.resolve(inner.func) is builtins.range) or \
            [k.arg for k in it.keywords] not in ([], ["snapshots"]) or not isinstance(loop.target, ast.Name):
        raise parsed.origin.error(TangentSyntaxError, loop, "tangent.checkpointed takes a range and snapshots=k",
                                  "write `for t in tangent.checkpointed(range(n), snapshots=k):`")
    snapshots = it.keywords[0].value if it.keywords else ast.Constant(value=None)
    ir.annotate(loop, checkpointed=snapshots)
    return snapshots


def checkpointed_condition(parsed: ParsedFunction, loop: ast.While):
    """For ``while tangent.checkpointed(condition, snapshots=k):``: the loop's
    test becomes ``condition`` and its ``checkpointed`` annotation the
    snapshots argument (the constant None when not given); None for other
    loops."""
    test = loop.test
    if not (isinstance(test, ast.Call) and parsed.resolve(test.func) is checkpointed):
        if any(isinstance(n, ast.Call) and parsed.resolve(n.func) is checkpointed for n in ast.walk(test)):
            raise parsed.origin.error(TangentSyntaxError, loop, "a checkpointed while loop cannot stop early (break "
                                      "or return in it), and tangent.checkpointed must be its whole condition",
                                      "write `while tangent.checkpointed(condition, snapshots=k):` and fold the "
                                      "early exit into the condition, or use a plain while loop")
        return None
    if len(test.args) != 1 or [k.arg for k in test.keywords] not in ([], ["snapshots"]):
        raise parsed.origin.error(TangentSyntaxError, loop, "tangent.checkpointed in a while loop takes the "
                                  "condition and snapshots=k", "write `while tangent.checkpointed(x > 0, snapshots=k):`")
    snapshots = test.keywords[0].value if test.keywords else ast.Constant(value=None)
    loop.test = test.args[0]
    ir.annotate(loop, checkpointed=snapshots)
    return snapshots


def is_pure_function(callee) -> bool:
    """NumPy and math functions without side effects: a result nobody reads
    need not be computed (random number generators excepted)."""
    module = getattr(callee, "__module__", None) or ""
    if isinstance(callee, np.ufunc):
        return True
    if module == "math":
        return True
    return module.startswith("numpy") and "random" not in module and getattr(callee, "__name__", "") not in _IMPURE_NUMPY


# Library functions that write into an argument, and how to say it without writing
_WRITERS = {
    "copyto": "assign instead: dst[...] = src",
    "put": "assign by index instead: y[indices] = values (on a copy: y = y.copy())",
    "place": "build a new array instead: y = np.where(mask, values, y)",
    "putmask": "build a new array instead: y = np.where(mask, values, y)",
    "fill_diagonal": "build a new array instead, e.g. A = A * (1 - np.eye(n)) + value * np.eye(n)",
    "put_along_axis": "build the array with np.where or by index assignment instead",
}
# packages whose functions and classes are libraries', not the user's (their writes are not analysed)
LIBRARIES = frozenset({"numpy", "scipy", "torch", "jax", "jaxlib", "tensorflow", "dask", "cupy", "math", "random",
                       "array_api_strict", "pandas"})
_EFFECT_ONLY = ("builtins.print", "warnings.", "logging.", "numpy.testing", "time.", "pdb.", "builtins.breakpoint",
                "numpy.random.seed", "random.seed", "tangent.")


def discarded_call_refusal(callee, keywords: list[str]) -> tuple[str, str] | None:
    """(message, hint) when a call whose result is discarded may write into
    its arguments (a library function run for its effect: ``np.copyto``,
    ``np.add.at``, ``out=``), which Tangent cannot differentiate; None for
    the user's own functions (their writes are analysed), functions with
    derivative rules (pure), and functions run only to report (print,
    warnings, logging, numpy.testing).

    Example::

        discarded_call_refusal(np.copyto, [])   # ("np.copyto writes into its argument ...", "assign ...")
    """
    if "out" in keywords:
        return None  # (refused with the call: see out_keyword_refusal)
    known = argument_writer_refusal(callee)
    if known is not None:
        return known
    name = getattr(callee, "__name__", type(callee).__name__)
    module = getattr(callee, "__module__", None) or ""
    owner = getattr(callee, "__self__", None)
    if isinstance(owner, np.ufunc):  # np.add.at(a, indices, b)
        return (f"np.{owner.__name__}.{name} writes into its first argument, which Tangent cannot differentiate",
                "add into a new array instead, e.g. a = a + np.bincount(indices, weights=b, minlength=len(a))")
    if isinstance(owner, (list, dict, set)):
        return None  # CALLS.append(1) on a global (only locals' writes carry derivatives)
    qualified = f"{module}.{name}"
    if any(qualified.startswith(prefix) for prefix in _EFFECT_ONLY) or rules.lookup_adjoint(callee) is not None:
        return None
    if not is_library_callee(callee):
        return None  # the user's own function
    if module.startswith("numpy") and name in _WRITERS:
        return f"np.{name} writes into its argument, which Tangent cannot differentiate", _WRITERS[name]
    return (f"{qualified.removeprefix('builtins.')} is called for its effect (its result is discarded) and may write "
            "into its arguments, which Tangent cannot differentiate", "use a function that returns a new value")


def argument_writer_refusal(callee) -> tuple[str, str] | None:
    """(message, hint) for a library function known to change its argument
    in place, whether or not its result is used (``heapq.heappush(h, v)``,
    ``random.shuffle(xs)``, ``np.copyto``...), which Tangent cannot
    differentiate; None for other callees."""
    module = getattr(callee, "__module__", None) or ""
    name = getattr(callee, "__name__", "")
    owner = getattr(callee, "__self__", None)
    if module.startswith("numpy") and name in _WRITERS and not isinstance(owner, np.ufunc):
        return f"np.{name} writes into its argument, which Tangent cannot differentiate", _WRITERS[name]
    qualified = f"{module}.{name}" if module else name
    if qualified in _ARGUMENT_WRITERS or (name == "shuffle" and (module.startswith("numpy") or isinstance(
            owner, (np.random.Generator, np.random.RandomState)))):
        return (f"{qualified.removeprefix('_')} changes its argument in place, which Tangent cannot differentiate",
                "build a new list or array instead (sorted(...), a list comprehension, x[permutation])")
    return None


_ARGUMENT_WRITERS = frozenset(
    [f"{m}.{f}" for m in ("heapq", "_heapq") for f in ("heappush", "heappop", "heapify", "heapreplace", "heappushpop")]
    + [f"{m}.{f}" for m in ("bisect", "_bisect") for f in ("insort", "insort_left", "insort_right")]
    + ["random.shuffle"]
    + [f"_operator.{f}" for f in ("setitem", "delitem", "iadd", "isub", "imul", "itruediv", "iconcat")])


def is_library_callee(callee) -> bool:
    """A function of NumPy, SciPy, math or another array library (or a
    builtin), not one of the user's own."""
    module = getattr(callee, "__module__", None) or ""
    return module.split(".")[0] in LIBRARIES or isinstance(callee, (types.BuiltinFunctionType, np.ufunc))


def out_keyword_refusal(callee) -> tuple[str, str]:
    """(message, hint) for ``f(..., out=y)``: a write into ``y``."""
    name = getattr(callee, "__name__", "the function")
    return (f"{name}(..., out=...) writes its result into an existing array, which Tangent does not differentiate",
            f"assign the result instead: y = {name}(...), or y[...] = {name}(...)")


def constructible(parsed: ParsedFunction, callee) -> bool:
    """A user class whose __init__ can be inlined: defined in the function's
    module, or in another module when every global name its code reads means
    the same object in the function's module (then inlined it reads the same)."""
    if not isinstance(callee, type) or callee.__module__ in ("builtins",) or callee.__module__.startswith("numpy"):
        return False
    init = inspect.getattr_static(callee, "__init__", None)
    return (isinstance(init, types.FunctionType) and _same_globals(init, parsed.func.__globals__)
            and inspect.getattr_static(callee, "__new__", object.__new__) is object.__new__)


def class_method(callee) -> tuple[type, types.FunctionType] | None:
    """(cls, function) when ``callee`` is a classmethod's Python function
    bound to a class (``Layer.create``), else None."""
    if not isinstance(callee, types.MethodType) or not isinstance(callee.__self__, type) \
            or not isinstance(callee.__func__, types.FunctionType):
        return None
    found = inspect.getattr_static(callee.__self__, callee.__func__.__name__, None)
    return (callee.__self__, callee.__func__) if isinstance(found, classmethod) and found.__func__ is callee.__func__ \
        else None


def built_class(parsed: ParsedFunction, call: ast.Call) -> type | None:
    """The user class whose object ``call`` builds, when known: ``Cls(...)``
    of a constructible class, ``Cls.create(...)`` of a classmethod whose
    every return is ``cls(...)``, or ``make(...)`` of a function of the
    user's whose every return is ``Cls(...)`` of one class (None otherwise)."""
    callee = parsed.resolve(call.func)
    if callee is not UNRESOLVED and constructible(parsed, callee):
        return callee
    found = class_method(callee)
    function = found[1] if found is not None else callee
    called = _returned_calls(function) if isinstance(function, types.FunctionType) else None
    if called is None:
        return None
    first, bound, names = called
    if found is not None:
        built = {found[0] if name == first else None for name in names}
    else:
        built = {function.__globals__.get(name) if name not in bound else None for name in names}
    cls = built.pop() if len(built) == 1 else None
    return cls if cls is not None and constructible(parsed, cls) else None


_RETURNED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _returned_calls(function: types.FunctionType) -> tuple | None:
    """(first parameter, the names the function binds, the names every
    ``return name(...)`` calls) when each of its returns is such a call
    (computed once per function)."""
    if function not in _RETURNED:
        _RETURNED[function] = _read_returned_calls(function)
    return _RETURNED[function]


def _read_returned_calls(function: types.FunctionType) -> tuple | None:
    try:
        fdef = ast.parse(textwrap.dedent(inspect.getsource(function))).body[0]
    except (OSError, TypeError, SyntaxError, IndexError):
        return None
    returns = [n.value for n in ast.walk(fdef) if isinstance(n, ast.Return)]
    if not isinstance(fdef, ast.FunctionDef) or not returns \
            or not all(isinstance(r, ast.Call) and isinstance(r.func, ast.Name) for r in returns):
        return None
    args = fdef.args
    params = [a.arg for a in args.posonlyargs + args.args]
    bound = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg] if a} \
        | {n.id for n in ast.walk(fdef) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    return (params[0] if params else None), frozenset(bound), tuple(r.func.id for r in returns)


def _same_globals(func: types.FunctionType, namespace: dict) -> bool:
    """Whether the global names ``func``'s code reads resolve to the same
    objects in ``namespace`` as in its own module (and it has no closure
    cells but ``__class__`` and writes no global)."""
    if func.__globals__ is namespace:
        return True
    if set(func.__code__.co_freevars) - {"__class__"}:
        return False
    missing = object()
    codes, names = [func.__code__], set()
    while codes:
        code = codes.pop()
        for instruction in dis.get_instructions(code):
            if instruction.opname in ("STORE_GLOBAL", "DELETE_GLOBAL"):
                return False
            if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
                names.add(instruction.argval)
        codes += [c for c in code.co_consts if isinstance(c, types.CodeType)]
    return all(func.__globals__.get(n, missing) is namespace.get(n, missing) for n in names)


def _has_rule(callee) -> bool:
    """Whether a callable object has rules of its own (jax.nn.relu, a
    custom_jvp object): then it is the primitive, not its ``__call__``."""
    return rules.lookup_adjoint(callee) is not None or rules.lookup_tangent(callee) is not None


def known_callee(callee, func: ast.expr) -> tuple[ast.expr, object, bool]:
    """(func node, callee, is_method) for a call of an object known when
    differentiating: a callable object calls its class's ``__call__``, a
    bound method its function with the receiver as first argument."""
    func = copy.deepcopy(func)
    call_method = inspect.getattr_static(type(callee), "__call__", None)
    if not isinstance(callee, (type, types.FunctionType, types.BuiltinFunctionType, types.MethodType, np.ufunc)) \
            and isinstance(call_method, types.FunctionType) and type(callee).__module__ not in ("builtins",) \
            and not type(callee).__module__.startswith("numpy") and isinstance(func, (ast.Name, ast.Attribute)) \
            and not _has_rule(callee):
        return ast.Attribute(value=func, attr="__call__", ctx=ast.Load()), call_method, True
    if isinstance(callee, types.MethodType) and isinstance(callee.__func__, types.FunctionType) \
            and isinstance(func, ast.Attribute) and not _has_rule(callee):
        # a method of an object known when differentiating (e.g. self of a bound method)
        return func, callee.__func__, True
    return func, callee, False


def array_type(parsed: ParsedFunction) -> type:
    """The class methods and attributes of local values of unknown class are
    resolved on: ``numpy.ndarray``, or the array type of the one other array
    library the function is written with (``rules.array_type_of``: a
    function written with ``torch.*`` holds tensors)."""
    found = getattr(parsed, "_array_type", None)
    if found is None:
        used = {node.id for node in ast.walk(parsed.tree) if isinstance(node, ast.Name)} - parsed.local_names
        found = rules.array_type_of([parsed.namespace[n] for n in used if n in parsed.namespace],
                                    getattr(parsed.namespace, "globals", parsed.namespace).values()) or ARRAY_TYPE
        parsed._array_type = found
    return found


def method(cls: type | None, attr: str, array: type = ARRAY_TYPE) -> tuple[object, bool]:
    """(callee, is_method) of ``value.attr(...)`` where value's class is
    ``cls`` (None: unknown, read as a method of ``array`` or a list method)."""
    if cls is None:
        found = getattr(array, attr, LIST_METHODS.get(attr, UNRESOLVED))
        if found is UNRESOLVED:
            from .rules.random_rules import random_draw_method  # here: importing rules registers them all

            found = random_draw_method(attr) or UNRESOLVED  # rs.randn(3) on a RandomState or Generator
        if found is UNRESOLVED and hasattr(dict, attr):
            raise Unresolvable(f"the dict method .{attr}() is not supported (of dicts: .get(), .items(), .values(), "
                               ".keys())", "write it with items, d[k] = v, or build a new dict ({**d, k: v})")
        if found is UNRESOLVED:
            raise Unresolvable(f"cannot resolve the method .{attr}() of a local value: its class is not known when "
                               f"differentiating, and {array.__module__}.{array.__name__} (the array type the function "
                               "uses) and lists have no such method",
                               "annotate the parameter with its class (def loss(model: MLP, x)) or call a function "
                               "instead")
        return found, True
    found = inspect.getattr_static(cls, attr, UNRESOLVED)
    if isinstance(found, staticmethod):
        return found.__func__, False
    if isinstance(found, classmethod):
        raise Unresolvable("classmethods are not supported", "use a staticmethod or a function")
    if found is UNRESOLVED or not callable(found):
        raise Unresolvable(f"{cls.__name__} has no method {attr!r}")
    return found, True


def call_method(cls: type | None):
    """The ``__call__`` function of a user class (calling an instance), or None."""
    if cls is None or not isinstance(inspect.getattr_static(cls, "__call__", None), types.FunctionType):
        return None
    return cls.__call__


def attribute_read(cls: type | None, attr: str, attribute_helper, array: type = ARRAY_TYPE):
    """What reading ``value.attr`` calls: ``("property", getter)`` for a
    property of a user class, else the callee of the attribute read (an
    array attribute, or ``attribute_helper`` for an object's attribute,
    differentiable like a dict item)."""
    if cls is not None and isinstance(getattr(cls, attr, None), property):
        return "property", getattr(cls, attr).fget
    if cls is None and hasattr(array, attr):
        return "attribute", getattr(array, attr)
    return "attribute", attribute_helper
