"""Debugging and customization features, exercised the way a user would.

- ``tangent.insert_grad_of``: code that runs in the backward pass (gradient
  clipping in an RNN, printing, zeroing an adjoint);
- tracebacks and pdb inside generated code;
- ``grad(f, check_finite=True)`` and NonFiniteGradientError;
- user rules: ``@tangent.adjoint``, ``@tangent.tangent_rule``,
  ``tangent.nondifferentiable``, ``tangent.stop_gradient``;
- the command line (``python -m tangent show`` / ``demo``);
- the IPython display of generated functions.

Every gradient is checked against central finite differences (or, where the
user deliberately changes it, against a hand-written NumPy reference).
"""

from __future__ import annotations

import html
import inspect
import json
import linecache
import math
import os
import re
import subprocess
import sys
import textwrap
import traceback

import numpy as np
import pytest

import tangent
from tangent import rules
from tangent.rules import d
from tests.utils import assert_tree_close, check_grad, line_of, numeric_grad

THIS_FILE = os.path.basename(__file__)
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT = 60



def run_python(args, cwd, stdin=None):
    """Run ``python args...`` in ``cwd`` with a timeout; never hangs the suite."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(cwd), REPO_ROOT, env.get("PYTHONPATH", "")])
    env.pop("PYTHONBREAKPOINT", None)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, input=stdin, capture_output=True,
                          text=True, timeout=TIMEOUT)


@pytest.fixture
def registered():
    """Primitives a test registers rules for; their rules are removed afterwards
    so that other test files see the built-in registry."""
    primitives = []
    yield primitives
    for p in primitives:
        rules.ADJOINTS.pop(p)
        rules.TANGENTS.pop(p)
        rules.NONDIFFERENTIABLE.pop(p)


# =====================================================================
# insert_grad_of
# =====================================================================


def rnn(W, xs, clip):
    h = np.zeros(W.shape[0])
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + xs[t])
        with tangent.insert_grad_of(h) as dh:
            dh = np.clip(dh, -clip, clip)
    return np.sum(h * h)


def rnn_reference_grad(W, xs, clip):
    """Hand-written backprop through time, clipping dh at every step."""
    hs = [np.zeros(W.shape[0])]
    for t in range(xs.shape[0]):
        hs.append(np.tanh(W @ hs[-1] + xs[t]))
    dh = 2.0 * hs[-1]
    dW, dxs = np.zeros_like(W), np.zeros_like(xs)
    for t in reversed(range(xs.shape[0])):
        dh = np.clip(dh, -clip, clip)
        da = dh * (1.0 - hs[t + 1] ** 2)
        dW += np.outer(da, hs[t])
        dxs[t] = da
        dh = W.T @ da
    return dW, dxs


def rnn_data():
    rng = np.random.default_rng(7)
    return rng.normal(size=(3, 3)), rng.normal(size=(5, 3))


def test_rnn_without_active_clipping_matches_finite_differences():
    W, xs = rnn_data()
    # a huge threshold clips nothing, so the gradient is the true one
    check_grad(rnn, W, xs, 1e6, wrt=(0, 1))
    assert_tree_close(tangent.grad(rnn, wrt=(0, 1))(W, xs, 1e6), rnn_reference_grad(W, xs, 1e6))


def test_rnn_gradient_clipping_matches_hand_written_backprop():
    W, xs = rnn_data()
    clip = 0.05
    dW, dxs = tangent.grad(rnn, wrt=(0, 1))(W, xs, clip)
    ref_dW, ref_dxs = rnn_reference_grad(W, xs, clip)
    np.testing.assert_allclose(dW, ref_dW, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dxs, ref_dxs, rtol=1e-12, atol=1e-14)
    # the clipping really changed something
    true_dW = numeric_grad(rnn, [W, xs, clip], 0)
    assert not np.allclose(dW, true_dW, rtol=1e-3)
    # the block sees one adjoint per step, already clipped to the threshold
    assert np.max(np.abs(ref_dxs)) <= clip


def test_rnn_called_normally_is_unchanged_by_the_block():
    W, xs = rnn_data()
    h = np.zeros(3)
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + xs[t])
    assert rnn(W, xs, 0.05) == pytest.approx(np.sum(h * h), rel=1e-14)


def cubed_with_print(x):
    y = x * x * x
    with tangent.insert_grad_of(y) as dy:
        print("adjoint of y:", dy)
    return np.sum(3.0 * y)


def test_print_in_block_shows_the_adjoint(capsys):
    x = np.array([1.0, -2.0])
    g = tangent.grad(cubed_with_print)(x)
    assert capsys.readouterr().out == "adjoint of y: [3. 3.]\n"
    np.testing.assert_allclose(g, numeric_grad(cubed_with_print, [x], 0), rtol=1e-6)
    capsys.readouterr()


def test_calling_normally_runs_the_block_on_a_zero_adjoint(capsys):
    x = np.array([1.0, -2.0])
    assert cubed_with_print(x) == pytest.approx(3.0 * np.sum(x ** 3))
    assert capsys.readouterr().out == "adjoint of y: [0. 0.]\n"


def zero_through_sin(x):
    a = np.sin(x)
    with tangent.insert_grad_of(a) as da:
        da = np.zeros_like(da)
    b = a * x
    return np.sum(b + x * x)


def frozen_sin(x, a):
    """zero_through_sin with ``a`` given: what remains when da is zeroed."""
    return np.sum(a * x + x * x)


def stopped_sin(x):
    a = tangent.stop_gradient(np.sin(x))
    b = a * x
    return np.sum(b + x * x)


def test_zeroing_the_adjoint_leaves_the_gradient_of_the_rest():
    x = np.array([0.3, 1.2, -0.7])
    got = tangent.grad(zero_through_sin)(x)
    np.testing.assert_allclose(got, numeric_grad(frozen_sin, [x, np.sin(x)], 0), rtol=1e-6)
    np.testing.assert_allclose(got, tangent.grad(stopped_sin)(x), rtol=1e-14)
    assert zero_through_sin(x) == pytest.approx(frozen_sin(x, np.sin(x)))


def doubling_loop(x):
    y = x
    for _ in range(3):
        y = y * 2.0
        with tangent.insert_grad_of(y) as dy:
            print("dy", dy)
    return y


def test_block_in_a_loop_runs_once_per_iteration_in_reverse(capsys):
    g = tangent.grad(doubling_loop)(1.5)
    # backward pass: the last iteration first, each seeing the complete adjoint
    assert capsys.readouterr().out.split("\n") == ["dy 1.0", "dy 2.0", "dy 4.0", ""]
    assert g == pytest.approx(numeric_grad(doubling_loop, [1.5], 0), rel=1e-6)
    capsys.readouterr()
    assert doubling_loop(1.5) == 12.0
    assert capsys.readouterr().out == "dy 0.0\n" * 3


def halve_argument_adjoint(x):
    with tangent.insert_grad_of(x) as dx:
        dx = dx * 0.5
    y = np.tanh(x) * x
    return np.sum(y)


def test_block_on_an_argument_rescales_its_complete_gradient():
    x = np.array([0.4, -1.1])
    got = tangent.grad(halve_argument_adjoint)(x)
    np.testing.assert_allclose(got, 0.5 * numeric_grad(halve_argument_adjoint, [x], 0), rtol=1e-6)


def test_block_appears_in_the_generated_source():
    src = tangent.source(tangent.grad(rnn))
    assert "np.clip(dh, -clip, clip)" in src
    assert f"# {THIS_FILE}:{line_of(rnn, 'insert_grad_of')}: with tangent.insert_grad_of(h) as dh:" in src
    # the block belongs to the backward pass only: it comes after the return value
    assert src.index("np.clip") > src.index("np.sum(")


# =====================================================================
# Tracebacks
# =====================================================================


def twice(x):
    return x * 2.0


def uses_twice(x):
    y = twice(x)
    return np.sum(y * y)


def generated_frames(error):
    """Traceback entries of ``error`` that are in code Tangent generated."""
    return [f for f in traceback.extract_tb(error.__traceback__) if f.filename.startswith("<tangent")]


def user_line_above(filename, lineno):
    """The ``# line N: ...`` comment heading the generated block that holds ``lineno``."""
    for text in reversed(linecache.getlines(filename)[:lineno]):
        if re.match(r"# \S+:\d+: ", text.strip()):
            return text.strip()
    return None


