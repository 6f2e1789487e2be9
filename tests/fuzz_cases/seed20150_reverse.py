"""A regression program for tools/fuzz.py (--seed 20150 --modes reverse).

wrong: grad against finite differences: max error 1
      got      [2.0, 2.0, 2.0, 2.0, 2.0, 2.0]
      expected [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]

Replay: python tests/fuzz_cases/seed20150_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed20150_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (0,)
ARGS = [np.array([[-0.81499, 0.987075, 0.740464], [-1.183325, 0.873098, -0.876323]]), np.array([-0.627447, 0.744122, 1.143607]), [np.array([-0.707878, 1.177802, -0.586844]), np.array([0.541045, 0.957123, 0.194195])]]
VECTORS = [np.array([[-0.01768, 1.18963, -0.399547], [0.630923, -1.038566, 0.085083]])]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def f(x0, x1, x2):
    tick()
    lst0 = [x0] + [x0]
    return np.sum(lst0[0])
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
