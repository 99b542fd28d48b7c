"""Compiled GPU kernels: the traced transforms as CuPy elementwise kernels, for CuPy and torch.

One kernel per traced structure (:mod:`vscale.kernels.trace`), compiled by NVRTC on the
first call that needs it.  torch CUDA tensors use the same kernels through CuPy's
zero-copy view of them, launched on torch's current stream.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.transforms import apply
from .trace import PREAMBLE, Recording, structure_key, trace_portable, trace_transform

#: NVRTC options: no contraction into fused multiply-adds (the core rounds each product);
#: IEEE division and square root and no flush to zero are NVRTC's defaults, stated anyway.
NVRTC_OPTIONS = ("--fmad=false", "--prec-div=true", "--prec-sqrt=true", "--ftz=false")
#: Elements per launch of a fused kernel: 32-bit-safe indexing inside CuPy's loops.
LAUNCH = 1 << 30


class CupyKernels:
    """Compiled CuPy elementwise kernels for the traced transforms, one per structure."""

    def __init__(self, cupy: Any) -> None:
        self.cupy = cupy
        self._compiled: dict[str, Any] = {}

    def _kernel(self, recording: Recording, working: str, indexed: bool) -> Any:
        key = structure_key(recording) + f"|{working}|{indexed}"
        kernel = self._compiled.get(key)
        if kernel is None:
            inputs = ("int64 start, " if indexed else f"{working} u, ") + recording.signature()
            kernel = self.cupy.ElementwiseKernel(
                inputs.rstrip(", "),
                f"{working} out",
                recording.source(),
                "vscale_portable" if indexed else "vscale_transform",
                options=NVRTC_OPTIONS,
                preamble=PREAMBLE,
            )
            self._compiled[key] = kernel
        return kernel

    def transform(self, transform: Any, working: str) -> Any:
        """``kernel(u)``: ``apply(u, transform)`` in one launch, written into ``u``."""
        recording = trace_transform(transform, working, apply)
        kernel = self._kernel(recording, working, indexed=False)
        values = recording.values()

        def run(u: Any) -> Any:
            kernel(u, *values, u)
            return u

        return run

    def portable(self, key: tuple[int, int], transform: Any, working: str, box: Any, dims: tuple[int, ...]) -> Any:
        """``fill(start, count, out)``: the portable values of positions ``start ..`` into ``out``."""
        recording = trace_portable(key, transform, working, box, dims)
        kernel = self._kernel(recording, working, indexed=True)
        values = recording.values()
        cupy = self.cupy

        def run(start: int, count: int, out: Any) -> Any:
            if out is None:
                out = cupy.empty((count,), dtype=working)
            for first in range(0, count, LAUNCH):
                part = out[first : first + LAUNCH]
                kernel(np.int64(start + first), *values, part)
            return out

        return run


_shared: dict[str, Any] = {}


def cupy_kernels(cupy: Any) -> CupyKernels:
    """The process's compiled kernels (one cache for CuPy arrays and torch tensors alike)."""
    kernels = _shared.get("kernels")
    if kernels is None:
        kernels = _shared.setdefault("kernels", CupyKernels(cupy))
    return kernels


def for_cupy(device: Any, run: Any) -> Any:
    """``run`` launched on the CuPy ``device``."""

    def on_device(*args: Any) -> Any:
        with device:
            return run(*args)

    return on_device


def usable_cupy() -> Any:
    """CuPy where it is installed and has a GPU, else None (checked once)."""
    if "cupy" not in _shared:
        try:
            import cupy  # optional framework: torch CUDA tensors use CuPy's kernels where it is installed

            cupy.cuda.runtime.getDeviceCount()
        except Exception:  # no CuPy, or a CuPy without a usable driver
            cupy = None
        _shared["cupy"] = cupy
    return _shared["cupy"]


def for_torch(torch: Any, device: Any, run: Any) -> Any:
    """``run`` with CuPy arrays viewing torch tensors, on torch's current stream of ``device``."""
    cupy = usable_cupy()

    def launch(*args: Any) -> Any:
        stream = torch.cuda.current_stream(device)
        with cupy.cuda.Device(device.index or 0), cupy.cuda.ExternalStream(stream.cuda_stream):
            views = [cupy.asarray(a) if isinstance(a, torch.Tensor) else a for a in args]
            result = run(*views)
        return torch.as_tensor(result, device=device) if not isinstance(result, torch.Tensor) else result

    return launch
