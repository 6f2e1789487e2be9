"""A regression program for tools/fuzz.py (--seed 20130 --modes reverse).

wrong: grad against finite differences: max error 2
      got      [0.0, 0.0, 0.0]
      expected [2.0, 2.0, 2.0]

Replay: python tests/fuzz_cases/seed20130_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed20130_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (0,)
ARGS = [np.array([-0.583785, 0.258895, 1.001635])]
VECTORS = [np.array([0.241356, -0.412997, -0.025527])]
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
    lst2 = [0.5 * np.ones((2, 3))] + [0.5 * np.ones((2, 3)), (x0 + np.zeros((2, 3)))]
    return 0.5 + np.sum(lst2[-1])
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
