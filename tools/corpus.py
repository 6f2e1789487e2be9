"""Google Tangent's test corpus (tests/google_functions.py) against Tangent.

Runs every function of the corpus in the modes Google's tests use, each
checked against central finite differences in float64:

- ``reverse``: ``autodiff(f, mode="reverse")(*args, seed)`` (seed of ones
  shaped like the result), as tests/test_reverse_mode.py;
- ``split``: the same with ``motion="split", preserve_result=True`` (the
  result must come back too, after the gradient);
- ``forward``: ``autodiff(f, mode="forward")(*args, tangent)``, as
  tests/test_forward_mode.py;
- ``rev_over_rev``, ``fwd_over_rev``, ``rev_over_fwd``: the Hessian-vector
  product of a scalar-valued f by the three compositions of
  tests/test_hessian_vector_products.py and tests/test_reverse_over_reverse.py
  (``grad(grad(f, check_dims=False), check_dims=False)(*args, 1.0, u)``,
  ``autodiff(autodiff(f, "reverse"), "forward")(*args, 1.0, u)``,
  ``autodiff(autodiff(f, "forward"), "reverse")(*args, u, 1.0)``).

Derivatives are taken with respect to the first argument at ten points per
function (the scalars of Google's conftest, -2 ... 2; integers 1, 2, 3;
random vectors and square matrices). A cell is ``pass`` (every point
agrees), ``refused`` (a TangentError: the construct is not supported, and
the message says so), ``wrong`` (a derivative disagrees with finite
differences: the worst outcome), ``error`` (another exception from the
derivative) or ``n/a`` (the mode does not apply: a non-scalar result for a
Hessian-vector product, or the primal itself fails, as Google's
``cart2polar`` does). Examples::

    python tools/corpus.py                      # the table, on stdout
    python tools/corpus.py --write docs/compatibility.md
    python tools/corpus.py --unoptimized --only while_big
"""

from __future__ import annotations

import argparse
import inspect
import os
import re
import sys
import traceback
from collections import Counter

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

import tangent  # noqa: E402
from tangent.jacobians import flatten  # noqa: E402
from tests import google_functions  # noqa: E402

MODES = ("reverse", "split", "forward", "rev_over_rev", "fwd_over_rev", "rev_over_fwd")
SECOND_ORDER = ("rev_over_rev", "fwd_over_rev", "rev_over_fwd")
GRID = [-2.0, -1.5, -1.0, -0.5, -0.1, 0.1, 0.5, 1.0, 1.5, 2.0]
POINTS = len(GRID)


class NotApplicable(Exception):
    """The mode does not apply to this function."""


class Untrusted(Exception):
    """Finite differences give no reference at this point (a discontinuity)."""


def _standard_argument(name: str, k: int, rng):
    if name in ("a", "b", "c"):
        return GRID[(k + 3 * "abc".index(name)) % POINTS]
    if name == "n":
        return 1 + k % 3
    if name == "i":
        return k % 3
    if name == "x":
        return rng.randn((3, 5, 10)[k % 3])
    if name == "sqm":
        n = (1, 5, 3)[k % 3]
        return rng.randn(n, n) + n * np.eye(n)  # away from singular, for det
    raise KeyError(name)


def _special(name: str, k: int, rng):
    """Arguments of the corpus functions whose parameters are not a/b/c/n/x/sqm
    (shaped as Google's tests call them)."""
    a, b, c = (GRID[(k + s) % POINTS] for s in (0, 3, 6))
    if name == "logistic_regression":
        label = np.zeros(5)
        label[1] = 1
        return (rng.rand(3), label, rng.randn(3, 5), rng.randn(5))
    if name == "rnn":
        return (rng.randn(3, 2), rng.randn(2, 3))
    if name == "bilinear":
        return tuple(rng.randn(*s) for s in ((1, 3), (1, 3), (3, 3), (3, 3), (1, 3)))
    if name in ("unpacking_args_saxpy", "dict_wrapper", "passthru_unpack"):
        return ((a, b, c),)
    if name == "dict_saxpy":
        return ({"a": a, "b": b, "c": c},)
    if name == "nested_dict":
        return ({"i": {"j": a, "k": b}},)
    if name == "listcomp":
        return (rng.randn(4),)
    return None


def arguments(func, k: int) -> tuple:
    """The ``k``-th point (0 <= k < POINTS) at which ``func`` is checked."""
    rng = np.random.RandomState(1000 + k)
    special = _special(func.__name__, k, rng)
    if special is not None:
        return special
    names = list(inspect.signature(func).parameters)
    return tuple(_standard_argument(n, k, rng) for n in names)


def _copy(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy(v) for v in value)
    return value


