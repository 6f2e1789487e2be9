"""A regression program for tools/fuzz.py (--seed 20020 --modes reverse).

wrong: grad against finite differences: max error 2
      got      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
      expected [2.0, 2.0, 2.0, 0.0, 0.0, 0.0]

Replay: python tests/fuzz_cases/seed20020_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed20020_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (0,)
ARGS = [[np.array([-0.442824, -0.80119, -0.408357]), np.array([0.636138, -0.354165, 1.18552])]]
VECTORS = [[np.array([0.000457, -0.027559, -0.157563]), np.array([0.518333, 0.905938, -1.175724])]]
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
    d2 = {'p': (x0[-2] + np.zeros((2, 3))), 'q': -0.45 * np.ones((2,))}
    tup10 = (0.86, d2['p']) * 2
    return np.sum(tup10[3])
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
