"""The host stream: NumPy's PCG64, one independent sub-stream per block of positions.

A call's 16-byte key and a block index ``b`` give, through BLAKE2b, the 128-bit state
and 128-bit increment of a PCG64 generator; that generator's draws are the block's
positions ``b * PCG64_BLOCK .. (b + 1) * PCG64_BLOCK - 1``.  Inside a block a position is reached
with ``PCG64.advance`` in ``O(log n)``.  So any range of positions can be drawn alone,
by any thread, with the same values: the stream is seekable, which is what threads,
chunks of any size and (later) regions need.

The stream gives uniforms only, ``Generator.random``'s: the top 24 (float32) or 53
(float64) bits of each 32- or 64-bit output, exactly the grid ``k * eps/2``; all three
distributions are transforms of them (the untruncated normal by the inverse CDF, as the
truncated one), so any range of positions costs its length, normals included.

Every generator is the calling thread's own, re-seeded for each block: seeding costs a
hash and a state assignment (~3 us), not a ``SeedSequence`` (~30 us).  Where the compiled
kernels are installed, the uniforms come from their copy of PCG64 and ``Generator.random``
instead: the same bits, in half the time, without a state assignment.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from ..kernels.host import uniform_filler
from .blocks import spans
from .keys import block_digest

#: Positions per PCG64 sub-stream.  Part of the stream's definition: changing it changes
#: every seeded value, so it is fixed, never derived from the machine.
PCG64_BLOCK = 1 << 16

_local = threading.local()


def _generator() -> np.random.Generator:
    generator = getattr(_local, "generator", None)
    if generator is None:
        generator = _local.generator = np.random.Generator(np.random.PCG64(0))
    return generator


def block_seed(key: bytes, block: int) -> bytes:
    """PCG64's state and increment for ``block`` of the stream with ``key``, 16 little-endian bytes each."""
    digest = block_digest(key, block, 32, b"vscale-pcg64")
    return digest[:16] + bytes([digest[16] | 1]) + digest[17:]  # PCG's increment must be odd


def block_state(key: bytes, block: int) -> dict[str, Any]:
    """PCG64's state for ``block`` of the stream with ``key``, as NumPy's bit generator takes it."""
    seed = block_seed(key, block)
    state, increment = int.from_bytes(seed[:16], "little"), int.from_bytes(seed[16:], "little")
    return {"bit_generator": "PCG64", "state": {"state": state, "inc": increment}, "has_uint32": 0, "uinteger": 0}


class PCG64Stream:
    """Seekable host stream of uniforms for one call; see the module docstring."""

    seekable = True
    normals = False

    def __init__(self, key: bytes, dtype: np.dtype) -> None:
        self.key = key
        self.dtype = dtype
        self.fill = uniform_filler()

    def draw(self, start: int, count: int, out: Any = None, *, normal: bool = False) -> Any:
        if out is None:
            out = np.empty((count,), dtype=self.dtype)
        for block, offset, size, done, _ in spans(start, count, PCG64_BLOCK):
            self._draw_block(block, offset, out[done : done + size])
        return out

    def _draw_block(self, block: int, offset: int, out: Any) -> None:
        if self.fill is not None:
            try:
                self.fill(block_seed(self.key, block), offset, out.shape[0], out, self.dtype.itemsize)
                return
            except (ValueError, BufferError):  # not a writable aligned contiguous array: NumPy's way
                pass
        generator = _generator()
        bit_generator: Any = generator.bit_generator  # PCG64 (typed as BitGenerator)
        bit_generator.state = block_state(self.key, block)
        # A float64 draw consumes one 64-bit output; a float32 draw one 32-bit half of
        # it, the low half first and the high half kept for the next draw.
        halves = self.dtype.itemsize == 4
        steps, spare = divmod(offset, 2) if halves else (offset, 0)
        if steps:
            bit_generator.advance(steps)
        if spare:
            generator.random(1, dtype=self.dtype)
        generator.random(out=out, dtype=self.dtype)
