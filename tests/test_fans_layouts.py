"""Fan layouts: Keras 3 axes, the PyTorch layouts and groups, against torch, JAX and hand counts."""

from __future__ import annotations

import math
import warnings

import pytest

import vscale
from vscale import compute_fans

TORCH_SHAPES = [(7, 5), (16, 8, 3), (16, 8, 3, 5), (4, 6, 2, 3, 3), (1, 1, 1, 1)]


def test_default_is_keras_rule():
    assert compute_fans((3, 3, 64, 128)) == (576, 1152)
    assert compute_fans((5, 7)) == (5, 7)
    assert compute_fans(()) == (1, 1)
    assert compute_fans((4,)) == (4, 4)


@pytest.mark.parametrize("shape", TORCH_SHAPES)
def test_torch_layout_matches_torch_init(shape):
    torch = pytest.importorskip("torch")
    weight = torch.empty(shape)
    expected = torch.nn.init._calculate_fan_in_and_fan_out(weight)
    assert compute_fans(shape, layout="torch") == expected
    init = vscale.VarianceScaling(layout="torch")
    assert init.parameters(shape).fan_in == torch.nn.init._calculate_correct_fan(weight, "fan_in")
    out = vscale.VarianceScaling(mode="fan_out", layout="torch").parameters(shape)
    assert out.n == torch.nn.init._calculate_correct_fan(weight, "fan_out")


@pytest.mark.parametrize(
    ("shape", "layout", "in_axis", "out_axis"),
    [
        ((3, 3, 16, 32), "keras", -2, -1),
        ((32, 16, 3, 3), "torch", 1, 0),
        ((16, 32, 3, 3), "torch_transposed", 0, 1),
        ((7, 9), "torch", 1, 0),
    ],
)
def test_layouts_match_jax_axes(shape, layout, in_axis, out_axis):
    pytest.importorskip("jax")
    from jax._src.nn.initializers import _compute_fans  # JAX's own fan rule (private)

    fan_in, fan_out = _compute_fans(shape, in_axis, out_axis)
    assert compute_fans(shape, layout=layout) == (int(fan_in), int(fan_out))


def test_explicit_axes_match_jax_when_every_axis_is_named():
    pytest.importorskip("jax")
    from jax._src.nn.initializers import _compute_fans

    shape = (64, 8, 32)  # an attention kernel: model dim -> (heads, head dim)
    fan_in, fan_out = _compute_fans(shape, 0, (1, 2))
    assert compute_fans(shape, input_axes=[0], output_axes=[1, 2]) == (fan_in, fan_out) == (64, 256)


