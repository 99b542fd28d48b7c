"""Native streams of host arrays: NumPy, torch on the CPU, any other array-API namespace.

All draw the host PCG64 stream (:mod:`vscale.streams.pcg64`): a torch CPU tensor through
NumPy's view of its memory, any other namespace through ``xp.asarray`` of NumPy's
draws.  The stream seeks, so ``region=`` works on all of them.  Their keys come from
NumPy's global state (``numpy.random.seed``) or a ``numpy.random.Generator``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backends import Backend
from .keys import key_from_words
from .pcg64 import PCG64Stream


def stream(backend: Backend, key: bytes, device: Any, working: Any, total: int) -> Any:
    """The PCG64 stream of ``key`` in the working dtype; moved into ``backend``'s namespace
    unless that is NumPy's (torch CPU's working dtype is a NumPy dtype: it draws into NumPy views)."""
    if isinstance(working, np.dtype):
        return PCG64Stream(key, working)
    return MovedStream(PCG64Stream(key, np.dtype(real_name_of(working))), backend.xp, working, device)


def real_name_of(dtype: Any) -> str:
    """The real dtype name of a namespace's float32 or float64 dtype object."""
    return "float64" if "64" in str(dtype) else "float32"


def key_from(backend: Backend, generator: Any, device: Any) -> bytes:
    """16 bytes from ``generator``, or from NumPy's global state when it is None."""
    if generator is None:
        return key_from_words(np.random.randint(0, 2**32, size=4, dtype=np.uint64))
    if isinstance(generator, np.random.Generator):
        return key_from_words(generator.integers(0, 2**32, size=4, dtype=np.uint64))
    raise TypeError(
        f"Argument `generator` must be None or a numpy.random.Generator on the {backend.framework_name} "
        f"backend; received an object of type {type(generator).__name__}."
    )


def seeks(backend: Backend, device: Any) -> bool:
    return True


class MovedStream:
    """A host stream whose draws are copied into another namespace's arrays."""

    seekable = True

    def __init__(self, host: PCG64Stream, xp: Any, dtype: Any, device: Any) -> None:
        self.host, self.xp, self.dtype, self.device = host, xp, dtype, device
        self.normals = host.normals

    def draw(self, start: int, count: int, out: Any = None, *, normal: bool = False) -> Any:
        return self.xp.asarray(self.host.draw(start, count, normal=normal), dtype=self.dtype, device=self.device)
