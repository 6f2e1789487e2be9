"""A regression program for tools/fuzz.py (--seed 20156 --modes reverse).

wrong: grad against finite differences: max error 2
      got      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
      expected [2.0, 2.0, 2.0, 0.0, 0.0, 0.0]

Replay: python tests/fuzz_cases/seed20156_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed20156_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (1,)
ARGS = [np.array([-0.549974, 0.930245, -0.715438]), [np.array([-0.934696, 0.510653, -0.28839]), np.array([-0.397966, 0.647869, 0.210489])], np.array([0.686046, 0.120079, 0.011999])]
VECTORS = [[np.array([1.147823, -1.154606, -1.092724]), np.array([-0.070386, 0.228711, -0.114538])]]
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
    lst1 = [((x1[0] + np.zeros((2, 3)))).sum(axis=1)] * 2
    v3 = 0.5
    return v3 + np.sum(lst1[1])
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
