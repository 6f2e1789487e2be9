"""A program shrunk by tools/fuzz.py (--seed 1136 --modes reverse).

wrong: grad against finite differences: max error 1
      got      [1.0, 0.0, 1.0]
      expected [0.0, 0.0, 1.0]

Replay: python tests/fuzz_cases/seed1136_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed1136_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (0,)
ARGS = [np.array([0.414156, -0.739586, -0.335677]), np.array([0.06501, -0.213966])]
VECTORS = [np.array([1.101693, 0.892233, 0.332335])]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def f(x0, x1):
    tick()
    y0 = x0 * 1.0
    lst1 = (y0,)
    y0[0] = -0.8
    return np.sum(lst1[0][np.array([2, 0])])
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
