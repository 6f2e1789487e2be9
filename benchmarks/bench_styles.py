"""The workloads of bench.py written as people write models: three styles.

Every workload of ``benchmarks/bench.py`` (scalar loop, the two MLPs, the
RNN, the elementwise expression, the Gaussian mixture) written with its
parameters in a dict, as a list of ``(W, b)`` tuples (the MLPs: where a list
of layers is how one writes it) and as attributes of an object, with data and
constants in a dict. Each is differentiated with respect to the parameters
(the first argument). The reference is bench.py's hand-written NumPy
gradient, called on the container's arrays and packed into the container's
structure (so it pays the same unpacking a user's code would).

Columns: the hand-written gradient's time per call, then each gradient's time
as a ratio to it (Tangent, and autograd / JAX / JAX jit / PyTorch where
installed: they differentiate the same source with ``np`` rebound, with
respect to the list of the container's arrays), then Tangent's transform time
(cold ``tangent.grad``) and first-call specialisation time (generating the
code the first call runs: ``df.tangent_specialized_for(params, data)``). Every gradient is checked against the hand-written one
before timing (``WRONG`` in the table otherwise).

Usage::

    python benchmarks/bench_styles.py                   # a few minutes
    python benchmarks/bench_styles.py --quick           # about a minute
    python benchmarks/bench_styles.py --peers none      # Tangent only
    python benchmarks/bench_styles.py --only rnn --style dict

One thread: the BLAS thread variables are set before NumPy is imported. Times are
the process's CPU time (``--wall``: the wall clock), which other processes on a
loaded machine inflate less.
"""

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Callable  # noqa: E402

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]  # this checkout's tangent, and bench.py beside this file
import bench  # noqa: E402  (the workloads' hand-written gradients and the timing loop)
from bench import logsumexp  # noqa: E402

import tangent  # noqa: E402
import tangent.cache  # noqa: E402

SCALAR_STEPS = bench.SCALAR_STEPS

# =============================================================================
# Primals in three styles. Parameters first, data and constants in a dict.
# =============================================================================


# ---- 1. scalar loop: np.sin on Python floats ---------------------------------


def scalar_loop_dict(params, consts):
    x = params["x"]
    a = params["a"]
    s = 0.0
    for _ in range(consts["steps"]):
        s = s + np.sin(x * a) * x
        x = consts["decay"] * x + consts["mix"] * np.tanh(s)
    return s


def scalar_loop_object(p, consts):
    x = p.x
    s = 0.0
    for _ in range(consts["steps"]):
        s = s + np.sin(x * p.a) * x
        x = consts["decay"] * x + consts["mix"] * np.tanh(s)
    return s


SCALAR_CONSTS = {"steps": SCALAR_STEPS, "decay": 0.99, "mix": 0.01}


# ---- 2, 3. MLP ----------------------------------------------------------------


def mlp_dict(params, data):
    h = np.tanh(data["x"] @ params["W1"] + params["b1"])
    logits = h @ params["W2"] + params["b2"]
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(log_probs * data["y"]) / data["x"].shape[0]


def mlp_list(layers, data):
    W1, b1 = layers[0]
    W2, b2 = layers[1]
    h = np.tanh(data["x"] @ W1 + b1)
    logits = h @ W2 + b2
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(log_probs * data["y"]) / data["x"].shape[0]


def mlp_object(model, data):
    h = np.tanh(data["x"] @ model.W1 + model.b1)
    logits = h @ model.W2 + model.b2
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(log_probs * data["y"]) / data["x"].shape[0]


# ---- 4. tanh RNN ----------------------------------------------------------------


def rnn_dict(params, data):
    xs = data["xs"]
    Wh = params["Wh"]
    h = np.zeros((xs.shape[1], Wh.shape[0]))
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ params["Wx"] + h @ Wh + params["b"])
    return np.sum(h * h)


def rnn_object(cell, data):
    xs = data["xs"]
    h = np.zeros((xs.shape[1], cell.Wh.shape[0]))
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ cell.Wx + h @ cell.Wh + cell.b)
    return np.sum(h * h)


# ---- 5. elementwise ---------------------------------------------------------------


