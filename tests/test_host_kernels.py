"""The portable stream compiled for the CPU: NumPy's bits, threads, and a cache that cannot be abused.

Every comparison is against the core's NumPy operations (``VSCALE_KERNELS=0``), which
the cross-backend tests in ``test_portable_streams.py`` compare with JAX, torch and
array-api-strict; a spy makes sure the compiled loop really ran.
"""

from __future__ import annotations

import multiprocessing
import stat
import threading
import warnings

import numpy as np
import pytest

import vscale
from vscale._threefry import portable_transform
from vscale.backends import _host_kernels
from vscale.core import engine

DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")
HOST = ("numpy", "torch:cpu")

needs_compiler = pytest.mark.skipif(_host_kernels.compiler() is None, reason="no C compiler on this machine")


def _host(backend):
    if backend.name not in HOST:
        pytest.skip(f"{backend.name} runs no host kernels (NumPy and torch CPU only)")


def _values(backend, shape, dtype, distribution, kernels, monkeypatch, **call):
    monkeypatch.setenv("VSCALE_KERNELS", kernels)
    init = vscale.VarianceScaling(1.5, "fan_avg", distribution, seed=2024, prng="threefry")
    init((2, 2), dtype, xp=backend.module, device=backend.device)  # call 0; the compared one is call 1
    result = init(shape, dtype, xp=backend.module, device=backend.device, **call)
    return backend.to_numpy(result, np.float64)


class _Calls:
    """Counts the values the compiled loop computes."""

    def __init__(self, monkeypatch):
        self.values = 0
        bind = _host_kernels.HostKernel.bind

        def spy(kernel, key, constants):
            fill = bind(kernel, key, constants)

            def counted(start, count, out):
                self.values += count
                return fill(start, count, out)

            return counted

        monkeypatch.setattr(_host_kernels.HostKernel, "bind", spy)


@needs_compiler
@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_compiled_loop_gives_the_operations_bits(backend, distribution, dtype, monkeypatch):
    _host(backend)
    if dtype not in backend.dtypes:
        pytest.skip(f"{backend.name} has no {dtype}")
    shape = (300, 1001)  # odd sizes: vector loops and their remainders
    expected = _values(backend, shape, dtype, distribution, "0", monkeypatch)
    _values(backend, shape, dtype, distribution, "1", monkeypatch)  # compiled and checked
    calls = _Calls(monkeypatch)
    compiled = _values(backend, shape, dtype, distribution, "1", monkeypatch)
    assert calls.values == 2 * 2 + 300 * 1001  # calls 0 and 1, both in the loop
    np.testing.assert_array_equal(compiled, expected)


REGIONS = {
    "rows": (slice(17, 140), slice(None)),  # one run of positions
    "long columns": (slice(3, 90), slice(100, 900)),  # rows of 800: the loop once per row
    "strided": (slice(0, 200, 3), slice(5, 1000, 2)),  # no runs: the operations
    "reversed rows": (slice(150, 10, -2), slice(100, 900)),  # a negative leading step, rows of 800
}


@needs_compiler
@pytest.mark.parametrize("name", list(REGIONS))
def test_regions_through_the_compiled_loop(backend, name, monkeypatch):
    _host(backend)
    region = REGIONS[name]
    whole = _values(backend, (200, 1000), "float32", "truncated_normal", "0", monkeypatch)
    _values(backend, (200, 1000), "float32", "truncated_normal", "1", monkeypatch)  # compiled and checked
    calls = _Calls(monkeypatch)
    part = _values(backend, (200, 1000), "float32", "truncated_normal", "1", monkeypatch, region=region)
    np.testing.assert_array_equal(part, whole[region])
    assert calls.values == 2 * 2 + (part.size if name != "strided" else 0)


@needs_compiler
def test_threads_split_the_loop_and_change_nothing(monkeypatch):
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
        init = vscale.VarianceScaling(distribution="untruncated_normal", seed=5, prng="threefry")
        results.append(init((123, 457)))
    assert started.count("vscale") == 3 + 57  # 64 threads asked, one per chunk of 1000: 57
    for result in results[1:]:
        np.testing.assert_array_equal(result, results[0])


@needs_compiler
def test_positions_across_a_page_of_counters():
    """Positions 2**32 - 5 .. 2**32 + 5: the high counter word steps inside one loop."""
    transform = portable_transform("uniform", 1.0, 1.0, "float32", "float32")
    fill = _host_kernels.HostKernels().portable((7, 8), transform, "float32")
    out = fill((1 << 32) - 5, 10, np.empty(10, np.float32))
    import array_api_compat.numpy as anp

    from vscale.backends._threefry import ThreefryStream
    from vscale.core import portable

    stream = ThreefryStream((7, 8), anp, None, np.dtype("float32"), np.uint32, "jax")
    np.testing.assert_array_equal(out, portable.apply(stream.draw((1 << 32) - 5, 10), transform, xp=anp))


