"""How much ``import tangent`` costs over ``import numpy``, and that it imports
none of the optional array libraries.

Runs fresh interpreters (``python -c``) ``--repeat`` times each, alternating,
and prints the best wall time and CPU time (user + system, which a loaded
machine inflates less) of ``import numpy`` and of ``import numpy, tangent``
(best of: load only adds time), their differences, and
which of torch, jax, tensorflow and dask ``import tangent`` left in
``sys.modules`` (none, by design: their rules load once the user imports
them). The target (issue 12) is a difference under 0.2 s with all of them
installed. Exits 1 when both differences miss it or a library was imported.
Usage::

    python tools/import_time.py              # about 10 s
    python tools/import_time.py --repeat 20
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time

LIBRARIES = ("torch", "jax", "tensorflow", "dask")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(code: str) -> tuple[float, float, str]:
    """Wall time and CPU time (user + system) of a fresh ``python -c code``
    run from the repository root, and its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, out


def measure(repeat: int) -> tuple[tuple[float, float], tuple[float, float], list[str]]:
    """((wall, cpu) of numpy, (wall, cpu) of numpy + tangent, each the best of
    ``repeat``; the optional libraries ``import tangent`` imported)."""
    numpy_times, tangent_times = [], []
    probe = "import sys, numpy, tangent; print(' '.join(m for m in %r if m in sys.modules))" % (LIBRARIES,)
    imported: list[str] = []
    for _ in range(repeat):
        numpy_times.append(timed("import numpy")[:2])
        *seconds, out = timed(probe)
        tangent_times.append(tuple(seconds))
        imported = out.split()
    best = lambda times: (min(t[0] for t in times), min(t[1] for t in times))  # noqa: E731
    return best(numpy_times), best(tangent_times), imported


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args(argv)
    (numpy_s, numpy_cpu), (tangent_s, tangent_cpu), imported = measure(args.repeat)
    installed = [m for m in LIBRARIES if subprocess.run([sys.executable, "-c", f"import importlib.util as u; "
                                                         f"exit(u.find_spec({m!r}) is None)"]).returncode == 0]
    print(f"                       wall (ms)  CPU (ms), best of {args.repeat}")
    print(f"import numpy:          {numpy_s * 1000:9.1f} {numpy_cpu * 1000:9.1f}")
    print(f"import numpy, tangent: {tangent_s * 1000:9.1f} {tangent_cpu * 1000:9.1f}")
    print(f"tangent costs:         {(tangent_s - numpy_s) * 1000:9.1f} {(tangent_cpu - numpy_cpu) * 1000:9.1f}"
          "  (target < 200 ms)")
    print(f"installed: {', '.join(installed) or 'none'}; imported by `import tangent`: {', '.join(imported) or 'none'}")
    return 0 if min(tangent_s - numpy_s, tangent_cpu - numpy_cpu) < 0.2 and not imported else 1


if __name__ == "__main__":
    sys.exit(main())