def elementwise_dict(params, consts):
    x = params["x"]
    return np.sum(np.sin(x) * np.exp(-x * x) + np.sqrt(consts["one"] + x * x))


def elementwise_object(p, consts):
    return np.sum(np.sin(p.x) * np.exp(-p.x * p.x) + np.sqrt(consts["one"] + p.x * p.x))


# ---- 6. Gaussian mixture ------------------------------------------------------------


def gmm_dict(params, data):
    log_weights = params["logits"] - logsumexp(params["logits"])
    X = data["X"]
    z = (X[:, None, :] - params["means"][None, :, :]) / np.exp(params["log_stds"])[None, :, :]
    log_dens = (-0.5 * np.sum(z * z, axis=2) - np.sum(params["log_stds"], axis=1)
                - 0.5 * X.shape[1] * data["log_2pi"])
    return np.sum(logsumexp(log_weights + log_dens, axis=1))


def gmm_object(gmm, data):
    log_weights = gmm.logits - logsumexp(gmm.logits)
    X = data["X"]
    z = (X[:, None, :] - gmm.means[None, :, :]) / np.exp(gmm.log_stds)[None, :, :]
    log_dens = -0.5 * np.sum(z * z, axis=2) - np.sum(gmm.log_stds, axis=1) - 0.5 * X.shape[1] * data["log_2pi"]
    return np.sum(logsumexp(log_weights + log_dens, axis=1))


# =============================================================================
# Containers: how each style packs bench.py's arrays
# =============================================================================


class Params:
    """A model's parameters as attributes (a user's class)."""

    def __init__(self, **arrays):
        for name, value in arrays.items():
            setattr(self, name, value)


@dataclass
class Style:
    """How the parameters are packed: ``pack(leaves) -> params`` and
    ``unpack(params) -> leaves`` (bench.py's argument order); a gradient
    is packed the same way, except an object's: a dict of its attributes'
    gradients (Tangent's convention)."""

    name: str
    pack: Callable
    unpack: Callable
    pack_grad: Callable | None = None
    unpack_grad: Callable | None = None

    def __post_init__(self):
        self.pack_grad = self.pack_grad or self.pack
        self.unpack_grad = self.unpack_grad or self.unpack


def dict_style(names):
    return Style("dict", lambda leaves: dict(zip(names, leaves, strict=True)), lambda p: [p[n] for n in names])


def object_style(names):
    as_dict = dict_style(names)
    return Style("object", lambda leaves: Params(**dict(zip(names, leaves, strict=True))),
                 lambda p: [getattr(p, n) for n in names], as_dict.pack, as_dict.unpack)


def layers_style():
    return Style("list", lambda leaves: [(leaves[0], leaves[1]), (leaves[2], leaves[3])],
                 lambda p: [p[0][0], p[0][1], p[1][0], p[1][1]])


@dataclass
class StyledWorkload:
    """One bench.py workload in one style."""

    name: str
    style: Style
    primal: Callable  # primal(params, data)
    base: bench.Workload
    n_params: int  # bench.py's first n_params arguments are the parameters
    data: Callable  # bench.py's remaining arguments -> the data dict

    def arguments(self, rng):
        args = self.base.make_args(rng)
        return self.style.pack(list(args[:self.n_params])), self.data(args[self.n_params:])

    def hand(self, params, data):
        """bench.py's hand-written gradient, in the parameters' structure."""
        leaves = self.style.unpack(params)
        grads = self.base.hand_grad(*leaves, *self.data_leaves(data))
        return self.style.pack_grad([grads] if self.n_params == 1 else list(grads))

    def data_leaves(self, data):
        return [data[k] for k in self.data_keys] if self.data_keys else []

    @property
    def data_keys(self):
        return DATA_KEYS[self.name]


DATA_KEYS = {"scalar_loop": (), "mlp_small": ("x", "y"), "mlp_large": ("x", "y"), "rnn": ("xs",),
             "elementwise": (), "gmm": ("X",)}


