"""A regression program for tools/fuzz.py (--seed 203144 --modes grad2).

wrong: vjp of grad against finite differences of the gradient: max error 0.0783
      got      [0.09128, 0.335844, 0.27943, 0.0, 0.0, 0.0]
      expected [0.012932, 0.327391, 0.259979, 0.0, 0.0, 0.0]

Replay: python tests/fuzz_cases/seed203144_grad2.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed203144_grad2.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'grad2'
WRT = (0,)
ARGS = [[np.array([-0.337681, -0.92667, -0.547231]), np.array([0.154973, -0.847504, 0.990039])], {'W': np.array([[0.689859, -0.488348, 0.638432], [-0.892766, -0.508701, 0.962743]]), 'b': np.array([0.178533, 0.029149])}, np.array([-0.208893, -0.768577, -0.639472])]
VECTORS = [[np.array([0.047375, -0.06387, -0.723588]), np.array([-0.54899, 1.145532, -0.10389])]]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def f(x0, x1, x2):
    tick()
    y0 = (x2 + 0.0)
    y1 = (y0 + 0.0)
    y1[np.array([0, 2])] += x1['b']
    return np.sin((y1 @ x0[0]))
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
