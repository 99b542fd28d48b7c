"""NumPy adapter: PCG64 draws written straight into the output's chunks on the host."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._base import Backend, device_error, numpy_generator


class NumpyBackend(Backend):
    framework_name = "numpy"
    writable_views = True
    seekable = True

    def native_dtype(self, name: str) -> Any | None:
        # NumPy has no bfloat16 of its own; ml_dtypes' is not an array-API dtype.
        return None if name == "bfloat16" else np.dtype(name)

    def resolve_device(self, device: Any) -> Any:
        if device is None or (isinstance(device, str) and device == "cpu"):
            return "cpu"
        raise device_error("numpy", device, "None or 'cpu'")

    def generator(self, seed: np.random.SeedSequence, device: Any) -> np.random.Generator:
        return numpy_generator(seed)

    def generator_at(self, seed: np.random.SeedSequence, device: Any, offset: int, dtype: Any) -> np.random.Generator:
        # PCG64.advance jumps in O(log n).  A float64 draw consumes one 64-bit output; a
        # float32 draw one 32-bit half of it, the low half first and the high half kept
        # for the next draw, so an odd offset advances one output less and spends a half.
        halves = np.dtype(dtype).itemsize == 4
        steps, spare = divmod(offset, 2) if halves else (offset, 0)
        bit_generator = np.random.PCG64(seed)
        bit_generator.advance(steps)
        generator = np.random.Generator(bit_generator)
        if spare:
            generator.random(1, dtype=np.float32)
        return generator

    def uniform(self, generator: np.random.Generator, count: int, dtype: Any, device: Any) -> Any:
        # Generator.random uses the top 24 (float32) or 53 (float64) bits of each draw:
        # exactly the grid k * eps/2 that the core expects.
        return generator.random(count, dtype=dtype)

    def fill_uniform(self, generator: np.random.Generator, out: Any, device: Any) -> None:
        # Same stream as uniform(): random(out=) consumes the bit generator identically.
        generator.random(out=out, dtype=out.dtype)
