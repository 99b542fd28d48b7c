"""PyTorch adapter.

On the CPU a tensor's memory is shared with NumPy, so the host stream (PCG64, 128-bit
keys) writes its draws straight into the tensor and the transforms run there as the
compiled host kernels (or NumPy operations), on several threads: the values are NumPy's,
bit for bit.  On an accelerator
the draws come from a ``torch.Generator`` of that device, one per block of positions
(:mod:`vscale.backends._blocks`), seeded with 64 bits, and the transforms run as torch
operations on the device: nothing leaves it.  Where CuPy is installed too, the
transforms (and the portable stream) run as fused kernels traced from the core
(:mod:`vscale.backends._kernels`), launched on torch's current stream through CuPy's
zero-copy view of the tensors; without CuPy they run as torch operations.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._compat import standard_namespace
from ..core.transforms import apply
from ._base import Backend, device_error
from ._blocks import BlockStream
from ._derive import key_from_words
from ._host_kernels import native_kernel, portable_fill
from ._kernels import CupyKernels
from ._numpy import has_overlap
from ._pcg import PCG64Stream

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


def block_filler(torch: Any, device: Any) -> Any:
    """Draws of one whole block from a ``torch.Generator`` on ``device`` seeded for it."""

    def fill(seed: int, out: Any, normal: bool) -> None:
        generator = torch.Generator(device=device)
        generator.manual_seed(seed)
        if normal:
            out.normal_(generator=generator)
            return
        out.uniform_(generator=generator)
        # GPU kernels may return values finer than k * eps/2 near 0: snap onto the grid.
        step = torch.finfo(out.dtype).eps / 2
        out.div_(step).floor_().mul_(step)

    return fill


class TorchBackend(Backend):
    framework_name = "torch"

    def __init__(self, module: Any) -> None:
        super().__init__(module)
        import torch

        self.torch = torch
        self.host_xp = standard_namespace(np)
        self.kernels: Any = None  # CupyKernels once a CUDA call needs them; False without CuPy
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

    # -- randomness ----------------------------------------------------------------------

    def key_from(self, generator: Any, device: Any) -> bytes:
        torch = self.torch
        if generator is not None and not isinstance(generator, torch.Generator):
            if isinstance(generator, np.random.Generator):
                return super().key_from(generator, device)
            raise TypeError(
                "Argument `generator` must be None, a torch.Generator or a numpy.random.Generator on the torch "
                f"backend; received an object of type {type(generator).__name__}."
            )
        # Four 32-bit words from the generator (the device's default one if None), so
        # torch.manual_seed governs unseeded initializers as it governs torch.nn.init.
        where = generator.device if generator is not None else device
        words = torch.randint(0, 2**32, (4,), dtype=torch.int64, generator=generator, device=where).tolist()
        return key_from_words(words)

    def _cuda_kernels(self, device: Any) -> Any:
        """CuPy's kernels for a CUDA ``device``, or None (CPU, or CuPy not installed or unusable)."""
        if device.type != "cuda" or self.kernels is False:
            return None
        if self.kernels is None:
            try:
                import cupy

                cupy.cuda.runtime.getDeviceCount()
            except Exception:  # no CuPy, or a CuPy without a usable driver
                self.kernels = False
                return None
            self.kernels = CupyKernels(cupy)
        return self.kernels

    def _on_torch_stream(self, device: Any, run: Any) -> Any:
        """``run`` with CuPy arrays viewing torch tensors, on torch's current stream of ``device``."""
        import cupy

        torch = self.torch

        def launch(*args: Any) -> Any:
            stream = torch.cuda.current_stream(device)
            with cupy.cuda.Device(device.index or 0), cupy.cuda.ExternalStream(stream.cuda_stream):
                views = [cupy.asarray(a) if isinstance(a, torch.Tensor) else a for a in args]
                result = run(*views)
            return torch.as_tensor(result, device=device) if not isinstance(result, torch.Tensor) else result

        return launch

    def transform_kernel(self, transform: Any, working: str, device: Any) -> Any | None:
        if device.type == "cpu":  # NumPy views of the tensor: the host's compiled kernels
            return native_kernel(transform, working)
        kernels = self._cuda_kernels(device)
        if kernels is None:
            return None
        run = kernels.transform(transform, working, apply)
        torch_launch = self._on_torch_stream(device, run)
        return lambda u: (torch_launch(u), u)[1]  # written into u in place

    def fused_portable(
        self, key: tuple[int, int], transform: Any, working: str, region: Any, dims: tuple[int, ...], device: Any
    ) -> Any | None:
        if device.type == "cpu":  # NumPy views of the tensor: the host's compiled loop
            return portable_fill(key, transform, working, region, dims)
        kernels = self._cuda_kernels(device)
        if kernels is None:
            return None
        run = kernels.portable(key, transform, working, region, dims)
        launch = self._on_torch_stream(device, run)
        torch = self.torch

        def fill(start: int, count: int, out: Any) -> Any:
            if out is None:
                out = torch.empty((count,), dtype=getattr(torch, working), device=device)
            launch(start, count, out)
            return out

        return fill

    def threefry_dtypes(self, xp: Any, device: Any) -> tuple[Any, Any]:
        if device.type == "cpu":  # computed through NumPy
            return super().threefry_dtypes(xp, device)
        # torch's uint32 has no addition and no shifts: 64-bit words, masked to 32 bits.
        return self.torch.int64, self.torch.int64

    def native_regions(self, device: Any) -> bool:
        return bool(device.type == "cpu")  # CUDA draws whole blocks of 2**22

    def stream(self, key: bytes, device: Any, working: Any, total: int) -> Any:
        if device.type == "cpu":
            return PCG64Stream(key, np.dtype(working))
        torch = self.torch
        empty = lambda count: torch.empty((count,), dtype=working, device=device)  # noqa: E731
        return BlockStream(key, total, block_filler(torch, device), empty)

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
