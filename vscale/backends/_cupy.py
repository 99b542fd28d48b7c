"""CuPy adapter: CuPy's generator on the target GPU; nothing leaves the device."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._base import Backend, device_error, seed_to_int


class CupyBackend(Backend):
    framework_name = "cupy"
    writable_views = True
    #: GPU kernels launch per operation (~5-10 us each), so chunks are long: 2**20
    #: values keep launch overhead small against a pass over 4-8 MiB, while the
    #: transform's temporaries (about four chunks) stay at 16-32 MiB.  Fixed, as on
    #: every backend.
    chunk_size = 1 << 20

    def __init__(self, module: Any) -> None:
        super().__init__(module)
        import cupy

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

    def generator(self, seed: np.random.SeedSequence, device: Any) -> Any:
        with device:
            return self.cupy.random.default_rng(seed_to_int(seed, 63))

    def uniform(self, generator: Any, count: int, dtype: Any, device: Any) -> Any:
        with device:
            draws = self.cupy.empty((count,), dtype=dtype)
        self.fill_uniform(generator, draws, device)
        return draws

    def fill_uniform(self, generator: Any, out: Any, device: Any) -> None:
        with device:
            # CuPy's random(out=) still draws into a temporary of out's size and copies:
            # fine for a chunk, which is why CuPy draws chunk by chunk (see below).
            generator.random(out.shape, dtype=out.dtype, out=out)
            step = float(np.finfo(out.dtype).eps) / 2
            # CuPy's float kernels are not documented to use the k * eps/2 grid: snap.
            out /= step
            self.cupy.floor(out, out=out)
            out *= step

    def draws_whole(self, device: Any) -> bool:
        # Each launch hands out random numbers per thread, so CuPy's stream depends on
        # how the draws are split; but drawing the whole output at once would need a
        # temporary as large as the output (see fill_uniform).  Memory wins: CuPy draws
        # per chunk, and its results are reproducible for the fixed chunk_size only.
        return False

    def empty(self, count: int, dtype: Any, device: Any) -> Any:
        with device:
            return self.cupy.empty((count,), dtype=dtype)

    def memory_bytes(self, device: Any) -> int | None:
        return int(device.mem_info[1])  # (free, total) of that GPU
