"""Speed of Tangent's generated gradients against hand-written NumPy gradients.

Each workload has a primal function written in plain NumPy, the way a user
writes it, and a gradient written carefully by hand: the reference for "what a
careful person would write". For each workload the script times the primal,
the hand-written gradient, Tangent's gradient and, when installed, Tangent's
gradient compiled with numba (``compile="numba"``; "REFUSED" where numba
cannot compile it) and the same primal differentiated by HIPS autograd, JAX
(eager and jit) and PyTorch eager,
and prints each gradient's time as a ratio to the hand-written one.

Every gradient is checked against the hand-written one (and the hand-written
one against central finite differences) before it is timed; a mismatch is
marked WRONG in the table.

Usage::

    python benchmarks/bench.py                # about two minutes
    python benchmarks/bench.py --quick        # about twenty seconds
    python benchmarks/bench.py --only mlp_small --json out.json
    python benchmarks/bench.py --hvp          # only: cost of tangent.hvp / tangent.grad

Timing runs on one thread: the BLAS thread variables are set below, before
NumPy is imported, so run this file as a script rather than importing it.
"""

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import argparse
import functools
import gc
import importlib
import importlib.metadata
import json
import math
import platform
import statistics
import sys
import time
import types
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout's tangent
import tangent  # noqa: E402

try:
    from scipy.special import logsumexp
except ImportError:  # scipy is optional: the same function, written by hand

    def logsumexp(a, axis=None, keepdims=False):
        """log(sum(exp(a), axis)), computed without overflow."""
        m = np.max(a, axis=axis, keepdims=True)
        out = m + np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True))
        return out if keepdims else np.squeeze(out, axis=axis)


# =============================================================================
# Workloads: primal (as a user writes it) and hand-written gradient.
# A hand-written gradient returns one value per differentiated argument.
# =============================================================================

# ---- 1. scalar loop ---------------------------------------------------------

SCALAR_STEPS = 100


def scalar_loop(x, a):
    s = 0.0
    for _ in range(SCALAR_STEPS):
        s = s + math.sin(x * a) * x
        x = 0.99 * x + 0.01 * math.tanh(s)
    return s


def scalar_loop_grad(x, a):
    # Forward, keeping what the reverse sweep needs at each step.
    xs, sins, coss, tanhs = [], [], [], []
    s = 0.0
    for _ in range(SCALAR_STEPS):
        u = x * a
        sin_u = math.sin(u)
        s = s + sin_u * x
        t = math.tanh(s)
        xs.append(x)
        sins.append(sin_u)
        coss.append(math.cos(u))
        tanhs.append(t)
        x = 0.99 * x + 0.01 * t
    # Reverse: adjoints of the loop-carried x and s, and of a.
    dx, ds, da = 0.0, 1.0, 0.0
    for i in reversed(range(SCALAR_STEPS)):
        x, t = xs[i], tanhs[i]
        # x_next = 0.99 * x + 0.01 * tanh(s_next)
        ds += dx * 0.01 * (1.0 - t * t)
        dx = 0.99 * dx
        # s_next = s + sin(x * a) * x
        dx += ds * (sins[i] + x * a * coss[i])
        da += ds * x * x * coss[i]
    return dx, da


def scalar_loop_args(rng):
    return 0.5, 1.3


# ---- 2, 3. MLP: tanh hidden layer, softmax cross-entropy ---------------------


def mlp_loss(W1, b1, W2, b2, x, y):
    h = np.tanh(x @ W1 + b1)
    logits = h @ W2 + b2
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(log_probs * y) / x.shape[0]


def mlp_loss_grad(W1, b1, W2, b2, x, y):
    h = np.tanh(x @ W1 + b1)
    logits = h @ W2 + b2
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = e / e.sum(axis=1, keepdims=True)
    dlogits = (probs - y) / x.shape[0]  # y is one-hot: each row sums to 1
    dW2 = h.T @ dlogits
    db2 = dlogits.sum(axis=0)
    dz = (dlogits @ W2.T) * (1.0 - h * h)
    dW1 = x.T @ dz
    db1 = dz.sum(axis=0)
    return dW1, db1, dW2, db2


