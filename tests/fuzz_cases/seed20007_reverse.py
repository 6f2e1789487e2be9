"""A regression program for tools/fuzz.py (--seed 20007 --modes reverse).

wrong: grad against finite differences: max error 0.836
      got      [0.836463, 0.63444, 0.670929]
      expected [0.0, 0.63444, 0.670929]

Replay: python tests/fuzz_cases/seed20007_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed20007_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (0,)
ARGS = [np.array([-0.017151, -0.883512, -0.835335])]
VECTORS = [np.array([0.26801, -0.608324, 0.575057])]
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


def f(x0):
    tick()
    y3 = x0 * 1.0
    lst4 = [y3]
    y3[0] = 0.58
    y3 = lst4[0]
    return np.sum(np.sin(y3))
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
