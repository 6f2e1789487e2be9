"""GradBench's objectives written the way a user writes them in plain NumPy.

One module per GradBench eval (https://github.com/gradbench/gradbench, folder
``evals/``), our own code: each module has

- the objective, written as a researcher would (helper functions, loops where
  they are natural, parameters in dicts or lists where they are natural);
- ``TASK``: what GradBench asks for (``"gradient"``, ``"dir"`` = gradient divided
  by the Hessian diagonal, ``"jacobian"``) and ``WRT``, the differentiated
  arguments of ``DIFFERENTIATE``, the function GradBench differentiates;
- ``by_hand(*args)``: the derivative written by hand in NumPy, the reference for
  both correctness and speed;
- ``small_input(seed)`` (for the tests) and ``gradbench_input(seed)`` (one of
  GradBench's sizes, for ``benchmarks/gradbench.py``), returning the argument
  tuple of ``DIFFERENTIATE``; ``SIZE`` describes the latter.
"""

NAMES = ("lse", "llsq", "det", "ode", "kmeans", "gmm", "lstm", "ba", "ht")