def mlp_args(n_in, n_hidden, n_out, batch):
    def make(rng):
        W1 = rng.standard_normal((n_in, n_hidden)) / np.sqrt(n_in)
        b1 = 0.1 * rng.standard_normal(n_hidden)
        W2 = rng.standard_normal((n_hidden, n_out)) / np.sqrt(n_hidden)
        b2 = 0.1 * rng.standard_normal(n_out)
        x = rng.standard_normal((batch, n_in))
        y = np.eye(n_out)[rng.integers(n_out, size=batch)]
        return W1, b1, W2, b2, x, y

    return make


# ---- 4. tanh RNN, loss on the final state -----------------------------------


def rnn_loss(Wx, Wh, b, xs):
    h = np.zeros((xs.shape[1], Wh.shape[0]))
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ Wx + h @ Wh + b)
    return np.sum(h * h)


def rnn_loss_grad(Wx, Wh, b, xs):
    steps, batch, _ = xs.shape
    hs = np.zeros((steps + 1, batch, Wh.shape[0]))  # hs[t + 1] is the state after step t
    for t in range(steps):
        hs[t + 1] = np.tanh(xs[t] @ Wx + hs[t] @ Wh + b)
    # Backpropagation through time: only the state adjoint is sequential; the
    # weight adjoints are summed over all steps at once afterwards.
    dzs = np.empty_like(hs[1:])
    dh = 2.0 * hs[steps]
    for t in reversed(range(steps)):
        dzs[t] = dh * (1.0 - hs[t + 1] * hs[t + 1])
        dh = dzs[t] @ Wh.T
    dWx = np.tensordot(xs, dzs, axes=([0, 1], [0, 1]))
    dWh = np.tensordot(hs[:-1], dzs, axes=([0, 1], [0, 1]))
    db = dzs.sum(axis=(0, 1))
    return dWx, dWh, db


def rnn_args(rng, n_in=32, n_hidden=64, steps=50, batch=16):
    Wx = rng.standard_normal((n_in, n_hidden)) / np.sqrt(n_in)
    Wh = 0.9 * rng.standard_normal((n_hidden, n_hidden)) / np.sqrt(n_hidden)
    b = 0.1 * rng.standard_normal(n_hidden)
    xs = rng.standard_normal((steps, batch, n_in))
    return Wx, Wh, b, xs


# ---- 5. elementwise expression on 10**6 values -------------------------------


def elementwise(x):
    return np.sum(np.sin(x) * np.exp(-x * x) + np.sqrt(1 + x * x))


def elementwise_grad(x):
    gauss = np.exp(-x * x)
    return (np.cos(x) - 2.0 * x * np.sin(x)) * gauss + x / np.sqrt(1.0 + x * x)


def elementwise_args(rng):
    return (rng.standard_normal(10**6),)


# ---- 6. Gaussian-mixture log-likelihood -------------------------------------


def gmm_loglik(means, log_stds, logits, data):
    # means, log_stds: (k, d); logits: (k,); data: (n, d). Diagonal covariances.
    log_weights = logits - logsumexp(logits)
    z = (data[:, None, :] - means[None, :, :]) / np.exp(log_stds)[None, :, :]
    log_dens = (-0.5 * np.sum(z * z, axis=2) - np.sum(log_stds, axis=1)
                - 0.5 * data.shape[1] * np.log(2 * np.pi))
    return np.sum(logsumexp(log_weights + log_dens, axis=1))