def _workloads():
    by_name = {w.name: w for w in bench.WORKLOADS}
    mlp = ["W1", "b1", "W2", "b2"]
    specs = [
        ("scalar_loop", ["x", "a"], lambda rest: dict(SCALAR_CONSTS),
         {"dict": scalar_loop_dict, "object": scalar_loop_object}),
        ("mlp_small", mlp, lambda rest: {"x": rest[0], "y": rest[1]},
         {"dict": mlp_dict, "list": mlp_list, "object": mlp_object}),
        ("mlp_large", mlp, lambda rest: {"x": rest[0], "y": rest[1]},
         {"dict": mlp_dict, "list": mlp_list, "object": mlp_object}),
        ("rnn", ["Wx", "Wh", "b"], lambda rest: {"xs": rest[0]}, {"dict": rnn_dict, "object": rnn_object}),
        ("elementwise", ["x"], lambda rest: {"one": 1.0}, {"dict": elementwise_dict, "object": elementwise_object}),
        ("gmm", ["means", "log_stds", "logits"], lambda rest: {"X": rest[0], "log_2pi": np.log(2 * np.pi)},
         {"dict": gmm_dict, "object": gmm_object}),
    ]
    out = []
    for name, names, data, primals in specs:
        styles = {"dict": dict_style(names), "list": layers_style(), "object": object_style(names)}
        for style, primal in primals.items():
            out.append(StyledWorkload(name, styles[style], primal, by_name[name], len(names), data))
    return out


WORKLOADS = _workloads()

# =============================================================================
# Peers: the same source with np rebound, differentiated w.r.t. the leaves
# =============================================================================


def _leaf_function(w, module_np, data, pack=None):
    f = bench.rebind(w.primal, np=module_np, logsumexp=PEER_LOGSUMEXP[module_np.__name__])
    pack = pack or w.style.pack
    return lambda leaves: f(pack(list(leaves)), data)


PEER_LOGSUMEXP = {}


def autograd_method(w, params, data):
    import autograd
    import autograd.numpy as anp
    import autograd.scipy.special

    PEER_LOGSUMEXP[anp.__name__] = autograd.scipy.special.logsumexp
    g = autograd.grad(_leaf_function(w, anp, data))
    leaves = w.style.unpack(params)
    return {"autograd": lambda: w.style.pack_grad(list(g(leaves)))}


def jax_methods(w, params, data):
    import jax
    import jax.numpy as jnp
    import jax.scipy.special

    jax.config.update("jax_enable_x64", True)
    PEER_LOGSUMEXP[jnp.__name__] = jax.scipy.special.logsumexp
    f = _leaf_function(w, jnp, data)
    leaves = [a if isinstance(a, float) else jnp.asarray(a) for a in w.style.unpack(params)]
    eager, jitted = jax.grad(f), jax.jit(jax.grad(f))
    start = time.perf_counter()
    jax.block_until_ready(jitted(leaves))
    compile_time = time.perf_counter() - start

    def run(g):
        return lambda: w.style.pack_grad([np.asarray(v) for v in jax.block_until_ready(g(leaves))])

    return {"jax": run(eager), "jax.jit": run(jitted)}, compile_time


def torch_method(w, params, data):
    import torch

    torch.set_num_threads(1)
    tnp = bench._torch_as_numpy(torch)
    tnp.__name__ = "torch_numpy"
    PEER_LOGSUMEXP["torch_numpy"] = (
        lambda a, axis=None: torch.logsumexp(a, dim=tuple(range(a.dim())) if axis is None else axis))
    tdata = {k: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in data.items()}
    f = _leaf_function(w, tnp, tdata)
    leaves = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in w.style.unpack(params)]

    def grad():
        return w.style.pack_grad([g.numpy() for g in torch.autograd.grad(f(leaves), leaves)])

    return {"torch": grad}


PEERS = {"autograd": ["autograd"], "jax": ["jax", "jax.jit"], "torch": ["torch"]}

# =============================================================================
# Running
# =============================================================================


@dataclass
class Row:
    name: str
    style: str
    status: dict = field(default_factory=dict)
    times: dict = field(default_factory=dict)
    transform: float | None = None
    first_call: float | None = None
    compile: float | None = None


def same(got, want, w):
    a, b = w.style.unpack_grad(got), w.style.unpack_grad(want)
    return len(a) == len(b) and all(np.shape(x) == np.shape(y) and np.allclose(x, y) for x, y in zip(a, b))


