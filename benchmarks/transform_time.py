"""Time Tangent's transforms (not the generated code) on straight-line NumPy functions.

For functions of 25, 100 and 400 lines (elementwise functions, matmuls,
reductions, each line reusing earlier variables) the script prints, in ms of
CPU time (``time.process_time``: a loaded machine slows wall time, not this),
the best of ``--repeat`` cold runs:

- ``grad``: a cold ``tangent.grad(f)`` (cache cleared);
- ``specialise``: the first call of that derivative minus a later call (the
  first call generates code specialised to the argument shapes);
- ``jvp``: a cold ``tangent.jvp(f)``;
- ``hvp``: a cold ``tangent.hvp(f)`` plus its first call (the gradient, its
  specialisation and forward mode over the specialised gradient);

and then the wall time of ``python tools/fuzz.py --seed 7000 --n 40``. The
targets are transform time linear in the function's size, and a 25/100/400-line
function grad + specialisation under 50/200/800 ms. Usage::

    python benchmarks/transform_time.py              # about a minute
    python benchmarks/transform_time.py --no-fuzz --sizes 25,100
    python benchmarks/transform_time.py --show 25    # print the generated 25-line function
    python benchmarks/transform_time.py --profile 400  # where grad + first call of 400 lines spend

One thread: the BLAS thread variables are set before NumPy is imported.
"""

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import argparse
import importlib.util
import random
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import tangent  # noqa: E402

N = 4  # vector length; matrices are N x N


def program(lines: int, seed: int = 0) -> str:
    """The source of ``f(x, A, s)``: ``lines`` assignments, then a scalar return.

    Vectors have shape (N,), matrices (N, N), scalars are floats; every value
    stays bounded (tanh, sin, products of bounded values, averages)."""
    r = random.Random(seed)
    vecs, mats, scalars = ["x"], ["A"], ["s"]
    body = []

    def pick(pool):
        # mostly recent values, sometimes old ones: realistic reuse
        if r.random() < 0.7:
            return pool[-1 - min(int(r.expovariate(0.5)), len(pool) - 1)]
        return r.choice(pool)

    for k in range(lines):
        kind = r.random()
        if kind < 0.55:
            name, pool = f"v{k}", vecs
            a, b = pick(vecs), pick(vecs)
            c = pick(scalars)
            m = pick(mats)
            expr = r.choice([
                f"np.tanh({a}) * {b}",
                f"0.5 * ({a} + {b})",
                f"np.sin({a}) - {c} * {b}",
                f"{m} @ {a} / {N}",
                f"np.sqrt(1.0 + {a} * {a})",
                f"np.exp(-{a} * {b})",
                f"np.cos({a} * {c})",
                f"np.tanh({m} @ {a} + {b})",
                f"{a} * {b} - np.mean({a})",
            ])
        elif kind < 0.75:
            name, pool = f"m{k}", mats
            a, b = pick(mats), pick(mats)
            u, v = pick(vecs), pick(vecs)
            expr = r.choice([
                f"np.tanh({a} @ {b} / {N})",
                f"{a} * np.cos({b})",
                f"0.5 * ({a} + {b}.T)",
                f"np.outer(np.tanh({u}), {v}) + {a}",
                f"{a} - np.sum({b}, axis=0) / {N}",
            ])
        else:
            name, pool = f"s{k}", scalars
            a, b = pick(vecs), pick(vecs)
            c = pick(scalars)
            m = pick(mats)
            expr = r.choice([
                f"np.sum({a} * {b}) / {N}",
                f"np.mean(np.tanh({a}))",
                f"np.dot({a}, {b}) / {N} + {c}",
                f"np.tanh({c}) * np.max({a})",
                f"np.sum({m} @ {a}) / {N * N}",
                f"np.sin({c} * {c})",
            ])
        body.append(f"    {name} = {expr}")
        pool.append(name)
    ret = f"    return np.sum({vecs[-1]} * {vecs[-2 if len(vecs) > 1 else -1]}) + np.sum({mats[-1]}) / {N * N} + {scalars[-1]}"
    return "import numpy as np\n\n\ndef f(x, A, s):\n" + "\n".join(body) + "\n" + ret + "\n"


