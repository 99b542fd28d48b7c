"""CuPy's native stream: a CuPy generator per block of positions, on the target GPU.

Block seeds are 128 bits, which CuPy's generators hash through NumPy's ``SeedSequence``.
Keys come from CuPy's global generator or a ``cupy.random.Generator``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backends import Backend
from . import host
from .blocks import BlockStream
from .keys import key_from_words


def stream(backend: Backend, key: bytes, device: Any, working: Any, total: int) -> Any:
    cupy = backend.cupy  # type: ignore[attr-defined]

    def fill(seed: int, out: Any, normal: bool) -> None:
        with device:
            generator = cupy.random.default_rng(seed)
            if normal:
                generator.standard_normal(out.shape, dtype=out.dtype, out=out)
                return
            generator.random(out.shape, dtype=out.dtype, out=out)
            # CuPy's float kernels are not documented to use the k * eps/2 grid: snap.
            step = float(np.finfo(out.dtype).eps) / 2
            out /= step
            cupy.floor(out, out=out)
            out *= step

    def empty(count: int) -> Any:
        with device:
            return cupy.empty((count,), dtype=working)

    return BlockStream(key, total, fill, empty, seed_bytes=16)


def key_from(backend: Backend, generator: Any, device: Any) -> bytes:
    cupy = backend.cupy  # type: ignore[attr-defined]
    with device:
        if generator is None:
            words = cupy.random.randint(0, 2**32, size=4, dtype=cupy.int64).get()
        elif isinstance(generator, cupy.random.Generator):
            words = generator.integers(0, 2**32, size=4, dtype=cupy.int64).get()
        else:
            return host.key_from(backend, generator, device)
    return key_from_words(words)


def seeks(backend: Backend, device: Any) -> bool:
    return False  # whole blocks of 2**22 per draw
