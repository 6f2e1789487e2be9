"""Random-program differential tester for Tangent.

Writes small, valid NumPy programs (floats and arrays of shapes (), (2,), (3,),
(2, 3) broadcast together; elementwise functions, reductions with ``axis``,
``@``, indexing reads and writes into copies, ``if``/``while``/``for`` with
loop-carried values, loops over lists, tuples, ``zip`` and ``enumerate``,
``break``/``continue``/early ``return``, helper calls, lists, tuples and dicts
with append, repetition and unpacking, aliases through containers, objects with
attributes), differentiates each in the modes asked for and checks:

- the derivative against central finite differences (Richardson-extrapolated,
  float64), cross-checked at a second step so that the reference is trusted;
- forward/reverse consistency ``<u, J v> == <J^T u, v>``;
- no argument, seed or tangent is changed by a derivative call;
- ``optimized=False`` and the generic (unspecialised) code give the same numbers;
- a second call gives the same numbers as the first;
- f's body runs exactly once per derivative call;
- returned gradients are fresh, writable arrays shaped like their argument.

With ``--backend jax`` the programs are written with ``jax.numpy`` (and none
of the constructs JAX cannot run: item writes into arrays, in-place operators)
and called with jax float64 arrays; derivatives must also be jax arrays of
their argument's dtype and agree with ``jax.grad`` / ``jax.jvp`` wherever JAX
runs the program. ``--backend torch`` renames the programs to ``torch.``
functions (``dim=``, float64 tensors) and compares with ``torch.func``. The
default ``--backend numpy`` is unchanged.

A ``TangentError`` raised when the function is transformed is a refusal, not a
failure, if it names the user's line. A failure is shrunk to a minimal program
and written as a file that replays it (``python tools/fuzz.py --replay FILE``,
or ``python FILE``); ``tests/fuzz_cases/`` keeps every shrunk failure as a
regression test. Example::

    python tools/fuzz.py --seed 1 --n 200 --modes reverse,forward,hvp,grad2
    python tools/fuzz.py --seed 7 --seconds 600 --out /tmp/fuzz-failures
    python tools/fuzz.py --backend jax --seed 1 --n 60
"""

from __future__ import annotations

import argparse
import ast
import builtins
import copy
import importlib.util
import itertools
import json
import os
import random
import re
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass, field

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import tangent  # noqa: E402

MODES = ("reverse", "forward", "hvp", "grad2")
BACKENDS = ("numpy", "jax", "torch")
# the array library a program is written with (always read as ``np``: the
# generator's vocabulary is NumPy's, which jax.numpy shares)
IMPORTS = {"numpy": "import numpy as np", "jax": "import jax.numpy as np", "torch": "import torch"}
# for torch the program is written in NumPy's vocabulary and then renamed
# (torch_source); reductions with an axis are written with dim= by the generator
TORCH_NAMES = [
    (r"np\.(ones|zeros)\((\((?:\d+, ?)*\d*\))\)", r"torch.\1(\2, dtype=torch.float64)"),
    (r"np\.array\(\[", "torch.tensor(["), (r"\bnp\.", "torch."),
]


def torch_source(source: str) -> str:
    for pattern, new in TORCH_NAMES:
        source = re.sub(pattern, new, source)
    return source

# ============================================================ program representation


@dataclass
class Expr:
    """An expression: ``fmt`` with ``{0}``, ``{1}``... standing for ``kids``."""

    fmt: str
    kids: list = field(default_factory=list)
    shape: tuple | None = ()

    def render(self) -> str:
        return self.fmt.format(*[k.render() for k in self.kids]) if self.kids else self.fmt


@dataclass
class Stmt:
    """A statement: ``fmt`` filled with ``exprs``; blocks have a body (and an else)."""

    fmt: str
    exprs: list = field(default_factory=list)
    body: list | None = None
    orelse: list | None = None

    def render(self, indent: int) -> list[str]:
        pad = "    " * indent
        head = self.fmt.format(*[e.render() for e in self.exprs]) if self.exprs else self.fmt
        lines = [pad + head]
        if self.body is not None:
            lines += render_block(self.body, indent + 1)
        if self.orelse is not None:
            lines.append(pad + "else:")
            lines += render_block(self.orelse, indent + 1)
        return lines


def render_block(stmts, indent):
    lines = [line for s in stmts for line in s.render(indent)]
    return lines or ["    " * indent + "pass"]


@dataclass
class Program:
    helpers: list  # (name, params, body statements)
    params: list  # parameter names
    body: list
    uses_box: bool = False
    backend: str = "numpy"

    def source(self) -> str:
        out = ["import math", "", IMPORTS[self.backend], "", "CALLS = []", "", "",
               "def tick():", "    CALLS.append(1)", ""]
        if self.uses_box:
            out += ["", "class Box:", "    def __init__(self, a, b):", "        self.a = a",
                    "        self.b = b", ""]
        for name, params, body in self.helpers:
            out += ["", f"def {name}({', '.join(params)}):"] + render_block(body, 1) + [""]
        out += ["", f"def f({', '.join(self.params)}):", "    tick()"] + render_block(self.body, 1)
        text = "\n".join(out) + "\n"
        return torch_source(text) if self.backend == "torch" else text


# ============================================================ the generator

SHAPES = [(), (2,), (3,), (2, 3)]

UNARY = [
    "np.sin({0})", "np.cos({0})", "np.tanh({0})", "np.arctan({0})", "np.log(1.0 + {0} * {0})",
    "np.sqrt({0} * {0} + 1.0)", "({0}) ** 2", "np.square({0})", "-({0})", "0.5 * ({0})",
    "np.exp(np.tanh({0}))", "1.0 / (1.0 + np.exp(-({0})))", "np.abs({0})", "({0}) * ({0})",
]
BINARY = [
    "({0} + {1})", "({0} - {1})", "({0} * {1})", "({0} / (1.0 + {1} * {1}))",
    "np.maximum({0}, {1})", "np.minimum({0}, {1})", "np.where({0} > {1}, {0}, {1})",
    "np.add({0}, {1})", "np.multiply({0}, {1})", "np.hypot({0}, {1})",
]
# jax.numpy functions Tangent has no rule for (yet): a program using one is
# refused, so the generator leaves them out for the jax backend
JAX_NO_RULE = ("np.arctan(", "np.add(", "np.multiply(", "np.hypot(", "np.prod(", "np.stack(", "np.outer(")
# the same for torch (which has a rule for torch.stack)
TORCH_NO_RULE = ("np.arctan(", "np.add(", "np.multiply(", "np.hypot(", "np.prod(", "np.outer(")
MATH_UNARY = ["math.sin({0})", "math.cos({0})", "math.tanh({0})", "math.exp(math.tanh({0}))",
              "math.sqrt({0} * {0} + 1.0)", "math.atan({0})"]


def broadcast(a, b):
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        return None


def smaller_shapes(shape):
    """Shapes that broadcast to ``shape``."""
    return [s for s in SHAPES if len(s) <= len(shape) and broadcast(s, shape) == shape]