def tangent_method(w, params, data, row):
    tangent.cache.clear_cache()  # a cold transform
    start = bench.CLOCK()
    df = tangent.grad(w.primal)
    row.transform = bench.CLOCK() - start
    start = bench.CLOCK()
    df.tangent_specialized_for(params, data)  # what the first call generates (without running it)
    row.first_call = bench.CLOCK() - start
    return df


def warm_up():
    """Pay the one-time costs (imports, rule registration) before the first
    workload's transform is timed."""
    df = tangent.grad(bench.trivial)
    df(3.0)
    tangent.grad(mlp_dict)({"W1": np.ones((2, 3)), "b1": np.ones(3), "W2": np.ones((3, 2)), "b2": np.ones(2)},
                           {"x": np.ones((4, 2)), "y": np.ones((4, 2))})
    tangent.cache.clear_cache()


def run(w, peers, plan, seed=0):
    rng = np.random.default_rng(seed)
    params, data = w.arguments(rng)
    want = w.hand(params, data)
    row = Row(w.name, w.style.name)
    calls = {"hand": lambda: w.hand(params, data)}
    try:
        df = tangent_method(w, params, data, row)
        calls["tangent"] = lambda: df(params, data)
    except Exception as exc:  # an engine bug: into the table
        row.status["tangent"] = "FAILS: " + bench.describe_error(exc)
    for peer in peers:
        try:
            if peer == "autograd":
                calls.update(autograd_method(w, params, data))
            elif peer == "jax":
                made, row.compile = jax_methods(w, params, data)
                calls.update(made)
            else:
                calls.update(torch_method(w, params, data))
        except Exception as exc:
            for m in PEERS[peer]:
                row.status[m] = "ERROR: " + bench.describe_error(exc)
    timed = {}
    for m, call in calls.items():
        if m == "hand":
            timed[m] = call
            continue
        try:
            row.status[m] = "ok" if same(call(), want, w) else "WRONG"
            timed[m] = call
        except Exception as exc:
            row.status[m] = ("FAILS: " if m == "tangent" else "ERROR: ") + bench.describe_error(exc)
    medians, _ = bench.time_interleaved(list(timed.values()), plan)
    row.times = dict(zip(timed, medians, strict=True))
    return row


def run_hvp(w, plan, seed=0):
    """--hvp: one tangent.hvp call against one tangent.grad call, the product
    checked first against central differences of the gradient along v."""
    rng = np.random.default_rng(seed)
    params, data = w.arguments(rng)
    leaves = w.style.unpack(params)
    v = w.style.pack_grad([rng.standard_normal(np.shape(leaf)) for leaf in leaves])  # (an object's: a dict)
    try:
        df, product = tangent.grad(w.primal), tangent.hvp(w.primal)
        moved = [df(w.style.pack([a + s * 1e-6 * b for a, b in zip(leaves, w.style.unpack_grad(v))]), data) for s in (1, -1)]
        numeric = [(a - b) / 2e-6 for a, b in zip(*map(w.style.unpack_grad, moved))]
        ok = all(np.allclose(g, n, rtol=1e-4, atol=1e-6)
                 for g, n in zip(w.style.unpack_grad(product(params, data, v)), numeric, strict=True))
    except Exception as exc:
        print(f"{w.name:12s} {w.style.name:7s} FAILS: {bench.describe_error(exc)}", flush=True)
        return
    (t_grad, t_hvp), _ = bench.time_interleaved([lambda: df(params, data), lambda: product(params, data, v)], plan)
    print(f"{w.name:12s} {w.style.name:7s} grad {bench.fmt_time(t_grad):>9s}  hvp {bench.fmt_time(t_hvp):>9s}  "
          f"{t_hvp / t_grad:.2f}x" + ("" if ok else "  WRONG (differs from differences of the gradient)"), flush=True)


