"""The compiled host kernels: built with the package, the array operations' bits, hostile buffers.

Every comparison is against the core's array operations (``VSCALE_KERNELS=0``), which the
cross-backend tests compare with JAX, torch and array-api-strict; a spy on the extension
makes sure the compiled loop really ran.  The extension must be there: a build that lost it
fails ``test_the_extension_is_built`` instead of letting every other test here skip
(``VSCALE_EXPECT_KERNELS=0`` says that a machine has no compiler on purpose).
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import shutil
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest

import vscale
from vscale.core.portable import portable_transform
from vscale.core.transforms import make_transform
from vscale.engine import loop as engine
from vscale.kernels import host as _host_kernels
from vscale.kernels import trace as _kernels

ROOT = Path(__file__).resolve().parents[1]
DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")
PRNGS = ("native", "threefry")
HOST = ("numpy", "torch:cpu")

needs_kernels = pytest.mark.skipif(
    _host_kernels._speedups is None, reason=f"vscale was built without its compiled kernels ({_host_kernels.MISSING})"
)


def test_the_extension_is_built():
    if os.environ.get("VSCALE_EXPECT_KERNELS", "1") == "0":
        pytest.skip("VSCALE_EXPECT_KERNELS=0: this machine builds vscale without a C compiler on purpose")
    assert _host_kernels._speedups is not None, _host_kernels.MISSING
    status = _host_kernels.status()
    assert status["compiled"] and status["kernels"] == len(_host_kernels.kernel_names()) > 10


in_checkout = pytest.mark.skipif(
    not (ROOT / "tools" / "generate_kernels.py").exists(),
    reason="run against an installed wheel, outside the source tree (the checkout's run covers this)",
)


@in_checkout
def test_the_generated_source_is_current():
    """The committed C source is what tools/generate_kernels.py makes from the core today."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import generate_kernels
    finally:
        sys.path.remove(str(ROOT / "tools"))
    assert generate_kernels.OUTPUT.read_text() == generate_kernels.source(), (
        "vscale/backends/_speedups.c is stale: run python tools/generate_kernels.py and rebuild"
    )


@needs_kernels
@in_checkout
def test_the_installed_module_is_the_generated_one():
    """The compiled module holds exactly the generated kernels (not an older build)."""
    source = (ROOT / "vscale" / "kernels" / "_speedups.c").read_text()
    names = [line.split()[3].rstrip(",") for line in source.splitlines() if line.startswith("/* kernel ")]
    assert tuple(names) == _host_kernels.kernel_names()


class _Spy:
    """Stands in for the extension, counting the values each kernel's first segment computes."""

    def __init__(self, monkeypatch):
        self.values = 0
        self.real = _host_kernels._speedups
        monkeypatch.setattr(_host_kernels, "_speedups", self)

    def run(self, kernel, segment, start, count, arguments, *buffers):
        if segment == 0:
            self.values += count
        return self.real.run(kernel, segment, start, count, arguments, *buffers)

    def transform(self, kernel, count, arguments, log, *buffers):
        self.values += count
        return self.real.transform(kernel, count, arguments, log, *buffers)


def _call(backend, shape, dtype, distribution, prng, kernels, monkeypatch, **call):
    monkeypatch.setenv("VSCALE_KERNELS", kernels)
    init = vscale.VarianceScaling(1.5, "fan_avg", distribution, seed=2024, prng=prng)
    init((2, 2), dtype, xp=backend.module, device=backend.device)  # call 0; the compared one is call 1
    return backend.to_numpy(init.sample(shape, dtype, xp=backend.module, device=backend.device, **call), np.float64)


@pytest.mark.only_backend_dtypes("dtype")
@needs_kernels
@pytest.mark.backends(*HOST)
@pytest.mark.parametrize("prng", PRNGS)
@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_kernels_give_the_operations_bits(backend, distribution, dtype, prng, monkeypatch):
    shape = (300, 1001)  # odd sizes: vector loops and their remainders
    expected = _call(backend, shape, dtype, distribution, prng, "0", monkeypatch)
    spy = _Spy(monkeypatch)
    compiled = _call(backend, shape, dtype, distribution, prng, "1", monkeypatch)
    assert spy.values >= 2 * 2 + 300 * 1001  # calls 0 and 1 (and the first use's check): every call is compiled
    np.testing.assert_array_equal(compiled, expected)