def _numeric(f, x, eps=1e-6):
    """Central differences of a pytree -> pytree ``f`` at ``x``: the matrix
    (result elements by ``x`` elements)."""
    flat, unflatten = flatten(x)
    columns = []
    for j in range(flat.size):
        step = np.zeros(flat.size)
        step[j] = eps
        plus = flatten(f(unflatten(flat + step)))[0]
        minus = flatten(f(unflatten(flat - step)))[0]
        columns.append((plus - minus) / (2 * eps))
    return np.stack(columns, axis=1) if columns else np.zeros((0, 0))


def _trusted(f, x, eps=1e-6):
    """``_numeric`` at step ``eps``, if a step ten times smaller agrees (else
    the point sits on a discontinuity, as ``while_big`` at -0.1 does, and has
    no reference)."""
    coarse, fine = _numeric(f, x, eps), _numeric(f, x, eps / 10)
    if not np.allclose(coarse, fine, rtol=1e-3, atol=1e-5, equal_nan=True):
        raise Untrusted(f"finite differences disagree at steps {eps} and {eps / 10}")
    return coarse


def _ones_like(value):
    if isinstance(value, (list, tuple)):
        return type(value)(_ones_like(v) for v in value)
    if isinstance(value, dict):
        return {k: _ones_like(v) for k, v in value.items()}
    return np.ones(np.shape(value)) if np.ndim(value) else 1.0


def _direction(x, k):
    """A tangent for ``x``: 1.0 for a number (as Google's tests), else random."""
    flat, unflatten = flatten(x)
    if flat.size == 1 and not isinstance(x, np.ndarray):
        return unflatten(np.ones(1))
    return unflatten(np.random.RandomState(77 + k).randn(flat.size))


def expected(func, mode: str, args: tuple, k: int):
    """(the derivative call's arguments after ``args``, what it should give
    flattened, tolerances) for ``mode`` at ``args``."""
    rest = args[1:]

    def at(x):
        return func(_copy(x), *_copy(rest))

    out = func(*_copy(args))
    if func.__name__ == "inlining_contextmanager":
        # Google's own assertion: the block scales a's adjoint from c = b * a by 0.9
        if mode in ("reverse", "split"):
            return (1.0,), np.array([2.9 * args[0] ** 2]), out, (1e-6, 1e-8)
        if mode != "forward":
            raise NotApplicable("insert_grad_of alters the gradient, not the function")
    if mode in ("reverse", "split"):
        seed = _ones_like(out)
        seed_flat = flatten(seed)[0]
        return (seed,), seed_flat @ _trusted(at, args[0]), out, (1e-5, 1e-6)
    if mode == "forward":
        t = _direction(args[0], k)
        return (t,), _trusted(at, args[0]) @ flatten(t)[0], out, (1e-5, 1e-6)
    if not (np.ndim(out) == 0 and isinstance(out, (float, int, np.number, np.ndarray))):
        raise NotApplicable("a Hessian-vector product needs a scalar result")
    u = _direction(args[0], k)
    u_flat = flatten(u)[0]
    x_flat, unflatten = flatten(args[0])

    def directional(x):  # f's derivative along u at x, by central differences
        eps = 1e-4
        return (at(unflatten(flatten(x)[0] + eps * u_flat)) - at(unflatten(flatten(x)[0] - eps * u_flat))) / (2 * eps)

    hv = _trusted(directional, args[0], eps=1e-4)[0]
    extra = (u, 1.0) if mode == "rev_over_fwd" else (1.0, u)
    return extra, hv, out, (2e-3, 2e-4)


def derivative(func, mode: str, optimized: bool):
    """The derivative ``mode`` asks for, built as Google's tests build it."""
    if mode == "reverse":
        return tangent.autodiff(func, mode="reverse", optimized=optimized, check_dims=False)
    if mode == "split":
        return tangent.autodiff(func, mode="reverse", motion="split", optimized=optimized, preserve_result=True)
    if mode == "forward":
        return tangent.autodiff(func, mode="forward", optimized=optimized)
    if mode == "rev_over_rev":
        return tangent.grad(tangent.grad(func, optimized=optimized, check_dims=False), optimized=optimized,
                            check_dims=False)
    first, second = {"fwd_over_rev": ("reverse", "forward"), "rev_over_fwd": ("forward", "reverse")}[mode]
    inner = tangent.autodiff(func, mode=first, optimized=optimized, check_dims=False)
    return tangent.autodiff(inner, mode=second, optimized=optimized, check_dims=False)


