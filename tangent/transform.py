"""The pipeline driver: parse -> normalize -> analyse -> differentiate ->
optimize -> generate source -> compile.

A Session builds one generated module: the requested derivative plus the
derivatives of every user function it calls (each generated once, so
recursion works), all sharing one namespace. It takes a Python function and
the indices of the arguments to differentiate (``reverse``, ``forward``), and
gives, from ``build``, the compiled derivative with its source attached
(``tangent_source``). It assumes the function's source can be read
(``frontend.parse_function``) and leaves caching, specialisation to argument
shapes and the ownership of results to the public API (``api``).

The code specialised to argument shapes (``reverse`` with ``example_args``,
in a new session at the derivative's first call) starts from the same
normalized function as the generic code: the generic run keeps a copy of it
(``_Prepared``), which the specialising run takes instead of parsing and
normalizing again, while nothing it was made from changed. A session
given ``session.run_only = True`` makes code that is run and never differentiated
again (the optimizer may then call helpers without derivative rules:
``hoisted_products``).
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import copy
import functools
import gc
import linecache
import os
import types as types_module
import weakref

from . import adjoints, ir, optimize, rules, runtime
from .astwalk import copy_nodes, names_in, walk_list
from .codegen import compile_source, to_source
from .container_reads import share_container_reads
from .errors import (
    NoDerivativeError,
    SourceUnavailableError,
    TangentError,
    TangentSyntaxError,
    forget_lines,
    register_lines,
)
from .forward import ForwardMode
from .frontend import ParsedFunction, local_names, parse_function, recording_now, unchanged
from .ir import assign, call, name, store
from .item_classes import note_call_types
from .naming import Namer
from .normalize import normalize
from .private_arguments import own_written_arguments
from .resolve import is_library_callee
from .reverse import ReverseMode, names_read
from .shapes import describe_argument
from .tape import names_live_in
from .unit_seed import read_default_seed, read_seed_as_one
from .value_facts import Specialization


@contextlib.contextmanager
def _collector_paused():
    """No cyclic garbage collection meanwhile (restored after, also on an
    error). A transform allocates many small objects (nodes, sets) and
    keeps most of them: each collection scans them all again, which made
    transform time grow faster than the function (a fifth of a 400-line
    grad). What it leaves as cyclic garbage is collected afterwards."""
    enabled = gc.isenabled()
    if enabled:
        gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _without_collection(method):
    """Run ``method`` with the cyclic garbage collector paused."""
    @functools.wraps(method)
    def run(*args, **kwargs):
        with _collector_paused():
            return method(*args, **kwargs)
    return run


# a user function's derivatives specialised to the shapes at its call sites, at most
MAX_CALLEE_SPECIALIZATIONS = 8


def _library_boundary(method):
    """``Session.split`` / ``jvp_of`` of a NumPy or SciPy function without a
    rule, whose own source Tangent reads: when that fails, the refusal names
    the user's call (and the first reason, from inside the library)."""

    @functools.wraps(method)
    def bounded(self, func, active, origin=None, node=None, *args, **kwargs):
        try:
            return method(self, func, active, origin, node, *args, **kwargs)
        except TangentError as e:
            if origin is None or not is_library_callee(func):
                raise
            reason = getattr(e, "library_reason", None) or " ".join(line.strip() for line in str(e).splitlines()[:2])
            error = origin.error(NoDerivativeError, node, f"no derivative rule for {func.__module__}.{func.__qualname__}"
                                 f", and its source cannot be differentiated ({reason})",
                                 f"register one with @tangent.adjoint({func.__name__}), or compute it with functions "
                                 "that have rules")
            error.library_reason = reason
            raise error from None

    return bounded


