"""The chunk loop: uniform draws from an adapter, through a core transform, into the output.

The output is allocated once, flat, in its final dtype and device, and is the only
allocation that grows with the shape.  Each chunk of at most ``backend.chunk_size``
values is drawn in the working dtype (float64 for float64 outputs, float32 otherwise,
so float16/bfloat16 get float32 resolution and a single rounding) and transformed.

* When the working dtype is the output dtype and the adapter's slices are writable
  views, the chunk is drawn straight into its slice of the output and transformed
  there: no workspace, and no copy unless the transform had to return a new array
  (the clip of the truncated normal).
* Otherwise one workspace chunk is allocated per call and reused: drawn into,
  transformed, cast and copied into the output.

The transforms' temporaries are a few chunks, so peak memory is the output plus a
workspace bounded by the chunk size, whatever the output size.  Chunks only split an
elementwise computation over one sequential stream of draws (or a stream drawn whole,
for generators that need it, see :meth:`Backend.draws_whole`), so values do not depend
on the chunk size.
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
    """A new array of ``shape`` and ``dtype`` on ``device`` with ``transform``'s values."""
    xp = backend.xp
    count = math.prod(shape)
    working = dtype if xp.finfo(dtype).bits >= 32 else backend.native_dtype("float32")
    flat = backend.empty(count, dtype, device)
    if count == 0:
        return backend.finalize(xp.reshape(flat, shape))
    generator = backend.generator(seed, device)
    chunk = backend.chunk_size
    in_place = working == dtype and backend.writable_views
    drawn = in_place and backend.draws_whole(device)
    if drawn:
        backend.fill_uniform(generator, flat, device)
    workspace: Any = None if in_place else backend.empty(min(chunk, count), working, device)
    for start in range(0, count, chunk):
        stop = min(start + chunk, count)
        target = flat[start:stop] if in_place else workspace[: stop - start]
        if not drawn:
            backend.fill_uniform(generator, target, device)
        values = apply(target, transform, xp=xp)
        if in_place and values is target:
            continue
        flat[start:stop] = values if working == dtype else xp.astype(values, dtype)
    return backend.finalize(xp.reshape(flat, shape))