class Gen:
    """Writes one random program and its arguments."""

    def __init__(self, seed: int, backend: str = "numpy"):
        self.r = random.Random(seed)
        self.counter = itertools.count()
        self.uses_box = False
        # jax arrays are immutable: for "jax" the generator writes no item
        # writes into arrays and no in-place operators on them, and no
        # ``math.`` calls (which jax.grad cannot trace)
        self.backend = backend
        missing = {"jax": JAX_NO_RULE, "torch": TORCH_NO_RULE}.get(backend, ())
        self.unary, self.binary = ([f for f in forms if not f.startswith(missing)] for forms in (UNARY, BINARY))
        self.missing = missing

    def fresh(self, stem="v"):
        return f"{stem}{next(self.counter)}"

    # --- expressions --------------------------------------------------------

    def leaves(self, env, shape, exact=True):
        """Expressions reading variables or container items of ``shape``."""
        out = []
        for name, t in env.items():
            out += [Expr(code, [], s) for code, s in self.reads(name, t)
                    if (s == shape if exact else len(s) <= len(shape) and broadcast(s, shape) == shape)]
        return out

    def reads(self, code, t):
        kind = t[0]
        if kind == "a":
            yield code, t[1]
        elif kind == "f":
            yield code, ()
        elif kind == "list":
            n = t[2]
            for i in range(-n, n):
                if self.r.random() < 0.5:
                    yield from self.reads(f"{code}[{i}]", t[1])
        elif kind == "tuple":
            for i, sub in enumerate(t[1]):
                yield from self.reads(f"{code}[{i}]", sub)
        elif kind == "dict":
            for k, sub in t[1].items():
                yield from self.reads(f"{code}[{k!r}]", sub)
        elif kind == "obj":
            for k, sub in t[1].items():
                yield from self.reads(f"{code}.{k}", sub)

    def const(self, shape):
        c = round(self.r.uniform(-1.5, 1.5), 2)
        if shape == () and self.backend == "torch":
            return Expr(f"torch.tensor({c!r}, dtype=torch.float64)", [], ())  # torch functions take no floats
        if shape == ():
            return Expr(repr(c), [], ())
        return Expr(f"({c} * np.ones({shape}))", [], shape)

    def expr(self, env, shape, depth):
        r = self.r
        if depth <= 0 or r.random() < 0.25:
            cands = self.leaves(env, shape)
            if cands and r.random() < 0.9:
                return r.choice(cands)
            small = self.leaves(env, shape, exact=False)
            if small and shape != ():
                return Expr("({0} + np.zeros({1}))".format("{0}", shape), [r.choice(small)], shape)
            return self.const(shape)
        choice = r.random()
        if choice < 0.3:
            return Expr(r.choice(self.unary), [self.expr(env, shape, depth - 1)], shape)
        if choice < 0.6:
            s1, s2 = shape, r.choice(smaller_shapes(shape))
            if r.random() < 0.5:
                s1, s2 = s2, s1
            return Expr(r.choice(self.binary), [self.expr(env, s1, depth - 1), self.expr(env, s2, depth - 1)], shape)
        if choice < 0.72:
            return self.reduction(env, shape, depth)
        if choice < 0.82:
            return self.matmul(env, shape, depth)
        if choice < 0.92:
            return self.index(env, shape, depth)
        if shape == () and self.backend == "numpy" and r.random() < 0.5:
            floats = [Expr(n, [], ()) for n, t in env.items() if t[0] == "f"]
            if floats:
                return Expr(r.choice(MATH_UNARY), [r.choice(floats)], ())
        if shape == (2, 3) and "np.stack(" not in self.missing and r.random() < 0.5:
            return Expr("np.stack([{0}, {1}])", [self.expr(env, (3,), depth - 1), self.expr(env, (3,), depth - 1)],
                        shape)
        if shape == (2, 3) and not self.missing and r.random() < 0.5:
            return Expr("np.outer({0}, {1})", [self.expr(env, (2,), depth - 1), self.expr(env, (3,), depth - 1)], shape)
        return Expr(r.choice(self.unary), [self.expr(env, shape, depth - 1)], shape)

    def reduction(self, env, shape, depth):
        r = self.r
        if shape == ():
            src = r.choice([(2,), (3,), (2, 3)])
            fn = r.choice([f for f in ["np.sum({0})", "np.mean({0})", "np.max({0})", "({0}).sum()", "np.prod({0})"]
                           if not f.startswith(self.missing)])
            return Expr(fn, [self.expr(env, src, depth - 1)], shape)
        if shape in ((3,), (2,)):
            axis = 0 if shape == (3,) else 1
            fn = r.choice([f"np.sum({{0}}, axis={axis})", f"np.mean({{0}}, axis={axis})",
                           f"({{0}}).sum(axis={axis})", f"np.max({{0}}, axis={axis})"])
            if self.backend == "torch":
                fn = fn.replace("np.max(", "np.amax(").replace("axis=", "dim=")
            return Expr(fn, [self.expr(env, (2, 3), depth - 1)], shape)
        return Expr(r.choice(self.unary), [self.expr(env, shape, depth - 1)], shape)

    def matmul(self, env, shape, depth):
        r = self.r
        forms = {
            (): [("({0} @ {1})", (3,), (3,)), ("np.dot({0}, {1})", (2,), (2,))],
            (2,): [("({0} @ {1})", (2, 3), (3,))],
            (3,): [("({0} @ {1})", (2,), (2, 3)), ("(({0}).T @ {1})", (2, 3), (2,))],
        }.get(shape)
        if not forms:
            return Expr(r.choice(self.unary), [self.expr(env, shape, depth - 1)], shape)
        fmt, a, b = r.choice(forms)
        return Expr(fmt, [self.expr(env, a, depth - 1), self.expr(env, b, depth - 1)], shape)

    def index(self, env, shape, depth):
        r = self.r
        forms = {
            (): [("{0}[%d]" % r.randrange(-3, 3), (3,)), ("{0}[%d, %d]" % (r.randrange(2), r.randrange(3)), (2, 3))],
            (2,): [("{0}[1:]", (3,)), ("{0}[:2]", (3,)), ("{0}[:, %d]" % r.randrange(3), (2, 3)),
                   ("{0}[::-1]", (2,)), ("{0}[np.array([2, 0])]", (3,))],
            (3,): [("{0}[%d]" % r.randrange(-2, 2), (2, 3)), ("{0}[::-1]", (3,)), ("{0}[np.array([0, 0, 2])]", (3,))],
            (2, 3): [("{0}[::-1]", (2, 3)), ("{0}[:, ::-1]", (2, 3))],
        }[shape]
        if self.backend == "torch":  # torch slices take no negative step: a reversal is an index tensor
            forms = [(fmt.replace("[::-1]", "[np.array([%s])]" % ", ".join(map(str, range(src[0])[::-1])))
                      .replace("[:, ::-1]", "[:, np.array([2, 1, 0])]"), src) for fmt, src in forms]
        fmt, src = r.choice(forms)
        # index a variable most of the time, as people do
        cands = self.leaves(env, src)
        inner = r.choice(cands) if cands and r.random() < 0.7 else self.expr(env, src, depth - 1)
        if inner.kids:
            inner = Expr("({0})", [inner], src)
        return Expr(fmt, [inner], shape)

    def cond(self, env, depth=1):
        r = self.r
        shape = r.choice(SHAPES)
        e = self.expr(env, shape, depth)
        c = round(r.uniform(-0.5, 0.5), 2)
        if shape == ():
            return Expr("{0} > %r" % c, [e], None)
        return Expr(r.choice(["np.sum({0}) > %r", "np.mean({0}) < %r", "({0}).max() > %r"]) % c, [e], None)

    # --- statements ---------------------------------------------------------

    def assign_existing(self, env, depth, loop_var=None):
        """Re-assign an existing float/array variable with the same shape."""
        r = self.r
        names = [n for n, t in env.items() if t[0] in ("a", "f") and not n.startswith(("x", "i", "k"))]
        if not names:
            return None
        name = r.choice(names)
        shape = () if env[name][0] == "f" else env[name][1]
        e = self.expr(env, shape, depth)
        if loop_var is not None and r.random() < 0.3:
            e = Expr("({0} * (%s + 1) * 0.5)" % loop_var, [e], shape)
        if r.random() < 0.5:
            return Stmt(f"{name} = np.tanh({{0}}) + 0.5 * {name}", [e])
        op = r.choice(["+=", "-=", "*="]) if r.random() < 0.3 else "="
        if op == "*=":
            e = Expr("np.tanh({0})", [e], shape)
        if op != "=" and self.backend != "numpy":
            return Stmt(f"{name} = {name} {op[0]} {{0}}", [e])  # no in-place operator on an immutable array
        return Stmt(f"{name} {op} {{0}}", [e])

    def block(self, env, n, depth, in_loop=None, fixed_env=False):
        """A list of statements. With ``fixed_env`` (a branch or a loop body)
        the variables they define stay local to the block: only re-assigned
        variables carry values out of it."""
        out = []
        local = dict(env) if fixed_env else env
        for _ in range(n):
            s = self.statement(local, depth, in_loop)
            if s:
                out.extend(s)
        return out

    def carried(self, env):
        """Statements that make sure a local float/array exists for a branch or loop to update."""
        if any(t[0] in ("a", "f") and not n.startswith(("x", "i", "k")) for n, t in env.items()):
            return []
        shape = self.r.choice(SHAPES)
        name = self.fresh()
        e = self.expr(env, shape, 2)
        env[name] = ("a", shape)
        return [Stmt(f"{name} = {{0}}", [e])]

    def statement(self, env, depth, in_loop):
        r = self.r
        kinds = ["assign", "assign", "assign", "update", "update", "setitem", "list", "tuple", "dict",
                 "if", "for", "forlist", "while", "call", "box", "alias", "comp", "lambda"]
        if in_loop:
            kinds += ["break", "update", "update"]
        kinds += ["return"]
        if depth <= 0:
            kinds = ["assign", "update", "setitem"]
        if self.backend != "numpy":
            kinds = [k for k in kinds if k not in ("setitem", "alias")]  # both write into an array
        kind = r.choice(kinds)
        if kind in ("if", "for", "forlist", "while"):
            return self.carried(env) + (self.control(kind, env, depth, in_loop) or [])
        return self.simple(kind, env, depth, in_loop)

    def simple(self, kind, env, depth, in_loop):
        r = self.r
        if kind == "assign":
            shape = r.choice(SHAPES)
            name = self.fresh()
            e = self.expr(env, shape, 3)
            env[name] = ("a", shape) if shape else ("a", ())
            return [Stmt(f"{name} = {{0}}", [e])]
        if kind == "update":
            s = self.assign_existing(env, 2, in_loop)
            return [s] if s else None
        if kind == "setitem":
            arrays = [n for n, t in env.items() if t[0] == "a" and t[1] in ((3,), (2, 3), (2,))]
            if not arrays:
                return None
            src = r.choice(arrays)
            shape = env[src][1]
            out = []
            if r.random() < 0.3 and not src.startswith("x"):
                y = src  # write into a local array (may alias something: then Tangent must cope or refuse)
                if y.startswith("x"):
                    return None
            else:
                y = self.fresh("y")
                how = r.choice(["{0}.copy()", "np.copy({0})", "np.array({0})", "({0} + 0.0)", "{0}.astype(float)"])
                out.append(Stmt(f"{y} = " + how.format(src)))
                env[y] = ("a", shape)
            if shape == (2, 3):
                target, tshape = r.choice([(f"{y}[{r.randrange(2)}]", (3,)), (f"{y}[:, {r.randrange(3)}]", (2,)),
                                           (f"{y}[{r.randrange(2)}, {r.randrange(3)}]", ())])
            elif shape == (3,):
                target, tshape = r.choice([(f"{y}[{r.randrange(-3, 3)}]", ()), (f"{y}[1:]", (2,)),
                                           (f"{y}[np.array([0, 2])]", (2,))])
            else:
                target, tshape = (f"{y}[{r.randrange(2)}]", ())
            op = r.choice(["=", "=", "+=", "*="])
            out.append(Stmt(f"{target} {op} {{0}}", [self.expr(env, tshape, 2)]))
            return out
        if kind == "list":
            shape = r.choice(SHAPES)
            name = self.fresh("lst")
            n = r.randrange(1, 3)
            form = r.random()
            if form < 0.25:
                e = self.expr(env, shape, 2)
                k = r.randrange(2, 4)
                s = [Stmt(f"{name} = [{{0}}] * {k}" if r.random() < 0.5 else f"{name} = {k} * [{{0}}]", [e])]
                n = k
            elif form < 0.4:
                es = [self.expr(env, shape, 2) for _ in range(n + 1)]
                s = [Stmt(f"{name} = [{{0}}] + [{', '.join('{%d}' % (i + 1) for i in range(n))}]", es)]
                n += 1
            else:
                es = [self.expr(env, shape, 2) for _ in range(n)]
                s = [Stmt(f"{name} = [{', '.join('{%d}' % i for i in range(n))}]", es)]
                if r.random() < 0.6:
                    s.append(Stmt(f"{name}.append({{0}})", [self.expr(env, shape, 2)]))
                    n += 1
                if n > 1 and r.random() < 0.3:
                    p = self.fresh()
                    s.append(Stmt(f"{p} = {name}.pop()"))
                    n -= 1
                    env[p] = ("a", shape)
            env[name] = ("list", ("a", shape), n)
            return s
        if kind == "tuple":
            shapes = [r.choice(SHAPES) for _ in range(2)]
            es = [self.expr(env, s, 2) for s in shapes]
            if r.random() < 0.5:
                a, b = self.fresh(), self.fresh()
                env[a], env[b] = ("a", shapes[0]), ("a", shapes[1])
                out = [Stmt(f"{a}, {b} = {{0}}, {{1}}", es)]
                if shapes[0] == shapes[1] and r.random() < 0.5:
                    out.append(Stmt(f"{a}, {b} = {b}, {a}"))
                return out
            name = self.fresh("tup")
            env[name] = ("tuple", [("a", s) for s in shapes])
            if r.random() < 0.3:
                env[name] = ("tuple", [("a", s) for s in shapes] * 2)
                return [Stmt(f"{name} = ({{0}}, {{1}}) * 2", es)]
            return [Stmt(f"{name} = ({{0}}, {{1}})", es)]
        if kind == "dict":
            name = self.fresh("d")
            shapes = {k: r.choice(SHAPES) for k in ("p", "q")}
            es = [self.expr(env, s, 2) for s in shapes.values()]
            out = [Stmt(f"{name} = {{{{'p': {{0}}, 'q': {{1}}}}}}", es)]
            if r.random() < 0.5:
                s = r.choice(SHAPES)
                out.append(Stmt(f"{name}['r'] = {{0}}", [self.expr(env, s, 2)]))
                shapes["r"] = s
            if r.random() < 0.4:
                out.append(Stmt(f"{name}['p'] = {name}['p'] * {{0}}", [self.expr(env, shapes["p"], 1)]))
            env[name] = ("dict", {k: ("a", s) for k, s in shapes.items()})
            return out
        if kind == "box":
            self.uses_box = True
            name = self.fresh("box")
            sa, sb = r.choice(SHAPES), r.choice(SHAPES)
            out = [Stmt(f"{name} = Box({{0}}, {{1}})", [self.expr(env, sa, 2), self.expr(env, sb, 2)])]
            if r.random() < 0.5:
                out.append(Stmt(f"{name}.a = {name}.a * {{0}}", [self.expr(env, sa, 1)]))
            env[name] = ("obj", {"a": ("a", sa), "b": ("a", sb)})
            return out
        if kind == "alias":
            # a copy held in a container, then written into: the container sees the write
            arrays = [n for n, t in env.items() if t[0] == "a" and t[1] in ((3,), (2, 3))]
            if not arrays:
                return None
            src = r.choice(arrays)
            shape = env[src][1]
            y, c = self.fresh("y"), self.fresh("lst")
            holder = r.choice(["[{y}]", "({y},)", "{{'k': {y}}}"]).format(y=y)
            env[y] = ("a", shape)
            if holder.startswith("{"):
                env[c] = ("dict", {"k": ("a", shape)})
            elif holder.startswith("("):
                env[c] = ("tuple", [("a", shape)])
            else:
                env[c] = ("list", ("a", shape), 1)
            idx = "[0]" if shape == (3,) else "[1, 2]"
            return [Stmt(f"{y} = {src} * 1.0"), Stmt(f"{c} = {holder}"),
                    Stmt(f"{y}{idx} = {{0}}", [self.expr(env, (), 2)])]
        if kind == "break":
            return [Stmt("if {0}:", [self.cond(env)], [Stmt(r.choice(["break", "continue"]))])]
        if kind == "return":
            if depth >= 3:
                return None  # top level: the final return comes last
            return [Stmt("if {0}:", [self.cond(env)], [Stmt("return {0}", [self.result(env)])])]
        if kind == "comp":
            lists = [(n, t) for n, t in env.items() if t[0] == "list" and t[1][0] in ("a", "f")]
            if not lists:
                return None
            src, t = r.choice(lists)
            w = self.fresh("w")
            inner = dict(env)
            inner[w] = t[1]
            shape = () if t[1][0] == "f" else t[1][1]
            if r.random() < 0.4:
                v = self.fresh()
                env[v] = ("a", ())
                e = self.expr(inner, r.choice(SHAPES), 2)
                return [Stmt(f"{v} = sum(np.sum({{0}}) for {w} in {src})", [e])]
            name = self.fresh("lst")
            env[name] = ("list", ("a", shape), t[2])
            return [Stmt(f"{name} = [{{0}} for {w} in {src}]", [self.expr(inner, shape, 2)])]
        if kind == "lambda":
            shape = r.choice(SHAPES)
            a, fn, v = self.fresh("a"), self.fresh("fn"), self.fresh()
            inner = dict(env)
            inner[a] = ("a", shape)
            out_shape = r.choice(SHAPES)
            body = self.expr(inner, out_shape, 2)
            env[v] = ("a", out_shape)
            # the lambda reads enclosing variables too (a closure)
            return [Stmt(f"{fn} = lambda {a}: {{0}}", [body]),
                    Stmt(f"{v} = {fn}({{0}})", [self.expr(env, shape, 2)])]
        if kind == "call":
            if not self.helpers:
                return None
            name, params, shapes, out_shape = r.choice(self.helpers)
            args = [self.expr(env, s, 2) for s in shapes]
            v = self.fresh()
            env[v] = ("a", out_shape)
            return [Stmt(f"{v} = {name}({', '.join('{%d}' % i for i in range(len(args)))})", args)]
        return None

    def control(self, kind, env, depth, in_loop):
        r = self.r
        if kind == "if":
            c = self.cond(env)
            body = self.block(env, r.randrange(1, 3), depth - 1, in_loop, fixed_env=True)
            orelse = self.block(env, r.randrange(0, 3), depth - 1, in_loop, fixed_env=True) or None
            return [Stmt("if {0}:", [c], body, orelse)]
        if kind == "for":
            i = self.fresh("i")
            n = r.randrange(1, 4)
            inner = dict(env)
            inner[i] = ("int",)
            body = self.block(inner, r.randrange(1, 3), depth - 1, i, fixed_env=True)
            head = r.choice([f"for {i} in range({n}):", f"for {i} in reversed(range({n})):",
                             f"for {i} in range(1, {n + 1}):"])
            return [Stmt(head, [], body, self.block(env, 1, 0, None, True) if r.random() < 0.15 else None)]
        if kind == "forlist":
            pairs = [(n, t) for n, t in env.items() if t[0] == "list" and t[1][0] == "tuple"]
            if pairs and r.random() < 0.5:
                return self.for_pairs(env, depth, *r.choice(pairs))
            lists = [(n, t) for n, t in env.items() if t[0] == "list" and t[1][0] in ("a", "f")]
            if not lists:
                return None
            name, t = r.choice(lists)
            w = self.fresh("w")
            inner = dict(env)
            inner[w] = t[1]
            form = r.random()
            if form < 0.2:
                j = self.fresh("i")
                head = f"for {j}, {w} in enumerate({name}):"
                inner[j] = ("int",)
            elif form < 0.4:
                others = [(n2, t2) for n2, t2 in lists if t2[2] == t[2]]
                n2, t2 = r.choice(others)
                w2 = self.fresh("w")
                inner[w2] = t2[1]
                head = f"for {w}, {w2} in zip({name}, {n2}):"
            else:
                head = f"for {w} in {name}:"
            body = self.block(inner, r.randrange(1, 3), depth - 1, None, fixed_env=True)
            # reading a non-updated loop-carried value so the loop target matters
            out = [Stmt(head, [], body)]
            if r.random() < 0.5:
                env[w] = t[1]  # the loop target stays bound after the loop
                if r.random() < 0.4:
                    shape = () if t[1][0] == "f" else t[1][1]
                    out.append(Stmt(f"{w} = {{0}}", [self.const(shape)]))
            return out
        if kind == "while":
            k = self.fresh("k")
            c = self.cond(env)
            n = r.randrange(1, 4)
            inner = dict(env)
            body = self.block(inner, r.randrange(1, 3), depth - 1, None, fixed_env=True)
            body.append(Stmt(f"{k} += 1"))
            return [Stmt(f"{k} = 0"), Stmt(f"while {k} < {n} and {{0}}:", [c], body)]
        return None

    def for_pairs(self, env, depth, name, t):
        """``for W, b in layers:`` over a list of tuples (also ``layers[:-1]`` then ``W, b = layers[-1]``)."""
        r = self.r
        targets = [self.fresh("w") for _ in t[1][1]]
        inner = dict(env)
        inner.update(zip(targets, t[1][1]))
        sliced = t[2] > 1 and r.random() < 0.5
        head = f"for {', '.join(targets)} in {name}{'[:-1]' if sliced else ''}:"
        out = [Stmt(head, [], self.block(inner, r.randrange(1, 3), depth - 1, None, fixed_env=True))]
        if sliced or r.random() < 0.5:
            out.append(Stmt(f"{', '.join(targets)} = {name}[-1]"))
            env.update(zip(targets, t[1][1]))
        return out

    def result(self, env):
        """The returned scalar: an expression plus, most of the time, the
        values computed last (so that the body matters)."""
        r = self.r
        shape = r.choice(SHAPES)
        e = self.expr(env, shape, 3)
        total = e if shape == () else Expr("np.sum({0})", [e], ())
        locals_ = [n for n, t in env.items() if t[0] in ("a", "f") and not n.startswith(("x", "i", "k"))]
        for name in locals_[-3:]:
            if r.random() < 0.7:
                t = env[name]
                read = Expr(name, [], t[1] if t[0] == "a" else ())
                term = read if read.shape == () else Expr(r.choice(["np.sum({0})", "np.sum(np.sin({0}))"]), [read], ())
                total = Expr("{0} + %r * {1}" % round(r.uniform(0.2, 1.0), 2), [total, term], ())
        containers = [n for n, t in env.items() if t[0] in ("list", "tuple", "dict", "obj")]
        for name in containers[-2:]:
            reads = list(self.reads(name, env[name]))
            if reads and r.random() < 0.6:
                code, shape = r.choice(reads)
                total = Expr("{0} + np.sum(%s)" % code, [total], ())
        return total

    def helper(self, k):
        r = self.r
        shapes = [r.choice(SHAPES) for _ in range(r.randrange(1, 3))]
        params = [f"a{j}" for j in range(len(shapes))]
        env = {p: ("a", s) for p, s in zip(params, shapes)}
        body = self.block(env, r.randrange(1, 3), 1)
        out_shape = r.choice(SHAPES)
        if r.random() < 0.2 and (3,) in shapes:
            # a helper that returns a view of its argument
            p = params[shapes.index((3,))]
            body.append(Stmt(f"return {p}[:2]"))
            out_shape = (2,)
        else:
            body.append(Stmt("return {0}", [self.expr(env, out_shape, 2)]))
        return (f"h{k}", params, shapes, out_shape), body

    def program(self):
        r = self.r
        self.helpers = []
        helper_defs = []
        for k in range(r.choice([0, 0, 1, 2])):
            spec, body = self.helper(k)
            self.helpers.append(spec)
            helper_defs.append((spec[0], spec[1], body))
        kinds = []
        env = {}
        for j in range(r.randrange(1, 4)):
            t = r.choice([("f",), ("a", (3,)), ("a", (2, 3)), ("a", (2,)), ("a", (3,)),
                          ("list", ("f",), 3), ("list", ("a", (3,)), 2),
                          ("list", ("tuple", [("a", (2, 3)), ("a", (2,))]), 2),
                          ("dict", {"W": ("a", (2, 3)), "b": ("a", (2,))}),
                          ("tuple", [("a", (3,)), ("f",)])])
            kinds.append(t)
            env[f"x{j}"] = t
        params = list(env)
        body = self.block(env, r.randrange(2, 7), 3)
        body.append(Stmt("return {0}", [self.result(env)]))
        prog = Program([(n, p, b) for n, p, b in helper_defs], params, body, self.uses_box, self.backend)
        return prog, kinds

    def value(self, t):
        r = self.r
        if t[0] == "f":
            return round(r.uniform(-1.2, 1.2), 6)
        if t[0] == "a":
            return np.array([[round(r.uniform(-1.2, 1.2), 6) for _ in range(3)] for _ in range(2)]).reshape(-1)[
                :int(np.prod(t[1], dtype=int))].reshape(t[1]) if t[1] else np.array(r.uniform(-1, 1))
        if t[0] == "list":
            return [self.value(t[1]) for _ in range(t[2])]
        if t[0] == "tuple":
            return tuple(self.value(s) for s in t[1])
        if t[0] == "dict":
            return {k: self.value(s) for k, s in t[1].items()}
        raise ValueError(t)