def test_error_in_a_user_rule_shows_the_generated_line(registered):
    registered.append(twice)

    @tangent.adjoint(twice)
    def dtwice(result, x):
        d[x] = d[result] @ np.ones((4, 4))  # a wrong shape, only seen in the backward pass

    df = tangent.grad(uses_twice)
    x = np.ones(3)
    assert uses_twice(x) == 12.0  # the function itself is fine
    try:
        df(x)
    except ValueError as e:
        text = traceback.format_exc()
        frames = generated_frames(e)
    else:
        raise AssertionError("no error")
    assert frames, text
    last = frames[-1]
    assert f'File "{last.filename}", line {last.lineno}' in text  # the generated file name
    assert "@ np.ones((4, 4))" in last.line and last.line in text  # the generated source line
    assert linecache.getline(last.filename, last.lineno).strip() == last.line
    # the generated block names the user's line it came from
    assert user_line_above(last.filename, last.lineno) == f"# {THIS_FILE}:{line_of(uses_twice, 'y = twice')}: y = twice(x)"
    assert "@ np.ones((4, 4))" in tangent.source(df)


def layer(W, x):
    h = np.tanh(W @ x)
    return h * 2.0


def test_wrong_seed_shape_is_refused_in_generated_code_with_its_line():
    vjp = tangent.vjp(layer)
    W, x = np.ones((3, 2)), np.ones(2)
    assert vjp(W, x, np.ones(3)).shape == (3, 2)
    for _ in range(2):  # generic, then specialised code
        with pytest.raises(tangent.TangentError, match=r"the seed has shape \(5,\) but the function's result has shape \(3,\)") as info:
            vjp(W, x, np.ones(5))  # the output has 3 entries
        text = "".join(traceback.format_exception(info.value))
        frames = generated_frames(info.value)
        assert frames, text
        assert frames[-1].filename in text
        assert frames[-1].line and "check_seed" in frames[-1].line  # linecache supplies the generated text


