"""Streams for GPU generators: one independently seeded generator per block of positions.

GPU generators hand out random numbers per thread of each kernel launch, so the values a
position gets depend on how the draws are split into launches.  Here a block of
:data:`LAUNCH_BLOCK` positions is always drawn by one launch of its full length, from a
generator whose seed is a BLAKE2b hash of the call's key and the block index (torch:
64 bits, all that ``manual_seed`` takes on CUDA; CuPy: 128 bits, which its generators hash
through NumPy's ``SeedSequence``).  A range that starts or ends inside a block draws the
whole block into a temporary and keeps its part (the engine's device chunks are whole blocks, so it never does).  Every
position's value is therefore fixed by the key alone, whatever the chunks and threads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .keys import block_digest

#: Positions per GPU block: 16 MiB of float32, so launches are few and the temporary of
#: an unaligned range stays bounded.  Part of the stream's definition, fixed.
LAUNCH_BLOCK = 1 << 22


def block_seed(key: bytes, block: int, size: int = 8) -> int:
    """The ``8 * size``-bit seed of ``block`` of the stream with ``key``."""
    return int.from_bytes(block_digest(key, block, size, b"vscale-block"), "little")


class BlockStream:
    """Seekable stream of ``total`` positions; ``fill(seed, out, normal)`` draws one whole block."""

    seekable = True
    normals = True

    def __init__(
        self,
        key: bytes,
        total: int,
        fill: Callable[[int, Any, bool], None],
        empty: Callable[[int], Any],
        seed_bytes: int = 8,
    ) -> None:
        self.key, self.total, self.fill, self.empty, self.seed_bytes = key, total, fill, empty, seed_bytes

    def draw(self, start: int, count: int, out: Any = None, *, normal: bool = False) -> Any:
        if out is None:
            out = self.empty(count)
        done = 0
        while done < count:
            block, offset = divmod(start + done, LAUNCH_BLOCK)
            length = min(LAUNCH_BLOCK, self.total - block * LAUNCH_BLOCK)
            size = min(count - done, length - offset)
            seed = block_seed(self.key, block, self.seed_bytes)
            if offset == 0 and size == length:
                self.fill(seed, out[done : done + size], normal)
            else:
                whole = self.empty(length)
                self.fill(seed, whole, normal)
                out[done : done + size] = whole[offset : offset + size]
            done += size
        return out