# ============================================================ pytrees


def leaves(tree):
    if isinstance(tree, dict):
        return [x for k in tree for x in leaves(tree[k])]
    if isinstance(tree, (list, tuple)):
        return [x for v in tree for x in leaves(v)]
    return [tree]


def _as_numpy(x):
    """``x`` as a NumPy value; a torch tensor through ``numpy(force=True)``
    (torch's own AD may return a ZeroTensor, which plain conversion refuses)."""
    force = getattr(x, "numpy", None) if type(x).__module__.startswith("torch") else None
    return force(force=True) if force is not None else x


def flatten(tree) -> np.ndarray:
    parts = [np.ravel(np.asarray(_as_numpy(x), dtype=float)) for x in leaves(tree)]
    return np.concatenate(parts) if parts else np.zeros(0)


def unflatten(like, vec, start=0):
    """A tree shaped like ``like`` with values from ``vec``; returns (tree, next)."""
    if isinstance(like, dict):
        out = {}
        for k in like:
            out[k], start = unflatten(like[k], vec, start)
        return out, start
    if isinstance(like, (list, tuple)):
        items = []
        for v in like:
            item, start = unflatten(v, vec, start)
            items.append(item)
        return type(like)(items), start
    if isinstance(like, np.ndarray):
        n = like.size
        return vec[start:start + n].reshape(like.shape).copy(), start + n
    return float(vec[start]), start + 1