UNCAUGHT_SCRIPT = """
import numpy as np
import tangent


def f(x, y):
    return np.sum(x * y)


tangent.vjp(f)(np.ones(3), np.ones(3), np.ones(4))  # a seed of the wrong shape
"""


def test_uncaught_error_in_a_script_shows_the_generated_line(tmp_path):
    script = tmp_path / "uncaught.py"
    script.write_text(UNCAUGHT_SCRIPT)
    proc = run_python([str(script)], tmp_path)
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    frames = [k for k, line in enumerate(lines) if line.strip().startswith('File "<tangent')]
    assert frames, proc.stderr
    shown = lines[frames[-1] + 1].strip()
    assert not shown.startswith("File ") and shown, proc.stderr


def test_inspect_getsource_reads_the_generated_function():
    df = tangent.grad(uses_twice)
    assert inspect.getsource(df).strip() in tangent.source(df)


def several_lines(x, a):
    y = a * x + 2.0
    z = np.tanh(y) * a ** 2
    w = z * y
    return np.sum(w) + a * 3.0


def test_every_adjoint_block_names_its_user_line():
    src = tangent.source(tangent.grad(several_lines, wrt=(0, 1)))
    file_lines = linecache.getlines(__file__)
    comments = re.findall(r"# \S+:(\d+): (.*)", src)
    assert comments
    for number, text in comments:
        assert file_lines[int(number) - 1].strip() == text
    wanted = {line_of(several_lines, marker) for marker in ("y = a", "z = np.tanh", "w = z", "return np.sum")}
    assert {int(n) for n, _ in comments} == wanted
    # each comment heads a block of adjoint statements, never stands alone
    lines = src.splitlines()
    for k, line in enumerate(lines):
        if re.match(r"# \S+:\d+: ", line.strip()):
            assert not re.match(r"(# \S+:\d+: |return)", lines[k + 1].strip())
    check_grad(several_lines, np.array([0.2, -0.4]), 0.7, wrt=(0, 1))


