"""A regression program for tools/fuzz.py (--seed 20071 --modes reverse).

wrong: grad against finite differences: max error 1
      got      [0.0]
      expected [1.0]

Replay: python tests/fuzz_cases/seed20071_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed20071_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (2,)
ARGS = [{'W': np.array([[-0.447897, -0.141204, 0.081997], [-0.515188, 0.658602, 0.659203]]), 'b': np.array([0.899224, -1.147896])}, np.array([-0.620331, 0.809859, 0.096114]), -0.560999]
VECTORS = [-0.230367]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def f(x0, x1, x2):
    tick()
    y4 = x1 * 1.0
    lst5 = (y4,)
    y4[0] = x2
    return 0.5 + np.sum(lst5[0])
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
