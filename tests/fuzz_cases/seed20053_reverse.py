"""A regression program for tools/fuzz.py (--seed 20053 --modes reverse).

wrong: grad against finite differences: max error 1
      got      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
      expected [0.0, 0.0, 0.0, 0.0, 1.0, 0.0]

Replay: python tests/fuzz_cases/seed20053_reverse.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed20053_reverse.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'reverse'
WRT = (1,)
ARGS = [np.array([0.899883, 0.695562, -1.016886]), np.array([[0.667181, -0.33711, -0.427037], [1.02583, 0.527029, 0.139594]]), {'W': np.array([[0.312887, -0.462685, 0.829523], [0.423455, 1.162544, -0.268996]]), 'b': np.array([-0.030114, -0.163935])}]
VECTORS = [np.array([[-0.240982, -0.558483, -1.018739], [-0.461052, -0.174429, 0.36119]])]
SOURCE = """\
import math

import numpy as np  # noqa: F401  (ARGS may use it)

CALLS = []


def tick():
    CALLS.append(1)


def f(x0, x1, x2):
    tick()
    lst0 = [x1[1, 1]] * 3
    return lst0[-1]
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
