"""``vscale.torch.init_module``: layouts and groups per module type, and the bias rules."""

from __future__ import annotations

import functools
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


# -- rules: per module type and per parameter name ---------------------------------------------


class _Head(torch.nn.Module):
    """A module of a type vscale does not know: a class token, a weight stored (in, out) as HF's
    Conv1D stores it, and a bias."""

    def __init__(self):
        super().__init__()
        self.cls_token = torch.nn.Parameter(torch.zeros(1, 1, 8))
        self.weight = torch.nn.Parameter(torch.zeros(600, 40))  # (in, out): fan_in 600, fan_out 40
        self.bias = torch.nn.Parameter(torch.ones(40))


class _Linear(torch.nn.Linear):
    """A subclass, to show that the first matching type in the given order wins."""


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Embedding(50, 8, padding_idx=1),
        torch.nn.Linear(8, 16),
        _Linear(16, 16),
        torch.nn.LayerNorm(16),
        _Head(),
    )


class _Recorder:
    """A fill callable that writes ``value`` and records what it was called with."""

    def __init__(self, value):
        self.value, self.calls = value, []

    def __call__(self, tensor):
        assert not torch.is_grad_enabled()  # called under no_grad: a leaf may be written in place
        self.calls.append(tensor)
        tensor.fill_(self.value)


def _snapshot(model):
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def test_without_rules_the_result_is_what_it_was():
    """A seeded initializer, no rules: the same values and names as before rules existed
    (each weight, then its bias, one call each, in module order)."""
    net, reference = _net(), _net()
    names = vtorch.init_module(net, vscale.HeUniform(seed=4), bias="torch")
    init = vscale.HeUniform(seed=4)
    for index in (0, 1, 2, 4, 5):
        layer = reference[index]
        layout = vtorch.weight_layout(layer)
        init._fill(layer.weight.detach(), layout)
        if index != 5:
            uniform = vscale.VarianceScaling(
                layer.bias.numel() / (3.0 * layer.weight[0].numel()), "fan_in", "uniform", seed=4
            )
            uniform._calls = init._calls
            init._calls += 1
            uniform._fill(layer.bias.detach(), (None, None, "keras", 1))
    reference[5].weight.detach()[3] = 0
    assert names == ["0.weight", "1.weight", "2.weight", "4.weight", "5.weight"]
    for (name, a), b in zip(net.named_parameters(), reference.parameters(), strict=True):
        assert torch.equal(a, b), name


def test_name_patterns_come_before_types_and_the_first_match_wins():
    model = _model()
    first, second, typed, base = _Recorder(1.0), _Recorder(2.0), _Recorder(3.0), _Recorder(4.0)
    rules = [
        (torch.nn.Linear, base),  # listed first among types: it also takes the _Linear
        (_Linear, typed),
        ("2.*", first),  # patterns are tried before any type, in their own order
        ("2.weight", second),
    ]
    names = vtorch.init_module(model, rules=rules)
    assert names == ["1.weight", "2.weight", "2.bias"]  # no rule for the Embedding, no initializer
    assert base.calls == [model[1].weight] and torch.all(model[1].weight == 4.0)
    assert typed.calls == [] and second.calls == []
    assert torch.all(model[2].weight == 1.0) and torch.all(model[2].bias == 1.0)  # "2.*" reaches the bias too
    assert torch.all(model[1].bias == 0)  # the bias of a module a type rule fills: bias="zeros"


def test_a_type_rule_fills_the_modules_own_parameters_except_the_bias():
    model = _model()
    before = _snapshot(model)
    head = _Recorder(7.0)
    names = vtorch.init_module(model, rules={_Head: head, torch.nn.LayerNorm: torch.nn.init.ones_})
    assert names == ["3.weight", "4.cls_token", "4.weight"]
    assert [t.shape for t in head.calls] == [(1, 1, 8), (600, 40)]
    assert torch.all(model[4].bias == 0) and torch.all(model[3].bias == 0)  # biases: bias="zeros"
    for index in (0, 1, 2):  # no initializer: the four known types are left alone, biases too
        for name in ("weight", "bias")[: 1 if index == 0 else 2]:
            assert torch.equal(getattr(model[index], name), before[f"{index}.{name}"])


