"""A program shrunk by tools/fuzz.py (--seed 1111 --modes reverse).

wrong: grad against finite differences: max error 1
      got      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
      expected [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]

Replay: python tests/fuzz_cases/seed1111_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed1111_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (1,)
ARGS = [[np.array([0.123042, -0.614478, 0.52729]), np.array([0.594951, -0.395419, 0.799895])], np.array([[-1.128094, 0.362938, 0.001439], [0.280913, -0.54021, -0.786116]])]
VECTORS = [np.array([[0.504529, -0.398609, -1.015246], [-0.722298, -0.013451, 0.826681]])]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def f(x0, x1):
    tick()
    tup5 = (x1, -1.16 * np.ones((2,))) * 2
    return np.sum(tup5[2][1])
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
