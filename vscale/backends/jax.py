"""JAX adapter: arrays on the requested JAX device, built functionally.

JAX arrays are immutable, so the engine keeps each chunk's values and joins them once
(:class:`~vscale.engine.outputs.PiecesOutput`); with JAX's large chunks a result of up
to :data:`~vscale.engine.loop.DEVICE_CHUNK` values is a single piece.  Inside
``jax.jit`` arrays are tracers and get no device of their own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Backend, device_error, host_memory_bytes


class JaxBackend(Backend):
    framework_name = "jax"
    mutable = False
    #: XLA's time and memory for an empty array grow with its other dimensions (measured:
    #: 1.5 s at 2**24, 31 s at 2**28, std::bad_alloc at 2**40): refuse beyond 2**20.
    max_empty_extent = 1 << 20

    def __init__(self, module: Any) -> None:
        import jax  # optional framework: imported only for a JAX call
        import jax.numpy as jnp  # optional framework, as above

        self.jax = jax
        self.xp = jnp

    def native_dtype(self, name: str) -> Any | None:
        if name in ("float64", "complex128") and not getattr(self.jax.config, "jax_enable_x64", False):
            return None  # JAX makes float64 arrays only with jax_enable_x64
        return getattr(self.xp, name, None)

    def resolve_device(self, device: Any) -> Any:
        jax = self.jax
        if device is None:
            return jax.config.jax_default_device or jax.devices()[0]
        if isinstance(device, jax.Device):
            return device
        if isinstance(device, str):
            platform, _, index = device.partition(":")
            try:
                devices = jax.devices(platform)
            except RuntimeError:
                devices = []
            if devices and (not index or (index.isdigit() and int(index) < len(devices))):
                return devices[int(index) if index else 0]
        raise device_error("jax", device, f"a jax.Device or a platform name such as 'cpu' (here: {jax.devices()})")

    def memory_bytes(self, device: Any) -> int | None:
        if device.platform == "cpu":
            return host_memory_bytes()
        stats = device.memory_stats() or {}
        return stats.get("bytes_limit")

    def on_host(self, device: Any) -> bool:
        return False  # every JAX operation makes a new array: few, large chunks

    def threefry_dtypes(self, xp: Any, device: Any) -> tuple[Any, Any]:
        # Without jax_enable_x64, int64 arrays silently become int32: no 64-bit positions.
        wide = getattr(self.jax.config, "jax_enable_x64", False)
        return xp.uint32, (xp.int64 if wide else None)

    def threefry_word(self, device: Any) -> Any | None:
        # Without jax_enable_x64 a Python int of 2**31 or more is read as an int32 (an
        # OverflowError); a NumPy uint32 scalar is a typed constant, with no device transfer.
        return np.uint32

    def compute(self, device: Any) -> tuple[Any, Any]:
        # Inside jax.jit every operation is staged: arrays get no device of their own, so
        # that the compiled call places its output where jit's out_shardings say.
        return self.xp, (None if self.tracing() else device)

    def tracing(self) -> bool:
        """Whether the call runs inside a JAX transformation (jit): then arrays are tracers."""
        return isinstance(self.xp.zeros(()), self.jax.core.Tracer)

    def finalize(self, array: Any, device: Any) -> Any:
        if isinstance(array, self.jax.core.Tracer):
            return array
        return self.jax.device_put(array, device)
