"""A regression program for tools/fuzz.py (--seed 1148 --modes forward).

crash: jvp (optimized=False): NameError: name 'di' is not defined
    Traceback (most recent call last):
      File "/work/main/tools/fuzz.py", line 822, in call
        out = derivative(*inputs)
              ^^^^^^^^^^^^^^^^^^^
      File "/work/main/tangent/api.py", line 200, in owned
        out = derivative(*args, **kwargs)
              ^^^^^^^^^^^^^^^^^^^^^^^^^^^
      File "<tangent df #303>", line 38, in df
        d_tuple_2 = (di, d_seq_item)
                     ^^
    NameError: name 'di' is not defined

Replay: python tests/fuzz_cases/seed1148_forward.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed1148_forward.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'forward'
WRT = (0,)
ARGS = [(np.array([-0.27004, -1.156124, 0.184834]), -0.390488, )]
VECTORS = [(np.array([-0.677051, 0.065251, 0.24587]), 0.861376, )]
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


def f(x0):
    tick()
    d3 = {'p': 0.5 * np.ones((2, 3)), 'q': (x0[0] + np.zeros((2, 3)))}
    lst4 = [x0[0]]
    d6 = {'p': d3['p'], 'q': x0[0]}
    d6['r'] = d3['p']
    for i8, w7 in enumerate(lst4):
        pass
    return 0.5
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
