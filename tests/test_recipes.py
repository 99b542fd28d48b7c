"""The whole-model recipes of ``docs/recipes.md`` against HF transformers' own initialization.

The recipe functions are taken from the page as written. Each runs on a small model whose
parameters were all set to NaN first; the same model initialized by the library is the
reference. Per parameter: constants (zeros, ones) must be exactly those of the library;
random ones must follow the distribution the library's ``_init_weights`` names (one-sample
Kolmogorov–Smirnov test against the exact CDF, for both models, and a two-sample test
between them), with the same standard deviation. The same tests run again on every group of
parameters with one distribution, pooled, where they have the most power.

Thresholds. The seeds are fixed, so each test is deterministic; the p-value threshold 1e-4
is what a fresh seed would fail with probability 1e-4 per test if the distributions are
equal (about 200 tests in all: a 2 % chance that some seed fails one). Power: the pooled
normal weights of a model are 6e4 to 1.5e5 values, where the KS distance at p = 1e-4 is
about 2.2/sqrt(n), 0.006 to 0.009; a deviation off by a factor 1 + e moves the normal CDF by
up to 0.24 e, so a 2.5 to 4 % error in a deviation fails (checked: GPT-2's residual
deviation with 1.6 instead of 2 in 1/sqrt(2 * n_layer), 12 % off, fails; so does a ViT
class token truncated at 2 standard deviations). The standard deviation of n normal values
has a relative standard error of 1/sqrt(2n); it must lie within 6 of them.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
stats = pytest.importorskip("scipy.stats")
import vscale.torch  # noqa: E402

PAGE = Path(__file__).resolve().parents[1] / "docs" / "recipes.md"
P_MIN = 1e-4
STD = 0.02  # initializer_range of every config below (HF's default)


def _recipe(name):
    """The function ``name`` defined in a Python block of docs/recipes.md, as written there."""
    namespace: dict = {}
    for block in re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S):
        if f"def {name}(" in block:
            exec(compile(block, str(PAGE), "exec"), namespace)
    return namespace[name]


# -- the models and what their library's _init_weights gives each parameter ---------------------


def _gpt2():
    config = transformers.GPT2Config(
        n_layer=3, n_embd=64, n_head=4, vocab_size=1000, n_positions=64, bos_token_id=999, eos_token_id=999
    )
    return transformers.GPT2LMHeadModel(config)


def _gpt2_expected(name):
    if name.endswith(".bias"):
        return 0.0
    if ".ln_" in name:  # ln_1, ln_2, ln_f
        return 1.0
    if name.endswith(".c_proj.weight"):
        return stats.norm(0, STD / math.sqrt(2 * 3))
    return stats.norm(0, STD)


def _llama():
    config = transformers.LlamaConfig(
        vocab_size=1000,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        tie_word_embeddings=True,
    )
    return transformers.LlamaForCausalLM(config)


def _llama_expected(name):
    return 1.0 if name.endswith("norm.weight") else stats.norm(0, STD)


def _vit_config():
    return transformers.ViTConfig(
        hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128, image_size=32, patch_size=4
    )


def _vit_classifier():
    return transformers.ViTForImageClassification(_vit_config())


def _vit_with_mask_token():
    return transformers.ViTModel(_vit_config(), add_pooling_layer=True, use_mask_token=True)


def _vit_expected(name):
    if name.endswith(".bias") or name.endswith("mask_token"):
        return 0.0
    if "layernorm" in name:
        return 1.0
    if name.endswith(("cls_token", "position_embeddings")):
        return stats.truncnorm(-2 / STD, 2 / STD, scale=STD)  # torch's bounds -2, 2 are absolute
    return stats.norm(0, STD)


CASES = {
    "gpt2": (_gpt2, "init_gpt2", _gpt2_expected, ("transformer.wte.weight", "lm_head.weight")),
    "llama": (_llama, "init_llama", _llama_expected, ("model.embed_tokens.weight", "lm_head.weight")),
    "vit": (_vit_classifier, "init_vit", _vit_expected, None),
    "vit-mask-token": (_vit_with_mask_token, "init_vit", _vit_expected, None),
}


# -- the comparison ------------------------------------------------------------------------------


def _values(parameter, module):
    """The parameter's values as float64, without an Embedding's padding row (checked apart)."""
    values = parameter.detach().double().numpy()
    if isinstance(module, torch.nn.Embedding) and module.padding_idx is not None:
        assert np.all(values[module.padding_idx] == 0)
        values = np.delete(values, module.padding_idx, axis=0)
    return values.ravel()


def _same_distribution(ours, theirs, expected, label):
    """One-sample KS for both against ``expected``, two-sample KS, and the deviation."""
    p_values = [
        stats.kstest(ours, expected.cdf).pvalue,
        stats.kstest(theirs, expected.cdf).pvalue,
        stats.ks_2samp(ours, theirs).pvalue,
    ]
    assert min(p_values) > P_MIN, (label, p_values)
    for values in (ours, theirs):
        assert abs(values.std() / expected.std() - 1) < 6 / math.sqrt(2 * values.size), (label, values.std())
    return p_values


def _owners(model):
    """Qualified parameter name -> the module that holds it (first name of a tied one)."""
    return {
        f"{prefix}.{local}" if prefix else local: sub
        for prefix, sub in model.named_modules()
        for local, _ in sub.named_parameters(recurse=False)
    }


@pytest.mark.parametrize("case", list(CASES))
def test_recipe_matches_the_librarys_own_initialization(case, monkeypatch):
    build, recipe_name, expected_of, tied = CASES[case]
    torch.manual_seed(0)
    reference = build()  # HF's post_init runs its _init_weights
    model = build()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.fill_(math.nan)  # what the recipe leaves alone stays NaN
    fills = defaultdict(int)  # id of each tensor vscale's normal_ fills -> how many times
    normal_ = vscale.torch.normal_

    def counting_normal_(tensor, *args, **kwargs):
        fills[id(tensor)] += 1
        return normal_(tensor, *args, **kwargs)

    monkeypatch.setattr(vscale.torch, "normal_", counting_normal_)
    torch.manual_seed(1)
    names = _recipe(recipe_name)(model)

    parameters = dict(model.named_parameters())
    assert names == [name for name in parameters if not name.endswith(".bias")]  # biases: bias="zeros"
    assert list(parameters) == [name for name, _ in reference.named_parameters()]
    owners, theirs_of = _owners(model), dict(reference.named_parameters())
    groups: dict = defaultdict(lambda: ([], []))
    for name, parameter in parameters.items():
        assert not torch.isnan(parameter).any(), name  # touched, as the library touches it
        expected = expected_of(name)
        ours, theirs = _values(parameter, owners[name]), _values(theirs_of[name], owners[name])
        if isinstance(expected, float):
            assert np.all(ours == expected) and np.all(theirs == expected), name
            continue
        _same_distribution(ours, theirs, expected, name)
        group = groups[expected.std(), expected.dist.name]
        group[0].append(ours)
        group[1].append(theirs)
    for (std, kind), (ours, theirs) in groups.items():
        frozen = stats.norm(0, std) if kind == "norm" else stats.truncnorm(-2 / STD, 2 / STD, scale=STD)
        _same_distribution(np.concatenate(ours), np.concatenate(theirs), frozen, (kind, std))
    if tied is not None:
        first, second = tied
        tensor = model.get_parameter(first)
        assert model.get_parameter(second) is tensor and reference.get_parameter(second) is reference.get_parameter(
            first
        )
        assert fills[id(tensor)] == 1 and first in names and second not in names
    assert all(count == 1 for count in fills.values())


@pytest.mark.parametrize("case", ["gpt2", "vit-mask-token"])
def test_recipe_is_reproducible_under_torch_manual_seed(case):
    build, recipe_name, _, _ = CASES[case]
    recipe = _recipe(recipe_name)
    models = [build(), build()]
    for model in models:
        torch.manual_seed(7)
        recipe(model)
    for (name, a), b in zip(models[0].named_parameters(), models[1].parameters(), strict=True):
        assert torch.equal(a, b), name


def test_gpt2_conv1d_takes_a_fan_based_initializer_in_keras_layout():
    """The page's note: HF's Conv1D stores (in, out), so a fan-based rule names layout="keras"."""
    model = _gpt2()
    conv1d = transformers.pytorch_utils.Conv1D
    rules = {conv1d: vscale.VarianceScaling(1.0, "fan_in", "uniform", layout="keras")}
    vscale.torch.init_module(model, rules=rules)
    weight = model.transformer.h[0].mlp.c_proj.weight.detach()  # (in, out) = (256, 64)
    bound = math.sqrt(3 / 256)
    # 16384 uniform draws: P(max |w| < 0.99 b) = 0.99**16384, about 1e-71.
    assert 0.99 * bound < float(weight.abs().max()) <= bound


def test_the_page_defines_each_recipe_once():
    text = PAGE.read_text(encoding="utf-8")
    for name in ("init_gpt2", "init_llama", "init_vit"):
        assert text.count(f"def {name}(") == 1, name
