"""A regression program for tools/fuzz.py (--seed 20030 --modes reverse).

wrong: grad against finite differences: max error 0.506
      got      [0.660605, 0.953371, 0.951552, 0.667234, 0.987208, 0.50622]
      expected [0.660605, 0.953371, 0.951552, 0.667234, 0.987208, 0.0]

Replay: python tests/fuzz_cases/seed20030_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed20030_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (0,)
ARGS = [np.array([[0.849172, 0.306582, 0.312551], [-0.840307, -0.160119, -0.090344]]), np.array([0.683112, -1.01211])]
VECTORS = [np.array([[-0.326435, 0.968936, -0.351423], [0.256472, 0.26109, -0.371682]])]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def f(x0, x1):
    tick()
    y4 = x0 * 1.0
    lst5 = [y4]
    y4[1, 2] = -1.04
    for i7, w6 in enumerate(lst5):
        pass
    return np.sum(np.sin(w6))
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
