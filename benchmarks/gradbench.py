"""GradBench's objectives, as a user writes them in NumPy, differentiated by Tangent and its peers.

The objectives are in ``benchmarks/gradbench/`` (one module per GradBench eval,
our own code, with a derivative written by hand). For each one, at one of
GradBench's sizes, this prints the hand-written derivative's time and every
tool's time as a ratio to it: Tangent, Tangent with ``compile="numba"`` (when
``tangent.grad`` has that keyword), HIPS autograd, JAX eager, JAX jit and
PyTorch eager (those installed); then Tangent's cold transform time and the
first call's extra cost (shape specialisation). Each tool computes what
GradBench asks: a gradient; for kmeans the gradient divided by the Hessian
diagonal (gradient and Hessian-vector product with ones); for ba the 2 x 15
Jacobian blocks (15 Jacobian-vector products); for ht the Jacobian with
respect to the 26 pose parameters (forward mode).

The peers run the *same* module source with ``np`` rebound to their array
module (a small NumPy-like namespace over torch for PyTorch). Where the code as
a user writes it does not run on a peer (in-place assignment under JAX or
autograd, say) the cell says ``FAILS [n]`` and note n says why. Every result is
compared with the hand-written derivative before it is timed (``WRONG``).

Usage::

    python benchmarks/gradbench.py              # a few minutes
    python benchmarks/gradbench.py --quick      # about a minute
    python benchmarks/gradbench.py --only lse,gmm

One thread: the BLAS thread variables are set before NumPy is imported.
"""

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import importlib  # noqa: E402
import importlib.util  # noqa: E402
import inspect  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import types  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # this checkout's tangent
sys.path.insert(0, HERE)

import bench  # noqa: E402  (timing helpers shared with bench.py)
import numpy as np  # noqa: E402

import tangent  # noqa: E402

NAMES = ("lse", "llsq", "det", "ode", "kmeans", "gmm", "lstm", "ba", "ht")
# Peers not run by default, and why (--all-peers runs them anyway).
SKIP = {("det", "jax"): "not run: JAX traces the recursion's 13,699 minors one call at a time; at ell=5 "
                        "the jit compile alone took 14 s here (--all-peers --only det --det-ell 5 shows it)",
        ("lstm", "jax.jit"): "not run: jit unrolls the Python loops (1,023 steps x 2 layers); XLA's "
                             "slow-compile alarm fires already at 64 characters (--all-peers --only lstm "
                             "--lstm-chars 64); JAX eager is timed"}
COLUMNS = ("tangent", "tangent+numba", "autograd", "jax", "jax.jit", "torch")


