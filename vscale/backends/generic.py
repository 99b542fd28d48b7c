"""Any other array-API namespace: its devices from ``__array_namespace_info__``."""

from __future__ import annotations

from typing import Any

from .base import Backend, device_error


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


def _device_name(device: Any) -> str:
    # array-api-strict's Device('device1') and similar objects carry a readable name.
    return str(getattr(device, "name", None) or getattr(device, "_device", None) or device)
