"""A program shrunk by tools/fuzz.py (--seed 1052 --modes reverse).

wrong: grad against finite differences: max error 1
      got      [0.0, 0.0, 0.0]
      expected [0.0, 0.0, 1.0]

Replay: python tests/fuzz_cases/seed1052_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed1052_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (1,)
ARGS = [{'W': np.array([[0.175494, 0.651638, -0.857646], [0.264988, 0.704952, 0.504572]]), 'b': np.array([-0.406512, 0.641075])}, [-0.02408, 0.41428, -1.15411]]
VECTORS = [[0.555481, 0.20705, 0.760078]]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def f(x0, x1):
    tick()
    v1 = 0.5 * np.ones((2, 3))
    y2 = v1 * 1.0
    lst3 = (y2,)
    y2[1, 2] = x1[2]
    return np.sum(lst3[0])
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
