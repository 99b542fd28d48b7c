"""Fused kernels traced from the core: the same operations, compiled, give the core's values.

On the CPU the traced bodies are compiled with gcc and the package build's own flags
(setup.py: ``-ffp-contract=off``, as NVRTC gets ``--fmad=false``) and run through ctypes: the portable kernels must give NumPy's bits,
the native transforms the core's values within the C library's ``log`` (a few ulps).  The
CUDA form is compiled to PTX with nvcc where it is installed.  On a GPU the CuPy and torch
CUDA calls run the kernels themselves and are compared with the core's operations
(``VSCALE_KERNELS=0``) and with NumPy.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess

import array_api_compat.numpy as anp
import numpy as np
import pytest

import vscale
from tests._helpers import build_flags
from vscale.core import apply, make_transform, portable
from vscale.core.portable import portable_transform
from vscale.core.regions import Box, Positions
from vscale.core.threefry import ThreefryStream
from vscale.kernels import cuda as cuda_kernels
from vscale.kernels import trace as _kernels

DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")
_CTYPES = {"float32": ctypes.c_float, "float64": ctypes.c_double, "uint32": ctypes.c_uint32, "int64": ctypes.c_int64}


def _compile(tmp_path, recording, working, indexed):
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    source = tmp_path / "kernel.c"
    library = tmp_path / "kernel.so"
    source.write_text(_kernels.c_function(recording, working, working, indexed=indexed))
    flags = [*build_flags(), "-shared", "-fPIC"]  # the shipped kernels' flags
    subprocess.run(["gcc", *flags, str(source), "-o", str(library), "-lm"], check=True)
    return ctypes.CDLL(str(library))


def _run(library, recording, start, count, working, source=None):
    out = np.empty(count, dtype=working)
    arguments = [ctypes.c_longlong(count), ctypes.c_longlong(start)]
    arguments += [_CTYPES[dtype](value.item()) for _, dtype, value in recording.arguments]
    if source is not None:
        arguments.append(source.ctypes.data_as(ctypes.c_void_p))
    arguments.append(out.ctypes.data_as(ctypes.c_void_p))
    library.kernel(*arguments)
    return out


@pytest.mark.parametrize("working", ["float32", "float64"])
@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
@pytest.mark.parametrize("region", [None, Box((3, 40), (2, -1), (50, 37))], ids=["whole", "region"])
def test_traced_portable_kernel_gives_numpys_bits(tmp_path, distribution, working, region):
    dims = (200, 80)
    transform = portable_transform(distribution, 2.0, 80.0, working, working)
    key = (0x9E3779B9, 0x7F4A7C15)
    recording = _kernels.trace_portable(key, transform, working, region, dims)
    library = _compile(tmp_path, recording, working, indexed=True)
    count = 50 * 37 if region is not None else 16000
    start = 7 if region is None else 0
    values = _run(library, recording, start, count - start, working)
    positions = None if region is None else Positions(region, dims, 1)
    stream = ThreefryStream(key, anp, None, np.dtype(working), np.uint32, "jax", positions, np.int64)
    expected = portable.apply(stream.draw(start, count - start), transform, xp=anp)
    np.testing.assert_array_equal(values.view(np.uint8), np.asarray(expected, working).view(np.uint8))


@pytest.mark.parametrize("working", ["float32", "float64"])
@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_traced_native_transform_matches_the_core(tmp_path, distribution, working):
    bound = np.inf if distribution == "untruncated_normal" else 0.1
    transform = make_transform(distribution, 0.05, bound)
    recording = _kernels.trace_transform(transform, working, apply)
    library = _compile(tmp_path, recording, working, indexed=False)
    bits = 24 if working == "float32" else 53
    grid = np.random.default_rng(0).integers(0, 1 << bits, 100_000, dtype=np.int64)
    grid[:4] = [0, 1, (1 << bits) - 2, (1 << bits) - 1]  # the extreme draws
    u = (grid.astype(np.float64) * 2.0**-bits).astype(working)
    values = _run(library, recording, 0, u.size, working, source=u)
    expected = apply(u.copy(), transform, xp=anp)
    distance = np.abs(values.astype(np.float64) - expected) / np.spacing(np.abs(expected).astype(working))
    assert distance.max() <= 4  # the C library's log against NumPy's
    assert np.all(np.abs(values) <= max(bound, 0) if np.isfinite(bound) else np.isfinite(values))


@pytest.mark.parametrize("working", ["float32", "float64"])
def test_cuda_form_compiles(tmp_path, working):
    if shutil.which("nvcc") is None:
        pytest.skip("nvcc is not installed")
    for distribution in DISTRIBUTIONS:
        transform = portable_transform(distribution, 1.0, 10.0, working, working)
        recording = _kernels.trace_portable((1, 2), transform, working, Box((0, 5), (1, -1), (4, 3)), (8, 8))
        source = tmp_path / f"{distribution}.cu"
        source.write_text(_kernels.cuda_function(recording, working, working, indexed=True))
        flags = [*cuda_kernels.NVRTC_OPTIONS, "-ptx", "-o", str(tmp_path / "k.ptx")]
        result = subprocess.run(["nvcc", *flags, str(source)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


def test_arguments_carry_the_constants_and_the_structure_does_not():
    """One compiled kernel serves every deviation and key: only the arguments change."""
    first = _kernels.trace_portable((1, 2), portable_transform("truncated_normal", 1.0, 10.0, "float32", "float32"),
                                    "float32", None, (10,))  # fmt: skip
    second = _kernels.trace_portable((3, 4), portable_transform("truncated_normal", 2.0, 99.0, "float32", "float32"),
                                     "float32", None, (10,))  # fmt: skip
    assert _kernels.structure_key(first) == _kernels.structure_key(second)
    assert first.values() != second.values()


def test_the_tracer_refuses_mixed_dtypes():
    recording = _kernels.Recording()
    a = _kernels.Symbol(recording, "a", "float32")
    b = _kernels.Symbol(recording, "b", "float64")
    with pytest.raises(TypeError, match="mixed dtypes"):
        a + b


@pytest.mark.only_backend_dtypes("dtype")
@pytest.mark.backends("cupy", "torch:cuda")  # the backends with fused GPU kernels
@pytest.mark.parametrize("prng", ["native", "threefry"])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_gpu_kernels_match_the_core_operations(backend, distribution, dtype, prng, monkeypatch):
    """On a GPU: the fused kernels against the core's operations on the same device."""
    make = lambda: vscale.VarianceScaling(2.0, "fan_avg", distribution, seed=5, prng=prng)  # noqa: E731
    shape = (1031, 517)
    fused = backend.to_numpy(make()(shape, dtype, xp=backend.module, device=backend.device))
    monkeypatch.setenv("VSCALE_KERNELS", "0")
    reference = backend.to_numpy(make()(shape, dtype, xp=backend.module, device=backend.device))
    if prng == "threefry":
        np.testing.assert_array_equal(fused, reference)
        np.testing.assert_array_equal(fused, make()(shape, dtype).astype(np.float64))  # NumPy's bits
    else:
        spacing = np.spacing(np.abs(reference).astype(dtype)).astype(np.float64)
        assert (np.abs(fused - reference) / spacing).max() <= 4