# =====================================================================
# pdb
# =====================================================================

PDB_SCRIPT = """
import json
import linecache
import pdb
import sys

import numpy as np
import tangent


def inner(x):
    return np.sin(x) * x


def f(x):
    y = inner(x)
    z = y * 2.0
    return z


df = tangent.grad(f)
print("SOURCE-BEGIN")
print(tangent.source(df))
print("SOURCE-END")
if sys.argv[1] == "plain":
    result = pdb.runcall(df, 0.5)
else:
    df(0.5)  # the first call generates the code specialised to a float
    result = pdb.Pdb(skip=["tangent.*"]).runcall(df, 0.5)  # skip Tangent's own frames
print("RESULT=%r" % float(result))
generated = {name: entry[2] for name, entry in linecache.cache.items() if name.startswith("<tangent")}
print("LINECACHE=" + json.dumps(generated))
"""


def run_pdb(tmp_path, commands, how="skip"):
    """Run PDB_SCRIPT under pdb with ``commands`` on stdin; return the tangent
    source, the debugger session's text and the generated files' lines."""
    script = tmp_path / "debug_me.py"
    script.write_text(PDB_SCRIPT)
    proc = run_python([str(script), how], tmp_path, stdin="".join(c + "\n" for c in commands))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    source = out.split("SOURCE-BEGIN\n")[1].split("SOURCE-END")[0]
    session = out.split("SOURCE-END\n")[1].split("LINECACHE=")[0]
    files = json.loads(out.split("LINECACHE=")[1])
    return source, session, files


def generated_stops(session):
    """(file, line number, function, text) of every place pdb shows in generated code."""
    pattern = r"(<tangent [^>]*>)\((\d+)\)(\w+)\(\)(?:->[^\n]*)?\n-> (.*)"
    return [(name, int(n), func, text.strip()) for name, n, func, text in re.findall(pattern, session)]


def check_stops_match_generated_files(session, files):
    stops = generated_stops(session)
    for name, lineno, _, text in stops:  # what pdb shows is the registered generated source
        assert files[name][lineno - 1].strip() == text
    return stops


def test_pdb_steps_through_the_generated_derivative(tmp_path):
    source, session, files = run_pdb(tmp_path, ["next", "next", "next", "p y", "list", "where", "continue"])
    stops = check_stops_match_generated_files(session, files)
    assert len(stops) >= 4
    assert stops[0][2] == "df"  # the first stop is the derivative itself
    texts = [text for _, _, _, text in stops]
    assert any("inner" in t for t in texts)  # `next` walked over the call of inner's forward sweep
    assert repr(float(np.sin(0.5) * 0.5))[:10] in session  # `p y`
    assert re.search(r"# \S+:\d+: (z = y \* 2\.0|return z)", session)  # `list` shows the comments
    expected = 2.0 * (np.sin(0.5) + 0.5 * np.cos(0.5))
    assert float(re.search(r"RESULT=(.*)", session).group(1)) == pytest.approx(expected, rel=1e-12)


def test_pdb_breaks_inside_the_backward_sweep_of_a_called_function(tmp_path):
    source, _, _ = run_pdb(tmp_path, ["continue"])
    names = re.findall(r"^def (\w+)\(", source, flags=re.M)
    backward = [n for n in names if n != "df" and "Backward" in source.split(f"def {n}(")[1].split('"""')[1]]
    assert len(backward) == 1, names
    commands = [f"break {backward[0]}", "continue", "args", "next", "list", "where", "continue"]
    _, session, files = run_pdb(tmp_path, commands)
    assert re.search(r"Breakpoint 1 at <tangent [^>]*>:\d+", session)
    stops = check_stops_match_generated_files(session, files)
    assert any(func == backward[0] for _, _, func, _ in stops)
    assert re.search(r"dresult = 2\.0|= 2\.0\n", session)  # `args`: the seed of inner's backward sweep
    assert re.search(r"# \S+:\d+: ", session) and "return np.sin(x) * x" in session  # `list` names inner's line
    assert "RESULT=" in session


