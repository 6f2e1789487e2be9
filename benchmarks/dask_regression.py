"""Out-of-core least squares on a dask.distributed LocalCluster: the worked
example of docs/dask.md.

The data (20M x 10 float64, 1.6 GB, in chunks of 500k rows) is generated
lazily and never held whole. ``tangent.grad`` and ``tangent.hvp`` of the
NumPy loss give lazy Dask arrays; ten conjugate-gradient steps (one
Hessian-vector product, so one pass over the chunks, each) solve the normal
equations. Prints the time, the error against the weights the data was made
with, the final gradient's norm and the process's peak RSS.

Usage::

    python benchmarks/dask_regression.py             # 20M rows, about two minutes
    python benchmarks/dask_regression.py --rows 200000
    python benchmarks/dask_regression.py --processes  # workers in processes (their RSS not counted)
"""

import argparse
import resource
import sys
import time
from pathlib import Path

import dask.array as da
import numpy as np
from dask.distributed import Client, LocalCluster

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import tangent  # noqa: E402


def loss(W, X, y):
    return np.mean((X @ W - y) ** 2)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="out-of-core least squares on a LocalCluster")
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--chunk", type=int, default=500_000)
    parser.add_argument("--processes", action="store_true", help="workers in their own processes")
    args = parser.parse_args()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=args.processes,
                      dashboard_address=None) as cluster, Client(cluster):
        rng = da.random.default_rng(0)
        n, chunk = args.rows, args.chunk                 # 20M x 10: 1.6 GB, never held whole
        X = rng.random((n, 10), chunks=(chunk, 10))
        W_true = np.linspace(-1.0, 1.0, 10)
        y = X @ W_true + 0.01 * rng.standard_normal(n, chunks=chunk)

        grad, hvp = tangent.grad(loss), tangent.hvp(loss)
        start = time.perf_counter()
        W = np.zeros(10)
        r = -grad(W, X, y).compute()                     # one pass over the chunks
        p = r
        for _ in range(10):                              # conjugate gradients: H d = -g
            Hp = hvp(W, X, y, p).compute()               # one pass per Hessian-vector product
            alpha = (r @ r) / (p @ Hp)
            W = W + alpha * p
            r_next = r - alpha * Hp
            p, r = r_next + (r_next @ r_next) / (r @ r) * p, r_next
        print(f"{time.perf_counter() - start:.0f} s; max |W - W_true| = {np.abs(W - W_true).max():.1e}; "
              f"gradient norm {np.linalg.norm(grad(W, X, y).compute()):.1e}; "
              f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
