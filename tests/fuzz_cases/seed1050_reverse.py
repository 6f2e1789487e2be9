"""A program shrunk by tools/fuzz.py (--seed 1050 --modes reverse).

wrong: grad against finite differences: max error 1
      got      [0.0, 0.0, 0.0]
      expected [0.0, 1.0, 0.0]

Replay: python tests/fuzz_cases/seed1050_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed1050_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (1,)
ARGS = [np.array([0.03573, -0.479113, 0.932838]), [-0.912019, 0.313572, 0.787239]]
VECTORS = [[0.915174, 0.385963, 0.205363]]
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


def f(x0, x1):
    tick()
    y1 = x0 * 1.0
    lst2 = [y1]
    y1[0] = x1[-2]
    return np.sum(lst2[-1])
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
