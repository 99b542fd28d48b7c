"""CuPy adapter: arrays on the target GPU, every operation there."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Backend, device_error


class CupyBackend(Backend):
    framework_name = "cupy"

    def __init__(self, module: Any) -> None:
        super().__init__(module)
        import cupy  # optional framework: imported only for a CuPy call

        self.cupy = cupy

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

    def empty(self, count: int, dtype: Any, device: Any) -> Any:
        with device:
            return self.cupy.empty((count,), dtype=dtype)

    def flat_alias(self, array: Any) -> Any | None:
        return array.reshape(-1) if array.flags.c_contiguous else None

    def compute_view(self, flat: Any, working: Any) -> Any | None:
        return flat if flat.dtype == working else None
