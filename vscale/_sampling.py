"""The chunk loop: uniform draws from an adapter, through a core transform, into the output.

The output is allocated once, flat, in its final dtype and device, and is the only
allocation that grows with the shape.  Each chunk of at most ``backend.chunk_size``
values is drawn in the working dtype (float64 for float64 outputs, float32 otherwise,
so float16/bfloat16 get float32 resolution and a single rounding) and transformed.

* When the working dtype is the output dtype and the adapter's slices are writable
  views, the chunk is drawn straight into its slice of the output and transformed
  there: no workspace, and no copy unless the transform had to return a new array
  (the clip of the truncated normal).
* Otherwise one workspace chunk is allocated per block and reused: drawn into,
  transformed, cast and copied into the output.

The transforms' temporaries are a few chunks, so peak memory is the output plus a
workspace bounded by the chunk size (times the threads, see below), whatever the output
size.  Chunks only split an elementwise computation over one sequential stream of draws
(or a stream drawn whole, for generators that need it, see :meth:`Backend.draws_whole`),
so values do not depend on the chunk size.

Where the adapter's generator can start anywhere in its stream (:attr:`Backend.seekable`),
a large output is cut into one contiguous block per thread; each thread positions its own
generator at its block's first draw and runs the same chunk loop.  Every value is still
the same function of the same draw, so results do not depend on the thread count either.
The threads help where the framework releases the GIL (NumPy's generators and ufuncs do).
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from .backends import Backend
from .core import Transform, apply

#: Blocks smaller than this many chunks are not worth a thread of their own.
_MIN_CHUNKS_PER_BLOCK = 4

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def thread_count() -> int:
    """Threads for seekable backends: ``VSCALE_NUM_THREADS``, else the CPUs this process may use."""
    configured = os.environ.get("VSCALE_NUM_THREADS", "").strip()
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else (os.cpu_count() or 1)


def block_count(backend: Backend, count: int) -> int:
    """How many blocks (threads) the loop uses for ``count`` values on ``backend``."""
    if not backend.seekable:
        return 1
    return max(1, min(thread_count(), math.ceil(count / backend.chunk_size) // _MIN_CHUNKS_PER_BLOCK))


def _executor(threads: int) -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None or _pool._max_workers < threads:  # grows only when asked for more
            _pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="vscale")
        return _pool


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
    chunk = backend.chunk_size
    blocks = block_count(backend, count)
    if blocks > 1:
        # Block edges on chunk multiples, so every chunk is the one a single pass would make.
        per_block = math.ceil(math.ceil(count / chunk) / blocks) * chunk
        edges = [(start, min(start + per_block, count)) for start in range(0, count, per_block)]
        jobs = [
            _executor(len(edges)).submit(
                _fill, backend, backend.generator_at(seed, device, start, working), flat, start, stop,
                working, dtype, device, transform,
            )  # fmt: skip
            for start, stop in edges
        ]
        for job in jobs:
            job.result()
    else:
        generator = backend.generator(seed, device)
        if working == dtype and backend.writable_views and backend.draws_whole(device):
            backend.fill_uniform(generator, flat, device)
            generator = None
        _fill(backend, generator, flat, 0, count, working, dtype, device, transform)
    return backend.finalize(xp.reshape(flat, shape))


def _fill(
    backend: Backend,
    generator: Any,
    flat: Any,
    start: int,
    stop: int,
    working: Any,
    dtype: Any,
    device: Any,
    transform: Transform,
) -> None:
    """Values ``start:stop`` of ``flat``, chunk by chunk; ``generator`` None: already drawn there."""
    xp = backend.xp
    chunk = backend.chunk_size
    in_place = working == dtype and backend.writable_views
    workspace: Any = None if in_place else backend.empty(min(chunk, stop - start), working, device)
    for first in range(start, stop, chunk):
        last = min(first + chunk, stop)
        target = flat[first:last] if in_place else workspace[: last - first]
        if generator is not None:
            backend.fill_uniform(generator, target, device)
        values = apply(target, transform, xp=xp)
        if in_place and values is target:
            continue
        flat[first:last] = values if working == dtype else xp.astype(values, dtype)
