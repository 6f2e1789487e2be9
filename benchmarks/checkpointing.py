"""Memory and time of checkpointed gradients (issue 14).

For a tanh RNN (hidden 256, loss = sum of the final state) at several
sequence lengths, and for a 1-D heat equation, the script prints the peak
traced memory (``tracemalloc``) and the time of one gradient call with:
no checkpointing, ``tangent.checkpoint(cell)`` in the loop,
``tangent.checkpointed(range(T), snapshots=k)`` for k = 10, 60, sqrt(T),
and ``tangent.grad(f, memory_limit=...)``. Each gradient is compared with
the plain one (max abs difference, printed). The first call of a gradient
specialises it; the figures are of a later call.

Usage::

    python benchmarks/checkpointing.py            # T = 1,000 / 4,000 / 16,000 and heat 10^5 steps
    python benchmarks/checkpointing.py --quick    # T = 200 / 1,000 and heat 10^4 steps
    python benchmarks/checkpointing.py --T 4000 --no-heat

Runs on one thread (the BLAS thread variables are set before NumPy loads).
"""

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import tangent  # noqa: E402

HIDDEN = 256


def cell(W, h, x):
    return np.tanh(W @ h + x)


def rnn_plain(W, h, xs):
    for t in range(xs.shape[0]):
        h = cell(W, h, xs[t])
    return np.sum(h)


def rnn_checkpoint(W, h, xs):
    for t in range(xs.shape[0]):
        h = tangent.checkpoint(cell)(W, h, xs[t])
    return np.sum(h)


def rnn_snapshots(W, h, xs, k):
    for t in tangent.checkpointed(range(xs.shape[0]), snapshots=k):
        h = cell(W, h, xs[t])
    return np.sum(h)


def heat(u, r, steps):
    for _t in range(steps):
        u = u + r * (np.roll(u, 1) - 2.0 * u + np.roll(u, -1))
    return np.sum(u * u)


def measure(df, args, repeat=1, warm=None, timed=True):
    """(peak traced bytes, seconds, result) of a call of ``df`` after a
    first call (with ``warm``, arguments of the same shapes, if given: the
    first call specialises the code to the shapes); without ``timed`` the
    seconds are those of the traced call."""
    df(*(warm or args))
    best = math.inf
    for _ in range(repeat):
        tracemalloc.start()
        start = time.perf_counter()
        out = df(*args)
        seconds = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        best = min(best, seconds)
    if not timed:
        return peak, best, out
    # time without tracing (tracemalloc slows allocation down)
    times = []
    for _ in range(max(repeat, 1)):
        start = time.perf_counter()
        df(*args)
        times.append(time.perf_counter() - start)
    return peak, min(times), out


def difference(a, b):
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))


def rnn_rows(T):
    rng = np.random.default_rng(0)
    W = rng.normal(size=(HIDDEN, HIDDEN)) / math.sqrt(HIDDEN)
    h = rng.normal(size=HIDDEN)
    xs = rng.normal(size=(T, HIDDEN))
    args = (W, h, xs)
    plain = tangent.grad(rnn_plain, wrt=(0, 1))
    peak0, time0, ref = measure(plain, args)
    rows = [(f"rnn T={T}", "plain", peak0, time0, 0.0, peak0, time0)]
    variants = [("checkpoint(cell)", tangent.grad(rnn_checkpoint, wrt=(0, 1)), args)]
    snapshots = rnn_snapshots
    for k in (10, 60, math.isqrt(T)):
        variants.append((f"snapshots={k}", tangent.grad(snapshots, wrt=(0, 1)), args + (k,)))
    limit = "2.5 MB"  # (the adjoint of W and its parts take about 1 MB whatever T)
    variants.append((f"memory_limit={limit}", tangent.grad(rnn_plain, wrt=(0, 1), memory_limit=limit), args))
    for label, df, call_args in variants:
        peak, seconds, out = measure(df, call_args)
        if label.startswith("memory_limit"):
            label += " (within)" if peak <= tangent.runtime.checkpointing.parse_memory(limit) else " (OVER)"
        rows.append((f"rnn T={T}", label, peak, seconds, difference(out, ref), peak0, time0))
    return rows


def heat_rows(steps, points, plain_steps, limits_only=False):
    """The heat equation: plain at ``plain_steps`` (the tape of 10^5 steps
    does not fit), memory_limit at ``steps``; the limit is checked. With
    ``limits_only``, only the memory_limit rows at ``steps``."""
    u = np.sin(np.linspace(0.0, 2 * np.pi, points))
    r = 0.25
    rows = []
    for limit in ("10 MB", "1 MB") if limits_only else ():
        df = tangent.grad(heat, wrt=(0, 1), memory_limit=limit)
        peak, seconds, out = measure(df, (u, r, steps), warm=(u, r, 10), timed=False)
        within = "within" if peak <= tangent.runtime.checkpointing.parse_memory(limit) else "OVER"
        show([(f"heat {steps}", f"memory_limit={limit} ({within})", peak, seconds, math.nan, math.nan, math.nan)])
    if limits_only:
        return []
    plain = tangent.grad(heat, wrt=(0, 1))
    peak0, time0, ref = measure(plain, (u, r, plain_steps))
    rows.append((f"heat {plain_steps}", f"plain (N={points})", peak0, time0, 0.0, peak0, time0))
    short = tangent.grad(heat, wrt=(0, 1), memory_limit="1 MB")
    peak, seconds, out = measure(short, (u, r, plain_steps))
    rows.append((f"heat {plain_steps}", "memory_limit=1 MB", peak, seconds, difference(out, ref), peak0, time0))
    for limit in ("1 MB", "10 MB"):
        df = tangent.grad(heat, wrt=(0, 1), memory_limit=limit)
        peak, seconds, out = measure(df, (u, r, steps), warm=(u, r, 10))
        within = "within" if peak <= tangent.runtime.checkpointing.parse_memory(limit) else "OVER"
        rows.append((f"heat {steps}", f"memory_limit={limit} ({within})", peak, seconds, math.nan, math.nan, math.nan))
    return rows


def show_header():
    print(f"{'workload':<16} {'gradient':<30} {'peak MB':>9} {'% plain':>8} {'time s':>8} {'x plain':>8} {'max |diff|':>11}")


def show(rows):
    for work, label, peak, seconds, diff, peak0, time0 in rows:
        print(f"{work:<16} {label:<30} {peak / 1e6:9.2f} {100 * peak / peak0:7.1f}% {seconds:8.3f} "
              f"{seconds / time0:8.2f} {diff:11.1e}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller T")
    parser.add_argument("--T", type=int, nargs="*", help="sequence lengths of the RNN")
    parser.add_argument("--no-heat", action="store_true", help="the RNN only")
    parser.add_argument("--heat-only", action="store_true",
                        help="only the heat equation's memory_limit rows at 10^5 steps (time: of the traced call)")
    options = parser.parse_args()
    lengths = options.T or ([200, 1000] if options.quick else [1000, 4000, 16000])
    show_header()
    if options.heat_only:
        heat_rows(10**5, 1000, 0, limits_only=True)
        return
    for T in lengths:
        show(rnn_rows(T))
    if not options.no_heat:
        show(heat_rows(10**4 if options.quick else 10**5, 1000, 10**3 if options.quick else 10**4))
    print("(% plain and x plain: against the plain gradient of the same workload and length; the heat equation's "
          "plain tape at the longest length does not fit: only memory_limit runs there)")


if __name__ == "__main__":
    main()