def run_value_and_grad(w, plan, seed=0):
    """--value-and-grad: one tangent.value_and_grad call against the
    hand-written gradient (which computes no value), its value and gradient
    checked first against the function and the hand-written gradient (which
    also makes the first call, that specialises, before the timing)."""
    rng = np.random.default_rng(seed)
    params, data = w.arguments(rng)
    vg = tangent.value_and_grad(w.primal)
    value, g = vg(params, data)
    ok = np.isclose(value, w.primal(params, data)) and same(g, w.hand(params, data), w)
    (t_hand, t_vg), _ = bench.time_interleaved([lambda: w.hand(params, data), lambda: vg(params, data)], plan)
    print(f"{w.name:12s} {w.style.name:7s} hand {bench.fmt_time(t_hand):>9s}  value_and_grad "
          f"{bench.fmt_time(t_vg):>9s}  {t_vg / t_hand:.2f}x" + ("" if ok else "  WRONG"), flush=True)


def print_table(rows, methods):
    header = ["workload", "style", "hand grad", *methods, "transform", "first call"]
    notes, lines = [], []
    for r in rows:
        cells = [r.name, r.style, bench.fmt_time(r.times.get("hand"))]
        for m in methods:
            status = r.status.get(m)
            if status is None:
                cells.append("-")
            elif status in ("ok", "WRONG"):
                ratio = f"{r.times[m] / r.times['hand']:.2f}x"
                cells.append(ratio if status == "ok" else ratio + " WRONG")
            else:
                notes.append(f"{r.name}/{r.style} {m}: {status}")
                cells.append(f"{status.split(':')[0]} [{len(notes)}]")
        cells += [bench.fmt_time(r.transform), bench.fmt_time(r.first_call)]
        lines.append(cells)
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
    for cells in [header, ["-" * wd for wd in widths], *lines]:
        print("  ".join(c.ljust(wd) if i < 2 else c.rjust(wd) for i, (c, wd) in enumerate(zip(cells, widths))))
    print("\nRatios: gradient time / hand-written gradient time (medians of interleaved rounds, one thread).")
    print("transform: cold tangent.grad; first call: generating the specialised code the first call runs.")
    for i, note in enumerate(notes, 1):
        print(f"  [{i}] " + note.replace("\n", "\n      "))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter rounds")
    parser.add_argument("--only", choices=sorted({w.name for w in WORKLOADS}))
    parser.add_argument("--style", choices=["dict", "list", "object"])
    parser.add_argument("--wall", action="store_true", help="time by the wall clock (default: the process's CPU "
                        "time, which other processes on a loaded machine inflate less)")
    parser.add_argument("--peers", default="all", help="'all', 'none' or a comma-separated list of "
                        + ", ".join(PEERS))
    parser.add_argument("--hvp", action="store_true", help="time tangent.hvp against tangent.grad instead")
    parser.add_argument("--value-and-grad", action="store_true",
                        help="time tangent.value_and_grad against the hand-written gradient instead")
    opts = parser.parse_args(argv)
    bench.CLOCK = time.perf_counter if opts.wall else time.process_time
    plan = bench.QUICK_PLAN if opts.quick else bench.TimingPlan(sample_time=0.05, budget=6.0, min_rounds=5,
                                                                 max_rounds=41)
    available = bench.available_peers()
    wanted = list(PEERS) if opts.peers == "all" else [] if opts.peers == "none" else opts.peers.split(",")
    peers = [p for p in wanted if p in available]
    versions = {"python": platform.python_version(), "numpy": np.__version__, "tangent": tangent.__version__,
                **{p: available[p] for p in peers}}
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}; "
          f"clock: {'wall' if opts.wall else 'process CPU time'}\n")
    bench.settle_allocator()
    warm_up()
    rows = []
    for w in WORKLOADS:
        if (opts.only and w.name != opts.only) or (opts.style and w.style.name != opts.style):
            continue
        print(f"running {w.name} / {w.style.name} ...", file=sys.stderr, flush=True)
        if opts.hvp or opts.value_and_grad:
            (run_hvp if opts.hvp else run_value_and_grad)(w, plan)
            continue
        rows.append(run(w, peers, plan))
    if opts.hvp or opts.value_and_grad:
        return
    print_table(rows, ["tangent", *[m for p in peers for m in PEERS[p]]])


if __name__ == "__main__":
    main()
