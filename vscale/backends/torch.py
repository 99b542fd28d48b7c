"""PyTorch adapter: tensors on any device; CPU tensors computed through NumPy's view of them.

On the CPU a tensor's memory is shared with NumPy, so the engine writes the values into
it through NumPy arrays (the host stream and kernels, on several threads: NumPy's bits);
on an accelerator every operation is a torch operation on the device.  A
``torch.distributed`` DTensor is written through its local shard (:func:`local_piece`).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, NamedTuple

import numpy as np

from .base import Backend, device_error, has_overlap
from .compat import standard_namespace

_NUMPY_NAMES = {"float16", "float32", "float64", "complex64", "complex128"}
_NUMPY_DTYPES: dict[Any, Any] = {}


def _as_numpy_dtype(dtype: Any) -> Any:
    """NumPy's dtype for a torch dtype, or None (bfloat16 and the like)."""
    try:
        return _NUMPY_DTYPES[dtype]
    except KeyError:
        name = str(dtype).rsplit(".", 1)[-1]
        result = _NUMPY_DTYPES[dtype] = np.dtype(name) if name in _NUMPY_NAMES else None
        return result


class TorchBackend(Backend):
    framework_name = "torch"

    def __init__(self, module: Any) -> None:
        super().__init__(module)
        import torch  # optional framework: imported only for a torch call

        self.torch = torch
        self.host_xp = standard_namespace(np)
        self._bump_version = getattr(getattr(torch.autograd, "graph", None), "increment_version", None)

    def native_dtype(self, name: str) -> Any | None:
        return getattr(self.torch, name)

    def resolve_device(self, device: Any) -> Any:
        torch = self.torch
        if device is None:
            return torch.get_default_device()
        try:
            resolved = torch.device(device)
        except (RuntimeError, TypeError, ValueError):
            raise device_error("torch", device, "a torch.device or a string like 'cpu' or 'cuda:0'") from None
        if resolved.type in ("cpu", "meta"):
            if resolved.type == "meta":
                raise device_error("torch", device, "a device with memory ('cpu' or an accelerator), not 'meta'")
            return resolved
        accelerator = getattr(torch, resolved.type, None)
        available = accelerator is not None and getattr(accelerator, "is_available", lambda: False)()
        count = getattr(accelerator, "device_count", lambda: 1)() if available else 0
        if not available:
            raise device_error("torch", device, f"'cpu' (this machine has no usable {resolved.type} device)")
        if resolved.index is not None and resolved.index >= count:
            raise device_error("torch", device, f"'cpu' or {resolved.type} devices 0..{count - 1}")
        return resolved

    def memory_bytes(self, device: Any) -> int | None:
        if device.type == "cpu":
            return super().memory_bytes(device)
        if device.type == "cuda":
            index = device.index if device.index is not None else self.torch.cuda.current_device()
            return int(self.torch.cuda.get_device_properties(index).total_memory)
        return None  # other accelerators: only the platform's size limit applies

    # -- where the transforms run --------------------------------------------------------

    def compute(self, device: Any) -> tuple[Any, Any]:
        return (self.host_xp, "cpu") if device.type == "cpu" else (self.xp, device)

    def on_host(self, device: Any) -> bool:
        return bool(device.type == "cpu")

    def parallel(self, device: Any) -> bool:
        return bool(device.type == "cpu")

    # -- integers for the portable stream ----------------------------------------------

    def threefry_dtypes(self, xp: Any, device: Any) -> tuple[Any, Any]:
        if device.type == "cpu":  # computed through NumPy
            return super().threefry_dtypes(xp, device)
        # torch's uint32 has no addition and no shifts: 64-bit words, masked to 32 bits.
        return self.torch.int64, self.torch.int64

    # -- arrays --------------------------------------------------------------------------

    def empty(self, count: int, dtype: Any, device: Any) -> Any:
        if device.type == "cpu" and device.index is None:  # the default device: no device argument to parse
            return self.torch.empty(count, dtype=dtype)
        return self.torch.empty(count, dtype=dtype, device=device)

    def working_dtype(self, name: str, device: Any) -> Any:
        return np.dtype(name) if device.type == "cpu" else getattr(self.torch, name)

    def flat_alias(self, array: Any) -> Any | None:
        return array.detach().view(-1) if array.is_contiguous() else None

    def compute_view(self, flat: Any, working: Any) -> Any | None:
        if flat.device.type != "cpu":
            return flat if flat.dtype == working else None
        if _as_numpy_dtype(flat.dtype) == working:
            return flat.detach().numpy() if flat.requires_grad else flat.numpy()
        return None

    def reshape(self, flat: Any, dims: tuple[int, ...]) -> Any:
        return flat.view(dims)

    def assign(self, target: Any, key: Any, values: Any) -> None:
        if isinstance(values, np.ndarray):
            values = self.torch.from_numpy(np.ascontiguousarray(values))
        with self.torch.no_grad():
            target[key] = values

    def check_fillable(self, array: Any) -> None:
        torch = self.torch
        if array.layout != torch.strided or array.is_nested:
            kind = "nested" if array.is_nested else str(array.layout)
            raise TypeError(
                f"Argument `array` is a {kind} tensor; only dense (strided) tensors can be filled in place."
            )
        if array.device.type == "meta":
            raise ValueError(
                "Argument `array` is on the 'meta' device and has no memory to fill; move the module to a real "
                "device first (for example with `module.to_empty(device='cpu')`)."
            )
        if array.is_inference() and not torch.is_inference_mode_enabled():
            raise ValueError(
                "Argument `array` is an inference tensor (created under torch.inference_mode()); it can only be "
                "written inside torch.inference_mode(). Fill it there, or pass a normal tensor."
            )
        if not array.is_contiguous() and has_overlap(tuple(array.shape), tuple(array.stride())):
            raise ValueError(
                f"Argument `array` has elements that share memory (shape {tuple(array.shape)}, strides "
                f"{tuple(array.stride())}, e.g. from expand()); each element needs its own value. Pass a copy."
            )

    def finish_fill(self, array: Any) -> None:
        """Tell autograd that ``array`` changed (the CPU path writes through NumPy)."""
        if self._bump_version is not None and not array.is_inference():
            self._bump_version(array)


