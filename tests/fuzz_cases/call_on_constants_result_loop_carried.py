"""A regression program for tools/fuzz.py (written by hand).

A user function called on constants, its result then updated in a loop from active values: reverse mode asked for a derivative rule of the function (false NoDerivativeError).

Replay: python tests/fuzz_cases/call_on_constants_result_loop_carried.py  (or python tools/fuzz.py --replay tests/fuzz_cases/call_on_constants_result_loop_carried.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = ('reverse', 'forward', 'hvp', 'grad2')
WRT = (0,)
ARGS = [np.array([0.3, -0.7, 1.1])]
VECTORS = [np.array([0.5, 0.2, -1.0])]
SOURCE = """\
import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def scaled(a):
    return a * 2.0


def f(x0):
    tick()
    v = scaled(np.ones(2))
    for i in range(1, 3):
        v = v * x0[0] + x0[1]
    return np.sum(v)
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
