"""A program shrunk by tools/fuzz.py (--seed 1216 --modes reverse).

wrong: grad against finite differences: max error 2
      got      [0.0]
      expected [2.0]

Replay: python tests/fuzz_cases/seed1216_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed1216_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (1,)
ARGS = [np.array([0.312884, 0.840709, 0.477535]), 1.113626]
VECTORS = [-1.125314]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def f(x0, x1):
    tick()
    y3 = x0 * 1.0
    lst4 = (y3,)
    y3[0] = x1
    return np.sum((lst4[0] + np.zeros((2, 3))))
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
