"""Regions of seekable native streams: each run of consecutive positions drawn alone.

The portable stream computes a region's draws from their positions itself
(:class:`vscale.core.threefry.ThreefryStream`); a native stream that seeks cheaply
(the host PCG64 stream) gives a region through :class:`RegionStream`, so that
``region=`` works without ``prng="threefry"`` on the CPU.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.regions import Positions

Array = Any


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
