"""A regression program for tools/fuzz.py (--seed 400765 --modes reverse).

wrong: grad against finite differences: max error 1
      got      [2.0]
      expected [1.0]

Replay: python tests/fuzz_cases/seed400765_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed400765_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (1,)
ARGS = [np.array([1.001062, -0.516843, 0.444803]), 0.228594]
VECTORS = [-0.795573]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def f(x0, x1):
    tick()
    v0 = (x1 + np.zeros((2,)))
    lst2 = [v0] + [0.5 * np.ones((2,)), v0]
    v0 *= 0.5 * np.ones((2,))
    return 0.5 + np.sum(lst2[0])
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
