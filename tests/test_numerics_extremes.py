"""Extreme parameters: a correct finite result or a clear error, never inf/NaN/zeros (issue 3, item 4).

What a call draws depends on ``scale`` and the fans only through ``s = scale / n``
(``stddev = sqrt(s)``), so the value path is exercised over the whole range of ``s`` with a
``(1, 4096)`` weight (``fan_in = 1``): every power of 4 the dtype can take (so the deviation
is an exact power of two) and ``scale / fan`` for ``scale`` = 1e-30 .. 1e30 (every decade)
and fans 1, 2**20 and 2**40.  Fans of 2**40 themselves go through :meth:`parameters` and
through ``__call__`` with zero-size shapes (a non-empty one would need 2**40 values, which
must be refused before allocation).

The oracle for the values: with one seed, the uniform draws do not depend on ``scale``, so
the result at deviation ``sd`` is the float32 (float64) result at deviation 1, times ``sd``,
clipped to the dtype's largest value inside the support and rounded to the dtype (NumPy,
ml_dtypes).  For a power-of-two ratio every step is exact in the working dtype's normal
range, and the results agree to the last bit there.
"""

from __future__ import annotations

import math

import ml_dtypes
import mpmath
import numpy as np
import pytest
from scipy import special, stats

import vscale

DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")
SHAPE = (1, 4096)
HOST = {"float16": np.float16, "bfloat16": ml_dtypes.bfloat16, "float32": np.float32, "float64": np.float64}
TRUNCATED_STD = float(stats.truncnorm(-2, 2).std())  # SciPy, not vscale.core.TRUNCATED_STD
# Largest |value| / sd of the normal transform: the outermost grid point (1/2) * 2**-24 or
# (1/2) * 2**-53 of the working dtype, through SciPy's quantile.
# The untruncated normal's reach: the inverse CDF at the outermost grid point, or, where a
# stream draws normals natively, NumPy's ziggurat's largest value (r + 24 ln 2 / r, with
# 53 ln 2 for float64; r = 3.6541528853610088), whichever is larger.
_R = 3.6541528853610088
REACH = {
    "float32": max(-float(special.ndtri(2.0**-25)), _R + 24 * math.log(2) / _R),
    "float64": max(-float(special.ndtri(2.0**-54)), _R + 53 * math.log(2) / _R),
}
# Values agree with the oracle within this many units of the dtype's spacing: float16 and
# bfloat16 may round a float32 value that sits within float32 error of a midpoint the other
# way (1 unit); float32/float64 carry two independent errors of up to 3.6 ulp plus a rounding.
TOLERANCE_ULP = {"float16": 1, "bfloat16": 1, "float32": 8, "float64": 8}


def working(dtype: str) -> str:
    return "float64" if dtype == "float64" else "float32"


def limits(dtype: str) -> tuple[float, float]:
    """(largest, smallest normal) from NumPy / ml_dtypes."""
    info = ml_dtypes.finfo(ml_dtypes.bfloat16) if dtype == "bfloat16" else np.finfo(HOST[dtype])
    return float(info.max), float(info.smallest_normal)


def half_width(distribution: str, sd: float) -> float:
    if distribution == "truncated_normal":
        return 2 * sd / TRUNCATED_STD
    if distribution == "uniform":
        return math.sqrt(3.0) * sd
    return math.inf


def accepted_range(distribution: str, dtype: str) -> tuple[float, float]:
    """The documented thresholds on the standard deviation (docs/numerical-guarantees.md).

    Lower: the dtype's smallest normal, and the working dtype's smallest normal / eps (below
    it the transform's scaled coefficients are subnormal and precision is lost).  Upper: the
    largest value the distribution reaches must not exceed the dtype's largest value.
    """
    largest, smallest = limits(dtype)
    work_largest, work_smallest = limits(working(dtype))
    floor = max(smallest, work_smallest / float(np.finfo(HOST[working(dtype)]).eps))
    reach = {"truncated_normal": 2 / TRUNCATED_STD, "uniform": math.sqrt(3.0)}.get(distribution, REACH[working(dtype)])
    return floor, largest / reach


