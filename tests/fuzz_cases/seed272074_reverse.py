"""A regression program for tools/fuzz.py (--seed 272074 --modes reverse).

wrong: grad against finite differences: max error 0.208
      got      [0.975089, 1.104493, 0.78516]
      expected [1.183381, 1.104493, 0.78516]

Replay: python /tmp/fz2/seed272074_reverse.py  (or python tools/fuzz.py --replay /tmp/fz2/seed272074_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (0,)
ARGS = [np.array([0.647971, 0.866845, 0.50483]), [0.87664, 0.488704, 1.170933]]
VECTORS = [np.array([1.178207, 0.437774, 1.08297])]
SOURCE = """\
import math

import numpy as np

CALLS = []


def tick():
    CALLS.append(1)


def f(x0, x1):
    tick()
    y4 = (x0 + 0.0)
    y4[np.array([0, 2])] *= y4[:2]
    return np.sum(np.sin(y4))
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools")]
    import fuzz

    sys.exit(fuzz.replay(__file__))