def _conv_counts(module_cls, spatial, **kwargs):
    """Count connections of an interior unit by autograd: fan_in inputs feed one output,
    one input feeds fan_out outputs (stride 1, all-ones weights, so nothing cancels)."""
    torch = pytest.importorskip("torch")
    module = module_cls(bias=False, **kwargs)
    with torch.no_grad():
        module.weight.fill_(1.0)
    size = (9,) * spatial
    x = torch.zeros((1, kwargs["in_channels"], *size), requires_grad=True)
    y = module(x)
    centre = tuple(s // 2 for s in y.shape[2:])
    y[(0, 0, *centre)].backward()
    fan_in = int((x.grad != 0).sum())
    delta = torch.zeros((1, kwargs["in_channels"], *size))
    delta[(0, 0, *(s // 2 for s in size))] = 1.0
    fan_out = int((module(delta) != 0).sum())
    return module.weight, fan_in, fan_out


CONVS = [
    ("Conv1d", 1, dict(in_channels=6, out_channels=4, kernel_size=3), 1),
    ("Conv2d", 2, dict(in_channels=8, out_channels=16, kernel_size=3, groups=4), 4),
    ("Conv2d", 2, dict(in_channels=8, out_channels=8, kernel_size=(3, 2), groups=8), 8),  # depthwise
    ("Conv2d", 2, dict(in_channels=4, out_channels=12, kernel_size=3, groups=4), 4),  # depthwise x3
    ("ConvTranspose1d", 1, dict(in_channels=6, out_channels=4, kernel_size=3), 1),
    ("ConvTranspose2d", 2, dict(in_channels=8, out_channels=16, kernel_size=3, groups=4), 4),
    ("ConvTranspose2d", 2, dict(in_channels=8, out_channels=8, kernel_size=3, groups=8), 8),
]


@pytest.mark.parametrize(("cls", "spatial", "kwargs", "groups"), CONVS, ids=lambda v: str(v))
def test_grouped_and_transposed_fans_count_connections(cls, spatial, kwargs, groups):
    torch = pytest.importorskip("torch")
    weight, fan_in, fan_out = _conv_counts(getattr(torch.nn, cls), spatial, **kwargs)
    layout = "torch_transposed" if "Transpose" in cls else "torch"
    assert compute_fans(tuple(weight.shape), layout=layout, groups=groups) == (fan_in, fan_out)


def test_depthwise_fan_out_is_kernel_size_where_torch_multiplies_by_channels():
    torch = pytest.importorskip("torch")
    conv = torch.nn.Conv2d(32, 32, 3, groups=32)
    ours = compute_fans(tuple(conv.weight.shape), layout="torch", groups=32)
    assert ours == (9, 9)
    assert torch.nn.init._calculate_fan_in_and_fan_out(conv.weight) == (9, 288)


def test_groups_in_keras_layout_divide_fan_out():
    # Keras' grouped Conv2D kernel is (kh, kw, in/groups, out).
    assert compute_fans((3, 3, 2, 16), groups=4) == (18, 36)


def test_keras_axes_ignore_other_axes_like_keras():
    assert compute_fans((3, 4, 5), input_axes=[0], output_axes=[-1]) == (3, 5)
    assert compute_fans((3, 4, 5), input_axes=(0, 1), output_axes=2) == (12, 5)


def test_one_sided_axes_warn_and_use_default_rule():
    with pytest.warns(UserWarning, match="Only one of `input_axes` and `output_axes`"):
        fans = compute_fans((3, 4, 5), input_axes=[0])
    assert fans == compute_fans((3, 4, 5))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(layout="tf"), ValueError, r"`layout`.*layout='tf'"),
        (dict(layout=""), ValueError, r"`layout`"),
        (dict(groups=0), ValueError, r"`groups`.*groups=0"),
        (dict(groups=2.0), TypeError, r"`groups`.*2\.0"),
        (dict(groups=True), TypeError, r"`groups`"),
        (dict(input_axes="0", output_axes=[1]), TypeError, r"`input_axes`.*'0'"),
        (dict(input_axes=[0.5], output_axes=[1]), TypeError, r"`input_axes`.*0\.5"),
        (dict(input_axes=[0], output_axes=[1], layout="torch"), ValueError, r"cannot be combined.*layout='torch'"),
        (dict(input_axes=[0], output_axes=[1], groups=2), ValueError, r"cannot be combined.*groups=2"),
    ],
)
def test_bad_layout_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        compute_fans((4, 4, 3), **kwargs)
    with pytest.raises(error, match=match):
        vscale.VarianceScaling(**kwargs)


@pytest.mark.parametrize(
    ("shape", "kwargs", "match"),
    [
        ((6, 4, 3), dict(layout="torch", groups=4), r"`groups`=4 must divide the output-channel axis.*size 6"),
        ((6, 4, 3), dict(layout="torch_transposed", groups=4), r"input-channel axis.*size 6"),
        ((8,), dict(groups=2), r"`groups` applies to weights of rank 2"),
        ((3, 4), dict(input_axes=[2], output_axes=[1]), r"`input_axes`=\[2\] has axes \[2\] out of range"),
        ((3, 4), dict(input_axes=[0, -2], output_axes=[1]), r"`input_axes`=\[0, -2\] names an axis twice"),
    ],
)
def test_shape_dependent_errors(shape, kwargs, match):
    with pytest.raises(ValueError, match=match):
        compute_fans(shape, **kwargs)
    init = vscale.VarianceScaling(**kwargs)
    with pytest.raises(ValueError, match=match):
        init(shape)


def test_layout_config_round_trip_and_default_config_unchanged():
    assert vscale.VarianceScaling(seed=1).get_config() == {
        "scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal", "seed": 1,
    }  # fmt: skip
    for kwargs in (
        dict(layout="torch", groups=4),
        dict(layout="torch_transposed"),
        dict(input_axes=[0], output_axes=(1, 2)),
    ):
        init = vscale.VarianceScaling(2.0, "fan_out", "uniform", **kwargs)
        config = init.get_config()
        again = vscale.VarianceScaling.from_config(config)
        assert again.get_config() == config
        assert again.parameters((8, 4, 3)) == init.parameters((8, 4, 3))
    assert vscale.VarianceScaling(input_axes=[0], output_axes=(1, 2)).get_config()["output_axes"] == [1, 2]


def test_parameters_follow_layout():
    torch_layout = vscale.VarianceScaling(2.0, "fan_in", "uniform", layout="torch").parameters((128, 64, 3, 3))
    assert (torch_layout.fan_in, torch_layout.fan_out) == (576, 1152)
    assert torch_layout.bound == pytest.approx(math.sqrt(6.0 / 576), rel=1e-15)


def test_layout_applies_on_every_backend(backend):
    init = vscale.HeUniform(seed=0, layout="torch", groups=4)
    w = init((64, 2, 3, 3), xp=backend.module, device=backend.device)
    values = backend.to_numpy(w)
    bound = math.sqrt(6.0 / 18)  # fan_in = 2 * 9
    assert values.shape == (64, 2, 3, 3)
    assert abs(values).max() <= bound
    # 1152 uniform draws: P(max |w| < 0.98 bound) = 0.98**1152 < 1e-10.
    assert abs(values).max() > 0.98 * bound


def test_no_warning_when_axes_are_both_or_neither_given():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vscale.VarianceScaling(input_axes=[0], output_axes=[1])
        vscale.VarianceScaling()
