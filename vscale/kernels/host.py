"""The compiled host kernels, built with the package, or the array path where they are not.

On a CPU, a transform written as array operations is a dozen passes over memory (the
portable stream nearly two hundred), each holding the GIL between passes.  The same
transforms, traced from the core (:mod:`vscale.kernels.trace`), are generated into
one C extension (``tools/generatetrace.py`` writes ``_speedups.c``; the package's
build compiles it): one vectorized loop per transform that releases the GIL, so the
engine's threads run in parallel.  A call finds its kernel by the digest of its trace;
a transform with no compiled kernel, a process with ``VSCALE_KERNELS=0`` and an install
built without a compiler run the array operations instead, with the same bits.

* Native streams: the adapter's generator writes a chunk of uniforms, and the kernel
  transforms the chunk in place.  Where the transform takes a logarithm, the kernel is
  cut there and NumPy's own ``log`` runs between its two loops, so the values stay NumPy's
  bit for bit (a C library's ``log`` differs from NumPy's in the last bit of some values).
* The portable stream: the kernel computes JAX's Threefry bits from each value's
  position, then the portable transform; nothing is drawn into memory first.

Each kernel is compared with the array operations on the values next to 0 and 1 of the
uniform grid (and positions either side of ``2**32``) the first time a process uses it;
a kernel that differs (a compiler that broke IEEE arithmetic) is refused with a warning.
"""

from __future__ import annotations

import importlib
import os
import struct
import threading
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ..backends.compat import standard_namespace
from ..core import portable
from ..core.regions import box_offset, box_positions
from ..core.threefry import ThreefryStream
from ..core.transforms import apply
from . import trace

MISSING: str | None = None
_speedups: Any
try:
    _speedups = importlib.import_module(f"{__package__}._speedups")
except ImportError as error:  # built without a C compiler, or a binary for another Python
    _speedups = None
    MISSING = f"{type(error).__name__}: {error}"


#: ``threefry_block(k0, k1, x0, x1) -> (y0, y1)``: one Threefry-2x32 block, compiled (exact
#: integer arithmetic, the same words as :func:`vscale.core.threefry.threefry2x32_words`), or None.
threefry_block = getattr(_speedups, "threefry", None)


class KernelsUnavailableWarning(UserWarning):
    """vscale runs its array operations because its compiled kernels are not installed."""


_INDEX: dict[str, int] = {} if _speedups is None else {name: j for j, name in enumerate(_speedups.kernels)}
_KEY = struct.Struct("<I4xI4x")
#: Values compared with the array operations when a process first uses a kernel.
_CHECKED = 2048


#: os.environ's own storage where it has one (CPython): a lookup there costs 50 ns rather
#: than the 800 ns of os.environ.get, which matters to calls of a few microseconds.
_ENVIRON = getattr(os.environ, "_data", None)
_ENCODE = getattr(os.environ, "encodekey", None)
_SETTINGS = ("VSCALE_KERNELS", "VSCALE_NUM_THREADS")
_KERNELS_KEY, _THREADS_KEY = (_ENCODE(name) for name in _SETTINGS) if _ENVIRON is not None and _ENCODE else (None, None)


def settings() -> tuple[Any, Any]:
    """The raw values of the environment variables that decide a call's plan (kernels, threads)."""
    if _ENVIRON is not None and _KERNELS_KEY is not None:
        return _ENVIRON.get(_KERNELS_KEY), _ENVIRON.get(_THREADS_KEY)
    return os.environ.get(_SETTINGS[0]), os.environ.get(_SETTINGS[1])


def enabled() -> bool:
    """Compiled kernels unless ``VSCALE_KERNELS=0`` (the array operations then run instead)."""
    if _ENVIRON is not None and _KERNELS_KEY is not None:
        value = _ENVIRON.get(_KERNELS_KEY)
        if value is None:
            return True
    else:
        value = os.environ.get(_SETTINGS[0])
        if value is None:
            return True
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    return bool(value.strip() != "0")


