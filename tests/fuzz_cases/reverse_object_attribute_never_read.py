"""A program shrunk by tools/fuzz.py (--seed 28 --modes reverse).

crash: grad (first call): KeyError: 'b'
    Traceback (most recent call last):
      File "/work/main/tangent/api.py", line 52, in derivative
        return implementation(*args)
               ^^^^^^^^^^^^^^^^^^^^^
      File "<tangent df #73>", line 27, in df
        db_init_Box = grad_of_written(d_box, 'b', v5)
                      ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
      File "/work/main/tangent/runtime.py", line 263, in grad_of_written
        region = g[index]
                 ~^^^^^^^
    KeyError: 'b'

Replay: python /tmp/fz/seed28_reverse.py  (or python tools/fuzz.py --replay /tmp/fz/seed28_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (1,)
ARGS = [[-0.24186, 0.095031, -0.144517], [-0.497267, 0.8107, 1.044156]]
VECTORS = [[0.225348, 0.24844, -0.989797]]
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
    v2 = 0.5 * np.ones((3,))
    v5 = (v2 * x1[2])
    box6 = Box(0.5 * np.ones((2, 3)), v5)
    return np.sum(box6.a)
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