def gmm_loglik_grad(means, log_stds, logits, data):
    n, d = data.shape
    inv_std = np.exp(-log_stds)
    log_weights = logits - logsumexp(logits)
    z = (data[:, None, :] - means) * inv_std  # (n, k, d)
    z2 = z * z
    log_dens = -0.5 * np.sum(z2, axis=2) - np.sum(log_stds, axis=1) - 0.5 * d * np.log(2 * np.pi)
    joint = log_weights + log_dens  # (n, k)
    # The adjoint of joint is the posterior responsibility of each component.
    resp = np.exp(joint - logsumexp(joint, axis=1, keepdims=True))
    counts = resp.sum(axis=0)  # soft number of points per component
    dmeans = np.einsum("nk,nkd->kd", resp, z) * inv_std
    dlog_stds = np.einsum("nk,nkd->kd", resp, z2) - counts[:, None]
    dlogits = counts - n * np.exp(log_weights)
    return dmeans, dlog_stds, dlogits


def gmm_args(rng, d=10, k=5, n=1000):
    means = rng.standard_normal((k, d))
    log_stds = 0.2 * rng.standard_normal((k, d))
    logits = rng.standard_normal(k)
    data = means[rng.integers(k, size=n)] + rng.standard_normal((n, d))
    return means, log_stds, logits, data


# ---- trivial function, for the cost of calling a cached derivative ----------


def trivial(x):
    return x * 2.0


def trivial_grad(x):
    return 2.0


@dataclass
class Workload:
    name: str
    description: str
    primal: Callable
    hand_grad: Callable
    wrt: tuple
    make_args: Callable  # numpy.random.Generator -> tuple of arguments


WORKLOADS = [
    Workload("scalar_loop", "100-step loop on floats", scalar_loop, scalar_loop_grad, (0, 1),
             scalar_loop_args),
    Workload("mlp_small", "MLP 32-64-10, batch 16", mlp_loss, mlp_loss_grad, (0, 1, 2, 3),
             mlp_args(32, 64, 10, 16)),
    Workload("mlp_large", "MLP 784-512-10, batch 256", mlp_loss, mlp_loss_grad, (0, 1, 2, 3),
             mlp_args(784, 512, 10, 256)),
    Workload("rnn", "tanh RNN 32->64, 50 steps, batch 16", rnn_loss, rnn_loss_grad, (0, 1, 2),
             rnn_args),
    Workload("elementwise", "elementwise expression, 10^6", elementwise, elementwise_grad, (0,),
             elementwise_args),
    Workload("gmm", "GMM log-lik d=10 k=5 n=1000", gmm_loglik, gmm_loglik_grad, (0, 1, 2),
             gmm_args),
]


# =============================================================================
# Peers: the same primal source, run against another array library by
# rebinding the module-level names it uses (np, math, logsumexp).
# =============================================================================


def rebind(func, **names):
    """A copy of ``func`` whose global names in ``names`` are replaced."""
    env = dict(func.__globals__, **names)
    return types.FunctionType(func.__code__, env, func.__name__, func.__defaults__, func.__closure__)


def argnum(wrt):
    return wrt[0] if len(wrt) == 1 else tuple(wrt)


@dataclass
class Method:
    """A callable to time, and what it cost to build it."""

    name: str
    call: Callable
    setup_time: float | None = None  # Tangent: transform; JAX jit: trace + compile


def tangent_methods(w, args, transform_repeats=3):
    # Cold transforms: the derivative cache is cleared before each one.
    times = []
    for _ in range(transform_repeats):
        tangent.clear_cache()
        start = time.perf_counter()
        df = tangent.grad(w.primal, wrt=w.wrt)
        times.append(time.perf_counter() - start)
    return [Method("tangent", lambda: df(*args), setup_time=statistics.median(times))]


def autograd_methods(w, args):
    import autograd
    import autograd.numpy as anp
    import autograd.scipy.special

    f = rebind(w.primal, np=anp, math=anp, logsumexp=autograd.scipy.special.logsumexp)
    g = autograd.grad(f, argnum(w.wrt))
    return [Method("autograd", lambda: g(*args))]


