"""A regression program for tools/fuzz.py (--seed 8170 --modes hvp).

crash: hvp (optimized=False): transform raised KeyError: 'x0_copy'
    Traceback (most recent call last):
      File "tangent/anf.py", line 61, in statement
        handler(stmt, out)
      File "tangent/anf.py", line 68, in stmt_Assign
        self.rebind(stmt.targets[0].id, self.operation(stmt.value, out), out)
      File "tangent/anf.py", line 210, in rebind
        self.note_binding(target, value)
      File "tangent/anf.py", line 191, in note_binding
        self.parsed.types[target] = self.parsed.types[value.id]
                                    ~~~~~~~~~~~~~~~~~^^^^^^^^^^
    KeyError: 'x0_copy'

Replay: python tests/fuzz_cases/seed8170_hvp.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed8170_hvp.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'hvp'
WRT = (2,)
ARGS = [np.array([-0.604979, -0.406306]), -1.087572, np.array([-1.098948, 0.858457, -0.597238])]
VECTORS = [np.array([0.52317, -0.000369, -0.878168])]
SOURCE = """\
import math

import numpy as np

CALLS = []


def tick():
    CALLS.append(1)


def f(x0, x1, x2):
    tick()
    v0 = x0
    if x1 > -0.34:
        v0[1] += x1
    return 0.5
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