def test_the_default_initializer_fills_the_weights_no_rule_matches():
    model = _model()
    rules = {"1.weight": None, torch.nn.Embedding: "keep", "*.cls_token": torch.nn.init.ones_}
    before = _snapshot(model)
    names = vtorch.init_module(model, vscale.HeNormal(seed=0), rules=rules, bias="keep")
    assert names == ["2.weight", "4.cls_token"]  # _Head's weight is no known module's: no default
    assert torch.equal(model[1].weight, before["1.weight"]) and torch.equal(model[0].weight, before["0.weight"])
    assert torch.equal(model[2].bias, before["2.bias"])  # bias="keep"
    assert not torch.equal(model[2].weight, before["2.weight"])
    assert torch.equal(model[4].weight, before["4.weight"]) and torch.all(model[4].cls_token == 1)


def test_a_keep_rule_on_a_type_keeps_the_modules_bias_too():
    model = _model()
    before = _snapshot(model)
    names = vtorch.init_module(model, "he_normal", rules={torch.nn.Linear: "keep"})
    assert names == ["0.weight"]
    for name in ("1.weight", "1.bias", "2.weight", "2.bias"):
        assert torch.equal(dict(model.named_parameters())[name], before[name]), name


def test_initializer_rules_read_fans_from_the_module_or_their_own_layout():
    model = _model()
    rules = {
        torch.nn.Linear: vscale.VarianceScaling(1.0, "fan_in", "uniform", seed=0, layout="keras"),
        "4.weight": {"class_name": "VarianceScaling", "config": {"mode": "fan_in", "distribution": "uniform"}},
        "4.cls_token": "he_uniform",
    }
    vtorch.init_module(model, rules=rules)
    # n uniform draws on (-b, b): P(max |w| < 0.9 b) = 0.9**n, 2e-6 for the 128 of a Linear(8, 16).
    # A Linear's weight (16, 8) in PyTorch's layout: fan_in 8, whatever the rule's own layout.
    assert 0.9 * math.sqrt(3 / 8) < float(model[1].weight.detach().abs().max()) <= math.sqrt(3 / 8)
    # Other parameters: the initializer's layout, PyTorch's (out, in) for a torch tensor: fan_in 40.
    assert 0.9 * math.sqrt(3 / 40) < float(model[4].weight.detach().abs().max()) <= math.sqrt(3 / 40)
    vtorch.init_module(model, rules={"4.weight": vscale.VarianceScaling(1.0, "fan_in", "uniform", layout="keras")})
    assert 0.9 * math.sqrt(3 / 600) < float(model[4].weight.detach().abs().max()) <= math.sqrt(3 / 600)  # (in, out)


def test_seeded_rules_and_seeded_callables_are_reproducible():
    results = []
    for _ in range(2):
        model = _model()
        torch.manual_seed(11)  # governs the callable (vscale's normal_ without a generator)
        rules = {
            torch.nn.Embedding: functools.partial(vtorch.normal_, std=0.02),
            torch.nn.Linear: vscale.HeNormal(seed=3),
            "*.cls_token": functools.partial(vtorch.trunc_normal_, std=0.02),
        }
        vtorch.init_module(model, vscale.GlorotUniform(seed=2), rules=rules, bias="torch")
        results.append(_snapshot(model))
    for name, value in results[0].items():
        assert torch.equal(value, results[1][name]), name
    assert not torch.equal(results[0]["1.weight"][:8, :8], results[0]["2.weight"][:8, :8])  # next calls differ
    # bias="torch" draws from the stream of the initializer that filled the weight, next call.
    alone = _model()
    init = vscale.HeNormal(seed=3)
    init.fill_(torch.empty(16, 8))
    expected = vscale.VarianceScaling(16 / (3.0 * 8), "fan_in", "uniform", seed=3)
    expected._calls = 1
    vtorch.init_module(alone, rules={torch.nn.Linear: vscale.HeNormal(seed=3)}, bias="torch")
    assert torch.equal(alone[1].bias.detach(), expected.fill_(torch.empty(16)))