def jax_methods(w, args):
    import jax
    import jax.numpy as jnp
    import jax.scipy.special

    jax.config.update("jax_enable_x64", True)  # compare in float64, like NumPy
    f = rebind(w.primal, np=jnp, math=jnp, logsumexp=jax.scipy.special.logsumexp)
    jargs = [a if isinstance(a, float) else jnp.asarray(a) for a in args]
    eager = jax.grad(f, argnums=argnum(w.wrt))
    jitted = jax.jit(jax.grad(f, argnums=argnum(w.wrt)))
    start = time.perf_counter()
    jax.block_until_ready(jitted(*jargs))
    compile_time = time.perf_counter() - start
    return [Method("jax", lambda: jax.block_until_ready(eager(*jargs))),
            Method("jax.jit", lambda: jax.block_until_ready(jitted(*jargs)), setup_time=compile_time)]


def torch_methods(w, args):
    import torch

    torch.set_num_threads(1)
    f = rebind(w.primal, np=_torch_as_numpy(torch), math=torch,
               logsumexp=lambda a, axis=None: torch.logsumexp(a, dim=tuple(range(a.dim())) if axis is None else axis))
    targs = [torch.tensor(a, dtype=torch.float64, requires_grad=i in w.wrt) for i, a in enumerate(args)]
    inputs = [targs[i] for i in w.wrt]

    def grad():
        grads = [g.numpy() for g in torch.autograd.grad(f(*targs), inputs)]
        return grads[0] if len(grads) == 1 else tuple(grads)

    return [Method("torch", grad)]


def _torch_as_numpy(torch):
    """The few NumPy functions the primals use, on torch tensors."""
    def as_tensor(a):
        return torch.as_tensor(a, dtype=torch.float64)

    def reduce(op, a, axis, keepdims):
        return op(a) if axis is None else op(a, dim=axis, keepdim=keepdims)

    return types.SimpleNamespace(
        pi=math.pi, sin=torch.sin, tanh=torch.tanh, exp=torch.exp, sqrt=torch.sqrt,
        log=lambda a: torch.log(as_tensor(a)),
        zeros=lambda shape: torch.zeros(shape, dtype=torch.float64),
        sum=lambda a, axis=None, keepdims=False: reduce(torch.sum, a, axis, keepdims),
        max=lambda a, axis=None, keepdims=False: reduce(torch.amax, a, axis, keepdims),
    )


def numba_methods(w, args):
    """Tangent's gradient compiled with numba (compile="numba"); its setup time is
    the first call (probe, lowering, numba compile) with an empty on-disk cache."""
    import tempfile

    os.environ["TANGENT_CACHE_DIR"] = tempfile.mkdtemp(prefix="tangent-bench-")  # a cold numba cache
    tangent.clear_cache()
    df = tangent.grad(w.primal, wrt=w.wrt, compile="numba")
    start = time.perf_counter()
    df(*args)
    first_call = time.perf_counter() - start
    return [Method("tangent+numba", lambda: df(*args), setup_time=first_call)]


# peer -> (module to import, factory of its Methods, names of those Methods)
PEERS = {"numba": ("numba", numba_methods, ["tangent+numba"]),
         "autograd": ("autograd", autograd_methods, ["autograd"]),
         "jax": ("jax", jax_methods, ["jax", "jax.jit"]),
         "torch": ("torch", torch_methods, ["torch"])}


def available_peers():
    """name -> version, for the peers that import."""
    found = {}
    for name, (module, _, _) in PEERS.items():
        try:
            importlib.import_module(module)
        except Exception:  # missing, or broken in this environment
            continue
        try:
            version = importlib.metadata.version(module)
        except importlib.metadata.PackageNotFoundError:
            version = "?"
        found[name] = version
    return found


# =============================================================================
# Checking and timing
# =============================================================================


def as_tuple(grads, wrt):
    return tuple(grads) if len(wrt) > 1 else (grads,)


