"""The speed-ups must not cost determinism or memory: chunks, threads, in-place work.

No timings here (they live in ``vscale bench``): these tests pin the invariants that the
fast paths rely on, on every backend.
"""

from __future__ import annotations

import struct
import tracemalloc

import numpy as np
import pytest

import vscale
from tests._helpers import assert_same_values
from vscale.backends import get_backend
from vscale.core import apply, make_transform
from vscale.core.precision import largest_at_most
from vscale.core.transforms import round_toward_zero
from vscale.engine import loop as engine
from vscale.streams.pcg64 import PCG64_BLOCK as BLOCK
from vscale.streams.pcg64 import PCG64Stream

DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")
COMPLEX = ("complex64", "complex128")


ALL_DTYPES = ("float16", "bfloat16", "float32", "float64", "complex64", "complex128")


PRNGS = ("native", "threefry")


def _draw(backend, dtype: str, distribution: str, shape=(203, 107), prng="native"):
    init = vscale.VarianceScaling(2.0, "fan_avg", distribution, seed=11, prng=prng)
    return init(shape, dtype=dtype, xp=backend.module, device=backend.device)


def _jax_threefry_extra(case, params):
    # JAX compiles each of the portable transform's ~250 operations anew for every chunk
    # shape (seconds per case): one unaligned size and the working dtypes cover it.
    return (
        case is not None
        and case.framework == "jax"
        and params["prng"] == "threefry"
        and (params["chunk"] != 5 * 4099 or params["dtype"] in ("float16", "bfloat16"))
    )


@pytest.mark.only_backend_dtypes("dtype")
@pytest.mark.left_out_if(_jax_threefry_extra, "jax threefry: one unaligned chunk size per working dtype")
@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
@pytest.mark.parametrize("chunk", [1000, 4096, 5 * 4099])
@pytest.mark.parametrize("prng", PRNGS)
def test_values_do_not_depend_on_the_chunk_size(backend, distribution, chunk, dtype, prng, monkeypatch):
    """Real and complex: patched chunk sizes (aligned or not with the stream's blocks)."""
    reference = _draw(backend, dtype, distribution, prng=prng)
    monkeypatch.setattr(engine, "HOST_CHUNK", chunk)
    monkeypatch.setattr(engine, "DEVICE_CHUNK", chunk)
    chunked = _draw(backend, dtype, distribution, prng=prng)
    assert_same_values(chunked, reference, backend, dtype, err_msg=f"chunk={chunk}")


def _serial(case, params):
    """A backend whose transforms run on one thread (no GIL-free host path: JAX, array-API namespaces)."""
    backend = get_backend(case.module)
    return not backend.parallel(backend.resolve_device(case.device))