@needs_kernels
@pytest.mark.parametrize("n", [0, 1, 2, 3, 15, 16, 17, 4097, 65537])
@pytest.mark.parametrize("prng", PRNGS)
def test_every_length_through_the_kernels(n, prng, monkeypatch):
    """Empty, single, odd and chunk-crossing lengths: vector bodies, remainders, chunk edges."""
    results = []
    for kernels in ("1", "0"):
        monkeypatch.setenv("VSCALE_KERNELS", kernels)
        results.append(vscale.VarianceScaling(seed=n, prng=prng)((n,)))
    np.testing.assert_array_equal(results[0], results[1])


REGIONS = {
    "rows": (slice(17, 140), slice(None)),  # one run of positions
    "long columns": (slice(3, 90), slice(100, 900)),  # rows of 800: the loop once per row
    "strided": (slice(0, 200, 3), slice(5, 1000, 2)),  # no runs: the operations
    "reversed rows": (slice(150, 10, -2), slice(100, 900)),  # a negative leading step, rows of 800
}


@needs_kernels
@pytest.mark.backends(*HOST)
@pytest.mark.parametrize("prng", PRNGS)
@pytest.mark.parametrize("name", list(REGIONS))
def test_regions_through_the_kernels(backend, name, prng, monkeypatch):
    region = REGIONS[name]
    whole = _call(backend, (200, 1000), "float32", "truncated_normal", prng, "0", monkeypatch)
    part = _call(backend, (200, 1000), "float32", "truncated_normal", prng, "1", monkeypatch, region=region)
    np.testing.assert_array_equal(part, whole[region])


@needs_kernels
@pytest.mark.parametrize("prng", PRNGS)
def test_threads_split_the_loop_and_change_nothing(monkeypatch, prng):
    monkeypatch.setattr(engine, "HOST_KERNEL_CHUNK", 1000)
    started = []
    original = threading.Thread.start

    def spy(thread):
        started.append(thread.name)
        original(thread)

    monkeypatch.setattr(threading.Thread, "start", spy)
    results = []
    for threads in ("1", "3", "64"):
        monkeypatch.setenv("VSCALE_NUM_THREADS", threads)
        init = vscale.VarianceScaling(distribution="truncated_normal", seed=5, prng=prng)
        results.append(init((123, 457)))
    assert started.count("vscale") >= 3 + 57  # 64 threads asked, one per chunk of 1000: 57
    for result in results[1:]:
        np.testing.assert_array_equal(result, results[0])


@needs_kernels
def test_positions_across_a_page_of_counters():
    """Positions 2**32 - 5 .. 2**32 + 5: the high counter word steps inside one loop."""
    import array_api_compat.numpy as anp

    from vscale.core import portable
    from vscale.core.threefry import ThreefryStream

    transform = portable_transform("uniform", 1.0, 1.0, "float32", "float32")
    fill = _host_kernels.portable_kernel((7, 8), transform, "float32")
    out = fill((1 << 32) - 5, 10, np.empty(10, np.float32))
    stream = ThreefryStream((7, 8), anp, None, np.dtype("float32"), np.uint32, "jax")
    np.testing.assert_array_equal(out, portable.apply(stream.draw((1 << 32) - 5, 10), transform, xp=anp))


@needs_kernels
def test_the_kernel_refuses_buffers_it_cannot_write_safely():
    transform = portable_transform("uniform", 1.0, 10.0, "float32", "float32")
    fill = _host_kernels.portable_kernel((1, 2), transform, "float32")
    raw = np.zeros(44, np.uint8)
    readonly = np.zeros(10, np.float32)
    readonly.flags.writeable = False
    cases = {
        "fewer than 10 values": np.zeros(5, np.float32),
        "contiguous": np.zeros(20, np.float32)[::2],
        "not aligned": raw[1:41].view(np.float32),
        "read-only": readonly,
    }
    for message, bad in cases.items():
        before = bad.copy()
        with pytest.raises((ValueError, BufferError), match=message):
            fill(0, 10, bad)
        np.testing.assert_array_equal(bad, before)  # nothing written
    assert fill(0, 10, None).shape == (10,)


