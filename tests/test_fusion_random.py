"""Random straight-line NumPy programs (elementwise operations, temporaries
read once and several times, shared products, negations, scalar and array
operands, float64 and float32), where the broadcast, sharing and inlining
passes of specialised code all fire: each gradient is checked against
central finite differences in float64 and against the generic derivative
(which those passes do not touch)."""

import importlib.util
import random
import textwrap

import numpy as np
import pytest

import tangent
from tests.utils import numeric_grad

UNARY = [
    "np.sin({})",
    "np.cos({})",
    "np.exp(-{} * {})",
    "np.tanh({})",
    "-{}",
    "np.sqrt(1.0 + {} * {})",
    "{} * 2.0",
    "0.5 * {}",
    "{} / 3.0",
]
BINARY = ["{} * {}", "{} + {}", "{} - {}", "{} / (1.5 + {} * {})"]


def program(rng: random.Random, k: int) -> str:
    lines, names = [], ["x", "y"]
    for i in range(rng.randint(2, 7)):
        if rng.random() < 0.5:
            a = rng.choice(names)
            form = rng.choice(UNARY)
            expr = form.format(*[a] * form.count("{}"))
        else:
            a, b = rng.choice(names), rng.choice(names)
            form = rng.choice(BINARY)
            expr = form.format(*[a, b, b][: form.count("{}")])
        name = f"_t{i}" if rng.random() < 0.5 else f"v{i}"
        lines.append(f"{name} = {expr}")
        names.append(name)
    total = " + ".join(rng.sample(names, min(3, len(names))))
    reduction = rng.choice(["np.sum({})", "np.mean({})", "np.sum({} * {})"])
    lines.append("return " + reduction.format(*[f"({total})"] * reduction.count("{}")))
    return f"def f{k}(x, y):\n" + textwrap.indent("\n".join(lines), "    ") + "\n"


@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    rng = random.Random(20261202)
    path = tmp_path_factory.mktemp("fusion") / "fusion_programs.py"
    path.write_text("import numpy as np\n\n\n" + "\n\n".join(program(rng, k) for k in range(16)))
    spec = importlib.util.spec_from_file_location("fusion_programs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [getattr(module, f"f{k}") for k in range(16)]


@pytest.mark.parametrize("dtype, y_is_array", [(np.float64, True), (np.float64, False), (np.float32, True)])
def test_random_elementwise_programs(programs, dtype, y_is_array):
    x = np.linspace(0.1, 0.9, 4).astype(dtype)
    y = np.linspace(-0.5, 0.5, 4).astype(dtype) if y_is_array else 0.3
    x64, y64 = x.astype(np.float64), (y.astype(np.float64) if y_is_array else y)
    close = 1e-4 if dtype == np.float32 else 1e-6
    for f in programs:
        df = tangent.grad(f, wrt=(0, 1))
        got = df(x, y)
        x_before = x.copy()
        generic = df.tangent_generic(x, y)
        for i, g in enumerate(got):
            np.testing.assert_allclose(g, numeric_grad(f, [x64, y64], i), rtol=close, atol=close, err_msg=f.__name__)
            np.testing.assert_allclose(
                np.asarray(g, np.float64),
                np.asarray(generic[i], np.float64),
                rtol=1e-6 if dtype == np.float32 else 1e-12,
                atol=1e-12,
                err_msg=f.__name__,
            )
        assert np.array_equal(x, x_before)
