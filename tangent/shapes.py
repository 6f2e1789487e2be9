"""Shape inference (moved verbatim from analysis.py; rewritten next)."""

from __future__ import annotations

import ast


class _Unknown:
    def __repr__(self):
        return "UNKNOWN"


UNKNOWN_SHAPE = _Unknown()


def describe_argument(value):
    """What shape inference needs of an argument: its shape for arrays and
    numbers, None for anything else (containers, objects)."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return ("array", value.shape, value.dtype.char)
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return ("float", (), "d")
    if isinstance(value, int):
        return ("int", (), "l")
    return None


def _broadcast(*shapes):
    import numpy as np

    if any(s is None or s is UNKNOWN_SHAPE or isinstance(s, str) for s in shapes):
        return None
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        return None


def _reduced(shape, axis, keepdims):
    if shape is None or isinstance(shape, str):
        return None
    if axis is None:
        return tuple(1 for _ in shape) if keepdims else ()
    axes = axis if isinstance(axis, tuple) else (axis,)
    try:
        axes = {a % len(shape) for a in axes}
    except (TypeError, ZeroDivisionError):
        return None
    if keepdims:
        return tuple(1 if i in axes else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _matmul_shape(a, b):
    if a is None or b is None or not a or not b or isinstance(a, str) or isinstance(b, str):
        return None
    if len(a) == 1 and len(b) == 1:
        return () if a == b else None
    if len(a) == 1:
        return b[:-2] + b[-1:] if b[-2] == a[0] else None
    if len(b) == 1:
        return a[:-1] if a[-1] == b[0] else None
    if a[-1] != b[-2]:
        return None
    batch = _broadcast(a[:-2], b[:-2])
    return None if batch is None else batch + (a[-2], b[-1])


def infer_shapes(tree: ast.FunctionDef, known: dict) -> dict:
    """Shapes of the function's variables, from the shapes of its arguments.

    Flow-insensitive: a variable whose definitions give different (or
    unknown) shapes has shape None. Python numbers have shape ().
    """
    import builtins

    import numpy as np

    shapes: dict = {name: shape for name, shape in known.items()}
    reductions = {np.sum, np.mean, np.max, np.min, np.prod, np.std, np.var, np.amax, np.amin,
                  np.ndarray.sum, np.ndarray.mean, np.ndarray.max, np.ndarray.min, np.ndarray.prod,
                  np.ndarray.std, np.ndarray.var}

    def const(node):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Tuple) and all(isinstance(e, ast.Constant) for e in node.elts):
            return tuple(e.value for e in node.elts)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
            return -node.operand.value
        raise ValueError

    def of(node):
        if isinstance(node, ast.Constant):
            return () if isinstance(node.value, (int, float, complex)) else None
        if isinstance(node, ast.Name):
            s = shapes.get(node.id)
            return None if s is UNKNOWN_SHAPE else s
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and shapes.get(node.value.id) == "shape-tuple":
            return () if isinstance(node.slice, ast.Constant) else None
        if getattr(node, "tangent_global", False):
            value = getattr(node, "tangent_value", None)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return ()
            return tuple(value.shape) if isinstance(value, np.ndarray) else None
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.MatMult):
                return _matmul_shape(of(node.left), of(node.right))
            return _broadcast(of(node.left), of(node.right))
        if isinstance(node, ast.UnaryOp):
            return of(node.operand)
        if isinstance(node, ast.Subscript):
            base = of(node.value)
            if base == "shape-tuple":
                return () if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, int) else None
            index = node.slice
            parts = list(index.elts) if isinstance(index, ast.Tuple) else [index]
            if base is None or isinstance(base, str):
                return None
            out, dim = [], 0
            for part in parts:
                if isinstance(part, ast.Constant) and part.value is None:
                    out.append(1)
                elif isinstance(part, ast.Slice):
                    if dim >= len(base):
                        return None
                    try:
                        bounds = [None if p is None else int_value(p) for p in (part.lower, part.upper, part.step)]
                    except ValueError:
                        return None
                    out.append(len(range(*slice(*bounds).indices(base[dim]))))
                    dim += 1
                elif (isinstance(part, ast.Constant) and isinstance(part.value, int) and not isinstance(part.value, bool)
                      or isinstance(part, ast.Name) and part.id in int_names):
                    if dim >= len(base):
                        return None
                    dim += 1
                else:
                    return None
            return tuple(out) + tuple(base[dim:])
        if isinstance(node, ast.Attribute):
            if node.attr in ("ndim", "size"):
                return ()
            if node.attr == "shape":
                return "shape-tuple"
            if node.attr == "T":
                base = of(node.value)
                return None if base is None else tuple(reversed(base))
            return None
        if isinstance(node, ast.Call):
            callee = getattr(node, "tangent_callee", None)
            args = list(node.args)
            if getattr(node, "tangent_method", False):
                args = [node.func.value] + args
            keywords = {k.arg: k.value for k in node.keywords}
            try:
                if isinstance(callee, np.ufunc) and callee.signature is None and not keywords:  # elementwise
                    if callee.nin == 1 and len(args) == 1:
                        return of(args[0])
                    if callee.nin == 2 and len(args) == 2:
                        return _broadcast(of(args[0]), of(args[1]))
                    return None
                if getattr(callee, "__module__", None) == "math" or callee in (builtins.float, builtins.abs):
                    return () if all(of(a) == () for a in args) else None
                if callee in reductions and args:
                    axis = const(keywords["axis"]) if "axis" in keywords else const(args[1]) if len(args) > 1 else None
                    keepdims = const(keywords["keepdims"]) if "keepdims" in keywords else False
                    return _reduced(of(args[0]), axis, keepdims)
                if callee in (np.matmul, np.dot) and len(args) == 2:
                    a, b = of(args[0]), of(args[1])
                    if callee is np.dot and (a is None or b is None or len(a) > 2 or len(b) > 2):
                        return None  # np.dot of stacks of matrices is not matmul's broadcasting
                    if a == () or b == ():
                        return _broadcast(a, b) if callee is np.dot else None
                    return _matmul_shape(a, b)
                if callee in (np.zeros, np.ones, np.empty) and args:
                    shape = int_value(args[0])
                    return (shape,) if isinstance(shape, int) else tuple(shape)
                if callee in logsumexps and args:
                    axis = const(keywords["axis"]) if "axis" in keywords else const(args[1]) if len(args) > 1 else None
                    keepdims = const(keywords["keepdims"]) if "keepdims" in keywords else False
                    return _reduced(of(args[0]), axis, keepdims) if "b" not in keywords else None
                if callee is np.transpose and len(args) == 1 and not keywords:
                    base = of(args[0])
                    return None if base is None else tuple(reversed(base))
            except (ValueError, KeyError, TypeError):
                return None
        return None

    int_names: set[str] = {n for n, s in known.items() if s == () and n in getattr(tree, "tangent_int_args", ())}
    # integer values known from shapes: n = x.shape[0]; (n, m)
    values: dict[str, object] = {}

    def int_value(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.Name) and node.id in values:
            return values[node.id]
        raise ValueError

    def value_of(node):
        """The integer (or tuple of integers) a statement computes, if known."""
        try:
            if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
                    and node.value.id in shape_sources and isinstance(node.slice, ast.Constant):
                return shape_sources[node.value.id][node.slice.value]
            if isinstance(node, ast.Tuple):
                return tuple(int_value(e) for e in node.elts)
            if isinstance(node, ast.Constant) and isinstance(node.value, int):
                return node.value
        except (ValueError, IndexError, TypeError):
            return None
        return None

    shape_sources: dict[str, tuple] = {}
    try:
        from scipy.special import logsumexp as _scipy_logsumexp

        logsumexps = {_scipy_logsumexp}
    except ImportError:
        logsumexps = set()
    assigns = [n for n in ast.walk(tree) if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name)]
    assign_counts: dict[str, int] = {}
    for stmt in assigns:
        assign_counts[stmt.targets[0].id] = assign_counts.get(stmt.targets[0].id, 0) + 1
    loop_targets = [n.target.id for n in ast.walk(tree) if isinstance(n, ast.For) and isinstance(n.target, ast.Name)]
    for target in loop_targets:
        shapes[target] = ()
        int_names.add(target)
    for _ in range(6):
        changed = False
        for stmt in assigns:
            target = stmt.targets[0].id
            value = stmt.value
            if isinstance(value, ast.Attribute) and value.attr == "shape" and isinstance(value.value, ast.Name):
                base = shapes.get(value.value.id)
                if isinstance(base, tuple):
                    shape_sources[target] = base
            computed = value_of(value)
            if computed is not None and assign_counts.get(target) == 1:
                values[target] = computed
                int_names.add(target) if isinstance(computed, int) else None
            if target in known:
                if target not in int_names:
                    shapes[target] = UNKNOWN_SHAPE if shapes.get(target) != of(stmt.value) else shapes[target]
                continue
            new = of(stmt.value)
            old = shapes.get(target, "unseen")
            if old == "unseen":
                if new is not None:
                    shapes[target] = new
                    changed = True
            elif old is not UNKNOWN_SHAPE and old != new:
                shapes[target] = UNKNOWN_SHAPE
                changed = True
        if not changed:
            break
    # a variable some definition of which gave no shape is unknown
    for stmt in assigns:
        target = stmt.targets[0].id
        if target not in known and of(stmt.value) is None:
            shapes[target] = UNKNOWN_SHAPE
    return {k: (None if v is UNKNOWN_SHAPE or v == "shape-tuple" else v) for k, v in shapes.items()}
