"""Every backend, distribution and dtype: type/device/dtype/shape, support, moments, KS."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import vscale
from tests._helpers import assert_array_like, require_x64

DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")
SAMPLES = 200_000
SCALE, FAN_IN = 2.0, 256
SHAPE = (FAN_IN, SAMPLES // FAN_IN)  # fan_in of a 2-D shape is its first axis
DTYPES = ["float16", "bfloat16", "float32", "float64"]


def reference(distribution: str, stddev: float) -> stats.rv_continuous:
    """The exact distribution, from SciPy (independent of vscale's constants)."""
    if distribution == "truncated_normal":
        sigma = stddev / stats.truncnorm(-2, 2).std()
        return stats.truncnorm(-2, 2, scale=sigma)
    if distribution == "untruncated_normal":
        return stats.norm(scale=stddev)
    limit = math.sqrt(3) * stddev
    return stats.uniform(-limit, 2 * limit)


def draw(backend, distribution: str, dtype: str, seed: int = 1234):
    init = vscale.VarianceScaling(SCALE, "fan_in", distribution, seed=seed)
    return init(SHAPE, dtype, xp=backend.module, device=backend.device)


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_distribution(backend, distribution, dtype):
    if dtype not in backend.dtypes:
        with pytest.raises(ValueError, match="dtype"):
            draw(backend, distribution, dtype)
        return
    result = draw(backend, distribution, dtype)
    assert_array_like(result, backend, SHAPE, dtype)
    values = backend.to_numpy(result).ravel()
    stddev = math.sqrt(SCALE / FAN_IN)
    exact = reference(distribution, stddev)

    assert np.isfinite(values).all()
    low, high = exact.support()
    assert values.min() >= low and values.max() <= high

    # Tolerances: 5 standard errors.  se(mean) = sd / sqrt(N); se(sd) = sd * sqrt((kurt - 1) / (4N))
    # with kurt the (non-excess) kurtosis of the exact distribution.
    kurtosis = float(exact.stats(moments="k")) + 3.0
    assert abs(values.mean()) < 5 * stddev / math.sqrt(SAMPLES)
    assert abs(values.std() - stddev) < 5 * stddev * math.sqrt((kurtosis - 1) / (4 * SAMPLES))

    # Kolmogorov-Smirnov at a fixed seed.  Rounding x to a dtype with p-bit significands moves
    # the CDF at x by at most pdf(x) * |x| * 2**-p, and max pdf(x) * |x| <= 1/2 for these three
    # distributions (uniform: 1/2; normals: below 0.3), so that much is allowed on top.
    statistic = stats.kstest(values, exact.cdf).statistic
    rounding = 0.5 * {"float16": 2.0**-11, "bfloat16": 2.0**-8}.get(dtype, 0.0)
    critical = 1.949 / math.sqrt(SAMPLES)  # KS critical value at alpha = 0.001
    assert statistic < critical + rounding


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
@pytest.mark.parametrize("shape", [(), (0,), (3, 0), (0, 4, 5), (1,), (2, 3, 4, 5, 6)])
def test_shapes_including_empty(backend, distribution, shape):
    result = vscale.VarianceScaling(distribution=distribution, seed=0)(
        shape, "float32", xp=backend.module, device=backend.device
    )
    assert_array_like(result, backend, shape, "float32")
    values = backend.to_numpy(result)
    assert np.isfinite(values).all()


def test_default_dtype_is_floatx(backend):
    result = vscale.VarianceScaling(seed=0)((4, 4), xp=backend.module, device=backend.device)
    assert_array_like(result, backend, (4, 4), "float32")
    if backend.framework == "jax":
        require_x64("floatx float64 on JAX")
    vscale.set_floatx("float64")
    try:
        result = vscale.VarianceScaling(seed=0)((4, 4), xp=backend.module, device=backend.device)
        assert_array_like(result, backend, (4, 4), "float64")
    finally:
        vscale.set_floatx("float32")


@pytest.mark.only_backend_dtypes("dtype")
@pytest.mark.parametrize("dtype", DTYPES)
def test_native_dtype_objects(backend, dtype):
    result = vscale.VarianceScaling(seed=0)((3,), backend.native_dtype(dtype), xp=backend.module, device=backend.device)
    assert_array_like(result, backend, (3,), dtype)


@pytest.mark.only_backend_dtypes("dtype")
@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_support_is_never_left_at_any_scale(backend, distribution, dtype):
    """The clip bound is the largest output value inside the support, so no rounding leaves it."""
    for scale in (1e-3, 0.7, 3.0, 1234.5):
        init = vscale.VarianceScaling(scale, "fan_in", distribution, seed=7)
        values = backend.to_numpy(init((64, 512), dtype, xp=backend.module, device=backend.device))
        bound = init.parameters((64, 512)).bound
        assert np.isfinite(values).all(), f"scale={scale}"
        assert np.abs(values).max() <= bound, f"scale={scale}"


def test_truncation_constant_matches_closed_form():
    phi, Phi = stats.norm.pdf(2.0), stats.norm.cdf(2.0)
    closed_form = math.sqrt(1 - 4 * phi / (2 * Phi - 1))
    assert vscale.core.TRUNCATED_STD == pytest.approx(closed_form, rel=1e-15)
    assert vscale.core.TRUNCATED_STD == pytest.approx(stats.truncnorm(-2, 2).std(), rel=1e-14)


def test_distribution_names_are_case_insensitive_and_normal_is_truncated():
    assert vscale.VarianceScaling(distribution="Normal").distribution == "truncated_normal"
    assert vscale.VarianceScaling(distribution="UNIFORM").distribution == "uniform"
    assert vscale.VarianceScaling(mode="FAN_AVG").mode == "fan_avg"
