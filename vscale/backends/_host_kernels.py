"""The portable stream as one compiled loop on the CPU, where a C compiler is installed.

On a host, the portable stream computed with NumPy is about 190 array operations per
chunk (20 Threefry rounds and a transform built from correctly rounded operations),
each a pass over memory that holds the GIL between passes, so threads do not help.  The
same trace that becomes a GPU kernel (:func:`vscale.backends._kernels.trace_portable`)
is compiled here by the system's C compiler into a vectorized loop and called through
:mod:`ctypes`, which releases the GIL: one write per value, and the engine's threads run
in parallel.  Without a compiler, or with ``VSCALE_KERNELS=0``, the NumPy operations run
instead; both give the same bits, and a compiled kernel is checked against them when it
is loaded (a compiler that does not keep IEEE semantics is refused, not trusted).

Compiled libraries are cached on disk (``VSCALE_CACHE_DIR``, else
``$XDG_CACHE_HOME/vscale`` or ``~/.cache/vscale``), named by a hash of the source, the
compiler and its flags, and the CPU's features, so a cache shared by machines never
serves one machine's code to another.  A directory that other users can write is not
used (its libraries would run as our code); a per-process temporary one is used instead.
"""

from __future__ import annotations

import atexit
import ctypes
import functools
import hashlib
import os
import platform
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..core.regions import box_offset, box_positions
from . import _kernels

_CTYPES: dict[str, Any] = {
    "float32": ctypes.c_float,
    "float64": ctypes.c_double,
    "uint32": ctypes.c_uint32,
    "int64": ctypes.c_int64,
}
#: IEEE semantics kept (no contraction into FMA, no fast math); errno and traps off so
#: that ``sqrt`` is an instruction and selections vectorize.  Neither changes a result.
FLAGS = ("-O3", "-std=c99", "-ffp-contract=off", "-fno-fast-math", "-fno-math-errno", "-fno-trapping-math")
#: Values checked against the NumPy operations when a compiled kernel is loaded.
_CHECKED = 4099
#: Transforms whose constants are kept (a layer shape and dtype each; then cleared).
_BOUND = 256
#: Seconds a compilation may take before the NumPy operations are used instead.
_COMPILE_TIMEOUT = 120


def compiler() -> str | None:
    """The C compiler: ``VSCALE_CC``, else ``CC``, else ``cc``, ``gcc`` or ``clang`` on the PATH."""
    for name in (os.environ.get("VSCALE_CC"), os.environ.get("CC"), "cc", "gcc", "clang"):
        if name:
            found = shutil.which(name)
            if found:
                return found
    return None


