"""Cost of gradients that accumulate into containers and indexed arrays.

Gradients of values read by index in a loop (``xs[t]`` of a list or of a 2-D
array, ``layers[i]`` of a list of ``(W, b)`` tuples) are built one
contribution per step. This script prints, for each workload, the time of
Tangent's gradient over the time of the primal: when each contribution costs
O(its own size), the ratio stays flat as the number of steps T grows; when
each step allocates or adds a full-size adjoint, it grows with T.

Workloads:

* ``rnn_list``: tanh RNN (input 32, hidden 64, batch 16: the sizes of
  ``bench.py``'s rnn), ``xs`` a list of T arrays of shape (16, 32), loss the
  sum of squares of the final state, gradient w.r.t. ``xs``;
* ``rnn_array``: the same with ``xs`` a T x 16 x 32 array indexed ``xs[t]``;
* ``mlp_layers``: an MLP over a list of 128 ``(W, b)`` layers (width 16,
  batch 4), gradient w.r.t. the list of layers.

Each also against a gradient written by hand (column "by hand": its time
over the primal's, the floor for a gradient in NumPy; the list RNN's is the
array one's over ``np.asarray(xs)``, listed back).

Every gradient is checked against central finite differences on a small
instance first. Timing: one thread, medians of interleaved repeats, in the
process's CPU time (``--wall``: the wall clock), which other processes on a
loaded machine inflate less.

Usage::

    python benchmarks/accumulation.py            # about half a minute
    python benchmarks/accumulation.py --quick    # fewer repeats, T up to 1,600
"""

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import argparse
import statistics
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)  # this checkout's tangent, not an installed one

import tangent  # noqa: E402

N_IN, N_HIDDEN, BATCH = 32, 64, 16  # the sizes of benchmarks/bench.py's rnn


def rnn_list(Wx, Wh, b, xs):
    h = np.zeros((xs[0].shape[0], Wh.shape[0]))
    for t in range(len(xs)):
        h = np.tanh(xs[t] @ Wx + h @ Wh + b)
    return np.sum(h * h)


def rnn_array(Wx, Wh, b, xs):
    h = np.zeros((xs.shape[1], Wh.shape[0]))
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ Wx + h @ Wh + b)
    return np.sum(h * h)


def rnn_array_grad(Wx, Wh, b, xs):
    """The gradient of rnn_array w.r.t. xs, written by hand (the reference)."""
    hs = [np.zeros((xs.shape[1], Wh.shape[0]))]
    for t in range(xs.shape[0]):
        hs.append(np.tanh(xs[t] @ Wx + hs[-1] @ Wh + b))
    dxs = np.empty_like(xs)
    dh = 2.0 * hs[-1]
    for t in reversed(range(xs.shape[0])):
        dz = dh * (1.0 - hs[t + 1] * hs[t + 1])
        dxs[t] = dz @ Wx.T
        dh = dz @ Wh.T
    return dxs


def rnn_list_grad(Wx, Wh, b, xs):
    """The gradient of rnn_list w.r.t. xs, written by hand."""
    return list(rnn_array_grad(Wx, Wh, b, np.asarray(xs)))


def mlp_layers(layers, x):
    for i in range(len(layers)):
        W, b = layers[i]
        x = np.tanh(x @ W + b)
    return np.sum(x * x)


def mlp_layers_grad(layers, x):
    """The gradient of mlp_layers w.r.t. layers, written by hand."""
    xs = [x]
    for W, b in layers:
        xs.append(np.tanh(xs[-1] @ W + b))
    dx = 2.0 * xs[-1]
    grads = [None] * len(layers)
    for i in reversed(range(len(layers))):
        dz = dx * (1.0 - xs[i + 1] * xs[i + 1])
        grads[i] = (xs[i].T @ dz, dz.sum(axis=0))
        dx = dz @ layers[i][0].T
    return grads


def rnn_args(rng, steps, as_array, n_in=N_IN, n_hidden=N_HIDDEN, batch=BATCH):
    Wx = rng.standard_normal((n_in, n_hidden)) / np.sqrt(n_in)
    Wh = 0.9 * rng.standard_normal((n_hidden, n_hidden)) / np.sqrt(n_hidden)
    b = 0.1 * rng.standard_normal(n_hidden)
    xs = rng.standard_normal((steps, batch, n_in))
    return Wx, Wh, b, (xs if as_array else list(xs))


def mlp_args(rng, n_layers=128, width=16, batch=4):
    layers = [
        (rng.standard_normal((width, width)) / np.sqrt(width), 0.1 * rng.standard_normal(width))
        for _ in range(n_layers)
    ]
    return layers, rng.standard_normal((batch, width))


def _flatten(g):
    if isinstance(g, (list, tuple)):
        return np.concatenate([_flatten(v) for v in g]) if len(g) else np.zeros(0)
    return np.ravel(np.asarray(g, dtype=float))


