"""Facts about one draw of an initializer: parameters, sample statistics, histogram.

Pure functions over a NumPy copy of the values, shared by the ``vscale show`` command and
anything else that wants to report on an initializer.  SciPy is optional (KS statistic).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core.complex import make_complex_transform
from ..core.transforms import TRUNCATED_STD


def density(distribution: str, stddev: float, x: np.ndarray) -> np.ndarray:
    """The exact probability density of ``distribution`` with standard deviation ``stddev``."""
    x = np.asarray(x, dtype=np.float64)
    if distribution == "uniform":
        limit = math.sqrt(3.0) * stddev
        return np.where(np.abs(x) <= limit, 1.0 / (2.0 * limit), 0.0)
    sigma = stddev / TRUNCATED_STD if distribution == "truncated_normal" else stddev
    pdf = np.exp(-0.5 * (x / sigma) ** 2) / (sigma * math.sqrt(2.0 * math.pi))
    if distribution == "truncated_normal":
        kept = math.erf(math.sqrt(2.0))  # P(|Z| <= 2)
        pdf = np.where(np.abs(x) <= 2.0 * sigma, pdf / kept, 0.0)
    return pdf


def cdf(distribution: str, stddev: float, x: np.ndarray) -> np.ndarray:
    """The exact cumulative distribution function (for the KS statistic)."""
    x = np.asarray(x, dtype=np.float64)
    if distribution == "uniform":
        limit = math.sqrt(3.0) * stddev
        return np.clip((x + limit) / (2.0 * limit), 0.0, 1.0)
    from scipy import special  # optional: the exact normal CDF, where SciPy is installed

    sigma = stddev / TRUNCATED_STD if distribution == "truncated_normal" else stddev
    phi = special.ndtr(x / sigma)
    if distribution == "truncated_normal":
        low = special.ndtr(-2.0)
        return np.clip((phi - low) / (1.0 - 2.0 * low), 0.0, 1.0)
    return phi


def sample_statistics(values: np.ndarray, distribution: str, stddev: float, low_precision: bool) -> dict[str, Any]:
    """Mean, standard deviation (against the expected one), extremes, KS, distinct values."""
    flat = values.ravel()
    count = int(flat.size)
    stats: dict[str, Any] = {"count": count}
    if count == 0:
        return stats
    stats["mean"] = float(flat.mean())
    stats["mean_standard_error"] = stddev / math.sqrt(count)
    stats["std"] = float(flat.std())
    stats["std_ratio"] = stats["std"] / stddev
    stats["min"] = float(flat.min())
    stats["max"] = float(flat.max())
    stats["nan_or_inf"] = int(np.count_nonzero(~np.isfinite(flat)))
    if low_precision:
        stats["distinct_values"] = int(np.unique(flat).size)
    stats.update(_kolmogorov_smirnov(flat, lambda x: cdf(distribution, stddev, x)))
    return stats


def _kolmogorov_smirnov(sample: np.ndarray, exact_cdf: Any) -> dict[str, Any]:
    """KS statistic and p-value of ``sample`` against ``exact_cdf`` (None without SciPy)."""
    try:
        from scipy import stats as scipy_stats  # optional: the KS test, where SciPy is installed
    except ImportError:
        return {"ks_statistic": None}
    result = scipy_stats.kstest(sample, exact_cdf)
    return {"ks_statistic": float(result.statistic), "ks_pvalue": float(result.pvalue)}


def histogram(
    values: np.ndarray, distribution: str, stddev: float, bound: float, bins: int = 24
) -> dict[str, list[float]]:
    """Observed counts per bin and the counts the exact density predicts."""
    flat = values.ravel()
    reach = bound if math.isfinite(bound) else 4.0 * stddev
    edges = np.linspace(-reach, reach, bins + 1)
    observed, _ = np.histogram(np.clip(flat, -reach, reach), bins=edges)
    # Expected count per bin: N * density at the bin's midpoint * width (Simpson would be
    # closer, but the picture only needs the shape).
    centres = (edges[:-1] + edges[1:]) / 2
    expected = flat.size * density(distribution, stddev, centres) * (edges[1] - edges[0])
    return {"edges": edges.tolist(), "observed": observed.astype(float).tolist(), "expected": expected.tolist()}


def render_histogram(hist: dict[str, list[float]], width: int = 50) -> list[str]:
    """Text rows: the bin's centre, a bar of observed counts, and ``|`` where the density says."""
    edges, observed, expected = hist["edges"], hist["observed"], hist["expected"]
    top = max(max(observed), max(expected), 1.0)
    rows = []
    for i, (seen, predicted) in enumerate(zip(observed, expected, strict=False)):
        centre = (edges[i] + edges[i + 1]) / 2
        bar = list("█" * round(width * seen / top))
        marker = min(round(width * predicted / top), width)
        bar += [" "] * (width + 1 - len(bar))
        bar[marker] = "|" if bar[marker] == " " else "╪"
        rows.append(f"{centre:+11.4g} {''.join(bar).rstrip()}")
    return rows


