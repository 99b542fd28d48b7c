"""``vscale.torch`` as a drop-in for ``torch.nn.init``: gains, fans, distributions, errors, warnings.

The oracle is torch itself (its functions, its messages) and SciPy's distributions with
torch's parameters; the KS thresholds are upstream's (``TestNNInit``: p > 0.0001).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
stats = pytest.importorskip("scipy.stats")

import vscale.torch as vt  # noqa: E402

NONLINEARITIES = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                  "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]  # fmt: skip


@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
@pytest.mark.parametrize("param", [None, 0.2, 3, -0.5])
def test_calculate_gain_is_torchs(nonlinearity, param):
    assert vt.calculate_gain(nonlinearity, param) == torch.nn.init.calculate_gain(nonlinearity, param)


@pytest.mark.parametrize(("nonlinearity", "param"), [("leaky_relu", True), ("leaky_relu", "0.1"), ("gelu", None)])
def test_calculate_gain_refuses_as_torch_does(nonlinearity, param):
    with pytest.raises(ValueError) as theirs:
        torch.nn.init.calculate_gain(nonlinearity, param)
    with pytest.raises(ValueError) as ours:
        vt.calculate_gain(nonlinearity, param)
    assert str(ours.value) == str(theirs.value)


def _torch_fans(shape):
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


CASES = [
    ("kaiming_uniform_", {"nonlinearity": "relu"}, "uniform"),
    ("kaiming_uniform_", {"a": 0.2, "mode": "fan_out"}, "uniform"),
    ("kaiming_uniform_", {"nonlinearity": "tanh", "mode": "FAN_IN"}, "uniform"),
    ("kaiming_normal_", {"nonlinearity": "relu"}, "normal"),
    ("kaiming_normal_", {"a": 0.2, "mode": "fan_out"}, "normal"),
    ("xavier_uniform_", {}, "uniform"),
    ("xavier_uniform_", {"gain": 2.5}, "uniform"),
    ("xavier_normal_", {}, "normal"),
    ("xavier_normal_", {"gain": 0.5}, "normal"),
]


def _spread(name, kwargs, shape):
    """torch's own formula for the bound (uniform) or the deviation (normal)."""
    fan_in, fan_out = _torch_fans(shape)
    if name.startswith("kaiming"):
        fan = fan_in if kwargs.get("mode", "fan_in").lower() == "fan_in" else fan_out
        gain = torch.nn.init.calculate_gain(kwargs.get("nonlinearity", "leaky_relu"), kwargs.get("a", 0))
        std = gain / math.sqrt(fan)
    else:
        std = kwargs.get("gain", 1.0) * math.sqrt(2.0 / (fan_in + fan_out))
    return math.sqrt(3.0) * std if name.endswith("uniform_") else std


@pytest.mark.parametrize("prng", ["native", "threefry"])
@pytest.mark.parametrize(("name", "kwargs", "kind"), CASES, ids=lambda v: str(v))
@pytest.mark.parametrize("shape", [(300, 200), (64, 32, 3, 3)])
def test_the_distribution_is_torchs(name, kwargs, kind, shape, prng):
    spread = _spread(name, kwargs, shape)
    ours = getattr(vt, name)(torch.empty(shape), **kwargs, prng=prng)
    theirs = getattr(torch.nn.init, name)(torch.empty(shape), **kwargs)
    values = ours.flatten().double().numpy()
    if kind == "uniform":
        assert np.abs(values).max() <= spread and np.abs(values).max() > 0.99 * spread
        p = stats.kstest(values, stats.uniform(loc=-spread, scale=2 * spread).cdf).pvalue
    else:
        p = stats.kstest(values, stats.norm(scale=spread).cdf).pvalue
    assert p > 0.0001, p
    assert stats.ks_2samp(values, theirs.flatten().double().numpy()).pvalue > 0.0001


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64"])
@pytest.mark.parametrize("name", ["kaiming_uniform_", "kaiming_normal_", "xavier_uniform_", "xavier_normal_"])
def test_every_float_dtype(name, dtype):
    tensor = torch.empty(256, 128, dtype=getattr(torch, dtype))
    assert getattr(vt, name)(tensor) is tensor
    assert tensor.dtype == getattr(torch, dtype) and bool(torch.isfinite(tensor).all())
    assert float(tensor.double().std()) == pytest.approx(_std_of(name, (256, 128)), rel=0.03)


def _std_of(name, shape):
    spread = _spread(name, {}, shape)
    return spread / math.sqrt(3.0) if name.endswith("uniform_") else spread


