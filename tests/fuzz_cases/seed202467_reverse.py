"""A regression program for tools/fuzz.py (--seed 202467 --modes reverse).

mutated: grad (first call): the call changed its inputs (arguments, seed or vectors)

Replay: python tests/fuzz_cases/seed202467_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed202467_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (0,)
ARGS = [np.array([[1.011004, 0.926941, -0.254862], [0.901059, 0.216124, -0.832096]]), {'W': np.array([[-0.252715, -0.088137, 0.982673], [-0.583534, 0.497557, -1.190333]]), 'b': np.array([0.832731, -0.239673])}]
VECTORS = [np.array([[0.618741, 0.364402, 0.429018], [0.636761, 0.916206, 0.798732]])]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


class Box:
    def __init__(self, a, b):
        self.a = a
        self.b = b


def f(x0, x1):
    tick()
    y2 = np.copy(x0)
    y2[1, 0] *= -0.85
    y2 = x0[::-1]
    return np.sum(np.sin(y2))
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