def load(name, **names):
    """A fresh copy of objective module ``name`` with globals in ``names`` rebound."""
    spec = importlib.util.spec_from_file_location(f"gradbench_{name}_copy", os.path.join(HERE, "gradbench", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for key, value in names.items():
        setattr(module, key, value)
    return module


# ---- what each tool computes, per task -----------------------------------------------------

def split(m, args):
    """The function of the differentiated arguments only (the others fixed)."""
    def f(*wrt_args):
        full = list(args)
        for i, a in zip(m.WRT, wrt_args, strict=True):
            full[i] = a
        return m.DIFFERENTIATE(*full)
    return f, [args[i] for i in m.WRT]


def unit_tangents(m, args):
    """The tangents GradBench's Jacobians need: ba's 15 block columns, ht's 26 unit vectors."""
    if hasattr(m, "directions"):
        return [tuple(t) for t in m.directions(len(args[2]))]
    return [(np.eye(m.N_THETA)[j],) for j in range(m.N_THETA)]


def tangent_call(m, args, **options):
    if m.TASK == "gradient":
        df = tangent.grad(m.DIFFERENTIATE, wrt=m.WRT, **options)
        return lambda: df(*args)
    if m.TASK == "dir":
        grad = tangent.grad(m.cost, wrt=1, **options)
        hvp = tangent.hvp(m.cost, wrt=1)
        ones = np.ones_like(args[1])
        return lambda: grad(*args) / hvp(*args, ones)
    if hasattr(m, "N_THETA"):
        J = tangent.jacobian(m.DIFFERENTIATE, wrt=0)  # forward sweeps: 26 inputs, 3n outputs
        return lambda: J(*args)
    jvp = tangent.jvp(m.DIFFERENTIATE, wrt=m.WRT)
    return lambda: m.jacobian_with(jvp, *args)


def autograd_call(name, m0, args):
    import autograd
    import autograd.numpy as anp
    import autograd.scipy.special as asp

    m = load(name, np=anp, logsumexp=asp.logsumexp, multigammaln=asp.multigammaln)
    f, wrt_args = split(m, args)
    if m.TASK == "gradient":
        g = autograd.grad(lambda *a: f(*a), tuple(range(len(wrt_args))) if len(wrt_args) > 1 else 0)
        return lambda: g(*wrt_args)
    if m.TASK == "dir":
        g = autograd.grad(f)
        hvp = autograd.hessian_vector_product(f)
        ones = np.ones_like(wrt_args[0])
        return lambda: g(*wrt_args) / hvp(wrt_args[0], ones)
    if hasattr(m, "N_THETA"):
        J = autograd.jacobian(f)  # autograd has reverse mode only
        return lambda: J(*wrt_args)
    jvp = autograd.make_jvp(lambda packed: f(*packed))
    tangents = unit_tangents(m0, args)

    def blocks():
        at = jvp(tuple(wrt_args))
        return np.stack([at(t)[1] for t in tangents], axis=-1)
    return blocks


def jax_calls(name, m0, args, jit=True):
    import jax
    import jax.numpy as jnp
    import jax.scipy.special as jsp

    jax.config.update("jax_enable_x64", True)
    m = load(name, np=jnp, logsumexp=jsp.logsumexp, multigammaln=jsp.multigammaln)
    f, wrt_args = split(m, args)
    wrt_args = jax.tree_util.tree_map(jnp.asarray, wrt_args)
    if m.TASK == "gradient":
        derivative = jax.grad(f, argnums=tuple(range(len(wrt_args))) if len(wrt_args) > 1 else 0)
    elif m.TASK == "dir":
        g = jax.grad(f)

        def derivative(c):
            d, h = jax.jvp(g, (c,), (jnp.ones_like(c),))
            return d / h
    elif hasattr(m, "N_THETA"):
        derivative = jax.jacfwd(f)
    else:
        tangents = [tuple(jnp.asarray(v) for v in t) for t in unit_tangents(m0, args)]

        def derivative(*a):
            return jnp.stack([jax.jvp(f, tuple(a), t)[1] for t in tangents], axis=-1)
    methods = {"jax": lambda: jax.block_until_ready(derivative(*wrt_args))}
    if not jit:
        return methods, None
    jitted = jax.jit(derivative)
    start = time.perf_counter()
    try:
        jax.block_until_ready(jitted(*wrt_args))
    except Exception as exc:  # the code as written does not trace (a Python branch on a value, say)
        methods["jax.jit"] = exc
        return methods, None
    compile_time = time.perf_counter() - start
    methods["jax.jit"] = lambda: jax.block_until_ready(jitted(*wrt_args))
    return methods, compile_time


class TorchNumpy(types.SimpleNamespace):
    """The NumPy names the objectives use, on float64 torch tensors; the rest is torch's."""

    def __getattr__(self, name):
        import torch
        return getattr(torch, name)


def torch_namespace(torch):
    def as_tensor(a):
        return a if isinstance(a, torch.Tensor) else torch.as_tensor(a, dtype=torch.float64)

    def array(rows):
        if isinstance(rows, (list, tuple)):
            return torch.stack([array(r) for r in rows])
        return as_tensor(rows)

    def reduce(op):
        def run(a, axis=None, keepdims=False):
            a = as_tensor(a)
            return op(a) if axis is None else op(a, dim=axis, keepdim=keepdims)
        return run

    def delete(a, index, axis=None):
        keep = [i for i in range(a.shape[axis]) if i != index]
        return torch.index_select(a, axis, torch.tensor(keep))

    def triu_indices(n, k=0):
        rows, cols = torch.triu_indices(n, n, k)
        return rows, cols

    return TorchNumpy(
        pi=math.pi, array=array, sum=reduce(torch.sum), max=reduce(torch.amax), min=reduce(torch.amin),
        log=lambda a: torch.log(as_tensor(a)), sqrt=lambda a: torch.sqrt(as_tensor(a)),
        concatenate=lambda xs, axis=0: torch.cat([as_tensor(x) for x in xs], dim=axis),
        stack=lambda xs, axis=0: torch.stack(list(xs), dim=axis), delete=delete, triu_indices=triu_indices,
        cross=lambda a, b: torch.linalg.cross(a, b, dim=-1), diag=torch.diag,
        zeros=lambda shape: torch.zeros(shape, dtype=torch.float64),
        zeros_like=torch.zeros_like, ones=lambda shape: torch.ones(shape, dtype=torch.float64),
        eye=lambda n: torch.eye(n, dtype=torch.float64), sign=torch.sign,
        linspace=lambda a, b, n: torch.linspace(a, b, n, dtype=torch.float64),
        arange=lambda n: torch.arange(n), ndarray=torch.Tensor)


def torch_call(name, m0, args):
    import torch

    torch.set_num_threads(1)
    torch_np = torch_namespace(torch)
    m = load(name, np=torch_np, logsumexp=lambda a, axis=None: torch.logsumexp(a, dim=axis if axis is not None else tuple(range(a.dim()))),
             multigammaln=lambda a, d: float(torch.special.multigammaln(torch.tensor(float(a)), d)))

    def to_torch(value, grad=False):
        if isinstance(value, dict):
            return {k: to_torch(v, grad) for k, v in value.items()}
        if isinstance(value, list):
            return value
        if isinstance(value, np.ndarray):
            t = torch.tensor(value, dtype=torch.float64 if value.dtype.kind == "f" else None)
            return t.requires_grad_(True) if grad else t
        return value

    targs = [to_torch(a, i in m.WRT) for i, a in enumerate(args)]
    leaves = []
    for i in m.WRT:
        leaves += list(targs[i].values()) if isinstance(targs[i], dict) else [targs[i]]

    def gradient(output, wrt_leaves, **kw):
        return torch.autograd.grad(output, wrt_leaves, **kw)

    def rebuild(grads):
        out, k = [], 0
        for i in m.WRT:
            if isinstance(args[i], dict):
                out.append({key: grads[k + j].detach().numpy() for j, key in enumerate(args[i])})
                k += len(args[i])
            else:
                out.append(grads[k].detach().numpy())
                k += 1
        return out[0] if len(out) == 1 else tuple(out)

    if m.TASK == "gradient":
        return lambda: rebuild(gradient(m.DIFFERENTIATE(*targs), leaves))
    if m.TASK == "dir":
        def direction():
            (g,) = gradient(m.cost(*targs), leaves, create_graph=True)
            (h,) = gradient(g, leaves, grad_outputs=torch.ones_like(g))
            return (g / h).detach().numpy()
        return direction
    f, wrt_args = split(m, targs)
    tangents = [tuple(torch.as_tensor(np.asarray(v)) for v in t) for t in unit_tangents(m0, args)]

    def jacobian():
        cols = [torch.func.jvp(f, tuple(a.detach() for a in wrt_args), t)[1] for t in tangents]
        return torch.stack(cols, dim=-1).numpy()
    return jacobian


# ---- checking and running -------------------------------------------------------------------

def close(got, want):
    if isinstance(want, dict):
        return isinstance(got, dict) and set(got) == set(want) and all(close(got[k], want[k]) for k in want)
    if isinstance(want, (list, tuple)):
        return len(got) == len(want) and all(close(g, w) for g, w in zip(got, want, strict=True))
    got = np.asarray(got)
    return got.shape == np.shape(want) and np.allclose(got, want, rtol=1e-6, atol=1e-9)


@dataclass
class Row:
    name: str
    size: str
    status: dict = field(default_factory=dict)  # column -> "ok" | "WRONG" | "FAILS [n]"
    times: dict = field(default_factory=dict)
    transform: float | None = None
    first_call: float | None = None  # first call minus a steady one
    jit_compile: float | None = None


def has_numba_option():
    return "compile" in inspect.signature(tangent.grad).parameters


def run(name, peers, plan, notes, opts):
    m = importlib.import_module(f"gradbench.{name}")
    if name == "det" and opts.det_ell:
        args, size = m._input(opts.det_ell, 0), f"ell={opts.det_ell}"
    elif name == "lstm" and opts.lstm_chars:
        args, size = m._input(2, opts.lstm_chars, 14, 0), f"l=2 c={opts.lstm_chars} b=14"
    else:
        args, size = m.gradbench_input(seed=0), m.SIZE
    quick = opts.quick
    row = Row(name, size)
    hand = lambda: m.by_hand(*args)  # noqa: E731
    want = hand()
    calls = {"hand": hand}

    def add(column, build):
        try:
            call = build()
            got = call()
        except Exception as exc:  # a refusal or a peer that cannot run this code
            notes.append(f"{name} / {column}: {bench.describe_error(exc, max_lines=3)}")
            row.status[column] = f"FAILS [{len(notes)}]"
            return
        if close(got, want):
            row.status[column] = "ok"
            calls[column] = call
        else:
            row.status[column] = "WRONG"

    transforms = []
    for _ in range(1 if quick else 3):
        tangent.clear_cache()  # a cold transform each time
        start = time.perf_counter()
        call = tangent_call(m, args)
        transforms.append(time.perf_counter() - start)
    row.transform = statistics.median(transforms)
    start = time.perf_counter()
    call()
    first = time.perf_counter() - start
    add("tangent", lambda: call)
    if "tangent" in calls:
        row.first_call = max(0.0, first - bench.seconds_per_call(call, 0.05))
    if has_numba_option():
        add("tangent+numba", lambda: tangent_call(m, args, compile="numba"))
    if "autograd" in peers:
        add("autograd", lambda: autograd_call(name, m, args))
    if "jax" in peers and (name, "jax") in SKIP and not opts.all_peers:
        notes.append(f"{name} / jax: {SKIP[name, 'jax']}")
        row.status["jax"] = row.status["jax.jit"] = f"not run [{len(notes)}]"
    elif "jax" in peers:
        skip_jit = (name, "jax.jit") in SKIP and not opts.all_peers
        if skip_jit:
            notes.append(f"{name} / jax.jit: {SKIP[name, 'jax.jit']}")
            row.status["jax.jit"] = f"not run [{len(notes)}]"
        try:
            jax_methods, row.jit_compile = jax_calls(name, m, args, jit=not skip_jit)
        except Exception as exc:
            notes.append(f"{name} / jax: {bench.describe_error(exc, max_lines=3)}")
            row.status["jax"] = row.status["jax.jit"] = f"FAILS [{len(notes)}]"
        else:
            for column, method in jax_methods.items():
                if isinstance(method, Exception):
                    notes.append(f"{name} / {column}: {bench.describe_error(method, max_lines=2)}")
                    row.status[column] = f"FAILS [{len(notes)}]"
                else:
                    add(column, lambda method=method: method)
    if "torch" in peers:
        add("torch", lambda: torch_call(name, m, args))
    names = list(calls)
    medians, _ = bench.time_interleaved([calls[n] for n in names], plan)
    row.times = dict(zip(names, medians, strict=True))
    return row


def print_table(rows):
    header = ["objective", "size", "hand-written", *COLUMNS, "transform", "first call", "jit compile"]
    lines = [header]
    for r in rows:
        hand = r.times["hand"]
        cells = [r.name, r.size, bench.fmt_time(hand)]
        for column in COLUMNS:
            status = r.status.get(column)
            if status is None:
                cells.append("")
            elif status == "ok":
                cells.append(f"{r.times[column] / hand:.2f}x")
            else:
                cells.append(status)
        for value in (r.transform, r.first_call, r.jit_compile):
            cells.append("" if value is None else bench.fmt_time(value))
        lines.append(cells)
    print("| " + " | ".join(lines[0]) + " |")
    print("|" + "---|" * len(lines[0]))
    for cells in lines[1:]:
        print("| " + " | ".join(cells) + " |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timing, one transform")
    parser.add_argument("--only", default="", help="comma-separated objectives")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--all-peers", action="store_true", help="also the peers SKIP leaves out")
    parser.add_argument("--lstm-chars", type=int, default=0, help="lstm's sequence length (default 1024)")
    parser.add_argument("--det-ell", type=int, default=0, help="det's matrix size (default GradBench's 7)")
    opts = parser.parse_args(argv)
    names = [n for n in opts.only.split(",") if n] or list(NAMES)
    peers = {} if opts.no_peers else bench.available_peers()
    plan = bench.QUICK_PLAN if opts.quick else bench.DEFAULT_PLAN
    versions = {"python": platform.python_version(), "numpy": np.__version__, **peers}
    print(f"machine: {platform.machine()} {platform.processor() or ''} {os.cpu_count()} cores; one thread")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    print(f"tangent compile='numba': {'available' if has_numba_option() else 'not in this tangent'}")
    bench.settle_allocator()
    notes, rows = [], []
    for name in names:
        rows.append(run(name, peers, plan, notes, opts))
        print(f"  {name} done", file=sys.stderr, flush=True)
    print()
    print("Time of the hand-written NumPy derivative; every other column: its time / the hand-written one.")
    print_table(rows)
    for i, note in enumerate(notes, 1):
        print(f"[{i}] " + note.replace("\n", "\n    "))


if __name__ == "__main__":
    main()
