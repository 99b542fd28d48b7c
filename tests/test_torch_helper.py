"""``vscale.torch.init_module``: layouts and groups per module type, and the bias rules."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

import vscale

torch = pytest.importorskip("torch")
import vscale.torch as vtorch  # noqa: E402


def _net():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(16, 32, 3, groups=4),  # weight (32, 4, 3, 3): fan_in 36, fan_out 72
        torch.nn.Conv2d(32, 32, 5, groups=32),  # depthwise (32, 1, 5, 5): fans 25, 25
        torch.nn.ConvTranspose1d(12, 24, 4, groups=3),  # weight (12, 8, 4): fan_in 16, fan_out 32
        torch.nn.BatchNorm2d(32),
        torch.nn.Linear(300, 200),  # weight (200, 300): fan_in 300, fan_out 200
        torch.nn.Embedding(500, 64, padding_idx=3),  # weight (500, 64): fan_in 500, fan_out 64
    )


# (module index, fan_in, fan_out) derived by hand from the connections of each layer.
FANS = [(0, 36, 72), (1, 25, 25), (2, 16, 32), (4, 300, 200), (5, 500, 64)]


def test_weights_get_the_fans_of_their_module_type():
    net = _net()
    names = vtorch.init_module(net, vscale.GlorotUniform(seed=0))
    assert names == ["0.weight", "1.weight", "2.weight", "4.weight", "5.weight"]
    for index, fan_in, fan_out in FANS:
        weight = net[index].weight.detach()
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        peak = float(weight.abs().max())
        assert peak <= bound, index
        # n uniform draws: P(max |w| < (1 - d) b) = (1 - d)**n; d = 20/n makes it < 2e-9.
        assert peak > (1 - 20 / weight.numel()) * bound, index
        assert net[index].weight.requires_grad and net[index].weight.grad_fn is None


def test_embedding_padding_row_is_zeroed_again():
    net = _net()
    vtorch.init_module(net, "he_normal")
    embedding = net[5].weight.detach()
    assert torch.all(embedding[3] == 0) and torch.all(embedding[4] != 0)


def test_other_modules_are_left_alone():
    net = _net()
    with torch.no_grad():
        net[3].weight.fill_(2.0)
    vtorch.init_module(net, "he_uniform")
    assert torch.all(net[3].weight == 2.0) and torch.all(net[3].bias == 0)


@pytest.mark.parametrize("rule", ["zeros", "keep", "torch"])
def test_bias_rules(rule):
    net = _net()
    before = net[4].bias.detach().clone()
    vtorch.init_module(net, vscale.HeUniform(seed=1), bias=rule)
    bias = net[4].bias.detach()
    if rule == "zeros":
        assert torch.all(bias == 0) and torch.all(net[0].bias == 0)
    elif rule == "keep":
        assert torch.equal(bias, before)
    else:
        assert not torch.equal(bias, before)
        assert float(bias.abs().max()) <= 1 / math.sqrt(300)
        assert float(net[0].bias.detach().abs().max()) <= 1 / math.sqrt(36)


def test_seeded_initializer_gives_reproducible_distinct_weights():
    first, second = _net(), _net()
    vtorch.init_module(first, vscale.HeNormal(seed=5))
    vtorch.init_module(second, vscale.HeNormal(seed=5))
    assert torch.equal(first[4].weight, second[4].weight)
    assert not torch.equal(first[0].weight[:1, :1], first[1].weight[:1, :1])


def test_the_initializers_own_layout_is_ignored():
    a, b = _net(), _net()
    vtorch.init_module(a, vscale.HeUniform(seed=2))
    vtorch.init_module(b, vscale.HeUniform(seed=2, layout="torch_transposed"))
    assert torch.equal(a[0].weight, b[0].weight)


def test_errors():
    with pytest.raises(ValueError, match=r"Invalid `bias` argument.*bias='none'"):
        vtorch.init_module(_net(), "he_normal", bias="none")
    with pytest.raises(TypeError, match=r"`module` must be a torch.nn.Module; received list"):
        vtorch.init_module([], "he_normal")
    with pytest.raises(ValueError, match=r"Unknown initializer"):
        vtorch.init_module(_net(), "kaiming")


def test_importing_vscale_and_its_torch_module_imports_no_framework():
    code = "import sys, vscale, vscale.torch; print('torch' in sys.modules, 'cupy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


def test_init_module_is_atomic():
    """A lazy or meta-device layer anywhere in the model: refused before the first write."""
    torch = pytest.importorskip("torch")
    lazy = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LazyLinear(3))
    meta = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 3, device="meta"))
    for model, message in ((lazy, r"'1.weight'.*uninitialized"), (meta, r"'1.weight'.*'meta' device")):
        before = model[0].weight.detach().clone(), model[0].bias.detach().clone()
        with pytest.raises(ValueError, match=message):
            vscale.torch.init_module(model, vscale.HeNormal(seed=0))
        assert torch.equal(model[0].weight, before[0]) and torch.equal(model[0].bias, before[1])


def test_torch_bias_rule_is_seeded_and_follows_pytorch():
    torch = pytest.importorskip("torch")

    def build():
        return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Linear(8, 5))

    first, second = build(), build()
    vscale.torch.init_module(first, vscale.HeNormal(seed=3), bias="torch")
    torch.manual_seed(123)  # the global generator plays no part with a seeded initializer
    vscale.torch.init_module(second, vscale.HeNormal(seed=3), bias="torch")
    for a, b in zip(first.parameters(), second.parameters(), strict=True):
        assert torch.equal(a, b)
    bound = 1 / math.sqrt(3 * 3 * 3)  # PyTorch's fan_in of the conv weight
    assert first[0].bias.abs().max() <= bound and first[0].bias.abs().max() > 0.3 * bound
    assert not torch.equal(first[0].bias, torch.zeros(8))


@pytest.mark.parametrize(
    "name, scale, mode, uniform",
    [
        ("he_normal_", 2.0, "fan_in", False),
        ("he_uniform_", 2.0, "fan_in", True),
        ("glorot_normal_", 1.0, "fan_avg", False),
        ("glorot_uniform_", 1.0, "fan_avg", True),
        ("lecun_normal_", 1.0, "fan_in", False),
        ("lecun_uniform_", 1.0, "fan_in", True),
    ],
)
def test_torch_style_functions_read_torch_fans(name, scale, mode, uniform):
    torch = pytest.importorskip("torch")
    weight = torch.nn.Conv2d(16, 32, 3).weight  # (out, in, kh, kw): fan_in 144, fan_out 288
    fan = {"fan_in": 144, "fan_avg": 216}[mode]
    fill = getattr(vscale.torch, name)
    assert fill(weight, generator=torch.Generator().manual_seed(0)) is weight
    expected = vscale.VarianceScaling(scale, mode, "uniform" if uniform else "truncated_normal", layout="torch")
    again = fill(torch.empty(32, 16, 3, 3), generator=torch.Generator().manual_seed(0))
    assert torch.equal(weight.detach(), again)  # the generator decides the values
    std = float(weight.detach().double().std())
    assert abs(std / math.sqrt(scale / fan) - 1) < 0.1  # 4608 values: se of the ratio ~ 1.5%
    assert expected.parameters(tuple(weight.shape)).n == fan
    torch.manual_seed(5)
    a = fill(torch.empty(8, 4))
    torch.manual_seed(5)
    assert torch.equal(a, fill(torch.empty(8, 4)))  # torch.manual_seed governs them


def test_fill_reads_a_torch_weight_in_torchs_layout_unless_told_otherwise():
    torch = pytest.importorskip("torch")
    weight = torch.nn.Linear(512, 256).weight  # (out, in)
    vscale.HeNormal(seed=0).fill_(weight)
    assert abs(float(weight.detach().std()) / math.sqrt(2 / 512) - 1) < 0.02
    keras = torch.empty(256, 512)
    vscale.HeNormal(seed=0, layout="keras").fill_(keras)  # asked for: Keras' (in, out) reading
    assert abs(float(keras.std()) / math.sqrt(2 / 256) - 1) < 0.02
    assert vscale.HeNormal(layout="keras").get_config() == {"seed": None, "layout": "keras"}
