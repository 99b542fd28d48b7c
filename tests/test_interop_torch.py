"""PyTorch interop: kaiming_uniform_, xavier_normal_ and nn.Linear's default as VarianceScaling.

Parameters are compared with torch's own fan and gain functions to 1e-12; samples are
compared with a two-sample Kolmogorov-Smirnov test on fixed seeds (N = 65 536 each, the
test statistic's 1e-4 critical value is 2.0 * sqrt(2 / N) = 0.011), plus the sample
deviation within 5 standard errors (SE of a sample deviation ~ sigma * sqrt(k / N)).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import vscale

torch = pytest.importorskip("torch")
stats = pytest.importorskip("scipy.stats")
init = torch.nn.init

SHAPES = [(256, 256), (64, 16, 8, 8)]  # N = 65 536 each


def _torch_sample(fill, shape, **kwargs):
    generator = torch.Generator().manual_seed(0)
    weight = torch.empty(shape, dtype=torch.float64)
    fill(weight, generator=generator, **kwargs)
    return weight.numpy().ravel()


def _same_distribution(ours, theirs):
    result = stats.ks_2samp(ours, theirs)
    assert result.pvalue > 1e-4, result


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_he_uniform_in_torch_layout_is_kaiming_uniform(shape):
    weight = torch.empty(shape)
    fan_in = init._calculate_correct_fan(weight, "fan_in")
    torch_bound = init.calculate_gain("relu") * math.sqrt(3.0 / fan_in)
    params = vscale.HeUniform(layout="torch").parameters(shape)
    assert params.bound == pytest.approx(torch_bound, rel=1e-12)
    ours = vscale.HeUniform(seed=0, layout="torch")(shape, "float64").ravel()
    theirs = _torch_sample(init.kaiming_uniform_, shape, nonlinearity="relu")
    assert np.abs(ours).max() <= params.bound and np.abs(theirs).max() <= params.bound * (1 + 1e-12)
    _same_distribution(ours, theirs)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_untruncated_glorot_normal_is_xavier_normal(shape):
    weight = torch.empty(shape)
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(weight)
    torch_std = math.sqrt(2.0 / (fan_in + fan_out))
    glorot = vscale.GlorotNormal(layout="torch")
    untruncated = vscale.VarianceScaling(glorot.scale, glorot.mode, "untruncated_normal", seed=0, layout="torch")
    assert untruncated.parameters(shape).stddev == pytest.approx(torch_std, rel=1e-12)
    assert glorot.parameters(shape).stddev == pytest.approx(torch_std, rel=1e-12)  # truncated, same deviation
    ours = untruncated(shape, "float64").ravel()
    theirs = _torch_sample(init.xavier_normal_, shape)
    se = torch_std / math.sqrt(2 * ours.size)  # SE of a normal sample's deviation
    assert abs(ours.std() - torch_std) < 5 * se and abs(theirs.std() - torch_std) < 5 * se
    _same_distribution(ours, theirs)


@pytest.mark.parametrize(
    "make", [lambda: torch.nn.Linear(256, 256), lambda: torch.nn.Conv2d(16, 64, 8)], ids=["Linear", "Conv2d"]
)
def test_torch_default_layer_init_is_a_third_fan_in_uniform(make):
    torch.manual_seed(0)
    layer = make()
    weight = layer.weight.detach().double()
    shape = tuple(weight.shape)
    fan_in = init._calculate_correct_fan(weight, "fan_in")
    # reset_parameters: kaiming_uniform_(a=sqrt(5)), gain sqrt(2 / (1 + 5)), bound gain * sqrt(3 / fan_in).
    torch_bound = init.calculate_gain("leaky_relu", math.sqrt(5)) * math.sqrt(3.0 / fan_in)
    ours_init = vscale.VarianceScaling(1 / 3, "fan_in", "uniform", seed=0, layout="torch")
    assert ours_init.parameters(shape).bound == pytest.approx(torch_bound, rel=1e-12)
    assert torch_bound == pytest.approx(1 / math.sqrt(fan_in), rel=1e-12)
    ours = ours_init(shape, "float64").ravel()
    theirs = weight.numpy().ravel()
    # Uniform deviation bound / sqrt(3); SE of the sample deviation of a uniform is
    # sigma * sqrt((9/5 - 1) / (4 N)) = sigma * sqrt(0.2 / N).
    sigma = torch_bound / math.sqrt(3)
    se = sigma * math.sqrt(0.2 / ours.size)
    assert abs(ours.std() - sigma) < 5 * se and abs(theirs.std() - sigma) < 5 * se
    assert np.abs(theirs).max() <= torch_bound * (1 + 1e-6)
    _same_distribution(ours, theirs)


def test_torch_layout_differs_from_keras_layout_where_it_should():
    # A (out, in) Linear weight read with the Keras rule swaps the fans.
    assert vscale.HeUniform().parameters((512, 64)).fan_in == 512
    assert vscale.HeUniform(layout="torch").parameters((512, 64)).fan_in == 64
