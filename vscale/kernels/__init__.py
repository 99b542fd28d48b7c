"""Compiled kernels for a call's transform, where the backend and device have them.

* Host arrays (NumPy, torch on the CPU through NumPy's view of its memory): the C
  kernels generated from the core's transforms and built with the package
  (:mod:`vscale.kernels.host`, loaded from ``_speedups``).
* GPU arrays (CuPy, and torch CUDA tensors where CuPy is installed): the same traced
  transforms as NVRTC-compiled elementwise kernels (:mod:`vscale.kernels.cuda`).
* Anything else (JAX, other namespaces): None, and the engine runs the core's array
  operations, which stay the reference every kernel is tested against.

:func:`transform_kernel` is ``kernel(draws) -> values`` for a native stream's draws;
:func:`fused_portable` is ``fill(start, count, out) -> values``, the portable stream and
its transform in one pass, with no draws in memory.
"""

from __future__ import annotations

from typing import Any

from ..backends import Backend
from ..core.regions import Box
from . import cuda, host


def transform_kernel(backend: Backend, transform: Any, working: str, device: Any) -> Any | None:
    """A fused kernel ``kernel(draws) -> values`` (in place) for a native stream's transform, or None."""
    framework = backend.framework_name
    if framework in ("numpy", "torch") and backend.on_host(device):
        return host.native_kernel(transform, working)
    if framework == "cupy":
        return cuda.for_cupy(device, cuda.cupy_kernels(backend.cupy).transform(transform, working))  # type: ignore[attr-defined]
    if framework == "torch" and device.type == "cuda" and cuda.usable_cupy() is not None:
        run = cuda.cupy_kernels(cuda.usable_cupy()).transform(transform, working)
        launch = cuda.for_torch(backend.torch, device, run)  # type: ignore[attr-defined]
        return lambda u: (launch(u), u)[1]  # written into u in place
    return None


def fused_portable(
    backend: Backend, key: tuple[int, int], transform: Any, working: str, region: Box | None,
    dims: tuple[int, ...], device: Any,
) -> Any | None:  # fmt: skip
    """A fused kernel ``fill(start, count, out) -> values`` for the portable stream, or None."""
    framework = backend.framework_name
    if framework in ("numpy", "torch") and backend.on_host(device):
        return host.portable_fill(key, transform, working, region, dims)
    if framework == "cupy":
        run = cuda.cupy_kernels(backend.cupy).portable(key, transform, working, region, dims)  # type: ignore[attr-defined]
        return cuda.for_cupy(device, run)
    if framework == "torch" and device.type == "cuda" and cuda.usable_cupy() is not None:
        torch = backend.torch  # type: ignore[attr-defined]
        run = cuda.cupy_kernels(cuda.usable_cupy()).portable(key, transform, working, region, dims)
        launch = cuda.for_torch(torch, device, run)

        def fill(start: int, count: int, out: Any) -> Any:
            if out is None:
                out = torch.empty((count,), dtype=getattr(torch, working), device=device)
            launch(start, count, out)
            return out

        return fill
    return None
