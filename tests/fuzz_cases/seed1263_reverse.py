"""A program shrunk by tools/fuzz.py (--seed 1263 --modes reverse).

wrong: grad against finite differences: max error 1
      got      [0.0, 0.0, 0.0, 0.0]
      expected [1.0, 1.0, 1.0, 0.0]

Replay: python tests/fuzz_cases/seed1263_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed1263_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (0,)
ARGS = [(np.array([0.573763, -0.762563, -0.11994]), 0.531102, ), [np.array([0.704511, -0.339115, -0.534436]), np.array([0.01927, -0.263296, 0.401303])], np.array([-0.587265, 0.336776])]
VECTORS = [(np.array([0.239321, 1.199773, -0.50507]), 0.357631, )]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def f(x0, x1, x2):
    tick()
    tup1 = (x0[1], x0[0]) * 2
    return np.sum(tup1[3])
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