def modulus_cdf(distribution: str, stddev: float, m: np.ndarray) -> np.ndarray:
    """CDF of ``|w|`` for complex values with ``E|w|**2 = stddev**2`` (see vscale.core.complex)."""
    transform = make_complex_transform(distribution, stddev)
    if distribution == "uniform":  # uniform on the disk of radius factor
        return np.clip((m / transform.factor) ** 2, 0.0, 1.0)
    squared = (m / transform.factor) ** 2
    if distribution == "truncated_normal":  # r**2 ~ Exp(1) conditioned on r**2 <= 4
        return np.clip(-np.expm1(-squared) / -math.expm1(-4.0), 0.0, 1.0)
    return -np.expm1(-squared)


def modulus_density(distribution: str, stddev: float, m: np.ndarray) -> np.ndarray:
    transform = make_complex_transform(distribution, stddev)
    f = transform.factor
    if distribution == "uniform":
        return np.where(m <= f, 2.0 * m / f**2, 0.0)
    density = 2.0 * m / f**2 * np.exp(-((m / f) ** 2))
    if distribution == "truncated_normal":
        return np.where(m <= 2.0 * f, density / -math.expm1(-4.0), 0.0)
    return density


def complex_statistics(values: np.ndarray, distribution: str, stddev: float) -> dict[str, Any]:
    """E|w|^2 against stddev**2, the parts' deviations, the largest modulus, KS of the modulus."""
    flat = values.ravel().astype(np.complex128)
    count = int(flat.size)
    stats: dict[str, Any] = {"count": count}
    if count == 0:
        return stats
    moduli = np.abs(flat)
    stats["mean_abs"] = float(abs(flat.mean()))
    stats["second_moment_ratio"] = float(np.mean(moduli**2)) / stddev**2
    stats["real_std"] = float(flat.real.std())
    stats["imag_std"] = float(flat.imag.std())
    stats["part_std_expected"] = stddev / math.sqrt(2.0)
    stats["max_modulus"] = float(moduli.max())
    stats["nan_or_inf"] = int(np.count_nonzero(~np.isfinite(flat)))
    stats.update(_kolmogorov_smirnov(moduli, lambda m: modulus_cdf(distribution, stddev, m)))
    return stats


def modulus_histogram(values: np.ndarray, distribution: str, stddev: float, bins: int = 24) -> dict[str, list[float]]:
    """Observed and expected counts of ``|w|`` per bin on ``[0, reach]``."""
    moduli = np.abs(values.ravel().astype(np.complex128))
    bound = make_complex_transform(distribution, stddev).bound
    reach = bound if math.isfinite(bound) else 3.0 * stddev
    edges = np.linspace(0.0, reach, bins + 1)
    observed, _ = np.histogram(np.clip(moduli, 0.0, reach), bins=edges)
    centres = (edges[:-1] + edges[1:]) / 2
    expected = moduli.size * modulus_density(distribution, stddev, centres) * (edges[1] - edges[0])
    return {"edges": edges.tolist(), "observed": observed.astype(float).tolist(), "expected": expected.tolist()}