def status() -> dict[str, Any]:
    """What runs on the CPU here: for ``vscale info`` and bug reports."""
    return {
        "compiled": _speedups is not None,
        "enabled": enabled(),
        "kernels": len(_INDEX),
        "instruction set": _speedups.isa() if _speedups is not None else None,
        "missing because": MISSING,
    }


_warned = threading.Event()


def _available() -> bool:
    if _speedups is not None:
        return True
    if not _warned.is_set():
        _warned.set()
        warnings.warn(
            f"vscale's compiled kernels are not installed ({MISSING}): this install was built without them (no C "
            "compiler when it was installed, or a build that failed). The array operations run instead, with the "
            "same values, several times slower; reinstall vscale where a C compiler is installed to get them "
            "(VSCALE_KERNELS=0 silences this).",
            KernelsUnavailableWarning,
            stacklevel=5,
        )
    return False


class _Scratch(threading.local):
    """Each thread's scratch buffers for the kernels' segments (reused chunk after chunk)."""

    def __init__(self) -> None:
        self.buffers: dict[tuple[str, int], np.ndarray] = {}

    def get(self, working: str, number: int, count: int) -> np.ndarray:
        found = self.buffers.get((working, number))
        if found is None or found.shape[0] < count:
            found = self.buffers[(working, number)] = np.empty(max(count, 1 << 16), dtype=working)
        return found[:count]


_scratch = _Scratch()
_refused: set[int] = set()
_checked: set[int] = set()
_check_lock = threading.Lock()


def _index(stream: str, transform: Any, working: str) -> tuple[trace.HostSpec, int] | None:
    if not enabled() or not _available():
        return None
    spec = trace.host_kernel_spec(stream, transform, working)
    index = _INDEX.get(spec.identity)
    if index is None or index in _refused:
        return None
    return spec, index


def uniform_filler() -> Callable[..., None] | None:
    """``fill(seed, skip, count, out, itemsize)``: NumPy's PCG64 uniforms, compiled; or None."""
    if not enabled() or not _available():
        return None
    return getattr(_speedups, "pcg64", None)  # absent where the compiler has no 128-bit integers


def native_kernel(transform: Any, working: str) -> Callable[[np.ndarray], np.ndarray] | None:
    """``kernel(u)``: a native stream's chunk of uniforms ``u`` transformed in place, or None."""
    found = _index("native", transform, working)
    if found is None:
        return None
    spec, index = found
    kernel = _native(spec, index, trace.host_kernel_constants("native", transform, working))
    if index not in _checked and not _verified(index, lambda: _native_agrees(kernel, transform, working)):
        return None
    return kernel


def _native(spec: trace.HostSpec, index: int, constants: bytes) -> Callable[[np.ndarray], np.ndarray]:
    transform, log, working, scratch = _speedups.transform, np.log, spec.working, range(1, spec.buffers)

    def kernel(u: np.ndarray) -> np.ndarray:
        count = u.shape[0]
        transform(index, count, constants, log, u, *[_scratch.get(working, j, count) for j in scratch])
        return u

    return kernel


def portable_kernel(key: tuple[int, int], transform: Any, working: str) -> Callable[..., np.ndarray] | None:
    """``fill(start, count, out)``: the portable values of positions ``start ..`` into ``out``, or None."""
    found = _index("threefry", transform, working)
    if found is None:
        return None
    spec, index = found
    fill = _portable(spec, index, key, trace.host_kernel_constants("threefry", transform, working))
    if index not in _checked and not _verified(index, lambda: _portable_agrees(transform, working, spec, index)):
        return None
    return fill


def _portable(spec: trace.HostSpec, index: int, key: tuple[int, int], constants: bytes) -> Callable[..., Any]:
    run, dtype = _speedups.run, np.dtype(spec.working)
    arguments = _KEY.pack(*key) + constants

    def fill(start: int, count: int, out: np.ndarray | None) -> np.ndarray:
        if out is None:
            out = np.empty(count, dtype=dtype)
        run(index, 0, start, count, arguments, out)
        return out

    return fill


