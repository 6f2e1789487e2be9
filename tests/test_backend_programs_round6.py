"""User-style torch programs (round 6): grad, jvp and hvp checked
against the library's own AD; inputs unchanged, results of the argument's
library and dtype. Skipped when a library is absent."""

import pytest

import tangent

torch = pytest.importorskip("torch")

D = torch.float64


def t(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=D)


def write_into_clone(x, W):
    y = x.clone()
    y[0] = y[0] * 2.0
    return (y @ W).exp().mean()


def loop_over_parameter_list(x, W):
    params = [W, W * 2.0]
    h = x
    for P in params:
        h = torch.tanh(h @ P[:4, :4])
    return h.sum()


def dict_of_parameters(x, W):
    d = {"a": W, "b": x}
    return (d["b"] @ d["a"]).softmax(dim=-1).log().sum()


@pytest.mark.parametrize(
    "f", [write_into_clone, loop_over_parameter_list, dict_of_parameters], ids=lambda f: f.__name__
)
def test_torch_program_all_modes(f):
    x, W, v = t(3, 4, seed=1), t(4, 4, seed=2), t(3, 4, seed=3)
    before = x.clone()
    g = tangent.grad(f)(x, W)
    assert type(g) is torch.Tensor and g.dtype == D
    torch.testing.assert_close(g, torch.func.grad(f)(x, W))
    j = tangent.jvp(f)(x, W, v)
    torch.testing.assert_close(j, torch.func.jvp(lambda a: f(a, W), (x,), (v,))[1])
    h = tangent.hvp(f)(x, W, v)
    expected = torch.func.jvp(lambda a: torch.func.grad(f)(a, W), (x,), (v,))[1]
    torch.testing.assert_close(h, expected)
    assert torch.equal(x, before)
