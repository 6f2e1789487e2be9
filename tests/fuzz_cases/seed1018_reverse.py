"""A program shrunk by tools/fuzz.py (--seed 1018 --modes reverse).

wrong: grad against finite differences: max error 2
      got      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
      expected [0.0, 0.0, 2.0, 0.0, 0.0, 0.0]

Replay: python tests/fuzz_cases/seed1018_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed1018_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (0,)
ARGS = [[np.array([0.786108, 0.185194, 1.067782]), np.array([-0.551033, 0.467804, -1.133293])], np.array([1.136938, -0.002317, 0.860182])]
VECTORS = [[np.array([1.109096, -0.548299, -0.471885]), np.array([-0.585302, 1.014977, 1.063232])]]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def f(x0, x1):
    tick()
    y1 = x1.copy()
    v2 = np.max((x0[-2] + np.zeros((2, 3))))
    y6 = y1 * 1.0
    lst7 = [y6]
    y6[0] = v2
    return np.sum(((lst7[-1] + np.zeros((2, 3)))).sum(axis=1))
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