def test_without_a_compiler_the_operations_run(monkeypatch):
    monkeypatch.setattr(_host_kernels, "compiler", lambda: None)
    fresh = _host_kernels.HostKernels()
    transform = portable_transform("truncated_normal", 1.0, 10.0, "float32", "float32")
    assert fresh.portable((1, 2), transform, "float32") is None
    monkeypatch.setattr(_host_kernels, "HOST_KERNELS", fresh)
    init = vscale.VarianceScaling(seed=3, prng="threefry")
    monkeypatch.setenv("VSCALE_KERNELS", "0")
    expected = vscale.VarianceScaling(seed=3, prng="threefry")((64, 64))
    monkeypatch.setenv("VSCALE_KERNELS", "1")
    np.testing.assert_array_equal(init((64, 64)), expected)


@needs_compiler
def test_a_compiler_that_breaks_ieee_arithmetic_is_refused(tmp_path, monkeypatch):
    """A compiler whose code differs from the operations (simulated: it alters the
    source) is caught by the check on loading, with a warning, and not used."""
    wrapper = tmp_path / "badcc"
    wrapper.write_text(
        '#!/bin/sh\nfor a in "$@"; do case $a in *.c) sed -i \'s/\\* 2.0 +/* 2.5 +/\' "$a";; esac; done\n'
        f'exec {_host_kernels.compiler()} "$@"\n'
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("VSCALE_CC", str(wrapper))
    monkeypatch.setenv("VSCALE_CACHE_DIR", str(tmp_path / "cache"))
    transform = portable_transform("truncated_normal", 1.0, 10.0, "float32", "float32")
    with pytest.warns(RuntimeWarning, match="does not keep IEEE arithmetic"):
        assert _host_kernels.HostKernels().portable((1, 2), transform, "float32") is None


def _compilations_in(cache, monkeypatch):
    """A list that grows by one per compilation, with kernels cached in ``cache``."""
    monkeypatch.setenv("VSCALE_CACHE_DIR", str(cache))
    compiled = []
    original = _host_kernels._compile
    monkeypatch.setattr(_host_kernels, "_compile", lambda *a: compiled.append(1) or original(*a))
    return compiled


@needs_compiler
def test_the_disk_cache_is_reused_and_repaired(tmp_path, monkeypatch):
    compiled = _compilations_in(tmp_path, monkeypatch)
    transform = portable_transform("uniform", 1.0, 10.0, "float64", "float64")
    first = _host_kernels.HostKernels().portable((1, 2), transform, "float64")
    reference = first(0, 100, np.empty(100))
    assert len(compiled) == 1
    (library,) = tmp_path.glob("vscale_*.so")
    second = _host_kernels.HostKernels().portable((1, 2), transform, "float64")  # another process, in effect
    assert len(compiled) == 1
    np.testing.assert_array_equal(second(0, 100, np.empty(100)), reference)
    # A damaged file of that name (in another directory: this process has the first one
    # mapped, and dlopen would hand that back by name) is compiled anew.
    damaged = tmp_path / "damaged"
    damaged.mkdir(mode=0o700)
    (damaged / library.name).write_bytes(b"not a shared library")
    monkeypatch.setenv("VSCALE_CACHE_DIR", str(damaged))
    third = _host_kernels.HostKernels().portable((1, 2), transform, "float64")
    assert len(compiled) == 2
    np.testing.assert_array_equal(third(0, 100, np.empty(100)), reference)


@needs_compiler
def test_a_cache_directory_others_can_write_is_not_used(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("VSCALE_CACHE_DIR", str(shared))
    assert _host_kernels.cache_directory() != shared
    transform = portable_transform("uniform", 1.0, 10.0, "float32", "float32")
    assert _host_kernels.HostKernels().portable((1, 2), transform, "float32") is not None
    assert not list(shared.iterdir())  # nothing planted where others could swap it


@needs_compiler
def test_many_threads_asking_at_once_compile_once(tmp_path, monkeypatch):
    compiled = _compilations_in(tmp_path, monkeypatch)
    kernels = _host_kernels.HostKernels()
    transform = portable_transform("untruncated_normal", 1.0, 10.0, "float32", "float32")
    fills = [None] * 16

    def ask(i):
        fills[i] = kernels.portable((i, i), transform, "float32")

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(compiled) == 1 and all(fill is not None for fill in fills)


def _child_values(queue):
    queue.put(vscale.VarianceScaling(seed=9, prng="threefry")((50, 70)))


@needs_compiler
@pytest.mark.parametrize("method", ["fork", "spawn"])
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # JAX's at-fork warning
def test_loaded_kernels_work_in_child_processes(method):
    expected = vscale.VarianceScaling(seed=9, prng="threefry")((50, 70))  # loaded here before the fork
    np.testing.assert_array_equal(_in_child(method, _child_values), expected)


def _in_child(method, target):
    """What ``target(queue)`` puts in the queue, run in a child process started by ``method``."""
    context = multiprocessing.get_context(method)
    queue = context.Queue()
    child = context.Process(target=target, args=(queue,))
    child.start()
    values = queue.get(timeout=120)
    child.join(timeout=60)
    assert child.exitcode == 0
    return values


def test_kernels_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("VSCALE_KERNELS", "0")
    calls = _Calls(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vscale.VarianceScaling(seed=1, prng="threefry")((10, 10))
    assert calls.values == 0


@needs_compiler
def test_a_new_cache_directory_is_private(tmp_path, monkeypatch):
    monkeypatch.setenv("VSCALE_CACHE_DIR", str(tmp_path / "new" / "vscale"))
    transform = portable_transform("uniform", 1.0, 10.0, "float32", "float32")
    assert _host_kernels.HostKernels().portable((1, 2), transform, "float32") is not None
    assert stat.S_IMODE((tmp_path / "new" / "vscale").stat().st_mode) == 0o700
    assert len(list((tmp_path / "new" / "vscale").glob("vscale_*.so"))) == 1


@needs_compiler
def test_the_loop_refuses_an_array_it_cannot_write_safely():
    transform = portable_transform("uniform", 1.0, 10.0, "float32", "float32")
    fill = _host_kernels.HostKernels().portable((1, 2), transform, "float32")
    for bad in (np.empty(10, np.float64), np.empty(20, np.float32)[::2], np.empty(5, np.float32)):
        with pytest.raises(ValueError, match="writable contiguous float32 array of 10 values"):
            fill(0, 10, bad)
    readonly = np.empty(10, np.float32)
    readonly.flags.writeable = False
    with pytest.raises(ValueError, match="writable contiguous"):
        fill(0, 10, readonly)
    assert fill(0, 10, None).shape == (10,)


@needs_compiler
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # JAX's at-fork warning
def test_a_fork_while_another_thread_compiles_does_not_hang(tmp_path, monkeypatch):
    """The parent's kernel lock is held (as during a compilation) when it forks: the child
    still computes, with its own lock."""
    monkeypatch.setenv("VSCALE_CACHE_DIR", str(tmp_path))
    expected = vscale.VarianceScaling(seed=21, prng="threefry")((30, 40))
    with _host_kernels.HOST_KERNELS._lock:
        values = _in_child("fork", _child_new_transform)
    np.testing.assert_array_equal(values, expected)


def _child_new_transform(queue):
    _host_kernels.HOST_KERNELS._bound.clear()  # a transform the child must look up under the lock
    queue.put(vscale.VarianceScaling(seed=21, prng="threefry")((30, 40)))


def test_without_a_home_directory_kernels_go_to_a_private_temporary_one(monkeypatch):
    monkeypatch.delenv("VSCALE_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(_host_kernels.Path, "home", classmethod(lambda cls: _host_kernels.Path("~")))
    directory = _host_kernels.cache_directory()
    assert directory.is_absolute() and directory.name.startswith("vscale-kernels-")
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def _compiled_and_operations(monkeypatch, shape, dtype, distribution, **call):
    """The same call (call 0 of a fresh initializer) through the compiled loop and through
    the operations, and the values the loop computed."""

    def init():
        return vscale.VarianceScaling(0.7, "fan_out", distribution, seed=2**62 + 5, prng="threefry")

    init()(shape, dtype, **call)  # the kernel compiled and checked before counting
    results = []
    for kernels in ("1", "0"):
        monkeypatch.setenv("VSCALE_KERNELS", kernels)
        calls = _Calls(monkeypatch)
        results.append((init()(shape, dtype, **call), calls.values))
        monkeypatch.undo()
    (compiled, computed), (operations, _) = results
    return compiled, operations, computed


@needs_compiler
def test_a_three_dimensional_region_by_rows(monkeypatch):
    region = (slice(1, 5), slice(40, 2, -3), slice(20, 280))
    compiled, operations, computed = _compiled_and_operations(
        monkeypatch, (6, 50, 300), "float64", "untruncated_normal", region=region
    )
    assert compiled.shape == (4, 13, 260) and computed == compiled.size
    np.testing.assert_array_equal(compiled, operations)


@needs_compiler
@pytest.mark.parametrize(
    ("shape", "region"),
    [
        ((2**62, 2), (slice(2**62 - 200, None),)),  # one run ending at position 2**63 - 1
        ((2**31, 2**32 - 1), (slice(2**31 - 2, None), slice(2**32 - 301, 2**32 - 1))),  # rows of 300
    ],
    ids=["run", "rows"],
)
def test_the_compiled_loop_at_the_top_of_the_64_bit_positions(monkeypatch, shape, region):
    """High counter words near 2**31, positions near 2**63: int64 arithmetic in the loop."""
    compiled, operations, computed = _compiled_and_operations(
        monkeypatch, shape, "float32", "truncated_normal", region=region
    )
    assert computed == compiled.size > 0
    np.testing.assert_array_equal(compiled, operations)


@needs_compiler
@pytest.mark.parametrize("distribution", ["truncated_normal", "untruncated_normal"])
def test_two_to_the_24_values_of_the_compiled_loop(monkeypatch, distribution):
    """Every bit of 2**24 float32 values (the FMA emulation's ties, the log's range
    reduction, the tails) against the operations."""
    compiled, operations, computed = _compiled_and_operations(monkeypatch, (4096, 4096), "float32", distribution)
    assert computed == 4096 * 4096
    np.testing.assert_array_equal(compiled.view(np.uint32), operations.view(np.uint32))