def check(func, mode: str, optimized: bool = True) -> tuple[str, str]:
    """(status, message) of ``func`` in ``mode`` over all points."""
    try:
        df = None
        checked = 0
        for k in range(POINTS):
            args = arguments(func, k)
            try:
                extra, want, out, (rtol, atol) = expected(func, mode, args, k)
            except NotApplicable as e:
                return "n/a", str(e)
            except Untrusted:
                continue
            except AttributeError as e:
                if "tangent" in str(e):  # tangent.Stack, push, pop
                    return "n/a", ("the function calls Google Tangent's runtime internals "
                                   f"(tangent.Stack, push, pop), which this API does not have: {e}")
                return "n/a", f"the function itself fails: {type(e).__name__}: {e}"
            except Exception as e:  # the primal (or its finite differences) fails here
                return "n/a", f"the function itself fails: {type(e).__name__}: {e}"
            checked += 1
            if df is None:
                df = derivative(func, mode, optimized)
            got = df(*_copy(args), *extra)
            if mode == "split":
                got, result = got
                if not np.allclose(flatten(result)[0], flatten(out)[0], equal_nan=True):
                    return "wrong", f"at {args!r}: result {result!r}, f gives {out!r}"
            flat = flatten(got)[0]
            agrees = flat.shape == np.shape(want) and np.allclose(flat, want, rtol=rtol, atol=atol, equal_nan=True)
            if not agrees and not np.all(np.isfinite(want)):
                continue  # no reference at the edge of the domain (arcsin at -1: inf, the one-sided limit)
            if not agrees:
                return "wrong", f"at {args!r}: got {got!r}, finite differences {want!r}"
        return ("pass", "") if checked else ("n/a", "no point with a finite-difference reference")
    except tangent.TangentError as e:
        return "refused", str(e).splitlines()[0] + (" / " + str(e).splitlines()[-1].strip() if "\n" in str(e) else "")
    except Exception as e:
        return "error", f"{type(e).__name__}: {e} " + traceback.format_exc(limit=-1).splitlines()[-2].strip()


def corpus_functions(only: str | None = None) -> list:
    """The corpus: every function defined in tests/google_functions.py."""
    funcs = [f for f in vars(google_functions).values()
             if inspect.isfunction(f) and f.__module__ == google_functions.__name__]
    return [f for f in funcs if only is None or only in f.__name__]


def run(optimized: bool = True, only: str | None = None, modes=MODES) -> dict[str, dict[str, tuple[str, str]]]:
    """{function name: {mode: (status, message)}} for the corpus."""
    return {f.__name__: {m: check(f, m, optimized) for m in modes} for f in corpus_functions(only)}


def table(results: dict, optimized: bool, modes=MODES) -> str:
    """The markdown report: counts per mode, then every cell that is not a pass."""
    lines = [f"Counts per mode (optimized={optimized}; {len(results)} functions):", "",
             "| mode | pass | refused | wrong | error | n/a |", "|---|---|---|---|---|---|"]
    for m in modes:
        c = Counter(r[m][0] for r in results.values())
        lines.append(f"| {m} | {c['pass']} | {c['refused']} | {c['wrong']} | {c['error']} | {c['n/a']} |")
    lines += ["", "Every outcome other than a pass:", "", "| function | mode | outcome | message |", "|---|---|---|---|"]
    for name, row in results.items():
        for m in modes:
            status, message = row[m]
            if status != "pass":
                message = re.sub(r"\S*/tests/google_functions\.py", "tests/google_functions.py", message)
                message = message.replace("|", "\\|").replace("\n", " ")[:240]
                lines.append(f"| {name} | {m} | {status} | {message} |")
    return "\n".join(lines) + "\n"


HEADER = """# Compatibility with Google Tangent's test corpus

Produced by `python tools/corpus.py --write docs/compatibility.md` (rerun it
after a change; `tests/test_google_corpus.py` asserts the same outcomes).
The corpus is `tests/functions.py` of github.com/google/tangent, ported to
`tests/google_functions.py` without its TensorFlow functions. Each function
is differentiated with respect to its first argument at ten points, in the
modes Google's tests use, and compared with central finite differences; see
the docstring of `tools/corpus.py` for what each mode calls.

"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unoptimized", action="store_true", help="also with optimized=False")
    parser.add_argument("--only", help="functions whose name contains this")
    parser.add_argument("--write", help="write the report (markdown) to this file")
    options = parser.parse_args(argv)
    text = HEADER
    wrong = 0
    for optimized in (True, False) if options.unoptimized else (True,):
        results = run(optimized, options.only)
        wrong += sum(r[m][0] == "wrong" for r in results.values() for m in MODES)
        text += table(results, optimized) + "\n"
    print(text)
    if options.write:
        with open(options.write, "w") as out:
            out.write(text)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
