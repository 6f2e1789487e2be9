"""A program shrunk by tools/fuzz.py (--seed 1114 --modes reverse).

wrong: grad against finite differences: max error 2
      got      [2.0, 2.0, 2.0]
      expected [4.0, 4.0, 4.0]

Replay: python tests/fuzz_cases/seed1114_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed1114_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (2,)
ARGS = [0.299781, np.array([-0.225731, 1.102648, 0.843597]), np.array([-0.217873, -0.002541, -0.605046])]
VECTORS = [np.array([-0.654102, 0.135841, -1.179134])]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def f(x0, x1, x2):
    tick()
    y0 = x2 * 1.0
    lst1 = [y0]
    y0 += x2
    return np.sum((lst1[-1] + np.zeros((2, 3))))
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
