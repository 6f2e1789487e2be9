"""A program shrunk by tools/fuzz.py (--seed 1282 --modes reverse).

wrong: grad against finite differences: max error 0.333
      got      [0.0, 0.0, 0.0]
      expected [0.333333, 0.333333, 0.333333]

Replay: python tests/fuzz_cases/seed1282_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed1282_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (0,)
ARGS = [np.array([-0.895776, -1.091595, 0.437596])]
VECTORS = [np.array([-1.018718, -0.329943, -0.041349])]
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
    lst3 = 2 * [np.mean(x0)]
    return lst3[-1]
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
