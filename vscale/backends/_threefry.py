"""Streams addressed by global position: Threefry on any namespace, and regions of seekable ones.

:class:`ThreefryStream` computes each draw from (key, position) in the compute
namespace itself (no host generator, no transfer): whole calls count positions
``0 .. n - 1``, a region's chunk maps its own indices to the positions they have in the
whole call (:func:`vscale.core.regions.box_positions`), so a region's values are the
whole call's values at those places, computed alone.

:class:`RegionStream` gives the same for the native streams that seek cheaply (the host
PCG64 stream): it draws each run of consecutive positions of the chunk and joins them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core import threefry
from ..core.regions import Box, box_offset, box_positions

Array = Any
_PAGE = 1 << 32


class Positions:
    """Where a region's elements sit in the whole call: ``parts`` positions per element."""

    def __init__(self, box: Box, dims: tuple[int, ...], parts: int) -> None:
        self.box, self.dims, self.parts = box, dims, parts
        # Where the region is a run of the call's positions, they are drawn directly.
        offset = box_offset(box, dims)
        self.offset = None if offset is None else parts * offset

    def of(self, start: int, count: int, *, xp: Any, index: Any, device: Any = None) -> Array:
        """Global positions of the region's positions ``start .. start + count - 1``."""
        local = xp.arange(start, start + count, dtype=index, device=device)
        if self.parts == 1:
            return box_positions(self.box, self.dims, local, xp=xp)
        part = local % self.parts
        element = box_positions(self.box, self.dims, local // self.parts, xp=xp)
        element *= self.parts
        element += part
        return element


class ThreefryStream:
    """JAX's Threefry-2x32 stream of a 64-bit key, in the compute namespace ``xp``.

    ``word`` is the integer dtype of the rounds (see :mod:`vscale.core.threefry`),
    ``index`` the one of region positions (64-bit); ``grid`` is ``"jax"`` or ``"centred"``.
    """

    seekable = True
    normals = False
    #: Chunks of temporaries the stream holds while drawing (two word arrays and a shift).
    temporaries = 3

    def __init__(
        self,
        key: tuple[int, int],
        xp: Any,
        device: Any,
        dtype: Any,
        word: Any,
        grid: str,
        positions: Positions | None = None,
        index: Any = None,
        word_operand: Any = None,
    ) -> None:
        self.key, self.xp, self.device, self.dtype, self.word = key, xp, device, dtype, word
        self.wide = xp.iinfo(word).bits > 32
        self.grid, self.positions, self.index = grid, positions, index
        #: The adapter's converter for key-schedule words (see ``Backend.threefry_word``).
        self.word_operand = word_operand

    def draw(self, start: int, count: int, out: Array | None = None, *, normal: bool = False) -> Array:
        xp = self.xp
        if self.positions is not None and self.positions.offset is not None:
            start += self.positions.offset
        elif self.positions is not None:
            flat = self.positions.of(start, count, xp=xp, index=self.index, device=self.device)
            x0, x1 = threefry.split_positions(flat, xp=xp, word=self.word)
            return self._uniforms(x0, x1)
        pieces = []
        position, stop = start, start + count
        while position < stop:  # counters of one range stay within a 2**32 page
            size = min(stop, (position // _PAGE + 1) * _PAGE) - position
            x0, x1 = threefry.counters(position, size, xp=xp, word=self.word, device=self.device)
            pieces.append(self._uniforms(x0, x1))
            position += size
        return pieces[0] if len(pieces) == 1 else xp.concat(pieces)

    def _uniforms(self, x0: Array, x1: Array) -> Array:
        y0, y1 = threefry.threefry2x32(self.key, x0, x1, wide=self.wide, word=self.word_operand)
        return threefry.words_to_uniforms(y0, y1, xp=self.xp, dtype=self.dtype, grid=self.grid)


class RegionStream:
    """A region's draws from a seekable native stream: each run of consecutive positions drawn alone.

    The cost grows with the number of runs (rows of the region) besides its size; for
    streams of native normals a run that starts inside a block replays the block's
    earlier normals.
    """

    seekable = True
    temporaries = 1

    def __init__(self, stream: Any, positions: Positions, xp: Any) -> None:
        self.stream, self.positions, self.xp = stream, positions, xp
        self.normals = stream.normals

    def draw(self, start: int, count: int, out: Array | None = None, *, normal: bool = False) -> Array:
        if self.positions.offset is not None:
            return self.stream.draw(self.positions.offset + start, count, normal=normal)
        flat = self.positions.of(start, count, xp=np, index=np.int64)
        breaks = np.flatnonzero(np.diff(flat) != 1) + 1
        bounds = [0, *breaks.tolist(), count]
        pieces = [
            self.stream.draw(int(flat[first]), last - first, normal=normal)
            for first, last in zip(bounds[:-1], bounds[1:], strict=True)
        ]
        return pieces[0] if len(pieces) == 1 else self.xp.concat(pieces)
