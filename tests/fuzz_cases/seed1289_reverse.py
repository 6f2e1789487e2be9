"""A program shrunk by tools/fuzz.py (--seed 1289 --modes reverse).

wrong: grad against finite differences: max error 1
      got      [0.0, 0.0, 0.0]
      expected [0.0, 1.0, 0.0]

Replay: python tests/fuzz_cases/seed1289_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed1289_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (0,)
ARGS = [[0.221215, -0.412526, 0.59987], np.array([-0.515284, -0.982387, -1.063582]), (np.array([0.203023, 0.663854, -0.508342]), 0.192302, )]
VECTORS = [[1.088904, 0.98155, 0.879595]]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


class Box:
    def __init__(self, a, b):
        self.a = a
        self.b = b


def f(x0, x1, x2):
    tick()
    lst2 = [x2[1]] + [x0[-2]]
    return lst2[1]
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
