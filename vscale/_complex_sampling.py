"""The chunk loop for complex outputs (the real loop is :mod:`vscale._sampling`).

Each chunk draws ``2 * size`` uniforms in the dtype of the parts (float32 for complex64,
float64 for complex128): the first half sets the moduli, the second the angles.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .backends import Backend
from .core.complex import ComplexTransform, apply_complex


def sample_complex(
    backend: Backend,
    shape: tuple[int, ...],
    dtype: Any,
    part_dtype: Any,
    device: Any,
    transform: ComplexTransform,
    seed: np.random.SeedSequence,
) -> Any:
    xp = backend.xp
    count = math.prod(shape)
    flat = backend.empty(count, dtype, device)
    generator = backend.generator(seed, device) if count else None
    step = max(1, backend.chunk_size // 2)
    for start in range(0, count, step):
        size = min(step, count - start)
        draws = backend.uniform(generator, 2 * size, part_dtype, device)
        flat[start : start + size] = apply_complex(draws[:size], draws[size:], transform, dtype, xp=xp)
    return backend.finalize(xp.reshape(flat, shape))
