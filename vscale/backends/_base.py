"""What a backend adapter supplies to the core: dtypes, devices and uniform draws."""

from __future__ import annotations

import functools
import os
from typing import Any, ClassVar

import numpy as np

from .._compat import standard_namespace

Array = Any


class Backend:
    """One array library, bound to its standard namespace in ``xp``.

    Subclasses override the few methods whose behaviour differs between frameworks;
    the core never asks which framework it runs on.
    """

    framework_name: str
    #: Values per chunk of the transform.  Fixed per backend, never derived from the
    #: memory available, so seeded results do not depend on the machine.  2**16 float32
    #: values are 256 KiB: the chunk and the transform's three or four temporaries stay
    #: in a 1-2 MiB L2 cache, and the per-operation overhead (~1 us) is <2% of a pass.
    chunk_size: ClassVar[int] = 1 << 16
    #: Whether a slice ``a[i:j]`` of a 1-D array is a view whose in-place updates reach
    #: ``a``.  The standard leaves that unspecified, so the default is no: the loop then
    #: transforms a separate workspace and copies each chunk into the output.
    writable_views: ClassVar[bool] = False
    #: Whether :meth:`generator_at` can start the stream at any draw cheaply.  The loop then
    #: splits large outputs into blocks that threads fill at once, each block from its own
    #: positioned generator, with values bit-identical to one sequential pass.
    seekable: ClassVar[bool] = False

    def __init__(self, module: Any) -> None:
        self.xp = standard_namespace(module)

    def __repr__(self) -> str:
        return f"<vscale backend {self.framework_name!r}>"

    def native_dtype(self, name: str) -> Any | None:
        """The namespace's dtype called ``name``, or None where it has none."""
        return getattr(self.xp, name, None)

    def resolve_device(self, device: Any) -> Any:
        """The device to create arrays on; raise ``ValueError`` for unknown devices."""
        raise NotImplementedError

    def generator(self, seed: np.random.SeedSequence, device: Any) -> Any:
        """A fresh random generator on ``device``, seeded from ``seed``."""
        raise NotImplementedError

    def generator_at(self, seed: np.random.SeedSequence, device: Any, offset: int, dtype: Any) -> Any:
        """:meth:`generator`'s stream for ``dtype`` draws, advanced past its first ``offset`` draws."""
        raise NotImplementedError

    def uniform(self, generator: Any, count: int, dtype: Any, device: Any) -> Array:
        """``count`` draws in ``[0, 1)`` on the grid ``k * eps/2`` of ``dtype`` (float32/64)."""
        raise NotImplementedError

    def fill_uniform(self, generator: Any, out: Array, device: Any) -> None:
        """Overwrite the 1-D array ``out`` with :meth:`uniform`'s draws, in place.

        Adapters whose generator can write into an existing array override this to save
        the temporary and the copy; the values must be those of :meth:`uniform`.
        """
        out[...] = self.uniform(generator, out.shape[0], out.dtype, device)

    def draws_whole(self, device: Any) -> bool:
        """Whether the draws must come in one call for the whole output.

        A generator whose stream depends on how the draws are split into calls (GPU
        kernels hand out random numbers per thread of each launch) answers True: the
        loop then draws every uniform into the output before transforming it in chunks,
        so that results stay independent of the chunk size.  Sequential generators
        answer False, and their draws are interleaved with the transform while the
        chunk is in cache.
        """
        return False

    def empty(self, count: int, dtype: Any, device: Any) -> Array:
        return self.xp.empty((count,), dtype=dtype, device=device)

    def finalize(self, array: Array) -> Array:
        """Hook for a last per-framework touch on the result (none by default)."""
        return array

    def memory_bytes(self, device: Any) -> int | None:
        """Total memory of ``device`` in bytes, or None if unknown (host memory by default)."""
        return host_memory_bytes()


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


def seed_to_int(seed: np.random.SeedSequence, bits: int = 64) -> int:
    """A ``bits``-bit integer seed for generators that take a plain integer."""
    return int(seed.generate_state(1, np.uint64)[0]) >> (64 - bits)


def numpy_generator(seed: np.random.SeedSequence) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


def device_error(framework: str, device: Any, allowed: str) -> ValueError:
    return ValueError(
        f"Argument `device` is not a device of the {framework} backend: received device={device!r}; "
        f"expected {allowed}."
    )
