"""NumPy adapter: host arrays, written in place, transformed on several threads."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Backend, device_error, has_overlap


class NumpyBackend(Backend):
    framework_name = "numpy"

    def native_dtype(self, name: str) -> Any | None:
        # NumPy has no bfloat16 of its own; ml_dtypes' is not an array-API dtype.
        return None if name == "bfloat16" else np.dtype(name)

    def resolve_device(self, device: Any) -> Any:
        if device is None or (isinstance(device, str) and device == "cpu"):
            return "cpu"
        raise device_error("numpy", device, "None or 'cpu'")

    def parallel(self, device: Any) -> bool:
        return True  # NumPy's generators and ufuncs release the GIL

    def empty(self, count: int, dtype: Any, device: Any) -> Any:
        return np.empty(count, dtype=dtype)  # NumPy itself: its compat wrapper costs a microsecond

    def reshape(self, flat: Any, dims: tuple[int, ...]) -> Any:
        return flat.reshape(dims)

    def flat_alias(self, array: Any) -> Any | None:
        return array.reshape(-1) if array.flags.c_contiguous else None

    def compute_view(self, flat: Any, working: Any) -> Any | None:
        # A misaligned array (a view into a byte buffer) is written through a workspace:
        # the compiled kernels take only aligned memory.
        return flat if flat.dtype == working and flat.flags.aligned else None

    def assign(self, target: Any, key: Any, values: Any) -> None:
        target[key] = values  # NumPy casts on assignment, rounding to nearest

    def check_fillable(self, array: Any) -> None:
        if not array.flags.writeable:
            raise ValueError(
                "Argument `array` is read-only (its flags.writeable is False); pass a writeable array, "
                "or create a new one by calling the initializer with the shape."
            )
        if not array.flags.c_contiguous and has_overlap(array.shape, array.strides):
            raise ValueError(
                f"Argument `array` has elements that share memory (shape {array.shape}, strides "
                f"{array.strides}); filling it cannot give each element its own value. Pass a copy."
            )
