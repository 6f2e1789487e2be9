"""A regression program for tools/fuzz.py (written by hand).

box.a = box.a * c where box holds an item of a list argument: rebinding the attribute leaves the argument alone, but the alias check refused it as an in-place write (seed 8010).

Replay: python tests/fuzz_cases/object_attribute_rebound_holding_an_argument_item.py  (or python tools/fuzz.py --replay tests/fuzz_cases/object_attribute_rebound_holding_an_argument_item.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = ('reverse', 'forward', 'hvp', 'grad2')
WRT = (0,)
ARGS = [[np.array([0.3, -0.6, 0.9]), np.array([1.1, 0.2, -0.4])]]
VECTORS = [[np.array([0.5, 1.0, -1.0]), np.array([-0.2, 0.3, 0.7])]]
SOURCE = """\
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
    d0 = {'p': x0[1], 'q': np.tanh(x0[0])}
    box = Box(d0['p'], 1.0)
    box.a = box.a * np.sqrt(d0['q'] * d0['q'] + 1.0)
    return np.sum(box.a) + np.sum(x0[1] * d0['p'])
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