def _verified(index: int, agrees: Callable[[], bool]) -> bool:
    """Whether kernel ``index`` gives the array operations' bits (checked once per process)."""
    with _check_lock:
        if index in _checked:
            return index not in _refused
        good = agrees()
        _checked.add(index)
        if not good:
            _refused.add(index)
            warnings.warn(
                f"vscale: compiled kernel {index} gives other values than the array operations (was the extension "
                "built with flags that break IEEE arithmetic, such as -ffast-math?); the array operations are used "
                "instead.",
                KernelsUnavailableWarning,
                stacklevel=5,
            )
        return good


def _grid_ends(working: str) -> np.ndarray:
    """Uniform draws at both ends of the grid ``k * eps/2`` and across it: the hardest inputs."""
    step = float(np.finfo(working).eps) / 2
    ks = np.arange(_CHECKED // 2, dtype=np.float64)
    top = 1.0 / step
    middle = np.linspace(0.0, top - 1, _CHECKED // 2 + 3, dtype=np.float64)
    return (np.concatenate([ks, top - 1 - ks, np.floor(middle)]) * step).astype(working)


def _native_agrees(kernel: Callable[[np.ndarray], np.ndarray], transform: Any, working: str) -> bool:
    anp = standard_namespace(np)

    u = _grid_ends(working)
    expected = np.asarray(apply(u.copy(), transform, xp=anp))
    computed = kernel(u.copy())
    return bool(np.array_equal(computed.view(np.uint8), expected.view(np.uint8)))


def _portable_agrees(transform: Any, working: str, spec: trace.HostSpec, index: int) -> bool:
    anp = standard_namespace(np)

    key = (0x9E3779B9, 0x7F4A7C15)
    stream = ThreefryStream(key, anp, None, np.dtype(working), np.uint32, "jax")
    fill = _portable(spec, index, key, trace.host_kernel_constants("threefry", transform, working))
    for start in (0, (1 << 32) - _CHECKED // 2):
        expected = np.asarray(portable.apply(stream.draw(start, _CHECKED), transform, xp=anp))
        computed = fill(start, _CHECKED, None)
        if not np.array_equal(computed.view(np.uint8), expected.view(np.uint8)):
            return False
    return True


#: Shortest run of consecutive positions that a region's chunk gives the compiled kernel
#: (one call per run, about a microsecond each); regions of shorter rows use the array operations.
MIN_RUN = 128


def portable_fill(key: tuple[int, int], transform: Any, working: str, region: Any, dims: tuple[int, ...]) -> Any | None:
    """``fill(start, count, out)`` of a call's (or a region's) portable values, or None.

    Whole calls and regions that are one run of the call's positions take the kernel
    directly; other regions take it once per row of at least :data:`MIN_RUN` values.
    """
    offset = None if region is None else box_offset(region, dims)
    by_rows = region is not None and offset is None
    run = (region.sizes[-1] if region.steps[-1] == 1 else 1) if by_rows else 0
    if by_rows and run < MIN_RUN:
        return None  # rows too short for a call each: the array operations
    fill = portable_kernel(key, transform, working)
    if fill is None or region is None:
        return fill
    if offset is not None:
        return lambda start, count, out: fill(offset + start, count, out)

    def fill_rows(start: int, count: int, out: np.ndarray) -> np.ndarray:
        first_row = start - start % run
        row_starts = np.arange(first_row, start + count, run, dtype=np.int64)
        positions = box_positions(region, dims, row_starts, xp=np).tolist()
        for row_start, position in zip(row_starts.tolist(), positions, strict=True):
            low, high = max(row_start, start), min(row_start + run, start + count)
            fill(position + low - row_start, high - low, out[low - start : high - start])
        return out

    return fill_rows


def kernel_names() -> tuple[str, ...]:
    """The digests of the compiled kernels (empty without the extension)."""
    return tuple(_INDEX)