def same_gradient(got, want):
    return len(got) == len(want) and all(
        np.shape(g) == np.shape(w) and np.allclose(g, w) for g, w in zip(got, want, strict=True))


def check_by_finite_differences(w, args, grads, rng, eps=1e-6):
    """Directional derivative of the primal along a random direction vs <grads, direction>."""
    directions = [rng.standard_normal(np.shape(args[i])) for i in w.wrt]
    plus, minus = list(args), list(args)
    for i, v in zip(w.wrt, directions, strict=True):
        plus[i] = args[i] + eps * v
        minus[i] = args[i] - eps * v
    numeric = (w.primal(*plus) - w.primal(*minus)) / (2 * eps)
    analytic = sum(np.sum(g * v) for g, v in zip(grads, directions, strict=True))
    return math.isclose(numeric, analytic, rel_tol=1e-4, abs_tol=1e-6)


# The clock of the timing loops: wall time; bench_styles.py uses the
# process's CPU time (time.process_time), which a loaded machine inflates less.
CLOCK = time.perf_counter


def seconds_per_call(call, min_time=0.005):
    """Rough cost of one call: repeat until ``min_time`` has elapsed."""
    calls, start = 0, CLOCK()
    while True:
        call()
        calls += 1
        elapsed = CLOCK() - start
        if elapsed >= min_time:
            return elapsed / calls


def sample(call, number):
    """Seconds per call, averaged over ``number`` back-to-back calls."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = CLOCK()
        for _ in range(number):
            call()
        return (CLOCK() - start) / number
    finally:
        if gc_was_enabled:
            gc.enable()


@dataclass
class TimingPlan:
    """How long to sample: rounds are added until ``budget`` is spent, within the bounds."""

    sample_time: float  # each sample repeats the call until about this long
    budget: float  # seconds of sampling per workload
    min_rounds: int
    max_rounds: int


DEFAULT_PLAN = TimingPlan(sample_time=0.05, budget=12.0, min_rounds=5, max_rounds=61)
QUICK_PLAN = TimingPlan(sample_time=0.02, budget=2.5, min_rounds=3, max_rounds=25)


def time_interleaved(calls, plan):
    """Median seconds per call for each callable, sampled round-robin.

    One round takes one sample of every callable, starting from a different
    one each round, so slow drifts of the machine hit all of them alike.
    """
    costs = [seconds_per_call(c) for c in calls]
    numbers = [max(1, round(plan.sample_time / cost)) for cost in costs]
    round_time = sum(n * cost for n, cost in zip(numbers, costs, strict=True))
    rounds = int(min(plan.max_rounds, max(plan.min_rounds, plan.budget / round_time)))
    samples = [[] for _ in calls]
    for r in range(rounds):
        for k in range(len(calls)):
            j = (r + k) % len(calls)
            samples[j].append(sample(calls[j], numbers[j]))
    return [statistics.median(s) for s in samples], samples


def settle_allocator():
    """Put the C allocator in the state a long-running NumPy program is in.

    glibc's malloc serves big blocks with a fresh mmap (page faults on every
    allocation) until it sees a big block freed; then it raises its threshold
    and reuses heap memory. Without this, a workload's numbers would depend on
    whether a bigger workload ran before it: --only gmm measured Tangent and
    autograd 2-3x slower relative to the hand-written gradient than a full run.
    """
    big = np.empty(2 * 2**20)  # 16 MiB: above the initial threshold, below glibc's 32 MiB cap
    del big


def describe_error(exc, max_lines=2):
    """The exception's type and the first lines of its message.

    Tangent's messages start with the failing source line; the next lines say why.
    """
    lines = str(exc).strip().splitlines()[:max_lines] or [""]
    return "\n".join([f"{type(exc).__name__}: {lines[0]}", *lines[1:]])


# =============================================================================
# Running a workload
# =============================================================================


@dataclass
class Result:
    name: str
    description: str
    hand_checked: bool  # the hand-written gradient agrees with finite differences
    status: dict = field(default_factory=dict)  # method -> "ok" | "WRONG" | "FAILS: ..." | "ERROR: ..."
    times: dict = field(default_factory=dict)  # method -> median seconds per call
    samples: dict = field(default_factory=dict)  # method -> seconds per call of every round
    setup: dict = field(default_factory=dict)  # method -> seconds (tangent transform, jax.jit compile)


def run_workload(w, peers, plan, transform_repeats, seed=0):
    rng = np.random.default_rng(seed)
    args = w.make_args(rng)
    reference = as_tuple(w.hand_grad(*args), w.wrt)
    result = Result(w.name, w.description, check_by_finite_differences(w, args, reference, rng))

    # Build every gradient; a failure to build or to run goes into the table.
    # Tangent's failures are engine bugs ("FAILS"); a peer's are "ERROR"s of this script or the peer.
    factories = [("FAILS", functools.partial(tangent_methods, w, args, transform_repeats), ["tangent"])]
    for name in peers:
        _, make, names = PEERS[name]
        factories.append(("REFUSED" if name == "numba" else "ERROR", functools.partial(make, w, args), names))
    methods = [Method("primal", lambda: w.primal(*args)), Method("hand", lambda: w.hand_grad(*args))]
    for failure, build, names in factories:
        try:
            built = build()
        except Exception as exc:
            result.status.update(dict.fromkeys(names, f"{failure}: {describe_error(exc)}"))
            continue
        for m in built:
            try:
                got = as_tuple(m.call(), w.wrt)
            except Exception as exc:
                result.status[m.name] = f"{failure}: {describe_error(exc)}"
                continue
            result.status[m.name] = "ok" if same_gradient(got, reference) else "WRONG"
            if m.setup_time is not None:
                result.setup[m.name] = m.setup_time
            methods.append(m)

    medians, samples = time_interleaved([m.call for m in methods], plan)
    for m, median, s in zip(methods, medians, samples, strict=True):
        result.times[m.name] = median
        result.samples[m.name] = s
    return result


def call_overhead(plan):
    """Seconds per call of Tangent's cached derivative of ``x * 2.0``, and of ``return 2.0``."""
    df = tangent.grad(trivial)
    x = 3.0
    assert df(x) == trivial_grad(x)
    (t_tangent, t_hand), _ = time_interleaved([lambda: df(x), lambda: trivial_grad(x)], plan)
    return t_tangent, t_hand


