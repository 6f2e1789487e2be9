"""Command line: ``python -m tangent demo`` and ``python -m tangent show module:function``.

``show`` prints the derivative Tangent generates for a function (highlighted
on a terminal when pygments is installed). The demo differentiates a small two-layer network, prints the generated
gradient source and checks it against central finite differences.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import tangent


def mlp_loss(W1, b1, W2, b2, x, y):
    """Squared error of a two-layer tanh network."""
    h = np.tanh(x @ W1 + b1)
    out = h @ W2 + b2
    err = out - y
    return np.mean(err * err)


def _finite_difference(f, args, index, eps=1e-6):
    arg = np.array(args[index], dtype=float)
    grad = np.zeros_like(arg)
    for k in np.ndindex(arg.shape):
        plus, minus = arg.copy(), arg.copy()
        plus[k] += eps
        minus[k] -= eps
        hi = f(*args[:index], plus, *args[index + 1:])
        lo = f(*args[:index], minus, *args[index + 1:])
        grad[k] = (hi - lo) / (2 * eps)
    return grad


def demo() -> int:
    rng = np.random.default_rng(0)
    W1, b1 = rng.normal(size=(3, 4)), rng.normal(size=4)
    W2, b2 = rng.normal(size=(4, 2)), rng.normal(size=2)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    args = [W1, b1, W2, b2, x, y]

    dloss = tangent.grad(mlp_loss, wrt=(0, 1, 2, 3))
    print("Tangent differentiated this function:\n")
    import inspect

    print(inspect.getsource(mlp_loss))
    grads = dloss(*args)
    print("into this Python source, specialised to the arguments' shapes at the first call")
    print("(tangent.source(dloss.tangent_specialized_for(*args)); tangent.source(dloss) is the generic version):\n")
    print(tangent.source(dloss.tangent_specialized_for(*args)))
    worst = 0.0
    for index, (name, g) in enumerate(zip(["W1", "b1", "W2", "b2"], grads)):
        reference = _finite_difference(mlp_loss, args, index)
        error = float(np.max(np.abs(g - reference)))
        worst = max(worst, error)
        print(f"d{name}: shape {g.shape}, max |tangent - finite differences| = {error:.2e}")
    ok = worst < 1e-6
    print("\nGradient check:", "OK" if ok else "FAILED")
    return 0 if ok else 1


def load_function(spec: str):
    """``package.module:function`` (or ``path/to/file.py:function``) -> function."""
    import importlib
    import importlib.util
    import os

    if ":" not in spec:
        raise SystemExit(f"error: expected module:function, got {spec!r}")
    module_name, _, attr = spec.rpartition(":")
    if module_name.endswith(".py") or os.sep in module_name:
        name = os.path.splitext(os.path.basename(module_name))[0]
        loader_spec = importlib.util.spec_from_file_location(name, module_name)
        if loader_spec is None:
            raise SystemExit(f"error: cannot load {module_name}")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[name] = module
        loader_spec.loader.exec_module(module)
    else:
        sys.path.insert(0, os.getcwd())
        module = importlib.import_module(module_name)
    obj = module
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def highlight(source: str, stream) -> str:
    """Syntax-highlight for a terminal when pygments is installed."""
    if not getattr(stream, "isatty", lambda: False)():
        return source
    try:
        from pygments import highlight as render
        from pygments.formatters import TerminalFormatter
        from pygments.lexers import PythonLexer
    except ImportError:
        return source
    return render(source, PythonLexer(), TerminalFormatter())


def show(args) -> int:
    """`python -m tangent show`: print the derivative of the function named on the command line."""
    try:
        func = load_function(args.function)
    except Exception as e:  # a missing module or attribute, or an import error in it (SystemExit passes)
        print(f"tangent: cannot load {args.function!r}: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    try:
        wrt = tuple(int(i) for i in args.wrt.split(",")) if args.wrt else (0,)
    except ValueError:
        print(f"tangent: --wrt takes comma-separated argument indices, e.g. 0,1; got {args.wrt!r}", file=sys.stderr)
        return 2
    try:
        derivative = tangent.autodiff(func, wrt=wrt, mode=args.mode, optimized=not args.no_optimize)
    except tangent.TangentError as e:
        print(f"tangent: {e}", file=sys.stderr)
        return 1
    sys.stdout.write(highlight(tangent.source(derivative), sys.stdout))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tangent", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("demo", help="differentiate a small network and check the gradient")
    show_parser = sub.add_parser("show", help="print the generated derivative of module:function")
    show_parser.add_argument("function", help="module:function or path/to/file.py:function")
    show_parser.add_argument("--wrt", default="0", help="comma-separated argument indices (default 0)")
    show_parser.add_argument("--mode", choices=["reverse", "forward"], default="reverse")
    show_parser.add_argument("--no-optimize", action="store_true", help="show the code before optimization")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return demo()
    if args.command == "show":
        return show(args)
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