def largest_inside(value: float, dtype: str) -> float:
    """The largest dtype value <= value, from the dtype's own rounding (NumPy, ml_dtypes)."""
    if math.isinf(value):
        return value
    host = HOST[dtype]
    rounded = host(value)
    if float(rounded) > value:
        rounded = (
            np.nextafter(rounded, host(0))
            if dtype != "bfloat16"
            else (np.array(rounded).view(np.uint16) - np.uint16(1)).view(host)[()]
        )
    return float(rounded)


def spacing(values: np.ndarray, dtype: str) -> np.ndarray:
    """Distance from |value| to the next dtype value up (the subnormal step below the normals)."""
    host = HOST[dtype]
    magnitude = np.abs(values).astype(host)
    bits = magnitude.view(np.uint16 if host(0).itemsize == 2 else (np.uint32 if host(0).itemsize == 4 else np.uint64))
    return (bits + 1).view(host).astype(np.float64) - magnitude.astype(np.float64)


def draw(backend, distribution: str, dtype: str, scale: float) -> np.ndarray:
    init = vscale.VarianceScaling(scale, "fan_in", distribution, seed=11)
    return backend.to_numpy(init(SHAPE, dtype, xp=backend.module, device=backend.device)).ravel()


def variances(dtype: str) -> list[float]:
    """Powers of 4 from below to above the accepted range, and scale / fan over the issue's range."""
    largest, smallest = limits(working(dtype))
    low, high = math.floor(math.log2(smallest)) - 67, math.ceil(math.log2(largest))
    low, high = max(low, -537), min(high, 511)
    step = 1 if dtype != "float64" else 4  # float64: every 16th power of 2 keeps it near a second
    powers = [math.ldexp(1.0, 2 * k) for k in range(low, high + 1, step)]
    decades = [10.0**e / fan for e in range(-30, 31) for fan in (1, 2**20, 2**40)]
    return sorted(set(powers + decades))


