"""Checkpointing: the markers users write, and the binomial schedule.

``checkpoint(f)`` and ``checkpointed(iterable, snapshots=k)`` are what a
user writes in a function to be differentiated; run as plain Python they
change nothing (``checkpoint(f)`` is ``f``, ``checkpointed(r)`` iterates
``r``). Reverse mode recognises them in the source (``resolve``) and trades
memory for recomputation there (``tangent.reverse``).

``revolve(steps, snapshots)`` is Griewank's binomial checkpointing schedule
(Griewank and Walther, 2000, "Algorithm 799: revolve") as a list of actions,
pure Python, and ``run_revolve`` the driver that follows it, calling back
``advance`` (run the primal of steps), ``reverse`` (the forward then the
backward sweep of one step) and taking/restoring snapshots of the state.
Takes and gives plain values; nothing here knows of ASTs.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import TangentError
from .adjoints import add, zeros_like


def checkpoint(func):
    """``checkpoint(cell)(*args)`` calls ``cell(*args)``; under
    ``tangent.grad`` the forward sweep keeps only the arguments of the call
    and the backward sweep recomputes ``cell``'s forward sweep from them.

    Example::

        def rnn(W, h, xs):
            for t in range(xs.shape[0]):
                h = tangent.checkpoint(cell)(W, h, xs[t])
            return np.sum(h)
    """
    return func


def checkpointed(iterable, snapshots: int | None = None):
    """``for t in checkpointed(range(T), snapshots=k)`` iterates
    ``range(T)``; under ``tangent.grad`` the loop keeps at most ``k``
    snapshots of the state it carries from step to step and recomputes the
    rest in the backward sweep (the binomial schedule, ``revolve``)."""
    if snapshots is not None and (not isinstance(snapshots, int) or snapshots < 1):
        raise ValueError(f"snapshots must be a positive integer, got {snapshots!r}")
    return iterable


_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_memory(limit) -> int | None:
    """Bytes of a memory limit: an int, or a string such as ``"500 MB"``
    (kB, MB, GB: powers of 10; KiB, MiB, GiB: powers of 2); None stays None."""
    if limit is None:
        return None
    if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
        return limit
    if isinstance(limit, str):
        text = limit.strip().lower().replace("_", "")
        number = text.rstrip("abcdefghijklmnopqrstuvwxyz ")
        unit = text[len(number):].strip()
        try:
            value = float(number)
        except ValueError:
            value = -1.0
        if unit in _UNITS and value > 0:
            return int(value * _UNITS[unit])
    raise TangentError(f"memory_limit={limit!r}: give a number of bytes or a string such as '500 MB'")


def snapshots_within(budget: int, state) -> int:
    """How many snapshots of ``state`` (a tuple of the carried values) fit
    in ``budget`` bytes (at least one)."""
    return max(1, budget // max(1, state_bytes(state)))


def state_bytes(state) -> int:
    """The bytes a snapshot of ``state`` holds (arrays' buffers, 64 bytes
    for a number or the tuple's share)."""
    total = 64
    for value in state:
        nbytes = getattr(value, "nbytes", None)
        total += int(nbytes) + 112 if nbytes is not None else 64
    return total


# ------------------------------------------------------------ the schedule
def binomial(s: int, t: int) -> int:
    """beta(s, t) = C(s + t, s): how many steps ``s`` snapshots reverse with
    at most ``t`` forward runs of each step (Griewank's bound)."""
    return math.comb(s + t, s)


def repetitions(steps: int, snapshots: int) -> int:
    """The least ``t`` with beta(snapshots, t) >= steps."""
    t = 0
    while binomial(snapshots, t) < steps:
        t += 1
    return t


def split(steps: int, snapshots: int) -> int:
    """How many of ``steps`` steps to advance before the next snapshot, when
    ``snapshots`` snapshots (the one at the start included) are available:
    with ``t`` the least number of repetitions such that beta(snapshots, t)
    >= steps, the rest must be reversible with one snapshot fewer and the
    same ``t`` (beta(snapshots - 1, t) steps), the first part with the same
    snapshots and ``t - 1`` (beta(snapshots, t - 1), and beta(s, t) =
    beta(s - 1, t) + beta(s, t - 1)): the binomial schedule."""
    if steps <= 1 or snapshots <= 1:
        return 0
    t = repetitions(steps, snapshots)
    return max(1, min(steps - 1, steps - binomial(snapshots - 1, t)))


def forward_snapshots(steps: int, snapshots: int) -> list[int]:
    """The steps at whose start the forward sweep takes a snapshot (0 first)."""
    out, start, free = [0], 0, snapshots
    while steps - start > 1 and free > 1:
        start += split(steps - start, free)
        free -= 1
        out.append(start)
    return out


def backward_schedule(steps: int, snapshots: int):
    """The actions of the backward sweep, after a forward sweep that took
    ``forward_snapshots(steps, snapshots)``, one at a time (a generator: the
    schedule of a long loop is not held in memory): ``("restore", i)`` (the
    state at the start of step i from its snapshot), ``("advance", i, j)``
    (run the primal of steps i..j-1), ``("take", j)`` (snapshot the state at
    the start of step j), ``("reverse", i)`` (the forward and backward sweep
    of step i from the current state), ``("drop", j)`` (forget a snapshot)."""

    def segment(start, end, free, taken):
        n = end - start
        if n == 1:
            yield ("restore", start)
            yield ("reverse", start)
        elif free <= 1:
            for i in range(end - 1, start - 1, -1):
                yield ("restore", start)
                if i > start:
                    yield ("advance", start, i)
                yield ("reverse", i)
        else:
            middle = start + split(n, free)
            if not taken:
                yield ("restore", start)
                yield ("advance", start, middle)
                yield ("take", middle)
            yield from segment(middle, end, free - 1, taken)
            yield ("drop", middle)
            yield from segment(start, middle, free, False)

    if steps:
        yield from segment(0, steps, snapshots, True)


def run_forward(step, steps: int, snapshots: int, state, snaps: dict):
    """The forward sweep of a checkpointed loop: ``state = step(i, state)``
    for each step, keeping the snapshots of ``forward_snapshots`` in
    ``snaps``; returns the final state."""
    taken = set(forward_snapshots(steps, snapshots)) if steps else set()
    for i in range(steps):
        if i in taken:
            snaps[i] = state
        state = step(i, state)
    return state


def run_backward(step, reverse_step, steps: int, snapshots: int, snaps: dict, dstate):
    """The backward sweep: follows ``backward_schedule``, calling
    ``step(i, state) -> state`` to advance and ``reverse_step(i, state,
    dstate) -> dstate`` to reverse a step; returns the adjoint of the state
    before the loop. ``snaps`` holds the forward sweep's snapshots (it is
    emptied: a snapshot is freed once the schedule is done with it)."""
    state = None
    for action in backward_schedule(steps, snapshots):
        match action:
            case ("restore", i):
                state = snaps[i]
            case ("advance", i, j):
                for k in range(i, j):
                    state = step(k, state)
            case ("take", j):
                snaps[j] = state
            case ("reverse", i):
                dstate = reverse_step(i, state, dstate)
            case ("drop", j):
                del snaps[j]
    snaps.clear()
    return dstate


# ------------------------------------------------------------ the driver
def default_snapshots(steps: int) -> int:
    """Snapshots when the loop names none: about the square root of the steps."""
    return max(1, math.isqrt(max(steps - 1, 0)) + 1)


class LoopRecord:
    """What the forward sweep of a checkpointed loop keeps for the backward
    sweep: the step function, the loop's values, the read-only arguments,
    the snapshots of the carried state (at most ``snapshots`` of them)."""

    __slots__ = ("step", "values", "snapshots", "readonly", "initial", "snaps", "reversed")

    def __init__(self, step, values, snapshots, readonly, initial):
        self.step = step
        self.values = values
        self.snapshots = snapshots
        self.readonly = readonly
        self.initial = initial
        self.snaps: dict = {}
        self.reversed = False  # a backward sweep frees the snapshots as it goes

    def advance(self, i: int, state: tuple) -> tuple:
        """The carried state after step ``i`` from ``state`` (the primal)."""
        out = self.step(self.values[i], *state, *self.readonly)
        return (out,) if len(state) == 1 else tuple(out)


def checkpointed_loop(step, values, snapshots, carried: tuple, readonly: tuple) -> tuple:
    """The forward sweep of ``for t in checkpointed(values, snapshots=k)``
    whose body is ``carried = step(t, *carried, *readonly)``: the carried
    values after the loop, then the ``LoopRecord`` for
    ``checkpointed_loop_adjoint``."""
    steps = len(values)
    if snapshots is None:
        snapshots = default_snapshots(steps)
    if not isinstance(snapshots, int) or isinstance(snapshots, bool) or snapshots < 1:
        raise ValueError(f"snapshots must be a positive integer, got {snapshots!r}")
    record = LoopRecord(step, values, snapshots, tuple(readonly), tuple(carried))
    state = run_forward(record.advance, steps, snapshots, tuple(carried), record.snaps)
    return (*state, record)


class WhileRecord(LoopRecord):
    """A ``LoopRecord`` of a checkpointed ``while`` loop: its trip count was
    found by the forward sweep (``values`` is ``range`` of it), whose online
    schedule kept at most ``snapshots`` snapshots at multiples of a stride."""

    __slots__ = ()


def reverse_segments(advance, reverse_step, steps: int, snapshots: int, snaps: dict, dstate):
    """The backward sweep after ``online_snapshots``: the segments between
    the kept snapshots from the last, each with its now known length under
    the binomial schedule (``run_forward`` then ``run_backward``) with the
    slots the earlier snapshots leave free; ``snaps`` is emptied as it goes."""
    starts = sorted(snaps)
    ends = starts[1:] + [steps]
    for index in range(len(starts) - 1, -1, -1):
        start, end = starts[index], ends[index]
        free = snapshots - index  # (the snapshot at the start included)

        def shifted_advance(i, state, start=start):
            return advance(start + i, state)

        def shifted_reverse(i, state, dstate, start=start):
            return reverse_step(start + i, state, dstate)

        local: dict = {}
        run_forward(shifted_advance, end - start, free, snaps.pop(start), local)
        dstate = run_backward(shifted_advance, shifted_reverse, end - start, free, local, dstate)
    return dstate


def online_snapshots(advance, condition, snapshots: int, state, snaps: dict, steps: int | None = None):
    """The forward sweep of a checkpointed ``while`` loop (online thinning):
    a snapshot at each step that is a multiple of the stride (1 at first);
    when ``snapshots`` are held, every other one is dropped and the stride
    doubles. Runs while ``condition(state)`` holds (or ``steps`` steps when
    the count is known); returns (the final state, the trip count)."""
    stride, i = 1, 0
    while (i < steps) if steps is not None else condition(state):
        if i % stride == 0:
            if len(snaps) == snapshots:
                stride *= 2
                for j in [j for j in snaps if j % stride]:
                    del snaps[j]
            if i % stride == 0:
                snaps[i] = state
        state = advance(i, state)
        i += 1
    return state, i


def checkpointed_while(step, condition, snapshots, carried: tuple, readonly: tuple) -> tuple:
    """The forward sweep of ``while checkpointed(condition, snapshots=k)``
    whose body is ``carried = step(t, *carried, *readonly)`` (``t`` the step
    number) and whose test is ``condition(*carried, *readonly)``: the
    carried values after the loop, then the ``WhileRecord`` for
    ``checkpointed_loop_adjoint``. The condition is the primal's only."""
    if snapshots is None:
        snapshots = 32
    if not isinstance(snapshots, int) or isinstance(snapshots, bool) or snapshots < 1:
        raise ValueError(f"snapshots must be a positive integer, got {snapshots!r}")
    readonly, carried = tuple(readonly), tuple(carried)
    record = WhileRecord(step, None, snapshots, readonly, carried)
    record.values = _Steps()
    state, trips = online_snapshots(record.advance, lambda state: bool(condition(*state, *readonly)),
                                    snapshots, carried, record.snaps)
    record.values = range(trips)
    return (*state, record)


class _Steps:
    """The step numbers while the trip count is not yet known."""

    def __getitem__(self, i):
        return i


def accumulate(total, g):
    """``total + g`` for a sum of adjoints over steps, in place into
    ``total`` (a copy the driver owns) where both are NumPy arrays of the
    same shape and dtype: the sum costs no new array per step."""
    if total is None:
        return g.copy() if isinstance(g, np.ndarray) else g
    if isinstance(total, np.ndarray) and isinstance(g, np.ndarray) and total.shape == g.shape \
            and total.dtype == np.result_type(total, g) and total.flags.writeable:
        total += g
        return total
    return add(total, g)


def checkpointed_loop_adjoint(record: LoopRecord, fwd, bwd, positions: tuple, seeds: tuple) -> tuple:
    """The backward sweep of a checkpointed loop: each step's ``fwd`` (from
    the snapshots, recomputing as the binomial schedule says) then its
    ``bwd``. ``positions``: the step's parameters (after the loop variable:
    carried, then read-only) that have adjoints, in ``bwd``'s order;
    ``seeds``: the adjoints of the active carried values after the loop
    (None for zero). Returns the adjoints at ``positions``: of the carried
    values before the loop, and of the read-only ones summed over steps."""
    n = len(record.initial)
    dstate: list = [None] * n
    for p, seed in zip([p for p in positions if p < n], seeds):
        dstate[p] = seed
    sums: dict = {p: None for p in positions if p >= n}

    def reverse_step(i, state, dstate):
        result, tape = fwd(record.values[i], *state, *record.readonly)
        if n == 1:
            seed = dstate[0] if dstate[0] is not None else zeros_like(result)
        else:
            seed = tuple(d if d is not None else zeros_like(r) for d, r in zip(dstate, result))
        out = bwd(tape, seed)
        out = (out,) if len(positions) == 1 else out
        new: list = [None] * n
        for p, g in zip(positions, out):
            if p < n:
                new[p] = g
            else:
                sums[p] = accumulate(sums[p], g)
        return new

    steps = len(record.values)
    if record.reversed:  # reversed before (the split motion's backward, called again): the snapshots anew
        if isinstance(record, WhileRecord):
            online_snapshots(record.advance, None, record.snapshots, record.initial, record.snaps, steps)
        else:
            run_forward(record.advance, steps, record.snapshots, record.initial, record.snaps)
    record.reversed = True
    backward = reverse_segments if isinstance(record, WhileRecord) else run_backward
    dstate = backward(record.advance, reverse_step, steps, record.snapshots, record.snaps, dstate)
    values = record.initial + record.readonly
    out = [dstate[p] if p < n else sums[p] for p in positions]
    return tuple(zeros_like(values[p]) if g is None else g for p, g in zip(positions, out))


# ------------------------------------------------------------ forward over reverse
# tangent.hvp differentiates the generated gradient in forward mode; the rules
# of the two drivers (rules/checkpointing_rules.py) call these, which run the
# same schedule on (value, tangent) pairs with the forward-mode derivatives of
# the step, of its fwd and of its bwd. ``jvp_of(func, wrt)`` is set by
# tangent.api: a function of (*args, *tangents) -> (tangent, result).
jvp_of = None


class TangentRecord:
    """The tangent of a ``LoopRecord``: its snapshots again, as (value,
    tangent) pairs (the record's own are freed by its backward sweep), and
    the tangents of the read-only values."""

    __slots__ = ("snaps", "readonly")

    def __init__(self, snaps: dict, readonly: tuple):
        self.snaps = snaps
        self.readonly = readonly


def _tangents(tangents, values) -> tuple:
    """Tangents (None or missing: zeros) of ``values``."""
    tangents = tuple(tangents) if isinstance(tangents, (tuple, list)) else (None,) * len(values)
    return tuple(zeros_like(v) if t is None else t for t, v in zip(tangents, values))


def _pair_advance(step, values, readonly, dreadonly):
    """advance(i, (state, dstate)) for the schedule, on pairs."""
    n_args = None

    def advance(i, pair):
        nonlocal n_args
        state, dstate = pair
        positions = tuple(range(1, 1 + len(state) + len(readonly)))
        tangent, out = jvp_of(step, positions)(values[i], *state, *readonly, *dstate, *dreadonly)
        if len(state) == 1:
            return (out,), (tangent,)
        return tuple(out), _tangents(tangent, out)
    return advance


def checkpointed_loop_tangent(step, values, snapshots, carried, readonly, dcarried, dreadonly) -> tuple:
    """The tangent of ``checkpointed_loop(step, values, snapshots, carried,
    readonly)``: of the carried values after the loop, then a
    ``TangentRecord`` (the same snapshots, with their tangents)."""
    steps = len(values)
    if snapshots is None:
        snapshots = default_snapshots(steps)
    carried, readonly = tuple(carried), tuple(readonly)
    dcarried, dreadonly = _tangents(dcarried, carried), _tangents(dreadonly, readonly)
    advance = _pair_advance(step, values, readonly, dreadonly)
    taken = set(forward_snapshots(steps, snapshots)) if steps else set()
    pair, dsnaps = (carried, dcarried), {}
    for i in range(steps):
        if i in taken:
            dsnaps[i] = pair
        pair = advance(i, pair)
    return (*pair[1], TangentRecord(dsnaps, dreadonly))


def checkpointed_while_tangent(step, condition, snapshots, carried, readonly, dcarried, dreadonly) -> tuple:
    """The tangent of ``checkpointed_while(step, condition, snapshots,
    carried, readonly)``: of the carried values after the loop, then a
    ``TangentRecord`` (the same online schedule's snapshots, with their
    tangents); the condition reads the values only."""
    snapshots = 32 if snapshots is None else snapshots
    carried, readonly = tuple(carried), tuple(readonly)
    dcarried, dreadonly = _tangents(dcarried, carried), _tangents(dreadonly, readonly)
    advance = _pair_advance(step, _Steps(), readonly, dreadonly)
    dsnaps: dict = {}
    pair, _ = online_snapshots(advance, lambda pair: bool(condition(*pair[0], *readonly)), snapshots,
                               (carried, dcarried), dsnaps)
    return (*pair[1], TangentRecord(dsnaps, dreadonly))


def checkpointed_loop_adjoint_tangent(record: LoopRecord, drecord: TangentRecord, fwd, bwd, positions, seeds,
                                      dseeds) -> tuple:
    """The tangent of ``checkpointed_loop_adjoint(record, fwd, bwd,
    positions, seeds)`` (forward over reverse: the adjoints' tangents)."""
    n = len(record.initial)
    seeds, readonly, dreadonly = tuple(seeds), record.readonly, drecord.readonly
    dseeds = tuple(dseeds) if isinstance(dseeds, (tuple, list)) else (None,) * len(seeds)
    adj, dadj = [None] * n, [None] * n
    for p, seed, dseed in zip([p for p in positions if p < n], seeds, dseeds):
        adj[p], dadj[p] = seed, dseed
    sums: dict = {p: (None, None) for p in positions if p >= n}
    params = tuple(range(1, 1 + n + len(readonly)))

    def reverse_step(i, pair, adjoints):
        (state, dstate), (adj, dadj) = pair, adjoints
        dresult_out, (result, tape) = jvp_of(fwd, params)(record.values[i], *state, *readonly, *dstate, *dreadonly)
        dres, dtape = dresult_out
        results = (result,) if n == 1 else tuple(result)
        seed = tuple(a if a is not None else zeros_like(r) for a, r in zip(adj, results))
        dseed = tuple(t if t is not None else zeros_like(r) for t, r in zip(dadj, results))
        seed, dseed = (seed[0], dseed[0]) if n == 1 else (seed, dseed)
        dout, out = jvp_of(bwd, (0, 1))(tape, seed, dtape, dseed)
        if len(positions) == 1:
            out, dout = (out,), (dout,)
        new, dnew = [None] * n, [None] * n
        for p, g, dg in zip(positions, out, dout):
            if p < n:
                new[p], dnew[p] = g, dg
            else:
                total, dtotal = sums[p]
                sums[p] = (add(total, g), add(dtotal, dg))
        return new, dnew

    pairs = drecord.snaps
    advance = _pair_advance(record.step, record.values, readonly, dreadonly)
    backward = reverse_segments if isinstance(record, WhileRecord) else run_backward
    adj, dadj = backward(advance, reverse_step, len(record.values), record.snapshots, pairs, (adj, dadj))
    values = record.initial + readonly
    out = [dadj[p] if p < n else sums[p][1] for p in positions]
    return tuple(zeros_like(values[p]) if g is None else g for p, g in zip(positions, out))
