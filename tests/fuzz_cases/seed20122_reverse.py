"""A regression program for tools/fuzz.py (--seed 20122 --modes reverse).

wrong: grad against finite differences: max error 1
      got      [1.0, 0.0, 0.0]
      expected [2.0, 0.0, 0.0]

Replay: python tests/fuzz_cases/seed20122_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed20122_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (2,)
ARGS = [np.array([0.019712, 0.519185]), (np.array([-0.495105, -0.790839, -1.140022]), 0.729061, ), [-0.200522, -0.090008, 0.317039]]
VECTORS = [[-0.220646, -1.095216, 0.620632]]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def f(x0, x1, x2):
    tick()
    lst6 = [x2[-3]] * 3
    return x2[-3] + np.sum(lst6[-2])
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