def load(source: str, tag: str):
    """Write ``source`` to a module file (inspect must find it) and import it."""
    folder = tempfile.mkdtemp(prefix="tangent-transform-time-")
    path = os.path.join(folder, f"straight_{tag}.py")
    with open(path, "w") as fh:
        fh.write(source)
    spec = importlib.util.spec_from_file_location(f"straight_{tag}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def arguments(seed=1):
    r = np.random.RandomState(seed)
    return [r.randn(N), r.randn(N, N) / 2, 0.3]


def ms(seconds):
    return seconds * 1e3


def measure(f, args, repeat):
    """(grad, specialise, jvp, hvp) in ms of CPU time, each the best of ``repeat``."""
    wrt = (0, 1, 2)
    vectors = arguments(2)
    clock = time.process_time
    grad_t, spec_t, jvp_t, hvp_t = [], [], [], []
    for _ in range(repeat):
        tangent.clear_cache()
        t0 = clock()
        df = tangent.grad(f, wrt=wrt)
        t1 = clock()
        df(*args)
        t2 = clock()
        df(*args)
        t3 = clock()
        grad_t.append(t1 - t0)
        spec_t.append((t2 - t1) - (t3 - t2))

        tangent.clear_cache()
        t0 = clock()
        tangent.jvp(f, wrt=wrt)
        jvp_t.append(clock() - t0)

        tangent.clear_cache()
        t0 = clock()
        h = tangent.hvp(f, wrt=wrt)
        h(*args, *vectors)
        hvp_t.append(clock() - t0)
    return [ms(min(t)) for t in (grad_t, spec_t, jvp_t, hvp_t)]


def profile(lines: int, top: int = 30) -> None:
    """cProfile of a cold grad plus its first call on the ``lines``-line
    function: Tangent's functions by cumulative time."""
    import cProfile
    import pstats

    module = load(program(lines), f"profile{lines}")
    args = arguments()
    tangent.clear_cache()
    profiler = cProfile.Profile()
    profiler.enable()
    tangent.grad(module.f, wrt=(0, 1, 2))(*args)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats("tangent/", top)


def fuzz_time(seed=7000, n=40):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "fuzz.py"), "--seed", str(seed), "--n", str(n)],
                          env=env, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    return elapsed, done


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="25,100,400")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many cold runs")
    parser.add_argument("--no-fuzz", action="store_true")
    parser.add_argument("--show", type=int, default=None, help="print the program of this many lines and stop")
    parser.add_argument("--profile", type=int, default=None, metavar="LINES",
                        help="profile grad + first call of a function of this many lines and stop")
    opts = parser.parse_args(argv)
    if opts.show is not None:
        print(program(opts.show))
        return 0
    sizes = [int(s) for s in opts.sizes.split(",") if s]
    warm = load(program(5, seed=99), "warmup")  # imports and first-use costs out of the table
    measure(warm.f, arguments(), 1)
    if opts.profile is not None:
        profile(opts.profile)
        return 0
    print(f"{'lines':>5} {'grad ms':>9} {'specialise ms':>14} {'grad+spec ms':>13} {'jvp ms':>8} {'hvp 1st call ms':>16}")
    for lines in sizes:
        module = load(program(lines), str(lines))
        args = arguments()
        g, s, j, h = measure(module.f, args, opts.repeat)
        print(f"{lines:>5} {g:>9.0f} {s:>14.0f} {g + s:>13.0f} {j:>8.0f} {h:>16.0f}", flush=True)
    if not opts.no_fuzz:
        elapsed, done = fuzz_time()
        tail = [line for line in done.stdout.splitlines() if line.strip()][-5:]
        print(f"\ntools/fuzz.py --seed 7000 --n 40: {elapsed:.1f} s wall (exit {done.returncode})")
        for line in tail:
            print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
