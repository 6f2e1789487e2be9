"""A regression program for tools/fuzz.py (--seed 582929 --modes grad2 --backend torch).

crash: vjp of grad (first call): TypeError: unsupported operand type(s) for *: 'numpy.ndarray' and 'Tensor'
    Traceback (most recent call last):
      File "tangent/specialize.py", line 87, in derivative
        return specializations.implementation_for(args)(*args)
               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
      File "<tangent ddf #408>", line 52, in ddf
        d_add_2 = mul_grad_back(ddx2, d_mul, x2, _add, True)
                  ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
      File "tangent/runtime/sequences.py", line 97, in mul_grad_back
        return unbroadcast(full * g, other) if wrt_other else unbroadcast(full * other, g)
                           ~~~~~^~~
    TypeError: unsupported operand type(s) for *: 'numpy.ndarray' and 'Tensor'

Replay: python tests/fuzz_cases/seed582929_grad2_torch.py  (or python tools/fuzz.py --replay tests/fuzz_cases/seed582929_grad2_torch.py)
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = 'grad2'
BACKEND = 'torch'
WRT = (2,)
ARGS = [(np.array([1.092166, 0.101508, 0.736524]), -0.305218, ), [0.076447, -1.15778, 0.093064], -0.920645]
VECTORS = [-0.238732]
SOURCE = """\
import math

import torch

CALLS = []


def tick():
    CALLS.append(1)


def f(x0, x1, x2):
    tick()
    v0 = 0.5 * torch.ones((2, 3), dtype=torch.float64)
    lst7 = [x1[-2], x2]
    lst10 = [torch.amax(((lst7[-1] + torch.zeros((2, 3), dtype=torch.float64)) * x2), dim=1)] + [torch.amax(v0, dim=1), 0.5 * torch.ones((2,), dtype=torch.float64)]
    return torch.sum(lst10[-3])
"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), '/work/main/tools']
    import fuzz

    sys.exit(fuzz.replay(__file__))
