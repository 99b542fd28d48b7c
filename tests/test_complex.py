"""Complex dtypes: E|w|^2 = scale/n, rotation invariance, and the exact truncation constant.

Every statistical check below compares a sample mean with its expectation, with a
tolerance of 5 standard errors (SE) computed from the exact variance of the statistic and
the sample size N (two-sided normal tail 6e-7), unless it says otherwise.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import vscale
from tests._helpers import require_x64
from vscale.core.complex import COMPLEX_TRUNCATED_STD, complex_bound

KINDS = ["truncated_normal", "untruncated_normal", "uniform"]
SHAPE = (400, 500)  # fan_in = 400; with scale = 400, sigma^2 = E|w|^2 = 1
N = 400 * 500
JAX_CONSTANT = 0.95311164380491208  # jax.nn.initializers.variance_scaling, complex truncated normal


def _truncated_exp_moments(c: float = 4.0) -> tuple[float, float]:
    """E[X] and E[X^2] of X ~ Exp(1) conditioned on X <= c."""
    kept = -math.expm1(-c)
    first = (1 - math.exp(-c) * (1 + c)) / kept
    second = (2 - math.exp(-c) * (c * c + 2 * c + 2)) / kept
    return first, second


def _variance_of_squared_modulus(kind: str) -> float:
    """Var |w|^2 when E|w|^2 = 1."""
    if kind == "untruncated_normal":
        return 1.0  # |w|^2 ~ Exp(1)
    if kind == "uniform":
        return 4.0 / 12.0  # |w|^2 = 2U
    first, second = _truncated_exp_moments()
    return second / first**2 - 1.0


def test_truncation_constant_is_the_exact_deviation():
    mpmath = pytest.importorskip("mpmath")
    with mpmath.workdps(30):
        kept = 1 - mpmath.exp(-4)
        second_moment = mpmath.quad(lambda x: x * mpmath.exp(-x), [0, 4]) / kept
    assert COMPLEX_TRUNCATED_STD == pytest.approx(float(mpmath.sqrt(second_moment)), rel=1e-15)
    assert COMPLEX_TRUNCATED_STD == pytest.approx(0.96196183, abs=1e-8)
    # JAX's constant: its variance is (ours / JAX's)^2 = 1.0186 times the requested one.
    assert (COMPLEX_TRUNCATED_STD / JAX_CONSTANT) ** 2 == pytest.approx(1.0186, abs=1e-4)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_second_moment_mean_and_rotation_invariance(backend, kind, dtype):
    if backend.framework == "jax" and dtype == "complex128":
        require_x64("complex128 on JAX")
    init = vscale.VarianceScaling(400.0, "fan_in", kind, seed=2024)
    result = init(SHAPE, dtype, xp=backend.module, device=backend.device)
    assert result.dtype == backend.native_dtype(dtype) and tuple(result.shape) == SHAPE
    w = backend.to_numpy(result, np.complex128).ravel()
    squared = np.abs(w) ** 2

    se = math.sqrt(_variance_of_squared_modulus(kind) / N)
    assert abs(squared.mean() - 1.0) < 5 * se, (squared.mean(), se)

    # Rotation invariance: E[w^k] = 0 for k = 1..4.  N |mean(w^k)|^2 / E|w|^(2k) is
    # asymptotically Exp(1) (its real and imaginary parts are independent normals of
    # variance 1/2), so it exceeds 20 with probability e^-20 = 2e-9.
    for k in range(1, 5):
        statistic = N * abs(np.mean(w**k)) ** 2 / np.mean(squared**k)
        assert statistic < 20, (k, statistic)

    # Equal variances of the real and imaginary parts, each 1/2.
    difference = w.real**2 - w.imag**2  # mean 0; variance E|w|^4 - 2 E[re^2 im^2] <= E|w|^4
    assert abs(difference.mean()) < 5 * math.sqrt(np.mean(squared**2) / N)


@pytest.mark.parametrize("kind", ["truncated_normal", "uniform"])
def test_modulus_bound_is_reached_not_exceeded(backend, kind):
    init = vscale.VarianceScaling(400.0, "fan_in", kind, seed=7)
    result = init(SHAPE, "complex64", xp=backend.module, device=backend.device)
    moduli = np.abs(backend.to_numpy(result, np.complex128))
    bound = complex_bound(kind, 1.0)
    assert bound == pytest.approx(2 / COMPLEX_TRUNCATED_STD if kind == "truncated_normal" else math.sqrt(2))
    assert moduli.max() <= bound  # the documented bound itself, not an ulp above it
    # The density of |w| near the bound is positive, so the top of N draws lies within
    # about 1/N of it (both densities at the bound exceed 0.2 per unit; 50/N is ample).
    assert moduli.max() > bound - 50 / N


def test_untruncated_parts_are_independent_normals():
    stats = pytest.importorskip("scipy.stats")
    w = vscale.VarianceScaling(400.0, "fan_in", "untruncated_normal", seed=3)(SHAPE, "complex128").ravel()
    scale = math.sqrt(0.5)
    # Standardised first: kstest's args= path breaks on some SciPy releases.
    assert stats.kstest(w.real / scale, "norm").pvalue > 1e-4
    assert stats.kstest(w.imag / scale, "norm").pvalue > 1e-4
    # Independence seen in the fourth moments: cov(re^2, im^2) = 0 (SE <= sqrt(E re^4 E im^4 / N) = 0.75/sqrt(N)).
    covariance = np.mean(w.real**2 * w.imag**2) - np.mean(w.real**2) * np.mean(w.imag**2)
    assert abs(covariance) < 5 * 0.75 / math.sqrt(N)


def test_our_truncated_normal_is_exact_where_jax_is_about_two_percent_high():
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    ours = vscale.VarianceScaling(400.0, "fan_in", "truncated_normal", seed=5)(SHAPE, "complex64")
    init = jax.nn.initializers.variance_scaling(400.0, "fan_in", "truncated_normal", dtype=jnp.complex64)
    theirs = np.asarray(init(jax.random.key(0), SHAPE))
    se = math.sqrt(_variance_of_squared_modulus("truncated_normal") / N)  # 0.0020
    ours_mean = float(np.mean(np.abs(ours) ** 2))
    theirs_mean = float(np.mean(np.abs(theirs) ** 2))
    assert abs(ours_mean - 1.0) < 5 * se
    expected_jax = (COMPLEX_TRUNCATED_STD / JAX_CONSTANT) ** 2  # 1.0186: 9 SE away from 1
    assert abs(theirs_mean - expected_jax) < 5 * se
    assert theirs_mean - 1.0 > 4 * se


def test_complex_seeded_calls_repeat_and_differ():
    a, b = vscale.HeNormal(seed=1), vscale.HeNormal(seed=1)
    first, again = a((8, 8), "complex64"), b((8, 8), "complex64")
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, a((8, 8), "complex64"))


def test_complex_dtype_names_and_errors():
    assert vscale.HeUniform()((2, 3), np.complex128).dtype == np.complex128
    with pytest.raises(ValueError, match=r"Expected a floating point or complex type.*int32"):
        vscale.HeUniform()((2, 3), "int32")
    with pytest.raises(ValueError, match=r"beyond the largest complex64"):
        vscale.VarianceScaling(1e80, distribution="uniform")((2, 2), "complex64")
