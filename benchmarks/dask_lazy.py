"""Gradients over Dask data stay lazy: time and memory of a least-squares
gradient over 1.6 GB of chunked, lazily generated data.

The loss is written in plain NumPy, ``np.mean((X @ W - y) ** 2)``, with
``X`` a 20M x 10 float64 Dask array (1.6 GB, chunks of 500k rows) and ``y``
20M long, both generated chunk by chunk (``da.random``), never held whole.
For ``tangent.grad`` (and ``--modes`` jvp, hvp) the script prints

- the time the first call takes (transformation, specialisation and the
  Dask graph; nothing is computed), that of a second call (the graph only),
  and the type of what it returns,
- the time to compute the result and the process's peak RSS
  (``resource.getrusage``: each run is a fresh subprocess, so the peak is
  that run's own: imports, graph and computation),
- the largest difference from the closed form computed by Dask:
  ``2/n * X.T @ (X @ W - y)`` for the gradient, its dot with ``v`` for
  jvp, ``2/n * X.T @ (X @ v)`` for hvp (computed after the peak is read).

and the same gradient on a ``dask.distributed.LocalCluster`` (2 workers of
one thread, ``processes=False``: in this process, so its RSS counts).

Usage::

    python benchmarks/dask_lazy.py                  # 20M x 10 rows, grad + cluster, about a minute
    python benchmarks/dask_lazy.py --modes grad,jvp,hvp,cluster
    python benchmarks/dask_lazy.py --rows 2000000   # smaller
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def loss(W, X, y):
    return np.mean((X @ W - y) ** 2)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def run(mode: str, rows: int, chunk: int, cols: int) -> dict:
    """One measurement, in this process (run through ``main`` in a subprocess)."""
    sys.path.insert(0, ROOT)
    import dask
    import dask.array as da

    import tangent

    client = cluster = None
    if mode == "cluster":
        from dask.distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
        client = Client(cluster)
    rng = da.random.default_rng(0)
    X = rng.random((rows, cols), chunks=(chunk, cols))
    y = rng.random((rows,), chunks=(chunk,))
    W = np.linspace(-1.0, 1.0, cols)
    v = np.ones(cols)
    baseline = _peak_rss_mb()

    start = time.perf_counter()
    if mode in ("grad", "cluster"):
        derivative, arguments = tangent.grad(loss), (W, X, y)
    else:
        derivative, arguments = getattr(tangent, mode)(loss), (W, X, y, v)
    result = derivative(*arguments)  # the first call: transformation, specialisation, graph
    build = time.perf_counter() - start
    start = time.perf_counter()
    result = derivative(*arguments)  # again: only the graph is built
    again = time.perf_counter() - start
    kind = f"{type(result).__module__}.{type(result).__name__}"

    start = time.perf_counter()
    value = np.asarray(result.compute() if hasattr(result, "compute") else result)  # (computed already?)
    compute = time.perf_counter() - start
    peak = _peak_rss_mb()

    residual = X @ W - y
    if mode in ("grad", "cluster"):
        reference = 2 / rows * X.T @ residual
    elif mode == "jvp":
        reference = (2 / rows * X.T @ residual) @ v
    else:
        reference = 2 / rows * X.T @ (X @ v)
    reference = np.asarray(dask.compute(reference)[0])
    error = float(np.max(np.abs(value - reference)))
    scale = float(np.max(np.abs(reference)))
    if client is not None:
        client.close()
        cluster.close()
    return {"mode": mode, "rows": rows, "cols": cols, "chunk": chunk, "gb": rows * cols * 8 / 1e9,
            "build_s": build, "again_s": again, "type": kind, "compute_s": compute, "rss_before_mb": baseline,
            "peak_rss_mb": peak, "max_abs_error": error, "max_abs_reference": scale}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--cols", type=int, default=10)
    parser.add_argument("--chunk", type=int, default=500_000)
    parser.add_argument("--modes", default="grad,cluster", help="comma-separated: grad, jvp, hvp, cluster")
    parser.add_argument("--json", help="write the results to this file")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # run one mode here and print JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run(args.one, args.rows, args.chunk, args.cols)))
        return
    print(f"least-squares loss, X {args.rows} x {args.cols} float64 "
          f"({args.rows * args.cols * 8 / 1e9:.2f} GB) in chunks of {args.chunk} rows, generated lazily")
    results = []
    for mode in args.modes.split(","):
        out = subprocess.run([sys.executable, __file__, "--one", mode, "--rows", str(args.rows),
                              "--cols", str(args.cols), "--chunk", str(args.chunk)],
                             capture_output=True, text=True)
        if out.returncode:
            sys.exit(f"{mode} failed:\n{out.stderr}")
        r = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(r)
        name = "grad on LocalCluster(2 workers)" if mode == "cluster" else mode
        print(f"{name:32s} first call {r['build_s'] * 1000:5.0f} ms, next {r['again_s'] * 1000:4.0f} ms "
              f"-> {r['type']}; compute {r['compute_s']:5.1f} s; "
              f"peak RSS {r['peak_rss_mb']:6.0f} MB (before the call {r['rss_before_mb']:.0f} MB); "
              f"max |error| vs closed form {r['max_abs_error']:.1e} (values up to {r['max_abs_reference']:.2f})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
