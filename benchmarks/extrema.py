"""The adjoint of max/min alone: the mask of shares against the scatter.

``grad_extremum`` (and the specialised ``grad_extremum_kept``) place the
adjoint where the extremum is (``tangent.runtime.extrema.extremum_positions``
and ``extremum_scatter``) instead of building ``(x == z) * g / count``. This
times both on GradBench's lse (max of 160,000 values) and kmeans (min over
axis 1 of a 1000 x 100 array) shapes, interleaving the two, one thread, and
prints medians.

Usage::

    python benchmarks/extrema.py
"""

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from tangent.rules.numpy_fast_rules import grad_extremum_kept  # noqa: E402
from tangent.rules.numpy_rules import grad_extremum  # noqa: E402


def mask_kept(g, z, a, axis):
    """The previous grad_extremum_kept: a full-size mask of shares."""
    chosen = a == z
    return chosen * (g / np.sum(chosen, axis=axis, keepdims=True))


def mask_axis(g, z, a, axis):
    """The previous grad_extremum for one axis without keepdims."""
    zk = np.expand_dims(z, axis)
    hit = a == zk
    return np.expand_dims(g, axis) * (hit / np.maximum(np.sum(hit, axis=axis, keepdims=True), 1))


def best_of(f, number):
    start = time.perf_counter()
    for _ in range(number):
        f()
    return (time.perf_counter() - start) / number


def main():
    rng = np.random.default_rng(0)
    x = rng.uniform(-100.0, 100.0, 160_000)
    distances = rng.random((1000, 100))
    cases = {
        "lse: max of 160000, adjoint 1e-16": (
            lambda: mask_kept(1e-16, np.max(x), x, None), lambda: grad_extremum_kept(1e-16, np.max(x), x, None)),
        "kmeans: min over axis 1 of 1000 x 100": (
            lambda: mask_axis(np.ones(1000), distances.min(axis=1), distances, 1),
            lambda: grad_extremum(np.ones(1000), distances.min(axis=1), distances, 1)),
    }
    for name, (old, new) in cases.items():
        np.testing.assert_allclose(old(), new(), rtol=1e-15)
        times = {"mask": [], "scatter": []}
        for _ in range(15):  # interleaved repeats
            times["mask"].append(best_of(old, 50))
            times["scatter"].append(best_of(new, 50))
        m, s = statistics.median(times["mask"]), statistics.median(times["scatter"])
        print(f"{name}: mask {m * 1e6:.0f} us, scatter {s * 1e6:.0f} us ({m / s:.2f}x faster; medians of 15)")


if __name__ == "__main__":
    main()
