"""A regression program for tools/fuzz.py (--seed 20038 --modes reverse).

wrong: grad against finite differences: max error 1
      got      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
      expected [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]

Replay: python tests/fuzz_cases/seed20038_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed20038_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (1,)
ARGS = [np.array([-1.163996, 0.911187, 1.052391]), np.array([[0.229578, 0.317236, -0.405059], [0.200051, -0.126334, -0.808671]])]
VECTORS = [np.array([[-1.160015, -0.50551, -0.310333], [-0.442532, -0.621523, 0.691224]])]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def f(x0, x1):
    tick()
    lst3 = [x1] * 3
    v4 = lst3[2]
    return np.sum(v4)
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
