"""prng="threefry": JAX's stream and constructions, the same bits on every backend, regions.

Oracles: the published Threefry-2x32-20 known-answer vectors (Random123's kat_vectors),
JAX itself (``jax.random.bits``, its Threefry primitive, ``jax.nn.initializers``), mpmath
and SciPy for the inverse CDF, and Python's exact rationals for the fused multiply-add.
"""

from __future__ import annotations

import math
import pickle
from fractions import Fraction

import numpy as np
import pytest

import vscale
from tests._helpers import assert_array_like, jax_has_x64, require_x64
from vscale import streams
from vscale.backends import get_backend
from vscale.core import portable, threefry

jax = pytest.importorskip("jax", reason="JAX is the oracle of the portable stream")
jnp = jax.numpy

DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")
JAX_NAMES = {"truncated_normal": "truncated_normal", "untruncated_normal": "normal", "uniform": "uniform"}
# Random123 1.09, examples/kat_vectors: threefry2x32_20 (counter words, key words, output words).
KNOWN_ANSWERS = [
    ((0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x6B200159, 0x99BA4EFE)),
    ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    ((0x243F6A88, 0x85A308D3), (0x13198A2E, 0x03707344), (0xC4923A9C, 0x483DF7A0)),
]


def _init(distribution="truncated_normal", seed=7, scale=2.0, mode="fan_in", **kwargs):
    return vscale.VarianceScaling(scale, mode, distribution, seed=seed, prng="threefry", **kwargs)


def _call(init, backend, shape, dtype, **kwargs):
    return init.sample(shape, dtype, xp=backend.module, device=backend.device, **kwargs)


def _require(backend, dtype):
    real = {"complex64": "float32", "complex128": "float64"}.get(dtype, dtype)
    if real not in backend.dtypes:
        pytest.skip(f"{backend.name} has no {dtype}")


def _compute(backend):
    adapter = get_backend(backend.module)
    device = adapter.resolve_device(backend.device)
    xp, compute_device = adapter.compute(device)
    word, index = adapter.threefry_dtypes(xp, device)
    return xp, compute_device, word, index


# -- the generator --------------------------------------------------------------------------


@pytest.mark.parametrize(("counter", "key", "expected"), KNOWN_ANSWERS)
def test_known_answers_in_python_integers(counter, key, expected):
    assert threefry.threefry2x32_words(key, counter) == expected


@pytest.mark.parametrize(("counter", "key", "expected"), KNOWN_ANSWERS)
def test_known_answers_on_every_backend(backend, counter, key, expected):
    """The array rounds, in the backend's compute namespace and word dtype (masked when wide)."""
    xp, device, word, _ = _compute(backend)
    x0 = xp.full((3,), counter[0], dtype=word, device=device)
    x1 = xp.full((3,), counter[1], dtype=word, device=device)
    as_word = lambda value: xp.asarray(value, dtype=word, device=device)  # noqa: E731 - as the stream does
    y0, y1 = threefry.threefry2x32(key, x0, x1, wide=xp.iinfo(word).bits > 32, word=as_word)
    assert [int(v) for v in np.asarray(y0).tolist()] == [expected[0]] * 3
    assert [int(v) for v in np.asarray(y1).tolist()] == [expected[1]] * 3


@pytest.mark.parametrize("seed", [0, 1, 2**32 - 1, 2**32, 2**62 + 12345])
@pytest.mark.parametrize("shape", [(1,), (7, 5), (2, 3, 64, 9)])
def test_bits_equal_jax_random_bits(seed, shape):
    import array_api_compat.numpy as anp

    count = math.prod(shape)
    key = threefry.key_of_seed(seed)
    x0, x1 = threefry.counters(0, count, xp=anp, word=np.uint32)
    y0, y1 = threefry.threefry2x32(key, x0, x1, wide=False)
    if seed >= 2**32 and not jax_has_x64():
        # JAX without its 64-bit types keeps a seed's low 32 bits (key(2**32) is key(0));
        # vscale keeps all 64, so distinct seeds stay distinct streams (docs: reproducibility).
        truncated = np.asarray(jax.random.bits(jax.random.key(seed % 2**32), shape, jnp.uint32)).ravel()
        assert not np.array_equal(y0 ^ y1, truncated)
        return
    expected32 = np.asarray(jax.random.bits(jax.random.key(seed), shape, jnp.uint32)).ravel()
    np.testing.assert_array_equal(y0 ^ y1, expected32)
    if not jax_has_x64():
        return  # JAX makes no 64-bit draws without its 64-bit types; the 32-bit ones were checked
    expected64 = np.asarray(jax.random.bits(jax.random.key(seed), shape, jnp.uint64)).ravel()
    np.testing.assert_array_equal((y0.astype(np.uint64) << np.uint64(32)) | y1, expected64)