@functools.lru_cache(maxsize=8)
def _target_flags(cc: str) -> tuple[str, ...]:
    """``-march=native`` where the compiler takes it (the cache key carries the CPU's features)."""
    try:
        probe = subprocess.run(
            [cc, "-march=native", "-E", "-x", "c", "-"], input="", capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return ()
    return ("-march=native",) if probe.returncode == 0 else ()


@functools.lru_cache(maxsize=1)
def _cpu_features() -> str:
    """What identifies this CPU's instruction set (Linux: the flags of /proc/cpuinfo)."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith(("flags", "Features")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _private(path: Path) -> bool:
    """Whether ``path`` is a directory of ours that nobody else can write."""
    try:
        info = path.stat()
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode) or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return False
    return not hasattr(os, "getuid") or info.st_uid == os.getuid()


@functools.lru_cache(maxsize=1)
def _scratch() -> Path:
    scratch = Path(tempfile.mkdtemp(prefix="vscale-kernels-"))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    return scratch


def cache_directory() -> Path:
    """Where compiled kernels are kept (created private if missing; a shared one is refused)."""
    configured = os.environ.get("VSCALE_CACHE_DIR")
    if configured:
        base = Path(configured)
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vscale"
    if not base.is_absolute():  # no home directory to resolve "~" against
        return _scratch()
    try:
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return _scratch()
    return base if _private(base) else _scratch()


class HostKernel:
    """One compiled portable kernel: ``fill(start, count, out)`` for contiguous float ``out``."""

    def __init__(self, library: ctypes.CDLL, recording: _kernels.Recording, working: str) -> None:
        self.dtype = np.dtype(working)
        # Arguments are passed as prepared ctypes objects, without ``argtypes``: converting
        # some 50 Python numbers on every call would cost more than a row of a region.
        self.function = library.kernel
        self.function.restype = None
        self.types = [_CTYPES[dtype] for _, dtype, _ in recording.arguments]
        self._library = library  # kept alive with the function

    def constants(self, values: list[Any]) -> tuple[Any, ...]:
        """The transform's argument values (all but the key's two words) as ctypes objects."""
        return tuple(kind(value) for kind, value in zip(self.types[2:], values, strict=True))

    def bind(self, key: tuple[int, int], constants: tuple[Any, ...]) -> Any:
        """``fill(start, count, out)`` for ``key``'s words and the transform's ``constants``."""
        function, dtype = self.function, self.dtype
        arguments = (self.types[0](key[0]), self.types[1](key[1]), *constants)

        def fill(start: int, count: int, out: np.ndarray | None) -> np.ndarray:
            if out is None:
                out = np.empty(count, dtype=dtype)
            # The loop writes through a raw pointer: anything but room for ``count``
            # contiguous values of the working dtype would corrupt memory.
            if out.dtype != dtype or not out.flags.c_contiguous or not out.flags.writeable or out.size < count:
                raise ValueError(f"a compiled kernel needs a writable contiguous {dtype} array of {count} values")
            address = ctypes.c_void_p(out.__array_interface__["data"][0])
            function(ctypes.c_longlong(count), ctypes.c_longlong(start), *arguments, address)
            return out

        return fill


class HostKernels:
    """Compiles, caches, checks and loads the portable kernels of one process."""

    def __init__(self) -> None:
        self._loaded: dict[str, HostKernel | None] = {}
        self._bound: dict[tuple[Any, str], tuple[HostKernel | None, tuple[Any, ...]]] = {}
        self._lock = threading.Lock()

    def portable(self, key: tuple[int, int], transform: Any, working: str) -> Any | None:
        """``fill(start, count, out)`` for whole calls' positions ``start ..``, or None (no compiler)."""
        found = self._bound.get((transform, working))
        if found is None:
            with self._lock:  # one compilation per structure, whichever thread asks first
                found = self._bound.get((transform, working)) or self._find(key, transform, working)
        kernel, constants = found
        return None if kernel is None else kernel.bind(key, constants)

    def _find(self, key: tuple[int, int], transform: Any, working: str) -> tuple[HostKernel | None, tuple[Any, ...]]:
        recording = _kernels.trace_portable(key, transform, working, None, ())
        structure = _kernels.structure_key(recording) + "|" + working
        if structure not in self._loaded:
            self._loaded[structure] = self._load(recording, working, transform)
        # The key's words are the first two arguments; the others are the transform's.
        kernel = self._loaded[structure]
        values = [value.item() for value in recording.values()[2:]]
        found = kernel, () if kernel is None else kernel.constants(values)
        if len(self._bound) >= _BOUND:
            self._bound.clear()
        self._bound[(transform, working)] = found
        return found

    def _load(self, recording: _kernels.Recording, working: str, transform: Any) -> HostKernel | None:
        cc = compiler()
        if cc is None:
            return None
        source = _kernels.c_function(recording, working, working, indexed=True)
        flags = (*FLAGS, *_target_flags(cc))
        identity = "\n".join([source, cc, " ".join(flags), _cpu_features(), platform.machine(), sys.platform])
        name = "vscale_" + hashlib.sha256(identity.encode()).hexdigest()[:32]
        directory = cache_directory()
        library = directory / f"{name}.so"
        kernel = _open(library, recording, working)
        if kernel is None:
            if not _compile(cc, flags, source, library):
                return None
            kernel = _open(library, recording, working)
        if kernel is not None and not _agrees(kernel, recording, working, transform):
            warnings.warn(
                f"vscale: the C compiler {cc} does not keep IEEE arithmetic (its portable kernel differs from "
                "NumPy's operations); the NumPy operations are used instead.",
                RuntimeWarning,
                stacklevel=4,
            )
            return None
        return kernel

    def after_fork(self) -> None:
        """A new lock in a forked child: a thread of the parent may have held this one."""
        self._lock = threading.Lock()


def _open(library: Path, recording: _kernels.Recording, working: str) -> HostKernel | None:
    if not library.exists():
        return None
    try:
        return HostKernel(ctypes.CDLL(str(library)), recording, working)
    except (OSError, AttributeError):  # a truncated or foreign file: compiled again
        library.unlink(missing_ok=True)
        return None


def _compile(cc: str, flags: tuple[str, ...], source: str, library: Path) -> bool:
    """Compile ``source`` into ``library`` (written under a unique name, then renamed)."""
    with tempfile.TemporaryDirectory(prefix="vscale-build-") as build:
        c_file = Path(build) / "kernel.c"
        c_file.write_text(source)
        partial = library.with_name(f"{library.stem}.{os.getpid()}.{threading.get_ident()}.tmp")
        command = [cc, *flags, "-shared", "-fPIC", str(c_file), "-o", str(partial), "-lm"]
        try:
            result = subprocess.run(command, capture_output=True, timeout=_COMPILE_TIMEOUT)
        except (OSError, subprocess.SubprocessError):
            partial.unlink(missing_ok=True)
            return False
        if result.returncode != 0:
            partial.unlink(missing_ok=True)
            return False
        os.replace(partial, library)
    return True


def _agrees(kernel: HostKernel, recording: _kernels.Recording, working: str, transform: Any) -> bool:
    """The kernel's values against the NumPy operations' on positions ``0 ..`` and near 2**32."""
    import array_api_compat.numpy as anp

    from ..core import portable
    from ._threefry import ThreefryStream

    values = [value.item() for value in recording.values()]
    key = (values[0], values[1])
    stream = ThreefryStream(key, anp, None, np.dtype(working), np.uint32, "jax")
    fill = kernel.bind(key, kernel.constants(values[2:]))
    for start in (0, (1 << 32) - _CHECKED // 2):
        expected = np.asarray(portable.apply(stream.draw(start, _CHECKED), transform, xp=anp))
        computed = fill(start, _CHECKED, np.empty(_CHECKED, dtype=working))
        if not np.array_equal(computed.view(np.uint8), expected.view(np.uint8)):
            return False
    return True


#: The process's kernels (compiled libraries are shared by every initializer).
HOST_KERNELS = HostKernels()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=HOST_KERNELS.after_fork)


#: Shortest run of consecutive positions that a region's chunk gives the compiled kernel
#: (one call per run, a few microseconds each); regions of shorter rows use the NumPy operations.
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
        return None  # rows too short for a call each: the operations, and no compilation
    fill = HOST_KERNELS.portable(key, transform, working)
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