@needs_kernels
def test_the_kernel_refuses_positions_beyond_two_to_the_63():
    transform = portable_transform("uniform", 1.0, 10.0, "float32", "float32")
    fill = _host_kernels.portable_kernel((1, 2), transform, "float32")
    fill(2**63 - 10, 10, None)  # the last positions there are
    for start, count in ((2**63 - 5, 10), (-1, 3)):
        with pytest.raises(ValueError, match="outside 0 .. 2\\*\\*63 - 1"):
            fill(start, count, np.empty(count, np.float32))
    with pytest.raises(OverflowError):
        fill(2**63, 1, None)


@needs_kernels
def test_scratch_buffers_may_not_overlap_the_chunk():
    transform = make_transform("truncated_normal", 0.1, 0.2)
    spec = _kernels.host_kernel_spec("native", transform, "float32")
    index = _host_kernels._INDEX[spec.identity]
    constants = _kernels.host_kernel_constants("native", transform, "float32")
    chunk = np.full(100, 0.25, np.float32)
    with pytest.raises(ValueError, match="overlap"):
        _host_kernels._speedups.run(index, 0, 0, 50, constants, chunk[:50], chunk[25:75])
    with pytest.raises(ValueError, match="packed arguments"):
        _host_kernels._speedups.run(index, 0, 0, 50, b"", chunk[:50], np.empty(50, np.float32))
    with pytest.raises(ValueError, match="no segment"):
        _host_kernels._speedups.run(index, 7, 0, 50, constants, chunk[:50], np.empty(50, np.float32))
    np.testing.assert_array_equal(chunk, 0.25)


@needs_kernels
@pytest.mark.parametrize("prng", PRNGS)
def test_fill_of_misaligned_and_strided_arrays(prng):
    """A misaligned array (a view into bytes) and a strided view are filled through a
    workspace with the call's values; the kernels never see them."""
    raw = np.zeros(4 * 600 + 1, np.uint8)
    misaligned = raw[1:].view(np.float32).reshape(20, 30)
    assert not misaligned.flags.aligned
    strided = np.zeros((40, 30), np.float32)[::2]
    for target in (misaligned, strided):
        expected = vscale.VarianceScaling(seed=11, prng=prng)((20, 30))
        init = vscale.VarianceScaling(seed=11, prng=prng)
        assert init.fill_(target) is target
        np.testing.assert_array_equal(target, expected)
        assert init._calls == 1


@needs_kernels
def test_a_read_only_array_is_refused_before_the_key_is_drawn():
    array = np.zeros((8, 8), np.float32)
    array.flags.writeable = False
    init = vscale.VarianceScaling(seed=1)
    with pytest.raises(ValueError, match="read-only"):
        init.fill_(array)
    assert init._calls == 0 and not array.any()


def test_without_the_extension_the_operations_run_and_say_so_once(monkeypatch):
    expected = vscale.VarianceScaling(seed=3)((64, 64))
    monkeypatch.setattr(_host_kernels, "_speedups", None)
    monkeypatch.setattr(_host_kernels, "MISSING", "ImportError: no module named _speedups")
    monkeypatch.setattr(_host_kernels, "_warned", threading.Event())
    with pytest.warns(_host_kernels.KernelsUnavailableWarning, match="built without them") as record:
        first = vscale.VarianceScaling(seed=3)((64, 64))
        vscale.VarianceScaling(seed=3, prng="threefry")((64, 64))
    assert len(record) == 1
    np.testing.assert_array_equal(first, expected)
    assert _host_kernels.status()["compiled"] is False


