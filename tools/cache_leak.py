"""Measure what the derivative cache keeps when every step differentiates a
new closure (the training-loop idiom ``grad(lambda-like closure)`` per step).

    python tools/cache_leak.py [--steps 1000]

Prints the memory tracemalloc sees allocated and still held after the loop
(after a full garbage collection), per step and in total. With the cache
holding functions weakly it stays bounded whatever the step count.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import tangent  # noqa: E402


def make_loss(data):
    def loss(w):
        return np.sum(np.tanh(data @ w) ** 2)

    return loss


def held_after(steps: int, size: int = 100) -> int:
    """Bytes still allocated after ``steps`` steps, each taking the gradient
    of a new closure over a new ``size`` x ``size`` array."""
    rng = np.random.default_rng(0)
    w = np.ones(size)
    tangent.grad(make_loss(rng.normal(size=(size, size))))(w)  # warm up: rules loaded, imports done
    gc.collect()
    tracemalloc.start()
    start, _ = tracemalloc.get_traced_memory()
    for _ in range(steps):
        loss = make_loss(rng.normal(size=(size, size)))
        tangent.grad(loss)(w)
    del loss
    gc.collect()
    end, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return end - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args()
    held = held_after(args.steps)
    print(f"{args.steps} steps, a new closure over a 100x100 array each: "
          f"{held / 1e6:.2f} MB still held ({held / args.steps / 1e3:.1f} kB per step)")


if __name__ == "__main__":
    main()
