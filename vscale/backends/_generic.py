"""Any other array-API namespace: draws from NumPy's PCG64, moved with ``xp.asarray``."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._base import Backend, device_error, numpy_generator


class GenericBackend(Backend):
    """For namespaces without a random generator in the standard (array-api-strict, ...)."""

    def __init__(self, module: Any) -> None:
        super().__init__(module)
        self.framework_name = getattr(self.xp, "__name__", type(self.xp).__name__)

    def resolve_device(self, device: Any) -> Any:
        info = self.xp.__array_namespace_info__()
        if device is None:
            return info.default_device()
        devices = info.devices()
        for known in devices:
            if isinstance(device, str):
                if device == _device_name(known):
                    return known
            elif type(device) is type(known) and device == known:  # never compare arrays with ==
                return known
        names = ", ".join(repr(_device_name(d)) for d in devices)
        raise device_error(self.framework_name, device, f"None or one of {names}")

    def generator(self, seed: np.random.SeedSequence, device: Any) -> np.random.Generator:
        return numpy_generator(seed)

    def uniform(self, generator: np.random.Generator, count: int, dtype: Any, device: Any) -> Any:
        host_dtype = np.float64 if self.xp.finfo(dtype).bits == 64 else np.float32
        return self.xp.asarray(generator.random(count, dtype=host_dtype), dtype=dtype, device=device)


def _device_name(device: Any) -> str:
    # array-api-strict's Device('device1') and similar objects carry a readable name.
    return str(getattr(device, "name", None) or getattr(device, "_device", None) or device)
