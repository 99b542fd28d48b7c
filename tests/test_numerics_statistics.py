"""Statistical exactness at a sample size that sees a 0.5% error in the deviation (issue 3, item 3).

Sample size.  The sample deviation has standard error ``sd * sqrt((kurtosis - 1) / (4N))``
(kurtosis non-excess: 3 normal, 2.3635 truncated normal, 1.8 uniform).  The check allows
``Z_TOLERANCE = 5`` standard errors, so a relative error ``delta = 0.005`` is caught with
probability 1 - 1e-3 (``Z_POWER = 3.09``) once
``delta >= (Z_TOLERANCE + Z_POWER) * sqrt((kurtosis - 1) / (4N))``, i.e.
``N >= ((5 + 3.09) / 0.005)**2 * (kurtosis - 1) / 4``: 1.31 million for the normal, 0.89
million for the truncated normal, 0.52 million for the uniform (rounded up to whole 2**16
chunks below).  ``test_the_moment_check_sees_half_a_percent`` shows it on the real sample.

Goodness of fit.  Kolmogorov-Smirnov (``scipy.stats.kstest``) is most sensitive in the
middle of the distribution; Cramér-von Mises (``scipy.stats.cramervonmises``) integrates the
squared CDF error over the whole range.  Both take the exact, fully specified CDF and SciPy
supplies the p-values.  Anderson-Darling is not used: SciPy has it only with fitted
parameters (``anderson``) or for two samples (``anderson_ksamp``, quadratic in memory at
these N); the tails it would weight are covered exactly by the exhaustive sweep
(test_numerics_sweep.py) and by the tail-mass check below.  The truncation constant against
its closed form is tests/test_distributions.py::test_truncation_constant_matches_closed_form.

float16/bfloat16 are in test_numerics_lowprecision.py; the 10**9-draw run is
``test_billion_draws`` (``-m slow``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

import vscale

Z_TOLERANCE = 5.0
Z_POWER = 3.09  # one-sided 99.9% quantile of the standard normal
DELTA = 0.005
ALPHA = 1e-4  # fixed seeds: a pass is reproducible, alpha bounds the chance of an unlucky seed
SCALE, FAN_IN = 2.0, 512
STDDEV = math.sqrt(SCALE / FAN_IN)
CHUNK = 1 << 16
DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")


def exact(distribution: str) -> stats.rv_continuous:
    """SciPy's distribution with the requested deviation (independent of vscale's constants)."""
    if distribution == "truncated_normal":
        return stats.truncnorm(-2, 2, scale=STDDEV / stats.truncnorm(-2, 2).std())
    if distribution == "untruncated_normal":
        return stats.norm(scale=STDDEV)
    limit = math.sqrt(3.0) * STDDEV
    return stats.uniform(-limit, 2 * limit)


def fast_cdf(distribution: str):
    """The same CDFs through ``special.ndtr`` (``truncnorm.cdf`` is slow at millions of points)."""
    if distribution == "truncated_normal":
        sigma = STDDEV / stats.truncnorm(-2, 2).std()
        low, mass = special.ndtr(-2.0), special.ndtr(2.0) - special.ndtr(-2.0)
        return lambda x: np.clip((special.ndtr(x / sigma) - low) / mass, 0.0, 1.0)
    return exact(distribution).cdf


def kurtosis(distribution: str) -> float:
    return float(exact(distribution).stats(moments="k")) + 3.0


def samples_needed(distribution: str) -> int:
    """Smallest N whose 5-standard-error band catches a 0.5% deviation error with power 0.999."""
    n = ((Z_TOLERANCE + Z_POWER) / DELTA) ** 2 * (kurtosis(distribution) - 1) / 4
    return math.ceil(n / CHUNK) * CHUNK


def test_sample_sizes_are_the_stated_ones():
    assert [round(samples_needed(d) / 1e6, 2) for d in DISTRIBUTIONS] == [0.92, 1.31, 0.52]


def draw(backend, distribution: str, dtype: str, n: int, seed: int = 99) -> np.ndarray:
    init = vscale.VarianceScaling(SCALE, "fan_in", distribution, seed=seed)
    result = init((FAN_IN, n // FAN_IN), dtype, xp=backend.module, device=backend.device)
    return backend.to_numpy(result).ravel()


def deviation_band(distribution: str, n: int) -> float:
    return Z_TOLERANCE * STDDEV * math.sqrt((kurtosis(distribution) - 1) / (4 * n))


@pytest.mark.only_backend_dtypes("dtype")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_moments_and_goodness_of_fit(backend, distribution, dtype, record_property):
    n = samples_needed(distribution)
    values = draw(backend, distribution, dtype, n)
    reference = exact(distribution)
    cdf = fast_cdf(distribution)

    mean, sd = float(values.mean()), float(values.std())
    ks = stats.kstest(values, cdf)
    cvm = stats.cramervonmises(values, cdf)
    # Tail mass: P(|X| > q) at the 1e-3 two-sided quantile, a binomial count (5 sd band).
    q = float(reference.ppf(1 - 5e-4))
    tail = int((np.abs(values) > q).sum())
    tail_sd = math.sqrt(n * 1e-3 * (1 - 1e-3))

    report = (
        f"{backend.name} {distribution} {dtype} N={n}: mean/sd {mean / STDDEV:+.2e}, sd rel. error "
        f"{sd / STDDEV - 1:+.2e} (band {deviation_band(distribution, n) / STDDEV:.2e}), KS p {ks.pvalue:.3g}, "
        f"CvM p {cvm.pvalue:.3g}, tail {tail} (expected {n * 1e-3:.0f} +- {tail_sd:.0f})"
    )
    print(report)
    record_property("report", report)

    assert np.isfinite(values).all()
    low, high = reference.support()
    assert low <= values.min() and values.max() <= high
    assert abs(mean) < Z_TOLERANCE * STDDEV / math.sqrt(n), report
    assert abs(sd - STDDEV) < deviation_band(distribution, n), report
    assert ks.pvalue > ALPHA, report
    assert cvm.pvalue > ALPHA, report
    assert abs(tail - n * 1e-3) < 5 * tail_sd, report


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_the_moment_check_sees_half_a_percent(distribution):
    """Negative control on a real vscale sample: scaled by 1.005 it fails the deviation band."""
    n = samples_needed(distribution)
    values = vscale.VarianceScaling(SCALE, "fan_in", distribution, seed=99)((FAN_IN, n // FAN_IN), "float64")
    assert abs(values.std() - STDDEV) < deviation_band(distribution, n)
    assert abs((values * 1.005).std() - STDDEV) > deviation_band(distribution, n)
    assert abs((values * 0.995).std() - STDDEV) > deviation_band(distribution, n)


# --- 10**9 draws ----------------------------------------------------------------------------

BILLION = 10**9
BINS = 1000  # equiprobable bins; not a power of two, so no bin edge sits on the 2**-24 grid


@pytest.mark.slow
@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_billion_draws(backend, distribution, record_property):
    """10**9 float32 values in chunks of 2**24 calls: moments, support, chi-square, binned KS.

    Each chunk is one call of one seeded initializer (so 60 different streams).  Binned
    statistics: values go to BINS equiprobable cells of the exact CDF; the chi-square has
    BINS - 1 degrees of freedom, and the largest ECDF error at the bin edges is a lower bound
    on the Kolmogorov-Smirnov statistic (within 1 / BINS of it).

    Marked ``slow`` (about 3.4 minutes per case on two cores): pyproject.toml's addopts
    deselect it by default (``-m "not slow"``); ``-m slow`` selects it.
    """
    chunk_shape = (256, (1 << 24) // 256)
    chunk = math.prod(chunk_shape)
    init = vscale.VarianceScaling(SCALE / FAN_IN * 256, "fan_in", distribution, seed=2**40 + 1)
    reference = exact(distribution)
    cdf = fast_cdf(distribution)
    low, high = reference.support()

    counts = np.zeros(BINS, dtype=np.int64)
    total, power_sums, peak = 0, np.zeros(4), 0.0
    bad = outside = 0
    while total < BILLION:
        size = min(chunk, BILLION - total)
        values = backend.to_numpy(init(chunk_shape, "float32", xp=backend.module, device=backend.device))
        values = values.ravel()[:size]
        bad += int((~np.isfinite(values)).sum())
        outside += int(((values < low) | (values > high)).sum())
        scaled = values / STDDEV
        power_sums += [scaled.sum(), (scaled**2).sum(), (scaled**3).sum(), (scaled**4).sum()]
        peak = max(peak, float(np.abs(scaled).max()))
        cells = np.minimum((cdf(values) * BINS).astype(np.int64), BINS - 1)
        counts += np.bincount(cells, minlength=BINS)
        total += size

    m1, m2, m3, m4 = power_sums / total
    sd = math.sqrt(m2 - m1 * m1)
    expected = total / BINS
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    chi2_p = float(stats.chi2.sf(chi2, BINS - 1))
    edges = np.cumsum(counts) / total - np.arange(1, BINS + 1) / BINS
    ks_binned = float(np.abs(edges).max())
    band = deviation_band(distribution, total) / STDDEV
    exact_kurt = kurtosis(distribution)
    report = (
        f"{backend.name} {distribution} float32, {total:,} draws: NaN/inf {bad}, outside support {outside}, "
        f"max |x|/sd {peak:.4f}, mean/sd {m1:+.2e}, sd rel. error {sd - 1:+.2e} (5-se band {band:.1e}), "
        f"skewness {m3 / sd**3:+.2e}, kurtosis {m4 / sd**4:.5f} (exact {exact_kurt:.5f}), "
        f"chi2 {chi2:.0f} on {BINS - 1} dof (p {chi2_p:.3g}), binned KS {ks_binned:.2e} "
        f"(alpha=1e-3 critical {1.949 / math.sqrt(total):.2e})"
    )
    print(report)
    record_property("report", report)
    assert bad == 0 and outside == 0, report
    assert abs(m1) < Z_TOLERANCE / math.sqrt(total), report
    assert abs(sd - 1) < band, report
    assert chi2_p > ALPHA, report
    assert ks_binned < 1.949 / math.sqrt(total), report