@needs_kernels
def test_a_kernel_that_disagrees_is_refused(monkeypatch):
    """A build that broke IEEE arithmetic (simulated: the kernel's constants altered) is
    caught by the first use's check, with a warning, and the operations run instead."""
    transform = make_transform("uniform", 0.123, 0.123)
    spec = _kernels.host_kernel_spec("native", transform, "float64")
    index = _host_kernels._INDEX[spec.identity]
    real = _kernels.host_kernel_constants("native", transform, "float64")
    altered = bytes([real[0] ^ 1]) + real[1:]
    monkeypatch.setattr(_kernels, "host_kernel_constants", lambda *args: altered)
    monkeypatch.setattr(_host_kernels, "_checked", set())
    monkeypatch.setattr(_host_kernels, "_refused", set())
    with pytest.warns(_host_kernels.KernelsUnavailableWarning, match="other values than the array operations"):
        assert _host_kernels.native_kernel(transform, "float64") is None
    assert index in _host_kernels._refused


def test_kernels_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("VSCALE_KERNELS", "0")
    spy = _Spy(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vscale.VarianceScaling(seed=1, prng="threefry")((10, 10))
        vscale.VarianceScaling(seed=1)((10, 10))
    assert spy.values == 0


@needs_kernels
def test_every_transform_the_public_layer_makes_has_a_kernel():
    """Random scales, fans and dtypes: each transform finds a compiled kernel (a structure
    the generator's grid missed would run the operations, correct but slow)."""
    rng = np.random.default_rng(0)
    missing = []
    for _ in range(400):
        prng = str(rng.choice(PRNGS))
        kind = str(rng.choice(["truncated_normal", "uniform"] + (["untruncated_normal"] if prng == "threefry" else [])))
        dtype = str(rng.choice(["float16", "bfloat16", "float32", "float64"]))
        scale = float(10.0 ** rng.uniform(-30, 30))
        init = vscale.VarianceScaling(scale, "fan_in", kind, prng=prng)
        try:
            transform = init._transform((int(rng.integers(1, 10**6)), 3), init._fan_layout(), dtype)
        except ValueError:
            continue
        working = "float64" if dtype == "float64" else "float32"
        if _kernels.host_kernel_spec(prng, transform, working).identity not in _host_kernels._INDEX:
            missing.append((prng, kind, dtype, scale))
    assert not missing


def _child_values(queue):
    queue.put([vscale.VarianceScaling(seed=9, prng=prng)((50, 70)) for prng in PRNGS])


@needs_kernels
@pytest.mark.parametrize("method", ["fork", "spawn"])
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # JAX's at-fork warning
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork() of a multi-threaded process
def test_kernels_work_in_child_processes(method):
    expected = [vscale.VarianceScaling(seed=9, prng=prng)((50, 70)) for prng in PRNGS]  # used here first
    context = multiprocessing.get_context(method)
    queue = context.Queue()
    child = context.Process(target=_child_values, args=(queue,))
    child.start()
    values = queue.get(timeout=120)
    child.join(timeout=60)
    assert child.exitcode == 0
    for got, want in zip(values, expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_no_home_directory_and_no_compiler_at_run_time(tmp_path):
    """A user with no HOME and no compiler on PATH: nothing at run time needs either."""
    script = "import vscale; print(vscale.VarianceScaling(seed=1, prng='threefry')((3, 3)).sum())"
    env = {"PATH": str(tmp_path), "PYTHONPATH": os.pathsep.join(sys.path), "VSCALE_KERNELS": "1"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr


@needs_kernels
@pytest.mark.parametrize("prng", PRNGS)
@pytest.mark.parametrize("distribution", ["truncated_normal", "uniform"])
def test_two_to_the_24_values_of_the_kernels(monkeypatch, distribution, prng):
    """Every bit of 2**24 float32 values (the FMA emulation's ties, the log's range
    reduction, the tails) against the operations."""
    results = []
    for kernels in ("1", "0"):
        monkeypatch.setenv("VSCALE_KERNELS", kernels)
        results.append(vscale.VarianceScaling(0.7, "fan_out", distribution, seed=2**62 + 5, prng=prng)((4096, 4096)))
    np.testing.assert_array_equal(results[0].view(np.uint32), results[1].view(np.uint32))


@needs_kernels
@pytest.mark.slow
def test_more_than_two_to_the_31_values():
    """2**31 + 4 float16 values (4 GiB): positions and lengths past 32-bit indices."""
    shape = (2, 2**30 + 2)  # fans of 2 and 2**30 + 2: a deviation float16 carries
    region = (slice(1, 2), slice(2**30 - 998, 2**30 + 2))
    for prng in PRNGS:
        whole = vscale.VarianceScaling(seed=1, prng=prng)(shape, "float16")
        part = vscale.VarianceScaling(seed=1, prng=prng).sample(shape, "float16", region=region)
        np.testing.assert_array_equal(whole[region], part)
        assert np.isfinite(whole[1, -100:]).all() and np.abs(whole[1, -100:]).max() > 0
        del whole


@needs_kernels
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_compiled_pcg64_is_numpys(dtype):
    """Blocks, offsets (odd ones: a float32 that starts in the high half of an output) and
    lengths drawn by the compiled PCG64 against NumPy's own generator."""
    from vscale.streams.pcg64 import _generator, block_seed, block_state

    pcg64 = _host_kernels.uniform_filler()
    rng = np.random.default_rng(7)
    cases = [(0, 0), (1, 1), (2, 5), (3, 65535), (65535, 1), (12345, 4097), (1 << 16, 0)]
    cases += [(int(rng.integers(0, 1 << 16)), int(rng.integers(0, 5000))) for _ in range(40)]
    for trial, (offset, count) in enumerate(cases):
        key = bytes(rng.integers(0, 256, 16, dtype=np.uint8))
        generator = _generator()
        generator.bit_generator.state = block_state(key, trial)
        steps, spare = divmod(offset, 2) if dtype == "float32" else (offset, 0)
        if steps:
            generator.bit_generator.advance(steps)
        if spare:
            generator.random(1, dtype=dtype)
        expected = generator.random(count, dtype=dtype)
        computed = np.full(count, np.nan, dtype=dtype)
        pcg64(block_seed(key, trial), offset, count, computed, np.dtype(dtype).itemsize)
        np.testing.assert_array_equal(computed, expected, err_msg=f"offset {offset}, count {count}")


@needs_kernels
def test_the_compiled_threefry_block_is_the_cores():
    from vscale.core.threefry import threefry2x32_words

    rng = np.random.default_rng(3)
    words = [(0, 0, 0, 0), (2**32 - 1,) * 4, (0x13198A2E, 0x03707344, 0x243F6A88, 0x85A308D3)]
    words += [tuple(int(w) for w in rng.integers(0, 2**32, 4)) for _ in range(500)]
    for k0, k1, x0, x1 in words:
        assert _host_kernels.threefry_block(k0, k1, x0, x1) == threefry2x32_words((k0, k1), (x0, x1))
    with pytest.raises(OverflowError):
        _host_kernels.threefry_block(2**32, 0, 0, 0)


@needs_kernels
@pytest.mark.skipif(
    platform.machine() not in ("x86_64", "AMD64") or shutil.which("objdump") is None,
    reason="the clones are x86-64's, and reading them needs binutils' objdump",
)
def test_the_binary_runs_on_any_x86_64_and_uses_wider_units_where_present():
    """No -march=native: each loop's default clone is baseline x86-64 (SSE2 only: no ymm or
    zmm register), and the AVX2 and AVX-512 clones use the wider vectors."""
    library = _host_kernels._speedups.__file__

    def registers(symbol):
        listing = subprocess.run(
            ["objdump", "-d", "--no-show-raw-insn", f"--disassemble={symbol}", library],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        return {name: listing.count(f"%{name}") for name in ("xmm", "ymm", "zmm")}

    for kernel in range(0, len(_host_kernels.kernel_names()), 5):
        default, avx2, avx512 = (registers(f"k{kernel}_s0.{target}") for target in ("default", "avx2", "avx512f"))
        assert default["xmm"] > 0 and default["ymm"] == default["zmm"] == 0, (kernel, default)
        assert avx2["ymm"] > 0 and avx2["zmm"] == 0, (kernel, avx2)
        assert avx512["zmm"] > 0, (kernel, avx512)