@pytest.mark.parametrize("name", ["kaiming_uniform_", "kaiming_normal_", "xavier_uniform_", "xavier_normal_"])
def test_fewer_than_two_dimensions_are_refused_as_torch_does(name):
    for shape in [(), (5,)]:
        with pytest.raises(ValueError) as theirs:
            getattr(torch.nn.init, name)(torch.empty(shape))
        with pytest.raises(ValueError) as ours:
            getattr(vt, name)(torch.empty(shape))
        assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("name", ["kaiming_uniform_", "kaiming_normal_"])
def test_a_bad_mode_is_refused_as_torch_does(name):
    with pytest.raises(ValueError) as theirs:
        getattr(torch.nn.init, name)(torch.empty(4, 4), mode="fan_avg")
    with pytest.raises(ValueError) as ours:
        getattr(vt, name)(torch.empty(4, 4), mode="fan_avg")
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("name", ["kaiming_uniform_", "kaiming_normal_"])
def test_zero_element_tensors_warn_and_stay_as_torch_does(name):
    tensor = torch.full((0, 3), 7.0)
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        assert getattr(vt, name)(tensor) is tensor


@pytest.mark.parametrize("gain", [0.0, -1.0, float("inf"), float("nan"), True, "2"])
def test_xavier_refuses_a_gain_that_is_not_positive(gain):
    tensor = torch.zeros(4, 4)
    with pytest.raises(ValueError, match=r"`gain` must be a positive, finite number"):
        vt.xavier_uniform_(tensor, gain=gain)
    assert bool((tensor == 0).all())


@pytest.mark.parametrize("name", ["kaiming_uniform_", "kaiming_normal_", "xavier_uniform_", "xavier_normal_",
                                  "normal_", "uniform_", "trunc_normal_"])  # fmt: skip
def test_generator_and_manual_seed_govern_the_values(name):
    fill = getattr(vt, name)
    first = fill(torch.empty(20, 10), generator=torch.Generator().manual_seed(3))
    again = fill(torch.empty(20, 10), generator=torch.Generator().manual_seed(3))
    other = fill(torch.empty(20, 10), generator=torch.Generator().manual_seed(4))
    assert torch.equal(first, again) and not torch.equal(first, other)
    torch.manual_seed(11)
    seeded = fill(torch.empty(20, 10))
    torch.manual_seed(11)
    assert torch.equal(seeded, fill(torch.empty(20, 10)))
    torch.manual_seed(12)
    assert not torch.equal(seeded, fill(torch.empty(20, 10)))


def test_parameters_stay_leaves_without_history():
    layer = torch.nn.Linear(30, 20)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vt.kaiming_uniform_(layer.weight, a=math.sqrt(5))  # nn.Linear's own reset_parameters call
    assert layer.weight.is_leaf and layer.weight.grad_fn is None
    bound = torch.nn.init.calculate_gain("leaky_relu", math.sqrt(5)) * math.sqrt(3 / 30)
    assert float(layer.weight.detach().abs().max()) <= bound


# -- normal_ and uniform_ ----------------------------------------------------------------------

SHIFTED = [("normal_", {"mean": 3.0, "std": 0.5}), ("normal_", {"mean": -1e-3, "std": 2e-2}),
           ("uniform_", {"a": -0.1, "b": 0.1}), ("uniform_", {"a": 2.0, "b": 7.5})]  # fmt: skip


def _oracle(name, kwargs):
    if name == "normal_":
        return stats.norm(kwargs["mean"], kwargs["std"])
    return stats.uniform(kwargs["a"], kwargs["b"] - kwargs["a"])


