"""A regression program for tools/fuzz.py (--seed 20180 --modes reverse).

wrong: grad against finite differences: max error 1
      got      [0.0, 0.0, 0.0, 0.0]
      expected [0.0, 0.0, 0.0, 1.0]

Replay: python tests/fuzz_cases/seed20180_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed20180_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (0,)
ARGS = [(np.array([0.252871, 0.193457, -0.103051]), 0.110847, ), {'W': np.array([[-0.628265, 1.166888, 0.610645], [0.885762, -0.649014, -0.410922]]), 'b': np.array([1.161465, 0.848238])}, np.array([-0.452962, -0.167799, -0.789792])]
VECTORS = [(np.array([1.032015, 0.111004, -0.427753]), -0.931512, )]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def f(x0, x1, x2):
    tick()
    y1 = x2.astype(float)
    y2 = np.copy(y1)
    y3 = y2 * 1.0
    lst4 = [y3]
    y3[0] = x0[1]
    return 0.5 + np.sum(lst4[-1])
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
