"""What a backend adapter translates: dtypes, devices, where arithmetic runs, arrays and writes.

An adapter only translates a framework, as einops' backends do.  Scheduling (chunks,
threads) belongs to the engine (:mod:`vscale.engine`), the random source of a call is a
stream (:mod:`vscale.streams`), compiled loops are kernels (:mod:`vscale.kernels`), and
where values go is an output object (:mod:`vscale.engine.outputs`).
"""

from __future__ import annotations

import functools
import os
from typing import Any

from .compat import standard_namespace

Array = Any


class Backend:
    """One array library, bound to its standard namespace in ``xp``."""

    framework_name: str
    #: Whether arrays of this library can be written in place (JAX's cannot).
    mutable: bool = True
    #: Largest product of the other dimensions of an empty result, where the library
    #: limits it below the 64-bit size (None: that limit).
    max_empty_extent: int | None = None

    def __init__(self, module: Any) -> None:
        self.xp = standard_namespace(module)

    def __repr__(self) -> str:
        return f"<vscale backend {self.framework_name!r}>"

    # -- dtypes and devices -------------------------------------------------------------

    def native_dtype(self, name: str) -> Any | None:
        """The namespace's dtype called ``name``, or None where it has none."""
        return getattr(self.xp, name, None)

    def resolve_device(self, device: Any) -> Any:
        """The device to create arrays on; raise ``ValueError`` for unknown devices."""
        raise NotImplementedError

    def memory_bytes(self, device: Any) -> int | None:
        """Total memory of ``device`` in bytes, or None if unknown (host memory by default)."""
        return host_memory_bytes()

    # -- where the transforms run --------------------------------------------------------

    def compute(self, device: Any) -> tuple[Any, Any]:
        """``(namespace, device)`` that the transforms of an output on ``device`` use."""
        return self.xp, device

    def on_host(self, device: Any) -> bool:
        """Whether the transforms of ``device``'s outputs run on the CPU (small chunks)."""
        return True

    def working_dtype(self, name: str, device: Any) -> Any:
        """The compute namespace's real dtype ``name`` ("float32" or "float64")."""
        return self.native_dtype(name)

    def parallel(self, device: Any) -> bool:
        """Whether threads speed the transforms up (the namespace releases the GIL)."""
        return False

    # -- integers for the portable stream ----------------------------------------------

    def threefry_dtypes(self, xp: Any, device: Any) -> tuple[Any, Any]:
        """``(word, index)``: the compute namespace's integer dtypes for Threefry's rounds
        (``uint32`` where it adds and shifts them) and for 64-bit region positions."""
        return xp.uint32, xp.int64

    def threefry_word(self, device: Any) -> Any | None:
        """How Threefry's key-schedule words (Python ints below 2**32) meet the word arrays:
        None where the namespace takes Python ints of any size, else a converter."""
        return None

    # -- arrays --------------------------------------------------------------------------

    def empty(self, count: int, dtype: Any, device: Any) -> Array:
        return self.xp.empty((count,), dtype=dtype, device=device)

    def reshape(self, flat: Array, dims: tuple[int, ...]) -> Array:
        """``flat`` in the result's shape (no copy)."""
        return self.xp.reshape(flat, dims)

    def flat_alias(self, array: Array) -> Array | None:
        """A flat array sharing ``array``'s memory, or None if there is none (not contiguous)."""
        return None

    def compute_view(self, flat: Array, working: Any) -> Array | None:
        """``flat`` as a writable array of the compute namespace, if it is of dtype ``working``."""
        return None

    def assign(self, target: Array, key: Any, values: Array) -> None:
        """``target[key] = values``, converting from the compute namespace and dtype."""
        if values.dtype != target.dtype:
            values = self.xp.astype(values, target.dtype)
        target[key] = values

    def check_fillable(self, array: Array) -> None:
        """Refuse, before any work, an array that cannot be filled in place."""

    def finish_fill(self, array: Array) -> None:
        """Hook after an array was filled in place (none by default)."""

    def finalize(self, array: Array, device: Any) -> Array:
        """Hook for a last per-framework touch on a new result (none by default)."""
        return array


@functools.lru_cache(maxsize=1)
def host_memory_bytes() -> int | None:
    """Physical memory of this machine, lowered to a cgroup v2 limit where one is set.

    Read once per process: it is consulted on every call, and neither changes while we run.
    """
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):  # no sysconf (Windows) or no such name
        return None
    try:
        with open("/sys/fs/cgroup/memory.max") as limit_file:
            limit = limit_file.read().strip()
    except OSError:
        return total
    return min(total, int(limit)) if limit.isdigit() else total


def device_error(framework: str, device: Any, allowed: str) -> ValueError:
    return ValueError(
        f"Argument `device` is not a device of the {framework} backend: received device={device!r}; expected {allowed}."
    )


def has_overlap(shape: tuple[int, ...], strides: tuple[int, ...]) -> bool:
    """Whether an array with these sizes and strides maps two indices to one address.

    Sufficient test (exact for the layouts slicing and broadcasting make): sorted by
    stride, each dimension must step over everything the smaller ones span.
    """
    dims = sorted((abs(s), n) for n, s in zip(shape, strides, strict=True) if n > 1)
    if any(n == 0 for n in shape):
        return False
    span = 0
    for stride, size in dims:
        if stride <= span:
            return True
        span += stride * (size - 1)
    return False
