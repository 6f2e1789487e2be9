"""An MLP written as a loop over a list of ``(W, b)`` layers of different widths,
and one written out with its hidden state reassigned (``h = ...; h = ...``).

The way many people write a network in NumPy::

    def mlp(layers, data):
        h = data["x"]
        for W, b in layers[:-1]:
            h = np.tanh(h @ W + b)
        W, b = layers[-1]
        return np.mean((h @ W + b - data["y"]) ** 2)

Each step of the loop has weights of another shape, so the loop's variables
have no single shape: the code specialised to the call keeps the generic
helpers in the loop (``unbroadcast``, ``matmul_adjoint_*``, ``add_at`` on the
list's and the tuples' adjoints). This prints Tangent's gradient,
value_and_grad and HVP against a gradient written by hand, checked against
it first (the HVP against central differences of the gradient). The second
network, three layers written out reassigning ``h`` (16-32-8-4), has a name
per value in the normal form (``tangent/versions.py``), so its specialised
gradient is plain NumPy; it is timed the same way.

Usage::

    python benchmarks/layer_loop.py            # widths 16-32-32-32-4, batch 8
    python benchmarks/layer_loop.py --quick
"""

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import bench  # noqa: E402

import tangent  # noqa: E402


def mlp(layers, data):
    h = data["x"]
    for W, b in layers[:-1]:
        h = np.tanh(h @ W + b)
    W, b = layers[-1]
    out = h @ W + b
    return np.mean((out - data["y"]) ** 2)


def mlp_grad(layers, data):
    """The gradient of mlp w.r.t. layers, written by hand."""
    hs = [data["x"]]
    for W, b in layers[:-1]:
        hs.append(np.tanh(hs[-1] @ W + b))
    W, b = layers[-1]
    out = hs[-1] @ W + b
    d = 2.0 * (out - data["y"]) / out.size
    grads = [None] * len(layers)
    grads[-1] = (hs[-1].T @ d, d.sum(axis=0))
    d = d @ W.T
    for i in range(len(layers) - 2, -1, -1):
        dz = d * (1.0 - hs[i + 1] * hs[i + 1])
        grads[i] = (hs[i].T @ dz, dz.sum(axis=0))
        d = dz @ layers[i][0].T
    return grads


def reassigned(p, data):
    h = np.tanh(data["x"] @ p["W1"] + p["b1"])
    h = np.tanh(h @ p["W2"] + p["b2"])
    h = h @ p["W3"] + p["b3"]
    return np.mean((h - data["y"]) ** 2)


def reassigned_grad(p, data):
    """The gradient of reassigned w.r.t. p, written by hand."""
    h1 = np.tanh(data["x"] @ p["W1"] + p["b1"])
    h2 = np.tanh(h1 @ p["W2"] + p["b2"])
    out = h2 @ p["W3"] + p["b3"]
    d = 2.0 * (out - data["y"]) / out.size
    dz2 = (d @ p["W3"].T) * (1.0 - h2 * h2)
    dz1 = (dz2 @ p["W2"].T) * (1.0 - h1 * h1)
    return {"W1": data["x"].T @ dz1, "b1": dz1.sum(axis=0), "W2": h1.T @ dz2, "b2": dz2.sum(axis=0),
            "W3": h2.T @ d, "b3": d.sum(axis=0)}


def arguments(rng, widths, batch):
    layers = [(rng.standard_normal((a, b)) / np.sqrt(a), 0.1 * rng.standard_normal(b))
              for a, b in zip(widths[:-1], widths[1:])]
    return layers, {"x": rng.standard_normal((batch, widths[0])), "y": rng.standard_normal((batch, widths[-1]))}


def _flat(grads):
    return np.concatenate([np.ravel(a) for pair in grads for a in pair])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter rounds")
    opts = parser.parse_args(argv)
    plan = bench.QUICK_PLAN if opts.quick else bench.DEFAULT_PLAN
    rng = np.random.default_rng(0)
    layers, data = arguments(rng, [16, 32, 32, 32, 4], 8)
    df, vg, hvp = tangent.grad(mlp), tangent.value_and_grad(mlp), tangent.hvp(mlp)
    if not np.allclose(_flat(df(layers, data)), _flat(mlp_grad(layers, data))) \
            or not np.allclose(_flat(vg(layers, data)[1]), _flat(mlp_grad(layers, data))):
        raise SystemExit("tangent.grad or value_and_grad differs from the hand-written gradient")
    vector = [(rng.standard_normal(W.shape), rng.standard_normal(b.shape)) for W, b in layers]
    eps = 1e-6
    moved = [mlp_grad([(W + s * eps * vW, b + s * eps * vb) for (W, b), (vW, vb) in zip(layers, vector)], data)
             for s in (1, -1)]
    if not np.allclose(_flat(hvp(layers, data, vector)), (_flat(moved[0]) - _flat(moved[1])) / (2 * eps),
                       rtol=1e-4, atol=1e-6):
        raise SystemExit("tangent.hvp differs from differences of the gradient")
    calls = [lambda: mlp(layers, data), lambda: mlp_grad(layers, data), lambda: df(layers, data),
             lambda: vg(layers, data), lambda: hvp(layers, data, vector)]
    _report("a loop over layers, widths 16-32-32-32-4, batch 8", bench.time_interleaved(calls, plan)[0])
    p = {}
    for i, (a, b) in enumerate(([16, 32], [32, 8], [8, 4]), 1):
        p[f"W{i}"], p[f"b{i}"] = rng.standard_normal((a, b)) / np.sqrt(a), 0.1 * rng.standard_normal(b)
    data = {"x": data["x"], "y": rng.standard_normal((8, 4))}
    df, vg, hvp = tangent.grad(reassigned), tangent.value_and_grad(reassigned), tangent.hvp(reassigned)
    g, (_, g2), want = df(p, data), vg(p, data), reassigned_grad(p, data)
    if not all(np.allclose(g[k], want[k]) and np.allclose(g2[k], want[k]) for k in p):
        raise SystemExit("tangent.grad or value_and_grad of reassigned differs from the hand-written gradient")
    vector = {k: rng.standard_normal(v.shape) for k, v in p.items()}
    hvp(p, data, vector)  # (every derivative called once before timing: the first call specialises)
    calls = [lambda: reassigned(p, data), lambda: reassigned_grad(p, data), lambda: df(p, data),
             lambda: vg(p, data), lambda: hvp(p, data, vector)]
    _report("h reassigned, widths 16-32-8-4, batch 8", bench.time_interleaved(calls, plan)[0])


def _report(title, times):
    primal, hand, grad, value_grad, product = times
    print(f"{title} (numpy {np.__version__}, one thread)")
    print(f"  primal {bench.fmt_time(primal)}, hand-written gradient {bench.fmt_time(hand)}")
    for name, t in (("tangent.grad", grad), ("tangent.value_and_grad", value_grad), ("tangent.hvp", product)):
        print(f"  {name:24s} {bench.fmt_time(t):>9s}  {t / hand:.2f}x the hand-written gradient")


if __name__ == "__main__":
    main()