@pytest.mark.only_backend_dtypes("dtype")
@pytest.mark.left_out_if(_serial, "the engine runs its transforms on one thread there")
@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_values_do_not_depend_on_the_thread_count(backend, distribution, dtype, monkeypatch):
    """Parallel backends split large outputs between threads; the values must not change."""
    seen = []
    original = engine._ranges

    def spy(job, stream, xp):
        ranges = original(job, stream, xp)
        seen.append((len(ranges), -(-job.count // job.chunk)))
        return ranges

    monkeypatch.setattr(engine, "_ranges", spy)
    monkeypatch.setattr(engine, "HOST_CHUNK", 4096)
    monkeypatch.setattr(engine, "HOST_KERNEL_CHUNK", 4096)  # the compiled kernels' chunks
    monkeypatch.setattr(engine, "WORKSPACE_SHARE", 100.0)  # let small outputs use threads
    shape = (150, 301)  # 45150 values: 12 chunks of 4096
    results = {}
    for threads in ("1", "3", "64"):
        monkeypatch.setenv("VSCALE_NUM_THREADS", threads)
        seen.clear()
        results[threads] = _draw(backend, dtype, distribution, shape)
        # One thread never asks for ranges; more split the chunks between them.
        assert bool(seen) == (threads != "1")
        if seen:
            ranges, chunks = seen[-1]
            assert chunks >= 12 and ranges == min(int(threads), chunks)
    for threads, values in results.items():
        assert_same_values(values, results["1"], backend, dtype, err_msg=f"{threads} threads")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("normal", [False, True])
def test_the_host_stream_gives_any_range_alone(dtype, normal):
    stream = PCG64Stream(b"0123456789abcdef", np.dtype(dtype))
    total = 2 * BLOCK + 77
    whole = stream.draw(0, total, normal=normal)
    for start, count in [(0, 1), (1, 2), (3, 1000), (BLOCK - 1, 3), (BLOCK + 5, BLOCK), (2 * BLOCK, 77)]:
        np.testing.assert_array_equal(stream.draw(start, count, normal=normal), whole[start : start + count])
    other = PCG64Stream(b"0123456789abcdeF", np.dtype(dtype)).draw(0, 64, normal=normal)
    assert not np.array_equal(other, whole[:64])


@pytest.mark.only_backend_dtypes("name")
@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
@pytest.mark.parametrize("name", ["float32", "float64"])
def test_outermost_grid_points_stay_inside_the_support(backend, distribution, name):
    """The first and last uniform grid points give the largest |values|: never past the bound."""
    xp = get_backend(backend.module).xp
    dtype = getattr(xp, name)
    half_eps = float(xp.finfo(dtype).eps) / 2
    bound = largest_at_most(2.0 * 0.37 if distribution == "truncated_normal" else 0.37, name)
    transform = make_transform(distribution, 0.37, bound)
    u = xp.asarray([0.0, 1.0 - half_eps, 0.5], dtype=dtype, device=backend.device)
    values = backend.to_numpy(apply(u, transform, xp=xp))
    assert np.all(np.isfinite(values))
    assert values[0] == -values[1]
    if distribution != "untruncated_normal":
        assert np.all(np.abs(values) <= bound)


@pytest.mark.parametrize("distribution", ("untruncated_normal", "uniform"))
def test_apply_works_in_place_where_no_clip_is_needed(backend, distribution):
    """The loop skips the copy into the output only when apply returns its input."""
    if not backend.mutable:
        pytest.skip(f"{backend.name} arrays are immutable: every step makes a new array")
    xp = get_backend(backend.module).xp
    u = xp.asarray([0.25, 0.5, 0.75], dtype=xp.float32, device=backend.device)
    bound = round_toward_zero(0.5, 32)
    assert apply(u, make_transform(distribution, 0.5, bound), xp=xp) is u


@pytest.mark.parametrize("value", [0.1, 1.0 / 3.0, 2.0**-130, 3.0e38, 1.0, 0.7071067811865476])
def test_round_toward_zero_is_the_largest_float32_not_above(value):
    rounded = round_toward_zero(value, 32)
    assert rounded <= value
    assert struct.unpack("<f", struct.pack("<f", rounded))[0] == rounded  # a float32
    assert float(np.nextafter(np.float32(rounded), np.float32(np.inf))) > value


def _traced_peak(call):
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.left_out_if(
    lambda case, params: (
        params["prng"] == "threefry" and (params["threads"] == "64" or params["dtype"] in ("float64", "complex64"))
    ),
    "threefry runs on one thread on hosts; its narrow dtypes bound it (seconds per case)",
)
@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "complex64"])
@pytest.mark.parametrize("threads", ["1", "64"])
@pytest.mark.parametrize("prng", PRNGS)
def test_peak_memory_stays_within_a_tenth_of_the_output(distribution, dtype, threads, prng, monkeypatch):
    """NumPy (tracemalloc sees every allocation): <= 1.1x a 64 MiB output, for any thread count."""
    monkeypatch.setenv("VSCALE_NUM_THREADS", threads)
    itemsize = np.dtype(dtype).itemsize
    count = (64 * 2**20) // itemsize
    init = vscale.VarianceScaling(1.0, "fan_in", distribution, seed=0, prng=prng)
    peak = _traced_peak(lambda: init((count // 4096, 4096), dtype=dtype))
    assert peak <= 1.1 * count * itemsize, f"peak {peak / 2**20:.1f} MiB"


@pytest.mark.parametrize("layout", ["contiguous", "transposed", "strided"])
@pytest.mark.parametrize("dtype", ["float16", "float32", "complex64"])
def test_fill_adds_at_most_a_tenth_of_the_array(layout, dtype, monkeypatch):
    """fill_ writes in place: no temporary of the array's size, whatever its layout."""
    monkeypatch.setenv("VSCALE_NUM_THREADS", "64")
    base = np.zeros((2048, 4096) if layout != "strided" else (2048, 8192), dtype=dtype)
    target = {"contiguous": base, "transposed": base.T, "strided": base[:, ::2]}[layout]
    init = vscale.VarianceScaling(1.0, "fan_in", "truncated_normal", seed=0)
    peak = _traced_peak(lambda: init.fill_(target))
    assert peak <= 0.1 * target.size * target.itemsize, f"peak {peak / 2**20:.1f} MiB"
    expected = vscale.VarianceScaling(1.0, "fan_in", "truncated_normal", seed=0)(target.shape, dtype)
    np.testing.assert_array_equal(target, expected)


def test_thread_budget_follows_the_output_size():
    """The engine's own rule, checked against the formula it documents."""
    job = engine.Job(
        count=16 * 2**20, transform=make_transform("uniform", 1.0, 1.0), working=np.dtype("float32"),
        complex_dtype=None, in_place=True, chunk=engine.HOST_CHUNK, output_bytes=64 * 2**20, threads=64,
    )  # fmt: skip
    stream = PCG64Stream(b"k" * 16, np.dtype("float32"))
    ranges = engine._ranges(job, stream, np)
    per_thread = engine.TEMPORARIES["uniform"] * engine.HOST_CHUNK * 4
    budget = engine.WORKSPACE_SHARE * 64 * 2**20 + engine.WORKSPACE_FLOOR
    assert len(ranges) == min(64, int(budget // per_thread))
    assert ranges[0][0] == 0 and ranges[-1][1] == job.count
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))


@pytest.mark.backends("cupy", "torch:cuda")  # device memory; host memory: the tests above
@pytest.mark.only_backend_dtypes("dtype")
@pytest.mark.parametrize("prng", PRNGS)
@pytest.mark.parametrize("dtype", ["float16", "float32"])
@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_device_peak_memory_stays_within_a_tenth_of_the_output(backend, distribution, dtype, prng):
    """GPUs: from 2**24 values up, a call's peak device memory is <= 1.1x its output
    (CuPy: the bytes its memory pool holds, cached blocks included; torch: the allocator's peak)."""
    init = vscale.VarianceScaling(1.0, "fan_in", distribution, seed=0, prng=prng)
    shape = (4096, 4096)
    output = 4096 * 4096 * np.dtype(dtype).itemsize
    init(shape, dtype, xp=backend.module, device=backend.device)  # compile the kernels first
    if backend.framework == "cupy":
        pool = backend.module.get_default_memory_pool()
        pool.free_all_blocks()
        result = init(shape, dtype, xp=backend.module, device=backend.device)
        backend.module.cuda.Device().synchronize()
        peak = pool.total_bytes()
    else:
        torch = backend.module
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        result = init(shape, dtype, xp=torch, device=backend.device)
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() - before
    assert result.shape == shape
    assert peak <= 1.1 * output, f"peak {peak / output:.2f}x the output"


@pytest.mark.parametrize("kernels", ["1", "0"], ids=["compiled", "operations"])
def test_the_portable_stream_uses_threads_only_as_a_compiled_loop(monkeypatch, kernels):
    """As NumPy operations (~190 small passes a chunk) threads convoy on the GIL (measured:
    1.5x slower on 2 cores), so they run on one; the compiled loop releases the GIL."""
    from vscale.kernels import host as _host_kernels

    if kernels == "1" and _host_kernels._speedups is None:
        pytest.skip(f"vscale was built without its compiled kernels ({_host_kernels.MISSING})")
    seen = []
    original = engine.run
    monkeypatch.setattr(engine, "run", lambda job, *a, **k: (seen.append(job.threads), original(job, *a, **k))[1])
    monkeypatch.setenv("VSCALE_NUM_THREADS", "8")
    monkeypatch.setenv("VSCALE_KERNELS", kernels)
    vscale.VarianceScaling(seed=0, prng="threefry")((512, 512))
    vscale.VarianceScaling(seed=0)((512, 512))
    assert seen == [8 if kernels == "1" else 1, 8]