def check(f, args, wrt, set_leaf, leaves):
    """Tangent's gradient against central differences in float64 on the
    leaves (each an (index path, array) pair) of argument ``wrt``."""
    df = tangent.grad(f, wrt=(wrt,))
    got = _flatten(df(*args))
    want = []
    for path, leaf in leaves:
        for k in range(leaf.size):
            e = np.zeros(leaf.size)
            e[k] = 1e-6
            plus = f(*set_leaf(args, path, leaf + e.reshape(leaf.shape)))
            minus = f(*set_leaf(args, path, leaf - e.reshape(leaf.shape)))
            want.append((plus - minus) / 2e-6)
    if not np.allclose(got, want, rtol=1e-5, atol=1e-7):
        raise SystemExit(f"{f.__name__}: gradient differs from finite differences")


def check_all():
    rng = np.random.default_rng(1)
    args = rnn_args(rng, 4, as_array=False, n_in=3, n_hidden=4, batch=2)

    def set_list(a, i, v):
        xs = list(a[3])
        xs[i] = v
        return a[0], a[1], a[2], xs

    check(rnn_list, args, 3, set_list, list(enumerate(args[3])))
    args = rnn_args(rng, 4, as_array=True, n_in=3, n_hidden=4, batch=2)
    check(rnn_array, args, 3, lambda a, _, v: (a[0], a[1], a[2], v), [(None, args[3])])
    if not np.allclose(rnn_array_grad(*args), tangent.grad(rnn_array, wrt=(3,))(*args)):
        raise SystemExit("rnn_array_grad differs from the checked gradient")
    layers, x = mlp_args(rng, n_layers=3, width=3, batch=2)

    def set_layer(a, path, v):
        i, j = path
        new = list(a[0])
        pair = list(new[i])
        pair[j] = v
        new[i] = tuple(pair)
        return new, a[1]

    check(mlp_layers, (layers, x), 0, set_layer, [((i, j), layers[i][j]) for i in range(3) for j in range(2)])
    if not np.allclose(_flatten(mlp_layers_grad(layers, x)), _flatten(tangent.grad(mlp_layers)(layers, x))):
        raise SystemExit("mlp_layers_grad differs from the checked gradient")
    args = rnn_args(rng, 4, as_array=False, n_in=3, n_hidden=4, batch=2)
    if not np.allclose(_flatten(rnn_list_grad(*args)), _flatten(tangent.grad(rnn_list, wrt=(3,))(*args))):
        raise SystemExit("rnn_list_grad differs from the checked gradient")


CLOCK = time.process_time


def time_calls(calls, args, repeats):
    """Median times of each of ``calls`` (label -> function) on ``args``,
    interleaved."""
    for fn in calls.values():
        fn(*args)  # the first call of a derivative specialises it
    samples = {label: [] for label in calls}
    for _ in range(repeats):
        for label, fn in calls.items():
            number, elapsed = 1, 0.0
            while True:
                start = CLOCK()
                for _ in range(number):
                    fn(*args)
                elapsed = CLOCK() - start
                if elapsed > 0.02:
                    break
                number *= 2
            samples[label].append(elapsed / number)
    return {label: statistics.median(times) for label, times in samples.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats, T up to 1,600")
    parser.add_argument("--wall", action="store_true", help="time by the wall clock (default: CPU time)")
    options = parser.parse_args()
    global CLOCK
    CLOCK = time.perf_counter if options.wall else time.process_time
    repeats = 3 if options.quick else 7
    steps = (100, 1600) if options.quick else (100, 1600, 6400)
    check_all()
    rng = np.random.default_rng(0)
    print(f"{'workload':<28} {'primal':>10} {'gradient':>10} {'ratio':>7} {'by hand':>8}")

    def row(label, times):
        p, g = times["primal"], times["grad"]
        hand = f"{times['hand'] / p:>7.1f}x" if "hand" in times else ""
        print(f"{label:<28} {p * 1e3:>8.2f}ms {g * 1e3:>8.2f}ms {g / p:>6.1f}x {hand:>8}", flush=True)

    for label, f, as_array in (("rnn, xs a list", rnn_list, False), ("rnn, xs a 3-D array", rnn_array, True)):
        df = tangent.grad(f, wrt=(3,))
        for steps_t in steps:
            args = rnn_args(rng, steps_t, as_array)
            calls = {"primal": f, "grad": df, "hand": rnn_array_grad if as_array else rnn_list_grad}
            row(label + f", T={steps_t:,}", time_calls(calls, args, repeats))
    df = tangent.grad(mlp_layers, wrt=(0,))
    calls = {"primal": mlp_layers, "grad": df, "hand": mlp_layers_grad}
    row("mlp, 128 (W, b) layers", time_calls(calls, mlp_args(rng), repeats))


if __name__ == "__main__":
    main()