# =============================================================================
# Hessian-vector products (--hvp): cost of one tangent.hvp call relative to
# one tangent.grad call, with respect to the same arguments
# =============================================================================

HVP_WORKLOADS = ("mlp_small", "mlp_large", "rnn")


@dataclass
class HvpResult:
    name: str
    description: str
    status: str  # "ok" | "WRONG" | "FAILS: ..."
    grad_time: float | None = None
    hvp_time: float | None = None
    transform: float | None = None  # cold tangent.hvp (includes building the gradient)


def hvp_matches_gradient_differences(w, args, gradient, product, vectors, eps=1e-6):
    """H v against central differences of the gradient along v (all wrt arguments at once)."""
    plus, minus = list(args), list(args)
    for i, v in zip(w.wrt, vectors, strict=True):
        plus[i] = args[i] + eps * v
        minus[i] = args[i] - eps * v
    numeric = [(p - m) / (2 * eps) for p, m in zip(as_tuple(gradient(*plus), w.wrt),
                                                    as_tuple(gradient(*minus), w.wrt), strict=True)]
    got = as_tuple(product(*args, *vectors), w.wrt)
    return len(got) == len(numeric) and all(
        np.shape(g) == np.shape(n) and np.linalg.norm(g - n) <= 1e-4 * np.linalg.norm(n) + 1e-8
        for g, n in zip(got, numeric, strict=True))


