"""CuPy adapter: CuPy's generators on the target GPU, one per block of positions.

The transforms run as fused elementwise kernels traced from the core
(:mod:`vscale.backends._kernels`); with ``prng="threefry"`` the Threefry bits are computed
inside the same kernel, so a value costs one write.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.transforms import apply
from ._base import Backend, device_error
from ._blocks import BlockStream
from ._derive import key_from_words
from ._kernels import CupyKernels


class CupyBackend(Backend):
    framework_name = "cupy"

    def __init__(self, module: Any) -> None:
        super().__init__(module)
        import cupy

        self.cupy = cupy
        self.kernels: CupyKernels | None = None

    def native_dtype(self, name: str) -> Any | None:
        return None if name == "bfloat16" else np.dtype(name)

    def resolve_device(self, device: Any) -> Any:
        cuda = self.cupy.cuda
        try:
            count = cuda.runtime.getDeviceCount()
        except Exception as error:  # CUDARuntimeError: no driver, or a driver too old
            raise ValueError(
                f"Argument `device`={device!r}: the cupy backend has no usable GPU here "
                f"({type(error).__name__}: {error})."
            ) from None
        if isinstance(device, cuda.Device):
            index = device.id
        elif device is None:
            index = cuda.Device().id
        elif isinstance(device, int) and not isinstance(device, bool):
            index = device
        elif isinstance(device, str) and device in ("cuda", "gpu"):
            index = cuda.Device().id
        elif isinstance(device, str) and device.startswith("cuda:") and device[5:].isdigit():
            index = int(device[5:])
        else:
            raise device_error("cupy", device, "None, a cupy.cuda.Device, an int or 'cuda:N'")
        if not 0 <= index < count:
            raise device_error("cupy", device, f"a GPU index below {count} (GPUs visible here: {count})")
        return cuda.Device(index)

    def memory_bytes(self, device: Any) -> int | None:
        return int(device.mem_info[1])  # (free, total) of that GPU

    def on_host(self, device: Any) -> bool:
        return False

    def key_from(self, generator: Any, device: Any) -> bytes:
        cupy = self.cupy
        with device:
            if generator is None:
                words = cupy.random.randint(0, 2**32, size=4, dtype=cupy.int64).get()
            elif isinstance(generator, cupy.random.Generator):
                words = generator.integers(0, 2**32, size=4, dtype=cupy.int64).get()
            else:
                return super().key_from(generator, device)
        return key_from_words(words)

    def _kernels(self) -> Any:
        if self.kernels is None:
            self.kernels = CupyKernels(self.cupy)
        return self.kernels

    def transform_kernel(self, transform: Any, working: str, device: Any) -> Any | None:
        run = self._kernels().transform(transform, working, apply)

        def on_device(u: Any) -> Any:
            with device:
                return run(u)

        return on_device

    def fused_portable(
        self, key: tuple[int, int], transform: Any, working: str, region: Any, dims: tuple[int, ...], device: Any
    ) -> Any | None:
        run = self._kernels().portable(key, transform, working, region, dims)

        def on_device(start: int, count: int, out: Any) -> Any:
            with device:
                return run(start, count, out)

        return on_device

    def native_regions(self, device: Any) -> bool:
        return False  # whole blocks of 2**22 per draw

    def stream(self, key: bytes, device: Any, working: Any, total: int) -> Any:
        cupy = self.cupy

        def fill(seed: int, out: Any, normal: bool) -> None:
            with device:
                generator = cupy.random.default_rng(seed)
                if normal:
                    generator.standard_normal(out.shape, dtype=out.dtype, out=out)
                    return
                generator.random(out.shape, dtype=out.dtype, out=out)
                # CuPy's float kernels are not documented to use the k * eps/2 grid: snap.
                step = float(np.finfo(out.dtype).eps) / 2
                out /= step
                cupy.floor(out, out=out)
                out *= step

        def empty(count: int) -> Any:
            with device:
                return cupy.empty((count,), dtype=working)

        return BlockStream(key, total, fill, empty, seed_bytes=16)

    def empty(self, count: int, dtype: Any, device: Any) -> Any:
        with device:
            return self.cupy.empty((count,), dtype=dtype)

    def flat_alias(self, array: Any) -> Any | None:
        return array.reshape(-1) if array.flags.c_contiguous else None

    def compute_view(self, flat: Any, working: Any) -> Any | None:
        return flat if flat.dtype == working else None
