"""A program shrunk by tools/fuzz.py (--seed 1098 --modes reverse).

wrong: grad against finite differences: max error 2
      got      [0.0, 0.0, 0.0]
      expected [2.0, 0.0, 0.0]

Replay: python tests/fuzz_cases/seed1098_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed1098_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (2,)
ARGS = [np.array([-0.065451, 0.062791, 0.872356]), [-0.258479, -0.672089, -0.614289], [0.101865, 0.698218, 0.052445]]
VECTORS = [[-0.851691, 0.034389, -1.143668]]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def f(x0, x1, x2):
    tick()
    y0 = x0 * 1.0
    lst1 = [y0]
    y0[0] = x2[-3]
    return np.sum((lst1[-1] + np.zeros((2, 3))))
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