def test_tied_parameters_are_filled_once_by_their_first_names_rule():
    model = torch.nn.Sequential(torch.nn.Embedding(40, 8, padding_idx=5), torch.nn.Linear(8, 40))
    model[1].weight = model[0].weight
    embedding, linear = _Recorder(0.5), _Recorder(-1.0)
    names = vtorch.init_module(model, rules={torch.nn.Embedding: embedding, torch.nn.Linear: linear})
    assert names == ["0.weight"] and linear.calls == [] and len(embedding.calls) == 1
    assert model[1].weight is model[0].weight and embedding.calls[0] is model[0].weight
    assert torch.all(model[0].weight[5] == 0) and torch.all(model[0].weight[4] == 0.5)
    assert torch.all(model[1].bias == 0)  # the Linear's bias: its own parameter, bias="zeros"
    # Seeded: the tied weight takes one call, so the next weight gets call 1 (it used to get 2).
    seeded = torch.nn.Sequential(torch.nn.Embedding(40, 8), torch.nn.Linear(8, 40), torch.nn.Linear(8, 8))
    seeded[1].weight = seeded[0].weight
    assert vtorch.init_module(seeded, vscale.HeNormal(seed=1)) == ["0.weight", "2.weight"]
    init = vscale.HeNormal(seed=1)
    init.fill_(torch.empty(40, 8))
    assert torch.equal(seeded[2].weight.detach(), init.fill_(torch.empty(8, 8)))


def test_a_pattern_naming_the_second_name_of_a_tied_weight_applies():
    model = torch.nn.Sequential(torch.nn.Embedding(40, 8), torch.nn.Linear(8, 40))
    model[1].weight = model[0].weight
    by_pattern, by_type = _Recorder(0.75), _Recorder(-1.0)
    names = vtorch.init_module(model, rules={"1.weight": by_pattern, torch.nn.Embedding: by_type})
    assert names == ["0.weight"] and by_type.calls == [] and len(by_pattern.calls) == 1
    assert torch.all(model[0].weight == 0.75)


def test_padding_row_is_zero_whichever_module_fills_the_tied_weight():
    model = torch.nn.Sequential(torch.nn.Linear(8, 40, bias=False), torch.nn.Embedding(40, 8, padding_idx=0))
    model[1].weight = model[0].weight  # the Linear comes first: its rule fills the weight
    names = vtorch.init_module(model, rules={torch.nn.Linear: functools.partial(vtorch.normal_, std=0.02)})
    assert names == ["0.weight"]
    weight = model[1].weight.detach()
    assert torch.all(weight[0] == 0) and torch.all(weight[1:] != 0)
    # Kept: the padding row is left as it is too.
    with torch.no_grad():
        model[0].weight.fill_(3.0)
    assert vtorch.init_module(model, "he_normal", rules={torch.nn.Linear: None}) == []
    assert torch.all(model[1].weight == 3.0)


def test_a_shared_module_is_filled_once():
    shared = torch.nn.Linear(8, 8)
    model = torch.nn.Sequential(shared, torch.nn.ReLU(), shared)
    recorder = _Recorder(0.25)
    assert vtorch.init_module(model, rules={torch.nn.Linear: recorder}) == ["0.weight"]
    assert len(recorder.calls) == 1 and torch.all(shared.bias == 0)


@pytest.mark.parametrize(
    "rules, error, message",
    [
        ("he_normal", TypeError, r"`rules` must be a mapping or a sequence of .* received an object of type str"),
        ([("*.weight",)], TypeError, r"received the item \('\*.weight',\)"),
        ({3: "he_normal"}, TypeError, r"key of argument `rules` must be a parameter-name pattern.*received 3"),
        ({torch.Tensor: "he_normal"}, TypeError, r"torch.nn.Module subclass; received <class 'torch.Tensor'>"),
        ({"*.cls_token": "ones"}, ValueError, r"maps '\*.cls_token' to 'ones', which is not a rule: Unknown"),
        ({torch.nn.LayerNorm: 1.0}, TypeError, r"maps LayerNorm to 1.0, which is not a rule"),
    ],
)
def test_bad_rules_are_refused_before_anything_is_written(rules, error, message):
    model = _model()
    before = _snapshot(model)
    with pytest.raises(error, match=message + r".*Nothing was written"):
        vtorch.init_module(model, "he_normal", rules=rules)
    for name, value in model.named_parameters():
        assert torch.equal(value, before[name]), name


def test_unfillable_parameters_are_refused_before_anything_is_written():
    model = _model()
    model.append(torch.nn.LayerNorm(4, device="meta"))
    before = _snapshot(model[:5])
    with pytest.raises(ValueError, match=r"'5.weight'.*'meta' device"):
        vtorch.init_module(model, "he_normal", rules={torch.nn.LayerNorm: torch.nn.init.ones_})
    for name, value in model[:5].named_parameters():
        assert torch.equal(value, before[name]), name
    with pytest.raises(TypeError, match=r"`initializer` must be an initializer.*when `rules` gives no rule"):
        vtorch.init_module(model, None, rules={})
