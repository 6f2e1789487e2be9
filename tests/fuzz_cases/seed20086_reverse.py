"""A regression program for tools/fuzz.py (--seed 20086 --modes reverse).

wrong: grad against finite differences: max error 1
      got      [0.0, 0.0, 0.0, 0.0]
      expected [0.0, 0.0, 0.0, 1.0]

Replay: python tests/fuzz_cases/seed20086_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed20086_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (2,)
ARGS = [np.array([0.294461, -0.925407, 1.113206]), np.array([-0.263955, -0.795262, -0.427686]), (np.array([-0.582304, -1.104013, 0.994641]), 0.796835, )]
VECTORS = [(np.array([0.338796, -0.25329, -1.131616]), -0.155185, )]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def f(x0, x1, x2):
    tick()
    y1 = x1 * 1.0
    lst2 = [y1]
    y1[0] = x2[1]
    return np.sum(lst2[0])
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
