"""float16 and bfloat16 results are the exact distribution rounded to the dtype (issue 3, item 2).

vscale computes low-precision results in float32 and rounds once (round to nearest even),
after clipping to the largest dtype value inside the support.  So the probability of each
representable value ``r`` must be the exact distribution's mass between the rounding
midpoints around ``r`` (the outermost cell of a bounded support runs to the support's edge).
The tests compute those cell probabilities from SciPy's normal CDF and from the list of
every representable value (NumPy's float16, ml_dtypes' bfloat16: independent of vscale),
then compare a large seeded sample with a chi-square test over every value, the exact mean
and deviation of the rounded distribution, and the expected number of distinct values.

The peers' defects these tests would catch: JAX's bfloat16 truncated normal takes only 128
distinct values with a biased mean; PyTorch's ``trunc_normal_`` has had bfloat16 values
stuck at the bound.  Negative controls show that the checks reject a host sample whose
deviation is off by 0.5% and one that rounds toward zero, and that a 128-level bfloat16
sample fails.
"""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest
from scipy import special, stats

import vscale

SAMPLES = 1 << 22  # 4.2 million values per case
SCALE, FAN_IN = 2.0, 256  # He initialization of a 256-input layer: stddev 0.0884
STDDEV = math.sqrt(SCALE / FAN_IN)
SHAPE = (FAN_IN, SAMPLES // FAN_IN)
DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")
# Pool adjacent cells until each expects at least this many draws (the usual validity rule
# for the chi-square approximation is 5; 10 is on the safe side).
MIN_EXPECTED = 10.0
ALPHA = 1e-4  # seeds are fixed, so a pass is reproducible; alpha bounds the chance of a bad seed

BITS = {
    # (uint16 view of the dtype, mask of the exponent field): all-ones exponent = inf/NaN.
    "float16": (np.dtype(np.float16), 0x7C00),
    "bfloat16": (np.dtype(ml_dtypes.bfloat16), 0x7F80),
}


def representable(dtype_name: str) -> np.ndarray:
    """Every finite value of the dtype, ascending, as float64 (exact), zero once."""
    dtype, exponent = BITS[dtype_name]
    bits = np.arange(1 << 16, dtype=np.uint16)
    finite = bits[(bits & exponent) != exponent]
    return np.unique(finite.view(dtype).astype(np.float64))


def exact_cdf(distribution: str, x: np.ndarray) -> np.ndarray:
    """CDF of the exact (continuous) distribution with deviation STDDEV, from SciPy's ndtr."""
    if distribution == "truncated_normal":
        sigma = STDDEV / stats.truncnorm(-2, 2).std()
        low, high = special.ndtr(-2.0), special.ndtr(2.0)
        return np.clip((special.ndtr(x / sigma) - low) / (high - low), 0.0, 1.0)
    if distribution == "untruncated_normal":
        return special.ndtr(x / STDDEV)
    limit = math.sqrt(3.0) * STDDEV
    return np.clip((x + limit) / (2 * limit), 0.0, 1.0)


def half_width(distribution: str) -> float:
    if distribution == "truncated_normal":
        return 2 * STDDEV / stats.truncnorm(-2, 2).std()
    if distribution == "uniform":
        return math.sqrt(3.0) * STDDEV
    return math.inf


def rounded_distribution(distribution: str, dtype_name: str) -> tuple[np.ndarray, np.ndarray]:
    """Representable values inside the support and their probabilities after rounding."""
    values = representable(dtype_name)
    h = half_width(distribution)
    values = values[np.abs(values) <= h]
    edges = np.concatenate([[-h], (values[:-1] + values[1:]) / 2, [h]])  # midpoints are exact
    cdf = exact_cdf(distribution, edges)
    # Near zero cells are tiny and the CDF difference loses digits; those cells are pooled
    # anyway.  Symmetrise so that rounding in the reference cannot bias the mean.
    probabilities = np.diff(cdf)
    probabilities = (probabilities + probabilities[::-1]) / 2
    return values, probabilities


def pooled_chi_square(counts: np.ndarray, probabilities: np.ndarray, total: int) -> tuple[float, int]:
    """Chi-square statistic and degrees of freedom, adjacent cells pooled by expectation only."""
    expected = probabilities * total
    groups = np.zeros(len(expected), dtype=np.int64)
    group, running = 0, 0.0
    for i, e in enumerate(expected):
        groups[i] = group
        running += e
        if running >= MIN_EXPECTED:
            group, running = group + 1, 0.0
    if running > 0 and group > 0:  # a short last group joins the one before it
        groups[groups == group] = group - 1
    n_groups = groups.max() + 1
    observed = np.bincount(groups, weights=counts, minlength=n_groups)
    expect = np.bincount(groups, weights=expected, minlength=n_groups)
    return float(((observed - expect) ** 2 / expect).sum()), int(n_groups - 1)


def counts_per_value(sample: np.ndarray, values: np.ndarray) -> np.ndarray:
    index = np.searchsorted(values, sample)
    assert np.array_equal(values[index], sample), "a value that is not representable in the support"
    return np.bincount(index, minlength=len(values))


def draw(backend, distribution: str, dtype_name: str) -> np.ndarray:
    init = vscale.VarianceScaling(SCALE, "fan_in", distribution, seed=2024)
    result = init(SHAPE, dtype_name, xp=backend.module, device=backend.device)
    assert result.dtype == backend.native_dtype(dtype_name)
    return backend.to_numpy(result).ravel()


CASES = [(d, t) for t in ("float16", "bfloat16") for d in DISTRIBUTIONS]


@pytest.mark.only_backend_dtypes("dtype_name")
@pytest.mark.parametrize(("distribution", "dtype_name"), CASES)
def test_low_precision_is_the_rounded_exact_distribution(backend, distribution, dtype_name, record_property):
    values, probabilities = rounded_distribution(distribution, dtype_name)
    sample = draw(backend, distribution, dtype_name)
    assert np.isfinite(sample).all()
    counts = counts_per_value(sample, values)  # also: every value is representable and in the support

    # 1. Chi-square over every representable value in the support (cells pooled where tiny).
    statistic, dof = pooled_chi_square(counts, probabilities, SAMPLES)
    p_value = float(stats.chi2.sf(statistic, dof))

    # 2. Mean and deviation against those of the rounded distribution, 5 standard errors:
    #    se(mean) = sd / sqrt(N), se(sd) = sd sqrt((kurtosis - 1) / (4N)).
    mean = float((probabilities * values).sum())
    sd = math.sqrt(float((probabilities * (values - mean) ** 2).sum()))
    kurtosis = float((probabilities * (values - mean) ** 4).sum()) / sd**4
    assert abs(mean) < 1e-12 * STDDEV  # the rounded distribution is symmetric
    assert abs(sd / STDDEV - 1) < 2e-3  # rounding to the dtype barely moves the deviation

    # 3. Distinct values: the expected number for N draws from the rounded distribution is
    #    sum(1 - (1 - p)**N); its variance is at most sum(q (1 - q)) with q that probability.
    seen = 1.0 - np.exp(SAMPLES * np.log1p(-probabilities))
    expected_distinct = float(seen.sum())
    distinct_sd = math.sqrt(float((seen * (1 - seen)).sum()))
    distinct = int((counts > 0).sum())
    certain = probabilities * SAMPLES >= 30  # each of these is missed with probability < 1e-13
    reachable = int((probabilities >= 2.0**-24).sum())  # at least one float32 grid step of mass

    report = (
        f"{backend.name} {distribution} {dtype_name}: chi2 {statistic:.0f} on {dof} dof (p = {p_value:.3g}); "
        f"mean {sample.mean():+.3e} (exact 0), sd {sample.std():.6f} (exact rounded {sd:.6f}); "
        f"distinct {distinct} (expected {expected_distinct:.0f} +- {distinct_sd:.0f}; representable in support "
        f"{len(values)}, with mass >= 2**-24 {reachable})"
    )
    print(report)
    record_property("report", report)

    assert p_value > ALPHA, report
    assert abs(sample.mean() - mean) < 5 * sd / math.sqrt(SAMPLES), report
    assert abs(sample.std() - sd) < 5 * sd * math.sqrt((kurtosis - 1) / (4 * SAMPLES)), report
    assert (counts[certain] > 0).all(), "a value of non-negligible probability never appears"
    # 8 sd plus 1% for the float32 grid: a value whose cell holds less than one grid step
    # (2**-24) of mass is reached by 0 or 1 grid points, not with probability p.
    assert abs(distinct - expected_distinct) < 8 * distinct_sd + 0.01 * expected_distinct, report
    # The sample is expected to meet about 90% of the values with that much mass (3839 of
    # 4250 for bfloat16), so the floor sits 5 sd below that, still far above a generator
    # with few distinct values (JAX's bfloat16 truncated normal has 128).
    assert distinct > 0.85 * reachable, report


def host_sample(dtype_name: str, stddev: float, seed: int, toward_zero: bool = False) -> np.ndarray:
    """An exact normal sample from NumPy (not vscale), rounded to the dtype on the host by
    NumPy (float16) or ml_dtypes (bfloat16): to nearest, or toward zero (a biased rounding)."""
    exact = np.random.default_rng(seed).normal(0.0, stddev, SAMPLES)
    rounded = exact.astype(BITS[dtype_name][0]).astype(np.float64)
    if toward_zero:
        dtype = BITS[dtype_name][0]
        away = np.abs(rounded) > np.abs(exact)
        rounded[away] = np.nextafter(rounded[away].astype(dtype), dtype.type(0)).astype(np.float64)
    return rounded


@pytest.mark.parametrize("dtype_name", ["float16", "bfloat16"])
def test_the_checks_reject_known_defects(dtype_name):
    """Negative controls at the same N: the checks above are not vacuous.

    A correct host sample passes; a deviation off by 0.5% fails the moment check (the
    chi-square over thousands of cells is not built for a smooth scale error: its
    non-centrality is only about 2 N (0.005)**2 = 210 on ~3 000-20 000 degrees of freedom);
    rounding toward zero instead of to nearest fails the chi-square.
    """
    values, probabilities = rounded_distribution("untruncated_normal", dtype_name)
    sd_se = STDDEV * math.sqrt(2 / (4 * SAMPLES))  # kurtosis 3

    good = host_sample(dtype_name, STDDEV, seed=7)
    statistic, dof = pooled_chi_square(counts_per_value(good, values), probabilities, SAMPLES)
    assert stats.chi2.sf(statistic, dof) > ALPHA
    assert abs(good.std() - STDDEV) < 5 * sd_se

    wide = host_sample(dtype_name, STDDEV * 1.005, seed=8)
    assert abs(wide.std() - STDDEV) > 5 * sd_se

    biased = host_sample(dtype_name, STDDEV, seed=9, toward_zero=True)
    statistic, dof = pooled_chi_square(counts_per_value(biased, values), probabilities, SAMPLES)
    assert stats.chi2.sf(statistic, dof) < ALPHA


def test_chi_square_rejects_few_distinct_values():
    """Negative control: bfloat16 values made by computing in bfloat16 (128 uniform levels,
    as JAX's bfloat16 truncated normal does) fail the test."""
    values, probabilities = rounded_distribution("truncated_normal", "bfloat16")
    sigma = half_width("truncated_normal") / 2
    levels = stats.truncnorm(-2, 2, scale=sigma).ppf((np.arange(128) + 0.5) / 128)  # 8-bit significand
    levels = levels.astype(ml_dtypes.bfloat16).astype(np.float64)
    coarse = levels[np.random.default_rng(10).integers(0, 128, SAMPLES)]
    statistic, dof = pooled_chi_square(counts_per_value(coarse, values), probabilities, SAMPLES)
    assert len(np.unique(coarse)) <= 128
    assert stats.chi2.sf(statistic, dof) < ALPHA