def test_counters_beyond_two_to_the_32_match_jax_primitive(backend):
    """Positions with a high word (tensors of more than 2**32 values): JAX's own Threefry on those counters."""
    from jax.extend.random import threefry_2x32

    xp, device, word, index = _compute(backend)
    if index is None:
        pytest.skip(f"{backend.name}: no 64-bit integers")
    positions = np.array([2**32 - 2, 2**32 - 1, 2**32, 2**32 + 1, 5 * 2**32 + 77, 2**40 + 3], dtype=np.int64)
    key = (0x12345678, 0x9ABCDEF0)
    x0, x1 = threefry.split_positions(xp.asarray(positions, device=device), xp=xp, word=word)
    y0, y1 = threefry.threefry2x32(key, x0, x1, wide=xp.iinfo(word).bits > 32)
    count = np.concatenate([positions >> 32, positions & 0xFFFFFFFF]).astype(np.uint32)
    expected = np.asarray(threefry_2x32(jnp.asarray(key, dtype=jnp.uint32), jnp.asarray(count)))
    np.testing.assert_array_equal(np.asarray(y0).astype(np.uint32), expected[: len(positions)])
    np.testing.assert_array_equal(np.asarray(y1).astype(np.uint32), expected[len(positions) :])


def test_a_stream_range_across_a_page_boundary_matches_single_positions():
    import array_api_compat.numpy as anp

    from vscale.core.threefry import ThreefryStream

    stream = ThreefryStream((5, 6), anp, None, np.float32, np.uint32, "jax", index=np.int64)
    across = stream.draw(2**32 - 3, 6)
    singles = np.concatenate([stream.draw(p, 1) for p in range(2**32 - 3, 2**32 + 3)])
    np.testing.assert_array_equal(across, singles)


@pytest.mark.parametrize("call", [1, 2, 1000])
def test_later_calls_use_jax_fold_in(call):
    expected = jax.random.key_data(jax.random.fold_in(jax.random.key(9), call))
    assert threefry.fold_in(threefry.key_of_seed(9), call) == tuple(int(v) for v in np.asarray(expected))


# -- JAX's initializers, reproduced ------------------------------------------------------------


