"""JAX adapter: ``jax.random`` bits on the requested JAX device, arrays built functionally.

JAX arrays are immutable, so the engine keeps each chunk's values and joins them once
(:class:`~vscale.backends._outputs.PiecesOutput`); with JAX's large chunks a result of up
to :data:`~vscale.backends._blocks.BLOCK` values is a single piece.

The stream: block ``b`` of a call with key ``k`` takes
``jax.random.bits(wrap_key_data(words), (length,), uint32)`` (``uint64`` for float64),
where ``words`` are two 32-bit words of a BLAKE2b hash of ``k`` and ``b`` (Threefry-2x32's
64-bit key).  A uniform is the top 24 (53) bits of its draw times ``2**-24`` (``2**-53``),
the grid ``k * eps/2`` that the transforms expect.  JAX has no global generator: an
unseeded call takes fresh entropy from the OS; ``generator=`` may be a JAX PRNG key or a
``numpy.random.Generator``.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import numpy as np

from ._base import Backend, device_error, host_memory_bytes
from ._blocks import BLOCK
from ._derive import block_digest


class JaxBackend(Backend):
    framework_name = "jax"
    mutable = False
    #: XLA's time and memory for an empty array grow with its other dimensions (measured:
    #: 1.5 s at 2**24, 31 s at 2**28, std::bad_alloc at 2**40): refuse beyond 2**20.
    max_empty_extent = 1 << 20

    def __init__(self, module: Any) -> None:
        import jax
        import jax.numpy as jnp

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

    def key_from(self, generator: Any, device: Any) -> bytes:
        jax = self.jax
        if generator is None:
            return os.urandom(16)
        if isinstance(generator, jax.Array):
            data = np.asarray(jax.random.key_data(generator) if _is_typed_key(jax, generator) else generator)
            if data.dtype == np.uint32 and data.size >= 2:
                digest = hashlib.blake2b(data.tobytes(), digest_size=16, person=b"vscale-jaxkey").digest()
                return digest
        return super().key_from(generator, device)

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

    def native_regions(self, device: Any) -> bool:
        return False  # whole blocks of 2**22 per draw

    def stream(self, key: bytes, device: Any, working: Any, total: int) -> Any:
        return JaxStream(self.jax, key, device, working, total)


def _is_typed_key(jax: Any, array: Any) -> bool:
    return bool(jax.dtypes.issubdtype(array.dtype, jax.dtypes.prng_key))


class JaxStream:
    seekable = True
    normals = False

    def __init__(self, jax: Any, key: bytes, device: Any, dtype: Any, total: int) -> None:
        self.jax, self.key, self.device, self.dtype, self.total = jax, key, device, dtype, total
        self.wide = np.dtype(dtype).itemsize == 8

    def draw(self, start: int, count: int, out: Any = None, *, normal: bool = False) -> Any:
        jnp = self.jax.numpy
        pieces = []
        done = 0
        while done < count:
            block, offset = divmod(start + done, BLOCK)
            length = min(BLOCK, self.total - block * BLOCK)
            size = min(count - done, length - offset)
            draws = self._block(block, length)
            pieces.append(draws if offset == 0 and size == length else draws[offset : offset + size])
            done += size
        return pieces[0] if len(pieces) == 1 else jnp.concatenate(pieces)

    def _block(self, block: int, length: int) -> Any:
        jax = self.jax
        jnp = jax.numpy
        digest = block_digest(self.key, block, 8, b"vscale-jax")
        words = np.frombuffer(digest, dtype=np.uint32)
        with jax.default_device(self.device):
            key = jax.random.wrap_key_data(jnp.asarray(words))
            if self.wide:
                bits = jax.random.bits(key, (length,), jnp.uint64) >> 11
                return jnp.astype(bits, self.dtype) * 2.0**-53
            bits = jax.random.bits(key, (length,), jnp.uint32) >> 8
            return jnp.astype(bits, self.dtype) * np.float32(2.0**-24)
