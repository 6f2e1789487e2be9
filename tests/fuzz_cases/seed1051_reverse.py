"""A program shrunk by tools/fuzz.py (--seed 1051 --modes reverse).

wrong: grad against finite differences: max error 0.222
      got      [0.0]
      expected [0.222138]

Replay: python tests/fuzz_cases/seed1051_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed1051_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (0,)
ARGS = [-1.119091, [np.array([0.722142, -0.731284, 0.120211]), np.array([-0.20728, -0.78177, 0.432232])], np.array([-0.640864, 0.134525, -0.426519])]
VECTORS = [0.228893]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def f(x0, x1, x2):
    tick()
    lst3 = [(x0 + np.zeros((2,)))] * 3
    return np.sum(np.outer(lst3[-1], x1[-2]))
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
