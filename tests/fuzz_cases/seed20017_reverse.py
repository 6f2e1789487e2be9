"""A regression program for tools/fuzz.py (--seed 20017 --modes reverse).

wrong: grad against finite differences: max error 6
      got      [0.0]
      expected [6.0]

Replay: python tests/fuzz_cases/seed20017_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed20017_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (1,)
ARGS = [0.725327, 0.283439, [np.array([0.905439, 0.311096, 0.569758]), np.array([-0.177199, -0.044597, -0.000955])]]
VECTORS = [0.935612]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def f(x0, x1, x2):
    tick()
    v0 = x0
    lst1 = [np.minimum(0.5 * np.ones((2, 3)), x1)] * 3
    return v0 + np.sum(lst1[1])
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