def library(backend: str):
    """The module of a backend (jax: with float64 enabled), imported on first use."""
    if backend == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
        return jax
    if backend == "torch":
        import torch
        import torch.func  # noqa: F401

        return torch
    return np


def lib_array(x) -> bool:
    """Is ``x`` an array of another library than NumPy (a jax array, a torch tensor)?"""
    return type(x).__module__.split(".")[0] in ("jax", "jaxlib", "torch")


def to_backend(tree, backend: str):
    """``tree`` with every NumPy array made an array of ``backend`` (same dtype; floats stay floats)."""
    if backend == "numpy":
        return tree
    if isinstance(tree, dict):
        return {k: to_backend(v, backend) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(to_backend(v, backend) for v in tree)
    if backend == "torch":
        torch = library("torch")  # floats too: torch functions take tensors
        return torch.tensor(tree, dtype=torch.float64) if isinstance(tree, float) else (
            torch.from_numpy(tree.copy()) if isinstance(tree, np.ndarray) else tree)
    return library(backend).numpy.asarray(tree) if isinstance(tree, np.ndarray) else tree


def same_structure(a, b) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same_structure(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(map(same_structure, a, b))
    if isinstance(a, np.ndarray):
        return (isinstance(b, np.ndarray) or lib_array(b)) and b.shape == a.shape
    return np.ndim(b) == 0


def identical(a, b) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(identical(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(identical, a, b))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype and np.array_equal(
            a, b, equal_nan=True)
    if lib_array(a) or lib_array(b):
        return type(a) is type(b) and a.shape == b.shape and a.dtype == b.dtype and np.array_equal(
            np.asarray(a), np.asarray(b), equal_nan=True)
    return type(a) is type(b) and (a == b or (a != a and b != b))


def as_float32(tree):
    """A copy with every float array in float32 (Python floats stay floats)."""
    if isinstance(tree, dict):
        return {k: as_float32(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(as_float32(v) for v in tree)
    return tree.astype(np.float32) if isinstance(tree, np.ndarray) else tree


def literal(value) -> str:
    """Python source that rebuilds ``value`` exactly."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(map(literal, value)) + "]"
    if isinstance(value, tuple):
        return "(" + "".join(literal(v) + ", " for v in value) + ")"
    if isinstance(value, np.ndarray):
        return f"np.array({value.tolist()!r})"
    return repr(value)


# ============================================================ checks


class Failure(Exception):
    def __init__(self, kind, message):
        super().__init__(f"{kind}: {message}")
        self.kind = kind


class Unreliable(Exception):
    """The finite-difference reference cannot be trusted here (a kink or a branch nearby)."""


class Invalid(Exception):
    """The program itself fails or mutates its arguments: not a test of Tangent."""


def load(source: str, tag: str):
    folder = tempfile.mkdtemp(prefix="tangent-fuzz-")
    path = os.path.join(folder, f"prog_{tag}.py")
    with open(path, "w") as fh:
        fh.write(source)
    spec = importlib.util.spec_from_file_location(f"tangent_fuzz_{tag}_{next(_loaded)}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_loaded = itertools.count()


def run_primal(module, args, backend="numpy"):
    copies = to_backend(copy.deepcopy(args), backend)
    with np.errstate(all="raise"):
        try:
            out = module.f(*copies)
        except Exception as error:  # noqa: BLE001
            raise Invalid(f"f raises {type(error).__name__}: {error}") from None
    if not identical(copies, to_backend(args, backend)):
        raise Invalid("f mutates its arguments")
    if (out.ndim if lib_array(out) else np.ndim(out)) != 0 or not np.isfinite(float(out)) or abs(float(out)) > 1e6:
        raise Invalid(f"f returns {out!r}")
    return float(out)


def unflatten_all(args, vec):
    """``args`` (a list of trees) with every leaf replaced from the flat vector."""
    out, start = [], 0
    for a in args:
        tree, start = unflatten(a, vec, start)
        out.append(tree)
    return out, start


def partial_args(args, wrt, vec):
    """``args`` with the arguments in ``wrt`` replaced from the flat vector."""
    out = list(args)
    start = 0
    for i in wrt:
        out[i], start = unflatten(args[i], vec, start)
    return out


def fd_derivative(phi, n, direction=None, steps=(1e-3, 4e-4)):
    """Central differences of ``phi`` (vector -> vector) at 0, Richardson
    extrapolated, along each basis vector (or ``direction``); computed at two
    steps and compared, so that a kink or branch switch nearby is noticed."""
    def estimate(h):
        cols = []
        dirs = [direction] if direction is not None else list(np.eye(n))
        for e in dirs:
            d1 = (phi(h * e) - phi(-h * e)) / (2 * h)
            d2 = (phi(h / 2 * e) - phi(-h / 2 * e)) / h
            cols.append((4 * d2 - d1) / 3)
        return np.array(cols)

    a, b = estimate(steps[0]), estimate(steps[1])
    scale = 1.0 + np.max(np.abs(b), initial=0.0)
    if np.max(np.abs(a - b), initial=0.0) > 1e-6 * scale:
        raise Unreliable("finite differences disagree between steps")
    return b


def close(got, want, what, rtol=1e-5, atol=1e-6):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    if got.shape != want.shape:
        raise Failure("wrong", f"{what}: shape {got.shape}, expected {want.shape}")
    same = (got == want) | (np.isnan(got) & np.isnan(want))  # two runs agreeing on NaN or inf agree
    if same.all():
        return
    got, want = np.where(same, 0.0, got), np.where(same, 0.0, want)
    scale = 1.0 + np.max(np.abs(want), initial=0.0)
    err = np.max(np.abs(got - want), initial=0.0)
    if not np.isfinite(got).all() and np.isfinite(want).all():
        raise Failure("nonfinite", f"{what}: non-finite derivative {np.round(got.ravel(), 6).tolist()}, "
                      f"expected {np.round(want.ravel(), 6).tolist()}")
    if not np.isfinite(got).all() or err > atol * scale + rtol * np.max(np.abs(want), initial=0.0):
        raise Failure("wrong", f"{what}: max error {err:.3g}\n  got      {np.round(got.ravel(), 6).tolist()}\n"
                      f"  expected {np.round(want.ravel(), 6).tolist()}")


def as_tuple(value, wrt):
    return value if len(wrt) > 1 else (value,)


def check_fresh(result, args, wrt, what, backend="numpy"):
    """Returned derivatives are shaped like their argument and share no memory with inputs
    (for another backend than NumPy: are arrays of that library, of the argument's dtype)."""
    results = as_tuple(result, wrt)
    if not isinstance(results, tuple) or len(results) != len(wrt):
        raise Failure("wrong", f"{what}: returned {type(result).__name__}, expected one value per wrt")
    inputs = [x for x in leaves(args) if isinstance(x, np.ndarray)]
    for i, g in zip(wrt, results):
        if not same_structure(args[i], g):
            raise Failure("wrong", f"{what}: gradient of argument {i} is not shaped like it: {g!r}")
        for leaf, like in zip(leaves(g), leaves(args[i])):
            if backend != "numpy":
                if isinstance(like, np.ndarray) and (not lib_array(leaf) or
                                                     str(leaf.dtype).replace("torch.", "") != str(like.dtype)):
                    got = (f"a {backend} array of {leaf.dtype}" if lib_array(leaf)
                           else f"a {type(leaf).__name__}, not a {backend} array")
                    raise Failure("dtype", f"{what}: the derivative for a {backend} {like.dtype} array is {got}")
                if backend == "torch" and any(leaf is x for x in leaves(args)):
                    raise Failure("aliased", f"{what}: a returned tensor is an input")
                continue
            if isinstance(like, np.ndarray) and (not isinstance(leaf, np.ndarray) or leaf.dtype != like.dtype):
                raise Failure("dtype", f"{what}: the derivative for a {like.dtype} array is "
                              f"{getattr(leaf, 'dtype', type(leaf).__name__)}")
            if isinstance(leaf, np.ndarray):
                if any(np.shares_memory(leaf, x) for x in inputs):
                    raise Failure("aliased", f"{what}: a returned array shares memory with an input")
                if not leaf.flags.writeable:
                    raise Failure("readonly", f"{what}: a returned array is read-only (a broadcast view?)")


class Case:
    """One program, its arguments, the arguments differentiated and the vectors."""

    def __init__(self, source, args, wrt, vectors, tag="case", backend="numpy"):
        # args and vectors are kept as NumPy float64 (the finite-difference
        # reference works on them); each call gets fresh arrays of the backend
        self.source, self.args, self.wrt, self.vectors = source, args, tuple(wrt), vectors
        self.backend = backend
        self.library_checked = False  # whether the last check compared with the library's own AD
        self.module = load(source, tag)
        self.f = self.module.f
        self.filename = self.module.__file__
        self.value = run_primal(self.module, args, backend)

    def fresh(self, tree):
        """A copy of ``tree`` made of the backend's arrays."""
        return to_backend(copy.deepcopy(tree), self.backend)

    def calls(self):
        return len(self.module.CALLS)

    def nearby(self):
        """The same program at arguments moved by about 1e-4 (None if invalid there)."""
        rng = np.random.RandomState(len(self.source))
        vec = flatten(self.args)
        moved, _ = unflatten_all(self.args, vec + 1e-4 * (1 + np.abs(vec)) * rng.uniform(-1, 1, vec.size))
        try:
            return Case(self.source, moved, self.wrt, self.vectors, tag="nearby", backend=self.backend)
        except Invalid:
            return None

    def call(self, derivative, inputs, what, expect_calls=1):
        """Call ``derivative(*inputs)``; check inputs unchanged and one run of f's body."""
        before = copy.deepcopy(inputs)
        n = self.calls()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out = derivative(*inputs)
            except tangent.TangentError as error:
                raise Failure("crash", f"{what}: TangentError raised by a call, not by the transform: {error}") from None
            except Exception as error:  # noqa: BLE001
                tb = traceback.format_exc(limit=-3)
                raise Failure("crash", f"{what}: {type(error).__name__}: {error}\n{tb}") from None
        if not identical(before, inputs):
            raise Failure("mutated", f"{what}: the call changed its inputs (arguments, seed or vectors)")
        if expect_calls is not None and self.calls() - n != expect_calls:
            raise Failure("reruns", f"{what}: f's body ran {self.calls() - n} times for one call")
        return out

    def transform(self, make, what):
        try:
            return make()
        except tangent.TangentError as error:
            message = str(error)
            if os.path.basename(self.filename) not in message and "line" not in message:
                raise Failure("refusal-without-line", f"{what}: {message}") from None
            tail = message.split("\n", 1)[-1]
            if re.search(r"'_\w*'", tail) or (re.search(r"\bstack\b", tail) and "np.stack(" not in self.source):
                # generated programs name no variable with a leading underscore
                raise Failure("internal-name", f"{what}: the refusal names a variable Tangent made: {message}") from None
            raise Refused(message) from None
        except Exception as error:  # noqa: BLE001
            tb = traceback.format_exc(limit=-4)
            raise Failure("crash", f"{what}: transform raised {type(error).__name__}: {error}\n{tb}") from None

    # --- references ----------------------------------------------------------

    def phi(self, vec):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.array([self.f(*to_backend(partial_args(self.args, self.wrt, vec), self.backend))])

    def fd_grad(self):
        n = flatten([self.args[i] for i in self.wrt]).size
        base = flatten([self.args[i] for i in self.wrt])
        return fd_derivative(lambda d: self.phi(base + d), n)[:, 0]

    def grad_along(self, grad_fn, v):
        base = flatten([self.args[i] for i in self.wrt])
        n = base.size

        def g(d):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return flatten(as_tuple(grad_fn(*to_backend(partial_args(self.args, self.wrt, base + d), self.backend)),
                                        self.wrt))

        return fd_derivative(g, n, direction=v)[0]

    # --- modes ---------------------------------------------------------------

    def library_reference(self, mode):
        """The derivative by the backend's own AD, flat (None for NumPy, or where it cannot run f)."""
        if self.backend == "numpy":
            return None
        lib = library(self.backend)
        grad, jvp = (lib.grad, lib.jvp) if self.backend == "jax" else (lib.func.grad, lib.func.jvp)
        args = self.fresh(self.args)

        def g(*xs):
            full = list(args)
            for i, x in zip(self.wrt, xs):
                full[i] = x
            return self.f(*full)

        primals = tuple(args[i] for i in self.wrt)
        tangents = tuple(self.fresh(self.vectors))
        argnums = tuple(range(len(primals)))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if mode == "reverse":
                    out = grad(g, argnums=argnums)(*primals)
                elif mode == "forward":
                    out = jvp(g, primals, tangents)[1]
                else:  # hvp, grad2: H v (the Hessian is symmetric)
                    out = jvp(grad(g, argnums=argnums), primals, tangents)[1]
        except Exception:  # noqa: BLE001  (the library cannot run this program: FD alone is the reference)
            return None
        return flatten(out)

    def against_library(self, mode, got, what):
        want = self.library_reference(mode)
        if want is not None:
            ns = "jax" if self.backend == "jax" else "torch.func"
            how = {"reverse": f"{ns}.grad", "forward": f"{ns}.jvp"}.get(mode, f"{ns}.jvp of {ns}.grad")
            close(got, want, f"{what} against {how}", rtol=1e-8, atol=1e-10)
            self.library_checked = True

    def check(self, mode):
        self.library_checked = False
        getattr(self, "check_" + mode)()

    def reverse_derivative(self, optimized=True):
        return self.transform(lambda: tangent.grad(self.f, wrt=self.wrt, optimized=optimized), "grad")

    def check_reverse(self):
        df = self.reverse_derivative()
        g1 = self.call(df, self.fresh(self.args), "grad (first call)")
        check_fresh(g1, self.args, self.wrt, "grad", self.backend)
        g2 = self.call(df, self.fresh(self.args), "grad (second call)")
        close(flatten(g2), flatten(g1), "grad: second call against first", rtol=1e-12, atol=1e-12)
        generic = getattr(df, "tangent_generic", None)
        if generic is not None:
            g3 = self.call(generic, self.fresh(self.args), "grad (generic code)")
            close(flatten(g3), flatten(g1), "grad: generic code against specialised", rtol=1e-9, atol=1e-12)
        g4 = self.call(self.reverse_derivative(optimized=False), self.fresh(self.args), "grad (optimized=False)")
        close(flatten(g4), flatten(g1), "grad: optimized=False against optimized", rtol=1e-9, atol=1e-12)
        if self.backend == "numpy":
            self.check_float32(df)
        g5 = self.call(df, self.fresh(self.args) + [2.0], "grad (seed 2.0)")
        close(flatten(g5), 2 * flatten(g1), "grad: seed 2.0 against twice seed 1.0", rtol=1e-9, atol=1e-12)
        close(flatten(g1), self.fd_grad(), "grad against finite differences")
        self.against_library("reverse", flatten(g1), "grad")
        if self.backend != "numpy":
            self.check_float32(df)  # last: a dtype failure must not hide a wrong number

    def check_float32(self, df):
        single = as_float32(self.args)
        if self.backend != "numpy":
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    self.f(*to_backend(single, self.backend))
            except Exception:  # noqa: BLE001  (f itself does not run at float32: torch mixes no dtypes in @)
                return
        check_fresh(self.call(df, to_backend(single, self.backend), "grad (float32 arguments)"), single, self.wrt,
                    "grad (float32 arguments)", self.backend)

    def forward_derivative(self, optimized=True):
        return self.transform(lambda: tangent.jvp(self.f, wrt=self.wrt, optimized=optimized), "jvp")

    def check_forward(self):
        jf = self.forward_derivative()
        inputs = self.fresh(self.args) + self.fresh(self.vectors)
        t1 = self.call(jf, inputs, "jvp (first call)")
        t2 = self.call(jf, self.fresh(self.args) + self.fresh(self.vectors), "jvp (second call)")
        close(t2, t1, "jvp: second call against first", rtol=1e-12, atol=1e-12)
        t3 = self.call(self.forward_derivative(optimized=False), self.fresh(self.args) + self.fresh(self.vectors),
                       "jvp (optimized=False)")
        close(t3, t1, "jvp: optimized=False against optimized", rtol=1e-9, atol=1e-12)
        v = flatten(self.vectors)
        base = flatten([self.args[i] for i in self.wrt])
        want = fd_derivative(lambda d: self.phi(base + d), base.size, direction=v)[0]
        close(np.reshape(t1, (1,)), want, "jvp against finite differences")
        self.against_library("forward", np.reshape(t1, (1,)), "jvp")
        # <u, J v> == <J^T u, v>, with u = 1 for a scalar output
        try:
            df = tangent.grad(self.f, wrt=self.wrt)
        except tangent.TangentError:
            return
        g = flatten(self.call(df, self.fresh(self.args), "grad (for consistency)"))
        close(np.reshape(t1, (1,)), np.array([g @ v]), "<u, J v> against <J^T u, v>", rtol=1e-8, atol=1e-10)

    def check_hvp(self):
        hf = self.transform(lambda: tangent.hvp(self.f, wrt=self.wrt), "hvp")
        inputs = self.fresh(self.args) + self.fresh(self.vectors)
        h1 = self.call(hf, inputs, "hvp (first call)")
        check_fresh(h1, self.args, self.wrt, "hvp", self.backend)
        h2 = self.call(hf, self.fresh(self.args) + self.fresh(self.vectors), "hvp (second call)")
        close(flatten(h2), flatten(h1), "hvp: second call against first", rtol=1e-12, atol=1e-12)
        hu = self.transform(lambda: tangent.hvp(self.f, wrt=self.wrt, optimized=False), "hvp (optimized=False)")
        h3 = self.call(hu, self.fresh(self.args) + self.fresh(self.vectors), "hvp (optimized=False)")
        close(flatten(h3), flatten(h1), "hvp: optimized=False against optimized", rtol=1e-9, atol=1e-12)
        df = self.reverse_derivative()
        want = self.grad_along(df, flatten(self.vectors))
        close(flatten(h1), want, "hvp against finite differences of the gradient")
        self.against_library("hvp", flatten(h1), "hvp")

    def check_grad2(self):
        df = self.reverse_derivative()
        second = self.transform(lambda: tangent.vjp(df, wrt=self.wrt), "vjp of grad")
        seed = tuple(self.fresh(self.vectors)) if len(self.wrt) > 1 else self.fresh(self.vectors[0])
        r1 = self.call(second, self.fresh(self.args) + [1.0, seed], "vjp of grad (first call)")
        check_fresh(r1, self.args, self.wrt, "vjp of grad", self.backend)
        r2 = self.call(second, self.fresh(self.args) + [1.0, copy.deepcopy(seed)], "vjp of grad (second call)")
        close(flatten(r2), flatten(r1), "vjp of grad: second call against first", rtol=1e-12, atol=1e-12)
        # the Hessian is symmetric: H u from differences of the gradient along u
        want = self.grad_along(df, flatten(self.vectors))
        close(flatten(r1), want, "vjp of grad against finite differences of the gradient")
        self.against_library("grad2", flatten(r1), "vjp of grad")


class Refused(Exception):
    pass


# ============================================================ generation, running, shrinking


def make_case(seed: int, backend: str = "numpy"):
    """A valid program for ``seed`` written with ``backend`` (retrying derived seeds until one is valid)."""
    if backend != "numpy":
        library(backend)
    for attempt in range(50):
        gen = Gen(seed * 1000 + attempt, backend)
        prog, kinds = gen.program()
        args = [gen.value(t) for t in kinds]
        n = len(args)
        wrt = tuple(sorted(gen.r.sample(range(n), gen.r.randrange(1, n + 1))))
        vectors = [gen.value(kinds[i]) for i in wrt]
        try:
            case = Case(prog.source(), args, wrt, vectors, tag=f"s{seed}", backend=backend)
        except Invalid:
            continue
        return prog, case
    return None, None


def outcome(case, mode):
    """'ok', 'refused', 'unreliable' or a Failure.

    A derivative that is NaN or infinite where finite differences are finite
    may be a singular point of f (``np.hypot(0, 0)``, ``np.sqrt(0)``): the
    check is repeated at a nearby point, and only if it also fails there is it
    a failure; otherwise the point counts as unreliable.
    """
    try:
        case.check(mode)
    except Refused as r:
        return "refused", str(r)
    except Unreliable as u:
        return "unreliable", str(u)
    except Failure as failure:
        if failure.kind == "nonfinite":
            nearby = case.nearby()
            if nearby is not None and outcome(nearby, mode)[0] in ("ok", "unreliable"):
                return "unreliable", f"singular point: {failure}"
        return failure, str(failure)
    return "ok", ""


def signature(failure: Failure) -> tuple:
    """What a shrunk program must keep failing with: the kind, the check and,
    for a crash, the exception's type."""
    head = str(failure).split("\n")[0]
    if failure.kind == "crash":
        found = re.search(r"\): (?:transform raised )?(\w+(?:Error|Exception|Warning)?)\b", head)
        return failure.kind, found.group(1) if found else head
    return failure.kind, re.sub(r"max error.*|[-0-9.e]+", "", head)


def names_defined(source: str) -> bool:
    """Every name that f loads is a parameter, assigned somewhere in f, or a module-level name
    (shrinking must not keep a read of a variable whose definition it removed)."""
    tree = ast.parse(source)
    module_names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    module_names |= {a.asname or a.name.split(".")[0] for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))
                     for a in n.names}
    module_names |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    for fn in tree.body:
        if not isinstance(fn, ast.FunctionDef):
            continue
        known = {a.arg for a in fn.args.args} | module_names | set(dir(builtins))
        stored = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        loaded = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        if loaded - known - stored:
            return False
    return True


def still_fails(prog, args, wrt, vectors, mode, sig):
    source = prog.source()
    if not names_defined(source):
        return False
    try:
        case = Case(source, args, wrt, vectors, tag="shrink", backend=prog.backend)
    except Invalid:
        return False
    except Exception:  # noqa: BLE001
        return False
    result, _ = outcome(case, mode)
    return isinstance(result, Failure) and signature(result) == sig


def subexprs(e):
    for i, k in enumerate(e.kids):
        yield e, i, k
        yield from subexprs(k)


def shrink_candidates(prog):
    """Smaller programs: a statement removed, a block unwrapped, an expression replaced by a part."""
    def blocks(p):
        yield p.body
        for _, _, b in p.helpers:
            yield b
        stack = list(p.body) + [s for _, _, b in p.helpers for s in b]
        while stack:
            s = stack.pop()
            for b in (s.body, s.orelse):
                if b is not None:
                    yield b
                    stack.extend(b)

    n_blocks = len(list(blocks(prog)))
    for bi in range(n_blocks):
        blk = list(blocks(prog))[bi]
        for si in range(len(blk)):
            # drop the statement
            p2 = copy.deepcopy(prog)
            b2 = list(blocks(p2))[bi]
            s = b2.pop(si)
            if not s.fmt.startswith("return") or bi != 0:
                yield p2
            # unwrap a block
            if s.body is not None:
                for inner in (s.body, s.orelse or []):
                    p3 = copy.deepcopy(prog)
                    b3 = list(blocks(p3))[bi]
                    b3[si:si + 1] = copy.deepcopy(inner)
                    yield p3
                if s.orelse is not None:
                    p4 = copy.deepcopy(prog)
                    list(blocks(p4))[bi][si].orelse = None
                    yield p4
    for bi in range(n_blocks):
        blk = list(blocks(prog))[bi]
        for si in range(len(blk)):
            for ei in range(len(blk[si].exprs)):
                root = blk[si].exprs[ei]
                subs = [(None, None, root)] + list(subexprs(root))
                for pi, (parent, _, node) in enumerate(subs):
                    reps = [k for _, _, k in subexprs(node) if k.shape == node.shape and node.shape is not None]
                    if node.shape is not None and node.kids:
                        reps.append(Expr("0.5", [], ()) if node.shape == () else Expr(f"0.5 * np.ones({node.shape})",
                                                                                        [], node.shape))
                    for rep in reps[:6]:
                        p5 = copy.deepcopy(prog)
                        target = list(blocks(p5))[bi][si]
                        if parent is None:
                            target.exprs[ei] = copy.deepcopy(rep)
                        else:
                            path_subs = [(None, None, target.exprs[ei])] + list(subexprs(target.exprs[ei]))
                            par, kk, _ = path_subs[pi]
                            par.kids[kk] = copy.deepcopy(rep)
                        yield p5
    # remove helpers nobody calls
    for hi in range(len(prog.helpers)):
        p6 = copy.deepcopy(prog)
        name = p6.helpers[hi][0]
        if name + "(" not in p6.source().split(f"def {name}(")[0] + "".join(
                p6.source().split(f"def {name}(")[1].split("\ndef ", 1)[1:]):
            del p6.helpers[hi]
            yield p6


def shrink(prog, case, mode, sig, deadline):
    """Greedy shrinking: keep any smaller program that fails the same way."""
    args, wrt, vectors = case.args, case.wrt, case.vectors
    # fewer differentiated arguments first
    while len(wrt) > 1 and time.time() < deadline:
        for j in range(len(wrt)):
            w2 = wrt[:j] + wrt[j + 1:]
            v2 = vectors[:j] + vectors[j + 1:]
            if still_fails(prog, args, w2, v2, mode, sig):
                wrt, vectors = w2, v2
                break
        else:
            break
    progress = True
    while progress and time.time() < deadline:
        progress = False
        for cand in shrink_candidates(prog):
            if time.time() > deadline:
                break
            if len(cand.source()) < len(prog.source()) and still_fails(cand, args, wrt, vectors, mode, sig):
                prog, progress = cand, True
                break
    return prog, wrt, vectors


REPLAY_TEMPLATE = '''"""A regression program for tools/fuzz.py ({origin}).

{summary}

Replay: python {self_path}  (or python tools/fuzz.py --replay {self_path})
"""

import numpy as np  # noqa: F401  (ARGS may use it)

MODE = {mode!r}
{backend_line}WRT = {wrt!r}
ARGS = {args}
VECTORS = {vectors}
SOURCE = """\\
{source}"""

if __name__ == "__main__":
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [os.path.join(here, "..", "..", "tools"), {tools!r}]
    import fuzz

    sys.exit(fuzz.replay(__file__))
'''


def write_replay(path, source, args, wrt, vectors, mode, summary, origin, backend="numpy"):
    backend_line = f"BACKEND = {backend!r}\n" if backend != "numpy" else ""
    text = REPLAY_TEMPLATE.format(origin=origin, backend_line=backend_line, summary="\n".join("    " + line if line else "" for line in
                                                                   summary.splitlines()).strip(),
                                  self_path=path, mode=mode, wrt=wrt, args=literal(list(args)),
                                  vectors=literal(list(vectors)), source=source,
                                  tools=os.path.join(ROOT, "tools"))
    with open(path, "w") as fh:
        fh.write(text)


def load_replay(path):
    spec = importlib.util.spec_from_file_location(f"tangent_fuzz_replay_{next(_loaded)}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def replay_outcome(path):
    """(outcome, message) of a replay file: 'ok', 'refused', 'unreliable' or a Failure."""
    rec = load_replay(path)
    backend = getattr(rec, "BACKEND", "numpy")
    if backend != "numpy":
        library(backend)
    case = Case(rec.SOURCE, rec.ARGS, rec.WRT, rec.VECTORS, tag="replay", backend=backend)
    modes = (rec.MODE,) if isinstance(rec.MODE, str) else rec.MODE
    results = [outcome(case, mode) for mode in modes]
    for result, message in results:
        if isinstance(result, Failure):
            return result, message
    return results[0] if len(results) == 1 else ("/".join(r for r, _ in results), "")


def replay(path) -> int:
    result, message = replay_outcome(path)
    print(f"{os.path.basename(path)}: {result if isinstance(result, str) else 'FAIL ' + result.kind}")
    if message:
        print(message)
    return 1 if isinstance(result, Failure) else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0, help="first seed; program k uses seed + k * step")
    parser.add_argument("--step", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--jobs", type=int, default=1, help="processes sharing the seeds (seed + j, step jobs)")
    parser.add_argument("--summary", default=None, help=argparse.SUPPRESS)  # a job's counts, as JSON
    parser.add_argument("--n", type=int, default=100, help="number of programs (per mode)")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated: " + ", ".join(MODES))
    parser.add_argument("--backend", default="numpy", choices=BACKENDS,
                        help="the array library programs are written with (jax, torch: also checked against its own AD)")
    parser.add_argument("--seconds", type=float, default=None, help="stop after this long (overrides --n)")
    parser.add_argument("--out", default=None, help="folder for replay files of shrunk failures")
    parser.add_argument("--no-shrink", action="store_true")
    parser.add_argument("--shrink-seconds", type=float, default=60.0)
    parser.add_argument("--replay", default=None, help="replay one file written by --out")
    parser.add_argument("--show", action="store_true", help="print each program's source")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every failure in full")
    opts = parser.parse_args(argv)
    if opts.replay:
        return replay(opts.replay)
    modes = [m for m in opts.modes.split(",") if m]
    for m in modes:
        if m not in MODES:
            parser.error(f"unknown mode {m!r}")
    if opts.jobs > 1:
        return run_jobs(opts, modes)
    counts = {m: {"ok": 0, "refused": 0, "unreliable": 0, "fail": 0} for m in modes}
    checked = {m: 0 for m in modes}  # ok results also checked against the library's own AD
    kinds: dict = {}
    refusals: dict = {}
    start = time.time()
    failures = []
    k = 0
    seed = opts.seed
    while True:
        if opts.seconds is not None:
            if time.time() - start > opts.seconds:
                break
        elif k >= opts.n:
            break
        seed = opts.seed + k * opts.step
        k += 1
        try:
            prog, case = make_case(seed, opts.backend)
        except Exception as error:  # noqa: BLE001  (a generator bug must not end a soak)
            print(f"seed {seed}: the generator failed: {type(error).__name__}: {error}", flush=True)
            continue
        if case is None:
            continue
        if opts.show:
            print(f"# seed {seed}\n{case.source}")
        for mode in modes:
            result, message = outcome(case, mode)
            if isinstance(result, Failure):
                counts[mode]["fail"] += 1
                kinds[(mode, result.kind)] = kinds.get((mode, result.kind), 0) + 1
                failures.append((seed, mode, result, message, prog, case))
                print(f"seed {seed} {mode}: FAIL {result.kind}: {message.splitlines()[0][:160]}", flush=True)
                if opts.verbose:
                    print(message)
                    print(case.source)
            else:
                counts[mode][result] += 1
                checked[mode] += result == "ok" and case.library_checked
                if result == "refused":
                    first = message.strip().splitlines()
                    key = (first[1] if len(first) > 1 else first[0])[:100]
                    refusals[key] = refusals.get(key, 0) + 1
    elapsed = time.time() - start
    if opts.out and failures:
        os.makedirs(opts.out, exist_ok=True)
        for seed_, mode, result, message, prog, case in failures:
            small, wrt, vectors = (prog, case.wrt, case.vectors)
            if not opts.no_shrink:
                small, wrt, vectors = shrink(prog, case, mode, signature(result), time.time() + opts.shrink_seconds)
            path = os.path.join(opts.out, f"seed{seed_}_{mode}.py")
            try:
                shrunk_case = Case(small.source(), case.args, wrt, vectors, tag="final", backend=opts.backend)
                _, message = outcome(shrunk_case, mode)
            except Exception:  # noqa: BLE001
                pass
            origin = f"--seed {seed_} --modes {mode}" + (f" --backend {opts.backend}" if opts.backend != "numpy" else "")
            write_replay(path, small.source(), case.args, wrt, vectors, mode, message, origin, opts.backend)
            print(f"wrote {path}")
    seeds = f"{opts.seed}..{seed}" + (f" step {opts.step}" if opts.step != 1 else "")
    summary = {"seeds": seeds, "programs": k, "seconds": elapsed, "counts": counts,
               "kinds": {f"{m} {kd}": n for (m, kd), n in kinds.items()}, "refusals": refusals}
    if opts.backend != "numpy":
        summary["library"] = {"backend": opts.backend, "checked": checked}
    if opts.summary:
        with open(opts.summary, "w") as fh:
            json.dump(summary, fh)
    return report(summary, modes)


def report(summary, modes) -> int:
    print(f"\nseeds {summary['seeds']}, {summary['programs']} programs, {summary['seconds']:.0f} s")
    print(f"{'mode':8} {'ok':>6} {'refused':>8} {'unreliable':>11} {'fail':>6}")
    for m in modes:
        c = summary["counts"][m]
        print(f"{m:8} {c['ok']:6} {c['refused']:8} {c['unreliable']:11} {c['fail']:6}")
    lib = summary.get("library")
    if lib:
        print(f"ok results also checked against {lib['backend']}'s own AD: "
              + ", ".join(f"{m} {lib['checked'][m]}" for m in modes))
    if summary["kinds"]:
        print("failures by kind: " + ", ".join(f"{kd}: {n}" for kd, n in sorted(summary["kinds"].items())))
    refusals = summary["refusals"]
    if refusals:
        print("refusals: " + "; ".join(f"{n}x {msg}" for msg, n in sorted(refusals.items(), key=lambda x: -x[1])[:6]))
    total_fail = sum(summary["counts"][m]["fail"] for m in modes)
    print(f"{total_fail} failed")
    return 1 if total_fail else 0


def run_jobs(opts, modes) -> int:
    """Run ``opts.jobs`` processes, job j on seeds seed + j, seed + j + jobs, ...; add up their counts."""
    import subprocess

    folder = tempfile.mkdtemp(prefix="tangent-fuzz-jobs-")
    procs = []
    for j in range(opts.jobs):
        args = [sys.executable, os.path.abspath(__file__), "--seed", str(opts.seed + j), "--step", str(opts.jobs),
                "--modes", ",".join(modes), "--backend", opts.backend, "--summary", os.path.join(folder, f"{j}.json"),
                "--shrink-seconds", str(opts.shrink_seconds)]
        args += ["--seconds", str(opts.seconds)] if opts.seconds is not None else ["--n", str(-(-opts.n // opts.jobs))]
        args += ["--out", opts.out] if opts.out else []
        args += ["--no-shrink"] if opts.no_shrink else []
        args += ["-v"] if opts.verbose else []
        procs.append(subprocess.Popen(args))
    for p in procs:
        p.wait()
    total = {"seeds": [], "programs": 0, "seconds": 0.0, "counts": {m: {"ok": 0, "refused": 0, "unreliable": 0,
                                                                          "fail": 0} for m in modes},
             "kinds": {}, "refusals": {}}
    if opts.backend != "numpy":
        total["library"] = {"backend": opts.backend, "checked": {m: 0 for m in modes}}
    for j in range(opts.jobs):
        with open(os.path.join(folder, f"{j}.json")) as fh:
            part = json.load(fh)
        total["seeds"].append(part["seeds"])
        total["programs"] += part["programs"]
        total["seconds"] = max(total["seconds"], part["seconds"])
        for m in modes:
            for key, n in part["counts"][m].items():
                total["counts"][m][key] += n
            if "library" in total:
                total["library"]["checked"][m] += part["library"]["checked"][m]
        for table in ("kinds", "refusals"):
            for key, n in part[table].items():
                total[table][key] = total[table].get(key, 0) + n
    total["seeds"] = "; ".join(total["seeds"])
    print("\nall jobs:")
    return report(total, modes)


if __name__ == "__main__":
    sys.exit(main())
