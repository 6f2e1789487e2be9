"""Where the microseconds of one gradient call go, on bench_styles.py's workloads.

For each workload and style, times (interleaved, one thread, process CPU time)
the hand-written gradient, Tangent's whole call, and each layer of the call
peeled off in turn:

- ``classes``: the wrapper choosing the derivative made for the classes of
  the arguments (tangent/argument_classes.py);
- ``ownership``: making the returned gradient the caller's own
  (tangent/ownership.py: fresh arrays, no input returned);
- ``key``: computing the specialisation key and looking it up
  (tangent/specialize.py, ``shapes.argument_kind``);
- ``code``: the specialised code itself (``df.tangent_specialized_for``).

Each layer's cost is the difference of two medians, so small ones are noisy:
repeat, and trust the larger numbers. ``--lines`` also prints the specialised
code with each top-level statement's share of its time (measured with a
clock call after every statement, scaled to the code's median), to compare
line by line with the hand-written gradient.

Usage::

    python benchmarks/overhead.py                       # mlp_small and gmm, every style
    python benchmarks/overhead.py --only mlp_small --style list --lines
    python benchmarks/overhead.py --all                 # every workload of bench_styles.py
"""

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import ast  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]
import bench  # noqa: E402
import bench_styles  # noqa: E402

import tangent  # noqa: E402
from tangent.shapes import argument_kind  # noqa: E402

PLAN = bench.TimingPlan(sample_time=0.02, budget=3.0, min_rounds=5, max_rounds=31)


LAYER_NAMES = {"argument_classes.py": "classes", "ownership.py": "ownership", "specialize.py": "key",
               "api.py": "check_finite"}


def layers(df, params, data):
    """[(layer name, the call from that layer down)] from the whole call to
    the specialised code (named "code"), and the specialised code."""
    chain, f = [], df
    while getattr(f, "__wrapped__", None) is not None and f is not df.tangent_generic:
        chain.append(f)
        f = f.__wrapped__
    impl = df.tangent_specialized_for(params, data)
    calls = [(LAYER_NAMES.get(os.path.basename(g.__code__.co_filename), g.__code__.co_name), _calling(g, params, data))
             for g in chain]
    return [*calls, ("code", lambda: impl(params, data))], impl


def _calling(g, params, data):
    return lambda: g(params, data)


def breakdown(w, plan):
    params, data = w.arguments(np.random.default_rng(0))
    df = tangent.grad(w.primal)
    want = w.hand(params, data)
    assert bench_styles.same(df(params, data), want, w), "the gradient differs from the hand-written one"
    calls, impl = layers(df, params, data)
    calls = [("hand", lambda: w.hand(params, data)), *calls,
             ("key alone", lambda: (argument_kind(params), argument_kind(data)))]
    medians, samples = bench.time_interleaved([c for _, c in calls], plan)
    t = [m * 1e6 for m in medians]
    spread = [(min(s) * 1e6, max(s) * 1e6) for s in samples]
    hand, whole, code = t[0], t[1], t[-2]
    print(f"\n{w.name} / {w.style.name}: hand {hand:.1f} us, tangent {whole:.1f} us ({whole / hand:.2f}x), "
          f"generated code alone {code:.1f} us ({code / hand:.2f}x)")
    for k in range(1, len(calls) - 2):
        print(f"  {calls[k][0]:14s} {t[k] - t[k + 1]:7.1f} us")
    for k in (len(calls) - 2, len(calls) - 1, 0):
        print(f"  {calls[k][0]:14s} {t[k]:7.1f} us  (samples {spread[k][0]:.1f}..{spread[k][1]:.1f})")
    return impl, params, data, code / 1e6


def per_line(impl, params, data, code_time, repeats=2000):
    """The specialised code with each top-level statement's share of its time."""
    source = tangent.source(impl)
    tree = ast.parse(source)
    fn = tree.body[0]
    ticks = [0.0] * len(fn.body)
    clock = time.perf_counter
    body = []
    for i, stmt in enumerate(fn.body):
        body.append(stmt)
        body.append(ast.parse(f"_overhead_tick({i})").body[0])
    fn.body = body
    state = {"last": 0.0}

    def tick(i):
        now = clock()
        ticks[i] += now - state["last"]
        state["last"] = clock()

    namespace = dict(impl.__globals__, _overhead_tick=tick)
    exec(compile(ast.fix_missing_locations(tree), "<overhead>", "exec"), namespace)
    timed = namespace[fn.name]
    for _ in range(repeats):
        state["last"] = clock()
        timed(params, data)
    total = sum(ticks)
    first = {stmt.lineno: i for i, stmt in enumerate(ast.parse(source).body[0].body)}
    for n, line in enumerate(source.splitlines(), 1):
        i = first.get(n)
        share = f"{ticks[i] / total * code_time * 1e6:6.1f} us" if i is not None else " " * 9
        print(f"  {share}  {line}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=sorted({w.name for w in bench_styles.WORKLOADS}))
    parser.add_argument("--style", choices=["dict", "list", "object"])
    parser.add_argument("--all", action="store_true", help="every workload (default: mlp_small and gmm)")
    parser.add_argument("--lines", action="store_true", help="also each statement's share of the code's time")
    parser.add_argument("--wall", action="store_true", help="the wall clock (default: process CPU time)")
    opts = parser.parse_args(argv)
    bench.CLOCK = time.perf_counter if opts.wall else time.process_time
    bench.settle_allocator()
    bench_styles.warm_up()
    wanted = None if opts.all else {opts.only} if opts.only else {"mlp_small", "gmm"}
    for w in bench_styles.WORKLOADS:
        if (wanted and w.name not in wanted) or (opts.style and w.style.name != opts.style):
            continue
        impl, params, data, code_time = breakdown(w, PLAN)
        if opts.lines:
            per_line(impl, params, data, code_time)


if __name__ == "__main__":
    main()
