"""A regression program for tools/fuzz.py (--seed 20042 --modes reverse).

wrong: grad against finite differences: max error 1
      got      [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
      expected [1.0, 1.0, 1.0, 1.0, 1.0, 0.0]

Replay: python tests/fuzz_cases/seed20042_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed20042_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (0,)
ARGS = [np.array([[0.339107, 0.12703, 0.119571], [-0.779184, -0.937768, -0.257199]])]
VECTORS = [np.array([[-1.169252, -0.491786, -0.966777], [0.82287, -0.020412, -0.922896]])]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def f(x0):
    tick()
    y3 = x0 * 1.0
    lst4 = (y3,)
    y3[1, 2] = -0.12
    return np.sum(np.sum(lst4[0], axis=0))
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
