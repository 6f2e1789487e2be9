"""A regression program for tools/fuzz.py (--seed 20077 --modes reverse).

wrong: grad against finite differences: max error 1
      got      [1.0, 1.0, 1.0]
      expected [0.0, 1.0, 1.0]

Replay: python tests/fuzz_cases/seed20077_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed20077_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (0,)
ARGS = [np.array([-0.509873, -0.193366, 0.655286]), [np.array([-0.72666, -0.677658, -1.139662]), np.array([0.368992, 0.934137, 1.154058])]]
VECTORS = [np.array([0.60712, -0.798372, 0.545929])]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def f(x0, x1):
    tick()
    y4 = x0 * 1.0
    lst5 = {'k': y4}
    y4[0] = -1.32
    return 0.5 + np.sum(lst5['k'])
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