def test_pdb_runcall_on_a_fresh_derivative_reaches_generated_code(tmp_path):
    _, session, files = run_pdb(tmp_path, ["step"] * 15 + ["continue"], how="plain")
    stops = check_stops_match_generated_files(session, files)
    assert stops
    assert "transform.py" not in session and "inspect.py" not in session


# =====================================================================
# check_finite
# =====================================================================


def sqrt_at_zero(x):
    y = np.sqrt(x)  # NONFINITE
    return np.sum(y * 2.0)


def log_at_zero(x):
    p = x * 0.5 + 0.25
    logp = np.log(x)  # NONFINITE
    return np.sum(logp + p)


def divide_by_zero(x, y):
    q = x / y  # NONFINITE
    return np.sum(q * 3.0)


def norm_of(v):
    return np.sqrt(np.sum(v * v))  # NONFINITE


def calls_norm(x):
    n = norm_of(x)
    return n * 2.0


def nonfinite_message(func, *args, wrt=0):
    df = tangent.grad(func, wrt=wrt, check_finite=True)
    with np.errstate(all="ignore"), pytest.raises(tangent.NonFiniteGradientError) as info:
        df(*args)
    return str(info.value)


@pytest.mark.parametrize("func, args, wrt, text", [
    (sqrt_at_zero, (np.array([1.0, 0.0]),), 0, "y = np.sqrt(x)"),
    (log_at_zero, (np.array([1.0, 0.0]),), 0, "logp = np.log(x)"),
    (divide_by_zero, (np.array([1.0, 2.0]), np.array([0.5, 0.0])), (0, 1), "q = x / y"),
    (calls_norm, (np.zeros(3),), 0, "return np.sqrt(np.sum(v * v))"),
], ids=["sqrt", "log", "division", "in-called-function"])
def test_check_finite_names_the_statement(func, args, wrt, text):
    message = nonfinite_message(func, *args, wrt=wrt)
    where = func if func is not calls_norm else norm_of
    assert f"{THIS_FILE}:{line_of(where, '# NONFINITE')}" in message
    assert text in message
    assert "inf" in message


def masked_sqrt(x, mask):
    y = np.sqrt(x)  # NONFINITE
    return np.sum(y * mask)


def test_check_finite_reports_nan_too():
    # the value is finite (0 * 0) but the backward step computes 0 * 0.5 / 0
    x, mask = np.array([4.0, 0.0]), np.array([1.0, 0.0])
    assert masked_sqrt(x, mask) == 2.0
    message = nonfinite_message(masked_sqrt, x, mask)
    assert f"{THIS_FILE}:{line_of(masked_sqrt, '# NONFINITE')}: y = np.sqrt(x)" in message
    assert "nan" in message.lower()


def test_check_finite_is_off_by_default():
    df = tangent.grad(sqrt_at_zero)
    assert "ensure_finite" not in tangent.source(df)
    with np.errstate(divide="ignore"):
        g = df(np.array([1.0, 0.0]))
    assert g[0] == 1.0 and np.isinf(g[1])
    assert "ensure_finite" in tangent.source(tangent.grad(sqrt_at_zero, check_finite=True))


def test_check_finite_does_not_change_finite_gradients():
    x = np.array([0.5, 2.0])
    checked = tangent.grad(log_at_zero, check_finite=True)(x)
    np.testing.assert_allclose(checked, tangent.grad(log_at_zero)(x), rtol=0)
    np.testing.assert_allclose(checked, numeric_grad(log_at_zero, [x], 0), rtol=1e-6)
    dW, dxs = tangent.grad(rnn, wrt=(0, 1), check_finite=True)(*rnn_data(), 0.05)
    assert_tree_close((dW, dxs), rnn_reference_grad(*rnn_data(), 0.05))