class Session:
    """One generated module and its namespace."""

    def __init__(self, optimized: bool = True, check_finite: bool = False):
        self.optimized = optimized
        self.check_finite = check_finite
        self.namespace: dict = {}
        self._names_of: dict[int, str] = {}
        self.module_names = Namer(dir(builtins))
        self.functions: list[ast.FunctionDef] = []
        self.splits: dict[tuple, tuple[str, str]] = {}
        self.jvps: dict[tuple, tuple[str, dict]] = {}
        # the user's function the entry derivative is generated from (file:line), for error messages
        self.derived_from: str | None = None
        self.origins: dict[str, tuple] = {}  # generated function -> where it came from (errors.register_lines)
        self.tapes: dict[str, tuple] = {}  # generated function -> its tape's names (restores.tape_operations)

    # ------------------------------------------------------------ globals
    def bind_global(self, hint: str, value) -> str:
        """A module-level name bound to ``value`` (reusing ``hint`` if free)."""
        key = id(value)
        if key in self._names_of and self.namespace.get(self._names_of[key]) is value:
            return self._names_of[key]
        if self.namespace.get(hint, _MISSING) is value:
            self._names_of[key] = hint
            return hint
        if hint in self.namespace or hint in self.module_names.taken and hint not in dir(builtins):
            hint = self.module_names.fresh(hint)
        else:
            self.module_names.reserve(hint)
        if getattr(builtins, hint, _MISSING) is value:
            return hint
        self.namespace[hint] = value
        self._names_of[key] = hint
        return hint

    def bind_user_globals(self, parsed: ParsedFunction, tree: ast.FunctionDef, local: set[str]) -> None:
        """Bind the free names of a user function, renaming on clashes."""
        renames: dict[str, str] = {}
        for node in walk_list(tree):  # only ids change, not the tree's shape: a list walk sees the same nodes
            if isinstance(node, ast.Name) and node.id not in local:
                if ir.has(node, "value"):
                    node.id = self.bind_global(node.id, ir.get(node, "value"))
                    continue
                if node.id not in renames:
                    if node.id in parsed.namespace:
                        renames[node.id] = self.bind_global(node.id, parsed.namespace[node.id])
                    elif hasattr(builtins, node.id):
                        renames[node.id] = self.bind_global(node.id, getattr(builtins, node.id))
                    else:
                        renames[node.id] = node.id  # NameError at run time, as in Python
                node.id = renames[node.id]

    # ------------------------------------------------------------ reverse
    def prepare(self, func, static=None, types=None):
        """(parsed function, normalized tree with its globals bound, namer) of
        ``func``; ``static`` and ``types`` are what is known of its arguments
        at a call (values that are constants there, argument types)."""
        parsed = parse_function(func)
        parsed.static.update(static or {})
        note_call_types(parsed, types or {})
        if isinstance(func, types_module.MethodType):
            # grad(obj.method): self is a known value, not a parameter
            self_name = parsed.tree.args.args[0].arg if parsed.tree.args.args else None
            if self_name is not None:
                parsed.tree.args.args = parsed.tree.args.args[1:]
                parsed.namespace[self_name] = func.__self__
                parsed.local_names = parsed.local_names - {self_name}
                del parsed.static[self_name]
        mentioned = {n.id for n in names_in(parsed.tree)}
        namer = Namer(parsed.local_names | mentioned | set(self.namespace) | {"d"})
        tree = normalize(parsed, namer)
        local = local_names(tree)
        self.bind_user_globals(parsed, tree, local)
        return parsed, tree, namer

    def prepare_callee(self, func, origin, node, static=None, types=None):
        """prepare() for a callee: errors about the callee itself also name the line of the call."""
        try:
            return self.prepare(func, static, types)
        except SourceUnavailableError as e:
            if origin is None:
                raise
            raise origin.error(SourceUnavailableError, node, f"called here: {e}",
                               f"register a rule for {func.__name__} with @tangent.adjoint, or define it in a file") from None


    @_library_boundary
    def split(self, func, active: tuple[str, ...], origin=None, node=None, static=None, types=None,
              arguments=None, entry: bool = False) -> tuple[str, str]:
        """Names of ``func_fwd(...) -> (result, tape)`` and ``func_bwd(tape, dresult) -> adjoints of
        active params``; with ``arguments`` (``calls.argument_descriptions``) specialised to them;
        ``entry``: motion.py's function (its writes into arguments are not written back)."""
        if arguments and sum(1 for k in self.splits if k[0] is func and k[-1]) >= MAX_CALLEE_SPECIALIZATIONS:
            arguments = None  # (say, a recursion on ever smaller arrays): the generic pair
        key = (func, active, _identity_key(static), _identity_key(types), entry, tuple(sorted((arguments or {}).items())))
        if key in self.splits:
            return self.splits[key]
        parsed, tree, namer = self.prepare_callee(func, origin, node, static, types)
        base = _identifier(func, tree)
        fwd = self.module_names.fresh(f"{base}_fwd")
        bwd = self.module_names.fresh(f"{base}_bwd")
        self.splits[key] = (fwd, bwd)
        own_written_arguments(tree, parsed.origin, self.bind_global, namer.fresh, write_back=not entry)
        mode = ReverseMode(self, parsed, tree, list(active), namer, check_finite=self.check_finite, arguments=arguments)
        primal, adjoint, result, grads, seed = mode.run()
        params = [a.arg for a in tree.args.posonlyargs + tree.args.args + tree.args.kwonlyargs]
        primal_locals = set(params) | {mode.stack_name, mode.tape.inactive_stack_name} | {
            n.id for s in primal for n in names_in(s) if isinstance(n.ctx, ast.Store)
        }
        # The tape holds what the adjoint reads of the primal's locals.
        live = names_read(adjoint) & primal_locals
        primal, adjoint, init, uses_stack = mode.lower_markers(primal, adjoint, live)
        tape_names = sorted((names_live_in(adjoint) & primal_locals) | ({mode.stack_name} if uses_stack else set()))
        ret_stmt = tree.body[-1]
        maybe_undefined = [v for v in tape_names if v not in mode.analysis.defined_before(ret_stmt)
                           and v not in (mode.stack_name, mode.tape.inactive_stack_name)]
        init = sorted(set(init) | set(maybe_undefined))
        tape = namer.fresh("tape")
        pack = ast.Tuple(elts=[name(v) for v in tape_names], ctx=ast.Load())
        fwd_body = self.prologue(mode, init, uses_stack) + primal
        fwd_body.append(ast.Return(value=ast.Tuple(elts=[copy.deepcopy(result), pack], ctx=ast.Load())))
        fwd_def = self.function_def(fwd, tree.args, fwd_body, f"Forward sweep of {parsed.name}: its result and what {bwd} needs.")
        unpack = [ast.Assign(targets=[ast.Tuple(elts=[store(v) for v in tape_names], ctx=ast.Store())], value=name(tape))] if tape_names else []
        results = [name(grads[p]) for p in active]
        ret = results[0] if len(results) == 1 else ast.Tuple(elts=results, ctx=ast.Load())
        bwd_body = unpack + adjoint + [ast.Return(value=ret)]
        bwd_args = ast.arguments(posonlyargs=[], args=[ast.arg(arg=tape), ast.arg(arg=seed)], kwonlyargs=[],
                                 kw_defaults=[], defaults=[])
        bwd_def = self.function_def(bwd, bwd_args, bwd_body, f"Backward sweep of {parsed.name}: adjoints of {', '.join(active)}.")
        self.functions += [self.finish(fwd_def, parsed), self.finish(bwd_def, parsed)]
        self.tapes[fwd] = self.tapes[bwd] = (mode.stack_name, mode.tape.inactive_stack_name)
        return fwd, bwd

    def prologue(self, mode, init, uses_stack) -> list[ast.stmt]:
        """The statements starting a forward sweep: the empty stack, and None
        for the variables the tape may read before they are assigned."""
        out = []
        if uses_stack:
            out.append(assign(mode.stack_name, ast.List(elts=[], ctx=ast.Load())))
        for v in init:
            out.append(assign(v, ast.Constant(value=None)))
        return out

    def function_def(self, fname, args, body, doc) -> ast.FunctionDef:
        """A generated function's definition, with ``doc`` as its docstring."""
        args = copy.deepcopy(args)
        docstring = ast.Expr(value=ast.Constant(value=doc))
        return ast.FunctionDef(name=fname, args=args, body=[docstring] + body, decorator_list=[], returns=None,
                               type_comment=None, type_params=[])

    def finish(self, fdef: ast.FunctionDef, parsed, special=None) -> ast.FunctionDef:
        """``fdef`` optimized (if asked for) and tidied, ready for codegen
        (which needs no source locations: it unparses, then compiles text).
        ``special``: a ``value_facts.Specialization`` for specialised code."""
        self.origins[fdef.name] = (parsed.origin, parsed.tree.lineno, parsed.tree.end_lineno or parsed.tree.lineno)
        if self.optimized:
            fdef = optimize.optimize_function(fdef, special)
        return optimize.tidy_blocks(fdef)

    @_without_collection
    def reverse(self, func, wrt: tuple[int, ...], preserve_result=False, check_scalar=True, example_args=None) -> str:
        """Generate ``dfunc(*args, seed=1.0)`` returning the adjoints of the
        positional arguments in ``wrt``. Returns its name. With
        ``example_args`` the code is specialised to their types and shapes."""
        parsed, tree, namer, wrt_names, fname = self.entry(
            func, wrt, keep=self.optimized and example_args is None, reuse=example_args is not None)
        args = tree.args
        arguments = None
        if example_args is not None:
            params = [a.arg for a in args.posonlyargs + args.args]
            arguments = {p: describe_argument(v) for p, v in zip(params, example_args)}
            share_container_reads(tree, arguments)  # one read per container item, at the entry
        mode = ReverseMode(self, parsed, tree, wrt_names, namer, check_finite=self.check_finite, arguments=arguments)
        primal, adjoint, result, grads, seed = mode.run()
        primal, adjoint, init, uses_stack = mode.lower_markers(primal, adjoint)
        seed_shape = None if example_args is None else adjoints.example_seed_shape(example_args, len(params))
        first, after = adjoints.output_checks(self.bind_global, seed, result, mode.shapes, check_scalar, seed_shape)
        body = self.prologue(mode, init, uses_stack) + first + primal + after + adjoint
        results = [name(grads[p]) for p in wrt_names]
        ret = results[0] if len(results) == 1 else ast.Tuple(elts=results, ctx=ast.Load())
        if preserve_result:
            ret = ast.Tuple(elts=[ret, copy.deepcopy(result)], ctx=ast.Load())
        body.append(ast.Return(value=ret))
        new_args = copy.deepcopy(args)
        new_args.args, new_args.defaults = [*new_args.args, ast.arg(arg=seed)], [*new_args.defaults, ast.Constant(value=1.0)]
        doc = f"Gradient of {parsed.name} with respect to {', '.join(wrt_names)} (reverse mode, generated by Tangent)."
        fdef = self.function_def(fname, new_args, body, doc)
        read_default_seed(fdef, seed, example_args, len(args.posonlyargs + args.args))  # (none passed: 1.0)
        special = None if example_args is None else Specialization(
            mode.shapes, dict(zip(params, example_args)), frozenset(getattr(mode.shapes, "structs", ())),
            self.namespace, run_only=getattr(self, "run_only", False), bind_global=self.bind_global)
        self.functions.append(self.finish(fdef, parsed, special))
        self.tapes[fname] = (mode.stack_name, mode.tape.inactive_stack_name)
        return fname

    # ------------------------------------------------------------ forward
    @_library_boundary
    def jvp_of(self, func, active: tuple[str, ...], origin=None, node=None, static=None, types=None) -> tuple[str, dict]:
        """Name of ``func_jvp(*args, *, d<param>=...) -> (result, tangent)``
        for calls of a user function, and its tangent keyword names."""
        key = (func, active, _identity_key(static), _identity_key(types))
        if key in self.jvps:
            return self.jvps[key]
        parsed, tree, namer = self.prepare_callee(func, origin, node, static, types)
        fname = self.module_names.fresh(f"{_identifier(func, tree)}_jvp")
        own_written_arguments(tree, parsed.origin, self.bind_global, namer.fresh)  # (a helper writing into them)
        mode = ForwardMode(self, parsed, tree, list(active), namer)
        tangent_params = {p: mode.d(p) for p in active}
        self.jvps[key] = (fname, tangent_params)
        body, result, tangent = mode.run()
        args = copy.deepcopy(tree.args)
        args.kwonlyargs = list(args.kwonlyargs) + [ast.arg(arg=tangent_params[p]) for p in active]
        args.kw_defaults = list(args.kw_defaults) + [None] * len(active)
        body.append(ast.Return(value=ast.Tuple(elts=[copy.deepcopy(result), tangent], ctx=ast.Load())))
        doc = f"Forward mode of {parsed.name}: its result and its tangent along {', '.join(active)}."
        self.functions.append(self.finish(self.function_def(fname, args, body, doc), parsed))
        return fname, tangent_params

    @_without_collection
    def forward(self, func, wrt: tuple[int, ...], preserve_result=False, over_gradient=False) -> str:
        """Generate ``func_jvp(*args, *tangents)``: the derivative of ``func`` along tangents of the ``wrt``
        arguments (``over_gradient``: tangent.hvp's over a gradient, its seed 1.0: unit_seed.py)."""
        parsed, tree, namer, wrt_names, fname = self.entry(func, wrt)
        args = tree.args
        if over_gradient:
            read_seed_as_one(tree, (args.posonlyargs + args.args)[-1].arg)
        mode = ForwardMode(self, parsed, tree, wrt_names, namer)
        tangents = [mode.d(p) for p in wrt_names]
        body, result, tangent = mode.run()
        body[:0] = adjoints.checks_of_tangents(self.bind_global, wrt_names, tangents)
        tangent = mode.returned_tangent(tangent)
        if not over_gradient:  # in the result's dtype (float32 in, float32 out, whatever the vector's)
            tangent = call(self.bind_global("tangent_like", runtime.tangent_like), tangent, copy.deepcopy(result))
        ret = ast.Tuple(elts=[tangent, copy.deepcopy(result)], ctx=ast.Load()) if preserve_result else tangent
        body.append(ast.Return(value=ret))
        new_args = copy.deepcopy(args)
        new_args.args = list(new_args.args) + [ast.arg(arg=t) for t in tangents]
        new_args.defaults = []  # tangents follow every argument, so none can be optional
        doc = (f"Derivative of {parsed.name} along tangents of {', '.join(wrt_names)} "
               "(forward mode, generated by Tangent).")
        self.functions.append(self.finish(self.function_def(fname, new_args, body, doc), parsed))
        return fname

    def entry(self, func, wrt, keep: bool = False, reuse: bool = False):
        """Parse the function a derivative is asked for: (parsed, normalized
        tree, namer, names of the wrt parameters, name of the derivative).
        With ``keep`` a copy of the normalized function is kept for the
        specialising run, which passes ``reuse`` (see ``_Prepared``)."""
        prepared = _Prepared.take(self, func) if reuse else None
        if prepared is not None:
            parsed, tree, namer = prepared
        else:
            keep = keep and _Prepared.applies(self, func)  # (before prepare binds globals)
            parsed, tree, namer = self.prepare(func)
            if keep:
                _Prepared.keep(self, func, parsed, tree, namer)
        own_written_arguments(tree, parsed.origin, self.bind_global, namer.fresh, write_back=False)
        origin = parsed.origin
        self.derived_from = getattr(origin, "derived_from", None) or (
            f"{os.path.basename(origin.filename)}:{tree.lineno} (in {origin.func_name})")
        if getattr(parsed, "generator", False):
            raise parsed.origin.error(TangentSyntaxError, tree, "a generator cannot be differentiated itself",
                                      "differentiate a function that consumes it, e.g. sum(g(x)) or list(g(x))")
        if tree.args.vararg or tree.args.kwarg:
            raise parsed.origin.error(TangentSyntaxError, tree, "functions with *args or **kwargs cannot be differentiated yet",
                                      "give the function explicit parameters")
        return parsed, tree, namer, self.wrt_names(parsed, tree, wrt), self.module_names.fresh(f"d{parsed.name}")

    def wrt_names(self, parsed, tree, wrt) -> list[str]:
        """The names of the positional parameters at the indices ``wrt``."""
        positional = [a.arg for a in tree.args.posonlyargs + tree.args.args]
        try:
            return [positional[i] for i in wrt]
        except IndexError:
            raise TangentSyntaxError(
                f"wrt={wrt} but {parsed.name} has {len(positional)} positional parameters ({', '.join(positional)})"
            ) from None

    # ------------------------------------------------------------ output
    @_without_collection
    def build(self, entry: str, label: str):
        """Compile the module; return the entry function (source attached)."""
        # Subroutine derivatives first, then the entry point.
        order = sorted(self.functions, key=lambda f: f.name == entry)
        source = to_source(order)
        namespace = dict(self.namespace)
        namespace, filename = compile_source(source, namespace, label)
        func = namespace[entry]
        for generated in order:  # errors in code generated from them name the user's function
            if callable(namespace.get(generated.name)):
                namespace[generated.name].tangent_derived_from = self.derived_from
                namespace[generated.name].tangent_tapes = self.tapes.get(generated.name, ())
        func.tangent_source = source
        func.tangent_filename = filename
        # the source registered for tracebacks goes with the derivative
        weakref.finalize(func, linecache.cache.pop, filename, None)
        register_lines(filename, order, self.origins)  # errors while it runs name the user's line
        weakref.finalize(func, forget_lines, filename)
        return func


