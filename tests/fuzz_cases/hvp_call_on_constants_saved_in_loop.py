"""A regression program for tools/fuzz.py (written by hand).

hvp: a user function called on constants whose result is later saved on the gradient's stack in a loop: forward mode over the gradient took the function's name for an alias of the stack and asked for a forward rule of it (seed 50808).

Replay: python tests/fuzz_cases/hvp_call_on_constants_saved_in_loop.py  (or python tools/fuzz.py --replay tests/fuzz_cases/hvp_call_on_constants_saved_in_loop.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = ('reverse', 'forward', 'hvp', 'grad2')
WRT = (0,)
ARGS = [np.array([0.3, 0.5, -0.2])]
VECTORS = [np.array([1.0, -0.5, 0.25])]
SOURCE = """\
import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def h0(a0):
    return a0 * 2.0 + np.zeros(2)


def f(x0):
    tick()
    lst2 = [np.square(x0)]
    lst2.append(x0 * 3.0)
    v4 = h0(-1.27)
    for i5 in range(3):
        v4 = np.tanh(x0[:2]) + 0.5 * v4
    return np.sum(v4) + np.sum(lst2[1])
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