def math_sqrt_at_zero(x):
    y = math.sqrt(x)  # NONFINITE
    return y * 2.0


def np_log_of_float(x):
    y = np.log(x)  # NONFINITE
    return y * 2.0


@pytest.mark.parametrize("func", [math_sqrt_at_zero, np_log_of_float])
def test_check_finite_with_python_floats(func):
    message = nonfinite_message(func, 0.0)
    assert f"{THIS_FILE}:{line_of(func, '# NONFINITE')}" in message


# =====================================================================
# User rules
# =====================================================================


def cube(x):
    return x * x * x


def uses_cube(x):
    return np.sum(cube(x) + x)


def test_adjoint_rule_overrides_the_function_source(registered):
    registered.append(cube)
    x = np.array([0.5, -1.5])
    true_grad = numeric_grad(uses_cube, [x], 0)

    @tangent.adjoint(cube)
    def dcube(result, x):
        d[x] = d[result] * 2.0 * (3.0 * x * x)  # deliberately twice the derivative

    @tangent.tangent_rule(cube)
    def tcube(result, x):
        d[result] = 2.0 * (3.0 * x * x) * d[x]

    df = tangent.grad(uses_cube)
    np.testing.assert_allclose(df(x), true_grad + 3.0 * x * x, rtol=1e-6)
    src = tangent.source(df)
    assert "2.0 * (3.0 * x * x)" in src and "cube_fwd" not in src
    v = np.array([1.0, 2.0])
    expected = np.sum((2.0 * 3.0 * x * x + 1.0) * v)
    assert tangent.jvp(uses_cube)(x, v) == pytest.approx(expected)


def softplus(x, beta=1.0, *, shift=0.0):
    return np.log1p(np.exp(beta * x)) / beta + shift


def uses_softplus(x):
    a = softplus(x)
    b = softplus(x, 2.0)
    c = softplus(x, beta=0.5, shift=1.0)
    return np.sum(a * b + c)


def test_rules_with_keyword_arguments_and_defaults(registered):
    registered.append(softplus)

    @tangent.adjoint(softplus)
    def dsoftplus(result, x, beta=1.0, *, shift=0.0):
        d[x] = d[result] / (1.0 + np.exp(-beta * x))

    @tangent.tangent_rule(softplus)
    def tsoftplus(result, x, beta=1.0, *, shift=0.0):
        d[result] = d[x] / (1.0 + np.exp(-beta * x))

    x = np.array([0.3, -1.0, 2.0])
    check_grad(uses_softplus, x)
    src = tangent.source(tangent.grad(uses_softplus))
    assert "softplus_fwd" not in src  # the rule, not the source, was differentiated
    v = np.array([1.0, -0.5, 2.0])
    expected = float(np.sum(numeric_grad(uses_softplus, [x], 0) * v))
    assert tangent.jvp(uses_softplus)(x, v) == pytest.approx(expected, rel=1e-6)


def degrees_to_sin(deg):
    return math.sin(math.radians(deg)) * deg


def test_rule_for_a_builtin_without_source(registered):
    registered.append(math.radians)
    with pytest.raises(tangent.NoDerivativeError):
        tangent.grad(degrees_to_sin)

    @tangent.adjoint(math.radians)
    def dradians(result, x):
        d[x] = d[result] * (math.pi / 180.0)

    @tangent.tangent_rule(math.radians)
    def tradians(result, x):
        d[result] = d[x] * (math.pi / 180.0)

    check_grad(degrees_to_sin, 30.0)
    expected = numeric_grad(degrees_to_sin, [30.0], 0)
    assert tangent.jvp(degrees_to_sin)(30.0, 1.0) == pytest.approx(expected, rel=1e-6)


def sin_of_degrees(deg):
    return np.sum(np.sin(np.deg2rad(deg)) ** 2)