def run_hvp_workload(w, plan, seed=0):
    rng = np.random.default_rng(seed)
    args = w.make_args(rng)
    vectors = [rng.standard_normal(np.shape(args[i])) for i in w.wrt]
    result = HvpResult(w.name, w.description, "ok")
    try:
        tangent.clear_cache()
        start = time.perf_counter()
        product = tangent.hvp(w.primal, wrt=w.wrt)
        result.transform = time.perf_counter() - start
        gradient = tangent.grad(w.primal, wrt=w.wrt)
        if not hvp_matches_gradient_differences(w, args, gradient, product, vectors):
            result.status = "WRONG"
    except Exception as exc:
        result.status = f"FAILS: {describe_error(exc)}"
        return result
    (result.grad_time, result.hvp_time), _ = time_interleaved(
        [lambda: gradient(*args), lambda: product(*args, *vectors)], plan)
    return result


def print_hvp_table(results):
    header = ["workload", "wrt", "tangent.grad", "tangent.hvp", "hvp / grad", "hvp transform"]
    rows = []
    for r in results:
        wrt = next(w.wrt for w in WORKLOADS if w.name == r.name)
        if r.status.startswith("FAILS"):
            rows.append([r.name, str(wrt), "-", "-", "FAILS", "-"])
            continue
        ratio = f"{r.hvp_time / r.grad_time:.2f}x" + ("" if r.status == "ok" else " WRONG")
        rows.append([r.name, str(wrt), fmt_time(r.grad_time), fmt_time(r.hvp_time), ratio, fmt_time(r.transform)])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    print("  ".join(h.ljust(wd) if i == 0 else h.rjust(wd) for i, (h, wd) in enumerate(zip(header, widths))))
    print("  ".join("-" * wd for wd in widths))
    for row in rows:
        print("  ".join(c.ljust(wd) if i == 0 else c.rjust(wd) for i, (c, wd) in enumerate(zip(row, widths))))
    print("\nhvp / grad: one Hessian-vector product (forward mode over the generated gradient) per gradient,")
    print("median of interleaved rounds; each product is checked against differences of the gradient first.")
    for r in results:
        if r.status.startswith("FAILS"):
            print(f"  {r.name}: " + r.status.replace("\n", "\n      "))
        elif r.status == "WRONG":
            print(f"  !! {r.name}: hvp differs from central differences of the gradient")


def main_hvp(opts, plan, versions):
    names = [opts.only] if opts.only else list(HVP_WORKLOADS)
    results = []
    settle_allocator()
    for w in WORKLOADS:
        if w.name not in names:
            continue
        print(f"running hvp {w.name} ({w.description}) ...", file=sys.stderr, flush=True)
        results.append(run_hvp_workload(w, plan))
    print_hvp_table(results)
    if opts.json:
        with open(opts.json, "w") as fh:
            json.dump({"versions": versions, "plan": vars(plan), "hvp": [vars(r) for r in results]}, fh, indent=2)
        print(f"raw numbers written to {opts.json}")


# =============================================================================
# Report
# =============================================================================


def fmt_time(seconds):
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def ratio_cell(result, method, notes):
    status = result.status.get(method)
    if status is None:
        return "-"
    if status.startswith(("FAILS", "ERROR", "REFUSED")):  # (REFUSED: compile="numba" said why, in a note)
        notes.append(f"{result.name} / {method}: {status}")
        return f"{status.split(':')[0]} [{len(notes)}]"
    ratio = f"{result.times[method] / result.times['hand']:.2f}x"
    return ratio if status == "ok" else f"{ratio} WRONG"


