"""A regression program for tools/fuzz.py (--seed 20065 --modes reverse).

wrong: grad against finite differences: max error 1
      got      [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
      expected [1.0, 1.0, 1.0, 1.0, 1.0, 0.0]

Replay: python tests/fuzz_cases/seed20065_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed20065_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (0,)
ARGS = [np.array([[-0.103918, 0.160979, -0.734771], [-1.004609, 0.810531, 0.406832]])]
VECTORS = [np.array([[-0.355799, 0.001287, -0.96243], [0.087103, -0.57661, 0.535291]])]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def f(x0):
    tick()
    v3 = x0
    v8 = 0.5
    y9 = v3 * 1.0
    lst10 = (y9,)
    y9[1, 2] = v8
    return 0.5 + np.sum(lst10[0])
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
