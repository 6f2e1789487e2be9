"""A regression program for tools/fuzz.py (--seed 417389 --modes grad2).

crash: vjp of grad (first call): KeyError: 'b'
    Traceback (most recent call last):
      File "tangent/ownership.py", line 188, in owned
        out = derivative(*args, **kwargs)
              ^^^^^^^^^^^^^^^^^^^^^^^^^^^
      File "tangent/specialize.py", line 87, in derivative
        return specializations.implementation_for(args)(*args)
               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
      File "<tangent ddf #642>", line 78, in ddf
        dd_b = dd_box['b']
               ~~~~~~^^^^^
    KeyError: 'b'

Replay: python tests/fuzz_cases/seed417389_grad2.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed417389_grad2.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'grad2'
WRT = (1,)
ARGS = [[np.array([1.07319, 0.838918, 0.200211]), np.array([1.005381, 0.024907, 0.68669])], np.array([[-0.459841, -0.094762, 0.270735], [-0.072006, 1.102667, -0.513914]])]
VECTORS = [np.array([[-1.0379, -0.249904, 0.982658], [1.058522, -0.408564, -0.323489]])]
SOURCE = """\
import math

import numpy as np

CALLS = []


def tick():
    CALLS.append(1)


class Box:
    def __init__(self, a, b):
        self.a = a
        self.b = b


def f(x0, x1):
    tick()
    v2 = x1
    v10 = sum(np.sum(-1.48) for w9 in x0)
    box11 = Box((v2 @ x0[-2]), v10)
    return np.sum((box11.b * (v2).sum(axis=0)))
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
