"""A regression program for tools/fuzz.py (written by hand).

(-0.42) ** 2 in the user's code was written back as -0.42 ** 2, which is -(0.42 ** 2): optimized=False derivatives took the wrong branch and gave wrong values.

Replay: python tests/fuzz_cases/negative_constant_base_of_power.py  (or python tools/fuzz.py --replay tests/fuzz_cases/negative_constant_base_of_power.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = ('reverse', 'forward', 'hvp', 'grad2')
WRT = (0, 1)
ARGS = [0.7, np.array([0.3, -0.2, 0.9])]
VECTORS = [0.4, np.array([1.0, 0.5, -0.3])]
SOURCE = """\
import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def f(x0, x1):
    tick()
    v0 = (-0.42) ** 2
    if v0 > -0.08:
        v1 = (-2.0) ** 2 * x0 + np.sum((-1.5) ** 3 * x1)
    else:
        v1 = x0
    return v1 * x0
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
