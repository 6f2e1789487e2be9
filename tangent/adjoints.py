"""What reverse mode knows statically about each adjoint, and the code that
moves an adjoint from one such state to another.

Takes: a state, a dict from variable to ``AdjointState`` (variables absent
are ZERO), kept by the adjoint sweep as it visits statements backwards.

Gives: ``AdjointStates``, which emits the statements that accumulate into
an adjoint (the first contribution assigns, later ones add, a maybe-zero one
goes through ``add_grad``) and that bring an adjoint to the state a join
point (the end of a branch, a loop's head) expects, and ``merge``, the state
at a join point.

Indexed contributions (``grad_of_index(x, i, g)``, ``grad_of_attribute(obj,
name, g)``: the adjoint of a read ``x[i]``) go into a BUFFER: an adjoint that
the generated code allocated itself and that no other name refers to, so
that ``add_at(dx, i, g)`` may add into it in place, in O(size of g) rather
than O(size of x). The first contribution makes the buffer
(``grad_of_index`` allocates a fresh adjoint); a loop whose body reads
``x[i]`` gets one ``buffer_like(x)`` (zeros that the buffer owns, so that
``add_at`` adds into a list's or dict's slots in place) before it: every
leaf of the container is allocated once, the leaves never read stay zeros. A BUFFER stops being
one (becomes NONZERO, no code needed) as soon as its value may be shared:
another kind of contribution, a join with a NONZERO path, or the adjoint
of a statement that assigns or writes into ``x`` (which reads ``dx``).

Assumes: at run time a ZERO adjoint has no value, a MAYBE one holds ``None``
or a value, a NONZERO or BUFFER one holds a value; a BUFFER one is fresh.
"""

from __future__ import annotations

import ast
import copy
import enum
from collections.abc import Callable, Iterable, Mapping

from . import runtime
from .differentiator import derivative_name
from .ir import assign, call, name
from .naming import Namer


class AdjointState(enum.Enum):
    """Zero (no code has assigned it), buffer (it holds a value that only it
    refers to, allocated by generated code: indexed contributions are added
    into it in place), nonzero (it holds a value), maybe (``None`` or a
    value, decided at run time)."""

    ZERO = "zero"
    BUFFER = "buffer"
    NONZERO = "nonzero"
    MAYBE = "maybe"


ZERO, BUFFER, NONZERO, MAYBE = AdjointState.ZERO, AdjointState.BUFFER, AdjointState.NONZERO, AdjointState.MAYBE
State = dict  # variable -> AdjointState, ZERO entries left out
# The order of states (merge never gives a lower one than any input): each
# variable's state at a loop head rises at most ``len(ORDER) - 1`` times.
ORDER = (ZERO, BUFFER, NONZERO, MAYBE)


def merge(states: list[Mapping[str, AdjointState]], defined: Iterable[str]) -> State:
    """The state where paths with these states meet. Differing states give
    NONZERO when every path can make a zero adjoint real (``zeros_like(x)``
    needs x to be defined there, ``defined``), MAYBE otherwise; ZERO and
    BUFFER alone give BUFFER (a fresh ``zeros_like(x)`` on the zero paths).
    The result is at least each input in the order ``ORDER``."""
    merged = {}
    for var in set().union(*states):
        values = {s.get(var, ZERO) for s in states}
        if len(values) == 1:
            merged[var] = values.pop()
        elif MAYBE in values or (ZERO in values and var not in defined):
            merged[var] = MAYBE
        elif NONZERO in values:
            merged[var] = NONZERO
        else:
            merged[var] = BUFFER
    return {k: v for k, v in merged.items() if v != ZERO}


def is_none(var: str) -> ast.Compare:
    """``var is None``."""
    return ast.Compare(left=name(var), ops=[ast.Is()], comparators=[ast.Constant(value=None)])