@pytest.mark.only_backend_dtypes("dtype")
@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_every_variance_gives_the_exact_values_or_a_clear_error(backend, distribution, dtype, record_property):
    base = draw(backend, distribution, working(dtype), 1.0)  # deviation 1, working dtype
    floor, ceiling = accepted_range(distribution, dtype)
    work_floor, _ = accepted_range(distribution, working(dtype))
    accepted = refused = 0
    for s in variances(dtype):
        sd = math.sqrt(s)
        should_work = floor <= sd <= ceiling
        # Within a hair of a threshold the library's own rounding of sd may decide: skip those.
        if min(abs(math.log(sd) - math.log(floor)), abs(math.log(sd) - math.log(ceiling))) < 1e-12:
            continue
        try:
            values = draw(backend, distribution, dtype, s)
        except ValueError as error:
            assert not should_work, f"refused sd={sd:.3g} inside [{floor:.3g}, {ceiling:.3g}]: {error}"
            assert "`scale`" in str(error), error
            refused += 1
            continue
        assert should_work, f"accepted sd={sd:.3g} outside [{floor:.3g}, {ceiling:.3g}]"
        accepted += 1
        bound = largest_inside(half_width(distribution, sd), dtype)
        assert np.isfinite(values).all(), f"inf/NaN at sd={sd:.3g}"
        assert np.abs(values).max() <= bound, f"outside the support at sd={sd:.3g}"
        assert (values != 0).mean() > 0.99, f"zeros at sd={sd:.3g}"
        with np.errstate(over="ignore", under="ignore"):
            expected = np.clip(base * (sd if sd != 1 else 1.0), -bound, bound).astype(HOST[dtype]).astype(np.float64)
        if math.log2(sd) == round(math.log2(sd)) and sd >= work_floor * 2.0**24:
            # A power-of-two deviation comfortably above the floor: every step is exact.
            assert np.array_equal(values, expected), f"not the exactly scaled values at sd=2**{math.log2(sd):.0f}"
        ulps = np.abs(values - expected) / spacing(expected, dtype)
        if backend.framework == "jax" and sd < 2.0**-60 and dtype != "float64":
            # XLA flushes subnormal intermediates to zero on the CPU, so deviations within
            # 2**43 of the float32 floor lose precision there (documented); still finite,
            # inside the support and nonzero, as checked above.
            continue
        assert ulps.max() <= TOLERANCE_ULP[dtype], f"{ulps.max()} units off at sd={sd:.3g}"
    record_property("accepted_refused", (accepted, refused))
    print(
        f"{backend.name} {distribution} {dtype}: sd in [{floor:.4g}, {ceiling:.4g}] accepted "
        f"({accepted} variances checked, {refused} refused)"
    )
    assert accepted > 20
    # float64 refuses nothing: no float64 scale / n gets its deviation near 2**-970 or 1e308.
    assert (refused == 0) if dtype == "float64" else (refused > 0)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_parameters_for_fans_up_to_2_to_the_40(mode, distribution):
    """``parameters`` against mpmath at 30 digits, to 1 ulp (sqrt, then a division/product)."""
    fans = [0, 1, 2, 3, 7, 1000, 2**20, 2**31 - 1, 2**32, 2**40 - 1, 2**40]
    mpmath.mp.dps = 30
    c = mpmath.sqrt(1 - 4 * mpmath.npdf(2) / (2 * mpmath.ncdf(2) - 1))
    for exponent in range(-30, 31, 6):
        scale = 10.0**exponent
        init = vscale.VarianceScaling(scale, mode, distribution)
        for fan_in in fans:
            for fan_out in (fans[0], fans[5], fans[-1]):
                p = init.parameters((fan_in, fan_out))
                fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": mpmath.mpf(fan_in + fan_out) / 2}[mode]
                n = max(mpmath.mpf(1), mpmath.mpf(fan))
                sd = mpmath.sqrt(mpmath.mpf(scale) / n)
                assert (p.fan_in, p.fan_out) == (fan_in, fan_out)
                assert p.n == float(n)
                assert p.stddev == pytest.approx(float(sd), rel=2.0**-52)
                if distribution == "truncated_normal":
                    assert p.sigma == pytest.approx(float(sd / c), rel=2 * 2.0**-52)
                    assert p.bound == pytest.approx(float(2 * sd / c), rel=2 * 2.0**-52)
                elif distribution == "uniform":
                    assert p.bound == pytest.approx(float(mpmath.sqrt(3) * sd), rel=2 * 2.0**-52)
                else:
                    assert p.bound == math.inf


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_fan_2_to_the_40_through_call(backend, distribution):
    init = vscale.VarianceScaling(1e30, "fan_in", distribution, seed=0)
    call = {"xp": backend.module, "device": backend.device}
    # Zero-size weights with a fan of 2**40 (conv layout: receptive field 2**20 x 2**20): fine,
    # except on JAX, whose empty arrays cost time and memory in their other dimensions.
    if backend.framework == "jax":
        with pytest.raises(ValueError, match=r"`shape`.*empty.*nothing was allocated"):
            init((2**20, 2**20, 1, 0), "float32", **call)
    else:
        empty = init((2**20, 2**20, 1, 0), "float32", **call)
        assert tuple(empty.shape) == (2**20, 2**20, 1, 0)
    # Empty, but with other dimensions beyond a 64-bit size: refused the same way everywhere.
    with pytest.raises(ValueError, match=r"`shape`.*empty.*nothing was allocated"):
        init((2**40, 2**40, 0), "float32", **call)
    assert init.parameters((2**20, 2**20, 1, 0)).fan_in == 2**40
    # The same fan with values means 2**40 of them: refused before allocation, naming `shape`.
    with pytest.raises(ValueError, match=r"`shape`.*nothing was allocated"):
        init((2**20, 2**20, 1, 1), "float32", **call)
