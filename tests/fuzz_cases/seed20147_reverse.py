"""A regression program for tools/fuzz.py (--seed 20147 --modes reverse).

wrong: grad against finite differences: max error 1
      got      [0.0]
      expected [1.0]

Replay: python tests/fuzz_cases/seed20147_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed20147_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (2,)
ARGS = [np.array([-0.091219, 0.97695, -1.109154]), np.array([[-1.041377, 0.567909, -0.800231], [0.184432, 0.594564, -0.265665]]), -0.677669]
VECTORS = [0.807708]
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
    v1 = x2
    y2 = x1 * 1.0
    lst3 = {'k': y2}
    y2[1, 2] = v1
    return 0.5 + np.sum(lst3['k'])
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
