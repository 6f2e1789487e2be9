"""Forward over reverse against reverse over forward, per workload.

``tangent.hvp`` differentiates the gradient in forward mode, except for
code with loops called with arrays only, where it takes the gradient of the
generated jvp (see ``tangent.api.hvp``). This prints, for bench.py's
workloads and bench_styles.py's dict style, both strategies' time as a
multiple of one gradient (medians over interleaved rounds of the process's
CPU time, which other processes inflate less than the wall clock; one
thread), so that the choice can be checked::

    python benchmarks/hvp_strategies.py                 # a few minutes
    python benchmarks/hvp_strategies.py --only rnn

Both products are checked against each other before timing.
"""

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (puts this checkout's tangent first on the path)
import bench_styles  # noqa: E402

import tangent  # noqa: E402
from tangent.api import autodiff  # noqa: E402
from tangent.hvp_vectors import plain_vector  # noqa: E402


def leaves(value):
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in leaves(v)]
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in leaves(v)]
    return [value]


def cases(only):
    for w in bench.WORKLOADS:
        if only in (None, w.name):
            rng = np.random.default_rng(0)
            args = w.make_args(rng)
            vectors = [rng.standard_normal(np.shape(args[i])) for i in w.wrt]
            yield w.name, "positional", w.primal, w.wrt, list(args), vectors
    for w in bench_styles.WORKLOADS:
        if only in (None, w.name) and w.style.name == "dict":
            rng = np.random.default_rng(0)
            params, data = w.arguments(rng)
            v = w.style.pack_grad([rng.standard_normal(np.shape(p)) for p in w.style.unpack(params)])
            yield w.name, "dict", w.primal, (0,), [params, data], [v]


def measure(primal, wrt, args, vectors, rounds):
    vectors = [plain_vector(args[i], v) for i, v in zip(wrt, vectors, strict=True)]  # (as tangent.hvp runs them)
    gradient = tangent.grad(primal, wrt=wrt)
    forward_over_reverse = autodiff(gradient.tangent_specialized_for(*args, 1.0), wrt, "forward")  # (as tangent.hvp)
    reverse_over_forward = tangent.grad(tangent.jvp(primal, wrt=wrt), wrt=wrt)
    a = forward_over_reverse(*args, 1.0, *vectors)
    b = reverse_over_forward(*args, *vectors)
    assert all(np.allclose(x, y) for x, y in zip(leaves(a), leaves(b), strict=True))
    calls = {"grad": lambda: gradient(*args), "fwd/rev": lambda: forward_over_reverse(*args, 1.0, *vectors),
             "rev/fwd": lambda: reverse_over_forward(*args, *vectors)}
    start = time.process_time()
    calls["grad"]()
    repeat = max(1, int(0.02 / max(time.process_time() - start, 1e-7)))
    times = {k: [] for k in calls}
    for r in range(rounds):
        for k, call in (list(calls.items()) if r % 2 else list(calls.items())[::-1]):
            start = time.process_time()
            for _ in range(repeat):
                call()
            times[k].append((time.process_time() - start) / repeat)
    grad = np.array(times["grad"])
    return np.median(grad), {k: float(np.median(np.array(times[k]) / grad)) for k in ("fwd/rev", "rev/fwd")}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=sorted({w.name for w in bench.WORKLOADS}))
    parser.add_argument("--rounds", type=int, default=15)
    opts = parser.parse_args(argv)
    print(f"{'workload':12s} {'style':10s} {'grad':>10s} {'fwd/rev':>8s} {'rev/fwd':>8s}")
    for name, style, primal, wrt, args, vectors in cases(opts.only):
        try:
            grad, ratios = measure(primal, wrt, args, vectors, opts.rounds)
        except Exception as exc:
            print(f"{name:12s} {style:10s} FAILS: {bench.describe_error(exc)}", flush=True)
            continue
        print(f"{name:12s} {style:10s} {bench.fmt_time(grad):>10s} {ratios['fwd/rev']:7.2f}x {ratios['rev/fwd']:7.2f}x",
              flush=True)
    print("\nratios: one Hessian-vector product / one gradient, median over interleaved rounds")


if __name__ == "__main__":
    main()
