"""A program shrunk by tools/fuzz.py (--seed 1232 --modes reverse).

wrong: grad against finite differences: max error 2
      got      [0.0, 0.0, 0.0]
      expected [2.0, 2.0, 2.0]

Replay: python tests/fuzz_cases/seed1232_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed1232_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (0,)
ARGS = [np.array([-0.748205, 1.198067, -0.433283]), np.array([1.094583, 0.776012, 0.097976]), 0.537794]
VECTORS = [np.array([1.132551, -1.160456, 0.140142])]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def f(x0, x1, x2):
    tick()
    lst1 = [0.5 * np.ones((2, 3))] + [(x0 + np.zeros((2, 3))), 0.5 * np.ones((2, 3))]
    return np.sum(lst1[1])
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
