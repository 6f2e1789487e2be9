"""A regression program for tools/fuzz.py (--seed 20136 --modes reverse).

wrong: grad against finite differences: max error 1
      got      [1.0, 1.0, 1.0]
      expected [0.0, 1.0, 1.0]

Replay: python tests/fuzz_cases/seed20136_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed20136_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (0,)
ARGS = [np.array([0.358437, -0.621562, 0.248481])]
VECTORS = [np.array([-1.070975, 0.70042, -0.057201])]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def f(x0):
    tick()
    v0 = x0
    y4 = v0 * 1.0
    lst5 = (y4,)
    y4[0] = -1.34
    v6 = 1.17
    return v6 + np.sum(lst5[0])
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
