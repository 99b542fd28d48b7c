"""Checking an array to fill in place, before anything is drawn (``VarianceScaling.fill_``).

The engine writes the values chunk by chunk straight into the array (through a bounded
workspace where the array is not contiguous or its dtype is not the working one), so
the peak memory is the array plus a few chunks.  Everything that can fail is checked
before the first write, so a refused call leaves the array untouched.  PyTorch tensors
are written without autograd: an ``nn.Parameter`` stays a leaf without history.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import streams
from ..backends import get_backend
from ..backends.compat import (
    array_namespace,
    is_array_api_obj,
    is_cupy_array,
    is_dtensor,
    is_jax_array,
    is_numpy_array,
    is_torch_array,
    is_writeable_array,
)
from ..backends.torch import Piece, dtensor_piece
from ..core.regions import Box
from .validation import validate_region, validate_shape


class FillTarget(NamedTuple):
    """A checked in-place call: write ``local``, which holds ``box`` (None: all) of a call of
    shape ``dims``, an array of ``namespace``; ``torch_layout`` says its fans are read in
    PyTorch's layout unless the initializer names one (a torch weight, as torch.nn.init reads it)."""

    local: Any
    dims: tuple[int, ...]
    box: Box | None
    namespace: Any
    torch_layout: bool


def fill_target(prng: str, array: Any, shape: Any = None, region: Any = None) -> FillTarget:
    """Check ``array`` (and the piece it holds, ``shape`` and ``region``) before anything is drawn.

    With ``shape`` (the global shape) and ``region``, ``array`` is that region of the call.
    A ``torch.distributed`` DTensor is written shard by shard: its local shard is the region
    of the global call that its placements give this rank.
    """
    if is_dtensor(array):
        if shape is not None or region is not None:
            raise ValueError(
                "Arguments `shape` and `region` must be None for a DTensor: its global shape and placements "
                f"give each rank's piece; received shape={shape!r}, region={region!r}."
            )
        piece = dtensor_piece(array, "Argument `array`")
        check_piece_stream(prng, piece, "Argument `array`")
        array, shape, region = piece
    namespace = prepare(array)
    local = tuple(int(d) for d in array.shape)
    dims = local if shape is None else validate_shape(shape)
    box = None if region is None else validate_region(region, dims)
    expected = dims if box is None else box.sizes
    if expected != local:
        what = "the region's shape" if box is not None else "`shape`"
        raise ValueError(
            f"Argument `array` has shape {local}, but {what} is {expected}; received shape={shape!r}, region={region!r}."
        )
    return FillTarget(array, dims, box, namespace, is_torch_array(array) and len(dims) >= 2)


#: Array types whose namespace their type decides and that are writable unless their
#: adapter's check says otherwise (NumPy's, torch's, CuPy's): found once, not per call.
_NAMESPACE_OF_TYPE: dict[type, Any] = {}


def prepare(array: Any) -> Any:
    """Refuse, before any work, what cannot be filled in place; return the array's namespace."""
    namespace = _NAMESPACE_OF_TYPE.get(type(array))
    if namespace is not None:
        get_backend(namespace).check_fillable(array)
        return namespace
    if not is_array_api_obj(array):
        raise TypeError(
            f"Argument `array` must be an array to fill in place (NumPy, CuPy, torch, or another array-API "
            f"array); received an object of type {type(array).__name__}."
        )
    namespace = array_namespace(array)
    if not is_jax_array(array):
        get_backend(namespace).check_fillable(array)
    if is_writeable_array(array):
        if is_numpy_array(array) or is_torch_array(array) or is_cupy_array(array):
            _NAMESPACE_OF_TYPE[type(array)] = namespace
        return namespace
    raise TypeError(
        f"Argument `array` of type {type(array).__module__}.{type(array).__name__} is immutable and cannot be "
        "filled in place; create a new array by calling the initializer with the shape and xp=."
    )


def check_piece_stream(prng: str, piece: Piece, subject: str) -> None:
    """Refuse, before anything is drawn, a piece that a stream (``prng``) cannot compute
    alone (after :func:`prepare` has accepted ``piece.local``)."""
    if piece.region is None or prng != "native":
        return
    backend = get_backend(array_namespace(piece.local))
    if not streams.seeks(backend, piece.local.device):
        raise ValueError(
            f"{subject} is a piece of a larger tensor on {piece.local.device}, where the native generator draws "
            'whole blocks and cannot compute a piece alone; use an initializer with prng="threefry" (the same '
            "values on every device)."
        )
