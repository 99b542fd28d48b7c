"""Where the engine's values go: a new flat array, an existing array, or new pieces.

* :class:`FlatOutput` — a flat array: a new result, or the flat alias of a contiguous
  array filled in place.  Where the adapter can show it as a writable array of the
  compute namespace and working dtype, the engine draws and transforms right there.
* :class:`RegionOutput` — an existing array that is not contiguous: each chunk is written
  through a few rectangular regions (:mod:`vscale.core.regions`).
* :class:`PiecesOutput` — a namespace whose arrays are immutable (JAX): each chunk's
  values are kept and joined once at the end.
"""

from __future__ import annotations

from typing import Any

from ..backends import Backend
from ..core.regions import flat_regions

Array = Any


class FlatOutput:
    def __init__(self, backend: Backend, flat: Array, working: Any) -> None:
        self.backend = backend
        self.flat = flat
        self._view = backend.compute_view(flat, working)

    def view(self) -> Array | None:
        return self._view

    def write(self, start: int, values: Array) -> None:
        key = slice(start, start + values.shape[0])
        if self._view is not None:
            self._view[key] = values
        else:
            self.backend.assign(self.flat, key, values)


class RegionOutput:
    def __init__(self, backend: Backend, array: Array, compute_xp: Any) -> None:
        self.backend = backend
        self.array = array
        self.xp = compute_xp
        self.shape = tuple(int(d) for d in array.shape)

    def view(self) -> Array | None:
        return None

    def write(self, start: int, values: Array) -> None:
        for region in flat_regions(self.shape, start, start + values.shape[0]):
            piece = values[region.offset : region.offset + region.size]
            key = region.key + (...,) if len(region.key) < len(self.shape) else region.key
            self.backend.assign(self.array, key, self.xp.reshape(piece, region.shape))


class PiecesOutput:
    def __init__(self, backend: Backend, dtype: Any) -> None:
        self.backend = backend
        self.dtype = dtype
        self.pieces: list[Array] = []

    def view(self) -> Array | None:
        return None

    def write(self, start: int, values: Array) -> None:
        self.pieces.append(values if values.dtype == self.dtype else self.backend.xp.astype(values, self.dtype))

    def result(self) -> Array:
        return self.pieces[0] if len(self.pieces) == 1 else self.backend.xp.concat(self.pieces)