def test_rule_for_a_numpy_ufunc_without_a_builtin_rule(registered):
    registered.append(np.deg2rad)
    with pytest.raises(tangent.NoDerivativeError):
        tangent.grad(sin_of_degrees)

    @tangent.adjoint(np.deg2rad)
    def ddeg2rad(result, x):
        d[x] = d[result] * (np.pi / 180.0)

    check_grad(sin_of_degrees, np.array([30.0, 45.0, -120.0]))


def scale_of(x):
    return np.max(np.abs(x)) + 1.0


def normalized_energy(x):
    s = scale_of(x)
    return np.sum(x * x / s)


def normalized_with_scale(x, s):
    return np.sum(x * x / s)


def test_nondifferentiable_output_carries_no_gradient(registered):
    registered.append(scale_of)
    x = np.array([0.5, -2.0, 1.0])
    with_scale = numeric_grad(normalized_with_scale, [x, scale_of(x)], 0)
    assert not np.allclose(tangent.grad(normalized_energy)(x), with_scale)  # true gradient differs
    tangent.nondifferentiable(scale_of)

    def fresh(x):  # a new function, so that no cached derivative is reused
        s = scale_of(x)
        return np.sum(x * x / s)

    np.testing.assert_allclose(tangent.grad(fresh)(x), with_scale, rtol=1e-6)
    v = np.array([1.0, 0.5, -1.0])
    assert tangent.jvp(fresh)(x, v) == pytest.approx(float(np.sum(with_scale * v)), rel=1e-6)


def baseline_loss(x):
    baseline = tangent.stop_gradient(np.mean(x))
    return np.sum((x - baseline) ** 2)


def test_stop_gradient():
    x = np.array([0.5, -2.0, 1.0, 4.0])
    m = np.mean(x)
    expected = numeric_grad(lambda x: np.sum((x - m) ** 2), [x], 0)
    np.testing.assert_allclose(tangent.grad(baseline_loss)(x), expected, rtol=1e-6)
    v = np.array([1.0, 0.0, 2.0, -1.0])
    assert tangent.jvp(baseline_loss)(x, v) == pytest.approx(float(np.sum(expected * v)), rel=1e-6)
    assert baseline_loss(x) == pytest.approx(np.sum((x - m) ** 2))


def plain_square(x):
    return x * x


def uses_plain_square(x):
    return plain_square(x) + x


def test_rule_registered_after_a_first_grad_is_used(registered):
    registered.append(plain_square)
    assert tangent.grad(uses_plain_square)(3.0) == 7.0

    @tangent.adjoint(plain_square)
    def dplain_square(result, x):
        d[x] = d[result] * 4.0 * x

    assert tangent.grad(uses_plain_square)(3.0) == 13.0


# =====================================================================
# Command line
# =====================================================================

CLI_MODULE = '''
import numpy as np


def loss(W, x):
    h = np.tanh(W @ x)
    return np.sum(h * h)


def copies(x):
    a = x
    b = a * 2.0
    return np.sum(b * b)


def unsupported(x):
    try:
        y = x * 2.0
    except ValueError:
        y = x
    return y
'''


@pytest.fixture(scope="module")
def cli_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli")
    (path / "climod.py").write_text(CLI_MODULE)
    return path


def show(cli_dir, *args):
    return run_python(["-m", "tangent", "show", *args], cli_dir)


def test_cli_show_prints_plain_source(cli_dir):
    proc = show(cli_dir, "climod:loss")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "\x1b" not in out  # piped: no terminal colours
    assert out.startswith("def dloss(W, x, ")
    assert "dW = " in out and "return dW" in out
    assert "dx" not in out
    compile(out, "<show>", "exec")


def test_cli_show_wrt(cli_dir):
    proc = show(cli_dir, "climod:loss", "--wrt", "0,1")
    assert proc.returncode == 0, proc.stderr
    assert "dW = " in proc.stdout and "dx = " in proc.stdout
    assert "return (dW, dx)" in proc.stdout


def test_cli_show_forward_mode(cli_dir):
    proc = show(cli_dir, "climod:loss", "--mode", "forward")
    assert proc.returncode == 0, proc.stderr
    assert "def dloss(W, x, dW)" in proc.stdout
    assert "forward mode" in proc.stdout


