"""A regression program for tools/fuzz.py (--seed 20058 --modes reverse).

wrong: grad against finite differences: max error 1
      got      [0.0, 0.0, 0.0]
      expected [0.0, 0.0, 1.0]

Replay: python tests/fuzz_cases/seed20058_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed20058_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (1,)
ARGS = [np.array([[0.831954, -0.118459, -1.043258], [-0.122176, -0.553212, -0.916459]]), [-0.75358, -1.127235, -0.025089]]
VECTORS = [[1.121048, 0.779103, 0.315462]]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def f(x0, x1):
    tick()
    y0 = x0 * 1.0
    lst1 = [y0]
    y0[1, 2] = x1[2]
    return 0.5 + np.sum(lst1[-1])
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