@pytest.mark.parametrize("prng", ["native", "threefry"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("name", "kwargs"), SHIFTED, ids=str)
def test_normal_and_uniform_have_torchs_distribution(name, kwargs, dtype, prng):
    tensor = torch.empty(300, 100, dtype=getattr(torch, dtype))
    ours = getattr(vt, name)(tensor, **kwargs, prng=prng).flatten().double().numpy()
    theirs = getattr(torch.nn.init, name)(torch.empty(300, 100), **kwargs).flatten().double().numpy()
    assert stats.kstest(ours, _oracle(name, kwargs).cdf).pvalue > 0.0001
    assert stats.ks_2samp(ours, theirs).pvalue > 0.0001
    if name == "uniform_":
        assert kwargs["a"] <= ours.min() and ours.max() <= kwargs["b"]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize(("name", "kwargs"), SHIFTED, ids=str)
def test_half_precision_values_are_rounded_once_from_float32(name, kwargs, dtype):
    """float16/bfloat16 get the float32 values (the same draws) rounded once, kept in [a, b]."""
    half = getattr(vt, name)(
        torch.empty(4000, dtype=getattr(torch, dtype)), **kwargs, generator=torch.Generator().manual_seed(2)
    )
    full = getattr(vt, name)(torch.empty(4000), **kwargs, generator=torch.Generator().manual_seed(2))
    rounded = full.to(half.dtype)
    if name == "uniform_":
        a, b = kwargs["a"], kwargs["b"]
        assert bool((half.double() >= a).all() and (half.double() <= b).all())
        inside = (rounded.double() >= a) & (rounded.double() <= b)
        assert torch.equal(half[inside], rounded[inside])
    else:
        assert torch.equal(half, rounded)


def test_complex_tensors_get_independent_parts_as_torchs():
    normal = vt.normal_(torch.empty(100000, dtype=torch.complex128), mean=3.0, std=2.0)
    uniform = vt.uniform_(torch.empty(100000, dtype=torch.complex64), a=-1.0, b=2.0)
    for part in (normal.real, normal.imag):
        assert stats.kstest(part.numpy(), stats.norm(3.0, 2.0 / math.sqrt(2)).cdf).pvalue > 0.0001
    for part in (uniform.real, uniform.imag):
        assert stats.kstest(part.double().numpy(), stats.uniform(-1.0, 3.0).cdf).pvalue > 0.0001
    assert abs(np.corrcoef(normal.real.numpy(), normal.imag.numpy())[0, 1]) < 5 / math.sqrt(100000)


def test_degenerate_parameters_give_the_point_as_torch_does():
    assert torch.equal(vt.normal_(torch.empty(5), mean=1.5, std=0.0), torch.full((5,), 1.5))
    assert torch.equal(vt.uniform_(torch.empty(5), a=-2.0, b=-2.0), torch.full((5,), -2.0))


@pytest.mark.parametrize(
    ("name", "kwargs", "match"),
    [
        ("normal_", {"std": -1.0}, r"`std` must be >= 0.*std=-1\.0"),
        ("normal_", {"mean": math.nan}, r"`mean` must be a real number"),
        ("normal_", {"std": math.inf}, r"`std` must be finite"),
        ("normal_", {"std": 1e5}, r"beyond the float16 range"),
        ("uniform_", {"a": 2.0, "b": 1.0}, r"a <= b.*a=2\.0, b=1\.0"),
        ("uniform_", {"b": math.inf}, r"`b` must be finite"),
        ("uniform_", {"a": 0.0, "b": 1e6}, r"beyond the float16 range"),
        ("uniform_", {"a": 0.1, "b": 0.1}, r"leave no float16 value"),
        ("uniform_", {"a": True}, r"`a` must be a real number"),
    ],
)
def test_bad_parameters_are_refused_before_anything_is_drawn(name, kwargs, match):
    tensor = torch.full((20,), 7.0, dtype=torch.float16)
    generator = torch.Generator().manual_seed(0)
    state = generator.get_state()
    with pytest.raises(ValueError, match=match):
        getattr(vt, name)(tensor, **kwargs, generator=generator)
    assert bool((tensor == 7.0).all()) and torch.equal(generator.get_state(), state)


@pytest.mark.parametrize("name", ["normal_", "uniform_", "trunc_normal_", "kaiming_uniform_", "kaiming_normal_",
                                  "xavier_uniform_", "xavier_normal_"])  # fmt: skip
def test_meta_tensors_are_left_as_they_are_as_torch_does(name):
    """HF's and torch's deferred initialization call these on meta tensors: a no-op there."""
    meta = torch.empty(8, 4, device="meta")
    assert getattr(vt, name)(meta) is meta
    assert getattr(torch.nn.init, name)(meta) is meta


@pytest.mark.parametrize("name", ["normal_", "uniform_"])
def test_views_get_the_values_of_their_positions(name):
    whole = getattr(vt, name)(torch.empty(30, 20), generator=torch.Generator().manual_seed(5))
    base = torch.zeros(20, 60, dtype=torch.float16)
    view = base.t()[::2]
    getattr(vt, name)(view, generator=torch.Generator().manual_seed(5))
    assert torch.equal(view, whole.to(torch.float16)) and bool((base.t()[1::2] == 0).all())
