"""A program shrunk by tools/fuzz.py (--seed 1224 --modes reverse).

wrong: grad against finite differences: max error 3
      got      [0.0, 0.0, 0.0]
      expected [0.0, 0.0, 3.0]

Replay: python tests/fuzz_cases/seed1224_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed1224_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (0,)
ARGS = [[0.675295, -1.05992, -0.113201]]
VECTORS = [[0.65376, 0.343836, 0.233046]]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def f(x0):
    tick()
    v1, v2 = (x0[2] + np.zeros((3,))), 0.5 * np.ones((3,))
    lst3 = [v1] + [v1]
    return np.sum(lst3[1])
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