def _ulps(actual, desired):
    desired = np.asarray(desired)
    spacing = np.spacing(np.abs(desired)).astype(np.float64)
    return np.abs(np.asarray(actual, np.float64) - desired.astype(np.float64)) / spacing


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("shape", [(300, 200), (3, 3, 16, 32), (5000, 1)])
def test_uniform_is_jax_bit_for_bit(dtype, mode, shape):
    if dtype == "float64":
        require_x64("JAX's float64 initializer")
    for call in range(2):
        init = _init("uniform", seed=3, scale=1.7, mode=mode)
        for _ in range(call):
            init((1,))
        key = jax.random.key(3) if call == 0 else jax.random.fold_in(jax.random.key(3), call)
        expected = jax.nn.initializers.variance_scaling(1.7, mode, "uniform")(key, shape, getattr(jnp, dtype))
        np.testing.assert_array_equal(init(shape, dtype), np.asarray(expected))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_truncated_uniforms_are_jax_fused_multiply_adds(dtype):
    """XLA fuses f * (b - a) + a into one rounding; the emulation gives JAX's u exactly."""
    if dtype == "float64":
        require_x64("JAX's float64 uniforms")
    import array_api_compat.numpy as anp

    from vscale.core.portable import portable_transform

    real = np.dtype(dtype).type
    key = jax.random.key(11)
    f = np.asarray(jax.random.uniform(key, (1 << 20,), getattr(jnp, dtype)))
    transform = portable_transform("truncated_normal", 1.0, 1.0, dtype, dtype)
    u = np.maximum(portable.fused_multiply_add(f.copy(), transform, xp=anp), real(transform.low))
    low, high = real(math.erf(-math.sqrt(2.0))), real(math.erf(math.sqrt(2.0)))
    np.testing.assert_array_equal(u, np.asarray(jax.random.uniform(key, f.shape, getattr(jnp, dtype), low, high)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_jax_truncation_constants_are_the_rounded_erf(dtype):
    if dtype == "float64":
        require_x64("JAX's float64 erf")
    real = np.dtype(dtype).type
    lower = jax.lax.erf(jnp.asarray(-2.0, getattr(jnp, dtype)) / jnp.asarray(np.sqrt(2), getattr(jnp, dtype)))
    assert float(lower) == float(real(math.erf(-math.sqrt(2.0))))


def _exact_normal(u, factor):
    """sqrt(2) * erfinv(u) * factor in 40 digits (mpmath)."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    return np.array(
        [float(mpmath.sqrt(2) * mpmath.erfinv(mpmath.mpf(float(x))) * mpmath.mpf(float(factor))) for x in u]
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("distribution", ["truncated_normal", "untruncated_normal"])
def test_normals_match_jax_up_to_jaxs_own_error(dtype, distribution):
    """Against JAX and against the exact inverse CDF of JAX's own uniforms.

    float32 truncated normal: within 4 ulp of JAX for 99.9% of values and 8 everywhere.
    Elsewhere XLA's erf_inv (1 - x*x rounded, then log1p) is off the exact value by up to
    ~90 ulp (float32 tails) and thousands (float64): there vscale stays within 2 ulp of the
    exact value, so it differs from JAX by JAX's own error, which the test measures.
    """
    if dtype == "float64":
        require_x64("JAX's float64 normals")
    shape = (400, 500)
    init = _init(distribution, seed=3, scale=1.0, mode="fan_in")
    ours = init(shape, dtype).ravel()
    key = jax.random.key(3)
    theirs = np.asarray(
        jax.nn.initializers.variance_scaling(1.0, "fan_in", JAX_NAMES[distribution])(key, shape, getattr(jnp, dtype))
    ).ravel()
    distance = _ulps(ours, theirs)
    if dtype == "float32" and distribution == "truncated_normal":
        assert np.quantile(distance, 0.999) <= 4 and distance.max() <= 8
    # The largest differences, checked against the exact transform of JAX's uniforms.
    real = np.dtype(dtype).type
    if distribution == "truncated_normal":
        low, high = real(math.erf(-math.sqrt(2.0))), real(math.erf(math.sqrt(2.0)))
        factor = np.sqrt(real(1 / 400)) / real(0.87962566103423978)
    else:
        low, high = np.nextafter(real(-1), real(0)), real(1)
        factor = np.sqrt(real(1 / 400))
    u = np.asarray(jax.random.uniform(key, (ours.size,), getattr(jnp, dtype), low, high))
    worst = np.argsort(distance)[-200:]
    exact = _exact_normal(u[worst], factor)
    ours_error = _ulps(ours[worst], exact.astype(dtype))
    jax_error = _ulps(theirs[worst], exact.astype(dtype))
    assert ours_error.max() <= 3
    assert np.all(distance[worst] <= jax_error + 3)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_portable_normals_are_accurate_everywhere(dtype):
    """The whole set of the normal's uniforms' extremes and a dense sample, against SciPy's erfinv."""
    special = pytest.importorskip("scipy.special")
    import array_api_compat.numpy as anp

    from vscale.core.portable import portable_transform

    real = np.dtype(dtype).type
    mantissa = np.finfo(real).nmant
    m = np.concatenate(
        [
            np.arange(0, 4096),
            (1 << mantissa) - 1 - np.arange(4096),
            np.random.default_rng(0).integers(0, 1 << mantissa, 200_000),
        ]
    )
    f = m.astype(real) * real(2.0**-mantissa)
    for kind in ("untruncated_normal", "truncated_normal"):
        transform = portable_transform(kind, 1.0, 1.0, dtype, dtype)
        values = portable.apply(f.copy(), transform, xp=anp)
        if kind == "untruncated_normal":
            u = f.astype(np.float64) * 2 + float(transform.low)
        else:
            u = np.maximum(portable.fused_multiply_add(f.copy(), transform, xp=anp), real(transform.low)).astype(
                np.float64
            )
        assert np.all(np.isfinite(values))
        assert np.all(np.abs(values) <= transform.bound)
        # float32: SciPy's float64 erfinv is exact at float32's resolution.  float64: mpmath's
        # 40 digits on the extremes and a sample (SciPy's own float64 error is ~2 ulp).
        if dtype == "float32":
            exact = special.erfinv(u) * transform.factor
            assert _ulps(values, exact.astype(dtype)).max() <= 3, kind
        else:
            picks = np.concatenate([np.arange(300), np.arange(4096, 4396), np.arange(8192, 9192)])
            exact = _exact_normal(u[picks], 1.0) * (transform.factor / math.sqrt(2.0))
            assert _ulps(values[picks], exact).max() <= 3, kind


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_generator_jax_key_reproduces_jax_on_every_backend(backend, distribution):
    _require(backend, "float32")
    key = jax.random.split(jax.random.key(5))[1]
    init = _init(distribution, seed=None, scale=1.0, mode="fan_avg")
    ours = _call(init, backend, (64, 48), "float32", generator=key)
    reference = _init(distribution, seed=None, scale=1.0, mode="fan_avg").sample((64, 48), "float32", generator=key)
    theirs = jax.nn.initializers.variance_scaling(1.0, "fan_avg", JAX_NAMES[distribution])(key, (64, 48), jnp.float32)
    if distribution == "uniform":
        np.testing.assert_array_equal(backend.to_numpy(ours, np.float32), np.asarray(theirs))
    else:
        assert _ulps(backend.to_numpy(ours, np.float32), np.asarray(theirs)).max() <= 100
    assert_array_like(ours, backend, (64, 48), "float32")
    np.testing.assert_array_equal(backend.to_numpy(ours), np.asarray(reference, np.float64))


# -- the same bits everywhere ---------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_same_bits_on_every_backend(backend, distribution, dtype):
    """Each backend against NumPy; bfloat16 against float32 values rounded once (ml_dtypes)."""
    _require(backend, dtype)
    shape = (257, 129)
    values = backend.to_numpy(_call(_init(distribution), backend, shape, dtype), np.float64)
    if dtype == "bfloat16":
        import ml_dtypes

        single = _init(distribution)(shape, "float32")
        bound = np.float32(_init(distribution)._transform(shape, _init()._fan_layout(), "bfloat16").bound)
        expected = np.clip(single, -bound, bound).astype(ml_dtypes.bfloat16).astype(np.float64)
    else:
        expected = _init(distribution)(shape, dtype).astype(np.float64)
    np.testing.assert_array_equal(values, expected)


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_complex_values_agree_across_backends_within_their_math_library(backend, distribution, dtype):
    """Complex draws are the same bits everywhere; log, sin and cos are each library's own,
    so the values agree to a few ulps (bit for bit between NumPy and torch CPU)."""
    _require(backend, dtype)
    ours = backend.to_numpy(_call(_init(distribution), backend, (99, 31), dtype), np.complex128)
    reference = np.asarray(_init(distribution)((99, 31), dtype), np.complex128)
    eps = np.finfo(np.float32 if dtype == "complex64" else np.float64).eps
    scale = np.abs(reference).max()
    # XLA's float64 log, sin and cos are the least accurate (measured: 1.4e-15 here).
    ulps = 64 if backend.framework == "jax" else 16
    np.testing.assert_allclose(ours, reference, rtol=0, atol=ulps * eps * scale)
    if backend.name in ("numpy", "torch:cpu"):
        np.testing.assert_array_equal(ours, reference)


@pytest.mark.parametrize("smallest", [2.0**-5, 2.0**-24, 2.0**-54], ids=["narrow", "float32", "float64"])
def test_portable_log_is_the_same_bits_everywhere_and_within_an_ulp(backend, smallest):
    """Both range reductions (thresholds one by one, binary steps), every backend vs NumPy."""
    xp, device, _, _ = _compute(backend)
    rng = np.random.default_rng(1)
    for dtype in ("float32", "float64"):
        if dtype not in backend.dtypes:
            continue
        x = np.exp(rng.uniform(math.log(smallest), 0.0, 50_000)).astype(dtype)
        x = np.concatenate([x, np.array([smallest, 1.0, 0.5, 0.75, math.sqrt(0.5)], dtype)])
        import array_api_compat.numpy as anp

        result = portable.log(xp.asarray(x.copy(), device=device), xp=xp, smallest=smallest)
        ours = result if isinstance(result, np.ndarray) else backend.to_numpy(result)

        reference = portable.log(x.copy(), xp=anp, smallest=smallest)
        np.testing.assert_array_equal(np.asarray(ours, np.float64), reference.astype(np.float64))
        if dtype == "float32":
            assert _ulps(reference, np.log(x.astype(np.float64)).astype(np.float32)).max() <= 1
        else:
            mpmath = pytest.importorskip("mpmath")
            mpmath.mp.dps = 40
            picks = x[:: len(x) // 500]
            exact = np.array([float(mpmath.log(mpmath.mpf(float(v)))) for v in picks])
            assert _ulps(portable.log(picks.copy(), xp=anp, smallest=smallest), exact).max() <= 1


@pytest.mark.parametrize("route", ["emulated", "through float64"])
def test_fused_multiply_add_is_correctly_rounded_including_ties(route, monkeypatch):
    """Against exact rationals, with widths and offsets that put many results on ties.

    float32 takes the float64 route where the namespace has float64; the error-free
    emulation (float64, and float32 on JAX without x64) is forced in the other case.
    """
    import array_api_compat.numpy as anp

    if route == "emulated":
        monkeypatch.setattr(portable, "_has_float64", lambda xp: False)
    from vscale.core.portable import PortableTransform

    rng = np.random.default_rng(2)
    ties = 0
    for dtype in (np.float32, np.float64):
        mantissa = np.finfo(dtype).nmant
        split = float(2 ** ((mantissa + 2) // 2) + 1)
        for width, low in (
            (3.0, 2.0**-24),
            (1.5, -1.0 + 2.0**-20),
            (1.9089994430541992, -0.9544997215270996),
            (1.0 + 2.0**-mantissa, -0.5),
        ):
            width, low = dtype(width), dtype(low)
            scaled = width * dtype(split)
            high = scaled - (scaled - width)
            transform = PortableTransform(
                "truncated_normal", 1.0, 1.0, float(low), float(width), 1.0, (float(high), float(width - high)), split
            )
            m = rng.integers(0, 1 << mantissa, 20_000, dtype=np.int64)
            f = (m.astype(np.float64) * 2.0**-mantissa).astype(dtype)
            ours = portable.fused_multiply_add(f.copy(), transform, xp=anp)
            exact = [Fraction(float(x)) * Fraction(float(width)) + Fraction(float(low)) for x in f]
            expected = np.array([_round(e, dtype) for e in exact], dtype=dtype)
            np.testing.assert_array_equal(ours, expected)
            plain = f * width + low
            ties += int(np.sum(plain != expected))
    assert ties > 0  # the double rounding that the emulation exists to avoid did occur


def _round(value: Fraction, dtype) -> float:
    """Round an exact rational to ``dtype`` (nearest, ties to even)."""
    if dtype is np.float64:
        return float(value)  # Fraction -> float is correctly rounded
    below = np.float32(float(value))
    candidates = sorted(
        {np.nextafter(below, np.float32(-np.inf)), below, np.nextafter(below, np.float32(np.inf))},
        key=lambda c: (abs(Fraction(float(c)) - value), int(np.array(c).view(np.uint32)) & 1),
    )
    return float(candidates[0])


# -- regions -------------------------------------------------------------------------------


REGIONS = [
    (slice(3, 40, 2), slice(None, None, -3)),
    (slice(0, 1),),
    (slice(None), slice(47, 48)),
    (slice(10, 10), slice(None)),
    (slice(None, None, 7), slice(5, 2, -1)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64"])
@pytest.mark.parametrize("region", REGIONS, ids=str)
def test_region_is_the_slice_of_the_whole_call(backend, region, dtype):
    _require(backend, dtype)
    if backend.framework == "jax":
        require_x64("regions (64-bit positions) on JAX")
    whole = backend.to_numpy(_call(_init(), backend, (64, 48), dtype), complex if "complex" in dtype else float)
    init = _init()
    piece = _call(init, backend, (64, 48), dtype, region=region)
    assert_array_like(piece, backend, whole[region].shape, dtype)
    np.testing.assert_array_equal(backend.to_numpy(piece, complex if "complex" in dtype else float), whole[region])


def test_regions_of_one_logical_call_tile_the_tensor(backend):
    """Shards made by separate initializers with one seed, at one call index, fit together."""
    if backend.framework == "jax":
        require_x64("regions (64-bit positions) on JAX")
    shape = (3, 20, 11)
    whole = backend.to_numpy(_call(_init(), backend, shape, "float32"))
    rows = []
    for first in range(0, 20, 6):
        init = _init()
        init((2,))  # call 0 elsewhere: the region is call 1 of every initializer
        rows.append(
            backend.to_numpy(_call(init, backend, shape, "float32", region=(slice(None), slice(first, first + 6))))
        )
    later = _init()
    later((2,))
    np.testing.assert_array_equal(
        np.concatenate(rows, axis=1), backend.to_numpy(_call(later, backend, shape, "float32"))
    )
    assert not np.array_equal(rows[0], whole[:, :6])  # the region counted as a call


@pytest.mark.parametrize("kernels", ["1", "0"], ids=["compiled", "operations"])
@pytest.mark.parametrize(
    "region, size",
    [((slice(100, 141), slice(None)), 41 * 4096), ((slice(None), slice(1000, 1300)), 4096 * 300)],
    ids=["rows", "columns"],
)
def test_a_region_draws_only_its_own_positions(monkeypatch, kernels, region, size):
    """Cost proportional to the region: the stream, or the compiled loop, computes exactly its positions."""
    from vscale.core import threefry as _threefry
    from vscale.kernels import host as _host_kernels

    monkeypatch.setenv("VSCALE_KERNELS", kernels)
    drawn = []
    draw = _threefry.ThreefryStream.draw
    portable = _host_kernels.portable_kernel

    def spy_draw(self, start, count, out=None, *, normal=False):
        drawn.append(count)
        return draw(self, start, count, out, normal=normal)

    def spy_portable(*args):
        fill = portable(*args)
        if fill is None:
            return None
        return lambda start, count, out: (drawn.append(count), fill(start, count, out))[1]

    _init()((3, 4096), "float32")  # compiled (and checked) before counting
    monkeypatch.setattr(_threefry.ThreefryStream, "draw", spy_draw)
    monkeypatch.setattr(_host_kernels, "portable_kernel", spy_portable)
    _init().sample((4096, 4096), "float32", region=region)
    assert sum(drawn) == size


@pytest.mark.parametrize("region", REGIONS[:3], ids=str)
def test_native_regions_where_the_stream_seeks(backend, region):
    init = vscale.VarianceScaling(2.0, "fan_in", "untruncated_normal", seed=4)
    adapter = get_backend(backend.module)
    if not streams.seeks(adapter, adapter.resolve_device(backend.device)):
        with pytest.raises(ValueError, match='prng="threefry"'):
            _call(init, backend, (64, 48), "float32", region=region)
        assert init._calls == 0  # refused before the key was drawn
        return
    whole = backend.to_numpy(
        _call(vscale.VarianceScaling(2.0, "fan_in", "untruncated_normal", seed=4), backend, (64, 48), "float32")
    )
    np.testing.assert_array_equal(
        backend.to_numpy(_call(init, backend, (64, 48), "float32", region=region)), whole[region]
    )


@pytest.mark.parametrize(
    ("region", "error", "match"),
    [
        ((1, slice(None)), TypeError, "tuple of slices"),
        ("rows", TypeError, "tuple of slices"),
        ((slice(None),) * 3, ValueError, "rank 2"),
        ((slice(0, 4, 0),), ValueError, "step 0"),
        ((slice(0.5, 4),), TypeError, "integers"),
    ],
)
def test_bad_regions_are_refused_by_name(region, error, match):
    init = _init()
    with pytest.raises(error, match=match):
        init.sample((8, 8), region=region)
    assert init._calls == 0


# -- configuration -----------------------------------------------------------------------------


def test_prng_round_trips_through_configs():
    init = _init("uniform", seed=12)
    config = init.get_config()
    assert config["prng"] == "threefry"
    assert vscale.VarianceScaling.from_config(config).prng == "threefry"
    assert vscale.get(vscale.serialize(init)).prng == "threefry"
    preset = vscale.HeNormal(seed=1, prng="threefry")
    assert preset.get_config() == {"seed": 1, "prng": "threefry"}
    assert vscale.HeNormal.from_config(preset.get_config()).prng == "threefry"
    assert "prng" not in vscale.VarianceScaling(seed=1).get_config()  # loads in Keras unchanged
    copy = pickle.loads(pickle.dumps(init))
    np.testing.assert_array_equal(copy((5, 5)), init((5, 5)))


def test_bad_prng_and_seed_are_refused():
    with pytest.raises(ValueError, match="prng"):
        vscale.VarianceScaling(prng="philox")
    with pytest.raises(ValueError, match="prng"):
        vscale.VarianceScaling(prng=3)
    with pytest.raises(ValueError, match="2\\*\\*64"):
        vscale.VarianceScaling(seed=2**64, prng="threefry")
    vscale.VarianceScaling(seed=2**64, prng="native")


def test_unseeded_threefry_follows_the_global_generator():
    import torch

    torch.manual_seed(3)
    first = _init(seed=None)((50,), xp="torch")
    torch.manual_seed(3)
    again = _init(seed=None)((50,), xp="torch")
    later = _init(seed=None)((50,), xp="torch")
    torch.manual_seed(4)
    other = _init(seed=None)((50,), xp="torch")
    assert torch.equal(first, again) and not torch.equal(first, later) and not torch.equal(first, other)


@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_fill_a_shard_in_place(backend, layout):
    """fill_(local, shape=global, region=...) writes the region of the global call into a local array."""
    if not backend.mutable:
        pytest.skip(f"{backend.name} arrays are immutable")
    whole = backend.to_numpy(_call(_init(), backend, (40, 24), "float32"))
    xp = backend.module
    if layout == "contiguous":
        local = xp.zeros((10, 24), dtype=backend.native_dtype("float32"), device=backend.device)
    else:
        local = xp.zeros((24, 10), dtype=backend.native_dtype("float32"), device=backend.device).T
    result = _init(layout="keras").fill_(local, shape=(40, 24), region=(slice(10, 20),))
    assert result is local
    np.testing.assert_array_equal(backend.to_numpy(local), whole[10:20])
    with pytest.raises(ValueError, match="region's shape"):
        _init().fill_(local, shape=(40, 24), region=(slice(10, 21),))


@pytest.mark.parametrize(
    ("shape", "region"),
    [((2**40, 2**40), (slice(2**40 - 2, None), slice(0, 3))), ((2**62, 2, 2), (slice(0, 1),))],
)
def test_regions_of_shapes_beyond_64_bit_positions_are_refused_by_name(shape, region):
    init = _init()
    with pytest.raises(ValueError, match="`shape`.*2\\*\\*63"):
        init.sample(shape, region=region)
    assert init._calls == 0


def test_regions_at_the_top_of_the_64_bit_positions():
    """The last positions below 2**63 (high counter word near 2**31), whole rows and single
    elements, against the same positions drawn through the stream directly."""
    import array_api_compat.numpy as anp

    from vscale.core.threefry import ThreefryStream

    shape = (2**31, 2**32 - 1)
    region = (slice(2**31 - 2, None), slice(2**32 - 4, None, 2))
    values = _init("uniform", scale=1.0).sample(shape, "float64", region=region)
    positions = [r * shape[1] + c for r in (2**31 - 2, 2**31 - 1) for c in (2**32 - 4, 2**32 - 2)]
    stream = ThreefryStream(threefry.key_of_seed(7), anp, None, np.dtype("float64"), np.uint32, "jax")
    transform = _init("uniform", scale=1.0)._transform(shape, _init()._fan_layout(), "float64")
    expected = np.concatenate([portable.apply(stream.draw(p, 1), transform, xp=anp) for p in positions])
    np.testing.assert_array_equal(values.ravel(), expected)


def test_every_float32_draw_of_the_portable_normals():
    """All 2**23 uniforms JAX's float32 grid has, through both normal transforms: finite,
    inside the support, and within 3.6 ulp of SciPy's float64 erfinv (exact at float32's
    resolution; measured 3.58, the float32 polynomial's own bound, as on the native path)."""
    special = pytest.importorskip("scipy.special")
    import array_api_compat.numpy as anp

    from vscale.core.portable import portable_transform

    f = np.arange(1 << 23, dtype=np.float32) * np.float32(2.0**-23)
    for kind in ("truncated_normal", "untruncated_normal"):
        transform = portable_transform(kind, 1.0, 1.0, "float32", "float32")
        values = portable.apply(f.copy(), transform, xp=anp)
        assert np.all(np.isfinite(values)) and np.all(np.abs(values) <= transform.bound)
        if kind == "untruncated_normal":
            u = f.astype(np.float64) * 2 + transform.low
        else:
            u = np.maximum(portable.fused_multiply_add(f.copy(), transform, xp=anp), np.float32(transform.low))
        exact = special.erfinv(np.asarray(u, np.float64)) * transform.factor
        spacing = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
        assert (np.abs(values - exact) / spacing).max() <= 3.6, kind