class Piece(NamedTuple):
    """Where a fill writes: ``local`` holds ``region`` of a call with the global ``shape``
    (both ``None`` where ``local`` is the whole tensor)."""

    local: Any
    shape: Any
    region: Any


def dtensor_piece(tensor: Any, subject: str) -> Piece:
    """The local shard of a DTensor and where it lies in the global tensor.

    ``subject`` names the tensor in error messages.  FSDP2 with tensor parallelism
    interleaves chunks (``_StridedShard``), and a ``Partial`` placement holds addends: neither
    is one box of the tensor, so both are refused.
    """
    api: Any = sys.modules["torch.distributed.tensor"]
    torch = sys.modules["torch"]
    placements = tuple(tensor.placements)
    # FSDP2 with tensor parallelism interleaves chunks (_StridedShard): not one box of the tensor.
    strided = getattr(sys.modules.get("torch.distributed.tensor.placement_types"), "_StridedShard", ())
    for placement in placements:
        if placement.is_partial():
            raise ValueError(
                f"{subject} is a DTensor with placements {placements}: a Partial placement holds addends of the "
                "values, not pieces of them, so it cannot be filled shard by shard. Fill a DTensor placed with "
                "Shard and Replicate, then redistribute it."
            )
        if not (placement.is_replicate() or (isinstance(placement, api.Shard) and not isinstance(placement, strided))):
            raise ValueError(
                f"{subject} is a DTensor with placements {placements}; only Shard(dim) and Replicate() can be "
                f"filled shard by shard (received {placement!r})."
            )
    dims = tuple(int(d) for d in tensor.shape)
    with torch.no_grad():
        local = tensor.to_local()  # a view of the local shard: writes reach the DTensor
    mesh = tensor.device_mesh
    if mesh.get_coordinate() is None:
        # This rank holds no piece; it still makes the call (an empty region), so that its
        # later calls stay at the same call index as the other ranks'.
        empty = torch.empty((0,) * len(dims), dtype=local.dtype, device=local.device)
        return Piece(empty, dims, tuple(slice(0, 0) for _ in dims))
    utils = importlib.import_module("torch.distributed.tensor._utils")
    sizes, offsets = utils.compute_local_shape_and_global_offset(dims, mesh, placements)
    sizes = tuple(int(d) for d in sizes)
    if tuple(int(d) for d in local.shape) != sizes:
        raise ValueError(
            f"{subject} is a DTensor whose local tensor has shape {tuple(local.shape)}, but its placements "
            f"{placements} on a mesh of shape {tuple(mesh.shape)} give this rank a shard of shape {sizes}."
        )
    if sizes == dims:
        return Piece(local, None, None)
    return Piece(local, dims, tuple(slice(int(o), int(o) + s) for o, s in zip(offsets, sizes, strict=True)))
