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

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from .keys import block_digest

#: Positions per GPU block: 16 MiB of float32, so launches are few and the temporary of
#: an unaligned range stays bounded.  Part of the stream's definition, fixed.
LAUNCH_BLOCK = 1 << 22


class Span(NamedTuple):
    """The part of one block that a range of positions takes: positions ``offset ..
    offset + size - 1`` of block ``block`` (of ``length`` positions) go to the range's
    places ``done .. done + size - 1``."""

    block: int
    offset: int
    size: int
    done: int
    length: int


def spans(start: int, count: int, block_size: int, total: int | None = None) -> Iterator[Span]:
    """The blocks that positions ``start .. start + count - 1`` touch, in order: the one block
    loop of every stream that draws by blocks.  ``total`` shortens a call's last block."""
    done = 0
    while done < count:
        block, offset = divmod(start + done, block_size)
        length = block_size if total is None else min(block_size, total - block * block_size)
        size = min(count - done, length - offset)
        yield Span(block, offset, size, done, length)
        done += size


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
        for block, offset, size, done, length in spans(start, count, LAUNCH_BLOCK, self.total):
            seed = block_seed(self.key, block, self.seed_bytes)
            if offset == 0 and size == length:
                self.fill(seed, out[done : done + size], normal)
            else:
                whole = self.empty(length)
                self.fill(seed, whole, normal)
                out[done : done + size] = whole[offset : offset + size]
        return out
