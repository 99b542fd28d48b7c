"""Flat index ranges of a C-ordered shape as a few rectangular regions.

An existing array that is not contiguous cannot be viewed as one flat array, but every
flat range ``[start, stop)`` of its elements is the union of at most ``2 * ndim - 1``
boxes: a partial leading row (recursively), a run of whole rows, a partial trailing row
(recursively).  Writing each box with one basic-indexing assignment fills the array
chunk by chunk through a bounded workspace, on any namespace that supports
``a[key] = value``.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

Array = Any


class Region(NamedTuple):
    """Elements ``offset .. offset + size`` of a flat range are ``array[key]``, of ``shape``."""

    key: tuple[int | slice, ...]
    offset: int
    size: int
    shape: tuple[int, ...]


def flat_regions(shape: tuple[int, ...], start: int, stop: int, offset: int = 0) -> list[Region]:
    """The regions of flat (C-order) positions ``start .. stop - 1`` of ``shape``.

    >>> [tuple(r) for r in flat_regions((2, 3), 1, 6)]
    [((0, slice(1, 3, None)), 0, 2, (2,)), ((slice(1, 2, None),), 2, 3, (1, 3))]
    """
    if start >= stop:
        return []
    if not shape:
        return [Region((), offset, 1, ())]
    inner = math.prod(shape[1:])
    regions: list[Region] = []
    row, within = divmod(start, inner)
    if within:
        end = min(stop, (row + 1) * inner)
        regions += _nested(row, flat_regions(shape[1:], within, end - row * inner, offset))
        offset += end - start
        start, row = end, row + 1
    whole = (stop - start) // inner
    if whole:
        regions.append(Region((slice(row, row + whole),), offset, whole * inner, (whole, *shape[1:])))
        offset += whole * inner
        start, row = start + whole * inner, row + whole
    if start < stop:
        regions += _nested(row, flat_regions(shape[1:], 0, stop - start, offset))
    return regions


def _nested(row: int, inner: list[Region]) -> list[Region]:
    return [Region((row, *r.key), r.offset, r.size, r.shape) for r in inner]


class Box(NamedTuple):
    """A basic-indexing selection ``array[start_0::step_0][:size_0], ...`` of a C-ordered shape.

    Each dimension keeps ``size`` elements ``start, start + step, ...`` (``step`` may be
    negative, as with Python slices); a region of a call is one box of its shape.
    """

    starts: tuple[int, ...]
    steps: tuple[int, ...]
    sizes: tuple[int, ...]


def _strides(dims: tuple[int, ...]) -> list[int]:
    return [math.prod(dims[d + 1 :]) for d in range(len(dims))]


def box_base(box: Box, dims: tuple[int, ...]) -> int:
    """The flat position in ``dims`` of the box's first element."""
    return sum(start * stride for start, stride in zip(box.starts, _strides(dims), strict=True))


def box_offset(box: Box, dims: tuple[int, ...]) -> int | None:
    """``o`` where the box's element ``p`` (its own flat index) is element ``o + p`` of
    ``dims``: a run of whole trailing rows with unit steps (Dask blocks, row shards); else None."""
    leading = 0
    while leading < len(dims) and box.sizes[leading] == 1:
        leading += 1
    for d in range(leading + 1, len(dims)):
        if box.starts[d] != 0 or box.sizes[d] != dims[d] or (box.steps[d] != 1 and dims[d] > 1):
            return None
    if leading < len(dims) and box.steps[leading] != 1 and box.sizes[leading] > 1:
        return None
    return box_base(box, dims)


def box_positions(box: Box, dims: tuple[int, ...], local: Array, /, *, xp: Any) -> Array:
    """The flat positions in ``dims`` of the box's elements ``local`` (its own flat indices).

    ``local`` is an integer array wide enough for the positions (int64); it is not modified.
    """
    strides = _strides(dims)
    positions = xp.zeros_like(local) + box_base(box, dims)
    inner = 1
    for d in reversed(range(len(dims))):
        size, step = box.sizes[d], box.steps[d]
        if size > 1:
            index = local // inner if inner > 1 else local
            if d > 0:
                index = index % size
            positions += index * (step * strides[d])
        inner *= size
    return positions


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
