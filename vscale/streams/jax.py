"""JAX's native stream: ``jax.random`` bits on the requested JAX device.

Block ``b`` of a call with key ``k`` takes
``jax.random.bits(wrap_key_data(words), (length,), uint32)`` (``uint64`` for float64),
where ``words`` are two 32-bit words of a BLAKE2b hash of ``k`` and ``b`` (Threefry-2x32's
64-bit key); blocks are :data:`~vscale.streams.blocks.LAUNCH_BLOCK` positions.  A uniform
is the top 24 (53) bits of its draw times ``2**-24`` (``2**-53``), the grid ``k * eps/2``
that the transforms expect.  JAX has no global generator: an unseeded call takes fresh
entropy from the OS; ``generator=`` may be a JAX PRNG key or a ``numpy.random.Generator``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..backends import Backend
from . import host
from .blocks import LAUNCH_BLOCK, spans
from .keys import block_digest, key_from_jax_data


def stream(backend: Backend, key: bytes, device: Any, working: Any, total: int) -> Any:
    return JaxStream(backend.jax, key, device, working, total)  # type: ignore[attr-defined]


def key_from(backend: Backend, generator: Any, device: Any) -> bytes:
    jax = backend.jax  # type: ignore[attr-defined]
    if generator is None:
        return os.urandom(16)
    if isinstance(generator, jax.Array):
        typed = jax.dtypes.issubdtype(generator.dtype, jax.dtypes.prng_key)
        data = np.asarray(jax.random.key_data(generator) if typed else generator)
        if data.dtype == np.uint32 and data.size >= 2:
            return key_from_jax_data(data)
    return host.key_from(backend, generator, device)


def seeks(backend: Backend, device: Any) -> bool:
    return False  # whole blocks of 2**22 per draw


class JaxStream:
    seekable = True
    normals = False

    def __init__(self, jax: Any, key: bytes, device: Any, dtype: Any, total: int) -> None:
        self.jax, self.key, self.device, self.dtype, self.total = jax, key, device, dtype, total
        self.wide = np.dtype(dtype).itemsize == 8

    def draw(self, start: int, count: int, out: Any = None, *, normal: bool = False) -> Any:
        jnp = self.jax.numpy
        pieces = []
        for block, offset, size, _, length in spans(start, count, LAUNCH_BLOCK, self.total):
            draws = self._block(block, length)
            pieces.append(draws if offset == 0 and size == length else draws[offset : offset + size])
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
