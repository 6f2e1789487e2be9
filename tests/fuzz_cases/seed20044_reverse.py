"""A regression program for tools/fuzz.py (--seed 20044 --modes reverse).

wrong: grad against finite differences: max error 1
      got      [2.0]
      expected [1.0]

Replay: python tests/fuzz_cases/seed20044_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed20044_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (0,)
ARGS = [0.607937]
VECTORS = [0.382187]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def f(x0):
    tick()
    lst0 = [x0] + [x0, x0]
    return lst0[-3]
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
