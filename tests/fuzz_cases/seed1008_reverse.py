"""A program shrunk by tools/fuzz.py (--seed 1008 --modes reverse).

wrong: grad against finite differences: max error 1.49
      got      [1.49, 1.49, 1.49]
      expected [0.0, 1.49, 1.49]

Replay: python tests/fuzz_cases/seed1008_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed1008_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (0,)
ARGS = [np.array([0.089869, 0.087953, 0.782007])]
VECTORS = [np.array([0.37571, 1.014866, -0.034893])]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def f(x0):
    tick()
    y2 = x0 * 1.0
    lst3 = {'k': y2}
    y2[0] = 0.5
    d4 = {'p': 0.5 * np.ones((2, 3)), 'q': x0}
    d4['p'] = d4['p'] * (lst3['k'] + np.zeros((2, 3)))
    return np.sum((1.49 * np.ones((2,)) @ d4['p']))
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