def test_cli_show_no_optimize(cli_dir):
    optimized = show(cli_dir, "climod:copies")
    raw = show(cli_dir, "climod:copies", "--no-optimize")
    assert optimized.returncode == raw.returncode == 0
    assert "def dcopies(" in raw.stdout and "\x1b" not in raw.stdout
    assert re.search(r"^\s*a = x$", raw.stdout, flags=re.M)  # the copy is still there
    assert not re.search(r"^\s*a = x$", optimized.stdout, flags=re.M)


def test_cli_show_a_file_path(cli_dir):
    proc = run_python(["-m", "tangent", "show", str(cli_dir / "climod.py") + ":loss"], cli_dir.parent)
    assert proc.returncode == 0, proc.stderr
    assert "def dloss(" in proc.stdout


def test_cli_reports_an_unsupported_function(cli_dir):
    proc = show(cli_dir, "climod:unsupported")
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "climod.py:" in proc.stderr and "try" in proc.stderr


@pytest.mark.parametrize("args, mentions", [
    (["climod"], "module:function"),
    (["climod:loss", "--wrt", "5"], "wrt"),
    (["no_such_module_xyz:f"], "no_such_module_xyz"),
    (["climod:no_such_function"], "no_such_function"),
    (["missing_file.py:f"], "missing_file.py"),
    (["climod:loss", "--wrt", "W"], "wrt"),
], ids=["no-colon", "wrt-out-of-range", "no-module", "no-function", "no-file", "wrt-not-int"])
def test_cli_bad_function_spec(cli_dir, args, mentions):
    proc = show(cli_dir, *args)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr
    assert mentions in proc.stderr


def test_cli_demo(tmp_path):
    proc = run_python(["-m", "tangent", "demo"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "OK" in proc.stdout
    assert "def dmlp_loss(" in proc.stdout


# =====================================================================
# IPython display
# =====================================================================


def piecewise(x):
    if x > 0:
        y = x * 2.0
    else:
        y = -x
    return y


def html_text(markup):
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def test_display_formatter_for_derivatives():
    pytest.importorskip("IPython")
    from tangent import display

    df = tangent.grad(piecewise)
    markup = display._as_html(df)
    assert markup is not None and "<" in markup
    assert tangent.source(df).strip() in html_text(markup)
    assert display._as_html(piecewise) is None
    assert display._as_html(np.sum) is None


def test_display_without_pygments_escapes_the_source(monkeypatch):
    from tangent import display

    monkeypatch.setitem(sys.modules, "pygments", None)  # import fails
    df = tangent.grad(piecewise)
    markup = display._as_html(df)
    assert markup.startswith("<pre>") and "&gt;" in markup
    assert html.unescape(markup[len("<pre>"):-len("</pre>")]) == tangent.source(df)


IPYTHON_SCRIPT = '''
import json
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
result = shell.run_cell(CELL)
result.raise_error()
out = {"source": shell.user_ns["tangent"].source(shell.user_ns["df"])}
for name in ("df", "f"):
    data, _ = shell.display_formatter.format(shell.user_ns[name])
    out[name] = data
print("JSON=" + json.dumps(out))
'''

IPYTHON_CELL = textwrap.dedent('''
    import numpy as np
    import tangent

    def f(x):
        return np.sin(x) * x

    df = tangent.grad(f)
''')


def test_display_in_a_real_ipython_shell(tmp_path):
    pytest.importorskip("IPython")
    script = f"CELL = {IPYTHON_CELL!r}\n" + IPYTHON_SCRIPT
    proc = run_python(["-c", script], tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.split("JSON=", 1)[1])
    # importing tangent inside the shell registered the formatter
    assert "text/html" in out["df"]
    assert out["source"].strip() in html_text(out["df"]["text/html"])
    assert "dx = " in out["source"]  # a function defined in a cell could be read
    assert "text/html" not in out["f"]  # normal functions display as usual
