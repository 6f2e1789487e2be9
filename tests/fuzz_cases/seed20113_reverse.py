"""A regression program for tools/fuzz.py (--seed 20113 --modes reverse).

wrong: grad against finite differences: max error 0.667
      got      [0.0, 0.0, 0.0]
      expected [0.666667, 0.666667, 0.666667]

Replay: python tests/fuzz_cases/seed20113_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed20113_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (0,)
ARGS = [np.array([-0.512515, -1.067494, -0.681208])]
VECTORS = [np.array([0.663475, -0.087341, 1.07338])]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def f(x0):
    tick()
    lst1 = [np.mean((x0 + np.zeros((2, 3))), axis=1)] * 2
    return np.sum(lst1[1])
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