class AdjointStates:
    """Emits adjoint bookkeeping code for one function.

    ``names`` and ``namer`` name the adjoints (shared with the mode, see
    ``differentiator.derivative_name``; not the mode's bound ``d``: a cycle
    would keep the mode, and the function it differentiates, alive until
    the garbage collector runs); ``python_numbers`` are the variables known
    (by specialisation) to hold a Python float or int, whose zero adjoint is
    ``0.0`` rather than ``zeros_like(x)``."""

    def __init__(self, names: dict[str, str], namer: Namer, bind_global: Callable[[str, object], str],
                 python_numbers: Iterable[str] = ()):
        self.names = names
        self.namer = namer
        self.bind_global = bind_global
        self.python_numbers = frozenset(python_numbers)

    def d(self, var: str) -> str:
        """The name of the adjoint of ``var``."""
        return derivative_name(self.names, self.namer, var)

    def zeros_like(self, var: str) -> ast.Call:
        return call(self.bind_global("zeros_like", runtime.zeros_like), name(var))

    def indexed(self, var: str, value: ast.expr) -> tuple[ast.expr, ast.expr] | None:
        """(index, contribution) when ``value`` is the adjoint of a read
        ``var[index]`` or ``var.name`` (``grad_of_index(var, index, g)``,
        ``grad_of_attribute(var, name, g)``), else None."""
        if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and len(value.args) == 3
                and value.func.id.startswith("grad_of_") and not value.keywords
                and isinstance(value.args[0], ast.Name) and value.args[0].id == var):
            return None
        helpers = {self.bind_global("grad_of_index", runtime.grad_of_index),
                   self.bind_global("grad_of_attribute", runtime.grad_of_attribute)}
        return (value.args[1], value.args[2]) if value.func.id in helpers else None

    def accumulate(self, var: str, value: ast.expr, state: State) -> list[ast.stmt]:
        """Add ``value`` to the adjoint of ``var``, which is then NONZERO, or
        BUFFER for an indexed contribution to a ZERO or BUFFER adjoint."""
        dvar = self.d(var)
        current = state.get(var, ZERO)
        state[var] = NONZERO
        indexed = self.indexed(var, value) if current in (ZERO, BUFFER) else None
        if indexed is not None:
            state[var] = BUFFER
            if current == BUFFER:
                return [assign(dvar, call(self.bind_global("add_at", runtime.add_at), name(dvar), *indexed))]
        if current == ZERO:
            return [assign(dvar, value)]
        if current in (NONZERO, BUFFER):
            return [assign(dvar, ast.BinOp(left=name(dvar), op=ast.Add(), right=value))]
        return [assign(dvar, call(self.bind_global("add_grad", runtime.add), name(dvar), value))]

    def release(self, var: str, state: State) -> None:
        """The adjoint of ``var`` is about to be read (by the adjoint of a
        statement assigning or writing into ``var``): a BUFFER becomes
        NONZERO, since what reads it may keep it."""
        if state.get(var) == BUFFER:
            state[var] = NONZERO

    def materialize(self, var: str, have: AdjointState, want: AdjointState) -> list[ast.stmt]:
        """Code taking the adjoint of ``var`` from ``have`` to ``want``
        (never down ``ORDER``, except MAYBE -> NONZERO: a ``None`` adjoint
        becomes zeros)."""
        if have == want or (have in (BUFFER, NONZERO) and want in (NONZERO, MAYBE)):
            return []
        if have == ZERO and want in (BUFFER, NONZERO):
            if var in self.python_numbers:
                return [assign(self.d(var), ast.Constant(value=0.0))]
            if want == BUFFER:  # zeros it owns: add_at adds into them in place
                return [assign(self.d(var), call(self.bind_global("buffer_like", runtime.buffer_like), name(var)))]
            return [assign(self.d(var), self.zeros_like(var))]
        if have == ZERO and want == MAYBE:
            return [assign(self.d(var), ast.Constant(value=None))]
        if have == MAYBE and want == NONZERO:
            return [ast.If(test=is_none(self.d(var)), body=[assign(self.d(var), self.zeros_like(var))], orelse=[])]
        raise AssertionError((var, have, want))

    def make_nonzero(self, var: str, state: State) -> list[ast.stmt]:
        """Code making the adjoint of ``var`` a real value; it is NONZERO
        after (a BUFFER too: the caller may share it)."""
        code = self.materialize(var, state.get(var, ZERO), NONZERO)
        state[var] = NONZERO
        return code

    def transition(self, have: Mapping[str, AdjointState], want: Mapping[str, AdjointState]) -> list[ast.stmt]:
        """Code taking every adjoint from ``have`` to ``want`` (a join point's state)."""
        out = []
        for var in sorted(want):
            out += self.materialize(var, have.get(var, ZERO), want[var])
        return out


def output_checks(bind: Callable[[str, object], str], seed: str, result: ast.expr, shapes,
                  check_scalar: bool, seed_shape=None) -> tuple[list[ast.stmt], list[ast.stmt]]:
    """The checks of a gradient's output and seed: (before the primal, after
    it). ``check_scalar_output(result)`` (``grad``: unless ``shapes`` knows
    the result is 0-d) and the refusal of a seed of the wrong shape:
    ``check_seed_shape(dresult, (4,))`` first where ``shapes`` knows the
    result's shape (its value may then go unread), else ``check_seed(dresult,
    result)`` after the primal. A seed that only broadcasts to an array
    result (a number) is broadcast to it after the primal, unless the code
    is specialised to a seed of ``seed_shape``, the result's.
    ``bind(hint, value)`` binds a global of the generated module. Example::

        first, after = output_checks(session.bind_global, "dresult", ast.Name("result"), mode.shapes, True)
    """
    shape = shapes.get(result.id) if isinstance(result, ast.Name) else None
    after = []
    if check_scalar and shape != ():
        after.append(ast.Expr(value=call(bind("check_scalar_output", runtime.check_scalar_output),
                                         copy.deepcopy(result))))
    # a number seeds every element of an array result: broadcast, the
    # backward pass reads an adjoint of the result's shape
    broadcast = [] if check_scalar or shape == () or seed_shape is not None and seed_shape == shape else [
        assign(seed, call(bind("broadcast_seed", runtime.broadcast_seed), name(seed), copy.deepcopy(result)))]
    if isinstance(shape, tuple) and all(type(n) is int for n in shape):
        known = ast.Tuple(elts=[ast.Constant(value=n) for n in shape], ctx=ast.Load())
        return [ast.Expr(value=call(bind("check_seed_shape", runtime.check_seed_shape), name(seed), known))], \
            after + broadcast
    check = bind("check_seed", runtime.check_seed)
    return [], after + [ast.Expr(value=call(check, name(seed), copy.deepcopy(result)))] + broadcast


def example_seed_shape(example_args, n_params: int) -> tuple:
    """The shape of the seed among the arguments code is specialised to:
    the one after the function's own, by default the number 1.0."""
    seed = example_args[n_params] if len(example_args) == n_params + 1 else 1.0
    return tuple(getattr(seed, "shape", ()))


def checks_of_tangents(bind: Callable[[str, object], str], params: list[str], tangents: list[str]) -> list[ast.stmt]:
    """``check_tangent(dx, x, 'x')`` for each parameter and its tangent, the
    first statements of a forward-mode derivative: a tangent vector of the
    wrong shape is refused. Example::

        body[:0] = checks_of_tangents(session.bind_global, ["x"], ["dx"])
    """
    check = bind("check_tangent", runtime.check_tangent)
    return [ast.Expr(value=call(check, name(t), name(p), ast.Constant(value=p))) for p, t in zip(params, tangents)]
