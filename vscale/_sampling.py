"""The chunk loop: uniform draws from an adapter, through a core transform, into the output.

The output is allocated once, flat, in its final dtype and device; each chunk of at
most ``backend.chunk_size`` values is drawn in the working dtype (float64 for float64
outputs, float32 otherwise, so float16/bfloat16 get float32 resolution and a single
rounding), transformed and written into its slice.  Peak extra memory is therefore a
few chunks, whatever the output size.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .backends import Backend
from .core import Transform, apply


def sample(
    backend: Backend,
    shape: tuple[int, ...],
    dtype: Any,
    device: Any,
    transform: Transform,
    seed: np.random.SeedSequence,
) -> Any:
    xp = backend.xp
    count = math.prod(shape)
    working = dtype if xp.finfo(dtype).bits >= 32 else backend.native_dtype("float32")
    flat = backend.empty(count, dtype, device)
    generator = backend.generator(seed, device) if count else None
    for start in range(0, count, backend.chunk_size):
        size = min(backend.chunk_size, count - start)
        values = apply(backend.uniform(generator, size, working, device), transform, xp=xp)
        flat[start : start + size] = values if working == dtype else xp.astype(values, dtype)
    return backend.finalize(xp.reshape(flat, shape))
