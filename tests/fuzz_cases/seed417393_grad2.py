"""A regression program for tools/fuzz.py (--seed 417393 --modes grad2).

crash: vjp of grad (first call): KeyError: 'a'
    Traceback (most recent call last):
      File "tangent/ownership.py", line 188, in owned
        out = derivative(*args, **kwargs)
              ^^^^^^^^^^^^^^^^^^^^^^^^^^^
      File "tangent/specialize.py", line 87, in derivative
        return specializations.implementation_for(args)(*args)
               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
      File "<tangent ddf #745>", line 65, in ddf
        dd_a = ddbox0['a']
               ~~~~~~^^^^^
    KeyError: 'a'

Replay: python tests/fuzz_cases/seed417393_grad2.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed417393_grad2.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'grad2'
WRT = (0,)
ARGS = [np.array([-1.101228, 0.3884, 0.651254]), np.array([-1.051754, -0.911727, 0.643577]), -0.978726]
VECTORS = [np.array([0.478002, 1.196763, 1.016723])]
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


def f(x0, x1, x2):
    tick()
    box0 = Box(x2, x0[1:])
    v2 = (box0.a + np.zeros((2, 3)))
    return np.sum(np.mean(1.0 / (1.0 + np.exp(-(v2))), axis=1)) + np.sum(box0.a)
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
