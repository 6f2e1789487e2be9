"""Command line: ``python -m tangent demo``.

The demo differentiates a small two-layer network, prints the generated
gradient source and checks it against central finite differences.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import tangent


def mlp_loss(W1, b1, W2, b2, x, y):
    """Squared error of a two-layer tanh network."""
    h = np.tanh(x @ W1 + b1)
    out = h @ W2 + b2
    err = out - y
    return np.mean(err * err)


def _finite_difference(f, args, index, eps=1e-6):
    arg = np.array(args[index], dtype=float)
    grad = np.zeros_like(arg)
    for k in np.ndindex(arg.shape):
        plus, minus = arg.copy(), arg.copy()
        plus[k] += eps
        minus[k] -= eps
        hi = f(*args[:index], plus, *args[index + 1:])
        lo = f(*args[:index], minus, *args[index + 1:])
        grad[k] = (hi - lo) / (2 * eps)
    return grad


def demo() -> int:
    rng = np.random.default_rng(0)
    W1, b1 = rng.normal(size=(3, 4)), rng.normal(size=4)
    W2, b2 = rng.normal(size=(4, 2)), rng.normal(size=2)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    args = [W1, b1, W2, b2, x, y]

    dloss = tangent.grad(mlp_loss, wrt=(0, 1, 2, 3))
    print("Tangent differentiated this function:\n")
    import inspect

    print(inspect.getsource(mlp_loss))
    print("into this Python source (tangent.source(dloss)):\n")
    print(tangent.source(dloss))
    grads = dloss(*args)
    worst = 0.0
    for index, (name, g) in enumerate(zip(["W1", "b1", "W2", "b2"], grads)):
        reference = _finite_difference(mlp_loss, args, index)
        error = float(np.max(np.abs(g - reference)))
        worst = max(worst, error)
        print(f"d{name}: shape {g.shape}, max |tangent - finite differences| = {error:.2e}")
    ok = worst < 1e-6
    print("\nGradient check:", "OK" if ok else "FAILED")
    return 0 if ok else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tangent", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("demo", help="differentiate a small network and check the gradient")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return demo()
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