_MISSING = object()



class _Prepared:
    """What ``Session.prepare`` made of an entry function in a new session:
    the normalized tree (a copy of its nodes, sharing the values they refer
    to), the namer and the session's globals as they were right after it.

    Kept, one per function, by the generic run of optimized reverse mode
    and taken (once) by the run that specialises that derivative to
    argument shapes, in a new session too. Both start from the same state
    (a new session, no known arguments), so prepare would give both the
    same result: it depends only on the function's source and on what it
    reads of the function's globals, closure and attributes and of the rule
    registry. Those reads are recorded; a copy is taken only while each
    still holds the same object and no rule was registered since. The copy
    holds no reference to the function itself (the table is keyed weakly
    by it), so keeping it keeps the function alive no more than its cached
    derivative does."""

    _kept: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def __init__(self, session: Session, parsed: ParsedFunction, tree, namer: Namer, deps: tuple):
        self.parsed = copy.copy(parsed)
        self.parsed.func = None  # set again when taken
        self.tree = copy_nodes(tree)
        self.namer = namer.copy()
        self.namespace = dict(session.namespace)
        self.names_of = dict(session._names_of)
        self.module_names = session.module_names.copy()
        self.deps = deps
        self.version = rules.version()

    @staticmethod
    def applies(session: Session, func) -> bool:
        """Whether ``session`` is new (prepare's result depends on its
        globals) and ``func`` a plain function (a method's ``self`` is not
        part of its key)."""
        return isinstance(func, types_module.FunctionType) and not session.namespace and not session.functions \
            and not session._names_of

    @classmethod
    def keep(cls, session: Session, func, parsed, tree, namer) -> None:
        """Keep a copy of what prepare just made of ``func``, if what it
        read was recorded: the API's recording (``frontend.recording``) of
        the whole derivative is active during prepare, so what it holds by
        now includes every read of prepare (and perhaps earlier ones, which
        only make the check stricter). None recorded: nothing is kept."""
        deps = tuple(recording_now())
        if deps:
            cls._kept[func] = cls(session, parsed, tree, namer, deps)

    @classmethod
    def take(cls, session: Session, func):
        """(parsed, tree, namer) kept for ``func``, with ``session``'s
        globals set as prepare would have set them; None when there is no
        valid copy (then prepare runs as usual)."""
        if not cls.applies(session, func):
            return None
        kept = cls._kept.pop(func, None)
        if kept is None or kept.version != rules.version() or not unchanged(kept.deps):
            return None
        session.namespace.update(kept.namespace)
        session._names_of.update(kept.names_of)
        session.module_names = kept.module_names
        parsed = kept.parsed
        parsed.func = func
        return parsed, kept.tree, kept.namer


def _identifier(func, tree: ast.FunctionDef) -> str:
    """A name for ``func``'s subroutines: its own, or for a lambda the name
    the frontend gave its def (the variable it was assigned to)."""
    return func.__name__ if func.__name__.isidentifier() else tree.name


def _identity_key(mapping) -> tuple:
    return tuple(sorted((k, id(v)) for k, v in (mapping or {}).items()))