def print_table(results, peer_methods):
    notes = []
    setups = ["tangent"] + [m for m in ("tangent+numba", "jax.jit") if m in peer_methods]
    header = ["workload", "primal", "hand grad", "tangent", *peer_methods, "transform",
              *(["numba 1st call"] if "tangent+numba" in setups else []),
              *(["jit compile"] if "jax.jit" in setups else [])]
    rows = []
    for r in results:
        hand = fmt_time(r.times["hand"]) + ("" if r.hand_checked else " FD-MISMATCH")
        rows.append([r.name, fmt_time(r.times["primal"]), hand,
                     *(ratio_cell(r, m, notes) for m in ["tangent", *peer_methods]),
                     *(fmt_time(r.setup.get(m)) for m in setups)])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells):
        first, *rest = zip(cells, widths, strict=True)
        return "  ".join([first[0].ljust(first[1]), *(c.rjust(wd) for c, wd in rest)])

    print(line(header))
    print("  ".join("-" * wd for wd in widths))
    for row in rows:
        print(line(row))
    print("\nRatios are gradient time / hand-written gradient time (median of interleaved rounds).")
    print("transform: cold tangent.grad (median of a few)"
          + ("; numba 1st call: first call of tangent.grad(f, compile=\"numba\") with an empty cache"
             if "tangent+numba" in setups else "")
          + ("; jit compile: first call of jax.jit(jax.grad(f))." if "jax.jit" in setups else "."))
    for i, note in enumerate(notes, 1):
        print(f"  [{i}] " + note.replace("\n", "\n      "))
    for r in results:
        if not r.hand_checked:
            print(f"  !! {r.name}: the hand-written gradient disagrees with finite differences")
        for method, status in r.status.items():
            if status == "WRONG":
                print(f"  !! {r.name} / {method}: WRONG gradient (differs from the hand-written one)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds (about 20 s)")
    parser.add_argument("--only", choices=[w.name for w in WORKLOADS], help="run one workload")
    parser.add_argument("--json", metavar="PATH", help="write the raw numbers to PATH")
    parser.add_argument("--hvp", action="store_true",
                        help="instead of the table above, time one tangent.hvp call against one tangent.grad call "
                             f"on {', '.join(HVP_WORKLOADS)}")
    opts = parser.parse_args(argv)

    plan = QUICK_PLAN if opts.quick else DEFAULT_PLAN
    if opts.hvp:
        if opts.only and opts.only not in HVP_WORKLOADS:
            parser.error(f"--hvp runs on {', '.join(HVP_WORKLOADS)} only")
        versions = {"python": platform.python_version(), "numpy": np.__version__, "tangent": tangent.__version__}
        print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + "\n")
        main_hvp(opts, plan, versions)
        return
    peers = available_peers()
    versions = {"python": platform.python_version(), "numpy": np.__version__, "tangent": tangent.__version__,
                **peers}
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    missing = [name for name in PEERS if name not in peers]
    if missing:
        print("not installed (skipped): " + ", ".join(missing))
    print()

    peer_methods = [method for name in peers for method in PEERS[name][2]]
    settle_allocator()
    results = []
    for w in WORKLOADS:
        if opts.only and w.name != opts.only:
            continue
        print(f"running {w.name} ({w.description}) ...", file=sys.stderr, flush=True)
        results.append(run_workload(w, peers, plan, transform_repeats=1 if opts.quick else 3))
    t_tangent, t_hand = call_overhead(plan)

    print_table(results, peer_methods)
    print(f"\ncached-derivative call overhead (f(x) = x * 2.0 on a float): tangent {fmt_time(t_tangent)}, "
          f"hand-written {fmt_time(t_hand)}, overhead {fmt_time(t_tangent - t_hand)} per call")

    if opts.json:
        report = {
            "versions": versions,
            "plan": vars(plan),
            "threads": {k: os.environ[k] for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")},
            "call_overhead": {"tangent": t_tangent, "hand": t_hand, "overhead": t_tangent - t_hand},
            "workloads": [vars(r) for r in results],
        }
        with open(opts.json, "w") as fh:
            json.dump(report, fh, indent=2)
        print(f"raw numbers written to {opts.json}")


if __name__ == "__main__":
    main()
